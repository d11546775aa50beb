#!/usr/bin/python3
"""Many small zones (`make bench-scale`): N zone files of 6 records each (SOA, 2 NS, 3 A), all listed
in the configuration, served by ternd, Knot and NSD in turn. For each: the time from exec until every
zone is served, the CPU seconds spent until then, PSS after; for ternd also `ternd --check` and a
SIGHUP after one zone file changed, until its new serial is served. Writes bench/results/scale.md."""
import argparse
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from benchlib import free_port, loadavg, machine, stop, ternd_version  # noqa: E402
import procs  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SAMPLE = 100
SAMPLE_UNFINISHED = 10000  # zones asked of a server that did not serve all in time


def log(msg):
    print("[bench-scale %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def zone_name(i):
    return "z%d.scale.test" % i


def zone_text(name, serial=1, www="192.0.2.3"):
    return ("$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster %d 7200 900 1209600 300\n@ NS ns1\n@ NS ns2\n"
            "ns1 A 192.0.2.1\nns2 A 192.0.2.2\nwww A %s\n" % (name, serial, www))


def generate(work, n, reuse=None):
    """The zone files (work/zones/NAME.zone, or those already in reuse, checked); returns
    [(name, path)] in configuration order."""
    d = reuse or os.path.join(work, "zones")
    os.makedirs(d, exist_ok=True)
    out = []
    for i in range(n):
        name = zone_name(i)
        path = os.path.join(d, name + ".zone")
        if reuse:
            with open(path) as f:
                if f.read() != zone_text(name):
                    raise RuntimeError("%s is not the generated zone file" % path)
        else:
            with open(path, "w") as f:
                f.write(zone_text(name))
        out.append((name, path))
    return out


def soa_query(qid, name):
    wire = b"".join(bytes([len(lab)]) + lab.encode() for lab in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack("!HH", 6, 1)


def skip_name(m, at):
    """The offset after the (possibly compressed) name at at."""
    while True:
        n = m[at]
        if n == 0:
            return at + 1
        if n & 0xC0 == 0xC0:
            return at + 2
        at += n + 1


def soa_serial(resp):
    """The serial of the first answer record (a SOA) of an authoritative NOERROR answer, else None."""
    try:
        flags, qd, an = struct.unpack("!HHH", resp[2:8])
        if flags & 0x000F or not flags & 0x0400 or an < 1 or qd != 1:
            return None
        at = skip_name(resp, 12) + 4
        at = skip_name(resp, at)
        rtype, = struct.unpack("!H", resp[at:at + 2])
        if rtype != 6:
            return None
        at = skip_name(resp, at + 10)  # type, class, TTL, RDLENGTH; then MNAME, RNAME, serial
        at = skip_name(resp, at)
        return struct.unpack("!I", resp[at:at + 4])[0]
    except (IndexError, struct.error):
        return None


def ask(port, names, timeout=0.5, window=256):
    """{index: serial or None} for the SOA of each name, asked over UDP with up to window in flight."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    got = {}
    try:
        for start in range(0, len(names), window):
            batch = range(start, min(len(names), start + window))
            for i in batch:
                s.sendto(soa_query(i & 0xFFFF, names[i]), ("127.0.0.1", port))
            want = {i & 0xFFFF: i for i in batch}
            while want:
                try:
                    resp = s.recv(4096)
                except socket.timeout:
                    break
                i = want.pop(struct.unpack("!H", resp[:2])[0], None)
                if i is not None:
                    got[i] = soa_serial(resp)
    finally:
        s.close()
    return got


def all_answer(port, names, serial=1, tries=3):
    """The names whose SOA is not served with serial (each asked up to tries times)."""
    todo = list(names)
    for _ in range(tries):
        got = ask(port, todo)
        todo = [todo[i] for i in range(len(todo)) if got.get(i) != serial]
        if not todo:
            break
    return todo


def wait_served(port, proc, names, t0, rng, timeout):
    """Polls the last zone, then the last plus a random sample of SAMPLE, until all answer their SOA;
    returns the seconds from t0, or None when that did not happen within timeout."""
    last = names[-1]
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        if ask(port, [last], timeout=0.05).get(0) == 1:
            sample = [last] + rng.sample(names, min(SAMPLE, len(names)))
            got = ask(port, sample, timeout=0.2)
            if all(got.get(i) == 1 for i in range(len(sample))):
                return time.monotonic() - t0
        time.sleep(0.01)
    return None  # the caller counts how many are served


def cpu_seconds(pid):
    """utime+stime of the tree, plus what the root waited for of its children that ended."""
    f = procs.stat_fields(pid)
    return (procs.cpu(pid) + int(f[13]) + int(f[14])) / TICK


# ---- the servers ----

def ternd_start(args, d, zones, port):
    conf = os.path.join(d, "ternd.yaml")
    with open(conf, "w") as f:
        f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: warning}\nzones:\n' % port)
        for name, path in zones:
            f.write("  - {name: %s, file: %s}\n" % (name, path))
    return [args.ternd, "-c", conf], conf


def knot_start(args, d, zones, port):
    for sub in ("run", "storage"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = os.path.join(d, "knot.conf")
    lines = ["server:", "    rundir: \"%s/run\"" % d, "    listen: 127.0.0.1@%d" % port, "    udp-workers: 1",
             "    tcp-workers: 1", "database:", "    storage: \"%s/storage\"" % d, "control:",
             "    listen: \"%s/run/knot.sock\"" % d, "log:", "  - target: stderr", "    any: warning",
             "template:", "  - id: default", "    storage: \"%s/storage\"" % d, "    zonefile-sync: -1",
             "    zonefile-load: whole", "    journal-content: none", "    semantic-checks: off", "zone:"]
    for name, path in zones:
        lines += ["  - domain: %s." % name, "    file: \"%s\"" % path]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return ["knotd", "-c", conf], conf


def nsd_start(args, d, zones, port):
    conf = os.path.join(d, "nsd.conf")
    text = """server:
    server-count: 1
    ip-address: 127.0.0.1@{port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    pidfile: "{d}/nsd.pid"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    zonelistfile: "{d}/zone.list"
    logfile: "{d}/nsd.log"
    verbosity: 0
    zonefiles-write: 0
    rrl-ratelimit: 0
remote-control:
    control-enable: no
""".format(port=port, d=d)
    with open(conf, "w") as f:
        f.write(text)
        for name, path in zones:
            f.write("zone:\n    name: %s\n    zonefile: \"%s\"\n" % (name, path))
    return ["nsd", "-d", "-c", conf], conf


def reload_cmd(server, proc, conf):
    """How each server is told that zone files changed."""
    if server == "knot":  # knotc waits 5 s for an answer by default: a million zones take longer
        return lambda: subprocess.run(["knotc", "-c", conf, "-t", "600", "reload"], check=True, capture_output=True)
    return lambda: os.kill(proc.pid, signal.SIGHUP)


def measure(server, args, zones, pids_file):
    d = os.path.join(args.work, server)
    os.makedirs(d)
    port = free_port()
    cmd, conf = {"ternd": ternd_start, "knot": knot_start, "nsd": nsd_start}[server](args, d, zones, port)
    names = [n for n, _ in zones]
    res = {}
    if server == "ternd":
        time.sleep(2.1)  # an unchanged configuration file is one older than STAMP_SETTLE_S (main.c)
        t0 = time.monotonic()
        rc = subprocess.run([args.ternd, "-c", conf, "--check"], capture_output=True, text=True)
        res["check_s"] = time.monotonic() - t0
        if rc.returncode:
            raise RuntimeError("ternd --check failed: %s" % rc.stderr[-2000:])
    rng = random.Random(7)
    out = open(os.path.join(d, "out.log"), "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=d, stdout=out, stderr=subprocess.STDOUT)
    with open(pids_file, "a") as f:
        f.write("%d\n" % proc.pid)
    try:
        res["served_s"] = wait_served(port, proc, names, t0, rng, args.timeout)
        res["cpu_s"] = cpu_seconds(proc.pid)
        time.sleep(1)  # let load-time scratch be returned before PSS is read
        m = procs.mem(proc.pid)
        res["pss_kb"], res["rss_kb"], res["procs"] = m["pss_kb"], m["rss_kb"], m["procs"]
        if res["served_s"] is None:
            # how far it got, from a sample (asking each of a million zones a server does not answer
            # would take hours of timeouts); no reload on top of that
            sample = rng.sample(names, min(SAMPLE_UNFINISHED, len(names)))
            got = ask(port, sample, timeout=0.2)
            served = sum(1 for i in range(len(sample)) if got.get(i) == 1)
            res["missing"] = len(names) - round(served * len(names) / len(sample))
            res["missing_sampled"] = len(sample)
            log("%s: not every zone served within %g s (about %d unserved, from %d asked)" % (
                server, args.timeout, res["missing"], len(sample)))
            res["reload_s"] = None
            return res
        missing = all_answer(port, names)
        res["missing"] = len(missing)
        if missing:
            log("%s: %d zone(s) not served, e.g. %s" % (server, len(missing), missing[:3]))
        # one zone file changed, then the server told: until its new serial is served
        name, path = zones[len(zones) // 2]
        time.sleep(1.1)  # a new mtime second, for servers that compare mtimes in seconds
        with open(path, "w") as f:
            f.write(zone_text(name, serial=2, www="192.0.2.4"))
        try:
            t1 = time.monotonic()
            reload_cmd(server, proc, conf)()
            while time.monotonic() - t1 < args.timeout:
                if ask(port, [name], timeout=0.05).get(0) == 2:
                    res["reload_s"] = time.monotonic() - t1
                    break
                time.sleep(0.002)
            else:
                res["reload_s"] = None
        finally:  # the file as generated again, for the next server (and BENCH_SCALE_REUSE)
            with open(path, "w") as f:
                f.write(zone_text(name))
    finally:
        stop(proc, 120)
        out.close()
    with open(os.path.join(d, "out.log")) as f:
        res["log_tail"] = f.read()[-400:]
    return res


def version(server):
    cmd = {"knot": ["knotd", "-V"], "nsd": ["nsd", "-v"]}[server]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return (r.stdout + r.stderr).split("\n")[0].split()[-1]


def fmt(v, spec):
    return "-" if v is None else spec % v


def report(args, n, res, meta):
    kb_zone = {s: r["pss_kb"] * 1024 / n for s, r in res.items()}
    t, k, nsd = res.get("ternd"), res.get("knot"), res.get("nsd")
    rows = ["| server | all served | CPU | PSS | PSS/zone | `--check` | SIGHUP, 1 file changed -> served | unserved |",
            "|---|---|---|---|---|---|---|---|"]
    label = {"ternd": "ternd %s" % meta["ternd"], "knot": "Knot %s" % meta.get("knot_version", ""),
             "nsd": "NSD %s" % meta.get("nsd_version", "")}
    for s, r in res.items():
        served = ("%.2f s" % r["served_s"] if r["served_s"] is not None else
                  "not all after %g s (about %d of %d, from %d asked)" % (
                      args.timeout, n - r["missing"], n, r.get("missing_sampled", n)))
        rows.append("| %s | %s | %.2f s | %.0f MiB | %.0f B | %s | %s | %d |" % (
            label[s], served, r["cpu_s"], r["pss_kb"] / 1024, kb_zone[s], fmt(r.get("check_s"), "%.2f s"),
            fmt(r["reload_s"] * 1000 if r.get("reload_s") is not None else None, "%.0f ms"), r["missing"]))
    targets = []
    done = lambda r: r and r["served_s"] is not None
    if done(t) and nsd:
        targets.append("| start to every zone served, ternd / NSD | %s | <= 0.5 |" % (
            "%.2f" % (t["served_s"] / nsd["served_s"]) if done(nsd) else "< %.2f (NSD did not finish)" % (
                t["served_s"] / args.timeout)))
    if t and k:
        targets.append("| PSS per zone, ternd / Knot | %.2f | <= 0.5 |" % (kb_zone["ternd"] / kb_zone["knot"]))
    if t and n >= 1000000:
        targets.append("| 1,000,000 zones: start to every zone served | %s | <= 60 s |" % fmt(t["served_s"], "%.1f s"))
        targets.append("| 1,000,000 zones: PSS | %.2f GiB | <= 2 GiB |" % (t["pss_kb"] / 1024 / 1024))
    if t:
        targets.append("| `ternd --check` | %.2f s | <= 2 s (at 100,000 zones) |" % t["check_s"])
        targets.append("| SIGHUP, one of the files changed -> served | %s | <= 100 ms |" %
                       fmt(t["reload_s"] * 1000 if t.get("reload_s") is not None else None, "%.0f ms"))
    md = ["# Many small zones (`make bench-scale`)", "",
          "%d zone files, each SOA + 2 NS + 3 A, all listed in the configuration (ternd `udp-workers: 1`, "
          "`log.level: warning`; "
          "Knot 1 UDP and 1 TCP worker, default background workers, no journal, no zone file sync, "
          "no semantic checks; NSD `server-count: 1`, `database: \"\"`). \"All served\": from exec until the "
          "last zone listed and a random sample of %d answer their SOA (after which every zone is asked "
          "once: \"unserved\" counts those that did not answer). CPU: user+system seconds of the process "
          "tree until then. PSS summed over the tree 1 s later. SIGHUP: one zone file rewritten with a new "
          "serial, then SIGHUP (`knotc reload` for Knot), until the new serial is answered." % (n, SAMPLE), "",
          ] + rows + ["", "| target | measured | target |", "|---|---|---|"] + targets + [
          "", "Machine: %s; load average before %s, after %s." % (meta["machine"], meta["load_before"],
                                                                   meta["load_after"]), ""]
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--zones", type=int, default=100000)
    ap.add_argument("--servers", default="ternd knot nsd")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--reuse", help="a directory of zone files an earlier run generated (checked, not written)")
    ap.add_argument("--sched", default="none", help="how bench_drive scheduled the run (reported)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log("%s %d zone files" % ("checking" if args.reuse else "generating", args.zones))
    zones = generate(args.work, args.zones, args.reuse)
    os.sync()  # the files written back now, not while the first server reads them
    time.sleep(2.1)  # files older than ternd's STAMP_SETTLE_S: a reload takes an unchanged stamp at its word
    meta = {"machine": machine(args.work), "load_before": loadavg(), "ternd": ternd_version()}
    res = {}
    for server in args.servers.split():
        if server != "ternd":
            meta[server + "_version"] = version(server)
        log("%s: starting with %d zones" % (server, args.zones))
        res[server] = measure(server, args, zones, os.path.join(args.work, "pids"))
        r = res[server]
        log("%s: all served %s, CPU %.2f s, PSS %.0f MiB, --check %s, SIGHUP %s, unserved %d" % (
            server, fmt(r["served_s"], "%.2f s"), r["cpu_s"], r["pss_kb"] / 1024, fmt(r.get("check_s"), "%.2f s"),
            fmt(r.get("reload_s"), "%.3f s"), r["missing"]))
    meta["load_after"] = loadavg()
    md = report(args, args.zones, res, meta)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"zones": args.zones, "meta": meta, "results": res}, f, indent=1)
    with open(args.out, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
