"""Zone files signed by ternd (zones[i].dnssec-policy): the file becomes a zone of the store, signed
online; its AXFR passes BIND's dnssec-verify, ldns-verify-zone and Knot's kzonecheck (each fails a
tampered copy); an edited file reloaded goes out by IXFR as only the changed RRsets, their
signatures, the NSEC records they touch and the SOA; an unchanged file writes nothing; a restart
serves the same signatures; the API cannot write such a zone; configurations that cannot work
are refused with file:line; and `make run`'s example configuration validates with delv."""
import os
import re
import shutil
import subprocess
import sys
import time

import dns.edns
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import apilib
from apilib import ApiTernd, keys  # noqa: F401 (fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import ROOT, TERND, free_port, terminate, wait_log, wait_udp
from xfrlib import ixfr_diffs, soa_serial, wait_serial

ZONE = "files.test"
FQDN = ZONE + "."
ZONE_TEXT = """$ORIGIN files.test.
$TTL 300
@       IN SOA ns1 hostmaster 100 7200 900 1209600 300
        IN NS  ns1
ns1     IN A   192.0.2.53
mx      IN A   192.0.2.25
www     IN A   192.0.2.1
www     IN AAAA 2001:db8::1
sub     IN NS  ns.sub
ns.sub  IN A   192.0.2.54
*.wild  IN TXT "wild"
"""


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.skip("%s is not installed" % name)
    return path


class FileTernd(ApiTernd):
    """ternd with the API's store and zone files, each {name: (path, policy or None)}."""

    def __init__(self, keys, workdir, files, notify=None):  # noqa: F811
        self.files = files
        self.notify = notify
        super().__init__(keys, workdir=workdir, api={"serial-policy": "increment"})

    def write_config(self, listen, extra_server=""):
        lines = ["server:", "  listen:"] + ["    - \"%s\"" % a for a in listen] + ["zones:"]
        for name, (path, policy) in self.files.items():
            lines += ["  - name: \"%s\"" % name, "    file: \"%s\"" % path]
            if policy:
                lines.append("    dnssec-policy: %s" % policy)
        lines += ["transfer:", "  allow: [127.0.0.0/8]"]
        if self.notify:
            lines.append("  notify: [\"127.0.0.1@%d\"]" % self.notify)
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.write_api()

    def write_api(self):
        lines = ["api:", "  listen: \"127.0.0.1@%d\"" % self.api_port, "  data-dir: \"%s\"" % self.data_dir,
                 "  jwks: \"%s\"" % self.keys.jwks, "  serial-policy: increment", "  rate-limit: 0"]
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n")


def write_zone(path, text):
    with open(path, "w") as f:
        f.write(text)


def axfr_text(srv, zone):
    lines, first = [], None
    for m in dns.query.xfr(srv.addr, zone, port=srv.port, timeout=10, relativize=False):
        for rs in m.answer:
            for rd in rs:
                line = "%s %d IN %s %s" % (rs.name.to_text(), rs.ttl, dns.rdatatype.to_text(rs.rdtype), rd.to_text())
                if first is None:
                    first = line
                elif line == first:
                    continue
                lines.append(line)
    return "\n".join(lines) + "\n"


def verifiers():
    return [
        lambda path, zone: [tool("dnssec-verify"), "-o", zone, "-x", path],
        lambda path, zone: [tool("ldns-verify-zone"), path],
        lambda path, zone: [tool("kzonecheck"), "-o", zone, "-d", "on", path],
    ]


def judge(text, zone, tmp_path, name):
    """[(tool, return code, output)] of every verifier over text."""
    path = os.path.join(str(tmp_path), name + ".db")
    write_zone(path, text)
    out = []
    for make in verifiers():
        cmd = make(path, zone)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        out.append((cmd[0], p.returncode, p.stdout[-2000:] + p.stderr[-2000:]))
    return out


def assert_verifies(text, zone, tmp_path):
    assert "RRSIG" in text and "DNSKEY" in text, text
    for cmd, rc, out in judge(text, zone, tmp_path, "zone"):
        assert rc == 0, "%s refused the signed zone:\n%s" % (cmd, out)
    tampered = re.sub(r"^(www\.%s \d+ IN A )192\.0\.2\.1$" % re.escape(zone), r"\g<1>192.0.2.111", text,
                      count=1, flags=re.M)
    assert tampered != text
    for cmd, rc, out in judge(tampered, zone, tmp_path, "tampered"):
        assert rc != 0, "%s accepted a tampered zone" % cmd


def wait_signed(srv, zone, timeout=20.0):
    end = time.time() + timeout
    while True:
        r = srv.query(zone, "DNSKEY", want_dnssec=True)
        if r.answer and any(rs.rdtype == dns.rdatatype.RRSIG for rs in r.answer):
            return
        assert time.time() < end, "%s never served signed:\n%s" % (zone, srv.log_text()[-3000:])
        time.sleep(0.05)


@pytest.fixture
def signed(keys, tmp_path):  # noqa: F811
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "files.test.zone")
    write_zone(path, ZONE_TEXT)
    srv = FileTernd(keys, str(work), {ZONE: (path, "default")})
    srv.start()
    wait_signed(srv, FQDN)
    yield srv, path
    srv.stop()


def reload_to(srv, serial):
    srv.reload()
    wait_serial(srv.addr, srv.port, FQDN, serial, log=srv.log_text)


def test_served_signed_and_verified(signed, tmp_path, keys):  # noqa: F811
    srv, _ = signed
    r = srv.query("www." + FQDN, "A", want_dnssec=True)
    assert {rs.rdtype for rs in r.answer} == {dns.rdatatype.A, dns.rdatatype.RRSIG}, r
    assert_verifies(axfr_text(srv, FQDN), FQDN, tmp_path)
    # the API reads it (an admin), but nobody writes it: its content is the file's
    admin = srv.api(keys.token("root", admin=True))
    assert admin.get("/api/v1/zones/%s/dnssec" % ZONE).json["state"] == "signed"
    r = admin.put("/api/v1/zones/%s/rrsets/x/A" % ZONE, {"ttl": 300, "records": ["192.0.2.9"]})
    apilib.assert_error(r, 409, "zone", "zone file")
    apilib.assert_error(admin.delete("/api/v1/zones/%s" % ZONE), 409, "zone", "zone file")
    apilib.assert_error(admin.delete("/api/v1/zones/%s/dnssec" % ZONE), 409, "zone", "zone file")
    apilib.assert_error(admin.post("/api/v1/zones/%s/import" % ZONE, raw=ZONE_TEXT.encode()), 409, "zone")
    assert srv.api(keys.token("tenant")).get("/api/v1/zones/%s" % ZONE).status == 404
    r = srv.api(keys.token(":config")).get("/api/v1/zones/%s" % ZONE)
    assert r.status == 401 and "reserved" in r.body.decode(), r


def test_reload_sends_only_the_changed_rrsets(signed):
    srv, path = signed
    s1 = soa_serial(srv.addr, srv.port, FQDN)
    # unchanged file: nothing written
    srv.reload()
    wait_log(srv.log_text, "reload done")
    assert soa_serial(srv.addr, srv.port, FQDN) == s1
    # a new name: its A, its NSEC, its predecessor's NSEC (mx), their RRSIGs, the SOA's RRSIG
    write_zone(path, ZONE_TEXT + "new IN A 192.0.2.77\n")
    reload_to(srv, s1 + 1)
    diffs = ixfr_diffs(srv, FQDN, s1)
    assert len(diffs) == 1, diffs
    removed, added = diffs[0]
    apex, new, mx = FQDN, "new." + FQDN, "mx." + FQDN
    assert added == {(new, "A"), (new, "NSEC"), (new, "RRSIG"), (mx, "NSEC"), (mx, "RRSIG"), (apex, "RRSIG")}, added
    assert removed == {(mx, "NSEC"), (mx, "RRSIG"), (apex, "RRSIG")}, removed
    # one RRset changed in place: its records and signatures, the SOA's; no chain record
    write_zone(path, ZONE_TEXT.replace("192.0.2.1\n", "192.0.2.9\n") + "new IN A 192.0.2.77\n")
    reload_to(srv, s1 + 2)
    removed, added = ixfr_diffs(srv, FQDN, s1 + 1)[0]
    www = "www." + FQDN
    assert added == {(www, "A"), (www, "RRSIG"), (apex, "RRSIG")}, added
    assert removed == added, removed
    # the file's SOA fields are taken (its serial only when ahead of the server's)
    write_zone(path, ZONE_TEXT.replace("100 7200", "100 3600").replace("192.0.2.1\n", "192.0.2.9\n") +
               "new IN A 192.0.2.77\n")
    reload_to(srv, s1 + 3)
    assert srv.query(FQDN, "SOA").answer[0][0].refresh == 3600
    write_zone(path, ZONE_TEXT.replace("100 7200", "5000 3600").replace("192.0.2.1\n", "192.0.2.9\n") +
               "new IN A 192.0.2.77\n")
    reload_to(srv, 5000)
    # a file that does not load leaves the zone served as it was
    write_zone(path, ZONE_TEXT + "bad IN A 300.1.1.1\n")
    srv.reload()
    wait_log(srv.log_text, "zone files.test not loaded")
    assert soa_serial(srv.addr, srv.port, FQDN) == 5000


def test_restart_serves_the_same_signatures(signed):
    srv, _ = signed
    before = sorted(axfr_text(srv, FQDN).splitlines())
    srv.stop()
    srv.start()
    assert sorted(axfr_text(srv, FQDN).splitlines()) == before
    assert "RRset change" not in srv.log_text()


def test_policy_removed_or_entry_removed(signed, keys):  # noqa: F811
    srv, path = signed
    serial = soa_serial(srv.addr, srv.port, FQDN)
    # the entry removed: the zone is no longer served; listed again, it comes back with its keys
    srv.files = {}
    srv.write_config(["127.0.0.1@%d" % srv.port])
    srv.stop()
    srv.start()
    assert srv.query(FQDN, "SOA").rcode() == dns.rcode.REFUSED
    srv.files = {ZONE: (path, "default")}
    srv.write_config(["127.0.0.1@%d" % srv.port])
    srv.reload()
    wait_serial(srv.addr, srv.port, FQDN, serial, log=srv.log_text)
    wait_signed(srv, FQDN)
    # its policy removed: signing goes off through the RFC 8078 delete CDS, the zone signed until the
    # DS is gone (test_config_unsign.py follows it to the end)
    srv.files = {ZONE: (path, None)}
    srv.write_config(["127.0.0.1@%d" % srv.port])
    srv.reload()
    wait_log(srv.log_text, "zone files.test: dnssec-policy removed: signing is turned off once the DS is gone")
    end = time.time() + 15
    while "0 0 0 00" not in [rd.to_text() for rs in srv.query(FQDN, "CDS", want_dnssec=True).answer for rd in rs]:
        assert time.time() < end, srv.log_text()[-3000:]
        time.sleep(0.1)
    wait_signed(srv, FQDN)
    # the policy given back meanwhile is refused, at a start too
    srv.files = {ZONE: (path, "default")}
    srv.write_config(["127.0.0.1@%d" % srv.port])
    srv.stop()
    srv.launch()
    assert srv.proc.wait(timeout=20) != 0
    srv.logf.close()
    srv.proc = None
    assert "ternd.yaml:7: zones[0]: files.test: its signing is being turned off" in srv.log_text(), \
        srv.log_text()[-2000:]


def check(tmp_path, text):
    cfg = tmp_path / "ternd.yaml"
    cfg.write_text(text)
    return subprocess.run([TERND, "--check", "-c", str(cfg)], capture_output=True, text=True, timeout=10)


BASE = 'server:\n  listen: ["127.0.0.1@53001"]\nzones:\n  - name: a.test\n    file: a.zone\n'


@pytest.mark.parametrize("tail,message", [
    ("    dnssec-policy: nosuch\napi:\n  listen: 127.0.0.1@53002\n  data-dir: d\n  jwks: j.json\n",
     "ternd.yaml:6: zones[0].dnssec-policy: no policy \"nosuch\" in dnssec-policies"),
    ("    dnssec-policy: default\n",
     "ternd.yaml:6: zones[0].dnssec-policy: a zone signed by ternd keeps its keys and signed versions in the store"),
    ("    primary: 192.0.2.1@53\n    catalog: true\n    dnssec-policy: default\napi:\n  listen: 127.0.0.1@53002\n  data-dir: d\n  jwks: j.json\n",
     "ternd.yaml:8: zones[0].dnssec-policy: a catalog consumed is read, not served to resolvers"),
])
def test_bad_configurations_refused_with_file_and_line(tmp_path, tail, message):
    p = check(tmp_path, BASE + tail)
    assert p.returncode != 0 and message in p.stderr, p.stderr
    # a named policy, or the default, is accepted
    (tmp_path / "a.zone").write_text("$ORIGIN a.test.\n@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 192.0.2.1\n")
    for policy in ("default", "fast"):
        ok = BASE + "    dnssec-policy: %s\napi:\n  listen: 127.0.0.1@53002\n  data-dir: d\n  jwks: j.json\n" % policy
        ok += "dnssec-policies:\n  - name: fast\n    keys: csk\n"
        p = check(tmp_path, ok)
        assert p.returncode == 0, p.stderr


def test_name_of_an_api_zone_refused(keys, tmp_path):  # noqa: F811
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "files.test.zone")
    write_zone(path, ZONE_TEXT)
    srv = FileTernd(keys, str(work), {})
    srv.start()
    try:
        srv.api(keys.token("acme")).create_zone(ZONE, zonefile=ZONE_TEXT)
        srv.files = {ZONE: (path, "default")}
        srv.write_config(["127.0.0.1@%d" % srv.port])
        srv.reload()
        wait_log(srv.log_text, "configuration not reloaded")
        assert ("ternd.yaml:5: zones[0]: files.test has a dnssec-policy, but the store holds an API zone of that "
                "name (tenant acme)") in srv.log_text(), srv.log_text()[-2000:]
    finally:
        srv.stop()


def test_example_configuration_validates_with_delv(tmp_path):
    """`make run`'s configuration, copied with free ports: served signed at once (ECDSA P-256, NSEC),
    its AXFR accepted by kzonecheck, and delv validates an answer from a trust anchor made of the
    zone's CDS (a wrong anchor fails)."""
    delv = tool("delv")
    work = tmp_path / "run"
    os.makedirs(str(work))
    for f in ("ternd.yaml", "example.com.zone", "geo.example.com.zone"):
        shutil.copy(os.path.join(ROOT, "examples", f), str(work / f))
    port, api_port = free_port(), free_port()
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "devtoken.py"), str(work / "keys"),
                    "--tenant", "example"], check=True, capture_output=True)
    cfg = (work / "ternd.yaml").read_text()
    cfg = cfg.replace("127.0.0.1@5300", "127.0.0.1@%d" % port).replace("127.0.0.1@8053", "127.0.0.1@%d" % api_port)
    cfg = cfg.replace("../run/data", "data").replace("../run/keys/jwks.json", "keys/jwks.json")
    # DNS over TLS with the certificate `make run` makes (tools/devcert.sh)
    tls_port = free_port()
    subprocess.run([os.path.join(ROOT, "tools", "devcert.sh"), str(work / "tls")], check=True)
    assert "127.0.0.1@8530" in cfg and "../run/tls/" in cfg
    cfg = cfg.replace("127.0.0.1@8530", "127.0.0.1@%d" % tls_port).replace("../run/tls/", "tls/")
    assert "dnssec-policy: default" in cfg
    (work / "ternd.yaml").write_text(cfg)
    log = open(str(work / "ternd.log"), "w")
    proc = subprocess.Popen([TERND, "-c", "ternd.yaml"], cwd=str(work), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_udp("127.0.0.1", port, proc=proc)
        q = dns.message.make_query("www.example.com.", "A", want_dnssec=True)
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)  # ready means signed
        assert [rs.rdtype for rs in r.answer] == [dns.rdatatype.A, dns.rdatatype.RRSIG], r
        assert r.answer[1][0].algorithm == 13
        # the dynamic example: by client subnet, scope 24; the rest get the world pool
        geo = dns.message.make_query("geo.example.com.", "A", use_edns=0,
                                     options=[dns.edns.ECSOption("198.51.100.7", 24)])
        r = dns.query.udp(geo, "127.0.0.1", port=port, timeout=3)
        assert [rd.address for rd in r.answer[0]] == ["192.0.2.100"], r
        assert [o.scopelen for o in r.options if o.otype == dns.edns.ECS] == [24]
        r = dns.query.udp(dns.message.make_query("geo.example.com.", "A"), "127.0.0.1", port=port, timeout=3)
        assert [rd.address for rd in r.answer[0]] == ["192.0.2.1"], r
        # kdig +tls, as the README says, verifying the certificate made for localhost
        kdig = subprocess.run([tool("kdig"), "@127.0.0.1", "-p", str(tls_port), "+tls",
                               "+tls-ca=%s" % (work / "tls" / "cert.pem"), "+tls-hostname=localhost", "+short",
                               "www.example.com", "A"], capture_output=True, text=True, timeout=30)
        udp = dns.query.udp(dns.message.make_query("www.example.com.", "A"), "127.0.0.1", port=port, timeout=3)
        assert kdig.returncode == 0 and kdig.stdout.split() == [rd.to_text() for rd in udp.answer[0]], kdig
        keys_ = dns.query.udp(dns.message.make_query("example.com.", "DNSKEY", want_dnssec=True), "127.0.0.1",
                              port=port, timeout=3)
        assert {k.algorithm for k in keys_.answer[0]} == {13}
        srv = type("S", (), {"addr": "127.0.0.1", "port": port})
        text = axfr_text(srv, "example.com.")
        assert " NSEC " in text and " NSEC3 " not in text
        (work / "axfr.db").write_text(text)
        p = subprocess.run([tool("kzonecheck"), "-o", "example.com.", "-d", "on", str(work / "axfr.db")],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        cds = dns.query.udp(dns.message.make_query("example.com.", "CDS"), "127.0.0.1", port=port, timeout=3)
        ds = cds.answer[0][0]
        anchor = 'trust-anchors { example.com. static-ds %d %d %d "%s"; };\n' % (
            ds.key_tag, ds.algorithm, ds.digest_type, ds.digest.hex().upper())
        (work / "anchor.conf").write_text(anchor)
        cmd = [delv, "@127.0.0.1", "-p", str(port), "-a", str(work / "anchor.conf"), "+root=example.com",
               "www.example.com", "A"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert "; fully validated" in p.stdout and "192.0.2.80" in p.stdout, p.stdout + p.stderr
        digest = ds.digest.hex().upper()
        wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
        (work / "wrong.conf").write_text(anchor.replace(digest, wrong))
        cmd[5] = str(work / "wrong.conf")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert "fully validated" not in p.stdout and "broken trust chain" in p.stderr, p.stdout + p.stderr
    finally:
        terminate(proc)
        log.close()


def test_ttl_above_max_zone_ttl_refused_until_fixed(keys, tmp_path):  # noqa: F811
    """A record above the policy's max-zone-ttl: the zone is not stored nor served (no zone is left
    stored but unsigned), the log names the record; once the file is fixed a reload serves it signed."""
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "files.test.zone")
    write_zone(path, ZONE_TEXT + "long 172800 IN TXT \"two days\"\n")
    srv = FileTernd(keys, str(work), {ZONE: (path, "default")})
    srv.start()
    try:
        wait_log(srv.log_text, "long.files.test. TXT has TTL 172800, above the dnssec-policy's max-zone-ttl 86400")
        assert srv.query(FQDN, "SOA").rcode() == dns.rcode.REFUSED
        admin = srv.api(keys.token("root", admin=True))
        assert admin.get("/api/v1/zones/%s" % ZONE).status == 404
        write_zone(path, ZONE_TEXT)
        srv.reload()
        wait_signed(srv, FQDN)
    finally:
        srv.stop()


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_secondary_follows_a_reloaded_file_by_notify_and_ixfr(keys, tmp_path):  # noqa: F811
    """The file edited and reloaded goes out like any change: NOTIFY at once, then an IXFR Knot
    applies, and Knot's copy verifies."""
    work = tmp_path / "ternd"
    os.makedirs(str(work))
    path = str(work / "files.test.zone")
    write_zone(path, ZONE_TEXT)
    kport = free_port()
    srv = FileTernd(keys, str(work), {ZONE: (path, "default")}, notify=kport)
    srv.start()
    knot = KnotSecondary(tmp_path / "knot", FQDN, srv.port, port=kport, transfer=True)
    try:
        wait_signed(srv, FQDN)
        knot.start()
        log = lambda: knot.log_text()[-4000:]  # noqa: E731
        serial = soa_serial(srv.addr, srv.port, FQDN)
        wait_serial("127.0.0.1", kport, FQDN, serial, timeout=15, log=log)
        write_zone(path, ZONE_TEXT + "added IN TXT \"by ixfr\"\n")
        srv.reload()
        wait_serial("127.0.0.1", kport, FQDN, serial + 1, timeout=15, log=log)
        assert [ln for ln in knot.log_text().splitlines() if "IXFR, incoming" in ln], log()
        knot_srv = type("S", (), {"addr": "127.0.0.1", "port": kport})
        text = axfr_text(knot_srv, FQDN)
        assert "added.files.test." in text
        for cmd, rc, out in judge(text, FQDN, tmp_path, "knot"):
            assert rc == 0, "%s refused Knot's copy:\n%s" % (cmd, out)
    finally:
        knot.stop()
        srv.stop()
