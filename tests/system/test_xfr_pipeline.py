"""Pipelined zone transfers on one TCP connection (RFC 7766 6.2.1.1, RFC 5936 4.1): many AXFR and
IXFR questions, with ordinary queries among them, sent in one write. Every answer comes in query
order, each exactly what it is alone (TSIG signed, NOTAUTH for a zone not served, IXFR from the
journal), a client that does not read for a while loses nothing, and the transfer thread builds
such a pipeline in a few batches, not one hand-over per transfer (/metrics)."""
import os
import re
import socket
import struct
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import pytest

from apilib import ApiTernd, finish, keys  # noqa: F401 (keys is a fixture)
from sysutil import frame, recv_exact, tcp_connect

ZONES = 50
KEY = "pipe.key"
SECRET = "dGVybiBwaXBlbGluZSB0ZXN0IHNlY3JldCwgMzIgYnk="
HIST = "hist.pipe.test."
BIG_HOSTS = 3000  # about 70 KB: several messages


def zone_name(i):
    return "z%d.pipe.test." % i


def small_zone(i):
    """SOA, 2 NS, 3 A: the zones a PoP pulls by the thousand."""
    z = zone_name(i)
    return ("$ORIGIN %s\n$TTL 300\n@ SOA ns1 hostmaster %d 3600 600 86400 60\n@ NS ns1\n@ NS ns2\n"
            "ns1 A 192.0.2.1\nns2 A 192.0.2.2\nwww A 198.51.100.%d\n" % (z, 100 + i, i))


@pytest.fixture(scope="module")
def srv(tmp_path_factory, keys):  # noqa: F811
    d = tmp_path_factory.mktemp("pipe")
    files = {}
    for i in range(ZONES):
        p = d / ("z%d.zone" % i)
        p.write_text(small_zone(i))
        files[zone_name(i).rstrip(".")] = str(p)
    big = d / "big.zone"
    big.write_text("$ORIGIN big.pipe.test.\n$TTL 300\n@ SOA ns1 hostmaster 5 3600 600 86400 60\n@ NS ns1\n"
                   "ns1 A 192.0.2.1\n" + "".join("h%d A 10.0.%d.%d\n" % (i, i >> 8, i & 255)
                                                 for i in range(BIG_HOSTS)))
    files["big.pipe.test"] = str(big)
    t = ApiTernd(keys, workdir=str(d), zones=files, api={"serial-policy": "increment"})
    with open(t.config, "a") as f:
        f.write("keys:\n  - {name: %s, algorithm: hmac-sha256, secret: \"%s\"}\n" % (KEY, SECRET))
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    t.start()
    try:
        api = t.api(keys.token("pop"))
        api.create_zone(HIST.rstrip("."), rrsets=[{"name": "www", "type": "A", "ttl": 300,
                                                   "records": ["192.0.2.7"]}])
        t.hist_from = api.serial(HIST.rstrip("."))
        api.put_rrset(HIST.rstrip("."), "www", "A", 300, ["192.0.2.8"])
        api.put_rrset(HIST.rstrip("."), "mail", "A", 300, ["192.0.2.9"])
        t.metrics = lambda: api.get("/metrics", token=False).body.decode()
        yield t
    finally:
        finish(t)


def ring():
    return dns.tsigkeyring.from_text({KEY: ("hmac-sha256", SECRET)})


def records(msgs):
    return [(r.name.to_text().lower(), dns.rdatatype.to_text(r.rdtype), r.ttl, rd.to_text())
            for m in msgs for r in m.answer for rd in r]


def alone(srv, zone, rdtype="AXFR", serial=0):
    """The records of the transfer asked for alone, on a connection of its own."""
    return records(dns.query.xfr(srv.addr, zone, rdtype=rdtype, serial=serial, port=srv.port, timeout=10,
                                 relativize=False))


class Pipeline:
    """Questions with distinct IDs, in order; the answer to the last one (an ordinary query)
    ends the read."""

    def __init__(self):
        self.queries = []  # (id, dns.message.Message, what)

    def add(self, q, what):
        q.id = len(self.queries) + 1
        self.queries.append((q.id, q, what))

    def axfr(self, zone, signed=False):
        q = dns.message.make_query(zone, "AXFR")
        if signed:
            q.use_tsig(ring(), KEY)
        self.add(q, ("AXFR", zone, signed))

    def ixfr(self, zone, serial):
        q = dns.message.make_query(zone, "IXFR")
        q.authority.append(dns.rrset.from_text(zone, 0, "IN", "SOA", ". . %d 0 0 0 0" % serial))
        self.add(q, ("IXFR", zone, serial))

    def soa(self, zone):
        self.add(dns.message.make_query(zone, "SOA"), ("SOA", zone, False))

    def wire(self):
        return b"".join(frame(q.to_wire()) for _i, q, _w in self.queries)


def read_answers(s, last_id, pause=0.0):
    """(id, wire) of every message until the one answering last_id."""
    if pause:
        time.sleep(pause)
    out = []
    while True:
        (n,) = struct.unpack("!H", recv_exact(s, 2))
        wire = recv_exact(s, n)
        out.append((struct.unpack("!H", wire[:2])[0], wire))
        if out[-1][0] == last_id:
            return out


def runs(answers):
    """[(id, [wire, ...])]: consecutive messages with one ID."""
    out = []
    for qid, wire in answers:
        if out and out[-1][0] == qid:
            out[-1][1].append(wire)
        else:
            out.append((qid, [wire]))
    return out


def check(srv, p, answers, expected):
    """Every question answered once, in order, each answer as the one to the question alone."""
    got = runs(answers)
    assert [qid for qid, _ in got] == [qid for qid, _q, _w in p.queries], [qid for qid, _ in got]
    for (qid, wires), (_i, q, (kind, zone, arg)) in zip(got, p.queries):
        if kind == "AXFR" and arg:  # signed: every message carries a TSIG that verifies
            msgs, mac, ctx = [], q.mac, None
            for w in wires:
                m = dns.message.from_wire(w, keyring=ring(), request_mac=mac, xfr=True, tsig_ctx=ctx,
                                          multi=ctx is not None)
                mac, ctx = m.mac, m.tsig_ctx
                assert m.had_tsig
                msgs.append(m)
        else:
            msgs = [dns.message.from_wire(w, xfr=True) for w in wires]
        assert all(m.id == qid for m in msgs)
        if kind == "SOA":
            assert msgs[0].rcode() == dns.rcode.NOERROR and len(msgs) == 1
            assert msgs[0].answer[0].rdtype == dns.rdatatype.SOA
            continue
        if kind == "AXFR" and zone not in expected:
            assert len(msgs) == 1 and msgs[0].rcode() == dns.rcode.NOTAUTH, (zone, msgs[0])
            continue
        assert all(m.rcode() == dns.rcode.NOERROR for m in msgs), zone
        assert records(msgs) == expected[zone if kind == "AXFR" else ("IXFR", zone, arg)], (kind, zone)


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % name, text, re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def expected_answers(srv):
    exp = {zone_name(i): alone(srv, zone_name(i)) for i in range(ZONES)}
    exp["big.pipe.test."] = alone(srv, "big.pipe.test.")
    exp[("IXFR", HIST, srv.hist_from)] = alone(srv, HIST, "IXFR", srv.hist_from)
    return exp


def test_pipelined_transfers_answered_in_order_in_few_batches(srv):
    exp = expected_answers(srv)
    # the journal answers: the changes, not the whole zone (SOA, old SOA, ..., SOA)
    ixfr = exp[("IXFR", HIST, srv.hist_from)]
    assert ixfr[0][1] == "SOA" and ixfr[1][1] == "SOA", ixfr[:2]
    p = Pipeline()
    for i in range(ZONES):
        p.axfr(zone_name(i), signed=i in (7, 31))
        if i == 10:
            p.soa(zone_name(3))
        if i == 20:
            p.axfr("not-served.test.")
        if i == 25:
            p.ixfr(HIST, srv.hist_from)
        if i == 40:
            p.axfr("big.pipe.test.")
    p.soa(zone_name(0))
    before, logged = srv.metrics(), srv.log_text().count("transfer: z49.pipe.test. AXFR to 127.0.0.1")
    s = tcp_connect(srv.port, timeout=10)
    try:
        s.sendall(p.wire())
        answers = read_answers(s, p.queries[-1][0])
    finally:
        s.close()
    check(srv, p, answers, exp)
    after = srv.metrics()
    batches = metric(after, "tern_dns_transfer_batches_total") - metric(before, "tern_dns_transfer_batches_total")
    batched = metric(after, "tern_dns_transfer_batched_total") - metric(before, "tern_dns_transfer_batched_total")
    transfers = sum(1 for _i, _q, w in p.queries if w[0] != "SOA")
    # every transfer went through the transfer thread, in batches shared by many of them
    assert batched >= transfers and 0 < batches < transfers // 5, (batches, batched, transfers)
    # each transfer is still logged
    assert srv.log_text().count("transfer: z49.pipe.test. AXFR to 127.0.0.1") == logged + 1


def test_slow_reader_loses_and_reorders_nothing(srv):
    exp = expected_answers(srv)
    p = Pipeline()
    for k in range(8):
        for i in range(ZONES):
            p.axfr(zone_name(i), signed=(i + k) % 17 == 0)
        p.axfr("big.pipe.test.")
        p.soa(zone_name(k))
    s = tcp_connect(srv.port, timeout=10, rcvbuf=4096)
    try:
        s.sendall(p.wire())
        time.sleep(1.5)  # nothing read: the server holds what the socket does not take
        # the server goes on answering other clients meanwhile
        r = dns.query.tcp(dns.message.make_query(zone_name(1), "SOA"), srv.addr, port=srv.port, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR
        answers = read_answers(s, p.queries[-1][0], pause=0.5)
    finally:
        s.close()
    check(srv, p, answers, exp)


def test_connection_closed_while_batch_is_built(srv):
    """A client that sends a pipeline and goes away at once: the server drops its answers and
    serves the next client."""
    p = Pipeline()
    for k in range(4):
        for i in range(ZONES):
            p.axfr(zone_name(i))
        p.axfr("big.pipe.test.")
    for _ in range(5):
        s = socket.create_connection((srv.addr, srv.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(p.wire())
        s.close()  # a reset
    assert alone(srv, zone_name(5))[0][1] == "SOA"
    assert srv.proc.poll() is None
