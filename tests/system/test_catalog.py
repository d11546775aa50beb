"""Catalog zones (RFC 9432, version 2). ternd produces one: every zone it serves from a zone file
or the API is a member (<sha1 of the name>.zones.<catalog> PTR <member>), secondary zones are not;
it follows API creates and deletes and SIGHUP at once, keeps ids and a rising serial across
restarts, and is transferred and NOTIFY'd like any zone, so a Knot secondary with
`catalog-role: interpret` provisions the members by itself. ternd also consumes one: a secondary
zone with `catalog: true` makes its members secondary zones pulled from the same primaries."""
import hashlib
import os
import re
import subprocess
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr
import pytest

import ternlib
from apilib import SANITIZER_MARKERS, ApiTernd, finish, keys  # noqa: F401 (keys is a fixture)
from knotlib import Knot, KnotSecondary, knotd_available
from ternlib import ZONES, Ternd, free_port

CAT = "catalog.tern."
SOA, NS, TXT, PTR = (dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.TXT, dns.rdatatype.PTR)
EXAMPLE_COM = os.path.join(ZONES, "example.com.zone")
EXAMPLE_NET = os.path.join(ZONES, "example.net.zone")
_started = []  # every server a test started: stopped when it ends, even when it fails


@pytest.fixture(autouse=True)
def _stop_leftovers():
    """Stops what a test started; every ternd must exit 0 with no sanitizer report in its log."""
    yield
    problems = []
    while _started:
        srv = _started.pop()
        rc = srv.stop()
        if isinstance(srv, Ternd):
            text = srv.log_text() if os.path.exists(srv.log) else ""
            if rc not in (0, None) or any(m in text for m in SANITIZER_MARKERS):
                problems.append("ternd in %s exited with %s:\n%s" % (srv.dir, rc, text[-3000:]))
    assert not problems, "\n".join(problems)


def member_id(name):
    """The unique id ternd gives a member: SHA-1 of its lower-cased wire name, in hex."""
    return hashlib.sha1(dns.name.from_text(name).canonicalize().to_wire()).hexdigest()


def axfr(port, zone=CAT):
    msgs = dns.query.xfr("127.0.0.1", zone, port=port, timeout=5, relativize=False)
    return [(rrset.name, rrset.rdtype, rrset.ttl, rd) for m in msgs for rrset in m.answer for rd in rrset]


def read_catalog(port, zone=CAT):
    """AXFRs the catalog and checks its RFC 9432 version 2 shape; returns (serial, {member: id})."""
    recs = axfr(port, zone)
    cat = dns.name.from_text(zone)
    version = dns.name.from_text("version", cat)
    zones = dns.name.from_text("zones", cat)
    assert recs[0][1] == SOA and recs[-1] == recs[0], "a transfer starts and ends with the SOA"
    body = recs[:-1]
    soas = [r for r in body if r[1] == SOA]
    assert len(soas) == 1 and soas[0][0] == cat
    assert [r[3].target.to_text() for r in body if r[1] == NS] == ["invalid."]  # RFC 9432 4.1
    assert [r for r in body if r[1] == NS][0][0] == cat
    versions = [r for r in body if r[0] == version]
    assert len(versions) == 1 and versions[0][1] == TXT and versions[0][3].strings == (b"2",), versions
    members, ids = {}, set()
    for name, rdtype, _ttl, rd in body:
        if name in (cat, version):
            continue
        assert name.parent() == zones, "%s is neither the version nor a member entry" % name
        assert rdtype == PTR, "%s holds a %s" % (name, dns.rdatatype.to_text(rdtype))
        label = name.labels[0].decode()
        assert re.fullmatch("[0-9a-f]{40}", label), label
        assert label not in ids, "%s has more than one PTR" % name
        ids.add(label)
        target = rd.target.to_text().lower()
        assert target not in members, "%s is listed twice" % target
        assert label == member_id(target), "%s: id %s is not the SHA-1 of its name" % (target, label)
        members[target] = label
    return soas[0][3].serial, members


def wait_catalog(port, pred, timeout=5.0, zone=CAT):
    """Polls the catalog until pred(members) holds; returns (serial, members, seconds waited)."""
    start = time.time()
    while True:
        serial, members = read_catalog(port, zone)
        if pred(members):
            return serial, members, time.time() - start
        assert time.time() - start < timeout, "catalog never got there: %s" % sorted(members)
        time.sleep(0.002)


def api_ternd(keys, workdir, extra="", notify=None, zones=None):
    """ternd with the API and zones, its catalog CAT transferable on loopback and NOTIFY'd to port notify."""
    os.makedirs(str(workdir), exist_ok=True)
    t = ApiTernd(keys, workdir=str(workdir), zones=zones)
    with open(t.config, "a") as f:
        f.write("catalog:\n  zone: %s\ntransfer:\n  allow: [127.0.0.0/8]\n" % CAT)
        if notify:
            f.write("  notify: [\"127.0.0.1@%d\"]\n" % notify)
        f.write(extra)
    _started.append(t)
    return t



def wait_path(path, present, timeout=5.0):
    """Disk copies are written (and removed) just after the zone's change is served."""
    deadline = time.time() + timeout
    while os.path.exists(path) != present:
        assert time.time() < deadline, "%s %s" % (path, "never written" if present else "stays on disk")
        time.sleep(0.02)


def test_catalog_lists_the_zone_files_in_rfc9432_shape(tmp_path):
    t = Ternd({"example.com": EXAMPLE_COM, "example.net": EXAMPLE_NET}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("catalog:\n  zone: Catalog.Tern\ntransfer:\n  allow: [127.0.0.0/8]\n")
    _started.append(t)
    t.start()
    serial, members = read_catalog(t.port)
    assert members == {"example.com.": member_id("example.com."), "example.net.": member_id("example.net.")}
    assert abs(serial - time.time()) < 60, "a first serial follows the clock"
    # answered like any zone
    r = t.query("version." + CAT, "TXT")
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].strings == (b"2",)
    r = t.query(member_id("example.net.") + ".zones." + CAT, "PTR")
    assert r.answer[0][0].target.to_text() == "example.net."
    # the serial is kept next to the configuration (no API data directory here)
    with open(tmp_path / "catalog.tern.serial") as f:
        assert int(f.read()) == serial


def test_api_zones_join_and_leave_at_once(keys, tmp_path):
    t = api_ternd(keys, tmp_path).start()
    api = t.api(keys.token("t1"))
    s0, m0 = read_catalog(t.port)
    assert m0 == {}
    api.create_zone("shop.test")
    s1, m1, took = wait_catalog(t.port, lambda m: "shop.test." in m)
    assert (s1 - s0) % 2**32 < 2**31 and s1 != s0, "serial %d -> %d does not rise" % (s0, s1)
    assert took < 0.5, "the new zone took %.3f s to reach the catalog" % took
    print("create -> catalog: %.1f ms" % (took * 1000))
    api.create_zone("blog.test")
    assert api.delete("/api/v1/zones/shop.test").status == 204
    s2, m2, took = wait_catalog(t.port, lambda m: "shop.test." not in m and "blog.test." in m)
    assert set(m2) == {"blog.test."} and (s2 - s1) % 2**32 < 2**31 and s2 != s1
    assert took < 0.5, "the delete took %.3f s to reach the catalog" % took
    print("delete -> catalog: %.1f ms" % (took * 1000))
    assert "could not be derived" not in t.log_text()  # each version copied only what changed
    finish(t)


def test_restart_keeps_ids_and_never_lowers_the_serial(keys, tmp_path):
    t = api_ternd(keys, tmp_path).start()
    api = t.api(keys.token("t1", admin=True))
    for z in ("a.test", "b.test", "c.example"):
        api.create_zone(z)
    s1, m1, _ = wait_catalog(t.port, lambda m: len(m) == 3)
    api.close()
    t.stop()
    t.start()
    s2, m2 = read_catalog(t.port)
    assert m2 == m1, "ids changed across a restart"
    assert (s2 - s1) % 2**32 < 2**31 and s2 != s1, "serial %d after a restart, %d before" % (s2, s1)
    # a serial ahead of the clock (many changes a second before the restart) still only rises
    state = os.path.join(t.data_dir, "catalog.tern.serial")
    with open(state) as f:
        assert int(f.read()) == s2
    ahead = int(time.time()) + 100000
    t.stop()
    with open(state, "w") as f:
        f.write("%d\n" % ahead)
    t.start()
    s3, m3 = read_catalog(t.port)
    assert s3 == ahead + 1 and m3 == m1
    finish(t)


def test_sighup_adds_and_removes_zone_files(tmp_path):
    t = Ternd({"example.com": EXAMPLE_COM}, workdir=str(tmp_path))
    tail = "catalog:\n  zone: %s\ntransfer:\n  allow: [127.0.0.0/8]\n" % CAT
    with open(t.config, "a") as f:
        f.write(tail)
    _started.append(t)
    t.start()
    s1, m1 = read_catalog(t.port)
    assert set(m1) == {"example.com."}
    t.zones = {"example.net": EXAMPLE_NET}
    t.write_config(["127.0.0.1@%d" % t.port])
    with open(t.config, "a") as f:
        f.write(tail)
    t.reload()
    s2, m2, _ = wait_catalog(t.port, lambda m: set(m) == {"example.net."})
    assert (s2 - s1) % 2**32 < 2**31 and s2 != s1
    # a renamed catalog: the new one served with the same members, the old one no longer, and at
    # no moment neither (the new one is served before the old one goes)
    t.write_config(["127.0.0.1@%d" % t.port])
    with open(t.config, "a") as f:
        f.write(tail.replace(CAT, "cat2.tern."))
    t.reload()
    deadline = time.time() + 5
    neither = 0
    while True:
        old_rcode = t.query(CAT, "SOA").rcode()
        new_rcode = t.query("cat2.tern.", "SOA").rcode()
        if old_rcode == dns.rcode.REFUSED and new_rcode == dns.rcode.REFUSED:
            neither += 1
        if old_rcode == dns.rcode.REFUSED and new_rcode == dns.rcode.NOERROR:
            break
        assert time.time() < deadline, "the rename did not finish"
    assert neither == 0, "%d samples saw neither catalog" % neither
    _s3, m3 = read_catalog(t.port, "cat2.tern.")
    assert m3 == m2


def test_secondary_zones_are_not_members(tmp_path):
    """A PoP's secondary zones are someone else's: only the zones it serves itself are listed."""
    (tmp_path / "p").mkdir()
    primary = Ternd({"example.com": EXAMPLE_COM}, workdir=str(tmp_path / "p"))
    with open(primary.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    _started.append(primary)
    primary.start()
    (tmp_path / "s").mkdir()
    pop = Ternd({"example.net": EXAMPLE_NET}, workdir=str(tmp_path / "s"))
    with open(pop.config, "a") as f:
        f.write("  - name: example.com\n    primary: [\"127.0.0.1@%d\"]\n" % primary.port)
        f.write("catalog:\n  zone: %s\ntransfer:\n  allow: [127.0.0.0/8]\n" % CAT)
    _started.append(pop)
    pop.start()
    deadline = time.time() + 10
    while not pop.query("www.example.com", "A").answer:
        assert time.time() < deadline, "the PoP never transferred example.com"
        time.sleep(0.05)
    time.sleep(0.1)  # the catalog thread saw the transferred zone appear
    _serial, members = read_catalog(pop.port)
    assert set(members) == {"example.net."}
    assert "catalog example" not in pop.log_text()


def check(tmp_path, text):
    """ternd --check on a configuration; returns (exit code, output)."""
    path = tmp_path / "t.yaml"
    path.write_text("server:\n  listen: [\"127.0.0.1@53\"]\n" + text)
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(path)], capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout + r.stderr


@pytest.mark.parametrize("text,message", [
    ("catalog:\n  zone: example.com\nzones:\n  - name: example.com\n    file: %s\n" % EXAMPLE_COM,
     "t.yaml:4: catalog.zone: example.com is also zones[0] (line 6): the catalog must be a zone of its own"),
    ("catalog:\n  file: x\n", "unknown key \"file\" in catalog"),
    ("catalog: {}\n", "catalog.zone: missing required key"),
    ("catalog:\n  zone: \"a..b\"\n", "catalog.zone: \"a..b\" is not a valid domain name"),
    ("catalog:\n  zone: %s\n" % ".".join(["abcdefghij"] * 19),
     "is too long: member entries <40-digit id>.zones."),
    ("catalog: [x]\n", "catalog: expected a mapping, got a list"),
    ("zones:\n  - name: c.test\n    file: %s\n    catalog: true\n" % EXAMPLE_COM,
     "zones[0].catalog: only a secondary zone (one with a primary) can be a catalog to consume"),
    ("zones:\n  - name: c.test\n    primary: [\"127.0.0.1@53\"]\n    catalog: maybe\n",
     "zones[0].catalog: \"maybe\" is not true or false"),
])
def test_bad_catalog_configuration_is_named(tmp_path, text, message):
    rc, out = check(tmp_path, text)
    assert rc == 1 and message in out, out


def test_catalog_name_taken_by_an_api_zone_stops_the_start(keys, tmp_path):
    t = ApiTernd(keys, workdir=str(tmp_path))
    _started.append(t)
    t.start()
    t.api(keys.token("t1")).create_zone("catalog.tern")
    t.stop()
    with open(t.config, "a") as f:
        f.write("catalog:\n  zone: %s\n" % CAT)
    t.launch()
    assert t.proc.wait(timeout=10) == 1
    t.logf.close()
    assert "catalog catalog.tern.: a zone named catalog.tern. is served already" in t.log_text()
    t.proc = None


# --- Knot interpreting ternd's catalog -------------------------------------------------------------

class KnotConsumer(KnotSecondary):
    """knotd interpreting the catalog of ternd at primary_port: every member a secondary zone of ternd."""

    def __init__(self, workdir, primary_port, port):
        super().__init__(workdir, CAT, primary_port, port=port, catalog=True)

    def ask(self, name, rdtype="A"):
        try:
            return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=self.port, timeout=0.5)
        except Exception:
            return None

    def wait_answer(self, name, rdtype, want, timeout):
        """Polls until Knot answers name/rdtype with want among the rdatas; returns when it did."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.ask(name, rdtype)
            if r is not None and r.rcode() == dns.rcode.NOERROR and \
                    want in [rd.to_text() for rs in r.answer for rd in rs]:
                return time.time()
            time.sleep(0.01)
        raise AssertionError("Knot never answered %s %s %s:\n%s" % (name, rdtype, want, self.log_text()[-4000:]))


def answers(port, name, rdtype):
    r = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=2)
    return r.rcode(), sorted(rd.to_text() for rs in r.answer for rd in rs)


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_interprets_the_catalog_and_follows_new_api_zones(keys, tmp_path):
    kport = free_port()
    zones = {"example.com": EXAMPLE_COM, "example.net": EXAMPLE_NET}
    t = api_ternd(keys, tmp_path / "ternd", notify=kport, zones=zones).start()
    api = t.api(keys.token("t1"))
    api.create_zone("shop.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    knot = KnotConsumer(tmp_path / "knot", t.port, kport)
    _started.append(knot)
    knot.start()
    # every member provisioned from the catalog alone, answering as ternd does
    knot.wait_answer("www.shop.test.", "A", "192.0.2.1", 20)
    knot.wait_answer("www.example.net.", "A", "198.51.100.80", 20)
    for name, rdtype in [("www.example.com.", "A"), ("example.com.", "MX"), ("example.net.", "SOA"),
                         ("shop.test.", "SOA"), ("www.example.net.", "A")]:
        assert knot.ask(name, rdtype) is not None
        assert answers(kport, name, rdtype) == answers(t.port, name, rdtype), (name, rdtype)
    # a zone made now reaches Knot through the catalog's NOTIFY, not a refresh timer
    start = time.time()
    api.create_zone("new.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.9"]}])
    took = knot.wait_answer("www.new.test.", "A", "192.0.2.9", 10) - start
    print("API create -> answered by Knot: %.0f ms" % (took * 1000))
    assert took < 5, "Knot took %.1f s to serve the new zone" % took
    # and a deleted zone is dropped by Knot (RFC 9432 5.2)
    assert api.delete("/api/v1/zones/new.test").status == 204
    deadline = time.time() + 10
    while True:
        r = knot.ask("www.new.test.", "A")
        if r is not None and r.rcode() == dns.rcode.REFUSED:
            break
        assert time.time() < deadline, "Knot still serves new.test:\n%s" % knot.log_text()[-3000:]
        time.sleep(0.02)
    finish(t)


# --- ternd consuming a catalog (a PoP) ---------------------------------------------------------------

class Pop(Ternd):
    """ternd with zone files and secondary zones {name: (primary port, catalog?)}, copies in its dir."""

    def __init__(self, workdir, secondaries, zones=None, **kw):
        os.makedirs(str(workdir), exist_ok=True)
        self.secondaries = dict(secondaries)
        super().__init__(zones or {}, workdir=str(workdir), **kw)
        _started.append(self)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        lines = []
        for name, (port, is_catalog) in self.secondaries.items():
            lines += ["  - name: \"%s\"" % name, "    primary: [\"127.0.0.1@%d\"]" % port]
            if is_catalog:
                lines.append("    catalog: true")
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\ntransfer:\n  allow: [127.0.0.0/8]\n")

    def rewrite(self):
        self.write_config(["127.0.0.1@%d" % self.port])


def rcode_and_rdatas(port, name, rdtype="A"):
    try:
        r = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=1)
    except Exception:
        return None, []
    return r.rcode(), sorted(rd.to_text() for rs in r.answer for rd in rs)


def wait_served(port, name, want, timeout=10.0, rdtype="A"):
    """Polls until the server answers name with want (a list of rdatas, or an rcode); returns the time."""
    deadline = time.time() + timeout
    while True:
        rc, vals = rcode_and_rdatas(port, name, rdtype)
        if (vals == want) if isinstance(want, list) else (rc == want):
            return time.time()
        assert time.time() < deadline, "%s %s: %s %s, expected %s" % (name, rdtype, rc, vals, want)
        time.sleep(0.01)


def test_pop_serves_every_member_and_follows_the_primary(keys, tmp_path):
    pport = free_port()
    p = api_ternd(keys, tmp_path / "p", notify=pport, zones={"example.com": EXAMPLE_COM, "example.net": EXAMPLE_NET})
    p.start()
    api = p.api(keys.token("t1"))
    api.create_zone("shop.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    pop = Pop(tmp_path / "pop", {CAT: (p.port, True)}, port=pport).start()
    for name, rdtype in [("www.shop.test.", "A"), ("www.example.com.", "A"), ("example.com.", "MX"),
                         ("www.example.net.", "A"), ("example.net.", "SOA"), ("shop.test.", "NS")]:
        wait_served(pport, name, rcode_and_rdatas(p.port, name, rdtype)[1], rdtype=rdtype)
    # the catalog itself is a secondary zone of the PoP, its members too: the PoP lists none
    assert rcode_and_rdatas(pport, "version." + CAT, "TXT")[1] == ['"2"']
    # create and delete on the primary's API reach the PoP through NOTIFY
    start = time.time()
    api.create_zone("new.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.9"]}])
    took = wait_served(pport, "www.new.test.", ["192.0.2.9"], 10) - start
    print("API create -> served by the PoP: %.0f ms" % (took * 1000))
    assert took < 3, "the PoP took %.1f s to serve the new zone" % took
    api.put_rrset("new.test", "www", "A", 300, ["192.0.2.10"])
    wait_served(pport, "www.new.test.", ["192.0.2.10"], 5)
    wait_path(tmp_path / "pop" / "shop.test.zone", True)
    start = time.time()
    assert api.delete("/api/v1/zones/shop.test").status == 204
    took = wait_served(pport, "www.shop.test.", dns.rcode.REFUSED, 10) - start
    print("API delete -> dropped by the PoP: %.0f ms" % (took * 1000))
    wait_path(tmp_path / "pop" / "shop.test.zone", False)
    ternlib.wait_log(pop.log_text, "catalog catalog.tern.: member shop.test. removed (no longer listed)")
    # a restart with the primary down: the catalog and every member served from their disk copies
    api.close()
    finish(p)
    pop.stop()
    pop.start()
    for name, want in [("www.new.test.", ["192.0.2.10"]), ("www.example.net.", ["198.51.100.80"])]:
        wait_served(pport, name, want, 5)
    assert rcode_and_rdatas(pport, "www.shop.test.")[0] == dns.rcode.REFUSED
    # a catalog no longer consumed takes its members away (the zone itself stays a secondary)
    pop.secondaries[CAT] = (p.port, False)
    pop.rewrite()
    pop.reload()
    wait_served(pport, "www.new.test.", dns.rcode.REFUSED, 5)
    assert rcode_and_rdatas(pport, "www.example.com.")[0] == dns.rcode.REFUSED
    assert rcode_and_rdatas(pport, "version." + CAT, "TXT")[1] == ['"2"']
    ternlib.wait_log(pop.log_text, "member new.test. removed (the catalog is no longer consumed)")


HANDMADE = """$ORIGIN catalog.tern.
$TTL 0
@ SOA invalid. invalid. {serial} 300 60 1209600 0
@ NS invalid.
version TXT "{version}"
a1.zones PTR example.com.
coo.a1.zones PTR other.catalog.
group.a1.zones TXT "blue"
{net}
b3.zones PTR Example.NET.
c4.zones PTR one.test.
c4.zones PTR two.test.
d5.zones PTR catalog.tern.
e6.zones PTR local.test.
{extra}
prop.ext TXT "ignored"
"""

LOCAL = """$ORIGIN local.test.
$TTL 300
@ SOA ns hm 1 3600 600 86400 60
@ NS ns
ns A 192.0.2.53
www A 192.0.2.77
"""


def test_catalog_edge_cases_and_changes(tmp_path):
    """Properties are ignored, broken entries skipped with a log line, a configured zone wins over a
    member; a member dropped from the catalog stops being served; a version other than 2 is not
    processed."""
    pport = free_port()
    (tmp_path / "p").mkdir()
    cat = tmp_path / "p" / "catalog.zone"

    def write_catalog(serial, version="2", net="b2.zones PTR example.net.", extra="", drop=None):
        text = HANDMADE.format(serial=serial, version=version, net=net, extra=extra)
        cat.write_text(text.replace(drop, "") if drop else text)

    write_catalog(1)
    zones = {"example.com": EXAMPLE_COM, "example.net": EXAMPLE_NET, "catalog.tern": str(cat)}
    p = Ternd(zones, workdir=str(tmp_path / "p"))
    with open(p.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % pport)
    _started.append(p)
    p.start()
    (tmp_path / "pop").mkdir()
    local = tmp_path / "pop" / "local.zone"
    local.write_text(LOCAL)
    pop = Pop(tmp_path / "pop", {CAT: (p.port, True)}, zones={"local.test": str(local)}, port=pport).start()
    wait_served(pport, "www.example.com.", rcode_and_rdatas(p.port, "www.example.com.")[1])
    wait_served(pport, "www.example.net.", ["198.51.100.80"])
    assert rcode_and_rdatas(pport, "www.local.test.")[1] == ["192.0.2.77"]  # its own file
    for skipped in ("one.test.", "two.test."):
        assert rcode_and_rdatas(pport, skipped, "SOA")[0] == dns.rcode.REFUSED
    for line in ("c4.zones.catalog.tern.: 2 PTR records where one is allowed: entry skipped",
                 "member example.net. is listed more than once: one entry kept",
                 "d5.zones.catalog.tern.: member catalog.tern. is the catalog or inside it: entry skipped",
                 "catalog catalog.tern.: member local.test. skipped: the configuration names it",
                 "catalog catalog.tern. serial 1: 2 member(s) served"):
        ternlib.wait_log(pop.log_text, line)
    log = pop.log_text()
    assert "coo" not in log and "group" not in log and "ext" not in log.replace("next", "")
    # example.net leaves the catalog (both entries), a new member comes
    write_catalog(2, net="", extra="g7.zones PTR sub.example.com.", drop="b3.zones PTR Example.NET.\n")
    p.zones["sub.example.com"] = os.path.join(ZONES, "sub.example.com.zone")
    p.write_config(["127.0.0.1@%d" % p.port])
    with open(p.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % pport)
    p.reload()
    wait_served(pport, "www.example.net.", dns.rcode.REFUSED, 10)
    wait_served(pport, "sub.example.com.", rcode_and_rdatas(p.port, "sub.example.com.", "SOA")[1], 10, "SOA")
    assert not os.path.exists(tmp_path / "pop" / "example.net.zone")
    wait_path(tmp_path / "pop" / "sub.example.com.zone", True)
    # a version 1 catalog is not processed: members stay as they are
    write_catalog(3, version="1", net="", drop="b3.zones PTR Example.NET.\n")
    p.reload()
    deadline = time.time() + 10
    while "catalog catalog.tern. serial 3: version.catalog.tern. is not one TXT \"2\"" not in pop.log_text():
        assert time.time() < deadline, pop.log_text()[-3000:]
        time.sleep(0.05)
    assert rcode_and_rdatas(pport, "sub.example.com.", "SOA")[0] == dns.rcode.NOERROR
    # dropping local.test from the PoP's configuration frees the member: a secondary zone now, SERVFAIL
    # until its primary has it
    pop.zones = {}
    pop.rewrite()
    write_catalog(4, net="", drop="b3.zones PTR Example.NET.\n")
    p.reload()
    pop.reload()
    wait_served(pport, "www.local.test.", dns.rcode.SERVFAIL, 10)  # a member now, not transferable yet


KNOT_PRODUCER = """remote:
  - id: pop
    address: 127.0.0.1@{pop}
acl:
  - id: transfer
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{storage}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    acl: transfer
    notify: pop
zone:
  - domain: {catalog}
    catalog-role: generate
  - domain: example.com.
    file: "{com}"
    catalog-role: member
    catalog-zone: {catalog}
  - domain: example.net.
    file: "{net}"
    catalog-role: member
    catalog-zone: {catalog}
"""


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_pop_consumes_a_catalog_knot_generates(tmp_path):
    kport, pport = free_port(), free_port()
    knot = Knot(tmp_path / "knot", port=kport)
    knot.write_config(KNOT_PRODUCER.format(storage=knot.storage, pop=pport, catalog=CAT, com=EXAMPLE_COM,
                                           net=EXAMPLE_NET).splitlines())
    try:
        knot.start()
        pop = Pop(tmp_path / "pop", {CAT: (kport, True)}, port=pport).start()
        wait_served(pport, "www.example.com.", rcode_and_rdatas(kport, "www.example.com.")[1], 15)
        wait_served(pport, "www.example.net.", ["198.51.100.80"], 15)
        ternlib.wait_log(pop.log_text, "catalog catalog.tern. serial")
    finally:
        knot.stop()


def test_members_over_max_zones_wait(keys, tmp_path):
    """A PoP whose server.max-zones leaves room for two members of three serves two, says why the
    third is not added, and adds it at the next catalog version once a reload gave room."""
    pport = free_port()
    p = api_ternd(keys, tmp_path / "p", notify=pport, zones={"example.com": EXAMPLE_COM, "example.net": EXAMPLE_NET})
    p.start()
    api = p.api(keys.token("t1"))
    api.create_zone("shop.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    # the catalog is the one zone listed: room for two members, taken in the catalog's order
    pop = Pop(tmp_path / "pop", {CAT: (p.port, True)}, port=pport, extra_server="max-zones: 3").start()
    ternlib.wait_log(pop.log_text, "1 member(s) not added: server.max-zones is 3")
    for m in ("example.com.", "example.net."):
        wait_served(pport, m, dns.rcode.NOERROR, 10, rdtype="SOA")
    time.sleep(0.5)
    assert rcode_and_rdatas(pport, "shop.test.", "SOA")[0] == dns.rcode.REFUSED
    # room (the default limit) at a reload; the next catalog version brings the waiting member
    pop.rewrite()
    pop.reload()
    time.sleep(0.5)
    api.create_zone("new.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.9"]}])
    for m in ("shop.test.", "new.test.", "example.com.", "example.net."):
        wait_served(pport, m, dns.rcode.NOERROR, 10, rdtype="SOA")
    api.close()
