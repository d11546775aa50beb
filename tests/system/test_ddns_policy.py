"""Dynamic updates (issue 24) and the rules around them: DNSSEC records in an update to a zone Tern
signs are REFUSED (its signer keeps them; RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS, CDNSKEY);
a tenant's updates take from the same rate-limit bucket as its API requests (over it: REFUSED
with an Extended DNS Error saying so, logged); and a signed update stays allowed while reloads
replace the answering parameters under it (the key was once looked up by a pointer into a
second read of them)."""
import threading
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from apilib import ApiTernd, keys  # noqa: F401 (the keys fixture)
from test_ddns import ACME, DDNS, upd

ZONE = "dyn.test."
SIGNED = "signed.test."


class PolicyTernd(ApiTernd):
    """ternd whose key ddns-key may update dyn.test and signed.test; api options as given."""

    def __init__(self, keys, workdir, api):  # noqa: F811
        super().__init__(keys, workdir=workdir, api=dict({"serial-policy": "increment"}, **api))

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        lines = ["keys:"] + ["  - {name: %s, algorithm: %s, secret: \"%s\"}" % k for k in (DDNS, ACME)]
        lines += ["update:", "  acl:", "    - key: %s" % DDNS[0], "      zones: [%s, %s]" % (ZONE, SIGNED)]
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n")


def start(keys, tmp_path, **api):  # noqa: F811
    (tmp_path / "ternd").mkdir()
    t = PolicyTernd(keys, str(tmp_path / "ternd"), api).start()
    a = t.api(keys.token("dyn"))
    a.create_zone(ZONE, rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    return t, a


def stop(t):
    t.stop()
    assert "AddressSanitizer" not in t.log_text()


def send(t, u, tcp=False):
    if tcp:
        return dns.query.tcp(u, "127.0.0.1", port=t.port, timeout=5)
    return dns.query.udp(u, "127.0.0.1", port=t.port, timeout=5)


def ede_texts(r):
    return [o.text or "" for o in r.options if o.otype == dns.edns.EDE]


def test_dnssec_records_refused_in_a_signed_zone(keys, tmp_path):  # noqa: F811
    t, api = start(keys, tmp_path, **{"rate-limit": 0})
    try:
        api.create_zone(SIGNED, rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
        # before signing, the zone takes a DNSKEY as any record (it is the user's to keep)
        u = upd(SIGNED)
        u.add("@", 300, "DNSKEY", "256 3 13 " + "A" * 88)
        assert send(t, u).rcode() == dns.rcode.NOERROR
        u = upd(SIGNED)
        u.delete("@", "DNSKEY")
        assert send(t, u).rcode() == dns.rcode.NOERROR
        assert api.put("/api/v1/zones/%s/dnssec" % SIGNED, {"denial": "nsec"}).status == 202
        end = time.time() + 20
        while api.get("/api/v1/zones/%s/dnssec" % SIGNED).json["state"] != "signed":
            assert time.time() < end
            time.sleep(0.1)
        before = api.serial(SIGNED)
        records = [("RRSIG", "A 13 3 300 20300101000000 20200101000000 12345 signed.test. " + "A" * 88),
                   ("NSEC", "www.signed.test. A NS SOA RRSIG NSEC DNSKEY"),
                   ("NSEC3", "1 0 0 - 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A RRSIG"),
                   ("NSEC3PARAM", "1 0 0 -"),
                   ("DNSKEY", "256 3 13 " + "A" * 88),
                   ("CDS", "12345 13 2 " + "ab" * 32),
                   ("CDNSKEY", "257 3 13 " + "A" * 88)]
        for rtype, rdata in records:
            u = upd(SIGNED)
            u.use_edns(0)
            u.add("@", 300, rtype, rdata)
            r = send(t, u)
            assert r.rcode() == dns.rcode.REFUSED, rtype
            assert any("signed by Tern" in x for x in ede_texts(r)), (rtype, ede_texts(r))
        # deleting the signer's records is refused too, alone or beside an ordinary change
        for build in [lambda u: u.delete("@", "RRSIG"), lambda u: u.delete("@", "DNSKEY"),
                      lambda u: (u.add("new", 300, "A", "192.0.2.9"), u.delete("www", "RRSIG"))]:
            u = upd(SIGNED)
            build(u)
            assert send(t, u).rcode() == dns.rcode.REFUSED
        assert api.serial(SIGNED) == before
        # an ordinary update to the signed zone is written and signed
        u = upd(SIGNED)
        u.add("new", 300, "A", "192.0.2.9")
        assert send(t, u).rcode() == dns.rcode.NOERROR
        q = dns.message.make_query("new." + SIGNED, "A", want_dnssec=True)
        r = dns.query.udp(q, "127.0.0.1", port=t.port, timeout=3)
        types = {rs.rdtype for rs in r.answer}
        assert types == {dns.rdatatype.A, dns.rdatatype.RRSIG}, r
        assert t.log_text().count("signed by Tern") >= len(records) + 3
    finally:
        stop(t)


def test_rate_limit_shared_with_the_api(keys, tmp_path):  # noqa: F811
    t, api = start(keys, tmp_path, **{"rate-limit": 1, "rate-burst": 3})
    try:
        while api.get("/api/v1/zones/%s" % ZONE).status != 429:  # the API drains the tenant's bucket
            pass
        u = upd()
        u.use_edns(0)
        u.add("late", 60, "A", "192.0.2.3")
        r = send(t, u)
        assert r.rcode() == dns.rcode.REFUSED
        assert any("rate limit of 1 requests a second for tenant dyn" in x for x in ede_texts(r)), ede_texts(r)
        assert "rate limit of 1 requests a second for tenant dyn" in t.log_text()
        time.sleep(1.2)  # one token back: the update takes it, and the API is refused after
        u = upd()
        u.add("late", 60, "A", "192.0.2.3")
        assert send(t, u).rcode() == dns.rcode.NOERROR
        r = api.get("/api/v1/zones/%s" % ZONE)
        assert r.status == 429, r
        served = dns.query.udp(dns.message.make_query("late." + ZONE, "A"), "127.0.0.1", port=t.port, timeout=3)
        assert [rd.to_text() for rs in served.answer for rd in rs] == ["192.0.2.3"]
    finally:
        stop(t)


def test_signed_updates_allowed_across_reloads(keys, tmp_path):  # noqa: F811
    t, api = start(keys, tmp_path, **{"rate-limit": 0})
    stopping = threading.Event()

    def hup():
        while not stopping.is_set():
            t.reload()
            time.sleep(0.002)

    h = threading.Thread(target=hup)
    h.start()
    try:
        rcodes = []
        for i in range(300):
            u = upd()
            u.add("r%d" % i, 60, "A", "192.0.2.4")
            rcodes.append(send(t, u, tcp=i % 2 == 1).rcode())
    finally:
        stopping.set()
        h.join()
    try:
        refused = [i for i, rc in enumerate(rcodes) if rc != dns.rcode.NOERROR]
        assert not refused, (refused, [ln for ln in t.log_text().splitlines() if "refused" in ln][:5])
        assert "may not add" not in t.log_text()
    finally:
        stop(t)
