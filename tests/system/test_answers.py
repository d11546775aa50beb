"""Authoritative answers: AA, REFUSED with EDE 20 outside our zones, zone selection, qname case,
and every RR type loaded from a zone file and answered byte for byte."""
import dns.edns
import dns.flags
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import pytest

from sysutil import (assert_aa, assert_answer, assert_nodata, assert_nxdomain, assert_rcode, describe,
                     expect_rdata, find, make_wire, raw_records, rdatas, rrset_keys, server_fixture, udp_raw)

srv = server_fixture()


def test_authoritative_answer_has_aa(srv):
    r = srv.query("www.example.com", "A")
    assert_answer(r, "www.example.com", "A", "192.0.2.80", ttl=3600)
    assert r.authority == [] and r.additional == [], describe(r)
    assert not r.flags & dns.flags.TC
    assert not r.flags & dns.flags.RA, "an authoritative-only server does not offer recursion"
    assert r.flags & dns.flags.RD, "RD is copied from the query"


def test_answer_in_second_zone(srv):
    assert_answer(srv.query("www.example.net", "A"), "www.example.net", "A", "198.51.100.80", ttl=600)


def test_apex_soa(srv):
    r = srv.query("example.com", "SOA")
    rs = assert_answer(r, "example.com", "SOA",
                       "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300")
    assert rs.ttl == 3600, "a positive SOA answer keeps the record's own TTL"


@pytest.mark.parametrize("name", ["www.example.org", "example.org", ".", "com", "net", "xexample.com",
                                  "www.example.com.evil.test"])
def test_refused_outside_zones(srv, name):
    r = srv.query(name, "A")
    assert_rcode(r, dns.rcode.REFUSED)
    assert_aa(r, False)
    assert r.answer == [] and r.authority == [] and r.additional == [], describe(r)
    assert r.edns == -1, "no OPT in a response to a query without EDNS" + describe(r)


def test_refused_carries_ede_not_authoritative(srv):
    r = srv.query("www.example.org", "A", use_edns=0)
    assert_rcode(r, dns.rcode.REFUSED)
    assert_aa(r, False)
    assert r.edns == 0, describe(r)
    ede = [o for o in r.options if o.otype == dns.edns.OptionType.EDE]
    assert len(ede) == 1, "one Extended DNS Error option expected" + describe(r)
    assert ede[0].code == dns.edns.EDECode.NOT_AUTHORITATIVE, describe(r)


def test_no_ede_on_normal_answer(srv):
    r = srv.query("www.example.com", "A", use_edns=0)
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    assert [o for o in r.options if o.otype == dns.edns.OptionType.EDE] == [], describe(r)


def test_nxdomain(srv):
    assert_nxdomain(srv.query("nope.example.com", "A"), "example.com")


def test_nodata(srv):
    assert_nodata(srv.query("www.example.com", "TXT"), "example.com")


# --- zone selection: the longest matching apex wins ---------------------------------------------

def test_child_zone_answers_for_its_names(srv):
    r = srv.query("www.sub.example.com", "A")
    assert_answer(r, "www.sub.example.com", "A", "192.0.2.61")


def test_child_zone_apex_ns_is_authoritative(srv):
    r = srv.query("sub.example.com", "NS")
    assert_answer(r, "sub.example.com", "NS", "ns1.sub.example.com.")


def test_child_zone_apex_soa(srv):
    r = srv.query("sub.example.com", "SOA")
    assert_answer(r, "sub.example.com", "SOA",
                  "ns1.sub.example.com. hostmaster.sub.example.com. 7 7200 3600 1209600 120")


def test_child_zone_nxdomain_uses_child_soa(srv):
    assert_nxdomain(srv.query("nope.sub.example.com", "A"), "sub.example.com")


def test_child_zone_nodata_uses_child_soa(srv):
    assert_nodata(srv.query("www.sub.example.com", "AAAA"), "sub.example.com")


# --- case preservation --------------------------------------------------------------------------

def test_query_name_case_preserved(srv):
    r = srv.query("wWw.ExAmPlE.cOm", "A")
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    assert r.question[0].name.to_text() == "wWw.ExAmPlE.cOm.", describe(r)
    assert r.answer[0].name.to_text() == "wWw.ExAmPlE.cOm.", describe(r)


def test_query_name_case_preserved_in_refused(srv):
    r = srv.query("WwW.ExAmPlE.OrG", "A")
    assert_rcode(r, dns.rcode.REFUSED)
    assert r.question[0].name.to_text() == "WwW.ExAmPlE.OrG.", describe(r)


def test_query_name_case_preserved_in_child_zone(srv):
    r = srv.query("WWW.SUB.example.COM", "A")
    assert_answer(r, "www.sub.example.com", "A", "192.0.2.61")
    assert r.answer[0].name.to_text() == "WWW.SUB.example.COM.", describe(r)


def test_question_type_and_class_echoed(srv):
    r = srv.query("www.example.com", "AAAA")
    q = r.question[0]
    assert (q.rdtype, q.rdclass) == (dns.rdatatype.AAAA, 1), describe(r)
    assert_answer(r, "www.example.com", "AAAA", "2001:db8::80")


# --- every RR type ------------------------------------------------------------------------------

RR_TYPES = [
    ("rr.example.com", "A", ["192.0.2.50"]),
    ("rr.example.com", "AAAA", ["2001:db8::50"]),
    ("example.com", "NS", ["ns1.example.com.", "ns2.example.com.", "ns.outside.test."]),
    ("rr-cname.example.com", "CNAME", ["www.example.com."]),
    ("rr-dname.example.com", "DNAME", ["example.net."]),
    ("example.com", "SOA", ["ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"]),
    ("rr.example.com", "MX", ["10 mail.example.com."]),
    ("rr.example.com", "TXT", ['"hello world" "second string"']),
    ("rr.example.com", "SRV", ["0 5 5060 sipserver.example.com."]),
    ("rr.example.com", "PTR", ["host.example.com."]),
    ("rr.example.com", "CAA", ['0 issue "letsencrypt.org"']),
    ("rr.example.com", "NAPTR", ['100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .']),
    ("rr.example.com", "TLSA", ["3 1 1 16058d40ff834e025ad15ec37ee5c0ed9df770c37ba2491cc5d8fc0db93696eb"]),
    ("rr.example.com", "SSHFP", ["1 1 ee646bfc9ca2c3f848288799f9f4cf951da9353b"]),
    ("deleg.example.com", "DS", ["12345 13 2 f9c7af7ebcbf098b9f5f37361d1b168bb2e5b98d930ceef0f055377a8c94db61"]),
    ("rr.example.com", "DNSKEY", ["257 3 13 EAYXX8Qdr4VO/kAmICgGXe6eJKfaiBSkRPlCFQBOQHG5KiwEEwSsLDHiRbv9KhXae12a"
                                 "uBGy4ZK4OrzKyWHe9A=="]),
    ("rr.example.com", "RRSIG", ["A 13 3 3600 20300101000000 20200101000000 12345 example.com. AHPsJm1PtK2/"
                                 "PRBKpxT58RAy/Yq22IKfxAtSyG9khdeSjMLr1GRvP+PzdL4R2QW/S+J1+obziJ2CqffcXkHdMg=="]),
    ("rr.example.com", "NSEC", ["rr2.example.com. A AAAA MX TXT RRSIG NSEC"]),
    ("rr.example.com", "NSEC3", ["1 0 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"]),
    ("rr.example.com", "NSEC3PARAM", ["1 0 10 AABBCCDD"]),
    ("rr.example.com", "SVCB", ['1 svc.example.com. alpn="h2,h3" port=8443']),
    ("rr.example.com", "HTTPS", ['1 . alpn="h2" ipv4hint=192.0.2.1']),
    ("rr.example.com", "TYPE65000", [r"\# 4 0a000001"]),
    ("zero.example.com", "TYPE65001", [r"\# 0"]),
    ("hinfo.example.com", "HINFO", ['"PC" "Linux"']),
    ("uri.example.com", "URI", ['10 1 "https://www.example.com/"']),
    ("loc.example.com", "LOC", ["52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"]),
    ("openpgp.example.com", "OPENPGPKEY", ["AQIDBAUGBwgJCgsMDQ4PEA=="]),
    ("rp.example.com", "RP", ["hostmaster.example.com. rr-txt.example.com."]),
]


@pytest.mark.parametrize("name,rdtype,texts", RR_TYPES, ids=["%s-%s" % (t[1], t[0]) for t in RR_TYPES])
def test_rr_type_answered(srv, name, rdtype, texts):
    r = srv.query(name, rdtype)
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    rs = find(r.answer, name, rdtype)
    assert rs is not None, describe(r)
    assert rdatas(rs, exact=True) == expect_rdata(rdtype, *texts, exact=True), describe(r)
    assert rs.ttl == 3600, describe(r)
    assert rrset_keys(r.answer) == {(name + ".", rdtype)}, describe(r)


# RFC 3597 section 4 and the RFCs of later types: names inside these RDATAs are never compressed.
@pytest.mark.parametrize("name,rdtype", [
    ("rr.example.com", "SRV"), ("rr.example.com", "NAPTR"), ("rr.example.com", "SVCB"),
    ("rr.example.com", "RRSIG"), ("rr.example.com", "NSEC"), ("rr-dname.example.com", "DNAME"),
    ("rp.example.com", "RP"),
])
def test_rdata_names_not_compressed(srv, name, rdtype):
    t = dns.rdatatype.from_text(rdtype)
    resp = udp_raw(srv.port, make_wire(name, rdtype))
    assert resp is not None
    recs = [rec for rec in raw_records(resp) if rec[0] == "answer" and rec[1] == t]
    assert recs, "no %s record in the answer" % rdtype
    expected = expect_rdata(rdtype, *[x for n, ty, xs in RR_TYPES if (n, ty) == (name, rdtype) for x in xs],
                            exact=True)
    want = {dns.rdata.from_text(1, t, x).to_wire() for x in expected}
    got = {rec[3] for rec in recs}
    assert got == want, "RDATA on the wire %r, expected uncompressed %r" % (got, want)


def test_rr_types_coexist_at_one_name(srv):
    # A query for one type at a busy name returns that RRset only.
    r = srv.query("rr.example.com", "TXT")
    assert rrset_keys(r.answer) == {("rr.example.com.", "TXT")}, describe(r)
    r = srv.query("rr.example.com", "CNAME")
    assert_nodata(r, "example.com")


def test_unknown_type_nodata_where_absent(srv):
    assert_nodata(srv.query("www.example.com", "TYPE65000"), "example.com")


def test_name_with_only_other_types_is_nodata_not_nxdomain(srv):
    assert_nodata(srv.query("rr.example.com", "CDS"), "example.com")


# --- header flags -------------------------------------------------------------------------------

def test_rd_clear_is_copied(srv):
    r = srv.query("www.example.com", "A", flags=0)
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    assert not r.flags & dns.flags.RD and not r.flags & dns.flags.RA, describe(r)


def test_cd_bit_copied(srv):
    # RFC 4035 section 3.1.6: the CD bit is copied from the query into the response.
    r = srv.query("www.example.com", "A", flags=dns.flags.RD | dns.flags.CD)
    assert r.flags & dns.flags.CD, describe(r)
    assert_answer(r, "www.example.com", "A", "192.0.2.80")


def test_refused_over_tcp_with_ede(srv):
    r = srv.query("www.example.org", "A", tcp=True, use_edns=0)
    assert_rcode(r, dns.rcode.REFUSED)
    assert [o.code for o in r.options if o.otype == dns.edns.OptionType.EDE] == [
        dns.edns.EDECode.NOT_AUTHORITATIVE], describe(r)


def test_soa_below_apex_is_nodata(srv):
    assert_nodata(srv.query("www.example.com", "SOA"), "example.com")


def test_ds_at_apex_without_served_parent_is_nodata(srv):
    # Nobody here serves com: the zone itself answers that it has no DS (RFC 4035 3.1.4.1).
    assert_nodata(srv.query("example.com", "DS"), "example.com")


def test_longest_name_answered(srv):
    # 255 octets in all: 3 x 63-octet labels + one 49-octet label + example.com (13 octets).
    name = ".".join(["a" * 63] * 3 + ["b" * 49]) + ".example.com"
    assert len(dns.name.from_text(name).to_wire()) == 255
    assert_nxdomain(srv.query(name, "A"), "example.com")
    assert_nxdomain(srv.query(name, "A", tcp=True), "example.com")


def test_burst_of_udp_queries_all_answered(srv):
    import socket
    import dns.message
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.settimeout(2)
        for i in range(300):
            s.sendto(dns.message.make_query("www.example.com", "A", id=i).to_wire(), ("127.0.0.1", srv.port))
        seen = set()
        try:
            while len(seen) < 300:
                seen.add(dns.message.from_wire(s.recv(4096)).id)
        except socket.timeout:
            pass
    assert len(seen) == 300, "%d of 300 queries answered" % len(seen)
