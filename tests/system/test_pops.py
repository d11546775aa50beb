"""PoP health on the control node: a control ternd (API zones + a zone file, NOTIFY to its PoPs)
polls the /healthz of two ternd PoPs (secondaries of the control, each with an `api:` section of
`listen` only) every 0.2 s; a PoP is down after three missed polls and up again on the first good
one, visible in GET /api/v1/pops (admin only), /metrics and /healthz. Also PoP URLs that refuse,
answer 404 or answer something that is not a /healthz, and the configuration's errors."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

import ternlib
from apilib import assert_error, finish, keys  # noqa: F401
from poplib import Control, Pop
from ternlib import free_port

INTERVAL = 0.2
DOWN_AFTER = 3
STATIC_ZONE = """$ORIGIN static.test.
$TTL 300
@ SOA ns1 hostmaster 2024010101 3600 600 1209600 60
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.80
"""



class Cluster:
    def __init__(self, control, pops, admin):
        self.control, self.pops, self.admin = control, pops, admin

    def pops_view(self):
        r = self.admin.get("/api/v1/pops")
        assert r.status == 200, r
        return {p["name"]: p for p in r.json["pops"]}

    def metrics(self):
        r = self.admin.get("/metrics", token=False)
        assert r.status == 200, r
        return r.body.decode()

    def wait(self, cond, what, timeout=15.0):
        """Polls /api/v1/pops until cond(view) holds; returns (view, seconds waited)."""
        start = time.time()
        view = None
        while time.time() - start < timeout:
            view = self.pops_view()
            if cond(view):
                return view, time.time() - start
            time.sleep(0.02)
        raise AssertionError("%s: not within %.0f s; /api/v1/pops:\n%s\ncontrol log tail:\n%s" % (
            what, timeout, json.dumps(view, indent=1), self.control.log_text()[-3000:]))


def metric(text, name, pop):
    m = re.search(r"^%s\{pop=\"%s\"\} (\S+)$" % (name, re.escape(pop)), text, re.M)
    assert m, "no %s{pop=%r} in /metrics:\n%s" % (name, pop, text)
    return float(m.group(1))


def zone_of(pop, zone):
    for z in pop["zones"]:
        if z["zone"] == zone:
            return z
    return None


def caught_up(pop, serials):
    """pop is up and serves every zone at the control's serial, none behind."""
    if pop["state"] != "up" or pop["zones_behind"] != 0:
        return False
    for zone in serials:
        z = zone_of(pop, zone)
        if not z or z["serial"] != serials[zone] or z["control_serial"] != serials[zone] or z["behind"]:
            return False
    return True


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, keys):
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    base = tmp_path_factory.mktemp("pops")
    dns1, dns2, h1, h2, dead = (free_port() for _ in range(5))
    static = base / "static.test.zone"
    static.write_text(STATIC_ZONE)
    extra = ("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\", \"127.0.0.1@%d\"]\n"
             "pops:\n  interval: %s\n  down-after: %d\n  list:\n" % (dns1, dns2, INTERVAL, DOWN_AFTER))
    for name, url in (("pop1", "http://127.0.0.1:%d/healthz" % h1), ("pop2", "http://127.0.0.1:%d/healthz" % h2),
                      ("dead", "http://127.0.0.1:%d/healthz" % dead),
                      ("notfound", "http://127.0.0.1:%d/nothing" % h1),
                      ("notjson", "http://127.0.0.1:%d/metrics" % h1)):
        extra += "    - name: %s\n      healthz: \"%s\"\n" % (name, url)
    (base / "control").mkdir()
    control = Control(keys, extra, workdir=str(base / "control"), zones={"static.test": str(static)},
                      api={"serial-policy": "increment"})
    pops = []
    try:
        control.start()
        admin = control.api(keys.token("ops", admin=True))
        admin.create_zone("api.test")
        admin.put_rrset("api.test", "www", "A", 300, ["192.0.2.1"])
        primary = "127.0.0.1@%d" % control.port
        for name, port, hport in (("pop1", dns1, h1), ("pop2", dns2, h2)):
            (base / name).mkdir()
            pops.append(Pop(["api.test", "static.test"], primary, hport, port=port, workdir=str(base / name)))
            pops[-1].start()
        yield Cluster(control, {"pop1": pops[0], "pop2": pops[1]}, admin)
        admin.close()
    finally:
        for p in pops:
            if p.proc is not None and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGCONT)
        rcs = [(p.log, p.stop()) for p in pops]
        finish(control)
        for log, rc in rcs:
            text = open(log).read()
            assert rc == 0, "PoP exited with %s:\n%s" % (rc, text[-3000:])
            assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-6000:]


def serials(c):
    """The control's serial of each zone the PoPs pull."""
    return {"api.test.": c.admin.serial("api.test"), "static.test.": 2024010101}


def test_pops_up_with_equal_serials(cluster):
    want = serials(cluster)
    view, took = cluster.wait(lambda v: all(caught_up(v[p], want) for p in ("pop1", "pop2")),
                              "both PoPs up with the control's serials")
    for name in ("pop1", "pop2"):
        p = view[name]
        assert p["misses"] == 0 and p["last_error"] is None and p["last_ok"] >= int(time.time()) - 5, p
        assert p["healthz"] == "http://127.0.0.1:%d/healthz" % cluster.pops[name].health_port
        assert {z["zone"]: z["state"] for z in p["zones"]} == {"api.test.": "ok", "static.test.": "ok"}, p
        assert all(z["serving"] and z["last_transfer"] for z in p["zones"]), p
    m = cluster.metrics()
    for name in ("pop1", "pop2"):
        assert metric(m, "tern_pop_up", name) == 1
        assert metric(m, "tern_pop_misses", name) == 0
        assert metric(m, "tern_pop_zones_behind", name) == 0
    r = cluster.admin.get("/healthz", token=False)
    assert r.status == 200 and r.json["pops"]["up"] == 2, r


def test_api_change_reaches_the_pops(cluster):
    old = serials(cluster)
    cluster.wait(lambda v: all(caught_up(v[p], old) for p in ("pop1", "pop2")), "PoPs current before")
    cluster.admin.put_rrset("api.test", "www", "A", 300, ["192.0.2.2"])
    new = serials(cluster)
    assert new["api.test."] != old["api.test."]
    _, took = cluster.wait(lambda v: all(caught_up(v[p], new) for p in ("pop1", "pop2")),
                           "PoPs report the new serial %d" % new["api.test."])
    assert took < 10, took


def test_closed_port_is_down_with_the_error_named(cluster):
    view, _ = cluster.wait(lambda v: v["dead"]["state"] == "down", "the PoP on a closed port down")
    d = view["dead"]
    assert d["misses"] >= DOWN_AFTER and d["last_ok"] is None and d["zones"] == [], d
    assert "Connection refused" in d["last_error"], d
    assert metric(cluster.metrics(), "tern_pop_up", "dead") == 0
    assert metric(cluster.metrics(), "tern_pop_misses", "dead") >= DOWN_AFTER
    assert re.search(r"PoP dead: down after %d missed polls: Connection refused" % DOWN_AFTER,
                     cluster.control.log_text()), cluster.control.log_text()[-3000:]


def test_not_200_and_not_healthz_are_misses(cluster):
    view, _ = cluster.wait(lambda v: v["notfound"]["state"] == "down" and v["notjson"]["state"] == "down",
                           "PoPs answering 404 and text down")
    assert "HTTP status 404" in view["notfound"]["last_error"], view["notfound"]
    assert "unparseable body" in view["notjson"]["last_error"], view["notjson"]


def test_stopped_pop_goes_down_then_up_again(cluster):
    want = serials(cluster)
    before, _ = cluster.wait(lambda v: all(caught_up(v[p], want) for p in ("pop1", "pop2")), "PoPs current before")
    pop2 = cluster.pops["pop2"]
    log_start = len(cluster.control.log_text())
    pop2.proc.send_signal(signal.SIGSTOP)
    stopped = time.time()
    try:
        # misses counted before down: never down at the first or second one
        view, _ = cluster.wait(lambda v: v["pop2"]["misses"] >= 1, "a first missed poll")
        assert view["pop2"]["state"] == "up" or view["pop2"]["misses"] >= DOWN_AFTER, view["pop2"]
        view, _ = cluster.wait(lambda v: v["pop2"]["state"] == "down", "the stopped PoP down")
        took = time.time() - stopped
        # each poll is missed when its timeout (= the interval) runs out: the last of the misses
        # still needed comes no sooner than that many intervals less one after the stop
        needed = DOWN_AFTER - before["pop2"]["misses"]
        assert (needed - 1) * INTERVAL * 0.9 <= took <= 10, (took, needed)
        p = view["pop2"]
        assert p["misses"] >= DOWN_AFTER and "no answer within" in p["last_error"], p
        assert view["pop1"]["state"] == "up", view["pop1"]
        m = cluster.metrics()
        assert metric(m, "tern_pop_up", "pop2") == 0 and metric(m, "tern_pop_misses", "pop2") >= DOWN_AFTER
        assert metric(m, "tern_pop_up", "pop1") == 1
        assert cluster.admin.get("/healthz", token=False).json["pops"]["down"] >= 1
        # a change while it is stopped: pop1 follows, pop2 is behind on api.test only
        cluster.admin.put_rrset("api.test", "www", "A", 300, ["192.0.2.3"])
        new = serials(cluster)
        view, _ = cluster.wait(lambda v: caught_up(v["pop1"], new), "pop1 follows the change")
        z = zone_of(view["pop2"], "api.test.")
        assert z["behind"] and z["serial"] < z["control_serial"] == new["api.test."], view["pop2"]
        assert not zone_of(view["pop2"], "static.test.")["behind"], view["pop2"]
        assert view["pop2"]["zones_behind"] == 1, view["pop2"]
        assert metric(cluster.metrics(), "tern_pop_zones_behind", "pop2") == 1
    finally:
        pop2.proc.send_signal(signal.SIGCONT)
    view, _ = cluster.wait(lambda v: caught_up(v["pop2"], new), "pop2 up again and caught up")
    assert view["pop2"]["misses"] == 0 and view["pop2"]["last_error"] is None
    log = cluster.control.log_text()[log_start:]
    assert "PoP pop2: down after %d missed polls" % DOWN_AFTER in log and "PoP pop2: up" in log, log[-3000:]
    if before["pop2"]["misses"] == 0:  # every miss of the stop is logged on the way down
        for i in range(1, DOWN_AFTER):
            assert "PoP pop2: poll missed (%d of %d before down)" % (i, DOWN_AFTER) in log, log[-3000:]
    assert "answering again" not in log, log[-3000:]


def test_only_admins_see_pops(cluster, keys):
    api = cluster.control.api(keys.token("tenant-a"))
    assert_error(api.get("/api/v1/pops"), 403, contains="admin")
    assert_error(api.get("/api/v1/pops", token=False), 401)
    api.close()


def test_pop_health_only_api(cluster):
    pop = cluster.pops["pop1"]
    status, body = pop.healthz()
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "ok" and set(doc["secondaries"]) == {"api.test.", "static.test."}
    status, body = pop.healthz("/metrics")
    assert status == 200 and b'tern_zones{tenant=""} 2' in body
    status, body = pop.healthz("/api/v1/zones")
    assert status == 404, body
    assert "API: /healthz and /metrics only" in open(pop.log).read()


# --- configuration ---------------------------------------------------------------------------

BASE = """server:
  listen: ["127.0.0.1@53000"]
api:
  listen: 127.0.0.1@8053
  data-dir: data
  jwks: jwks.json
"""


def check(tmp_path, text):
    path = tmp_path / "ternd.yaml"
    path.write_text(text)
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(path)], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr, str(path)


@pytest.mark.parametrize("pops,line,message", [
    ("pops:\n  interval: 0\n  list:\n    - {name: a, healthz: \"http://127.0.0.1:1/healthz\"}\n", 8,
     "pops.interval: \"0\" is out of range 0.01..86400 seconds"),
    ("pops:\n  interval: -1\n  list:\n    - {name: a, healthz: \"http://127.0.0.1:1/healthz\"}\n", 8,
     "pops.interval: \"-1\" is not a number of seconds"),
    ("pops:\n  list:\n    - name: a\n      healthz: \"htp://127.0.0.1/healthz\"\n", 10,
     "pops.list[0].healthz: \"htp://127.0.0.1/healthz\" is not an http:// or https:// URL"),
    ("pops:\n  list:\n    - name: a\n      healthz: \"http://127.0.0.1:99999/healthz\"\n", 10,
     "pops.list[0].healthz: \"http://127.0.0.1:99999/healthz\" has a port out of range 1..65535"),
    ("pops:\n  list:\n    - name: a\n      healthz: \"http:///healthz\"\n", 10,
     "pops.list[0].healthz: \"http:///healthz\" has no host"),
    ("pops:\n  interval: 1\n  timeout: 5\n  list:\n    - {name: a, healthz: \"http://h/healthz\"}\n", 9,
     "pops.timeout: 5 seconds is more than pops.interval (1)"),
    ("pops:\n  list:\n    - {name: a, healthz: \"http://h/healthz\"}\n    - {name: a, healthz: \"http://i/\"}\n", 10,
     "pops.list[1].name: duplicate PoP \"a\" (first at line 9)"),
    ("pops:\n  list:\n    - {name: \"a b\", healthz: \"http://h/healthz\"}\n", 9,
     "pops.list[0].name: \"a b\" is not a PoP name"),
    ("pops:\n  down-after: 0\n  list:\n    - {name: a, healthz: \"http://h/healthz\"}\n", 8,
     "pops.down-after: 0 is out of range 1..1000"),
    ("pops:\n  list: []\n", 8, "pops.list: at least one PoP is required"),
])
def test_config_errors_name_file_line(tmp_path, pops, line, message):
    rc, out, path = check(tmp_path, BASE + pops)
    assert rc == 1, out
    assert "%s:%d: %s" % (path, line, message) in out, out


def test_pops_need_the_tenant_api(tmp_path):
    rc, out, path = check(tmp_path, "server:\n  listen: [\"127.0.0.1@53000\"]\napi:\n  listen: 127.0.0.1@8053\n"
                          "pops:\n  list:\n    - {name: a, healthz: \"http://h/healthz\"}\n")
    assert rc == 1 and "%s:5: pops: needs the tenant API" % path in out, out


def test_api_half_configured_is_an_error(tmp_path):
    rc, out, path = check(tmp_path, "server:\n  listen: [\"127.0.0.1@53000\"]\napi:\n  listen: 127.0.0.1@8053\n"
                          "  jwks: jwks.json\n")
    assert rc == 1 and "%s:3: api.data-dir: missing required key" % path in out, out


def test_health_only_api_and_pops_defaults_check(tmp_path):
    rc, out, _ = check(tmp_path, "server:\n  listen: [\"127.0.0.1@53000\"]\napi:\n  listen: 127.0.0.1@8053\n")
    assert rc == 0, out
    rc, out, _ = check(tmp_path, BASE + "pops:\n  interval: 0.5\n  list:\n"
                       "    - {name: fra1, healthz: \"https://[::1]:8053/healthz\"}\n"
                       "    - {name: ams-2.b_c, healthz: \"http://pop.example.net/healthz?x=1\"}\n")
    assert rc == 0, out


def test_pop_trickling_its_answer_is_missed_at_the_timeout(tmp_path, keys):  # noqa: F811
    """A PoP that answers /healthz a byte at a time (a slowloris in reverse) must not hold the
    poller past its timeout: each poll is missed when the timeout runs out, whatever trickles."""
    import socket
    import threading

    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    stop = threading.Event()
    served = []

    def trickle(conn):
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"status\": "
        try:
            conn.recv(4096)
            for i in range(100000):
                if stop.is_set():
                    break
                conn.sendall(answer[i:i + 1] if i < len(answer) else b" ")
                time.sleep(0.02)
        except OSError:
            pass
        finally:
            served.append(time.time())
            conn.close()

    def accept():
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    extra = ("pops:\n  interval: 0.5\n  timeout: 0.3\n  down-after: 2\n  list:\n"
             "    - name: slow\n      healthz: \"http://127.0.0.1:%d/healthz\"\n" % lsock.getsockname()[1])
    control = Control(keys, extra, workdir=str(tmp_path))
    try:
        control.start()
        admin = control.api(keys.token("ops", admin=True))
        start = time.time()
        view = None
        while time.time() - start < 10:
            view = {p["name"]: p for p in admin.get("/api/v1/pops").json["pops"]}
            if view["slow"]["state"] == "down":
                break
            time.sleep(0.05)
        took = time.time() - start
        slow = view["slow"]
        assert slow["state"] == "down", slow
        assert "no answer within 300 ms" in slow["last_error"], slow
        # two polls 0.5 s apart, each given up after 0.3 s: down within about a second of the start
        assert took < 3, took
        # and the poller hung up on the trickle rather than reading on
        deadline = time.time() + 2
        while not served and time.time() < deadline:
            time.sleep(0.05)
        assert served, "the poller kept every trickling answer open"
        admin.close()
    finally:
        stop.set()
        acceptor.join(5)
        lsock.close()
        finish(control)


def test_metrics_beyond_8_kib_are_complete(tmp_path, keys):  # noqa: F811
    """/metrics is written by one growing writer: with 150 PoPs it runs well past 8 KiB, and every
    family and every PoP's sample is there, each line whole, the text ending with its newline."""
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    dead = free_port()
    names = ["pop-%03d-with-a-name-long-enough-to-count" % i for i in range(150)]
    extra = "pops:\n  interval: 3600\n  list:\n" + "".join(
        "    - name: %s\n      healthz: \"http://127.0.0.1:%d/healthz\"\n" % (n, dead) for n in names)
    control = Control(keys, extra, workdir=str(tmp_path))
    try:
        control.start()
        r = control.api(keys.token("ops", admin=True)).get("/metrics", token=False)
        assert r.status == 200, r
        text = r.body.decode()
        assert len(text) > 8192 * 2, len(text)
        assert text.endswith("\n"), text[-200:]
        families = ["tern_dns_responses_total", "tern_dns_queries_total", "tern_dns_dropped_total",
                    "tern_api_requests_total", "tern_api_rate_buckets", "tern_zones", "tern_records",
                    "tern_pop_up", "tern_pop_misses", "tern_pop_zones_behind"]
        for f in families:
            assert text.count("# HELP %s " % f) == 1 and text.count("# TYPE %s " % f) == 1, f
        for line in text.splitlines():
            assert line.startswith("# ") or re.match(r'^tern_[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? \d+$', line), line
        for n in names:
            assert metric(text, "tern_pop_up", n) == 0
            assert metric(text, "tern_pop_zones_behind", n) == 0
            metric(text, "tern_pop_misses", n)
        # the control node serves no zone: tern_records has no tenant to list (its HELP is above)
        assert not re.search(r'^tern_records\{', text, re.M), text[:4000]
    finally:
        finish(control)
