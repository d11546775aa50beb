"""Many small zones (issue 18, small sizes; `make bench-scale` has the big ones): 20,000 zone files
of six records each, all in the configuration. Every zone is served; a SIGHUP after one file changed
reads that file only (the log line counts the files read and those recognised unchanged by their
stamp) and serves it, the file inotify named read first, and a change inotify cannot see (through a
hard link elsewhere) still found by its stamp; a zone named twice is refused by a hash lookup with the line of the first;
the memory per zone stays under a bound set from the benchmark."""
import os
import re
import struct
import subprocess
import time

import pytest

from sysutil import ask_soa_many
from ternlib import TERND, free_port, terminate, wait_log

N = 20000
# PSS per zone, from bench/results/scale.md (about 1,900 bytes a zone in the release build) with
# room to spare; an ASan build's allocator adds red zones to each allocation (about 3,700 measured,
# quarantine off). Before the arena's chunks grew from 1 KiB, a zone took a 64 KiB chunk: 7,900.
BOUND_RELEASE = 2600
BOUND_ASAN = 5000


def zone_name(i):
    return "z%d.scale.test" % i


def zone_text(name, serial=1, www="192.0.2.3"):
    return ("$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster %d 7200 900 1209600 300\n@ NS ns1\n@ NS ns2\n"
            "ns1 A 192.0.2.1\nns2 A 192.0.2.2\nwww A %s\n" % (name, serial, www))


def config_text(port, zones):
    return ('server: {listen: ["127.0.0.1@%d"], udp-workers: 1}\nlog: {level: info}\nzones:\n' % port +
            "".join("  - {name: %s, file: %s}\n" % z for z in zones))


def skip_name(m, at):
    while m[at]:
        if m[at] & 0xC0 == 0xC0:
            return at + 2
        at += m[at] + 1
    return at + 1


def soa_serial(resp):
    """The serial of the first answer record, a SOA, of an authoritative NOERROR answer; else None."""
    try:
        flags, qd, an = struct.unpack("!HHH", resp[2:8])
        if flags & 0x000F or not flags & 0x0400 or an < 1 or qd != 1:
            return None
        at = skip_name(resp, skip_name(resp, 12) + 4)
        if struct.unpack("!H", resp[at:at + 2])[0] != 6:
            return None
        at = skip_name(resp, skip_name(resp, at + 10))
        return struct.unpack("!I", resp[at:at + 4])[0]
    except (IndexError, struct.error):
        return None


def serials(port, names):
    """{name: SOA serial or None}, each name asked up to 3 times."""
    return ask_soa_many(port, names, soa_serial, timeout=1.0)


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


class Server:
    def __init__(self, d, zones):
        self.dir, self.port = d, free_port()
        self.config = os.path.join(d, "ternd.yaml")
        self.log = os.path.join(d, "ternd.log")
        with open(self.config, "w") as f:
            f.write(config_text(self.port, zones))
        self.last = zones[-1][0]

    def start(self, env=None):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([TERND, "-c", self.config], stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.time() + 180
        while serials(self.port, [self.last]).get(self.last) != 1:
            assert self.proc.poll() is None, self.log_text()[-3000:]
            assert time.time() < deadline, "the last zone was never served"
            time.sleep(0.1)
        return self

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        terminate(self.proc, 60)
        self.logf.close()


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("scale"))
    os.makedirs(os.path.join(d, "zones"))
    zones = []
    for i in range(N):
        name = zone_name(i)
        path = os.path.join(d, "zones", name + ".zone")
        with open(path, "w") as f:
            f.write(zone_text(name))
        zones.append((name, path))
    # quarantine off: freed memory is not held back, so PSS is what the zones take
    env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0")
    srv = Server(d, zones)
    time.sleep(2.1)  # the files and the configuration older than ternd's STAMP_SETTLE_S (main.c)
    srv.start(env)
    yield srv, zones, env
    srv.stop()


def test_every_zone_served(many):
    srv, zones, _ = many
    got = serials(srv.port, [n for n, _ in zones])
    missing = [n for n, _ in zones if got.get(n) != 1]
    assert not missing, "%d of %d zones not served, e.g. %s" % (len(missing), N, missing[:5])
    assert "zone files: %d read, 0 unchanged" % N in srv.log_text()


def test_memory_per_zone(many, tmp_path):
    srv, zones, env = many
    time.sleep(1)
    full = pss_kb(srv.proc.pid)
    one = Server(str(tmp_path), zones[:1])  # the same server with one zone: what is not per zone
    one.start(env)
    try:
        base = pss_kb(one.proc.pid)
    finally:
        one.stop()
    per_zone = (full - base) * 1024 / (N - 1)
    bound = BOUND_ASAN if asan(srv.proc.pid) else BOUND_RELEASE
    assert per_zone < bound, "%.0f bytes per zone (PSS %d KiB, %d KiB with one zone)" % (per_zone, full, base)


def test_sighup_reads_only_the_changed_file(many):
    srv, zones, _ = many
    name, path = zones[N // 2]
    with open(path, "w") as f:
        f.write(zone_text(name, serial=2, www="192.0.2.4"))
    srv.proc.send_signal(1)  # SIGHUP
    # inotify named the file, so it was read before the others were looked at
    wait_log(srv.log_text, "zone files: 1 read, %d unchanged (1 named by inotify, read first)" % (N - 1),
             timeout=60)
    assert "configuration file unchanged" in srv.log_text()
    assert serials(srv.port, [name])[name] == 2
    # a new configuration is read again (one more zone): the new zone is read, and so is the file
    # changed above, whose stamp was too fresh to be taken at its word (STAMP_SETTLE_S)
    extra = os.path.join(srv.dir, "zones", "extra.scale.test.zone")
    with open(extra, "w") as f:
        f.write(zone_text("extra.scale.test"))
    with open(srv.config, "w") as f:
        f.write(config_text(srv.port, zones + [("extra.scale.test", extra)]))
    srv.proc.send_signal(1)
    wait_log(srv.log_text, "zone files: 2 read, %d unchanged" % (N - 1), timeout=60)
    got = serials(srv.port, ["extra.scale.test", name, zone_name(0), zone_name(N - 1)])
    assert got == {"extra.scale.test": 1, name: 2, zone_name(0): 1, zone_name(N - 1): 1}


def reload_lines(srv):
    return [line for line in srv.log_text().splitlines() if "zone files:" in line]


def sighup_and_wait(srv):
    """SIGHUP, then the reload's "zone files:" line."""
    before = len(reload_lines(srv))
    srv.proc.send_signal(1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = reload_lines(srv)
        if len(lines) > before:
            return lines[before]
        time.sleep(0.05)
    raise AssertionError("no reload line after SIGHUP:\n" + srv.log_text()[-2000:])


def test_change_inotify_cannot_see_is_found_by_stamp(many):
    """inotify watches the zone files' directory: a write through a hard link in another directory
    is not told, and the full round of stats still finds it."""
    srv, zones, _ = many
    name, path = zones[7]
    elsewhere = os.path.join(srv.dir, "elsewhere")
    os.makedirs(elsewhere, exist_ok=True)
    link = os.path.join(elsewhere, name + ".zone")
    os.link(path, link)
    sighup_and_wait(srv)  # whatever the link itself changed (its ctime) is read here
    time.sleep(2.1)  # the stamp settled (STAMP_SETTLE_S), so only a real change is read again
    sighup_and_wait(srv)
    with open(link, "w") as f:  # the same file, written through the other directory
        f.write(zone_text(name, serial=5, www="192.0.2.5"))
    line = sighup_and_wait(srv)
    # (the configuration has one zone more since the test above)
    assert re.search(r"zone files: 1 read, \d+ unchanged \(0 named by inotify, read first\)", line), line
    assert serials(srv.port, [name])[name] == 5


def test_duplicate_zone_named_with_its_first_line(many, tmp_path):
    _, zones, _ = many
    dup = zones[12345]
    config = tmp_path / "dup.yaml"
    config.write_text(config_text(free_port(), zones + [dup]))
    p = subprocess.run([TERND, "--check", "-c", str(config)], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0
    # line 1 server, 2 log, 3 "zones:", then one zone a line: zones[i] is on line 4 + i
    assert "%s:%d: zones[%d]: duplicate zone %s (first at line %d)" % (
        config, 4 + N, N, dup[0], 4 + 12345) in p.stderr, p.stderr[-2000:]
