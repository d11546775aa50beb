#!/usr/bin/python3
"""Cross-checks lib/dnssec with real validators: dnssec_signzone (a driver over lib/dnssec) makes
a KSK and a ZSK and signs every RRset of a small zone; BIND's dnssec-verify must accept the whole
zone and dnspython's dns.dnssec.validate every RRSIG; one tampered record must make both fail.

The zone's NSEC chain is written here with dnspython (test scaffolding: Tern's own NSEC code is
lib/nsec.c's), then signed by lib/dnssec like any other RRset.

Then the whole zone as lib/dnssec_zone signs it (DNSKEY RRset, NSEC or NSEC3 chain from lib/nsec,
every RRSIG; nothing made here) must pass dnssec-verify for NSEC and NSEC3 (both algorithms), and
a tampered record or a chain record taken out must fail it.
Usage: dnssec_peer.py <dnssec_signzone> (run by meson test; Debian's python3 with dnspython)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import dns.dnssec
    import dns.name
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.zone
except ImportError:
    print("dnspython missing: run with Debian's /usr/bin/python3 (make deps)")
    sys.exit(77)

APEX = "example."
# Names inside RDATA in mixed case, sets given out of order with a duplicate, TXT strings that
# sort by length, a wildcard, an empty non-terminal, a secure and an insecure delegation with glue.
ZONE = """
example.        3600 IN SOA   NS1.Example. Hostmaster.EXAMPLE. 2024010101 7200 3600 1209600 300
example.        3600 IN NS    ns1.example.
example.        3600 IN NS    NS2.Example.
example.        3600 IN MX    20 Mail2.EXAMPLE.
example.        3600 IN MX    10 mail.example.
ns1.example.    3600 IN A     192.0.2.53
NS2.example.    3600 IN AAAA  2001:db8::53
mail.example.   300  IN A     192.0.2.25
mail2.example.  300  IN A     192.0.2.26
www.example.    300  IN A     192.0.2.10
www.example.    300  IN A     192.0.2.2
www.example.    300  IN A     10.0.0.1
www.example.    300  IN A     192.0.2.2
alias.example.  300  IN CNAME WWW.Example.
t.example.      300  IN TXT   "b"
t.example.      300  IN TXT   "a" "b"
t.example.      300  IN TXT   "a\\000"
t.example.      300  IN TXT   "a"
*.w.example.    300  IN A     192.0.2.99
_sip._udp.example. 300 IN SRV 0 5 5060 SIP.Example.
naptr.example.  300  IN NAPTR 100 10 "S" "SIP+D2U" "" _Sip._UDP.Example.
a.b.c.example.  300  IN TXT   "deep"
sub.example.    3600 IN NS    ns.sub.example.
sub.example.    3600 IN DS    12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
ns.sub.example. 3600 IN A     192.0.2.77
insecure.example. 3600 IN NS  ns.elsewhere.test.
"""


def run(*args, check=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit("%s failed (%d):\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def add_nsec_chain(zone):
    """NSEC records (RFC 4035 2.3): one per authoritative name and delegation point, in canonical
    order; glue below a cut and empty non-terminals get none."""
    origin = zone.origin
    cuts = [n.derelativize(origin) for n, node in zone.nodes.items()
            if n.derelativize(origin) != origin and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS)]
    names = []
    for rel in zone.nodes:
        name = rel.derelativize(origin)
        if any(name != c and name.is_subdomain(c) for c in cuts):
            continue
        names.append(name)
    names.sort()
    for i, name in enumerate(names):
        node = zone.get_node(name)
        types = {rds.rdtype for rds in node.rdatasets} | {dns.rdatatype.NSEC, dns.rdatatype.RRSIG}
        nxt = names[(i + 1) % len(names)]
        text = "%s %s" % (nxt, " ".join(dns.rdatatype.to_text(t) for t in sorted(types)))
        rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.NSEC, text)
        zone.find_rdataset(name, dns.rdatatype.NSEC, create=True).add(rd, 300)


def check_dnspython(path, now):
    """Every RRSIG in the signed zone validates its RRset with the zone's DNSKEYs; returns the
    problems found."""
    zone = dns.zone.from_file(path, origin=APEX, relativize=False, check_origin=False)
    origin = dns.name.from_text(APEX)
    keys = {origin: zone.find_rdataset(origin, dns.rdatatype.DNSKEY)}
    problems, count = [], 0
    for name, node in zone.nodes.items():
        for sigs in node.rdatasets:
            if sigs.rdtype != dns.rdatatype.RRSIG:
                continue
            for covered in {s.type_covered for s in sigs}:
                rrset = zone.find_rrset(name, covered)
                covering = sigs.copy()
                covering.clear()
                for s in sigs:
                    if s.type_covered == covered:
                        covering.add(s)
                rrsig = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.RRSIG, covered)
                rrsig.update(covering)
                try:
                    dns.dnssec.validate(rrset, rrsig, keys, now=now)
                    count += 1
                except dns.dnssec.ValidationFailure as e:
                    problems.append("%s %s: %s" % (name, dns.rdatatype.to_text(covered), e))
    return problems, count


def one_algorithm(tool, alg, tmp):
    ksk_pem, zsk_pem = os.path.join(tmp, "ksk%d.pem" % alg), os.path.join(tmp, "zsk%d.pem" % alg)
    ksk = run(tool, "keygen", str(alg), "257", ksk_pem).stdout.strip()
    zsk = run(tool, "keygen", str(alg), "256", zsk_pem).stdout.strip()
    zone = dns.zone.from_text(ZONE, origin=APEX, relativize=False, check_origin=False)
    origin = dns.name.from_text(APEX)
    keys = zone.find_rdataset(origin, dns.rdatatype.DNSKEY, create=True)
    for text in (ksk, zsk):
        keys.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DNSKEY, text), 3600)
    add_nsec_chain(zone)
    unsigned = os.path.join(tmp, "unsigned%d.zone" % alg)
    zone.to_file(unsigned, relativize=False)

    now = int(time.time())
    out = run(tool, "sign", APEX, unsigned, str(now - 3600), str(now + 30 * 86400), ksk_pem, zsk_pem).stdout
    signed = os.path.join(tmp, "signed%d.zone" % alg)
    with open(signed, "w") as f:
        f.write(out)
    if "RRSIG" not in out:
        sys.exit("alg %d: no RRSIG written" % alg)

    v = run("dnssec-verify", "-x", "-o", APEX, signed, check=False)
    if v.returncode != 0:
        sys.exit("alg %d: dnssec-verify refused the zone:\n%s%s" % (alg, v.stdout, v.stderr))
    problems, count = check_dnspython(signed, now)
    if problems or count < 15:
        sys.exit("alg %d: dnspython: %d validated, problems: %s" % (alg, count, problems))
    print("alg %d: dnssec-verify accepts the zone; dnspython validates %d RRSIGs" % (alg, count))

    # one tampered record: both must notice
    tampered = os.path.join(tmp, "tampered%d.zone" % alg)
    text = out.replace("192.0.2.10", "192.0.2.11", 1)
    assert text != out
    with open(tampered, "w") as f:
        f.write(text)
    v = run("dnssec-verify", "-x", "-o", APEX, tampered, check=False)
    if v.returncode == 0:
        sys.exit("alg %d: dnssec-verify accepted a tampered zone" % alg)
    problems, _ = check_dnspython(tampered, now)
    if not any(p.startswith("www.example. A") for p in problems):
        sys.exit("alg %d: dnspython missed the tampered www A: %s" % (alg, problems))
    print("alg %d: a tampered record fails both" % alg)


def whole_zone(tool, alg, mode, tmp):
    """The zone signed end to end by lib/dnssec_zone: dnssec-verify accepts it, and refuses it
    with one A record changed or one chain record removed."""
    ksk_pem, zsk_pem = os.path.join(tmp, "zksk%d.pem" % alg), os.path.join(tmp, "zzsk%d.pem" % alg)
    run(tool, "keygen", str(alg), "257", ksk_pem)
    run(tool, "keygen", str(alg), "256", zsk_pem)
    unsigned = os.path.join(tmp, "zunsigned.zone")
    dns.zone.from_text(ZONE, origin=APEX, relativize=False, check_origin=False).to_file(unsigned, relativize=False)
    now = int(time.time())
    out = run(tool, "zone", APEX, unsigned, str(now), mode, ksk_pem, zsk_pem).stdout
    chain = "NSEC3" if mode == "nsec3" else "NSEC"
    lines = out.splitlines()
    if not any(l.split("\t")[3] == chain for l in lines) or ("NSEC3PARAM" in out) != (mode == "nsec3"):
        sys.exit("alg %d %s: no %s chain in the signed zone" % (alg, mode, chain))
    signed = os.path.join(tmp, "zsigned%d%s.zone" % (alg, mode))
    with open(signed, "w") as f:
        f.write(out)
    v = run("dnssec-verify", "-x", "-o", APEX, signed, check=False)
    if v.returncode != 0:
        sys.exit("alg %d %s: dnssec-verify refused the zone lib/dnssec_zone signed:\n%s%s"
                 % (alg, mode, v.stdout, v.stderr))
    problems, count = check_dnspython(signed, now)
    if problems or count < 15:
        sys.exit("alg %d %s: dnspython: %d validated, problems: %s" % (alg, mode, count, problems))
    print("alg %d %s: dnssec-verify accepts the zone lib/dnssec_zone signed (%d RRSIGs)" % (alg, mode, count))
    tampered = [("an A record changed", out.replace("192.0.2.10", "192.0.2.11", 1))]
    victim = next(i for i, l in enumerate(lines) if l.split("\t")[3] == chain and not l.startswith(APEX))
    tampered.append(("a %s record removed" % chain, "\n".join(lines[:victim] + lines[victim + 1:]) + "\n"))
    for what, text in tampered:
        assert text != out
        path = os.path.join(tmp, "ztampered.zone")
        with open(path, "w") as f:
            f.write(text)
        if run("dnssec-verify", "-x", "-o", APEX, path, check=False).returncode == 0:
            sys.exit("alg %d %s: dnssec-verify accepted the zone with %s" % (alg, mode, what))
        print("alg %d %s: %s fails dnssec-verify" % (alg, mode, what))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if not shutil.which("dnssec-verify"):
        print("dnssec-verify missing (bind9-utils; make deps)")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="dsign-peer-")
    try:
        for alg in (13, 15):
            one_algorithm(sys.argv[1], alg, tmp)
        for alg, mode in ((13, "nsec"), (13, "nsec3"), (15, "nsec"), (15, "nsec3")):
            whole_zone(sys.argv[1], alg, mode, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
