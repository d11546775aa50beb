"""An algorithm rollover from the API, judged by real validators (the lab of rolllab.py): corp.lab.,
signed online with ECDSA P-256 (13) and a DS at lab., is switched to Ed25519 (15) by PUT
.../dnssec. The plan signs with both algorithms before the new DNSKEYs are published (RFC 6781
4.1.4), the test as registrar copies the new CDS into lab.'s DS, ternd's DS check asks Knot, the
old DNSKEYs go and then the old signatures. Meanwhile Unbound, BIND named and Knot Resolver are
asked every second: every answer must be the expected NOERROR/NXDOMAIN with AD (none SERVFAIL);
every new serial passes three zone verifiers; delv validates fully at the end, through the new
algorithm only. The waits are read back from the key journal."""
import re
import threading
import time

import dnsseclab as L
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)
from rolllab import (DNSKEY_TTL, DS_TTL, MAX_ZONE_TTL, POLICY, PROPAGATION, ZONE, Corp, Watcher, answered,
                     record)

ROLL_TIMEOUT = 200  # the plan's waits add up to about 70 s; signings, caches and the DS check the rest


def test_algorithm_rollover_13_to_15_validates_throughout(lab, keys, tmp_path):  # noqa: F811
    policy = dict(POLICY, **{"zsk-lifetime": 0, "ksk-lifetime": 0, "algorithm": "ecdsap256sha256"})
    corp = Corp(lab, keys, policy)
    first = sorted(rd.to_text() for rd in lab.rrset(L.CORP_ADDR, ZONE, "CDS"))
    lab.set_ds(lab.lab_knot, ZONE, first, ttl=DS_TTL)
    resolvers = L.start_resolvers(lab, "algroll")
    try:
        L.wait_answers(lab, "www.corp.lab.", "A", lambda a: a.rcode == "NOERROR" and a.ad, 30)
        watcher = Watcher(lab, corp, tmp_path)
        watcher.last_cds = first
        watcher.start()
        done, end = threading.Event(), [None]

        def rolled():
            """All keys 15, the old ones removed; then 15 s more for the caches."""
            if end[0] is None:
                live = [k for k in corp.dnssec()["keys"] if k["state"] != "removed"]
                if live and all(k["algorithm-number"] == 15 and k["state"] == "active" for k in live):
                    end[0] = time.time() + 15
            return done.is_set() or (end[0] is not None and time.time() >= end[0])

        timer = threading.Timer(ROLL_TIMEOUT, done.set)
        timer.start()
        started = time.time()
        r = corp.call("PUT", "/api/v1/zones/%s/dnssec" % ZONE, dict(policy, algorithm="ed25519"))
        assert r.status == 202, r
        try:
            answers = record(lab, rolled)
        finally:
            timer.cancel()
            watcher.stop()
        assert end[0] is not None, ("the rollover did not finish in %d s" % ROLL_TIMEOUT, corp.dnssec(),
                                    corp.proc.log_text(3000))
        bad = [(t - started, r, q, str(a)) for t, r, q, a in answers if not answered(q, a) or a.ad != q[3]]
        servfail = sum(1 for *_, a in answers if a.rcode == "SERVFAIL")
        assert not bad and not servfail, "%d of %d answers wrong (SERVFAIL %d); first: %s\n%s" % (
            len(bad), len(answers), servfail, bad[:3], corp.proc.log_text(3000))
        assert not watcher.errors, watcher.errors[:5]
        assert len(watcher.verified) >= 5, watcher.verified
        # the DS swap went through the registrar: a DS RRset of algorithm 15 only
        assert watcher.registered and all(d.split()[1] == "15" for d in watcher.registered[-1][1]), \
            watcher.registered
        algs = {rd.algorithm for rd in lab.rrset(L.CORP_ADDR, ZONE, "DNSKEY")}
        assert algs == {15}, algs
        for res in L.RESOLVERS:
            out = L.delv(lab, res, "www.corp.lab.", "A")
            assert "; fully validated" in out and re.search(r"RRSIG\s+A 15 ", out), (res, out)
        check_order(corp.journal(), watcher)
    finally:
        for p in list(resolvers.values()) + [corp.proc]:
            lab.stop(p)


def check_order(events, watcher):
    """RFC 6781 4.1.4 from the key journal: the new keys signed a maximum zone TTL (+ propagation)
    before their DNSKEYs were published; the new KSK was active only after its DS was registered;
    the old keys' DNSKEYs went a DS TTL after that, their signatures a DNSKEY TTL later (the
    withdrawal of a DNSKEY keeps the key's state, so it is not journaled: the sum is checked)."""
    by_tag = {}
    for e in events:
        by_tag.setdefault(e["tag"], []).append(e)
    new = [t for t, ev in by_tag.items() if any("signs before its DNSKEY is published" in e["reason"] for e in ev)]
    assert len(new) == 2, events
    for t in new:
        ev = {e["to"]: e for e in by_tag[t]}
        assert ev["published"]["time"] - ev["generated"]["time"] >= MAX_ZONE_TTL + PROPAGATION, ev
    old = [t for t, ev in by_tag.items() if t not in new]
    assert len(old) == 2, events
    new_ksk_active = max(e["time"] for t in new for e in by_tag[t] if e["to"] == "active")
    registered = [rt for rt, ds in watcher.registered if all(d.split()[1] == "15" for d in ds)]
    assert registered and registered[0] <= new_ksk_active + 1, (registered, events)
    for t in old:
        ev = {e["to"]: e for e in by_tag[t]}
        assert ev["retired"]["time"] >= new_ksk_active - 1, ev
        # (the DNSKEY's withdrawal in between keeps the state: it is not journaled)
        assert ev["removed"]["time"] - ev["retired"]["time"] >= DS_TTL + DNSKEY_TTL + 2 * PROPAGATION, by_tag[t]
        assert "its signatures go" in ev["removed"]["reason"], ev
