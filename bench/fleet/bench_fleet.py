#!/usr/bin/python3
"""A fleet of PoPs (`make bench-fleet`, issue 18): a ternd primary with N API zones in its catalog
and P PoPs consuming the catalog, each in its own network namespace joined to the primary's by a
veth on one bridge (or, where namespaces cannot be made, each on its own 127.0.1.x address).

  phase 1  P empty PoPs started together: time until every PoP serves every zone;
  phase 2  a burst of C API changes (PUT www A) to random zones, from --senders API clients: per change, the
           time from the write until every PoP serves it (median, p99, the last), and the primary's
           CPU per change served to P PoPs;
  frozen   the same burst with one PoP stopped (SIGSTOP): the others' times beside phase 2's, and
           the frozen one's catch-up after SIGCONT.

The same with Knot PoPs (catalog-role interpret) in the same namespaces, from the same primary; then
memory (PSS) per secondary zone: a ternd PoP, a Knot PoP, and NSD (4.6 cannot consume a catalog:
its zones are listed in its configuration as plain secondaries). Started by bench/fleet/run.sh,
which makes the work directory, builds the poller (soawait.c) and cleans up if this dies.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import select
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import devtoken  # noqa: E402
import procs  # noqa: E402
from benchlib import free_port, loadavg, machine, pct, stop, ternd_version  # noqa: E402

CAT = "catalog.fleet."
now_ns = time.monotonic_ns
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[bench-fleet %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


STARTED = []
WORKERS = None  # the ternd PoPs' transfer.refresh-workers (None: ternd's default)
PIDFILE = None
APIBURST = None  # apiburst.c: the burst's API clients
LOGSTAMP = None  # logstamp.c: a PoP's log lines time-stamped as they come (None: logs to a file as is)


def spawn(argv, directory, name, netns=None, env=None, stamped=False):
    """The server's output to NAME.log; stamped (and LOGSTAMP): through logstamp, each line after the
    CLOCK_MONOTONIC ns at which it came (p.stamped names that file)."""
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv  # ip execs the server: the pid is the server's
    path = os.path.join(directory, name + ".log")
    stamper = None
    if stamped and LOGSTAMP:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                             env=dict(os.environ, **env) if env else None)
        stamper = subprocess.Popen([LOGSTAMP, path], stdin=p.stdout)
        p.stdout.close()
        p.stamped = path
        p.stamper = stamper
    else:
        with open(path, "w") as logf:
            p = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                 env=dict(os.environ, **env) if env else None)
        p.stamped = None
        p.stamper = None
    STARTED.append(p)
    with open(PIDFILE, "a") as f:
        f.write("%d\n" % p.pid)
        if stamper:
            f.write("%d\n" % stamper.pid)
    return p


# A PoP's own word that it serves a zone at a serial, as each logs it once the new version is
# published: ternd (xfrin_refresh.c) and Knot 3.2 (refresh.c, "zone updated").
SERVED_LINE = {
    "ternd": re.compile(r"zone (\S+?)\.?: (?:IXFR from \S+: serial \d+ -> (\d+)|transferred serial (\d+) )"),
    "knot": re.compile(r"\[(\S+?)\.?\] refresh, remote .*?, zone updated, .*?serial \S+ -> (\d+)"),
}


def served_log(kind, p, since_ns=0):
    """{zone: [(ns, serial)]} from a PoP's stamped log, lines from since_ns on, in the order logged."""
    out = {}
    rx = SERVED_LINE[kind]
    with open(p.stamped, errors="replace") as f:
        for line in f:
            stamp, _, text = line.partition(" ")
            if not stamp.isdigit() or int(stamp) < since_ns:
                continue
            m = rx.search(text)
            if m:
                serial = next(g for g in m.groups()[1:] if g)
                out.setdefault(m.group(1), []).append((int(stamp), int(serial)))
    return out


def served_at(entries, serial):
    """The first time in entries [(ns, serial)] at which serial or a later one was served (None)."""
    for t, s in entries or ():
        if s >= serial:
            return t
    return None


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def zone_name(i):
    return "z%05d.fleet.test" % i


def cpu_s(proc):
    return procs.cpu(proc.pid) / TICK


def pops_threads(pops):
    """CPU ticks by thread name, summed over the PoPs still running."""
    out = {}
    for p in pops:
        if p.poll() is None:
            try:
                for name, ticks in procs.threads(p.pid).items():
                    out[name] = out.get(name, 0) + ticks
            except OSError:
                pass
    return out


def procs_thread_stats(ps):
    """{thread name: [CPU ns, context switches, of them involuntary]} summed over the processes
    still running."""
    out = {}
    for p in ps:
        if p.poll() is None:
            try:
                for name, (ns, sw, pre) in procs.thread_stats(p.pid).items():
                    v = out.setdefault(name, [0, 0, 0])
                    v[0] += ns
                    v[1] += sw
                    v[2] += pre
            except OSError:
                pass
    return out


def stats_delta(a, b):
    return {k: [x - y for x, y in zip(b[k], a.get(k, [0, 0, 0]))] for k in b}


def pss_kb(proc):
    return procs.mem(proc.pid)["pss_kb"]


# ------------------------------------------------------------------ the network

class Net:
    """P places for PoPs: network namespaces on a bridge (10.18.0.1 the primary's side, 10.18.1.i
    the PoPs), or 127.0.1.i in this namespace when namespaces cannot be made."""

    def __init__(self, pops, tag, net="10.18"):
        self.tag, self.n, self.netns, self.net = tag, pops, [], net
        self.bridge = "tf%sbr" % tag
        try:
            self._run("ip", "link", "add", self.bridge, "type", "bridge")
            self._run("ip", "addr", "add", "%s.0.1/16" % net, "dev", self.bridge)
            self._run("ip", "link", "set", self.bridge, "up")
            for i in range(pops):
                ns, host, peer = "tf%s-%d" % (tag, i), "tf%sv%d" % (tag, i), "tf%sp%d" % (tag, i)
                self._run("ip", "netns", "add", ns)
                self.netns.append(ns)
                self._run("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
                self._run("ip", "link", "set", peer, "netns", ns)
                self._run("ip", "link", "set", host, "master", self.bridge)
                self._run("ip", "link", "set", host, "up")
                self._run("ip", "netns", "exec", ns, "ip", "addr", "add", "%s.1.%d/16" % (net, i + 1), "dev", peer)
                self._run("ip", "netns", "exec", ns, "ip", "link", "set", peer, "up")
                self._run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            self.mode = "netns"
            self.primary_addr = "%s.0.1" % net
            self.addrs = ["%s.1.%d" % (net, i + 1) for i in range(pops)]
            self.port = 53
        except (subprocess.CalledProcessError, OSError) as e:
            log("network namespaces cannot be made (%s): PoPs on 127.0.1.x instead" % e)
            self.close()
            self.netns = []
            self.mode = "loopback"
            self.primary_addr = "127.0.0.1"
            self.addrs = ["127.0.1.%d" % (i + 1) for i in range(pops)]
            self.port = free_port()

    @staticmethod
    def _run(*argv):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)

    def ns(self, i):
        return self.netns[i] if self.netns else None

    def close(self):
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


# ------------------------------------------------------------------ the primary

class Primary:
    """ternd with the API (serial-policy increment), a catalog, transfers to the PoPs' network and
    NOTIFY to every PoP address."""

    def __init__(self, binary, work, net):
        self.dir = os.path.join(work, "primary")
        os.makedirs(os.path.join(self.dir, "data"))
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        self.token = devtoken.token(key, "bench", hours=48)
        self.port, self.api_port = free_port(), free_port()
        self.addr = net.primary_addr
        listen = ['"127.0.0.1@%d"' % self.port]
        if self.addr != "127.0.0.1":
            listen.append('"%s@%d"' % (self.addr, self.port))
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write('server: {listen: [%s]}\nlog: {level: warning}\n' % ", ".join(listen))
            f.write("api: {listen: 127.0.0.1@%d, data-dir: %s, jwks: %s, nameservers: [ns1.fleet.test., "
                    "ns2.fleet.test.], rate-limit: 0, serial-policy: increment}\n" % (
                        self.api_port, os.path.join(self.dir, "data"), jwks))
            f.write("catalog: {zone: %s}\n" % CAT)
            f.write("transfer:\n  allow: [127.0.0.0/8, %s.0.0/16]\n  notify: [%s]\n" % (net.net, ", ".join(
                '"%s@%d"' % (a, net.port) for a in net.addrs)))
        self.proc = spawn([binary, "-c", conf], self.dir, "ternd")
        self.local = threading.local()
        end = time.time() + 30
        while True:
            try:
                self.request("GET", "/healthz")
                break
            except OSError:
                self.local.conn = None
                if time.time() > end or self.proc.poll() is not None:
                    raise RuntimeError("the primary's API did not come up (see %s)" % self.dir)
                time.sleep(0.05)

    def request(self, method, path, body=None):
        """One API request on this thread's keep-alive connection, opened again once when the
        server closed it while idle (between phases)."""
        for attempt in range(2):
            try:
                return self._request(method, path, body)
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                conn = getattr(self.local, "conn", None)
                if conn is not None:
                    conn.close()
                self.local.conn = None
                if attempt:
                    raise
        return None

    def _request(self, method, path, body=None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=60)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.local.conn = conn
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        if r.will_close:
            conn.close()
            self.local.conn = None
        if r.status >= 300:
            raise RuntimeError("%s %s answered %d: %s" % (method, path, r.status, data[:300]))
        return json.loads(data) if data else None

    def create(self, names, threads=3):
        """Every zone through the API (a few connections at once); returns {name: serial}."""
        serials = {}
        todo = list(names)
        lock = threading.Lock()

        def work():
            self.local.conn = None
            while True:
                with lock:
                    if not todo:
                        return
                    name = todo.pop()
                r = self.request("POST", "/api/v1/zones", {"name": name, "rrsets": [
                    {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
                    {"name": "@", "type": "A", "ttl": 300, "records": ["192.0.2.2"]},
                    {"name": "mail", "type": "A", "ttl": 300, "records": ["192.0.2.3"]}]})
                with lock:
                    serials[name] = r["serial"]

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if len(serials) != len(names):
            raise RuntimeError("only %d of %d zones were created" % (len(serials), len(names)))
        return serials



# ------------------------------------------------------------------ PoPs

def ternd_pop(binary, work, net, i, primary):
    d = os.path.join(work, "ternd-pop%d" % i)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "ternd.yaml")
    with open(conf, "w") as f:
        # info: the PoP logs each zone served at a serial (the finer measure beside the poller)
        f.write('server: {listen: ["%s@%d"], udp-workers: 1}\nlog: {level: %s}\n' % (
            net.addrs[i], net.port, "info" if LOGSTAMP else "warning"))
        f.write('zones:\n  - name: "%s"\n    primary: ["%s@%d"]\n    catalog: true\n' % (
            CAT, primary.addr, primary.port))
        if WORKERS:
            f.write("transfer: {refresh-workers: %d}\n" % WORKERS)
    # the PoP's own word: READY=1 on a socket of ours (systemd's protocol) once it serves every
    # member of the catalog; a path, since an abstract name is per network namespace
    env = {"NOTIFY_SOCKET": READY.socket_for(i, d)} if READY else None
    return spawn([binary, "-c", conf], d, "ternd", net.ns(i), env, stamped=True)


class ReadyWatch:
    """One datagram socket per ternd PoP standing for systemd's: the CLOCK_MONOTONIC ns at which
    READY=1 came from each (a thread reads them all)."""

    def __init__(self):
        self.socks, self.ready, self.lock = {}, {}, threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.stop = False

    def socket_for(self, i, d):
        path = os.path.join(d, "notify.sock")
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        with self.lock:
            self.socks[i] = s
            self.ready.pop(i, None)
        if not self.thread.is_alive():
            self.thread.start()
        return path

    def run(self):
        while not self.stop:
            with self.lock:
                socks = dict(self.socks)
            r, _w, _x = select.select(list(socks.values()), [], [], 0.05) if socks else ([], [], [])
            for s in r:
                data = s.recv(4096)
                t = now_ns()
                i = [k for k, v in socks.items() if v is s][0]
                if b"READY=1" in data.split(b"\n"):
                    with self.lock:
                        self.ready.setdefault(i, t)

    def times(self):
        with self.lock:
            return dict(self.ready)


READY = None


KNOT_CONF = """server:
    rundir: "{dir}/run"
    listen: {addr}@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 2
database:
    storage: "{dir}/storage"
    journal-db-max-size: 4G
    catalog-db-max-size: 1G
control:
    listen: "{dir}/run/knot.sock"
log:
  - target: stderr
    any: {level}
remote:
  - id: primary
    address: {paddr}@{pport}
acl:
  - id: from_primary
    address: {paddr}
    action: notify
template:
  - id: default
    storage: "{dir}/storage"
    zonefile-sync: -1
    journal-content: changes
  - id: member
    master: primary
    acl: from_primary
    storage: "{dir}/storage"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: {cat}
    master: primary
    acl: from_primary
    catalog-role: interpret
    catalog-template: member
"""


def knot_pop(work, net, i, primary):
    d = os.path.join(work, "knot-pop%d" % i)
    for sub in ("run", "storage"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(KNOT_CONF.format(dir=d, addr=net.addrs[i], port=net.port, paddr=primary.addr,
                                 pport=primary.port, cat=CAT, level="info" if LOGSTAMP else "warning"))
    return spawn([shutil.which("knotd") or "/usr/sbin/knotd", "-c", conf], d, "knotd", net.ns(i), stamped=True)


# ------------------------------------------------------------------ waiting for answers

class Waiter:
    """soawait (soawait.c) in this namespace: want() pairs, collect() their times."""

    def __init__(self, binary, qps):
        self.p = subprocess.Popen([binary, "-w", "1024", "-r", "5", "-q", str(qps)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        self.times, self.lock = {}, threading.Lock()
        self.order = []  # keys in the order served: wait() reads only what is new since its last look
        self.counts, self.counted = None, threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.next_id = 0
        self.keys = {}

    def _read(self):
        for line in self.p.stdout:
            f = line.split()
            if f and f[0] == "served":
                with self.lock:
                    key = self.keys[int(f[1])]
                    self.times[key] = int(f[2])
                    self.order.append(key)
            elif f and f[0] == "stats":
                self.counts = dict(kv.split("=") for kv in f[1:])
                self.counted.set()

    def sent(self):
        """Queries sent so far."""
        self.counted.clear()
        self.p.stdin.write("stats\n")
        self.p.stdin.flush()
        if not self.counted.wait(10):
            raise RuntimeError("soawait does not answer")
        return int(self.counts["sent"])

    def want(self, pairs):
        """pairs: [(key, addr, port, zone, serial)]."""
        lines = []
        with self.lock:
            for key, addr, port, zone, serial in pairs:
                self.keys[self.next_id] = key
                lines.append("want %d %s %d %s %d\n" % (self.next_id, addr, port, zone, serial))
                self.next_id += 1
        self.p.stdin.write("".join(lines))
        self.p.stdin.flush()

    def wait(self, keys, timeout, progress=None):
        """{key: ns} once every key is served, or what there is after timeout (seconds)."""
        keys = list(keys)
        pending, seen = set(keys), 0
        end = time.time() + timeout
        last_log = time.time()
        while True:
            with self.lock:
                new, seen = self.order[seen:], len(self.order)
            pending.difference_update(new)  # cheap: only what was served since the last look
            if not pending or time.time() > end:
                with self.lock:
                    got = {k: self.times[k] for k in keys if k in self.times}
                return got, [k for k in keys if k not in got]
            if progress and time.time() - last_log > 10:
                log("%s: %d of %d served" % (progress, len(keys) - len(pending), len(keys)))
                last_log = time.time()
            time.sleep(0.005)

    def close(self):
        self.p.stdin.close()
        self.p.kill()
        self.p.wait()


# ------------------------------------------------------------------ one fleet

def machine_cpu(primary, pops, waiter):
    """CPU seconds so far of the primary, all PoPs, the poller, this driver (the burst's sender, the
    poller's feed), the PoPs' log stampers, and the poller's queries."""
    return {"primary": cpu_s(primary.proc), "pops": sum(cpu_s(p) for p in pops if p.poll() is None),
            "poller": cpu_s(waiter.p), "driver": time.process_time(),
            "stampers": sum(cpu_s(p.stamper) for p in pops if p.stamper and p.stamper.poll() is None),
            "polls": waiter.sent(), "t": now_ns() / 1e9}


def cpu_since(before, primary, pops, waiter):
    after = machine_cpu(primary, pops, waiter)
    return {k: after[k] - before[k] for k in after}


def send_burst(primary, zones, senders, on_sent):
    """Change c is PUT www A to zones[c], taken in order by `senders` concurrent API clients (each
    its own keep-alive connection: apiburst.c, so that no interpreter shares the cores with the
    servers measured); on_sent(c, zone, serial) as each is answered. Returns [(c, zone, serial, ns
    before its request)] in the order of c."""
    token = os.path.join(primary.dir, "token")
    with open(token, "w") as f:
        f.write(primary.token)
    p = subprocess.Popen([APIBURST, "-p", str(primary.api_port), "-t", token, "-c", str(max(1, senders))],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    feed = "".join("%d %s 198.51.%d.%d\n" % (c, zone, c // 250 % 250, c % 250 + 1) for c, zone in enumerate(zones))
    threading.Thread(target=lambda: (p.stdin.write(feed), p.stdin.close()), daemon=True).start()
    sent, done = [], False
    for line in p.stdout:
        f = line.split()
        if f == ["done"]:
            done = True
        elif len(f) == 4 and f[0] == "answered":
            c, serial, at = int(f[1]), int(f[2]), int(f[3])
            sent.append((c, zones[c], serial, at))
            on_sent(c, zones[c], serial)
    if p.wait() != 0 or not done or len(sent) != len(zones):
        raise RuntimeError("the burst's sender failed (%d of %d changes answered; see its message above)" % (
            len(sent), len(zones)))
    return sorted(sent)


def run_fleet(kind, args, net, primary, names, serials, waiter, start_pop):
    """Phase 1, the burst and the frozen burst for one kind of PoP; returns the figures."""
    res = {"kind": kind, "pops": args.pops, "machine": {}}
    n = args.pops
    t0 = now_ns()
    m0 = machine_cpu(primary, [], waiter)
    pops = [start_pop(i) for i in range(n)]
    keys = [(kind, "p1", i, z) for i in range(n) for z in names]
    waiter.want([(k, net.addrs[k[2]], net.port, k[3], 1) for k in keys])
    got, missing = waiter.wait(keys, args.timeout, progress="%s phase 1" % kind)
    per_pop = [max(got.get((kind, "p1", i, z), 0) for z in names) - t0 for i in range(n)]
    res["phase1_s"] = max(per_pop) / 1e9 if not missing else None
    res["phase1_pop_median_s"] = statistics.median(per_pop) / 1e9
    if kind == "ternd" and READY:  # finer than the poller: each PoP's READY=1
        said = READY.times()
        if len(said) == n:
            per = sorted((said[i] - t0) / 1e9 for i in range(n))
            res["phase1_ready_s"] = per[-1]
            res["phase1_ready_median_s"] = statistics.median(per)
    if LOGSTAMP:  # finer than the poller, and alike for both kinds: each PoP's log of what it serves
        per, lag = [], []
        for i, p in enumerate(pops):
            log_i = served_log(kind, p, t0)
            firsts = [log_i[z][0][0] if z in log_i else None for z in names]
            if None in firsts:
                per = None
                log("%s: PoP %d's log names %d of %d zones served" % (
                    kind, i, len(firsts) - firsts.count(None), len(names)))
                break
            per.append((max(firsts) - t0) / 1e9)
            lag += [got[(kind, "p1", i, z)] - f for z, f in zip(names, firsts) if (kind, "p1", i, z) in got]
        if per:
            res["phase1_log_s"] = max(per)
            res["phase1_log_median_s"] = statistics.median(per)
        res["phase1_log_poller_lag_ms"] = statistics.median(lag) / 1e6 if lag else None
        res["phase1_log_after_answer"] = sum(1 for x in lag if x < -1e6)
    res["phase1_served"] = len(got)
    res["phase1_missing"] = len(missing)
    res["machine"]["phase1"] = cpu_since(m0, primary, pops, waiter)  # PoPs from 0: started here
    res["phase1_primary_cpu_s"] = res["machine"]["phase1"]["primary"]
    time.sleep(1.0)
    res["pss_kb"] = [pss_kb(p) for p in pops]
    res["cpu_s"] = [cpu_s(p) for p in pops]
    log("%s: phase 1: %s s (%d of %d pairs), primary CPU %.1f s; PoP PSS median %.0f MiB" % (
        kind, res["phase1_s"], len(got), len(keys), res["phase1_primary_cpu_s"],
        statistics.median(res["pss_kb"]) / 1024))
    if missing:
        log("%s: %d pairs never served, e.g. %s" % (kind, len(missing), missing[:3]))
    time.sleep(args.settle)  # disk copies and catalogs settle before the burst
    for label, frozen in (("burst", None), ("frozen", n - 1)):
        rng = random.Random(18 if label == "burst" else 19)
        if frozen is not None:
            os.kill(pops[frozen].pid, signal.SIGSTOP)
        running = [i for i in range(n) if i != frozen]
        m0 = machine_cpu(primary, pops, waiter)
        th0 = pops_threads(pops)
        pt0 = pops_threads([primary.proc])
        ts0, tp0 = procs_thread_stats(pops), procs_thread_stats([primary.proc])
        sent = send_burst(primary, [names[rng.randrange(len(names))] for _ in range(args.changes)],
                          args.senders,
                          lambda c, zone, serial: waiter.want(
                              [((kind, label, c, i), net.addrs[i], net.port, zone, serial) for i in running]))
        burst_end = now_ns()
        keys = [(kind, label, c, i) for c, _z, _s, _a in sent for i in running]
        got, missing = waiter.wait(keys, args.timeout, progress="%s %s" % (kind, label))
        res["machine"][label] = cpu_since(m0, primary, pops, waiter)
        th1 = pops_threads(pops)
        res.setdefault("threads", {})[label] = {k: (th1[k] - th0.get(k, 0)) / TICK for k in th1}
        pt1 = pops_threads([primary.proc])
        res.setdefault("thread_stats", {})[label] = {
            "pops": stats_delta(ts0, procs_thread_stats(pops)),
            "primary": stats_delta(tp0, procs_thread_stats([primary.proc]))}
        res.setdefault("primary_threads", {})[label] = {k: (pt1[k] - pt0.get(k, 0)) / TICK for k in pt1}
        cpu = res["machine"][label]["primary"]
        per_change = [(max(got.get((kind, label, c, i), 1 << 62) for i in running) - at) / 1e9
                      for c, _z, _s, at in sent]
        last = max(got.values()) if got else burst_end
        first = min(at for _c, _z, _s, at in sent)
        r = {"changes": args.changes, "send_s": (burst_end - first) / 1e9, "missing": len(missing),
             "median_s": statistics.median(per_change), "p99_s": pct(per_change, 99),
             "max_s": max(per_change), "last_after_start_s": (last - first) / 1e9, "senders": args.senders,
             "last_after_burst_s": (last - burst_end) / 1e9, "primary_cpu_s": cpu,
             "primary_cpu_ms_per_change": cpu / args.changes * 1000}
        if LOGSTAMP:
            logs = {i: served_log(kind, pops[i], first) for i in running}
            r.update(by_logs(logs, running, sent, first, r["send_s"]))
            lag = []
            for c, zone, serial, at in sent:
                lag += [got[(kind, label, c, i)] - served_at(logs[i].get(zone), serial) for i in running
                        if served_at(logs[i].get(zone), serial) is not None and (kind, label, c, i) in got]
            r["log_poller_lag_ms"] = statistics.median(lag) / 1e6 if lag else None
            r["log_after_answer"] = sum(1 for x in lag if x < -1e6)
        if frozen is not None:
            t = now_ns()
            os.kill(pops[frozen].pid, signal.SIGCONT)
            latest = {}
            for c, zone, serial, _at in sent:
                latest[zone] = serial
            fkeys = [(kind, "thaw", z) for z in latest]
            waiter.want([(k, net.addrs[frozen], net.port, k[2], latest[k[2]]) for k in fkeys])
            fgot, fmissing = waiter.wait(fkeys, args.thaw_timeout, progress="%s thaw" % kind)
            r["thaw_s"] = (max(fgot.values()) - t) / 1e9 if fgot and not fmissing else None
            r["thaw_missing"] = len(fmissing)
        res[label] = r
        log("%s %s: %d changes sent in %.2f s; per change median %.0f ms, p99 %.0f ms, max %.0f ms; "
            "last %.2f s after the first write; primary %.2f ms CPU per change%s" % (
                kind, label, args.changes, r["send_s"], r["median_s"] * 1000, r["p99_s"] * 1000,
                r["max_s"] * 1000, r["last_after_start_s"], r["primary_cpu_ms_per_change"],
                "" if frozen is None else "; frozen PoP caught up %.2f s after SIGCONT" % (r["thaw_s"] or -1)))
        time.sleep(args.settle)
    if LOGSTAMP and args.quiet:
        runs = [quiet_burst(kind, args, primary, names, pops, q) for q in range(args.quiet)]
        res["quiet_runs"] = runs
        res["quiet"] = {key: statistics.median(r[key] for r in runs) for key in runs[0]
                        if all(r.get(key) is not None for r in runs)}
    for p in pops:
        stop(p)
    return res


def by_logs(logs, running, sent, first, send_s):
    """From the PoPs' logs ({PoP: served_log()}), per change (c, zone, serial, ns of its request)
    the time until the last running PoP says it serves it: {median, p99, last from the first write,
    from the last write, how many changes are not in every log}."""
    by_log = []
    for _c, zone, serial, at in sent:
        ts = [served_at(logs[i].get(zone), serial) for i in running]
        by_log.append(None if None in ts else (max(ts) - at) / 1e9)
    done = [x for x in by_log if x is not None]
    r = {"log_missing": len(by_log) - len(done)}
    if done and not r["log_missing"]:
        r["log_median_s"] = statistics.median(done)
        r["log_p99_s"] = pct(done, 99)
        r["log_last_after_start_s"] = max(at + x * 1e9 for (_c, _z, _s, at), x in zip(sent, by_log)) / 1e9 \
            - first / 1e9
        r["log_last_after_burst_s"] = r["log_last_after_start_s"] - send_s
    return r


def quiet_burst(kind, args, primary, names, pops, q):
    """The burst again (other zones) with the poller silent: the times by the PoPs' logs alone, so
    that the measuring (the poller's queries, the PoPs' answers to them, this driver reading them:
    a third of the machine's wake-ups in a burst) does not share the 2 cores with what it measures.
    The logs are read once the sender is done, then every second until each change is in them."""
    rng = random.Random(20 + q)
    sent = send_burst(primary, [names[rng.randrange(len(names))] for _ in range(args.changes)], args.senders,
                      lambda c, zone, serial: None)
    burst_end = now_ns()
    first = min(at for _c, _z, _s, at in sent)
    end = time.time() + args.timeout
    while True:
        time.sleep(1.0)
        r = by_logs({i: served_log(kind, p, first) for i, p in enumerate(pops)}, range(len(pops)), sent, first,
                    (burst_end - first) / 1e9)
        if not r["log_missing"] or time.time() > end:
            break
    r["send_s"] = (burst_end - first) / 1e9
    log("%s quiet %d: %d changes sent in %.2f s; by the logs per change median %s, last %s after the first "
        "write (%d not logged)" % (kind, q + 1, args.changes, r["send_s"], fmt(r.get("log_median_s")),
                                   fmt(r.get("log_last_after_start_s")), r["log_missing"]))
    time.sleep(args.settle)
    return r


# ------------------------------------------------------------------ NSD

NSD_CONF = """server:
    ip-address: 127.0.0.1@{port}
    zonesdir: "{dir}"
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    pidfile: "{dir}/nsd.pid"
    database: ""
    username: ""
    chroot: ""
    verbosity: 0
    rrl-ratelimit: 0
    server-count: 1
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
pattern:
    name: sec
    request-xfr: AXFR 127.0.0.1@{pport} NOKEY
    allow-notify: 127.0.0.1 NOKEY
"""


def nsd_memory(args, work, primary, names, waiter):
    d = os.path.join(work, "nsd")
    os.makedirs(d)
    port = free_port()
    conf = os.path.join(d, "nsd.conf")
    with open(conf, "w") as f:
        f.write(NSD_CONF.format(port=port, dir=d, pport=primary.port))
        for z in names:
            f.write("zone:\n    name: %s\n    include-pattern: sec\n" % z)
    t0 = now_ns()
    p = spawn([shutil.which("nsd") or "/usr/sbin/nsd", "-d", "-c", conf], d, "nsd")
    keys = [("nsd", z) for z in names]
    waiter.want([(k, "127.0.0.1", port, k[1], 1) for k in keys])
    got, missing = waiter.wait(keys, args.timeout, progress="nsd")
    res = {"all_served_s": (max(got.values()) - t0) / 1e9 if got and not missing else None,
           "missing": len(missing)}
    time.sleep(2)
    res["pss_kb"] = pss_kb(p)
    res["cpu_s"] = cpu_s(p)
    stop(p)
    log("nsd: %d secondary zones served after %s s, PSS %.0f MiB" % (
        len(got), res["all_served_s"], res["pss_kb"] / 1024))
    return res


# ------------------------------------------------------------------ report

def fmt(v, spec="%.2f", unit=" s"):
    return "–" if v is None else (spec % v) + unit


def thaw(r, args):
    if not r:
        return "–"
    f = r["frozen"]
    if f.get("thaw_s") is not None:
        return fmt(f["thaw_s"])
    return "not within %.0f s (%d of its zones still behind)" % (args.thaw_timeout, f.get("thaw_missing", 0))


def report(args, net, res, meta):
    t, k, nsd = res["ternd"], res.get("knot"), res.get("nsd")
    zones = args.zones

    def ratio(a, b):
        return "%.2fx" % (a / b) if a is not None and b else "–"

    md = ["# A fleet of PoPs (`make bench-fleet`)", "",
          "%s. %d zones (SOA, 2 NS, 3 A each) made through the primary's API, listed in its catalog;"
          " %d PoPs %s consume the catalog. Primary: ternd (release build). Generated by "
          "bench/fleet/bench_fleet.py; see bench/README.md." % (
              meta["date"], zones, args.pops,
              "each in its own network namespace, joined to the primary's by a veth on one bridge"
              if net.mode == "netns" else "each on its own 127.0.1.x address (no network namespaces)"), "",
          "Machine: %s. Load before: %s. ternd %s, %s, %s." % (meta["machine"], meta["load"], meta["ternd"],
                                                              meta["knot"], meta["nsd"]), ""]
    pops_in = os.path.realpath(getattr(args, "pop_root", None) or args.work)
    md += ["The PoPs' files (ternd's disk copies, Knot's journal and catalog database) are %s; the "
           "primary's store is on disk." % (
               "in memory (under /dev/shm): each PoP stands for a machine of its own, so their writes "
               "do not queue on one disk with each other and with the primary's fsyncs"
               if pops_in.startswith("/dev/shm/") else "on the same disk as the primary's store"), ""]
    md += ["ternd PoPs: `transfer.refresh-workers` %s." % (
        getattr(args, "pop_workers", None) or "as ternd's default (4)"), ""]
    if args.quick:
        md += ["**Quick run** (BENCH_FLEET_QUICK=1): smaller than the issue's sizes.", ""]
    md += ["## Convergence", "",
           "| | ternd PoPs | Knot PoPs | ternd / Knot | target |", "|---|---|---|---|---|"]
    row = lambda label, a, b, target: md.append("| %s | %s | %s | %s | %s |" % (  # noqa: E731
        label, fmt(a), fmt(b), ratio(a, b), target))
    row("phase 1: empty -> every PoP serves every zone", t["phase1_s"], k and k["phase1_s"], "<= 0.2x")
    row("phase 1: the median PoP done", t["phase1_pop_median_s"], k and k["phase1_pop_median_s"], "")
    if t.get("phase1_ready_s"):
        md.append("| phase 1, by each ternd PoP's own word (READY=1, systemd's notification, once it serves "
                  "every member): the last PoP / the median | %s / %s | (Knot has no such signal) | | |" % (
                      fmt(t["phase1_ready_s"]), fmt(t["phase1_ready_median_s"])))
    if t.get("phase1_log_s") is not None or (k and k.get("phase1_log_s") is not None):
        row("phase 1, by the PoPs' own logs (the last PoP's last zone served)", t.get("phase1_log_s"),
            k and k.get("phase1_log_s"), "<= 0.2x (finer)")
        row("phase 1, by the PoPs' own logs: the median PoP done", t.get("phase1_log_median_s"),
            k and k.get("phase1_log_median_s"), "")
    for label, title in (("burst", "burst of %d changes" % args.changes),
                         ("frozen", "the same with 1 PoP frozen (SIGSTOP), the other %d" % (args.pops - 1))):
        a, b = t[label], k and k[label]
        if a.get("log_median_s") is not None or (b and b.get("log_median_s") is not None):
            fine = "<= 0.2x (finer)" if label == "burst" else ""
            row("%s, by the PoPs' own logs: per change, median" % title, a.get("log_median_s"),
                b and b.get("log_median_s"), fine)
            row("%s, by the PoPs' own logs: per change, p99" % title, a.get("log_p99_s"), b and b.get("log_p99_s"), "")
            row("%s, by the PoPs' own logs: the last change served (from the first write)" % title,
                a.get("log_last_after_start_s"), b and b.get("log_last_after_start_s"), fine)
            row("%s, by the PoPs' own logs: the last change served (from the last write)" % title,
                a.get("log_last_after_burst_s"), b and b.get("log_last_after_burst_s"), "")
        row("%s: per change, median" % title, a["median_s"], b and b["median_s"], "<= 0.2x" if label == "burst" else "")
        row("%s: per change, p99" % title, a["p99_s"], b and b["p99_s"], "")
        row("%s: the last change served (from the first write)" % title, a["last_after_start_s"],
            b and b["last_after_start_s"], "<= 0.2x" if label == "burst" else "")
        row("%s: the last change served (from the last write)" % title, a["last_after_burst_s"],
            b and b["last_after_burst_s"], "")
    a, b = t.get("quiet"), k and k.get("quiet")
    if a or b:
        a, b = a or {}, b or {}
        title = "burst of %d changes with the poller silent (other zones), by the PoPs' own logs, the median of %d" % (
            args.changes, len(t.get("quiet_runs") or (k or {}).get("quiet_runs") or [0]))
        row("%s: per change, median" % title, a.get("log_median_s"), b.get("log_median_s"), "<= 0.2x (finer)")
        row("%s: per change, p99" % title, a.get("log_p99_s"), b.get("log_p99_s"), "")
        row("%s: the last change served (from the first write)" % title, a.get("log_last_after_start_s"),
            b.get("log_last_after_start_s"), "<= 0.2x (finer)")
        row("%s: the last change served (from the last write)" % title, a.get("log_last_after_burst_s"),
            b.get("log_last_after_burst_s"), "")
        row("%s: the sender's writes, first to last answer" % title, a.get("send_s"), b.get("send_s"), "")
    qps = getattr(args, "poll_qps", 0)
    if t.get("phase1_log_poller_lag_ms") is not None:
        lags = []
        for who, r in (("ternd", t), ("Knot", k)):
            if not r or r.get("phase1_log_poller_lag_ms") is None:
                continue
            lags.append("%s: phase 1 %.0f ms (%d pairs answered more than 1 ms before their line), burst %.1f ms (%d)"
                        % (who, r["phase1_log_poller_lag_ms"], r.get("phase1_log_after_answer", 0),
                           r["burst"].get("log_poller_lag_ms") or 0, r["burst"].get("log_after_answer", 0)))
        md += ["", "**By the PoPs' own logs**: each PoP logs at info, its output going through "
               "bench/fleet/logstamp.c, which stamps each line with CLOCK_MONOTONIC as it reads it (Knot's own "
               "timestamps are whole seconds). A zone counts as served at a serial from the PoP's line saying "
               "so, which both servers write once the new version is published: ternd's \"zone Z: IXFR from P: "
               "serial A -> B\" or \"transferred serial B\", Knot's \"[Z.] refresh, remote P, zone updated, ... "
               "serial A -> B\". This sees every pair at the moment it happens, where the poller can ask "
               "each pair only so often (10,000 queries a second for 200,000 pairs in phase 1); the poller's "
               "answers confirm the lines (median time from a pair's line to the poller's first answer "
               "showing it, %s)." % "; ".join(lags)]
    runs = [(who, r.get("quiet_runs")) for who, r in (("ternd", t), ("Knot", k)) if r and r.get("quiet_runs")]
    if runs:
        md += ["", "**With the poller silent**: the same burst (other zones each time) measured by the PoPs' "
               "logs alone, so that the poller's queries, the PoPs' answers to them and this driver reading "
               "them (in a burst with the poller, a third of the machine's wake-ups: perf sched) do not share "
               "the 2 cores with what they measure; run %d times, the table gives the median. One by one, the "
               "last change served from the first write (the sender's writes): %s." % (
                   len(runs[0][1]), "; ".join("%s %s" % (who, ", ".join(
                       "%s (%s)" % (fmt(q.get("log_last_after_start_s")), fmt(q.get("send_s"))) for q in rs))
                       for who, rs in runs))]
    md += ["", "A change's time runs from just before its API request until the last of the (running) PoPs "
           "answers the zone's SOA with the change's serial or a later one (bench/fleet/soawait.c: each "
           "waiting pair asked again 5 ms after its last answer, %s). The burst's changes are sent by %s "
           "(%.2f s for ternd's %d; %.2f s with Knot PoPs, the same sender)." % (
               "at most %d queries a second in all, so the poller cannot load the PoPs it measures: with "
               "many pairs waiting each waits its turn (the poll interval below)" % qps if qps else
               "with no bound on the queries a second",
               "bench/fleet/apiburst.c: %d concurrent API clients, each its own keep-alive connection, "
               "taking the changes in order" % getattr(args, "senders", 1) if getattr(args, "senders", 1) > 1
               else "bench/fleet/apiburst.c: one API client back to back on one connection",
               t["burst"]["send_s"], args.changes, k["burst"]["send_s"] if k else 0), ""]
    if t.get("machine"):
        md += ["## Where the machine's CPU went (2 cores)", "",
               "| phase | PoPs | wall | primary CPU | PoPs' CPU (all) | poller CPU | driver CPU | log stampers' "
               "CPU | poller queries (mean a second) |", "|---|---|---|---|---|---|---|---|---|"]
        for who, r in (("ternd", t), ("Knot", k)):
            for ph in ("phase1", "burst", "frozen"):
                m = r and r.get("machine", {}).get(ph)
                if m:
                    md.append("| %s | %s | %.1f s | %.1f s | %.1f s | %.1f s | %s | %s | %d (%.0f) |" % (
                        ph, who, m["t"], m["primary"], m["pops"], m["poller"],
                        "%.1f s" % m["driver"] if "driver" in m else "–",
                        "%.1f s" % m["stampers"] if "stampers" in m else "–", m["polls"],
                        m["polls"] / m["t"] if m["t"] else 0))
        md += ["", "CPU from /proc (user + system) over each phase, phase 1 from the PoPs' start, a burst "
               "from its first write until its last change was served. The driver is bench_fleet.py itself (the "
               "burst's API clients, the poller's feed and its answers read); the log stampers are the PoPs' "
               "logstamp processes.", ""]
        for who, r in (("ternd", t), ("Knot", k)):
            st = r and r.get("thread_stats", {}).get("burst")
            if st:
                md += ["The %s PoPs' CPU and context switches in the burst by thread (all PoPs summed, from "
                       "/proc/PID/task/TID/schedstat and status; per change and PoP: divided by %d changes and "
                       "%d PoPs), and the primary's beside them (per change):" % (who, args.changes, args.pops), "",
                       "| | thread | CPU | per change (and PoP) | switches | per change (and PoP) | of them "
                       "involuntary (preempted), per change (and PoP) |",
                       "|---|---|---|---|---|---|---|"]
                for side, div in (("pops", args.changes * args.pops), ("primary", args.changes)):
                    rows = sorted(st[side].items(), key=lambda kv: -kv[1][0])
                    rows = [(n, v + [None] * (3 - len(v))) for n, v in rows]  # an earlier run's JSON: 2
                    tot = [sum(v[i] or 0 for _n, v in rows) for i in range(3)]
                    for name, (ns, sw, pre) in rows + [("all", tot)]:
                        if ns > 0 or sw > 0:
                            md.append("| %s | %s | %.2f s | %.1f µs | %d | %.2f | %s |" % (
                                "PoPs" if side == "pops" else "primary", name, ns / 1e9, ns / div / 1e3, sw,
                                sw / div, "–" if pre is None else "%.2f" % (pre / div)))
                md.append("")
                continue
            th = r and r.get("threads", {}).get("burst")
            if not th:
                continue
            md += ["The %s PoPs' CPU in the burst by thread (all PoPs summed; per change and PoP: divided by "
                   "%d changes and %d PoPs):" % (who, args.changes, args.pops), "",
                   "| thread | CPU | per change and PoP |", "|---|---|---|"]
            for name, sec in sorted(th.items(), key=lambda kv: -kv[1]):
                if sec > 0:
                    md.append("| %s | %.2f s | %.0f µs |" % (name, sec, sec / args.changes / args.pops * 1e6))
            md.append("")
            th = r and r.get("primary_threads", {}).get("burst")
            if th:
                md += ["The primary's CPU in the burst beside the %s PoPs, by thread:" % who, "",
                       "| thread | CPU | per change |", "|---|---|---|"]
                for name, sec in sorted(th.items(), key=lambda kv: -kv[1]):
                    if sec > 0:
                        md.append("| %s | %.2f s | %.0f µs |" % (name, sec, sec / args.changes * 1e6))
                md.append("")
    md += [
           "## The primary", "",
           "| | with ternd PoPs | with Knot PoPs |", "|---|---|---|",
           "| CPU, phase 1 (every zone to %d PoPs) | %s | %s |" % (
               args.pops, fmt(t["phase1_primary_cpu_s"]), fmt(k and k["phase1_primary_cpu_s"])),
           "| CPU per change served to %d PoPs (burst: API write, NOTIFYs, IXFRs) | %s | %s |" % (
               args.pops, fmt(t["burst"]["primary_cpu_ms_per_change"], "%.2f", " ms"),
               fmt(k and k["burst"]["primary_cpu_ms_per_change"], "%.2f", " ms")), "",
           "## A frozen PoP", "",
           "| | ternd | Knot |", "|---|---|---|",
           "| burst, all %d running: last change served | %s | %s |" % (
               args.pops, fmt(t["burst"]["last_after_start_s"]), fmt(k and k["burst"]["last_after_start_s"])),
           "| burst, 1 frozen: last change served on the other %d | %s | %s |" % (
               args.pops - 1, fmt(t["frozen"]["last_after_start_s"]), fmt(k and k["frozen"]["last_after_start_s"])),
           "| the frozen PoP serves every change, after SIGCONT | %s | %s |" % (
               thaw(t, args), thaw(k, args)), "",
           "## Memory per secondary zone (PSS)", "",
           "| server | PSS with %d secondary zones | per zone |" % zones, "|---|---|---|"]
    for label, kb in (("ternd PoP (catalog member zones; median of the PoPs)", statistics.median(t["pss_kb"])),
                      ("Knot PoP (catalog member zones; median of the PoPs)",
                       k and statistics.median(k["pss_kb"])),
                      ("NSD (plain secondaries listed in nsd.conf: NSD 4.6 cannot consume a catalog)",
                       nsd and nsd["pss_kb"])):
        md.append("| %s | %s | %s |" % (label, fmt(kb and kb / 1024, "%.1f", " MiB"),
                                          fmt(kb and kb * 1024 / zones, "%.0f", " bytes")))
    md += ["", "PSS of the whole process after every zone is served (its empty start-up size included)."]
    return "\n".join(md) + "\n"


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def main():
    global PIDFILE, WORKERS, READY, LOGSTAMP, APIBURST
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--soawait", required=True)
    ap.add_argument("--apiburst", required=True, help="apiburst.c: the burst's API clients")
    ap.add_argument("--logstamp", help="logstamp.c: time-stamp the PoPs' logs (the finer measure)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--zones", type=int, default=10000)
    ap.add_argument("--pops", type=int, default=20)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--senders", type=int, default=8,
                    help="concurrent API clients sending the burst (each its own connection)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--quiet", type=int, default=3,
                    help="bursts with the poller silent, measured by the PoPs' logs (the median is reported)")
    ap.add_argument("--thaw-timeout", type=float, default=60)
    ap.add_argument("--poll-qps", type=int, default=10000,
                    help="SOA queries a second the poller sends at most (0: no bound)")
    ap.add_argument("--net", default="10.18", help="the /16 of the namespaces' bridge (A.B)")
    ap.add_argument("--pop-workers", type=int, help="the ternd PoPs' transfer.refresh-workers")
    ap.add_argument("--pop-root", help="where the PoPs keep their files (default: --work)")
    ap.add_argument("--no-knot", action="store_true")
    ap.add_argument("--no-nsd", action="store_true", help="leave NSD's memory per zone out")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sched", default="none")
    ap.add_argument("--report", help="only write the table again from this JSON of an earlier run")
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            old = json.load(f)
        for k, v in old["args"].items():
            if k not in ("report", "out"):
                setattr(args, k, v)
        if "senders" not in old["args"]:
            args.senders = 1  # runs before --senders sent the burst on one connection
        args.thaw_timeout = old["args"].get("thaw_timeout", args.timeout)
        net = argparse.Namespace(mode=old["net"])
        md = report(args, net, old["results"], old["meta"])
        with open(args.out, "w") as f:
            f.write(md)
        print(md)
        return
    PIDFILE = os.path.join(args.work, "pids")
    args.pop_root = args.pop_root or args.work
    WORKERS = args.pop_workers
    LOGSTAMP = args.logstamp
    APIBURST = args.apiburst
    READY = ReadyWatch()
    signal.signal(signal.SIGTERM, on_signal)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(args.work), "load": loadavg(), "ternd": ternd_version(),
            "knot": version(["knotd", "--version"]), "nsd": version(["nsd", "-v"])}
    net = Net(args.pops, "%03x" % (os.getpid() % 4096), args.net)
    waiter = Waiter(args.soawait, args.poll_qps)
    res = {}
    try:
        log("network: %s; primary at %s" % (net.mode, net.primary_addr))
        primary = Primary(args.ternd, args.work, net)
        names = [zone_name(i) for i in range(args.zones)]
        t = time.time()
        serials = primary.create(names)
        log("%d zones made through the API in %.1f s" % (args.zones, time.time() - t))
        # Each new zone was NOTIFYed to every PoP address, where nothing listens yet: the primary
        # retries those for 10 s (ns/notify.c: 10 tries a second apart). Phase 1 starts once they
        # ended, as for PoPs that join a running primary, not in a storm of NOTIFYs of zones the
        # PoPs do not have yet.
        time.sleep(11)
        res["ternd"] = run_fleet("ternd", args, net, primary, names, serials, waiter,
                                 lambda i: ternd_pop(args.ternd, args.pop_root, net, i, primary))
        if not args.no_knot:
            res["knot"] = run_fleet("knot", args, net, primary, names, serials, waiter,
                                    lambda i: knot_pop(args.pop_root, net, i, primary))
        if not args.no_nsd:
            res["nsd"] = nsd_memory(args, args.work, primary, names, waiter)
    finally:
        waiter.close()
        for p in reversed(STARTED):
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                except OSError:
                    pass
            stop(p)
        net.close()
    md = report(args, net, res, meta)
    with open(args.out, "w") as f:
        f.write(md)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"args": vars(args), "net": net.mode, "meta": meta, "results": res}, f, indent=1)
    print(md)


if __name__ == "__main__":
    main()
