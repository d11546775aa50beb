/* The SQLite backend of the store (store.h): opening and closing, connections (one writer
 * serialised by a mutex, a pool of readers), transactions, and the WAL checkpoint thread. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"

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

/* ---- Opening, closing, transactions ---- */

static void sq_rollback(struct store_txn *bt);

/* Copies the WAL into the database when the writer's WAL hook says it has grown to CKPT_PAGES, and
 * starts it over once it reaches CKPT_RESTART_PAGES. A PASSIVE checkpoint never waits for, nor
 * blocks, the writer or readers; but under a steady stream of commits it never catches up (each
 * commit adds frames while it flushes the database), so the WAL would never start over, and
 * every later commit would pay for another checkpoint (bench-ddns: 2.7 fdatasync an update).
 * Past CKPT_RESTART_PAGES a RESTART checkpoint copies the rest while holding the writers back,
 * waiting at most CKPT_RESTART_WAIT_MS for the readers to leave the WAL, so that the next commit
 * writes it from its start. Between the two the hook wakes this thread once per CKPT_PAGES / 4
 * pages, not after every commit (which made it 2.0 fdatasync an update): about 1.05 an update in
 * all, and the writers held back once per CKPT_RESTART_PAGES pages of commits. A long reader (a
 * big transfer) makes the RESTART give up; it is tried again at the next wake-up. */
static void checkpoint(struct ev_loop *loop, struct ev_async *a)
{
	(void)loop;
	struct sq_store *st = a->arg;
	int log = 0, done = 0;
	sqlite3_wal_checkpoint_v2(st->ckpt->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (log < CKPT_RESTART_PAGES)
		return;
	sqlite3_busy_timeout(st->ckpt->db, CKPT_RESTART_WAIT_MS);
	sqlite3_wal_checkpoint_v2(st->ckpt->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
	sqlite3_busy_timeout(st->ckpt->db, BUSY_TIMEOUT_MS);
}

/* The writer's WAL hook, after each commit, in the writer's thread (one at a time: the writer's
 * mutex): a wake-up once the WAL reaches CKPT_PAGES, then once more every quarter of that while it
 * stays long, not after every commit. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_store *st = arg;
	(void)db;
	(void)name;
	if (pages < CKPT_PAGES)
		st->ckpt_wake_at = CKPT_PAGES; /* started over */
	else if ((unsigned)pages >= st->ckpt_wake_at) {
		st->ckpt_wake_at = (unsigned)pages + CKPT_PAGES / 4;
		ev_async_send(&st->ckpt_due);
	}
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

static int sq_mark(struct store_txn *bt, enum store_mark op, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	if (bt->kind != STORE_TXN_WRITE)
		return set_err(err, errlen, TERN_EINVAL, "savepoints need a write transaction (store_begin)");
	if (t->aborted)
		return set_err(err, errlen, TERN_EIO, "the transaction was aborted by an earlier error: roll it back");
	const char *sql = op == STORE_MARK_SET    ? "SAVEPOINT tern_mark"
	                  : op == STORE_MARK_KEEP ? "RELEASE tern_mark"
	                                          : "ROLLBACK TO tern_mark; RELEASE tern_mark";
	int rc = sq_exec_sql(t->conn, sql, err, errlen);
	if (rc < 0 && sqlite3_get_autocommit(t->conn->db))
		t->aborted = true;
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
    .zone_count = sq_zone_count,
    .zone_delete = sq_zone_delete,
    .zone_past_serial = sq_zone_past_serial,
    .zone_set_serial = sq_zone_set_serial,
    .zone_set_lock = sq_zone_set_lock,
    .zone_set_downstream = sq_zone_set_downstream,
    .rrset_put = sq_rrset_put,
    .rrset_get = sq_rrset_get,
    .rrset_delete = sq_rrset_delete,
    .rrset_delete_all = sq_rrset_delete_all,
    .rrset_foreach = sq_rrset_foreach,
    .zone_load = sq_zone_load,
    .journal_append = sq_journal_append,
    .journal_read_from = sq_journal_read_from,
    .journal_history = sq_journal_history,
    .journal_trim_keep = sq_journal_trim_keep,
    .journal_trim_serial = sq_journal_trim_serial,
    .proposal_create = sq_proposal_create,
    .proposal_get = sq_proposal_get,
    .proposal_list = sq_proposal_list,
    .proposal_set_status = sq_proposal_set_status,
    .dnssec_get = sq_dnssec_get,
    .dnssec_put = sq_dnssec_put,
    .dnssec_delete = sq_dnssec_delete,
    .key_add = sq_key_add,
    .key_foreach = sq_key_foreach,
    .key_update = sq_key_update,
    .key_journal = sq_key_journal,
    .key_delete_all = sq_key_delete_all,
    .service_put = sq_service_put,
    .service_get = sq_service_get,
    .service_list = sq_service_list,
    .service_count = sq_service_count,
    .service_delete = sq_service_delete,
    .setting_put = sq_setting_put,
    .setting_get = sq_setting_get,
    .usage_add = sq_usage_add,
    .usage_list = sq_usage_list,
    .acme_account_get = sq_acme_account_get,
    .acme_account_put = sq_acme_account_put,
    .cert_get = sq_cert_get,
    .cert_put = sq_cert_put,
    .cert_due = sq_cert_due,
    .cert_next = sq_cert_next,
    .alias_add = sq_alias_add,
    .alias_list = sq_alias_list,
    .alias_set = sq_alias_set,
    .alias_delete = sq_alias_delete,
    .mark = sq_mark,
    .tsig_key_add = sq_tsig_key_add,
    .tsig_key_list = sq_tsig_key_list,
    .tsig_key_delete = sq_tsig_key_delete,
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
	if ((rc = sq_set_wal(st->writer, path, err, errlen)) < 0)
		goto fail;
	if ((rc = sq_migrate(st->writer, path, err, errlen)) < 0)
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
	st->ckpt_wake_at = CKPT_PAGES;
	sqlite3_wal_hook(st->writer->db, wal_grew, st); /* replaces the automatic checkpoints */
	*out = &st->base;
	return 0;
fail:
	sq_close(&st->base);
	return rc;
}
