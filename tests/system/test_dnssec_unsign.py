"""Algorithm rollovers and turning DNSSEC off from the API, on loopback with second-scale timings:
PUT .../dnssec with another algorithm (or key scheme) rolls the zone over with signatures before
keys (RFC 6781 4.1.4), every served version judged by the zone verifiers; DELETE .../dnssec
publishes the RFC 8078 delete CDS/CDNSKEY and keeps the zone signed until the DS is gone from the
parent (a fake parent server, or POST .../ds-removed) and out of caches, then serves it unsigned;
?force=true unsigns at once only a zone whose DS was never seen; the refusals (409 naming why, 400
for a bad force). The validators' view is the lab's (test_dnssec_algroll.py, test_dnssec_unsign_lab.py)."""
import time

import dns.dnssec
import dns.message
import dns.query
import dns.rdatatype
import dns.zone
import pytest

from apilib import assert_error, keys  # noqa: F401 (fixture)
from test_dnssec_roll import Parent, ZONE, RRSETS, ternd, tern, journal
from test_dnssec_signing import axfr_text, verify

DNSSEC_TYPES = ("RRSIG", "DNSKEY", "NSEC", "NSEC3", "NSEC3PARAM", "CDS", "CDNSKEY")
FAST = {"ksk-lifetime": 0, "zsk-lifetime": 0, "dnskey-ttl": 2, "max-zone-ttl": 10, "propagation-delay": 1,
        "ds-ttl": 3, "ds-check-interval": 1}


def doc(api):
    r = api.get("/api/v1/zones/%s/dnssec" % ZONE)
    assert r.status == 200, r
    return r.json


def wait(api, pred, timeout, what):
    end = time.time() + timeout
    while True:
        d = doc(api)
        if pred(d):
            return d
        assert time.time() < end, (what, d)
        time.sleep(0.3)


def served(srv, rtype):
    q = dns.message.make_query(ZONE + ".", rtype, want_dnssec=True)
    m = dns.query.tcp(q, srv.addr, port=srv.port, timeout=5)
    return sorted(rd.to_text() for rs in m.answer if dns.rdatatype.to_text(rs.rdtype) == rtype for rd in rs)


def types_of(text):
    return {line.split()[3] for line in text.splitlines() if line.strip()}


@pytest.fixture
def srv(keys, tmp_path):  # noqa: F811
    s = ternd(keys, tmp_path, test_timings=True)
    yield s
    s.stop()
    report = s.sanitizer_report() if hasattr(s, "sanitizer_report") else None
    assert not report, report


def test_refusals(srv, keys):  # noqa: F811
    api = srv.api(keys.token("pop"))
    api.create_zone(ZONE, rrsets=RRSETS)
    serial = api.serial(ZONE)
    e = assert_error(api.delete("/api/v1/zones/%s/dnssec" % ZONE), 409)
    assert "is not signed" in e["message"], e
    assert_error(api.delete("/api/v1/zones/%s/dnssec?force=yes" % ZONE), 400, "force")
    e = assert_error(api.post("/api/v1/zones/%s/dnssec/ds-removed" % ZONE, {}), 409)
    assert "not being turned off" in e["message"], e
    assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, {"algorithm": "rsamd5"}), 400, "algorithm")
    assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, {"algorithm": 99}), 400, "algorithm")
    assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, {"keys": "three"}), 400, "keys")
    assert_error(api.delete("/api/v1/zones/nosuch.test/dnssec"), 404)
    code, out = tern(srv, keys, "zone", "unsign", ZONE)
    assert code == 1 and "409" in out and "not signed" in out, out
    assert doc(api)["state"] == "unsigned" and api.serial(ZONE) == serial


def test_force_unsigns_at_once_only_without_a_ds(srv, keys, tmp_path):  # noqa: F811
    api = srv.api(keys.token("pop"))
    api.create_zone(ZONE, rrsets=RRSETS)
    assert api.put("/api/v1/zones/%s/dnssec" % ZONE, FAST).status == 202
    wait(api, lambda d: d["state"] == "signed", 20, "signed")
    code, out = tern(srv, keys, "zone", "unsign", ZONE, "--force")
    assert code == 0 and "served unsigned now" in out, out
    assert doc(api)["state"] == "unsigned"
    text = axfr_text(srv, ZONE)
    assert not types_of(text) & set(DNSSEC_TYPES), text
    ev = journal(api)
    assert sum(1 for e in ev if e["to"] == "removed" and "forced" in e["reason"]) == 2, ev
    # signed again, new keys, with a parent: force is refused while the parent has a DS (or
    # cannot say), and once a DS was seen, even after the parent has none
    parent = Parent()
    try:
        policy = dict(FAST, parents=["127.0.0.1@%d" % parent.port])
        assert api.put("/api/v1/zones/%s/dnssec" % ZONE, policy).status == 202
        d = wait(api, lambda d: d["state"] == "signed", 20, "signed again")
        assert len(d["keys"]) == 2 and all(k["state"] != "removed" for k in d["keys"]), d
        parent.ds = [k for k in d["keys"] if k["role"] == "ksk"][0]["ds"][:1]
        e = assert_error(api.delete("/api/v1/zones/%s/dnssec?force=true" % ZONE), 409, "force")
        assert "still has 1 DS record" in e["message"] and "bogus" in e["message"], e
        parent.silent = True
        e = assert_error(api.delete("/api/v1/zones/%s/dnssec?force=true" % ZONE), 409, "force")
        assert "could not be asked" in e["message"], e
        parent.silent = False
        # a rollover's new KSK whose DS was seen: refused even when the parent shows none now
        assert api.put("/api/v1/zones/%s/dnssec" % ZONE, dict(policy, algorithm="ed25519")).status == 202
        wait(api, lambda d: any(k["ds-seen"] for k in d["keys"]) or
             [k for k in d["keys"] if k["algorithm-number"] == 15 and k["role"] == "ksk" and k["state"] == "ready"]
             and (parent.ds.__setitem__(slice(None), [k for k in d["keys"] if k["algorithm-number"] == 15
                                                      and k["role"] == "ksk"][0]["ds"][:1]) or False),
             40, "the new KSK's DS seen")
        parent.ds = []
        e = assert_error(api.delete("/api/v1/zones/%s/dnssec?force=true" % ZONE), 409, "force")
        assert "was seen at the parent" in e["message"], e
        assert doc(api)["state"] == "signed"
    finally:
        parent.close()


def test_unsign_waits_for_the_ds_to_go(srv, keys, tmp_path):  # noqa: F811
    parent = Parent()
    try:
        api = srv.api(keys.token("pop"))
        api.create_zone(ZONE, rrsets=RRSETS)
        policy = dict(FAST, parents=["127.0.0.1@%d" % parent.port])
        assert api.put("/api/v1/zones/%s/dnssec" % ZONE, policy).status == 202
        d = wait(api, lambda d: d["state"] == "signed", 20, "signed")
        ksk = [k for k in d["keys"] if k["role"] == "ksk"][0]
        parent.ds = ksk["ds"][:1]  # the registrar took the CDS
        e = assert_error(api.delete("/api/v1/zones/%s/dnssec?force=true" % ZONE), 409, "force")
        assert "still has 1 DS record" in e["message"], e
        before = api.serial(ZONE)
        r = api.delete("/api/v1/zones/%s/dnssec" % ZONE)
        assert r.status == 202 and r.json["state"] == "unsigning", r
        assert "waiting for the DS to go" in r.json["unsigning"]["waiting"], r.json
        # the delete CDS and CDNSKEY, signed; the zone stays signed and verifies
        end = time.time() + 15
        while served(srv, "CDS") != ["0 0 0 00"]:
            assert time.time() < end, served(srv, "CDS")
            time.sleep(0.2)
        assert served(srv, "CDNSKEY") == ["0 3 0 AA=="], served(srv, "CDNSKEY")
        assert api.serial(ZONE) != before
        verify(axfr_text(srv, ZONE), ZONE + ".", tmp_path, "delete-cds")
        # turning on again is refused while it goes off; asking again changes nothing
        e = assert_error(api.put("/api/v1/zones/%s/dnssec" % ZONE, FAST), 409)
        assert "being turned off" in e["message"], e
        assert api.delete("/api/v1/zones/%s/dnssec" % ZONE).status == 202
        # the parent still has the DS: nothing more happens, however long (a stall, never a break)
        srv.stop()
        srv.start()  # and a restart keeps where it stands
        api = srv.api(keys.token("pop"))
        time.sleep(5)
        d = doc(api)
        assert d["state"] == "unsigning" and d["unsigning"]["ds_gone"] is None, d
        assert served(srv, "CDS") == ["0 0 0 00"]
        assert "still has 1 DS record" in open(srv.log).read()
        # the registrar removes the DS: seen gone, then DS TTL 3 + propagation 1 later unsigned
        parent.ds = []
        d = wait(api, lambda d: d["state"] != "unsigning" or d["unsigning"]["ds_gone"], 10, "DS gone")
        gone = d["unsigning"]["ds_gone"]
        assert d["unsigning"]["unsigned_at"] == gone + 3 + 1, d
        assert "DS TTL 3 s" in d["unsigning"]["waiting"], d
        d = wait(api, lambda d: d["state"] == "unsigned", 15, "unsigned")
        assert time.time() >= gone + 4
        text = axfr_text(srv, ZONE)
        assert not types_of(text) & set(DNSSEC_TYPES), text
        assert served(srv, "DNSKEY") == []
        ev = journal(api)
        removed = [e for e in ev if e["to"] == "removed"]
        assert len(removed) == 2 and all(e["time"] >= gone + 4 for e in removed), ev
        assert "DS was gone" in removed[0]["reason"], removed
        # writes go on unsigned
        api.put_rrset(ZONE, "new", "A", 10, ["192.0.2.9"])
        assert "RRSIG" not in types_of(axfr_text(srv, ZONE))
    finally:
        parent.close()


def test_unsign_without_parents_waits_for_the_operator(srv, keys, tmp_path):  # noqa: F811
    api = srv.api(keys.token("pop"))
    api.create_zone(ZONE, rrsets=RRSETS)
    assert api.put("/api/v1/zones/%s/dnssec" % ZONE, dict(FAST, keys="csk")).status == 202
    wait(api, lambda d: d["state"] == "signed", 20, "signed")
    code, out = tern(srv, keys, "zone", "unsign", ZONE)
    assert code == 0 and "ds-removed" in out, out
    time.sleep(6)
    d = doc(api)
    assert d["state"] == "unsigning" and "POST .../dnssec/ds-removed" in d["unsigning"]["waiting"], d
    code, out = tern(srv, keys, "dnssec", "ds-removed", ZONE)
    assert code == 0, out
    wait(api, lambda d: d["state"] == "unsigned", 15, "unsigned")
    assert not types_of(axfr_text(srv, ZONE)) & set(DNSSEC_TYPES)


@pytest.mark.parametrize("to", [{"algorithm": "ed25519"}, {"keys": "csk"}])
def test_algorithm_rollover_from_the_api(srv, keys, tmp_path, to):  # noqa: F811
    """13 -> 15 (or KSK+ZSK -> CSK): new signatures first, then the new DNSKEYs, the DS swap (the
    operator's ksk-submitted), the old DNSKEYs withdrawn, then the old signatures; every served
    version verifies."""
    api = srv.api(keys.token("pop"))
    api.create_zone(ZONE, rrsets=RRSETS)
    assert api.put("/api/v1/zones/%s/dnssec" % ZONE, FAST).status == 202
    wait(api, lambda d: d["state"] == "signed", 20, "signed")
    old = {k["tag"] for k in doc(api)["keys"]}
    assert api.put("/api/v1/zones/%s/dnssec" % ZONE, dict(FAST, **to)).status == 202
    seen, phases, end = set(), [], time.time() + 60
    while True:
        d = doc(api)
        live = [k for k in d["keys"] if k["state"] != "removed"]
        if d["state"] == "signed" and live and not {k["tag"] for k in live} & old:
            break
        assert time.time() < end, d
        serial = api.serial(ZONE)
        if serial not in seen:
            seen.add(serial)
            text = axfr_text(srv, ZONE)
            verify(text, ZONE + ".", tmp_path, "s%d" % serial)
            keys_pub = {dns.dnssec.key_id(rd) for rd in dns.zone.from_text(text, ZONE + ".", relativize=False)
                        .find_rdataset(ZONE + ".", "DNSKEY")}
            signers = {int(line.split()[10]) for line in text.splitlines()
                       if line.split()[3] == "RRSIG" and line.split()[4] == "A"}
            phases.append((keys_pub <= old, signers - old != set(), signers & old != set()))
        ready = [k for k in live if k["tag"] not in old and k["state"] == "ready" and not k["ds-seen"]
                 and k["role"] != "zsk"]
        if ready:
            assert api.post("/api/v1/zones/%s/dnssec/ksk-submitted" % ZONE, {}).status == 200
        time.sleep(0.3)
    # the order of RFC 6781 4.1.4: new signatures while only old DNSKEYs are published, old
    # signatures still made after the old DNSKEYs are gone... and at the end only the new ones
    assert (True, True, True) in phases, phases
    text = axfr_text(srv, ZONE)
    verify(text, ZONE + ".", tmp_path, "end")
    algs = {line.split()[6] for line in text.splitlines() if line.split()[3] == "DNSKEY"}
    assert algs == ({"15"} if "algorithm" in to else {"13"}), text
    ev = journal(api)
    assert any("signs before its DNSKEY is published" in e["reason"] for e in ev), ev
    assert any("its signatures go" in e["reason"] for e in ev), ev
