#!/usr/bin/python3
"""Writes the fuzz key set and the seed corpora of the token and jwks harnesses next to this
script: fuzz_token_keys.h (the keys, made anew on every run: RSA rsa1 and EC P-256 ec1, whose
private keys the token harness signs with, and EC ec2, whose private key signs a few seeds and is
thrown away: the harness has only its public key),
corpus_token/ (tokens signed by those keys, and claims for the harness to sign) and corpus_jwks/.
The output is committed; run this again only to change the seeds:
/usr/bin/python3 tests/fuzz/gen_corpus_token.py  (needs python3-cryptography, and python3-dnspython
for the helpers it takes from gen_corpus.py).
These keys are for fuzzing only: nothing may trust what they sign."""
import base64
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from gen_corpus import HERE, reset, write

NOW = 1795428000  # the harness's clock: 2026-11-23T10:00:00Z (as tests/unit/test_auth.c)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64int(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return b64url(n.to_bytes(size, "big"))


def jwk_rsa(key, kid, extra=None):
    pub = key.public_key().public_numbers()
    j = {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64int(pub.n), "e": b64int(pub.e)}
    j.update(extra or {})
    return j


def jwk_ec(key, kid, extra=None):
    pub = key.public_key().public_numbers()
    j = {"kty": "EC", "crv": "P-256", "kid": kid, "x": b64int(pub.x, 32), "y": b64int(pub.y, 32)}
    j.update(extra or {})
    return j


def sign(key, data):
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def token(key, header, claims, raw_header=None, raw_claims=None):
    h = b64url(raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode())
    p = b64url(raw_claims if raw_claims is not None else json.dumps(claims, separators=(",", ":")).encode())
    data = ("%s.%s" % (h, p)).encode()
    sig = b64url(sign(key, data)) if key is not None else ""
    return "%s.%s" % (data.decode(), sig)


def claims(**extra):
    c = {"sub": "t1", "iat": NOW, "nbf": NOW, "exp": NOW + 600}
    c.update(extra)
    return c


def pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def c_string(text):
    lines = text.splitlines(True)
    return "\n".join('\t"%s"' % line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                     for line in lines)


def gen_keys():
    rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec1 = ec.generate_private_key(ec.SECP256R1())
    ec2 = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [jwk_rsa(rsa1, "rsa1"), jwk_ec(ec1, "ec1", {"alg": "ES256"}), jwk_ec(ec2, "ec2")]}
    text = json.dumps(jwks, indent=1)
    with open(os.path.join(HERE, "fuzz_token_keys.h"), "w") as f:
        f.write("/* The fuzz key set, written by gen_corpus_token.py (with the seeds it signed): the JWKS\n"
                " * the token harness verifies against, the private keys of rsa1 and ec1 it signs with and\n"
                " * ec2's public key (its private key was thrown away). For fuzzing only: nothing may trust\n"
                " * what they sign. */\n"
                "#pragma once\n\n#define FUZZ_NOW ((time_t)%d)\n\n" % NOW)
        f.write("static const char fuzz_jwks[] =\n%s;\n\n" % c_string(text + "\n"))
        f.write("static const char fuzz_rsa1_pem[] =\n%s;\n\n" % c_string(pem_private(rsa1)))
        f.write("static const char fuzz_ec1_pem[] =\n%s;\n\n" % c_string(pem_private(ec1)))
        f.write("static const char fuzz_ec2_public_pem[] =\n%s;\n" % c_string(pem_public(ec2)))
    return rsa1, ec1, ec2, jwks


SCOPES = [
    {"zones": ["example.com"], "names": ["*.dyn.example.com"]},
    {"zones": ["Example.COM.", "example.org"], "names": ["_acme-challenge.example.com", "*.example.org."],
     "types": ["TXT", "TYPE99"]},
    {"read_only": True},
    {"names": ["x\\.y.example.com", "\\*.lit.example.com", "*.\\068YN.example.com", "a\\032b.example"]},
    {"names": ["xn--bcher-kva.example", "\\200\\201.example", "*.a.b.c.d.e.f.g.h.example"]},
    {"zones": [], "names": [], "types": []},
    {"names": [".".join(["a" * 63] * 3 + ["a" * 61])]},
]


def gen_tokens(rsa1, ec1, ec2):
    d = reset("corpus_token")
    es = {"alg": "ES256", "typ": "JWT", "kid": "ec1"}
    rs = {"alg": "RS256", "typ": "JWT", "kid": "rsa1"}
    raw = {  # mode 0: the bytes after the mode byte are the token, as the Authorization header gives it
        "es256": token(ec1, es, claims()),
        "rs256": token(rsa1, rs, claims()),
        "admin": token(ec1, es, claims(role="admin")),
        "ec2-sig-unknown": token(ec2, {"alg": "ES256", "kid": "ec2"}, claims()),
        "ec1-claims-ec2-kid": token(ec1, {"alg": "ES256", "kid": "ec2"}, claims()),
        "rs256-on-ec1": token(rsa1, {"alg": "RS256", "kid": "ec1"}, claims()),
        "none": token(None, {"alg": "none", "kid": "ec1"}, claims()),
        "expired": token(ec1, es, claims(exp=NOW - 3600)),
        "not-yet": token(ec1, es, claims(nbf=NOW + 3600)),
        "crit": token(ec1, dict(es, crit=["exp"]), claims()),
        "no-sub": token(ec1, es, {"exp": NOW + 600}),
        "empty": "",
        "two-parts": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0MSJ9",
        "four-parts": "a.b.c.d",
    }
    for i, scope in enumerate(SCOPES):
        raw["scope-%d-es" % i] = token(ec1, es, claims(scope=scope))
        raw["scope-%d-rs" % i] = token(rsa1, rs, claims(scope=scope))
    for name, tok in raw.items():
        write(d, "raw-" + name, b"\x00" + tok.encode())
    # mode 1: the harness signs with ec1; header JSON, NUL, claims JSON (or claims alone: header
    # {"alg":"ES256","kid":"ec1"})
    signed = {
        "plain": claims(),
        "admin": claims(role="admin"),
        "times": {"sub": "t", "exp": NOW + 1, "nbf": NOW + 30, "iat": NOW + 30},
        "leeway": {"sub": "t", "exp": NOW - 29},
        "big-time": {"sub": "t", "exp": 253402300799},
        "sub-long": claims(sub="s" * 128),
        "sub-control": claims(sub="a\tb"),
        "role-number": claims(role=1),
        "unknown-scope-field": claims(scope={"readonly": True}),
        "scope-not-object": claims(scope=["example.com"]),
        "bad-names": claims(scope={"names": ["x.*.example", "a..b", "\\256.x", "a\\", "*", "@", "."]}),
        "bad-types": claims(scope={"types": ["TYPE0", "TYPE65536", "T X T", "1TXT", ""]}),
    }
    for i, scope in enumerate(SCOPES):
        signed["scope-%d" % i] = claims(scope=scope)
    for name, c in signed.items():
        write(d, "signed-" + name, b"\x01" + json.dumps(c).encode())
    headers = {
        "rs256-header": {"alg": "RS256", "kid": "rsa1"},
        "ec2-kid": {"alg": "ES256", "kid": "ec2"},
        "hs256": {"alg": "HS256", "kid": "ec1"},
        "no-kid": {"alg": "ES256"},
        "kid-number": {"alg": "ES256", "kid": 1},
        "extra-fields": {"alg": "ES256", "kid": "ec1", "typ": "JWT", "cty": "x", "x5u": "http://127.0.0.1/"},
    }
    for name, h in headers.items():
        write(d, "signed-header-" + name, b"\x01" + json.dumps(h).encode() + b"\x00" + json.dumps(claims()).encode())
    return len(raw) + len(signed) + len(headers)


def gen_jwks(rsa1, ec1, ec2, jwks):
    d = reset("corpus_jwks")
    e1, r1, e2 = jwk_ec(ec1, "ec1"), jwk_rsa(rsa1, "rsa1"), jwk_ec(ec2, "ec2")
    sets = {
        "fuzz-set": jwks,
        "ec1": {"keys": [e1]},
        "rsa1": {"keys": [r1]},
        "ec1-as-rsa1": {"keys": [dict(e1, kid="rsa1")]},
        "ec2-as-ec1": {"keys": [dict(e2, kid="ec1"), r1]},
        "dup-kid": {"keys": [e1, dict(e2, kid="ec1")]},
        "private": {"keys": [dict(e1, d="AQAB")]},
        "p384": {"keys": [dict(e1, crv="P-384")]},
        "off-curve": {"keys": [dict(e1, y=e2["y"])]},
        "short-x": {"keys": [dict(e1, x=e1["x"][:-2])]},
        "rsa-leading-zero": {"keys": [dict(r1, n="AA" + r1["n"])]},
        "rsa-even-e": {"keys": [dict(r1, e="AQAC")]},
        "rsa-small": {"keys": [dict(r1, n=r1["n"][:100])]},
        "oct": {"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]},
        "okp": {"keys": [{"kty": "OKP", "kid": "h", "crv": "Ed25519", "x": "AA"}]},
        "alg-mismatch": {"keys": [dict(r1, alg="ES256")]},
        "use-enc": {"keys": [dict(e1, use="enc")]},
        "empty": {"keys": []},
        "no-keys": {},
    }
    for name, j in sets.items():
        write(d, name + ".json", json.dumps(j))
    write(d, "not-json.json", '{"keys":[')
    return len(sets) + 1


if __name__ == "__main__":
    rsa1, ec1, ec2, jwks = gen_keys()
    print("corpus_token", gen_tokens(rsa1, ec1, ec2))
    print("corpus_jwks", gen_jwks(rsa1, ec1, ec2, jwks))
