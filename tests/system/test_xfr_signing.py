"""ternd as a signing secondary ("bump in the wire"): Knot, a hidden primary, serves a zone unsigned;
ternd pulls it (zones[i].primary with dnssec-policy), signs it and serves it signed to resolvers and
to a Knot secondary of its own. A change at the primary comes in by IXFR (asked with the primary's
serial) and goes out by IXFR as only the re-signed delta, under ternd's own serial; the AXFR passes
ldns-verify-zone and kzonecheck; a primary sending DNSSEC records is refused (owner and type
logged) while the last good version keeps serving; the primary's serial going backwards is
ignored and going forwards again is followed, ternd's serial growing by its own policy."""
import os
import shutil
import time

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from apilib import ApiTernd, keys  # noqa: F401 (fixture)
from knotlib import KnotPrimary, KnotSecondary, knotd_available
from ternlib import free_port, wait_log
from test_zonefile_signing import assert_verifies, axfr_text, judge, wait_signed
from xfrlib import ixfr_diffs, soa_serial, stop_started  # noqa: F401 (an autouse fixture)
from xfrlib import started as _started

ZONE = "bump.test"
FQDN = ZONE + "."

pytestmark = pytest.mark.skipif(not knotd_available(), reason="knotd not installed")


def zone_text(serial, extra="", timers="3600 1 1209600"):
    """The primary's zone, unsigned; refresh an hour (NOTIFY drives the test), retry 1 s."""
    return """$ORIGIN bump.test.
$TTL 300
@       IN SOA ns1 hostmaster %d %s 300
        IN NS  ns1
ns1     IN A   192.0.2.53
mx      IN A   192.0.2.25
www     IN A   192.0.2.1
www     IN AAAA 2001:db8::1
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.54
%s""" % (serial, timers, extra)


class SigningSecondary(ApiTernd):
    """ternd pulling ZONE from 127.0.0.1@primary with dnssec-policy default, NOTIFY to notify."""

    def __init__(self, keys, workdir, port, primary, notify, policy="default"):  # noqa: F811
        self.primary = primary
        self.notify = notify
        self.policy = policy
        super().__init__(keys, workdir=workdir, api={"serial-policy": "increment"})
        self.port = port
        self.write_config(["127.0.0.1@%d" % port])

    def write_config(self, listen, extra_server=""):
        lines = ["server:", "  listen:"] + ["    - \"%s\"" % a for a in listen]
        lines += ["zones:", "  - name: \"%s\"" % ZONE, "    primary: [\"127.0.0.1@%d\"]" % self.primary,
                  "    file: \"%s\"" % os.path.join(self.dir, "bump.copy")]
        lines += ["    dnssec-policy: %s" % self.policy] if self.policy else []
        lines += ["transfer:", "  allow: [127.0.0.0/8]", "  notify: [\"127.0.0.1@%d\"]" % self.notify,
                  "api:", "  listen: \"127.0.0.1@%d\"" % self.api_port, "  data-dir: \"%s\"" % self.data_dir,
                  "  jwks: \"%s\"" % self.keys.jwks, "  serial-policy: increment", "  rate-limit: 0"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")


def notify(port):
    """A NOTIFY for ZONE to ternd, as the primary would send it."""
    q = dns.message.make_query(FQDN, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags |= dns.flags.AA
    dns.query.udp(q, "127.0.0.1", port=port, timeout=2)


def wait_until(what, cond, log, timeout=15.0):
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "%s never happened; ternd's log:\n%s" % (what, log()[-5000:])
        time.sleep(0.05)


def a_of(t, name):
    r = t.query(name, "A")
    return sorted(rd.to_text() for rs in r.answer if rs.rdtype == dns.rdatatype.A for rd in rs)


def owners(diff):
    return {o for o, _ in diff}


def start_all(keys, tmp_path):  # noqa: F811
    """Knot (hidden primary, serial 1), ternd signing it, a Knot secondary of ternd."""
    tport, kport = free_port(), free_port()
    knot = KnotPrimary(tmp_path / "primary", ZONE, zone_text(1), notify_port=tport, port=kport,
                       journal="changes")
    _started.add(knot)
    ks = KnotSecondary(tmp_path / "secondary", ZONE, tport)
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    t = SigningSecondary(keys, str(work), tport, kport, ks.port)
    _started.add(t)
    wait_signed(t, FQDN)
    _started.add(ks)
    return knot, t, ks


@pytest.mark.skipif(not shutil.which("ldns-verify-zone") or not shutil.which("kzonecheck"),
                    reason="ldns-verify-zone or kzonecheck not installed")
def test_primary_unsigned_ternd_signs_and_sends_deltas_on(keys, tmp_path):  # noqa: F811
    knot, t, ks = start_all(keys, tmp_path)
    wait_log(t.log_text, "transferred serial 1 from 127.0.0.1@%d by AXFR" % knot.port)
    s1 = soa_serial(t.addr, t.port, FQDN)
    ks.wait_soa(FQDN, s1)
    # the AXFR is signed whole and judged so; a tampered copy is not
    assert_verifies(axfr_text(t, FQDN), FQDN, tmp_path)

    # a change at the primary: pulled by IXFR from the primary's serial 1 (not ternd's), signed
    # under ternd's next serial, and sent on by IXFR as the delta alone
    knot.commit(("set", "new", "300", "A", "192.0.2.77"))
    wait_until("the IXFR from the primary", lambda: soa_serial(t.addr, t.port, FQDN) == s1 + 1, t.log_text)
    wait_log(t.log_text, "IXFR from 127.0.0.1@%d: serial 1 -> 2" % knot.port)
    assert "IXFR, outgoing, remote 127.0.0.1@" in knot.log_text() and "serial 1 -> 2" in knot.log_text()
    assert a_of(t, "new." + FQDN) == ["192.0.2.77"]
    diffs = ixfr_diffs(t, FQDN, s1)
    assert len(diffs) == 1, diffs
    removed, added = diffs[0]
    new = "new." + FQDN
    assert {(new, "A"), (new, "NSEC"), (new, "RRSIG"), (FQDN, "RRSIG")} <= added, added
    # only the new name, its predecessor in the NSEC chain (mx) and the apex (SOA) are touched
    assert owners(added) == {FQDN, new, "mx." + FQDN}, added
    assert owners(removed) == {FQDN, "mx." + FQDN}, removed
    ks.wait_soa(FQDN, s1 + 1)
    wait_log(ks.log_text, "IXFR, incoming")
    assert_verifies(axfr_text(t, FQDN), FQDN, tmp_path)

    # the primary sends an RRSIG: refused by owner and type, the last good version stays
    knot.change(zone_text(3, "www 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 bump.test. "
                             "AAAA\nnew 300 IN A 192.0.2.78\n"))
    wait_log(t.log_text, "www.bump.test. RRSIG: the primary's zone holds DNSSEC records", timeout=15)
    assert soa_serial(t.addr, t.port, FQDN) == s1 + 1
    assert a_of(t, "new." + FQDN) == ["192.0.2.77"]
    wait_signed(t, FQDN)
    # fixed at the primary: taken
    knot.change(zone_text(4, "new 300 IN A 192.0.2.79\n"))
    wait_until("the fixed version", lambda: a_of(t, "new." + FQDN) == ["192.0.2.79"], t.log_text)
    s3 = soa_serial(t.addr, t.port, FQDN)
    assert s3 == s1 + 2, (s1, s3)
    ks.wait_soa(FQDN, s3)
    for cmd, rc, out in judge(axfr_text(t, FQDN), FQDN, tmp_path, "fixed"):
        assert rc == 0, "%s refused the zone:\n%s" % (cmd, out)

    # the primary starts over at serial 2 (lower than its 4): kept, not transferred
    knot.stop()
    shutil.rmtree(knot.storage)
    os.makedirs(knot.storage)
    with open(knot.file, "w") as f:
        f.write(zone_text(2, "new 300 IN A 192.0.2.80\n"))
    _started.add(knot)
    notify(t.port)
    wait_log(t.log_text, "primary 127.0.0.1@%d has serial 2, lower than the 4 served: keeping 4" % knot.port)
    assert soa_serial(t.addr, t.port, FQDN) == s3 and a_of(t, "new." + FQDN) == ["192.0.2.79"]
    # and forwards again, far ahead: followed, but ternd's serial goes on by its own policy
    knot.change(zone_text(100000, "new 300 IN A 192.0.2.81\n"))
    wait_until("serial 100000", lambda: a_of(t, "new." + FQDN) == ["192.0.2.81"], t.log_text)
    assert soa_serial(t.addr, t.port, FQDN) == s3 + 1
    ks.wait_soa(FQDN, s3 + 1)
    assert_verifies(axfr_text(t, FQDN), FQDN, tmp_path)

    # a restart: the disk copy (unsigned, the primary's serial) changes nothing in the store
    t.stop()
    _started.add(t)
    wait_signed(t, FQDN)
    wait_log(t.log_text, "serving the disk copy, serial 100000")
    time.sleep(0.5)
    assert soa_serial(t.addr, t.port, FQDN) == s3 + 1


def start_pair(keys, tmp_path, text, policy="default"):  # noqa: F811
    """Knot (hidden primary) and ternd pulling from it; no secondary of ternd."""
    tport, kport = free_port(), free_port()
    knot = KnotPrimary(tmp_path / "primary", ZONE, text, notify_port=tport, port=kport, journal="changes")
    _started.add(knot)
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    t = SigningSecondary(keys, str(work), tport, kport, free_port(), policy=policy)
    _started.add(t)
    return knot, t


def test_expired_zone_stops_serving_and_comes_back_signed(keys, tmp_path):  # noqa: F811
    """No primary for the SOA expire: the signed zone is no longer served (SERVFAIL); the primary
    back with a new version: served again, signed, with ternd's next serial."""
    timers = "1 1 4"
    knot, t = start_pair(keys, tmp_path, zone_text(1, timers=timers))
    wait_signed(t, FQDN)
    s1 = soa_serial(t.addr, t.port, FQDN)
    knot.stop()
    wait_log(t.log_text, "zone bump.test.: EXPIRED", timeout=15)
    wait_log(t.log_text, "zone bump.test.: expired: not served")
    assert t.query(FQDN, "SOA").rcode() == dns.rcode.SERVFAIL
    with open(knot.file, "w") as f:
        f.write(zone_text(2, "new 300 IN A 192.0.2.77\n", timers=timers))
    _started.add(knot)
    wait_until("the zone back", lambda: a_of(t, "new." + FQDN) == ["192.0.2.77"], t.log_text)
    wait_signed(t, FQDN)
    assert soa_serial(t.addr, t.port, FQDN) == s1 + 1


def test_secondary_given_a_policy_at_reload_is_signed(keys, tmp_path):  # noqa: F811
    """A plain secondary (served as transferred, unsigned) gets dnssec-policy at a reload: from
    then on served signed; the primary's next change is re-signed as a delta."""
    knot, t = start_pair(keys, tmp_path, zone_text(1), policy=None)
    wait_until("the first transfer", lambda: soa_serial(t.addr, t.port, FQDN) == 1, t.log_text)
    r = t.query(FQDN, "DNSKEY", want_dnssec=True)
    assert not r.answer, r
    t.policy = "default"
    t.write_config(["127.0.0.1@%d" % t.port])
    t.reload()
    wait_log(t.log_text, "zone bump.test.: signed by ternd from now on")
    wait_signed(t, FQDN)
    s1 = soa_serial(t.addr, t.port, FQDN)
    knot.commit(("set", "new", "300", "A", "192.0.2.77"))
    wait_until("the change", lambda: soa_serial(t.addr, t.port, FQDN) == s1 + 1, t.log_text)
    removed, added = ixfr_diffs(t, FQDN, s1)[0]
    assert owners(added) == {FQDN, "new." + FQDN, "mx." + FQDN}, added
