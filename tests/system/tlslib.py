"""TLS for the system tests (python3-cryptography): a test CA, server and client certificates signed
by it (or expired, or not matching their key), and DNS over TLS clients (RFC 7858 framing)."""
import datetime
import os
import socket
import ssl
import struct

import dns.message
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTNAME = "ternd.test"  # the name the server certificates are for (and 127.0.0.1)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def _write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


class Ca:
    """A CA in dir: ca.pem, and certificates it signs, written as <name>.pem and <name>.key."""

    def __init__(self, directory, cn="Tern test CA"):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                  content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False,
                                                  encipher_only=False, decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(self.dir, "ca.pem")
        _write_cert(self.path, self.cert)

    def issue(self, name, cn=HOSTNAME, client=False, days=(-1, 30), key=None):
        """A certificate for cn (a server's for cn and 127.0.0.1, or a client's), valid from days[0] to
        days[1] from now; its key is key when given (one that does not match makes a mismatch).
        Returns (certificate path, key path)."""
        own = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(self.cert.subject)
             .public_key(own.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now + datetime.timedelta(days=days[0]))
             .not_valid_after(now + datetime.timedelta(days=days[1]))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if client:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        else:
            import ipaddress
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn), x509.IPAddress(
                ipaddress.ip_address("127.0.0.1"))]), critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        cpath, kpath = os.path.join(self.dir, name + ".pem"), os.path.join(self.dir, name + ".key")
        _write_cert(cpath, cert)
        _write_key(kpath, key if key is not None else own)
        return cpath, kpath


def client_context(ca=None, cert=None, key=None, alpn=("dot",)):
    """A TLS 1.3 client context: verifying the server against ca (else not at all), with a client
    certificate when given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if ca:
        ctx.load_verify_locations(ca)
        ctx.check_hostname = True
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def connect(port, ctx, addr="127.0.0.1", source=None, session=None, timeout=5.0, rcvbuf=None):
    """A DNS over TLS connection to addr@port (from source, an address, when given; with a receive
    buffer of rcvbuf bytes, so that a server writing much must wait for the reader)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    try:
        if source:
            s.bind((source, 0))
        s.connect((addr, port))
        return ctx.wrap_socket(s, server_hostname=HOSTNAME, session=session)
    except Exception:
        s.close()
        raise


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        got = s.recv(n - len(buf))
        if not got:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += got
    return buf


def read_msg(s, one_rr_per_rrset=False):
    """One length-prefixed DNS message from a stream, parsed (a transfer's with one_rr_per_rrset, so
    that its first and last SOA stay two records)."""
    (n,) = struct.unpack("!H", recv_exact(s, 2))
    return dns.message.from_wire(recv_exact(s, n), one_rr_per_rrset=one_rr_per_rrset)


def send_msgs(s, msgs):
    """Several messages written at once (pipelined)."""
    s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in (m.to_wire() for m in msgs)))


def query(port, q, ctx, **kw):
    """One query over a new DNS over TLS connection; the response."""
    with connect(port, ctx, **kw) as s:
        send_msgs(s, [q])
        return read_msg(s)


def axfr(port, zone, ctx, **kw):
    """An AXFR over a new TLS connection: the messages of the answer (one REFUSED message when refused)."""
    out = []
    with connect(port, ctx, **kw) as s:
        send_msgs(s, [dns.message.make_query(zone, "AXFR")])
        soas = 0
        while True:
            m = read_msg(s, one_rr_per_rrset=True)
            out.append(m)
            if m.rcode() != 0:
                return out
            soas += sum(1 for rs in m.answer if rs.rdtype == 6 for _ in rs)
            if soas >= 2:
                return out
