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

from apilib import ApiTernd, assert_error, keys, zonefile  # noqa: F401 (fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import TERND, free_port
from xfrlib import api_primary, ixfr_diffs, wait_serial

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


def enable(api, policy=None, zone=ZONE):
    r = api.put("/api/v1/zones/%s/dnssec" % zone, policy or {})
    assert r.status == 202, r
    return wait_state(api, zone)


def test_keys_shown_without_private_material(primary):
    srv, api = primary
    doc = enable(api)
    assert doc["policy"]["algorithm"] == "ecdsap256sha256" and doc["policy"]["denial"] == "nsec"
    ksk = [k for k in doc["keys"] if k["role"] == "ksk"][0]
    zsk = [k for k in doc["keys"] if k["role"] == "zsk"][0]
    assert ksk["flags"] == 257 and zsk["flags"] == 256 and ksk["state"] == "active"
    assert ksk["dnskey"].startswith("257 3 13 ") and len(ksk["ds"]) == 2 and not zsk["ds"]
    assert ksk["ds"][0].startswith("%d 13 2 " % ksk["tag"])
    assert ksk["timestamps"]["created"] > 0 and ksk["timestamps"]["ready"] > ksk["timestamps"]["active"]
    # the DNSKEY served is the one shown; the CDS is the DS shown
    text = axfr_text(srv, ZONE)
    squeeze = lambda t: re.sub(r"\s+", "", t).lower()  # noqa: E731
    served = {(line.split()[3], squeeze(line.split(None, 4)[4])) for line in text.splitlines()}
    assert ("DNSKEY", squeeze(ksk["dnskey"])) in served and ("DNSKEY", squeeze(zsk["dnskey"])) in served
    assert ("CDNSKEY", squeeze(ksk["dnskey"])) in served and ("CDS", squeeze(ksk["ds"][0])) in served
    journal = api.get("/api/v1/zones/%s/dnssec/journal" % ZONE)
    assert journal.status == 200, journal
    events = journal.json["events"]  # newest first: each key made, then published and active
    tags = sorted(k["tag"] for k in doc["keys"])
    made = [e for e in events if e["from"] == "" and e["to"] == "generated"]
    activated = [e for e in events if e["from"] == "generated" and e["to"] == "active"]
    assert len(events) == 4 and sorted(e["tag"] for e in made) == tags == sorted(e["tag"] for e in activated)
    assert all("signing enabled by pop" == e["reason"] for e in made), events
    assert all("published and signing from serial %d" % api.serial(ZONE) == e["reason"] for e in activated), events
    assert events.index(activated[0]) < events.index(made[0])
    assert ksk["timestamps"]["published"] == ksk["timestamps"]["active"] >= ksk["timestamps"]["created"]
    assert ksk["timestamps"]["ready"] == ksk["timestamps"]["active"] + 3600 + 3600
    export = api.get("/api/v1/zones/%s/export" % ZONE)
    assert export.status == 200 and b"RRSIG" in export.body
    answers = [api.get("/api/v1/zones/%s/dnssec" % ZONE).body, journal.body, export.body,
               api.get("/api/v1/zones/%s/rrsets" % ZONE).body, open(srv.log, "rb").read()]
    for blob in answers:
        for marker in PEM_MARKERS:
            assert marker.encode() not in blob, "%r in %r" % (marker, blob[:300])
    # the store does hold them (so the checks above could fail)
    db = open(os.path.join(srv.data_dir, "tern.db"), "rb").read() + \
        (open(os.path.join(srv.data_dir, "tern.db-wal"), "rb").read()
         if os.path.exists(os.path.join(srv.data_dir, "tern.db-wal")) else b"")
    assert b"BEGIN PRIVATE KEY" in db


def test_change_is_resigned_and_ixfr_carries_only_the_delta(primary, tmp_path):
    srv, api = primary
    enable(api)
    s1 = api.serial(ZONE)
    # a new name: its A, its NSEC, its predecessor's NSEC (mx), their RRSIGs, the SOA and its RRSIG
    r = api.put("/api/v1/zones/%s/rrsets/new/A" % ZONE, {"ttl": 300, "records": ["192.0.2.77"]})
    assert r.status == 200, r
    diffs = ixfr_diffs(srv, FQDN, s1)
    assert len(diffs) == 1, diffs
    removed, added = diffs[0]
    apex, new, mx = FQDN, "new." + FQDN, "mx." + FQDN
    assert added == {(new, "A"), (new, "NSEC"), (new, "RRSIG"), (mx, "NSEC"), (mx, "RRSIG"), (apex, "RRSIG")}, added
    assert removed == {(mx, "NSEC"), (mx, "RRSIG"), (apex, "RRSIG")}, removed
    # one RRset changed in place: its records, its signatures, the SOA's; no chain record
    s2 = api.serial(ZONE)
    api.put_rrset(ZONE, "www", "A", 300, ["192.0.2.9"])
    removed, added = ixfr_diffs(srv, FQDN, s2)[0]
    www = "www." + FQDN
    assert added == {(www, "A"), (www, "RRSIG"), (apex, "RRSIG")}, added
    # a PATCH and a SOA change are re-signed too; the whole zone still verifies
    r = api.patch("/api/v1/zones/%s/rrsets" % ZONE, {"rrsets": [
        {"name": "mail", "type": "MX", "delete": True},
        {"name": "x.y", "type": "TXT", "ttl": 60, "records": ["\"patched\""]}]})
    assert r.status == 200, r
    assert api.put("/api/v1/zones/%s/soa" % ZONE, {"refresh": 1800}).status == 200
    text = axfr_text(srv, ZONE)
    assert "mail.signed.test." not in text and "x.y.signed.test." in text
    verify(text, FQDN, tmp_path)


def test_signer_types_refused_on_signed_zone(primary):
    srv, api = primary
    enable(api)
    serial = api.serial(ZONE)
    for name, rtype, records in [
            ("www", "RRSIG", ["A 13 3 300 20300101000000 20200101000000 1 signed.test. AAAA"]),
            ("www", "NSEC", ["zzz.signed.test. A"]),
            ("@", "DNSKEY", ["256 3 13 " + "A" * 88]),
            ("@", "NSEC3PARAM", ["1 0 0 -"]),
            ("@", "CDS", ["0 0 0 00"])]:
        r = api.put("/api/v1/zones/%s/rrsets/%s/%s" % (ZONE, name, rtype), {"ttl": 300, "records": records})
        if r.status == 400 and r.error.get("field") == "records" and "signed" not in r.error["message"]:
            continue  # refused by the RDATA parser before the signer sees it
        e = assert_error(r, 400)
        assert rtype in e["message"] and "signed" in e["message"], e
        r = api.delete("/api/v1/zones/%s/rrsets/%s/%s" % (ZONE, name, rtype))
        if rtype == "NSEC3PARAM":  # an NSEC zone has none to delete
            assert r.status == 404, r
        else:
            assert r.status == 400 and rtype in r.error["message"], r
    r = api.patch("/api/v1/zones/%s/rrsets" % ZONE, {"rrsets": [
        {"name": "ok", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
        {"name": "www", "type": "NSEC", "delete": True}]})
    e = assert_error(r, 400, "rrsets[1]")
    assert "www.signed.test. NSEC" in e["message"], e
    text = zonefile(ZONE, "www 300 IN A 192.0.2.1",
                    "www 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 signed.test. "
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    e = assert_error(api.post("/api/v1/zones/%s/import" % ZONE, text), 400, "body")
    assert "RRSIG" in e["message"], e
    assert api.serial(ZONE) == serial


def test_import_on_signed_zone_is_resigned(primary, tmp_path):
    srv, api = primary
    enable(api, {"denial": "nsec3"})
    # the zone as exported, plus one record: only that name (and the chain and SOA) is re-signed
    export = api.get("/api/v1/zones/%s/export" % ZONE).body.decode()
    serial = api.serial(ZONE)
    r = api.post("/api/v1/zones/%s/import" % ZONE,
                 "\n".join(line for line in export.splitlines()
                           if not re.search(r"\sIN\s+(RRSIG|NSEC3|NSEC3PARAM|DNSKEY|CDS|CDNSKEY)\s", line))
                 + "\nextra.signed.test. 300 IN A 192.0.2.88\n")
    assert r.status == 200, r
    removed, added = ixfr_diffs(srv, FQDN, serial)[0]
    owners = {o for o, _ in added}
    assert ("extra." + FQDN, "A") in added and len(owners) <= 4, sorted(added)
    assert not [t for _, t in added if t not in ("A", "RRSIG", "NSEC3")], sorted(added)
    text = zonefile(ZONE, "www 300 IN A 192.0.2.200", "imported 300 IN TXT \"yes\"")
    r = api.post("/api/v1/zones/%s/import" % ZONE, text)
    assert r.status == 200, r
    out = axfr_text(srv, ZONE)
    assert "imported.signed.test." in out and "mail.signed.test." not in out and " NSEC3 " in out
    verify(out, FQDN, tmp_path)


@pytest.mark.parametrize("body,status,field", [
    ({"algorithm": "rsasha1"}, 400, "algorithm"),
    ({"algorithm": 5}, 400, "algorithm"),
    ({"algorithm": "rsamd5"}, 400, "algorithm"),
    ({"algorithm": "dsa"}, 400, "algorithm"),
    ({"algorithm": "ecc-gost"}, 400, "algorithm"),
    ({"algorithm": 12}, 400, "algorithm"),
    ({"algorithm": "rsasha256"}, 400, "algorithm"),
    ({"algorithm": "nope"}, 400, "algorithm"),
    ({"denial": "nsec3", "nsec3-iterations": 10}, 400, "nsec3-iterations"),
    ({"denial": "nsec3", "nsec3-salt": "abcd"}, 400, "nsec3-salt"),
    ({"nsec3-opt-out": True}, 400, "nsec3-opt-out"),
    ({"denial": "nsec5"}, 400, "denial"),
    ({"rrsig-lifetime": 100, "rrsig-refresh": 80, "rrsig-jitter": 20}, 400, "rrsig-lifetime"),
    ({"rrsig-refresh": 0}, 400, "rrsig-refresh"),
    ({"dnskey-ttl": -1}, 400, "dnskey-ttl"),
    ({"dnskey-ttl": "1h"}, 400, "dnskey-ttl"),
    ({"keys": "csk", "ksk-lifetime": 1000000}, 400, "ksk-lifetime"),
    ({"zsk-lifetime": 60}, 400, "zsk-lifetime"),
    ({"parents": ["ns.example."]}, 400, "parents[0]"),
    ({"parents": ["192.0.2.1", "192.0.2.2@0"]}, 400, "parents[1]"),
    ({"policy": "nosuch"}, 400, "policy"),
    ({"colour": "blue"}, 400, "colour"),
])
def test_bad_policies_refused_with_field(primary, body, status, field):
    srv, api = primary
    serial = api.serial(ZONE)
    assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, body), status, field)
    assert api.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "unsigned"
    assert api.serial(ZONE) == serial


def test_algorithm_change_of_signed_zone_signs_before_keys(primary, tmp_path):
    """Another algorithm is an algorithm rollover (RFC 6781 4.1.4): the new keys sign every RRset
    before their DNSKEYs are published (with the default timings, a day of maximum zone TTL)."""
    srv, api = primary
    enable(api)
    r = api.put("/api/v1/zones/%s/dnssec" % ZONE, {"algorithm": "ed25519"})
    assert r.status == 202, r
    end = time.time() + 20
    while True:
        doc = api.get("/api/v1/zones/%s/dnssec" % ZONE).json
        new = [k for k in doc["keys"] if k["algorithm-number"] == 15]
        text = axfr_text(srv, ZONE)
        if doc["state"] == "signed" and len(new) == 2 and " RRSIG A 15 " in text:
            break
        assert time.time() < end, (doc, text)
        time.sleep(0.2)
    assert all(k["state"] == "generated" and k["use"] == ["sign"] for k in new), new
    dnskeys = [line.split()[6] for line in text.splitlines() if line.split()[3] == "DNSKEY"]
    assert dnskeys == ["13", "13"], dnskeys
    for rtype in ("SOA", "A", "NSEC", "DNSKEY"):  # both algorithms sign everything
        for alg in ("13", "15"):
            assert " RRSIG %s %s " % (rtype, alg) in text, (rtype, alg, text)
    verify(text, ZONE + ".", tmp_path, "algroll")
    # a policy change that keeps the keys (NSEC to NSEC3) signs the zone again
    doc = enable(api, {"algorithm": "ed25519", "denial": "nsec3"})
    assert doc["policy"]["denial"] == "nsec3" and len(doc["keys"]) == 4
    assert " NSEC3 " in axfr_text(srv, ZONE) and " NSEC " not in axfr_text(srv, ZONE)


def test_restart_serves_the_same_signatures(primary, tmp_path):
    srv, api = primary
    enable(api)
    api.put_rrset(ZONE, "www", "A", 300, ["192.0.2.5"])
    before = axfr_text(srv, ZONE)
    srv.stop()
    srv.start()
    api = srv.api(srv.keys.token("pop"))
    assert api.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "signed"
    assert sorted(axfr_text(srv, ZONE).splitlines()) == sorted(before.splitlines())  # RRSIGs byte for byte
    # the chain index was rebuilt: a change after the restart is re-signed incrementally
    s = api.serial(ZONE)
    api.put_rrset(ZONE, "after", "A", 300, ["192.0.2.6"])
    removed, added = ixfr_diffs(srv, FQDN, s)[0]
    assert ("after." + FQDN, "NSEC") in added and len(added) < 10, added
    verify(axfr_text(srv, ZONE), FQDN, tmp_path)


def rrsig_expirations(text):
    return [int(time.mktime(time.strptime(line.split()[8], "%Y%m%d%H%M%S"))) - time.timezone
            for line in text.splitlines() if line.split()[3] == "RRSIG"]


def test_short_lifetimes_are_refreshed_with_spread_expirations(primary, tmp_path):
    srv, api = primary
    policy = {"rrsig-lifetime": 24, "rrsig-refresh": 12, "rrsig-jitter": 8, "rrsig-inception-offset": 60}
    t0 = time.time()
    enable(api, policy)
    first = axfr_text(srv, ZONE)
    exp = rrsig_expirations(first)
    assert len(set(exp)) > 2, "expirations not spread: %s" % sorted(set(exp))
    assert max(exp) - min(exp) <= 8 and min(exp) >= int(t0) + 24 - 8 - 1, (min(exp) - t0, max(exp) - t0)
    signer = api.get("/api/v1/zones/%s/dnssec" % ZONE).json["signer"]
    assert signer["error"] is None and signer["retry"] is None
    assert t0 + 16 - 12 - 1 <= signer["next_refresh"] <= time.time() + 24 - 12 + 1, (signer, t0)
    # writes go on while the signer refreshes: both re-sign through the same index
    end = time.time() + 14
    i = 0
    while time.time() < end:
        i += 1
        r = api.put("/api/v1/zones/%s/rrsets/w%d/TXT" % (ZONE, i % 7), {"ttl": 60, "records": ["\"%d\"" % i]})
        assert r.status == 200, r
        time.sleep(0.3)
    now = time.time()
    text = axfr_text(srv, ZONE)
    assert 'w%d.signed.test. 60 IN TXT "%d"' % (i % 7, i) in text
    later = rrsig_expirations(text)
    # every signature was made anew before it came within refresh of its end, and the zone verifies
    assert min(later) > now + 12 - 2, (min(later) - now)
    verify(text, FQDN, tmp_path)
    log = open(srv.log).read()
    counts = [int(n) for n in re.findall(r"(\d+) name\(s\) with signatures refreshed", log)]
    names = len({line.split()[0] for line in first.splitlines() if line.split()[3] == "RRSIG"})
    assert len(counts) >= 2 and min(counts) < names, (counts, names)
    changes = api.get("/api/v1/zones/%s/changes" % ZONE).json["changes"]
    assert any(c["by"] == "dnssec-signer" for c in changes), [c["by"] for c in changes]
    metrics = api.get("/metrics", token=False).body.decode()
    assert 'tern_dnssec_zones{state="signed"} 1' in metrics, metrics
    assert 'tern_dnssec_jobs_total{job="sign"} 1' in metrics, metrics
    refreshes = int(re.search(r'tern_dnssec_jobs_total\{job="refresh"\} (\d+)', metrics).group(1))
    assert refreshes >= len(counts), (refreshes, counts)  # (one more may have come since)
    # the gauge is in whole seconds and a refresh may be due in this very second
    assert int(re.search(r"tern_dnssec_next_refresh_seconds (\d+)", metrics).group(1)) >= int(now)


def test_writes_during_background_signing_are_kept(primary, tmp_path):
    srv, api = primary
    lines = ["h%d 300 IN A 192.0.2.%d" % (i, i % 250 + 1) for i in range(3000)]
    assert api.post("/api/v1/zones/%s/import" % ZONE, zonefile(ZONE, *lines)).status == 200
    r = api.put("/api/v1/zones/%s/dnssec" % ZONE, {"denial": "nsec3"})
    assert r.status == 202, r
    r = api.put("/api/v1/zones/%s/rrsets/during/A" % ZONE, {"ttl": 300, "records": ["192.0.2.99"]})
    assert r.status == 200, r
    assert api.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "signing", "signed before the write"
    wait_state(api, ZONE, timeout=120)
    text = axfr_text(srv, ZONE)
    assert "during.signed.test. 300 IN A 192.0.2.99" in text
    verify(text, FQDN, tmp_path)


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_secondary_follows_by_ixfr_and_verifies(keys, tmp_path):  # noqa: F811
    kport = free_port()
    srv, api = api_primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % kport], ZONE, RRSETS)
    knot = KnotSecondary(tmp_path / "knot", FQDN, srv.port, port=kport, transfer=True)
    try:
        knot.start()
        log = lambda: knot.log_text()[-4000:]  # noqa: E731
        wait_serial("127.0.0.1", kport, FQDN, api.serial(ZONE), timeout=15, log=log)
        enable(api)
        wait_serial("127.0.0.1", kport, FQDN, api.serial(ZONE), timeout=15, log=log)
        api.put_rrset(ZONE, "www", "A", 300, ["192.0.2.44"])
        api.put_rrset(ZONE, "added", "TXT", 300, ["\"by ixfr\""])
        wait_serial("127.0.0.1", kport, FQDN, api.serial(ZONE), timeout=15, log=log)
        text = knot.log_text()
        assert [ln for ln in text.splitlines() if "IXFR, incoming" in ln], text[-3000:]
        lines, first = [], None
        for m in dns.query.xfr("127.0.0.1", FQDN, port=kport, timeout=10, relativize=False):
            for rs in m.answer:
                for rd in rs:
                    line = "%s %d IN %s %s" % (rs.name.to_text(), rs.ttl, dns.rdatatype.to_text(rs.rdtype),
                                               rd.to_text())
                    if line != first:
                        lines.append(line)
                    first = first or line
        served = "\n".join(lines) + "\n"
        assert "added.signed.test." in served and "192.0.2.44" in served
        verify(served, FQDN, tmp_path, "knot")
    finally:
        knot.stop()
        srv.stop()


POLICIES = """dnssec-policies:
  - name: fast
    algorithm: ed25519
    denial: nsec3
    keys: csk
    rrsig-lifetime: 864000
    parents: ["192.0.2.53@5353"]
"""


def test_named_policy_from_the_configuration(keys, tmp_path):  # noqa: F811
    os.makedirs(str(tmp_path / "ternd"), exist_ok=True)
    srv = ApiTernd(keys, workdir=str(tmp_path / "ternd"), api={"serial-policy": "increment"})
    with open(srv.config, "a") as f:
        f.write(POLICIES + "transfer:\n  allow: [127.0.0.0/8]\n")
    srv.start()
    try:
        api = srv.api(keys.token("pop"))
        api.create_zone(ZONE, rrsets=RRSETS)
        # the named policy is the base; fields given change it
        r = api.put("/api/v1/zones/%s/dnssec" % ZONE, {"policy": "fast", "rrsig-refresh": 86400})
        assert r.status == 202, r
        doc = wait_state(api, ZONE)
        p = doc["policy"]
        assert p["policy"] == "fast" and p["algorithm"] == "ed25519" and p["denial"] == "nsec3"
        assert p["keys"] == "csk" and p["rrsig-lifetime"] == 864000 and p["rrsig-refresh"] == 86400
        assert p["parents"] == ["192.0.2.53@5353"] and p["zsk-lifetime"] == 0
        assert [k["role"] for k in doc["keys"]] == ["csk"] and doc["keys"][0]["algorithm"] == "ed25519"
        verify(axfr_text(srv, ZONE), FQDN, tmp_path)
    finally:
        srv.stop()


@pytest.mark.parametrize("policy,field", [
    ("algorithm: rsasha1", "dnssec-policies[0].algorithm"),
    ("algorithm: ecc-gost", "dnssec-policies[0].algorithm"),
    ("denial: nsec3\n    nsec3-iterations: 5", "dnssec-policies[0].nsec3-iterations"),
    ("rrsig-lifetime: 100\n    rrsig-refresh: 90\n    rrsig-jitter: 10", "dnssec-policies[0].rrsig-lifetime"),
    ("keys: csk\n    ksk-lifetime: 999999", "dnssec-policies[0].ksk-lifetime"),
    ("parents: [\"ns.example.\"]", "dnssec-policies[0].parents"),
])
def test_bad_configuration_policy_refused_with_key(tmp_path, policy, field):
    cfg = tmp_path / "ternd.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1@53001"]\ndnssec-policies:\n  - name: p\n    %s\n' % policy)
    p = subprocess.run([TERND, "--check", "-c", str(cfg)], capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and field in p.stderr, p.stderr
    good = tmp_path / "good.yaml"
    good.write_text('server:\n  listen: ["127.0.0.1@53001"]\n' + POLICIES)
    p = subprocess.run([TERND, "--check", "-c", str(good)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr


def test_unloadable_keys_refuse_writes_after_restart(primary):
    srv, api = primary
    enable(api)
    serial = api.serial(ZONE)
    srv.stop()
    import sqlite3
    db = sqlite3.connect(os.path.join(srv.data_dir, "tern.db"))
    db.execute("UPDATE dnssec_keys SET private_key = CAST('-----BEGIN PRIVATE KEY-----\nbroken' AS BLOB)")
    db.commit()
    db.close()
    srv.start()
    api = srv.api(srv.keys.token("pop"))
    r = api.put("/api/v1/zones/%s/rrsets/www/A" % ZONE, {"ttl": 300, "records": ["192.0.2.3"]})
    e = assert_error(r, 500)
    assert "keys could not be loaded" in e["message"], e
    assert api.serial(ZONE) == serial
    log = open(srv.log).read()
    assert "DNSSEC keys not loaded" in log and "broken" not in log and "BEGIN" not in log, log[-2000:]
    assert "could not be loaded" in api.get("/api/v1/zones/%s/dnssec" % ZONE).json["signer"]["error"]


def test_scopes_as_for_zone_writes(primary, keys):  # noqa: F811
    srv, api = primary
    ro = srv.api(keys.token("pop", scope={"read_only": True}))
    narrow = srv.api(keys.token("pop", scope={"zones": [ZONE], "names": ["www." + ZONE]}))
    other = srv.api(keys.token("someone-else"))
    assert_error(ro.put("/api/v1/zones/%s/dnssec" % ZONE, {}), 403)
    assert_error(narrow.put("/api/v1/zones/%s/dnssec" % ZONE, {}), 403)
    assert_error(other.put("/api/v1/zones/%s/dnssec" % ZONE, {}), 404)
    assert_error(other.get("/api/v1/zones/%s/dnssec" % ZONE), 404)
    assert ro.get("/api/v1/zones/%s/dnssec" % ZONE).status == 200
    assert api.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "unsigned"
    assert api.put("/api/v1/zones/%s/lock" % ZONE, {"reason": "audit"}).status == 200
    assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, {}), 409, "zone")


def test_nsec3_change_carries_only_touched_nsec3(primary, tmp_path):
    srv, api = primary
    enable(api, {"denial": "nsec3"})
    s1 = api.serial(ZONE)
    api.put_rrset(ZONE, "fresh", "A", 300, ["192.0.2.71"])
    removed, added = ixfr_diffs(srv, FQDN, s1)[0]
    apex, fresh = FQDN, "fresh." + FQDN
    hashed = lambda o: re.match(r"^[0-9a-v]{32}\.signed\.test\.$", o) is not None  # noqa: E731
    nsec3_added = {o for o, t in added if t == "NSEC3"}
    nsec3_removed = {o for o, t in removed if t == "NSEC3"}
    # the new name's NSEC3 and its predecessor's (whose next hash changes), with their RRSIGs
    assert len(nsec3_added) == 2 and all(map(hashed, nsec3_added)), added
    assert len(nsec3_removed) == 1 and nsec3_removed < nsec3_added, removed
    assert added == {(fresh, "A"), (fresh, "RRSIG"), (apex, "RRSIG")} | \
        {(o, t) for o in nsec3_added for t in ("NSEC3", "RRSIG")}, sorted(added)
    assert removed == {(apex, "RRSIG")} | {(o, t) for o in nsec3_removed for t in ("NSEC3", "RRSIG")}, removed
    verify(axfr_text(srv, ZONE), FQDN, tmp_path)


def test_signing_that_meets_a_lock_waits_for_the_unlock(primary, tmp_path):
    srv, api = primary
    lines = ["h%d 300 IN A 192.0.2.%d" % (i, i % 250 + 1) for i in range(3000)]
    assert api.post("/api/v1/zones/%s/import" % ZONE, zonefile(ZONE, *lines)).status == 200
    assert api.put("/api/v1/zones/%s/dnssec" % ZONE, {}).status == 202
    assert api.put("/api/v1/zones/%s/lock" % ZONE, {"reason": "audit"}).status == 200
    end = time.time() + 60
    while True:
        doc = api.get("/api/v1/zones/%s/dnssec" % ZONE).json
        if doc["signer"]["error"]:
            break
        assert doc["state"] == "signing" and time.time() < end, doc
        time.sleep(0.1)
    assert "locked" in doc["signer"]["error"] and doc["signer"]["retry"] >= time.time() + 20, doc["signer"]
    metrics = api.get("/metrics", token=False).body.decode()
    assert 'tern_dnssec_zones{state="failing"} 1' in metrics and 'job="failed"} 1' in metrics, metrics
    t = time.time()
    assert api.delete("/api/v1/zones/%s/lock" % ZONE).status == 200
    wait_state(api, ZONE, timeout=20)
    assert time.time() - t < 15, "the unlock did not start the signing again"
    assert api.get("/api/v1/zones/%s/dnssec" % ZONE).json["signer"]["error"] is None
    verify(axfr_text(srv, ZONE), FQDN, tmp_path)


def test_max_zone_ttl_is_enforced(primary):
    srv, api = primary
    e = assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, {"max-zone-ttl": 3000}), 400, "max-zone-ttl")
    assert "has TTL 3600, above max-zone-ttl 3000" in e["message"], e
    assert api.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "unsigned"
    enable(api, {"max-zone-ttl": 7200})
    serial = api.serial(ZONE)
    e = assert_error(api.put("/api/v1/zones/%s/rrsets/www/A" % ZONE, {"ttl": 7201, "records": ["192.0.2.1"]}), 400)
    assert "www.signed.test. A: TTL 7201 is above the zone's DNSSEC max-zone-ttl 7200" in e["message"], e
    e = assert_error(api.put("/api/v1/zones/%s/soa" % ZONE, {"ttl": 86400}), 400)
    assert "max-zone-ttl" in e["message"], e
    e = assert_error(api.post("/api/v1/zones/%s/import" % ZONE, zonefile(ZONE, "big 9000 IN TXT \"x\"")), 400,
                     "body")
    assert "big.signed.test. TXT: TTL 9000" in e["message"], e
    assert api.serial(ZONE) == serial
    assert api.put("/api/v1/zones/%s/rrsets/www/A" % ZONE, {"ttl": 7200, "records": ["192.0.2.1"]}).status == 200
