/* The PostgreSQL store's rows table by table, as they are (store_copy.c): read through a cursor in
 * the snapshot, inserted with their ids (OVERRIDING SYSTEM VALUE), and the identity sequences read
 * and raised. */
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"

#define FETCH_ROWS "FETCH 1000 FROM tern_copy"

static int copy_conn(struct store_txn *bt, bool write, const struct store_table *tab, PGconn **pg, char *err,
                     size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	if (!t->conn || (write && bt->kind != STORE_TXN_WRITE))
		return pg_err(err, errlen, TERN_EINVAL, "copying table %s needs a %s transaction", tab->name,
		              write ? "write" : "read or write");
	if (t->lost)
		return pg_err(err, errlen, TERN_EIO, "store: the connection to PostgreSQL was lost in the transaction");
	size_t n = strlen(tab->types);
	if (n == 0 || n > STORE_TABLE_COLS_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "table %s: %zu columns", tab->name, n);
	*pg = t->conn->pg;
	return 0;
}

/* Runs sql (params in text or binary as given; binary results); NULL with err set on failure. */
static PGresult *run(struct store_txn *bt, PGconn *pg, const char *sql, int n, const char *const *v, const int *len,
                     const int *fmt, char *err, size_t errlen, int *rc)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, v, len, fmt, 1);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		*rc = 0;
		return res;
	}
	*rc = pg_result_error(pg, res, err, errlen);
	if (PQstatus(pg) != CONNECTION_OK)
		((struct pg_txn *)bt)->lost = true;
	PQclear(res);
	return NULL;
}

int pg_table_rows(struct store_txn *bt, const struct store_table *tab, store_row_fn fn, void *arg, char *err,
                  size_t errlen)
{
	PGconn *pg;
	PGresult *res;
	struct store_cell row[STORE_TABLE_COLS_MAX];
	char sql[2048];
	int rc = copy_conn(bt, false, tab, &pg, err, errlen);
	if (rc < 0)
		return rc;
	size_t n = strlen(tab->types);
	if (snprintf(sql, sizeof(sql), "DECLARE tern_copy NO SCROLL CURSOR FOR SELECT %s FROM %s ORDER BY %s",
	             tab->columns, tab->name, tab->order) >= (int)sizeof(sql))
		return pg_err(err, errlen, TERN_EINVAL, "table %s: the query is too long", tab->name);
	if (!(res = run(bt, pg, sql, 0, NULL, NULL, NULL, err, errlen, &rc)))
		return rc;
	PQclear(res);
	int got = 0;
	do {
		if (!(res = run(bt, pg, FETCH_ROWS, 0, NULL, NULL, NULL, err, errlen, &rc)))
			return rc;
		got = PQntuples(res);
		int fields = PQnfields(res);
		if ((size_t)fields != n) {
			PQclear(res);
			return pg_err(err, errlen, TERN_EIO, "store: table %s: %d columns read", tab->name, fields);
		}
		struct pq q = {.res = res, .rows = got};
		for (int r = 0; r < got && rc == 0; r++) {
			for (size_t i = 0; i < n; i++) {
				int col = (int)i;
				row[i] = (struct store_cell){.null = PQgetisnull(res, r, col) != 0};
				if (row[i].null)
					continue;
				if (tab->types[i] == 'i' || tab->types[i] == 'b') {
					row[i].i = pq_i(&q, r, col);
				} else {
					row[i].p = PQgetvalue(res, r, col);
					row[i].len = (size_t)PQgetlength(res, r, col);
				}
			}
			rc = fn(row, arg);
		}
		PQclear(res);
	} while (rc == 0 && got > 0);
	/* the cursor goes, whatever stopped the walk (a callback's nonzero return included) */
	char cerr[512];
	int crc;
	PQclear(run(bt, pg, "CLOSE tern_copy", 0, NULL, NULL, NULL, cerr, sizeof(cerr), &crc));
	if (rc == 0 && crc < 0)
		rc = pg_err(err, errlen, crc, "%s", cerr);
	return rc;
}

int pg_table_insert(struct store_txn *bt, const struct store_table *tab, const struct store_cell *row, char *err,
                    size_t errlen)
{
	PGconn *pg;
	char sql[2048], num[STORE_TABLE_COLS_MAX][24];
	const char *v[STORE_TABLE_COLS_MAX];
	int len[STORE_TABLE_COLS_MAX], fmt[STORE_TABLE_COLS_MAX];
	int rc = copy_conn(bt, true, tab, &pg, err, errlen);
	if (rc < 0)
		return rc;
	size_t n = strlen(tab->types);
	int at = snprintf(sql, sizeof(sql), "INSERT INTO %s (%s)%s VALUES (", tab->name, tab->columns,
	                  tab->counter ? " OVERRIDING SYSTEM VALUE" : "");
	for (size_t i = 0; i < n && at > 0 && at < (int)sizeof(sql); i++)
		at += snprintf(sql + at, sizeof(sql) - (size_t)at, i ? ", $%zu" : "$%zu", i + 1);
	if (at <= 0 || at >= (int)sizeof(sql) - 2)
		return pg_err(err, errlen, TERN_EINVAL, "table %s: the statement is too long", tab->name);
	snprintf(sql + at, sizeof(sql) - (size_t)at, ")");
	for (size_t i = 0; i < n; i++) {
		len[i] = 0;
		fmt[i] = 0;
		if (row[i].null) {
			v[i] = NULL;
		} else if (tab->types[i] == 'i') {
			snprintf(num[i], sizeof(num[i]), "%" PRId64, row[i].i);
			v[i] = num[i];
		} else if (tab->types[i] == 'b') {
			v[i] = row[i].i ? "true" : "false";
		} else {
			/* text and bytea both in binary: the bytes as they are, no NUL needed */
			if (row[i].len > (size_t)INT32_MAX)
				return pg_err(err, errlen, TERN_EINVAL, "table %s: a value of %zu bytes", tab->name,
				              row[i].len);
			v[i] = row[i].len ? row[i].p : "";
			len[i] = (int)row[i].len;
			fmt[i] = 1;
		}
	}
	PGresult *res = run(bt, pg, sql, (int)n, v, len, fmt, err, errlen, &rc);
	PQclear(res);
	return rc;
}

int pg_table_counter(struct store_txn *bt, const struct store_table *tab, bool raise, int64_t *last, char *err,
                     size_t errlen)
{
	PGconn *pg;
	char sql[512];
	int rc = copy_conn(bt, raise, tab, &pg, err, errlen);
	if (rc < 0)
		return rc;
	/* read: the sequence's last value (NULL: none handed out); raise: to the larger of *last and
	 * the largest id inserted (the inserts gave their ids: the sequence did not move) */
	if (!raise)
		snprintf(
		    sql, sizeof(sql),
		    "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('%s', 'id')::regclass), 0)::bigint",
		    tab->name);
	else
		snprintf(sql, sizeof(sql),
		         "SELECT setval(pg_get_serial_sequence('%s', 'id'), m) FROM (SELECT greatest(%" PRId64
		         ", (SELECT coalesce(max(id), 0) FROM %s)) AS m) g WHERE m > 0",
		         tab->name, *last, tab->name);
	PGresult *res = run(bt, pg, sql, 0, NULL, NULL, NULL, err, errlen, &rc);
	if (res && !raise) {
		struct pq q = {.res = res, .rows = PQntuples(res)};
		*last = q.rows ? pq_i(&q, 0, 0) : 0;
	}
	PQclear(res);
	return rc;
}
