"""Wildcard synthesis (RFC 4592; RFC 1034 section 4.3.3) under wild.example.com.

Zone data: *.wild A/MX, host.wild A, a.b.wild A (b.wild an empty non-terminal), *.c.wild CNAME."""
import dns.rcode

from sysutil import (assert_aa, assert_answer, assert_nodata, assert_nxdomain, assert_rcode, describe, find,
                     rdatas, rrset_keys, server_fixture)

srv = server_fixture()


def test_wildcard_answers_nonexistent_name_with_qname_owner(srv):
    r = srv.query("foo.wild.example.com", "A")
    assert_answer(r, "foo.wild.example.com", "A", "192.0.2.200", ttl=900)
    assert r.answer[0].name.to_text() == "foo.wild.example.com.", describe(r)
    assert r.authority == [], describe(r)


def test_wildcard_owner_keeps_query_case(srv):
    r = srv.query("FoO.WiLd.example.com", "A")
    assert_answer(r, "foo.wild.example.com", "A", "192.0.2.200")
    assert r.answer[0].name.to_text() == "FoO.WiLd.example.com.", describe(r)


def test_wildcard_matches_several_labels(srv):
    r = srv.query("x.y.wild.example.com", "A")
    assert_answer(r, "x.y.wild.example.com", "A", "192.0.2.200")


def test_wildcard_other_type(srv):
    r = srv.query("foo.wild.example.com", "MX")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("foo.wild.example.com.", "MX")}, describe(r)
    assert rdatas(r.answer[0]) == {"10 mail.example.com."}


def test_wildcard_nodata_for_type_it_lacks(srv):
    assert_nodata(srv.query("foo.wild.example.com", "AAAA"), "example.com")


def test_existing_name_is_not_wildcard_matched(srv):
    assert_answer(srv.query("host.wild.example.com", "A"), "host.wild.example.com", "A", "192.0.2.201")
    # host.wild has no MX: NODATA, not the wildcard's MX.
    assert_nodata(srv.query("host.wild.example.com", "MX"), "example.com")


def test_below_existing_name_without_its_own_wildcard_is_nxdomain(srv):
    # The closest encloser is host.wild; there is no *.host.wild.
    assert_nxdomain(srv.query("x.host.wild.example.com", "A"), "example.com")


def test_empty_non_terminal_blocks_wildcard(srv):
    assert_nxdomain(srv.query("x.b.wild.example.com", "A"), "example.com")


def test_empty_non_terminal_itself_is_nodata(srv):
    assert_nodata(srv.query("b.wild.example.com", "A"), "example.com")
    assert_nodata(srv.query("b.wild.example.com", "TXT"), "example.com")


def test_data_below_empty_non_terminal(srv):
    assert_answer(srv.query("a.b.wild.example.com", "A"), "a.b.wild.example.com", "A", "192.0.2.202")


def test_wildcard_parent_keeps_its_own_data(srv):
    assert_answer(srv.query("wild.example.com", "TXT"), "wild.example.com", "TXT", '"wildcard parent"')
    assert_nodata(srv.query("wild.example.com", "A"), "example.com")


def test_literal_wildcard_name(srv):
    r = srv.query("*.wild.example.com", "A")
    assert_answer(r, "*.wild.example.com", "A", "192.0.2.200")


def test_wildcard_cname_is_synthesized_and_followed(srv):
    r = srv.query("foo.c.wild.example.com", "A")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {("foo.c.wild.example.com.", "CNAME"), ("www.example.com.", "A")}, describe(r)
    assert rdatas(find(r.answer, "foo.c.wild.example.com", "CNAME")) == {"www.example.com."}
    assert rdatas(find(r.answer, "www.example.com", "A")) == {"192.0.2.80"}


def test_wildcard_cname_qtype_cname(srv):
    r = srv.query("foo.c.wild.example.com", "CNAME")
    assert_answer(r, "foo.c.wild.example.com", "CNAME", "www.example.com.")


def test_no_wildcard_elsewhere_in_zone(srv):
    assert_nxdomain(srv.query("foo.example.com", "A"), "example.com")
    # c.wild is an empty non-terminal above *.c.wild: it blocks *.wild and is itself NODATA.
    assert_nodata(srv.query("c.wild.example.com", "A"), "example.com")


def test_wildcard_over_tcp(srv):
    r = srv.query("bar.wild.example.com", "A", tcp=True)
    assert_answer(r, "bar.wild.example.com", "A", "192.0.2.200")
