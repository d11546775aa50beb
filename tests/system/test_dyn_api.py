"""Dynamic answers through the API and to a PoP (issue 17): a DYN RRset is managed like any RRset
(PUT, GET, DELETE), refused whole with the statement at fault, and travels to a ternd PoP by IXFR
as records of the private-use type, where the same client gets the same answer."""
import os
import signal
import time

import dns.edns
import dns.message
import dns.query
import pytest

import ternlib
from apilib import assert_error, finish, keys  # noqa: F401
from ternlib import free_port
from test_pops import Control, Pop

GEO = ["pool br 192.0.2.10", "pool world 192.0.2.1 2001:db8::1", "answer world", "geo 198.51.100.0/24 br world"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, keys):
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s" % ternlib.TERND)
    base = tmp_path_factory.mktemp("dynapi")
    dns1, h1 = free_port(), free_port()
    extra = "transfer:\n  allow: [127.0.0.0/8]\n  notify: [\"127.0.0.1@%d\"]\n" % dns1
    (base / "control").mkdir()
    control = Control(keys, extra, workdir=str(base / "control"), api={"serial-policy": "increment"})
    pop = None
    try:
        control.start()
        api = control.api(keys.token("example"))
        api.create_zone("dyn.test")
        (base / "pop").mkdir()
        pop = Pop(["dyn.test"], "127.0.0.1@%d" % control.port, h1, port=dns1, workdir=str(base / "pop"))
        pop.start()
        yield control, pop, api
        api.close()
    finally:
        if pop is not None:
            rc = pop.stop()
            text = open(pop.log).read()
            assert rc == 0, text[-3000:]
            assert "AddressSanitizer" not in text and "runtime error:" not in text, text[-6000:]
        finish(control)


def ask(srv, name, rdtype="A", ecs=None):
    opts = [dns.edns.ECSOption(*ecs)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0, options=opts)
    r = dns.query.udp(q, srv.addr, port=srv.port, timeout=3)
    return sorted(rd.address for rrset in r.answer for rd in rrset), \
        [o.scopelen for o in r.options if o.otype == dns.edns.ECS]


def wait_same(control, pop, name, ecs, timeout=10.0):
    want = ask(control, name, ecs=ecs)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ask(pop, name, ecs=ecs) == want:
            return want
        time.sleep(0.02)
    raise AssertionError("PoP answers %r, control %r; PoP log:\n%s" % (ask(pop, name, ecs=ecs), want,
                                                                        pop.log_text()[-3000:]))


def test_put_serves_and_reaches_the_pop(cluster):
    control, pop, api = cluster
    r = api.put("/api/v1/zones/dyn.test/rrsets/www/DYN", {"ttl": 60, "records": GEO})
    assert r.status == 200, r
    assert ask(control, "www.dyn.test", ecs=("198.51.100.7", 24)) == (["192.0.2.10"], [24])
    assert ask(control, "www.dyn.test", ecs=("192.0.2.0", 24))[0] == ["192.0.2.1"]
    for ecs in (("198.51.100.7", 24), ("192.0.2.0", 24), None):
        wait_same(control, pop, "www.dyn.test", ecs)
    assert ask(pop, "www.dyn.test", "AAAA")[0] == ["2001:db8::1"]
    # GET gives the statements back as written (TXT's text form)
    r = api.get("/api/v1/zones/dyn.test/rrsets/www/DYN")
    assert r.status == 200, r
    assert sorted(r.json["records"]) == sorted('"%s"' % '" "'.join(s.split()) for s in GEO), r.json


def test_one_statement_changes_by_ixfr(cluster):
    control, pop, api = cluster
    changed = [s if not s.startswith("pool br") else "pool br 192.0.2.11" for s in GEO]
    r = api.put("/api/v1/zones/dyn.test/rrsets/www/DYN", {"ttl": 60, "records": changed})
    assert r.status == 200, r
    assert wait_same(control, pop, "www.dyn.test", ("198.51.100.7", 24)) == (["192.0.2.11"], [24])
    assert "IXFR" in pop.log_text(), pop.log_text()[-2000:]


@pytest.mark.parametrize("records,says", [
    (["pool a 192.0.2.1", "answer b"], 'pool "b" is not defined'),
    (["pool a 192.0.2.1 weight -1", "answer a"], 'weight "-1"'),
    (["pool a 192.0.2.1 weight 0", "answer a"], "every weight is 0"),
    (["monitor m http http://[::1/x", "pool a 192.0.2.1 monitor m", "answer a"], "unclosed ["),
    (["pool a 192.0.2.1"], "missing (answer"),
])
def test_bad_resources_change_nothing(cluster, records, says):
    control, pop, api = cluster
    before = api.serial("dyn.test")
    r = api.put("/api/v1/zones/dyn.test/rrsets/bad/DYN", {"ttl": 60, "records": records})
    e = assert_error(r, (400, 422))
    assert says in e["message"] and "bad.dyn.test" in e["message"], e
    assert api.serial("dyn.test") == before
    assert api.get("/api/v1/zones/dyn.test/rrsets/bad/DYN").status == 404


def test_fixed_address_beside_a_resource_is_refused(cluster):
    control, pop, api = cluster
    r = api.put("/api/v1/zones/dyn.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.99"]})
    e = assert_error(r, (400, 409, 422))
    assert "beside A or AAAA" in e["message"], e
    # and the other way round
    api.put_rrset("dyn.test", "fixed", "A", 60, ["192.0.2.98"])
    r = api.put("/api/v1/zones/dyn.test/rrsets/fixed/DYN", {"ttl": 60, "records": GEO})
    assert_error(r, (400, 409, 422), contains="beside A or AAAA")


def test_delete_makes_the_name_static_again(cluster):
    control, pop, api = cluster
    api.put("/api/v1/zones/dyn.test/rrsets/gone/DYN", {"ttl": 60, "records": GEO})
    assert ask(control, "gone.dyn.test")[0] == ["192.0.2.1"]
    r = api.delete("/api/v1/zones/dyn.test/rrsets/gone/DYN")
    assert r.status in (200, 204), r
    assert ask(control, "gone.dyn.test")[0] == []
    api.put_rrset("dyn.test", "gone", "A", 60, ["192.0.2.97"])
    assert ask(control, "gone.dyn.test")[0] == ["192.0.2.97"]


def test_exports(cluster):
    control, pop, api = cluster
    r = api.get("/api/v1/zones/dyn.test/export")
    assert r.status == 200, r
    text = r.body.decode()
    assert "www.dyn.test.\t60\tIN\tTYPE65301\t\\# " in text, text
    r = api.get("/api/v1/zones/dyn.test/export?plain=true")
    assert r.status == 200, r
    plain = r.body.decode()
    assert "TYPE65301" not in plain
    assert "; www.dyn.test. is a dynamic resource (DYN, 4 statements): its default answer\n" \
           "www.dyn.test.\t60\tIN\tA\t192.0.2.1\nwww.dyn.test.\t60\tIN\tAAAA\t2001:db8::1\n" in plain, plain
    assert_error(api.get("/api/v1/zones/dyn.test/export?plain=yes"), 400, field="plain")
    # a PoP's disk copy is such an export: it is written for a zone with DYN records too
    assert "disk copy not written" not in pop.log_text(), pop.log_text()[-3000:]
