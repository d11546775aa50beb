/* The PostgreSQL store's TSIG keys made over the API (as store_sqlite_tsig.c: one row a key, names
 * unique across tenants, at most `limit` a tenant) and usage rows (queries per tenant, UTC day and
 * zone, added to as the usage module flushes). */
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

static int take_key(const struct store_tsig_key *k, char *err, size_t errlen)
{
	int rc = store_take_text(k->tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0)
		return rc;
	if (strcmp(k->algorithm, "hmac-sha256") != 0 && strcmp(k->algorithm, "hmac-sha512") != 0)
		return pg_err(err, errlen, TERN_EINVAL, "a TSIG key's algorithm is hmac-sha256 or hmac-sha512");
	if (k->secret_len < 16 || k->secret_len > STORE_TSIG_SECRET_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "a TSIG key's secret is 16 to %d octets",
		              STORE_TSIG_SECRET_MAX);
	if (!k->acl || strlen(k->acl) > STORE_TSIG_ACL_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "a TSIG key's ACL is at most %d octets of text",
		              STORE_TSIG_ACL_MAX);
	return 0;
}

int pg_tsig_key_add(struct store_txn *bt, const struct store_tsig_key *k, unsigned limit, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t name[NAME_MAXLEN];
	int n, rc = take_key(k, err, errlen);
	if (rc < 0)
		return rc;
	if ((n = store_take_name(k->name, name, "TSIG key", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_blob(&q, 1, name, (size_t)n);
	pq_text(&q, 2, k->tenant);
	pq_text(&q, 3, k->algorithm);
	pq_blob(&q, 4, k->secret, k->secret_len);
	pq_text(&q, 5, k->acl);
	pq_int(&q, 6, t->now);
	pq_int(&q, 7, limit);
	rc = pq_run(&q, t, c,
	            "INSERT INTO tsig_keys (name, tenant, algorithm, secret, acl, created_at)"
	            " SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT count(*) FROM tsig_keys WHERE tenant = $2) < $7",
	            err, errlen);
	if (rc == TERN_EEXIST)
		rc = pg_err(err, errlen, TERN_EEXIST, "a TSIG key of that name exists");
	else if (rc >= 0 && q.changes == 0)
		rc = pg_err(err, errlen, TERN_EBUSY, "the tenant has %u TSIG keys already", limit);
	else if (rc >= 0)
		rc = 0;
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

struct key_walk {
	store_tsig_key_fn fn;
	void *arg;
	char *err;
	size_t errlen;
};

static int key_row(const struct pq *q, int row, void *arg, struct store_page *page)
{
	(void)page;
	struct key_walk *w = arg;
	struct store_tsig_key k;
	memset(&k, 0, sizeof(k));
	pq_name(q, row, 0, k.name);
	pq_copy(q, row, 1, k.tenant, sizeof(k.tenant));
	pq_copy(q, row, 2, k.algorithm, sizeof(k.algorithm));
	size_t n = 0;
	const uint8_t *secret = pq_b(q, row, 3, &n);
	if (!n || n > sizeof(k.secret))
		return pg_err(w->err, w->errlen, TERN_EIO, "a stored TSIG key's secret has %zu octets", n);
	memcpy(k.secret, secret, n);
	k.secret_len = n;
	k.acl = pq_isnull(q, row, 4) ? "[]" : pq_s(q, row, 4);
	k.created = pq_i(q, row, 5);
	int rc = w->fn(&k, w->arg);
	explicit_bzero(k.secret, sizeof(k.secret));
	return rc;
}

int pg_tsig_key_list(struct store_txn *bt, const char *tenant, store_tsig_key_fn fn, void *arg, char *err,
                     size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = tenant ? store_take_text(tenant, STORE_TENANT_MAX, "tenant", err, errlen) : 0;
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if (tenant) {
		pq_text(&q, 1, tenant);
		rc = pq_run(&q, t, c,
		            "SELECT name, tenant, algorithm, secret, acl, created_at FROM tsig_keys WHERE tenant = $1"
		            " ORDER BY name",
		            err, errlen);
	} else {
		rc = pq_run(&q, t, c,
		            "SELECT name, tenant, algorithm, secret, acl, created_at FROM tsig_keys ORDER BY name", err,
		            errlen);
	}
	if (rc >= 0)
		rc = pq_walk(&q, 0, key_row, &(struct key_walk){fn, arg, err, errlen}, NULL);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_tsig_key_delete(struct store_txn *bt, const char *tenant, const uint8_t *in, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t name[NAME_MAXLEN];
	char text[STORE_NAME_TEXT_MAX];
	int n, rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0)
		return rc;
	if ((n = store_take_name(in, name, "TSIG key", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, tenant);
	pq_blob(&q, 2, name, (size_t)n);
	if ((rc = pq_run(&q, t, c, "DELETE FROM tsig_keys WHERE tenant = $1 AND name = $2", err, errlen)) >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no TSIG key %s", store_name_text(name, text));
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* ---- Usage ---- */

int pg_usage_add(struct store_txn *bt, const struct store_usage_row *r, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	if (strlen(r->tenant) > STORE_TENANT_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "usage: a tenant of more than %d octets", STORE_TENANT_MAX);
	if (r->queries > INT64_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "usage: %llu queries", (unsigned long long)r->queries);
	int rc = pg_conn_take(t, true, &c, err, errlen);
	if (rc < 0)
		return rc;
	pq_text(&q, 1, r->tenant);
	pq_int(&q, 2, r->day);
	pq_blob(&q, 3, r->apex, name_len(r->apex));
	pq_int(&q, 4, (int64_t)r->queries);
	rc = pq_run(&q, t, c,
	            "INSERT INTO usage_days (tenant, day, apex, queries) VALUES ($1, $2, $3, $4)"
	            " ON CONFLICT (tenant, day, apex) DO UPDATE SET queries = usage_days.queries + excluded.queries",
	            err, errlen);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc < 0 ? rc : 0;
}

struct usage_walk {
	store_usage_fn fn;
	void *arg;
	char *err;
	size_t errlen;
};

static int usage_row(const struct pq *q, int row, void *arg, struct store_page *page)
{
	(void)page;
	struct usage_walk *w = arg;
	struct store_usage_row r = {.day = pq_i(q, row, 0)};
	size_t n = 0;
	const uint8_t *apex = pq_b(q, row, 1, &n);
	if (!apex || n > NAME_MAXLEN || name_check(apex, n) != (int)n)
		return pg_err(w->err, w->errlen, TERN_EIO, "usage row of day %lld: a malformed zone name",
		              (long long)r.day);
	memcpy(r.apex, apex, n);
	pq_copy(q, row, 2, r.tenant, sizeof(r.tenant));
	int64_t qn = pq_i(q, row, 3);
	r.queries = qn > 0 ? (uint64_t)qn : 0;
	return w->fn(w->arg, &r);
}

int pg_usage_list(struct store_txn *bt, const char *tenant, int64_t from_day, int64_t to_day, store_usage_fn fn,
                  void *arg, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = pg_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, from_day);
	pq_int(&q, 2, to_day);
	if (tenant) {
		pq_text(&q, 3, tenant);
		rc = pq_run(
		    &q, t, c,
		    "SELECT day, apex, tenant, queries FROM usage_days WHERE day BETWEEN $1 AND $2 AND tenant = $3"
		    " ORDER BY tenant, day, apex",
		    err, errlen);
	} else {
		rc = pq_run(&q, t, c,
		            "SELECT day, apex, tenant, queries FROM usage_days WHERE day BETWEEN $1 AND $2"
		            " ORDER BY tenant, day, apex",
		            err, errlen);
	}
	if (rc >= 0)
		rc = pq_walk(&q, 0, usage_row, &(struct usage_walk){fn, arg, err, errlen}, NULL);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}
