"""Zone limits (issue 18): server.max-zones bounds every zone one ternd serves (listed, API,
catalog members), api.max-zones-per-tenant the API zones of one tenant; going over either is a
clear error naming the limit (ternd --check, API 403) that changes nothing, never a slow death."""
import os
import subprocess
import time

import dns.rcode

import ternlib
from apilib import ApiTernd, assert_error, finish, keys  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE_COM = os.path.join(HERE, "..", "..", "examples", "example.com.zone")


def create(api, name):
    return api.post("/api/v1/zones", {"name": name})


def served(srv, name):
    return srv.query(name, "SOA").rcode() == dns.rcode.NOERROR


def test_api_zones_stop_at_both_limits(tmp_path, keys):  # noqa: F811
    srv = ApiTernd(keys, workdir=str(tmp_path), zones={"example.com": EXAMPLE_COM},
                   api={"max-zones-per-tenant": 2}, extra_server="max-zones: 4").start()
    try:
        a, b = srv.api(keys.token("alpha")), srv.api(keys.token("beta"))
        admin = srv.api(keys.token("operator", admin=True))
        assert create(a, "a1.test").status == 201 and create(a, "a2.test").status == 201
        e = assert_error(create(a, "a3.test"), 403, "name")
        assert e["message"] == "api.max-zones-per-tenant is 2 and tenant alpha holds 2 zones", e
        assert not served(srv, "a3.test") and a.get("/api/v1/zones/a3.test").status == 404
        # another tenant has its own count; then the server is full: 1 listed + 3 API zones
        assert create(b, "b1.test").status == 201
        for api, name in ((b, "b2.test"), (admin, "c1.test")):
            e = assert_error(create(api, name), 403, "name")
            assert e["message"] == "server.max-zones is 4 and this server serves 4 zones: no more can be made", e
            assert not served(srv, name)
        # room again once a zone goes
        assert a.delete("/api/v1/zones/a1.test").status in (200, 204)
        assert create(a, "a3.test").status == 201 and served(srv, "a3.test")
        # a reload that raises the limits applies them
        with open(srv.config) as f:
            text = f.read()
        with open(srv.config, "w") as f:
            f.write(text.replace("max-zones: 4", "max-zones: 10").replace("max-zones-per-tenant: 2",
                                                                          "max-zones-per-tenant: 3"))
        srv.reload()
        deadline = time.time() + 10
        while (r := create(a, "a4.test")).status != 201:
            assert r.status == 403 and time.time() < deadline, "the raised limits were not applied: %r" % r
            time.sleep(0.1)
        e = assert_error(create(a, "a5.test"), 403, "name")
        assert e["message"] == "api.max-zones-per-tenant is 3 and tenant alpha holds 3 zones", e
    finally:
        finish(srv)


def test_check_names_the_zone_over_the_limit(tmp_path):
    path = tmp_path / "t.yaml"
    zones = "".join("  - name: z%d.test\n    file: %s\n" % (i, EXAMPLE_COM) for i in range(3))
    path.write_text("server:\n  listen: [\"127.0.0.1@53\"]\n  max-zones: 2\nzones:\n" + zones)
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(path)], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0, r
    assert "t.yaml:9: zones: 3 zones listed, more than server.max-zones (2): this one is the first over it" in \
        r.stdout + r.stderr, r
