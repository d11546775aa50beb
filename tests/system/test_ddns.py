"""RFC 2136 dynamic updates (issue 24): nsupdate, knsupdate and dnspython against ternd's API zones,
signed with TSIG (hmac-sha256 and hmac-sha512), limited by update.acl, applied through the one
write path (the change served over UDP, in the journal with the key's name, at a Knot secondary
by IXFR within a second), every refusal with its rcode and TSIG error, RFC 2136 3.4.2's special
cases, and the message sequence Terraform's dns provider sends (an update, then a read-back)."""
import base64
import os
import shutil
import socket
import subprocess
import time
import types

import dns.edns
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.renderer
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from apilib import ApiTernd, keys  # noqa: F401 (the keys fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import free_port
from xfrlib import wait_serial

ZONE = "dyn.test."
OTHER = "other.test."
DDNS = ("ddns-key.", "hmac-sha256", base64.b64encode(b"ddns secret for the tests 256bit").decode())
ACME = ("acme-key.", "hmac-sha512", base64.b64encode(b"acme secret for the tests, a longer one 512").decode())
STRANGER = ("ddns-key.", "hmac-sha256", base64.b64encode(b"not the secret ternd has for it").decode())


def keyring(k):
    return dns.tsigkeyring.from_text({k[0]: k[2]})


def algorithm(k):
    return dns.name.from_text(k[1] + ".")


class DdnsTernd(ApiTernd):
    """ternd with an API zone DNS clients may update: keys, update.acl, transfers and NOTIFY to loopback."""

    def __init__(self, keys, workdir, notify=None, max_records=None):  # noqa: F811
        self.notify, self.max_records = notify, max_records
        os.makedirs(workdir, exist_ok=True)
        super().__init__(keys, workdir=workdir, api={"serial-policy": "increment"})

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        lines = ["keys:"] + ["  - {name: %s, algorithm: %s, secret: \"%s\"}" % k for k in (DDNS, ACME)]
        lines += ["transfer:", "  allow: [127.0.0.0/8]"]
        if self.notify:
            lines.append("  notify: [\"127.0.0.1@%d\"]" % self.notify)
        lines += ["update:"]
        if self.max_records:
            lines.append("  max-records: %d" % self.max_records)
        lines += ["  acl:", "    - key: %s" % DDNS[0], "      zones: [%s]" % ZONE,
                  "    - key: %s" % ACME[0], "      zones: [%s]" % ZONE, "      names: [\"_acme-challenge.*\"]",
                  "      types: [TXT]"]
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def lab(keys, tmp_path_factory):  # noqa: F811
    d = tmp_path_factory.mktemp("ddns")
    kport = free_port()
    t = DdnsTernd(keys, str(d / "ternd"), notify=kport, max_records=50).start()
    api = t.api(keys.token("dyn"))
    api.create_zone(ZONE, rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]},
                                  {"name": "alias", "type": "CNAME", "ttl": 300, "records": ["www"]}])
    api.create_zone(OTHER)
    knot = None
    if knotd_available():
        knot = KnotSecondary(d / "knot", ZONE, t.port, port=kport)
        knot.start()
        wait_serial("127.0.0.1", kport, ZONE, api.serial(ZONE), timeout=15)
    yield {"ternd": t, "api": api, "knot": knot, "keys": keys}
    if knot:
        knot.stop()
    t.stop()
    assert "AddressSanitizer" not in t.log_text()


def send(lab, u, tcp=False):
    t = lab["ternd"]
    if tcp:
        return dns.query.tcp(u, "127.0.0.1", port=t.port, timeout=5)
    return dns.query.udp(u, "127.0.0.1", port=t.port, timeout=5)


def ask(lab, name, rdtype):
    t = lab["ternd"]
    r = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=t.port, timeout=3)
    return sorted(rd.to_text() for rs in r.answer for rd in rs if rs.rdtype == dns.rdatatype.from_text(rdtype))


def upd(zone=ZONE, key=DDNS):
    if key is None:
        return dns.update.UpdateMessage(zone)
    return dns.update.UpdateMessage(zone, keyring=keyring(key), keyname=key[0], keyalgorithm=algorithm(key))


def serial(lab, zone=ZONE):
    return lab["api"].serial(zone)


def run_tool(argv, script):
    r = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_nsupdate_and_knsupdate_reach_the_secondary(lab):
    t = lab["ternd"]
    before = serial(lab)
    rc, out = run_tool(["nsupdate", "-y", "hmac-sha256:%s:%s" % (DDNS[0], DDNS[2])],
                       "server 127.0.0.1 %d\nzone %s\nupdate add host.%s 300 A 192.0.2.7\n"
                       "update add host.%s 300 AAAA 2001:db8::7\nsend\n" % (t.port, ZONE, ZONE, ZONE))
    assert rc == 0, out
    sent = time.time()
    assert ask(lab, "host." + ZONE, "A") == ["192.0.2.7"]
    assert ask(lab, "host." + ZONE, "AAAA") == ["2001:db8::7"]
    assert serial(lab) == before + 1  # one change for both records
    if lab["knot"]:
        done = wait_serial("127.0.0.1", lab["knot"].port, ZONE, before + 1, timeout=5)
        assert done - sent < 1.0, done - sent
    if shutil.which("knsupdate"):
        rc, out = run_tool(["knsupdate", "-y", "hmac-sha512:%s:%s" % (ACME[0], ACME[2])],
                           "server 127.0.0.1 %d\nzone %s\nupdate add _acme-challenge.host.%s 60 TXT tok\nsend\n"
                           % (t.port, ZONE, ZONE))
        assert rc == 0, out
        assert ask(lab, "_acme-challenge.host." + ZONE, "TXT") == ['"tok"']
    # deletions: one record, then the RRset
    rc, out = run_tool(["nsupdate", "-v", "-y", "hmac-sha256:%s:%s" % (DDNS[0], DDNS[2])],
                       "server 127.0.0.1 %d\nzone %s\nupdate delete host.%s AAAA 2001:db8::7\n"
                       "update delete host.%s A\nsend\n" % (t.port, ZONE, ZONE, ZONE))
    assert rc == 0, out
    assert ask(lab, "host." + ZONE, "A") == [] and ask(lab, "host." + ZONE, "AAAA") == []
    # the journal names the key
    changes = lab["api"].get("/api/v1/zones/%s/changes" % ZONE).json
    principals = {c.get("by") for c in changes["changes"]}
    assert "update key %s" % DDNS[0] in principals, changes


def test_prerequisites_hold_or_nothing_changes(lab):
    before = serial(lab)
    u = upd()
    u.present("www", "A", "192.0.2.1")
    u.absent("nothing-here")
    u.add("pre", 300, "TXT", "held")
    assert send(lab, u).rcode() == dns.rcode.NOERROR
    assert serial(lab) == before + 1
    for build, rcode in [
        (lambda u: u.present("nothing-here"), dns.rcode.NXDOMAIN),
        (lambda u: u.absent("www"), dns.rcode.YXDOMAIN),
        (lambda u: u.present("www", "AAAA"), dns.rcode.NXRRSET),
        (lambda u: u.absent("www", "A"), dns.rcode.YXRRSET),
        (lambda u: u.present("www", "A", "192.0.2.99"), dns.rcode.NXRRSET),
    ]:
        u = upd()
        build(u)
        u.add("pre", 300, "TXT", "not written")
        assert send(lab, u).rcode() == rcode
    assert serial(lab) == before + 1
    assert ask(lab, "pre." + ZONE, "TXT") == ['"held"']


def test_acl_limits_a_key(lab):
    u = upd(key=ACME)
    u.add("_acme-challenge.www", 60, "TXT", "allowed")
    assert send(lab, u).rcode() == dns.rcode.NOERROR
    for build in [lambda u: u.add("www", 60, "TXT", "other name"),
                  lambda u: u.add("_acme-challenge.www", 60, "A", "192.0.2.5"),
                  lambda u: u.delete("www")]:
        u = upd(key=ACME)
        build(u)
        assert send(lab, u).rcode() == dns.rcode.REFUSED
    u = upd(OTHER, key=ACME)
    u.add("_acme-challenge", 60, "TXT", "other zone")
    assert send(lab, u).rcode() == dns.rcode.REFUSED
    u = upd(OTHER)  # ddns-key is for dyn.test only
    u.add("x", 60, "TXT", "other zone")
    assert send(lab, u).rcode() == dns.rcode.REFUSED
    assert "may not add" in lab["ternd"].log_text()


def test_refusals(lab):
    t = lab["ternd"]
    before = serial(lab)
    # no TSIG
    u = upd(key=None)
    u.add("x", 60, "A", "192.0.2.1")
    r = send(lab, u)
    assert r.rcode() == dns.rcode.REFUSED
    # an unknown key, a wrong secret, a clock off by an hour
    for key, exc in [(("nobody.", "hmac-sha256", DDNS[2]), dns.tsig.PeerBadKey), (STRANGER, dns.tsig.PeerBadSignature)]:
        u = upd(key=key)
        u.add("x", 60, "A", "192.0.2.1")
        with pytest.raises(exc):
            send(lab, u)
    u = upd()
    u.add("x", 60, "A", "192.0.2.1")
    real = time.time
    skewed = types.SimpleNamespace(time=lambda: real() - 3600)
    dns.renderer.time, dns.message.time = skewed, skewed  # the signing time an hour ago
    try:
        wire = u.to_wire()
    finally:
        dns.renderer.time, dns.message.time = time, time
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(wire, ("127.0.0.1", t.port))
        answer = s.recv(65535)
    assert answer[3] & 0x0F == dns.rcode.NOTAUTH
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(answer, keyring=keyring(DDNS), request_mac=u.mac)
    # a zone not served; a locked zone (with the reason as EDE text); FORMERR and NOTZONE
    u = upd("nowhere.test.")
    u.add("x", 60, "A", "192.0.2.1")
    assert send(lab, u).rcode() == dns.rcode.NOTAUTH
    api = lab["api"]
    assert api.put("/api/v1/zones/%s/lock" % ZONE, {"reason": "frozen for audit"}).status == 200
    try:
        u = upd()
        u.use_edns(0)
        u.add("x", 60, "A", "192.0.2.1")
        r = send(lab, u)
        assert r.rcode() == dns.rcode.REFUSED
        texts = [o.text for o in r.options if o.otype == dns.edns.EDE]
        assert any("locked" in (x or "") and "frozen for audit" in (x or "") for x in texts), texts
    finally:
        assert api.delete("/api/v1/zones/%s/lock" % ZONE).status == 200
    u = upd()
    u.add("x.elsewhere.test.", 60, "A", "192.0.2.1")
    assert send(lab, u).rcode() == dns.rcode.NOTZONE
    u = upd()
    u.present("www", "A")
    for i in range(50):
        u.add("many", 60, "TXT", "r%d" % i)
    assert send(lab, u).rcode() == dns.rcode.REFUSED  # more than update.max-records (50)
    assert serial(lab) == before
    log = t.log_text()
    for why in ["must be signed", "TSIG BADKEY", "TSIG BADSIG", "TSIG BADTIME", "not served here", "is locked",
                "outside the zone", "more than the 50 allowed"]:
        assert why in log, why


def test_rfc2136_special_cases(lab):
    before = serial(lab)
    # a CNAME beside other data, and other data at a CNAME: ignored
    u = upd()
    u.add("www", 300, "CNAME", "elsewhere.test.")
    u.add("alias", 300, "TXT", "beside a CNAME")
    assert send(lab, u).rcode() == dns.rcode.NOERROR
    assert serial(lab) == before
    assert ask(lab, "www." + ZONE, "A") == ["192.0.2.1"]
    # the apex's NS: deleting the RRset or its last record is ignored
    u = upd()
    u.delete("@", "NS")
    assert send(lab, u).rcode() == dns.rcode.NOERROR
    ns = ask(lab, ZONE, "NS")
    u = upd()
    for n in ns:
        u.delete("@", "NS", n)
    assert send(lab, u).rcode() == dns.rcode.NOERROR
    assert len(ask(lab, ZONE, "NS")) == 1
    # a SOA whose serial does not grow is ignored
    soa = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=lab["ternd"].port,
                        timeout=3).answer[0][0]
    u = upd()
    u.add("@", 3600, "SOA", soa.replace(serial=soa.serial - 1, minimum=42).to_text())
    assert send(lab, u).rcode() == dns.rcode.NOERROR
    now = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=lab["ternd"].port,
                        timeout=3).answer[0][0]
    assert now.minimum == soa.minimum


def test_terraform_sequence(lab):
    """hashicorp/terraform-provider-dns: an update that replaces the RRset (delete, then add), then
    a query that reads it back; over TCP as it does when the record set is large."""
    u = upd()
    u.delete("tf", "A")
    u.add("tf", 120, "A", "192.0.2.20")
    u.add("tf", 120, "A", "192.0.2.21")
    assert send(lab, u, tcp=True).rcode() == dns.rcode.NOERROR
    q = dns.message.make_query("tf." + ZONE, "A")
    q.use_tsig(keyring(DDNS), keyname=DDNS[0], algorithm=algorithm(DDNS))
    r = dns.query.tcp(q, "127.0.0.1", port=lab["ternd"].port, timeout=5)
    assert sorted(rd.to_text() for rd in r.answer[0]) == ["192.0.2.20", "192.0.2.21"]
    assert r.answer[0].ttl == 120
