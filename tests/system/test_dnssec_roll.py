"""Key rollovers of online-signed API zones (lib/dnssec_roll.c run by the signer thread): the
rollover fields of a policy (DS TTL, DS check interval, RFC 5011 and its hold-downs), short
hold-downs refused but with the configuration's test flag (API 400 naming the field, a
configuration error naming the key); ZSKs and KSKs rolling on their own with the RFC 7583 waits
read back from the key journal, every version served passing three zone verifiers, the operator
confirming a new KSK's DS (POST .../ksk-submitted, `tern dnssec ksk-submitted`; 409 before)."""
import os
import time
import subprocess

import pytest

from apilib import ApiTernd, assert_error, keys  # noqa: F401 (fixture)
from ternlib import TERND

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(TERND), "tern"))


def tern(srv, keys, *args):  # noqa: F811
    """Runs the tern CLI against srv's API; (exit code, stdout + stderr)."""
    env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % srv.api_port, TERN_TOKEN=keys.token("pop"))
    p = subprocess.run([TERN_CLI] + list(args), capture_output=True, text=True, env=env, timeout=30)
    return p.returncode, p.stdout + p.stderr

ZONE = "roll.test"
RRSETS = [{"name": "www", "type": "A", "ttl": 10, "records": ["192.0.2.1"]}]


def ternd(keys, tmp_path, test_timings=False):  # noqa: F811
    os.makedirs(str(tmp_path / "ternd"), exist_ok=True)
    extra = "dnssec-test-timings: true\n" if test_timings else ""
    srv = ApiTernd(keys, workdir=str(tmp_path / "ternd"),
                   api={"serial-policy": "increment", "default-ttl": 10, "soa-minimum": 10}, extra_server=extra)
    with open(srv.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    return srv.start()


@pytest.mark.parametrize("field,value", [("add-holddown", 30), ("remove-holddown", 86399),
                                         ("ds-check-interval", 5)])
def test_short_timings_refused_without_the_test_flag(keys, tmp_path, field, value):  # noqa: F811
    srv = ternd(keys, tmp_path)
    try:
        api = srv.api(keys.token("pop"))
        api.create_zone(ZONE, rrsets=RRSETS)
        r = api.put("/api/v1/zones/%s/dnssec" % ZONE, {"rfc5011": True, field: value})
        e = assert_error(r, 400)
        assert e["field"] == field and "dnssec-test-timings" in e["message"], e
        r = api.get("/api/v1/zones/%s/dnssec" % ZONE)
        assert r.json["state"] == "unsigned", r.json
    finally:
        srv.stop()


def test_rollover_fields_stored_and_shown(keys, tmp_path):  # noqa: F811
    srv = ternd(keys, tmp_path, test_timings=True)
    try:
        api = srv.api(keys.token("pop"))
        api.create_zone(ZONE, rrsets=RRSETS)
        body = {"rfc5011": True, "add-holddown": 30, "remove-holddown": 40, "ds-ttl": 10, "ds-check-interval": 2}
        r = api.put("/api/v1/zones/%s/dnssec" % ZONE, body)
        assert r.status == 202, r
        p = api.get("/api/v1/zones/%s/dnssec" % ZONE).json["policy"]
        for k, v in body.items():
            assert p[k] == v, (k, p)
        r = api.put("/api/v1/zones/%s/dnssec" % ZONE, {"ds-ttl": -1})
        assert assert_error(r, 400)["field"] == "ds-ttl"
    finally:
        srv.stop()


@pytest.mark.parametrize("flag,ok", [("", False), ("  dnssec-test-timings: true\n", True)])
def test_configuration_hold_downs_need_the_test_flag(tmp_path, flag, ok):
    cfg = tmp_path / "ternd.yaml"
    cfg.write_text('server:\n  listen: ["127.0.0.1@53001"]\n%sdnssec-policies:\n  - name: p\n    rfc5011: true\n'
                   '    add-holddown: 60\n' % flag)
    p = subprocess.run([TERND, "--check", "-c", str(cfg)], capture_output=True, text=True, timeout=10)
    if ok:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode != 0 and "dnssec-policies[0].add-holddown" in p.stderr, p.stderr


def journal(api):
    r = api.get("/api/v1/zones/%s/dnssec/journal" % ZONE)
    assert r.status == 200, r
    return list(reversed(r.json["events"]))  # oldest first


def served_keys(srv):
    """(flags, DNSKEY text) of the served DNSKEY RRset, and the served CDS RDATA texts."""
    import dns.message
    import dns.query
    import dns.rdatatype
    out = {}
    for t in ("DNSKEY", "CDS"):
        q = dns.message.make_query(ZONE + ".", t)
        m = dns.query.tcp(q, srv.addr, port=srv.port, timeout=5)
        out[t] = [rd for rs in m.answer if rs.rdtype == dns.rdatatype.from_text(t) for rd in rs]
    return out


def test_zsk_and_ksk_roll_on_their_own_with_rfc7583_waits(keys, tmp_path):  # noqa: F811
    from test_dnssec_signing import axfr_text, verify
    srv = ternd(keys, tmp_path, test_timings=True)
    try:
        api = srv.api(keys.token("pop"))
        api.create_zone(ZONE, rrsets=RRSETS)
        policy = {"zsk-lifetime": 20, "ksk-lifetime": 30, "dnskey-ttl": 2, "max-zone-ttl": 10,
                  "propagation-delay": 1, "ds-ttl": 3}
        assert api.put("/api/v1/zones/%s/dnssec" % ZONE, policy).status == 202
        # nothing waits for its DS yet: the operator's word is refused
        time.sleep(1)
        e = assert_error(api.post("/api/v1/zones/%s/dnssec/ksk-submitted" % ZONE, {}), 409)
        assert "waiting" in e["message"], e
        code, out = tern(srv, keys, "dnssec", "ksk-submitted", ZONE)
        assert code == 1 and "waiting" in out and "409" in out, out
        end, seen, submitted, verified = time.time() + 55, set(), 0, 0
        while time.time() < end:
            doc = api.get("/api/v1/zones/%s/dnssec" % ZONE).json
            serial = api.serial(ZONE)
            if doc["state"] == "signed" and serial not in seen:
                seen.add(serial)
                verify(axfr_text(srv, ZONE), ZONE + ".", tmp_path, "s%d" % serial)
                verified += 1
            ready = [k for k in doc["keys"] if k["role"] == "ksk" and k["state"] == "ready"]
            if ready and not ready[0]["ds-seen"]:
                # its CDS is served: the registrar would take it; the operator confirms
                cds = [rd.to_text() for rd in served_keys(srv)["CDS"]]
                if any(c.split()[0] == str(ready[0]["tag"]) for c in cds):
                    code, out = tern(srv, keys, "dnssec", "ksk-submitted", ZONE)
                    assert code == 0 and "rollover goes on" in out, out
                    submitted += 1
            time.sleep(0.5)
        ev = journal(api)
        tags = {}
        for e in ev:
            tags.setdefault(e["tag"], []).append(e)
        keys_doc = {k["tag"]: k for k in api.get("/api/v1/zones/%s/dnssec" % ZONE).json["keys"]}
        zsk_active = [e for e in ev if e["to"] == "active" and e["from"] == "ready"]
        assert len(zsk_active) >= 2, ev
        for e in ev:
            hist = {x["to"]: x["time"] for x in tags[e["tag"]]}
            if e["to"] == "active" and e["from"] == "ready" and "published" in hist:
                assert e["time"] - hist["published"] >= 2 + 1, (e, hist)  # DNSKEY TTL + propagation
            if e["to"] == "removed" and "retired" in hist:
                k = keys_doc.get(e["tag"])
                wait = 10 + 1 if "ZSK" in e["reason"] or (k and k["role"] == "zsk") else 3 + 1
                assert e["time"] - hist["retired"] >= min(wait, 3 + 1), (e, hist)
        ksk_swaps = [e for e in ev if e["to"] == "active" and "DS is at the parent" in e["reason"]]
        assert submitted >= 1 and len(ksk_swaps) >= 1, ev
        assert verified >= 4, verified
        st = api.get("/api/v1/zones/%s/dnssec" % ZONE).json["signer"]
        assert st["next_key_event"] and st["next_key_event"]["what"], st
    finally:
        srv.stop()
