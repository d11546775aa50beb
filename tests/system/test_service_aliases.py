"""Service aliases (issue 20, "Aliases"; src/ternd/api/api_aliases.c, src/ternd/svc/svc_alias.c)
against Debian's pebble, unbound and knot in a network namespace (acmelab.py).

ternd on TERND_ADDR serves the services zone app.svc.test and alice's hosted.test; knot on KNOT_ADDR
serves the user's example.test; unbound (services.resolver, and pebble's -dnsserver) stubs each zone
to its server. Pebble validates every name of each certificate through unbound (http-01 at
INGRESS, where tern-acme-responder answers). Certificates live PEBBLE_VALIDITY seconds, so renewals
(and the aliases' re-verification before each) come within the test."""
import base64
import os
import re
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from acmelab import OPENSSL, PebbleLab
from apilib import Api, keys  # noqa: F401
from dnsseclab import run
from ternlib import TERND

BUILD = os.path.dirname(os.path.abspath(TERND))
RESPONDER_BIN = os.path.join(BUILD, "tern-acme-responder")
TERN_CLI = os.environ.get("TERN_CLI", os.path.join(BUILD, "tern"))
KNOTD = "/usr/sbin/knotd"
KNOTC = "/usr/sbin/knotc"

PEBBLE_ADDR = "127.10.2.10"
TERND_ADDR = "127.10.2.20"
INGRESS = "127.10.2.30"
KNOT_ADDR = "127.10.2.40"
RESOLVER_ADDR = "127.10.2.53"
ADDRS = (PEBBLE_ADDR, TERND_ADDR, INGRESS, KNOT_ADDR, RESOLVER_ADDR)
API_PORT = 8080
PEBBLE_VALIDITY = 45  # seconds: renewal at two thirds, 30 s after issuance
MAX_ALIASES = 6

TERND_CONF = """server:
  listen: ["{addr}@53"]
api:
  listen: "{addr}@{port}"
  data-dir: "{data}"
  jwks: "{jwks}"
  rate-limit: 0
  nameservers: ["ns1.svc.test.", "ns2.svc.test."]
services:
  zone: app.svc.test
  https-ttl: 3
  regions:
    - name: eu
      continents: [EU]
  acme:
    directory: "https://{pebble}:14000/dir"
    ca-file: "{ca}"
    deadline: 60
    retry-min: 2
    retry-max: 4
  ech:
    rotate: 3600
  resolver: "{resolver}@53"
  resolver-timeout: 2
  max-aliases: {max_aliases}
"""

KNOT_CONF = """server:
    rundir: "{run}"
    listen: {addr}@53
log:
  - target: stderr
    any: info
database:
    storage: "{dir}"
template:
  - id: default
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: example.test
    file: "{dir}/example.test.zone"
"""

EXAMPLE_ZONE = """$ORIGIN example.test.
$TTL 1
@ SOA ns.example.test. h.example.test. {serial} 60 60 600 1
@ NS ns
ns A {knot}
cname CNAME {canonical}.
https HTTPS 0 {canonical}.
https A {ingress}
svcb SVCB 0 {canonical}.
svcb A {ingress}
elsewhere CNAME plain.example.test.
plain A 192.0.2.7
{extra}
"""


class Lab(PebbleLab):
    def __init__(self, workdir, keys):  # noqa: F811
        super().__init__(workdir, ADDRS, (PEBBLE_ADDR,), tools=(RESPONDER_BIN, TERND, KNOTD))
        self.keys = keys
        self.start_unbound(RESOLVER_ADDR, {"app.svc.test": TERND_ADDR, "hosted.test": TERND_ADDR,
                                           "example.test": KNOT_ADDR})
        self.pebble = self.start_pebble("pebble", PEBBLE_ADDR, validity=PEBBLE_VALIDITY)
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(addr=TERND_ADDR, port=API_PORT, data=os.path.join(self.dir, "data"),
                                      jwks=keys.jwks, pebble=PEBBLE_ADDR, ca=self.ca, resolver=RESOLVER_ADDR,
                                      max_aliases=MAX_ALIASES))
        self.ternd = self.spawn("ternd", [TERND, "-c", conf])
        self.wait_log(self.ternd, "ACME account key thumbprint ")
        thumb = re.search(r"ACME account key thumbprint (\S+)", self.ternd.log_text(10 ** 7)).group(1)
        self.responder = self.spawn("responder", [RESPONDER_BIN, "--listen", INGRESS + ":80", "--thumbprint",
                                                  thumb])
        self.wait_log(self.responder, "listening on")
        self.wait_log(self.ternd, "API: listening on")
        r = self.api("platform")("POST", "/api/v1/zones", {"name": "app.svc.test"})
        assert r.status == 201, r
        self.knot_dir = os.path.join(self.dir, "knot")
        os.makedirs(os.path.join(self.knot_dir, "run"))
        self.knot_conf = os.path.join(self.knot_dir, "knot.conf")
        with open(self.knot_conf, "w") as f:
            f.write(KNOT_CONF.format(run=os.path.join(self.knot_dir, "run"), addr=KNOT_ADDR, dir=self.knot_dir))
        self.serial = 0
        self.knot = None

    def example_zone(self, canonical, extra=""):
        """example.test's zone file written (a new serial), knot started or told to reload it."""
        self.serial += 1
        with open(os.path.join(self.knot_dir, "example.test.zone"), "w") as f:
            f.write(EXAMPLE_ZONE.format(serial=self.serial, knot=KNOT_ADDR, canonical=canonical.rstrip("."),
                                        ingress=INGRESS, extra=extra))
        if self.knot is None:
            self.knot = self.spawn("knot", [KNOTD, "-c", self.knot_conf])
        else:
            self.ns.run([KNOTC, "-c", self.knot_conf, "-t", "10", "zone-reload", "example.test"])
        deadline = time.time() + 20
        while time.time() < deadline:
            r = self.ns.run(["dig", "+short", "+time=1", "+tries=1", "@" + KNOT_ADDR, "example.test", "SOA"],
                            check=False)
            if r.stdout.split()[2:3] == [str(self.serial)]:
                return
            time.sleep(0.1)
        raise RuntimeError("knot does not serve serial %d:\n%s" % (self.serial, self.knot.log_text()))

    def api(self, tenant, scope=None):
        api = Api(API_PORT, self.keys.token(tenant, scope=scope), TERND_ADDR)
        return lambda method, path, body=None: self.ns.call(api.request, method, path, body)

    def tern(self, tenant, *args):
        return self.ns.run([TERN_CLI, "--api", "http://%s:%d" % (TERND_ADDR, API_PORT), "--token",
                            self.keys.token(tenant)] + list(args), check=False, timeout=180)

    def query(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        return self.ns.call(dns.query.udp, q, TERND_ADDR, port=53, timeout=3)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, keys):  # noqa: F811
    lab = Lab(tmp_path_factory.mktemp("aliases"), keys)
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def alice(lab):
    return lab.api("alice")


def create(alice):
    r = alice("POST", "/api/v1/services", {"deployment": {"regions": {"eu": {"ipv4": [INGRESS]}}}})
    assert r.status == 201, r
    return r.json["id"], r.json["canonical"].rstrip(".")


def wait_cert(alice, sid, pred, timeout=90):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = alice("GET", "/api/v1/services/%s/certificate" % sid).json
        if pred(last):
            return last
        time.sleep(0.2)
    raise AssertionError("certificate never got there: %r" % last)


def domains(alice, sid):
    r = alice("GET", "/api/v1/services/%s/domains" % sid)
    assert r.status == 200, r
    return {d["name"]: d for d in r.json["domains"]}


def san(lab, sid, tag):
    """The DNS names of the service's certificate (from the ingress route), its chain verified."""
    m = lab.api("alice", scope={"ingress": [sid]})("GET", "/api/v1/services/%s/ingress" % sid).json
    certs = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", m["chain"], re.S)
    leaf, inter = os.path.join(lab.dir, tag + "-leaf.pem"), os.path.join(lab.dir, tag + "-inter.pem")
    with open(leaf, "w") as f:
        f.write(certs[0])
    with open(inter, "w") as f:
        f.write("".join(certs[1:]))
    v = run([OPENSSL, "verify", "-CAfile", lab.pebble.root, "-untrusted", inter, leaf], check=False)
    assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr
    out = run([OPENSSL, "x509", "-in", leaf, "-noout", "-ext", "subjectAltName"]).stdout
    return sorted(re.findall(r"DNS:([^,\s]+)", out))


@pytest.fixture(scope="module")
def service(lab, alice):
    sid, canonical = create(alice)
    wait_cert(alice, sid, lambda c: c["state"] == "valid")
    lab.example_zone(canonical)
    return sid, canonical


def add_domain(lab, sid, name):
    """tern service add-domain, timed to the verdict; (process, seconds)."""
    t0 = time.monotonic()
    p = lab.tern("alice", "service", "add-domain", sid, name, "--wait", "60")
    return p, time.monotonic() - t0


@pytest.mark.parametrize("name,via", [("cname.example.test", "CNAME"), ("https.example.test", "HTTPS"),
                                      ("svcb.example.test", "SVCB")])
def test_alias_accepted_and_certificate_reissued(lab, alice, service, name, via):
    sid, canonical = service
    before = alice("GET", "/api/v1/services/%s/certificate" % sid).json
    p, verdict = add_domain(lab, sid, name)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("verified %s: " % name) and canonical in p.stdout, p.stdout
    d = domains(alice, sid)[name]
    assert d["state"] == "verified" and d["reason"].startswith(via + ": ") and d["checked"] >= d["created"], d
    t0 = time.monotonic() - verdict
    c = wait_cert(alice, sid, lambda c: name in c["names"] and c["state"] == "valid" and
                  c["order"] != before["order"])
    issued = time.monotonic() - t0
    assert c["names"][0] == canonical
    assert name in san(lab, sid, name) and canonical in san(lab, sid, name)
    # pebble validated the alias itself (through unbound, to knot, to the ingress)
    assert "http://%s:80/.well-known/acme-challenge/" % name in lab.pebble.log_text(10 ** 7)
    print("\n%s (%s): add-domain to verified %.3f s, to the certificate reissued with it %.3f s"
          % (name, via, verdict, issued))


def test_alias_pointing_elsewhere_is_refused(lab, alice, service):
    sid, canonical = service
    for name, found in (("elsewhere.example.test", "elsewhere.example.test. CNAME plain.example.test."),
                        ("plain.example.test", "plain.example.test.")):
        p, _ = add_domain(lab, sid, name)
        assert p.returncode == 1, p.stdout + p.stderr
        assert p.stderr.startswith("tern: %s refused: " % name) and found in p.stderr, p.stderr
        d = domains(alice, sid)[name]
        assert d["state"] == "refused" and found in d["reason"], d
        assert name not in alice("GET", "/api/v1/services/%s/certificate" % sid).json["names"]
    show = lab.tern("alice", "service", "show", sid)
    assert show.returncode == 0, show.stderr
    assert re.search(r"^  elsewhere\.example\.test  refused \(.*CNAME plain\.example\.test", show.stdout, re.M), show.stdout
    assert re.search(r"^  cname\.example\.test  verified ", show.stdout, re.M), show.stdout


def test_hosted_alias_zone_gets_the_https_record(lab, alice):
    """An alias in a zone alice serves from Tern: verified through its CNAME, then the CNAME is
    replaced by `NAME HTTPS 1 <canonical> alpn=h2,h3 ech=...` (the service's ECH list)."""
    sid, canonical = create(alice)
    wait_cert(alice, sid, lambda c: c["state"] == "valid")
    r = alice("POST", "/api/v1/zones", {"name": "hosted.test"})
    assert r.status == 201, r
    r = alice("PUT", "/api/v1/zones/hosted.test/rrsets/www/CNAME", {"ttl": 1, "records": [canonical + "."]})
    assert r.status == 200, r
    p, _ = add_domain(lab, sid, "www.hosted.test")
    assert p.returncode == 0, p.stdout + p.stderr
    c = wait_cert(alice, sid, lambda c: "www.hosted.test" in c["names"] and c["state"] == "valid")
    deadline = time.time() + 15
    while True:
        r = lab.query("www.hosted.test", "HTTPS")
        rrs = [rs for rs in r.answer if rs.rdtype == dns.rdatatype.HTTPS]
        if rrs or time.time() > deadline:
            break
        time.sleep(0.2)
    assert rrs, r
    rd = rrs[0][0]
    assert rd.priority == 1 and str(rd.target) == canonical + ".", rd
    params = {int(k): v for k, v in rd.params.items()}
    assert [i.decode() for i in params[1].ids] == ["h2", "h3"]
    assert params[5].ech == base64.b64decode(c["ech"]["config_list"])
    r = lab.query("www.hosted.test", "CNAME")
    assert not [rs for rs in r.answer if rs.rdtype == dns.rdatatype.CNAME], r
    # the alias removed: its record goes with it (the zone's journal names the service)
    p = lab.tern("alice", "service", "remove-domain", sid, "www.hosted.test")
    assert p.returncode == 0, p.stdout + p.stderr
    assert not lab.query("www.hosted.test", "HTTPS").answer
    # added again (now through an HTTPS AliasMode record), then the service deleted: the record too
    r = alice("PUT", "/api/v1/zones/hosted.test/rrsets/api/HTTPS", {"ttl": 1, "records": ["0 %s." % canonical]})
    assert r.status == 200, r
    r = alice("PUT", "/api/v1/zones/hosted.test/rrsets/api/A", {"ttl": 1, "records": [INGRESS]})
    assert r.status == 200, r  # the CA validates the name by its address
    p, _ = add_domain(lab, sid, "api.hosted.test")
    assert p.returncode == 0, p.stdout + p.stderr
    deadline = time.time() + 30
    while not [rd for rs in lab.query("api.hosted.test", "HTTPS").answer for rd in rs if rd.priority == 1]:
        assert time.time() < deadline, "no ServiceMode record at api.hosted.test"
        time.sleep(0.2)
    assert alice("DELETE", "/api/v1/services/%s" % sid).status == 200
    assert not lab.query("api.hosted.test", "HTTPS").answer


def test_bad_input(lab, alice, service):
    sid, canonical = service
    other, _ = create(alice)
    cases = [({"name": "not a name"}, 400), ({"name": "-x.example.test"}, 400), ({"name": "single"}, 400),
             ({"name": "a..b.test"}, 400), ({"name": "x" * 64 + ".test"}, 400), ({"name": 5}, 400), ({}, 400),
             ({"name": "<script>.test"}, 400), ({"name": canonical}, 422), ({"name": canonical.upper() + "."}, 422),
             ({"name": "other.app.svc.test"}, 422)]
    for body, status in cases:
        r = alice("POST", "/api/v1/services/%s/domains" % sid, body)
        assert r.status == status and r.json["error"]["field"] == "name", (body, r)
    # already an alias: of this service, of another of alice's, of bob's (whose is not said)
    r = alice("POST", "/api/v1/services/%s/domains" % other, {"name": "cname.example.test"})
    assert r.status == 409 and r.json["error"]["field"] == "name", r
    bob = lab.api("bob")
    bsid, _ = create(bob)
    r = bob("POST", "/api/v1/services/%s/domains" % bsid, {"name": "CNAME.example.test."})
    assert r.status == 409 and "already an alias of a service" in r.json["error"]["message"], r
    assert sid not in r.json["error"]["message"] and "alice" not in r.json["error"]["message"], r
    # too many (services.max-aliases)
    for i in range(MAX_ALIASES):
        r = alice("POST", "/api/v1/services/%s/domains" % other, {"name": "n%d.nowhere.test" % i})
        assert r.status == 202, r
    r = alice("POST", "/api/v1/services/%s/domains" % other, {"name": "one-more.nowhere.test"})
    assert r.status == 409 and "services.max-aliases" in r.json["error"]["message"], r
    # another tenant sees no service: 404 everywhere, nothing changed
    for method, path, body in (("GET", "/api/v1/services/%s/domains" % sid, None),
                               ("POST", "/api/v1/services/%s/domains" % sid, {"name": "x.example.test"}),
                               ("DELETE", "/api/v1/services/%s/domains/cname.example.test" % sid, None)):
        r = bob(method, path, body)
        assert r.status == 404, (method, path, r)
    assert domains(alice, sid)["cname.example.test"]["state"] == "verified"
    # removal; an unknown name is 404
    r = alice("DELETE", "/api/v1/services/%s/domains/n0.nowhere.test" % other)
    assert r.status == 200, r
    r = alice("DELETE", "/api/v1/services/%s/domains/n0.nowhere.test" % other)
    assert r.status == 404 and r.json["error"]["field"] == "name", r
    p = lab.tern("alice", "service", "remove-domain", other, "n1.nowhere.test")
    assert p.returncode == 0 and "removed n1.nowhere.test" in p.stdout, p.stdout + p.stderr
    assert "n1.nowhere.test" not in domains(alice, other)
    # deleting the service deletes its aliases: the name is free again
    assert alice("DELETE", "/api/v1/services/%s" % other).status == 200
    r = alice("POST", "/api/v1/services/%s/domains" % sid, {"name": "n2.nowhere.test"})
    assert r.status == 202, r
    assert alice("DELETE", "/api/v1/services/%s/domains/n2.nowhere.test" % sid).status == 200


def test_lost_alias_left_out_of_the_renewal(lab, alice, service):
    """cname.example.test moved elsewhere: before the next renewal (certificates live
    PEBBLE_VALIDITY s) it is looked up again, marked lost with the reason, and the renewed
    certificate has the other names without it."""
    sid, canonical = service
    zone = os.path.join(lab.knot_dir, "example.test.zone")
    text = open(zone).read().replace("cname CNAME %s." % canonical, "cname CNAME plain.example.test.")
    lab.serial += 1
    text = re.sub(r"(SOA \S+ \S+ )\d+", r"\g<1>%d" % lab.serial, text)
    with open(zone, "w") as f:
        f.write(text)
    lab.ns.run([KNOTC, "-c", lab.knot_conf, "-t", "10", "zone-reload", "example.test"])
    before = alice("GET", "/api/v1/services/%s/certificate" % sid).json
    c = wait_cert(alice, sid, lambda c: c["order"] != before["order"] and c["state"] == "valid",
                  timeout=PEBBLE_VALIDITY + 30)
    d = domains(alice, sid)
    assert d["cname.example.test"]["state"] == "lost", d
    assert "cname.example.test. CNAME plain.example.test." in d["cname.example.test"]["reason"], d
    assert "cname.example.test" not in c["names"]
    assert d["https.example.test"]["state"] == "verified" and "https.example.test" in c["names"]
    names = san(lab, sid, "renewed")
    assert "cname.example.test" not in names and "https.example.test" in names and canonical in names



def test_resolver_failure_is_no_proof_an_alias_moved(lab, alice, service):
    """example.test's server gone: the resolver answers SERVFAIL; before the next renewal the
    verified aliases stay verified (logged), and a new alias is refused saying so."""
    sid, canonical = service
    lab.stop(lab.knot)
    p, _ = add_domain(lab, sid, "new.example.test")
    # unbound gives up on the dead server later than services.resolver-timeout, or says SERVFAIL
    assert p.returncode == 1 and re.search(r"SERVFAIL|gave no answer within 2 s", p.stderr), p.stdout + p.stderr
    lab.wait_log(lab.ternd, "alias https.example.test not checked again: ", timeout=PEBBLE_VALIDITY + 30)
    d = domains(alice, sid)
    assert d["https.example.test"]["state"] == "verified" and d["svcb.example.test"]["state"] == "verified", d


CHECK_CONF = """server:
  listen: ["127.0.0.1@53"]
api:
  listen: "127.0.0.1@8080"
  data-dir: "{data}"
  jwks: "{jwks}"
services:
  zone: app.svc.test
  regions: [{{name: eu, continents: [EU]}}]
  resolver: "{resolver}"
  resolver-timeout: {timeout}
  max-aliases: {max}
"""


@pytest.mark.parametrize("resolver,timeout,max_aliases,what", [
    ("resolver.example@53", 2, 5, "services.resolver: "),
    ("192.0.2.1@99999", 2, 5, "services.resolver: "),
    ("192.0.2.1@53", 0, 5, "services.resolver-timeout: "),
    ("192.0.2.1@53", 2, 100, "services.max-aliases: "),
])
def test_check_names_bad_values(tmp_path, keys, resolver, timeout, max_aliases, what):  # noqa: F811
    conf = tmp_path / "ternd.yaml"
    conf.write_text(CHECK_CONF.format(data=tmp_path / "data", jwks=keys.jwks, resolver=resolver, timeout=timeout,
                                      max=max_aliases))
    r = run([TERND, "--check", "-c", str(conf)], check=False)
    assert r.returncode != 0 and what in r.stdout + r.stderr, r.stdout + r.stderr
    conf.write_text(CHECK_CONF.format(data=tmp_path / "data", jwks=keys.jwks, resolver="192.0.2.1@53", timeout=2,
                                      max=5))
    r = run([TERND, "--check", "-c", str(conf)], check=False)
    assert r.returncode == 0, r.stdout + r.stderr
