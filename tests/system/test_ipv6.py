"""Listening on ::1 as well as 127.0.0.1: UDP and TCP answers over IPv6."""
import dns.message
import dns.query
import dns.rcode
import pytest

from sysutil import ZONE_FILES, Ternd, assert_answer, header, ipv6_available, make_wire, udp_raw, wait_tcp

pytestmark = pytest.mark.skipif(not ipv6_available(), reason="::1 is not available")


@pytest.fixture(scope="module")
def srv6(tmp_path_factory):
    s = Ternd(ZONE_FILES, listen_v6=True, workdir=str(tmp_path_factory.mktemp("ternd6"))).start()
    wait_tcp("127.0.0.1", s.port)
    wait_tcp("::1", s.port)
    yield s
    assert s.stop() == 0


def ask6(srv, name, rdtype, tcp=False):
    q = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(q, "::1", port=srv.port, timeout=3)
    return dns.query.udp(q, "::1", port=srv.port, timeout=3)


def test_udp_over_ipv6(srv6):
    assert_answer(ask6(srv6, "www.example.com", "AAAA"), "www.example.com", "AAAA", "2001:db8::80")


def test_tcp_over_ipv6(srv6):
    assert_answer(ask6(srv6, "www.example.net", "A", tcp=True), "www.example.net", "A", "198.51.100.80")


def test_ipv4_still_answered(srv6):
    assert_answer(srv6.query("www.example.com", "A"), "www.example.com", "A", "192.0.2.80")


def test_refused_over_ipv6(srv6):
    assert ask6(srv6, "www.example.org", "A").rcode() == dns.rcode.REFUSED


def test_truncation_over_ipv6(srv6):
    wire = udp_raw(srv6.port, make_wire("bigtxt.example.com", "TXT"), addr="::1")
    assert wire is not None and header(wire)["tc"] == 1 and len(wire) <= 512
    r = ask6(srv6, "bigtxt.example.com", "TXT", tcp=True)
    assert len(r.answer[0]) == 5


def test_ipv6_only_listener(tmp_path):
    s = Ternd({"example.net": ZONE_FILES["example.net"]}, workdir=str(tmp_path))
    s.write_config(["::1@%d" % s.port])
    s.addr = "::1"
    s.start()
    try:
        assert_answer(s.query("www.example.net", "A"), "www.example.net", "A", "198.51.100.80")
        # Nothing listens on 127.0.0.1 at that port.
        assert udp_raw(s.port, make_wire("www.example.net", "A"), timeout=0.3) is None
    finally:
        assert s.stop() == 0
