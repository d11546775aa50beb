"""Differential peers for `geo country` / `geo continent` (issue 17): gdnsd (geoip plugin), Knot
(mod-geoip) and PowerDNS (geoip backend) on the same MaxMind DB (built at run time, mmdblib) and
the same rules as ternd: BR -> br, NL -> nl, continent NA -> us, the rest -> world. Each peer must
give ternd's answer and ECS scope to the BR, NL and US clients; what it does differently is
listed in its test (and in docs/geo-database.md)."""
import os
import shutil
import subprocess
import tempfile

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

import mmdblib
from test_dyn_mmdb import CLIENTS, POOL, addrs, ask, scope, start_ternd
from ternlib import free_port, terminate, wait_log, wait_udp

SOA = "@ 300 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n"
# outside the database: answered by ternd with the answer list
OUTSIDE = [("192.0.2.0", 24), ("10.9.8.0", 24)]


@pytest.fixture(scope="module")
def lab():
    d = tempfile.mkdtemp(prefix="dyn-peers-")
    db = mmdblib.build(os.path.join(d, "geo.mmdb"), mmdblib.NETS)
    tdir = os.path.join(d, "ternd")
    os.makedirs(tdir)
    t = start_ternd(tdir, db, interval="60")
    wait_log(t.log_text, "geo database %s: GeoLite2-Country" % db)
    yield t, d, db
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def ternd_says(t, ip, prefix):
    r = ask(t.addr, t.port, ecs=(ip, prefix))
    return r.rcode(), addrs(r), scope(r)


def compare(t, port, name, outside_differs=False):
    """The peer at 127.0.0.1@port answers name as ternd answers www.geo.test for every database
    client (answer and scope); outside the database too unless outside_differs (returned)."""
    for ip, prefix, cc, want_scope in CLIENTS:
        r = ask("127.0.0.1", port, name=name, ecs=(ip, prefix))
        assert (r.rcode(), addrs(r), scope(r)) == ternd_says(t, ip, prefix) == (dns.rcode.NOERROR, [POOL[cc]],
                                                                                want_scope), (ip, r)
    seen = {}
    for ip, prefix in OUTSIDE:
        r = ask("127.0.0.1", port, name=name, ecs=(ip, prefix))
        seen[ip] = (r.rcode(), addrs(r), scope(r))
        if not outside_differs:
            assert seen[ip] == ternd_says(t, ip, prefix), (ip, seen[ip], ternd_says(t, ip, prefix))
            assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.1"], (ip, r)
    return seen


def need(binary, package):
    if not shutil.which(binary) and not os.path.exists(binary):
        pytest.skip("%s is not installed (make deps installs %s)" % (binary, package))


# ---- gdnsd: plugin geoip, a map continent -> country -> datacenter list ----

def test_gdnsd(lab):
    """Same answers and scopes everywhere here, outside the database too (gdnsd's scope there is its
    map's block around the client, which this database makes the empty block ternd reports).
    Known difference, not tested: gdnsd gives a CNAME or several addresses per datacenter, and
    picks among datacenters by its own monitors (ternd: pools and its monitors)."""
    need("/usr/sbin/gdnsd", "gdnsd")
    t, d, db = lab
    g = os.path.join(d, "gdnsd")
    os.makedirs(os.path.join(g, "zones"))
    port = free_port()
    with open(os.path.join(g, "config"), "w") as f:
        f.write("""options => {
  listen => [ 127.0.0.1 ]
  dns_port => %d
  udp_threads => 1
  tcp_threads => 1
  edns_client_subnet => true
  run_dir => %s/run
  state_dir => %s/state
}
plugins => { geoip => {
  maps => { m => {
    geoip2_db => %s
    datacenters => [ br, nl, us, world ]
    map => {
      default => [ world ]
      SA => { BR => [ br, world ] }
      EU => { NL => [ nl, world ] }
      NA => [ us, world ]
      AF => [ world ], AN => [ world ], AS => [ world ], OC => [ world ]
    }
  } }
  resources => { www => {
    map => m
    dcmap => { br => 192.0.2.10, nl => 192.0.2.20, us => 192.0.2.30, world => 192.0.2.1 }
  } }
} }
""" % (port, g, g, db))
    with open(os.path.join(g, "zones", "geo.test"), "w") as f:
        f.write(SOA + "www 60 DYNA geoip!www\n")
    log = open(os.path.join(g, "gdnsd.log"), "w")
    proc = subprocess.Popen(["/usr/sbin/gdnsd", "-c", g, "start"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_udp("127.0.0.1", port, proc=proc, timeout=20)
        compare(t, port, "www.geo.test")
    finally:
        terminate(proc)
        log.close()


# ---- Knot: mod-geoip in geodb mode, keyed by continent and country ----

def test_knot(lab):
    """Same answers and scopes for the database's clients. Known differences, both tested: outside
    the database Knot falls back to the zone's own records of the name (here www's default A) with
    ECS scope 0, so a resolver caches that answer for every client, mapped ones too (ternd: the
    empty block around the client); and a name without records of its own in the zone is NXDOMAIN
    there, NODATA when it has other types (ternd: the answer list, NOERROR; RFC 8020 makes
    resolvers cache a non-existence)."""
    need("/usr/sbin/knotd", "knot")
    need("/usr/lib/x86_64-linux-gnu/knot/modules-3.2/geoip.so", "knot-module-geoip")
    from knotlib import Knot
    t, d, db = lab
    k = Knot(workdir=os.path.join(d, "knot"))
    zone = os.path.join(k.dir, "geo.test.zone")
    geo = os.path.join(k.dir, "geo.conf")
    with open(zone, "w") as f:
        f.write("$ORIGIN geo.test.\n" + SOA + "www 60 IN A 192.0.2.1\nonly 60 IN TXT only-a-txt\n")
    entries = [("SA;BR", "192.0.2.10"), ("EU;NL", "192.0.2.20"), ("NA;*", "192.0.2.30")]
    with open(geo, "w") as f:
        for name in ("www.geo.test", "only.geo.test", "none.geo.test"):
            f.write(name + ":\n" + "".join('  - geo: "%s"\n    A: %s\n' % e for e in entries))
    k.write_config(["mod-geoip:", "  - id: geo", "    config-file: \"%s\"" % geo, "    ttl: 60",
                    "    mode: geodb", "    geodb-file: \"%s\"" % db,
                    "    geodb-key: [ continent/code, country/iso_code ]",
                    "zone:", "  - domain: geo.test", "    file: \"%s\"" % zone, "    module: mod-geoip/geo"],
                   server=["edns-client-subnet: on"])
    k.start()
    try:
        seen = compare(t, k.port, "www.geo.test", outside_differs=True)
        for ip, prefix in OUTSIDE:
            assert seen[ip] == (dns.rcode.NOERROR, ["192.0.2.1"], 0), (ip, seen[ip])
            assert ternd_says(t, ip, prefix)[2] > 0
        # mod-geoip's names without an A of their own: for a client outside the database, NODATA
        # (the name holds a TXT) or NXDOMAIN (the name holds nothing in the zone)
        for ip, prefix in OUTSIDE:
            r = ask("127.0.0.1", k.port, name="only.geo.test", ecs=(ip, prefix))
            assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
            r = ask("127.0.0.1", k.port, name="none.geo.test", ecs=(ip, prefix))
            assert r.rcode() == dns.rcode.NXDOMAIN, r
        # inside it, both answer as mapped
        r = ask("127.0.0.1", k.port, name="none.geo.test", ecs=("198.51.100.7", 24))
        assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.10"] and scope(r) == 24, r
    finally:
        k.stop()


# ---- PowerDNS: the geoip backend, a service trying country, continent, then the default ----

PDNS_ZONES = """domains:
- domain: geo.test
  ttl: 60
  records:
    geo.test:
      - soa: ns1.geo.test hostmaster.geo.test 1 7200 900 1209600 300
      - ns: ns1.geo.test
    ns1.geo.test:
      - a: 192.0.2.53
    br.www.geo.test:
      - a: 192.0.2.10
    nl.www.geo.test:
      - a: 192.0.2.20
    na.www.geo.test:
      - a: 192.0.2.30
    default.www.geo.test:
      - a: 192.0.2.1
  services:
    www.geo.test: [ '%cc.www.geo.test', '%cn.www.geo.test', 'default.www.geo.test' ]
"""


def test_powerdns(lab):
    """Same answers and scopes for the database's clients (the service's first name that exists:
    %cc the country, %cn the continent, lower case). Known difference, tested: outside the
    database PowerDNS answers the default with the scope of the whole address (/32), longer than
    the source prefix, so a resolver caches it per address (ternd: the empty block around the
    client)."""
    need("/usr/sbin/pdns_server", "pdns-server")
    need("/usr/lib/x86_64-linux-gnu/pdns/libgeoipbackend.so", "pdns-backend-geoip")
    t, d, db = lab
    p = os.path.join(d, "pdns")
    os.makedirs(p)
    port = free_port()
    with open(os.path.join(p, "zones.yaml"), "w") as f:
        f.write(PDNS_ZONES)
    with open(os.path.join(p, "pdns.conf"), "w") as f:
        f.write("\n".join([
            "launch=geoip", "geoip-database-files=mmdb:%s" % db, "geoip-zones-file=%s/zones.yaml" % p,
            "local-address=127.0.0.1", "local-port=%d" % port, "edns-subnet-processing=yes",
            "socket-dir=%s" % p, "guardian=no", "daemon=no", "disable-syslog=yes", "write-pid=no",
            "security-poll-suffix=", "receiver-threads=1", "distributor-threads=1"]) + "\n")
    log = open(os.path.join(p, "pdns.log"), "w")
    proc = subprocess.Popen(["/usr/sbin/pdns_server", "--config-dir=%s" % p], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_udp("127.0.0.1", port, proc=proc, timeout=20)
        seen = compare(t, port, "www.geo.test", outside_differs=True)
        for ip, prefix in OUTSIDE:
            assert seen[ip] == (dns.rcode.NOERROR, ["192.0.2.1"], 32), (ip, seen[ip])
            assert 0 < ternd_says(t, ip, prefix)[2] <= prefix
    finally:
        terminate(proc)
        log.close()
