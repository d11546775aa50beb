"""Helpers shared by the system tests: free ports, starting ternd (and peers) on loopback."""
import os
import random
import socket
import subprocess
import tempfile
import time

import dns.message
import dns.query

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TERND = os.environ.get("TERND", os.path.join(ROOT, "build", "ternd"))
ZONES = os.path.join(os.path.dirname(__file__), "zones")


def zone_text(name, serial=1):
    """A small zone file's text: SOA (refresh an hour), NS, ns1 and www."""
    return ("$ORIGIN %s.\n$TTL 300\n@ SOA ns1 hostmaster %d 3600 600 86400 300\n@ NS ns1\n"
            "ns1 A 192.0.2.1\nwww A 192.0.2.3\n" % (name, serial))


_GIVEN = set()  # ports free_port() handed out: the kernel may offer a released one again at once


# Ports are picked below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
# default), where bind(0) would pick them: a port picked there and released until the server binds
# it could be taken meanwhile by any outgoing connection on the machine (a CI run once lost a PoP's
# port so). Each pytest-xdist worker takes a band of its own, so two workers never pick the same.
_PORT_LOW, _PORT_HIGH, _BAND = 10000, 32000, 5000


def _port_band():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    n = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    bands = (_PORT_HIGH - _PORT_LOW) // _BAND
    low = _PORT_LOW + (n % bands) * _BAND
    return low, low + _BAND


def free_port():
    """A port free for both UDP and TCP on every IPv4 address right now, outside the ephemeral range
    and in this worker's band, and never one this process was given before (two calls in a row, say
    for a server's DNS and API ports, could otherwise get the same port while neither is bound yet)."""
    low, high = _port_band()
    for _ in range(1000):
        port = random.randrange(low, high)
        if port in _GIVEN:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind(("0.0.0.0", port))  # free on every address: some tests listen on the wildcard
                u.bind(("0.0.0.0", port))
        except OSError:
            continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free port in %d-%d" % (low, high))


def terminate(proc, timeout=30.0):
    """SIGTERM, SIGKILL after timeout seconds if it is still running; returns the exit code. The
    default is generous: an ASan ternd freeing a 200,000-RRset zone on a loaded machine takes a while."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_udp(addr, port, timeout=10.0, proc=None):
    """Waits until a DNS server answers a query over UDP."""
    deadline = time.time() + timeout
    q = dns.message.make_query(".", "SOA")
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            dns.query.udp(q, addr, port=port, timeout=0.2)
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("server on %s@%d did not answer" % (addr, port))


def wait_log(get_text, text, timeout=8.0):
    """Waits until get_text() (a server's log) holds text: a server logs after it acts (a file
    removed, a zone served), so a line must be waited for, never read once right after the act."""
    deadline = time.time() + timeout
    while text not in get_text():
        assert time.time() < deadline, "%r never logged:\n%s" % (text, get_text()[-4000:])
        time.sleep(0.02)


class Ternd:
    """A ternd process on loopback serving the given zones: {name: zone file path}."""

    def __init__(self, zones, extra_server="", port=None, listen_v6=False, workdir=None, extra_top=""):
        self.port = port or free_port()
        self.addr = "127.0.0.1"
        self.dir = workdir or tempfile.mkdtemp(prefix="ternd-")
        self.config = os.path.join(self.dir, "ternd.yaml")
        self.log = os.path.join(self.dir, "ternd.log")
        self.zones = dict(zones)
        self.extra_top = extra_top  # top-level sections after zones (rrl:, cookies: ...)
        listen = ["127.0.0.1@%d" % self.port]
        if listen_v6:
            listen.append("::1@%d" % self.port)
        self.write_config(listen, extra_server)
        self.proc = None

    def write_config(self, listen, extra_server=""):
        lines = ["server:", "  listen:"]
        lines += ["    - \"%s\"" % a for a in listen]
        lines += ["  " + l for l in extra_server.splitlines() if l.strip()]
        lines.append("zones:")
        for name, path in self.zones.items():
            lines += ["  - name: \"%s\"" % name, "    file: \"%s\"" % path]
        lines += [l for l in getattr(self, "extra_top", "").splitlines() if l.strip()]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([TERND, "-c", self.config], stdout=self.logf, stderr=subprocess.STDOUT)
        wait_udp(self.addr, self.port, proc=self.proc)
        return self

    def reload(self):
        self.proc.send_signal(1)  # SIGHUP

    def stop(self):
        if not self.proc:
            return None
        terminate(self.proc)
        self.logf.close()
        return self.proc.returncode

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def query(self, name, rdtype="A", tcp=False, edns=None, **kw):
        """A query; edns=N sets EDNS version N (dnspython 2.3's make_query(use_edns=N) sends
        version 0 whatever N is, so the version is set here after the fact)."""
        q = dns.message.make_query(name, rdtype, **kw)
        if edns is not None:
            q.use_edns(edns, ednsflags=q.ednsflags, payload=q.payload, options=q.options)
        if tcp:
            return dns.query.tcp(q, self.addr, port=self.port, timeout=3)
        return dns.query.udp(q, self.addr, port=self.port, timeout=3)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
