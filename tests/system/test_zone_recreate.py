"""A zone deleted and created again starts above every serial it had (RFC 1982), whatever the
serial policy, from the defaults or from a zone file, across a restart of ternd between the
deletion and the creation: the store remembers each deleted name's last serial. Knot, a secondary
that held the old zone, refreshes to the new one."""
import pytest

from apilib import ApiTernd, finish, keys, serial_gt, soa_serial, zonefile  # noqa: F401 (fixture)
from knotlib import KnotSecondary, knotd_available
from ternlib import free_port
from xfrlib import api_primary, axfr_records, wait_serial

ZONE = "again.test"


def restart(s):
    s.stop()
    s.start()


@pytest.mark.parametrize("policy", ["increment", "date"])
def test_recreated_zone_starts_above_its_past_serials(tmp_path, keys, policy):  # noqa: F811
    s = ApiTernd(keys, workdir=str(tmp_path), api={"serial-policy": policy})
    s.start()
    try:
        api = s.api(keys.token("t1"))
        api.create_zone(ZONE)
        for i in range(3):
            api.put_rrset(ZONE, "www", "A", 300, ["192.0.2.%d" % (i + 1)])
        old = api.serial(ZONE)
        export = api.get("/api/v1/zones/%s/export" % ZONE).body.decode()
        assert api.delete("/api/v1/zones/" + ZONE).status == 204
        restart(s)
        api = s.api(keys.token("t1"))

        # from the defaults
        new = api.create_zone(ZONE)["serial"]
        assert serial_gt(new, old), "re-created at %d, not above %d (policy %s)" % (new, old, policy)
        assert soa_serial(s, ZONE) == new
        api.put_rrset(ZONE, "www", "A", 300, ["192.0.2.9"])
        newest = api.serial(ZONE)
        assert serial_gt(newest, new)

        # from the zone file exported before the deletion (its serial is the old one)
        assert api.delete("/api/v1/zones/" + ZONE).status == 204
        r = api.post("/api/v1/zones", {"name": ZONE, "zonefile": export})
        assert r.status == 201, r
        assert serial_gt(r.json["serial"], newest), (r.json["serial"], newest)
        assert soa_serial(s, ZONE) == r.json["serial"]
        assert api.rrsets(ZONE)["rrsets"][-1]["records"] == ["192.0.2.3"]  # the file's content

        # a zone file whose serial is above the past one keeps it
        past = r.json["serial"]
        assert api.delete("/api/v1/zones/" + ZONE).status == 204
        restart(s)
        api = s.api(keys.token("t1"))
        ahead = (past + 1000) % 2 ** 32
        text = zonefile(ZONE, "www 60 IN A 192.0.2.77").replace(" 1 7200 ", " %d 7200 " % ahead)
        r = api.post("/api/v1/zones", {"name": ZONE, "zonefile": text})
        assert r.status == 201 and r.json["serial"] == ahead, r
        # another name is not held back by this one's past
        other = api.create_zone("other.test")["serial"]
        assert other == 1 if policy == "increment" else other % 100 == 0, other
        api.close()
    finally:
        finish(s)


@pytest.mark.skipif(not knotd_available(), reason="knotd not installed")
def test_secondary_refreshes_to_the_recreated_zone(tmp_path, keys):  # noqa: F811
    """Knot holds the old zone at serial S; the zone is deleted, ternd restarts, the zone comes back
    with other data: Knot, told by NOTIFY, transfers it and serves what ternd serves."""
    kport = free_port()
    s, api = api_primary(keys, tmp_path / "ternd", ["127.0.0.1@%d" % kport], ZONE,
                         [{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    knot = KnotSecondary(tmp_path / "knot", ZONE, s.port, port=kport, transfer=True)
    try:
        knot.start()
        knot_log = lambda: knot.log_text()[-4000:]  # noqa: E731
        for i in range(2, 6):
            api.put_rrset(ZONE, "www", "A", 300, ["192.0.2.%d" % i])
        old = api.serial(ZONE)
        wait_serial("127.0.0.1", kport, ZONE + ".", old, timeout=15, log=knot_log)
        assert api.delete("/api/v1/zones/" + ZONE).status == 204
        restart(s)
        api = s.api(keys.token("pop"))
        new = api.create_zone(ZONE, rrsets=[{"name": "fresh", "type": "TXT", "ttl": 60,
                                             "records": ["\"second life\""]}])["serial"]
        wait_serial("127.0.0.1", kport, ZONE + ".", new, timeout=20, log=knot_log)
        assert serial_gt(new, old), (new, old)
        assert axfr_records("127.0.0.1", kport, ZONE + ".") == axfr_records(s.addr, s.port, ZONE + ".")
        api.close()
    finally:
        knot.stop()
        finish(s)
