"""RFC 5011 mode proven by Unbound's auto-trust-anchor (issue 16). In the DNSSEC lab (dnsseclab.py)
one ternd signs two zones with second-scale timings (rolllab.Corp):
- corp.lab. with rfc5011 on (add and remove hold-downs of 30 s): its KSK rolls once;
- plain.lab. with rfc5011 off: an ordinary KSK rollover.
Two Unbounds judge them, neither with a root anchor (so nothing but their own anchors makes
anything secure; Unbound validates a name from the closest anchor above it):
- unbound-5011: `auto-trust-anchor-file` for corp.lab. (the first KSK's DS), add-holddown 30,
  del-holddown 30, keep-missing 60, permit-small-holddown yes. Its probes come every DNSKEY TTL / 2
  (5 s: autotrust.c's query interval, MIN(TTL/2, signature validity/2) with no 1-hour floor when
  small hold-downs are permitted). Every second every question of rolllab.QUESTIONS through it
  must be answered with AD (the insecure delegation without), while its anchor file shows the
  new KSK go ADDPEND -> VALID and the old one VALID -> REVOKED, then leave the file.
- unbound-static: static trust anchors (the first KSKs' DS) for both zones. It must go SERVFAIL
  for plain.lab. once the ordinary rollover removed the old KSK, and for corp.lab. once the old
  KSK is revoked: why RFC 5011 matters.
The test plays the registrar with POST .../dnssec/ksk-submitted, once per zone, so each zone rolls
its KSK exactly once. Afterwards the key journal must show the waits: the new KSK published at
least the add hold-down (plus Ipub and two of Unbound's queries) before its DS may go up, the old
one revoked for at least the remove hold-down. About two minutes (the end of the polling is when
everything was seen, about 120 s in)."""
import time

import dns.dnssec
import dns.name
import dns.rdatatype

import dnsseclab as L
import rolllab as R
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import lab  # noqa: F401 (fixture)

CORP, PLAIN = R.ZONE, "plain.lab."
HOLDDOWN = 30  # add and remove hold-downs, ternd's and Unbound's
TTL, PROPAGATION, DS_TTL = 10, 2, 10
QUERY_INTERVAL = TTL // 2  # Unbound's probe interval for this DNSKEY TTL
BASE = {"zsk-lifetime": 0, "dnskey-ttl": TTL, "max-zone-ttl": TTL, "propagation-delay": PROPAGATION,
        "ds-ttl": DS_TTL, "rrsig-lifetime": 90, "rrsig-refresh": 40, "rrsig-jitter": 10}
# corp.lab.: the second KSK is published ksk-lifetime - (Ipub + 2 queries + hold-down) = 23 s in
POLICY_5011 = dict(BASE, **{"ksk-lifetime": 75, "rfc5011": True, "add-holddown": HOLDDOWN,
                            "remove-holddown": HOLDDOWN})
# plain.lab.: the second KSK is published at 28 s, the first removed at about 55 s
POLICY_PLAIN = dict(BASE, **{"ksk-lifetime": 40, "rfc5011": False})
DEADLINE = 300  # seconds of polling at most; it ends when everything was seen (about 120 s)


def plain_rrsets():
    return [{"name": n, "type": "A", "ttl": 10, "records": [a]}
            for n, a in (("@", "192.0.2.80"), ("www", "192.0.2.81"))]


def pubkey(dnskey_text):
    """The public key (base64, no spaces) of DNSKEY RDATA text or of an API key's "dnskey"."""
    return "".join(dnskey_text.split()[3:])


def revoked_self_signed(lab):  # noqa: F811 (not the fixture)
    """Whether corp.lab.'s DNSKEY RRset holds a key with the REVOKE bit whose own RRSIG over the
    RRset verifies (RFC 5011 2.1); (flag, the revoked key's public key or None)."""
    r = lab.query(L.CORP_ADDR, CORP, "DNSKEY", rd=False)
    name = dns.name.from_text(CORP)
    keys_rs = r.find_rrset(r.answer, name, 1, dns.rdatatype.DNSKEY)
    sigs = r.find_rrset(r.answer, name, 1, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    for k in keys_rs:
        if not k.flags & 0x0080:
            continue
        tag = dns.dnssec.key_id(k)
        for s in sigs:
            if s.key_tag == tag:
                dns.dnssec.validate_rrsig(keys_rs, s, {name: [k]})  # raises if it does not verify
                return True, pubkey(k.to_text())
        return False, pubkey(k.to_text())
    return False, None


class Seen:
    """What the test saw, with times: the anchor file's states per key, the answers, the
    registrar's acts, the revoked key's self-signature."""

    def __init__(self):
        self.anchor = {}  # public key -> [(time, flags, state)] at each change, None: gone from the file
        self.failures, self.answers = [], 0
        self.static = {CORP: [], PLAIN: []}  # [(time, rcode, ad)]
        self.submitted = {}  # zone -> time of ksk-submitted
        self.first_ksk = {}  # zone -> (public key, tag) of the KSK signing at the start
        self.gone = {}  # public key -> when it left the anchor file
        self.self_signed = None  # (time, public key) when the revoked key was seen self-signed

    def anchor_states(self, key):
        return [s for _, _, s in (e for e in self.anchor.get(key, []) if e is not None)]

    def note_anchor(self, now, entries):
        listed = {k: (flags, state) for flags, k, state in entries}
        for k, (flags, state) in listed.items():
            hist = self.anchor.setdefault(k, [])
            if not hist or hist[-1] is None or hist[-1][1:] != (flags, state):
                hist.append((now, flags, state))
        for k, hist in self.anchor.items():
            if k not in listed and hist[-1] is not None:
                hist.append(None)
                self.gone[k] = now


def ksk_rows(corp, zone):
    return [k for k in corp.dnssec(zone)["keys"] if k["role"] == "ksk"]


def test_rfc5011_rollover_keeps_auto_anchor_valid(lab, keys, tmp_path):  # noqa: F811
    corp = R.Corp(lab, keys, POLICY_5011)
    corp.add_zone(PLAIN, plain_rrsets(), POLICY_PLAIN)
    started = time.time()
    seen = Seen()
    for z in (CORP, PLAIN):
        (k,) = ksk_rows(corp, z)
        seen.first_ksk[z] = (pubkey(k["dnskey"]), k["tag"])
    first_ds = {z: lab.child_ds(L.CORP_ADDR, z) for z in (CORP, PLAIN)}
    assert all(len(ds) == 1 for ds in first_ds.values()), first_ds
    anchor_file = str(tmp_path / "corp.lab.anchor")
    with open(anchor_file, "w") as f:
        f.write("%s DS %s\n" % (CORP, first_ds[CORP][0]))
    static_file = str(tmp_path / "static.anchors")
    with open(static_file, "w") as f:
        f.write("".join("%s DS %s\n" % (z, ds[0]) for z, ds in first_ds.items()))
    stub = 'stub-zone:\n    name: "%s"\n    stub-addr: %s\n' % (PLAIN, L.CORP_ADDR)
    u5011 = L.start_unbound(lab, "unbound-5011", [
        'auto-trust-anchor-file: "%s"' % anchor_file, "add-holddown: %d" % HOLDDOWN,
        "del-holddown: %d" % HOLDDOWN, "keep-missing: 60", "permit-small-holddown: yes"])
    ustatic = L.start_unbound(lab, "unbound-static", ['trust-anchor-file: "%s"' % static_file], stub)
    L.wait_answers(lab, "www.corp.lab.", "A", lambda a: a.rcode == "NOERROR" and a.ad, 20,
                   resolvers=("unbound-5011", "unbound-static"))
    L.wait_answers(lab, "www." + PLAIN, "A", lambda a: a.rcode == "NOERROR" and a.ad, 20,
                   resolvers=("unbound-static",))

    new_ksk = None  # corp.lab.'s second KSK
    jobs = [("unbound-5011", q) for q in R.QUESTIONS] + [
        ("unbound-static", ("www." + z, "A", None, None)) for z in (CORP, PLAIN)]
    try:
        while time.time() - started < DEADLINE:
            tick = time.time()
            got = lab.ns.map(lambda j: L._resolve_in_ns(j[0], j[1][0], j[1][1]), jobs)
            now = time.time()
            for (r, (name, rtype, rcode, ad)), a in zip(jobs, got):
                if r == "unbound-static":
                    seen.static[name[4:]].append((now, a.rcode, a.ad))
                    continue
                seen.answers += 1
                if (a.rcode, a.ad) != (rcode, ad) or (rcode == "NOERROR" and rtype != "TXT" and not a.answer):
                    seen.failures.append((now - started, name, rtype, str(a)))
            seen.note_anchor(now, L.read_autotrust(anchor_file))
            # the registrar, once per zone: the second KSK's DS goes up when it is ready
            for z in (CORP, PLAIN):
                rows = ksk_rows(corp, z)
                waiting = [k for k in rows if k["state"] == "ready" and not k["ds-seen"]
                           and k["tag"] != seen.first_ksk[z][1]]
                if waiting and z not in seen.submitted:
                    corp.ksk_submitted(z)
                    seen.submitted[z] = now
                if z == CORP and new_ksk is None:
                    new_ksk = next((pubkey(k["dnskey"]) for k in rows
                                    if pubkey(k["dnskey"]) != seen.first_ksk[CORP][0]), None)
            if seen.self_signed is None:
                ok, key = revoked_self_signed(lab)
                assert key is None or ok, "the revoked key %s does not sign the DNSKEY RRset" % key
                if ok:
                    seen.self_signed = (now, key)
            old = seen.first_ksk[CORP][0]
            done = (new_ksk and "VALID" in seen.anchor_states(new_ksk)
                    and "REVOKED" in seen.anchor_states(old) and seen.anchor[old][-1] is None
                    and any(r == "SERVFAIL" for _, r, _ in seen.static[PLAIN][-3:])
                    and any(r == "SERVFAIL" for _, r, _ in seen.static[CORP][-3:]))
            if done:
                break
            time.sleep(max(0.0, tick + 1.0 - time.time()))
        elapsed = time.time() - started
        report(corp, seen, new_ksk, started, elapsed, anchor_file)
    finally:
        for p in (u5011, ustatic, corp.proc):
            lab.stop(p)


def report(corp, seen, new_ksk, started, elapsed, anchor_file):
    """The assertions, in the order that explains a failure best."""
    old, old_tag = seen.first_ksk[CORP]
    rel = lambda t: "%+.0f s" % (t - started)  # noqa: E731
    history = {("old" if k == old else "new" if k == new_ksk else k[:12]):
               [("gone", rel(seen.gone[k])) if e is None else (rel(e[0]), e[1], e[2]) for e in h]
               for k, h in seen.anchor.items()}
    with open(anchor_file) as f:
        context = "\nanchor file history: %s\nanchor file now:\n%s\nternd log:\n%s" % (
            history, f.read(), corp.proc.log_text(3000))
    # 100% AD through the RFC 5011 validator, and it was asked throughout
    assert seen.answers >= 60 * len(R.QUESTIONS) and not seen.failures, (
        "%d of %d answers failed; first: %s" % (len(seen.failures), seen.answers, seen.failures[:3]) + context)
    # the rollover happened, as the anchor file tells it
    assert new_ksk, "no second KSK for %s after %.0f s" % (CORP, elapsed) + context
    new_states = seen.anchor_states(new_ksk)
    assert new_states[:2] == ["ADDPEND", "VALID"], (new_states, context)
    old_hist = seen.anchor[old]
    assert [e[2] for e in old_hist if e is not None][0] == "VALID", context
    assert "REVOKED" in seen.anchor_states(old) and old_hist[-1] is None, (
        "the old KSK did not go REVOKED and then leave the file within %d s" % DEADLINE + context)
    t_addpend = next(e[0] for e in seen.anchor[new_ksk] if e and e[2] == "ADDPEND")
    t_valid = next(e[0] for e in seen.anchor[new_ksk] if e and e[2] == "VALID")
    t_revoked = next(e[0] for e in old_hist if e and e[2] == "REVOKED")
    revoked_flags = next(e[1] for e in old_hist if e and e[2] == "REVOKED")
    assert revoked_flags == 257 | 128, (revoked_flags, context)
    assert t_valid - t_addpend >= HOLDDOWN - 1 and t_valid <= t_revoked, context
    assert seen.self_signed and seen.self_signed[1] == old, (seen.self_signed, context)
    # the waits, from ternd's key journal (times in whole seconds; tags: the key's, unrevoked)
    rows = {pubkey(k["dnskey"]): k for k in corp.dnssec(CORP)["keys"]}
    journal = corp.journal(CORP)
    by_tag = {}
    for e in journal:
        by_tag.setdefault(e["tag"], {})[e["to"]] = e["time"]
    new, gone = by_tag[rows[new_ksk]["tag"]], by_tag[old_tag]
    wait = TTL + PROPAGATION + 2 * QUERY_INTERVAL + HOLDDOWN
    assert new["ready"] - new["published"] >= wait, (new, journal)
    assert new["active"] - new["published"] >= wait, (new, journal)
    assert gone["revoked"] - gone["retired"] >= DS_TTL + PROPAGATION, (gone, journal)
    assert gone["revoked"] >= new["active"], (gone, new)
    assert "removed" in gone and gone["removed"] - gone["revoked"] >= HOLDDOWN, (gone, journal)
    # Unbound saw the REVOKE bit while the key was served, and dropped it after its del-holddown
    assert t_revoked <= gone["removed"] + 1 and seen.gone[old] - t_revoked >= HOLDDOWN - 1, (
        rel(t_revoked), rel(seen.gone[old]), gone, context)
    # the static anchors: valid before, SERVFAIL after the key they name left (plain.lab.: removed
    # by an ordinary rollover; corp.lab.: revoked), to the end
    plain_tag = seen.first_ksk[PLAIN][1]
    plain = {e["to"]: e["time"] for e in corp.journal(PLAIN) if e["tag"] == plain_tag}
    assert "revoked" not in plain, plain
    for zone, broke in ((PLAIN, plain.get("removed")), (CORP, gone["revoked"])):
        answers = seen.static[zone]
        assert broke, (zone, corp.journal(zone))
        before = [(r, ad) for t, r, ad in answers if t < broke]
        after = [(r, ad) for t, r, ad in answers if t > broke + L.CACHE_TTL + 2]
        assert before and all(x == ("NOERROR", True) for x in before), (zone, before)
        assert after and all(r == "SERVFAIL" for r, _ in after), (zone, after)
    print("RFC 5011 rollover of %s: %.0f s; anchor file: %s; journal: new KSK %s, old KSK %s; %s's old "
          "KSK %s" % (CORP, elapsed, history, {s: rel(t) for s, t in new.items()},
                      {s: rel(t) for s, t in gone.items()}, PLAIN, {s: rel(t) for s, t in plain.items()}))
