"""TSIG keys made over the API (issue 24): POST/GET/DELETE /api/v1/tsig-keys, tenant-scoped, the
secret made by ternd and shown once, each key with its update ACL (update.acl's semantics: zones of
the tenant, names exact / *.NAME / LABEL.*, types, add/delete). nsupdate signs with such a key;
a tenant cannot name, nor update, another tenant's zone; keys from the configuration keep working
beside them; a deleted key is unknown at once; keys survive a restart."""
import base64

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from apilib import assert_error, keys  # noqa: F401 (the keys fixture)
from test_ddns import DDNS, run_tool
from test_ddns_policy import PolicyTernd

ZONE = "dyn.test."
OTHER = "other.test."


@pytest.fixture(scope="module")
def lab(keys, tmp_path_factory):  # noqa: F811
    d = tmp_path_factory.mktemp("ddns-api")
    (d / "ternd").mkdir()
    t = PolicyTernd(keys, str(d / "ternd"), {"rate-limit": 0}).start()
    api = t.api(keys.token("dyn"))
    api.create_zone(ZONE, rrsets=[{"name": "www", "type": "A", "ttl": 300, "records": ["192.0.2.1"]}])
    other = t.api(keys.token("other"))
    other.create_zone(OTHER)
    yield {"ternd": t, "api": api, "other": other, "keys": keys}
    t.stop()
    assert "AddressSanitizer" not in t.log_text()


def update(name, alg, secret, zone=ZONE):
    ring = dns.tsigkeyring.from_text({name: secret})
    return dns.update.UpdateMessage(zone, keyring=ring, keyname=name, keyalgorithm=dns.name.from_text(alg + "."))


def send(t, u):
    return dns.query.udp(u, "127.0.0.1", port=t.port, timeout=5)


def served(t, name, rdtype):
    r = dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=t.port, timeout=3)
    return sorted(rd.to_text() for rs in r.answer for rd in rs)


def test_key_made_over_the_api_signs_updates(lab):
    t, api = lab["ternd"], lab["api"]
    r = api.post("/api/v1/tsig-keys", {"name": "acme.dyn", "algorithm": "hmac-sha512",
                                       "acl": [{"zones": [ZONE], "names": ["_acme-challenge.*"], "types": ["TXT"]}]})
    assert r.status == 201, r
    key = r.json
    assert key["name"] == "acme.dyn." and key["algorithm"] == "hmac-sha512" and key["created"] > 0
    assert len(base64.b64decode(key["secret"])) == 64
    assert key["acl"] == [{"zones": [ZONE], "names": ["_acme-challenge.*"], "types": ["TXT"]}]
    # nsupdate signs with it
    rc, out = run_tool(["nsupdate", "-y", "hmac-sha512:acme.dyn:%s" % key["secret"]],
                       "server 127.0.0.1 %d\nzone %s\nupdate add _acme-challenge.www.%s 60 TXT tok\nsend\n"
                       % (t.port, ZONE, ZONE))
    assert rc == 0, out
    assert served(t, "_acme-challenge.www." + ZONE, "TXT") == ['"tok"']
    changes = api.get("/api/v1/zones/%s/changes" % ZONE).json["changes"]
    assert "update key acme.dyn." in {c.get("by") for c in changes}
    # its ACL holds: another type, another name
    for build in [lambda u: u.add("_acme-challenge.www", 60, "A", "192.0.2.9"),
                  lambda u: u.add("www", 60, "TXT", "not acme")]:
        u = update("acme.dyn.", "hmac-sha512", key["secret"])
        u.use_edns(0)
        build(u)
        r = send(t, u)
        assert r.rcode() == dns.rcode.REFUSED
        assert any("may not add" in (o.text or "") for o in r.options if o.otype == dns.edns.EDE)
    # the listing and the key alone show no secret
    listed = api.get("/api/v1/tsig-keys").json["keys"]
    assert [k["name"] for k in listed] == ["acme.dyn."] and all("secret" not in k for k in listed)
    one = api.get("/api/v1/tsig-keys/acme.dyn")
    assert one.status == 200 and one.json["name"] == "acme.dyn." and "secret" not in one.json
    # the configuration's key still works beside the API's
    ring = dns.tsigkeyring.from_text({DDNS[0]: DDNS[2]})
    u = dns.update.UpdateMessage(ZONE, keyring=ring, keyname=DDNS[0], keyalgorithm=dns.name.from_text(DDNS[1] + "."))
    u.add("conf", 60, "A", "192.0.2.3")
    assert send(t, u).rcode() == dns.rcode.NOERROR


def test_tenants_apart(lab):
    t, api, other = lab["ternd"], lab["api"], lab["other"]
    # naming another tenant's zone, or none, is a 404 on the field
    for zone in [OTHER, "nowhere.test."]:
        r = api.post("/api/v1/tsig-keys", {"name": "sneaky.dyn", "acl": [{"zones": [zone]}]})
        assert_error(r, 404, "acl[0].zones[0]")
    # a key with no zones is for every zone of its tenant, and no other's
    r = api.post("/api/v1/tsig-keys", {"name": "all.dyn", "acl": [{}]})
    assert r.status == 201, r
    secret = r.json["secret"]
    assert len(base64.b64decode(secret)) == 32  # hmac-sha256 by default
    u = update("all.dyn.", "hmac-sha256", secret, zone=OTHER)
    u.use_edns(0)
    u.add("x", 60, "A", "192.0.2.1")
    r = send(t, u)
    assert r.rcode() == dns.rcode.REFUSED
    assert any("not its tenant's" in (o.text or "") for o in r.options if o.otype == dns.edns.EDE)
    assert served(t, "x." + OTHER, "A") == []
    u = update("all.dyn.", "hmac-sha256", secret)
    u.add("x", 60, "A", "192.0.2.1")
    assert send(t, u).rcode() == dns.rcode.NOERROR
    # another tenant neither sees nor deletes it, nor takes its name
    assert_error(other.get("/api/v1/tsig-keys/all.dyn"), 404, "name")
    assert_error(other.delete("/api/v1/tsig-keys/all.dyn"), 404, "name")
    assert other.get("/api/v1/tsig-keys").json["keys"] == []
    assert_error(other.post("/api/v1/tsig-keys", {"name": "all.dyn", "acl": [{}]}), 409, "name")


def test_bad_input_changes_nothing(lab):
    api, keys = lab["api"], lab["keys"]
    before = api.get("/api/v1/tsig-keys").json["keys"]
    for body, status, field in [
        ({"acl": [{}]}, 400, "name"),
        ({"name": "", "acl": [{}]}, 400, "name"),
        ({"name": "k.dyn", "algorithm": "hmac-md5", "acl": [{}]}, 400, "algorithm"),
        ({"name": "k.dyn", "algorithm": "hmac-sha1", "acl": [{}]}, 400, "algorithm"),
        ({"name": "k.dyn"}, 400, "acl"),
        ({"name": "k.dyn", "acl": []}, 400, "acl"),
        ({"name": "k.dyn", "acl": [{"zone": [ZONE]}]}, 400, "acl[0]"),
        ({"name": "k.dyn", "acl": [{"zones": "dyn.test"}]}, 400, "acl[0].zones"),
        ({"name": "k.dyn", "acl": [{"names": ["a.*.b"]}]}, 400, "acl[0].names[0]"),
        ({"name": "k.dyn", "acl": [{"zones": ["dyn.test.*"]}]}, 400, "acl[0].zones[0]"),
        ({"name": "k.dyn", "acl": [{"types": ["DYN"]}]}, 400, "acl[0].types[0]"),
        ({"name": "k.dyn", "acl": [{"types": ["NOTATYPE"]}]}, 400, "acl[0].types[0]"),
        ({"name": "k.dyn", "acl": [{"actions": ["remove"]}]}, 400, "acl[0].actions[0]"),
        ({"name": "k.dyn", "acl": [{}], "secret": "mine"}, 400, "secret"),
        ({"name": DDNS[0], "acl": [{}]}, 409, "name"),  # the configuration's
        ({"name": "all.dyn", "acl": [{}]}, 409, "name"),  # exists
    ]:
        assert_error(api.post("/api/v1/tsig-keys", body), status, field, what=repr(body))
    ro = lab["ternd"].api(keys.token("dyn", scope={"read_only": True}))
    assert_error(ro.post("/api/v1/tsig-keys", {"name": "ro.dyn", "acl": [{}]}), 403, "scope")
    narrow = lab["ternd"].api(keys.token("dyn", scope={"zones": [ZONE]}))
    assert_error(narrow.get("/api/v1/tsig-keys"), 403, "scope")
    assert api.get("/api/v1/tsig-keys").json["keys"] == before


def test_deleted_key_is_unknown_and_keys_survive_a_restart(lab):
    t, api = lab["ternd"], lab["api"]
    r = api.post("/api/v1/tsig-keys", {"name": "gone.dyn", "acl": [{"zones": [ZONE]}]})
    assert r.status == 201, r
    gone = r.json["secret"]
    assert api.delete("/api/v1/tsig-keys/gone.dyn").status == 200
    assert_error(api.delete("/api/v1/tsig-keys/gone.dyn"), 404, "name")
    u = update("gone.dyn.", "hmac-sha256", gone)
    u.add("y", 60, "A", "192.0.2.1")
    with pytest.raises(dns.tsig.PeerBadKey):
        send(t, u)
    secret = api.post("/api/v1/tsig-keys", {"name": "kept.dyn", "acl": [{"zones": [ZONE]}]}).json["secret"]
    t.stop()
    t.start()
    u = update("kept.dyn.", "hmac-sha256", secret)
    u.add("after-restart", 60, "A", "192.0.2.8")
    assert send(t, u).rcode() == dns.rcode.NOERROR
    assert served(t, "after-restart." + ZONE, "A") == ["192.0.2.8"]
    # queries signed with it are answered signed (Terraform reads back with its key)
    q = dns.message.make_query("after-restart." + ZONE, "A")
    q.use_tsig(dns.tsigkeyring.from_text({"kept.dyn.": secret}), keyname="kept.dyn.")
    r = dns.query.udp(q, "127.0.0.1", port=t.port, timeout=3)
    assert r.had_tsig and [rd.to_text() for rs in r.answer for rd in rs] == ["192.0.2.8"]


def test_cli_tsig_key(lab):
    import os
    import re
    import subprocess

    from test_cli import TERN_CLI
    t, keys = lab["ternd"], lab["keys"]
    env = dict(os.environ, TERN_API="http://127.0.0.1:%d" % t.api_port, TERN_TOKEN=keys.token("dyn"))

    def tern(*args, rc=0):
        p = subprocess.run([TERN_CLI] + list(args), capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == rc, (args, p.returncode, p.stdout, p.stderr)
        assert "Sanitizer" not in p.stderr, p.stderr
        return p.stdout + p.stderr

    out = tern("tsig-key", "create", "cli.dyn", "--algorithm", "hmac-sha512", "--zone", ZONE, "--name",
               "_acme-challenge.*", "--type", "TXT", "--action", "add")
    m = re.search(r"nsupdate -y (hmac-sha512):(cli\.dyn\.):(\S+)", out)
    assert m, out
    rc, got = run_tool(["nsupdate", "-y", "%s:%s:%s" % m.groups()],
                       "server 127.0.0.1 %d\nzone %s\nupdate add _acme-challenge.cli.%s 60 TXT via-cli\nsend\n"
                       % (t.port, ZONE, ZONE))
    assert rc == 0, got
    assert served(t, "_acme-challenge.cli." + ZONE, "TXT") == ['"via-cli"']
    listing = tern("tsig-key", "list")
    line = [ln for ln in listing.splitlines() if ln.startswith("cli.dyn.")]
    assert line and "hmac-sha512" in line[0] and "_acme-challenge.*" in line[0] and m.group(3) not in listing
    assert "field acl[0].types[0], HTTP 400" in tern("tsig-key", "create", "bad.dyn", "--type", "NOPE", rc=1)
    assert "deleted" in tern("tsig-key", "delete", "cli.dyn")
    assert "HTTP 404" in tern("tsig-key", "delete", "cli.dyn", rc=1)
