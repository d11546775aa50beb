"""The OpenAPI document and the server agree: every path and method in docs/openapi.json (the same
document the server serves) exists on the server, and every route of the server's route table
(routes[] in src/ternd/api/api.c) is in the document."""
import json
import os
import re

import pytest

import ternlib
from apilib import ApiTernd, assert_error, finish, keys, server_routes, shape, zonefile  # noqa: F401


@pytest.fixture(scope="module")
def srv(tmp_path_factory, keys):  # noqa: F811
    """ternd with the API and services under oa-app.test (the service routes are called too)."""
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    s = ApiTernd(keys, workdir=str(tmp_path_factory.mktemp("ternd-api")))
    templates = str(tmp_path_factory.mktemp("dconn-templates"))
    with open(os.path.join(templates, "oa.json"), "w") as f:  # a Domain Connect template, for its routes
        json.dump({"providerId": "oa-provider.test", "providerName": "OA", "serviceId": "svc", "serviceName": "OA",
                   "records": [{"type": "TXT", "host": "@", "data": "oa", "ttl": 60}]}, f)
    with open(s.config, "a") as f:
        f.write("services:\n  zone: oa-app.test\n  regions: [{name: eu, continents: [EU]}]\n")
        f.write('domainconnect:\n  provider-id: "tern.test"\n  provider-name: "Tern"\n'
                '  url: "http://127.0.0.1:%d"\n  templates: "%s"\n' % (s.api_port, templates))
    s.start()
    try:
        yield s
    finally:
        finish(s)

DOC = os.path.join(ternlib.ROOT, "docs", "openapi.json")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def doc_routes(doc):
    out = set()
    for path, item in doc["paths"].items():
        for method in item:
            if method in METHODS:
                out.add((method.upper(), path))
    return out


def test_served_document_is_the_repository_document(srv):
    with open(DOC) as f:
        doc = json.load(f)
    r = srv.api().get("/api/v1/openapi.json", token=False)
    assert r.status == 200, r
    assert (r.headers.get("Content-Type") or "").startswith("application/json")
    assert json.loads(r.body) == doc
    assert doc["openapi"].startswith("3.")


def test_every_served_route_is_documented():
    with open(DOC) as f:
        doc = json.load(f)
    documented = {(m, shape(p)) for m, p in doc_routes(doc)}
    missing = sorted(r for r in server_routes() if r not in documented)
    assert not missing, "routes served but not in docs/openapi.json: %s" % missing


def test_every_documented_route_is_served(srv, keys):
    """Each documented path+method is called with real resources (a zone, an RRset, a proposal)
    so that a 404 or 405 can only mean the route itself is missing."""
    with open(DOC) as f:
        doc = json.load(f)
    owner = srv.api(keys.token("openapi"))
    admin = srv.api(keys.token("openapi-admin", admin=True))
    owner.create_zone("oa.test")
    owner.create_zone("oa-delete.test")
    owner.put_rrset("oa.test", "www", "A", 60, ["192.0.2.1"])
    owner.put_rrset("oa.test", "gone", "A", 60, ["192.0.2.2"])
    pid = owner.post("/api/v1/zones/oa.test/proposals",
                     {"rrsets": [{"name": "p", "type": "A", "ttl": 60, "records": ["192.0.2.3"]}]}).json["id"]
    owner.create_zone("oa-app.test")
    deployment = {"deployment": {"regions": {"eu": {"ipv4": ["192.0.2.1"]}}}}
    sid = owner.post("/api/v1/services", deployment).json["id"]
    # an alias of a second service, removed by the DELETE of .../domains/{name} (the first service
    # is deleted before it, DELETE routes running in path order)
    sid2 = owner.post("/api/v1/services", deployment).json["id"]
    assert owner.post("/api/v1/services/%s/domains" % sid2, {"name": "www.oa-alias.test"}).status == 202
    # a TSIG key named as the {name} parameter, shown and deleted by GET and DELETE .../tsig-keys/{name}
    assert owner.post("/api/v1/tsig-keys", {"name": "www", "acl": [{"zones": ["oa.test"]}]}).status == 201
    # a Route 53 access key, deleted by DELETE .../r53-keys/{id}
    r53_key = owner.post("/api/v1/r53-keys").json["access_key_id"]
    params = {"zone": "oa.test", "name": "www", "type": "A", "id": str(pid), "service": sid, "tenant": "openapi",
              "domain": "oa.test", "providerId": "oa-provider.test", "serviceId": "svc"}
    bodies = {
        ("POST", "/api/v1/zones"): {"name": "oa-new.test"},
        ("POST", "/api/v1/zones/{}/import"): zonefile("oa.test", "www 60 IN A 192.0.2.1", "gone 60 IN A 192.0.2.2"),
        ("PUT", "/api/v1/zones/{}/lock"): {"reason": "openapi"},
        ("PUT", "/api/v1/zones/{}/soa"): {"refresh": 3600},
        ("PATCH", "/api/v1/zones/{}/rrsets"): {"rrsets": [{"name": "x", "type": "A", "ttl": 60,
                                                           "records": ["192.0.2.4"]}]},
        ("PUT", "/api/v1/zones/{}/rrsets/{}/{}"): {"ttl": 60, "records": ["192.0.2.1"]},
        ("POST", "/api/v1/zones/{}/proposals"): {"rrsets": [{"name": "q", "type": "A", "ttl": 60,
                                                             "records": ["192.0.2.5"]}]},
        ("POST", "/api/v1/services"): deployment,
        ("PUT", "/api/v1/services/{}/deployment"): deployment,
        ("POST", "/api/v1/services/{}/domains"): {"name": "oa-alias.test"},
        ("POST", "/api/v1/tsig-keys"): {"name": "oa-key", "acl": [{"zones": ["oa.test"], "types": ["TXT"]}]},
        ("POST", "/api/v1/ownership"): {"name": "oa-claim.test"},
    }
    # order: the lock comes off before writes, deletions last
    order = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
    routes = sorted(doc_routes(doc), key=lambda r: (order.get(r[0], 9), r[1]))
    routes = [r for r in routes if r != ("PUT", "/api/v1/zones/{zone}/lock")] + \
        [r for r in routes if r == ("PUT", "/api/v1/zones/{zone}/lock")]
    problems = []
    for method, path in routes:
        key = (method, shape(path))
        url = re.sub(r"\{([^}/]*)\}", lambda m: params[m.group(1)], path)
        if method == "DELETE" and shape(path) == "/api/v1/zones/{}":
            url = "/api/v1/zones/oa-delete.test"
        if method == "DELETE" and shape(path) == "/api/v1/zones/{}/rrsets/{}/{}":
            url = "/api/v1/zones/oa.test/rrsets/gone/A"
        if method == "DELETE" and shape(path) == "/api/v1/r53-keys/{}":
            url = "/api/v1/r53-keys/%s" % r53_key
        if method == "DELETE" and shape(path) == "/api/v1/services/{}/domains/{}":
            url = "/api/v1/services/%s/domains/www.oa-alias.test" % sid2
        client = admin if "approve" in path else owner
        r = client.request(method, url, bodies.get(key))
        if r.status in (404, 405) or r.status >= 500:
            problems.append("%s %s (as %s) -> %r" % (method, path, url, r))
    assert not problems, "documented routes the server does not serve:\n" + "\n".join(problems)
    owner.close()
    admin.close()


def test_undocumented_paths_are_404(srv):
    api = srv.api()
    assert_error(api.get("/api/v2/zones", token=False), 404)
    assert_error(api.get("/api/v1/zones/oa.test/nothing", token=False), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow(srv, method):
    api = srv.api()
    path = "/api/v1/openapi.json" if method != "GET" else "/api/v1/zones/oa.test/import"
    r = api.request(method, path, token=False)
    assert_error(r, 405)
    assert r.headers.get("Allow"), r.headers
