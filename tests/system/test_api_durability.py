"""Durability and restart: SIGKILL in the middle of a stream of API writes loses no acknowledged
write and leaves no unacknowledged one half-present; API zones are rebuilt from the store and
served before ternd reports ready (the first UDP answer after a restart already has them)."""
import os
import re
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

import ternlib
from apilib import (Api, ApiTernd, assert_error, assert_refused, assert_served, finish, keys,  # noqa: F401
                    soa_serial, wait_api)

ZONE = "durable.test"


@pytest.fixture
def server(keys, tmp_path):
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    s = ApiTernd(keys, workdir=str(tmp_path))
    try:
        yield s
    finally:
        finish(s)


class Writer(threading.Thread):
    """Streams PUTs of distinct names over one keep-alive connection until the server dies."""

    def __init__(self, port, token, tag):
        super().__init__(daemon=True)
        self.api = Api(port, token)
        self.tag = tag
        self.sent = {}    # name -> value, recorded before the request goes out
        self.acked = {}   # name -> (value, serial) for every 200
        self.other = []   # any other answer (none expected)
        self.stop = False

    def run(self):
        i = 0
        while not self.stop:
            name = "%s-%d" % (self.tag, i)
            value = "192.0.%d.%d" % (1 + i // 250, 1 + i % 250)
            self.sent[name] = value
            try:
                r = self.api.put("/api/v1/zones/%s/rrsets/%s/A" % (ZONE, name), {"ttl": 60, "records": [value]})
            except Exception:
                return  # the server is gone
            if r.status == 200:
                self.acked[name] = (value, r.json["serial"])
            else:
                self.other.append((name, r.status))
            i += 1


def test_kill9_mid_stream_loses_no_acknowledged_write(server, keys):
    server.start()
    token = keys.token("durable")
    api = server.api(token)
    z = api.create_zone(ZONE, serial_policy="increment")
    s0 = z["serial"]
    api.close()
    writers = [Writer(server.api_port, token, "w%d" % i) for i in range(3)]
    for w in writers:
        w.start()
    deadline = time.time() + 20
    while sum(len(w.acked) for w in writers) < 150 and time.time() < deadline:
        time.sleep(0.005)
    assert all(w.is_alive() for w in writers), "a writer stopped before the kill"
    server.kill9()  # mid-stream: every writer has a request in flight or about to be
    for w in writers:
        w.join(timeout=30)
        assert not w.is_alive(), "a writer hangs after the kill"
    acked = {n: v for w in writers for n, v in w.acked.items()}
    sent = {n: v for w in writers for n, v in w.sent.items()}
    assert not [x for w in writers for x in w.other], [x for w in writers for x in w.other]
    assert len(acked) >= 150, "only %d writes acknowledged before the kill" % len(acked)
    unacked = {n: v for n, v in sent.items() if n not in acked}

    server.start()  # same data-dir
    api = server.api(token)
    lost, wrong = [], []
    for name, (value, serial) in sorted(acked.items()):
        g = api.get("/api/v1/zones/%s/rrsets/%s/A" % (ZONE, name))
        r = server.query("%s.%s" % (name, ZONE), "A")
        got = {rd.to_text() for rs in r.answer for rd in rs}
        if g.status != 200 or g.json["records"] != [value] or got != {value}:
            lost.append("%s: GET %r, DNS %s %s" % (name, g, dns.rcode.to_text(r.rcode()), sorted(got)))
    assert not lost, "%d acknowledged writes lost after SIGKILL:\n%s" % (len(lost), "\n".join(lost[:20]))
    present = len(acked)
    for name, value in unacked.items():
        g = api.get("/api/v1/zones/%s/rrsets/%s/A" % (ZONE, name))
        r = server.query("%s.%s" % (name, ZONE), "A")
        got = {rd.to_text() for rs in r.answer for rd in rs}
        stored = g.status == 200 and g.json["records"] == [value]
        if stored and got == {value}:
            present += 1  # committed just before the kill, the answer never arrived: fine, and whole
        elif g.status == 404 and not got and r.rcode() == dns.rcode.NXDOMAIN:
            pass  # never committed
        else:
            wrong.append("%s: GET %r, DNS %s %s" % (name, g, dns.rcode.to_text(r.rcode()), sorted(got)))
    assert not wrong, "unacknowledged writes half-present:\n" + "\n".join(wrong)
    # one serial per write (increment policy): stored, served and journalled serials all agree
    serial = api.serial(ZONE)
    assert soa_serial(server, ZONE) == serial
    assert serial == s0 + present, "serial %d, but %d writes are present on top of %d" % (serial, present, s0)
    assert serial >= max(s for _, s in acked.values())
    changes = api.get("/api/v1/zones/%s/changes" % ZONE).json["changes"]
    assert max(c["serial_to"] for c in changes) == serial
    listed = {x["name"] for x in api.rrsets(ZONE)["rrsets"] if x["type"] == "A"}
    assert len(listed) == present
    # and it goes on from there
    r = api.put("/api/v1/zones/%s/rrsets/after/A" % ZONE, {"ttl": 60, "records": ["198.51.100.1"]})
    assert r.status == 200 and r.json["serial"] == serial + 1, r
    assert_served(server, "after." + ZONE, "A", ["198.51.100.1"])
    api.close()


def first_answer(srv, name, rdtype, timeout=15.0):
    """Starts srv and returns the first UDP response it gives to name/rdtype."""
    srv.launch()
    q = dns.message.make_query(name, rdtype)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if srv.proc.poll() is not None:
            raise RuntimeError("ternd exited with %s:\n%s" % (srv.proc.returncode, srv.log_text()[-3000:]))
        try:
            return dns.query.udp(q, srv.addr, port=srv.port, timeout=0.1)
        except Exception:
            time.sleep(0.001)
    raise RuntimeError("no answer")


def test_restart_serves_api_zones_before_ready(server, keys, tmp_path):
    static = tmp_path / "static.test.zone"
    static.write_text("$ORIGIN static.test.\n$TTL 300\n@ SOA ns1.tern.test. h.static.test. 1 2 3 4 5\n"
                      "@ NS ns1.tern.test.\nwww A 192.0.2.200\n")
    server.zones = {"static.test": str(static)}
    server.write_config(["127.0.0.1@%d" % server.port])
    server.start()
    api = server.api(keys.token("restarter"))
    zones = ["r%d.restart.test" % i for i in range(5)]
    for i, z in enumerate(zones):
        api.create_zone(z)
        api.put_rrset(z, "www", "A", 60, ["192.0.2.%d" % (i + 1)])
        api.put_rrset(z, "@", "TXT", 60, ["\"zone %d\"" % i])
    api.create_zone("deleted.restart.test")
    assert api.delete("/api/v1/zones/deleted.restart.test").status in (200, 204)
    assert api.put("/api/v1/zones/%s/lock" % zones[1], {"reason": "frozen"}).status == 200
    assert_error(api.post("/api/v1/zones", {"name": "static.test"}), 409, "name")
    serials = {z: soa_serial(server, z) for z in zones}
    # a reload (SIGHUP) keeps the API zones
    reloads = server.log_text().count("reload done")
    server.reload()
    deadline = time.time() + 10
    while server.log_text().count("reload done") == reloads and time.time() < deadline:
        time.sleep(0.01)
    assert server.log_text().count("reload done") > reloads, server.log_text()[-2000:]
    for i, z in enumerate(zones):
        assert_served(server, "www." + z, "A", ["192.0.2.%d" % (i + 1)])
    api.close()
    for how in ("SIGTERM", "SIGKILL"):
        if how == "SIGTERM":
            assert server.stop() == 0
        else:
            server.kill9()
        # the very first answer after the restart already carries the API zone
        r = first_answer(server, "www." + zones[-1], "A")
        assert r.rcode() == dns.rcode.NOERROR and {rd.to_text() for rs in r.answer for rd in rs} == {"192.0.2.5"}, \
            "first answer after restart (%s):\n%s\n--- log ---\n%s" % (how, r.to_text(), server.log_text()[-2000:])
        for i, z in enumerate(zones):
            assert_served(server, "www." + z, "A", ["192.0.2.%d" % (i + 1)])
            assert_served(server, z, "TXT", ["\"zone %d\"" % i])
            assert soa_serial(server, z) == serials[z]
        assert_served(server, "www.static.test", "A", ["192.0.2.200"])
        assert_refused(server, "deleted.restart.test")
        # ready is reported after the API zones were rebuilt, and counts them
        log = server.log_text()
        starts = list(re.finditer(r"API: (\d+) zone\(s\) rebuilt", log))
        assert starts, log
        m = starts[-1]
        run = log[m.start():]
        assert m and int(m.group(1)) == len(zones), run
        ready = re.search(r"ready: (\d+) zone\(s\) served", run)
        assert ready and int(ready.group(1)) == len(zones) + 1, run
        wait_api(server.api_port, server.proc)
        api = server.api(keys.token("restarter"))
        assert api.zone(zones[1])["locked"] is True and api.zone(zones[1])["lock_reason"] == "frozen"
        assert_error(api.put("/api/v1/zones/%s/rrsets/www/A" % zones[1], {"ttl": 60, "records": ["192.0.2.9"]}),
                     409)
        assert_error(api.get("/api/v1/zones/deleted.restart.test"), 404)
        assert sorted(x["name"] for x in api.get("/api/v1/zones").json["zones"]) == sorted(z + "." for z in zones)
        api.close()
