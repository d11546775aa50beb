"""A PoP switches zone versions atomically: polled every millisecond by bench/poll.c (dnspoll)
through 100 rapid API changes on its primary, a ternd PoP never answers with data older than data
it already served and never pairs new records with an older SOA serial. An NSD secondary of the
same primary is polled alongside for contrast (reported, not judged)."""
import os
import random
import select
import shutil
import subprocess
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

import ternlib
from apilib import finish, keys  # noqa: F401 (keys is a fixture)
from nsdlib import NSD, Nsd, nsd_available
from ternlib import Ternd, free_port
from xfrlib import ScriptedServer, api_primary, wait_serial

POLL_C = os.path.join(ternlib.ROOT, "bench", "poll.c")
ZONE = "atomic.test"
CHANGES = 100


@pytest.fixture(scope="module")
def dnspoll(tmp_path_factory):
    """The poller: $DNSPOLL, else the one meson built beside $TERND, else bench/poll.c compiled
    here with cc."""
    for path in (os.environ.get("DNSPOLL"), os.path.join(os.path.dirname(ternlib.TERND), "dnspoll")):
        if path and os.access(path, os.X_OK):
            return path
    cc = shutil.which("cc")
    if not cc:
        pytest.skip("no dnspoll binary beside %s and no C compiler to build bench/poll.c" % ternlib.TERND)
    out = str(tmp_path_factory.mktemp("dnspoll") / "dnspoll")
    subprocess.run([cc, "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", out, POLL_C], check=True)
    return out


class Poller:
    """dnspoll in atomicity mode against servers ("addr@port"): SOA of zone, then name A, every ms."""

    def __init__(self, binary, zone, name, servers):
        self.proc = subprocess.Popen([binary, "-a", zone, "-n", name, "-t", "A"] + list(servers),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        ready, _, _ = select.select([self.proc.stdout], [], [], 5)
        line = self.proc.stdout.readline() if ready else ""
        assert line == "ready\n", "dnspoll did not start: %r %s" % (line, self.proc.stderr.read())

    def map(self, value, serial):
        self.proc.stdin.write("map %s %d\n" % (value, serial))

    def finish(self):
        """Ends the run; returns (exit code, {server index: summary dict}, [violation lines], stats)."""
        out, err = self.proc.communicate("quit\n", timeout=30)
        assert self.proc.returncode in (0, 1), "dnspoll failed (%s): %s" % (self.proc.returncode, err)
        summaries, violations, stats = {}, [], {}
        for line in out.splitlines():
            kind, rest = line.split(" ", 1)
            if kind == "summary":
                idx, fields = rest.split(" ", 1)
                summaries[int(idx)] = dict(f.split("=", 1) for f in fields.split())
            elif kind == "violation":
                violations.append(rest)
            elif kind == "stats":
                idx, fields = rest.split(" ", 1)
                stats[int(idx)] = {k: int(v) for k, v in (f.split("=", 1) for f in fields.split())}
        return self.proc.returncode, summaries, violations, stats

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Pop(Ternd):
    """ternd serving zone as a secondary of primary ("addr@port")."""

    def __init__(self, zone, primary_addr, workdir, port=None):
        os.makedirs(workdir, exist_ok=True)
        self.secondary = (zone, primary_addr)
        super().__init__({}, workdir=workdir, port=port)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write("  - name: \"%s\"\n    primary: [\"%s\"]\n" % self.secondary)


def value(i):
    return "10.0.%d.%d" % (i // 256, i % 256)


def zone_rrsets():
    return [{"name": "ns1", "type": "A", "ttl": 300, "records": ["127.0.0.1"]},
            {"name": "www", "type": "A", "ttl": 300, "records": [value(0)]}] + \
           [{"name": "h%d" % i, "type": "A", "ttl": 300, "records": ["10.1.%d.%d" % (i // 256, i % 256)]}
            for i in range(300)]


def test_pop_never_serves_older_data_or_mixed_versions(tmp_path, keys, dnspoll):  # noqa: F811
    pop_port, nsd_port = free_port(), free_port()
    have_nsd = nsd_available()
    notify = ["127.0.0.1@%d" % pop_port] + (["127.0.0.1@%d" % nsd_port] if have_nsd else [])
    t, api = api_primary(keys, tmp_path / "primary", notify, ZONE, zone_rrsets())
    pop = Pop(ZONE, "127.0.0.1@%d" % t.port, str(tmp_path / "pop"), port=pop_port)
    nsd = Nsd(tmp_path / "nsd", ZONE, t.port, port=nsd_port) if have_nsd else None
    poller = None
    try:
        pop.start()
        if nsd:
            nsd.start()
        s0 = api.serial(ZONE)
        for srv in [pop] + ([nsd] if nsd else []):
            wait_serial(srv.addr, srv.port, ZONE, s0, log=srv.log_text)
        servers = ["127.0.0.1@%d" % pop.port] + (["127.0.0.1@%d" % nsd.port] if nsd else [])
        poller = Poller(dnspoll, ZONE, "www." + ZONE, servers)
        poller.map(value(0), s0)
        rng = random.Random(42)
        serials = [s0]
        for i in range(1, CHANGES + 1):
            r = api.put("/api/v1/zones/%s/rrsets/www/A" % ZONE, {"ttl": 300, "records": [value(i)]})
            assert r.status == 200, r
            serials.append(r.json["serial"])
            poller.map(value(i), serials[-1])
            time.sleep(rng.uniform(0, 0.01))
        assert all(b == a + 1 for a, b in zip(serials, serials[1:])), "serials do not rise by one: %s" % serials
        wait_serial(pop.addr, pop.port, ZONE, serials[-1], log=pop.log_text)
        nsd_done = True
        if nsd:
            try:
                wait_serial(nsd.addr, nsd.port, ZONE, serials[-1], timeout=10)
            except AssertionError:
                nsd_done = False
        time.sleep(0.05)  # a few more rounds on the final version
        rc, summaries, violations, stats = poller.finish()
        poller = None

        # the PoP: every answer usable, many versions seen, none out of order
        s = summaries[0]
        pop_violations = [v for v in violations if v.startswith("0 ")]
        assert pop_violations == [] and s["violations"] == "0", "the PoP broke atomicity:\n" + "\n".join(pop_violations)
        assert stats[0]["answers"] >= 0.95 * stats[0]["sent"], stats[0]
        assert s["bad"] == "0", s
        assert int(s["last_serial"]) == serials[-1], s
        assert int(s["distinct_serials"]) >= 10, "too few versions seen to judge: %s" % s
        assert int(s["distinct_values"]) >= 10, s

        print("\nternd PoP: %s answers, %s versions seen, no violation" % (stats[0]["answers"], s["distinct_serials"]))
        # NSD: reported only (its reload forks a new server process beside the old one)
        if nsd:
            n = summaries[1]
            print("%s secondary: %s violations in %s answers (%s versions seen)%s; first ones:\n%s" % (
                subprocess.run([NSD, "-v"], capture_output=True, text=True).stderr.split("\n")[0],
                n["violations"], n["answers"], n["distinct_serials"],
                "" if nsd_done else ", did not reach the final serial within 10 s",
                "\n".join(v for v in violations if v.startswith("1 ")) or "none"))
        assert rc == (1 if any(x["violations"] != "0" for x in summaries.values()) else 0)
    finally:
        if poller:
            poller.kill()
        if nsd:
            nsd.stop()
        pop.stop()
        finish(t)


class TwoVersions(ScriptedServer):
    """A DNS server that answers from two zone versions at random, as two server processes
    reading one socket would: the poller must call that out."""

    def __init__(self):
        self.versions = [(1, value(1)), (2, value(2))]
        self.rng = random.Random(3)
        super().__init__()

    def on_udp(self, data, peer):
        q = dns.message.from_wire(data)
        serial, addr = self.versions[self.rng.randrange(2)]
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        name = q.question[0].name
        if q.question[0].rdtype == dns.rdatatype.SOA:
            r.answer.append(dns.rrset.from_text(name, 60, "IN", "SOA", "ns. hm. %d 1 1 1 1" % serial))
        else:
            r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", addr))
        self.udp.sendto(r.to_wire(), peer)


def test_poller_calls_out_a_server_mixing_versions(dnspoll):
    """The check above can fail: a server answering from two versions at random is caught."""
    srv = TwoVersions()
    p = Poller(dnspoll, ZONE, "www." + ZONE, ["127.0.0.1@%d" % srv.port])
    try:
        p.map(value(1), 1)
        p.map(value(2), 2)
        time.sleep(0.3)
        rc, summaries, violations, _ = p.finish()
    finally:
        p.kill()
        srv.stop()
    assert rc == 1 and int(summaries[0]["violations"]) > 10, summaries
    assert any("SOA serial 1 after" in v for v in violations), violations
    assert any("replaced at 2" in v for v in violations), violations
