"""Encrypted ClientHello (issue 20): what `tern ech generate` writes, used by real TLS peers on
loopback. BoringSSL's `bssl-tool server` (Debian's android-boringssl) terminates ECH with Tern's raw
X25519 key and ECHConfig; `bssl-tool client` and NSS's `tstclnt` (libnss3-tools) connect with Tern's
ECHConfigList and must say "Encrypted ClientHello: yes" (BoringSSL's line; the server's -www page
says it for NSS). A list of another key is rejected (ECH_REJECTED; NSS: retry_configs offered), and
a rotated list (new config beside the old) works with the new key directly and with the old key
through ECH's retry. The HTTPS record text is read back with dnspython, served by ternd from a zone
file (ServiceMode and alias target), and the key pair checked with python3-cryptography."""
import base64
import os
import shutil
import stat
import struct
import subprocess
import threading
import time

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ternlib import TERND, Ternd, free_port

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(TERND), "tern"))
BSSL = shutil.which("bssl-tool") or shutil.which("bssl")
TSTCLNT = shutil.which("tstclnt")
PUBLIC = "public.example"  # the outer name, in the certificate the server shows
SECRET = "secret.example"  # the inner name, encrypted


def tern(*args, check=True):
    """tern with no API address or token: the ech commands run on this machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("TERN_API", "TERN_TOKEN")}
    r = subprocess.run([TERN_CLI] + list(args), capture_output=True, text=True, timeout=60, check=False, env=env)
    assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    for tool, pkg in ((BSSL, "android-boringssl"), (TSTCLNT, "libnss3-tools")):
        if not tool:
            pytest.fail("%s is not installed (make deps installs it)" % pkg)
    d = tmp_path_factory.mktemp("ech")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(d / "tls.key"), "-out", str(d / "tls.crt"), "-days", "2", "-subj", "/CN=" + PUBLIC,
                    "-addext", "subjectAltName=DNS:%s,DNS:%s" % (PUBLIC, SECRET)],
                   check=True, capture_output=True, timeout=60)
    return d


def generate(d, *extra):
    """tern ech generate into d; the files it wrote, by name, and the printed record."""
    r = tern("ech", "generate", "--public-name", PUBLIC, "--out", str(d), *extra)
    files = {n: (d / n).read_bytes() for n in ("ech.key", "ech.config", "ech.list", "ech.list.b64")}
    files["record"] = r.stdout.strip()
    files["dir"] = d
    return files


def listening(port):
    """True when something listens on TCP port (read from /proc: a probe connection would be taken
    by bssl-tool as its one client)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    return True
    return False


class Bssl:
    """`bssl-tool server -www` for one connection, with an ECH key and config."""

    def __init__(self, lab, gen):
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [BSSL, "server", "-accept", str(self.port), "-key", str(lab / "tls.key"), "-cert",
                 str(lab / "tls.crt"), "-ech-key", str(gen["dir"] / "ech.key"), "-ech-config",
                 str(gen["dir"] / "ech.config"), "-www"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None and not listening(self.port):
                time.sleep(0.02)
            if self.proc.poll() is None and listening(self.port):
                return
            self.stop(wait=0)  # the port was taken meanwhile, or the server refused its arguments
        raise AssertionError("bssl-tool server did not start: %s" % self.output)

    def stop(self, wait=10):
        """Its output, once it has ended by itself (after its one connection; wait seconds at most:
        killed, a pipe's buffered output would be lost) or been killed."""
        try:
            self.output = self.proc.communicate(timeout=wait)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output = self.proc.communicate(timeout=10)[0]
        return self.output

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.returncode is None:
            self.stop(wait=0)


def bssl_client(port, list_path, name=SECRET):
    r = subprocess.run([BSSL, "client", "-connect", "127.0.0.1:%d" % port, "-ech-config-list", str(list_path),
                        "-server-name", name], input="", capture_output=True, text=True, timeout=30, check=False)
    return r.returncode, r.stdout + r.stderr


def nss_client(srv, b64, name=SECRET):
    """tstclnt with ECH (-N), no certificate database (-D), the self-signed certificate taken (-o),
    asking srv's -www page. The request is in tstclnt's stdin before it starts (a pipe kept open, so
    no end of input): tstclnt prints a rejection's retry_configs only when the failure meets its write
    of stdin, and a request written after it started lost that race to the handshake now and then.
    Neither side closes first after the page, so once the page's last line is in, both are stopped;
    a rejected ECH ends tstclnt by itself."""
    rfd, wfd = os.pipe()
    os.write(wfd, b"GET / HTTP/1.0\r\n\r\n")
    try:
        p = subprocess.Popen([TSTCLNT, "-h", "127.0.0.1", "-p", str(srv.port), "-a", name, "-D", "-o", "-N", b64],
                             stdin=rfd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        os.close(rfd)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and p.poll() is None and not any("Encrypted ClientHello:" in x for x in lines):
        time.sleep(0.02)
    srv.stop(wait=0)
    if p.poll() is None:  # it would wait on, server gone or not
        p.kill()
    p.wait(timeout=10)
    os.close(wfd)
    reader.join(timeout=10)
    return p.returncode, "".join(lines)


def parse_list(data):
    """The configs of an ECHConfigList, read here independently: [(config_id, kem, public key, name)]."""
    (total,) = struct.unpack(">H", data[:2])
    assert total == len(data) - 2
    out, p = [], 2
    while p < len(data):
        version, length = struct.unpack(">HH", data[p:p + 4])
        c = data[p + 4:p + 4 + length]
        assert version == 0xfe0d and len(c) == length
        cid, kem, klen = c[0], struct.unpack(">H", c[1:3])[0], struct.unpack(">H", c[3:5])[0]
        key = c[5:5 + klen]
        q = 5 + klen
        (slen,) = struct.unpack(">H", c[q:q + 2])
        suites = [struct.unpack(">HH", c[q + 2 + i:q + 6 + i]) for i in range(0, slen, 4)]
        q += 2 + slen
        max_len, nlen = c[q], c[q + 1]
        name = c[q + 2:q + 2 + nlen].decode()
        assert c[q + 2 + nlen:] == b"\0\0"  # no extensions
        out.append((cid, kem, key, name, suites, max_len))
        p += 4 + length
    return out


def test_generate_writes_key_config_list_and_record(tmp_path):
    g = generate(tmp_path / "a", "--config-id", "200", "--max-name-length", "64")
    assert stat.S_IMODE(os.stat(g["dir"] / "ech.key").st_mode) == 0o600
    assert len(g["ech.key"]) == 32
    assert g["ech.list"] == struct.pack(">H", len(g["ech.config"])) + g["ech.config"]
    assert g["ech.list.b64"] == base64.b64encode(g["ech.list"]) + b"\n"
    [(cid, kem, key, name, suites, max_len)] = parse_list(g["ech.list"])
    assert (cid, kem, name, suites, max_len) == (200, 0x20, PUBLIC, [(1, 1), (1, 3)], 64)
    # the published key is the private key's public half
    pub = X25519PrivateKey.from_private_bytes(g["ech.key"]).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert key == pub
    # the HTTPS record reads back (dnspython) with alpn h2,h3 and ech = the list
    assert g["record"] == "1 . alpn=h2,h3 ech=" + g["ech.list.b64"].decode().strip()
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.HTTPS, g["record"])
    assert rd.priority == 1 and rd.target.to_text() == "."
    params = {int(k): v for k, v in rd.params.items()}  # keys: 1 alpn, 5 ech
    assert [a.decode() for a in params[1].ids] == ["h2", "h3"]
    assert params[5].ech == g["ech.list"]
    # tern ech show, from the base64 and from the file
    for arg in (g["ech.list.b64"].decode().strip(), str(g["dir"] / "ech.list")):
        out = tern("ech", "show", arg).stdout
        assert "1 config, 1 usable" in out
        assert "config_id 200\n" in out and "kem 0x0020 (X25519)" in out and "public_name public.example\n" in out
        assert "suite HKDF-SHA256/AES-128-GCM\n  suite HKDF-SHA256/ChaCha20-Poly1305\n" in out
        assert "maximum_name_length 64\n" in out


def test_https_record_served(tmp_path):
    """The printed record, and its alias-target form, in a zone file ternd serves: the answer
    carries the list, octet for octet."""
    g = generate(tmp_path / "k")
    rdata = g["record"]
    alias = rdata.replace("1 . ", "1 svc.app.example. ", 1)
    zone = tmp_path / "app.example.zone"
    zone.write_text("$ORIGIN app.example.\n$TTL 3600\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\n"
                    "ns A 192.0.2.53\nsvc HTTPS %s\nsvc A 192.0.2.80\nalias HTTPS %s\n" % (rdata, alias))
    with Ternd({"app.example": str(zone)}, workdir=str(tmp_path)) as srv:
        for owner, target in (("svc.app.example.", "."), ("alias.app.example.", "svc.app.example.")):
            r = srv.query(owner, "HTTPS")
            [rrset] = r.answer
            [rd] = list(rrset)
            assert rd.priority == 1 and rd.target.to_text() == target, rd
            params = {int(k): v for k, v in rd.params.items()}  # keys: 1 alpn, 5 ech
            assert [a.decode() for a in params[1].ids] == ["h2", "h3"]
            assert params[5].ech == g["ech.list"]


def test_refusals(tmp_path):
    r = tern("ech", "generate", "--public-name", "192.0.2.1", "--out", str(tmp_path), check=False)
    assert r.returncode == 2 and "public_name is an IPv4 address" in r.stderr
    r = tern("ech", "generate", "--public-name", "a..b", "--out", str(tmp_path), check=False)
    assert r.returncode == 2 and "public_name has an empty label" in r.stderr
    r = tern("ech", "generate", "--public-name", PUBLIC, "--config-id", "256", "--out", str(tmp_path), check=False)
    assert r.returncode == 2 and '--config-id "256" is not a number from 0 to 255' in r.stderr
    assert not os.listdir(tmp_path)
    old = generate(tmp_path / "old")
    r = tern("ech", "generate", "--public-name", PUBLIC, "--config-id", "0", "--keep",
             str(old["dir"] / "ech.config"), "--out", str(tmp_path / "new"), check=False)
    assert r.returncode == 2 and "config_id 0 is in the list already" in r.stderr, r.stderr
    cut = base64.b64encode(old["ech.list"][:-1]).decode()
    r = tern("ech", "show", cut, check=False)
    assert r.returncode == 1 and "ECHConfigList: its length says 69 octets, 68 follow" in r.stderr, r.stderr


@pytest.mark.parametrize("extra", [[], ["--config-id", "255", "--max-name-length", "64"]])
def test_bssl_client_gets_ech(lab, tmp_path, extra):
    g = generate(tmp_path / "k", *extra)
    with Bssl(lab, g) as srv:
        rc, out = bssl_client(srv.port, g["dir"] / "ech.list")
        seen = srv.stop()
    assert rc == 0 and "  Encrypted ClientHello: yes\n" in out, out
    assert "Client sent SNI: %s\n" % SECRET in seen and "Encrypted ClientHello: yes\n" in seen, seen


def test_foreign_list_rejected(lab, tmp_path):
    ours, foreign = generate(tmp_path / "ours"), generate(tmp_path / "foreign")
    with Bssl(lab, ours) as srv:
        rc, out = bssl_client(srv.port, foreign["dir"] / "ech.list")
        seen = srv.stop()
    assert rc != 0 and "Error while connecting: ECH_REJECTED\n" in out, out
    assert "Encrypted ClientHello: yes" not in out
    # the server saw only the outer ClientHello
    assert "Client sent SNI: %s\n" % PUBLIC in seen and "Encrypted ClientHello: no\n" in seen, seen


def test_nss_client_gets_ech(lab, tmp_path):
    ours, foreign = generate(tmp_path / "ours"), generate(tmp_path / "foreign")
    with Bssl(lab, ours) as srv:
        rc, out = nss_client(srv, ours["ech.list.b64"].decode().strip())
    # the -www page NSS fetched says what the server saw
    assert "HTTP/1.0 200 OK" in out and "Client sent SNI: %s\n" % SECRET in out, out
    assert "  Encrypted ClientHello: yes\n" in out, out
    with Bssl(lab, ours) as srv:
        rc, out = nss_client(srv, foreign["ech.list.b64"].decode().strip())
    assert rc != 0 and "SSL_ERROR_ECH_RETRY_WITH_ECH" in out, out
    # the server offers its own list to retry with: Tern's, octet for octet
    retry = out.split("Received ECH retry_configs: \n", 1)[1].split()[0]
    assert base64.b64decode(retry) == ours["ech.list"]


def test_rotation(lab, tmp_path):
    """The new config beside the old: clients take the first config, the new one, so an ingress
    with the new key accepts the rotated list at once; one still holding only the old key rejects
    it and offers its retry_configs (the old list), with which the client gets ECH; a client that
    still has the old list (cached for the record's TTL) gets ECH from the old key. bssl-tool
    server holds one key, so each key is its own server here; the ingress holds both."""
    old = generate(tmp_path / "old")
    new = generate(tmp_path / "new", "--keep", str(tmp_path / "old" / "ech.config"))
    configs = parse_list(new["ech.list"])
    assert [c[0] for c in configs] == [1, 0]  # a config_id the old one does not have, listed first
    assert new["ech.list"][2:] == new["ech.config"] + old["ech.config"]  # the old config unchanged
    out = tern("ech", "show", str(new["dir"] / "ech.list")).stdout
    assert "2 configs, 2 usable" in out and "duplicate" not in out
    b64 = new["ech.list.b64"].decode().strip()
    with Bssl(lab, new) as srv:
        rc, out = bssl_client(srv.port, new["dir"] / "ech.list")
        srv.stop()
    assert rc == 0 and "  Encrypted ClientHello: yes\n" in out, out
    with Bssl(lab, new) as srv:
        rc, out = nss_client(srv, b64)
    assert "HTTP/1.0 200 OK" in out and "  Encrypted ClientHello: yes\n" in out, out
    with Bssl(lab, old) as srv:
        rc, out = bssl_client(srv.port, old["dir"] / "ech.list")
        srv.stop()
    assert rc == 0 and "  Encrypted ClientHello: yes\n" in out, out
    with Bssl(lab, old) as srv:
        rc, out = bssl_client(srv.port, new["dir"] / "ech.list")
        srv.stop()
    assert rc != 0 and "Error while connecting: ECH_REJECTED\n" in out, out
    with Bssl(lab, old) as srv:
        rc, out = nss_client(srv, b64)
    assert rc != 0 and "SSL_ERROR_ECH_RETRY_WITH_ECH" in out, out
    retry = out.split("Received ECH retry_configs: \n", 1)[1].split()[0]
    assert base64.b64decode(retry) == old["ech.list"]
    with Bssl(lab, old) as srv:
        rc, out = nss_client(srv, retry)
    assert "HTTP/1.0 200 OK" in out and "  Encrypted ClientHello: yes\n" in out, out
