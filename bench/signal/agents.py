#!/usr/bin/python3
"""The processes of bench-signal's lab that watch a DNS server and call birdc (through birdclog,
which logs the moment of each call): one subcommand each.

  finepoll  the reference clock: asks NAME SOA every millisecond and logs "up T" at the first
            NOERROR answer with records after none, "down T" at the first refusal, error rcode or
            100 ms of silence after answers (T: CLOCK_MONOTONIC ns of the answer or the error)
  poll1s    the ExaBGP healthcheck pattern: asks NAME SOA once a second (0.5 s timeout) and calls
            birdc enable/disable when the answer changes from good to bad or back (rise = fall = 1)
  dbus      reads dbus-monitor: ternd's org.tern.ternd.conditions.condition (enable on
            all-zones-ready set; disable on all-zones-ready clear, shutting-down set and running
            clear) and the
            name org.tern.ternd losing its owner (the process gone), Knot's cz.nic.knotd.events
            started and stopped
Each agent calls birdc only when the action differs from its last one (the protocol starts
disabled), and never waits for it. The MQTT row's agent is dist/tern-anycast-agent itself."""
import argparse
import errno
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time


class Birdc:
    """Calls birdclog -s SOCKET ACTION PROTOCOL as CHANNEL when the action changes."""

    def __init__(self, birdclog, sock, proto, channel, log):
        self.argv = [birdclog, "-s", sock]
        self.proto = proto
        self.env = dict(os.environ, BENCH_SIGNAL_CHANNEL=channel, BENCH_SIGNAL_LOG=log)
        self.last = "disable"
        self.children = []

    def act(self, action):
        if action == self.last:
            return
        self.last = action
        self.children.append(subprocess.Popen(self.argv + [action, self.proto], env=self.env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.children = [c for c in self.children if c.poll() is None]


def soa_query(name, qid):
    wire = b"".join(bytes([len(label)]) + label.encode() for label in name.strip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack("!HH", 6, 1)


def good(msg):
    """A NOERROR answer with records."""
    return len(msg) >= 12 and msg[3] & 0x0F == 0 and struct.unpack("!H", msg[6:8])[0] > 0


def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    return s


def finepoll(a):
    out = open(a.out, "a", buffering=1)
    s = udp(a.port)
    s.setblocking(False)
    up, last_good, qid = False, 0, 0
    step = a.interval_us * 1000
    tick = time.monotonic_ns()

    def mark(state, t):
        nonlocal up
        if state != up:
            up = state
            out.write("%s %d\n" % ("up" if up else "down", t))

    while True:
        qid = (qid + 1) & 0xFFFF
        try:
            s.send(soa_query(a.name, qid))
        except OSError as e:
            if e.errno == errno.ECONNREFUSED:
                mark(False, time.monotonic_ns())
        tick += step
        while True:
            wait = (tick - time.monotonic_ns()) / 1e9
            if wait <= 0 or not select.select([s], [], [], wait)[0]:
                break
            try:
                msg = s.recv(4096)
            except OSError as e:
                if e.errno == errno.ECONNREFUSED:
                    mark(False, time.monotonic_ns())
                continue
            now = time.monotonic_ns()
            if good(msg):
                last_good = now
                mark(True, now)
            else:
                mark(False, now)
        if up and time.monotonic_ns() - last_good > 100_000_000:
            mark(False, time.monotonic_ns())
        now = time.monotonic_ns()
        if now > tick + step:  # fell behind (a busy machine): skip, do not burst
            tick = now


def poll1s(a):
    b = Birdc(a.birdclog, a.bird_socket, a.proto, a.channel, a.log)
    s = udp(a.port)
    s.settimeout(0.5)
    qid = 0
    tick = time.monotonic()
    while True:
        qid = (qid + 1) & 0xFFFF
        ok = False
        try:
            s.send(soa_query(a.name, qid))
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                s.settimeout(max(0.001, end - time.monotonic()))
                msg = s.recv(4096)
                if len(msg) >= 2 and struct.unpack("!H", msg[:2])[0] == qid:
                    ok = good(msg)
                    break
        except OSError:  # refused, timed out
            ok = False
        b.act("enable" if ok else "disable")
        tick += a.interval
        time.sleep(max(0.0, tick - time.monotonic()))


HEADER = re.compile(r"^signal time=\S+ sender=\S+ -> destination=.*? path=([^;]+); interface=([^;]+); member=(\S+)")


def dbus(a):
    ternd = Birdc(a.birdclog, a.bird_socket, a.proto, a.channel, a.log)
    knot = Birdc(a.birdclog, a.bird_socket, a.knot_proto, a.knot_channel, a.log)
    rules = {("all-zones-ready", "set"): "enable", ("all-zones-ready", "clear"): "disable",
             ("shutting-down", "set"): "disable", ("running", "clear"): "disable"}
    mon = subprocess.Popen(["dbus-monitor", "--address", a.address, "--monitor",
                            "type='signal',interface='org.tern.ternd.conditions'",
                            "type='signal',interface='cz.nic.knotd.events'",
                            "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                            "arg0='org.tern.ternd'"],
                           stdout=subprocess.PIPE, text=True, bufsize=1)
    kind, strings = None, []
    for line in mon.stdout:
        m = HEADER.match(line)
        if m:
            iface, member = m.group(2), m.group(3)
            kind, strings = None, []
            if iface == "cz.nic.knotd.events" and member in ("started", "stopped"):
                knot.act("enable" if member == "started" else "disable")
            elif iface == "org.tern.ternd.conditions" and member == "condition":
                kind = "condition"
            elif member == "NameOwnerChanged":
                kind = "owner"
            continue
        if kind and line.startswith("   string "):
            strings.append(line.strip()[len('string "'):-1])
            if kind == "condition" and len(strings) == 2:
                action = rules.get(tuple(strings))
                if action:
                    ternd.act(action)
                kind = None
            elif kind == "owner" and len(strings) == 3:
                if strings[2] == "":  # org.tern.ternd has no owner any more: ternd is gone
                    ternd.act("disable")
                kind = None
    sys.exit("dbus-monitor ended")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("finepoll")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--interval-us", type=int, default=1000)
    for name in ("poll1s", "dbus"):
        p = sub.add_parser(name)
        p.add_argument("--birdclog", required=True)
        p.add_argument("--bird-socket", required=True)
        p.add_argument("--proto", required=True)
        p.add_argument("--channel", required=True)
        p.add_argument("--log", required=True)
        if name == "poll1s":
            p.add_argument("--port", type=int, required=True)
            p.add_argument("--name", required=True)
            p.add_argument("--interval", type=float, default=1.0)
        else:
            p.add_argument("--address", required=True)
            p.add_argument("--knot-proto", required=True)
            p.add_argument("--knot-channel", required=True)
    a = ap.parse_args()
    {"finepoll": finepoll, "poll1s": poll1s, "dbus": dbus}[a.cmd](a)


if __name__ == "__main__":
    main()
