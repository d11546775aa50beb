#!/usr/bin/python3
"""Soak: ternd under dnsperf load for a bounded time while its zones change every second.

Every second the zone file of soak.test gets a new serial and a new value for ver.soak.test TXT
(= the serial) and ternd reloads it (SIGHUP), and the API zone api.test gets a new ver TXT through
the HTTP API (PUT, which also raises its serial). Meanwhile dnsperf keeps a steady load and a
checker asks for both ver TXT and SOA records every 50 ms: no value served may go backwards.
Reports errors (must be 0), answers checked, RSS after warm-up and at the end (growth must stay
under 5%) and open file descriptors (no leak). Exit status 1 when a bound is broken."""
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import devtoken  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402

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
        self.last = {}

    def run(self):
        while not self.stop.is_set():
            for zone, qtype in (("soak.test.", "TXT"), ("soak.test.", "SOA"), ("api.test.", "TXT"), ("api.test.", "SOA")):
                name = "ver." + zone if qtype == "TXT" else zone
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
                last = self.last.get((zone, qtype), 0)
                if serial < last:
                    self.errors.append("%s %s went back from %d to %d" % (zone, qtype, last, serial))
                self.last[(zone, qtype)] = max(last, serial)
                self.checked += 1
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--qps", type=int, default=20000)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tern-soak-")
    zone, conf, qfile = (os.path.join(work, n) for n in ("soak.test.zone", "ternd.yaml", "queries.txt"))
    port, aport, serial = free_port(), free_port(), 1
    write_zone(zone, serial)
    key, jwks = devtoken.ensure_keys(os.path.join(work, "keys"))
    token = devtoken.token(key, "soak", hours=48)
    with open(conf, "w") as f:
        f.write('server:\n  listen: ["127.0.0.1@%d"]\n  udp-workers: 1\nlog:\n  level: warning\n'
                'zones:\n  - name: soak.test\n    file: %s\n'
                'api:\n  listen: 127.0.0.1@%d\n  data-dir: %s\n  jwks: %s\n  nameservers: [ns.api.test.]\n'
                '  rate-limit: 0\n  serial-policy: increment\n'
                % (port, zone, aport, os.path.join(work, "data"), jwks))
    api = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)

    def call(method, path, body):
        api.request(method, path, json.dumps(body), {"Authorization": "Bearer " + token})
        r = api.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("API %s %s: %d %s" % (method, path, r.status, data[:200]))
        return json.loads(data)
    with open(qfile, "w") as f:
        for i in range(0, NAMES, 7):
            f.write("h%d.soak.test A\nmissing%d.soak.test A\nx%d.wild.soak.test A\nsoak.test SOA\n" % (i, i, i))
    log = open(os.path.join(work, "ternd.log"), "w")
    proc = subprocess.Popen([TERND, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    wait_udp("127.0.0.1", port, proc=proc)
    call("POST", "/api/v1/zones", {"name": "api.test", "rrsets": [
        {"name": "ver", "type": "TXT", "ttl": 300, "records": ['"0"']},
        {"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}]})
    api_changes = api_errors = 0
    perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile, "-l", str(args.seconds),
                             "-Q", str(args.qps), "-c", "4", "-q", "200"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    checker = Checker(port)
    checker.start()
    start, warm = time.time(), None
    rss_start = fds_start = None
    rss_trend = []
    while perf.poll() is None:
        time.sleep(1)
        serial += 1
        write_zone(zone, serial)
        proc.send_signal(signal.SIGHUP)
        try:
            call("PUT", "/api/v1/zones/api.test/rrsets/ver/TXT", {"ttl": 300, "records": ['"%d"' % serial]})
            api_changes += 1
        except Exception as e:  # an API failure under load is an error too
            api_errors += 1
            checker.errors.append("API change %d: %s" % (serial, e))
            api = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)
        if rss_start is None and time.time() - start >= min(10, args.seconds / 4):
            rss_start, fds_start, warm = rss_kib(proc.pid), fds(proc.pid), time.time()
        if warm is not None and time.time() - warm >= 60 * (len(rss_trend) + 1):
            rss_trend.append(rss_kib(proc.pid))  # a plateau is a cache filling; a slope is a leak
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
    print("soak: %d s, %d zone file reloads, %d API changes (%d failed), dnsperf sent %d completed %d lost %d, rcodes %s" %
          (args.seconds, serial - 1, api_changes, api_errors, sent, completed, lost, rcodes))
    print("soak: checker answers %d, errors %d; last values seen %s" %
          (checker.checked, len(checker.errors), {"%s %s" % k: v for k, v in checker.last.items()}))
    print("soak: RSS %d KiB after warm-up -> %d KiB at end (%+.2f%%); fds %d -> %d; exit code %d" %
          (rss_start, rss_end, growth, fds_start, fds_end, code))
    if rss_trend:
        print("soak: RSS each minute after warm-up (KiB): %s" % " ".join(str(r) for r in rss_trend))
    for e in checker.errors[:10]:
        print("  error:", e)
    failed = (lost or bad or checker.errors or growth >= 5.0 or fds_end != fds_start or code != 0 or not checker.checked
              or not api_changes)
    print("soak: %s (work dir %s)" % ("FAILED" if failed else "ok", work))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
