"""Slow clients against the API's HTTP server: 1,000 connections that each send a header byte a
second (slowloris) must not keep /healthz or the tenant API from answering a normal client within
100 ms, even one from an address the attack also uses; a request not complete by its deadline gets
a 408; one address holds at most max-clients-per-address connections, a new one evicting the least
advanced (libmicrohttpd's 256 connections and 30 s inactivity timeout let ~260 such clients deny
the whole API)."""
import json
import multiprocessing
import resource
import socket
import statistics
import time

import pytest

import subprocess

import ternlib
from apilib import ApiTernd, finish, keys, server_fixture  # noqa: F401

ATTACKERS = 1000
SAME_ADDRESS = 32  # attackers from 127.0.0.1, the normal client's address: its whole allowance
OTHER_ADDRESSES = ["127.0.0.%d" % i for i in range(2, 42)]  # 40 more, ~24 connections each
SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: "  # then one 'a' a second, never a CRLF


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect_from(port, src, timeout=3):
    """A connection to the API from source address src. The port is chosen at connect time, knowing
    the destination (IP_BIND_ADDRESS_NO_PORT): a port chosen at bind time may meet a connection of
    an earlier test in TIME_WAIT, and its SYN is then retried a second later."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def slow_connect(port, src):
    s = connect_from(port, src)
    s.setblocking(False)
    s.sendall(SLOW_HEAD[:1])
    return s


def closed_by_server(s):
    """True when the server closed s or answered it (a 408 or a 503); False while it waits."""
    timeout = s.gettimeout()
    s.setblocking(False)  # a timeout would make recv wait, even with MSG_DONTWAIT
    try:
        s.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.settimeout(timeout)
    return True  # data (a 408 or 503) or EOF


def attack(port, sources, stop, report):
    """One process (so the probes' timing does not share a GIL with it): keeps a slow connection open
    per entry of sources, each sending one more header byte a second; a connection the server
    closes is opened again. Reports (fewest open at once after the first 3 s, reconnects) at the end."""
    conns = [None] * len(sources)
    fewest, reconnects = len(sources), 0
    start = time.monotonic()
    try:
        while not stop.is_set():
            t0 = time.monotonic()
            open_now = 0
            for i, src in enumerate(sources):
                s = conns[i]
                if s is not None and closed_by_server(s):
                    s.close()
                    s, conns[i] = None, None
                    reconnects += 1
                if s is None:
                    try:
                        conns[i] = slow_connect(port, src)
                    except OSError:
                        continue
                else:
                    try:
                        conns[i].send(b"a")
                    except OSError:
                        conns[i].close()
                        conns[i] = None
                        continue
                open_now += 1
            if t0 - start > 3:
                fewest = min(fewest, open_now)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
    finally:
        report.put((fewest, reconnects))
        for s in conns:
            if s is not None:
                s.close()


def wait_gone(socks, at_least, timeout=5.0):
    """The indexes of socks the server closed, once at least that many are (and a moment more)."""
    gone, deadline, settle = set(), time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        gone |= {i for i, s in enumerate(socks) if i not in gone and closed_by_server(s)}
        if len(gone) >= at_least and settle is None:
            settle = time.monotonic() + 0.2
        if settle is not None and time.monotonic() >= settle:
            break
        time.sleep(0.02)
    return sorted(gone)


def timed_get(port, path, token=None, timeout=5.0):
    """(seconds, status, body) of one GET on a new connection from 127.0.0.1; status None on error."""
    headers = {"Host": "127.0.0.1"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = ("GET %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in headers.items())
           + "Connection: close\r\n\r\n").encode()
    t0 = time.monotonic()
    try:
        with connect_from(port, "127.0.0.1", timeout) as s:
            s.sendall(req)
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
    except OSError as e:
        return time.monotonic() - t0, None, repr(e).encode()
    elapsed = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ")[1])
    except (IndexError, ValueError):
        return elapsed, None, data[:200]
    return elapsed, status, body


# --- 1,000 slow clients, the defaults --------------------------------------------------------------

srv = server_fixture()


def test_slowloris_does_not_deny_the_api(srv, keys):  # noqa: F811
    raise_nofile(ATTACKERS + 1024)
    token = keys.token("slow-tenant")
    port = srv.api_port
    sources = ["127.0.0.1"] * SAME_ADDRESS
    sources += [OTHER_ADDRESSES[i % len(OTHER_ADDRESSES)] for i in range(ATTACKERS - SAME_ADDRESS)]
    stop, report = multiprocessing.Event(), multiprocessing.Queue()
    proc = multiprocessing.Process(target=attack, args=(port, sources, stop, report))
    proc.start()
    results = {"/healthz": [], "/api/v1/zones": []}
    failures = []
    try:
        time.sleep(4)  # every slow connection open and trickling
        # 12 s: past one request deadline (10 s), so the 408s and the attack's reconnections are included
        end = time.monotonic() + 12
        while time.monotonic() < end:
            for path, tok in (("/healthz", None), ("/api/v1/zones", token)):
                elapsed, status, body = timed_get(port, path, tok)
                results[path].append(elapsed)
                if elapsed > 0.05:
                    print("slow probe %s %.3f s at +%.1f s" % (path, elapsed, time.monotonic() - (end - 12)))
                if status != 200:
                    failures.append("%s: %s %r after %.3f s" % (path, status, body[:200], elapsed))
            time.sleep(0.25)
    finally:
        stop.set()
        fewest, reconnects = report.get(timeout=30)
        proc.join(10)
    summary = {p: "n=%d median %.1f ms p90 %.1f ms max %.1f ms" % (
        len(v), 1000 * statistics.median(v), 1000 * sorted(v)[int(0.9 * (len(v) - 1))], 1000 * max(v))
        for p, v in results.items()}
    print("slow connections open: at least %d; reconnected %d; %s" % (fewest, reconnects, summary))
    assert not failures, "requests failed under the attack (%s):\n%s" % (summary, "\n".join(failures[:10]))
    assert fewest >= ATTACKERS - 60, "the attack held only %d connections at a time" % fewest
    for path, v in results.items():
        # on a loaded 2-core machine under ASan a probe can lose its time slice now and then (a
        # full suite beside other work saw 3 of 29 over 100 ms): most answers within 250 ms, none
        # slower than a second (a denial is seconds, or no answer)
        within = sum(1 for x in v if x < 0.25)
        assert within >= 0.85 * len(v), "%s: only %d of %d answers within 250 ms (%s)" % (
            path, within, len(v), summary[path])
        assert max(v) < 1.0, "%s: an answer took %.3f s" % (path, max(v))


def test_per_address_limit_evicts_the_least_advanced(srv):
    """The default limit, 32 connections from one address: the 33rd evicts the oldest that has not
    sent a whole header, and a normal client from that address still gets in."""
    port = srv.api_port
    slow = [slow_connect(port, "127.0.0.9") for _ in range(36)]
    gone = wait_gone(slow, 4)
    assert gone == [0, 1, 2, 3], "evicted: %s (the first four, oldest, should be)" % gone
    elapsed, status, body = timed_get_from(port, "127.0.0.9")
    assert status == 200 and elapsed < 1.0, (status, body, elapsed)
    assert wait_gone(slow[4:], 1) == [0], "the good client should have evicted the oldest slow one left"
    # connections that sent a whole header (waiting for their body) are not evicted: at the limit,
    # the newcomer is refused instead, with a 503 naming the reason
    for s in slow:
        s.close()
    busy = []
    for _ in range(32):
        b = connect_from(port, "127.0.0.10")
        b.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        assert b.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # its head is in: it waits for its body
        busy.append(b)
    n = connect_from(port, "127.0.0.10")
    data, eof = read_all(n, 2)
    status, fields, body = response(data)
    assert status == 503 and eof and "too many connections from this address" in body["error"]["message"], data
    assert fields.get("retry-after") == "1", fields
    closed = [i for i, b in enumerate(busy) if closed_by_server(b)]
    assert not closed, "connections busy with a body were closed: %s" % closed
    for s in busy + [n]:
        s.close()


# --- deadlines and limits, with small numbers --------------------------------------------------------

small = server_fixture(api={"request-timeout": 2, "idle-timeout": 1, "max-clients-per-address": 8,
                            "max-clients": 24})


def read_all(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return data, True
            data += d
    except socket.timeout:
        return data, False


def response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return int(lines[0].split(" ")[1]), fields, json.loads(body) if body else None


@pytest.mark.parametrize("what", ["header", "body"])
def test_request_not_complete_by_its_deadline_gets_408(small, what):
    s = socket.create_connection(("127.0.0.1", small.api_port), timeout=5)
    t0 = time.monotonic()
    if what == "header":
        trickle = SLOW_HEAD + b"a" * 40
    else:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        trickle = b"x" * 40
    data, eof = b"", False
    for b in trickle:  # one byte every 0.1 s, for 4 s at most: the deadline is 2 s
        try:
            s.send(bytes([b]))
        except OSError:
            break
        s.settimeout(0.1)
        try:
            d = s.recv(65536)
            if d:
                data += d
            else:
                eof = True
                break
        except socket.timeout:
            pass
        if data:
            break
    more, eof2 = read_all(s, 3)
    elapsed = time.monotonic() - t0
    s.close()
    data += more
    status, fields, body = response(data)
    assert status == 408, data
    assert fields.get("connection") == "close" and fields.get("content-type") == "application/json", data
    assert body["error"]["status"] == 408 and "2000 ms" in body["error"]["message"], body
    assert eof or eof2, "the connection stays open after the 408"
    assert 1.8 <= elapsed < 3.5, "408 after %.2f s (deadline 2 s)" % elapsed


def test_total_limit_evicts_and_keeps_answering(small):
    port = small.api_port
    slow = []
    for i in range(40):  # 24 allowed in all, at most 8 of them per address
        slow.append(slow_connect(port, "127.0.1.%d" % (i % 5 + 1)))
    gone = wait_gone(slow, 40 - 24)
    assert len(gone) == 40 - 24, "%d of 40 closed, 24 of them should stay open" % len(gone)
    elapsed, status, body = timed_get_from(port, "127.0.2.1")
    assert status == 200 and elapsed < 1.0, (status, body, elapsed)
    for s in slow:
        s.close()


def timed_get_from(port, src):
    t0 = time.monotonic()
    with connect_from(port, src, 5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data, _ = read_all(s, 5)
    status, _, body = response(data)
    return time.monotonic() - t0, status, body


def test_idle_keep_alive_connection_evicted_quietly(srv):
    """An idle kept-alive connection is the least advanced of all when its address is at its limit,
    but it is closed without a word: a 503 there would be read as the answer to its next request."""
    port = srv.api_port
    k = connect_from(port, "127.0.0.11")
    k.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    k.settimeout(3)
    first = k.recv(65536)
    assert first.startswith(b"HTTP/1.1 200"), first
    time.sleep(0.1)
    slow = [slow_connect(port, "127.0.0.11") for _ in range(32)]  # the 32nd makes room by evicting k
    data, eof = read_all(k, 2)
    assert eof and data == b"", "the idle connection got %r" % data
    assert not any(closed_by_server(s) for s in slow)
    for s in slow + [k]:
        s.close()


def test_idle_keep_alive_connection_closed_after_idle_timeout(small):
    k = connect_from(small.api_port, "127.0.0.12")
    k.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    k.settimeout(3)
    assert k.recv(65536).startswith(b"HTTP/1.1 200")
    t0 = time.monotonic()
    data, eof = read_all(k, 4)
    took = time.monotonic() - t0
    k.close()
    assert eof and data == b"" and 0.8 <= took < 3, (data, eof, took)


class LimitedTernd(ApiTernd):
    """ApiTernd started under a given RLIMIT_NOFILE (soft, hard)."""

    def __init__(self, keys, nofile, **kw):  # noqa: F811
        self.nofile = nofile
        super().__init__(keys, **kw)

    def launch(self):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([ternlib.TERND, "-c", self.config], stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile))
        return self.proc


def soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no Max open files in /proc/%d/limits" % pid)


@pytest.mark.parametrize("nofile,max_clients,expect_soft,lowered_to", [
    # raised to fit max-clients, the DNS TCP clients (1024) and the rest of ternd (hard: as it is)
    ((300, None), 1024, 1024 + 1024 + 256, None),
    ((600, 600), 1024, 600, 16),  # cannot be raised: max-clients lowered to fit, and said so
])
def test_open_files_limit_fits_max_clients(tmp_path, keys, nofile, max_clients, expect_soft, lowered_to):  # noqa: F811
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if nofile[1] is None:
        if hard != resource.RLIM_INFINITY and hard < expect_soft:
            pytest.skip("the hard limit on open files (%d) is below %d" % (hard, expect_soft))
        nofile = (nofile[0], hard)
    srv = LimitedTernd(keys, nofile, workdir=str(tmp_path), api={"max-clients": max_clients})
    try:
        srv.start()
        assert soft_nofile(srv.proc.pid) >= expect_soft
        log = srv.log_text()
        if lowered_to is None:
            assert "lowered" not in log, log
        else:
            assert "API: open files limited to %d: max-clients 1024 lowered to %d" % (nofile[0], lowered_to) in log, log
        elapsed, status, body = timed_get_from(srv.api_port, "127.0.0.1")
        assert status == 200, body
    finally:
        finish(srv)
