"""The PoPs' queries reach the control node's usage (usage/usage_pop.c, api/pops.c, api/api_pop_usage.c):
two ternd PoPs (secondaries of the control, api.pop-key) report their billable query counters over
GET /pop/v1/usage, signed with pops.key; the control node's poll (every 0.2 s) takes what each counted
since, by zone, into usage_days with its tenant. Exact mixes at each PoP and at the control add up in
the usage API; a PoP restarted (its counters start again) loses nothing taken before and counts
nothing twice; a PoP the control cannot reach for a while is caught up when it is back; the control
node restarted, or killed with -9 before its flush, takes up where the store is."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import threading
import time

import pytest

import ternlib
from apilib import finish, keys  # noqa: F401 (a fixture)
from poplib import Control, Pop
from test_usage import scrape, tcp, today, total, udp, usage, zone_queries
from ternlib import free_port

INTERVAL = 0.2
SECRET = base64.b64encode(bytes(range(32, 64))).decode()
KEYS = "keys:\n  - {name: popkey, algorithm: hmac-sha256, secret: \"%s\"}\n" % SECRET
STATIC_ZONE = """$ORIGIN static.test.
$TTL 300
@ SOA ns1 hostmaster 2024010101 3600 600 1209600 60
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.80
"""


class Proxy:
    """A TCP relay to a PoP's API that the test can cut (connections accepted and closed at once)."""

    def __init__(self, target):
        self.target, self.up, self.conns = target, True, []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                c.close()
                continue
            try:
                s = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            self.conns += [c, s]
            for a, b in ((c, s), (s, c)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    def cut(self):
        """Down: connections open (libcurl keeps them) are cut, new ones closed at once."""
        self.up = False
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conns = []

    @staticmethod
    def pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        finally:
            for x in (a, b):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Cluster:
    def __init__(self, control, pops, proxies, keys):
        self.control, self.pops, self.proxies, self.keys = control, pops, proxies, keys

    def admin(self):
        return self.control.api(self.keys.token("ops", admin=True))

    def taken(self):
        """tern_pop_queries_total by PoP on the control node."""
        rows = scrape(self.control.api_port)
        return {p: total(rows, "tern_pop_queries_total", pop=p) for p in self.pops}

    def wait_taken(self, want, what, timeout=15):
        deadline = time.time() + timeout
        got = None
        while time.time() < deadline:
            got = self.taken()
            if all(got[p] >= n for p, n in want.items()):
                break
            time.sleep(0.05)
        assert all(got[p] == n for p, n in want.items()), "%s: taken %s, want %s\n%s" % (
            what, got, want, json.dumps(self.admin().get("/api/v1/pops").json, indent=1)[-3000:])
        return got

    def own(self):
        """The control node's own queries by zone since its start (its PoPs' refresh queries among them)."""
        rows = scrape(self.control.api_port)
        return {z: total(rows, "tern_queries_total", zone=z) for z in ("shop.test.", "blog.test.")}

    def usage_now(self):
        """Queries per zone today, as the usage API answers (every tenant's)."""
        day = today()
        out = {}
        for tenant, zone in (("tenant-a", "shop.test."), ("tenant-b", "blog.test.")):
            r = usage(self.control.api(self.keys.token(tenant)), tenant, **{"from": day, "to": day})
            assert r.status == 200, r
            out[zone] = zone_queries(r.json, zone)
        return out


def serving(pop, zones):
    status, body = pop.healthz()
    return status == 200 and all(z in json.loads(body).get("serials", {}) for z in zones)


def wait_serving(pop, zones=("shop.test.", "blog.test.", "static.test."), timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if serving(pop, zones):
            return
        time.sleep(0.05)
    raise AssertionError("PoP does not serve %s:\n%s" % (zones, pop.log_text()[-3000:]))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, keys):  # noqa: F811
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    base = tmp_path_factory.mktemp("popuse")
    dns1, dns2, h1, h2 = (free_port() for _ in range(4))
    static = base / "static.test.zone"
    static.write_text(STATIC_ZONE)
    proxies = {"pop1": Proxy(h1), "pop2": Proxy(h2)}
    extra = KEYS + ("transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\", \"127.0.0.1@%d\"]\n"
                    "pops:\n  interval: %s\n  key: popkey\n  list:\n" % (dns1, dns2, INTERVAL))
    for name in ("pop1", "pop2"):
        extra += "    - name: %s\n      healthz: \"http://127.0.0.1:%d/healthz\"\n" % (name, proxies[name].port)
    (base / "control").mkdir()
    control = Control(keys, extra, workdir=str(base / "control"), zones={"static.test": str(static)},
                      api={"serial-policy": "increment"})
    pops = {}
    try:
        control.start()
        a, b = control.api(keys.token("tenant-a")), control.api(keys.token("tenant-b"))
        a.create_zone("shop.test")
        a.put_rrset("shop.test", "www", "A", 300, ["192.0.2.1"])
        b.create_zone("blog.test")
        deadline = time.time() + 10
        while time.time() < deadline:  # their tenants looked up by the usage thread (once a second)
            rows = scrape(control.api_port)
            if all(total(rows, "tern_zones", tenant=t) == 1 for t in ("tenant-a", "tenant-b")):
                break
            time.sleep(0.1)
        primary = "127.0.0.1@%d" % control.port
        for name, port, hport in (("pop1", dns1, h1), ("pop2", dns2, h2)):
            (base / name).mkdir()
            pops[name] = Pop(["shop.test", "blog.test", "static.test"], primary, hport, port=port,
                             workdir=str(base / name), extra=["  pop-key: popkey"] + KEYS.splitlines())
            pops[name].start()
        for p in pops.values():
            wait_serving(p)
        yield Cluster(control, pops, proxies, keys)
    finally:
        rcs = [(p.log, p.stop()) for p in pops.values()]
        finish(control)
        for log, rc in rcs:
            text = open(log).read()
            assert rc == 0, "PoP exited with %s:\n%s" % (rc, text[-3000:])
            assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-6000:]


def plus(before, own_before, own_after, **added):
    """before's queries, with what was added by zone (shop=, blog=) and the control's own since."""
    return {z: before[z] + added.get(z.split(".")[0], 0) + own_after[z] - own_before[z] for z in before}


def test_two_pops_add_up_at_the_control_node(cluster):
    before, taken, own = cluster.usage_now(), cluster.taken(), cluster.own()
    p1, p2 = cluster.pops["pop1"].port, cluster.pops["pop2"].port
    udp(p1, "www.shop.test", "A", 30)
    tcp(p1, "shop.test", "SOA", 5)
    udp(p1, "blog.test", "NS", 7)
    udp(p1, "www.example.org", "A", 3)  # no zone of the PoP's: REFUSED, not billed
    udp(p2, "www.shop.test", "AAAA", 11)
    udp(p2, "nothing.blog.test", "A", 13)  # NXDOMAIN: billed all the same
    udp(p2, "static.test", "SOA", 2)  # a zone of the control's files (tenant "")
    udp(cluster.control.port, "www.shop.test", "A", 4)  # the control node's own
    cluster.wait_taken({"pop1": taken["pop1"] + 42, "pop2": taken["pop2"] + 26}, "both PoPs' counters")
    assert cluster.own()["shop.test."] - own["shop.test."] >= 4
    want = plus(before, own, cluster.own(), shop=30 + 5 + 11, blog=7 + 13)
    assert cluster.usage_now() == want
    time.sleep(10 * INTERVAL)  # ten more polls: nothing counted twice
    assert cluster.usage_now() == want
    assert cluster.taken() == {"pop1": taken["pop1"] + 42, "pop2": taken["pop2"] + 26}
    pops = {p["name"]: p for p in cluster.admin().get("/api/v1/pops").json["pops"]}
    for name in ("pop1", "pop2"):
        u = pops[name]["usage"]
        assert u["error"] is None and u["last_round"] >= int(time.time()) - 5, u


def test_a_pop_restarted_loses_nothing_taken_and_counts_nothing_twice(cluster):
    """(Its refresh queries to the control node after its start are the control's own queries: they
    are billed there as any query is.)"""
    before, taken, own = cluster.usage_now(), cluster.taken(), cluster.own()
    pop = cluster.pops["pop1"]
    udp(pop.port, "www.shop.test", "A", 9)
    cluster.wait_taken({"pop1": taken["pop1"] + 9}, "pop1's counters before its restart")
    assert pop.stop() == 0
    pop.start()  # its counters start again at 0, under a new epoch
    wait_serving(pop)
    udp(pop.port, "www.shop.test", "A", 6)
    udp(pop.port, "blog.test", "SOA", 1)
    cluster.wait_taken({"pop1": taken["pop1"] + 16}, "pop1's counters after its restart")
    time.sleep(10 * INTERVAL)
    assert cluster.usage_now() == plus(before, own, cluster.own(), shop=15, blog=1)
    assert cluster.taken()["pop1"] == taken["pop1"] + 16


def test_a_pop_unreachable_for_a_while_is_caught_up(cluster):
    before, taken, own = cluster.usage_now(), cluster.taken(), cluster.own()
    admin = cluster.admin()
    cluster.proxies["pop2"].cut()
    deadline = time.time() + 15
    while time.time() < deadline:
        pops = {p["name"]: p for p in admin.get("/api/v1/pops").json["pops"]}
        if pops["pop2"]["state"] == "down":
            break
        time.sleep(0.05)
    assert pops["pop2"]["state"] == "down", pops["pop2"]
    udp(cluster.pops["pop2"].port, "blog.test", "A", 8)  # it still answers
    time.sleep(5 * INTERVAL)
    assert cluster.taken()["pop2"] == taken["pop2"]
    assert cluster.usage_now() == plus(before, own, cluster.own())
    cluster.proxies["pop2"].up = True
    cluster.wait_taken({"pop2": taken["pop2"] + 8}, "pop2 back")
    assert cluster.usage_now() == plus(before, own, cluster.own(), blog=8)


def test_the_control_node_restarted_or_killed_takes_up_where_the_store_is(cluster):
    """Its own counters of PoPs start again with it; the PoPs' counters taken are in the store with the
    queries they account for (one transaction), so neither a stop nor a kill -9 before the flush loses
    or doubles a query."""
    before, own = cluster.usage_now(), cluster.own()
    control, pop1, pop2 = cluster.control, cluster.pops["pop1"], cluster.pops["pop2"]
    taken = cluster.taken()
    udp(pop1.port, "www.shop.test", "A", 5)
    cluster.wait_taken({"pop1": taken["pop1"] + 5}, "pop1 before the control's stop")
    stopped = cluster.own()  # stored by the stop
    assert control.stop() == 0
    udp(pop1.port, "www.shop.test", "A", 4)  # while the control node is stopped
    control.start()
    cluster.wait_taken({"pop1": 4}, "pop1 after the control's restart")
    zero = {"shop.test.": 0, "blog.test.": 0}
    want = plus(plus(before, own, stopped, shop=9), zero, cluster.own())
    assert cluster.usage_now() == want
    # taken, then killed before its flush (usage.flush-interval is 60 s): taken again after
    mid, own = cluster.usage_now(), cluster.own()
    udp(pop2.port, "blog.test", "A", 5)
    cluster.wait_taken({"pop2": 5}, "pop2 before the kill")
    assert cluster.own() == own  # nothing of the control's own to lose with the kill
    control.kill9()
    control.start()
    cluster.wait_taken({"pop2": 5}, "pop2 after the kill")
    time.sleep(10 * INTERVAL)
    assert cluster.usage_now() == plus(mid, zero, cluster.own(), blog=5)


def signed_get(port, path, after, limit, secret=None, key="popkey", t=None):
    t = int(time.time()) if t is None else t
    msg = "tern-pop-usage\n%d\n%s\n%s" % (t, after, limit)
    mac = hmac.new(secret or base64.b64decode(SECRET), msg.encode(), hashlib.sha256).hexdigest()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path, headers={"Authorization": "Tern-PoP key=%s time=%d mac=%s" % (key, t, mac)})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def test_the_pop_api_is_signed_and_paged(cluster):
    pop = cluster.pops["pop2"]
    port = pop.health_port
    for zone in ("blog.test", "shop.test", "static.test"):  # whatever the tests before it asked
        udp(pop.port, zone, "A", 1)
    status, body = pop.healthz("/pop/v1/usage")
    assert status == 401, body
    assert signed_get(port, "/pop/v1/usage", "", "", secret=b"y" * 32)[0] == 401
    assert signed_get(port, "/pop/v1/usage", "", "", t=int(time.time()) - 3600)[0] == 401
    assert signed_get(port, "/pop/v1/usage?limit=1", "", "2")[0] == 401  # the MAC covers the limit
    status, body = signed_get(port, "/pop/v1/usage?limit=1", "", "1")
    assert status == 200, body
    first = json.loads(body)
    assert len(first["epoch"]) == 32 and len(first["zones"]) == 1 and first["more"] is True, first
    status, body = signed_get(port, "/pop/v1/usage?limit=1000&after=" + first["zones"][0]["zone"],
                              first["zones"][0]["zone"], "1000")
    rest = json.loads(body)
    assert status == 200 and rest["more"] is False and rest["epoch"] == first["epoch"], rest
    names = [z["zone"] for z in first["zones"] + rest["zones"]]
    assert names == ["blog.test.", "shop.test.", "static.test."], names  # canonical order, once each
    assert all(z["queries"] > 0 for z in first["zones"] + rest["zones"])
    for q, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"), ("after=a..b", "after")):
        k, v = q.split("=")
        status, body = signed_get(port, "/pop/v1/usage?" + q, v if k == "after" else "", v if k == "limit" else "")
        assert status == 400 and json.loads(body)["error"]["field"] == field, (q, body)


# ---- a PoP that says what the test wants (hostile input among it) ----

class FakePop:
    """/healthz with no zones, and /pop/v1/usage from self.epoch and self.counts (zone -> queries),
    paged as asked, each request's signature checked; self.raw, when set, is sent instead."""

    def __init__(self):
        import http.server
        fake = self
        self.epoch, self.counts, self.raw, self.asked, self.bad = "a" * 32, {}, None, [], 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                import urllib.parse
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/healthz":
                    return self.send(200, {"status": "ok", "serials": {}})
                q = dict(urllib.parse.parse_qsl(url.query))
                m = __import__("re").match(r"Tern-PoP key=popkey time=(\d+) mac=([0-9a-f]{64})$",
                                           self.headers.get("Authorization", ""))
                msg = "tern-pop-usage\n%s\n%s\n%s" % (m.group(1) if m else "", q.get("after", ""), q.get("limit", ""))
                want = hmac.new(base64.b64decode(SECRET), msg.encode(), hashlib.sha256).hexdigest()
                if not m or not hmac.compare_digest(m.group(2), want):
                    fake.bad += 1
                    return self.send(401, {"error": {"message": "bad signature"}})
                fake.asked.append((q.get("after"), q.get("limit")))
                if fake.raw is not None:
                    return self.send(200, fake.raw)
                names = sorted(fake.counts, key=canonical)
                if "after" in q:
                    names = [n for n in names if canonical(n) > canonical(q["after"])]
                page = names[:int(q["limit"])]
                self.send(200, {"epoch": fake.epoch, "zones": [{"zone": n, "queries": fake.counts[n]} for n in page],
                                "more": len(names) > len(page)})

            def send(self, status, doc):
                body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def canonical(name):
    """RFC 4034 canonical order of a lower-case absolute name: by labels from the right."""
    return [label.encode() for label in reversed(name.rstrip(".").split("."))]


def test_a_pops_counters_reset_paged_and_hostile(keys, tmp_path):  # noqa: F811
    fake = FakePop()
    extra = KEYS + ("pops:\n  interval: %s\n  key: popkey\n  list:\n    - name: fake\n"
                    "      healthz: \"http://127.0.0.1:%d/healthz\"\n" % (INTERVAL, fake.port))
    control = Control(keys, extra, workdir=str(tmp_path))
    try:
        control.start()
        a = control.api(keys.token("tenant-a"))
        a.create_zone("shop.test")
        cluster = Cluster(control, {"fake": None}, {}, keys)
        day = today()

        def shop():
            r = usage(a, "tenant-a", **{"from": day, "to": day})
            assert r.status == 200, r
            return zone_queries(r.json, "shop.test.")

        def step(counts, want_taken, want_shop, epoch=None):
            fake.counts = counts
            if epoch:
                fake.epoch = epoch
            cluster.wait_taken({"fake": want_taken}, "fake PoP: %s" % counts.get("shop.test."))
            time.sleep(3 * INTERVAL)
            assert cluster.taken()["fake"] == want_taken
            assert shop() == want_shop

        # 2,500 zones: three pages of at most 1,000, each after the last zone of the one before
        fill = {"f%04d.fill.test." % i: 1 for i in range(2499)}
        step(dict(fill, **{"shop.test.": 10}), 2509, 10)
        starts = [i for i, (after, _) in enumerate(fake.asked) if after is None]
        rounds = [fake.asked[i:j] for i, j in zip(starts, starts[1:])]
        assert [(None, "1000"), ("f0999.fill.test.", "1000"), ("f1999.fill.test.", "1000")] in rounds, rounds[-3:]
        assert fake.bad == 0
        step(dict(fill, **{"shop.test.": 15}), 2514, 15)  # +5
        step({"shop.test.": 3}, 2517, 18)  # lower than before, same epoch: a reset, +3
        step({"shop.test.": 7}, 2524, 25, epoch="b" * 32)  # another epoch: +7
        # hostile answers: refused whole, nothing taken, the error in /api/v1/pops
        good = {"epoch": "c" * 32, "more": False}
        hostile = {
            b"not json": "unparseable",
            json.dumps(dict(good, zones=[{"zone": "shop.test.", "queries": 9}] * 2)).encode(): "not after",
            json.dumps(dict(good, zones=[{"zone": "z.test.", "queries": 9}, {"zone": "shop.test.", "queries": 9}])
                       ).encode(): "not after",
            json.dumps(dict(good, epoch="C" * 32, zones=[{"zone": "shop.test.", "queries": 9}])).encode(): "epoch",
            json.dumps(dict(good, zones=[{"zone": "shop.test.", "queries": -9}])).encode(): "queries",
            json.dumps(dict(good, zones=[{"zone": "shop.test.", "queries": 2 ** 53 + 1}])).encode(): "queries",
            json.dumps(dict(good, zones=[{"zone": "a..b", "queries": 9}])).encode(): "zone",
            json.dumps(dict(good, zones=[{"zone": "z%d.test." % i, "queries": 1} for i in range(1001)])).encode():
                "more than 1000",
            json.dumps(dict(good, zones=[], more=True)).encode(): "more",
            b"[" * 100000: "unparseable",
        }
        admin = control.api(keys.token("ops", admin=True))
        for body, why in hostile.items():
            fake.raw = body
            deadline = time.time() + 10
            err = None
            while time.time() < deadline:
                err = admin.get("/api/v1/pops").json["pops"][0]["usage"]["error"]
                if err and why in err:
                    break
                time.sleep(0.05)
            assert err and why in err, (body[:80], err)
            assert cluster.taken()["fake"] == 2524
        fake.raw = None
        step({"shop.test.": 7}, 2524, 25, epoch="b" * 32)  # the same counters: nothing new
        step({"shop.test.": 8}, 2525, 26)
        assert admin.get("/api/v1/pops").json["pops"][0]["usage"]["error"] is None
        # a zone the PoP leaves out of a whole round (it forgot a removed zone: usage.keep-removed)
        # is forgotten here too: a zone of that name counted again from its own start is all new
        # (12, not 12 - 8)
        step({"other.test.": 1}, 2526, 26)
        step({"other.test.": 1, "shop.test.": 12}, 2538, 38)
    finally:
        fake.server.shutdown()
        finish(control)


def test_removed_zones_are_forgotten_and_a_name_never_counts_down(tmp_path):
    """usage.keep-removed, on a PoP (zone files, api.pop-key): a zone removed is forgotten once its
    queries are stored and the time has passed (its tern_queries_total series go: usage.c's tables
    do not grow with zones made and removed), and what it counted moves to the zone served under
    its name, so the counter the PoP reports for that name (GET /pop/v1/usage) never goes down."""
    files = {}
    for name in ("shop.test", "gone.test"):
        files[name] = str(tmp_path / (name + ".zone"))
        with open(files[name], "w") as f:
            f.write(ternlib.zone_text(name))
    health = free_port()
    top = KEYS + "api:\n  listen: \"127.0.0.1@%d\"\n  pop-key: popkey\nusage:\n  flush-interval: 1\n" \
        "  keep-removed: 1\n" % health
    pop = ternlib.Ternd(files, workdir=str(tmp_path), extra_top=top).start()

    def serve(names):
        pop.zones = {n: files[n] for n in names}
        pop.write_config(["127.0.0.1@%d" % pop.port])
        pop.reload()
        deadline = time.time() + 10
        while time.time() < deadline and total(scrape(health), "tern_zones") != len(names):
            time.sleep(0.05)
        assert total(scrape(health), "tern_zones") == len(names)

    def reported():
        status, body = signed_get(health, "/pop/v1/usage?limit=1000", "", "1000")
        assert status == 200, body
        return {z["zone"]: z["queries"] for z in json.loads(body)["zones"]}

    try:
        udp(pop.port, "shop.test", "SOA", 7)
        udp(pop.port, "gone.test", "SOA", 4)
        assert reported() == {"shop.test.": 7, "gone.test.": 4}
        serve([])
        serve(["shop.test"])  # the same name again, before the old one is forgotten: a zone of its own
        udp(pop.port, "shop.test", "SOA", 2)
        assert reported() == {"shop.test.": 9, "gone.test.": 4}  # summed by name: 7 + 2
        assert total(scrape(health), "tern_queries_total", zone="shop.test.") == 9
        ternlib.wait_log(pop.log_text, "2 zone(s) removed at least 1 s ago forgotten", timeout=15)
        rows = scrape(health)
        assert total(rows, "tern_queries_total", zone="gone.test.") == 0
        assert total(rows, "tern_queries_total", zone="shop.test.") == 2  # the old zone's series gone
        assert reported() == {"shop.test.": 9}  # the forgotten 7 moved to the zone of its name
        udp(pop.port, "shop.test", "SOA", 1)
        assert reported() == {"shop.test.": 10}
    finally:
        assert pop.stop() == 0
