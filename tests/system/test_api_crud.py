"""API CRUD with live serving: every 200/201 is already served over UDP when it arrives (no sleep),
the SOA serial goes up with every change; zone defaults, pagination, show, delete, SOA settings."""
import dns.rcode
import pytest

from apilib import (NAMESERVERS, assert_error, assert_not_served, assert_refused, assert_served, keys,  # noqa: F401
                    serial_gt, server_fixture, soa_serial)

srv = server_fixture(api={"hostmaster": "dnsadmin.tern.test.", "default-ttl": 1800, "soa-refresh": 1000,
                          "soa-retry": 200, "soa-expire": 300000, "soa-minimum": 60})


@pytest.fixture
def api(srv, keys):
    a = srv.api(keys.token("crud"))
    yield a
    a.close()


def test_create_with_defaults_is_served_at_once(srv, api):
    z = api.create_zone("defaults.test")
    assert z["name"] == "defaults.test." and z["tenant"] == "crud" and z["locked"] is False
    # served before the 201 arrived: SOA and NS from the configuration
    r = srv.query("defaults.test", "SOA")
    assert r.rcode() == dns.rcode.NOERROR and r.answer, r.to_text()
    soa = r.answer[0]
    assert soa.ttl == 1800
    s = soa[0]
    assert s.mname.to_text() == NAMESERVERS[0] and s.rname.to_text() == "dnsadmin.tern.test."
    assert (s.serial, s.refresh, s.retry, s.expire, s.minimum) == (z["serial"], 1000, 200, 300000, 60)
    assert_served(srv, "defaults.test", "NS", NAMESERVERS, ttl=1800)
    # the API's view agrees
    rrsets = {(x["name"], x["type"]): x for x in api.rrsets("defaults.test")["rrsets"]}
    assert set(rrsets) == {("defaults.test.", "SOA"), ("defaults.test.", "NS")}
    assert sorted(rrsets[("defaults.test.", "NS")]["records"]) == NAMESERVERS


def test_create_with_given_nameservers_and_rrsets(srv, api):
    z = api.create_zone("given.test", nameservers=["a.ns.example.", "b.ns.example."],
                        rrsets=[{"name": "www", "type": "A", "ttl": 120, "records": ["192.0.2.10", "192.0.2.11"]},
                                {"name": "@", "type": "MX", "ttl": 300, "records": ["10 mail.given.test."]}])
    assert_served(srv, "given.test", "NS", ["a.ns.example.", "b.ns.example."])
    assert srv.query("given.test", "SOA").answer[0][0].mname.to_text() == "a.ns.example."
    assert_served(srv, "www.given.test", "A", ["192.0.2.10", "192.0.2.11"], ttl=120)
    assert_served(srv, "given.test", "MX", ["10 mail.given.test."], ttl=300)
    assert soa_serial(srv, "given.test") == z["serial"]


def test_create_from_zonefile(srv, api):
    text = ("$ORIGIN zf.test.\n$TTL 600\n"
            "@ IN SOA ns.zf.test. admin.zf.test. 7 3600 600 86400 120\n"
            "@ IN NS ns.zf.test.\nns IN A 192.0.2.53\nwww IN CNAME ns\n")
    api.create_zone("zf.test", zonefile=text)
    assert_served(srv, "ns.zf.test", "A", ["192.0.2.53"], ttl=600)
    r = srv.query("www.zf.test", "A")
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 2, r.to_text()
    s = srv.query("zf.test", "SOA").answer[0][0]
    assert (s.refresh, s.retry, s.expire, s.minimum) == (3600, 600, 86400, 120)


def test_rrset_put_get_replace_delete_live(srv, api):
    api.create_zone("live.test")
    serial = soa_serial(srv, "live.test")
    steps = [
        ("PUT", "www", "A", {"ttl": 300, "records": ["192.0.2.1"]}, ["192.0.2.1"]),
        ("PUT", "www", "A", {"ttl": 60, "records": ["192.0.2.2", "192.0.2.3"]}, ["192.0.2.2", "192.0.2.3"]),
        ("PUT", "www", "AAAA", {"ttl": 60, "records": ["2001:db8::1"]}, ["2001:db8::1"]),
        ("PUT", "txt", "TXT", {"ttl": 60, "records": ["\"hello world\"", "\"a\" \"b\""]},
         ["\"hello world\"", "\"a\" \"b\""]),
        ("PUT", "www.live.test.", "A", {"ttl": 90, "records": ["192.0.2.4"]}, ["192.0.2.4"]),
        ("PUT", "@", "MX", {"ttl": 90, "records": ["10 mx.live.test."]}, ["10 mx.live.test."]),
        ("DELETE", "www", "AAAA", None, None),
        ("DELETE", "txt", "TXT", None, None),
    ]
    for method, name, rtype, body, texts in steps:
        r = api.request(method, "/api/v1/zones/live.test/rrsets/%s/%s" % (name, rtype), body)
        assert r.status == 200, r
        owner = "live.test" if name == "@" else (name.rstrip(".") if name.endswith(".") else name + ".live.test")
        # no sleep: the answer is the new one right now
        if texts is None:
            assert_not_served(srv, owner, rtype)
            g = api.get("/api/v1/zones/live.test/rrsets/%s/%s" % (name, rtype))
            assert_error(g, 404)
        else:
            assert_served(srv, owner, rtype, texts, ttl=body["ttl"])
            g = api.get("/api/v1/zones/live.test/rrsets/%s/%s" % (name, rtype))
            assert g.status == 200 and sorted(g.json["records"]) == sorted(texts) and g.json["ttl"] == body["ttl"], g
        new = soa_serial(srv, "live.test")
        assert serial_gt(new, serial), "serial %d did not go up from %d after %s %s %s" % (
            new, serial, method, name, rtype)
        assert r.json["serial"] == new, (r, new)
        assert api.serial("live.test") == new
        serial = new


def test_patch_batch_is_served_at_once(srv, api):
    api.create_zone("batch.test")
    serial = soa_serial(srv, "batch.test")
    r = api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": [
        {"name": "a", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
        {"name": "b.batch.test.", "type": "AAAA", "ttl": 60, "records": ["2001:db8::b"]},
        {"name": "c", "type": "TXT", "ttl": 60, "records": ["\"c\""]},
    ]})
    assert r.status == 200 and r.json["changes"] == 3, r
    assert_served(srv, "a.batch.test", "A", ["192.0.2.1"])
    assert_served(srv, "b.batch.test", "AAAA", ["2001:db8::b"])
    assert_served(srv, "c.batch.test", "TXT", ["\"c\""])
    new = soa_serial(srv, "batch.test")
    assert serial_gt(new, serial) and r.json["serial"] == new
    r = api.patch("/api/v1/zones/batch.test/rrsets", {"rrsets": [
        {"name": "a", "type": "A", "delete": True},
        {"name": "c", "type": "TXT", "ttl": 30, "records": ["\"c2\""]},
    ]})
    assert r.status == 200, r
    assert_not_served(srv, "a.batch.test", "A")
    assert_served(srv, "c.batch.test", "TXT", ["\"c2\""], ttl=30)
    assert serial_gt(soa_serial(srv, "batch.test"), new)


def test_serial_increment_policy(srv, api):
    z = api.create_zone("incr.test", serial_policy="increment")
    assert z["serial_policy"] == "increment"
    s0 = soa_serial(srv, "incr.test")
    for i in range(3):
        api.put_rrset("incr.test", "n%d" % i, "A", 60, ["192.0.2.%d" % (i + 1)])
        assert soa_serial(srv, "incr.test") == s0 + i + 1


def test_serial_date_policy(srv, api):
    import time
    z = api.create_zone("date.test", serial_policy="date")
    today = int(time.strftime("%Y%m%d", time.gmtime())) * 100
    assert today <= z["serial"] < today + 100, z
    api.put_rrset("date.test", "x", "A", 60, ["192.0.2.1"])
    assert soa_serial(srv, "date.test") == z["serial"] + 1


def test_soa_settings_per_zone(srv, api):
    api.create_zone("soa.test")
    serial = soa_serial(srv, "soa.test")
    r = api.put("/api/v1/zones/soa.test/soa", {"mname": "ns9.elsewhere.example.", "refresh": 111, "retry": 22,
                                               "expire": 333333, "minimum": 44, "ttl": 555})
    assert r.status == 200, r
    rr = srv.query("soa.test", "SOA").answer[0]
    s = rr[0]
    assert rr.ttl == 555
    assert (s.mname.to_text(), s.refresh, s.retry, s.expire, s.minimum) == (
        "ns9.elsewhere.example.", 111, 22, 333333, 44)
    assert serial_gt(s.serial, serial)
    # the SOA cannot be written through the RRset routes (the serial is the server's)
    r = api.put("/api/v1/zones/soa.test/rrsets/@/SOA", {"ttl": 60, "records": [
        "a.example. b.example. 1 2 3 4 5"]})
    assert_error(r, 400, "type")


def test_soa_given_at_create(srv, api):
    api.create_zone("soacreate.test", soa={"mname": "ns7.elsewhere.example.", "rname": "ops.elsewhere.example.",
                                           "refresh": 7200, "retry": 900, "expire": 604800, "minimum": 120,
                                           "ttl": 3600})
    rr = srv.query("soacreate.test", "SOA").answer[0]
    s = rr[0]
    assert rr.ttl == 3600
    assert (s.mname.to_text(), s.rname.to_text(), s.refresh, s.retry, s.expire, s.minimum) == (
        "ns7.elsewhere.example.", "ops.elsewhere.example.", 7200, 900, 604800, 120)
    # fields not given keep the configured defaults; the serial is always the server's
    api.create_zone("soapart.test", soa={"minimum": 60})
    s = srv.query("soapart.test", "SOA").answer[0][0]
    assert (s.rname.to_text(), s.refresh, s.minimum) == ("dnsadmin.tern.test.", 1000, 60)
    for body, field in [({"soa": "ns1.example."}, "soa"), ({"soa": {"refresh": -1}}, "soa.refresh"),
                        ({"soa": {"mname": "bad..name"}}, "soa.mname"), ({"soa": {"serial": 5}}, "soa.serial"),
                        ({"soa": {"ttl": 2 ** 31}}, "soa.ttl"),
                        ({"soa": {"minimum": 5}, "zonefile": "@ SOA a. b. 1 2 3 4 5\n@ NS a.\n"}, "soa")]:
        r = api.post("/api/v1/zones", dict(name="soabad.test", **body))
        assert_error(r, 400, field)
        assert api.get("/api/v1/zones/soabad.test").status == 404
        assert_refused(srv, "soabad.test")


def test_show_and_list_pagination(srv, keys):
    api = srv.api(keys.token("pager"))
    names = ["p%02d.pages.test" % i for i in range(25)]
    for n in names:
        api.create_zone(n)
    z = api.zone("p07.pages.test")
    assert z["name"] == "p07.pages.test." and z["tenant"] == "pager"
    r = api.get("/api/v1/zones/p07.pages.test.")  # trailing dot too
    assert r.status == 200 and r.json["name"] == "p07.pages.test."
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/zones?limit=10" + ("&cursor=" + cursor if cursor else "")
        r = api.get(path)
        assert r.status == 200, r
        page = [x["name"] for x in r.json["zones"]]
        pages += 1
        assert len(page) == (10 if pages < 3 else 5), (pages, page)
        seen += page
        cursor = r.json["next"]
        if cursor is None:
            break
        assert pages < 5, "pagination does not end"
    assert pages == 3
    assert seen == sorted(n + "." for n in names), seen
    # default page holds them all, and only this tenant's zones
    r = api.get("/api/v1/zones")
    assert sorted(x["name"] for x in r.json["zones"]) == sorted(n + "." for n in names)
    assert all(x["tenant"] == "pager" for x in r.json["zones"])
    api.close()


def test_delete_zone_then_refused(srv, api):
    api.create_zone("gone.test")
    api.put_rrset("gone.test", "www", "A", 60, ["192.0.2.1"])
    assert_served(srv, "www.gone.test", "A", ["192.0.2.1"])
    r = api.delete("/api/v1/zones/gone.test")
    assert r.status in (200, 204), r
    assert_refused(srv, "gone.test", "SOA")
    assert_refused(srv, "www.gone.test", "A")
    assert_error(api.get("/api/v1/zones/gone.test"), 404, "zone")
    assert_error(api.get("/api/v1/zones/gone.test/rrsets"), 404, "zone")
    assert "gone.test." not in [x["name"] for x in api.get("/api/v1/zones").json["zones"]]
    # the name is free again, and comes back empty
    api.create_zone("gone.test")
    assert_not_served(srv, "www.gone.test", "A")
    assert srv.query("gone.test", "SOA").rcode() == dns.rcode.NOERROR


def test_changes_journal(srv, api):
    z = api.create_zone("journal.test", serial_policy="increment")
    api.put_rrset("journal.test", "www", "A", 60, ["192.0.2.1"])
    api.put_rrset("journal.test", "www", "A", 60, ["192.0.2.2"])
    r = api.get("/api/v1/zones/journal.test/changes")
    assert r.status == 200, r
    ch = r.json["changes"]
    assert len(ch) == 2, ch
    steps = sorted((c["serial_from"], c["serial_to"]) for c in ch)
    assert steps == [(z["serial"], z["serial"] + 1), (z["serial"] + 1, z["serial"] + 2)]
    last = max(ch, key=lambda c: c["serial_to"])
    added = {(x["name"], x["type"]): x["records"] for x in last["added"]}
    removed = {(x["name"], x["type"]): x["records"] for x in last["removed"]}
    assert added[("www.journal.test.", "A")] == ["192.0.2.2"]
    assert removed[("www.journal.test.", "A")] == ["192.0.2.1"]


def test_changes_journal_pages(srv, api):
    z = api.create_zone("pagedjournal.test", serial_policy="increment")
    for i in range(7):
        api.put_rrset("pagedjournal.test", "www", "A", 60, ["192.0.2.%d" % (i + 1)])
    seen, cursor = [], None
    while True:
        r = api.get("/api/v1/zones/pagedjournal.test/changes?limit=3" + ("&cursor=%d" % cursor if cursor else ""))
        assert r.status == 200, r
        assert len(r.json["changes"]) <= 3
        seen += [c["serial_to"] for c in r.json["changes"]]
        cursor = r.json["next"]
        if cursor is None:
            break
    assert seen == [z["serial"] + 7 - i for i in range(7)]  # newest first, each once
    for query, field in [("cursor=abc", "cursor"), ("cursor=0", "cursor"), ("limit=0", "limit"),
                         ("limit=1001", "limit")]:
        assert_error(api.get("/api/v1/zones/pagedjournal.test/changes?" + query), 400, field)


def test_healthz(srv, api):
    api.create_zone("health.test")
    r = api.get("/healthz", token=False)
    assert r.status == 200 and r.json["status"] == "ok", r
    assert r.json["zones"] >= 1
    serials = r.json.get("serials", {})
    assert serials.get("health.test.") == soa_serial(srv, "health.test"), r


def test_unknown_route_and_method(srv, api):
    assert_error(api.get("/api/v1/nothing"), 404)
    r = api.request("POST", "/api/v1/zones/x.test/export")
    assert_error(r, 405)
    assert "GET" in (r.headers.get("Allow") or ""), r.headers
