"""ACME http-01 issuance (src/ternd/acme) against Debian's pebble, inside a network namespace.

The lab: ternd on ZONE_ADDR serves acme.test (names pointing at the responders) and runs the
ternd-mode responder (acme.responder) on TERND_RESPONDER:80; unbound on RESOLVER_ADDR recurses with a
stub zone to it and is pebble's -dnsserver; the standalone tern-acme-responder answers on
RESPONDER:80 (pebble's httpPort) with the account's thumbprint, and another on WRONG_RESPONDER with a
foreign one. Two pebbles: one rejecting no nonces, one rejecting half of the good ones
(PEBBLE_WFE_NONCEREJECT=50). Their listeners' certificate comes from a CA made here with openssl
(Debian ships pebble without one); the roots they issue under are read from /roots/0. The client
is driven by tests/unit/acme_issue.c (build dir, beside ternd).
"""
import os
import re
import time

import pytest

from acmelab import OPENSSL, PebbleLab
from dnsseclab import run
from ternlib import TERND

BUILD = os.path.dirname(os.path.abspath(TERND))
ACME_ISSUE = os.path.join(BUILD, "tests", "unit", "acme_issue")
RESPONDER_BIN = os.path.join(BUILD, "tern-acme-responder")

PEBBLE_ADDR = "127.10.0.10"  # nonce rejection off
PEBBLE50_ADDR = "127.10.0.11"  # PEBBLE_WFE_NONCEREJECT=50
ZONE_ADDR = "127.10.0.20"  # ternd: acme.test, and its acme.responder on TERND_RESPONDER
RESPONDER = "127.10.0.30"  # tern-acme-responder, the account's thumbprint
TERND_RESPONDER = "127.10.0.32"  # ternd's acme.responder
WRONG_RESPONDER = "127.10.0.33"  # tern-acme-responder with another account's thumbprint
RESOLVER_ADDR = "127.10.0.53"  # unbound, pebble's -dnsserver
ADDRS = (PEBBLE_ADDR, PEBBLE50_ADDR, ZONE_ADDR, RESPONDER, TERND_RESPONDER, WRONG_RESPONDER, RESOLVER_ADDR)

ZONE = """$ORIGIN acme.test.
$TTL 5
@ SOA ns hostmaster 1 1800 900 604800 5
@ NS ns
ns A {zone}
a A {responder}
b A {responder}
nonce A {responder}
t A {ternd_responder}
wrong A {wrong}
"""

TERND_CONF = """server:
  listen: ["{zone}@53"]
zones:
  - name: acme.test
    file: {file}
acme:
  responder:
    listen: ["{ternd_responder}@80"]
    account-key: {key}
"""

class AcmeLab(PebbleLab):
    def __init__(self, workdir):
        super().__init__(workdir, ADDRS, (PEBBLE_ADDR, PEBBLE50_ADDR), tools=(ACME_ISSUE, RESPONDER_BIN, TERND))
        self.account_key = os.path.join(self.dir, "account.key")
        self.thumbprint = run([ACME_ISSUE, "--account-key", self.account_key, "--thumbprint"]).stdout.strip()
        other_key = os.path.join(self.dir, "other.key")
        self.other_thumbprint = run([ACME_ISSUE, "--account-key", other_key, "--thumbprint"]).stdout.strip()
        zone = os.path.join(self.dir, "acme.test.zone")
        with open(zone, "w") as f:
            f.write(ZONE.format(zone=ZONE_ADDR, responder=RESPONDER, ternd_responder=TERND_RESPONDER,
                                wrong=WRONG_RESPONDER))
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(zone=ZONE_ADDR, file=zone, ternd_responder=TERND_RESPONDER,
                                      key=self.account_key))
        self.ternd = self.spawn("ternd", [TERND, "-c", conf])
        self.wait_log(self.ternd, "ACME http-01 responder on")
        self.start_unbound(RESOLVER_ADDR, {"acme.test": ZONE_ADDR})
        self.responder = self.spawn("responder", [RESPONDER_BIN, "--listen", RESPONDER + ":80",
                                                  "--account-key", self.account_key])
        self.wrong = self.spawn("wrong", [RESPONDER_BIN, "--listen", WRONG_RESPONDER + ":80",
                                          "--thumbprint", self.other_thumbprint])
        self.wait_log(self.responder, "listening on")
        self.wait_log(self.wrong, "listening on")
        self.pebble = self.start_pebble("pebble", PEBBLE_ADDR, 0)
        self.pebble50 = self.start_pebble("pebble50", PEBBLE50_ADDR, 50)
        self.wait_resolver("a.acme.test", RESPONDER)

    def issue(self, pebble, names, tag, deadline=120):
        chain, key = os.path.join(self.dir, tag + ".chain.pem"), os.path.join(self.dir, tag + ".key.pem")
        r = self.ns.run([ACME_ISSUE, "--directory", pebble.directory, "--ca", self.ca,
                         "--account-key", self.account_key, "--chain", chain, "--key", key,
                         "--deadline", str(deadline)] + list(names), check=False, timeout=deadline + 30)
        return r, chain, key


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = AcmeLab(tmp_path_factory.mktemp("acme"))
    yield lab
    lab.close()


def split_chain(path, d, tag):
    """The chain's certificates into tag-0.pem (the leaf), tag-1.pem ...; their paths."""
    with open(path) as f:
        certs = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", f.read(), re.S)
    out = []
    for i, c in enumerate(certs):
        p = os.path.join(d, "%s-%d.pem" % (tag, i))
        with open(p, "w") as f:
            f.write(c)
        out.append(p)
    return out


def check_issued(lab, pebble, r, chain, key, names, tag):
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok account=https://"), r.stdout
    certs = split_chain(chain, lab.dir, tag)
    assert len(certs) >= 2, "leaf and intermediate expected"
    inter = os.path.join(lab.dir, tag + "-intermediates.pem")
    with open(inter, "w") as f:
        for c in certs[1:]:
            f.write(open(c).read())
    v = run([OPENSSL, "verify", "-CAfile", pebble.root, "-untrusted", inter, certs[0]], check=False)
    assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr
    text = run([OPENSSL, "x509", "-in", certs[0], "-noout", "-ext", "subjectAltName"]).stdout
    sans = sorted(re.findall(r"DNS:([^,\s]+)", text))
    assert sans == sorted(names), text
    # the key handed back is the certificate's
    # the validity the client reports is the leaf's
    dates = run([OPENSSL, "x509", "-in", certs[0], "-noout", "-startdate", "-enddate"]).stdout
    import calendar
    def when(key):
        t = re.search(r"^%s=(.*)$" % key, dates, re.M).group(1)
        return calendar.timegm(time.strptime(t, "%b %d %H:%M:%S %Y GMT"))
    assert " not_before=%d not_after=%d" % (when("notBefore"), when("notAfter")) in r.stdout, (r.stdout, dates)
    # the chain handed back holds certificates only
    with open(chain) as f:
        assert re.sub(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", "", f.read(), flags=re.S) == ""
    pub_cert = run([OPENSSL, "x509", "-in", certs[0], "-noout", "-pubkey"]).stdout
    pub_key = run([OPENSSL, "pkey", "-in", key, "-pubout"]).stdout
    assert pub_cert == pub_key


def validations(pebble, name):
    """Pebble's log lines of the http-01 validation GETs of name (one per perspective)."""
    return [l for l in pebble.log_text(10 ** 7).splitlines()
            if "Attempting to validate w/ HTTP: http://%s:80/.well-known/acme-challenge/" % name in l]


def replies(responder):
    """The standalone responder's log: [(status, peer)] of the replies it sent."""
    return re.findall(r"^reply (\d+) to (\S+)", responder.log_text(10 ** 7), re.M)


def test_issue_two_names_standalone_responder(lab):
    names = ["a.acme.test", "b.acme.test"]
    before = len(replies(lab.responder))
    r, chain, key = lab.issue(lab.pebble, names, "ab")
    check_issued(lab, lab.pebble, r, chain, key, names, "ab")
    # pebble's validation GETs (three per name) each got the key authorization, from pebble's address
    per_name = [len(validations(lab.pebble, n)) for n in names]
    assert per_name[0] >= 1 and per_name[0] == per_name[1], lab.pebble.log_text()
    got = [status for status, _ in replies(lab.responder)[before:]]
    assert got == ["200"] * sum(per_name), got
    assert " bad_nonces=0 " in r.stdout, r.stdout  # this pebble rejects none


def test_issue_ternd_responder(lab):
    r, chain, key = lab.issue(lab.pebble, ["t.acme.test"], "t")
    check_issued(lab, lab.pebble, r, chain, key, ["t.acme.test"], "t")


def test_issue_with_half_the_nonces_rejected(lab):
    r, chain, key = lab.issue(lab.pebble50, ["nonce.acme.test"], "nonce")
    check_issued(lab, lab.pebble50, r, chain, key, ["nonce.acme.test"], "nonce")
    # about half of some 15 requests were refused with badNonce and sent again (none: 2^-15)
    retried = int(re.search(r" bad_nonces=(\d+) ", r.stdout).group(1))
    assert retried > 0, r.stdout


def test_refused_validation_gives_problem_document(lab):
    r, chain, key = lab.issue(lab.pebble, ["wrong.acme.test"], "wrong")
    assert r.returncode == 1, r.stdout + r.stderr
    line = r.stdout.strip()
    assert line.startswith("error step=validation "), line
    assert " problem=1 type=urn:ietf:params:acme:error:unauthorized " in line, line
    assert " status=403 " in line, line
    assert not os.path.exists(chain)


def test_unknown_name_gives_problem_document(lab):
    r, _, _ = lab.issue(lab.pebble, ["nx.acme.test"], "nx")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("error step=validation ") and " problem=1 type=urn:ietf:params:acme:error:" in \
        r.stdout, r.stdout


def http_raw(addr, request, timeout=5):
    """Sends request bytes to addr:80 (inside the namespace); the whole reply until the server closes."""
    import socket
    with socket.create_connection((addr, 80), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"


@pytest.mark.parametrize("where", [RESPONDER, TERND_RESPONDER])
def test_responder_over_tcp(lab, where):
    def get(target, method="GET", extra=b""):
        req = b"%s %s HTTP/1.1\r\nHost: a.acme.test\r\n%s\r\n" % (method.encode(), target.encode(), extra)
        return lab.ns.call(http_raw, where, req)

    ok = get("/.well-known/acme-challenge/" + TOKEN)
    head, _, body = ok.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), ok
    assert b"\r\nContent-Type: text/plain\r\n" in head
    assert body == ("%s.%s" % (TOKEN, lab.thumbprint)).encode()
    h = get("/.well-known/acme-challenge/" + TOKEN, "HEAD")
    assert h.startswith(b"HTTP/1.1 200 ") and h.endswith(b"\r\n\r\n"), h
    for bad in ("<script>alert(1)</script>AAAAAAAAAAAA", "..", "../" + TOKEN, TOKEN + "/", "%2e%2e" + TOKEN,
                TOKEN + "=", "A" * 21, "A" * 129, TOKEN + "?x=<b>"):
        r = get("/.well-known/acme-challenge/" + bad)
        assert r.startswith(b"HTTP/1.1 404 "), (bad, r)
        assert b"script" not in r and b"%2e" not in r and TOKEN.encode() not in r, r
    r = get("/.well-known/acme-challenge/" + TOKEN, "POST", b"Content-Length: 0\r\n")
    assert r.startswith(b"HTTP/1.1 405 ") and b"\r\nAllow: GET, HEAD\r\n" in r, r
    r = get("/.well-known/acme-challenge/" + "A" * 2000)
    assert r.startswith(b"HTTP/1.1 414 "), r
    r = get("/", extra=b"X-Pad: " + b"x" * 9000 + b"\r\n")
    assert r.startswith(b"HTTP/1.1 431 "), r
    # the request line arriving a byte at a time is answered all the same
    import socket

    def slow():
        with socket.create_connection((where, 80), timeout=5) as s:
            for c in ("GET /.well-known/acme-challenge/%s HTTP/1.1\r\n\r\n" % TOKEN).encode():
                s.sendall(bytes([c]))
            return s.recv(4096)
    assert lab.ns.call(slow).startswith(b"HTTP/1.1 200 ")
