"""A control node polling ternd PoPs' /healthz (pops: in its configuration) and the PoPs, secondaries
of a primary with an api section for /healthz only (test_pops.py, test_pop_monitors.py)."""
import http.client

from apilib import ApiTernd, wait_api
from ternlib import Ternd

class Control(ApiTernd):
    """The control node: ApiTernd plus transfer and pops sections (extra YAML)."""

    def __init__(self, keys, extra, **kw):
        self.extra = extra
        super().__init__(keys, **kw)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        with open(self.config, "a") as f:
            f.write(self.extra)


class Pop(Ternd):
    """A PoP: secondary zones pulled from primary, an api section with only listen (/healthz), and
    more top-level YAML lines (extra)."""

    def __init__(self, zones, primary, health_port, extra=(), **kw):
        self.secondaries, self.primary, self.health_port, self.extra = zones, primary, health_port, list(extra)
        super().__init__({}, **kw)

    def write_config(self, listen, extra_server=""):
        super().write_config(listen, extra_server)
        lines = []
        for z in self.secondaries:
            lines += ["  - name: \"%s\"" % z, "    primary: [\"%s\"]" % self.primary]
        lines += ["api:", "  listen: \"127.0.0.1@%d\"" % self.health_port] + self.extra
        with open(self.config, "a") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        super().start()
        wait_api(self.health_port, self.proc)
        return self

    def healthz(self, path="/healthz"):
        c = http.client.HTTPConnection("127.0.0.1", self.health_port, timeout=5)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body
