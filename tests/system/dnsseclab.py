"""The DNSSEC validation lab: a signed root and a signed lab. served by Knot, corp.lab. served by ternd
(or Knot), judged by three validating resolvers (Unbound, BIND named, Knot Resolver) and delv, all
inside a private network namespace. Tests use it through the fixtures at the end of this file
(import them into the test module: `from dnsseclab import lab, corp_fixture`), then:
- `lab.resolve(resolver, name, type)`: one answer (rcode, AD, records) through one resolver;
- `lab.poll(names, seconds, interval)`: {resolver: Counter({(rcode, AD): n})}, for long runs;
- `lab.register(parent_knot, child, child_addr)`: the registrar, the child's DS into its parent;
- `start_unbound(lab, name, trust, extra)`: one more Unbound (MORE_RESOLVERS) with the test's own
  trust anchors (an `auto-trust-anchor-file` say) and clauses; `read_autotrust(path)` reads the
  RFC 5011 states Unbound keeps in such a file;
- `delv(lab, resolver, name)`, `verify_served_zone(lab, addr, zone, path)` (AXFR, then
  ldns-verify-zone, dnssec-verify and kzonecheck), `tamper(text, owner, type, rdata)`.

How the namespace works (chosen so the lab runs beside other tests, with pytest-xdist too):
- `Netns` starts one holder process, `unshare -n sh -c '...; exec sleep infinity'`, which brings lo
  up and adds the lab's 198.18.10.x addresses to it. The namespace lives as long as that process (or
  any process inside it) does.
- Every server of the lab is started through `nsenter --net=/proc/<holder>/ns/net -- prog ...`
  (nsenter execs prog, so the Popen object is the server itself and is stopped directly).
- The test's own DNS traffic (dnspython queries, AXFR) runs on a small thread pool whose threads
  joined the namespace with setns(2) (a network namespace is per thread in Linux; a socket stays in
  the namespace it was made in): `Netns.call(fn, ...)`. pytest itself stays in the host namespace.
- Inside the namespace nothing else listens, so every server uses port 53 (resolvers send to 53 and
  nothing else): the fixed port cannot collide with another test or another xdist worker.
- Authoritative servers sit on 198.18.10.x, not 127.x: Knot Resolver ignores loopback glue, and
  Unbound is told `do-not-query-localhost: no` all the same. named listens on and sends from its own
  address, which is on lo. The namespace has no other interface and no route: nothing leaves it.
- Teardown (`Lab.close`) terminates every process it started, the last first, then the holder; a
  process started from pytest's main thread also gets PR_SET_PDEATHSIG so a killed pytest takes the
  lab down with it.

The zones (see ROOT_ZONE ... CORP_ZONE): `.` (Knot, signed, ECDSA P-256) delegates `lab.` (Knot,
signed), which delegates `corp.lab.` (ternd or Knot serving a zone file signed by dnssec-signzone)
securely and `insecure.lab.` without DS. corp.lab. delegates `sec.corp.lab.` (Knot, signed) with a
DS and `unsec.corp.lab.` without one; lab. also delegates `bogus.lab.` with a DS matching no key
(a control: every validator must SERVFAIL it). The registrar (`Lab.set_ds`, `Lab.register`)
writes a child's DS into its parent on Knot through knotc zone-begin/set/commit, as the rollover
tests will.

Resolver caches are capped at CACHE_TTL seconds (records and negative answers), so a change is
seen within about one cap. Not so a bogus verdict: named keeps one about 30 s and Unbound about
60 s (its bad-key entries) whatever the caps, so a test that makes a zone bogus on purpose must
wait that long, or use a name of its own, before expecting it to validate again.
"""
import collections
import concurrent.futures
import ctypes
import os
import shutil
import signal
import subprocess
import threading
import time

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

from ternlib import TERND, terminate

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
KNOTC = shutil.which("knotc") or "/usr/sbin/knotc"
KEYMGR = shutil.which("keymgr") or "/usr/sbin/keymgr"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
NAMED = shutil.which("named") or "/usr/sbin/named"
KRESD = shutil.which("kresd") or "/usr/sbin/kresd"
DELV = shutil.which("delv") or "/usr/bin/delv"
KEYGEN = shutil.which("dnssec-keygen") or "/usr/bin/dnssec-keygen"
SIGNZONE = shutil.which("dnssec-signzone") or "/usr/bin/dnssec-signzone"
DNSSEC_VERIFY = shutil.which("dnssec-verify") or "/usr/bin/dnssec-verify"
LDNS_VERIFY = shutil.which("ldns-verify-zone") or "/usr/bin/ldns-verify-zone"
KZONECHECK = shutil.which("kzonecheck") or "/usr/bin/kzonecheck"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
IP = shutil.which("ip") or "/usr/sbin/ip"

TOOLS = (KNOTD, KNOTC, KEYMGR, UNBOUND, NAMED, KRESD, DELV, KEYGEN, SIGNZONE, DNSSEC_VERIFY, LDNS_VERIFY,
         KZONECHECK, UNSHARE, NSENTER, IP, TERND)

# The address plan (all on lo inside the namespace, port 53).
ROOT_ADDR = "198.18.10.1"      # knot-root: .
LAB_ADDR = "198.18.10.2"       # knot-lab: lab.
CORP_ADDR = "198.18.10.3"      # ternd or knot-corp: corp.lab.
SEC_ADDR = "198.18.10.4"       # knot-lab: sec.corp.lab., bogus.lab. (signed)
INSECURE_ADDR = "198.18.10.5"  # knot-lab: insecure.lab., unsec.corp.lab. (unsigned)
RESOLVERS = {"unbound": "198.18.10.101", "named": "198.18.10.102", "kresd": "198.18.10.103"}
# Unbounds a test configures itself (start_unbound), asked by name like RESOLVERS.
MORE_RESOLVERS = {"unbound-5011": "198.18.10.104", "unbound-static": "198.18.10.105"}
ADDRS = (ROOT_ADDR, LAB_ADDR, CORP_ADDR, SEC_ADDR, INSECURE_ADDR) + tuple(RESOLVERS.values()) + tuple(
    MORE_RESOLVERS.values())

# Cache caps of the resolvers, in seconds: an answer is never older than this, so a later change
# (a rollover, a new DS) is seen within it rather than after the zone's TTLs.
CACHE_TTL = 5

ROOT_ZONE = """. 86400 SOA ns.root. hostmaster.root. 1 1800 900 604800 60
. 86400 NS ns.root.
ns.root. 86400 A {root}
lab. 300 NS ns1.lab.
ns1.lab. 300 A {lab}
"""

LAB_ZONE = """$ORIGIN lab.
$TTL 300
@ SOA ns1 hostmaster 1 1800 900 604800 60
@ NS ns1
ns1 A {lab}
www A 192.0.2.10
corp NS ns1.corp
ns1.corp A {corp}
insecure NS ns.insecure
ns.insecure A {insecure}
bogus NS ns.bogus
ns.bogus A {sec}
"""

# A signed child on knot-lab (sec.corp.lab., bogus.lab.): www is 192.0.2.{www}.
SIGNED_CHILD_ZONE = """$ORIGIN {origin}
$TTL 300
@ SOA ns hostmaster 1 1800 900 604800 60
@ NS ns
ns A {sec}
www A 192.0.2.{www}
"""

# An unsigned child on knot-lab (insecure.lab., unsec.corp.lab.): www is 192.0.2.{www}.
INSECURE_ZONE = """$ORIGIN {origin}
$TTL 300
@ SOA ns hostmaster 1 1800 900 604800 60
@ NS ns
ns A {insecure}
www A 192.0.2.{www}
"""

# The zone ternd serves (signed here by dnssec-signzone): apex and www addresses, a wildcard, an
# empty non-terminal (ent.corp.lab., above host.ent), a secure and an insecure delegation.
CORP_ZONE = """$ORIGIN corp.lab.
$TTL 300
@ SOA ns1 hostmaster 1 1800 900 604800 60
@ NS ns1
@ A 192.0.2.30
@ AAAA 2001:db8::30
ns1 A {corp}
www A 192.0.2.31
www AAAA 2001:db8::31
*.wild A 192.0.2.32
host.ent A 192.0.2.33
sec NS ns.sec
ns.sec A {sec}
unsec NS ns.unsec
ns.unsec A {insecure}
"""

# Variants of corp.lab.'s signing: (algorithm for dnssec-keygen, dnssec-signzone chain options).
VARIANTS = {
    "nsec-ecdsa": ("ECDSAP256SHA256", []),
    "nsec3-ed25519": ("ED25519", ["-3", "-", "-H", "0"]),
}

_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """preexec_fn: SIGKILL this child when the thread that started it (pytest's main thread) ends."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run(args, check=True, timeout=60, **kw):
    """Runs a command to completion, output captured as text."""
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
    return r


class Netns:
    """A private network namespace held by one sleeping process, lo up with the lab's addresses."""

    def __init__(self, addrs=ADDRS):
        script = "%s link set lo up && " % IP + " && ".join("%s addr add %s/32 dev lo" % (IP, a) for a in addrs)
        script += " && echo ready && exec sleep infinity"
        self.holder = subprocess.Popen([UNSHARE, "-n", "--", "sh", "-c", script], stdout=subprocess.PIPE,
                                       text=True, preexec_fn=self._preexec())
        line = self.holder.stdout.readline()
        if line.strip() != "ready":
            terminate(self.holder)
            raise RuntimeError("network namespace not made (need root, unshare, ip): %r" % line)
        self.path = "/proc/%d/ns/net" % self.holder.pid
        self.fd = os.open(self.path, os.O_RDONLY)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="netns",
                                                          initializer=self._enter)

    @staticmethod
    def _preexec():
        return _die_with_parent if threading.current_thread() is threading.main_thread() else None

    def _enter(self):
        if _libc.setns(self.fd, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns(%s)" % self.path)

    def call(self, fn, *args, **kw):
        """fn(*args, **kw) on a thread inside the namespace; its result (or exception)."""
        return self.pool.submit(fn, *args, **kw).result()

    def map(self, fn, items):
        """[fn(item)] computed in parallel inside the namespace, in the order of items."""
        return list(self.pool.map(fn, items))

    def argv(self, args):
        return [NSENTER, "--net=" + self.path, "--"] + [str(a) for a in args]

    def run(self, args, check=True, timeout=60):
        """Runs a command inside the namespace to completion."""
        return run(self.argv(args), check=check, timeout=timeout)

    def popen(self, args, log):
        """Starts a long-running command inside the namespace, stdout and stderr appended to log."""
        logf = open(log, "a")
        try:
            return subprocess.Popen(self.argv(args), stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=self._preexec())
        finally:
            logf.close()

    def close(self):
        self.pool.shutdown(wait=True)
        os.close(self.fd)
        terminate(self.holder, timeout=5)
        self.holder.stdout.close()


class Proc:
    """One process of the lab: its name, Popen and log file."""

    def __init__(self, name, proc, log):
        self.name, self.proc, self.log = name, proc, log

    def log_text(self, tail=6000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-tail:]
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None


# --- DNS helpers (call them inside the namespace: Lab.query and friends do) -------------------------

def _query(addr, name, rdtype, rd, timeout, tcp=False):
    q = dns.message.make_query(name, rdtype, want_dnssec=True)
    q.flags = (q.flags | dns.flags.AD) if rd else (q.flags & ~dns.flags.RD)
    if tcp:
        return dns.query.tcp(q, addr, port=53, timeout=timeout)
    r = dns.query.udp(q, addr, port=53, timeout=timeout, ignore_trailing=True)
    if r.flags & dns.flags.TC:
        return dns.query.tcp(q, addr, port=53, timeout=timeout)
    return r


def _axfr_text(addr, zone):
    """The zone by AXFR from addr@53 as zone file text (one record a line, the SOA once)."""
    lines = []
    soa = 0
    for m in dns.query.xfr(addr, zone, port=53, timeout=10, relativize=False, lifetime=30):
        for rs in m.answer:
            if rs.rdtype == dns.rdatatype.SOA:
                soa += 1
                if soa > 1:
                    continue
            lines.append(rs.to_text())
    assert soa == 2, "AXFR of %s from %s: %d SOAs" % (zone, addr, soa)
    return "\n".join(lines) + "\n"


def _udp_alive(addr, zone):
    try:
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), addr, port=53, timeout=0.3)
        return r.rcode() == dns.rcode.NOERROR and any(rs.rdtype == dns.rdatatype.SOA for rs in r.answer)
    except Exception:
        return False


def ds_of(dnskeys, zone, digest="SHA256"):
    """The DS records (text) of the secure-entry-point keys (flags 257) of a DNSKEY RRset."""
    out = []
    for key in dnskeys:
        if key.flags & 0x0001:
            out.append(dns.dnssec.make_ds(dns.name.from_text(zone), key, digest).to_text())
    return sorted(out)


def wrong_digest(ds):
    """A DS record (text) with the last hex digit of its digest changed."""
    f = ds.split()
    digest = "".join(f[3:])
    return " ".join(f[:3] + [digest[:-1] + ("0" if digest[-1] != "0" else "1")])


class Answer(collections.namedtuple("Answer", "rcode ad answer")):
    """A resolver's answer in short: rcode text, AD set, answer RRsets as text."""

    def __str__(self):
        return "%s%s %s" % (self.rcode, " AD" if self.ad else "", self.answer)


# --- the lab ------------------------------------------------------------------------------------

KNOT_SERVER = """server:
    rundir: "{run}"
    listen: [{listen}]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{storage}"
control:
    listen: "{run}/knot.sock"
log:
  - target: stderr
    any: info
acl:
  - id: lab
    address: 198.18.10.0/24
    action: transfer
policy:
  - id: lab
    algorithm: ecdsap256sha256
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
    cds-cdnskey-publish: always
  - id: rsa4096
    algorithm: rsasha256
    ksk-size: 4096
    zsk-size: 4096
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
template:
  - id: default
    storage: "{zones}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    acl: lab
  - id: signed
    storage: "{zones}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    acl: lab
    dnssec-signing: on
    dnssec-policy: lab
  - id: signed-rsa4096
    storage: "{zones}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    acl: lab
    dnssec-signing: on
    dnssec-policy: rsa4096
  - id: presigned
    storage: "{zones}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: on
    acl: lab
zone:
"""


class Knot:
    """A knotd of the lab: zones {name: (text, template)}; template signed | signed-rsa4096 (RSASHA256,
    4,096-bit KSK and ZSK) | default | presigned."""

    def __init__(self, lab, name, addrs, zones):
        self.lab, self.name, self.addrs = lab, name, list(addrs)
        self.dir = os.path.join(lab.dir, name)
        self.zones = {z: t for z, (_, t) in zones.items()}
        run_dir, storage, zdir = (os.path.join(self.dir, d) for d in ("run", "storage", "zones"))
        for d in (run_dir, storage, zdir):
            os.makedirs(d, exist_ok=True)
        self.config = os.path.join(self.dir, "knot.conf")
        conf = KNOT_SERVER.format(run=run_dir, storage=storage, zones=zdir,
                                  listen=", ".join("%s@53" % a for a in self.addrs))
        for zone, (text, template) in zones.items():
            path = os.path.join(zdir, "%szone" % ("root." if zone == "." else zone))
            with open(path, "w") as f:
                f.write(text)
            conf += "  - domain: \"%s\"\n    template: %s\n    file: \"%s\"\n" % (zone, template, path)
        with open(self.config, "w") as f:
            f.write(conf)
        self.proc = lab.spawn(name, [KNOTD, "-c", self.config], os.path.join(self.dir, "knot.log"))
        for zone in self.zones:
            lab.wait_soa(self.addrs[0], zone, self.proc)

    def knotc(self, *args):
        return run([KNOTC, "-c", self.config, "-t", "10"] + list(args)).stdout

    def keymgr(self, *args):
        return run([KEYMGR, "-c", self.config] + list(args)).stdout


class Lab:
    """The lab's processes, namespace and work dir; close() stops them all."""

    def __init__(self, workdir):
        for tool in TOOLS:
            if not os.access(tool, os.X_OK):
                raise RuntimeError("%s missing (make deps)" % tool)
        self.dir = str(workdir)
        self.procs = []
        self.ns = Netns()
        self.root = self.lab_knot = None
        self.anchor_ds = []  # the root's trust anchor: DS records (text) of its KSK

    # processes
    def spawn(self, name, args, log):
        p = Proc(name, self.ns.popen(args, log), log)
        self.procs.append(p)
        return p

    def stop(self, p):
        """Stops one process; returns its exit code."""
        rc = terminate(p.proc, timeout=5)
        if p in self.procs:
            self.procs.remove(p)
        return rc

    def dead(self):
        """[(name, exit code, log tail)] of the lab's processes that exited."""
        return [(p.name, p.proc.returncode, p.log_text()) for p in self.procs if not p.alive()]

    def close(self):
        while self.procs:
            p = self.procs.pop()
            terminate(p.proc, timeout=5)
        self.ns.close()

    # DNS inside the namespace
    def query(self, addr, name, rdtype="A", rd=True, timeout=4.0, tcp=False):
        return self.ns.call(_query, addr, name, rdtype, rd, timeout, tcp)

    def wait_soa(self, addr, zone, proc, timeout=20.0):
        deadline = time.time() + timeout
        while not self.ns.call(_udp_alive, addr, zone):
            if not proc.alive() or time.time() > deadline:
                raise RuntimeError("%s does not serve %s on %s (exit %s):\n%s" % (
                    proc.name, zone, addr, proc.proc.poll(), proc.log_text()))
            time.sleep(0.05)

    def rrset(self, addr, name, rdtype):
        """The RRset name/rdtype that addr answers authoritatively (None if none)."""
        r = self.query(addr, name, rdtype, rd=False)
        return r.get_rrset(r.answer, dns.name.from_text(name), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))

    def axfr(self, addr, zone):
        return self.ns.call(_axfr_text, addr, zone)

    # the registrar
    def child_ds(self, addr, zone, use_cds=False):
        """The DS records (text) a registrar would put in the parent for zone served at addr: from its
        CDS RRset when use_cds (and it has one), else from its DNSKEYs with the SEP flag."""
        if use_cds:
            cds = self.rrset(addr, zone, "CDS")
            if cds is not None:
                return sorted(rd.to_text() for rd in cds)
        keys = self.rrset(addr, zone, "DNSKEY")
        assert keys is not None, "%s serves no DNSKEY for %s" % (addr, zone)
        return ds_of(keys, zone)

    def set_ds(self, parent, child, ds, ttl=CACHE_TTL * 12, timeout=20.0):
        """Plays the registrar: replaces the DS RRset of child in parent (a Knot of this lab, which
        re-signs it) by ds (a list of DS rdata texts; empty: no DS, an insecure delegation), in
        one knotc transaction, and waits until the parent serves exactly that set."""
        zone = next(z for z in parent.zones if dns.name.from_text(child).parent() == dns.name.from_text(z))
        parent_addr = parent.addrs[0]
        have = self.rrset(parent_addr, child, "DS")
        parent.knotc("zone-begin", zone)
        try:
            if have is not None:
                parent.knotc("zone-unset", zone, child, "DS")
            for rd in ds:
                parent.knotc("zone-set", zone, child, str(ttl), "DS", *rd.split())
            parent.knotc("zone-commit", zone)
        except Exception:
            run([KNOTC, "-c", parent.config, "zone-abort", zone], check=False)
            raise
        want = {" ".join(rd.lower().split()) for rd in ds}
        deadline = time.time() + timeout
        while True:
            got = self.rrset(parent_addr, child, "DS")
            got = set() if got is None else {rd.to_text().lower() for rd in got}
            if got == want:
                return
            assert time.time() < deadline, "%s serves DS %s for %s, not %s" % (parent.name, got, child, want)
            time.sleep(0.1)

    def register(self, parent, child, child_addr, use_cds=False):
        """The registrar's whole job: the DS of child (served at child_addr; from its CDS when
        use_cds, else its SEP DNSKEYs) into parent (a Knot of the lab); returns the DS set."""
        ds = self.child_ds(child_addr, child, use_cds=use_cds)
        self.set_ds(parent, child, ds)
        return ds

    # the resolvers
    def resolve(self, resolver, name, rdtype="A"):
        """What resolver (a key of RESOLVERS) answers for name/rdtype now: an Answer."""
        return resolve(self, resolver, name, rdtype)

    def poll(self, names, seconds, interval=1.0, resolvers=None):
        """See poll(): {resolver: Counter({(rcode text, ad): count})} over seconds."""
        return poll(self, names, seconds, interval, resolvers or tuple(RESOLVERS))


# --- building the parts -------------------------------------------------------------------------

def start_parents(lab):
    """knot-root (.) and knot-lab (lab., sec.corp.lab. signed; insecure.lab., unsec.corp.lab. not),
    lab.'s DS in the root, the root's trust anchor from keymgr (checked against its DNSKEY)."""
    fmt = dict(root=ROOT_ADDR, lab=LAB_ADDR, corp=CORP_ADDR, sec=SEC_ADDR, insecure=INSECURE_ADDR)
    lab.root = Knot(lab, "knot-root", [ROOT_ADDR], {".": (ROOT_ZONE.format(**fmt), "signed")})
    lab.lab_knot = Knot(lab, "knot-lab", [LAB_ADDR, SEC_ADDR, INSECURE_ADDR], {
        "lab.": (LAB_ZONE.format(**fmt), "signed"),
        "sec.corp.lab.": (SIGNED_CHILD_ZONE.format(origin="sec.corp.lab.", www=40, **fmt), "signed"),
        "bogus.lab.": (SIGNED_CHILD_ZONE.format(origin="bogus.lab.", www=70, **fmt), "signed"),
        "insecure.lab.": (INSECURE_ZONE.format(origin="insecure.lab.", www=50, **fmt), "default"),
        "unsec.corp.lab.": (INSECURE_ZONE.format(origin="unsec.corp.lab.", www=60, **fmt), "default"),
    })
    lab.set_ds(lab.root, "lab.", lab.child_ds(LAB_ADDR, "lab.", use_cds=True))
    # bogus.lab.: a DS naming its KSK with a wrong digest, so every validator must call it bogus.
    lab.set_ds(lab.lab_knot, "bogus.lab.", [wrong_digest(ds) for ds in lab.child_ds(SEC_ADDR, "bogus.lab.")])
    # The trust anchor: keymgr's DS of the root's KSK, which must be the DS of the served DNSKEY.
    anchor = []
    for line in lab.root.keymgr(".", "ds").splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == "DS" and f[4] == "2":
            anchor.append(" ".join(f[2:5] + ["".join(f[5:])]).lower())
    assert anchor and sorted(anchor) == lab.child_ds(ROOT_ADDR, "."), "keymgr . ds: %s" % anchor
    lab.anchor_ds = sorted(anchor)
    with open(os.path.join(lab.dir, "root.hints"), "w") as f:
        f.write(". 3600000 NS ns.root.\nns.root. 3600000 A %s\n" % ROOT_ADDR)
    with open(os.path.join(lab.dir, "anchors.conf"), "w") as f:
        f.write("trust-anchors {\n%s};\n" % "".join(
            "    . static-ds %s %s %s \"%s\";\n" % tuple(ds.split()) for ds in lab.anchor_ds))
    with open(os.path.join(lab.dir, "root.ds"), "w") as f:
        f.write("".join(". IN DS %s\n" % ds for ds in lab.anchor_ds))


def sign_corp(lab, variant):
    """corp.lab. signed by dnssec-signzone (KSK + ZSK of the variant's algorithm, NSEC or NSEC3
    with no salt and 0 iterations), sec.corp.lab.'s DS in it; returns the signed file's path."""
    algorithm, chain = VARIANTS[variant]
    d = os.path.join(lab.dir, "corp-" + variant)
    os.makedirs(d, exist_ok=True)
    keys = []
    for flags in (["-f", "KSK"], []):
        keys.append(run([KEYGEN, "-q", "-a", algorithm, "-K", d] + flags + ["corp.lab."]).stdout.strip())
    text = CORP_ZONE.format(corp=CORP_ADDR, sec=SEC_ADDR, insecure=INSECURE_ADDR)
    text += "".join("sec DS %s\n" % ds for ds in lab.child_ds(SEC_ADDR, "sec.corp.lab."))
    for k in keys:
        with open(os.path.join(d, k + ".key")) as f:
            text += "".join(l for l in f if not l.startswith(";"))
    unsigned = os.path.join(d, "corp.lab.zone")
    with open(unsigned, "w") as f:
        f.write(text)
    signed = unsigned + ".signed"
    run([SIGNZONE, "-q", "-o", "corp.lab.", "-K", d, "-d", d, "-f", signed, "-e", "+2592000"] + chain
        + [unsigned] + [os.path.join(d, k) for k in keys])
    return signed


TERND_CONF = """server:
  listen:
    - "{addr}@53"
transfer:
  allow: [198.18.10.0/24]
zones:
  - name: "corp.lab"
    file: "{file}"
"""


def start_corp(lab, server, signed):
    """The server of corp.lab. on CORP_ADDR: ternd (TERND) or Knot with signing off, serving the
    signed file as it is; returns its Proc (a Knot's .proc)."""
    d = os.path.join(lab.dir, "%s-%s" % (server, os.path.basename(os.path.dirname(signed))))
    os.makedirs(d, exist_ok=True)
    with open(signed) as f:
        text = f.read()
    if server == "knot":
        return Knot(lab, os.path.basename(d), [CORP_ADDR], {"corp.lab.": (text, "presigned")}).proc
    conf = os.path.join(d, "ternd.yaml")
    with open(conf, "w") as f:
        f.write(TERND_CONF.format(addr=CORP_ADDR, file=signed))
    p = lab.spawn("ternd", [TERND, "-c", conf], os.path.join(d, "ternd.log"))
    lab.wait_soa(CORP_ADDR, "corp.lab.", p)
    return p


UNBOUND_CONF = """server:
    interface: {addr}
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    val-log-level: 2
    log-servfail: yes
    num-threads: 1
    do-ip6: no
    do-not-query-localhost: no
    access-control: 0.0.0.0/0 allow
    root-hints: "{hints}"
    {trust}
    module-config: "validator iterator"
    cache-max-ttl: {ttl}
    cache-max-negative-ttl: {ttl}
    val-bogus-ttl: {ttl}
    infra-host-ttl: {ttl}
    msg-cache-size: 1m
    rrset-cache-size: 1m
    key-cache-size: 1m
    neg-cache-size: 1m
    prefetch: no
remote-control:
    control-enable: no
{extra}"""

NAMED_CONF = """options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port 53 {{ {addr}; }};
    listen-on-v6 {{ none; }};
    query-source address {addr};
    notify-source {addr};
    transfer-source {addr};
    recursion yes;
    allow-query {{ any; }};
    allow-recursion {{ any; }};
    dnssec-validation yes;
    max-cache-ttl {ttl};
    max-ncache-ttl {ttl};
    servfail-ttl 0;
    max-cache-size 16m;
    notify no;
}};
include "{anchors}";
controls {{ }};
logging {{
    channel out {{ stderr; severity info; print-time yes; print-category yes; }};
    category default {{ out; }};
    category dnssec {{ out; }};
    category lame-servers {{ null; }};
}};
zone "." {{ type hint; file "{hints}"; }};
"""

KRESD_CONF = """net.ipv6 = false
net.listen('{addr}', 53, {{ kind = 'dns' }})
modules.load('hints > iterate')
hints.root({{ ['ns.root.'] = '{root}' }})
trust_anchors.remove('.')
trust_anchors.add_file('{anchor}', true)
cache.open(10 * MB, 'lmdb://{dir}/cache')
cache.max_ttl({ttl})
log_level('notice')
"""


def start_resolvers(lab, tag):
    """Unbound, named and kresd on their addresses, the lab's root as their only hint and anchor;
    a fresh work dir (and so a cold cache) per tag. Returns {name: Proc}."""
    hints, anchor = os.path.join(lab.dir, "root.hints"), os.path.join(lab.dir, "root.ds")
    out = {}
    for name, addr in RESOLVERS.items():
        d = os.path.join(lab.dir, "%s-%s" % (name, tag))
        os.makedirs(d, exist_ok=True)
        log = os.path.join(d, name + ".log")
        fmt = dict(addr=addr, dir=d, hints=hints, anchor=anchor, ttl=CACHE_TTL, root=ROOT_ADDR,
                   anchors=os.path.join(lab.dir, "anchors.conf"), trust='trust-anchor-file: "%s"' % anchor,
                   extra="")
        conf = os.path.join(d, {"unbound": "unbound.conf", "named": "named.conf", "kresd": "config"}[name])
        with open(conf, "w") as f:
            f.write({"unbound": UNBOUND_CONF, "named": NAMED_CONF, "kresd": KRESD_CONF}[name].format(**fmt))
        args = {"unbound": [UNBOUND, "-d", "-c", conf],
                "named": [NAMED, "-g", "-4", "-n", "1", "-c", conf],
                "kresd": [KRESD, "-n", "-c", conf, d]}[name]
        out[name] = lab.spawn(name, args, log)
    for name, p in out.items():
        lab.wait_soa(RESOLVERS[name], ".", p)
    return out


def corp_rrsets(lab):
    """corp.lab.'s RRsets for the API (CORP_ZONE's data, TTL 10), sec.corp.lab.'s DS included."""
    def rs(name, rtype, *records):
        return {"name": name, "type": rtype, "ttl": 10, "records": list(records)}
    out = [rs("@", "A", "192.0.2.30"), rs("@", "AAAA", "2001:db8::30"), rs("ns1", "A", CORP_ADDR),
           rs("www", "A", "192.0.2.31"), rs("www", "AAAA", "2001:db8::31"), rs("*.wild", "A", "192.0.2.32"),
           rs("host.ent", "A", "192.0.2.33"), rs("sec", "NS", "ns.sec.corp.lab."), rs("ns.sec", "A", SEC_ADDR),
           rs("unsec", "NS", "ns.unsec.corp.lab."), rs("ns.unsec", "A", INSECURE_ADDR)]
    out.append(rs("sec", "DS", *lab.child_ds(SEC_ADDR, "sec.corp.lab.")))
    return out


def start_unbound(lab, name, trust, extra=""):
    """One more Unbound (a key of MORE_RESOLVERS) on its address with the lab's root hints and
    trust, its server: lines on trust anchors (no root anchor unless they name one), extra
    clauses after the configuration (stub-zone: ...); returns its Proc once it answers."""
    addr = MORE_RESOLVERS[name]
    d = os.path.join(lab.dir, name)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write(UNBOUND_CONF.format(addr=addr, dir=d, hints=os.path.join(lab.dir, "root.hints"), ttl=CACHE_TTL,
                                    trust="\n    ".join(trust), extra=extra))
    p = lab.spawn(name, [UNBOUND, "-d", "-c", conf], os.path.join(d, "unbound.log"))
    lab.wait_soa(addr, ".", p)
    return p


AUTOTRUST_STATES = ("START", "ADDPEND", "VALID", "MISSING", "REVOKED", "REMOVED")


def read_autotrust(path):
    """Unbound's auto-trust-anchor-file: [(DNSKEY flags, public key base64, state name)] of the
    keys it lists (a DNSKEY line with ";;state=N [ NAME ]" after it); [] while it lists none."""
    out = []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        if line.startswith(";") or ";;state=" not in line:
            continue
        f = line.split(";")[0].split()
        if len(f) < 8 or f[3] != "DNSKEY":
            continue
        state = int(line.split(";;state=")[1].split()[0])
        out.append((int(f[4]), "".join(f[7:]), AUTOTRUST_STATES[state]))
    return out


# --- what the tests call ------------------------------------------------------------------------

def _resolve_in_ns(resolver, name, rdtype="A", timeout=4.0):
    """One query through a resolver (RD, DO, AD) from a thread inside the namespace: an Answer; a
    timeout is retried once, then reported as rcode TIMEOUT."""
    for attempt in range(2):
        try:
            r = _query(RESOLVERS.get(resolver) or MORE_RESOLVERS[resolver], name, rdtype, True, timeout)
            return Answer(dns.rcode.to_text(r.rcode()), bool(r.flags & dns.flags.AD),
                          sorted(rs.to_text() for rs in r.answer if rs.rdtype != dns.rdatatype.RRSIG))
        except dns.exception.Timeout:
            if attempt:
                return Answer("TIMEOUT", False, [])
    raise AssertionError("unreachable")


def resolve(lab, resolver, name, rdtype="A"):
    """What resolver answers for name/rdtype now (see _resolve_in_ns)."""
    return lab.ns.call(_resolve_in_ns, resolver, name, rdtype)


def poll(lab, names, seconds, interval=1.0, resolvers=tuple(RESOLVERS)):
    """Asks every resolver every (name, type) of names once per interval for seconds (at least
    one round); returns {resolver: Counter({(rcode text, ad): count})}, rcode TIMEOUT for no
    answer. A round's questions run in parallel, so a round takes about one answer's time (a
    round longer than interval delays the next)."""
    counts = {r: collections.Counter() for r in resolvers}
    jobs = [(r, n, t) for r in resolvers for n, t in names]
    deadline = time.time() + seconds
    while True:
        start = time.time()
        for (r, _, _), a in zip(jobs, lab.ns.map(lambda j: _resolve_in_ns(*j), jobs)):
            counts[r][(a.rcode, a.ad)] += 1
        if start + interval >= deadline:
            return counts
        time.sleep(max(0.0, start + interval - time.time()))


def wait_answers(lab, name, rdtype, want, timeout, resolvers=tuple(RESOLVERS)):
    """Polls until every resolver's Answer for name/rdtype satisfies want(answer); returns the
    seconds it took, or fails with the last answers."""
    start = time.time()
    while True:
        got = dict(zip(resolvers, lab.ns.map(lambda r: _resolve_in_ns(r, name, rdtype), resolvers)))
        if all(want(a) for a in got.values()):
            return time.time() - start
        assert time.time() - start < timeout, "after %.1f s: %s" % (
            time.time() - start, {r: str(a) for r, a in got.items()})
        time.sleep(0.2)


def delv(lab, resolver, name, rdtype="A"):
    """delv through a resolver, validating itself from the lab's root anchor: its output."""
    r = lab.ns.run([DELV, "@" + RESOLVERS[resolver], "-4", "-a", os.path.join(lab.dir, "anchors.conf"),
                    "+root=.", name, rdtype], check=False, timeout=30)
    return r.stdout + r.stderr


def verify_zone_file(path, zone):
    """Runs ldns-verify-zone, dnssec-verify and kzonecheck on a signed zone file:
    {tool: (exit code, output)}."""
    cmds = {
        "ldns-verify-zone": [LDNS_VERIFY, "-V", "2", path],
        "dnssec-verify": [DNSSEC_VERIFY, "-o", zone, path],
        "kzonecheck": [KZONECHECK, "-o", zone, "-d", "on", path],
    }
    out = {}
    for tool, args in cmds.items():
        r = run(args, check=False)
        out[tool] = (r.returncode, r.stdout + r.stderr)
    return out


def verify_served_zone(lab, addr, zone, path):
    """The zone as addr@53 transfers it, saved at path and judged by the three verifiers: its
    text and {tool: (exit code, output)} (see verify_zone_file)."""
    text = axfr_to_file(lab, addr, zone, path)
    return text, verify_zone_file(path, zone)


def axfr_to_file(lab, addr, zone, path):
    """AXFRs zone from addr into path; returns the text."""
    text = lab.axfr(addr, zone)
    with open(path, "w") as f:
        f.write(text)
    return text


def tamper(text, owner, rdtype, new_rdata):
    """The zone text with the rdata of the first owner/rdtype record replaced (RRSIGs kept)."""
    out, done = [], False
    for line in text.splitlines():
        f = line.split()
        if not done and len(f) >= 5 and f[0].lower() == owner.lower() and f[3] == rdtype:
            line = " ".join(f[:4] + [new_rdata])
            done = True
        out.append(line)
    assert done, "no %s %s to tamper with" % (owner, rdtype)
    return "\n".join(out) + "\n"


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The namespace, knot-root and knot-lab (with the trust anchor and the hints the resolvers
    use), once per module; on teardown every process is stopped and none may have died before."""
    lab = Lab(tmp_path_factory.mktemp("dnsseclab"))
    try:
        start_parents(lab)
        yield lab
        dead = lab.dead()
        assert not dead, "lab processes died: %s" % dead
    finally:
        procs = list(lab.procs)
        lab.close()
        assert all(p.proc.poll() is not None for p in procs) and lab.ns.holder.poll() is not None


class Corp:
    """One variant of corp.lab.: its signed file (sign_corp), its server on CORP_ADDR (ternd or a
    Knot), its DS registered in lab., and fresh resolvers (cold caches) judging it."""

    def __init__(self, lab, server, variant):
        self.lab, self.server, self.variant = lab, server, variant
        self.signed = sign_corp(lab, variant)
        self.proc = start_corp(lab, server, self.signed)
        self.ds = lab.register(lab.lab_knot, "corp.lab.", CORP_ADDR)
        self.resolvers = start_resolvers(lab, "%s-%s" % (server, variant))

    def close(self):
        """Stops the resolvers and the server; each must have run to the end and exit 0."""
        failed = []
        for p in list(self.resolvers.values()) + [self.proc]:
            alive = p.alive()
            rc = self.lab.stop(p)
            if not alive or rc != 0:
                failed.append("%s %s with %s:\n%s" % (p.name, "stopped" if alive else "died", rc, p.log_text(3000)))
        assert not failed, "\n".join(failed)


def corp_fixture(params):
    """A module-scoped fixture `corp` (a Corp) parametrized by params, (server, variant) pairs:
    server knot or ternd, variant a key of VARIANTS. Needs the `lab` fixture imported too."""

    @pytest.fixture(scope="module", params=list(params), ids=lambda p: "%s-%s" % p)
    def corp(request, lab):  # noqa: F811 (lab: the fixture of this module)
        c = Corp(lab, *request.param)
        try:
            yield c
        finally:
            c.close()

    return corp
