"""Denial-of-existence proofs in DO answers (RFC 4035 3.1.3, RFC 5155 7.2): three copies of one zone
signed by dnssec-signzone -- with NSEC, with NSEC3 (SHA-1, iterations 0, no salt) and with NSEC3
Opt-Out (an unsigned delegation, and one below an empty non-terminal, left out of the chain) -- are
served by ternd, Knot (dnssec-signing off: the records as given) and NSD. For every outcome
(NXDOMAIN, NODATA, empty non-terminals, wildcard answers and wildcard NODATA, a wildcard below an
empty non-terminal, CNAMEs to a missing name and from a wildcard, DS at secure and insecure cuts,
referrals and names below them) ternd's answer must equal Knot's as sets of RRsets per section
(rcode, AA and TC too; NSD's differences are counted), and a small independent checker (dnspython) says each proof proves
what it must: every RRset validates against the zone's DNSKEY, and the NSEC/NSEC3 records match or
cover the names the RFCs name. And the proofs follow changes: versions of the zones imported over
each other through the API (zone_apply() keeps the ordered views) prove as Knot does for each."""
import os
import shutil
import subprocess

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

import ternlib
from knotlib import Knotd, knotd_available
from nsdlib import NsdZones, nsd_available

KEYGEN = shutil.which("dnssec-keygen") or "/usr/bin/dnssec-keygen"
SIGNZONE = shutil.which("dnssec-signzone") or "/usr/bin/dnssec-signzone"

ZONE = """$TTL 3600
@           SOA   ns1 hostmaster 1 7200 3600 1209600 300
@           NS    ns1
@           A     192.0.2.1
ns1         A     192.0.2.53
www         A     192.0.2.10
www         AAAA  2001:db8::10
alias       CNAME www
cnx         CNAME nothere
a.b.ent     A     192.0.2.40
*.wild      A     192.0.2.100
*.wild      TXT   "wild"
*.wcname    CNAME www
*.sub.went  A     192.0.2.101
secure      NS    ns1.secure
secure      DS    12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118b0e1f1d4a3f6e8a4b1c2d3e4
ns1.secure  A     192.0.2.61
insecure    NS    ns.elsewhere.example.
ins.ent3    NS    ns.elsewhere.example.
z           TXT   "last"
"""

# origin -> dnssec-signzone options for its chain
CHAINS = {
    "nsec.test.": [],
    "nsec3.test.": ["-3", "-", "-H", "0"],
    "optout.test.": ["-3", "-", "-H", "0", "-A"],
}

# (name relative to the zone, qtype): every outcome
QUERIES = [
    ("@", "SOA"), ("@", "MX"), ("@", "DS"), ("www", "A"), ("www", "TXT"), ("www", "CNAME"),
    ("nx", "A"), ("a.nx", "A"), ("nx.www", "A"), ("zz", "A"), ("0", "A"),
    ("ent", "A"), ("b.ent", "TXT"), ("a.b.ent", "A"), ("c.b.ent", "A"), ("x.a.b.ent", "A"),
    ("x.wild", "A"), ("x.wild", "MX"), ("a.b.wild", "TXT"), ("*.wild", "A"), ("*.wild", "MX"), ("wild", "A"),
    ("x.wcname", "A"), ("x.wcname", "CNAME"), ("x.wcname", "MX"), ("alias", "A"), ("alias", "MX"),
    ("cnx", "A"), ("cnx", "CNAME"), ("x.alias", "A"),
    ("q.sub.went", "A"), ("q.sub.went", "MX"), ("sub.went", "A"), ("went", "A"), ("q.went", "A"),
    ("secure", "DS"), ("secure", "A"), ("host.secure", "A"), ("ns1.secure", "A"),
    ("insecure", "DS"), ("insecure", "A"), ("host.insecure", "A"), ("a.b.insecure", "AAAA"),
    ("ins.ent3", "DS"), ("ins.ent3", "A"), ("x.ins.ent3", "A"), ("ent3", "A"), ("ent3", "DS"), ("q.ent3", "A"),
    ("z", "TXT"), ("z", "A"), ("a.z", "A"),
]


def sign(workdir, origin, opts):
    path = os.path.join(workdir, origin + "zone")
    with open(path, "w") as f:
        f.write("$ORIGIN %s\n" % origin + ZONE)
    for extra in ([], ["-f", "KSK"]):
        subprocess.run([KEYGEN, "-q", "-K", workdir, "-a", "ECDSAP256SHA256", "-n", "ZONE"] + extra + [origin],
                       check=True, capture_output=True)
    out = path + ".signed"
    subprocess.run([SIGNZONE, "-q", "-K", workdir, "-d", workdir, "-S", "-o", origin, "-f", out] + opts + [path],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """{"ternd", "knot", "nsd"}: each serving the three signed zones."""
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    if not knotd_available() or not nsd_available():
        pytest.skip("no knotd or nsd")
    d = str(tmp_path_factory.mktemp("sign"))
    files = {origin: sign(d, origin, opts) for origin, opts in CHAINS.items()}
    knot = Knotd(files, workdir=str(tmp_path_factory.mktemp("knotd")))
    nsd = NsdZones(files, str(tmp_path_factory.mktemp("nsd")))
    tern = ternlib.Ternd({n.rstrip("."): p for n, p in files.items()}, workdir=str(tmp_path_factory.mktemp("ternd")))
    try:
        knot.start()
        nsd.start()
        tern.start()
        yield {"ternd": tern, "knot": knot, "nsd": nsd}
    finally:
        tern.stop()
        nsd.stop()
        knot.stop()
        log = tern.log_text() if os.path.exists(tern.log) else ""
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            assert marker not in log, "ternd log has %r:\n%s" % (marker, log[-5000:])


def ask(srv, qname, qtype, tcp=False):
    q = dns.message.make_query(qname, qtype, use_edns=0, payload=1232, want_dnssec=True)
    q.flags &= ~dns.flags.RD
    if tcp:
        return dns.query.tcp(q, srv.addr, port=srv.port, timeout=5)
    return dns.query.udp(q, srv.addr, port=srv.port, timeout=5)


def rrset_key(rrset):
    rds = sorted(rd.to_digestable() for rd in rrset)
    return (rrset.name.to_text().lower(), rrset.rdtype, rrset.covers, rrset.ttl, tuple(rds))


def summary(r):
    return {
        "rcode": r.rcode(),
        "AA": bool(r.flags & dns.flags.AA),
        "TC": bool(r.flags & dns.flags.TC),
        "answer": frozenset(rrset_key(x) for x in r.answer),
        "authority": frozenset(rrset_key(x) for x in r.authority),
        "additional": frozenset(rrset_key(x) for x in r.additional),
    }


def text(r):
    return "\n".join("    " + line for line in r.to_text().splitlines())


def queries():
    for origin in CHAINS:
        for rel, qtype in QUERIES:
            yield (origin if rel == "@" else rel + "." + origin), qtype


def test_answers_match_knot(servers):
    """Every answer equals Knot's, whole sections compared as sets of RRsets. NSD's are printed where
    they differ: NSD 4.6 proves an NXDOMAIN below an empty non-terminal of an Opt-Out zone (left out of
    the chain) with the NSEC3 covering it as if it were the closest encloser, where Knot (and ternd)
    give the closest provable encloser proof (RFC 5155 7.2.4), and adds the apex NS to wildcard answers."""
    bad, nsd_same = [], 0
    for qname, qtype in queries():
        got = {name: ask(srv, qname, qtype) for name, srv in servers.items()}
        s = {name: summary(r) for name, r in got.items()}
        nsd_same += s["nsd"] == s["ternd"]
        if s["knot"] != s["ternd"]:
            bad.append("%s %s\n  ternd:\n%s\n  knot:\n%s\n  nsd:\n%s" % (
                qname, qtype, text(got["ternd"]), text(got["knot"]), text(got["nsd"])))
    total = len(CHAINS) * len(QUERIES)
    print("\n%d queries: ternd = Knot in %d, = NSD in %d" % (total, total - len(bad), nsd_same))
    assert not bad, "%d answers differ from Knot's:\n%s" % (len(bad), "\n".join(bad))


# ---- an independent checker of what the proofs prove ----

def canonical_key(name):
    """RFC 4034 6.1 order: labels from the right, each compared lower-cased as octets."""
    return tuple(label.lower() for label in reversed(name.labels))


def covers(owner, nxt, name):
    """Whether the NSEC (owner, next) covers name: strictly between, the last one wrapping."""
    o, n, x = canonical_key(owner), canonical_key(nxt), canonical_key(name)
    if o < n:
        return o < x < n
    return x > o or x < n  # the last NSEC: its next is the apex


def nsec3_hashes(r):
    """The NSEC3 records of a response by hash: {owner hash (text, upper-cased): (rdata, owner)}."""
    out = {}
    for rrset in r.authority:
        if rrset.rdtype == dns.rdatatype.NSEC3:
            for rd in rrset:
                out[rrset.name.labels[0].decode().upper()] = (rd, rrset.name)
    return out


def h(name, rd):
    return dns.dnssec.nsec3_hash(name, rd.salt, rd.iterations, rd.algorithm).upper()


def nsec3_next(rd):
    import base64
    return base64.b32encode(rd.next).decode().translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV"))


def nsec3_match(recs, name, params):
    return recs.get(h(name, params))


def nsec3_cover(recs, name, params):
    x = h(name, params)
    for owner, (rd, _) in recs.items():
        nxt = nsec3_next(rd)
        if (owner < x < nxt) if owner < nxt else (x > owner or x < nxt):
            return rd
    return None


def zone_names(origin):
    """Every name of the zone (owners and the empty non-terminals above them), unsigned data only."""
    origin_n = dns.name.from_text(origin)
    names = {origin_n}
    for line in ZONE.splitlines():
        first = line.split()[0] if line.strip() and not line.startswith("$") else None
        if first and first != "@":
            n = dns.name.from_text(first, origin_n)
            while n != origin_n:
                names.add(n)
                n = n.parent()
    return names


def closest_encloser(origin, qname):
    names = zone_names(origin)
    n = qname
    while n not in names:
        n = n.parent()
    return n


def wildcard_answer(r, qname):
    """The answer RRSIGs whose labels field is below the owner's: a wildcard expanded (RFC 4035 5.3.4);
    not the wildcard asked for by its own name."""
    return [rs for rs in r.answer if rs.rdtype == dns.rdatatype.RRSIG and rs[0].labels < len(rs.name) - 1 and
            rs.name.labels[0] != b"*"]


def bitmap_types(rd):
    """The types an NSEC or NSEC3 bitmap lists."""
    types = set()
    for window, bitmap in rd.windows:
        for i, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    types.add(window * 256 + i * 8 + bit)
    return types


def chain_end(r, qname, qtype):
    """The name a CNAME chain in the answer ends at (a CNAME question is answered by the first)."""
    end = qname
    for rs in r.answer if qtype != dns.rdatatype.CNAME else []:
        if rs.rdtype == dns.rdatatype.CNAME and rs.name == end:
            end = rs[0].target
    return end


def referral_cut(r):
    """The cut of a referral (NS in authority, AA clear), or None."""
    if r.flags & dns.flags.AA:
        return None
    return next((rs.name for rs in r.authority if rs.rdtype == dns.rdatatype.NS), None)


def check_nsec(r, origin, qname, qtype):
    """What the NSEC records of an answer prove, against RFC 4035 3.1.3 / 3.1.4.1: a list of problems."""
    nsecs = [(rs.name, rd) for rs in r.authority if rs.rdtype == dns.rdatatype.NSEC for rd in rs]
    problems = []

    def covered(name):
        return any(covers(o, rd.next, name) for o, rd in nsecs)

    def matched(name):
        return [rd for o, rd in nsecs if o == name]

    end = chain_end(r, qname, qtype)
    for rs in wildcard_answer(r, qname):
        if not covered(rs.name):
            problems.append("wildcard answer at %s: no NSEC covers the name" % rs.name)
    cut = referral_cut(r)
    if r.rcode() == dns.rcode.NXDOMAIN:
        ce = closest_encloser(origin, end)
        if not covered(end):
            problems.append("NXDOMAIN: no NSEC covers %s" % end)
        if not covered(dns.name.from_text("*", ce)):
            problems.append("NXDOMAIN: no NSEC covers *.%s" % ce)
    elif cut is not None:
        if not any(rs.rdtype == dns.rdatatype.DS for rs in r.authority):
            m = matched(cut)
            if not m or dns.rdatatype.NS not in bitmap_types(m[0]) or dns.rdatatype.DS in bitmap_types(m[0]):
                problems.append("insecure referral at %s: no NSEC at the cut listing NS without DS" % cut)
    elif not any(rs.name == end and rs.rdtype in (qtype, dns.rdatatype.CNAME) for rs in r.answer):
        m = matched(end)
        if m and (qtype in bitmap_types(m[0]) or dns.rdatatype.CNAME in bitmap_types(m[0])):
            problems.append("NODATA at %s: its NSEC lists %s" % (end, dns.rdatatype.to_text(qtype)))
        ent = any(covers(o, rd.next, end) and rd.next.is_subdomain(end) for o, rd in nsecs)
        if not m and not ent and not wildcard_nodata(r, origin, end, nsecs):
            problems.append("NODATA at %s: no NSEC matches it (nor covers it as an empty non-terminal)" % end)
    return problems


def wildcard_nodata(r, origin, end, nsecs):
    """RFC 4035 3.1.3.4: the NSEC of the wildcard at the closest encloser and one covering the name."""
    ce = closest_encloser(origin, end)
    star = dns.name.from_text("*", ce)
    return (any(o == star for o, _ in nsecs) and ce != end and
            any(covers(o, rd.next, end) for o, rd in nsecs))


def check_nsec3(r, origin, qname, qtype):
    """What the NSEC3 records prove, against RFC 5155 7.2: a list of problems."""
    recs = nsec3_hashes(r)
    problems = []
    if not recs:
        needs = r.rcode() == dns.rcode.NXDOMAIN or wildcard_answer(r, qname) or not r.answer
        return ["no NSEC3 in the answer"] if needs and not any(
            rs.rdtype == dns.rdatatype.DS for rs in r.authority) else []
    params = next(iter(recs.values()))[0]
    end = chain_end(r, qname, qtype)

    def next_closer(name, ce):
        return dns.name.Name(name.labels[-(len(ce.labels) + 1):])

    def provable(name):
        """Closest (provable) encloser proof: an ancestor's NSEC3 matches, the next closer's covers."""
        n = name
        while len(n) > 1:
            if nsec3_match(recs, n, params) and (n == name or nsec3_cover(recs, next_closer(name, n), params)):
                return n
            n = n.parent()
        return None

    for rs in wildcard_answer(r, qname):
        ce = dns.name.Name(rs.name.labels[-(rs[0].labels + 1):])
        if not nsec3_cover(recs, next_closer(rs.name, ce), params):
            problems.append("wildcard answer at %s: no NSEC3 covers the next closer name" % rs.name)
    if r.rcode() == dns.rcode.NXDOMAIN:
        ce = closest_encloser(origin, end)
        while not nsec3_match(recs, ce, params) and len(ce) > 1:  # an Opt-Out encloser: the provable one
            ce = ce.parent()
        nc = nsec3_cover(recs, next_closer(end, ce), params)
        if ce != closest_encloser(origin, end) and nc and not nc.flags & 1:
            problems.append("NXDOMAIN: the closest encloser %s has no NSEC3 but no Opt-Out span covers it" %
                            closest_encloser(origin, end))
        if not nsec3_match(recs, ce, params):
            problems.append("NXDOMAIN: no NSEC3 matches the closest encloser %s" % ce)
        if not nc:
            problems.append("NXDOMAIN: no NSEC3 covers the next closer of %s" % end)
        if not nsec3_cover(recs, dns.name.from_text("*", ce), params):
            problems.append("NXDOMAIN: no NSEC3 covers *.%s" % ce)
    elif not any(rs.name == end and rs.rdtype in (qtype, dns.rdatatype.CNAME) for rs in r.answer):
        cut = referral_cut(r)
        name = cut if cut is not None else end
        if cut is not None and any(rs.rdtype == dns.rdatatype.DS for rs in r.authority):
            return problems
        m = nsec3_match(recs, name, params)
        if m is None:
            star = dns.name.from_text("*", closest_encloser(origin, name))
            if nsec3_match(recs, star, params):  # wildcard NODATA (7.2.5)
                ce = closest_encloser(origin, name)
                if not (nsec3_match(recs, ce, params) and nsec3_cover(recs, next_closer(name, ce), params)):
                    problems.append("wildcard NODATA at %s: no closest encloser proof" % name)
            else:
                p = provable(name)
                if p is None:
                    problems.append("no NSEC3 matches %s and no closest provable encloser proof" % name)
                else:
                    cover = nsec3_cover(recs, next_closer(name, p), params)
                    if not cover.flags & 1:
                        problems.append("closest provable encloser proof for %s without Opt-Out" % name)
    return problems


def test_proofs_prove(servers):
    """ternd's proofs, read by an independent checker: every RRset in answer and authority validates
    against the zone's DNSKEY, and the NSEC/NSEC3 records match or cover what the RFCs say."""
    tern = servers["ternd"]
    problems = []
    for origin in CHAINS:
        zone = dns.name.from_text(origin)
        kr = ask(tern, origin, "DNSKEY")
        keys = {zone: kr.find_rrset(kr.answer, zone, dns.rdataclass.IN, dns.rdatatype.DNSKEY)}
        for rel, qtype in QUERIES:
            qname = zone if rel == "@" else dns.name.from_text(rel, zone)
            r = ask(tern, qname, qtype)
            found = []
            for section in (r.answer, r.authority):
                for i, rs in enumerate(section):
                    if rs.rdtype == dns.rdatatype.RRSIG:
                        continue
                    sigs = [s for s in section if s.rdtype == dns.rdatatype.RRSIG and s.name == rs.name and
                            s.covers == rs.rdtype]
                    if sigs:
                        try:
                            dns.dnssec.validate(rs, sigs[0], keys)
                        except dns.dnssec.ValidationFailure as e:
                            found.append("%s %s does not validate: %s" % (rs.name, dns.rdatatype.to_text(rs.rdtype), e))
                    elif rs.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.SOA, dns.rdatatype.DS):
                        found.append("%s %s without RRSIG" % (rs.name, dns.rdatatype.to_text(rs.rdtype)))
            qt = dns.rdatatype.from_text(qtype)
            found += check_nsec3(r, origin, qname, qt) if "nsec3" in origin or "optout" in origin else \
                check_nsec(r, origin, qname, qt)
            if found:
                problems.append("%s %s:\n  %s\n%s" % (qname, qtype, "\n  ".join(found), text(r)))
    assert not problems, "%d answers prove wrong:\n%s" % (len(problems), "\n".join(problems))


def test_denial_records_only_for_do(servers):
    """Without DO no NSEC, NSEC3 or RRSIG goes anywhere (RFC 4035 3.1)."""
    tern = servers["ternd"]
    for qname, qtype in queries():
        q = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
        q.flags &= ~dns.flags.RD
        r = dns.query.udp(q, tern.addr, port=tern.port, timeout=5)
        for rs in r.answer + r.authority + r.additional:
            assert rs.rdtype not in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3, dns.rdatatype.RRSIG) or \
                rs.rdtype == dns.rdatatype.from_text(qtype), "%s %s:\n%s" % (qname, qtype, text(r))


def test_small_udp_proof_is_tc_not_partial(servers):
    """A proof that does not fit a 512-octet answer (no EDNS room: the NXDOMAIN of an NSEC3 zone needs
    three NSEC3 and their RRSIGs) makes the answer TC; over TCP it is whole."""
    tern = servers["ternd"]
    q = dns.message.make_query("a.nx.nsec3.test.", "A", use_edns=0, payload=512, want_dnssec=True)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, tern.addr, port=tern.port, timeout=5)
    assert r.flags & dns.flags.TC, text(r)
    t = ask(tern, "a.nx.nsec3.test.", "A", tcp=True)
    assert not (t.flags & dns.flags.TC)
    assert len([rs for rs in t.authority if rs.rdtype == dns.rdatatype.NSEC3]) == 3, text(t)


# ---- proofs after changes: the ordered views kept by zone_apply() ----

# The zone's records without SOA and NS (the API zone has its own), as version 1, and version 2:
# names added (one below a new empty non-terminal, one between members), deleted (www, and the
# wildcard below an empty non-terminal, which takes sub.went and went with it), and changed.
V1 = [line for line in ZONE.splitlines() if line.strip() and not line.startswith(("$", "@"))]
V2 = [line for line in V1 if not line.startswith(("www ", "*.sub.went", "alias "))] + [
    "new1        A     192.0.2.111", "m.new2      TXT   \"new\"", "c.b.ent     A     192.0.2.41",
    "alias       CNAME ns1", "www2        AAAA  2001:db8::12"]
CHANGE_QUERIES = QUERIES + [("new1", "A"), ("new1", "TXT"), ("new2", "A"), ("m.new2", "A"), ("x.new2", "A"),
                            ("c.b.ent", "TXT"), ("www2", "A"), ("www1", "A"), ("www3", "A")]


def sign_version(workdir, origin, opts, lines, version, keyed):
    import apilib
    path = os.path.join(workdir, "%sv%d" % (origin, version))
    with open(path, "w") as f:
        f.write(apilib.zonefile(origin, *lines))
    if not keyed:
        for extra in ([], ["-f", "KSK"]):
            subprocess.run([KEYGEN, "-q", "-K", workdir, "-a", "ECDSAP256SHA256", "-n", "ZONE"] + extra + [origin],
                           check=True, capture_output=True)
    subprocess.run([SIGNZONE, "-q", "-K", workdir, "-d", workdir, "-S", "-o", origin, "-f", path + ".signed"] +
                   opts + [path], check=True, capture_output=True)
    return path + ".signed"


def denial_summary(r):
    """rcode, the answer (but for the SOA the API zone makes its own) and the denial records of the
    authority section with their RRSIGs, as sets of RRsets."""
    def denial(rs):
        kinds = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
        return rs.rdtype in kinds or (rs.rdtype == dns.rdatatype.RRSIG and rs.covers in kinds)
    return {
        "rcode": r.rcode(),
        "answer": frozenset(rrset_key(x) for x in r.answer if dns.rdatatype.SOA not in (x.rdtype, x.covers)),
        "authority": frozenset(rrset_key(x) for x in r.authority if denial(x)),
    }


def test_proofs_follow_changes(tmp_path_factory):
    """The zones imported through the API, then version 2 imported over version 1 (zone_apply()
    derives it: members of the NSEC/NSEC3 order added, replaced, removed), then version 1 again:
    after each the proofs equal Knot's for that version, and the server stays clean."""
    import apilib
    if not knotd_available():
        pytest.skip("no knotd")
    d = str(tmp_path_factory.mktemp("versions"))
    files = {}
    for origin, opts in CHAINS.items():
        z = "c" + origin  # cnsec.test. etc.: distinct from the served zones above
        files[z] = [sign_version(d, z, opts, V1, 1, False), sign_version(d, z, opts, V2, 2, True)]
    keys = apilib.Keys(str(tmp_path_factory.mktemp("keys")))
    srv = apilib.ApiTernd(keys, workdir=str(tmp_path_factory.mktemp("ternd-api"))).start()
    knots = [Knotd({z: f[v] for z, f in files.items()}, workdir=str(tmp_path_factory.mktemp("knot%d" % v)))
             for v in (0, 1)]
    bad = []
    try:
        for k in knots:
            k.start()
        api = srv.api(keys.token("proofs"))
        for z in files:
            api.create_zone(z.rstrip("."))
        for step, v in enumerate((0, 1, 0)):
            for z, f in files.items():
                with open(f[v]) as fh:
                    r = api.post("/api/v1/zones/%s/import" % z.rstrip("."), fh.read())
                assert r.status == 200, r
            for z in files:
                for rel, qtype in CHANGE_QUERIES:
                    if qtype in ("SOA", "DNSKEY"):
                        continue
                    qname = z if rel == "@" else rel + "." + z
                    t, k = ask(srv, qname, qtype), ask(knots[v], qname, qtype)
                    if denial_summary(t) != denial_summary(k):
                        bad.append("step %d (version %d) %s %s\n  ternd:\n%s\n  knot:\n%s" % (
                            step, v + 1, qname, qtype, text(t), text(k)))
        api.close()
    finally:
        for k in knots:
            k.stop()
        apilib.finish(srv)
    assert not bad, "%d answers differ from Knot's:\n%s" % (len(bad), "\n".join(bad[:20]))
