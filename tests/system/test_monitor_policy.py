"""What the monitors may probe (monitors.allow): public unicast addresses by default. An API write
binding a monitor to any other address (loopback, RFC 1918, link-local and cloud metadata ...) is
refused naming the member and the policy, nothing applied; a zone file's such member is served
but never probed (the listener sees no connection) and counts as down, with the reason in
/api/v1/monitors and /healthz; a reload that allows the network starts probing it."""
import os
import select
import socket
import time

import pytest

import ternlib
from apilib import ApiTernd, assert_error, finish, keys  # noqa: F401

NOT_ALLOWED = "address not allowed by monitors.allow"


class PolicyTernd(ApiTernd):
    """ApiTernd with a monitors section that a test rewrites before a reload."""

    allow = None

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        if self.allow is not None:
            with open(self.config, "a") as f:
                f.write("monitors:\n  allow: [%s]\n" % ", ".join(self.allow))

    def set_allow(self, allow):
        self.allow = allow
        self.write_config(self.listen)
        self.reload()


def zone(port):
    return ("$ORIGIN file.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n  IN NS ns1\n"
            "ns1 IN A 192.0.2.53\n"
            "www 60 IN DYN pool web 127.0.0.1 monitor m 192.0.2.9\n"
            "www 60 IN DYN answer web\n"
            "www 60 IN DYN monitor m tcp %d interval 1 timeout 1 down 2 up 1\n" % port)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, keys):  # noqa: F811
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    d = tmp_path_factory.mktemp("monitor-policy")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    (d / "file.test.zone").write_text(zone(port))
    srv = PolicyTernd(keys, workdir=str(d), zones={"file.test": str(d / "file.test.zone")}).start()
    srv.listen = ["%s@%d" % (srv.addr, srv.port)]
    api = srv.api(keys.token("tenant1"))
    api.create_zone("api.test")
    try:
        yield {"srv": srv, "sock": sock, "port": port, "api": api,
               "admin": srv.api(keys.token("ops", admin=True))}
    finally:
        sock.close()
        finish(srv)


def monitors(lab):
    r = lab["admin"].get("/api/v1/monitors")
    assert r.status == 200, r
    return {m["address"]: m for m in r.json["monitors"]}


def wait(what, predicate, limit=5.0):
    t0 = time.time()
    while not predicate():
        assert time.time() - t0 < limit, "%s not within %.1f s" % (what, limit)
        time.sleep(0.05)


def connections(sock):
    """Connections the listener has had since the last call (accepted and closed)."""
    n = 0
    while select.select([sock], [], [], 0)[0]:
        sock.accept()[0].close()
        n += 1
    return n


def answer(lab):
    r = lab["srv"].query("www.file.test", "A")
    return {rd.to_text() for rs in r.answer for rd in rs}


def test_zone_file_member_outside_is_down_and_never_probed(lab):
    wait("the pair down", lambda: monitors(lab).get("127.0.0.1", {}).get("state") == "down", 3)
    m = monitors(lab)["127.0.0.1"]
    assert m["last_result"] == NOT_ALLOWED + ": 127.0.0.0/8 (loopback)", m
    time.sleep(2.5)  # two intervals: a probed member would have been connected to twice
    assert connections(lab["sock"]) == 0
    assert monitors(lab)["127.0.0.1"]["state"] == "down"
    assert answer(lab) == {"192.0.2.9"}  # counted down: the other member answers
    h = lab["admin"].get("/healthz", token=False).json["monitors"]
    assert h["down"] == 1 and h["list"][0]["members"][0]["last_result"].startswith(NOT_ALLOWED), h
    assert "monitored address(es) newly outside monitors.allow" in lab["srv"].log_text()


DYN = ["pool web 192.0.2.1 {} monitor m", "answer web", "monitor m tcp 443"]


@pytest.mark.parametrize("address,block", [
    ("127.0.0.2", "127.0.0.0/8 (loopback)"),
    ("169.254.169.254", "169.254.0.0/16 (link-local, cloud metadata)"),
    ("10.0.0.5", "10.0.0.0/8 (private, RFC 1918)"),
    ("100.64.1.1", "100.64.0.0/10"),
    ("::1", "::/8"),
    ("::ffff:192.168.0.1", "::ffff:0:0/96 embedding 192.168.0.0/16"),
    ("fd12::1", "fc00::/7"),
])
def test_api_put_outside_is_refused_nothing_applied(lab, address, block):
    api = lab["api"]
    before = api.serial("api.test")
    records = [s.replace("{}", address) for s in DYN]
    r = api.put("/api/v1/zones/api.test/rrsets/www/DYN", {"ttl": 60, "records": records})
    e = assert_error(r, 400, "records")
    assert ("member %s (monitor \"m\")" % address) in e["message"] and block in e["message"], e
    assert "monitors.allow" in e["message"] and "www.api.test." in e["message"], e
    assert api.serial("api.test") == before
    assert api.get("/api/v1/zones/api.test/rrsets/www/DYN").status == 404


def test_every_api_write_path_is_refused(lab):
    api = lab["api"]
    bad = [s.replace("{}", "127.0.0.9") for s in DYN]
    before = api.serial("api.test")
    r = api.patch("/api/v1/zones/api.test/rrsets", {"rrsets": [
        {"name": "ok", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
        {"name": "www", "type": "DYN", "ttl": 60, "records": bad}]})
    assert_error(r, 400, "rrsets[1]", "127.0.0.9")
    r = api.post("/api/v1/zones/api.test/proposals", {"rrsets": [
        {"name": "www", "type": "DYN", "ttl": 60, "records": bad}]})
    assert_error(r, 400, "rrsets[0]", "127.0.0.9")
    zonefile = ("$ORIGIN api.test.\n@ 300 IN SOA ns1.tern.test. h.api.test. 1 2 3 4 5\n@ 300 IN NS ns1.tern.test.\n"
                "www 60 IN DYN pool web 192.0.2.1 127.0.0.9 monitor m\nwww 60 IN DYN answer web\n"
                "www 60 IN DYN monitor m tcp 443\n")
    r = api.request("POST", "/api/v1/zones/api.test/import", raw=zonefile.encode())
    assert_error(r, 400, "body", "127.0.0.9")
    assert api.serial("api.test") == before
    assert api.get("/api/v1/zones/api.test/rrsets/ok/A").status == 404
    r = api.post("/api/v1/zones", {"name": "new.test", "zonefile": zonefile.replace("api.test", "new.test")})
    assert_error(r, 400, "zonefile", "127.0.0.9")
    r = api.post("/api/v1/zones", {"name": "new.test", "rrsets": [
        {"name": "www", "type": "DYN", "ttl": 60, "records": bad}]})
    assert_error(r, 400, "rrsets", "127.0.0.9")
    assert api.get("/api/v1/zones/new.test").status == 404
    # unmonitored members are data, not probes: any address
    r = api.put("/api/v1/zones/api.test/rrsets/lo/DYN", {"ttl": 60, "records": ["pool p 127.0.0.1", "answer p"]})
    assert r.status == 200, r


def test_reload_applies_the_policy(lab):
    srv, api = lab["srv"], lab["api"]
    connections(lab["sock"])
    srv.set_allow(["127.0.0.0/8"])
    wait("the zone file's member probed and up", lambda: monitors(lab)["127.0.0.1"]["state"] == "up", 5)
    assert monitors(lab)["127.0.0.1"]["last_result"] == "ok: connected"
    assert connections(lab["sock"]) >= 1
    assert answer(lab) == {"127.0.0.1", "192.0.2.9"}
    records = [s.replace("{}", "127.0.0.2") for s in DYN]
    r = api.put("/api/v1/zones/api.test/rrsets/www/DYN", {"ttl": 60, "records": records})
    assert r.status == 200, r
    # and back: no longer probed, down at once
    srv.set_allow([])
    wait("the member down again", lambda: monitors(lab)["127.0.0.1"]["state"] == "down", 5)
    connections(lab["sock"])
    time.sleep(2.5)
    assert connections(lab["sock"]) == 0
    r = api.put("/api/v1/zones/api.test/rrsets/www/DYN", {"ttl": 60, "records": records})
    assert_error(r, 400, "records", "127.0.0.2")
