"""Health-checked dynamic answers (issue 17, dyn/monitor.c): DYN members bound to a TCP monitor,
real listeners on 127.0.0.1 and 127.0.0.2 killed and restarted, the A answer followed over DNS
and the checker's state over GET /api/v1/monitors and /metrics."""
import os
import time

import pytest

from apilib import ApiTernd, finish, keys  # noqa: F401
import ternlib
from sysutil import tcp_listener, tcp_listeners

INTERVAL, DOWN, UP = 1, 2, 1
ADDRS = ("127.0.0.1", "127.0.0.2")


class MonTernd(ApiTernd):
    """ApiTernd whose monitors may probe loopback (monitors.allow: public unicast only by default)."""

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write("monitors:\n  allow: [127.0.0.0/8]\n")


def zone(apex, port, members):
    return ("$ORIGIN %s.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n  IN NS ns1\n"
            "ns1 IN A 192.0.2.53\n"
            "www 60 IN DYN pool web %s\n"
            "www 60 IN DYN answer web\n"
            "www 60 IN DYN monitor m tcp %d interval %d timeout 1 down %d up %d\n"
            % (apex, members, port, INTERVAL, DOWN, UP))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, keys):  # noqa: F811
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    d = tmp_path_factory.mktemp("dyn-monitor")
    port, socks = tcp_listeners(ADDRS)
    files = {"mon.test": str(d / "mon.test.zone"), "mon2.test": str(d / "mon2.test.zone")}
    with open(files["mon.test"], "w") as f:
        f.write(zone("mon.test", port, "127.0.0.1 monitor m 127.0.0.2 monitor m"))
    with open(files["mon2.test"], "w") as f:  # the same monitor on one of the same addresses
        f.write(zone("mon2.test", port, "127.0.0.1 monitor m"))
    started = int(time.time())
    srv = MonTernd(keys, workdir=str(d), zones=files).start()
    lab = {"srv": srv, "port": port, "socks": socks, "files": files,
           "admin": srv.api(keys.token("monitor-admin", admin=True)), "started": started}
    lab["first"] = answer(srv)
    try:
        yield lab
    finally:
        for s in lab["socks"].values():
            s.close()
        finish(srv)


def answer(srv, name="www.mon.test"):
    r = srv.query(name, "A")
    return {rd.to_text() for rs in r.answer for rd in rs}


def monitors(lab):
    r = lab["admin"].get("/api/v1/monitors")
    assert r.status == 200, r
    return {m["address"]: m for m in r.json["monitors"]}


def wait(what, predicate, limit):
    """Polls predicate every 50 ms; returns the seconds it took, failing after limit."""
    t0 = time.time()
    while True:
        value = predicate()
        if value:
            return time.time() - t0
        assert time.time() - t0 < limit, "%s not within %.1f s" % (what, limit)
        time.sleep(0.05)


def test_unknown_is_up_then_each_pair_checked_once(lab):
    # answered before any check could finish: both members (unknown = up)
    assert lab["first"] == set(ADDRS)
    wait("both up", lambda: all(m["state"] == "up" for m in monitors(lab).values()), 3 * INTERVAL + 1)
    ms = monitors(lab)
    assert set(ms) == set(ADDRS)  # two pairs, however many zones use them
    assert ms["127.0.0.1"]["users"] == 2 and ms["127.0.0.2"]["users"] == 1
    m = ms["127.0.0.2"]
    assert m["kind"] == "tcp" and m["last_result"] == "ok: connected" and m["last_check"] >= lab["started"]
    assert m["monitor"] == "tcp port %d interval 1 s timeout 1 s up 1 down 2" % lab["port"]


def test_killed_listener_leaves_the_answer_and_comes_back(lab):
    srv = lab["srv"]
    lab["socks"].pop("127.0.0.2").close()
    took = wait("127.0.0.2 out of the answer", lambda: answer(srv) == {"127.0.0.1"}, INTERVAL * DOWN + 1)
    assert took >= INTERVAL * (DOWN - 1) - 0.2, took  # down failures, not one
    m = monitors(lab)["127.0.0.2"]
    assert m["state"] == "down" and m["last_result"] == "connect refused", m
    metrics = srv.api().get("/metrics", token=False).body.decode()
    label = 'address="127.0.0.2",monitor="tcp port %d interval 1 s timeout 1 s up 1 down 2"' % lab["port"]
    assert "tern_monitor_up{%s} 0\n" % label in metrics, metrics
    assert answer(srv, "www.mon2.test") == {"127.0.0.1"}  # the other zone's pair is its own
    assert "127.0.0.2: down after 2 failure(s): connect refused" in srv.log_text()

    lab["socks"]["127.0.0.2"] = tcp_listener("127.0.0.2", lab["port"])
    wait("127.0.0.2 back", lambda: answer(srv) == set(ADDRS), INTERVAL * UP + 1)
    assert monitors(lab)["127.0.0.2"]["state"] == "up"


def test_every_member_down_answers_all_of_them(lab):
    srv = lab["srv"]
    for a in ADDRS:
        lab["socks"].pop(a).close()
    wait("both down", lambda: all(m["state"] == "down" for m in monitors(lab).values()),
         INTERVAL * DOWN + 1)
    assert answer(srv) == set(ADDRS)  # the fallback: the whole first pool
    for a in ADDRS:
        lab["socks"][a] = tcp_listener(a, lab["port"])
    wait("both up", lambda: all(m["state"] == "up" for m in monitors(lab).values()), INTERVAL * UP + 1)


def test_pair_no_zone_uses_stops_and_kept_pairs_keep_state(lab):
    srv = lab["srv"]
    with open(lab["files"]["mon.test"], "w") as f:  # 127.0.0.2 no longer monitored
        f.write(zone("mon.test", lab["port"], "127.0.0.1 monitor m 127.0.0.2").replace(" 1 7200", " 2 7200"))
    srv.reload()
    wait("127.0.0.2 forgotten", lambda: "127.0.0.2" not in monitors(lab), 5)
    ms = monitors(lab)
    assert ms["127.0.0.1"]["users"] == 2 and ms["127.0.0.1"]["state"] == "up"  # not checked anew
    assert answer(srv) == set(ADDRS)
