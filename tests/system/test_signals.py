"""Out-of-protocol signalling (issue 21), the exec-hook channel and GET /api/v1/signals: ternd with a
zone file and a secondary zone whose primary is down signals running, zone-ready for the file,
refresh-failed (zone, primary, error, attempts) for the secondary and no all-zones-ready; once the
primary is up, refresh-failed is cleared, the secondary is zone-ready and all-zones-ready is set; a
new serial after SIGHUP is a zone-updated event; on SIGTERM shutting-down comes while the DNS port
still answers (signals.drain-delay), then running is cleared. Each hook gets the documented argv
and environment; the state reads back through the API (admin tokens only). Bad hooks are named by
--check."""
import os
import shutil
import stat
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from apilib import ApiTernd, keys  # noqa: F401 (a fixture)
from ternlib import TERND, Ternd, free_port, terminate, zone_text


HOOK = """#!/bin/sh
printf '%%s|%%s|%%s|%%s|%%s\\n' "$*" "$TERN_CONDITION" "$TERN_STATE" "$TERN_ZONE" "$TERN_SERIAL$TERN_ATTEMPTS" >> %s
"""


class HookLog:
    """The lines a hook program (HOOK, made in tmp_path/hook.sh by in_dir) appended, split on |."""

    def __init__(self, path):
        self.path = path

    @classmethod
    def in_dir(cls, tmp_path):
        """(HookLog, the hook's path)."""
        hook = tmp_path / "hook.sh"
        hook.write_text(HOOK % (tmp_path / "hook.log"))
        hook.chmod(0o755)
        return cls(tmp_path / "hook.log"), hook

    def lines(self):
        try:
            with open(self.path) as f:
                return [line.rstrip("\n").split("|") for line in f]
        except FileNotFoundError:
            return []

    def wait(self, pred, what, timeout=20):
        end = time.time() + timeout
        while True:
            for line in self.lines():
                if pred(line):
                    return line
            assert time.time() < end, "no %s in the hook's log:\n%s" % (what, "\n".join(map(str, self.lines())))
            time.sleep(0.05)

    def wait_count(self, argv, n, timeout=10):
        """Until argv has come n times."""
        end = time.time() + timeout
        while [line[0] for line in self.lines()].count(argv) < n:
            assert time.time() < end, "%s not %d times in the hook's log:\n%s" % (argv, n, self.lines())
            time.sleep(0.05)

    def has(self, argv_prefix):
        return any(line[0].startswith(argv_prefix) for line in self.lines())


def soa(port, name):
    return dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=2)


def test_conditions_reach_the_hook_and_the_api(tmp_path, keys):  # noqa: F811
    h, hook = HookLog.in_dir(tmp_path)
    (tmp_path / "file.test.zone").write_text(zone_text("file.test"))
    (tmp_path / "slow.test.zone").write_text(zone_text("slow.test", 7))
    primary_port = free_port()
    (tmp_path / "ternd").mkdir()
    t = ApiTernd(keys, workdir=str(tmp_path / "ternd"), zones={"file.test": str(tmp_path / "file.test.zone")},
                 extra_server="")
    with open(t.config) as f:
        text = f.read()
    assert "\nzones:\n" in text, text
    text = text.replace("\nzones:\n", "\nzones:\n  - name: slow.test\n    primary: [\"127.0.0.1@%d\"]\n    file: %s\n" % (
        primary_port, tmp_path / "copy" / "slow.test.zone"), 1)
    text += "signals:\n  drain-delay: 1.5\n  hooks:\n    - condition: \"*\"\n      exec: %s\n" % hook
    with open(t.config, "w") as f:
        f.write(text)
    t.start()
    primary = None
    try:
        h.wait(lambda l: l[0] == "running set", "running set")
        h.wait(lambda l: l[0] == "zone-ready set serial=1" and l[3] == "file.test.", "file.test zone-ready")
        line = h.wait(lambda l: l[0].startswith("refresh-failed set primary=127.0.0.1@%d" % primary_port),
                      "refresh-failed")
        assert line[1:4] == ["refresh-failed", "set", "slow.test."] and "attempts=1" in line[0], line
        assert line[4] == "1", line  # TERN_ATTEMPTS
        assert not h.has("all-zones-ready"), h.lines()
        api = t.api(keys.token("ops", admin=True))
        r = api.get("/api/v1/signals")
        assert r.status == 200, r
        conds = {(c["condition"], c.get("zone")): c for c in r.json["conditions"]}
        assert conds[("running", None)]["state"] == "set"
        assert conds[("refresh-failed", "slow.test.")]["arguments"]["attempts"] >= "1"
        assert ("all-zones-ready", None) not in conds or conds[("all-zones-ready", None)]["state"] == "clear"
        assert r.json["zones-ready"] >= 1
        assert api.get("/api/v1/signals", token="").status == 401
        assert api.get("/api/v1/signals", token=keys.token("tenant1")).status == 403
        # the primary comes up: the secondary is transferred, refresh-failed cleared, all ready
        primary = Ternd({"slow.test": str(tmp_path / "slow.test.zone")}, port=primary_port)
        with open(primary.config, "a") as f:
            f.write("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % t.port)
        primary.start()
        h.wait(lambda l: l[0] == "refresh-failed clear" and l[3] == "slow.test.", "refresh-failed clear")
        h.wait(lambda l: l[0] == "zone-ready set serial=7" and l[3] == "slow.test.", "slow.test zone-ready")
        line = h.wait(lambda l: l[0].startswith("all-zones-ready set"), "all-zones-ready")
        assert line[0] == "all-zones-ready set zones=2", line
        order = [l[0].split()[0] for l in h.lines()]
        assert order.index("all-zones-ready") > max(i for i, c in enumerate(order) if c == "zone-ready"), order
        r = api.get("/api/v1/signals")
        conds = {(c["condition"], c.get("zone")): c for c in r.json["conditions"]}
        assert conds[("all-zones-ready", None)]["state"] == "set" and ("refresh-failed", "slow.test.") not in conds
        # a new version: zone-updated, an event
        (tmp_path / "file.test.zone").write_text(zone_text("file.test", 2))
        t.proc.send_signal(1)
        h.wait(lambda l: l[0] == "zone-updated event serial=2" and l[3] == "file.test.", "zone-updated")
        # SIGTERM: shutting-down while the DNS port still answers, then running cleared
        t.proc.terminate()
        h.wait(lambda l: l[0] == "shutting-down set", "shutting-down", timeout=5)
        assert t.proc.poll() is None
        assert soa(t.port, "file.test.").rcode() == dns.rcode.NOERROR  # still answering (drain-delay)
        t.proc.wait(10)
        assert t.proc.returncode == 0
        lines = [l[0] for l in h.lines()]
        assert lines.index("shutting-down set") < lines.index("running clear"), lines
    finally:
        if primary:
            primary.stop()
        t.stop()


@pytest.mark.parametrize("hook, message", [
    ('    - condition: zone-redy\n      exec: /bin/true\n', 'signals.hooks[0].condition: "zone-redy" is not a condition'),
    ('    - condition: running\n      exec: %(dir)s/not-executable\n',
     'signals.hooks[0].exec: "%(dir)s'),
    ('    - condition: running\n      exec: %(dir)s/missing\n', 'is not an executable file'),
    ('    - condition: running\n      exec: /bin/true\n      timeout: -1\n', 'signals.hooks[0].timeout'),
    ('    - exec: /bin/true\n', 'signals.hooks[0].condition: missing required key'),
])
def test_bad_hooks_are_named_by_check(tmp_path, hook, message):
    (tmp_path / "not-executable").write_text("#!/bin/sh\n")
    os.chmod(tmp_path / "not-executable", stat.S_IRUSR | stat.S_IWUSR)
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nsignals:\n  hooks:\n%s' % (
        free_port(), hook % {"dir": tmp_path}))
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    message = message % {"dir": str(tmp_path)[:40]}
    assert r.returncode == 1 and message in r.stderr, r.stderr
    if "%(dir)s" in hook:
        assert "is not an executable file" in r.stderr, r.stderr


def test_a_hook_that_hangs_is_killed_and_the_next_runs(tmp_path):
    log = tmp_path / "hook.log"
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    fast = tmp_path / "fast.sh"
    fast.write_text(HOOK % log)
    fast.chmod(0o755)
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    port = free_port()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: a.test\n    file: a.test.zone\n'
                    'signals:\n  hooks:\n    - condition: running\n      exec: %s\n      timeout: 0.3\n'
                    '    - condition: running\n      exec: %s\n' % (port, slow, fast))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        t0 = time.time()
        HookLog(log).wait(lambda l: l[0] == "running set", "running set after the killed hook", timeout=10)
        assert time.time() - t0 < 8
        assert soa(port, "a.test.").rcode() == dns.rcode.NOERROR  # answering all along
        text = open(tmp_path / "ternd.log").read()
        assert "signals: hook %s (running set) killed after 300 ms" % slow in text, text
    finally:
        terminate(proc)
        out.close()


def test_zone_expiring_then_expired_then_back(tmp_path):
    """A secondary zone (SOA refresh 1, retry 1, expire 6) whose primary stops: zone-expiring set
    signals.zone-expiring-lead (3 s) before the expiry, then at the expiry zone-ready and
    all-zones-ready cleared; the primary back: zone-expiring cleared, the zone ready again and
    all-zones-ready set again."""
    h, hook = HookLog.in_dir(tmp_path)
    (tmp_path / "exp.test.zone").write_text(
        "$ORIGIN exp.test.\n$TTL 300\n@ SOA ns1 hostmaster 5 1 1 6 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    primary_port, port = free_port(), free_port()
    primary = Ternd({"exp.test": str(tmp_path / "exp.test.zone")}, port=primary_port)
    with open(primary.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    primary.start()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: exp.test\n    primary: ["127.0.0.1@%d"]\n'
                    '    file: %s\nsignals:\n  zone-expiring-lead: 3\n  hooks:\n    - condition: "*"\n      exec: %s\n'
                    % (port, primary_port, tmp_path / "copy" / "exp.test.zone", hook))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        h.wait(lambda l: l[0] == "all-zones-ready set zones=1", "all-zones-ready")
        primary.stop()
        t0 = time.time()
        line = h.wait(lambda l: l[0].startswith("zone-expiring set"), "zone-expiring", timeout=15)
        assert line[3] == "exp.test." and "lead=3" in line[0], line
        lines = [l[0] for l in h.lines()]
        assert "zone-ready clear serial=5" not in lines, lines  # before the expiry
        assert soa(port, "exp.test.").rcode() == dns.rcode.NOERROR  # still served
        h.wait(lambda l: l[0] == "zone-ready clear serial=5", "zone-ready cleared at the expiry", timeout=15)
        h.wait(lambda l: l[0] == "all-zones-ready clear", "all-zones-ready cleared", timeout=5)
        assert time.time() - t0 < 12
        assert soa(port, "exp.test.").rcode() == dns.rcode.SERVFAIL
        primary.start()
        h.wait(lambda l: l[0] == "zone-expiring clear", "zone-expiring cleared", timeout=15)
        h.wait_count("zone-ready set serial=5", 2)
        h.wait_count("all-zones-ready set zones=1", 2)
    finally:
        terminate(proc)
        out.close()
        primary.stop()


def test_query_rates(tmp_path):
    """query-rate-high (threshold 50/s over a 2 s window) set under ~400 queries a second and
    cleared after the load stops; query-rate-rising (15/s per s) set on the step from nothing to
    that load, cleared once the rate holds steady."""
    h, hook = HookLog.in_dir(tmp_path)
    (tmp_path / "a.test.zone").write_text(zone_text("a.test"))
    port = free_port()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: a.test\n    file: a.test.zone\n'
                    'signals:\n  query-rate-high: 50\n  query-rate-rising: 15\n  query-rate-window: 2\n'
                    '  hooks:\n    - condition: "*"\n      exec: %s\n' % (port, hook))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        h.wait(lambda l: l[0] == "running set", "running")
        time.sleep(3)  # a quiet window first
        assert not h.has("query-rate"), h.lines()
        q = dns.message.make_query("www.a.test.", "A")
        end, sent = time.time() + 7, 0
        while time.time() < end:  # about 400 a second, paced
            t = time.time()
            dns.query.udp(q, "127.0.0.1", port=port, timeout=1)
            sent += 1
            lag = sent / 400.0 - (t - (end - 7))
            if lag > 0:
                time.sleep(lag)
        lines = [l[0] for l in h.lines()]
        high = [x for x in lines if x.startswith("query-rate-high set")]
        assert high, lines
        rate = int(high[0].split("rate=")[1].split()[0])
        assert rate >= 50 and "threshold=50" in high[0], high
        assert any(x.startswith("query-rate-rising set") for x in lines), lines
        h.wait(lambda l: l[0] == "query-rate-rising clear", "query-rate-rising cleared", timeout=5)
        h.wait(lambda l: l[0] == "query-rate-high clear", "query-rate-high cleared after the load", timeout=8)
        assert [x[0] for x in h.lines()].count("query-rate-high set rate=%d threshold=50" % rate) == 1
    finally:
        terminate(proc)
        out.close()


def sign(tmp_path, expire_in):
    """sig.test signed by dnssec-signzone, its signatures expiring expire_in seconds from now."""
    d = tmp_path / "sign"
    d.mkdir(exist_ok=True)
    if not list(d.glob("K*.private")):
        subprocess.run(["dnssec-keygen", "-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "-K", str(d), "sig.test"],
                       check=True, capture_output=True)
    key = next(d.glob("K*.key")).read_text()
    (d / "z").write_text(zone_text("sig.test") + key)
    r = subprocess.run(["dnssec-signzone", "-P", "-z", "-s", "now-60", "-e", "now+%d" % expire_in, "-o", "sig.test",
                        "-f", str(tmp_path / "sig.test.zone"), str(d / "z"), str(next(d.glob("K*.private")))],
                       capture_output=True, text=True, cwd=str(d))
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not shutil.which("dnssec-signzone"), reason="bind9-utils not installed")
def test_signatures_expiring(tmp_path):
    """A pre-signed zone file whose RRSIGs expire in 2 minutes, with signals.signatures-expiring-lead
    of an hour: signatures-expiring set at load (zone, owner, type, expires); signed again to expire
    in a day and reloaded: cleared; signed to expire in an hour and 6 s: set by the clock a few
    seconds after the reload."""
    h, hook = HookLog.in_dir(tmp_path)
    sign(tmp_path, 120)
    port = free_port()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: sig.test\n    file: sig.test.zone\n'
                    'signals:\n  signatures-expiring-lead: 3600\n  hooks:\n    - condition: signatures-expiring\n'
                    '      exec: %s\n' % (port, hook))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        line = h.wait(lambda l: l[0].startswith("signatures-expiring set"), "signatures-expiring set")
        assert line[3] == "sig.test." and "owner=" in line[0] and "type=" in line[0], line
        expires = int(line[0].split("expires=")[1].split()[0])
        assert 60 < expires - time.time() < 180, (expires, time.time())
        sign(tmp_path, 86400)
        proc.send_signal(1)
        h.wait(lambda l: l[0] == "signatures-expiring clear" and l[3] == "sig.test.", "signatures-expiring clear")
        # signatures that come within the lead later: set by the clock, not by a new version
        sign(tmp_path, 3600 + 6)
        proc.send_signal(1)
        time.sleep(2)
        assert [x[0] for x in h.lines()].count("signatures-expiring clear") == 1
        assert len([x for x in h.lines() if x[0].startswith("signatures-expiring set")]) == 1, h.lines()
        h.wait_count(h.lines()[0][0], 1)
        end = time.time() + 15
        while len([x for x in h.lines() if x[0].startswith("signatures-expiring set")]) < 2:
            assert time.time() < end, h.lines()
            time.sleep(0.1)
    finally:
        terminate(proc)
        out.close()


@pytest.mark.skipif(not shutil.which("dnssec-signzone"), reason="bind9-utils not installed")
def test_a_reloads_lead_judges_the_signed_zones_again(tmp_path):
    """sig.test's signatures expire in 2 hours: with signals.signatures-expiring-lead of an hour
    nothing is set; a reload to 3 hours sets signatures-expiring, with no new version of the zone;
    back to an hour clears it."""
    h, hook = HookLog.in_dir(tmp_path)
    sign(tmp_path, 7200)
    port = free_port()
    conf = tmp_path / "ternd.yaml"
    text = ('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: sig.test\n    file: sig.test.zone\n'
            'signals:\n  signatures-expiring-lead: %%d\n  hooks:\n    - condition: "*"\n      exec: %s\n'
            % (port, hook))
    conf.write_text(text % 3600)
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        h.wait(lambda l: l[0] == "all-zones-ready set zones=1", "all-zones-ready")
        time.sleep(1.5)  # a tick or so
        assert not h.has("signatures-expiring"), h.lines()
        conf.write_text(text % 10800)
        proc.send_signal(1)
        line = h.wait(lambda l: l[0].startswith("signatures-expiring set"), "set by the reload", timeout=10)
        assert line[3] == "sig.test.", line
        conf.write_text(text % 3600)
        proc.send_signal(1)
        h.wait(lambda l: l[0] == "signatures-expiring clear", "cleared by the reload", timeout=10)
        assert not any(l[0].startswith("zone-updated") for l in h.lines()), h.lines()
    finally:
        terminate(proc)
        out.close()


def ede_query(port, name):
    """A query with EDNS; the response's (rcode, EDE codes)."""
    r = dns.query.udp(dns.message.make_query(name, "SOA", use_edns=0), "127.0.0.1", port=port, timeout=2)
    return r.rcode(), [o.code for o in r.options if o.otype == 15]


def test_ede_of_an_expired_zone_set_then_cleared(tmp_path):
    """A secondary zone whose primary stops expires; its SERVFAILs carry EDE 24 (invalid data): ede
    set with the zone, code and the count of the 2 s interval, set at most once an interval under
    a flood, and cleared 3 s (signals.ede.quiet) after the last. Names of no zone of ours (REFUSED,
    EDE 20) set the ede without a zone; a code not listed (none here) sets nothing."""
    h, hook = HookLog.in_dir(tmp_path)
    (tmp_path / "exp.test.zone").write_text(
        "$ORIGIN exp.test.\n$TTL 300\n@ SOA ns1 hostmaster 5 1 1 4 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    primary_port, port = free_port(), free_port()
    primary = Ternd({"exp.test": str(tmp_path / "exp.test.zone")}, port=primary_port)
    with open(primary.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    primary.start()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: exp.test\n    primary: ["127.0.0.1@%d"]\n'
                    '    file: %s\nsignals:\n  ede:\n    codes: [24, 20]\n    interval: 2\n    quiet: 3\n'
                    '  hooks:\n    - condition: ede\n      exec: %s\n    - condition: all-zones-ready\n      exec: %s\n'
                    % (port, primary_port, tmp_path / "copy" / "exp.test.zone", hook, hook))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        h.wait(lambda l: l[0] == "all-zones-ready set zones=1", "all-zones-ready")
        primary.stop()
        h.wait(lambda l: l[0] == "all-zones-ready clear", "the expiry", timeout=15)
        assert not h.has("ede"), h.lines()
        for _ in range(5):
            assert ede_query(port, "www.exp.test.") == (dns.rcode.SERVFAIL, [24])
        line = h.wait(lambda l: l[0].startswith("ede set"), "ede set", timeout=5)
        assert line[0] == "ede set code=24 count=5 interval=2" and line[1:4] == ["ede", "set", "exp.test."], line
        # a flood over 5 s: a set at most once an interval (2 s), each with that interval's count
        end = time.time() + 5
        while time.time() < end:
            ede_query(port, "exp.test.")
        sets = [l for l in h.lines() if l[0].startswith("ede set") and l[3] == "exp.test."]
        assert 2 <= len(sets) <= 5, sets
        assert all(int(l[0].split("count=")[1].split()[0]) > 0 for l in sets), sets
        t0 = time.time()
        h.wait(lambda l: l[0] == "ede clear" and l[3] == "exp.test.", "ede cleared after quiet", timeout=8)
        assert 2 <= time.time() - t0 <= 6.5
        for _ in range(3):
            assert ede_query(port, "not.ours.example.") == (dns.rcode.REFUSED, [20])
        line = h.wait(lambda l: l[0].startswith("ede set code=20"), "ede without a zone", timeout=5)
        assert line[0] == "ede set code=20 count=3 interval=2" and line[3] == "", line
        h.wait(lambda l: l[0] == "ede clear" and l[3] == "", "the zoneless ede cleared", timeout=8)
    finally:
        terminate(proc)
        out.close()
        primary.stop()


def test_ede_tracks_max_zones_and_counts_the_rest_together(tmp_path):
    """Two secondary zones never loaded (their primary is down: SERVFAIL, EDE 14) with
    signals.ede.max-zones 1: the first zone asked has its own ede (tracked while it is set), the
    other's answers then count in the ede without a zone; a code not in signals.ede.codes (20) sets nothing."""
    h, hook = HookLog.in_dir(tmp_path)
    port, dead = free_port(), free_port()
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n'
                    '  - name: a.test\n    primary: ["127.0.0.1@%d"]\n    file: %s/a.zone\n'
                    '  - name: b.test\n    primary: ["127.0.0.1@%d"]\n    file: %s/b.zone\n'
                    'signals:\n  ede:\n    codes: [14]\n    interval: 1\n    max-zones: 1\n'
                    '  hooks:\n    - condition: "*"\n      exec: %s\n' % (port, dead, tmp_path, dead, tmp_path, hook))
    out = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        h.wait(lambda l: l[0] == "running set", "running")
        time.sleep(1.2)  # an interval with nothing
        assert ede_query(port, "a.test.") == (dns.rcode.SERVFAIL, [14])
        a = h.wait(lambda l: l[0].startswith("ede set") and l[3] == "a.test.", "a.test's ede", timeout=5)
        for _ in range(4):
            assert ede_query(port, "x.b.test.") == (dns.rcode.SERVFAIL, [14])
            assert ede_query(port, "not.ours.example.") == (dns.rcode.REFUSED, [20])
        rest = h.wait(lambda l: l[0].startswith("ede set") and l[3] == "", "the rest's ede")
        assert a[0] == "ede set code=14 count=1 interval=1", a
        assert rest[0] == "ede set code=14 count=4 interval=1", rest
        assert not any(l[3] == "b.test." for l in h.lines() if l[1] == "ede"), h.lines()
        assert not any("code=20" in l[0] for l in h.lines()), h.lines()
    finally:
        terminate(proc)
        out.close()


@pytest.mark.parametrize("ede,message", [
    ("codes: [14, 64]", "signals.ede.codes: 64 is out of range 0..63"),
    ("codes: [-1]", 'signals.ede.codes: "-1" is not a number'),
    ("codes: [x]", 'signals.ede.codes: "x" is not a number'),
    ("interval: 0", "signals.ede.interval: 0 is out of range"),
    ("threshold: 0", "signals.ede.threshold: 0 is out of range"),
    ("quiet: -3", "signals.ede.quiet"),
    ("max-zones: 0", "signals.ede.max-zones: 0 is out of range"),
    ("codez: [1]", 'unknown key "codez" in signals.ede'),
])
def test_bad_ede_keys_are_named_by_check(tmp_path, ede, message):
    conf = tmp_path / "ternd.yaml"
    conf.write_text('server:\n  listen: ["127.0.0.1@%d"]\nsignals:\n  ede:\n    %s\n' % (free_port(), ede))
    r = subprocess.run([TERND, "--check", "-c", str(conf)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and message in r.stderr, r.stderr
