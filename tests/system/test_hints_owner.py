"""In-tree hints, the owner's side in ternd (issue 27): a zone file marked from the configuration
(zones[i].in-tree-expires) publishes `_in-tree.<zone> TXT` signed, changed and removed by a reload;
`ternd --check` refuses a mark it cannot keep, naming zone and reason; in-tree-expiring is set
(hook) within 60 days of the published expiry and cleared once renewed or removed, judged every
server.in-tree-check-interval (a test-mode knob) and at once after a write; a raw write of the
`_in-tree` TXT RRset (PUT, PATCH) that is not one RFC 3339 date-time is refused with 400, nothing
changed."""
import os
import subprocess
import time

import dns.rdatatype

from apilib import ApiTernd, assert_error, keys, zonefile  # noqa: F401 (fixture)
from ternlib import TERND, wait_log
from test_signals import HookLog

ZONE = "owner.test."
TEXT = """$ORIGIN owner.test.
$TTL 10
@       IN SOA ns1 hostmaster 100 7200 900 1209600 10
        IN NS  ns1
ns1     IN A   192.0.2.53
www     IN A   192.0.2.1
"""
OUTSIDE_NS = TEXT.replace("IN NS  ns1", "IN NS  ns.elsewhere.example.")
POLICY = ["dnssec-policies:", "  - name: p5011", "    keys: ksk-zsk", "    ksk-lifetime: 0", "    zsk-lifetime: 0",
          "    dnskey-ttl: 2", "    max-zone-ttl: 300", "    propagation-delay: 1", "    rfc5011: true",
          "    add-holddown: 30", "    remove-holddown: 30",
          "  - name: plain", "    keys: ksk-zsk", "    ksk-lifetime: 0", "    zsk-lifetime: 0"]


def stamp(days):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * 86400))


class OwnerTernd(ApiTernd):
    """ternd serving ZONE from a file signed with a policy, maybe marked in-tree, with a hook on
    in-tree-expiring."""

    def __init__(self, keys, workdir, zone_file, hook=None, expires=None, policy="p5011", server=None):  # noqa: F811
        self.zone_file, self.hook, self.expires, self.policy = zone_file, hook, expires, policy
        self.server_lines = server if server is not None else ["dnssec-test-timings: true",
                                                               "in-tree-check-interval: 1"]
        os.makedirs(workdir, exist_ok=True)
        super().__init__(keys, workdir=workdir, api={"serial-policy": "increment"})

    def write_config(self, listen, extra_server=""):
        self.listen = listen
        lines = ["server:", "  listen:"] + ["    - \"%s\"" % a for a in listen]
        lines += ["  " + s for s in self.server_lines]
        lines += ["zones:", "  - name: \"%s\"" % ZONE, "    file: \"%s\"" % self.zone_file]
        if self.policy:
            lines.append("    dnssec-policy: %s" % self.policy)
        if self.expires is not None:
            lines.append("    in-tree-expires: \"%s\"" % self.expires)
        lines += POLICY
        if self.hook:
            lines += ["signals:", "  hooks:", "    - {condition: in-tree-expiring, exec: \"%s\"}" % self.hook]
        lines += ["api:", "  listen: \"127.0.0.1@%d\"" % self.api_port, "  data-dir: \"%s\"" % self.data_dir,
                  "  jwks: \"%s\"" % self.keys.jwks, "  serial-policy: increment", "  rate-limit: 0"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def remark(self, expires):
        """in-tree-expires set to expires (None: removed), then SIGHUP."""
        self.expires = expires
        self.write_config(self.listen)
        self.reload()

    def check(self):
        p = subprocess.run([TERND, "-c", self.config, "--check"], capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr


def served_txt(srv):
    """(the _in-tree TXT strings, whether an RRSIG covering it came along) as served with DO."""
    r = srv.query("_in-tree." + ZONE, "TXT", want_dnssec=True)
    txt = [rs for rs in r.answer if rs.rdtype == dns.rdatatype.TXT]
    sig = any(rs.rdtype == dns.rdatatype.RRSIG and rs.covers == dns.rdatatype.TXT for rs in r.answer)
    if not txt:
        return None, sig
    return [[s.decode() for s in rd.strings] for rd in txt[0]], sig


def wait_txt(srv, want, timeout=20.0):
    end = time.time() + timeout
    while True:
        got, sig = served_txt(srv)
        if got == want and (want is None or sig):
            return
        assert time.time() < end, "_in-tree TXT %r (signed %s), not %r:\n%s" % (got, sig, want,
                                                                                srv.log_text()[-3000:])
        time.sleep(0.05)


def test_config_mark_served_signed_and_expiry_signalled(keys, tmp_path):  # noqa: F811
    h, hook = HookLog.in_dir(tmp_path)
    zf = tmp_path / "owner.zone"
    zf.write_text(TEXT)
    far = stamp(300)
    srv = OwnerTernd(keys, str(tmp_path / "ternd"), str(zf), hook=hook, expires=far)
    os.makedirs(srv.data_dir, exist_ok=True)
    try:
        srv.start()
        # served and signed (RRSIG over the TXT), the value the configuration's
        wait_txt(srv, [[far]])
        # 300 days ahead: nothing to signal, whatever the checks every second say
        time.sleep(2.5)
        assert not h.lines(), h.lines()
        # 20 days ahead: in-tree-expiring set at once (the write), with the days left
        near = stamp(20)
        srv.remark(near)
        wait_txt(srv, [[near]])
        line = h.wait(lambda l: l[1:4] == ["in-tree-expiring", "set", ZONE.rstrip(".")] or
                      l[1:4] == ["in-tree-expiring", "set", ZONE], "in-tree-expiring set")
        argv = line[0].split(" ")
        assert "expires=" + near in argv and ("days-left=19" in argv or "days-left=20" in argv), argv
        # judged again every in-tree-check-interval (1 s here): the warning comes back in the log
        wait_log(srv.log_text, "its in-tree promise expires in", timeout=5)
        end = time.time() + 10
        while srv.log_text().count("in-tree: zone owner.test.: its in-tree promise expires in") < 3:
            assert time.time() < end, srv.log_text()[-3000:]
            time.sleep(0.1)
        # renewed: cleared
        renewed = stamp(400)
        srv.remark(renewed)
        wait_txt(srv, [[renewed]])
        h.wait(lambda l: l[1:3] == ["in-tree-expiring", "clear"], "in-tree-expiring clear")
        # expired: set again, with negative days
        srv.remark(stamp(-3))
        h.wait(lambda l: l[1:3] == ["in-tree-expiring", "set"] and "days-left=-3" in l[0],
               "in-tree-expiring set for an expired promise")
        # the key removed: the record goes and the condition clears
        srv.remark(None)
        wait_txt(srv, None)
        h.wait(lambda l: [x[1:3] for x in h.lines()][-1] == ["in-tree-expiring", "clear"],
               "in-tree-expiring clear once unmarked")
        # the rest of the zone is still served signed
        r = srv.query("www." + ZONE, "A", want_dnssec=True)
        assert any(rs.rdtype == dns.rdatatype.RRSIG for rs in r.answer), r
    finally:
        srv.stop()
    assert "AddressSanitizer" not in srv.log_text()


def test_check_refuses_marks_it_cannot_keep(keys, tmp_path):  # noqa: F811
    zf = tmp_path / "owner.zone"
    zf.write_text(TEXT)
    out = tmp_path / "outside.zone"
    out.write_text(OUTSIDE_NS)
    cases = [
        (dict(zone_file=str(zf), expires=stamp(100), policy=None), "not signed"),
        (dict(zone_file=str(zf), expires=stamp(100), policy="plain"), "without RFC 5011"),
        (dict(zone_file=str(out), expires=stamp(100)), "in-bailiwick"),
        (dict(zone_file=str(zf), expires="2027-13-01"), "month 13"),
        (dict(zone_file=str(zf), expires="2027-06-01T00:00:00"), "no time zone"),
        (dict(zone_file=str(zf), expires="2027-06-01"), "without a time"),
    ]
    knob = ["in-tree-check-interval: 60"]
    for i, (kw, why) in enumerate(cases):
        srv = OwnerTernd(keys, str(tmp_path / ("t%d" % i)), **kw)
        rc, text = srv.check()
        assert rc != 0 and why in text, (kw, text)
        assert "in-tree-expires" in text and ("owner.test" in text or "zones[0]" in text), text
        print(text)
    # the test knob below an hour outside test mode
    rc, text = OwnerTernd(keys, str(tmp_path / "knob"), zone_file=str(zf), policy=None, server=knob).check()
    assert rc != 0 and "in-tree-check-interval" in text and "dnssec-test-timings" in text, text
    # the same mark with everything it needs passes
    rc, text = OwnerTernd(keys, str(tmp_path / "ok"), zone_file=str(zf), expires=stamp(100)).check()
    assert rc == 0, text


def test_raw_write_of_in_tree_validated(keys, tmp_path):  # noqa: F811
    os.makedirs(str(tmp_path / "ternd"), exist_ok=True)
    srv = ApiTernd(keys, workdir=str(tmp_path / "ternd"), api={"serial-policy": "increment"})
    try:
        srv.start()
        api = srv.api(keys.token("own"))
        api.create_zone("raw.test.", rrsets=[{"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}])
        serial = api.get("/api/v1/zones/raw.test.").json["serial"]
        path = "/api/v1/zones/raw.test./rrsets/_in-tree/TXT"
        bad = [(['"2027-13-01"'], "month 13"), (['"2027-06-01T00:00:00"'], "no time zone"),
               (['"2027-06-01T00:00:00Z" "x"'], "2 character-strings"),
               (['"2027-06-01T00:00:00Z"', '"2027-07-01T00:00:00Z"'], "2 records")]
        for records, why in bad:
            r = api.put(path, {"ttl": 60, "records": records})
            assert_error(r, 400, "records")
            assert why in r.error["message"] and "_in-tree.raw.test" in r.error["message"], r.error
            r = api.patch("/api/v1/zones/raw.test./rrsets", {"rrsets": [
                {"name": "www", "type": "A", "ttl": 60, "records": ["192.0.2.2"]},
                {"name": "_in-tree", "type": "TXT", "ttl": 60, "records": records}]})
            assert_error(r, 400, "rrsets[1]")
            assert why in r.error["message"], r.error
        assert '"2027-13-01"' in api.put(path, {"ttl": 60, "records": ['"2027-13-01"']}).error["message"]
        # whole zones given with one: a new zone (rrsets, zonefile) and a zone file import
        r = api.post("/api/v1/zones", {"name": "rawnew.test.", "rrsets": [
            {"name": "_in-tree", "type": "TXT", "ttl": 60, "records": ['"2027-13-01"']}]})
        assert_error(r, 400, "rrsets")
        assert "month 13" in r.error["message"] and "_in-tree.rawnew.test" in r.error["message"], r.error
        r = api.post("/api/v1/zones", {"name": "rawnew.test.",
                                       "zonefile": zonefile("rawnew.test.", '_in-tree 60 IN TXT "2027-06-01"')})
        assert_error(r, 400, "zonefile")
        assert api.get("/api/v1/zones/rawnew.test.").status == 404
        r = api.post("/api/v1/zones/raw.test./import",
                     zonefile("raw.test.", "www 60 IN A 192.0.2.9", '_in-tree 60 IN TXT "2027-06-01T00:00:00Z" "x"'))
        assert_error(r, 400, "body")
        assert "2 character-strings" in r.error["message"], r.error
        # nothing changed: no TXT, www as it was, the serial the same
        assert api.get(path).status == 404
        assert srv.query("www.raw.test.", "A").answer[0][0].address == "192.0.2.1"
        assert api.get("/api/v1/zones/raw.test.").json["serial"] == serial
        # a good one is taken, on any zone (this one is not signed, so not marked by the API either)
        r = api.put(path, {"ttl": 60, "records": ['"2027-06-01T00:00:00Z"']})
        assert r.status == 200, r
        assert api.get(path).status == 200
    finally:
        srv.stop()
    assert "AddressSanitizer" not in srv.log_text()


def test_api_mark_expiry_signalled(keys, tmp_path):  # noqa: F811
    """The same condition for a zone marked through PUT .../in-tree: set when marked within 60 days,
    cleared when renewed; a raw PUT of a good _in-tree TXT is judged at once too."""
    h, hook = HookLog.in_dir(tmp_path)
    os.makedirs(str(tmp_path / "ternd"), exist_ok=True)
    srv = ApiTernd(keys, workdir=str(tmp_path / "ternd"), api={"serial-policy": "increment"},
                   extra_server="dnssec-test-timings: true\nin-tree-check-interval: 1\n")
    with open(srv.config, "a") as f:
        f.write('signals:\n  hooks:\n    - {condition: in-tree-expiring, exec: "%s"}\n' % hook)
    zone = "apimark.test."
    try:
        srv.start()
        api = srv.api(keys.token("own"))
        api.create_zone(zone, rrsets=[{"name": "@", "type": "NS", "ttl": 60, "records": ["ns1." + zone]},
                                      {"name": "ns1", "type": "A", "ttl": 60, "records": ["192.0.2.53"]}])
        policy = {"zsk-lifetime": 0, "ksk-lifetime": 0, "dnskey-ttl": 2, "max-zone-ttl": 3600,
                  "propagation-delay": 1, "rfc5011": True, "add-holddown": 30, "remove-holddown": 30}
        assert api.put("/api/v1/zones/%s/dnssec" % zone, policy).status == 202
        end = time.time() + 30
        while api.get("/api/v1/zones/%s/dnssec" % zone).json["state"] != "signed":
            assert time.time() < end, api.get("/api/v1/zones/%s/dnssec" % zone).json
            time.sleep(0.1)
        near = stamp(30)
        r = api.put("/api/v1/zones/%s/in-tree" % zone, {"expires": near})
        assert r.status == 200 and "warning" in r.json, r
        line = h.wait(lambda l: l[1:3] == ["in-tree-expiring", "set"], "in-tree-expiring set")
        assert line[3] in (zone, zone.rstrip(".")) and "expires=" + near in line[0].split(" "), line
        r = api.put("/api/v1/zones/%s/in-tree" % zone, {"expires": stamp(365)})
        assert r.status == 200 and "warning" not in r.json, r
        h.wait(lambda l: l[1:3] == ["in-tree-expiring", "clear"], "in-tree-expiring clear")
        # a raw write of the record within 60 days: judged as the mark is
        r = api.put("/api/v1/zones/%s/rrsets/_in-tree/TXT" % zone, {"ttl": 60, "records": ['"%s"' % stamp(5)]})
        assert r.status == 200, r
        h.wait(lambda l: len(h.lines()) >= 3 and h.lines()[-1][1:3] == ["in-tree-expiring", "set"],
               "in-tree-expiring set again")
        assert api.delete("/api/v1/zones/%s/in-tree" % zone).status == 200
        h.wait(lambda l: h.lines()[-1][1:3] == ["in-tree-expiring", "clear"], "in-tree-expiring clear on DELETE")
    finally:
        srv.stop()
    assert "AddressSanitizer" not in srv.log_text()
