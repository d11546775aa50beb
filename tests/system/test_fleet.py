"""A fleet (issue 18): a primary ternd with 1,000 API zones in its catalog and 5 ternd PoPs consuming
it (each a secondary of the catalog alone, NOTIFY'd by the primary). Every PoP serves every zone from
empty; then a burst of changes with one PoP frozen (SIGSTOP): the other four serve every change at
once, since NOTIFY fan-out is UDP sent to every target without waiting for any answer and each PoP
pulls on its own, and the frozen one catches up after SIGCONT.

What a PoP that held the rest would cost: the primary retries an unanswered NOTIFY every second
(ns/notify.c NOTIFY_INTERVAL_MS, 10 tries), and a PoP's pull from its primary gives up after its
timeouts (seconds); a fan-out waiting on the frozen PoP would add at least a second per change, so
the burst's BURST changes would take BURST seconds or more. The bound below is a small fraction of it."""
import os
import random
import select
import signal
import socket
import struct
import threading
import time

import dns.message
import dns.name
import pytest

from apilib import SANITIZER_MARKERS, ApiTernd, keys  # noqa: F401 (keys is a fixture)
from ternlib import Ternd, free_port

CAT = "catalog.tern."
ZONES = 1000
POPS = 5
BURST = 100
CONVERGE_S = 75.0  # every PoP serves every zone from empty (ASan build, 2 shared cores: generous)
BURST_LAST_S = 8.0  # the last change of the burst served by the 4 running PoPs, after the last write
# API write -> served by the 4 running PoPs, median: far below a fan-out serialised on the frozen
# PoP (SERIALISED_S / BURST = 1 s a change, each after the one before). Not a speed target (those
# live in bench-fleet: median 0.03 s there); under a loaded CI (ASan, three test files at once,
# this test's watcher sharing the interpreter with its writer) runs saw 0.65 and 2.06 s
CHANGE_MEDIAN_S = 3.0
COPY_GATHER_S = 0.5  # xfrin_copies.c COPIES_GATHER_MS
SERIALISED_S = BURST * 1.0  # what a fan-out waiting one NOTIFY retry on the frozen PoP would take

_started = []


@pytest.fixture(autouse=True)
def _stop_leftovers():
    yield
    problems = []
    while _started:
        srv = _started.pop()
        if srv.proc is not None and srv.proc.poll() is None:
            srv.proc.send_signal(signal.SIGCONT)
        rc = srv.stop()
        text = srv.log_text() if os.path.exists(srv.log) else ""
        if rc not in (0, None) or any(m in text for m in SANITIZER_MARKERS):
            problems.append("ternd in %s exited with %s:\n%s" % (srv.dir, rc, text[-3000:]))
    assert not problems, "\n".join(problems)


class FleetPop(Ternd):
    """A PoP: the catalog CAT as a secondary zone with `catalog: true`, from the primary at primary_port."""

    def __init__(self, workdir, primary_port, **kw):
        os.makedirs(str(workdir), exist_ok=True)
        self.primary_port = primary_port
        super().__init__({}, workdir=str(workdir), **kw)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write("  - name: \"%s\"\n    primary: [\"127.0.0.1@%d\"]\n    catalog: true\n" % (CAT, self.primary_port))


def zone_name(i):
    return "z%04d.fleet.test." % i


def soa_query(qid, name):
    q = dns.message.make_query(name, "SOA")
    q.id = qid
    return q.to_wire()


def soa_serial(wire):
    """The serial of the answer's SOA, or None (not served, or no answer)."""
    try:
        m = dns.message.from_wire(wire)
    except Exception:
        return None
    for rrset in m.answer:
        for rd in rrset:
            if rd.rdtype == 6:
                return rd.serial
    return None


def serials(asks, timeout=0.2, window=200):
    """{index: (serial or None, monotonic time the answer came)} for each (port, zone) of asks
    answered within timeout, over one UDP socket, window in flight. The time is the answer's own,
    not the round's end: a round waiting for one lost answer must not make the others look late."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = {}
    try:
        for start in range(0, len(asks), window):
            want = {}
            for i in range(start, min(len(asks), start + window)):
                port, zone = asks[i]
                s.sendto(soa_query(i & 0xFFFF, zone), ("127.0.0.1", port))
                want[i & 0xFFFF] = i
            deadline = time.monotonic() + timeout
            while want:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                wire = s.recv(65535)
                i = want.pop(struct.unpack("!H", wire[:2])[0], None)
                if i is not None:
                    got[i] = (soa_serial(wire), time.monotonic())
    finally:
        s.close()
    return got


def wait_all(pending, timeout):
    """pending: {(port, zone): serial wanted}; polls until each is served at that serial or later.
    Returns {(port, zone): monotonic time first seen}; fails naming what is missing after timeout."""
    done = {}
    deadline = time.monotonic() + timeout
    while True:
        todo = [k for k in pending if k not in done]
        if not todo:
            return done
        got = serials(todo)
        now = time.monotonic()
        for i, k in enumerate(todo):
            s, at = got.get(i, (None, None))
            if s is not None and (s - pending[k]) % 2**32 < 2**31:
                done[k] = at
        if len(done) == len(pending):
            return done
        missing = [k for k in pending if k not in done]
        assert now < deadline, "%d of %d not served within %.0f s, e.g. %s" % (
            len(missing), len(pending), timeout, missing[:5])
        time.sleep(0.02)


class Watcher:
    """Polls {(port, zone, serial)} from its own thread while changes are sent; wait() returns
    {(port, zone, serial): monotonic time first served at that serial or later}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending, self.done = {}, {}
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def want(self, keys):
        with self.lock:
            self.pending.update(keys)

    def run(self):
        while not self.stop:
            with self.lock:
                todo = [k for k in self.pending if k not in self.done]
            got = serials([(port, zone) for port, zone, _s in todo]) if todo else {}
            with self.lock:
                for i, k in enumerate(todo):
                    s, at = got.get(i, (None, None))
                    if s is not None and (s - k[2]) % 2**32 < 2**31:
                        self.done[k] = at
            time.sleep(0.005)

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        try:
            while True:
                with self.lock:
                    missing = [k for k in self.pending if k not in self.done]
                    if not missing:
                        return dict(self.done)
                assert time.monotonic() < deadline, "%d of %d changes not served within %.0f s, e.g. %s" % (
                    len(missing), len(self.pending), timeout, missing[:5])
                time.sleep(0.02)
        finally:
            self.stop = True
            self.thread.join()


def thread_nice(pid, name):
    """The nice value of pid's thread called name (/proc: comm, and field 19 of stat)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() != name:
                continue
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            return int(f.read().rsplit(")", 1)[1].split()[16])
    raise AssertionError("no thread %s in %d" % (name, pid))


def primary_serial(port, zone):
    return serials([(port, zone)], timeout=2)[0][0]


def test_fleet_converges_and_a_frozen_pop_holds_no_one(keys, tmp_path):
    pop_ports = [free_port() for _ in range(POPS)]
    (tmp_path / "primary").mkdir()
    p = ApiTernd(keys, workdir=str(tmp_path / "primary"))
    with open(p.config, "a") as f:
        f.write("catalog:\n  zone: %s\ntransfer:\n  allow: [127.0.0.0/8]\n  notify: [%s]\n" % (
            CAT, ", ".join("\"127.0.0.1@%d\"" % port for port in pop_ports)))
    _started.append(p)
    p.start()
    api = p.api(keys.token("t1"))
    names = [zone_name(i) for i in range(ZONES)]
    t0 = time.monotonic()
    for name in names:
        api.create_zone(name, rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    first = {name: primary_serial(p.port, name) for name in (names[0], names[-1])}
    assert None not in first.values()
    print("%d API zones created in %.1f s" % (ZONES, time.monotonic() - t0))

    # phase 1: five empty PoPs; every one serves every zone
    t0 = time.monotonic()
    pops = []
    for i, port in enumerate(pop_ports):
        pops.append(FleetPop(tmp_path / ("pop%d" % i), p.port, port=port))
        _started.append(pops[-1])
        pops[-1].start()
    want = {(pop.port, name): first.get(name, 0) for pop in pops for name in names}
    done = wait_all(want, CONVERGE_S)
    took = max(done.values()) - t0
    print("fleet of %d PoPs: %d zones served by every one in %.2f s" % (POPS, ZONES, took))

    # the disk copies yield the CPU to answering and pulling (xfrin_copies.c COPIES_NICE)
    assert thread_nice(pops[0].proc.pid, "ternd-copies") == 19
    assert thread_nice(pops[0].proc.pid, "ternd-xfrin") == 0

    # phase 2: a burst of changes to random zones with the last PoP frozen, watched as it goes
    frozen, running = pops[-1], pops[:-1]
    time.sleep(COPY_GATHER_S * 2)  # phase 1's disk copies written: the burst's batches counted alone
    logged = [len(pop.log_text()) for pop in running]
    frozen.proc.send_signal(signal.SIGSTOP)
    rng = random.Random(18)
    watch = Watcher()
    sent = []  # (zone, serial, monotonic time of the write)
    for n in range(BURST):
        zone = names[rng.randrange(ZONES)]
        at = time.monotonic()
        api.put_rrset(zone, "www", "A", 300, ["198.51.100.%d" % (n % 250 + 1)])
        serial = primary_serial(p.port, zone)
        sent.append((zone, serial, at))
        watch.want({(pop.port, zone, serial): None for pop in running})
    burst_end = time.monotonic()
    done = watch.wait(SERIALISED_S / 2)
    last = max(done.values()) - burst_end
    per_change = sorted(max(done[(pop.port, zone, serial)] for pop in running) - at for zone, serial, at in sent)
    median, worst = per_change[BURST // 2], per_change[-1]
    print("burst of %d changes, 1 of %d PoPs frozen: per change median %.0f ms, max %.0f ms; "
          "last served %.2f s after the last write" % (BURST, POPS, median * 1000, worst * 1000, last))
    assert last < BURST_LAST_S, "the running PoPs took %.1f s after the burst (serialised: >= %.0f s)" % (
        last, SERIALISED_S)
    assert median < CHANGE_MEDIAN_S, "a change took %.2f s (median) to reach the running PoPs" % median
    # the burst's disk copies share syncs: batches at least COPY_GATHER_S apart, not one sync (of
    # the whole file system, which the primary's journal waits behind) per change
    changed = len({zone for zone, _s, _a in sent})

    def batches_of(pop, at):
        return [int(line.split("disk copies: ")[1].split()[0]) for line in pop.log_text()[at:].splitlines()
                if "disk copies: " in line]

    # a copy is due up to a second after its transfer; the copy thread runs at nice 19, so on a
    # loaded machine it may come later still: waited for, up to 30 s
    time.sleep(COPY_GATHER_S * 2 + 1.2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(sum(batches_of(pop, at)) < changed - 1
                                              for pop, at in zip(running, logged)):
        time.sleep(0.2)
    span = time.monotonic() - sent[0][2]
    for pop, at in zip(running, logged):
        batches = batches_of(pop, at)
        assert sum(batches) >= changed - 1, batches  # every zone changed
        assert len(batches) <= span / COPY_GATHER_S + 2, "%d batches in %.1f s: %s" % (len(batches), span, batches)
    # the frozen PoP served none of it meanwhile, and catches up once it runs again
    frozen.proc.send_signal(signal.SIGCONT)
    want = {(frozen.port, zone): serial for zone, serial, _at in sent}
    wait_all(want, 30)
    api.close()

