"""The `tern` command line against a real ternd with its HTTP API: every command, the table and
--json outputs, exit codes (0 ok, 1 API error, 2 usage, 3 cannot connect) and error messages, and
that each change is served over DNS when the command returns."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

import ternlib
from ternlib import TERND, free_port, wait_udp

sys.path.insert(0, os.path.join(ternlib.ROOT, "tools"))
import devtoken  # noqa: E402

TERN_CLI = os.environ.get("TERN_CLI", os.path.join(os.path.dirname(TERND), "tern"))
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


class Server:
    """ternd with the API on loopback, an empty store, and tokens for a few tenants."""

    def __init__(self, extra_config=""):
        """extra_config: more top-level sections of ternd.yaml (e.g. `geo:`)."""
        self.dir = tempfile.mkdtemp(prefix="ternd-cli-")
        self.dns_port = free_port()
        self.api_port = free_port()
        self.api = "http://127.0.0.1:%d" % self.api_port
        key, jwks = devtoken.ensure_keys(os.path.join(self.dir, "keys"))
        self.tokens = {t: devtoken.token(key, t) for t in ("alice", "bob", "carol")}
        self.tokens["admin"] = devtoken.token(key, "root", admin=True)
        self.tokens["expired"] = devtoken.token(key, "alice", exp=int(time.time()) - 60,
                                                nbf=int(time.time()) - 3600, iat=int(time.time()) - 3600)
        self.config = os.path.join(self.dir, "ternd.yaml")
        with open(self.config, "w") as f:
            f.write('server:\n  listen:\n    - "127.0.0.1@%d"\n'
                    'api:\n  listen: "127.0.0.1@%d"\n  data-dir: "%s"\n  jwks: "%s"\n'
                    '  nameservers: [ns1.tern.test.]\n  rate-limit: 0\n'
                    % (self.dns_port, self.api_port, os.path.join(self.dir, "data"), jwks) + extra_config)
        self.log = os.path.join(self.dir, "ternd.log")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([TERND, "-c", self.config], stdout=self.logf, stderr=subprocess.STDOUT)
        wait_udp("127.0.0.1", self.dns_port, proc=self.proc)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.api_port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the API did not start:\n" + open(self.log).read())
                time.sleep(0.05)

    def stop(self):
        ternlib.terminate(self.proc)
        self.logf.close()
        with open(self.log) as f:
            return f.read()

    def query(self, name, rdtype="A"):
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, "127.0.0.1", port=self.dns_port, timeout=3)

    def served(self, name, rdtype="A"):
        """The RDATA texts served for name/type (sorted), [] for NODATA/NXDOMAIN; ternd must be
        authoritative."""
        r = self.query(name, rdtype)
        assert r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), r
        want = dns.rdatatype.from_text(rdtype)
        out = []
        for rrset in r.answer:
            if rrset.name.to_text().lower() == name.lower().rstrip(".") + "." and rrset.rdtype == want:
                out += [rd.to_text() for rd in rrset]
        return sorted(out)

    def ttl(self, name, rdtype="A"):
        r = self.query(name, rdtype)
        return [rrset.ttl for rrset in r.answer][0]


@pytest.fixture(scope="module")
def srv():
    if not os.path.exists(TERN_CLI):
        pytest.fail("no tern binary at %s (build it, or set TERN_CLI)" % TERN_CLI)
    s = Server()
    yield s
    log = s.stop()
    for m in SANITIZER_MARKERS:
        assert m not in log, log


def tern(srv, *args, token="alice", api=None, env=None, stdin=None, expect=None):
    """Runs tern with TERN_API/TERN_TOKEN set for the server (token: a tenant name, or None to
    leave TERN_TOKEN unset, or a raw token); returns (exit code, stdout, stderr)."""
    e = {k: v for k, v in os.environ.items() if k not in ("TERN_API", "TERN_TOKEN", "TERN_TIMEOUT")}
    e["TERN_API"] = api if api is not None else srv.api
    if token is not None:
        e["TERN_TOKEN"] = srv.tokens.get(token, token)
    if env:
        e.update(env)
        for k in [k for k, v in e.items() if v is None]:
            del e[k]
    p = subprocess.run([TERN_CLI] + list(args), capture_output=True, text=True, input=stdin, env=e, timeout=60)
    for m in SANITIZER_MARKERS:
        assert m not in p.stderr, p.stderr
    if expect is not None:
        assert p.returncode == expect, "tern %s -> %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), p.returncode, expect, p.stdout, p.stderr)
    return p.returncode, p.stdout, p.stderr


def ok(srv, *args, **kw):
    return tern(srv, *args, expect=0, **kw)[1]


def fails(srv, code, *args, **kw):
    """The stderr of a run that must exit with code and print one `tern: ...` error line."""
    _, out, err = tern(srv, *args, expect=code, **kw)
    assert err.startswith("tern: "), err
    return err


def api_error(err, status, field=None):
    """stderr must hold the error line `tern: <message> (field <f>, HTTP <status>)`."""
    if field:
        pat = r"^tern: .+ \(field %s, HTTP %d\)$" % (re.escape(field), status)
    else:
        pat = r"^tern: .+ \((field \S+, )?HTTP %d\)$" % status
    assert re.search(pat, err, re.M), "want HTTP %d%s in:\n%s" % (status, " field " + field if field else "", err)


def rows(text):
    """Table lines split into cells on runs of two or more spaces."""
    return [re.split(r"\s{2,}", l.strip()) for l in text.splitlines() if l.strip()]


def record_lines(text):
    """(name, ttl, type, data) of the zone-file-like lines of a records listing."""
    out = []
    for l in text.splitlines():
        if not l.strip() or l.startswith(";"):
            continue
        name, ttl, rtype, data = re.split(r"\s+", l.strip(), maxsplit=3)
        out.append((name, int(ttl), rtype, data))
    return out


# --- help and usage ------------------------------------------------------------------------------

COMMANDS = ["zone create", "zone list", "zone show", "zone delete", "zone export", "zone import", "zone lock",
            "zone unlock", "zone history", "zone sign", "zone dnssec", "zone key-journal", "dnssec ksk-submitted",
            "dnssec backup", "dnssec restore", "record get", "record set", "record delete", "change propose",
            "change list", "change approve", "change reject", "tsig-key create", "tsig-key list", "tsig-key delete",
            "r53-key create", "r53-key delete"]


def test_help_lists_every_command(srv):
    for args in (["--help"], ["-h"], ["help"]):
        out = ok(srv, *args, token=None, api="")
        for c in COMMANDS:
            assert c in out, (args, c, out)
        assert "TERN_API" in out and "TERN_TOKEN" in out and "--json" in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_per_command(srv, cmd):
    a, b = cmd.split()
    for args in ([a, b, "--help"], ["help", a, b], [a, b, "-h"]):
        out = ok(srv, *args, token=None, api="")
        assert out.startswith("usage: tern %s %s" % (a, b)), out
    assert b in ok(srv, a, "--help", token=None, api="")


def test_help_names_options(srv):
    assert "--ttl N" in ok(srv, "record", "set", "--help")
    assert "--set NAME TYPE TTL RDATA" in ok(srv, "change", "propose", "--help")
    assert "--reason TEXT" in ok(srv, "zone", "lock", "--help")
    assert "--limit N" in ok(srv, "zone", "list", "--help")


USAGE = [
    ([], None),
    (["bogus"], "unknown command"),
    (["zone"], "subcommand"),
    (["zone", "frob"], "unknown command"),
    (["zone", "create"], "missing argument"),
    (["zone", "show", "a.test", "b.test"], "unexpected argument"),
    (["zone", "list", "--bogus"], "unknown option --bogus"),
    (["zone", "list", "--limit", "x"], "--limit"),
    (["zone", "list", "--limit", "0"], "--limit"),
    (["zone", "list", "--page-size", "1001"], "--page-size"),
    (["zone", "list", "--limit"], "needs 1 value"),
    (["zone", "lock", "a.test"], "--reason"),
    (["zone", "create", "a.test", "--ns", "ns1.a.test.", "--file", "/dev/null"], "--file"),
    (["zone", "import", "a.test", "/nonexistent/zone.file"], "cannot open"),
    (["zone", "show", ""], "empty"),
    (["record", "get", "a.test", "www"], "missing argument"),
    (["record", "set", "a.test", "www", "A", "192.0.2.1"], "--ttl"),
    (["record", "set", "a.test", "www", "A", "--ttl", "abc", "192.0.2.1"], "--ttl"),
    (["record", "set", "a.test", "www", "A", "--ttl", "300"], "missing argument"),
    (["change", "propose", "a.test"], "nothing to propose"),
    (["change", "propose", "a.test", "--set", "www", "A", "300"], "needs 4 values"),
    (["change", "propose", "a.test", "--set", "www", "A", "x", "192.0.2.1"], "TTL"),
    (["change", "propose", "a.test", "--set", "www", "A", "300", "192.0.2.1", "--set", "www", "A", "60", "192.0.2.2"],
     "two TTLs"),
    (["change", "propose", "a.test", "--set", "www", "A", "300", "192.0.2.1", "--delete", "www", "A"], "twice"),
    (["change", "approve", "a.test", "first"], "not a number"),
    (["--timeout", "0", "zone", "list"], "timeout"),
]


@pytest.mark.parametrize("args,message", USAGE, ids=[" ".join(a) or "(nothing)" for a, _ in USAGE])
def test_usage_errors_exit_2(srv, args, message):
    _, out, err = tern(srv, *args, expect=2)
    assert err.startswith("tern: ") or err.startswith("usage: "), err
    if message:
        assert message in err, err
    assert out == "", out


def test_missing_settings_exit_2(srv):
    err = fails(srv, 2, "zone", "list", env={"TERN_API": None})
    assert "TERN_API" in err and "--api" in err
    err = fails(srv, 2, "zone", "list", token=None)
    assert "TERN_TOKEN" in err and "--token" in err


def test_flags_override_environment(srv):
    dead = "http://127.0.0.1:%d" % free_port()
    # wrong environment, right flags, before and after the command words, with "=" or not
    ok(srv, "--api", srv.api, "--token", srv.tokens["alice"], "zone", "list", api=dead, token="junk")
    ok(srv, "zone", "list", "--api=" + srv.api, "--token=" + srv.tokens["alice"], api=dead, token="junk")
    # the base path may be given or not, with a trailing slash or not
    ok(srv, "zone", "list", "--api", srv.api + "/api/v1/")
    # and the flag wins over a good environment too
    api_error(fails(srv, 1, "zone", "list", "--token", "junk"), 401, "Authorization")


# --- connection and authentication errors --------------------------------------------------------

def test_api_down_exit_3(srv):
    dead = "http://127.0.0.1:%d" % free_port()
    for args in (["zone", "list"], ["zone", "create", "down.test"], ["record", "get", "a.test", "www", "A"]):
        err = fails(srv, 3, *args, api=dead)
        assert "cannot connect" in err and dead in err, err


def test_timeout_exit_3(srv):
    # a listener that never answers: the request must give up after --timeout
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        t0 = time.time()
        err = fails(srv, 3, "--timeout", "0.5", "zone", "list", api="http://127.0.0.1:%d" % s.getsockname()[1])
        assert time.time() - t0 < 10
        assert "no answer from the API" in err, err
    finally:
        s.close()


def test_bad_token_exit_1(srv):
    err = fails(srv, 1, "zone", "list", token="not-a-token")
    api_error(err, 401, "Authorization")
    assert "token" in err
    err = fails(srv, 1, "zone", "list", token="expired")
    api_error(err, 401, "Authorization")
    assert "expired" in err, err


def test_unknown_zone_exit_1(srv):
    for args in (["zone", "show", "nowhere.test"], ["record", "get", "nowhere.test", "www", "A"],
                 ["zone", "delete", "nowhere.test"], ["change", "list", "nowhere.test"]):
        err = fails(srv, 1, *args)
        api_error(err, 404, "zone")
        assert "nowhere.test" in err


# --- zones ---------------------------------------------------------------------------------------

def test_zone_lifecycle(srv):
    out = ok(srv, "zone", "create", "life.test")
    assert "created zone life.test." in out, out
    soa = srv.served("life.test", "SOA")
    assert len(soa) == 1 and soa[0].startswith("ns1.tern.test. "), soa
    assert srv.served("life.test", "NS") == ["ns1.tern.test."]

    table = rows(ok(srv, "zone", "list"))
    assert table[0] == ["NAME", "SERIAL", "LOCKED", "TENANT"], table
    mine = [r for r in table if r[0] == "life.test."]
    assert len(mine) == 1 and mine[0][2:] == ["no", "alice"] and mine[0][1] == soa[0].split()[2], table
    # the columns line up: every row's SERIAL ends where the heading's does
    lines = ok(srv, "zone", "list").splitlines()
    end = lines[0].index("SERIAL") + len("SERIAL")
    assert all(l[end - 1].isdigit() for l in lines[1:]), lines

    show = ok(srv, "zone", "show", "life.test")
    assert re.search(r"^zone:\s+life\.test\.$", show, re.M) and re.search(r"^tenant:\s+alice$", show, re.M), show
    assert re.search(r"^locked:\s+no$", show, re.M), show
    assert ("life.test.", 3600, "NS", "ns1.tern.test.") in record_lines(show.split("\n\n", 1)[1])

    err = fails(srv, 1, "zone", "create", "life.test")
    api_error(err, 409, "name")
    assert "already exists" in err

    assert "deleted zone life.test" in ok(srv, "zone", "delete", "life.test")
    assert srv.query("life.test", "SOA").rcode() == dns.rcode.REFUSED
    api_error(fails(srv, 1, "zone", "show", "life.test"), 404, "zone")


def test_zone_create_with_nameservers(srv):
    ok(srv, "zone", "create", "ns.test", "--ns", "a.ns.example.", "--ns", "b.ns.example.")
    assert srv.served("ns.test", "NS") == ["a.ns.example.", "b.ns.example."]
    assert srv.served("ns.test", "SOA")[0].startswith("a.ns.example. ")
    api_error(fails(srv, 1, "zone", "create", "ns2.test", "--ns", "bad..name"), 400, "nameservers[0]")


ZONEFILE = """$ORIGIN file.test.
$TTL 600
@     IN SOA ns.file.test. admin.file.test. 7 3600 600 86400 60
@     IN NS  ns.file.test.
ns    IN A   192.0.2.53
www   IN A   192.0.2.80
www   IN A   192.0.2.81
mail  IN MX  10 mx.file.test.
txt   IN TXT "hello world" "second string"
"""


def test_zone_create_from_file(srv, tmp_path):
    path = tmp_path / "file.test.zone"
    path.write_text(ZONEFILE)
    ok(srv, "zone", "create", "file.test", "--file", str(path))
    assert srv.served("www.file.test") == ["192.0.2.80", "192.0.2.81"]
    assert srv.served("mail.file.test", "MX") == ["10 mx.file.test."]
    assert srv.served("txt.file.test", "TXT") == ['"hello world" "second string"']
    # from standard input, and a bad file names the problem
    ok(srv, "zone", "create", "stdin.test", "--file", "-", stdin=ZONEFILE.replace("file.test", "stdin.test"))
    assert srv.served("www.stdin.test") == ["192.0.2.80", "192.0.2.81"]
    bad = tmp_path / "bad.zone"
    bad.write_text(ZONEFILE.replace("192.0.2.81", "192.0.2.999"))
    err = fails(srv, 1, "zone", "create", "bad.test", "--file", str(bad))
    api_error(err, 400, "zonefile")


def test_zone_list_follows_pagination(srv):
    names = ["page%02d.test." % i for i in range(23)]
    for n in names:
        ok(srv, "zone", "create", n, token="carol")
    listed = [r[0] for r in rows(ok(srv, "zone", "list", "--page-size", "5", token="carol"))[1:]]
    assert listed == names, listed
    assert [r[0] for r in rows(ok(srv, "zone", "list", token="carol"))[1:]] == names
    # --limit stops early, across pages too
    assert [r[0] for r in rows(ok(srv, "zone", "list", "--limit", "7", token="carol"))[1:]] == names[:7]
    assert [r[0] for r in rows(ok(srv, "zone", "list", "--limit", "12", "--page-size", "5",
                                  token="carol"))[1:]] == names[:12]
    doc = json.loads(ok(srv, "--json", "zone", "list", "--page-size", "4", token="carol"))
    assert [z["name"] for z in doc["zones"]] == names and doc["next"] is None
    doc = json.loads(ok(srv, "zone", "list", "--limit", "3", "--json", token="carol"))
    assert [z["name"] for z in doc["zones"]] == names[:3] and doc["next"] == names[2]
    # another tenant sees none of them
    assert not any(n in ok(srv, "zone", "list", token="bob") for n in names)


def test_tenant_isolation(srv):
    ok(srv, "zone", "create", "alices.test")
    api_error(fails(srv, 1, "zone", "show", "alices.test", token="bob"), 404, "zone")
    api_error(fails(srv, 1, "record", "set", "alices.test", "www", "A", "--ttl", "60", "192.0.2.1", token="bob"),
              404, "zone")
    assert srv.served("www.alices.test") == []
    assert "alices.test." in ok(srv, "zone", "list", token="admin")


# --- records -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def zone(srv):
    ok(srv, "zone", "create", "rec.test")
    return "rec.test"


def test_record_set_get_delete(srv, zone):
    out = ok(srv, "record", "set", zone, "www", "A", "--ttl", "300", "192.0.2.1", "192.0.2.2")
    assert record_lines(out) == [("www.rec.test.", 300, "A", "192.0.2.1"), ("www.rec.test.", 300, "A", "192.0.2.2")]
    assert re.search(r"^; serial \d+$", out, re.M), out
    assert srv.served("www.rec.test") == ["192.0.2.1", "192.0.2.2"] and srv.ttl("www.rec.test") == 300

    assert record_lines(ok(srv, "record", "get", zone, "www.rec.test.", "A")) == record_lines(out)
    doc = json.loads(ok(srv, "record", "get", zone, "www", "A", "--json"))
    assert doc == {"name": "www.rec.test.", "type": "A", "ttl": 300, "records": ["192.0.2.1", "192.0.2.2"]}

    # replace: the new set is served, the old one gone
    ok(srv, "record", "set", zone, "www", "a", "--ttl", "60", "192.0.2.3")
    assert srv.served("www.rec.test") == ["192.0.2.3"] and srv.ttl("www.rec.test") == 60

    out = ok(srv, "record", "delete", zone, "www", "A")
    assert "deleted www A" in out, out
    assert srv.served("www.rec.test") == []
    api_error(fails(srv, 1, "record", "get", zone, "www", "A"), 404, "name")
    api_error(fails(srv, 1, "record", "delete", zone, "www", "A"), 404, "name")


def test_record_types_and_names(srv, zone):
    ok(srv, "record", "set", zone, "@", "MX", "--ttl", "3600", "10 mail.rec.test.", "20 mail2")
    assert srv.served("rec.test", "MX") == ["10 mail.rec.test.", "20 mail2.rec.test."]
    ok(srv, "record", "set", zone, "txt", "TXT", "--ttl", "60", '"v=spf1 -all"', '"two words" "and more"')
    assert srv.served("txt.rec.test", "TXT") == ['"two words" "and more"', '"v=spf1 -all"']
    ok(srv, "record", "set", zone, "v6", "AAAA", "--ttl", "60", "2001:db8::1")
    assert srv.served("v6.rec.test", "AAAA") == ["2001:db8::1"]
    # names that need escaping in the URL
    ok(srv, "record", "set", zone, "*", "A", "--ttl", "60", "192.0.2.42")
    assert srv.served("anything.rec.test") == ["192.0.2.42"]
    assert record_lines(ok(srv, "record", "get", zone, "*.rec.test.", "A")) == [("*.rec.test.", 60, "A", "192.0.2.42")]
    ok(srv, "record", "set", zone, "_acme-challenge", "TXT", "--ttl", "60", '"token"')
    assert srv.served("_acme-challenge.rec.test", "TXT") == ['"token"']
    # RDATA that begins with "-" after "--"
    ok(srv, "record", "set", zone, "dash", "TXT", "--ttl", "60", "--", "-leading-dash")
    assert srv.served("dash.rec.test", "TXT") == ['"-leading-dash"']
    # record list prints them all, zone-file style
    listing = record_lines(ok(srv, "record", "list", zone))
    assert ("v6.rec.test.", 60, "AAAA", "2001:db8::1") in listing
    assert ("rec.test.", 3600, "MX", "20 mail2.rec.test.") in listing


def test_record_bad_rdata_exit_1_names_the_record(srv, zone):
    ok(srv, "record", "set", zone, "keep", "A", "--ttl", "60", "192.0.2.10")
    err = fails(srv, 1, "record", "set", zone, "keep", "A", "--ttl", "60", "192.0.2.11", "not-an-address")
    api_error(err, 400, "records[1]")
    assert '"not-an-address"' in err, err
    assert srv.served("keep.rec.test") == ["192.0.2.10"]  # nothing half-applied
    err = fails(srv, 1, "record", "set", zone, "mx", "MX", "--ttl", "60", "ten mail.rec.test.")
    api_error(err, 400, "records[0]")
    assert "ten mail.rec.test." in err
    api_error(fails(srv, 1, "record", "set", zone, "keep", "NOTATYPE", "--ttl", "60", "x"), 400, "type")
    api_error(fails(srv, 1, "record", "set", zone, "keep", "A", "--ttl", "-1", "192.0.2.1"), 400, "ttl")
    api_error(fails(srv, 1, "record", "set", zone, "keep", "A", "--ttl", str(2 ** 32), "192.0.2.1"), 400, "ttl")
    api_error(fails(srv, 1, "record", "set", zone, "www.elsewhere.test.", "A", "--ttl", "60", "192.0.2.1"), 400,
              "name")
    assert srv.served("keep.rec.test") == ["192.0.2.10"]


# --- export, import, history ---------------------------------------------------------------------

def test_export_import(srv, tmp_path):
    ok(srv, "zone", "create", "io.test")
    ok(srv, "record", "set", "io.test", "www", "A", "--ttl", "300", "192.0.2.1")
    ok(srv, "record", "set", "io.test", "old", "TXT", "--ttl", "300", '"going away"')
    text = ok(srv, "zone", "export", "io.test")
    z = dns.zone.from_text(text, origin="io.test.", relativize=False)
    assert z.find_rdataset("www.io.test.", "A")[0].to_text() == "192.0.2.1"
    assert z.find_rdataset("io.test.", "SOA")[0].serial == int(srv.served("io.test", "SOA")[0].split()[2])
    assert ok(srv, "--json", "zone", "export", "io.test") == text  # a zone file either way
    # a dynamic answer: its DYN records, or with --plain its default answer as fixed records
    ok(srv, "record", "set", "io.test", "geo", "DYN", "--ttl", "60", "pool a 192.0.2.9", "answer a")
    assert "geo.io.test.\t60\tIN\tTYPE65301\t" in ok(srv, "zone", "export", "io.test")
    plain = ok(srv, "zone", "export", "io.test", "--plain")
    assert "; geo.io.test. is a dynamic resource" in plain and "geo.io.test.\t60\tIN\tA\t192.0.2.9" in plain, plain
    ok(srv, "record", "delete", "io.test", "geo", "DYN")

    edited = "\n".join(l for l in text.splitlines() if "TXT" not in l)
    edited += "\nnew.io.test. 120 IN AAAA 2001:db8::7\nwww.io.test. 300 IN A 192.0.2.2\n"
    path = tmp_path / "io.zone"
    path.write_text(edited)
    out = ok(srv, "zone", "import", "io.test", str(path))
    assert "imported" in out and "serial" in out, out
    assert srv.served("www.io.test") == ["192.0.2.1", "192.0.2.2"]
    assert srv.served("new.io.test", "AAAA") == ["2001:db8::7"]
    assert srv.served("old.io.test", "TXT") == []

    path.write_text(edited + "broken.io.test. 60 IN A 192.0.2.300\n")
    api_error(fails(srv, 1, "zone", "import", "io.test", str(path)), 400, "body")
    assert srv.served("new.io.test", "AAAA") == ["2001:db8::7"]
    doc = json.loads(ok(srv, "--json", "zone", "import", "io.test", "-", stdin=edited))
    assert isinstance(doc["serial"], int)


def test_history(srv):
    ok(srv, "zone", "create", "hist.test")
    ok(srv, "record", "set", "hist.test", "www", "A", "--ttl", "300", "192.0.2.1")
    ok(srv, "record", "set", "hist.test", "www", "A", "--ttl", "300", "192.0.2.2")
    out = ok(srv, "zone", "history", "hist.test")
    heads = re.findall(r"^serial (\d+) -> (\d+)  \S+Z  by alice$", out, re.M)
    assert len(heads) == 2 and heads[0][0] == heads[1][1], out  # newest first, chained
    newest = out.split("\n\n")[0]
    assert re.search(r"^\s+-\s+www\.hist\.test\.\s+300\s+A\s+192\.0\.2\.1$", newest, re.M), out
    assert re.search(r"^\s+\+\s+www\.hist\.test\.\s+300\s+A\s+192\.0\.2\.2$", newest, re.M), out
    doc = json.loads(ok(srv, "zone", "history", "hist.test", "--json"))
    assert len(doc["changes"]) == 2 and doc["changes"][0]["by"] == "alice"


# --- locking -------------------------------------------------------------------------------------

def test_lock_unlock(srv):
    ok(srv, "zone", "create", "lock.test")
    out = ok(srv, "zone", "lock", "lock.test", "--reason", "migration in progress")
    assert "locked zone lock.test.: migration in progress" in out, out
    assert [r for r in rows(ok(srv, "zone", "list")) if r[0] == "lock.test."][0][2] == "yes"
    assert re.search(r"^locked:\s+yes: migration in progress$", ok(srv, "zone", "show", "lock.test"), re.M)

    err = fails(srv, 1, "record", "set", "lock.test", "www", "A", "--ttl", "60", "192.0.2.1")
    api_error(err, 409, "zone")
    assert "migration in progress" in err
    api_error(fails(srv, 1, "zone", "delete", "lock.test"), 409, "zone")
    assert srv.served("www.lock.test") == []

    assert "unlocked zone lock.test." in ok(srv, "zone", "unlock", "lock.test")
    ok(srv, "record", "set", "lock.test", "www", "A", "--ttl", "60", "192.0.2.1")
    assert srv.served("www.lock.test") == ["192.0.2.1"]
    assert json.loads(ok(srv, "--json", "zone", "lock", "lock.test", "--reason", "x"))["locked"] is True
    assert json.loads(ok(srv, "--json", "zone", "unlock", "lock.test"))["locked"] is False


# --- change review -------------------------------------------------------------------------------

def test_change_review(srv, tmp_path):
    ok(srv, "zone", "create", "review.test")
    ok(srv, "record", "set", "review.test", "old", "TXT", "--ttl", "60", '"bye"')
    out = ok(srv, "change", "propose", "review.test", "--set", "x", "A", "60", "192.0.2.7",
             "--set", "x", "A", "60", "192.0.2.8", "--delete", "old", "TXT")
    cid = re.search(r"proposed change (\d+)", out).group(1)
    assert srv.served("x.review.test") == []  # not applied yet

    table = rows(ok(srv, "change", "list", "review.test"))
    assert table[0] == ["ID", "STATUS", "AUTHOR", "REVIEWER", "CREATED", "CHANGES"], table
    row = [r for r in table if r[0] == cid][0]
    assert row[1:4] == ["pending", "alice", "-"] and row[5] == "set x A (2), delete old TXT", row

    err = fails(srv, 1, "change", "approve", "review.test", cid)
    api_error(err, 403, "id")
    assert "author" in err
    assert srv.served("x.review.test") == []

    out = ok(srv, "change", "approve", "review.test", cid, token="admin")
    assert re.search(r"approved change %s: applied to review.test \(serial \d+\)" % cid, out), out
    assert srv.served("x.review.test") == ["192.0.2.7", "192.0.2.8"]
    assert srv.served("old.review.test", "TXT") == []
    row = [r for r in rows(ok(srv, "change", "list", "review.test")) if r[0] == cid][0]
    assert row[1:4] == ["applied", "alice", "root"], row
    api_error(fails(srv, 1, "change", "approve", "review.test", cid, token="admin"), 409, "id")
    api_error(fails(srv, 1, "change", "approve", "review.test", "9999", token="admin"), 404, "id")

    # from a JSON file (and --json output), both shapes
    path = tmp_path / "change.json"
    path.write_text(json.dumps({"rrsets": [{"name": "y", "type": "AAAA", "ttl": 60, "records": ["2001:db8::8"]}]}))
    doc = json.loads(ok(srv, "--json", "change", "propose", "review.test", "--file", str(path)))
    assert doc["status"] == "pending" and doc["author"] == "alice"
    ok(srv, "change", "approve", "review.test", str(doc["id"]), token="admin")
    assert srv.served("y.review.test", "AAAA") == ["2001:db8::8"]
    path.write_text(json.dumps([{"name": "y", "type": "AAAA", "delete": True}]))
    cid = re.search(r"proposed change (\d+)", ok(srv, "change", "propose", "review.test", "--file", str(path))).group(1)
    doc = json.loads(ok(srv, "change", "list", "review.test", "--json"))
    assert [p for p in doc["proposals"] if str(p["id"]) == cid][0]["status"] == "pending"
    assert json.loads(ok(srv, "--json", "change", "approve", "review.test", cid, token="admin"))["status"] == "applied"
    assert srv.served("y.review.test", "AAAA") == []

    # reject: not by the author; by another, once; nothing applied
    cid = re.search(r"proposed change (\d+)", ok(srv, "change", "propose", "review.test", "--set", "r", "A", "60",
                                                  "192.0.2.9")).group(1)
    api_error(fails(srv, 1, "change", "reject", "review.test", cid), 403, "id")
    assert ok(srv, "change", "reject", "review.test", cid, token="admin") == \
        "rejected change %s of review.test: nothing applied\n" % cid
    row = [r for r in rows(ok(srv, "change", "list", "review.test")) if r[0] == cid][0]
    assert row[1:4] == ["rejected", "alice", "root"], row
    assert srv.served("r.review.test") == []
    api_error(fails(srv, 1, "change", "reject", "review.test", cid, token="admin"), 409, "id")
    assert "not a number" in fails(srv, 2, "change", "reject", "review.test", "x1")

    # bad RDATA in a proposal names the record; a bad file is a usage error
    err = fails(srv, 1, "change", "propose", "review.test", "--set", "z", "A", "60", "192.0.2.1",
                "--set", "w", "A", "60", "nonsense")
    api_error(err, 400, "rrsets[1].records[0]")
    assert '"nonsense"' in err
    path.write_text("{not json")
    assert "not JSON" in fails(srv, 2, "change", "propose", "review.test", "--file", str(path))


# --- JSON output ---------------------------------------------------------------------------------

def test_json_outputs(srv):
    doc = json.loads(ok(srv, "--json", "zone", "create", "json.test"))
    assert doc["name"] == "json.test." and doc["tenant"] == "alice" and doc["locked"] is False
    assert json.loads(ok(srv, "zone", "show", "json.test", "--json"))["serial"] == doc["serial"]
    doc = json.loads(ok(srv, "--json", "record", "set", "json.test", "www", "A", "--ttl", "60", "192.0.2.1"))
    assert doc["records"] == ["192.0.2.1"] and isinstance(doc["serial"], int)
    doc = json.loads(ok(srv, "--json", "record", "list", "json.test"))
    assert {(r["name"], r["type"]) for r in doc["rrsets"]} >= {("www.json.test.", "A"), ("json.test.", "SOA")}
    assert isinstance(json.loads(ok(srv, "--json", "record", "delete", "json.test", "www", "A"))["serial"], int)
    assert ok(srv, "--json", "zone", "delete", "json.test") == ""
    # errors stay on stderr in the same format with --json
    api_error(fails(srv, 1, "--json", "zone", "show", "json.test"), 404, "zone")


def test_zone_sign_dnssec_and_key_journal(srv):
    ok(srv, "zone", "create", "signcli.test")
    api_error(fails(srv, 1, "zone", "sign", "signcli.test", "--set", "algorithm=rsasha1"), 400, "algorithm")
    api_error(fails(srv, 1, "zone", "sign", "signcli.test", "--set", "rrsig-lifetime=100", "--set",
                    "rrsig-refresh=100"), 400, "rrsig-lifetime")
    fails(srv, 2, "zone", "sign", "signcli.test", "--set", "novalue")
    out = ok(srv, "zone", "sign", "signcli.test", "--set", "denial=nsec3", "--set", "keys=csk", "--set",
             "parents=192.0.2.1,192.0.2.2@5353")
    assert re.search(r"^state:\s+signing$", out, re.M), out
    deadline = time.time() + 20
    while "state:          signed" not in ok(srv, "zone", "dnssec", "signcli.test"):
        assert time.time() < deadline
        time.sleep(0.1)
    show = ok(srv, "zone", "dnssec", "signcli.test")
    assert re.search(r"^denial\s+nsec3$", show, re.M) and "192.0.2.2@5353" in show, show
    table = [r for r in rows(show) if r and r[0].isdigit() and len(r) == 5]
    assert len(table) == 1 and table[0][1:4] == ["csk", "ecdsap256sha256", "active"], table
    assert re.search(r"^signcli\.test\. IN DS %s 13 2 [0-9A-F]{64}$" % table[0][0], show, re.M), show
    assert "PRIVATE" not in show and "-----" not in show
    journal = rows(ok(srv, "zone", "key-journal", "signcli.test"))
    assert journal[0] == ["TIME", "TAG", "FROM", "TO", "REASON"], journal
    assert journal[1][1:4] == [table[0][0], "generated", "active"] and "published and signing" in journal[1][4]
    assert journal[2][1:4] == [table[0][0], "-", "generated"] and "signing enabled by alice" in journal[2][4]
    assert '"state": "signed"' in ok(srv, "--json", "zone", "dnssec", "signcli.test")
    assert [r for r in srv.served("signcli.test", "DNSKEY")], "no DNSKEY served"
