"""Dynamic answers (issue 17, lib/dyn.h): a name's DYN records are a resource answering A and AAAA
per client. A zone file with geo and weighted resources, served by ternd, queried with and without
EDNS Client Subnet (RFC 7871) by dnspython."""
import math
import os
import subprocess
import tempfile

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from ternlib import TERND, Ternd

ZONE = """$ORIGIN geo.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
; the issue's map: BR and NL by IPv4 subnet, US by IPv6 subnet, the rest to the world pool
www 60 IN DYN pool br 192.0.2.10
www 60 IN DYN pool nl 192.0.2.20
www 60 IN DYN pool us 192.0.2.30 2001:db8::30
www 60 IN DYN ( pool world 192.0.2.1
                192.0.2.2 2001:db8::1 )
www 60 IN DYN answer world
www 60 IN DYN geo 198.51.100.0/24 br world
www 60 IN DYN geo 203.0.113.0/24 nl world
www 60 IN DYN "geo" "2001:db8:1::/48" "us" "world"
w 30 IN DYN pool w 192.0.2.7 weight 90 192.0.2.8 weight 10
w 30 IN DYN answer w
*.apps 60 IN DYN pool a 192.0.2.81
*.apps 60 IN DYN answer a
v4only 60 IN DYN pool a 192.0.2.99
v4only 60 IN DYN answer a
"""


@pytest.fixture(scope="module")
def server():
    d = tempfile.mkdtemp(prefix="dyn-geo-")
    path = os.path.join(d, "geo.test.zone")
    with open(path, "w") as f:
        f.write(ZONE)
    with Ternd({"geo.test": path}) as t:
        yield t


def ask(t, name, rdtype="A", ecs=None, tcp=False):
    opts = [dns.edns.ECSOption(*ecs)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0, options=opts)
    if tcp:
        return dns.query.tcp(q, t.addr, port=t.port, timeout=3)
    return dns.query.udp(q, t.addr, port=t.port, timeout=3)


def addrs(r):
    return sorted(rd.address for rrset in r.answer for rd in rrset if rrset.rdtype in (1, 28))


def scope(r):
    ecs = [o for o in r.options if o.otype == dns.edns.ECS]
    return ecs[0].scopelen if ecs else None


@pytest.mark.parametrize("client,prefix,want,want_scope", [
    ("198.51.100.7", 24, ["192.0.2.10"], 24),
    ("203.0.113.0", 24, ["192.0.2.20"], 24),
    ("2001:db8:1::", 56, ["192.0.2.30"], 48),
    ("2001:db8:1:ff00::", 64, ["192.0.2.30"], 48),  # source capped at /56: still inside the /48
])
def test_geo_by_client_subnet(server, client, prefix, want, want_scope):
    r = ask(server, "www.geo.test", "A", ecs=(client, prefix))
    assert r.rcode() == dns.rcode.NOERROR
    assert addrs(r) == want
    assert scope(r) == want_scope
    assert r.answer[0].ttl == 60


def test_aaaa_follows_the_same_map(server):
    r = ask(server, "www.geo.test", "AAAA", ecs=("2001:db8:1::", 48))
    assert addrs(r) == ["2001:db8::30"]
    assert scope(r) == 48
    # br has no IPv6 member: the answer list answers AAAA for BR clients
    r = ask(server, "www.geo.test", "AAAA", ecs=("198.51.100.0", 24))
    assert addrs(r) == ["2001:db8::1"]


def test_no_ecs_and_unmapped_clients_get_the_answer_list(server):
    r = ask(server, "www.geo.test", "A")  # from 127.0.0.1, which no entry maps
    assert r.rcode() == dns.rcode.NOERROR
    assert addrs(r) == ["192.0.2.1", "192.0.2.2"]
    assert scope(r) is None  # no ECS asked, none given
    r = ask(server, "www.geo.test", "A", ecs=("192.0.2.0", 24))
    assert r.rcode() == dns.rcode.NOERROR
    assert addrs(r) == ["192.0.2.1", "192.0.2.2"]
    # the answer holds for the block around the client free of entries: 192.0.0.0/6 here
    # (198.51.100.0/24 shares 5 leading bits with 192.0.2.0), not for every client (scope 0
    # would have resolvers hand this answer to BR clients too)
    assert scope(r) == 6


def test_weighted_shares(server):
    n, seen = 10000, {"192.0.2.7": 0, "192.0.2.8": 0}
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    wire = dns.message.make_query("w.geo.test", "A").to_wire()
    for _ in range(n):
        s.sendto(wire, (server.addr, server.port))
        r = dns.message.from_wire(s.recv(4096))
        got = addrs(r)
        assert len(got) == 1
        seen[got[0]] += 1
    s.close()
    for a, p in (("192.0.2.7", 0.9), ("192.0.2.8", 0.1)):
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(seen[a] - n * p) <= 3 * sigma, seen


def test_names_types_and_statements(server):
    # AAAA on an IPv4-only resource: NODATA with the SOA (the name exists: never NXDOMAIN)
    r = ask(server, "v4only.geo.test", "AAAA")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    # a wildcard resource stands for the names below it
    r = ask(server, "x.apps.geo.test", "A")
    assert addrs(r) == ["192.0.2.81"]
    assert r.answer[0].name.to_text() == "x.apps.geo.test."
    # the statements themselves are not answered (monitor URLs, pools stay private)
    r = ask(server, "www.geo.test", 65301)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    # ANY over TCP: the resource's answers
    r = ask(server, "www.geo.test", "ANY", tcp=True)
    assert addrs(r) == ["192.0.2.1", "192.0.2.2", "2001:db8::1"]
    assert all(rrset.rdtype != 65301 for rrset in r.answer)


@pytest.mark.parametrize("records,says", [
    ("www IN DYN pool a 192.0.2.1\nwww IN DYN answer b\n", 'pool \\"b\\" is not defined'),
    ("www IN DYN pool a 192.0.2.1 weight x\nwww IN DYN answer a\n", 'weight \\"x\\"'),
    ("www IN DYN pool a 192.0.2.1\nwww IN DYN answer a\nwww IN A 192.0.2.9\n", "beside A or AAAA"),
    ("www IN DYN pool a 192.0.2.1\nwww IN DYN answer a\nwww IN CNAME x\n", "CNAME beside other data"),
    ("www IN DYN pool a 192.0.2.1 monitor m\nwww IN DYN answer a\n", 'monitor \\"m\\" is not defined'),
    ("www IN DYN monitor m tcp 80 interval 0\nwww IN DYN pool a 192.0.2.1\nwww IN DYN answer a\n",
     'interval \\"0\\"'),
])
def test_bad_resources_are_refused_with_file_and_line(records, says):
    d = tempfile.mkdtemp(prefix="dyn-bad-")
    path = os.path.join(d, "bad.zone")
    with open(path, "w") as f:
        f.write("$ORIGIN bad.test.\n@ 300 IN SOA ns1 h 1 2 3 4 5\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\n"
                + "\n".join("%s" % l for l in records.splitlines()) + "\n")
    cfg = os.path.join(d, "ternd.yaml")
    with open(cfg, "w") as f:
        f.write('server:\n  listen: ["127.0.0.1@53"]\nzones:\n  - name: bad.test\n    file: "%s"\n' % path)
    p = subprocess.run([TERND, "-c", cfg, "--check"], capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert path + ":" in out, out
    assert says.replace('\\"', '"') in out, out
