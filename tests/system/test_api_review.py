"""Zone locking (409 with the reason until unlocked) and change review (propose, list, approve by
another principal, never by the author; applied and served at once after approval)."""
from apilib import (assert_error, assert_not_served, assert_served, keys, serial_gt, server_fixture,  # noqa: F401
                    soa_serial, zonefile)

srv = server_fixture()


def test_locked_zone_refuses_changes(srv, keys):
    api = srv.api(keys.token("locker"))
    api.create_zone("locked.test")
    api.put_rrset("locked.test", "www", "A", 60, ["192.0.2.1"])
    z = "/api/v1/zones/locked.test"
    r = api.put(z + "/lock", {"reason": "migration in progress (ticket 42)"})
    assert r.status == 200 and r.json["locked"] is True, r
    assert r.json["lock_reason"] == "migration in progress (ticket 42)"
    shown = api.zone("locked.test")
    assert shown["locked"] is True and shown["lock_reason"] == "migration in progress (ticket 42)"
    serial = soa_serial(srv, "locked.test")
    proposal = api.post(z + "/proposals", {"rrsets": [{"name": "p", "type": "A", "ttl": 60,
                                                       "records": ["192.0.2.50"]}]})
    assert proposal.status == 201, proposal  # proposing is not changing
    admin = srv.api(keys.token("lock-admin", admin=True))
    changes = [
        ("PUT", z + "/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.99"]}),
        ("PUT", z + "/rrsets/new/A", {"ttl": 60, "records": ["192.0.2.99"]}),
        ("DELETE", z + "/rrsets/www/A", None),
        ("PATCH", z + "/rrsets", {"rrsets": [{"name": "new", "type": "A", "ttl": 60, "records": ["192.0.2.99"]}]}),
        ("PUT", z + "/soa", {"refresh": 1234}),
        ("POST", z + "/import", zonefile("locked.test", "new 60 IN A 192.0.2.99")),
        ("DELETE", z, None),
    ]
    for who, client in (("owner", api), ("admin", admin)):
        problems = []
        for method, path, body in changes:
            r = client.request(method, path, body)
            try:
                assert_error(r, 409, what="%s %s by the %s" % (method, path, who),
                             contains="migration in progress (ticket 42)")
            except AssertionError as e:
                problems.append(str(e).split("\n")[0])
        assert not problems, "a locked zone took changes:\n" + "\n".join(problems)
    r = admin.post(z + "/proposals/%d/approve" % proposal.json["id"])
    assert_error(r, 409, contains="migration in progress")
    # nothing moved
    assert soa_serial(srv, "locked.test") == serial
    assert_served(srv, "www.locked.test", "A", ["192.0.2.1"])
    assert_not_served(srv, "new.locked.test", "A")
    assert_not_served(srv, "p.locked.test", "A")
    assert srv.query("locked.test", "SOA").answer[0][0].refresh != 1234
    # another lock while locked keeps the zone locked; reading still works
    assert api.get(z + "/rrsets").status == 200
    assert api.get(z + "/export").status == 200
    # unlock restores writes
    r = api.delete(z + "/lock")
    assert r.status == 200 and r.json["locked"] is False and r.json["lock_reason"] is None, r
    r = api.put(z + "/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.2"]})
    assert r.status == 200, r
    assert_served(srv, "www.locked.test", "A", ["192.0.2.2"])
    assert serial_gt(soa_serial(srv, "locked.test"), serial)
    r = admin.post(z + "/proposals/%d/approve" % proposal.json["id"])
    assert r.status == 200, r
    assert_served(srv, "p.locked.test", "A", ["192.0.2.50"])
    api.close()
    admin.close()


def test_lock_without_body_has_a_default_reason(srv, keys):
    api = srv.api(keys.token("locker2"))
    api.create_zone("locked2.test")
    r = api.put("/api/v1/zones/locked2.test/lock")
    assert r.status == 200 and r.json["locked"] is True and r.json["lock_reason"], r
    r = api.put("/api/v1/zones/locked2.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.1"]})
    assert_error(r, 409, "zone", contains=api.zone("locked2.test")["lock_reason"])
    assert api.delete("/api/v1/zones/locked2.test/lock").status == 200
    assert api.put("/api/v1/zones/locked2.test/rrsets/www/A", {"ttl": 60, "records": ["192.0.2.1"]}).status == 200
    assert_served(srv, "www.locked2.test", "A", ["192.0.2.1"])
    api.close()


def test_review_flow(srv, keys):
    author = srv.api(keys.token("author"))
    admin = srv.api(keys.token("reviewer", admin=True))
    stranger = srv.api(keys.token("stranger"))
    author.create_zone("review.test")
    author.put_rrset("review.test", "www", "A", 60, ["192.0.2.1"])
    z = "/api/v1/zones/review.test"
    serial = soa_serial(srv, "review.test")
    change = {"rrsets": [{"name": "www", "type": "A", "ttl": 120, "records": ["192.0.2.2"]},
                         {"name": "new", "type": "TXT", "ttl": 60, "records": ["\"reviewed\""]}]}
    r = author.post(z + "/proposals", change)
    assert r.status == 201 and r.json["status"] == "pending" and r.json["author"] == "author", r
    pid = r.json["id"]
    # proposed is not applied
    assert_served(srv, "www.review.test", "A", ["192.0.2.1"])
    assert_not_served(srv, "new.review.test", "TXT")
    assert soa_serial(srv, "review.test") == serial
    # listed, by the author and by the admin
    for client in (author, admin):
        r = client.get(z + "/proposals")
        assert r.status == 200, r
        mine = [p for p in r.json["proposals"] if p["id"] == pid]
        assert len(mine) == 1 and mine[0]["status"] == "pending" and mine[0]["author"] == "author", r
        assert mine[0]["change"]["rrsets"] == change["rrsets"], mine
    # the author cannot approve it; another tenant cannot see it
    assert_error(author.post(z + "/proposals/%d/approve" % pid), 403, "id")
    assert_error(stranger.post(z + "/proposals/%d/approve" % pid), 404)
    assert_error(stranger.get(z + "/proposals"), 404)
    assert_served(srv, "www.review.test", "A", ["192.0.2.1"])
    assert soa_serial(srv, "review.test") == serial
    # another principal approves: applied and served when the answer arrives
    r = admin.post(z + "/proposals/%d/approve" % pid)
    assert r.status == 200 and r.json["status"] == "applied", r
    assert_served(srv, "www.review.test", "A", ["192.0.2.2"], ttl=120)
    assert_served(srv, "new.review.test", "TXT", ["\"reviewed\""])
    new = soa_serial(srv, "review.test")
    assert serial_gt(new, serial) and r.json["serial"] == new
    p = [p for p in author.get(z + "/proposals").json["proposals"] if p["id"] == pid][0]
    assert p["status"] == "applied" and p["reviewer"] == "reviewer", p
    # once only
    assert_error(admin.post(z + "/proposals/%d/approve" % pid), 409, "id")
    assert soa_serial(srv, "review.test") == new
    # the journal credits the author
    ch = author.get(z + "/changes").json["changes"]
    last = max(ch, key=lambda c: c["serial_to"])
    assert last["serial_to"] == new and last["by"] == "author", last
    # a proposal of one zone cannot be approved through another
    author.create_zone("review2.test")
    r = author.post("/api/v1/zones/review2.test/proposals",
                    {"rrsets": [{"name": "x", "type": "A", "ttl": 60, "records": ["192.0.2.3"]}]})
    assert r.status == 201, r
    assert_error(admin.post(z + "/proposals/%d/approve" % r.json["id"]), 404, "id")
    assert_not_served(srv, "x.review2.test", "A")
    for c in (author, admin, stranger):
        c.close()


def test_approval_that_no_longer_applies_changes_nothing(srv, keys):
    """A proposal that breaks the zone's rules by the time it is approved is refused whole."""
    author = srv.api(keys.token("author2"))
    admin = srv.api(keys.token("reviewer2", admin=True))
    author.create_zone("stale.test")
    z = "/api/v1/zones/stale.test"
    r = author.post(z + "/proposals", {"rrsets": [
        {"name": "ok", "type": "A", "ttl": 60, "records": ["192.0.2.1"]},
        {"name": "alias", "type": "CNAME", "ttl": 60, "records": ["ok.stale.test."]}]})
    assert r.status == 201, r
    pid = r.json["id"]
    author.put_rrset("stale.test", "alias", "A", 60, ["192.0.2.9"])  # now a CNAME there breaks the rules
    serial = soa_serial(srv, "stale.test")
    r = admin.post(z + "/proposals/%d/approve" % pid)
    assert 400 <= r.status < 500, r
    assert_error(r, r.status)
    assert_not_served(srv, "ok.stale.test", "A")
    assert_served(srv, "alias.stale.test", "A", ["192.0.2.9"])
    assert soa_serial(srv, "stale.test") == serial
    p = [p for p in author.get(z + "/proposals").json["proposals"] if p["id"] == pid][0]
    # refused means nothing happened: the proposal is not left "approved" (never applied and, no
    # longer pending, never approvable again)
    assert p["status"] in ("pending", "rejected"), \
        "approval was refused with %d but the proposal is now %r: %r" % (r.status, p["status"], p)
    author.close()
    admin.close()


def test_approval_is_one_transaction(srv, keys):
    """The change and the proposal's new status are stored together: when the store refuses the
    status (a trigger on the real database makes the update fail), the approval fails whole, the
    change is neither served nor stored nor journaled, and the proposal stays pending. Once the
    store accepts it again, the same approval applies."""
    import os
    import sqlite3
    author = srv.api(keys.token("author3"))
    admin = srv.api(keys.token("reviewer3", admin=True))
    author.create_zone("atomic.test")
    z = "/api/v1/zones/atomic.test"
    r = author.post(z + "/proposals", {"rrsets": [{"name": "www", "type": "A", "ttl": 60,
                                                   "records": ["192.0.2.5"]}]})
    assert r.status == 201, r
    pid = r.json["id"]
    serial = soa_serial(srv, "atomic.test")
    journal = len(author.get(z + "/changes").json["changes"])
    db = sqlite3.connect(os.path.join(srv.data_dir, "tern.db"), timeout=10)
    db.execute("CREATE TRIGGER refuse_review BEFORE UPDATE OF status ON proposals "
               "BEGIN SELECT RAISE(ABORT, 'proposal status refused'); END")
    db.commit()
    try:
        r = admin.post(z + "/proposals/%d/approve" % pid)
        assert r.status == 503, r
        assert_error(r, 503, contains="proposal status refused")
        assert_not_served(srv, "www.atomic.test", "A")
        assert soa_serial(srv, "atomic.test") == serial
        assert author.get(z + "/rrsets/www/A").status == 404
        assert len(author.get(z + "/changes").json["changes"]) == journal
        p = [p for p in author.get(z + "/proposals").json["proposals"] if p["id"] == pid][0]
        assert p["status"] == "pending", p
    finally:
        db.execute("DROP TRIGGER refuse_review")
        db.commit()
        db.close()
    r = admin.post(z + "/proposals/%d/approve" % pid)
    assert r.status == 200 and r.json["status"] == "applied", r
    assert_served(srv, "www.atomic.test", "A", ["192.0.2.5"])
    author.close()
    admin.close()


def test_listing_row_equals_the_zone(srv, keys):
    """A page of zones is written as text, one zone through jansson: the same row either way, with
    a lock reason that needs escaping (quotes, a backslash, a tab, past ASCII)."""
    api = srv.api(keys.token("lister"))
    api.create_zone("row.test")
    api.create_zone("plain.row.test")
    reason = 'say "no" \\ then\twait: caf\u00e9 \u2014 \U0001f6a7 \x7f'
    r = api.put("/api/v1/zones/row.test/lock", {"reason": reason})
    assert r.status == 200 and r.json["lock_reason"] == reason, r
    r = api.get("/api/v1/zones?limit=1")
    assert r.status == 200 and r.json["next"] == "row.test.", r
    page = r.json["zones"] + api.get("/api/v1/zones?limit=1&cursor=row.test.").json["zones"]
    assert [z["name"] for z in page] == ["row.test.", "plain.row.test."], page  # the parent first
    for z in page:
        # a zone shown alone also says whether another tenant has proved the name (ownership,
        # a store lookup per zone that a listing of many does not make)
        shown = api.zone(z["name"])
        assert shown.pop("ownership") == {"flagged": False}, shown
        assert z == shown, z
    assert page[0]["lock_reason"] == reason and page[0]["locked"] is True
    assert page[1]["lock_reason"] is None and page[1]["locked"] is False
    assert r.body.isascii(), r.body
    api.close()


def test_reject(srv, keys):
    """POST .../proposals/{id}/reject: by another principal (the author is refused, another tenant
    sees nothing), once; the zone does not change; a locked zone's proposal may be rejected; a
    rejected proposal cannot be approved."""
    author = srv.api(keys.token("author4"))
    admin = srv.api(keys.token("reviewer4", admin=True))
    stranger = srv.api(keys.token("stranger4"))
    author.create_zone("reject.test")
    z = "/api/v1/zones/reject.test"
    r = author.post(z + "/proposals", {"rrsets": [{"name": "no", "type": "A", "ttl": 60, "records": ["192.0.2.7"]}]})
    assert r.status == 201, r
    pid = r.json["id"]
    serial = soa_serial(srv, "reject.test")
    journal = len(author.get(z + "/changes").json["changes"])
    assert_error(author.post(z + "/proposals/%d/reject" % pid), 403, "id", contains="its author (author4)")
    assert_error(stranger.post(z + "/proposals/%d/reject" % pid), 404)
    assert_error(admin.post(z + "/proposals/%d/reject" % (pid + 1000)), 404, "id")
    assert_error(admin.post(z + "/proposals/x%d/reject" % pid), 404, "id")
    assert author.put(z + "/lock", {"reason": "frozen"}).status == 200
    r = admin.post(z + "/proposals/%d/reject" % pid)
    assert r.status == 200 and r.json == {"id": pid, "status": "rejected", "reviewer": "reviewer4"}, r
    assert_error(admin.post(z + "/proposals/%d/reject" % pid), 409, "id", contains="rejected, not pending")
    assert author.delete(z + "/lock").status == 200
    assert_error(admin.post(z + "/proposals/%d/approve" % pid), 409, "id", contains="rejected")
    p = [p for p in author.get(z + "/proposals").json["proposals"] if p["id"] == pid][0]
    assert p["status"] == "rejected" and p["reviewer"] == "reviewer4", p
    assert_not_served(srv, "no.reject.test", "A")
    assert soa_serial(srv, "reject.test") == serial
    assert len(author.get(z + "/changes").json["changes"]) == journal
    for c in (author, admin, stranger):
        c.close()
