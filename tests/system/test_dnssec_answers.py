"""RRSIGs beside the RRsets of DO answers from a zone signed elsewhere (dnssec-signzone, RFC 4035
3.1.1): each checked with dnspython's dns.dnssec.validate against the zone's DNSKEY; the DNAME's
signatures but none for its synthesized CNAME (RFC 6672 5.3), an RRset and its RRSIGs fit together
or the answer is TC, and answers without DO are byte for byte those of the unsigned zone."""
import os
import shutil
import socket
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

from sysutil import describe, serve

ORIGIN = "sig.test."
KEYGEN = shutil.which("dnssec-keygen") or "/usr/bin/dnssec-keygen"
SIGNZONE = shutil.which("dnssec-signzone") or "/usr/bin/dnssec-signzone"
BIG = " ".join('"%s"' % ("x" * 60) for _ in range(6))  # a TXT of ~370 octets: fits 512 alone, not signed
ZONE = """$ORIGIN sig.test.
$TTL 3600
@       IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@       NS     ns1
@       MX     10 mail
ns1     A      192.0.2.53
mail    A      192.0.2.25
www 600 A      192.0.2.10
alias   CNAME  www
*.wild  A      192.0.2.100
dnin    DNAME  inner.sig.test.
host.inner A   192.0.2.90
secure  NS     ns1.secure
secure  DS     12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118b0e1f1d4a3f6e8a4b1c2d3e4
ns1.secure A   192.0.2.61
big     TXT    %s
""" % BIG


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(ternd serving sig.test signed, ternd serving it unsigned)."""
    d = str(tmp_path_factory.mktemp("sig"))
    plain = os.path.join(d, "sig.test.zone")
    with open(plain, "w") as f:
        f.write(ZONE)
    for extra in ([], ["-f", "KSK"]):
        subprocess.run([KEYGEN, "-q", "-K", d, "-a", "ECDSAP256SHA256", "-n", "ZONE"] + extra + [ORIGIN],
                       check=True, capture_output=True)
    signed = os.path.join(d, "sig.test.signed")
    subprocess.run([SIGNZONE, "-q", "-K", d, "-d", d, "-S", "-o", ORIGIN, "-f", signed, plain], check=True,
                   capture_output=True)
    s = serve(zones={ORIGIN: signed}, workdir=str(tmp_path_factory.mktemp("signed")))
    u = serve(zones={ORIGIN: plain}, workdir=str(tmp_path_factory.mktemp("plain")))
    yield s, u
    assert s.stop() == 0 and u.stop() == 0


def ask(srv, name, rdtype, do=True, payload=1232):
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=payload, want_dnssec=do)
    q.flags &= ~dns.flags.RD
    return dns.query.udp(q, srv.addr, port=srv.port, timeout=3)


@pytest.fixture(scope="module")
def keys(servers):
    """The zone's DNSKEY as served, itself validated by the KSK's signature."""
    r = ask(servers[0], ORIGIN, "DNSKEY")
    name = dns.name.from_text(ORIGIN)
    dnskey = r.find_rrset(r.answer, name, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    sigs = r.find_rrset(r.answer, name, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    dns.dnssec.validate(dnskey, sigs, {name: dnskey})
    return {name: dnskey}


def validated(section, keys):
    """Every RRset of section but RRSIGs must come right after its RRSIGs' RRset and validate; returns
    the (owner, type) of the RRsets validated, and of those without signatures."""
    signed, unsigned = [], []
    for i, rs in enumerate(section):
        if rs.rdtype == dns.rdatatype.RRSIG:
            prev = section[i - 1]
            assert i > 0 and prev.name == rs.name and rs.covers == prev.rdtype, \
                "RRSIG %s %s not right after its RRset" % (rs.name, dns.rdatatype.to_text(rs.covers))
            assert rs.ttl == prev.ttl, "RFC 4034 3: the RRSIG's TTL is its RRset's"
            dns.dnssec.validate(prev, rs, keys)
            signed.append((rs.name.to_text(), dns.rdatatype.to_text(rs.covers)))
        elif i + 1 == len(section) or section[i + 1].rdtype != dns.rdatatype.RRSIG:
            unsigned.append((rs.name.to_text(), dns.rdatatype.to_text(rs.rdtype)))
    return signed, unsigned


def test_answer_signed(servers, keys):
    r = ask(servers[0], "www.sig.test", "A")
    assert validated(r.answer, keys) == ([("www.sig.test.", "A")], []), describe(r)


def test_cname_chain_signed(servers, keys):
    r = ask(servers[0], "alias.sig.test", "A")
    assert validated(r.answer, keys) == ([("alias.sig.test.", "CNAME"), ("www.sig.test.", "A")], []), describe(r)


def test_wildcard_answer_signed(servers, keys):
    r = ask(servers[0], "x.wild.sig.test", "A")
    signed, unsigned = validated(r.answer, keys)  # validate() rebuilds the wildcard from the labels field
    assert signed == [("x.wild.sig.test.", "A")] and unsigned == [], describe(r)
    assert r.answer[1][0].labels == 3, "the RRSIG as stored: its labels field says *.wild.sig.test"


def test_dname_signed_synthesized_cname_not(servers, keys):
    r = ask(servers[0], "host.dnin.sig.test", "A")
    signed, unsigned = validated(r.answer, keys)
    assert signed == [("dnin.sig.test.", "DNAME"), ("host.inner.sig.test.", "A")], describe(r)
    assert unsigned == [("host.dnin.sig.test.", "CNAME")], describe(r)


@pytest.mark.parametrize("name,rcode", [("nx.sig.test", dns.rcode.NXDOMAIN), ("www.sig.test", dns.rcode.NOERROR)])
def test_negative_soa_signed(servers, keys, name, rcode):
    r = ask(servers[0], name, "MX" if rcode == dns.rcode.NOERROR else "A")
    assert r.rcode() == rcode and r.answer == [], describe(r)
    signed, unsigned = validated(r.authority, keys)  # the SOA, then the NSEC proofs, each validated
    assert unsigned == [] and signed[0] == ("sig.test.", "SOA"), describe(r)
    assert {t for _, t in signed[1:]} == {"NSEC"} and len(signed) == (3 if rcode else 2), describe(r)
    soa = r.authority[:2]
    assert soa[0].ttl == 300 and soa[1].ttl == 300, "RFC 2308 3: both capped by MINIMUM" + describe(r)


def test_referral_ds_signed_ns_not(servers, keys):
    r = ask(servers[0], "host.secure.sig.test", "A")
    assert not r.flags & dns.flags.AA and r.answer == [], describe(r)
    signed, unsigned = validated(r.authority, keys)
    assert signed == [("secure.sig.test.", "DS")] and unsigned == [("secure.sig.test.", "NS")], describe(r)
    assert validated(r.additional, keys) == ([], [("ns1.secure.sig.test.", "A")]), "glue is not signed"


def test_additional_signed(servers, keys):
    r = ask(servers[0], "sig.test", "MX")
    assert validated(r.answer, keys) == ([("sig.test.", "MX")], []), describe(r)
    assert validated(r.additional, keys) == ([("mail.sig.test.", "A")], []), describe(r)


def test_rrset_and_signatures_fit_together_or_tc(servers):
    s, _ = servers
    r = ask(s, "big.sig.test", "TXT", do=False, payload=512)
    assert not r.flags & dns.flags.TC and len(r.answer) == 1, "the TXT alone fits" + describe(r)
    r = ask(s, "big.sig.test", "TXT", payload=512)
    assert r.flags & dns.flags.TC, "TXT and its RRSIG do not fit in 512" + describe(r)
    assert r.answer == [], "no RRset without its signatures" + describe(r)
    r = ask(s, "big.sig.test", "TXT", payload=1232)
    assert not r.flags & dns.flags.TC and [x.rdtype for x in r.answer] == [dns.rdatatype.TXT, dns.rdatatype.RRSIG]


@pytest.mark.parametrize("name,rdtype", [("www.sig.test", "A"), ("alias.sig.test", "A"), ("x.wild.sig.test", "A"),
                                         ("host.dnin.sig.test", "A"), ("nx.sig.test", "A"), ("www.sig.test", "MX"),
                                         ("host.secure.sig.test", "A"), ("sig.test", "MX"), ("www.sig.test", "ANY"),
                                         ("big.sig.test", "TXT")])
def test_without_do_as_unsigned(servers, name, rdtype):
    """A query without DO gets from the signed zone the bytes the unsigned zone gives (same id)."""
    s, u = servers
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
    q.flags &= ~dns.flags.RD
    wires = []
    for srv in (s, u):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(3)
            sock.sendto(q.to_wire(), (srv.addr, srv.port))
            wires.append(sock.recvfrom(65535)[0])
    assert wires[0] == wires[1], "signed:\n%s\nunsigned:\n%s" % (dns.message.from_wire(wires[0]),
                                                                 dns.message.from_wire(wires[1]))
