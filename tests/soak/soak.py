#!/usr/bin/python3
"""Soak: ternd under dnsperf load for a bounded time while its zone changes every second.

Every second the zone gets a new serial and a new value for ver.soak.test TXT (= the serial) and
ternd reloads it (SIGHUP; the API takes this role once it exists). Meanwhile dnsperf keeps a steady
load and a checker asks for ver TXT and the SOA serial every 50 ms: the value served must never go
backwards. Reports errors (must be 0), answers checked, RSS after warm-up and at the end (growth
must stay under 5%) and open file descriptors (no leak). Exit status 1 when a bound is broken."""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402

from ternlib import TERND, free_port, wait_udp  # noqa: E402

NAMES = 10000


def write_zone(path, serial):
    lines = ["$ORIGIN soak.test.", "$TTL 300",
             "@ SOA ns.soak.test. admin.soak.test. %d 3600 600 86400 60" % serial,
             "@ NS ns", "ns A 127.0.0.1", 'ver TXT "%d"' % serial, "*.wild A 192.0.2.7"]
    lines += ["h%d A 10.%d.%d.%d" % (i, i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(NAMES)]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, path)  # ternd never reads a half-written file


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Checker(threading.Thread):
    """Asks ver TXT and SOA every 50 ms; the serial served must never go backwards."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.checked, self.errors = port, threading.Event(), 0, []
        self.last = 0

    def run(self):
        while not self.stop.is_set():
            for qtype in ("TXT", "SOA"):
                name = "ver.soak.test." if qtype == "TXT" else "soak.test."
                try:
                    r = dns.query.udp(dns.message.make_query(name, qtype), "127.0.0.1", port=self.port, timeout=2)
                except Exception as e:  # a lost answer under load is an error too
                    self.errors.append("%s %s: %s" % (name, qtype, e))
                    continue
                if r.rcode() != dns.rcode.NOERROR or not r.answer:
                    self.errors.append("%s %s: rcode %s" % (name, qtype, dns.rcode.to_text(r.rcode())))
                    continue
                rd = r.answer[0][0]
                serial = int(rd.strings[0]) if qtype == "TXT" else rd.serial
                if serial < self.last:
                    self.errors.append("serial went back from %d to %d" % (self.last, serial))
                self.last = max(self.last, serial)
                self.checked += 1
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--qps", type=int, default=20000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tern-soak-")
    zone, conf, qfile = (os.path.join(work, n) for n in ("soak.test.zone", "ternd.yaml", "queries.txt"))
    port, serial = free_port(), 1
    write_zone(zone, serial)
    with open(conf, "w") as f:
        f.write('server:\n  listen: ["127.0.0.1@%d"]\n  udp-workers: 1\nlog:\n  level: warning\n'
                'zones:\n  - name: soak.test\n    file: %s\n' % (port, zone))
    with open(qfile, "w") as f:
        for i in range(0, NAMES, 7):
            f.write("h%d.soak.test A\nmissing%d.soak.test A\nx%d.wild.soak.test A\nsoak.test SOA\n" % (i, i, i))
    log = open(os.path.join(work, "ternd.log"), "w")
    proc = subprocess.Popen([TERND, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    wait_udp("127.0.0.1", port, proc=proc)
    perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.seconds),
                             "-Q", str(args.qps), "-c", "4", "-q", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checker = Checker(port)
    checker.start()
    start, warm = time.time(), None
    rss_start = fds_start = None
    while perf.poll() is None:
        time.sleep(1)
        serial += 1
        write_zone(zone, serial)
        proc.send_signal(signal.SIGHUP)
        if rss_start is None and time.time() - start >= min(10, args.seconds / 4):
            rss_start, fds_start, warm = rss_kib(proc.pid), fds(proc.pid), time.time()
    out = perf.communicate()[0]
    checker.stop.set()
    checker.join()
    rss_end, fds_end = rss_kib(proc.pid), fds(proc.pid)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    log.close()

    sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    rcodes = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+) \(", out.split("Response codes:")[1].split("\n")[0]))
    bad = sum(v for k, v in rcodes.items() if k not in ("NOERROR", "NXDOMAIN"))
    growth = (rss_end - rss_start) * 100.0 / rss_start
    print("soak: %d s, %d zone changes, dnsperf sent %d completed %d lost %d, rcodes %s" %
          (args.seconds, serial - 1, sent, completed, lost, rcodes))
    print("soak: checker answers %d, errors %d; last serial seen %d" % (checker.checked, len(checker.errors), checker.last))
    print("soak: RSS %d KiB after warm-up -> %d KiB at end (%+.2f%%); fds %d -> %d; exit code %d" %
          (rss_start, rss_end, growth, fds_start, fds_end, code))
    for e in checker.errors[:10]:
        print("  error:", e)
    failed = lost or bad or checker.errors or growth >= 5.0 or fds_end != fds_start or code != 0 or not checker.checked
    print("soak: %s (work dir %s)" % ("FAILED" if failed else "ok", work))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
