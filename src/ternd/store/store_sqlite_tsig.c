/* The SQLite store's TSIG keys made over the API: name, tenant, algorithm, secret and the update ACL
 * (JSON text the API wrote), one row a key, names unique across tenants. */
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

static int take_key(const struct store_tsig_key *k, char *err, size_t errlen)
{
	int rc = store_take_text(k->tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0)
		return rc;
	if (strcmp(k->algorithm, "hmac-sha256") != 0 && strcmp(k->algorithm, "hmac-sha512") != 0)
		return set_err(err, errlen, TERN_EINVAL, "a TSIG key's algorithm is hmac-sha256 or hmac-sha512");
	if (k->secret_len < 16 || k->secret_len > STORE_TSIG_SECRET_MAX)
		return set_err(err, errlen, TERN_EINVAL, "a TSIG key's secret is 16 to %d octets",
		               STORE_TSIG_SECRET_MAX);
	if (!k->acl || strlen(k->acl) > STORE_TSIG_ACL_MAX)
		return set_err(err, errlen, TERN_EINVAL, "a TSIG key's ACL is at most %d octets of text",
		               STORE_TSIG_ACL_MAX);
	return 0;
}

int sq_tsig_key_add(struct store_txn *bt, const struct store_tsig_key *k, unsigned limit, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t name[NAME_MAXLEN];
	int n, rc = take_key(k, err, errlen);
	if (rc < 0)
		return rc;
	if ((n = store_take_name(k->name, name, "TSIG key", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_TSIG_KEY_ADD, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, name, (size_t)n);
	sq_q_text(&q, 2, k->tenant);
	sq_q_text(&q, 3, k->algorithm);
	sq_q_blob(&q, 4, k->secret, k->secret_len);
	sq_q_text(&q, 5, k->acl);
	sq_q_int(&q, 6, t->now);
	sq_q_int(&q, 7, limit);
	rc = sq_q_step(&q, err, errlen);
	if (rc == TERN_EEXIST)
		rc = set_err(err, errlen, TERN_EEXIST, "a TSIG key of that name exists");
	else if (rc >= 0 && sqlite3_changes(c->db) == 0)
		rc = set_err(err, errlen, TERN_EBUSY, "the tenant has %u TSIG keys already", limit);
	else if (rc >= 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int key_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	(void)page;
	struct store_tsig_key k;
	memset(&k, 0, sizeof(k));
	sq_col_name(s, 0, k.name);
	sq_col_text(s, 1, k.tenant, sizeof(k.tenant));
	sq_col_text(s, 2, k.algorithm, sizeof(k.algorithm));
	size_t n = 0;
	const uint8_t *secret = sq_col_blob(s, 3, &n);
	if (n > sizeof(k.secret) || !n) {
		sq_errf(w->err, w->errlen, "a stored TSIG key's secret has %zu octets", n);
		return TERN_EIO;
	}
	memcpy(k.secret, secret, n);
	k.secret_len = n;
	k.acl = (const char *)sqlite3_column_text(s, 4);
	if (!k.acl)
		k.acl = "[]";
	k.created = sqlite3_column_int64(s, 5);
	int rc = w->tsig_key(&k, w->arg);
	explicit_bzero(k.secret, sizeof(k.secret));
	return rc;
}

int sq_tsig_key_list(struct store_txn *bt, const char *tenant, store_tsig_key_fn fn, void *arg, char *err,
                     size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = tenant ? store_take_text(tenant, STORE_TENANT_MAX, "tenant", err, errlen) : 0;
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, tenant ? ST_TSIG_KEY_LIST : ST_TSIG_KEY_LIST_ALL, err, errlen)) < 0)
		goto fail;
	if (tenant)
		sq_q_text(&q, 1, tenant);
	rc = sq_walk_rows(&q, 0, key_row, &(struct walk){.tsig_key = fn, .arg = arg, .err = err, .errlen = errlen},
	                  NULL, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_tsig_key_delete(struct store_txn *bt, const char *tenant, const uint8_t *in, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t name[NAME_MAXLEN];
	char text[STORE_NAME_TEXT_MAX];
	int n, rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0)
		return rc;
	if ((n = store_take_name(in, name, "TSIG key", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_TSIG_KEY_DELETE, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, tenant);
	sq_q_blob(&q, 2, name, (size_t)n);
	if ((rc = sq_q_step(&q, err, errlen)) >= 0)
		rc = sqlite3_changes(c->db)
		         ? 0
		         : set_err(err, errlen, TERN_ENOTFOUND, "no TSIG key %s", store_name_text(name, text));
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
