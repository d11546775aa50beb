"""tern store copy SRC DST (issue 24): a whole store between SQLite and PostgreSQL, either way. A
store filled through the API (zones with records and history, a deleted zone's past serial, a
locked zone, a proposal, a signed zone with its keys and key journal, a TSIG key, a service, usage)
is copied from SQLite into an empty PostgreSQL database: every row is there as it was, and ternd
started on the copy answers the API, AXFR and IXFR exactly as on the original (same serials, same
history, same keys). Copied back from PostgreSQL into a new SQLite file, the same again. Refused,
the destination left as it was: a missing or non-store source, an unparsable location, a
destination holding rows, a source or destination of another schema version, and a copy failing
half-way (one transaction: nothing of it stays)."""
import os
import shutil
import sqlite3
import subprocess
import time

import dns.query
import dns.rdatatype
import pytest

import pglib
import ternlib
from apilib import ApiTernd, keys  # noqa: F401 (keys is a fixture)

SCHEMA = 16  # the store's schema version (store_sqlite_schema.c, store_pg_schema.c; test_pg_store.py's too)

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(ternlib.TERND), "tern"))
TENANT, OTHER = "copy", "copy-other"
SERVICES_ZONE = "svc.copy.test"

# The tables a copy carries and their columns: (name, columns, kinds: i integer, b boolean, t text,
# x bytes), as in both schemas; compared row for row between source and destination.
TABLES = [
    ("zones", "id apex sort_key tenant serial serial_policy locked lock_reason created_at updated_at journal_seq "
     "signed_downstream", "ixxtitbtiiib"),
    ("rrsets", "zone_id sort_key type owner ttl count rdata ttls", "ixixiixx"),
    ("journal", "zone_id id serial_from serial_to changed_at principal removed added", "iiiiitxx"),
    ("past_serials", "apex serial deleted_at", "xii"),
    ("proposals", "id zone_id author body status reviewer applier created_at reviewed_at applied_at", "iitttttiii"),
    ("dnssec_zones", "zone_id policy_name algorithm denial nsec3_opt_out csk ksk_lifetime zsk_lifetime csk_lifetime "
     "dnskey_ttl max_zone_ttl propagation_delay rrsig_lifetime rrsig_refresh rrsig_jitter rrsig_inception cds "
     "parents state updated_at ds_ttl ds_check_interval rfc5011 add_holddown remove_holddown unsigning_at "
     "ds_gone_at", "ititbbiiiiiiiiiibttiiibiiii"),
    ("dnssec_keys", "id zone_id key_tag algorithm flags role public_key private_key state created_at publish_at "
     "ready_at active_at retire_at remove_at revoke_at use_bits since ds_seen", "iiiiitxxtiiiiiiiiib"),
    ("dnssec_key_journal", "id zone_id changed_at key_tag from_state to_state reason", "iiiittt"),
    ("services", "id tenant canonical deployment created_at updated_at", "ttxtii"),
    ("service_certs", "service_id names state chain private_key not_before not_after issued_at order_url attempts "
     "fail_step fail_status fail_message fail_problem fail_at next_at ech_key ech_config ech_old_key "
     "ech_old_config ech_rotate_at ech_drop_at publish_at updated_at", "tttttiiititittiixxxxiiii"),
    ("service_aliases", "name service_id state reason created_at checked_at", "xtttii"),
    ("acme_account", "id key_pem created_at", "iti"),
    ("tsig_keys", "name tenant algorithm secret acl created_at", "xttxti"),
    ("settings", "name value updated_at", "txi"),
    ("usage_days", "tenant day apex queries", "tixi"),
    ("ownership", "tenant name token state method evidence created_at checked_at verified_at", "txttttiii"),
]
COUNTERS = ["zones", "proposals", "dnssec_keys", "dnssec_key_journal"]

pytestmark = pytest.mark.skipif(pglib.available() is not None, reason=pglib.available() or "")


@pytest.fixture(scope="module")
def pg():
    s = pglib.PgServer().start()
    try:
        yield s
    finally:
        s.destroy()


@pytest.fixture
def servers():
    started = []
    yield started
    for t in started:
        t.stop()
        report = t.sanitizer_report()
        assert not report, report


def copy(src, dst):
    return subprocess.run([TERN_CLI, "store", "copy", src, dst], capture_output=True, text=True, timeout=300)


def sqlite_rows(path):
    """Every copied table's rows of the SQLite store at path, as text, in key order; the counters."""
    out = {}
    with sqlite3.connect("file:%s?mode=ro" % path, uri=True) as c:
        for name, cols, kinds in TABLES:
            exprs = ["CASE WHEN {0} IS NULL THEN NULL ELSE lower(hex({0})) END".format(col) if k == "x" else col
                     for col, k in zip(cols.split(), kinds)]
            rows = c.execute("SELECT %s FROM %s" % (", ".join(exprs), name)).fetchall()
            out[name] = sorted(tuple("" if v is None and k != "x" else (None if v is None else str(v))
                                     for v, k in zip(r, kinds)) for r in rows)
        for name in COUNTERS:
            seq = c.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (name,)).fetchone()
            out["counter " + name] = seq[0] if seq else 0
    return out


def pg_rows(srv, db):
    out = {}
    for name, cols, kinds in TABLES:
        exprs = []
        for col, k in zip(cols.split(), kinds):
            if k == "x":
                exprs.append("coalesce(encode(%s, 'hex'), '<null>')" % col)
            elif k == "b":
                exprs.append("%s::int::text" % col)
            else:
                exprs.append("coalesce(%s::text, '<null>')" % col)
        text = srv.psql("SELECT %s FROM %s" % (" || chr(31) || ".join(exprs), name), db=db)
        rows = []
        for line in text.split("\n") if text else []:
            rows.append(tuple(None if v == "<null>" and k == "x" else ("" if v == "<null>" else v)
                              for v, k in zip(line.split("\x1f"), kinds)))
        out[name] = sorted(rows)
    for name in COUNTERS:
        v = srv.psql("SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('%s', 'id')::regclass), 0)"
                     % name, db=db)
        out["counter " + name] = int(v)
    return out


def axfr(t, zone):
    lines = []
    for m in dns.query.xfr(t.addr, zone + ".", port=t.port, timeout=10, relativize=False):
        for rs in m.answer:
            for rd in rs:
                lines.append("%s %d %s %s" % (rs.name, rs.ttl, dns.rdatatype.to_text(rs.rdtype), rd.to_text()))
    return lines


def ixfr(t, zone, serial):
    lines = []
    for m in dns.query.xfr(t.addr, zone + ".", rdtype=dns.rdatatype.IXFR, serial=serial, port=t.port, timeout=10,
                           relativize=False):
        for rs in m.answer:
            for rd in rs:
                lines.append("%s %d %s %s" % (rs.name, rs.ttl, dns.rdatatype.to_text(rs.rdtype), rd.to_text()))
    return lines


def make_server(keys, workdir, store=None):  # noqa: F811
    os.makedirs(str(workdir), exist_ok=True)
    api = {"serial-policy": "increment"}
    if store:
        api["store"] = '"%s"' % store
    t = ApiTernd(keys, workdir=str(workdir), api=api)
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
        f.write("services:\n  zone: %s\n  regions: [{name: eu, continents: [EU]}]\n" % SERVICES_ZONE)
    return t


def wait_signed(api, zone, timeout=30.0):
    end = time.time() + timeout
    while True:
        r = api.get("/api/v1/zones/%s/dnssec" % zone)
        assert r.status == 200, r
        if r.json["state"] == "signed":
            return
        assert time.time() < end, r.json
        time.sleep(0.1)


def populate(t, keys):  # noqa: F811
    api, other = t.api(keys.token(TENANT)), t.api(keys.token(OTHER))
    api.create_zone(SERVICES_ZONE)
    api.create_zone("a.copy.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    for i in range(5):  # history
        api.put_rrset("a.copy.test", "h%d" % i, "TXT", 60, ['"change %d"' % i])
    api.put_rrset("a.copy.test", "www", "A", 300, ["192.0.2.2", "192.0.2.3"])
    assert api.delete("/api/v1/zones/a.copy.test/rrsets/h0/TXT").status in (200, 204)
    other.create_zone("b.copy.test", rrsets=[{"name": "mail", "type": "MX", "ttl": 3600,
                                              "records": ["10 mx.b.copy.test."]}])
    api.create_zone("gone.copy.test")
    api.put_rrset("gone.copy.test", "x", "A", 60, ["192.0.2.9"])
    assert api.delete("/api/v1/zones/gone.copy.test").status in (200, 204)  # a past serial
    api.create_zone("locked.copy.test")
    assert api.put("/api/v1/zones/locked.copy.test/lock", {"reason": "copy test"}).status in (200, 204)
    r = api.post("/api/v1/zones/a.copy.test/proposals",
                 {"rrsets": [{"name": "p", "type": "A", "ttl": 60, "records": ["192.0.2.77"]}]})
    assert r.status in (200, 201, 202), r
    api.create_zone("signed.copy.test", rrsets=[{"name": "www", "type": "AAAA", "ttl": 300,
                                                 "records": ["2001:db8::1"]}])
    assert api.put("/api/v1/zones/signed.copy.test/dnssec", {}).status in (200, 202)
    wait_signed(api, "signed.copy.test")
    api.put_rrset("signed.copy.test", "after", "TXT", 60, ['"signed change"'])
    r = api.post("/api/v1/tsig-keys", {"name": "k1.copy", "acl": [{"zones": ["a.copy.test"]}]})
    assert r.status == 201, r
    r = api.post("/api/v1/services", {"deployment": {"regions": {"eu": {"ipv4": ["192.0.2.10"]}}}})
    assert r.status in (200, 201, 202), r
    r = api.post("/api/v1/ownership", {"name": "claimed.example"})  # an ownership claim (schema 16)
    assert r.status in (200, 201), r
    # queries, so there are usage rows (written by the usage module once a second)
    for _ in range(3):
        t.query("www.a.copy.test.", "A")
    time.sleep(2.5)


ZONES = ["a.copy.test", "b.copy.test", "locked.copy.test", "signed.copy.test", SERVICES_ZONE]


def observe(t, keys):  # noqa: F811
    """What the API and DNS show of the store: listings, zones, history, keys, AXFR and IXFR."""
    seen = {}
    for tenant in (TENANT, OTHER):
        api = t.api(keys.token(tenant))
        for path in ("/api/v1/zones", "/api/v1/tsig-keys", "/api/v1/services"):
            r = api.get(path)
            assert r.status == 200, (path, r)
            seen[tenant + path] = r.json
    owner = {z: (OTHER if z.startswith("b.") else TENANT) for z in ZONES}
    for z in ZONES:
        api = t.api(keys.token(owner[z]))
        for path in ("", "/changes", "/rrsets", "/dnssec", "/dnssec/journal", "/proposals", "/export"):
            r = api.get("/api/v1/zones/%s%s" % (z, path))
            # the order of records within an RRset means nothing (a zone built afresh from its rows
            # may list a DNSKEY set otherwise than the signer that made it): lines compared as sets
            seen[z + path] = (r.status, r.json if r.status == 200 and path != "/export" else
                              sorted(r.body.decode().splitlines()))
        signer = seen[z + "/dnssec"][1].get("signer") if seen[z + "/dnssec"][0] == 200 else None
        if signer:  # when the process's signer next looks at the zone: its own schedule, not the store's
            signer.pop("next_refresh", None)
        seen[z + " axfr"] = sorted(axfr(t, z))
    seen["a ixfr"] = sorted(ixfr(t, "a.copy.test", seen["a.copy.test"][1]["serial"] - 3))
    seen["signed dnskey"] = sorted(rd.to_text() for rd in t.query("signed.copy.test.", "DNSKEY").answer[0])
    return seen


def assert_rows(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if a[k] != b[k]:
            only_a = [r for r in a[k] if r not in b[k]] if isinstance(a[k], list) else a[k]
            only_b = [r for r in b[k] if r not in a[k]] if isinstance(b[k], list) else b[k]
            raise AssertionError("table %s differs:\n%r\n%r" % (k, only_a[:3], only_b[:3]))


def assert_same(before, after):
    assert before.keys() == after.keys()
    for k in before:
        if before[k] != after[k] and isinstance(before[k], tuple) and isinstance(before[k][1], dict):
            a, b = before[k][1], after[k][1]
            diff = {f: (a.get(f), b.get(f)) for f in set(a) | set(b) if a.get(f) != b.get(f)}
            raise AssertionError("%s differs: %r" % (k, diff))
        assert before[k] == after[k], "%s differs:\n%r\n%r" % (k, before[k], after[k])


def test_copy_sqlite_to_postgresql_and_back(keys, tmp_path, pg, servers):  # noqa: F811
    src = make_server(keys, tmp_path / "src")
    servers.append(src)
    src.start()
    populate(src, keys)
    before = observe(src, keys)
    assert before["signed.copy.test/dnssec"][1]["keys"], before["signed.copy.test/dnssec"]
    assert len(before["a.copy.test/changes"][1]["changes"]) >= 7
    src.stop()
    src_db = os.path.join(src.data_dir, "tern.db")
    rows = sqlite_rows(src_db)
    for name in ("zones", "rrsets", "journal", "past_serials", "proposals", "dnssec_zones", "dnssec_keys",
                 "dnssec_key_journal", "services", "tsig_keys", "usage_days", "ownership"):
        assert rows[name], "the source has no %s rows to copy" % name

    conninfo, db = pg.new_database()
    r = copy(src_db, conninfo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "copied " in r.stdout and " zones %d " % len(rows["zones"]) in r.stdout, r.stdout
    assert_rows(rows, pg_rows(pg, db))

    dst = make_server(keys, tmp_path / "pg", store=conninfo)
    servers.append(dst)
    dst.start()
    assert_same(before, observe(dst, keys))
    # it goes on from the copied serials and history
    api = dst.api(keys.token(TENANT))
    serial = api.serial("a.copy.test")
    api.put_rrset("a.copy.test", "on-pg", "A", 60, ["192.0.2.99"])
    assert api.serial("a.copy.test") == serial + 1
    after = observe(dst, keys)
    assert after["a.copy.test/changes"] != before["a.copy.test/changes"]
    dst.stop()
    pg_after = pg_rows(pg, db)

    # back: PostgreSQL into a new SQLite store, served the same
    back = make_server(keys, tmp_path / "back")
    servers.append(back)
    os.makedirs(back.data_dir, exist_ok=True)
    back_db = os.path.join(back.data_dir, "tern.db")
    r = copy(conninfo, back_db)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_rows(pg_after, sqlite_rows(back_db))
    back.start()
    assert_same(after, observe(back, keys))
    back.stop()


def test_copy_refusals_leave_the_destination_unchanged(keys, tmp_path, pg, servers):  # noqa: F811
    src = make_server(keys, tmp_path / "src")
    servers.append(src)
    src.start()
    api = src.api(keys.token(TENANT))
    api.create_zone("r.copy.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    r = api.post("/api/v1/tsig-keys", {"name": "r1.copy", "acl": [{"zones": ["r.copy.test"]}]})
    assert r.status == 201, r
    src.stop()
    src_db = os.path.join(src.data_dir, "tern.db")
    held = sqlite_rows(src_db)

    # a destination with rows: refused, untouched (PostgreSQL and SQLite)
    full, full_db = pg.new_database()
    assert copy(src_db, full).returncode == 0
    full_rows = pg_rows(pg, full_db)
    r = copy(src_db, full)
    assert r.returncode == 2 and "is not empty (table zones holds rows)" in r.stderr, r.stderr
    assert pg_rows(pg, full_db) == full_rows
    other = tmp_path / "other.db"
    shutil.copy(src_db, other)
    r = copy(full, str(other))
    assert r.returncode == 2 and "is not empty" in r.stderr, r.stderr
    assert sqlite_rows(str(other)) == held
    r = copy(src_db, src_db)
    assert r.returncode == 2 and "the same store" in r.stderr, r.stderr

    # sources that are not a store of this version; locations that do not parse
    empty, empty_db = pg.new_database()
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    notstore = tmp_path / "notstore.db"
    with sqlite3.connect(str(notstore)) as c:
        c.execute("CREATE TABLE notes (x TEXT)")
    newer = tmp_path / "newer.db"
    shutil.copy(src_db, newer)
    with sqlite3.connect(str(newer)) as c:
        c.execute("UPDATE schema_version SET version = 99")
    cases = [
        (str(tmp_path / "missing.db"), "unable to open database file"),
        (str(junk), "file is not a database"),
        (str(notstore), "no such table: schema_version"),
        (pg.new_database()[0], "is not a Tern store (it has no schema)"),
        (str(newer), "SRC %s has schema version 99, this program %d" % (newer, SCHEMA)),
        ("postgresql://tern:sekrit@db.example/tern?bogus=1", "does not parse"),
    ]
    for source, message in cases:
        r = copy(source, empty)
        assert r.returncode == 2 and message in r.stderr, (source, r.stderr)
        assert "sekrit" not in r.stderr, r.stderr
        assert pg.psql("SELECT to_regclass('zones') IS NULL", db=empty_db) == "t", source  # not even migrated
    assert not os.path.exists(str(tmp_path / "missing.db"))

    # a destination of another schema version: refused before anything is written
    pg.psql("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (14)",
            db=empty_db)
    r = copy(src_db, empty)
    assert r.returncode == 2 and "DST" in r.stderr and "has schema version 14, this program %d" % SCHEMA in r.stderr, r.stderr
    assert pg.psql("SELECT to_regclass('zones') IS NULL", db=empty_db) == "t"
    assert pg.psql("SELECT version FROM schema_version", db=empty_db) == "14"

    # a copy failing half-way (tsig_keys refuses its row): one transaction, nothing of it stays
    half, half_db = pg.new_database()
    fresh = make_server(keys, tmp_path / "fresh")
    servers.append(fresh)
    fresh.start()
    fresh.stop()
    assert copy(os.path.join(fresh.data_dir, "tern.db"), half).returncode == 0  # the schema, no rows
    pg.psql("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " RAISE EXCEPTION 'refused by the test'; END $$;"
            "CREATE TRIGGER refuse BEFORE INSERT ON tsig_keys FOR EACH ROW EXECUTE FUNCTION refuse()", db=half_db)
    r = copy(src_db, half)
    assert r.returncode == 2 and "copying table tsig_keys (row 1)" in r.stderr and "refused by the test" in r.stderr, \
        r.stderr
    assert pg.psql("SELECT count(*) FROM zones", db=half_db) == "0"
    assert pg.psql("SELECT count(*) FROM rrsets", db=half_db) == "0"
    # an SQLite destination made for a copy that fails is removed again
    made = tmp_path / "made.db"
    pg.psql("DROP TRIGGER refuse ON tsig_keys", db=half_db)
    r = copy(half, str(made))  # half is empty (no rows): an empty copy is fine
    assert r.returncode == 0, r.stderr
    os.unlink(str(made))
    r = copy(full, str(tmp_path / "nodir" / "made.db"))
    assert r.returncode == 2 and "DST" in r.stderr, r.stderr
    assert not os.path.exists(str(tmp_path / "nodir"))
    assert sqlite_rows(src_db) == held  # the source was only read


def c_tables():
    """store_copy.c's table list: {name: [columns]}."""
    import re
    text = open(os.path.join(ternlib.ROOT, "src", "ternd", "store", "store_copy.c")).read()
    body = text[text.index("tables[] = {"):text.index("#define NTABLES")]
    out = {}
    for m in re.finditer(r'\{((?:\s*"(?:[^"\\]|\\.)*"\s*,?)+)\s*(true|false)\}', body):
        strings, cur, parts = re.findall(r'"((?:[^"\\]|\\.)*)"(\s*,)?', m.group(1)), "", []
        for s, comma in strings:  # adjacent literals join; a comma ends an argument
            cur += s
            if comma:
                parts.append(cur)
                cur = ""
        name, cols, kinds = parts[0], [c.strip() for c in parts[1].split(",")], parts[2]
        assert len(cols) == len(kinds), (name, cols, kinds)
        out[name] = cols
    return out


def test_copy_carries_every_column_of_both_schemas(keys, tmp_path, pg, servers):  # noqa: F811
    """A migration adding a table or a column must add it to store_copy.c's list (and here)."""
    listed = c_tables()
    assert listed == {name: cols.split() for name, cols, _ in TABLES}
    fresh = make_server(keys, tmp_path / "fresh")
    servers.append(fresh)
    fresh.start()
    fresh.stop()
    db = os.path.join(fresh.data_dir, "tern.db")
    conninfo, name = pg.new_database()
    assert copy(db, conninfo).returncode == 0
    derived = {"schema_version", "tenant_zones", "sqlite_sequence"}  # the destination's own, or made by triggers
    with sqlite3.connect(db) as c:
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        sq = {t: sorted(r[1] for r in c.execute("PRAGMA table_info(%s)" % t)) for t in tables if t not in derived}
    rows = pg.psql("SELECT table_name || ' ' || column_name FROM information_schema.columns"
                   " WHERE table_schema = 'public'", db=name).split("\n")
    pgs = {}
    for line in rows:
        t, col = line.split(" ")
        if t not in derived:
            pgs.setdefault(t, []).append(col)
    assert sq == {t: sorted(c) for t, c in listed.items()}
    assert {t: sorted(c) for t, c in pgs.items()} == sq


def test_copy_of_a_running_store_is_one_moment(keys, tmp_path, pg, servers):  # noqa: F811
    """SRC read while ternd serves it and takes writes: the copy is one snapshot (each zone's serial
    is its journal's last serial_to, every RRset of that version), and --json reports the rows."""
    import threading
    src = make_server(keys, tmp_path / "src")
    servers.append(src)
    src.start()
    api = src.api(keys.token(TENANT))
    for z in ("m1.copy.test", "m2.copy.test"):
        api.create_zone(z)
    stop, errors = threading.Event(), []

    def writer():
        w, i = src.api(keys.token(TENANT)), 0
        try:
            while not stop.is_set():
                w.put_rrset("m%d.copy.test" % (i % 2 + 1), "w%d" % i, "A", 60, ["192.0.2.%d" % (i % 250 + 1)])
                i += 1
        except Exception as e:  # noqa: BLE001 (reported by the test)
            errors.append(e)

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    try:
        time.sleep(0.5)
        conninfo, db = pg.new_database()
        r = subprocess.run([TERN_CLI, "store", "copy", "--json", os.path.join(src.data_dir, "tern.db"), conninfo],
                           capture_output=True, text=True, timeout=300)
        time.sleep(0.3)
    finally:
        stop.set()
        th.join(30)
    assert not errors, errors
    assert r.returncode == 0, r.stderr
    import json
    doc = json.loads(r.stdout)
    assert doc["tables"]["zones"] == 2 and doc["rows"] == sum(doc["tables"].values()), doc
    assert doc["tables"]["journal"] == int(pg.psql("SELECT count(*) FROM journal", db=db))
    # every zone at its journal's last serial, and its RRsets those of that serial (one per name written)
    assert pg.psql("SELECT count(*) FROM zones z WHERE z.serial != (SELECT j.serial_to FROM journal j"
                   " WHERE j.zone_id = z.id ORDER BY j.id DESC LIMIT 1)", db=db) == "0"
    copied = int(pg.psql("SELECT count(*) FROM rrsets WHERE type = 1", db=db))
    journaled = int(pg.psql("SELECT count(*) FROM journal", db=db))  # one change per new name, none at creation
    assert copied == journaled, (copied, journaled)
    assert int(pg.psql("SELECT count(*) FROM rrsets WHERE type = 1", db=db)) < \
        len(sqlite_rows(os.path.join(src.data_dir, "tern.db"))["rrsets"])  # writes went on after the copy
