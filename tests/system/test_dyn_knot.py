"""Knot PoPs for dynamic answers (issue 17): `tern geo render-knot` writes a zone's geo and weighted
resources as Knot DNS 3.2 mod-geoip configuration; Knot started on those files gives the same answers
(addresses, TTL, ECS scope) as ternd for every subnet's clients and clients outside them, IPv4 and
IPv6, and the same weighted shares. What Knot answers differently is asserted as such (KNOWN) and
listed in docs/dynamic-answers.md."""
import ipaddress
import math
import os
import random
import re
import socket
import time

import dns.message
import pytest

from knotgeolib import ask, rendered_pair
from test_cli import fails, ok, tern

ZONE = """$ORIGIN geo.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
; nested prefixes in both families; "us" has no IPv4 member (its A stands aside for the answer list)
www 60 IN DYN pool wide 192.0.2.16 2001:db8::16
www 60 IN DYN pool br 192.0.2.10 192.0.2.11
www 60 IN DYN pool nl 192.0.2.20
www 60 IN DYN pool us 2001:db8::30
www 60 IN DYN pool us1 192.0.2.31 2001:db8::31 2001:db8::32
www 60 IN DYN pool world 192.0.2.1 192.0.2.2 2001:db8::1
www 60 IN DYN answer world
www 60 IN DYN geo 198.51.0.0/16 wide world
www 60 IN DYN geo 198.51.100.0/24 br world
www 60 IN DYN geo 203.0.113.0/24 nl world
www 60 IN DYN geo 10.0.0.0/8 nl
www 60 IN DYN geo 2001:db8::/32 wide world
www 60 IN DYN geo 2001:db8:1::/48 us world
www 60 IN DYN geo 2001:db8:1:100::/56 us1 world
; a wildcard resource, IPv4 entries only
*.apps 60 IN DYN pool a 192.0.2.81 2001:db8::81
*.apps 60 IN DYN pool b 192.0.2.82
*.apps 60 IN DYN answer a
*.apps 60 IN DYN geo 198.51.100.0/24 b a
; weighted in both families (their views are the combinations: 90x1, 90x3, 10x1, 10x3)
w 30 IN DYN pool w 192.0.2.7 weight 90 192.0.2.8 weight 10 2001:db8::7 weight 1 2001:db8::8 weight 3
w 30 IN DYN answer w
; what Knot cannot do: monitors, failover to a later pool, a weighted pool in a geo list
api 60 IN DYN monitor hc tcp 80
api 60 IN DYN pool east 192.0.2.40 monitor hc
api 60 IN DYN pool west 192.0.2.41 weight 2 192.0.2.42 weight 1
api 60 IN DYN answer east west
api 60 IN DYN geo 100.64.0.0/10 west
; longer than the /24 ternd reads of a Client Subnet
fine 60 IN DYN pool a 192.0.2.61
fine 60 IN DYN pool b 192.0.2.62
fine 60 IN DYN answer a
fine 60 IN DYN geo 198.51.100.128/25 b
; the same answer for everyone: the zone file's records carry it
static 60 IN DYN pool s 192.0.2.90
static 60 IN DYN answer s
"""

V4_OUTSIDE = ["0.0.0.0", "9.255.255.0", "11.0.0.0", "127.0.0.0", "192.0.2.0", "198.50.255.0", "198.52.0.0",
              "203.0.112.0", "203.0.114.0", "255.255.255.0"]
V6_OUTSIDE = ["::", "2001:db7:ffff:ff00::", "2001:db9::", "2001:db8:2::", "fe80::", "ffff:ffff:ffff:ff00::"]


def known(name, rdtype, ecs, t, k):
    """Why ternd's answer t and Knot's k may differ for this query, or None: they must not."""
    if ecs and ecs[1] == 0:
        # ECS source prefix 0 ("do not use my subnet", RFC 7871 7.1.2): ternd goes by the query's
        # source address, Knot matches the option's address (0.0.0.0 or ::)
        return "source prefix 0"
    if name == "api.geo.test" and rdtype == "A" and ecs and ecs[0].startswith("100.") and \
            ipaddress.ip_address(ecs[0]) in ipaddress.ip_network("100.64.0.0/10") and \
            len(t[1]) == 1 and k[1] == ["192.0.2.41", "192.0.2.42"] and t[1][0] in k[1] and t[2:] == k[2:]:
        return "weighted pool in a geo list"  # ternd picks one by weight, Knot answers all
    if name == "fine.geo.test" and ecs and ecs[1] > 24 and \
            ipaddress.ip_address(ecs[0]) in ipaddress.ip_network("198.51.100.128/25"):
        return "source longer than /24"  # ternd reads 24 bits of it (RFC 7871 11.1), Knot all 32
    return None


def ecs_clients():
    """(address, source prefix) for every subnet: its first and last client, for the subnets' clients and
    clients outside them, IPv4 at /24 and /32, IPv6 at /56 and /64; random ones too (fixed seed)."""
    rng = random.Random(17)
    nets = [ipaddress.ip_network(l.split()[5]) for l in ZONE.splitlines() if " DYN geo " in l]
    out = []
    for n in nets:
        cap = 24 if n.version == 4 else 56
        out += [(str(n.network_address), cap), (str(n.broadcast_address), cap),
                (str(n.broadcast_address), 32 if n.version == 4 else 64)]
    out += [(a, 24) for a in V4_OUTSIDE] + [(a, 56) for a in V6_OUTSIDE]
    out += [(str(ipaddress.IPv4Address(rng.getrandbits(32))), 24) for _ in range(30)]
    out += [(str(ipaddress.IPv6Address(rng.getrandbits(128))), 56) for _ in range(20)]
    # random clients inside the nested subnets, where the blocks are small
    for base, bits, cap in (("198.51.0.0", 16, 24), ("2001:db8:1::", 48, 56), ("2001:db8::", 32, 56)):
        b = int(ipaddress.ip_address(base))
        width = (32 if ":" not in base else 128) - bits
        out += [(str(ipaddress.ip_address(b + rng.getrandbits(width))), cap) for _ in range(15)]
    return out




@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("dynknot")
    # the monitored member is a documentation address
    with rendered_pair(base, ZONE, extra_config="monitors:\n  allow: [192.0.2.0/24]\n") as pair:
        yield pair


def test_render_writes_the_files_and_warns(rendered):
    s, knot, out, stdout, stderr = rendered
    files = sorted(os.listdir(out))
    assert files == ["geo.test.knot.conf", "geo.test.subnet-60.geoip", "geo.test.weighted-30.geoip", "geo.test.zone"]
    for f in files:
        assert "wrote %s" % (out / f) in stdout, stdout
    conf = (out / "geo.test.knot.conf").read_text()
    assert "edns-client-subnet: on" in conf
    assert re.search(r"id: geo.test-subnet-60\n\s+config-file: \"%s\"\n\s+mode: subnet\n\s+ttl: 60"
                     % re.escape(str(out / "geo.test.subnet-60.geoip")), conf), conf
    assert re.search(r"mode: weighted\n\s+ttl: 30", conf), conf
    assert "module: [ mod-geoip/geo.test-subnet-60, mod-geoip/geo.test-weighted-30 ]" in conf, conf
    weighted = (out / "geo.test.weighted-30.geoip").read_text()
    assert "weight:" not in (out / "geo.test.subnet-60.geoip").read_text()  # Knot refuses it there
    assert weighted.count("- weight:") == 4, weighted  # 9, 27, 1 and 3
    # the static resource needs no module: the zone file holds its answer
    assert "static.geo.test." not in (out / "geo.test.subnet-60.geoip").read_text() + weighted
    assert re.search(r"static\.geo\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.90", (out / "geo.test.zone").read_text())
    warnings = [l for l in stderr.splitlines() if l.startswith("tern: warning: ")]
    assert sorted(warnings) == sorted([
        'tern: warning: api.geo.test.: pool "east": monitors are not rendered (Knot answers every member '
        'whatever its health)',
        'tern: warning: api.geo.test.: answer: pool "west" is not rendered (Knot has no failover: only the '
        'first pool answering each type is)',
        'tern: warning: api.geo.test.: geo 100.64.0.0/10: weighted pool "west" is rendered with all its '
        "members (Knot's subnet mode has no weights)",
        "tern: warning: fine.geo.test.: geo 198.51.100.128/25: longer than /24: ternd matches a Client Subnet "
        "by its first 24 bits at most, Knot by the whole address the resolver sent",
    ]), stderr


@pytest.mark.parametrize("name,differences", [
    ("www.geo.test", {"source prefix 0"}),
    ("x.apps.geo.test", {"source prefix 0"}),
    ("api.geo.test", {"source prefix 0", "weighted pool in a geo list"}),
    ("fine.geo.test", {"source prefix 0", "source longer than /24"}),
    ("static.geo.test", set()),
])
def test_knot_answers_as_ternd_for_every_client(rendered, name, differences):
    s, knot, _, _, _ = rendered
    diffs, seen, compared = [], set(), 0
    for ecs in ecs_clients() + [None, ("0.0.0.0", 0), ("::", 0)]:
        for rdtype in ("A", "AAAA"):
            t, k = ask(s.dns_port, name, rdtype, ecs), ask(knot.port, name, rdtype, ecs)
            compared += 1
            if t != k:
                why = known(name, rdtype, ecs, t, k)
                if why is None:
                    diffs.append((rdtype, ecs, "ternd", t, "knot", k))
                seen.add(why)
    assert compared > 250
    assert diffs == []
    assert seen == differences  # each listed difference is real


def test_geo_answers_are_the_rules(rendered):
    """Knot and ternd agreeing is not enough: they agree on the rules the zone states."""
    s, knot, _, _, _ = rendered
    for port in (s.dns_port, knot.port):
        assert ask(port, "www.geo.test", "A", ("198.51.100.9", 24)) == ("NOERROR", ["192.0.2.10", "192.0.2.11"],
                                                                       [60], [24])
        assert ask(port, "www.geo.test", "A", ("198.51.7.0", 24))[1:] == (["192.0.2.16"], [60], [18])
        assert ask(port, "www.geo.test", "A", ("192.0.2.0", 24))[1:] == (["192.0.2.1", "192.0.2.2"], [60], [6])
        # us has no IPv4 member: the answer list answers A, with the /48's scope
        assert ask(port, "www.geo.test", "A", ("2001:db8:1:ff00::", 56))[1:] == (["192.0.2.1", "192.0.2.2"], [60],
                                                                                 [49])
        assert ask(port, "www.geo.test", "AAAA", ("2001:db8:1:100::", 56))[1:] == (
            ["2001:db8::31", "2001:db8::32"], [60], [56])
        # 10.0.0.0/8's list has no IPv6 member: the answer list's
        assert ask(port, "www.geo.test", "AAAA", ("10.1.2.0", 24))[1:] == (["2001:db8::1"], [60], [8])
        # wildcard, IPv6 client of an IPv4-only map: scope 0
        assert ask(port, "x.apps.geo.test", "A", ("2001:db8::", 56))[1:] == (["192.0.2.81"], [60], [0])
        assert ask(port, "x.apps.geo.test", "A", ("198.51.100.0", 24))[1:] == (["192.0.2.82"], [60], [24])


def shares(port, name, rdtype, n=2000):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    wire = dns.message.make_query(name, rdtype).to_wire()
    seen = {}
    try:
        for _ in range(n):
            sock.sendto(wire, ("127.0.0.1", port))
            r = dns.message.from_wire(sock.recv(4096))
            got = [rd.address for rrset in r.answer for rd in rrset]
            assert len(got) == 1, r
            assert r.answer[0].ttl == 30, r
            seen[got[0]] = seen.get(got[0], 0) + 1
    finally:
        sock.close()
    return seen


@pytest.mark.parametrize("rdtype,weights", [
    ("A", {"192.0.2.7": 0.9, "192.0.2.8": 0.1}),
    ("AAAA", {"2001:db8::7": 0.25, "2001:db8::8": 0.75}),
])
def test_weighted_shares_match(rendered, rdtype, weights):
    s, knot, _, _, _ = rendered
    n = 2000
    for server, port in (("ternd", s.dns_port), ("knot", knot.port)):
        seen = shares(port, "w.geo.test", rdtype, n)
        assert set(seen) == set(weights), (server, seen)
        for a, p in weights.items():
            # within 4.5 standard deviations: a fair draw misses it once in 150,000 tries (at 3, a
            # CI run met one in 370); a wrong weight (0.8 for 0.9: 15 deviations) never passes
            assert abs(seen[a] - n * p) <= 4.5 * math.sqrt(n * p * (1 - p)), (server, seen)


def test_render_refuses_what_it_cannot_do(rendered):
    s, _, out, _, _ = rendered
    err = fails(s, 1, "geo", "render-knot", "nosuch.test", "--dir", str(out))
    assert "nosuch.test" in err or "not found" in err, err
    err = fails(s, 2, "geo", "render-knot", "geo.test", "--dir", str(out / "missing"))
    assert "--dir" in err and "missing" in err, err


def test_render_warns_for_a_signed_zone(rendered, tmp_path):
    s, _, _, _, _ = rendered
    zf = tmp_path / "signed.in"
    zf.write_text("$ORIGIN signed.test.\n@ 300 IN SOA ns1 h 1 7200 900 1209600 300\n@ 300 IN NS ns1\n"
                  "ns1 300 IN A 192.0.2.53\nwww 60 IN DYN pool a 192.0.2.1\nwww 60 IN DYN pool b 192.0.2.2\n"
                  "www 60 IN DYN answer a\nwww 60 IN DYN geo 198.51.100.0/24 b\n")
    ok(s, "zone", "create", "signed.test", "--file", str(zf))
    _, _, err = tern(s, "geo", "render-knot", "signed.test", "--dir", str(tmp_path), expect=0)
    assert "signed" not in err, err
    ok(s, "zone", "sign", "signed.test")
    deadline = time.time() + 15
    while "DNSKEY" not in ok(s, "zone", "export", "signed.test"):
        assert time.time() < deadline, "the zone was not signed"
        time.sleep(0.2)
    _, _, err = tern(s, "geo", "render-knot", "signed.test", "--dir", str(tmp_path), expect=0)
    assert "tern: warning: signed.test: the zone is DNSSEC-signed" in err, err
    assert "manual ZSK rollover" in err, err
