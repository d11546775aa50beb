"""In-tree hints (issue 27, draft-kolkman-dns-in-tree-hints) on the DNSSEC lab (dnsseclab.py): Knot serves a
signed root and lab.; a second Knot (HINTS_ADDR) serves the rule fixtures, one zone per rule breaking
exactly that rule and one passing all, delegated from lab. (NS, glue, DS) by knotc; ternd serves corp.lab.
signed online in RFC 5011 mode with its `_in-tree` TXT. `tern hints check` and `tern hints unbound` run
inside the namespace with the lab's root hints. Then corp.lab.'s delegation is taken out of lab. (NS, DS
and glue; Knot re-signs, so lab. answers a signed NXDOMAIN) and three Unbounds, their caches flushed by
unbound-control, are asked: the plain one says NXDOMAIN with AD, the one with the generated stub-zone and
auto-trust-anchor-file says NOERROR with AD and the right address, the stub without the anchor SERVFAIL."""
import base64
import json
import os
import shutil
import time

import dns.name
import dns.rdata
import dns.rrset
import pytest

import dnsseclab as L
import rolllab as R
from apilib import keys  # noqa: F401 (fixture)
from dnsseclab import IP, KNOTD, Lab, run, start_parents

TERN = os.path.join(os.path.dirname(L.TERND), "tern")
UNBOUND_CONTROL = "/usr/sbin/unbound-control"
HINTS_ADDR = "198.18.12.1"  # the Knot of the rule fixtures
DEAD_ADDR = "198.18.12.9"  # nothing listens there: itdead.lab.'s only server
DEEP_ADDR = "198.18.12.2"  # a second Knot: itdeep.lab. alone (its child sub.itdeep.lab. is on the first)
FORGE_ADDR = "198.18.12.3"  # check_standins.py's server of itforge.lab. (signed here, one signature forged)
STANDINS = os.path.join(os.path.dirname(__file__), "check_standins.py")
L.MORE_RESOLVERS.setdefault("unbound-plain", "198.18.12.101")  # one more Unbound, asked by name
HOLDDOWN = ["add-holddown: 30", "del-holddown: 30", "keep-missing: 60", "permit-small-holddown: yes"]


def stamp(days):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + days * 86400))


def fixture(origin, txt=('"%s"' % stamp(200),), ns=None, extra=""):
    """A zone on HINTS_ADDR: its NS (ns.<origin> by default, in-zone with an address), www, and one
    _in-tree TXT line per item of txt (RDATA as written)."""
    ns = ns or ["ns." + origin]
    text = "$ORIGIN %s\n$TTL 60\n@ SOA %s hostmaster 1 1800 900 604800 60\n" % (origin, ns[0])
    for n in ns:
        text += "@ NS %s\n" % n
        if n.endswith("." + origin) and n.count(".") == origin.count(".") + 1:
            text += "%s A %s\n" % (n, HINTS_ADDR)
    text += "www A 192.0.2.21\n" + "".join("_in-tree TXT %s\n" % t for t in txt) + extra
    return text


# zone -> (text, Knot template, the parent's NS names, {rule: status} expected, exit status)
PASS = {"txt": "pass", "in-bailiwick": "pass", "dnssec": "pass", "consistency": "pass"}
FIXTURES = {
    "itgood.lab.": (fixture("itgood.lab."), "signed", None, {}, 0),
    "itnotxt.lab.": (fixture("itnotxt.lab.", txt=()), "signed", None, {"txt": "fail"}, 2),
    "itmonth.lab.": (fixture("itmonth.lab.", txt=('"2027-13-01"',)), "signed", None, {"txt": "fail"}, 2),
    "itnotz.lab.": (fixture("itnotz.lab.", txt=('"2027-01-01T00:00:00"',)), "signed", None, {"txt": "fail"}, 2),
    "itstrings.lab.": (fixture("itstrings.lab.", txt=('"%s" "x"' % stamp(200),)), "signed", None, {"txt": "fail"}, 2),
    "itmulti.lab.": (fixture("itmulti.lab.", txt=('"%s"' % stamp(200), '"%s"' % stamp(100))), "signed", None,
                     {"txt": "fail"}, 2),
    "itexpired.lab.": (fixture("itexpired.lab.", txt=('"%s"' % stamp(-10),)), "signed", None, {"txt": "warn"}, 1),
    "itold.lab.": (fixture("itold.lab.", txt=('"%s"' % stamp(-60),)), "signed", None, {"txt": "fail"}, 2),
    "itfar.lab.": (fixture("itfar.lab.", txt=('"%s"' % stamp(5 * 365),)), "signed", None, {"txt": "warn"}, 1),
    # its only name server lies in lab., not in the domain
    "itout.lab.": (fixture("itout.lab.", ns=["hostns.lab."]), "signed", ["hostns.lab."], {"in-bailiwick": "fail"}, 2),
    # its name server lies in a delegated child whose own name server lies outside it
    "itdeep.lab.": (fixture("itdeep.lab.", ns=["ns.sub.itdeep.lab."],
                            extra="sub NS hostns.lab.\nns.sub A %s\n" % DEEP_ADDR), "signed",
                    ["ns.sub.itdeep.lab."], {"in-bailiwick": "fail"}, 2),
    # the same with an in-domain name server in the child: passes
    "itdeepok.lab.": (fixture("itdeepok.lab.", ns=["ns.sub.itdeepok.lab."],
                              extra="sub NS ns.sub\nns.sub A %s\n" % HINTS_ADDR), "signed",
                      ["ns.sub.itdeepok.lab."], {}, 0),
    "itunsigned.lab.": (fixture("itunsigned.lab."), "default", None, {"dnssec": "fail"}, 2),
    # signed with RSASHA256 4,096-bit KSK and ZSK (DNSKEY text ~700 characters): passes
    "itrsa4096.lab.": (fixture("itrsa4096.lab."), "signed-rsa4096", None, {}, 0),
    # the parent lists a second name server the zone does not
    "itmismatch.lab.": (fixture("itmismatch.lab."), "signed", ["ns.itmismatch.lab.", "ns2.itmismatch.lab."],
                        {"consistency": "warn"}, 1),
}
CHILDREN = {  # zones below fixtures, on the same Knot (unsigned: insecure delegations)
    "sub.itdeep.lab.": "$ORIGIN sub.itdeep.lab.\n$TTL 60\n@ SOA ns hostmaster 1 1800 900 604800 60\n"
                       "@ NS hostns.lab.\nwww A 192.0.2.22\n",
    "sub.itdeepok.lab.": "$ORIGIN sub.itdeepok.lab.\n$TTL 60\n@ SOA ns hostmaster 1 1800 900 604800 60\n"
                         "@ NS ns\nns A %s\nwww A 192.0.2.23\n" % HINTS_ADDR,
}


# The chain of trust to the parent's DS (on HINTS_ADDR, each with a signed child kid.<zone> on DEEP_ADDR
# whose DS it holds): itstale.lab.'s DS in lab. names a key it does not have (a stale DS: lab. signs it
# validly, but the chain breaks at itstale.lab.'s DNSKEY set); itinsec.lab. is unsigned with no DS in
# lab. (an insecure parent: its DS for the kid cannot be trusted).
CHAIN = {"itstale.lab.": "signed", "itinsec.lab.": "default"}


def forged_parent(kid_ds):
    """itforge.lab. for check_standins.py: its KSK's DNSKEY set validly self-signed, a delegation to
    kid.itforge.lab. (on DEEP_ADDR) with the kid's real DS, whose RRSIG is made by a key outside the
    chain and carries the KSK's key tag (a forged signature); and the DS lab. must hold for it."""
    import dns.dnssec
    from cryptography.hazmat.primitives.asymmetric import ec
    origin, kid = dns.name.from_text("itforge.lab."), dns.name.from_text("kid.itforge.lab.")
    priv, rogue = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ksk = dns.dnssec.make_dnskey(priv.public_key(), 13, flags=257)
    rogue_key = dns.dnssec.make_dnskey(rogue.public_key(), 13, flags=257)
    now = int(time.time())

    def sign(rrset, key, dnskey):
        return dns.dnssec.sign(rrset, key, origin, dnskey, inception=now - 3600, expiration=now + 86400)

    keys = dns.rrset.from_rdata(origin, 60, ksk)
    ds = dns.rrset.from_text_list(kid, 60, "IN", "DS", kid_ds)
    forged = sign(ds, rogue, rogue_key).replace(key_tag=dns.dnssec.key_id(ksk))
    records = [["itforge.lab.", 60, "SOA", "ns.itforge.lab. hostmaster.itforge.lab. 1 1800 900 604800 60"],
               ["itforge.lab.", 60, "NS", "ns.itforge.lab."], ["ns.itforge.lab.", 60, "A", FORGE_ADDR],
               ["itforge.lab.", 60, "DNSKEY", ksk.to_text()],
               ["itforge.lab.", 60, "RRSIG", sign(keys, priv, ksk).to_text()],
               ["kid.itforge.lab.", 60, "NS", "ns.kid.itforge.lab."], ["ns.kid.itforge.lab.", 60, "A", DEEP_ADDR],
               ["kid.itforge.lab.", 60, "RRSIG", forged.to_text()]]
    records += [["kid.itforge.lab.", 60, "DS", d] for d in kid_ds]
    return {"itforge.lab.": records}, dns.dnssec.make_ds(origin, ksk, "SHA256").to_text()


# ithuge.lab. (check_standins.py on FORGE_ADDR, its DS in lab.): its only DNSKEY has a 1,100-octet key
# field, longer than any key Tern verifies (its text is over CHECK_RR_TEXT): it arrives cut. Its child
# kid.ithuge.lab. (on DEEP_ADDR, its DS in ithuge.lab.) has a chain that goes through that key.
HUGE_KEY = "257 3 8 " + base64.b64encode(b"\x03\x01\x00\x01\xc5" + bytes((i * 7 + 1) % 256 for i in range(1095))).decode()


def huge_parent(kid_ds):
    """ithuge.lab. for check_standins.py, and the DS lab. must hold for it."""
    import dns.dnssec
    records = [["ithuge.lab.", 60, "SOA", "ns.ithuge.lab. hostmaster.ithuge.lab. 1 1800 900 604800 60"],
               ["ithuge.lab.", 60, "NS", "ns.ithuge.lab."], ["ns.ithuge.lab.", 60, "A", FORGE_ADDR],
               ["ithuge.lab.", 60, "DNSKEY", HUGE_KEY],
               ["kid.ithuge.lab.", 60, "NS", "ns.kid.ithuge.lab."], ["ns.kid.ithuge.lab.", 60, "A", DEEP_ADDR]]
    records += [["kid.ithuge.lab.", 60, "DS", d] for d in kid_ds]
    key = dns.rdata.from_text("IN", "DNSKEY", HUGE_KEY)
    return {"ithuge.lab.": records}, dns.dnssec.make_ds("ithuge.lab.", key, "SHA256").to_text()


def chain_parent(zone):
    return fixture(zone, txt=()) + "kid NS ns.kid\nns.kid A %s\n" % DEEP_ADDR


def chain_kid(zone):
    return fixture("kid." + zone).replace(HINTS_ADDR, DEEP_ADDR)


def server(zone):
    return DEEP_ADDR if zone == "itdeep.lab." else HINTS_ADDR


def knotc_lab(lab, sets, unsets=()):
    """One transaction on lab.: zone-unset each (owner, type), zone-set each (owner, ttl, type, rdata)."""
    k = lab.lab_knot
    k.knotc("zone-begin", "lab.")
    try:
        for owner, rtype in unsets:
            k.knotc("zone-unset", "lab.", owner, rtype)
        for owner, ttl, rtype, rdata in sets:
            k.knotc("zone-set", "lab.", owner, str(ttl), rtype, *rdata.split())
        k.knotc("zone-commit", "lab.")
    except Exception:
        run([L.KNOTC, "-c", k.config, "zone-abort", "lab."], check=False)
        raise


def wait_for(fn, what, timeout=30.0):
    deadline = time.time() + timeout
    while not fn():
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.2)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("hintslab"))
    try:
        for addr in (HINTS_ADDR, DEEP_ADDR, FORGE_ADDR, L.MORE_RESOLVERS["unbound-plain"]):
            lab.ns.run([IP, "addr", "add", addr + "/32", "dev", "lo"])
        start_parents(lab)
        d = os.path.join(lab.dir, "knot-hints")
        zones = {z: (t[0], t[1]) for z, t in FIXTURES.items() if z != "itdeep.lab."}
        zones.update({z: (t, "default") for z, t in CHILDREN.items()})
        zones.update({z: (chain_parent(z), t) for z, t in CHAIN.items()})
        lab.hints_knot = L.Knot(lab, "knot-hints", [HINTS_ADDR], zones)
        deep = {"itdeep.lab.": FIXTURES["itdeep.lab."][:2]}
        deep.update({"kid." + z: (chain_kid(z), "signed") for z in list(CHAIN) + ["itforge.lab.", "ithuge.lab."]})
        L.Knot(lab, "knot-deep", [DEEP_ADDR], deep)
        signed = [z for z, t in FIXTURES.items() if t[1].startswith("signed")]
        wait_for(lambda: all(lab.rrset(server(z), z, "DNSKEY") is not None for z in signed), "signed fixtures")
        kids = ["kid." + z for z in list(CHAIN) + ["itforge.lab.", "ithuge.lab."]]
        wait_for(lambda: all(lab.rrset(DEEP_ADDR, k, "DNSKEY") is not None for k in kids)
                 and lab.rrset(HINTS_ADDR, "itstale.lab.", "DNSKEY") is not None, "signed chain fixtures")
        for z in CHAIN:
            lab.set_ds(lab.hints_knot, "kid." + z, lab.child_ds(DEEP_ADDR, "kid." + z))
        forge_zones, forge_ds = forged_parent(lab.child_ds(DEEP_ADDR, "kid.itforge.lab."))
        huge_zones, huge_ds = huge_parent(lab.child_ds(DEEP_ADDR, "kid.ithuge.lab."))
        with open(os.path.join(lab.dir, "forge.json"), "w") as f:
            json.dump(dict(forge_zones, **huge_zones), f)
        lab.spawn("standin-forge", ["/usr/bin/python3", STANDINS, "dns", FORGE_ADDR,
                                    os.path.join(lab.dir, "forge.json")], os.path.join(lab.dir, "forge.log"))
        sets = [("hostns", 60, "A", HINTS_ADDR)]
        for z, (_, template, parent_ns, _, _) in FIXTURES.items():
            label = z[:-len(".lab.")]
            for n in parent_ns or ["ns." + z]:
                sets.append((label, 60, "NS", n))
                if n.endswith(z):
                    sets.append((n[:-len(".lab.")], 60, "A", server(z)))
            if template.startswith("signed"):
                sets += [(label, 60, "DS", ds) for ds in lab.child_ds(server(z), z)]
        sets += [("itdead", 60, "NS", "ns.itdead.lab."), ("ns.itdead", 60, "A", DEAD_ADDR)]
        for z in CHAIN:
            sets += [(z[:-len(".lab.")], 60, "NS", "ns." + z), ("ns." + z[:-len(".lab.")], 60, "A", HINTS_ADDR)]
        # a DS naming itgood.lab.'s key under itstale.lab.'s name: no key of itstale.lab. matches it
        sets += [("itstale", 60, "DS", ds) for ds in L.ds_of(lab.rrset(HINTS_ADDR, "itgood.lab.", "DNSKEY"),
                                                             "itstale.lab.")]
        sets += [("itforge", 60, "NS", "ns.itforge.lab."), ("ns.itforge", 60, "A", FORGE_ADDR),
                 ("itforge", 60, "DS", forge_ds)]
        sets += [("ithuge", 60, "NS", "ns.ithuge.lab."), ("ns.ithuge", 60, "A", FORGE_ADDR), ("ithuge", 60, "DS", huge_ds)]
        knotc_lab(lab, sets)
        wait_for(lambda: lab.rrset(L.LAB_ADDR, "itmismatch.lab.", "DS") is not None, "lab. delegating the fixtures")
        yield lab
        dead = lab.dead()
        assert not dead, "lab processes died: %s" % dead
    finally:
        lab.close()


def hints(lab, *args, json_out=True):
    """tern hints ARGS inside the namespace with the lab's root hints: (exit, JSON report or text, stderr)."""
    argv = [TERN, "hints"] + list(args) + ["--hints", os.path.join(lab.dir, "root.hints")]
    if "--root-anchor" not in args:
        argv += ["--root-anchor", os.path.join(lab.dir, "root.ds")]
    if json_out:
        argv.append("--json")
    r = lab.ns.run(argv, check=False, timeout=120)
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    if not json_out or not r.stdout.startswith("{"):
        return r.returncode, r.stdout, r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


def statuses(report):
    return {rule["name"]: rule["status"] for rule in report["rules"]}


@pytest.mark.parametrize("zone", list(FIXTURES))
def test_rule_fixture(lab, zone):
    _, _, _, broken, exit_status = FIXTURES[zone]
    rc, rep, err = hints(lab, "check", zone)
    assert isinstance(rep, dict), (rc, rep, err)
    assert statuses(rep) == dict(PASS, **broken), json.dumps(rep, indent=1)
    assert rc == exit_status and rep["result"] == ["pass", "warn", "fail"][exit_status], (rc, rep)
    assert [r["name"] for r in rep["rules"]] == ["txt", "in-bailiwick", "dnssec", "consistency"]
    assert all(r["reasons"] for r in rep["rules"]), rep


def reasons(rep, rule):
    return " | ".join(next(r for r in rep["rules"] if r["name"] == rule)["reasons"])


def test_txt_reasons_name_the_fault(lab):
    want = {"itmonth.lab.": "month 13 out of 01-12", "itnotz.lab.": "no time zone",
            "itstrings.lab.": "2 character-strings", "itmulti.lab.": "2 TXT records",
            "itnotxt.lab.": "has no TXT record", "itold.lab.": "revalidation window",
            "itfar.lab.": "days ahead"}
    for zone, text in want.items():
        _, rep, _ = hints(lab, "check", zone)
        assert text in reasons(rep, "txt"), (zone, reasons(rep, "txt"))
    _, rep, _ = hints(lab, "check", "itout.lab.")
    assert "hostns.lab." in reasons(rep, "in-bailiwick"), rep
    _, rep, _ = hints(lab, "check", "itdeep.lab.")
    assert "sub.itdeep.lab." in reasons(rep, "in-bailiwick"), rep
    _, rep, _ = hints(lab, "check", "itmismatch.lab.")
    assert "parent-only name" in reasons(rep, "consistency") and "ns2.itmismatch.lab." in reasons(rep, "consistency")
    _, rep, _ = hints(lab, "check", "itunsigned.lab.")
    assert "unsigned" in reasons(rep, "dnssec"), rep


def test_rsa4096_pinned(lab, tmp_path):
    """itrsa4096.lab.'s KSK and ZSK are 4,096-bit RSA: its DS in lab. validates from the root anchor, the
    DS names the KSK, which signs the DNSKEY set, and the ZSK's signatures over SOA, NS and TXT verify;
    the anchor seed holds the KSK whole (before, record text stopped at 511 characters: both keys
    arrived cut, "not usable")."""
    keys = lab.rrset(HINTS_ADDR, "itrsa4096.lab.", "DNSKEY")
    assert sorted((k.flags, (len(k.key) - 1 - k.key[0]) * 8) for k in keys) == [(256, 4096), (257, 4096)], keys
    rc, rep, err = hints(lab, "check", "itrsa4096.lab.")
    assert rc == 0 and rep["ds_chain"]["state"] == "secure", (rc, rep, err)
    assert "algorithm 8) signs the DNSKEY set" in reasons(rep, "dnssec"), rep
    assert [k["flags"] for k in rep["keys"] if k["pinned"]] == [257], rep
    anchor = str(tmp_path / "itrsa4096.anchor")
    rc, out, err = hints(lab, "unbound", "itrsa4096.lab.", "--anchor-file", anchor, json_out=False)
    assert rc == 0 and "stub-zone:" in out, (rc, out, err)
    with open(anchor) as f:
        seed = [line.split(None, 4) for line in f if not line.startswith(";")]
    ksk = next(k for k in keys if k.flags == 257)
    assert [(s[0], s[3]) for s in seed] == [("itrsa4096.lab.", "DNSKEY")], seed
    assert dns.rdata.from_text("IN", "DNSKEY", seed[0][4]) == ksk, seed


def test_key_too_long(lab):
    """ithuge.lab.'s only DNSKEY is longer than any key Tern verifies: it arrives cut and is said to be
    not verified because too long, never taken for unsigned or bogus; below it, kid.ithuge.lab.'s
    chain goes through that key: ds_chain "unverified", not "bogus"."""
    rc, rep, err = hints(lab, "check", "ithuge.lab.")
    assert rc == 2 and rep["ds_chain"]["state"] == "secure", (rc, rep, err)  # lab.'s DS for it validates
    dnssec, consistency = reasons(rep, "dnssec"), reasons(rep, "consistency")
    assert "a DNSKEY of ithuge.lab. not verified: too long to read (1104 octets" in dnssec, dnssec
    assert "could be read (too long)" in dnssec and "unsigned" not in dnssec, dnssec
    assert "one DNSKEY was not verified: too long to read" in consistency and "bogus" not in consistency, consistency
    rc, rep, err = hints(lab, "check", "kid.ithuge.lab.")
    chain = rep["ds_chain"]
    assert chain["state"] == "unverified" and rc == 2, (rc, rep, err)
    assert chain["why"].startswith("not verified at ithuge.lab.: its DNSKEY ithuge.lab. is too long to read"), chain
    assert "bogus" not in reasons(rep, "dnssec"), rep


def test_unreachable_server(lab):
    """itdead.lab.'s only server does not answer: every rule fails with a reason, the report lists
    what could not be asked, and unbound writes nothing."""
    rc, rep, err = hints(lab, "check", "itdead.lab.", "--query-timeout", "300")
    assert rc == 2 and set(statuses(rep).values()) == {"fail"}, (rc, rep, err)
    assert "198.18.12.9" in reasons(rep, "txt") and rep["failures"], rep
    rc, out, err = hints(lab, "unbound", "itdead.lab.", "--anchor-file", "/nonexistent/x", "--query-timeout", "300",
                         json_out=False)
    assert rc == 2 and not out and "txt:" in err, (rc, out, err)


def test_text_table(lab):
    rc, out, _ = hints(lab, "check", "itmismatch.lab.", json_out=False)
    assert rc == 1, out
    lines = out.splitlines()
    assert lines[1].split() == ["RULE", "STATUS", "REASON"], out
    for rule, status in (("txt", "pass"), ("in-bailiwick", "pass"), ("dnssec", "pass"), ("consistency", "warn")):
        assert any(l.split()[:2] == [rule, status] for l in lines), out
    assert lines[-1] == "result: warn (exit 1)", out


def test_unbound_refuses_failing_domain(lab, tmp_path):
    anchor = str(tmp_path / "itout.anchor")
    rc, out, err = hints(lab, "unbound", "itout.lab.", "--anchor-file", anchor, json_out=False)
    assert rc == 2 and not out and not os.path.exists(anchor), (rc, out, err)
    assert "in-bailiwick:" in err and "--force" in err, err
    # --force says what is broken, but a domain with no in-bailiwick server still gets no configuration
    rc, out, err = hints(lab, "unbound", "itout.lab.", "--anchor-file", anchor, "--force", json_out=False)
    assert "in-bailiwick:" in err and rc == 2 and not os.path.exists(anchor), (rc, out, err)
    # a failing TXT with --force: written, and the failure said
    rc, out, err = hints(lab, "unbound", "itnotz.lab.", "--anchor-file", anchor, "--force", json_out=False)
    assert rc == 0 and "txt: " in err and "no time zone" in err and "stub-zone:" in out, (rc, out, err)
    assert "trust-anchor-file" not in out.replace("auto-trust-anchor-file", ""), out


def unbound_conf(lab, name, extra):
    """start_unbound's clauses: the lab's root anchor, then extra, then remote control on a socket."""
    sock = os.path.join(lab.dir, name + ".ctl")
    ctl = "remote-control:\n    control-enable: yes\n    control-interface: %s\n    control-use-cert: no\n" % sock
    return ['trust-anchor-file: "%s"' % os.path.join(lab.dir, "root.ds")], extra + ctl


def flush(lab, name):
    conf = os.path.join(lab.dir, name, "unbound.conf")
    for args in (["flush_zone", "."], ["flush_infra", "all"], ["flush_bogus"], ["flush_negative"]):
        lab.ns.run([UNBOUND_CONTROL, "-c", conf] + args)


POLICY_5011 = dict(R.POLICY, **{"ksk-lifetime": 0, "zsk-lifetime": 0, "rfc5011": True, "add-holddown": 30,
                                "remove-holddown": 30})


def new_corp(lab, keys, policy):  # noqa: F811
    """rolllab's ternd serving corp.lab. under policy, from an empty data directory (an earlier
    test's ternd left its store there)."""
    shutil.rmtree(os.path.join(lab.dir, "ternd-roll"), ignore_errors=True)
    return R.Corp(lab, keys, policy)


def mark(corp, zone, expires):
    return corp.call("PUT", "/api/v1/zones/%s/in-tree" % zone, {"expires": expires})


def marking_refused(lab, corp):
    """Bad expiries, an unsigned zone, one without RFC 5011, one without an in-bailiwick NS: 400/409,
    each naming why, and no _in-tree TXT published."""
    for expires, why in (("2027-13-01", "month 13"), ("2027-01-01T00:00:00", "no time zone"),
                         ("2027-01-01", "without a time"), (stamp(-1), "in the past")):
        r = mark(corp, "corp.lab.", expires)
        assert r.status == 400 and r.json["error"]["field"] == "expires" and why in r.json["error"]["message"], r
    r = corp.call("PUT", "/api/v1/zones/corp.lab./in-tree", {"expires": stamp(300), "ttl": 5})
    assert r.status == 400 and r.json["error"]["field"] == "ttl", r
    assert corp.call("POST", "/api/v1/zones", {"name": "unsigned.lab.", "rrsets": []}).status == 201
    r = mark(corp, "unsigned.lab.", stamp(300))
    assert r.status == 409 and "not signed" in r.json["error"]["message"], r
    corp.add_zone("no5011.lab.", [], dict(POLICY_5011, rfc5011=False))
    r = mark(corp, "no5011.lab.", stamp(300))
    assert r.status == 409 and "RFC 5011" in r.json["error"]["message"], r
    corp.add_zone("outns.lab.", [], POLICY_5011)  # NS ns1.corp.lab. (the API's nameservers)
    r = mark(corp, "outns.lab.", stamp(300))
    assert r.status == 409 and "in-bailiwick" in r.json["error"]["message"], r
    for z in ("unsigned.lab.", "no5011.lab.", "outns.lab.", "corp.lab."):
        got = corp.call("GET", "/api/v1/zones/%s/in-tree" % z)
        assert got.status == 200 and got.json["marked"] is False, got
        assert lab.rrset(L.CORP_ADDR, "_in-tree." + z, "TXT") is None


def test_delegation_removed(lab, keys, tmp_path):  # noqa: F811
    corp = new_corp(lab, keys, POLICY_5011)
    procs = [corp.proc]
    try:
        marking_refused(lab, corp)
        # marked 30 days ahead: a warning; then 300 days: none; served signed
        r = mark(corp, "corp.lab.", stamp(30))
        assert r.status == 200 and "within 60 days" in r.json["warning"], r
        r = mark(corp, "corp.lab.", stamp(300))
        assert r.status == 200 and "warning" not in r.json and r.json["days_left"] in (299, 300), r
        got = corp.call("GET", "/api/v1/zones/corp.lab./in-tree")
        assert got.status == 200 and got.json["marked"] and got.json["expires"] == r.json["expires"], got
        wait_for(lambda: lab.rrset(L.CORP_ADDR, "_in-tree.corp.lab.", "TXT") is not None, "the _in-tree TXT")
        served = lab.query(L.CORP_ADDR, "_in-tree.corp.lab.", "TXT", rd=False)
        assert [rs.to_text().split()[-1] for rs in served.answer if rs.rdtype == 16] == ['"%s"' % r.json["expires"]]
        assert any(rs.rdtype == 46 for rs in served.answer), served  # RRSIG
        lab.register(lab.lab_knot, "corp.lab.", L.CORP_ADDR)
        rc, rep, err = hints(lab, "check", "corp.lab.")
        assert rc == 0 and statuses(rep) == PASS, (rc, json.dumps(rep, indent=1), err)
        (ksk,) = [k for k in rep["keys"] if k["pinned"]]
        assert ksk["flags"] == 257 and ksk["ds_match"], rep
        assert "not judged" in reasons(rep, "dnssec"), rep
        # --journal: the KSK's age from ternd's keys against the add hold-down (30 s)
        published = next(k["timestamps"]["published"] for k in corp.dnssec()["keys"] if k["tag"] == ksk["tag"])
        api = ["--api", "http://127.0.0.1:%d" % R.API_PORT, "--token", keys.token("corp")]
        rc, rep, err = hints(lab, *(api + ["check", "corp.lab.", "--journal"]))
        age = time.time() - published
        assert "KSK %d was published" % ksk["tag"] in reasons(rep, "dnssec"), (rc, rep, err)
        if age < 28:
            assert statuses(rep)["dnssec"] == "warn" and "within the RFC 5011 add hold-down" in reasons(rep, "dnssec")
        elif age > 32:
            assert statuses(rep)["dnssec"] == "pass" and "beyond the RFC 5011 add hold-down" in reasons(rep, "dnssec")
        rc, _, err = hints(lab, "check", "corp.lab.", "--journal", json_out=False)
        assert rc == 2 and "--api and --token" in err, (rc, err)
        anchor, conf = str(tmp_path / "corp.lab.anchor"), str(tmp_path / "corp.conf")
        rc, out, err = hints(lab, "unbound", "corp.lab.", "--anchor-file", anchor, "--out", conf, json_out=False)
        assert rc == 0 and not out, (rc, out, err)
        text = open(conf).read()
        assert 'auto-trust-anchor-file: "%s"' % anchor in text and "stub-prime: yes" in text, text
        assert "stub-addr: %s" % L.CORP_ADDR in text and 'name: "corp.lab."' in text, text
        seed = [l.split() for l in open(anchor) if not l.startswith(";")]
        assert len(seed) == 1 and seed[0][:5] == ["corp.lab.", seed[0][1], "IN", "DNSKEY", "257"], seed
        stub = text[text.index("stub-zone:"):]
        for name, extra, trust in (("unbound-plain", "", []), ("unbound-5011", text, HOLDDOWN),
                                   ("unbound-static", stub, [])):
            t, e = unbound_conf(lab, name, extra)
            procs.append(L.start_unbound(lab, name, t + trust, e))
        names = ("unbound-plain", "unbound-5011", "unbound-static")
        L.wait_answers(lab, "www.corp.lab.", "A", lambda a: a.rcode == "NOERROR" and a.ad, 30, resolvers=names)
        # the delegation goes: NS, DS and glue out of lab.; Knot re-signs (a signed NXDOMAIN)
        knotc_lab(lab, [], [("corp", "NS"), ("corp", "DS"), ("ns1.corp", "A")])
        wait_for(lambda: lab.query(L.LAB_ADDR, "corp.lab.", "SOA", rd=False).rcode() == 3, "lab. saying NXDOMAIN")
        for n in names:
            flush(lab, n)
        want = {"unbound-plain": lambda a: (a.rcode, a.ad) == ("NXDOMAIN", True),
                "unbound-5011": lambda a: (a.rcode, a.ad) == ("NOERROR", True) and any("192.0.2.31" in rs for rs in a.answer),
                "unbound-static": lambda a: a.rcode == "SERVFAIL"}
        for n, ok in want.items():
            L.wait_answers(lab, "www.corp.lab.", "A", ok, 30, resolvers=(n,))
        seen = {n: str(L.resolve(lab, n, "www.corp.lab.")) for n in names}
        print("delegation removed: %s" % seen)
        # without the delegation: check says so (a warning), and pins only with --server and --trust
        rc, rep, _ = hints(lab, "check", "corp.lab.")
        assert rc == 2 and statuses(rep)["consistency"] == "warn" and not rep["delegated"], rep
        assert "NXDOMAIN" in reasons(rep, "consistency"), rep
        rc, rep, _ = hints(lab, "check", "corp.lab.", "--server", L.CORP_ADDR)
        assert statuses(rep) == dict(PASS, dnssec="fail", consistency="warn") and rc == 2, rep
        assert "--trust" in reasons(rep, "dnssec"), rep
        rc, rep, _ = hints(lab, "check", "corp.lab.", "--server", L.CORP_ADDR, "--trust", str(ksk["tag"]))
        assert statuses(rep) == dict(PASS, consistency="warn") and rc == 1, rep
        anchor2 = str(tmp_path / "again.anchor")
        rc, out, err = hints(lab, "unbound", "corp.lab.", "--server", L.CORP_ADDR, "--anchor-file", anchor2,
                             json_out=False)
        assert rc == 2 and not os.path.exists(anchor2), (rc, out, err)
        rc, out, err = hints(lab, "unbound", "corp.lab.", "--server", L.CORP_ADDR, "--trust", str(ksk["tag"]),
                             "--anchor-file", anchor2, json_out=False)
        assert rc == 0 and "stub-addr: %s" % L.CORP_ADDR in out, (rc, out, err)
        # the same key as the first seed, which Unbound (keeping that file by RFC 5011) holds VALID
        seed2 = [l.split() for l in open(anchor2) if not l.startswith(";")]
        assert seed2 == seed, (seed2, seed)
        assert L.read_autotrust(anchor) == [(257, "".join(seed[0][7:]), "VALID")], open(anchor).read()
    finally:
        for p in reversed(procs):
            lab.stop(p)


# corp.lab.'s KSK rolls by RFC 5011 with second-scale timings (as test_dnssec_rfc5011.py), its DS
# check asking lab., which has no delegation for it: the roll must go on by the hold-downs alone
POLICY_ROLL = {"zsk-lifetime": 0, "dnskey-ttl": 10, "max-zone-ttl": 10, "propagation-delay": 2, "ds-ttl": 10,
               "rrsig-lifetime": 90, "rrsig-refresh": 40, "rrsig-jitter": 10, "ksk-lifetime": 75, "rfc5011": True,
               "add-holddown": 30, "remove-holddown": 30, "parents": [L.LAB_ADDR], "ds-check-interval": 2}
ROLL_DEADLINE = 300


def test_rollover_without_delegation(lab, keys, tmp_path):  # noqa: F811
    """The hinted Unbound (generated stub and anchor) keeps answering NOERROR with AD, sampled every
    2 s, while ternd rolls corp.lab.'s KSK with no delegation in lab.: its anchor file shows the new
    key ADDPEND then VALID, the old one REVOKED then gone; the key journal shows the roll done. A
    fourth Unbound with the same stub and the first KSK as a static anchor goes SERVFAIL."""
    corp = new_corp(lab, keys, POLICY_ROLL)
    procs = [corp.proc]
    started = time.time()
    try:
        r = mark(corp, "corp.lab.", stamp(300))
        assert r.status == 200, r
        wait_for(lambda: lab.rrset(L.CORP_ADDR, "_in-tree.corp.lab.", "TXT") is not None, "the _in-tree TXT")
        if lab.query(L.LAB_ADDR, "corp.lab.", "NS", rd=False).rcode() == 3:  # taken out by an earlier test
            knotc_lab(lab, [("corp", 60, "NS", "ns1.corp.lab."), ("ns1.corp", 60, "A", L.CORP_ADDR)])
        lab.register(lab.lab_knot, "corp.lab.", L.CORP_ADDR)
        rc, rep, err = hints(lab, "check", "corp.lab.")
        assert rc == 0, (rc, rep, err)
        (old_tag,) = [k["tag"] for k in rep["keys"] if k["pinned"]]
        anchor, conf = str(tmp_path / "corp.lab.anchor"), str(tmp_path / "corp.conf")
        rc, out, err = hints(lab, "unbound", "corp.lab.", "--anchor-file", anchor, "--out", conf, json_out=False)
        assert rc == 0, (rc, out, err)
        old = "".join(next(l for l in open(anchor) if not l.startswith(";")).split()[7:])
        t, e = unbound_conf(lab, "unbound-5011", open(conf).read())
        procs.append(L.start_unbound(lab, "unbound-5011", t + HOLDDOWN, e))
        # the case the generated configuration never makes: the same stub with the same key as a
        # static trust anchor, which the rollover breaks
        static = str(tmp_path / "static.anchor")
        with open(static, "w") as f:
            f.write("".join(l for l in open(anchor) if not l.startswith(";")))
        text = open(conf).read()
        t, e = unbound_conf(lab, "unbound-static", text[text.index("stub-zone:"):])
        procs.append(L.start_unbound(lab, "unbound-static", t + ['trust-anchor-file: "%s"' % static], e))
        L.wait_answers(lab, "www.corp.lab.", "A", lambda a: a.rcode == "NOERROR" and a.ad, 30,
                       resolvers=("unbound-5011", "unbound-static"))
        knotc_lab(lab, [], [("corp", "NS"), ("corp", "DS"), ("ns1.corp", "A")])
        wait_for(lambda: lab.query(L.LAB_ADDR, "corp.lab.", "SOA", rd=False).rcode() == 3, "lab. saying NXDOMAIN")
        flush(lab, "unbound-5011")
        flush(lab, "unbound-static")
        samples, history, gone, statics = [], {}, {}, []
        while time.time() - started < ROLL_DEADLINE:
            tick = time.time()
            a = L.resolve(lab, "unbound-5011", "www.corp.lab.")
            samples.append((round(tick - started), a.rcode, a.ad, a.answer))
            statics.append((tick, L.resolve(lab, "unbound-static", "www.corp.lab.").rcode))
            listed = {k: s for _, k, s in L.read_autotrust(anchor)}
            for k, s in listed.items():
                if not history.get(k) or history[k][-1] != s:
                    history.setdefault(k, []).append(s)
            for k in history:
                if k not in listed and k not in gone:
                    gone[k] = tick - started
            new = [k for k in history if k != old]
            if new and "VALID" in history[new[0]] and "REVOKED" in history.get(old, []) and old in gone:
                break
            time.sleep(max(0.0, tick + 2.0 - time.time()))
        elapsed = time.time() - started
        context = "\nanchor history %s, gone %s\nternd log:\n%s" % (history, gone, corp.proc.log_text(4000))
        bad = [s for s in samples if (s[1], s[2]) != ("NOERROR", True) or not any("192.0.2.31" in x for x in s[3])]
        assert len(samples) >= 20 and not bad, ("%d of %d samples failed: %s" % (len(bad), len(samples), bad[:3])
                                                + context)
        new = [k for k in history if k != old]  # in the order they appeared
        assert new and history[new[0]][:2] == ["ADDPEND", "VALID"], context
        # the next successor (KSK lifetime 75 s) may already be published: pending, no more
        assert all(history[k] == ["ADDPEND"] for k in new[1:]), context
        assert history[old][0] == "VALID" and "REVOKED" in history[old] and old in gone, context
        assert "proceeds on the RFC 5011 hold-downs alone" in corp.proc.log_text(100000), context
        events = {(e["tag"], e["to"]) for e in corp.journal()}
        assert (old_tag, "revoked") in events and (old_tag, "removed") in events, events
        # the static anchor: good before the old key was revoked, SERVFAIL from a cache cap after
        revoked = next(e["time"] for e in corp.journal() if e["tag"] == old_tag and e["to"] == "revoked")
        before = [r for t, r in statics if t < revoked]
        after = [r for t, r in statics if t > revoked + L.CACHE_TTL + 2]
        assert before and all(r == "NOERROR" for r in before), statics
        assert after and all(r == "SERVFAIL" for r in after), statics
        print("in-tree KSK roll without a delegation: %.0f s, %d samples all NOERROR+AD; anchor %s" % (
            elapsed, len(samples), history))
    finally:
        for p in reversed(procs):
            lab.stop(p)


def log_lines(path, pattern):
    try:
        with open(path) as f:
            return [l for l in f.read().splitlines() if pattern in l]
    except FileNotFoundError:
        return []


def tcp_open(addr, port):
    import socket
    try:
        socket.create_connection((addr, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_watch(lab, keys, tmp_path):  # noqa: F811
    """tern hints watch on corp.lab. (TTLs 10 s): a DS change, a child NS change and the removal of
    the delegation are each printed and published on MQTT (set, and clear when undone or followed)
    within one TTL; the new NS set rewrites the Unbound configuration."""
    corp = new_corp(lab, keys, POLICY_5011)
    procs = [corp.proc]
    try:
        assert mark(corp, "corp.lab.", stamp(300)).status == 200
        if lab.query(L.LAB_ADDR, "corp.lab.", "NS", rd=False).rcode() == 3:
            knotc_lab(lab, [("corp", 60, "NS", "ns1.corp.lab."), ("ns1.corp", 60, "A", L.CORP_ADDR)])
        ds = lab.register(lab.lab_knot, "corp.lab.", L.CORP_ADDR)
        anchor, conf = str(tmp_path / "corp.lab.anchor"), str(tmp_path / "corp.conf")
        rc, out, err = hints(lab, "unbound", "corp.lab.", "--anchor-file", anchor, "--out", conf, json_out=False)
        assert rc == 0, (rc, out, err)
        mconf = tmp_path / "mosquitto.conf"
        mconf.write_text("listener 1883 %s\nallow_anonymous true\npersistence false\n" % HINTS_ADDR)
        procs.append(lab.spawn("mosquitto", ["mosquitto", "-c", str(mconf)], str(tmp_path / "mosquitto.log")))
        wait_for(lambda: lab.ns.call(tcp_open, HINTS_ADDR, 1883), "mosquitto")
        sub_log = str(tmp_path / "sub.log")
        procs.append(lab.spawn("mosquitto_sub", ["mosquitto_sub", "-h", HINTS_ADDR, "-t", "tern/hints/#", "-v"],
                               sub_log))
        watch_log = str(tmp_path / "watch.log")
        procs.append(lab.spawn("tern-watch", [TERN, "hints", "watch", "corp.lab.", "--hints",
                                              os.path.join(lab.dir, "root.hints"), "--root-anchor",
                                              os.path.join(lab.dir, "root.ds"), "--mqtt", HINTS_ADDR + ":1883",
                                              "--conf", conf, "--anchor-file", anchor], watch_log))
        wait_for(lambda: log_lines(watch_log, "baseline"), "the watch's baseline")
        ttl = 10  # the smallest TTL of corp.lab.'s NS and DNSKEY: the watch's poll interval

        def seen(condition, state, since):
            got = log_lines(watch_log, " %s %s " % (condition, state))
            wait_for(lambda: len(log_lines(watch_log, " %s %s " % (condition, state))) > len(got), "%s %s" % (
                condition, state), timeout=ttl * 3)
            return time.time() - since

        delays = {}
        # a DS change at the parent (a second digest of the same key), then undone
        keys_rs = lab.rrset(L.CORP_ADDR, "corp.lab.", "DNSKEY")
        t0 = time.time()
        lab.set_ds(lab.lab_knot, "corp.lab.", ds + L.ds_of(keys_rs, "corp.lab.", "SHA384"))
        delays["ds-changed set"] = seen("ds-changed", "set", t0)
        t0 = time.time()
        lab.set_ds(lab.lab_knot, "corp.lab.", ds)
        delays["ds-changed clear"] = seen("ds-changed", "clear", t0)
        # a second name server in the zone: followed (the configuration rewritten), then clear
        t0 = time.time()
        r = corp.call("PUT", "/api/v1/zones/corp.lab./rrsets/ns2/A", {"ttl": 10, "records": [L.CORP_ADDR]})
        assert r.status == 200, r
        r = corp.call("PUT", "/api/v1/zones/corp.lab./rrsets/@/NS",
                      {"ttl": 10, "records": ["ns1.corp.lab.", "ns2.corp.lab."]})
        assert r.status == 200, r
        delays["ns-changed set"] = seen("ns-changed", "set", t0)
        wait_for(lambda: "# ns2.corp.lab." in open(conf).read(), "the configuration naming ns2")
        # followed at the poll that saw it: the new set is the baseline from the next poll on
        delays["ns-changed clear (after set)"] = seen("ns-changed", "clear", time.time())
        # the delegation taken out of lab.
        t0 = time.time()
        knotc_lab(lab, [], [("corp", "NS"), ("corp", "DS"), ("ns1.corp", "A")])
        delays["delegation-removed set"] = seen("delegation-removed", "set", t0)
        print("watch detection delays (s): %s" % {k: round(v, 1) for k, v in delays.items()})
        for what, d in delays.items():
            assert d <= ttl + 3, (what, d, delays)
        wait_for(lambda: len(log_lines(sub_log, "tern/hints/")) >= 5, "the MQTT messages")
        msgs = [json.loads(l.split(" ", 1)[1]) for l in log_lines(sub_log, "tern/hints/")]
        got = [(m["condition"], m["state"]) for m in msgs]
        for want in (("ds-changed", "set"), ("ds-changed", "clear"), ("ns-changed", "set"), ("ns-changed", "clear"),
                     ("delegation-removed", "set")):
            assert want in got, (want, got)
        assert log_lines(sub_log, "tern/hints/delegation-removed/corp.lab {"), open(sub_log).read()
    finally:
        for p in reversed(procs):
            lab.stop(p)


def test_ds_chain_from_root_anchor(lab, tmp_path):
    """The parent's DS is validated from the root's trust anchor down (root, lab.): with the lab's
    anchor the chain is secure; with another root key (the IANA root's, not this lab's) it breaks at
    the root, the dnssec rule fails naming it, and unbound refuses."""
    rc, rep, err = hints(lab, "check", "itgood.lab.")
    assert rc == 0 and rep["ds_chain"]["state"] == "secure", (rc, rep, err)
    assert ". -> lab." in rep["ds_chain"]["why"] and [k for k in rep["keys"] if k["pinned"]], rep
    wrong = str(tmp_path / "wrong.key")
    with open(wrong, "w") as f:
        f.write(". 172800 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAe"
                "F+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ; not the lab's\n")
    rc, rep, err = hints(lab, "check", "itgood.lab.", "--root-anchor", wrong)
    assert rc == 2 and rep["ds_chain"]["state"] == "bogus", (rc, rep, err)
    assert statuses(rep) == dict(PASS, dnssec="fail"), rep
    assert "DNSKEY set of . " in reasons(rep, "dnssec") and "root trust anchor" in reasons(rep, "dnssec"), rep
    assert not [k for k in rep["keys"] if k["pinned"]], rep
    anchor = str(tmp_path / "itgood.anchor")
    rc, out, err = hints(lab, "unbound", "itgood.lab.", "--root-anchor", wrong, "--anchor-file", anchor,
                         json_out=False)
    assert rc == 2 and not os.path.exists(anchor) and "dnssec: DNSKEY set of . " in err, (rc, out, err)
    # a bad anchor file is a usage error naming the line and field
    with open(wrong, "w") as f:
        f.write("lab. IN DS 1 13 2 00\n")
    rc, out, err = hints(lab, "check", "itgood.lab.", "--root-anchor", wrong, json_out=False)
    assert rc == 2 and "line 1: owner lab." in err, (rc, out, err)


def test_ds_chain_broken_below_the_root(lab):
    """A stale DS in lab. for itstale.lab. (validly signed by lab., but naming no key of itstale.lab.):
    the DS itstale.lab. holds for its kid is not trusted, the dnssec rule names where the chain broke,
    and unbound refuses. Under the unsigned itinsec.lab. the kid's DS is insecure: a warning, and
    only --trust pins."""
    rc, rep, err = hints(lab, "check", "kid.itstale.lab.")
    assert rep["ds_chain"]["state"] == "bogus" and rc == 2, (rc, rep, err)
    assert statuses(rep) == dict(PASS, dnssec="fail"), json.dumps(rep, indent=1)
    why = reasons(rep, "dnssec")
    assert "DNSKEY set of itstale.lab." in why and "the DS lab. holds" in why, why
    assert rep["parent_ds"] and not [k for k in rep["keys"] if k["pinned"]], rep
    rc, out, err = hints(lab, "unbound", "kid.itstale.lab.", "--anchor-file", "/nonexistent/x", json_out=False)
    assert rc == 2 and "dnssec: DNSKEY set of itstale.lab." in err and not out, (rc, out, err)
    # itforge.lab.'s DS for its kid carries a forged RRSIG (its KSK's tag, another key's signature)
    rc, rep, err = hints(lab, "check", "kid.itforge.lab.")
    assert rep["ds_chain"]["state"] == "bogus" and rc == 2, (rc, rep, err)
    assert statuses(rep) == dict(PASS, dnssec="fail"), json.dumps(rep, indent=1)
    why = reasons(rep, "dnssec")
    assert "DS for kid.itforge.lab. from itforge.lab.: the RRSIG over kid.itforge.lab. DS by key" in why, why
    assert "does not verify" in why and "itforge.lab.'s DNSKEY set" in why, why
    rc, out, err = hints(lab, "unbound", "kid.itforge.lab.", "--anchor-file", "/nonexistent/x", json_out=False)
    assert rc == 2 and "dnssec: DS for kid.itforge.lab. from itforge.lab." in err and not out, (rc, out, err)
    rc, rep, err = hints(lab, "check", "kid.itinsec.lab.")
    assert rep["ds_chain"]["state"] == "insecure" and rc == 2, (rc, rep, err)
    assert statuses(rep) == dict(PASS, dnssec="fail"), json.dumps(rep, indent=1)
    why = reasons(rep, "dnssec")
    assert "lab. holds no DS for itinsec.lab." in why and "--trust" in why, why
    (tag,) = [k["tag"] for k in rep["keys"] if k["flags"] == 257]
    rc, rep, err = hints(lab, "check", "kid.itinsec.lab.", "--trust", str(tag))
    assert rc == 1 and statuses(rep) == dict(PASS, dnssec="warn"), (rc, rep, err)
    assert "pinned by --trust instead" in reasons(rep, "dnssec"), rep
    print("chain reasons: %s" % reasons(rep, "dnssec"))


# a KSK roll fast enough for the watch test: the second KSK published about 15 s in, the first revoked
# at about 40 s and removed 15 s later
POLICY_WATCH_ROLL = dict(POLICY_ROLL, **{"dnskey-ttl": 5, "max-zone-ttl": 10, "ds-ttl": 5, "propagation-delay": 1,
                                         "ksk-lifetime": 40, "add-holddown": 15, "remove-holddown": 15})
WATCH_HOLDDOWN = 8  # the watch's own add hold-down


def test_watch_follows_ksk_roll(lab, keys, tmp_path):  # noqa: F811
    """tern hints watch keeps its own anchor by RFC 5011 while ternd rolls corp.lab.'s KSK (no
    delegation in lab., as for hinted resolvers): the new KSK, published under the trusted one for the
    watch's --add-holddown, becomes trusted (anchor-changed set, then clear; the seed and --conf
    rewritten), the old one is dropped when it is published revoked, the DNSKEY set validates at every
    poll (no dnssec-failed), and --state says so; a second watch started from that state trusts the
    new key without a baseline from the DS."""
    corp = new_corp(lab, keys, POLICY_WATCH_ROLL)
    procs = [corp.proc]
    started = time.time()
    try:
        assert mark(corp, "corp.lab.", stamp(300)).status == 200
        wait_for(lambda: lab.rrset(L.CORP_ADDR, "_in-tree.corp.lab.", "TXT") is not None, "the _in-tree TXT")
        if lab.query(L.LAB_ADDR, "corp.lab.", "NS", rd=False).rcode() == 3:
            knotc_lab(lab, [("corp", 60, "NS", "ns1.corp.lab."), ("ns1.corp", 60, "A", L.CORP_ADDR)])
        lab.register(lab.lab_knot, "corp.lab.", L.CORP_ADDR)
        anchor, conf = str(tmp_path / "corp.lab.anchor"), str(tmp_path / "corp.conf")
        rc, rep, err = hints(lab, "check", "corp.lab.")
        assert rc == 0, (rc, rep, err)
        (old_tag,) = [k["tag"] for k in rep["keys"] if k["pinned"]]
        rc, out, err = hints(lab, "unbound", "corp.lab.", "--anchor-file", anchor, "--out", conf, json_out=False)
        assert rc == 0, (rc, out, err)
        state, watch_log = str(tmp_path / "watch.state"), str(tmp_path / "watch.log")
        argv = [TERN, "hints", "watch", "corp.lab.", "--hints", os.path.join(lab.dir, "root.hints"),
                "--root-anchor", os.path.join(lab.dir, "root.ds"), "--conf", conf, "--anchor-file", anchor,
                "--state", state, "--add-holddown", str(WATCH_HOLDDOWN), "--max-interval", "5"]
        procs.append(lab.spawn("tern-watch", argv, watch_log))
        wait_for(lambda: log_lines(watch_log, "baseline"), "the watch's baseline")
        assert json.load(open(state))["domains"]["corp.lab."]["keys"][0]["tag"] == old_tag, open(state).read()
        knotc_lab(lab, [], [("corp", "NS"), ("corp", "DS"), ("ns1.corp", "A")])

        def trusted():
            try:
                ks = json.load(open(state))["domains"]["corp.lab."]["keys"]
            except (OSError, ValueError, KeyError):
                return []
            return [(k["tag"], k["state"]) for k in ks]

        wait_for(lambda: trusted() and old_tag not in [t for t, _ in trusted()]
                 and any(s == "valid" for _, s in trusted()), "the watch trusting the new KSK alone", timeout=110)
        # set when the new key was trusted and when the old one was dropped, cleared at the next poll each
        wait_for(lambda: len(log_lines(watch_log, " anchor-changed clear ")) >= 2, "anchor-changed cleared",
                 timeout=15)
        elapsed = time.time() - started
        log = open(watch_log).read()
        assert "AddressSanitizer" not in log and "runtime error" not in log, log
        assert not log_lines(watch_log, " dnssec-failed set "), log
        (new_tag,) = [t for t, s in trusted() if s == "valid"]
        assert "KSK %d trusted" % new_tag in log and "KSK %d revoked" % old_tag in log, log
        rs = lab.rrset(L.CORP_ADDR, "corp.lab.", "DNSKEY")
        new_pub = [rd.to_text().split(None, 3)[3].replace(" ", "") for rd in rs if rd.flags == 257]
        seed = "".join(l for l in open(anchor) if not l.startswith(";"))
        assert seed.count(" DNSKEY ") >= 1 and any(p in seed.replace(" ", "") for p in new_pub), (seed, new_pub)
        assert "anchor-changed set" in log and 'auto-trust-anchor-file: "%s"' % anchor in open(conf).read(), log
        print("watch followed the KSK roll %d -> %d in %.0f s; state %s" % (old_tag, new_tag, elapsed, trusted()))
        lab.stop(procs.pop())
        # restarted from --state: it validates with the new key without any DS to pin from
        log2 = str(tmp_path / "watch2.log")
        r = lab.ns.run(argv[:argv.index("--conf")] + ["--state", state, "--server", L.CORP_ADDR, "--polls", "2",
                                                      "--max-interval", "1"], check=False, timeout=60)
        assert r.returncode == 0 and "AddressSanitizer" not in r.stderr, (r.returncode, r.stdout, r.stderr)
        assert "pinned KSK" in r.stdout and " dnssec-failed set " not in r.stdout, (r.stdout, r.stderr, log2)
    finally:
        for p in reversed(procs):
            lab.stop(p)
