"""Knot PoPs for `geo country` / `geo continent` (issue 17): `tern geo render-knot --geodb PATH`
writes them as mod-geoip geodb instances (a country one, a continent one ending in "*") between
the subnet instance and a subnet-mode default instance. Knot started on those files and on a
MaxMind DB built at run time (mmdblib) gives ternd's answers (addresses, TTL, ECS scope) for every
network of the database and for clients outside it; what Knot answers differently is asserted as
such (known()) and listed in docs/dynamic-answers.md."""
import ipaddress
import os
import random
import re

import pytest

import mmdblib
from knotgeolib import ask, rendered_pair
from test_cli import fails, ok, tern
from ternlib import wait_log

# the database: countries with and without entries, a record without a country, a /20, both families
NETS = {
    "198.51.100.0/24": ("BR", "SA"),  # country entry
    "203.0.113.0/24": ("NL", "EU"),  # country entry whose list has no IPv6 member
    "100.64.0.0/16": ("DE", "EU"),  # continent entry only
    "100.65.0.0/16": ("JP", "AS"),  # no entry: the answer list, scope the network's
    "100.66.0.0/16": (None, "EU"),  # a record with a continent only
    "100.67.0.0/20": ("US", "NA"),  # continent NA, whose list has no IPv4 member
    "2001:db8:1::/48": ("US", "NA"),
    "2001:db8:2::/48": ("CA", "NA"),
    "2001:db8:3::/48": ("FR", "EU"),
    "2001:db8:4::/48": ("BR", "SA"),
    "100.68.0.128/25": ("NL", "EU"),  # longer than the 24 bits of a Client Subnet ternd reads
}

ZONE = """$ORIGIN geo.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
; countries, then continents, then the answer list; lists without a family stand aside
www 60 IN DYN pool br 192.0.2.10 2001:db8::10
www 60 IN DYN pool nl 192.0.2.20
www 60 IN DYN pool eu 192.0.2.40 2001:db8::40
www 60 IN DYN pool us 2001:db8::30
www 60 IN DYN pool world 192.0.2.1 192.0.2.2 2001:db8::1
www 60 IN DYN answer world
www 60 IN DYN geo country BR br world
www 60 IN DYN geo country NL nl
www 60 IN DYN geo continent EU eu world
www 60 IN DYN geo continent NA us
; subnet entries before the database: one inside BR's network, one without IPv4 members
mix 60 IN DYN pool sub 192.0.2.50 2001:db8::50
mix 60 IN DYN pool v6 2001:db8::60
mix 60 IN DYN pool br 192.0.2.10
mix 60 IN DYN pool eu 192.0.2.40 2001:db8::40
mix 60 IN DYN pool world 192.0.2.1 2001:db8::1
mix 60 IN DYN answer world
mix 60 IN DYN geo 198.51.100.128/25 sub
mix 60 IN DYN geo 10.0.0.0/8 v6
mix 60 IN DYN geo 2001:db8:3::/48 sub
mix 60 IN DYN geo country BR br
mix 60 IN DYN geo continent EU eu
; another TTL (its own instances), a wildcard owner
*.apps 30 IN DYN pool a 192.0.2.81 2001:db8::81
*.apps 30 IN DYN pool b 192.0.2.82
*.apps 30 IN DYN answer a
*.apps 30 IN DYN geo country NL b
; subnet entries only: the subnet instance answers all its clients, as before
sub 60 IN DYN pool a 192.0.2.91
sub 60 IN DYN pool b 192.0.2.92
sub 60 IN DYN answer a
sub 60 IN DYN geo 203.0.113.0/24 b
"""

OUTSIDE_V4 = ["0.0.0.0", "10.9.8.0", "100.63.255.0", "100.67.16.0", "192.0.2.0", "198.51.101.0", "255.255.255.0"]
OUTSIDE_V6 = ["::", "2001:db8::", "2001:db8:5::", "2001:db8:0:ff00::", "fe80::"]


def in_db(ecs):
    """The database network holding the Client Subnet's address (its bits past the source zero)."""
    a = ipaddress.ip_network("%s/%d" % ecs, strict=False).network_address
    return next((n for n in NETS if a in ipaddress.ip_network(n)), None)


def read_past_cap(name, ecs):
    """Whether the source is longer than the 24 / 56 bits ternd reads (RFC 7871 11.1) and the bits
    past them choose: a subnet entry or a database network longer than that holds the address."""
    cap = 24 if ":" not in ecs[0] else 56
    nets = [n for n in NETS if ipaddress.ip_network(n).prefixlen > cap]
    nets += ["198.51.100.128/25"] if name == "mix" else []
    return ecs[1] > cap and any(ipaddress.ip_address(ecs[0]) in ipaddress.ip_network(n) for n in nets)


def clients():
    """(address, source prefix): every database network's first and last address, at the source
    prefix ternd reads (/24, /56) and longer (/32, /64); clients outside it; random ones (fixed seed)."""
    rng = random.Random(1717)
    out = []
    for n in map(ipaddress.ip_network, NETS):
        caps = (24, 32) if n.version == 4 else (56, 64)
        out += [(str(n.network_address), c) for c in caps] + [(str(n.broadcast_address), c) for c in caps]
        out += [(str(n.network_address + rng.randrange(n.num_addresses)), caps[0]) for _ in range(3)]
    out += [(a, 24) for a in OUTSIDE_V4] + [(a, 56) for a in OUTSIDE_V6]
    out += [(str(ipaddress.IPv4Address(rng.getrandbits(32))), 24) for _ in range(15)]
    out += [(str(ipaddress.IPv6Address((0x20010db8 << 96) | rng.getrandbits(80) << 16)), 56) for _ in range(10)]
    return out




def known(name, ecs, t, k):
    """Why ternd's answer t and Knot's k may differ for this query, or None: they must not."""
    if ecs and ecs[1] == 0:
        return "source prefix 0"  # ternd goes by the query's source, Knot by the option's 0.0.0.0 or ::
    if ecs and read_past_cap(name, ecs):
        return "source longer than /24"  # ternd reads 24 bits of it, Knot all 32
    same_answer = t[:3] == k[:3] and t[3] and k[3]
    if not (ecs and same_answer and k[3][0] < t[3][0]):
        return None
    net = in_db(ecs)
    if net is None:
        # outside the database: ternd's scope covers the database's empty block around the client,
        # Knot's is 0 (the zone's records), or the subnet block's for a resource with subnet entries
        if name != "mix":
            assert k[3] == [0], (name, ecs, k)
        return "outside the database"
    # subnet and database entries in one resource: Knot's scope is the database network's alone
    if name == "mix":
        assert k[3] == [ipaddress.ip_network(net).prefixlen], (ecs, k)
        return "database scope without the subnet entries"
    return None


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("dynknotgeodb")
    db = mmdblib.build(str(base / "geo.mmdb"), NETS)
    with rendered_pair(base, ZONE, extra_config='geo:\n  database: "%s"\n  check-interval: 60\n' % db,
                       render_args=("--geodb", db),
                       ready=lambda s: wait_log(lambda: open(s.log).read(), "geo database %s: GeoLite2-Country" % db)) \
            as (s, knot, out, stdout, stderr):
        yield s, knot, out, db, stdout, stderr


def test_the_database_is_as_built(rendered):
    _, _, _, db, _, _ = rendered
    for net, (cc, cont) in NETS.items():
        n = ipaddress.ip_network(net)
        assert mmdblib.lookup(db, str(n.network_address)) == (cc, cont, n.prefixlen), net
    assert mmdblib.lookup(db, "192.0.2.0") is None
    assert mmdblib.lookup(db, "100.68.0.0") is None


def test_render_writes_the_chain(rendered):
    s, knot, out, db, stdout, stderr = rendered
    files = sorted(os.listdir(out))
    assert files == ["geo.test.continent-30.geoip", "geo.test.continent-60.geoip", "geo.test.country-30.geoip",
                     "geo.test.country-60.geoip", "geo.test.default-60.geoip", "geo.test.knot.conf",
                     "geo.test.subnet-60.geoip", "geo.test.zone"], files
    conf = (out / "geo.test.knot.conf").read_text()
    for kind, key in (("country", "country/iso_code"), ("continent", "continent/code")):
        assert re.search(r"id: geo.test-%s-60\n\s+config-file: \"%s\"\n\s+mode: geodb\n\s+ttl: 60\n"
                         r"\s+geodb-file: \"%s\"\n\s+geodb-key: %s\n"
                         % (kind, re.escape(str(out / ("geo.test.%s-60.geoip" % kind))), re.escape(db), key),
                         conf), conf
    assert re.search(r"id: geo.test-default-60\n\s+config-file: \"[^\"]+\"\n\s+mode: subnet\n", conf), conf
    # dyn_select()'s order: subnet entries, countries, continents, the answer list
    assert "module: [ mod-geoip/geo.test-subnet-60, mod-geoip/geo.test-country-30, mod-geoip/geo.test-country-60, " \
        "mod-geoip/geo.test-continent-30, mod-geoip/geo.test-continent-60, mod-geoip/geo.test-default-60 ]" in conf
    country = (out / "geo.test.country-60.geoip").read_text()
    assert 'www.geo.test.:\n  - geo: "BR"\n    A: [ 192.0.2.10 ]\n    AAAA: [ 2001:db8::10 ]\n' \
        '  - geo: "NL"\n    A: [ 192.0.2.20 ]\n' in country, country
    continent = (out / "geo.test.continent-60.geoip").read_text()
    # NA's list has no IPv4 member: its view answers A with the answer list (the next rule), as "*" does
    assert '  - geo: "NA"\n    A: [ 192.0.2.1, 192.0.2.2 ]\n    AAAA: [ 2001:db8::30 ]\n' \
        '  - geo: "*"\n    A: [ 192.0.2.1, 192.0.2.2 ]\n    AAAA: [ 2001:db8::1 ]\n' in continent, continent
    # the mixed resource's subnet views: only the blocks its entries answer, with their own types
    subnet = (out / "geo.test.subnet-60.geoip").read_text()
    mix = subnet[subnet.index("mix.geo.test.:"):]
    assert re.findall(r"net: (\S+)", mix.split("\nsub.geo.test.:")[0]) == [
        "10.0.0.0/8", "198.51.100.128/25", "2001:db8:3::/48"], mix
    assert "- weight" not in subnet + country + continent
    warnings = sorted(l for l in stderr.splitlines() if l.startswith("tern: warning: "))
    assert warnings == sorted([
        "tern: warning: *.apps.geo.test.: clients the database does not hold: Knot's ECS scope is 0 (the "
        "zone's records), ternd's covers the database's empty block around the client (render-knot does not "
        "read the database)",
        "tern: warning: mix.geo.test.: clients the database does not hold: Knot's ECS scope is the subnet "
        "block's around the client, ternd's covers the database's empty block around the client (render-knot "
        "does not read the database)",
        "tern: warning: mix.geo.test.: geo 198.51.100.128/25: longer than /24: ternd matches a Client Subnet "
        "by its first 24 bits at most, Knot by the whole address the resolver sent",
        "tern: warning: mix.geo.test.: subnet and country/continent entries: for a client no subnet entry "
        "answers, Knot's ECS scope is the database network's prefix alone, ternd's also covers the subnet "
        "entries (longer when one lies inside that network)",
        "tern: warning: www.geo.test.: clients the database does not hold: Knot's ECS scope is 0 (the zone's "
        "records), ternd's covers the database's empty block around the client (render-knot does not read the "
        "database)",
    ]), stderr


@pytest.mark.parametrize("name,differences", [
    ("www", {"outside the database", "source longer than /24"}),
    ("x.apps", {"outside the database", "source longer than /24"}),
    ("mix", {"source prefix 0", "outside the database", "database scope without the subnet entries",
             "source longer than /24"}),
    ("sub", {"source prefix 0"}),
])
def test_knot_answers_as_ternd_for_every_client(rendered, name, differences):
    s, knot, _, _, _, _ = rendered
    diffs, seen, compared = [], set(), 0
    for ecs in clients() + [None, ("0.0.0.0", 0), ("::", 0)]:
        for rdtype in ("A", "AAAA"):
            qname = name + ".geo.test"
            t, k = ask(s.dns_port, qname, rdtype, ecs), ask(knot.port, qname, rdtype, ecs)
            compared += 1
            if t != k:
                why = known(name, ecs, t, k)
                if why is None:
                    diffs.append((rdtype, ecs, "ternd", t, "knot", k))
                seen.add(why)
    assert compared > 150
    assert diffs == []
    assert seen == differences  # each listed difference is real


def test_geodb_answers_are_the_rules(rendered):
    """Knot and ternd agreeing is not enough: they agree on the rules the zone states."""
    s, knot, _, _, _, _ = rendered
    for port in (s.dns_port, knot.port):
        www = "www.geo.test"
        assert ask(port, www, "A", ("198.51.100.7", 24)) == ("NOERROR", ["192.0.2.10"], [60], [24])
        # NL's list has no IPv6 member: AAAA goes on to continent EU
        assert ask(port, www, "AAAA", ("203.0.113.9", 24))[1:] == (["2001:db8::40"], [60], [24])
        assert ask(port, www, "A", ("100.64.3.0", 24))[1:] == (["192.0.2.40"], [60], [16])  # DE: continent EU
        assert ask(port, www, "A", ("100.66.0.0", 24))[1:] == (["192.0.2.40"], [60], [16])  # EU, no country
        assert ask(port, www, "A", ("100.65.9.0", 24))[1:] == (["192.0.2.1", "192.0.2.2"], [60], [16])  # JP
        # NA's list has no IPv4 member: A is the answer list's, with the network's scope
        assert ask(port, www, "A", ("100.67.15.0", 24))[1:] == (["192.0.2.1", "192.0.2.2"], [60], [20])
        assert ask(port, www, "AAAA", ("2001:db8:2:ff00::", 56))[1:] == (["2001:db8::30"], [60], [48])
        assert ask(port, www, "AAAA", ("2001:db8:4::", 56))[1:] == (["2001:db8::10"], [60], [48])
        # subnet entries first; one without IPv4 members leaves A to the database rules
        assert ask(port, "mix.geo.test", "AAAA", ("2001:db8:3::", 56))[1:] == (["2001:db8::50"], [60], [48])
        assert ask(port, "mix.geo.test", "AAAA", ("10.1.0.0", 24))[1:] == (["2001:db8::60"], [60], [8])
        assert ask(port, "x.apps.geo.test", "A", ("203.0.113.0", 24))[1:] == (["192.0.2.82"], [30], [24])
        assert ask(port, "x.apps.geo.test", "A", ("198.51.100.0", 24))[1:] == (["192.0.2.81"], [30], [24])
    # the documented difference: BR's network holds mix's /25, which ternd's scope covers and Knot's not
    assert ask(s.dns_port, "mix.geo.test", "A", ("198.51.100.0", 24))[1:] == (["192.0.2.10"], [60], [25])
    assert ask(knot.port, "mix.geo.test", "A", ("198.51.100.0", 24))[1:] == (["192.0.2.10"], [60], [24])
    # and a /32 source in a database network longer than /24: ternd looks 100.68.0.0 up, Knot the address
    assert ask(s.dns_port, "www.geo.test", "A", ("100.68.0.200", 32))[1:] == (["192.0.2.1", "192.0.2.2"], [60], [25])
    assert ask(knot.port, "www.geo.test", "A", ("100.68.0.200", 32))[1:] == (["192.0.2.20"], [60], [25])


def test_render_needs_the_database_path(rendered, tmp_path):
    s, _, _, db, _, _ = rendered
    err = fails(s, 2, "geo", "render-knot", "geo.test", "--dir", str(tmp_path))
    assert "country and continent entries need --geodb PATH" in err and "geo.test." in err, err
    err = fails(s, 2, "geo", "render-knot", "geo.test", "--dir", str(tmp_path), "--geodb", "geo.mmdb")
    assert "--geodb geo.mmdb: expected a full path" in err, err
    err = fails(s, 2, "geo", "render-knot", "geo.test", "--dir", str(tmp_path), "--geodb", '/tmp/a"b')
    assert "expected a full path without quotes" in err, err
    assert os.listdir(tmp_path) == []  # nothing written


def test_render_warns_for_weights_in_geodb_lists(rendered, tmp_path):
    """Knot's geodb mode has no weights: a weighted pool in a country or continent list, or in the
    answer list its "*" view renders, is written with all its members, and said so."""
    s, _, _, db, _, _ = rendered
    zf = tmp_path / "w.in"
    zf.write_text("$ORIGIN w.test.\n@ 300 IN SOA ns1 h 1 7200 900 1209600 300\n@ 300 IN NS ns1\n"
                  "ns1 300 IN A 192.0.2.53\nwww 60 IN DYN pool w 192.0.2.1 weight 3 192.0.2.2 weight 1\n"
                  "www 60 IN DYN pool a 192.0.2.3\nwww 60 IN DYN answer w\nwww 60 IN DYN geo country BR a\n"
                  "www 60 IN DYN geo continent EU w\n")
    ok(s, "zone", "create", "w.test", "--file", str(zf))
    _, _, err = tern(s, "geo", "render-knot", "w.test", "--dir", str(tmp_path), "--geodb", db, expect=0)
    assert sorted(l for l in err.splitlines() if "weighted" in l) == [
        "tern: warning: www.w.test.: answer: weighted pool \"w\" is rendered with all its members (Knot's geodb "
        "mode has no weights)",
        "tern: warning: www.w.test.: geo continent EU: weighted pool \"w\" is rendered with all its members "
        "(Knot's geodb mode has no weights)",
    ], err
    continent = (tmp_path / "w.test.continent-60.geoip").read_text()
    assert continent.count("A: [ 192.0.2.1, 192.0.2.2 ]") == 2 and "weight" not in continent, continent
