"""DNAME redirection (RFC 6672): the DNAME, a synthesized CNAME, and the target's answer."""
import dns.flags
import dns.rcode

from sysutil import (assert_aa, assert_answer, assert_nodata, assert_nxdomain, assert_rcode, describe, find,
                     rdatas, rrset_keys, server_fixture)

srv = server_fixture()

LONG_TARGET = ".".join(c * 63 for c in "abc") + ".example.net."


def test_query_below_dname_synthesizes_cname_and_follows_it(srv):
    r = srv.query("www.dn.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("dn.example.com.", "DNAME"), ("www.dn.example.com.", "CNAME"),
                                    ("www.example.net.", "A")}, describe(r)
    dname = find(r.answer, "dn.example.com", "DNAME")
    cname = find(r.answer, "www.dn.example.com", "CNAME")
    assert rdatas(dname) == {"example.net."}
    assert dname.ttl == 1234, describe(r)
    assert rdatas(cname) == {"www.example.net."}, describe(r)
    assert cname.ttl == 1234, "the synthesized CNAME takes the DNAME's TTL" + describe(r)
    assert rdatas(find(r.answer, "www.example.net", "A")) == {"198.51.100.80"}
    # RFC 6672 section 3.1: the DNAME comes before the CNAME synthesized from it.
    assert [rs.rdtype for rs in r.answer][:2] == [39, 5], describe(r)


def test_synthesized_cname_owner_keeps_query_case(srv):
    r = srv.query("WwW.Dn.example.com", "A")
    cname = [rs for rs in r.answer if rs.rdtype == 5]
    assert len(cname) == 1, describe(r)
    assert cname[0].name.to_text() == "WwW.Dn.example.com.", describe(r)


def test_deeper_query_below_dname(srv):
    r = srv.query("a.b.dn.example.com", "A")
    cname = find(r.answer, "a.b.dn.example.com", "CNAME")
    assert cname is not None and rdatas(cname) == {"a.b.example.net."}, describe(r)
    # a.b.example.net does not exist: the final answer is NXDOMAIN from example.net.
    assert_nxdomain(r, "example.net", {("dn.example.com.", "DNAME"), ("a.b.dn.example.com.", "CNAME")})


def test_dname_owner_itself_is_not_redirected(srv):
    # Only names below the owner are redirected; the owner itself is not.
    r = srv.query("dn.example.com", "A")
    assert_nodata(r, "example.com")


def test_query_for_dname_owner_type_dname(srv):
    r = srv.query("dn.example.com", "DNAME")
    assert_answer(r, "dn.example.com", "DNAME", "example.net.", ttl=1234)
    assert r.authority == [], describe(r)


def test_query_type_dname_below_dname_is_redirected(srv):
    r = srv.query("x.dn.example.com", "DNAME")
    assert ("dn.example.com.", "DNAME") in rrset_keys(r.answer), describe(r)
    assert ("x.dn.example.com.", "CNAME") in rrset_keys(r.answer), describe(r)


def test_dname_within_same_zone(srv):
    r = srv.query("www.dnin.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("dnin.example.com.", "DNAME"), ("www.dnin.example.com.", "CNAME"),
                                    ("www.inner.example.com.", "A")}, describe(r)
    assert rdatas(find(r.answer, "www.inner.example.com", "A")) == {"192.0.2.90"}


def test_dname_to_unserved_target(srv):
    r = srv.query("www.dnout.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("dnout.example.com.", "DNAME"), ("www.dnout.example.com.", "CNAME")}, \
        describe(r)
    assert rdatas(find(r.answer, "www.dnout.example.com", "CNAME")) == {"www.outside.test."}
    assert r.authority == [], describe(r)


def test_dname_synthesis_too_long_is_yxdomain(srv):
    qname = "q" * 63 + ".longdn.example.com"
    r = srv.query(qname, "A")
    assert_rcode(r, dns.rcode.YXDOMAIN)
    assert_aa(r)
    assert ("longdn.example.com.", "DNAME") in rrset_keys(r.answer), describe(r)
    assert not [rs for rs in r.answer if rs.rdtype == 5], "no CNAME can be synthesized" + describe(r)


def test_dname_synthesis_just_fitting(srv):
    # Over TCP: the long DNAME and CNAME with the SOA do not fit 512 bytes.
    r = srv.query("a.longdn.example.com", "A", tcp=True)
    cname = find(r.answer, "a.longdn.example.com", "CNAME")
    assert cname is not None, describe(r)
    assert rdatas(cname) == {"a." + LONG_TARGET}, describe(r)
    assert not r.flags & dns.flags.TC
    assert_nxdomain(r, "example.net", {("longdn.example.com.", "DNAME"), ("a.longdn.example.com.", "CNAME")})


def test_dname_over_tcp(srv):
    r = srv.query("www.dn.example.com", "A", tcp=True)
    assert rrset_keys(r.answer) == {("dn.example.com.", "DNAME"), ("www.dn.example.com.", "CNAME"),
                                    ("www.example.net.", "A")}, describe(r)


def test_dname_to_dname(srv):
    r = srv.query("www.dn2.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("dn2.example.com.", "DNAME"), ("www.dn2.example.com.", "CNAME"),
                                    ("dn.example.com.", "DNAME"), ("www.dn.example.com.", "CNAME"),
                                    ("www.example.net.", "A")}, describe(r)
    assert find(r.answer, "www.dn2.example.com", "CNAME").ttl == 600, describe(r)
    assert find(r.answer, "www.dn.example.com", "CNAME").ttl == 1234, describe(r)
