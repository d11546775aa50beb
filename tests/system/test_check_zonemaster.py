"""Zonemaster and DNSViz against tern check (issue 22) on test_check.py's lab: every ERROR (and
CRITICAL) that `zonemaster-cli ZONE --hints FILE` (offline, the lab's root hints, no IPv6) reports on
corp.lab. and on the broken-zone fixtures must be among tern check domain's findings, by the mapping
below; a Zonemaster test case without a mapping fails the test (the answer is a new check in the
engine, as too_few_ns and ns_shared_addr were). The same for the errors (E:) of `dnsviz probe -A`
from the lab's root, then `dnsviz print` (`grok` is broken on bookworm with pygraphviz 1.7).
bench/check imports zonemaster_errors() and covered()."""
import json
import os
import re

import pytest

from test_check import ROOT_ADDR, TERN, check_lab

ZONEMASTER = "/usr/bin/zonemaster-cli"
DNSVIZ = "/usr/bin/dnsviz"

# Zonemaster's message tags (by test case) -> the tern finding codes any of which covers them.
# ADDRESS01 NAMESERVER_IP_PRIVATE_NETWORK is left out: the lab's servers are in 198.18.0.0/15, the
# benchmarking range (RFC 2544), which Zonemaster flags for every name server.
MAPPING = [
    (r"BASIC02:(NS_FAILED|B02_NS_BROKEN|B02_NO_WORKING_NS|B02_NS_NOT_AUTHORITATIVE|B02_UNEXPECTED_RCODE)",
     {"lame_ns"}),
    (r"BASIC01:.*", {"not_delegated"}),
    (r"DELEGATION01:NOT_ENOUGH_(IPV4_|IPV6_)?NS_(DEL|CHILD)", {"too_few_ns"}),
    (r"DELEGATION02:(DEL_NS_SAME_IP|CHILD_NS_SAME_IP|SAME_IP_ADDRESS|DEL_DISTINCT_NS_IP|CHILD_DISTINCT_NS_IP)",
     {"ns_shared_addr"}),
    (r"DELEGATION03:.*", {"lame_ns"}),  # a referral that does not fit in UDP: servers cannot be reached
    (r"DELEGATION04:.*", {"lame_ns"}),
    (r"DELEGATION05:.*", {"cname_at_apex"}),  # NS pointing to a CNAME
    (r"CONSISTENCY05:(IN_BAILIWICK_ADDR_MISMATCH|EXTRA_ADDRESS_CHILD|OUT_OF_BAILIWICK_ADDR_MISMATCH)",
     {"glue_mismatch"}),
    (r"NAMESERVER0[1-9]:.*|NAMESERVER1[0-5]:.*", {"lame_ns"}),
    (r"DNSSEC02:DS02_.*", {"ds_mismatch", "rrsig_invalid"}),  # DS -> DNSKEY, its signature checked too
    (r"DNSSEC0[3-5]:.*|DNSSEC0[89]:.*|DNSSEC1[0-3]:.*", {"rrsig_invalid", "ds_mismatch"}),
    (r"ZONE0?1:.*|ZONE0?9:.*", set()),  # never ERROR in the default profile; a mapping says so
    (r"SYNTAX0[1-8]:.*", {"not_delegated"}),  # an invalid name cannot be asked at all
    (r"UNSPECIFIED:CANNOT_CONTINUE", {"lame_ns", "not_delegated"}),
]
IGNORED = {"ADDRESS01:NAMESERVER_IP_PRIVATE_NETWORK"}

# corp.lab. and the fixtures Zonemaster can judge (slow.lab. takes it 15 s: left to test_check.py)
ZONES = ["corp.lab", "clean.lab", "lame.lab", "mismatch.lab", "badglue.lab", "apexcname.lab", "highttl.lab",
         "badds.lab", "nods.lab", "expiring.lab", "expired.lab", "tampered.lab", "single.lab", "shared.lab",
         "inparent.lab"]


def zonemaster_errors(lab, zone):
    """Zonemaster's ERROR and CRITICAL messages on zone, as "TESTCASE:TAG" strings (sorted, unique),
    and its wall time in seconds. Raises when it did not run to the end."""
    import time
    argv = [ZONEMASTER, zone, "--hints", os.path.join(lab.dir, "root.hints"), "--no-ipv6", "--raw",
            "--show-testcase", "--level", "ERROR", "--json-stream", "--no-progress"]
    t0 = time.monotonic()
    r = lab.ns.run(argv, check=False, timeout=300)
    seconds = time.monotonic() - t0
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    found = set()
    for line in r.stdout.splitlines():
        m = json.loads(line)
        if m.get("level") in ("ERROR", "CRITICAL"):
            found.add("%s:%s" % (m.get("testcase", m.get("module")), m["tag"]))
    return sorted(found - IGNORED), seconds


def covered(zm_errors, tern_codes, mapping=None):
    """The Zonemaster (or DNSViz) messages not covered by tern's findings (empty when they are a
    subset); a message without a mapping is returned with the reason."""
    missing = []
    for e in zm_errors:
        codes = [c for pat, c in (mapping or MAPPING) if re.fullmatch(pat, e)]
        if not codes:
            missing.append(e + " (no mapping: tern has no check for it)")
        elif not codes[0] & set(tern_codes):
            missing.append("%s (wants one of %s)" % (e, sorted(codes[0])))
    return missing


# DNSViz's error codes (dnsviz print's "E:" lines) -> the tern codes any of which covers them.
# NO_TRUST_ANCHOR_SIGNING is left out: DNSViz is given no trust anchor (the lab's root is unsigned).
DNSVIZ_MAPPING = [
    (r"SERVER_(INVALID_RESPONSE|UNRESPONSIVE)_(UDP|TCP)|NOT_AUTHORITATIVE|INVALID_RCODE|NO_NS_IN_RESPONSE"
     r"|UPWARD_REFERRAL|SERVER_NOT_AUTHORITATIVE", {"lame_ns"}),
    (r"NO_SEP|DIGEST_INVALID|NO_SEP_FOR_ALGORITHM|DS_.*", {"ds_mismatch", "rrsig_invalid"}),
    (r"EXPIRATION_IN_PAST|INCEPTION_IN_FUTURE|SIGNATURE_INVALID|MISSING_RRSIG.*|RRSIG_.*|DNSKEY_.*",
     {"rrsig_invalid"}),
    (r"GLUE_.*|MISSING_NS_.*|NS_NAME_.*|NS_MISMATCH.*", {"glue_mismatch", "ns_mismatch", "lame_ns"}),
    (r"CNAME_.*", {"cname_at_apex", "cname_beside_data"}),
]
DNSVIZ_IGNORED = {"NO_TRUST_ANCHOR_SIGNING"}


def dnsviz_errors(lab, zone):
    """DNSViz's error codes on zone: a probe from the lab's root (authoritative, IPv4), then print."""
    out = os.path.join(lab.dir, "dnsviz-%s.json" % zone)
    r = lab.ns.run([DNSVIZ, "probe", "-A", "-4", "-x", ".:ns.root=%s" % ROOT_ADDR, "-a", ".", "-o", out, zone],
                   check=False, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    r = lab.ns.run([DNSVIZ, "print", "-r", out], check=False, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return sorted(set(re.findall(r"^\s+E:([A-Z0-9_]+)", r.stdout, re.M)) - DNSVIZ_IGNORED)


def tern_codes(lab, zone):
    r = lab.ns.run([TERN, "check", "domain", zone, "--no-whois", "--hints", os.path.join(lab.dir, "root.hints"),
                    "--json"], check=False, timeout=120)
    assert r.stdout.strip(), r.stderr
    report = json.loads(r.stdout)
    return sorted({f["code"] for f in report["findings"]}), report


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not os.access(ZONEMASTER, os.X_OK):
        pytest.fail("zonemaster-cli missing (make deps)")
    with check_lab(tmp_path_factory.mktemp("zmlab")) as lab:
        yield lab


@pytest.mark.parametrize("zone", ZONES)
def test_zonemaster_errors_subset(lab, zone):
    errors, _ = zonemaster_errors(lab, zone)
    codes, report = tern_codes(lab, zone)
    assert covered(errors, codes) == [], (errors, report["findings"])
    if zone in ("clean.lab", "inparent.lab", "corp.lab"):
        assert errors == [], errors  # the fixtures are clean by Zonemaster's rules too, but for their fault


def test_zonemaster_sees_the_faults(lab):
    """The comparison is not empty: Zonemaster flags these fixtures, and tern covers each."""
    seen = {}
    for zone in ("lame.lab", "single.lab", "shared.lab", "badds.lab", "expired.lab", "badglue.lab"):
        seen[zone], _ = zonemaster_errors(lab, zone)
    assert "BASIC02:NS_FAILED" in seen["lame.lab"]
    assert "DELEGATION01:NOT_ENOUGH_NS_DEL" in seen["single.lab"]
    assert "DELEGATION02:CHILD_NS_SAME_IP" in seen["shared.lab"]
    assert any(e.startswith("DNSSEC02:") for e in seen["badds.lab"])
    assert "DNSSEC04:RRSIG_EXPIRED" in seen["expired.lab"]
    assert "CONSISTENCY05:IN_BAILIWICK_ADDR_MISMATCH" in seen["badglue.lab"]


@pytest.mark.parametrize("zone", ZONES)
def test_dnsviz_errors_subset(lab, zone):
    errors = dnsviz_errors(lab, zone)
    codes, report = tern_codes(lab, zone)
    assert covered(errors, codes, DNSVIZ_MAPPING) == [], (errors, report["findings"])
    if zone in ("clean.lab", "inparent.lab", "corp.lab"):
        assert errors == [], errors


def test_dnsviz_sees_the_faults(lab):
    assert "SERVER_INVALID_RESPONSE_UDP" in dnsviz_errors(lab, "lame.lab")
    assert "DIGEST_INVALID" in dnsviz_errors(lab, "badds.lab")
    assert "EXPIRATION_IN_PAST" in dnsviz_errors(lab, "expired.lab")
    assert "SIGNATURE_INVALID" in dnsviz_errors(lab, "tampered.lab")


def test_mapping_refuses_unknown():
    assert covered(["FOO01:BAR"], ["lame_ns"]) == ["FOO01:BAR (no mapping: tern has no check for it)"]
    assert covered(["BASIC02:NS_FAILED"], ["serial_lag"]) == ["BASIC02:NS_FAILED (wants one of ['lame_ns'])"]
    assert covered(["BASIC02:NS_FAILED"], ["lame_ns", "serial_lag"]) == []
