"""`tern explain` and GET /api/v1/explain (issue 17): the explanation of a dynamic answer agrees
with what ternd serves to the same client over DNS (1,000 random clients, IPv4 and IPv6, inside and
outside the geo map and the geo database, with and without EDNS Client Subnet), what the geo
database says of the client is what mmdblookup says (network, prefix, country, continent, also
when no entry matched), each monitored member shows the checker's state and last check (a killed
listener), a signed zone's partly-down pool shows the one live member a DO query gets with the
set whose signature goes with it (checked against 200 random DO queries), a weighted pool shows
its shares, static names give their RRset and scope 0, bad input is a 400 naming the parameter,
names no zone of the caller serves are 404, and one tenant cannot explain another tenant's names."""
import ipaddress
import json
import os
import random
import subprocess
import tempfile
import time
import urllib.parse

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

import mmdblib
import ternlib
from apilib import ApiTernd, assert_error, finish, keys  # noqa: F401
from sysutil import tcp_listeners

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(ternlib.TERND), "tern"))

# geo.test (tenant "geo"): the map, a weighted pool, a wildcard, static names, a CNAME
WWW = ["pool br 192.0.2.10", "pool nl 192.0.2.20", "pool us 192.0.2.30 2001:db8::30",
       "pool world 192.0.2.1 192.0.2.2 2001:db8::1", "answer world",
       "geo 198.51.100.0/24 br world", "geo 203.0.113.0/24 nl world", "geo 198.51.100.128/25 us world",
       "geo 2001:db8:1::/48 us world", "geo 2001:db8:1:ff00::/56 nl world"]
WEIGHTED = ["pool w 192.0.2.7 weight 90 192.0.2.8 weight 10", "answer w"]
# cc.geo.test: entries the geo database answers (BR by country, EU by continent: NL and DE), and a
# subnet entry inside BR's network that comes first
CC = ["pool br 192.0.2.10", "pool eu 192.0.2.20 2001:db8::20", "pool world 192.0.2.1 2001:db8::1",
      "answer world", "geo country BR br world", "geo continent EU eu world", "geo 198.51.100.128/25 world"]
# the geo database: mmdblib's map and an IPv6 network in Europe
GEO_NETS = dict(mmdblib.NETS, **{"2001:db8:2::/48": ("DE", "EU")})
# a zone file of the configuration (not in the store): an admin's only
CONFIG_ZONE = """$ORIGIN conf.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
www 60 IN DYN pool p 192.0.2.77
www 60 IN DYN answer p
"""

_zdir = tempfile.mkdtemp(prefix="dyn-explain-")
with open(os.path.join(_zdir, "conf.test.zone"), "w") as _f:
    _f.write(CONFIG_ZONE)



def geo_config(path, db):
    with open(path, "a") as f:
        f.write('geo:\n  database: "%s"\n  check-interval: 60\n' % db)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, keys):  # noqa: F811
    """ternd with the API and a geo database built for the test (srv.geo_db)."""
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    d = tmp_path_factory.mktemp("ternd-explain")
    db = mmdblib.build(str(d / "geo.mmdb"), GEO_NETS)
    s = ApiTernd(keys, workdir=str(d), zones={"conf.test": os.path.join(_zdir, "conf.test.zone")})
    geo_config(s.config, db)
    with open(s.config, "a") as f:
        f.write("monitors:\n  allow: [127.0.0.0/8]\n")  # the monitored listeners are on loopback
    s.start()
    s.geo_db = db
    try:
        ternlib.wait_log(s.log_text, "geo database %s: GeoLite2-Country" % db)
        yield s
    finally:
        finish(s)


@pytest.fixture(scope="module")
def geo(srv, keys):
    api = srv.api(keys.token("geo"))
    api.create_zone("geo.test")
    api.put_rrset("geo.test", "www", "DYN", 60, WWW)
    api.put_rrset("geo.test", "w", "DYN", 30, WEIGHTED)
    api.put_rrset("geo.test", "cc", "DYN", 60, CC)
    api.put_rrset("geo.test", "*.apps", "DYN", 60, ["pool a 192.0.2.81", "answer a"])
    api.put_rrset("geo.test", "static", "A", 120, ["192.0.2.99", "192.0.2.98"])
    api.put_rrset("geo.test", "alias", "CNAME", 120, ["www.geo.test."])
    other = srv.api(keys.token("other"))
    other.create_zone("other.test")
    other.put_rrset("other.test", "www", "DYN", 60, ["pool p 192.0.2.200", "answer p"])
    yield api
    api.close()
    other.close()


def explain(api, name, rtype, client, ecs=None, token=None):
    qs = {"name": name, "type": rtype, "client": client}
    if ecs is not None:
        qs["ecs"] = str(ecs)
    return api.get("/api/v1/explain?" + urllib.parse.urlencode(qs), token=token)


def served(srv, name, rtype, client, prefix):
    """What ternd answers a resolver sending ECS client/prefix: (addresses, scope)."""
    q = dns.message.make_query(name, rtype, use_edns=0, options=[dns.edns.ECSOption(client, prefix)])
    r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR, r
    ecs = [o for o in r.options if o.otype == dns.edns.ECS]
    assert len(ecs) == 1, r
    return sorted(rd.address for rrset in r.answer for rd in rrset), ecs[0].scopelen


def random_client(rng):
    """(address, prefix): inside the map (every entry, both families) or anywhere else."""
    kind = rng.randrange(6)
    if kind == 0:
        net = ipaddress.ip_network(rng.choice(["198.51.100.0/24", "203.0.113.0/24", "198.51.100.128/25"]))
    elif kind == 1:
        net = ipaddress.ip_network(rng.choice(["2001:db8:1::/48", "2001:db8:1:ff00::/56", "2001:db8:2::/48"]))
    elif kind in (2, 3):
        net = ipaddress.ip_network("0.0.0.0/0")
    else:
        net = ipaddress.ip_network("::/0" if kind == 4 else "2001:db8::/32")
    addr = net.network_address + rng.randrange(net.num_addresses)
    return str(addr), rng.randint(0, addr.max_prefixlen)


def geo_truth(address):
    """(country, continent) of the GEO_NETS network holding address, or None: what the database
    was built from."""
    a = ipaddress.ip_address(address)
    for net, codes in GEO_NETS.items():
        if a.version == ipaddress.ip_network(net).version and a in ipaddress.ip_network(net):
            return codes
    return None


def check_geo(got):
    """The explanation's geo database answer agrees with the map the database was built from: the
    client's address is inside the network shown, which lies inside the built network holding it
    (or holds none of them, for an address not in the database)."""
    g, address = got["geo"], got["client"]["address"]
    assert g["database"] == "loaded" and g["type"] == "GeoLite2-Country", g
    net = ipaddress.ip_network(g["network"])
    assert ipaddress.ip_address(address) in net and net.prefixlen == g["prefix"], (address, g)
    truth = geo_truth(address)
    if truth is None:
        assert not g["found"] and g["country"] is None and g["continent"] is None, (address, g)
        assert not any(net.overlaps(ipaddress.ip_network(n)) for n in GEO_NETS
                       if ipaddress.ip_network(n).version == net.version), (address, g)
    else:
        assert g["found"] and (g["country"], g["continent"]) == truth, (address, g)
        assert any(net.subnet_of(ipaddress.ip_network(n)) for n in GEO_NETS
                   if ipaddress.ip_network(n).version == net.version), (address, g)


def test_explain_agrees_with_served_answer_for_1000_clients(srv, geo):
    rng = random.Random(17)
    problems, scopes, matches = [], set(), set()
    for i in range(1000):
        client, prefix = random_client(rng)
        rtype = "A" if i % 3 else "AAAA"
        name = "cc.geo.test" if i % 4 == 3 else "www.geo.test"
        # ECS with source 0 carries no address: the query's source (the resolver, here the
        # test's 127.0.0.1) decides, and that is the client explain is asked about
        r = explain(geo, name, rtype, client if prefix else srv.addr, prefix)
        assert r.status == 200, r
        got = r.json
        want_addrs, want_scope = served(srv, name, rtype, client, prefix)
        addrs = sorted(got["rrset"]["records"])
        scopes.add(got["scope"])
        matches.add(got["match"])
        check_geo(got)
        assert got["signed"] is None
        if addrs != want_addrs or got["scope"] != want_scope:
            problems.append("%s/%d %s %s: explain %s scope %s, served %s scope %s" % (
                client, prefix, name, rtype, addrs, got["scope"], want_addrs, want_scope))
    assert not problems, "%d of 1000 disagree:\n%s" % (len(problems), "\n".join(problems[:20]))
    # the sample covers the map: every entry ECS can reach (sources are capped at /24, so the /25
    # only narrows the scope), the database's country and continent, the answer list, narrow and
    # zero scopes
    assert {"198.51.100.0/24", "203.0.113.0/24", "2001:db8:1::/48", "2001:db8:1:ff00::/56", "answer list",
            "country BR", "continent EU"} <= matches, matches
    assert {0, 24, 25, 48, 56} <= scopes, scopes


# (name, type, client, ECS source or None, the entry matched, whether the selection asks the database)
GEO_CASES = [
    ("cc.geo.test", "A", "198.51.100.7", None, "country BR", True),
    ("cc.geo.test", "A", "203.0.113.9", 24, "continent EU", True),  # NL: no country entry
    ("cc.geo.test", "AAAA", "2001:db8:2::5", 48, "continent EU", True),
    ("cc.geo.test", "AAAA", "2001:db8:1::5", None, "answer list", True),  # US, NA: no entry
    ("cc.geo.test", "AAAA", "198.51.100.7", None, "country BR", True),  # br has no IPv6: world answers
    ("cc.geo.test", "A", "198.51.100.200", None, "198.51.100.128/25", False),  # the subnet first
    ("cc.geo.test", "A", "192.0.2.1", None, "answer list", True),  # not in the database
    ("cc.geo.test", "A", "10.1.2.3", 8, "answer list", True),
    ("cc.geo.test", "AAAA", "2001:db8:99::1", None, "answer list", True),
    ("www.geo.test", "A", "198.51.100.7", 24, "198.51.100.0/24", False),  # no country entries
    ("www.geo.test", "A", "192.0.2.1", None, "answer list", False),
]


@pytest.mark.parametrize("name,rtype,client,ecs,match,asked", GEO_CASES)
def test_geo_database_answer_is_mmdblookups(srv, geo, name, rtype, client, ecs, match, asked):
    """The network, its prefix, the country and the continent explain shows are what mmdblookup
    reads from the same file for the address the selection asks (the client cut to its source
    prefix), found or not, and whether or not an entry uses them."""
    e = explain(geo, name, rtype, client, ecs).json
    g = e["geo"]
    address = e["client"]["address"]
    prefix, cc, cont = mmdblib.record(srv.geo_db, address)
    net = ipaddress.ip_network("%s/%d" % (address, prefix), strict=False)
    assert (e["match"], g["asked"]) == (match, asked), e
    assert g == {"database": "loaded", "type": "GeoLite2-Country", "build_epoch": mmdblib.build_epoch(srv.geo_db),
                 "asked": asked, "found": cc is not None, "network": str(net), "prefix": prefix, "country": cc,
                 "continent": cont}, (address, g)
    if ecs is not None:  # what the selection did with it is what a resolver sending ECS gets
        assert sorted(e["rrset"]["records"]) == served(srv, name, rtype, client, ecs)[0]


def test_explain_shows_the_chain(geo):
    r = explain(geo, "www.geo.test", "A", "198.51.100.7", 24)
    assert r.status == 200, r
    e = r.json
    assert e["zone"] == "geo.test." and e["outcome"] == "answer" and e["dynamic"] is True
    assert e["client"] == {"address": "198.51.100.0", "prefix": 24, "from": "ecs", "capped": False,
                           "ecs_source": 24}
    assert e["match"] == "198.51.100.0/24" and e["scope"] == 25  # the /25 inside it decides
    assert [p["name"] for p in e["pools"]] == ["br", "world"]
    assert [p["answering"] for p in e["pools"]] == [True, False]
    assert e["pools"][1]["members"][1]["address"] == "192.0.2.2"
    assert e["answered_by"] == "br" and e["fallback"] is False
    assert e["rrset"] == {"name": "www.geo.test.", "type": "A", "ttl": 60, "records": ["192.0.2.10"],
                          "pick": "all"}
    # a v6 source prefix is capped at /56; without ECS the source address (/128) is the client
    e = explain(geo, "www.geo.test", "A", "2001:db8:1:ff00:1::5", 64).json
    assert e["client"] == {"address": "2001:db8:1:ff00::", "prefix": 56, "from": "ecs", "capped": True,
                           "ecs_source": 64}
    assert e["match"] == "2001:db8:1:ff00::/56" and e["answered_by"] == "nl"
    e = explain(geo, "www.geo.test", "AAAA", "2001:db8:1::9").json
    assert e["client"] == {"address": "2001:db8:1::9", "prefix": 128, "from": "source", "capped": False,
                           "ecs_source": None}
    assert e["match"] == "2001:db8:1::/48" and e["rrset"]["records"] == ["2001:db8::30"]
    # ECS with source 0: the source address decides, the scope is 0 (RFC 7871 7.1.2)
    e = explain(geo, "www.geo.test", "A", "203.0.113.5", 0).json
    assert e["client"]["from"] == "source" and e["match"] == "203.0.113.0/24" and e["scope"] == 0


def test_geo_database_missing_then_none_configured(tmp_path, keys):  # noqa: F811
    """A database configured but not loaded (no file) and none configured at all: explain says
    which, and the client counts as not held (the answer list)."""
    zone = tmp_path / "cc.test.zone"
    zone.write_text(CONFIG_ZONE.replace("conf.test.", "cc.test.").split("www 60")[0] +
                    "".join("www 60 IN DYN %s\n" % r for r in CC))
    s = ApiTernd(keys, workdir=str(tmp_path), zones={"cc.test": str(zone)})
    geo_config(s.config, str(tmp_path / "missing.mmdb"))
    s.start()
    try:
        admin = s.api(keys.token("explain-admin", admin=True))
        e = explain(admin, "www.cc.test", "A", "198.51.100.7").json
        assert e["match"] == "answer list" and e["rrset"]["records"] == ["192.0.2.1"], e
        assert e["geo"] == {"database": "not loaded", "type": None, "build_epoch": None, "asked": True,
                            "found": False, "network": None, "prefix": None, "country": None,
                            "continent": None}, e["geo"]
        p = tern(s, keys.token("explain-admin", admin=True), "explain", "www.cc.test", "A", "--client", "192.0.2.1")
        assert "geo db:  configured, none loaded: every client counts as not held" in p.stdout.splitlines(), p
        with open(s.config) as f:
            text = f.read()
        with open(s.config, "w") as f:
            f.write(text[:text.index("geo:")])
        s.reload()
        poll("none configured",
             lambda: explain(admin, "www.cc.test", "A", "198.51.100.7").json["geo"]["database"] == "none configured")
        e = explain(admin, "www.cc.test", "A", "198.51.100.7").json
        assert e["geo"]["found"] is False and e["geo"]["network"] is None and e["match"] == "answer list", e
        p = tern(s, keys.token("explain-admin", admin=True), "explain", "www.cc.test", "A", "--client", "192.0.2.1")
        assert "geo db:  no database configured" in p.stdout.splitlines(), p
        admin.close()
    finally:
        finish(s)


MON_ADDRS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


def monitored(port):
    return ["pool web %s" % " ".join("%s monitor m" % a for a in MON_ADDRS), "pool br 192.0.2.10", "answer web",
            "geo 198.51.100.0/24 br web", "monitor m tcp %d interval 1 timeout 1 down 1 up 1" % port]


def served_do(srv, name, client, prefix):
    """A DO query with ECS client/prefix: (addresses, scope, inceptions of the RRSIGs over A)."""
    opts = [dns.edns.ECSOption(client, prefix)]
    q = dns.message.make_query(name, "A", use_edns=0, want_dnssec=True, options=opts)
    r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and not r.flags & dns.flags.TC, r
    n = dns.name.from_text(name)
    a = r.get_rrset(r.answer, n, dns.rdataclass.IN, dns.rdatatype.A)
    sigs = r.get_rrset(r.answer, n, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.A)
    ecs = [o for o in r.options if o.otype == dns.edns.ECS]
    return sorted(rd.address for rd in a), ecs[0].scopelen, [sig.inception for sig in sigs or []]


def poll(what, fn, limit=6.0):
    t0 = time.time()
    while True:
        value = fn()
        if value:
            return value
        assert time.time() - t0 < limit, "%s not within %.1f s" % (what, limit)
        time.sleep(0.1)


def members_of(e):
    return {m["address"]: m for m in e["pools"][0]["members"]}


def test_monitor_state_and_signed_zone_pick(srv, geo, keys):
    """Each monitored member shows the checker's state, last check and result (the same as GET
    /api/v1/monitors says), a killed listener's member goes down with its error; in a signed zone
    the whole pool is one signed set, and with one member down a DO query gets one live member,
    each as likely, with the signature of the set explain names (200 random clients)."""
    port, socks = tcp_listeners(MON_ADDRS)
    admin = srv.api(keys.token("explain-admin", admin=True))
    try:
        t0 = int(time.time())
        for zone in ("mon.test", "sig.test"):
            geo.create_zone(zone)
            geo.put_rrset(zone, "www", "DYN", 60, monitored(port))
        assert geo.put("/api/v1/zones/sig.test/dnssec", {}).status in (200, 202)
        poll("sig.test signed", lambda: geo.get("/api/v1/zones/sig.test/dnssec").json["state"] == "signed", 20)

        def states(name):
            return {a: m["state"] for a, m in members_of(explain(geo, name, "A", "192.0.2.99").json).items()}
        poll("every member up", lambda: set(states("www.mon.test").values()) == {"up"})
        e = explain(geo, "www.mon.test", "A", "192.0.2.99").json
        listed = {m["address"]: m for m in admin.get("/api/v1/monitors").json["monitors"]}
        for a, m in members_of(e).items():
            assert m["monitor"] == "m" and m["live"] is True and m["last_error"] is None, m
            assert m["last_result"] == listed[a]["last_result"] == "ok: connected", (m, listed[a])
            assert t0 <= m["last_check"] <= time.time() and abs(m["last_check"] - listed[a]["last_check"]) <= 1
        assert e["signed"] is None
        # the signed zone, every member up: the whole pool, one set signed ahead
        e = explain(geo, "www.sig.test", "A", "192.0.2.99").json
        sg = e["signed"]
        assert sg["pick"] == "all" and len(sg["answers"]) == 1, sg
        assert sorted(sg["answers"][0]["records"]) == list(MON_ADDRS) and sg["answers"][0]["share"] == 100.0
        addrs, _, inceptions = served_do(srv, "www.sig.test", "192.0.2.99", 32)
        assert addrs == list(MON_ADDRS) and inceptions, inceptions
        assert all(i % sg["sets"] == sg["answers"][0]["set"] for i in inceptions), (inceptions, sg)

        killed = time.time()
        socks.pop("127.0.0.3").close()
        poll("127.0.0.3 down", lambda: states("www.mon.test")["127.0.0.3"] == "down")
        e = explain(geo, "www.mon.test", "A", "192.0.2.99").json
        m = members_of(e)["127.0.0.3"]
        assert m["live"] is False and m["last_error"] == m["last_result"] == "connect refused", m
        assert killed - 1 <= m["last_check"] <= time.time(), (killed, m)
        assert admin.get("/api/v1/monitors").json["monitors"] and e["pools"][0]["live"] == 2
        assert sorted(e["rrset"]["records"]) == ["127.0.0.1", "127.0.0.2"]

        # signed: a DO query gets one live member; without DO the live members as before
        e = explain(geo, "www.sig.test", "A", "192.0.2.99").json
        sg = e["signed"]
        assert sg["pick"] == "one live member" and sorted(e["rrset"]["records"]) == ["127.0.0.1", "127.0.0.2"]
        assert [(x["records"], x["share"]) for x in sg["answers"]] == [(["127.0.0.1"], 50.0), (["127.0.0.2"], 50.0)]
        sets = {x["records"][0]: x["set"] for x in sg["answers"]}
        assert len(set(sets.values())) == 2 and all(0 <= v < sg["sets"] for v in sets.values()), sg
        assert served(srv, "www.sig.test", "A", "192.0.2.99", 32)[0] == ["127.0.0.1", "127.0.0.2"]

        p = tern(srv, keys.token("geo"), "explain", "www.sig.test", "A", "--client", "192.0.2.99")
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert "dnssec:  signed zone: a DO query gets one live member, each as likely (%d set(s) signed ahead; " \
               "queries without DO get the rrset above):" % sg["sets"] in lines, p.stdout
        for a in ("127.0.0.1", "127.0.0.2"):
            assert "    www.sig.test. 60 A %s  ; 50.0%% of DO answers, signed set %d" % (a, sets[a]) in lines, p.stdout
        assert any(l.startswith("    127.0.0.3  monitor m: down (checked ") and l.endswith(": connect refused)  not live")
                   for l in lines), p.stdout

        # 200 random clients with DO: each answer one of the candidates explain lists, under the
        # signature of the set explain names for it, with the same scope
        rng, picks, problems = random.Random(7), {}, []
        for _ in range(200):
            client, prefix = random_client(rng)
            if ":" in client:
                client, prefix = str(ipaddress.ip_address(rng.getrandbits(32))), rng.randint(0, 32)
            if rng.randrange(3) == 0:
                client = "198.51.100.%d" % rng.randrange(256)
            e = explain(geo, "www.sig.test", "A", client if prefix else srv.addr, prefix).json
            cands = {x["records"][0]: x["set"] for x in e["signed"]["answers"] if len(x["records"]) == 1}
            addrs, scope, inceptions = served_do(srv, "www.sig.test", client, prefix)
            picks[addrs[0]] = picks.get(addrs[0], 0) + 1
            if len(addrs) != 1 or addrs[0] not in cands or scope != e["scope"] or not inceptions or \
                    any(i % e["signed"]["sets"] != cands[addrs[0]] for i in inceptions):
                problems.append((client, prefix, addrs, scope, inceptions, e["signed"], e["scope"]))
        assert not problems, problems[:5]
        assert {"127.0.0.1", "127.0.0.2", "192.0.2.10"} == set(picks), picks
    finally:
        for x in socks.values():
            x.close()
        admin.close()


def test_weighted_pool_shows_shares_not_a_pick(srv, geo):
    seen = set()
    for _ in range(5):
        e = explain(geo, "w.geo.test", "A", "192.0.2.200", 24).json
        pool = e["pools"][0]
        assert pool["weighted"] is True and pool["answering"] is True
        assert [(m["address"], m["weight"], m["share"]) for m in pool["members"]] == \
            [("192.0.2.7", 90, 90.0), ("192.0.2.8", 10, 10.0)]
        rs = e["rrset"]
        assert rs["pick"] == "one record by weight" and rs["ttl"] == 30
        assert rs["records"] == ["192.0.2.7", "192.0.2.8"]
        assert rs["shares"] == [{"address": "192.0.2.7", "share": 90.0}, {"address": "192.0.2.8", "share": 10.0}]
        assert e["scope"] == 0
    for _ in range(200):
        addrs, scope = served(srv, "w.geo.test", "A", "192.0.2.200", 24)
        assert len(addrs) == 1 and scope == 0
        seen.add(addrs[0])
    assert seen == {"192.0.2.7", "192.0.2.8"}  # both candidates explain lists are served


def test_static_wildcard_cname_and_negative_names(srv, geo):
    e = explain(geo, "static.geo.test", "A", "198.51.100.7", 24).json
    assert e["dynamic"] is False and e["scope"] == 0 and e["outcome"] == "answer"
    assert sorted(e["rrset"]["records"]) == ["192.0.2.98", "192.0.2.99"] and e["rrset"]["ttl"] == 120
    assert served(srv, "static.geo.test", "A", "198.51.100.7", 24) == (["192.0.2.98", "192.0.2.99"], 0)
    e = explain(geo, "x.apps.geo.test", "A", "192.0.2.1").json
    assert e["wildcard"] == "*.apps.geo.test." and e["rrset"]["records"] == ["192.0.2.81"]
    assert e["rrset"]["name"] == "x.apps.geo.test."
    e = explain(geo, "alias.geo.test", "A", "192.0.2.1").json
    assert e["outcome"] == "cname" and e["target"] == "www.geo.test." and e["rrset"]["type"] == "CNAME"
    e = explain(geo, "nothing.geo.test", "A", "192.0.2.1").json
    assert e["outcome"] == "nxdomain" and e["rrset"] is None and e["scope"] == 0
    e = explain(geo, "static.geo.test", "AAAA", "192.0.2.1").json
    assert e["outcome"] == "nodata" and e["rrset"] is None


BAD = [
    ({"type": "A", "client": "192.0.2.1"}, "name"),
    ({"name": "a..b.geo.test", "type": "A", "client": "192.0.2.1"}, "name"),
    ({"name": "www.geo.test", "client": "192.0.2.1"}, "type"),
    ({"name": "www.geo.test", "type": "MX", "client": "192.0.2.1"}, "type"),
    ({"name": "www.geo.test", "type": "DYN", "client": "192.0.2.1"}, "type"),
    ({"name": "www.geo.test", "type": "A"}, "client"),
    ({"name": "www.geo.test", "type": "A", "client": "192.0.2.300"}, "client"),
    ({"name": "www.geo.test", "type": "A", "client": "198.51.100.0/24"}, "client"),
    ({"name": "www.geo.test", "type": "A", "client": "192.0.2.1", "ecs": "33"}, "ecs"),
    ({"name": "www.geo.test", "type": "A", "client": "2001:db8::1", "ecs": "129"}, "ecs"),
    ({"name": "www.geo.test", "type": "A", "client": "192.0.2.1", "ecs": "-1"}, "ecs"),
    ({"name": "www.geo.test", "type": "A", "client": "192.0.2.1", "ecs": "24x"}, "ecs"),
    ({"name": "www.geo.test", "type": "A", "client": "192.0.2.1", "ecs": ""}, "ecs"),
    ({"name": "www.geo.test", "type": "A", "client": "192.0.2.1", "ecs": "+24"}, "ecs"),
]


@pytest.mark.parametrize("qs,field", BAD, ids=[urllib.parse.urlencode(q) for q, _ in BAD])
def test_bad_input_is_400_naming_the_parameter(geo, qs, field):
    assert_error(geo.get("/api/v1/explain?" + urllib.parse.urlencode(qs)), 400, field)


def test_names_not_served_are_404(geo):
    assert_error(explain(geo, "www.nowhere.example", "A", "192.0.2.1"), 404, "name")
    assert_error(explain(geo, "www.geo.test", "A", "192.0.2.1", token=False), 401)


def test_tenant_isolation(srv, geo, keys):
    """A tenant explains only names of its zones: another tenant's zone, and a zone of the
    configuration, answer exactly as a name nobody serves does; an admin may explain them all."""
    nobody = explain(geo, "www.nowhere.example", "A", "192.0.2.1").json["error"]["message"]
    for name in ("www.other.test", "www.conf.test"):
        e = assert_error(explain(geo, name, "A", "192.0.2.1"), 404, "name")
        assert e["message"] == nobody.replace("www.nowhere.example.", name + "."), e
    assert_error(explain(geo, "www.geo.test", "A", "192.0.2.1", token=keys.token("other")), 404, "name")
    # a token scoped to other names of the tenant's own zone may not read this one
    scoped = keys.token("geo", scope={"names": ["static.geo.test"]})
    assert_error(explain(geo, "www.geo.test", "A", "192.0.2.1", token=scoped), 403, "name")
    assert explain(geo, "static.geo.test", "A", "192.0.2.1", token=scoped).status == 200
    admin = keys.token("root", admin=True)
    for name, want in (("www.other.test", "192.0.2.200"), ("www.conf.test", "192.0.2.77"),
                       ("www.geo.test", "192.0.2.1")):
        r = explain(geo, name, "A", "192.0.2.1", token=admin)
        assert r.status == 200, r
        assert want in r.json["rrset"]["records"], r


def tern(srv, token, *args):
    env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % srv.api_port, TERN_TOKEN=token)
    return subprocess.run([TERN_CLI, *args], capture_output=True, text=True, env=env, timeout=30)


def test_cli_prints_the_chain(srv, geo, keys):
    tok = keys.token("geo")
    p = tern(srv, tok, "explain", "www.geo.test", "A", "--client", "198.51.100.7", "--ecs", "24")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for want in ("query:   www.geo.test. A in zone geo.test.",
                 "client:  198.51.100.0/24 (Client Subnet)",
                 "match:   geo 198.51.100.0/24",
                 "pool 1:  br, 1 of 1 member(s) live  <- answers",
                 "pool 2:  world, 2 of 2 member(s) live",
                 "answer:  pool br",
                 "rrset:   www.geo.test. 60 A 192.0.2.10",
                 "scope:   /25"):
        assert want in lines, (want, p.stdout)
    assert "geo db:  GeoLite2-Country says 198.51.100.0/24: country BR, continent SA (not asked by the selection)" \
        in lines, p.stdout
    p = tern(srv, tok, "explain", "cc.geo.test", "A", "--client", "198.51.100.7")
    assert "geo db:  GeoLite2-Country says 198.51.100.0/24: country BR, continent SA (asked by the selection)" \
        in p.stdout.splitlines() and "match:   geo country BR" in p.stdout.splitlines(), p.stdout
    p = tern(srv, tok, "explain", "cc.geo.test", "A", "--client", "192.0.2.1")
    assert "geo db:  GeoLite2-Country says 192.0.0.0/6: not in the database (asked by the selection)" \
        in p.stdout.splitlines(), p.stdout
    assert mmdblib.record(srv.geo_db, "192.0.2.1")[0] == 6
    p = tern(srv, tok, "explain", "w.geo.test", "A", "--client", "192.0.2.1")
    assert p.returncode == 0, p.stderr
    assert "    192.0.2.7  weight 90 (90.0%)" in p.stdout.splitlines(), p.stdout
    assert "    w.geo.test. 30 A 192.0.2.8  ; 10.0% of answers" in p.stdout.splitlines(), p.stdout
    p = tern(srv, tok, "--json", "explain", "www.geo.test", "AAAA", "--client", "2001:db8:1::1")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["rrset"]["records"] == ["2001:db8::30"]
    p = tern(srv, tok, "explain", "www.geo.test", "A", "--client", "nope")
    assert p.returncode == 1 and "client" in p.stderr and p.stdout == "", p
    p = tern(srv, tok, "explain", "www.geo.test", "A")
    assert p.returncode == 2 and "--client" in p.stderr, p
    p = tern(srv, keys.token("other"), "explain", "www.geo.test", "A", "--client", "192.0.2.1")
    assert p.returncode == 1 and "404" in p.stderr, p
