#!/usr/bin/python3
"""Dynamic answers benchmark (`make bench-geo`): callgrind instructions per query for 10,000 EDNS
Client Subnet queries from 1,000 subnets, answered by a geo resource of 1,000 subnet entries, next
to the same queries for a static name of the same zone (the cost of a geo answer over a static
one), and the same rules served by the peers in the same run. Writes bench/results/geo.md."""
import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time

import dns.edns
import dns.message

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from benchlib import callgrind_ir, free_port, loadavg, machine, stop, ternd_version  # noqa: E402

ZONE = "geo.bench"
POOLS = ["192.0.2.%d" % (10 + i) for i in range(4)]
DEFAULT = "192.0.2.1"


def log(msg):
    print("[bench-geo %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def subnets(n):
    """n distinct /24s inside 10.0.0.0/8, each mapped to pool i % 4."""
    return [("10.%d.%d.0" % (i // 256, i % 256), 24, i % len(POOLS)) for i in range(n)]


def zone_text(nets, static=False):
    """The zone: www a geo resource, or (static) a fixed A record, the baseline for the same name."""
    lines = ["$ORIGIN %s." % ZONE, "$TTL 300", "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300", "@ IN NS ns1",
             "ns1 IN A 192.0.2.53", "static 60 IN A %s" % DEFAULT]
    if static:
        return "\n".join(lines + ["www 60 IN A %s" % DEFAULT]) + "\n"
    lines += ["www 60 IN DYN pool p%d %s" % (i, a) for i, a in enumerate(POOLS)]
    lines += ["www 60 IN DYN pool world %s" % DEFAULT, "www 60 IN DYN answer world"]
    lines += ["www 60 IN DYN geo %s/%d p%d world" % n for n in nets]
    return "\n".join(lines) + "\n"


def queries(nets, count, name, seed, static=False):
    """count ECS queries, count / len(nets) from each subnet (a random host's /24), shuffled; with the
    answer expected from the geo resource, or (static) the fixed record."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        net, plen, pool = nets[i % len(nets)]
        a = net.rsplit(".", 1)[0] + ".%d" % rng.randrange(1, 255)
        q = dns.message.make_query("%s.%s." % (name, ZONE), "A", use_edns=0,
                                   options=[dns.edns.ECSOption(a, plen)])
        q.id = rng.randrange(65536)
        out.append((q.to_wire(), POOLS[pool] if name == "www" and not static else DEFAULT))
    rng.shuffle(out)
    return out


def replay(port, msgs, check=True):
    """Sends the queries one at a time; returns the number answered as expected."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    good = 0
    for wire, want in msgs:
        s.sendto(wire, ("127.0.0.1", port))
        r = dns.message.from_wire(s.recv(4096))
        got = [rd.address for rrset in r.answer for rd in rrset]
        good += got == [want]
    s.close()
    return good


def wait_ready(port, proc, timeout=120):
    q = dns.message.make_query("static.%s." % ZONE, "A").to_wire()
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        try:
            s.sendto(q, ("127.0.0.1", port))
            if dns.message.from_wire(s.recv(4096)).answer:
                return
        except (socket.timeout, OSError):
            pass
        finally:
            s.close()
    raise RuntimeError("server not ready on port %d" % port)


def start_ternd(binary, d, port, wrap):
    with open(os.path.join(d, "ternd.yaml"), "w") as f:
        f.write('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: warning}\n'
                "zones:\n  - {name: %s, file: %s}\n" % (port, ZONE, os.path.join(d, ZONE + ".zone")))
    return subprocess.Popen(wrap + [binary, "-c", os.path.join(d, "ternd.yaml")], cwd=d,
                            stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)


KNOT_CONF = """server:
    rundir: "{dir}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    edns-client-subnet: on
database:
    storage: "{dir}/storage"
log:
  - target: stderr
    any: warning
mod-geoip:
  - id: geo
    config-file: "{dir}/geo.conf"
    mode: subnet
    ttl: 60
zone:
  - domain: {zone}.
    file: "{dir}/{zone}.zone"
    module: mod-geoip/geo
"""


def knot_files(d, nets):
    """The same rules for Knot's mod-geoip in subnet mode (as `tern geo render-knot` writes them):
    each subnet's pool; the zone holds the default answer."""
    with open(os.path.join(d, "geo.conf"), "w") as f:
        f.write("www.%s:\n" % ZONE)
        for net, plen, pool in nets:
            f.write("  - net: %s/%d\n    A: [ %s ]\n" % (net, plen, POOLS[pool]))
    lines = ["$ORIGIN %s." % ZONE, "$TTL 300", "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300", "@ IN NS ns1",
             "ns1 IN A 192.0.2.53", "static 60 IN A %s" % DEFAULT, "www 60 IN A %s" % DEFAULT]
    with open(os.path.join(d, ZONE + ".zone"), "w") as f:
        f.write("\n".join(lines) + "\n")


def start_knot(nets, d, port, wrap, geo=True):
    for sub in ("run", "storage"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    knot_files(d, nets)
    conf = KNOT_CONF.format(dir=d, port=port, zone=ZONE)
    if not geo:  # the baseline: the same zone without the module
        conf = conf.replace("    module: mod-geoip/geo\n", "")
    with open(os.path.join(d, "knot.conf"), "w") as f:
        f.write(conf)
    return subprocess.Popen(wrap + ["knotd", "-c", os.path.join(d, "knot.conf")], cwd=d,
                            stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)


GDNSD_CONF = """options => {{
  listen => [ 127.0.0.1 ]
  dns_port => {port}
  udp_threads => 1
  tcp_threads => 1
  edns_client_subnet => true
  run_dir => {dir}/run
  state_dir => {dir}/state
}}
"""


def gdnsd_files(d, nets, port, geo):
    """The same rules for gdnsd's geoip plugin: a map of nets alone (no database), each subnet's
    datacenter list its pool then the default (ternd's failover order), and www a DYNA of it; the
    baseline (geo false) the zone with www's fixed A record and no plugin."""
    conf = GDNSD_CONF.format(dir=d, port=port)
    www = "www 60 A %s" % DEFAULT
    if geo:
        dcs = ["p%d" % i for i in range(len(POOLS))]
        conf += "plugins => { geoip => {\n  maps => { m => {\n    datacenters => [ %s, world ]\n    nets => {\n" % (
            ", ".join(dcs))
        conf += "".join("      %s/%d => [ p%d, world ]\n" % n for n in nets)
        conf += "    }\n  } }\n  resources => { www => {\n    map => m\n    dcmap => { %s, world => %s }\n" % (
            ", ".join("p%d => %s" % (i, a) for i, a in enumerate(POOLS)), DEFAULT)
        conf += "  } }\n} }\n"
        www = "www 60 DYNA geoip!www"
    os.makedirs(os.path.join(d, "zones"), exist_ok=True)
    with open(os.path.join(d, "config"), "w") as f:
        f.write(conf)
    lines = ["$TTL 300", "@ SOA ns1 hostmaster 1 7200 900 1209600 300", "@ NS ns1", "ns1 A 192.0.2.53",
             "static 60 A %s" % DEFAULT, www]
    with open(os.path.join(d, "zones", ZONE), "w") as f:
        f.write("\n".join(lines) + "\n")


def start_gdnsd(nets, d, port, wrap, geo=True):
    gdnsd_files(d, nets, port, geo)
    return subprocess.Popen(wrap + ["gdnsd", "-c", d, "start"], cwd=d,
                            stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)


def measure(name, start, work, text, msgs):
    """Instructions per query: a run that only starts and stops, and one that also answers msgs."""
    ir = {}
    for mode in ("idle", "replay"):
        d = os.path.join(work, "%s-%s" % (name, mode))
        os.makedirs(d)
        if text:
            with open(os.path.join(d, ZONE + ".zone"), "w") as f:
                f.write(text)
        port = free_port()
        wrap = ["valgrind", "--tool=callgrind", "-q", "--collect-atstart=yes", "--trace-children=yes",
                "--callgrind-out-file=%s/callgrind.out.%%p" % d]
        proc = start(d, port, wrap)
        try:
            wait_ready(port, proc)
            if mode == "replay":
                good = replay(port, msgs)
                if good != len(msgs):
                    raise RuntimeError("%s: %d of %d answers as expected" % (name, good, len(msgs)))
        finally:
            stop(proc, 600)
        ir[mode] = callgrind_ir(d)
    return (ir["replay"] - ir["idle"]) / len(msgs)


def gdnsd_version():
    """gdnsd prints its version with the usage of an unknown option."""
    out = subprocess.run(["gdnsd", "-V"], capture_output=True, text=True)
    for word in (out.stdout + out.stderr).split("version ", 1)[1:]:
        return word.split()[0]
    return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--subnets", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--sched", default="none", help="how bench_drive scheduled the run (reported)")
    ap.add_argument("--servers", default="ternd,knot,gdnsd",
                    help="comma-separated servers to measure; the report needs all three")
    args = ap.parse_args()
    servers = set(args.servers.split(","))
    if not servers or servers - {"ternd", "knot", "gdnsd"}:
        ap.error("--servers takes ternd, knot and gdnsd")
    nets = subnets(args.subnets)
    text = zone_text(nets)
    geo_q = queries(nets, args.queries, "www", 1)
    static_q = queries(nets, args.queries, "www", 1, static=True)  # the same messages
    res = {"machine": machine(args.work), "load_before": loadavg(), "ternd": ternd_version()}
    runs = [  # key, zone text for ternd ("" for the peers, which write their own files), start, queries
        ("ternd_static", zone_text(nets, static=True), lambda d, port, wrap: start_ternd(args.ternd, d, port, wrap),
         static_q),
        ("ternd_geo", text, lambda d, port, wrap: start_ternd(args.ternd, d, port, wrap), geo_q),
        ("knot_static", "", lambda d, port, wrap: start_knot(nets, d, port, wrap, geo=False), static_q),
        ("knot_geo", "", lambda d, port, wrap: start_knot(nets, d, port, wrap), geo_q),
        ("gdnsd_static", "", lambda d, port, wrap: start_gdnsd(nets, d, port, wrap, geo=False), static_q),
        ("gdnsd_geo", "", lambda d, port, wrap: start_gdnsd(nets, d, port, wrap), geo_q),
    ]
    for key, zone, start, msgs in runs:
        if key.split("_")[0] not in servers:
            continue
        res[key] = measure(key.replace("_", "-"), start, args.work, zone, msgs)
        log("%s: %.0f instructions per query" % (key.replace("_", " "), res[key]))
    if servers != {"ternd", "knot", "gdnsd"}:  # a partial run (tuning): the figures, no report
        if "ternd_static" in res and "ternd_geo" in res:
            log("ternd geo/static %.3f" % (res["ternd_geo"] / res["ternd_static"]))
        return
    res["knot_version"] = subprocess.run(["knotd", "-V"], capture_output=True, text=True).stdout.split()[-1]
    res["gdnsd_version"] = gdnsd_version()
    res["load_after"] = loadavg()
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(res, f, indent=1)
    base = res["ternd_static"]
    peer = min(("knot_geo", "gdnsd_geo"), key=lambda k: res[k])
    peer_name = {"knot_geo": "Knot mod-geoip", "gdnsd_geo": "gdnsd geoip"}[peer]
    ratio, vs_peer = res["ternd_geo"] / base, res["ternd_geo"] / res[peer]
    row = "| %s | %s | %.0f | %.2f | %s |"
    md = ["# Dynamic answers benchmark (`make bench-geo`)", "",
          "Callgrind instructions per query (the server process, start-up and shutdown subtracted), %d UDP "
          "queries with EDNS Client Subnet from %d /24 subnets; the geo name's resource maps each subnet "
          "to one of %d pools, then a default pool (%d geo entries; Knot's mod-geoip in subnet mode and "
          "gdnsd's geoip plugin with a nets map hold the same entries); \"static\" is the same queries "
          "for the same name holding one A record instead. Ratios are to ternd's static answer." % (
              args.queries, args.subnets, len(POOLS), args.subnets), "",
          "| server | answer | instructions/query | ratio | target |", "|---|---|---|---|---|",
          row % ("ternd", "static", base, 1.0, ""),
          row % ("ternd", "geo", res["ternd_geo"], ratio, "<= 1.15 %s" % ("met" if ratio <= 1.15 else "**not met**")),
          row % ("Knot %s (no module)" % res["knot_version"], "static", res["knot_static"], res["knot_static"] / base,
                 ""),
          row % ("Knot %s mod-geoip (subnet mode)" % res["knot_version"], "geo", res["knot_geo"],
                 res["knot_geo"] / base, ""),
          row % ("gdnsd %s" % res["gdnsd_version"], "static", res["gdnsd_static"], res["gdnsd_static"] / base, ""),
          row % ("gdnsd %s geoip (nets map)" % res["gdnsd_version"], "geo", res["gdnsd_geo"],
                 res["gdnsd_geo"] / base, ""),
          "| **ternd geo / %s geo** (the better peer) | | | **%.2f** | <= 0.8 %s |" % (
              peer_name, vs_peer, "met" if vs_peer <= 0.8 else "**not met**"), "",
          "Machine: %s; load average before %s, after %s. ternd %s." % (
              res["machine"], res["load_before"], res["load_after"], res["ternd"]),
          ""]
    with open(args.out, "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
