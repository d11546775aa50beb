"""Zone transfers out over TLS (XoT, RFC 9103): transfer.allow entries that require TLS (and a client
certificate, mutual TLS) refuse plain TCP; BIND 9.18 and NSD 4.6 pull over TLS, authenticating
ternd's certificate by name (strict TLS), and follow NOTIFY (which stays on UDP); a capture on lo
sees the zone's data in the clear over TCP and not over TLS."""
import base64
import os
import socket
import ssl
import threading
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import tlslib
from bindlib import NAMED, named_available
from nsdlib import Nsd, nsd_available
from sysutil import Ternd, describe, wait_tcp
from ternlib import free_port, wait_log, zone_text
from xfrlib import Peer, TsigKey, axfr_records, wait_serial

ZONE = "xot.test"
MARK = "zone-data-that-must-not-leak"  # a TXT record of the zone, looked for on the wire
RCVBUF = 32768  # the slow reader's receive buffer
BIG = "big.xot.test"  # 20,000 A and 1,000 TXT records: about 1 MB of transfer
KEY = TsigKey("xot.key", "hmac-sha256", base64.b64encode(b"xot secret of thirty-two bytes!!").decode())


def zone_body(serial):
    return zone_text(ZONE, serial) + 'secret TXT "%s-%d"\n' % (MARK, serial)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = tlslib.Ca(d / "server")
    ca.server = ca.issue("server")
    ca.clients = tlslib.Ca(d / "clients", cn="Tern test client CA")
    ca.client = ca.clients.issue("secondary", cn="secondary.test", client=True)
    ca.stranger = tlslib.Ca(d / "stranger", cn="Someone else's CA").issue("stranger", cn="secondary.test",
                                                                            client=True)
    return ca


class World:
    """ternd serving ZONE with a TLS listener; its peers' ports chosen before it starts (NOTIFY targets)."""


@pytest.fixture(scope="module")
def world(pki, tmp_path_factory):
    w = World()
    d = tmp_path_factory.mktemp("ternd")
    w.zone_file = str(d / "xot.test.zone")
    with open(w.zone_file, "w") as f:
        f.write(zone_body(1))
    w.serial = 1
    w.big_file = str(d / "big.zone")
    with open(w.big_file, "w") as f:
        f.write(zone_text(BIG, 1))
        f.writelines("h%d A 10.%d.%d.%d\n" % (i, i >> 16, (i >> 8) & 255, i & 255) for i in range(20000))
        f.writelines('t%d TXT "%s"\n' % (i, "x" * 200) for i in range(1000))
    w.bind_port, w.nsd_port, w.tls_port = free_port(), free_port(), free_port()
    w.srv = Ternd({ZONE: w.zone_file, BIG: w.big_file}, workdir=str(d), extra_server="""tls:
  listen: 127.0.0.1@%d
  certificate: %s
  key: %s
  client-ca-file: %s""" % (w.tls_port, pki.server[0], pki.server[1], pki.clients.path), extra_top="""transfer:
  allow:
    - {address: 127.0.0.1, tls: required}
    - {address: 127.0.0.2, tls: client-certificate}
    - 127.0.0.3
    - {address: 127.0.0.4, key: xot.key, tls: required}
  notify: [127.0.0.1@%d, 127.0.0.1@%d]
keys:
  - name: xot.key
    algorithm: hmac-sha256
    secret: "%s"
""" % (w.bind_port, w.nsd_port, KEY.secret))
    w.srv.start()
    wait_tcp("127.0.0.1", w.tls_port)
    yield w
    alive = w.srv.proc.poll() is None
    rc = w.srv.stop()
    assert alive and rc == 0, w.srv.log_text()[-4000:]


def bump(w):
    """A new serial of the zone, reloaded: ternd sends NOTIFY."""
    w.serial += 1
    with open(w.zone_file, "w") as f:
        f.write(zone_body(w.serial))
    w.srv.reload()
    return w.serial


def plain_axfr_rcode(w, source):
    r = dns.query.tcp(dns.message.make_query(ZONE, "AXFR"), "127.0.0.1", port=w.srv.port, timeout=5, source=source)
    return r.rcode()


def tls_records(msgs):
    out = []
    for m in msgs:
        for rs in m.answer:
            for rd in rs:
                out.append((rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype), rs.ttl, rd.to_text().lower()))
    assert out and out[0][1] == "SOA" and out[-1] == out[0], out[:3]
    return sorted(out[:-1])


def test_plain_tcp_refused_where_tls_required(world):
    assert plain_axfr_rcode(world, "127.0.0.1") == dns.rcode.REFUSED
    assert plain_axfr_rcode(world, "127.0.0.2") == dns.rcode.REFUSED
    # an entry without a TLS need still transfers over TCP
    assert plain_axfr_rcode(world, "127.0.0.3") == dns.rcode.NOERROR
    # IXFR too
    q = dns.message.make_query(ZONE, "IXFR")
    q.authority.append(dns.rrset.from_text(ZONE + ".", 0, "IN", "SOA", ". . 1 0 0 0 0"))
    r = dns.query.tcp(q, "127.0.0.1", port=world.srv.port, timeout=5, source="127.0.0.1")
    assert r.rcode() == dns.rcode.REFUSED, describe(r)


def test_xot_axfr_is_the_zone(world, pki):
    ctx = tlslib.client_context(ca=pki.path)
    over_tls = tls_records(tlslib.axfr(world.tls_port, ZONE, ctx, source="127.0.0.1"))
    over_tcp = axfr_records("127.0.0.1", world.srv.port, ZONE, source="127.0.0.3")
    assert over_tls == over_tcp
    assert any(MARK in r[3] for r in over_tls)


def test_mutual_tls(world, pki):
    # TLS without a client certificate: not enough for 127.0.0.2
    msgs = tlslib.axfr(world.tls_port, ZONE, tlslib.client_context(ca=pki.path), source="127.0.0.2")
    assert msgs[0].rcode() == dns.rcode.REFUSED, describe(msgs[0])
    # with one the client CAs signed: the zone
    ctx = tlslib.client_context(ca=pki.path, cert=pki.client[0], key=pki.client[1])
    assert any(MARK in r[3] for r in tls_records(tlslib.axfr(world.tls_port, ZONE, ctx, source="127.0.0.2")))
    # with one from another CA: no handshake
    ctx = tlslib.client_context(ca=pki.path, cert=pki.stranger[0], key=pki.stranger[1])
    with pytest.raises((ssl.SSLError, ConnectionError, EOFError)):
        tlslib.axfr(world.tls_port, ZONE, ctx, source="127.0.0.2")
    # a client certificate satisfies "required" too; queries over the same listener need none
    ctx = tlslib.client_context(ca=pki.path, cert=pki.client[0], key=pki.client[1])
    assert tls_records(tlslib.axfr(world.tls_port, ZONE, ctx, source="127.0.0.1"))
    r = tlslib.query(world.tls_port, dns.message.make_query("www." + ZONE, "A"), tlslib.client_context(ca=pki.path))
    assert r.answer, describe(r)


def test_tls_and_tsig_both_required(world, pki):
    """An entry with a key and tls: required wants both: TSIG over plain TCP, or TLS without TSIG,
    is refused; TSIG over TLS gets the zone (signed)."""
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(KEY.ring(), keyname=KEY.name)
    r = dns.query.tcp(q, "127.0.0.1", port=world.srv.port, timeout=5, source="127.0.0.4")
    assert r.rcode() == dns.rcode.REFUSED, describe(r)
    ctx = tlslib.client_context(ca=pki.path)
    msgs = tlslib.axfr(world.tls_port, ZONE, ctx, source="127.0.0.4")
    assert msgs[0].rcode() == dns.rcode.REFUSED, describe(msgs[0])
    with tlslib.connect(world.tls_port, ctx, source="127.0.0.4") as s:
        s.sendall(len(q.to_wire()).to_bytes(2, "big") + q.to_wire())
        n = int.from_bytes(tlslib.recv_exact(s, 2), "big")
        wire = tlslib.recv_exact(s, n)
    r = dns.message.from_wire(wire, keyring=KEY.ring(), request_mac=q.mac, one_rr_per_rrset=True)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig, describe(r)
    assert any(MARK in rs.to_text() for rs in r.answer)


def test_pipelined_big_transfers_to_a_slow_reader(world, pki):
    """Two AXFRs of a 1 MB zone and a query pipelined on one TLS connection, read only after the
    server had to stop writing (the socket full: SSL_write's WANT_WRITE, resumed from where the
    output waits): both transfers whole and equal to plain TCP's, then the query's answer."""
    qs = [dns.message.make_query(BIG, "AXFR", id=1), dns.message.make_query(BIG, "AXFR", id=2),
          dns.message.make_query("www." + ZONE, "A", id=3)]
    got = {1: [], 2: []}
    with tlslib.connect(world.tls_port, tlslib.client_context(ca=pki.path), source="127.0.0.1", timeout=30,
                        rcvbuf=RCVBUF) as s:
        tlslib.send_msgs(s, qs)
        # meanwhile the server writes until the socket is full (seen with ss: 1.3 MB queued of
        # the 2.3 MB of answers), then waits for the reader
        time.sleep(1.5)
        while True:
            m = tlslib.read_msg(s, one_rr_per_rrset=True)
            if m.id == 3:
                assert m.answer, describe(m)
                break
            got[m.id].append(m)
    plain = axfr_records("127.0.0.1", world.srv.port, BIG, source="127.0.0.3")
    assert len(plain) > 21000
    assert tls_records(got[1]) == plain
    assert tls_records(got[2]) == plain


NAMED_SEC = """options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
tls ternd-tls {{
    ca-file "{ca}";
    remote-hostname "{hostname}";
}};
logging {{
    channel out {{ stderr; severity debug 1; print-time yes; print-category yes; }};
    category default {{ out; }};
    category xfer-in {{ out; }};
}};
zone "{zone}" {{
    type secondary;
    primaries {{ 127.0.0.1 port {primary} tls ternd-tls; }};
    file "{dir}/{zone}.db";
    allow-notify {{ 127.0.0.1; }};
}};
"""


class NamedTlsSecondary(Peer):
    def __init__(self, workdir, port, primary, ca):
        self.port = port
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "named.conf")
        self.log = os.path.join(self.dir, "named.log")
        with open(self.config, "w") as f:
            f.write(NAMED_SEC.format(dir=self.dir, port=port, ca=ca, hostname=tlslib.HOSTNAME, zone=ZONE,
                                     primary=primary))

    def start(self):
        self.launch([NAMED, "-g", "-c", self.config])
        return self.wait_soa(ZONE)


@pytest.mark.skipif(not named_available(), reason="named (bind9) not installed")
def test_bind_secondary_over_tls(world, pki, tmp_path):
    named = NamedTlsSecondary(tmp_path / "named", world.bind_port, world.tls_port, pki.path).start()
    try:
        assert wait_serial("127.0.0.1", world.bind_port, ZONE, world.serial, log=named.log_text)
        assert "connected using 127.0.0.1#%d" % world.tls_port in named.log_text()
        serial = bump(world)  # NOTIFY over UDP, then IXFR over TLS
        wait_serial("127.0.0.1", world.bind_port, ZONE, serial, log=named.log_text)
        r = dns.query.udp(dns.message.make_query("secret." + ZONE, "TXT"), "127.0.0.1", port=world.bind_port,
                          timeout=3)
        assert "%s-%d" % (MARK, serial) in r.answer[0].to_text(), describe(r)
        wait_log(named.log_text, "Transfer status: success")
    finally:
        named.stop()


@pytest.mark.skipif(not nsd_available(), reason="nsd not installed")
def test_nsd_secondary_over_tls(world, pki, tmp_path):
    nsd = Nsd(tmp_path / "nsd", ZONE, world.tls_port, port=world.nsd_port)
    with open(nsd.config) as f:
        conf = f.read()
    # strict TLS: ternd's certificate verified against the CA, for the name tls-auth gives
    conf = conf.replace("remote-control:", '    tls-cert-bundle: "%s"\nremote-control:' % pki.path, 1)
    conf = conf.replace("\nzone:\n", '\ntls-auth:\n    name: "ternd"\n    auth-domain-name: "%s"\nzone:\n'
                        % tlslib.HOSTNAME, 1)
    old = "request-xfr: 127.0.0.1@%d NOKEY" % world.tls_port
    assert old in conf
    conf = conf.replace(old, "request-xfr: AXFR 127.0.0.1@%d NOKEY ternd" % world.tls_port)
    with open(nsd.config, "w") as f:
        f.write(conf)
    nsd.start()
    try:
        wait_serial("127.0.0.1", world.nsd_port, ZONE, world.serial, timeout=15, log=nsd.log_text)
        serial = bump(world)
        wait_serial("127.0.0.1", world.nsd_port, ZONE, serial, timeout=15, log=nsd.log_text)
    finally:
        nsd.stop()
    assert "AXFR to 127.0.0.1" in world.srv.log_text()


class LoCapture:
    """TCP payloads on lo to or from a port (AF_PACKET: needs root), while it runs."""

    def __init__(self, port):
        self.port = port
        self.data = bytearray()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.1)
        self.stop_ = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_:
            try:
                pkt = self.sock.recv(70000)
            except socket.timeout:
                continue
            ip = pkt[14:]  # Ethernet header on lo
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            tcp = ip[ihl:]
            sport, dport = int.from_bytes(tcp[0:2], "big"), int.from_bytes(tcp[2:4], "big")
            if self.port in (sport, dport):
                self.data += tcp[(tcp[12] >> 4) * 4:]

    def stop(self):
        time.sleep(0.2)
        self.stop_ = True
        self.thread.join()
        self.sock.close()
        return bytes(self.data)


@pytest.mark.skipif(os.geteuid() != 0, reason="capturing on lo needs root")
def test_no_zone_data_in_clear_over_tls(world, pki):
    mark = MARK.encode()
    # the capture works: a plain TCP transfer shows the data
    cap = LoCapture(world.srv.port)
    assert plain_axfr_rcode(world, "127.0.0.3") == dns.rcode.NOERROR
    assert mark in cap.stop()
    # over TLS: the same transfer, nothing of it in the clear
    cap = LoCapture(world.tls_port)
    recs = tls_records(tlslib.axfr(world.tls_port, ZONE, tlslib.client_context(ca=pki.path), source="127.0.0.1"))
    seen = cap.stop()
    assert any(MARK in r[3] for r in recs)
    assert len(seen) > 1000, "captured only %d bytes" % len(seen)
    assert mark not in seen and b"xot" not in seen and b"secret" not in seen
