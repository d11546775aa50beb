"""PoPs report their monitors (issue 17): each ternd PoP checks the members of the dynamic answers
it serves itself and lists their states in /healthz; the control node shows them per PoP in GET
/api/v1/pops and counts them in /metrics (tern_pop_monitors). Two ternd PoPs pull a zone with a
TCP-monitored member from the control (NOTIFY, IXFR); a listener on 127.0.0.1 is killed (both
PoPs report it down) and restarted (up); a third PoP serves no zone and lists no member. Fake PoPs
(a Python HTTP server) stand for a PoP older than the list and for hostile bodies."""
import http.server
import json
import os
import re
import socket
import threading
import time

import pytest

import ternlib
from apilib import finish, keys  # noqa: F401
from poplib import Control, Pop
from ternlib import free_port

INTERVAL = 0.2  # pops.interval
CHECK = 1  # the monitor's interval (seconds); down after 2 failures, up after 1 success


MONITORS_ALLOW = ["monitors:", "  allow: [127.0.0.0/8]"]  # the monitored listeners are on loopback


def healthz(pop):
    status, body = pop.healthz()
    assert status == 200, (status, body)
    return json.loads(body)


class FakePop(http.server.ThreadingHTTPServer):
    """Answers every GET with self.body (200, application/json)."""

    def __init__(self):
        self.body = b"{}"
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *a):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


def listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    return s


ZONE = """$ORIGIN mon.test.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 1209600 60
@ NS ns1
ns1 A 192.0.2.53
www 60 IN DYN pool web 127.0.0.1 monitor m 192.0.2.9
www 60 IN DYN answer web
www 60 IN DYN monitor m tcp %d interval %d timeout 1 down 2 up 1
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, keys):  # noqa: F811
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    base = tmp_path_factory.mktemp("pop-monitors")
    sock = listener(0)
    port = sock.getsockname()[1]
    (base / "mon.test.zone").write_text(ZONE % (port, CHECK))
    dns1, dns2, dns3, h1, h2, h3 = (free_port() for _ in range(6))
    old, bad = FakePop(), FakePop()
    extra = ("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\", \"127.0.0.1@%d\"]\n"
             "monitors:\n  allow: [127.0.0.0/8]\n"
             "pops:\n  interval: %s\n  down-after: 3\n  list:\n" % (dns1, dns2, INTERVAL))
    for name, hp in (("pop1", h1), ("pop2", h2), ("bare", h3), ("old", old.port), ("bad", bad.port)):
        extra += "    - name: %s\n      healthz: \"http://127.0.0.1:%d/healthz\"\n" % (name, hp)
    (base / "control").mkdir()
    control = Control(keys, extra, workdir=str(base / "control"), zones={"mon.test": str(base / "mon.test.zone")})
    pops = {}
    try:
        control.start()
        primary = "127.0.0.1@%d" % control.port
        for name, dport, hport, zones in (("pop1", dns1, h1, ["mon.test"]), ("pop2", dns2, h2, ["mon.test"]),
                                          ("bare", dns3, h3, [])):
            (base / name).mkdir()
            pops[name] = Pop(zones, primary, hport, extra=MONITORS_ALLOW, port=dport, workdir=str(base / name)).start()
        admin = control.api(keys.token("ops", admin=True))
        yield {"control": control, "pops": pops, "admin": admin, "port": port, "sock": sock,
               "old": old, "bad": bad}
        admin.close()
    finally:
        rcs = [(p.log, p.stop()) for p in pops.values()]
        finish(control)
        old.shutdown()
        bad.shutdown()
        sock.close()
        for log, rc in rcs:
            text = open(log).read()
            assert rc == 0, "PoP exited with %s:\n%s" % (rc, text[-3000:])
            assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-6000:]


def view(lab):
    r = lab["admin"].get("/api/v1/pops")
    assert r.status == 200, r
    return {p["name"]: p for p in r.json["pops"]}


def wait(lab, cond, what, timeout=15.0):
    start = time.time()
    v = None
    while time.time() - start < timeout:
        v = view(lab)
        if cond(v):
            return v
        time.sleep(0.05)
    raise AssertionError("%s: not within %.0f s; /api/v1/pops:\n%s\ncontrol log tail:\n%s" % (
        what, timeout, json.dumps(v, indent=1), lab["control"].log_text()[-3000:]))


def spec(lab):
    return "tcp port %d interval %d s timeout 1 s up 1 down 2" % (lab["port"], CHECK)


def member_state(pop):
    """The state of the one monitored member the PoP reports, or None."""
    m = pop.get("monitors")
    if pop["state"] != "up" or not m or not m["members"]:
        return None
    return m["members"][0]["state"]


def pop_metric(lab, pop, state):
    text = lab["admin"].get("/metrics", token=False).body.decode()
    m = re.search(r'^tern_pop_monitors\{pop="%s",state="%s"\} (\d+)$' % (pop, state), text, re.M)
    assert m, "no tern_pop_monitors{pop=%s,state=%s}:\n%s" % (pop, state, text)
    return int(m.group(1))


def test_healthz_lists_each_monitored_member(lab):
    deadline = time.time() + 10
    while True:
        h = healthz(lab["pops"]["pop1"])
        if h.get("monitors", {}).get("up") == 1:
            break
        assert time.time() < deadline, h
        time.sleep(0.1)
    m = h["monitors"]
    assert (m["up"], m["down"], m["unknown"]) == (1, 0, 0), m
    assert len(m["list"]) == 1 and m["list"][0]["monitor"] == spec(lab), m
    (member,) = m["list"][0]["members"]
    assert member["address"] == "127.0.0.1" and member["state"] == "up", member
    assert member["last_result"] == "ok: connected" and member["last_check"] >= int(time.time()) - 5, member
    bare = healthz(lab["pops"]["bare"])["monitors"]
    assert bare == {"up": 0, "down": 0, "unknown": 0, "list": []}, bare


def test_control_shows_each_pops_monitors(lab):
    v = wait(lab, lambda v: member_state(v["pop1"]) == "up" and member_state(v["pop2"]) == "up",
             "both PoPs report the member up")
    for name in ("pop1", "pop2"):
        m = v[name]["monitors"]
        assert (m["up"], m["down"], m["unknown"]) == (1, 0, 0), m
        (member,) = m["members"]
        assert member == {"monitor": spec(lab), "address": "127.0.0.1", "state": "up",
                          "last_check": member["last_check"], "last_result": "ok: connected"}, member
        assert pop_metric(lab, name, "up") == 1 and pop_metric(lab, name, "down") == 0
    v = wait(lab, lambda v: v["bare"]["state"] == "up", "the PoP without zones up")
    assert v["bare"]["monitors"] == {"up": 0, "down": 0, "unknown": 0, "members": []}, v["bare"]
    assert pop_metric(lab, "bare", "up") == 0


def test_killed_listener_is_down_at_both_pops_then_up(lab):
    wait(lab, lambda v: member_state(v["pop1"]) == "up" and member_state(v["pop2"]) == "up", "up before")
    lab["sock"].close()
    try:
        v = wait(lab, lambda v: member_state(v["pop1"]) == "down" and member_state(v["pop2"]) == "down",
                 "both PoPs report the member down")
        for name in ("pop1", "pop2"):
            m = v[name]["monitors"]
            assert (m["up"], m["down"]) == (0, 1), m
            assert m["members"][0]["last_result"] == "connect refused", m
            assert pop_metric(lab, name, "down") == 1
        # each PoP answers by its own view: the member left the answer
        r = lab["pops"]["pop1"].query("www.mon.test", "A")
        assert {rd.to_text() for rs in r.answer for rd in rs} == {"192.0.2.9"}, r
    finally:
        lab["sock"] = listener(lab["port"])
    wait(lab, lambda v: member_state(v["pop1"]) == "up" and member_state(v["pop2"]) == "up",
         "both PoPs report the member up again")


def test_pop_older_than_the_list_is_up_without_members(lab):
    lab["old"].body = json.dumps({"status": "ok", "serials": {}, "monitors": {"up": 2, "down": 1,
                                                                             "unknown": 0}}).encode()
    v = wait(lab, lambda v: v["old"]["state"] == "up" and v["old"]["monitors"], "the older PoP up")
    assert v["old"]["monitors"] == {"up": 2, "down": 1, "unknown": 0, "members": None}, v["old"]
    assert pop_metric(lab, "old", "down") == 1
    lab["old"].body = json.dumps({"status": "ok", "serials": {}}).encode()
    v = wait(lab, lambda v: v["old"]["monitors"] is None, "a PoP older than monitors")
    assert v["old"]["state"] == "up" and v["old"]["last_error"] is None, v["old"]


@pytest.mark.parametrize("monitors,error", [
    ({"up": 1, "down": 0}, "monitors.unknown: not a count"),
    ({"up": 1, "down": 0, "unknown": 0, "list": {}}, "monitors.list: not a list"),
    ({"up": 1, "down": 0, "unknown": 0, "list": [{"monitor": "tcp\nport", "members": []}]},
     "monitors.list[0].monitor: not a monitor's spec"),
    ({"up": 1, "down": 0, "unknown": 0, "list": [{"monitor": "tcp port 1", "members": [
        {"address": "127.0.0.1", "state": "up"}, {"address": "localhost", "state": "up"}]}]},
     "monitors.list[0].members[1].address: not an IPv4 or IPv6 address"),
    ({"up": 1, "down": 0, "unknown": 0, "list": [{"monitor": "tcp port 1", "members": [
        {"address": "::1", "state": "sideways"}]}]}, "monitors.list[0].members[0].state: not"),
])
def test_bad_monitors_are_a_missed_poll_naming_the_field(lab, monitors, error):
    lab["bad"].body = json.dumps({"status": "ok", "serials": {}, "monitors": monitors}).encode()
    v = wait(lab, lambda v: v["bad"]["last_error"] and error in v["bad"]["last_error"],
             "the error %r" % error)
    assert v["bad"]["misses"] >= 1, v["bad"]
    lab["bad"].body = json.dumps({"status": "ok", "serials": {}}).encode()
    wait(lab, lambda v: v["bad"]["last_error"] is None, "the fake PoP good again")
