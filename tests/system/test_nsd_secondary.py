"""ternd primary -> NSD secondary: NSD pulls the zone by AXFR, follows API changes through NOTIFY and
IXFR requests, and answers every name and type of the zone as ternd does. Also home of the NSD
and transfer-recording helpers test_pop_atomic.py uses."""
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from apilib import ApiTernd, finish, keys  # noqa: F401 (keys is a fixture)
from ternlib import free_port, wait_udp

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
needs_nsd = pytest.mark.skipif(not os.access(NSD, os.X_OK), reason="NSD not installed")


# --- peers ---------------------------------------------------------------------------------------

NSD_CONF = """server:
    server-count: 1
    ip-address: 127.0.0.1@{port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    database: ""
    pidfile: "{dir}/nsd.pid"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    zonelistfile: "{dir}/zone.list"
    logfile: "{dir}/nsd.log"
    verbosity: 2
    zonefiles-write: 0
    rrl-ratelimit: 0
    xfrd-reload-timeout: {reload_timeout}
remote-control:
    control-enable: no
zone:
    name: {zone}
    request-xfr: 127.0.0.1@{primary} NOKEY
    allow-notify: 127.0.0.1 NOKEY
    provide-xfr: 127.0.0.0/8 NOKEY
"""


class Nsd:
    """NSD in the foreground as the secondary of zone, pulling from 127.0.0.1@primary_port; its
    configuration, pidfile, xfrd state and logs all in workdir. reload_timeout is NSD's
    xfrd-reload-timeout: 0 serves a transfer at once instead of batching reloads for a second."""

    def __init__(self, workdir, zone, primary_port, port=None, reload_timeout=0):
        self.port = port or free_port()
        self.addr = "127.0.0.1"
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.zone = zone
        self.config = os.path.join(self.dir, "nsd.conf")
        self.log = os.path.join(self.dir, "nsd.log")
        with open(self.config, "w") as f:
            f.write(NSD_CONF.format(port=self.port, dir=self.dir, zone=zone, primary=primary_port,
                                    reload_timeout=reload_timeout))
        self.proc = None

    def start(self):
        self.out = open(os.path.join(self.dir, "nsd.stderr"), "w")
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.config], stdout=self.out, stderr=subprocess.STDOUT)
        try:
            wait_udp(self.addr, self.port, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError("%s\n%s" % (e, self.log_text()))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.out.close()
        return self.proc.returncode if self.proc else None

    def log_text(self):
        text = ""
        for p in (self.log, os.path.join(self.dir, "nsd.stderr")):
            if os.path.exists(p):
                with open(p) as f:
                    text += f.read()
        return text


def primary(keys, workdir, notify, zone, rrsets):
    """A started ternd with the API (serial-policy increment), transfers allowed on loopback and
    NOTIFY to every "addr@port" of notify, serving zone made through the API with rrsets.
    Returns (server, API client)."""
    os.makedirs(str(workdir), exist_ok=True)
    t = ApiTernd(keys, workdir=str(workdir), api={"serial-policy": "increment"})
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [%s]\n" % ", ".join('"%s"' % n for n in notify))
    t.start()
    api = t.api(keys.token("pop"))
    api.create_zone(zone, rrsets=rrsets)
    return t, api


def soa_serial(port, zone, timeout=0.5):
    """The SOA serial port serves for zone, or None when it answers otherwise (or not at all)."""
    try:
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port, timeout=timeout)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer or r.answer[0].rdtype != dns.rdatatype.SOA:
        return None
    return r.answer[0][0].serial


def wait_serial(port, zone, serial, timeout=10.0, log=None):
    """Waits until port serves serial for zone; returns the time it took."""
    start = time.time()
    last = None
    while time.time() - start < timeout:
        last = soa_serial(port, zone)
        if last == serial:
            return time.time() - start
        time.sleep(0.005)
    raise AssertionError("serial %s of %s not served on port %d within %.0f s (last %s)%s"
                         % (serial, zone, port, timeout, last, "\n" + log() if log else ""))


def axfr_records(port, zone):
    """The zone by AXFR as a sorted list of (name, type, ttl, rdata text), closing SOA dropped."""
    out = []
    for m in dns.query.xfr("127.0.0.1", zone, port=port, timeout=5, relativize=False):
        for rs in m.answer:
            for rd in rs:
                out.append((rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype), rs.ttl,
                            rd.to_text().lower()))
    assert out and out[0][1] == "SOA" and out[-1] == out[0], "not a complete AXFR: %s" % out[:3]
    return sorted(out[:-1])


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


class XfrRecorder:
    """A DNS forwarder between a secondary and its primary, on a port of its own: UDP datagrams are
    passed through, TCP connections are pumped both ways, and every TCP query (type, and the serial
    an IXFR asks from) and every answer message on TCP is kept, in order, so a test can tell which
    transfers the secondary asked for and whether they came back incremental."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self.lock = threading.Lock()
        self.transfers = []  # [{"qtype", "serial", "answers": [wire, ...]}]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.1)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(8)
        self.tcp.settimeout(0.1)
        self.running = True
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True),
                        threading.Thread(target=self.serve_tcp, daemon=True)]
        for th in self.threads:
            th.start()

    def serve_udp(self):
        while self.running:
            try:
                data, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(2)
                try:
                    up.sendto(data, self.target)
                    self.udp.sendto(up.recv(65535), peer)
                except OSError:
                    pass

    def serve_tcp(self):
        while self.running:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.connection, args=(c,), daemon=True).start()

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

    def stop(self):
        self.running = False
        for th in self.threads:
            th.join()
        self.udp.close()
        self.tcp.close()


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


def zone_questions(port, zone):
    """Every (name, type) of the zone from ternd's AXFR, plus names and types that are not there
    (NODATA, NXDOMAIN, an empty non-terminal, below the delegation)."""
    qs = sorted({(name, rdtype) for name, rdtype, _, _ in axfr_records(port, zone)})
    qs += [("www.%s." % zone, "TXT"), ("nothing.%s." % zone, "A"), ("b.%s." % zone, "A"),
           ("x.sub.%s." % zone, "A"), ("%s." % zone, "NS")]
    return qs


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
        r = api.patch("/api/v1/zones/%s/rrsets" % ZONE, {"rrsets": [
            {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.3"]},
            {"name": "txt", "type": "TXT", "delete": True},
            {"name": "new", "type": "A", "ttl": 120, "records": ["192.0.2.77"]}]})
        assert r.status == 200, r
        s1 = r.json["serial"]
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
