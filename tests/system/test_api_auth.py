"""API authentication and authorisation: JWT failures (401), RS256 and ES256, tenant isolation
(404, never 403), admin, scoped tokens, the legacy X-Tenant-ID header, per-tenant rate limits."""
import http.client
import json
import time

import pytest

from apilib import (ApiTernd, Keys, Response, assert_error, assert_not_served, assert_served, error_problems, keys,  # noqa: F401
                    finish, server_fixture, soa_serial, zone_routes, zonefile)

srv = server_fixture()
legacy_srv = server_fixture(api={"legacy-tenant-header": True})
limited_srv = server_fixture(api={"rate-limit": 5, "rate-burst": 5})
legacy_limited_srv = server_fixture(api={"legacy-tenant-header": True, "rate-limit": 1, "rate-burst": 1000})


# --- JWT ---------------------------------------------------------------------------------------------

def test_es256_and_rs256_accepted(srv, keys):
    for alg in ("ES256", "RS256"):
        api = srv.api(keys.token("algs", alg=alg))
        r = api.get("/api/v1/zones")
        assert r.status == 200, (alg, r)
        z = "%s.algs.test" % alg.lower()
        api.create_zone(z)
        api.put_rrset(z, "www", "A", 60, ["192.0.2.1"])
        assert_served(srv, "www." + z, "A", ["192.0.2.1"])
        api.close()


@pytest.mark.parametrize("what", [
    "bad signature (other key, same kid)", "bad signature (one bit flipped)", "payload changed after signing",
    "expired", "not yet valid", "wrong alg: HS256 keyed with the EC public key",
    "wrong alg: HS256 keyed with the RSA public key", "alg none", "alg None (case)", "alg none without kid",
    "unknown kid", "RS256 header on the EC key", "ES256 header on the RSA key", "no kid", "not a JWT", "empty"])
def test_bad_tokens_get_401(srv, keys, what):
    owner = srv.api(keys.token("victim"))
    if owner.get("/api/v1/zones/victim.test").status == 404:
        owner.create_zone("victim.test")
    serial = soa_serial(srv, "victim.test")
    tok = keys.bad_tokens("victim")[what]
    api = srv.api(tok)
    for method, path, body in [("GET", "/api/v1/zones", None),
                               ("GET", "/api/v1/zones/victim.test/rrsets", None),
                               ("PUT", "/api/v1/zones/victim.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.9"]}),
                               ("POST", "/api/v1/zones", {"name": "stolen.test"})]:
        r = api.request(method, path, body)
        assert_error(r, 401, "Authorization")
    assert_not_served(srv, "www.victim.test", "A")
    assert soa_serial(srv, "victim.test") == serial
    assert owner.get("/api/v1/zones/stolen.test").status == 404
    api.close()
    owner.close()


def test_missing_and_malformed_authorization(srv, keys):
    api = srv.api(None)
    assert_error(api.get("/api/v1/zones", token=False), 401, "Authorization")
    good = keys.token("x")
    for h in ["Basic " + good, "Bearer", "Bearer ", good, "Token " + good]:
        assert_error(api.get("/api/v1/zones", token=False, headers={"Authorization": h}), 401, "Authorization")
    api.close()


def get_with_headers(srv, path, headers):
    """GET path with headers given as (name, value) pairs, a repeated name sent twice."""
    c = http.client.HTTPConnection("127.0.0.1", srv.api_port, timeout=30)
    try:
        c.putrequest("GET", path)
        for name, value in headers:
            c.putheader(name, value)
        c.endheaders()
        r = c.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        c.close()


def test_authorization_header_forms(srv, keys):
    """Two Authorization headers are refused whichever is good (a proxy and ternd could read
    different ones); the scheme takes one or more spaces before the token (RFC 6750)."""
    good, other = keys.token("hdr-a"), keys.token("hdr-b")
    for pair in [(good, other), (good, good), ("junk", good), (good, "junk")]:
        r = get_with_headers(srv, "/api/v1/zones", [("Authorization", "Bearer " + t) for t in pair])
        assert_error(r, 401, "Authorization", contains="more than one Authorization header")
    for h in ["Bearer " + good, "bearer " + good, "BEARER  " + good, "Bearer   " + good]:
        r = get_with_headers(srv, "/api/v1/zones", [("Authorization", h)])
        assert r.status == 200, (h[:10], r)
    for h in ["Bearer\t" + good, "Bearer " + good + " x", "Bearer " + good[:-1] + " " + good[-1]]:
        r = get_with_headers(srv, "/api/v1/zones", [("Authorization", h)])
        assert_error(r, 401, "Authorization")


# --- tenants ---------------------------------------------------------------------------------------

def test_other_tenant_gets_404_on_every_route(srv, keys):
    a = srv.api(keys.token("tenant-a"))
    b = srv.api(keys.token("tenant-b"))
    a.create_zone("owned-by-a.test")
    a.put_rrset("owned-by-a.test", "www", "A", 60, ["192.0.2.1"])
    p = a.post("/api/v1/zones/owned-by-a.test/proposals",
               {"rrsets": [{"name": "p", "type": "A", "ttl": 60, "records": ["192.0.2.2"]}]})
    assert p.status == 201, p
    before = a.rrsets("owned-by-a.test")
    for name in ("owned-by-a.test", "owned-by-a.test.", "OWNED-BY-A.TEST"):
        for method, path, body in zone_routes(name, pid=str(p.json["id"])):
            r = b.request(method, path, body)
            assert_error(r, 404, "zone")
            assert "tenant-a" not in r.body.decode(), r
    # bootstrap makes a zone: as POST /api/v1/zones, a name served already is a conflict, whose
    # tenant is not shown
    r = b.post("/api/v1/zones/owned-by-a.test/bootstrap", {})
    assert_error(r, 409, "zone")
    assert "tenant-a" not in r.body.decode(), r
    # nothing changed, nothing shown
    assert a.rrsets("owned-by-a.test") == before
    assert a.zone("owned-by-a.test")["locked"] is False
    assert_served(srv, "www.owned-by-a.test", "A", ["192.0.2.1"])
    assert "owned-by-a.test." not in [x["name"] for x in b.get("/api/v1/zones").json["zones"]]
    # the name belongs to A: B cannot create it (nor with a different spelling)
    for spelling in ("owned-by-a.test", "Owned-By-A.test."):
        assert_error(b.post("/api/v1/zones", {"name": spelling}), 409, "name")
    assert a.zone("owned-by-a.test")["tenant"] == "tenant-a"
    assert_served(srv, "www.owned-by-a.test", "A", ["192.0.2.1"])
    a.close()
    b.close()


def test_admin_sees_all(srv, keys):
    a = srv.api(keys.token("adm-a"))
    b = srv.api(keys.token("adm-b"))
    admin = srv.api(keys.token("operator", admin=True))
    a.create_zone("adm-a.test")
    b.create_zone("adm-b.test")
    names = [x["name"] for x in admin.get("/api/v1/zones?limit=1000").json["zones"]]
    assert "adm-a.test." in names and "adm-b.test." in names
    assert admin.zone("adm-a.test")["tenant"] == "adm-a"
    r = admin.put("/api/v1/zones/adm-b.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.8"]})
    assert r.status == 200, r
    assert_served(srv, "www.adm-b.test", "A", ["192.0.2.8"])
    # a role claim that is not "admin" gives nothing
    other = srv.api(keys.token("adm-c", role="superuser"))
    assert_error(other.get("/api/v1/zones/adm-a.test"), 404)
    for x in (a, b, admin, other):
        x.close()


# --- scoped tokens ---------------------------------------------------------------------------------

ACME = {"zones": ["z.test"], "names": ["_acme-challenge.z.test"], "types": ["TXT"]}


def test_acme_scope(srv, keys):
    owner = srv.api(keys.token("acme-owner"))
    owner.create_zone("z.test")
    owner.create_zone("other-z.test")
    owner.put_rrset("z.test", "www", "A", 60, ["192.0.2.1"])
    acme = srv.api(keys.token("acme-owner", scope=ACME))
    base = "/api/v1/zones/z.test/rrsets"
    r = acme.put(base + "/_acme-challenge/TXT", {"ttl": 60, "records": ["\"token-1\""]})
    assert r.status == 200, r
    assert_served(srv, "_acme-challenge.z.test", "TXT", ["\"token-1\""])
    r = acme.put(base + "/_acme-challenge.z.test./TXT", {"ttl": 60, "records": ["\"token-2\""]})
    assert r.status == 200, r
    assert_served(srv, "_acme-challenge.z.test", "TXT", ["\"token-2\""])
    r = acme.patch(base, {"rrsets": [{"name": "_acme-challenge", "type": "TXT", "ttl": 60,
                                      "records": ["\"token-3\""]}]})
    assert r.status == 200, r
    assert acme.get(base + "/_acme-challenge/TXT").status == 200
    serial = soa_serial(srv, "z.test")
    forbidden = [
        ("PUT", base + "/_acme-challenge/A", {"ttl": 60, "records": ["192.0.2.66"]}),
        ("PUT", base + "/www/TXT", {"ttl": 60, "records": ["\"x\""]}),
        ("PUT", base + "/www/A", {"ttl": 60, "records": ["192.0.2.66"]}),
        ("DELETE", base + "/www/A", None),
        ("PUT", base + "/sub._acme-challenge/TXT", {"ttl": 60, "records": ["\"x\""]}),
        ("PATCH", base, {"rrsets": [
            {"name": "_acme-challenge", "type": "TXT", "ttl": 60, "records": ["\"ok\""]},
            {"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.66"]}]}),
        ("DELETE", "/api/v1/zones/z.test", None),
        ("PUT", "/api/v1/zones/z.test/lock", {"reason": "acme"}),
        ("DELETE", "/api/v1/zones/z.test/lock", None),
        ("PUT", "/api/v1/zones/z.test/soa", {"refresh": 5}),
        ("POST", "/api/v1/zones/z.test/import", zonefile("z.test", "www 60 IN A 192.0.2.66")),
        ("POST", "/api/v1/zones", {"name": "new-by-acme.test"}),
    ]
    # and every writing route of the route table, aimed at www A (outside the scope)
    forbidden += [r for r in zone_routes("z.test") if r[0] != "GET" and "/approve" not in r[1]
                  and (r[0], r[1]) not in {(m, u) for m, u, _ in forbidden}]
    problems = error_problems(acme, forbidden, 403)
    # another zone of the same tenant is outside the scope: not visible at all
    for method, path, body in [("GET", "/api/v1/zones/other-z.test", None),
                               ("PUT", "/api/v1/zones/other-z.test/rrsets/_acme-challenge/TXT",
                                {"ttl": 60, "records": ["\"x\""]})]:
        r = acme.request(method, path, body)
        assert_error(r, (403, 404))
    # nothing of the above happened
    assert not problems, "the ACME-scoped token was not refused:\n" + "\n".join(problems)
    assert soa_serial(srv, "z.test") == serial
    assert_served(srv, "www.z.test", "A", ["192.0.2.1"])
    assert_not_served(srv, "_acme-challenge.z.test", "A")
    assert_not_served(srv, "www.z.test", "TXT")
    assert owner.zone("z.test")["locked"] is False
    assert owner.get("/api/v1/zones/new-by-acme.test").status == 404
    # the scope's token can delete its own record
    r = acme.delete(base + "/_acme-challenge/TXT")
    assert r.status == 200, r
    assert_not_served(srv, "_acme-challenge.z.test", "TXT")
    owner.close()
    acme.close()


def test_scoped_token_reads_only_its_scope(srv, keys):
    """A names/types-scoped token lists only what it may read; the export, the history and the
    proposals (which hold other records) must not hand it the rest of the zone."""
    owner = srv.api(keys.token("peek-owner"))
    owner.create_zone("peek.test")
    owner.put_rrset("peek.test", "secret", "TXT", 60, ["\"do-not-leak\""])
    r = owner.post("/api/v1/zones/peek.test/proposals",
                   {"rrsets": [{"name": "secret2", "type": "TXT", "ttl": 60, "records": ["\"do-not-leak\""]}]})
    assert r.status == 201, r
    acme = srv.api(keys.token("peek-owner", scope={"zones": ["peek.test"], "names": ["_acme-challenge.peek.test"],
                                                   "types": ["TXT"]}))
    r = acme.get("/api/v1/zones/peek.test/rrsets")
    assert r.status == 200 and "do-not-leak" not in r.body.decode(), r
    assert_error(acme.get("/api/v1/zones/peek.test/rrsets/secret/TXT"), 403)
    leaks = []
    for path in ("/api/v1/zones/peek.test/export", "/api/v1/zones/peek.test/changes",
                 "/api/v1/zones/peek.test/proposals"):
        r = acme.get(path)
        if r.status == 200 and "do-not-leak" in r.body.decode():
            leaks.append("GET %s -> %r" % (path, r))
    assert not leaks, "a names-scoped token reads records outside its scope:\n" + "\n".join(leaks)
    owner.close()
    acme.close()


def test_scope_compares_wire_labels(srv, keys):
    """A token for *.dyn.<zone> may write names below dyn.<zone> only: x\\.dyn.<zone> is one label
    "x.dyn" directly under the apex, whose text merely ends in ".dyn.<zone>"; and however a name is
    spelled (escapes, case, a final dot) it is its labels that the scope decides on."""
    owner = srv.api(keys.token("wire-owner"))
    owner.create_zone("wire.test")
    owner.put_rrset("wire.test", "x\\.dyn", "TXT", 60, ["\"owner's\""])
    serial = soa_serial(srv, "wire.test")
    dyn = srv.api(keys.token("wire-owner", scope={"zones": ["wire.test"], "names": ["*.dyn.wire.test"]}))
    base = "/api/v1/zones/wire.test/rrsets"
    txt = {"ttl": 60, "records": ["\"hijacked\""]}
    outside = ["x\\.dyn", "x\\.dyn.wire.test", "x\\.dyn.wire.test.", "X\\.DYN.Wire.Test", "x\\046dyn",
               "a.x\\.dyn", "\\.dyn", "dyndyn", "dyn"]
    forbidden = []
    for name in outside:
        forbidden += [("PATCH", base, {"rrsets": [dict(txt, name=name, type="TXT")]}),
                      ("PUT", base + "/" + name + "/TXT", txt),
                      ("DELETE", base + "/" + name + "/TXT", None),
                      ("POST", "/api/v1/zones/wire.test/proposals", {"rrsets": [dict(txt, name=name, type="TXT")]})]
    problems = error_problems(dyn, forbidden, 403, "name")
    assert not problems, "the *.dyn.wire.test token wrote outside its scope:\n" + "\n".join(problems)
    assert soa_serial(srv, "wire.test") == serial
    assert_served(srv, "x\\.dyn.wire.test", "TXT", ["\"owner's\""])
    assert_not_served(srv, "a.x\\.dyn.wire.test", "TXT")
    assert_not_served(srv, "dyndyn.wire.test", "TXT")
    r = dyn.get(base + "/x\\.dyn/TXT")
    assert_error(r, 403, "name")
    assert "owner's" not in dyn.get(base).body.decode()
    # names below dyn.wire.test, however spelled, are the token's
    for name, label in [("a.dyn", "a"), ("B.DYN.wire.test.", "b"), ("\\099.dyn", "c"), ("d.dyn.wire.test", "d")]:
        r = dyn.put(base + "/" + name + "/TXT", {"ttl": 60, "records": ["\"%s\"" % label]})
        assert r.status == 200, (name, r)
        assert_served(srv, label + ".dyn.wire.test", "TXT", ["\"%s\"" % label])
    r = dyn.patch(base, {"rrsets": [{"name": "e.Dyn", "type": "TXT", "ttl": 60, "records": ["\"e\""]}]})
    assert r.status == 200, r
    assert_served(srv, "e.dyn.wire.test", "TXT", ["\"e\""])
    owner.close()
    dyn.close()


def test_scope_with_bad_name_refuses_token(srv, keys):
    """A scope name that is no domain name refuses the whole token (401), saying why."""
    for scope, why in [({"names": ["x.*.wire.test"]}, "'*' is a wildcard only as the whole first label"),
                       ({"names": ["a..wire.test"]}, "empty label"),
                       ({"zones": ["b\u00fccher.test"]}, "non-ASCII character"),
                       ({"names": ["a\\256.wire.test"]}, "bad escape"),
                       ({"names": ["a" * 64 + ".wire.test"]}, "label longer than 63 octets")]:
        api = srv.api(keys.token("wire-owner", scope=scope))
        assert_error(api.get("/api/v1/zones"), 401, "Authorization", contains=why)
        api.close()


def test_read_only_scope(srv, keys):
    owner = srv.api(keys.token("ro-owner"))
    owner.create_zone("ro.test")
    owner.put_rrset("ro.test", "www", "A", 60, ["192.0.2.1"])
    p = owner.post("/api/v1/zones/ro.test/proposals",
                   {"rrsets": [{"name": "prop", "type": "A", "ttl": 60, "records": ["192.0.2.3"]}]})
    assert p.status == 201, p
    ro = srv.api(keys.token("ro-owner", scope={"read_only": True}))
    ro_admin = srv.api(keys.token("ro-admin", admin=True, scope={"read_only": True}))
    assert ro.get("/api/v1/zones/ro.test").status == 200
    assert ro.get("/api/v1/zones/ro.test/rrsets/www/A").status == 200
    assert ro.get("/api/v1/zones/ro.test/export").status == 200
    serial = soa_serial(srv, "ro.test")
    base = "/api/v1/zones/ro.test"
    writes = [
        ("PUT", base + "/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.66"]}),
        ("PUT", base + "/rrsets/new/A", {"ttl": 60, "records": ["192.0.2.66"]}),
        ("DELETE", base + "/rrsets/www/A", None),
        ("PATCH", base + "/rrsets", {"rrsets": [{"name": "new", "type": "A", "ttl": 60, "records": ["192.0.2.66"]}]}),
        ("PUT", base + "/soa", {"refresh": 5}),
        ("PUT", base + "/lock", {"reason": "ro"}),
        ("DELETE", base + "/lock", None),
        ("POST", base + "/import", zonefile("ro.test", "new 60 IN A 192.0.2.66")),
        ("POST", base + "/proposals", {"rrsets": [{"name": "new", "type": "A", "ttl": 60,
                                                   "records": ["192.0.2.66"]}]}),
        ("DELETE", base, None),
        ("POST", "/api/v1/zones", {"name": "ro-new.test"}),
    ]
    # and every writing route of the route table
    writes += [r for r in zone_routes("ro.test", name="new", pid=str(p.json["id"])) if r[0] != "GET"
               and (r[0], r[1]) not in {(m, u) for m, u, _ in writes}]
    problems = error_problems(ro, writes, 403)
    assert not problems, "the read-only token was not refused:\n" + "\n".join(problems)
    # a read-only admin cannot approve either
    assert_error(ro_admin.post(base + "/proposals/%d/approve" % p.json["id"]), 403)
    assert soa_serial(srv, "ro.test") == serial
    assert_served(srv, "www.ro.test", "A", ["192.0.2.1"])
    assert_not_served(srv, "new.ro.test", "A")
    assert_not_served(srv, "prop.ro.test", "A")
    assert owner.get("/api/v1/zones/ro-new.test").status == 404
    assert [x["status"] for x in owner.get(base + "/proposals").json["proposals"]] == ["pending"]
    for x in (owner, ro, ro_admin):
        x.close()


# --- legacy header ---------------------------------------------------------------------------------

def test_legacy_header_refused_by_default(srv, keys):
    owner = srv.api(keys.token("legacy"))
    owner.create_zone("legacy-off.test")
    api = srv.api(None)
    hdr = {"X-Tenant-ID": "legacy"}
    assert_error(api.get("/api/v1/zones", token=False, headers=hdr), 401, "Authorization")
    assert_error(api.get("/api/v1/zones/legacy-off.test", token=False, headers=hdr), 401)
    assert_error(api.put("/api/v1/zones/legacy-off.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.1"]},
                         token=False, headers=hdr), 401)
    assert_not_served(srv, "www.legacy-off.test", "A")
    owner.close()
    api.close()


def test_legacy_header_accepted_when_enabled(legacy_srv, keys):
    api = legacy_srv.api(None)
    hdr = {"X-Tenant-ID": "old-client"}
    r = api.post("/api/v1/zones", {"name": "legacy-on.test"}, token=False, headers=hdr)
    assert r.status == 201 and r.json["tenant"] == "old-client", r
    r = api.put("/api/v1/zones/legacy-on.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.5"]},
                token=False, headers=hdr)
    assert r.status == 200, r
    assert_served(legacy_srv, "www.legacy-on.test", "A", ["192.0.2.5"])
    # the header names the tenant: isolation still holds
    r = api.get("/api/v1/zones/legacy-on.test", token=False, headers={"X-Tenant-ID": "someone-else"})
    assert_error(r, 404)
    # a bearer token still works, and is the same tenant
    r = api.get("/api/v1/zones/legacy-on.test", token=keys.token("old-client"))
    assert r.status == 200, r
    # still nothing without either
    assert_error(api.get("/api/v1/zones", token=False), 401)
    api.close()


def test_legacy_header_is_checked_as_sub_is(legacy_srv, keys):
    """X-Tenant-ID names a tenant by the sub claim's rules: not longer than 128 bytes, no control
    character, and only once in a request; each refusal says which."""
    api = legacy_srv.api(None)
    r = api.post("/api/v1/zones", {"name": "legacy-rules.test"}, token=False, headers={"X-Tenant-ID": "rules"})
    assert r.status == 201, r
    for value, why in [("r" * 129, "X-Tenant-ID is longer than 128 bytes"),
                       ("ru\tles", "X-Tenant-ID contains a control character")]:  # HTTP allows a tab
        r = api.get("/api/v1/zones", token=False, headers={"X-Tenant-ID": value})
        assert_error(r, 401, "X-Tenant-ID", contains=why)
    # other control bytes are not HTTP (RFC 9110 5.5): the server refuses the request itself
    r = api.get("/api/v1/zones", token=False, headers={"X-Tenant-ID": "rul\x01es"})
    assert_error(r, 400, contains="header field X-Tenant-ID: control byte 0x01 in its value")
    assert len("r" * 128) == 128 and api.get("/api/v1/zones", token=False,
                                               headers={"X-Tenant-ID": "r" * 128}).status == 200
    for pair in [("rules", "someone-else"), ("someone-else", "rules"), ("rules", "rules")]:
        r = get_with_headers(legacy_srv, "/api/v1/zones/legacy-rules.test", [("X-Tenant-ID", t) for t in pair])
        assert_error(r, 401, "X-Tenant-ID", contains="more than one X-Tenant-ID header")
    r = api.get("/api/v1/zones/legacy-rules.test", token=False, headers={"X-Tenant-ID": "rules"})
    assert r.status == 200, r
    api.close()


# --- rate limit ------------------------------------------------------------------------------------

def rate_buckets(srv):
    text = srv.api(None).get("/metrics", token=False).body.decode()
    for line in text.splitlines():
        if line.startswith("tern_api_rate_buckets "):
            return int(line.split()[1])
    raise AssertionError("no tern_api_rate_buckets in /metrics:\n" + text)


def test_rate_limit_follows_a_bounded_set_of_tenants(legacy_limited_srv):
    """With legacy-tenant-header anyone names a tenant, and each had a rate-limit bucket for the
    life of the process (scanned on every request). The buckets are bounded: at 1,024, refilled
    ones go (here a bucket is refilled 1 s after its one request), then the least recently used."""
    api = legacy_limited_srv.api(None)
    for i in range(10):
        assert api.get("/api/v1/zones", token=False, headers={"X-Tenant-ID": "t%d" % i}).status == 200
    assert rate_buckets(legacy_limited_srv) == 10
    for i in range(10, 1500):
        r = api.get("/api/v1/zones", token=False, headers={"X-Tenant-ID": "t%d" % i})
        assert r.status == 200, r
    assert 0 < rate_buckets(legacy_limited_srv) <= 1024
    api.close()


def test_rate_limit_429_with_retry_after(limited_srv, keys):
    api = limited_srv.api(keys.token("busy"))
    other = limited_srv.api(keys.token("calm"))
    results = [api.get("/api/v1/zones") for _ in range(6)]
    assert [r.status for r in results[:5]] == [200] * 5, results
    r = results[5]
    assert_error(r, 429)
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 60, r.headers
    # per tenant: another tenant is not held up
    assert other.get("/api/v1/zones").status == 200
    # writes count too, and a refused write is not applied
    r = api.post("/api/v1/zones", {"name": "too-fast.test"})
    assert_error(r, 429)
    time.sleep(0.5)  # 5/s: two tokens back
    assert api.get("/api/v1/zones").status == 200
    assert other.get("/api/v1/zones/too-fast.test").status == 404
    assert all(x["name"] != "too-fast.test." for x in api.get("/api/v1/zones").json["zones"])
    api.close()
    other.close()


def test_no_zone_below_another_tenants_zone(srv, keys):
    """A zone name is owned by one tenant: another tenant cannot carve a child zone out of it
    (ternd answers from the most specific zone, so the child would take over A's names)."""
    a = srv.api(keys.token("parent-owner"))
    b = srv.api(keys.token("hijacker"))
    a.create_zone("parent.test")
    a.put_rrset("parent.test", "www.shop", "A", 60, ["192.0.2.1"])
    r = b.post("/api/v1/zones", {"name": "shop.parent.test", "rrsets": [
        {"name": "www", "type": "A", "ttl": 60, "records": ["203.0.113.66"]}]})
    try:
        assert 400 <= r.status < 500, \
            "tenant hijacker created a zone below tenant parent-owner's parent.test: %r" % r
        assert_error(r, r.status)
        assert_served(srv, "www.shop.parent.test", "A", ["192.0.2.1"])
    finally:
        if r.status == 201:
            b.delete("/api/v1/zones/shop.parent.test")
    # the owner itself may split its zone
    r = a.post("/api/v1/zones", {"name": "own.parent.test"})
    assert r.status == 201, r
    a.close()
    b.close()


def wait_log(srv, text, timeout=5.0):
    deadline = time.time() + timeout
    while text not in srv.log_text():
        assert time.time() < deadline, "no %r in the log:\n%s" % (text, srv.log_text()[-3000:])
        time.sleep(0.02)


def test_jwks_reloads_on_sighup(tmp_path):
    """Keys rotate without a restart: SIGHUP reads the JWKS again and forgets cached tokens, so a
    token of a removed key is refused at once; a broken JWKS keeps the keys in use."""
    k = Keys(str(tmp_path / "keys"))
    s = ApiTernd(k, workdir=str(tmp_path)).start()
    try:
        es, rs = s.api(k.token("rot")), s.api(k.token("rot", alg="RS256"))
        assert es.get("/api/v1/zones").status == 200 and rs.get("/api/v1/zones").status == 200
        with open(k.jwks) as f:
            good = json.load(f)
        with open(k.jwks, "w") as f:
            f.write("{not json")
        s.reload()
        wait_log(s, "JWKS not reloaded")
        assert es.get("/api/v1/zones").status == 200
        good["keys"] = [key for key in good["keys"] if key["kid"] != "es1"]
        with open(k.jwks, "w") as f:
            json.dump(good, f)
        s.reload()
        wait_log(s, "JWKS reloaded")
        assert_error(es.get("/api/v1/zones"), 401, "Authorization")
        assert rs.get("/api/v1/zones").status == 200
    finally:
        finish(s)
