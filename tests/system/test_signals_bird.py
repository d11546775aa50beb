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
import time

import pytest

from signallab import Ns, bgp_lab, birdc, has_route, wait, zone_text
from ternlib import ROOT, TERND, terminate

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(not shutil.which("bird") or not shutil.which("birdc"), reason="bird2 is not installed"),
]

HOOK = os.path.join(ROOT, "dist", "tern-anycast-hook")


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
        speaker, ssock, peer, psock = bgp_lab(a, b, tmp_path, ["anycast"], suffix)
        procs += [speaker, peer]
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
