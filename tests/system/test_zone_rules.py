"""The zone rules every producer enforces (lib/zone.h, zone_build.c, zone_apply.c): the largest
RRset a message can carry, answered over TCP and transferred by AXFR to Knot while one octet more
is refused by `ternd --check` and the API; RFC 6672 2.3 (no name below a DNAME, no DNAME at a
delegation point); and zone-file errors that say where ($INCLUDE of a missing file, an unclosed
parenthesis)."""
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest

from apilib import assert_error, keys, server_fixture, zonefile  # noqa: F401 (keys is a fixture)
from knotlib import KnotSecondary, knotd_available
from sysutil import TERND
from ternlib import Ternd, free_port

ZONE = "rules.test"
# big.rules.test. is 16 octets: 12 (header) + 16 + 4 (question) + 12 + RDATA (one record) + 17
# (OPT with EDE) + 364 (TSIG) <= 65535 leaves 65,110 octets of RDATA (README, lib/zone.h)
MAX_RDATA = 65535 - 12 - 16 - 4 - 12 - 17 - 364


def txt_of(rdlen):
    """TXT RDATA text of exactly rdlen octets: strings of 255 characters and a shorter last one."""
    parts = []
    while rdlen > 0:
        n = min(rdlen - 1, 255)
        parts.append('"%s"' % ("x" * n))
        rdlen -= n + 1
    return " ".join(parts)


def run_check(tmp_path, text, extra_files=()):
    (tmp_path / "z.zone").write_text(text)
    for name, body in extra_files:
        (tmp_path / name).write_text(body)
    (tmp_path / "ternd.yaml").write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: %s\n'
                                         '    file: z.zone\n' % (free_port(), ZONE))
    p = subprocess.run([TERND, "--check", "-c", str(tmp_path / "ternd.yaml")], capture_output=True, text=True,
                       timeout=20)
    return p.returncode, p.stderr


def test_check_largest_rrset_and_one_octet_more(tmp_path):
    rc, err = run_check(tmp_path, zonefile(ZONE, "big 60 IN TXT " + txt_of(MAX_RDATA)))
    assert rc == 0, err
    rc, err = run_check(tmp_path, zonefile(ZONE, "www 60 IN A 192.0.2.1", "big 60 IN TXT " + txt_of(MAX_RDATA + 1)))
    assert rc == 1
    assert ("z.zone:7: the TXT RRset at big.rules.test. is too large: a response carrying it takes 65536 octets"
            in err), err
    # many records: a 76 KB TXT RRset (300 records of 256 octets)
    recs = ['many 60 IN TXT "%03d%s"' % (i, "y" * 252) for i in range(300)]
    rc, err = run_check(tmp_path, zonefile(ZONE, *recs))
    assert rc == 1 and "the TXT RRset at many.rules.test. is too large: a response carrying it takes 80814" in err, err


def test_check_dname_rules(tmp_path):
    rc, err = run_check(tmp_path, zonefile(ZONE, "d 60 IN DNAME example.net.", "x.y.d 60 IN A 192.0.2.1",
                                           "sub 60 IN NS ns.example.net.", "sub 60 IN DNAME example.org."))
    assert rc == 1
    assert "z.zone:6: DNAME at d.rules.test. has data below it, at x.y.d.rules.test." in err, err
    assert "z.zone:9: DNAME beside NS at sub.rules.test.: a delegation point cannot hold a DNAME" in err, err
    # names beside a DNAME, and data below a delegation (occluded glue), are no error
    rc, err = run_check(tmp_path, zonefile(ZONE, "d 60 IN DNAME example.net.", "d 60 IN TXT beside",
                                           "dd 60 IN A 192.0.2.1", "sub 60 IN NS ns.sub", "ns.sub 60 IN A 192.0.2.2",
                                           "x.ns.sub 60 IN A 192.0.2.3"))
    assert rc == 0, err


def test_check_include_and_parenthesis_errors_say_where(tmp_path):
    rc, err = run_check(tmp_path, zonefile(ZONE, "$INCLUDE absent.inc"))
    assert rc == 1
    assert "z.zone:6: $INCLUDE %s/absent.inc: No such file or directory" % tmp_path in err, err
    rc, err = run_check(tmp_path, zonefile(ZONE, "www 60 IN A 192.0.2.1", 'txt 60 IN TXT ( "a" ; ) not here',
                                           '  "b"', "mail 60 IN A 192.0.2.2"))
    assert rc == 1
    assert "z.zone:7: unclosed parenthesis: the '(' on this line is never closed" in err, err
    rc, err = run_check(tmp_path, zonefile(ZONE, "$INCLUDE part.inc"),
                        [("part.inc", 'www 60 IN A 192.0.2.1\ntxt 60 IN TXT ( "a"\n')])
    assert rc == 1
    assert "part.inc:2: unclosed parenthesis: the '(' on this line is never closed" in err, err
    assert "z.zone:6: $INCLUDE %s/part.inc: the included file has errors (above)" % tmp_path in err, err


# --- the API ---------------------------------------------------------------------------------------

srv = server_fixture()


@pytest.fixture(scope="module")
def api(srv, keys):  # noqa: F811
    a = srv.api(keys.token("rules"))
    a.create_zone(ZONE)
    a.put_rrset(ZONE, "moved", "DNAME", 60, ["example.net."])
    a.put_rrset(ZONE, "a.b.c", "A", 60, ["192.0.2.3"])
    yield a
    a.close()


RS = "/api/v1/zones/%s/rrsets" % ZONE


def test_api_refuses_rrset_one_octet_too_large(srv, api):
    serial = api.serial(ZONE)
    r = api.put(RS + "/big/TXT", {"ttl": 60, "records": [txt_of(MAX_RDATA + 1)]})
    assert_error(r, 400, "records", contains="the TXT RRset at big.rules.test. is too large: a response carrying "
                                             "it takes 65536 octets")
    r = api.request("POST", "/api/v1/zones/%s/import" % ZONE,
                    raw=zonefile(ZONE, "big 60 IN TXT " + txt_of(MAX_RDATA + 1)).encode())
    assert_error(r, 400, "body", contains="the TXT RRset at big.rules.test. is too large")
    assert api.serial(ZONE) == serial
    # the largest goes in, and a TCP query asking for EDNS and NSID gets all of it
    r = api.put(RS + "/big/TXT", {"ttl": 60, "records": [txt_of(MAX_RDATA)]})
    assert r.status == 200, r
    q = dns.message.make_query("big.rules.test.", "TXT", use_edns=0, options=[dns.edns.GenericOption(3, b"")])
    a = dns.query.tcp(q, "127.0.0.1", port=srv.port, timeout=5)
    assert not a.flags & dns.flags.TC and a.opt is not None
    assert sum(len(s) + 1 for s in a.answer[0][0].strings) == MAX_RDATA
    assert api.delete(RS + "/big/TXT").status in (200, 204)


def test_api_refuses_names_below_a_dname(srv, api):
    serial = api.serial(ZONE)
    r = api.put(RS + "/x.y.moved/A", {"ttl": 60, "records": ["192.0.2.9"]})
    assert_error(r, 400, contains="DNAME at moved.rules.test. has data below it, at x.y.moved.rules.test.")
    r = api.put(RS + "/c/DNAME", {"ttl": 60, "records": ["example.org."]})
    assert_error(r, 400, contains="DNAME at c.rules.test. has data below it, at a.b.c.rules.test.")
    r = api.put(RS + "/moved/NS", {"ttl": 60, "records": ["ns.example.net."]})
    assert_error(r, 400, contains="DNAME beside NS at moved.rules.test.")
    r = api.request("POST", "/api/v1/zones/%s/import" % ZONE,
                    raw=zonefile(ZONE, "d 60 IN DNAME example.net.", "x.d 60 IN A 192.0.2.1").encode())
    assert_error(r, 400, "body", contains="DNAME at d.rules.test. has data below it, at x.d.rules.test.")
    assert api.serial(ZONE) == serial
    # the subtree emptied and the DNAME put in one batch is fine
    r = api.patch(RS, {"rrsets": [{"name": "a.b.c", "type": "A", "delete": True},
                                  {"name": "c", "type": "DNAME", "ttl": 60, "records": ["example.org."]}]})
    assert r.status == 200, r


# --- answered over TCP and transferred -------------------------------------------------------------

@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_largest_rrset_transfers_to_knot(tmp_path):
    """The largest RRset (one record of MAX_RDATA octets; and 243 records of 255 octets) goes out
    by AXFR -- in a message of its own beyond ternd's usual 16 KiB -- and Knot serves it."""
    many = ['many 60 IN TXT "%03d%s"' % (i, "y" * 251) for i in range(243)]  # 17-octet owner: 65296 octets
    path = tmp_path / "z.zone"
    path.write_text(zonefile(ZONE, "ns1 60 IN A 127.0.0.1", "big 60 IN TXT " + txt_of(MAX_RDATA), *many,
                             ns=["ns1.rules.test."]))
    t = Ternd({ZONE: str(path)}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    kport = free_port()
    knot = KnotSecondary(tmp_path / "knot", ZONE, t.port, port=kport)
    with t:
        a = t.query("big.rules.test.", "TXT", tcp=True, use_edns=0)
        assert not a.flags & dns.flags.TC and len(a.answer[0]) == 1
        msgs = list(dns.query.xfr(t.addr, ZONE + ".", port=t.port, timeout=10, relativize=False))
        got = {}
        for m in msgs:  # an RRset may be spread over messages
            for s in m.answer:
                key = (s.name.to_text(), dns.rdatatype.to_text(s.rdtype))
                got[key] = got.get(key, 0) + len(s)
        assert got[("big.rules.test.", "TXT")] == 1 and got[("many.rules.test.", "TXT")] == 243, got
        try:
            knot.start()
            knot.wait_soa(ZONE, 1, timeout=20)
            for name, count in [("big", 1), ("many", 243)]:
                q = dns.message.make_query("%s.rules.test." % name, "TXT")
                deadline = time.time() + 10
                r = dns.query.tcp(q, "127.0.0.1", port=kport, timeout=5)
                while not r.answer and time.time() < deadline:
                    time.sleep(0.1)
                    r = dns.query.tcp(q, "127.0.0.1", port=kport, timeout=5)
                assert r.answer and len(r.answer[0]) == count, (name, r, knot.log_text()[-3000:])
                if name == "big":
                    assert r.answer[0] == a.answer[0]
        finally:
            knot.stop()


def test_largest_rrset_answers_a_signed_tcp_query_asking_for_nsid(tmp_path):
    """The worst case the bound keeps room for: a TCP query signed with a key of a 255-octet name
    and hmac-sha512 that also asks for NSID. The signed answer holds the whole RRset (the NSID
    goes when there is room, and here there is none)."""
    import base64

    import dns.tsigkeyring
    from xfrlib import TsigKey

    label = "k" * 63
    key = TsigKey(".".join([label, label, label, "k" * 61]) + ".", "hmac-sha512",
                  base64.b64encode(b"s" * 64).decode())
    path = tmp_path / "z.zone"
    path.write_text(zonefile(ZONE, "big 60 IN TXT " + txt_of(MAX_RDATA)))
    t = Ternd({ZONE: str(path)}, workdir=str(tmp_path), extra_server="identity: ns1.rules.test")
    with open(t.config, "a") as f:
        f.write('keys:\n  - {name: "%s", algorithm: %s, secret: "%s"}\n' % key)
    with t:
        q = dns.message.make_query("big.rules.test.", "TXT", use_edns=0, options=[dns.edns.GenericOption(3, b"")])
        q.use_tsig(dns.tsigkeyring.from_text({key.name: (key.algorithm, key.secret)}), keyname=key.name,
                   algorithm=key.algorithm)
        a = dns.query.tcp(q, "127.0.0.1", port=t.port, timeout=5)  # verifies the answer's TSIG
        assert not a.flags & dns.flags.TC and len(a.answer) == 1 and a.had_tsig
        assert sum(len(s) + 1 for s in a.answer[0][0].strings) == MAX_RDATA
        # a query that leaves room gets its NSID as before
        a = dns.query.tcp(dns.message.make_query("rules.test.", "SOA", use_edns=0,
                                                 options=[dns.edns.GenericOption(3, b"")]),
                          "127.0.0.1", port=t.port, timeout=5)
        assert [o.data for o in a.options if o.otype == 3] == [b"ns1.rules.test"]
