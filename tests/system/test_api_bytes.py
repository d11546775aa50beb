"""Error messages quote what the client sent, which need not be UTF-8; the JSON error must still
be there (found by fuzzing api_parse_change: a non-UTF-8 name lost the whole error body)."""
import http.client
import json
import os
import sys

from ternlib import Ternd, free_port

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import devtoken  # noqa: E402


def test_non_utf8_input_still_gets_a_json_error(tmp_path):
    aport = free_port()
    key, jwks = devtoken.ensure_keys(str(tmp_path / "keys"))
    tok = devtoken.token(key, "t")
    t = Ternd({}, workdir=str(tmp_path))
    with open(t.config, "a") as f:
        f.write("api:\n  listen: 127.0.0.1@%d\n  data-dir: %s\n  jwks: %s\n  nameservers: [ns1.b.test.]\n"
                % (aport, tmp_path / "data", jwks))
    with t:
        def call(method, path, body):
            c = http.client.HTTPConnection("127.0.0.1", aport, timeout=10)
            c.request(method, path, body, {"Authorization": "Bearer " + tok})
            r = c.getresponse()
            return r.status, r.read()

        assert call("POST", "/api/v1/zones", json.dumps({"name": "b.test"}))[0] == 201
        # a bad name with a Latin-1 byte in the URL (empty label), and bad record text with one in the body
        for path, body in (("/api/v1/zones/b.test/rrsets/%E9..x/A", '{"ttl":60,"records":["192.0.2.1"]}'),
                           ("/api/v1/zones/b.test/rrsets/www/TXT", b'{"ttl":60,"records":["\\"caf\xe9\\" ("]}')):
            status, data = call("PUT", path, body)
            assert 400 <= status < 500, (status, data)
            err = json.loads(data)["error"]
            assert err["message"] and err["status"] == status, data
