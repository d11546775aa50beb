"""Turning DNSSEC off for the configuration's zones (RFC 8078), on loopback with second-scale
timings: dnssec-policy removed from a zone file's entry (and from a signing secondary's) at reload
publishes the delete CDS/CDNSKEY, keeps the zone signed (and re-signed on edits) while a fake
parent keeps the DS, then serves it unsigned once the parent dropped it (or an admin said so with
`tern dnssec ds-removed`), from the same store zone, its serial only growing, a Knot secondary
following by IXFR throughout; `ternd --check` and the reload log say what happens; the policy
given back meanwhile is refused. The stuck cases: a zone file's zone whose enabling failed goes
from the store when its entry goes, and an API zone whose keys did not load at start can still be
turned off (no delete CDS: the DS removed by hand) or deleted."""
import os
import sqlite3
import subprocess
import threading
import time

import dns.rdatatype
import pytest

from apilib import assert_error, keys  # noqa: F401 (fixture)
from knotlib import KnotPrimary, KnotSecondary, knotd_available
from ternlib import TERND, free_port, wait_log
from test_dnssec_roll import TERN_CLI, Parent
from test_xfr_signing import SigningSecondary, zone_text
from test_zonefile_signing import FileTernd, assert_verifies, axfr_text, wait_signed, write_zone
from xfrlib import soa_serial, wait_serial

ZONE = "cfgoff.test"
FQDN = ZONE + "."
DNSSEC_TYPES = {"RRSIG", "DNSKEY", "NSEC", "NSEC3", "NSEC3PARAM", "CDS", "CDNSKEY"}
TEXT = """$ORIGIN cfgoff.test.
$TTL 10
@       IN SOA ns1 hostmaster 100 7200 900 1209600 10
        IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
"""


def policy_section(parent_port=None):
    lines = ["dnssec-policies:", "  - name: fast", "    keys: csk", "    zsk-lifetime: 0", "    dnskey-ttl: 2",
             "    max-zone-ttl: 300", "    propagation-delay: 1", "    ds-ttl: 3", "    ds-check-interval: 1"]
    if parent_port:
        lines.append("    parents: [\"127.0.0.1@%d\"]" % parent_port)
    return lines


class ZoneParent(Parent):
    """test_dnssec_roll's fake parent, answering for the zone given."""

    def __init__(self, zone):
        self.zone = zone
        super().__init__()

    def answer(self, wire, tcp):
        import dns.flags
        import dns.message
        import dns.rrset
        q = dns.message.from_wire(wire)
        self.asked.append(("tcp" if tcp else "udp", q.question[0].name.to_text(), q.flags & dns.flags.RD))
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if self.ds:
            r.answer.append(dns.rrset.from_text(self.zone + ".", 10, "IN", "DS", *self.ds))
        return r.to_wire()


class PolicyFileTernd(FileTernd):
    """FileTernd with the fast policy (parents: parent_port) and dnssec-test-timings."""

    def __init__(self, keys, workdir, files, notify=None, parent_port=None):  # noqa: F811
        self.parent_port = parent_port
        super().__init__(keys, workdir, files, notify=notify)

    def write_config(self, listen, extra_server=""):
        self.listen = listen
        super().write_config(listen)
        with open(self.config) as f:
            text = f.read()
        text = text.replace("server:\n", "server:\n  dnssec-test-timings: true\n", 1)
        with open(self.config, "w") as f:
            f.write(text + "\n".join(policy_section(self.parent_port)) + "\n")

    def rewrite(self, policy):
        for name, (path, _) in self.files.items():
            self.files[name] = (path, policy)
        self.write_config(self.listen)


def check(srv):
    p = subprocess.run([TERND, "--check", "-c", srv.config], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


def admin(srv, keys):  # noqa: F811
    return srv.api(keys.token("root", admin=True))


def state(srv, keys, zone=ZONE):  # noqa: F811
    r = admin(srv, keys).get("/api/v1/zones/%s/dnssec" % zone)
    assert r.status == 200, r
    return r.json


def wait_for(what, cond, log, timeout=20.0):
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "%s never happened; log:\n%s" % (what, log()[-5000:])
        time.sleep(0.1)


def served(srv, name, rtype):
    r = srv.query(name, rtype, want_dnssec=True, tcp=True)
    return sorted(rd.to_text() for rs in r.answer if dns.rdatatype.to_text(rs.rdtype) == rtype for rd in rs)


def types_of(text):
    return {line.split()[3] for line in text.splitlines() if line.strip()}


class SerialWatch:
    """Polls the zone's SOA serial on each (addr, port) every 50 ms; .backwards lists any decrease."""

    def __init__(self, zone, servers):
        self.zone, self.servers, self.backwards, self.seen = zone, servers, [], {}
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        last = {}
        while not self.stopped:
            for s in self.servers:
                try:
                    serial = soa_serial(s[0], s[1], self.zone)
                except Exception:
                    continue
                if serial is None:
                    continue
                self.seen.setdefault(s, set()).add(serial)
                if s in last and (serial - last[s]) % 2**32 >= 2**31:
                    self.backwards.append((s, last[s], serial))
                last[s] = serial
            time.sleep(0.05)

    def stop(self):
        self.stopped = True
        self.thread.join()
        assert not self.backwards, self.backwards


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_zone_file_policy_removed_unsigns_after_the_parent_drops_the_ds(keys, tmp_path):  # noqa: F811
    parent = ZoneParent(ZONE)
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "cfgoff.zone")
    write_zone(path, TEXT)
    kport = free_port()
    srv = PolicyFileTernd(keys, str(work), {ZONE: (path, "fast")}, notify=kport, parent_port=parent.port)
    knot = KnotSecondary(tmp_path / "knot", FQDN, srv.port, port=kport, transfer=True)
    watch = None
    try:
        srv.start()
        wait_signed(srv, FQDN)
        knot.start()
        klog = lambda: knot.log_text()[-4000:]  # noqa: E731
        wait_serial("127.0.0.1", kport, FQDN, soa_serial(srv.addr, srv.port, FQDN), timeout=15, log=klog)
        watch = SerialWatch(FQDN, [(srv.addr, srv.port), ("127.0.0.1", kport)])
        d = state(srv, keys)
        assert d["state"] == "signed", d
        parent.ds = [k for k in d["keys"] if k["role"] in ("ksk", "csk")][0]["ds"][:1]  # the DS went up

        # dnssec-policy removed: --check says what a reload will do, the reload does it
        srv.rewrite(None)
        code, out = check(srv)
        assert code == 0 and "zone cfgoff.test: dnssec-policy removed: signing is turned off once the DS is " \
            "gone at the parents (RFC 8078)" in out, out
        before = soa_serial(srv.addr, srv.port, FQDN)
        srv.reload()
        wait_log(srv.log_text, "zone cfgoff.test: dnssec-policy removed: signing is turned off once the DS is gone")
        wait_for("the delete CDS", lambda: served(srv, FQDN, "CDS") == ["0 0 0 00"], srv.log_text)
        assert served(srv, FQDN, "CDNSKEY") == ["0 3 0 AA=="]
        assert "Not built yet" not in srv.log_text() and "not reloaded" not in srv.log_text()
        assert soa_serial(srv.addr, srv.port, FQDN) > before
        text = axfr_text(srv, FQDN)
        assert_verifies(text, FQDN, tmp_path)
        assert state(srv, keys)["state"] == "unsigning"

        # the policy given back meanwhile is refused (check and reload), the previous one kept
        srv.rewrite("fast")
        code, out = check(srv)
        assert code != 0 and "being turned off" in out, out
        srv.reload()
        wait_log(srv.log_text, "its signing is being turned off (dnssec-policy was removed")
        srv.rewrite(None)

        # an edit of the file while it goes off: re-signed, the delete CDS kept
        write_zone(path, TEXT + "added IN TXT \"while unsigning\"\n")
        s = soa_serial(srv.addr, srv.port, FQDN)
        srv.reload()
        wait_for("the edit", lambda: soa_serial(srv.addr, srv.port, FQDN) > s, srv.log_text)
        assert_verifies(axfr_text(srv, FQDN), FQDN, tmp_path)
        assert served(srv, FQDN, "CDS") == ["0 0 0 00"]
        assert "RRSIG" in {dns.rdatatype.to_text(rs.rdtype)
                           for rs in srv.query("added." + FQDN, "TXT", want_dnssec=True).answer}

        # the parent keeps the DS: the zone stays signed, however long
        time.sleep(5)
        assert state(srv, keys)["state"] == "unsigning" and served(srv, FQDN, "DNSKEY")
        # the registrar removes the DS: seen gone, then DS TTL 3 + propagation delay 1 later unsigned
        parent.ds = []
        wait_for("unsigned", lambda: admin(srv, keys).get("/api/v1/zones/%s/dnssec" % ZONE).json["state"]
                 == "unsigned", srv.log_text, timeout=25)
        text = axfr_text(srv, FQDN)
        assert not types_of(text) & DNSSEC_TYPES, text
        assert "added.cfgoff.test." in text
        final = soa_serial(srv.addr, srv.port, FQDN)
        wait_serial("127.0.0.1", kport, FQDN, final, timeout=15, log=klog)
        ktext = axfr_text(type("S", (), {"addr": "127.0.0.1", "port": kport}), FQDN)
        assert not types_of(ktext) & DNSSEC_TYPES, ktext

        # from here on the file feeds the same store zone, unsigned, its serial going on
        code, out = check(srv)
        assert code == 0 and "served unsigned from the store" in out, out
        write_zone(path, TEXT + "added IN TXT \"after\"\n")
        srv.reload()
        wait_for("the edit after", lambda: soa_serial(srv.addr, srv.port, FQDN) == final + 1, srv.log_text)
        assert served(srv, "added." + FQDN, "TXT") == ['"after"']
        assert "RRSIG" not in types_of(axfr_text(srv, FQDN))
        wait_serial("127.0.0.1", kport, FQDN, final + 1, timeout=15, log=klog)
        # Knot followed by IXFR only after its first transfer
        klines = knot.log_text().splitlines()
        assert len([ln for ln in klines if "IXFR, incoming" in ln and "finished" in ln]) >= 3, klog()
        assert not [ln for ln in klines if "AXFR, incoming" in ln and "finished" in ln][1:], klog()
        # a restart serves the same unsigned zone
        srv.stop()
        srv.start()
        assert soa_serial(srv.addr, srv.port, FQDN) == final + 1
        assert served(srv, FQDN, "DNSKEY") == []
        watch.stop()
        watch = None
    finally:
        if watch:
            watch.stopped = True
        knot.stop()
        srv.stop()
        parent.close()


def test_no_parents_admin_confirms_with_ds_removed(keys, tmp_path):  # noqa: F811
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "cfgoff.zone")
    write_zone(path, TEXT)
    srv = PolicyFileTernd(keys, str(work), {ZONE: (path, "fast")})
    try:
        srv.start()
        wait_signed(srv, FQDN)
        srv.rewrite(None)
        srv.reload()
        wait_for("the delete CDS", lambda: served(srv, FQDN, "CDS") == ["0 0 0 00"], srv.log_text)
        env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % srv.api_port)
        # a tenant's token does not see the zone; an admin's confirms the DS is gone
        p = subprocess.run([TERN_CLI, "dnssec", "ds-removed", ZONE], capture_output=True, text=True, timeout=30,
                           env=dict(env, TERN_TOKEN=keys.token("pop")))
        assert p.returncode != 0, p.stdout + p.stderr
        ro = srv.api(keys.token("root", admin=True, scope={"read_only": True}))
        assert_error(ro.post("/api/v1/zones/%s/dnssec/ds-removed" % ZONE, {}), 403)
        p = subprocess.run([TERN_CLI, "dnssec", "ds-removed", ZONE], capture_output=True, text=True, timeout=30,
                           env=dict(env, TERN_TOKEN=keys.token("root", admin=True)))
        assert p.returncode == 0, p.stdout + p.stderr
        wait_for("unsigned", lambda: state(srv, keys)["state"] == "unsigned", srv.log_text)
        assert not types_of(axfr_text(srv, FQDN)) & DNSSEC_TYPES
        # removed from the configuration now: it has no keys left, so it goes from the store too
        srv.files = {}
        srv.write_config(srv.listen)
        srv.reload()
        wait_log(srv.log_text, "zone cfgoff.test.: no longer in the configuration and not signed: deleted")
        assert admin(srv, keys).get("/api/v1/zones/%s" % ZONE).status == 404
    finally:
        srv.stop()


def test_zone_file_zone_whose_enabling_failed_goes_with_its_entry(keys, tmp_path):  # noqa: F811
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "cfgoff.zone")
    write_zone(path, TEXT)
    srv = PolicyFileTernd(keys, str(work), {})
    try:
        srv.start()  # the store made, then keys made impossible
        srv.stop()
        db = sqlite3.connect(os.path.join(srv.data_dir, "tern.db"))
        db.execute("CREATE TRIGGER nokeys BEFORE INSERT ON dnssec_keys BEGIN SELECT RAISE(ABORT, 'no keys'); END")
        db.commit()
        db.close()
        srv.files = {ZONE: (path, "fast")}
        srv.write_config(srv.listen)
        srv.start()
        wait_log(srv.log_text, "zone %s (%s:" % (ZONE, srv.config))
        assert "no keys" in srv.log_text()
        assert state(srv, keys)["state"] == "unsigned"
        # its entry removed: no keys to keep, so it goes from the store and the name is free again
        srv.files = {}
        srv.write_config(srv.listen)
        srv.reload()
        wait_log(srv.log_text, "deleted from the store")
        assert srv.query(FQDN, "SOA").rcode() != 0
        api = srv.api(keys.token("pop"))
        r = api.post("/api/v1/zones", {"name": ZONE, "nameservers": ["ns1.example."]})
        assert r.status == 201, r
    finally:
        srv.stop()


def test_api_zone_whose_keys_did_not_load_can_be_unsigned_or_deleted(keys, tmp_path):  # noqa: F811
    from test_dnssec_roll import ternd
    srv = ternd(keys, tmp_path, test_timings=True)
    try:
        api = srv.api(keys.token("pop"))
        fast = {"ksk-lifetime": 0, "zsk-lifetime": 0, "dnskey-ttl": 2, "max-zone-ttl": 10, "propagation-delay": 1,
                "ds-ttl": 3, "keys": "csk"}
        for z in ("one.test", "two.test"):
            api.create_zone(z, rrsets=[{"name": "www", "type": "A", "ttl": 10, "records": ["192.0.2.1"]}])
            assert api.put("/api/v1/zones/%s/dnssec" % z, fast).status == 202
            wait_for("signed", lambda: api.get("/api/v1/zones/%s/dnssec" % z).json["state"] == "signed",
                     srv.log_text)
        srv.stop()
        db = sqlite3.connect(os.path.join(srv.data_dir, "tern.db"))
        db.execute("UPDATE dnssec_keys SET private_key = CAST('-----BEGIN PRIVATE KEY-----\nbroken' AS BLOB)")
        db.commit()
        db.close()
        srv.start()
        api = srv.api(keys.token("pop"))
        assert "could not be loaded" in api.get("/api/v1/zones/one.test/dnssec").json["signer"]["error"]
        # turned off: no delete CDS can be signed, so the DS is removed by hand and confirmed
        r = api.delete("/api/v1/zones/one.test/dnssec")
        assert r.status == 202 and r.json["state"] == "unsigning", r
        wait_log(srv.log_text, "its keys could not be loaded, so no delete CDS is published")
        assert served(srv, "one.test.", "CDS") != ["0 0 0 00"]
        srv.stop()  # the state survives a restart, the keys still unloadable
        srv.start()
        api = srv.api(keys.token("pop"))
        assert api.get("/api/v1/zones/one.test/dnssec").json["state"] == "unsigning"
        assert api.post("/api/v1/zones/one.test/dnssec/ds-removed", {}).status == 200
        wait_for("unsigned", lambda: api.get("/api/v1/zones/one.test/dnssec").json["state"] == "unsigned",
                 srv.log_text)
        assert served(srv, "one.test.", "DNSKEY") == [] and served(srv, "one.test.", "RRSIG") == []
        assert not types_of(axfr_text(srv, "one.test.")) & DNSSEC_TYPES
        api.put_rrset("one.test", "new", "A", 10, ["192.0.2.9"])  # writes go on, unsigned
        # the other one is deleted by an admin
        r = admin(srv, keys).delete("/api/v1/zones/two.test")
        assert r.status in (200, 204), r
        assert srv.query("two.test.", "SOA").rcode() != 0
    finally:
        srv.stop()


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_signed_secondary_policy_removed_unsigns(keys, tmp_path):  # noqa: F811
    bz, bfqdn = "bump.test", "bump.test."
    parent = ZoneParent(bz)
    tport, kport = free_port(), free_port()
    knot = KnotPrimary(tmp_path / "primary", bz, zone_text(1), notify_port=tport, port=kport, journal="changes")
    ks = KnotSecondary(tmp_path / "secondary", bz, tport)

    class Fast(SigningSecondary):
        def write_config(self, listen, extra_server=""):
            super().write_config(listen)
            with open(self.config) as f:
                text = f.read()
            text = text.replace("server:\n", "server:\n  dnssec-test-timings: true\n", 1)
            with open(self.config, "w") as f:
                f.write(text + "\n".join(policy_section(parent.port)) + "\n")

    work = tmp_path / "ternd"
    os.makedirs(str(work))
    t = Fast(keys, str(work), tport, kport, ks.port, policy="fast")
    watch = None
    try:
        knot.start()
        t.start()
        wait_signed(t, bfqdn)
        ks.start()
        s1 = soa_serial(t.addr, t.port, bfqdn)
        ks.wait_soa(bfqdn, s1)
        watch = SerialWatch(bfqdn, [(t.addr, t.port), ("127.0.0.1", ks.port)])
        d = state(t, keys, bz)
        parent.ds = [k for k in d["keys"] if k["role"] in ("ksk", "csk")][0]["ds"][:1]
        t.policy = None
        t.write_config(["127.0.0.1@%d" % t.port])
        t.reload()
        wait_log(t.log_text, "zone bump.test: dnssec-policy removed: signing is turned off once the DS is gone")
        wait_for("the delete CDS", lambda: served(t, bfqdn, "CDS") == ["0 0 0 00"], t.log_text)
        # a change at the primary while it goes off: pulled, re-signed, still signed
        knot.commit(("set", "new", "300", "A", "192.0.2.77"))
        wait_for("the IXFR from the primary", lambda: served(t, "new." + bfqdn, "A") == ["192.0.2.77"], t.log_text)
        assert served(t, "new." + bfqdn, "RRSIG")
        assert_verifies(axfr_text(t, bfqdn), bfqdn, tmp_path)
        parent.ds = []
        wait_for("unsigned", lambda: state(t, keys, bz)["state"] == "unsigned", t.log_text, timeout=25)
        assert not types_of(axfr_text(t, bfqdn)) & DNSSEC_TYPES
        final = soa_serial(t.addr, t.port, bfqdn)
        ks.wait_soa(bfqdn, final)
        # the primary's next change still comes through, unsigned, the serial going on
        knot.commit(("set", "after", "300", "A", "192.0.2.78"))
        wait_for("the change after", lambda: served(t, "after." + bfqdn, "A") == ["192.0.2.78"], t.log_text)
        assert served(t, "after." + bfqdn, "RRSIG") == []
        assert soa_serial(t.addr, t.port, bfqdn) == final + 1
        ks.wait_soa(bfqdn, final + 1)
        assert "IXFR, incoming" in ks.log_text()
        watch.stop()
        watch = None
    finally:
        if watch:
            watch.stopped = True
        for x in (ks, t, knot):
            x.stop()
        parent.close()


def test_check_does_not_migrate_an_older_store(keys, tmp_path):  # noqa: F811
    """`ternd --check` reads the store's schema version read-only: a store from an older ternd (a
    package upgrade checks the new configuration while the old ternd still runs) is left at its
    version, the check says ternd upgrades it when it starts, and the start does."""
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "cfgoff.zone")
    write_zone(path, TEXT)
    srv = PolicyFileTernd(keys, str(work), {ZONE: (path, "fast")})
    try:
        srv.start()
        wait_signed(srv, FQDN)
    finally:
        srv.stop()
    db = os.path.join(srv.data_dir, "tern.db")
    with sqlite3.connect(db) as con:
        now = con.execute("SELECT version FROM schema_version").fetchone()[0]
        # back to the version before the last migration (16 added the ownership claims)
        con.execute("DROP TABLE ownership")
        con.execute("UPDATE schema_version SET version = ?", (now - 1,))
    code, out = check(srv)
    assert code == 0, out
    assert "schema is version %d, this ternd's %d: ternd upgrades it when it starts" % (now - 1, now) in out, out
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT version FROM schema_version").fetchone()[0] == now - 1
        con.execute("UPDATE schema_version SET version = ?", (now + 5,))
    code, out = check(srv)
    assert code != 0 and "newer than this ternd's" in out, out
    with sqlite3.connect(db) as con:
        con.execute("UPDATE schema_version SET version = ?", (now - 1,))
    srv.start()
    try:
        wait_signed(srv, FQDN)
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT version FROM schema_version").fetchone()[0] == now
    finally:
        srv.stop()
