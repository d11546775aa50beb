"""Out-of-protocol signalling over MQTT (issue 21): ternd publishes each condition, set and
cleared, retained at QoS 1 on tern/<pop>/<condition>[/<zone>] with a JSON payload, to a real
mosquitto that refuses anonymous clients and wrong passwords, gives each identity what its ACL
allows, and on a TLS listener takes only clients with a certificate. kill -9 makes the broker
publish ternd's last will (crashed set); SIGTERM clears crashed and disconnects cleanly (no will).
A broker down when ternd starts gets the state once it is up; while it is down, messages beyond the
bound are counted in /metrics. Bad signals.mqtt keys are named by --check."""
import json
import signal
import ssl
import subprocess
import threading
import time
import urllib.request

import dns.message
import dns.query
import dns.rcode
import paho.mqtt.client as mqtt
import pytest

from signallab import PASSWORDS, Broker, make_pki, zone_text
from ternlib import TERND, Ternd, free_port, terminate, wait_log

class Sub:
    """A subscriber to tern/# (paho): what it got, in order, as (topic, payload, retained)."""

    def __init__(self, broker, user=None, password=None, tls=None):
        self.got, self.lock, self.rc = [], threading.Lock(), None
        self.c = mqtt.Client(client_id="sub-%s-%d" % (user, time.monotonic_ns()), clean_session=True)
        if user:
            self.c.username_pw_set(user, password)
        port = broker.port
        if tls:
            self.c.tls_set(**tls)
            port = broker.tls_port
        self.c.on_connect = self._connect
        self.c.on_message = self._message
        self.connected = threading.Event()
        self.c.connect("127.0.0.1", port, keepalive=5)
        self.c.loop_start()

    def _connect(self, c, userdata, flags, rc):
        self.rc = rc
        if rc == 0:
            c.subscribe("tern/#", qos=1)
        self.connected.set()

    def _message(self, c, userdata, msg):
        with self.lock:
            self.got.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

    def wait_connected(self):
        assert self.connected.wait(10), "no CONNACK"
        return self.rc

    def messages(self):
        with self.lock:
            return list(self.got)

    def wait(self, topic, state, timeout=15, retained=None):
        end = time.time() + timeout
        while True:
            for t, p, r in self.messages():
                if t == topic and p["state"] == state and (retained is None or r == retained):
                    return p
            assert time.time() < end, "no %s %s in %s" % (topic, state, self.messages())
            time.sleep(0.05)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("mqtt") / "pki")


@pytest.fixture
def broker(tmp_path, pki):
    b = Broker(tmp_path / "broker", pki).start()
    yield b
    b.stop()


def mqtt_ternd(tmp_path, broker, mqtt_conf, zones=None, extra_zones=""):
    (tmp_path / "file.test.zone").write_text(zone_text("file.test"))
    t = Ternd(zones if zones is not None else {"file.test": str(tmp_path / "file.test.zone")},
              workdir=str(tmp_path))
    (tmp_path / "ternd.pw").write_text(PASSWORDS["ternd"] + "\n")
    with open(t.config, "a") as f:
        f.write(extra_zones)
        f.write("signals:\n  mqtt:\n" + "".join("    %s: %s\n" % kv for kv in mqtt_conf.items()))
    return t


def password_conf(tmp_path, broker, pop="pop1"):
    return {"broker": "\"mqtt://127.0.0.1:%d\"" % broker.port, "pop": pop, "username": "ternd",
            "password-file": str(tmp_path / "ternd.pw"), "keepalive": 5}


def test_each_condition_set_and_cleared_over_mqtt(tmp_path, broker):
    primary_port = free_port()
    (tmp_path / "slow.test.zone").write_text(zone_text("slow.test", 7))
    slow = "  - name: slow.test\n    primary: [\"127.0.0.1@%d\"]\n    file: %s\n" % (
        primary_port, tmp_path / "copy" / "slow.test.zone")
    sub = Sub(broker, "reader", PASSWORDS["reader"])
    assert sub.wait_connected() == 0
    t = mqtt_ternd(tmp_path, broker, password_conf(tmp_path, broker), extra_zones=slow)
    t.start()
    primary = None
    try:
        p = sub.wait("tern/pop1/running", "set")
        assert set(p) == {"condition", "state", "time", "arguments"} and p["condition"] == "running", p
        assert time.strptime(p["time"], "%Y-%m-%dT%H:%M:%SZ")
        p = sub.wait("tern/pop1/zone-ready/file.test", "set")
        assert p == {"condition": "zone-ready", "state": "set", "time": p["time"], "zone": "file.test.",
                     "arguments": {"serial": "1"}}, p
        p = sub.wait("tern/pop1/refresh-failed/slow.test", "set")
        assert p["zone"] == "slow.test." and p["arguments"]["primary"] == "127.0.0.1@%d" % primary_port, p
        assert int(p["arguments"]["attempts"]) >= 1 and p["arguments"]["error"], p
        p = sub.wait("tern/pop1/crashed", "clear")  # cleared at each connection
        assert p["condition"] == "crashed", p
        # a late subscriber gets the state retained
        late = Sub(broker, "reader", PASSWORDS["reader"])
        assert late.wait_connected() == 0
        late.wait("tern/pop1/running", "set", retained=True)
        late.wait("tern/pop1/zone-ready/file.test", "set", retained=True)
        late.wait("tern/pop1/refresh-failed/slow.test", "set", retained=True)
        late.close()
        assert not any(t_ == "tern/pop1/all-zones-ready" and p_["state"] == "set" for t_, p_, _ in sub.messages())
        # the primary comes up: refresh-failed cleared, slow.test ready, all zones ready
        primary = Ternd({"slow.test": str(tmp_path / "slow.test.zone")}, port=primary_port)
        with open(primary.config, "a") as f:
            f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % t.port)
        primary.start()
        p = sub.wait("tern/pop1/refresh-failed/slow.test", "clear", timeout=30)
        assert p["zone"] == "slow.test.", p
        p = sub.wait("tern/pop1/zone-ready/slow.test", "set")
        assert p["arguments"] == {"serial": "7"}, p
        p = sub.wait("tern/pop1/all-zones-ready", "set")
        assert p["arguments"] == {"zones": "2"}, p
        # a new serial: zone-updated, an event, not retained
        (tmp_path / "file.test.zone").write_text(zone_text("file.test", 2))
        t.reload()
        p = sub.wait("tern/pop1/zone-updated/file.test", "event", retained=False)
        assert p["arguments"] == {"serial": "2"} and p["zone"] == "file.test.", p
        # a zone removed: zone-ready cleared
        text = open(t.config).read()
        open(t.config, "w").write(text.replace(slow, ""))
        t.reload()
        p = sub.wait("tern/pop1/zone-ready/slow.test", "clear")
        assert p["zone"] == "slow.test.", p
        # SIGTERM: shutting-down, all-zones-ready and running cleared, crashed cleared, no will
        n_before = len(sub.messages())
        t.proc.terminate()
        sub.wait("tern/pop1/shutting-down", "set")
        sub.wait("tern/pop1/all-zones-ready", "clear")
        sub.wait("tern/pop1/running", "clear")
        assert t.proc.wait(15) == 0
        after = sub.messages()[n_before:]
        assert ("tern/pop1/crashed", "clear") in [(t_, p_["state"]) for t_, p_, _ in after], after
        time.sleep(2)  # the will comes at once when a connection closes without DISCONNECT
        assert not any(t_ == "tern/pop1/crashed" and p_["state"] == "set" for t_, p_, _ in sub.messages())
        log = broker.log_text()
        assert "Client ternd-pop1 disconnected." in log, log[-3000:]
        # the state stays retained after the stop
        late = Sub(broker, "reader", PASSWORDS["reader"])
        assert late.wait_connected() == 0
        late.wait("tern/pop1/running", "clear", retained=True)
        late.wait("tern/pop1/crashed", "clear", retained=True)
        late.close()
    finally:
        sub.close()
        if primary:
            primary.stop()
        t.stop()


def test_kill_9_publishes_the_will(tmp_path, broker):
    sub = Sub(broker, "reader", PASSWORDS["reader"])
    assert sub.wait_connected() == 0
    t = mqtt_ternd(tmp_path, broker, password_conf(tmp_path, broker, pop="pop2"))
    t.start()
    try:
        sub.wait("tern/pop2/running", "set")
        sub.wait("tern/pop2/crashed", "clear")
        t0 = time.time()
        t.proc.send_signal(signal.SIGKILL)
        t.proc.wait(10)
        p = sub.wait("tern/pop2/crashed", "set", timeout=5)
        assert time.time() - t0 < 2, time.time() - t0  # the broker sees the socket close at once
        assert p["condition"] == "crashed" and p["arguments"] == {}, p
        late = Sub(broker, "reader", PASSWORDS["reader"])
        assert late.wait_connected() == 0
        late.wait("tern/pop2/crashed", "set", retained=True)
        late.close()
        # started again: crashed cleared
        n = len(sub.messages())
        t.start()
        end = time.time() + 15
        while not any(t_ == "tern/pop2/crashed" and p_["state"] == "clear" for t_, p_, _ in sub.messages()[n:]):
            assert time.time() < end, sub.messages()[n:]
            time.sleep(0.05)
    finally:
        sub.close()
        t.stop()


def test_the_broker_refuses_and_the_acl_hides(tmp_path, broker, pki):
    t = mqtt_ternd(tmp_path, broker, password_conf(tmp_path, broker, pop="pop3"))
    t.start()
    try:
        reader = Sub(broker, "reader", PASSWORDS["reader"])
        assert reader.wait_connected() == 0
        reader.wait("tern/pop3/running", "set")
        assert Sub(broker).wait_connected() == 5  # anonymous: not authorised
        assert Sub(broker, "reader", "wrong").wait_connected() in (4, 5)  # bad user name or password
        nobody = Sub(broker, "nobody", PASSWORDS["nobody"])
        assert nobody.wait_connected() == 0
        time.sleep(1.5)
        assert nobody.messages() == [], nobody.messages()  # its ACL allows nothing
        nobody.close()
        # TLS: a certificate from the CA is a user (reader); none is dropped in the handshake
        tls = Sub(broker, tls={"ca_certs": str(pki / "ca.crt"), "certfile": str(pki / "reader.crt"),
                               "keyfile": str(pki / "reader.key")})
        assert tls.wait_connected() == 0
        tls.wait("tern/pop3/running", "set", retained=True)
        tls.close()
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            bare = mqtt.Client(client_id="bare")
            bare.tls_set(ca_certs=str(pki / "ca.crt"))
            bare.connect("127.0.0.1", broker.tls_port, keepalive=5)
            bare.loop(2)
            for _ in range(20):
                assert bare.loop(0.1) == mqtt.MQTT_ERR_SUCCESS
        reader.close()
    finally:
        t.stop()


def test_ternd_refused_logs_why_and_answers(tmp_path, broker):
    conf = password_conf(tmp_path, broker, pop="pop4")
    t = mqtt_ternd(tmp_path, broker, conf)
    (tmp_path / "ternd.pw").write_text("not-the-password\n")
    t.start()
    try:
        wait_log(t.log_text, "refused the connection: Connection Refused: not authorised.", timeout=10)
        assert t.query("www.file.test.").answer  # answering all the same
    finally:
        assert t.stop() == 0


def test_tls_client_certificate_and_broker_up_late(tmp_path, pki):
    broker = Broker(tmp_path / "broker", pki)  # not started yet
    conf = {"broker": "\"mqtts://127.0.0.1:%d\"" % broker.tls_port, "pop": "pop5",
            "ca-file": str(pki / "ca.crt"), "cert-file": str(pki / "ternd-tls.crt"),
            "key-file": str(pki / "ternd-tls.key"), "keepalive": 5}
    t = mqtt_ternd(tmp_path, broker, conf)
    t.start()
    try:
        assert t.query("www.file.test.").answer  # the broker down never blocks answering
        wait_log(t.log_text, "signals: mqtt: mqtts://127.0.0.1:%d: cannot connect" % broker.tls_port)
        time.sleep(1)
        broker.start()
        sub = Sub(broker, "reader", PASSWORDS["reader"])
        assert sub.wait_connected() == 0
        sub.wait("tern/pop5/running", "set", timeout=40)
        p = sub.wait("tern/pop5/zone-ready/file.test", "set")
        assert p["arguments"] == {"serial": "1"}, p
        sub.wait("tern/pop5/all-zones-ready", "set")
        # a reload (the configuration read before is freed: ternd keeps its own copy of the broker)
        t.reload()
        time.sleep(1)
        # the broker restarts (no persistence): the state is republished
        broker.stop()
        sub.close()
        broker.start()
        sub = Sub(broker, "reader", PASSWORDS["reader"])
        assert sub.wait_connected() == 0
        sub.wait("tern/pop5/running", "set", timeout=40)
        sub.wait("tern/pop5/all-zones-ready", "set")
        sub.close()
        assert "ternd-tls" in broker.log_text()
    finally:
        t.stop()
        broker.stop()


@pytest.mark.parametrize("keys, message", [
    ({"broker": "\"http://127.0.0.1:1883\""}, "signals.mqtt.broker: \"http://127.0.0.1:1883\" is not an MQTT URL"),
    ({"broker": "\"mqtt://127.0.0.1:99999\""}, "signals.mqtt.broker: \"mqtt://127.0.0.1:99999\" has a bad port"),
    ({"broker": "\"mqtt://127.0.0.1/x\""}, "has something after HOST:PORT"),
    ({"broker": "\"mqtt://192.0.2.1\""}, "is MQTT without TLS to a broker not on loopback"),
    ({"broker": "\"mqtt://[::1\""}, "has a bad IPv6 address"),
    ({"broker": "\"mqtt://:1883\""}, "has no host"),
    ({"broker": "\"mqtts://192.0.2.1\"", "ca-file": "%(dir)s/missing.crt"},
     "signals.mqtt.ca-file: \"%(dir)s"),
    ({"broker": "\"mqtts://192.0.2.1\"", "cert-file": "%(dir)s/ternd.pw", "username": None,
      "password-file": None}, "signals.mqtt.key-file: missing"),
    ({"username": None, "password-file": None}, "signals.mqtt.username: missing (an anonymous broker is refused"),
    ({"password-file": None}, "signals.mqtt.password-file: missing"),
    ({"password-file": "%(dir)s/nope"}, "signals.mqtt.password-file: \"%(dir)s"),
    ({"pop": "\"a/b\""}, "signals.mqtt.pop: \"a/b\" is not a PoP name"),
    ({"keepalive": 2}, "signals.mqtt.keepalive: 2 is"),
])
def test_bad_mqtt_keys_are_named_by_check(tmp_path, keys, message):
    (tmp_path / "ternd.pw").write_text("x\n")
    conf = {"broker": "\"mqtt://127.0.0.1:1883\"", "username": "ternd", "password-file": str(tmp_path / "ternd.pw")}
    conf.update(keys)
    text = 'server:\n  listen: ["127.0.0.1@%d"]\nsignals:\n  mqtt:\n' % free_port()
    text += "".join("    %s: %s\n" % (k, v % {"dir": tmp_path} if isinstance(v, str) else v)
                    for k, v in conf.items() if v is not None)
    (tmp_path / "ternd.yaml").write_text(text)
    r = subprocess.run([TERND, "--check", "-c", str(tmp_path / "ternd.yaml")], capture_output=True, text=True,
                       timeout=30)
    message = message % {"dir": str(tmp_path)[:40]}
    assert r.returncode == 1 and message in r.stderr, r.stderr


def test_insecure_allows_plain_mqtt_off_loopback(tmp_path):
    (tmp_path / "ternd.pw").write_text("x\n")
    (tmp_path / "ternd.yaml").write_text(
        'server:\n  listen: ["127.0.0.1@%d"]\nsignals:\n  mqtt:\n    broker: "mqtt://192.0.2.1"\n'
        '    username: ternd\n    password-file: %s\n    insecure: true\n' % (free_port(), tmp_path / "ternd.pw"))
    r = subprocess.run([TERND, "--check", "-c", str(tmp_path / "ternd.yaml")], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr


def test_a_broker_down_drops_the_oldest_beyond_the_bound_and_counts(tmp_path):
    """5,000 zones ready while the broker is down: 4,096 messages wait, the rest are counted in
    tern_signals_dropped_total, and ternd answers all along."""
    (tmp_path / "z.zone").write_text("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    (tmp_path / "ternd.pw").write_text("x\n")
    port, api = free_port(), free_port()
    zones = "".join("  - name: z%d.test\n    file: z.zone\n" % i for i in range(5000))
    (tmp_path / "ternd.yaml").write_text(
        'server:\n  listen: ["127.0.0.1@%d"]\napi:\n  listen: "127.0.0.1@%d"\nzones:\n%s'
        'signals:\n  mqtt:\n    broker: "mqtt://127.0.0.1:%d"\n    username: ternd\n    password-file: ternd.pw\n' % (
            port, api, zones, free_port()))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(tmp_path / "ternd.yaml")], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_log(lambda: open(tmp_path / "ternd.log").read(), "all zones served", timeout=120)
        end = time.time() + 20
        while True:
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % api, timeout=5).read().decode()
            dropped = [int(l.split()[1]) for l in text.splitlines() if l.startswith("tern_signals_dropped_total ")]
            assert dropped, text
            if dropped[0] >= 5000 + 2 - 4096:  # zone-ready of each zone, running, all-zones-ready
                break
            assert time.time() < end, dropped
            time.sleep(0.2)
        assert "# TYPE tern_signals_dropped_total counter" in text
        q = dns.query.udp(dns.message.make_query("z4999.test.", "SOA"), "127.0.0.1", port=port, timeout=3)
        assert q.rcode() == dns.rcode.NOERROR and q.answer, q
    finally:
        terminate(proc)
        out.close()


def test_thousands_of_zones_reach_the_broker(tmp_path, broker):
    """3,000 zones ready at start: every zone-ready reaches the broker (ternd hands the library at
    most 64 unacknowledged messages at a time, the rest wait in its bounded list); after the broker
    restarts empty, every zone-ready reaches it again (a walk of the zones in steps)."""
    (tmp_path / "z.zone").write_text("$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    sub = Sub(broker, "reader", PASSWORDS["reader"])
    assert sub.wait_connected() == 0
    t = mqtt_ternd(tmp_path, broker, password_conf(tmp_path, broker, pop="pop6"),
                   zones={"z%d.test" % i: str(tmp_path / "z.zone") for i in range(3000)})
    t.start()
    try:
        sub.wait("tern/pop6/all-zones-ready", "set", timeout=60)
        end = time.time() + 30
        while len({m[0] for m in sub.messages() if m[0].startswith("tern/pop6/zone-ready/")}) < 3000:
            assert time.time() < end, len(sub.messages())
            time.sleep(0.1)
        # the broker restarts and forgets what was retained (persistence false): once ternd is back,
        # zone-ready of each zone is there again (walked from the zones, not kept in the table)
        sub.close()
        broker.stop()
        broker.start()
        sub = Sub(broker, "reader", PASSWORDS["reader"])
        assert sub.wait_connected() == 0
        sub.wait("tern/pop6/crashed", "clear", timeout=30)
        end = time.time() + 60
        while len({m[0] for m in sub.messages() if m[0].startswith("tern/pop6/zone-ready/")}) < 3000:
            assert time.time() < end, len(sub.messages())
            time.sleep(0.1)
        late = Sub(broker, "reader", PASSWORDS["reader"])
        assert late.wait_connected() == 0
        late.wait("tern/pop6/zone-ready/z2999.test", "set", retained=True)
        late.wait("tern/pop6/all-zones-ready", "set", retained=True)
        late.close()
    finally:
        sub.close()
        assert t.stop() == 0
