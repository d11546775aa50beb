/* The write path (change module) against a real SQLite store in a temp dir and a real zone set:
 * what is served, stored and journaled after a write, and that a write refused or failing at any
 * step (a broken rule, a locked zone, a proposal no longer pending, the store refusing a row
 * through a trigger on the real database) leaves all three as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/zonefile.h"
#include "ternd/change/change.h"

struct fixture {
	char dir[512], db[600];
	struct store *st;
	struct zones *zs;
	struct change c;
	uint8_t apex[NAME_MAXLEN];
};

static const char ZONE[] = "@ 300 IN SOA ns hostmaster 1 3600 600 86400 300\n"
                           "@ 300 IN NS ns\n"
                           "ns 300 IN A 192.0.2.1\n"
                           "www 300 IN A 192.0.2.2\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	const char *tmp = getenv("TMPDIR");
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/tern-change-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/tern.db", f->dir);
	assert_int_equal(store_open_sqlite(f->db, &f->st, err, sizeof(err)), 0);
	assert_non_null(f->zs = zones_new());
	change_init(&f->c, f->zs, f->st, 1000);
	assert_true(name_from_text(f->apex, "example.com.", NULL) > 0);
	/* the zone, created through the write path */
	struct zone *z = NULL;
	assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", f->apex, &z, err, sizeof(err)), 0);
	struct store_zone sz = {.serial = z->serial, .serial_policy = STORE_SERIAL_INCREMENT};
	memcpy(sz.apex, f->apex, name_len(f->apex));
	snprintf(sz.tenant, sizeof(sz.tenant), "t1");
	struct change_result r;
	assert_int_equal(change_create(&f->c, &sz, z, &r), 0);
	assert_int_equal(r.step, CHANGE_DONE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[700];
	change_destroy(&f->c);
	store_close(f->st);
	rcu_thread_offline();
	zones_free(f->zs);
	rcu_thread_online();
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", f->db, suffixes[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* SQL on the store's database through a connection of its own, as an operator would. */
static void sql(const struct fixture *f, const char *text)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *msg = NULL;
	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", text, msg);
	sqlite3_close(db);
}

/* One A record at owner (relative to example.com) with a TTL of 60; 192.0.2.<last>. */
static struct change_rrset a_record(const char *owner, uint8_t last)
{
	struct change_rrset ch = {.type = RR_A, .count = 1, .ttl = 60, .rdata_size = 6};
	uint8_t origin[NAME_MAXLEN];
	assert_true(name_from_text(origin, "example.com.", NULL) > 0);
	assert_true(name_from_text(ch.owner, owner, origin) > 0);
	uint8_t *rd = malloc(6);
	assert_non_null(rd);
	memcpy(rd, "\0\4\xc0\0\2", 5);
	rd[5] = last;
	ch.rdata = rd;
	return ch;
}

static const struct zone_node *served(const struct fixture *f, const char *owner)
{
	uint8_t n[NAME_MAXLEN];
	assert_true(name_from_text(n, owner, f->apex) > 0);
	const struct zone *z = zones_get(f->zs, f->apex);
	assert_non_null(z);
	return zone_find(z, n, name_len(n));
}

static uint32_t served_serial(const struct fixture *f)
{
	return zones_get(f->zs, f->apex)->serial;
}

static bool stored(const struct fixture *f, const char *owner, uint16_t type)
{
	uint8_t n[NAME_MAXLEN];
	char err[256];
	struct store_rrset rs;
	assert_true(name_from_text(n, owner, f->apex) > 0);
	int rc = store_rrset_get(store_latest(f->st), f->apex, n, type, &rs, err, sizeof(err));
	if (rc == 0)
		store_rrset_clear(&rs);
	assert_true(rc == 0 || rc == TERN_ENOTFOUND);
	return rc == 0;
}

static int count_entry(const struct store_journal_entry *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int journal_entries(const struct fixture *f)
{
	int n = 0;
	char err[256];
	struct store_page page;
	assert_int_equal(
	    store_journal_history(store_latest(f->st), f->apex, 0, 1000, count_entry, &n, &page, err, sizeof(err)), 0);
	return n;
}

static enum store_proposal_status proposal_status(const struct fixture *f, int64_t id)
{
	struct store_proposal p = {0};
	char err[256];
	assert_int_equal(store_proposal_get(store_latest(f->st), id, &p, err, sizeof(err)), 0);
	enum store_proposal_status s = p.status;
	store_proposal_clear(&p);
	return s;
}

static int64_t propose(struct fixture *f)
{
	struct store_txn *t;
	char err[256];
	int64_t id;
	assert_int_equal(store_begin(f->st, &t, err, sizeof(err)), 0);
	assert_int_equal(store_proposal_create(t, f->apex, "author", "{}", 1, &id, err, sizeof(err)), 0);
	assert_int_equal(store_commit(t, err, sizeof(err)), 0);
	return id;
}

/* A write is stored, journaled and served when change_commit() returns, with the next serial. */
static void test_commit_stores_journals_and_serves(void **state)
{
	struct fixture *f = *state;
	struct change_rrset ch = a_record("new", 9);
	struct change_request rq = {.apex = f->apex, .rrsets = &ch, .n = 1, .principal = "t1"};
	struct change_result r;
	assert_int_equal(change_commit(&f->c, &rq, &r), 0);
	assert_int_equal(r.step, CHANGE_DONE);
	assert_int_equal(r.serial, 2);
	assert_int_equal(served_serial(f), 2);
	assert_non_null(served(f, "new"));
	assert_true(stored(f, "new", RR_A));
	assert_int_equal(journal_entries(f), 1);
	free((void *)ch.rdata);
}

/* A broken rule names the producer's change (its index in the producer's list, though the change
 * set puts the SOA change last) with a message that carries no index; nothing changes. */
static void test_refusal_names_the_change(void **state)
{
	struct fixture *f = *state;
	struct change_rrset ch[3] = {a_record("ok", 1), a_record("www", 2), a_record("alias", 3)};
	/* the SOA change first: fields the change gives, moved to the end of what zone_apply sees */
	uint8_t soa[2 + 64];
	const struct zone *cur = zones_get(f->zs, f->apex);
	memcpy(soa, cur->soa->rdata, 2 + rdata_len(cur->soa->rdata));
	struct change_rrset s = {
	    .type = RR_SOA, .count = 1, .ttl = 600, .rdata = soa, .rdata_size = (uint32_t)(2 + rdata_len(soa))};
	memcpy(s.owner, f->apex, name_len(f->apex));
	struct change_rrset list[4] = {s, ch[0], ch[1], ch[2]};
	/* index 2: out of the zone */
	assert_true(name_from_text(list[2].owner, "www.example.org.", NULL) > 0);
	struct change_request rq = {.apex = f->apex, .rrsets = list, .n = 4, .principal = "t1"};
	struct change_result r;
	assert_int_equal(change_commit(&f->c, &rq, &r), TERN_EZONE);
	assert_int_equal(r.step, CHANGE_REFUSED);
	assert_int_equal(r.index, 2);
	assert_non_null(strstr(r.msg, "out-of-zone data: www.example.org. is not in zone example.com."));
	assert_null(strstr(r.msg, "changes["));
	assert_int_equal(served_serial(f), 1);
	assert_null(served(f, "ok"));
	assert_false(stored(f, "ok", RR_A));
	assert_int_equal(journal_entries(f), 0);
	/* a SOA deletion is refused naming it */
	list[0].count = 0;
	assert_true(name_from_text(list[2].owner, "fine.example.com.", NULL) > 0);
	assert_int_equal(change_commit(&f->c, &rq, &r), TERN_EZONE);
	assert_int_equal(r.step, CHANGE_REFUSED);
	assert_int_equal(r.index, 0);
	assert_non_null(strstr(r.msg, "the SOA record at the apex example.com. cannot be removed"));
	assert_int_equal(served_serial(f), 1);
	for (int i = 0; i < 3; i++)
		free((void *)ch[i].rdata);
}

/* The store refusing a row of the write (a trigger on the real database) fails the write at the
 * store step: nothing is served, stored or journaled. */
static void test_store_failure_changes_nothing(void **state)
{
	struct fixture *f = *state;
	sql(f, "CREATE TRIGGER refuse BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'journal full'); END");
	struct change_rrset ch = a_record("new", 9);
	struct change_request rq = {.apex = f->apex, .rrsets = &ch, .n = 1, .principal = "t1"};
	struct change_result r;
	assert_true(change_commit(&f->c, &rq, &r) < 0);
	assert_int_equal(r.step, CHANGE_STORE);
	assert_non_null(strstr(r.msg, "journal full"));
	assert_int_equal(served_serial(f), 1);
	assert_null(served(f, "new"));
	assert_false(stored(f, "new", RR_A));
	assert_int_equal(journal_entries(f), 0);
	sql(f, "DROP TRIGGER refuse");
	assert_int_equal(change_commit(&f->c, &rq, &r), 0);
	assert_non_null(served(f, "new"));
	free((void *)ch.rdata);
}

/* Approving a proposal is one transaction with its change: when the store refuses the proposal's
 * new status, the change is not applied either (and the proposal stays pending); when it accepts
 * it, both are done. A proposal no longer pending is refused before anything is written. */
static void test_approval_is_one_transaction(void **state)
{
	struct fixture *f = *state;
	int64_t id = propose(f);
	sql(f, "CREATE TRIGGER refuse BEFORE UPDATE OF status ON proposals BEGIN SELECT RAISE(ABORT, 'no review'); "
	       "END");
	struct change_rrset ch = a_record("new", 9);
	struct change_request rq = {
	    .apex = f->apex, .rrsets = &ch, .n = 1, .principal = "author", .proposal = id, .reviewer = "reviewer"};
	struct change_result r;
	assert_true(change_commit(&f->c, &rq, &r) < 0);
	assert_int_equal(r.step, CHANGE_STORE);
	assert_non_null(strstr(r.msg, "no review"));
	assert_int_equal(proposal_status(f, id), STORE_PROPOSAL_PENDING);
	assert_int_equal(served_serial(f), 1);
	assert_null(served(f, "new"));
	assert_false(stored(f, "new", RR_A));
	assert_int_equal(journal_entries(f), 0);
	sql(f, "DROP TRIGGER refuse");
	assert_int_equal(change_commit(&f->c, &rq, &r), 0);
	assert_int_equal(proposal_status(f, id), STORE_PROPOSAL_APPLIED);
	assert_non_null(served(f, "new"));
	/* once only: the second approval finds it applied */
	assert_int_equal(change_commit(&f->c, &rq, &r), TERN_EINVAL);
	assert_int_equal(r.step, CHANGE_PROPOSAL);
	assert_non_null(strstr(r.msg, "is applied, not pending"));
	assert_int_equal(served_serial(f), 2);
	assert_int_equal(journal_entries(f), 1);
	free((void *)ch.rdata);
}

/* A locked zone refuses writes, checked inside the transaction; unlocked, it takes them. */
static void test_locked_zone(void **state)
{
	struct fixture *f = *state;
	struct store_zone z;
	struct change_result r;
	assert_int_equal(change_lock_zone(&f->c, f->apex, "maintenance", &z, &r), 0);
	assert_true(z.locked);
	struct change_rrset ch = a_record("new", 9);
	struct change_request rq = {.apex = f->apex, .rrsets = &ch, .n = 1, .principal = "t1"};
	assert_int_equal(change_commit(&f->c, &rq, &r), TERN_EBUSY);
	assert_int_equal(r.step, CHANGE_ZONE);
	assert_string_equal(r.msg, "zone is locked: maintenance");
	assert_null(served(f, "new"));
	assert_int_equal(change_lock_zone(&f->c, f->apex, NULL, &z, &r), 0);
	assert_false(z.locked);
	assert_int_equal(change_commit(&f->c, &rq, &r), 0);
	free((void *)ch.rdata);
}

/* A zone created is stored and served; one that exists is refused; a deleted one is neither. */
static void test_create_and_delete(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct zone *z = NULL;
	assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", f->apex, &z, err, sizeof(err)), 0);
	struct store_zone sz = {.serial = z->serial};
	memcpy(sz.apex, f->apex, name_len(f->apex));
	snprintf(sz.tenant, sizeof(sz.tenant), "t2");
	struct change_result r;
	assert_int_equal(change_create(&f->c, &sz, z, &r), TERN_EEXIST);
	assert_int_equal(r.step, CHANGE_ZONE);
	assert_int_equal(change_delete(&f->c, f->apex, &r), 0);
	assert_null(zones_get(f->zs, f->apex));
	struct store_zone gone;
	assert_int_equal(store_zone_get(store_latest(f->st), f->apex, &gone, err, sizeof(err)), TERN_ENOTFOUND);
	assert_int_equal(change_delete(&f->c, f->apex, &r), TERN_ENOTFOUND);
	assert_int_equal(r.step, CHANGE_ZONE);
	/* a write to a zone deleted is refused */
	struct change_rrset ch = a_record("new", 9);
	struct change_request rq = {.apex = f->apex, .rrsets = &ch, .n = 1, .principal = "t1"};
	assert_int_equal(change_commit(&f->c, &rq, &r), TERN_ENOTFOUND);
	assert_int_equal(r.step, CHANGE_UNSERVED);
	free((void *)ch.rdata);
}

/* At start, every zone of the store is built and served as stored (its last write included); a
 * zone whose RRsets break a rule (its SOA removed behind the store's back) is counted as failed
 * and not served, and the others still are. */
static void test_load_all(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct change_rrset ch = a_record("new", 9);
	struct change_request rq = {.apex = f->apex, .rrsets = &ch, .n = 1, .principal = "t1"};
	struct change_result r;
	assert_int_equal(change_commit(&f->c, &rq, &r), 0);
	free((void *)ch.rdata);
	uint8_t broken[NAME_MAXLEN];
	assert_true(name_from_text(broken, "broken.example.", NULL) > 0);
	struct zone *z = NULL;
	assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", broken, &z, err, sizeof(err)), 0);
	struct store_zone sz = {.serial = z->serial};
	memcpy(sz.apex, broken, name_len(broken));
	snprintf(sz.tenant, sizeof(sz.tenant), "t1");
	assert_int_equal(change_create(&f->c, &sz, z, &r), 0);
	sql(f, "DELETE FROM rrsets WHERE type = 6 AND zone_id = "
	       "(SELECT id FROM zones WHERE apex = X'0662726f6b656e076578616d706c6500')");

	/* a new start: an empty zone set, the same store */
	struct zones *fresh = zones_new();
	assert_non_null(fresh);
	struct change c;
	change_init(&c, fresh, f->st, 1000);
	size_t loaded = 99, failed = 99;
	assert_int_equal(change_load_all(&c, &loaded, &failed, err, sizeof(err)), 0);
	assert_int_equal(loaded, 1);
	assert_int_equal(failed, 1);
	const struct zone *served_now = zones_get(fresh, f->apex);
	assert_non_null(served_now);
	assert_int_equal(served_now->serial, 2);
	uint8_t owner[NAME_MAXLEN];
	assert_true(name_from_text(owner, "new", f->apex) > 0);
	assert_non_null(zone_find(served_now, owner, name_len(owner)));
	assert_null(zones_get(fresh, broken));
	change_destroy(&c);
	rcu_thread_offline();
	zones_free(fresh);
	rcu_thread_online();
}

/* n zones zNNNN.many.example. (from first) with ZONE's records, made by change_create_many. */
static int create_many(struct fixture *f, size_t first, size_t n, struct change_result *r)
{
	char err[512], text[64];
	struct store_zone *sz = calloc(n, sizeof(*sz));
	struct zone **zs = calloc(n, sizeof(*zs));
	assert_non_null(sz);
	assert_non_null(zs);
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "z%04zu.many.example.", first + i);
		assert_true(name_from_text(sz[i].apex, text, NULL) > 0);
		assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", sz[i].apex, &zs[i], err, sizeof(err)),
		                 0);
		sz[i].serial = zs[i]->serial;
		snprintf(sz[i].tenant, sizeof(sz[i].tenant), "t1");
	}
	int rc = change_create_many(&f->c, sz, zs, n, r);
	free(sz);
	free(zs);
	return rc;
}

static bool served_many(struct zones *zs, size_t i)
{
	uint8_t apex[NAME_MAXLEN];
	char text[64];
	snprintf(text, sizeof(text), "z%04zu.many.example.", i);
	assert_true(name_from_text(apex, text, NULL) > 0);
	return zones_get(zs, apex) != NULL;
}

/* A batch is one transaction: all created and served, or (a name taken, at any index) none, the
 * index naming the zone refused. Start-up then reads them back over several pages of zones, a
 * zone without RRsets and one with a broken row failing alone. */
static void test_create_many_and_load_pages(void **state)
{
	struct fixture *f = *state;
	char err[512];
	struct change_result r;
	assert_int_equal(create_many(f, 0, 1000, &r), 0);
	assert_int_equal(create_many(f, 1000, 1000, &r), 0);
	assert_int_equal(create_many(f, 2000, 345, &r), 0);
	assert_true(served_many(f->zs, 0) && served_many(f->zs, 1999) && served_many(f->zs, 2344));
	assert_int_equal(create_many(f, 2340, 10, &r), TERN_EEXIST); /* z2340..z2344 exist */
	assert_int_equal(r.step, CHANGE_ZONE);
	assert_int_equal(r.index, 0);
	assert_int_equal(create_many(f, 2342, 3, &r), TERN_EEXIST);
	assert_int_equal(r.index, 0);
	assert_int_equal(create_many(f, 2345, 3, &r), 0);
	assert_int_equal(create_many(f, 2348, 5, &r), 0);
	assert_int_equal(create_many(f, 2353, 4, &r), 0);
	assert_int_equal(create_many(f, 2357, 3, &r), 0);
	assert_int_equal(create_many(f, 2360, 5, &r), 0);
	/* a name taken in the middle: nothing of the batch is stored or served */
	assert_int_equal(create_many(f, 2362, 2, &r), TERN_EEXIST);
	assert_int_equal(create_many(f, 2365, 1, &r), 0);
	assert_int_equal(create_many(f, 2366, 4, &r), 0);
	struct store_zone *sz = calloc(4, sizeof(*sz));
	struct zone **zs = calloc(4, sizeof(*zs));
	static const char *const names[] = {"new1.many.example.", "new2.many.example.", "z0007.many.example.",
	                                    "new3.many.example."};
	for (size_t i = 0; i < 4; i++) {
		assert_true(name_from_text(sz[i].apex, names[i], NULL) > 0);
		assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", sz[i].apex, &zs[i], err, sizeof(err)),
		                 0);
		sz[i].serial = zs[i]->serial;
		snprintf(sz[i].tenant, sizeof(sz[i].tenant), "t2");
	}
	assert_int_equal(change_create_many(&f->c, sz, zs, 4, &r), TERN_EEXIST);
	assert_int_equal(r.step, CHANGE_ZONE);
	assert_int_equal(r.index, 2);
	assert_non_null(strstr(r.msg, "zone z0007.many.example. already exists"));
	for (size_t i = 0; i < 4; i++) {
		struct store_zone got;
		if (i != 2) {
			assert_null(zones_get(f->zs, sz[i].apex));
			assert_int_equal(store_zone_get(store_latest(f->st), sz[i].apex, &got, err, sizeof(err)),
			                 TERN_ENOTFOUND);
		}
	}
	uint64_t held = 0;
	assert_int_equal(store_zone_count(store_latest(f->st), "t2", &held, err, sizeof(err)), 0);
	assert_int_equal(held, 0);
	free(sz);
	free(zs);

	/* z0500 loses every RRset, z1500's A RRset gets a broken TTL list: those two fail alone */
	sql(f, "DELETE FROM rrsets WHERE zone_id = (SELECT id FROM zones WHERE apex ="
	       " X'057a30353030046d616e79076578616d706c6500')");
	sql(f, "UPDATE rrsets SET ttls = X'00' WHERE type = 1 AND zone_id = (SELECT id FROM zones WHERE apex ="
	       " X'057a31353030046d616e79076578616d706c6500')");
	struct zones *fresh = zones_new();
	assert_non_null(fresh);
	struct change c;
	change_init(&c, fresh, f->st, 1000);
	size_t loaded = 99, failed = 99;
	assert_int_equal(change_load_all(&c, &loaded, &failed, err, sizeof(err)), 0);
	assert_int_equal(failed, 2);
	assert_int_equal(loaded, 2370 + 1 - 2); /* and example.com */
	for (size_t i = 0; i < 2370; i++)
		assert_int_equal(served_many(fresh, i), i != 500 && i != 1500);
	assert_non_null(zones_get(fresh, f->apex));
	change_destroy(&c);
	rcu_thread_offline();
	zones_free(fresh);
	rcu_thread_online();
}

/* In-tree hints: the _in-tree TXT's value (one record, one string, an RFC 3339 date-time). */
static void test_intree_value(void **state)
{
	(void)state;
	long long at = 0;
	char err[300];
	static const uint8_t good[] = {0,   21,  20,  '2', '0', '2', '7', '-', '0', '6', '-', '0',
	                               '1', 'T', '0', '0', ':', '0', '0', ':', '0', '0', 'Z'};
	assert_int_equal(change_intree_value(good, sizeof(good), 1, &at, err, sizeof(err)), 0);
	assert_int_equal(at, 1811808000LL); /* 2027-06-01T00:00:00Z */
	assert_int_equal(change_intree_value(good, sizeof(good), 2, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "2 records"));
	static const uint8_t two[] = {0,   23,  20,  '2', '0', '2', '7', '-', '0', '6', '-', '0', '1',
	                              'T', '0', '0', ':', '0', '0', ':', '0', '0', 'Z', 1,   'x'};
	assert_int_equal(change_intree_value(two, sizeof(two), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "2 character-strings"));
	static const uint8_t three[] = {0, 6, 1, 'a', 1, 'b', 1, 'c'};
	assert_int_equal(change_intree_value(three, sizeof(three), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "3 character-strings"));
	static const uint8_t empty[] = {0, 1, 0}; /* one empty string: shown as "" (fuzz_check_registry) */
	assert_int_equal(change_intree_value(empty, sizeof(empty), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_true(strncmp(err, "\"\": ", 4) == 0);
	static const uint8_t none[] = {0, 0};
	assert_int_equal(change_intree_value(none, sizeof(none), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "0 character-strings"));
	static const uint8_t month[] = {0, 11, 10, '2', '0', '2', '7', '-', '1', '3', '-', '0', '1'};
	assert_int_equal(change_intree_value(month, sizeof(month), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "\"2027-13-01\""));
	assert_non_null(strstr(err, "month 13"));
	static const uint8_t notz[] = {0,   20,  19,  '2', '0', '2', '7', '-', '0', '6', '-',
	                               '0', '1', 'T', '0', '0', ':', '0', '0', ':', '0', '0'};
	assert_int_equal(change_intree_value(notz, sizeof(notz), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "no time zone"));
	static const uint8_t ctl[] = {0, 3, 2, '\n', '"'};
	assert_int_equal(change_intree_value(ctl, sizeof(ctl), 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "\"\\010\\034\""));
	assert_int_equal(change_intree_value(good, sizeof(good) - 1, 1, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "malformed"));
}

/* A producer's write of a bad _in-tree TXT is refused naming the change; other owners pass. */
static void test_intree_write_refused(void **state)
{
	struct fixture *f = *state;
	uint32_t before = served_serial(f);
	static const uint8_t bad[] = {0, 11, 10, '2', '0', '2', '7', '-', '1', '3', '-', '0', '1'};
	struct change_rrset ch[2] = {a_record("www", 9), {.type = RR_TXT, .count = 1, .ttl = 60}};
	ch[1].rdata = bad;
	ch[1].rdata_size = sizeof(bad);
	assert_true(change_intree_owner(f->apex, ch[1].owner));
	struct change_request rq = {.apex = f->apex, .rrsets = ch, .n = 2, .principal = "t"};
	struct change_result r;
	assert_int_equal(change_commit(&f->c, &rq, &r), TERN_EZONE);
	assert_int_equal(r.step, CHANGE_REFUSED);
	assert_int_equal(r.index, 1);
	assert_non_null(strstr(r.msg, "_in-tree.example.com. TXT"));
	assert_int_equal(served_serial(f), before);
	assert_false(stored(f, "_in-tree", RR_TXT));
	/* the same string elsewhere is only a TXT */
	assert_true(name_from_text(ch[1].owner, "note", f->apex) > 0);
	rq.n = 2;
	assert_int_equal(change_commit(&f->c, &rq, &r), 0);
	free((void *)ch[0].rdata);
}

/* zones[i].in-tree-expires: the file's zone gets the configuration's _in-tree TXT (a TXT of the
 * file there replaced), and a zone without an NS inside it is refused. */
static void test_config_intree(void **state)
{
	(void)state;
	static const char text[] = "@ 300 IN SOA ns hostmaster 1 3600 600 86400 300\n"
	                           "@ 300 IN NS ns\n"
	                           "ns 300 IN A 192.0.2.1\n"
	                           "_in-tree 300 IN TXT \"1999-01-01T00:00:00Z\"\n";
	uint8_t apex[NAME_MAXLEN], owner[NAME_MAXLEN];
	char err[512];
	struct zone *z = NULL;
	assert_true(name_from_text(apex, "example.com.", NULL) > 0);
	assert_int_equal(zonefile_load_string(text, strlen(text), "t", apex, &z, err, sizeof(err)), 0);
	struct config_zone cz = {
	    .apex = apex, .name = "example.com.", .file = "t", .in_tree_expires = "x", .in_tree_at = 1811808000LL};
	assert_int_equal(change_config_intree(&cz, &z, err, sizeof(err)), 0);
	long long at = 0;
	assert_int_equal(change_intree_served(z, &at, err, sizeof(err)), 0);
	assert_int_equal(at, 1811808000LL);
	assert_true(change_intree_owner(apex, owner));
	const struct rrset *rs = zone_node_rrset(zone_find(z, owner, name_len(owner)), RR_TXT);
	assert_int_equal(rs->count, 1);
	assert_int_equal(rs->ttl, CHANGE_INTREE_TTL);
	assert_memory_equal(rs->rdata + 3, "2027-06-01T00:00:00Z", 20);
	assert_non_null(zone_find(z, apex, name_len(apex))); /* the rest kept */
	assert_int_equal(z->nrecords, 4);
	zone_free(z);
	/* without the mark: the zone as it is */
	static const char outside[] = "@ 300 IN SOA ns.other.net. hostmaster 1 3600 600 86400 300\n"
	                              "@ 300 IN NS ns.other.net.\n"
	                              "@ 300 IN NS example.com.\n";
	assert_int_equal(zonefile_load_string(outside, strlen(outside), "t", apex, &z, err, sizeof(err)), 0);
	struct zone *kept = z;
	assert_int_equal(change_config_intree(&cz, &z, err, sizeof(err)), TERN_ECONFIG);
	assert_ptr_equal(z, kept);
	assert_non_null(strstr(err, "in-bailiwick"));
	assert_non_null(strstr(err, "ns.other.net."));
	cz.in_tree_expires = NULL;
	assert_int_equal(change_config_intree(&cz, &z, err, sizeof(err)), 0);
	assert_ptr_equal(z, kept);
	zone_free(z);
}

int main(void)
{
	rcu_register_thread();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commit_stores_journals_and_serves, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_names_the_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_failure_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_approval_is_one_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_locked_zone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_and_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_many_and_load_pages, setup, teardown),
	    cmocka_unit_test(test_intree_value),
	    cmocka_unit_test_setup_teardown(test_intree_write_refused, setup, teardown),
	    cmocka_unit_test(test_config_intree),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_unregister_thread();
	return rc;
}
