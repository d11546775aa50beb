"""Zone transfers out (RFC 5936 AXFR, RFC 1995 IXFR answered with the whole zone) and NOTIFY
(RFC 1996): ternd as the primary of a real Knot DNS secondary."""
import os
import select
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest

from apilib import ApiTernd, finish, keys  # noqa: F401 (keys is a fixture)
from sysutil import frame, tcp_connect, tcp_read_msg
from knotlib import KnotSecondary, knotd_available
from ternlib import ZONES, Ternd, free_port
from xfrlib import api_primary

ZONE = os.path.join(ZONES, "example.com.zone")


def transfer(addr, port, zone, rdtype="AXFR"):
    """Every message of a transfer (list of dns.message.Message)."""
    msgs = []
    for m in dns.query.xfr(addr, zone, rdtype=rdtype, port=port, timeout=5, relativize=False,
                           serial=1 if rdtype == "IXFR" else 0):
        msgs.append(m)
    return msgs


def records(msgs):
    out = []
    for m in msgs:
        for rrset in m.answer:
            for rd in rrset:
                out.append((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, rd.to_text()))
    return out


HUGE_HOSTS = 150000  # an AXFR of these takes ternd ~0.15 s to build (more under ASan)


def huge_zone(tmp_path):
    """huge.test.: SOA, NS, ns A and HUGE_HOSTS host A records h<i> -> 10.x.y.z, in tmp_path."""
    path = tmp_path / "huge.test.zone"
    with open(path, "w") as f:
        f.write("$ORIGIN huge.test.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n")
        f.writelines("h%d A 10.%d.%d.%d\n" % (i, i >> 16, (i >> 8) & 255, i & 255) for i in range(HUGE_HOSTS))
    return path


def zone_records(path, origin):
    z = dns.zone.from_file(path, origin, relativize=False)
    return sorted((n.to_text().lower(), dns.rdatatype.to_text(rds.rdtype), rds.ttl, rd.to_text())
                  for n, rds in z.iterate_rdatasets() for rd in rds)


def test_axfr_matches_the_zone(tmp_path):
    t = Ternd({"example.com": ZONE}, workdir=str(tmp_path), extra_server="")
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    with t:
        got = records(transfer(t.addr, t.port, "example.com."))
        assert got[0][1] == "SOA" and got[-1][1] == "SOA" and got[0] == got[-1]
        assert sorted(got[:-1]) == zone_records(ZONE, "example.com.")


def test_big_axfr_spans_messages(tmp_path):
    path = tmp_path / "big.test.zone"
    lines = ["$ORIGIN big.test.", "$TTL 300", "@ SOA ns hm 7 3600 600 86400 60", "@ NS ns", "ns A 127.0.0.1"]
    lines += ["host%d A 10.0.%d.%d" % (i, i // 256, i % 256) for i in range(5000)]
    lines += ['txt%d TXT "%s"' % (i, "x" * 200) for i in range(300)]
    path.write_text("\n".join(lines) + "\n")
    t = Ternd({"big.test": str(path)}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.1/32]\n")
    with t:
        msgs = transfer(t.addr, t.port, "big.test.")
        assert len(msgs) > 5
        got = records(msgs)
        assert len(got) == 5000 + 300 + 3 + 1
        assert sorted(got[:-1]) == zone_records(str(path), "big.test.")
        # IXFR is answered with the whole zone (RFC 1995 section 4)
        ixfr = records(transfer(t.addr, t.port, "big.test.", "IXFR"))
        assert sorted(ixfr[:-1]) == sorted(got[:-1])


def test_transfer_built_beside_other_tcp_clients(tmp_path):
    """A big AXFR is built by the transfer thread: while it is, another TCP client is answered at
    once instead of waiting behind it; a query pipelined after the transfer question is answered
    after the transfer; a client that hangs up, or a stop, while its transfer is built harms
    nothing."""
    path = huge_zone(tmp_path)
    t = Ternd({"huge.test": str(path)}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    with t:
        with tcp_connect(t.port, timeout=30) as a, tcp_connect(t.port, timeout=30) as b:
            start = time.time()
            a.sendall(frame(dns.message.make_query("huge.test.", "AXFR", id=1).to_wire()))
            time.sleep(0.02)  # the transfer is being built now
            b.sendall(frame(dns.message.make_query("h5.huge.test.", "A", id=2).to_wire()))
            readable = {}  # when each socket first had something to read
            while len(readable) < 2 and time.time() - start < 30:
                for s in select.select([x for x in (a, b) if x not in readable], [], [], 30)[0]:
                    readable[s] = time.time() - start
            r = dns.message.from_wire(tcp_read_msg(b))
            first = dns.message.from_wire(tcp_read_msg(a), one_rr_per_rrset=True)
            assert r.id == 2 and [rd.to_text() for rd in r.answer[0]] == ["10.0.0.5"]
            assert first.id == 1 and first.answer[0].rdtype == dns.rdatatype.SOA
            assert readable[b] < readable[a], "the query waited %.3f s, the transfer %.3f s" % (readable[b], readable[a])
        # the whole transfer, then a query pipelined behind the transfer question, in order
        with tcp_connect(t.port, timeout=30) as c:
            c.sendall(frame(dns.message.make_query("huge.test.", "AXFR", id=3).to_wire()) +
                      frame(dns.message.make_query("h7.huge.test.", "A", id=4).to_wire()))
            records, soas = 0, 0
            while soas < 2:
                m = dns.message.from_wire(tcp_read_msg(c), one_rr_per_rrset=True)
                assert m.id == 3
                records += len(m.answer)
                soas += sum(1 for rr in m.answer if rr.rdtype == dns.rdatatype.SOA)
            assert records == HUGE_HOSTS + 4  # SOA, NS, ns A, the hosts, SOA again
            r = dns.message.from_wire(tcp_read_msg(c))
            assert r.id == 4 and [rd.to_text() for rd in r.answer[0]] == ["10.0.0.7"]
        # hung up while the transfer is built: the server goes on
        d = tcp_connect(t.port)
        d.sendall(frame(dns.message.make_query("huge.test.", "AXFR", id=5).to_wire()))
        d.close()
        assert t.query("h9.huge.test", "A", tcp=True).answer[0][0].to_text() == "10.0.0.9"
        # stopped while a transfer is built: a clean exit
        e = tcp_connect(t.port)
        e.sendall(frame(dns.message.make_query("huge.test.", "AXFR", id=6).to_wire()))
        time.sleep(0.02)
        assert t.stop() == 0
        e.close()


def test_api_change_not_held_up_by_a_transfer(tmp_path, keys):  # noqa: F811
    """While the transfer thread builds a big AXFR (an RCU reader all the while), an API change is
    served and answered at once: a publisher hands the version it replaced to the reclaim thread
    instead of waiting for every reader."""
    path = huge_zone(tmp_path)
    t = ApiTernd(keys, workdir=str(tmp_path), zones={"huge.test": str(path)})
    with open(t.config, "a") as f:
        f.write("transfer:\n  allow: [127.0.0.0/8]\n")
    t.start()
    try:
        api = t.api(keys.token("alice"))
        assert api.request("POST", "/api/v1/zones", {"name": "api.test"}).status == 201
        body = {"rrsets": [{"name": "www.api.test.", "type": "A", "ttl": 60, "records": ["192.0.2.1"]}]}
        assert api.request("PATCH", "/api/v1/zones/api.test/rrsets", body).status == 200
        with tcp_connect(t.port, timeout=30) as a:
            start = time.time()
            a.sendall(frame(dns.message.make_query("huge.test.", "AXFR", id=1).to_wire()))
            time.sleep(0.02)  # the transfer is being built now
            body["rrsets"][0]["records"] = ["192.0.2.2"]
            r = api.request("PATCH", "/api/v1/zones/api.test/rrsets", body)
            answered = time.time() - start
            assert r.status == 200
            served = [rd.to_text() for rd in t.query("www.api.test", "A").answer[0]]
            select.select([a], [], [], 30)
            built = time.time() - start
            assert served == ["192.0.2.2"]
            # without the reclaim thread the PATCH is answered only as the build ends, just before
            # the transfer's first byte
            assert answered < 0.6 * built, "the PATCH took %.3f s, the transfer %.3f s" % (answered, built)
            first = dns.message.from_wire(tcp_read_msg(a), one_rr_per_rrset=True)
            assert first.id == 1 and first.answer[0].rdtype == dns.rdatatype.SOA
    finally:
        finish(t)


def test_transfer_refused_unless_allowed(tmp_path):
    t = Ternd({"example.com": ZONE}, workdir=str(tmp_path))
    with t:
        with pytest.raises(dns.xfr.TransferError) as e:
            transfer(t.addr, t.port, "example.com.")
        assert e.value.rcode == dns.rcode.REFUSED
        # and a zone we do not serve is NOTAUTH (RFC 5936 2.2.1)
        with open(t.config, "a") as f:
            f.write("transfer:\n  allow: [127.0.0.0/8]\n")
        t.reload()
        deadline = time.time() + 5
        while True:
            try:
                transfer(t.addr, t.port, "example.com.")
                break
            except dns.xfr.TransferError:
                assert time.time() < deadline, "SIGHUP did not apply transfer.allow"
                time.sleep(0.1)
        with pytest.raises(dns.xfr.TransferError) as e:
            transfer(t.addr, t.port, "nowhere.test.")
        assert e.value.rcode == dns.rcode.NOTAUTH


def test_notified_secondaries_may_transfer(tmp_path):
    """Without transfer.allow, the secondaries named in transfer.notify may transfer (from their
    address only): refused by default except to the configured secondaries."""
    t = Ternd({"example.com": ZONE}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("transfer:\n  notify: [\"127.0.0.2@%d\"]\n" % free_port())
    with t:
        msgs = list(dns.query.xfr(t.addr, "example.com.", port=t.port, timeout=5, source="127.0.0.2"))
        assert records(msgs)[0][1] == "SOA"
        with pytest.raises(dns.xfr.TransferError) as e:
            transfer(t.addr, t.port, "example.com.")  # from 127.0.0.1: not a secondary
        assert e.value.rcode == dns.rcode.REFUSED


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_knot_secondary_follows_api_changes_by_notify(tmp_path, keys):  # noqa: F811
    """ternd primary (zone made through the API) -> Knot secondary: AXFR at start, then each API
    change reaches Knot through NOTIFY at once (not on the refresh timer, which is an hour)."""
    kport = free_port()
    t, api = api_primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % kport], "shop.test", [
        {"name": "ns1", "type": "A", "ttl": 300, "records": ["127.0.0.1"]},
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}], api={"nameservers": ["ns1.shop.test."]})
    knot = KnotSecondary(tmp_path / "knot", "shop.test", t.port, port=kport)
    try:
        knot.start()

        def knot_a(name):
            r = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=kport, timeout=1)
            return r, [rd.to_text() for rrset in r.answer for rd in rrset]

        def wait_for(name, value, timeout=10.0):
            deadline = time.time() + timeout
            while time.time() < deadline:
                try:
                    r, vals = knot_a(name)
                    if value in vals:
                        return time.time()
                except Exception:
                    pass
                time.sleep(0.01)
            raise AssertionError("Knot never served %s %s:\n%s" % (name, value, knot.log_text()))

        wait_for("www.shop.test.", "192.0.2.1", 15)
        for i in range(2, 6):
            start = time.time()
            api.put_rrset("shop.test", "www", "A", 300, ["192.0.2.%d" % i])
            took = wait_for("www.shop.test.", "192.0.2.%d" % i, 5) - start
            assert took < 3, "NOTIFY did not make Knot refresh at once (%.2f s)" % took
        # the secondary's copy equals the primary's, record for record
        r = dns.query.udp(dns.message.make_query("shop.test.", "SOA"), "127.0.0.1", port=kport, timeout=1)
        assert r.answer and r.answer[0][0].serial == api.serial("shop.test")
    finally:
        knot.stop()
        t.stop()


def test_sighup_changes_notify_targets(tmp_path):
    """NOTIFY targets follow SIGHUP: a target added is told of the versions from that reload on, a
    target dropped hears nothing more, and with none left nothing is sent."""
    import socket

    zone = tmp_path / "n.test.zone"

    def write_zone(serial):
        zone.write_text("$ORIGIN n.test.\n$TTL 60\n@ SOA ns h %d 1 1 1 1\n@ NS ns\nns A 127.0.0.1\n" % serial)

    listeners = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.1)
        listeners.append(s)

    def notifies(sock, seconds):
        """Serials of the NOTIFYs sock receives within seconds (each one acknowledged)."""
        got, deadline = [], time.time() + seconds
        while time.time() < deadline:
            try:
                data, peer = sock.recvfrom(4096)
            except socket.timeout:
                continue
            m = dns.message.from_wire(data)
            got.append(m.answer[0][0].serial)
            r = dns.message.make_response(m)
            sock.sendto(r.to_wire(), peer)
        return got

    write_zone(1)
    t = Ternd({"n.test": str(zone)}, workdir=str(tmp_path))

    def reconfigure(serial, target):
        write_zone(serial)
        t.write_config(["127.0.0.1@%d" % t.port])
        if target is not None:
            with open(t.config, "a") as f:
                f.write("transfer:\n  notify: [\"127.0.0.1@%d\"]\n" % target.getsockname()[1])
        t.reload()

    with t:
        reconfigure(2, listeners[0])
        assert 2 in notifies(listeners[0], 2.0)
        reconfigure(3, listeners[1])
        assert 3 in notifies(listeners[1], 2.0)
        assert notifies(listeners[0], 1.5) == []
        reconfigure(4, None)
        assert notifies(listeners[1], 1.5) == []
        assert t.proc.poll() is None
    for s in listeners:
        s.close()


def test_notify_round_goes_out_secondary_by_secondary(tmp_path):
    """The NOTIFYs of a round leave in target order: each secondary gets its own one after another
    (one recvmmsg and one wake-up of its refresh thread for the lot), not interleaved zone by zone
    with the others'. 30 zone files changed by one SIGHUP, 3 targets: the kernel's receive
    timestamps show how often the stream switched target (zone by zone: about 90 times)."""
    import socket

    n_zones, n_targets = 30, 3
    so_timestampns = getattr(socket, "SO_TIMESTAMPNS", 35)  # SCM_TIMESTAMPNS is the same number

    def write_zone(i, serial):
        (tmp_path / ("z%d.test.zone" % i)).write_text(
            "$ORIGIN z%d.test.\n$TTL 60\n@ SOA ns h %d 3600 600 86400 60\n@ NS ns\nns A 127.0.0.1\n" % (i, serial))

    for i in range(n_zones):
        write_zone(i, 1)
    targets = []
    for _ in range(n_targets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setsockopt(socket.SOL_SOCKET, so_timestampns, 1)
        s.setblocking(False)
        targets.append(s)
    t = Ternd({"z%d.test" % i: str(tmp_path / ("z%d.test.zone" % i)) for i in range(n_zones)},
              workdir=str(tmp_path))
    with t:
        t.write_config(["127.0.0.1@%d" % t.port])
        with open(t.config, "a") as f:
            f.write("transfer:\n  notify: [%s]\n" % ", ".join(
                '"127.0.0.1@%d"' % s.getsockname()[1] for s in targets))
        t.reload()
        time.sleep(0.5)
        for s in targets:  # nothing was published by that reload; drop anything anyway
            while True:
                try:
                    s.recv(4096)
                except BlockingIOError:
                    break
        for i in range(n_zones):
            write_zone(i, 2)
        t.reload()
        first = {}  # (target, zone) -> kernel receive time of its first NOTIFY (retries come later)
        deadline = time.time() + 10
        while len(first) < n_zones * n_targets and time.time() < deadline:
            select.select(targets, [], [], 0.2)
            for k, s in enumerate(targets):
                while True:
                    try:
                        data, anc, _flags, _peer = s.recvmsg(4096, 64)
                    except BlockingIOError:
                        break
                    m = dns.message.from_wire(data)
                    if m.answer[0][0].serial != 2:
                        continue
                    ts = next((int.from_bytes(d[:8], "little") * 10 ** 9 + int.from_bytes(d[8:16], "little")
                               for lvl, typ, d in anc if lvl == socket.SOL_SOCKET and typ == so_timestampns), None)
                    assert ts is not None, "no receive timestamp"
                    first.setdefault((k, m.question[0].name.to_text()), ts)
        assert t.proc.poll() is None
    for s in targets:
        s.close()
    assert len(first) == n_zones * n_targets, "NOTIFYs missing: %d of %d" % (len(first), n_zones * n_targets)
    order = [k for (k, _zone), _ts in sorted(first.items(), key=lambda kv: kv[1])]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    # grouped: n_targets - 1 switches a round; a reload publishes its zones within a round or a few
    assert switches <= 4 * (n_targets - 1), "target order switched %d times: %s" % (switches, order)
