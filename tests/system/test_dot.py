"""DNS over TLS (RFC 7858) on server.tls.listen: kdig +tls answers equal UDP answers, pipelining,
TLS 1.3 session resumption, ALPN "dot", the handshake deadline, a flood of half-open handshakes from
one address (500 here) while other addresses are answered, the certificate reloaded on SIGHUP, and
`ternd --check` naming each bad TLS key."""
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

import tlslib
from sysutil import ZONE_FILES, Ternd, describe, wait_tcp
from ternlib import TERND, free_port, wait_log

KDIG = shutil.which("kdig")
HANDSHAKE_S = 1  # server.tls.handshake-timeout here; tcp-idle-timeout is 10 s
FLOOD = 500  # half-open TLS connections from one address in test_half_open_flood


def tls_server(workdir, cert, key, extra=""):
    port = free_port()
    os.makedirs(str(workdir), exist_ok=True)
    srv = Ternd(ZONE_FILES, workdir=str(workdir), extra_server="""tcp-idle-timeout: 10
tls:
  listen: 127.0.0.1@%d
  certificate: %s
  key: %s
  handshake-timeout: %d
%s""" % (port, cert, key, HANDSHAKE_S, extra))
    srv.tls_port = port
    srv.start()
    wait_tcp(srv.addr, port)
    return srv


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = tlslib.Ca(tmp_path_factory.mktemp("pki"))
    ca.server = ca.issue("server")
    return ca


@pytest.fixture(scope="module")
def srv(pki, tmp_path_factory):
    s = tls_server(tmp_path_factory.mktemp("ternd"), *pki.server)
    yield s
    alive = s.proc.poll() is None
    rc = s.stop()
    assert alive and rc == 0, "ternd %s with code %s; log tail:\n%s" % (
        "stopped" if alive else "died", rc, s.log_text()[-4000:])


def verified(pki):
    return tlslib.client_context(ca=pki.path)


def kdig(*args):
    return subprocess.run([KDIG, "+noall", "+answer", "+authority", "+additional", "+nocookie", "+time=3",
                           "+retry=0"] + list(args), capture_output=True, text=True, timeout=20)


QUESTIONS = [("www.example.com", "A"), ("www.example.com", "AAAA"), ("rr.example.com", "MX"),
             ("rr.example.com", "TXT"), ("rr-cname.example.com", "A"), ("chain1.example.com", "A"),
             ("nothere.example.com", "A"), ("www.example.com", "MX"), ("deleg.example.com", "NS"),
             ("www.deleg.example.com", "A"), ("foo.wild.example.com", "TXT"), ("example.net", "SOA"),
             ("www.sub.example.com", "A"), ("rr-dname.example.com", "A"), ("x.rr-dname.example.com", "A")]


@pytest.mark.skipif(not KDIG, reason="kdig (knot-dnsutils) not installed")
def test_kdig_tls_equals_udp(srv, pki):
    for name, rdtype in QUESTIONS:
        over_tls = kdig("+tls", "+tls-ca=%s" % pki.path, "+tls-hostname=%s" % tlslib.HOSTNAME,
                        "-p", str(srv.tls_port), "@127.0.0.1", name, rdtype)
        over_udp = kdig("-p", str(srv.port), "@127.0.0.1", name, rdtype)
        assert over_tls.returncode == 0, over_tls.stdout + over_tls.stderr
        assert over_udp.returncode == 0, over_udp.stdout + over_udp.stderr
        assert over_tls.stdout.strip(), "no answer over TLS for %s %s: %s" % (name, rdtype, over_tls.stderr)
        assert over_tls.stdout == over_udp.stdout, "%s %s:\nTLS:\n%s\nUDP:\n%s" % (
            name, rdtype, over_tls.stdout, over_udp.stdout)


def test_tls_equals_udp_whole_message(srv, pki):
    """Every section and the header's flags and rcode, by dnspython over a verified TLS session."""
    ctx = verified(pki)
    for i, (name, rdtype) in enumerate(QUESTIONS):
        q = dns.message.make_query(name, rdtype, id=0x4000 + i)
        a = tlslib.query(srv.tls_port, q, ctx)
        b = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3)
        assert (a.id, a.flags, a.rcode()) == (b.id, b.flags, b.rcode()), describe(a)
        assert (a.answer, a.authority, a.additional) == (b.answer, b.authority, b.additional), describe(a)


def test_big_answer_not_truncated_over_tls(srv, pki):
    q = dns.message.make_query("hugetxt.example.com", "TXT", id=0x4100)
    a = tlslib.query(srv.tls_port, q, verified(pki))
    b = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=3)
    assert not a.flags & dns.flags.TC and a.answer == b.answer and len(a.answer[0]) >= 8, describe(a)


def response_wire(port, q, ctx):
    with tlslib.connect(port, ctx) as s:
        tlslib.send_msgs(s, [q])
        (n,) = struct.unpack("!H", tlslib.recv_exact(s, 2))
        return tlslib.recv_exact(s, n)


def padding_of(wire):
    r = dns.message.from_wire(wire)
    return [o for o in r.options if o.otype == dns.edns.PADDING]


def test_padding(srv, pki):
    """A query padded (RFC 7830) over TLS gets a response padded to a multiple of 468 octets (RFC 8467
    4.1), its answer the same as unpadded; an unpadded query, and any query over UDP, none."""
    ctx = verified(pki)
    for name, rdtype in QUESTIONS[:6] + [("hugetxt.example.com", "TXT")]:
        q = dns.message.make_query(name, rdtype, use_edns=0, pad=128)
        wire = response_wire(srv.tls_port, q, ctx)
        assert len(wire) % 468 == 0 and padding_of(wire), (name, len(wire))
        plain = dns.message.make_query(name, rdtype, use_edns=0, id=q.id)
        r, r0 = dns.message.from_wire(wire), tlslib.query(srv.tls_port, plain, ctx)
        assert (r.answer, r.authority, r.rcode()) == (r0.answer, r0.authority, r0.rcode())
        assert not [o for o in r0.options if o.otype == dns.edns.PADDING]
        u = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3)
        assert not [o for o in u.options if o.otype == dns.edns.PADDING], describe(u)


def test_pipelined_queries(srv, pki):
    """400 queries in one write on one connection (about 14 KB: more than the 4 KB input buffer a
    connection starts with, so OpenSSL holds records read ahead while the first are answered): 400
    answers, in order, each its question's."""
    qs = [dns.message.make_query(*QUESTIONS[i % len(QUESTIONS)], id=0x5000 + i) for i in range(400)]
    with tlslib.connect(srv.tls_port, verified(pki)) as s:
        tlslib.send_msgs(s, qs)
        got = [tlslib.read_msg(s) for _ in qs]
        # and the connection stays usable for more (RFC 7766 6.2.1)
        tlslib.send_msgs(s, [dns.message.make_query("www.example.com", "A", id=0x5fff)])
        last = tlslib.read_msg(s)
    assert [r.id for r in got] == [q.id for q in qs]
    for q, r in zip(qs, got):
        assert r.question == q.question, describe(r)
        assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), describe(r)
    assert last.id == 0x5fff and last.answer, describe(last)


def test_session_resumption(srv, pki):
    """A TLS 1.3 ticket from one connection resumes the next (no certificate exchanged again)."""
    ctx = verified(pki)
    q = dns.message.make_query("www.example.com", "A")
    with tlslib.connect(srv.tls_port, ctx) as s:
        tlslib.send_msgs(s, [q])
        tlslib.read_msg(s)  # the ticket comes after the handshake: read something first
        assert not s.session_reused
        session = s.session
    assert session is not None and session.has_ticket
    with tlslib.connect(srv.tls_port, ctx, session=session) as s:
        tlslib.send_msgs(s, [q])
        r = tlslib.read_msg(s)
        assert s.session_reused and s.version() == "TLSv1.3"
    assert r.answer, describe(r)


def test_openssl_s_client_resumes(srv, pki, tmp_path):
    """The same with OpenSSL's client (-sess_out, then -sess_in): "Reused" the second time."""
    sess = str(tmp_path / "sess.pem")
    base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % srv.tls_port, "-alpn", "dot", "-CAfile", pki.path,
            "-verify_return_error", "-ign_eof"]
    # a query in (so the server's ticket has arrived before s_client leaves at the answer's end)
    wire = dns.message.make_query("www.example.com", "A").to_wire()
    data = len(wire).to_bytes(2, "big") + wire
    first = subprocess.run(base + ["-sess_out", sess], input=data, capture_output=True, timeout=20)
    out = first.stdout.decode(errors="replace")
    assert "ALPN protocol: dot" in out and "Verify return code: 0 (ok)" in out, out[-3000:]
    second = subprocess.run(base + ["-sess_in", sess], input=data, capture_output=True, timeout=20)
    out2 = second.stdout.decode(errors="replace")
    assert "Reused, TLSv1.3" in out2, out2[-3000:]


def test_alpn(srv, pki):
    with tlslib.connect(srv.tls_port, verified(pki)) as s:
        assert s.selected_alpn_protocol() == "dot"
    # a client offering only another protocol is refused (no_application_protocol alert)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with tlslib.connect(srv.tls_port, tlslib.client_context(ca=pki.path, alpn=("h2",))) as s:
            tlslib.send_msgs(s, [dns.message.make_query("www.example.com", "A")])
            tlslib.read_msg(s)
    # one offering none is served
    r = tlslib.query(srv.tls_port, dns.message.make_query("www.example.com", "A"),
                     tlslib.client_context(ca=pki.path, alpn=()))
    assert r.answer, describe(r)


def test_tls_below_1_3_refused(srv):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tlslib.connect(srv.tls_port, ctx).close()


def closed_after(s, limit):
    """Seconds until the server closes s (EOF or reset), or None if it did not within limit."""
    t0 = time.time()
    while time.time() - t0 < limit:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            try:
                if s.recv(4096) == b"":
                    return time.time() - t0
            except ConnectionError:
                return time.time() - t0
    return None


# The first bytes of a TLS ClientHello record: a handshake that never goes on.
PARTIAL_HELLO = bytes.fromhex("160301020001")


def test_stalled_handshake_dropped_after_deadline(srv):
    """A client that says nothing, or half a ClientHello, is dropped at handshake-timeout (1 s),
    well before tcp-idle-timeout (10 s)."""
    for first in (b"", PARTIAL_HELLO):
        with socket.create_connection(("127.0.0.1", srv.tls_port)) as s:
            if first:
                s.sendall(first)
            took = closed_after(s, 6)
        assert took is not None, "a stalled handshake was not dropped within 6 s"
        assert HANDSHAKE_S * 0.8 <= took <= HANDSHAKE_S + 2.5, took
    # a handshake done in time is not dropped at the deadline: the idle timeout applies
    with tlslib.connect(srv.tls_port, tlslib.client_context()) as s:
        time.sleep(HANDSHAKE_S + 1)
        tlslib.send_msgs(s, [dns.message.make_query("www.example.com", "A")])
        assert tlslib.read_msg(s).answer


def test_half_open_flood(srv, pki):
    """FLOOD connections from 127.0.0.2 each stalled in its handshake: UDP, TCP and TLS from 127.0.0.3
    are answered meanwhile (and TLS from 127.0.0.2 too: a new connection replaces the address's own
    oldest), and the server keeps at most tcp-max-clients-per-address (32) of them."""
    flood = []
    try:
        for _ in range(FLOOD):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.2", 0))
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", srv.tls_port))
            except BlockingIOError:
                pass
            flood.append(s)
        for s in flood:  # each one half a ClientHello in
            select.select([], [s], [], 5)
            try:
                s.send(PARTIAL_HELLO)
            except OSError:
                pass
        q = dns.message.make_query("www.example.com", "A")
        t0 = time.time()
        r_udp = dns.query.udp(q, "127.0.0.1", port=srv.port, timeout=3, source="127.0.0.3")
        r_tcp = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=3, source="127.0.0.3")
        r_tls = tlslib.query(srv.tls_port, q, verified(pki), source="127.0.0.3")
        r_own = tlslib.query(srv.tls_port, q, verified(pki), source="127.0.0.2")
        took = time.time() - t0
        for r in (r_udp, r_tcp, r_tls, r_own):
            assert r.answer, describe(r)
        assert took < 5, took
        # before the handshake deadline, all but the address's last 32 were closed to make room
        time.sleep(0.3)
        open_ = 0
        for s in flood:
            try:
                if s.recv(1) != b"":
                    open_ += 1
            except BlockingIOError:
                open_ += 1
            except OSError:
                pass
        assert open_ <= 32, "%d of %d flood connections still open" % (open_, FLOOD)
    finally:
        for s in flood:
            s.close()
    assert srv.proc.poll() is None


def peer_der(port, source=None):
    with tlslib.connect(port, tlslib.client_context(), source=source) as s:
        return s.getpeercert(binary_form=True)


def der_of(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_sighup_reloads_certificate(pki, tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    a = pki.issue("a")
    b = pki.issue("b")
    shutil.copy(a[0], cert)
    shutil.copy(a[1], key)
    srv = tls_server(tmp_path / "ternd", cert, key)
    try:
        assert peer_der(srv.tls_port) == der_of(a[0])
        ctx = tlslib.client_context()
        old = tlslib.connect(srv.tls_port, ctx)
        tlslib.send_msgs(old, [dns.message.make_query("www.example.com", "A")])
        tlslib.read_msg(old)
        session = old.session
        # new files under the same names (a renewal), then SIGHUP: new handshakes get the new one
        shutil.copy(b[0], cert)
        shutil.copy(b[1], key)
        srv.reload()
        wait_log(srv.log_text, "reload done")
        assert peer_der(srv.tls_port) == der_of(b[0])
        # a ticket from before the reload still resumes (the ticket keys are kept)
        with tlslib.connect(srv.tls_port, ctx, session=session) as s:
            assert s.session_reused
        # a connection made before keeps working
        tlslib.send_msgs(old, [dns.message.make_query("www.example.com", "A")])
        assert tlslib.read_msg(old).answer
        old.close()
        # a key that does not match: refused on reload, the certificate in use stays
        shutil.copy(a[1], key)
        srv.reload()
        wait_log(srv.log_text, "does not match server.tls.certificate")
        wait_log(srv.log_text, "the certificate in use stays")
        assert peer_der(srv.tls_port) == der_of(b[0])
        assert srv.proc.poll() is None
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log_text()[-3000:]


def check(tmp_path, server_extra, top=""):
    conf = tmp_path / "check.yaml"
    conf.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\n%s\nzones:\n  - name: example.com\n    file: %s\n%s"
                    % (free_port(), server_extra, ZONE_FILES["example.com"], top))
    p = subprocess.run([TERND, "-c", str(conf), "--check"], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def tls_keys(cert, key, extra=""):
    return "  tls:\n    listen: 127.0.0.1@%d\n    certificate: %s\n    key: %s\n%s" % (free_port(), cert, key, extra)


def test_check_accepts_good_files(pki, tmp_path):
    rc, out = check(tmp_path, tls_keys(*pki.server))
    assert rc == 0 and "server.tls: ok" in out, out


def test_check_names_bad_tls_input(pki, tmp_path):
    good_cert, good_key = pki.server
    other_cert, other_key = pki.issue("other")
    expired = pki.issue("expired", days=(-30, -1))
    future = pki.issue("future", days=(2, 30))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    cases = [
        (tls_keys(good_cert, other_key), "server.tls.key %s: does not match server.tls.certificate" % other_key),
        (tls_keys(*expired), "server.tls.certificate %s: expired" % expired[0]),
        (tls_keys(*future), "server.tls.certificate %s: not valid yet" % future[0]),
        (tls_keys(str(tmp_path / "missing.pem"), good_key),
         "server.tls.certificate %s: cannot read: No such file" % (tmp_path / "missing.pem")),
        (tls_keys(good_cert, str(tmp_path / "nokey.pem")),
         "server.tls.key %s: cannot read" % (tmp_path / "nokey.pem")),
        (tls_keys(str(garbage), good_key), "server.tls.certificate %s: not a PEM certificate" % garbage),
        (tls_keys(good_cert, str(garbage)), "server.tls.key %s: not a PEM private key" % garbage),
        (tls_keys(good_cert, good_key, "    client-ca-file: %s\n" % garbage),
         "server.tls.client-ca-file %s: no PEM certificate" % garbage),
        ("  tls:\n    listen: 127.0.0.1@%d\n" % free_port(), "server.tls.certificate: missing required key"),
        ("  tls:\n    listen: 127.0.0.1@%d\n    certificate: %s\n" % (free_port(), good_cert),
         "server.tls.key: missing required key"),
        ("  tls:\n    listen: 127.0.0.1@%d\n    certificate: %s\n    key: %s\n    handshake-timeout: 0\n"
         % (free_port(), good_cert, good_key), "server.tls.handshake-timeout"),
    ]
    for extra, want in cases:
        rc, out = check(tmp_path, extra)
        assert rc != 0 and want in out, "want %r:\n%s" % (want, out)
    # the transfer ACL's TLS needs: a TLS listener, and the client CAs for client certificates
    rc, out = check(tmp_path, "", "transfer:\n  allow:\n    - {address: 127.0.0.1, tls: required}\n")
    assert rc != 0 and "transfer.allow[0].tls: required needs server.tls.listen" in out, out
    rc, out = check(tmp_path, tls_keys(good_cert, good_key),
                    "transfer:\n  allow:\n    - {address: 127.0.0.1, tls: client-certificate}\n")
    assert rc != 0 and "client-certificate needs server.tls.client-ca-file" in out, out
    rc, out = check(tmp_path, tls_keys(good_cert, good_key),
                    "transfer:\n  allow:\n    - {address: 127.0.0.1, tls: always}\n")
    assert rc != 0 and "transfer.allow[0].tls" in out, out
    del other_cert
    assert os.path.exists(good_cert)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to check for another user")
def test_check_names_a_key_server_user_cannot_read(pki, tmp_path):
    """ternd reads server.tls's files as server.user: --check (run as root) says when that user
    cannot read the key."""
    key = tmp_path / "private.key"
    shutil.copy(pki.server[1], str(key))
    os.chmod(str(key), 0o600)  # root's alone
    rc, out = check(tmp_path, "  user: nobody\n" + tls_keys(pki.server[0], str(key)))
    assert rc != 0 and "server.tls.key %s: nobody cannot read it" % key in out, out
    os.chmod(str(key), 0o644)
    rc, out = check(tmp_path, "  user: nobody\n" + tls_keys(pki.server[0], str(key)))
    assert "cannot read" not in out, out
