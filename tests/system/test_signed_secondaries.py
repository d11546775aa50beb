"""A zone signed online by ternd (corp.lab., delegated securely from the DNSSEC lab's lab.) served by
four secondaries at once: a ternd PoP, Knot, NSD and BIND named (secondarylab.py). After the first
transfer, batches of API changes (names added under new empty non-terminals, changed, deleted, and
one batch of 300 names, whose IXFR spans many TCP messages) must reach each secondary by IXFR (their
logs count IXFRs and AXFRs; none may fall back to AXFR), each secondary's AXFR must equal ternd's
and pass ldns-verify-zone, dnssec-verify and kzonecheck, and a validating Unbound whose only way to
corp.lab. is that secondary must answer with AD for a name, a NODATA, an NXDOMAIN, a wildcard and the
names the changes added, NXDOMAIN for those they deleted; the same after a signature refresh the
signer makes on its own. NSEC (ECDSA) and NSEC3 (Ed25519)."""
import os
import re
import time

import pytest

import dnsseclab as L
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)
from secondarylab import (SECONDARIES, STUBS, TESTER, ZONE, axfr_primary, KnotSec, NamedSec, NsdSec, Primary, TerndPop, add_addresses,
                          stub_unbound, wait_validated)

# Signatures live 2 minutes (less up to 10 s of jitter) and are made anew in their last 90 s, so
# ternd's signer re-signs on its own from about 20 s after the signing: such a refresh (the SOA and
# RRSIGs only) must go out by IXFR like the API's batches (the test waits for one at the end, and
# copes with one arriving during a batch).
TIMINGS = {"rrsig-lifetime": 120, "rrsig-refresh": 90, "rrsig-jitter": 10}
VARIANTS = {"nsec": dict(TIMINGS, algorithm="ecdsap256sha256", denial="nsec"),
            "nsec3": dict(TIMINGS, algorithm="ed25519", denial="nsec3")}


def rs(name, rtype, *records):
    return {"name": name, "type": rtype, "ttl": 10, "records": list(records)}


def gone(name, rtype):
    return {"name": name, "type": rtype, "delete": True}


# Each batch: (changes, [(name, type, rcode, a record text the answer must hold or None)]), asked
# through every secondary's Unbound once the batch is served everywhere. Names asked are new to the
# resolvers (never cached before) except where the batch changes them, where the cache cap (5 s)
# is waited out by polling.
BATCHES = [
    ([rs("new1", "A", "192.0.2.101"), rs("a.b.new-ent", "A", "192.0.2.102"), rs("www", "TXT", "\"added\"")],
     [("new1.corp.lab.", "A", "NOERROR", "192.0.2.101"), ("a.b.new-ent.corp.lab.", "A", "NOERROR", "192.0.2.102"),
      ("b.new-ent.corp.lab.", "A", "NOERROR", None), ("new1.corp.lab.", "MX", "NOERROR", None),
      ("new0.corp.lab.", "A", "NXDOMAIN", None)]),
    ([rs("new1", "A", "192.0.2.111"), rs("new1", "AAAA", "2001:db8::111"), rs("ns1", "A", L.CORP_ADDR)],
     [("new1.corp.lab.", "A", "NOERROR", "192.0.2.111"), ("new1.corp.lab.", "AAAA", "NOERROR", "2001:db8::111")]),
    ([gone("a.b.new-ent", "A"), gone("host.ent", "A"), gone("www", "TXT")],
     [("a.b.new-ent.corp.lab.", "A", "NXDOMAIN", None), ("x.ent.corp.lab.", "A", "NXDOMAIN", None),
      ("www.corp.lab.", "TXT", "NOERROR", None)]),
    ([rs("bulk%03d" % i, "A", "192.0.2.%d" % (i % 250 + 1)) for i in range(300)],
     [("bulk123.corp.lab.", "A", "NOERROR", "192.0.2.124"), ("bulk300.corp.lab.", "A", "NXDOMAIN", None)]),
]

# asked before any change (a plain answer, NODATA, NXDOMAIN, a wildcard, a secure delegation)
FIRST = [("www.corp.lab.", "A", "NOERROR", "192.0.2.31"), ("www.corp.lab.", "MX", "NOERROR", None),
         ("nx.corp.lab.", "A", "NXDOMAIN", None), ("h.wild.corp.lab.", "A", "NOERROR", "192.0.2.32"),
         ("www.sec.corp.lab.", "A", "NOERROR", "192.0.2.40")]


def soa_serial(text):
    return int(next(line for line in text.splitlines() if " IN SOA " in line).split()[6])


def check_served(lab, primary, secs, tmp_path, tag, questions, timeout=120):
    """Once every secondary serves the primary's serial (the signer may move it on meanwhile: then
    again at the next), each secondary's AXFR equals ternd's and verifies; then every question
    validates through each secondary's Unbound. Returns the serial compared."""
    deadline = time.time() + timeout
    while True:
        want = axfr_primary(lab)
        serial = soa_serial(want)
        got = {s.kind: s.serial() for s in secs}
        if all(g == serial for g in got.values()):
            # every copy first, then the verifiers: under load they take longer than the signer
            # waits between refreshes, and a copy taken after them would be of the next serial
            copies = {}
            for s in secs:
                path = os.path.join(str(tmp_path), "%s-%s-%d.zone" % (s.kind, tag, serial))
                copies[s.kind] = (path, L.axfr_to_file(lab, s.addr, ZONE, path))
            if all(soa_serial(t) == serial for _, t in copies.values()):
                texts = {k: (path, t, L.verify_zone_file(path, ZONE)) for k, (path, t) in copies.items()}
                break
        assert time.time() < deadline, "secondaries at %s, ternd at %d" % (got, serial)
        time.sleep(0.2)
    for s in secs:
        path, text, out = texts[s.kind]
        assert sorted(text.splitlines()) == sorted(want.splitlines()), "%s serves another zone than ternd (%s)" % (
            s.kind, path)
        bad = {tool: o[-1500:] for tool, (rc, o) in out.items() if rc != 0}
        assert not bad, "%s's copy (%s) refused: %s" % (s.kind, path, bad)
    for s in secs:
        for name, rtype, rcode, want_rd in questions:
            wait_validated(lab, STUBS[s.kind], name, rtype, rcode, want_rd)
    return serial


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_signed_zone_through_every_secondary(lab, keys, tmp_path, variant):  # noqa: F811
    add_addresses(lab, list(SECONDARIES.values()) + list(STUBS.values()) + [TESTER])
    primary = Primary(lab, keys, SECONDARIES.values())
    procs = [primary.proc]
    try:
        primary.sign(VARIANTS[variant])
        lab.set_ds(lab.lab_knot, ZONE, lab.child_ds(L.CORP_ADDR, ZONE))
        secs = [TerndPop(lab), KnotSec(lab), NsdSec(lab), NamedSec(lab)]
        procs += [s.proc for s in secs]
        for s in secs:
            s.wait_serial(None)
        stubs = {s.kind: stub_unbound(lab, "%s-%s" % (s.kind, variant), STUBS[s.kind], s.addr) for s in secs}
        procs += list(stubs.values())
        check_served(lab, primary, secs, tmp_path, "first", FIRST)
        before = {s.kind: (s.ixfrs(primary), s.axfrs(primary), s.own_log_counts()) for s in secs}
        assert all(b[1] >= 1 for b in before.values()), before  # the first copy came by AXFR
        written = set()
        for i, (changes, questions) in enumerate(BATCHES):
            serial = primary.patch(changes)
            written.add(serial)
            check_served(lab, primary, secs, tmp_path, "batch%d" % i, questions)
        # a signature refresh of the signer's own (no API write), served and validated everywhere
        deadline = time.time() + 60
        while True:
            last = check_served(lab, primary, secs, tmp_path, "refresh", FIRST)
            if last not in written and last > serial:
                break
            assert time.time() < deadline, "no signature refresh after serial %d" % serial
            time.sleep(1)
        for s in secs:
            ixfrs, axfrs = s.ixfrs(primary) - before[s.kind][0], s.axfrs(primary) - before[s.kind][1]
            assert axfrs == 0 and ixfrs >= len(BATCHES), "ternd sent %s %d IXFR and %d AXFR for %d changes:\n%s" % (
                s.kind, ixfrs, axfrs, len(BATCHES), primary.proc.log_text(4000))
            # the IXFR that brought the last batch (300 names): ending at its serial, or at the
            # signature refresh's when a slow secondary asked only after that one
            ixfr = re.findall(r"IXFR to %s: serial (\d+) -> (\d+), (\d+) messages" % re.escape(s.source),
                              primary.proc.log_text(10 ** 7))
            big = [int(m) for a, b, m in ixfr if int(a) < max(written) <= int(b)]
            assert big and big[-1] > 1, "the last IXFR to %s (300 names) in one message: %s" % (s.kind, ixfr)
            own = s.own_log_counts()
            if own is not None:
                assert own[1] == before[s.kind][2][1] and own[0] - before[s.kind][2][0] >= len(BATCHES), (
                    "%s's log: %d IXFR and %d AXFR received for %d changes:\n%s" % (
                        s.kind, own[0] - before[s.kind][2][0], own[1] - before[s.kind][2][1], len(BATCHES),
                        s.log_text()[-4000:]))
    finally:
        failed = []
        for p in reversed(procs):
            alive = p.alive()
            rc = lab.stop(p)
            if not alive or (rc != 0 and p.name.startswith("ternd")):
                failed.append("%s %s with %s:\n%s" % (p.name, "stopped" if alive else "died", rc, p.log_text(3000)))
        assert not failed, "\n".join(failed)
