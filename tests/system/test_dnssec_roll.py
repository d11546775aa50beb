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


class Parent:
    """A parent zone's server for the DS check, on 127.0.0.1 (UDP and TCP, one port): answers DS
    queries for ZONE authoritatively with the DS records in .ds; .tc_udp answers UDP truncated
    (so the TCP path is taken); .silent drops every query (an unreachable parent)."""

    def __init__(self):
        import threading

        import sysutil
        self.ds, self.tc_udp, self.silent, self.asked = [], False, False, []
        self.udp, self.tcp, self.port = sysutil.bind_udp_tcp()
        self.stopped = False
        for fn in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=fn, daemon=True).start()

    def answer(self, wire, tcp):
        import dns.flags
        import dns.message
        import dns.rrset
        q = dns.message.from_wire(wire)
        self.asked.append(("tcp" if tcp else "udp", q.question[0].name.to_text(), q.flags & dns.flags.RD))
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if not tcp and self.tc_udp:
            r.flags |= dns.flags.TC
        elif self.ds:
            r.answer.append(dns.rrset.from_text(ZONE + ".", 10, "IN", "DS", *self.ds))
        return r.to_wire()

    def _serve_udp(self):
        while not self.stopped:
            try:
                wire, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            if not self.silent:
                self.udp.sendto(self.answer(wire, False), peer)

    def _serve_tcp(self):
        import struct
        while not self.stopped:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                n = struct.unpack("!H", conn.recv(2))[0]
                wire = b""
                while len(wire) < n:
                    wire += conn.recv(n - len(wire))
                if not self.silent:
                    a = self.answer(wire, True)
                    conn.sendall(struct.pack("!H", len(a)) + a)

    def close(self):
        self.stopped = True
        self.udp.close()
        self.tcp.close()


def test_ds_check_at_every_parent_moves_the_ksk_on(keys, tmp_path):  # noqa: F811
    a, b = Parent(), Parent()
    a.tc_udp = True  # a answers over TCP only
    b.silent = True  # b is unreachable at first
    srv = ternd(keys, tmp_path, test_timings=True)
    try:
        api = srv.api(keys.token("pop"))
        api.create_zone(ZONE, rrsets=RRSETS)
        policy = {"ksk-lifetime": 30, "zsk-lifetime": 0, "dnskey-ttl": 2, "max-zone-ttl": 10,
                  "propagation-delay": 1, "ds-ttl": 3, "ds-check-interval": 1,
                  "parents": ["127.0.0.1@%d" % a.port, "127.0.0.1@%d" % b.port]}
        assert api.put("/api/v1/zones/%s/dnssec" % ZONE, policy).status == 202

        def waiting():
            doc = api.get("/api/v1/zones/%s/dnssec" % ZONE).json
            return [k for k in doc["keys"] if k["role"] == "ksk" and k["state"] == "ready"], doc

        end = time.time() + 40
        while not waiting()[0]:
            assert time.time() < end, waiting()[1]
            time.sleep(0.5)
        new = waiting()[0][0]
        # both parents asked; neither has the DS: the old KSK stays active, the new one waits
        a.ds = ["1 13 2 " + "00" * 32]
        time.sleep(4)
        ready, doc = waiting()
        assert ready and not ready[0]["ds-seen"], doc
        assert any(k["role"] == "ksk" and k["state"] == "active" for k in doc["keys"]), doc
        assert ("tcp", ZONE + ".", 0) in a.asked and all(rd == 0 for _, _, rd in a.asked), a.asked
        assert "has no DS for key %d yet" % new["tag"] in open(srv.log).read()
        # a has the DS now, b does not answer: still waiting, b's silence logged
        a.ds = new["ds"][:1]
        time.sleep(6)
        assert waiting()[0], waiting()[1]
        log = open(srv.log).read()
        assert "127.0.0.1@%d: no answer" % b.port in log, log[-3000:]
        # b answers with it too: seen at every parent, the new KSK active, the old one retired
        b.ds, b.silent = new["ds"][:1], False
        end = time.time() + 15
        while True:
            doc = api.get("/api/v1/zones/%s/dnssec" % ZONE).json
            k = {x["tag"]: x for x in doc["keys"]}[new["tag"]]
            if k["state"] == "active":
                break
            assert time.time() < end, doc
            time.sleep(0.3)
        assert k["ds-seen"], k
        ev = journal(api)
        assert any(e["tag"] == new["tag"] and e["to"] == "active" and "DS is at the parent" in e["reason"]
                   for e in ev), ev
        assert "the new KSK's DS is at every parent" in open(srv.log).read()
    finally:
        srv.stop()
        a.close()
        b.close()
