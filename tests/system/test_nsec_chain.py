"""The NSEC and NSEC3 chains of lib/nsec.c against BIND's dnssec-signzone: the same unsigned zone
(a delegation with glue and an occluded name below it, a secure delegation, a wildcard, empty
non-terminals) signed by BIND must carry exactly the chain tests/unit/nsec_print gives it: owners,
next names, bitmaps, flags, TTLs and the NSEC3PARAM (signatures differ by nature; only the chain
is compared)."""
import os
import shutil
import subprocess

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from ternlib import TERND

NSEC_PRINT = os.environ.get("NSEC_PRINT", os.path.join(os.path.dirname(TERND), "tests", "unit", "nsec_print"))
KEYGEN = shutil.which("dnssec-keygen") or "/usr/bin/dnssec-keygen"
SIGNZONE = shutil.which("dnssec-signzone") or "/usr/bin/dnssec-signzone"

ZONE = """$ORIGIN {origin}
$TTL 3600
@ 7200 SOA ns1 hostmaster 1 7200 900 1209600 300
@ NS ns1
@ NS ns2.other.net.
@ MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.2
www A 192.0.2.3
www AAAA 2001:db8::3
sub NS ns.sub
sub NS ns1
ns.sub A 192.0.2.53
deep.ns.sub A 192.0.2.54
sub A 192.0.2.55
sec NS ns1
sec DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
*.wild TXT "wild"
a.b.c.ent A 192.0.2.9
x.y.ent TXT "x"
ins.y.ent NS ns1
Upper.Case MX 0 .
"""

CHAIN_TYPES = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.NSEC3PARAM)


def chain(text, origin):
    """The chain records of a zone in text: {(owner, type): (ttl, rdata text)}; NSEC3PARAM without
    its TTL (BIND writes 0, ternd the negative TTL: no RFC fixes it)."""
    z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
    out = {}
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            if rds.rdtype not in CHAIN_TYPES:
                continue
            assert len(rds) == 1, "%s holds %d %s records" % (name, len(rds), dns.rdatatype.to_text(rds.rdtype))
            ttl = None if rds.rdtype == dns.rdatatype.NSEC3PARAM else rds.ttl
            out[(name.to_text().lower(), dns.rdatatype.to_text(rds.rdtype))] = (ttl, rds[0].to_text().lower())
    return out


@pytest.fixture(scope="module")
def keyed_zone(tmp_path_factory):
    for tool in (KEYGEN, SIGNZONE):
        if not os.access(tool, os.X_OK):
            pytest.fail("%s missing (bind9-utils)" % tool)
    if not os.path.exists(NSEC_PRINT):
        pytest.fail("no nsec_print at %s (build it, or set NSEC_PRINT)" % NSEC_PRINT)
    d = tmp_path_factory.mktemp("nsecchain")
    key = subprocess.run([KEYGEN, "-q", "-a", "ECDSAP256SHA256", "-K", str(d), "example."],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    with open(d / (key + ".key")) as f:
        dnskey = "".join(l for l in f if not l.startswith(";"))
    return d, key, ZONE.format(origin="example.") + dnskey


def sign_and_compare(d, key, text, mode, bind_args):
    unsigned = d / ("zone.%s" % mode)
    unsigned.write_text(text)
    signed = d / ("signed.%s" % mode)
    subprocess.run([SIGNZONE, "-q", "-z", "-K", str(d), "-d", str(d), "-o", "example.", "-f", str(signed), "-O", "full"]
                   + bind_args + [str(unsigned), key], capture_output=True, text=True, check=True, timeout=120)
    theirs = chain(signed.read_text(), "example.")
    args = [NSEC_PRINT, str(unsigned), "example."] + mode.split("-")
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    ours = chain(p.stdout, "example.")
    assert theirs, "BIND produced no chain"
    only_theirs = {k: v for k, v in theirs.items() if ours.get(k) != v}
    only_ours = {k: v for k, v in ours.items() if theirs.get(k) != v}
    assert not only_theirs and not only_ours, "BIND only: %s\nours only: %s" % (only_theirs, only_ours)
    return ours


def test_nsec_chain_matches_bind(keyed_zone):
    d, key, text = keyed_zone
    ours = sign_and_compare(d, key, text, "nsec", [])
    # the chain's shape, so the comparison is not of two empty sets: glue and occluded names get
    # no NSEC, the cuts list only NS (DS), RRSIG, NSEC; empty non-terminals are skipped
    owners = {o for o, t in ours}
    assert "sub.example." in owners and "ns.sub.example." not in owners and "deep.ns.sub.example." not in owners
    assert "c.ent.example." not in owners and "*.wild.example." in owners
    assert ours[("sub.example.", "NSEC")][1].split()[1:] == ["ns", "rrsig", "nsec"]
    assert ours[("sec.example.", "NSEC")][1].split()[1:] == ["ns", "ds", "rrsig", "nsec"]
    assert all(ttl == 300 for ttl, _ in ours.values())


def test_nsec3_chain_matches_bind(keyed_zone):
    d, key, text = keyed_zone
    ours = sign_and_compare(d, key, text, "nsec3", ["-3", "-", "-H", "0"])
    # every authoritative name and empty non-terminal: apex, ns1, mail, www, sub, sec, wild,
    # *.wild, ent, c.ent, b.c.ent, a.b.c.ent, y.ent, x.y.ent, ins.y.ent, case, upper.case
    assert sum(1 for o, t in ours if t == "NSEC3") == 17
    assert ours[("example.", "NSEC3PARAM")][1] == "1 0 0 -"


def test_nsec3_optout_chain_matches_bind(keyed_zone):
    d, key, text = keyed_zone
    ours = sign_and_compare(d, key, text, "nsec3-optout", ["-3", "-", "-H", "0", "-A"])
    # the unsigned delegations sub and ins.y.ent go; every record has the Opt-Out flag
    assert sum(1 for o, t in ours if t == "NSEC3") == 15
    assert all(v[1].split()[1] == "1" for (o, t), v in ours.items() if t == "NSEC3")


def test_nsec3_refuses_too_long_apex(tmp_path):
    """An apex of 223 octets or more leaves no room for the 32-character NSEC3 label."""
    labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 29]  # 4 + 218 + 1 = 223 octets
    apex = ".".join(labels) + "."
    z = tmp_path / "long.zone"
    z.write_text("$ORIGIN %s\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n" % apex)
    p = subprocess.run([NSEC_PRINT, str(z), apex, "nsec3"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "cannot use NSEC3" in p.stderr and "256 octets" in p.stderr, p.stderr
    p = subprocess.run([NSEC_PRINT, str(z), apex, "nsec"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and " NSEC " in p.stdout, p.stderr
    shorter = ".".join(labels[:3] + ["d" * 28]) + "."  # 222 octets: the longest that fits
    z.write_text("$ORIGIN %s\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n" % shorter)
    p = subprocess.run([NSEC_PRINT, str(z), shorter, "nsec3"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and " NSEC3 " in p.stdout, p.stderr
