/* The SQLite backend of the store (store.h): schema and migrations, connections (one writer
 * serialised by a mutex, a pool of readers), transactions, and the SQL behind each operation. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

static const char *const migrations[] = {
    /* 1: zones, RRsets, journal, proposals */
    "CREATE TABLE zones ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " apex BLOB NOT NULL UNIQUE,"
    " sort_key BLOB NOT NULL UNIQUE,"
    " tenant TEXT NOT NULL CHECK (length(tenant) BETWEEN 1 AND 128),"
    " serial INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
    " serial_policy TEXT NOT NULL CHECK (serial_policy IN ('date', 'increment')),"
    " locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),"
    " lock_reason TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX zones_by_tenant ON zones (tenant, sort_key);"
    "CREATE TABLE rrsets ("
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " sort_key BLOB NOT NULL,"
    " type INTEGER NOT NULL CHECK (type BETWEEN 0 AND 65535),"
    " owner BLOB NOT NULL,"
    " ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 4294967295),"
    " count INTEGER NOT NULL CHECK (count BETWEEN 1 AND 65535),"
    " rdata BLOB NOT NULL,"
    " PRIMARY KEY (zone_id, sort_key, type)) WITHOUT ROWID;"
    "CREATE TABLE journal ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " serial_from INTEGER NOT NULL CHECK (serial_from BETWEEN 0 AND 4294967295),"
    " serial_to INTEGER NOT NULL CHECK (serial_to BETWEEN 0 AND 4294967295),"
    " changed_at INTEGER NOT NULL,"
    " principal TEXT NOT NULL,"
    " removed BLOB NOT NULL,"
    " added BLOB NOT NULL);"
    "CREATE INDEX journal_by_zone ON journal (zone_id, id);"
    "CREATE INDEX journal_by_serial ON journal (zone_id, serial_from);"
    "CREATE TABLE proposals ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " author TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'applied')),"
    " reviewer TEXT NOT NULL DEFAULT '',"
    " applier TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " reviewed_at INTEGER NOT NULL DEFAULT 0,"
    " applied_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX proposals_by_zone ON proposals (zone_id, status, id);",
    /* 2: the journal keyed by (zone, id) with ids from a per-zone counter in the zone's row. An
     * append then writes four pages (zone row, RRsets, journal, serial index) instead of six: no
     * separate (zone, id) index and no sqlite_sequence row, and the zone row is written anyway. Ids
     * stay increasing per zone, and are never reused, even when a zone's journal is emptied. */
    "ALTER TABLE zones ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE zones SET journal_seq = coalesce((SELECT max(j.id) FROM journal j WHERE j.zone_id = zones.id), 0);"
    "CREATE TABLE journal_v2 ("
    " zone_id INTEGER NOT NULL REFERENCES zones (id) ON DELETE CASCADE,"
    " id INTEGER NOT NULL,"
    " serial_from INTEGER NOT NULL CHECK (serial_from BETWEEN 0 AND 4294967295),"
    " serial_to INTEGER NOT NULL CHECK (serial_to BETWEEN 0 AND 4294967295),"
    " changed_at INTEGER NOT NULL,"
    " principal TEXT NOT NULL,"
    " removed BLOB NOT NULL,"
    " added BLOB NOT NULL,"
    " PRIMARY KEY (zone_id, id)) WITHOUT ROWID;"
    "INSERT INTO journal_v2 SELECT zone_id, id, serial_from, serial_to, changed_at, principal, removed, added"
    " FROM journal;"
    "DROP TABLE journal;"
    "ALTER TABLE journal_v2 RENAME TO journal;"
    "CREATE INDEX journal_by_serial ON journal (zone_id, serial_from);",
    /* 3: the serial each deleted zone name last had, so the zone created again under that name
     * starts above it (RFC 1982) and secondaries holding the old version refresh. One row per
     * name, replaced at each deletion; a zone's serials only move forward, so the last is the
     * newest it had. */
    "CREATE TABLE past_serials ("
    " apex BLOB PRIMARY KEY,"
    " serial INTEGER NOT NULL CHECK (serial BETWEEN 0 AND 4294967295),"
    " deleted_at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 4: a TTL per record where they differ (the RRSIGs of a name, each at the TTL of the RRset
     * it covers): count big-endian 32-bit TTLs; NULL when every record has the row's ttl. */
    "ALTER TABLE rrsets ADD COLUMN ttls BLOB;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Every statement the operations run, prepared once per connection on first use. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_ZONE_GET] = "SELECT " ZONE_COLS " FROM zones WHERE apex = ?1",
    [ST_ZONE_ID] = "SELECT id, serial FROM zones WHERE apex = ?1",
    [ST_ZONE_INSERT] = "INSERT INTO zones (apex, sort_key, tenant, serial, serial_policy, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
    /* ?1 is the key just after the cursor (see zone_list), so one statement serves every page */
    [ST_ZONE_LIST] = "SELECT " ZONE_COLS " FROM zones WHERE sort_key >= ?1 ORDER BY sort_key LIMIT ?2",
    [ST_ZONE_LIST_TENANT] = "SELECT " ZONE_COLS " FROM zones WHERE tenant = ?3 AND sort_key >= ?1"
                            " ORDER BY sort_key LIMIT ?2",
    [ST_ZONE_DELETE] = "DELETE FROM zones WHERE apex = ?1",
    [ST_ZONE_RETIRE] = "INSERT INTO past_serials (apex, serial, deleted_at) SELECT apex, serial, ?2 FROM zones"
                       " WHERE apex = ?1 ON CONFLICT (apex) DO UPDATE SET serial = excluded.serial,"
                       " deleted_at = excluded.deleted_at",
    [ST_PAST_SERIAL] = "SELECT serial FROM past_serials WHERE apex = ?1",
    [ST_ZONE_SERIAL] = "UPDATE zones SET serial = ?2, updated_at = ?3 WHERE apex = ?1",
    [ST_ZONE_LOCK] = "UPDATE zones SET locked = ?2, lock_reason = ?3, updated_at = ?4 WHERE apex = ?1",
    [ST_RRSET_PUT] = "INSERT INTO rrsets (zone_id, sort_key, type, owner, ttl, count, rdata, ttls)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (zone_id, sort_key, type)"
                     " DO UPDATE SET ttl = excluded.ttl, count = excluded.count, rdata = excluded.rdata,"
                     " ttls = excluded.ttls",
    [ST_RRSET_GET] = "SELECT ttl, count, rdata, ttls FROM rrsets WHERE zone_id = ?1 AND sort_key = ?2 AND type = ?3",
    [ST_RRSET_DELETE] = "DELETE FROM rrsets WHERE zone_id = ?1 AND sort_key = ?2 AND type = ?3",
    [ST_RRSET_DELETE_ALL] = "DELETE FROM rrsets WHERE zone_id = ?1",
    [ST_RRSET_ALL] = "SELECT owner, type, ttl, count, rdata, ttls FROM rrsets WHERE zone_id = ?1"
                     " ORDER BY sort_key, type",
    [ST_JOURNAL_NEXT_ID] = "UPDATE zones SET journal_seq = journal_seq + 1 WHERE id = ?1 RETURNING journal_seq",
    [ST_JOURNAL_APPEND] = "INSERT INTO journal (zone_id, id, serial_from, serial_to, changed_at, principal, removed,"
                          " added) VALUES (?1, ?8, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_JOURNAL_START] = "SELECT id FROM journal WHERE zone_id = ?1 AND serial_from = ?2 ORDER BY id DESC LIMIT 1",
    [ST_JOURNAL_LAST] = "SELECT id, serial_to FROM journal WHERE zone_id = ?1 ORDER BY id DESC LIMIT 1",
    [ST_JOURNAL_CHAIN] = "SELECT id, serial_from, serial_to FROM journal WHERE zone_id = ?1 AND id >= ?2 ORDER BY id",
    [ST_JOURNAL_RANGE] = "SELECT " JOURNAL_COLS " FROM journal WHERE zone_id = ?1 AND id BETWEEN ?2 AND ?3"
                         " ORDER BY id",
    [ST_JOURNAL_HISTORY] = "SELECT " JOURNAL_COLS " FROM journal WHERE zone_id = ?1 AND id < ?2"
                           " ORDER BY id DESC LIMIT ?3",
    [ST_JOURNAL_TRIM_BEFORE] = "DELETE FROM journal WHERE zone_id = ?1 AND id < ?2",
    [ST_JOURNAL_TRIM_KEEP] = "DELETE FROM journal WHERE zone_id = ?1 AND id <= (SELECT id FROM journal"
                             " WHERE zone_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    [ST_PROPOSAL_INSERT] = "INSERT INTO proposals (zone_id, author, body, status, created_at)"
                           " VALUES (?1, ?2, ?3, 'pending', ?4) RETURNING id",
    [ST_PROPOSAL_GET] = "SELECT " PROPOSAL_COLS " WHERE p.id = ?1",
    [ST_PROPOSAL_LIST] = "SELECT " PROPOSAL_COLS " WHERE p.zone_id = ?1 AND p.id > ?2 ORDER BY p.id LIMIT ?3",
    [ST_PROPOSAL_LIST_STATUS] = "SELECT " PROPOSAL_COLS " WHERE p.zone_id = ?1 AND p.id > ?2 AND p.status = ?4"
                                " ORDER BY p.id LIMIT ?3",
    /* compare-and-set on the status, so two reviewers racing cannot both win */
    [ST_PROPOSAL_REVIEW] = "UPDATE proposals SET status = ?2, reviewer = ?3, reviewed_at = ?4"
                           " WHERE id = ?1 AND status = 'pending'",
    [ST_PROPOSAL_APPLY] = "UPDATE proposals SET status = 'applied', applier = ?2, applied_at = ?3"
                          " WHERE id = ?1 AND status = 'approved'",
};

/* One SQLite connection and its prepared statements. A cached statement busy in an outer walk
 * (a callback calling back into the store) is not reused: a one-off copy is prepared instead. */
__attribute__((format(printf, 3, 4))) void sq_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* Writes the message and evaluates to code: `return set_err(...)` or `rc = set_err(...)`. An
 * expression rather than a function so static analysers see the code that comes back. */

const char *sq_name_text(const uint8_t *name, char buf[NAME_TEXT_MAX])
{
	if (name_to_text(name, buf, NAME_TEXT_MAX) < 0)
		snprintf(buf, NAME_TEXT_MAX, "(unprintable name)");
	return buf;
}

/* Checks a caller's wire name and copies it lower-cased. */
int sq_take_name(const uint8_t *in, uint8_t out[NAME_MAXLEN], const char *what, char *err, size_t errlen)
{
	int n = in ? name_check(in, NAME_MAXLEN) : TERN_ENAME;
	if (n < 0)
		return set_err(err, errlen, TERN_ENAME, "bad %s name", what);
	name_lower_copy(out, in, (size_t)n);
	return n;
}

/* Checks a caller's string: present, 1..max bytes. */
int sq_take_text(const char *s, size_t max, const char *what, char *err, size_t errlen)
{
	if (!s || !*s)
		return set_err(err, errlen, TERN_EINVAL, "%s is empty", what);
	if (strnlen(s, max + 1) > max)
		return set_err(err, errlen, TERN_EINVAL, "%s is longer than %zu bytes", what, max);
	return 0;
}

/* RFC 4034 6.1 canonical order as plain byte order: the labels from the root down, each ended by
 * 00, with octet 00 written 01 01 and 01 written 01 02. An ancestor's key is a prefix of its
 * descendants' keys, so memcmp-then-length order (SQLite BLOB, PostgreSQL bytea) is canonical
 * order. The name must be lower-cased. */
static int sort_key(const uint8_t *lname, uint8_t key[SORT_KEY_MAX])
{
	uint8_t offs[NAME_MAXLABELS];
	int n = 0, len = 0;
	for (int o = 0; lname[o]; o += lname[o] + 1)
		offs[n++] = (uint8_t)o;
	while (n > 0) {
		const uint8_t *l = lname + offs[--n];
		for (int i = 1; i <= l[0]; i++) {
			if (l[i] <= 1) {
				key[len++] = 1;
				key[len++] = (uint8_t)(l[i] + 1);
			} else {
				key[len++] = l[i];
			}
		}
		key[len++] = 0;
	}
	return len;
}

/* Counts the records of an RRset's rdata (16-bit length + bytes each). */
static int rdata_count(const uint8_t *rdata, uint32_t size, uint16_t *count, char *err, size_t errlen)
{
	uint32_t pos = 0, n = 0;
	if (!rdata || size == 0)
		return set_err(err, errlen, TERN_EINVAL, "an RRset needs at least one record");
	while (pos < size) {
		if (size - pos < 2 || size - pos - 2 < wire_get16(rdata + pos))
			return set_err(err, errlen, TERN_EMALF, "RDATA of record %" PRIu32 " is cut short", n + 1);
		pos += 2u + wire_get16(rdata + pos);
		if (++n > UINT16_MAX)
			return set_err(err, errlen, TERN_EINVAL, "an RRset holds at most 65535 records");
	}
	*count = (uint16_t)n;
	return 0;
}

/* ---- Connections ---- */

static void conn_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

static int conn_open(const char *path, bool reader, struct conn **out, char *err, size_t errlen)
{
	int rc;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return set_err(err, errlen, TERN_ENOMEM, "out of memory");
	int src = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = set_err(err, errlen, src == SQLITE_NOMEM ? TERN_ENOMEM : TERN_EIO, "%s: cannot open: %s", path,
		             c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
		goto fail;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	const char *pragmas = reader ? "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA query_only = ON;"
	                             : "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	conn_close(c);
	return rc;
}

/* A reader from the pool, opened when none is idle. */
static int pool_get(struct sq_store *st, struct conn **out, char *err, size_t errlen)
{
	pthread_mutex_lock(&st->pool_lock);
	struct conn *c = st->idle;
	if (c) {
		st->idle = c->next;
		st->nidle--;
	}
	pthread_mutex_unlock(&st->pool_lock);
	if (c) {
		*out = c;
		return 0;
	}
	return conn_open(st->path, true, out, err, errlen);
}

static void pool_put(struct sq_store *st, struct conn *c)
{
	pthread_mutex_lock(&st->pool_lock);
	if (st->nidle < POOL_IDLE_MAX) {
		c->next = st->idle;
		st->idle = c;
		st->nidle++;
		c = NULL;
	}
	pthread_mutex_unlock(&st->pool_lock);
	conn_close(c);
}

/* The connection a call runs on; write calls need a live write transaction. */
int sq_conn_take(struct sq_txn *t, bool write, struct conn **out, char *err, size_t errlen)
{
	if (write && t->base.kind != STORE_TXN_WRITE)
		return set_err(err, errlen, TERN_EINVAL, "writes need a write transaction (store_begin)");
	if (t->aborted)
		return set_err(err, errlen, TERN_EIO, "the transaction was aborted by an earlier error: roll it back");
	if (t->conn) {
		*out = t->conn;
		return 0;
	}
	return pool_get((struct sq_store *)t->base.store, out, err, errlen);
}

void sq_conn_give(struct sq_txn *t, struct conn *c)
{
	if (c && !t->conn)
		pool_put((struct sq_store *)t->base.store, c);
}

/* ---- Statements ---- */

/* Maps an SQLite failure to a TERN_E* and notes when it took the transaction down with it. */
static int db_error(struct q *q, int src, char *err, size_t errlen)
{
	int code = TERN_EIO;
	if (src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY)
		code = TERN_EEXIST;
	else if ((src & 0xff) == SQLITE_CONSTRAINT)
		code = TERN_EINVAL;
	else if ((src & 0xff) == SQLITE_NOMEM)
		code = TERN_ENOMEM;
	if (q->t && q->t->base.kind == STORE_TXN_WRITE && sqlite3_get_autocommit(q->c->db))
		q->t->aborted = true;
	return set_err(err, errlen, code, "store: %s", sqlite3_errmsg(q->c->db));
}

int sq_q_open(struct q *q, struct sq_txn *t, struct conn *c, enum stmt id, char *err, size_t errlen)
{
	*q = (struct q){.c = c, .t = t, .id = id};
	if (c->stmt[id] && !c->in_use[id]) {
		c->in_use[id] = true;
		q->s = c->stmt[id];
		return 0;
	}
	bool cache = !c->stmt[id];
	int src = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &q->s, NULL);
	if (src != SQLITE_OK)
		return db_error(q, src, err, errlen);
	if (cache) {
		c->stmt[id] = q->s;
		c->in_use[id] = true;
	}
	return 0;
}

void sq_q_close(struct q *q)
{
	if (!q->s)
		return;
	sqlite3_reset(q->s);
	sqlite3_clear_bindings(q->s);
	if (q->s == q->c->stmt[q->id])
		q->c->in_use[q->id] = false;
	else
		sqlite3_finalize(q->s);
	q->s = NULL;
}

/* Binders remember the first failure; sq_q_step reports it. Bound memory must outlive the steps. */
void sq_q_int(struct q *q, int i, int64_t v)
{
	int src = sqlite3_bind_int64(q->s, i, v);
	if (!q->bind_rc)
		q->bind_rc = src;
}

void sq_q_null(struct q *q, int i)
{
	int src = sqlite3_bind_null(q->s, i);
	if (!q->bind_rc)
		q->bind_rc = src;
}

void sq_q_blob(struct q *q, int i, const void *p, size_t n)
{
	/* a NULL pointer would bind SQL NULL: an empty blob needs a real one */
	int src = sqlite3_bind_blob64(q->s, i, n ? p : (const void *)"", n, SQLITE_STATIC);
	if (!q->bind_rc)
		q->bind_rc = src;
}

void sq_q_text(struct q *q, int i, const char *s)
{
	int src = sqlite3_bind_text(q->s, i, s, -1, SQLITE_STATIC);
	if (!q->bind_rc)
		q->bind_rc = src;
}

/* 1 for a row, 0 when done, or a negative TERN_E*. */
int sq_q_step(struct q *q, char *err, size_t errlen)
{
	if (q->bind_rc)
		return db_error(q, q->bind_rc, err, errlen);
	int src = sqlite3_step(q->s);
	if (src == SQLITE_ROW)
		return 1;
	if (src == SQLITE_DONE)
		return 0;
	return db_error(q, src, err, errlen);
}

/* What a walk over rows hands each row to: the caller's callback (one of them) and its argument. */

/* Hands rows to each(). With a limit, the statement was bound with LIMIT limit + 1: at most limit
 * rows are handed on and page (when set) tells whether more follow. A nonzero each() stops. */
int sq_walk_rows(struct q *q, unsigned limit, row_fn each, const struct walk *w, struct store_page *page, char *err,
                 size_t errlen)
{
	struct store_page scratch = {0};
	unsigned n = 0;
	int rc;
	page = page ? page : &scratch;
	*page = (struct store_page){0};
	while ((rc = sq_q_step(q, err, errlen)) == 1) {
		if (limit && n++ == limit) {
			page->more = true;
			return 0;
		}
		if ((rc = each(q->s, w, page)) != 0)
			return rc;
	}
	return rc;
}

const uint8_t *sq_col_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const uint8_t *p = sqlite3_column_blob(s, i);
	*len = (size_t)sqlite3_column_bytes(s, i);
	return p;
}

void sq_col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(s, i);
	snprintf(out, cap, "%s", p ? (const char *)p : "");
}

void sq_col_name(sqlite3_stmt *s, int i, uint8_t out[NAME_MAXLEN])
{
	size_t n;
	const uint8_t *p = sq_col_blob(s, i, &n);
	if (!p || n == 0 || n > NAME_MAXLEN || name_check(p, n) != (int)n) {
		out[0] = 0;
		return;
	}
	memcpy(out, p, n);
}

/* Runs one SQL text outside the statement cache (transaction control, migrations). */
int sq_exec_sql(struct conn *c, const char *sql, char *err, size_t errlen)
{
	int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (src == SQLITE_OK)
		return 0;
	if (src == SQLITE_BUSY || (src & 0xff) == SQLITE_BUSY)
		return set_err(err, errlen, TERN_EIO, "store: the database stayed locked by another writer for %d ms",
		               BUSY_TIMEOUT_MS);
	return set_err(err, errlen, (src & 0xff) == SQLITE_NOMEM ? TERN_ENOMEM : TERN_EIO, "store: %s",
	               sqlite3_errmsg(c->db));
}

/* The id (and serial) of the zone with this lower-cased apex; TERN_ENOTFOUND names it. */
int sq_zone_id(struct sq_txn *t, struct conn *c, const uint8_t *lapex, int64_t *id, uint32_t *serial, char *err,
               size_t errlen)
{
	struct q q;
	int rc = sq_q_open(&q, t, c, ST_ZONE_ID, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_blob(&q, 1, lapex, name_len(lapex));
	rc = sq_q_step(&q, err, errlen);
	if (rc == 1) {
		*id = sqlite3_column_int64(q.s, 0);
		if (serial)
			*serial = (uint32_t)sqlite3_column_int64(q.s, 1);
		rc = 0;
	} else if (rc >= 0) {
		char zn[NAME_TEXT_MAX];
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no zone %s", sq_name_text(lapex, zn));
	}
	sq_q_close(&q);
	return rc;
}

/* ---- Schema ---- */

static int migrate(struct conn *c, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int version = 0;
	int rc = sq_exec_sql(
	    c, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", err, errlen);
	if (rc < 0)
		goto fail;
	if (sqlite3_prepare_v2(c->db, "SELECT version FROM schema_version", -1, &s, NULL) != SQLITE_OK) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	int src = sqlite3_step(s);
	if (src == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = set_err(err, errlen, TERN_EIO, "%s: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	if (src == SQLITE_DONE && (rc = sq_exec_sql(c, "INSERT INTO schema_version VALUES (0)", err, errlen)) < 0)
		goto fail;
	if (version > SCHEMA_VERSION || version < 0) {
		rc = set_err(err, errlen, TERN_ECONFIG, "%s: schema version %d is newer than this program's (%d)", path,
		             version, SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < SCHEMA_VERSION; v++) {
		char sql[64];
		if ((rc = sq_exec_sql(c, migrations[v], err, errlen)) < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d", v + 1);
		if ((rc = sq_exec_sql(c, sql, err, errlen)) < 0)
			goto fail;
	}
	if ((rc = sq_exec_sql(c, "COMMIT", err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(s);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int set_wal(struct conn *c, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = set_err(err, errlen, TERN_EIO, "%s: cannot switch to WAL: %s", path, sqlite3_errmsg(c->db));
		goto fail;
	}
	const unsigned char *mode = sqlite3_column_text(s, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0)
		rc = set_err(err, errlen, TERN_EIO, "%s: cannot switch to WAL (journal mode stays %s)", path,
		             mode ? (const char *)mode : "unknown");
fail:
	sqlite3_finalize(s);
	return rc;
}

/* ---- Opening, closing, transactions ---- */

static void sq_rollback(struct store_txn *bt);

/* Copies the WAL into the database when the writer's WAL hook says it has grown to CKPT_PAGES
 * (PASSIVE: never waits for, nor blocks, the writer or readers; what readers still hold is copied
 * at a later wake-up, as the WAL hook keeps asking while the WAL stays long). */
static void checkpoint(struct ev_loop *loop, struct ev_async *a)
{
	(void)loop;
	struct sq_store *st = a->arg;
	sqlite3_wal_checkpoint_v2(st->ckpt->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* The writer's WAL hook, after each commit, in the writer's thread: only a flag and a wake-up. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_store *st = arg;
	(void)db;
	(void)name;
	if (pages >= CKPT_PAGES)
		ev_async_send(&st->ckpt_due);
	return SQLITE_OK;
}

static void sq_close(struct store *base)
{
	struct sq_store *st = (struct sq_store *)base;
	ev_thread_stop(&st->ckpt_thread);
	ev_free(st->ckpt_loop);
	if (st->ckpt) {
		sqlite3_wal_checkpoint_v2(st->ckpt->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		conn_close(st->ckpt);
	}
	if (st->write_txn)
		sq_rollback(&st->write_txn->base);
	for (struct sq_txn *r = st->reads, *next; r; r = next) {
		next = r->next;
		sqlite3_exec(r->conn->db, "ROLLBACK", NULL, NULL, NULL);
		conn_close(r->conn);
		free(r);
	}
	conn_close(st->writer);
	while (st->idle) {
		struct conn *c = st->idle;
		st->idle = c->next;
		conn_close(c);
	}
	if (st->locks_ready) {
		pthread_mutex_destroy(&st->write_lock);
		pthread_mutex_destroy(&st->pool_lock);
	}
	free(st->path);
	free(st);
}

static int sq_begin(struct store *base, enum store_txn_kind kind, struct store_txn **out, char *err, size_t errlen)
{
	struct sq_store *st = (struct sq_store *)base;
	struct sq_txn *t = calloc(1, sizeof(*t));
	int rc;
	bool locked = false;
	*out = NULL;
	if (!t)
		return set_err(err, errlen, TERN_ENOMEM, "out of memory");
	t->base = (struct store_txn){.store = base, .kind = kind};
	t->now = (int64_t)time(NULL);
	if (kind == STORE_TXN_WRITE) {
		int e = pthread_mutex_lock(&st->write_lock);
		if (e) {
			rc = set_err(err, errlen, TERN_EINVAL, "%s",
			             e == EDEADLK ? "this thread already has a write transaction open" : strerror(e));
			goto fail;
		}
		locked = true;
		t->conn = st->writer;
		/* IMMEDIATE takes the write lock now, so a commit never fails for want of it */
		if ((rc = sq_exec_sql(t->conn, "BEGIN IMMEDIATE", err, errlen)) < 0)
			goto fail;
		st->write_txn = t;
	} else if (kind == STORE_TXN_READ) {
		if ((rc = pool_get(st, &t->conn, err, errlen)) < 0)
			goto fail;
		/* the first read fixes the snapshot: do it now so the snapshot is the database at begin */
		if ((rc = sq_exec_sql(t->conn, "BEGIN; SELECT version FROM schema_version;", err, errlen)) < 0)
			goto fail;
		pthread_mutex_lock(&st->pool_lock);
		t->next = st->reads;
		if (st->reads)
			st->reads->prev = t;
		st->reads = t;
		pthread_mutex_unlock(&st->pool_lock);
	} else {
		rc = set_err(err, errlen, TERN_EINVAL, "unknown transaction kind");
		goto fail;
	}
	*out = &t->base;
	return 0;
fail:
	if (kind == STORE_TXN_READ && t->conn) {
		if (!sqlite3_get_autocommit(t->conn->db))
			sqlite3_exec(t->conn->db, "ROLLBACK", NULL, NULL, NULL);
		pool_put(st, t->conn);
	}
	if (locked)
		pthread_mutex_unlock(&st->write_lock);
	free(t);
	return rc;
}

static struct store_txn *sq_latest(struct store *base)
{
	return &((struct sq_store *)base)->latest.base;
}

/* Ends a transaction whose SQL transaction is already over, and frees it. */
static void txn_end(struct sq_txn *t)
{
	struct sq_store *st = (struct sq_store *)t->base.store;
	if (t->base.kind == STORE_TXN_WRITE) {
		st->write_txn = NULL;
		pthread_mutex_unlock(&st->write_lock);
	} else {
		pthread_mutex_lock(&st->pool_lock);
		if (t->prev)
			t->prev->next = t->next;
		else
			st->reads = t->next;
		if (t->next)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&st->pool_lock);
		pool_put(st, t->conn);
	}
	free(t);
}

static void sq_rollback(struct store_txn *bt)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	if (bt->kind == STORE_TXN_LATEST)
		return;
	if (!sqlite3_get_autocommit(t->conn->db))
		sqlite3_exec(t->conn->db, "ROLLBACK", NULL, NULL, NULL);
	txn_end(t);
}

static int sq_commit(struct store_txn *bt, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	int rc = 0;
	if (bt->kind == STORE_TXN_LATEST)
		return set_err(err, errlen, TERN_EINVAL, "store_latest() has no transaction to commit");
	if (t->aborted)
		rc = set_err(err, errlen, TERN_EIO, "commit refused: the transaction was aborted by an earlier error");
	else
		rc = sq_exec_sql(t->conn, "COMMIT", err, errlen);
	/* a COMMIT that failed may leave the transaction open: nothing of it may stay */
	if (!sqlite3_get_autocommit(t->conn->db))
		sqlite3_exec(t->conn->db, "ROLLBACK", NULL, NULL, NULL);
	txn_end(t);
	return rc;
}

/* ---- Zones ---- */

static void zone_from_row(sqlite3_stmt *s, struct store_zone *z)
{
	z->id = sqlite3_column_int64(s, 0);
	sq_col_name(s, 1, z->apex);
	sq_col_text(s, 2, z->tenant, sizeof(z->tenant));
	z->serial = (uint32_t)sqlite3_column_int64(s, 3);
	const unsigned char *policy = sqlite3_column_text(s, 4);
	z->serial_policy =
	    policy && strcmp((const char *)policy, "date") == 0 ? STORE_SERIAL_DATE : STORE_SERIAL_INCREMENT;
	z->locked = sqlite3_column_int(s, 5) != 0;
	sq_col_text(s, 6, z->lock_reason, sizeof(z->lock_reason));
	z->created = sqlite3_column_int64(s, 7);
	z->updated = sqlite3_column_int64(s, 8);
}

/* The serial the lower-cased apex had when last deleted: 1 found, 0 never deleted, or an error. */
static int past_serial(struct sq_txn *t, struct conn *c, const uint8_t *lapex, uint32_t *serial, char *err,
                       size_t errlen)
{
	struct q q;
	int rc = sq_q_open(&q, t, c, ST_PAST_SERIAL, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_blob(&q, 1, lapex, name_len(lapex));
	if ((rc = sq_q_step(&q, err, errlen)) == 1)
		*serial = (uint32_t)sqlite3_column_int64(q.s, 0);
	sq_q_close(&q);
	return rc;
}

static int sq_zone_create(struct store_txn *bt, struct store_zone *z, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN], key[SORT_KEY_MAX];
	char zn[NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int n = sq_take_name(z->apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = sq_take_text(z->tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0)
		return rc;
	if (z->serial_policy != STORE_SERIAL_DATE && z->serial_policy != STORE_SERIAL_INCREMENT)
		return set_err(err, errlen, TERN_EINVAL, "unknown serial policy %d", (int)z->serial_policy);
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	uint32_t past;
	if ((rc = past_serial(t, c, lapex, &past, err, errlen)) < 0)
		goto fail;
	if (rc == 1 && !rr_serial_newer(z->serial, past)) {
		rc = set_err(err, errlen, TERN_EINVAL,
		             "zone %s had serial %" PRIu32 " before it was deleted: serial %" PRIu32
		             " is not above it (RFC 1982), so its secondaries would not refresh",
		             sq_name_text(lapex, zn), past, z->serial);
		goto fail;
	}
	if ((rc = sq_q_open(&q, t, c, ST_ZONE_INSERT, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, lapex, (size_t)n);
	sq_q_blob(&q, 2, key, (size_t)sort_key(lapex, key));
	sq_q_text(&q, 3, z->tenant);
	sq_q_int(&q, 4, z->serial);
	sq_q_text(&q, 5, z->serial_policy == STORE_SERIAL_DATE ? "date" : "increment");
	sq_q_int(&q, 6, t->now);
	rc = sq_q_step(&q, err, errlen);
	if (rc == TERN_EEXIST) {
		rc = set_err(err, errlen, TERN_EEXIST, "zone %s already exists", sq_name_text(lapex, zn));
		goto fail;
	}
	if (rc < 0)
		goto fail;
	z->id = sqlite3_column_int64(q.s, 0);
	memcpy(z->apex, lapex, (size_t)n);
	z->locked = false;
	z->lock_reason[0] = 0;
	z->created = z->updated = t->now;
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int sq_zone_get(struct store_txn *bt, const uint8_t *apex, struct store_zone *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int n = sq_take_name(apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ZONE_GET, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, lapex, (size_t)n);
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no zone %s", sq_name_text(lapex, zn));
	if (rc < 0)
		goto fail;
	zone_from_row(q.s, out);
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int zone_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_zone z;
	zone_from_row(s, &z);
	memcpy(page->next_apex, z.apex, name_len(z.apex));
	return w->zone(&z, w->arg);
}

static int sq_zone_list(struct store_txn *bt, const char *tenant, const uint8_t *after, unsigned limit,
                        store_zone_fn fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lafter[NAME_MAXLEN], key[SORT_KEY_MAX + 1];
	struct conn *c = NULL;
	struct q q = {0};
	size_t klen = 0;
	int rc;
	if (limit == 0)
		return set_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if (tenant && (rc = sq_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0)
		return rc;
	if (after) {
		if ((rc = sq_take_name(after, lafter, "cursor", err, errlen)) < 0)
			return rc;
		/* key || 00 is the smallest key above key: ">= it" is "> the cursor" */
		klen = (size_t)sort_key(lafter, key);
		key[klen++] = 0;
	}
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, tenant ? ST_ZONE_LIST_TENANT : ST_ZONE_LIST, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, key, klen);
	sq_q_int(&q, 2, (int64_t)limit + 1);
	if (tenant)
		sq_q_text(&q, 3, tenant);
	rc = sq_walk_rows(&q, limit, zone_row, &(struct walk){.zone = fn, .arg = arg}, page, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* One UPDATE or DELETE of the zone row keyed by apex; TERN_ENOTFOUND when it matched nothing. */
static int zone_row_write(struct sq_txn *t, enum stmt id, const uint8_t *apex, int64_t v2, const char *v3, char *err,
                          size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN];
	char zn[NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int n = sq_take_name(apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, id, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, lapex, (size_t)n);
	if (id == ST_ZONE_SERIAL) {
		sq_q_int(&q, 2, v2);
		sq_q_int(&q, 3, t->now);
	} else if (id == ST_ZONE_RETIRE) {
		sq_q_int(&q, 2, t->now);
	} else if (id == ST_ZONE_LOCK) {
		sq_q_int(&q, 2, v2);
		sq_q_text(&q, 3, v3);
		sq_q_int(&q, 4, t->now);
	}
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	rc = sqlite3_changes(c->db) ? 0 : set_err(err, errlen, TERN_ENOTFOUND, "no zone %s", sq_name_text(lapex, zn));
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* The zone's serial goes to past_serials first, in the same transaction as the deletion. */
static int sq_zone_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	int rc = zone_row_write((struct sq_txn *)bt, ST_ZONE_RETIRE, apex, 0, NULL, err, errlen);
	return rc < 0 ? rc : zone_row_write((struct sq_txn *)bt, ST_ZONE_DELETE, apex, 0, NULL, err, errlen);
}

static int sq_zone_past_serial(struct store_txn *bt, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[NAME_TEXT_MAX];
	struct conn *c = NULL;
	int rc = sq_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	rc = past_serial(t, c, lapex, serial, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "zone %s was never deleted", sq_name_text(lapex, zn));
	sq_conn_give(t, c);
	return rc < 0 ? rc : 0;
}

static int sq_zone_set_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen)
{
	return zone_row_write((struct sq_txn *)bt, ST_ZONE_SERIAL, apex, serial, NULL, err, errlen);
}

static int sq_zone_set_lock(struct store_txn *bt, const uint8_t *apex, bool locked, const char *reason, char *err,
                            size_t errlen)
{
	int rc;
	if (locked && (rc = sq_take_text(reason, STORE_REASON_MAX, "lock reason", err, errlen)) < 0)
		return rc;
	return zone_row_write((struct sq_txn *)bt, ST_ZONE_LOCK, apex, locked, locked ? reason : "", err, errlen);
}

/* ---- RRsets ---- */

/* The common start of calls on one zone: checks and lower-cases apex (and owner when lowner is
 * set: it must be inside the zone), takes the connection and finds the zone's id. */
int sq_zone_call(struct sq_txn *t, bool write, const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                 uint8_t lowner[NAME_MAXLEN], struct conn **c, int64_t *zid, char *err, size_t errlen)
{
	char zn[NAME_TEXT_MAX], on[NAME_TEXT_MAX];
	int rc = sq_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0)
		return rc;
	if (lowner) {
		if ((rc = sq_take_name(owner, lowner, "owner", err, errlen)) < 0)
			return rc;
		if (!name_in(lowner, lapex))
			return set_err(err, errlen, TERN_EINVAL, "owner %s is outside zone %s",
			               sq_name_text(lowner, on), sq_name_text(lapex, zn));
	}
	if ((rc = sq_conn_take(t, write, c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_zone_id(t, *c, lapex, zid, NULL, err, errlen)) < 0) {
		sq_conn_give(t, *c);
		*c = NULL;
	}
	return rc;
}

/* The ttls column of a row: NULL (*len 0) when every record has ttl, else the TTLs big-endian in
 * buf (4 * count octets). */
static const uint8_t *ttls_blob(uint32_t ttl, const uint32_t *ttls, uint16_t count, uint8_t *buf, size_t *len)
{
	bool differ = false;
	for (uint16_t i = 0; ttls && i < count; i++) {
		wire_put32(buf + 4u * i, ttls[i]);
		differ |= ttls[i] != ttl;
	}
	*len = differ ? 4u * count : 0;
	return differ ? buf : NULL;
}

/* A row's ttls column checked against its count: NULL or exactly count TTLs. */
static int ttls_col(sqlite3_stmt *s, int i, uint16_t count, const uint8_t **out, size_t *len, char *err, size_t errlen)
{
	*out = sqlite3_column_type(s, i) == SQLITE_NULL ? NULL : sq_col_blob(s, i, len);
	if (!*out)
		*len = 0;
	if (*out && *len != 4u * count)
		return set_err(err, errlen, TERN_EMALF, "the store holds %zu octets of TTLs for %u records", *len,
		               count);
	return 0;
}

static int sq_rrset_put(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, uint32_t ttl,
                        const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN], lowner[NAME_MAXLEN], key[SORT_KEY_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	uint16_t count;
	int rc = rdata_count(rdata, rdata_size, &count, err, errlen);
	if (rc < 0)
		return rc;
	uint8_t *tbuf = ttls ? malloc(4u * count) : NULL;
	if (ttls && !tbuf)
		return set_err(err, errlen, TERN_ENOMEM, "out of memory");
	if ((rc = sq_zone_call(t, true, apex, owner, lapex, lowner, &c, &zid, err, errlen)) < 0) {
		free(tbuf);
		return rc;
	}
	if ((rc = sq_q_open(&q, t, c, ST_RRSET_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_blob(&q, 2, key, (size_t)sort_key(lowner, key));
	sq_q_int(&q, 3, type);
	sq_q_blob(&q, 4, lowner, name_len(lowner));
	sq_q_int(&q, 5, ttl);
	sq_q_int(&q, 6, count);
	sq_q_blob(&q, 7, rdata, rdata_size);
	size_t tlen;
	const uint8_t *tb = ttls_blob(ttl, ttls, count, tbuf, &tlen);
	if (tb)
		sq_q_blob(&q, 8, tb, tlen);
	else
		sq_q_null(&q, 8);
	if ((rc = sq_q_step(&q, err, errlen)) > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	free(tbuf);
	return rc;
}

/* "A RRset at www.example.com." for messages. */
static const char *rrset_text(uint16_t type, const uint8_t *lowner, char buf[NAME_TEXT_MAX + 32])
{
	char tn[16], on[NAME_TEXT_MAX];
	snprintf(buf, NAME_TEXT_MAX + 32, "%s RRset at %s", rr_type_name(type, tn), sq_name_text(lowner, on));
	return buf;
}

/* Opens statement id bound to (zone id, owner's sort key, type): what get and delete share. */
static int rrset_key_q(struct q *q, struct sq_txn *t, bool write, enum stmt id, const uint8_t *apex,
                       const uint8_t *owner, uint16_t type, uint8_t lowner[NAME_MAXLEN], char *err, size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN], key[SORT_KEY_MAX];
	struct conn *c = NULL;
	int64_t zid;
	int rc = sq_zone_call(t, write, apex, owner, lapex, lowner, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(q, t, c, id, err, errlen)) < 0) {
		sq_conn_give(t, c);
		return rc;
	}
	sq_q_int(q, 1, zid);
	sq_q_int(q, 3, type);
	/* key lives on this frame and the caller steps later: SQLite keeps its own copy */
	int src = sqlite3_bind_blob(q->s, 2, key, sort_key(lowner, key), SQLITE_TRANSIENT);
	if (!q->bind_rc)
		q->bind_rc = src;
	return 0;
}

/* Closes a statement from rrset_key_q() and gives back its connection. */
static void rrset_key_close(struct q *q, struct sq_txn *t)
{
	struct conn *c = q->c;
	sq_q_close(q);
	sq_conn_give(t, c);
}

static int sq_rrset_get(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                        struct store_rrset *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lowner[NAME_MAXLEN];
	char rn[NAME_TEXT_MAX + 32];
	struct q q = {0};
	int rc = rrset_key_q(&q, t, false, ST_RRSET_GET, apex, owner, type, lowner, err, errlen);
	if (rc < 0)
		return rc;
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no %s", rrset_text(type, lowner, rn));
	if (rc < 0)
		goto fail;
	size_t len, tlen;
	uint16_t count = (uint16_t)sqlite3_column_int(q.s, 1);
	const uint8_t *rd = sq_col_blob(q.s, 2, &len), *tb;
	if ((rc = ttls_col(q.s, 3, count, &tb, &tlen, err, errlen)) < 0)
		goto fail;
	uint8_t *copy = malloc(len + tlen ? len + tlen : 1); /* the TTLs follow the RDATA */
	if (!copy) {
		rc = set_err(err, errlen, TERN_ENOMEM, "out of memory");
		goto fail;
	}
	if (len)
		memcpy(copy, rd, len);
	if (tlen)
		memcpy(copy + len, tb, tlen);
	memcpy(out->owner, lowner, name_len(lowner));
	out->type = type;
	out->ttl = (uint32_t)sqlite3_column_int64(q.s, 0);
	out->count = count;
	out->rdata = copy;
	out->rdata_size = (uint32_t)len;
	out->ttls = tlen ? copy + len : NULL;
	rc = 0;
fail:
	rrset_key_close(&q, t);
	return rc;
}

static int sq_rrset_delete(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, char *err,
                           size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lowner[NAME_MAXLEN];
	char rn[NAME_TEXT_MAX + 32];
	struct q q = {0};
	int rc = rrset_key_q(&q, t, true, ST_RRSET_DELETE, apex, owner, type, lowner, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_step(&q, err, errlen)) >= 0)
		rc = sqlite3_changes(q.c->db)
		         ? 0
		         : set_err(err, errlen, TERN_ENOTFOUND, "no %s", rrset_text(type, lowner, rn));
	rrset_key_close(&q, t);
	return rc;
}

/* Runs one write statement bound to (zone id, v2): emptying a zone, trimming its journal. */
int sq_zone_id_write(struct sq_txn *t, enum stmt id, const uint8_t *apex, int64_t v2, char *err, size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, id, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	if (sqlite3_bind_parameter_count(q.s) >= 2)
		sq_q_int(&q, 2, v2);
	if ((rc = sq_q_step(&q, err, errlen)) > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int sq_rrset_delete_all(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	return sq_zone_id_write((struct sq_txn *)bt, ST_RRSET_DELETE_ALL, apex, 0, err, errlen);
}

static int rrset_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_rrset rs;
	size_t len;
	(void)page;
	sq_col_name(s, 0, rs.owner);
	rs.type = (uint16_t)sqlite3_column_int(s, 1);
	rs.ttl = (uint32_t)sqlite3_column_int64(s, 2);
	rs.count = (uint16_t)sqlite3_column_int(s, 3);
	rs.rdata = sq_col_blob(s, 4, &len);
	rs.rdata_size = (uint32_t)len;
	int rc = ttls_col(s, 5, rs.count, &rs.ttls, &len, w->err, w->errlen);
	return rc < 0 ? rc : w->rrset(&rs, w->arg);
}

static int sq_rrset_foreach(struct store_txn *bt, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err,
                            size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_RRSET_ALL, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	rc = sq_walk_rows(&q, 0, rrset_row, &(struct walk){.rrset = fn, .arg = arg, .err = err, .errlen = errlen}, NULL,
	                  err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static const struct store_ops sqlite_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .latest = sq_latest,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .zone_create = sq_zone_create,
    .zone_get = sq_zone_get,
    .zone_list = sq_zone_list,
    .zone_delete = sq_zone_delete,
    .zone_past_serial = sq_zone_past_serial,
    .zone_set_serial = sq_zone_set_serial,
    .zone_set_lock = sq_zone_set_lock,
    .rrset_put = sq_rrset_put,
    .rrset_get = sq_rrset_get,
    .rrset_delete = sq_rrset_delete,
    .rrset_delete_all = sq_rrset_delete_all,
    .rrset_foreach = sq_rrset_foreach,
    .journal_append = sq_journal_append,
    .journal_read_from = sq_journal_read_from,
    .journal_history = sq_journal_history,
    .journal_trim_keep = sq_journal_trim_keep,
    .journal_trim_serial = sq_journal_trim_serial,
    .proposal_create = sq_proposal_create,
    .proposal_get = sq_proposal_get,
    .proposal_list = sq_proposal_list,
    .proposal_set_status = sq_proposal_set_status,
};

int store_open_sqlite(const char *path, struct store **out, char *err, size_t errlen)
{
	pthread_mutexattr_t attr;
	int rc;
	*out = NULL;
	if (!sqlite3_threadsafe())
		return set_err(err, errlen, TERN_ECONFIG, "SQLite was built without thread support");
	struct sq_store *st = calloc(1, sizeof(*st));
	if (!st)
		return set_err(err, errlen, TERN_ENOMEM, "out of memory");
	st->base.ops = &sqlite_ops;
	st->latest.base = (struct store_txn){.store = &st->base, .kind = STORE_TXN_LATEST};
	/* error-checking, so a second store_begin() on the same thread fails instead of hanging */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&st->write_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&st->pool_lock, NULL);
	st->locks_ready = true;
	st->path = strdup(path);
	if (!st->path) {
		rc = set_err(err, errlen, TERN_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = conn_open(path, false, &st->writer, err, errlen)) < 0)
		goto fail;
	if ((rc = set_wal(st->writer, path, err, errlen)) < 0)
		goto fail;
	if ((rc = migrate(st->writer, path, err, errlen)) < 0)
		goto fail;
	if ((rc = conn_open(path, false, &st->ckpt, err, errlen)) < 0)
		goto fail;
	if (!(st->ckpt_loop = ev_new(0))) {
		rc = set_err(err, errlen, TERN_ENOMEM, "%s: out of memory for the checkpoint thread", path);
		goto fail;
	}
	ev_async_start(st->ckpt_loop, &st->ckpt_due, checkpoint, st);
	if (ev_thread_start(&st->ckpt_thread, st->ckpt_loop, "ternd-checkpoint") < 0) {
		rc = set_err(err, errlen, TERN_EIO, "%s: cannot start the checkpoint thread", path);
		goto fail;
	}
	sqlite3_wal_hook(st->writer->db, wal_grew, st); /* replaces the automatic checkpoints */
	*out = &st->base;
	return 0;
fail:
	sq_close(&st->base);
	return rc;
}
