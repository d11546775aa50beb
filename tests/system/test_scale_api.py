"""API-managed zones at scale (issue 18), at `make test` size: a few thousand zones made through
POST /api/v1/zones/batch. A restart serves every stored zone before ternd says it is ready (the last
zone and a random sample are asked the moment the ready line is logged); listing by cursor hands out
every zone exactly once, in canonical order, for a tenant and for an admin; the per-tenant limit
counts right through batches, deletions and a restart; a batch is all or none, naming the zone an
error is about. The big sizes are bench/scale/bench_scale_api.py's."""
import os
import random
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

import ternlib
from apilib import ApiTernd, assert_error, finish, keys, wait_api  # noqa: F401

ZONES = 3000  # tenant alpha's, from the bulk path
BATCH = 1000
SAMPLE = 60


def name(i):
    return "z%05d.scale.test" % i


def body(n):
    return {"name": n, "rrsets": [{"name": "www.%s." % n, "type": "A", "ttl": 300, "records": ["192.0.2.7"]}]}


def batch(api, names):
    return api.post("/api/v1/zones/batch", {"zones": [body(n) for n in names]})


def fill(api, names):
    for at in range(0, len(names), BATCH):
        r = batch(api, names[at:at + BATCH])
        assert r.status == 201, r
        assert [z["name"] for z in r.json["zones"]] == [n + "." for n in names[at:at + BATCH]]


def soa_answered(srv, names):
    """The names whose SOA ternd does not answer (authoritative NOERROR with the SOA)."""
    missing = []
    for n in names:
        q = dns.message.make_query(n, "SOA")
        try:
            r = dns.query.udp(q, srv.addr, port=srv.port, timeout=2)
        except dns.exception.Timeout:
            missing.append(n)
            continue
        if r.rcode() != dns.rcode.NOERROR or not any(rr.rdtype == dns.rdatatype.SOA for rr in r.answer):
            missing.append(n)
    return missing


def listing(api, limit):
    """Every zone name the caller lists, page by page (checked: each page at most limit)."""
    out, cursor, pages = [], None, 0
    while True:
        r = api.get("/api/v1/zones?limit=%d%s" % (limit, "&cursor=" + cursor if cursor else ""))
        assert r.status == 200, r
        doc = r.json
        assert len(doc["zones"]) <= limit
        out += [z["name"] for z in doc["zones"]]
        pages += 1
        cursor = doc["next"]
        if cursor is None:
            return out, pages
        assert doc["zones"] and cursor == doc["zones"][-1]["name"], doc["next"]


def canonical_key(n):
    """RFC 4034 6.1 order of lower-case names: labels from the root, compared as bytes."""
    return [lab.encode() for lab in reversed(n.rstrip(".").split("."))]


def test_api_zones_at_scale(tmp_path, keys):  # noqa: F811
    limit = ZONES + 5
    srv = ApiTernd(keys, workdir=str(tmp_path), api={"max-zones-per-tenant": limit}).start()
    try:
        alpha, beta = srv.api(keys.token("alpha")), srv.api(keys.token("beta"))
        admin = srv.api(keys.token("operator", admin=True))
        names = [name(i) for i in range(ZONES)]
        random.Random(18).shuffle(names)  # the store's order is canonical order, not creation order
        t0 = time.monotonic()
        fill(alpha, names)
        fill_s = time.monotonic() - t0
        # another tenant's zones between alpha's in canonical order
        others = ["z%05d-b.scale.test" % i for i in range(0, ZONES, 300)]
        fill(beta, others)

        # a batch is all or none: a name taken, a name twice, a bad field; each names zones[i]
        e = assert_error(batch(alpha, ["new1.scale.test", names[5]]), 409, "zones[1].name")
        assert "zones[1]: zone %s. already exists" % names[5] in e["message"], e
        e = assert_error(batch(alpha, ["new1.scale.test", "new2.scale.test", "new1.scale.test"]), 409,
                         "zones[2].name")
        assert "zones[2]: zone new1.scale.test. already exists" in e["message"], e
        r = alpha.post("/api/v1/zones/batch", {"zones": [body("new1.scale.test"), dict(body("new2.scale.test"),
                                                                                        ttl=5)]})
        assert_error(r, 400, "zones[1].ttl")
        assert_error(alpha.post("/api/v1/zones/batch", {"zones": []}), 400, "zones")
        assert_error(alpha.post("/api/v1/zones/batch", {"zones": [body("a.scale.test")], "x": 1}), 400, "x")
        assert_error(batch(alpha, ["x%d.scale.test" % i for i in range(1001)]), 400, "zones")
        for n in ("new1.scale.test", "new2.scale.test"):
            assert alpha.get("/api/v1/zones/" + n).status == 404 and soa_answered(srv, [n]) == [n]

        # the limit counts batches: 5 more fit alpha, not 6 (and nothing of the refused batch is made)
        e = assert_error(batch(alpha, ["more%d.scale.test" % i for i in range(6)]), 403, "zones")
        assert e["message"] == ("api.max-zones-per-tenant is %d and tenant alpha holds %d zones: the batch "
                                "does not fit" % (limit, ZONES)), e
        assert batch(alpha, ["more%d.scale.test" % i for i in range(4)]).status == 201
        assert alpha.post("/api/v1/zones", body("more4.scale.test")).status == 201
        e = assert_error(alpha.post("/api/v1/zones", body("more5.scale.test")), 403, "name")
        assert e["message"] == "api.max-zones-per-tenant is %d and tenant alpha holds %d zones" % (limit, limit), e
        assert alpha.delete("/api/v1/zones/more4.scale.test").status == 204
        assert beta.post("/api/v1/zones", body("b-more.scale.test")).status == 201  # beta's own count

        # listing: every zone once, in canonical order; a tenant sees only its own
        every = sorted([n + "." for n in names] + ["more%d.scale.test." % i for i in range(4)], key=canonical_key)
        got, pages = listing(alpha, 100)
        assert got == every, "alpha's listing: %d zones, %d distinct, %d expected" % (
            len(got), len(set(got)), len(every))
        assert pages == (len(every) + 99) // 100
        got, _ = listing(alpha, 1000)
        assert got == every
        beta_all = sorted([n + "." for n in others] + ["b-more.scale.test."], key=canonical_key)
        assert listing(beta, 7)[0] == beta_all
        assert listing(admin, 500)[0] == sorted(every + beta_all, key=canonical_key)

        # a restart: every zone served by the time the ready line is logged
        served_before = len(every) + len(beta_all)
        srv.stop()
        with open(srv.log) as f:
            seen = len(f.read())
        rng = random.Random(7)
        sample = [every[-1].rstrip("."), beta_all[-1].rstrip(".")] + rng.sample(names, SAMPLE)
        proc = srv.launch()
        deadline = time.monotonic() + 120
        text = ""
        while "ready: " not in text:
            assert proc.poll() is None, "ternd exited: %s" % text[-3000:]
            assert time.monotonic() < deadline, "no ready line: %s" % text[-3000:]
            time.sleep(0.005)
            with open(srv.log) as f:
                text = f.read()[seen:]
        missing = soa_answered(srv, sample)
        assert not missing, "not served when ready was logged: %s" % missing[:10]
        assert "API: %d zone(s) rebuilt from" % served_before in text, text[-3000:]
        assert "ready: %d zone(s) served" % served_before in text, text[-3000:]
        ternlib.wait_udp(srv.addr, srv.port, proc=srv.proc)
        wait_api(srv.api_port, srv.proc)
        assert soa_answered(srv, [n.rstrip(".") for n in every + beta_all]) == []
        # the counts survive the restart
        alpha, beta = srv.api(keys.token("alpha")), srv.api(keys.token("beta"))
        assert alpha.post("/api/v1/zones", body("more4.scale.test")).status == 201
        e = assert_error(alpha.post("/api/v1/zones", body("more5.scale.test")), 403, "name")
        assert "tenant alpha holds %d zones" % limit in e["message"], e
        assert listing(alpha, 250)[0] == sorted(every + ["more4.scale.test."], key=canonical_key)
        print("filled %d zones in %.1f s" % (ZONES, fill_s))
    finally:
        finish(srv)
