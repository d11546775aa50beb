"""Onboarding (issue 23): ownership of a name proved by a TXT token or by the delegation, and zones
bootstrapped from the servers that serve them now, on a simulated Internet in a network namespace
(dnsseclab.Lab): Knot serves the root (with a TLD, dead., whose server is lame) and lab.; a second
Knot is the "previous provider" (txt.lab., elsewhere.lab., and axfr.lab. and noaxfr.lab. signed by
it: the first allows AXFR, the second refuses it); a stand-in (onboard_hostile.py) answers hostile.lab.
with records outside the zone and DNSSEC records; ternd (the API, api.nameservers ns1.corp.lab.)
serves corp.lab. and the zones its tenants make, and walks from the lab's root (api.check-hints)."""
import os
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import pytest

import dnsseclab as L
from apilib import Api, keys  # noqa: F401 (the fixture)

API_PORT = 8061
TERN = os.path.join(os.path.dirname(L.TERND), "tern")
PROV_ADDR = L.SEC_ADDR  # the previous provider (Knot)
HOSTILE_ADDR = L.INSECURE_ADDR  # the hostile stand-in
OPERATOR_NS = "ns1.corp.lab."
DNSSEC_TYPES = {"RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "DNSKEY", "CDS", "CDNSKEY"}

ROOT_ZONE = """. 86400 SOA ns.root. hostmaster.root. 1 1800 900 604800 60
. 86400 NS ns.root.
ns.root. 86400 A {root}
lab. 300 NS ns1.lab.
ns1.lab. 300 A {lab}
dead. 300 NS ns.dead.
ns.dead. 300 A {lab}
"""

# lab.: corp.lab. is the operator's (ternd); deleg.lab. is delegated to the operator's nameserver;
# the others to the previous provider. dead.'s server (knot-lab) does not serve dead.: a lame parent.
LAB_ZONE = """$ORIGIN lab.
$TTL 300
@ SOA ns1 hostmaster 1 1800 900 604800 60
@ NS ns1
ns1 A {lab}
corp NS ns1.corp
ns1.corp A {corp}
deleg 600 NS ns1.corp.lab.
ns.prov A {prov}
txt NS ns.prov
elsewhere NS ns.prov
axfr 7200 NS ns.prov
noaxfr 3600 NS ns.prov
hostile NS ns.hostile
ns.hostile A {hostile}
"""


def provider_zone(origin):
    return """$ORIGIN {o}
$TTL 300
@ SOA ns.prov.lab. hostmaster 1 1800 900 604800 60
@ 1800 NS ns.prov.lab.
@ A 192.0.2.1
@ AAAA 2001:db8::1
@ MX 10 mail
@ TXT "v=spf1 mx -all"
@ CAA 0 issue "letsencrypt.org"
www CNAME @
mail A 192.0.2.2
_dmarc TXT "v=DMARC1; p=none"
sel1._domainkey TXT "v=DKIM1; k=rsa; p=MIGfMA0"
_submission._tcp SRV 0 1 587 mail
hidden A 192.0.2.99
deep.hidden TXT "only a transfer finds this"
""".format(o=origin)


KNOT_CONF = """server:
    rundir: "{dir}"
    listen: [{addr}@53]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{dir}"
control:
    listen: "{dir}/knot.sock"
log:
  - target: stderr
    any: info
acl:
  - id: anyone
    address: 0.0.0.0/0
    action: transfer
policy:
  - id: lab
    algorithm: ecdsap256sha256
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
    cds-cdnskey-publish: always
template:
  - id: default
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
  - id: open
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    acl: anyone
    dnssec-signing: on
    dnssec-policy: lab
  - id: closed
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: lab
zone:
  - domain: txt.lab.
    file: "{dir}/txt.lab.zone"
  - domain: elsewhere.lab.
    file: "{dir}/elsewhere.lab.zone"
  - domain: axfr.lab.
    template: open
    file: "{dir}/axfr.lab.zone"
  - domain: noaxfr.lab.
    template: closed
    file: "{dir}/noaxfr.lab.zone"
"""

TERND_CONF = """server:
  listen: ["{addr}@53"]
api:
  listen: "127.0.0.1@{port}"
  data-dir: "{data}"
  jwks: "{jwks}"
  nameservers: ["{ns}"]
  default-ttl: 300
  soa-minimum: 60
  rate-limit: 0
  check-hints: "{hints}"
  check-allow-private: true
  check-rate: 600
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory, keys):  # noqa: F811
    lab = L.Lab(tmp_path_factory.mktemp("onboard"))
    try:
        f = dict(root=L.ROOT_ADDR, lab=L.LAB_ADDR, corp=L.CORP_ADDR, prov=PROV_ADDR, hostile=HOSTILE_ADDR)
        L.Knot(lab, "knot-root", [L.ROOT_ADDR], {".": (ROOT_ZONE.format(**f), "default")})
        lab.lab_knot = L.Knot(lab, "knot-lab", [L.LAB_ADDR], {"lab.": (LAB_ZONE.format(**f), "default")})
        with open(os.path.join(lab.dir, "root.hints"), "w") as fh:
            fh.write(". 3600000 NS ns.root.\nns.root. 3600000 A %s\n" % L.ROOT_ADDR)
        # the previous provider
        pdir = os.path.join(lab.dir, "provider")
        os.makedirs(pdir)
        for z in ("txt.lab.", "elsewhere.lab.", "axfr.lab.", "noaxfr.lab."):
            with open(os.path.join(pdir, z + "zone"), "w") as fh:
                fh.write(provider_zone(z))
        lab.prov_conf = os.path.join(pdir, "knot.conf")
        with open(lab.prov_conf, "w") as fh:
            fh.write(KNOT_CONF.format(dir=pdir, addr=PROV_ADDR))
        lab.prov = lab.spawn("knot-prov", [L.KNOTD, "-c", lab.prov_conf], os.path.join(pdir, "knot.log"))
        for z in ("txt.lab.", "elsewhere.lab.", "axfr.lab.", "noaxfr.lab."):
            lab.wait_soa(PROV_ADDR, z, lab.prov)
        deadline = time.time() + 20
        while not all(lab.rrset(PROV_ADDR, z, "DNSKEY") is not None for z in ("axfr.lab.", "noaxfr.lab.")):
            assert time.time() < deadline, "the provider's zones are not signed"
            time.sleep(0.1)
        # the hostile stand-in
        lab.spawn("hostile", ["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "onboard_hostile.py"),
                              HOSTILE_ADDR], os.path.join(lab.dir, "hostile.log"))
        # ternd
        d = os.path.join(lab.dir, "ternd")
        os.makedirs(os.path.join(d, "data"))
        conf = os.path.join(d, "ternd.yaml")
        with open(conf, "w") as fh:
            fh.write(TERND_CONF.format(addr=L.CORP_ADDR, port=API_PORT, data=os.path.join(d, "data"),
                                       jwks=keys.jwks, ns=OPERATOR_NS, hints=os.path.join(lab.dir, "root.hints")))
            if os.environ.get("TERN_STORE") == "pg":  # make test-pg: the claims in PostgreSQL (pglib.py)
                import pglib
                fh.write('  store: "%s"\n' % pglib.server().new_database()[0])
        lab.ternd = lab.spawn("ternd", [L.TERND, "-c", conf], os.path.join(d, "ternd.log"))
        lab.keys = keys
        lab.tokens = {}

        def api(tenant, *a, **kw):
            if tenant not in lab.tokens:
                lab.tokens[tenant] = keys.token(tenant)
            client = Api(API_PORT, lab.tokens[tenant])
            return lab.ns.call(client.request, *a, **kw)
        lab.api = api
        deadline = time.time() + 20
        while True:
            try:
                if api("operator", "GET", "/healthz").status == 200:
                    break
            except OSError:
                pass
            assert lab.ternd.alive() and time.time() < deadline, lab.ternd.log_text()
            time.sleep(0.1)
        r = api("operator", "POST", "/api/v1/zones",
                {"name": "corp.lab", "rrsets": [{"name": "ns1", "type": "A", "ttl": 300, "records": [L.CORP_ADDR]}]})
        assert r.status == 201, r
        lab.wait_soa(L.CORP_ADDR, "corp.lab.", lab.ternd)
        for _ in range(100):  # the stand-in answers
            try:
                if lab.query(HOSTILE_ADDR, "hostile.lab.", "SOA", rd=False, timeout=0.5).answer:
                    break
            except Exception:
                time.sleep(0.1)
        yield lab
        dead = lab.dead()
        assert not dead, "lab processes died: %s" % dead
    finally:
        lab.close()


def knotc(lab, *args):
    return L.run([L.KNOTC, "-c", lab.prov_conf, "-t", "10"] + list(args)).stdout


def set_txt(lab, zone, owner, values):
    """The provider's TXT RRset owner (values: the strings; empty: none), served before returning."""
    knotc(lab, "zone-begin", zone)
    try:
        if lab.rrset(PROV_ADDR, owner, "TXT") is not None:
            knotc(lab, "zone-unset", zone, owner, "TXT")
        for v in values:
            knotc(lab, "zone-set", zone, owner, "60", "TXT", '"%s"' % v)
        knotc(lab, "zone-commit", zone)
    except Exception:
        L.run([L.KNOTC, "-c", lab.prov_conf, "zone-abort", zone], check=False)
        raise
    deadline = time.time() + 10
    while True:
        got = lab.rrset(PROV_ADDR, owner, "TXT")
        got = set() if got is None else {b"".join(rd.strings).decode() for rd in got}
        if got == set(values):
            return
        assert time.time() < deadline, "the provider serves %s for %s" % (got, owner)
        time.sleep(0.1)


def claim(lab, tenant, name):
    r = lab.api(tenant, "POST", "/api/v1/ownership", {"name": name})
    assert r.status in (200, 201), r
    return r.json


def verify(lab, tenant, name, status=200):
    r = lab.api(tenant, "POST", "/api/v1/ownership/%s/verify" % name)
    assert r.status == status, r
    return r.json


def tern(lab, tenant, *args):
    if tenant not in lab.tokens:
        lab.tokens[tenant] = lab.keys.token(tenant)
    argv = [TERN, "--api", "http://127.0.0.1:%d" % API_PORT, "--token", lab.tokens[tenant]] + list(args)
    r = lab.ns.run(argv, check=False, timeout=120)
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r.returncode, r.stdout + r.stderr


# ---- ownership ----

def test_claim_and_token(lab):
    """A claim gives the tenant's own token and the TXT to publish; claiming again gives the same
    token; another tenant's claim on the same name gets another token and is not blocked."""
    a = claim(lab, "alice", "txt.lab")
    assert a["state"] == "pending" and a["token"].startswith("tern-") and len(a["token"]) == 37
    assert a["txt"] == {"name": "_tern-challenge.txt.lab.", "type": "TXT", "value": a["token"]}
    assert claim(lab, "alice", "txt.lab.")["token"] == a["token"]
    b = claim(lab, "bob", "txt.lab")
    assert b["token"] != a["token"] and b["state"] == "pending"
    shown = lab.api("alice", "GET", "/api/v1/ownership/txt.lab")
    assert shown.status == 200 and shown.json["token"] == a["token"]
    listed = lab.api("bob", "GET", "/api/v1/ownership").json["claims"]
    assert [c["name"] for c in listed] == ["txt.lab."] and listed[0]["token"] == b["token"]
    for bad, field in (({"name": "com"}, "name"), ({"name": "a..b"}, "name"), ({"name": "x.lab", "y": 1}, "y"),
                       ({}, "name")):
        r = lab.api("alice", "POST", "/api/v1/ownership", bad)
        assert r.status == 400 and r.json["error"]["field"] == field, (bad, r)
    r = lab.api("carol", "POST", "/api/v1/ownership/txt.lab/verify")
    assert r.status == 404 and r.json["error"]["field"] == "name", r
    narrow = Api(API_PORT, lab.keys.token("alice", scope={"zones": ["other.lab"]}))
    r = lab.ns.call(narrow.request, "POST", "/api/v1/ownership", {"name": "txt.lab"})
    assert r.status == 403 and r.json["error"]["field"] == "scope", r
    r = lab.ns.call(narrow.request, "POST", "/api/v1/ownership/txt.lab/verify")
    assert r.status == 403 and r.json["error"]["field"] == "scope", r


def test_txt_proof_other_tenant_rules_and_flag(lab):
    """By TXT: no token published -> failed with the provider's answer as evidence; alice's token
    published -> verified (method txt, evidence: the server that answered and what); bob's token not
    there -> failed (a wrong token); bob publishes his token too -> refused (409) while alice's proof
    stands; alice's token gone -> bob verified, alice's claim lost. A zone of the name made by eve
    (unverified) is flagged in its API object and still served."""
    a = claim(lab, "alice", "txt.lab")
    b = claim(lab, "bob", "txt.lab")
    r = lab.api("eve", "POST", "/api/v1/zones", {"name": "txt.lab"})
    assert r.status == 201, r
    assert lab.api("eve", "GET", "/api/v1/zones/txt.lab").json["ownership"]["flagged"] is False
    set_txt(lab, "txt.lab.", "_tern-challenge.txt.lab.", [])
    v = verify(lab, "alice", "txt.lab")
    assert v["state"] == "failed" and v["method"] == "", v
    assert v["evidence"]["txt"]["rcode"] == "NXDOMAIN" and v["evidence"]["txt"]["server"] == PROV_ADDR, v
    set_txt(lab, "txt.lab.", "_tern-challenge.txt.lab.", [a["token"]])
    v = verify(lab, "alice", "txt.lab")
    assert v["state"] == "verified" and v["method"] == "txt", v
    ev = v["evidence"]
    assert ev["txt"]["server"] == PROV_ADDR and ev["txt"]["zone"] == "txt.lab." and ev["txt"]["rcode"] == "NOERROR"
    assert ev["txt"]["answer"] == ['"%s"' % a["token"]] and abs(ev["at"] - time.time()) < 60
    assert ev["delegation"]["ns"] == ["ns.prov.lab."] and ev["delegation"]["matches"] is False
    assert lab.api("alice", "GET", "/api/v1/ownership/txt.lab").json["evidence"] == ev  # stored
    # the verified claim beats eve's unverified zone: flagged, not deleted
    z = lab.api("eve", "GET", "/api/v1/zones/txt.lab")
    assert z.status == 200 and z.json["ownership"]["flagged"] is True and z.json["ownership"]["method"] == "txt"
    assert lab.query(L.CORP_ADDR, "txt.lab.", "SOA", rd=False).answer  # still served
    code, out = tern(lab, "eve", "zone", "show", "txt.lab")
    assert code == 0 and "FLAGGED" in out, out
    # a wrong token: bob's is not in the TXT record
    v = verify(lab, "bob", "txt.lab")
    assert v["state"] == "failed" and "does not hold this tenant's token" in v["result"], v
    # both tokens published: alice's proof stands, bob is refused
    set_txt(lab, "txt.lab.", "_tern-challenge.txt.lab.", [a["token"], b["token"]])
    v = verify(lab, "bob", "txt.lab", status=409)
    assert v["state"] == "failed" and "another tenant" in v["result"], v
    assert lab.api("alice", "GET", "/api/v1/ownership/txt.lab").json["state"] == "verified"
    # alice's proof is gone: bob takes the name over, alice's claim is lost (its row kept)
    set_txt(lab, "txt.lab.", "_tern-challenge.txt.lab.", [b["token"]])
    v = verify(lab, "bob", "txt.lab")
    assert v["state"] == "verified" and "marked lost" in v["result"], v
    lost = lab.api("alice", "GET", "/api/v1/ownership/txt.lab").json
    assert lost["state"] == "lost" and lost["token"] == a["token"], lost
    # the CLI: show and verify
    code, out = tern(lab, "bob", "ownership", "show", "txt.lab")
    assert code == 0 and "state:    verified" in out and "evidence: %s answered NOERROR" % PROV_ADDR in out, out
    code, out = tern(lab, "alice", "ownership", "verify", "txt.lab")
    assert code != 0 and "state:    failed" in out, out


def test_delegation_proof(lab):
    """By delegation: the parent's NS set for deleg.lab. is the operator's nameserver and carol serves
    deleg.lab. here: verified (method delegation, evidence: the parent's server and its NS set). dave,
    who does not hold the zone, is not verified by the same delegation."""
    r = lab.api("carol", "POST", "/api/v1/zones", {"name": "deleg.lab"})
    assert r.status == 201, r
    lab.wait_soa(L.CORP_ADDR, "deleg.lab.", lab.ternd)
    code, out = tern(lab, "carol", "ownership", "claim", "deleg.lab")
    assert code == 0 and "_tern-challenge.deleg.lab. TXT" in out, out
    code, out = tern(lab, "carol", "ownership", "verify", "deleg.lab")
    assert code == 0 and "state:    verified" in out and "method:   delegation" in out, out
    v = lab.api("carol", "GET", "/api/v1/ownership/deleg.lab").json
    d = v["evidence"]["delegation"]
    assert d["matches"] is True and d["parent"] == "lab." and d["ns"] == [OPERATOR_NS], d
    assert d["referrals"] and d["referrals"][0]["address"] == L.LAB_ADDR and d["referrals"][0]["ttl"] == 600, d
    claim(lab, "dave", "deleg.lab")
    v = verify(lab, "dave", "deleg.lab")
    assert v["state"] == "failed" and "only for the tenant whose zone" in v["result"], v
    assert lab.api("carol", "GET", "/api/v1/zones/deleg.lab").json["ownership"] == {"flagged": False,
                                                                                     "verified_by": "this zone's tenant"}


def test_ns_elsewhere_and_lame_parent(lab):
    """NS elsewhere: carol serves elsewhere.lab. here but the parent delegates it to the provider:
    failed, the evidence names the provider's NS. A lame parent (dead.'s server does not serve it):
    failed, the failures name the server that did not answer."""
    r = lab.api("carol", "POST", "/api/v1/zones", {"name": "elsewhere.lab"})
    assert r.status == 201, r
    claim(lab, "carol", "elsewhere.lab")
    v = verify(lab, "carol", "elsewhere.lab")
    assert v["state"] == "failed", v
    d = v["evidence"]["delegation"]
    assert d["ns"] == ["ns.prov.lab."] and d["matches"] is False and d["operator_ns"] == [OPERATOR_NS], d
    claim(lab, "carol", "x.dead")
    v = verify(lab, "carol", "x.dead")
    assert v["state"] == "failed", v
    fails = " ".join(v["evidence"]["failures"])
    assert "dead." in fails and L.LAB_ADDR in fails, v["evidence"]


# ---- bootstrap ----

def served(addr, name, rdtype):
    """The set of RDATA texts addr answers for name/rdtype (authoritative, no recursion)."""
    q = dns.message.make_query(name, rdtype)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, addr, port=53, timeout=3)
    rrs = r.find_rrset(r.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype)) \
        if r.answer else None
    return {rd.to_text().lower() for rd in rrs} if rrs is not None else set()


def source_records(lab, zone):
    """{(owner, type): {rdata}} of the provider's AXFR of zone."""
    out = {}
    for line in lab.axfr(PROV_ADDR, zone).splitlines():
        f = line.split(None, 4)
        if len(f) == 5 and f[2] == "IN":
            out.setdefault((f[0].lower(), f[3]), set()).add(f[4].lower())
    return out


def compare_created(lab, rrsets):
    """Every RRset of the preview is served by ternd as the provider serves it."""
    for rs in rrsets:
        want = lab.ns.call(served, PROV_ADDR, rs["name"], rs["type"])
        got = lab.ns.call(served, L.CORP_ADDR, rs["name"], rs["type"])
        assert want and got == want, (rs, want, got)


def test_bootstrap_by_axfr(lab):
    """axfr.lab. (signed by the provider, AXFR allowed): the preview holds every record of the
    transfer but the DNSSEC records, the SOA and the apex NS; nothing is created without create;
    the create serves exactly those records with Tern's NS, and its check finds them all served."""
    r = lab.api("alice", "POST", "/api/v1/zones/axfr.lab/bootstrap", {})
    assert r.status == 200, r
    p = r.json
    assert p["method"] == "axfr" and p["source"] == "ns.prov.lab. (%s)" % PROV_ADDR and p["created"] is False, p
    assert p["dropped"]["dnssec"] > 0 and p["dropped"]["apex_ns"] == 1 and p["dropped"]["soa"] == 1, p
    types = {rs["type"] for rs in p["rrsets"]}
    assert not types & DNSSEC_TYPES and "SOA" not in types
    assert not any(rs["type"] == "NS" and rs["name"] == "axfr.lab." for rs in p["rrsets"])
    src = source_records(lab, "axfr.lab.")
    expect = {k: v for k, v in src.items()
              if k[1] not in DNSSEC_TYPES and k[1] != "SOA" and not (k[1] == "NS" and k[0] == "axfr.lab.")}
    got = {(rs["name"], rs["type"]): {x.lower() for x in rs["records"]} for rs in p["rrsets"]}
    assert got == expect, (got, expect)
    assert ("deep.hidden.axfr.lab.", "TXT") in got  # a transfer finds what no list names
    assert p["switch"]["old_ns"] == ["ns.prov.lab."] and p["switch"]["new_ns"] == [OPERATOR_NS]
    assert p["switch"]["parent_ns_ttl"] == 7200 and p["switch"]["zone_ns_ttl"] == 1800
    assert "7200 s" in p["switch"]["text"] and "2.0 hours" in p["switch"]["text"]
    assert lab.api("alice", "GET", "/api/v1/zones/axfr.lab").status == 404  # a preview creates nothing
    r = lab.api("alice", "POST", "/api/v1/zones/axfr.lab/bootstrap", {"create": True})
    assert r.status == 201, r
    c = r.json
    assert c["created"] is True and c["check"]["ok"] is True, c["check"]
    assert c["check"]["rrsets_checked"] == len(c["rrsets"]) == c["check"]["matching"]
    compare_created(lab, c["rrsets"])
    assert lab.ns.call(served, L.CORP_ADDR, "axfr.lab.", "NS") == {OPERATOR_NS}
    for t in ("DNSKEY", "CDS", "CDNSKEY", "NSEC"):
        assert lab.ns.call(served, L.CORP_ADDR, "axfr.lab.", t) == set(), t
    r = lab.api("alice", "POST", "/api/v1/zones/axfr.lab/bootstrap", {})
    assert r.status == 409 and r.json["error"]["field"] == "zone", r


def test_bootstrap_by_queries(lab):
    """noaxfr.lab. (the provider refuses AXFR): the documented names are asked, the preview says
    plainly that names not enumerated are not in it (hidden.noaxfr.lab. is not), the DKIM selector
    given is read; created through the CLI with --yes, ternd serves each enumerated RRset as the
    provider does, never a DNSSEC record or the old apex NS."""
    code, out = tern(lab, "bob", "zone", "bootstrap", "noaxfr.lab", "--dkim-selector", "sel1")
    assert code == 0, out
    assert "read by queries" in out and "NOT in this zone" in out and "AXFR not given" in out, out
    assert "Nothing was created" in out and "sel1._domainkey.noaxfr.lab." in out, out
    assert lab.api("bob", "GET", "/api/v1/zones/noaxfr.lab").status == 404
    r = lab.api("bob", "POST", "/api/v1/zones/noaxfr.lab/bootstrap", {"dkim_selectors": ["sel1"]})
    assert r.status == 200, r
    p = r.json
    assert p["method"] == "queries" and "REFUSED" in " ".join(p["axfr_refused"]).upper(), p
    print("bootstrap by queries: %d queries, %d names and types asked" % (p["queries"], len(p["asked"])))
    assert "noaxfr.lab. MX" in p["asked"] and "sel1._domainkey.noaxfr.lab. TXT" in p["asked"], p["asked"]
    names = {rs["name"] for rs in p["rrsets"]}
    assert "hidden.noaxfr.lab." not in names and "deep.hidden.noaxfr.lab." not in names
    got = {(rs["name"], rs["type"]) for rs in p["rrsets"]}
    for k in (("noaxfr.lab.", "A"), ("noaxfr.lab.", "AAAA"), ("noaxfr.lab.", "MX"), ("noaxfr.lab.", "TXT"),
              ("noaxfr.lab.", "CAA"), ("www.noaxfr.lab.", "CNAME"), ("mail.noaxfr.lab.", "A"),
              ("_dmarc.noaxfr.lab.", "TXT"), ("sel1._domainkey.noaxfr.lab.", "TXT"),
              ("_submission._tcp.noaxfr.lab.", "SRV")):
        assert k in got, (k, got)
    assert not {t for _, t in got} & DNSSEC_TYPES and ("noaxfr.lab.", "NS") not in got
    assert p["dropped"]["apex_ns"] == 1 and p["switch"]["zone_ns_ttl"] == 1800 and p["switch"]["parent_ns_ttl"] == 3600
    code, out = tern(lab, "bob", "zone", "bootstrap", "noaxfr.lab", "--dkim-selector", "sel1", "--yes")
    assert code == 0 and "RRsets served by Tern's nameservers as copied" in out, out
    assert "3600 s" in out and "registrar" in out, out
    compare_created(lab, p["rrsets"])
    assert lab.ns.call(served, L.CORP_ADDR, "hidden.noaxfr.lab.", "A") == set()
    assert lab.ns.call(served, L.CORP_ADDR, "noaxfr.lab.", "NS") == {OPERATOR_NS}
    assert lab.ns.call(served, L.CORP_ADDR, "noaxfr.lab.", "DNSKEY") == set()


def test_bootstrap_hostile_answers(lab):
    """hostile.lab.'s server answers with records outside the zone, DNSSEC records and a record too
    long to keep: each is dropped and counted, the rest kept."""
    r = lab.api("carol", "POST", "/api/v1/zones/hostile.lab/bootstrap", {})
    assert r.status == 200, r
    p = r.json
    assert p["method"] == "queries"
    names = {rs["name"] for rs in p["rrsets"]}
    assert all(n.endswith("hostile.lab.") for n in names), names
    assert p["dropped"]["outside_zone"] > 0 and p["dropped"]["dnssec"] > 0 and p["dropped"]["too_long"] > 0, p
    assert "too_long" in p["notice"] and 0 < p["queries"] <= 300, p
    assert {"records": ["192.0.2.7"], "name": "hostile.lab.", "type": "A", "ttl": 300} in p["rrsets"]


def test_bootstrap_bad_input(lab):
    """Bad requests name the field and change nothing."""
    for body, field in (({"create": "yes"}, "create"), ({"dkim_selectors": ["a.b"]}, "dkim_selectors"),
                        ({"dkim_selectors": "x"}, "dkim_selectors"), ({"other": 1}, "other")):
        r = lab.api("alice", "POST", "/api/v1/zones/noaxfr2.lab/bootstrap", body)
        assert r.status == 400 and r.json["error"]["field"] == field, (body, r)
    r = lab.api("alice", "POST", "/api/v1/zones/nothing.lab/bootstrap", {})
    assert r.status == 502 and r.json["error"]["field"] == "zone", r
    assert lab.api("alice", "GET", "/api/v1/zones/nothing.lab").status == 404
