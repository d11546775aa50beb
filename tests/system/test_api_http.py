"""The API's HTTP/1.1 server on the wire: keep-alive and pipelined requests answered in order,
HEAD, chunked bodies, Expect: 100-continue, HTTP/1.0, and every malformed request refused with a
JSON error naming its problem (400, 413, 417, 431, 501, 505) and the connection closed."""
import json
import socket
import subprocess
import time

import pytest

import ternlib
from apilib import keys, server_fixture  # noqa: F401

srv = server_fixture()


def exchange(port, data, wait=3.0):
    """Sends data, reads until the server closes (or wait passes); returns the bytes and whether it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out, deadline = b"", time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except socket.timeout:
                return out, False
            if not d:
                return out, True
            out += d
        return out, False


def responses(data, heads=()):
    """[(status, {field: value}, body)] of the responses in data, in order; heads: the indexes of
    answers to HEAD, which have a Content-Length but no body."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, "a response without the end of its head: %r" % data[:200]
        lines = head.decode("latin-1").split("\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        n = int(fields.get("content-length", "0"))
        status = int(lines[0].split(" ")[1])
        if status == 100:
            out.append((100, fields, b""))
            data = rest
            continue
        if len(out) in heads:
            n = 0
        out.append((status, fields, rest[:n]))
        data = rest[n:]
    return out


def test_keep_alive_pipelined_and_head(srv, keys):  # noqa: F811
    tok = keys.token("http-tenant")
    reqs = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /api/v1/zones?limit=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok.encode() + b"\r\n\r\n"
            b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data, closed = exchange(srv.api_port, reqs)
    r = responses(data, heads=(2,))
    assert [x[0] for x in r] == [200, 200, 200, 404], data
    assert json.loads(r[0][2])["status"] == "ok"
    assert "zones" in json.loads(r[1][2])
    assert r[2][2] == b"" and int(r[2][1]["content-length"]) > 0  # HEAD: the length, no body
    assert r[3][1].get("connection") == "close" and closed
    assert all("date" in x[1] for x in r)


def test_chunked_body_and_expect_continue(srv, keys):  # noqa: F811
    tok = keys.token("http-tenant").encode()
    body = json.dumps({"name": "chunked.test"}).encode()
    chunked = b"%x;ext=1\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    data, _ = exchange(srv.api_port, b"POST /api/v1/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
                       b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    r = responses(data)
    assert r[0][0] == 201, data
    # Expect: 100-continue gets its interim answer before the body is sent
    with socket.create_connection(("127.0.0.1", srv.api_port), timeout=3) as s:
        s.sendall(b"DELETE /api/v1/zones/chunked.test HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok +
                  b"\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"{}")
        r = responses(s.recv(65536))
        assert r[0][0] in (200, 204), r


def test_http10(srv):
    data, closed = exchange(srv.api_port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert responses(data)[0][0] == 200 and closed  # 1.0 without keep-alive: closed after the answer
    data, closed = exchange(srv.api_port, b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", wait=1)
    r = responses(data)
    assert r[0][0] == 200 and r[0][1].get("connection") == "keep-alive" and not closed


@pytest.mark.parametrize("request_bytes,status,message", [
    pytest.param(b"GET /healthz HTTP/1.1\r\n\r\n", 400, "no Host header field", id="no-host"),
    pytest.param(b"GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n", 505, "HTTP version 3.0 is not supported", id="http-3.0"),
    pytest.param(b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
     400, "request target healthz is not a path", id="not-a-path"),
    pytest.param(b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad percent-encoding in the path", id="bad-percent"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "folded", id="folded"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "both Content-Length and Transfer-Encoding", id="length-and-chunked"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
     501, "Transfer-Encoding gzip is not supported", id="gzip"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n",
     413, "request body larger than 1048576 bytes", id="length-too-large"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413,
     "request body larger than 1048576 bytes", id="chunk-too-large"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     400, "bad chunk size", id="bad-chunk-size"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n",
     417, "Expect something is not supported", id="expect"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 17000 + b"\r\n\r\n",
     431, "request header larger than 16384 bytes", id="header-too-large"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X%d: 1\r\n" % i for i in range(70)) + b"\r\n", 431,
     "more than 64 header fields", id="too-many-fields"),
])
def test_malformed_requests_get_json_errors(srv, request_bytes, status, message):
    data, closed = exchange(srv.api_port, request_bytes)
    r = responses(data)
    assert len(r) == 1, data
    got, fields, body = r[0]
    assert got == status, data
    err = json.loads(body)["error"]
    assert err["status"] == status and message in err["message"], err
    assert fields.get("content-type") == "application/json" and fields.get("connection") == "close"
    assert closed, "the connection stays open after a %d" % status


def check(tmp_path, api_lines):
    path = tmp_path / "ternd.yaml"
    path.write_text("server:\n  listen: [\"127.0.0.1@53000\"]\napi:\n  listen: 127.0.0.1@8053\n" + api_lines)
    r = subprocess.run([ternlib.TERND, "--check", "-c", str(path)], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr, str(path)


@pytest.mark.parametrize("api_lines,line,message", [
    ("  max-clients: 0\n", 5, "api.max-clients: 0 is out of range 1..65536"),
    ("  max-clients-per-address: 100000\n", 5, "api.max-clients-per-address: 100000 is out of range 1..65536"),
    ("  max-clients: 16\n  max-clients-per-address: 64\n", 6,
     "api.max-clients-per-address: 64 is more than api.max-clients (16)"),
    ("  request-timeout: 0\n", 5, "api.request-timeout: 0 is out of range 1..3600"),
    ("  idle-timeout: soon\n", 5, "api.idle-timeout: \"soon\" is not a number"),
])
def test_limit_config_errors_name_file_line(tmp_path, api_lines, line, message):
    rc, out, path = check(tmp_path, api_lines)
    assert rc == 1 and "%s:%d: %s" % (path, line, message) in out, out


def test_limit_config_accepted(tmp_path):
    # a small max-clients alone takes the per-address default down with it
    rc, out, _ = check(tmp_path, "  max-clients: 16\n  request-timeout: 3600\n  idle-timeout: 1\n")
    assert rc == 0, out
