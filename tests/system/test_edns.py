"""EDNS(0) (RFC 6891), NSID (RFC 5001) and the DO bit (RFC 3225)."""
import dns.edns
import dns.flags
import dns.message
import dns.rcode

from sysutil import (assert_answer, assert_rcode, describe, edns_query, header, make_wire, send,
                     server_fixture, still_answers, udp_raw)

srv = server_fixture()  # defaults: no identity, edns-buffer-size 1232
idsrv = server_fixture(extra_server="identity: ns1.example\nedns-buffer-size: 1400\ntcp-idle-timeout: 1")

NSID_ASK = [dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")]


def opts(r, code):
    return [o for o in r.options if o.otype == code]


def test_opt_echoed_with_default_payload(srv):
    r = srv.query("www.example.com", "A", use_edns=0, payload=4096)
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    assert r.edns == 0, "OPT version 0 expected" + describe(r)
    assert r.payload == 1232, "advertised payload %d" % r.payload


def test_opt_payload_follows_config(idsrv):
    r = idsrv.query("www.example.com", "A", use_edns=0, payload=4096)
    assert r.edns == 0, describe(r)
    assert r.payload == 1400, "advertised payload %d" % r.payload


def test_no_opt_without_edns(srv):
    r = srv.query("www.example.com", "A")
    assert r.edns == -1, describe(r)
    raw = udp_raw(srv.port, make_wire("www.example.com", "A"))
    assert header(raw)["ar"] == 0, "no additional record at all (no OPT)"


def test_no_opt_without_edns_in_negative_answer(srv):
    r = srv.query("nope.example.com", "A")
    assert r.edns == -1, describe(r)


def test_opt_in_negative_and_refused_answers(srv):
    for name in ("nope.example.com", "www.example.org"):
        r = srv.query(name, "A", use_edns=0)
        assert r.edns == 0, describe(r)


def test_badvers(srv):
    q = edns_query("www.example.com", "A", version=1)
    assert q.to_wire()[-5] == 1, "the query carries EDNS version 1"
    r = send(srv, q)
    assert r.rcode() == dns.rcode.BADVERS, "rcode %s%s" % (dns.rcode.to_text(r.rcode()), describe(r))
    assert r.edns == 0, "the response OPT carries the highest version we support, 0" + describe(r)
    assert r.answer == [] and r.authority == [], describe(r)
    assert not r.flags & dns.flags.AA, describe(r)


def test_badvers_over_tcp(srv):
    r = send(srv, edns_query("www.example.com", "A", version=1), tcp=True)
    assert r.rcode() == dns.rcode.BADVERS, describe(r)
    assert r.edns == 0 and r.answer == [], describe(r)


def test_nsid_returned_when_asked(idsrv):
    r = idsrv.query("www.example.com", "A", use_edns=0, options=NSID_ASK)
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    nsid = opts(r, dns.edns.OptionType.NSID)
    assert len(nsid) == 1, describe(r)
    assert nsid[0].data == b"ns1.example", nsid[0].data


def test_nsid_returned_over_tcp(idsrv):
    r = idsrv.query("www.example.com", "A", use_edns=0, options=NSID_ASK, tcp=True)
    nsid = opts(r, dns.edns.OptionType.NSID)
    assert len(nsid) == 1 and nsid[0].data == b"ns1.example", describe(r)


def test_nsid_in_negative_answer(idsrv):
    r = idsrv.query("www.example.org", "A", use_edns=0, options=NSID_ASK)
    assert_rcode(r, dns.rcode.REFUSED)
    assert [o.data for o in opts(r, dns.edns.OptionType.NSID)] == [b"ns1.example"], describe(r)


def test_nsid_not_sent_when_not_asked(idsrv):
    r = idsrv.query("www.example.com", "A", use_edns=0)
    assert opts(r, dns.edns.OptionType.NSID) == [], describe(r)


def test_nsid_not_sent_without_identity(srv):
    r = srv.query("www.example.com", "A", use_edns=0, options=NSID_ASK)
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    assert opts(r, dns.edns.OptionType.NSID) == [], describe(r)


def test_do_bit_echoed(srv):
    r = srv.query("www.example.com", "A", want_dnssec=True)
    assert r.edns == 0, describe(r)
    assert r.ednsflags & dns.flags.DO, "DO must be copied into the response" + describe(r)


def test_do_bit_not_set_when_not_asked(srv):
    r = srv.query("www.example.com", "A", use_edns=0)
    assert not r.ednsflags & dns.flags.DO, describe(r)


def test_unknown_option_ignored(srv):
    r = srv.query("www.example.com", "A", use_edns=0, options=[dns.edns.GenericOption(65001, b"\x01\x02")])
    assert_answer(r, "www.example.com", "A", "192.0.2.80")
    assert opts(r, 65001) == [], "unknown options are not echoed" + describe(r)


def test_small_payload_treated_as_512(srv):
    # RFC 6891 6.2.5: a payload below 512 counts as 512. The NS answer with its addresses is
    # bigger than 100 bytes and smaller than 512: it comes whole.
    q = dns.message.make_query("example.com", "NS", use_edns=0, payload=100)
    raw = udp_raw(srv.port, q.to_wire())
    assert raw is not None
    h = header(raw)
    assert h["rcode"] == 0 and h["tc"] == 0, "payload 100 is treated as 512: %s" % h
    assert 100 < len(raw) <= 512, len(raw)
    r = dns.message.from_wire(raw)
    assert len(r.answer[0]) == 3 and r.additional, describe(r)


def test_multiple_opt_is_formerr(srv):
    q = dns.message.make_query("www.example.com", "A", use_edns=0)
    wire = bytearray(q.to_wire())
    opt = bytes(wire[-11:])  # root name, type OPT, class, ttl, rdlen 0
    assert opt[:3] == b"\x00\x00\x29"
    wire += opt
    wire[11] = 2  # ARCOUNT
    raw = udp_raw(srv.port, bytes(wire))
    assert raw is not None, "no answer"
    h = header(raw)
    assert h["rcode"] == dns.rcode.FORMERR and h["qr"] == 1 and h["id"] == q.id, h
    still_answers(srv)

