"""ternd primary -> NSD secondary: NSD pulls the zone by AXFR, follows API changes through NOTIFY and
IXFR requests, and answers every name and type of the zone as ternd does; with a TSIG key
(hmac-sha256, hmac-sha512) as well, ternd then refusing unsigned transfers."""
import base64
import socket
import struct
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.xfr
import pytest

import xfrlib
from apilib import finish, keys  # noqa: F401 (keys is a fixture)
from nsdlib import Nsd, nsd_available
from ternlib import free_port
from xfrlib import ScriptedServer, TsigKey, api_primary as primary

needs_nsd = pytest.mark.skipif(not nsd_available(), reason="NSD not installed")


def axfr_records(port, zone, key=None):
    """The zone by AXFR from 127.0.0.1@port, signed with key (a TsigKey) when given."""
    return xfrlib.axfr_records("127.0.0.1", port, zone, key.ring() if key else None, key.name if key else None)


def wait_serial(port, zone, serial, timeout=10.0, log=None):
    """Waits until 127.0.0.1@port serves serial for zone; returns the time it took."""
    start = time.time()
    return xfrlib.wait_serial("127.0.0.1", port, zone, serial, timeout, log) - start


def answer_view(port, name, rdtype):
    """What a UDP answer says that every correct authoritative server says the same way: the rcode,
    AA, the answer section, and the NS RRsets of the authority section (a referral)."""
    r = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=2)

    def section(rrsets, only=None):
        return sorted((rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype), rs.ttl,
                       tuple(sorted(rd.to_text().lower() for rd in rs)))
                      for rs in rrsets if only is None or rs.rdtype == only)

    return {"rcode": dns.rcode.to_text(r.rcode()), "aa": bool(r.flags & dns.flags.AA),
            "answer": section(r.answer),
            "referral": [] if r.flags & dns.flags.AA else section(r.authority, dns.rdatatype.NS)}


def differences(port_a, port_b, zone, names_types):
    """Every (name, type) whose answer differs between the two servers, with both answers."""
    out = []
    for name, rdtype in names_types:
        a, b = answer_view(port_a, name, rdtype), answer_view(port_b, name, rdtype)
        if a != b:
            out.append("%s %s:\n  ternd %s\n  other %s" % (name, rdtype, a, b))
    return out


class XfrRecorder(ScriptedServer):
    """A DNS forwarder between a secondary and its primary, on a port of its own: UDP datagrams are
    passed through, TCP connections are pumped both ways, and every TCP query (type, and the serial
    an IXFR asks from) and every answer message on TCP is kept, in order, so a test can tell which
    transfers the secondary asked for and whether they came back incremental."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.lock = threading.Lock()
        self.transfers = []  # [{"qtype", "serial", "answers": [wire, ...]}]
        super().__init__()

    def on_udp(self, data, peer):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
            up.settimeout(2)
            try:
                up.sendto(data, self.target)
                self.udp.sendto(up.recv(65535), peer)
            except OSError:
                pass

    def on_tcp(self, conn):
        threading.Thread(target=self.connection, args=(conn,), daemon=True).start()

    @staticmethod
    def frames(sock):
        """The DNS messages of a TCP stream, until it closes."""
        buf = b""
        while True:
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                yield buf[2:2 + n]
                buf = buf[2 + n:]
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk

    def connection(self, c):
        up = socket.create_connection(self.target, timeout=10)
        c.settimeout(10)
        current = []

        def upstream():
            for wire in self.frames(up):
                with self.lock:
                    if current:
                        current[-1]["answers"].append(wire)
                try:
                    c.sendall(struct.pack("!H", len(wire)) + wire)
                except OSError:
                    return
            try:
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        th = threading.Thread(target=upstream, daemon=True)
        th.start()
        with c, up:
            for wire in self.frames(c):
                q = dns.message.from_wire(wire)
                serial = q.authority[0][0].serial if q.authority and q.authority[0].rdtype == dns.rdatatype.SOA else None
                t = {"qtype": dns.rdatatype.to_text(q.question[0].rdtype), "serial": serial, "answers": []}
                with self.lock:
                    self.transfers.append(t)
                    current.append(t)
                up.sendall(struct.pack("!H", len(wire)) + wire)
            th.join(10)


def ixfr_kind(first_message):
    """'incremental' when the first message of an IXFR answer is a difference sequence (RFC 1995:
    the new SOA, then the old one), 'axfr-style' when it is the whole zone, 'up-to-date' when it is
    the SOA alone."""
    m = dns.message.from_wire(first_message, one_rr_per_rrset=True)
    rrs = [(rs.rdtype, rd) for rs in m.answer for rd in rs]
    assert rrs and rrs[0][0] == dns.rdatatype.SOA, "an IXFR answer must start with the SOA: %s" % m
    if len(rrs) == 1:
        return "up-to-date"
    return "incremental" if rrs[1][0] == dns.rdatatype.SOA else "axfr-style"


def ternd_ixfr_kind(port, zone, serial):
    """How ternd answers an IXFR from serial (the first message of its answer, over TCP)."""
    q = dns.message.make_query(zone, "IXFR")
    q.authority.append(dns.rrset.from_text(zone + ".", 0, "IN", "SOA", ". . %d 0 0 0 0" % serial))
    wire = q.to_wire()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        for msg in XfrRecorder.frames(s):
            return ixfr_kind(msg)
    raise AssertionError("ternd closed the IXFR connection without an answer")


# --- the test ------------------------------------------------------------------------------------

ZONE = "nsd.test"
RRSETS = [
    {"name": "ns1", "type": "A", "ttl": 300, "records": ["127.0.0.1"]},
    {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]},
    {"name": "www", "type": "AAAA", "ttl": 300, "records": ["2001:db8::1"]},
    {"name": "@", "type": "MX", "ttl": 300, "records": ["10 mail.nsd.test."]},
    {"name": "mail", "type": "A", "ttl": 300, "records": ["192.0.2.25"]},
    {"name": "alias", "type": "CNAME", "ttl": 300, "records": ["www.nsd.test."]},
    {"name": "txt", "type": "TXT", "ttl": 60, "records": ['"v=1 two words"']},
    {"name": "_sip._tcp", "type": "SRV", "ttl": 300, "records": ["0 5 5060 www.nsd.test."]},
    {"name": "sub", "type": "NS", "ttl": 300, "records": ["ns.sub.nsd.test."]},
    {"name": "ns.sub", "type": "A", "ttl": 300, "records": ["192.0.2.53"]},
    {"name": "deep.a.b", "type": "A", "ttl": 300, "records": ["192.0.2.99"]},
] + [{"name": "h%d" % i, "type": "A", "ttl": 300, "records": ["10.0.0.%d" % i]} for i in range(40)]


def zone_questions(port, zone, key=None):
    """Every (name, type) of the zone from ternd's AXFR (signed with key), plus names and types that
    are not there (NODATA, NXDOMAIN, an empty non-terminal, below the delegation)."""
    qs = sorted({(name, rdtype) for name, rdtype, _, _ in axfr_records(port, zone, key)})
    qs += [("www.%s." % zone, "TXT"), ("nothing.%s." % zone, "A"), ("b.%s." % zone, "A"),
           ("x.sub.%s." % zone, "A"), ("%s." % zone, "NS")]
    return qs


def change_zone(api):
    """One API change of ZONE (an RRset replaced, one deleted, one added); returns the new serial."""
    r = api.patch("/api/v1/zones/%s/rrsets" % ZONE, {"rrsets": [
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.3"]},
        {"name": "txt", "type": "TXT", "delete": True},
        {"name": "new", "type": "A", "ttl": 120, "records": ["192.0.2.77"]}]})
    assert r.status == 200, r
    return r.json["serial"]


@needs_nsd
def test_nsd_follows_ternd_by_notify_and_ixfr(tmp_path, keys):  # noqa: F811
    nsd_port = free_port()
    t, api = primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % nsd_port], ZONE, RRSETS)
    rec = XfrRecorder(t.port)
    nsd = Nsd(tmp_path / "nsd", ZONE, rec.port, port=nsd_port)
    try:
        s0 = api.serial(ZONE)
        nsd.start()
        wait_serial(nsd.port, ZONE, s0, log=nsd.log_text)
        # the first copy comes by AXFR (NSD has nothing to ask an IXFR from) and equals ternd's
        assert [x["qtype"] for x in rec.transfers][:1] == ["AXFR"], rec.transfers
        assert axfr_records(nsd.port, ZONE) == axfr_records(t.port, ZONE)
        questions = zone_questions(t.port, ZONE)
        assert len(questions) > 50
        assert differences(t.port, nsd.port, ZONE, questions) == []

        # a change through the API reaches NSD by NOTIFY (the SOA refresh is hours away)
        before = len(rec.transfers)
        s1 = change_zone(api)
        assert s1 == s0 + 1
        took = wait_serial(nsd.port, ZONE, s1, timeout=10, log=nsd.log_text)
        assert took < 5, "NSD took %.1f s: NOTIFY was not acted on" % took
        assert "notify for %s. from 127.0.0.1 serial %d" % (ZONE, s1) in nsd.log_text(), nsd.log_text()
        assert axfr_records(nsd.port, ZONE) == axfr_records(t.port, ZONE)
        assert differences(t.port, nsd.port, ZONE, zone_questions(t.port, ZONE) + [("txt.%s." % ZONE, "TXT")]) == []

        # NSD asked for an increment from the serial it had
        after = rec.transfers[before:]
        assert [(x["qtype"], x["serial"]) for x in after] == [("IXFR", s0)], after
        assert after[0]["answers"], "no answer to NSD's IXFR was recorded"
        got = ixfr_kind(after[0]["answers"][0])
        if ternd_ixfr_kind(t.port, ZONE, s1 - 1) == "incremental":
            # ternd keeps a journal: NSD's transfer must have been the difference only
            assert got == "incremental", "ternd answers IXFR incrementally, but NSD got %s" % got
        else:
            assert got == "axfr-style", got

        # a second change, to make sure the copy NSD built from that answer takes further changes
        api.put_rrset(ZONE, "h7", "A", 300, ["10.9.9.9"])
        s2 = api.serial(ZONE)
        wait_serial(nsd.port, ZONE, s2, timeout=10, log=nsd.log_text)
        assert [(x["qtype"], x["serial"]) for x in rec.transfers[before + 1:]] == [("IXFR", s1)]
        assert axfr_records(nsd.port, ZONE) == axfr_records(t.port, ZONE)
        assert differences(t.port, nsd.port, ZONE, zone_questions(t.port, ZONE)) == []
    finally:
        nsd.stop()
        rec.stop()
        finish(t)


TSIG_SECRETS = {"hmac-sha256": base64.b64encode(b"nsd tsig test secret of 32 bytes").decode(),
                "hmac-sha512": base64.b64encode(bytes(range(64))).decode()}


@needs_nsd
@pytest.mark.parametrize("algorithm", sorted(TSIG_SECRETS))
def test_nsd_follows_ternd_with_tsig(tmp_path, keys, algorithm):  # noqa: F811
    """ternd allows transfers only signed with the key and signs its NOTIFY; NSD has the same key:
    its transfers go through, a change reaches it by the signed NOTIFY (whose signed answer ternd
    takes as the acknowledgement), and its answers are ternd's. Unsigned transfers are REFUSED."""
    key = TsigKey("xfr.key", algorithm, TSIG_SECRETS[algorithm])
    nsd_port = free_port()
    t, api = primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % nsd_port], ZONE, RRSETS, key=key)
    nsd = Nsd(tmp_path / "nsd", ZONE, t.port, port=nsd_port, key=key)
    try:
        s0 = api.serial(ZONE)
        # keyed-only: an unsigned AXFR or IXFR is refused
        for rdtype, serial in (("AXFR", 0), ("IXFR", s0)):
            with pytest.raises(dns.xfr.TransferError) as e:
                list(dns.query.xfr("127.0.0.1", ZONE, rdtype=rdtype, serial=serial, port=t.port, timeout=5))
            assert e.value.rcode == dns.rcode.REFUSED, rdtype
        nsd.start()
        wait_serial(nsd.port, ZONE, s0, log=nsd.log_text)
        assert axfr_records(nsd.port, ZONE) == axfr_records(t.port, ZONE, key)
        questions = zone_questions(t.port, ZONE, key)
        assert len(questions) > 50
        assert differences(t.port, nsd.port, ZONE, questions) == []

        # a change through the API reaches NSD by the signed NOTIFY (the SOA refresh is hours away)
        s1 = change_zone(api)
        took = wait_serial(nsd.port, ZONE, s1, timeout=10, log=nsd.log_text)
        assert took < 5, "NSD took %.1f s: the signed NOTIFY was not acted on" % took
        assert "notify for %s. from 127.0.0.1 serial %d" % (ZONE, s1) in nsd.log_text(), nsd.log_text()
        deadline = time.time() + 5
        while "serial %d acknowledged by 127.0.0.1@%d" % (s1, nsd.port) not in t.log_text():
            assert time.time() < deadline, t.log_text()[-4000:] + nsd.log_text()
            time.sleep(0.05)
        assert "not an acknowledgement" not in t.log_text()
        assert axfr_records(nsd.port, ZONE) == axfr_records(t.port, ZONE, key)
        assert differences(t.port, nsd.port, ZONE,
                           zone_questions(t.port, ZONE, key) + [("txt.%s." % ZONE, "TXT")]) == []
    finally:
        nsd.stop()
        finish(t)
