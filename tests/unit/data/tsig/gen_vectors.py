#!/usr/bin/python3
"""Writes vectors.txt next to this file: DNS messages signed by dnspython (Debian's
python3-dnspython) at fixed times, so that tests/unit/test_tsig.c checks libtern's TSIG against an
independent implementation without needing Python. Run it again only to change the vectors:

    /usr/bin/python3 tests/unit/data/tsig/gen_vectors.py

Lines: "key LABEL NAME ALGORITHM BASE64", "time LABEL SECONDS" (when a message was signed) and
"msg LABEL HEX". The response and transfer messages answer the query before them, and their MACs
chain from its MAC (RFC 8945 5.3 and 5.3.1)."""
import base64
import hashlib
import os
import time


import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig

T = 1700000000  # 2023-11-14T22:13:20Z

KEYS = [
    # label, name, algorithm, secret
    ("k256", "xfr-key.", "hmac-sha256", hashlib.sha256(b"tern tsig test 256").digest()),
    ("k512", "pop1.xfr.", "hmac-sha512", hashlib.sha512(b"tern tsig test 512").digest()),
    ("k1", "legacy.", "hmac-sha1", hashlib.sha1(b"tern tsig test 1").digest()),
    # mixed case, and a suffix of the question name so that dnspython compresses the owner
    ("kcomp", "Key.Example.COM.", "hmac-sha256", hashlib.sha256(b"tern tsig test comp").digest()),
]

out = []
keys = {}
for label, name, alg, secret in KEYS:
    keys[label] = dns.tsig.Key(name, secret, alg)
    out.append(f"key {label} {name} {alg} {base64.b64encode(secret).decode()}")


def at(t, fn):
    """Runs fn with time.time() fixed at t."""
    saved = time.time
    time.time = lambda: t
    try:
        return fn()
    finally:
        time.time = saved


def emit(label, t, wire):
    out.append(f"time {label} {t}")
    out.append(f"msg {label} {wire.hex()}")


def soa(name):
    return dns.rrset.from_text(name, 3600, "IN", "SOA",
                               "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300")


def query_and_response(tag, key, qname, qid, qtime, rtime):
    q = dns.message.make_query(qname, "SOA")
    q.id = qid
    q.use_tsig(key)
    qwire = at(qtime, q.to_wire)
    emit(f"q{tag}", qtime, qwire)
    q2 = at(qtime, lambda: dns.message.from_wire(qwire, keyring=key))
    r = dns.message.make_response(q2)
    r.flags |= dns.flags.AA
    r.answer.append(soa(qname))
    rwire = at(rtime, r.to_wire)
    at(rtime, lambda: dns.message.from_wire(rwire, keyring=key, request_mac=q2.mac))
    emit(f"r{tag}", rtime, rwire)



query_and_response("256", keys["k256"], "example.com.", 0x1234, T, T + 1)
query_and_response("512", keys["k512"], "example.com.", 0x2345, T, T + 1)
query_and_response("1", keys["k1"], "example.com.", 0x3456, T, T + 1)
query_and_response("comp", keys["kcomp"], "www.example.com.", 0x4567, T, T + 1)


def axfr(tag, key, qid, qtime):
    """An AXFR request and three answer messages, each signed, MACs chained."""
    q = dns.message.make_query("example.com.", "AXFR")
    q.id = qid
    q.flags = 0
    q.use_tsig(key)
    qwire = at(qtime, q.to_wire)
    emit(f"x{tag}q", qtime, qwire)
    q2 = at(qtime, lambda: dns.message.from_wire(qwire, keyring=key))
    parts = [
        [soa("example.com."), dns.rrset.from_text("example.com.", 3600, "IN", "NS", "ns1.example.com.")],
        [dns.rrset.from_text("www.example.com.", 300, "IN", "A", "192.0.2.1"),
         dns.rrset.from_text("ftp.example.com.", 300, "IN", "A", "192.0.2.2"),
         dns.rrset.from_text("mail.example.com.", 300, "IN", "AAAA", "2001:db8::25")],
        [dns.rrset.from_text("txt.example.com.", 300, "IN", "TXT", '"hello world"'), soa("example.com.")],
    ]
    def message(i):
        r = dns.message.make_response(q2)
        r.flags |= dns.flags.AA
        if i > 0:
            r.question = []
        for rs in parts[i]:
            r.answer.append(rs)
        return r

    def check(wires):
        """dnspython's own multi-message reader accepts them."""
        vctx = None
        for t, wire in wires:
            m = at(t, lambda: dns.message.from_wire(wire, keyring=key, request_mac=q2.mac, xfr=True,
                                                     origin=dns.name.from_text("example.com."),
                                                     tsig_ctx=vctx, multi=True))
            vctx = m.tsig_ctx

    ctx = None
    wires = []
    for i in range(len(parts)):
        r = message(i)
        t = qtime + 1 + i
        wire = at(t, lambda: r.to_wire(multi=True, tsig_ctx=ctx))
        ctx = r.tsig_ctx
        emit(f"x{tag}r{i + 1}", t, wire)
        wires.append((t, wire))
    check(wires)

    # The same transfer with the middle message unsigned (RFC 8945 5.3.1): the third MAC covers
    # the first one's, the whole unsigned second message, then the third.
    r1 = message(0)
    w1 = at(qtime + 1, lambda: r1.to_wire(multi=True, tsig_ctx=None))
    m2 = message(1)
    m2.use_tsig(key)  # to_wire() then signs; render it without TSIG instead
    m2.tsig = None
    w2 = m2.to_wire()
    ctx = r1.tsig_ctx
    ctx.update(w2)
    r3 = message(2)
    w3 = at(qtime + 3, lambda: r3.to_wire(multi=True, tsig_ctx=ctx))
    emit(f"x{tag}r3u", qtime + 3, w3)
    check([(qtime + 1, w1), (qtime + 2, w2), (qtime + 3, w3)])


axfr("256", keys["k256"], 0x4321, T)
axfr("512", keys["k512"], 0x5432, T)


def badtime(key, qwire, qtime, server_time):
    """The BADTIME answer (RFC 8945 5.2.3) to a query signed at qtime, from a server whose clock reads
    server_time: signed with the query's time and fudge, the server's time in other data."""
    q2 = at(qtime, lambda: dns.message.from_wire(qwire, keyring=key))
    r = dns.message.make_response(q2)
    r.set_rcode(dns.rcode.NOTAUTH)
    r.use_tsig(key, tsig_error=dns.rcode.BADTIME, other_data=server_time.to_bytes(6, "big"))
    r.request_mac = q2.mac
    wire = at(qtime, r.to_wire)
    # dnspython's reader stops at the peer's error; check the MAC by hand
    try:
        at(qtime, lambda: dns.message.from_wire(wire, keyring=key, request_mac=q2.mac))
        raise AssertionError("BADTIME answer accepted")
    except dns.tsig.PeerBadTime:
        pass
    rd = r.tsig[0]
    r.tsig = None
    dns.tsig._digest(r.to_wire(), key, rd, None, q2.mac).verify(rd.mac)
    return wire


def message_hex(label):
    return bytes.fromhex(next(line for line in out if line.startswith(f"msg {label} ")).split()[2])


emit("badtime256", T + 1000, badtime(keys["k256"], message_hex("q256"), T, T + 1000))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.txt")
with open(path, "w") as f:
    f.write("# Generated by gen_vectors.py with dnspython " + dns.version.version + "; do not edit.\n")
    f.write("\n".join(out) + "\n")
