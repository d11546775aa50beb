"""The journal is the difference between versions: for random batches (seeded, reproducible) of
changes that restate, repeat, reorder or cancel one another, the previous version plus the
journal entry (as IXFR sends it, and as GET /changes shows it) equals the new version; a batch
that names one RRset twice is refused with 422 naming both; Knot, a secondary following by IXFR
through such batches, ends with the primary's zone."""
import json
import random

import dns.query
import dns.rdatatype
import dns.rrset
import pytest

from apilib import assert_error, finish, keys  # noqa: F401 (fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import free_port
from test_ixfr_out import apply, diffs, records
from xfrlib import api_primary, api_transfer_ternd, wait_serial

ZONE = "batch.test."
SEED = 20240611
ROUNDS = 80
NAMES = ["www", "WWW", "Www.batch.test.", "mail", "a.b", "deep.a.b", "x", "@"]
TYPES = ["A", "TXT", "MX"]


def transfer(addr, port, rdtype="AXFR", serial=0):
    return list(dns.query.xfr(addr, ZONE, rdtype=rdtype, serial=serial, port=port, timeout=5, relativize=False))


def axfr_state(addr, port):
    recs = records(transfer(addr, port))
    assert recs[0][1] == "SOA" and recs[-1] == recs[0], recs[:3]
    return set(recs[:-1])


def rdata_text(rtype, k):
    return {"A": "192.0.2.%d" % k, "TXT": "\"t%d\"" % k, "MX": "%d mx%d.example." % (10 * k, k)}[rtype]


def random_change(rng, current, name=None, rtype=None):
    """One change: a new RRset, the current one restated (maybe in another order, maybe with
    another TTL), a deletion (of something absent, at times), or a record added to what is there."""
    name, rtype = name or rng.choice(NAMES), rtype or rng.choice(TYPES)
    key = (absolute(name), rtype)
    what = rng.random()
    if what < 0.2:
        return {"name": name, "type": rtype, "delete": True}
    if what < 0.45 and key in current:
        ttl, recs = current[key]
        recs = list(recs)
        rng.shuffle(recs)
        if rng.random() < 0.4:
            ttl = rng.choice([60, 300, 3600])
        if rng.random() < 0.3:
            recs.append(rdata_text(rtype, rng.randint(1, 6)))
        return {"name": name, "type": rtype, "ttl": ttl, "records": recs}
    recs = sorted({rdata_text(rtype, rng.randint(1, 6)) for _ in range(rng.randint(1, 3))})
    return {"name": name, "type": rtype, "ttl": rng.choice([60, 300]), "records": recs}


def absolute(name):
    if name == "@":
        return ZONE
    if name.endswith("."):
        return name.lower()
    return (name + "." + ZONE).lower()


def current_rrsets(api):
    out = {}
    for rs in api.rrsets("batch.test")["rrsets"]:
        if rs["type"] in TYPES:
            out[(rs["name"].lower(), rs["type"])] = (rs["ttl"], rs["records"])
    return out


def journal_as_records(change):
    """An entry of GET /changes as (removed, added) sets of (owner, type, ttl, rdata)."""
    def side(lst):
        out = []
        for rs in lst:
            rrs = dns.rrset.from_text_list(rs["name"], rs["ttl"], "IN", rs["type"], rs["records"])
            out += [(rrs.name.to_text().lower(), dns.rdatatype.to_text(rrs.rdtype), rrs.ttl, rd.to_text())
                    for rd in rrs]
        return out
    return side(change["removed"]), side(change["added"])


def apply_entry(state, removed, added):
    """A secondary's view: every removed record must be there, every added one must not."""
    state = set(state)
    for r in removed:
        assert r in state, "the journal removes %s, which the previous version does not hold" % (r,)
        state.remove(r)
    for r in added:
        assert r not in state, "the journal adds %s, which is there already" % (r,)
        state.add(r)
    return state


def random_batch(rng, current):
    n = rng.randint(1, 6)
    batch = [random_change(rng, current) for _ in range(n)]
    if rng.random() < 0.25:  # the same RRset twice: repeated, restated, or put then deleted
        first = rng.choice(batch)
        name = rng.choice([first["name"], first["name"].upper(), absolute(first["name"])])
        again = random_change(rng, current, name, first["type"])
        batch.insert(rng.randint(0, len(batch)), again)
    return batch


def send(api, rng, current, batch):
    """Sends the batch as one PATCH, or a lone change through its own route."""
    if len(batch) == 1 and rng.random() < 0.5:
        c = batch[0]
        url = "/api/v1/zones/batch.test/rrsets/%s/%s" % (c["name"], c["type"])
        if c.get("delete"):
            r = api.delete(url)
            if r.status == 404 and (absolute(c["name"]), c["type"]) not in current:
                return None  # nothing to delete: refused, nothing changes
            return r
        return api.put(url, {"ttl": c["ttl"], "records": c["records"]})
    return api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": batch})


def same_rrset_twice(batch):
    seen = set()
    for c in batch:
        k = (absolute(c["name"]), c["type"])
        if k in seen:
            return True
        seen.add(k)
    return False


@pytest.fixture
def srv(tmp_path, keys):  # noqa: F811
    s = api_transfer_ternd(keys, tmp_path, api={"journal-keep": 1000})
    try:
        yield s
    finally:
        finish(s)


def test_random_batches_journal_is_the_difference(srv):
    """For each accepted batch: the previous AXFR plus the IXFR from the previous serial, and plus
    the journal entry of GET /changes, equals the new AXFR. A refused batch changes nothing."""
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("batch.test", rrsets=[
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]},
        {"name": "mail", "type": "MX", "ttl": 300, "records": ["10 mx1.example."]}])
    rng = random.Random(SEED)
    before, serial = axfr_state(srv.addr, srv.port), api.serial("batch.test")
    accepted = refused = 0
    for rnd in range(ROUNDS):
        current = current_rrsets(api)
        batch = random_batch(rng, current)
        where = "round %d (seed %d): %s" % (rnd, SEED, json.dumps(batch))
        r = send(api, rng, current, batch)
        if r is None:
            continue
        if r.status != 200:
            # the only refusal these batches can meet: one RRset named twice
            assert same_rrset_twice(batch), "%s: %r" % (where, r)
            assert_error(r, 422)
            assert api.serial("batch.test") == serial and axfr_state(srv.addr, srv.port) == before, where
            refused += 1
            continue
        accepted += 1
        after, now = axfr_state(srv.addr, srv.port), api.serial("batch.test")
        assert now == serial + 1, where
        changes = diffs(records(transfer(srv.addr, srv.port, "IXFR", serial)))
        assert [(c[0], c[1]) for c in changes] == [(serial, now)], where
        try:
            assert apply(before, changes) == after, "%s: IXFR from %d does not lead to the AXFR of %d" % (
                where, serial, now)
            entry = api.get("/api/v1/zones/batch.test/changes?limit=1").json["changes"][0]
            assert (entry["serial_from"], entry["serial_to"]) == (serial, now), where
            removed, added = journal_as_records(entry)
            assert apply_entry(before, removed, added) == after, where
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (where, e))
        # and from two versions back, changes chained: still the AXFR
        before, serial = after, now
    assert accepted > ROUNDS // 2 and refused > 0, (accepted, refused)
    api.close()


def test_one_rrset_twice_in_a_batch_is_422_naming_both(srv):
    """PATCH, proposals and zone creation refuse a batch naming one (name, type) twice, whatever
    the spelling of the name: 422 naming both changes, nothing applied or stored."""
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("batch.test")
    serial = api.serial("batch.test")
    rs = "/api/v1/zones/batch.test/rrsets"
    cases = [
        [{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
         {"name": "x", "type": "A", "ttl": 60, "records": ["192.0.2.9"]},
         {"name": "WWW.batch.test.", "type": "a", "ttl": 60, "records": ["192.0.2.2"]}],
        [{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
         {"name": "www", "type": "A", "delete": True}],
    ]
    for batch in cases:
        j = len(batch) - 1
        for path in (rs, "/api/v1/zones/batch.test/proposals"):
            r = api.patch(path, {"rrsets": batch}) if path == rs else api.post(path, {"rrsets": batch})
            e = assert_error(r, 422, "rrsets[%d]" % j)
            assert "rrsets[0]" in e["message"] and "www.batch.test." in e["message"] and " A " in e["message"], r
        relative = [dict(c, name=c["name"].replace(".batch.test.", "")) for c in batch]
        r = api.post("/api/v1/zones", {"name": "twice.test", "rrsets": relative})
        e = assert_error(r, 422, "rrsets[%d]" % j)
        assert "www.twice.test." in e["message"], r
    assert api.serial("batch.test") == serial
    assert api.get("/api/v1/zones/batch.test/proposals").json["proposals"] == []
    assert api.get("/api/v1/zones/twice.test").status == 404
    # the same name with another type, or another name, is no repeat
    r = api.patch(rs, {"rrsets": [{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
                                  {"name": "www", "type": "TXT", "ttl": 60, "records": ["\"a\""]},
                                  {"name": "www2", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}]})
    assert r.status == 200, r
    api.close()


def test_restating_changes_nothing_in_the_journal(srv):
    """A PUT identical to the RRset (records in another order), and a PATCH deleting an absent
    RRset, raise the serial with an entry that holds the SOA and nothing else; a TTL-only change
    sends the RRset out and in."""
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("batch.test", rrsets=[
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]}])

    def last_entry():
        return api.get("/api/v1/zones/batch.test/changes?limit=1").json["changes"][0]

    def types(side):
        return sorted({(x["name"], x["type"]) for x in side})

    api.put_rrset("batch.test", "WWW", "A", 300, ["192.0.2.2", "192.0.2.1"])
    e = last_entry()
    assert types(e["removed"]) == types(e["added"]) == [("batch.test.", "SOA")], e
    r = api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": [{"name": "nothing", "type": "A", "delete": True}]})
    assert r.status == 200, r
    e = last_entry()
    assert types(e["removed"]) == types(e["added"]) == [("batch.test.", "SOA")], e
    api.put_rrset("batch.test", "www", "A", 600, ["192.0.2.1", "192.0.2.2"])
    e = last_entry()
    assert types(e["removed"]) == types(e["added"]) == [("batch.test.", "SOA"), ("www.batch.test.", "A")], e
    api.close()


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_follows_random_batches_by_ixfr(tmp_path, keys):  # noqa: F811
    """Knot, a secondary of ternd, follows random batches by IXFR (no fallback to AXFR) and serves
    exactly what ternd serves after each."""
    kport = free_port()
    s, api = api_primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % kport], "batch.test",
                         [{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]}],
                         api={"journal-keep": 1000})
    knot = KnotSecondary(tmp_path / "knot", ZONE, s.port, port=kport, transfer=True, log_level="debug")
    rng = random.Random(SEED + 1)
    try:
        knot.start()
        knot_log = lambda: knot.log_text()[-4000:]  # noqa: E731
        wait_serial("127.0.0.1", kport, ZONE, api.serial("batch.test"), timeout=15, log=knot_log)
        checked = 0
        for rnd in range(30):
            current = current_rrsets(api)
            batch = random_batch(rng, current)
            r = send(api, rng, current, batch)
            if r is None or r.status != 200:
                continue
            serial = api.serial("batch.test")
            wait_serial("127.0.0.1", kport, ZONE, serial, timeout=15, log=knot_log)
            if rnd % 5 == 4:
                assert axfr_state("127.0.0.1", kport) == axfr_state(s.addr, s.port), \
                    "round %d (seed %d): Knot differs from ternd" % (rnd, SEED + 1)
                checked += 1
        assert axfr_state("127.0.0.1", kport) == axfr_state(s.addr, s.port)
        text = knot.log_text()
        assert [line for line in text.splitlines() if "IXFR, incoming" in line], text[-4000:]
        bad = [line for line in text.splitlines()
               if "AXFR-style" in line or "fallback to AXFR" in line or ("XFR" in line and "fail" in line)]
        assert not bad, "\n".join(bad[:20])
        assert checked >= 3, checked
    finally:
        knot.stop()
        finish(s)


SIG = " 13 3 %d 20370101000000 20240101000000 %d batch.test. AAECAwQFBgcICQoLDA0ODw=="


def signed_text(ttls, extra=()):
    """batch.test with RRSIGs at www for each covered type in ttls ({type: TTL}, the TTL of the
    RRset it covers as well), and more lines."""
    lines = ["$ORIGIN batch.test.", "@ 300 SOA ns1 hostmaster 1 7200 3600 1209600 60", "@ 300 NS ns1",
             "ns1 300 A 127.0.0.1"]
    data = {"A": "192.0.2.1", "TXT": "\"t\"", "NSEC": "zz.batch.test. A TXT RRSIG NSEC", "MX": "10 mx.example."}
    for i, (rtype, ttl) in enumerate(sorted(ttls.items())):
        lines += ["www %d %s %s" % (ttl, rtype, data[rtype]), "www %d RRSIG %s%s" % (ttl, rtype, SIG % (ttl, i + 1))]
    return "\n".join(lines + list(extra)) + "\n"


def sig_ttls(state, owner="www.batch.test."):
    """{covered type: set of TTLs} of the RRSIGs at owner in a set of records."""
    out = {}
    for name, rtype, ttl, rdata in state:
        if name == owner and rtype == "RRSIG":
            out.setdefault(rdata.split()[0], set()).add(ttl)
    return out


def test_rrsig_ttls_through_the_journal(srv):
    """RRSIGs keep the TTL of the RRset they cover, and the journal carries a name's signatures
    whole, each with its own TTL: after every import or PATCH the previous AXFR plus the IXFR, and
    plus the GET /changes entry, is the new AXFR, TTLs included. One covered type's TTL changing
    sends every signature at the name out and in; a restatement, or a change beside them, leaves
    them out of the entry."""
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("batch.test")
    before, serial = axfr_state(srv.addr, srv.port), api.serial("batch.test")

    def step(what, send):
        nonlocal before, serial
        r = send()
        assert r.status == 200, "%s: %r" % (what, r)
        after, now = axfr_state(srv.addr, srv.port), api.serial("batch.test")
        assert now == serial + 1, what
        changes = diffs(records(transfer(srv.addr, srv.port, "IXFR", serial)))
        assert apply(before, changes) == after, "%s: IXFR from %d does not lead to the AXFR of %d" % (
            what, serial, now)
        entry = api.get("/api/v1/zones/batch.test/changes?limit=1").json["changes"][0]
        removed, added = journal_as_records(entry)
        assert apply_entry(before, removed, added) == after, what
        before, serial = after, now
        return {(r[0], r[1]) for r in removed + added}

    def imp(text):
        return lambda: api.post("/api/v1/zones/batch.test/import", text)

    step("import", imp(signed_text({"A": 600, "TXT": 7200, "NSEC": 60})))
    assert sig_ttls(before) == {"A": {600}, "TXT": {7200}, "NSEC": {60}}
    # the TXT (and its signature) to 3600: every signature at www goes out and comes back
    touched = step("one covered type's TTL", imp(signed_text({"A": 600, "TXT": 3600, "NSEC": 60})))
    assert ("www.batch.test.", "RRSIG") in touched, touched
    assert sig_ttls(before) == {"A": {600}, "TXT": {3600}, "NSEC": {60}}
    # the same text again: the signatures stay out of the entry
    touched = step("restated", imp(signed_text({"A": 600, "TXT": 3600, "NSEC": 60})))
    assert touched == {("batch.test.", "SOA")}, touched
    # a change beside them
    touched = step("A beside", lambda: api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": [
        {"name": "www", "type": "A", "ttl": 600, "records": ["192.0.2.1", "192.0.2.2"]}]}))
    assert ("www.batch.test.", "RRSIG") not in touched, touched
    # a covered type gone, another come, at a second name too
    step("signatures replaced", imp(signed_text({"A": 600, "MX": 86400, "NSEC": 60}, [
        "mail 120 MX 10 mx.example.", "mail 120 RRSIG MX" + SIG % (120, 9)])))
    assert sig_ttls(before) == {"A": {600}, "MX": {86400}, "NSEC": {60}}
    assert sig_ttls(before, "mail.batch.test.") == {"MX": {120}}
    # a PATCH of the RRSIGs gives them all one TTL (the API's RRset has one)
    sigs = [rd for (n, t, _ttl, rd) in before if n == "www.batch.test." and t == "RRSIG"]
    step("RRSIG patched", lambda: api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": [
        {"name": "www", "type": "RRSIG", "ttl": 300, "records": sigs}]}))
    assert sig_ttls(before) == {"A": {300}, "MX": {300}, "NSEC": {300}}
    api.close()


def test_rrsig_ttls_survive_a_restart(srv):
    """The store keeps each signature's TTL: after a restart ternd serves the version it served
    before (the same serial with the same TTLs), and the journal written before it still leads
    a secondary from there to the next version."""
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("batch.test")
    r = api.post("/api/v1/zones/batch.test/import", signed_text({"A": 600, "TXT": 7200, "NSEC": 60}))
    assert r.status == 200, r
    before, serial = axfr_state(srv.addr, srv.port), api.serial("batch.test")
    assert sig_ttls(before) == {"A": {600}, "TXT": {7200}, "NSEC": {60}}
    api.close()
    srv.stop()
    srv.start()
    api = srv.api(srv.keys.token("t1"))
    assert api.serial("batch.test") == serial
    assert axfr_state(srv.addr, srv.port) == before, "the restart changed the zone at serial %d" % serial
    r = api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": [
        {"name": "www", "type": "A", "ttl": 600, "records": ["192.0.2.7"]}]})
    assert r.status == 200, r
    after = axfr_state(srv.addr, srv.port)
    assert apply(before, diffs(records(transfer(srv.addr, srv.port, "IXFR", serial)))) == after
    assert sig_ttls(after) == {"A": {600}, "TXT": {7200}, "NSEC": {60}}
    api.close()


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_follows_rrsig_ttls_by_ixfr(tmp_path, keys):  # noqa: F811
    """Knot, following ternd by IXFR, serves every RRSIG at the TTL ternd serves it with, through
    imports that change one covered type's TTL, replace the signatures and restate them."""
    kport = free_port()
    s, api = api_primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % kport], "batch.test", [],
                         api={"journal-keep": 1000})
    knot = KnotSecondary(tmp_path / "knot", ZONE, s.port, port=kport, transfer=True, log_level="debug")
    try:
        knot.start()
        knot_log = lambda: knot.log_text()[-4000:]  # noqa: E731
        wait_serial("127.0.0.1", kport, ZONE, api.serial("batch.test"), timeout=15, log=knot_log)
        texts = [signed_text({"A": 600, "TXT": 7200, "NSEC": 60}),
                 signed_text({"A": 600, "TXT": 3600, "NSEC": 60}),
                 signed_text({"A": 600, "TXT": 3600, "NSEC": 60}, ["mail 120 MX 10 mx.example.",
                                                                    "mail 120 RRSIG MX" + SIG % (120, 9)]),
                 signed_text({"A": 300, "MX": 86400, "NSEC": 60})]
        for i, text in enumerate(texts):
            r = api.post("/api/v1/zones/batch.test/import", text)
            assert r.status == 200, r
            wait_serial("127.0.0.1", kport, ZONE, api.serial("batch.test"), timeout=15, log=knot_log)
            assert axfr_state("127.0.0.1", kport) == axfr_state(s.addr, s.port), "import %d: Knot differs" % i
        assert sig_ttls(axfr_state("127.0.0.1", kport)) == {"A": {300}, "MX": {86400}, "NSEC": {60}}
        text = knot.log_text()
        assert [line for line in text.splitlines() if "IXFR, incoming" in line], text[-4000:]
        bad = [line for line in text.splitlines()
               if "AXFR-style" in line or "fallback to AXFR" in line or ("XFR" in line and "fail" in line)]
        assert not bad, "\n".join(bad[:20])
    finally:
        knot.stop()
        finish(s)
