"""A catalog of 5,000 members (issue 18, the small size; `make bench-catalog` has 100,000): ternd
produces it from 4,999 zone files and one API zone; a ternd PoP and a Knot secondary
(`catalog-role: interpret`) consume it and serve every member. One member added through the API
and one removed reach both by IXFR of the catalog, a handful of records, never the catalog whole:
asked here by hand from the old serial (records and bytes counted), and seen in the primary's
transfer log (one IXFR per consumer), in the PoP's log and in Knot's."""
import os
import re
import shutil
import socket
import struct
import tempfile
import time

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from apilib import ApiTernd, finish, keys  # noqa: F401 (keys is a fixture)
from knotlib import KnotSecondary, knotd_available
from sysutil import ask_soa_many
from ternlib import Ternd, free_port, wait_log

N = 5000
CAT = "catalog.tern."
# an IXFR of one member added (or removed): SOA, old SOA, [PTR], new SOA, [PTR], SOA in one
# message; its PTR owner is 40 hex digits under zones.catalog.tern.
MAX_IXFR_RECORDS = 5
MAX_IXFR_BYTES = 400


def member(i):
    return "m%d.cat.test" % i


def zone_text(name):
    return ("$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n"
            "ns1 A 192.0.2.1\nwww A 192.0.2.3\n" % name)


def rcodes(port, names):
    """{name: rcode of its SOA query (None: no answer)}, each name asked up to 3 times."""
    return ask_soa_many(port, names, lambda resp: struct.unpack("!H", resp[2:4])[0] & 0xF)


def wait_all_served(port, names, who, timeout):
    """Polls until every name answers its SOA with NOERROR."""
    deadline = time.time() + timeout
    while True:
        codes = rcodes(port, names)
        missing = [n for n, c in codes.items() if c != dns.rcode.NOERROR]
        if not missing:
            return
        assert time.time() < deadline, "%s serves %d of %d members; e.g. %s: %s" % (
            who, len(names) - len(missing), len(names), missing[0], codes[missing[0]])
        time.sleep(0.2)


def wait_rcode(port, name, rcode, who, timeout=20.0):
    deadline = time.time() + timeout
    while rcodes(port, [name])[name] != rcode:
        assert time.time() < deadline, "%s: %s never answered %s" % (who, name, dns.rcode.to_text(rcode))
        time.sleep(0.02)


def catalog_serial(port):
    r = dns.query.udp(dns.message.make_query(CAT, "SOA"), "127.0.0.1", port=port, timeout=2)
    return r.answer[0][0].serial if r.rcode() == dns.rcode.NOERROR and r.answer else None


def knot_catalog_serial(knot):
    """The catalog's serial at Knot, from its log (Knot does not answer queries for a catalog it
    interprets)."""
    found = re.findall(r"\[%s\] refresh, remote [^,]+, zone updated, [^,]+, serial \S+ -> (\d+)" % re.escape(CAT),
                       open(knot.log).read())
    return int(found[-1]) if found else None


def wait_catalog_serial(port, pred, who, timeout=20.0):
    """Polls the catalog's serial at port (a Knot: from its log) until pred holds."""
    deadline = time.time() + timeout
    while True:
        s = knot_catalog_serial(port) if isinstance(port, KnotSecondary) else catalog_serial(port)
        if s is not None and pred(s):
            return s
        assert time.time() < deadline, "%s: the catalog's serial stays %s" % (who, s)
        time.sleep(0.01)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the primary closed the connection mid-transfer"
        data += chunk
    return data


def transfer(port, rdtype, serial=None):
    """An AXFR, or an IXFR from serial, over TCP by hand: (records, bytes on the wire, messages).
    It ends at the SOA of the version served seen a last time (RFC 1995 4: the answer's first
    record; an IXFR's delta sections each open with a SOA, so only the one that closes counts)."""
    q = dns.message.make_query(CAT, rdtype)
    if serial is not None:
        soa = dns.rrset.from_text(CAT, 0, "IN", "SOA", "invalid. invalid. %d 0 0 0 0" % serial)
        q.authority.append(soa)
    wire = q.to_wire()
    records, nbytes, messages = [], 0, 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        while True:
            (length,) = struct.unpack("!H", recv_exact(s, 2))
            data = recv_exact(s, length)
            nbytes += 2 + length
            messages += 1
            m = dns.message.from_wire(data, one_rr_per_rrset=True)
            assert m.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(m.rcode())
            records += [(rs.name, rs.rdtype, rd) for rs in m.answer for rd in rs]
            if done(records):
                return records, nbytes, messages


def done(records):
    if len(records) < 2 or records[0][1] != dns.rdatatype.SOA:
        return len(records) == 1 and records[0][1] == dns.rdatatype.SOA  # one SOA: current
    new = records[0][2].serial
    if records[1][1] != dns.rdatatype.SOA or records[1][2].serial == new:
        return records[-1][1] == dns.rdatatype.SOA and records[-1][2].serial == new  # whole zone
    # incremental: (old SOA, removed..., new SOA, added...)* then the final SOA
    i, n = 1, len(records)
    while i < n:
        if records[i][1] == dns.rdatatype.SOA and records[i][2].serial == new and i == n - 1:
            return True
        i += 1  # the deletion section's SOA
        while i < n and records[i][1] != dns.rdatatype.SOA:
            i += 1
        i += 1  # the addition section's SOA
        while i < n and records[i][1] != dns.rdatatype.SOA:
            i += 1
    return False


def ptr_targets(records):
    return [rd.target.to_text() for _n, t, rd in records if t == dns.rdatatype.PTR]


def knot_transfers(knot):
    """Knot's incoming transfers of the catalog: [(kind, text of the finished line)]."""
    text = open(knot.log).read()
    return re.findall(r"\[%s\] (AXFR|IXFR), incoming, remote [^,]+, finished(.*)" % re.escape(CAT), text)


class Pop(Ternd):
    """ternd consuming the catalog of the primary at primary_port."""

    def __init__(self, workdir, primary_port, port):
        os.makedirs(str(workdir), exist_ok=True)
        self.primary_port = primary_port
        super().__init__({}, workdir=str(workdir), port=port)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write("  - name: \"%s\"\n    primary: [\"127.0.0.1@%d\"]\n    catalog: true\n" % (
                CAT, self.primary_port))
            f.write("log:\n  level: debug\n")  # the query tables' makings are counted


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_catalog_of_5000_members_changes_by_ixfr(keys, tmp_path):
    zdir = tmp_path / "zones"
    zdir.mkdir()
    files = {}
    for i in range(N - 1):
        path = zdir / (member(i) + ".zone")
        path.write_text(zone_text(member(i)))
        files[member(i)] = str(path)
    kport, pport = free_port(), free_port()
    os.makedirs(str(tmp_path / "p"))
    p = ApiTernd(keys, workdir=str(tmp_path / "p"), zones=files)
    with open(p.config, "a") as f:
        f.write("catalog:\n  zone: %s\ntransfer:\n  allow: [127.0.0.0/8]\n" % CAT)
        f.write("  notify: [\"127.0.0.1@%d\", \"127.0.0.1@%d\"]\n" % (pport, kport))
    pop = knot = None
    try:
        p.start()
        api = p.api(keys.token("t1"))
        api.create_zone("leaving.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.7"]}])
        names = [member(i) for i in range(N - 1)] + ["leaving.test"]
        wait_log(p.log_text, "%d member(s) (1 added, 0 removed)" % N)
        s0 = catalog_serial(p.port)
        axfr_records, axfr_bytes, _ = transfer(p.port, "AXFR")
        assert len(ptr_targets(axfr_records)) == N

        # the PoP writes a disk copy of each member with two fsyncs on its refresh thread, which
        # takes NOTIFYs only after them (tens of seconds for 5,000 on a disk): its directory is
        # in memory where there is one, so the test times the catalog rather than the disk
        pop_dir = tempfile.mkdtemp(prefix="catalog-scale-pop-", dir="/dev/shm") \
            if os.path.isdir("/dev/shm") else str(tmp_path / "pop")
        pop = Pop(pop_dir, p.port, pport)
        knot = KnotSecondary(tmp_path / "knot", CAT, p.port, port=kport, catalog=True)
        started = time.time()
        pop.start()
        knot.start()
        wait_all_served(pport, names, "the ternd PoP", 90)
        wait_all_served(kport, names, "Knot", 90)
        print("both consumers serve %d members after %.1f s" % (N, time.time() - started))
        # once every member is known, the PoP's query tables (each O(members)) are made at most
        # once per 500 ms (xfrin_loop.c TABLES_GAP_MS) as members start being served, not once
        # per member's first transfer (while members are added they are made at each wake-up)
        made = pop.log_text().count("query tables made (%d zones," % (N + 1))
        print("the PoP made its query tables of every member %d times" % made)
        assert made <= (time.time() - started) / 0.5 + 5, made
        # the PoP's refresh thread writes each member's disk copy (fsync'd) before it takes the
        # next NOTIFY: the change below is timed from a settled PoP
        deadline = time.time() + 60
        while len([f for f in os.listdir(pop.dir) if f.endswith(".zone")]) < N + 1:
            assert time.time() < deadline, "the PoP never wrote its disk copies"
            time.sleep(0.2)
        print("the PoP's disk copies written after %.1f s" % (time.time() - started))
        for at, who in ((pport, "the PoP"), (knot, "Knot")):
            assert wait_catalog_serial(at, lambda s: s == s0, who) == s0
        before = open(p.log).read().count("transfer: %s" % CAT)
        knot_before = len(knot_transfers(knot))

        # one member added
        api.create_zone("joining.test", rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.8"]}])
        s1 = wait_catalog_serial(p.port, lambda s: s != s0, "the primary")
        records, nbytes, messages = transfer(p.port, "IXFR", s0)
        print("IXFR %d -> %d: %d records, %d bytes, %d message(s); the AXFR: %d records, %d bytes" % (
            s0, s1, len(records), nbytes, messages, len(axfr_records), axfr_bytes))
        assert ptr_targets(records) == ["joining.test."], records
        assert len(records) <= MAX_IXFR_RECORDS + 1 and nbytes <= MAX_IXFR_BYTES and messages == 1, \
            "the IXFR of one member added is %d records, %d bytes" % (len(records), nbytes)
        for at, port, who in ((pport, pport, "the PoP"), (knot, kport, "Knot")):
            wait_catalog_serial(at, lambda s: s == s1, who)
            wait_rcode(port, "joining.test.", dns.rcode.NOERROR, who)

        # one member removed
        assert api.delete("/api/v1/zones/leaving.test").status == 204
        s2 = wait_catalog_serial(p.port, lambda s: s != s1, "the primary")
        records, nbytes, messages = transfer(p.port, "IXFR", s1)
        print("IXFR %d -> %d: %d records, %d bytes" % (s1, s2, len(records), nbytes))
        assert ptr_targets(records) == ["leaving.test."], records
        assert len(records) <= MAX_IXFR_RECORDS + 1 and nbytes <= MAX_IXFR_BYTES
        # both changes from the first serial: two deltas, one after the other
        records, nbytes, _ = transfer(p.port, "IXFR", s0)
        assert ptr_targets(records) == ["joining.test.", "leaving.test."] and nbytes <= 2 * MAX_IXFR_BYTES
        for at, port, who in ((pport, pport, "the PoP"), (knot, kport, "Knot")):
            wait_catalog_serial(at, lambda s: s == s2, who)
            wait_rcode(port, "leaving.test.", dns.rcode.REFUSED, who)
            assert rcodes(port, ["joining.test.", member(0), member(N - 2)]) == {
                "joining.test.": 0, member(0): 0, member(N - 2): 0}, who

        # the primary sent each consumer each change by IXFR, never the catalog whole
        sent = open(p.log).read().splitlines()
        sent = [l for l in sent if "transfer: %s" % CAT in l][before:]
        ixfrs = [l for l in sent if re.search(r"IXFR to [^:]+: serial %d -> %d, 1 messages" % (s0, s1), l) or
                 re.search(r"IXFR to [^:]+: serial %d -> %d, 1 messages" % (s1, s2), l)]
        assert not [l for l in sent if "AXFR" in l], "\n".join(sent)
        # each consumer asked for each version (a consumer may take both changes in one IXFR)
        assert len(ixfrs) >= 2, "\n".join(sent)
        wait_log(pop.log_text, "zone %s: IXFR from 127.0.0.1@%d: serial %d -> %d" % (CAT, p.port, s1, s2))
        assert not re.search(r"zone %s: transferred serial (%d|%d) from" % (re.escape(CAT), s1, s2),
                             pop.log_text()), "the PoP took a version whole"
        # and read only the entries the IXFR changed, not the 5,000 members
        for serial, counts in ((s1, "5001 member(s) served (1 added, 0 removed"),
                               (s2, "5000 member(s) served (0 added, 1 removed")):
            assert "catalog %s serial %d: %s: the entries that changed read)" % (CAT, serial, counts) in \
                pop.log_text(), "the PoP read the catalog whole for serial %d" % serial
        kinds = [k for k, _rest in knot_transfers(knot)[knot_before:]]
        assert kinds and set(kinds) == {"IXFR"}, knot_transfers(knot)
        api.close()
    finally:
        for srv in (knot, pop):
            if srv is not None:
                srv.stop()
        if pop is not None and pop.dir.startswith("/dev/shm/"):
            shutil.copy(pop.log, str(tmp_path / "pop.log"))
            shutil.rmtree(pop.dir)
        finish(p)
