"""Malformed and unusual messages over UDP: FORMERR, NOTIMP, silence, and a server that survives."""
import socket
import struct

import dns.message
import dns.opcode
import dns.rcode
import pytest

from sysutil import header, make_wire, server_fixture, still_answers, tcp_connect, frame, tcp_read_msg, udp_raw

srv = server_fixture()

QNAME = b"\x03www\x07example\x03com\x00"
QTAIL = struct.pack("!HH", 1, 1)


def hdr(qid=0xBEEF, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def expect_rcode(srv, wire, rcode, qid=0xBEEF):
    resp = udp_raw(srv.port, wire)
    assert resp is not None, "no response; expected %s" % dns.rcode.to_text(rcode)
    h = header(resp)
    assert h["id"] == qid, h
    assert h["qr"] == 1, h
    assert h["rcode"] == rcode, "rcode %s, expected %s" % (dns.rcode.to_text(h["rcode"]), dns.rcode.to_text(rcode))
    assert h["aa"] == 0 and h["an"] == 0 and h["ns"] == 0, h
    still_answers(srv)
    return resp, h


def expect_silence(srv, wire):
    assert udp_raw(srv.port, wire, timeout=0.5) is None, "the server must not answer this"
    still_answers(srv)


def test_qdcount_zero_formerr(srv):
    expect_rcode(srv, hdr(qd=0), dns.rcode.FORMERR)


def test_qdcount_two_formerr(srv):
    expect_rcode(srv, hdr(qd=2) + QNAME + QTAIL + QNAME + QTAIL, dns.rcode.FORMERR)


def test_qdcount_two_but_one_question_formerr(srv):
    expect_rcode(srv, hdr(qd=2) + QNAME + QTAIL, dns.rcode.FORMERR)


@pytest.mark.parametrize("n", [0, 1, 2, 11])
def test_shorter_than_header_ignored(srv, n):
    expect_silence(srv, hdr()[:n] if n else b"")


def test_header_only_with_qdcount_one_formerr(srv):
    expect_rcode(srv, hdr(qd=1), dns.rcode.FORMERR)


def test_truncated_question_formerr(srv):
    expect_rcode(srv, hdr() + QNAME[:6], dns.rcode.FORMERR)
    expect_rcode(srv, hdr() + QNAME + b"\x00\x01", dns.rcode.FORMERR)


@pytest.mark.parametrize("question", [
    b"\xc0\x0c" + QTAIL,                # points at itself: a loop
    b"\x03www\xc0\x0c" + QTAIL,        # points back at its own start: a loop
    b"\xc0\xff" + QTAIL,                # beyond the end of the message
    b"\x03www\x07example\x03com\xc0",  # pointer cut off by the end of the message
], ids=["self", "loop", "beyond", "cut"])
def test_bad_compression_pointer_formerr(srv, question):
    expect_rcode(srv, hdr() + question, dns.rcode.FORMERR)


def test_label_too_long_formerr(srv):
    # 0x40-0xBF are reserved label types (RFC 6891 removed EDNS0 extended labels).
    expect_rcode(srv, hdr() + b"\x40" + b"a" * 64 + b"\x00" + QTAIL, dns.rcode.FORMERR)


def test_name_too_long_formerr(srv):
    name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 octets
    expect_rcode(srv, hdr() + name + QTAIL, dns.rcode.FORMERR)


@pytest.mark.parametrize("opcode", [2, 3, 6, 15])
def test_unknown_opcode_notimp(srv, opcode):
    resp, h = expect_rcode(srv, hdr(flags=opcode << 11) + QNAME + QTAIL, dns.rcode.NOTIMP)
    assert h["opcode"] == opcode, "the opcode is copied into the response: %s" % h


def test_response_never_answered(srv):
    expect_silence(srv, hdr(flags=0x8000) + QNAME + QTAIL)
    expect_silence(srv, hdr(flags=0x8000 | (3 << 11)) + QNAME + QTAIL)
    expect_silence(srv, hdr(flags=0x8000, qd=0))


def test_response_never_answered_over_tcp(srv):
    with tcp_connect(srv.port, timeout=3) as s:
        s.sendall(frame(hdr(qid=1, flags=0x8000) + QNAME + QTAIL))
        # The server may close the connection on a message that is no query; it never answers it.
        try:
            data = s.recv(1)
        except (socket.timeout, ConnectionResetError):
            data = None
        assert data in (None, b""), "a response-flagged message was answered over TCP"
    with tcp_connect(srv.port, timeout=3) as s:
        s.settimeout(0.5)
        s.sendall(frame(hdr(qid=1, flags=0x8000) + QNAME + QTAIL))
        try:
            s.sendall(frame(make_wire("www.example.com", "A", qid=2)))
            r = dns.message.from_wire(tcp_read_msg(s))
        except (EOFError, ConnectionResetError, BrokenPipeError, socket.timeout):
            r = None  # closed: nothing answered at all
        assert r is None or r.id == 2, "the response-flagged message was answered"
    still_answers(srv)


def test_answer_records_in_query_ignored_or_formerr(srv):
    # Records in the answer section of a QUERY are not expected; the server may answer or FORMERR,
    # but must not crash.
    rr = QNAME + struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01\x02\x03\x04"
    resp = udp_raw(srv.port, hdr(an=1) + QNAME + QTAIL + rr)
    assert resp is None or header(resp)["rcode"] in (dns.rcode.NOERROR, dns.rcode.FORMERR)
    still_answers(srv)


def test_counts_larger_than_message_formerr(srv):
    expect_rcode(srv, hdr(ar=5) + QNAME + QTAIL, dns.rcode.FORMERR)


def test_qclass_chaos_not_served(srv):
    wire = hdr() + QNAME + struct.pack("!HH", 16, 3)
    resp = udp_raw(srv.port, wire)
    assert resp is not None
    h = header(resp)
    assert h["rcode"] in (dns.rcode.REFUSED, dns.rcode.NOTIMP), h
    assert h["aa"] == 0 and h["an"] == 0, h


def test_axfr_over_udp_not_answered_with_data(srv):
    wire = hdr() + b"\x07example\x03com\x00" + struct.pack("!HH", 252, 1)
    resp = udp_raw(srv.port, wire)
    if resp is not None:
        h = header(resp)
        assert h["rcode"] in (dns.rcode.FORMERR, dns.rcode.REFUSED, dns.rcode.NOTIMP, dns.rcode.NOTAUTH), h
        assert h["an"] == 0, h
    still_answers(srv)


def test_garbage_flood_then_normal(srv):
    import random
    rnd = random.Random(7)
    for _ in range(200):
        udp_raw(srv.port, bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 60))), timeout=0.001)
    still_answers(srv)
