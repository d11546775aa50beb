"""API writes while SIGHUP reloads zone files: both publish through zones_publish(). The API's
thread is an RCU reader; were it to wait for the publisher's lock while online, the publisher's
grace period would wait for it in turn (a deadlock the soak found)."""
import http.client
import json
import os
import signal
import sys
import threading
import time

from ternlib import ZONES, Ternd, free_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import devtoken  # noqa: E402


def test_api_writes_during_reloads_never_stall(tmp_path):
    aport = free_port()
    key, jwks = devtoken.ensure_keys(str(tmp_path / "keys"))
    tok = devtoken.token(key, "t")
    t = Ternd({"example.com": os.path.join(ZONES, "example.com.zone")}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("api:\n  listen: 127.0.0.1@%d\n  data-dir: %s\n  jwks: %s\n  nameservers: [ns1.r.test.]\n"
                "  rate-limit: 0\n  serial-policy: increment\n" % (aport, tmp_path / "data", jwks))
    with t:
        def call(method, path, body):
            c = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)
            c.request(method, path, json.dumps(body), {"Authorization": "Bearer " + tok})
            r = c.getresponse()
            data = r.read()
            c.close()
            assert r.status < 300, (r.status, data)

        call("POST", "/api/v1/zones", {"name": "r.test"})
        done, errors = threading.Event(), []

        def writer():
            i = 0
            try:
                while not done.is_set():
                    i += 1
                    call("PUT", "/api/v1/zones/r.test/rrsets/www/A", {"ttl": 60, "records": ["10.0.0.%d" % (i % 250)]})
            except Exception as e:  # a timeout here is the stall
                errors.append(repr(e))

        w = threading.Thread(target=writer)
        w.start()
        try:
            for _ in range(150):
                t.proc.send_signal(signal.SIGHUP)
                time.sleep(0.01)
            time.sleep(0.5)
        finally:
            done.set()
            w.join(timeout=15)
        assert not w.is_alive(), "an API write never returned: the server stalled"
        assert not errors, errors
        q = t.query("www.r.test", "A")
        assert q.answer
    assert t.proc.returncode == 0


def test_healthz_reports_secondary_zones(tmp_path):
    """A PoP's /healthz tells, per secondary zone, the state, the serial served and the transfer
    times; a zone whose primary does not answer is "loading" and not served."""
    aport, dead = free_port(), free_port()
    key, jwks = devtoken.ensure_keys(str(tmp_path / "keys"))
    t = Ternd({}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("  - name: pop.test\n    primary: [\"127.0.0.1@%d\"]\n    file: %s\n"
                "api:\n  listen: 127.0.0.1@%d\n  data-dir: %s\n  jwks: %s\n"
                % (dead, tmp_path / "pop.test.zone", aport, tmp_path / "data", jwks))
    with t:
        c = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)
        c.request("GET", "/healthz")
        h = json.loads(c.getresponse().read())
        sec = h["secondaries"]["pop.test."]
        assert sec["state"] == "loading" and sec["serving"] is False
        assert sec["last_transfer"] == 0 and "serial" in sec and "expires" in sec
