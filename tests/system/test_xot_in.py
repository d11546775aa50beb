"""XoT in (RFC 9103): ternd as a secondary pulling over TLS from BIND 9.18 (a tls:// primary). The
primary's certificate is checked as section 9.3 strict TLS: by name against a CA file (a test CA
made here with openssl), or by SPKI pin. BIND allows transfers over TLS only, so every zone that
arrives came over TLS; a wrong name, a wrong pin or an untrusted CA stops the transfer and says
so in the log and /healthz; an IXFR after a change goes over TLS; a catalog's members inherit
its TLS settings; NSD 4.6 serves as an XoT primary too; `ternd --check` names the field of bad
TLS settings."""
import base64
import hashlib
import http.client
import json
import os
import subprocess
import time

import dns.exception
import dns.query
import dns.rcode
import pytest

import ternlib
from bindlib import NAMED, named_available
from nsdlib import NSD, NSD_SERVER, nsd_available
from sysutil import tcp_listener
from ternlib import free_port, wait_udp
from test_secondary import ZONE, Secondary, a_record, send_notify, soa_serial, wait_serial, zone_text
from xfrlib import Peer, stop_ok, stop_started  # noqa: F401 (an autouse fixture)
from xfrlib import started

needs_named = pytest.mark.skipif(not named_available(), reason="named not installed")

NAME = "ns1.xot.test"  # the name in the primary's certificate


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            name + ".key", "-out", name + ".crt", "-subj", "/CN=%s" % name, "-days", "2", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, name + ".crt")


def make_pki(tmp_path):
    """A test CA, a certificate of NAME (and 127.0.0.1) it signs for the primary, and another CA
    that signed nothing ternd sees: {ca, other_ca, cert, key, pin}."""
    d = str(tmp_path / "pki")
    os.makedirs(d, exist_ok=True)
    ca = make_ca(d, "ca")
    other = make_ca(d, "other")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "srv.key", "-out",
            "srv.csr", "-subj", "/CN=%s" % NAME, cwd=d)
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" % NAME)
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            "srv.crt", "-days", "2", "-extfile", "ext", cwd=d)
    der = subprocess.run(["openssl", "pkey", "-in", os.path.join(d, "srv.key"), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=30).stdout
    pin = base64.b64encode(hashlib.sha256(der).digest()).decode()
    return {"ca": ca, "other_ca": other, "cert": os.path.join(d, "srv.crt"), "key": os.path.join(d, "srv.key"),
            "pin": pin}


NAMED_TLS_CONF = """tls xot {{ cert-file "{cert}"; key-file "{key}"; }};
options {{
    directory "{dir}";
    pid-file "{dir}/named.pid";
    session-keyfile "{dir}/session.key";
    managed-keys-directory "{dir}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on port {tls_port} tls xot {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-transfer port {tls_port} transport tls {{ 127.0.0.0/8; }};
    notify explicit;
    notify-delay 0;
    also-notify {{ 127.0.0.1 port {notify}; }};
    ixfr-from-differences yes;
    dnssec-validation no;
}};
controls {{ }};
{zones}
"""


class XotNamed(Peer):
    """named serving zones {name: text} on plain DNS (port) and DNS over TLS (tls_port) with the
    test CA's certificate; transfers only over TLS; NOTIFY to notify_port."""

    def __init__(self, workdir, zones, pki, notify_port):
        self.port, self.tls_port = free_port(), free_port()
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(self.dir, "named.log")
        self.config = os.path.join(self.dir, "named.conf")
        self.files = {}
        blocks = []
        for name, text in zones.items():
            self.files[name] = os.path.join(self.dir, name + ".zone")
            with open(self.files[name], "w") as f:
                f.write(text)
            blocks.append('zone "%s" { type primary; file "%s"; };' % (name, self.files[name]))
        with open(self.config, "w") as f:
            f.write(NAMED_TLS_CONF.format(cert=pki["cert"], key=pki["key"], dir=self.dir, port=self.port,
                                          tls_port=self.tls_port, notify=notify_port, zones="\n".join(blocks)))
        self.first = next(iter(zones))

    def start(self):
        self.launch([NAMED, "-g", "-c", self.config])
        wait_udp(self.addr, self.port, proc=self.proc)
        return self.wait_soa(self.first)

    def change(self, name, text):
        """A new zone file, newer than the last (BIND reloads only newer files), and SIGHUP."""
        with open(self.files[name], "w") as f:
            f.write(text)
        os.utime(self.files[name], (time.time() + 2, time.time() + 2))
        self.proc.send_signal(1)

    def primary(self):
        return "tls://127.0.0.1@%d" % self.tls_port


class XotSecondary(Secondary):
    """ternd pulling {zone: [primaries]}, each zone's TLS keys in tls {zone: {key: value}}, and an
    API serving /healthz."""

    def __init__(self, secondaries, tls, catalogs=(), extra="", **kw):
        self.tls = tls
        self.catalogs = set(catalogs)
        self.api_port = free_port()
        super().__init__(secondaries, extra="api:\n  listen: 127.0.0.1@%d\n" % self.api_port + extra, **kw)

    def write_config(self, listen, extra_server=""):
        super(Secondary, self).write_config(listen, extra_server)
        lines = []
        for name, primaries in self.secondaries.items():
            lines += ['  - name: "%s"' % name, "    primary: [%s]" % ", ".join('"%s"' % p for p in primaries)]
            if name in self.catalogs:
                lines.append("    catalog: true")
            lines += ['    %s: "%s"' % kv for kv in self.tls.get(name, {}).items()]
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n" + self.extra)

    def healthz(self):
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=5)
        c.request("GET", "/healthz")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, body
        return json.loads(body)["secondaries"]


def wait_log(t, text, timeout=10.0):
    deadline = time.time() + timeout
    while text not in t.log_text():
        assert time.time() < deadline, "%r never logged:\n%s" % (text, t.log_text()[-5000:])
        time.sleep(0.05)


def tls_clients(port):
    """The local ports of the TCP connections established to 127.0.0.1@port (ss)."""
    out = subprocess.run(["ss", "-Htn", "state", "established", "( dport = :%d )" % port], capture_output=True,
                         text=True, check=True, timeout=10).stdout
    return {line.split()[2].rsplit(":", 1)[1] for line in out.splitlines() if line.strip()}


def plain_axfr_refused(named, zone):
    """BIND refuses the zone by AXFR over plain TCP: what ternd holds came over TLS."""
    try:
        list(dns.query.xfr("127.0.0.1", zone, port=named.port, timeout=5))
    except dns.exception.FormError:
        return True
    except dns.query.TransferError as e:
        return e.rcode == dns.rcode.REFUSED
    return False


@needs_named
def test_ca_and_name_then_ixfr_over_tls(tmp_path):
    """CA file + name: the first copy by AXFR over TLS, a change on BIND (NOTIFY over UDP) by IXFR
    over TLS; the SOA refresh goes over TLS too; /healthz shows the zone ok."""
    pki = make_pki(tmp_path)
    pop_port = free_port()
    named = started.add(XotNamed(tmp_path / "bind", {ZONE: zone_text(1, hosts=500)}, pki, pop_port))
    assert plain_axfr_refused(named, ZONE)
    t = XotSecondary({ZONE: [named.primary()]}, {ZONE: {"tls-auth-name": NAME, "tls-ca-file": pki["ca"]}},
                     extra="transfer:\n  refresh-workers: 1\n", port=pop_port, workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 1, log=t.log_text)
    wait_log(t, "transferred serial 1 from %s by AXFR" % named.primary())
    assert a_record(t.port, "h499.pop.test.") == ["10.0.1.243"]
    h = t.healthz()["pop.test."]
    assert h["state"] == "ok" and h["serving"] and h["last_error"] == "", h

    named.change(ZONE, zone_text(2, www="192.0.2.202", hosts=500))
    wait_serial(t.port, 2, log=lambda: t.log_text() + named.log_text()[-3000:])
    wait_log(t, "IXFR from %s: serial 1 -> 2, 1 diffs" % named.primary())
    assert a_record(t.port, "www.pop.test.") == ["192.0.2.202"]

    # the SOA refresh every second: BIND has no UDP (nor plain TCP) on its TLS port, so a refresh
    # confirmed there asked its SOA query over TLS
    named.change(ZONE, zone_text(3, www="192.0.2.203", hosts=500, refresh=1))
    wait_serial(t.port, 3, log=t.log_text)
    first = t.healthz()["pop.test."]["last_refresh"]
    deadline = time.time() + 10
    while t.healthz()["pop.test."]["last_refresh"] < first + 2:
        assert time.time() < deadline, t.log_text()[-3000:]
        time.sleep(0.2)
    h = t.healthz()["pop.test."]
    assert h["state"] == "ok" and h["serial"] == 3 and h["last_error"] == "", h
    assert "refresh failed" not in t.log_text()
    # and on one TLS connection, kept (one worker, a refresh a second, kept 3 s when idle): no
    # handshake per refresh
    samples = []
    for _ in range(8):
        samples.append(tls_clients(named.tls_port))
        time.sleep(0.5)
    assert all(len(p) == 1 for p in samples) and len(set.union(*samples)) == 1, samples
    stop_ok(t)


@needs_named
def test_session_resumed(tmp_path):
    """A refresh after the kept connection closed (idle 3 s; the SOA refresh here is 4 s) opens a
    new one resuming the last TLS session (RFC 8446 2.2: no certificate chain again), the pin still
    checked against the session's certificate."""
    pki = make_pki(tmp_path)
    pop_port = free_port()
    named = started.add(XotNamed(tmp_path / "bind", {ZONE: zone_text(5, refresh=4)}, pki, pop_port))
    t = XotSecondary({ZONE: [named.primary()]}, {ZONE: {"tls-pin": pki["pin"]}},
                     extra="transfer:\n  refresh-workers: 1\nlog:\n  level: debug\n", port=pop_port,
                     workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 5, log=t.log_text)
    wait_log(t, "%s: TLS session new" % named.primary())
    wait_log(t, "%s: TLS session resumed" % named.primary(), timeout=15)
    assert "refresh failed" not in t.log_text()
    assert t.healthz()["pop.test."]["last_error"] == ""
    stop_ok(t)


@needs_named
def test_pin_alone(tmp_path):
    """The SPKI pin alone authenticates the primary (no CA, no name): the zone arrives over TLS."""
    pki = make_pki(tmp_path)
    pop_port = free_port()
    named = started.add(XotNamed(tmp_path / "bind", {ZONE: zone_text(7)}, pki, pop_port))
    t = XotSecondary({ZONE: [named.primary()]}, {ZONE: {"tls-pin": pki["pin"]}}, port=pop_port,
                     workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 7, log=t.log_text)
    wait_log(t, "transferred serial 7 from %s by AXFR" % named.primary())
    assert t.healthz()["pop.test."]["state"] == "ok"
    stop_ok(t)


@needs_named
def test_wrong_name_pin_or_ca_stops_the_transfer(tmp_path):
    """A name the certificate does not hold, a pin of another key, a CA that did not sign it: no
    transfer (BIND logs none), each zone not served, the reason in the log and in /healthz; a
    fourth zone with the right settings on the same primary is pulled all the same."""
    pki = make_pki(tmp_path)
    pop_port = free_port()
    zones = {z: zone_text(3, origin=z) for z in ("name.test", "pin.test", "ca.test", "good.test")}
    named = started.add(XotNamed(tmp_path / "bind", zones, pki, pop_port))
    wrong_pin = base64.b64encode(hashlib.sha256(b"another key").digest()).decode()
    tls = {"name.test": {"tls-auth-name": "other.xot.test", "tls-ca-file": pki["ca"]},
           "pin.test": {"tls-pin": wrong_pin},
           "ca.test": {"tls-auth-name": NAME, "tls-ca-file": pki["other_ca"]},
           "good.test": {"tls-auth-name": "127.0.0.1", "tls-ca-file": pki["ca"]}}
    t = XotSecondary({z: [named.primary()] for z in zones}, tls, port=pop_port, workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 3, zone="good.test", log=t.log_text)
    want = {"name.test": "certificate not accepted for other.xot.test: hostname mismatch",
            "pin.test": "TLS pin mismatch: the server's key has pin %s, not the %s configured" % (pki["pin"], wrong_pin),
            "ca.test": "certificate not accepted for %s: unable to get local issuer certificate" % NAME}
    for zone, text in want.items():
        wait_log(t, "zone %s.: refresh failed (loading): %s: " % (zone, named.primary()))
        wait_log(t, text)
    h = t.healthz()
    for zone, text in want.items():
        s = h[zone + "."]
        assert s["state"] == "loading" and not s["serving"] and text in s["last_error"], (zone, s)
        r = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=t.port, timeout=2)
        assert r.rcode() == dns.rcode.SERVFAIL, r
    assert h["good.test."]["state"] == "ok"
    log = named.log_text()
    assert "transfer of 'good.test/IN'" in log
    for zone in want:
        assert "transfer of '%s/IN'" % zone not in log, log[-3000:]

    # SIGHUP with the right pin, and the CA file rewritten in place with the right CA: both read
    # again (the CA file is seen to have changed), both zones transferred
    t.tls["pin.test"] = {"tls-pin": pki["pin"]}
    t.rewrite()
    with open(pki["ca"]) as src, open(pki["other_ca"], "w") as dst:
        dst.write(src.read())
    t.reload()
    deadline = time.time() + 15
    while not all(soa_serial(t.port, zone=z) == 3 for z in ("pin.test", "ca.test")):
        assert time.time() < deadline, t.log_text()[-4000:]
        for zone in ("pin.test", "ca.test"):  # now, not at the next retry (up to a minute away)
            send_notify(t.port, zone=zone)
        time.sleep(0.3)
    assert t.healthz()["name.test."]["state"] == "loading"
    stop_ok(t)


def test_stalled_handshake_is_dropped(tmp_path):
    """A primary that takes the TCP connection and never answers the TLS handshake holds a refresh
    no longer than the connection's deadline (10 s): the try fails saying so, the zone is not
    served, and ternd stops at once meanwhile."""
    silent = tcp_listener("127.0.0.1", 0)  # the kernel accepts; nobody reads or writes
    try:
        primary = "tls://127.0.0.1@%d" % silent.getsockname()[1]
        t = XotSecondary({ZONE: [primary]}, {ZONE: {"tls-pin": base64.b64encode(b"p" * 32).decode()}},
                         workdir=str(tmp_path / "pop"))
        started_at = time.time()
        t.start()
        wait_log(t, "refresh failed (loading): %s: connecting and sending the query took more than 10000 ms"
                 % primary, timeout=20)
        assert time.time() - started_at < 16
        assert "took more than" in t.healthz()["pop.test."]["last_error"]
        stopping = time.time()
        stop_ok(t)
        assert time.time() - stopping < 5
    finally:
        silent.close()


CATALOG = "cat.test"


def catalog_text(serial, members):
    lines = ["$ORIGIN %s." % CATALOG, "$TTL 300", "@ SOA invalid. hostmaster %d 3600 600 1209600 60" % serial,
             "@ NS invalid.", 'version TXT "2"']
    lines += ["m%d.zones PTR %s." % (i, m) for i, m in enumerate(members)]
    return "\n".join(lines) + "\n"


@needs_named
def test_catalog_members_inherit_tls(tmp_path):
    """A catalog consumed from a tls:// primary: its members are pulled over TLS with the catalog's
    settings (BIND allows transfers over TLS only), the 30 at start pipelined on kept TLS
    connections, a member added later too."""
    pki = make_pki(tmp_path)
    pop_port = free_port()
    members = ["m%d.test" % i for i in range(30)]
    zones = {CATALOG: catalog_text(1, members)}
    zones.update({m: zone_text(100 + i, origin=m) for i, m in enumerate(members)})
    zones["late.test"] = zone_text(12, origin="late.test")
    named = started.add(XotNamed(tmp_path / "bind", zones, pki, pop_port))
    # the name written absolute (a trailing dot): the certificate's name is the same host
    t = XotSecondary({CATALOG: [named.primary()]}, {CATALOG: {"tls-auth-name": NAME + ".", "tls-ca-file": pki["ca"]}},
                     catalogs=[CATALOG], port=pop_port, workdir=str(tmp_path / "pop"))
    t.start()
    for i, m in enumerate(members):
        wait_serial(t.port, 100 + i, zone=m, log=t.log_text)
    wait_log(t, "zone m7.test.: transferred serial 107 from %s" % named.primary())
    assert "transfers pipelined to %s;" % named.primary() in t.log_text(), t.log_text()[-3000:]
    named.change(CATALOG, catalog_text(2, members + ["late.test"]))
    wait_serial(t.port, 12, zone="late.test", log=t.log_text)
    wait_log(t, "zone late.test.: transferred serial 12 from %s" % named.primary())
    assert plain_axfr_refused(named, "late.test")
    assert t.healthz()["late.test."]["state"] == "ok"
    stop_ok(t)


class XotNsd(Peer):
    """NSD 4.6 serving zone from text on plain DNS (port) and DNS over TLS (tls_port, its
    tls-service-key and tls-service-pem), transfers to loopback on either."""

    def __init__(self, workdir, zone, text, pki):
        self.port, self.tls_port = free_port(), free_port()
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.config = os.path.join(self.dir, "nsd.conf")
        self.log = os.path.join(self.dir, "nsd.stderr")
        self.zone = zone
        with open(os.path.join(self.dir, zone + ".zone"), "w") as f:
            f.write(text)
        server = NSD_SERVER.format(port=self.port, dir=self.dir)
        with open(self.config, "w") as f:
            f.write(server + "    ip-address: 127.0.0.1@%d\n    tls-port: %d\n" % (self.tls_port, self.tls_port)
                    + '    tls-service-key: "%s"\n    tls-service-pem: "%s"\n' % (pki["key"], pki["cert"])
                    + "remote-control:\n    control-enable: no\nzone:\n    name: %s\n    zonefile: %s.zone\n"
                    "    provide-xfr: 127.0.0.0/8 NOKEY\n" % (zone, zone))

    def start(self):
        self.launch([NSD, "-d", "-c", self.config])
        wait_udp(self.addr, self.port, proc=self.proc)
        return self.wait_soa(self.zone)


@pytest.mark.skipif(not nsd_available(), reason="nsd not installed")
def test_nsd_primary(tmp_path):
    """NSD 4.6 as the XoT primary (its DoT port answers AXFR): ternd pulls the zone over TLS with
    CA + name, and another zone's pin of another key on the same NSD is refused."""
    pki = make_pki(tmp_path)
    nsd = started.add(XotNsd(tmp_path / "nsd", ZONE, zone_text(21, hosts=300), pki))
    primary = "tls://127.0.0.1@%d" % nsd.tls_port
    t = XotSecondary({ZONE: [primary]}, {ZONE: {"tls-auth-name": NAME, "tls-ca-file": pki["ca"]}},
                     workdir=str(tmp_path / "pop"))
    t.start()
    wait_serial(t.port, 21, log=t.log_text)
    wait_log(t, "transferred serial 21 from %s by AXFR" % primary)
    assert a_record(t.port, "h299.pop.test.") == ["10.0.1.43"]
    stop_ok(t)

    wrong = base64.b64encode(hashlib.sha256(b"not NSD's key").digest()).decode()
    t = XotSecondary({ZONE: [primary]}, {ZONE: {"tls-pin": wrong}}, workdir=str(tmp_path / "pop2"))
    t.start()
    wait_log(t, "TLS pin mismatch: the server's key has pin %s" % pki["pin"])
    assert t.healthz()["pop.test."]["state"] == "loading"
    stop_ok(t)


def run_check(tmp_path, zone_lines):
    path = tmp_path / "check.yaml"
    path.write_text('server:\n  listen: ["127.0.0.1@%d"]\nzones:\n  - name: "pop.test"\n%s' % (
        free_port(), "".join("    %s\n" % l for l in zone_lines)))
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(path)], capture_output=True, text=True, timeout=30)
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r.returncode, r.stdout + r.stderr


def test_check_names_the_field(tmp_path):
    """ternd --check: a pin that is not base64 or not 32 octets, a CA file it cannot read, a
    tls:// primary with a bad port, TLS keys without a tls:// primary, a tls:// primary with no way
    to authenticate it: each refused, naming the field."""
    pki = make_pki(tmp_path)
    good = '"tls://127.0.0.1@8853"'
    cases = [
        (["primary: %s" % good, 'tls-pin: "not*base64"'], "zones[0].tls-pin: not base64"),
        (["primary: %s" % good, 'tls-pin: "%s"' % base64.b64encode(b"x" * 20).decode()],
         "zones[0].tls-pin: decodes to 20 octets, not the 32 of a SHA-256 digest"),
        (["primary: %s" % good, "tls-auth-name: %s" % NAME, 'tls-ca-file: "%s"' % (tmp_path / "none.pem")],
         "zones[0].tls-ca-file: cannot read %s" % (tmp_path / "none.pem")),
        (["primary: %s" % good, "tls-auth-name: %s" % NAME, 'tls-ca-file: "%s"' % pki["key"]],
         "zones[0].tls-ca-file: %s holds no PEM certificate" % pki["key"]),
        (['primary: "tls://127.0.0.1:99999"', "tls-pin: %s" % pki["pin"]],
         'zones[0].primary: port in "tls://127.0.0.1:99999" is out of range 1..65535'),
        (['primary: "tls://127.0.0.1:x"', "tls-pin: %s" % pki["pin"]],
         'zones[0].primary: port in "tls://127.0.0.1:x" is not a number'),
        (['primary: "127.0.0.1@8853"', "tls-pin: %s" % pki["pin"]],
         "zones[0].tls-pin: only a zone with a tls:// primary takes TLS settings"),
        (["primary: %s" % good], "zones[0].tls-auth-name: required with a tls:// primary unless tls-pin is set"),
        (["primary: %s" % good, 'tls-auth-name: "bad name!"'], "zones[0].tls-auth-name: bad name! is not a host"),
    ]
    for lines, text in cases:
        rc, out = run_check(tmp_path, lines)
        assert rc != 0 and text in out, (lines, out)
    rc, out = run_check(tmp_path, ['primary: "tls://[::1]:8853"', "tls-auth-name: %s" % NAME,
                                   'tls-ca-file: "%s"' % pki["ca"], "tls-pin: %s" % pki["pin"]])
    assert rc == 0, out
    # tls:// is for primaries only
    path = tmp_path / "listen.yaml"
    path.write_text('server:\n  listen: ["tls://127.0.0.1@853"]\n')
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "server.listen" in r.stderr, r.stderr


def test_ternd_to_ternd_over_tls_only(tmp_path):
    """A ternd primary whose transfer.allow requires TLS (server.tls) and a ternd PoP pulling it
    from tls://, the primary's certificate checked by name against the CA: the zone arrives by
    AXFR over TLS, a change (the primary's file reloaded, NOTIFY over UDP) by IXFR over TLS (the
    whole zone: a reloaded file keeps no differences); a plain TCP AXFR from the same address is
    refused."""
    from sysutil import Ternd
    pki = make_pki(tmp_path)
    pop_port, tls_port = free_port(), free_port()
    (tmp_path / "primary").mkdir()
    zfile = tmp_path / "primary" / "pop.test.zone"
    zfile.write_text(zone_text(1, hosts=200))
    primary = Ternd({ZONE: str(zfile)}, workdir=str(tmp_path / "primary"),
                    extra_server="tls:\n  listen: 127.0.0.1@%d\n  certificate: %s\n  key: %s\n" % (
                        tls_port, pki["cert"], pki["key"]),
                    extra_top="transfer:\n  allow:\n    - {address: 127.0.0.1, tls: required}\n"
                              "  notify:\n    - 127.0.0.1@%d\n" % pop_port)
    primary.start()
    try:
        with pytest.raises((dns.exception.FormError, dns.query.TransferError, EOFError, ConnectionError)):
            list(dns.query.xfr("127.0.0.1", ZONE, port=primary.port, timeout=5))
        t = XotSecondary({ZONE: ["tls://127.0.0.1@%d" % tls_port]},
                         {ZONE: {"tls-auth-name": NAME, "tls-ca-file": pki["ca"]}},
                         port=pop_port, workdir=str(tmp_path / "pop"))
        t.start()
        try:
            wait_serial(t.port, 1, log=t.log_text)
            wait_log(t, "transferred serial 1 from tls://127.0.0.1@%d by AXFR" % tls_port)
            assert a_record(t.port, "h199.pop.test.") == a_record(primary.port, "h199.pop.test.")
            zfile.write_text(zone_text(2, www="192.0.2.202", hosts=200))
            primary.reload()
            wait_serial(t.port, 2, log=lambda: t.log_text() + primary.log_text()[-3000:])
            # a zone file reloaded has no differences kept: IXFR answered with the whole zone, over TLS
            wait_log(t, "transferred serial 2 from tls://127.0.0.1@%d by IXFR" % tls_port)
            assert a_record(t.port, "www.pop.test.") == ["192.0.2.202"]
        finally:
            assert t.stop() == 0
    finally:
        assert primary.stop() == 0
