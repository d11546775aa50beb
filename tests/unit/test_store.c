/* Unit tests for the store's SQLite backend: schema and reopen, zones, RRsets, journal,
 * proposals, transactions (rollback, failed commit, durability across process death), big RRsets
 * and two handles on one file. Each test gets a fresh directory under $TMPDIR (or /tmp). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/store/store.h"

struct fixture {
	char dir[512];
	char db[600];
	struct store *st;
	char err[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/tern-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
	assert_int_equal(store_open_sqlite(f->db, &f->st, f->err, sizeof(f->err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char path[700];
	store_close(f->st);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", f->db, suffixes[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	store_close(f->st);
	f->st = NULL;
	if (store_open_sqlite(f->db, &f->st, f->err, sizeof(f->err)) != 0)
		fail_msg("reopen: %s", f->err);
}

/* Wire form of an absolute name, into buf. */
static const uint8_t *N(uint8_t buf[NAME_MAXLEN], const char *text)
{
	assert_true(name_from_text(buf, text, NULL) > 0);
	return buf;
}

static struct store_txn *begin(struct fixture *f)
{
	struct store_txn *t = NULL;
	assert_int_equal(store_begin(f->st, &t, f->err, sizeof(f->err)), 0);
	assert_non_null(t);
	return t;
}

static void commit(struct fixture *f, struct store_txn *t)
{
	int rc = store_commit(t, f->err, sizeof(f->err));
	if (rc)
		fail_msg("commit: %s", f->err);
}

static void create_zone(struct fixture *f, struct store_txn *t, const char *apex, const char *tenant, uint32_t serial)
{
	struct store_zone z = {.serial = serial, .serial_policy = STORE_SERIAL_INCREMENT};
	assert_true(name_from_text(z.apex, apex, NULL) > 0);
	snprintf(z.tenant, sizeof(z.tenant), "%s", tenant);
	int rc = store_zone_create(t, &z, f->err, sizeof(f->err));
	if (rc)
		fail_msg("create %s: %s", apex, f->err);
	assert_true(z.id > 0);
}

/* Creates zones in one committed transaction. */
static void create_zone_committed(struct fixture *f, const char *apex, const char *tenant, uint32_t serial)
{
	struct store_txn *t = begin(f);
	create_zone(f, t, apex, tenant, serial);
	commit(f, t);
}

static int zone_exists(struct store *st, const char *apex)
{
	uint8_t a[NAME_MAXLEN];
	struct store_zone z;
	char err[256];
	int rc = store_zone_get(store_latest(st), N(a, apex), &z, err, sizeof(err));
	assert_true(rc == 0 || rc == TERN_ENOTFOUND);
	return rc == 0;
}

static void put_a(struct fixture *f, struct store_txn *t, const char *apex, const char *owner, uint32_t ttl,
                  uint8_t last)
{
	uint8_t a[NAME_MAXLEN], o[NAME_MAXLEN], rd[6] = {0, 4, 192, 0, 2, last};
	int rc = store_rrset_put(t, N(a, apex), N(o, owner), RR_A, ttl, rd, sizeof(rd), f->err, sizeof(f->err));
	if (rc)
		fail_msg("put %s: %s", owner, f->err);
}

/* One number from the database file through a separate raw connection. */
static int64_t raw_int(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

static void raw_exec(const char *db, const char *sql)
{
	sqlite3 *h;
	char *msg = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(h);
}

/* ---- Schema ---- */

/* The schema version this store writes (store_sqlite_schema.c's migrations), as a number and as text. */
#define SCHEMA_NOW 15
#define SCHEMA_NOW_TEXT "15"

/* Takes a file back from the version now to 8 (the per-tenant zone counts, the services, the
 * settings, the services' certificates and aliases, the TSIG keys, the usage rows) for the
 * migration tests. */
#define DROP_V9                                                                                                        \
	" DROP TRIGGER tenant_zones_insert; DROP TRIGGER tenant_zones_delete; DROP TRIGGER tenant_zones_move;"         \
	" DROP TABLE tenant_zones; DROP TABLE service_aliases; DROP TABLE service_certs; DROP TABLE acme_account;"     \
	" DROP TABLE services; DROP TABLE settings; DROP TABLE tsig_keys; DROP TABLE usage_days;"

static void test_schema_and_reopen(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN], o[NAME_MAXLEN];
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
	                                "('zones', 'rrsets', 'journal', 'proposals', 'past_serials')"),
	                 5);
	assert_int_equal(raw_int(f->db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);

	struct store_txn *t = begin(f);
	create_zone(f, t, "Example.COM.", "tenant-1", 7);
	put_a(f, t, "example.com.", "www.example.com.", 300, 1);
	assert_int_equal(store_zone_lock(t, N(a, "example.com."), "frozen for audit", f->err, sizeof(f->err)), 0);
	commit(f, t);

	reopen(f);
	reopen(f); /* migrations do not run twice */
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	struct store_zone z;
	assert_int_equal(store_zone_get(store_latest(f->st), N(a, "EXAMPLE.com."), &z, f->err, sizeof(f->err)), 0);
	assert_memory_equal(z.apex, "\7example\3com", 13);
	assert_string_equal(z.tenant, "tenant-1");
	assert_int_equal(z.serial, 7);
	assert_int_equal(z.serial_policy, STORE_SERIAL_INCREMENT);
	assert_true(z.locked);
	assert_string_equal(z.lock_reason, "frozen for audit");
	assert_true(z.created > 0 && z.updated >= z.created);
	struct store_rrset rs;
	assert_int_equal(
	    store_rrset_get(store_latest(f->st), a, N(o, "WWW.example.com."), RR_A, &rs, f->err, sizeof(f->err)), 0);
	assert_int_equal(rs.count, 1);
	assert_int_equal(rs.ttl, 300);
	assert_memory_equal(rs.rdata, "\0\4\300\0\2\1", 6);
	store_rrset_clear(&rs);

	/* a file from a newer program is refused, not downgraded */
	store_close(f->st);
	f->st = NULL;
	raw_exec(f->db, "UPDATE schema_version SET version = 99");
	assert_int_equal(store_open_sqlite(f->db, &f->st, f->err, sizeof(f->err)), TERN_ECONFIG);
	assert_null(f->st);
	assert_non_null(strstr(f->err, "schema version 99 is newer"));
	raw_exec(f->db, "UPDATE schema_version SET version = " SCHEMA_NOW_TEXT);
	reopen(f);
}

/* ---- Settings ---- */

struct usage_seen {
	struct store_usage_row rows[8];
	int n;
};

static int usage_seen(void *arg, const struct store_usage_row *r)
{
	struct usage_seen *u = arg;
	assert_true(u->n < 8);
	u->rows[u->n++] = *r;
	return 0;
}

static void usage_row(struct store_usage_row *r, const char *tenant, int64_t day, const char *zone, uint64_t n)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
	r->day = day;
	assert_true(name_from_text(r->apex, zone, NULL) > 0);
	r->queries = n;
}

/* Usage rows add up per (tenant, day, zone), a zero row stands for a zone-day, lists are ordered
 * and bounded by day and tenant, a rolled-back add leaves nothing. */
static void test_usage_rows(void **state)
{
	struct fixture *f = *state;
	struct store_usage_row r;
	struct store_txn *t = begin(f);
	usage_row(&r, "tenant-a", 20400, "a.test.", 5);
	assert_int_equal(store_usage_add(t, &r, f->err, sizeof(f->err)), 0);
	r.queries = 7;
	assert_int_equal(store_usage_add(t, &r, f->err, sizeof(f->err)), 0);
	usage_row(&r, "tenant-a", 20401, "a.test.", 0);
	assert_int_equal(store_usage_add(t, &r, f->err, sizeof(f->err)), 0);
	usage_row(&r, "", 20400, "files.test.", 3);
	assert_int_equal(store_usage_add(t, &r, f->err, sizeof(f->err)), 0);
	commit(f, t);
	t = begin(f);
	usage_row(&r, "tenant-a", 20400, "a.test.", 1000);
	assert_int_equal(store_usage_add(t, &r, f->err, sizeof(f->err)), 0);
	store_rollback(t);
	struct usage_seen u = {0};
	assert_int_equal(
	    store_usage_list(store_latest(f->st), "tenant-a", 20400, 20401, usage_seen, &u, f->err, sizeof(f->err)), 0);
	assert_int_equal(u.n, 2);
	assert_int_equal(u.rows[0].day, 20400);
	assert_int_equal(u.rows[0].queries, 12);
	assert_int_equal(u.rows[1].day, 20401);
	assert_int_equal(u.rows[1].queries, 0);
	assert_string_equal(u.rows[1].tenant, "tenant-a");
	memset(&u, 0, sizeof(u));
	assert_int_equal(
	    store_usage_list(store_latest(f->st), NULL, 20400, 20400, usage_seen, &u, f->err, sizeof(f->err)), 0);
	assert_int_equal(u.n, 2);
	assert_string_equal(u.rows[0].tenant, "");
	assert_int_equal(u.rows[0].queries, 3);
	assert_int_equal(u.rows[1].queries, 12);
}

static void test_settings(void **state)
{
	struct fixture *f = *state;
	void *v = NULL;
	size_t len = 0;
	int64_t when = 0;
	assert_int_equal(
	    store_setting_get(store_latest(f->st), "jwks https://idp/", &v, &len, &when, f->err, sizeof(f->err)),
	    TERN_ENOTFOUND);
	assert_null(v);
	assert_string_equal(f->err, "no setting jwks https://idp/");
	struct store_txn *t = begin(f);
	static const char bytes[] = "a\0b";
	assert_int_equal(store_setting_put(t, "jwks https://idp/", bytes, 3, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(
	    store_setting_get(store_latest(f->st), "jwks https://idp/", &v, &len, &when, f->err, sizeof(f->err)), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, bytes, 3);
	assert_int_equal(((char *)v)[3], 0);
	assert_true(when > 0);
	free(v);
	/* replaced whole, kept across a reopen */
	t = begin(f);
	assert_int_equal(store_setting_put(t, "jwks https://idp/", "{}", 2, f->err, sizeof(f->err)), 0);
	commit(f, t);
	reopen(f);
	assert_int_equal(
	    store_setting_get(store_latest(f->st), "jwks https://idp/", &v, &len, NULL, f->err, sizeof(f->err)), 0);
	assert_int_equal(len, 2);
	assert_string_equal(v, "{}");
	free(v);
	/* a rolled-back put leaves nothing; bad names and sizes are refused */
	t = begin(f);
	assert_int_equal(store_setting_put(t, "other", "x", 1, f->err, sizeof(f->err)), 0);
	store_rollback(t);
	assert_int_equal(store_setting_get(store_latest(f->st), "other", &v, &len, NULL, f->err, sizeof(f->err)),
	                 TERN_ENOTFOUND);
	t = begin(f);
	assert_true(store_setting_put(t, "", "x", 1, f->err, sizeof(f->err)) < 0);
	assert_true(store_setting_put(t, "big", "x", STORE_SETTING_MAX + 1, f->err, sizeof(f->err)) == TERN_EINVAL);
	assert_non_null(strstr(f->err, "is more than"));
	store_rollback(t);
}

/* ---- Zones ---- */

static void test_zone_crud(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN], o[NAME_MAXLEN];
	struct store_zone z;
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "alice", 1);

	/* the name belongs to one tenant: another cannot take it, in any case */
	struct store_zone dup = {.serial = 1, .serial_policy = STORE_SERIAL_DATE};
	assert_true(name_from_text(dup.apex, "EXAMPLE.com.", NULL) > 0);
	snprintf(dup.tenant, sizeof(dup.tenant), "bob");
	assert_int_equal(store_zone_create(t, &dup, f->err, sizeof(f->err)), TERN_EEXIST);
	assert_string_equal(f->err, "zone example.com. already exists");

	/* tenant ids: 1..128 bytes */
	memset(dup.tenant, 'x', 128);
	dup.tenant[128] = 0;
	assert_true(name_from_text(dup.apex, "long.example.", NULL) > 0);
	assert_int_equal(store_zone_create(t, &dup, f->err, sizeof(f->err)), 0);
	dup.tenant[0] = 0;
	assert_true(name_from_text(dup.apex, "empty.example.", NULL) > 0);
	assert_int_equal(store_zone_create(t, &dup, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_string_equal(f->err, "tenant id is empty");
	dup.tenant[0] = 'x';
	dup.serial_policy = (enum store_serial_policy)7;
	assert_int_equal(store_zone_create(t, &dup, f->err, sizeof(f->err)), TERN_EINVAL);

	assert_int_equal(store_zone_get(t, N(a, "Example.Com."), &z, f->err, sizeof(f->err)), 0);
	assert_string_equal(z.tenant, "alice");
	assert_int_equal(z.serial, 1);
	assert_false(z.locked);
	assert_string_equal(z.lock_reason, "");

	assert_int_equal(store_zone_set_serial(t, a, 2024010101u, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_lock(t, a, "", f->err, sizeof(f->err)), TERN_EINVAL);
	assert_string_equal(f->err, "lock reason is empty");
	assert_int_equal(store_zone_lock(t, a, "registrar transfer", f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_get(t, a, &z, f->err, sizeof(f->err)), 0);
	assert_int_equal(z.serial, 2024010101u);
	assert_true(z.locked);
	assert_string_equal(z.lock_reason, "registrar transfer");
	assert_int_equal(store_zone_unlock(t, a, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_get(t, a, &z, f->err, sizeof(f->err)), 0);
	assert_false(z.locked);
	assert_string_equal(z.lock_reason, "");
	/* signed downstream: off when created, set and cleared; a missing zone is not found */
	assert_false(z.signed_downstream);
	assert_int_equal(store_zone_set_downstream(t, a, true, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_get(t, a, &z, f->err, sizeof(f->err)), 0);
	assert_true(z.signed_downstream && !z.locked && z.serial == 2024010101u);
	assert_int_equal(store_zone_set_downstream(t, a, false, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_get(t, a, &z, f->err, sizeof(f->err)), 0);
	assert_false(z.signed_downstream);
	assert_int_equal(store_zone_set_downstream(t, N(o, "nowhere.example."), true, f->err, sizeof(f->err)),
	                 TERN_ENOTFOUND);
	commit(f, t);

	/* writes need a write transaction */
	struct store_txn *r = NULL;
	assert_int_equal(store_zone_set_serial(store_latest(f->st), a, 5, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_int_equal(store_begin_read(f->st, &r, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_delete(r, a, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_int_equal(store_commit(r, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_commit(store_latest(f->st), f->err, sizeof(f->err)), TERN_EINVAL);
	store_rollback(store_latest(f->st)); /* harmless */

	t = begin(f);
	assert_int_equal(store_zone_delete(t, a, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_get(t, a, &z, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_string_equal(f->err, "no zone example.com.");
	assert_int_equal(store_zone_delete(t, a, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_zone_set_serial(t, N(a, "example.org."), 1, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_string_equal(f->err, "no zone example.org.");
	assert_int_equal(store_zone_get(t, (const uint8_t *)"\100bad", &z, f->err, sizeof(f->err)), TERN_ENAME);
	commit(f, t);
	assert_false(zone_exists(f->st, "example.com."));
}

struct collect {
	uint8_t names[64][NAME_MAXLEN];
	int n;
};

static int collect_zone(const struct store_zone *z, void *arg)
{
	struct collect *c = arg;
	assert_true(c->n < 64);
	memcpy(c->names[c->n++], z->apex, name_len(z->apex));
	return 0;
}

static int stop_at_second(const struct store_zone *z, void *arg)
{
	(void)z;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void test_zone_pagination(void **state)
{
	struct fixture *f = *state;
	/* parents before children, shorter labels before longer ones they prefix */
	static const char *const names[25] = {
	    "test.",      "a.test.",      "z0.test.",     "z1.test.",       "sub.z1.test.", "z10.test.",  "z11.test.",
	    "z2.test.",   "z3.test.",     "z4.test.",     "z5.test.",       "z6.test.",     "z7.test.",   "z8.test.",
	    "z9.test.",   "zz.test.",     "b.",           "a.b.",           "example.",     "a.example.", "b.example.",
	    "c.example.", "example.net.", "example.org.", "x.example.org.",
	};
	struct store_txn *t = begin(f);
	for (int i = 24; i >= 0; i--) /* inserted out of order */
		create_zone(f, t, names[(i * 7) % 25], i % 2 ? "odd" : "even", 1);
	commit(f, t);

	struct collect all = {0};
	struct store_page page = {0};
	int pages = 0, sizes[4] = {0};
	const uint8_t *after = NULL;
	uint8_t cursor[NAME_MAXLEN];
	do {
		int before = all.n;
		assert_int_equal(store_zone_list(store_latest(f->st), NULL, after, 10, collect_zone, &all, &page,
		                                 f->err, sizeof(f->err)),
		                 0);
		sizes[pages++] = all.n - before;
		memcpy(cursor, page.next_apex, NAME_MAXLEN);
		after = cursor;
	} while (page.more && pages < 4);
	assert_int_equal(pages, 3);
	assert_int_equal(sizes[0], 10);
	assert_int_equal(sizes[1], 10);
	assert_int_equal(sizes[2], 5);
	assert_int_equal(all.n, 25);
	for (int i = 1; i < all.n; i++)
		assert_true(name_cmp(all.names[i - 1], all.names[i]) < 0);

	/* one tenant's zones only */
	struct collect even = {0};
	assert_int_equal(
	    store_zone_list(store_latest(f->st), "even", NULL, 10, collect_zone, &even, &page, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(even.n, 10);
	assert_true(page.more);
	assert_int_equal(store_zone_list(store_latest(f->st), "even", page.next_apex, 10, collect_zone, &even, &page,
	                                 f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(even.n, 13);
	assert_false(page.more);
	struct collect none = {0};
	assert_int_equal(store_zone_list(store_latest(f->st), "nobody", NULL, 10, collect_zone, &none, &page, f->err,
	                                 sizeof(f->err)),
	                 0);
	assert_int_equal(none.n, 0);
	assert_false(page.more);

	assert_int_equal(
	    store_zone_list(store_latest(f->st), NULL, NULL, 0, collect_zone, &none, &page, f->err, sizeof(f->err)),
	    TERN_EINVAL);
	int seen = 0;
	assert_int_equal(
	    store_zone_list(store_latest(f->st), NULL, NULL, 10, stop_at_second, &seen, NULL, f->err, sizeof(f->err)),
	    42);
}

/* ---- RRsets ---- */

struct rrsets_seen {
	uint8_t owners[32][NAME_MAXLEN];
	uint16_t types[32];
	uint32_t ttls[32];
	uint16_t counts[32];
	int n;
};

static int collect_rrset(const struct store_rrset *rs, void *arg)
{
	struct rrsets_seen *s = arg;
	assert_true(s->n < 32);
	uint32_t pos = 0;
	uint16_t count = 0;
	while (pos < rs->rdata_size) {
		pos += 2u + wire_get16(rs->rdata + pos);
		count++;
	}
	assert_int_equal(pos, rs->rdata_size);
	assert_int_equal(count, rs->count);
	memcpy(s->owners[s->n], rs->owner, name_len(rs->owner));
	s->types[s->n] = rs->type;
	s->ttls[s->n] = rs->ttl;
	s->counts[s->n++] = rs->count;
	return 0;
}

static void test_rrset_put_replace_delete_iterate(void **state)
{
	struct fixture *f = *state;
	/* RFC 4034 section 6.1's example, in canonical order */
	static const char *const order[] = {
	    "example.",   "a.example.",       "yljkjljk.a.example.", "Z.a.example.",     "zABC.a.EXAMPLE.",
	    "z.example.", "\\001.z.example.", "*.z.example.",        "\\200.z.example.",
	};
	uint8_t a[NAME_MAXLEN], o[NAME_MAXLEN];
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.", "alice", 1);
	for (int i = 8; i >= 0; i--)
		put_a(f, t, "example.", order[(i * 4) % 9], 60, (uint8_t)i);
	/* several types at the apex come out by type number */
	static const uint8_t soa[] = {0, 22, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};
	static const uint8_t ns[] = {0, 5, 2, 'n', 's', 0, 0};
	assert_int_equal(
	    store_rrset_put(t, N(a, "example."), a, RR_SOA, 3600, soa, sizeof(soa) - 1, f->err, sizeof(f->err)),
	    TERN_EMALF); /* cut short */
	assert_int_equal(store_rrset_put(t, a, a, RR_SOA, 3600, soa, 2 + 22, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_rrset_put(t, a, a, RR_NS, 3600, ns, sizeof(ns), f->err, sizeof(f->err)), 0);
	assert_int_equal(store_rrset_put(t, a, a, RR_MX, 3600, NULL, 0, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_string_equal(f->err, "an RRset needs at least one record");
	assert_int_equal(
	    store_rrset_put(t, a, N(o, "www.example.org."), RR_A, 60, ns, sizeof(ns), f->err, sizeof(f->err)),
	    TERN_EINVAL);
	assert_string_equal(f->err, "owner www.example.org. is outside zone example.");
	assert_int_equal(store_rrset_put(t, N(o, "nope.example."), o, RR_A, 60, ns, sizeof(ns), f->err, sizeof(f->err)),
	                 TERN_ENOTFOUND);
	assert_string_equal(f->err, "no zone nope.example.");
	/* a missing owner is a bad name, not garbage read from the stack */
	assert_int_equal(store_rrset_put(t, a, NULL, RR_A, 60, ns, sizeof(ns), f->err, sizeof(f->err)), TERN_ENAME);
	assert_string_equal(f->err, "bad owner name");
	assert_int_equal(store_rrset_delete(t, a, NULL, RR_A, f->err, sizeof(f->err)), TERN_ENAME);
	commit(f, t);

	struct rrsets_seen seen = {0};
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, collect_rrset, &seen, f->err, sizeof(f->err)), 0);
	assert_int_equal(seen.n, 11);
	uint16_t apex_types[3] = {RR_A, RR_NS, RR_SOA};
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(seen.owners[i], "\7example", 9);
		assert_int_equal(seen.types[i], apex_types[i]);
	}
	for (int i = 1; i < 9; i++) {
		uint8_t want[NAME_MAXLEN];
		N(want, order[i]);
		name_lower(want);
		assert_memory_equal(seen.owners[i + 2], want, name_len(want));
	}

	/* replace: the whole RRset goes, TTL and records both */
	t = begin(f);
	static const uint8_t two[] = {0, 4, 10, 0, 0, 1, 0, 4, 10, 0, 0, 2};
	assert_int_equal(store_rrset_put(t, a, N(o, "Z.EXAMPLE."), RR_A, 120, two, sizeof(two), f->err, sizeof(f->err)),
	                 0);
	struct store_rrset rs;
	assert_int_equal(store_rrset_get(t, a, o, RR_A, &rs, f->err, sizeof(f->err)), 0);
	assert_int_equal(rs.ttl, 120);
	assert_int_equal(rs.count, 2);
	assert_int_equal(rs.rdata_size, sizeof(two));
	assert_memory_equal(rs.rdata, two, sizeof(two));
	assert_memory_equal(rs.owner, "\1z\7example", 11);
	store_rrset_clear(&rs);

	assert_int_equal(store_rrset_delete(t, a, o, RR_A, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_rrset_get(t, a, o, RR_A, &rs, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_string_equal(f->err, "no A RRset at z.example.");
	assert_int_equal(store_rrset_delete(t, a, o, RR_A, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_rrset_delete(t, a, o, RR_AAAA, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_string_equal(f->err, "no AAAA RRset at z.example.");
	commit(f, t);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, collect_rrset, &seen, f->err, sizeof(f->err)), 0);
	assert_int_equal(seen.n, 10);

	t = begin(f);
	assert_int_equal(store_rrset_delete_all(t, a, f->err, sizeof(f->err)), 0);
	commit(f, t);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, collect_rrset, &seen, f->err, sizeof(f->err)), 0);
	assert_int_equal(seen.n, 0);
	assert_true(zone_exists(f->st, "example."));
}

struct nested {
	struct store_txn *t;
	const uint8_t *apex;
	int outer, inner;
};

static int count_rrset(const struct store_rrset *rs, void *arg)
{
	(void)rs;
	(*(int *)arg)++;
	return 0;
}

/* A callback that reads back through the handle being walked, with the same statements. */
static int nested_rrset(const struct store_rrset *rs, void *arg)
{
	struct nested *n = arg;
	struct store_rrset copy;
	char err[256];
	assert_int_equal(store_rrset_get(n->t, n->apex, rs->owner, rs->type, &copy, err, sizeof(err)), 0);
	assert_int_equal(copy.rdata_size, rs->rdata_size);
	assert_memory_equal(copy.rdata, rs->rdata, rs->rdata_size);
	store_rrset_clear(&copy);
	int inner = 0;
	assert_int_equal(store_rrset_foreach(n->t, n->apex, count_rrset, &inner, err, sizeof(err)), 0);
	n->inner += inner;
	n->outer++;
	return 0;
}

static void test_nested_callbacks(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.net.", "alice", 1);
	put_a(f, t, "example.net.", "a.example.net.", 60, 1);
	put_a(f, t, "example.net.", "b.example.net.", 60, 2);
	put_a(f, t, "example.net.", "c.example.net.", 60, 3);
	struct nested n = {.t = t, .apex = N(a, "example.net.")};
	assert_int_equal(store_rrset_foreach(t, a, nested_rrset, &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n.outer, 3);
	assert_int_equal(n.inner, 9);
	commit(f, t);
	n = (struct nested){.t = store_latest(f->st), .apex = a};
	assert_int_equal(store_rrset_foreach(n.t, a, nested_rrset, &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n.outer, 3);
	assert_int_equal(n.inner, 9);
}

static void test_big_rrset(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN], o[NAME_MAXLEN];
	/* 1000 A records, and 1000 TXT records of 200 bytes (~200 KB) */
	size_t asize = 1000 * 6, tsize = 1000 * 203;
	uint8_t *ard = malloc(asize), *trd = malloc(tsize);
	assert_non_null(ard);
	assert_non_null(trd);
	for (int i = 0; i < 1000; i++) {
		uint8_t *p = ard + i * 6;
		p[0] = 0;
		p[1] = 4;
		p[2] = 10;
		p[3] = (uint8_t)(i >> 8);
		p[4] = (uint8_t)i;
		p[5] = 1;
		uint8_t *q = trd + i * 203;
		wire_put16(q, 201);
		q[2] = 200;
		memset(q + 3, 'a' + i % 26, 200);
	}
	struct store_txn *t = begin(f);
	create_zone(f, t, "big.example.", "alice", 1);
	assert_int_equal(store_rrset_put(t, N(a, "big.example."), N(o, "many.big.example."), RR_A, 60, ard,
	                                 (uint32_t)asize, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(store_rrset_put(t, a, o, RR_TXT, 60, trd, (uint32_t)tsize, f->err, sizeof(f->err)), 0);
	commit(f, t);
	reopen(f);

	struct store_rrset rs;
	assert_int_equal(store_rrset_get(store_latest(f->st), a, o, RR_A, &rs, f->err, sizeof(f->err)), 0);
	assert_int_equal(rs.count, 1000);
	assert_int_equal(rs.rdata_size, asize);
	assert_memory_equal(rs.rdata, ard, asize);
	store_rrset_clear(&rs);
	assert_int_equal(store_rrset_get(store_latest(f->st), a, o, RR_TXT, &rs, f->err, sizeof(f->err)), 0);
	assert_int_equal(rs.count, 1000);
	assert_int_equal(rs.rdata_size, tsize);
	assert_memory_equal(rs.rdata, trd, tsize);
	store_rrset_clear(&rs);
	struct rrsets_seen seen = {0};
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, collect_rrset, &seen, f->err, sizeof(f->err)), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.counts[0], 1000);
	assert_int_equal(seen.counts[1], 1000);
	free(ard);
	free(trd);
}

/* ---- Journal ---- */

/* An RR list of one A record at owner (last octet v) and, when txt is set, one TXT record. */
static size_t rr_list(uint8_t *buf, size_t cap, const char *owner, uint8_t v, const char *txt)
{
	uint8_t o[NAME_MAXLEN], rd[4] = {192, 0, 2, v}, trd[256];
	size_t pos = 0;
	struct store_rr rr = {.owner = N(o, owner), .type = RR_A, .ttl = 300, .rdlen = 4, .rdata = rd};
	assert_int_equal(store_rr_put(buf, cap, &pos, &rr), 0);
	if (txt) {
		trd[0] = (uint8_t)strlen(txt);
		memcpy(trd + 1, txt, trd[0]);
		rr = (struct store_rr){
		    .owner = o, .type = RR_TXT, .ttl = 60, .rdlen = (uint16_t)(trd[0] + 1), .rdata = trd};
		assert_int_equal(store_rr_put(buf, cap, &pos, &rr), 0);
	}
	return pos;
}

static void append(struct fixture *f, struct store_txn *t, const char *apex, uint32_t from, uint32_t to)
{
	uint8_t a[NAME_MAXLEN], removed[512], added[512];
	struct store_journal_entry e = {
	    .serial_from = from,
	    .serial_to = to,
	    .principal = "alice",
	    .removed = removed,
	    .removed_len = rr_list(removed, sizeof(removed), "www.example.com.", (uint8_t)from, NULL),
	    .added = added,
	    .added_len = rr_list(added, sizeof(added), "www.example.com.", (uint8_t)to, "serial"),
	};
	int64_t id = 0;
	int rc = store_journal_append(t, N(a, apex), &e, &id, f->err, sizeof(f->err));
	if (rc)
		fail_msg("append: %s", f->err);
	assert_true(id > 0);
	assert_int_equal(store_zone_set_serial(t, a, to, f->err, sizeof(f->err)), 0);
}

struct entries {
	uint32_t from[16], to[16];
	int64_t id[16];
	int n;
};

static int collect_entry(const struct store_journal_entry *e, void *arg)
{
	struct entries *s = arg;
	struct store_rr rr = {0};
	size_t pos = 0;
	assert_true(s->n < 16);
	assert_string_equal(e->principal, "alice");
	assert_true(e->time > 0);
	/* removed: A ending in serial_from; added: A ending in serial_to, then a TXT */
	assert_int_equal(store_rr_next(e->removed, e->removed_len, &pos, &rr), 1);
	assert_int_equal(rr.type, RR_A);
	assert_int_equal(rr.rdata[3], (uint8_t)e->serial_from);
	assert_int_equal(store_rr_next(e->removed, e->removed_len, &pos, &rr), 0);
	pos = 0;
	assert_int_equal(store_rr_next(e->added, e->added_len, &pos, &rr), 1);
	assert_memory_equal(rr.owner, "\3www\7example\3com", 17);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(rr.rdata[3], (uint8_t)e->serial_to);
	assert_int_equal(store_rr_next(e->added, e->added_len, &pos, &rr), 1);
	assert_int_equal(rr.type, RR_TXT);
	assert_memory_equal(rr.rdata, "\6serial", 7);
	assert_int_equal(store_rr_next(e->added, e->added_len, &pos, &rr), 0);
	s->from[s->n] = e->serial_from;
	s->to[s->n] = e->serial_to;
	s->id[s->n++] = e->id;
	return 0;
}

static int read_from(struct fixture *f, uint32_t serial, struct entries *out)
{
	uint8_t a[NAME_MAXLEN];
	memset(out, 0, sizeof(*out));
	return store_journal_read_from(store_latest(f->st), N(a, "example.com."), serial, collect_entry, out, f->err,
	                               sizeof(f->err));
}

/* An entry with no records is a whole-zone replacement (store.h): no chain crosses it, and the
 * entries after it chain as usual. */
static void test_journal_whole_entry(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct entries got;
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "alice", 1);
	append(f, t, "example.com.", 1, 2);
	struct store_journal_entry whole = {.serial_from = 2, .serial_to = 3, .principal = "alice"};
	assert_int_equal(store_journal_append(t, N(a, "example.com."), &whole, NULL, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_set_serial(t, a, 3, f->err, sizeof(f->err)), 0);
	append(f, t, "example.com.", 3, 4);
	commit(f, t);
	assert_int_equal(read_from(f, 1, &got), TERN_ENOTFOUND);
	assert_string_equal(f->err, "journal of example.com.: serial 2 to 3 replaced the zone whole, and no IXFR "
	                            "crosses it");
	assert_int_equal(got.n, 0);
	assert_int_equal(read_from(f, 2, &got), TERN_ENOTFOUND);
	assert_int_equal(read_from(f, 3, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.from[0], 3);
}

static void test_journal(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct entries got;
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "alice", 1);
	create_zone(f, t, "other.example.", "alice", 1);
	for (uint32_t s = 1; s < 6; s++)
		append(f, t, "example.com.", s, s + 1); /* 1->2 ... 5->6 */
	append(f, t, "other.example.", 3, 4); /* another zone's entries stay out */
	commit(f, t);

	assert_int_equal(read_from(f, 1, &got), 0);
	assert_int_equal(got.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(got.from[i], i + 1);
		assert_int_equal(got.to[i], i + 2);
		if (i)
			assert_true(got.id[i] > got.id[i - 1]);
	}
	assert_int_equal(read_from(f, 4, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.from[0], 4);
	assert_int_equal(read_from(f, 6, &got), 0); /* up to date */
	assert_int_equal(got.n, 0);
	assert_int_equal(read_from(f, 9, &got), TERN_ENOTFOUND);
	assert_string_equal(f->err, "journal of example.com. does not reach back to serial 9");
	assert_int_equal(got.n, 0);

	/* history: newest first, by pages */
	struct entries hist = {0};
	struct store_page page;
	assert_int_equal(store_journal_history(store_latest(f->st), N(a, "example.com."), 0, 3, collect_entry, &hist,
	                                       &page, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(hist.n, 3);
	assert_int_equal(hist.to[0], 6);
	assert_int_equal(hist.to[2], 4);
	assert_true(page.more);
	assert_int_equal(page.next_id, hist.id[2]);
	assert_int_equal(store_journal_history(store_latest(f->st), a, page.next_id, 3, collect_entry, &hist, &page,
	                                       f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(hist.n, 5);
	assert_int_equal(hist.to[4], 2);
	assert_false(page.more);

	/* malformed RR lists are refused */
	t = begin(f);
	static const uint8_t bad[] = {3, 'w', 'w', 'w', 0, 0, 1, 0, 0}; /* cut inside the TTL */
	struct store_journal_entry e = {
	    .serial_from = 6, .serial_to = 7, .principal = "alice", .added = bad, .added_len = sizeof(bad)};
	assert_int_equal(store_journal_append(t, a, &e, NULL, f->err, sizeof(f->err)), TERN_EMALF);
	assert_string_equal(f->err, "added records: record 1 is malformed");
	e.added_len = 0;
	e.principal = "";
	assert_int_equal(store_journal_append(t, a, &e, NULL, f->err, sizeof(f->err)), TERN_EINVAL);

	/* trim by count: the newest 3 stay */
	assert_int_equal(store_journal_trim_keep(t, a, 3, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(read_from(f, 2, &got), TERN_ENOTFOUND);
	assert_int_equal(read_from(f, 3, &got), 0);
	assert_int_equal(got.n, 3);

	/* trim by serial: the journal reaches back to 4 and no further */
	t = begin(f);
	assert_int_equal(store_journal_trim_serial(t, a, 4, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_journal_trim_serial(t, a, 2, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_string_equal(f->err, "journal of example.com. has no change from or to serial 2");
	commit(f, t);
	assert_int_equal(read_from(f, 3, &got), TERN_ENOTFOUND);
	assert_int_equal(read_from(f, 4, &got), 0);
	assert_int_equal(got.n, 2);

	/* a gap (serial set without a journal entry) makes IXFR impossible from before it */
	t = begin(f);
	append(f, t, "example.com.", 8, 9);
	commit(f, t);
	assert_int_equal(read_from(f, 4, &got), TERN_ENOTFOUND);
	assert_string_equal(f->err, "journal of example.com. has a gap: serial 6 is followed by a change from 8");
	assert_int_equal(got.n, 0);
	assert_int_equal(read_from(f, 8, &got), 0);
	assert_int_equal(got.n, 1);
	int64_t last_id = got.id[0];
	/* a serial moved on without an entry: the journal no longer ends at the zone */
	t = begin(f);
	assert_int_equal(store_zone_set_serial(t, a, 10, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(read_from(f, 8, &got), TERN_ENOTFOUND);
	assert_string_equal(f->err, "journal of example.com. ends at serial 9, the zone is at 10");

	/* trimming to where the journal ends empties it; the other zone is untouched */
	t = begin(f);
	assert_int_equal(store_zone_set_serial(t, a, 9, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_journal_trim_serial(t, a, 9, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM journal j JOIN zones z ON z.id = j.zone_id"
	                                " WHERE z.apex = X'076578616d706c6503636f6d00'"),
	                 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM journal"), 1);

	/* serials wrap (RFC 1982): the chain follows entries, not arithmetic */
	t = begin(f);
	assert_int_equal(store_zone_set_serial(t, a, 4294967295u, f->err, sizeof(f->err)), 0);
	append(f, t, "example.com.", 4294967295u, 0);
	append(f, t, "example.com.", 0, 1);
	commit(f, t);
	assert_int_equal(read_from(f, 4294967295u, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.to[1], 1);
	assert_true(got.id[0] > last_id); /* an emptied journal does not hand out its ids again */
}

/* A file written by schema version 1 (global journal ids from AUTOINCREMENT, a (zone, id) index)
 * is moved to version 2 in place: every entry keeps its id, and new ids go on from each zone's
 * largest. The version 1 file is made from a version 2 one, its journal rebuilt as version 1 had
 * it, with ids that interleave between the two zones. */
static void test_migration_from_v1(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct entries got;
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "alice", 1);
	create_zone(f, t, "other.example.", "alice", 3);
	append(f, t, "example.com.", 1, 2);
	append(f, t, "example.com.", 2, 3);
	append(f, t, "other.example.", 3, 4);
	commit(f, t);
	store_close(f->st);
	f->st = NULL;
	raw_exec(f->db,
	         "CREATE TABLE journal_v1 (id INTEGER PRIMARY KEY AUTOINCREMENT, zone_id INTEGER NOT NULL"
	         " REFERENCES zones (id) ON DELETE CASCADE, serial_from INTEGER NOT NULL,"
	         " serial_to INTEGER NOT NULL, changed_at INTEGER NOT NULL, principal TEXT NOT NULL,"
	         " removed BLOB NOT NULL, added BLOB NOT NULL);"
	         "INSERT INTO journal_v1 SELECT id * 10 + zone_id, zone_id, serial_from, serial_to, changed_at,"
	         " principal, removed, added FROM journal;"
	         "DROP TABLE journal;"
	         "ALTER TABLE journal_v1 RENAME TO journal;"
	         "CREATE INDEX journal_by_zone ON journal (zone_id, id);"
	         "CREATE INDEX journal_by_serial ON journal (zone_id, serial_from);"
	         "ALTER TABLE zones DROP COLUMN journal_seq;"
	         "ALTER TABLE zones DROP COLUMN signed_downstream; UPDATE schema_version SET version = 1;" DROP_V9
	         "DROP TABLE dnssec_zones; DROP TABLE dnssec_keys; DROP TABLE dnssec_key_journal;");
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM journal WHERE id IN (11, 12, 21)"), 3);

	raw_exec(f->db, "DROP TABLE past_serials; ALTER TABLE rrsets DROP COLUMN ttls;");
	reopen(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name IN ('journal_by_zone',"
	                                " 'journal_v2', 'journal_v1')"),
	                 0);
	assert_int_equal(read_from(f, 1, &got), 0);
	assert_int_equal(got.n, 2);
	assert_int_equal(got.id[0], 11);
	assert_int_equal(got.id[1], 21);
	t = begin(f);
	append(f, t, "example.com.", 3, 4);
	append(f, t, "other.example.", 4, 5);
	commit(f, t);
	assert_int_equal(read_from(f, 1, &got), 0);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.id[2], 22);
	assert_int_equal(raw_int(f->db, "SELECT max(id) FROM journal WHERE zone_id = 2"), 13);
	struct store_zone z;
	assert_int_equal(store_zone_get(store_latest(f->st), N(a, "example.com."), &z, f->err, sizeof(f->err)), 0);
	assert_int_equal(z.serial, 4);
}

/* A deleted zone's serial is remembered for its name, on disk: the zone created again must start
 * above it (RFC 1982, across the wrap), each deletion replaces the memory, and a zone of another
 * name is not held back. */
/* The per-tenant zone counts (version 9) follow creations, deletions and rollbacks, and a version
 * 8 file gets them counted by the migration. */
static uint64_t held(struct fixture *f, const char *tenant)
{
	uint64_t n = 99;
	if (store_zone_count(store_latest(f->st), tenant, &n, f->err, sizeof(f->err)) < 0)
		fail_msg("count %s: %s", tenant, f->err);
	return n;
}

static void test_tenant_counts(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	assert_int_equal(held(f, "alice"), 0);
	create_zone_committed(f, "a1.example.", "alice", 1);
	create_zone_committed(f, "a2.example.", "alice", 1);
	create_zone_committed(f, "b1.example.", "bob", 1);
	assert_int_equal(held(f, "alice"), 2);
	assert_int_equal(held(f, "bob"), 1);
	struct store_txn *t = begin(f);
	create_zone(f, t, "a3.example.", "alice", 1);
	assert_int_equal(store_zone_delete(t, N(a, "b1.example."), f->err, sizeof(f->err)), 0);
	store_rollback(t); /* neither counts */
	assert_int_equal(held(f, "alice"), 2);
	assert_int_equal(held(f, "bob"), 1);
	t = begin(f);
	assert_int_equal(store_zone_delete(t, N(a, "b1.example."), f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_delete(t, N(a, "a1.example."), f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(held(f, "alice"), 1);
	assert_int_equal(held(f, "bob"), 0);
	/* a zone name taken by another tenant counts for neither twice */
	struct store_zone z = {.serial = 5, .serial_policy = STORE_SERIAL_INCREMENT};
	N(z.apex, "a2.example.");
	snprintf(z.tenant, sizeof(z.tenant), "bob");
	t = begin(f);
	assert_int_equal(store_zone_create(t, &z, f->err, sizeof(f->err)), TERN_EEXIST);
	store_rollback(t);
	assert_int_equal(held(f, "bob"), 0);

	create_zone_committed(f, "b2.example.", "bob", 1);
	create_zone_committed(f, "b3.example.", "bob", 1);
	store_close(f->st);
	f->st = NULL;
	raw_exec(f->db, "UPDATE schema_version SET version = 8;" DROP_V9);
	reopen(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	assert_int_equal(held(f, "alice"), 1);
	assert_int_equal(held(f, "bob"), 2);
	assert_int_equal(held(f, "carol"), 0);
	create_zone_committed(f, "b4.example.", "bob", 1);
	assert_int_equal(held(f, "bob"), 3);
}

static int count_service(const struct store_service *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

/* Services: created once (id and canonical name unique), read back, deployment replaced, listed
 * and counted per tenant, deleted; writes need a write transaction. */
static void test_services(void **state)
{
	struct fixture *f = *state;
	const char *id = "0b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12";
	struct store_service s = {.deployment = "{\"regions\":{}}"};
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.tenant, sizeof(s.tenant), "alice");
	N(s.canonical, "0B9C3F1E-2a4d-4e6f-8a1b-3c5d7e9f0a12.App.example.");
	assert_int_equal(store_service_put(store_latest(f->st), &s, true, f->err, sizeof(f->err)), TERN_EINVAL);
	struct store_txn *t = begin(f);
	assert_int_equal(store_service_put(t, &s, true, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_service_put(t, &s, true, f->err, sizeof(f->err)), TERN_EEXIST);
	struct store_service other = s;
	other.id[0] = '1'; /* another id, the same canonical name */
	assert_int_equal(store_service_put(t, &other, true, f->err, sizeof(f->err)), TERN_EEXIST);
	snprintf(other.id, sizeof(other.id), "%s", "NOT-A-UUID");
	assert_int_equal(store_service_put(t, &other, true, f->err, sizeof(f->err)), TERN_EINVAL);
	commit(f, t);
	struct store_service got = {0};
	assert_int_equal(store_service_get(store_latest(f->st), id, &got, f->err, sizeof(f->err)), 0);
	assert_string_equal(got.tenant, "alice");
	assert_string_equal(got.deployment, "{\"regions\":{}}");
	assert_memory_equal(got.canonical, "\0440b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12\3app\7example", 50);
	assert_true(got.created > 0 && got.updated == got.created);
	store_service_clear(&got);
	t = begin(f);
	s.deployment = "{\"ttl\":60}";
	assert_int_equal(store_service_put(t, &s, false, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(store_service_get(store_latest(f->st), id, &got, f->err, sizeof(f->err)), 0);
	assert_string_equal(got.deployment, "{\"ttl\":60}");
	store_service_clear(&got);
	uint64_t n = 9;
	int listed = 0;
	assert_int_equal(store_service_count(store_latest(f->st), "alice", &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_service_count(store_latest(f->st), "bob", &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_service_list(store_latest(f->st), "alice", count_service, &listed, f->err, sizeof(f->err)), 0);
	assert_int_equal(listed, 1);
	t = begin(f);
	assert_int_equal(store_service_delete(t, id, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_service_delete(t, id, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_service_put(t, &s, false, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	commit(f, t);
	assert_int_equal(store_service_get(store_latest(f->st), id, &got, f->err, sizeof(f->err)), TERN_ENOTFOUND);
}

static int due_count(const char *service, const uint8_t *canonical, void *arg)
{
	(void)canonical;
	assert_int_equal(strlen(service), STORE_SERVICE_ID_LEN);
	(*(int *)arg)++;
	return 0;
}

/* Service certificates: due without a row, written whole, read with and without the private
 * columns, due again at next_at, refused for a service that is gone, deleted with the service;
 * the account key stored once. */
static void test_service_certs(void **state)
{
	struct fixture *f = *state;
	const char *id = "0b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12";
	struct store_service s = {.deployment = "{}"};
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.tenant, sizeof(s.tenant), "alice");
	N(s.canonical, "0b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12.app.example.");
	struct store_cert c = {0}, got;
	snprintf(c.service, sizeof(c.service), "%s", id);
	snprintf(c.names, sizeof(c.names), "0b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12.app.example");
	snprintf(c.state, sizeof(c.state), "valid");
	c.chain = "-----BEGIN CERTIFICATE-----\n";
	c.key = "-----BEGIN PRIVATE KEY-----\n";
	c.not_before = 1000, c.not_after = 4000, c.next_at = 3000, c.ech_rotate_at = 5000;
	memset(c.ech_key, 7, sizeof(c.ech_key));
	memset(c.ech_config, 9, 70);
	c.ech_config_len = 70;
	int due = 0;
	int64_t next = 0;
	struct store_txn *t = begin(f);
	/* no service: nothing written */
	assert_int_equal(store_cert_put(t, &c, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_service_put(t, &s, true, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(store_cert_due(store_latest(f->st), 0, 10, due_count, &due, f->err, sizeof(f->err)), 0);
	assert_int_equal(due, 1); /* no row yet */
	assert_int_equal(store_cert_next(store_latest(f->st), &next, f->err, sizeof(f->err)), 0);
	assert_true(next == INT64_MAX);
	assert_int_equal(store_cert_get(store_latest(f->st), id, true, &got, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	t = begin(f);
	assert_int_equal(store_cert_put(t, &c, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_cert_put(t, &c, f->err, sizeof(f->err)), 0); /* replaced */
	commit(f, t);
	due = 0;
	assert_int_equal(store_cert_due(store_latest(f->st), 2999, 10, due_count, &due, f->err, sizeof(f->err)), 0);
	assert_int_equal(due, 0);
	assert_int_equal(store_cert_due(store_latest(f->st), 3000, 10, due_count, &due, f->err, sizeof(f->err)), 0);
	assert_int_equal(due, 1);
	assert_int_equal(store_cert_next(store_latest(f->st), &next, f->err, sizeof(f->err)), 0);
	assert_int_equal(next, 3000);
	assert_int_equal(store_cert_get(store_latest(f->st), id, false, &got, f->err, sizeof(f->err)), 0);
	assert_null(got.key);
	assert_string_equal(got.chain, c.chain);
	assert_int_equal(got.ech_config_len, 70);
	assert_int_equal(got.ech_key[0], 0); /* not asked for */
	assert_int_equal(got.not_after, 4000);
	store_cert_clear(&got);
	assert_int_equal(store_cert_get(store_latest(f->st), id, true, &got, f->err, sizeof(f->err)), 0);
	assert_string_equal(got.key, c.key);
	assert_memory_equal(got.ech_key, c.ech_key, sizeof(c.ech_key));
	assert_int_equal(got.ech_old_config_len, 0);
	store_cert_clear(&got);
	/* the account key, once */
	char *pem = NULL;
	assert_int_equal(store_acme_account_get(store_latest(f->st), &pem, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	t = begin(f);
	assert_int_equal(store_acme_account_put(t, "-----BEGIN PRIVATE KEY-----\n", f->err, sizeof(f->err)), 0);
	assert_int_equal(store_acme_account_put(t, "other", f->err, sizeof(f->err)), TERN_EEXIST);
	commit(f, t);
	assert_int_equal(store_acme_account_get(store_latest(f->st), &pem, f->err, sizeof(f->err)), 0);
	assert_string_equal(pem, "-----BEGIN PRIVATE KEY-----\n");
	free(pem);
	/* the service goes, its certificate with it */
	t = begin(f);
	assert_int_equal(store_service_delete(t, id, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_cert_put(t, &c, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	commit(f, t);
	assert_int_equal(store_cert_get(store_latest(f->st), id, true, &got, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM service_certs"), 0);
}

static int alias_collect(const struct store_alias *a, void *arg)
{
	struct store_alias *out = arg;
	size_t i = 0;
	while (out[i].state[0])
		i++;
	out[i] = *a;
	return 0;
}

/* Service aliases: one service's at most (EEXIST whoever holds it), the limit (EBUSY), a service
 * that is gone (ENOTFOUND), listed in order, a verdict set, removed, gone with the service; a
 * pending alias makes its service due at once. */
struct tsig_seen {
	char names[4][64];
	char tenants[4][STORE_TENANT_MAX + 1];
	size_t n;
};

static int tsig_collect(const struct store_tsig_key *k, void *arg)
{
	struct tsig_seen *s = arg;
	if (s->n < 4) {
		name_to_text(k->name, s->names[s->n], sizeof(s->names[0]));
		snprintf(s->tenants[s->n], sizeof(s->tenants[0]), "%s", k->tenant);
		assert_int_equal(k->secret_len, 32);
		assert_string_equal(k->acl, "[{}]");
		s->n++;
	}
	return 0;
}

/* TSIG keys made over the API: names unique across tenants, a limit per tenant, a tenant's own
 * listing and deletion, every tenant's listing. */
static void test_tsig_keys(void **state)
{
	struct fixture *f = *state;
	struct store_tsig_key k = {.secret_len = 32, .acl = "[{}]"};
	memset(k.secret, 7, 32);
	snprintf(k.tenant, sizeof(k.tenant), "alice");
	snprintf(k.algorithm, sizeof(k.algorithm), "hmac-sha256");
	N(k.name, "b.keys.");
	struct store_txn *t = begin(f);
	assert_int_equal(store_tsig_key_add(t, &k, 2, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_tsig_key_add(t, &k, 2, f->err, sizeof(f->err)), TERN_EEXIST);
	struct store_tsig_key bob = k;
	snprintf(bob.tenant, sizeof(bob.tenant), "bob");
	assert_int_equal(store_tsig_key_add(t, &bob, 2, f->err, sizeof(f->err)), TERN_EEXIST); /* alice's name */
	N(bob.name, "a.keys.");
	assert_int_equal(store_tsig_key_add(t, &bob, 2, f->err, sizeof(f->err)), 0);
	N(k.name, "c.keys.");
	assert_int_equal(store_tsig_key_add(t, &k, 2, f->err, sizeof(f->err)), 0);
	N(k.name, "d.keys.");
	assert_int_equal(store_tsig_key_add(t, &k, 2, f->err, sizeof(f->err)), TERN_EBUSY);
	snprintf(k.algorithm, sizeof(k.algorithm), "hmac-md5");
	assert_int_equal(store_tsig_key_add(t, &k, 5, f->err, sizeof(f->err)), TERN_EINVAL);
	commit(f, t);
	struct tsig_seen seen = {0};
	assert_int_equal(store_tsig_key_list(store_latest(f->st), "alice", tsig_collect, &seen, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.names[0], "b.keys.");
	assert_string_equal(seen.names[1], "c.keys.");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_tsig_key_list(store_latest(f->st), NULL, tsig_collect, &seen, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.tenants[0], "bob");
	t = begin(f);
	assert_int_equal(store_tsig_key_delete(t, "bob", k.name, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	N(k.name, "b.keys.");
	assert_int_equal(store_tsig_key_delete(t, "bob", k.name, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_tsig_key_delete(t, "alice", k.name, f->err, sizeof(f->err)), 0);
	commit(f, t);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_tsig_key_list(store_latest(f->st), NULL, tsig_collect, &seen, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(seen.n, 2);
}

static void test_service_aliases(void **state)
{
	struct fixture *f = *state;
	const char *id = "0b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12", *id2 = "1b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12";
	struct store_service s = {.deployment = "{}"}, s2 = {.deployment = "{}"};
	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.tenant, sizeof(s.tenant), "alice");
	N(s.canonical, "0b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12.app.example.");
	snprintf(s2.id, sizeof(s2.id), "%s", id2);
	snprintf(s2.tenant, sizeof(s2.tenant), "bob");
	N(s2.canonical, "1b9c3f1e-2a4d-4e6f-8a1b-3c5d7e9f0a12.app.example.");
	struct store_alias a = {0}, list[4];
	snprintf(a.service, sizeof(a.service), "%s", id);
	snprintf(a.state, sizeof(a.state), "pending");
	N(a.name, "WWW.Shop.example.");
	struct store_txn *t = begin(f);
	assert_int_equal(store_alias_add(t, &a, 2, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_service_put(t, &s, true, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_service_put(t, &s2, true, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_alias_add(t, &a, 2, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_alias_add(t, &a, 2, f->err, sizeof(f->err)), TERN_EEXIST);
	struct store_alias b = a;
	snprintf(b.service, sizeof(b.service), "%s", id2);
	N(b.name, "www.shop.example."); /* bob's service: the name is taken, whatever its case */
	assert_int_equal(store_alias_add(t, &b, 2, f->err, sizeof(f->err)), TERN_EEXIST);
	assert_null(strstr(f->err, id));
	N(a.name, "api.shop.example.");
	assert_int_equal(store_alias_add(t, &a, 2, f->err, sizeof(f->err)), 0);
	N(a.name, "third.shop.example.");
	assert_int_equal(store_alias_add(t, &a, 2, f->err, sizeof(f->err)), TERN_EBUSY);
	snprintf(a.state, sizeof(a.state), "maybe");
	assert_int_equal(store_alias_add(t, &a, 5, f->err, sizeof(f->err)), TERN_EINVAL);
	commit(f, t);
	int due = 0;
	int64_t next = 99;
	assert_int_equal(store_cert_due(store_latest(f->st), 0, 10, due_count, &due, f->err, sizeof(f->err)), 0);
	assert_int_equal(due, 2); /* no rows yet */
	memset(list, 0, sizeof(list));
	assert_int_equal(store_alias_list(store_latest(f->st), id, alias_collect, list, f->err, sizeof(f->err)), 0);
	assert_string_equal(list[0].state, "pending");
	assert_string_equal(list[1].state, "pending");
	assert_null(list[2].state[0] ? "a third" : NULL);
	assert_int_equal(list[0].checked, 0);
	/* a verdict */
	struct store_alias v = list[0];
	snprintf(v.state, sizeof(v.state), "verified");
	snprintf(v.reason, sizeof(v.reason), "CNAME: here");
	v.checked = 1234;
	t = begin(f);
	assert_int_equal(store_alias_set(t, &v, f->err, sizeof(f->err)), 0);
	snprintf(v.service, sizeof(v.service), "%s", id2);
	assert_int_equal(store_alias_set(t, &v, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	commit(f, t);
	memset(list, 0, sizeof(list));
	assert_int_equal(store_alias_list(store_latest(f->st), id, alias_collect, list, f->err, sizeof(f->err)), 0);
	int verified = strcmp(list[0].state, "verified") == 0 ? 0 : 1;
	assert_string_equal(list[verified].state, "verified");
	assert_string_equal(list[verified].reason, "CNAME: here");
	assert_int_equal(list[verified].checked, 1234);
	/* a certificate row not due: the pending alias makes it due, and next is now */
	struct store_cert c = {0};
	snprintf(c.service, sizeof(c.service), "%s", id);
	snprintf(c.names, sizeof(c.names), "x");
	snprintf(c.state, sizeof(c.state), "valid");
	c.next_at = 5000;
	t = begin(f);
	assert_int_equal(store_cert_put(t, &c, f->err, sizeof(f->err)), 0);
	commit(f, t);
	due = 0;
	assert_int_equal(store_cert_due(store_latest(f->st), 10, 10, due_count, &due, f->err, sizeof(f->err)), 0);
	assert_int_equal(due, 2); /* bob's has no row; alice's has a pending alias */
	assert_int_equal(store_cert_next(store_latest(f->st), &next, f->err, sizeof(f->err)), 0);
	assert_int_equal(next, 0);
	/* removed; then the service goes with the other */
	t = begin(f);
	assert_int_equal(store_alias_delete(t, id, list[1 - verified].name, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_alias_delete(t, id, list[1 - verified].name, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	commit(f, t);
	assert_int_equal(store_cert_next(store_latest(f->st), &next, f->err, sizeof(f->err)), 0);
	assert_int_equal(next, 5000);
	t = begin(f);
	assert_int_equal(store_service_delete(t, id, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM service_aliases"), 0);
}

static void test_past_serials(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	uint32_t past = 0;
	N(a, "Example.COM.");
	assert_int_equal(store_zone_past_serial(store_latest(f->st), a, &past, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_string_equal(f->err, "zone example.com. was never deleted");
	create_zone_committed(f, "example.com.", "alice", 1);
	struct store_txn *t = begin(f);
	assert_int_equal(store_zone_set_serial(t, a, 4294967290u, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_delete(t, a, f->err, sizeof(f->err)), 0);
	commit(f, t);
	reopen(f); /* as a restart of ternd between the deletion and the creation */
	assert_int_equal(store_zone_past_serial(store_latest(f->st), a, &past, f->err, sizeof(f->err)), 0);
	assert_int_equal(past, 4294967290u);

	struct store_zone z = {.serial_policy = STORE_SERIAL_DATE};
	snprintf(z.tenant, sizeof(z.tenant), "bob");
	/* equal, older, and 2^31 and more ahead (older or undefined: RFC 1982 3.2) */
	static const uint32_t refused[] = {4294967290u, 4294967000u, 3000000000u, 2147483642u, 2147483643u};
	t = begin(f);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		N(z.apex, "example.com.");
		z.serial = refused[i];
		assert_int_equal(store_zone_create(t, &z, f->err, sizeof(f->err)), TERN_EINVAL);
		assert_non_null(strstr(f->err, "zone example.com. had serial 4294967290 before it was deleted"));
	}
	N(z.apex, "example.com.");
	z.serial = 5; /* past the wrap: newer than 4294967290 */
	assert_int_equal(store_zone_create(t, &z, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM past_serials"), 1);

	/* deleted again: the newer serial replaces the older one */
	t = begin(f);
	assert_int_equal(store_zone_set_serial(t, a, 9, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_delete(t, a, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(store_zone_past_serial(store_latest(f->st), a, &past, f->err, sizeof(f->err)), 0);
	assert_int_equal(past, 9);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM past_serials"), 1);
	create_zone_committed(f, "example.com.", "alice", 10);

	/* a deletion rolled back is forgotten with it; another name starts where it likes */
	t = begin(f);
	assert_int_equal(store_zone_delete(t, a, f->err, sizeof(f->err)), 0);
	store_rollback(t);
	assert_int_equal(store_zone_past_serial(store_latest(f->st), a, &past, f->err, sizeof(f->err)), 0);
	assert_int_equal(past, 9);
	create_zone_committed(f, "example.net.", "alice", 1);
}

/* A version 2 file (no past_serials) moves to version 3 in place: zones, RRsets and journal stay,
 * and deletions from then on are remembered. */
static void test_migration_from_v2(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct entries got;
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "alice", 7);
	put_a(f, t, "example.com.", "www.example.com.", 300, 1);
	append(f, t, "example.com.", 6, 7);
	commit(f, t);
	store_close(f->st);
	f->st = NULL;
	raw_exec(f->db, "DROP TABLE past_serials; ALTER TABLE rrsets DROP COLUMN ttls; ALTER TABLE zones DROP COLUMN "
	                "signed_downstream; UPDATE schema_version SET version = 2;" DROP_V9
	                "DROP TABLE dnssec_zones; DROP TABLE dnssec_keys; DROP TABLE dnssec_key_journal;");
	reopen(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM past_serials"), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets"), 1);
	assert_int_equal(read_from(f, 6, &got), 0);
	assert_int_equal(got.n, 1);
	t = begin(f);
	assert_int_equal(store_zone_delete(t, N(a, "example.com."), f->err, sizeof(f->err)), 0);
	commit(f, t);
	uint32_t past = 0;
	assert_int_equal(store_zone_past_serial(store_latest(f->st), a, &past, f->err, sizeof(f->err)), 0);
	assert_int_equal(past, 7);
}

/* An RRset whose records keep their own TTLs (a name's RRSIGs, each at its covered RRset's TTL)
 * reads back with them, by get and by foreach; one whose TTLs all agree stores none. A version 3
 * file (no ttls column) moves to version 4 in place, its RRsets read back with one TTL each. */
static int find_sigs(const struct store_rrset *rs, void *arg)
{
	if (rs->type != RR_RRSIG)
		return 0;
	uint32_t *got = arg;
	for (uint16_t i = 0; i < rs->count; i++)
		got[i] = store_rrset_ttl(rs, i);
	got[3] = rs->ttls != NULL;
	return 0;
}

static void test_rrset_ttls_and_migration_from_v3(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN], o[NAME_MAXLEN];
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "alice", 7);
	put_a(f, t, "example.com.", "www.example.com.", 300, 1);
	commit(f, t);
	store_close(f->st);
	f->st = NULL;
	raw_exec(f->db, "ALTER TABLE rrsets DROP COLUMN ttls; ALTER TABLE zones DROP COLUMN signed_downstream; UPDATE "
	                "schema_version SET version = 3;" DROP_V9
	                "DROP TABLE dnssec_zones; DROP TABLE dnssec_keys; DROP TABLE dnssec_key_journal;");
	reopen(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets WHERE ttls IS NULL"), 1);
	struct store_rrset rs;
	assert_int_equal(store_rrset_get(store_latest(f->st), N(a, "example.com."), N(o, "www.example.com."), RR_A, &rs,
	                                 f->err, sizeof(f->err)),
	                 0);
	assert_null(rs.ttls);
	assert_int_equal(store_rrset_ttl(&rs, 0), 300);
	store_rrset_clear(&rs);

	/* three signatures (the store checks the layout only), at 600, 7200 and 60 */
	static const uint8_t sigs[] = {0, 2, 0, 1, 0, 2, 0, 16, 0, 2, 0, 47};
	static const uint32_t ttls[] = {600, 7200, 60}, same[] = {60, 60, 60};
	t = begin(f);
	assert_int_equal(store_rrset_put_ttls(t, a, o, RR_RRSIG, 60, ttls, sigs, sizeof(sigs), f->err, sizeof(f->err)),
	                 0);
	commit(f, t);
	assert_int_equal(store_rrset_get(store_latest(f->st), a, o, RR_RRSIG, &rs, f->err, sizeof(f->err)), 0);
	assert_int_equal(rs.ttl, 60);
	assert_non_null(rs.ttls);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(store_rrset_ttl(&rs, i), ttls[i]);
	assert_memory_equal(rs.rdata, sigs, sizeof(sigs));
	store_rrset_clear(&rs);
	uint32_t got[4] = {0};
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, find_sigs, got, f->err, sizeof(f->err)), 0);
	assert_int_equal(got[0], 600);
	assert_int_equal(got[1], 7200);
	assert_int_equal(got[2], 60);
	assert_int_equal(got[3], 1);

	/* replaced by signatures of one TTL: no column value, and a put without ttls clears it too */
	t = begin(f);
	assert_int_equal(store_rrset_put_ttls(t, a, o, RR_RRSIG, 60, same, sigs, sizeof(sigs), f->err, sizeof(f->err)),
	                 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets WHERE ttls IS NOT NULL"), 0);
	t = begin(f);
	assert_int_equal(store_rrset_put_ttls(t, a, o, RR_RRSIG, 60, ttls, sigs, sizeof(sigs), f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(store_rrset_put(t, a, o, RR_RRSIG, 120, sigs, sizeof(sigs), f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets WHERE ttls IS NOT NULL"), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, find_sigs, got, f->err, sizeof(f->err)), 0);
	assert_int_equal(got[0], 120);
	assert_int_equal(got[2], 120);
	assert_int_equal(got[3], 0);

	/* a row whose TTLs do not match its records is refused, named */
	raw_exec(f->db, "UPDATE rrsets SET ttls = x'00000001' WHERE type = 46");
	assert_int_equal(store_rrset_get(store_latest(f->st), a, o, RR_RRSIG, &rs, f->err, sizeof(f->err)), TERN_EMALF);
	assert_non_null(strstr(f->err, "4 octets of TTLs for 3 records"));
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, find_sigs, got, f->err, sizeof(f->err)),
	                 TERN_EMALF);
	assert_non_null(strstr(f->err, "4 octets of TTLs for 3 records"));
}

/* ---- Proposals ---- */

struct proposals_seen {
	int64_t ids[16];
	int n;
};

static int collect_proposal(const struct store_proposal *p, void *arg)
{
	struct proposals_seen *s = arg;
	assert_true(s->n < 16);
	assert_non_null(strstr(p->body, "\"changes\""));
	s->ids[s->n++] = p->id;
	return 0;
}

static void test_proposals(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	int64_t id[3];
	struct store_txn *t = begin(f);
	create_zone(f, t, "example.com.", "acme", 1);
	for (int i = 0; i < 3; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"changes\": [%d]}", i);
		assert_int_equal(
		    store_proposal_create(t, N(a, "example.com."), "alice", body, 0, &id[i], f->err, sizeof(f->err)),
		    0);
	}
	assert_true(id[0] < id[1] && id[1] < id[2]);
	assert_int_equal(store_proposal_create(t, a, "alice", "", 0, NULL, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_int_equal(store_proposal_create(t, N(a, "example.org."), "alice", "{}", 0, NULL, f->err, sizeof(f->err)),
	                 TERN_ENOTFOUND);
	N(a, "example.com.");
	commit(f, t);

	struct store_proposal p;
	assert_int_equal(store_proposal_get(store_latest(f->st), id[0], &p, f->err, sizeof(f->err)), 0);
	assert_int_equal(p.status, STORE_PROPOSAL_PENDING);
	assert_string_equal(p.author, "alice");
	assert_string_equal(p.body, "{\"changes\": [0]}");
	assert_memory_equal(p.zone, "\7example\3com", 13);
	assert_string_equal(p.reviewer, "");
	assert_true(p.created > 0);
	assert_int_equal(p.reviewed, 0);
	store_proposal_clear(&p);

	t = begin(f);
	/* nobody approves their own change */
	assert_int_equal(store_proposal_set_status(t, id[0], STORE_PROPOSAL_APPROVED, "alice", f->err, sizeof(f->err)),
	                 TERN_EINVAL);
	assert_non_null(strstr(f->err, "proposed by alice, who cannot approve it"));
	assert_int_equal(store_proposal_set_status(t, id[0], STORE_PROPOSAL_APPLIED, "bob", f->err, sizeof(f->err)),
	                 TERN_EINVAL);
	assert_non_null(strstr(f->err, "is pending, not approved"));
	assert_int_equal(store_proposal_set_status(t, id[0], STORE_PROPOSAL_APPROVED, "bob", f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(store_proposal_set_status(t, id[0], STORE_PROPOSAL_APPROVED, "carol", f->err, sizeof(f->err)),
	                 TERN_EINVAL);
	assert_non_null(strstr(f->err, "is approved, not pending"));
	assert_int_equal(store_proposal_set_status(t, id[0], STORE_PROPOSAL_APPLIED, "alice", f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(store_proposal_set_status(t, id[0], STORE_PROPOSAL_APPLIED, "alice", f->err, sizeof(f->err)),
	                 TERN_EINVAL);
	assert_int_equal(store_proposal_set_status(t, id[1], STORE_PROPOSAL_REJECTED, "carol", f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(store_proposal_set_status(t, id[1], STORE_PROPOSAL_APPROVED, "bob", f->err, sizeof(f->err)),
	                 TERN_EINVAL);
	snprintf(f->err, sizeof(f->err), "x");
	assert_int_equal(store_proposal_set_status(t, id[2], STORE_PROPOSAL_PENDING, "bob", f->err, sizeof(f->err)),
	                 TERN_EINVAL);
	assert_int_equal(store_proposal_set_status(t, 999999, STORE_PROPOSAL_APPROVED, "bob", f->err, sizeof(f->err)),
	                 TERN_ENOTFOUND);
	assert_string_equal(f->err, "no proposal 999999");
	commit(f, t);

	assert_int_equal(store_proposal_get(store_latest(f->st), id[0], &p, f->err, sizeof(f->err)), 0);
	assert_int_equal(p.status, STORE_PROPOSAL_APPLIED);
	assert_string_equal(p.reviewer, "bob");
	assert_string_equal(p.applier, "alice");
	assert_true(p.reviewed > 0 && p.applied > 0);
	store_proposal_clear(&p);
	assert_int_equal(store_proposal_get(store_latest(f->st), id[1], &p, f->err, sizeof(f->err)), 0);
	assert_int_equal(p.status, STORE_PROPOSAL_REJECTED);
	assert_string_equal(p.reviewer, "carol");
	store_proposal_clear(&p);

	struct proposals_seen seen = {0};
	struct store_page page;
	assert_int_equal(store_proposal_list(store_latest(f->st), a, STORE_PROPOSAL_PENDING, 0, 10, collect_proposal,
	                                     &seen, &page, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.ids[0], id[2]);
	assert_false(page.more);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_proposal_list(store_latest(f->st), a, STORE_PROPOSAL_ANY, 0, 2, collect_proposal, &seen,
	                                     &page, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(seen.n, 2);
	assert_true(page.more);
	assert_int_equal(store_proposal_list(store_latest(f->st), a, STORE_PROPOSAL_ANY, page.next_id, 2,
	                                     collect_proposal, &seen, &page, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(seen.n, 3);
	assert_false(page.more);
	assert_int_equal(seen.ids[2], id[2]);
	assert_string_equal(store_proposal_status_name(STORE_PROPOSAL_APPLIED), "applied");
}

/* ---- Transactions ---- */

static void fill_zone(struct fixture *f, struct store_txn *t, const char *apex)
{
	uint8_t a[NAME_MAXLEN], owner[NAME_MAXLEN];
	char text[NAME_MAXLEN + 8];
	create_zone(f, t, apex, "alice", 1);
	snprintf(text, sizeof(text), "www.%s", apex);
	put_a(f, t, apex, text, 60, 1);
	append(f, t, apex, 1, 2);
	assert_int_equal(
	    store_proposal_create(t, N(a, apex), "alice", "{\"changes\": []}", 0, NULL, f->err, sizeof(f->err)), 0);
	(void)owner;
}

static void test_rollback_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct store_txn *t = begin(f);
	fill_zone(f, t, "example.com.");
	store_rollback(t);
	assert_false(zone_exists(f->st, "example.com."));
	static const char *const tables[] = {"zones", "rrsets", "journal", "proposals"};
	for (int i = 0; i < 4; i++) {
		char sql[64];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		assert_int_equal(raw_int(f->db, sql), 0);
	}

	/* a call that fails changes nothing and leaves the transaction usable */
	t = begin(f);
	create_zone(f, t, "a.example.", "alice", 1);
	struct store_zone dup = {.serial = 1};
	N(dup.apex, "a.example.");
	snprintf(dup.tenant, sizeof(dup.tenant), "bob");
	assert_int_equal(store_zone_create(t, &dup, f->err, sizeof(f->err)), TERN_EEXIST);
	create_zone(f, t, "b.example.", "alice", 1);
	commit(f, t);
	assert_true(zone_exists(f->st, "a.example."));
	assert_true(zone_exists(f->st, "b.example."));

	/* one write transaction per thread at a time */
	t = begin(f);
	struct store_txn *t2 = NULL;
	assert_int_equal(store_begin(f->st, &t2, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_null(t2);
	assert_string_equal(f->err, "this thread already has a write transaction open");
	store_rollback(t);
}

/* Savepoints (the change module's group commit): a request's writes undone alone, the others kept
 * and committed together; a read transaction has none. */
static void test_savepoints(void **state)
{
	struct fixture *f = *state;
	struct store_txn *t = begin(f);
	assert_int_equal(store_mark(t, STORE_MARK_SET, f->err, sizeof(f->err)), 0);
	create_zone(f, t, "kept1.example.", "alice", 1);
	assert_int_equal(store_mark(t, STORE_MARK_KEEP, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_mark(t, STORE_MARK_SET, f->err, sizeof(f->err)), 0);
	create_zone(f, t, "undone.example.", "alice", 1);
	assert_int_equal(store_mark(t, STORE_MARK_UNDO, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_mark(t, STORE_MARK_SET, f->err, sizeof(f->err)), 0);
	create_zone(f, t, "kept2.example.", "alice", 1);
	assert_int_equal(store_mark(t, STORE_MARK_KEEP, f->err, sizeof(f->err)), 0);
	/* the name undone is free again in the same transaction */
	assert_int_equal(store_mark(t, STORE_MARK_SET, f->err, sizeof(f->err)), 0);
	create_zone(f, t, "undone2.example.", "alice", 1);
	assert_int_equal(store_mark(t, STORE_MARK_UNDO, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_true(zone_exists(f->st, "kept1.example."));
	assert_true(zone_exists(f->st, "kept2.example."));
	assert_false(zone_exists(f->st, "undone.example."));
	assert_false(zone_exists(f->st, "undone2.example."));
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM zones"), 2);

	struct store_txn *r = NULL;
	assert_int_equal(store_begin_read(f->st, &r, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_mark(r, STORE_MARK_SET, f->err, sizeof(f->err)), TERN_EINVAL);
	assert_non_null(strstr(f->err, "write transaction"));
	store_rollback(r);
}

static void test_failed_commit_applies_nothing(void **state)
{
	struct fixture *f = *state;
	/* a deferred foreign key fails only at COMMIT: inserting zone "boom." trips it */
	raw_exec(f->db, "CREATE TABLE guard (zone_id INTEGER REFERENCES zones (id) DEFERRABLE INITIALLY DEFERRED);"
	                "CREATE TRIGGER guard_boom AFTER INSERT ON zones WHEN NEW.apex = X'04626f6f6d00'"
	                " BEGIN INSERT INTO guard VALUES (-1); END;");
	struct store_txn *t = begin(f);
	fill_zone(f, t, "example.com.");
	create_zone(f, t, "boom.", "alice", 1);
	assert_true(store_commit(t, f->err, sizeof(f->err)) < 0);
	assert_non_null(strstr(f->err, "FOREIGN KEY"));
	assert_false(zone_exists(f->st, "example.com."));
	assert_false(zone_exists(f->st, "boom."));
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets"), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM journal"), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM proposals"), 0);
	/* the store goes on working */
	create_zone_committed(f, "after.example.", "alice", 1);
	assert_true(zone_exists(f->st, "after.example."));
}

static void test_delete_cascades(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct store_txn *t = begin(f);
	fill_zone(f, t, "example.com.");
	fill_zone(f, t, "example.net.");
	commit(f, t);
	int64_t old_proposal = raw_int(f->db, "SELECT max(id) FROM proposals");

	t = begin(f);
	assert_int_equal(store_zone_delete(t, N(a, "example.com."), f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM zones"), 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets"), 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM journal"), 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM proposals"), 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM rrsets WHERE zone_id NOT IN (SELECT id FROM zones)"), 0);

	/* the name comes back empty, above the serial it had, and ids are never reused */
	t = begin(f);
	struct store_zone again = {.serial = 2, .serial_policy = STORE_SERIAL_INCREMENT};
	N(again.apex, "example.com.");
	snprintf(again.tenant, sizeof(again.tenant), "bob");
	assert_int_equal(store_zone_create(t, &again, f->err, sizeof(f->err)), TERN_EINVAL);
	commit(f, t);
	create_zone_committed(f, "example.com.", "bob", 3);
	struct rrsets_seen seen = {0};
	assert_int_equal(store_rrset_foreach(store_latest(f->st), a, collect_rrset, &seen, f->err, sizeof(f->err)), 0);
	assert_int_equal(seen.n, 0);
	struct entries got;
	assert_int_equal(read_from(f, 3, &got), 0); /* at the zone's serial, nothing to send */
	assert_int_equal(got.n, 0);
	assert_int_equal(read_from(f, 2, &got), TERN_ENOTFOUND); /* the old zone's journal went with it */
	t = begin(f);
	int64_t id = 0;
	assert_int_equal(store_proposal_create(t, a, "bob", "{\"changes\": []}", 0, &id, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_true(id > old_proposal);
}

static void child_write(const char *db, const char *apex, bool do_commit)
{
	struct store *st = NULL;
	struct store_txn *t = NULL;
	struct store_zone z = {.serial = 1};
	char err[256];
	if (store_open_sqlite(db, &st, err, sizeof(err)) || store_begin(st, &t, err, sizeof(err)))
		_exit(2);
	name_from_text(z.apex, apex, NULL);
	snprintf(z.tenant, sizeof(z.tenant), "child");
	if (store_zone_create(t, &z, err, sizeof(err)))
		_exit(3);
	if (do_commit && store_commit(t, err, sizeof(err)))
		_exit(4);
	_exit(0); /* dies with the store open: no close, no rollback */
}

static void run_child(const char *db, const char *apex, bool do_commit)
{
	int status;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_write(db, apex, do_commit);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The WAL is checkpointed once it has grown to a thousand pages, and used again from its start
 * once it reaches four thousand (CKPT_RESTART_PAGES): after many commits it stays near that size
 * (a little over while the checkpoint runs; twice is the bound held here, for a busy machine)
 * instead of growing with every write. */
static void test_wal_checkpointed_by_size(void **state)
{
	struct fixture *f = *state;
	char wal[700];
	struct stat sb;
	create_zone_committed(f, "busy.example.", "alice", 1);
	for (int i = 0; i < 4000; i++) { /* several pages a commit: a few times the threshold */
		struct store_txn *t = begin(f);
		char owner[64];
		snprintf(owner, sizeof(owner), "h%d.busy.example.", i % 200);
		put_a(f, t, "busy.example.", owner, 300, (uint8_t)i);
		append(f, t, "busy.example.", (uint32_t)i + 1, (uint32_t)i + 2);
		commit(f, t);
		if (i % 100 == 99)
			usleep(20000); /* the checkpoint thread's turn */
	}
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	assert_int_equal(stat(wal, &sb), 0);
	/* 4,000 commits wrote tens of thousands of pages: without checkpoints the WAL would hold them all */
	assert_true(sb.st_size < 2 * 4000 * (4096 + 24));
	assert_true(sb.st_size > 0);
}

static void test_commit_durability(void **state)
{
	struct fixture *f = *state;
	struct store_txn *t = begin(f);
	create_zone(f, t, "lost.example.", "alice", 1);
	store_close(f->st); /* closing rolls back what was not committed */
	f->st = NULL;
	reopen(f);
	assert_false(zone_exists(f->st, "lost.example."));

	create_zone_committed(f, "kept.example.", "alice", 1);
	reopen(f);
	assert_true(zone_exists(f->st, "kept.example."));

	/* a process that dies after store_commit() keeps its write; one that dies before loses it */
	store_close(f->st);
	f->st = NULL;
	run_child(f->db, "child-kept.example.", true);
	run_child(f->db, "child-lost.example.", false);
	reopen(f);
	assert_true(zone_exists(f->st, "child-kept.example."));
	assert_false(zone_exists(f->st, "child-lost.example."));
	assert_true(zone_exists(f->st, "kept.example."));
}

static void test_two_handles(void **state)
{
	struct fixture *f = *state;
	struct store *st2 = NULL;
	assert_int_equal(store_open_sqlite(f->db, &st2, f->err, sizeof(f->err)), 0);

	struct store_txn *t = begin(f);
	create_zone(f, t, "shared.example.", "alice", 1);
	assert_false(zone_exists(st2, "shared.example.")); /* not committed yet */
	commit(f, t);
	assert_true(zone_exists(st2, "shared.example."));

	/* a read snapshot keeps its view while the other handle commits */
	struct store_txn *snap = NULL;
	uint8_t a[NAME_MAXLEN];
	struct store_zone z;
	assert_int_equal(store_begin_read(st2, &snap, f->err, sizeof(f->err)), 0);
	create_zone_committed(f, "later.example.", "alice", 1);
	assert_int_equal(store_zone_get(snap, N(a, "later.example."), &z, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_zone_get(snap, N(a, "shared.example."), &z, f->err, sizeof(f->err)), 0);
	assert_true(zone_exists(st2, "later.example."));
	store_rollback(snap);

	/* and the other way round */
	struct store_txn *t2 = NULL;
	assert_int_equal(store_begin(st2, &t2, f->err, sizeof(f->err)), 0);
	struct store_zone nz = {.serial = 3, .serial_policy = STORE_SERIAL_DATE};
	N(nz.apex, "second.example.");
	snprintf(nz.tenant, sizeof(nz.tenant), "bob");
	assert_int_equal(store_zone_create(t2, &nz, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_commit(t2, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_zone_get(store_latest(f->st), N(a, "second.example."), &z, f->err, sizeof(f->err)), 0);
	assert_string_equal(z.tenant, "bob");
	assert_int_equal(z.serial_policy, STORE_SERIAL_DATE);

	/* a snapshot left open is ended by store_close() */
	assert_int_equal(store_begin_read(st2, &snap, f->err, sizeof(f->err)), 0);
	store_close(st2);
}

/* Writers on several threads share one store: store_begin() queues them, store_latest() reads
 * alongside. */
struct worker {
	struct store *st;
	int n;
	int failures;
};

static void *writer_thread(void *arg)
{
	struct worker *w = arg;
	char err[256];
	for (int i = 0; i < 25; i++) {
		struct store_txn *t = NULL;
		struct store_zone z = {.serial = 1};
		snprintf(z.tenant, sizeof(z.tenant), "t%d", w->n);
		char apex[64];
		snprintf(apex, sizeof(apex), "z%d-%d.example.", w->n, i);
		name_from_text(z.apex, apex, NULL);
		if (store_begin(w->st, &t, err, sizeof(err)) || store_zone_create(t, &z, err, sizeof(err)) ||
		    store_commit(t, err, sizeof(err)))
			w->failures++;
		struct store_zone back;
		if (store_zone_get(store_latest(w->st), z.apex, &back, err, sizeof(err)))
			w->failures++;
	}
	return NULL;
}

static int count_zone(const struct store_zone *z, void *arg)
{
	(void)z;
	(*(int *)arg)++;
	return 0;
}

static void test_threads(void **state)
{
	struct fixture *f = *state;
	pthread_t th[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.st = f->st, .n = i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	int n = 0;
	assert_int_equal(
	    store_zone_list(store_latest(f->st), NULL, NULL, 1000, count_zone, &n, NULL, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 100);
}

static void test_rr_list_codec(void **state)
{
	(void)state;
	uint8_t buf[64], o[NAME_MAXLEN];
	size_t pos = 0;
	struct store_rr rr = {
	    .owner = N(o, "a.example."), .type = RR_A, .ttl = 7, .rdlen = 4, .rdata = (const uint8_t *)"\1\2\3\4"};
	assert_int_equal(store_rr_size(&rr), 11 + 8 + 4);
	assert_int_equal(store_rr_put(buf, sizeof(buf), &pos, &rr), 0);
	assert_int_equal(store_rr_put(buf, sizeof(buf), &pos, &rr), 0);
	assert_int_equal(store_rr_put(buf, sizeof(buf), &pos, &rr), TERN_ESPACE);
	assert_int_equal(pos, 46);
	size_t rp = 0;
	struct store_rr back;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(store_rr_next(buf, pos, &rp, &back), 1);
		assert_memory_equal(back.owner, o, 11);
		assert_int_equal(back.type, RR_A);
		assert_int_equal(back.ttl, 7);
		assert_int_equal(back.rdlen, 4);
		assert_memory_equal(back.rdata, "\1\2\3\4", 4);
	}
	assert_int_equal(store_rr_next(buf, pos, &rp, &back), 0);
	for (size_t cut = 1; cut < 23; cut++) {
		rp = 0;
		assert_int_equal(store_rr_next(buf, cut, &rp, &back), TERN_EMALF);
	}
}

/* ---- DNSSEC rows ---- */

struct keys_seen {
	size_t n, with_pem;
	uint16_t tags[4];
};

static int key_seen(const struct store_key *k, void *arg)
{
	struct keys_seen *ks = arg;
	ks->tags[ks->n++] = k->tag;
	if (k->pem) {
		ks->with_pem++;
		assert_true(k->pem_len == 8 && memcmp(k->pem, "PEM-TEXT", 8) == 0);
	}
	assert_int_equal(k->dnskey_len, 4);
	assert_int_equal(k->state, STORE_KEY_ACTIVE);
	assert_int_equal(k->ready, 1234);
	return 0;
}

static int event_seen(const struct store_key_event *e, void *arg)
{
	size_t *n = arg;
	assert_int_equal(e->from, 0);
	assert_int_equal(e->to, STORE_KEY_ACTIVE);
	assert_string_equal(e->reason, "signing enabled");
	(*n)++;
	return 0;
}

static void test_dnssec_rows(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct store_txn *t = begin(f);
	create_zone(f, t, "signed.example.", "tenant-1", 1);
	struct store_dnssec d = {.state = STORE_DNSSEC_SIGNING};
	dnssec_policy_default(&d.policy);
	d.policy.nsec.nsec3 = true;
	d.policy.csk = true;
	d.policy.nparents = 2;
	strcpy(d.policy.parents[0], "192.0.2.1");
	strcpy(d.policy.parents[1], "2001:db8::1@5353");
	strcpy(d.policy.name, "fast");
	struct store_dnssec got;
	assert_int_equal(store_dnssec_get(t, N(a, "signed.example."), &got, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(store_dnssec_put(t, a, &d, f->err, sizeof(f->err)), 0);
	for (uint16_t tag = 1; tag <= 2; tag++) {
		struct store_key k = {.tag = tag,
		                      .algorithm = 13,
		                      .flags = 257,
		                      .role = STORE_KEY_CSK,
		                      .dnskey = {1, 1, 3, 13},
		                      .dnskey_len = 4,
		                      .pem = "PEM-TEXT",
		                      .pem_len = 8,
		                      .state = STORE_KEY_ACTIVE,
		                      .ready = 1234};
		assert_int_equal(store_key_add(t, a, &k, "signing enabled", f->err, sizeof(f->err)), 0);
		assert_true(k.id > 0);
	}
	struct store_key none = {.tag = 3, .dnskey_len = 4, .role = STORE_KEY_ZSK, .state = STORE_KEY_ACTIVE};
	assert_int_equal(store_key_add(t, a, &none, "x", f->err, sizeof(f->err)), TERN_EINVAL); /* no private key */
	commit(f, t);

	assert_int_equal(store_dnssec_get(store_latest(f->st), a, &got, f->err, sizeof(f->err)), 0);
	d.updated = got.updated;
	assert_int_equal(got.state, STORE_DNSSEC_SIGNING);
	assert_memory_equal(&got.policy.nsec, &d.policy.nsec, sizeof(d.policy.nsec));
	assert_true(got.policy.csk && got.policy.cds);
	assert_int_equal(got.policy.rrsig_lifetime, d.policy.rrsig_lifetime);
	assert_int_equal(got.policy.nparents, 2);
	assert_string_equal(got.policy.parents[1], "2001:db8::1@5353");
	assert_string_equal(got.policy.name, "fast");
	struct keys_seen ks = {0};
	assert_int_equal(store_key_foreach(store_latest(f->st), a, false, key_seen, &ks, f->err, sizeof(f->err)), 0);
	assert_true(ks.n == 2 && ks.with_pem == 0 && ks.tags[0] == 1 && ks.tags[1] == 2);
	ks = (struct keys_seen){0};
	assert_int_equal(store_key_foreach(store_latest(f->st), a, true, key_seen, &ks, f->err, sizeof(f->err)), 0);
	assert_true(ks.n == 2 && ks.with_pem == 2);
	size_t events = 0;
	struct store_page page;
	assert_int_equal(
	    store_key_journal(store_latest(f->st), a, 0, 1, event_seen, &events, &page, f->err, sizeof(f->err)), 0);
	assert_true(events == 1 && page.more);
	assert_int_equal(store_key_journal(store_latest(f->st), a, page.next_id, 10, event_seen, &events, &page, f->err,
	                                   sizeof(f->err)),
	                 0);
	assert_true(events == 2 && !page.more);

	/* a key's state and times move on, journaled when the state changes */
	t = begin(f);
	struct store_key moved = {.id = 1, .tag = 1, .state = STORE_KEY_RETIRED, .ready = 1234, .retired = 99};
	assert_int_equal(store_key_update(t, a, &moved, STORE_KEY_ACTIVE, "rolled", f->err, sizeof(f->err)), 0);
	moved.id = 999;
	assert_int_equal(store_key_update(t, a, &moved, STORE_KEY_ACTIVE, "x", f->err, sizeof(f->err)), TERN_ENOTFOUND);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_keys WHERE state = 'retired' AND retire_at = 99"),
	                 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal WHERE from_state = 'active' AND "
	                                "to_state = 'retired' AND reason = 'rolled' AND key_tag = 1"),
	                 1);
	t = begin(f);
	assert_int_equal(store_key_update(t, a, &(struct store_key){.id = 2, .state = STORE_KEY_ACTIVE, .ready = 1234},
	                                  STORE_KEY_ACTIVE, "same", f->err, sizeof(f->err)),
	                 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal"), 3); /* no entry for no move */

	/* a restore's replacement: every key goes, each journaled to removed; a rollback keeps them */
	t = begin(f);
	assert_int_equal(store_key_delete_all(t, a, "replaced", f->err, sizeof(f->err)), 0);
	store_rollback(t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_keys"), 2);
	t = begin(f);
	assert_int_equal(store_key_delete_all(t, a, "replaced by a restore", f->err, sizeof(f->err)), 0);
	assert_int_equal(store_key_delete_all(t, a, "again", f->err, sizeof(f->err)), 0); /* none left: no entry */
	uint8_t other[NAME_MAXLEN];
	assert_int_equal(store_key_delete_all(t, N(other, "nowhere.example."), "x", f->err, sizeof(f->err)),
	                 TERN_ENOTFOUND);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_keys"), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal WHERE to_state = 'removed' AND "
	                                "reason = 'replaced by a restore'"),
	                 2);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal WHERE from_state = 'retired' AND "
	                                "to_state = 'removed' AND key_tag = 1"),
	                 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal"), 5);

	/* the state moves on; deleting the zone takes every row with it */
	t = begin(f);
	d.state = STORE_DNSSEC_SIGNED;
	assert_int_equal(store_dnssec_put(t, a, &d, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(store_dnssec_get(store_latest(f->st), a, &got, f->err, sizeof(f->err)), 0);
	assert_int_equal(got.state, STORE_DNSSEC_SIGNED);
	assert_true(got.unsigning == 0 && got.ds_gone == 0);
	/* turning signing off: its times kept, then the row removed (the keys and journal stay) */
	t = begin(f);
	for (uint16_t tag = 4; tag <= 5; tag++) { /* keys again after the restore's delete above */
		struct store_key k = {.tag = tag,
		                      .algorithm = 13,
		                      .flags = 257,
		                      .role = STORE_KEY_CSK,
		                      .dnskey = {1, 1, 3, 13},
		                      .dnskey_len = 4,
		                      .pem = "PEM-TEXT",
		                      .pem_len = 8,
		                      .state = STORE_KEY_ACTIVE};
		assert_int_equal(store_key_add(t, a, &k, "signing enabled", f->err, sizeof(f->err)), 0);
	}
	d.unsigning = 1000;
	d.ds_gone = 2000;
	assert_int_equal(store_dnssec_put(t, a, &d, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(store_dnssec_get(store_latest(f->st), a, &got, f->err, sizeof(f->err)), 0);
	assert_true(got.unsigning == 1000 && got.ds_gone == 2000);
	t = begin(f);
	assert_int_equal(store_dnssec_delete(t, a, f->err, sizeof(f->err)), 0);
	assert_int_equal(store_dnssec_delete(t, a, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	commit(f, t);
	assert_int_equal(store_dnssec_get(store_latest(f->st), a, &got, f->err, sizeof(f->err)), TERN_ENOTFOUND);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_keys"), 2);
	t = begin(f);
	assert_int_equal(store_zone_delete(t, a, f->err, sizeof(f->err)), 0);
	commit(f, t);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_keys"), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal"), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_zones"), 0);
}

/* The rollover columns: the policy's DS TTL, check interval and RFC 5011 hold-downs, a key's use
 * bits, since, ds_seen and the revoked state with its time, round-trip; use bits above 15 are
 * refused. A version 5 file (no such columns, no revoked state) moves to version 6 in place: its
 * keys publish and sign, an active KSK's DS counts as seen, retired keys do nothing. */
struct roll_seen {
	size_t n;
	struct store_key k[4];
};

static int roll_key_seen(const struct store_key *k, void *arg)
{
	struct roll_seen *rs = arg;
	if (rs->n < 4)
		rs->k[rs->n++] = *k;
	return 0;
}

static void test_dnssec_roll_rows_and_migration_from_v5(void **state)
{
	struct fixture *f = *state;
	uint8_t a[NAME_MAXLEN];
	struct store_txn *t = begin(f);
	create_zone(f, t, "roll.example.", "tenant-1", 1);
	struct store_dnssec d = {.state = STORE_DNSSEC_SIGNED};
	dnssec_policy_default(&d.policy);
	d.policy.ds_ttl = 10;
	d.policy.ds_check_interval = 2;
	d.policy.rfc5011 = true;
	d.policy.add_holddown = 30;
	d.policy.remove_holddown = 40;
	assert_int_equal(store_dnssec_put(t, N(a, "roll.example."), &d, f->err, sizeof(f->err)), 0);
	static const enum store_key_role roles[3] = {STORE_KEY_KSK, STORE_KEY_ZSK, STORE_KEY_KSK};
	static const enum store_key_state states[3] = {STORE_KEY_ACTIVE, STORE_KEY_ACTIVE, STORE_KEY_RETIRED};
	for (int i = 0; i < 3; i++) {
		struct store_key k = {.tag = (uint16_t)(10 + i),
		                      .algorithm = 13,
		                      .flags = roles[i] == STORE_KEY_KSK ? 257 : 256,
		                      .role = roles[i],
		                      .dnskey = {1, 1, 3, 13},
		                      .dnskey_len = 4,
		                      .pem = "PEM-TEXT",
		                      .pem_len = 8,
		                      .state = states[i],
		                      .created = 100,
		                      .active = 200};
		assert_int_equal(store_key_add(t, a, &k, "made", f->err, sizeof(f->err)), 0);
	}
	struct store_key bad = {.tag = 9,
	                        .dnskey_len = 4,
	                        .pem = "P",
	                        .pem_len = 1,
	                        .role = STORE_KEY_ZSK,
	                        .state = STORE_KEY_ACTIVE,
	                        .use = 16};
	assert_int_equal(store_key_add(t, a, &bad, "x", f->err, sizeof(f->err)), TERN_EINVAL);
	commit(f, t);
	struct store_dnssec got;
	assert_int_equal(store_dnssec_get(store_latest(f->st), a, &got, f->err, sizeof(f->err)), 0);
	assert_true(got.policy.ds_ttl == 10 && got.policy.ds_check_interval == 2 && got.policy.rfc5011 &&
	            got.policy.add_holddown == 30 && got.policy.remove_holddown == 40);
	t = begin(f);
	struct store_key rev = {
	    .id = 3, .state = STORE_KEY_REVOKED, .revoked = 500, .use = 11, .since = 500, .ds_seen = true};
	assert_int_equal(store_key_update(t, a, &rev, STORE_KEY_RETIRED, "revoked", f->err, sizeof(f->err)), 0);
	rev.use = 16;
	assert_int_equal(store_key_update(t, a, &rev, STORE_KEY_REVOKED, "x", f->err, sizeof(f->err)), TERN_EINVAL);
	commit(f, t);
	struct roll_seen rs = {0};
	assert_int_equal(store_key_foreach(store_latest(f->st), a, false, roll_key_seen, &rs, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(rs.n, 3);
	assert_true(rs.k[2].state == STORE_KEY_REVOKED && rs.k[2].revoked == 500 && rs.k[2].use == 11 &&
	            rs.k[2].since == 500 && rs.k[2].ds_seen);
	assert_true(rs.k[0].since == 100 && !rs.k[0].ds_seen && rs.k[0].use == 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM dnssec_key_journal WHERE from_state = 'retired' AND "
	                                "to_state = 'revoked'"),
	                 1);

	/* back to version 5, then opened again */
	store_close(f->st);
	f->st = NULL;
	raw_exec(f->db,
	         "ALTER TABLE dnssec_zones DROP COLUMN ds_ttl; ALTER TABLE dnssec_zones DROP COLUMN ds_check_interval;"
	         "ALTER TABLE dnssec_zones DROP COLUMN rfc5011; ALTER TABLE dnssec_zones DROP COLUMN add_holddown;"
	         "ALTER TABLE dnssec_zones DROP COLUMN remove_holddown;"
	         "ALTER TABLE dnssec_zones DROP COLUMN unsigning_at; ALTER TABLE dnssec_zones DROP COLUMN ds_gone_at;"
	         "CREATE TABLE k5 (id INTEGER PRIMARY KEY AUTOINCREMENT, zone_id INTEGER NOT NULL REFERENCES zones (id)"
	         " ON DELETE CASCADE, key_tag INTEGER NOT NULL, algorithm INTEGER NOT NULL, flags INTEGER NOT NULL,"
	         " role TEXT NOT NULL, public_key BLOB NOT NULL, private_key BLOB NOT NULL, state TEXT NOT NULL"
	         " CHECK (state IN ('generated', 'published', 'ready', 'active', 'retired', 'removed')),"
	         " created_at INTEGER NOT NULL, publish_at INTEGER NOT NULL, ready_at INTEGER NOT NULL,"
	         " active_at INTEGER NOT NULL, retire_at INTEGER NOT NULL, remove_at INTEGER NOT NULL);"
	         "INSERT INTO k5 SELECT id, zone_id, key_tag, algorithm, flags, role, public_key, private_key,"
	         " CASE state WHEN 'revoked' THEN 'retired' ELSE state END, created_at, publish_at, ready_at,"
	         " active_at, retire_at, remove_at FROM dnssec_keys;"
	         "DROP TABLE dnssec_keys; ALTER TABLE k5 RENAME TO dnssec_keys;"
	         "CREATE INDEX dnssec_keys_by_zone ON dnssec_keys (zone_id, id);"
	         "ALTER TABLE zones DROP COLUMN signed_downstream; UPDATE schema_version SET version = 5;" DROP_V9);
	reopen(f);
	assert_int_equal(raw_int(f->db, "SELECT version FROM schema_version"), SCHEMA_NOW);
	assert_int_equal(store_dnssec_get(store_latest(f->st), a, &got, f->err, sizeof(f->err)), 0);
	assert_true(got.policy.ds_ttl == 86400 && got.policy.ds_check_interval == 3600 && !got.policy.rfc5011 &&
	            got.policy.add_holddown == 2592000);
	rs = (struct roll_seen){0};
	assert_int_equal(store_key_foreach(store_latest(f->st), a, false, roll_key_seen, &rs, f->err, sizeof(f->err)),
	                 0);
	assert_int_equal(rs.n, 3);
	assert_true(rs.k[0].use == 3 && rs.k[0].ds_seen && rs.k[0].since == 200); /* the active KSK */
	assert_true(rs.k[1].use == 3 && !rs.k[1].ds_seen); /* the ZSK */
	assert_true(rs.k[2].use == 0 && rs.k[2].state == STORE_KEY_RETIRED);
	t = begin(f);
	rev.use = 11;
	assert_int_equal(store_key_update(t, a, &rev, STORE_KEY_RETIRED, "revoked", f->err, sizeof(f->err)), 0);
	commit(f, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_dnssec_roll_rows_and_migration_from_v5, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_and_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_past_serials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_services, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_certs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_service_aliases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tsig_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tenant_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dnssec_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_from_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rrset_ttls_and_migration_from_v3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zone_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zone_pagination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rrset_put_replace_delete_iterate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nested_callbacks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big_rrset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_whole_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proposals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_savepoints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_commit_applies_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_cascades, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wal_checkpointed_by_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_durability, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	    cmocka_unit_test(test_rr_list_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
