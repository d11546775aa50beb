"""Helpers for the API system tests: a ternd with an `api:` section, signing keys and tokens
(ES256 and RS256, plus deliberately broken ones), a small HTTP/JSON client and DNS checks."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import ternlib
from ternlib import Ternd, free_port

sys.path.insert(0, os.path.join(ternlib.ROOT, "tools"))
import devtoken  # noqa: E402

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
NAMESERVERS = ["ns1.tern.test.", "ns2.tern.test."]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64int(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


# --- keys and tokens -----------------------------------------------------------------------------

class Keys:
    """An ES256 key (kid "es1") and an RS256 key (kid "rs1") in one JWKS file, and tokens."""

    def __init__(self, directory):
        self.dir = directory
        self.es, self.jwks = devtoken.ensure_keys(directory, "es1")
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(self.jwks) as f:
            doc = json.load(f)
        pub = self.rsa.public_key().public_numbers()
        doc["keys"].append({"kty": "RSA", "kid": "rs1", "alg": "RS256", "use": "sig",
                            "n": b64int(pub.n), "e": b64int(pub.e)})
        with open(self.jwks, "w") as f:
            json.dump(doc, f, indent=1)
        # a key ternd does not know, for bad signatures
        self.stranger = ec.generate_private_key(ec.SECP256R1())

    def token(self, tenant, admin=False, scope=None, alg="ES256", **claims):
        if alg == "ES256":
            return devtoken.token(self.es, tenant, "es1", admin=admin, scope=scope, **claims)
        assert alg == "RS256"
        now = int(time.time())
        payload = {"sub": tenant, "iat": now, "nbf": now - 5, "exp": now + 3600}
        if admin:
            payload["role"] = "admin"
        if scope is not None:
            payload["scope"] = scope
        payload.update(claims)
        return jwt.encode(payload, self.rsa, algorithm="RS256", headers={"kid": "rs1"})

    def public_pem(self, which="es"):
        key = self.es if which == "es" else self.rsa
        return key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)

    @staticmethod
    def payload(tenant, **claims):
        now = int(time.time())
        p = {"sub": tenant, "iat": now, "nbf": now - 5, "exp": now + 3600}
        p.update(claims)
        return p

    @staticmethod
    def raw(header, payload, sign):
        """A compact JWS from parts: sign(signing_input bytes) -> signature bytes."""
        si = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
        return si + "." + b64url(sign(si.encode()))

    def bad_tokens(self, tenant):
        """{description: token} of tokens ternd must refuse with 401."""
        now = int(time.time())
        pub_es, pub_rs = self.public_pem("es"), self.public_pem("rs")
        pl = self.payload(tenant)
        es_good = self.token(tenant)
        h, p, s = es_good.split(".")
        flipped = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        flipped[5] ^= 0x01
        return {
            "bad signature (other key, same kid)":
                jwt.encode(pl, self.stranger, algorithm="ES256", headers={"kid": "es1"}),
            "bad signature (one bit flipped)": h + "." + p + "." + b64url(bytes(flipped)),
            "payload changed after signing":
                h + "." + b64url(json.dumps(dict(pl, sub=tenant, role="admin")).encode()) + "." + s,
            "expired": devtoken.token(self.es, tenant, "es1", exp=now - 60, nbf=now - 3600, iat=now - 3600),
            "not yet valid": devtoken.token(self.es, tenant, "es1", nbf=now + 3600, exp=now + 7200),
            "wrong alg: HS256 keyed with the EC public key":
                self.raw({"alg": "HS256", "typ": "JWT", "kid": "es1"}, pl,
                         lambda si: hmac.new(pub_es, si, hashlib.sha256).digest()),
            "wrong alg: HS256 keyed with the RSA public key":
                self.raw({"alg": "HS256", "typ": "JWT", "kid": "rs1"}, pl,
                         lambda si: hmac.new(pub_rs, si, hashlib.sha256).digest()),
            "alg none": self.raw({"alg": "none", "typ": "JWT", "kid": "es1"}, pl, lambda si: b""),
            "alg None (case)": self.raw({"alg": "None", "typ": "JWT", "kid": "es1"}, pl, lambda si: b""),
            "alg none without kid": self.raw({"alg": "none", "typ": "JWT"}, pl, lambda si: b""),
            "unknown kid": jwt.encode(pl, self.es, algorithm="ES256", headers={"kid": "nobody"}),
            "RS256 header on the EC key":
                jwt.encode(pl, self.rsa, algorithm="RS256", headers={"kid": "es1"}),
            "ES256 header on the RSA key":
                jwt.encode(pl, self.es, algorithm="ES256", headers={"kid": "rs1"}),
            "no kid": jwt.encode(pl, self.es, algorithm="ES256"),
            "not a JWT": "hello",
            "empty": "",
        }


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp("keys")))


# --- HTTP ----------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        if body and (headers.get("Content-Type") or "").startswith("application/json"):
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    @property
    def error(self):
        return (self.json or {}).get("error") if isinstance(self.json, dict) else None

    def __repr__(self):
        return "HTTP %d %s" % (self.status, self.body[:600].decode("utf-8", "replace"))


class Api:
    """HTTP/JSON client for one ternd API, with a default token. Keeps one connection alive."""

    def __init__(self, port, token=None, addr="127.0.0.1"):
        self.addr, self.port, self.token = addr, port, token
        self.conn = None
        self.timeout = 30  # seconds a request may take (a test of a big body may allow more)

    def with_token(self, token):
        return Api(self.port, token, self.addr)

    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        """body: JSON-encoded when not bytes/str; raw: exact bytes. token=False: no Authorization."""
        hdrs = {}
        tok = self.token if token is None else token
        if tok is not False and tok is not None:
            hdrs["Authorization"] = "Bearer " + tok
        if raw is not None:
            data = raw
        elif body is None:
            data = None
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.addr, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                r = self.conn.getresponse()
                out = Response(r.status, r.headers, r.read())
                if (r.headers.get("Connection") or "").lower() == "close":
                    self.close()
                return out
            except (ConnectionError, http.client.BadStatusLine, http.client.RemoteDisconnected):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # conveniences
    def create_zone(self, name, **fields):
        r = self.post("/api/v1/zones", dict(name=name, **fields))
        assert r.status == 201, r
        return r.json

    def zone(self, name):
        r = self.get("/api/v1/zones/" + name)
        assert r.status == 200, r
        return r.json

    def serial(self, zone):
        return self.zone(zone)["serial"]

    def put_rrset(self, zone, name, rtype, ttl, records):
        r = self.put("/api/v1/zones/%s/rrsets/%s/%s" % (zone, name, rtype), {"ttl": ttl, "records": records})
        assert r.status == 200, r
        return r.json

    def rrsets(self, zone):
        r = self.get("/api/v1/zones/%s/rrsets" % zone)
        assert r.status == 200, r
        return r.json


def assert_error(r, status, field=None, contains=None, what=""):
    """r is a JSON error {"error": {"status", "field", "message"}} with this status (and field)."""
    statuses = status if isinstance(status, (tuple, list, set)) else (status,)
    what = what + ": " if what else ""
    assert r.status in statuses, "%sexpected HTTP %s, got %r" % (what, status, r)
    assert (r.headers.get("Content-Type") or "").startswith("application/json"), \
        "error without a JSON content type: %r %s" % (r, r.headers.get("Content-Type"))
    e = r.error
    assert isinstance(e, dict), "no {\"error\": {...}} body: %r" % r
    assert e.get("status") == r.status, "error.status %s != HTTP %d" % (e.get("status"), r.status)
    assert isinstance(e.get("message"), str) and e["message"], "error without a message: %r" % r
    if field is not None:
        assert e.get("field") == field, "error field %r, expected %r: %r" % (e.get("field"), field, r)
    if contains is not None:
        assert contains in e["message"], "message should mention %r: %r" % (contains, r)
    return e


def error_problems(api, requests, status, field=None):
    """Sends every (method, path, body) and returns a description of each that did not get the
    expected JSON error (so one test reports every offender at once)."""
    problems = []
    for method, path, body in requests:
        r = api.request(method, path, body)
        try:
            assert_error(r, status, field, what="%s %s" % (method, path))
        except AssertionError as e:
            problems.append(str(e).split("\n")[0])
    return problems


# --- ternd with an API ---------------------------------------------------------------------------

class ApiTernd(Ternd):
    """ternd with an `api:` section; the data dir survives restarts (start again after stop/kill)."""

    def __init__(self, keys, workdir=None, api=None, zones=None, extra_server=""):
        workdir = workdir or tempfile.mkdtemp(prefix="ternd-api-")
        self.api_port = free_port()
        self.data_dir = os.path.join(workdir, "data")
        self.keys = keys
        self.api_opts = {"nameservers": NAMESERVERS, "rate-limit": 0}
        if os.environ.get("TERN_STORE") == "pg" and "store" not in (api or {}):
            # the store in a database of its own on this process's PostgreSQL (pglib.py)
            import pglib
            self.api_opts["store"] = '"%s"' % pglib.server().new_database()[0]
        self.api_opts.update(api or {})
        super().__init__(zones or {}, extra_server=extra_server, workdir=workdir)
        self.exits = []  # return codes of earlier runs

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        lines = ["api:", "  listen: \"127.0.0.1@%d\"" % self.api_port, "  data-dir: \"%s\"" % self.data_dir,
                 "  jwks: \"%s\"" % self.keys.jwks]
        for k, v in self.api_opts.items():
            if v is None:
                continue
            if isinstance(v, list):
                lines.append("  %s: [%s]" % (k, ", ".join("\"%s\"" % x for x in v)))
            elif isinstance(v, bool):
                lines.append("  %s: %s" % (k, "true" if v else "false"))
            else:
                lines.append("  %s: %s" % (k, v))
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n")

    def launch(self):
        """Starts the process without waiting."""
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([ternlib.TERND, "-c", self.config], stdout=self.logf, stderr=subprocess.STDOUT)
        return self.proc

    def start(self):
        self.launch()
        ternlib.wait_udp(self.addr, self.port, proc=self.proc)
        wait_api(self.api_port, self.proc)
        return self

    def api(self, token=None):
        return Api(self.api_port, token)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()
        self.exits.append(self.proc.returncode)
        self.proc = None

    def stop(self):
        if self.proc is None:
            return None
        rc = super().stop()
        self.exits.append(rc)
        self.proc = None
        return rc

    def query(self, name, rdtype="A", tcp=False, **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        if tcp:
            return dns.query.tcp(q, self.addr, port=self.port, timeout=3)
        return dns.query.udp(q, self.addr, port=self.port, timeout=3)

    def sanitizer_report(self):
        if not os.path.exists(self.log):
            return None
        text = self.log_text()
        for m in SANITIZER_MARKERS:
            if m in text:
                return "ternd log has %r:\n%s" % (m, text[-6000:])
        return None


def wait_api(port, proc=None, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("ternd exited with %s" % proc.returncode)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError("API on port %d did not come up" % port)


def finish(srv):
    """Teardown: the server must be alive, exit 0 on SIGTERM, and its log free of sanitizer reports."""
    alive = srv.proc is not None and srv.proc.poll() is None
    was_running = srv.proc is not None
    rc = srv.stop()
    report = srv.sanitizer_report()
    assert report is None, report
    if was_running:
        assert alive and rc == 0, "ternd %s with code %s; log tail:\n%s" % (
            "stopped" if alive else "died", rc, srv.log_text()[-4000:])
    bad = [c for c in srv.exits if c not in (0, -signal.SIGKILL)]
    assert not bad, "ternd exited with %s; log tail:\n%s" % (bad, srv.log_text()[-4000:])


def server_fixture(scope="module", **kw):
    """A fixture running one ApiTernd; checked at teardown (alive, exit 0, no sanitizer report)."""

    @pytest.fixture(scope=scope)
    def srv(tmp_path_factory, keys):
        if not os.access(ternlib.TERND, os.X_OK):
            pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
        s = ApiTernd(keys, workdir=str(tmp_path_factory.mktemp("ternd-api")), **kw).start()
        try:
            yield s
        finally:
            finish(s)

    return srv


# --- DNS -----------------------------------------------------------------------------------------

def absname(name):
    return name if name.endswith(".") else name + "."


def answer_texts(r, name, rdtype):
    """The rdata texts of name/rdtype in the answer section (a set), or None when absent."""
    rt = dns.rdatatype.from_text(rdtype)
    for rs in r.answer:
        if rs.name.to_text().lower() == absname(name).lower() and rs.rdtype == rt:
            return {rd.to_text() for rd in rs}
    return None


def describe(r):
    return "\n--- response ---\n%s" % r.to_text()


def served(srv, name, rdtype):
    """(rcode, set of rdata texts or None, TTL or None) of name/rdtype over UDP, right now."""
    r = srv.query(name, rdtype)
    texts = answer_texts(r, name, rdtype)
    ttl = None
    if texts is not None:
        rt = dns.rdatatype.from_text(rdtype)
        ttl = next(rs.ttl for rs in r.answer if rs.rdtype == rt)
    return r.rcode(), texts, ttl


def soa_serial(srv, zone):
    r = srv.query(zone, "SOA")
    assert r.rcode() == dns.rcode.NOERROR and r.answer, "no SOA for %s%s" % (zone, describe(r))
    assert r.flags & dns.flags.AA
    return r.answer[0][0].serial


def assert_served(srv, name, rdtype, texts, ttl=None):
    r = srv.query(name, rdtype)
    got = answer_texts(r, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR and got == set(texts), \
        "%s %s should be served as %s%s" % (name, rdtype, sorted(texts), describe(r))
    assert r.flags & dns.flags.AA, describe(r)
    if ttl is not None:
        rt = dns.rdatatype.from_text(rdtype)
        got_ttl = next(rs.ttl for rs in r.answer if rs.rdtype == rt)
        assert got_ttl == ttl, "TTL %d, expected %d%s" % (got_ttl, ttl, describe(r))
    return r


def assert_not_served(srv, name, rdtype):
    """No name/rdtype data in the answer (NXDOMAIN or NODATA)."""
    r = srv.query(name, rdtype)
    assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) and answer_texts(r, name, rdtype) is None, \
        "%s %s should not be served%s" % (name, rdtype, describe(r))
    return r


def assert_refused(srv, name, rdtype="SOA"):
    r = srv.query(name, rdtype)
    assert r.rcode() == dns.rcode.REFUSED, "%s should be REFUSED (no such zone)%s" % (name, describe(r))
    return r


def serial_gt(a, b):
    """RFC 1982 serial arithmetic: a > b."""
    return a != b and ((a - b) % (1 << 32)) < (1 << 31)


def zonefile(zone, *lines, ns=None):
    """A complete zone file for zone (SOA, NS) plus the given record lines (relative names)."""
    zone = absname(zone)
    out = ["$ORIGIN %s" % zone, "$TTL 300",
           "@ IN SOA %s hostmaster.%s 1 7200 900 1209600 300" % ((ns or NAMESERVERS)[0], zone)]
    out += ["@ IN NS %s" % n for n in (ns or NAMESERVERS)]
    out += list(lines)
    return "\n".join(out) + "\n"


# --- the server's route table --------------------------------------------------------------------

API_C = os.path.join(ternlib.ROOT, "src", "ternd", "api", "api.c")


def shape(path):
    """/api/v1/zones/{zone}/rrsets/{name}/{type} -> /api/v1/zones/{}/rrsets/{}/{}"""
    return re.sub(r"\{[^}/]*\}", "{}", path)


def server_routes():
    """{(method, pattern)} of the route table compiled into ternd: routes[] in api.c."""
    with open(API_C) as f:
        src = f.read()
    m = re.search(r"static\s+const\s+struct\s+http_route\s+routes\s*\[\s*\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "no routes[] array in %s" % API_C
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    routes = set(re.findall(r"\{\s*\"([A-Z]+)\"\s*,\s*\"([^\"]+)\"\s*,\s*\w+\s*(?:,\s*\w+\s*){0,2}\}", body))
    assert len(routes) >= 10, routes
    return routes


def zone_routes(zone, name="www", rtype="A", pid="1"):
    """Every zone-scoped route of the route table as (method, url, body): the bodies are valid
    requests that change name/rtype (or the zone as a whole)."""
    rec = {"name": name, "type": rtype, "ttl": 60, "records": ["192.0.2.66"]}
    bodies = {
        ("POST", "/api/v1/zones/{}/import"): zonefile(zone, "%s 60 IN %s 192.0.2.66" % (name, rtype)),
        ("PUT", "/api/v1/zones/{}/lock"): {"reason": "mine now"},
        ("PUT", "/api/v1/zones/{}/soa"): {"refresh": 1234},
        ("PATCH", "/api/v1/zones/{}/rrsets"): {"rrsets": [rec]},
        ("PUT", "/api/v1/zones/{}/rrsets/{}/{}"): {"ttl": 60, "records": ["192.0.2.66"]},
        ("POST", "/api/v1/zones/{}/proposals"): {"rrsets": [rec]},
        ("PUT", "/api/v1/zones/{}/dnssec"): {"denial": "nsec"},
        ("POST", "/api/v1/zones/{}/dnssec/backup"): {"passphrase": "twelve chars or more"},
        ("POST", "/api/v1/zones/{}/dnssec/restore"): {"passphrase": "twelve chars or more", "backup": {}},
        ("PUT", "/api/v1/zones/{}/in-tree"): {"expires": "2099-01-01T00:00:00Z"},
    }
    out = []
    for method, pattern in sorted(server_routes()):
        if not pattern.startswith("/api/v1/zones/{}"):
            continue
        if pattern == "/api/v1/zones/{}/bootstrap":
            continue  # makes a zone (as POST /api/v1/zones): one of that name exists -> 409, asserted apart
        values = iter([zone, name, rtype] if "/rrsets/" in pattern else [zone, pid])
        url = "/".join(next(values) if seg == "{}" else seg for seg in pattern.split("/"))
        out.append((method, url, bodies.get((method, pattern))))
    return out
