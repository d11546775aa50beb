"""The PostgreSQL store (api.store): the API test files run unchanged on it (TERN_STORE=pg, a
pytest of their own with its own PostgreSQL 15 server), ternd --check refuses a location that does
not parse and a database newer than itself, two ternd starting together on an empty database
migrate it once, and PostgreSQL stopped under ternd answers 503 with Retry-After, DNS serving on,
until the server is back: then writes go through again without restarting ternd; a primary killed
and its synchronous standby promoted loses no acknowledged write (multi-host location); two ternd
on one database serve each other's writes (LISTEN/NOTIFY), a PostgreSQL restart included."""
import os
import subprocess
import sys
import threading
import time

import pytest

import pglib
import ternlib
from apilib import ApiTernd, assert_error, assert_served, finish, keys  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = 16  # the store's schema version (store_sqlite_schema.c, store_pg_schema.c)

# API test files run again on PostgreSQL, with the tests that reach into the SQLite file left out
PG_FILES = ["test_api_crud.py", "test_api_review.py", "test_api_durability.py", "test_api_group_commit.py",
            "test_zone_recreate.py", "test_ixfr_out.py", "test_usage.py", "test_ddns_api.py"]
SQLITE_ONLY = ["test_approval_is_one_transaction"]  # puts a trigger into tern.db

pytestmark = pytest.mark.skipif(pglib.available() is not None, reason=pglib.available() or "")


@pytest.fixture
def pg():
    """A PostgreSQL server of this test's own (stopping it disturbs no other test)."""
    s = pglib.PgServer().start()
    try:
        yield s
    finally:
        s.destroy()


def pg_ternd(keys, directory, conninfo):  # noqa: F811
    """An ApiTernd (not started) whose store is conninfo, in directory (made)."""
    os.makedirs(str(directory), exist_ok=True)
    return ApiTernd(keys, workdir=str(directory), api={"store": '"%s"' % conninfo})


def check(srv):
    """ternd --check on srv's configuration: (exit code, stdout + stderr)."""
    r = subprocess.run([ternlib.TERND, "--check", "-c", srv.config], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_api_files_pass_on_postgresql():
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    env = dict(os.environ, TERN_STORE="pg")
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_XDIST_WORKER_COUNT", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    argv += [os.path.join(HERE, f) for f in PG_FILES]
    argv += ["-k", " and ".join("not " + t for t in SQLITE_ONLY)]
    r = subprocess.run(argv, cwd=HERE, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, "API tests on PostgreSQL:\n" + (r.stdout + r.stderr)[-8000:]
    assert " passed" in r.stdout and "skipped" not in r.stdout.splitlines()[-1], r.stdout[-2000:]


def test_check_refuses_a_location_that_does_not_parse(tmp_path, keys):  # noqa: F811
    for i, (location, reason) in enumerate([("postgresql://tern:sekrit@db.example/tern?bogus=1", 'invalid URI query parameter: "bogus"'),
                             ("host=db.example password=sekrit nonsense=1", 'invalid connection option "nonsense"'),
                             ("host='db.example password=sekrit", "unterminated quoted string")]):
        (tmp_path / str(i)).mkdir()
        srv = ApiTernd(keys, workdir=str(tmp_path / str(i)), api={"store": '"%s"' % location})
        rc, out = check(srv)
        assert rc != 0, out
        assert "does not parse" in out and reason in out, out
        assert "sekrit" not in out, "the password is in the output:\n" + out
        # ternd itself does not start on it either
        p = subprocess.run([ternlib.TERND, "-c", srv.config], capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and reason in p.stdout + p.stderr, p.stdout + p.stderr


def test_check_refuses_a_database_newer_than_ternd(pg, tmp_path, keys):  # noqa: F811
    conninfo, db = pg.new_database()
    srv = pg_ternd(keys, tmp_path / "a", conninfo)
    rc, out = check(srv)
    assert rc == 0, out  # an empty database: ternd makes the schema when it starts
    srv.start()
    finish(srv)
    assert pg.psql("SELECT version FROM schema_version", db) == str(SCHEMA)
    rc, out = check(srv)
    assert rc == 0, out
    pg.psql("UPDATE schema_version SET version = %d" % (SCHEMA + 1), db)
    rc, out = check(srv)
    assert rc != 0 and "newer than this ternd" in out, out
    p = subprocess.run([ternlib.TERND, "-c", srv.config], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "newer than this program" in p.stdout + p.stderr, p.stdout + p.stderr


def test_two_ternd_starting_together_migrate_once(pg, tmp_path, keys):  # noqa: F811
    conninfo, db = pg.new_database()
    a = pg_ternd(keys, tmp_path / "a", conninfo)
    b = pg_ternd(keys, tmp_path / "b", conninfo)
    try:
        a.launch()
        b.launch()
        for s in (a, b):
            ternlib.wait_udp(s.addr, s.port, proc=s.proc, timeout=30)
        assert pg.psql("SELECT count(*), max(version) FROM schema_version", db) == "1|%d" % SCHEMA
        # one database: a zone made through one is in the other's store (served there after a restart)
        api_a = a.api(keys.token("acme"))
        api_a.create_zone("shared.test")
        api_a.put_rrset("shared.test", "www", "A", 60, ["192.0.2.7"])
        b.stop()
        b.start()
        assert_served(b, "www.shared.test", "A", ["192.0.2.7"])
        assert b.api(keys.token("acme")).zone("shared.test")["serial"] == api_a.zone("shared.test")["serial"]
    finally:
        finish(a)
        finish(b)


def wait_served(srv, name, rdtype, texts, timeout=1.0):
    """Waits until name/rdtype is served as texts (None: not at all); the seconds it took."""
    from apilib import answer_texts
    t0 = time.time()
    while True:
        r = srv.query(name, rdtype)
        got = answer_texts(r, name, rdtype)
        if got == (set(texts) if texts is not None else None):
            return time.time() - t0
        assert time.time() - t0 < timeout, "%s %s not served as %s within %.1f s:\n%s" % (
            name, rdtype, texts, timeout, r.to_text())
        time.sleep(0.005)


def test_two_ternd_serve_each_others_writes(pg, tmp_path, keys):  # noqa: F811
    """Two control nodes on one database: a write through either is served by both within a second
    (LISTEN/NOTIFY), a zone made or deleted through one is made or deleted on the other, and writes
    through both to one zone keep one line of serials (the journal's serials follow each other)."""
    conninfo, db = pg.new_database()
    a = pg_ternd(keys, tmp_path / "a", conninfo)
    b = pg_ternd(keys, tmp_path / "b", conninfo)
    try:
        a.start()
        b.start()
        api_a, api_b = a.api(keys.token("acme")), b.api(keys.token("acme"))
        api_a.create_zone("both.test")
        t0 = time.time()
        while b.query("both.test", "SOA").rcode() != 0 or not b.query("both.test", "SOA").answer:
            assert time.time() - t0 < 1, "a zone made through one node is not served by the other"
            time.sleep(0.005)
        took = [time.time() - t0]
        api_a.put_rrset("both.test", "www", "A", 60, ["192.0.2.1"])
        took.append(wait_served(b, "www.both.test", "A", ["192.0.2.1"]))
        api_b.put_rrset("both.test", "www", "A", 60, ["192.0.2.2"])
        took.append(wait_served(a, "www.both.test", "A", ["192.0.2.2"]))
        # alternating writes through both: each is served by both, serials only go up
        serials = []
        for i in range(20):
            api, other = (api_a, b) if i % 2 else (api_b, a)
            deadline = time.time() + 5
            while True:  # a write racing the notice of the other node's is refused: try again
                r = api.put("/api/v1/zones/both.test/rrsets/n%d/TXT" % i, {"ttl": 60, "records": ['"%d"' % i]})
                if r.status != 503 or time.time() > deadline:
                    break
                time.sleep(0.01)
            assert r.status == 200, r
            serials.append(r.json["serial"])
            took.append(wait_served(other, "n%d.both.test" % i, "TXT", ['"%d"' % i]))
        assert serials == sorted(serials) and len(set(serials)) == len(serials), serials
        changes = api_a.get("/api/v1/zones/both.test/changes?limit=100").json["changes"]
        chain = sorted((c["serial_from"], c["serial_to"]) for c in changes if "serial_from" in c)
        for (f1, t1), (f2, t2) in zip(chain, chain[1:]):
            assert t1 == f2, chain
        api_a.delete("/api/v1/zones/both.test")
        deadline = time.time() + 1
        while b.query("both.test", "SOA").rcode() != 5 and time.time() < deadline:  # REFUSED: not served
            time.sleep(0.005)
        assert b.query("both.test", "SOA").rcode() == 5
        print("change through one node -> served by the other: max %.3f s over %d writes" % (max(took), len(took)))
    finally:
        finish(a)
        finish(b)


def test_two_ternd_follow_each_other_after_a_postgresql_restart(pg, tmp_path, keys):  # noqa: F811
    """The connection that hears the other node is lost with the server: made again (within about a
    second), with the zones changed meanwhile looked at whole, so a write through one node after
    the restart is served by the other too."""
    conninfo, db = pg.new_database()
    a = pg_ternd(keys, tmp_path / "a", conninfo)
    b = pg_ternd(keys, tmp_path / "b", conninfo)
    try:
        a.start()
        b.start()
        api_a = a.api(keys.token("acme"))
        api_a.create_zone("again.test")
        api_a.put_rrset("again.test", "www", "A", 60, ["192.0.2.1"])
        wait_served(b, "www.again.test", "A", ["192.0.2.1"])
        pg.stop("fast")
        pg.start()
        r = api_a.put("/api/v1/zones/again.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.2"]})
        assert r.status == 200, r
        wait_served(b, "www.again.test", "A", ["192.0.2.2"], timeout=5)
        assert "connecting again" in b.log_text()
    finally:
        if not pg.running():
            pg.start()
        finish(a)
        finish(b)


def test_postgresql_down_answers_503_then_recovers(pg, tmp_path, keys):  # noqa: F811
    conninfo, db = pg.new_database()
    srv = pg_ternd(keys, tmp_path, conninfo).start()
    try:
        api = srv.api(keys.token("acme"))
        api.create_zone("down.test")
        api.put_rrset("down.test", "www", "A", 60, ["192.0.2.1"])
        pg.stop("fast")
        # writes and store reads fail as 503 with Retry-After; DNS goes on serving the last versions
        for method, path, body in [("PUT", "/api/v1/zones/down.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.2"]}),
                                   ("POST", "/api/v1/zones", {"name": "new.test"}),
                                   ("GET", "/api/v1/zones/down.test/changes", None)]:
            r = api.request(method, path, body)
            assert_error(r, 503, what="%s %s with PostgreSQL down" % (method, path))
            assert r.headers.get("Retry-After") == "1", r.headers
        assert_served(srv, "www.down.test", "A", ["192.0.2.1"])
        pg.start()
        # ternd connects again by itself: the very next write and read go through
        r = api.put("/api/v1/zones/down.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.3"]})
        assert r.status == 200, r
        assert_served(srv, "www.down.test", "A", ["192.0.2.3"])
        assert api.get("/api/v1/zones/down.test/changes").status == 200
        assert srv.proc.poll() is None
    finally:
        if not pg.running():
            pg.start()
        finish(srv)


def test_writes_under_a_postgresql_restart_lose_no_acknowledged_one(pg, tmp_path, keys):  # noqa: F811
    """A stream of writes while PostgreSQL restarts (immediate: as if killed): each write is
    acknowledged (200) or refused (503), and every acknowledged one is in the store afterwards."""
    conninfo, db = pg.new_database()
    srv = pg_ternd(keys, tmp_path, conninfo).start()
    acked, other, stop = {}, [], threading.Event()
    try:
        api = srv.api(keys.token("acme"))
        api.create_zone("restart.test")

        def writer():
            w = srv.api(keys.token("acme"))
            i = 0
            while not stop.is_set():
                r = w.put("/api/v1/zones/restart.test/rrsets/w%d/A" % i, {"ttl": 60, "records": ["192.0.2.9"]})
                if r.status == 200:
                    acked["w%d" % i] = r.json["serial"]
                elif r.status != 503:
                    other.append(r)
                i += 1

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        time.sleep(1)
        pg.stop("immediate")
        time.sleep(0.5)
        pg.start()
        n = len(acked)
        deadline = time.time() + 20
        while len(acked) < n + 20 and time.time() < deadline:
            time.sleep(0.1)
        stop.set()
        t.join(30)
        assert not other, other
        assert len(acked) >= n + 20, "writes did not resume after the restart (%d acknowledged)" % len(acked)
        apex = (b"\x07restart\x04test\x00").hex()
        stored = set(pg.psql("SELECT encode(substring(owner from 2 for get_byte(owner, 0)), 'escape') FROM rrsets r"
                             " JOIN zones z ON z.id = r.zone_id WHERE z.apex = '\\x%s'::bytea AND r.type = 1" % apex,
                             db).split())
        missing = sorted(set(acked) - stored)
        assert not missing, "acknowledged writes missing from the store: %s" % missing[:10]
        serial = int(pg.psql("SELECT serial FROM zones WHERE apex = '\\x%s'::bytea" % apex, db))
        assert serial == api.serial("restart.test") and serial >= max(acked.values())
    finally:
        stop.set()
        if not pg.running():
            pg.start()
        finish(srv)


def test_primary_killed_standby_promoted_no_acknowledged_write_lost(tmp_path, keys):  # noqa: F811
    """A primary with a synchronous streaming standby (pg_basebackup -R), ternd on both hosts
    (target_session_attrs=read-write): the primary killed under a stream of writes, the standby
    promoted; ternd finds the new primary by itself, every acknowledged write is on it, and the
    first write acknowledged after the promotion comes within seconds (measured, printed)."""
    primary = pglib.PgServer().start()
    standby = None
    srv = None
    stop = threading.Event()
    try:
        conninfo, db = primary.new_database()
        standby = pglib.PgStandby(primary).start()
        deadline = time.time() + 30
        while primary.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") != "1":
            assert time.time() < deadline, "the standby does not stream"
            time.sleep(0.1)
        primary.psql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        primary.psql("SELECT pg_reload_conf()")
        location = "host=%s,%s user=postgres dbname=%s target_session_attrs=read-write connect_timeout=2" % (
            primary.sock, standby.sock, db)
        srv = pg_ternd(keys, tmp_path, location).start()
        api = srv.api(keys.token("acme"))
        api.create_zone("failover.test")
        acked, other = {}, []

        def writer():
            w = srv.api(keys.token("acme"))
            i = 0
            while not stop.is_set():
                r = w.put("/api/v1/zones/failover.test/rrsets/w%d/A" % i, {"ttl": 60, "records": ["192.0.2.9"]})
                if r.status == 200:
                    acked["w%d" % i] = time.time()
                elif r.status != 503:
                    other.append(r)
                i += 1

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        time.sleep(1)
        primary.stop("immediate")
        killed = time.time()
        standby.promote()
        promoted = time.time()
        deadline = promoted + 30
        while not any(at > promoted for at in acked.values()) and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        t.join(30)
        assert not other, other
        after = sorted(at for at in acked.values() if at > promoted)
        assert after, "no write acknowledged within 30 s of the promotion"
        print("failover: primary killed, standby promoted in %.2f s; first acknowledged write %.2f s after the "
              "promotion (%.2f s after the kill); %d writes acknowledged" % (
                  promoted - killed, after[0] - promoted, after[0] - killed, len(acked)))
        assert after[0] - promoted < 10
        apex = (b"\x08failover\x04test\x00").hex()
        stored = set(standby.psql("SELECT encode(substring(owner from 2 for get_byte(owner, 0)), 'escape') FROM"
                                  " rrsets r JOIN zones z ON z.id = r.zone_id WHERE z.apex = '\\x%s'::bytea"
                                  " AND r.type = 1" % apex, db).split())
        missing = sorted(set(acked) - stored)
        assert not missing, "acknowledged writes missing after the failover: %s" % missing[:10]
    finally:
        stop.set()
        if srv is not None:
            finish(srv)
        if standby is not None:
            standby.destroy()
        primary.destroy()
