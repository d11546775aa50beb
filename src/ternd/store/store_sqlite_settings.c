/* The SQLite store's settings: small values ternd keeps for itself by name (the JWKS fetched from
 * api.jwks-url), each replaced whole. */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#define SETTING_NAME_MAX 256

int sq_setting_put(struct store_txn *bt, const char *name, const void *value, size_t len, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = sq_take_text(name, SETTING_NAME_MAX, "setting name", err, errlen);
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
	int rc = sq_take_text(name, SETTING_NAME_MAX, "setting name", err, errlen);
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
