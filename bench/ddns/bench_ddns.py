#!/usr/bin/python3
"""Dynamic update benchmark (`make bench-ddns`, issue 24): sequential TSIG-signed RFC 2136 updates
from one client, each durable before its answer, to ternd (an API zone, update.acl), Knot DNS (acl
with action: update) and BIND (a dynamic zone, allow-update with the key), the same zone on each,
one server at a time. Measures updates per second (send, wait for the answer, next) and update ->
served p50/p99 (bench/poll.c asks the changed name every 0.1 ms from the moment the update is
sent), and counts the fsync-like calls each server makes per update (strace -c) to show what
"durable" costs each. Started by bench/ddns/run.sh; see bench/README.md.

The client sends pre-built messages (dnspython signs them just before each phase, well inside the
300 s TSIG fudge), so its own cost per update is a send and a receive."""
import argparse
import base64
import datetime
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop"))
import devtoken  # noqa: E402
from benchlib import free_port, loadavg, machine, pct, stop, ternd_version  # noqa: E402
import dnspoll  # noqa: E402

ZONE = "ddns.bench"
KEY = "ddns-key."
SECRET = base64.b64encode(b"the ddns benchmark's shared key!").decode()
now_ns = time.monotonic_ns

STARTED = []


def log(msg):
    print("[bench-ddns %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def spawn(argv, directory, name):
    logf = open(os.path.join(directory, name + ".log"), "w")
    p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    STARTED.append(p)
    with open(os.path.join(os.path.dirname(directory), "pids"), "a") as f:
        f.write("%d\n" % p.pid)
    return p


def on_signal(signum, _frame):
    for p in reversed(STARTED):
        stop(p)
    sys.exit(128 + signum)


def zone_lines(names):
    return ["h%d 300 A 10.%d.%d.%d" % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(names)] + \
        ["www 300 A 192.0.2.1"]


def soa_serial(port):
    try:
        r = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.3)
        return r.answer[0][0].serial if r.rcode() == dns.rcode.NOERROR and r.answer else None
    except Exception:
        return None


def wait_up(srv, timeout=60):
    end = time.time() + timeout
    while soa_serial(srv.port) is None:
        if time.time() > end or srv.proc.poll() is not None:
            raise RuntimeError("%s did not serve the zone (see %s)" % (srv.label, srv.dir))
        time.sleep(0.05)


class Ternd:
    label, key = "ternd", "ternd"

    def __init__(self, binary, work, names):
        self.dir = os.path.join(work, "ternd")
        os.makedirs(os.path.join(self.dir, "data"))
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        token = devtoken.token(key, "bench", hours=48)
        self.port, api_port = free_port(), free_port()
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write('server: {listen: ["127.0.0.1@%d"]}\nlog: {level: warning}\n' % self.port)
            f.write("api: {listen: 127.0.0.1@%d, data-dir: %s, jwks: %s, nameservers: [ns1.%s.], rate-limit: 0, "
                    "serial-policy: increment}\n" % (api_port, os.path.join(self.dir, "data"), jwks, ZONE))
            f.write('keys:\n  - {name: %s, algorithm: hmac-sha256, secret: "%s"}\n' % (KEY, SECRET))
            f.write("update:\n  acl:\n    - key: %s\n      zones: [%s.]\n" % (KEY, ZONE))
        self.proc = spawn([binary, "-c", conf], self.dir, "ternd")
        import http.client
        import json
        end = time.time() + 30
        rrsets = []
        for line in zone_lines(names):
            n, ttl, t, rd = line.split()
            rrsets.append({"name": n, "type": t, "ttl": int(ttl), "records": [rd]})
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
                hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
                c.request("POST", "/api/v1/zones", body=json.dumps({"name": ZONE, "rrsets": rrsets[:1000]}),
                          headers=hdr)
                r = c.getresponse()
                r.read()
                if r.status != 201:
                    raise RuntimeError("ternd: zone creation answered %d" % r.status)
                for i in range(1000, len(rrsets), 1000):
                    c.request("PATCH", "/api/v1/zones/%s/rrsets" % ZONE,
                              body=json.dumps({"rrsets": rrsets[i:i + 1000]}), headers=hdr)
                    r = c.getresponse()
                    r.read()
                c.close()
                break
            except (ConnectionError, OSError):
                if time.time() > end or self.proc.poll() is not None:
                    raise RuntimeError("ternd: the API did not come up (see %s)" % self.dir)
                time.sleep(0.05)
        wait_up(self)


class Knot:
    label, key = "Knot DNS", "knot"

    def __init__(self, work, names):
        self.dir = os.path.join(work, "knot")
        for d in ("run", "storage"):
            os.makedirs(os.path.join(self.dir, d))
        self.port = free_port()
        with open(os.path.join(self.dir, ZONE + ".zone"), "w") as f:
            f.write("$ORIGIN %s.\n@ 3600 SOA ns1 hostmaster 1 3600 600 1209600 60\n@ 3600 NS ns1\n"
                    "ns1 3600 A 192.0.2.53\n" % ZONE)
            f.write("\n".join(zone_lines(names)) + "\n")
        conf = os.path.join(self.dir, "knot.conf")
        with open(conf, "w") as f:
            f.write("""server:
    rundir: "{d}/run"
    listen: 127.0.0.1@{port}
database:
    storage: "{d}/storage"
    journal-db-mode: robust
log:
  - target: stderr
    any: warning
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: update
    key: {key}
    action: update
zone:
  - domain: {zone}.
    file: "{d}/{zone}.zone"
    storage: "{d}/storage"
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: changes
    acl: update
""".format(d=self.dir, port=self.port, key=KEY, secret=SECRET, zone=ZONE))
        self.proc = spawn(["knotd", "-c", conf], self.dir, "knotd")
        wait_up(self)


class Bind:
    label, key = "BIND", "bind"

    def __init__(self, work, names):
        self.dir = os.path.join(work, "bind")
        os.makedirs(self.dir)
        self.port = free_port()
        with open(os.path.join(self.dir, ZONE + ".zone"), "w") as f:
            f.write("$ORIGIN %s.\n$TTL 300\n@ 3600 SOA ns1 hostmaster 1 3600 600 1209600 60\n@ 3600 NS ns1\n"
                    "ns1 3600 A 192.0.2.53\n" % ZONE)
            f.write("\n".join(zone_lines(names)) + "\n")
        conf = os.path.join(self.dir, "named.conf")
        with open(conf, "w") as f:
            f.write("""options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
}};
controls {{ }};
key "{key}" {{ algorithm hmac-sha256; secret "{secret}"; }};
zone "{zone}" {{
    type primary;
    file "{d}/{zone}.zone";
    allow-update {{ key "{key}"; }};
}};
""".format(d=self.dir, port=self.port, key=KEY, secret=SECRET, zone=ZONE))
        self.proc = spawn(["named", "-g", "-c", conf, "-n", str(os.cpu_count() or 2)], self.dir, "named")
        wait_up(self)


def messages(n, first):
    """n signed updates (change ids first..first+n-1), each replacing www A with its own value."""
    ring = dns.tsigkeyring.from_text({KEY: SECRET})
    out = []
    for i in range(first, first + n):
        u = dns.update.UpdateMessage(ZONE + ".", keyring=ring, keyname=KEY, keyalgorithm=dns.tsig.HMAC_SHA256)
        u.delete("www", "A")
        u.add("www", 300, "A", value(i))
        out.append(u.to_wire())
    return out


def value(i):
    return "10.255.%d.%d" % ((i >> 8) & 255, i & 255)


def exchange(sock, wire):
    sock.send(wire)
    while True:
        ans = sock.recv(65535)
        if ans[:2] == wire[:2]:
            return ans[3] & 0x0F


def proc_cpu(pid):
    """utime + stime of a process (all its threads) in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def throughput(srv, n, first):
    msgs = messages(n, first)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", srv.port))
        s.settimeout(10)
        t0 = now_ns()
        for i, w in enumerate(msgs):
            rc = exchange(s, w)
            if rc != dns.rcode.NOERROR:
                raise RuntimeError("%s answered %s to update %d" % (srv.label, dns.rcode.to_text(rc), first + i))
        took = (now_ns() - t0) / 1e9
    r = dns.query.udp(dns.message.make_query("www.%s." % ZONE, "A"), "127.0.0.1", port=srv.port, timeout=3)
    got = [rd.to_text() for rs in r.answer for rd in rs]
    if got != [value(first + n - 1)]:
        raise RuntimeError("%s serves www A %s after the updates, not %s" % (srv.label, got, value(first + n - 1)))
    return n / took


def latency(srv, poll_bin, n, first):
    msgs = messages(n, first)
    poller = dnspoll.Poller(poll_bin, "www.%s." % ZONE, ["127.0.0.1@%d" % srv.port], interval_us=100,
                            timeout_ms=10000)
    acks, served = [], []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", srv.port))
            s.settimeout(10)
            for i, w in enumerate(msgs):
                cid = first + i
                poller.expect(cid, value(cid))
                t0 = now_ns()
                poller.anchor(t0)
                rc = exchange(s, w)
                t1 = now_ns()
                if rc != dns.rcode.NOERROR:
                    raise RuntimeError("%s answered %s to update %d" % (srv.label, dns.rcode.to_text(rc), cid))
                seen, lost = poller.wait(cid, 15)
                if lost:
                    raise RuntimeError("%s never served update %d" % (srv.label, cid))
                acks.append((t1 - t0) / 1e6)
                served.append((seen[0][0] - t0) / 1e6)
                time.sleep(0.005)  # the next update is not sent into the tail of this one's work
    finally:
        stats = poller.quit()
    return acks, served, stats


def syncs(srv, n, first):
    """(fsync-like calls, octets written to files of the server's directory but its log) per update,
    over n updates, from strace attached to every thread of srv."""
    out = os.path.join(srv.dir, "strace.txt")
    argv = ["strace", "-f", "-y", "-o", out, "-e",
            "trace=fsync,fdatasync,msync,sync_file_range,write,pwrite64,writev,pwritev,pwritev2"]
    for tid in os.listdir("/proc/%d/task" % srv.proc.pid):  # -p of the leader alone misses its threads
        argv += ["-p", tid]
    tr = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    try:
        throughput(srv, n, first)
    finally:
        time.sleep(0.3)
        tr.send_signal(signal.SIGINT)
        tr.wait(10)
    calls = written = 0
    with open(out) as f:  # one line a call; "<... resumed>" lines finish one already counted
        for line in f:
            m = re.search(r"(\w+)\(\d+<([^>]*)>", line)
            if not m or "resumed>" in line:
                continue
            call, path = m.groups()
            if not path.startswith(srv.dir) or path.endswith(".log"):
                continue
            if "sync" in call:
                calls += 1
            else:
                r = re.search(r"= (\d+)\s*$", line)
                written += int(r.group(1)) if r else 0
    return calls / n, written / n


def flush_floor(work, n=300):
    """p50 and p99 ms of one 4 KiB write and fdatasync in the work directory: the floor of a durable
    update, whoever makes it."""
    path = os.path.join(work, "floor.bin")
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"x" * 4096
        os.pwrite(fd, block * 16, 0)
        os.fsync(fd)
        for i in range(n):
            t0 = now_ns()
            os.pwrite(fd, block, (i % 16) * 4096)
            os.fdatasync(fd)
            times.append((now_ns() - t0) / 1e6)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times), pct(times, 99)


def fmt(x):
    return "%.2f" % x if x < 10 else "%.1f" % x


def report(r, args):
    rows = r["servers"]
    t = {k: v for k, v in rows.items()}
    lines = ["# Dynamic updates: ternd vs Knot DNS vs BIND (`make bench-ddns`)", "",
             "%s, %s. %s; %s; %s." % (r["date"], r["machine"], r["ternd_version"], r["knot_version"], r["bind_version"]),
             "Load average %s at the start, %s at the end. Scheduling: %s." % (r["load_start"], r["load_end"], args.sched),
             "",
             "One client sends TSIG-signed (hmac-sha256) RFC 2136 updates over UDP, one at a time (the next once the "
             "answer is in), each replacing `www.%s A` in a zone of %d names. Each server answers once the change "
             "is durable: ternd after its SQLite commit (synchronous=FULL), Knot after its journal commit "
             "(journal-db-mode: robust), BIND after writing its journal. *Updates/s*: %d updates back to back, "
             "in %d rounds with the servers in turn (Knot a tenth as many a round), the median round; "
             "*CPU/update*: the server's utime + stime in those rounds, the median round. *Update -> served*: %d updates 5 ms apart, bench/poll.c asking the name every 0.1 ms from the moment "
             "each is sent; *answer* is the update's own round trip. *Syncs/update*: fsync, fdatasync, msync and "
             "sync_file_range calls per update (strace over %d updates)." % (ZONE, args.names, args.updates,
                                                                                 args.rounds, args.latency,
                                                                                 args.sync_updates),
             "",
             "| server | updates/s | rounds | CPU/update ms | answer p50 ms | answer p99 ms | update -> served p50 ms "
             "| update -> served p99 ms | syncs/update | KiB written/update |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for k in ("ternd", "knot", "bind"):
        if k not in t:
            continue
        v = t[k]
        lines.append("| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            v["label"], v["rate"], " ".join("%.0f" % x for x in v.get("rates", [])),
            "%.3f" % v["cpu_ms"] if "cpu_ms" in v else "-", fmt(v["ack_p50"]), fmt(v["ack_p99"]), fmt(v["served_p50"]), fmt(v["served_p99"]),
            "%.1f" % v["syncs"][0] if v.get("syncs") else "-", "%.1f" % (v["syncs"][1] / 1024) if v.get("syncs") else "-"))
    lines.append("")
    if "ternd" in t:
        others = [t[k] for k in ("knot", "bind") if k in t]
        best = max(others, key=lambda v: v["rate"]) if others else None
        if best:
            ratio = t["ternd"]["rate"] / best["rate"]
            lines.append("Throughput: ternd %.0f updates/s is %.2fx the better of the others (%s, %.0f/s); target "
                         ">= 2x: %s." % (t["ternd"]["rate"], ratio, best["label"], best["rate"],
                                         "met" if ratio >= 2 else "NOT met"))
            if "cpu_ms" in t["ternd"] and "cpu_ms" in best:
                lines.append("CPU per update (the median round): ternd %.3f ms, %s %.3f ms (%.2fx); on a machine "
                             "shared with other work the updates/s of one round move with it, the CPU much less." % (
                                 t["ternd"]["cpu_ms"], best["label"], best["cpu_ms"],
                                 t["ternd"]["cpu_ms"] / best["cpu_ms"] if best["cpu_ms"] else 0))
        if "knot" in t:
            q = t["ternd"]["served_p99"] / t["knot"]["served_p99"]
            lines.append("Update -> served p99: ternd %s ms is %.2fx Knot's %s ms; target <= 0.5x: %s." % (
                fmt(t["ternd"]["served_p99"]), q, fmt(t["knot"]["served_p99"]), "met" if q <= 0.5 else "NOT met"))
    if all(k in t and t[k].get("syncs") for k in ("ternd", "bind")):
        lines.append("Per durable update ternd flushes %.1f KiB with %.1f fdatasync (SQLite WAL frames: the RRset "
                     "row, the zone row with its serial, the journal entry and their index pages), BIND %.1f KiB "
                     "(a journal record) with %.1f fsync%s: with one client waiting for each answer, the pace is "
                     "that of the flush, and the octets flushed decide it." % (
                         t["ternd"]["syncs"][1] / 1024, t["ternd"]["syncs"][0], t["bind"]["syncs"][1] / 1024,
                         t["bind"]["syncs"][0], (", Knot %.1f KiB with %.1f" % (t["knot"]["syncs"][1] / 1024,
                                                                                t["knot"]["syncs"][0]))
                         if "knot" in t and t["knot"].get("syncs") else ""))
    if "ternd" in t and t["ternd"].get("syncs") and t["ternd"]["syncs"][0] > 1.5:
        lines.append("ternd flushes more than once per update: once the WAL holds 1,000 pages its checkpoint thread "
                     "(PASSIVE, woken by the WAL hook after a commit) never catches up with a stream of commits, so "
                     "the WAL never starts over and nearly every commit wakes another checkpoint, a flush of the WAL "
                     "and one of the database (strace: 1.0 fdatasync per update over the first 150 updates, 2.5 "
                     "after). A checkpoint that lets the WAL restart (RESTART when it passes a bound, or the writer "
                     "checkpointing between groups) would bring it back to one flush and ~23 KiB per update.")
    f50, f99 = r["floor"]
    lines += ["", "The floor: one 4 KiB write and fdatasync in the work directory takes %s ms (p50), %s ms (p99) "
              "here, so a client that waits for each durable update gets at most about %.0f a second from any "
              "server that flushes once per update." % (fmt(f50), fmt(f99), 1000.0 / f50)]
    lines += ["", "Poller: %s." % r["poll_stats"], ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--poll", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--updates", type=int, default=2000)
    ap.add_argument("--latency", type=int, default=300)
    ap.add_argument("--sync-updates", type=int, default=200)
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--servers", default="ternd,knot,bind")
    ap.add_argument("--rounds", type=int, default=5, help="throughput rounds, the servers in turn")
    ap.add_argument("--sched", default="none")
    args = ap.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    kv = subprocess.run(["knotd", "-V"], capture_output=True, text=True).stdout.strip().split()[-1]
    bv = subprocess.run(["named", "-v"], capture_output=True, text=True).stdout.strip().split()[1]
    r = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
         "machine": machine(args.work), "load_start": loadavg(), "ternd_version": ternd_version(),
         "knot_version": "Knot DNS " + kv, "bind_version": "BIND " + bv, "servers": {}}
    polls = []
    r["floor"] = flush_floor(args.work)
    log("floor: 4 KiB write + fdatasync p50 %.2f ms, p99 %.2f ms" % r["floor"])
    servers = {}
    try:
        for key in args.servers.split(","):
            log("%s: starting" % key)
            servers[key] = {"ternd": lambda: Ternd(args.ternd, args.work, args.names),
                            "knot": lambda: Knot(args.work, args.names),
                            "bind": lambda: Bind(args.work, args.names)}[key]()
        first = {key: 1 for key in servers}
        for key, srv in servers.items():
            throughput(srv, 50, first[key])  # warm-up
            first[key] += 50
        # updates/s in rounds, the servers in turn, so that a busy spell of the machine falls on
        # each of them alike; the median round is the figure (Knot, some twenty times slower, sends
        # a tenth as many a round)
        rates = {key: [] for key in servers}
        cpu = {key: [] for key in servers}
        for rnd in range(args.rounds):
            for key, srv in servers.items():
                n = args.updates // 10 if key == "knot" else args.updates
                c0 = proc_cpu(srv.proc.pid)
                rates[key].append(throughput(srv, n, first[key]))
                cpu[key].append((proc_cpu(srv.proc.pid) - c0) / n * 1e3)
                first[key] += n
                log("%s round %d: %.0f updates/s, %.3f ms CPU an update" % (key, rnd, rates[key][-1], cpu[key][-1]))
        for key, srv in servers.items():
            acks, served, stats = latency(srv, args.poll, args.latency, first[key])
            first[key] += args.latency
            polls.append("%s %s" % (key, ", ".join("%d/%d answered" % (v["answers"], v["sent"])
                                                   for _, v in sorted(stats.items()))))
            per = syncs(srv, args.sync_updates, first[key]) if args.sync_updates else None
            first[key] += args.sync_updates
            r["servers"][key] = {"label": srv.label, "rate": statistics.median(rates[key]), "rates": rates[key],
                                 "cpu_ms": statistics.median(cpu[key]), "ack_p50": statistics.median(acks),
                                 "ack_p99": pct(acks, 99), "served_p50": statistics.median(served),
                                 "served_p99": pct(served, 99), "syncs": per}
            log("%s: %s" % (key, r["servers"][key]))
            if srv.proc.poll() is not None:
                raise RuntimeError("%s died during the run (see %s)" % (srv.label, srv.dir))
    finally:
        for srv in servers.values():
            stop(srv.proc)
    r["load_end"] = loadavg()
    r["poll_stats"] = "; ".join(polls)
    md = report(r, args)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
