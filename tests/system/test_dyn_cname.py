"""CNAME resources (issue 17, lib/dyn.h "Name pools"): a DYN resource whose pools hold names makes
its name a CNAME node for every client; only the target depends on the client. Served by ternd
from a zone file and asked by dnspython: the target by Client Subnet (with its scope) chased in the
zone, a 90/10 weighted name pool, every query type at the node, a wildcard owner, the DYN type
itself; through the API: refusals that change nothing, the plain export, explain, and a ternd PoP
fed by IXFR answering the same; and a zone signed by ternd whose answers validate against the
served DNSKEY and whose NSEC bitmaps list CNAME."""
import math
import os
import socket
import tempfile
import time
import urllib.parse

import dns.dnssec
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from apilib import assert_error, keys  # noqa: F401 (fixture)
from ternlib import Ternd
from test_dyn_api import cluster  # noqa: F401 (fixture)
from test_zonefile_signing import FileTernd, wait_signed

# A share drawn n times is held to 4 standard deviations: 3 failed a fresh-clone CI by chance
# (Knot drew 1842 of 2000 at 90%: 3.1 sigma); a broken weighting (50/50 for 90/10) is 60 sigma away.
SIGMAS = 4

ZONE = """$ORIGIN cdn.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
br IN A 192.0.2.10
br IN AAAA 2001:db8::10
world IN A 192.0.2.1
a IN A 192.0.2.7
b IN A 192.0.2.8
www 60 IN DYN pool br br.cdn.test.
www 60 IN DYN pool world world.cdn.test.
www 60 IN DYN answer world
www 60 IN DYN geo 198.51.100.0/24 br world
w 30 IN DYN pool w a.cdn.test. weight 90 b.cdn.test. weight 10
w 30 IN DYN answer w
*.apps 60 IN DYN pool p br.cdn.test.
*.apps 60 IN DYN answer p
gone 60 IN DYN pool p nowhere.cdn.test.
gone 60 IN DYN answer p
out 60 IN DYN pool p www.example.net.
out 60 IN DYN answer p
"""

BR = ("198.51.100.7", 24)


def write_zone(text, name="cdn.test"):
    d = tempfile.mkdtemp(prefix="dyn-cname-")
    path = os.path.join(d, name + ".zone")
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.fixture(scope="module")
def server():
    with Ternd({"cdn.test": write_zone(ZONE)}) as t:
        yield t


def ask(t, name, rdtype="A", ecs=None, tcp=False, dnssec=False):
    opts = [dns.edns.ECSOption(*ecs)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0, options=opts, want_dnssec=dnssec)
    if tcp:
        return dns.query.tcp(q, t.addr, port=t.port, timeout=3)
    return dns.query.udp(q, t.addr, port=t.port, timeout=3)


def chain(r):
    """The answer as [(owner, type, data)], in order, without signatures."""
    return [(rs.name.to_text(), dns.rdatatype.to_text(rs.rdtype), rd.to_text())
            for rs in r.answer if rs.rdtype != dns.rdatatype.RRSIG for rd in rs]


def scope(r):
    ecs = [o for o in r.options if o.otype == dns.edns.ECS]
    return ecs[0].scopelen if ecs else None


def test_target_by_client_subnet_chased_in_zone(server):
    r = ask(server, "www.cdn.test", "A", ecs=BR)
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    assert chain(r) == [("www.cdn.test.", "CNAME", "br.cdn.test."), ("br.cdn.test.", "A", "192.0.2.10")]
    assert r.answer[0].ttl == 60 and scope(r) == 24
    # another client: the answer list's target; without ECS no scope, with one the block around it
    r = ask(server, "www.cdn.test", "A")
    assert chain(r) == [("www.cdn.test.", "CNAME", "world.cdn.test."), ("world.cdn.test.", "A", "192.0.2.1")]
    assert scope(r) is None
    r = ask(server, "www.cdn.test", "A", ecs=("192.0.2.0", 24))
    assert chain(r)[0] == ("www.cdn.test.", "CNAME", "world.cdn.test.")
    assert scope(r) == 6  # 192.0.0.0/6 holds no entry; never 0 beside entries


def test_weighted_name_pool(server):
    n, seen = 2000, {"a.cdn.test.": 0, "b.cdn.test.": 0}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    wire = dns.message.make_query("w.cdn.test", "A").to_wire()
    for _ in range(n):
        s.sendto(wire, (server.addr, server.port))
        c = chain(dns.message.from_wire(s.recv(4096)))
        assert len(c) == 2 and c[0][1] == "CNAME", c
        seen[c[0][2]] += 1
    s.close()
    for name, p in (("a.cdn.test.", 0.9), ("b.cdn.test.", 0.1)):
        assert abs(seen[name] - n * p) <= SIGMAS * math.sqrt(n * p * (1 - p)), seen


def test_every_type_at_the_node(server):
    cname = ("www.cdn.test.", "CNAME", "br.cdn.test.")
    # CNAME: the CNAME itself, not followed (RFC 1034 4.3.2 step 3a)
    r = ask(server, "www.cdn.test", "CNAME", ecs=BR)
    assert chain(r) == [cname] and scope(r) == 24
    # AAAA: chased to the target's AAAA
    r = ask(server, "www.cdn.test", "AAAA", ecs=BR)
    assert chain(r) == [cname, ("br.cdn.test.", "AAAA", "2001:db8::10")]
    # MX: the CNAME, then the target's NODATA (SOA in authority)
    r = ask(server, "www.cdn.test", "MX", ecs=BR)
    assert r.rcode() == dns.rcode.NOERROR and chain(r) == [cname]
    assert [rs.rdtype for rs in r.authority] == [dns.rdatatype.SOA]
    # ANY (UDP and TCP): the CNAME, never the statements
    for tcp in (False, True):
        r = ask(server, "www.cdn.test", "ANY", ecs=BR, tcp=tcp)
        assert chain(r) == [cname], r
    # the DYN type itself stays NODATA
    r = ask(server, "www.cdn.test", 65301, ecs=BR)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert [rs.rdtype for rs in r.authority] == [dns.rdatatype.SOA]
    # a target the zone does not hold: NXDOMAIN with the CNAME (RFC 6604); one outside: the CNAME
    r = ask(server, "gone.cdn.test", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and chain(r) == [("gone.cdn.test.", "CNAME", "nowhere.cdn.test.")]
    r = ask(server, "out.cdn.test", "A")
    assert r.rcode() == dns.rcode.NOERROR and chain(r) == [("out.cdn.test.", "CNAME", "www.example.net.")]


def test_wildcard_owner(server):
    r = ask(server, "x.apps.cdn.test", "A")
    assert chain(r) == [("x.apps.cdn.test.", "CNAME", "br.cdn.test."), ("br.cdn.test.", "A", "192.0.2.10")]


# ---- through the API, and to a PoP by IXFR ----

NAMES = ["pool br br.cdn.dyn.test.", "pool world world.cdn.dyn.test.", "answer world",
         "geo 198.51.100.0/24 br world"]


def answer(srv, name, ecs=None):
    q = dns.message.make_query(name, "A", use_edns=0, options=[dns.edns.ECSOption(*ecs)] if ecs else [])
    r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
    return chain(r), scope(r)


def wait_same(control, pop, name, ecs, timeout=10.0):
    want = answer(control, name, ecs)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if answer(pop, name, ecs) == want:
            return want
        time.sleep(0.02)
    raise AssertionError("PoP answers %r, control %r; PoP log:\n%s" % (answer(pop, name, ecs), want,
                                                                        pop.log_text()[-3000:]))


def test_api_pop_export_and_explain(cluster):  # noqa: F811
    control, pop, api = cluster
    api.put_rrset("dyn.test", "br.cdn", "A", 60, ["192.0.2.10"])
    api.put_rrset("dyn.test", "world.cdn", "A", 60, ["192.0.2.1"])
    api.put_rrset("dyn.test", "br2.cdn", "A", 60, ["192.0.2.11"])
    r = api.put("/api/v1/zones/dyn.test/rrsets/cn/DYN", {"ttl": 60, "records": NAMES})
    assert r.status == 200, r
    br = [("cn.dyn.test.", "CNAME", "br.cdn.dyn.test."), ("br.cdn.dyn.test.", "A", "192.0.2.10")]
    assert answer(control, "cn.dyn.test", BR) == (br, 24)
    assert answer(control, "cn.dyn.test")[0][0] == ("cn.dyn.test.", "CNAME", "world.cdn.dyn.test.")
    for ecs in (BR, ("192.0.2.0", 24), None):
        wait_same(control, pop, "cn.dyn.test", ecs)
    # one statement changes: the PoP follows by IXFR
    changed = [s.replace("br.cdn.", "br2.cdn.") for s in NAMES]
    assert api.put("/api/v1/zones/dyn.test/rrsets/cn/DYN", {"ttl": 60, "records": changed}).status == 200
    wait_same(control, pop, "cn.dyn.test", BR)
    assert answer(pop, "cn.dyn.test", BR)[0] == [("cn.dyn.test.", "CNAME", "br2.cdn.dyn.test."),
                                                 ("br2.cdn.dyn.test.", "A", "192.0.2.11")]
    assert "IXFR" in pop.log_text(), pop.log_text()[-2000:]
    # the plain export writes the default CNAME
    plain = api.get("/api/v1/zones/dyn.test/export?plain=true").body.decode()
    assert "; cn.dyn.test. is a dynamic resource (DYN, 4 statements): its default answer\n" \
           "cn.dyn.test.\t60\tIN\tCNAME\tworld.cdn.dyn.test.\n" in plain, plain
    # explain: the CNAME chosen for the client, not followed
    qs = urllib.parse.urlencode({"name": "cn.dyn.test", "type": "A", "client": "198.51.100.7", "ecs": "24"})
    e = api.get("/api/v1/explain?" + qs).json
    assert e["outcome"] == "cname" and e["dynamic"] is True and e["target"] == "br2.cdn.dyn.test.", e
    assert e["match"] == "198.51.100.0/24" and e["answered_by"] == "br" and e["scope"] == 24, e
    assert e["pools"][0]["members"][0]["target"] == "br2.cdn.dyn.test.", e
    assert e["rrset"]["type"] == "CNAME" and e["rrset"]["records"] == ["br2.cdn.dyn.test."], e


@pytest.mark.parametrize("owner,rtype,records,says", [
    ("bad", "DYN", ["pool a x.dyn.test.", "pool b 192.0.2.1", "answer a b"],
     'pool "a" holds names, pool "b" addresses: a resource answers CNAME or addresses'),
    ("bad", "DYN", ["monitor m tcp 80", "pool a x.dyn.test. monitor m", "answer a"],
     "a name cannot be monitored (monitors check addresses, and ternd does not resolve names)"),
    ("fixedc", "DYN", NAMES, "a CNAME resource (its pools hold names) cannot stand beside A records"),
    ("cnx", "A", ["192.0.2.99"], "a CNAME resource (its pools hold names) cannot stand beside A records"),
    ("cnx", "MX", ["10 mx.dyn.test."], "cannot stand beside MX records"),
    ("@", "DYN", NAMES, "cannot stand at the zone apex"),
])
def test_refusals_change_nothing(cluster, owner, rtype, records, says):  # noqa: F811
    control, pop, api = cluster
    api.put_rrset("dyn.test", "fixedc", "A", 60, ["192.0.2.98"])
    if api.get("/api/v1/zones/dyn.test/rrsets/cnx/DYN").status == 404:
        assert api.put("/api/v1/zones/dyn.test/rrsets/cnx/DYN", {"ttl": 60, "records": NAMES}).status == 200
    before = api.serial("dyn.test")
    had = api.get("/api/v1/zones/dyn.test/rrsets/%s/%s" % (owner, rtype)).status
    r = api.put("/api/v1/zones/dyn.test/rrsets/%s/%s" % (owner, rtype), {"ttl": 60, "records": records})
    e = assert_error(r, (400, 409, 422))
    assert says in e["message"], e
    assert api.serial("dyn.test") == before
    assert api.get("/api/v1/zones/dyn.test/rrsets/%s/%s" % (owner, rtype)).status == had


# ---- signed by ternd ----

def test_signed_answers_validate(keys, tmp_path):  # noqa: F811
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    srv = FileTernd(keys, str(work), {"cdn.test": (write_zone(ZONE), "default")})
    srv.start()
    try:
        wait_signed(srv, "cdn.test.")
        apex = dns.name.from_text("cdn.test.")
        dnskeys = ask(srv, "cdn.test.", "DNSKEY", tcp=True, dnssec=True).find_rrset(
            dns.message.ANSWER, apex, dns.rdataclass.IN, dns.rdatatype.DNSKEY)

        def validated(name, rdtype, ecs=None):
            r = ask(srv, name, rdtype, ecs=ecs, tcp=True, dnssec=True)
            for rs in r.answer:
                if rs.rdtype == dns.rdatatype.RRSIG:
                    continue
                sigs = r.find_rrset(r.answer, rs.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, rs.rdtype)
                assert len(sigs) >= 1, r
                for sig in sigs:  # exactly the signatures of this set: each one verifies
                    dns.dnssec.validate(rs, dns.rrset.from_rdata_list(rs.name, sigs.ttl, [sig]), {apex: dnskeys})
            return r

        r = validated("www.cdn.test.", "A", BR)
        assert chain(r) == [("www.cdn.test.", "CNAME", "br.cdn.test."), ("br.cdn.test.", "A", "192.0.2.10")]
        r = validated("www.cdn.test.", "A")
        assert chain(r)[0] == ("www.cdn.test.", "CNAME", "world.cdn.test.")
        seen = set()
        for _ in range(200):  # 0.9^200: the 10% name is missed once in 10^9 runs
            seen.add(chain(validated("w.cdn.test.", "CNAME"))[0][2])
            if len(seen) == 2:
                break
        assert seen == {"a.cdn.test.", "b.cdn.test."}
        r = validated("x.apps.cdn.test.", "A")
        assert chain(r)[0] == ("x.apps.cdn.test.", "CNAME", "br.cdn.test.")
        # a wildcard expansion: the NSEC proving no closer name, with its signature (RFC 4035 3.1.3.3)
        assert any(rs.rdtype == dns.rdatatype.NSEC for rs in r.authority), r
        # NODATA for the DYN type: the NSEC lists CNAME, RRSIG and NSEC, never TYPE65301
        r = ask(srv, "www.cdn.test.", 65301, tcp=True, dnssec=True)
        assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
        nsec = r.find_rrset(r.authority, dns.name.from_text("www.cdn.test."), dns.rdataclass.IN,
                            dns.rdatatype.NSEC)
        assert {dns.rdatatype.to_text(t) for w in nsec[0].windows for t in _types(w)} == \
            {"CNAME", "RRSIG", "NSEC"}, nsec
    finally:
        srv.stop()


def _types(window):
    number, bitmap = window
    for i, octet in enumerate(bitmap):
        for b in range(8):
            if octet & (0x80 >> b):
                yield number * 256 + i * 8 + b


# ---- Knot PoPs: tern geo render-knot writes name pools as CNAME views ----

KNOT_ZONE = """$ORIGIN knc.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
br IN A 192.0.2.10
world IN A 192.0.2.1
a IN A 192.0.2.7
b IN A 192.0.2.8
www 60 IN DYN pool br br.knc.test.
www 60 IN DYN pool world world.knc.test.
www 60 IN DYN answer world
www 60 IN DYN geo 198.51.100.0/24 br world
w 30 IN DYN pool w a.knc.test. weight 90 b.knc.test. weight 10
w 30 IN DYN answer w
multi 60 IN DYN pool m a.knc.test. weight 3 b.knc.test.
multi 60 IN DYN pool d world.knc.test.
multi 60 IN DYN answer d
multi 60 IN DYN geo 203.0.113.0/24 m
"""


def test_render_knot_cname_views(tmp_path):
    from knotgeolib import rendered_pair
    from test_cli import tern
    with rendered_pair(tmp_path, KNOT_ZONE, zone="knc.test") as (s, knot, out, stdout, stderr):
        assert sorted(os.listdir(out)) == ["knc.test.knot.conf", "knc.test.subnet-60.geoip",
                                           "knc.test.weighted-30.geoip", "knc.test.zone"], stdout
        subnet = (out / "knc.test.subnet-60.geoip").read_text()
        assert "CNAME: br.knc.test." in subnet and "CNAME: a.knc.test." in subnet, subnet
        assert "www.knc.test.\t60\tIN\tCNAME\tworld.knc.test." in (out / "knc.test.zone").read_text()
        warnings = [l for l in stderr.splitlines() if l.startswith("tern: warning: ")]
        assert warnings == ['tern: warning: multi.knc.test.: geo 203.0.113.0/24: name pool "m" is rendered as its '
                            "heaviest target (Knot's subnet mode has no weights, and a view holds one CNAME)"], \
            stderr
        # tern explain prints the chain and the CNAME chosen for the client
        _, text, _ = tern(s, "explain", "www.knc.test", "A", "--client", "198.51.100.7", "--ecs", "24", expect=0)
        assert "name:    CNAME to br.knc.test. (not followed: explain that name)" in text, text
        assert "\n    br.knc.test.  weight 1 (100.0%)\n" in text and "answer:  pool br" in text, text
        ternd = type("T", (), {"addr": "127.0.0.1", "port": s.dns_port})
        kn = type("K", (), {"addr": "127.0.0.1", "port": knot.port})
        for ecs in (("198.51.100.0", 24), ("198.51.100.255", 24), ("192.0.2.0", 24), ("10.0.0.0", 8), None):
            for name in ("www.knc.test", "multi.knc.test"):
                t, k = ask(ternd, name, "A", ecs=ecs), ask(kn, name, "A", ecs=ecs)
                assert (t.rcode(), chain(t), scope(t)) == (k.rcode(), chain(k), scope(k)), (name, ecs, t, k)
        # the name pool in a geo list: Knot always the heaviest target, ternd one by weight
        k = ask(kn, "multi.knc.test", "A", ecs=("203.0.113.0", 24))
        assert chain(k)[0] == ("multi.knc.test.", "CNAME", "a.knc.test.") and scope(k) == 24
        assert chain(ask(ternd, "multi.knc.test", "A", ecs=("203.0.113.0", 24)))[0][2] in ("a.knc.test.",
                                                                                          "b.knc.test.")
        # the weighted name pool: the same shares from both
        n = 2000
        for srv in (ternd, kn):
            seen = {"a.knc.test.": 0, "b.knc.test.": 0}
            for _ in range(n):
                c = chain(ask(srv, "w.knc.test", "A"))
                assert len(c) == 2 and c[0][1] == "CNAME", c
                seen[c[0][2]] += 1
            for name, p in (("a.knc.test.", 0.9), ("b.knc.test.", 0.1)):
                assert abs(seen[name] - n * p) <= SIGMAS * math.sqrt(n * p * (1 - p)), (srv, seen)
