#!/usr/bin/python3
"""The control plane on PostgreSQL (`make bench-pg`, issue 24): ternd with its store in PostgreSQL
(api.store) against PowerDNS Authoritative 4.7 with its gpgsql backend (pdns-backend-pgsql, its HTTP
API), both on one PostgreSQL 15 server of the run's own (unix socket, a database each), in the same
run, on loopback. Started by bench/pg/run.sh; see bench/README.md ("bench-pg").

The measurements are bench/api/bench_api.py's (imported: the same client, poller, phases and
interleaving), with these servers, and one more phase: queries/s served (dnsperf) over the zones
made. Phases: warm-up, change -> served with 1 zone, sequential PATCH/s, sequential zone creations
(--zones), change -> served over those zones, queries/s.
"""
import argparse
import datetime
import json
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "api"))
import bench_api as ba  # noqa: E402
from benchlib import free_port, loadavg, machine, ternd_version  # noqa: E402
import devtoken  # noqa: E402

PDNS_SCHEMA = "/usr/share/doc/pdns-backend-pgsql/schema.pgsql.sql"
TARGET_LINE = ("API writes per second and change -> served p99 on PostgreSQL vs PowerDNS with "
               "`pdns-backend-pgsql` on the same PostgreSQL instance. Target: >= 3x PowerDNS, as the control "
               "plane's target on SQLite.")


def log(msg):
    print("[bench-pg %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def pg_bindir():
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    for d in (out, "/usr/lib/postgresql/15/bin"):
        if d and os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("no PostgreSQL server binaries (postgresql-15)")


class Postgres:
    """One PostgreSQL 15 server in the work directory, run as the postgres user (initdb and postgres
    refuse root), on a unix socket only, at its defaults (synchronous_commit on, fsync on)."""

    def __init__(self, work):
        self.bin = pg_bindir()
        self.dir = os.path.join(work, "pg")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.dir)
        os.chmod(work, 0o755)  # the postgres user goes through it to its directory
        shutil.chown(self.dir, "postgres", "postgres")
        self.log = os.path.join(self.dir, "postgres.log")
        self._as_postgres([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--locale=C"])
        self._as_postgres([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                           "-o", "-c listen_addresses='' -k %s -c max_connections=100" % self.dir, "start"])
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())
        with open(ba.PIDFILE, "a") as f:  # run.sh stops it if this script dies
            f.write("%d\n" % self.pid)

    def _as_postgres(self, argv):
        r = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, capture_output=True, text=True, timeout=120,
                           cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (argv[0], r.returncode, r.stdout, r.stderr))

    def psql(self, sql=None, db="postgres", file=None):
        argv = [os.path.join(self.bin, "psql"), "-h", self.dir, "-U", "postgres", "-d", db, "-X", "-A", "-t",
                "-q", "-v", "ON_ERROR_STOP=1"]
        argv += ["-f", file] if file else ["-c", sql]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr)
        return r.stdout.strip()

    def conninfo(self, db):
        return "host=%s user=postgres dbname=%s" % (self.dir, db)

    def settings(self):
        names = ["server_version", "shared_buffers", "synchronous_commit", "fsync", "wal_sync_method",
                 "full_page_writes", "max_connections"]
        vals = self.psql("SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' ORDER BY name)"
                         " FROM pg_settings WHERE name IN (%s)" % ", ".join("'%s'" % n for n in names))
        return vals

    def cpu(self):
        """utime + stime of every process of the server (postmaster and backends), seconds."""
        total = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    x = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(x[1]) == self.pid or int(pid) == self.pid:
                total += (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w",
                        "-m", "fast", "stop"], capture_output=True, timeout=120, cwd=self.dir)


class TerndPg(ba.Ternd):
    label = "ternd"

    def __init__(self, binary, work, pg):
        self.dir = os.path.join(work, "ternd")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        pg.psql("CREATE DATABASE tern")
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        self.token = devtoken.token(key, "bench", hours=48)
        self.dns_port, self.api_port = free_port(), free_port()
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\n' % self.dns_port)
            f.write("log: {level: warning}\n")
            f.write('api: {listen: 127.0.0.1@%d, data-dir: %s, jwks: %s, nameservers: [%s], rate-limit: 0,'
                    ' store: "%s"}\n' % (self.api_port, self.data, jwks, ba.NS, pg.conninfo("tern")))
        self.settings = ("`server.udp-workers: 1`, `log.level: warning`, `api.rate-limit: 0` (off), `api.store: "
                         "\"host=SOCKETDIR user=postgres dbname=tern\"` (its own database on the shared server: "
                         "each write one READ COMMITTED transaction after ternd's advisory lock, committed with "
                         "the server's synchronous_commit); a tenant token (ES256, not admin); answers from "
                         "ternd's in-memory zones (no cache to configure: every change is published before the "
                         "API answers)")
        self.log = open(os.path.join(self.dir, "ternd.log"), "w")
        self.proc = subprocess.Popen([binary, "-c", conf], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        ba.track(self.proc)


class PdnsPg(ba.Pdns):
    label = "PowerDNS"

    def __init__(self, work, pg):
        self.dir = os.path.join(work, "pdns")
        os.makedirs(self.dir)
        pg.psql("CREATE DATABASE pdns")
        pg.psql(db="pdns", file=PDNS_SCHEMA)
        open(os.path.join(self.dir, "pdns.conf"), "w").close()
        self.key = "bench-%d" % random.SystemRandom().randrange(1 << 60)
        self.dns_port, self.api_port = free_port(), free_port()
        self.caches = os.environ.get("BENCH_PG_PDNS_CACHES", "off")
        self.args = [
            "--config-dir=" + self.dir, "--socket-dir=" + self.dir, "--guardian=no", "--daemon=no",
            "--disable-syslog", "--write-pid=no", "--loglevel=4", "--webserver-loglevel=none",
            "--local-address=127.0.0.1", "--local-port=%d" % self.dns_port,
            "--launch=gpgsql", "--gpgsql-host=" + pg.dir, "--gpgsql-user=postgres", "--gpgsql-dbname=pdns",
            "--api=yes", "--api-key=" + self.key, "--webserver=yes", "--webserver-address=127.0.0.1",
            "--webserver-port=%d" % self.api_port, "--webserver-allow-from=127.0.0.1/32",
            "--default-soa-content=%s hostmaster.@ 0 10800 3600 604800 3600" % ba.NS,
        ]
        if self.caches == "off":
            self.args += ["--cache-ttl=0", "--negquery-cache-ttl=0", "--query-cache-ttl=0",
                          "--zone-cache-refresh-interval=0"]
        shown = [a for a in self.args if not a.startswith(("--api-key=", "--config-dir=", "--socket-dir=",
                                                           "--gpgsql-host=", "--local-port=", "--webserver-port="))]
        self.settings = ("`pdns_server " + " ".join(shlex.quote(a) for a in shown) + " --gpgsql-host=SOCKETDIR` "
                         "(other settings at 4.7's defaults, e.g. `distributor-threads=3`, `receiver-threads=1`, "
                         "`gpgsql-dnssec=no`)")
        self.log = open(os.path.join(self.dir, "pdns.log"), "w")
        self.proc = subprocess.Popen(["pdns_server"] + self.args, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        ba.track(self.proc)


# ------------------------------------------------------------------ queries/s

def query_file(work, zones, n=20000, seed=3):
    """dnsperf's input: n queries over the zones made (apex SOA, apex NS) and the PATCHed names."""
    rng = random.Random(seed)
    path = os.path.join(work, "queries.txt")
    with open(path, "w") as f:
        for _ in range(n):
            k = rng.randrange(3)
            if k == 0:
                f.write("%s SOA\n" % zones[rng.randrange(len(zones))].rstrip("."))
            elif k == 1:
                f.write("%s NS\n" % zones[rng.randrange(len(zones))].rstrip("."))
            else:
                f.write("t%d.%s A\n" % (rng.randrange(100), ba.ZONE.rstrip(".")))
    return path


def dnsperf(side, queries, seconds, pg):
    """One dnsperf run (-c 1 -q 100, the repository's load setting) against the server: QPS, lost,
    the server's CPU per query and PostgreSQL's (all its processes) per query."""
    cpu0, pg0 = side.cpu(), pg.cpu()
    r = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(side.srv.dns_port), "-d", queries, "-c", "1",
                        "-q", "100", "-l", str(seconds)], capture_output=True, text=True, timeout=seconds + 60)
    cpu1, pg1 = side.cpu(), pg.cpu()
    out = r.stdout
    m = re.search(r"Queries per second:\s+([\d.]+)", out)
    comp = re.search(r"Queries completed:\s+(\d+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    noerr = re.search(r"NOERROR (\d+)", out)
    if not m or not comp:
        raise RuntimeError("%s: dnsperf said: %s%s" % (side.srv.label, out[-2000:], r.stderr[-2000:]))
    done = int(comp.group(1))
    return {"qps": float(m.group(1)), "completed": done, "lost": int(lost.group(1)) if lost else None,
            "noerror": int(noerr.group(1)) if noerr else None,
            "cpu_us": (cpu1 - cpu0) * 1e6 / done if done else None,
            "pg_cpu_us": (pg1 - pg0) * 1e6 / done if done else None}


def qps_phase(sides, queries, seconds, rounds, pg):
    got = {s.srv.label: [] for s in sides}
    for i in range(rounds):
        for s in (sides if i % 2 == 0 else sides[::-1]):
            got[s.srv.label].append(dnsperf(s, queries, seconds, pg))
            log("%s: queries/s round %d: %s" % (s.srv.label, i + 1, json.dumps(got[s.srv.label][-1])))
    out = {}
    for label, runs in got.items():
        out[label] = {"runs": runs, "qps": statistics.median(r["qps"] for r in runs),
                      "lost": sum(r["lost"] or 0 for r in runs), "completed": sum(r["completed"] for r in runs),
                      "noerror": sum(r["noerror"] or 0 for r in runs),
                      "cpu_us": statistics.median(r["cpu_us"] for r in runs),
                      "pg_cpu_us": statistics.median(r["pg_cpu_us"] for r in runs)}
    return out


# ------------------------------------------------------------------ report

def report(r, args):
    T, P = r["ternd"], r["PowerDNS"]
    fmt, ratio = ba.fmt, ba.ratio
    lines = ["# `make bench-pg`: ternd on PostgreSQL against PowerDNS %s with gpgsql" % r["pdns_version"], "",
             "%s, %s run; ternd %s. %s" % (r["date"], "quick" if args.quick else "full", r["ternd_version"],
                                             r["machine"]), "",
             "Issue 24's line: \"%s\"" % TARGET_LINE, "",
             "Read here as: sequential API writes per second (PATCH of one RRset) and zone creations per "
             "second >= 3x PowerDNS's; change -> served p99 <= 0.5x PowerDNS's (issue 8's line for the control "
             "plane on SQLite, `make bench-api`). Both servers keep their data in the same PostgreSQL server "
             "(a database each), started by the run.", "",
             "| measure | ternd | PowerDNS | ternd / PowerDNS | target |", "|---|---:|---:|---:|---|"]

    def row(what, a, b, target=None, ok=None):
        t = ""
        if target:
            t = "%s: **%s**" % (target, "met" if ok else "not met")
        lines.append("| %s | %s | %s | %s | %s |" % (what, fmt(a), fmt(b), ratio(a, b), t))

    for phase, what in (("served1", "1 zone"), ("servedN", "%s zones" % "{:,}".format(args.zones))):
        a, b = T[phase], P[phase]
        row("change -> served, %s: median ms" % what, a["served_median"], b["served_median"])
        row("change -> served, %s: p99 ms" % what, a["served_p99"], b["served_p99"], "<= 0.50x",
            a["served_p99"] <= 0.5 * b["served_p99"])
        row("&nbsp;&nbsp;API answer to the PATCH: median ms", a["ack_median"], b["ack_median"])
        row("&nbsp;&nbsp;API answer to the PATCH: p99 ms", a["ack_p99"], b["ack_p99"])
    row("&nbsp;&nbsp;UDP round trip of one poll (idle): median ms", T["rtt"], P["rtt"])
    a, b = T["patch"], P["patch"]
    row("sequential API writes/s (PATCH, 1 RRset each)", a["rate"], b["rate"], ">= 3x", a["rate"] >= 3 * b["rate"])
    row("&nbsp;&nbsp;PATCH latency: median ms", a["lat_median"], b["lat_median"])
    row("&nbsp;&nbsp;PATCH latency: p99 ms", a["lat_p99"], b["lat_p99"])
    row("&nbsp;&nbsp;server CPU per PATCH, ms (the server's threads; PostgreSQL's not included)", a["cpu_ms"],
        b["cpu_ms"])
    a, b = T["zones"], P["zones"]
    row("sequential zone creations/s ({:,} zones)".format(args.zones), a["rate"], b["rate"], ">= 3x",
        a["rate"] >= 3 * b["rate"])
    row("&nbsp;&nbsp;zones/s over the first tenth", a["rate_first10"], b["rate_first10"])
    row("&nbsp;&nbsp;zones/s over the last tenth", a["rate_last10"], b["rate_last10"])
    row("&nbsp;&nbsp;zone creation latency: median ms", a["lat_median"], b["lat_median"])
    a, b = T["qps"], P["qps"]
    row("queries/s served (dnsperf -c 1 -q 100, median of %d runs of %d s)" % (args.qps_rounds, args.qps_seconds),
        a["qps"], b["qps"])
    row("&nbsp;&nbsp;server CPU per query, us", a["cpu_us"], b["cpu_us"])
    row("&nbsp;&nbsp;PostgreSQL CPU per query, us (all its processes)", a["pg_cpu_us"], b["pg_cpu_us"])
    lines.append("")
    lines.append("dnsperf: ternd %s queries completed, %s lost, %s NOERROR; PowerDNS %s completed, %s lost, %s "
                 "NOERROR (every query names a zone or record that exists)." %
                 ("{:,}".format(a["completed"]), a["lost"], "{:,}".format(a["noerror"]),
                  "{:,}".format(b["completed"]), b["lost"], "{:,}".format(b["noerror"])))
    f = r["flush"]
    fl = f.get("patch") or f.get("start_overwrite")
    lines += ["", "**Device flush** (4 KiB pwrite + fdatasync in the work directory, where PostgreSQL's data "
              "directory is): at the start median %.2f ms (p99 %.2f); between the blocks of the PATCH run median "
              "**%.2f ms** (p99 %.2f, %d samples). Both servers' writes end in the same PostgreSQL's WAL flush "
              "(synchronous_commit on): one sequential client cannot go beyond ~%s durable writes/s."
              % (f["start_overwrite"]["median"], f["start_overwrite"]["p99"], fl["median"], fl["p99"], fl["n"],
                 "{:,.0f}".format(1e3 / fl["median"])), ""]
    lines += ["**How**: bench/api/bench_api.py's phases and client, imported (bench/api/README.md has the "
              "details): change -> served over %d changes per server and zone count (after %d untimed PATCHes "
              "each), a C poller asking `w.<zone> A` every %s ms and time-stamping the first answer with the new "
              "value; PATCH/s over %d writes or %.0f s per server; zones/s over %s creations; the servers take "
              "turns in blocks of %d operations (changes one by one), the order alternating. Then dnsperf "
              "(`-c 1 -q 100 -l %d`, %d rounds, the servers alternating) over %s queries drawn from the zones "
              "made (apex SOA and NS) and the PATCHed names (A). Keep-alive: ternd opened %d new TCP "
              "connection(s) for its timed PATCHes, PowerDNS %d (its webserver closes every connection)."
              % (args.changes, args.warmup, args.poll_ms, args.writes, args.seconds, "{:,}".format(args.zones),
                 args.block, args.qps_seconds, args.qps_rounds, "{:,}".format(args.queries),
                 T["patch"]["connects"], P["patch"]["connects"]), ""]
    busy = [float(x) for x in (r["load_start"].split()[:1] + r["load_end"].split()[:1])]
    if max(busy) > os.cpu_count() / 2:
        lines += ["**Shared host**: the load average reached %.0f on %d CPUs during the run, and a flush took "
                  "%.1f ms (a quiet disk here takes ~0.1 ms): every write of both servers waits for the same "
                  "PostgreSQL WAL flush and for the scheduler, so the absolute figures are low and noisy; the "
                  "servers took turns in the same minutes, so the ratios compare them under the same conditions."
                  % (max(busy), os.cpu_count(), fl["median"]), ""]
    lines += ["**Settings**:",
              "- PostgreSQL: one server for both, the run's own (initdb; unix socket only), at its defaults: %s."
              % r["pg_settings"],
              "- ternd: %s." % r["ternd_settings"],
              "- PowerDNS: %s. Caches: %s." % (r["pdns_settings"], r["pdns_caches"]),
              "- Scheduling of the client and both servers: %s. Host load average at the start %s, at the end %s."
              % ({"none": "as the host sets", "nice": "nice -10", "fifo": "SCHED_FIFO priority 10"}
                 .get(args.sched, args.sched), r["load_start"], r["load_end"]), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--poll", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--changes", type=int)
    ap.add_argument("--zones", type=int)
    ap.add_argument("--writes", type=int)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--block", type=int)
    ap.add_argument("--poll-ms", type=float, default=1.0)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--qps-seconds", type=int)
    ap.add_argument("--qps-rounds", type=int)
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--sched", default="none")
    args = ap.parse_args()
    q = args.quick
    args.changes = args.changes or (30 if q else 200)
    args.zones = args.zones or (1000 if q else 10000)
    args.writes = args.writes or (500 if q else 2000)
    args.seconds = args.seconds or (3.0 if q else 10.0)
    args.block = args.block or (50 if q else 100)
    args.warmup = args.warmup if args.warmup is not None else (50 if q else 200)
    args.qps_seconds = args.qps_seconds or (3 if q else 10)
    args.qps_rounds = args.qps_rounds or (1 if q else 3)

    ba.PIDFILE = os.path.join(args.work, "pids")
    ba.WORK_DIR = args.work
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, ba.on_signal)
    r = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(args.work),
         "load_start": loadavg(), "ternd_version": ternd_version()}
    r["pdns_version"] = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "pdns-server"],
                                       capture_output=True, text=True).stdout.strip()
    flush = ba.Flush(args.work)
    pg = None
    try:
        flush.sample("start_overwrite", 100)
        pg = Postgres(args.work)
        r["pg_settings"] = pg.settings()
        servers = [TerndPg(args.ternd, args.work, pg), PdnsPg(args.work, pg)]
        r["ternd_settings"], r["pdns_settings"] = servers[0].settings, servers[1].settings
        r["pdns_caches"] = ("off (packet, query and negative caches 0 s, zone cache off): every answer is read "
                            "from PostgreSQL, and a change is visible at once" if servers[1].caches == "off"
                            else "4.7's defaults (the API purges the zone's cache entries on a change)")
        for srv in servers:
            ba.wait_ready(srv)
        sides = [ba.Side(srv) for srv in servers]
        for s in sides:
            s.srv.send_create(s.h, ba.ZONE)
            status, body = s.h.receive()
            ba.expect(s.srv, status, body, s.srv.ok_create, "create " + ba.ZONE)
            s.srv.send_replace(s.h, ba.ZONE, "w." + ba.ZONE, ["192.0.2.1"])
            status, body = s.h.receive()
            ba.expect(s.srv, status, body, s.srv.ok_patch, "PATCH w." + ba.ZONE)
            s.res["rtt"] = ba.udp_rtt(s)
        log("warm-up: %d PATCHes each" % args.warmup)
        for s in sides:
            ba.patch_block(s, args.warmup)
        R = {s.srv.label: s.res for s in sides}

        def store(phase, out):
            for label, x in out.items():
                R[label][phase] = x
                log("%s: %s: %s" % (label, phase, json.dumps(x, default=lambda o: round(o, 3))))

        log("change -> served, 1 zone, %d changes each" % args.changes)
        store("served1", ba.change_served(sides, [ba.ZONE], args.changes, 1, args.poll, args.poll_ms))
        log("sequential PATCH, %d writes or %.0f s each" % (args.writes, args.seconds))
        store("patch", ba.interleaved(sides, flush, "patch", ba.patch_block, args.block, args.writes, args.seconds))
        log("sequential zone creation, %d zones each" % args.zones)
        store("zones", ba.interleaved(sides, flush, "zones", ba.create_block, args.block, args.zones))
        many = [ba.zone_name(i) for i in range(args.zones)]
        log("change -> served, %d zones, %d changes each" % (args.zones, args.changes))
        store("servedN", ba.change_served(sides, many, args.changes, 2, args.poll, args.poll_ms))
        queries = query_file(args.work, many, args.queries)
        log("queries/s: dnsperf, %d rounds of %d s each" % (args.qps_rounds, args.qps_seconds))
        store("qps", qps_phase(sides, queries, args.qps_seconds, args.qps_rounds, pg))
        r["load_end"] = loadavg()
        for srv in servers:
            if srv.proc.poll() is not None:
                raise RuntimeError("%s died during the run (see %s)" % (srv.label, srv.log.name))
    finally:
        ba.stop_all()
        if pg:
            pg.stop()
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
