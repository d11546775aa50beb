"""tern check (issue 22) on a simulated Internet in a network namespace (dnsseclab.Lab): Knot serves
the root and lab., ternd serves corp.lab. (the primary) and a Knot secondary of it is one serial
behind, Unbound is a vantage resolver, and broken zones sit beside clean ones. Debian has no
registry server, so the WHOIS (port 43) and RDAP servers are small /usr/bin/python3 stand-ins
(check_standins.py), as is the server of the zones real servers refuse to load (a CNAME at the apex,
a CNAME beside other data). tern runs inside the namespace with --hints, so nothing leaves it."""
import base64
import contextlib
import json
import os
import signal
import socket
import time

import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

from dnsseclab import (CORP_ADDR, INSECURE_ADDR, IP, KEYGEN, KNOTD, LAB_ADDR, ROOT_ADDR, SEC_ADDR, SIGNZONE, Knot, Lab,
                       MORE_RESOLVERS, ds_of, run, start_unbound, tamper, wrong_digest)
from ternlib import TERND

TERN = os.path.join(os.path.dirname(TERND), "tern")
PY = "/usr/bin/python3"
STANDINS = os.path.join(os.path.dirname(__file__), "check_standins.py")
KNOT2_ADDR = SEC_ADDR  # the Knot of corp.lab.'s secondary and of the fixture zones
STANDIN_ADDR = INSECURE_ADDR  # the stand-ins: broken zones' server, WHOIS, RDAP
RESOLVER = MORE_RESOLVERS["unbound-static"]
# Second addresses (added to lo at the start), so every fixture has two name servers on two addresses
# (RFC 1034 section 4.1; Zonemaster's DELEGATION01/02 are errors otherwise) and shows only its own fault.
KNOT2B_ADDR, KNOT2C_ADDR, STANDINB_ADDR, SLOWB_ADDR, LABB_ADDR = ("198.18.11.4", "198.18.11.14", "198.18.11.5",
                                                                 "198.18.11.102", "198.18.11.2")
CHECK_MAXVALUES_SHOWN = 8  # values of one answer a report keeps (CHECK_MAXVALUES)
WHOIS_PORT, WHOIS_FLOOD_PORT, WHOIS_SLOW_PORT, RDAP_PORT, RDAP_HTML_PORT = 43, 4343, 4344, 8080, 8081

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
web A 192.0.2.10
corp NS ns1.corp
corp NS ns2.corp
ns1.corp A {corp}
ns2.corp A {knot2}
clean NS ns.clean
ns.clean A {knot2}
highttl NS ns.highttl
ns.highttl A {knot2}
lame NS ns.lame
lame NS ns2.lame
ns.lame A {knot2}
ns2.lame A {standin}
mismatch NS ns.mismatch
ns.mismatch A {knot2}
apexcname NS ns.apexcname
ns.apexcname A {standin}
beside NS ns.beside
ns.beside A {standin}
loop NS ns.loop
ns.loop A {standin}
big NS ns.big
ns.big A {standin}
slow NS ns.slow
ns.slow A {slow}
badglue NS ns.badglue
ns.badglue A {knot2}
inparent NS ns.inparent
ns.inparent A {lab}
signed NS ns.signed
ns.signed A {knot2}
expiring NS ns.expiring
ns.expiring A {knot2}
expired NS ns.expired
ns.expired A {knot2}
tampered NS ns.tampered
ns.tampered A {knot2}
badds NS ns.badds
ns.badds A {knot2}
nods NS ns.nods
ns.nods A {knot2}
rsa NS ns.rsa
ns.rsa A {knot2}
p384 NS ns.p384
ns.p384 A {knot2}
rsa4096 NS ns.rsa4096
ns.rsa4096 A {knot2}
hugekey NS ns.hugekey
ns.hugekey A {standin}
single NS ns.single
ns.single A {knot2}
shared NS ns.shared
shared NS ns2.shared
shared NS ns3.shared
ns.shared A {knot2}
ns2.shared A {knot2}
ns3.shared A {knot2b}
"""
SECOND_NS = dict({z: "{knot2b}" for z in ("clean", "highttl", "mismatch", "badglue", "signed", "expiring", "expired",
                                         "tampered", "badds", "nods", "rsa", "p384", "rsa4096")},
                 **{z: "{standinb}" for z in ("apexcname", "beside", "loop", "big", "hugekey")}, slow="{slowb}",
                 inparent="{labb}")
LAB_ZONE += "".join("%s NS ns2.%s\nns2.%s A %s\n" % (z, z, z, a) for z, a in SECOND_NS.items())

# corp.lab. as ternd serves it; the secondary transfers serial 1, then ternd moves to 2 unnotified.
CORP_ZONE = """$ORIGIN corp.lab.
$TTL 300
@ SOA ns1 hostmaster {serial} 1800 900 604800 60
@ NS ns1
@ NS ns2
ns1 A {corp}
ns2 A {knot2}
@ A 192.0.2.30
www A 192.0.2.31
app CNAME edge
edge 120 CNAME web.lab.
{extra}
"""


def child(origin, ns_names, ns_addr, extra="", more_ns=(("ns2", "{knot2b}"),)):
    text = "$ORIGIN %s\n$TTL 300\n@ SOA %s hostmaster 1 1800 900 604800 60\n" % (origin, ns_names[0])
    text += "".join("@ NS %s\n%s A %s\n" % (n, n, ns_addr) for n in ns_names)
    text += "".join("@ NS %s\n%s A %s\n" % (n, n, a) for n, a in more_ns)
    return text + "www A 192.0.2.20\n" + extra


FIXTURES = {
    "clean.lab.": child("clean.lab.", ["ns"], "{knot2}"),
    "highttl.lab.": child("highttl.lab.", ["ns"], "{knot2}", "@ 86400 A 192.0.2.50\n"),
    "lame.lab.": child("lame.lab.", ["ns"], "{knot2}", "@ NS ns2\nns2 A {standin}\n", more_ns=()),
    # the parent lists ns and ns2; the zone adds ns3
    "mismatch.lab.": child("mismatch.lab.", ["ns"], "{knot2}", more_ns=(("ns2", "{knot2b}"), ("ns3", "{knot2c}"))),
    # the zone gives its server another address than the parent's glue (which still reaches it)
    "badglue.lab.": child("badglue.lab.", ["ns"], "192.0.2.99"),
    "single.lab.": child("single.lab.", ["ns"], "{knot2}", more_ns=()),  # one name server
    "shared.lab.": child("shared.lab.", ["ns", "ns2"], "{knot2}", more_ns=(("ns3", "{knot2b}"),)),
}

# Served by the stand-in: zones no real server loads.
HUGE_KEY = "257 3 8 " + base64.b64encode(b"\x03\x01\x00\x01\xc5" + bytes((i * 7 + 1) % 256 for i in range(1095))).decode()
BROKEN = {
    "apexcname.lab.": [["apexcname.lab.", 300, "SOA", "ns.apexcname.lab. h.apexcname.lab. 1 1800 900 604800 60"],
                       ["apexcname.lab.", 300, "NS", "ns.apexcname.lab."],
                       ["ns.apexcname.lab.", 300, "A", STANDIN_ADDR],
                       ["apexcname.lab.", 300, "CNAME", "web.lab."]],
    "beside.lab.": [["beside.lab.", 300, "SOA", "ns.beside.lab. h.beside.lab. 1 1800 900 604800 60"],
                    ["beside.lab.", 300, "NS", "ns.beside.lab."],
                    ["ns.beside.lab.", 300, "A", STANDIN_ADDR],
                    ["www.beside.lab.", 300, "CNAME", "web.lab."],
                    ["www.beside.lab.", 300, "TXT", "\"verification=1234\""]],
    "loop.lab.": [["loop.lab.", 300, "SOA", "ns.loop.lab. h.loop.lab. 1 1800 900 604800 60"],
                  ["loop.lab.", 300, "NS", "ns.loop.lab."],
                  ["ns.loop.lab.", 300, "A", STANDIN_ADDR],
                  ["a.loop.lab.", 300, "CNAME", "b.loop.lab."],
                  ["b.loop.lab.", 300, "CNAME", "a.loop.lab."]],
    "big.lab.": [["big.lab.", 300, "SOA", "ns.big.lab. h.big.lab. 1 1800 900 604800 60"],
                 ["big.lab.", 300, "NS", "ns.big.lab."],
                 ["ns.big.lab.", 300, "A", STANDIN_ADDR]]
    + [["txt.big.lab.", 300, "TXT", "\"%02d %s\"" % (i, "x" * 100)] for i in range(20)],
    # a KSK whose key field (1,100 octets) is longer than any key Tern verifies: its text (1,482
    # characters) is over a record's CHECK_RR_TEXT, so it arrives cut; its DS is in lab.
    "hugekey.lab.": [["hugekey.lab.", 300, "SOA", "ns.hugekey.lab. h.hugekey.lab. 1 1800 900 604800 60"],
                     ["hugekey.lab.", 300, "NS", "ns.hugekey.lab."],
                     ["ns.hugekey.lab.", 300, "A", STANDIN_ADDR],
                     ["hugekey.lab.", 300, "DNSKEY", HUGE_KEY]],
}
for _z, _records in BROKEN.items():  # their second name server: a second stand-in
    _records[3:3] = [[_z, 300, "NS", "ns2." + _z], ["ns2." + _z, 300, "A", STANDINB_ADDR]]

# Served by a stand-in that waits before each answer.
SLOW_ADDR = "198.18.10.102"  # on lo in every lab namespace (dnsseclab.ADDRS), unused by this lab
SLOW = {"slow.lab.": [["slow.lab.", 300, "SOA", "ns.slow.lab. h.slow.lab. 1 1800 900 604800 60"],
                      ["slow.lab.", 300, "NS", "ns.slow.lab."],
                      ["ns.slow.lab.", 300, "A", SLOW_ADDR],
                      ["slow.lab.", 300, "NS", "ns2.slow.lab."],
                      ["ns2.slow.lab.", 300, "A", SLOWB_ADDR],  # a stand-in that does not wait
                      ["slow.lab.", 300, "A", "192.0.2.60"]]}

REGISTRY = {"corp.lab": {"registrar": "Lab Registrar Inc.", "expires": "2030-01-01T00:00:00Z",
                         "ns": ["ns1.corp.lab", "ns2.corp.lab"]},
            # clean.lab. expires in 10 days (written when the lab starts)
            "clean.lab": {"registrar": "Lab Registrar Inc.", "expires": None, "ns": ["ns.clean.lab"]}}

TERND_CONF = """server:
  listen:
    - "{addr}@53"
transfer:
  allow: [198.18.10.0/24]
zones:
  - name: "corp.lab"
    file: "{file}"
"""

# Signed by the second Knot (ECDSA P-256, NSEC): signed.lab. gets its DS in lab., badds.lab. a DS
# with a wrong digest, nods.lab. none. rsa.lab. and p384.lab. are signed with the algorithms Tern
# validates but does not sign with (RSASHA256, ECDSAP384SHA384), their DS in lab.
SIGNED = {z: child(z, ["ns"], "{knot2}") for z in ("signed.lab.", "badds.lab.", "nods.lab.", "rsa.lab.",
                                                   "p384.lab.", "rsa4096.lab.")}
# rsa4096.lab.: RSASHA256 with 4,096-bit KSK and ZSK (the longest RSA keys RFC 3110 and 5702 allow)
SIGNED_TEMPLATE = {"rsa.lab.": "signed-rsa", "p384.lab.": "signed-p384",
                   "rsa4096.lab.": "signed-rsa4096"}  # else "signed"

# Signed here by dnssec-signzone with signatures valid (from, to) seconds from now, served as they are
# by the second Knot, their DS in lab.: expiring.lab. (a day left), expired.lab. (ended yesterday).
# tampered.lab. is signed for a week, then its SOA is changed behind the signature.
PRESIGNED = {"expiring.lab.": (-3600, 86400), "expired.lab.": (-2 * 86400, -86400),
             "tampered.lab.": (-3600, 7 * 86400)}


def presign(workdir, zone, text, valid):
    """zone's text signed by dnssec-signzone (ECDSA P-256 KSK and ZSK, NSEC) with signatures valid from
    valid[0] to valid[1] seconds from now; the signed text."""
    d = os.path.join(workdir, "presign-" + zone.rstrip("."))
    os.makedirs(d)
    keys = [run([KEYGEN, "-q", "-a", "ECDSAP256SHA256", "-K", d] + flags + [zone]).stdout.strip()
            for flags in (["-f", "KSK"], [])]
    for k in keys:
        with open(os.path.join(d, k + ".key")) as f:
            text += "".join(line for line in f if not line.startswith(";"))
    unsigned, signed = os.path.join(d, "unsigned"), os.path.join(d, "signed")
    with open(unsigned, "w") as f:
        f.write(text)
    when = [time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + v)) for v in valid]
    run([SIGNZONE, "-q", "-P", "-O", "full", "-o", zone, "-K", d, "-d", d, "-f", signed, "-s", when[0], "-e",
         when[1], unsigned] + [os.path.join(d, k) for k in keys])
    with open(signed) as f:
        return f.read()


KNOT2_CONF = """server:
    rundir: "{dir}"
    listen: [{addr}@53, {addr2}@53, {addr3}@53]
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
  - id: ternd
    address: {corp}@53
policy:
  - id: lab
    algorithm: ecdsap256sha256
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
  - id: rsa
    algorithm: rsasha256
    ksk-size: 2048
    zsk-size: 1024
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
  - id: p384
    algorithm: ecdsap384sha384
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
  - id: rsa4096
    algorithm: rsasha256
    ksk-size: 4096
    zsk-size: 4096
    nsec3: off
    ksk-lifetime: 0
    zsk-lifetime: 0
template:
  - id: default
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
  - id: signed
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: lab
  - id: signed-rsa
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: rsa
  - id: signed-p384
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: p384
  - id: signed-rsa4096
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    dnssec-signing: on
    dnssec-policy: rsa4096
zone:
  - domain: corp.lab.
    master: ternd
    file: "{dir}/corp.lab.secondary"
{fixtures}"""


def fmt(text):
    return text.format(root=ROOT_ADDR, lab=LAB_ADDR, corp=CORP_ADDR, knot2=KNOT2_ADDR, standin=STANDIN_ADDR,
                       slow=SLOW_ADDR, knot2b=KNOT2B_ADDR, knot2c=KNOT2C_ADDR, standinb=STANDINB_ADDR,
                       slowb=SLOWB_ADDR, labb=LABB_ADDR)


def soa_serial(lab, addr, zone):
    r = lab.query(addr, zone, "SOA", rd=False, timeout=1.0)
    return r.answer[0][0].serial if r.answer else None


def wait_for(fn, what, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if fn():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s" % what)


def tcp_soa(addr, zone):
    import dns.message
    import dns.query
    return bool(dns.query.tcp(dns.message.make_query(zone, "SOA"), addr, port=53, timeout=1).answer)


def tcp_open(addr, port):
    with socket.create_connection((addr, port), timeout=1):
        return True


@contextlib.contextmanager
def check_lab(workdir):
    """The lab in workdir, stopped on leaving (also used by bench/check and test_check_zonemaster.py)."""
    lab = Lab(workdir)
    d = lab.dir
    try:
        for addr in (KNOT2B_ADDR, KNOT2C_ADDR, STANDINB_ADDR, SLOWB_ADDR, LABB_ADDR):
            lab.ns.run([IP, "addr", "add", addr + "/32", "dev", "lo"])
        Knot(lab, "knot-root", [ROOT_ADDR], {".": (fmt(ROOT_ZONE), "default")})
        # knot-lab serves inparent.lab. too: the parent's server answers from the child at once
        lab.lab_knot = Knot(lab, "knot-lab", [LAB_ADDR, LABB_ADDR], {
            "lab.": (fmt(LAB_ZONE), "default"),
            "inparent.lab.": (fmt(child("inparent.lab.", ["ns"], "{lab}", more_ns=(("ns2", "{labb}"),))), "default")})
        with open(os.path.join(d, "root.hints"), "w") as f:
            f.write(". 3600000 NS ns.root.\nns.root. 3600000 A %s\n" % ROOT_ADDR)
        # ternd: corp.lab. serial 1
        corp_file = os.path.join(d, "corp.lab.zone")
        with open(corp_file, "w") as f:
            f.write(fmt(CORP_ZONE.replace("{serial}", "1").replace("{extra}", "")))
        conf = os.path.join(d, "ternd.yaml")
        with open(conf, "w") as f:
            f.write(TERND_CONF.format(addr=CORP_ADDR, file=corp_file))
        lab.ternd = lab.spawn("ternd", [TERND, "-c", conf], os.path.join(d, "ternd.log"))
        lab.wait_soa(CORP_ADDR, "corp.lab.", lab.ternd)
        # the second Knot: corp.lab.'s secondary (no NOTIFY reaches it) and the fixture zones
        k2 = os.path.join(d, "knot2")
        os.makedirs(k2)
        fixtures = ""
        for zone, text in FIXTURES.items():
            path = os.path.join(k2, zone + "zone")
            with open(path, "w") as f:
                f.write(fmt(text))
            fixtures += "  - domain: %s\n    file: \"%s\"\n" % (zone, path)
        for zone, valid in PRESIGNED.items():
            path = os.path.join(k2, zone + "zone")
            with open(path, "w") as f:
                text = presign(d, zone, fmt(child(zone, ["ns"], "{knot2}")), valid)
                if zone == "tampered.lab.":
                    text = tamper(text, zone, "SOA", "ns.tampered.lab. hostmaster.tampered.lab. 99 1800 900 604800 60")
                f.write(text)
            fixtures += "  - domain: %s\n    file: \"%s\"\n" % (zone, path)
        for zone, text in SIGNED.items():
            path = os.path.join(k2, zone + "zone")
            with open(path, "w") as f:
                f.write(fmt(text))
            fixtures += "  - domain: %s\n    file: \"%s\"\n    template: %s\n" % (zone, path,
                                                                             SIGNED_TEMPLATE.get(zone, "signed"))
        with open(os.path.join(k2, "knot.conf"), "w") as f:
            f.write(KNOT2_CONF.format(dir=k2, addr=KNOT2_ADDR, addr2=KNOT2B_ADDR, addr3=KNOT2C_ADDR, corp=CORP_ADDR,
                                              fixtures=fixtures))
        lab.knot2 = lab.spawn("knot2", [KNOTD, "-c", os.path.join(k2, "knot.conf")], os.path.join(k2, "knot.log"))
        for zone in list(FIXTURES) + list(SIGNED) + list(PRESIGNED):
            lab.wait_soa(KNOT2_ADDR, zone, lab.knot2)
        wait_for(lambda: all(lab.rrset(KNOT2_ADDR, z, "DNSKEY") is not None for z in SIGNED), "signed zones")
        for zone in ("signed.lab.", *SIGNED_TEMPLATE):
            lab.set_ds(lab.lab_knot, zone, lab.child_ds(KNOT2_ADDR, zone))
        for zone in PRESIGNED:
            lab.set_ds(lab.lab_knot, zone, lab.child_ds(KNOT2_ADDR, zone))
        lab.set_ds(lab.lab_knot, "badds.lab.", [wrong_digest(ds) for ds in lab.child_ds(KNOT2_ADDR, "badds.lab.")])
        lab.set_ds(lab.lab_knot, "hugekey.lab.",
                   ds_of([dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, HUGE_KEY)], "hugekey.lab."))
        wait_for(lambda: soa_serial(lab, KNOT2_ADDR, "corp.lab.") == 1, "the secondary's first transfer")
        # the primary moves on: serial 2; the secondary is not told and refreshes only in 1800 s
        with open(corp_file, "w") as f:
            f.write(fmt(CORP_ZONE.replace("{serial}", "2").replace("{extra}", "new A 192.0.2.40")))
        lab.ternd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: soa_serial(lab, CORP_ADDR, "corp.lab.") == 2, "ternd serving serial 2")
        # the stand-ins
        broken = os.path.join(d, "broken.json")
        with open(broken, "w") as f:
            json.dump(BROKEN, f)
        reg = os.path.join(d, "registry.json")
        registry = json.loads(json.dumps(REGISTRY))
        registry["clean.lab"]["expires"] = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() + 10 * 86400))
        with open(reg, "w") as f:
            json.dump(registry, f)
        slow = os.path.join(d, "slow.json")
        with open(slow, "w") as f:
            json.dump(SLOW, f)
        log = os.path.join(d, "standins.log")
        lab.spawn("standin-dns", [PY, STANDINS, "dns", STANDIN_ADDR, broken], log)
        lab.spawn("whois", [PY, STANDINS, "whois", STANDIN_ADDR, WHOIS_PORT, reg], log)
        lab.spawn("whois-flood", [PY, STANDINS, "whois-flood", STANDIN_ADDR, WHOIS_FLOOD_PORT], log)
        lab.spawn("whois-slow", [PY, STANDINS, "whois-slow", STANDIN_ADDR, WHOIS_SLOW_PORT], log)
        lab.spawn("rdap", [PY, STANDINS, "rdap", STANDIN_ADDR, RDAP_PORT, reg], log)
        lab.spawn("rdap-html", [PY, STANDINS, "rdap-html", STANDIN_ADDR, RDAP_HTML_PORT], log)
        for zone in BROKEN:
            lab.wait_soa(STANDIN_ADDR, zone, lab.procs[-6])
        lab.spawn("standin-dns-b", [PY, STANDINS, "dns", STANDINB_ADDR, broken], log)
        lab.spawn("standin-slow", [PY, STANDINS, "dns", SLOW_ADDR, slow, "0.7"], log)
        lab.spawn("standin-slow-b", [PY, STANDINS, "dns", SLOWB_ADDR, slow], log)
        wait_for(lambda: lab.ns.call(tcp_soa, SLOW_ADDR, "slow.lab."), "the slow stand-in")  # TCP: not delayed
        for port in (WHOIS_PORT, WHOIS_FLOOD_PORT, WHOIS_SLOW_PORT, RDAP_PORT, RDAP_HTML_PORT):
            wait_for(lambda: lab.ns.call(tcp_open, STANDIN_ADDR, port), "a stand-in on port %d" % port)
        start_unbound(lab, "unbound-static", [])
        yield lab
        dead = lab.dead()
        assert not dead, "lab processes died: %s" % dead
    finally:
        lab.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with check_lab(tmp_path_factory.mktemp("checklab")) as lab:
        yield lab


def check(lab, *args, json_out=True):
    """tern check ARGS inside the namespace: (exit code, the JSON report or the text)."""
    argv = [TERN, "check"] + list(args) + ["--hints", os.path.join(lab.dir, "root.hints")]
    if json_out:
        argv.append("--json")
    r = lab.ns.run(argv, check=False, timeout=120)
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    if not json_out:
        return r.returncode, r.stdout + r.stderr
    assert r.stdout.strip(), "no report (exit %d): %s" % (r.returncode, r.stderr)
    return r.returncode, json.loads(r.stdout)


def codes(report):
    return sorted(f["code"] for f in report["findings"])


REGISTRY_ARGS = ["--whois", "%s:%d" % (STANDIN_ADDR, WHOIS_PORT), "--rdap", "http://%s:%d/rdap" % (STANDIN_ADDR,
                                                                                                     RDAP_PORT)]


def test_whois_client_reads_what_tern_reads(lab):
    """Debian's whois client, asking the lab's WHOIS server, gets the registrar and expiry that tern
    check's own reader reports (the stand-in speaks port 43's plain protocol, as real registries)."""
    import shutil
    import subprocess
    if not shutil.which("whois"):
        pytest.fail("whois is not installed (make deps installs it)")
    out = lab.ns.call(subprocess.run, ["whois", "-h", STANDIN_ADDR, "-p", str(WHOIS_PORT), "corp.lab"],
                      capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    fields = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    rc, r = check(lab, "domain", "corp.lab", *REGISTRY_ARGS)
    assert fields["Registrar"].strip() == r["whois"]["registrar"] == "Lab Registrar Inc.", out.stdout
    assert fields["Registry Expiry Date"].strip()[:10] == r["whois"]["expires"][:10], out.stdout


def test_domain_corp(lab):
    rc, r = check(lab, "domain", "corp.lab", *REGISTRY_ARGS)
    assert r["failures"] == [] and r["partial"] is False, r["failures"]
    for source in ("rdap", "whois"):
        assert r[source]["registrar"] == "Lab Registrar Inc."
        assert r[source]["expires"].startswith("2030-01-01")
        assert r[source]["nameservers"] == ["ns1.corp.lab.", "ns2.corp.lab."]
    d = r["delegation"]
    assert r["zone"] == "corp.lab." and r["parent"] == "lab."
    assert sorted(d["parent_ns"]) == ["ns1.corp.lab.", "ns2.corp.lab."]
    assert sorted(d["child_ns"]) == ["ns1.corp.lab.", "ns2.corp.lab."]
    assert sorted((g["name"], g["addr"]) for g in d["glue"]) == [("ns1.corp.lab.", CORP_ADDR),
                                                                 ("ns2.corp.lab.", KNOT2_ADDR)]
    soa = r["soa"]
    assert (soa["mname"], soa["rname"], soa["serial"], soa["refresh"], soa["retry"], soa["expire"],
            soa["minimum"], soa["ttl"]) == ("ns1.corp.lab.", "hostmaster.corp.lab.", 2, 1800, 900, 604800, 60, 300)
    assert r["negative_ttl"]["seconds"] == 60  # min(SOA TTL 300, MINIMUM 60)
    assert "for up to 60 s" in r["negative_ttl"]["explanation"]
    assert "before it exists" in r["negative_ttl"]["explanation"] or "before anyone" in r["negative_ttl"][
        "explanation"]
    by_addr = {s["addr"]: s for s in r["servers"]}
    assert by_addr[CORP_ADDR]["serial"] == 2 and by_addr[KNOT2_ADDR]["serial"] == 1
    assert all(s["ok"] and s["role"] == "both" and 0 < s["ms"] < 2000 for s in r["servers"]), r["servers"]
    # the secondary one serial behind is the one finding
    assert codes(r) == ["serial_lag"] and KNOT2_ADDR in r["findings"][0]["what"]
    assert rc == 0  # a warning only


def test_domain_text(lab):
    rc, text = check(lab, "domain", "corp.lab", *REGISTRY_ARGS, json_out=False)
    for want in ("registrar  Lab Registrar Inc.", "NS at the parent: ns1.corp.lab. ns2.corp.lab.",
                 "Negative-cache TTL: 60 s = min(SOA TTL 300, MINIMUM 60)", "warning serial_lag",
                 "does not exist", "fix:"):
        assert want in text, text
    assert rc == 0


def test_fqdn_app(lab):
    rc, r = check(lab, "fqdn", "app.corp.lab", "--resolver", RESOLVER)
    steps = [(s["name"], s.get("cname"), s["ttl"], s["zone"]) for s in r["chain"]]
    assert steps == [("app.corp.lab.", "edge.corp.lab.", 300, "corp.lab."),
                     ("edge.corp.lab.", "web.lab.", 120, "corp.lab."),
                     ("web.lab.", None, 300, "lab.")], steps
    assert sorted(r["chain"][0]["servers"]) == ["ns1.corp.lab.", "ns2.corp.lab."]
    assert r["chain"][2]["answer"] == ["192.0.2.10"] and r["chain"][2]["servers"] == ["ns1.lab."]
    assert r["ttl_advice"]["seconds"] == 300 and "wait 300 s (one old TTL)" in r["ttl_advice"]["advice"]
    auth = [s for s in r["servers"] if s["role"] == "auth" and s["zone"] == "corp.lab."]
    serials = {s["addr"]: s.get("serial") for s in auth if "serial" in s}
    assert serials == {CORP_ADDR: 2, KNOT2_ADDR: 1}
    assert codes(r) == ["serial_lag"] and KNOT2_ADDR in r["findings"][0]["what"]
    res = [s for s in r["servers"] if s["role"] == "resolver"]
    assert len(res) == 1 and res[0]["addr"] == RESOLVER and res[0]["answer"] == ["192.0.2.10"]
    assert rc == 0


# fixture -> (command, name, the one finding it must give)
BROKEN_CASES = {
    "cname_at_apex": ("domain", "apexcname.lab"),
    "cname_beside_data": ("fqdn", "www.beside.lab"),
    "lame_ns": ("domain", "lame.lab"),
    "ns_mismatch": ("domain", "mismatch.lab"),
    "ttl_high": ("domain", "highttl.lab"),
    "glue_mismatch": ("domain", "badglue.lab"),
    "slow_ns": ("domain", "slow.lab"),
    "slow_ns-fqdn": ("fqdn", "slow.lab"),
    "not_delegated": ("domain", "nothere.lab"),
    "name_missing": ("fqdn", "missing.clean.lab"),
    "cname_loop": ("fqdn", "a.loop.lab"),
    "ds_mismatch": ("domain", "badds.lab"),
    "ds_missing": ("domain", "nods.lab"),
    "rrsig_expiring": ("domain", "expiring.lab"),
    "rrsig_invalid": ("domain", "expired.lab"),
    "rrsig_invalid-bogus": ("domain", "tampered.lab"),
    "too_few_ns": ("domain", "single.lab"),
    "ns_shared_addr": ("domain", "shared.lab"),
}


@pytest.mark.parametrize("finding", sorted(BROKEN_CASES))
def test_broken_zone(lab, finding):
    cmd, name = BROKEN_CASES[finding]
    finding = finding.split("-")[0]  # one finding, more than one fixture
    args = [cmd, name] + (["--no-whois"] if cmd == "domain" else []) + ["--slow", "500"]
    rc, r = check(lab, *args)
    assert codes(r) == [finding], r["findings"]
    f = r["findings"][0]
    assert f["fix"] and f["what"]
    if name == "tampered.lab":  # valid in time, but not the key's signature over this SOA
        assert "SOA does not verify with key" in f["what"], f
    assert rc == (1 if f["severity"] == "error" else 0)


@pytest.mark.parametrize("cmd,name", [("domain", "clean.lab"), ("fqdn", "www.clean.lab")])
def test_clean_zone(lab, cmd, name):
    rc, r = check(lab, cmd, name, *(["--no-whois"] if cmd == "domain" else ["--resolver", RESOLVER]))
    assert r["findings"] == [] and r["failures"] == [], r
    assert rc == 0


def test_dnssec_secure(lab):
    """A signed zone whose DS in lab. names its key: secure, no finding; an unsigned one: unsigned."""
    rc, r = check(lab, "domain", "signed.lab", "--no-whois")
    d = r["dnssec"]
    assert r["findings"] == [] and d["status"].startswith("secure"), r
    ds_tags = {int(ds.split()[0]) for ds in d["ds"]}
    assert ds_tags and all(k["ds_matches"] == (k["tag"] in ds_tags) for k in d["dnskeys"])
    assert any(k["flags"] == 257 and k["algorithm"] == 13 and k["ds_matches"] for k in d["dnskeys"])
    assert d["signatures"] >= 2 and d["signatures_expire"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
        time.time() + 3 * 86400))  # Knot signs for two weeks
    rc, r = check(lab, "domain", "clean.lab", "--no-whois")
    assert r["dnssec"] == {"status": "unsigned", "ds": [], "dnskeys": [], "signatures": 0}


@pytest.mark.parametrize("zone,alg", [("rsa.lab", 8), ("p384.lab", 14)])
def test_dnssec_secure_peer_algorithms(lab, zone, alg):
    """Zones Knot signs with RSASHA256 (a 2048-bit KSK, a 1024-bit ZSK) and ECDSAP384SHA384, their DS
    in lab.: secure, every signature verified, no finding (before, "unsupported algorithm")."""
    rc, r = check(lab, "domain", zone, "--no-whois")
    d = r["dnssec"]
    assert r["findings"] == [] and r["failures"] == [] and d["status"].startswith("secure"), r
    assert rc == 0
    assert {k["algorithm"] for k in d["dnskeys"]} == {alg}, d
    assert any(k["flags"] == 257 and k["ds_matches"] for k in d["dnskeys"]), d
    assert d["signatures"] >= 2, d


def test_dnssec_secure_rsa4096(lab):
    """rsa4096.lab.: Knot signs it with 4,096-bit RSASHA256 KSK and ZSK (the longest RSA keys RFC 3110
    and 5702 allow; DNSKEY text ~700 characters, RRSIG ~750), its DS in lab.: secure, every signature
    verified, nothing cut or failed (before, record text stopped at 511 characters: the keys arrived
    cut and the zone was "DS matches no key")."""
    keys = lab.rrset(KNOT2_ADDR, "rsa4096.lab.", "DNSKEY")
    assert sorted((k.flags, (len(k.key) - 1 - k.key[0]) * 8) for k in keys) == [(256, 4096), (257, 4096)], keys
    rc, r = check(lab, "domain", "rsa4096.lab", "--no-whois")
    d = r["dnssec"]
    assert r["findings"] == [] and r["failures"] == [] and d["status"].startswith("secure"), r
    assert {k["algorithm"] for k in d["dnskeys"]} == {8} and len(d["dnskeys"]) == 2, d
    assert any(k["flags"] == 257 and k["ds_matches"] for k in d["dnskeys"]), d
    assert d["signatures"] >= 2 and rc == 0, d


def test_dnssec_key_too_long(lab):
    """hugekey.lab.'s only DNSKEY (a 1,100-octet key field, its DS in lab.) is longer than any key Tern
    verifies: it arrives cut, and is said to be not verified because too long to read, never "DS
    matches no key" (bogus) nor secure."""
    rc, r = check(lab, "domain", "hugekey.lab", "--no-whois")
    d = r["dnssec"]
    assert d["status"] == "not verified (a DNSKEY too long to read)", r
    assert not {"ds_mismatch", "rrsig_invalid", "ds_missing"} & set(codes(r)), r["findings"]
    assert any(f.startswith("a DNSKEY of hugekey.lab. not verified: too long to read (1104 octets")
               for f in r["failures"]), r["failures"]


def test_parent_serves_child(lab):
    """lab.'s server also serves inparent.lab.: no referral is seen, the zone is still found (its NS
    asked by name), the delegation is said not to be comparable, and nothing is flagged."""
    rc, r = check(lab, "domain", "inparent.lab", "--no-whois")
    assert r["zone"] == "inparent.lab." and r["parent"] == "lab." and r["findings"] == [], r
    assert r["delegation"]["child_ns"] == ["ns.inparent.lab.", "ns2.inparent.lab."]
    assert r["delegation"]["parent_ns"] == []
    assert any("cannot be told apart" in f for f in r["failures"]), r["failures"]
    assert [(s["ns"], s["role"], s["ok"]) for s in r["servers"]] == [("ns.inparent.lab.", "child", True),
                                                                      ("ns2.inparent.lab.", "child", True)]
    assert r["soa"]["serial"] == 1 and rc == 0
    rc, r = check(lab, "fqdn", "www.inparent.lab")
    assert r["chain"][0]["zone"] == "inparent.lab." and r["chain"][0]["answer"] == ["192.0.2.20"]
    assert r["findings"] == [] and rc == 0


def test_expiry_soon(lab):
    rc, r = check(lab, "domain", "clean.lab", *REGISTRY_ARGS)
    assert codes(r) == ["expiry_soon"], r["findings"]
    assert "in 9 days" in r["findings"][0]["what"] or "in 10 days" in r["findings"][0]["what"], r["findings"]
    assert r["rdap"]["registrar"] == r["whois"]["registrar"] == "Lab Registrar Inc." and rc == 1


def test_resolver_failed(lab):
    """A vantage resolver that does not answer (nothing listens there): its own finding and error."""
    rc, r = check(lab, "fqdn", "www.clean.lab", "--resolver", "198.18.10.103", "--query-timeout", "500")
    assert codes(r) == ["resolver_failed"], r["findings"]
    res = [s for s in r["servers"] if s["role"] == "resolver"]
    assert res[0]["addr"] == "198.18.10.103" and res[0]["ok"] is False and res[0]["error"]


def test_tcp_after_truncation(lab):
    """An answer larger than 1232 octets comes truncated over UDP; tern check asks again over TCP."""
    rc, r = check(lab, "fqdn", "txt.big.lab", "--type", "TXT")
    assert r["findings"] == [] and r["failures"] == [], r
    assert len(r["chain"][0]["answer"]) == CHECK_MAXVALUES_SHOWN
    assert r["chain"][0]["more"] == 20 - CHECK_MAXVALUES_SHOWN
    auth = [s for s in r["servers"] if s["role"] == "auth"]
    assert auth and all(s.get("tcp") is True for s in auth), auth


def test_idn(lab):
    """An IDN is converted to its A-label form (libidn2) and shown in both forms."""
    rc, r = check(lab, "domain", "b\u00fccher.lab", "--no-whois")
    assert r["target"] == "xn--bcher-kva.lab." and r["unicode"] == "b\u00fccher.lab"
    assert codes(r) == ["not_delegated"]
    rc, text = check(lab, "domain", "b\u00fccher.lab", "--no-whois", json_out=False)
    assert "(b\u00fccher.lab is xn--bcher-kva.lab.)" in text


def test_registry_caps(lab):
    """A WHOIS server that never stops sending and an RDAP server answering HTML: both reported, the rest
    of the report intact."""
    rc, r = check(lab, "domain", "corp.lab", "--whois", "%s:%d" % (STANDIN_ADDR, WHOIS_FLOOD_PORT), "--rdap",
                  "http://%s:%d/rdap" % (STANDIN_ADDR, RDAP_HTML_PORT))
    assert r["partial"] is True
    text = "\n".join(r["failures"])
    assert "sent more than 1048576 octets: stopped reading" in text, text
    assert "text/html, not JSON" in text, text
    assert r["rdap"] is None and r["whois"] is None
    assert r["soa"]["serial"] == 2 and codes(r) == ["serial_lag"]


def test_registry_time_cap(lab):
    """A WHOIS server that trickles and never closes is cut at the time cap, and said so."""
    t0 = time.time()
    rc, r = check(lab, "domain", "clean.lab", "--whois", "%s:%d" % (STANDIN_ADDR, WHOIS_SLOW_PORT),
                  "--registry-timeout", "1000")
    assert time.time() - t0 < 10
    assert any("still sending after 1000 ms" in f for f in r["failures"]), r["failures"]
    assert r["whois"] is None and r["findings"] == [] and rc == 0


def test_nothing_answers(lab):
    """Hints where nothing answers in time (the slow stand-in, 700 ms, against a 200 ms timeout) or at
    all (no route): exit 3, a report that says what failed."""
    hints = os.path.join(lab.dir, "hints-none")
    with open(hints, "w") as f:
        f.write(". 3600000 NS a.\n. 3600000 NS b.\na. 3600000 A %s\nb. 3600000 A 198.18.10.250\n" % SLOW_ADDR)
    r = lab.ns.run([TERN, "check", "fqdn", "www.clean.lab", "--hints", hints, "--query-timeout", "200", "--json"],
                   check=False)
    rep = json.loads(r.stdout)
    assert r.returncode == 3 and rep["partial"] is True and rep["chain"] == []
    failures = "\n".join(rep["failures"])
    assert "(%s), a server of ., asked www.clean.lab.: no answer within 200 ms" % SLOW_ADDR in failures, failures
    assert "(198.18.10.250), a server of ., asked www.clean.lab.: UDP: Network is unreachable" in failures


def test_deadline(lab):
    """The whole check's deadline: queries past it are not sent, and the report says so."""
    rc, r = check(lab, "domain", "slow.lab", "--no-whois", "--deadline", "1500")
    assert "the check's deadline passed: what was left is not asked" in r["failures"], r["failures"]
    assert r["ms"] < 2500, r["ms"]
    assert "lame_ns" not in codes(r)  # not the server's fault


def test_unreachable_server_partial(lab):
    """A hint that never answers: the per-server timeout, a partial report naming it, the next hint used."""
    hints = os.path.join(lab.dir, "hints-dead")
    with open(hints, "w") as f:
        f.write(". 3600000 NS a.\n. 3600000 NS b.\na. 3600000 A 198.18.10.250\nb. 3600000 A %s\n" % ROOT_ADDR)
    r = lab.ns.run([TERN, "check", "domain", "clean.lab", "--no-whois", "--hints", hints, "--query-timeout", "300",
                    "--json"], check=False)
    rep = json.loads(r.stdout)
    assert rep["partial"] is True and any("198.18.10.250" in f for f in rep["failures"]), rep["failures"]
    assert rep["soa"]["serial"] == 1 and rep["findings"] == []


@pytest.mark.parametrize("arg,msg", [
    ("192.0.2.1", "is an IP address, not a domain name"),
    ("[2001:db8::1]", "is an IP address, not a domain name"),
    ("a..lab", "has an empty label"),
    (".lab", "has an empty label"),
    ("x" * 64 + ".lab", "has a label longer than 63 characters"),
    (".".join(["abcdefghi"] * 26) + ".lab", "a domain name has at most 255"),
    ("bad name.lab", "holds ' '"),
    ("", "argument 1 is empty"),
])
def test_bad_input(arg, msg):
    import subprocess
    r = subprocess.run([TERN, "check", "domain", arg, "--no-whois", "--hints", "/nonexistent"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and msg in r.stderr and r.stdout == "", (r.returncode, r.stderr)


@pytest.mark.parametrize("args,msg", [
    (["fqdn", "www.lab", "--resolver", "resolver.example"], "is not an IP address"),
    (["fqdn", "www.lab", "--resolver", "192.0.2.1:0"], "is not an IP address"),
    (["domain", "lab", "--rdap", "ftp://x"], "expected an http:// or https:// URL"),
    (["domain", "lab", "--query-timeout", "0"], "expected a number from 10 to 60000"),
    (["fqdn", "www.lab", "--type", "NOPE"], "not a record type"),
    (["domain", "lab", "--hints", "/nonexistent"], "cannot open hints file"),
])
def test_bad_options(args, msg):
    import subprocess
    r = subprocess.run([TERN, "check"] + args, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and msg in r.stderr, (r.returncode, r.stderr)
