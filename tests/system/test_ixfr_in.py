"""ternd as a secondary pulling by IXFR (RFC 1995): the first copy comes by AXFR, every later
version by IXFR from Knot (journal of knotc transactions), BIND (ixfr-from-differences) and a
scripted primary. A broken IXFR (journal gap, a deletion of a record we do not hold) falls back to
AXFR from the same primary; one cut halfway changes nothing; an AXFR-style answer and a lone
"up to date" SOA are taken as they are."""
import base64
import re
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from bindlib import NamedPrimary, named_available
from knotlib import KnotPrimary, KnotSecondary, knotd_available
from ternlib import free_port
from test_secondary import (ZONE, Secondary, a_record, copy_serial, records, send_notify, soa_serial, wait_serial,
                            zone_text)
from xfrlib import ScriptedServer, TsigKey, axfr_records, stop_ok, stop_started  # noqa: F401 (an autouse fixture)
from xfrlib import started as _started

ALLOW = "transfer:\n  allow: [127.0.0.0/8]\n"


def wait_log(get, text, timeout=8.0):
    deadline = time.time() + timeout
    while text not in get():
        assert time.time() < deadline, "%r never logged:\n%s" % (text, get()[-6000:])
        time.sleep(0.02)


# --- Knot -----------------------------------------------------------------------------------------

def knot_journal(tmp, text, key=None, load="whole"):
    """A started knotd whose changes are knotc transactions, so its journal holds the diffs IXFR
    sends. It sends no NOTIFY: the test does, after the transactions it wants in one IXFR."""
    return _started.add(KnotPrimary(tmp / "knot", ZONE, text, key=key, load=load, journal="changes"))


needs_knot = pytest.mark.skipif(not knotd_available(), reason="knotd not installed")


@needs_knot
def test_knot_primary_axfr_then_ixfr(tmp_path):
    """The first copy by AXFR; then one transaction, then two in one go (two diffs), each pulled
    by IXFR (ternd's log and Knot's agree) with answers equal to Knot's; the disk copy follows;
    after a restart, the copy loaded from disk is brought up to date by IXFR as well."""
    knot = knot_journal(tmp_path, zone_text(1, hosts=300))
    t = Secondary({ZONE: ["127.0.0.1@%d" % knot.port]}, workdir=str(tmp_path / "pop"), extra=ALLOW)
    t.start()
    wait_serial(t.port, 1, log=t.log_text)
    assert "transferred serial 1 from 127.0.0.1@%d by AXFR" % knot.port in t.log_text()

    knot.commit(("unset", "www", "A"), ("set", "www", "300", "A", "192.0.2.201"),
                ("set", "new", "300", "AAAA", "2001:db8::2"), ("unset", "h7", "A"))
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "IXFR from 127.0.0.1@%d: serial 1 -> 2, 1 diffs" % knot.port)
    assert "IXFR, outgoing" in knot.log_text() and "AXFR, outgoing" in knot.log_text()
    assert a_record(t.port, "www.pop.test.") == ["192.0.2.201"]
    assert a_record(t.port, "h7.pop.test.") == []
    assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
    assert copy_serial(t, 2) == 2

    knot.commit(("set", "h7", "60", "A", "10.9.9.7"))
    knot.commit(("unset", "mail", "MX"), ("set", "mail", "300", "MX", "20 mx2.example."),
                ("unset", "sub", "NS"), ("unset", "ns.sub", "A"))
    send_notify(t.port)
    wait_serial(t.port, 4, log=t.log_text)
    wait_log(t.log_text, "serial 2 -> 4, 2 diffs")
    assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
    assert copy_serial(t, 4) == 4
    assert t.log_text().count("by AXFR") == 1

    stop_ok(t)
    knot.commit(("set", "after", "300", "TXT", "\"restart\""))
    t.start()
    wait_serial(t.port, 5, log=t.log_text)
    wait_log(t.log_text, "serial 4 -> 5, 1 diffs")
    assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
    assert "serving the disk copy, serial 4" in t.log_text()
    stop_ok(t)
    knot.stop()


KEY = TsigKey("xfr.key", "hmac-sha256", base64.b64encode(b"ixfr secret of thirty-two bytes!").decode())


def records_signed(port):
    """records() of a primary that transfers only with the key."""
    return axfr_records("127.0.0.1", port, ZONE, KEY.ring(), KEY.name)


@needs_knot
def test_knot_primary_ixfr_with_tsig(tmp_path):
    """Knot transfers only with the key: the AXFR and then an IXFR of many messages (one signed
    chain) both verify, and a NOTIFY signed with the key starts the IXFR."""
    knot = knot_journal(tmp_path, zone_text(1, hosts=3000), key=KEY, load="difference")
    keys = "keys:\n  - name: %s\n    algorithm: hmac-sha256\n    secret: \"%s\"\n" % (KEY.name, KEY.secret)
    t = Secondary({ZONE: ["127.0.0.1@%d" % knot.port]}, workdir=str(tmp_path / "pop"),
                  extra="    key: %s\n" % KEY.name + keys + ALLOW)
    t.start()
    wait_serial(t.port, 1, log=t.log_text)
    knot.change(zone_text(2, hosts=3000).replace("A 10.0.", "A 10.1.") + "only2 A 192.0.2.2\n")
    wait_serial(knot.port, 2, log=knot.log_text)  # Knot reloads in the background
    q = dns.message.make_query(ZONE, "SOA")
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    q.use_tsig(KEY.ring(), KEY.name)
    dns.query.udp(q, "127.0.0.1", port=t.port, timeout=2)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "IXFR from 127.0.0.1@%d: serial 1 -> 2, 1 diffs, 6003 records" % knot.port)
    messages = int(re.search(r"6003 records, (\d+) messages", t.log_text()).group(1))
    assert messages > 1, t.log_text()
    assert "IXFR, outgoing" in knot.log_text()
    assert a_record(t.port, "h3.pop.test.") == ["10.1.0.3"] and a_record(t.port, "only2.pop.test.") == ["192.0.2.2"]
    assert records(t.addr, t.port) == records_signed(knot.port)
    assert "TSIG" not in t.log_text()
    stop_ok(t)
    knot.stop()


# --- BIND -----------------------------------------------------------------------------------------

@pytest.mark.skipif(not named_available(), reason="BIND (named) not installed")
def test_bind_primary_ixfr_from_differences(tmp_path):
    """BIND with ixfr-from-differences: a zone file edited and reloaded (SIGHUP) becomes a diff in
    BIND's journal; ternd, told by BIND's NOTIFY, pulls it by IXFR and answers as BIND does."""
    pop_port = free_port()
    named = NamedPrimary(tmp_path / "bind", ZONE, zone_text(100, hosts=300), pop_port, ixfr=True)
    port = named.port
    t = Secondary({ZONE: ["127.0.0.1@%d" % port]}, port=pop_port, workdir=str(tmp_path / "pop"), extra=ALLOW)
    try:
        named.start()
        t.start()
        wait_serial(t.port, 100, log=t.log_text)
        text = zone_text(101, www="192.0.2.111", hosts=300).replace("h5 A 10.0.0.5\n", "")
        named.change(text + "extra TXT \"from bind\"\n")
        both = lambda: t.log_text() + named.log_text()  # noqa: E731
        wait_serial(t.port, 101, timeout=10, log=both)
        wait_log(t.log_text, "IXFR from 127.0.0.1@%d: serial 100 -> 101, 1 diffs" % port)
        assert "IXFR started" in named.log_text()
        assert a_record(t.port, "www.pop.test.") == ["192.0.2.111"]
        assert a_record(t.port, "h5.pop.test.") == []
        assert records(t.addr, t.port) == records("127.0.0.1", port)
        assert copy_serial(t, 101) == 101
    finally:
        named.stop()
    stop_ok(t)


# --- a scripted primary ----------------------------------------------------------------------------

def zone_records(text):
    """{key: rrset of one record} for a zone text, SOA apart; key = (name, ttl, type, rdata text)."""
    z = dns.zone.from_text(text, ZONE + ".", relativize=False, check_origin=False)
    out, soa = {}, None
    for name, rds in z.iterate_rdatasets():
        for rd in rds:
            rs = dns.rrset.from_rdata_list(name, rds.ttl, [rd])
            if rds.rdtype == dns.rdatatype.SOA:
                soa = rs
            else:
                out[(name.to_text().lower(), rds.ttl, rds.rdtype, rd.to_text().lower())] = rs
    return out, soa


class IxfrPrimary(ScriptedServer):
    """A scripted primary keeping every version published. SOA over UDP tells the newest serial;
    AXFR sends the newest zone; IXFR answers per ixfr_mode:
      "diffs"   one diff per version from the client's serial on (AXFR-style when it is unknown)
      "gap"     the right changes, but in a diff that starts at a serial the client does not hold
      "missing" the right diffs plus the deletion of a record no version has
      "cut"     the right diffs, half of the messages, then the connection closes
      "axfr"    the whole zone (AXFR-style)
      "current" a lone SOA with the client's own serial
    axfr_mode "cut" cuts AXFR halfway too. Answers come in messages of 4 records."""

    def __init__(self, serial, text):
        self.versions = {}
        self.publish(serial, text)
        self.ixfr_mode = "diffs"
        self.axfr_mode = "full"
        self.queries = []  # (type, client serial or None)
        super().__init__()
        _started.append(self)

    def publish(self, serial, text):
        self.versions[serial] = zone_records(text)
        self.serial = serial

    def soa(self, serial):
        soa = self.versions[self.serial][1]
        return dns.rrset.from_rdata_list(soa.name, soa.ttl, [soa[0].replace(serial=serial)])

    def expected(self):
        """The newest version as records() gives a zone: sorted, without the closing SOA."""
        recs, soa = self.versions[self.serial]
        out = [(soa.name.to_text().lower(), "SOA", soa.ttl, soa[0].to_text().lower())]
        out += [(k[0], dns.rdatatype.to_text(k[2]), k[1], k[3]) for k in recs]
        return sorted(out)

    def whole(self):
        recs = self.versions[self.serial][0]
        return [self.soa(self.serial)] + list(recs.values()) + [self.soa(self.serial)]

    def diffs(self, client):
        chain = sorted(s for s in self.versions if s >= client)
        out = [self.soa(self.serial)]
        for old, new in zip(chain, chain[1:]):
            a, b = self.versions[old][0], self.versions[new][0]
            out += [self.soa(old)] + [a[k] for k in a if k not in b]
            out += [self.soa(new)] + [b[k] for k in b if k not in a]
        return out + [self.soa(self.serial)]

    def ixfr_answer(self, client):
        mode = self.ixfr_mode
        if mode == "current":
            return [self.soa(client)]
        if mode == "axfr" or client not in self.versions:
            return self.whole()
        rrs = self.diffs(client)
        if mode == "gap":
            rrs[1] = self.soa(client + 1000)
        if mode == "missing":
            rrs.insert(2, dns.rrset.from_text(ZONE + ".", 300, "IN", "TXT", "\"never here\""))
        return rrs

    def on_udp(self, data, peer):
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.answer.append(self.soa(self.serial))
        self.udp.sendto(r.to_wire(), peer)

    def tcp_answer(self, q):
        if q.question[0].rdtype == dns.rdatatype.IXFR:
            client = q.authority[0][0].serial
            self.queries.append(("IXFR", client))
            rrs, cut = self.ixfr_answer(client), self.ixfr_mode == "cut"
        else:
            self.queries.append(("AXFR", None))
            rrs, cut = self.whole(), self.axfr_mode == "cut"
        msgs = []
        for i in range(0, len(rrs), 4):
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            r.answer = rrs[i:i + 4]
            msgs.append(r)
        return msgs[:len(msgs) // 2] if cut else msgs


def scripted(tmp_path, hosts=40, extra=""):
    fake = IxfrPrimary(1, zone_text(1, hosts=hosts))
    t = Secondary({ZONE: ["127.0.0.1@%d" % fake.port]}, workdir=str(tmp_path / "pop"), extra=ALLOW + extra)
    t.start()
    wait_serial(t.port, 1, log=t.log_text)
    copy_serial(t, 1)
    assert fake.queries == [("AXFR", None)]
    return fake, t


def test_disk_copy_follows_bursts_once_a_second(tmp_path):
    """Ten changes pulled one by one within about a second are all served at once, while the disk
    copy is written a few times, not once per transfer; a copy still due is written at stop, so a
    restart serves the last version transferred."""
    fake, t = scripted(tmp_path, extra="log:\n  level: debug\n")
    start = time.time()
    for serial in range(2, 12):
        fake.publish(serial, zone_text(serial, www="192.0.2.%d" % serial, hosts=40))
        send_notify(t.port)
        wait_serial(t.port, serial, log=t.log_text)
    took = time.time() - start
    stop_ok(t)
    log = t.log_text()
    assert log.count("IXFR from 127.0.0.1@%d: serial" % fake.port) == 10
    written = re.findall(r"disk copy of serial (\d+) written", log)
    assert written[-1] == "11", written  # the last one, at stop
    assert len(written) <= 2 + int(took) * 2, (took, written)  # the first copy, ~1 a second, the stop
    assert copy_serial(t) == 11
    t.start()
    assert "serving the disk copy, serial 11" in t.log_text()
    assert a_record(t.port, "www.pop.test.") == ["192.0.2.11"]
    stop_ok(t)
    fake.stop()


def test_scripted_chain_of_diffs(tmp_path):
    """Three versions published between two refreshes: one IXFR of three diffs over many
    messages; the zone, its answers and the disk copy are the newest version's."""
    fake, t = scripted(tmp_path)
    fake.publish(2, zone_text(2, www="192.0.2.2", hosts=40))
    fake.publish(3, zone_text(3, www="192.0.2.3", hosts=30))
    fake.publish(4, zone_text(4, www="192.0.2.4", hosts=35).replace("alias CNAME www", "alias CNAME mail"))
    send_notify(t.port)
    wait_serial(t.port, 4, log=t.log_text)
    wait_log(t.log_text, "serial 1 -> 4, 3 diffs")
    assert fake.queries[1:] == [("IXFR", 1)]
    assert records(t.addr, t.port) == fake.expected()
    assert a_record(t.port, "h34.pop.test.") == ["10.0.0.34"] and a_record(t.port, "h36.pop.test.") == []
    assert copy_serial(t, 4) == 4
    stop_ok(t)


def test_transfer_breaking_zone_rules_is_refused(tmp_path):
    """A (hostile) primary sends an RRset no message can carry -- spread over many messages, as a
    transfer may -- then a name below a DNAME: the IXFR and the AXFR after it are refused, the log
    names the owner, type and size (or the DNAME and the name below it), and the zone keeps serving
    its version; a good version after them is taken."""
    fake, t = scripted(tmp_path)
    big = "".join('big 60 IN TXT "%03d%s"\n' % (i, "y" * 252) for i in range(300))
    fake.publish(2, zone_text(2, hosts=40) + big)
    send_notify(t.port)
    wait_log(t.log_text, "the TXT RRset at big.pop.test. is too large: a response carrying it takes 80811 octets")
    deadline = time.time() + 8
    while fake.queries[1:] != [("IXFR", 1), ("AXFR", None)]:
        assert time.time() < deadline, fake.queries
        time.sleep(0.02)
    while t.log_text().count("the TXT RRset at big.pop.test. is too large") < 2:  # the AXFR's refusal too
        assert time.time() < deadline, t.log_text()[-3000:]
        time.sleep(0.02)
    assert soa_serial(t.port) == 1 and a_record(t.port, "www.pop.test.") == ["192.0.2.1"]
    fake.publish(3, zone_text(3, hosts=40) + "d 60 IN DNAME example.net.\nx.d 60 IN A 192.0.2.9\n")
    send_notify(t.port)
    wait_log(t.log_text, "DNAME at d.pop.test. has data below it, at x.d.pop.test.")
    assert soa_serial(t.port) == 1
    fake.publish(4, zone_text(4, www="192.0.2.4", hosts=40))
    send_notify(t.port)
    wait_serial(t.port, 4, log=t.log_text)
    assert records(t.addr, t.port) == fake.expected()
    assert copy_serial(t, 4) == 4
    stop_ok(t)


def test_journal_gap_falls_back_to_axfr(tmp_path):
    """Diffs that do not start at our serial are refused; AXFR from the same primary follows."""
    fake, t = scripted(tmp_path)
    fake.ixfr_mode = "gap"
    fake.publish(2, zone_text(2, www="192.0.2.2", hosts=40))
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "the IXFR diffs start at serial 1001, not at the 1 we hold")
    wait_log(t.log_text, "transferred serial 2 from 127.0.0.1@%d by AXFR" % fake.port)
    assert fake.queries[1:] == [("IXFR", 1), ("AXFR", None)]
    assert records(t.addr, t.port) == fake.expected()
    stop_ok(t)


def test_deletion_of_a_missing_record_falls_back_to_axfr(tmp_path):
    fake, t = scripted(tmp_path)
    fake.ixfr_mode = "missing"
    fake.publish(2, zone_text(2, www="192.0.2.2", hosts=40))
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "the IXFR from 127.0.0.1@%d (serial 1 -> 2) does not apply: IXFR diff 1 (serial 1 -> 2) "
             "deletes pop.test. TXT \"never here\", which the zone does not hold; trying AXFR" % fake.port)
    assert fake.queries[1:] == [("IXFR", 1), ("AXFR", None)]
    assert records(t.addr, t.port) == fake.expected()
    assert copy_serial(t, 2) == 2
    stop_ok(t)


def test_cut_ixfr_changes_nothing(tmp_path):
    """An IXFR cut halfway (and the AXFR after it too) leaves the served zone and its disk copy
    as they were; the next good IXFR brings the new version."""
    fake, t = scripted(tmp_path)
    before = records(t.addr, t.port)
    good = open(t.copy_path()).read()
    fake.ixfr_mode, fake.axfr_mode = "cut", "cut"
    fake.publish(2, zone_text(2, www="192.0.2.2", hosts=20))
    send_notify(t.port)
    wait_log(t.log_text, "IXFR from 127.0.0.1@%d failed (127.0.0.1@%d: connection closed after" % (fake.port, fake.port))
    wait_log(t.log_text, "refresh failed")
    assert soa_serial(t.port) == 1 and a_record(t.port, "www.pop.test.") == ["192.0.2.1"]
    assert a_record(t.port, "h30.pop.test.") == ["10.0.0.30"]
    assert records(t.addr, t.port) == before
    assert open(t.copy_path()).read() == good
    fake.ixfr_mode, fake.axfr_mode = "diffs", "full"
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "serial 1 -> 2, 1 diffs")
    assert records(t.addr, t.port) == fake.expected()
    stop_ok(t)


def test_axfr_style_answer_to_ixfr(tmp_path):
    fake, t = scripted(tmp_path)
    fake.ixfr_mode = "axfr"
    fake.publish(2, zone_text(2, www="192.0.2.2", hosts=10))
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "transferred serial 2 from 127.0.0.1@%d by IXFR (whole zone)" % fake.port)
    assert fake.queries[1:] == [("IXFR", 1)]
    assert records(t.addr, t.port) == fake.expected()
    assert copy_serial(t, 2) == 2
    stop_ok(t)


def test_up_to_date_answer(tmp_path):
    """The SOA query says newer, the IXFR a lone SOA with our serial: nothing changes, no AXFR
    follows, and the refresh counts as a success."""
    fake, t = scripted(tmp_path, extra="log:\n  level: debug\n")
    fake.ixfr_mode = "current"
    fake.publish(2, zone_text(2, www="192.0.2.2"))
    send_notify(t.port)
    wait_log(t.log_text, "serial 1 is current at 127.0.0.1@%d" % fake.port)
    assert fake.queries[1:] == [("IXFR", 1)]
    assert soa_serial(t.port) == 1 and a_record(t.port, "www.pop.test.") == ["192.0.2.1"]
    assert "refresh failed" not in t.log_text()
    stop_ok(t)


def test_long_soa_names_fit_the_ixfr_query(tmp_path):
    """The IXFR query carries our SOA: with MNAME and RNAME of 253 octets each it is over 512
    bytes, and still goes out (and the diff applies)."""
    long_name = ".".join(c * 60 for c in "abcd") + ".example."
    text = lambda serial, **kw: zone_text(serial, **kw).replace(  # noqa: E731
        "@ SOA ns1 hostmaster", "@ SOA %s h%s" % (long_name, long_name[1:]))
    fake = IxfrPrimary(1, text(1))
    t = Secondary({ZONE: ["127.0.0.1@%d" % fake.port]}, workdir=str(tmp_path / "pop"), extra=ALLOW)
    t.start()
    wait_serial(t.port, 1, log=t.log_text)
    fake.publish(2, text(2, www="192.0.2.2"))
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "serial 1 -> 2, 1 diffs")
    assert fake.queries == [("AXFR", None), ("IXFR", 1)]
    assert records(t.addr, t.port) == fake.expected()
    stop_ok(t)


# --- RRSIG TTLs -----------------------------------------------------------------------------------

SIG = " 13 3 %d 20370101000000 20240101000000 12345 pop.test. AAECAwQFBgcICQoLDA0ODw=="


def signed_text(serial, www_ttl=600):
    """zone_text with RRSIGs whose TTLs differ at one name: each that of the RRset it covers
    (RFC 4034 sec. 3). The signatures are never checked by anyone here."""
    return zone_text(serial, hosts=3) + "\n".join([
        "@ 300 RRSIG SOA" + SIG % 300, "@ 300 RRSIG NS" + SIG % 300,
        "www %d A 192.0.2.1" % www_ttl, "www %d RRSIG A" % www_ttl + SIG % www_ttl,
        "www 7200 TXT \"t\"", "www 7200 RRSIG TXT" + SIG % 7200,
        "www 60 NSEC zz.pop.test. A TXT RRSIG NSEC", "www 60 RRSIG NSEC" + SIG % 60]) + "\n"


def sig_ttls(port, name="www.pop.test."):
    """{covered type: TTL} of the RRSIGs 127.0.0.1@port answers for name (qtype RRSIG)."""
    r = dns.query.tcp(dns.message.make_query(name, "RRSIG", want_dnssec=True), "127.0.0.1", port=port, timeout=2)
    out = {}
    for rrset in r.answer:
        for rd in rrset:
            if rrset.rdtype == dns.rdatatype.RRSIG:
                covered = dns.rdatatype.to_text(rd.type_covered)
                assert out.get(covered, rrset.ttl) == rrset.ttl, "RRSIG %s with two TTLs" % covered
                out[covered] = rrset.ttl
    return out


def axfr_sig_ttls(port, name="www.pop.test."):
    """The same from an AXFR of 127.0.0.1@port (Knot answers qtype RRSIG with one covered type only)."""
    return {rd.split()[0].upper(): ttl for owner, rtype, ttl, rd in records("127.0.0.1", port)
            if owner == name and rtype == "RRSIG"}


@needs_knot
def test_rrsig_ttls_survive_axfr_and_ixfr(tmp_path):
    """Each RRSIG keeps the TTL of the RRset it covers through transfers: Knot -> ternd by AXFR,
    then an IXFR that changes the A RRset's TTL and its signature; ternd's answers and its own AXFR
    (read by a Knot secondary too) hold every RRSIG with its own TTL, as Knot's AXFR does."""
    knot = knot_journal(tmp_path, signed_text(1))
    t = Secondary({ZONE: ["127.0.0.1@%d" % knot.port]}, workdir=str(tmp_path / "pop"), extra=ALLOW)
    t.start()
    wait_serial(t.port, 1, log=t.log_text)
    want = {"A": 600, "TXT": 7200, "NSEC": 60}
    assert axfr_sig_ttls(knot.port) == want
    assert sig_ttls(t.port) == want
    assert axfr_sig_ttls(t.port) == want
    assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
    sig = [r for r in records(t.addr, t.port) if r[1] == "RRSIG" and r[0] == "www.pop.test."]
    assert sorted(r[2] for r in sig) == [60, 600, 7200]
    # IXFR: the A RRset and its signature move to 900; the others keep theirs
    knot.commit(("unset", "www", "A"), ("set", "www", "900", "A", "192.0.2.1"),
                ("unset", "www", "RRSIG", "A" + SIG % 600), ("set", "www", "900", "RRSIG", "A" + SIG % 900))
    send_notify(t.port)
    wait_serial(t.port, 2, log=t.log_text)
    wait_log(t.log_text, "IXFR from 127.0.0.1@%d: serial 1 -> 2, 1 diffs" % knot.port)
    want["A"] = 900
    assert axfr_sig_ttls(knot.port) == want
    assert sig_ttls(t.port) == want
    assert axfr_sig_ttls(t.port) == want
    assert records(t.addr, t.port) == records("127.0.0.1", knot.port)
    # a Knot secondary of ternd gets them so by AXFR
    down = _started.add(KnotSecondary(tmp_path / "knot2", ZONE, t.port, transfer=True))
    deadline = time.time() + 15
    while soa_serial(down.port) != 2:
        assert time.time() < deadline, "the Knot secondary never loaded serial 2:\n" + down.log_text()[-3000:]
        time.sleep(0.05)
    assert axfr_sig_ttls(down.port) == want
    assert records("127.0.0.1", down.port) == records(t.addr, t.port)
    stop_ok(t)
