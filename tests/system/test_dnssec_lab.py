"""DNSSEC as validators see it: Unbound, BIND and Knot Resolver, each with the lab's signed root as
its only root hint and trust anchor, resolve names of corp.lab. (signed by dnssec-signzone, NSEC with
ECDSA P-256 or NSEC3 with Ed25519) served by ternd, and by Knot as the control that proves the lab
itself right. See dnsseclab.py for the lab (a private network namespace, Knot for . and lab.)."""
import collections
import os

import pytest

import dnsseclab as L
from dnsseclab import lab  # noqa: F401 (the fixture)

SERVERS = ("knot", "ternd")

Case = collections.namedtuple("Case", "name rdtype rcode ad answer proofs")
# answer: the A/AAAA rdata expected (None: an empty answer section); proofs: the answer needs an
# NSEC/NSEC3 proof from corp.lab.'s server to validate.
CASES = {
    "apex-a": Case("corp.lab.", "A", "NOERROR", True, "192.0.2.30", False),
    "apex-aaaa": Case("corp.lab.", "AAAA", "NOERROR", True, "2001:db8::30", False),
    "www-a": Case("www.corp.lab.", "A", "NOERROR", True, "192.0.2.31", False),
    "www-aaaa": Case("www.corp.lab.", "AAAA", "NOERROR", True, "2001:db8::31", False),
    "nxdomain": Case("nx.corp.lab.", "A", "NXDOMAIN", True, None, True),
    "nodata": Case("www.corp.lab.", "TXT", "NOERROR", True, None, True),
    "ent-nodata": Case("ent.corp.lab.", "A", "NOERROR", True, None, True),
    "wildcard": Case("host.wild.corp.lab.", "A", "NOERROR", True, "192.0.2.32", True),
    "wildcard-nodata": Case("host.wild.corp.lab.", "AAAA", "NOERROR", True, None, True),
    "secure-delegation": Case("www.sec.corp.lab.", "A", "NOERROR", True, "192.0.2.40", False),
    "secure-delegation-nxdomain": Case("nx.sec.corp.lab.", "A", "NXDOMAIN", True, None, False),
    "insecure-delegation": Case("www.unsec.corp.lab.", "A", "NOERROR", False, "192.0.2.60", True),
    # Controls on Knot alone: an insecure delegation in lab., and a DS that matches no key (bogus).
    "insecure-lab": Case("www.insecure.lab.", "A", "NOERROR", False, "192.0.2.50", False),
    "bogus-lab": Case("www.bogus.lab.", "A", "SERVFAIL", False, None, False),
}


corp = L.corp_fixture((s, v) for s in SERVERS for v in L.VARIANTS)


@pytest.mark.parametrize("resolver", L.RESOLVERS)
@pytest.mark.parametrize("case", CASES)
def test_resolver_validates(corp, resolver, case):
    c = CASES[case]
    a = corp.lab.resolve(resolver, c.name, c.rdtype)
    assert (a.rcode, a.ad) == (c.rcode, c.ad), "%s %s via %s: %s" % (c.name, c.rdtype, resolver, a)
    if c.answer is None:
        assert a.answer == [], str(a)
    else:
        assert len(a.answer) == 1 and a.answer[0].split()[-1] == c.answer, str(a)


@pytest.mark.parametrize("resolver", L.RESOLVERS)
@pytest.mark.parametrize("name, rdtype, verdict", [
    ("www.corp.lab.", "A", "; fully validated"),
    ("host.wild.corp.lab.", "A", "; fully validated"),
    ("nx.corp.lab.", "A", "; negative response, fully validated"),
    ("www.unsec.corp.lab.", "A", "; unsigned answer"),
    ("www.bogus.lab.", "A", ";; resolution failed"),  # the resolver's SERVFAIL (delv sets no CD)
], ids=["positive", "wildcard", "nxdomain", "insecure", "bogus"])
def test_delv_validates_from_the_lab_root(corp, resolver, name, rdtype, verdict):
    """delv checks the chain itself from the lab's root anchor, with the resolver only fetching."""
    out = L.delv(corp.lab, resolver, name, rdtype)
    assert out.splitlines()[0].startswith(verdict), out


def check_verifiers(lab, addr, zone, owner, d):  # noqa: F811 (the fixture's value)
    """The three verifiers accept the zone as addr transfers it, and each rejects it with owner's A
    record changed (its RRSIG then no longer matches)."""
    text, results = L.verify_served_zone(lab, addr, zone, os.path.join(d, "axfr.zone"))
    for tool, (rc, out) in results.items():
        assert rc == 0, "%s rejects %s as transferred:\n%s" % (tool, zone, out)
    bad = os.path.join(d, "tampered.zone")
    with open(bad, "w") as f:
        f.write(L.tamper(text, owner, "A", "192.0.2.254"))
    for tool, (rc, out) in L.verify_zone_file(bad, zone).items():
        assert rc != 0, "%s accepts %s with a changed record:\n%s" % (tool, zone, out)


def test_corp_zone_by_axfr_verifies(corp, tmp_path):
    check_verifiers(corp.lab, L.CORP_ADDR, "corp.lab.", "www.corp.lab.", str(tmp_path))


@pytest.mark.parametrize("zone, addr, owner", [
    (".", L.ROOT_ADDR, "ns.root."),
    ("lab.", L.LAB_ADDR, "www.lab."),
    ("sec.corp.lab.", L.SEC_ADDR, "www.sec.corp.lab."),
], ids=["root", "lab", "sec"])
def test_knot_zones_by_axfr_verify(lab, tmp_path, zone, addr, owner):  # noqa: F811 (the fixture)
    check_verifiers(lab, addr, zone, owner, str(tmp_path))


# The variants the DS change test runs with: it takes two cache caps, and the change is the lab's
# (knot-lab), so once per server suffices. (Not by indirect parametrization: pytest would then set
# those variants up a second time.)
DS_CHANGE_VARIANTS = (("knot", "nsec-ecdsa"), ("ternd", "nsec3-ed25519"))


def test_registrar_ds_change_seen_within_the_cache_cap(corp):
    """The registrar's DS changes reach every resolver within the cache cap: with corp.lab.'s DS
    removed from lab. its answers turn insecure (NOERROR without AD), with the DS back secure
    again, and the poller then sees nothing else. (A DS matching no key is not used here: named
    keeps a bogus verdict ~30 s and Unbound ~60 s whatever their caps; see bogus-lab for bogus.)
    It leaves lab. as it found it, every resolver answering with AD again."""
    if (corp.server, corp.variant) not in DS_CHANGE_VARIANTS:
        pytest.skip("the DS change runs with %s only" % ", ".join("-".join(v) for v in DS_CHANGE_VARIANTS))
    cap = L.CACHE_TTL
    corp.lab.set_ds(corp.lab.lab_knot, "corp.lab.", [])
    try:
        took = L.wait_answers(corp.lab, "www.corp.lab.", "A", lambda a: (a.rcode, a.ad) == ("NOERROR", False),
                              timeout=4 * cap)
        assert took <= 2 * cap + 1, "DS removal seen after %.1f s" % took
    finally:
        corp.lab.set_ds(corp.lab.lab_knot, "corp.lab.", corp.ds)
    took = L.wait_answers(corp.lab, "www.corp.lab.", "A", lambda a: (a.rcode, a.ad) == ("NOERROR", True),
                          timeout=4 * cap)
    assert took <= 2 * cap + 1, "DS seen after %.1f s" % took
    counts = corp.lab.poll([("www.corp.lab.", "A"), ("corp.lab.", "AAAA")], seconds=2, interval=0.5)
    assert {r: set(c) for r, c in counts.items()} == {r: {("NOERROR", True)} for r in L.RESOLVERS}, counts
    assert all(sum(c.values()) >= 4 for c in counts.values()), counts
