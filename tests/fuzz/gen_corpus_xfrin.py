#!/usr/bin/python3
"""Writes the seed corpus of fuzz_xfrin (corpus_xfrin/) next to this script: real AXFR and IXFR
answers captured from a knotd serving the harness's current zone (fuzz_xfrin_zone.h) (its journal holding the diffs
of three knotc transactions), plus answers built with dnspython for the cases a well-behaved
primary does not send (journal gap, deletion of a missing record, a cut stream, wrong IDs).
The output is committed; run this again only to change the seeds:
    /usr/bin/python3 tests/fuzz/gen_corpus_xfrin.py   (needs knotd, knotc and python3-dnspython)"""
import ast
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus_xfrin")
ZONE = "example.com."
QID = 0x1234
AXFR, IXFR, TSIG = 0, 1, 2  # the harness's first byte


def current_zone_text():
    """The zone text between the CURRENT ZONE markers of fuzz_xfrin_zone.h (C string literals)."""
    src = open(os.path.join(HERE, "fuzz_xfrin_zone.h")).read()
    body = src.split("/* CURRENT ZONE BEGIN */", 1)[1].split("/* CURRENT ZONE END */", 1)[0]
    return "".join(ast.literal_eval(lit) for lit in re.findall(r'"(?:[^"\\]|\\.)*"', body))


def framed(flags, messages):
    """The harness input: the flags byte, then each message with its 2-byte length."""
    return bytes([flags]) + b"".join(struct.pack("!H", len(m)) + m for m in messages)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# ---- captures from knotd ----

KNOT_CONF = """
server:
    rundir: "{dir}"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{dir}"
control:
    listen: "{dir}/knot.sock"
log:
  - target: stderr
    any: warning
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: "{dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
zone:
  - domain: {zone}
    file: "{dir}/zone"
    acl: xfr
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def soa_rrset(serial):
    return dns.rrset.from_text(ZONE, 3600, "IN", "SOA", "ns1.%s hostmaster.%s %d 7200 3600 1209600 300"
                               % (ZONE, ZONE, serial))


def capture(port, rdtype, serial=None):
    """The raw answer messages to one transfer query (ID QID), read until the primary goes quiet."""
    q = dns.message.make_query(ZONE, rdtype, id=QID)
    q.flags = 0
    if serial is not None:
        q.authority.append(soa_rrset(serial))
    wire = q.to_wire()
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        s.settimeout(0.5)
        buf = b""
        while True:
            try:
                chunk = s.recv(65535)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                out.append(buf[2:2 + n])
                buf = buf[2 + n:]
    assert out, "no answer to %s" % rdtype
    return out


def knotc(conf, *args):
    subprocess.run(["knotc", "-c", conf] + list(args), check=True, capture_output=True)


def from_knot():
    d = tempfile.mkdtemp(prefix="xfrin-corpus-")
    port = free_port()
    try:
        with open(os.path.join(d, "zone"), "w") as f:
            f.write(current_zone_text())
        conf = os.path.join(d, "knot.conf")
        with open(conf, "w") as f:
            f.write(KNOT_CONF.format(dir=d, port=port, zone=ZONE))
        proc = subprocess.Popen(["knotd", "-c", conf], stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while True:
                try:
                    capture(port, "SOA")
                    break
                except (OSError, AssertionError):
                    assert time.time() < deadline, "knotd did not start"
                    time.sleep(0.1)
            time.sleep(0.5)
            write("knot-axfr-serial1", framed(AXFR, capture(port, "AXFR")))
            # three transactions: serial 1 -> 2 -> 3 -> 4 in Knot's journal
            for changes in ([("zone-set", "www", "3600", "A", "192.0.2.82"), ("zone-unset", "txt", "TXT")],
                            [("zone-unset", "@", "MX"), ("zone-set", "@", "3600", "MX", "20 mx.example.net."),
                             ("zone-set", "new.deep.name", "300", "AAAA", "2001:db8::99")],
                            [("zone-unset", "a.b.c", "A"), ("zone-unset", "www", "A"), ("zone-set", "www", "60", "A", "192.0.2.80"),
                             ("zone-set", "www", "60", "A", "192.0.2.81"), ("zone-set", "www", "60", "A", "192.0.2.82")]):
                knotc(conf, "zone-begin", ZONE)
                for c in changes:
                    knotc(conf, c[0], ZONE, *c[1:])
                knotc(conf, "zone-commit", ZONE)
            time.sleep(0.5)
            write("knot-ixfr-1-to-4", framed(IXFR, capture(port, "IXFR", serial=1)))
            write("knot-ixfr-1-to-4-tsig", framed(IXFR | TSIG, capture(port, "IXFR", serial=1)))
            write("knot-ixfr-current", framed(IXFR, capture(port, "IXFR", serial=4)))
            write("knot-ixfr-unknown-serial", framed(IXFR, capture(port, "IXFR", serial=100)))
            write("knot-axfr-serial4", framed(AXFR, capture(port, "AXFR")))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- built with dnspython ----

def rr(text):
    """One RRset from "owner ttl type rdata" (owners relative to the zone)."""
    owner, ttl, rdtype, rdata = text.split(None, 3)
    name = dns.name.from_text(owner, dns.name.from_text(ZONE))
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), rdata, origin=dns.name.from_text(ZONE),
                             relativize=False)
    return dns.rrset.from_rdata_list(name, int(ttl), [rd])


def answer(rdtype, rrsets, qid=QID, rcode=0, tc=False, question=True):
    q = dns.message.make_query(ZONE, rdtype, id=qid)
    r = dns.message.make_response(q)
    r.flags |= 0x0400
    if tc:
        r.flags |= 0x0200
    r.set_rcode(rcode)
    if not question:
        r.question = []
    r.answer = rrsets
    return r.to_wire()


def split(rdtype, rrsets, per=3, **kw):
    return [answer(rdtype, rrsets[i:i + per], question=(i == 0), **kw) for i in range(0, len(rrsets), per)]


def ixfr(diffs, final):
    """An incremental answer: final SOA, then per diff: old SOA, deleted, new SOA, added; final SOA."""
    out = [soa_rrset(final)]
    for old, dels, new, adds in diffs:
        out += [soa_rrset(old)] + [rr(t) for t in dels] + [soa_rrset(new)] + [rr(t) for t in adds]
    return out + [soa_rrset(final)]


def zone_rrsets(serial):
    z = dns.zone.from_text(current_zone_text(), ZONE, relativize=False)
    sets = [dns.rrset.from_rdata_list(n, rds.ttl, list(rds)) for n, rds in z.iterate_rdatasets()
            if rds.rdtype != dns.rdatatype.SOA]
    return [soa_rrset(serial)] + sets + [soa_rrset(serial)]


def built():
    d12 = (1, ["www 3600 A 192.0.2.80"], 2, ["www 3600 A 192.0.2.90", "new 300 TXT \"added\""])
    d23 = (2, ["new 300 TXT \"added\"", "a.b.c 3600 A 192.0.2.9"], 3, ["@ 3600 MX 20 mail"])
    write("ixfr-two-diffs", framed(IXFR, [answer("IXFR", ixfr([d12, d23], 3))]))
    write("ixfr-two-diffs-split", framed(IXFR, split("IXFR", ixfr([d12, d23], 3), per=2)))
    write("ixfr-two-diffs-tsig-refused", framed(IXFR | TSIG, [answer("IXFR", ixfr([d12], 2))[:10] + b"\xff\xff"
                                                                + answer("IXFR", ixfr([d12], 2))[12:]]))
    write("ixfr-gap", framed(IXFR, [answer("IXFR", ixfr([(5, [], 6, ["www 3600 A 192.0.2.9"])], 6))]))
    write("ixfr-chain-break", framed(IXFR, [answer("IXFR", ixfr([d12, (7, [], 8, [])], 8))]))
    write("ixfr-delete-missing", framed(IXFR, [answer("IXFR", ixfr([(1, ["www 3600 A 192.0.2.99"], 2, [])], 2))]))
    write("ixfr-delete-case", framed(IXFR, [answer("IXFR", ixfr([(1, ["ALIAS 3600 CNAME WWW"], 2,
                                                                   ["alias 3600 CNAME mail"])], 2))]))
    write("ixfr-cname-beside-a", framed(IXFR, [answer("IXFR", ixfr([(1, [], 2, ["www 3600 CNAME mail"])], 2))]))
    write("ixfr-delete-apex-ns", framed(IXFR, [answer("IXFR", ixfr([(1, ["@ 3600 NS ns1", "@ 3600 NS ns2.example.net."],
                                                                      2, [])], 2))]))
    write("ixfr-ttl-change", framed(IXFR, [answer("IXFR", ixfr([(1, ["ns1 3600 A 192.0.2.1"], 2,
                                                                   ["ns1 60 A 192.0.2.1"])], 2))]))
    write("ixfr-readd-existing", framed(IXFR, [answer("IXFR", ixfr([(1, [], 2, ["www 3600 A 192.0.2.81"])], 2))]))
    cut = split("IXFR", ixfr([d12, d23], 3), per=2)
    write("ixfr-cut", framed(IXFR, cut[:len(cut) // 2]))
    write("ixfr-current", framed(IXFR, [answer("IXFR", [soa_rrset(1)])]))
    write("ixfr-lone-newer-soa-then-zone", framed(IXFR, [answer("IXFR", [soa_rrset(9)])]
                                                  + split("IXFR", zone_rrsets(9)[1:], per=4)))
    write("ixfr-axfr-style", framed(IXFR, split("IXFR", zone_rrsets(5), per=5)))
    write("ixfr-refused", framed(IXFR, [answer("IXFR", [], rcode=dns.rcode.NOTIMP)]))
    write("ixfr-records-after-end", framed(IXFR, [answer("IXFR", ixfr([d12], 2) + [rr("x 1 A 192.0.2.1")])]))
    write("axfr-whole", framed(AXFR, split("AXFR", zone_rrsets(3), per=4)))
    write("axfr-tsig", framed(AXFR | TSIG, split("AXFR", zone_rrsets(3), per=4)))
    msgs = split("AXFR", zone_rrsets(3), per=4)
    write("axfr-badid", framed(AXFR, msgs[:1] + [answer("AXFR", zone_rrsets(3)[4:8], qid=0x4321)]))
    write("axfr-tc", framed(AXFR, [answer("AXFR", zone_rrsets(3), tc=True)]))
    write("axfr-serial-mismatch", framed(AXFR, [answer("AXFR", zone_rrsets(3)[:-1] + [soa_rrset(4)])]))
    write("axfr-no-soa-first", framed(AXFR, [answer("AXFR", zone_rrsets(3)[1:])]))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    from_knot()
    built()
    print("corpus_xfrin: %d files" % len(os.listdir(OUT)))


if __name__ == "__main__":
    main()
