"""Helpers for Tern's behaviour tests: the test zones, a server per module, raw sockets, checks."""
import os
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from ternlib import TERND, ZONES, Ternd, free_port  # noqa: F401 (re-exported for the tests)

ZONE_FILES = {
    "example.com": os.path.join(ZONES, "example.com.zone"),
    "sub.example.com": os.path.join(ZONES, "sub.example.com.zone"),
    "example.net": os.path.join(ZONES, "example.net.zone"),
}
BAD_ZONES = os.path.join(ZONES, "bad")

# Negative-caching TTL of each zone: min(SOA TTL, SOA MINIMUM) (RFC 2308 section 3).
NEG_TTL = {"example.com": 300, "sub.example.com": 120, "example.net": 60}

# The main test server's settings: a short TCP idle timeout keeps the TCP tests fast.
MAIN_SERVER = "tcp-idle-timeout: 1"


def serve(zones=None, extra_server=MAIN_SERVER, **kw):
    """A started Ternd serving the standard test zones (or the given ones), its TCP listener ready
    too (Ternd.start() waits for UDP only; test_tcp.py checks that both come up together)."""
    srv = Ternd(ZONE_FILES if zones is None else zones, extra_server=extra_server, **kw).start()
    wait_tcp(srv.addr, srv.port)
    return srv


def wait_tcp(addr, port, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection((addr, port), timeout=1).close()
            return
        except OSError:
            if time.time() >= deadline:
                raise
            time.sleep(0.01)


# --- queries -------------------------------------------------------------------------------------

def ask(srv, name, rdtype="A", tcp=False, **kw):
    """Ternd.query with the response checked to be a response to our question."""
    r = srv.query(name, rdtype, tcp=tcp, **kw)
    assert r.flags & dns.flags.QR
    return r


def send(srv, q, tcp=False, timeout=3.0, addr=None):
    """Sends a prepared dns.message to the server and returns its parsed response."""
    import dns.query
    addr = addr or srv.addr
    if tcp:
        return dns.query.tcp(q, addr, port=srv.port, timeout=timeout)
    return dns.query.udp(q, addr, port=srv.port, timeout=timeout)


def edns_query(name, rdtype="A", version=0, **kw):
    """make_query with an EDNS version: dnspython 2.3's make_query clears the version bits when it
    clears DO (want_dnssec=False), so use_edns=1 alone would send version 0."""
    import dns.message
    q = dns.message.make_query(name, rdtype, use_edns=0, **kw)
    q.ednsflags = (q.ednsflags & 0xFF00FFFF) | (version << 16)
    return q


def udp_raw(port, data, timeout=1.0, addr="127.0.0.1"):
    """Sends one datagram and returns the first reply (bytes), or None when none came in time."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, (addr, port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def tcp_read_msg(s):
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return recv_exact(s, n)


def tcp_connect(port, addr="127.0.0.1", timeout=3.0, rcvbuf=None):
    """A TCP connection; rcvbuf fixes the receive buffer's size (no autotuning)."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


def header(wire):
    """The 12-byte header of a DNS message as a dict."""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return {"id": qid, "flags": flags, "qr": flags >> 15, "opcode": (flags >> 11) & 15,
            "aa": (flags >> 10) & 1, "tc": (flags >> 9) & 1, "rcode": flags & 15,
            "qd": qd, "an": an, "ns": ns, "ar": ar}


def skip_name(wire, off):
    """Offset just past the (possibly compressed) name at off."""
    while True:
        n = wire[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def raw_records(wire):
    """[(section, rrtype, rdlength, rdata bytes)] for every record of a message, in wire order."""
    h = header(wire)
    off = 12
    for _ in range(h["qd"]):
        off = skip_name(wire, off) + 4
    out = []
    for sect, count in (("answer", h["an"]), ("authority", h["ns"]), ("additional", h["ar"])):
        for _ in range(count):
            off = skip_name(wire, off)
            rrtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", wire[off:off + 10])
            off += 10
            out.append((sect, rrtype, rdlen, wire[off:off + rdlen]))
            off += rdlen
    return out


def make_wire(name="www.example.com", rdtype="A", qid=0x1234, **kw):
    q = dns.message.make_query(name, rdtype, id=qid, **kw)
    return q.to_wire()


# --- checks --------------------------------------------------------------------------------------

def N(text):
    return dns.name.from_text(text)


def rrset_keys(section):
    """{(owner lower-case text, type text)} of a section; OPT is not part of dnspython's sections."""
    return {(rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype)) for rs in section}


def find(section, name, rdtype):
    for rs in section:
        if rs.name == N(name) and rs.rdtype == dns.rdatatype.from_text(rdtype):
            return rs
    return None


def rdatas(rrset, exact=False):
    """Set of rdata texts of an RRset, lower-cased unless exact: a server may compress a name in
    RDATA against the query name, which carries the query's case (DNS names are case-insensitive)."""
    return {rd.to_text() if exact else rd.to_text().lower() for rd in rrset}


def expect_rdata(rdtype, *texts, origin=None, exact=False):
    t = dns.rdatatype.from_text(rdtype)
    out = {dns.rdata.from_text(dns.rdataclass.IN, t, x, origin=origin).to_text() for x in texts}
    return out if exact else {x.lower() for x in out}


def describe(r):
    return "\n" + r.to_text()


def assert_rcode(r, rcode):
    assert r.rcode() == rcode, "rcode %s, expected %s%s" % (
        dns.rcode.to_text(r.rcode()), dns.rcode.to_text(rcode), describe(r))


def assert_aa(r, aa=True):
    assert bool(r.flags & dns.flags.AA) == aa, "AA=%d, expected %d%s" % (
        bool(r.flags & dns.flags.AA), aa, describe(r))


def assert_answer(r, name, rdtype, *texts, ttl=None):
    """NOERROR, AA, and the answer section is exactly the one RRset name/rdtype with these rdatas."""
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == {(N(name).to_text().lower(), rdtype.upper())}, describe(r)
    rs = r.answer[0]
    assert rdatas(rs) == expect_rdata(rdtype, *texts), describe(r)
    if ttl is not None:
        assert rs.ttl == ttl, describe(r)
    return rs


def assert_soa_authority(r, zone):
    """The authority section is exactly the SOA of zone with the negative-caching TTL."""
    assert rrset_keys(r.authority) == {(zone + ".", "SOA")}, "authority should hold the SOA of %s%s" % (
        zone, describe(r))
    soa = r.authority[0]
    assert soa.ttl == NEG_TTL[zone], "SOA TTL %d, expected %d%s" % (soa.ttl, NEG_TTL[zone], describe(r))
    return soa


def assert_nxdomain(r, zone, answer_keys=frozenset()):
    assert_rcode(r, dns.rcode.NXDOMAIN)
    assert_aa(r)
    assert rrset_keys(r.answer) == set(answer_keys), describe(r)
    assert_soa_authority(r, zone)


def assert_nodata(r, zone, answer_keys=frozenset()):
    assert_rcode(r, dns.rcode.NOERROR)
    assert_aa(r)
    assert rrset_keys(r.answer) == set(answer_keys), describe(r)
    assert_soa_authority(r, zone)


def still_answers(srv):
    """The server is alive and answering after whatever a test threw at it."""
    if srv.proc is not None:
        assert srv.proc.poll() is None, "ternd exited with %s" % srv.proc.returncode
    r = srv.query("www.example.com", "A")
    assert r.rcode() == dns.rcode.NOERROR, describe(r)


def poll(fn, timeout=5.0, interval=0.05):
    """Calls fn until it returns a true value or timeout passes; returns the last value."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


def ipv6_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def server_fixture(**kw):
    """A module-scoped fixture running one server; it must still be alive and exit 0 at the end."""
    import pytest

    @pytest.fixture(scope="module")
    def srv(tmp_path_factory):
        s = serve(workdir=str(tmp_path_factory.mktemp("ternd")), **kw)
        yield s
        alive = s.proc.poll() is None
        rc = s.stop()
        assert alive and rc == 0, "ternd %s with code %s; log tail:\n%s" % (
            "stopped" if alive else "died", rc, s.log_text()[-4000:])

    return srv


def tcp_listener(addr, port):
    """A listening IPv4 TCP socket on addr@port (0: any free port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    return s


def tcp_listeners(addrs):
    """A listener on each of addrs, on one port free on all of them: (port, {addr: socket})."""
    for _ in range(20):
        socks = {}
        try:
            socks[addrs[0]] = tcp_listener(addrs[0], 0)
            port = socks[addrs[0]].getsockname()[1]
            for a in addrs[1:]:
                socks[a] = tcp_listener(a, port)
            return port, socks
        except OSError:
            for x in socks.values():
                x.close()
    raise RuntimeError("no port free on every one of %s" % (addrs,))


def soa_query(qid, name):
    """A bare SOA question for name (no EDNS), as bytes."""
    wire = b"".join(bytes([len(lab)]) + lab.encode() for lab in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire + struct.pack("!HH", 6, 1)


def ask_soa_many(port, names, parse, window=200, timeout=0.5, tries=3):
    """{name: parse(response) or None} for the SOA of many names over UDP on 127.0.0.1:port, up to
    window questions in flight; a name without an answer (or parsed to None) is asked again, up to
    tries times."""
    got = {}
    todo = list(names)
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        for start in range(0, len(todo), window):
            batch = todo[start:start + window]
            for i, name in enumerate(batch):
                s.sendto(soa_query(i, name), ("127.0.0.1", port))
            want = dict(enumerate(batch))
            while want:
                try:
                    resp = s.recv(4096)
                except socket.timeout:
                    break
                name = want.pop(struct.unpack("!H", resp[:2])[0], None)
                if name is not None:
                    got[name] = parse(resp)
        s.close()
        todo = [n for n in todo if got.get(n) is None]
        if not todo:
            break
    return {n: got.get(n) for n in names}


class TcpStandIn:
    """The frame of a stand-in TCP server of a test (not a DNS server: a subclass says what it
    does with each connection in _serve(c), its own thread). Listens on 127.0.0.1 at a free port,
    counts and keeps the connections, and stop() closes them all."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.connections = 0
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        raise NotImplementedError

    def stop(self):
        self.running = False
        self.sock.close()
        for c in self.conns:
            c.close()


def bind_udp_tcp(addr="127.0.0.1", tries=50):
    """A UDP and a TCP socket bound to one free port of addr (the TCP one listening): (udp, tcp,
    port). A port the kernel hands out for one protocol may be in use in the other (an outgoing
    connection's ephemeral port): another is tried then."""
    for _ in range(tries):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((addr, 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((addr, port))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        return udp, tcp, port
    raise RuntimeError("no port free for both UDP and TCP on %s" % addr)
