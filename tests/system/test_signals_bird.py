"""Anycast follows readiness (issue 21): two network namespaces joined by a veth, a BIRD speaker
beside ternd in one and its BGP peer in the other. The speaker's static route 198.51.100.53/32
(protocol `anycast`, disabled at start) is exported over BGP; ternd's signals.hooks run
dist/tern-anycast-hook, which enables it on all-zones-ready and disables it on shutting-down.
With a secondary zone whose primary is not up yet the peer has no route; within 2 s of ternd's
"all zones served" it has it; on SIGTERM (signals.drain-delay 3) it is withdrawn within 2 s while
the DNS port still answers."""
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from ternlib import ROOT, TERND, terminate, zone_text

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(not shutil.which("bird") or not shutil.which("birdc"), reason="bird2 is not installed"),
]

HOOK = os.path.join(ROOT, "dist", "tern-anycast-hook")
ROUTE = "198.51.100.53/32"


class Ns:
    """A network namespace held by a sleeping process, lo up."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep infinity"])
        self.path = "/proc/%d/ns/net" % self.holder.pid
        deadline = time.time() + 5
        while self.run(["ip", "link", "show", "lo"], check=False).stdout.find("UP") < 0:
            assert time.time() < deadline, "lo not up"
            time.sleep(0.02)

    def argv(self, args):
        return ["nsenter", "--net=" + self.path, "--"] + list(args)

    def run(self, args, check=True):
        r = subprocess.run(self.argv(args), capture_output=True, text=True, timeout=30)
        assert not check or r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def popen(self, args, log):
        return subprocess.Popen(self.argv(args), stdout=log, stderr=subprocess.STDOUT)

    def close(self):
        self.holder.kill()
        self.holder.wait()


def bird(ns, tmp_path, name, conf):
    (tmp_path / ("%s.conf" % name)).write_text(conf)
    sock = str(tmp_path / ("%s.ctl" % name))
    log = open(tmp_path / ("%s.log" % name), "w")
    proc = ns.popen(["bird", "-f", "-c", str(tmp_path / ("%s.conf" % name)), "-s", sock,
                     "-P", str(tmp_path / ("%s.pid" % name))], log)
    deadline = time.time() + 10
    while subprocess.run(["birdc", "-s", sock, "show", "status"], capture_output=True).returncode != 0:
        assert proc.poll() is None and time.time() < deadline, open(tmp_path / ("%s.log" % name)).read()
        time.sleep(0.05)
    return proc, sock


def birdc(sock, *args):
    return subprocess.run(["birdc", "-s", sock] + list(args), capture_output=True, text=True, timeout=10).stdout


def has_route(sock):
    return ROUTE in birdc(sock, "show", "route", ROUTE)


def wait(pred, what, timeout):
    end = time.time() + timeout
    while not pred():
        assert time.time() < end, what
        time.sleep(0.02)
    return time.time()


def log_time(path, text, timeout=30):
    """The monotonic-free wall time at which ternd logged text (its own timestamp), waiting for it."""
    end = time.time() + timeout
    while True:
        for line in open(path):
            if text in line:
                stamp = line.split()[0]  # 2026-12-06T06:47:10.234Z
                return time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + \
                    float("0." + stamp[20:23])
        assert time.time() < end, "%s never logged" % text
        time.sleep(0.02)


def test_the_route_follows_readiness(tmp_path):
    a, b = Ns(), Ns()
    procs = []
    suffix = "%04x" % random.randrange(1 << 16)
    try:
        # the veth between them
        subprocess.run(["ip", "link", "add", "tas" + suffix, "type", "veth", "peer", "name", "tbp" + suffix],
                       check=True)
        subprocess.run(["ip", "link", "set", "tas" + suffix, "netns", str(a.holder.pid)], check=True)
        subprocess.run(["ip", "link", "set", "tbp" + suffix, "netns", str(b.holder.pid)], check=True)
        a.run(["ip", "addr", "add", "10.53.0.1/30", "dev", "tas" + suffix])
        a.run(["ip", "link", "set", "tas" + suffix, "up"])
        b.run(["ip", "addr", "add", "10.53.0.2/30", "dev", "tbp" + suffix])
        b.run(["ip", "link", "set", "tbp" + suffix, "up"])
        speaker, ssock = bird(a, tmp_path, "speaker", """router id 10.53.0.1;
protocol device {}
protocol static anycast { disabled yes; ipv4; route 198.51.100.53/32 blackhole; }
protocol bgp peer { local 10.53.0.1 as 65001; neighbor 10.53.0.2 as 65002; hold time 3; connect retry time 1;
  ipv4 { import none; export all; }; }
""")
        procs.append(speaker)
        peer, psock = bird(b, tmp_path, "peer", """router id 10.53.0.2;
protocol device {}
protocol bgp speaker { local 10.53.0.2 as 65002; neighbor 10.53.0.1 as 65001; hold time 3; connect retry time 1;
  ipv4 { import all; export none; }; }
""")
        procs.append(peer)
        wait(lambda: "Established" in birdc(psock, "show", "protocols", "speaker"), "BGP up", 30)
        # ternd beside the speaker: a zone file and a secondary zone whose primary is not up yet
        (tmp_path / "file.test.zone").write_text(zone_text("file.test"))
        (tmp_path / "slow.test.zone").write_text(zone_text("slow.test", 3))
        env = '["TERN_BIRD_PROTOCOL=anycast", "TERN_BIRD_SOCKET=%s"]' % ssock
        (tmp_path / "ternd.yaml").write_text(
            'server:\n  listen: ["127.0.0.1@53"]\nzones:\n  - name: file.test\n    file: file.test.zone\n'
            '  - name: slow.test\n    primary: ["127.0.0.1@5300"]\n    file: %s\n'
            'signals:\n  drain-delay: 3\n  hooks:\n'
            '    - {condition: all-zones-ready, exec: %s, env: %s}\n'
            '    - {condition: shutting-down, exec: %s, env: %s}\n'
            % (tmp_path / "copy" / "slow.test.zone", HOOK, env, HOOK, env))
        (tmp_path / "primary.yaml").write_text(
            'server:\n  listen: ["127.0.0.1@5300"]\nzones:\n  - name: slow.test\n    file: slow.test.zone\n'
            'transfer:\n  allow: [127.0.0.0/8]\n  notify: ["127.0.0.1@53"]\n')
        tlog = tmp_path / "ternd.log"
        ternd = a.popen([TERND, "-c", str(tmp_path / "ternd.yaml")], open(tlog, "w"))
        procs.append(ternd)
        a_dig = ["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "file.test", "SOA"]
        wait(lambda: "hostmaster" in a.run(a_dig, check=False).stdout, "ternd answering", 20)
        time.sleep(2)
        assert not has_route(psock), birdc(psock, "show", "route")  # not every zone served yet
        primary = a.popen([TERND, "-c", str(tmp_path / "primary.yaml")], open(tmp_path / "primary.log", "w"))
        procs.append(primary)
        ready = log_time(tlog, "all zones served")
        seen = wait(lambda: has_route(psock), "the route at the peer", 10)
        assert seen - ready < 2.0, (seen, ready)
        # SIGTERM: withdrawn within 2 s, while the DNS port still answers
        t0 = time.time()
        ternd.send_signal(signal.SIGTERM)
        gone = wait(lambda: not has_route(psock), "the route withdrawn", 5)
        assert gone - t0 < 2.0, gone - t0
        assert ternd.poll() is None and "hostmaster" in a.run(a_dig, check=False).stdout  # still answering
        ternd.wait(15)
        assert ternd.returncode == 0, open(tlog).read()
    finally:
        for p in reversed(procs):
            terminate(p)
        a.close()
        b.close()
