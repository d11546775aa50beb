"""Differential test: ternd, Knot DNS and NSD serve the same zones (diff_zones/, signed.test signed at
test time with dnssec-signzone); where Knot and NSD agree, ternd must match them.

All three servers get the same deterministic set of queries (every owner name, empty non-terminal and a
list of nonexistent names and names below wildcards, ENTs, delegations and DNAMEs, times a list of
types, with random-case query names from a seeded RNG), over UDP with EDNS (payload 1232), with EDNS
and DO (a subset: signed.test, the names at and below cuts and DNAMEs, every fourth other query; CD
set on some), over TCP (a subset) and over UDP without EDNS (a subset: 512-octet limit). Compared per
query and per field: rcode, AA, TC, CD, EDNS present, the question echo, and the answer, authority
and additional sections as sets of (owner lower-cased, type, TTL, canonical rdata); OPT is not
compared. For each field ternd must match Knot or NSD (after the intended differences below), so
where the two agree it must match both. Where the RFCs allow several answers or where ternd
deliberately differs, INTENDED_DIFFERENCES says what is compared instead and why. Every other
difference is a ternd bug: all are printed with the query, and the test fails. The header test sends
messages that are not plain queries (unknown opcodes, no question, two questions, flags, two OPTs,
meta-types) and compares rcode, opcode, question count, AA, TC and EDNS the same way.

Environment: TERND (ternd binary, see ternlib), KNOTD (knotd binary), TERN_DIFF_SEED (RNG seed).
"""
import os
import random
import shutil
import socket
import struct
import subprocess

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

import ternlib
from knotlib import Knotd, knotd_available
from nsdlib import NsdZones, nsd_available

HERE = os.path.dirname(os.path.abspath(__file__))
ZDIR = os.path.join(HERE, "diff_zones")
ZONE_FILES = {
    "example.test.": os.path.join(ZDIR, "example.test.zone"),
    "child.example.test.": os.path.join(ZDIR, "child.example.test.zone"),
    "other.test.": os.path.join(ZDIR, "other.test.zone"),
    "2.0.192.in-addr.arpa.": os.path.join(ZDIR, "2.0.192.in-addr.arpa.zone"),
    "signed.test.": os.path.join(ZDIR, "signed.test.zone"),  # replaced by its signed copy (sign_zone)
}
SIGNED = "signed.test."
DNSSEC_KEYGEN = shutil.which("dnssec-keygen") or "/usr/bin/dnssec-keygen"
DNSSEC_SIGNZONE = shutil.which("dnssec-signzone") or "/usr/bin/dnssec-signzone"
SEED = int(os.environ.get("TERN_DIFF_SEED", "20240101"))
PAYLOAD = 1232

# Where the RFCs allow more than one answer and Knot's choice is not the only correct one.
# key: the condition; value: what is compared instead, and the RFC that allows it.
INTENDED_DIFFERENCES = {
    "qtype ANY, data at the name":
        "RFC 8482 sec. 4.1-4.3: a server may answer ANY with one RRset (Knot does, also over TCP), a "
        "subset, all RRsets, or a synthesized HINFO. Compared: rcode, AA, TC, authority, any CNAME/DNAME "
        "chain leading to the name; at the name the answer must be non-empty iff Knot's is and hold "
        "only complete RRsets that exist there (or the RFC 8482 HINFO); the additional section follows "
        "from the chosen RRsets (RFC 1034 sec. 4.3.2 step 6: 'may'), so it is not compared.",
    "TC set by both":
        "RFC 2181 sec. 9 / RFC 1035 sec. 4.2.1: a truncated UDP response only tells the client to "
        "retry over TCP, which discards it; how much of it is filled is the server's choice (Knot "
        "sends empty sections). Compared: rcode, AA, TC, question; not the sections.",
    "CNAME/DNAME target in another served zone":
        "RFC 1034 sec. 4.3.2 step 3a (and RFC 6672 sec. 3.2 step 3c for DNAME) restart the lookup at "
        "step 1, which picks among all zones the server is authoritative for; Knot stops at the zone "
        "boundary (it follows a chain only inside the zone it answers from, so for a target in a "
        "served child zone it even gives the parent's referral). Both are allowed. Compared: "
        "Knot's chain, then Knot's own answer for the target (rcode, answer, authority, additional) as "
        "if ternd restarted there; AA stays Knot's (RFC 6604 sec. 3: AA describes the first owner).",
    "CD bit":
        "RFC 4035 sec. 3.1.6: a security-aware name server MUST copy the CD bit from a query into the "
        "response; Knot and NSD clear it. Compared: ternd's CD must be the query's.",
    "DNAME substitution longer than 255 octets":
        "RFC 6672 sec. 2.2 and 3.2 step 3c: when the substituted name would be longer than 255 octets "
        "the server MUST answer YXDOMAIN with the DNAME; Knot 3.2.6 answers NXDOMAIN with the DNAME "
        "and the SOA instead. Compared: ternd must say YXDOMAIN with Knot's answer; its "
        "authority may be any subset of Knot's (Knot's SOA proves an NXDOMAIN that does not apply).",
    "negative answer whose SOA does not fit":
        "RFC 2308 sec. 3: a negative answer MUST carry the zone's SOA in the authority section, so when "
        "it does not fit in the UDP limit the response is incomplete and RFC 2181 sec. 9 / RFC 1035 "
        "sec. 4.1.1 call for TC; Knot leaves the SOA out without TC. Compared: ternd must set TC "
        "(rcode, AA and the question as for any truncated response).",
    "RRset whose zone-file TTLs differ":
        "RFC 2181 sec. 5.2: the RRs of an RRset must have one TTL; a zone file that gives several leaves "
        "the server's choice open (Knot sends the last one read) and RFC 2181 says to treat them all as "
        "the lowest. Compared: ternd must send the lowest TTL (MIXED_TTL) for every RR of the set.",
}

# ternd bugs this test found and that are not fixed yet (Knot and NSD agree; ternd is wrong): what
# is left out of the comparison until they are. Each is printed when the test runs.
KNOWN_DEFECTS = {}

# RRsets whose zone file gives differing TTLs (see INTENDED_DIFFERENCES): (owner, type) -> lowest TTL
MIXED_TTL = {("ttl.example.test.", "A"): 100}

# Query types asked at every name; TYPE65280 (private use, RFC 6895) and LOC have no data anywhere.
BASE_TYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "DNAME", "DS", "RRSIG", "SRV", "HTTPS", "ANY", "LOC",
              "TYPE65280"]

L63 = "l" * 63
# Names that are not owners: nonexistent, below wildcards, ENTs, delegations, DNAMEs; relative
# names are in example.test.
EXTRA_NAMES = [
    "nx", "nx.www", "a.b.nx", "nx._tcp", "nx._udp", "www.www",
    "foo.wild", "a.b.wild", "foo.sub.wild", "q.ent.wild", "a.x.ent.wild",
    "foo.ent2", "a.b.ent2", "q.y.ent3", "a.q.y.ent3", "q.z.ent3", "nx.ent3",
    "x.deep", "q.c.deep", "z.b.c.deep", "nx.a.b.c.deep",
    "host.sub", "a.b.sub", "x.ns1.sub", "host.ext", "a.b.ext", "host.auth", "host.sib",
    "nx.child", "foo.wild.child", "a.b.wild.child", "x.ns1.child",
    "host.dn", "www.dn", "nx.dn", "a.b.dn", "mail.dn", "back.dn", "ns.dn",
    "host.dnin", "nx.dnin", "a.host.dnin",
    "x.longdn", L63 + "." + "m" * 20 + ".longdn", L63 + "." + L63 + ".longdn",
    "x.wcname", "a.b.wcname", "x.wcout",
    "nx.other.test.", "a.www.other.test.", "nothere.invalid.", "www.nothere.invalid.", "test.", ".",
    "12.2.0.192.in-addr.arpa.", "7.0/26.2.0.192.in-addr.arpa.", "0.192.in-addr.arpa.",
    "in-addr.arpa.", "example.", "xexample.test.", "example.test.example.test.",
    "x.*.wild", "caf\\201", "caf\\233.x", "dot.ted", "x.dot\\.ted", "host.manyns", "ns1.manyns",
    "nx.signed.test.", "x.secure.signed.test.", "a.b.secure.signed.test.", "x.insecure.signed.test.",
    "x.wild.signed.test.", "a.b.wild.signed.test.", "x.wcname.signed.test.", "nx.ent.signed.test.",
    "host.dnin.signed.test.", "nx.dnin.signed.test.", "www.dn.signed.test.", "nx.dn.signed.test.",
]


def load_zones(files):
    return {dns.name.from_text(n): dns.zone.from_file(p, origin=n, relativize=False, check_origin=True)
            for n, p in files.items()}


def rdata_key(rd):
    """Canonical rdata (RFC 4034 sec. 6.2 lower-cases embedded names: a server may compress them
    against the random-case query name)."""
    try:
        return rd.to_digestable()
    except Exception:
        return rd.to_text().encode()


def rr_keys(section):
    """{(owner, type, ttl, canonical rdata): text} for every RR of every RRset (OPT excluded)."""
    out = {}
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.OPT:
            continue
        owner = rrset.name.to_text().lower()
        for rd in rrset:
            key = (owner, dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, rdata_key(rd))
            out[key] = "%s %d %s %s" % (owner, rrset.ttl, dns.rdatatype.to_text(rrset.rdtype), rd.to_text())
    return out


class ZoneData:
    """The zone files as dnspython sees them: names to query and the RRsets at a name (for ANY)."""

    def __init__(self, files):
        self.zones = load_zones(files)

    def all_names(self):
        names = set()
        for origin, z in self.zones.items():
            for n in z.nodes:
                # the owner and every empty non-terminal between it and the apex
                while n != origin and n.is_subdomain(origin):
                    names.add(n)
                    n = n.parent()
                names.add(origin)
        return names

    def zone_for(self, qname):
        best = None
        for origin in self.zones:
            if qname.is_subdomain(origin) and (best is None or len(origin) > len(best)):
                best = origin
        return best

    def rrs_at(self, qname):
        """RRs a server holds at qname (wildcard-synthesized if so), or {} when qname is below a
        zone cut or DNAME, is an ENT or does not exist."""
        origin = self.zone_for(qname)
        if origin is None:
            return {}
        z = self.zones[origin]
        n = qname
        while n != origin:  # zone cut or DNAME at or above qname
            node = z.get_node(n)
            if node is not None:
                if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is not None:
                    return {}
                if n != qname and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.DNAME) is not None:
                    return {}
            n = n.parent()
        node = z.get_node(qname)
        if node is None:
            if any(x.is_subdomain(qname) for x in z.nodes):
                return {}  # ENT
            ce = qname.parent()
            while ce != origin and not any(x.is_subdomain(ce) for x in z.nodes):
                ce = ce.parent()
            node = z.get_node(dns.name.Name((b"*",) + ce.labels))
            if node is None:
                return {}
        out = {}
        for rds in node.rdatasets:
            rrset = dns.rrset.RRset(qname, rds.rdclass, rds.rdtype)
            rrset.update(rds)
            out.update(rr_keys([rrset]))
        return out


def random_case(rng, text):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c.lower() for c in text)


def build_queries(zd):
    """[(qname text as sent, qtype text)], deterministic for a seed."""
    rng = random.Random(SEED)
    names = set(zd.all_names())
    example = dns.name.from_text("example.test.")
    for e in EXTRA_NAMES:
        names.add(dns.name.from_text(e) if e.endswith(".") else dns.name.from_text(e, origin=example))
    out = []
    for n in sorted(names):
        types = list(BASE_TYPES)
        origin = zd.zone_for(n)
        node = zd.zones[origin].get_node(n) if origin is not None else None
        for rds in (node.rdatasets if node is not None else []):
            t = dns.rdatatype.to_text(rds.rdtype)
            if t not in types:
                types.append(t)
        for t in types:
            text = n.to_text()
            out.append((random_case(rng, text), t))
    return out


def make_query(qname, qtype, qid, edns=True, do=False, cd=False):
    q = dns.message.make_query(qname, qtype, use_edns=0 if edns else False, payload=PAYLOAD,
                               want_dnssec=do)
    q.id = qid
    q.flags &= ~dns.flags.RD  # an authoritative server gets non-recursive queries
    if cd:
        q.flags |= dns.flags.CD
    return q


def has_do(q):
    return q.edns >= 0 and bool(q.ednsflags & dns.flags.DO)


def ask(addr, port, q, tcp):
    try:
        if tcp:
            return dns.query.tcp(q, addr, port=port, timeout=3), None
        return dns.query.udp(q, addr, port=port, timeout=3, ignore_unexpected=True), None
    except dns.exception.Timeout:
        return None, "timeout"
    except Exception as e:  # unparseable, connection reset, ...
        return None, "%s: %s" % (type(e).__name__, e)


def short(r):
    if r is None:
        return "    (no response)"
    lines = ["    rcode=%s flags=%s" % (dns.rcode.to_text(r.rcode()), dns.flags.to_text(r.flags))]
    for title, sec in (("AN", r.answer), ("NS", r.authority), ("AR", r.additional)):
        for v in sorted(rr_keys(sec).values()):
            lines.append("    %s %s" % (title, v))
    return "\n".join(lines)


def set_diff(title, k, t):
    kk, tk = rr_keys(k), rr_keys(t)
    out = []
    for key in sorted(set(kk) - set(tk)):
        out.append("%s missing in ternd: %s" % (title, kk[key]))
    for key in sorted(set(tk) - set(kk)):
        out.append("%s extra in ternd: %s" % (title, tk[key]))
    return out


def check_question(q, r, who):
    if len(r.question) != 1:
        return ["%s: question count %d" % (who, len(r.question))]
    want, got = q.question[0], r.question[0]
    # RFC 1035 sec. 4.1.1/7.3 and RFC 4343: the question is copied, letter case included
    if (got.name.to_text() != want.name.to_text() or got.rdtype != want.rdtype or got.rdclass != want.rdclass):
        return ["%s: question %s %s echoed as %s %s" % (who, want.name, dns.rdatatype.to_text(want.rdtype),
                                                        got.name, dns.rdatatype.to_text(got.rdtype))]
    return []


def chain_end(qname, answer):
    """Follows the CNAMEs (real or DNAME-synthesized) in answer from qname: (end name, the last
    CNAME RRset followed or None)."""
    cur, last, seen = qname, None, set()
    while cur not in seen:
        seen.add(cur)
        nxt = [r for r in answer if r.rdtype == dns.rdatatype.CNAME and r.name == cur]
        if not nxt:
            break
        last = nxt[0]
        cur = nxt[0][0].target
    return cur, last


def synthesized(cname_rrset, answer):
    """Whether a CNAME in answer was synthesized from a DNAME also in answer."""
    return any(r.rdtype == dns.rdatatype.DNAME and cname_rrset.name.is_subdomain(r.name) and cname_rrset.name != r.name
               for r in answer)


def wire_len(name):
    return len(name.to_wire())


class Expected:
    """A response ternd must give: a peer's, adjusted by the intended differences."""

    def __init__(self, k, q):
        self.flags, self._rcode, self.edns = k.flags, k.rcode(), k.edns
        self.answer, self.authority, self.additional = list(k.answer), list(k.authority), list(k.additional)
        self.authority_subset = False  # ternd's authority may be any subset of this one
        self.rules = []

    def rcode(self):
        return self._rcode


def expected_answer(q, k, peer, zd):
    """What ternd must answer, given a peer's answer k: the peer's unless an intended difference applies."""
    e = Expected(k, q)
    qname, qtype = q.question[0].name, q.question[0].rdtype
    restarted = set()
    for hop in range(8):
        end, last = chain_end(qname, e.answer)
        if (last is None or end in restarted or any(r.name == end for r in e.answer) or
                e.rcode() != dns.rcode.NOERROR):
            break
        restarted.add(end)
        synth = synthesized(last, e.answer)
        # a CNAME, real or synthesized from a DNAME, is the answer to a CNAME query; a real one to
        # ANY too: nothing to follow
        followed = qtype != dns.rdatatype.CNAME and (synth or qtype != dns.rdatatype.ANY)
        cross = followed and zd.zone_for(end) is not None and zd.zone_for(end) != zd.zone_for(last.name)
        if not cross:
            break
        kq = make_query(end.to_text(), dns.rdatatype.to_text(qtype), q.id, q.edns >= 0, has_do(q))
        kt, err = ask(peer.addr, peer.port, kq, False)
        if kt is None or kt.rcode() == dns.rcode.REFUSED:
            break
        e.rules.append("CNAME/DNAME target in another served zone")
        et = Expected(kt, q)
        e.rules += [r for r in et.rules if r not in e.rules]
        e._rcode = kt.rcode()
        e.answer = e.answer + et.answer
        e.authority, e.additional = et.authority, et.additional
    end, last = chain_end(qname, e.answer)
    for r in e.answer:
        if (r.rdtype == dns.rdatatype.DNAME and end.is_subdomain(r.name) and end != r.name and
                e.rcode() == dns.rcode.NXDOMAIN and
                wire_len(end) - wire_len(r.name) + wire_len(r[0].target) > 255):
            e.rules.append("DNAME substitution longer than 255 octets")
            e._rcode = dns.rcode.YXDOMAIN
            e.authority_subset = True
    return e


def is_negative(q, k):
    """NXDOMAIN, or NOERROR without data of the asked type at the end of the CNAME chain."""
    if k.rcode() == dns.rcode.NXDOMAIN:
        return True
    end, _ = chain_end(q.question[0].name, k.answer)
    return k.rcode() == dns.rcode.NOERROR and not any(r.name == end for r in k.answer)


def apply_mixed_ttl(e, used):
    """Knot's RRsets listed in MIXED_TTL, with the lowest TTL ternd must use."""
    for section in ("answer", "authority", "additional"):
        out = []
        for r in getattr(e, section):
            ttl = MIXED_TTL.get((r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype)))
            if ttl is not None and r.ttl != ttl:
                r = r.copy()
                r.ttl = ttl
                used["RRset whose zone-file TTLs differ"] = used.get("RRset whose zone-file TTLs differ", 0) + 1
            out.append(r)
        setattr(e, section, out)


def compare(q, k, t, zd, used, peer):
    """Differences between what ternd (t) must answer, given a peer's answer (k), and what it answered:
    [(field, text)]; [] when equal."""
    diffs = []
    if t.id != q.id or not (t.flags & dns.flags.QR):
        diffs.append(("header", "ternd: id/QR wrong (id %d, flags %s)" % (t.id, dns.flags.to_text(t.flags))))
    diffs += [("question", d) for d in check_question(q, t, "ternd")]
    if bool(t.flags & dns.flags.CD) != bool(q.flags & dns.flags.CD):
        diffs.append(("CD", "CD: query=%d ternd=%d" % (bool(q.flags & dns.flags.CD), bool(t.flags & dns.flags.CD))))
    elif bool(k.flags & dns.flags.CD) != bool(q.flags & dns.flags.CD):
        used["CD bit"] = used.get("CD bit", 0) + 1

    def rcode_diff(expect):
        if expect != t.rcode():
            diffs.append(("rcode", "rcode: peer=%s ternd=%s" % (dns.rcode.to_text(expect), dns.rcode.to_text(t.rcode()))))

    if (k.flags & dns.flags.TC) and (t.flags & dns.flags.TC):
        used["TC set by both"] = used.get("TC set by both", 0) + 1
        rcode_diff(k.rcode())
        return diffs
    if (not (k.flags & dns.flags.TC) and (t.flags & dns.flags.TC) and (k.flags & dns.flags.AA) and
            is_negative(q, k) and not any(r.rdtype == dns.rdatatype.SOA for r in k.authority)):
        used["negative answer whose SOA does not fit"] = used.get("negative answer whose SOA does not fit", 0) + 1
        rcode_diff(k.rcode())
        return diffs
    e = expected_answer(q, k, peer, zd)
    apply_mixed_ttl(e, used)
    for rule in set(e.rules):
        used[rule] = used.get(rule, 0) + 1
    rcode_diff(e.rcode())
    for flag in (dns.flags.AA, dns.flags.TC):
        if (e.flags & flag) != (t.flags & flag):
            name = dns.flags.to_text(flag)
            diffs.append((name, "%s: peer=%d ternd=%d" % (name, bool(e.flags & flag), bool(t.flags & flag))))
    if (e.edns >= 0) != (t.edns >= 0):
        diffs.append(("EDNS", "EDNS (RFC 6891 sec. 6.1.1: OPT in the response): peer=%s ternd=%s" %
                      (e.edns >= 0, t.edns >= 0)))
    if e.authority_subset:
        extra = set(rr_keys(t.authority)) - set(rr_keys(e.authority))
        diffs += [("authority", "authority extra in ternd: %s" % rr_keys(t.authority)[x]) for x in sorted(extra)]
    else:
        diffs += [("authority", d) for d in set_diff("authority", e.authority, t.authority)]
    qtype = q.question[0].rdtype
    end, _ = chain_end(q.question[0].name, e.answer)
    at_end = zd.rrs_at(end) if qtype == dns.rdatatype.ANY else {}
    if not at_end:
        diffs += [("answer", d) for d in set_diff("answer", e.answer, t.answer)]
        diffs += [("additional", d) for d in set_diff("additional", e.additional, t.additional)]
        return diffs
    # ANY (RFC 8482): the chain to the name must match; at the name, any complete RRsets it holds
    used["qtype ANY, data at the name"] = used.get("qtype ANY, data at the name", 0) + 1
    diffs += [("answer", d) for d in set_diff("answer", [r for r in e.answer if r.name != end],
                                              [r for r in t.answer if r.name != end])]
    e_end, t_end = [r for r in e.answer if r.name == end], [r for r in t.answer if r.name == end]
    if bool(e_end) != bool(t_end):
        diffs.append(("answer", "ANY answer at %s empty: peer=%s ternd=%s" % (end, not e_end, not t_end)))
    for rrset in t_end:
        if rrset.rdtype == dns.rdatatype.HINFO and len(rrset) == 1 and rrset[0].cpu == b"RFC8482":
            continue
        keys = rr_keys([rrset])
        extra = [keys[x] for x in keys if x not in at_end]
        if extra:
            diffs.append(("answer", "ANY answer holds RRs not at the name: %s" % "; ".join(sorted(extra))))
        # an RRSIG RRset is the group covering one type (RFC 4034 sec. 3: the first RDATA field)
        whole = {x for x in at_end if x[1] == dns.rdatatype.to_text(rrset.rdtype) and
                 (rrset.rdtype != dns.rdatatype.RRSIG or x[3][:2] == struct.pack("!H", rrset.covers))}
        if not extra and set(keys) != whole:
            diffs.append(("answer", "ANY answer holds an incomplete RRset: %s" % dns.rdatatype.to_text(rrset.rdtype)))
    return diffs


def against_peers(q, answers, t, zd, used, peers):
    """ternd's answer t against every peer's: a field differs when it differs from each peer (so where
    the peers agree, from both). Returns (text lines, {peer name: fields only that peer had as ternd})."""
    per_peer = {name: compare(q, answers[name], t, zd, used, peer) for name, peer in peers.items()}
    fields = {name: {f for f, _ in d} for name, d in per_peer.items()}
    failing = set.intersection(*fields.values())
    lines = ["%s: %s" % (name, text) for name, d in per_peer.items() for f, text in d if f in failing]
    alone = {name: set.union(*(fields[o] for o in fields if o != name)) - fields[name] - failing for name in fields}
    return lines, alone


def sign_zone(src, origin, workdir):
    """A copy of the zone file at src signed with a fresh KSK and ZSK (ECDSA P-256, NSEC): its path."""
    for tool in (DNSSEC_KEYGEN, DNSSEC_SIGNZONE):
        if not os.access(tool, os.X_OK):
            pytest.fail("no %s (bind9-utils, in the Makefile's DEB_PACKAGES)" % tool)
    out = os.path.join(workdir, origin + "signed")
    for extra in ([], ["-f", "KSK"]):
        subprocess.run([DNSSEC_KEYGEN, "-q", "-K", workdir, "-a", "ECDSAP256SHA256", "-n", "ZONE"] + extra + [origin],
                       check=True, capture_output=True)
    subprocess.run([DNSSEC_SIGNZONE, "-q", "-K", workdir, "-d", workdir, "-S", "-o", origin, "-f", out, src],
                   check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def zone_files(tmp_path_factory):
    files = dict(ZONE_FILES)
    files[SIGNED] = sign_zone(ZONE_FILES[SIGNED], SIGNED, str(tmp_path_factory.mktemp("sign")))
    return files


@pytest.fixture(scope="module")
def servers(tmp_path_factory, zone_files):
    """{"knot": Knotd, "nsd": NsdZones}, Ternd"""
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    if not knotd_available() or not nsd_available():
        pytest.skip("no knotd or nsd")
    knot = Knotd(zone_files, workdir=str(tmp_path_factory.mktemp("knotd")))
    nsd = NsdZones(zone_files, str(tmp_path_factory.mktemp("nsd")))
    tern = ternlib.Ternd({n.rstrip("."): p for n, p in zone_files.items()},
                         workdir=str(tmp_path_factory.mktemp("ternd")))
    try:
        knot.start()
        nsd.start()
        tern.start()
        yield {"knot": knot, "nsd": nsd}, tern
    finally:
        tern.stop()
        nsd.stop()
        knot.stop()
        log = tern.log_text() if os.path.exists(tern.log) else ""
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            assert marker not in log, "ternd log has %r:\n%s" % (marker, log[-5000:])


@pytest.fixture(scope="module")
def zone_data(zone_files):
    return ZoneData(zone_files)


def run_diff(servers, zd, queries, tcp, edns=True, do=False):
    """queries: [(qname, qtype)] or [(qname, qtype, cd)]."""
    peers, tern = servers
    proto = ("TCP" if tcp else "UDP") + ("" if edns else " without EDNS") + (" with DO" if do else "")
    used, mismatches, timeouts, alone = {}, [], 0, {name: {} for name in peers}
    for i, query in enumerate(queries):
        qname, qtype, cd = query if len(query) == 3 else query + (False,)
        q = make_query(qname, qtype, (SEED + i) & 0xFFFF, edns, do, cd)
        answers = {}
        for name, peer in peers.items():
            answers[name], err = ask(peer.addr, peer.port, q, tcp)
            if answers[name] is None:
                pytest.fail("%s did not answer %s %s over %s: %s" % (name, qname, qtype, proto, err))
        t, terr = ask(tern.addr, tern.port, q, tcp)
        if t is None:
            diffs = ["ternd: %s" % terr]
            timeouts += terr == "timeout"
            if tern.proc.poll() is not None:
                mismatches.append((i, qname, qtype, diffs + ["ternd exited with %s" % tern.proc.returncode], answers, t))
                break
        else:
            diffs, only = against_peers(q, answers, t, zd, used, peers)
            for name, fields in only.items():
                for f in fields:
                    alone[name][f] = alone[name].get(f, 0) + 1
        if diffs:
            mismatches.append((i, qname, qtype, diffs, answers, t))
    print("\n%s: %d queries compared (seed %d), %d mismatches, %d ternd timeouts" %
          (proto, len(queries), SEED, len(mismatches), timeouts))
    for name in KNOWN_DEFECTS:
        print("  known ternd defect, not compared: %s" % name)
    for cond, n in sorted(used.items()):
        print("  intended difference applied %4d times: %s" % (n, cond))
    for name, fields in alone.items():
        for f, n in sorted(fields.items()):
            print("  peers differ, ternd matches %s only: %s in %d answers" % (name, f, n))
    for i, qname, qtype, diffs, answers, t in mismatches:
        print("MISMATCH #%d %s %s %s" % (i, proto, qname, qtype))
        for d in diffs:
            print("  " + d)
        for name, a in answers.items():
            print("  %s:\n%s" % (name, short(a)))
        print("  ternd:\n" + short(t))
    return mismatches


def test_query_set_is_large_enough(zone_data):
    queries = build_queries(zone_data)
    assert len(queries) >= 500
    assert len(set(queries)) == len(queries)


def test_udp_answers_match_peers(servers, zone_data):
    queries = build_queries(zone_data)
    mismatches = run_diff(servers, zone_data, queries, tcp=False)
    assert not mismatches, "%d of %d UDP answers differ from Knot and NSD (printed above)" % (
        len(mismatches), len(queries))


def do_queries(zd):
    """The DO subset: everything in signed.test, everything at or below a cut or DNAME of example.test,
    every fourth other query; CD set on every third."""
    cuts = ("sub.", "child.", "ext.", "auth.", "sib.", "manyns.", "dn.", "dnin.", "longdn.")
    out = []
    for i, (qname, qtype) in enumerate(build_queries(zd)):
        low = qname.lower()
        if low.endswith(SIGNED) or any(c in low for c in cuts) or i % 4 == 0:
            out.append((qname, qtype, len(out) % 3 == 0))
    return out


def test_do_answers_match_peers(servers, zone_data):
    """With DO: DS in referrals only from signed zones (RFC 4035 sec. 3.1.4), and the CD bit."""
    queries = do_queries(zone_data)
    assert sum(q[0].lower().endswith(SIGNED) for q in queries) >= 100
    mismatches = run_diff(servers, zone_data, queries, tcp=False, do=True)
    assert not mismatches, "%d of %d DO answers differ from Knot and NSD (printed above)" % (
        len(mismatches), len(queries))


def test_tcp_answers_match_peers(servers, zone_data):
    queries = build_queries(zone_data)
    # every fifth query, and everything at the names whose answers do not fit in UDP
    subset = [x for i, x in enumerate(queries) if i % 5 == 0 or x[0].lower().startswith("big.")]
    mismatches = run_diff(servers, zone_data, subset, tcp=True)
    assert not mismatches, "%d of %d TCP answers differ from Knot and NSD (printed above)" % (
        len(mismatches), len(subset))


def test_udp_without_edns_answers_match_peers(servers, zone_data):
    """Without EDNS the limit is 512 octets (RFC 1035 sec. 4.2.1): truncation and dropped
    additional records are compared too."""
    queries = build_queries(zone_data)
    big = ("big.", "mid.", "manyns.", "host.manyns.", "example.test.", "www.")
    subset = [x for i, x in enumerate(queries) if i % 3 == 0 or x[0].lower().startswith(big)]
    mismatches = run_diff(servers, zone_data, subset, tcp=False, edns=False)
    assert not mismatches, "%d of %d UDP answers without EDNS differ from Knot and NSD (printed above)" % (
        len(mismatches), len(subset))


def test_truncated_udp_answer_is_complete_over_tcp(servers):
    """big.example.test TXT does not fit in 1232 bytes: TC over UDP, the whole RRset over TCP."""
    _, tern = servers
    q = make_query("big.example.test.", "TXT", 4242)
    t, err = ask(tern.addr, tern.port, q, False)
    assert t is not None, err
    assert t.flags & dns.flags.TC
    t, err = ask(tern.addr, tern.port, q, True)
    assert t is not None, err
    assert not t.flags & dns.flags.TC
    assert rr_keys(t.answer) and all(k[1] == "TXT" for k in rr_keys(t.answer))


# Messages that are not plain queries: (what, header flags, QDCOUNT, body after the header, ARCOUNT)
Q = dns.name.from_text("www.example.test.").to_wire() + struct.pack("!HH", 1, 1)
OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"


def question(name, qtype, qclass=1):
    return dns.name.from_text(name).to_wire() + struct.pack("!HH", qtype, qclass)


HEADER_CASES = [("opcode %d, %s" % (op, what), op << 11, qd, body, ar)
                for op in (1, 2, 3, 5, 6, 15)
                for what, qd, body, ar in (("no question", 0, b"", 0), ("a question", 1, Q, 0),
                                          ("a question cut short", 1, Q[:-3], 0), ("EDNS, no question", 0, OPT, 1))]
HEADER_CASES += [
    ("NOTIFY without a question", 4 << 11, 0, b"", 0),
    ("query without a question", 0, 0, b"", 0),
    ("query without a question, EDNS", 0, 0, OPT, 1),
    ("two questions", 0, 2, Q + question("mail.example.test.", 1), 0),
    ("QR set", 0x8000, 1, Q, 0),
    ("TC set", 0x0200, 1, Q, 0),
    ("AA set", 0x0400, 1, Q, 0),
    ("RA set", 0x0080, 1, Q, 0),
    ("Z set", 0x0040, 1, Q, 0),
    ("AD set", 0x0020, 1, Q, 0),
    ("two OPT records", 0, 1, Q + OPT + OPT, 2),
    ("OPT not owned by the root", 0, 1, Q + b"\x01a" + OPT[1:], 1),
    ("OPT option longer than its RDATA", 0, 1, Q + OPT[:-2] + b"\x00\x04\x00\x03\x00\x05", 1),
    ("EDNS version 1", 0, 1, Q + OPT[:6] + b"\x01" + OPT[7:], 1),
    ("class CH", 0, 1, question("www.example.test.", 1, 3), 0),
    ("class NONE", 0, 1, question("www.example.test.", 1, 254), 0),
    ("class ANY", 0, 1, question("www.example.test.", 1, 255), 0),
] + [("qtype %d" % t, 0, 1, question("www.example.test.", t), 0) for t in (0, 41, 249, 250, 252, 253, 254)]


def header_fields(data):
    """What the header test compares in a response (None: no response)."""
    if data is None:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", data[:12])
    try:
        m = dns.message.from_wire(data)
        rcode, edns = dns.rcode.to_text(m.rcode()), m.edns >= 0
    except Exception:  # dnspython rejects NOTIMP answers of unknown opcodes: the header says enough
        rcode, edns = "rcode %d" % (flags & 15), "?"
    return {"rcode": rcode, "opcode": (flags >> 11) & 15, "QDCOUNT": qd, "AA": bool(flags & 0x400),
            "TC": bool(flags & 0x200), "answers": an, "EDNS": edns}


def udp_exchange(port, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    try:
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65535)
    except socket.timeout:
        return None
    finally:
        s.close()


def test_header_checks_match_peers(servers):
    """Per field (rcode, opcode, QDCOUNT, AA, TC, answer count, EDNS; or no answer at all): where Knot
    and NSD agree, ternd must too."""
    peers, tern = servers
    bad, disagree = [], 0
    for i, (what, flags, qd, body, ar) in enumerate(HEADER_CASES):
        msg = struct.pack("!HHHHHH", 0x5000 + i, flags, qd, 0, 0, ar) + body
        got = {name: header_fields(udp_exchange(p.port, msg)) for name, p in peers.items()}
        t = header_fields(udp_exchange(tern.port, msg))
        k, n = got["knot"], got["nsd"]
        if k is None or n is None or t is None:
            if k is None and n is None and t is not None:
                bad.append("%s: Knot and NSD do not answer, ternd does: %s" % (what, t))
            elif k is not None and n is not None and t is None:
                bad.append("%s: Knot and NSD answer, ternd does not" % what)
            continue
        for field in k:
            if k[field] == n[field] and t[field] != k[field] and "?" not in (k[field], t[field]):
                bad.append("%s: %s is %s from Knot and NSD, %s from ternd" % (what, field, k[field], t[field]))
            disagree += k[field] != n[field]
    print("\nheader test: %d messages, %d fields where Knot and NSD differ" % (len(HEADER_CASES), disagree))
    assert not bad, "\n".join(bad)
