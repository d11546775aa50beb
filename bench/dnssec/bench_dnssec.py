#!/usr/bin/python3
"""DNSSEC benchmark (`make bench-dnssec`): ternd's online signer against Knot DNS with the same
algorithm (ECDSA P-256, NSEC) and 2 signing threads, in the same run. Started by
bench/dnssec/run.sh (which makes the work directory, builds the poller and kills whatever this
script started if it dies); see bench/README.md. Three figures, each as a ratio to Knot's:

  sign      the big zone of bench/gen.py (1M RRs): time until the fully signed zone is served (ternd:
            from the API request that enables signing on the imported zone; Knot: from exec, zone
            load included), peak RSS (ternd: from exec, so the import counts too), signatures made,
            signatures per CPU-second (utime+stime of the whole process over the same span)
  change    one RRset changed on that signed zone -> its signed answer served (the value beside an
            RRSIG covering it, bench/poll.c -d polling every 0.1 ms), median and p99 over N changes;
            ternd: PUT of the RRset; Knot: knotc zone-begin/zone-set/zone-commit (clock at commit)
  callgrind instructions per DO=1 query: the 100k-name zone of bench/gen.py signed by
            dnssec-signzone (NSEC, ECDSA), served as it is by both, the first REPLAY queries of the
            performance benchmark's query file replayed one at a time with DO=1; Ir(replay) -
            Ir(start and stop) over REPLAY
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

import dns.flags
import dns.message
import dns.query
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop"))
import devtoken  # noqa: E402
from benchlib import callgrind_ir, free_port, loadavg, machine, pct, stop, ternd_version  # noqa: E402
import dnspoll  # noqa: E402

BIG = "big.test"
SMALL = "bench.test"
CHANGE_NAME = "bench-change"
# The policy both servers sign with: ECDSA P-256 (13), NSEC, no rollover during the run.
TERND_POLICY = {"algorithm": "ecdsap256sha256", "denial": "nsec"}
now_ns = time.monotonic_ns  # CLOCK_MONOTONIC, the poller's clock
STARTED = []
PIDFILE = None


def log(msg):
    print("[bench-dnssec %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def spawn(argv, directory, name, env=None):
    out = open(os.path.join(directory, name + ".log"), "w")
    proc = subprocess.Popen(argv, cwd=directory, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            env=env)
    STARTED.append(proc)
    with open(PIDFILE, "a") as f:
        f.write("%d\n" % proc.pid)
    return proc


def stop_all():
    for p in STARTED:
        stop(p)


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def proc_cpu(pid):
    """utime + stime of the process (all threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, key):
    """A kB field of /proc/PID/status (VmHWM, VmRSS) in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no %s for %d" % (key, pid))


def signed_soa(port, zone, timeout=0.5):
    """Whether zone's SOA comes back with an RRSIG covering it (DO=1), the zone signed and served."""
    q = dns.message.make_query(zone, "SOA", want_dnssec=True)
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=timeout)
    except (OSError, dns.exception.Timeout):
        return False
    if not r.flags & dns.flags.AA:
        return False
    return any(rr.rdtype == dns.rdatatype.RRSIG and rr.covers == dns.rdatatype.SOA for rr in r.answer)


def wait_signed(proc, port, zone, timeout, log_path=None):
    end = time.time() + timeout
    while not signed_soa(port, zone):
        if proc.poll() is not None:
            raise RuntimeError("the server exited before %s was signed" % zone)
        if log_path and os.path.exists(log_path):
            with open(log_path) as f:
                bad = [line for line in f if " error: " in line]
            if bad:
                raise RuntimeError("%s failed: %s" % (log_path, bad[0].strip()))
        if time.time() > end:
            raise RuntimeError("%s was not signed within %.0f s" % (zone, timeout))
        time.sleep(0.01)
    return time.monotonic()


def count_rrsigs(port, zone):
    """(records, RRSIG records) of an AXFR of zone (kdig, so 3M records stream fast)."""
    r = subprocess.run(["kdig", "-p", str(port), "@127.0.0.1", zone, "AXFR", "+noall", "+answer", "+nocomments", "+timeout=120"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("kdig AXFR %s from port %d: %s" % (zone, port, (r.stderr or r.stdout)[-500:]))
    out = r.stdout
    total = sigs = 0
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4:
            total += 1
            sigs += f[3] == "RRSIG"
    return total, sigs


# ------------------------------------------------------------------ servers

KNOT_CONF = """server:
    rundir: "{dir}/run"
    listen: 127.0.0.1@{port}
    background-workers: 2
database:
    storage: "{dir}/storage"
    journal-db-max-size: 64G
control:
    listen: "{dir}/run/knot.sock"
log:
  - target: stderr
    any: warning
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
policy:
  - id: bench
    algorithm: ecdsap256sha256
    nsec3: off
    signing-threads: 2
    ksk-lifetime: 0
    zsk-lifetime: 0
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
template:
  - id: default
    storage: "{dir}/storage"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    journal-max-usage: 32G
    acl: xfr
zone:
  - domain: {zone}.
    file: "{dir}/{zone}.zone"
    dnssec-signing: {signing}
    dnssec-policy: bench
"""


class Knot:
    def __init__(self, work, label, zone, zonefile, signing=True, wrap=None):
        self.label, self.zone = label, zone
        self.dir = os.path.join(work, label)
        for d in ("run", "storage"):
            os.makedirs(os.path.join(self.dir, d))
        self.port = free_port()
        self.sock = os.path.join(self.dir, "run", "knot.sock")
        with open(zonefile) as src, open(os.path.join(self.dir, zone + ".zone"), "w") as dst:
            dst.write(src.read())
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write(KNOT_CONF.format(dir=self.dir, port=self.port, zone=zone, signing="on" if signing else "off"))
        self.t0 = time.monotonic()
        self.proc = spawn((wrap or []) + ["knotd", "-c", os.path.join(self.dir, "knot.conf")], self.dir, "knotd")

    def knotc(self, *args):
        r = subprocess.run(["knotc", "-s", self.sock] + list(args), capture_output=True, text=True)
        if r.returncode != 0 or "error" in r.stdout.lower():
            raise RuntimeError("%s: knotc %s: %s%s" % (self.label, " ".join(args), r.stdout, r.stderr))

    def prepare(self):
        pass

    def change(self, addr, started):
        self.knotc("zone-begin", self.zone)
        self.knotc("zone-unset", self.zone, CHANGE_NAME, "A")
        self.knotc("zone-set", self.zone, CHANGE_NAME, "300", "A", addr)
        t0 = now_ns()
        started(t0)
        self.knotc("zone-commit", self.zone)
        return t0


class Ternd:
    """ternd with the API and its store; zones are made and imported through the API."""

    def __init__(self, binary, work, label, wrap=None, zonefiles=None):
        self.label = label
        self.dir = os.path.join(work, label)
        os.makedirs(os.path.join(self.dir, "data"))
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        self.token = devtoken.token(key, "bench", hours=48)
        self.port, self.api_port = free_port(), free_port()
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: warning}\n' % self.port)
            f.write("api: {listen: 127.0.0.1@%d, data-dir: %s, jwks: %s, nameservers: [ns1.%s.], rate-limit: 0, "
                    "serial-policy: increment}\n" % (self.api_port, os.path.join(self.dir, "data"), jwks, BIG))
            f.write("transfer:\n  allow: [127.0.0.0/8]\n")
            if zonefiles:
                f.write("zones:\n" + "".join("  - {name: %s, file: %s}\n" % z for z in zonefiles))
        self.t0 = time.monotonic()
        self.proc = spawn((wrap or []) + [binary, "-c", conf], self.dir, "ternd")
        self.conn = None

    def request(self, method, path, body=None, raw=None, timeout=600):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        self.conn.request(method, path, body=data, headers={"Authorization": "Bearer " + self.token,
                                                            "Content-Type": "text/dns" if raw else "application/json"})
        r = self.conn.getresponse()
        out = r.read()
        if r.will_close:
            self.conn.close()
            self.conn = None
        if r.status >= 300:
            raise RuntimeError("%s: %s %s answered %d: %s" % (self.label, method, path, r.status, out[:300]))
        return json.loads(out) if out else None

    def wait_api(self):
        end = time.time() + 60
        while True:
            try:
                return self.request("GET", "/healthz")
            except OSError:
                self.conn = None
                if time.time() > end or self.proc.poll() is not None:
                    raise RuntimeError("%s: the API did not come up (see %s)" % (self.label, self.dir))
                time.sleep(0.05)

    def prepare(self):
        """A fresh keep-alive connection before the changes: the server closes idle ones."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.request("GET", "/healthz")

    def change(self, addr, started):
        """PUT of the RRset; a keep-alive connection the server closed meanwhile is opened again and
        the clock restarted."""
        for attempt in range(2):
            t0 = now_ns()
            started(t0)
            try:
                self.request("PUT", "/api/v1/zones/%s/rrsets/%s/A" % (BIG, CHANGE_NAME),
                             {"ttl": 300, "records": [addr]})
                return t0
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise


# ------------------------------------------------------------------ phases

def big_zone(work, rrs):
    d = os.path.join(work, "data")
    os.makedirs(d, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen.py"), d, "--big-rrs", str(rrs)], check=True)
    path = os.path.join(d, BIG + ".zone")
    with open(path, "a") as f:
        f.write("%s 300 IN A 10.255.255.255\n" % CHANGE_NAME)
    return d, path


def phase_sign(args, work, zonefile):
    """Knot from exec, ternd from the enabling request; both until the SOA is signed. Returns
    {server: figures} and the running servers for the change phase."""
    res, servers = {}, {}
    log("Knot: load and sign %s" % BIG)
    k = Knot(work, "knot-sign", BIG, zonefile)
    t1 = wait_signed(k.proc, k.port, BIG, args.timeout, os.path.join(k.dir, "knotd.log"))
    cpu = proc_cpu(k.proc.pid)
    time.sleep(1)
    total, sigs = count_rrsigs(k.port, BIG)
    res["knot"] = {"seconds": t1 - k.t0, "peak_mib": proc_status(k.proc.pid, "VmHWM"), "cpu": cpu,
                   "records": total, "rrsigs": sigs}
    log("Knot: signed after %.2f s, %d RRSIGs, peak %.0f MiB" % (t1 - k.t0, sigs, res["knot"]["peak_mib"]))
    servers["knot"] = k

    log("ternd: import %s through the API, then enable signing" % BIG)
    t = Ternd(args.ternd, work, "ternd-sign")
    t.wait_api()
    t.request("POST", "/api/v1/zones", {"name": BIG})
    with open(zonefile) as f:
        t.request("POST", "/api/v1/zones/%s/import" % BIG, raw=f.read())
    hwm_import = proc_status(t.proc.pid, "VmHWM")
    cpu0 = proc_cpu(t.proc.pid)
    t0 = time.monotonic()
    t.request("PUT", "/api/v1/zones/%s/dnssec" % BIG, TERND_POLICY)
    t1 = wait_signed(t.proc, t.port, BIG, args.timeout, os.path.join(t.dir, "ternd.log"))
    cpu = proc_cpu(t.proc.pid) - cpu0
    time.sleep(1)
    total, sigs = count_rrsigs(t.port, BIG)
    res["ternd"] = {"seconds": t1 - t0, "peak_mib": proc_status(t.proc.pid, "VmHWM"), "peak_import_mib": hwm_import,
                    "cpu": cpu, "records": total, "rrsigs": sigs}
    log("ternd: signed after %.2f s, %d RRSIGs, peak %.0f MiB" % (t1 - t0, sigs, res["ternd"]["peak_mib"]))
    servers["ternd"] = t
    for r in res.values():
        r["sigs_per_cpu_s"] = r["rrsigs"] / r["cpu"] if r["cpu"] > 0 else 0
    return res, servers


def phase_change(args, servers):
    """count changes of bench-change A on each server in turn; seconds from the request to the
    signed new value served."""
    res = {}
    rng = random.Random(16)
    for name, srv in servers.items():
        poller = dnspoll.Poller(args.poll, "%s.%s" % (CHANGE_NAME, BIG), ["127.0.0.1@%d" % srv.port],
                                interval_us=args.poll_us, timeout_ms=60000, dnssec=True)
        lat = []
        srv.prepare()
        try:
            for cid in range(1, args.changes + 1):
                addr = "10.254.%d.%d" % (cid // 256, cid % 256)
                poller.expect(cid, addr)
                t0 = srv.change(addr, poller.anchor)
                served, timeouts = poller.wait(cid, 90)
                if timeouts:
                    raise RuntimeError("%s did not serve change %d signed within 60 s" % (name, cid))
                lat.append((served[0][0] - t0) / 1e6)
                time.sleep(rng.uniform(0.05, 0.15))
        finally:
            stats = poller.quit()
        res[name] = {"median_ms": statistics.median(lat), "p99_ms": pct(lat, 99), "max_ms": max(lat),
                     "changes": len(lat), "poll": stats.get(0, {})}
        log("%s: change -> signed answer median %.2f ms, p99 %.2f ms" % (name, res[name]["median_ms"],
                                                                          res[name]["p99_ms"]))
    return res


def phase_callgrind(args, work, data):
    """Instructions per DO=1 query on the 100k-name zone signed by dnssec-signzone."""
    d = os.path.join(work, "cg")
    os.makedirs(d)
    plain = os.path.join(data, SMALL + ".zone")
    for flags in ([], ["-f", "KSK"]):
        subprocess.run(["dnssec-keygen", "-q", "-K", d, "-a", "ECDSAP256SHA256", "-n", "ZONE"] + flags + [SMALL],
                       check=True, capture_output=True)
    signed = os.path.join(d, SMALL + ".signed")
    log("dnssec-signzone %s (NSEC)" % SMALL)
    subprocess.run(["dnssec-signzone", "-q", "-K", d, "-d", d, "-S", "-o", SMALL, "-f", signed, "-O", "full", plain],
                   check=True, capture_output=True)
    expect = os.path.join(data, "queries.expect")
    res = {}
    for name in ("ternd", "knot"):
        ir = {}
        for mode in ("idle", "replay"):
            out = os.path.join(d, "%s-%s" % (name, mode))
            os.makedirs(out)
            wrap = ["valgrind", "--tool=callgrind", "-q", "--collect-atstart=yes", "--trace-children=yes",
                    "--callgrind-out-file=%s/callgrind.out.%%p" % out]
            if name == "knot":
                srv = Knot(out, "srv", SMALL, signed, signing=False, wrap=wrap)
            else:
                srv = Ternd(args.ternd, out, "srv", wrap=wrap, zonefiles=[(SMALL, signed)])
            port = srv.port
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "dnsq.py"), "ready", str(port), SMALL,
                            "--interval", "0.5", "--timeout", "1800", "--pid", str(srv.proc.pid)], check=True,
                           capture_output=True)
            if mode == "replay":
                r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "dnsq.py"), "replay", str(port),
                                    expect, "--count", str(args.replay), "--do"], capture_output=True, text=True)
                if r.returncode != 0:
                    log("warning: %s lost queries in the replay: %s" % (name, r.stdout.strip()))
            stop(srv.proc, 600)
            ir[mode] = callgrind_ir(out)
        res[name] = {"ipq": (ir["replay"] - ir["idle"]) / args.replay, "idle": ir["idle"], "replay": ir["replay"]}
        log("%s: %.0f instructions per DO=1 query" % (name, res[name]["ipq"]))
    return res


# ------------------------------------------------------------------ report

def ratio(a, b):
    return "%.2f" % (a / b) if b else "n/a"


def report(r, args):
    md = ["# DNSSEC benchmark: ternd vs Knot DNS (`make bench-dnssec`)", ""]
    md.append("- date: %s; machine: %s; load average at start: %s" % (r["date"], r["machine"], r["loadavg"]))
    md.append("- ternd %s; %s" % (r["ternd"], r["knot_version"]))
    md.append("- policy: ECDSA P-256 (13), NSEC; Knot with signing-threads 2 and background-workers 2")
    md.append("")
    md.append("| figure | ternd | Knot | ternd / Knot | target |")
    md.append("|---|---:|---:|---:|---|")
    s = r.get("sign")
    if s:
        t, k = s["ternd"], s["knot"]
        md.append("| %s-RR zone: seconds to the signed zone served | %.2f | %.2f | %s | <= 1 |"
                  % (format(args.big_rrs, ","), t["seconds"], k["seconds"], ratio(t["seconds"], k["seconds"])))
        md.append("| peak RSS, MiB | %.0f | %.0f | %s | <= 1 |" % (t["peak_mib"], k["peak_mib"],
                                                               ratio(t["peak_mib"], k["peak_mib"])))
        md.append("| RRSIGs in the signed zone | %d | %d | | equal |" % (t["rrsigs"], k["rrsigs"]))
        md.append("| signatures per CPU-second | %.0f | %.0f | %s | |" % (t["sigs_per_cpu_s"], k["sigs_per_cpu_s"],
                                                                       ratio(t["sigs_per_cpu_s"],
                                                                             k["sigs_per_cpu_s"])))
    c = r.get("change")
    if c:
        t, k = c["ternd"], c["knot"]
        md.append("| change -> signed answer, median ms (%d changes) | %.2f | %.2f | %s | |"
                  % (t["changes"], t["median_ms"], k["median_ms"], ratio(t["median_ms"], k["median_ms"])))
        md.append("| change -> signed answer, p99 ms | %.2f | %.2f | %s | <= 0.5 |"
                  % (t["p99_ms"], k["p99_ms"], ratio(t["p99_ms"], k["p99_ms"])))
    g = r.get("callgrind")
    if g:
        t, k = g["ternd"], g["knot"]
        md.append("| instructions per DO=1 query (%d replayed) | %.0f | %.0f | %s | <= 0.6 |"
                  % (args.replay, t["ipq"], k["ipq"], ratio(t["ipq"], k["ipq"])))
    md.append("")
    md.append("How:")
    for para in re.split(r"\n  (?=\S)", "\n" + __doc__.split("\n\n", 1)[1].rstrip())[1:]:
        md.append("- " + " ".join(para.split()))
    if s:
        md.append("")
        md.append("ternd's peak RSS counts the import of the unsigned zone too (%.0f MiB before signing); "
                  "Knot's sign time and CPU include loading the zone file." % s["ternd"]["peak_import_mib"])
    if c:
        md.append("")
        md.append("Poll grid: %d us. Poller stats (sent/answers/bad: bad = no usable signed answer): ternd %s, "
                  "Knot %s." % (args.poll_us, c["ternd"]["poll"], c["knot"]["poll"]))
    return "\n".join(md) + "\n"


def main():
    global PIDFILE
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--poll", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--big-rrs", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--replay", type=int, default=10000)
    ap.add_argument("--poll-us", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--phases", default="sign change callgrind")
    ap.add_argument("--sched", default="none")
    args = ap.parse_args()
    PIDFILE = os.path.join(args.work, "pids")
    signal.signal(signal.SIGTERM, on_signal)
    phases = args.phases.split()
    r = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(args.work),
         "loadavg": loadavg(), "ternd": ternd_version(),
         "knot_version": subprocess.run(["knotd", "-V"], capture_output=True, text=True).stdout.strip()}
    try:
        data, zonefile = big_zone(args.work, args.big_rrs)
        if "sign" in phases or "change" in phases:
            r["sign"], servers = phase_sign(args, args.work, zonefile)
            if "change" in phases:
                r["change"] = phase_change(args, servers)
            for srv in servers.values():
                stop(srv.proc, 60)
        if "callgrind" in phases:
            r["callgrind"] = phase_callgrind(args, args.work, data)
    finally:
        stop_all()
    text = report(r, args)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(r, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
