"""UDP size limits and truncation (RFC 1035 4.2.1, RFC 6891 6.2.3-6.2.5); TCP gets everything.

bigtxt.example.com: 5 TXT records, ~700 bytes of answer; hugetxt.example.com: 16, ~2,100 bytes."""
import dns.message
import dns.rcode
import dns.rdatatype

from sysutil import assert_answer, describe, find, header, send, server_fixture, udp_raw

srv = server_fixture()

BIG = 5
HUGE = 16


def raw_udp(srv, name, **kw):
    q = dns.message.make_query(name, "TXT", **kw)
    wire = udp_raw(srv.port, q.to_wire())
    assert wire is not None, "no answer"
    h = header(wire)
    assert h["id"] == q.id and h["qr"] == 1 and h["qd"] == 1, h
    return q, wire, h


def assert_full_txt(r, name, count):
    assert r.rcode() == dns.rcode.NOERROR, describe(r)
    rs = find(r.answer, name, "TXT")
    assert rs is not None and len(rs) == count, describe(r)
    for rd in rs:
        assert len(rd.strings[0]) == 120


def test_big_answer_without_edns_truncated(srv):
    q, wire, h = raw_udp(srv, "bigtxt.example.com")
    assert h["tc"] == 1, "TC must be set when the answer does not fit 512 bytes: %s" % h
    assert len(wire) <= 512, len(wire)
    assert h["ar"] == 0, "no OPT in a response to a query without EDNS"
    r = dns.message.from_wire(wire, raise_on_truncation=False)
    assert r.question[0].name == q.question[0].name


def test_big_answer_over_tcp_is_complete(srv):
    r = srv.query("bigtxt.example.com", "TXT", tcp=True)
    assert not r.flags & 0x0200, "no TC over TCP"
    assert_full_txt(r, "bigtxt.example.com", BIG)


def test_big_answer_fits_with_edns(srv):
    q, wire, h = raw_udp(srv, "bigtxt.example.com", use_edns=0, payload=4096)
    assert h["tc"] == 0, h
    assert 512 < len(wire) <= 1232, len(wire)
    r = dns.message.from_wire(wire)
    assert_full_txt(r, "bigtxt.example.com", BIG)
    assert r.edns == 0


def test_big_answer_fits_with_edns_1232(srv):
    q, wire, h = raw_udp(srv, "bigtxt.example.com", use_edns=0, payload=1232)
    assert h["tc"] == 0, h
    assert_full_txt(dns.message.from_wire(wire), "bigtxt.example.com", BIG)


def test_big_answer_truncated_with_small_edns_payload(srv):
    q, wire, h = raw_udp(srv, "bigtxt.example.com", use_edns=0, payload=600)
    assert h["tc"] == 1, h
    assert len(wire) <= 600, len(wire)


def test_huge_answer_truncated_at_server_limit_despite_4096(srv):
    q, wire, h = raw_udp(srv, "hugetxt.example.com", use_edns=0, payload=4096)
    assert h["tc"] == 1, "the server's edns-buffer-size (1232) caps UDP answers: %s" % h
    assert len(wire) <= 1232, len(wire)
    r = dns.message.from_wire(wire, raise_on_truncation=False)
    assert r.edns == 0, "a truncated EDNS response still carries OPT (RFC 6891 7)" + describe(r)
    assert r.payload == 1232


def test_huge_answer_without_edns_truncated(srv):
    q, wire, h = raw_udp(srv, "hugetxt.example.com")
    assert h["tc"] == 1 and len(wire) <= 512, (h, len(wire))


def test_huge_answer_over_tcp_is_complete(srv):
    r = srv.query("hugetxt.example.com", "TXT", tcp=True, use_edns=0, payload=4096)
    assert not r.flags & 0x0200
    assert_full_txt(r, "hugetxt.example.com", HUGE)


def test_small_answer_never_truncated(srv):
    q, wire, h = raw_udp(srv, "rr.example.com")
    assert h["tc"] == 0
    r = dns.message.from_wire(wire)
    assert_answer(r, "rr.example.com", "TXT", '"hello world" "second string"')


def test_answer_with_additional_under_512_not_truncated(srv):
    r = send(srv, dns.message.make_query("example.com", "NS"))
    assert not r.flags & 0x0200, describe(r)
    assert len(r.answer[0]) == 3 and r.additional, describe(r)
    assert dns.rdatatype.A in {rs.rdtype for rs in r.additional}
