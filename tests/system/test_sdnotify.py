"""systemd readiness (issue 19): under Type=notify ternd sends READY=1 to $NOTIFY_SOCKET only once
every zone it should serve is served -- a secondary zone whose primary is not up yet holds it back
(STATUS= names the zone), and so do the members of a consumed catalog -- then RELOADING=1 (with
MONOTONIC_USEC) and READY=1 around a SIGHUP, and STOPPING=1 on SIGTERM. The socket here is the
test's own datagram socket, as systemd's would be: a path, or an abstract name ("@...")."""
import os
import socket
import subprocess
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from ternlib import TERND, Ternd, free_port, terminate, wait_udp, zone_text

CAT = "catalog.tern."


class NotifySocket:
    """A datagram socket standing for systemd's: every message, with the time it came."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "tern-test-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            self.dir = tempfile.mkdtemp(prefix="notify-")
            self.env = os.path.join(self.dir, "notify")
            self.sock.bind(self.env)
        self.got = []  # (monotonic time, {key: value})

    def collect(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.got.append((time.monotonic(), fields))
        return self.got

    def wait_for(self, key, timeout, after=0):
        """The first message from index after on that sets key; fails after timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            for i in range(after, len(self.got)):
                if key in self.got[i][1]:
                    return i, self.got[i][1]
            assert time.monotonic() < end, "no %s within %s s: %s" % (key, timeout, self.got[after:])
            self.collect(min(0.2, max(0.01, end - time.monotonic())))

    def close(self):
        self.sock.close()


def start(config, notify, log):
    env = dict(os.environ, NOTIFY_SOCKET=notify.env)
    return subprocess.Popen([TERND, "-c", config], stdout=open(log, "a"), stderr=subprocess.STDOUT, env=env)


def soa_rcode(port, name):
    r = dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=2)
    return r.rcode() if r.answer or r.rcode() != dns.rcode.NOERROR else -1


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_waits_for_a_slow_secondary(tmp_path, abstract):
    notify = NotifySocket(abstract)
    (tmp_path / "file.test.zone").write_text(zone_text("file.test"))
    (tmp_path / "slow.test.zone").write_text(zone_text("slow.test", 7))
    primary_port, port = free_port(), free_port()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: file.test\n    file: file.test.zone\n'
                    '  - name: slow.test\n    primary: ["127.0.0.1@%d"]\n    file: %s\n'
                    % (port, primary_port, tmp_path / "copy" / "slow.test.zone"))
    primary = Ternd({"slow.test": str(tmp_path / "slow.test.zone")}, port=primary_port,
                    extra_server="")
    with open(primary.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % port)
    proc = start(str(conf), notify, str(tmp_path / "ternd.log"))
    try:
        wait_udp("127.0.0.1", port, proc=proc)
        # the zone file is served at once; the secondary has no primary yet: no READY=1
        assert soa_rcode(port, "file.test") == dns.rcode.NOERROR
        notify.collect(1.5)
        assert not any("READY" in f for _t, f in notify.got), notify.got
        statuses = [f["STATUS"] for _t, f in notify.got if "STATUS" in f]
        assert statuses and "slow.test" in statuses[-1], notify.got
        assert soa_rcode(port, "slow.test") == dns.rcode.SERVFAIL
        # the primary comes up (its NOTIFY, or the secondary's next try, brings the zone)
        primary.start()
        i, fields = notify.wait_for("READY", 30)
        assert fields["READY"] == "1" and fields["STATUS"] == "2 zone(s) served", fields
        assert soa_rcode(port, "slow.test") == dns.rcode.NOERROR  # served when READY=1 came
        assert "all zones served: 2 zone(s); READY=1 sent to systemd" in open(tmp_path / "ternd.log").read()
        # a reload: RELOADING=1 with the monotonic clock, then READY=1
        proc.send_signal(1)
        j, fields = notify.wait_for("RELOADING", 10, after=i + 1)
        usec = int(fields["MONOTONIC_USEC"])
        assert abs(usec / 1e6 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 10, fields
        _k, fields = notify.wait_for("READY", 10, after=j + 1)
        assert fields["STATUS"] == "2 zone(s) served"
        proc.terminate()
        _k, fields = notify.wait_for("STOPPING", 10, after=j + 1)
        assert fields["STOPPING"] == "1"
        assert proc.wait(timeout=30) == 0
    finally:
        terminate(proc)
        primary.stop()
        notify.close()


def test_ready_waits_for_every_member_of_a_catalog(tmp_path):
    """A PoP consuming a catalog of 500 members: READY=1 comes when every member answers, not
    when the catalog itself is in (its members are added after it)."""
    notify = NotifySocket()
    names = ["m%d.cat.test" % i for i in range(500)]
    files = {}
    for n in names:
        (tmp_path / (n + ".zone")).write_text(zone_text(n))
        files[n] = str(tmp_path / (n + ".zone"))
    port = free_port()
    primary = Ternd(files)
    with open(primary.config, "a") as f:
        f.write("catalog:\n  zone: %s\ntransfer:\n  allow: [127.0.0.0/8]\n" % CAT)
    pop_dir = tmp_path / "pop"
    pop_dir.mkdir()
    conf = pop_dir / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: "%s"\n    primary: ["127.0.0.1@%d"]\n'
                    '    catalog: true\n' % (port, CAT, primary.port))
    proc = None
    try:
        primary.start()
        proc = start(str(conf), notify, str(pop_dir / "ternd.log"))
        _i, fields = notify.wait_for("READY", 60)
        missing = [n for n in names if soa_rcode(port, n) != dns.rcode.NOERROR]
        assert missing == [], "READY=1 (%s) came before %d member(s) were served: %s" % (
            fields, len(missing), missing[:5])
        assert fields["STATUS"] == "501 zone(s) served", fields
    finally:
        if proc:
            terminate(proc)
        primary.stop()
        notify.close()


def test_without_notify_socket_nothing_is_sent(tmp_path):
    """Outside systemd (no $NOTIFY_SOCKET) ternd starts and stops as before, and says in its log
    when every zone is served."""
    (tmp_path / "file.test.zone").write_text(zone_text("file.test"))
    t = Ternd({"file.test": str(tmp_path / "file.test.zone")}, workdir=str(tmp_path))
    env = os.environ.pop("NOTIFY_SOCKET", None)
    try:
        t.start()
        deadline = time.time() + 10
        while "all zones served: 1 zone(s)\n" not in t.log_text():
            assert time.time() < deadline, t.log_text()
            time.sleep(0.05)
        assert "READY=1" not in t.log_text()
        assert t.stop() == 0
    finally:
        if env is not None:
            os.environ["NOTIFY_SOCKET"] = env
