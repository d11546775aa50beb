"""Additional section processing: addresses of NS, MX, SRV, SVCB/HTTPS targets that we serve."""
import dns.rcode

from sysutil import assert_aa, assert_rcode, describe, find, rdatas, rrset_keys, server_fixture

srv = server_fixture()


def keys(r, section):
    return rrset_keys(getattr(r, section))


def test_apex_ns_gets_addresses_of_in_zone_servers(srv):
    r = srv.query("example.com", "NS")
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert keys(r, "answer") == {("example.com.", "NS")}, describe(r)
    assert keys(r, "additional") == {("ns1.example.com.", "A"), ("ns1.example.com.", "AAAA"),
                                     ("ns2.example.com.", "A")}, describe(r)
    assert rdatas(find(r.additional, "ns1.example.com", "A")) == {"192.0.2.1"}
    assert rdatas(find(r.additional, "ns1.example.com", "AAAA")) == {"2001:db8::1"}
    assert rdatas(find(r.additional, "ns2.example.com", "A")) == {"192.0.2.2"}


def test_mx_targets(srv):
    r = srv.query("example.com", "MX")
    assert_aa(r)
    assert rdatas(r.answer[0]) == {"10 mail.example.com.", "20 mx.outside.test."}, describe(r)
    assert keys(r, "additional") == {("mail.example.com.", "A"), ("mail.example.com.", "AAAA")}, describe(r)


def test_mx_target_outside_gets_nothing(srv):
    r = srv.query("outmx.example.com", "MX")
    assert_aa(r)
    assert keys(r, "answer") == {("outmx.example.com.", "MX")}, describe(r)
    assert r.additional == [], describe(r)


def test_srv_targets(srv):
    r = srv.query("_sip._tcp.example.com", "SRV")
    assert_aa(r)
    assert keys(r, "answer") == {("_sip._tcp.example.com.", "SRV")}, describe(r)
    assert keys(r, "additional") == {("sipserver.example.com.", "A")}, describe(r)
    assert rdatas(r.additional[0]) == {"192.0.2.70"}


def test_svcb_targets(srv):
    r = srv.query("svc.example.com", "SVCB")
    assert_aa(r)
    assert keys(r, "answer") == {("svc.example.com.", "SVCB")}, describe(r)
    assert keys(r, "additional") == {("svcb-target.example.com.", "A"), ("svcb-target.example.com.", "AAAA")}, \
        describe(r)


def test_https_targets(srv):
    r = srv.query("web.example.com", "HTTPS")
    assert_aa(r)
    assert keys(r, "answer") == {("web.example.com.", "HTTPS")}, describe(r)
    assert keys(r, "additional") == {("https-target.example.com.", "A")}, describe(r)


def test_wildcard_mx_target(srv):
    r = srv.query("any.wild.example.com", "MX")
    assert keys(r, "additional") == {("mail.example.com.", "A"), ("mail.example.com.", "AAAA")}, describe(r)


def test_no_additional_for_plain_address_answer(srv):
    r = srv.query("www.example.com", "A")
    assert r.additional == [] and r.authority == [], describe(r)


def test_additional_never_duplicates_answer(srv):
    r = srv.query("ns1.example.com", "A")
    assert keys(r, "answer") == {("ns1.example.com.", "A")}, describe(r)
    assert r.additional == [], describe(r)


def test_child_apex_ns_gets_child_address(srv):
    r = srv.query("sub.example.com", "NS")
    assert_aa(r)
    assert keys(r, "additional") == {("ns1.sub.example.com.", "A")}, describe(r)
    assert rdatas(r.additional[0]) == {"192.0.2.60"}
