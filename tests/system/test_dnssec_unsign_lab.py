"""Turning DNSSEC off, judged by real validators (the lab of rolllab.py): corp.lab., signed online
with a DS at lab., gets DELETE .../dnssec. ternd publishes the RFC 8078 delete CDS/CDNSKEY and
keeps signing; the test as registrar removes the DS from lab. on seeing it; ternd's DS check sees
it gone at Knot, waits the DS TTL and propagation delay, then serves corp.lab. without a DNSSEC
record. Unbound, BIND named and Knot Resolver are asked every second throughout: never a SERVFAIL
or a wrong answer; AD on every answer until the registrar removed the DS, none once the zone is
unsigned and its DS out of caches; the zone served without RRSIG, DNSKEY, NSEC or CDS at the end."""
import time

import dnsseclab as L
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)
from rolllab import DELETE_CDS, DS_TTL, POLICY, PROPAGATION, ZONE, Corp, Watcher, answered, record

AFTER = 25  # seconds asked after the zone went unsigned (every cached record of it has expired)


def test_unsigning_never_breaks_validation(lab, keys, tmp_path):  # noqa: F811
    policy = dict(POLICY, **{"zsk-lifetime": 0, "ksk-lifetime": 0})
    corp = Corp(lab, keys, policy)
    first = sorted(rd.to_text() for rd in lab.rrset(L.CORP_ADDR, ZONE, "CDS"))
    lab.set_ds(lab.lab_knot, ZONE, first, ttl=DS_TTL)
    resolvers = L.start_resolvers(lab, "unsign")
    try:
        L.wait_answers(lab, "www.corp.lab.", "A", lambda a: a.rcode == "NOERROR" and a.ad, 30)
        watcher = Watcher(lab, corp, tmp_path)
        watcher.last_cds = first
        watcher.start()
        state = {"unsigned": None}
        deadline = time.time() + 150

        def finished():
            if state["unsigned"] is None and corp.dnssec()["state"] == "unsigned":
                state["unsigned"] = time.time()
            return time.time() > deadline or (state["unsigned"] and time.time() > state["unsigned"] + AFTER)

        started = time.time()
        r = corp.call("DELETE", "/api/v1/zones/%s/dnssec" % ZONE)
        assert r.status == 202 and r.json["state"] == "unsigning", r
        try:
            answers = record(lab, finished)
        finally:
            watcher.stop()
        assert state["unsigned"], ("not unsigned in time", corp.dnssec(), corp.proc.log_text(3000))
        assert not watcher.errors, watcher.errors[:5]
        # the registrar saw the delete CDS and removed the DS; the zone went unsigned a DS TTL later
        removed = [t for t, cds in watcher.registered if cds == [DELETE_CDS]]
        assert len(removed) == 1, watcher.registered
        assert state["unsigned"] - removed[0] >= DS_TTL + PROPAGATION, (state, removed)
        assert lab.rrset(L.LAB_ADDR, ZONE, "DS") is None
        wrong = [(t - started, r, q, str(a)) for t, r, q, a in answers if not answered(q, a)]
        servfail = sum(1 for *_, a in answers if a.rcode == "SERVFAIL")
        assert not wrong and not servfail, "%d of %d answers wrong (SERVFAIL %d); first: %s\n%s" % (
            len(wrong), len(answers), servfail, wrong[:3], corp.proc.log_text(3000))
        # AD while the DS was at the parent; none once unsigned and the DS out of caches
        before = [(t - started, r, q, str(a)) for t, r, q, a in answers if t < removed[0] and a.ad != q[3]]
        assert not before, before[:3]
        late = [(t - started, r, q, str(a)) for t, r, q, a in answers
                if t > state["unsigned"] + 12 and a.ad]
        assert not late, late[:3]
        assert any(t > state["unsigned"] + 12 for t, *_ in answers)
        assert watcher.verified and watcher.unsigned, (watcher.verified, watcher.unsigned)
        for rtype in ("DNSKEY", "CDS", "CDNSKEY", "NSEC"):
            assert lab.rrset(L.CORP_ADDR, ZONE, rtype) is None, rtype
        text = lab.axfr(L.CORP_ADDR, ZONE)
        assert not any(t in text for t in ("RRSIG", "DNSKEY", "NSEC")), text
        for res in L.RESOLVERS:
            out = L.delv(lab, res, "www.corp.lab.", "A")
            assert "; unsigned answer" in out, (res, out)
    finally:
        for p in list(resolvers.values()) + [corp.proc]:
            lab.stop(p)
