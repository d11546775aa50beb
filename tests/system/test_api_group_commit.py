"""Group commit of the write path: RRset writes from several API clients at once are stored in shared
transactions (one flush to disk for many), each acknowledged only once durable and served; a
write refused inside a group leaves the others of its group stored; SIGKILL in the middle of
concurrent writes loses no acknowledged one and leaves no unacknowledged one half-present."""
import os
import re
import threading
import time

import dns.rcode
import pytest

import ternlib
from apilib import Api, ApiTernd, assert_served, finish, keys, soa_serial  # noqa: F401

ZONES = ["g%d.group.test" % i for i in range(12)]
CLIENTS = 8


@pytest.fixture
def server(keys, tmp_path):
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    s = ApiTernd(keys, workdir=str(tmp_path))
    try:
        yield s
    finally:
        finish(s)


def group_counts(api):
    """(groups committed, writes they carried) from /metrics."""
    text = api.get("/metrics").body.decode()
    g = re.search(r"^tern_api_write_groups_total (\d+)$", text, re.M)
    n = re.search(r"^tern_api_write_grouped_total (\d+)$", text, re.M)
    assert g and n, text[-2000:]
    return int(g.group(1)), int(n.group(1))


class Writer(threading.Thread):
    """PUTs distinct names round the zones over its own keep-alive connection until stopped or the server dies."""

    def __init__(self, port, token, k):
        super().__init__(daemon=True)
        self.api = Api(port, token)
        self.k = k
        self.sent = {}    # (zone, name) -> value, recorded before the request goes out
        self.acked = {}   # (zone, name) -> value for every 200
        self.other = []
        self.stop = False

    def run(self):
        i = 0
        while not self.stop:
            zone = ZONES[(self.k + i * CLIENTS) % len(ZONES)]
            name = "c%d-%d" % (self.k, i)
            value = "192.0.%d.%d" % (1 + i // 250, 1 + i % 250)
            self.sent[(zone, name)] = value
            try:
                r = self.api.put("/api/v1/zones/%s/rrsets/%s/A" % (zone, name), {"ttl": 60, "records": [value]})
            except Exception:
                return  # the server is gone
            if r.status == 200:
                self.acked[(zone, name)] = value
            else:
                self.other.append((zone, name, r.status))
            i += 1


def stored_and_served(server, api, zone, name, value):
    g = api.get("/api/v1/zones/%s/rrsets/%s/A" % (zone, name))
    r = server.query("%s.%s" % (name, zone), "A")
    got = {rd.to_text() for rs in r.answer for rd in rs}
    if g.status == 200 and g.json["records"] == [value] and got == {value}:
        return True
    if g.status == 404 and not got and r.rcode() == dns.rcode.NXDOMAIN:
        return False
    raise AssertionError("%s %s half-present: GET %r, DNS %s %s" % (zone, name, g, dns.rcode.to_text(r.rcode()),
                                                                     sorted(got)))


def test_concurrent_writes_share_commits_and_survive_kill9(server, keys):
    server.start()
    token = keys.token("grouper")
    api = server.api(token)
    s0 = {z: api.create_zone(z, serial_policy="increment")["serial"] for z in ZONES}
    g0 = group_counts(api)
    writers = [Writer(server.api_port, token, k) for k in range(CLIENTS)]
    for w in writers:
        w.start()
    deadline = time.time() + 60
    while sum(len(w.acked) for w in writers) < 400 and time.time() < deadline:
        time.sleep(0.01)
    g1 = group_counts(api)
    api.close()
    assert all(w.is_alive() for w in writers), "a writer stopped before the kill"
    server.kill9()
    for w in writers:
        w.join(timeout=30)
        assert not w.is_alive(), "a writer hangs after the kill"
    assert not [x for w in writers for x in w.other], [x for w in writers for x in w.other]
    acked = {k: v for w in writers for k, v in w.acked.items()}
    sent = {k: v for w in writers for k, v in w.sent.items()}
    assert len(acked) >= 400, "only %d writes acknowledged" % len(acked)
    groups, grouped = g1[0] - g0[0], g1[1] - g0[1]
    # several writes shared a transaction: fewer groups than writes
    assert grouped >= 300 and groups < grouped * 0.8, "%d writes in %d groups" % (grouped, groups)

    server.start()  # same data-dir
    api = server.api(token)
    lost = [k for k, v in sorted(acked.items()) if not stored_and_served(server, api, k[0], k[1], v)]
    assert not lost, "%d acknowledged writes lost after SIGKILL: %s" % (len(lost), lost[:20])
    present = {z: 0 for z in ZONES}
    for (zone, name), value in sent.items():
        if (zone, name) in acked or stored_and_served(server, api, zone, name, value):
            present[zone] += 1
    # one serial per write in each zone: stored, served and journalled serials agree
    for z in ZONES:
        serial = api.serial(z)
        assert serial == s0[z] + present[z], "%s: serial %d, %d writes on top of %d" % (z, serial, present[z], s0[z])
        assert soa_serial(server, z) == serial
        changes = api.get("/api/v1/zones/%s/changes" % z).json["changes"]
        assert max(c["serial_to"] for c in changes) == serial
    api.close()


def test_a_refused_write_leaves_its_group_alone(server, keys):
    """Rounds of CLIENTS requests sent at once: most are good writes to distinct zones, two are refused
    inside the write path (a CNAME beside other data, a second SOA record); the good ones are all
    stored, served and durable, the refused ones leave nothing."""
    server.start()
    token = keys.token("grouper")
    api = server.api(token)
    s0 = {z: api.create_zone(z, serial_policy="increment")["serial"] for z in ZONES}
    for z in ZONES:
        api.put_rrset(z, "www", "A", 60, ["192.0.2.1"])
    s0 = {z: api.serial(z) for z in ZONES}
    g0 = group_counts(api)
    clients = [Api(server.api_port, token) for _ in range(CLIENTS)]
    rounds = 25
    results = {}
    good = {}  # (zone, name) -> value

    def one(k, rnd, barrier):
        zone = ZONES[(k + rnd) % len(ZONES)]
        if k == 0:
            path, body = "/api/v1/zones/%s/rrsets/www/CNAME" % zone, {"ttl": 60, "records": ["other.test."]}
        elif k == 1:
            path, body = "/api/v1/zones/%s/rrsets/www/SOA" % zone, {
                "ttl": 60, "records": ["a.test. b.test. 1 2 3 4 5"]}
        else:
            name = "r%d-%d" % (rnd, k)
            path, body = "/api/v1/zones/%s/rrsets/%s/A" % (zone, name), {"ttl": 60, "records": ["198.51.100.%d" % k]}
            good[(zone, name)] = "198.51.100.%d" % k
        barrier.wait()
        results[(rnd, k)] = clients[k].put(path, body)

    for rnd in range(rounds):
        barrier = threading.Barrier(CLIENTS)
        threads = [threading.Thread(target=one, args=(k, rnd, barrier)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    for (rnd, k), r in sorted(results.items()):
        if k < 2:
            assert r.status in (400, 422), (rnd, k, r)
        else:
            assert r.status == 200, (rnd, k, r)
    assert len(results) == rounds * CLIENTS
    g1 = group_counts(api)
    groups, grouped = g1[0] - g0[0], g1[1] - g0[1]
    # the good writes and the CNAME, refused by the zone's rules inside the group (the second SOA the
    # API refuses before the write path)
    assert grouped == rounds * (CLIENTS - 1), (groups, grouped)
    assert groups < grouped, "no two writes shared a group: %d groups for %d writes" % (groups, grouped)
    for c in clients:
        c.close()
    api.close()
    server.kill9()
    server.start()
    api = server.api(token)
    missing = [k for k, v in sorted(good.items()) if not stored_and_served(server, api, k[0], k[1], v)]
    assert not missing, missing
    for z in ZONES:
        assert_served(server, "www." + z, "A", ["192.0.2.1"])
        r = api.get("/api/v1/zones/%s/rrsets/www/CNAME" % z)
        assert r.status == 404, r
        mine = sum(1 for (zone, _) in good if zone == z)
        assert api.serial(z) == s0[z] + mine, (z, api.serial(z), s0[z], mine)
    api.close()
