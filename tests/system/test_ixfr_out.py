"""IXFR out (RFC 1995) from the API store's journal: only the changes since the client's serial,
one SOA when it is up to date, the whole zone when the journal does not reach back; Knot as an
IXFR client of ternd."""
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from apilib import ApiTernd, finish, keys, zonefile  # noqa: F401 (fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import free_port
from xfrlib import api_primary, api_transfer_ternd, wait_serial

ZONE = "ixfr.test."


def transfer(addr, port, rdtype="AXFR", serial=0):
    """Every message of a transfer; dnspython follows RFC 1995's forms to find its end."""
    return list(dns.query.xfr(addr, ZONE, rdtype=rdtype, serial=serial, port=port, timeout=5,
                              relativize=False))


def single_soa(msgs):
    """Up to date: one message with one SOA and nothing else (RFC 1995 2)."""
    return len(msgs) == 1 and len(msgs[0].answer) == 1 and len(msgs[0].answer[0]) == 1


def records(msgs):
    """Records in the order sent (dnspython merges consecutive records of one RRset)."""
    return [(r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype), r.ttl, rd.to_text())
            for m in msgs for r in m.answer for rd in r]


def diffs(recs):
    """The changes of an incremental answer: [(from, to, removed, added)]."""
    assert recs[0][1] == "SOA" and recs[1][1] == "SOA", "not an incremental answer: %s" % recs[:3]
    out, i, body = [], 1, recs[1:-1]
    i = 0
    while i < len(body):
        old = body[i]
        assert old[1] == "SOA"
        i += 1
        removed = []
        while body[i][1] != "SOA":
            removed.append(body[i])
            i += 1
        new = body[i]
        i += 1
        added = []
        while i < len(body) and body[i][1] != "SOA":
            added.append(body[i])
            i += 1
        out.append((int(old[3].split()[2]), int(new[3].split()[2]), removed, added, old, new))
    return out


def apply(state, changes):
    state = set(state)
    for _f, _t, removed, added, old, new in changes:
        for r in [old] + removed:
            assert r in state, "IXFR removes %s, which the zone does not hold" % (r,)
            state.remove(r)
        for r in [new] + added:
            assert r not in state, "IXFR adds %s twice" % (r,)
            state.add(r)
    return state


def axfr_state(srv):
    msgs = transfer(srv.addr, srv.port)
    recs = records(msgs)
    return set(recs[:-1])


@pytest.fixture
def srv(tmp_path, keys):  # noqa: F811
    s = api_transfer_ternd(keys, tmp_path)
    try:
        yield s
    finally:
        finish(s)


def test_ixfr_sends_only_the_changes(srv):
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("ixfr.test", rrsets=[
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]},
        {"name": "old", "type": "TXT", "ttl": 60, "records": ["\"bye\""]}])
    s0 = api.serial("ixfr.test")
    before = axfr_state(srv)
    api.put_rrset("ixfr.test", "www", "A", 300, ["192.0.2.1", "192.0.2.2", "192.0.2.9"])
    api.put_rrset("ixfr.test", "mail", "MX", 300, ["10 mx.example."])
    assert api.delete("/api/v1/zones/ixfr.test/rrsets/old/TXT").status < 300
    api.put_rrset("ixfr.test", "www", "A", 600, ["192.0.2.1", "192.0.2.2", "192.0.2.9"])
    s4 = api.serial("ixfr.test")
    after = axfr_state(srv)

    recs = records(transfer(srv.addr, srv.port, "IXFR", s0))
    changes = diffs(recs)
    assert [(c[0], c[1]) for c in changes] == [(s0, s0 + 1), (s0 + 1, s0 + 2), (s0 + 2, s0 + 3), (s0 + 3, s4)]
    # one record of a three-record RRset changed: one out, one in (not the whole RRset)
    assert changes[0][2] == [("www.ixfr.test.", "A", 300, "192.0.2.3")]
    assert changes[0][3] == [("www.ixfr.test.", "A", 300, "192.0.2.9")]
    assert changes[1][2] == [] and changes[1][3] == [("mail.ixfr.test.", "MX", 300, "10 mx.example.")]
    assert changes[2][2] == [("old.ixfr.test.", "TXT", 60, "\"bye\"")] and changes[2][3] == []
    # a TTL change sends the RRset out and in again
    assert len(changes[3][2]) == 3 and len(changes[3][3]) == 3
    assert apply(before, changes) == after

    # from a serial in the middle: the tail of the history
    mid = diffs(records(transfer(srv.addr, srv.port, "IXFR", s0 + 2)))
    assert [(c[0], c[1]) for c in mid] == [(s0 + 2, s0 + 3), (s0 + 3, s4)]


def test_ixfr_up_to_date_gets_one_soa(srv):
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("ixfr.test")
    api.put_rrset("ixfr.test", "www", "A", 300, ["192.0.2.1"])
    s = api.serial("ixfr.test")
    for serial in (s, s + 5):
        msgs = transfer(srv.addr, srv.port, "IXFR", serial)
        assert single_soa(msgs), records(msgs)
        assert msgs[0].answer[0][0].serial == s


def test_ixfr_falls_back_to_the_whole_zone(srv):
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("ixfr.test")
    api.put_rrset("ixfr.test", "www", "A", 300, ["192.0.2.1"])
    s = api.serial("ixfr.test")
    whole = axfr_state(srv)
    # a serial the journal never had: AXFR form (SOA, the zone, SOA)
    for serial in ((s - 1000) % 2**32, (s - 2) % 2**32):  # older than s, never in the journal
        recs = records(transfer(srv.addr, srv.port, "IXFR", serial))
        assert recs[1][1] != "SOA" and recs[0] == recs[-1]
        assert set(recs[:-1]) == whole


def test_ixfr_without_soa_is_formerr(srv):
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("ixfr.test")
    q = dns.message.make_query(ZONE, "IXFR")
    r = dns.query.tcp(q, srv.addr, port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.FORMERR
    # an SOA for another name is no starting point either
    q.authority.append(dns.rrset.from_text("other.test.", 0, "IN", "SOA", "a. b. 1 1 1 1 1"))
    r = dns.query.tcp(q, srv.addr, port=srv.port, timeout=5)
    assert r.rcode() == dns.rcode.FORMERR


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_secondary_takes_ixfr(tmp_path, keys):  # noqa: F811
    """Knot, a secondary of ternd, refreshes by IXFR after API changes, and ends with ternd's zone."""
    kport = free_port()
    s, api = api_primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % kport], "ixfr.test",
                         [{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    knot = KnotSecondary(tmp_path / "knot", ZONE, s.port, port=kport, transfer=True, log_level="debug")
    try:
        knot.start()
        knot_log = lambda: knot.log_text()[-4000:]  # noqa: E731
        wait_serial("127.0.0.1", kport, ZONE, api.serial("ixfr.test"), timeout=15, log=knot_log)
        for i in range(2, 5):
            api.put_rrset("ixfr.test", "www", "A", 300, ["192.0.2.%d" % i, "192.0.2.100"])
            wait_serial("127.0.0.1", kport, ZONE, api.serial("ixfr.test"), timeout=15, log=knot_log)
        text = knot.log_text()
        incoming = [line for line in text.splitlines() if "IXFR, incoming" in line]
        assert incoming, text[-4000:]
        assert not [line for line in text.splitlines() if "AXFR-style" in line or "fallback to AXFR" in line], \
            text[-4000:]
        # what Knot serves equals ternd's zone
        knot_axfr = records(transfer("127.0.0.1", kport))
        assert set(knot_axfr[:-1]) == axfr_state(s)
    finally:
        knot.stop()
        finish(s)


def test_journal_keeps_the_newest_changes(tmp_path, keys):  # noqa: F811
    """api.journal-keep bounds the history: older changes are dropped, and an IXFR from before
    them gets the whole zone."""
    s = api_transfer_ternd(keys, tmp_path, api={"journal-keep": 3})
    try:
        api = s.api(s.keys.token("t1"))
        api.create_zone("ixfr.test")
        s0 = api.serial("ixfr.test")
        for i in range(6):
            api.put_rrset("ixfr.test", "www", "A", 300, ["192.0.2.%d" % (i + 1)])
        r = api.get("/api/v1/zones/ixfr.test/changes")
        assert [c["serial_to"] for c in r.json["changes"]] == [s0 + 6, s0 + 5, s0 + 4]
        assert [(c[0], c[1]) for c in diffs(records(transfer(s.addr, s.port, "IXFR", s0 + 3)))] == [
            (s0 + 3, s0 + 4), (s0 + 4, s0 + 5), (s0 + 5, s0 + 6)]
        recs = records(transfer(s.addr, s.port, "IXFR", s0 + 2))
        assert recs[1][1] != "SOA" and set(recs[:-1]) == axfr_state(s)
    finally:
        finish(s)


def test_long_journal_is_trimmed_in_batches(tmp_path, keys):  # noqa: F811
    """Over 64 entries the journal is trimmed on some writes only: it keeps at least journal-keep
    changes and never grows far past it."""
    s = ApiTernd(keys, workdir=str(tmp_path), api={"serial-policy": "increment", "journal-keep": 80})
    s.start()
    try:
        api = s.api(s.keys.token("t1"))
        api.create_zone("ixfr.test")
        for i in range(400):
            api.put_rrset("ixfr.test", "www", "A", 300, ["10.0.%d.%d" % (i // 256, i % 256)])
        count, cursor = 0, None
        while True:
            r = api.get("/api/v1/zones/ixfr.test/changes?limit=1000" + ("&cursor=%d" % cursor if cursor else ""))
            count += len(r.json["changes"])
            cursor = r.json["next"]
            if cursor is None:
                break
        assert 80 <= count <= 180, count
    finally:
        finish(s)


def test_whole_zone_import_is_journaled_without_its_records(srv):
    """An import of 12,000 records into an empty zone is a whole-zone replacement: its journal entry
    holds no records (`"whole": true`; storing them would hold the zone in memory twice over), an
    IXFR from before it is the whole zone, and the changes after it go out as deltas."""
    api = srv.api(srv.keys.token("t1"))
    api.create_zone("ixfr.test")
    s0 = api.serial("ixfr.test")
    text = zonefile("ixfr.test", *("h%d 300 IN A 10.%d.%d.%d" % (i, i >> 16 & 255, i >> 8 & 255, i & 255)
                                   for i in range(12000)))
    r = api.post("/api/v1/zones/ixfr.test/import", text)
    assert r.status == 200, r
    s1 = api.serial("ixfr.test")
    entry = api.get("/api/v1/zones/ixfr.test/changes?limit=1").json["changes"][0]
    assert (entry["serial_from"], entry["serial_to"]) == (s0, s1), entry
    assert entry.get("whole") is True and entry["removed"] == [] and entry["added"] == [], entry
    whole = axfr_state(srv)
    assert len([r for r in whole if r[1] == "A"]) == 12000
    recs = records(transfer(srv.addr, srv.port, "IXFR", s0))
    assert recs[1][1] != "SOA" and recs[0] == recs[-1]  # AXFR form: SOA, the zone, SOA
    assert set(recs[:-1]) == whole
    api.put_rrset("ixfr.test", "h7", "A", 300, ["192.0.2.7"])
    changes = diffs(records(transfer(srv.addr, srv.port, "IXFR", s1)))
    assert [(c[0], c[1]) for c in changes] == [(s1, api.serial("ixfr.test"))]
    assert changes[0][2] == [("h7.ixfr.test.", "A", 300, "10.0.0.7")]
    assert changes[0][3] == [("h7.ixfr.test.", "A", 300, "192.0.2.7")]
    assert "whole" not in api.get("/api/v1/zones/ixfr.test/changes?limit=1").json["changes"][0]
