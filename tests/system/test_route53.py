"""The Route 53-compatible API (issue 26): every call with real requests signed with AWS Signature
V4 by a Python client (hmac, hashlib, xml.etree), the errors in Route 53's XML form, tenant
isolation, and answers served as the API says."""
import datetime
import hashlib
import hmac
import http.client
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from apilib import finish, keys, server_fixture  # noqa: F401

NS = "{https://route53.amazonaws.com/doc/2013-04-01/}"

srv = server_fixture()


def sign(method, path, query, headers, body, akid, secret, region="us-east-1", when=None, service="route53"):
    """Authorization and X-Amz-Date headers for a request, as AWS Signature V4 makes them."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz[:8]
    headers = dict(headers)
    headers["X-Amz-Date"] = amz
    canon_headers = sorted((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
    signed = ";".join(k for k, _ in canon_headers)
    cq = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                  for k, v in sorted(query))
    creq = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), cq,
                      "".join("%s:%s\n" % kv for kv in canon_headers), signed,
                      hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, signed, sig)
    return headers


class R53:
    """A Route 53 client of one access key."""

    def __init__(self, port, akid, secret):
        self.port, self.akid, self.secret = port, akid, secret

    def call(self, method, path, query=(), body=None, tamper=None, **sign_kw):
        body = body.encode() if isinstance(body, str) else (body or b"")
        headers = {"Host": "127.0.0.1:%d" % self.port}
        if body:
            headers["Content-Type"] = "text/xml"
        headers = sign(method, path, list(query), headers, body, self.akid, self.secret, **sign_kw)
        if tamper:
            tamper(headers)
        target = path + ("?" + urllib.parse.urlencode(list(query), quote_via=urllib.parse.quote) if query else "")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            c.putheader(k, v)
        c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        c.close()
        if (r.getheader("Content-Type") or "").startswith("text/xml"):
            return r.status, ET.fromstring(data)
        assert r.status == 413 or not data.strip(), "not XML: %d %r" % (r.status, data[:300])
        return r.status, None

    def ok(self, method, path, query=(), body=None, status=200):
        st, doc = self.call(method, path, query, body)
        assert st == status, "%s %s -> %d %s" % (method, path, st, ET.tostring(doc) if doc is not None else "")
        return doc


def err(st_doc, status, code, contains=None):
    st, doc = st_doc
    text = ET.tostring(doc).decode() if doc is not None else ""
    assert st == status, "expected %d %s, got %d %s" % (status, code, st, text)
    if code == "InvalidChangeBatch":
        assert doc.tag == NS + "InvalidChangeBatch", text
        msgs = [m.text for m in doc.iter(NS + "Message")]
        assert msgs, text
        if contains:
            assert any(contains in m for m in msgs), text
        return msgs
    assert doc.tag == NS + "ErrorResponse", text
    assert doc.find(NS + "Error/" + NS + "Code").text == code, text
    msg = doc.find(NS + "Error/" + NS + "Message").text
    if contains:
        assert contains in msg, text
    return msg


def new_key(srv, keys, tenant):
    r = srv.api(keys.token(tenant)).post("/api/v1/r53-keys")
    assert r.status == 201, r
    assert r.json["tenant"] == tenant
    return R53(srv.api_port, r.json["access_key_id"], r.json["secret_access_key"])


def create_body(name, ref, comment=None):
    conf = "<HostedZoneConfig><Comment>%s</Comment></HostedZoneConfig>" % comment if comment is not None else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><CreateHostedZoneRequest '
            'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>%s</Name>'
            '<CallerReference>%s</CallerReference>%s</CreateHostedZoneRequest>' % (name, ref, conf))


def change(action, name, rtype, ttl=None, values=()):
    ttl_el = "<TTL>%s</TTL>" % ttl if ttl is not None else ""
    recs = ("<ResourceRecords>%s</ResourceRecords>" % "".join(
        "<ResourceRecord><Value>%s</Value></ResourceRecord>" % v for v in values)) if values else ""
    return ("<Change><Action>%s</Action><ResourceRecordSet><Name>%s</Name><Type>%s</Type>%s%s"
            "</ResourceRecordSet></Change>" % (action, name, rtype, ttl_el, recs))


def batch(*changes, comment=None):
    c = "<Comment>%s</Comment>" % comment if comment else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest '
            'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch>%s<Changes>%s</Changes>'
            '</ChangeBatch></ChangeResourceRecordSetsRequest>' % (c, "".join(changes)))


def zone_id(doc):
    return doc.find(NS + "HostedZone/" + NS + "Id").text.split("/")[-1]


def answers(srv, name, rtype="A"):
    r = srv.query(name, rtype)
    return sorted(rd.to_text() for rrset in r.answer for rd in rrset)


def rrsets(cli, zid, **q):
    doc = cli.ok("GET", "/2013-04-01/hostedzone/%s/rrset" % zid, sorted(q.items()))
    out = []
    for rs in doc.iter(NS + "ResourceRecordSet"):
        out.append((rs.find(NS + "Name").text, rs.find(NS + "Type").text, int(rs.find(NS + "TTL").text),
                    sorted(v.text for v in rs.iter(NS + "Value"))))
    return out, doc


def test_zone_life_cycle(srv, keys):
    cli = new_key(srv, keys, "r53-one")
    doc = cli.ok("POST", "/2013-04-01/hostedzone", body=create_body("life.test", "ref-1", "made by the test"),
                 status=201)
    zid = zone_id(doc)
    assert doc.find(NS + "HostedZone/" + NS + "Name").text == "life.test."
    assert doc.find(NS + "HostedZone/" + NS + "Config/" + NS + "Comment").text == "made by the test"
    ns = sorted(n.text for n in doc.iter(NS + "NameServer"))
    assert ns == ["ns1.tern.test.", "ns2.tern.test."]
    change_id = doc.find(NS + "ChangeInfo/" + NS + "Id").text.split("/")[-1]
    # served by the primary before the answer: nothing else (no PoPs) to wait for
    assert doc.find(NS + "ChangeInfo/" + NS + "Status").text == "INSYNC"
    g = cli.ok("GET", "/2013-04-01/change/%s" % change_id)
    assert g.find(NS + "ChangeInfo/" + NS + "Status").text == "INSYNC"
    assert srv.query("life.test", "SOA").answer, "the new zone is not served"

    g = cli.ok("GET", "/2013-04-01/hostedzone/%s" % zid)
    assert g.find(NS + "HostedZone/" + NS + "CallerReference").text == "ref-1"
    assert g.find(NS + "HostedZone/" + NS + "ResourceRecordSetCount").text == "2"  # SOA and NS
    assert sorted(n.text for n in g.iter(NS + "NameServer")) == ns

    count = cli.ok("GET", "/2013-04-01/hostedzonecount")
    assert count.find(NS + "HostedZoneCount").text == "1"

    # the same caller reference, the same name: HostedZoneAlreadyExists, nothing made
    err(cli.call("POST", "/2013-04-01/hostedzone", body=create_body("other.test", "ref-1")), 409,
        "HostedZoneAlreadyExists", "caller reference")
    err(cli.call("POST", "/2013-04-01/hostedzone", body=create_body("life.test.", "ref-2")), 409,
        "HostedZoneAlreadyExists")
    assert not srv.query("other.test", "SOA").answer

    # a zone with records is not deleted (HostedZoneNotEmpty), an empty one is
    cli.ok("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid,
           body=batch(change("CREATE", "www.life.test", "A", 300, ["192.0.2.1"])))
    err(cli.call("DELETE", "/2013-04-01/hostedzone/%s" % zid), 400, "HostedZoneNotEmpty")
    cli.ok("POST", "/2013-04-01/hostedzone/%s/rrset/" % zid,
           body=batch(change("DELETE", "www.life.test", "A", 300, ["192.0.2.1"])))
    d = cli.ok("DELETE", "/2013-04-01/hostedzone/%s" % zid)
    assert d.find(NS + "ChangeInfo/" + NS + "Status").text == "INSYNC"
    did = d.find(NS + "ChangeInfo/" + NS + "Id").text.split("/")[-1]
    assert cli.ok("GET", "/2013-04-01/change/%s" % did).find(NS + "ChangeInfo/" + NS + "Status").text == "INSYNC"
    assert srv.query("life.test", "SOA").rcode() == 5  # REFUSED: no longer served
    err(cli.call("GET", "/2013-04-01/hostedzone/%s" % zid), 404, "NoSuchHostedZone")
    err(cli.call("DELETE", "/2013-04-01/hostedzone/%s" % zid), 404, "NoSuchHostedZone")
    err(cli.call("GET", "/2013-04-01/change/%s" % change_id), 404, "NoSuchChange")
    err(cli.call("GET", "/2013-04-01/change/C123"), 404, "NoSuchChange")


def test_list_zones_paging(srv, keys):
    cli = new_key(srv, keys, "r53-list")
    names = ["b.list.test", "a.list.test", "c.list.test", "zz.list.test", "m.list.test"]
    ids = {}
    for i, n in enumerate(names):
        ids[n + "."] = zone_id(cli.ok("POST", "/2013-04-01/hostedzone", body=create_body(n, "l%d" % i), status=201))
    seen, marker = [], None
    while True:
        q = [("maxitems", "2")] + ([("marker", marker)] if marker else [])
        doc = cli.ok("GET", "/2013-04-01/hostedzone", q)
        page = [z.find(NS + "Name").text for z in doc.iter(NS + "HostedZone")]
        assert len(page) <= 2
        seen += page
        if doc.find(NS + "IsTruncated").text == "false":
            assert doc.find(NS + "NextMarker") is None
            break
        marker = doc.find(NS + "NextMarker").text
    assert seen == sorted(ids, key=lambda n: list(reversed(n.split(".")))), seen
    # by name: from a name on, with the next name and id to go on with
    doc = cli.ok("GET", "/2013-04-01/hostedzonesbyname", [("dnsname", "c.list.test"), ("maxitems", "1")])
    assert [z.find(NS + "Name").text for z in doc.iter(NS + "HostedZone")] == ["c.list.test."]
    assert doc.find(NS + "IsTruncated").text == "true"
    nxt = doc.find(NS + "NextDNSName").text
    assert nxt == "m.list.test."
    doc = cli.ok("GET", "/2013-04-01/hostedzonesbyname",
                 [("dnsname", nxt), ("hostedzoneid", doc.find(NS + "NextHostedZoneId").text)])
    assert [z.find(NS + "Name").text for z in doc.iter(NS + "HostedZone")] == ["m.list.test.", "zz.list.test."]
    err(cli.call("GET", "/2013-04-01/hostedzone", [("maxitems", "x")]), 400, "InvalidInput", "maxitems")
    err(cli.call("GET", "/2013-04-01/hostedzone", [("marker", "Z0000000000BAD")]), 400, "InvalidInput")
    assert cli.ok("GET", "/2013-04-01/hostedzonecount").find(NS + "HostedZoneCount").text == "5"


def test_change_batches(srv, keys):
    cli = new_key(srv, keys, "r53-rr")
    zid = zone_id(cli.ok("POST", "/2013-04-01/hostedzone", body=create_body("rr.test", "rr"), status=201))
    path = "/2013-04-01/hostedzone/%s/rrset/" % zid
    doc = cli.ok("POST", path, body=batch(
        change("CREATE", "www.rr.test", "A", 300, ["192.0.2.1", "192.0.2.2"]),
        change("CREATE", "rr.test.", "MX", 3600, ["10 mail.rr.test"]),
        change("CREATE", "txt.rr.test", "TXT", 60, ['"hello world"']),
        change("UPSERT", "api.rr.test", "AAAA", 120, ["2001:db8::1"]), comment="first"))
    ci = doc.find(NS + "ChangeInfo")
    assert ci.find(NS + "Status").text == "INSYNC" and ci.find(NS + "Comment").text == "first"
    assert answers(srv, "www.rr.test") == ["192.0.2.1", "192.0.2.2"]
    assert answers(srv, "rr.test", "MX") == ["10 mail.rr.test."]
    assert answers(srv, "txt.rr.test", "TXT") == ['"hello world"']
    assert answers(srv, "api.rr.test", "AAAA") == ["2001:db8::1"]
    serial = srv.query("rr.test", "SOA").answer[0][0].serial

    # UPSERT replaces; DELETE then CREATE of one RRset in a batch is one change
    cli.ok("POST", path, body=batch(change("UPSERT", "www.rr.test", "A", 60, ["192.0.2.9"]),
                                    change("DELETE", "api.rr.test", "AAAA", 120, ["2001:db8::1"]),
                                    change("CREATE", "api.rr.test", "AAAA", 120, ["2001:db8::2"])))
    assert answers(srv, "www.rr.test") == ["192.0.2.9"]
    assert answers(srv, "api.rr.test", "AAAA") == ["2001:db8::2"]
    serial2 = srv.query("rr.test", "SOA").answer[0][0].serial
    assert serial2 != serial

    # InvalidChangeBatch: CREATE of an existing RRset, DELETE of a missing one or with other
    # values; nothing of the batch applied (the good change beside them neither)
    good = change("CREATE", "new.rr.test", "A", 60, ["192.0.2.50"])
    for bad, words in [(change("CREATE", "www.rr.test", "A", 60, ["192.0.2.3"]), "already exists"),
                       (change("DELETE", "nope.rr.test", "A", 60, ["192.0.2.3"]), "was not found"),
                       (change("DELETE", "www.rr.test", "A", 60, ["192.0.2.1"]), "do not match")]:
        msgs = err(cli.call("POST", path, body=batch(good, bad)), 400, "InvalidChangeBatch", words)
        assert any("Tried to" in m for m in msgs)
        assert answers(srv, "new.rr.test") == []
        assert srv.query("rr.test", "SOA").answer[0][0].serial == serial2
    # a CNAME beside other data: the zone's rules, as InvalidChangeBatch
    err(cli.call("POST", path, body=batch(change("CREATE", "www.rr.test", "CNAME", 60, ["x.example."]))), 400,
        "InvalidChangeBatch")

    # InvalidInput: malformed XML, unknown actions, TTLs out of range, names outside the zone, bad values
    inputs = {
        "malformed": "<ChangeResourceRecordSetsRequest><ChangeBatch>",
        "not xml": "hello",
        "doctype": '<!DOCTYPE x [<!ENTITY a "aaaa">]><ChangeResourceRecordSetsRequest/>',
        "deep": "<a>" * 40 + "</a>" * 40,
        "action": batch(change("REPLACE", "x.rr.test", "A", 60, ["192.0.2.1"])),
        "ttl high": batch(change("CREATE", "x.rr.test", "A", 2147483648, ["192.0.2.1"])),
        "ttl negative": batch(change("CREATE", "x.rr.test", "A", -1, ["192.0.2.1"])),
        "ttl text": batch(change("CREATE", "x.rr.test", "A", "soon", ["192.0.2.1"])),
        "outside": batch(change("CREATE", "www.example.org", "A", 60, ["192.0.2.1"])),
        "bad value": batch(change("CREATE", "x.rr.test", "A", 60, ["192.0.2.300"])),
        "bad type": batch(change("CREATE", "x.rr.test", "BOGUS", 60, ["1"])),
        "soa": batch(change("UPSERT", "rr.test", "SOA", 60, ["a. b. 1 2 3 4 5"])),
        "no ttl": batch(change("CREATE", "x.rr.test", "A", None, ["192.0.2.1"])),
        "alias": batch("<Change><Action>CREATE</Action><ResourceRecordSet><Name>x.rr.test</Name><Type>A</Type>"
                       "<AliasTarget><HostedZoneId>Z1</HostedZoneId><DNSName>a.</DNSName>"
                       "<EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>"
                       "</Change>"),
        "unknown element": batch(change("CREATE", "x.rr.test", "A", 60, ["192.0.2.1"]) + "<Extra/>"),
        "empty": batch(),
    }
    for what, body in inputs.items():
        msg = err(cli.call("POST", path, body=body), 400, "InvalidInput")
        assert msg, what
    assert srv.query("rr.test", "SOA").answer[0][0].serial == serial2, "a refused batch changed the zone"
    assert answers(srv, "x.rr.test") == []

    # the listing with its paging: every RRset once, in order, with NextRecordName/Type
    full, _ = rrsets(cli, zid)
    assert ("www.rr.test.", "A", 60, ["192.0.2.9"]) in full
    assert ("txt.rr.test.", "TXT", 60, ['"hello world"']) in full
    assert any(r[1] == "SOA" for r in full) and any(r[1] == "NS" for r in full)
    paged, q = [], {}
    while True:
        page, doc = rrsets(cli, zid, maxitems="2", **q)
        assert len(page) <= 2
        paged += page
        if doc.find(NS + "IsTruncated").text == "false":
            break
        q = {"name": doc.find(NS + "NextRecordName").text, "type": doc.find(NS + "NextRecordType").text}
    assert paged == full
    page, doc = rrsets(cli, zid, name="www.rr.test", type="A", maxitems="1")
    assert page == [("www.rr.test.", "A", 60, ["192.0.2.9"])]
    err(cli.call("GET", "/2013-04-01/hostedzone/%s/rrset" % zid, [("type", "A")]), 400, "InvalidInput")
    err(cli.call("GET", "/2013-04-01/hostedzone/%s/rrset" % zid, [("name", "x.rr.test"), ("type", "NOPE")]), 400,
        "InvalidInput")


def test_tags(srv, keys):
    cli = new_key(srv, keys, "r53-tags")
    zid = zone_id(cli.ok("POST", "/2013-04-01/hostedzone", body=create_body("tags.test", "t"), status=201))
    tags_path = "/2013-04-01/tags/hostedzone/%s" % zid

    def tags():
        doc = cli.ok("GET", tags_path)
        assert doc.find(NS + "ResourceTagSet/" + NS + "ResourceId").text == zid
        return {t.find(NS + "Key").text: t.find(NS + "Value").text for t in doc.iter(NS + "Tag")}

    assert tags() == {}
    body = ('<ChangeTagsForResourceRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><AddTags>'
            '<Tag><Key>env</Key><Value>test</Value></Tag><Tag><Key>team</Key><Value>dns &amp; co</Value></Tag>'
            '</AddTags></ChangeTagsForResourceRequest>')
    cli.ok("POST", tags_path, body=body)
    assert tags() == {"env": "test", "team": "dns & co"}
    body = ('<ChangeTagsForResourceRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><AddTags>'
            '<Tag><Key>env</Key><Value>prod</Value></Tag></AddTags><RemoveTagKeys><Key>team</Key></RemoveTagKeys>'
            '</ChangeTagsForResourceRequest>')
    cli.ok("POST", tags_path, body=body)
    assert tags() == {"env": "prod"}
    err(cli.call("POST", tags_path, body="<ChangeTagsForResourceRequest><AddTags><Tag><Value>x</Value></Tag>"
                                         "</AddTags></ChangeTagsForResourceRequest>"), 400, "InvalidInput", "Key")
    err(cli.call("GET", "/2013-04-01/tags/healthcheck/abc"), 400, "InvalidInput")
    err(cli.call("GET", "/2013-04-01/tags/hostedzone/Z00000000009999"), 404, "NoSuchHostedZone")


def test_signatures(srv, keys):
    cli = new_key(srv, keys, "r53-sig")
    cli.ok("GET", "/2013-04-01/hostedzonecount")
    # a query string is signed too
    cli.ok("GET", "/2013-04-01/hostedzone", [("maxitems", "5")])
    wrong = R53(srv.api_port, cli.akid, cli.secret[:-1] + ("A" if cli.secret[-1] != "A" else "B"))
    err(wrong.call("GET", "/2013-04-01/hostedzonecount"), 403, "SignatureDoesNotMatch")

    def other_date(h):
        h["X-Amz-Date"] = h["X-Amz-Date"][:-3] + ("00Z" if h["X-Amz-Date"][-3:] != "00Z" else "01Z")

    err(cli.call("GET", "/2013-04-01/hostedzonecount", tamper=other_date), 403, "SignatureDoesNotMatch")
    # a body changed after signing
    st = cli.call("POST", "/2013-04-01/hostedzone", body=create_body("sig.test", "s1"),
                  tamper=lambda h: h.update(Authorization=h["Authorization"].replace("Signature=", "Signature=0")
                                            [:-1]))
    err(st, 403, "SignatureDoesNotMatch")
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    err(cli.call("GET", "/2013-04-01/hostedzonecount", when=old), 403, "SignatureDoesNotMatch", "expired")
    err(cli.call("GET", "/2013-04-01/hostedzonecount", service="s3"), 403, "SignatureDoesNotMatch", "route53")
    # any region is accepted when it is the one signed
    cli.ok("GET", "/2013-04-01/hostedzonecount") if True else None
    st, _ = cli.call("GET", "/2013-04-01/hostedzonecount", region="eu-west-3")
    assert st == 200
    nobody = R53(srv.api_port, "AKTNNOBODY000000000", "secret")
    err(nobody.call("GET", "/2013-04-01/hostedzonecount"), 403, "InvalidClientTokenId")
    err(cli.call("GET", "/2013-04-01/hostedzonecount", tamper=lambda h: h.pop("Authorization")), 403,
        "MissingAuthenticationToken")
    err(cli.call("GET", "/2013-04-01/hostedzonecount",
                 tamper=lambda h: h.update(Authorization="AWS4-HMAC-SHA256 Credential=x")), 403,
        "IncompleteSignature")
    assert not srv.query("sig.test", "SOA").answer

    # a deleted key is refused; another tenant cannot delete a key
    api = srv.api(keys.token("r53-sig"))
    assert srv.api(keys.token("r53-thief")).delete("/api/v1/r53-keys/%s" % cli.akid).status == 404
    assert api.delete("/api/v1/r53-keys/%s" % cli.akid).status == 204
    err(cli.call("GET", "/2013-04-01/hostedzonecount"), 403, "InvalidClientTokenId")
    assert api.delete("/api/v1/r53-keys/%s" % cli.akid).status == 404
    # a token narrowed to some zones, or read-only, makes no key
    r = srv.api(keys.token("r53-sig", scope={"zones": ["x.test"]})).post("/api/v1/r53-keys")
    assert r.status == 403, r


def test_tenant_isolation(srv, keys):
    alice = new_key(srv, keys, "r53-alice")
    bob = new_key(srv, keys, "r53-bob")
    zid = zone_id(alice.ok("POST", "/2013-04-01/hostedzone", body=create_body("alice.test", "a"), status=201))
    change_id = alice.ok("POST", "/2013-04-01/hostedzone/%s/rrset" % zid, body=batch(
        change("CREATE", "www.alice.test", "A", 60, ["192.0.2.7"]))).find(NS + "ChangeInfo/" + NS + "Id").text
    for method, path, body in [("GET", "/2013-04-01/hostedzone/%s" % zid, None),
                               ("DELETE", "/2013-04-01/hostedzone/%s" % zid, None),
                               ("GET", "/2013-04-01/hostedzone/%s/rrset" % zid, None),
                               ("POST", "/2013-04-01/hostedzone/%s/rrset" % zid,
                                batch(change("UPSERT", "www.alice.test", "A", 60, ["192.0.2.66"]))),
                               ("GET", "/2013-04-01/tags/hostedzone/%s" % zid, None)]:
        err(bob.call(method, path, body=body), 404, "NoSuchHostedZone")
    err(bob.call("GET", "/2013-04-01/change/%s" % change_id.split("/")[-1]), 404, "NoSuchChange")
    doc = bob.ok("GET", "/2013-04-01/hostedzone")
    assert [z.find(NS + "Name").text for z in doc.iter(NS + "HostedZone")] == []
    assert bob.ok("GET", "/2013-04-01/hostedzonecount").find(NS + "HostedZoneCount").text == "0"
    # a name another tenant serves, or one inside it
    err(bob.call("POST", "/2013-04-01/hostedzone", body=create_body("alice.test", "b")), 409,
        "HostedZoneAlreadyExists")
    st, doc = bob.call("POST", "/2013-04-01/hostedzone", body=create_body("sub.alice.test", "b2"))
    assert st == 400 and doc.find(NS + "Error/" + NS + "Code").text == "ConflictingDomainExists", ET.tostring(doc)
    assert answers(srv, "www.alice.test") == ["192.0.2.7"]
    # the JSON API sees the zone as the tenant's, with the change made through the one write path
    r = srv.api(keys.token("r53-alice")).get("/api/v1/zones/alice.test/rrsets")
    assert r.status == 200 and any(s["name"] == "www.alice.test." for s in r.json["rrsets"])


def test_bad_bodies_on_create(srv, keys):
    cli = new_key(srv, keys, "r53-bad")
    for body, words in [("<CreateHostedZoneRequest><Name>x.test</Name></CreateHostedZoneRequest>", "CallerReference"),
                        ("<Other/>", "root element"),
                        ("<CreateHostedZoneRequest><Name>x.test</Name><CallerReference>r</CallerReference>"
                         "<VPC><VPCId>v</VPCId></VPC></CreateHostedZoneRequest>", "VPC"),
                        ("<CreateHostedZoneRequest><Name>x.test</Name><CallerReference>r</CallerReference>"
                         "<HostedZoneConfig><PrivateZone>true</PrivateZone></HostedZoneConfig>"
                         "</CreateHostedZoneRequest>", "PrivateZone"),
                        ("<CreateHostedZoneRequest><Name>x.test</Name><CallerReference>%s</CallerReference>"
                         "</CreateHostedZoneRequest>" % ("r" * 200), "CallerReference"),
                        ("<CreateHostedZoneRequest>" + "x" * (2 << 20), None)]:
        st, doc = cli.call("POST", "/2013-04-01/hostedzone", body=body)
        if st == 413:  # the HTTP server's own bound comes first for a body over 1 MiB
            continue
        err((st, doc), 400, "InvalidInput", words)
    err(cli.call("POST", "/2013-04-01/hostedzone", body=create_body("bad..name", "r")), 400, "InvalidDomainName")
    assert cli.ok("GET", "/2013-04-01/hostedzonecount").find(NS + "HostedZoneCount").text == "0"


def test_cli_keys(srv, keys):
    """`tern r53-key create` prints a key that signs; `tern r53-key delete` ends it."""
    import os
    import re
    import subprocess

    import ternlib
    cli_bin = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(ternlib.TERND), "tern"))
    env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % srv.api_port, TERN_TOKEN=keys.token("r53-cli"))
    p = subprocess.run([cli_bin, "r53-key", "create"], capture_output=True, text=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    m = re.search(r"access key (AKTN[A-Z2-7]{16}); its secret, shown this once:\n(\S{40})\n", p.stdout)
    assert m, p.stdout
    cli = R53(srv.api_port, m.group(1), m.group(2))
    cli.ok("POST", "/2013-04-01/hostedzone", body=create_body("cli.test", "c"), status=201)
    assert srv.api(keys.token("r53-cli")).get("/api/v1/zones/cli.test").status == 200
    p = subprocess.run([cli_bin, "r53-key", "delete", m.group(1)], capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    err(cli.call("GET", "/2013-04-01/hostedzonecount"), 403, "InvalidClientTokenId")
    p = subprocess.run([cli_bin, "r53-key", "delete", m.group(1)], capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode != 0 and "no access key" in p.stderr, (p.stdout, p.stderr)


def test_top_level_name(srv, keys):
    cli = new_key(srv, keys, "r53-tld")
    err(cli.call("POST", "/2013-04-01/hostedzone", body=create_body("tld", "t")), 400, "InvalidDomainName",
        "top-level")


def test_change_pending_until_every_pop_serves(tmp_path, keys):
    """With PoPs polled, a change is PENDING until each PoP's /healthz reports the zone served at its
    serial (or later), then INSYNC. The PoP here is a stand-in whose report the test sets."""
    import http.server
    import json
    import os
    import threading
    import time

    import ternlib
    from apilib import ApiTernd
    from ternlib import free_port

    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    report = {"status": "ok", "uptime": 1, "zones": 0, "serials": {}, "secondaries": {}}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(report).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    pop_port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", pop_port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    class WithPops(ApiTernd):
        def write_config(self, listen, extra_server=""):
            self.extra_top = ("pops:\n  interval: 0.2\n  timeout: 0.2\n  list:\n"
                              "    - {name: fake, healthz: \"http://127.0.0.1:%d/healthz\"}\n" % pop_port)
            super().write_config(listen, extra_server)

    s = WithPops(keys, workdir=str(tmp_path)).start()
    try:
        cli = new_key(s, keys, "r53-pops")
        doc = cli.ok("POST", "/2013-04-01/hostedzone", body=create_body("pend.test", "p"), status=201)
        zid = zone_id(doc)
        assert doc.find(NS + "ChangeInfo/" + NS + "Status").text == "PENDING"
        doc = cli.ok("POST", "/2013-04-01/hostedzone/%s/rrset" % zid,
                     body=batch(change("CREATE", "www.pend.test", "A", 60, ["192.0.2.8"])))
        cid = doc.find(NS + "ChangeInfo/" + NS + "Id").text.split("/")[-1]
        assert doc.find(NS + "ChangeInfo/" + NS + "Status").text == "PENDING"
        assert answers(s, "www.pend.test") == ["192.0.2.8"]  # the primary serves it already

        def status():
            return cli.ok("GET", "/2013-04-01/change/%s" % cid).find(NS + "ChangeInfo/" + NS + "Status").text

        serial = s.query("pend.test", "SOA").answer[0][0].serial
        # the PoP serves the version before: still PENDING, however long
        # (a PoP serves the zones its /healthz lists under "serials", at that serial)
        report["serials"] = {"pend.test.": serial - 1}
        report["secondaries"] = {"pend.test.": {"state": "ok", "serving": True, "serial": serial - 1,
                                                "last_transfer": 0}}
        time.sleep(1.0)
        assert status() == "PENDING"
        report["serials"]["pend.test."] = serial
        report["secondaries"]["pend.test."]["serial"] = serial
        deadline = time.time() + 10
        while status() != "INSYNC":
            assert time.time() < deadline, "still PENDING with the PoP at serial %d" % serial
            time.sleep(0.1)
    finally:
        httpd.shutdown()
        finish(s)


def test_zone_made_over_the_json_api(srv, keys):
    """A zone the JSON API made is the tenant's in Route 53's view too (its id found among the
    tenant's zones), and a write through one API is seen by the other."""
    api = srv.api(keys.token("r53-json"))
    api.create_zone("json.test")
    cli = new_key(srv, keys, "r53-json")
    doc = cli.ok("GET", "/2013-04-01/hostedzonesbyname", [("dnsname", "json.test")])
    zones = list(doc.iter(NS + "HostedZone"))
    assert [z.find(NS + "Name").text for z in zones] == ["json.test."]
    zid = zones[0].find(NS + "Id").text.split("/")[-1]
    g = cli.ok("GET", "/2013-04-01/hostedzone/%s" % zid)
    assert g.find(NS + "HostedZone/" + NS + "CallerReference").text == "tern-" + zid
    assert g.find(NS + "HostedZone/" + NS + "Config/" + NS + "Comment") is None
    cli.ok("POST", "/2013-04-01/hostedzone/%s/rrset" % zid,
           body=batch(change("CREATE", "a.json.test", "A", 60, ["192.0.2.77"])))
    assert api.get("/api/v1/zones/json.test/rrsets/a/A").json["records"] == ["192.0.2.77"]
    api.put_rrset("json.test", "b", "A", 60, ["192.0.2.78"])
    full, _ = rrsets(cli, zid, name="b.json.test", type="A", maxitems="1")
    assert full == [("b.json.test.", "A", 60, ["192.0.2.78"])]
