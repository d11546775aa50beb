"""Export round trip: a zone built through the API, exported as a BIND zone file, loaded unchanged
into Knot DNS, answers every name and type exactly as ternd does; the export imports back as-is."""
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import dns.zone
import pytest

from apilib import assert_served, keys, serial_gt, server_fixture, soa_serial  # noqa: F401
from knotlib import Knotd, knotd_available

srv = server_fixture()

ZONE = "export.test"
RRSETS = [
    ("@", "MX", 300, ["10 mail.export.test.", "20 mx.elsewhere.example."]),
    ("@", "TXT", 300, ["\"v=spf1 -all\"", "\"two\" \"strings\"", "\"semi;colon\" \"quote\\\"inside\"",
                       "\"caf\\195\\169 \\\\ backslash\"", "\"" + "x" * 255 + "\" \"" + "y" * 100 + "\""]),
    ("@", "CAA", 300, ["0 issue \"ca.example.net\"", "128 iodef \"mailto:sec@export.test\""]),
    ("@", "A", 60, ["192.0.2.1"]),
    ("@", "AAAA", 60, ["2001:db8::1"]),
    ("www", "A", 60, ["192.0.2.10", "192.0.2.11", "192.0.2.12"]),
    ("www", "AAAA", 60, ["2001:db8::10"]),
    ("alias", "CNAME", 60, ["www.export.test."]),
    ("offsite", "CNAME", 60, ["target.elsewhere.example."]),
    ("mail", "A", 60, ["192.0.2.25"]),
    ("_sip._tcp", "SRV", 60, ["10 60 5060 sip.export.test.", "20 0 5060 ."]),
    ("sip", "A", 60, ["192.0.2.60"]),
    ("*.wild", "A", 60, ["192.0.2.77"]),
    ("*.wild", "TXT", 60, ["\"wildcard\""]),
    ("deep.empty.non.terminal", "A", 60, ["192.0.2.88"]),
    ("sub", "NS", 3600, ["ns1.sub.export.test.", "ns.elsewhere.example."]),
    ("ns1.sub", "A", 3600, ["192.0.2.53"]),
    ("ns1.sub", "AAAA", 3600, ["2001:db8::53"]),
    ("sub", "DS", 3600, ["12345 13 2 " + "ab" * 32]),
    ("d", "DNAME", 60, ["elsewhere.example."]),
    ("ptr", "PTR", 60, ["host.elsewhere.example."]),
    ("_25._tcp.mail", "TLSA", 60, ["3 1 1 " + "0123456789abcdef" * 4]),
    ("ssh", "SSHFP", 60, ["4 2 " + "fe" * 32]),
    ("naptr", "NAPTR", 60, ["100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.export.test."]),
    ("hinfo", "HINFO", 60, ["\"PC\" \"Linux\""]),
    ("svc", "HTTPS", 60, ["1 . alpn=h2,h3"]),
    ("_dmarc", "TXT", 60, ["\"v=DMARC1; p=reject\""]),
    ("loc", "LOC", 60, ["52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"]),
    ("Mixed-Case", "A", 60, ["192.0.2.99"]),
    ("unknown", "TYPE65280", 60, ["\\# 4 0a0b0c0d"]),
    ("uri", "URI", 60, ["10 1 \"https://export.test/\""]),
    ("ttl0", "A", 0, ["192.0.2.100"]),
]


def names_and_types(rrsets):
    names = {r["name"] for r in rrsets}
    types = {r["type"] for r in rrsets}
    # a few questions around the data too: missing names, below a wildcard, below the cut, DNAME
    names |= {"nothing.export.test.", "x.wild.export.test.", "a.b.wild.export.test.", "host.sub.export.test.",
              "x.d.export.test.", "empty.non.terminal.export.test.", "non.terminal.export.test."}
    types |= {"A", "AAAA", "TXT", "MX", "NS", "SOA", "CNAME", "ANY"}
    return sorted(names), sorted(types)


def section(rrsets):
    out = set()
    for rs in rrsets:
        for rd in rs:
            out.add((rs.name.to_text().lower(), rs.ttl, dns.rdatatype.to_text(rs.rdtype), rd.to_text()))
    return out


def ask(addr, port, name, rtype):
    q = dns.message.make_query(name, rtype, use_edns=0, payload=4096)
    q.flags &= ~dns.flags.RD
    return dns.query.udp(q, addr, port=port, timeout=3)


@pytest.fixture(scope="module")
def exported(srv, keys, tmp_path_factory):
    api = srv.api(keys.token("exporter"))
    api.create_zone(ZONE)
    r = api.patch("/api/v1/zones/%s/rrsets" % ZONE, {"rrsets": [
        {"name": n, "type": t, "ttl": ttl, "records": recs} for n, t, ttl, recs in RRSETS]})
    assert r.status == 200, r
    r = api.get("/api/v1/zones/%s/export" % ZONE)
    assert r.status == 200, r
    path = str(tmp_path_factory.mktemp("export") / "export.test.zone")
    with open(path, "wb") as f:
        f.write(r.body)
    rrsets = api.rrsets(ZONE)["rrsets"]
    yield path, r.body.decode(), rrsets, api
    api.close()


def test_export_loads_into_knot_with_the_same_answers(srv, exported, tmp_path_factory):
    if not knotd_available():
        pytest.skip("no knotd")
    path, text, rrsets, _ = exported
    assert len(rrsets) == len(RRSETS) + 2, rrsets  # SOA and NS too
    knot = Knotd({ZONE: path}, workdir=str(tmp_path_factory.mktemp("knotd")))
    try:
        knot.start()
        names, types = names_and_types(rrsets)
        diffs, asked = [], 0
        for name in names:
            for t in types:
                k = ask(knot.addr, knot.port, name, t)
                o = ask(srv.addr, srv.port, name, t)
                asked += 1
                if t == "ANY":  # RFC 8482 lets servers answer ANY their own way: compare the rcode only
                    if k.rcode() != o.rcode():
                        diffs.append("%s %s: rcode knot %s, ternd %s" % (name, t, k.rcode(), o.rcode()))
                    continue
                for what, a, b in [("rcode", k.rcode(), o.rcode()),
                                   ("AA", bool(k.flags & dns.flags.AA), bool(o.flags & dns.flags.AA)),
                                   ("answer", section(k.answer), section(o.answer)),
                                   ("authority", section(k.authority), section(o.authority))]:
                    if a != b:
                        diffs.append("%s %s %s:\n  knot:  %s\n  ternd: %s" % (name, t, what, a, b))
        assert asked > 300
        assert not diffs, "%d of %d answers differ between Knot (loading the export) and ternd:\n%s\n" \
            "--- export ---\n%s" % (len(diffs), asked, "\n".join(diffs[:30]), text)
    finally:
        knot.stop()


def test_export_holds_every_rrset(exported):
    path, text, rrsets, api = exported
    import dns.zone
    z = dns.zone.from_text(text, origin=ZONE + ".", relativize=False, check_origin=True)
    got = set()
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                got.add((name.to_text().lower(), dns.rdatatype.to_text(rds.rdtype), rds.ttl, rd.to_text()))
    want = set()
    for r in rrsets:
        for rec in r["records"]:
            rd = dns.rdata.from_text("IN", r["type"], rec, origin=dns.name.from_text(ZONE), relativize=False)
            want.add((r["name"].lower(), dns.rdatatype.to_text(rd.rdtype), r["ttl"], rd.to_text()))
    assert got == want, "export vs API: only in export %s; only in API %s" % (got - want, want - got)


def test_export_imports_back_unchanged(srv, exported):
    path, text, rrsets, api = exported
    serial = soa_serial(srv, ZONE)
    r = api.post("/api/v1/zones/%s/import" % ZONE, text)
    assert r.status == 200, r
    after = api.rrsets(ZONE)["rrsets"]

    def strip(rs):
        return sorted((x["name"], x["type"], x["ttl"], tuple(sorted(x["records"]))) for x in rs if x["type"] != "SOA")
    assert strip(after) == strip(rrsets)
    assert serial_gt(soa_serial(srv, ZONE), serial)
    assert_served(srv, "www.export.test", "A", ["192.0.2.10", "192.0.2.11", "192.0.2.12"])



def test_import_and_export_keep_each_rrsig_ttl(srv, keys):
    """RFC 4034 sec. 3: an RRSIG has the TTL of the RRset it covers. A zone file imported through the
    API is served, and exported, with each RRSIG at its own TTL (not all at the lowest)."""
    api = srv.api(keys.token("exporter"))
    zone = "sigttl.test"
    api.create_zone(zone)
    sig = " 13 2 %d 20370101000000 20240101000000 12345 sigttl.test. AAECAwQFBgcICQoLDA0ODw=="
    text = "\n".join([
        "$ORIGIN sigttl.test.", "@ 300 SOA ns1 hostmaster 1 7200 3600 1209600 60", "@ 300 NS ns1",
        "ns1 300 A 127.0.0.1",
        "www 600 A 192.0.2.1", "www 600 RRSIG A" + sig % 600,
        "www 7200 TXT \"t\"", "www 7200 RRSIG TXT" + sig % 7200,
        "www 60 NSEC zz.sigttl.test. A TXT RRSIG NSEC", "www 60 RRSIG NSEC" + sig % 60]) + "\n"
    r = api.post("/api/v1/zones/%s/import" % zone, text)
    assert r.status == 200, r
    want = {"A": 600, "TXT": 7200, "NSEC": 60}
    q = dns.message.make_query("www.sigttl.test.", "RRSIG", want_dnssec=True)
    got = {dns.rdatatype.to_text(rd.type_covered): rs.ttl
           for rs in dns.query.tcp(q, srv.addr, port=srv.port, timeout=3).answer for rd in rs}
    assert got == want
    r = api.get("/api/v1/zones/%s/export" % zone)
    assert r.status == 200, r
    z = dns.zone.from_text(r.body.decode(), origin=zone + ".", relativize=False, check_origin=True)
    exported = {dns.rdatatype.to_text(rd.type_covered): rds.ttl
                for rds in z.get_node("www.sigttl.test.").rdatasets if rds.rdtype == dns.rdatatype.RRSIG for rd in rds}
    assert exported == want
    api.close()
