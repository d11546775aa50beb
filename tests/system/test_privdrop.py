"""ternd started as root (issue 19): with server.user it becomes that user before it opens a zone,
the store or a socket, keeping CAP_NET_BIND_SERVICE alone until its sockets are bound, then none --
/proc shows the uids, gids, groups and capabilities, port 53 bound before that answers over UDP and
TCP, the store's files belong to the user;
without server.user it refuses to run as root unless told (server.user: root, TERND_ALLOW_ROOT=1);
a user or group that does not exist, or a data directory the user cannot write, is named by
`ternd --check` and by the start, which then serves nothing."""
import os
import pathlib
import random
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from apilib import Keys
from sysutil import bind_udp_tcp
from ternlib import TERND, free_port, terminate

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

NOBODY, NOGROUP = 65534, 65534
ZONE = "$ORIGIN priv.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n"


@pytest.fixture
def world():
    """A directory the user nobody can reach (pytest's own are root's alone: mode 700), holding the
    API's JWKS; removed afterwards."""
    d = tempfile.mkdtemp(prefix="privdrop-")
    os.chmod(d, 0o755)
    keys = Keys(os.path.join(d, "keys"))
    os.chmod(os.path.join(d, "keys"), 0o755)
    os.chmod(keys.jwks, 0o644)
    try:
        yield d, keys.jwks
    finally:
        shutil.rmtree(d, ignore_errors=True)


def env_without_allow():
    env = dict(os.environ)
    env.pop("TERND_ALLOW_ROOT", None)
    return env


def port53_address():
    """A loopback address where port 53 is free for UDP and TCP (bound by nothing here)."""
    for _ in range(50):
        addr = "127.53.%d.%d" % (random.randrange(1, 250), random.randrange(1, 250))
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind((addr, 53))
                t.bind((addr, 53))
            return addr
        except OSError:
            continue
    pytest.skip("no loopback address with port 53 free")


def config(tmp_path, listen, extra="", api_dir=None, jwks=None):
    (tmp_path / "priv.test.zone").write_text(ZONE)
    os.chmod(tmp_path / "priv.test.zone", 0o644)
    text = 'server:\n  listen: ["%s"]\n%szones:\n  - name: priv.test\n    file: %s\n' % (
        listen, extra, tmp_path / "priv.test.zone")
    if api_dir:
        text += 'api:\n  listen: "127.0.0.1@%d"\n  data-dir: "%s"\n  jwks: "%s"\n' % (free_port(), api_dir, jwks)
    path = tmp_path / "ternd.yaml"
    path.write_text(text)
    return str(path)


def status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def thread_status(pid):
    """/proc status of each thread of pid, by thread id (threads that end meanwhile left out)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                out[tid] = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except FileNotFoundError:
            pass
    return out


def run(argv, env=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_refuses_root_unless_told(tmp_path):
    conf = config(tmp_path, "127.0.0.1@%d" % free_port())
    for argv in ([TERND, "--check", "-c", conf], [TERND, "-c", conf]):
        r = run(argv, env_without_allow())
        assert r.returncode == 1, r
        assert "started as root: set server.user" in r.stderr and "server.user: root" in r.stderr, r.stderr
    # told: server.user: root, or TERND_ALLOW_ROOT=1
    conf = config(tmp_path, "127.0.0.1@%d" % free_port(), extra="  user: root\n")
    assert run([TERND, "--check", "-c", conf], env_without_allow()).returncode == 0
    allowed = dict(env_without_allow(), TERND_ALLOW_ROOT="1")
    conf = config(tmp_path, "127.0.0.1@%d" % free_port())
    assert run([TERND, "--check", "-c", conf], allowed).returncode == 0


def test_becomes_the_user_and_still_binds_port_53(world):
    tmp_path = pathlib.Path(world[0])
    addr = port53_address()
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, NOBODY, NOGROUP)
    conf = config(tmp_path, "%s@53" % addr, extra="  user: nobody\n  group: nogroup\n", api_dir=str(data),
                  jwks=world[1])
    r = run([TERND, "--check", "-c", conf], env_without_allow())
    assert r.returncode == 0, r.stdout + r.stderr
    log = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", conf], stdout=log, stderr=subprocess.STDOUT, env=env_without_allow())
    try:
        q = dns.message.make_query("priv.test.", "SOA")
        deadline = time.time() + 20
        while True:
            assert proc.poll() is None, open(tmp_path / "ternd.log").read()
            try:
                udp = dns.query.udp(q, addr, port=53, timeout=0.5)
                break
            except Exception:
                assert time.time() < deadline, open(tmp_path / "ternd.log").read()
                time.sleep(0.1)
        tcp = dns.query.tcp(q, addr, port=53, timeout=3)
        assert udp.rcode() == tcp.rcode() == dns.rcode.NOERROR and udp.answer and tcp.answer
        st = status(proc.pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(NOGROUP)] * 4, st["Gid"]
        assert st["Groups"].split() == [str(NOGROUP)], st["Groups"]
        # port 53 was bound with CAP_NET_BIND_SERVICE, kept through the drop for that alone, and
        # given up once the sockets were bound: none is left, and the sockets still answer
        for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            assert int(st[cap], 16) == 0, (cap, st)
        assert dns.query.udp(q, addr, port=53, timeout=2).answer
        assert st["NoNewPrivs"].strip() == "1", st
        # every thread too (credentials, capabilities above all, are per thread on Linux)
        for tid, st in thread_status(proc.pid).items():
            assert st["Uid"].split() == [str(NOBODY)] * 4, (tid, st["Uid"])
            for cap in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
                assert int(st[cap], 16) == 0, (tid, cap, st)
        # the store was made by the user
        deadline = time.time() + 10
        while not (data / "tern.db").exists():
            assert time.time() < deadline, os.listdir(data)
            time.sleep(0.05)
        assert os.stat(data / "tern.db").st_uid == NOBODY
        text = open(tmp_path / "ternd.log").read()
        assert "running as user nobody (uid 65534), group nogroup (gid 65534), keeping only CAP_NET_BIND_SERVICE" \
            in text, text
    finally:
        terminate(proc)
        log.close()
    assert proc.returncode == 0


@pytest.mark.parametrize("extra, message", [
    ("  user: no-such-tern-user\n", 'server.user: there is no user "no-such-tern-user" on this system'),
    ("  user: nobody\n  group: no-such-tern-group\n", 'server.group: there is no group "no-such-tern-group"'),
    ("  group: nogroup\n", 'server.group "nogroup" needs server.user'),
])
def test_unknown_user_or_group_is_named(tmp_path, extra, message):
    conf = config(tmp_path, "127.0.0.1@%d" % free_port(), extra=extra)
    for argv in ([TERND, "--check", "-c", conf], [TERND, "-c", conf]):
        r = run(argv, env_without_allow())
        assert r.returncode == 1 and message in r.stderr, (argv, r.stderr)


def test_a_data_directory_the_user_cannot_write_is_named(world):
    tmp_path = pathlib.Path(world[0])
    data = tmp_path / "data"
    data.mkdir(mode=0o700)  # root's alone
    port = free_port()
    conf = config(tmp_path, "127.0.0.1@%d" % port, extra="  user: nobody\n", api_dir=str(data), jwks=world[1])
    for argv in ([TERND, "--check", "-c", conf], [TERND, "-c", conf]):
        r = run(argv, env_without_allow())
        assert r.returncode == 1, (argv, r)
        assert "api.data-dir %s: nobody cannot make files in %s" % (data, data) in r.stderr, r.stderr
        assert "mode 700" in r.stderr, r.stderr
    assert os.listdir(data) == []  # nothing was written
    # nothing answers either: the start stopped before any socket
    with pytest.raises(Exception):
        dns.query.udp(dns.message.make_query("priv.test.", "SOA"), "127.0.0.1", port=port, timeout=0.5)


def test_a_start_without_the_capability_is_named(world):
    """As systemd starts it (not root, user nobody): without CAP_NET_BIND_SERVICE port 53 is named
    by --check and the start, which serves nothing; with it (AmbientCapabilities, here setpriv's
    --ambient-caps) ternd binds port 53 and answers."""
    tmp_path = pathlib.Path(world[0])
    addr = port53_address()
    conf = config(tmp_path, "%s@53" % addr)
    as_nobody = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOGROUP, "--clear-groups"]
    for argv in ([TERND, "--check", "-c", conf], [TERND, "-c", conf]):
        r = run(as_nobody + argv, env_without_allow())
        assert r.returncode == 1, (argv, r)
        assert "%s@53: ports below 1024 need root or CAP_NET_BIND_SERVICE, which ternd (uid %d) does not have" % (
            addr, NOBODY) in r.stderr, r.stderr
    with_cap = as_nobody + ["--inh-caps", "+net_bind_service", "--ambient-caps", "+net_bind_service"]
    r = run(with_cap + [TERND, "--check", "-c", conf], env_without_allow())
    assert r.returncode == 0, r.stderr
    proc = subprocess.Popen(with_cap + [TERND, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env_without_allow())
    try:
        deadline = time.time() + 20
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                r = dns.query.udp(dns.message.make_query("priv.test.", "SOA"), addr, port=53, timeout=0.5)
                break
            except Exception:
                assert time.time() < deadline
                time.sleep(0.1)
        assert r.answer
        st = status(proc.pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4
        assert int(st["CapEff"], 16) == 0 and int(st["CapAmb"], 16) == 0, st  # given up after binding
    finally:
        terminate(proc)


def test_no_capability_is_held_when_the_first_packet_is_read(world):
    """Sockets first, then nothing: ternd (as nobody, port 53) refreshes a secondary zone from a
    primary that is this test. When ternd's first question reaches it, no thread of ternd holds
    a capability any more (before, the transfer threads were started, and read their answers,
    while CAP_NET_BIND_SERVICE was still held); the log says the sockets were bound first."""
    tmp_path = pathlib.Path(world[0])
    addr = port53_address()
    udp, tcp, port = bind_udp_tcp()
    seen = []

    def watch():  # the first question, over UDP (SOA) or TCP (a transfer)
        if select.select([udp, tcp], [], [], 20)[0]:
            seen.append(thread_status(proc.pid))

    conf = config(tmp_path, "%s@53" % addr, extra="  user: nobody\n  group: nogroup\n")
    copies = tmp_path / "copies"
    copies.mkdir()
    os.chown(copies, NOBODY, NOGROUP)
    with open(conf, "a") as f:
        f.write("  - name: sec.test\n    primary: [\"127.0.0.1@%d\"]\n    file: %s/sec.test.zone\n" % (port, copies))
    log = open(tmp_path / "ternd.log", "w")
    proc = subprocess.Popen([TERND, "-c", conf], stdout=log, stderr=subprocess.STDOUT,
                            env=env_without_allow())
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        t.join(25)
        text = open(tmp_path / "ternd.log").read()
        assert seen, "no question from ternd reached its primary:\n" + text
        for tid, st in seen[0].items():
            for cap in ("CapEff", "CapPrm", "CapAmb"):
                assert int(st[cap], 16) == 0, (tid, cap, st)
        assert text.index("sockets bound") < text.index("sec.test"), text
    finally:
        terminate(proc)
        log.close()
        udp.close()
        tcp.close()
