"""CNAME processing (RFC 1034 section 4.3.2, RFC 6604): chains followed inside served zones."""
import dns.rcode

from sysutil import (assert_aa, assert_nodata, assert_nxdomain, assert_rcode, describe, find, header,
                     make_wire, rdatas, rrset_keys, server_fixture, still_answers, udp_raw)

srv = server_fixture()


def test_chain_followed_to_the_end(srv):
    r = srv.query("chain1.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("chain1.example.com.", "CNAME"), ("chain2.example.com.", "CNAME"),
                                    ("chain3.example.com.", "A")}, describe(r)
    assert rdatas(find(r.answer, "chain1.example.com", "CNAME")) == {"chain2.example.com."}
    assert rdatas(find(r.answer, "chain2.example.com", "CNAME")) == {"chain3.example.com."}
    assert rdatas(find(r.answer, "chain3.example.com", "A")) == {"192.0.2.3"}
    # The chain is in order: each record's owner is the previous one's target.
    assert [rs.name.to_text() for rs in r.answer] == [
        "chain1.example.com.", "chain2.example.com.", "chain3.example.com."], describe(r)
    assert r.authority == [], describe(r)


def test_chain_keeps_query_case_on_first_owner(srv):
    r = srv.query("CHAIN1.Example.Com", "A")
    assert r.answer[0].name.to_text() == "CHAIN1.Example.Com.", describe(r)


def test_chain_ending_in_nodata(srv):
    r = srv.query("chain1.example.com", "AAAA")
    assert_nodata(r, "example.com", {("chain1.example.com.", "CNAME"), ("chain2.example.com.", "CNAME")})


def test_chain_ending_in_nxdomain(srv):
    r = srv.query("dangling.example.com", "A")
    assert_nxdomain(r, "example.com", {("dangling.example.com.", "CNAME")})


def test_qtype_cname_returns_just_the_cname(srv):
    r = srv.query("chain1.example.com", "CNAME")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("chain1.example.com.", "CNAME")}, describe(r)
    assert rdatas(r.answer[0]) == {"chain2.example.com."}
    assert r.authority == [], describe(r)


def test_qtype_any_at_cname_is_not_followed_beyond_it(srv):
    r = srv.query("chain1.example.com", "ANY")
    assert_rcode(r, dns.rcode.NOERROR)
    assert ("chain1.example.com.", "CNAME") in rrset_keys(r.answer), describe(r)
    assert ("chain3.example.com.", "A") not in rrset_keys(r.answer), describe(r)


def _assert_loop_terminates(srv, name):
    wire = udp_raw(srv.port, make_wire(name, "A"), timeout=2.0)
    assert wire is not None, "no answer for a CNAME loop"
    h = header(wire)
    assert h["rcode"] in (dns.rcode.NOERROR, dns.rcode.SERVFAIL), h
    assert 1 <= h["an"] <= 20, "the loop is cut short, answer count %d" % h["an"]
    r = srv.query(name, "A", tcp=True)
    assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.SERVFAIL), describe(r)
    if r.rcode() == dns.rcode.NOERROR:
        assert ("%s." % name, "CNAME") in rrset_keys(r.answer), describe(r)
        assert all(rs.rdtype == 5 for rs in r.answer), describe(r)
    still_answers(srv)


def test_cname_loop_terminates(srv):
    _assert_loop_terminates(srv, "loop1.example.com")


def test_cname_to_itself_terminates(srv):
    _assert_loop_terminates(srv, "self.example.com")


def test_chain_into_another_served_zone(srv):
    r = srv.query("tonet.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("tonet.example.com.", "CNAME"), ("www.example.net.", "A")}, describe(r)
    assert rdatas(find(r.answer, "www.example.net", "A")) == {"198.51.100.80"}


def test_chain_into_another_zone_ending_in_nxdomain_has_target_zone_soa(srv):
    r = srv.query("tonetnx.example.com", "A")
    assert_nxdomain(r, "example.net", {("tonetnx.example.com.", "CNAME")})


def test_chain_into_child_zone(srv):
    r = srv.query("tosub.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("tosub.example.com.", "CNAME"), ("www.sub.example.com.", "A")}, describe(r)
    assert rdatas(find(r.answer, "www.sub.example.com", "A")) == {"192.0.2.61"}


def test_chain_into_wildcard(srv):
    r = srv.query("towild.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert rrset_keys(r.answer) == {("towild.example.com.", "CNAME"), ("foo.wild.example.com.", "A")}, describe(r)
    assert rdatas(find(r.answer, "foo.wild.example.com", "A")) == {"192.0.2.200"}


def test_chain_leaving_served_zones_stops_at_the_cname(srv):
    r = srv.query("toout.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("toout.example.com.", "CNAME")}, describe(r)
    assert rdatas(r.answer[0]) == {"www.outside.test."}
    assert r.authority == [], "no SOA: the target is not ours to deny" + describe(r)


def test_chain_over_tcp(srv):
    r = srv.query("chain1.example.com", "A", tcp=True)
    assert rrset_keys(r.answer) == {("chain1.example.com.", "CNAME"), ("chain2.example.com.", "CNAME"),
                                    ("chain3.example.com.", "A")}, describe(r)


def test_name_below_cname_owner_is_nxdomain(srv):
    assert_nxdomain(srv.query("x.chain1.example.com", "A"), "example.com")


def test_chain_into_delegation_gives_referral_after_cname(srv):
    # RFC 1034 4.3.2: the CNAME is answered, then the referral for its target follows.
    r = srv.query("todeleg.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("todeleg.example.com.", "CNAME")}, describe(r)
    assert rrset_keys(r.authority) == {("deleg.example.com.", "NS")}, describe(r)
    assert rrset_keys(r.additional) == {("ns1.deleg.example.com.", "A"), ("ns1.deleg.example.com.", "AAAA")}, \
        describe(r)
