"""NSD peers on loopback, each with its configuration, state and logs in a dir of its own: Nsd is a secondary
of one zone, NsdZones serves zone files (differential tests)."""
import os
import shutil

from ternlib import free_port, wait_udp
from xfrlib import Peer

NSD = shutil.which("nsd") or "/usr/sbin/nsd"


def nsd_available():
    return os.access(NSD, os.X_OK)


# What every NSD here is: one server process on 127.0.0.1@port, every file of it under dir.
NSD_SERVER = """server:
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
"""

NSD_CONF = NSD_SERVER + """    verbosity: 2
    zonefiles-write: 0
    rrl-ratelimit: 0
    xfrd-reload-timeout: {reload_timeout}
remote-control:
    control-enable: no
{key}zone:
    name: {zone}
    request-xfr: 127.0.0.1@{primary} {keyname}
    allow-notify: 127.0.0.1 {keyname}
    provide-xfr: 127.0.0.0/8 NOKEY
"""

NSD_KEY = """key:
    name: "{name}"
    algorithm: {algorithm}
    secret: "{secret}"
"""


class Nsd(Peer):
    """NSD pulling zone from 127.0.0.1@primary_port (signed with key, else NOKEY), all its files in workdir."""

    def __init__(self, workdir, zone, primary_port, port=None, reload_timeout=0, key=None):
        # reload_timeout is xfrd-reload-timeout: 0 serves a transfer at once instead of batching reloads
        self._place(workdir, port)
        self.zone = zone
        with open(self.config, "w") as f:
            f.write(NSD_CONF.format(port=self.port, dir=self.dir, zone=zone, primary=primary_port,
                                    reload_timeout=reload_timeout, keyname=key.name if key else "NOKEY",
                                    key=NSD_KEY.format(**key._asdict()) if key else ""))

    def _place(self, workdir, port):
        """Picks the port (a free one unless given) and the dir, config and stderr log in workdir."""
        self.port = port or free_port()
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "nsd.conf")
        self.log = os.path.join(self.dir, "nsd.stderr")

    def start(self):
        self.launch([NSD, "-d", "-c", self.config])
        try:
            wait_udp(self.addr, self.port, proc=self.proc)
        except RuntimeError as e:
            raise RuntimeError("%s\n%s" % (e, self.log_text()))
        return self

    def log_text(self):
        """NSD's log file, then what it wrote to stderr."""
        text = ""
        for p in (os.path.join(self.dir, "nsd.log"), self.log):
            if os.path.exists(p):
                with open(p) as f:
                    text += f.read()
        return text


NSD_SERVE_CONF = NSD_SERVER + """    verbosity: 1
    zonefiles-write: 0
    zonefiles-check: no
    rrl-ratelimit: 0
    refuse-any: no
    minimal-responses: no
    round-robin: no
remote-control:
    control-enable: no
"""


class NsdZones(Nsd):
    """NSD serving {zone name: zone file path} read-only, all its files in workdir."""

    def __init__(self, zones, workdir, port=None):
        self._place(workdir, port)
        self.zones = {n.rstrip(".") + ".": os.path.abspath(p) for n, p in zones.items()}
        text = NSD_SERVE_CONF.format(port=self.port, dir=self.dir)
        for name, path in self.zones.items():
            text += "zone:\n    name: \"%s\"\n    zonefile: \"%s\"\n" % (name, path)
        with open(self.config, "w") as f:
            f.write(text)

    def start(self, timeout=15.0):
        self.launch([NSD, "-d", "-c", self.config])
        for zone in self.zones:
            self.wait_soa(zone, timeout=timeout)
        return self
