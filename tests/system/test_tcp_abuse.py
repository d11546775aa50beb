"""Bad input at scale (issue 5): thousands of idle TCP clients, slowloris senders that never
finish a message, and 65535-byte TCP messages; UDP must keep answering meanwhile and TCP must
recover once the idle timeout has cleared the abusers."""
import os
import resource
import socket
import struct
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode

from ternlib import ZONES, Ternd

ZONE = os.path.join(ZONES, "example.com.zone")
ABUSERS = 3000
MAX_CLIENTS = 500
IDLE = 2


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def udp_round(t, n):
    """n UDP queries one after another; returns the slowest answer in seconds."""
    worst = 0.0
    for i in range(n):
        q = dns.message.make_query("www.example.com", "A")
        start = time.monotonic()
        r = dns.query.udp(q, t.addr, port=t.port, timeout=2)
        worst = max(worst, time.monotonic() - start)
        assert r.rcode() == dns.rcode.NOERROR and r.answer
    return worst


def big_tcp_query(size):
    """A valid query padded (EDNS padding option, RFC 7830) to exactly size octets; built by hand
    because dnspython refuses to render a 65535-octet message."""
    q = dns.message.make_query("www.example.com", "A")
    head = bytearray(q.to_wire())
    head[10:12] = struct.pack("!H", 1)  # ARCOUNT: the OPT record
    pad = size - len(head) - 11 - 4
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 4 + pad) + struct.pack("!HH", 12, pad) + b"\x00" * pad
    wire = bytes(head) + opt
    assert len(wire) == size
    return wire


def tcp_exchange(t, wire, timeout=3):
    with socket.create_connection((t.addr, t.port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        hdr = s.recv(2, socket.MSG_WAITALL)
        (n,) = struct.unpack("!H", hdr)
        return dns.message.from_wire(s.recv(n, socket.MSG_WAITALL))


def test_idle_and_slowloris_clients_do_not_starve_udp(tmp_path):
    limit = raise_nofile(ABUSERS + 100)
    abusers = min(ABUSERS, limit - 100)
    assert abusers >= 1000, "cannot open enough sockets for the test (limit %d)" % limit
    t = Ternd({"example.com": ZONE}, workdir=str(tmp_path),
              extra_server="tcp-max-clients: %d\ntcp-idle-timeout: %d" % (MAX_CLIENTS, IDLE))
    with t:
        socks = []
        try:
            for i in range(abusers):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex((t.addr, t.port))
                socks.append(s)
            time.sleep(0.3)
            for i, s in enumerate(socks):
                try:
                    if i % 3 == 1:
                        s.send(b"\x00")  # half a length prefix
                    elif i % 3 == 2:
                        s.send(b"\xff\xff" + b"\x00" * 100)  # promises 65535 octets, sends 100
                except OSError:
                    pass  # refused at the client limit: fine
            worst = udp_round(t, 300)
            assert worst < 1.0, "UDP answer took %.3f s with %d abusive TCP clients" % (worst, abusers)
            # the slowloris and idle clients are cut at the idle timeout; TCP serves again
            deadline = time.monotonic() + IDLE + 5
            while True:
                try:
                    r = tcp_exchange(t, dns.message.make_query("www.example.com", "A").to_wire(), timeout=1)
                    assert r.rcode() == dns.rcode.NOERROR and r.answer
                    break
                except (OSError, struct.error, dns.exception.DNSException):
                    assert time.monotonic() < deadline, "TCP did not recover after the idle timeout"
                    time.sleep(0.2)
        finally:
            for s in socks:
                s.close()
        assert udp_round(t, 50) < 1.0
        assert t.proc.poll() is None


def test_largest_tcp_message_answered(tmp_path):
    t = Ternd({"example.com": ZONE}, workdir=str(tmp_path))
    with t:
        r = tcp_exchange(t, big_tcp_query(65535))
        assert r.rcode() == dns.rcode.NOERROR and r.answer
        # and a message promising more than it sends, then closing, leaves the server well
        with socket.create_connection((t.addr, t.port), timeout=2) as s:
            s.sendall(b"\xff\xff" + os.urandom(30000))
        assert udp_round(t, 20) < 1.0
        assert t.proc.poll() is None
