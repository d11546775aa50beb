#!/usr/bin/env python3
"""Instructions per query in ternd's UDP worker with usage.count-queries on and off (issue 26's
target: counting costs at most +5%). ternd runs under callgrind (one UDP worker, each thread its
own profile) twice per setting: idle, and answering the replay (bench-signal's: --queries UDP
queries over 1,000 names of one zone, one at a time); the worker's instructions of the replay less
those of the idle run, over the queries, is the figure. Writes the report to --out (.md and .json)."""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "signal"))
sys.path.insert(0, str(ROOT / "tests" / "system"))
from benchlib import loadavg, machine, stop, ternd_version  # noqa: E402
from bench_signal import ipq_queries, ipq_zone, replay, wait_answer, worker_ir  # noqa: E402
from ternlib import free_port  # noqa: E402


def log(msg):
    print("[bench-usage %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def measure(args, d, label, count):
    msgs = ipq_queries(1000, args.queries)
    ir = {}
    for mode in ("idle", "replay"):
        w = d / ("%s-%s" % (label, mode))
        w.mkdir()
        port = free_port()
        (w / "ternd.yaml").write_text(
            'server:\n  listen: ["127.0.0.1@%d"]\n  udp-workers: 1\n  user: root\nlog:\n  level: warning\n'
            'zones:\n  - name: ipq.bench\n    file: %s\nusage:\n  count-queries: %s\n'
            % (port, d / "ipq.bench.zone", "true" if count else "false"))
        wrap = ["valgrind", "--tool=callgrind", "-q", "--collect-atstart=yes", "--trace-children=no",
                "--separate-threads=yes", "--callgrind-out-file=%s/callgrind.out.%%p" % w]
        p = subprocess.Popen(wrap + [args.ternd, "-c", str(w / "ternd.yaml")], cwd=str(w),
                             stdout=open(w / "out.log", "w"), stderr=subprocess.STDOUT)
        try:
            wait_answer(port, p)
            time.sleep(1)
            if mode == "replay":
                good = replay(port, msgs)
                if good != len(msgs):
                    raise RuntimeError("%s: %d of %d answers as expected" % (label, good, len(msgs)))
        finally:
            stop(p, 600)
        ir[mode] = worker_ir(str(w))
    return (ir["replay"] - ir["idle"]) / len(msgs)


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
    res["off"] = measure(args, d, "off", False)
    log("counting off: %.1f instructions per query" % res["off"])
    res["on"] = measure(args, d, "on", True)
    log("counting on: %.1f instructions per query" % res["on"])
    res["ratio"] = res["on"] / res["off"]
    res["load_after"] = loadavg()
    met = res["ratio"] <= 1.05
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    out.write_text("""# Usage counting: instructions per query (`make bench-usage`)

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
       (res["ratio"] - 1) * 100, "met" if met else "NOT met"))
    log("wrote %s" % out)


if __name__ == "__main__":
    main()
