"""Out-of-protocol signalling (issue 21), the D-Bus channel: ternd on a private dbus-daemon (a unix
socket in the test's directory, its configuration including the shipped dist/org.tern.ternd.conf)
owns org.tern.ternd and emits, on /org/tern/ternd, org.tern.ternd.conditions.condition (s condition,
s state, s zone, a{ss} arguments, x time) for each condition set and cleared, and Knot's members
with Knot's types on org.tern.ternd.events: started () and stopped () with running, zone_updated
(s zone, u serial) with zone-updated. dbus-monitor reads them with their types. Without the policy
the bus refuses the name and ternd says so; with no bus at start ternd answers, logs it once,
counts what it could not send and connects on a later signal once the bus is there."""
import os
import re
import shutil
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from apilib import ApiTernd, keys  # noqa: F401 (a fixture)
from signallab import bus_config, zone_text
from ternlib import TERND, Ternd, free_port, terminate

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
POLICY = os.path.join(ROOT, "dist", "org.tern.ternd.conf")

pytestmark = pytest.mark.skipif(not shutil.which("dbus-daemon") or not shutil.which("dbus-monitor"),
                                reason="dbus-daemon and dbus-monitor (make deps) are needed")


class Bus:
    """A private dbus-daemon and a dbus-monitor on it, the monitor's output parsed into messages."""

    def __init__(self, tmp_path, policy=True, socket=None):
        self.socket = socket or str(tmp_path / "bus.sock")
        self.address = "unix:path=%s" % self.socket
        conf = bus_config(tmp_path, self.socket, POLICY if policy else None)
        self.daemon = subprocess.Popen(["dbus-daemon", "--nofork", "--nopidfile", "--config-file=%s" % conf],
                                       stdout=subprocess.DEVNULL, stderr=open(tmp_path / "bus.log", "a"))
        end = time.time() + 10
        while not os.path.exists(self.socket):
            assert self.daemon.poll() is None, "dbus-daemon exited: %s" % (tmp_path / "bus.log").read_text()
            assert time.time() < end, "dbus-daemon did not listen"
            time.sleep(0.02)
        self.out_path = tmp_path / ("monitor-%d.txt" % self.daemon.pid)
        self.monitor = subprocess.Popen(["dbus-monitor", "--address", self.address, "--monitor",
                                         "type='signal',path='/org/tern/ternd'"],
                                        stdout=open(self.out_path, "w"), stderr=subprocess.STDOUT)
        time.sleep(0.3)  # the monitor is registered before anything is sent

    def messages(self):
        return parse_monitor(self.out_path.read_text())

    def wait(self, pred, what, timeout=20):
        end = time.time() + timeout
        while True:
            for m in self.messages():
                if pred(m):
                    return m
            assert time.time() < end, "no %s on the bus:\n%s" % (what, self.out_path.read_text()[-4000:])
            time.sleep(0.05)

    def owner(self, name):
        r = subprocess.run(["dbus-send", "--bus=%s" % self.address, "--print-reply", "--type=method_call",
                            "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus.GetNameOwner", "string:%s" % name],
                           capture_output=True, text=True, timeout=10)
        m = re.search(r'string "([^"]*)"', r.stdout)
        return m.group(1) if r.returncode == 0 and m else None

    def stop(self):
        terminate(self.monitor, 5)
        terminate(self.daemon, 5)


HEADER = re.compile(r"^signal time=\S+ sender=(\S+) -> destination=.*? serial=\d+ path=([^;]+); "
                    r"interface=([^;]+); member=(\S+)$")


def parse_value(lines, i):
    """One value printed by dbus-monitor from lines[i]: (type, value), next index."""
    s = lines[i].strip()
    if s.startswith("string "):
        return ("s", s[len('string "'):-1]), i + 1
    for word, code in (("int64 ", "x"), ("uint32 ", "u"), ("int32 ", "i"), ("uint16 ", "q")):
        if s.startswith(word):
            return (code, int(s[len(word):])), i + 1
    if s == "array [":
        items, i = [], i + 1
        while lines[i].strip() != "]":
            v, i = parse_value(lines, i)
            items.append(v)
        return ("a", items), i + 1
    if s == "dict entry(":
        k, i = parse_value(lines, i + 1)
        v, i = parse_value(lines, i)
        assert lines[i].strip() == ")", lines[i]
        return ("e", (k, v)), i + 1
    raise AssertionError("dbus-monitor printed %r" % s)


def parse_monitor(text):
    """[{sender, path, interface, member, args: [(type, value)...]}] of the signals printed."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        m = HEADER.match(lines[i])
        i += 1
        if not m:
            continue
        body = []
        while i < len(lines) and lines[i].startswith("   "):
            body.append(lines[i])
            i += 1
        if i >= len(lines):  # still being written
            break
        args, j = [], 0
        while j < len(body):
            v, j = parse_value(body, j)
            args.append(v)
        out.append({"sender": m.group(1), "path": m.group(2), "interface": m.group(3), "member": m.group(4),
                    "args": args})
    return out


def condition(m, name, state, zone=""):
    """Whether m is the generic member for (name, state, zone), its signature s s s a{ss} x checked."""
    if m["interface"] != "org.tern.ternd.conditions" or m["member"] != "condition":
        return False
    a = m["args"]
    types = [t for t, _ in a]
    assert types == ["s", "s", "s", "a", "x"], m
    assert all(t == "e" and k[0] == "s" and v[0] == "s" for t, (k, v) in a[3][1]), m
    assert abs(a[4][1] - time.time()) < 120, m  # Unix seconds
    return (a[0][1], a[1][1], a[2][1]) == (name, state, zone)


def arguments(m):
    return {k[1]: v[1] for _, (k, v) in m["args"][3][1]}


def knot(m, member):
    return m["interface"] == "org.tern.ternd.events" and m["member"] == member


def soa(port, name):
    return dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=2)


def write_config(tmp_path, port, bus, zones, secondary=None):
    text = 'server:\n  listen: ["127.0.0.1@%d"]\nzones:\n' % port
    for z in zones:
        text += "  - name: %s\n    file: %s.zone\n" % (z, z)
    if secondary:
        text += '  - name: %s\n    primary: ["127.0.0.1@%d"]\n    file: copy/%s.zone\n' % (
            secondary[0], secondary[1], secondary[0])
    text += "signals:\n  drain-delay: 1\n  dbus:\n    enabled: true\n    bus: \"%s\"\n" % bus
    (tmp_path / "ternd.yaml").write_text(text)
    return tmp_path / "ternd.yaml"


def test_every_condition_on_the_bus_with_knots_members(tmp_path):
    bus = Bus(tmp_path)
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    (tmp_path / "b.test.zone").write_text(zone_text("b.test", 4))
    (tmp_path / "slow.test.zone").write_text(zone_text("slow.test", 7))
    port, primary_port = free_port(), free_port()
    conf = write_config(tmp_path, port, bus.address, ["a.test", "b.test"], ("slow.test", primary_port))
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=open(tmp_path / "ternd.log", "w"),
                            stderr=subprocess.STDOUT, cwd=str(tmp_path))
    primary = None
    try:
        started = bus.wait(lambda m: knot(m, "started"), "started")
        assert started["args"] == [], started
        running = bus.wait(lambda m: condition(m, "running", "set"), "running set")
        assert arguments(running) == {}
        # the signals come from the owner of org.tern.ternd
        assert bus.owner("org.tern.ternd") == running["sender"] == started["sender"]
        ready = bus.wait(lambda m: condition(m, "zone-ready", "set", "b.test."), "zone-ready b.test.")
        assert arguments(ready) == {"serial": "4"}
        failed = bus.wait(lambda m: condition(m, "refresh-failed", "set", "slow.test."), "refresh-failed")
        args = arguments(failed)
        assert args["primary"] == "127.0.0.1@%d" % primary_port and int(args["attempts"]) >= 1, args
        assert not any(condition(m, "all-zones-ready", "set") for m in bus.messages())
        # the primary comes up: refresh-failed cleared, all zones ready
        primary = Ternd({"slow.test": str(tmp_path / "slow.test.zone")}, port=primary_port)
        with open(primary.config, "a") as f:
            f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % port)
        primary.start()
        bus.wait(lambda m: condition(m, "refresh-failed", "clear", "slow.test."), "refresh-failed clear")
        done = bus.wait(lambda m: condition(m, "all-zones-ready", "set"), "all-zones-ready set")
        assert arguments(done) == {"zones": "3"}
        # a new serial: zone-updated (an event) and Knot's zone_updated (s zone, u serial)
        (tmp_path / "a.test.zone").write_text(zone_text("a.test", 2))
        proc.send_signal(signal.SIGHUP)
        upd = bus.wait(lambda m: condition(m, "zone-updated", "event", "a.test."), "zone-updated")
        assert arguments(upd) == {"serial": "2"}
        ku = bus.wait(lambda m: knot(m, "zone_updated"), "Knot's zone_updated")
        assert ku["args"] == [("s", "a.test."), ("u", 2)], ku
        # a zone left out of the configuration: zone-ready cleared
        conf = write_config(tmp_path, port, bus.address, ["a.test"], ("slow.test", primary_port))
        proc.send_signal(signal.SIGHUP)
        bus.wait(lambda m: condition(m, "zone-ready", "clear", "b.test."), "zone-ready clear")
        # SIGTERM: shutting-down while answering, then all-zones-ready and running cleared, stopped
        proc.terminate()
        bus.wait(lambda m: condition(m, "shutting-down", "set"), "shutting-down", timeout=5)
        assert soa(port, "a.test.").rcode() == dns.rcode.NOERROR
        bus.wait(lambda m: condition(m, "running", "clear"), "running clear")
        stopped = bus.wait(lambda m: knot(m, "stopped"), "stopped")
        assert stopped["args"] == []
        assert proc.wait(10) == 0
        order = [(m["member"],) + tuple(v for _, v in m["args"][:2])
                 for m in bus.messages() if m["interface"].startswith("org.tern.ternd.")]
        assert order.index(("condition", "shutting-down", "set")) < order.index(("condition", "running", "clear"))
        assert order.index(("condition", "all-zones-ready", "clear")) < order.index(("stopped",))
        log = (tmp_path / "ternd.log").read_text()
        assert "org.tern.ternd emits on /org/tern/ternd" in log and "signals not sent" not in log, log
    finally:
        terminate(proc)
        if primary:
            primary.stop()
        bus.stop()


def test_without_the_policy_the_name_is_refused_and_said(tmp_path):
    bus = Bus(tmp_path, policy=False)
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    port = free_port()
    conf = write_config(tmp_path, port, bus.address, ["a.test"])
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=open(tmp_path / "ternd.log", "w"),
                            stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        end = time.time() + 10
        while "signals: D-Bus" not in (tmp_path / "ternd.log").read_text():
            assert time.time() < end, (tmp_path / "ternd.log").read_text()
            time.sleep(0.05)
        assert soa(port, "a.test.").rcode() == dns.rcode.NOERROR
        log = (tmp_path / "ternd.log").read_text()
        assert "not allowed to own" in log and "org.tern.ternd" in log, log
        assert bus.owner("org.tern.ternd") is None
        assert not [m for m in bus.messages() if m["interface"].startswith("org.tern.ternd")]
    finally:
        terminate(proc)
        bus.stop()


def test_policy_file_is_what_the_bus_reads(tmp_path):
    """The shipped file parses as dbus-daemon reads it; a broken copy is refused (so the check can fail)."""
    for policy, ok in ((POLICY, True), (None, False)):
        if policy is None:
            broken = tmp_path / "broken.conf"
            broken.write_text(open(POLICY).read().replace("</policy>", "", 1))
            policy = str(broken)
        conf = tmp_path / "check.conf"
        conf.write_text("<busconfig>\n  <type>custom</type>\n  <listen>unix:path=%s</listen>\n"
                        "  <include>%s</include>\n</busconfig>\n" % (tmp_path / "check.sock", policy))
        p = subprocess.Popen(["dbus-daemon", "--nofork", "--nopidfile", "--print-address",
                              "--config-file=%s" % conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            assert bool(line.startswith("unix:")) == ok, (policy, line, p.stderr.read() if not ok else "")
        finally:
            terminate(p, 5)


def test_no_bus_at_start_then_one(tmp_path, keys):  # noqa: F811
    sock = str(tmp_path / "late.sock")
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    (tmp_path / "ternd").mkdir()
    t = ApiTernd(keys, workdir=str(tmp_path / "ternd"), zones={"a.test": str(tmp_path / "a.test.zone")},
                 extra_server="")
    with open(t.config, "a") as f:
        f.write('signals:\n  dbus:\n    enabled: true\n    bus: "unix:path=%s"\n' % sock)
    t.start()
    bus = None
    try:
        assert soa(t.port, "a.test.").rcode() == dns.rcode.NOERROR
        end = time.time() + 10
        while "signals: D-Bus" not in t.log_text():
            assert time.time() < end, t.log_text()
            time.sleep(0.05)
        api = t.api(keys.token("ops", admin=True))
        state = api.get("/api/v1/signals").json
        assert state["dbus"]["connected"] is False and state["dbus"]["unsent"] >= 1, state
        # several signals meanwhile: still one line in the log
        for serial in (2, 3):
            (tmp_path / "a.test.zone").write_text(zone_text("a.test", serial))
            t.proc.send_signal(signal.SIGHUP)
            end = time.time() + 10
            while soa(t.port, "a.test.").answer[0][0].serial != serial:
                assert time.time() < end
                time.sleep(0.05)
        time.sleep(1.2)  # past the first backoff (1 s): the next zone-updated tries again, and fails
        (tmp_path / "a.test.zone").write_text(zone_text("a.test", 4))
        t.proc.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while api.get("/api/v1/signals").json["dbus"]["unsent"] < state["dbus"]["unsent"] + 3:
            assert time.time() < end, api.get("/api/v1/signals").json
            time.sleep(0.05)
        assert t.log_text().count("signals: D-Bus") == 1, t.log_text()
        # the bus comes: a later signal connects (after the backoff) and arrives
        bus = Bus(tmp_path, socket=sock)
        serial, end, got = 5, time.time() + 20, None
        while got is None:
            assert time.time() < end, t.log_text()
            (tmp_path / "a.test.zone").write_text(zone_text("a.test", serial))
            t.proc.send_signal(signal.SIGHUP)
            time.sleep(0.7)
            got = next((m for m in bus.messages() if condition(m, "zone-updated", "event", "a.test.")), None)
            serial += 1
        assert api.get("/api/v1/signals").json["dbus"]["connected"] is True
        # what the bus missed comes first: the conditions set now (running, all-zones-ready)
        msgs = [m for m in bus.messages() if m["interface"] == "org.tern.ternd.conditions"]
        first = [tuple(v for _, v in m["args"][:3]) for m in msgs]
        assert first[:2] == [("running", "set", ""), ("all-zones-ready", "set", "")], first
        assert arguments(msgs[1]) == {"zones": "1"}
        assert "org.tern.ternd emits on" in t.log_text()
    finally:
        t.stop()
        if bus:
            bus.stop()


@pytest.mark.parametrize("value, message", [
    ('"sytem"', 'signals.dbus.bus: "sytem" is not system, session or a D-Bus address'),
    ('"unix:path"', 'signals.dbus.bus: "unix:path" is not system, session or a D-Bus address'),
    ('"unix:path=/x,"', 'is not system, session or a D-Bus address'),
    ('""', 'signals.dbus.bus'),
])
def test_bad_bus_is_named_by_check(tmp_path, value, message):
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nsignals:\n  dbus:\n    enabled: true\n    bus: %s\n' % (
        free_port(), value))
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nsignals:\n  dbus:\n    enabled: true\n'
                    '    bus: "unix:path=/run/x;tcp:host=127.0.0.1,port=5"\n' % free_port())
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_a_bus_that_never_answers_costs_a_deadline(tmp_path):
    """A socket that accepts and says nothing (a stuck bus): the dispatcher gives up within its 1 s
    deadline, logs it, and the hooks after it still run."""
    import socket as socketlib
    sock = str(tmp_path / "stuck.sock")
    stuck = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    stuck.bind(sock)
    stuck.listen(16)
    hook_log = tmp_path / "hook.log"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho \"$*\" >> %s\n" % hook_log)
    hook.chmod(0o755)
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    port = free_port()
    conf = write_config(tmp_path, port, "unix:path=%s" % sock, ["a.test"])
    with open(conf, "a") as f:
        f.write("  hooks:\n    - condition: running\n      exec: %s\n" % hook)
    t0 = time.time()
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=open(tmp_path / "ternd.log", "w"),
                            stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        end = time.time() + 15
        while not hook_log.exists() or "running set" not in hook_log.read_text():
            assert time.time() < end, (tmp_path / "ternd.log").read_text()
            time.sleep(0.02)
        took = time.time() - t0
        log = (tmp_path / "ternd.log").read_text()
        assert "signals: D-Bus" in log and "no authentication within the deadline" in log, log
        assert soa(port, "a.test.").rcode() == dns.rcode.NOERROR
        print("running hook %.2f s after start behind a stuck bus" % took)
        assert took < 6, took
    finally:
        terminate(proc)
        stuck.close()


def test_reload_turns_the_channel_on_and_off(tmp_path):
    bus = Bus(tmp_path)
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    port = free_port()
    conf = write_config(tmp_path, port, bus.address, ["a.test"])
    off = conf.read_text().replace("enabled: true", "enabled: false")
    on = conf.read_text()
    conf.write_text(off)
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=open(tmp_path / "ternd.log", "w"),
                            stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        end = time.time() + 10
        while "ready:" not in (tmp_path / "ternd.log").read_text():
            assert time.time() < end
            time.sleep(0.05)
        time.sleep(0.3)
        assert bus.owner("org.tern.ternd") is None and not bus.messages()[2:]  # NameAcquired/Lost only
        # on: the next change is on the bus
        conf.write_text(on)
        (tmp_path / "a.test.zone").write_text(zone_text("a.test", 2))
        proc.send_signal(signal.SIGHUP)
        upd = bus.wait(lambda m: condition(m, "zone-updated", "event", "a.test."), "zone-updated after the reload")
        assert bus.owner("org.tern.ternd") == upd["sender"]
        # off: the name is given back at the reload, with no signal to wait for
        conf.write_text(off)
        proc.send_signal(signal.SIGHUP)
        end = time.time() + 10
        while bus.owner("org.tern.ternd") is not None:
            assert time.time() < end, (tmp_path / "ternd.log").read_text()
            time.sleep(0.1)
    finally:
        terminate(proc)
        bus.stop()
