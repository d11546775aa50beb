/* The SQLite store's ACME account key and service certificates (the svc module): one account
 * row, and per service its certificate, the last failure and its ECH keys (gone with the service). */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

#define PEM_MAX (64 * 1024) /* a chain, a key, a problem document */

static int take_service(const char *id, char *err, size_t errlen)
{
	if (!id || strlen(id) != STORE_SERVICE_ID_LEN || strspn(id, "0123456789abcdef-") != STORE_SERVICE_ID_LEN)
		return set_err(err, errlen, TERN_EINVAL, "a service id is a UUID in lower-case text");
	return 0;
}

/* A copy of column i's text (NULL when SQL NULL); false when out of memory. */
static bool col_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *p = sqlite3_column_text(s, i);
	*out = p ? strdup((const char *)p) : NULL;
	return !p || *out;
}

/* Column i's blob into out (cap); a longer or missing one leaves *len 0. */
static void col_fixed(sqlite3_stmt *s, int i, uint8_t *out, size_t cap, size_t *len)
{
	size_t n;
	const uint8_t *p = sq_col_blob(s, i, &n);
	*len = p && n <= cap ? n : 0;
	if (*len)
		memcpy(out, p, *len);
}

int sq_acme_account_get(struct store_txn *bt, char **pem, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = sq_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ACME_ACCOUNT_GET, err, errlen)) < 0)
		goto fail;
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no ACME account key stored");
	else if (rc == 1)
		rc = col_dup(q.s, 0, pem) && *pem ? 0 : set_err(err, errlen, TERN_ENOMEM, "out of memory");
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_acme_account_put(struct store_txn *bt, const char *pem, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = store_take_text(pem, PEM_MAX, "the account key", err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ACME_ACCOUNT_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, pem);
	sq_q_int(&q, 2, t->now);
	rc = sq_q_step(&q, err, errlen);
	if (rc == TERN_EEXIST)
		rc = set_err(err, errlen, TERN_EEXIST, "an ACME account key is stored already");
	else if (rc > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int cert_from_row(sqlite3_stmt *s, struct store_cert *out)
{
	memset(out, 0, sizeof(*out));
	sq_col_text(s, 0, out->service, sizeof(out->service));
	sq_col_text(s, 1, out->names, sizeof(out->names));
	sq_col_text(s, 2, out->state, sizeof(out->state));
	bool ok = col_dup(s, 3, &out->chain) && col_dup(s, 4, &out->key);
	out->not_before = sqlite3_column_int64(s, 5);
	out->not_after = sqlite3_column_int64(s, 6);
	out->issued_at = sqlite3_column_int64(s, 7);
	sq_col_text(s, 8, out->order_url, sizeof(out->order_url));
	out->attempts = sqlite3_column_int64(s, 9);
	sq_col_text(s, 10, out->fail_step, sizeof(out->fail_step));
	out->fail_status = sqlite3_column_int(s, 11);
	sq_col_text(s, 12, out->fail_message, sizeof(out->fail_message));
	ok = ok && col_dup(s, 13, &out->fail_problem);
	out->fail_at = sqlite3_column_int64(s, 14);
	out->next_at = sqlite3_column_int64(s, 15);
	size_t n;
	col_fixed(s, 16, out->ech_key, sizeof(out->ech_key), &n);
	col_fixed(s, 17, out->ech_config, sizeof(out->ech_config), &out->ech_config_len);
	col_fixed(s, 18, out->ech_old_key, sizeof(out->ech_old_key), &n);
	col_fixed(s, 19, out->ech_old_config, sizeof(out->ech_old_config), &out->ech_old_config_len);
	out->ech_rotate_at = sqlite3_column_int64(s, 20);
	out->ech_drop_at = sqlite3_column_int64(s, 21);
	out->publish_at = sqlite3_column_int64(s, 22);
	if (!ok)
		store_cert_clear(out);
	return ok ? 0 : TERN_ENOMEM;
}

int sq_cert_get(struct store_txn *bt, const char *service, bool keys, struct store_cert *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	memset(out, 0, sizeof(*out));
	int rc = take_service(service, err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_CERT_GET, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, service);
	sq_q_int(&q, 2, keys);
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no certificate for service %s", service);
	else if (rc == 1 && cert_from_row(q.s, out) < 0)
		rc = set_err(err, errlen, TERN_ENOMEM, "out of memory");
	else if (rc == 1)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static void bind_text_or_null(struct q *q, int i, const char *s)
{
	if (s && *s)
		sq_q_text(q, i, s);
	else
		sq_q_null(q, i);
}

static void bind_blob_or_null(struct q *q, int i, const uint8_t *p, size_t n)
{
	if (n)
		sq_q_blob(q, i, p, n);
	else
		sq_q_null(q, i);
}

int sq_cert_put(struct store_txn *bt, const struct store_cert *cr, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = take_service(cr->service, err, errlen);
	if (rc < 0 || (rc = store_take_text(cr->names, STORE_CERT_TEXT_MAX, "names", err, errlen)) < 0 ||
	    (rc = store_take_text(cr->state, sizeof(cr->state) - 1, "state", err, errlen)) < 0)
		return rc;
	if ((cr->chain && strlen(cr->chain) > PEM_MAX) || (cr->key && strlen(cr->key) > PEM_MAX) ||
	    (cr->fail_problem && strlen(cr->fail_problem) > PEM_MAX))
		return set_err(err, errlen, TERN_EINVAL, "a chain, key or problem document is over %d bytes", PEM_MAX);
	if (cr->ech_config_len > sizeof(cr->ech_config) || cr->ech_old_config_len > sizeof(cr->ech_old_config))
		return set_err(err, errlen, TERN_EINVAL, "an ECH config is over %zu bytes", sizeof(cr->ech_config));
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_CERT_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, cr->service);
	sq_q_text(&q, 2, cr->names);
	sq_q_text(&q, 3, cr->state);
	bind_text_or_null(&q, 4, cr->chain);
	bind_text_or_null(&q, 5, cr->key);
	sq_q_int(&q, 6, cr->not_before);
	sq_q_int(&q, 7, cr->not_after);
	sq_q_int(&q, 8, cr->issued_at);
	bind_text_or_null(&q, 9, cr->order_url);
	sq_q_int(&q, 10, cr->attempts);
	bind_text_or_null(&q, 11, cr->fail_step);
	sq_q_int(&q, 12, cr->fail_status);
	bind_text_or_null(&q, 13, cr->fail_message);
	bind_text_or_null(&q, 14, cr->fail_problem);
	sq_q_int(&q, 15, cr->fail_at);
	sq_q_int(&q, 16, cr->next_at);
	bind_blob_or_null(&q, 17, cr->ech_key, cr->ech_config_len ? sizeof(cr->ech_key) : 0);
	bind_blob_or_null(&q, 18, cr->ech_config, cr->ech_config_len);
	bind_blob_or_null(&q, 19, cr->ech_old_key, cr->ech_old_config_len ? sizeof(cr->ech_old_key) : 0);
	bind_blob_or_null(&q, 20, cr->ech_old_config, cr->ech_old_config_len);
	sq_q_int(&q, 21, cr->ech_rotate_at);
	sq_q_int(&q, 22, cr->ech_drop_at);
	sq_q_int(&q, 23, cr->publish_at);
	sq_q_int(&q, 24, t->now);
	if ((rc = sq_q_step(&q, err, errlen)) >= 0)
		rc = sqlite3_changes(c->db) ? 0 : set_err(err, errlen, TERN_ENOTFOUND, "no service %s", cr->service);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int due_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	(void)page;
	char id[STORE_SERVICE_ID_LEN + 1];
	uint8_t canonical[NAME_MAXLEN];
	sq_col_text(s, 0, id, sizeof(id));
	sq_col_name(s, 1, canonical);
	return w->cert_due(id, canonical, w->arg);
}

int sq_cert_due(struct store_txn *bt, int64_t now, unsigned limit, store_cert_due_fn fn, void *arg, char *err,
                size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = sq_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_CERT_DUE, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, now);
	sq_q_int(&q, 2, limit);
	rc = sq_walk_rows(&q, 0, due_row, &(struct walk){.cert_due = fn, .arg = arg}, NULL, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_cert_next(struct store_txn *bt, int64_t *at, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = sq_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_CERT_NEXT, err, errlen)) < 0)
		goto fail;
	if ((rc = sq_q_step(&q, err, errlen)) == 1) {
		*at = sqlite3_column_type(q.s, 0) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(q.s, 0);
		rc = 0;
	} else if (rc == 0) {
		*at = INT64_MAX;
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
