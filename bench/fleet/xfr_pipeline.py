#!/usr/bin/python3
"""The primary's CPU (utime + stime from /proc) to serve N AXFRs of small zones (SOA, 2 NS, 3 A, as
bench-fleet's) on one TCP connection: pipelined (every question sent at once, the answers read as
they stream back, as a PoP pulling its zones does) or one at a time. Issue 18's primary side.

    bench/fleet/xfr_pipeline.py --ternd build/ternd [--zones 10000] [--mode pipe|one] [--runs 3]
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time


def write_config(work, zones):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lines = ["server:", "  listen:", '    - "127.0.0.1@%d"' % port, "zones:"]
    for i in range(zones):
        z = "z%d.bench.test" % i
        path = os.path.join(work, "%d.zone" % i)
        with open(path, "w") as f:
            f.write("$ORIGIN %s.\n$TTL 300\n@ SOA ns1 hm 1 3600 600 86400 60\n@ NS ns1\n@ NS ns2\n"
                    "ns1 A 192.0.2.1\nns2 A 192.0.2.2\nwww A 198.51.100.1\n" % z)
        lines += ['  - name: "%s"' % z, '    file: "%s"' % path]
    lines += ["transfer:", "  allow: [127.0.0.0/8]"]
    with open(os.path.join(work, "ternd.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return port


def axfr(i):
    name = b"".join(bytes([len(label)]) + label for label in ("z%d.bench.test" % i).encode().split(b".")) + b"\0"
    m = struct.pack("!HHHHHH", i & 0xFFFF, 0, 1, 0, 0, 0) + name + struct.pack("!HH", 252, 1)
    return struct.pack("!H", len(m)) + m


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(ternd, work, port, zones, mode):
    with open(os.path.join(work, "ternd.log"), "w") as log:
        proc = subprocess.Popen([ternd, "-c", os.path.join(work, "ternd.yaml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                time.sleep(0.1)
        f = s.makefile("rb", buffering=1 << 20)

        def answer(i):
            (n,) = struct.unpack("!H", f.read(2))
            m = f.read(n)
            assert struct.unpack("!H", m[:2])[0] == i & 0xFFFF, "answer %d out of order" % i
            return m[3] & 15

        while True:  # every zone loaded: the last one is served
            s.sendall(axfr(zones - 1))
            if answer(zones - 1) == 0:
                break
            time.sleep(0.2)
        c0, t0 = cpu_seconds(proc.pid), time.time()
        if mode == "pipe":
            w = threading.Thread(target=s.sendall, args=(b"".join(axfr(i) for i in range(zones)),))
            w.start()
            for i in range(zones):
                assert answer(i) == 0
            w.join()
        else:
            for i in range(zones):
                s.sendall(axfr(i))
                assert answer(i) == 0
        return cpu_seconds(proc.pid) - c0, time.time() - t0
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--zones", type=int, default=10000)
    ap.add_argument("--mode", choices=["pipe", "one"], default="pipe")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tern-bench-xfr-")
    try:
        port = write_config(work, a.zones)
        for _ in range(a.runs):
            cpu, wall = run(os.path.abspath(a.ternd), work, port, a.zones, a.mode)
            print("%s, %d AXFRs %s: primary CPU %.2f s, wall %.2f s" % (
                a.ternd, a.zones, "pipelined" if a.mode == "pipe" else "one at a time", cpu, wall))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
