"""Services (issue 20, "Services and answers" and "Bad input"): POST /api/v1/services makes a random
version-4 UUID and the canonical name <uuid>.app.test in the operator's API zone, whose A and AAAA
answers depend on the client (EDNS Client Subnet placed by the test's geo database in Europe or
North America), with the deployment's weights; `tern explain` and GET /api/v1/explain name the
region chosen; a new deployment is served when its PUT returns; DELETE leaves NXDOMAIN; a PoP
(a secondary fed by transfers) answers the same; bad deployments are a 400 naming the field with
the store and the zone unchanged; another tenant sees 404; the per-tenant limit is a 403 naming it;
services.zone not yet created is a 503 naming it; a narrowed or read-only token may not write."""
import collections
import json
import os
import re
import subprocess
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

import mmdblib
import ternlib
from apilib import ApiTernd, assert_error, finish, keys  # noqa: F401
from poplib import Pop

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(ternlib.TERND), "tern"))
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# the geo database: Europe and North America, in both families
NETS = {"203.0.113.0/24": ("NL", "EU"), "198.51.100.0/24": ("US", "NA"),
        "2001:db8:e::/48": ("DE", "EU"), "2001:db8:a::/48": ("US", "NA")}
EU4, NA4, EU6, NA6 = "203.0.113.0", "198.51.100.0", "2001:db8:e::", "2001:db8:a::"
SERVICES = """services:
  zone: app.test
  max-per-tenant: 3
  regions:
    - name: eu
      continents: [EU]
    - name: na
      continents: [NA]
      countries: [MX]
    - name: ap
      continents: [AS, OC]
"""
DEPLOY = {"regions": {"eu": {"ipv4": ["192.0.2.1"], "ipv6": ["2001:db8:100::1"]},
                      "na": {"ipv4": ["192.0.2.2"], "ipv6": ["2001:db8:100::2"]}}}


@pytest.fixture(scope="module")
def srv(tmp_path_factory, keys):  # noqa: F811
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    d = tmp_path_factory.mktemp("ternd-services")
    db = mmdblib.build(str(d / "geo.mmdb"), NETS)
    (d / "primary").mkdir()
    s = ApiTernd(keys, workdir=str(d / "primary"))
    s.pop_port = ternlib.free_port()
    with open(s.config, "a") as f:
        f.write('geo:\n  database: "%s"\n' % db)
        f.write(SERVICES)
        f.write('transfer:\n  allow: [127.0.0.0/8]\n  notify: ["127.0.0.1@%d"]\n' % s.pop_port)
    s.start()
    s.geo_db = db
    try:
        ternlib.wait_log(s.log_text, "geo database %s: GeoLite2-Country" % db)
        yield s
    finally:
        finish(s)


@pytest.fixture(scope="module")
def op(srv, keys):
    """The operator (tenant "platform") who owns the services zone."""
    api = srv.api(keys.token("platform"))
    yield api
    api.close()


@pytest.fixture(scope="module")
def app(srv, op):
    op.create_zone("app.test")
    return "app.test"


@pytest.fixture(scope="module")
def alice(srv, keys, app):
    api = srv.api(keys.token("alice"))
    yield api
    api.close()


def ask(srv, name, rtype, subnet=None, prefix=None):
    """(rcode, sorted addresses, TTL) for a resolver sending ECS subnet/prefix (none: no ECS)."""
    opts = [dns.edns.ECSOption(subnet, prefix)] if subnet else []
    q = dns.message.make_query(name, rtype, use_edns=0, options=opts)
    r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
    addrs = sorted(rd.address for rs in r.answer for rd in rs)
    return r.rcode(), addrs, (r.answer[0].ttl if r.answer else None)


def serial(srv):
    q = dns.message.make_query("app.test", "SOA")
    r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
    return r.answer[0][0].serial


def create(api, deployment, status=201):
    r = api.post("/api/v1/services", {"deployment": deployment})
    assert r.status == status, r
    return r.json


def test_unconfigured_zone_is_503_naming_services_zone(srv, keys):
    """Before the operator creates app.test, a creation is refused naming services.zone."""
    api = srv.api(keys.token("early"))
    r = api.post("/api/v1/services", {"deployment": DEPLOY})
    assert_error(r, 503, "services.zone", contains="app.test")
    assert api.get("/api/v1/services").json == {"services": []}
    api.close()


def test_create_answers_by_client(srv, alice):
    s = create(alice, DEPLOY)
    assert UUID4.match(s["id"]), s
    assert s["canonical"] == s["id"] + ".app.test"
    assert s["serial"] == serial(srv)
    assert s["deployment"] == DEPLOY
    name = s["canonical"]
    # Europe and North America by continent, in both families, at services.ttl
    assert ask(srv, name, "A", EU4, 24) == (dns.rcode.NOERROR, ["192.0.2.1"], 300)
    assert ask(srv, name, "A", NA4, 24) == (dns.rcode.NOERROR, ["192.0.2.2"], 300)
    assert ask(srv, name, "AAAA", EU6, 48) == (dns.rcode.NOERROR, ["2001:db8:100::1"], 300)
    assert ask(srv, name, "AAAA", NA6, 48) == (dns.rcode.NOERROR, ["2001:db8:100::2"], 300)
    # a client the database does not hold: the answer list, the regions in configuration order
    assert ask(srv, name, "A")[1] == ["192.0.2.1"]
    # the records are the DYN statements the mapping makes (read by the zone's owner)
    r = srv.api(alice.token).get("/api/v1/services/" + s["id"])
    assert r.status == 200 and r.json["canonical"] == name, r


def test_dyn_statements_in_the_zone(srv, op, alice):
    s = create(alice, {"regions": {"na": {"ipv4": ["192.0.2.9"]}, "eu": {"ipv4": ["192.0.2.8"]}}})
    r = op.get("/api/v1/zones/app.test/rrsets/%s/DYN" % s["id"])
    assert r.status == 200, r
    got = sorted(r.json["records"])
    assert got == sorted(['"pool" "eu" "192.0.2.8"', '"pool" "na" "192.0.2.9"', '"answer" "eu" "na"',
                          '"geo" "country" "MX" "na" "eu"', '"geo" "continent" "EU" "eu" "na"',
                          '"geo" "continent" "NA" "na" "eu"']), got
    assert alice.delete("/api/v1/services/" + s["id"]).status == 200


def test_weights_and_explain(srv, alice, op):
    dep = {"regions": {"eu": {"ipv4": [{"address": "192.0.2.11", "weight": 3}, {"address": "192.0.2.12", "weight": 1}]},
                       "na": {"ipv4": ["192.0.2.2"]}}, "ttl": 60}
    s = create(alice, dep)
    name = s["canonical"]
    counts = collections.Counter()
    for _ in range(400):
        rc, addrs, ttl = ask(srv, name, "A", EU4, 24)
        assert rc == dns.rcode.NOERROR and len(addrs) == 1 and ttl == 60
        counts[addrs[0]] += 1
    share = counts["192.0.2.11"] / 400
    assert 0.62 < share < 0.88, counts  # 3:1 expects 0.75 (binomial sd 0.022)
    # the explanation names the rule and the region, for the service's tenant and the zone's owner
    for api in (alice, op):
        r = api.get("/api/v1/explain?name=%s&type=A&client=203.0.113.7" % name)
        assert r.status == 200, r
        assert r.json["match"] == "continent EU" and r.json["answered_by"] == "eu", r.json
    r = alice.get("/api/v1/explain?name=%s&type=A&client=198.51.100.7" % name)
    assert r.json["answered_by"] == "na", r.json
    p = subprocess.run([TERN_CLI, "--api", "http://127.0.0.1:%d" % srv.api_port, "--token", alice.token,
                        "explain", name, "A", "--client", "198.51.100.7"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "na" in p.stdout and "continent NA" in p.stdout, p.stdout
    assert alice.delete("/api/v1/services/" + s["id"]).status == 200


def test_deployment_change_is_served_when_the_put_returns(srv, alice):
    s = create(alice, DEPLOY)
    name = s["canonical"]
    before = serial(srv)
    dep = {"regions": {"eu": {"ipv4": ["192.0.2.31"]}, "ap": {"ipv6": ["2001:db8:100::31"]}}}
    r = alice.put("/api/v1/services/%s/deployment" % s["id"], {"deployment": dep})
    assert r.status == 200, r
    # no wait: the answer is the new one as soon as the response came
    assert ask(srv, name, "A", NA4, 24)[1] == ["192.0.2.31"]
    assert ask(srv, name, "AAAA", EU6, 48)[1] == ["2001:db8:100::31"]
    assert r.json["serial"] == serial(srv) and r.json["serial"] != before
    assert alice.get("/api/v1/services/" + s["id"]).json["deployment"] == dep
    assert alice.delete("/api/v1/services/" + s["id"]).status == 200


def test_delete_removes_the_name(srv, alice):
    s = create(alice, DEPLOY)
    assert ask(srv, s["canonical"], "A", EU4, 24)[1] == ["192.0.2.1"]
    r = alice.delete("/api/v1/services/" + s["id"])
    assert r.status == 200 and r.json["serial"] == serial(srv), r
    assert ask(srv, s["canonical"], "A", EU4, 24)[0] == dns.rcode.NXDOMAIN
    assert ask(srv, s["canonical"], "AAAA")[0] == dns.rcode.NXDOMAIN
    assert_error(alice.get("/api/v1/services/" + s["id"]), 404, "id")
    assert_error(alice.delete("/api/v1/services/" + s["id"]), 404, "id")
    assert s["id"] not in [x["id"] for x in alice.get("/api/v1/services").json["services"]]


BAD = [
    ({"regions": {}}, "deployment.regions", None),
    ({}, "deployment.regions", None),
    ({"regions": {"eu": {}}}, "deployment.regions.eu", "no addresses"),
    ({"regions": {"eu": {"ipv4": [], "ipv6": []}}}, "deployment.regions.eu", "no addresses"),
    ({"regions": {"mars": {"ipv4": ["192.0.2.1"]}}}, "deployment.regions.mars", "mars"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.1", "2001:db8::1"]}}}, "deployment.regions.eu.ipv4[1]", "2001:db8::1"),
    ({"regions": {"eu": {"ipv6": ["192.0.2.1"]}}}, "deployment.regions.eu.ipv6[0]", "192.0.2.1"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.300"]}}}, "deployment.regions.eu.ipv4[0]", "192.0.2.300"),
    ({"regions": {"eu": {"ipv4": ["<script>"]}}}, "deployment.regions.eu.ipv4[0]", "<script>"),
    ({"regions": {"eu": {"ipv4": [{"address": "192.0.2.1", "weight": 0}]}}},
     "deployment.regions.eu.ipv4[0].weight", "0"),
    ({"regions": {"eu": {"ipv4": [{"address": "192.0.2.1", "weight": 65536}]}}},
     "deployment.regions.eu.ipv4[0].weight", "65536"),
    ({"regions": {"eu": {"ipv4": [{"address": "192.0.2.1", "weight": "3"}]}}},
     "deployment.regions.eu.ipv4[0].weight", None),
    ({"regions": {"eu": {"ipv4": [{"address": "192.0.2.1", "colour": 1}]}}},
     "deployment.regions.eu.ipv4[0].colour", "colour"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.1", "192.0.2.1"]}}}, "deployment.regions.eu.ipv4[1]", "twice"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.1"], "ipv5": []}}}, "deployment.regions.eu.ipv5", "ipv5"),
    ({"regions": {"eu": {"ipv4": "192.0.2.1"}}}, "deployment.regions.eu.ipv4", None),
    ({"regions": {"eu": {"ipv4": ["0.0.0.0"]}}}, "deployment.regions.eu.ipv4[0]", "0.0.0.0"),
    ({"regions": {"eu": {"ipv6": ["::ffff:192.0.2.1"]}}}, "deployment.regions.eu.ipv6[0]", "IPv4-mapped"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.%d" % i for i in range(1, 66)]}}}, "deployment.regions.eu.ipv4", "64"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.1"]}}, "ttl": 0}, "deployment.ttl", "0"),
    ({"regions": {"eu": {"ipv4": ["192.0.2.1"]}}, "owner": "x"}, "deployment.owner", "owner"),
    (["192.0.2.1"], "deployment", None),
]


def test_bad_input_changes_nothing(srv, alice):
    s = create(alice, DEPLOY)
    listed = alice.get("/api/v1/services").json
    before = serial(srv)
    problems = []
    for dep, field, shown in BAD:
        for method, path in (("POST", "/api/v1/services"), ("PUT", "/api/v1/services/%s/deployment" % s["id"])):
            r = alice.request(method, path, {"deployment": dep})
            try:
                assert_error(r, 400, field, contains=shown, what="%s %s" % (method, json.dumps(dep)[:80]))
            except AssertionError as e:
                problems.append(str(e).split("\n")[0])
    for body, field in (({"deploy": DEPLOY}, "deploy"), ({}, "deployment"), ([], "body")):
        r = alice.post("/api/v1/services", body)
        try:
            assert_error(r, 400, field)
        except AssertionError as e:
            problems.append(str(e).split("\n")[0])
    assert not problems, "\n".join(problems)
    assert serial(srv) == before
    assert alice.get("/api/v1/services").json == listed
    assert ask(srv, s["canonical"], "A", NA4, 24)[1] == ["192.0.2.2"]
    assert alice.delete("/api/v1/services/" + s["id"]).status == 200


def test_tenant_isolation(srv, alice, keys):
    s = create(alice, DEPLOY)
    mallory = srv.api(keys.token("mallory"))
    admin_elsewhere = srv.api(keys.token("ops", admin=True))
    before = serial(srv)
    for api in (mallory, admin_elsewhere):
        assert api.get("/api/v1/services").json == {"services": []}
        assert_error(api.get("/api/v1/services/" + s["id"]), 404, "id")
        assert_error(api.put("/api/v1/services/%s/deployment" % s["id"], {"deployment": DEPLOY}), 404, "id")
        assert_error(api.delete("/api/v1/services/" + s["id"]), 404, "id")
    assert_error(mallory.get("/api/v1/explain?name=%s&type=A&client=203.0.113.7" % s["canonical"]), 404, "name")
    assert serial(srv) == before
    assert alice.get("/api/v1/services/" + s["id"]).status == 200
    # tokens for part of a tenant may not touch services; a read-only one reads
    narrowed = srv.api(keys.token("alice", scope={"zones": ["alice.test"]}))
    assert_error(narrowed.post("/api/v1/services", {"deployment": DEPLOY}), 403, "scope")
    assert_error(narrowed.get("/api/v1/services"), 403, "scope")
    ro = srv.api(keys.token("alice", scope={"read_only": True}))
    assert ro.get("/api/v1/services/" + s["id"]).status == 200
    assert_error(ro.delete("/api/v1/services/" + s["id"]), 403, "scope")
    assert_error(ro.post("/api/v1/services", {"deployment": DEPLOY}), 403, "scope")
    for api in (mallory, admin_elsewhere, narrowed, ro):
        api.close()
    assert alice.delete("/api/v1/services/" + s["id"]).status == 200


def test_limit_per_tenant(srv, keys, app):
    bob = srv.api(keys.token("bob"))
    made = [create(bob, DEPLOY) for _ in range(3)]
    before = serial(srv)
    assert_error(bob.post("/api/v1/services", {"deployment": DEPLOY}), 403, "services.max-per-tenant",
                 contains="max-per-tenant is 3")
    assert serial(srv) == before and len(bob.get("/api/v1/services").json["services"]) == 3
    assert bob.delete("/api/v1/services/" + made[0]["id"]).status == 200
    made[0] = create(bob, DEPLOY)  # room again
    for s in made:
        assert bob.delete("/api/v1/services/" + s["id"]).status == 200
    bob.close()


def test_pop_answers_the_same(srv, alice, tmp_path):
    s = create(alice, DEPLOY)
    pop = Pop(["app.test"], "127.0.0.1@%d" % srv.port, ternlib.free_port(), port=srv.pop_port,
              workdir=str(tmp_path), extra=['geo:', '  database: "%s"' % srv.geo_db]).start()
    try:
        deadline = time.time() + 15
        while time.time() < deadline and ask(pop, s["canonical"], "A", EU4, 24)[0] != dns.rcode.NOERROR:
            time.sleep(0.1)
        ternlib.wait_log(pop.log_text, "geo database", timeout=10)
        for subnet, prefix, rtype in ((EU4, 24, "A"), (NA4, 24, "A"), (EU6, 48, "AAAA"), (NA6, 48, "AAAA"), (None, None, "A")):
            assert ask(pop, s["canonical"], rtype, subnet, prefix) == ask(srv, s["canonical"], rtype, subnet, prefix)
        # a new deployment reaches the PoP by NOTIFY and IXFR
        r = alice.put("/api/v1/services/%s/deployment" % s["id"], {"deployment": {"regions": {"na": {"ipv4": ["192.0.2.77"]}}}})
        assert r.status == 200, r
        deadline = time.time() + 15
        while time.time() < deadline and ask(pop, s["canonical"], "A", EU4, 24)[1] != ["192.0.2.77"]:
            time.sleep(0.1)
        assert ask(pop, s["canonical"], "A", EU4, 24)[1] == ["192.0.2.77"]
        assert alice.delete("/api/v1/services/" + s["id"]).status == 200
        deadline = time.time() + 15
        while time.time() < deadline and ask(pop, s["canonical"], "A")[0] != dns.rcode.NXDOMAIN:
            time.sleep(0.1)
        assert ask(pop, s["canonical"], "A")[0] == dns.rcode.NXDOMAIN
    finally:
        pop.stop()


def test_cli(srv, alice, tmp_path):
    base = [TERN_CLI, "--api", "http://127.0.0.1:%d" % srv.api_port, "--token", alice.token]

    def tern(*args, stdin=None):
        return subprocess.run(base + list(args), capture_output=True, text=True, timeout=20, input=stdin)

    f = tmp_path / "deploy.json"
    f.write_text(json.dumps(DEPLOY))
    p = tern("--json", "service", "create", "--deployment", str(f))
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert UUID4.match(s["id"]) and s["canonical"].startswith(s["id"]), s
    p = tern("service", "list")
    assert p.returncode == 0 and s["id"] in p.stdout, p.stdout + p.stderr
    p = tern("service", "show", s["id"])
    assert p.returncode == 0 and s["canonical"] in p.stdout, p.stdout + p.stderr
    # no services.acme here: no certificate, and the route says so (state off)
    assert "certificate: off (services.acme.directory is not configured)" in p.stdout, p.stdout
    r = alice.get("/api/v1/services/%s/certificate" % s["id"])
    assert r.status == 200 and r.json["state"] == "off" and r.json["names"] == [s["canonical"]], r
    p = tern("service", "deploy", s["id"], "--deployment", "-",
             stdin=json.dumps({"regions": {"na": {"ipv4": ["192.0.2.55"]}}}))
    assert p.returncode == 0, p.stderr
    assert ask(srv, s["canonical"], "A", EU4, 24)[1] == ["192.0.2.55"]
    p = tern("service", "deploy", s["id"], "--deployment", "-", stdin='{"regions": {"eu": {"ipv4": ["::1"]}}}')
    assert p.returncode != 0 and "deployment.regions.eu.ipv4[0]" in p.stderr, p.stderr
    p = tern("service", "delete", s["id"])
    assert p.returncode == 0, p.stderr
    assert ask(srv, s["canonical"], "A")[0] == dns.rcode.NXDOMAIN


def test_zone_deleted_under_its_services(srv, alice, op):
    """Last: the operator deletes the services zone; a service made in it can still be deleted
    (its row alone, serial null), and a new one is refused naming services.zone."""
    s = create(alice, DEPLOY)
    r = op.delete("/api/v1/zones/app.test")
    assert r.status in (200, 204), r
    assert_error(alice.put("/api/v1/services/%s/deployment" % s["id"], {"deployment": DEPLOY}), 503,
                 "services.zone")
    r = alice.delete("/api/v1/services/" + s["id"])
    assert r.status == 200 and r.json == {"id": s["id"], "serial": None}, r
    for other in alice.get("/api/v1/services").json["services"]:  # test_create_answers_by_client's
        assert other["id"] != s["id"]
        assert alice.delete("/api/v1/services/" + other["id"]).status == 200
    assert alice.get("/api/v1/services").json == {"services": []}
    assert_error(alice.post("/api/v1/services", {"deployment": DEPLOY}), 503, "services.zone")
