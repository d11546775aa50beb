/* The PostgreSQL store's statements: parameters bound by index, one round trip per statement
 * (binary results), columns read back; server failures made TERN_E* codes; caller input checks. */
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

__attribute__((format(printf, 3, 4))) void pg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void param(struct pq *q, int i, const char *v, int len, int fmt)
{
	if (i < 1 || i > PG_PARAMS_MAX)
		return; /* a programming error: the server then says a parameter is missing */
	q->v[i - 1] = v;
	q->len[i - 1] = len;
	q->fmt[i - 1] = fmt;
	if (i > q->n)
		q->n = i;
}

void pq_int(struct pq *q, int i, int64_t v)
{
	if (i < 1 || i > PG_PARAMS_MAX)
		return;
	snprintf(q->num[i - 1], sizeof(q->num[i - 1]), "%" PRId64, v);
	param(q, i, q->num[i - 1], 0, 0);
}

void pq_blob(struct pq *q, int i, const void *p, size_t n)
{
	param(q, i, n ? p : "", (int)n, 1);
}

void pq_text(struct pq *q, int i, const char *s)
{
	param(q, i, s, 0, 0);
}

void pq_null(struct pq *q, int i)
{
	param(q, i, NULL, 0, 0);
}

void pq_clear(struct pq *q)
{
	PQclear(q->res);
	*q = (struct pq){0};
}

/* The server's failure as a TERN_E*: a unique violation TERN_EEXIST, another constraint
 * TERN_EINVAL, a lost connection or anything else TERN_EIO. */
static int server_error(PGconn *pg, const PGresult *res, char *err, size_t errlen)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg);
	char text[512];
	snprintf(text, sizeof(text), "%s", msg && *msg ? msg : PQerrorMessage(pg));
	text[strcspn(text, "\n")] = 0;
	if (PQstatus(pg) != CONNECTION_OK)
		return pg_err(err, errlen, TERN_EIO, "store: PostgreSQL is unreachable: %s", text);
	if (state && strcmp(state, "23505") == 0)
		return pg_err(err, errlen, TERN_EEXIST, "store: %s", text);
	if (state && strncmp(state, "23", 2) == 0)
		return pg_err(err, errlen, TERN_EINVAL, "store: %s", text);
	return pg_err(err, errlen, TERN_EIO, "store: %s", text);
}

/* Runs sql as a statement prepared on c's session (prepared on first use: parsed and planned once
 * per connection, not per call), or unprepared when it cannot be (the cache is full, the prepare
 * failed: then the run fails the same way and says why). */
static PGresult *exec(struct pq *q, struct pconn *c, const char *sql)
{
	char name[16];
	unsigned i = 0;
	while (i < c->nprepared && c->prepared[i] != sql)
		i++;
	if (i == c->nprepared && i < PG_PREPARED_MAX) {
		snprintf(name, sizeof(name), "t%u", i);
		PGresult *p = PQprepare(c->pg, name, sql, q->n, NULL);
		bool ok = p && PQresultStatus(p) == PGRES_COMMAND_OK;
		PQclear(p);
		if (ok)
			c->prepared[c->nprepared++] = sql;
	}
	if (i == c->nprepared)
		return PQexecParams(c->pg, sql, q->n, NULL, q->v, q->len, q->fmt, 1);
	snprintf(name, sizeof(name), "t%u", i);
	return PQexecPrepared(c->pg, name, q->n, q->v, q->len, q->fmt, 1);
}

int pg_result_error(PGconn *pg, const PGresult *res, char *err, size_t errlen)
{
	return server_error(pg, res, err, errlen);
}

int pq_run(struct pq *q, struct pg_txn *t, struct pconn *c, const char *sql, char *err, size_t errlen)
{
	PQclear(q->res);
	q->res = exec(q, c, sql);
	ExecStatusType st = q->res ? PQresultStatus(q->res) : PGRES_FATAL_ERROR;
	/* store_latest()'s statement stands alone (autocommit, a read): on a pooled connection the
	 * server dropped since its last use, it runs again once on the connection made anew */
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && t && !t->conn && PQstatus(c->pg) != CONNECTION_OK &&
	    PQtransactionStatus(c->pg) != PQTRANS_INTRANS && pg_conn_revive(c, NULL, 0) == 0) {
		PQclear(q->res);
		q->res = exec(q, c, sql);
		st = q->res ? PQresultStatus(q->res) : PGRES_FATAL_ERROR;
	}
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		q->rows = PQntuples(q->res);
		const char *n = PQcmdTuples(q->res);
		q->changes = n && *n ? strtoll(n, NULL, 10) : 0;
		return q->rows;
	}
	int rc = server_error(c->pg, q->res, err, errlen);
	if (t && t->conn && PQstatus(c->pg) != CONNECTION_OK)
		t->lost = true;
	return rc;
}

bool pq_isnull(const struct pq *q, int row, int col)
{
	return row >= q->rows || PQgetisnull(q->res, row, col);
}

int64_t pq_i(const struct pq *q, int row, int col)
{
	if (pq_isnull(q, row, col))
		return 0;
	const uint8_t *p = (const uint8_t *)PQgetvalue(q->res, row, col);
	int n = PQgetlength(q->res, row, col);
	if (n != 1 && n != 2 && n != 4 && n != 8)
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n < 8 && (p[0] & 0x80)) /* sign-extend */
		v |= ~(uint64_t)0 << (8 * n);
	return (int64_t)v;
}

const uint8_t *pq_b(const struct pq *q, int row, int col, size_t *len)
{
	if (pq_isnull(q, row, col)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)PQgetlength(q->res, row, col);
	return (const uint8_t *)PQgetvalue(q->res, row, col);
}

const char *pq_s(const struct pq *q, int row, int col)
{
	return pq_isnull(q, row, col) ? "" : PQgetvalue(q->res, row, col); /* libpq ends every value with NUL */
}

void pq_copy(const struct pq *q, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", pq_s(q, row, col));
}

void pq_name(const struct pq *q, int row, int col, uint8_t out[NAME_MAXLEN])
{
	size_t n;
	const uint8_t *p = pq_b(q, row, col, &n);
	if (!p || n == 0 || n > NAME_MAXLEN || name_check(p, n) != (int)n) {
		out[0] = 0;
		return;
	}
	memcpy(out, p, n);
}

int pg_exec(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : server_error(pg, res, err, errlen);
	PQclear(res);
	return rc;
}

int pq_walk(const struct pq *q, unsigned limit, pq_row_fn each, void *arg, struct store_page *page)
{
	struct store_page scratch = {0};
	page = page ? page : &scratch;
	*page = (struct store_page){0};
	for (int r = 0; r < q->rows; r++) {
		if (limit && (unsigned)r == limit) {
			page->more = true;
			return 0;
		}
		int rc = each(q, r, arg, page);
		if (rc != 0)
			return rc;
	}
	return 0;
}
