"""Bad input, table-driven: every bad request gets a 4xx JSON error naming the field (never a 5xx)
and changes nothing, neither in the store nor in what is served; batch PATCHes are all or nothing."""
import json

import pytest

from apilib import (assert_error, assert_not_served, assert_refused, assert_served, keys,  # noqa: F401
                    server_fixture, soa_serial, zonefile)

srv = server_fixture()

ZONE = "input.test"
RS = "/api/v1/zones/%s/rrsets" % ZONE
GOOD = {"ttl": 60, "records": ["192.0.2.7"]}
LONG_NAME = ".".join(["a" * 60] * 5)  # 304 characters: over 255 octets
LABEL64 = "b" * 64


@pytest.fixture(scope="module")
def api(srv, keys):
    a = srv.api(keys.token("input"))
    a.create_zone(ZONE)
    a.patch(RS, {"rrsets": [
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
        {"name": "@", "type": "MX", "ttl": 300, "records": ["10 mail.input.test."]},
        {"name": "mail", "type": "A", "ttl": 300, "records": ["192.0.2.25"]},
        {"name": "txt", "type": "TXT", "ttl": 300, "records": ["\"keep\""]},
    ]})
    yield a
    a.close()


def state(srv, api):
    """What must not move: the stored RRsets, the stored and served serial, the journal."""
    rr = api.rrsets(ZONE)
    changes = api.get("/api/v1/zones/%s/changes" % ZONE).json["changes"]
    return {"rrsets": sorted(json.dumps(x, sort_keys=True) for x in rr["rrsets"]), "serial": api.serial(ZONE),
            "served_serial": soa_serial(srv, ZONE), "changes": len(changes)}


def served_state(srv):
    return {(n, t): srv.query(n, t).to_text().split("\n", 1)[1]  # without the id line
            for n, t in [("www.input.test", "A"), ("input.test", "MX"), ("txt.input.test", "TXT"),
                         ("new.input.test", "A"), ("input.test", "NS"), ("input.test", "SOA")]}


# (description, method, path, body (JSON value, or raw str/bytes via RAW), expected status, field)
# field: the field the error must name; ANY_OR_NONE where the body as a whole is bad.
ANY_OR_NONE = object()


class RAW:
    def __init__(self, data):
        self.data = data.encode() if isinstance(data, str) else data


def put(name="new", rtype="A", **body):
    return "%s/%s/%s" % (RS, name, rtype), body


CASES = []


def case(desc, method, path, body, status, field):
    CASES.append(pytest.param(method, path, body, status, field, id=desc))


# TTLs
for desc, ttl in [("-1", -1), ("2^31", 2 ** 31), ("2^32", 2 ** 32), ("abc", "abc"), ("null", None),
                  ("1.5", 1.5), ("string 300", "300"), ("true", True), ("-2^31", -2 ** 31), ("2^63-1", 2 ** 63 - 1)]:
    case("PUT ttl " + desc, "PUT", RS + "/new/A", {"ttl": ttl, "records": ["192.0.2.7"]}, 400, "ttl")
    case("PATCH ttl " + desc, "PATCH", RS, {"rrsets": [{"name": "new", "type": "A", "ttl": ttl,
                                                        "records": ["192.0.2.7"]}]}, 400, "rrsets[0].ttl")
case("PUT ttl missing", "PUT", RS + "/new/A", {"records": ["192.0.2.7"]}, 400, "ttl")
case("PUT ttl 2^64 (beyond JSON integers)", "PUT", RS + "/new/A",
     RAW('{"ttl": 18446744073709551616, "records": ["192.0.2.7"]}'), 400, ANY_OR_NONE)
# names
for desc, name in [("too long", LONG_NAME), ("label of 64", LABEL64), ("empty label", "a..b"),
                   ("leading dot", ".a"), ("outside the zone", "www.other.test."),
                   ("parent of the zone", "test."), ("zone name as suffix only", "xinput.test."),
                   ("root", ".")]:
    case("PUT name " + desc, "PUT", "%s/%s/A" % (RS, name), GOOD, 400, "name")
    case("PATCH name " + desc, "PATCH", RS, {"rrsets": [dict(GOOD, name=name, type="A")]}, 400, "rrsets[0].name")
case("PATCH name missing", "PATCH", RS, {"rrsets": [dict(GOOD, type="A")]}, 400, "rrsets[0].name")
case("PATCH name not a string", "PATCH", RS, {"rrsets": [dict(GOOD, name=5, type="A")]}, 400, "rrsets[0].name")
case("PUT name in body differs from URL", "PUT", RS + "/new/A", dict(GOOD, name="other"), 400, "name")
# types
for desc, t in [("unknown", "FOO"), ("TYPE70000", "TYPE70000"), ("ANY", "ANY"), ("AXFR", "AXFR"), ("OPT", "OPT"),
                ("TSIG", "TSIG"), ("TYPE0", "TYPE0"), ("SOA", "SOA"), ("empty-ish", "TYPE")]:
    case("PUT type " + desc, "PUT", "%s/new/%s" % (RS, t), GOOD, 400, "type")
    case("PATCH type " + desc, "PATCH", RS, {"rrsets": [dict(GOOD, name="new", type=t)]}, 400, "rrsets[0].type")
case("PATCH type missing", "PATCH", RS, {"rrsets": [dict(GOOD, name="new")]}, 400, "rrsets[0].type")
case("PUT type in body differs from URL", "PUT", RS + "/new/A", dict(GOOD, type="AAAA"), 400, "type")
# RDATA
for desc, t, rec in [("A word", "A", "not-an-ip"), ("A five octets", "A", "1.2.3.4.5"), ("A 256", "A", "256.1.1.1"),
                     ("A trailing junk", "A", "192.0.2.1 extra"), ("AAAA with IPv4", "AAAA", "192.0.2.1"),
                     ("MX without preference", "MX", "mail.input.test."), ("MX word preference", "MX", "abc mail."),
                     ("MX preference 65536", "MX", "65536 mail."), ("TXT unterminated", "TXT", "\"abc"),
                     ("CNAME empty label", "CNAME", "a..b."), ("SRV short", "SRV", "1 2 host."),
                     ("CAA bad flag", "CAA", "256 issue \"ca.example\""), ("DS bad hex", "DS", "1 8 2 XYZ"),
                     ("empty string", "A", ""), ("newline: a second record", "A", "192.0.2.1\nx 60 IN A 192.0.2.99"),
                     ("directive", "A", "$INCLUDE /etc/passwd"), ("comment hides junk", "A", "192.0.2.1 ; x"),
                     ("NUL byte", "A", "192.0.2.1\u0000junk")]:
    nul = "\u0000" in rec  # jansson refuses NUL in strings while parsing: no field to name then
    case("PUT rdata " + desc, "PUT", "%s/new/%s" % (RS, t), {"ttl": 60, "records": [rec]}, 400,
         ANY_OR_NONE if nul else "records[0]")
    case("PATCH rdata " + desc, "PATCH", RS, {"rrsets": [{"name": "new", "type": t, "ttl": 60, "records": [rec]}]},
         400, ANY_OR_NONE if nul else "rrsets[0].records[0]")
case("PUT second record bad", "PUT", RS + "/new/A", {"ttl": 60, "records": ["192.0.2.1", "bad"]}, 400, "records[1]")
case("PUT records empty", "PUT", RS + "/new/A", {"ttl": 60, "records": []}, 400, "records")
case("PUT records a string", "PUT", RS + "/new/A", {"ttl": 60, "records": "192.0.2.1"}, 400, "records")
case("PUT records null", "PUT", RS + "/new/A", {"ttl": 60, "records": None}, 400, "records")
case("PUT records missing", "PUT", RS + "/new/A", {"ttl": 60}, 400, "records")
case("PUT record a number", "PUT", RS + "/new/A", {"ttl": 60, "records": [1]}, 400, "records[0]")
case("PUT record an object", "PUT", RS + "/new/A", {"ttl": 60, "records": [{"a": 1}]}, 400, "records[0]")
case("PUT 1001 records", "PUT", RS + "/new/TXT", {"ttl": 60, "records": ["\"%d\"" % i for i in range(1001)]}, 400,
     "records")
# bodies: not JSON, wrong shape, extra fields
for desc, raw in [("empty", ""), ("garbage", "hello"), ("truncated", '{"ttl": 60, "records": ["192.0.2.7"]'),
                  ("bad UTF-8", b'{"ttl": 60, "records": ["\xff\xfe"]}'), ("trailing garbage", '{"ttl": 60} x'),
                  ("duplicate keys", '{"ttl": 60, "ttl": 61, "records": ["192.0.2.7"]}'),
                  ("NUL inside", b'{"ttl": 60, "records": ["192.0.2.7"]}\x00'),
                  ("single quotes", "{'ttl': 60}"), ("deeply nested", "[" * 5000 + "]" * 5000)]:
    case("PUT body " + desc, "PUT", RS + "/new/A", RAW(raw), 400, ANY_OR_NONE)
    case("PATCH body " + desc, "PATCH", RS, RAW(raw), 400, ANY_OR_NONE)
    case("POST zones body " + desc, "POST", "/api/v1/zones", RAW(raw), 400, ANY_OR_NONE)
for desc, body in [("array", [GOOD]), ("string", "x"), ("number", 5), ("null", None)]:
    case("PUT body JSON " + desc, "PUT", RS + "/new/A", RAW(json.dumps(body)), 400, ANY_OR_NONE)
    case("PATCH body JSON " + desc, "PATCH", RS, RAW(json.dumps(body)), 400, ANY_OR_NONE)
    case("POST zones body JSON " + desc, "POST", "/api/v1/zones", RAW(json.dumps(body)), 400, ANY_OR_NONE)
case("PUT extra field", "PUT", RS + "/new/A", dict(GOOD, color="red"), 400, "color")
case("PUT delete:true", "PUT", RS + "/new/A", {"delete": True}, 400, "delete")
case("PATCH missing rrsets", "PATCH", RS, {}, 400, "rrsets")
case("PATCH extra top-level field", "PATCH", RS, {"rrsets": [dict(GOOD, name="new", type="A")], "dry_run": True},
     400, "dry_run")
case("PATCH rrsets an object", "PATCH", RS, {"rrsets": {"name": "new"}}, 400, "rrsets")
case("PATCH rrsets empty", "PATCH", RS, {"rrsets": []}, 400, "rrsets")
case("PATCH change a number", "PATCH", RS, {"rrsets": [5]}, 400, "rrsets[0]")
case("PATCH change extra field", "PATCH", RS, {"rrsets": [dict(GOOD, name="new", type="A", color="red")]}, 400,
     "rrsets[0].color")
case("PATCH delete not true", "PATCH", RS, {"rrsets": [{"name": "www", "type": "A", "delete": "yes"}]}, 400,
     "rrsets[0].delete")
case("PATCH delete with records", "PATCH", RS, {"rrsets": [{"name": "www", "type": "A", "delete": True,
                                                              "ttl": 60, "records": ["192.0.2.9"]}]},
     400, "rrsets[0].delete")
case("PATCH second change bad ttl", "PATCH", RS, {"rrsets": [dict(GOOD, name="new", type="A"),
                                                             {"name": "n2", "type": "A", "ttl": -1,
                                                              "records": ["192.0.2.8"]}]}, 400, "rrsets[1].ttl")
case("PATCH 1001 changes", "PATCH", RS, {"rrsets": [dict(GOOD, name="n%d" % i, type="A") for i in range(1001)]},
     400, "rrsets")
# zone creation
Z = "/api/v1/zones"
for desc, body, field in [
        ("name missing", {}, "name"), ("name empty", {"name": ""}, "name"), ("name a number", {"name": 5}, "name"),
        ("name empty label", {"name": "a..b.test"}, "name"), ("name too long", {"name": LONG_NAME}, "name"),
        ("name label of 64", {"name": LABEL64 + ".test"}, "name"),
        ("extra field", {"name": "bad-create.test", "owner": "me"}, "owner"),
        ("nameservers a string", {"name": "bad-create.test", "nameservers": "ns1.x."}, "nameservers"),
        ("nameservers empty", {"name": "bad-create.test", "nameservers": []}, "nameservers"),
        ("nameserver bad", {"name": "bad-create.test", "nameservers": ["a..b."]}, "nameservers[0]"),
        ("nameserver a number", {"name": "bad-create.test", "nameservers": ["ns1.x.", 5]}, "nameservers[1]"),
        ("serial_policy unknown", {"name": "bad-create.test", "serial_policy": "weekly"}, "serial_policy"),
        ("rrsets bad ttl", {"name": "bad-create.test", "rrsets": [{"name": "www", "type": "A", "ttl": -1,
                                                                   "records": ["192.0.2.1"]}]}, "rrsets[0].ttl"),
        ("rrsets out of zone", {"name": "bad-create.test", "rrsets": [{"name": "www.other.test.", "type": "A",
                                                                       "ttl": 60, "records": ["192.0.2.1"]}]},
         "rrsets[0].name"),
        ("rrsets bad rdata", {"name": "bad-create.test", "rrsets": [{"name": "www", "type": "A", "ttl": 60,
                                                                     "records": ["x"]}]}, "rrsets[0].records[0]"),
        ("rrsets CNAME beside A", {"name": "bad-create.test", "rrsets": [
            {"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
            {"name": "www", "type": "CNAME", "ttl": 60, "records": ["x.example."]}]}, "rrsets"),
        ("rrsets not a list", {"name": "bad-create.test", "rrsets": {}}, "rrsets"),
        ("zonefile garbage", {"name": "bad-create.test", "zonefile": "this is not a zone"}, "zonefile"),
        ("zonefile a number", {"name": "bad-create.test", "zonefile": 5}, "zonefile"),
        ("zonefile of another zone", {"name": "bad-create.test", "zonefile": zonefile("other.test")}, "zonefile"),
        ("zonefile without SOA", {"name": "bad-create.test",
                                  "zonefile": "$ORIGIN bad-create.test.\n@ 60 IN NS ns1.x.\n"}, "zonefile"),
        ("zonefile with $INCLUDE", {"name": "bad-create.test", "zonefile": zonefile("bad-create.test")
                                    + "$INCLUDE /etc/passwd\n"}, "zonefile")]:
    case("POST zones " + desc, "POST", Z, body, 400, field)
# other routes' inputs
for desc, q in [("0", "limit=0"), ("abc", "limit=abc"), ("1001", "limit=1001"), ("-1", "limit=-1"),
                ("empty", "limit=")]:
    case("GET zones limit " + desc, "GET", Z + "?" + q, None, 400, "limit")
case("GET zones bad cursor", "GET", Z + "?cursor=a..b", None, 400, "cursor")
L = "/api/v1/zones/%s/lock" % ZONE
case("lock reason empty", "PUT", L, {"reason": ""}, 400, "reason")
case("lock reason a number", "PUT", L, {"reason": 5}, 400, "reason")
case("lock reason too long", "PUT", L, {"reason": "x" * 600}, 400, "reason")
case("lock body garbage", "PUT", L, RAW("garbage"), 400, ANY_OR_NONE)
S = "/api/v1/zones/%s/soa" % ZONE
case("soa refresh -1", "PUT", S, {"refresh": -1}, 400, "refresh")
case("soa expire 2^32", "PUT", S, {"expire": 2 ** 32}, 400, "expire")
case("soa ttl abc", "PUT", S, {"ttl": "abc"}, 400, "ttl")
case("soa mname bad", "PUT", S, {"mname": "a..b."}, 400, "mname")
case("soa serial not settable", "PUT", S, {"serial": 5}, 400, "serial")
case("soa body an array", "PUT", S, RAW("[]"), 400, ANY_OR_NONE)
I = "/api/v1/zones/%s/import" % ZONE
case("import garbage", "POST", I, RAW("garbage garbage"), 400, "body")
case("import empty", "POST", I, RAW(""), 400, "body")
case("import out-of-zone record", "POST", I, RAW(zonefile(ZONE, "www.other.test. 60 IN A 192.0.2.1")), 400, "body")
case("import another zone", "POST", I, RAW(zonefile("other.test", "www 60 IN A 192.0.2.1")), 400, "body")
case("import CNAME beside A", "POST", I, RAW(zonefile(ZONE, "www 60 IN A 192.0.2.1", "www 60 IN CNAME x.")), 400,
     "body")
P = "/api/v1/zones/%s/proposals" % ZONE
case("proposal bad ttl", "POST", P, {"rrsets": [{"name": "new", "type": "A", "ttl": -1, "records": ["192.0.2.1"]}]},
     400, "rrsets[0].ttl")
case("proposal missing rrsets", "POST", P, {}, 400, "rrsets")
for desc, pid in [("abc", "abc"), ("0", "0"), ("-1", "-1"), ("huge", "99999999999999999999"), ("absent", "424242")]:
    case("approve id " + desc, "POST", P + "/%s/approve" % pid, None, 404, "id")
case("DELETE absent RRset", "DELETE", RS + "/nothing/A", None, 404, "name")
case("GET bad zone name", "GET", "/api/v1/zones/a..b/rrsets", None, (400, 404), "zone")


@pytest.mark.parametrize("method,path,body,status,field", CASES)
def test_bad_input(srv, api, method, path, body, status, field):
    before, served_before = state(srv, api), served_state(srv)
    if isinstance(body, RAW):
        r = api.request(method, path, raw=body.data)
    else:
        r = api.request(method, path, body)
    assert r.status < 500, "5xx for bad input: %r" % r
    e = assert_error(r, status, None if field is ANY_OR_NONE else field)
    assert e.get("message"), r
    # nothing half-applied: store, journal and served answers as before
    assert state(srv, api) == before
    assert served_state(srv) == served_before
    assert api.get("/api/v1/zones/bad-create.test").status == 404
    assert_refused(srv, "bad-create.test")


def test_body_too_large_is_413(srv, api):
    before = state(srv, api)
    big = json.dumps({"ttl": 60, "records": ["\"%s\"" % ("x" * 200)] * 6000}).encode()
    assert len(big) > 1024 * 1024
    # (an import may be up to 64 MiB: test_api_import.py::test_body_limits)
    for method, path in [("PUT", RS + "/new/TXT"), ("PATCH", RS), ("POST", "/api/v1/zones")]:
        r = api.request(method, path, raw=big)
        assert_error(r, 413, what="%s %s with %d bytes" % (method, path, len(big)))
        api.close()  # the server may close a connection whose body it refused
    assert state(srv, api) == before
    assert_not_served(srv, "new.input.test", "TXT")


def test_ttl_boundaries_accepted(srv, api):
    for ttl in (0, 2 ** 31 - 1):
        r = api.put(RS + "/edge/A", {"ttl": ttl, "records": ["192.0.2.5"]})
        assert r.status == 200 and r.json["ttl"] == ttl, r
        assert_served(srv, "edge.input.test", "A", ["192.0.2.5"], ttl=ttl)
    assert api.delete(RS + "/edge/A").status == 200


def test_owner_names_are_read_as_labels(srv, api):
    """An owner is absolute when its labels end in the zone's (or with a final dot), else relative:
    decided on the parsed labels, not on the text, so "y\\.input.test" (the label "y.input", then
    "test") is relative; a body's name matches the URL's when they are the same name, however
    each is spelled."""
    r = api.put(RS + "/y\\.input.test/TXT", {"ttl": 60, "records": ["\"y\""]})
    assert r.status == 200 and r.json["name"] == "y\\.input.test.input.test.", r
    assert_served(srv, "y\\.input.test.input.test", "TXT", ["\"y\""])
    for url, body_name in [("spelled", "SPELLED.input.test."), ("spelled", "\\115pelled"),
                           ("Spelled.INPUT.test", "spelled")]:
        r = api.put(RS + "/%s/TXT" % url, {"name": body_name, "ttl": 60, "records": ["\"s\""]})
        assert r.status == 200 and r.json["name"] == "spelled.input.test.", (url, body_name, r)
    assert_served(srv, "spelled.input.test", "TXT", ["\"s\""])
    r = api.put(RS + "/spelled/TXT", {"name": "spelled.input.test.input.test", "ttl": 60, "records": ["\"s\""]})
    assert_error(r, 400, "name", "differs from the name in the URL")
    for name in ("y\\.input.test.input.test", "spelled"):
        assert api.delete(RS + "/%s/TXT" % name).status == 200


ZONE_RULES = [
    # (description, request, field the error should name)
    ("CNAME beside A", ("PUT", RS + "/www/CNAME", {"ttl": 60, "records": ["elsewhere.example."]}), "name"),
    ("A beside CNAME", None, "name"),
    ("CNAME at the apex", ("PUT", RS + "/@/CNAME", {"ttl": 60, "records": ["elsewhere.example."]}), "name"),
    ("apex NS deleted", ("DELETE", RS + "/@/NS", None), "name"),
    ("apex SOA deleted", ("DELETE", RS + "/@/SOA", None), "name"),
    ("apex SOA deleted, named absolutely", ("DELETE", RS + "/input.test./soa", None), "name"),
    ("apex NS deleted in a PATCH", ("PATCH", RS, {"rrsets": [{"name": "@", "type": "NS", "delete": True}]}),
     "rrsets[0]"),
    ("two CNAMEs", ("PUT", RS + "/alias/CNAME", {"ttl": 60, "records": ["a.example.", "b.example."]}), "records"),
]


@pytest.mark.parametrize("desc,req,field", ZONE_RULES, ids=[x[0] for x in ZONE_RULES])
def test_zone_rules_hold(srv, api, desc, req, field):
    """The zone's rules on every write: refused with a 4xx naming the field, nothing applied."""
    if req is None:  # A beside an existing CNAME
        r = api.put(RS + "/cn/CNAME", {"ttl": 60, "records": ["www.input.test."]})
        assert r.status == 200, r
        req = ("PUT", RS + "/cn/A", {"ttl": 60, "records": ["192.0.2.1"]})
    before, served_before = state(srv, api), served_state(srv)
    r = api.request(*req)
    assert 400 <= r.status < 500, "%s: %r" % (desc, r)
    assert_error(r, r.status)
    assert state(srv, api) == before and served_state(srv) == served_before
    assert r.error.get("field") is not None, \
        "%s: refused, but the error names no field (expected something like %r): %r" % (desc, field, r)


def test_apex_soa_delete_names_the_soa(srv, api):
    """DELETE of the apex SOA is refused as the apex NS is: 400, the SOA named, nothing moves."""
    before = state(srv, api)
    r = api.delete(RS + "/@/SOA")
    assert_error(r, 400, "name", contains="SOA record at the apex input.test. cannot be removed")
    assert state(srv, api) == before
    # the SOA's fields still change through their own route, and the serial moves on
    r = api.put("/api/v1/zones/%s/soa" % ZONE, {"refresh": 4321})
    assert r.status == 200, r
    assert r.json["serial"] > before["serial"] and "4321" in r.json["records"][0]


BAD_LAST = [
    ("rdata that does not parse", {"name": "bad", "type": "A", "ttl": 60, "records": ["300.1.1.1"]}),
    ("TTL 2^32", {"name": "bad", "type": "A", "ttl": 2 ** 32, "records": ["192.0.2.9"]}),
    ("name outside the zone", {"name": "bad.other.test.", "type": "A", "ttl": 60, "records": ["192.0.2.9"]}),
    ("unknown type", {"name": "bad", "type": "NOPE", "ttl": 60, "records": ["192.0.2.9"]}),
    ("CNAME beside existing data", {"name": "c", "type": "CNAME", "ttl": 60, "records": ["x.example."]}),
    ("apex NS deleted", {"name": "@", "type": "NS", "delete": True}),
    ("SOA", {"name": "@", "type": "SOA", "ttl": 60, "records": ["a. b. 1 2 3 4 5"]}),
]


@pytest.mark.parametrize("desc,bad", BAD_LAST, ids=[x[0] for x in BAD_LAST])
def test_batch_is_all_or_nothing(srv, keys, desc, bad):
    api = srv.api(keys.token("atomic"))
    zone = "atomic-%d.test" % BAD_LAST.index((desc, bad))
    api.create_zone(zone)
    rs = "/api/v1/zones/%s/rrsets" % zone
    r = api.patch(rs, {"rrsets": [{"name": "a", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
                                  {"name": "b", "type": "A", "ttl": 60, "records": ["192.0.2.2"]},
                                  {"name": "c", "type": "TXT", "ttl": 60, "records": ["\"c\""]}]})
    assert r.status == 200, r
    serial = soa_serial(srv, zone)
    listed = api.rrsets(zone)
    journal = len(api.get("/api/v1/zones/%s/changes" % zone).json["changes"])
    good = [{"name": "a", "type": "A", "ttl": 120, "records": ["192.0.2.101"]},   # replace
            {"name": "b", "type": "A", "delete": True},                           # delete
            {"name": "d", "type": "AAAA", "ttl": 60, "records": ["2001:db8::d"]}]  # add
    r = api.patch(rs, {"rrsets": good + [bad]})
    assert 400 <= r.status < 500, "%s: %r" % (desc, r)
    assert_error(r, r.status)
    # nothing of the three good changes happened, served or stored
    assert_served(srv, "a.%s" % zone, "A", ["192.0.2.1"], ttl=60)
    assert_served(srv, "b.%s" % zone, "A", ["192.0.2.2"])
    assert_served(srv, "c.%s" % zone, "TXT", ["\"c\""])
    assert_not_served(srv, "d.%s" % zone, "AAAA")
    assert soa_serial(srv, zone) == serial
    assert api.rrsets(zone) == listed
    assert api.serial(zone) == serial
    assert len(api.get("/api/v1/zones/%s/changes" % zone).json["changes"]) == journal
    # and the same three changes alone go through together
    r = api.patch(rs, {"rrsets": good})
    assert r.status == 200, r
    assert_served(srv, "a.%s" % zone, "A", ["192.0.2.101"], ttl=120)
    assert_not_served(srv, "b.%s" % zone, "A")
    assert_served(srv, "d.%s" % zone, "AAAA", ["2001:db8::d"])
    api.close()
