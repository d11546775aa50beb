"""An UPDATE sent to a PoP (ternd serving the zone as a secondary) is forwarded to the zone's
primary as received, TSIG intact, and the primary's answer relayed unchanged (RFC 2136 6): the PoP
does not know the key. The change is served by the primary and comes back to the PoP by IXFR.
A primary that does not answer: SERVFAIL with Extended DNS Error 22 (No Reachable Authority)
once the forwarding times out."""
import socket
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.tsig
import pytest

from apilib import keys  # noqa: F401 (the keys fixture)
from poplib import Pop
from test_ddns import ACME, DDNS, STRANGER, ZONE, DdnsTernd, run_tool, upd
from ternlib import free_port
from xfrlib import wait_serial


@pytest.fixture(scope="module")
def lab(keys, tmp_path_factory):  # noqa: F811
    d = tmp_path_factory.mktemp("ddns-pop")
    pport = free_port()
    primary = DdnsTernd(keys, str(d / "primary"), notify=pport).start()
    api = primary.api(keys.token("dyn"))
    api.create_zone(ZONE, rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    (d / "pop").mkdir()
    pop = Pop([ZONE.rstrip(".")], "127.0.0.1@%d" % primary.port, free_port(), port=pport,
              workdir=str(d / "pop")).start()
    wait_serial("127.0.0.1", pport, ZONE, api.serial(ZONE), timeout=15)
    # a PoP whose primary never answers: a bound UDP socket nobody reads
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    (d / "lost").mkdir()
    lost = Pop([ZONE.rstrip(".")], "127.0.0.1@%d" % hole.getsockname()[1], free_port(),
               workdir=str(d / "lost")).start()
    yield {"primary": primary, "api": api, "pop": pop, "lost": lost}
    for t in (lost, pop, primary):
        t.stop()
        assert "AddressSanitizer" not in open(t.log).read()
    hole.close()


def at(t, name, rdtype="A"):
    r = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=t.port, timeout=3)
    return sorted(rd.to_text() for rs in r.answer for rd in rs if rs.rdtype == dns.rdatatype.from_text(rdtype))


def test_nsupdate_through_the_pop(lab):
    pop, primary, api = lab["pop"], lab["primary"], lab["api"]
    before = api.serial(ZONE)
    rc, out = run_tool(["nsupdate", "-y", "hmac-sha256:%s:%s" % (DDNS[0], DDNS[2])],
                       "server 127.0.0.1 %d\nzone %s\nupdate add fwd.%s 300 A 192.0.2.44\nsend\n"
                       % (pop.port, ZONE, ZONE))
    assert rc == 0, out
    assert at(primary, "fwd." + ZONE) == ["192.0.2.44"]  # written by the primary before it answered
    assert api.serial(ZONE) == before + 1
    wait_serial("127.0.0.1", pop.port, ZONE, before + 1, timeout=5)
    assert at(pop, "fwd." + ZONE) == ["192.0.2.44"]
    changes = api.get("/api/v1/zones/%s/changes" % ZONE).json["changes"]
    assert "update key %s" % DDNS[0] in {c.get("by") for c in changes}
    # over TCP (nsupdate -v) as well
    rc, out = run_tool(["nsupdate", "-v", "-y", "hmac-sha256:%s:%s" % (DDNS[0], DDNS[2])],
                       "server 127.0.0.1 %d\nzone %s\nupdate delete fwd.%s A\nsend\n" % (pop.port, ZONE, ZONE))
    assert rc == 0, out
    assert at(primary, "fwd." + ZONE) == []
    wait_serial("127.0.0.1", pop.port, ZONE, before + 2, timeout=5)
    assert at(pop, "fwd." + ZONE) == []
    log = open(pop.log).read()
    assert "IXFR" in log, log[-2000:]


@pytest.mark.parametrize("tcp", [False, True])
def test_answer_relayed_unchanged(lab, tcp):
    pop = lab["pop"]
    send = dns.query.tcp if tcp else dns.query.udp
    u = upd()
    u.add("relay", 60, "TXT", "via the pop")
    r = send(u, "127.0.0.1", port=pop.port, timeout=5)  # its TSIG verified with the key: the primary's
    assert r.id == u.id and r.rcode() == dns.rcode.NOERROR and r.had_tsig
    # the primary's refusal, its Extended DNS Error text included
    u = upd(key=ACME)
    u.use_edns(0)
    u.add("not-acme", 60, "A", "192.0.2.5")
    r = send(u, "127.0.0.1", port=pop.port, timeout=5)
    assert r.rcode() == dns.rcode.REFUSED
    assert any("may not add" in (o.text or "") for o in r.options if o.otype == dns.edns.EDE), r.options
    # a wrong secret: the primary's BADSIG, which the PoP could not have judged
    u = upd(key=STRANGER)
    u.add("x", 60, "A", "192.0.2.1")
    with pytest.raises(dns.tsig.PeerBadSignature):
        send(u, "127.0.0.1", port=pop.port, timeout=5)
    assert "TSIG BADSIG" in open(lab["primary"].log).read()


def test_silent_primary_servfail_after_the_timeout(lab):
    lost = lab["lost"]
    u = upd()
    u.use_edns(0)
    u.add("x", 60, "A", "192.0.2.1")
    start = time.monotonic()
    wire = u.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        s.sendto(wire, ("127.0.0.1", lost.port))
        answer = s.recv(65535)
    took = time.monotonic() - start
    r = dns.message.from_wire(answer, ignore_trailing=True, keyring=None)
    assert r.id == u.id and r.rcode() == dns.rcode.SERVFAIL
    ede = [(o.code, o.text) for o in r.options if o.otype == dns.edns.EDE]
    assert ede and ede[0][0] == 22 and "did not answer" in ede[0][1], ede
    assert 1.5 < took < 5, took
