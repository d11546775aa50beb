#!/usr/bin/python3
"""A catalog of many members (`make bench-catalog`, issue 18): a ternd primary serves N zone files
and an API, and produces the catalog; a ternd PoP (catalog: true, its disk copies in /dev/shm) and
Knot (catalog-role: interpret) consume it. Once both serve every member, one zone is created and
one deleted through the API, ROUNDS times: the time until each consumer serves (or drops) it, the
IXFR of the catalog for that change (records, bytes; the AXFR beside it), and CPU: the primary's
catalog thread per version, the PoP's catalog and refresh threads, Knot's process. Writes a
Markdown table to --out."""
import argparse
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from benchlib import free_port, stop  # noqa: E402
import devtoken  # noqa: E402
from test_catalog_scale import CAT, rcodes, transfer, ptr_targets  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[bench-catalog %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def member(i):
    return "m%d.cat.test" % i


def thread_cpu(pid, names=None):
    """CPU seconds of the process (names=None) or of its threads whose comm is in names."""
    if names is None:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, tid)).read().strip()
            if comm in names:
                f = open("/proc/%d/task/%s/stat" % (pid, tid)).read().rsplit(")", 1)[1].split()
                total += (int(f[11]) + int(f[12])) / TICK
        except OSError:
            pass
    return total


def http(port, method, path, token, body=None):
    import http.client
    import json
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def soa_serial(port, name):
    import dns.message
    import dns.query
    try:
        r = dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=1)
        return r.answer[0][0].serial if r.answer else None
    except Exception:
        return None


def wait_knot_serial(path, serial, timeout, since):
    """When Knot logged the catalog's refresh to serial (its log read from offset since on)."""
    pat = re.compile(r"\[%s\] refresh, remote [^,]+, zone updated, [^,]+, serial \S+ -> %d\b" % (re.escape(CAT), serial))
    start = time.time()
    with open(path) as f:
        f.seek(since)
        buf = ""
        while time.time() - start < timeout:
            buf += f.read()
            if pat.search(buf):
                return time.time()
            buf = buf[buf.rfind("\n") + 1:]
            time.sleep(0.005)
    return None


def wait_rcode(port, name, rcode, timeout):
    start = time.time()
    while time.time() - start < timeout:
        if rcodes(port, [name])[name] == rcode:
            return time.time()
        time.sleep(0.002)
    return None


def wait_all(port, names, timeout, who):
    """Seconds until every name answered its SOA with NOERROR (each pass asks only the names not
    served yet), or None after timeout."""
    start = time.time()
    missing = list(names)
    while True:
        codes = rcodes(port, missing, window=100)
        missing = [nm for nm in missing if codes[nm] != 0]
        if not missing:
            return time.time() - start
        if time.time() - start > timeout:
            return None
        log("%s: %d of %d members served (%.0f s)" % (who, len(names) - len(missing), len(names), time.time() - start))
        time.sleep(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--members", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work")
    ap.add_argument("--load-timeout", type=float, default=900)
    ap.add_argument("--label", default="", help="what was measured (a commit), for the table")
    ap.add_argument("--consumers", default="pop,knot", help="pop, knot, both or none")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="tern-bench-catalog-")
    shm = tempfile.mkdtemp(prefix="tern-bench-catalog-pop-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    n = a.members
    procs = []
    try:
        zdir = os.path.join(work, "zones")
        os.makedirs(zdir, exist_ok=True)
        names = [member(i) for i in range(n)]
        for nm in names:
            with open(os.path.join(zdir, nm + ".zone"), "w") as f:
                f.write("$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n"
                        "ns1 A 192.0.2.1\nwww A 192.0.2.3\n" % nm)
        key, jwks = devtoken.ensure_keys(os.path.join(work, "keys"))
        token = devtoken.token(key, "bench", hours=48)
        pport, api_port, popport, kport = free_port(), free_port(), free_port(), free_port()
        pdir = os.path.join(work, "primary")
        os.makedirs(pdir)
        with open(os.path.join(pdir, "ternd.yaml"), "w") as f:
            f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: info}\n' % pport)
            f.write('api: {listen: "127.0.0.1@%d", data-dir: "%s", jwks: "%s", rate-limit: 0, '
                    'nameservers: ["ns1.tern.test.", "ns2.tern.test."]}\n' % (api_port, os.path.join(pdir, "data"), jwks))
            f.write("catalog: {zone: %s}\ntransfer:\n  allow: [127.0.0.0/8]\n" % CAT)
            f.write('  notify: ["127.0.0.1@%d", "127.0.0.1@%d"]\nzones:\n' % (popport, kport))
            for nm in names:
                f.write("  - {name: %s, file: %s}\n" % (nm, os.path.join(zdir, nm + ".zone")))
        started = time.time()
        plog = open(os.path.join(pdir, "ternd.log"), "w")
        primary = subprocess.Popen([a.ternd, "-c", os.path.join(pdir, "ternd.yaml")], stdout=plog, stderr=subprocess.STDOUT)
        procs.append(primary)
        while soa_serial(pport, CAT) is None:
            assert primary.poll() is None, "the primary died"
            time.sleep(0.1)
        primary_start = time.time() - started
        log("primary: %d zones and the catalog served after %.1f s" % (n, primary_start))
        axfr_records, axfr_bytes, _ = transfer(pport, "AXFR")
        # consumers
        with open(os.path.join(shm, "ternd.yaml"), "w") as f:
            f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: info}\nzones:\n' % popport)
            f.write('  - {name: "%s", primary: ["127.0.0.1@%d"], catalog: true}\n' % (CAT, pport))
        kdir = os.path.join(work, "knot")
        os.makedirs(os.path.join(kdir, "storage"))
        os.makedirs(os.path.join(kdir, "run"))
        kconf = os.path.join(kdir, "knot.conf")
        with open(kconf, "w") as f:
            f.write("""server:
    rundir: "{d}/run"
    listen: 127.0.0.1@{port}
    background-workers: 2
database:
    storage: "{d}/storage"
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: 127.0.0.1@{pport}
acl:
  - id: from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "{d}/storage"
    zonefile-sync: -1
    journal-content: changes
  - id: member
    master: primary
    acl: from_primary
    storage: "{d}/storage"
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: {cat}
    master: primary
    acl: from_primary
    catalog-role: interpret
    catalog-template: member
""".format(d=kdir, port=kport, pport=pport, cat=CAT))
        use_pop = a.consumers in ("pop", "both") or "pop" in a.consumers.split(",")
        use_knot = a.consumers in ("knot", "both") or "knot" in a.consumers.split(",")
        t0 = time.time()
        pop = knot = None
        if use_pop:
            poplog = open(os.path.join(shm, "ternd.log"), "w")
            pop = subprocess.Popen([a.ternd, "-c", os.path.join(shm, "ternd.yaml")], stdout=poplog,
                                   stderr=subprocess.STDOUT)
            procs.append(pop)
        if use_knot:
            klog = open(os.path.join(kdir, "knot.log"), "w")
            knot = subprocess.Popen(["knotd", "-c", kconf], stdout=klog, stderr=subprocess.STDOUT)
            procs.append(knot)
        load = {}
        for port, who, used in ((popport, "ternd PoP", use_pop), (kport, "Knot", use_knot)):
            if not used:
                continue
            took = wait_all(port, names, max(1, a.load_timeout - (time.time() - t0)), who)
            load[who] = (time.time() - t0) if took is not None else None
            if took is None:
                got = sum(1 for c in rcodes(port, names, window=100).values() if c == 0)
                load[who + " members"] = got
            log("%s: every member served after %s" % (who, "%.1f s" % load[who] if load[who] else "(not within the bound)"))
        time.sleep(3)  # disk copies, Knot's zone flushes
        rows = []
        cat_threads = {"ternd-catalog"}

        def cpus():
            return (thread_cpu(primary.pid, cat_threads), thread_cpu(primary.pid),
                    thread_cpu(pop.pid, {"ternd-catalogs", "ternd-xfrin"}) if pop else 0,
                    thread_cpu(pop.pid) if pop else 0, thread_cpu(knot.pid) if knot else 0)
        for r in range(a.rounds):
            for op in ("add", "remove"):
                name = "r%d.bench.test" % r
                s0 = soa_serial(pport, CAT)
                ksince = os.path.getsize(os.path.join(kdir, "knot.log")) if knot else 0
                cpu0 = cpus()
                start = time.time()
                if op == "add":
                    st = http(api_port, "POST", "/api/v1/zones", token, {"name": name})
                    want = 0
                else:
                    st = http(api_port, "DELETE", "/api/v1/zones/" + name, token)
                    want = 5
                assert st in (201, 204), st
                api_done = time.time() - start
                while soa_serial(pport, CAT) == s0:
                    time.sleep(0.001)
                cat_done = time.time() - start
                s1 = soa_serial(pport, CAT)
                tp = wait_rcode(popport, name, want, 60) if pop else None
                tkc = wait_knot_serial(os.path.join(kdir, "knot.log"), s1, 60, ksince) if knot else None
                tk = wait_rcode(kport, name, want, 60 if load.get("Knot") else 5) if knot else None
                time.sleep(0.5)  # let the last CPU land
                cpu1 = cpus()
                recs, nbytes, _ = transfer(pport, "IXFR", s0)
                ixfr = "%d records, %d bytes" % (len(recs), nbytes) if ptr_targets(recs) == [name + "."] else \
                    "NOT incremental: %d records, %d bytes" % (len(recs), nbytes)
                row = dict(op=op, api=api_done, cat=cat_done, pop=(tp - start) if tp else None,
                           knotcat=(tkc - start) if tkc else None, knot=(tk - start) if tk else None, ixfr=ixfr,
                           cpu=[b - c for b, c in zip(cpu1, cpu0)])
                rows.append(row)
                log("%s %s: %s" % (op, name, row))
        plog_text = open(os.path.join(pdir, "ternd.log")).read()
        sent = re.findall(r"transfer: %s (IXFR|AXFR|IXFR to [^:]+: serial \d+ is current)" % re.escape(CAT), plog_text)
        sent = [k for k in sent if k in ("IXFR", "AXFR")]
        kx = re.findall(r"\[%s\] (AXFR|IXFR), incoming, remote [^,]+, finished" % re.escape(CAT),
                        open(os.path.join(kdir, "knot.log")).read()) if knot else []
        popx = len(re.findall(r"zone %s: IXFR from" % re.escape(CAT),
                              open(os.path.join(shm, "ternd.log")).read())) if pop else 0

        def med(key):
            v = [r[key] for r in rows if r[key] is not None]
            return statistics.median(v) if v else None

        def ms(x):
            return "%.1f ms" % (x * 1000) if x is not None else "-"

        def loaded(who):
            if who not in load:
                return "not run"
            if load[who]:
                return "%.1f s" % load[who]
            return "not within %d s (%d of %d served then)" % (a.load_timeout, load[who + " members"], n)
        v = len(rows)
        lines = ["# Catalog of %d members: one member added and removed (`make bench-catalog`)" % n, "",
                 "Measured %s (%d CPUs, load %s); %d rounds of one API zone created then deleted at the "
                 "primary; times are medians per change, CPU is the total over all changes divided by their "
                 "number (/proc ticks of 10 ms). Release build %s." % (
                     time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), open("/proc/loadavg").read().split()[0],
                     a.rounds, a.label),
                 "",
                 "| what | value |", "|---|---|",
                 "| primary: %d zone files and the catalog served after start | %.1f s |" % (n, primary_start),
                 "| the catalog's AXFR | %d records, %d bytes |" % (len(axfr_records), axfr_bytes),
                 "| ternd PoP: every member served after start | %s |" % loaded("ternd PoP"),
                 "| Knot: every member served after start | %s |" % loaded("Knot"),
                 "| API call returned | %s |" % ms(med("api")),
                 "| new catalog serial served by the primary | %s |" % ms(med("cat")),
                 "| ternd PoP serves the change | %s |" % ms(med("pop")),
                 "| Knot has the new catalog version | %s |" % ms(med("knotcat")),
                 "| Knot serves the change | %s |" % ms(med("knot")),
                 "| IXFR of the catalog asked from the previous serial | %s |" % rows[0]["ixfr"],
                 "| primary: catalog thread CPU per version (%d versions) | %s |" % (
                     v, ms(sum(r["cpu"][0] for r in rows) / v)),
                 "| primary: process CPU per change (API, store, catalog, transfers out) | %s |" % ms(
                     sum(r["cpu"][1] for r in rows) / v),
                 "| ternd PoP: catalog + refresh threads CPU per change | %s |" % ms(sum(r["cpu"][2] for r in rows) / v),
                 "| ternd PoP: process CPU per change | %s |" % ms(sum(r["cpu"][3] for r in rows) / v),
                 "| Knot: process CPU per change | %s |" % ms(sum(r["cpu"][4] for r in rows) / v),
                 "| catalog transfers the primary sent (all, with the consumers' first) | %s |" % ", ".join(
                     "%d %s" % (sent.count(k), k) for k in ("IXFR", "AXFR")),
                 "| Knot's catalog transfers in | %s |" % ", ".join("%d %s" % (kx.count(k), k) for k in ("AXFR", "IXFR")),
                 "| ternd PoP's catalog IXFRs in | %d |" % popx, ""]
        lines += ["Per change:", "", "| change | API | catalog | PoP | Knot (catalog) | Knot (member) | IXFR |",
                  "|---|---|---|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s | %s | %s | %s |" % (r["op"], ms(r["api"]), ms(r["cat"]), ms(r["pop"]),
                                                        ms(r["knotcat"]), ms(r["knot"]), r["ixfr"]) for r in rows]
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(shm, ignore_errors=True)
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
