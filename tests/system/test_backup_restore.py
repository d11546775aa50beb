"""Backup and restore of the store (issue 19). `tern store backup FILE` copies a running ternd's
store with SQLite's online backup API while a stream of API writes goes on: restored with `ternd
--restore FILE` on the stopped server, every write acknowledged before the backup began is there
and served, and new changes go on from the restored serials. A restore is refused -- the store left
byte for byte as it was -- while ternd runs, for a file that is not a Tern store (random bytes,
another SQLite database), for a store of a newer schema, and for a damaged one."""
import hashlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from apilib import ApiTernd, keys  # noqa: F401 (keys is a fixture)
from ternlib import TERND, free_port, terminate, wait_udp

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(TERND), "tern"))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def restore(t, backup):
    return subprocess.run([TERND, "-c", t.config, "--restore", str(backup)], capture_output=True, text=True,
                          timeout=120)


class Writer(threading.Thread):
    """PUTs of new RRsets (w<i>.<zone> A) one after another; each acknowledged one is noted with
    the time its answer came."""

    def __init__(self, t, keys, zone):
        super().__init__(daemon=True)
        self.api = t.api(keys.token("backup"))
        self.zone = zone
        self.acked = []  # (monotonic time of the answer, owner)
        self.stop = threading.Event()
        self.error = None

    def run(self):
        i = 0
        try:
            while not self.stop.is_set():
                owner = "w%d" % i
                self.api.put_rrset(self.zone, owner, "A", 300, ["192.0.2.%d" % (i % 250 + 1)])
                self.acked.append((time.monotonic(), owner))
                i += 1
        except Exception as e:  # noqa: BLE001 (reported by the test)
            self.error = e


@pytest.fixture
def servers():
    """ternd servers a test starts, stopped at its end whatever happened."""
    started = []
    yield started
    for t in started:
        t.stop()


def test_backup_under_writes_restores_every_acknowledged_write(keys, tmp_path, servers):
    (tmp_path / "srv").mkdir()
    t = ApiTernd(keys, workdir=str(tmp_path / "srv"))
    servers.append(t)
    t.start()
    api = t.api(keys.token("backup"))
    for z in ("a.backup.test", "b.backup.test"):
        api.create_zone(z)
    writer = Writer(t, keys, "a.backup.test")
    writer.start()
    try:
        while len(writer.acked) < 30:
            assert writer.error is None, writer.error
            time.sleep(0.01)
        backup = tmp_path / "store.backup"
        began = time.monotonic()
        r = subprocess.run([TERN_CLI, "store", "backup", str(backup), "--data-dir", t.data_dir],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "backup of %s/tern.db (schema version" % t.data_dir in r.stdout and "written to" in r.stdout, r.stdout
        while len([a for a in writer.acked if a[0] > began]) < 10:  # writes went on during and after it
            assert writer.error is None, writer.error
            time.sleep(0.01)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    before = [owner for at, owner in writer.acked if at < began]
    after_all = [owner for _at, owner in writer.acked]
    assert len(before) >= 30

    # refused while ternd runs on the store: nothing changes
    db = os.path.join(t.data_dir, "tern.db")
    r = restore(t, backup)
    assert r.returncode == 1 and "in use by a running ternd (pid %d)" % t.proc.pid in r.stderr, r.stderr
    assert "nothing was changed" in r.stderr
    t.stop()
    held = digest(db)

    r = restore(t, backup)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "restored %s (schema version" % backup in r.stdout and "the store it replaced is" in r.stdout, r.stdout
    assert digest(os.path.join(t.data_dir, "tern.db.before-restore")) == held  # the old one kept
    t.start()
    try:
        api = t.api(keys.token("backup"))
        def served(owner):
            ans = t.query(owner + ".a.backup.test.", "A")
            return ans.rcode() == dns.rcode.NOERROR and bool(ans.answer)

        lost = [o for o in before if not served(o)]
        assert lost == [], "acknowledged before the backup began, missing after the restore: %s" % lost[:10]
        assert not served(after_all[-1])  # the copy is a moment before the last write, not the end
        exported = api.get("/api/v1/zones/a.backup.test/export")
        assert exported.status == 200 and ("\n%s.a.backup.test.\t" % before[-1]) in exported.body.decode(), exported
        assert t.query("b.backup.test.", "SOA").answer
        # changes go on from the restored serials, and are served
        serial = t.query("a.backup.test.", "SOA").answer[0][0].serial
        api.put_rrset("a.backup.test", "after", "A", 300, ["198.51.100.9"])
        assert t.query("after.a.backup.test.", "A").answer
        assert t.query("a.backup.test.", "SOA").answer[0][0].serial != serial
    finally:
        t.stop()


def test_restore_refuses_what_is_not_a_store_it_can_take(keys, tmp_path, servers):
    (tmp_path / "srv").mkdir()
    t = ApiTernd(keys, workdir=str(tmp_path / "srv"))
    servers.append(t)
    t.start()
    t.api(keys.token("backup")).create_zone("kept.backup.test")
    backup = tmp_path / "good.backup"
    r = subprocess.run([TERN_CLI, "store", "backup", str(backup), "--data-dir", t.data_dir], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    t.stop()
    db = os.path.join(t.data_dir, "tern.db")
    held = digest(db)

    junk = tmp_path / "junk"
    junk.write_bytes(os.urandom(8192))
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(str(other)) as c:
        c.execute("CREATE TABLE notes (x TEXT)")
    newer = tmp_path / "newer.backup"
    shutil.copy(backup, newer)
    with sqlite3.connect(str(newer)) as c:
        c.execute("UPDATE schema_version SET version = 999")
    damaged = tmp_path / "damaged.backup"
    data = bytearray(open(backup, "rb").read())
    for off in range(4096, min(len(data), 4096 * 4), 97):  # pages after the first, scribbled on
        data[off] = (data[off] + 0x5A) % 256
    damaged.write_bytes(bytes(data))
    # damaged where only integrity_check looks: an index page's cells (the schema still reads)
    subtle = tmp_path / "subtle.backup"
    shutil.copy(backup, subtle)
    with sqlite3.connect(str(subtle)) as c:
        c.execute("PRAGMA writable_schema = ON")
        idx = c.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'zones' "
                        "AND sql IS NOT NULL").fetchone()
    if idx:  # the index made empty behind SQLite's back: the table and the index disagree
        with sqlite3.connect(str(subtle)) as c:
            root = c.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", idx).fetchone()[0]
            page = c.execute("PRAGMA page_size").fetchone()[0]
        data = bytearray(open(subtle, "rb").read())
        off = (root - 1) * page
        data[off + 3:off + 5] = b"\x00\x00"  # cell count 0
        subtle.write_bytes(bytes(data))
    cases = [
        (junk, "is not a Tern store"),
        (other, "no such table: schema_version"),
        (newer, "is a store of a newer ternd (schema version 999"),
        (damaged, "database disk image is malformed"),
        (tmp_path / "missing", "No such file or directory"),
        (subtle, "integrity_check"),
        (tmp_path, "is not a file"),
    ]
    for path, message in cases:
        r = restore(t, path)
        assert r.returncode == 1 and message in r.stderr and "nothing was changed" in r.stderr, (path, r.stderr)
        assert digest(db) == held, path
        assert not os.path.exists(os.path.join(t.data_dir, "tern.db.before-restore")), path
    # and the store still serves what it held
    t.start()
    try:
        assert t.query("kept.backup.test.", "SOA").answer
    finally:
        t.stop()


def test_backup_of_no_store_is_a_clear_error(tmp_path):
    r = subprocess.run([TERN_CLI, "store", "backup", str(tmp_path / "x"), "--data-dir", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "none/tern.db: No such file or directory" in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "x")
    other = tmp_path / "d"
    other.mkdir()
    with sqlite3.connect(str(other / "tern.db")) as c:
        c.execute("CREATE TABLE notes (x TEXT)")
    r = subprocess.run([TERN_CLI, "store", "backup", str(tmp_path / "x"), "--data-dir", str(other)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "is not a Tern store" in r.stderr, r.stderr
    assert not os.path.exists(tmp_path / "x") and [p for p in os.listdir(tmp_path) if ".tmp." in p] == []


def test_restore_rolls_a_secondary_back_by_ixfr(keys, tmp_path):
    """A ternd secondary took versions written after the backup: the restore writes the zone again
    (the replaced store's version at its serial, then the backup's content at the next one), and
    the secondary gets the backup's content by IXFR, the later writes gone from it too."""
    sport = free_port()
    (tmp_path / "srv").mkdir()
    t = ApiTernd(keys, workdir=str(tmp_path / "srv"), api={"soa-refresh": 1, "soa-retry": 1})
    with open(t.config, "a") as f:
        f.write('transfer:\n  allow: [127.0.0.0/8]\n  notify: ["127.0.0.1@%d"]\n' % sport)
    t.start()
    api = t.api(keys.token("backup"))
    api.create_zone("roll.backup.test")
    for i in range(5):
        api.put_rrset("roll.backup.test", "w%d" % i, "A", 300, ["192.0.2.%d" % (i + 1)])
    sec_dir = tmp_path / "sec"
    sec_dir.mkdir()
    conf = sec_dir / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: roll.backup.test\n'
                    '    primary: ["127.0.0.1@%d"]\n' % (sport, t.port))
    log = open(sec_dir / "ternd.log", "w")
    sec = subprocess.Popen([TERND, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)

    def sec_serial():
        r = dns.query.udp(dns.message.make_query("roll.backup.test.", "SOA"), "127.0.0.1", port=sport, timeout=2)
        return r.answer[0][0].serial if r.answer else None

    def sec_has(owner):
        r = dns.query.udp(dns.message.make_query(owner + ".roll.backup.test.", "A"), "127.0.0.1", port=sport,
                          timeout=2)
        return bool(r.answer)

    def wait(pred, what, timeout=30):
        deadline = time.time() + timeout
        while not pred():
            assert time.time() < deadline, "%s never came:\n%s" % (what, open(sec_dir / "ternd.log").read()[-3000:])
            time.sleep(0.05)

    try:
        wait_udp("127.0.0.1", sport, proc=sec)
        primary_serial = lambda: t.query("roll.backup.test.", "SOA").answer[0][0].serial  # noqa: E731
        s1 = primary_serial()
        wait(lambda: sec_serial() == s1, "the secondary at serial %d" % s1)
        backup = tmp_path / "roll.backup"
        r = subprocess.run([TERN_CLI, "store", "backup", str(backup), "--data-dir", t.data_dir],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        for i in range(5, 10):  # after the backup: the secondary takes them
            api.put_rrset("roll.backup.test", "w%d" % i, "A", 300, ["192.0.2.%d" % (i + 1)])
        s_old = primary_serial()
        wait(lambda: sec_serial() == s_old and sec_has("w9"), "the secondary at serial %d" % s_old)
        t.stop()
        r = restore(t, backup)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 zone(s) the replaced store held at later serials" in r.stdout, r.stdout
        mark = len(open(sec_dir / "ternd.log").read())  # the primary's NOTIFY may come as it starts
        t.start()
        s_new = primary_serial()
        assert s_new == s_old + 1, (s1, s_old, s_new)
        assert not t.query("w9.roll.backup.test.", "A").answer and t.query("w4.roll.backup.test.", "A").answer
        wait(lambda: sec_serial() == s_new, "the secondary at the restored serial %d" % s_new)
        assert not sec_has("w9") and not sec_has("w5") and sec_has("w4")
        tail = open(sec_dir / "ternd.log").read()[mark:]
        assert "IXFR from 127.0.0.1@%d: serial %d -> %d" % (t.port, s_old, s_new) in tail, tail
        # and the journal goes on: one more change reaches it by IXFR too
        api = t.api(keys.token("backup"))
        api.put_rrset("roll.backup.test", "later", "A", 300, ["198.51.100.1"])
        wait(lambda: sec_has("later"), "the change after the restore")
        assert "IXFR from 127.0.0.1@%d: serial %d -> %d" % (t.port, s_new, s_new + 1) in \
            open(sec_dir / "ternd.log").read()
    finally:
        terminate(sec)
        log.close()
        t.stop()
