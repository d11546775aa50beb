"""Usage counters (usage/usage.c, base/stats.c's stats_usage): tern_queries_total by zone, tenant,
question type, rcode and transport, and tern_zones / tern_records by tenant, on /metrics. An exact
mix of queries gives exact counters, equal per zone to Knot 3.2's mod-stats (`knotc zone-stats`) for
the same mix; queries for names outside every zone count under zone=""; API zones carry their
tenant; a zone removed and added again is counted afresh under the same name."""
import os
import re
import socket
import subprocess
import struct
import time
import urllib.request

import dns.message
import dns.rcode
import pytest

import knotlib
from apilib import ApiTernd, keys  # noqa: F401 (a fixture)
from sysutil import ZONE_FILES, serve
from ternlib import TERND, free_port

SAMPLE = re.compile(r'^(tern_[a-z_]+)\{(.*)\} (\d+)$')
LABEL = re.compile(r'([a-z]+)="((?:[^"\\]|\\.)*)"')


def scrape(port):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    rows = []
    for line in body.splitlines():
        m = SAMPLE.match(line)
        if m:
            rows.append((m.group(1), dict(LABEL.findall(m.group(2))), int(m.group(3))))
    return rows


def total(rows, family, **want):
    return sum(n for f, labels, n in rows if f == family and all(labels.get(k) == v for k, v in want.items()))


def minus(after, before):
    """after's samples less before's (same family and labels)."""
    was = {(f, tuple(sorted(labels.items()))): n for f, labels, n in before}
    return [(f, labels, n - was.get((f, tuple(sorted(labels.items()))), 0)) for f, labels, n in after]


def udp(port, name, rdtype="A", count=1):
    """count queries over one socket, each answered before the next is sent."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        for i in range(count):
            q = dns.message.make_query(name, rdtype)
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            while True:
                r = dns.message.from_wire(s.recv(65535))
                if r.id == q.id:
                    break
    finally:
        s.close()


def tcp(port, name, rdtype="A", count=1):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        for i in range(count):
            w = dns.message.make_query(name, rdtype).to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            (n,) = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))
            s.recv(n, socket.MSG_WAITALL)


def mix(port):
    """1,000 A and 10 NXDOMAIN for example.com over UDP, 5 MX over TCP for example.net, 3 for a
    zone served by neither (REFUSED)."""
    udp(port, "www.example.com", "A", 1000)
    udp(port, "nothing-here.example.com", "A", 10)
    tcp(port, "example.net", "MX", 5)
    udp(port, "www.example.org", "A", 3)


def knot_zone_stats(k, zone):
    out = knotlib.subprocess.run([knotlib.KNOTC, "-c", k.config, "zone-stats", zone], capture_output=True,
                                 text=True, check=True).stdout
    stats = {}
    for line in out.splitlines():
        m = re.match(r'^\[[^\]]+\] mod-stats\.([a-z-]+)\[([^\]]+)\] = (\d+)$', line)
        if m:
            stats[(m.group(1), m.group(2))] = int(m.group(3))
    return stats


@pytest.fixture(scope="module")
def ternd(tmp_path_factory):
    api = free_port()
    srv = serve(workdir=str(tmp_path_factory.mktemp("ternd")),
                extra_top="api:\n  listen: \"127.0.0.1@%d\"\n" % api)
    srv.api_port = api
    yield srv
    assert srv.proc.poll() is None
    assert srv.stop() == 0


def test_exact_mix_counted_per_zone_as_knot_counts_it(ternd, tmp_path):
    before = scrape(ternd.api_port)
    # only the start's readiness probes (". SOA", refused) were counted before the mix
    assert total(before, "tern_queries_total") == total(before, "tern_queries_total", zone="", rcode="REFUSED")
    mix(ternd.port)
    rows = minus(scrape(ternd.api_port), before)
    com = {"zone": "example.com.", "tenant": ""}
    assert total(rows, "tern_queries_total", **com, qtype="A", rcode="NOERROR", transport="udp") == 1000
    assert total(rows, "tern_queries_total", **com, qtype="A", rcode="NXDOMAIN", transport="udp") == 10
    assert total(rows, "tern_queries_total", **com) == 1010
    assert total(rows, "tern_queries_total", zone="example.net.", qtype="MX", rcode="NOERROR",
                 transport="tcp") == 5
    assert total(rows, "tern_queries_total", zone="example.net.") == 5
    assert total(rows, "tern_queries_total", zone="", tenant="", qtype="A", rcode="REFUSED", transport="udp") == 3
    assert total(rows, "tern_queries_total") == 1018, [r for r in rows if r[0] == "tern_queries_total"]
    assert total(rows, "tern_queries_unattributed_total") == 0
    # the same mix against Knot with mod-stats on each zone
    k = knotlib.Knot(workdir=tmp_path / "knot")
    body = ["mod-stats:", "  - id: usage", "    request-protocol: on", "    query-type: on", "    response-code: on",
            "template:", "  - id: default", "    storage: \"%s\"" % k.storage, "    zonefile-sync: -1",
            "    journal-content: none", "    module: mod-stats/usage", "zone:"]
    for name in ("example.com", "example.net"):
        body += ["  - domain: %s." % name, "    file: \"%s\"" % ZONE_FILES[name]]
    k.write_config(body)
    k.start()
    try:
        k.wait_soa("example.com.")
        k.wait_soa("example.net.")
        base = {z: knot_zone_stats(k, z) for z in ("example.com.", "example.net.")}
        mix(k.port)
        for zone, transport in (("example.com.", "udp"), ("example.net.", "tcp")):
            got = knot_zone_stats(k, zone)
            delta = {key: n - base[zone].get(key, 0) for key, n in got.items() if n != base[zone].get(key, 0)}
            for (kind, value), n in delta.items():
                if kind == "query-type":
                    assert total(rows, "tern_queries_total", zone=zone, qtype=value) == n, (zone, kind, value)
                elif kind == "response-code":
                    assert total(rows, "tern_queries_total", zone=zone, rcode=value) == n, (zone, kind, value)
                elif kind == "request-protocol":
                    assert value[:3] == transport
                    assert total(rows, "tern_queries_total", zone=zone, transport=value[:3]) == n, (zone, value)
            assert delta.get(("server-operation", "query")) == total(rows, "tern_queries_total", zone=zone), delta
            assert sum(n for (kind, _), n in delta.items() if kind == "query-type") == (1010 if transport == "udp"
                                                                                        else 5), delta
    finally:
        k.stop()


def test_zones_and_records_by_tenant(ternd):
    rows = scrape(ternd.api_port)
    zones = [(labels, n) for f, labels, n in rows if f == "tern_zones"]
    assert zones == [({"tenant": ""}, len(ZONE_FILES))], zones
    records = total(rows, "tern_records", tenant="")
    assert records > 20, records


def test_api_zones_carry_their_tenant_and_a_zone_back_counts_afresh(keys, tmp_path):
    srv = ApiTernd(keys, workdir=str(tmp_path)).start()
    try:
        a, b = srv.api(keys.token("tenant-a")), srv.api(keys.token("tenant-b"))
        a.create_zone("shop.test")
        a.put_rrset("shop.test", "www.shop.test", "A", 300, ["192.0.2.7"])
        b.create_zone("blog.test")
        deadline = time.time() + 10
        while time.time() < deadline:  # the zones served, their tenants looked up (once a second)
            rows = scrape(srv.api_port)
            if (total(rows, "tern_zones", tenant="tenant-a") == 1 and total(rows, "tern_zones", tenant="tenant-b") == 1):
                break
            time.sleep(0.1)
        udp(srv.port, "www.shop.test", "A", 7)
        udp(srv.port, "blog.test", "SOA", 3)
        # an SOA query signed with a key is a secondary's refresh: answered, not billed; a signed A
        # query is billed
        r = b.post("/api/v1/tsig-keys", {"name": "pop.blog", "acl": [{"zones": ["blog.test"]}]})
        assert r.status == 201, r
        import dns.query
        import dns.tsigkeyring
        ring = dns.tsigkeyring.from_text({"pop.blog.": r.json["secret"]})
        for qtype in ("SOA", "SOA", "A"):
            m = dns.message.make_query("blog.test.", qtype)
            m.use_tsig(ring, keyname="pop.blog.", algorithm=r.json["algorithm"])
            ans = dns.query.udp(m, "127.0.0.1", port=srv.port, timeout=3)
            assert ans.rcode() == dns.rcode.NOERROR and ans.had_tsig, ans
        rows = scrape(srv.api_port)
        assert total(rows, "tern_queries_total", zone="shop.test.", tenant="tenant-a", qtype="A") == 7
        assert total(rows, "tern_queries_total", zone="blog.test.", tenant="tenant-b", qtype="SOA") == 3
        assert total(rows, "tern_queries_total", zone="blog.test.", tenant="tenant-b", qtype="A") == 1
        assert total(rows, "tern_zones", tenant="tenant-a") == 1 and total(rows, "tern_zones", tenant="tenant-b") == 1
        assert total(rows, "tern_records", tenant="tenant-a") >= 4  # SOA, NS (the nameservers), A
        # a tenant name that needs escaping in a label cannot be made: tenants are checked by auth
        assert a.delete("/api/v1/zones/shop.test").status in (200, 204)
        deadline = time.time() + 10
        while time.time() < deadline and total(scrape(srv.api_port), "tern_zones", tenant="tenant-a"):
            time.sleep(0.1)
        rows = scrape(srv.api_port)
        assert total(rows, "tern_zones", tenant="tenant-a") == 0
        # the removed zone's queries stay counted under its name; a new zone of that name counts afresh
        assert total(rows, "tern_queries_total", zone="shop.test.", tenant="tenant-a") == 7
        b.create_zone("shop.test")
        deadline = time.time() + 10
        while time.time() < deadline and not total(scrape(srv.api_port), "tern_zones", tenant="tenant-b") == 2:
            time.sleep(0.1)
        udp(srv.port, "shop.test", "SOA", 2)
        rows = scrape(srv.api_port)
        assert total(rows, "tern_queries_total", zone="shop.test.", tenant="tenant-b") == 2
        assert total(rows, "tern_queries_total", zone="shop.test.", tenant="tenant-a") == 7
    finally:
        assert srv.stop() == 0


def today():
    return time.strftime("%Y-%m-%d", time.gmtime())


def usage(api, tenant, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    return api.get("/api/v1/tenants/%s/usage?%s" % (tenant, q))


def zone_queries(doc, zone):
    return sum(z["queries"] for p in doc["periods"] for z in p["zones"] if z["zone"] == zone)


def test_usage_api_equals_the_counters_across_restarts_and_a_kill(keys, tmp_path):
    """The usage API answers what /metrics counted (it flushes first); a restart keeps it; after a
    kill -9 at most the last flush interval (2 s here) is missing; CSV and month totals agree."""
    srv = ApiTernd(keys, workdir=str(tmp_path))
    with open(srv.config, "a") as f:
        f.write("usage:\n  flush-interval: 2\n")
    srv.start()
    a = srv.api(keys.token("tenant-a"))
    a.create_zone("count.test")
    time.sleep(1.2)  # the tenant looked up (once a second) before the queries are flushed
    udp(srv.port, "count.test", "SOA", 40)
    day = today()
    r = usage(a, "tenant-a", **{"from": day, "to": day})
    assert r.status == 200, r
    assert zone_queries(r.json, "count.test.") == 40, r.json
    assert r.json["periods"][0]["zone_days"] == 1, r.json
    csv = usage(a, "tenant-a", **{"from": day, "to": day, "format": "csv"})
    assert csv.status == 200 and csv.headers.get("Content-Type", "").startswith("text/csv"), csv
    assert csv.body.decode().splitlines() == ["period,zone,queries,zone_days", '%s,"count.test.",40,1' % day]
    month = usage(a, "tenant-a", **{"from": day[:8] + "01", "to": day, "granularity": "month"})
    assert month.json["periods"][0]["period"] == day[:7] and zone_queries(month.json, "count.test.") == 40
    # tern usage report: the token's tenant, the month's table
    cli = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(TERND), "tern"))
    env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % srv.api_port, TERN_TOKEN=keys.token("tenant-a"))
    p = subprocess.run([cli, "usage", "report", "--month", day[:7]], capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    rows = [line.split() for line in p.stdout.splitlines()]
    assert rows[0] == ["usage", "of", "tenant-a,", day[:7], "(UTC)"] and ["count.test.", "40", "1"] in rows, p.stdout
    assert ["total", "40", "1"] in rows, p.stdout
    p = subprocess.run([cli, "usage", "report", "--month", "2026-13"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode == 2 and "--month YYYY-MM" in p.stderr, p.stderr
    assert srv.stop() == 0
    srv.start()
    a = srv.api(keys.token("tenant-a"))
    r = usage(a, "tenant-a", **{"from": day, "to": day})
    assert zone_queries(r.json, "count.test.") == 40, r.json
    # queries, then more than one flush interval, then kill -9: all of them were stored
    udp(srv.port, "count.test", "SOA", 10)
    time.sleep(4.5)
    udp(srv.port, "count.test", "SOA", 5)  # within the interval: may be lost
    srv.kill9()
    srv.start()
    a = srv.api(keys.token("tenant-a"))
    n = zone_queries(usage(a, "tenant-a", **{"from": day, "to": day}).json, "count.test.")
    assert n in (50, 55), n
    assert srv.stop() == 0


def test_usage_api_refuses_bad_requests_and_other_tenants(keys, tmp_path):
    srv = ApiTernd(keys, workdir=str(tmp_path)).start()
    try:
        a = srv.api(keys.token("tenant-a"))
        admin = srv.api(keys.token("ops", admin=True))
        day = today()
        cases = [
            ({"from": day}, "to"),
            ({"to": day}, "from"),
            ({"from": "2026-02-30", "to": day}, "from"),
            ({"from": "26-01-01", "to": day}, "from"),
            ({"from": day, "to": "2026-13-01"}, "to"),
            ({"from": "2026-12-06", "to": "2026-12-05"}, "from"),
            ({"from": "2025-01-01", "to": "2026-02-01"}, "to"),  # 14 calendar months
            ({"from": day, "to": day, "granularity": "week"}, "granularity"),
            ({"from": day, "to": day, "format": "xml"}, "format"),
        ]
        for params, field in cases:
            r = usage(a, "tenant-a", **params)
            assert r.status == 400 and r.error["field"] == field, (params, r)
        assert usage(a, "tenant-a", **{"from": "2025-01-01", "to": "2026-01-31"}).status == 200  # 13 months
        r = usage(a, "tenant-b", **{"from": day, "to": day})
        assert r.status == 403 and r.error["field"] == "tenant", r
        assert usage(admin, "tenant-b", **{"from": day, "to": day}).status == 200
        assert a.get("/api/v1/tenants/tenant-a/usage?from=%s&to=%s" % (day, day), token=False).status == 401
    finally:
        assert srv.stop() == 0


def test_queries_over_tls_count_as_tls(tmp_path):
    import tlslib
    ca = tlslib.Ca(tmp_path / "pki")
    cert, key = ca.issue("server")
    api, tls_port = free_port(), free_port()
    (tmp_path / "ternd").mkdir()
    srv = serve(workdir=str(tmp_path / "ternd"),
                extra_server="tls:\n  listen: 127.0.0.1@%d\n  certificate: %s\n  key: %s\n" % (tls_port, cert, key),
                extra_top="api:\n  listen: \"127.0.0.1@%d\"\n" % api)
    try:
        before = scrape(api)
        ctx = tlslib.client_context(ca=ca.path)
        for _ in range(4):
            tlslib.query(tls_port, dns.message.make_query("www.example.com", "AAAA"), ctx)
        tcp(srv.port, "www.example.com", "AAAA", 2)
        rows = minus(scrape(api), before)
        com = {"zone": "example.com.", "qtype": "AAAA", "rcode": "NOERROR"}
        assert total(rows, "tern_queries_total", **com, transport="tls") == 4
        assert total(rows, "tern_queries_total", **com, transport="tcp") == 2
    finally:
        assert srv.stop() == 0


def test_counting_off_counts_nothing(tmp_path):
    """usage.count-queries: false (what make bench-usage compares against): no tern_queries_total."""
    api = free_port()
    srv = serve(workdir=str(tmp_path), extra_top="api:\n  listen: \"127.0.0.1@%d\"\nusage:\n  count-queries: false\n" % api)
    try:
        udp(srv.port, "www.example.com", "A", 20)
        rows = scrape(api)
        assert total(rows, "tern_queries_total") == 0, [r for r in rows if r[0] == "tern_queries_total"]
        assert total(rows, "tern_dns_queries_total", qtype="A") >= 20
    finally:
        assert srv.stop() == 0
