"""Anycast follows readiness (issue 21): two network namespaces joined by a veth, a BIRD speaker
beside ternd in one and its BGP peer in the other, and a mosquitto broker (passwords, ACL, TLS with
client certificates) beside them; one lab for the module. The speaker's static routes
198.51.100.53/32 and up (one protocol each, disabled at start) are exported over BGP.
- ternd's signals.hooks run dist/tern-anycast-hook, which enables `anycast` on all-zones-ready and
  disables it on shutting-down: with a secondary zone whose primary is not up yet the peer has no
  route; within 2 s of ternd's "all zones served" it has it; on SIGTERM (signals.drain-delay 3) it
  is withdrawn within 2 s while the DNS port still answers.
- dist/tern-anycast-agent, subscribed to ternd's MQTT signals, withdraws its route within 2 s of
  zone-expiring (a secondary zone's primary stopped, SOA expire 10 s, lead 3 s; the hook with
  TERN_BIRD_STATE beside it does the same), of signatures-expiring (a pre-signed zone whose RRSIGs
  come within the lead by the clock), and of kill -9 (the broker publishes the will at once); it
  announces again once the zone is refreshed or signed again."""
import os
import random
import shutil
import signal
import sys
import time

import pytest

from signallab import PASSWORDS, Broker, Ns, bgp_lab, birdc, has_route, make_pki, wait, zone_text
from ternlib import ROOT, TERND, free_port, terminate

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)"),
    pytest.mark.skipif(not all(shutil.which(p) for p in ("bird", "birdc", "mosquitto", "dnssec-signzone")),
                       reason="bird2, mosquitto and bind9-utils are needed (make deps)"),
]

HOOK = os.path.join(ROOT, "dist", "tern-anycast-hook")
AGENT = os.path.join(ROOT, "dist", "tern-anycast-agent")
STATICS = ["anycast", "ac_exp", "ac_hookexp", "ac_sig", "ac_kill"]  # (exp is a BIRD keyword)


def route(proto):
    return "198.51.100.%d/32" % (53 + STATICS.index(proto))


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


class Lab:
    def __init__(self, d):
        self.d = d
        self.a, self.b = Ns(), Ns()
        self.procs = []
        try:
            self.speaker, self.ssock, self.peer, self.psock = bgp_lab(
                self.a, self.b, d, STATICS, "%04x" % random.randrange(1 << 16))
            self.procs += [self.speaker, self.peer]
            self.pki = make_pki(d / "pki")
            self.broker = Broker(d / "broker", self.pki, ns=self.a).start()
            self.procs.append(self.broker.proc)
            for user in ("ternd", "reader"):
                (d / ("%s.pw" % user)).write_text(PASSWORDS[user] + "\n")
        except BaseException:
            self.close()
            raise

    def has(self, proto):
        return has_route(self.psock, route(proto))

    def mqtt_conf(self, pop):
        return ('  mqtt:\n    broker: "mqtt://127.0.0.1:%d"\n    pop: %s\n    username: ternd\n'
                '    password-file: %s\n    keepalive: 5\n' % (self.broker.port, pop, self.d / "ternd.pw"))

    def agent(self, pop, proto, tls=False):
        """tern-anycast-agent for pop switching proto, as reader (password, or its TLS certificate)."""
        argv = [sys.executable if sys.executable.startswith("/usr/bin/") else "/usr/bin/python3", AGENT,
                "--pop", pop, "--protocol", proto, "--bird-socket", self.ssock]
        if tls:
            argv += ["--broker", "mqtts://127.0.0.1:%d" % self.broker.tls_port, "--ca-file", str(self.pki / "ca.crt"),
                     "--cert-file", str(self.pki / "reader.crt"), "--key-file", str(self.pki / "reader.key")]
        else:
            argv += ["--broker", "mqtt://127.0.0.1:%d" % self.broker.port, "--username", "reader",
                     "--password-file", str(self.d / "reader.pw")]
        log = self.d / ("agent-%s.log" % pop)
        p = self.a.popen(argv, open(log, "w"))
        self.procs.append(p)
        wait(lambda: "subscribed to tern/%s/#" % pop in log.read_text() or p.poll() is not None, "agent up", 15)
        assert p.poll() is None, log.read_text()
        return p, log

    def ternd(self, name, conf):
        (self.d / ("%s.yaml" % name)).write_text(conf)
        p = self.a.popen([TERND, "-c", str(self.d / ("%s.yaml" % name))], open(self.d / ("%s.log" % name), "w"),
                         cwd=str(self.d))
        self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            terminate(p, 10)
        self.a.close()
        self.b.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("bird"))
    yield lab
    lab.close()


def test_the_route_follows_readiness(lab):
    d, a = lab.d, lab.a
    port, primary_port = free_port(), free_port()
    # ternd beside the speaker: a zone file and a secondary zone whose primary is not up yet
    (d / "file.test.zone").write_text(zone_text("file.test"))
    (d / "slow.test.zone").write_text(zone_text("slow.test", 3))
    env = '["TERN_BIRD_PROTOCOL=anycast", "TERN_BIRD_SOCKET=%s"]' % lab.ssock
    conf = ('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: file.test\n    file: file.test.zone\n'
            '  - name: slow.test\n    primary: ["127.0.0.1@%d"]\n    file: %s\n'
            'signals:\n  drain-delay: 3\n  hooks:\n'
            '    - {condition: all-zones-ready, exec: %s, env: %s}\n'
            '    - {condition: shutting-down, exec: %s, env: %s}\n'
            % (port, primary_port, d / "copy" / "slow.test.zone", HOOK, env, HOOK, env))
    ternd = lab.ternd("ready", conf)
    a_dig = ["dig", "+short", "+time=1", "+tries=1", "-p", str(port), "@127.0.0.1", "file.test", "SOA"]
    wait(lambda: "hostmaster" in a.run(a_dig, check=False).stdout, "ternd answering", 20)
    time.sleep(2)
    assert not lab.has("anycast"), birdc(lab.psock, "show", "route")  # not every zone served yet
    lab.ternd("ready-primary",
              'server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: slow.test\n    file: slow.test.zone\n'
              'transfer:\n  allow: [127.0.0.0/8]\n  notify: ["127.0.0.1@%d"]\n' % (primary_port, port))
    ready = log_time(d / "ready.log", "all zones served")
    # main's look, woken by the zone's publication, sees it served at once (not at the 100 ms poll)
    transferred = log_time(d / "ready.log", "zone slow.test.: transferred serial 3")
    assert ready - transferred < 0.06, (ready, transferred)
    seen = wait(lambda: lab.has("anycast"), "the route at the peer", 10)
    assert seen - ready < 2.0, (seen, ready)
    # SIGTERM: withdrawn within 2 s, while the DNS port still answers
    t0 = time.time()
    ternd.send_signal(signal.SIGTERM)
    gone = wait(lambda: not lab.has("anycast"), "the route withdrawn", 5)
    assert gone - t0 < 2.0, gone - t0
    assert ternd.poll() is None and "hostmaster" in a.run(a_dig, check=False).stdout  # still answering
    ternd.wait(15)
    assert ternd.returncode == 0, (d / "ready.log").read_text()


class Watch:
    """A subscriber to tern/POP/# run in the lab's namespace (the broker is there): the arrival
    time of each message, read from its output."""

    CODE = ("import json, sys, time\nimport paho.mqtt.client as m\n"
            "c = m.Client(client_id='watch-' + sys.argv[2], clean_session=True)\n"
            "c.username_pw_set('reader', sys.argv[3])\n"
            "c.on_connect = lambda c, u, f, rc: c.subscribe('tern/%s/#' % sys.argv[2], qos=1)\n"
            "def msg(c, u, x):\n"
            "    print('%.3f %s %s' % (time.time(), x.topic, json.loads(x.payload)['state']), flush=True)\n"
            "c.on_message = msg\nc.connect('127.0.0.1', int(sys.argv[1]), 5)\nc.loop_forever()\n")

    def __init__(self, lab, pop):
        self.log = lab.d / ("watch-%s.log" % pop)
        self.proc = lab.a.popen(["/usr/bin/python3", "-c", self.CODE, str(lab.broker.port), pop, PASSWORDS["reader"]],
                                open(self.log, "w"))
        lab.procs.append(self.proc)
        self.pop = pop

    def when(self, topic, state, timeout=30):
        """The arrival time of the first tern/POP/topic with state, waiting for it."""
        end = time.time() + timeout
        while True:
            for line in self.log.read_text().splitlines():
                f = line.split()
                if len(f) == 3 and f[1] == "tern/%s/%s" % (self.pop, topic) and f[2] == state:
                    return float(f[0])
            assert self.proc.poll() is None and time.time() < end, "no %s %s: %s" % (
                topic, state, self.log.read_text())
            time.sleep(0.02)


def test_zone_expiring_withdraws(lab):
    """exp.test (SOA refresh 1, retry 1, expire 10) from a primary that stops: within 2 s of
    zone-expiring (lead 3 s) the agent's route and the hook's (with its state directory) are
    withdrawn; the primary back, both are announced again."""
    d = lab.d
    port, primary_port = free_port(), free_port()
    (d / "exp.test.zone").write_text(
        "$ORIGIN exp.test.\n$TTL 300\n@ SOA ns1 hostmaster 5 1 1 10 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    primary_conf = ('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: exp.test\n    file: exp.test.zone\n'
                    'transfer:\n  allow: [127.0.0.0/8]\n' % primary_port)
    primary = lab.ternd("exp-primary", primary_conf)
    lab.agent("exp", "ac_exp")
    w = Watch(lab, "exp")
    env = '["TERN_BIRD_PROTOCOL=ac_hookexp", "TERN_BIRD_SOCKET=%s", "TERN_BIRD_STATE=%s"]' % (lab.ssock, d / "hookstate")
    lab.ternd("exp", 'server:\n  listen: ["127.0.0.1@%d"]\nzones:\n'
                     '  - name: exp.test\n    primary: ["127.0.0.1@%d"]\n    file: copy-exp/exp.test.zone\n'
                     'signals:\n  zone-expiring-lead: 3\n  hooks:\n    - {condition: "*", exec: %s, env: %s}\n%s'
              % (port, primary_port, HOOK, env, lab.mqtt_conf("exp")))
    wait(lambda: lab.has("ac_exp") and lab.has("ac_hookexp"), "both routes announced", 20)
    terminate(primary, 10)
    t = w.when("zone-expiring/exp.test", "set", timeout=20)
    gone = wait(lambda: not lab.has("ac_exp") and not lab.has("ac_hookexp"), "both routes withdrawn", 5)
    assert gone - t < 2.0, (gone - t, birdc(lab.psock, "show", "route"))
    lab.ternd("exp-primary2", primary_conf)
    wait(lambda: lab.has("ac_exp") and lab.has("ac_hookexp"), "both routes back", 20)


def test_signatures_expiring_withdraws(lab):
    """sig.test signed to expire 42 s from now, signals.signatures-expiring-lead 30: announced
    once served (the agent over TLS with a client certificate), withdrawn within 2 s of
    signatures-expiring (set by the clock); signed again for a day and reloaded: announced."""
    from test_signals import sign
    d = lab.d / "sig"
    d.mkdir()
    sign(d, 42)
    port = free_port()
    lab.agent("sig", "ac_sig", tls=True)
    w = Watch(lab, "sig")
    ternd = lab.ternd("sig", 'server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: sig.test\n    file: %s\n'
                             'signals:\n  signatures-expiring-lead: 30\n%s'
                      % (port, d / "sig.test.zone", lab.mqtt_conf("sig")))
    wait(lambda: lab.has("ac_sig"), "the route announced", 15)
    t = w.when("signatures-expiring/sig.test", "set", timeout=30)
    gone = wait(lambda: not lab.has("ac_sig"), "the route withdrawn", 5)
    assert gone - t < 2.0, gone - t
    sign(d, 86400)
    ternd.send_signal(signal.SIGHUP)
    w.when("signatures-expiring/sig.test", "clear", timeout=15)
    wait(lambda: lab.has("ac_sig"), "the route back", 10)


def test_kill_9_withdraws(lab):
    """ternd killed: the broker publishes its will (crashed) at once, the agent withdraws within
    2 s of the kill. A new ternd not ready yet (a secondary zone without its primary): its
    connection clears what the dead one left retained (all-zones-ready, running) before crashed,
    so the route stays withdrawn. It stopped by SIGTERM and at once another: the shutting-down the
    second left retained is cleared by the third (a subscriber coming later sees it clear), and
    the route comes back."""
    d = lab.d
    port = free_port()
    (d / "kill.test.zone").write_text(zone_text("kill.test"))
    lab.agent("kill", "ac_kill")
    conf = 'server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: kill.test\n    file: kill.test.zone\n%%ssignals:\n%s' % (
        port, lab.mqtt_conf("kill"))
    ternd = lab.ternd("kill", conf % "")
    wait(lambda: lab.has("ac_kill"), "the route announced", 15)
    t0 = time.time()
    ternd.kill()
    gone = wait(lambda: not lab.has("ac_kill"), "the route withdrawn", 5)
    assert gone - t0 < 2.0, gone - t0
    ternd.wait(5)
    agent_log = (d / "agent-kill.log").read_text()
    assert agent_log.rstrip().endswith("(crashed set)"), agent_log
    w = Watch(lab, "kill")
    w.when("crashed", "set")  # retained
    slow = '  - name: slow.test\n    primary: ["127.0.0.1@%d"]\n    file: copy-kill/slow.test.zone\n' % free_port()
    ternd = lab.ternd("kill2", conf % slow)
    w.when("crashed", "clear")  # the new connection
    time.sleep(1)
    assert not lab.has("ac_kill"), (d / "agent-kill.log").read_text()
    assert (d / "agent-kill.log").read_text() == agent_log  # no enable in between
    assert [line.split()[2] for line in w.log.read_text().splitlines() if " tern/kill/all-zones-ready " in line][-1] \
        == "clear"
    ternd.send_signal(signal.SIGTERM)
    assert ternd.wait(15) == 0
    lab.ternd("kill3", conf % "")
    wait(lambda: lab.has("ac_kill"), "the route announced after the restart", 15)
    w = Watch(lab, "kill")
    w.when("running", "set")
    w.when("shutting-down", "clear")
