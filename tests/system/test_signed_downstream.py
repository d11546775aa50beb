"""Signed downstream (docs/signed-downstream.md): a zone whose secondaries sign it, as the seed's
design had Knot at each PoP sign with its own keys. Tern does not sign it and holds no DNSSEC
records for it: its API refuses them (RRset writes, imports, creation), refuses to sign it (and to
mark a zone it signs, or one holding DNSSEC records), and exports and transfers it unsigned. In the
DNSSEC lab, Knot as a secondary of ternd with dnssec-signing on (the docs' settings) gets corp.lab.
by IXFR, signs it, and an Unbound whose way to corp.lab. is Knot validates it (AD) from the DS
keymgr gives, put into lab.; a change made through Tern's API shows up signed at Knot."""
import os
import re
import subprocess
import time

import dns.query
import dns.rdatatype
import pytest

import dnsseclab as L
from apilib import assert_error, keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)
from secondarylab import SECONDARIES, STUBS, ZONE, KnotSec, Primary, add_addresses, stub_unbound, wait_validated
from ternlib import TERND, Ternd, wait_log
from xfrlib import api_primary

DNSSEC_TYPES = ("DNSKEY", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "CDS", "CDNSKEY")


def axfr_types(srv, zone):
    """The set of RR types in zone's AXFR from srv."""
    return {dns.rdatatype.to_text(rs.rdtype)
            for m in dns.query.xfr(srv.addr, zone, port=srv.port, timeout=10, relativize=False) for rs in m.answer}


@pytest.fixture
def primary(keys, tmp_path):  # noqa: F811
    srv, api = api_primary(keys, tmp_path / "ternd", None, "plain.test", [
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    yield srv, api
    srv.stop()
    report = srv.sanitizer_report()
    assert not report, report


def test_flag_on_create_and_dnssec_records_refused(primary):
    srv, api = primary
    r = api.post("/api/v1/zones", {"name": "down.test", "signed_downstream": True,
                                   "rrsets": [{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.7"]}]})
    assert r.status == 201 and r.json["signed_downstream"] is True, r
    assert api.get("/api/v1/zones/down.test").json["signed_downstream"] is True
    assert api.get("/api/v1/zones/plain.test").json["signed_downstream"] is False
    r = api.get("/api/v1/zones/down.test/dnssec")
    assert r.status == 200 and r.json["state"] == "signed-downstream" and r.json["keys"] == [], r
    assert_error(api.post("/api/v1/zones", {"name": "bad.test", "signed_downstream": "yes"}), 400,
                 "signed_downstream")
    # Tern does not sign it
    r = api.put("/api/v1/zones/down.test/dnssec", {})
    assert_error(r, 409, "signed_downstream", "signed downstream")
    assert api.get("/api/v1/zones/down.test/dnssec").json["state"] == "signed-downstream"
    # DNSSEC records are the secondaries': each type refused, naming owner and type, nothing changed
    serial = api.serial("down.test")
    samples = {"DNSKEY": "257 3 13 " + "A" * 88, "CDS": "12345 13 2 " + "AB" * 32,
               "NSEC": "www.down.test. A RRSIG NSEC", "NSEC3PARAM": "1 0 0 -",
               "RRSIG": "A 13 3 300 20300101000000 20200101000000 12345 down.test. " + "A" * 88}
    for rtype, rdata in samples.items():
        r = api.put("/api/v1/zones/down.test/rrsets/www/%s" % rtype, {"ttl": 300, "records": [rdata]})
        assert_error(r, 400, None, "signed downstream")
        assert "www.down.test. %s" % rtype in r.error["message"], r
    r = api.patch("/api/v1/zones/down.test/rrsets", {"rrsets": [
        {"name": "ok", "type": "A", "ttl": 300, "records": ["192.0.2.8"]},
        {"name": "@", "type": "CDNSKEY", "ttl": 300, "records": ["257 3 13 " + "A" * 88]}]})
    assert_error(r, 400, "rrsets[1]", "CDNSKEY")
    text = api.get("/api/v1/zones/down.test/export").body.decode()
    r = api.post("/api/v1/zones/down.test/import",
                 text + "www.down.test. 300 IN RRSIG %s\n" % samples["RRSIG"])
    assert_error(r, 400, None, "RRSIG")
    assert api.serial("down.test") == serial
    # creating one from a zone file holding DNSSEC records
    r = api.post("/api/v1/zones", {"name": "down2.test", "signed_downstream": True, "zonefile": (
        "$ORIGIN down2.test.\n@ 300 SOA ns1 hostmaster 1 3600 600 86400 300\n@ 300 NS ns1\nns1 300 A 192.0.2.1\n"
        "@ 300 DNSKEY 257 3 13 %s\n" % ("A" * 88))})
    assert_error(r, 400, "zonefile", "DNSKEY")
    assert api.get("/api/v1/zones/down2.test").status == 404
    # served, exported and transferred unsigned, and plain writes work
    api.put_rrset("down.test", "new", "A", 300, ["192.0.2.9"])
    assert not axfr_types(srv, "down.test.") & set(DNSSEC_TYPES)
    text = api.get("/api/v1/zones/down.test/export").body.decode()
    assert "new" in text and not any(re.search(r"\s%s\s" % t, text) for t in DNSSEC_TYPES), text
    # the flag survives a restart
    srv.stop()
    srv.start()
    api.close()
    assert api.get("/api/v1/zones/down.test").json["signed_downstream"] is True
    assert_error(api.put("/api/v1/zones/down.test/dnssec", {}), 409, "signed_downstream")


def test_flag_set_and_cleared_and_conflicts(primary):
    srv, api = primary
    # marked later, then Tern may sign it once it is cleared again
    r = api.put("/api/v1/zones/plain.test/signed-downstream")
    assert r.status == 200 and r.json["signed_downstream"] is True, r
    assert_error(api.put("/api/v1/zones/plain.test/dnssec", {}), 409, "signed_downstream")
    r = api.delete("/api/v1/zones/plain.test/signed-downstream")
    assert r.status == 200 and r.json["signed_downstream"] is False, r
    assert api.put("/api/v1/zones/plain.test/dnssec", {}).status == 202
    # a zone Tern signs cannot be marked
    r = api.put("/api/v1/zones/plain.test/signed-downstream")
    assert_error(r, 409, "signed_downstream", "signed by Tern")
    assert api.get("/api/v1/zones/plain.test").json["signed_downstream"] is False
    # nor one holding DNSSEC records (signed elsewhere and imported as it is)
    r = api.post("/api/v1/zones", {"name": "presigned.test", "zonefile": (
        "$ORIGIN presigned.test.\n@ 300 SOA ns1 hostmaster 1 3600 600 86400 300\n@ 300 NS ns1\n"
        "ns1 300 A 192.0.2.1\n@ 300 DNSKEY 257 3 13 %s\n" % ("A" * 88))})
    assert r.status == 201, r
    r = api.put("/api/v1/zones/presigned.test/signed-downstream")
    assert_error(r, 409, "signed_downstream", "presigned.test. DNSKEY")
    # locked zones and unknown zones
    assert api.put("/api/v1/zones/presigned.test/lock", {"reason": "audit"}).status == 200
    assert_error(api.put("/api/v1/zones/presigned.test/signed-downstream"), 409, "zone", "locked")
    assert api.put("/api/v1/zones/nothere.test/signed-downstream").status == 404


FILE_ZONE = """$ORIGIN file.test.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.2
"""


def test_zone_file_signed_downstream(tmp_path):
    """zones[].signed-downstream: an unsigned file is served; one holding DNSSEC records is not
    (the log names owner and type), and at a reload the version before stays served; with a
    dnssec-policy or a primary the configuration is refused naming the key."""
    path = tmp_path / "file.test.zone"
    path.write_text(FILE_ZONE)
    srv = Ternd({"file.test": str(path)}, workdir=str(tmp_path))
    with open(srv.config, "a") as f:
        f.write("    signed-downstream: true\n")
    srv.start()
    try:
        assert srv.query("www.file.test.").answer, srv.log_text()
        path.write_text(FILE_ZONE.replace("www A 192.0.2.2", "www A 192.0.2.3") +
                        "www RRSIG A 13 3 300 20300101000000 20200101000000 12345 file.test. %s\n" % ("A" * 88))
        srv.reload()
        wait_log(srv.log_text, "www.file.test. RRSIG: a zone signed downstream holds no RRSIG records")
        assert "(previous version still served)" in srv.log_text()
        assert srv.query("www.file.test.").answer[0][0].address == "192.0.2.2"
    finally:
        assert srv.stop() == 0, srv.log_text()
    for extra, why in (("    dnssec-policy: default\n", "takes no dnssec-policy"),
                       ("    primary: [\"127.0.0.1@53\"]\n", "only a zone file")):
        cfg = tmp_path / "bad.yaml"
        cfg.write_text('server:\n  listen: ["127.0.0.1@53001"]\nzones:\n  - name: file.test\n'
                       '    file: "%s"\n    signed-downstream: true\n%s' % (path, extra))
        p = subprocess.run([TERND, "--check", "-c", str(cfg)], capture_output=True, text=True, timeout=10)
        assert p.returncode != 0 and "zones[0].signed-downstream" in p.stderr and why in p.stderr, p.stderr


@pytest.mark.parametrize("nsec3", [False, True], ids=["nsec", "nsec3"])
def test_knot_signs_what_tern_serves_unsigned(lab, keys, tmp_path, nsec3):  # noqa: F811
    add_addresses(lab, [SECONDARIES["knot"], STUBS["knot"]])
    primary = Primary(lab, keys, [SECONDARIES["knot"]], zone={"signed_downstream": True})
    procs = [primary.proc]
    try:
        serial = primary.serial()
        knot = KnotSec(lab, sign=True, nsec3=nsec3)
        procs.append(knot.proc)
        # Knot signs what it got: its own DNSKEYs, signatures, the chain, and its own serial
        deadline = time.time() + 30
        while knot.serial() is None or lab.rrset(knot.addr, ZONE, "DNSKEY") is None:
            assert knot.proc.alive() and time.time() < deadline, knot.log_text()[-3000:]
            time.sleep(0.2)
        # the registrar: the DS keymgr gives for Knot's KSK into lab.
        ds = []
        for line in knot.keymgr(ZONE, "ds").splitlines():
            f = line.split()
            if len(f) >= 6 and f[1] == "DS" and f[4] == "2":
                ds.append(" ".join(f[2:5] + ["".join(f[5:])]).lower())
        assert ds and sorted(ds) == lab.child_ds(knot.addr, ZONE), "keymgr ds: %s" % ds
        lab.set_ds(lab.lab_knot, ZONE, sorted(ds))
        stub = stub_unbound(lab, "knot-signer-%s" % ("nsec3" if nsec3 else "nsec"), STUBS["knot"], knot.addr)
        procs.append(stub)
        # Tern serves and transfers it unsigned; Knot's copy verifies
        assert not {t for t in DNSSEC_TYPES if re.search(r"\sIN\s%s\s" % t, lab.axfr(L.CORP_ADDR, ZONE))}
        path = os.path.join(str(tmp_path), "knot-signed.zone")
        text, out = L.verify_served_zone(lab, knot.addr, ZONE, path)
        assert not {tool: o for tool, (rc, o) in out.items() if rc != 0}, out
        assert ("NSEC3PARAM" in text) == nsec3, text[:2000]
        wait_validated(lab, STUBS["knot"], "www.corp.lab.", "A", "NOERROR", "192.0.2.31")
        wait_validated(lab, STUBS["knot"], "nx.corp.lab.", "A", "NXDOMAIN")
        wait_validated(lab, STUBS["knot"], "www.corp.lab.", "MX", "NOERROR")
        # a change through Tern's API: by IXFR to Knot, which signs it
        before = knot.own_log_counts()
        new = primary.patch([{"name": "pop-new", "type": "A", "ttl": 10, "records": ["192.0.2.77"]},
                             {"name": "www", "type": "A", "ttl": 10, "records": ["192.0.2.78"]}])
        assert new != serial
        wait_validated(lab, STUBS["knot"], "pop-new.corp.lab.", "A", "NOERROR", "192.0.2.77")
        wait_validated(lab, STUBS["knot"], "www.corp.lab.", "A", "NOERROR", "192.0.2.78")
        after = knot.own_log_counts()
        assert after[0] > before[0] and after[1] == before[1], (before, after, knot.log_text()[-3000:])
        assert "DNSSEC, incrementally signed" in knot.log_text(), knot.log_text()[-3000:]
        assert re.search(r"transfer: corp\.lab\. IXFR to %s: serial %d -> %d" % (
            re.escape(knot.addr), serial, new), primary.proc.log_text(10 ** 7)), primary.proc.log_text(4000)
        _, out = L.verify_served_zone(lab, knot.addr, ZONE, path + ".2")
        assert not {tool: o for tool, (rc, o) in out.items() if rc != 0}, out
    finally:
        failed = []
        for p in reversed(procs):
            alive = p.alive()
            rc = lab.stop(p)
            if not alive or (rc != 0 and p.name.startswith("ternd")):
                failed.append("%s %s with %s:\n%s" % (p.name, "stopped" if alive else "died", rc, p.log_text(3000)))
        assert not failed, "\n".join(failed)
