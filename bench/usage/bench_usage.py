#!/usr/bin/env python3
"""Instructions per query in ternd's UDP worker with usage.count-queries on and off (issue 26's
target: counting costs at most +5%), and what dnstap adds, for ternd and for Knot 3.2 with
mod-dnstap (target: ternd's added cost at most Knot's). Each server runs under callgrind (one UDP
worker, each thread its own profile) twice per setting: idle, and answering the replay
(bench-signal's: --queries UDP queries over 1,000 names of one zone, one at a time); the
instructions of the replay less those of the idle run, over the queries, is the figure: of the UDP
worker thread (the query path) and of the whole process (every thread: dnstap's writer or
Knot's fstrm I/O thread too). With dnstap on, each run has its own fstrm_capture reading the
unix socket, and the replay's capture must have received two frames per query.
Writes the report to --out (.md and .json)."""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "signal"))
sys.path.insert(0, str(ROOT / "tests" / "system"))
from benchlib import loadavg, machine, stop, ternd_version  # noqa: E402
from bench_signal import callgrind_ir_file, ipq_queries, ipq_zone, replay, wait_answer, worker_ir  # noqa: E402
from ternlib import free_port  # noqa: E402


def log(msg):
    print("[bench-usage %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOT_DNSTAP = "/usr/lib/x86_64-linux-gnu/knot/modules-3.2/dnstap.so"


def ternd_conf(w, d, port, count, tap):
    text = ('server:\n  listen: ["127.0.0.1@%d"]\n  udp-workers: 1\n  user: root\nlog:\n  level: warning\n'
            'zones:\n  - name: ipq.bench\n    file: %s\nusage:\n  count-queries: %s\n'
            % (port, d / "ipq.bench.zone", "true" if count else "false"))
    if tap:
        text += 'dnstap:\n  socket: "%s"\n' % tap
    (w / "ternd.yaml").write_text(text)


def knot_conf(w, d, port, tap):
    (w / "run").mkdir()
    (w / "storage").mkdir()
    lines = ["server:", "    rundir: \"%s\"" % (w / "run"), "    listen: 127.0.0.1@%d" % port,
             "    udp-workers: 1", "    tcp-workers: 1", "    background-workers: 1",
             "database:", "    storage: \"%s\"" % (w / "storage"),
             "log:", "  - target: stderr", "    any: warning"]
    if tap:
        lines += ["mod-dnstap:", "  - id: tap", "    sink: \"unix:%s\"" % tap, "    log-queries: on",
                  "    log-responses: on"]
    lines += ["template:", "  - id: default", "    storage: \"%s\"" % (w / "storage"), "    zonefile-sync: -1",
              "    journal-content: none"]
    if tap:
        lines += ["    global-module: mod-dnstap/tap"]
    lines += ["zone:", "  - domain: ipq.bench.", "    file: \"%s\"" % (d / "ipq.bench.zone")]
    (w / "knot.conf").write_text("\n".join(lines) + "\n")


def capture_frames(log_path):
    """The frames fstrm_capture reports it wrote (its last "closed output file" line)."""
    found = re.findall(r"wrote (\d+) frames", Path(log_path).read_text())
    return int(found[-1]) if found else 0


def measure(args, d, label, count=True, server="ternd", dnstap=False):
    """(worker thread, whole process) instructions per query of the replay."""
    msgs = ipq_queries(1000, args.queries)
    ir, total = {}, {}
    for mode in ("idle", "replay"):
        w = d / ("%s-%s" % (label, mode))
        w.mkdir()
        port = free_port()
        tap = str(w / "tap.sock") if dnstap else None
        cap, frames = None, 0
        if tap:
            cap = subprocess.Popen(["fstrm_capture", "-t", "protobuf:dnstap.Dnstap", "-u", tap, "-w",
                                    str(w / "tap.fstrm")], stdout=open(w / "capture.log", "w"),
                                   stderr=subprocess.STDOUT)
            deadline = time.time() + 10
            while not os.path.exists(tap) and time.time() < deadline:
                time.sleep(0.05)
        if server == "ternd":
            ternd_conf(w, d, port, count, tap)
            cmd = [args.ternd, "-c", str(w / "ternd.yaml")]
        else:
            knot_conf(w, d, port, tap)
            cmd = [KNOTD, "-c", str(w / "knot.conf")]
        wrap = ["valgrind", "--tool=callgrind", "-q", "--collect-atstart=yes", "--trace-children=no",
                "--separate-threads=yes", "--callgrind-out-file=%s/callgrind.out.%%p" % w]
        p = subprocess.Popen(wrap + cmd, cwd=str(w), stdout=open(w / "out.log", "w"), stderr=subprocess.STDOUT)
        try:
            wait_answer(port, p)
            time.sleep(1)
            if mode == "replay":
                good = replay(port, msgs)
                if good != len(msgs):
                    raise RuntimeError("%s: %d of %d answers as expected" % (label, good, len(msgs)))
        finally:
            stop(p, 600)
            if cap:
                time.sleep(0.5)
                stop(cap, 10)
        ir[mode] = worker_ir(str(w))
        total[mode] = sum(callgrind_ir_file(f) for f in glob.glob(str(w / "callgrind.out.*"))
                          if os.path.getsize(f))  # the main file stays empty with --separate-threads
        if cap and mode == "replay":
            frames = capture_frames(w / "capture.log")
            if server == "ternd" and frames < 2 * len(msgs):
                raise RuntimeError("%s: the capture received %d frames for %d queries" % (label, frames, len(msgs)))
    res = [(ir["replay"] - ir["idle"]) / len(msgs), (total["replay"] - total["idle"]) / len(msgs)]
    return res + [frames] if dnstap else res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--sched", default="none")  # bench_drive's: how the driver was scheduled
    args = ap.parse_args()
    d = Path(args.work) / "ipq"
    d.mkdir(parents=True)
    (d / "ipq.bench.zone").write_text(ipq_zone(1000))
    res = {"machine": machine(), "ternd": ternd_version(), "queries": args.queries,
           "load_before": loadavg()}
    res["off"], res["off_total"] = measure(args, d, "off", False)
    log("counting off: %.1f instructions per query" % res["off"])
    res["on"], res["on_total"] = measure(args, d, "on", True)
    log("counting on: %.1f instructions per query" % res["on"])
    res["ratio"] = res["on"] / res["off"]
    # dnstap: ternd's "off" is the counting-on run above (the same configuration without dnstap)
    tap = {"ternd": {"off": [res["on"], res["on_total"]]}}
    tap["ternd"]["on"] = list(measure(args, d, "ternd-dnstap", True, "ternd", True))
    log("ternd dnstap on: %.1f (worker), %.1f (process) instructions per query, %d frames"
        % tuple(tap["ternd"]["on"]))
    if os.path.exists(KNOT_DNSTAP) and os.access(KNOTD, os.X_OK):
        tap["knot"] = {"off": list(measure(args, d, "knot", server="knot")),
                       "on": list(measure(args, d, "knot-dnstap", server="knot", dnstap=True))}
        log("knot dnstap off: %.1f / %.1f, on: %.1f / %.1f, %d frames" % tuple(tap["knot"]["off"] + tap["knot"]["on"]))
    for s in tap.values():
        s["added"] = [s["on"][i] - s["off"][i] for i in range(2)]
    res["dnstap"] = tap
    res["load_after"] = loadavg()
    met = res["ratio"] <= 1.05
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    text = """# Usage counting and dnstap: instructions per query (`make bench-usage`)

%s; ternd %s. Load average %s at the start, %s at the end.

ternd under callgrind with one UDP worker answers %d UDP queries (bench-signal's replay: 1,000 names
of one zone, one query at a time); the figure is the worker thread's instructions of the replay less
those of an idle run, over the queries, with `usage.count-queries` off and on.

| usage.count-queries | instructions per query |
|---|---:|
| off | %.1f |
| on | %.1f |

Counting costs %+.2f%% (target at most +5%%): %s.
""" % (res["machine"], res["ternd"], res["load_before"], res["load_after"], args.queries, res["off"], res["on"],
       (res["ratio"] - 1) * 100, "met" if met else "NOT met")
    text += """
## dnstap

The same replay with dnstap off and on: ternd (`dnstap.socket`, counting on in both) and Knot DNS
3.2 (`knotd`, one UDP worker, mod-dnstap as a global module with `sink: unix:...`, queries and
responses logged), each run writing to its own `fstrm_capture` on a unix socket; ternd's replay
capture must receive two frames per query (checked); the frames each capture received are in the
table (Knot's fstrm I/O thread drops what does not fit its queues when it falls behind: valgrind
runs one thread at a time, so it does). Knot is measured exactly as
ternd: under callgrind with `--separate-threads=yes`, idle run subtracted, over the queries; its
UDP worker is the thread profile that calls `recvmmsg` (knotd is stripped). "Worker" is that
thread alone (the query path: ternd copies into its ring, Knot encodes the protobuf and queues it);
"process" sums every thread (ternd's ternd-dnstap writer encoding and writing, Knot's fstrm I/O
thread), so it includes the idle threads' wake-ups over the replay's longer run.

| server | dnstap | worker Ir/query | process Ir/query | frames received |
|---|---|---:|---:|---:|
"""
    for name, s in tap.items():
        text += "| %s | off | %.1f | %.1f | |\n" % (name, s["off"][0], s["off"][1])
        text += "| %s | on | %.1f | %.1f | %d of %d |\n" % (name, s["on"][0], s["on"][1], s["on"][2], 2 * args.queries)
        text += "| %s | added | %+.1f | %+.1f | |\n" % (name, s["added"][0], s["added"][1])
    if "knot" in tap:
        ok = [tap["ternd"]["added"][i] <= tap["knot"]["added"][i] for i in range(2)]
        text += ("\nternd's added cost against Knot's (target: at most Knot's): worker %+.1f vs %+.1f (%s), "
                 "process %+.1f vs %+.1f (%s).\n" % (tap["ternd"]["added"][0], tap["knot"]["added"][0],
                                                    "met" if ok[0] else "NOT met", tap["ternd"]["added"][1],
                                                    tap["knot"]["added"][1], "met" if ok[1] else "NOT met"))
    else:
        text += "\nKnot with mod-dnstap (knot-module-dnstap) is not installed: no comparison.\n"
    out.write_text(text)
    log("wrote %s" % out)


if __name__ == "__main__":
    main()
