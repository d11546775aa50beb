"""BIND (named) peers on loopback: a primary of one zone, its configuration, zone file and log in a dir of its own."""
import os
import shutil
import signal
import time

from ternlib import free_port, wait_udp
from xfrlib import Peer

NAMED = shutil.which("named") or "/usr/sbin/named"


def named_available():
    return os.access(NAMED, os.X_OK)


NAMED_CONF = """{key}
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-transfer {{ {allow}; }};
    notify explicit;
    notify-delay 0;
    also-notify {{ 127.0.0.1 port {notify}{notify_key}; }};{ixfr}
    dnssec-validation no;
}};
controls {{ }};
zone "{zone}" {{
    type primary;
    file "{file}";
}};
"""

NAMED_KEY = """key "{name}" {{
    algorithm {algorithm};
    secret "{secret}";
}};"""


class NamedPrimary(Peer):
    """named serving zone from its own file of text, NOTIFY to notify_port; key required and signing; ixfr: diffs."""

    def __init__(self, workdir, zone, text, notify_port, port=None, key=None, ixfr=False):
        self.port = port or free_port()
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.zone = zone
        self.file = os.path.join(self.dir, zone.rstrip(".") + ".zone")
        with open(self.file, "w") as f:
            f.write(text)
        self.config = os.path.join(self.dir, "named.conf")
        self.log = os.path.join(self.dir, "named.log")
        with open(self.config, "w") as f:
            f.write(NAMED_CONF.format(
                dir=self.dir, port=self.port, notify=notify_port, zone=zone, file=self.file,
                key=NAMED_KEY.format(**key._asdict()) if key else "",
                allow="key %s" % key.name if key else "127.0.0.0/8",
                notify_key=" key %s" % key.name if key else "",
                ixfr="\n    ixfr-from-differences yes;" if ixfr else ""))

    def start(self, timeout=10.0):
        """Starts named and waits until it serves the zone."""
        self.launch([NAMED, "-g", "-c", self.config])
        wait_udp(self.addr, self.port, proc=self.proc)
        return self.wait_soa(self.zone, timeout=timeout)

    def change(self, text):
        """A new zone file, made newer than the last (BIND reloads only newer files), and SIGHUP."""
        with open(self.file, "w") as f:
            f.write(text)
        os.utime(self.file, (time.time() + 2, time.time() + 2))
        self.proc.send_signal(signal.SIGHUP)
