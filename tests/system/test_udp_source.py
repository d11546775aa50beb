"""A wildcard listener (0.0.0.0, ::) answers from the address each query was sent to: without
packet info the kernel would pick the route's source, and clients drop the unexpected reply."""
import os
import socket

import dns.message
import dns.query
import dns.rcode
import pytest

from ternlib import ZONES, Ternd

ZONE = os.path.join(ZONES, "example.com.zone")


def v6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_wildcard_v4_replies_from_the_address_asked():
    t = Ternd({"example.com": ZONE})
    t.write_config(["0.0.0.0@%d" % t.port])
    with t:
        for addr in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
            q = dns.message.make_query("www.example.com", "A")
            # dns.query.udp raises UnexpectedSource when the reply comes from another address
            r = dns.query.udp(q, addr, port=t.port, timeout=3, ignore_unexpected=False)
            assert r.rcode() == dns.rcode.NOERROR and r.answer, addr


@pytest.mark.skipif(not v6_loopback(), reason="no IPv6 loopback")
def test_wildcard_v6_replies():
    t = Ternd({"example.com": ZONE})
    t.write_config(["127.0.0.1@%d" % t.port, "::@%d" % t.port])
    with t:
        r = dns.query.udp(dns.message.make_query("www.example.com", "AAAA"), "::1", port=t.port, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR and r.answer
