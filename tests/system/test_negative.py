"""Negative answers (RFC 2308): NXDOMAIN and NODATA carry the zone's SOA in authority with
TTL = min(SOA TTL, SOA MINIMUM). example.com: TTL 3600 > MINIMUM 300; example.net: TTL 60 < 600."""
import dns.rcode
import pytest

from sysutil import assert_nodata, assert_nxdomain, describe, rdatas, server_fixture

srv = server_fixture()

SOA_RDATA = {
    "example.com": "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300",
    "sub.example.com": "ns1.sub.example.com. hostmaster.sub.example.com. 7 7200 3600 1209600 120",
    "example.net": "ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 600",
}


@pytest.mark.parametrize("zone", ["example.com", "example.net", "sub.example.com"])
@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_nxdomain_soa_ttl(srv, zone, tcp):
    r = srv.query("no-such-name." + zone, "A", tcp=tcp)
    assert_nxdomain(r, zone)
    assert rdatas(r.authority[0]) == {SOA_RDATA[zone]}, "the SOA RDATA itself is unchanged" + describe(r)


@pytest.mark.parametrize("zone,name", [("example.com", "www.example.com"), ("example.net", "www.example.net"),
                                       ("sub.example.com", "www.sub.example.com")])
def test_nodata_soa_ttl(srv, zone, name):
    r = srv.query(name, "MX")
    assert_nodata(r, zone)
    assert rdatas(r.authority[0]) == {SOA_RDATA[zone]}, describe(r)


@pytest.mark.parametrize("zone", ["example.com", "example.net"])
def test_nodata_at_apex(srv, zone):
    assert_nodata(srv.query(zone, "TXT"), zone)


def test_nxdomain_deep_name(srv):
    assert_nxdomain(srv.query("a.b.c.d.e.f.example.net", "AAAA"), "example.net")


def test_nxdomain_with_edns(srv):
    r = srv.query("nope.example.net", "A", use_edns=0)
    assert_nxdomain(r, "example.net")
    assert r.edns == 0, describe(r)


def test_nxdomain_is_not_nodata_for_empty_non_terminal(srv):
    # inner.example.com only exists as the parent of www.inner.example.com.
    assert_nodata(srv.query("inner.example.com", "A"), "example.com")
    assert srv.query("x.inner.example.com", "A").rcode() == dns.rcode.NXDOMAIN
