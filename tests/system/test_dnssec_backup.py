"""DNSSEC key backup and restore (issue 16): a signed zone's keys and policy leave one ternd sealed
under a passphrase (POST .../dnssec/backup, `tern dnssec backup`) and come back on a second ternd
with its own store (POST .../dnssec/restore, `tern dnssec restore`): the DNSKEY RRset served there
is the same, the DS at the parent still matches, and the DNSKEY RRset and the zone's data validate
with it. A wrong passphrase, a changed document, another zone's backup, an unknown version and
a zone that has keys (without "replace") are refused naming the problem, changing nothing; a
read-only or narrowed token may not make a backup; no private key reaches a log or an answer."""
import base64
import copy
import json
import os
import sqlite3
import subprocess
import sys
import time

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

import ternlib
from apilib import assert_error, keys  # noqa: F401 (fixture)
from test_cli import TERN_CLI
from xfrlib import api_primary

ZONE = "keep.test"
FQDN = dns.name.from_text(ZONE)
PASS = "correct horse battery staple"
RRSETS = [
    {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
    {"name": "mail", "type": "MX", "ttl": 600, "records": ["10 mx.keep.test."]},
]
PEM_MARKERS = (b"PRIVATE KEY", b"-----BEGIN")


def wait_signed(api, zone=ZONE, timeout=30.0, tags=None):
    end = time.time() + timeout
    while True:
        r = api.get("/api/v1/zones/%s/dnssec" % zone)
        assert r.status == 200, r
        if r.json["state"] == "signed" and (tags is None or sorted(k["tag"] for k in r.json["keys"]) == tags):
            return r.json
        assert time.time() < end, r.json
        time.sleep(0.1)


def served(srv, name, rdtype):
    """(RRset, its RRSIG RRset) as srv answers them over TCP with DO."""
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    m = dns.query.tcp(q, srv.addr, port=srv.port, timeout=5)
    rrs = m.find_rrset(m.answer, dns.name.from_text(name), dns.rdataclass.IN, rdtype)
    sigs = m.find_rrset(m.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.RRSIG, rdtype)
    return rrs, sigs


def wait_dnskeys(srv, want, timeout=30.0):
    end = time.time() + timeout
    while True:
        dnskeys, _ = served(srv, ZONE, dns.rdatatype.DNSKEY)
        if sorted(rd.to_text() for rd in dnskeys) == want:
            return
        assert time.time() < end, [rd.to_text() for rd in dnskeys]
        time.sleep(0.1)


def validate(srv, ds_texts):
    """The DNSKEY RRset served validates with its own RRSIG, a DS of ds_texts matches its KSK, and
    www A validates with it."""
    dnskeys, sigs = served(srv, ZONE, dns.rdatatype.DNSKEY)
    dns.dnssec.validate(dnskeys, sigs, {FQDN: dnskeys})
    made = {dns.dnssec.make_ds(FQDN, k, "SHA256").to_text().lower() for k in dnskeys if k.flags & 1}
    assert made & {d.lower() for d in ds_texts}, (made, ds_texts)
    a, asig = served(srv, "www." + ZONE, dns.rdatatype.A)
    dns.dnssec.validate(a, asig, {FQDN: dnskeys})


def private_pieces(srv):
    """The base64 lines of every private key srv's store holds (what must appear nowhere else)."""
    db = sqlite3.connect(os.path.join(srv.data_dir, "tern.db"))
    try:
        pems = [bytes(r[0]) for r in db.execute("SELECT private_key FROM dnssec_keys")]
    finally:
        db.close()
    assert pems and all(p.startswith(b"-----BEGIN PRIVATE KEY-----") for p in pems), pems
    return [line for p in pems for line in p.splitlines() if line and not line.startswith(b"-----")]


def assert_no_private(blobs, pieces):
    for blob in blobs:
        for marker in PEM_MARKERS:
            assert marker not in blob, (marker, blob[:200])
        for piece in pieces:
            assert piece not in blob, (piece, blob[:200])
            assert piece[:24] not in blob, (piece, blob[:200])


def b64_flip(text, i):
    """text (base64) with the octet i of what it encodes changed."""
    raw = bytearray(base64.b64decode(text))
    raw[i] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.fixture
def two(keys, tmp_path):  # noqa: F811
    """A ternd whose zone is signed, and a fresh ternd (its own store) with the same zone unsigned."""
    a, api_a = api_primary(keys, tmp_path / "a", None, ZONE, RRSETS)
    b, api_b = api_primary(keys, tmp_path / "b", None, ZONE, RRSETS)
    yield a, api_a, b, api_b
    for srv in (a, b):
        srv.stop()
        report = srv.sanitizer_report() if hasattr(srv, "sanitizer_report") else None
        assert not report, report


def sign(api, policy=None):
    r = api.put("/api/v1/zones/%s/dnssec" % ZONE, policy or {})
    assert r.status == 202, r
    return wait_signed(api)


def backup(api, passphrase=PASS):
    r = api.post("/api/v1/zones/%s/dnssec/backup" % ZONE, {"passphrase": passphrase})
    assert r.status == 200, r
    return r


def test_restore_on_a_fresh_ternd_serves_the_same_keys_and_validates(two):
    a, api_a, b, api_b = two
    state = sign(api_a, {"denial": "nsec3"})
    ds = [d for k in state["keys"] for d in k["ds"]]
    assert ds
    dnskeys_a, _ = served(a, ZONE, dns.rdatatype.DNSKEY)
    want = sorted(rd.to_text() for rd in dnskeys_a)
    pieces = private_pieces(a)
    t0 = time.time()
    r = backup(api_a)
    took = time.time() - t0
    doc = r.json
    assert doc["format"] == "tern-dnssec-backup" and doc["version"] == 1 and doc["zone"] == ZONE + "."
    enc = doc["encryption"]
    assert enc["kdf"] == "scrypt" and enc["scrypt-log2-n"] >= 17 and enc["cipher"] == "aes-256-gcm"
    assert len(base64.b64decode(enc["salt"])) == 16 and len(base64.b64decode(enc["nonce"])) == 12
    assert doc["policy"]["denial"] == "nsec3"
    assert sorted(k["tag"] for k in doc["keys"]) == sorted(k["tag"] for k in state["keys"])
    assert {k["dnskey"] for k in doc["keys"]} == {k["dnskey"] for k in state["keys"]}
    # two backups of the same keys differ (fresh salt and nonce)
    again = backup(api_a).json
    assert again["private-keys"] != doc["private-keys"] and again["encryption"]["salt"] != enc["salt"]

    answers = [r.body]
    r = api_b.post("/api/v1/zones/%s/dnssec/restore" % ZONE, {"passphrase": PASS, "backup": doc})
    assert r.status == 202, r
    answers.append(r.body)
    tags = sorted(k["tag"] for k in doc["keys"])
    state_b = wait_signed(api_b, tags=tags)
    assert state_b["policy"]["denial"] == "nsec3"
    assert sorted(d for k in state_b["keys"] for d in k["ds"]) == sorted(ds)
    wait_dnskeys(b, want)
    validate(b, ds)
    # the key times and use came along
    by_tag = {k["tag"]: k for k in state["keys"]}
    for k in state_b["keys"]:
        assert k["timestamps"] == by_tag[k["tag"]]["timestamps"] and k["use"] == by_tag[k["tag"]]["use"], k
        assert k["state"] == by_tag[k["tag"]]["state"]
    journal = api_b.get("/api/v1/zones/%s/dnssec/journal" % ZONE)
    assert any(e["reason"].startswith("restored from a backup by pop") for e in journal.json["events"]), journal.json
    # a restart of b serves the same keys from its own store
    b.stop()
    b.start()
    wait_dnskeys(b, want)
    validate(b, ds)

    answers += [api_b.get("/api/v1/zones/%s/dnssec" % ZONE).body, journal.body,
                api_b.get("/api/v1/zones/%s/export" % ZONE).body]
    logs = [open(a.log, "rb").read(), open(b.log, "rb").read()]
    assert b"backed up by pop" in logs[0] and b"restored from a backup by pop" in logs[1]
    assert_no_private(answers + logs, pieces)
    assert PASS.encode() not in b"".join(logs)
    print("backup with scrypt 2^%d took %.2f s" % (enc["scrypt-log2-n"], took))


def test_bad_restores_change_nothing(two):
    a, api_a, b, api_b = two
    sign(api_a)
    doc = backup(api_a).json
    pieces = private_pieces(a)
    other = api_b.post("/api/v1/zones", {"name": "other.test"})
    assert other.status == 201, other
    url = "/api/v1/zones/%s/dnssec/restore" % ZONE
    bodies = []

    def refused(body, status, field, contains, zone_url=url):
        r = api_b.post(zone_url, body)
        bodies.append(r.body)
        e = assert_error(r, status, field)
        assert contains in e["message"], e
        return e

    refused({"passphrase": PASS + "!", "backup": doc}, 400, "passphrase", "passphrase is wrong")
    refused({"passphrase": "too short", "backup": doc}, 400, "passphrase", "at least 12")
    refused({"backup": doc}, 400, "passphrase", "required")
    refused({"passphrase": PASS}, 400, "backup", "required")
    refused({"passphrase": PASS, "backup": doc, "extra": 1}, 400, "extra", "unknown field")
    refused({"passphrase": PASS, "backup": doc}, 409, "backup", "zone keep.test.",
            zone_url="/api/v1/zones/other.test/dnssec/restore")
    v2 = dict(doc, version=2)
    refused({"passphrase": PASS, "backup": v2}, 400, "backup", "unknown version 2")
    refused({"passphrase": PASS, "backup": dict(doc, format="other")}, 400, "backup", "format")
    # tampered: a header field (authenticated), the sealed keys, the salt, the cost
    t = copy.deepcopy(doc)
    t["keys"][0]["timestamps"]["created"] += 1
    refused({"passphrase": PASS, "backup": t}, 400, "passphrase", "changed")
    t = copy.deepcopy(doc)
    t["policy"]["rrsig-lifetime"] += 3600
    refused({"passphrase": PASS, "backup": t}, 400, "passphrase", "changed")
    t = copy.deepcopy(doc)
    t["private-keys"] = b64_flip(t["private-keys"], 5)
    refused({"passphrase": PASS, "backup": t}, 400, "passphrase", "changed")
    t = copy.deepcopy(doc)
    t["encryption"]["salt"] = b64_flip(t["encryption"]["salt"], 0)
    refused({"passphrase": PASS, "backup": t}, 400, "passphrase", "changed")
    t = copy.deepcopy(doc)
    t["encryption"]["scrypt-log2-n"] = 30
    refused({"passphrase": PASS, "backup": t}, 400, "backup", "scrypt-log2-n")
    t = copy.deepcopy(doc)
    t["private-keys"] = t["private-keys"][:-8]  # cut short: the seal does not open
    refused({"passphrase": PASS, "backup": t}, 400, "passphrase", "changed")
    t["private-keys"] = t["private-keys"][:-3]  # no longer base64
    refused({"passphrase": PASS, "backup": t}, 400, "backup", "private-keys")
    t = copy.deepcopy(doc)
    del t["keys"][0]["dnskey"]
    refused({"passphrase": PASS, "backup": t}, 400, "backup", "dnskey")
    # nothing happened on b
    assert api_b.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "unsigned"
    assert api_b.get("/api/v1/zones/other.test/dnssec").json["state"] == "unsigned"
    assert api_b.get("/api/v1/zones/%s/dnssec/journal" % ZONE).json["events"] == []

    # a zone with keys keeps them unless replace is said
    state_a = api_a.get("/api/v1/zones/%s/dnssec" % ZONE).json
    sign(api_b)
    before = api_b.get("/api/v1/zones/%s/dnssec" % ZONE).json
    serial = api_b.serial(ZONE)
    refused({"passphrase": PASS, "backup": doc}, 409, "replace", "replace")
    refused({"passphrase": PASS, "backup": doc, "replace": "yes"}, 400, "replace", "true or false")
    assert api_b.get("/api/v1/zones/%s/dnssec" % ZONE).json["keys"] == before["keys"]
    assert api_b.serial(ZONE) == serial
    r = api_b.post(url, {"passphrase": PASS, "backup": doc, "replace": True})
    assert r.status == 202, r
    tags = sorted(k["tag"] for k in state_a["keys"])
    wait_signed(api_b, tags=tags)
    dnskeys_a, _ = served(a, ZONE, dns.rdatatype.DNSKEY)
    wait_dnskeys(b, sorted(rd.to_text() for rd in dnskeys_a))
    validate(b, [d for k in state_a["keys"] for d in k["ds"]])
    events = api_b.get("/api/v1/zones/%s/dnssec/journal" % ZONE).json["events"]
    old = {k["tag"] for k in before["keys"]}
    assert {e["tag"] for e in events if e["to"] == "removed"} == old, events
    assert_no_private(bodies + [open(b.log, "rb").read()], pieces)


def test_backup_needs_a_token_that_may_write_the_zone(two, keys):  # noqa: F811
    a, api_a, b, api_b = two
    url = "/api/v1/zones/%s/dnssec/backup" % ZONE
    e = assert_error(api_a.post(url, {"passphrase": PASS}), 409, "zone")
    assert "not signed" in e["message"], e
    sign(api_a)
    ro = a.api(keys.token("pop", scope={"read_only": True}))
    narrow = a.api(keys.token("pop", scope={"zones": [ZONE], "names": ["www." + ZONE]}))
    other = a.api(keys.token("someone-else"))
    assert_error(ro.post(url, {"passphrase": PASS}), 403, "zone")
    assert_error(narrow.post(url, {"passphrase": PASS}), 403, "zone")
    assert_error(other.post(url, {"passphrase": PASS}), 404, "zone")
    assert_error(ro.post("/api/v1/zones/%s/dnssec/restore" % ZONE, {"passphrase": PASS, "backup": {}}), 403)
    assert_error(api_a.post(url, {"passphrase": "short"}), 400, "passphrase")
    assert_error(api_a.post(url, {}), 400, "passphrase")
    assert_error(api_a.post(url, {"passphrase": PASS, "cost": 10}), 400, "cost")
    # an admin of another tenant may; a locked zone may still be backed up
    admin = a.api(keys.token("ops", admin=True))
    assert api_a.put("/api/v1/zones/%s/lock" % ZONE, {"reason": "audit"}).status == 200
    assert admin.post(url, {"passphrase": PASS}).status == 200
    assert api_a.post(url, {"passphrase": PASS}).status == 200


def test_cli_backup_and_restore(two, keys, tmp_path):  # noqa: F811
    a, api_a, b, api_b = two
    state = sign(api_a, {"keys": "csk", "algorithm": "ed25519"})
    passfile = tmp_path / "pass"
    passfile.write_text(PASS + "\n")
    out = tmp_path / "out.json"

    def tern(srv, *args, stdin=None):
        env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % srv.api_port, TERN_TOKEN=keys.token("pop"))
        return subprocess.run([TERN_CLI] + list(args), capture_output=True, env=env, timeout=60, input=stdin)

    p = tern(a, "dnssec", "backup", ZONE, "--passphrase-file", str(passfile))
    assert p.returncode == 0, p.stderr
    out.write_bytes(p.stdout)
    doc = json.loads(p.stdout)
    assert doc["format"] == "tern-dnssec-backup" and [k["role"] for k in doc["keys"]] == ["csk"]
    assert b"1 DNSSEC key backed up" in p.stderr
    p = tern(b, "dnssec", "restore", ZONE, "--passphrase-file", str(passfile), stdin=out.read_bytes())
    assert p.returncode == 0, p.stderr
    assert b"restored" in p.stdout
    wait_signed(api_b, tags=[state["keys"][0]["tag"]])
    dnskeys_a, _ = served(a, ZONE, dns.rdatatype.DNSKEY)
    wait_dnskeys(b, sorted(rd.to_text() for rd in dnskeys_a))
    validate(b, state["keys"][0]["ds"])
    # again: the zone has keys now; --replace, and a wrong passphrase
    p = tern(b, "dnssec", "restore", ZONE, "--passphrase-file", str(passfile), "--file", str(out))
    assert p.returncode == 1 and b"field replace, HTTP 409" in p.stderr, p.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    p = tern(b, "dnssec", "restore", ZONE, "--passphrase-file", str(wrong), "--file", str(out), "--replace")
    assert p.returncode == 1 and b"passphrase is wrong" in p.stderr, p.stderr
    p = tern(b, "dnssec", "restore", ZONE, "--passphrase-file", str(passfile), "--file", str(out), "--replace")
    assert p.returncode == 0, p.stderr
    p = tern(a, "dnssec", "backup", ZONE)
    assert p.returncode == 2 and b"--passphrase-file" in p.stderr, p.stderr
    assert_no_private([out.read_bytes(), open(a.log, "rb").read(), open(b.log, "rb").read()], private_pieces(a))


def test_restore_of_a_backup_made_by_another_implementation(two):
    """A backup sealed by python3-cryptography (tests/fuzz/gen_corpus.py's backup_doc(), written
    from the format's description) restores: the format is what docs/openapi.json says."""
    sys.path.insert(0, os.path.join(ternlib.ROOT, "tests", "fuzz"))
    import gen_corpus
    from cryptography.hazmat.primitives.asymmetric import ec
    a, api_a, b, api_b = two
    doc = gen_corpus.backup_doc([("ksk", ec.generate_private_key(ec.SECP256R1())),
                                 ("zsk", ec.generate_private_key(ec.SECP256R1()))], zone=ZONE + ".", log2n=12,
                                when=int(time.time()) - 60)
    r = api_b.post("/api/v1/zones/%s/dnssec/restore" % ZONE,
                   {"passphrase": gen_corpus.BACKUP_PASS.decode(), "backup": doc})
    assert r.status == 202, r
    wait_signed(api_b, tags=sorted(k["tag"] for k in doc["keys"]))
    wait_dnskeys(b, sorted(dns.rdata.from_text("IN", "DNSKEY", k["dnskey"]).to_text() for k in doc["keys"]))
    dnskeys, sigs = served(b, ZONE, dns.rdatatype.DNSKEY)
    dns.dnssec.validate(dnskeys, sigs, {FQDN: dnskeys})
    # and back out of b: the same document but for the seal, which opens with the same passphrase
    out = backup(api_b, gen_corpus.BACKUP_PASS.decode()).json
    assert [k["dnskey"].replace(" ", "") for k in out["keys"]] == [k["dnskey"].replace(" ", "") for k in doc["keys"]]
    assert out["policy"] == doc["policy"]
