"""A PoP pulls many zones pipelined on one kept TCP connection (RFC 7766 6.2.1.1, RFC 5936 4.1): the
zones due at once that start with a transfer (a catalog's new members, NOTIFYs) are taken by a
transfer worker together when they go to the same primary, their queries written at once and the
answers read as they come, each message routed to its transfer by message ID.

- A ternd PoP consumes a catalog of 300 members from a ternd primary: every member is served with
  its own content, in far fewer batches than members, over a handful of connections (the PoP's log:
  "transfer worker N: K transfers pipelined to ...; in all B batches, P transfers pipelined, C
  connections opened").
- The same with Knot, NSD and BIND as the primary (40 members each, the catalog a plain zone file
  they serve).
- A stand-in primary written here (PipelinedPrimary, a small socket server, not a real DNS server)
  waits for every query of a batch, then answers them in reverse order with the messages of the
  transfers interleaved; one zone it refuses (REFUSED) and one it breaks in the middle of its
  answer (a malformed message, then the rest of that transfer): the others are served, right.
  Another answers with an ID nobody asked for: the PoP drops that connection and the transfers
  it carried fail, then succeed on the retry."""
import base64
import os
import re
import socket
import struct
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import sysutil

from bindlib import NAMED, named_available
from knotlib import Knotd, knotd_available
from nsdlib import NsdZones, nsd_available
from sysutil import ask_soa_many
from ternlib import Ternd, free_port
from test_secondary import Secondary
from xfrlib import Peer, stop_ok, stop_started  # noqa: F401 (an autouse fixture)
from xfrlib import started as _started

CAT = "catalog.tern."
ALLOW = "transfer:\n  allow: [127.0.0.0/8]\n"
KEY_NAME = "pipe.key"
KEYS_YAML = "keys:\n  - name: %s\n    algorithm: hmac-sha256\n    secret: \"%%s\"\n" % KEY_NAME
PIPELINE_LINE = re.compile(r"transfer worker (\d+): (\d+) transfers pipelined to \S+; in all (\d+) batches, "
                           r"(\d+) transfers pipelined, (\d+) connections opened")


def member(i):
    return "m%d.pipe.test" % i


def member_text(name, i):
    """A member zone with its own content: id TXT names it, www A is numbered; every 25th is large
    (a transfer of several messages)."""
    lines = ["$ORIGIN %s." % name, "$TTL 3600", "@ SOA ns1 hostmaster %d 7200 900 1209600 300" % (1000 + i),
             "@ NS ns1", "ns1 A 192.0.2.1", "www A 10.%d.%d.1" % (i // 250, i % 250), "id TXT \"%s-%d\"" % (name, i)]
    if i % 25 == 0:
        lines += ["h%d A 10.1.%d.%d" % (k, k // 250, k % 250) for k in range(3000)]
    return "\n".join(lines) + "\n"


def catalog_text(names):
    """A catalog zone (RFC 9432 version 2) of names, as a plain zone file."""
    lines = ["$ORIGIN %s" % CAT, "$TTL 0", "@ SOA invalid. invalid. 1 3600 600 2419200 0", "@ NS invalid.",
             "version TXT \"2\""]
    lines += ["c%d.zones PTR %s." % (i, n) for i, n in enumerate(names)]
    return "\n".join(lines) + "\n"


def write_members(d, n):
    """n member zone files and the catalog's in d: ({name: path}, catalog path)."""
    os.makedirs(str(d), exist_ok=True)
    files = {}
    for i in range(n):
        files[member(i)] = os.path.join(str(d), member(i) + ".zone")
        with open(files[member(i)], "w") as f:
            f.write(member_text(member(i), i))
    cat = os.path.join(str(d), "catalog.zone")
    with open(cat, "w") as f:
        f.write(catalog_text(list(files)))
    return files, cat


class Pop(Ternd):
    """A ternd PoP consuming the catalog of the primary at primary_port."""

    def __init__(self, workdir, primary_port, key=None):
        os.makedirs(str(workdir), exist_ok=True)
        self.primary_port = primary_port
        self.key = key
        super().__init__({}, workdir=str(workdir))

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write("  - name: \"%s\"\n    primary: [\"127.0.0.1@%d\"]\n    catalog: true\n" % (
                CAT, self.primary_port))
            if self.key:
                f.write("    key: %s\n" % KEY_NAME + KEYS_YAML % self.key)
            f.write(ALLOW)  # the large members are checked by AXFR

    def start(self):
        _started.append(self)
        return super().start()


def pipelining(log):
    """From a PoP's log: (batches, transfers pipelined, connections opened), each worker's last
    line summed."""
    last = {}
    for m in PIPELINE_LINE.finditer(log):
        last[m.group(1)] = tuple(int(m.group(k)) for k in (3, 4, 5))
    return tuple(sum(v[k] for v in last.values()) for k in range(3))


def wait_served(port, names, timeout, log=None):
    """Polls until every name answers its SOA with NOERROR."""
    deadline = time.time() + timeout
    while True:
        codes = ask_soa_many(port, names, lambda resp: struct.unpack("!H", resp[2:4])[0] & 0xF)
        missing = [n for n, c in codes.items() if c != dns.rcode.NOERROR]
        if not missing:
            return
        assert time.time() < deadline, "%d of %d served; e.g. %s: %s%s" % (
            len(names) - len(missing), len(names), missing[0], codes[missing[0]],
            "\n" + log()[-3000:] if log else "")
        time.sleep(0.1)


def txt(port, name):
    r = dns.query.udp(dns.message.make_query(name, "TXT"), "127.0.0.1", port=port, timeout=2)
    assert r.rcode() == dns.rcode.NOERROR and r.answer, "%s: %s" % (name, r)
    return r.answer[0][0].strings[0].decode()


def check_members(port, n):
    """Every member's content as its file has it: its serial, its id TXT, a large one's whole AXFR."""
    for i in range(n):
        name = member(i)
        assert txt(port, "id." + name) == "%s-%d" % (name, i)
        r = dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=2)
        assert r.answer[0][0].serial == 1000 + i, name
        if i % 25 == 0:
            got = [rr for m in dns.query.xfr("127.0.0.1", name, port=port, timeout=10) for rr in m.answer]
            assert sum(len(rs) for rs in got) == 3005 + 1, name  # 3005 records, the SOA twice


def consume(pop_dir, primary_port, names, timeout, key=None):
    """A PoP consuming the catalog at primary_port until every member is served; returns it."""
    pop = Pop(pop_dir, primary_port, key).start()
    started = time.time()
    wait_served(pop.port, names, timeout, pop.log_text)
    print("%d members served after %.1f s" % (len(names), time.time() - started))
    return pop


def test_catalog_of_300_members_pulled_pipelined(tmp_path):
    n = 300
    files, cat = write_members(tmp_path / "zones", n)
    primary = Ternd(dict(files, **{CAT.rstrip("."): cat}), extra_server="", workdir=None)
    with open(primary.config, "a") as f:
        f.write(ALLOW)
    primary.start()
    _started.append(primary)
    pop = consume(tmp_path / "pop", primary.port, list(files), 120)
    check_members(pop.port, n)
    batches, pipelined, opened = pipelining(pop.log_text())
    print("the PoP: %d batches, %d transfers pipelined, %d connections opened" % (batches, pipelined, opened))
    assert pipelined >= n * 0.8, pop.log_text()[-3000:]
    assert batches <= n // 5, (batches, pipelined)  # far fewer batches than zones
    assert opened <= 8, opened  # a handful: one per worker, kept
    assert "refresh failed" not in pop.log_text()
    stop_ok(pop)


def test_catalog_pulled_pipelined_with_tsig(tmp_path):
    """Each transfer of a batch signed with the zone's key and its answer checked in its own TSIG
    chain: a primary that transfers to the key only serves every member."""
    n = 60
    secret = base64.b64encode(os.urandom(32)).decode()
    files, cat = write_members(tmp_path / "zones", n)
    primary = Ternd(dict(files, **{CAT.rstrip("."): cat}))
    with open(primary.config, "a") as f:
        f.write(KEYS_YAML % secret + "transfer:\n  allow:\n    - {address: 127.0.0.0/8, key: %s}\n" % KEY_NAME)
    primary.start()
    _started.append(primary)
    pop = consume(tmp_path / "pop", primary.port, list(files), 60, key=secret)
    check_members(pop.port, n)
    batches, pipelined, opened = pipelining(pop.log_text())
    print("the PoP: %d batches, %d transfers pipelined, %d connections opened" % (batches, pipelined, opened))
    assert pipelined >= n * 0.8 and batches <= n // 5, pop.log_text()[-3000:]
    assert "refresh failed" not in pop.log_text()
    stop_ok(pop)


class NamedZones(Peer):
    """named serving {zone: file} read-only on 127.0.0.1@port, transfers to loopback."""

    def __init__(self, zones, workdir):
        self.port = free_port()
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.zones = zones
        self.config = os.path.join(self.dir, "named.conf")
        self.log = os.path.join(self.dir, "named.log")
        text = ("options {\n  directory \"%s\";\n  pid-file \"%s/named.pid\";\n  session-keyfile \"%s/s.key\";\n"
                "  listen-on port %d { 127.0.0.1; };\n  listen-on-v6 { none; };\n  recursion no;\n"
                "  allow-transfer { 127.0.0.0/8; };\n  notify no;\n  dnssec-validation no;\n"
                "  transfers-out 100;\n};\ncontrols { };\n" % (self.dir, self.dir, self.dir, self.port))
        for name, path in zones.items():
            text += "zone \"%s\" {\n  type primary;\n  file \"%s\";\n};\n" % (name, path)
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        self.launch([NAMED, "-g", "-c", self.config])
        for zone in self.zones:
            self.wait_soa(zone)
        return self


class KnotZones(Knotd):
    """knotd serving {zone: file} read-only, transfers to loopback."""

    def __init__(self, zones, workdir):
        super().__init__(zones, workdir=str(workdir))
        body = ["acl:", "  - id: xfr", "    address: 127.0.0.0/8", "    action: transfer",
                "template:", "  - id: default", "    storage: \"%s\"" % self.storage, "    zonefile-sync: -1",
                "    zonefile-load: whole", "    journal-content: none", "    semantic-checks: off",
                "    dnssec-signing: off", "    acl: xfr", "zone:"]
        for name, path in self.zones.items():
            body += ["  - domain: \"%s\"" % name, "    file: \"%s\"" % path]
        self.write_config(body, server=["answer-rotation: off"])


class NsdServe(NsdZones):
    """NSD serving {zone: file} read-only, transfers to loopback."""

    def __init__(self, zones, workdir):
        super().__init__(zones, str(workdir))
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("    zonefile: ", "    provide-xfr: 127.0.0.0/8 NOKEY\n    zonefile: "))


PRIMARIES = {
    "knot": (knotd_available, lambda zones, d: KnotZones(zones, d)),
    "nsd": (nsd_available, lambda zones, d: NsdServe(zones, d)),
    "bind": (named_available, lambda zones, d: NamedZones(zones, d)),
}


@pytest.mark.parametrize("kind", sorted(PRIMARIES))
def test_pipelined_pulls_from_other_primaries(kind, tmp_path):
    available, make = PRIMARIES[kind]
    if not available():
        pytest.skip("%s not installed" % kind)
    n = 40
    files, cat = write_members(tmp_path / "zones", n)
    primary = make(dict(files, **{CAT.rstrip("."): cat}), tmp_path / kind)
    _started.append(primary)
    primary.start()
    pop = consume(tmp_path / "pop", primary.port, list(files), 30)
    check_members(pop.port, n)
    batches, pipelined, opened = pipelining(pop.log_text())
    print("%s -> the PoP: %d batches, %d transfers pipelined, %d connections opened" % (
        kind, batches, pipelined, opened))
    assert pipelined >= 30 and batches <= 8 and opened <= 6, pop.log_text()[-3000:]
    assert "refresh failed" not in pop.log_text()
    stop_ok(pop)


# ---- faults, from a stand-in primary ----

def frame(msg):
    return struct.pack("!H", len(msg)) + msg


class PipelinedPrimary(sysutil.TcpStandIn):
    """A stand-in primary (a socket server of this test, not a DNS server): over TCP only, it
    reads queries until none comes for `quiet` seconds, then answers that batch in reverse order
    with the messages of the transfers interleaved (RFC 7766 allows any order between answers).
    Each zone's answer is answers[name](query) -> [message bytes]. `batches` lists the number of
    queries of each batch answered; `connections` counts those accepted."""

    def __init__(self, answers, quiet=0.3):
        self.answers = answers
        self.quiet = quiet
        self.batches = []
        self.qtypes = []  # each batch's query types
        self.drop_reused = False  # once: a connection that answered before is closed at its next batch
        # of several queries
        self.dropped = 0
        super().__init__()
        _started.append(self)

    def _serve(self, c):
        buf = b""
        answered = False
        try:
            while self.running:
                c.settimeout(None if not buf else self.quiet)
                queries = []
                while True:
                    try:
                        data = c.recv(65536)
                    except socket.timeout:
                        break
                    if not data:
                        return
                    buf += data
                    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                        n = struct.unpack("!H", buf[:2])[0]
                        queries.append(dns.message.from_wire(buf[2:2 + n]))
                        buf = buf[2 + n:]
                    c.settimeout(self.quiet)
                if not queries:
                    continue
                if answered and self.drop_reused and len(queries) >= 2:  # closed unanswered (an idle timeout)
                    self.drop_reused = False
                    self.dropped += len(queries)
                    c.close()
                    return
                answered = True
                self.batches.append(len(queries))
                self.qtypes.append({dns.rdatatype.to_text(q.question[0].rdtype) for q in queries})
                streams = [self.answers[q.question[0].name.to_text().rstrip(".")](q) for q in reversed(queries)]
                out = b""
                while any(streams):
                    for s in streams:
                        if s:
                            out += frame(s.pop(0))
                c.sendall(out)
        except OSError:
            return


def good_answer(name, i, version=None):
    """A zone's AXFR in three messages (also its answer to IXFR: the whole zone), serial 50 + i,
    plus version["bump"] when given."""
    origin = dns.name.from_text(name)
    body = [dns.rrset.from_text(origin, 3600, "IN", "NS", "ns1.%s." % name),
            dns.rrset.from_text("ns1." + name + ".", 3600, "IN", "A", "192.0.2.1"),
            dns.rrset.from_text("id." + name + ".", 3600, "IN", "TXT", "\"%s-%d\"" % (name, i))]

    def answer(q):
        serial = 50 + i + (version["bump"] if version else 0)
        soa = dns.rrset.from_text(origin, 3600, "IN", "SOA", "ns1.%s. h.%s. %d 7200 900 1209600 300" % (
            name, name, serial))
        msgs = []
        for part in ([soa, body[0]], [body[1]], [body[2], soa]):
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            r.answer = list(part)
            msgs.append(r.to_wire())
        return msgs
    return answer


def refused(q):
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.REFUSED)
    return [r.to_wire()]


def broken(name):
    """A transfer broken in the middle: a good first message, a malformed one (it says 3 records
    and holds 5 bytes), then the rest as if nothing happened."""
    good = good_answer(name, 99)

    def answer(q):
        msgs = good(q)
        r = dns.message.make_response(q)
        head = bytearray(r.to_wire()[:12])
        head[4:12] = struct.pack("!HHHH", 0, 3, 0, 0)
        return [msgs[0], bytes(head) + b"\x00\x00\x01\x00\x01", msgs[2]]
    return answer


def good_names(n):
    return ["z%d.fault.test" % i for i in range(n)]


def wait_txt(port, names, timeout, log):
    deadline = time.time() + timeout
    for i, name in enumerate(names):
        while True:
            try:
                if txt(port, "id." + name) == "%s-%d" % (name, i):
                    break
            except (AssertionError, dns.exception.Timeout):
                pass
            assert time.time() < deadline, "%s never served:\n%s" % (name, log()[-3000:])
            time.sleep(0.05)


def test_one_refused_and_one_broken_in_a_pipelined_batch(tmp_path):
    names = good_names(10)
    answers = {n: good_answer(n, i) for i, n in enumerate(names)}
    answers["refused.fault.test"] = refused
    answers["broken.fault.test"] = broken("broken.fault.test")
    # the two failing in the middle of the batch
    order = names[:4] + ["refused.fault.test"] + names[4:7] + ["broken.fault.test"] + names[7:]
    primary = PipelinedPrimary(answers)
    pop = Secondary({n: ["127.0.0.1@%d" % primary.port] for n in order}, workdir=str(tmp_path / "pop"))
    _started.add(pop)
    wait_txt(pop.port, names, 20, pop.log_text)
    log = pop.log_text()
    print("batches the primary answered: %s, connections: %d" % (primary.batches, primary.connections))
    assert max(primary.batches) >= 8, primary.batches  # asked at once, not one by one
    assert "zone refused.fault.test.: refresh failed" in log and "refused the transfer: REFUSED" in log, log[-3000:]
    assert "zone broken.fault.test.: refresh failed" in log, log[-3000:]
    for bad in ("refused.fault.test", "broken.fault.test"):
        r = dns.query.udp(dns.message.make_query(bad, "SOA"), "127.0.0.1", port=pop.port, timeout=2)
        assert r.rcode() == dns.rcode.SERVFAIL, (bad, r)
    assert pipelining(log)[1] >= 8
    stop_ok(pop)


def test_a_message_for_no_query_drops_the_connection(tmp_path):
    """The first connection answers with an ID no query has: the PoP closes it and fails the
    transfers it carried (retried later on a new connection, answered right)."""
    names = good_names(6)
    state = {"stray": True}

    def stray(name, i):
        good = good_answer(name, i)

        def answer(q):
            msgs = good(q)
            if state["stray"]:
                state["stray"] = False
                wire = bytearray(msgs[0])
                wire[0:2] = struct.pack("!H", (q.id + 1) % 65536 or 1)
                return [bytes(wire)] + msgs
            return msgs
        return answer
    answers = {n: good_answer(n, i) for i, n in enumerate(names)}
    answers[names[2]] = stray(names[2], 2)
    primary = PipelinedPrimary(answers)
    pop = Secondary({n: ["127.0.0.1@%d" % primary.port] for n in names}, workdir=str(tmp_path / "pop"))
    _started.add(pop)
    wait_txt(pop.port, names, 30, pop.log_text)
    log = pop.log_text()
    print("batches: %s, connections: %d" % (primary.batches, primary.connections))
    assert "answers no query outstanding" in log, log[-3000:]
    assert primary.connections >= 2
    stop_ok(pop)


def test_notified_zones_pulled_pipelined_and_a_dropped_connection_asked_again(tmp_path):
    """After a NOTIFY to each zone the PoP (one worker) asks its IXFRs pipelined on the connection
    it kept from the first transfers; the stand-in closes that one unanswered when a batch of
    queries comes (as a primary's idle timeout would): they are asked again on a new connection,
    served."""
    names = good_names(10)
    version = {"bump": 0}
    primary = PipelinedPrimary({n: good_answer(n, i, version) for i, n in enumerate(names)})
    pop = Secondary({n: ["127.0.0.1@%d" % primary.port] for n in names}, workdir=str(tmp_path / "pop"),
                    extra="transfer:\n  refresh-workers: 1\n")
    _started.add(pop)
    wait_txt(pop.port, names, 20, pop.log_text)
    assert primary.connections == 1 and max(primary.batches) >= 8, (primary.connections, primary.batches)
    version["bump"] = 100
    primary.drop_reused = True
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # all at once, then the answers
        for n in names:
            q = dns.message.make_query(n, "SOA")
            q.set_opcode(dns.opcode.NOTIFY)
            q.flags |= dns.flags.AA
            s.sendto(q.to_wire(), ("127.0.0.1", pop.port))
        s.settimeout(2)
        for n in names:
            s.recv(512)
    deadline = time.time() + 20
    for i, n in enumerate(names):
        while True:
            r = dns.query.udp(dns.message.make_query(n, "SOA"), "127.0.0.1", port=pop.port, timeout=2)
            if r.answer and r.answer[0][0].serial == 150 + i:
                break
            assert time.time() < deadline, "%s stays at %s:\n%s" % (n, r.answer, pop.log_text()[-3000:])
            time.sleep(0.05)
    log = pop.log_text()
    print("batches: %s %s, connections: %d, dropped: %d" % (primary.batches, primary.qtypes, primary.connections,
                                                            primary.dropped))
    assert primary.dropped >= 1 and primary.connections == 2, (primary.dropped, primary.connections)
    ixfr_batches = [b for b, t in zip(primary.batches, primary.qtypes) if t == {"IXFR"}]
    assert ixfr_batches and max(ixfr_batches) >= 5, (primary.batches, primary.qtypes)
    assert "refresh failed" not in log and "by IXFR (whole zone)" in log, log[-3000:]
    stop_ok(pop)
