"""A ternd zone with DYN resources rendered by `tern geo render-knot` and served by Knot with
mod-geoip, for the tests that compare the two servers answer by answer (test_dyn_knot*.py)."""
import contextlib
import os

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest

from knotlib import Knot, knotd_available
from test_cli import SANITIZER_MARKERS, Server, ok, tern

GEOIP_MODULE = "/usr/lib/x86_64-linux-gnu/knot/modules-3.2/geoip.so"


@contextlib.contextmanager
def rendered_pair(base, zone_text, extra_config="", render_args=(), ready=None, zone="geo.test"):
    """A ternd (test_cli.Server with extra_config) holding zone from zone_text, and Knot serving what
    `tern geo render-knot ZONE --dir D *render_args` wrote: yields (server, knot, D, the command's
    stdout, stderr). ready(server) runs before the zone is made."""
    if not knotd_available():
        pytest.skip("no knotd")
    if not os.path.exists(GEOIP_MODULE):
        pytest.fail("knot-module-geoip is not installed (make deps installs it)")
    zf = base / ("%s.in" % zone)
    zf.write_text(zone_text)
    s = Server(extra_config=extra_config)
    knot = None
    try:
        if ready:
            ready(s)
        ok(s, "zone", "create", zone, "--file", str(zf))
        out = base / "knot"
        out.mkdir()
        code, stdout, stderr = tern(s, "geo", "render-knot", zone, "--dir", str(out), *render_args, expect=0)
        knot = Knot(workdir=str(base / "knotd"))
        knot.write_config(["template:", "  - id: default", "    storage: \"%s\"" % knot.storage,
                           "    zonefile-sync: -1", "    zonefile-load: whole", "    journal-content: none",
                           "    semantic-checks: off",
                           "include: \"%s\"" % (out / ("%s.knot.conf" % zone))],
                          server=["answer-rotation: off", "udp-max-payload: 1232"])
        knot.start().wait_soa(zone + ".")
        yield s, knot, out, stdout, stderr
    finally:
        if knot is not None:
            knot.stop()
        log = s.stop()
        for m in SANITIZER_MARKERS:
            assert m not in log, log


def ask(port, name, rdtype, ecs=None):
    """(rcode, addresses, TTLs, ECS scopes) of name/rdtype asked at 127.0.0.1@port with Client
    Subnet ecs = (address, source prefix), or none."""
    opts = [dns.edns.ECSOption(*ecs)] if ecs else []
    q = dns.message.make_query(name, rdtype, use_edns=0, options=opts)
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    got = sorted(rd.address for rrset in r.answer for rd in rrset if rrset.rdtype in (1, 28))
    ttls = sorted({rrset.ttl for rrset in r.answer})
    scope = [o.scopelen for o in r.options if o.otype == dns.edns.ECS]
    return dns.rcode.to_text(r.rcode()), got, ttls, scope
