"""Knot DNS (knotd) peers on loopback: generated configurations, private dirs. Knotd serves zone files
read-only (differential tests), KnotSecondary pulls a zone from a primary (ternd), KnotPrimary serves
one to a secondary (ternd)."""
import os
import shutil
import subprocess
import tempfile

from ternlib import free_port, wait_udp
from xfrlib import Peer

KNOTD = os.environ.get("KNOTD", shutil.which("knotd") or "/usr/sbin/knotd")
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"


def knotd_available():
    return os.access(KNOTD, os.X_OK)


class Knot(Peer):
    """knotd on 127.0.0.1@port, its config (see write_config), run dir, storage and log in workdir."""

    def __init__(self, workdir=None, port=None, key=None, log_level="info"):
        self.port = port or free_port()
        self.dir = str(workdir or tempfile.mkdtemp(prefix="knotd-"))
        self.rundir = os.path.join(self.dir, "run")
        self.storage = os.path.join(self.dir, "storage")
        os.makedirs(self.rundir, exist_ok=True)
        os.makedirs(self.storage, exist_ok=True)
        self.config = os.path.join(self.dir, "knot.conf")
        self.log = os.path.join(self.dir, "knot.log")
        self.key = key
        self.log_level = log_level

    def write_config(self, body, server=()):
        """Writes the config: one worker each, extra `server` options, stderr log, the key, then body lines."""
        lines = ["server:", "    rundir: \"%s\"" % self.rundir, "    listen: 127.0.0.1@%d" % self.port,
                 "    udp-workers: 1", "    tcp-workers: 1", "    background-workers: 1"]
        lines += ["    " + s for s in server]
        lines += ["database:", "    storage: \"%s\"" % self.storage,
                  "control:", "    listen: \"%s\"" % os.path.join(self.rundir, "knot.sock"),
                  "log:", "  - target: stderr", "    any: %s" % self.log_level]
        if self.key:
            lines += ["key:", "  - id: %s" % self.key.name, "    algorithm: %s" % self.key.algorithm,
                      "    secret: %s" % self.key.secret]
        with open(self.config, "w") as f:
            f.write("\n".join(lines + list(body)) + "\n")

    def keyed(self, indent="    "):
        """The `key:` line of a remote or an ACL: [] without a key."""
        return [indent + "key: %s" % self.key.name] if self.key else []

    def start(self):
        self.launch([KNOTD, "-c", self.config])
        wait_udp(self.addr, self.port, proc=self.proc)
        return self

    def knotc(self, *args):
        """Runs knotc on this server; fails the test if it fails."""
        subprocess.run([KNOTC, "-c", self.config] + list(args), check=True, capture_output=True)


class Knotd(Knot):
    """knotd serving {zone name: zone file path} read-only (shared with ternd: no sync, journal or signing)."""

    def __init__(self, zones, port=None, workdir=None):
        super().__init__(workdir, port)
        self.zones = {n.rstrip(".") + ".": os.path.abspath(p) for n, p in zones.items()}
        body = ["template:", "  - id: default", "    storage: \"%s\"" % self.storage, "    zonefile-sync: -1",
                "    zonefile-load: whole", "    journal-content: none", "    semantic-checks: off",
                "    dnssec-signing: off", "zone:"]
        for name, path in self.zones.items():
            body += ["  - domain: \"%s\"" % name, "    file: \"%s\"" % path]
        self.write_config(body, server=["answer-rotation: off", "udp-max-payload: 1232"])

    def start(self, timeout=15.0):
        self.launch([KNOTD, "-c", self.config])
        self.wait_loaded(timeout)
        return self

    def wait_loaded(self, timeout):
        """Waits until every zone answers its SOA (Knot loads them after it starts answering)."""
        for zone in self.zones:
            self.wait_soa(zone, timeout=timeout)


class KnotSecondary(Knot):
    """knotd pulling zone from 127.0.0.1@primary_port on NOTIFY (+transfers out, key, catalog-role interpret)."""

    def __init__(self, workdir, zone, primary_port, port=None, key=None, transfer=False, catalog=False,
                 log_level="info"):
        super().__init__(workdir, port, key, log_level)
        acls = ["from_primary"] + (["transfer"] if transfer else [])
        body = ["remote:", "  - id: primary", "    address: 127.0.0.1@%d" % primary_port] + self.keyed()
        body += ["acl:", "  - id: from_primary", "    address: 127.0.0.1", "    action: notify"] + self.keyed()
        if transfer:
            body += ["  - id: transfer", "    address: 127.0.0.0/8", "    action: transfer"] + self.keyed()
        template = ["    storage: \"%s\"" % self.storage, "    zonefile-sync: -1", "    journal-content: changes"]
        body += ["template:", "  - id: default"] + template
        if catalog:
            body += ["  - id: member", "    master: primary", "    acl: from_primary"] + template
        body += ["zone:", "  - domain: %s." % zone.rstrip("."), "    master: primary",
                 "    acl: [%s]" % ", ".join(acls)]
        if catalog:
            body += ["    catalog-role: interpret", "    catalog-template: member"]
        self.write_config(body)


class KnotPrimary(Knot):
    """knotd serving zone from its own file of text to loopback, NOTIFY to notify_port; key required and signing."""

    def __init__(self, workdir, zone, text, notify_port=None, port=None, key=None, load="whole", journal="none"):
        super().__init__(workdir, port, key)
        self.zone = zone.rstrip(".") + "."
        self.file = os.path.join(self.dir, self.zone + "zone")
        with open(self.file, "w") as f:
            f.write(text)
        body = []
        if notify_port:
            body += ["remote:", "  - id: secondary", "    address: 127.0.0.1@%d" % notify_port] + self.keyed()
        body += ["acl:", "  - id: transfer", "    address: 127.0.0.0/8", "    action: transfer"] + self.keyed()
        body += ["template:", "  - id: default", "    storage: \"%s\"" % self.storage, "    zonefile-sync: -1",
                 "    zonefile-load: %s" % load, "    journal-content: %s" % journal, "    semantic-checks: off",
                 "zone:", "  - domain: %s" % self.zone, "    file: \"%s\"" % self.file, "    acl: transfer"]
        body += ["    notify: secondary"] if notify_port else []
        self.write_config(body)

    def start(self, timeout=15.0):
        self.launch([KNOTD, "-c", self.config])
        return self.wait_soa(self.zone, timeout=timeout)

    def change(self, text):
        """A new zone file, reloaded (in the background: Knot may serve it a little later)."""
        with open(self.file, "w") as f:
            f.write(text)
        self.knotc("zone-reload", self.zone)

    def commit(self, *changes):
        """One transaction: ("set", owner, ttl, type, rdata) or ("unset", owner, type[, rdata])."""
        self.knotc("zone-begin", self.zone)
        for c in changes:
            self.knotc("zone-" + c[0], self.zone, *c[1:])
        self.knotc("zone-commit", self.zone)
