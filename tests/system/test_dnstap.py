"""dnstap (src/ternd/dnstap): ternd sends one AUTH_QUERY and one AUTH_RESPONSE per query, over UDP
and TCP, to a real Frame Streams reader (fstrm_capture, fstrm-bin), decoded by a real dnstap
decoder (dnstap-ldns), with query_zone set; Knot 3.2's mod-dnstap, captured in the same test, leaves
query_zone out. A reader that is absent at start, killed mid-run or stopped (slow) never holds
answers back: drops are counted on /metrics and ternd reconnects when the reader is back."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request

import dns.message
import pytest

import knotlib
import tlslib
from sysutil import ZONE_FILES, poll, serve
from ternlib import TERND, free_port

FSTRM_CAPTURE = shutil.which("fstrm_capture")
DNSTAP_LDNS = shutil.which("dnstap-ldns")
KNOT_DNSTAP = "/usr/lib/x86_64-linux-gnu/knot/modules-3.2/dnstap.so"

pytestmark = pytest.mark.skipif(not (FSTRM_CAPTURE and DNSTAP_LDNS),
                                reason="fstrm_capture (fstrm-bin) and dnstap-ldns (dnstap-ldns) are needed")


class Capture:
    """fstrm_capture on a unix socket, writing a Frame Streams file."""

    def __init__(self, sock, out):
        self.sock, self.out = str(sock), str(out)
        if os.path.exists(self.sock):
            os.unlink(self.sock)  # a killed reader leaves its socket behind
        self.log = open(self.out + ".log", "w")
        self.proc = subprocess.Popen([FSTRM_CAPTURE, "-t", "protobuf:dnstap.Dnstap", "-u", self.sock, "-w", self.out],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        assert poll(lambda: os.path.exists(self.sock), timeout=5)

    def stop(self, decoded=True):
        """Stops it cleanly (SIGTERM: the file is closed whole) and returns the messages dnstap-ldns
        decoded."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        self.log.close()
        return decode(self.out) if decoded else None

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()


def decode(path):
    """dnstap-ldns -y's documents, each a dict: type, protocol, zone (None when absent), qname."""
    out = subprocess.run([DNSTAP_LDNS, "-r", path, "-y"], capture_output=True, text=True, check=True).stdout
    msgs = []
    for doc in out.split("\n---"):
        t = re.search(r"^  type: (\S+)$", doc, re.M)
        if not t:
            continue
        proto = re.search(r"^  socket_protocol: (\S+)$", doc, re.M)
        zone = re.search(r'^  query_zone: "([^"]*)"$', doc, re.M)
        qname = re.search(r"^    ;(\S+)\s+IN\s+\S+$", doc, re.M)
        msgs.append({"type": t.group(1), "protocol": proto.group(1) if proto else None,
                     "zone": zone.group(1) if zone else None, "qname": qname.group(1) if qname else None,
                     "text": doc})
    return msgs


def metrics(port):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    got = {}
    for line in body.splitlines():
        m = re.match(r'^(tern_dnstap_[a-z_]+)(\{reason="([a-z]+)"\})? (\d+)$', line)
        if m:
            got[m.group(1) + ("." + m.group(3) if m.group(3) else "")] = int(m.group(4))
    got["dropped"] = sum(v for k, v in got.items() if k.startswith("tern_dnstap_dropped_total"))
    return got


def udp(port, names):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        for name in names:
            q = dns.message.make_query(name, "A")
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            while True:
                r = dns.message.from_wire(s.recv(65535))
                if r.id == q.id:
                    break
    finally:
        s.close()
    return len(names)


def tcp(port, names):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        for name in names:
            w = dns.message.make_query(name, "A").to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            (n,) = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))
            dns.message.from_wire(s.recv(n, socket.MSG_WAITALL))
    return len(names)


def by_name(msgs, prefix):
    """{qname: [(type, protocol, zone)]} of the messages whose question starts with prefix."""
    got = {}
    for m in msgs:
        if m["qname"] and m["qname"].startswith(prefix):
            got.setdefault(m["qname"], []).append((m["type"], m["protocol"], m["zone"]))
    return got


def ternd_with_dnstap(tmp_path, sock, ring_size=1024, tls=""):
    tmp_path.mkdir()
    api = free_port()
    srv = serve(workdir=str(tmp_path), extra_server="tcp-idle-timeout: 1\nudp-workers: 1\n" + tls,
                extra_top="api:\n  listen: \"127.0.0.1@%d\"\ndnstap:\n  socket: \"%s\"\n  identity: tern-test\n"
                          "  ring-size: %d\n" % (api, sock, ring_size))
    srv.api_port = api
    return srv


def test_one_pair_per_query_with_the_zone_and_knot_lacks_it(tmp_path):
    cap = Capture(tmp_path / "tap.sock", tmp_path / "ternd.fstrm")
    srv = ternd_with_dnstap(tmp_path / "ternd", tmp_path / "tap.sock")
    try:
        assert poll(lambda: metrics(srv.api_port).get("tern_dnstap_connected") == 1, timeout=10)
        udp(srv.port, ["u%d.example.com" % i for i in range(40)] + ["www.example.net"])
        tcp(srv.port, ["t%d.example.com" % i for i in range(7)])
        udp(srv.port, ["nothing.example.org"])  # no zone of ours: REFUSED, no query_zone
        m = metrics(srv.api_port)
        assert m["dropped"] == 0, m
    finally:
        assert srv.stop() == 0  # a stop writes what the rings hold, then ends the stream
    msgs = cap.stop()
    udp_names = by_name(msgs, "u")
    assert len(udp_names) == 40
    for name, got in udp_names.items():
        assert sorted(got) == [("AUTH_QUERY", "UDP", "example.com."), ("AUTH_RESPONSE", "UDP", "example.com.")], name
    tcp_names = by_name(msgs, "t")
    assert len(tcp_names) == 7
    for name, got in tcp_names.items():
        assert sorted(got) == [("AUTH_QUERY", "TCP", "example.com."), ("AUTH_RESPONSE", "TCP", "example.com.")], name
    assert sorted(by_name(msgs, "www.example.net.")["www.example.net."]) == [
        ("AUTH_QUERY", "UDP", "example.net."), ("AUTH_RESPONSE", "UDP", "example.net.")]
    assert sorted(by_name(msgs, "nothing.example.org.")["nothing.example.org."]) == [
        ("AUTH_QUERY", "UDP", None), ("AUTH_RESPONSE", "UDP", None)]
    sample = [m for m in msgs if m["qname"] == "u0.example.com."]
    q = next(m["text"] for m in sample if m["type"] == "AUTH_QUERY")
    r = next(m["text"] for m in sample if m["type"] == "AUTH_RESPONSE")
    assert 'identity: "tern-test"' in q and 'version: "ternd"' in q
    assert "socket_family: INET" in q and 'query_address: "127.0.0.1"' in q
    assert "response_port: %d" % srv.port in q and "query_time:" in q
    assert "query_message:" in q and "response_message:" not in q
    assert "response_message:" in r and "response_time:" in r and "rcode: NXDOMAIN" in r
    # the same queries to Knot 3.2 with mod-dnstap, into a capture of its own: no query_zone
    if not (knotlib.knotd_available() and os.path.exists(KNOT_DNSTAP)):
        pytest.skip("knotd with knot-module-dnstap is needed for the comparison")
    kcap = Capture(tmp_path / "knot.sock", tmp_path / "knot.fstrm")
    k = knotlib.Knot(workdir=tmp_path / "knot")
    k.write_config(["mod-dnstap:", "  - id: tap", "    sink: \"unix:%s\"" % kcap.sock, "    identity: knot-test",
                    "    log-queries: on", "    log-responses: on",
                    "template:", "  - id: default", "    storage: \"%s\"" % k.storage, "    zonefile-sync: -1",
                    "    journal-content: none", "    global-module: mod-dnstap/tap",
                    "zone:", "  - domain: example.com.", "    file: \"%s\"" % ZONE_FILES["example.com"]])
    k.start()
    try:
        k.wait_soa("example.com.")
        udp(k.port, ["u%d.example.com" % i for i in range(5)])
        tcp(k.port, ["t%d.example.com" % i for i in range(2)])
    finally:
        k.stop()
    kmsgs = kcap.stop()
    knot_udp, knot_tcp = by_name(kmsgs, "u"), by_name(kmsgs, "t")
    assert len(knot_udp) == 5 and len(knot_tcp) == 2, kmsgs
    for got in list(knot_udp.values()) + list(knot_tcp.values()):
        assert sorted(t for t, _, _ in got) == ["AUTH_QUERY", "AUTH_RESPONSE"]
        assert all(zone is None for _, _, zone in got), got  # Knot leaves query_zone out
    assert not any("query_zone" in m["text"] for m in kmsgs)


def fstrm_frames(path):
    """The data frames of a Frame Streams file (control frames skipped)."""
    data = open(path, "rb").read()
    frames, off = [], 0
    while off + 4 <= len(data):
        (n,) = struct.unpack_from("!I", data, off)
        off += 4
        if n == 0:  # a control frame: its length, then it
            (c,) = struct.unpack_from("!I", data, off)
            off += 4 + c
            continue
        frames.append(data[off:off + n])
        off += n
    return frames


def protobuf_fields(buf):
    """{field number: [values]} of one protobuf message: varints as ints, the rest as bytes."""
    out, off = {}, 0

    def varint():
        nonlocal off
        v, shift = 0, 0
        while True:
            b = buf[off]
            off += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if b < 0x80:
                return v
    while off < len(buf):
        tag = varint()
        field, wt = tag >> 3, tag & 7
        if wt == 0:
            v = varint()
        elif wt == 2:
            n = varint()
            v = buf[off:off + n]
            off += n
        elif wt == 5:
            v = buf[off:off + 4]
            off += 4
        elif wt == 1:
            v = buf[off:off + 8]
            off += 8
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(field, []).append(v)
    return out


def test_dns_over_tls_is_socket_protocol_dot(tmp_path):
    """dnstap.proto's SocketProtocol DOT (3). Debian's dnstap-ldns 0.2.1 predates it (its schema stops
    at TCP and it refuses the frame), so these frames are read field by field here."""
    cap = Capture(tmp_path / "tap.sock", tmp_path / "dot.fstrm")
    ca = tlslib.Ca(tmp_path / "pki")
    cert, key = ca.issue("server")
    tls_port = free_port()
    srv = ternd_with_dnstap(tmp_path / "ternd", tmp_path / "tap.sock",
                            tls="tls:\n  listen: 127.0.0.1@%d\n  certificate: %s\n  key: %s" % (tls_port, cert, key))
    try:
        assert poll(lambda: metrics(srv.api_port).get("tern_dnstap_connected") == 1, timeout=10)
        ctx = tlslib.client_context(ca.path)
        for i in range(3):
            tlslib.query(tls_port, dns.message.make_query("x%d.example.com" % i, "A"), ctx)
    finally:
        assert srv.stop() == 0
    cap.stop(decoded=False)
    seen = {}
    for frame in fstrm_frames(cap.out):
        top = protobuf_fields(frame)
        assert top[15] == [1]  # Dnstap.Type MESSAGE
        msg = protobuf_fields(top[14][0])
        wire = msg.get(10, msg.get(14))[0]
        qname = dns.message.from_wire(wire).question[0].name.to_text()
        if not qname.startswith("x"):
            continue
        seen.setdefault(qname, []).append(msg[1][0])
        assert msg[3] == [3], msg  # socket_protocol DOT
        assert msg[11] == [b"\x07example\x03com\x00"], msg  # query_zone
        assert msg[4] == [bytes([127, 0, 0, 1])] and msg[7] == [tls_port]
    assert {name: sorted(types) for name, types in seen.items()} == {
        "x%d.example.com." % i: [1, 2] for i in range(3)}  # AUTH_QUERY, AUTH_RESPONSE


def test_absent_killed_and_slow_readers_never_hold_answers(tmp_path):
    sock = tmp_path / "tap.sock"
    srv = ternd_with_dnstap(tmp_path / "ternd", sock, ring_size=16)
    try:
        # no reader at start: every query answered, the ring fills, the rest is dropped and counted
        assert udp(srv.port, ["a%d.example.com" % i for i in range(100)]) == 100
        m = metrics(srv.api_port)
        assert m["tern_dnstap_connected"] == 0 and m["tern_dnstap_connects_total"] == 0, m
        assert m["tern_dnstap_dropped_total.full"] >= 100 - 16, m
        assert "dnstap: cannot open" in srv.log_text()
        # the reader comes: ternd connects (backoff at most 5 s) and what was held goes out
        cap = Capture(sock, tmp_path / "one.fstrm")
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_connects_total"] == 1, timeout=10)
        udp(srv.port, ["b%d.example.com" % i for i in range(5)])
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_sent_total"] >= 2 * (16 + 5), timeout=5)
        # the reader is killed mid-run: answers go on, the broken stream is counted, ternd reconnects
        cap.kill()
        before = metrics(srv.api_port)
        started = time.monotonic()
        assert udp(srv.port, ["c%d.example.com" % i for i in range(300)]) == 300
        assert time.monotonic() - started < 10
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_connected"] == 0, timeout=5)
        after = metrics(srv.api_port)
        assert after["dropped"] > before["dropped"], (before, after)
        cap2 = Capture(sock, tmp_path / "two.fstrm")
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_connects_total"] == 2, timeout=10)
        # the reader stopped (slow): answers go on at their pace, the full ring drops and counts
        cap2.proc.send_signal(signal.SIGSTOP)
        try:
            before = metrics(srv.api_port)
            started = time.monotonic()
            assert udp(srv.port, ["s%d.example.com" % i for i in range(2000)]) == 2000
            assert tcp(srv.port, ["st%d.example.com" % i for i in range(50)]) == 50
            took = time.monotonic() - started
            after = metrics(srv.api_port)
            assert after["tern_dnstap_dropped_total.full"] > before["tern_dnstap_dropped_total.full"], (before, after)
        finally:
            cap2.proc.send_signal(signal.SIGCONT)
        assert took < 15, took
        # back: new queries reach the reader again (on the same stream, or a new one within backoff)
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_connected"] == 1, timeout=10)
        time.sleep(0.2)
        udp(srv.port, ["d%d.example.com" % i for i in range(5)])
        tcp(srv.port, ["dt%d.example.com" % i for i in range(3)])
        want = metrics(srv.api_port)["tern_dnstap_sent_total"]
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_sent_total"] >= want, timeout=5)
    finally:
        assert srv.stop() == 0
    msgs = cap2.stop()
    got = by_name(msgs, "d")
    assert len(got) == 8, sorted(got)
    for name, pair in got.items():
        assert sorted(t for t, _, _ in pair) == ["AUTH_QUERY", "AUTH_RESPONSE"], name
        assert all(zone == "example.com." for _, _, zone in pair)


@pytest.mark.parametrize("section, message", [
    ('  socket: "/run/tap.sock"\n  file: "/tmp/tap.fstrm"', "dnstap.file: dnstap.socket is set too"),
    ('  socket: "/run/tap.sock"\n  ring-size: 1000', "dnstap.ring-size: 1000 is not a power of two"),
    ('  socket: "/run/tap.sock"\n  ring-size: 8', "dnstap.ring-size"),
    ('  socket: "/run/tap.sock"\n  log-queries: off\n  log-responses: off', "nothing to log"),
    ('  socket: "/run/tap.sock"\n  identity: "%s"' % ("x" * 256), "dnstap.identity: 256 bytes"),
    ('  socket: "/run/tap.sock"\n  sink: "/x"', 'unknown key "sink" in dnstap'),
])
def test_bad_settings_are_refused_naming_the_key(tmp_path, section, message):

    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@5300"]\nzones:\n  - name: example.com\n    file: "%s"\n'
                    'dnstap:\n%s\n' % (ZONE_FILES["example.com"], section))
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stderr + r.stdout, r.stderr + r.stdout


def test_wildcard_listener_logs_the_address_asked_and_responses_only(tmp_path):
    """On 0.0.0.0 the response address is the one the query was sent to (its packet info), not the
    wildcard; with log-queries off only AUTH_RESPONSE messages go out."""
    from sysutil import Ternd, wait_tcp
    cap = Capture(tmp_path / "tap.sock", tmp_path / "w.fstrm")
    srv = Ternd(ZONE_FILES, workdir=str(tmp_path), extra_top='dnstap:\n  socket: "%s"\n  log-queries: off\n'
                % cap.sock)
    srv.write_config(["0.0.0.0@%d" % srv.port])
    srv.start()
    try:
        wait_tcp(srv.addr, srv.port)
        udp(srv.port, ["w%d.example.com" % i for i in range(3)])
        tcp(srv.port, ["wt%d.example.com" % i for i in range(2)])
    finally:
        assert srv.stop() == 0
    got = [m for m in cap.stop() if m["qname"] and m["qname"].startswith("w")]
    assert len(got) == 5 and all(m["type"] == "AUTH_RESPONSE" for m in got), got
    assert all('response_address: "127.0.0.1"' in m["text"] for m in got), got
    assert all("query_message:" not in m["text"] and "response_message:" in m["text"] for m in got)


def test_file_output(tmp_path):
    """dnstap.file: a Frame Streams file dnstap-ldns reads, with every pair in it after a stop."""
    out = tmp_path / "tap.fstrm"
    api = free_port()
    (tmp_path / "ternd").mkdir()
    srv = serve(workdir=str(tmp_path / "ternd"),
                extra_top='api:\n  listen: "127.0.0.1@%d"\ndnstap:\n  file: "%s"\n' % (api, out))
    try:
        udp(srv.port, ["f%d.example.com" % i for i in range(4)])
        tcp(srv.port, ["ft%d.example.com" % i for i in range(2)])
        assert poll(lambda: metrics(api)["tern_dnstap_sent_total"] >= 12, timeout=5)
        assert metrics(api)["tern_dnstap_connected"] == 1
    finally:
        assert srv.stop() == 0
    got = by_name(decode(str(out)), "f")
    assert len(got) == 6, sorted(got)
    for name, pair in got.items():
        proto = "TCP" if name.startswith("ft") else "UDP"
        assert sorted(pair) == [("AUTH_QUERY", proto, "example.com."), ("AUTH_RESPONSE", proto, "example.com.")]


def test_a_stop_does_not_wait_for_a_stalled_reader(tmp_path):
    """A reader that stopped reading (SIGSTOP) with the socket full: ternd still stops at once (the
    writer gives the output at most a second more) and cleanly."""
    cap = Capture(tmp_path / "tap.sock", tmp_path / "stall.fstrm")
    srv = ternd_with_dnstap(tmp_path / "ternd", tmp_path / "tap.sock")
    try:
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_connected"] == 1, timeout=10)
        cap.proc.send_signal(signal.SIGSTOP)
        udp(srv.port, ["z%d.example.com" % i for i in range(3000)])  # more than the socket holds
        assert poll(lambda: metrics(srv.api_port)["tern_dnstap_dropped_total.full"] > 0, timeout=10)
        started = time.monotonic()
        assert srv.stop() == 0
        assert time.monotonic() - started < 5
    finally:
        cap.proc.send_signal(signal.SIGCONT)
        cap.kill()


def test_check_names_a_file_directory_server_user_cannot_write(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("server.user is checked when started as root")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@5300"]\n  user: nobody\nzones:\n  - name: example.com\n'
                    '    file: "%s"\ndnstap:\n  file: "%s"\n' % (ZONE_FILES["example.com"], closed / "tap.fstrm"))
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, TERND_ALLOW_ROOT="1"))
    assert r.returncode != 0
    assert "dnstap.file's directory %s: nobody cannot make files" % closed in r.stderr, r.stderr
