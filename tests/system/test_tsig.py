"""TSIG (RFC 8945) wherever ternd talks to peers: signed queries answered signed (UDP, TCP, every
message of a transfer), TSIG error answers (BADSIG, BADKEY, BADTIME), transfer ACL entries that
require a key, NOTIFY signed both ways, and ternd as the secondary of Knot and BIND with a key --
and as the primary of a Knot secondary."""
import base64
import os
import shutil
import socket
import struct
import subprocess
import time
from unittest import mock

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

import xfrlib
from bindlib import NamedPrimary, named_available
from knotlib import KnotPrimary, KnotSecondary, knotd_available
from sysutil import frame, raw_records, tcp_read_msg, udp_raw
from ternlib import TERND, Ternd, free_port
from xfrlib import TsigKey, stop_ok, stop_started  # noqa: F401 (an autouse fixture)
from xfrlib import started as _started

KDIG = shutil.which("kdig") or "/usr/bin/kdig"
DIG = shutil.which("dig") or "/usr/bin/dig"

ZONE = "tsig.test"
KEY = "xfr.key"
SECRET = base64.b64encode(b"tern tsig test secret, 32 bytes").decode()
WRONG = base64.b64encode(b"some other secret of 32 bytes!!!").decode()
OTHER = "other.key"
OTHER_SECRET = base64.b64encode(b"the secret of the other key 1234").decode()
PEER_KEY = TsigKey(KEY, "hmac-sha256", SECRET)  # the key as Knot and BIND have it

needs_knot = pytest.mark.skipif(not knotd_available(), reason="knotd not installed")


def ring(name=KEY, secret=SECRET):
    return dns.tsigkeyring.from_text({name: ("hmac-sha256", secret)})


def zone_text(serial, www="192.0.2.1", hosts=30, big=0):
    lines = ["$ORIGIN %s." % ZONE, "$TTL 300", "@ SOA ns1 hostmaster %d 3600 600 1209600 60" % serial,
             "@ NS ns1", "ns1 A 127.0.0.1", "www A %s" % www, "mail MX 10 www"]
    lines += ["h%d A 10.0.%d.%d" % (i, i // 256, i % 256) for i in range(hosts)]
    lines += ['big TXT "%02d%s"' % (i, "x" * 198) for i in range(big)]
    return "\n".join(lines) + "\n"


KEYS_YAML = """keys:
  - name: %s
    algorithm: hmac-sha256
    secret: "%s"
  - name: %s
    algorithm: hmac-sha256
    secret: "%s"
"""


def keys_yaml(secret=SECRET):
    return KEYS_YAML % (KEY, secret, OTHER, OTHER_SECRET)


class Tern(Ternd):
    """ternd with a configuration body (everything after server:) given as YAML text."""

    def __init__(self, body, **kw):
        self.body = body
        if kw.get("workdir"):
            os.makedirs(kw["workdir"], exist_ok=True)
        super().__init__({}, **kw)

    def write_config(self, listen, extra_server=""):
        head = ["server:", "  listen:"] + ["    - \"%s\"" % a for a in listen]
        with open(self.config, "w") as f:
            f.write("\n".join(head) + "\n" + self.body)

    def rewrite(self, body):
        self.body = body
        self.write_config(["127.0.0.1@%d" % self.port])

    def reload_and_wait(self):
        before = self.log_text().count("reload done")
        self.reload()
        deadline = time.time() + 5
        while self.log_text().count("reload done") == before:
            assert time.time() < deadline, self.log_text()
            time.sleep(0.02)

    def start(self):
        _started.append(self)
        return super().start()


def tsig_fields(wire):
    """(rcode, TSIG error, MAC length) of a raw message whose last record is a TSIG; None without."""
    recs = raw_records(wire)
    rcode = struct.unpack("!H", wire[2:4])[0] & 15
    if not recs or recs[-1][0] != "additional" or recs[-1][1] != 250:
        return (rcode, None, None)
    rd = recs[-1][3]
    off = 0
    while rd[off]:
        off += 1 + rd[off]
    off += 1 + 6 + 2
    (mac_len,) = struct.unpack("!H", rd[off:off + 2])
    off += 2 + mac_len + 2
    (error,) = struct.unpack("!H", rd[off:off + 2])
    return (rcode, error, mac_len)


def soa_serial(port):
    """The serial 127.0.0.1@port serves for ZONE (None if none)."""
    return xfrlib.soa_serial("127.0.0.1", port, ZONE)


def wait_serial(port, serial, timeout=10.0, log=None):
    """Waits until 127.0.0.1@port serves serial for ZONE; returns the time.time() it did."""
    return xfrlib.wait_serial("127.0.0.1", port, ZONE, serial, timeout, log)


def axfr_records(port, keyring=None, keyname=None, source=None):
    """The zone by AXFR (dnspython checks every message's TSIG when keyring is given)."""
    return xfrlib.axfr_records("127.0.0.1", port, ZONE, keyring, keyname, source)


def file_records(path):
    z = dns.zone.from_file(str(path), ZONE + ".", relativize=False)
    return sorted((n.to_text().lower(), dns.rdatatype.to_text(rds.rdtype), rds.ttl, rd.to_text().lower())
                  for n, rds in z.iterate_rdatasets() for rd in rds)


def raw_axfr(port, keyring=None, keyname=None, source="127.0.0.1"):
    """(request, [raw messages]) of an AXFR over TCP, read until the closing SOA or an error."""
    q = dns.message.make_query(ZONE, "AXFR")
    if keyring:
        q.use_tsig(keyring, keyname)
    wire = q.to_wire()
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    msgs = []
    with s:
        s.sendall(frame(wire))
        soas = 0
        while soas < 2:
            m = tcp_read_msg(s)
            msgs.append(m)
            if struct.unpack("!H", m[2:4])[0] & 15:
                break
            soas += sum(1 for sect, t, _, _ in raw_records(m) if sect == "answer" and t == 6)
    return q, msgs


def notify_query(keyring=None, keyname=None, serial=None):
    q = dns.message.make_query(ZONE, "SOA")
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    if keyring:
        q.use_tsig(keyring, keyname)
    return q


def run_tool(args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout + r.stderr


# --- ternd as the answering side --------------------------------------------------------------

PRIMARY_BODY = """zones:
  - name: %s
    file: "%s"
%s
transfer:
  allow:
    - {address: 127.0.0.1/32, key: %s}
    - 127.0.0.2/32
"""


def test_axfr_signed_and_tsig_errors(tmp_path):
    """AXFR signed with the key: every message signed in one chain (dnspython, kdig and dig verify
    it); wrong secret NOTAUTH/BADSIG, unknown key NOTAUTH/BADKEY, unsigned where only a keyed entry
    matches REFUSED, the other key REFUSED, and an entry without a key lets an unsigned request in.
    A new secret applies on SIGHUP."""
    zfile = tmp_path / "tsig.test.zone"
    zfile.write_text(zone_text(1, hosts=3000))
    t = Tern(PRIMARY_BODY % (ZONE, zfile, keys_yaml(), KEY), workdir=str(tmp_path / "t"))
    t.start()
    want = file_records(zfile)
    assert axfr_records(t.port, ring(), KEY) == want
    # every message carries its TSIG (dnspython would accept unsigned ones in between)
    q, msgs = raw_axfr(t.port, ring(), KEY)
    assert len(msgs) > 3
    assert all(tsig_fields(m)[1:] == (0, 32) for m in msgs), [tsig_fields(m) for m in msgs]
    code, out = run_tool([KDIG, "@127.0.0.1", "-p", str(t.port), "-y", "hmac-sha256:%s:%s" % (KEY, SECRET),
                          ZONE, "AXFR"])
    assert code == 0 and "TSIG\thmac-sha256." in out, out[-2000:]
    assert "failed to verify" not in out and ";; ERROR" not in out and ";; WARNING" not in out, out[-2000:]
    code, out = run_tool([DIG, "@127.0.0.1", "-p", str(t.port), "-y", "hmac-sha256:%s:%s" % (KEY, SECRET),
                          ZONE, "AXFR"])
    assert code == 0 and "www.%s." % ZONE in out, out[-2000:]
    assert "tsig verify failure" not in out and "could not be validated" not in out, out[-2000:]

    # wrong secret: NOTAUTH with BADSIG in an unsigned TSIG, and nothing of the zone
    q, msgs = raw_axfr(t.port, ring(secret=WRONG), KEY)
    assert len(msgs) == 1 and tsig_fields(msgs[0]) == (dns.rcode.NOTAUTH, dns.rcode.BADSIG, 0)
    assert struct.unpack("!H", msgs[0][6:8])[0] == 0
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.message.from_wire(msgs[0], keyring=ring(secret=WRONG), request_mac=q.mac)
    code, out = run_tool([KDIG, "@127.0.0.1", "-p", str(t.port), "-y", "hmac-sha256:%s:%s" % (KEY, WRONG),
                          ZONE, "AXFR"])
    assert "BADSIG" in out, out
    # a key ternd does not know: BADKEY
    q, msgs = raw_axfr(t.port, ring("nobody.key"), "nobody.key")
    assert len(msgs) == 1 and tsig_fields(msgs[0]) == (dns.rcode.NOTAUTH, dns.rcode.BADKEY, 0)
    code, out = run_tool([KDIG, "@127.0.0.1", "-p", str(t.port), "-y", "hmac-sha256:nobody.key:%s" % SECRET,
                          ZONE, "AXFR"])
    assert "BADKEY" in out, out
    # unsigned from an address only the keyed entry holds: REFUSED, unsigned
    q, msgs = raw_axfr(t.port)
    assert len(msgs) == 1 and tsig_fields(msgs[0]) == (dns.rcode.REFUSED, None, None)
    # signed with a key ternd knows, but not the entry's: REFUSED, signed
    q, msgs = raw_axfr(t.port, ring(OTHER, OTHER_SECRET), OTHER)
    assert tsig_fields(msgs[0]) == (dns.rcode.REFUSED, 0, 32)
    r = dns.message.from_wire(msgs[0], keyring=ring(OTHER, OTHER_SECRET), request_mac=q.mac)
    assert r.had_tsig
    # 127.0.0.2 needs no key
    assert axfr_records(t.port, source="127.0.0.2") == want

    # SIGHUP with a new secret: the old one is refused from then on
    t.rewrite(PRIMARY_BODY % (ZONE, zfile, keys_yaml(WRONG), KEY))
    t.reload_and_wait()
    q, msgs = raw_axfr(t.port, ring(), KEY)
    assert tsig_fields(msgs[0])[:2] == (dns.rcode.NOTAUTH, dns.rcode.BADSIG)
    assert axfr_records(t.port, ring(secret=WRONG), KEY) == want
    stop_ok(t)


def test_signed_queries_udp_tcp_and_errors(tmp_path):
    """A signed SOA query over UDP (what a secondary sends) and TCP gets a signed answer; a signed
    answer that does not fit over UDP has TC and is signed too; BADTIME for a skewed clock (signed
    with the request MAC, ternd's time in other data); a TSIG that is not the last record is
    FORMERR; unsigned queries are answered as before."""
    zfile = tmp_path / "tsig.test.zone"
    zfile.write_text(zone_text(7, big=20))
    t = Tern("zones:\n  - name: %s\n    file: \"%s\"\n%s" % (ZONE, zfile, keys_yaml()), workdir=str(tmp_path / "t"))
    t.start()
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(ring(), KEY)
    r = dns.query.udp(q, "127.0.0.1", port=t.port, timeout=2)  # raises unless the TSIG verifies
    assert r.had_tsig and r.rcode() == dns.rcode.NOERROR and r.answer[0][0].serial == 7
    assert r.flags & dns.flags.AA
    r = dns.query.tcp(q, "127.0.0.1", port=t.port, timeout=2)
    assert r.had_tsig and r.answer[0][0].serial == 7
    # the other key verifies as well (each answer is signed with the request's key)
    q = dns.message.make_query("www." + ZONE, "A", use_edns=0)
    q.use_tsig(ring(OTHER, OTHER_SECRET), OTHER)
    r = dns.query.udp(q, "127.0.0.1", port=t.port, timeout=2)
    assert r.had_tsig and [rd.to_text() for rd in r.answer[0]] == ["192.0.2.1"]
    # TC over UDP (no EDNS: 512 bytes), signed; the whole RRset over TCP, signed
    q = dns.message.make_query("big." + ZONE, "TXT")
    q.use_tsig(ring(), KEY)
    r = dns.query.udp(q, "127.0.0.1", port=t.port, timeout=2)
    assert r.flags & dns.flags.TC and r.had_tsig
    raw = udp_raw(t.port, q.to_wire())
    assert len(raw) <= 512 and tsig_fields(raw)[1:] == (0, 32)
    r = dns.query.tcp(q, "127.0.0.1", port=t.port, timeout=2)
    assert not r.flags & dns.flags.TC and len(r.answer[0]) == 20 and r.had_tsig

    # BADTIME: signed 1000 s in the past
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(ring(), KEY)
    with mock.patch("time.time", return_value=time.time() - 1000):
        wire = q.to_wire()
    raw = udp_raw(t.port, wire)
    rcode, error, mac_len = tsig_fields(raw)
    assert (rcode, error, mac_len) == (dns.rcode.NOTAUTH, dns.rcode.BADTIME, 32)
    assert struct.unpack("!H", raw[6:8])[0] == 0  # no answer data
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(raw, keyring=ring(), request_mac=q.mac)

    # a TSIG followed by another record is malformed: FORMERR, unsigned
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(ring(), KEY)
    wire = bytearray(q.to_wire())
    wire += b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # an OPT after the TSIG
    wire[10:12] = struct.pack("!H", struct.unpack("!H", wire[10:12])[0] + 1)
    raw = udp_raw(t.port, bytes(wire))
    assert tsig_fields(raw) == (dns.rcode.FORMERR, None, None)
    # a signed query with an unknown key: NOTAUTH BADKEY over UDP too
    q = dns.message.make_query(ZONE, "SOA")
    q.use_tsig(ring("nobody.key"), "nobody.key")
    raw = udp_raw(t.port, q.to_wire())
    assert tsig_fields(raw) == (dns.rcode.NOTAUTH, dns.rcode.BADKEY, 0)
    # unsigned: as ever
    r = dns.query.udp(dns.message.make_query("www." + ZONE, "A"), "127.0.0.1", port=t.port, timeout=2)
    assert not r.had_tsig and r.rcode() == dns.rcode.NOERROR and r.answer
    stop_ok(t)


def test_config_errors_name_file_line_and_field(tmp_path):
    conf = tmp_path / "bad.yaml"
    conf.write_text("server:\n  listen: [127.0.0.1@5399]\n"            # 1-2
                    "keys:\n"                                          # 3
                    "  - name: a.key\n    algorithm: hmac-sha256\n    secret: \"%s\"\n"  # 4-6
                    "  - name: A.Key.\n    algorithm: hmac-sha256\n    secret: \"%s\"\n"  # 7-9
                    "  - name: b.key\n    algorithm: hmac-md5\n    secret: \"%s\"\n"  # 10-12
                    "  - name: c.key\n    algorithm: hmac-sha512\n    secret: \"not base64!\"\n"  # 13-15
                    "zones:\n"                                         # 16
                    "  - name: p.test\n    file: p.zone\n    key: a.key\n"  # 17-19
                    "  - name: s.test\n    primary: 127.0.0.1@53\n    key: nosuch.key\n"  # 20-22
                    "transfer:\n"                                      # 23
                    "  allow:\n    - {address: 127.0.0.0/8, key: missing.key}\n"  # 24-25
                    "    - {key: a.key}\n"                             # 26
                    "  notify:\n    - {address: \"127.0.0.1@53\", key: gone.key}\n"  # 27-28
                    % (SECRET, SECRET, SECRET))
    r = subprocess.run([TERND, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 1
    err = r.stderr
    assert 'bad.yaml:7: keys[1].name: duplicate key "A.Key." (first at line 4)' in err, err
    assert 'bad.yaml:11: keys[2].algorithm: unknown TSIG algorithm "hmac-md5"' in err, err
    assert "bad.yaml:15: keys[3].secret: key 'c.key': secret is not base64" in err, err
    assert "bad.yaml:19: zones[0].key: only a secondary zone (one with a primary) takes a key" in err, err
    assert 'bad.yaml:22: zones[1].key: unknown key "nosuch.key" (not declared in keys)' in err, err
    assert 'bad.yaml:25: transfer.allow[0].key: unknown key "missing.key"' in err, err
    assert "bad.yaml:26: transfer.allow[1].address: missing required key" in err, err
    assert 'bad.yaml:28: transfer.notify[0].key: unknown key "gone.key"' in err, err
    # the forms together, valid
    zone = tmp_path / "p.zone"
    zone.write_text(zone_text(1).replace(ZONE, "p.test"))
    conf.write_text("server:\n  listen: [127.0.0.1@5399]\n" + keys_yaml() +
                    "zones:\n  - name: p.test\n    file: p.zone\n"
                    "  - name: s.test\n    primary: [\"127.0.0.1@53\"]\n    key: %s\n" % KEY +
                    "transfer:\n  allow: [127.0.0.0/8, {address: \"::1/128\", key: %s}, {address: 10.0.0.0/8}]\n"
                    "  notify: [\"127.0.0.1@5301\", {address: \"127.0.0.1@5302\", key: %s}]\n" % (OTHER, KEY))
    r = subprocess.run([TERND, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- ternd as the primary of Knot -------------------------------------------------------------

@needs_knot
def test_knot_secondary_of_ternd_with_tsig(tmp_path):
    """ternd primary -> Knot secondary, both with the key and nothing unsigned allowed: Knot's
    AXFR is signed; a zone file change (SIGHUP) reaches Knot by a signed NOTIFY whose signed answer
    ternd verifies, and Knot serves it at once (its refresh timer is an hour)."""
    kport = free_port()
    zfile = tmp_path / "tsig.test.zone"
    zfile.write_text(zone_text(1, hosts=2000))
    body = (PRIMARY_BODY % (ZONE, zfile, keys_yaml(), KEY)).replace(
        "    - 127.0.0.2/32\n", "  notify:\n    - {address: \"127.0.0.1@%d\", key: %s}\n" % (kport, KEY))
    t = Tern(body, workdir=str(tmp_path / "t"))
    t.start()
    knot = _started.add(KnotSecondary(tmp_path / "knot", ZONE, t.port, port=kport, key=PEER_KEY, transfer=True))
    logs = lambda: t.log_text() + "\n--- knot ---\n" + knot.log_text()  # noqa: E731
    wait_serial(kport, 1, timeout=15, log=logs)
    assert axfr_records(kport, ring(), KEY) == file_records(zfile)
    for serial in (2, 3):
        zfile.write_text(zone_text(serial, www="192.0.2.%d" % serial, hosts=2000))
        start = time.time()
        t.reload()
        took = wait_serial(kport, serial, timeout=10, log=logs) - start
        assert took < 5, "the signed NOTIFY did not make Knot refresh at once (%.2f s)" % took
        deadline = time.time() + 5
        while "serial %d acknowledged by 127.0.0.1@%d" % (serial, kport) not in t.log_text():
            assert time.time() < deadline, logs()
            time.sleep(0.05)
    assert axfr_records(kport, ring(), KEY) == file_records(zfile)
    assert "not an acknowledgement" not in t.log_text()
    assert "TSIG" not in knot.log_text().replace("TSIG key", ""), knot.log_text()  # no TSIG complaint
    knot.stop()
    stop_ok(t)


# --- ternd as the secondary of Knot and BIND --------------------------------------------------

def secondary_body(primary_port, secret=SECRET):
    return ("zones:\n  - name: %s\n    primary: [\"127.0.0.1@%d\"]\n    key: %s\n" % (ZONE, primary_port, KEY) +
            keys_yaml(secret) + "transfer:\n  allow: [127.0.0.0/8]\n")


@needs_knot
def test_ternd_secondary_of_knot_with_tsig(tmp_path):
    """Knot primary (transfers only with the key) -> ternd: the signed AXFR is served record for
    record; a change reaches ternd by Knot's signed NOTIFY within a second."""
    pop_port = free_port()
    knot = _started.add(KnotPrimary(tmp_path / "knot", ZONE, zone_text(1, hosts=3000), notify_port=pop_port,
                                    key=PEER_KEY))
    t = Tern(secondary_body(knot.port), port=pop_port, workdir=str(tmp_path / "pop"))
    t.start()
    logs = lambda: t.log_text() + "\n--- knot ---\n" + knot.log_text()  # noqa: E731
    wait_serial(t.port, 1, log=logs)
    assert axfr_records(t.port) == axfr_records(knot.port, ring(), KEY)
    for serial in (2, 3):
        start = time.time()
        knot.change(zone_text(serial, www="192.0.2.%d" % serial, hosts=3000))
        took = wait_serial(t.port, serial, timeout=5, log=logs) - start
        assert took < 2, "the signed NOTIFY took %.2f s to bring serial %d" % (took, serial)
    assert axfr_records(t.port) == axfr_records(knot.port, ring(), KEY)
    assert "NOTIFY from a primary" in t.log_text()
    assert "refresh failed" not in t.log_text(), logs()
    stop_ok(t)


@needs_knot
def test_bad_tsig_on_the_secondary_side(tmp_path):
    """ternd's key for its primary changes to a wrong secret: Knot's NOTIFY no longer verifies
    (BADSIG) and triggers nothing; NOTIFYs unsigned, with an unknown key or with another key of
    ternd's are refused too; a refresh fails with the TSIG error in the log, and the copy held
    keeps being served."""
    pop_port = free_port()
    knot = _started.add(KnotPrimary(tmp_path / "knot", ZONE, zone_text(1), notify_port=pop_port, key=PEER_KEY))
    t = Tern(secondary_body(knot.port), port=pop_port, workdir=str(tmp_path / "pop"))
    t.start()
    logs = lambda: t.log_text() + "\n--- knot ---\n" + knot.log_text()  # noqa: E731
    wait_serial(t.port, 1, log=logs)
    t.rewrite(secondary_body(knot.port, secret=WRONG))
    t.reload_and_wait()
    refreshes = t.log_text().count("NOTIFY from a primary")

    knot.change(zone_text(2, www="192.0.2.2"))  # Knot's NOTIFY, signed with the right secret
    deadline = time.time() + 5
    while "BADSIG" not in knot.log_text():  # Knot logs the error ternd answered with
        assert time.time() < deadline, logs()
        time.sleep(0.05)
    # by hand: BADSIG, BADKEY (unknown key, and ternd's other key), NOTAUTH unsigned
    for keyring, keyname, expect in ((ring(), KEY, (dns.rcode.NOTAUTH, dns.rcode.BADSIG, 0)),
                                     (ring("nobody.key"), "nobody.key", (dns.rcode.NOTAUTH, dns.rcode.BADKEY, 0)),
                                     (ring(OTHER, OTHER_SECRET), OTHER, (dns.rcode.NOTAUTH, dns.rcode.BADKEY, 0)),
                                     (None, None, (dns.rcode.NOTAUTH, None, None))):
        raw = udp_raw(t.port, notify_query(keyring, keyname).to_wire())
        assert raw and tsig_fields(raw) == expect, (keyname, tsig_fields(raw))
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.query.udp(notify_query(ring(OTHER, OTHER_SECRET), OTHER), "127.0.0.1", port=t.port, timeout=2)
    time.sleep(1.0)
    assert t.log_text().count("NOTIFY from a primary") == refreshes, "a refused NOTIFY made a refresh"
    assert soa_serial(t.port) == 1

    # a NOTIFY with ternd's own key is taken (and answered signed); the refresh it starts fails at
    # Knot, which refuses ternd's signature
    r = dns.query.udp(notify_query(ring(secret=WRONG), KEY), "127.0.0.1", port=t.port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR and r.had_tsig
    deadline = time.time() + 5
    while "rejected our signature with BADSIG" not in t.log_text():
        assert time.time() < deadline, logs()
        time.sleep(0.05)
    assert "refresh failed" in t.log_text()
    assert soa_serial(t.port) == 1 and t.query("www." + ZONE).answer[0][0].to_text() == "192.0.2.1"
    # the right secret again: the next refresh brings serial 2
    t.rewrite(secondary_body(knot.port))
    t.reload_and_wait()
    dns.query.udp(notify_query(ring(), KEY), "127.0.0.1", port=t.port, timeout=2)
    wait_serial(t.port, 2, timeout=5, log=logs)
    stop_ok(t)


@pytest.mark.skipif(not named_available(), reason="BIND (named) not installed")
def test_ternd_secondary_of_bind_with_tsig(tmp_path):
    """BIND primary (transfers only with the key, NOTIFY signed) -> ternd: the signed AXFR is
    served record for record, and a change arrives by BIND's signed NOTIFY."""
    pop_port = free_port()
    named = _started.add(NamedPrimary(tmp_path / "bind", ZONE, zone_text(100, hosts=3000), pop_port, key=PEER_KEY))
    port = named.port
    with pytest.raises(dns.xfr.TransferError):  # BIND refuses an unsigned transfer
        axfr_records(port)
    t = Tern(secondary_body(port), port=pop_port, workdir=str(tmp_path / "pop"))
    t.start()
    logs = lambda: t.log_text() + "\n--- named ---\n" + named.log_text()  # noqa: E731
    wait_serial(t.port, 100, log=logs)
    assert axfr_records(t.port) == axfr_records(port, ring(), KEY)
    named.change(zone_text(101, www="192.0.2.101", hosts=3000))
    wait_serial(t.port, 101, timeout=10, log=logs)
    assert "NOTIFY from a primary" in t.log_text()
    assert axfr_records(t.port) == axfr_records(port, ring(), KEY)
    stop_ok(t)
