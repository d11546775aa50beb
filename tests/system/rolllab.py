"""Key rollovers of ternd's online signer judged by real validators (used by test_dnssec_rollover*.py):
in the lab of dnsseclab.py (Knot serving a signed root and lab., Unbound, BIND named and Knot
Resolver validating from the lab's root), ternd serves corp.lab. as an API zone signed online with
second-scale timings, and its keys roll on their own for six minutes while
- the test plays the registrar: whenever corp.lab.'s CDS RRset changes (and is not empty), the DS
  RRset of corp.lab. in lab. is replaced by it (Knot re-signs lab.);
- ternd's own DS check asks Knot (lab.'s server, the policy's parent) until the new DS is there;
- every second each resolver is asked A, AAAA, NXDOMAIN, NODATA, a wildcard, a name under a secure
  and one under an insecure delegation: every answer must be NOERROR/NXDOMAIN with AD (the
  insecure one NOERROR without AD); the first failure is reported with its time and answer;
- every new serial is transferred and judged by ldns-verify-zone, dnssec-verify and kzonecheck.
Afterwards delv (validating itself from the root) must say "fully validated", and the key journal
(GET .../dnssec/journal) must show the RFC 7583 waits and enough rollovers."""
import os
import threading
import time

import dnsseclab as L
from apilib import Api

ZONE = "corp.lab."
API_PORT = 8053  # inside the lab's namespace, where nothing else listens
SECONDS = int(os.environ.get("TERN_ROLL_SECONDS", "360"))  # shorter only to try the test itself
# RFC 7583 timing of the policy (seconds)
DNSKEY_TTL, MAX_ZONE_TTL, PROPAGATION, DS_TTL = 10, 10, 2, 10
POLICY = {"zsk-lifetime": 60, "ksk-lifetime": 180, "dnskey-ttl": DNSKEY_TTL, "max-zone-ttl": MAX_ZONE_TTL,
          "propagation-delay": PROPAGATION, "ds-ttl": DS_TTL, "ds-check-interval": 2,
          "rrsig-lifetime": 90, "rrsig-refresh": 40, "rrsig-jitter": 10, "parents": [L.LAB_ADDR]}

TERND_CONF = """server:
  listen: ["{addr}@53"]
  dnssec-test-timings: true
api:
  listen: "127.0.0.1@{port}"
  data-dir: "{data}"
  jwks: "{jwks}"
  serial-policy: increment
  nameservers: ["ns1.corp.lab."]
  default-ttl: 10
  soa-minimum: 10
  rate-limit: 0
transfer:
  allow: [198.18.10.0/24, 127.0.0.0/8]
"""

DELETE_CDS = "0 0 0 00"

# (name, type, rcode, AD) asked every second through every resolver
QUESTIONS = [
    ("corp.lab.", "A", "NOERROR", True),
    ("www.corp.lab.", "AAAA", "NOERROR", True),
    ("nx.corp.lab.", "A", "NXDOMAIN", True),
    ("www.corp.lab.", "TXT", "NOERROR", True),  # NODATA
    ("host.wild.corp.lab.", "A", "NOERROR", True),  # wildcard
    ("www.sec.corp.lab.", "A", "NOERROR", True),  # secure delegation
    ("www.unsec.corp.lab.", "A", "NOERROR", False),  # insecure delegation
]


class Corp:
    """ternd serving corp.lab. from its API inside the lab, signed under policy; add_zone() signs
    more zones. .call(method, path, body) runs there; the zone arguments default to corp.lab."""

    def __init__(self, lab, keys, policy):
        self.lab = lab
        self.zone = ZONE
        self.dir = os.path.join(lab.dir, "ternd-roll")
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(addr=L.CORP_ADDR, port=API_PORT, data=os.path.join(self.dir, "data"),
                                      jwks=keys.jwks))
        self.log = os.path.join(self.dir, "ternd.log")
        self.proc = lab.spawn("ternd", [L.TERND, "-c", conf], self.log)
        self.client = Api(API_PORT, keys.token("corp"))
        self.lock = threading.Lock()
        deadline = time.time() + 20
        while True:
            try:
                if self.call("GET", "/healthz", token=False).status == 200:
                    break
            except OSError:
                pass
            assert self.proc.alive() and time.time() < deadline, self.proc.log_text()
            time.sleep(0.1)
        self.add_zone(ZONE, L.corp_rrsets(lab), policy)

    def add_zone(self, zone, records, policy):
        """Creates zone with records (API rrsets), signs it under policy and waits until it is
        served signed."""
        r = self.call("POST", "/api/v1/zones", {"name": zone, "rrsets": records})
        assert r.status == 201, r
        r = self.call("PUT", "/api/v1/zones/%s/dnssec" % zone, policy)
        assert r.status == 202, r
        self.wait_signed(zone=zone)

    def call(self, method, path, body=None, token=None):
        with self.lock:  # one HTTP connection: the test and its Watcher thread take turns
            return self.lab.ns.call(self.client.request, method, path, body, token)

    def dnssec(self, zone=None):
        r = self.call("GET", "/api/v1/zones/%s/dnssec" % (zone or self.zone))
        assert r.status == 200, r
        return r.json

    def ksk_submitted(self, zone=None):
        """The operator's word that the DS of the KSKs waiting is at the parent."""
        r = self.call("POST", "/api/v1/zones/%s/dnssec/ksk-submitted" % (zone or self.zone))
        assert r.status == 200, r

    def wait_signed(self, timeout=30, zone=None):
        zone = zone or self.zone
        deadline = time.time() + timeout
        while self.dnssec(zone)["state"] != "signed":
            assert time.time() < deadline, self.dnssec(zone)
            time.sleep(0.2)
        self.lab.wait_soa(L.CORP_ADDR, zone, self.proc)

    def journal(self, zone=None):
        """Every key journal entry, oldest first."""
        zone = zone or self.zone
        events, cursor = [], None
        while True:
            r = self.call("GET", "/api/v1/zones/%s/dnssec/journal%s" % (zone, "?cursor=%d" % cursor if cursor else ""))
            assert r.status == 200, r
            events += r.json["events"]
            cursor = r.json["next"]
            if cursor is None:
                return list(reversed(events))


class Watcher(threading.Thread):
    """The registrar, the verifier of each new serial and the record of each key's role, every
    second until stop(); what went wrong is in .errors."""

    def __init__(self, lab, corp, tmp_path):
        super().__init__(daemon=True)
        self.lab, self.corp, self.tmp = lab, corp, str(tmp_path)
        self.halt = threading.Event()
        self.errors, self.registered, self.roles, self.verified, self.unsigned = [], [], {}, [], []
        self.last_cds = None
        self.serial = None

    def stop(self):
        self.halt.set()
        self.join(120)

    def step(self):
        lab = self.lab
        cds = lab.rrset(L.CORP_ADDR, ZONE, "CDS")
        cds = sorted(rd.to_text() for rd in cds) if cds is not None else []
        if cds and cds != self.last_cds:
            # RFC 8078 4: the delete CDS asks for the DS to be removed (an insecure delegation)
            lab.set_ds(lab.lab_knot, ZONE, [] if cds == [DELETE_CDS] else cds, ttl=DS_TTL)
            self.registered.append((time.time(), cds))
            self.last_cds = cds
        for k in self.corp.dnssec()["keys"]:  # (none once unsigned)
            self.roles[k["tag"]] = k["role"]
        soa = lab.rrset(L.CORP_ADDR, ZONE, "SOA")
        serial = soa[0].serial if soa is not None else None
        if serial is not None and serial != self.serial and lab.rrset(L.CORP_ADDR, ZONE, "DNSKEY") is None:
            self.unsigned.append(serial)  # turned off: nothing to verify
            self.serial = serial
        elif serial is not None and serial != self.serial:
            path = os.path.join(self.tmp, "corp-%d.zone" % serial)
            _, out = L.verify_served_zone(lab, L.CORP_ADDR, ZONE, path)
            bad = {tool: text[-1500:] for tool, (rc, text) in out.items() if rc != 0}
            if bad:
                self.errors.append("serial %d (%s) refused: %s" % (serial, path, bad))
            self.verified.append(serial)
            self.serial = serial

    def run(self):
        while not self.halt.is_set():
            start = time.time()
            try:
                self.step()
            except Exception as e:  # reported by the test, not lost in the thread
                self.errors.append("%.0f: %r" % (time.time(), e))
            self.halt.wait(max(0.0, start + 1.0 - time.time()))


def poll(lab, seconds):
    """Every second, every question through every resolver: (answers, failures), failures as
    (time, resolver, name, type, answer) in order."""
    jobs = [(r, q) for r in L.RESOLVERS for q in QUESTIONS]
    answers, failures = 0, []
    deadline = time.time() + seconds
    while time.time() < deadline:
        start = time.time()
        got = lab.ns.map(lambda j: L._resolve_in_ns(j[0], j[1][0], j[1][1]), jobs)
        for (r, (name, rtype, rcode, ad)), a in zip(jobs, got):
            answers += 1
            if (a.rcode, a.ad) != (rcode, ad) or (rcode == "NOERROR" and rtype != "TXT" and not a.answer):
                failures.append((start, r, name, rtype, str(a)))
        time.sleep(max(0.0, start + 1.0 - time.time()))
    return answers, failures


def record(lab, until):
    """Every second until until() is true, every question through every resolver: a list of
    (time, resolver, (name, type, rcode, AD), Answer)."""
    jobs = [(r, q) for r in L.RESOLVERS for q in QUESTIONS]
    out = []
    while not until():
        start = time.time()
        got = lab.ns.map(lambda j: L._resolve_in_ns(j[0], j[1][0], j[1][1]), jobs)
        out += [(start, r, q, a) for (r, q), a in zip(jobs, got)]
        time.sleep(max(0.0, start + 1.0 - time.time()))
    return out


def answered(q, a):
    """The answer has the question's rcode, and data where data is due."""
    name, rtype, rcode, _ = q
    return a.rcode == rcode and (rcode != "NOERROR" or rtype == "TXT" or bool(a.answer))


def run_rollover(lab, keys, tmp_path, variant):
    """The whole test for one variant: {"algorithm": ..., "denial": ...}."""
    corp = Corp(lab, keys, dict(POLICY, **variant))
    # the first DS, from the CDS, then resolvers with cold caches
    first = sorted(rd.to_text() for rd in lab.rrset(L.CORP_ADDR, ZONE, "CDS"))
    lab.set_ds(lab.lab_knot, ZONE, first, ttl=DS_TTL)
    resolvers = L.start_resolvers(lab, "roll-" + variant["algorithm"])
    L.wait_answers(lab, "www.corp.lab.", "A", lambda a: a.rcode == "NOERROR" and a.ad, 30)
    watcher = Watcher(lab, corp, tmp_path)
    watcher.last_cds = first
    watcher.start()
    started = time.time()
    try:
        answers, failures = poll(lab, SECONDS)
    finally:
        watcher.stop()
    try:
        report = []
        if failures:
            t, r, name, rtype, a = failures[0]
            report.append("%d of %d answers failed; the first at +%.0f s: %s %s via %s: %s" % (
                len(failures), answers, t - started, name, rtype, r, a))
            servfail = sum(1 for f in failures if "SERVFAIL" in f[4])
            report.append("SERVFAIL: %d; failures by resolver: %s" % (
                servfail, {x: sum(1 for f in failures if f[1] == x) for x in L.RESOLVERS}))
        report += watcher.errors[:5]
        assert not report, "\n".join(report) + "\nternd log:\n" + corp.proc.log_text(4000)
        for r in L.RESOLVERS:
            out = L.delv(lab, r, "www.corp.lab.", "A")
            assert "; fully validated" in out, (r, out)
        check_journal(corp.journal(), watcher)
        assert len(watcher.verified) >= 10, watcher.verified
    finally:
        for p in list(resolvers.values()) + [corp.proc]:
            lab.stop(p)


def check_journal(events, watcher):
    """The RFC 7583 waits, read back from the key journal."""
    roles = watcher.roles
    by_tag = {}
    for e in events:
        by_tag.setdefault(e["tag"], {})[e["to"]] = e["time"]
    zsk_rolls = ksk_rolls = 0
    for e in events:
        t, tag, role = e["time"], e["tag"], roles.get(e["tag"])
        seen = by_tag[tag]
        assert role, "key %d never seen by the watcher: %s" % (tag, e)
        if role == "zsk" and e["to"] == "active" and e["from"] == "ready":
            # used only once its DNSKEY is in every cache
            assert t - seen["published"] >= DNSKEY_TTL + PROPAGATION, (e, seen)
            zsk_rolls += 1
        if role == "zsk" and e["to"] == "removed":
            # its signatures out of every cache first
            assert t - seen["retired"] >= MAX_ZONE_TTL + PROPAGATION, (e, seen)
        if role == "ksk" and e["to"] == "active" and e["from"] == "ready":
            # active only once its DS was at the parent: registered (by the test) before
            assert "DS is at the parent" in e["reason"], e
            ds_at = [rt for rt, ds in watcher.registered if any(d.split()[0] == str(tag) for d in ds)]
            assert ds_at and int(ds_at[0]) <= t, (e, watcher.registered)
            ksk_rolls += 1
        if role == "ksk" and e["to"] == "removed":
            # the old KSK kept while the old DS may be cached
            assert t - seen["retired"] >= DS_TTL + PROPAGATION, (e, seen)
    assert zsk_rolls >= 4 and ksk_rolls >= 1, (zsk_rolls, ksk_rolls, events)
