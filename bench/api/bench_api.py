#!/usr/bin/python3
"""Control-plane benchmark (`make bench-api`): ternd's HTTP API against PowerDNS Authoritative 4.7
(gsqlite3 backend, its HTTP API) in the same run, on loopback. Started by bench/api/run.sh, which
makes the work directory and kills whatever this script started if it dies; see bench/api/README.md.

Both servers run for the whole run; in every phase they take turns (one change each, or blocks of
operations), the order alternating, so both see the same disk and the same neighbours:
  served1      change -> served with 1 zone: PATCH one RRset while bench/poll.c asks for it over UDP
               every 1 ms and time-stamps the first answer with the new value
  patch        sequential PATCH throughput: one client, keep-alive, one RRset per PATCH
  zones        sequential zone creations up to --zones zones (zones/s)
  servedN      change -> served again, each change in a random one of those zones
  dur          fsync-family syscalls per PATCH and per zone creation, counted with strace (not timed)
The device's flush latency (pwrite + fdatasync) is sampled at the start and between the blocks.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import random
import select
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time

import dns.message
import dns.rdatatype

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench", "pop"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import devtoken  # noqa: E402
from benchlib import CpuWakeLatency, cpu_idle_policy, free_port, loadavg, machine, pct, stop, ternd_version  # noqa: E402
import dnspoll  # noqa: E402

PDNS_SCHEMA = "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"
NS = "ns1.bench.test."
ZONE = "bench.test."
now = time.perf_counter
now_ns = time.monotonic_ns  # CLOCK_MONOTONIC, the clock of the poller's time stamps


def log(msg):
    print("[bench-api %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes we started

STARTED = []  # Popen objects; run.sh also stops the pids listed in PIDFILE if this script dies
PIDFILE = None
WORK_DIR = "/tmp"


def track(proc, _unused=None):
    STARTED.append(proc)
    with open(PIDFILE, "a") as f:
        f.write("%d\n" % proc.pid)


def stop_all(*_):
    for p in reversed(STARTED):
        stop(p)


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


# ------------------------------------------------------------------ HTTP and DNS clients

class Http:
    """One keep-alive connection; counts how many TCP connections it needed."""

    def __init__(self, port, headers):
        self.port = port
        self.headers = dict(headers)
        self.headers["Content-Type"] = "application/json"
        self.conn = None
        self.connects = 0
        self.requests = 0

    def sock(self):
        if self.conn is None or self.conn.sock is None:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1
        return self.conn.sock

    def send(self, method, path, body=None):
        self.sock()
        data = json.dumps(body).encode() if body is not None else None
        self.requests += 1
        self.conn.request(method, path, body=data, headers=self.headers)

    def receive(self):
        r = self.conn.getresponse()
        data = r.read()
        if r.will_close:
            self.conn.close()
        return r.status, data

    def call(self, method, path, body=None):
        self.send(method, path, body)
        return self.receive()

    def close(self):
        if self.conn:
            self.conn.close()


class Dns:
    def __init__(self, port):
        self.addr = ("127.0.0.1", port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect(self.addr)
        self.qid = random.Random(7).randrange(65536)

    def a_records(self, name, timeout=0.5):
        """The A addresses in the answer for name (a set), or None when no answer came in time."""
        self.qid = (self.qid + 1) & 0xFFFF
        q = dns.message.make_query(name, "A")
        q.id = self.qid
        self.s.send(q.to_wire())
        end = now() + timeout
        while True:
            left = end - now()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            wire = self.s.recv(65535)
            try:
                m = dns.message.from_wire(wire)
            except Exception:
                continue
            if m.id != self.qid:
                continue
            return {r.address for rs in m.answer if rs.rdtype == dns.rdatatype.A for r in rs}


# ------------------------------------------------------------------ the two servers

class Ternd:
    label = "ternd"

    def __init__(self, binary, work):
        self.dir = os.path.join(work, "ternd")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        self.token = devtoken.token(key, "bench", hours=48)
        self.dns_port, self.api_port = free_port(), free_port()
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\n' % self.dns_port)
            f.write("log: {level: warning}\n")
            f.write("api: {listen: 127.0.0.1@%d, data-dir: %s, jwks: %s, nameservers: [%s], rate-limit: 0}\n"
                    % (self.api_port, self.data, jwks, NS))
        self.settings = ("`udp-workers: 1`, `log.level: warning`, `api.rate-limit: 0` (off); store SQLite WAL, "
                         "`synchronous=FULL` (ternd's fixed setting); a tenant token (ES256, not admin)")
        self.log = open(os.path.join(self.dir, "ternd.log"), "w")
        self.proc = subprocess.Popen([binary, "-c", conf], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        track(self.proc)

    def client(self):
        return Http(self.api_port, {"Authorization": "Bearer " + self.token})

    def ready(self, h):
        return h.call("GET", "/healthz")[0] == 200

    def send_create(self, h, zone):
        h.send("POST", "/api/v1/zones", {"name": zone.rstrip(".")})

    def send_replace(self, h, zone, name, addrs, ttl=60):
        h.send("PATCH", "/api/v1/zones/%s/rrsets" % zone.rstrip("."),
               {"rrsets": [{"name": name, "type": "A", "ttl": ttl, "records": list(addrs)}]})

    ok_create = (201,)
    ok_patch = (200,)


class Pdns:
    label = "PowerDNS"

    def __init__(self, work):
        self.dir = os.path.join(work, "pdns")
        os.makedirs(self.dir)
        self.db = os.path.join(self.dir, "pdns.sqlite3")
        with open(PDNS_SCHEMA) as f:
            c = sqlite3.connect(self.db)
            c.executescript(f.read())
            c.commit()
            c.close()
        open(os.path.join(self.dir, "pdns.conf"), "w").close()
        self.key = "bench-%d" % random.SystemRandom().randrange(1 << 60)
        self.dns_port, self.api_port = free_port(), free_port()
        self.caches = os.environ.get("BENCH_API_PDNS_CACHES", "off")
        self.args = [
            "--config-dir=" + self.dir, "--socket-dir=" + self.dir, "--guardian=no", "--daemon=no",
            "--disable-syslog", "--write-pid=no", "--loglevel=4", "--webserver-loglevel=none",
            "--local-address=127.0.0.1", "--local-port=%d" % self.dns_port,
            "--launch=gsqlite3", "--gsqlite3-database=" + self.db,
            "--gsqlite3-pragma-synchronous=FULL",  # journal mode WAL is 4.7's default for gsqlite3
            "--api=yes", "--api-key=" + self.key, "--webserver=yes", "--webserver-address=127.0.0.1",
            "--webserver-port=%d" % self.api_port, "--webserver-allow-from=127.0.0.1/32",
            "--default-soa-content=%s hostmaster.@ 0 10800 3600 604800 3600" % NS,
        ]
        if self.caches == "off":
            self.args += ["--cache-ttl=0", "--negquery-cache-ttl=0", "--query-cache-ttl=0",
                          "--zone-cache-refresh-interval=0"]
        shown = [a for a in self.args if not a.startswith(("--api-key=", "--config-dir=", "--socket-dir=",
                                                           "--gsqlite3-database=", "--local-port=",
                                                           "--webserver-port="))]
        self.settings = "`pdns_server " + " ".join(shlex.quote(a) for a in shown) + "` (other settings at 4.7's defaults, e.g. " \
                        "`distributor-threads=3`, `receiver-threads=1`, `gsqlite3-pragma-journal-mode=WAL`)"
        self.log = open(os.path.join(self.dir, "pdns.log"), "w")
        self.proc = subprocess.Popen(["pdns_server"] + self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        track(self.proc)

    def client(self):
        return Http(self.api_port, {"X-API-Key": self.key})

    def ready(self, h):
        return h.call("GET", "/api/v1/servers/localhost")[0] == 200

    def send_create(self, h, zone):
        h.send("POST", "/api/v1/servers/localhost/zones", {"name": zone, "kind": "Native", "nameservers": [NS]})

    def send_replace(self, h, zone, name, addrs, ttl=60):
        h.send("PATCH", "/api/v1/servers/localhost/zones/%s" % zone,
               {"rrsets": [{"name": name, "type": "A", "ttl": ttl, "changetype": "REPLACE",
                            "records": [{"content": a, "disabled": False} for a in addrs]}]})

    ok_create = (201,)
    ok_patch = (204,)


def wait_ready(srv, timeout=30.0):
    end = now() + timeout
    while now() < end:
        if srv.proc.poll() is not None:
            raise RuntimeError("%s exited with %s (see %s)" % (srv.label, srv.proc.returncode, srv.log.name))
        h = srv.client()
        try:
            if srv.ready(h):
                return
        except OSError:
            pass
        finally:
            h.close()
        time.sleep(0.05)
    raise RuntimeError("%s not ready after %.0f s" % (srv.label, timeout))


def expect(srv, status, body, ok, what):
    if status not in ok:
        raise RuntimeError("%s: %s answered %d: %s" % (srv.label, what, status, body[:300]))


# ------------------------------------------------------------------ measurements

class Side:
    """One server as the client sees it: its keep-alive connection, its UDP socket, the values it
    was given (unique within the run, so an old value is never taken for the new one) and results."""

    def __init__(self, srv):
        self.srv, self.h, self.d = srv, srv.client(), Dns(srv.dns_port)
        self.i = 0
        self.cid = 0  # the poller's change ids
        self.res = {}

    def value(self):
        self.i += 1
        return "10.%d.%d.%d" % ((self.i >> 16) & 255, (self.i >> 8) & 255, self.i & 255)

    def cpu(self):
        """utime + stime of the server process (all its threads), seconds."""
        with open("/proc/%d/stat" % self.srv.proc.pid) as f:
            x = f.read().rsplit(")", 1)[1].split()
        return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


class Flush:
    """The device's flush latency: 4 KiB pwrite + fdatasync in the work directory (the servers' data
    directories are beside it), either over the same block (one data write and the device's cache
    flush: the least any durable write costs) or appended (the inode's size is written too)."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "flush-probe")
        self.buf = os.urandom(4096)
        self.samples = {}  # phase -> [ms]

    def sample(self, phase, n, append=False):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.pwrite(fd, self.buf, 0)
            os.fsync(fd)
            lat = self.samples.setdefault(phase, [])
            for i in range(n):
                t = now()
                os.pwrite(fd, self.buf, 4096 * (i + 1) if append else 0)
                os.fdatasync(fd)
                lat.append((now() - t) * 1e3)
        finally:
            os.close(fd)
            os.unlink(self.path)

    def summary(self, phase):
        lat = self.samples.get(phase, [])
        return {"n": len(lat), "median": statistics.median(lat), "p99": pct(lat, 99)} if lat else None


def one_change(side, poller, zone):
    """Replaces w.<zone> A with a new value. Returns (served, acked): ms from just before the PATCH
    is sent to the first UDP answer carrying the new value, as time-stamped by the poller (bench/
    poll.c, which asks w.<zone> A every poll interval from before the PATCH), and ms to the first
    byte of the HTTP answer."""
    srv, h = side.srv, side.h
    name = "w." + zone
    v = side.value()
    side.cid += 1
    poller.expect(side.cid, v, name)
    t0 = now_ns()
    srv.send_replace(h, zone, name, [v])
    poller.anchor(t0)  # polled 1, 2, 3 ... intervals after the send
    if not select.select([h.conn.sock], [], [], 30)[0]:
        raise RuntimeError("%s: no answer to the PATCH of %s after 30 s" % (srv.label, name))
    t_ack = now_ns()
    status, body = h.receive()
    expect(srv, status, body, srv.ok_patch, "PATCH " + name)
    served, timeouts = poller.wait(side.cid, 15)
    if timeouts:
        raise RuntimeError("%s: the change of %s was not served after 10 s" % (srv.label, name))
    return (served[0][0] - t0) / 1e6, (t_ack - t0) / 1e6


def change_served(sides, zones, count, seed, poll_bin, poll_ms, warmup=5):
    """count rounds; in each, one change on every server, in the same zone (drawn from zones), the
    servers' order alternating from round to round. One poller per server, for this phase only."""
    rng = random.Random(seed)
    got = {s.srv.label: ([], []) for s in sides}
    pollers = {}
    try:
        for s in sides:
            pollers[s.srv.label] = dnspoll.Poller(poll_bin, "w." + ZONE, ["127.0.0.1@%d" % s.srv.dns_port],
                                                  timeout_ms=10000, interval_us=int(poll_ms * 1000), track=track)
        for i in range(warmup + count):
            zone = zones[rng.randrange(len(zones))]
            for s in (sides if i % 2 == 0 else sides[::-1]):
                r = one_change(s, pollers[s.srv.label], zone)
                if i >= warmup:
                    for acc, x in zip(got[s.srv.label], r):
                        acc.append(x)
                time.sleep(0.002)
        for p in pollers.values():
            p.quit()
    finally:
        for p in pollers.values():
            p.kill()
    out = {}
    for label, (served, acked) in got.items():
        out[label] = {"n": count, "served_median": statistics.median(served), "served_p99": pct(served, 99),
                      "served_max": max(served), "ack_median": statistics.median(acked), "ack_p99": pct(acked, 99)}
    return out


def zone_name(i):
    return "z%05d.test." % i


def patch_block(side, n):
    """n sequential PATCHes of one RRset each (t<i mod 100>.bench.test A); their latencies in ms."""
    lat = []
    for _ in range(n):
        j = side.res.setdefault("_patches", 0)
        side.res["_patches"] = j + 1
        t = now()
        side.srv.send_replace(side.h, ZONE, "t%d.%s" % (j % 100, ZONE), [side.value()])
        status, body = side.h.receive()
        lat.append((now() - t) * 1e3)
        expect(side.srv, status, body, side.srv.ok_patch, "PATCH")
    return lat


def create_block(side, n):
    """n sequential zone creations, continuing the numbering; their latencies in ms."""
    lat = []
    for _ in range(n):
        j = side.res.setdefault("_zones", 0)
        side.res["_zones"] = j + 1
        t = now()
        side.srv.send_create(side.h, zone_name(j))
        status, body = side.h.receive()
        lat.append((now() - t) * 1e3)
        expect(side.srv, status, body, side.srv.ok_create, "create " + zone_name(j))
    return lat


def interleaved(sides, flush, phase, block_fn, block, limit, seconds=None):
    """Runs block_fn in blocks of `block` on each server in turn (order alternating), with 10 flush
    samples after each round, until every server has done `limit` operations (or spent `seconds`)."""
    acc = {s.srv.label: {"lat": [], "seconds": 0.0, "cpu": 0.0, "requests": 0, "connects": 0} for s in sides}

    def done(s):
        a = acc[s.srv.label]
        return len(a["lat"]) >= limit or (seconds is not None and a["seconds"] >= seconds)

    rnd = 0
    while not all(done(s) for s in sides):
        for s in (sides if rnd % 2 == 0 else sides[::-1]):
            if done(s):
                continue
            a = acc[s.srv.label]
            r0, c0, cpu0, t0 = s.h.requests, s.h.connects, s.cpu(), now()
            a["lat"] += block_fn(s, min(block, limit - len(a["lat"])))
            a["seconds"] += now() - t0
            a["cpu"] += s.cpu() - cpu0
            a["requests"] += s.h.requests - r0
            a["connects"] += s.h.connects - c0
        flush.sample(phase, 10)
        rnd += 1
    out = {}
    for label, a in acc.items():
        lat, n = a["lat"], len(a["lat"])
        tenth = max(1, n // 10)
        out[label] = {"n": n, "seconds": a["seconds"], "rate": n / a["seconds"],
                      "lat_median": statistics.median(lat), "lat_p99": pct(lat, 99),
                      "rate_first10": tenth / (sum(lat[:tenth]) / 1e3), "rate_last10": tenth / (sum(lat[-tenth:]) / 1e3),
                      "cpu_ms": a["cpu"] * 1e3 / n, "requests": a["requests"], "connects": a["connects"]}
    return out


SYNC_CALLS = "fsync,fdatasync,sync_file_range,syncfs,msync"


def strace_count(side, action):
    """fsync-family syscalls made by every thread of the server while action() runs."""
    srv = side.srv
    out = os.path.join(srv.dir, "strace.txt")
    p = subprocess.Popen(["strace", "-f", "-qq", "-c", "-e", "trace=" + SYNC_CALLS, "-o", out, "-p",
                          str(srv.proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    track(p, None)
    time.sleep(1.0)  # until it is attached to every thread
    try:
        action()
    finally:
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        p.wait(10)
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[-1] in SYNC_CALLS.split(","):
                calls[parts[-1]] = int(parts[3])
    return calls


def durability(side, n_patch=50, n_zones=20):
    """The syscalls that make a write durable, per PATCH and per zone creation (not timed)."""
    patch = strace_count(side, lambda: patch_block(side, n_patch))
    create = strace_count(side, lambda: create_block(side, n_zones))
    return {"patch": patch, "create": create, "per_patch": sum(patch.values()) / n_patch,
            "per_create": sum(create.values()) / n_zones}


def udp_rtt(side, n=200):
    """Median ms of one query/answer of the poll's kind (w.bench.test A) on an idle server."""
    lat = []
    for _ in range(n):
        t = now()
        side.d.a_records("w." + ZONE)
        lat.append((now() - t) * 1e3)
    return statistics.median(lat)


# ------------------------------------------------------------------ report

def fmt(x, digits=2):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return "{:,.0f}".format(x)
    return "{:.{}f}".format(x, digits)


def ratio(a, b):
    return "{:.2f}x".format(a / b) if a and b else "–"


def report(r, args):
    T, P = r["ternd"], r["PowerDNS"]
    nz = "{:,}".format(args.zones)
    rows = []

    def row(what, a, b, target=None):
        rows.append("| %s | %s | %s | %s | %s |" % (what, fmt(a), fmt(b), ratio(a, b), target or ""))

    def met(ok):
        return "**met**" if ok else "**not met**"

    fine = "%g" % args.fine_poll_ms
    for suffix, idle in (("", "CPUs idle as the host sets"), ("_qos", "PM QoS 0"),
                         ("_fine", "polled every %s ms (finer than the issue's grid; no target)" % fine)):
        for key, label in (("served1", "1 zone"), ("servedN", nz + " zones")):
            if key + suffix not in T:
                continue
            t, p = T[key + suffix], P[key + suffix]
            label += ", " + idle
            target = None if suffix == "_fine" else "<= 0.50x: " + met(t["served_p99"] <= 0.5 * p["served_p99"])
            row("change -> served, %s: median ms" % label, t["served_median"], p["served_median"])
            row("change -> served, %s: p99 ms" % label, t["served_p99"], p["served_p99"], target)
            row("&nbsp;&nbsp;API answer to the PATCH: median ms", t["ack_median"], p["ack_median"])
            row("&nbsp;&nbsp;API answer to the PATCH: p99 ms", t["ack_p99"], p["ack_p99"])
    row("&nbsp;&nbsp;UDP round trip of one poll (idle): median ms", T["rtt"], P["rtt"])
    t, p = T["patch"], P["patch"]
    row("sequential PATCH/s (1 RRset each)", t["rate"], p["rate"],
        ">= 3x: " + met(t["rate"] >= 3 * p["rate"]))
    row("&nbsp;&nbsp;PATCH latency: median ms", t["lat_median"], p["lat_median"])
    row("&nbsp;&nbsp;PATCH latency: p99 ms", t["lat_p99"], p["lat_p99"])
    row("&nbsp;&nbsp;server CPU per PATCH, ms (all threads)", t["cpu_ms"], p["cpu_ms"])
    t, p = T["zones"], P["zones"]
    row("sequential zone creations/s (%s zones)" % nz, t["rate"], p["rate"],
        ">= 3x: " + met(t["rate"] >= 3 * p["rate"]))
    row("&nbsp;&nbsp;zones/s over the first tenth", t["rate_first10"], p["rate_first10"])
    row("&nbsp;&nbsp;zones/s over the last tenth", t["rate_last10"], p["rate_last10"])
    row("&nbsp;&nbsp;zone creation latency: median ms", t["lat_median"], p["lat_median"])
    row("&nbsp;&nbsp;server CPU per zone creation, ms", t["cpu_ms"], p["cpu_ms"])
    if "dur" in T:
        for what, key in (("PATCH", "per_patch"), ("zone creation", "per_create")):
            a, b = T["dur"][key], P["dur"][key]
            rows.append("| fsync-family syscalls per %s (strace) | %.2f | %.2f | | durable before the answer: "
                        "%s / %s |" % (what, a, b, "yes" if a >= 1 else "**no**", "yes" if b >= 1 else "**no**"))

    fl = r["flush"]
    fp, fz = fl["patch"]["median"], fl["zones"]["median"]
    lines = ["# `make bench-api`: ternd's control plane against PowerDNS %s" % r["pdns_version"], ""]
    lines.append("%s, %s; ternd %s. %s." % (r["date"], "quick mode (BENCH_API_QUICK=1)" if args.quick else "full run",
                                           r["ternd_version"], r["machine"]))
    lines.append("")
    lines.append("| measure | ternd | PowerDNS | ternd / PowerDNS | target (issue 8) |")
    lines.append("|---|---:|---:|---:|---|")
    lines.extend(rows)
    lines.append("")
    lines.append("**Device flush** (4 KiB pwrite + fdatasync in the work directory, beside both servers' "
                 "databases): at the start, same block overwritten median %.2f ms (p99 %.2f), appended median "
                 "%.2f ms (p99 %.2f); sampled between the blocks of the PATCH run median **%.2f ms** (p99 %.2f, "
                 "%d samples), of the zone run median **%.2f ms** (p99 %.2f). A durable write costs at least one "
                 "flush, so one sequential client cannot go beyond ~%s writes/s (1 / flush median during the "
                 "PATCH run): ternd reached %.0f%% of that, PowerDNS %.0f%%; zones/s: %.0f%% and %.0f%% of ~%s. "
                 "strace shows how many flushes each write costs (row above)."
                 % (fl["start_overwrite"]["median"], fl["start_overwrite"]["p99"], fl["start_append"]["median"],
                    fl["start_append"]["p99"], fp, fl["patch"]["p99"], fl["patch"]["n"], fz, fl["zones"]["p99"],
                    fmt(1e3 / fp), 100 * T["patch"]["rate"] * fp / 1e3, 100 * P["patch"]["rate"] * fp / 1e3,
                    100 * T["zones"]["rate"] * fz / 1e3, 100 * P["zones"]["rate"] * fz / 1e3, fmt(1e3 / fz)))
    lines.append("")
    lines.append("**How**: change -> served over %d changes per server and zone count (plus 5 warm-up changes, after "
                 "%d untimed PATCHes on each server that take both SQLite WALs past their first cycle): "
                 "the clock starts just before the PATCH is sent; a C poller (`bench/poll.c`, one process per "
                 "server, started for the phase) asks `w.<zone> A` over UDP every %s ms from before the PATCH, "
                 "without waiting for answers, and time-stamps (CLOCK_MONOTONIC) the first answer with the new "
                 "value; the poller's grid is anchored at the send (ticks 1, 2, 3 ... intervals after it), "
                 "so a figure is the first tick after the change is served plus one round trip "
                 "(resolution %s ms) and no pause of the Python client enters it; with %s zones "
                 "each change goes to a random one of them. PATCH/s over %d writes or %.0f s per server (ternd "
                 "%d in %.1f s, PowerDNS %d in %.1f s); zones/s over %s creations. The servers take turns in "
                 "blocks of %d operations (changes one by one), the order alternating, so both see the same "
                 "disk and the same neighbours. Keep-alive: ternd opened %d new TCP connection(s) during its %d "
                 "timed PATCHes, PowerDNS %d during %d (its webserver answers `Connection: close` to every request, so its "
                 "figures include one loopback TCP connect per request)."
                 % (args.changes, args.warmup, "%g" % args.poll_ms, "%g" % args.poll_ms, nz, args.writes,
                    args.seconds, T["patch"]["n"], T["patch"]["seconds"], P["patch"]["n"], P["patch"]["seconds"], nz, args.block, T["patch"]["connects"],
                    T["patch"]["requests"], P["patch"]["connects"], P["patch"]["requests"]))
    lines.append("")
    lines.append("**CPU idle** (%s): the change -> served phases run twice, first with idle CPUs left as the host "
                 "sets them, then while the driver holds a PM QoS request of 0 us wake-up latency "
                 "(`/dev/cpu_dma_latency`, as tuned's latency-performance profile does), so idle CPUs poll "
                 "instead of halting%s. On this virtual machine a halt is an exit to the host, and each hand-off "
                 "between threads that finds a CPU halted (the PATCH reaching the server, the flush completing, "
                 "the answer reaching the client) costs wake-up time that belongs to the host, not to the "
                 "server under test; the second figures show the servers without it. Both servers run under "
                 "the same request, in the same rounds."
                 % (r["cpu_idle"], "" if r["qos"] else " (not done in this run: %s)" % r["qos_error"]))
    if "served1_fine" in T:
        lines.append("")
        lines.append("**Finer grid**: with the issue's 1 ms grid (ticks 1, 2, 3 ... ms after the PATCH is sent) a "
                     "figure is the first tick after the change is served plus a round trip, so each server's "
                     "p99 is one of a few values, about 1.1, 2.1 or 3.1 ms here; PowerDNS serves a change in about "
                     "1.7-1.9 ms on this machine (the issue saw ~5 ms), so its p99 falls on the second or third "
                     "tick, and the 0.5x line is met or not by which tick that is. The last phase polls every "
                     "%s ms (%s queries/s to each server, both servers alike) to show the served times without "
                     "that rounding; it is not the issue's measure and carries no target."
                     % (fine, "{:,}".format(int(1000 / args.fine_poll_ms))))
    lines.append("")
    lines.append("**Settings**:")
    lines.append("- ternd: %s." % r["ternd_settings"])
    lines.append("- PowerDNS: %s. Caches: %s." % (r["pdns_settings"], r["pdns_caches"]))
    sched = {"none": "the default policy (SCHED_OTHER, nice 0)", "nice": "nice -10",
             "fifo": "SCHED_FIFO priority 10"}.get(args.sched, args.sched)
    lines.append("- Client: one Python %s process, `http.client` (keep-alive, TCP_NODELAY), and the "
                 "C poller for change -> served (dnspython for the idle round trip). Scheduling of the client, "
                 "the pollers and both servers: %s (BENCH_API_SCHED=%s). Host load "
                 "average at the start %s, at the end %s (other work on the host shows here; the flush "
                 "latency is shared by everything on the disk)."
                 % (platform.python_version(), sched, args.sched, r["load_start"], r["load_end"]))
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--poll", required=True, help="the dnspoll binary (bench/poll.c)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--changes", type=int)
    ap.add_argument("--zones", type=int)
    ap.add_argument("--writes", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--block", type=int)
    ap.add_argument("--poll-ms", type=float, default=1.0)
    ap.add_argument("--fine-poll-ms", type=float, default=0.2,
                    help="change -> served once more (1 zone, idle CPUs as the host sets) at this interval; 0: not")
    ap.add_argument("--warmup", type=int, default=400)
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--sched", default="none")
    args = ap.parse_args()
    q = args.quick
    args.changes = args.changes or (30 if q else 200)
    args.zones = args.zones or (1000 if q else 10000)
    args.writes = args.writes or (500 if q else 2000)
    args.seconds = args.seconds or (3.0 if q else 10.0)
    args.block = args.block or (50 if q else 100)

    global PIDFILE, WORK_DIR
    PIDFILE = os.path.join(args.work, "pids")
    WORK_DIR = args.work
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    r = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(WORK_DIR),
         "load_start": loadavg(), "ternd_version": ternd_version(), "cpu_idle": cpu_idle_policy()}
    r["pdns_version"] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "pdns-server"],
                                       capture_output=True, text=True).stdout.strip()
    flush = Flush(args.work)
    try:
        flush.sample("start_overwrite", 100)
        flush.sample("start_append", 100, append=True)
        servers = [Ternd(args.ternd, args.work), Pdns(args.work)]
        r["ternd_settings"], r["pdns_settings"] = servers[0].settings, servers[1].settings
        r["pdns_caches"] = ("off (packet, query and negative caches 0 s, zone cache off): every answer is read "
                            "from the database, and a change is visible at once" if servers[1].caches == "off"
                            else "4.7's defaults (the API purges the zone's cache entries on a change)")
        for srv in servers:
            wait_ready(srv)
        sides = [Side(srv) for srv in servers]
        for s in sides:
            s.srv.send_create(s.h, ZONE)
            status, body = s.h.receive()
            expect(s.srv, status, body, s.srv.ok_create, "create " + ZONE)
            s.srv.send_replace(s.h, ZONE, "w." + ZONE, ["192.0.2.1"])
            status, body = s.h.receive()
            expect(s.srv, status, body, s.srv.ok_patch, "PATCH w." + ZONE)
            s.res["rtt"] = udp_rtt(s)
        # warm-up, not measured: past the first cycle of both SQLite WAL files (a fresh WAL grows,
        # and each commit then also writes the file's size; a running server reuses it)
        log("warm-up: %d PATCHes each" % args.warmup)
        for s in sides:
            patch_block(s, args.warmup)
        R = {s.srv.label: s.res for s in sides}

        def store(phase, out):
            for label, x in out.items():
                R[label][phase] = x
                log("%s: %s: %s" % (label, phase, json.dumps(x, default=lambda o: round(o, 3))))

        log("change -> served, 1 zone, %d changes each, polls every %s ms" % (args.changes, args.poll_ms))
        store("served1", change_served(sides, [ZONE], args.changes, 1, args.poll, args.poll_ms))
        log("sequential PATCH, %d writes or %.0f s each" % (args.writes, args.seconds))
        store("patch", interleaved(sides, flush, "patch", patch_block, args.block, args.writes, args.seconds))
        log("sequential zone creation, %d zones each" % args.zones)
        store("zones", interleaved(sides, flush, "zones", create_block, args.block, args.zones))
        log("change -> served, %d zones, %d changes each" % (args.zones, args.changes))
        many = [zone_name(i) for i in range(args.zones)]
        store("servedN", change_served(sides, many, args.changes, 2, args.poll, args.poll_ms))
        with CpuWakeLatency(0) as qos:
            r["qos"], r["qos_error"] = qos.held, qos.error
            if qos.held:
                log("change -> served again under PM QoS 0 (CPUs poll when idle)")
                store("served1_qos", change_served(sides, [ZONE], args.changes, 1, args.poll, args.poll_ms))
                store("servedN_qos", change_served(sides, many, args.changes, 2, args.poll, args.poll_ms))
        if args.fine_poll_ms:
            log("change -> served, 1 zone, polls every %s ms" % args.fine_poll_ms)
            store("served1_fine", change_served(sides, [ZONE], args.changes, 1, args.poll, args.fine_poll_ms))
        if not args.no_strace and shutil.which("strace"):
            for s in sides:
                log("%s: fsync-family syscalls per write (strace)" % s.srv.label)
                s.res["dur"] = durability(s)
                log("%s: %s" % (s.srv.label, s.res["dur"]))
        r["load_end"] = loadavg()
        for srv in servers:
            if srv.proc.poll() is not None:
                raise RuntimeError("%s died during the run (see %s)" % (srv.label, srv.log.name))
    finally:
        stop_all()
    r.update(R)
    r["flush"] = {k: flush.summary(k) for k in flush.samples}
    md = report(r, args)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(md)
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(r, f, indent=1, default=str)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
