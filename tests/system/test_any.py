"""QTYPE=ANY (RFC 8482): a minimal answer over UDP, AA set, negative answers as for any type."""
import dns.rcode
import dns.rdatatype

from sysutil import assert_aa, assert_nodata, assert_nxdomain, assert_rcode, describe, server_fixture

srv = server_fixture()

# Types at rr.example.com (see zones/example.com.zone).
RR_TYPES = {"A", "AAAA", "MX", "TXT", "SRV", "PTR", "CAA", "NAPTR", "TLSA", "SSHFP", "DNSKEY", "RRSIG",
            "NSEC", "NSEC3", "NSEC3PARAM", "SVCB", "HTTPS", "TYPE65000"}


def assert_minimal_any(r, name, present):
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert r.answer, "ANY at an existing name gets a non-empty answer" + describe(r)
    owners = {rs.name.to_text().lower() for rs in r.answer}
    assert owners == {name + "."}, describe(r)
    types = {dns.rdatatype.to_text(rs.rdtype) for rs in r.answer}
    if types == {"HINFO"}:
        return  # RFC 8482 section 4.2: a synthesized HINFO
    assert types <= present, "ANY returned types not at the name: %s%s" % (types - present, describe(r))
    if len(present) > 1:
        assert types != present, "ANY over UDP must not return every RRset" + describe(r)


def test_any_minimal_over_udp(srv):
    assert_minimal_any(srv.query("rr.example.com", "ANY"), "rr.example.com", RR_TYPES)


def test_any_at_apex(srv):
    assert_minimal_any(srv.query("example.com", "ANY"), "example.com", {"SOA", "NS", "A", "MX"})


def test_any_at_name_with_two_types(srv):
    assert_minimal_any(srv.query("www.example.com", "ANY"), "www.example.com", {"A", "AAAA"})


def test_any_at_name_with_one_type(srv):
    r = srv.query("hinfo.example.com", "ANY")
    assert_minimal_any(r, "hinfo.example.com", {"HINFO"})


def test_any_over_tcp_is_answered(srv):
    r = srv.query("rr.example.com", "ANY", tcp=True)
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert r.answer, describe(r)


def test_any_at_wildcard(srv):
    r = srv.query("foo.wild.example.com", "ANY")
    assert_minimal_any(r, "foo.wild.example.com", {"A", "MX"})


def test_any_nxdomain(srv):
    assert_nxdomain(srv.query("nope.example.com", "ANY"), "example.com")


def test_any_nodata_at_empty_non_terminal(srv):
    assert_nodata(srv.query("b.wild.example.com", "ANY"), "example.com")


def test_any_outside_zones_refused(srv):
    r = srv.query("www.example.org", "ANY")
    assert_rcode(r, dns.rcode.REFUSED)
    assert_aa(r, False)
