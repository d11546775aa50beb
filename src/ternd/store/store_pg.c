/* The PostgreSQL backend of the store (store.h): opening and closing, connections (one writer
 * serialised by a mutex and an advisory lock, a pool of readers, each connected again after the
 * server went away), transactions, and the ops table. */
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"

/* ---- Connections ---- */

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs (CREATE ... IF NOT EXISTS) are not for ternd's log */
}

/* What every new or reset connection is set to: a lock waited for at most 10 s (the SQLite busy
 * timeout's counterpart; the write lock included), UTC. */
static int conn_setup(PGconn *pg, char *err, size_t errlen)
{
	PQsetNoticeProcessor(pg, quiet, NULL);
	return pg_exec(pg, "SET lock_timeout = '10s'; SET TimeZone = 'UTC'", err, errlen);
}

int pg_connect(const char *conninfo, PGconn **out, char *err, size_t errlen)
{
	/* the defaults come first, so the location's own settings win: a connection attempt of at most
	 * 5 s, and over TCP a peer gone silent (a failed primary, a cut network) noticed within ~10 s
	 * rather than the kernel's two hours */
	const char *keys[] = {"connect_timeout",  "application_name", "keepalives_idle", "keepalives_interval",
	                      "keepalives_count", "tcp_user_timeout", "dbname",          NULL};
	const char *vals[] = {"5", "ternd", "5", "2", "3", "10000", conninfo, NULL};
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	*out = NULL;
	if (!pg)
		return pg_err(err, errlen, TERN_ENOMEM, "store: out of memory for a PostgreSQL connection");
	if (PQstatus(pg) != CONNECTION_OK) {
		char text[512];
		snprintf(text, sizeof(text), "%s", PQerrorMessage(pg));
		text[strcspn(text, "\n")] = 0;
		PQfinish(pg);
		return pg_err(err, errlen, TERN_EIO, "store: cannot connect to PostgreSQL: %s", text);
	}
	int rc = conn_setup(pg, err, errlen);
	if (rc < 0) {
		PQfinish(pg);
		return rc;
	}
	*out = pg;
	return 0;
}

static void conn_close(struct pconn *c)
{
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

static int conn_open(const char *conninfo, struct pconn **out, char *err, size_t errlen)
{
	struct pconn *c = calloc(1, sizeof(*c));
	if (!c)
		return pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	int rc = pg_connect(conninfo, &c->pg, err, errlen);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* A connection the server dropped (restarted, failed over) made anew in place. */
int pg_conn_revive(struct pconn *c, char *err, size_t errlen)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	c->nprepared = 0; /* a new session has none */
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char text[512];
		snprintf(text, sizeof(text), "%s", PQerrorMessage(c->pg));
		text[strcspn(text, "\n")] = 0;
		return pg_err(err, errlen, TERN_EIO, "store: PostgreSQL is unreachable: %s", text);
	}
	return conn_setup(c->pg, err, errlen);
}

static int pool_get(struct pg_store *st, struct pconn **out, char *err, size_t errlen)
{
	pthread_mutex_lock(&st->pool_lock);
	struct pconn *c = st->idle;
	if (c) {
		st->idle = c->next;
		st->nidle--;
	}
	pthread_mutex_unlock(&st->pool_lock);
	if (!c)
		return conn_open(st->conninfo, out, err, errlen);
	int rc = pg_conn_revive(c, err, errlen);
	if (rc < 0) {
		conn_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void pool_put(struct pg_store *st, struct pconn *c)
{
	/* a connection left inside a transaction (a failed call) or broken is not kept */
	if (c && (PQstatus(c->pg) != CONNECTION_OK || PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
		conn_close(c);
		return;
	}
	pthread_mutex_lock(&st->pool_lock);
	if (c && st->nidle < PG_POOL_IDLE_MAX) {
		c->next = st->idle;
		st->idle = c;
		st->nidle++;
		c = NULL;
	}
	pthread_mutex_unlock(&st->pool_lock);
	conn_close(c);
}

int pg_conn_take(struct pg_txn *t, bool write, struct pconn **out, char *err, size_t errlen)
{
	if (write && t->base.kind != STORE_TXN_WRITE)
		return pg_err(err, errlen, TERN_EINVAL, "writes need a write transaction (store_begin)");
	if (t->lost)
		return pg_err(err, errlen, TERN_EIO,
		              "store: the connection to PostgreSQL broke during the transaction: roll it back");
	if (t->conn) {
		if (PQtransactionStatus(t->conn->pg) == PQTRANS_INERROR)
			return pg_err(err, errlen, TERN_EIO,
			              "the transaction was aborted by an earlier error: roll it back");
		*out = t->conn;
		return 0;
	}
	return pool_get((struct pg_store *)t->base.store, out, err, errlen);
}

void pg_conn_give(struct pg_txn *t, struct pconn *c)
{
	if (c && !t->conn)
		pool_put((struct pg_store *)t->base.store, c);
}

/* ---- Transactions ---- */

static void pg_rollback(struct store_txn *bt);

/* Runs a transaction's opening on c, connecting again once when the server had dropped it (nothing
 * of the transaction has happened yet, so trying again is safe). */
static int begin_on(struct pconn *c, const char *sql, char *err, size_t errlen)
{
	int rc = pg_conn_revive(c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = pg_exec(c->pg, sql, err, errlen)) < 0 && PQstatus(c->pg) != CONNECTION_OK &&
	    (rc = pg_conn_revive(c, err, errlen)) == 0)
		rc = pg_exec(c->pg, sql, err, errlen);
	if (rc < 0 && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		pg_exec(c->pg, "ROLLBACK", NULL, 0);
	return rc;
}

static int pg_begin(struct store *base, enum store_txn_kind kind, struct store_txn **out, char *err, size_t errlen)
{
	struct pg_store *st = (struct pg_store *)base;
	struct pg_txn *t = calloc(1, sizeof(*t));
	int rc;
	*out = NULL;
	if (!t)
		return pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	t->base = (struct store_txn){.store = base, .kind = kind};
	t->now = (int64_t)time(NULL);
	if (kind == STORE_TXN_WRITE) {
		int e = pthread_mutex_lock(&st->write_lock);
		if (e) {
			free(t);
			return pg_err(err, errlen, TERN_EINVAL, "%s",
			              e == EDEADLK ? "this thread already has a write transaction open" : strerror(e));
		}
		if (!st->writer && (rc = conn_open(st->conninfo, &st->writer, err, errlen)) < 0) {
			pthread_mutex_unlock(&st->write_lock);
			free(t);
			return rc;
		}
		/* one writer at a time over every ternd on the database: serials and journal ids follow
		 * commit order, as with SQLite's one writer */
		if ((rc = begin_on(st->writer,
		                   "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(" PG_LOCK_WRITE
		                   ")",
		                   err, errlen)) < 0) {
			pthread_mutex_unlock(&st->write_lock);
			free(t);
			return rc;
		}
		t->conn = st->writer;
		st->write_txn = t;
	} else if (kind == STORE_TXN_READ) {
		if ((rc = pool_get(st, &t->conn, err, errlen)) < 0) {
			free(t);
			return rc;
		}
		/* the first statement takes the snapshot: now, so it is the database at begin */
		if ((rc = begin_on(t->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1", err, errlen)) <
		    0) {
			pool_put(st, t->conn);
			free(t);
			return rc;
		}
		pthread_mutex_lock(&st->pool_lock);
		t->next = st->reads;
		if (st->reads)
			st->reads->prev = t;
		st->reads = t;
		pthread_mutex_unlock(&st->pool_lock);
	} else {
		free(t);
		return pg_err(err, errlen, TERN_EINVAL, "unknown transaction kind");
	}
	*out = &t->base;
	return 0;
}

static struct store_txn *pg_latest(struct store *base)
{
	return &((struct pg_store *)base)->latest.base;
}

static void txn_end(struct pg_txn *t)
{
	struct pg_store *st = (struct pg_store *)t->base.store;
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

static void pg_rollback(struct store_txn *bt)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	if (bt->kind == STORE_TXN_LATEST)
		return;
	if (PQstatus(t->conn->pg) == CONNECTION_OK && PQtransactionStatus(t->conn->pg) != PQTRANS_IDLE)
		pg_exec(t->conn->pg, "ROLLBACK", NULL, 0);
	txn_end(t);
}

static int pg_commit(struct store_txn *bt, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	int rc = 0;
	if (bt->kind == STORE_TXN_LATEST)
		return pg_err(err, errlen, TERN_EINVAL, "store_latest() has no transaction to commit");
	PGconn *pg = t->conn->pg;
	if (t->lost || PQstatus(pg) != CONNECTION_OK) {
		rc = pg_err(err, errlen, TERN_EIO, "store: the connection to PostgreSQL broke during the transaction");
	} else if (PQtransactionStatus(pg) == PQTRANS_INERROR) {
		rc = pg_err(err, errlen, TERN_EIO, "commit refused: the transaction was aborted by an earlier error");
	} else {
		PGresult *res = PQexec(pg, "COMMIT");
		/* COMMIT of a transaction the server aborted answers ROLLBACK: not a success */
		if (!res || PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0) {
			char text[512];
			snprintf(text, sizeof(text), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(pg));
			text[strcspn(text, "\n")] = 0;
			rc = pg_err(err, errlen, TERN_EIO, "store: commit failed: %s",
			            text[0] ? text : "the server rolled the transaction back");
		}
		PQclear(res);
	}
	if (PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
		pg_exec(pg, "ROLLBACK", NULL, 0);
	txn_end(t);
	return rc;
}

static int pg_mark(struct store_txn *bt, enum store_mark op, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	if (bt->kind != STORE_TXN_WRITE)
		return pg_err(err, errlen, TERN_EINVAL, "savepoints need a write transaction (store_begin)");
	if (t->lost)
		return pg_err(err, errlen, TERN_EIO, "store: the connection to PostgreSQL broke: roll it back");
	/* an UNDO also brings back a transaction a failed statement aborted since the mark */
	const char *sql = op == STORE_MARK_SET    ? "SAVEPOINT tern_mark"
	                  : op == STORE_MARK_KEEP ? "RELEASE tern_mark"
	                                          : "ROLLBACK TO tern_mark; RELEASE tern_mark";
	int rc = pg_exec(t->conn->pg, sql, err, errlen);
	if (rc < 0 && PQstatus(t->conn->pg) != CONNECTION_OK)
		t->lost = true;
	return rc;
}

static void pg_close(struct store *base)
{
	struct pg_store *st = (struct pg_store *)base;
	pg_watch(base, NULL, NULL, NULL, 0);
	if (st->write_txn)
		pg_rollback(&st->write_txn->base);
	for (struct pg_txn *r = st->reads, *next; r; r = next) {
		next = r->next;
		conn_close(r->conn);
		free(r);
	}
	conn_close(st->writer);
	while (st->idle) {
		struct pconn *c = st->idle;
		st->idle = c->next;
		conn_close(c);
	}
	if (st->locks_ready) {
		pthread_mutex_destroy(&st->write_lock);
		pthread_mutex_destroy(&st->pool_lock);
	}
	free(st->conninfo);
	free(st);
}

static const struct store_ops pg_ops = {
    .close = pg_close,
    .begin = pg_begin,
    .latest = pg_latest,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .zone_create = pg_zone_create,
    .zone_get = pg_zone_get,
    .zone_list = pg_zone_list,
    .zone_count = pg_zone_count,
    .zone_delete = pg_zone_delete,
    .zone_past_serial = pg_zone_past_serial,
    .zone_set_serial = pg_zone_set_serial,
    .zone_set_lock = pg_zone_set_lock,
    .zone_set_downstream = pg_zone_set_downstream,
    .rrset_put = pg_rrset_put,
    .rrset_get = pg_rrset_get,
    .rrset_delete = pg_rrset_delete,
    .rrset_delete_all = pg_rrset_delete_all,
    .rrset_foreach = pg_rrset_foreach,
    .zone_load = pg_zone_load,
    .journal_append = pg_journal_append,
    .journal_read_from = pg_journal_read_from,
    .journal_history = pg_journal_history,
    .journal_trim_keep = pg_journal_trim_keep,
    .journal_trim_serial = pg_journal_trim_serial,
    .proposal_create = pg_proposal_create,
    .proposal_get = pg_proposal_get,
    .proposal_list = pg_proposal_list,
    .proposal_set_status = pg_proposal_set_status,
    .dnssec_get = pg_dnssec_get,
    .dnssec_put = pg_dnssec_put,
    .dnssec_delete = pg_dnssec_delete,
    .key_add = pg_key_add,
    .key_foreach = pg_key_foreach,
    .key_update = pg_key_update,
    .key_journal = pg_key_journal,
    .key_delete_all = pg_key_delete_all,
    .service_put = pg_service_put,
    .service_get = pg_service_get,
    .service_list = pg_service_list,
    .service_count = pg_service_count,
    .service_delete = pg_service_delete,
    .setting_put = pg_setting_put,
    .setting_get = pg_setting_get,
    .usage_add = pg_usage_add,
    .usage_list = pg_usage_list,
    .tsig_key_add = pg_tsig_key_add,
    .tsig_key_list = pg_tsig_key_list,
    .tsig_key_delete = pg_tsig_key_delete,
    .acme_account_get = pg_acme_account_get,
    .acme_account_put = pg_acme_account_put,
    .cert_get = pg_cert_get,
    .cert_put = pg_cert_put,
    .cert_due = pg_cert_due,
    .cert_next = pg_cert_next,
    .alias_add = pg_alias_add,
    .alias_list = pg_alias_list,
    .alias_set = pg_alias_set,
    .alias_delete = pg_alias_delete,
    .ownership_put = pg_ownership_put,
    .ownership_list = pg_ownership_list,
    .mark = pg_mark,
    .watch = pg_watch,
    .table_rows = pg_table_rows,
    .table_insert = pg_table_insert,
    .table_counter = pg_table_counter,
};

/* The location parsed as libpq would (a URL or key=value words), for its error message. */
static int check_conninfo(const char *conninfo, char *err, size_t errlen)
{
	char *msg = NULL;
	PQconninfoOption *o = PQconninfoParse(conninfo, &msg);
	if (!o) {
		char text[512];
		snprintf(text, sizeof(text), "%s", msg ? msg : "out of memory");
		text[strcspn(text, "\n")] = 0;
		PQfreemem(msg);
		return pg_err(err, errlen, TERN_ECONFIG, "store location %s does not parse: %s",
		              strncmp(conninfo, "postgres", 8) == 0 ? "URL" : "(libpq keywords)", text);
	}
	PQconninfoFree(o);
	return 0;
}

int store_open_postgres(const char *conninfo, struct store **out, char *err, size_t errlen)
{
	pthread_mutexattr_t attr;
	int rc = check_conninfo(conninfo, err, errlen);
	*out = NULL;
	if (rc < 0)
		return rc;
	struct pg_store *st = calloc(1, sizeof(*st));
	if (!st)
		return pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	st->base.ops = &pg_ops;
	st->node = pg_node_id();
	st->latest.base = (struct store_txn){.store = &st->base, .kind = STORE_TXN_LATEST};
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&st->write_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&st->pool_lock, NULL);
	st->locks_ready = true;
	if (!(st->conninfo = strdup(conninfo))) {
		rc = pg_err(err, errlen, TERN_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = conn_open(conninfo, &st->writer, err, errlen)) < 0)
		goto fail;
	if ((rc = pg_migrate(st->writer->pg, err, errlen)) < 0)
		goto fail;
	*out = &st->base;
	return 0;
fail:
	pg_close(&st->base);
	return rc;
}

int store_pg_schema(const char *conninfo, int *have, int *want, char *err, size_t errlen)
{
	PGconn *pg = NULL;
	*have = 0;
	*want = pg_schema_want();
	int rc = check_conninfo(conninfo, err, errlen);
	if (rc == 0 && (rc = pg_connect(conninfo, &pg, err, errlen)) == 0)
		rc = pg_schema_version(pg, have, err, errlen);
	PQfinish(pg);
	return rc;
}
