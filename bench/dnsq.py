#!/usr/bin/python3
"""Small DNS clients for the benchmark (loopback UDP only).

  dnsq.py ports N                         N free ports (UDP and TCP), one per line
  dnsq.py ready PORT ZONE [--any] [--interval S] [--timeout S] [--pid PID]
                                          wait until ZONE's SOA is answered (AA, NOERROR) or, with
                                          --any, until anything answers; print the epoch time then
  dnsq.py replay PORT EXPECT [--count N] [--do]
                                          send the first N queries of EXPECT one at a time, each
                                          after the previous answer (the callgrind replay); --do:
                                          with EDNS and DO=1
  dnsq.py verify PORT EXPECT [--sample N] check a seeded sample of EXPECT's queries against the
                                          expected rcode and answer shape; print one JSON line
"""

import argparse
import json
import random
import socket
import struct
import sys
import time

ADDR = "127.0.0.1"


def soa_query(zone, qid=0x5EED):
    wire = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in zone.strip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\x00" + struct.pack("!HH", 6, 1)


def cmd_ports(a):
    socks, ports = [], []
    while len(ports) < a.n:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((ADDR, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((ADDR, port))
        except OSError:
            t.close()
            continue
        socks += [t, u]
        ports.append(port)
    print("\n".join(map(str, ports)))


def alive(pid):
    if not pid:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmd_ready(a):
    q = soa_query(a.zone)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.interval)
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        if not alive(a.pid):
            print(f"ready: process {a.pid} exited", file=sys.stderr)
            return 1
        try:
            s.sendto(q, (ADDR, a.port))
            while True:
                r = s.recv(65535)
                if len(r) < 12 or r[:2] != q[:2]:
                    continue
                flags, ancount = struct.unpack("!H", r[2:4])[0], struct.unpack("!H", r[6:8])[0]
                if a.any or ((flags & 0x0400) and (flags & 0xF) == 0 and ancount > 0):
                    print("%.6f" % time.time())
                    return 0
                break
        except ConnectionRefusedError:
            pass
        except socket.timeout:
            continue
        time.sleep(a.interval)
    print(f"ready: nothing answered {a.zone} SOA on port {a.port} within {a.timeout} s", file=sys.stderr)
    return 1


def read_expect(path, count=None):
    out = []
    with open(path) as f:
        for line in f:
            name, qtype, rcode, kind = line.split()
            out.append((name, qtype, rcode, kind))
            if count and len(out) >= count:
                break
    return out


def wire_query(name, qtype, qid, do=False):
    import dns.message

    m = dns.message.make_query(name, qtype, want_dnssec=do)
    m.id = qid
    return m.to_wire()


def exchange(s, wire, port, timeout):
    s.sendto(wire, (ADDR, port))
    end = time.time() + timeout
    while True:
        s.settimeout(max(0.001, end - time.time()))
        r = s.recv(65535)
        if r[:2] == wire[:2]:
            return r


def cmd_replay(a):
    queries = [wire_query(n, t, i & 0xFFFF, a.do) for i, (n, t, _, _) in enumerate(read_expect(a.expect, a.count))]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lost = 0
    t0 = time.time()
    for wire in queries:
        try:
            exchange(s, wire, a.port, a.timeout)
        except (socket.timeout, ConnectionRefusedError):
            lost += 1
    print(json.dumps({"sent": len(queries), "lost": lost, "seconds": round(time.time() - t0, 3)}))
    return 0 if lost == 0 else 1


def check(msg, rcode, kind):
    """'' when msg matches the expected outcome, else what is wrong."""
    import dns.flags
    import dns.rcode
    import dns.rdatatype

    got = dns.rcode.to_text(msg.rcode())
    if got != rcode:
        return f"rcode {got}, expected {rcode}"
    aa = bool(msg.flags & dns.flags.AA)
    if kind == "answer" and not (aa and msg.answer):
        return "no authoritative answer"
    if kind in ("nodata", "nxdomain") and (msg.answer or not aa):
        return "expected an empty authoritative answer"
    if kind == "referral":
        if aa or msg.answer or not any(r.rdtype == dns.rdatatype.NS for r in msg.authority):
            return "expected a referral (no AA, NS in authority)"
    return ""


def cmd_verify(a):
    import dns.message

    allq = read_expect(a.expect)
    rng = random.Random(a.seed)
    sample = rng.sample(allq, min(a.sample, len(allq)))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ok, failures = 0, []
    for i, (name, qtype, rcode, kind) in enumerate(sample):
        try:
            msg = dns.message.from_wire(exchange(s, wire_query(name, qtype, i), a.port, a.timeout))
            why = check(msg, rcode, kind)
        except Exception as e:  # a timeout or an unparsable answer is a failure like any other
            why = f"{type(e).__name__}: {e}"
        if why:
            failures.append(f"{name} {qtype}: {why}")
        else:
            ok += 1
    print(json.dumps({"checked": len(sample), "ok": ok, "failures": failures[:10]}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ports")
    p.add_argument("n", type=int)
    p = sub.add_parser("ready")
    p.add_argument("port", type=int)
    p.add_argument("zone")
    p.add_argument("--any", action="store_true")
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--pid", type=int, default=0)
    p = sub.add_parser("replay")
    p.add_argument("port", type=int)
    p.add_argument("expect")
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--do", action="store_true", help="queries with EDNS and DO=1")
    p = sub.add_parser("verify")
    p.add_argument("port", type=int)
    p.add_argument("expect")
    p.add_argument("--sample", type=int, default=200)
    p.add_argument("--seed", type=int, default=6)
    p.add_argument("--timeout", type=float, default=2)
    a = ap.parse_args()
    sys.exit({"ports": cmd_ports, "ready": cmd_ready, "replay": cmd_replay, "verify": cmd_verify}[a.cmd](a))


if __name__ == "__main__":
    main()
