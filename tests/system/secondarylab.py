"""Secondaries of a zone ternd serves from its API, inside the DNSSEC lab of dnsseclab.py (used by
test_signed_secondaries.py and test_signed_downstream.py). Every server sits on its own 198.18.10.x
address (added to the lab's lo) on port 53:
- `Primary`: ternd serving corp.lab. (delegated from the lab's lab.) from its API on CORP_ADDR,
  NOTIFY to every secondary; `.api(method, path, body)` runs inside the namespace;
- `TerndPop`, `KnotSec`, `NsdSec`, `NamedSec`: a ternd PoP, Knot (optionally signing the zone
  itself: `sign=True`), NSD and BIND named, each a secondary of the primary, refreshed by NOTIFY;
  `.ixfrs(primary)` / `.axfrs(primary)` count the transfers of corp.lab. the primary's log says
  it answered this secondary's address incrementally / with the whole zone (Knot, NSD and named
  send from their own address; ternd's PoP from the address the kernel picks, the primary's), and
  `.own_log_counts()` what the secondary's own log says where it says it (ternd, Knot, named);
- `stub_unbound(lab, name, addr, target)`: a validating Unbound from the lab's root whose only way
  to corp.lab. is a stub-zone to target, so what it validates is what that secondary serves."""
import os
import re
import shutil
import time

import dnsseclab as L
from apilib import Api

NSD = shutil.which("nsd") or "/usr/sbin/nsd"

ZONE = "corp.lab."
API_PORT = 8053  # inside the lab's namespace, where nothing else listens
# the secondaries' addresses and those of the Unbounds that resolve through each
SECONDARIES = {"ternd": "198.18.10.21", "knot": "198.18.10.22", "nsd": "198.18.10.23", "named": "198.18.10.24"}
TESTER = "198.18.10.120"  # the test's own transfers from the primary come from here (see axfr_primary)
STUBS = {"ternd": "198.18.10.121", "knot": "198.18.10.122", "nsd": "198.18.10.123", "named": "198.18.10.124"}

PRIMARY_CONF = """server:
  listen: ["{addr}@53"]
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
  notify: [{notify}]
"""


def add_addresses(lab, addrs):
    """Puts addrs on the lab's lo (a secondary or a resolver each). For a secondary's address the
    kernel's source address towards it is made the primary's: ternd sends NOTIFY from an unbound
    socket, and towards an address on lo the kernel would pick that address itself, which no
    secondary takes NOTIFY from (on a network the primary's own address is the source)."""
    have = lab.ns.run([L.IP, "-4", "addr", "show", "dev", "lo"]).stdout
    for a in addrs:
        if " %s/" % a not in have:
            lab.ns.run([L.IP, "addr", "add", "%s/32" % a, "dev", "lo"])
        if a in SECONDARIES.values():
            lab.ns.run([L.IP, "route", "replace", "local", a, "dev", "lo", "table", "local", "proto", "kernel",
                        "scope", "host", "src", L.CORP_ADDR])


def _axfr_from(addr, source):
    lines, soa = [], 0
    for m in L.dns.query.xfr(addr, ZONE, port=53, timeout=10, relativize=False, lifetime=30, source=source):
        for rs in m.answer:
            if rs.rdtype == L.dns.rdatatype.SOA:
                soa += 1
                if soa > 1:
                    continue
            lines.append(rs.to_text())
    assert soa == 2, "AXFR of %s from %s: %d SOAs" % (ZONE, addr, soa)
    return "\n".join(lines) + "\n"


def axfr_primary(lab):
    """corp.lab. by AXFR from the primary, sent from TESTER (so the primary's log tells the test's
    transfers from the secondaries'), as zone file text like lab.axfr's."""
    return lab.ns.call(_axfr_from, L.CORP_ADDR, TESTER)


class Primary:
    """ternd on CORP_ADDR serving corp.lab. from its API (created with L.corp_rrsets(lab) and `zone`'s
    extra fields), NOTIFY to notify (addresses, port 53)."""

    def __init__(self, lab, keys, notify, zone=None):
        self.lab = lab
        self.dir = os.path.join(lab.dir, "ternd-primary-%d" % time.monotonic_ns())
        os.makedirs(os.path.join(self.dir, "data"))
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(PRIMARY_CONF.format(addr=L.CORP_ADDR, port=API_PORT, data=os.path.join(self.dir, "data"),
                                        jwks=keys.jwks, notify=", ".join('"%s@53"' % a for a in notify)))
        self.proc = lab.spawn("ternd-primary", [L.TERND, "-c", conf], os.path.join(self.dir, "ternd.log"))
        self.client = Api(API_PORT, keys.token("corp"))
        deadline = time.time() + 20
        while True:
            try:
                if self.api("GET", "/healthz", token=False).status == 200:
                    break
            except OSError:
                pass
            assert self.proc.alive() and time.time() < deadline, self.proc.log_text()
            time.sleep(0.1)
        r = self.api("POST", "/api/v1/zones", dict({"name": ZONE, "rrsets": L.corp_rrsets(lab)}, **(zone or {})))
        assert r.status == 201, r

    def api(self, method, path, body=None, token=None):
        return self.lab.ns.call(self.client.request, method, path, body, token)

    def patch(self, changes):
        """One batch of RRset changes (PATCH .../rrsets); the new serial."""
        r = self.api("PATCH", "/api/v1/zones/%s/rrsets" % ZONE, {"rrsets": changes})
        assert r.status == 200, r
        return r.json["serial"]

    def serial(self):
        r = self.api("GET", "/api/v1/zones/%s" % ZONE)
        assert r.status == 200, r
        return r.json["serial"]

    def sign(self, policy, timeout=60):
        r = self.api("PUT", "/api/v1/zones/%s/dnssec" % ZONE, policy)
        assert r.status == 202, r
        deadline = time.time() + timeout
        while True:
            r = self.api("GET", "/api/v1/zones/%s/dnssec" % ZONE)
            if r.json["state"] == "signed":
                break
            assert time.time() < deadline, r.json
            time.sleep(0.2)
        return self.serial()


class Secondary:
    """A secondary server of the lab: its name, address, Proc and log."""
    ixfr_re = axfr_re = None  # what its own log says for an IXFR / AXFR received, when it says

    def __init__(self, lab, kind):
        self.lab, self.kind, self.addr = lab, kind, SECONDARIES[kind]
        self.source = self.addr  # the address it transfers from
        self.dir = os.path.join(lab.dir, "%s-%d" % (kind, time.monotonic_ns()))
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, kind + ".log")

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def ixfrs(self, primary):
        return len(re.findall(r"transfer: corp\.lab\. IXFR to %s: serial \d+ -> " % re.escape(self.source),
                              primary.proc.log_text(10 ** 7)))

    def axfrs(self, primary):
        return len(re.findall(r"transfer: corp\.lab\. (AXFR to %s:|IXFR to %s from serial \d+ answered by AXFR)" % (
            re.escape(self.source), re.escape(self.source)), primary.proc.log_text(10 ** 7)))

    def own_log_counts(self):
        """(IXFRs, AXFRs) received as the secondary's own log says; None when it does not say."""
        if not self.ixfr_re:
            return None
        text = self.log_text()
        return len(re.findall(self.ixfr_re, text)), len(re.findall(self.axfr_re, text))

    def serial(self):
        """The SOA serial served, None when there is no authoritative answer (yet)."""
        try:
            r = self.lab.rrset(self.addr, ZONE, "SOA")
        except (L.dns.exception.Timeout, OSError):
            return None
        return r[0].serial if r is not None else None

    def wait_serial(self, serial, timeout=20, at_least=False):
        """Waits until the secondary serves serial (None: any; at_least: serial or a later one, RFC
        1982, for a signer that may have moved on meanwhile)."""
        deadline = time.time() + timeout

        def waiting():
            got = self.serial()
            if serial is None or got is None:
                return got is None
            return (got - serial) % 2**32 >= 2**31 if at_least else got != serial

        while waiting():
            assert self.proc.alive() and time.time() < deadline, "%s serves %s, not %s:\n%s" % (
                self.kind, self.serial(), serial, self.log_text()[-3000:])
            time.sleep(0.1)


TERND_POP_CONF = """server:
  listen: ["{addr}@53"]
transfer:
  allow: [198.18.10.0/24]
zones:
  - name: "corp.lab"
    primary: ["{primary}@53"]
    file: "{dir}/corp.lab.zone"
"""


class TerndPop(Secondary):
    ixfr_re = r"zone corp\.lab\.?: IXFR from"
    axfr_re = r"zone corp\.lab\.?: transferred serial"

    def __init__(self, lab):
        super().__init__(lab, "ternd")
        self.source = L.CORP_ADDR
        conf = os.path.join(self.dir, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_POP_CONF.format(addr=self.addr, primary=L.CORP_ADDR, dir=self.dir))
        self.proc = lab.spawn("ternd-pop", [L.TERND, "-c", conf], self.log)


KNOT_SEC_CONF = """server:
    rundir: "{dir}"
    listen: {addr}@53
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
remote:
  - id: tern
    address: {primary}@53
    via: {addr}
acl:
  - id: tern_notify
    address: {primary}
    action: notify
  - id: lab_transfer
    address: 198.18.10.0/24
    action: transfer
{policy}template:
  - id: default
    storage: "{dir}"
    master: tern
    acl: [tern_notify, lab_transfer]
{signing}zone:
  - domain: corp.lab.
"""

# Knot signing a zone it gets unsigned from Tern (docs/signed-downstream.md has the same settings)
KNOT_SIGNING_POLICY = """policy:
  - id: pop
    algorithm: ecdsap256sha256
    nsec3: {nsec3}
    ksk-lifetime: 0
    zsk-lifetime: 0
"""
KNOT_SIGNING = """    zonefile-sync: -1
    zonefile-load: none
    journal-content: all
    dnssec-signing: on
    dnssec-policy: pop
"""


class KnotSec(Secondary):
    ixfr_re = r"\[corp\.lab\.\] IXFR, incoming, remote [0-9.]+@53[^\n]*, finished"
    axfr_re = r"\[corp\.lab\.\] AXFR, incoming, remote [0-9.]+@53[^\n]*, finished"

    def __init__(self, lab, sign=False, nsec3=False):
        super().__init__(lab, "knot")
        self.config = os.path.join(self.dir, "knot.conf")
        with open(self.config, "w") as f:
            f.write(KNOT_SEC_CONF.format(
                dir=self.dir, addr=self.addr, primary=L.CORP_ADDR,
                policy=KNOT_SIGNING_POLICY.format(nsec3="on" if nsec3 else "off") if sign else "",
                signing=KNOT_SIGNING if sign else "    zonefile-sync: -1\n    journal-content: changes\n"))
        self.proc = lab.spawn("knot-sec", [L.KNOTD, "-c", self.config], self.log)

    def keymgr(self, *args):
        return L.run([L.KEYMGR, "-c", self.config] + list(args)).stdout


NSD_SEC_CONF = """server:
    server-count: 1
    ip-address: {addr}@53
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    database: ""
    pidfile: "{dir}/nsd.pid"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    zonelistfile: "{dir}/zone.list"
    logfile: "{dir}/nsd.log"
    verbosity: 2
    zonefiles-write: 0
    rrl-ratelimit: 0
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
zone:
    name: corp.lab.
    outgoing-interface: {addr}
    request-xfr: {primary}@53 NOKEY
    allow-notify: {primary} NOKEY
    provide-xfr: 198.18.10.0/24 NOKEY
"""


class NsdSec(Secondary):
    def __init__(self, lab):
        super().__init__(lab, "nsd")
        conf = os.path.join(self.dir, "nsd.conf")
        with open(conf, "w") as f:
            f.write(NSD_SEC_CONF.format(addr=self.addr, dir=self.dir, primary=L.CORP_ADDR))
        self.proc = lab.spawn("nsd-sec", [NSD, "-d", "-c", conf], self.log)

    def log_text(self):
        text = ""
        for p in (os.path.join(self.dir, "nsd.log"), self.log):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text


NAMED_SEC_CONF = """options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port 53 {{ {addr}; }};
    listen-on-v6 {{ none; }};
    query-source address {addr};
    notify-source {addr};
    transfer-source {addr};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ 198.18.10.0/24; }};
}};
controls {{ }};
logging {{
    channel out {{ stderr; severity debug 1; print-time yes; print-category yes; }};
    category default {{ out; }};
    category xfer-in {{ out; }};
    category lame-servers {{ null; }};
}};
zone "corp.lab" {{
    type secondary;
    primaries {{ {primary}; }};
    file "{dir}/corp.lab.db";
    allow-notify {{ {primary}; }};
}};
"""


class NamedSec(Secondary):
    # named says what it asks for (an IXFR answered with the whole zone would be an AXFR in the
    # primary's log, which the test checks too)
    ixfr_re = r"zone corp\.lab/IN: requesting IXFR from"
    axfr_re = r"zone corp\.lab/IN: requesting AXFR"

    def __init__(self, lab):
        super().__init__(lab, "named")
        conf = os.path.join(self.dir, "named.conf")
        with open(conf, "w") as f:
            f.write(NAMED_SEC_CONF.format(addr=self.addr, dir=self.dir, primary=L.CORP_ADDR))
        self.proc = lab.spawn("named-sec", [L.NAMED, "-g", "-4", "-n", "1", "-d", "1", "-c", conf], self.log)


STUB_UNBOUND = """    stub-zone:
        name: "corp.lab."
        stub-addr: {target}
        stub-prime: no
        stub-first: no
"""


def stub_unbound(lab, name, addr, target):
    """A validating Unbound on addr (from the lab's root anchor) reaching corp.lab. only through
    target: started, answering; its Proc. Its Answer for a question: resolve(lab, addr, ...)."""
    d = os.path.join(lab.dir, "unbound-%s-%d" % (name, time.monotonic_ns()))
    os.makedirs(d)
    conf = os.path.join(d, "unbound.conf")
    text = L.UNBOUND_CONF.format(addr=addr, dir=d, hints=os.path.join(lab.dir, "root.hints"),
                                 trust='trust-anchor-file: "%s"' % os.path.join(lab.dir, "root.ds"),
                                 ttl=L.CACHE_TTL, extra=STUB_UNBOUND.format(target=target))
    with open(conf, "w") as f:
        f.write(text)
    p = lab.spawn("unbound-" + name, [L.UNBOUND, "-d", "-c", conf], os.path.join(d, "unbound.log"))
    lab.wait_soa(addr, ".", p)
    return p


def _resolve(addr, name, rdtype):
    for attempt in range(2):
        try:
            r = L._query(addr, name, rdtype, True, 4.0)
            return L.Answer(L.dns.rcode.to_text(r.rcode()), bool(r.flags & L.dns.flags.AD),
                            sorted(rs.to_text() for rs in r.answer if rs.rdtype != L.dns.rdatatype.RRSIG))
        except L.dns.exception.Timeout:
            if attempt:
                return L.Answer("TIMEOUT", False, [])
    raise AssertionError("unreachable")


def resolve(lab, addr, name, rdtype="A"):
    """What the resolver on addr answers (RD, DO, AD) for name/rdtype: an L.Answer."""
    return lab.ns.call(_resolve, addr, name, rdtype)


def wait_validated(lab, addr, name, rdtype, rcode, want=None, timeout=30):
    """Polls the resolver on addr until it answers name/rdtype with rcode and AD (and, when want
    is given, an answer section holding want); returns the Answer, or fails with the last one."""
    deadline = time.time() + timeout
    while True:
        a = resolve(lab, addr, name, rdtype)
        if a.rcode == rcode and a.ad and (want is None or any(want in rs for rs in a.answer)):
            return a
        assert time.time() < deadline, "%s via %s: %s, not %s with AD%s" % (
            name, addr, a, rcode, " holding %r" % want if want else "")
        time.sleep(0.3)
