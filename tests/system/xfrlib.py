"""Zone transfer scaffolding shared by the system tests: peer server processes (see knotlib, nsdlib,
bindlib), TSIG keys, SOA serial polling, zone contents by AXFR, scripted DNS servers, and a ternd
primary whose zone is made through the API."""
import collections
import os
import socket
import struct
import subprocess
import threading
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import pytest

from apilib import ApiTernd
from ternlib import free_port, terminate


class TsigKey(collections.namedtuple("TsigKey", "name algorithm secret")):
    """A TSIG key: its name, algorithm (hmac-sha256, ...) and base64 secret."""

    def ring(self):
        """The key as a dnspython keyring."""
        return dns.tsigkeyring.from_text({self.name: (self.algorithm, self.secret)})


def soa_serial(addr, port, zone, timeout=1.0):
    """The SOA serial addr@port serves for zone, or None when it answers otherwise (or not at all)."""
    try:
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), addr, port=port, timeout=timeout)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer or r.answer[0].rdtype != dns.rdatatype.SOA:
        return None
    return r.answer[0][0].serial


def wait_serial(addr, port, zone, serial, timeout=10.0, log=None):
    """Waits until addr@port serves serial for zone; returns the time.time() it did (log() on failure)."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = soa_serial(addr, port, zone)
        if last == serial:
            return time.time()
        time.sleep(0.005)
    raise AssertionError("serial %s of %s not served on %s@%d within %.0f s (last %s)%s"
                         % (serial, zone, addr, port, timeout, last, "\n" + log() if log else ""))


def axfr_records(addr, port, zone, keyring=None, keyname=None, source=None):
    """The zone by AXFR (signed when keyring is given) as a sorted list of (name, type, ttl, rdata)."""
    out = []
    for m in dns.query.xfr(addr, zone, port=port, timeout=5, relativize=False, keyring=keyring, keyname=keyname,
                           source=source):
        for rs in m.answer:
            for rd in rs:
                out.append((rs.name.to_text().lower(), dns.rdatatype.to_text(rs.rdtype), rs.ttl,
                            rd.to_text().lower()))
    assert out and out[0][1] == "SOA" and out[-1] == out[0], "not a complete AXFR: %s" % out[:3]
    return sorted(out[:-1])


def ixfr_diffs(srv, zone, serial):
    """[(removed, added)] of an IXFR of zone (FQDN) from srv since serial, each a set of (owner, type)."""
    msgs = list(dns.query.xfr(srv.addr, zone, rdtype="IXFR", serial=serial, port=srv.port, timeout=10,
                              relativize=False))
    recs = [(r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype)) for m in msgs for r in m.answer for _ in r]
    assert recs[0][1] == "SOA" and recs[1][1] == "SOA", recs[:4]
    out, body, i = [], recs[1:-1], 0
    while i < len(body):
        assert body[i][1] == "SOA"
        i += 1
        removed = set()
        while body[i][1] != "SOA":
            removed.add(body[i])
            i += 1
        i += 1
        added = set()
        while i < len(body) and body[i][1] != "SOA":
            added.add(body[i])
            i += 1
        out.append((removed, added))
    return out


class Started(list):
    """The servers a test started (appended, or by add()), all stopped by stop_all() when it ends."""

    def add(self, server):
        """Registers server, then starts it; returns what its start() returns."""
        self.append(server)
        return server.start()

    def stop_all(self):
        """Stops every server registered, the last first (stop() is idempotent)."""
        while self:
            self.pop().stop()


started = Started()  # every server a test started (the modules that share it): stopped when it ends


@pytest.fixture(autouse=True)
def stop_started():
    """Imported by a test module, autouse there: a failing test still stops what it started."""
    yield
    started.stop_all()


def stop_ok(t):
    """Stops ternd t, which must have been running and exit 0."""
    alive = t.proc.poll() is None
    rc = t.stop()
    assert alive and rc == 0, "ternd %s with code %s; log tail:\n%s" % (
        "stopped" if alive else "died", rc, t.log_text()[-4000:])


class Peer:
    """A peer server process in the foreground on 127.0.0.1@port, its output appended to self.log."""

    addr = "127.0.0.1"
    proc = None

    def launch(self, args):
        """Starts the process without waiting for it."""
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([str(a) for a in args], stdout=self.logf, stderr=subprocess.STDOUT)
        return self.proc

    def wait_soa(self, zone, serial=None, timeout=15.0):
        """Waits until zone's SOA (with serial, when given) is served; stops the process on failure."""
        deadline = time.time() + timeout
        while True:
            got = soa_serial(self.addr, self.port, zone, timeout=0.2)
            if got is not None and serial in (None, got):
                return self
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("%s did not serve %s (exit code %s):\n%s"
                                   % (os.path.basename(self.proc.args[0]), zone, self.proc.returncode,
                                      self.log_text()[-6000:]))
            time.sleep(0.05)

    def stop(self):
        """Terminates the process (killed after 10 s); returns its exit code; idempotent."""
        if not self.proc:
            return None
        terminate(self.proc)
        if not self.logf.closed:
            self.logf.close()
        return self.proc.returncode

    def log_text(self):
        """The process's output so far."""
        if not os.path.exists(self.log):
            return ""
        with open(self.log) as f:
            return f.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class ScriptedServer:
    """A Python DNS server on 127.0.0.1@port calling on_udp(data, peer) and on_tcp(conn) (default: tcp_answer(q))."""

    def __init__(self, port=None):  # subclasses set their state up before calling this
        self.port = port or free_port()
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
            self.on_udp(data, peer)

    def serve_tcp(self):
        while self.running:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.on_tcp(c)

    def on_udp(self, data, peer):
        pass

    def on_tcp(self, conn):
        with conn:
            conn.settimeout(2)
            try:
                (n,) = struct.unpack("!H", conn.recv(2))
                for m in self.tcp_answer(dns.message.from_wire(conn.recv(n))):
                    w = m.to_wire()
                    conn.sendall(struct.pack("!H", len(w)) + w)
            except OSError:
                pass

    def tcp_answer(self, query):
        """The messages to answer a TCP query with, in order."""
        return []

    def stop(self):
        """Stops serving and closes the sockets; idempotent."""
        self.running = False
        for th in self.threads:
            th.join()
        self.udp.close()
        self.tcp.close()


def api_transfer_ternd(keys, workdir, notify=None, key=None, api=None):
    """A started ternd with an API (serial-policy increment, then api) whose transfers go to
    loopback (only with key, when given) and whose NOTIFYs, when notify is a list, go to notify."""
    os.makedirs(str(workdir), exist_ok=True)
    t = ApiTernd(keys, workdir=str(workdir), api=dict({"serial-policy": "increment"}, **(api or {})))
    to = "" if notify is None else "  notify: [%s]\n" % ", ".join(
        '{address: "%s", key: %s}' % (n, key.name) if key else '"%s"' % n for n in notify)
    with open(t.config, "a") as f:
        if key:
            f.write("keys:\n  - {name: %s, algorithm: %s, secret: \"%s\"}\n" % key)
            f.write("transfer:\n  allow: [{address: 127.0.0.0/8, key: %s}]\n%s" % (key.name, to))
        else:
            f.write("transfer:\n  allow: [127.0.0.0/8]\n%s" % to)
    return t.start()


def api_primary(keys, workdir, notify, zone, rrsets=(), key=None, api=None):
    """(started ternd, API client): zone made by the API, transfers on loopback (only with key), NOTIFY to notify."""
    t = api_transfer_ternd(keys, workdir, notify, key, api)
    client = t.api(keys.token("pop"))
    client.create_zone(zone, rrsets=list(rrsets))
    return t, client
