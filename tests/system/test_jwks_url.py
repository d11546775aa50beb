"""api.jwks-url: the identity provider's key set fetched over HTTPS (issue 24's JWKS lines).

The provider is Python's http.server behind ssl with a certificate from a CA the test makes (no
identity provider is packaged; this is real HTTPS serving a real key set). ternd fetches the set
at start, keeps it in the store, fetches again when it is due (api.jwks-max-age 5 s here) and
once for a token with an unknown kid (at most once a minute); bad answers leave the set in force."""
import datetime
import http.server
import ipaddress
import json
import os
import secrets
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import ternlib
from apilib import ApiTernd, NAMESERVERS, b64int, wait_api
from ternlib import free_port

MAX_AGE = 5  # api.jwks-max-age of the ternd under test, seconds


def make_ca(directory):
    """A CA and a certificate for 127.0.0.1 it signs; returns (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tern test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem")]
    with open(paths[0], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[2], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


def jwk(kid, key, **extra):
    pub = key.public_key().public_numbers()
    d = {"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig", "x": b64int(pub.x).rjust(43, "A"),
         "y": b64int(pub.y).rjust(43, "A")}
    d.update(extra)
    return d


def token(key, kid, tenant="acme"):
    now = int(time.time())
    return jwt.encode({"sub": tenant, "iat": now, "nbf": now - 5, "exp": now + 3600}, key, algorithm="ES256",
                      headers={"kid": kid})


class Provider:
    """The identity provider's JWKS endpoint over HTTPS. mode: ok, 500, html, malformed, big,
    redirect-http, slow; gets counts the GETs of /jwks."""

    def __init__(self, cert, key):
        self.keys = []
        self.mode = "ok"
        self.cache_control = None
        self.gets = {}  # path: GETs
        self.lock = threading.Lock()
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with provider.lock:
                    provider.gets[self.path] = provider.gets.get(self.path, 0) + 1
                    mode, keys, cc = provider.mode, list(provider.keys), provider.cache_control
                body, ctype, status = json.dumps({"keys": keys}).encode(), "application/json", 200
                if mode == "500":
                    body, status = b'{"error": "internal"}', 500
                elif mode == "html":
                    body, ctype = b"<html><body>Sign in</body></html>", "text/html; charset=utf-8"
                elif mode == "malformed":
                    body = b'{"keys": [{"kty": "EC",'
                elif mode == "big":
                    body = b'{"keys": [], "pad": "' + b"x" * (1 << 20) + b'"}'
                elif mode == "redirect-http":
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:%d/jwks" % provider.port)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                elif mode == "slow":
                    time.sleep(3)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if cc:
                    self.send_header("Cache-Control", cc)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.port = free_port()
        self.httpd = Server(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "https://127.0.0.1:%d/jwks" % self.port

    def count(self, path="/jwks"):
        with self.lock:
            return self.gets.get(path, 0)

    def set(self, mode=None, keys=None):
        with self.lock:
            if mode is not None:
                self.mode = mode
            if keys is not None:
                self.keys = keys

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _NoKeys:
    jwks = None


class UrlTernd(ApiTernd):
    """ApiTernd with api.jwks-url in place of the key file."""

    def __init__(self, url, ca_file, max_age=MAX_AGE, **kw):
        self.url, self.ca_file, self.max_age = url, ca_file, max_age
        super().__init__(_NoKeys(), **kw)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config) as f:
            text = f.read()
        text = text.replace("  jwks: \"None\"\n", "  jwks-url: \"%s\"\n  jwks-ca-file: \"%s\"\n"
                            "  jwks-max-age: %d\n  jwks-timeout: 1\n" % (self.url, self.ca_file, self.max_age))
        with open(self.config, "w") as f:
            f.write(text)


@pytest.fixture(scope="module")
def lab():
    d = tempfile.mkdtemp(prefix="jwks-url-")
    ca, cert, key = make_ca(d)
    p = Provider(cert, key)
    a = ec.generate_private_key(ec.SECP256R1())
    b = ec.generate_private_key(ec.SECP256R1())
    p.set(keys=[jwk("a1", a)])
    t = UrlTernd(p.url, ca, workdir=d)
    yield {"dir": d, "ca": ca, "provider": p, "a": a, "b": b, "ternd": t}
    t.stop()
    p.close()
    assert "AddressSanitizer" not in t.log_text()


def health(t):
    return t.api().get("/healthz").json["jwks"]


def status(t, tok):
    return t.api(tok).get("/api/v1/zones").status


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def test_fetched_at_start_and_used(lab):
    t, p = lab["ternd"], lab["provider"]
    t.start()
    assert p.count() >= 1
    assert status(t, token(lab["a"], "a1")) == 200
    h = health(t)
    assert h["keys"] == 1 and h["source"] == "fetched" and h["last_error"] is None
    # a key the provider does not list is refused
    assert status(t, token(lab["b"], "b1")) == 401


def test_new_kid_fetches_again_once_a_minute(lab):
    """A ternd whose set is not due for an hour: a token with a kid it does not hold fetches the set
    again, at most once a minute; 1,000 tokens with forged kids fetch nothing more."""
    p = lab["provider"]
    p.set(keys=[jwk("a1", lab["a"])])
    # its own path, so the provider counts its GETs apart from the module's ternd
    t = UrlTernd(p.url + "?kid-test", lab["ca"], max_age=3600, workdir=tempfile.mkdtemp(prefix="jwks-url-kid-"))
    try:
        t.start()
        started = health(t)["last_attempt"]
        assert status(t, token(lab["a"], "a1")) == 200
        p.set(keys=[jwk("a1", lab["a"]), jwk("b1", lab["b"])])
        before = p.count("/jwks?kid-test")
        # within the minute of the start's fetch: refused, and the provider is not asked
        r = t.api(token(lab["b"], "b1")).get("/api/v1/zones")
        assert r.status == 401 and "fetched less than a minute ago" in str(r.error), r
        assert p.count("/jwks?kid-test") == before
        time.sleep(max(0.0, started + 61 - time.time()))
        r = t.api(token(lab["b"], "b1")).get("/api/v1/zones")
        assert r.status == 401 and "being fetched again" in str(r.error), r
        wait_for(lambda: status(t, token(lab["b"], "b1")) == 200, 10, "the new key to be fetched")
        assert p.count("/jwks?kid-test") == before + 1
        # forged kids now: every one refused, none reaches the provider
        api = t.api()
        for i in range(1000):
            tok = token(lab["a"], "forged-%s" % secrets.token_hex(4))
            assert api.get("/api/v1/zones", token=tok).status == 401
        assert p.count("/jwks?kid-test") == before + 1
        h = health(t)
        assert h["refetches"] == 1 and h["refetches_refused"] >= 1001, h
        m = t.api().get("/metrics").body.decode()
        assert 'tern_jwks_refetches_total{made="yes"} 1' in m
    finally:
        t.stop()


def test_removed_key_refused_after_max_age(lab):
    t, p = lab["ternd"], lab["provider"]
    p.set(keys=[jwk("a1", lab["a"]), jwk("b1", lab["b"])])
    wait_for(lambda: status(t, token(lab["b"], "b1")) == 200, 3 * MAX_AGE + 2, "the new key to be fetched when due")
    p.set(keys=[jwk("b1", lab["b"])])
    wait_for(lambda: status(t, token(lab["a"], "a1")) == 401, 3 * MAX_AGE + 2, "the removed key to be refused")
    assert status(t, token(lab["b"], "b1")) == 200


def test_unusable_keys_are_skipped(lab):
    t, p = lab["ternd"], lab["provider"]
    bad_use = jwk("enc1", lab["a"], use="enc")
    private = jwk("priv1", lab["a"], d="AAAA")
    p.set(keys=[bad_use, private, jwk("b1", lab["b"])])
    before = health(t)["skipped_keys"]
    wait_for(lambda: health(t)["skipped_keys"] >= before + 2, 3 * MAX_AGE + 2, "the keys to be skipped")
    assert status(t, token(lab["b"], "b1")) == 200
    assert status(t, token(lab["a"], "enc1")) == 401
    log = t.log_text()
    assert "a key is left out" in log and "keys[0]: use" in log


@pytest.mark.parametrize("mode,reason", [
    ("500", "HTTP status 500"),
    ("html", "an HTML page"),
    ("malformed", "not valid JSON"),
    ("big", "larger than 1048576 bytes"),
    ("redirect-http", "not https"),
    ("slow", "no complete answer within 1000 ms"),
])
def test_bad_answer_keeps_the_set(lab, mode, reason):
    t, p = lab["ternd"], lab["provider"]
    p.set(mode=mode, keys=[jwk("b1", lab["b"])])
    try:
        before = health(t)["failures"]
        wait_for(lambda: health(t)["failures"] > before, 3 * MAX_AGE + 4, "a failed fetch (%s)" % mode)
        h = health(t)
        assert reason in h["last_error"], h
        assert h["keys"] == 1
        assert status(t, token(lab["b"], "b1")) == 200
        m = t.api().get("/metrics").body.decode()
        assert 'tern_jwks_fetches_total{result="failed"}' in m
    finally:
        p.set(mode="ok")
    wait_for(lambda: health(t)["last_error"] is None, 3 * MAX_AGE + 4, "a good fetch again")


def test_restart_with_the_provider_down_uses_the_stored_set(lab):
    t, p = lab["ternd"], lab["provider"]
    t.stop()
    p.set(mode="500")
    try:
        t.start()
        assert status(t, token(lab["b"], "b1")) == 200
        h = health(t)
        assert h["source"] == "store" and h["keys"] == 1
    finally:
        p.set(mode="ok")
    wait_for(lambda: health(t)["source"] == "fetched", 3 * MAX_AGE + 4, "a fetch after the provider is back")


def test_first_start_with_the_provider_down(lab):
    """No set kept and no provider: ternd starts (DNS and health work), tokens are refused with the
    reason, and the first good fetch brings them in."""
    p = lab["provider"]
    d = tempfile.mkdtemp(prefix="jwks-url-fresh-")
    t = UrlTernd(p.url, lab["ca"], workdir=d)
    p.set(mode="500")
    try:
        t.start()
        r = t.api(token(lab["b"], "b1")).get("/api/v1/zones")
        assert r.status == 401
        assert health(t)["keys"] == 0 and "HTTP status 500" in health(t)["last_error"]
        p.set(mode="ok")
        wait_for(lambda: status(t, token(lab["b"], "b1")) == 200, 3 * MAX_AGE + 4, "the first good fetch")
    finally:
        p.set(mode="ok")
        t.stop()


@pytest.mark.parametrize("lines,message", [
    ("  jwks-url: \"http://127.0.0.1/jwks\"\n", "api.jwks-url: \"http://127.0.0.1/jwks\" is not an https:// URL"),
    ("  jwks-url: \"https:///jwks\"\n", "has no host"),
    ("  jwks-url: \"https://127.0.0.1/jwks\"\n  jwks: \"k.json\"\n", "not both"),
    ("  jwks-ca-file: \"ca.pem\"\n  jwks: \"k.json\"\n", "api.jwks-ca-file: needs api.jwks-url"),
    ("  jwks-url: \"https://127.0.0.1/jwks\"\n  jwks-max-age: 0\n", "api.jwks-max-age"),
])
def test_bad_configuration(lines, message, tmp_path):
    conf = tmp_path / "ternd.yaml"
    conf.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\napi:\n  listen: \"127.0.0.1@%d\"\n"
                    "  data-dir: \"%s\"\n%s" % (free_port(), free_port(), tmp_path / "data", lines))
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stderr + r.stdout, r.stderr + r.stdout
