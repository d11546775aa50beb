"""Dynamic answers from a MaxMind DB (issue 17; lib/dyn.h `geo country` / `geo continent`, ternd's
geo.database): a database built at run time with libmaxmind-db-writer-perl and cross-checked with
mmdblookup, ternd answering clients by their EDNS Client Subnet (RFC 7871), the database swapped
under load and a corrupt one refused."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

import mmdblib
from ternlib import TERND, Ternd, wait_log

ZONE = """$ORIGIN geo.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 IN A 192.0.2.53
www 60 IN DYN pool br 192.0.2.10
www 60 IN DYN pool nl 192.0.2.20
www 60 IN DYN pool us 192.0.2.30 2001:db8::30
www 60 IN DYN pool world 192.0.2.1 2001:db8::1
www 60 IN DYN answer world
www 60 IN DYN geo country BR br world
www 60 IN DYN geo country NL nl world
www 60 IN DYN geo continent NA us world
"""

POOL = {"BR": "192.0.2.10", "NL": "192.0.2.20", "US": "192.0.2.30", None: "192.0.2.1"}
# (ECS address, source prefix, the country the database gives, the scope: its network's prefix)
CLIENTS = [("198.51.100.7", 24, "BR", 24), ("203.0.113.200", 24, "NL", 24), ("2001:db8:1:ff00::", 56, "US", 48)]


def ask(addr, port, name="www.geo.test", rdtype="A", ecs=None):
    opts = [dns.edns.ECSOption(*ecs)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0, options=opts)
    return dns.query.udp(q, addr, port=port, timeout=3)


def addrs(r):
    return sorted(rd.address for rrset in r.answer for rd in rrset if rrset.rdtype in (1, 28))


def scope(r):
    ecs = [o for o in r.options if o.otype == dns.edns.ECS]
    return ecs[0].scopelen if ecs else None


def start_ternd(d, db, interval="0.2"):
    zone = os.path.join(d, "geo.test.zone")
    with open(zone, "w") as f:
        f.write(ZONE)
    t = Ternd({"geo.test": zone}, workdir=d)
    with open(t.config, "a") as f:
        f.write('geo:\n  database: "%s"\n  check-interval: %s\n' % (db, interval))
    return t.start()


@pytest.fixture(scope="module")
def lab():
    d = tempfile.mkdtemp(prefix="dyn-mmdb-")
    db = mmdblib.build(os.path.join(d, "geo.mmdb"), mmdblib.NETS)
    t = start_ternd(d, db)
    wait_log(t.log_text, "geo database %s: GeoLite2-Country" % db)
    yield t, d, db
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_database_as_built(lab):
    """The test database says what the tests assume (mmdblookup, libmaxminddb's own tool)."""
    _, _, db = lab
    for ip, _, cc, want in CLIENTS:
        got = mmdblib.lookup(db, ip)
        assert got is not None and got[0] == cc and got[2] == want, (ip, got)
    assert mmdblib.lookup(db, "192.0.2.1") is None


@pytest.mark.parametrize("ip,prefix,cc,want_scope", CLIENTS)
def test_clients_by_country_and_continent(lab, ip, prefix, cc, want_scope):
    t, _, db = lab
    r = ask(t.addr, t.port, ecs=(ip, prefix))
    assert r.rcode() == dns.rcode.NOERROR
    assert addrs(r) == [POOL[cc]]
    assert scope(r) == want_scope == mmdblib.lookup(db, ip)[2]
    assert r.answer[0].ttl == 60


def test_aaaa_and_a_client_outside_the_database(lab):
    t, _, _ = lab
    r = ask(t.addr, t.port, rdtype="AAAA", ecs=("2001:db8:1::", 48))
    assert addrs(r) == ["2001:db8::30"] and scope(r) == 48
    # BR's pool has no IPv6 member: AAAA for a BR client is the answer list's
    r = ask(t.addr, t.port, rdtype="AAAA", ecs=("198.51.100.0", 24))
    assert addrs(r) == ["2001:db8::1"]
    # outside the database: the answer list, NOERROR (Knot's mod-geoip says NXDOMAIN here), scoped
    # to the empty block around the client (not 0: the answer is not every client's)
    for ip, prefix in (("192.0.2.0", 24), ("10.9.8.0", 24), ("2001:db8:2::", 48)):
        r = ask(t.addr, t.port, ecs=(ip, prefix))
        assert r.rcode() == dns.rcode.NOERROR, ip
        assert addrs(r) == ["192.0.2.1"], ip
        assert 0 < scope(r) <= prefix, (ip, scope(r))
    # no ECS: the source address (127.0.0.1, not in the database)
    r = ask(t.addr, t.port)
    assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.1"] and scope(r) is None


def query_loop(addr, port, stop, seen, errors):
    """Queries as fast as one socket goes, for a BR and an NL client by turns, recording each
    answer with its time (errors: anything but a NOERROR with one address)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    wires = [dns.message.make_query("www.geo.test", "A", use_edns=0,
                                    options=[dns.edns.ECSOption(ip, 24)]).to_wire()
             for ip in ("198.51.100.7", "203.0.113.7")]
    i = 0
    while not stop.is_set():
        w = wires[i % 2]
        try:
            s.sendto(w, (addr, port))
            r = dns.message.from_wire(s.recv(4096))
            got = addrs(r)
            if r.rcode() != dns.rcode.NOERROR or len(got) != 1 or scope(r) != 24:
                errors.append((i, r.rcode(), got, scope(r)))
            seen.append((time.time(), i % 2, got[0] if got else None))
        except Exception as e:  # a timeout is an error too
            errors.append((i, repr(e)))
        i += 1
    s.close()


def test_swap_under_load_and_corrupt_files_refused(lab):
    t, d, db = lab
    stop, seen, errors = threading.Event(), [], []
    workers = [threading.Thread(target=query_loop, args=(t.addr, t.port, stop, seen, errors)) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        # the swapped database, renamed over the file while queries flow
        swap_at = time.time()
        mmdblib.build(os.path.join(d, "next.mmdb"), mmdblib.SWAPPED)
        os.rename(os.path.join(d, "next.mmdb"), db)
        wait_log(t.log_text, "geo database %s: GeoLite2-Country" % db, timeout=10)
        deadline = time.time() + 5
        while time.time() < deadline:
            late = [x for x in seen[-50:] if x[0] > swap_at]
            if late and all(x[2] == ("192.0.2.20" if x[1] == 0 else "192.0.2.10") for x in late):
                break
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert not errors, errors[:5]
    before = [x for x in seen if x[0] < swap_at]
    assert before and all(x[2] == ("192.0.2.10" if x[1] == 0 else "192.0.2.20") for x in before)
    after = seen[-100:]
    assert all(x[2] == ("192.0.2.20" if x[1] == 0 else "192.0.2.10") for x in after), after[-5:]
    assert len(seen) > 1000, len(seen)

    # corrupt files, renamed over the database: refused with the reason, the swapped mapping kept
    good = open(db, "rb").read()
    # flipped: one byte of the search tree (184 nodes of 6 octets here) turned over, so the file
    # opens (its metadata is whole) but a record points where no data decodes
    flipped = good[:200] + bytes([good[200] ^ 0xFF]) + good[201:]
    for name, content in (("garbage", os.urandom(4096)), ("truncated", good[: len(good) // 2]),
                          ("empty", b""), ("flipped", flipped)):
        bad = os.path.join(d, name + ".mmdb")
        with open(bad, "wb") as f:
            f.write(content)
        mark = len(t.log_text())
        os.rename(bad, db)
        wait_log(lambda: t.log_text()[mark:], "geo database %s refused: " % db, timeout=10)
        assert "the version in force is kept" in t.log_text()[mark:]
        r = ask(t.addr, t.port, ecs=("198.51.100.7", 24))
        assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.20"] and scope(r) == 24, name
    # a good file again: taken at once by a reload (SIGHUP), whatever the interval
    mmdblib.build(os.path.join(d, "again.mmdb"), mmdblib.NETS)
    mark = len(t.log_text())
    os.rename(os.path.join(d, "again.mmdb"), db)
    t.reload()
    wait_log(lambda: t.log_text()[mark:], "geo database %s: GeoLite2-Country" % db, timeout=10)
    r = ask(t.addr, t.port, ecs=("198.51.100.7", 24))
    assert addrs(r) == ["192.0.2.10"]


def test_dnsperf_during_swaps(lab):
    """dnsperf with a Client Subnet for 4 s while the database is swapped back and forth every
    0.3 s: every query answered, every answer NOERROR."""
    t, d, db = lab
    if not shutil.which("dnsperf"):
        pytest.skip("dnsperf is not installed (make deps installs it)")
    qfile = os.path.join(d, "queries.txt")
    with open(qfile, "w") as f:
        f.write("www.geo.test A\n")
    versions = []
    for i, nets in enumerate((mmdblib.NETS, mmdblib.SWAPPED)):
        versions.append(mmdblib.build(os.path.join(d, "v%d.mmdb" % i), nets))
    stop = threading.Event()

    def swapper():
        i = 0
        while not stop.is_set():
            tmp = db + ".swap"
            shutil.copyfile(versions[i % 2], tmp)
            os.rename(tmp, db)
            i += 1
            time.sleep(0.3)

    sw = threading.Thread(target=swapper)
    sw.start()
    try:
        # ECS option (code 8): family 1, source 24, scope 0, 198.51.100.0
        p = subprocess.run(["dnsperf", "-s", t.addr, "-p", str(t.port), "-d", qfile, "-l", "4", "-Q", "3000",
                            "-E", "8:00011800c63364"], capture_output=True, text=True, timeout=60)
    finally:
        stop.set()
        sw.join()
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    import re
    sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
    done = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    assert sent > 1000 and done == sent, out
    assert re.search(r"Response codes:\s+NOERROR %d \(100\.00%%\)" % done, out), out
    assert t.log_text().count("geo database %s: GeoLite2-Country" % db) > 5


def test_check_names_a_bad_database(lab):
    """`ternd --check` opens and checks the database as a new version would be."""
    t, d, db = lab
    p = subprocess.run([TERND, "-c", t.config, "--check"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "geo database %s: ok, GeoLite2-Country" % db in p.stdout
    bad = os.path.join(d, "bad.yaml")
    with open(t.config) as f:
        cfg = f.read().replace(db, os.path.join(d, "corrupt.mmdb"))
    with open(os.path.join(d, "corrupt.mmdb"), "wb") as f:
        f.write(open(db, "rb").read()[:300])
    with open(bad, "w") as f:
        f.write(cfg)
    p = subprocess.run([TERND, "-c", bad, "--check"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "geo database %s: The MaxMind DB file contains invalid metadata" % os.path.join(d, "corrupt.mmdb") \
        in p.stderr, p.stderr
