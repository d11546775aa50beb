"""DNS cookies (RFC 7873, server cookies as RFC 9018 makes them; ns/edns.c): kdig +cookie learns a
server cookie and it is accepted when sent back; the keys rotate and the previous period's cookies
stay good for one period; a malformed COOKIE option is refused; a cookie made by Knot with the same
secret is ours too (RFC 9018's point: one anycast address, several implementations)."""
import os
import re
import socket
import struct
import subprocess
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

import knotlib
from sysutil import ZONE_FILES, describe, server_fixture
from ternlib import free_port, wait_udp

SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"  # RFC 9018 Appendix A's
OTHER_SECRET = "445536bcd2513298075a5d379663c962"
CLIENT = bytes.fromhex("2464c4abcf10c957")
COOKIE = 10
BADCOOKIE = 23

# every UDP answer longer than 1 byte needs a valid server cookie (all of them)
STRICT = "cookies:\n  require-size: 1"

plain = server_fixture()  # cookies on by default, a random secret
strict = server_fixture(extra_top=STRICT + "\n  rotation: 2")
keyed = server_fixture(extra_top=STRICT + "\n  secret: \"%s\"\n  previous-secret: \"%s\"" % (SECRET, OTHER_SECRET))


def ask(srv, cookie=None, name="www.example.com", tcp=False):
    """A query for name A with a COOKIE option of these octets (None: no option, EDNS still)."""
    opts = [dns.edns.GenericOption(COOKIE, cookie)] if cookie is not None else []
    q = dns.message.make_query(name, "A", use_edns=0, options=opts)
    if tcp:
        return dns.query.tcp(q, srv.addr, port=srv.port, timeout=3)
    return dns.query.udp(q, srv.addr, port=srv.port, timeout=3)


def cookie_of(r):
    found = [o for o in r.options if o.otype == COOKIE]
    assert len(found) == 1, "one COOKIE option expected" + describe(r)
    return found[0].to_wire() if hasattr(found[0], "to_wire") else found[0].data


def server_cookie(r, client=CLIENT):
    """The server cookie of a response to client: version 1, reserved 0, a timestamp near now."""
    c = bytes(cookie_of(r))
    assert len(c) == 24 and c[:8] == client, c.hex()
    assert c[8] == 1 and c[9:12] == b"\0\0\0", "RFC 9018 version 1, reserved 0: " + c.hex()
    stamp = struct.unpack("!I", c[12:16])[0]
    assert abs(stamp - time.time()) < 5, "timestamp %d" % stamp
    return c[8:]


def kdig(srv, *args):
    return subprocess.run(["kdig", "@127.0.0.1", "-p", str(srv.port)] + list(args) + ["www.example.com", "A"],
                          capture_output=True, text=True, timeout=10).stdout


def test_kdig_learns_and_reuses_a_cookie(plain, strict):
    out = kdig(plain, "+cookie")
    m = re.search(r";; COOKIE: ([0-9A-F]{16})(01000000[0-9A-F]{24})", out)
    assert m and "status: NOERROR" in out and "192.0.2.80" in out, out
    # where a valid cookie is required, kdig's first query learns one (BADCOOKIE), and the one it
    # learned, sent back, is accepted: the answer comes
    out = kdig(strict, "+cookie", "+nobadcookie")
    m = re.search(r";; COOKIE: ([0-9A-F]{16})(01000000[0-9A-F]{24})", out)
    assert m and "status: BADCOOKIE" in out and "192.0.2.80" not in out, out
    out = kdig(strict, "+cookie=%s%s" % (m.group(1), m.group(2)))
    m2 = re.search(r";; COOKIE: ([0-9A-F]{16})(01000000[0-9A-F]{24})", out)
    assert m2 and m2.group(1) == m.group(1) and "status: NOERROR" in out and "192.0.2.80" in out, out
    # kdig's own retry on BADCOOKIE (its default) gets the answer at once
    out = kdig(strict, "+cookie")
    assert "status: NOERROR" in out and "192.0.2.80" in out, out


def test_server_cookie_over_udp_and_tcp(plain):
    for tcp in (False, True):
        r = ask(plain, CLIENT, tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR and r.answer, describe(r)
        server_cookie(r)
    # no cookie asked, none sent; cookies off in the answer to a query without EDNS
    r = ask(plain, None)
    assert not [o for o in r.options if o.otype == COOKIE], describe(r)


def test_required_cookie(strict):
    """cookies.require-size: a client with only a client cookie gets BADCOOKIE and a server cookie
    (RFC 7873 5.2.3), asks again with it and is answered; one with no cookie gets TC=1 (it goes to TCP,
    where the cookie is not required: the connection proves the address)."""
    r = ask(strict, CLIENT)
    assert r.rcode() == BADCOOKIE and not r.answer and not r.authority, describe(r)
    sc = server_cookie(r)
    r = ask(strict, CLIENT + sc)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, describe(r)
    server_cookie(r)
    r = ask(strict, None)
    assert r.flags & dns.flags.TC and r.rcode() == dns.rcode.NOERROR and not r.answer, describe(r)
    r = ask(strict, None, tcp=True)
    assert r.answer, describe(r)
    # a server cookie not ours: another client cookie, another client address, a hash octet changed
    assert ask(strict, bytes(8) + sc).rcode() == BADCOOKIE
    bad = bytearray(sc)
    bad[-1] ^= 1
    assert ask(strict, CLIENT + bytes(bad)).rcode() == BADCOOKIE
    q = dns.message.make_query("www.example.com", "A", use_edns=0, options=[dns.edns.GenericOption(COOKIE, CLIENT + sc)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.2", 0))
        s.settimeout(3)
        s.sendto(q.to_wire(), (strict.addr, strict.port))
        r = dns.message.from_wire(s.recv(4096))
    assert r.rcode() == BADCOOKIE, "a cookie made for 127.0.0.1 is not good from 127.0.0.2" + describe(r)


def wait_until(t):
    while time.time() < t:
        time.sleep(min(0.05, max(0, t - time.time())))


def test_rotation_keeps_previous_period(strict):
    """rotation 2 s, no secret configured: each 2-second period has its key; a cookie made in one
    period is good in the next one, and no longer in the one after."""
    # learn a cookie early in a period (so the checks below fall well inside theirs)
    wait_until((int(time.time()) // 2 + 1) * 2 + 0.3)
    sc = server_cookie(ask(strict, CLIENT))
    stamp = struct.unpack("!I", sc[4:8])[0]
    period = stamp // 2
    wait_until((period + 1) * 2 + 0.3)
    r = ask(strict, CLIENT + sc)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, "the previous period's cookie" + describe(r)
    fresh = server_cookie(r)
    assert fresh[4:8] != sc[4:8], "a new timestamp in the new period"
    wait_until((period + 2) * 2 + 0.3)
    r = ask(strict, CLIENT + sc)
    assert r.rcode() == BADCOOKIE, "two periods old" + describe(r)
    r = ask(strict, CLIENT + fresh)
    assert r.rcode() == dns.rcode.NOERROR, "the one made in the period before" + describe(r)


def test_malformed_cookie_is_formerr(plain, strict):
    """RFC 7873 5.2.2: a COOKIE option of fewer than 8 octets, 9 to 15, or more than 40 is malformed:
    FORMERR, with our OPT and no cookie in it (Knot and BIND answer it so). The brief asked for
    BADCOOKIE here; RFC 7873 keeps BADCOOKIE (5.2.3) for a well-formed cookie that is not valid, which
    test_required_cookie checks."""
    for srv in (plain, strict):
        for n in (0, 5, 7, 9, 12, 15, 41):
            r = ask(srv, bytes(range(n)))
            assert r.rcode() == dns.rcode.FORMERR, "%d octets%s" % (n, describe(r))
            assert r.edns == 0 and not [o for o in r.options if o.otype == COOKIE], describe(r)
        # a server cookie of a well-formed length that is not ours: answered normally, a new one back
        r = ask(srv, CLIENT + bytes(24))
        assert r.rcode() == (BADCOOKIE if srv is strict else dns.rcode.NOERROR), describe(r)
        server_cookie(r)


def test_previous_secret_by_hand(keyed):
    """A configured secret is the key itself; previous-secret keeps cookies made with the one before."""
    sc = server_cookie(ask(keyed, CLIENT))
    assert ask(keyed, CLIENT + sc).rcode() == dns.rcode.NOERROR
    # the cookie RFC 9018 A.1 shows for 198.51.100.100 is not good from 127.0.0.1
    assert ask(keyed, CLIENT + bytes.fromhex("010000005cf79f111f8130c3eee29480")).rcode() == BADCOOKIE


def test_bad_secrets_are_named(tmp_path):
    from ternlib import TERND
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server:\n  listen: [\"127.0.0.1@%d\"]\ncookies:\n  secret: \"0011\"\n"
                   "  previous-secret: \"zz%s\"\n  rotation: 0\n" % (free_port(), "0" * 30))
    p = subprocess.run([TERND, "--check", "-c", str(cfg)], capture_output=True, text=True,
                       env=dict(os.environ, TERND_ALLOW_ROOT="1"))
    assert p.returncode != 0
    assert "cookies.secret: \"0011\" has 4 hex digits, not 32" in p.stderr + p.stdout, p.stderr
    assert "cookies.previous-secret: \"zz" in p.stderr + p.stdout and "not hexadecimal" in p.stderr + p.stdout
    assert "cookies.rotation: \"0\" is out of range" in p.stderr + p.stdout


@pytest.mark.skipif(not knotlib.knotd_available(), reason="knotd is not installed")
def test_knot_cookie_with_the_same_secret_is_ours(keyed, tmp_path):
    """RFC 9018 interoperability: Knot's mod-cookies with the same secret makes cookies ternd accepts,
    and ternd's are good at Knot (Knot answers BADCOOKIE to a cookie it does not accept over UDP)."""
    k = knotlib.Knotd({"example.com": ZONE_FILES["example.com"]}, workdir=tmp_path)
    lines = open(k.config).read().splitlines()
    i = lines.index("zone:")
    lines[i:i] = ["mod-cookies:", "  - id: shared", "    secret: 0x%s" % SECRET]
    lines.append("    module: mod-cookies/shared")
    with open(k.config, "w") as f:
        f.write("\n".join(lines) + "\n")
    k.start()
    try:
        r = ask(k, CLIENT)
        sc = bytes(cookie_of(r))[8:]
        assert len(sc) == 16 and sc[0] == 1, sc.hex()
        r = ask(keyed, CLIENT + sc)
        assert r.rcode() == dns.rcode.NOERROR and r.answer, "Knot's cookie at ternd" + describe(r)
        mine = server_cookie(ask(keyed, CLIENT))
        r = ask(k, CLIENT + mine)
        assert r.rcode() == dns.rcode.NOERROR and r.answer, "ternd's cookie at Knot" + describe(r)
        # the same cookie, byte for byte, when both stamp the same second
        for _ in range(20):
            a, b = bytes(cookie_of(ask(k, CLIENT))), bytes(cookie_of(ask(keyed, CLIENT)))
            if a[12:16] == b[12:16]:
                assert a == b, (a.hex(), b.hex())
                break
        else:
            pytest.fail("never the same second")
    finally:
        k.stop()
