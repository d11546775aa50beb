#!/usr/bin/python3
"""Development keys and tokens for the API: makes an EC P-256 key pair in DIR (once), writes the
public half as DIR/jwks.json for ternd, and prints a bearer token (ES256) for a tenant.

    devtoken.py DIR [--tenant T] [--admin] [--hours H] [--scope JSON] [--kid K]

Tests use the same module to mint their tokens."""
import argparse
import base64
import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(n, size):
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def ensure_keys(directory, kid="dev"):
    """The private key of DIR (made on first use) and the JWKS path; the JWKS lists it as kid."""
    os.makedirs(directory, exist_ok=True)
    pem = os.path.join(directory, "%s.key.pem" % kid)
    if not os.path.exists(pem):
        key = ec.generate_private_key(ec.SECP256R1())
        with open(pem, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(pem, 0o600)
    with open(pem, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    jwks_path = os.path.join(directory, "jwks.json")
    keys = []
    if os.path.exists(jwks_path):
        with open(jwks_path) as f:
            keys = [k for k in json.load(f)["keys"] if k.get("kid") != kid]
    pub = key.public_key().public_numbers()
    keys.append({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                 "x": b64(pub.x, 32), "y": b64(pub.y, 32)})
    with open(jwks_path, "w") as f:
        json.dump({"keys": keys}, f, indent=1)
    return key, jwks_path


def token(key, tenant, kid="dev", admin=False, hours=24.0, scope=None, **claims):
    now = int(time.time())
    payload = {"sub": tenant, "iat": now, "nbf": now - 5, "exp": now + int(hours * 3600)}
    if admin:
        payload["role"] = "admin"
    if scope is not None:
        payload["scope"] = scope
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": kid})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--tenant", default="example")
    ap.add_argument("--admin", action="store_true")
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--scope")
    ap.add_argument("--kid", default="dev")
    a = ap.parse_args()
    key, _ = ensure_keys(a.dir, a.kid)
    print(token(key, a.tenant, a.kid, a.admin, a.hours, json.loads(a.scope) if a.scope else None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
