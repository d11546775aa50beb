"""ksk-submission (issue 21): an API zone Tern signs with a KSK and a ZSK (short test timings): once
the next KSK of a rollover is ready and its DS not seen, ksk-submission is set for the zone with the key's tag, on the
hook and on D-Bus (the generic condition member, and Knot's zone_ksk_submission (s, u, s)); the
operator's ksk-submitted clears it."""
import os
import shutil
import time

import pytest

from apilib import ApiTernd, keys  # noqa: F401 (a fixture)
from test_signals import HookLog
from test_signals_dbus import Bus, condition

ZONE = "ksk.test."

pytestmark = pytest.mark.skipif(not shutil.which("dbus-daemon"), reason="dbus-daemon is not installed")


def test_ksk_submission_set_then_cleared(keys, tmp_path):  # noqa: F811
    h, hook = HookLog.in_dir(tmp_path)
    bus = Bus(tmp_path)
    os.makedirs(str(tmp_path / "ternd"), exist_ok=True)
    srv = ApiTernd(keys, workdir=str(tmp_path / "ternd"),
                   api={"serial-policy": "increment", "default-ttl": 10, "soa-minimum": 10},
                   extra_server="dnssec-test-timings: true\n")
    with open(srv.config, "a") as f:
        f.write('signals:\n  hooks:\n    - {condition: ksk-submission, exec: "%s"}\n'
                '  dbus:\n    enabled: true\n    bus: "%s"\n' % (hook, bus.address))
    try:
        srv.start()
        api = srv.api(keys.token("ksk"))
        api.create_zone(ZONE, rrsets=[{"name": "www", "type": "A", "ttl": 10, "records": ["192.0.2.1"]}])
        # a KSK rollover soon (the first KSK is taken as in use): its successor waits for its DS
        policy = {"zsk-lifetime": 3600, "ksk-lifetime": 20, "dnskey-ttl": 2, "max-zone-ttl": 10,
                  "propagation-delay": 1, "ds-ttl": 3}
        assert api.put("/api/v1/zones/%s/dnssec" % ZONE, policy).status == 202
        line = h.wait(lambda l: l[1:3] == ["ksk-submission", "set"], "ksk-submission set", timeout=90)
        assert line[3] == ZONE
        argv = line[0].split(" ")
        assert argv[:2] == ["ksk-submission", "set"] and argv[2].startswith("keytag="), argv
        tag = int(argv[2].split("=", 1)[1])
        doc = api.get("/api/v1/zones/%s/dnssec" % ZONE).json
        ready = [k for k in doc["keys"] if k["role"] == "ksk" and k["state"] == "ready" and not k["ds-seen"]]
        assert [k["tag"] for k in ready] == [tag], doc["keys"]
        m = bus.wait(lambda m: condition(m, "ksk-submission", "set", ZONE), "the condition member")
        knot = bus.wait(lambda m: m["interface"] == "org.tern.ternd.events" and m["member"] == "zone_ksk_submission",
                        "zone_ksk_submission")
        assert [t for t, _ in knot["args"]] == ["s", "u", "s"], knot
        assert knot["args"][0][1] == ZONE and knot["args"][1][1] == tag, knot
        assert m is not None
        # the operator confirms the DS: cleared
        assert api.post("/api/v1/zones/%s/dnssec/ksk-submitted" % ZONE, {}).status == 200
        h.wait(lambda l: l[1:4] == ["ksk-submission", "clear", ZONE], "ksk-submission clear", timeout=60)
        bus.wait(lambda m: condition(m, "ksk-submission", "clear", ZONE), "the clear on D-Bus")
    finally:
        srv.stop()
        bus.stop()
    assert "AddressSanitizer" not in srv.log_text()
