"""A SIGHUP publishes the whole new configuration: every key marked reloadable takes effect (the API's
rate limit and request timeout, the TCP idle timeout), and a key that needs a restart is named in
a warning. ternd --keys prints the reference README.md holds, key for key."""
import os
import re
import signal
import socket
import subprocess
import time

import yaml

import ternlib
from apilib import ApiTernd, keys  # noqa: F401 (the keys fixture)
from ternlib import ZONES, wait_log

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")


def set_api(srv, **opts):
    """Rewrites srv's configuration with new api options and sends SIGHUP; waits for the reload."""
    srv.api_opts.update(opts)
    srv.write_config(["127.0.0.1@%d" % srv.port], srv.extra)
    done = srv.log_text().count("reload done")
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while srv.log_text().count("reload done") <= done:
        assert time.time() < deadline, srv.log_text()[-3000:]
        time.sleep(0.02)


def closed_within(sock, seconds):
    """Whether the peer closes sock (or answers and closes) within seconds."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def make_server(keys, tmp_path, server_extra, **api):  # noqa: F811
    srv = ApiTernd(keys, workdir=str(tmp_path), zones={"example.com": os.path.join(ZONES, "example.com.zone")},
                   api=api, extra_server=server_extra)
    srv.extra = server_extra
    return srv


def test_sighup_applies_the_api_rate_limit(keys, tmp_path):  # noqa: F811
    srv = make_server(keys, tmp_path, "", **{"rate-limit": 0})
    srv.start()
    try:
        api = srv.api(keys.token("limited"))
        for _ in range(5):
            assert api.get("/api/v1/zones").status == 200  # no limit
        set_api(srv, **{"rate-limit": 1, "rate-burst": 1})
        statuses = [api.get("/api/v1/zones").status for _ in range(4)]
        assert 429 in statuses, "rate-limit 1 after SIGHUP not applied: %s" % statuses
        set_api(srv, **{"rate-limit": 0})
        assert all(api.get("/api/v1/zones").status == 200 for _ in range(5))
    finally:
        assert srv.stop() == 0


def test_sighup_applies_timeouts(keys, tmp_path):  # noqa: F811
    srv = make_server(keys, tmp_path, "tcp-idle-timeout: 60", **{"request-timeout": 60})
    srv.start()
    try:
        srv.extra = "tcp-idle-timeout: 1"
        set_api(srv, **{"request-timeout": 1})
        dns_conn = socket.create_connection((srv.addr, srv.port), timeout=5)
        http_conn = socket.create_connection(("127.0.0.1", srv.api_port), timeout=5)
        http_conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        start = time.time()
        assert closed_within(dns_conn, 4), "tcp-idle-timeout 1 after SIGHUP not applied"
        assert closed_within(http_conn, 4), "api.request-timeout 1 after SIGHUP not applied"
        assert time.time() - start < 5
        dns_conn.close()
        http_conn.close()
    finally:
        assert srv.stop() == 0


def test_sighup_names_each_key_that_needs_a_restart(keys, tmp_path):  # noqa: F811
    srv = make_server(keys, tmp_path, "udp-workers: 1", **{"max-clients": 100})
    srv.start()
    try:
        srv.extra = "udp-workers: 2\ntcp-idle-timeout: 5"
        set_api(srv, **{"max-clients": 50, "journal-keep": 10})
        log = srv.log_text()
        assert "server.udp-workers changed: restart ternd to apply it" in log, log[-2000:]
        assert "api.max-clients changed: restart ternd to apply it" in log, log[-2000:]
        assert "tcp-idle-timeout changed" not in log and "journal-keep changed" not in log, log[-2000:]
        assert srv.query("example.com", "SOA").answer  # still serving
    finally:
        assert srv.stop() == 0


def reference_rows(text):
    return [line for line in text.splitlines() if line.startswith("| `")]


def test_readme_reference_is_the_table_of_keys():
    """README's reference is what ternd --keys prints, row for row: every key with its type, range,
    default and whether a reload applies it; and the example configuration uses only those keys."""
    out = subprocess.run([ternlib.TERND, "--keys"], capture_output=True, text=True, timeout=10, check=True).stdout
    with open(README) as f:
        readme = f.read()
    table = reference_rows(out)
    assert table and len(table) > 40
    documented = reference_rows(readme)
    missing = [r for r in table if r not in documented]
    extra = [r for r in documented if r not in table]
    assert not missing, "keys not in README.md (paste ternd --keys):\n" + "\n".join(missing)
    assert not extra, "README.md rows that are not keys of ternd:\n" + "\n".join(extra)
    keys_known = {re.match(r"\| `([^`]+)`", r).group(1) for r in table}
    example = re.search(r"## Configuration reference.*?```yaml\n(.*?)```", readme, re.S).group(1)

    def walk(node, prefix):
        if isinstance(node, dict):
            for k, v in node.items():
                path = prefix + "." + k if prefix else k
                if not isinstance(v, dict):
                    assert path in keys_known, "README example key %s is not a key of ternd" % path
                walk(v, path)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, dict):
                    walk(item, prefix + "[]")

    walk(yaml.safe_load(example), "")
