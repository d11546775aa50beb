"""A Knot DNS (knotd) peer on loopback for differential tests: generated config, private dirs."""
import os
import shutil
import subprocess
import tempfile
import time

import dns.message
import dns.query
import dns.rcode

from ternlib import free_port

KNOTD = os.environ.get("KNOTD", shutil.which("knotd") or "/usr/sbin/knotd")


def knotd_available():
    return os.access(KNOTD, os.X_OK)


class Knotd:
    """knotd in the foreground serving {zone name: zone file path} read-only from its own temp dirs.

    Knot must never rewrite the zone files (they are shared with ternd): no zone file sync, no
    journal, no DNSSEC signing, zone files loaded whole."""

    def __init__(self, zones, port=None, workdir=None):
        self.port = port or free_port()
        self.addr = "127.0.0.1"
        self.dir = workdir or tempfile.mkdtemp(prefix="knotd-")
        self.rundir = os.path.join(self.dir, "run")
        self.storage = os.path.join(self.dir, "storage")
        os.makedirs(self.rundir, exist_ok=True)
        os.makedirs(self.storage, exist_ok=True)
        self.config = os.path.join(self.dir, "knot.conf")
        self.log = os.path.join(self.dir, "knotd.log")
        self.zones = {n.rstrip(".") + ".": os.path.abspath(p) for n, p in zones.items()}
        self.proc = None
        self.write_config()

    def write_config(self):
        lines = [
            "server:",
            "    rundir: \"%s\"" % self.rundir,
            "    listen: 127.0.0.1@%d" % self.port,
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "    answer-rotation: off",
            "    udp-max-payload: 1232",
            "database:",
            "    storage: \"%s\"" % self.storage,
            "control:",
            "    listen: \"%s\"" % os.path.join(self.rundir, "knot.sock"),
            "log:",
            "  - target: stderr",
            "    any: info",
            "template:",
            "  - id: default",
            "    storage: \"%s\"" % self.storage,
            "    zonefile-sync: -1",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
            "    dnssec-signing: off",
            "zone:",
        ]
        for name, path in self.zones.items():
            lines += ["  - domain: \"%s\"" % name, "    file: \"%s\"" % path]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=15.0):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([KNOTD, "-c", self.config], stdout=self.logf, stderr=subprocess.STDOUT)
        self.wait_loaded(timeout)
        return self

    def wait_loaded(self, timeout):
        """Knot loads zones in the background after it starts answering: wait until every zone
        answers its SOA authoritatively."""
        deadline = time.time() + timeout
        pending = list(self.zones)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError("knotd exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
            if time.time() > deadline:
                raise RuntimeError("knotd did not load %s:\n%s" % (pending, self.log_text()))
            try:
                r = dns.query.udp(dns.message.make_query(pending[0], "SOA"), self.addr, port=self.port, timeout=0.2)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    pending.pop(0)
                    continue
            except Exception:
                pass
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        return self.proc.returncode if self.proc else None

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
