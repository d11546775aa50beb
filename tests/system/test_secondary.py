"""ternd as a secondary (a PoP): zones pulled by AXFR from Knot, BIND and a scripted primary,
refreshed on NOTIFY (RFC 1996) and on the SOA timers, kept on disk and served from there after a
restart, taken out of service on expiry (SERVFAIL + Extended DNS Error 24), and never replaced by
an incomplete transfer or an older serial."""
import os
import struct
import subprocess
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

import xfrlib
from bindlib import NamedPrimary, named_available
from knotlib import KnotPrimary, knotd_available
from ternlib import TERND, Ternd, free_port
from xfrlib import ScriptedServer, stop_ok, stop_started  # noqa: F401 (an autouse fixture)
from xfrlib import started as _started

ZONE = "pop.test"
def zone_text(serial, www="192.0.2.1", refresh=3600, retry=600, expire=1209600, hosts=20, origin=ZONE):
    lines = ["$ORIGIN %s." % origin, "$TTL 300",
             "@ SOA ns1 hostmaster %d %d %d %d 60" % (serial, refresh, retry, expire),
             "@ NS ns1", "@ NS ns2.example.", "ns1 A 127.0.0.1", "www A %s" % www,
             "mail MX 10 mx.example.", "alias CNAME www", 'txt TXT "v=%d"' % serial,
             "sub NS ns.sub", "ns.sub A 192.0.2.53", "_sip._tcp SRV 0 5 5060 www"]
    lines += ["h%d A 10.0.%d.%d" % (i, i // 256, i % 256) for i in range(hosts)]
    return "\n".join(lines) + "\n"


class Secondary(Ternd):
    """ternd with secondary zones: {name: [primary "addr@port", ...]} (copies kept in its dir),
    plus zone files and extra top-level YAML."""

    def __init__(self, secondaries, zones=None, extra="", files=None, **kw):
        self.secondaries = dict(secondaries)
        self.files = files or {}
        self.extra = extra
        if kw.get("workdir"):
            os.makedirs(kw["workdir"], exist_ok=True)
        super().__init__(zones or {}, **kw)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        lines = []
        for name, primaries in self.secondaries.items():
            lines += ["  - name: \"%s\"" % name,
                      "    primary: [%s]" % ", ".join("\"%s\"" % p for p in primaries)]
            if name in self.files:
                lines.append("    file: \"%s\"" % self.files[name])
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n" + self.extra)

    def start(self):
        _started.append(self)
        return super().start()

    def rewrite(self):
        self.write_config(["127.0.0.1@%d" % self.port])

    def copy_path(self, name=ZONE):
        return self.files.get(name, os.path.join(self.dir, name + ".zone"))


def copy_serial(t, want=None, timeout=5.0, zone=ZONE):
    """The serial of t's disk copy of zone; with want, waits for it (a copy is written 100 ms after
    a transfer, and at most once a second)."""
    deadline = time.time() + timeout
    while True:
        serial = None
        if os.path.exists(t.copy_path(zone)):
            z = dns.zone.from_file(t.copy_path(zone), zone + ".", relativize=False)
            serial = z.find_rdataset(zone + ".", "SOA")[0].serial
        if want is None or serial == want or time.time() >= deadline:
            return serial
        time.sleep(0.02)


def soa_serial(port, zone=ZONE):
    """The serial 127.0.0.1@port serves for zone (None if none)."""
    return xfrlib.soa_serial("127.0.0.1", port, zone)


def a_record(port, name):
    r = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=1)
    return sorted(rd.to_text() for rs in r.answer for rd in rs if rs.rdtype == dns.rdatatype.A)


def wait_serial(port, serial, timeout=10.0, zone=ZONE, log=None):
    """Waits until 127.0.0.1@port serves serial for zone; returns the time.time() it did."""
    return xfrlib.wait_serial("127.0.0.1", port, zone, serial, timeout, log)


def records(addr, port, zone=ZONE):
    """The zone by AXFR, as a sorted list of (name, type, ttl, rdata) without the closing SOA."""
    return xfrlib.axfr_records(addr, port, zone)


def query_edns(port, name, rdtype="A"):
    q = dns.message.make_query(name, rdtype, use_edns=0)
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=1)


def ede_codes(r):
    return [o.code for o in r.options if o.otype == dns.edns.EDE]


def send_notify(port, zone=ZONE, source="127.0.0.1", serial=None):
    q = dns.message.make_query(zone, "SOA")
    q.flags = dns.flags.AA  # (the opcode lives in the flags: set it after)
    q.set_opcode(dns.opcode.NOTIFY)
    if serial is not None:
        q.answer.append(dns.rrset.from_text(zone + ".", 300, "IN", "SOA", "ns1.%s. hm.%s. %d 1 1 1 1" % (zone, zone, serial)))
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=2, source=source)


# --- peers -----------------------------------------------------------------------------------

class FakePrimary(ScriptedServer):
    """A scripted primary: SOA over UDP, AXFR over TCP in many small messages. mode "full" sends the
    whole zone, "truncate" half of the messages then closes, "badid" changes the message ID
    halfway. soa_serial, when set, is what the SOA query is told (the transfer holds the zone's)."""

    def __init__(self, text, port=None, origin=ZONE):
        self.origin = origin
        self.mode = "full"
        self.soa_serial = None
        self.transfers = 0
        self.set_zone(text)
        super().__init__(port)
        _started.append(self)

    def set_zone(self, text):
        self.zone = dns.zone.from_text(text, self.origin + ".", relativize=False, check_origin=False)
        self.soa = self.zone.find_rrset(self.origin + ".", "SOA")

    def on_udp(self, data, peer):
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if q.question[0].rdtype == dns.rdatatype.SOA:
            soa = dns.rrset.from_rdata_list(self.soa.name, self.soa.ttl, [self.soa[0]])
            if self.soa_serial is not None:
                soa = dns.rrset.from_rdata_list(self.soa.name, self.soa.ttl,
                                                [self.soa[0].replace(serial=self.soa_serial)])
            r.answer.append(soa)
        else:
            r.set_rcode(dns.rcode.REFUSED)
        self.udp.sendto(r.to_wire(), peer)

    def messages(self, q):
        rrsets = [self.soa] + [dns.rrset.from_rdata_list(n, rds.ttl, list(rds))
                               for n, rds in self.zone.iterate_rdatasets() if rds.rdtype != dns.rdatatype.SOA]
        rrsets.append(self.soa)
        out = []
        for i in range(0, len(rrsets), 4):  # small messages: a transfer of many
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            r.answer = rrsets[i:i + 4]
            out.append(r)
        return out

    def tcp_answer(self, q):
        self.transfers += 1
        have = self.soa_serial if self.soa_serial is not None else self.soa[0].serial
        if q.question[0].rdtype == dns.rdatatype.IXFR and q.authority and q.authority[0][0].serial >= have:
            # RFC 1995 2: asked for a version as new as ours (plain comparison: the tests' serials
            # never wrap): our SOA alone
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            r.answer = [self.soa]
            return [r]
        msgs = self.messages(q)
        if self.mode == "truncate":
            msgs = msgs[:len(msgs) // 2]
        elif self.mode == "badid":
            msgs[len(msgs) // 2].id ^= 0x5555
        return msgs


class TricklingPrimary(FakePrimary):
    """Answers a transfer one byte every gap seconds: never silent for long, never done."""

    def __init__(self, text, origin, gap=0.5):
        self.gap = gap
        self.trickling = threading.Event()
        super().__init__(text, origin=origin)

    def on_tcp(self, conn):
        with conn:
            conn.settimeout(2)
            try:
                (n,) = struct.unpack("!H", conn.recv(2))
                q = dns.message.from_wire(conn.recv(n))
                data = b"".join(struct.pack("!H", len(w)) + w for w in (m.to_wire() for m in self.messages(q)))
                self.trickling.set()
                for i in range(len(data)):
                    if not self.running:
                        return
                    conn.sendall(data[i:i + 1])
                    time.sleep(self.gap)
            except OSError:
                pass


needs_knot = pytest.mark.skipif(not knotd_available(), reason="knotd not installed")


# --- tests ---------------------------------------------------------------------------------------

@needs_knot
def test_knot_primary_notify_and_restart_from_disk(tmp_path):
    """Knot primary -> ternd: the first AXFR is served record for record; a change on Knot reaches
    ternd by NOTIFY within a second (refresh is an hour); ternd restarted with Knot down serves
    the copy it kept on disk."""
    pop_port = free_port()
    knot = _started.add(KnotPrimary(tmp_path / "knot", ZONE, zone_text(1, hosts=4000), notify_port=pop_port))
    t = Secondary({ZONE: ["127.0.0.1@%d" % knot.port]}, port=pop_port, workdir=str(tmp_path / "pop"),
                  extra="transfer:\n  allow: [127.0.0.0/8]\n")
    try:
        t.start()
        wait_serial(t.port, 1, log=t.log_text)
        assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
        assert copy_serial(t, 1) == 1
        for serial in (2, 3, 4):
            www = "192.0.2.%d" % (100 + serial)
            start = time.time()
            knot.change(zone_text(serial, www=www, hosts=4000))
            took = wait_serial(t.port, serial, timeout=5, log=t.log_text) - start
            assert took < 1.0, "NOTIFY took %.3f s to bring serial %d" % (took, serial)
            assert a_record(t.port, "www.pop.test.") == [www]
        assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
        assert "NOTIFY from a primary" in t.log_text()
        # the copy on disk is the served version, loadable as a zone file
        assert copy_serial(t, 4) == 4
    finally:
        knot.stop()
    stop_ok(t)
    # restart with the primary down: the disk copy is served before any refresh succeeds
    t.start()
    assert soa_serial(t.port) == 4
    assert a_record(t.port, "www.pop.test.") == ["192.0.2.104"]
    assert "serving the disk copy, serial 4" in t.log_text()
    time.sleep(0.3)  # the refresh at start fails (nothing listens): still served
    assert soa_serial(t.port) == 4
    stop_ok(t)


@needs_knot
def test_expiry_servfail_with_ede_then_recovery(tmp_path):
    """SOA refresh 1 s, retry 1 s, expire 3 s: with the primary down the zone is served until the
    expire time, then answered SERVFAIL with EDE 24 (Invalid Data); it comes back when the
    primary does."""
    pop_port = free_port()
    text = zone_text(7, refresh=1, retry=1, expire=3)
    knot = _started.add(KnotPrimary(tmp_path / "knot", ZONE, text, notify_port=pop_port))
    t = Secondary({ZONE: ["127.0.0.1@%d" % knot.port]}, port=pop_port, workdir=str(tmp_path / "pop"))
    try:
        t.start()
        wait_serial(t.port, 7, log=t.log_text)
        time.sleep(1.5)  # refreshes succeed: still served
        assert soa_serial(t.port) == 7
        knot.stop()
        down = time.time()
        time.sleep(1.5)
        r = query_edns(t.port, "www.pop.test.")
        assert r.rcode() == dns.rcode.NOERROR, "expired before the SOA expire time"
        deadline = down + 8
        while True:
            r = query_edns(t.port, "www.pop.test.")
            if r.rcode() == dns.rcode.SERVFAIL:
                break
            assert time.time() < deadline, "never expired:\n" + t.log_text()
            time.sleep(0.05)
        took = time.time() - down
        assert 1.5 <= took <= 5.0, "expired %.1f s after the primary went down" % took
        assert ede_codes(r) == [24]
        assert ede_codes(query_edns(t.port, "pop.test.", "SOA")) == [24]
        assert "EXPIRED" in t.log_text()
        # the primary comes back: served again within the retry interval
        knot = _started.add(KnotPrimary(tmp_path / "knot", ZONE, text, notify_port=pop_port, port=knot.port))
        wait_serial(t.port, 7, timeout=5, log=t.log_text)
    finally:
        knot.stop()
    stop_ok(t)


def test_lower_serial_is_refused(tmp_path):
    """A primary whose serial goes backwards (in its answer to the IXFR a NOTIFY asks, a lone SOA;
    or in the transfer itself, after a SOA query that says newer) never
    replaces the newer copy served."""
    fake = FakePrimary(zone_text(10, www="192.0.2.10"))
    t = Secondary({ZONE: ["127.0.0.1@%d" % fake.port]}, workdir=str(tmp_path / "pop"))
    try:
        t.start()
        wait_serial(t.port, 10, log=t.log_text)
        fake.set_zone(zone_text(5, www="192.0.2.5"))
        assert send_notify(t.port).rcode() == dns.rcode.NOERROR
        deadline = time.time() + 5
        while "lower than the 10 served" not in t.log_text():
            assert time.time() < deadline, t.log_text()
            time.sleep(0.02)
        assert soa_serial(t.port) == 10 and a_record(t.port, "www.pop.test.") == ["192.0.2.10"]
        # the SOA query says 11, the transfer holds 5: refused as well
        fake.soa_serial = 11
        before = fake.transfers
        send_notify(t.port)
        deadline = time.time() + 5
        while "not newer than the 10 served" not in t.log_text():
            assert time.time() < deadline, t.log_text()
            time.sleep(0.02)
        assert fake.transfers > before
        assert soa_serial(t.port) == 10 and a_record(t.port, "www.pop.test.") == ["192.0.2.10"]
        assert copy_serial(t, 10) == 10  # written 100 ms after the first transfer: waited for
    finally:
        fake.stop()
    stop_ok(t)


def test_incomplete_transfer_never_replaces_the_copy(tmp_path):
    """A transfer cut halfway (connection closed), with a foreign message in the middle, or holding
    a zone that is not valid changes nothing: the served zone and the disk copy stay at the last
    good serial."""
    fake = FakePrimary(zone_text(20, www="192.0.2.20", hosts=200))
    t = Secondary({ZONE: ["127.0.0.1@%d" % fake.port]}, workdir=str(tmp_path / "pop"))
    try:
        t.start()
        wait_serial(t.port, 20, log=t.log_text)
        assert copy_serial(t, 20) == 20
        good = open(t.copy_path()).read()
        no_ns = "".join(l for l in zone_text(21, hosts=200).splitlines(True) if not l.startswith("@ NS"))
        for mode, text, message in (("truncate", zone_text(21, hosts=200), "connection closed"),
                                    ("badid", zone_text(21, hosts=200), "not an answer to our query"),
                                    ("full", no_ns, "no NS records at the zone apex")):
            # the zone first: a transfer still under way in the last mode (ternd retries a failed
            # IXFR as AXFR) must not get the last zone in the new mode ("full" after "badid")
            fake.set_zone(text)
            fake.mode = mode
            send_notify(t.port)
            deadline = time.time() + 5
            while message not in t.log_text():
                assert time.time() < deadline, t.log_text()
                time.sleep(0.02)
            assert soa_serial(t.port) == 20
            assert a_record(t.port, "www.pop.test.") == ["192.0.2.20"]
            assert a_record(t.port, "h199.pop.test.") == ["10.0.0.199"]
            assert open(t.copy_path()).read() == good
        assert "serial 20 -> 21" not in t.log_text()
        # the primary mends its ways: the next NOTIFY brings serial 21
        fake.set_zone(zone_text(21, www="192.0.2.21", hosts=200))
        send_notify(t.port)
        wait_serial(t.port, 21, timeout=5, log=t.log_text)
        assert a_record(t.port, "www.pop.test.") == ["192.0.2.21"]
    finally:
        fake.stop()
    stop_ok(t)


def test_notify_acceptance_and_refusals(tmp_path):
    """NOTIFY from a primary: NOERROR, AA, the question echoed. From another address: REFUSED. For a
    zone we do not pull: REFUSED when we serve it, NOTAUTH otherwise."""
    fake = FakePrimary(zone_text(30))
    other = tmp_path / "other.test.zone"
    other.write_text(zone_text(1, origin="other.test"))
    t = Secondary({ZONE: ["127.0.0.1@%d" % fake.port]}, zones={"other.test": str(other)},
                  workdir=str(tmp_path / "pop"))
    try:
        t.start()
        wait_serial(t.port, 30, log=t.log_text)
        r = send_notify(t.port, serial=30)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.flags & dns.flags.QR
        assert r.opcode() == dns.opcode.NOTIFY
        assert r.question[0].name.to_text() == "pop.test." and r.question[0].rdtype == dns.rdatatype.SOA
        assert send_notify(t.port, source="127.0.0.2").rcode() == dns.rcode.REFUSED
        assert send_notify(t.port, zone="other.test").rcode() == dns.rcode.REFUSED
        assert send_notify(t.port, zone="nowhere.test").rcode() == dns.rcode.NOTAUTH
        # over TCP as well
        q = dns.message.make_query(ZONE, "SOA")
        q.flags = dns.flags.AA
        q.set_opcode(dns.opcode.NOTIFY)
        assert dns.query.tcp(q, "127.0.0.1", port=t.port, timeout=2).rcode() == dns.rcode.NOERROR
    finally:
        fake.stop()
    stop_ok(t)


def test_never_loaded_zone_is_servfail_not_ready(tmp_path):
    """A secondary zone with no copy and no reachable primary answers SERVFAIL with EDE 14 (Not
    Ready); it is served once a primary appears."""
    port = free_port()
    t = Secondary({ZONE: ["127.0.0.1@%d" % port]}, workdir=str(tmp_path / "pop"))
    t.start()
    r = query_edns(t.port, "www.pop.test.")
    assert r.rcode() == dns.rcode.SERVFAIL and ede_codes(r) == [14]
    assert query_edns(t.port, "www.elsewhere.test.").rcode() == dns.rcode.REFUSED
    fake = FakePrimary(zone_text(40), port=port)
    try:
        send_notify(t.port)
        wait_serial(t.port, 40, timeout=5, log=t.log_text)
    finally:
        fake.stop()
    stop_ok(t)


def test_sighup_adds_and_removes_secondary_zones(tmp_path):
    fake = FakePrimary(zone_text(50))
    t = Secondary({}, workdir=str(tmp_path / "pop"))
    try:
        t.start()
        assert query_edns(t.port, "pop.test.", "SOA").rcode() == dns.rcode.REFUSED
        t.secondaries[ZONE] = ["127.0.0.1@%d" % fake.port]
        t.rewrite()
        t.reload()
        wait_serial(t.port, 50, timeout=5, log=t.log_text)
        t.secondaries.clear()
        t.rewrite()
        t.reload()
        deadline = time.time() + 5
        while query_edns(t.port, "pop.test.", "SOA").rcode() != dns.rcode.REFUSED:
            assert time.time() < deadline, t.log_text()
            time.sleep(0.02)
        assert "no longer a secondary zone" in t.log_text()
        # NOTIFY for it is no longer taken
        assert send_notify(t.port).rcode() == dns.rcode.NOTAUTH
    finally:
        fake.stop()
    stop_ok(t)


def test_config_errors_name_file_and_line(tmp_path):
    conf = tmp_path / "bad.yaml"
    conf.write_text("server:\n  listen: [127.0.0.1@5399]\nzones:\n"
                    "  - name: a.test\n    primary: []\n"
                    "  - name: b.test\n    primary: [\"127.0.0.1@53\", \"nonsense\"]\n"
                    "  - name: c.test\n    primary: [\"127.0.0.1@53\", \"127.0.0.1@53\"]\n"
                    "  - name: d.test\n    primary: {a: 1}\n"
                    "  - name: \"e/f.test\"\n    primary: 127.0.0.1\n"
                    "  - name: g.test\n")
    r = subprocess.run([TERND, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 1
    err = r.stderr
    assert "bad.yaml:5: zones[0].primary: at least one address is required" in err
    assert "bad.yaml:7: zones[1].primary: \"nonsense\" is not an IP address" in err
    assert "bad.yaml:9: zones[2].primary: \"127.0.0.1@53\" is listed twice" in err
    assert "bad.yaml:11: zones[3].primary: expected an address or a list of addresses, got a mapping" in err
    assert "bad.yaml:12: zones[4].file: required: the zone name cannot make a file name" in err
    assert "bad.yaml:14: zones[5].file: missing required key" in err
    # a valid one: the copy goes next to the configuration; --check tells there is none yet
    conf.write_text("server:\n  listen: [127.0.0.1@5399]\nzones:\n  - name: Pop.Test\n    primary: 127.0.0.1@5301\n")
    r = subprocess.run([TERND, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Pop.Test: secondary, no copy yet (pulled from 127.0.0.1@5301)" in r.stdout


@pytest.mark.skipif(not named_available(), reason="BIND (named) not installed")
def test_bind_primary(tmp_path):
    """BIND primary -> ternd: AXFR served record for record, then a change (named reloaded by
    SIGHUP) reaches ternd through BIND's NOTIFY."""
    pop_port = free_port()
    named = NamedPrimary(tmp_path / "bind", ZONE, zone_text(100, hosts=4000), pop_port)
    port = named.port
    t = Secondary({ZONE: ["127.0.0.1@%d" % port]}, port=pop_port, workdir=str(tmp_path / "pop"),
                  extra="transfer:\n  allow: [127.0.0.0/8]\n")
    try:
        named.start()
        t.start()
        wait_serial(t.port, 100, log=t.log_text)
        assert records(t.addr, t.port) == records("127.0.0.1", port)
        named.change(zone_text(101, www="192.0.2.101", hosts=4000))
        wait_serial(t.port, 101, timeout=10, log=lambda: t.log_text() + named.log_text())
        assert a_record(t.port, "www.pop.test.") == ["192.0.2.101"]
        assert records(t.addr, t.port) == records("127.0.0.1", port)
    finally:
        named.stop()
    stop_ok(t)


def test_trickling_primary_does_not_hold_the_other_zones(tmp_path):
    """A primary that answers a transfer a byte every half second is never silent long enough for
    an inactivity timeout; before the fix it held the refresh thread, which every secondary zone
    shared, for as long as it liked. Each message of an answer must now arrive whole within 10 s,
    and the trickling transfer holds one transfer worker only: a NOTIFY for another zone is acted
    on at once, and the slow transfer is given up."""
    slow = TricklingPrimary(zone_text(5, origin="slow.test"), origin="slow.test")
    good = FakePrimary(zone_text(1))
    t = Secondary({ZONE: ["127.0.0.1@%d" % good.port], "slow.test": ["127.0.0.1@%d" % slow.port]},
                  workdir=str(tmp_path / "pop"))
    try:
        t.start()
        assert slow.trickling.wait(15), t.log_text()
        good.set_zone(zone_text(2, www="192.0.2.2"))
        send_notify(t.port)
        start = time.monotonic()
        wait_serial(t.port, 2, timeout=25, log=t.log_text)
        assert time.monotonic() - start < 3, t.log_text()
        assert a_record(t.port, "www.pop.test.") == ["192.0.2.2"]
        deadline = time.monotonic() + 25
        while "one message of the answer took more than 10000 ms" not in t.log_text():
            assert time.monotonic() < deadline, t.log_text()
            time.sleep(0.1)
    finally:
        slow.stop()
        good.stop()
    stop_ok(t)
