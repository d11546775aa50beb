#!/usr/bin/python3
"""API-managed zones at scale (`make bench-scale`, BENCH_SCALE_API_ZONES): two ternd side by side,
whose stores hold 1,000 and N zones (default 1,000,000), each zone made through the API (SOA + 2 NS
from the configuration, www A, mail A). On each, taking turns one operation at a time, median and
p90 of: creating a zone, a PATCH of one RRset in a random zone, and GET /api/v1/zones?limit=100 for
the first page, a middle page and the last page (by cursor). At N: PSS, then a restart: the time from exec until
ternd logs "ready" and until every zone answers its SOA; the last zone and a random sample are asked
the moment "ready" is logged (none may be missing), and every zone is asked once afterwards.
Writes bench/results/scale-api.md and .json.

The store is filled through the API by two keep-alive clients: POST /api/v1/zones/batch, 1,000 zones
a request (each zone checked as POST /api/v1/zones checks it, all created through the one write path
in one durable transaction), or with --batch 1 one POST /api/v1/zones per zone (one flush to disk per
zone: hours for a million)."""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "bench", "scale"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from benchlib import free_port, loadavg, machine, pct, stop, ternd_version  # noqa: E402
import bench_scale  # noqa: E402  (its DNS helpers: ask, all_answer)
import devtoken  # noqa: E402
import procs  # noqa: E402

SUFFIX = "api.scale.test"
SAMPLES = 200  # timed operations of each kind at each size
SAMPLE = 100  # zones asked (with the last) when ready is logged
TENANT = "bench"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[bench-scale-api %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def zone_name(i):
    """Fixed width, so byte order (the store's canonical order for siblings) is index order."""
    return "z%08d.%s" % (i, SUFFIX)


class Http:
    """One keep-alive connection."""

    def __init__(self, port, token):
        self.port = port
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        self.conn = None

    def call(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                self.conn.connect()
                self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                                  headers=self.headers)
                r = self.conn.getresponse()
                data = r.read()
                if r.will_close:
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def timed(self, method, path, body=None, want=200):
        t = time.perf_counter()
        status, data = self.call(method, path, body)
        dt = time.perf_counter() - t
        if status != want:
            raise RuntimeError("%s %s: %d %s" % (method, path, status, data[:300]))
        return dt, data


def create_body(name):
    return {"name": name, "rrsets": [{"name": "www." + name + ".", "type": "A", "ttl": 300, "records": ["192.0.2.3"]},
                                     {"name": "mail." + name + ".", "type": "A", "ttl": 300,
                                      "records": ["192.0.2.4"]}]}


def fill(port, token, start, end, clients, per_request):
    """Creates zones start..end-1 through the API with clients connections, per_request zones a
    request (1: POST /api/v1/zones; more: POST /api/v1/zones/batch); returns zones/s."""
    nxt = [start]
    lock = threading.Lock()
    errors = []
    t0 = time.monotonic()
    step = [start + 50000]

    def worker():
        h = Http(port, token)
        while not errors:
            with lock:
                i = nxt[0]
                if i >= end:
                    return
                k = min(per_request, end - i)
                nxt[0] += k
                if i >= step[0]:
                    step[0] += 50000
                    log("  %d zones, %.0f/s" % (i, (i - start) / (time.monotonic() - t0)))
            if per_request == 1:
                status, data = h.call("POST", "/api/v1/zones", create_body(zone_name(i)))
            else:
                status, data = h.call("POST", "/api/v1/zones/batch",
                                      {"zones": [create_body(zone_name(j)) for j in range(i, i + k)]})
            if status != 201:
                errors.append("%s: %d %s" % (zone_name(i), status, data[:300]))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("creating zones: %s" % errors[0])
    return (end - start) / max(1e-9, time.monotonic() - t0)


def stats(xs):
    return {"median_ms": pct(xs, 50) * 1000, "p90_ms": pct(xs, 90) * 1000, "n": len(xs)}


def measure_ops(servers, token, rng):
    """The timed operations on each server of servers ({label: (api port, zones stored)}), taking
    turns one operation at a time (the order alternating), so every server sees the same neighbours.
    Zones created are deleted again afterwards. Returns {label: {op: stats}}."""
    labels = list(servers)
    h = {lb: Http(servers[lb][0], token) for lb in labels}
    times = {lb: {} for lb in labels}

    def turns(k):
        return labels if k % 2 == 0 else labels[::-1]

    for k in range(SAMPLES):
        for lb in turns(k):
            dt, _ = h[lb].timed("POST", "/api/v1/zones", create_body("x%08d.%s" % (k, SUFFIX)), want=201)
            times[lb].setdefault("create", []).append(dt)
    for lb in labels:
        for k in range(SAMPLES):
            status, data = h[lb].call("DELETE", "/api/v1/zones/x%08d.%s" % (k, SUFFIX))
            if status != 204:
                raise RuntimeError("DELETE: %d %s" % (status, data[:200]))
    for k in range(SAMPLES):
        for lb in turns(k):
            name = zone_name(rng.randrange(servers[lb][1]))
            body = {"rrsets": [{"name": "www." + name + ".", "type": "A", "ttl": 300,
                                "records": ["192.0.2.%d" % (k % 250 + 1)]}]}
            dt, _ = h[lb].timed("PATCH", "/api/v1/zones/%s/rrsets" % name, body)
            times[lb].setdefault("patch", []).append(dt)
    # the pages: the first; one in the middle (the cursor is the zone before it); the last (holds the
    # last 50 zones and says no page follows)
    for op in ("list_first", "list_middle", "list_last"):
        for k in range(SAMPLES // 2):
            for lb in turns(k):
                n = servers[lb][1]
                cursor = {"list_first": None, "list_middle": zone_name(n // 2 - 1),
                          "list_last": zone_name(n - 51)}[op]
                path = "/api/v1/zones?limit=100" + ("&cursor=" + cursor if cursor else "")
                dt, data = h[lb].timed("GET", path)
                times[lb].setdefault(op, []).append(dt)
                if k:
                    continue
                page = json.loads(data)
                want_first = zone_name(0) if cursor is None else zone_name(int(cursor[1:9]) + 1)
                if page["zones"][0]["name"].rstrip(".") != want_first:
                    raise RuntimeError("%s: first zone %s, not %s" % (op, page["zones"][0]["name"], want_first))
                if op == "list_last" and (len(page["zones"]) != 50 or page["next"] is not None):
                    raise RuntimeError("last page: %d zones, next %s" % (len(page["zones"]), page["next"]))
    return {lb: {op: stats(xs) for op, xs in times[lb].items()} for lb in labels}


def write_conf(d, port, api_port, jwks, max_tenant):
    conf = os.path.join(d, "ternd.yaml")
    with open(conf, "w") as f:
        f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: info}\n' % port)
        f.write("api: {listen: 127.0.0.1@%d, data-dir: %s, jwks: %s, nameservers: [ns1.%s., ns2.%s.],"
                " rate-limit: 0, max-zones-per-tenant: %d}\n" % (api_port, os.path.join(d, "data"), jwks, SUFFIX,
                                                                  SUFFIX, max_tenant))
    return conf


class Ternd:
    def __init__(self, binary, conf, d, pids_file):
        self.binary, self.conf, self.d, self.pids_file = binary, conf, d, pids_file
        self.proc = None
        self.runs = 0

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.d, "ternd-%d.log" % self.runs)
        self.out = open(self.log_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "-c", self.conf], cwd=self.d, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        with open(self.pids_file, "a") as f:
            f.write("%d\n" % self.proc.pid)

    def wait_ready(self, timeout, on_ready=None):
        """Seconds from exec until the log says ready; on_ready() is called the moment it is seen."""
        with open(self.log_path) as f:
            buf = ""
            while time.monotonic() - self.t0 < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError("ternd exited with %s: %s" % (self.proc.returncode, buf[-2000:]))
                chunk = f.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                buf = (buf + chunk)[-65536:]
                if "] ready: " in buf or " ready: " in buf:
                    t = time.monotonic() - self.t0
                    if on_ready:
                        on_ready()
                    return t
        raise RuntimeError("ternd not ready after %d s" % timeout)

    def stop(self):
        stop(self.proc, 300)
        self.out.close()


def pss(proc):
    time.sleep(1)
    m = procs.mem(proc.pid)
    return m["pss_kb"], m["rss_kb"]


def restart(t, port, n, rng, timeout):
    """Stops and starts ternd; returns ready_s, served_s, missing_at_ready, missing_after."""
    t.stop()
    t.start()
    names = [zone_name(i) for i in range(n)]
    sample = [names[-1]] + rng.sample(names, min(SAMPLE, n))
    at_ready = {}

    def asked():
        at_ready["cpu_s"] = procs.cpu(t.proc.pid) / TICK
        got = bench_scale.ask(port, sample, timeout=0.5)
        at_ready["missing"] = [sample[i] for i in range(len(sample)) if got.get(i) != 1 and got.get(i) is None]
        at_ready["t"] = time.monotonic() - t.t0

    ready_s = t.wait_ready(timeout, asked)
    # a zone's serial is a date serial: any SOA answer counts (soa_serial None = no answer)
    served_s = at_ready["t"] if not at_ready["missing"] else None
    left = names
    for _ in range(3):  # a UDP answer lost under load is asked again, as bench_scale.all_answer does
        got = bench_scale.ask(port, left, timeout=0.5)
        left = [left[i] for i in range(len(left)) if got.get(i) is None]
        if not left:
            break
    return ready_s, served_s, at_ready["missing"], left, at_ready["cpu_s"]


def report(args, res, meta):
    small, big = res["small"], res["big"]
    n = args.zones
    rows = ["| operation | %s zones: median / p90 | %s zones: median / p90 | ratio of medians (target <= 1.2) |"
            % (format(args.small, ","), format(n, ",")), "|---|---|---|---|"]
    label = {"create": "create a zone (POST /zones)", "patch": "PATCH one RRset", "list_first":
             "GET /zones?limit=100, first page", "list_middle": "... a middle page (cursor)",
             "list_last": "... the last page (cursor)"}
    for op in ("create", "patch", "list_first", "list_middle", "list_last"):
        a, b = small["ops"][op], big["ops"][op]
        rows.append("| %s | %.2f / %.2f ms | %.2f / %.2f ms | %.2f |" % (label[op], a["median_ms"], a["p90_ms"],
                                                                      b["median_ms"], b["p90_ms"],
                                                                      b["median_ms"] / a["median_ms"]))
    r = big["restart"]
    md = ["# API-managed zones at scale (`make bench-scale`, bench/scale/bench_scale_api.py)", "",
          "ternd (`udp-workers: 1`, `log.level: info`), its store filled through %s "
          "(%d keep-alive clients; each zone SOA + 2 NS from the configuration, www A, mail A), by a tenant "
          "token (`api.max-zones-per-tenant` raised to fit). Two such ternd run side by side, one with %s "
          "zones and one with %s; %d timed operations of each kind on each (%d of each page), one "
          "keep-alive client per server, the two servers taking turns one operation at a time (the order "
          "alternating): creations of new zones (deleted again afterwards), PATCHes of `www` in random "
          "zones, and listing pages." % (
              "`POST /api/v1/zones/batch` (%d zones a request)" % args.batch if args.batch > 1 else
              "`POST /api/v1/zones`", args.clients, format(args.small, ","), format(n, ","), SAMPLES,
              SAMPLES // 2), "",
          ] + rows + ["",
          "| at %s zones | measured | target |" % format(n, ","), "|---|---|---|",
          "| filling the store through the API | %.0f zones/s | |" % big["fill_rate"],
          "| PSS after the fill | %.0f MiB | |" % (big["pss_fill_kb"] / 1024),
          "| restart: exec to `ready` logged | %.2f s (CPU %.2f s) | |" % (r["ready_s"], r["cpu_s"]),
          "| restart: exec to every zone served | %s | <= 60 s |" % (
              "%.2f s (all asked at ready answered)" % r["served_s"] if r["served_s"] is not None else "-"),
          "| zones missing when ready was logged (last + %d random) | %d | 0 |" % (SAMPLE, len(r["missing_at_ready"])),
          "| zones not answering afterwards (each asked, up to 3 times) | %d | 0 |" % r["missing_after"],
          "| PSS after the restart | %.0f MiB (%.0f B/zone) | <= 2048 MiB |" % (
              r["pss_kb"] / 1024, r["pss_kb"] * 1024 / n),
          "", "Machine: %s; load average before %s, after %s. ternd %s." % (
              meta["machine"], meta["load_before"], meta["load_after"], meta["ternd"]), ""]
    return "\n".join(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--zones", type=int, default=1000000)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1000,
                    help="zones per fill request: 1 = POST /api/v1/zones, more = POST /api/v1/zones/batch")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--sched", default="none", help="how bench_drive scheduled the run (reported)")
    args = ap.parse_args()
    args.ternd = os.path.abspath(args.ternd)
    if args.zones < args.small or args.small < 200:
        sys.exit("--zones must be at least --small, which must be at least 200")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    keys_dir = os.path.join(args.work, "keys")
    key, jwks = devtoken.ensure_keys(keys_dir)
    token = devtoken.token(key, TENANT, hours=48)
    meta = {"machine": machine(args.work), "load_before": loadavg(), "ternd": ternd_version()}
    rng = random.Random(7)
    servers = {}
    for label, n in (("small", args.small), ("big", args.zones)):
        d = os.path.join(args.work, "ternd-api-" + label)
        os.makedirs(d, exist_ok=True)
        port, api_port = free_port(), free_port()
        conf = write_conf(d, port, api_port, jwks, max(100000, n + 10 * SAMPLES))
        servers[label] = (Ternd(args.ternd, conf, d, os.path.join(args.work, "pids")), port, api_port, n)
    res = {"small": {}, "big": {}}
    try:
        for label, (t, port, api_port, n) in servers.items():
            t.start()
            t.wait_ready(args.timeout)
            log("%s: filling the store to %d zones" % (label, n))
            t1 = time.monotonic()
            rate = fill(api_port, token, 0, n, args.clients, args.batch)
            log("%s: filled in %.0f s (%.0f zones/s)" % (label, time.monotonic() - t1, rate))
            res[label]["fill_rate"] = rate
        big, t = res["big"], servers["big"][0]
        big["pss_fill_kb"], _ = pss(t.proc)
        log("timing, %d and %d zones taking turns" % (args.small, args.zones))
        ops = measure_ops({lb: (v[2], v[3]) for lb, v in servers.items()}, token, rng)
        for lb in ops:
            res[lb]["ops"] = ops[lb]
        servers["small"][0].stop()
        log("restart")
        ready_s, served_s, missing, left, cpu_s = restart(t, servers["big"][1], args.zones, rng, args.timeout)
        big["restart"] = {"ready_s": ready_s, "served_s": served_s, "missing_at_ready": missing,
                          "missing_after": len(left), "cpu_s": cpu_s}
        big["restart"]["pss_kb"], big["restart"]["rss_kb"] = pss(t.proc)
        log("ready %.2f s (CPU %.2f s), served %s, missing at ready %d, after %d, PSS %.0f MiB" % (
            ready_s, cpu_s, served_s, len(missing), len(left), big["restart"]["pss_kb"] / 1024))
    finally:
        for t, *_ in servers.values():
            if t.proc is not None and t.proc.poll() is None:
                t.stop()
    meta["load_after"] = loadavg()
    md = report(args, res, meta)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump({"zones": args.zones, "small": args.small, "meta": meta, "results": res}, f, indent=1)
    with open(args.out, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
