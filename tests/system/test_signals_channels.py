"""Out-of-protocol signalling (issue 21), the conditions the per-channel tests do not reach, each
seen set and cleared on all three channels of one ternd at once: the exec hook (its argv
CONDITION STATE NAME=VALUE...), D-Bus (org.tern.ternd.conditions.condition with its types, read
by dbus-monitor) and MQTT (retained tern/<pop>/<condition>[/<zone>], read by a subscriber to a real
mosquitto), with the same arguments on each: signatures-expiring (a pre-signed zone expiring within
the lead, then signed again), query-rate-high and query-rate-rising (a paced load, then none),
zone-expiring (a secondary zone's primary stops), ede (the expired zone's SERVFAILs, EDE 24, then
quiet) and zone-expiring cleared when the primary is back."""
import shutil
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from ternlib import TERND, Ternd, free_port, terminate
from test_signals import HookLog, ede_query, sign
from test_signals_dbus import Bus, condition
from test_signals_mqtt import PASSWORDS, Broker, Sub, make_pki

pytestmark = pytest.mark.skipif(
    not all(shutil.which(p) for p in ("dbus-daemon", "dbus-monitor", "mosquitto", "dnssec-signzone")),
    reason="dbus-daemon, dbus-monitor, mosquitto and dnssec-signzone (make deps) are needed")


class Channels:
    """The three channels' views of one ternd."""

    def __init__(self, hooks, bus, sub, pop):
        self.hooks, self.bus, self.sub, self.pop = hooks, bus, sub, pop

    def wait(self, cond, state, zone="", timeout=20, nth=1):
        """Until (cond, state, zone) has come nth times on every channel; its arguments (the nth
        time), the same on each."""
        topic = "tern/%s/%s%s" % (self.pop, cond, "/" + zone.rstrip(".") if zone else "")
        end = time.time() + timeout
        while True:
            hooks = [l for l in self.hooks.lines() if l[1:4] == [cond, state, zone]]
            bus = [m for m in self.bus.messages() if condition(m, cond, state, zone)]
            mqtt = [p for t, p, _ in self.sub.messages() if t == topic and p["state"] == state]
            if min(len(hooks), len(bus), len(mqtt)) >= nth:
                break
            assert time.time() < end, "%s %s %s not %d times: hooks %s, D-Bus %s, MQTT %s" % (
                cond, state, zone, nth, self.hooks.lines(), [m["args"][:3] for m in self.bus.messages()],
                self.sub.messages())
            time.sleep(0.05)
        argv = hooks[nth - 1][0].split(" ")
        assert argv[:2] == [cond, state], argv
        from_hook = dict(a.split("=", 1) for a in argv[2:])
        from_bus = {k[1]: v[1] for _, (k, v) in bus[nth - 1]["args"][3][1]}
        p = mqtt[nth - 1]
        assert p["condition"] == cond and p.get("zone", "") == zone, p
        assert from_hook == from_bus == p["arguments"], (from_hook, from_bus, p)
        return from_hook


def test_every_condition_on_every_channel(tmp_path):
    h, hook = HookLog.in_dir(tmp_path)
    pki = make_pki(tmp_path / "pki")
    broker = Broker(tmp_path / "broker", pki).start()
    bus = Bus(tmp_path)
    sub = Sub(broker, "reader", PASSWORDS["reader"])
    assert sub.wait_connected() == 0
    (tmp_path / "exp.test.zone").write_text(
        "$ORIGIN exp.test.\n$TTL 300\n@ SOA ns1 hostmaster 5 1 1 6 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    sign(tmp_path, 120)
    primary_port, port = free_port(), free_port()
    primary = Ternd({"exp.test": str(tmp_path / "exp.test.zone")}, port=primary_port)
    with open(primary.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    primary.start()
    (tmp_path / "ternd.pw").write_text(PASSWORDS["ternd"] + "\n")
    conf = tmp_path / "ternd.yaml"
    conf.write_text(
        'server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: sig.test\n    file: sig.test.zone\n'
        '  - name: exp.test\n    primary: ["127.0.0.1@%d"]\n    file: copy/exp.test.zone\n'
        'signals:\n  zone-expiring-lead: 3\n  signatures-expiring-lead: 3600\n'
        '  query-rate-high: 50\n  query-rate-rising: 15\n  query-rate-window: 2\n'
        '  ede:\n    codes: [24]\n    interval: 2\n    quiet: 3\n'
        '  hooks:\n    - condition: "*"\n      exec: %s\n'
        '  dbus:\n    enabled: true\n    bus: "%s"\n'
        '  mqtt:\n    broker: "mqtt://127.0.0.1:%d"\n    pop: pop9\n    username: ternd\n'
        '    password-file: %s\n    keepalive: 5\n'
        % (port, primary_port, hook, bus.address, broker.port, tmp_path / "ternd.pw"))
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=open(tmp_path / "ternd.log", "w"),
                            stderr=subprocess.STDOUT, cwd=str(tmp_path))
    ch = Channels(h, bus, sub, "pop9")
    try:
        assert ch.wait("all-zones-ready", "set") == {"zones": "2"}
        # signatures-expiring: set at load (within the hour's lead), cleared once signed for a day
        args = ch.wait("signatures-expiring", "set", "sig.test.")
        assert set(args) == {"owner", "type", "expires"} and 60 < int(args["expires"]) - time.time() < 180, args
        sign(tmp_path, 86400)
        proc.send_signal(signal.SIGHUP)
        assert ch.wait("signatures-expiring", "clear", "sig.test.") == {}
        # the query rates: about 400 queries a second for 6 s, then none
        q = dns.message.make_query("sig.test.", "SOA")
        start, sent = time.time(), 0
        while time.time() < start + 6:
            dns.query.udp(q, "127.0.0.1", port=port, timeout=1)
            sent += 1
            lag = sent / 400.0 - (time.time() - start)
            if lag > 0:
                time.sleep(lag)
        args = ch.wait("query-rate-high", "set")
        assert args["threshold"] == "50" and int(args["rate"]) >= 50, args
        args = ch.wait("query-rate-rising", "set")
        assert args["threshold"] == "15" and int(args["increase"]) >= 15, args
        assert ch.wait("query-rate-rising", "clear", timeout=10) == {}
        assert ch.wait("query-rate-high", "clear", timeout=10) == {}
        # the primary stops: zone-expiring, then the expiry, then the SERVFAILs' ede
        primary.stop()
        args = ch.wait("zone-expiring", "set", "exp.test.", timeout=15)
        assert args["lead"] == "3", args
        assert ch.wait("zone-ready", "clear", "exp.test.", timeout=15) == {"serial": "5"}
        for _ in range(4):
            assert ede_query(port, "www.exp.test.") == (dns.rcode.SERVFAIL, [24])
        assert ch.wait("ede", "set", "exp.test.", timeout=5) == {"code": "24", "count": "4", "interval": "2"}
        assert ch.wait("ede", "clear", "exp.test.", timeout=10) == {}
        # the primary back: zone-expiring cleared, the zone ready again
        primary.start()
        assert ch.wait("zone-expiring", "clear", "exp.test.", timeout=15) == {}
        assert ch.wait("zone-ready", "set", "exp.test.", nth=2) == {"serial": "5"}
        assert ch.wait("all-zones-ready", "set", nth=2) == {"zones": "2"}
        assert proc.poll() is None
    finally:
        terminate(proc)
        primary.stop()
        sub.close()
        bus.stop()
        broker.stop()
