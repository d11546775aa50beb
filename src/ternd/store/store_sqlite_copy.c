/* The SQLite store's rows table by table, as they are (store_copy.c): read in a snapshot, inserted
 * with their ids, and the AUTOINCREMENT counters (sqlite_sequence) read and raised. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"

/* The transaction's connection, or why there is none (store_latest(), a read handle to write). */
static int copy_conn(struct store_txn *bt, bool write, const struct store_table *tab, struct conn **c, char *err,
                     size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	if (!t->conn || (write && bt->kind != STORE_TXN_WRITE))
		return set_err(err, errlen, TERN_EINVAL, "copying table %s needs a %s transaction", tab->name,
		               write ? "write" : "read or write");
	if (t->aborted)
		return set_err(err, errlen, TERN_EIO, "the transaction was rolled back");
	size_t n = strlen(tab->types);
	if (n == 0 || n > STORE_TABLE_COLS_MAX)
		return set_err(err, errlen, TERN_EINVAL, "table %s: %zu columns", tab->name, n);
	*c = t->conn;
	return 0;
}

static int prepare(struct conn *c, const char *sql, sqlite3_stmt **s, char *err, size_t errlen)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, s, NULL) != SQLITE_OK) {
		int rc = set_err(err, errlen, TERN_EIO, "store: %s", sqlite3_errmsg(c->db));
		sqlite3_finalize(*s);
		*s = NULL;
		return rc;
	}
	return 0;
}

int sq_table_rows(struct store_txn *bt, const struct store_table *tab, store_row_fn fn, void *arg, char *err,
                  size_t errlen)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	struct store_cell row[STORE_TABLE_COLS_MAX];
	char sql[2048];
	int rc = copy_conn(bt, false, tab, &c, err, errlen);
	if (rc < 0)
		return rc;
	size_t n = strlen(tab->types);
	if (snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY %s", tab->columns, tab->name, tab->order) >=
	    (int)sizeof(sql))
		return set_err(err, errlen, TERN_EINVAL, "table %s: the query is too long", tab->name);
	if ((rc = prepare(c, sql, &s, err, errlen)) < 0)
		return rc;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		for (size_t i = 0; i < n; i++) {
			row[i] = (struct store_cell){.null = sqlite3_column_type(s, (int)i) == SQLITE_NULL};
			if (row[i].null)
				continue;
			switch (tab->types[i]) {
			case 'i':
			case 'b': row[i].i = sqlite3_column_int64(s, (int)i); break;
			case 't':
				row[i].p = sqlite3_column_text(s, (int)i);
				row[i].len = (size_t)sqlite3_column_bytes(s, (int)i);
				break;
			default:
				row[i].p = sqlite3_column_blob(s, (int)i);
				row[i].len = (size_t)sqlite3_column_bytes(s, (int)i);
				if (!row[i].p)
					row[i].p = "";
				break;
			}
		}
		if ((rc = fn(row, arg)) != 0)
			break;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = set_err(err, errlen, TERN_EIO, "store: table %s: %s", tab->name, sqlite3_errmsg(c->db));
	sqlite3_finalize(s);
	return rc;
}

int sq_table_insert(struct store_txn *bt, const struct store_table *tab, const struct store_cell *row, char *err,
                    size_t errlen)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	char sql[2048];
	int rc = copy_conn(bt, true, tab, &c, err, errlen);
	if (rc < 0)
		return rc;
	size_t n = strlen(tab->types);
	int at = snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) VALUES (", tab->name, tab->columns);
	for (size_t i = 0; i < n && at > 0 && at < (int)sizeof(sql); i++)
		at += snprintf(sql + at, sizeof(sql) - (size_t)at, i ? ", ?" : "?");
	if (at <= 0 || at >= (int)sizeof(sql) - 2)
		return set_err(err, errlen, TERN_EINVAL, "table %s: the statement is too long", tab->name);
	snprintf(sql + at, sizeof(sql) - (size_t)at, ")");
	if ((rc = prepare(c, sql, &s, err, errlen)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int k = (int)i + 1;
		if (row[i].null)
			sqlite3_bind_null(s, k);
		else if (tab->types[i] == 'i' || tab->types[i] == 'b')
			sqlite3_bind_int64(s, k, tab->types[i] == 'b' ? row[i].i != 0 : row[i].i);
		else if (tab->types[i] == 't')
			sqlite3_bind_text(s, k, row[i].p, (int)row[i].len, SQLITE_STATIC);
		else
			sqlite3_bind_blob(s, k, row[i].p, (int)row[i].len, SQLITE_STATIC);
	}
	int step = sqlite3_step(s);
	if (step != SQLITE_DONE) {
		rc = set_err(err, errlen, (step & 0xff) == SQLITE_CONSTRAINT ? TERN_EINVAL : TERN_EIO, "store: %s",
		             sqlite3_errmsg(c->db));
		if (sqlite3_get_autocommit(c->db))
			((struct sq_txn *)bt)->aborted = true;
	}
	sqlite3_finalize(s);
	return rc;
}

int sq_table_counter(struct store_txn *bt, const struct store_table *tab, bool raise, int64_t *last, char *err,
                     size_t errlen)
{
	struct conn *c;
	sqlite3_stmt *s = NULL;
	int rc = copy_conn(bt, raise, tab, &c, err, errlen);
	if (rc < 0)
		return rc;
	if (!raise) {
		*last = 0;
		if ((rc = prepare(c, "SELECT seq FROM sqlite_sequence WHERE name = ?1", &s, err, errlen)) < 0)
			return rc;
		sqlite3_bind_text(s, 1, tab->name, -1, SQLITE_STATIC);
		int step = sqlite3_step(s);
		if (step == SQLITE_ROW)
			*last = sqlite3_column_int64(s, 0);
		else if (step != SQLITE_DONE)
			rc = set_err(err, errlen, TERN_EIO, "store: %s", sqlite3_errmsg(c->db));
		sqlite3_finalize(s);
		return rc;
	}
	/* the inserts set it to the largest id; an id handed out and deleted since may be larger */
	if ((rc = prepare(c, "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, tab->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, *last);
	int step = sqlite3_step(s);
	sqlite3_finalize(s);
	s = NULL;
	if (step == SQLITE_DONE && sqlite3_changes(c->db) == 0 && *last > 0) {
		if ((rc = prepare(c, "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)", &s, err, errlen)) < 0)
			return rc;
		sqlite3_bind_text(s, 1, tab->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, *last);
		step = sqlite3_step(s);
		sqlite3_finalize(s);
	}
	if (step != SQLITE_DONE)
		return set_err(err, errlen, TERN_EIO, "store: counter of %s: %s", tab->name, sqlite3_errmsg(c->db));
	return 0;
}
