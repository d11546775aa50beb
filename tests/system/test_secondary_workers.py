"""ternd as a PoP with transfer workers (transfer.refresh-workers): a silent primary holds one
worker, not the other zones; the workers keep their TCP connection to a primary for the next
transfer (and notice a primary that closed it); a refresh a NOTIFY asked for goes straight to IXFR,
with no SOA query first.

The primaries are real ternd processes serving zone files; between them and the PoP sits, where the
test needs to count or cut, a small TCP+UDP proxy written here (CountingProxy), and the primary that
never answers is a tiny socket server written here too (SilentPrimary)."""
import os
import socket
import struct
import threading
import time


import sysutil

from ternlib import Ternd
from test_secondary import Secondary, send_notify, wait_serial, zone_text
from xfrlib import started as _started
from xfrlib import stop_ok, stop_started  # noqa: F401 (an autouse fixture)

ALLOW = "transfer:\n  allow: [127.0.0.0/8]\n"


class SilentPrimary(sysutil.TcpStandIn):
    """A stand-in primary (a socket server of this test): accepts TCP connections, reads each
    query, and never answers. `asked` is set at each query read."""

    def __init__(self):
        self.asked = threading.Event()
        super().__init__()
        _started.append(self)

    def _serve(self, c):
        try:
            while self.running:
                head = c.recv(2)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                while n > 0:
                    n -= len(c.recv(n))
                self.asked.set()
        except OSError:
            return


class CountingProxy:
    """A TCP and UDP proxy of this test in front of a primary on 127.0.0.1: counts the TCP
    connections it accepted and the UDP datagrams it forwarded. With drop_reused, a connection that
    already carried an answer is closed when its next query arrives, unanswered (a primary closing
    an idle connection just as the query comes)."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.udp, self.tcp, self.port = sysutil.bind_udp_tcp()
        self.accepted = 0
        self.datagrams = 0
        self.dropped = 0
        self.drop_reused = False
        self.running = True
        self.socks = [self.tcp, self.udp]
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._udp, daemon=True).start()
        _started.append(self)

    def _udp(self):
        while self.running:
            try:
                data, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            self.datagrams += 1
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(2)
                try:
                    up.sendto(data, self.upstream)
                    self.udp.sendto(up.recv(65535), peer)
                except OSError:
                    pass

    def _accept(self):
        while self.running:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            self.accepted += 1
            up = socket.create_connection(self.upstream)
            self.socks += [c, up]
            state = {"answered": False}
            threading.Thread(target=self._down, args=(c, up, state), daemon=True).start()
            threading.Thread(target=self._up, args=(up, c, state), daemon=True).start()

    def _down(self, c, up, state):
        """The PoP's queries, to the primary."""
        try:
            while True:
                data = c.recv(65535)
                if not data:
                    break
                if self.drop_reused and state["answered"]:
                    self.dropped += 1
                    break
                up.sendall(data)
        except OSError:
            pass
        self._close(c, up)

    def _up(self, up, c, state):
        """The primary's answers, to the PoP (and its close)."""
        try:
            while True:
                data = up.recv(65535)
                if not data:
                    break
                state["answered"] = True
                c.sendall(data)
        except OSError:
            pass
        self._close(c, up)

    @staticmethod
    def _close(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def stop(self):
        self.running = False
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


class FilePrimary(Ternd):
    """A ternd primary serving zone files, its versions changed by change() (file + SIGHUP)."""

    def __init__(self, tmp, zones, extra_server=""):
        os.makedirs(str(tmp), exist_ok=True)
        self.paths = {}
        for name, text in zones.items():
            self.paths[name] = os.path.join(str(tmp), name + ".zone")
            with open(self.paths[name], "w") as f:
                f.write(text)
        super().__init__(self.paths, extra_server=extra_server, workdir=str(tmp))

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write(ALLOW)

    def start(self):
        _started.append(self)
        return super().start()

    def change(self, name, text, serial):
        with open(self.paths[name], "w") as f:
            f.write(text)
        self.reload()
        wait_serial(self.port, serial, zone=name, log=self.log_text)


def test_silent_primary_holds_one_worker_not_the_other_zones(tmp_path):
    """Zone A's primary (SilentPrimary, this test's) takes the transfer query and never answers:
    that refresh waits 10 s for the answer's first message. Zone B's change, NOTIFY'd while A's
    transfer hangs, is served within a second or so. Before the workers one refresh ran at a time,
    and B waited for A's 10 s."""
    silent = SilentPrimary()
    prim = FilePrimary(tmp_path / "primary", {"b.test": zone_text(1, origin="b.test")}).start()
    t = Secondary({"a.test": ["127.0.0.1@%d" % silent.port], "b.test": ["127.0.0.1@%d" % prim.port]},
                  workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 1, timeout=30, zone="b.test", log=t.log_text)
    silent.asked.clear()
    assert silent.asked.wait(25), t.log_text()  # A's transfer is hanging now
    prim.change("b.test", zone_text(2, www="192.0.2.2", origin="b.test"), 2)
    start = time.monotonic()
    send_notify(t.port, zone="b.test")
    wait_serial(t.port, 2, timeout=15, zone="b.test", log=t.log_text)
    took = time.monotonic() - start
    assert took < 1.5, "B's change took %.1f s:\n%s" % (took, t.log_text())
    stop_ok(t)


def changes(prim, t, zone, first, n, gap=0.2):
    """n new versions of zone at prim from serial first on, each NOTIFY'd to t and waited for;
    returns the longest wait."""
    worst = 0.0
    for serial in range(first, first + n):
        prim.change(zone, zone_text(serial, www="192.0.2.%d" % (serial % 250), origin=zone), serial)
        start = time.monotonic()
        send_notify(t.port, zone=zone)
        wait_serial(t.port, serial, timeout=10, zone=zone, log=t.log_text)
        worst = max(worst, time.monotonic() - start)
        time.sleep(gap)
    return worst


def test_connections_reused_and_notify_asks_ixfr_at_once(tmp_path):
    """12 changes NOTIFY'd one after the other reach the PoP over a few TCP connections (each
    worker keeps its own; 4 workers), not one each; and since a NOTIFY goes straight to IXFR, no
    SOA query over UDP reaches the primary for them. Before: 13 connections, 12 SOA queries."""
    prim = FilePrimary(tmp_path / "primary", {"c.test": zone_text(1, origin="c.test")}).start()
    proxy = CountingProxy(prim.port)
    t = Secondary({"c.test": ["127.0.0.1@%d" % proxy.port]}, workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 1, timeout=10, zone="c.test", log=t.log_text)
    datagrams = proxy.datagrams
    changes(prim, t, "c.test", 2, 12)
    log = t.log_text()
    assert proxy.accepted <= 5, "%d connections for 13 transfers:\n%s" % (proxy.accepted, log)
    assert proxy.datagrams == datagrams, "SOA queries for NOTIFY'd refreshes:\n%s" % log
    assert "refresh failed" not in log and "failed" not in log, log
    stop_ok(t)


def test_primary_closing_idle_connections_costs_no_refresh(tmp_path):
    """A primary with tcp-idle-timeout 1 closes the connection a worker kept: the next refresh
    notices and opens a new one (no failure logged, served at once). And a connection the primary
    closes as the next query arrives (the proxy drops it unanswered) is replaced once, at once."""
    prim = FilePrimary(tmp_path / "primary", {"d.test": zone_text(1, origin="d.test")},
                       extra_server="tcp-idle-timeout: 1").start()
    proxy = CountingProxy(prim.port)
    t = Secondary({"d.test": ["127.0.0.1@%d" % proxy.port]}, workdir=str(tmp_path / "pop"),
                  extra="transfer:\n  refresh-workers: 1\n")
    t.start()
    wait_serial(t.port, 1, timeout=10, zone="d.test", log=t.log_text)
    worst = changes(prim, t, "d.test", 2, 3, gap=1.8)  # the primary closes each connection between
    assert worst < 1.0, t.log_text()
    assert proxy.accepted >= 3  # each after the primary closed the last
    assert "failed" not in t.log_text(), t.log_text()

    proxy.drop_reused = True
    before = proxy.accepted
    worst = changes(prim, t, "d.test", 5, 3, gap=0.1)
    log = t.log_text()
    assert proxy.dropped >= 2, log  # the reused connections were cut as they asked
    assert proxy.accepted >= before + 2
    assert worst < 1.0, log
    assert "failed" not in log, log
    stop_ok(t)
