#!/usr/bin/python3
"""Internet-facing PoPs benchmark (`make bench-edge`, issue 25). Parts (--only picks some):

  ipq  instructions per query, RRL off vs on: ternd under callgrind (one UDP worker) replaying the
       first --queries queries of bench/gen.py's query mix (the issue-6 callgrind replay, dnsq.py
       replay) against bench.test; "on" is rrl.enabled with a rate no query reaches, so the figure is
       what every answered query pays. Target: on <= off * 1.05 (the UDP worker thread's Ir).
  amp  amplification under a spoofed flood: inside a private network namespace a raw socket sends
       --flood queries (TXT of a ~1 KB record, EDNS 4096) at --pace a second, each from a random
       address of 198.51.100.0/24 (routed back to the namespace's loopback, so the answers are
       received and counted); bytes out / bytes in (UDP payloads; also with 28 octets of IPv4+UDP
       header each) for ternd and Knot mod-rrl with the same limits (rate --rate, slip 2, a 4 s
       bucket), --rounds rounds alternating, medians. Target: ternd <= Knot. ternd with RRL off is
       shown once for scale.
  dot  DNS over TLS: dnsperf -m dot (pinned to CPU 0) against NSD and BIND on the same zone, each
       server pinned to CPU 1 (every thread, taskset -a); queries per second and server CPU per
       query (utime+stime of the process tree / responses). ternd gets a row when the build
       accepts a DoT listener (a `tls` listen key in ternd --keys that --check accepts), else the
       report says so. Target (issue 25): ternd's CPU per query <= 0.5x the better of the two.
  xot  zone transfer over TLS: bench/gen.py's 1M-RR big.test pulled by kdig over TLS and over plain
       TCP from ternd and from BIND 9.18, wall time and server CPU, --xot-rounds rounds. Run when
       the build has XoT (a transfer.allow[].tls key and a DoT listener), else the report says so.
       Target (issue 25): TLS at most 10% over plain TCP.

Writes --out (markdown) and the figures beside it (.json)."""
import argparse
import glob
import json
import os
import random
import re
import select
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from benchlib import callgrind_ir, free_port, loadavg, machine, stop, ternd_version  # noqa: E402

PY = "/usr/bin/python3"
BENCH = os.path.join(ROOT, "bench")
PARTS = ("ipq", "amp", "dot", "xot")
# what only the UDP worker thread runs (src/ternd/net/udp.c), the first found naming its profile
WORKER_FNS = ("worker_run", "recvmmsg")


def log(msg):
    print("[bench-edge %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, **kw)


def ternd_conf(path, listen, zones, extra=""):
    """A ternd configuration: listen [addr@port], zones [(name, file)], extra top-level YAML."""
    with open(path, "w") as f:
        f.write("server:\n  listen: [%s]\n  udp-workers: 1\nlog:\n  level: warning\nzones:\n" % (
            ", ".join('"%s"' % a for a in listen)))
        for name, zf in zones:
            f.write("  - name: %s\n    file: %s\n" % (name, zf))
        f.write(extra)
    r = subprocess.run([TERND, "--check", "-c", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("ternd --check %s: %s" % (path, (r.stdout + r.stderr).strip()))


TERND = None  # set by main()


# --- ipq: instructions per query, RRL off vs on -----------------------------------------------

def callgrind_file_ir(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("%s: no summary" % path)


def worker_ir(d):
    """Ir of the UDP worker thread (callgrind --separate-threads writes one file a thread)."""
    texts = {f: open(f, "rb").read() for f in glob.glob(os.path.join(d, "callgrind.out.*"))}
    for fn in WORKER_FNS:
        files = [f for f, t in texts.items() if re.search(rb"^c?fn=\(\d+\) %s\b" % fn.encode(), t, re.M)]
        if len(files) == 1:
            return callgrind_file_ir(files[0])
    raise RuntimeError("%s: no one thread profile runs any of %s" % (d, ", ".join(WORKER_FNS)))


def ipq(args, data):
    expect = os.path.join(args.work, "replay.expect")
    with open(os.path.join(data, "queries.expect")) as f, open(expect, "w") as out:
        for i, line in enumerate(f):
            if i >= args.queries:
                break
            out.write(line)
    rrl_on = "rrl:\n  enabled: true\n  responses-per-second: 1000000\n"
    res = {"queries": args.queries, "rrl_on_config": rrl_on}
    for label, extra in (("off", ""), ("on", rrl_on)):
        ir = {}
        for mode in ("idle", "replay"):
            d = os.path.join(args.work, "ipq-%s-%s" % (label, mode))
            os.makedirs(d)
            port = free_port()
            conf = os.path.join(d, "ternd.yaml")
            ternd_conf(conf, ["127.0.0.1@%d" % port], [("bench.test", os.path.join(data, "bench.test.zone"))], extra)
            wrap = ["valgrind", "--tool=callgrind", "-q", "--collect-atstart=yes", "--trace-children=no",
                    "--separate-threads=yes", "--callgrind-out-file=%s/callgrind.out.%%p" % d]
            p = subprocess.Popen(wrap + [TERND, "-c", conf], cwd=d, stdout=open(os.path.join(d, "out.log"), "w"),
                                 stderr=subprocess.STDOUT)
            try:
                run([PY, os.path.join(BENCH, "dnsq.py"), "ready", port, "bench.test", "--interval", "0.5",
                     "--timeout", "600", "--pid", p.pid], stdout=subprocess.DEVNULL)
                if mode == "replay":
                    r = subprocess.run([PY, os.path.join(BENCH, "dnsq.py"), "replay", str(port), expect,
                                        "--count", str(args.queries)], capture_output=True, text=True)
                    rep = json.loads(r.stdout)
                    if rep["lost"]:
                        raise RuntimeError("RRL %s: %d of %d queries unanswered" % (label, rep["lost"], rep["sent"]))
            finally:
                stop(p, 600)
            ir[mode] = callgrind_ir(d)
            ir[mode + "_worker"] = worker_ir(d)
        res[label] = (ir["replay_worker"] - ir["idle_worker"]) / args.queries
        res[label + "_process"] = (ir["replay"] - ir["idle"]) / args.queries
        log("RRL %s: %.1f instructions per query in the UDP worker, %.1f in the process" % (
            label, res[label], res[label + "_process"]))
    res["ratio"] = res["on"] / res["off"]
    res["ratio_process"] = res["on_process"] / res["off_process"]
    return res


# --- amp: amplification under a spoofed flood ---------------------------------------------------

AMP_SERVER = "192.0.2.53"
AMP_NET = "198.51.100"  # the flooding /24 (spoofed sources)
AMP_PORTS = list(range(40000, 40008))  # the spoofed source ports, each with a receiving socket
AMP_ZONE = "edge.bench"


def amp_zone(path):
    """The zone: big has TXT records of about 1 KB in all (the amplifier an attacker picks; under the
    1,232-octet UDP limit both servers keep, so neither truncates a full answer)."""
    txt = " ".join('"%s"' % (("%02d" % i) * 50) for i in range(2))  # two strings of 100 octets
    lines = ["$ORIGIN %s." % AMP_ZONE, "$TTL 300", "@ SOA ns1 hostmaster 1 7200 900 1209600 300", "@ NS ns1",
             "ns1 A %s" % AMP_SERVER] + ["big TXT %s \"%d\"" % (txt, i) for i in range(4)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def amp_query(qid):
    """TXT big.edge.bench with EDNS (4096, no cookie), RD clear: the flood's message."""
    wire = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)
    for label in ("big." + AMP_ZONE).split("."):
        wire += bytes([len(label)]) + label.encode()
    wire += b"\x00" + struct.pack("!HH", 16, 1)
    return wire + b"\x00" + struct.pack("!HHIH", 41, 4096, 0, 0)


def ip_udp(src, sport, dst, dport, payload, ident):
    """An IPv4 datagram (header checksum and length left to the kernel: IP_HDRINCL fills them)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0, 64, 17, 0, socket.inet_aton(src),
                       socket.inet_aton(dst)) + udp


SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def udp_errors():
    """This namespace's UDP receive buffer errors so far (/proc/thread-self/net/snmp: the calling
    thread's namespace)."""
    with open("/proc/thread-self/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return int(dict(zip(rows[0][1:], rows[1][1:]))["RcvbufErrors"])


def lo_counters():
    """This namespace's loopback (tx bytes, tx packets) so far (/proc/thread-self/net/dev): every
    datagram in the namespace, the flood's queries and the server's answers, counted as it is sent,
    before any socket could drop it."""
    with open("/proc/thread-self/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                v = rest.split()
                return int(v[8]), int(v[9])
    raise RuntimeError("no lo in /proc/thread-self/net/dev")


def amp_flood(n, pace, seed):
    """Inside the namespace: n spoofed queries at pace a second; counts what comes back to the /24.
    Returns {sent, bytes_in, received, full, slipped, bytes_out, elapsed}."""
    rng = random.Random(seed)
    recv = []
    for port in AMP_PORTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)  # past rmem_max: root
        s.bind(("0.0.0.0", port))
        recv.append(s)
    got = {"received": 0, "full": 0, "slipped": 0, "bytes_out": 0, "bytes_slipped": 0}
    done = threading.Event()

    def reader():
        quiet_since = None
        while True:
            ready, _, _ = select.select(recv, [], [], 0.1)
            for s in ready:
                wire = s.recv(65535)
                got["received"] += 1
                got["bytes_out"] += len(wire)
                if len(wire) >= 4 and wire[2] & 0x02:
                    got["slipped"] += 1
                    got["bytes_slipped"] += len(wire)
                else:
                    got["full"] += 1
            if ready:
                quiet_since = None
            elif done.is_set():
                quiet_since = quiet_since or time.time()
                if time.time() - quiet_since > 1.0:
                    return

    t = threading.Thread(target=reader)
    t.start()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    errors = udp_errors()
    lo0 = lo_counters()
    bytes_in = 0
    t0 = time.time()
    try:
        for i in range(n):
            payload = amp_query(rng.randrange(65536))
            src = "%s.%d" % (AMP_NET, rng.randrange(1, 255))
            raw.sendto(ip_udp(src, AMP_PORTS[i % len(AMP_PORTS)], AMP_SERVER, 53, payload, i & 0xFFFF),
                       (AMP_SERVER, 0))
            bytes_in += len(payload)
            wait = t0 + (i + 1) / pace - time.time()
            if wait > 0.002:
                time.sleep(wait)
    finally:
        elapsed = time.time() - t0
        done.set()
        t.join()
        raw.close()
        for s in recv:
            s.close()
    # answers the kernel dropped for want of room in a socket (ours or the server's): counted, so a
    # round that lost any says so
    lo1 = lo_counters()
    # what the server sent, whether or not our sockets had room for it: lo's packets and bytes less
    # the flood's own (lo counts each packet's IPv4 and UDP headers, 28 octets, with its payload)
    packets = lo1[1] - lo0[1] - n
    sent_bytes = lo1[0] - lo0[0] - bytes_in - (n + packets) * 28
    return dict(got, sent=n, bytes_in=bytes_in, elapsed=round(elapsed, 3), rcvbuf_errors=udp_errors() - errors,
                answers_sent=packets, bytes_sent=sent_bytes)


KNOT_AMP = """server:
    rundir: "{d}/run"
    listen: {addr}@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{d}/storage"
log:
  - target: stderr
    any: warning
mod-rrl:
  - id: flood
    rate-limit: {rate}
    slip: 2
template:
  - id: default
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
  - domain: {zone}.
    file: "{zf}"
    module: mod-rrl/flood
"""


def amp(args):
    from dnsseclab import Netns
    from ternlib import terminate, wait_udp
    zf = os.path.join(args.work, "amp", AMP_ZONE + ".zone")
    os.makedirs(os.path.dirname(zf))
    amp_zone(zf)
    ns = Netns(addrs=[AMP_SERVER])
    res = {"rate": args.rate, "slip": 2, "window": 4, "flood": args.flood, "pace": args.pace, "rounds": []}
    try:
        # answers to 198.51.100.0/24 come back to this namespace's loopback (AnyIP), to amp_flood's sockets
        ns.run(["ip", "route", "add", "local", AMP_NET + ".0/24", "dev", "lo"])

        def serve(name, rnd):
            d = os.path.join(args.work, "amp", "%s-%d" % (name, rnd))
            os.makedirs(d)
            if name == "knot":
                for sub in ("run", "storage"):
                    os.makedirs(os.path.join(d, sub))
                conf = os.path.join(d, "knot.conf")
                with open(conf, "w") as f:
                    f.write(KNOT_AMP.format(d=d, addr=AMP_SERVER, rate=args.rate, zone=AMP_ZONE, zf=zf))
                argv = ["knotd", "-c", conf]
            else:
                conf = os.path.join(d, "ternd.yaml")
                # ternd: rrl.debit-window as by default (15 s, BIND's account); ternd-bucket: 0 (Knot's model)
                extra = ("rrl:\n  enabled: true\n  responses-per-second: %d\n  window: 4\n  slip: 2\n" % args.rate
                         + ("  debit-window: 0\n" if name == "ternd-bucket" else "")
                         if name in ("ternd", "ternd-bucket") else "")
                ternd_conf(conf, ["%s@53" % AMP_SERVER], [(AMP_ZONE, zf)], extra)
                argv = [TERND, "-c", conf]
            proc = ns.popen(argv, os.path.join(d, "server.log"))
            try:
                ns.call(wait_udp, AMP_SERVER, 53, proc=proc)
                time.sleep(0.5)
                r = ns.call(amp_flood, args.flood, args.pace, 1000 + rnd)
            finally:
                terminate(proc)
            r["amplification"] = r["bytes_out"] / r["bytes_in"]
            # as the server sent it (lo's counters), whatever our sockets dropped
            r["amplification_sent"] = r["bytes_sent"] / r["bytes_in"]
            r["amplification_ip"] = (r["bytes_out"] + 28 * r["received"]) / (r["bytes_in"] + 28 * r["sent"])
            # without the spread of a coin: the slipped responses one in two of the limited ones (Knot
            # slips each with probability 1/2; ternd every second one)
            if r["slipped"]:
                limited = r["sent"] - r["full"]
                r["amplification_expected"] = (r["bytes_out"] - r["bytes_slipped"] + limited / 2 * r["bytes_slipped"] /
                                               r["slipped"]) / r["bytes_in"]
            r["server"], r["round"] = name, rnd
            log("flood %s round %d: %s" % (name, rnd, json.dumps(r)))
            return r

        for rnd in range(args.rounds):
            for name in ("ternd", "knot", "ternd-bucket"):
                res["rounds"].append(serve(name, rnd))
        res["rounds"].append(serve("ternd-off", 0))
    finally:
        ns.close()
    for name in ("ternd", "knot", "ternd-bucket", "ternd-off"):
        rs = [r for r in res["rounds"] if r["server"] == name]
        res[name] = {k: statistics.median(r[k] for r in rs)
                     for k in ("amplification", "amplification_ip", "full", "slipped", "received", "bytes_out",
                               "bytes_in", "sent", "elapsed", "amplification_expected", "amplification_sent",
                               "answers_sent", "bytes_sent", "rcvbuf_errors") if all(k in r for r in rs)}
    return res


# --- dot: DNS over TLS, queries per second and CPU per query ------------------------------------

def make_cert(d):
    key, pem = os.path.join(d, "tls.key"), os.path.join(d, "tls.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
         "-out", pem, "-days", "2", "-subj", "/CN=ns1.bench.test", "-addext", "subjectAltName=DNS:ns1.bench.test"],
        capture_output=True)
    return key, pem


def ternd_keys():
    """The configuration keys ternd --keys lists (its markdown table: | `key` | type | ...)."""
    out = subprocess.run([TERND, "--keys"], capture_output=True, text=True).stdout
    return re.findall(r"^\| `([^`]+)` \|", out, re.M)


def ternd_dot_keys():
    """The DoT listener keys of this ternd build: (listen key, certificate key, private key key), or
    None when ternd --keys lists no tls listen key."""
    tls = [k for k in ternd_keys() if "tls" in k.lower()]
    listen = [k for k in tls if "listen" in k]
    if not listen:
        return None
    prefix = listen[0].rsplit(".", 1)[0]
    cert = [k for k in tls if k.startswith(prefix + ".") and "cert" in k]
    pkey = [k for k in tls if k.startswith(prefix + ".") and "key" in k.rsplit(".", 1)[1] and "cert" not in k]
    return listen[0], cert[0] if cert else None, pkey[0] if pkey else None


def nsd_start(d, zone, zf, port, tport, key, pem):
    conf = os.path.join(d, "nsd.conf")
    with open(conf, "w") as f:
        f.write("server:\n  ip-address: 127.0.0.1@%d\n  ip-address: 127.0.0.1@%d\n  port: %d\n  tls-port: %d\n"
                "  tls-service-key: \"%s\"\n  tls-service-pem: \"%s\"\n  server-count: 1\n  database: \"\"\n"
                "  zonefiles-write: 0\n  verbosity: 0\n  username: \"\"\n  pidfile: \"%s/nsd.pid\"\n"
                "  xfrdfile: \"%s/xfrd.state\"\n  zonelistfile: \"%s/zone.list\"\n  logfile: \"%s/nsd.log\"\n"
                "  chroot: \"\"\n  rrl-ratelimit: 0\n  tcp-count: 1000\n  tcp-timeout: 120\n"
                "remote-control:\n  control-enable: no\n"
                "zone:\n  name: %s\n  zonefile: \"%s\"\n" % (port, tport, port, tport, key, pem, d, d, d, d, zone, zf))
    return ["nsd", "-d", "-c", conf]


def bind_start(d, zone, zf, port, tport, key, pem):
    conf = os.path.join(d, "named.conf")
    with open(conf, "w") as f:
        f.write("tls local-tls { key-file \"%s\"; cert-file \"%s\"; };\n"
                "options {\n  directory \"%s\";\n  pid-file \"%s/named.pid\";\n  listen-on port %d { 127.0.0.1; };\n"
                "  listen-on port %d tls local-tls { 127.0.0.1; };\n  listen-on-v6 { none; };\n  recursion no;\n"
                "  notify no;\n  tcp-clients 1000;\n  minimal-responses no;\n  rate-limit { responses-per-second 0; };\n"
                "};\ncontrols { };\nzone \"%s\" { type primary; file \"%s\"; };\n" % (
                    key, pem, d, d, port, tport, zone, zf))
    return ["named", "-g", "-n", "1", "-c", conf]


def yaml_of(tree, indent=0):
    """Nested dicts of strings, numbers and lists of strings as YAML (what ternd's configuration takes)."""
    out = ""
    for k, v in tree.items():
        if isinstance(v, dict):
            out += "%s%s:\n%s" % ("  " * indent, k, yaml_of(v, indent + 1))
        elif isinstance(v, list):
            out += "%s%s: [%s]\n" % ("  " * indent, k, ", ".join('"%s"' % x for x in v))
        elif isinstance(v, str):
            out += '%s%s: "%s"\n' % ("  " * indent, k, v)
        else:
            out += "%s%s: %s\n" % ("  " * indent, k, v)
    return out


def put(tree, dotted, value):
    """tree[a][b][c] = value for dotted "a.b.c"."""
    *path, last = dotted.split(".")
    for k in path:
        tree = tree.setdefault(k, {})
    tree[last] = value


def ternd_dot_start(d, zone, zf, port, tport, key, pem, keys):
    """ternd with a DoT listener on tport, by the keys ternd_dot_keys() found (e.g. server.tls.listen,
    server.tls.certificate, server.tls.key); --check must accept it."""
    listen_key, cert_key, pkey_key = keys
    conf = {"server": {"listen": ["127.0.0.1@%d" % port], "udp-workers": 1}, "log": {"level": "warning"}}
    put(conf, listen_key, ["127.0.0.1@%d" % tport])
    if cert_key:
        put(conf, cert_key, pem)
    if pkey_key:
        put(conf, pkey_key, key)
    path = os.path.join(d, "ternd.yaml")
    with open(path, "w") as f:
        f.write(yaml_of(conf) + "zones:\n  - name: %s\n    file: %s\n" % (zone, zf))
    r = subprocess.run([TERND, "--check", "-c", path], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("ternd --check: %s" % (r.stdout + r.stderr).strip()[-500:])
    return [TERND, "-c", path]


def pin(pid, cpu):
    run(["taskset", "-a", "-p", "-c", cpu, pid], stdout=subprocess.DEVNULL)


def proc_cpu(pid):
    r = subprocess.run([PY, os.path.join(BENCH, "procs.py"), "cpu", str(pid)], capture_output=True, text=True)
    return int(r.stdout.strip()) / os.sysconf("SC_CLK_TCK")


def dnsperf_dot(tport, queries, seconds, client_cpu, dargs):
    argv = ["taskset", "-c", client_cpu, "dnsperf", "-m", "dot", "-s", "127.0.0.1", "-p", str(tport), "-d", queries,
            "-l", str(seconds)] + dargs.split()
    r = subprocess.run(argv, capture_output=True, text=True)
    out = r.stdout + r.stderr
    m = re.search(r"Queries completed:\s+(\d+)", out)
    q = re.search(r"Queries per second:\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if not m or not q:
        raise RuntimeError("dnsperf: %s" % out[-1500:])
    return {"completed": int(m.group(1)), "qps": float(q.group(1)), "lost": int(lost.group(1)) if lost else 0}


def dot(args, data):
    d0 = os.path.join(args.work, "dot")
    os.makedirs(d0)
    key, pem = make_cert(d0)
    for k in (key, pem):
        os.chmod(k, 0o644)  # named and nsd read them after dropping nothing (run as root) or as their user
    zf = os.path.join(data, "bench.test.zone")
    queries = os.path.join(data, "queries.txt")
    keys = ternd_dot_keys()
    servers = [("nsd", nsd_start), ("bind", bind_start)]
    res = {"seconds": args.dot_seconds, "dnsperf_args": args.dot_dnsperf, "rounds": []}
    if keys:
        servers.insert(0, ("ternd", lambda *a: ternd_dot_start(*a, keys)))
        res["ternd_keys"] = keys
    else:
        res["ternd_note"] = "ternd: no DoT listener in this build"
        log(res["ternd_note"])
    for rnd in range(args.dot_rounds):
        for name, start in servers:
            d = os.path.join(d0, "%s-%d" % (name, rnd))
            os.makedirs(d)
            port, tport = free_port(), free_port()
            try:
                argv = start(d, "bench.test", zf, port, tport, key, pem)
            except RuntimeError as e:
                res["%s_note" % name] = "ternd: DoT configuration refused (%s)" % e
                log(res["%s_note" % name])
                servers = [s for s in servers if s[0] != name]
                continue
            p = subprocess.Popen(["taskset", "-c", args.server_cpu] + argv, cwd=d,
                                 stdout=open(os.path.join(d, "server.log"), "w"), stderr=subprocess.STDOUT)
            try:
                run([PY, os.path.join(BENCH, "dnsq.py"), "ready", port, "bench.test", "--timeout", "120", "--pid",
                     p.pid], stdout=subprocess.DEVNULL)
                pin(p.pid, args.server_cpu)
                c0 = proc_cpu(p.pid)
                r = dnsperf_dot(tport, queries, args.dot_seconds, args.client_cpu, args.dot_dnsperf)
                c1 = proc_cpu(p.pid)
            finally:
                stop(p, 30)
            r["server"], r["round"] = name, rnd
            r["cpu_s"] = round(c1 - c0, 3)
            r["cpu_us_per_query"] = (c1 - c0) * 1e6 / max(1, r["completed"])
            log("DoT %s round %d: %s" % (name, rnd, json.dumps(r)))
            res["rounds"].append(r)
    for name, _ in servers:
        rs = [r for r in res["rounds"] if r["server"] == name]
        if rs:
            res[name] = {k: statistics.median(r[k] for r in rs) for k in ("qps", "cpu_us_per_query", "lost")}
    return res


# --- xot: zone transfers over TLS ----------------------------------------------------------------

def ternd_xot_keys():
    """(the DoT listener keys, the transfer ACL's TLS key) when this ternd serves transfers over TLS
    (e.g. server.tls.listen and transfer.allow[].tls), else None."""
    dot_keys = ternd_dot_keys()
    xfr = [k for k in ternd_keys() if k.startswith("transfer.allow") and k.endswith(".tls")]
    return (dot_keys, xfr[0]) if dot_keys and xfr else None


def ternd_xot_start(d, zone, zf, port, tport, key, pem, keys):
    dot_keys, _ = keys
    argv = ternd_dot_start(d, zone, zf, port, tport, key, pem, dot_keys)
    path = argv[-1]
    with open(path, "a") as f:
        f.write("transfer:\n  allow:\n    - {address: 127.0.0.1, tls: optional}\n")
    r = subprocess.run([TERND, "--check", "-c", path], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("ternd --check: %s" % (r.stdout + r.stderr).strip()[-500:])
    return argv


def bind_xot_start(d, zone, zf, port, tport, key, pem):
    argv = bind_start(d, zone, zf, port, tport, key, pem)
    conf = argv[-1]
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("  recursion no;\n", "  recursion no;\n  allow-transfer { any; };\n"))
    return argv


def axfr(port, zone, tls, client_cpu):
    """One AXFR by kdig (pinned), over TLS or plain TCP: (seconds, records, octets)."""
    argv = ["taskset", "-c", client_cpu, "kdig", "@127.0.0.1", "-p", str(port), "+tls" if tls else "+tcp",
            "+noall", "+stats", "+time=120", "AXFR", zone]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    m = re.search(r"Received (\d+) B \((\d+) messages?, (\d+) records?\)", r.stdout)
    if r.returncode or not m:
        raise RuntimeError("kdig AXFR %s: %s" % ("TLS" if tls else "TCP", (r.stdout + r.stderr)[-800:]))
    return dt, int(m.group(3)), int(m.group(1))


def xot(args, data):
    """The 1M-RR zone transferred by kdig over TLS and over plain TCP from ternd and from BIND 9.18
    (each server pinned to --server-cpu, kdig to --client-cpu), --xot-rounds alternating; wall time of
    the transfer and server CPU time. Run when this ternd serves transfers over TLS; else the report
    says why not."""
    keys = ternd_xot_keys()
    if not keys:
        return {"note": "ternd: no XoT (transfers over TLS) in this build"}
    d0 = os.path.join(args.work, "xot")
    os.makedirs(d0)
    key, pem = make_cert(d0)
    zf = os.path.join(data, "big.test.zone")
    with open(os.path.join(data, "big.test.rrs")) as f:
        rrs = int(f.read())
    res = {"rrs": rrs, "rounds": [], "ternd_keys": list(keys[0]) + [keys[1]]}
    for name, start in (("ternd", lambda *a: ternd_xot_start(*a, keys)), ("bind", bind_xot_start)):
        d = os.path.join(d0, name)
        os.makedirs(d)
        port, tport = free_port(), free_port()
        argv = start(d, "big.test", zf, port, tport, key, pem)
        p = subprocess.Popen(["taskset", "-c", args.server_cpu] + argv, cwd=d,
                             stdout=open(os.path.join(d, "server.log"), "w"), stderr=subprocess.STDOUT)
        try:
            run([PY, os.path.join(BENCH, "dnsq.py"), "ready", port, "big.test", "--timeout", "900", "--pid", p.pid],
                stdout=subprocess.DEVNULL)
            pin(p.pid, args.server_cpu)
            for rnd in range(args.xot_rounds):
                for tls in (False, True):
                    c0 = proc_cpu(p.pid)
                    dt, records, octets = axfr(tport if tls else port, "big.test", tls, args.client_cpu)
                    cpu = proc_cpu(p.pid) - c0
                    r = {"server": name, "tls": tls, "round": rnd, "seconds": round(dt, 3), "records": records,
                         "octets": octets, "server_cpu_s": round(cpu, 3)}
                    log("AXFR %s: %s" % (name, json.dumps(r)))
                    res["rounds"].append(r)
        finally:
            stop(p, 60)
    for name in ("ternd", "bind"):
        for tls in (False, True):
            rs = [r for r in res["rounds"] if r["server"] == name and r["tls"] == tls]
            res["%s_%s" % (name, "tls" if tls else "tcp")] = {
                k: statistics.median(r[k] for r in rs) for k in ("seconds", "server_cpu_s", "records", "octets")}
    return res


# --- the report ----------------------------------------------------------------------------------

def verdict(ok):
    return "met" if ok else "**not met**"


def render(res):
    md = ["# Internet-facing PoPs benchmark (`make bench-edge`, issue 25)", ""]
    if "ipq" in res:
        r = res["ipq"]
        md += ["## Response rate limiting: instructions per query, RRL off vs on", "",
               "ternd under callgrind (one UDP worker, cookies on as by default), the first %d queries of "
               "bench/gen.py's mix against bench.test sent one at a time (dnsq.py replay, as `make bench`); start-up "
               "and shutdown subtracted. RRL on: `rrl.enabled: true` with `responses-per-second: 1000000`, a rate "
               "no query reaches, so every query pays the key, the bucket lookup and the refill and none is "
               "limited." % r["queries"], "",
               "| RRL | UDP worker instructions/query | process instructions/query |", "|---|---|---|",
               "| off | %.1f | %.1f |" % (r["off"], r["off_process"]),
               "| on | %.1f | %.1f |" % (r["on"], r["on_process"]),
               "| **on / off** | **%.3f** (%+.1f%%) | %.3f |" % (r["ratio"], (r["ratio"] - 1) * 100, r["ratio_process"]),
               "", "Target: on <= off + 5%% (UDP worker): %s." % verdict(r["ratio"] <= 1.05), ""]
    if "amp" in res:
        r = res["amp"]
        md += ["## Response rate limiting: amplification under a spoofed flood", "",
               "A private network namespace; a raw socket sends %d queries at %d a second (TXT of big.edge.bench, "
               "a %d-octet answer, EDNS 4096, no cookie), each from a random address of 198.51.100.0/24 (8 "
               "source ports); the answers to that /24 are routed back to the namespace and counted. Both servers "
               "with one UDP worker: ternd `rrl: {responses-per-second: %d, window: 4, slip: 2}` (and `debit-window` "
               "as by default, 15 s: limited responses are owed too, BIND's account), Knot mod-rrl "
               "`rate-limit: %d, slip: 2` (its bucket holds 4 s), and ternd with `debit-window: 0` (Knot's model: "
               "only responses sent are counted). Amplification = bytes out / bytes in, of UDP "
               "payloads and (IP column) with 28 octets of IPv4 and UDP header each. Median of %d rounds "
               "(alternating); ternd with RRL off once for scale." % (
                   r["flood"], r["pace"], r["ternd-off"]["bytes_out"] / r["ternd-off"]["received"], r["rate"], r["rate"], len([x for x in r["rounds"] if x["server"] == "knot"])),
               "", "The server's answers are counted twice: as they reach the flood's sockets (received, "
               "sorted into full and truncated) and as the server sends them, from the namespace's loopback "
               "counters less the flood's own packets (sent): a burst of answers that finds the receiving "
               "sockets full is lost to the first count, not to the second, and the victim of a real flood "
               "gets what was sent. The target is judged on what was sent.",
               "", "| server | full answers | truncated (slip) | received of queries | answers sent | "
               "bytes received / in | amplification, received | **amplification, sent** | amplification (IP), "
               "received | amplification, slips at 1/2 |", "|---|---|---|---|---|---|---|---|---|---|"]
        names = {"ternd": "ternd (RRL, as by default: debit-window 15)", "knot": "Knot %s mod-rrl" % res.get("knot_version", ""),
                 "ternd-bucket": "ternd (RRL, debit-window 0: Knot's model)", "ternd-off": "ternd, RRL off"}
        for k in ("ternd", "knot", "ternd-bucket", "ternd-off"):
            if k not in r:
                continue
            x = r[k]
            md.append("| %s | %d | %d | %d of %d | %s | %d / %d | %.3f | %s | %.3f | %s |" % (
                names[k], x["full"], x["slipped"], x["received"], x["sent"],
                "%d" % x["answers_sent"] if "answers_sent" in x else "", x["bytes_out"], x["bytes_in"],
                x["amplification"], "**%.3f**" % x["amplification_sent"] if "amplification_sent" in x else "",
                x["amplification_ip"], "%.3f" % x["amplification_expected"] if "amplification_expected" in x else ""))
        t, k = r["ternd"], r["knot"]
        drops = sum(x.get("rcvbuf_errors", 0) for x in r["rounds"])
        md += ["", "Rounds (received, sent): " + "; ".join(
                   "%s %.3f, %s" % (x["server"], x["amplification"],
                                    "%.3f" % x["amplification_sent"] if "amplification_sent" in x else "-")
                   for x in r["rounds"]) + ". "
               "UDP datagrams the namespace's kernel dropped for want of socket buffer room over all rounds "
               "(RcvbufErrors; the flood's sockets take 8 MB each): %s%s." % (
                   drops if all("rcvbuf_errors" in x for x in r["rounds"]) else "not counted",
                   " (" + ", ".join("%s %d" % (n, sum(x.get("rcvbuf_errors", 0) for x in r["rounds"] if x["server"] == n))
                                    for n in ("ternd", "knot", "ternd-bucket", "ternd-off")) + ")"
                   + ("; every answer sent was received, so these were queries the server's own socket had no room "
                      "for" if drops and all(x.get("answers_sent") == x["received"] for x in r["rounds"]) else "")
                   if all("rcvbuf_errors" in x for x in r["rounds"]) else ""),
               "", "The last column counts the truncated responses as exactly half the limited ones, their "
               "expectation: Knot slips each limited response with probability 1/2 (a binomial spread of about "
               "+-%d responses, +-%.3f in amplification, a round), ternd every second one (no spread). ternd with "
               "Knot's model makes Knot's decisions, so the two are equal in expectation and Knot's coin decides "
               "which median is lower; ternd as configured by default owes its limited responses, so a flood "
               "that goes on gets the bucket's burst and no more full answers." % (round((r["flood"] / 4) ** 0.5),
                                         (r["flood"] / 4) ** 0.5 * 43 / r["knot"]["bytes_in"])]
        te = t.get("amplification_expected", t["amplification"])
        ke = k.get("amplification_expected", k["amplification"])
        key = "amplification_sent" if "amplification_sent" in t and "amplification_sent" in k else "amplification"
        measured = t[key] <= k[key]
        md += ["", "Target: ternd's amplification <= Knot's, on this run's medians of what was %s: %s (ternd %.3f, "
               "Knot %.3f); as received: ternd %.3f, Knot %.3f (%d and %d full answers); against Knot's "
               "expectation (slips at 1/2): ternd %.3f, Knot %.3f." % (
                   "sent" if key == "amplification_sent" else "received", verdict(measured), t[key], k[key],
                   t["amplification"], k["amplification"], t["full"], k["full"], te, ke)]
        if "ternd-bucket" in r:
            b = r["ternd-bucket"]
            be = b.get("amplification_expected", b["amplification"])
            md += ["With Knot's model (debit-window 0): ternd %.3f, expectation %.3f, %d full answers (%s "
                   "Knot's expectation)." % (b["amplification"], be, b["full"],
                                            "equal to" if abs(be - ke) < 0.0015 else "against %.3f," % ke)]
        md += [""]
    if "dot" in res:
        r = res["dot"]
        md += ["## DNS over TLS: queries per second and CPU per query", "",
               "`dnsperf -m dot %s -l %d` on CPU %s against each server on CPU %s (every thread: taskset -a), "
               "bench.test and bench/gen.py's query mix over TLS 1.3 (a P-256 certificate); CPU = utime+stime of "
               "the server's process tree during the run / queries completed. NSD `server-count: 1`, `tls-port`; "
               "BIND `-n 1`, `listen-on port P tls`. Median of %d rounds." % (
                   r["dnsperf_args"], r["seconds"], res["client_cpu"], res["server_cpu"],
                   len([x for x in r["rounds"] if x["server"] == "nsd"])), "",
               "| server | queries/s | server CPU µs/query | lost |", "|---|---|---|---|"]
        names = {"ternd": "ternd", "nsd": "NSD %s" % res.get("nsd_version", ""),
                 "bind": "BIND %s" % res.get("bind_version", "")}
        for k in ("ternd", "nsd", "bind"):
            if k in r:
                md.append("| %s | %.0f | %.2f | %d |" % (names[k], r[k]["qps"], r[k]["cpu_us_per_query"], r[k]["lost"]))
        if r.get("ternd_note"):
            md.append("| %s | | | |" % r["ternd_note"])
        if r.get("ternd") and r.get("nsd") and r.get("bind"):
            best = min(r["nsd"]["cpu_us_per_query"], r["bind"]["cpu_us_per_query"])
            ratio = r["ternd"]["cpu_us_per_query"] / best
            md += ["", "Target: ternd's CPU per query <= 0.5x the better of NSD and BIND: %s (%.2fx)." % (
                verdict(ratio <= 0.5), ratio)]
        else:
            md += ["", "Target (ternd's CPU per query <= 0.5x the better of NSD and BIND): not judged, %s." % (
                r.get("ternd_note") or r.get("ternd_note_run") or "ternd was not measured")]
        md.append("")
    if "xot" in res and "note" in res["xot"]:
        md += ["## Zone transfers over TLS (XoT)", "",
               "Time to transfer the 1M-RR zone over TLS vs plain TCP (ternd) and vs BIND's XoT; target: TLS at "
               "most 10%% over plain TCP. Not run: %s." % res["xot"]["note"], ""]
    elif "xot" in res:
        r = res["xot"]
        md += ["## Zone transfers over TLS (XoT)", "",
               "bench/gen.py's big.test (%d RRs) transferred by `kdig +noall +stats AXFR` (CPU %s) over TLS 1.3 "
               "and over plain TCP from ternd (`server.tls.listen`, `transfer.allow: [{address: 127.0.0.1, tls: "
               "optional}]`) and from BIND %s (`listen-on port P tls`, `allow-transfer { any; }`), each pinned to "
               "CPU %s; wall time of the transfer (kdig's own parsing included, the same for every row) and the "
               "server's CPU time. Median of %d rounds." % (
                   r["rrs"], res["client_cpu"], res.get("bind_version", ""), res["server_cpu"],
                   len([x for x in r["rounds"] if x["server"] == "bind" and x["tls"]])), "",
               "| server | transport | seconds | server CPU s | records | octets |", "|---|---|---|---|---|---|"]
        for name, label in (("ternd", "ternd"), ("bind", "BIND %s" % res.get("bind_version", ""))):
            for tr in ("tcp", "tls"):
                x = r["%s_%s" % (name, tr)]
                md.append("| %s | %s | %.2f | %.2f | %d | %d |" % (label, tr.upper(), x["seconds"], x["server_cpu_s"],
                                                                 x["records"], x["octets"]))
        ratio = r["ternd_tls"]["seconds"] / r["ternd_tcp"]["seconds"]
        cpu = r["ternd_tls"]["server_cpu_s"] / max(0.01, r["ternd_tcp"]["server_cpu_s"])
        md += ["", "Target: ternd's transfer over TLS at most 10%% slower than over plain TCP: %s (%.3fx the time; "
               "ternd's CPU %.3fx); over TLS ternd takes %.2fx BIND's time." % (
                   verdict(ratio <= 1.10), ratio, cpu, r["ternd_tls"]["seconds"] / r["bind_tls"]["seconds"]), ""]
    loads = [float(x) for x in (res["load_before"] + " " + res["load_after"]).split()[::3]]
    if max(loads) > os.cpu_count():
        md += ["**The machine was busy** (1-minute load average %s before, %s after, on %d CPUs): queries per "
               "second, CPU per query and transfer times are disturbed by other work; instructions per query "
               "and the flood's bytes are not." % (res["load_before"].split()[0], res["load_after"].split()[0], os.cpu_count()), ""]
    md += ["Machine: %s; load average before %s, after %s. ternd %s; run %s." % (
        res["machine"], res["load_before"], res["load_after"], res["ternd"], res["date"]), ""]
    return "\n".join(md)


def version(argv, pattern):
    r = subprocess.run(argv, capture_output=True, text=True)
    m = re.search(pattern, r.stdout + r.stderr)
    return m.group(1) if m else "?"


def main():
    global TERND
    ap = argparse.ArgumentParser()
    ap.add_argument("--ternd", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: ipq, amp, dot, xot; or report (edge.md again from edge.json)")
    ap.add_argument("--queries", type=int, default=10000, help="queries replayed under callgrind")
    ap.add_argument("--names", type=int, default=100000, help="names of bench.test")
    ap.add_argument("--rate", type=int, default=20, help="RRL responses per second for the flood")
    ap.add_argument("--flood", type=int, default=10000, help="spoofed queries a round")
    ap.add_argument("--pace", type=int, default=2000, help="spoofed queries a second")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dot-seconds", type=int, default=10)
    ap.add_argument("--dot-rounds", type=int, default=3)
    ap.add_argument("--dot-dnsperf", default="-c 10 -q 100")
    ap.add_argument("--xot-rounds", type=int, default=3)
    ap.add_argument("--big-rrs", type=int, default=1000000, help="RRs of the zone transferred (xot)")
    ap.add_argument("--server-cpu", default="1")
    ap.add_argument("--client-cpu", default="0")
    ap.add_argument("--sched", default="none", help="how bench_drive scheduled the run (reported)")
    args = ap.parse_args()
    TERND = os.path.abspath(args.ternd)
    base = os.path.splitext(args.out)[0]
    if args.only == "report":  # the report again from the figures of the last run
        with open(base + ".json") as f:
            md = render(json.load(f))
        with open(args.out, "w") as f:
            f.write(md)
        print(md)
        return
    parts = [p for p in args.only.split(",") if p]
    if not parts or set(parts) - set(PARTS):
        ap.error("--only takes %s" % ", ".join(PARTS))
    res = {"machine": machine(args.work), "load_before": loadavg(), "ternd": ternd_version(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "server_cpu": args.server_cpu,
           "client_cpu": args.client_cpu, "sched": args.sched}
    data = os.path.join(args.work, "data")
    if parts != ["amp"]:
        big = args.big_rrs if "xot" in parts and ternd_xot_keys() else 10
        log("generating bench.test, the query mix and a %d-RR big.test (bench/gen.py)" % big)
        run([PY, os.path.join(BENCH, "gen.py"), data, "--names", args.names, "--queries", max(args.queries, 20000),
             "--big-rrs", big], stdout=subprocess.DEVNULL)
    if "ipq" in parts:
        res["ipq"] = ipq(args, data)
    if "amp" in parts:
        res["knot_version"] = version(["knotd", "-V"], r"(\d+\.\d+\.\d+)")
        res["amp"] = amp(args)
    if "dot" in parts:
        res["nsd_version"] = version(["nsd", "-v"], r"version (\d+\.\d+\.\d+)")
        res["bind_version"] = version(["named", "-v"], r"BIND (\d+\.\d+\.\d+)")
        res["dot"] = dot(args, data)
    if "xot" in parts:
        res["bind_version"] = version(["named", "-v"], r"BIND (\d+\.\d+\.\d+)")
        res["xot"] = xot(args, data)
    res["load_after"] = loadavg()
    old = {}
    if os.path.exists(base + ".json") and set(parts) != set(PARTS):
        with open(base + ".json") as f:
            old = json.load(f)  # a partial run keeps the other parts' figures
    for k, v in old.items():
        res.setdefault(k, v)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    md = render(res)
    with open(args.out, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
