/* The SQLite store's settings: small values ternd keeps for itself by name (the JWKS fetched from
 * api.jwks-url), each replaced whole; and the usage rows (queries per zone, tenant and day). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#define SETTING_NAME_MAX 256

int sq_setting_put(struct store_txn *bt, const char *name, const void *value, size_t len, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = store_take_text(name, SETTING_NAME_MAX, "setting name", err, errlen);
	if (rc < 0)
		return rc;
	if (len > STORE_SETTING_MAX)
		return set_err(err, errlen, TERN_EINVAL, "setting %s: %zu bytes is more than %u", name, len,
		               STORE_SETTING_MAX);
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_SETTING_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, name);
	sq_q_blob(&q, 2, value, len);
	sq_q_int(&q, 3, t->now);
	rc = sq_q_step(&q, err, errlen);
	if (rc > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_setting_get(struct store_txn *bt, const char *name, void **value, size_t *len, int64_t *updated, char *err,
                   size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	*value = NULL;
	*len = 0;
	int rc = store_take_text(name, SETTING_NAME_MAX, "setting name", err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_SETTING_GET, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, name);
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0) {
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no setting %s", name);
	} else if (rc == 1) {
		size_t n = 0;
		const uint8_t *b = sq_col_blob(q.s, 0, &n);
		char *copy = malloc(n + 1);
		if (!copy) {
			rc = set_err(err, errlen, TERN_ENOMEM, "out of memory");
			goto fail;
		}
		if (n)
			memcpy(copy, b, n);
		copy[n] = 0;
		*value = copy;
		*len = n;
		if (updated)
			*updated = sqlite3_column_int64(q.s, 1);
		rc = 0;
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_usage_add(struct store_txn *bt, const struct store_usage_row *r, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = store_take_text(r->tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0 && r->tenant[0])
		return rc;
	if (r->queries > INT64_MAX)
		return set_err(err, errlen, TERN_EINVAL, "usage: %llu queries", (unsigned long long)r->queries);
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_USAGE_ADD, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, r->tenant);
	sq_q_int(&q, 2, r->day);
	sq_q_blob(&q, 3, r->apex, name_len(r->apex));
	sq_q_int(&q, 4, (int64_t)r->queries);
	rc = sq_q_step(&q, err, errlen);
	if (rc > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_usage_list(struct store_txn *bt, const char *tenant, int64_t from_day, int64_t to_day, store_usage_fn fn,
                  void *arg, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = sq_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, tenant ? ST_USAGE_LIST : ST_USAGE_LIST_ALL, err, errlen)) < 0)
		goto fail;
	if (tenant)
		sq_q_text(&q, 1, tenant);
	sq_q_int(&q, 2, from_day);
	sq_q_int(&q, 3, to_day);
	while ((rc = sq_q_step(&q, err, errlen)) == 1) {
		struct store_usage_row r = {.day = sqlite3_column_int64(q.s, 0)};
		size_t n = 0;
		const uint8_t *apex = sq_col_blob(q.s, 1, &n);
		const unsigned char *tn = sqlite3_column_text(q.s, 2);
		if (!apex || n > NAME_MAXLEN || name_check(apex, n) != (int)n) {
			rc = set_err(err, errlen, TERN_EIO, "usage row of day %lld: a malformed zone name",
			             (long long)r.day);
			break;
		}
		memcpy(r.apex, apex, n);
		snprintf(r.tenant, sizeof(r.tenant), "%s", tn ? (const char *)tn : "");
		int64_t qn = sqlite3_column_int64(q.s, 3);
		r.queries = qn > 0 ? (uint64_t)qn : 0;
		if ((rc = fn(arg, &r)) != 0)
			break;
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
