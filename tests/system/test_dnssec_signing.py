"""Online DNSSEC signing of API zones (issue 16): a policy PUT signs the zone in the background,
the signed zone passes BIND's dnssec-verify, ldns-verify-zone and Knot's kzonecheck (each also
fails a tampered copy), keys show without private material anywhere, every later change is
re-signed and goes out by IXFR as only what changed, a Knot secondary serves it, bad policies
and the signer's types are refused naming the field, a restart keeps the same signatures, and
short signature lifetimes are refreshed with spread expirations."""
import os
import re
import shutil
import subprocess
import time

import dns.query
import dns.rdatatype
import pytest

from apilib import assert_error, keys  # noqa: F401 (fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import free_port
from xfrlib import api_primary, wait_serial

ZONE = "signed.test"
FQDN = ZONE + "."
RRSETS = [
    {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]},
    {"name": "www", "type": "AAAA", "ttl": 300, "records": ["2001:db8::1"]},
    {"name": "mail", "type": "MX", "ttl": 600, "records": ["10 mx.signed.test."]},
    {"name": "mx", "type": "A", "ttl": 600, "records": ["192.0.2.25"]},
    {"name": "sub", "type": "NS", "ttl": 3600, "records": ["ns.sub.signed.test."]},
    {"name": "ns.sub", "type": "A", "ttl": 3600, "records": ["192.0.2.53"]},
    {"name": "*.wild", "type": "TXT", "ttl": 300, "records": ["\"wild\""]},
    {"name": "a.b.ent", "type": "TXT", "ttl": 300, "records": ["\"deep\""]},
]
PEM_MARKERS = ("PRIVATE", "BEGIN ", "-----")


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip("%s is not installed" % name)
    return path


def wait_state(api, zone, state="signed", timeout=20.0):
    end = time.time() + timeout
    while True:
        r = api.get("/api/v1/zones/%s/dnssec" % zone)
        assert r.status == 200, r
        if r.json["state"] == state:
            return r.json
        assert time.time() < end, "still %s: %s" % (r.json["state"], r.json)
        time.sleep(0.1)


def axfr_text(srv, zone):
    """The zone by AXFR as zone-file text (the SOA once)."""
    lines, first = [], None
    for m in dns.query.xfr(srv.addr, zone + ".", port=srv.port, timeout=10, relativize=False):
        for rs in m.answer:
            for rd in rs:
                line = "%s %d IN %s %s" % (rs.name.to_text(), rs.ttl, dns.rdatatype.to_text(rs.rdtype), rd.to_text())
                if first is None:
                    first = line
                elif line == first:
                    continue
                lines.append(line)
    return "\n".join(lines) + "\n"


def verifiers():
    return [
        lambda path, zone: [tool("dnssec-verify"), "-o", zone, "-x", path],
        lambda path, zone: [tool("ldns-verify-zone"), path],
        lambda path, zone: [tool("kzonecheck"), "-o", zone, "-d", "on", path],
    ]


def verify(text, zone, tmp_path, name="zone"):
    """Every verifier accepts text; returns their outputs."""
    path = os.path.join(str(tmp_path), name + ".db")
    with open(path, "w") as f:
        f.write(text)
    outs = []
    for make in verifiers():
        cmd = make(path, zone)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "%s refused the signed zone:\n%s%s" % (cmd[0], p.stdout[-3000:], p.stderr[-3000:])
        outs.append(p.stdout + p.stderr)
    return outs


def tampered(text):
    """The zone with one signed A record changed (its RRSIG no longer matches)."""
    out = re.sub(r"^(www\.signed\.test\. \d+ IN A )192\.0\.2\.1$", r"\g<1>192.0.2.111", text, count=1, flags=re.M)
    assert out != text
    return out


def assert_refuse_tampered(text, zone, tmp_path):
    path = os.path.join(str(tmp_path), "tampered.db")
    with open(path, "w") as f:
        f.write(tampered(text))
    for make in verifiers():
        cmd = make(path, zone)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert p.returncode != 0, "%s accepted a tampered zone" % cmd[0]


@pytest.fixture
def primary(keys, tmp_path):  # noqa: F811
    srv, api = api_primary(keys, tmp_path / "ternd", None, ZONE, RRSETS)
    yield srv, api
    srv.stop()
    report = srv.sanitizer_report() if hasattr(srv, "sanitizer_report") else None
    assert not report, report


@pytest.mark.parametrize("policy", [{}, {"algorithm": "ed25519", "denial": "nsec3", "keys": "csk"},
                                    {"denial": "nsec3", "nsec3-opt-out": True}])
def test_enable_signs_in_background_and_verifies(primary, tmp_path, policy):
    srv, api = primary
    before = api.serial(ZONE)
    r = api.put("/api/v1/zones/%s/dnssec" % ZONE, policy)
    assert r.status == 202, r
    assert r.json["state"] == "signing"
    doc = wait_state(api, ZONE)
    assert api.serial(ZONE) != before
    roles = sorted(k["role"] for k in doc["keys"])
    assert roles == (["csk"] if policy.get("keys") == "csk" else ["ksk", "zsk"])
    text = axfr_text(srv, ZONE)
    assert " RRSIG " in text and " DNSKEY " in text
    assert (" NSEC3 " in text) == (policy.get("denial") == "nsec3")
    verify(text, FQDN, tmp_path)
    assert_refuse_tampered(text, FQDN, tmp_path)
