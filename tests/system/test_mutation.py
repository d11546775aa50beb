"""Mutation test: ternd survives >=100,000 malformed UDP messages and thousands over TCP.

Valid queries (many types, opcodes and classes, EDNS with NSID/ECS/cookie/padding options, several
questions, compression pointers) are mutated (bit flips, overwrites, truncation at every length,
insertions, bad compression pointers and label lengths, huge counts, QR set, random opcodes, bad OPT
lengths, all-random bytes) and sent without waiting for answers; every BATCH packets a sentinel
query is sent and awaited, so the server works through everything and a crash is pinned to a batch
(written to a file; replay: `python3 test_mutation.py FILE.hex PORT`). Afterwards ternd must be
running, answer correctly and its log must hold no sanitizer report. Responses seen on the way must
be well-formed, within the UDP size limit, and never answer a message that is itself a response
(QR=1).

Environment: TERND (binary, the ASan/UBSan build in `make test`), TERN_MUTATION_SEED (default
fixed; printed), TERN_MUTATION_COUNT (UDP packets, default 120000).
"""
import errno
import os
import random
import select
import socket
import struct
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import ternlib

HERE = os.path.dirname(os.path.abspath(__file__))
ZDIR = os.path.join(HERE, "diff_zones")
ZONES = {
    "example.test": os.path.join(ZDIR, "example.test.zone"),
    "child.example.test": os.path.join(ZDIR, "child.example.test.zone"),
    "other.test": os.path.join(ZDIR, "other.test.zone"),
}
SEED = int(os.environ.get("TERN_MUTATION_SEED", "1234567"))
COUNT = int(os.environ.get("TERN_MUTATION_COUNT", "120000"))
BATCH = 128
NSOCK = 4
SERVER_UDP_MAX = 1232  # ternd's default edns_size (config.h): the largest UDP response it may send
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
SENTINEL_ID = 0xFFFF

T = {n: getattr(dns.rdatatype, n) for n in
     ("A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "DS", "RRSIG", "NSEC", "DNSKEY",
      "SVCB", "HTTPS", "CAA", "IXFR", "AXFR", "ANY", "OPT", "TSIG", "DNAME", "NAPTR")}


# ---------------------------------------------------------------- wire building

def wname(text):
    """Wire form of a dotted name (no escapes)."""
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(qid=0, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name_wire, qtype, qclass=1):
    return name_wire + struct.pack("!HH", qtype, qclass)


def rr(name_wire, rtype, rclass, ttl, rdata):
    return name_wire + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def opt(payload=1232, ext_rcode=0, version=0, do=False, options=(), owner=b"\x00", rdlen=None):
    rdata = b"".join(struct.pack("!HH", code, len(data)) + data for code, data in options)
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", T["OPT"], payload, ttl, n) + rdata


def ecs(family, source, scope, addr):
    return (8, struct.pack("!HBB", family, source, scope) + addr)


NSID = (3, b"")
COOKIE_CLIENT = (10, bytes(range(1, 9)))
COOKIE_FULL = (10, bytes(range(1, 9)) + bytes(range(100, 116)))
PADDING = (12, b"\x00" * 64)
KEEPALIVE = (11, b"")
UNKNOWN_OPT = (65001, b"hello")

NAMES = ["www.example.test", "example.test", "nx.example.test", "x.wild.example.test", "host.sub.example.test",
         "c1.example.test", "host.dn.example.test", "www.child.example.test", "www.other.test", "big.example.test",
         "a.b.c.deep.example.test", "nothere.invalid", "", "version.bind", "_sip._tcp.example.test"]


def base_messages(rng):
    """Valid (and a few nearly valid) messages: [(description, bytes)]."""
    msgs = []
    types = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "ANY", "DS", "SRV", "HTTPS", "CNAME", "RRSIG", "DNSKEY",
             "NSEC", "CAA", "DNAME"]
    for i, name in enumerate(NAMES):
        t = T[types[i % len(types)]]
        q = question(wname(name), t)
        msgs.append(("plain %s" % name, header(flags=0x0100) + q))
        msgs.append(("edns %s" % name, header(flags=0x0100, ar=1) + q + opt()))
        msgs.append(("edns-do-nsid %s" % name, header(ar=1) + q + opt(payload=4096, do=True, options=[NSID])))
        msgs.append(("edns-ecs4 %s" % name, header(ar=1) + q + opt(options=[ecs(1, 24, 0, b"\xc0\x00\x02")])))
        msgs.append(("edns-ecs6 %s" % name,
                     header(ar=1) + q + opt(options=[ecs(2, 56, 0, b"\x20\x01\x0d\xb8\x00\x00\x00")])))
        msgs.append(("edns-cookie %s" % name, header(ar=1) + q + opt(options=[COOKIE_CLIENT])))
        msgs.append(("edns-all %s" % name, header(ar=1) + q +
                     opt(payload=512, options=[NSID, COOKIE_FULL, ecs(1, 0, 0, b""), PADDING, KEEPALIVE, UNKNOWN_OPT])))
    for tname in types + ["AXFR", "IXFR", "TSIG", "OPT", "NAPTR", "SVCB", "PTR"]:
        msgs.append(("type %s" % tname, header(ar=1) + question(wname("www.example.test"), T[tname]) + opt()))
    for t in (0, 255, 65535, 65280, 128, 249, 250, 251, 252, 253, 254):
        msgs.append(("type %d" % t, header() + question(wname("example.test"), t)))
    for cls in (3, 4, 254, 255, 0, 2, 65535):  # CH, HS, NONE, ANY, 0, CS, 65535
        msgs.append(("class %d" % cls, header(ar=1) + question(wname("version.bind"), T["TXT"], cls) + opt()))
        msgs.append(("class %d www" % cls, header() + question(wname("www.example.test"), T["A"], cls)))
    # several questions; the second one compressed against the first
    q1 = question(wname("www.example.test"), T["A"])
    msgs.append(("two questions", header(qd=2) + q1 + question(wname("mail.example.test"), T["MX"])))
    msgs.append(("two questions ptr", header(qd=2, ar=1) + q1 + question(b"\xc0\x0c", T["AAAA"]) + opt()))
    msgs.append(("three questions ptr",
                 header(qd=3) + q1 + question(b"\x03ftp\xc0\x10", T["A"]) + question(b"\xc0\x10", T["NS"])))
    msgs.append(("zero questions", header(qd=0, ar=1) + opt()))
    msgs.append(("zero questions no edns", header(qd=0)))
    # names at the length limits: 255 octets is valid, 256 is not
    l63 = b"\x3f" + b"a" * 63
    msgs.append(("name 255", header() + question(l63 * 3 + b"\x3d" + b"b" * 61 + b"\x00", T["A"])))
    msgs.append(("name 256", header() + question(l63 * 3 + b"\x3e" + b"b" * 62 + b"\x00", T["A"])))
    msgs.append(("name 256 by pointers", header(qd=2) + question(l63 + l63 + l63 + b"\x00", T["A"]) +
                 question(b"\x3c" + b"c" * 60 + b"\xc0\x0c", T["A"])))
    # pointer chain: each pointer to the previous one
    chain = question(wname("example.test"), T["A"])
    body, offs = b"", [12]
    for k in range(40):
        offs.append(12 + len(chain) + len(body))
        body += struct.pack("!H", 0xC000 | offs[-2])
        body += struct.pack("!HH", 1, 1)
    msgs.append(("pointer chain", header(qd=41) + chain + body))
    # opcodes
    soa = rr(b"\xc0\x0c", T["SOA"], 1, 3600,
             wname("ns1.example.test") + wname("h.example.test") + struct.pack("!IIIII", 1, 2, 3, 4, 5))
    msgs.append(("notify", header(flags=0x2000 | 0x0400, an=1) + question(wname("example.test"), T["SOA"]) + soa))
    msgs.append(("update", header(flags=0x2800, qd=1, ns=1) + question(wname("example.test"), T["SOA"]) +
                 rr(wname("new.example.test"), T["A"], 1, 60, b"\xc0\x00\x02\x63")))
    msgs.append(("ixfr", header(ns=1) + question(wname("example.test"), T["IXFR"]) + soa))
    for op in (1, 2, 3, 6, 15):
        msgs.append(("opcode %d" % op,
                     header(flags=op << 11, ar=1) + question(wname("www.example.test"), T["A"]) + opt()))
    # nearly valid EDNS
    q = question(wname("www.example.test"), T["A"])
    msgs.append(("edns version 1", header(ar=1) + q + opt(version=1)))
    msgs.append(("edns payload 0", header(ar=1) + q + opt(payload=0)))
    msgs.append(("edns payload 65535", header(ar=1) + q + opt(payload=65535)))
    msgs.append(("two OPT", header(ar=2) + q + opt() + opt(payload=4096)))
    msgs.append(("OPT not root", header(ar=1) + q + opt(owner=wname("x.example.test"))))
    msgs.append(("OPT in answer", header(an=1) + q + opt()))
    msgs.append(("OPT rdlen long", header(ar=1) + q + opt(options=[NSID], rdlen=40)))
    msgs.append(("OPT rdlen short", header(ar=1) + q + opt(options=[COOKIE_CLIENT], rdlen=3)))
    msgs.append(("OPT option long", header(ar=1) + q + opt()[:-2] + struct.pack("!HHH", 4, 3, 200)))
    msgs.append(("ECS prefix 33", header(ar=1) + q + opt(options=[ecs(1, 33, 0, b"\xc0\x00\x02\x01\x01")])))
    msgs.append(("ECS prefix 129", header(ar=1) + q + opt(options=[ecs(2, 129, 0, b"\x20" * 17)])))
    msgs.append(("ECS family 3", header(ar=1) + q + opt(options=[ecs(3, 8, 0, b"\x01")])))
    msgs.append(("ECS addr too long", header(ar=1) + q + opt(options=[ecs(1, 8, 0, b"\x01\x02\x03\x04")])))
    msgs.append(("ECS scope set", header(ar=1) + q + opt(options=[ecs(1, 24, 24, b"\xc0\x00\x02")])))
    msgs.append(("ECS short", header(ar=1) + q + opt(options=[(8, b"\x00")])))
    for n in (0, 1, 7, 9, 15, 16, 40, 41, 48):
        cookie = bytes(rng.randrange(256) for _ in range(n))
        msgs.append(("cookie len %d" % n, header(ar=1) + q + opt(options=[(10, cookie)])))
    msgs.append(("nsid with data", header(ar=1) + q + opt(options=[(3, b"abcd")])))
    many = [(rng.randrange(65536), b"x" * rng.randrange(4)) for _ in range(100)]
    msgs.append(("many options", header(ar=1) + q + opt(options=many)))
    msgs.append(("option code 0", header(ar=1) + q + opt(options=[(0, b"")])))
    msgs.append(("padding 900", header(ar=1) + q + opt(options=[(12, b"\x00" * 900)])))
    msgs.append(("tsig", header(ar=1) + q + rr(wname("key"), T["TSIG"], 255, 0,
                 wname("hmac-sha256") + b"\x00\x00\x60\x00\x00\x00\x01\x2c\x00\x00\x00\x00\x00\x00\x00\x00")))
    msgs.append(("tsig then opt", header(ar=2) + q + rr(wname("key"), T["TSIG"], 255, 0, b"") + opt()))
    msgs.append(("answer records in query", header(an=2, ns=1, ar=1) + q +
                 rr(b"\xc0\x0c", 1, 1, 1, b"\x01\x02\x03\x04") +
                 rr(b"\xc0\x0c", 16, 1, 1, b"\x03abc") + rr(b"\x00", 2, 1, 1, b"\xc0\x0c") + opt()))
    msgs.append(("header only", header(qd=0)))
    msgs.append(("qr set", header(flags=0x8400, an=1) + q + rr(b"\xc0\x0c", 1, 1, 1, b"\x01\x02\x03\x04")))
    msgs.append(("tc set", header(flags=0x0200) + q))
    msgs.append(("all flags", header(flags=0x7FFF & ~0x7800) + q))
    blob = bytes(rng.randrange(256) for _ in range(3000))
    msgs.append(("big query", header(ar=1) + q + opt(options=[(65001, blob)])))
    return msgs


def label_offsets(msg, start=12):
    """Offsets of the length octets of the name at start (stops at a pointer, zero or the end)."""
    out, o = [], start
    while o < len(msg):
        n = msg[o]
        out.append(o)
        if n == 0 or n & 0xC0:
            break
        o += 1 + n
    return out


# ---------------------------------------------------------------- mutators

INTERESTING = [0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xC0, 0xFF, 0xFE, 0x29, 0x0C]


def m_bitflip(rng, m):
    m = bytearray(m)
    for _ in range(rng.randint(1, 8)):
        if m:
            m[rng.randrange(len(m))] ^= 1 << rng.randrange(8)
    return bytes(m)


def m_overwrite(rng, m):
    m = bytearray(m)
    for _ in range(rng.randint(1, 4)):
        if m:
            m[rng.randrange(len(m))] = rng.choice(INTERESTING) if rng.random() < 0.5 else rng.randrange(256)
    return bytes(m)


def m_truncate(rng, m):
    return m[:rng.randrange(len(m) + 1)]


def m_extend(rng, m):
    return m + bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


def m_insert(rng, m):
    i = rng.randrange(len(m) + 1)
    return m[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + m[i:]


def m_delete(rng, m):
    if not m:
        return m
    i = rng.randrange(len(m))
    return m[:i] + m[i + rng.randint(1, 16):]


def m_counts(rng, m):
    if len(m) < 12:
        return m
    m = bytearray(m)
    for _ in range(rng.randint(1, 4)):
        i = 4 + 2 * rng.randrange(4)
        v = rng.choice([0, 1, 2, 0xFFFF, 0x7FFF, 0x8000, rng.randrange(65536), rng.randrange(8)])
        m[i:i + 2] = struct.pack("!H", v)
    return bytes(m)


def m_flags(rng, m):
    if len(m) < 4:
        return m
    m = bytearray(m)
    choice = rng.randrange(4)
    if choice == 0:
        m[2] |= 0x80  # QR
    elif choice == 1:
        m[2] = (m[2] & 0x87) | (rng.randrange(16) << 3)  # opcode
    elif choice == 2:
        m[2:4] = struct.pack("!H", rng.randrange(65536))
    else:
        m[3] = (m[3] & 0xF0) | rng.randrange(16)  # rcode in a query; also Z/AD/CD bits
        m[3] |= rng.choice([0x00, 0x40, 0x20, 0x10])
    return bytes(m)


def m_pointer(rng, m):
    offs = label_offsets(m)
    if not offs:
        return m
    o = rng.choice(offs)
    kind = rng.randrange(6)
    if kind == 0:
        target = o  # itself
    elif kind == 1:
        target = rng.randrange(o + 1, len(m) + 2)  # forward
    elif kind == 2:
        target = rng.randrange(len(m), 0x4000)  # past the end
    elif kind == 3:
        target = rng.randrange(12)  # into the header
    elif kind == 4 and len(offs) >= 2:  # a loop of two pointers
        a, b = sorted(rng.sample(offs, 2))
        if b - a >= 2:
            m = bytearray(m)
            m[a:a + 2] = struct.pack("!H", 0xC000 | b)
            m[b:b + 2] = struct.pack("!H", 0xC000 | a)
            return bytes(m)
        target = a
    else:
        target = rng.randrange(0x4000)
    ptr = struct.pack("!H", 0xC000 | target)
    if rng.random() < 0.5:
        return m[:o] + ptr + m[o + 2:]  # overwrite, the rest stays as garbage
    return m[:o] + ptr + m[o:]  # insert, pushing the rest back


def m_label(rng, m):
    offs = label_offsets(m)
    if not offs:
        return m
    o = rng.choice(offs)
    m = bytearray(m)
    m[o] = rng.choice([63, 0x3F, len(m) - o, min(255, len(m) - o + rng.randint(0, 8)), 0x40 | rng.randrange(64),
                       0x80 | rng.randrange(64), rng.randrange(256)]) & 0xFF
    return bytes(m)


def find_opt(m):
    i = m.rfind(b"\x00\x00\x29")
    return i if i >= 12 and i + 11 <= len(m) else -1


def m_opt(rng, m):
    i = find_opt(m)
    if i < 0:
        return m_counts(rng, m)
    m = bytearray(m)
    kind = rng.randrange(6)
    if kind == 0:  # rdlength
        near = (len(m) - i - 11 + rng.randint(-4, 4)) & 0xFFFF
        m[i + 9:i + 11] = struct.pack("!H", rng.choice([0, 1, 3, 4, 0xFFFF, near]))
    elif kind == 1 and len(m) >= i + 15:  # first option's length
        m[i + 13:i + 15] = struct.pack("!H", rng.choice([0, 1, 0xFFFF, rng.randrange(64), len(m) - i - 15 + 1]))
    elif kind == 2:  # payload size, extended rcode, version, flags
        j = i + 3 + rng.randrange(6)
        m[j] = rng.randrange(256)
    elif kind == 3:  # a second OPT
        m += m[i:]
        m[10:12] = struct.pack("!H", (struct.unpack("!H", bytes(m[10:12]))[0] + 1) & 0xFFFF)
    elif kind == 4:  # option code
        if len(m) >= i + 13:
            m[i + 11:i + 13] = struct.pack("!H", rng.choice([3, 8, 10, 11, 12, 15, 0, 65535]))
    else:  # cut inside the OPT
        del m[rng.randrange(i + 1, len(m) + 1):]
    return bytes(m)


def m_splice(rng, m, bases):
    other = rng.choice(bases)[1]
    return m[:rng.randrange(len(m) + 1)] + other[rng.randrange(len(other) + 1):]


def m_random(rng, m):
    n = rng.choice([rng.randrange(12), rng.randrange(12, 64), rng.randrange(64, 600), rng.randrange(600, 4096)])
    data = bytes(rng.randrange(256) for _ in range(n))
    if n >= 12 and rng.random() < 0.5:  # a plausible header, so the parser goes deeper
        data = header(rng.randrange(65536), rng.choice([0, 0x0100]), rng.randrange(4), rng.randrange(3),
                      rng.randrange(3), rng.randrange(3)) + data[12:]
    return data


MUTATORS = [m_bitflip, m_overwrite, m_truncate, m_extend, m_insert, m_delete, m_counts, m_flags, m_pointer,
            m_label, m_opt, m_opt, m_pointer, m_bitflip]


def mutate(rng, bases):
    desc, m = rng.choice(bases)
    r = rng.random()
    if r < 0.04:
        return m_random(rng, m)
    if r < 0.08:
        return m_splice(rng, m, bases)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        m = rng.choice(MUTATORS)(rng, m)
    return m


def packets(rng, bases, count):
    """count mutated packets: first every truncation of every base message, then random mutations."""
    n = 0
    for _, m in bases:
        for cut in range(len(m)):
            if n >= count:
                return
            yield m[:cut]
            n += 1
    while n < count:
        m = mutate(rng, bases)
        if len(m) > 65000:
            m = m[:65000]
        yield m
        n += 1


# ---------------------------------------------------------------- checks on responses

def query_limit(q):
    """The most a correct server may send over UDP in reply to q: 512 without EDNS, else the
    client's payload (at least 512) capped by the server's; None when q does not parse."""
    try:
        msg = dns.message.from_wire(q, ignore_trailing=True)
    except Exception:
        return None
    if msg.edns < 0:
        return 512
    return max(512, min(msg.payload, SERVER_UDP_MAX))


def skip_name(wire, pos):
    """The offset after the (possibly compressed) name at pos."""
    while True:
        n = wire[pos]
        if n >= 0xC0:
            return pos + 2
        pos += 1 + n
        if n == 0:
            return pos


def split_tsig(resp):
    """(resp without its TSIG, the TSIG record's bytes) when the last additional record is a TSIG,
    else (resp, None). The server knows no keys here, so any TSIG it sends is an error's (RFC 8945
    5.3.2), which dnspython cannot parse without the key."""
    counts = struct.unpack("!4H", resp[4:12])
    pos = 12
    for _ in range(counts[0]):
        pos = skip_name(resp, pos) + 4
    last = None
    for _ in range(sum(counts[1:])):
        last = pos
        pos = skip_name(resp, pos)
        pos += 10 + struct.unpack("!H", resp[pos + 8:pos + 10])[0]
    if last is None or counts[3] == 0 or struct.unpack("!H", resp[skip_name(resp, last):][:2])[0] != 250:
        return resp, None
    return resp[:10] + struct.pack("!H", counts[3] - 1) + resp[12:last], resp[last:pos]


def check_response(q, resp, proto):
    """Problems with resp as the answer to q ([] if none)."""
    probs = []
    if len(resp) < 12:
        return ["%s response shorter than a header (%d bytes)" % (proto, len(resp))]
    if not resp[2] & 0x80:
        probs.append("%s response without QR" % proto)
    if q is not None and len(q) >= 3 and q[2] & 0x80:
        probs.append("%s answered a message with QR=1 (a response)" % proto)
    if proto == "UDP":
        if len(resp) > SERVER_UDP_MAX:
            probs.append("UDP response of %d bytes > %d" % (len(resp), SERVER_UDP_MAX))
        elif q is not None:
            lim = query_limit(q)
            if lim is not None and len(resp) > lim:
                probs.append("UDP response of %d bytes > the query's limit %d" % (len(resp), lim))
    try:
        resp, tsig = split_tsig(resp)
        if tsig is not None and resp[3] & 0x0F != 9:
            probs.append("%s response carries a TSIG but is not NOTAUTH (no key is configured)" % proto)
        # dnspython 2.3 rejects unassigned opcodes, which a server rightly echoes (NOTIMP, RFC 1035
        # sec. 4.1.1): parse with the opcode cleared
        dns.message.from_wire(resp[:2] + bytes([resp[2] & 0x87]) + resp[3:])
    except dns.message.ShortHeader:
        pass
    except Exception as e:
        probs.append("%s response does not parse: %s: %s" % (proto, type(e).__name__, e))
    return probs


def sanitizer_report(text):
    for marker in SANITIZER_MARKERS:
        i = text.find(marker)
        if i >= 0:
            return text[max(0, i - 200):i + 4000]
    return None


# ---------------------------------------------------------------- the test

@pytest.fixture
def ternd(tmp_path):
    if not os.access(ternlib.TERND, os.X_OK):
        pytest.skip("no ternd binary at %s (make build)" % ternlib.TERND)
    t = ternlib.Ternd(ZONES, workdir=str(tmp_path))
    t.start()
    try:
        yield t
    finally:
        t.stop()
        report = sanitizer_report(t.log_text())
        assert report is None, "sanitizer report in %s after stop:\n%s" % (t.log, report)


def sentinel(tag):
    name = "sentinel-%s.www.example.test" % tag
    return header(SENTINEL_ID, 0, ar=1) + question(wname(name), T["A"]) + opt(), name


def is_sentinel(resp, name):
    if len(resp) < 12 or struct.unpack("!H", resp[:2])[0] != SENTINEL_ID:
        return False
    try:
        return dns.message.from_wire(resp).question[0].name.to_text().rstrip(".").lower() == name
    except Exception:
        return False


def save_batch(t, tag, batch_packets):
    path = os.path.join(t.dir, "mutation-%s.hex" % tag)
    with open(path, "w") as f:
        for p in batch_packets:
            f.write(p.hex() + "\n")
    return path


def assert_alive(t, where, batch_packets):
    if t.proc.poll() is not None:
        path = save_batch(t, "crash", batch_packets)
        pytest.fail("ternd exited with %s %s (seed %d); the last batch is in %s\n%s" %
                    (t.proc.returncode, where, SEED, path, (sanitizer_report(t.log_text()) or t.log_text()[-4000:])))


def assert_answers_normally(t):
    for tcp in (False, True):
        r = t.query("www.example.test", "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, r
        got = sorted(rd.address for rrset in r.answer for rd in rrset if rrset.rdtype == dns.rdatatype.A)
        assert got == ["192.0.2.10", "192.0.2.11"], r
        r = t.query("nx.example.test", "A", tcp=tcp)
        assert r.rcode() == dns.rcode.NXDOMAIN, r


def test_udp_mutations(ternd):
    t = ternd
    rng = random.Random(SEED)
    bases = base_messages(rng)
    print("\nmutation test: seed %d (TERN_MUTATION_SEED), %d UDP packets, %d base messages, %d client sockets" %
          (SEED, COUNT, len(bases), NSOCK))
    # several source ports, so that every worker (SO_REUSEPORT hashes by address) gets its share
    socks = []
    for _ in range(NSOCK):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.connect((t.addr, t.port))
        s.setblocking(False)
        socks.append(s)
    problems, sent, responses, lost_sentinels = [], 0, 0, 0
    inflight = {}  # id -> packet
    batch, batch_packets = 0, []
    start = time.time()

    def handle(resp):
        nonlocal responses
        responses += 1
        q = inflight.get(struct.unpack("!H", resp[:2])[0]) if len(resp) >= 2 else None
        for p in check_response(q, resp, "UDP"):
            if len(problems) < 1000:
                problems.append("%s\n      query %s\n      response %s" % (p, q.hex() if q else "?", resp[:200].hex()))

    def drain(s):
        while True:
            try:
                resp = s.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:  # ICMP port unreachable: the server is gone
                return
            yield resp

    def sync():
        """A sentinel query on every socket, answered after everything sent before it."""
        nonlocal lost_sentinels
        pending = {}
        for i, s in enumerate(socks):
            msg, name = sentinel("%d-%d" % (batch, i))
            s.send(msg)
            pending[s] = (msg, name, time.time(), 0)
        while pending:
            select.select(list(pending), [], [], 0.05)
            for s in list(pending):
                msg, name, sent_at, tries = pending[s]
                for resp in drain(s):
                    if is_sentinel(resp, name):
                        del pending[s]
                        break
                    handle(resp)
                else:
                    if time.time() - sent_at > 2.0:
                        lost_sentinels += 1
                        if tries >= 2:
                            pytest.fail("ternd stopped answering (sentinel after batch %d lost 3 times)" % batch)
                        s.send(msg)
                        pending[s] = (msg, name, time.time(), tries + 1)
            assert_alive(t, "after batch %d (packets %d..%d)" % (batch, sent - len(batch_packets), sent), batch_packets)

    for pkt in packets(rng, bases, COUNT):
        qid = sent % 0xFFFF  # never SENTINEL_ID
        if len(pkt) >= 2:
            pkt = struct.pack("!H", qid) + pkt[2:]
            inflight[qid] = pkt  # kept until the id comes round again: late answers still match
        batch_packets.append(pkt)
        s = socks[sent % NSOCK]
        while True:
            try:
                s.send(pkt)
                break
            except BlockingIOError:
                select.select([], [s], [], 0.01)
            except ConnectionRefusedError:
                assert_alive(t, "while sending", batch_packets)
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    break
                raise
        sent += 1
        if sent % BATCH == 0:
            sync()
            batch += 1
            batch_packets = []
    sync()
    elapsed = time.time() - start
    for s in socks:
        s.close()
    print("sent %d UDP packets in %.1f s, %d responses, %d lost sentinels" % (sent, elapsed, responses, lost_sentinels))
    assert_alive(t, "at the end", batch_packets)
    assert_answers_normally(t)
    report = sanitizer_report(t.log_text())
    assert report is None, "sanitizer report (seed %d):\n%s" % (SEED, report)
    for p in problems[:50]:
        print("PROBLEM " + p)
    assert not problems, "%d bad responses (seed %d), first ones printed above" % (len(problems), SEED)
    assert lost_sentinels <= 3, "sentinel queries were lost %d times" % lost_sentinels


def tcp_frames(rng, bases, n):
    """n length-prefixed mutated messages: [(frame, whether its length prefix lies)]."""
    out = []
    for _ in range(n):
        m = mutate(rng, bases)[:65535]
        r = rng.random()
        if r < 0.03:
            out.append((struct.pack("!H", 0), False))
        elif r < 0.05:
            out.append((struct.pack("!H", len(m) + rng.randint(1, 100)) + m, True))  # longer than sent
        elif r < 0.07 and len(m) > 1:
            out.append((struct.pack("!H", rng.randrange(len(m))) + m, True))  # shorter: the rest is the next frame
        else:
            out.append((struct.pack("!H", len(m)) + m, False))
    return out


def test_tcp_mutations(ternd):
    """Mutated messages on several concurrent TCP connections. After each write a valid sentinel
    query follows on the same connection; waiting for its answer makes sure the server worked
    through the mutated frame (or closed the connection, or lost the framing, then we reconnect)."""
    t = ternd
    rng = random.Random(SEED ^ 0x7C9)
    bases = base_messages(rng)
    nconn, per_conn = 8, 500
    print("\nTCP mutation test: seed %d, %d connections x %d messages" % (SEED, nconn, per_conn))
    problems, writes, messages, responses, reconnects, desynced = [], 0, 0, 0, 0, 0

    def connect():
        return socket.create_connection((t.addr, t.port), timeout=5)  # blocking sends, polled reads

    def read_frames(c, buf):
        """Reads what is there: (frames, rest of buffer, still open)."""
        frames = []
        while True:
            try:
                if not select.select([c], [], [], 0)[0]:
                    break
                data = c.recv(65536)
            except OSError:  # reset by the server
                return frames, buf, False
            if not data:
                return frames, buf, False
            buf += data
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            frames.append(buf[2:2 + n])
            buf = buf[2 + n:]
        return frames, buf, True

    conns = [connect() for _ in range(nconn)]
    bufs = [b""] * nconn
    queues = [tcp_frames(rng, bases, per_conn) for _ in range(nconn)]
    start = time.time()
    rnd = 0
    while any(queues) and time.time() - start < 60:
        rnd += 1
        waiting = {}  # connection index -> sentinel name
        for i in range(nconn):
            if not queues[i]:
                continue
            data, lies = queues[i].pop(0)
            # sometimes two frames in one write, sometimes one frame in two writes; we hang up
            # mid-stream now and then (the draws do not depend on timing: reproducible)
            merge, split, cut, hangup = rng.random() < 0.2, rng.random() < 0.1, rng.random(), rng.random() < 0.01
            if merge and queues[i]:
                more, lies2 = queues[i].pop(0)
                data += more
                lies = lies or lies2
                messages += 1
            messages += 1
            pieces = [data]
            if split and len(data) > 2:
                k = 1 + int(cut * (len(data) - 1))
                pieces = [data[:k], data[k:]]
            if hangup:
                pieces = [data[:len(data) // 2]]
            hangup = hangup or lies  # out of step after a lying prefix: no sentinel, start over
            msg, name = sentinel("tcp-%d-%d" % (rnd, i))
            if not hangup:
                pieces.append(struct.pack("!H", len(msg)) + msg)
            try:
                for piece in pieces:
                    conns[i].sendall(piece)
                    writes += 1
            except OSError:
                pass  # closed by the server: noticed below
            if hangup:
                conns[i].close()
                conns[i], bufs[i] = connect(), b""
                reconnects += 1
            else:
                waiting[i] = name
        deadline = time.time() + 0.15  # loopback: a live connection answers long before
        while waiting and time.time() < deadline:
            select.select([conns[i] for i in waiting], [], [], 0.02)
            for i in list(waiting):
                frames, bufs[i], open_ = read_frames(conns[i], bufs[i])
                for resp in frames:
                    if is_sentinel(resp, waiting.get(i, "")):
                        waiting.pop(i, None)
                        continue
                    responses += 1
                    for p in check_response(None, resp, "TCP"):
                        if len(problems) < 200:
                            problems.append("%s: %s" % (p, resp[:100].hex()))
                if not open_:  # the server closed it (its right after a malformed message)
                    waiting.pop(i, None)
                    conns[i].close()
                    assert_alive(t, "during the TCP phase", [])
                    conns[i], bufs[i] = connect(), b""
                    reconnects += 1
        for i in list(waiting):  # framing lost (a frame announced more than was sent): start over
            desynced += 1
            conns[i].close()
            assert_alive(t, "during the TCP phase", [])
            conns[i], bufs[i] = connect(), b""
            reconnects += 1
    for c in conns:
        c.close()
    # a connection that sends half a length prefix, and one that announces a message and stops
    c = socket.create_connection((t.addr, t.port), timeout=5)
    c.sendall(b"\x00")
    c.close()
    c = socket.create_connection((t.addr, t.port), timeout=5)
    c.sendall(b"\xff\xff" + b"\x00" * 100)
    c.close()
    print("sent %d TCP messages in %d writes in %.1f s, %d responses (besides sentinels), %d reconnects, "
          "%d connections out of step" % (messages, writes, time.time() - start, responses, reconnects, desynced))
    assert_alive(t, "after the TCP phase", [])
    assert_answers_normally(t)
    report = sanitizer_report(t.log_text())
    assert report is None, "sanitizer report (seed %d):\n%s" % (SEED, report)
    for p in problems[:50]:
        print("PROBLEM " + p)
    assert not problems, "%d bad TCP responses (seed %d), first ones printed above" % (len(problems), SEED)
    assert messages >= 3000, "only %d TCP messages sent in 60 s" % messages


if __name__ == "__main__":
    # Replays a batch written by a failing run against a running server:
    #   python3 test_mutation.py FILE.hex PORT [ADDR]
    import sys

    path, port = sys.argv[1], int(sys.argv[2])
    addr = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, open(path) as f:
        for n, line in enumerate(f, 1):
            s.sendto(bytes.fromhex(line.strip()), (addr, port))
            time.sleep(0.001)
    print("sent %d packets to %s@%d" % (n, addr, port))
