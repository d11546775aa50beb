"""Referrals at zone cuts (RFC 1034 section 4.3.2) and DS at the parent side (RFC 4035 section 3.1.4.1).

In example.com: deleg (NS ns1.deleg.example.com + ns.outside.test, glue, DS), nods (two out-of-zone
NS, no DS), sibling (NS ns1.example.com), sub (a child zone served here too, DS in the parent)."""
import dns.flags
import dns.rcode
import pytest

from sysutil import (assert_aa, assert_answer, assert_nodata, assert_rcode, describe, find, rdatas,
                     rrset_keys, server_fixture)

srv = server_fixture()


def assert_referral(r, cut, ns, additional):
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r, False)
    assert r.answer == [], "a referral has an empty answer" + describe(r)
    assert rrset_keys(r.authority) == {(cut + ".", "NS")}, describe(r)
    assert rdatas(r.authority[0]) == set(ns), describe(r)
    assert rrset_keys(r.additional) == set(additional), describe(r)


DELEG_NS = {"ns1.deleg.example.com.", "ns.outside.test."}
DELEG_GLUE = {("ns1.deleg.example.com.", "A"), ("ns1.deleg.example.com.", "AAAA")}


@pytest.mark.parametrize("qname,qtype", [
    ("deleg.example.com", "A"), ("deleg.example.com", "NS"), ("deleg.example.com", "SOA"),
    ("www.deleg.example.com", "A"), ("a.b.deleg.example.com", "TXT"), ("deleg.example.com", "ANY"),
])
def test_referral_at_and_below_cut(srv, qname, qtype):
    r = srv.query(qname, qtype)
    assert_referral(r, "deleg.example.com", DELEG_NS, DELEG_GLUE)
    glue = find(r.additional, "ns1.deleg.example.com", "A")
    assert rdatas(glue) == {"192.0.2.53"}
    assert rdatas(find(r.additional, "ns1.deleg.example.com", "AAAA")) == {"2001:db8::53"}


def test_glue_is_not_answered_authoritatively(srv):
    # ns1.deleg is below the cut: its A record is glue, so the answer is a referral, not AA data.
    r = srv.query("ns1.deleg.example.com", "A")
    assert_referral(r, "deleg.example.com", DELEG_NS, DELEG_GLUE)


def test_referral_without_in_bailiwick_ns_has_no_glue(srv):
    r = srv.query("www.nods.example.com", "A")
    assert_referral(r, "nods.example.com", {"ns.outside.test.", "ns2.outside.test."}, set())


def test_referral_to_ns_elsewhere_in_zone_gets_its_address(srv):
    r = srv.query("www.sibling.example.com", "A")
    assert_referral(r, "sibling.example.com", {"ns1.example.com."},
                    {("ns1.example.com.", "A"), ("ns1.example.com.", "AAAA")})


def test_referral_keeps_query_case_in_question(srv):
    r = srv.query("WWW.Deleg.Example.COM", "A")
    assert r.question[0].name.to_text() == "WWW.Deleg.Example.COM.", describe(r)
    assert_referral(r, "deleg.example.com", DELEG_NS, DELEG_GLUE)


def test_referral_over_tcp(srv):
    r = srv.query("www.deleg.example.com", "A", tcp=True)
    assert_referral(r, "deleg.example.com", DELEG_NS, DELEG_GLUE)


def test_ds_at_cut_answered_by_parent(srv):
    r = srv.query("deleg.example.com", "DS")
    assert_answer(r, "deleg.example.com", "DS",
                  "12345 13 2 f9c7af7ebcbf098b9f5f37361d1b168bb2e5b98d930ceef0f055377a8c94db61")
    assert r.authority == [] and r.additional == [], describe(r)


def test_ds_absent_at_cut_is_nodata_from_parent(srv):
    assert_nodata(srv.query("nods.example.com", "DS"), "example.com")


def test_ds_below_cut_is_a_referral(srv):
    r = srv.query("x.deleg.example.com", "DS")
    assert_referral(r, "deleg.example.com", DELEG_NS, DELEG_GLUE)


def test_ds_for_served_child_comes_from_parent(srv):
    r = srv.query("sub.example.com", "DS")
    assert_answer(r, "sub.example.com", "DS",
                  "54321 13 2 75e7a56a890f3b1a085c89ff77a4b51874d9142343c8c2e1d297cfc85b0f30cc")


def test_served_child_is_answered_not_referred(srv):
    r = srv.query("www.sub.example.com", "A")
    assert_answer(r, "www.sub.example.com", "A", "192.0.2.61")
    assert r.flags & dns.flags.AA


def test_ds_nodata_for_name_in_zone_that_is_no_cut(srv):
    assert_nodata(srv.query("www.example.com", "DS"), "example.com")


def test_referral_with_do_from_unsigned_zone_has_no_ds(srv):
    # RFC 4035 3.1.4: the DS of the cut comes with a referral for DO queries to signed zones only;
    # example.com is not signed (no RRSIG at its apex), so its DS is given only when asked for.
    # test_knot_diff.py covers the signed side against Knot and NSD.
    r = srv.query("www.deleg.example.com", "A", want_dnssec=True)
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r, False)
    assert rrset_keys(r.authority) == {("deleg.example.com.", "NS")}, describe(r)
    assert rrset_keys(r.additional) == DELEG_GLUE, describe(r)


def test_referral_with_do_without_ds(srv):
    r = srv.query("www.nods.example.com", "A", want_dnssec=True)
    assert_aa(r, False)
    assert rrset_keys(r.authority) == {("nods.example.com.", "NS")}, describe(r)
