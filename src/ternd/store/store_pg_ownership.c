/* The PostgreSQL store's ownership claims (as store_sqlite_ownership.c: one row per (tenant, name),
 * the token, the last verification's state and its evidence). */
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

static int take_claim(const struct store_ownership *o, char *err, size_t errlen)
{
	static const char *const states[] = {"pending", "verified", "failed", "lost"};
	int rc = store_take_text(o->tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0)
		return rc;
	if (!o->token[0] || strlen(o->token) > STORE_OWNERSHIP_TOKEN_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "an ownership token is 1 to %d characters",
		              STORE_OWNERSHIP_TOKEN_MAX);
	bool known = false;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		known |= strcmp(o->state, states[i]) == 0;
	if (!known)
		return pg_err(err, errlen, TERN_EINVAL, "an ownership state is pending, verified, failed or lost");
	if (strcmp(o->method, "") && strcmp(o->method, "txt") && strcmp(o->method, "delegation"))
		return pg_err(err, errlen, TERN_EINVAL, "an ownership method is txt, delegation or none");
	if (!o->evidence || strlen(o->evidence) > STORE_OWNERSHIP_EVIDENCE_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "ownership evidence is at most %d octets of text",
		              STORE_OWNERSHIP_EVIDENCE_MAX);
	return 0;
}

int pg_ownership_put(struct store_txn *bt, const struct store_ownership *o, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t name[NAME_MAXLEN];
	int n, rc = take_claim(o, err, errlen);
	if (rc < 0)
		return rc;
	if ((n = store_take_name(o->name, name, "claimed", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, o->tenant);
	pq_blob(&q, 2, name, (size_t)n);
	pq_text(&q, 3, o->token);
	pq_text(&q, 4, o->state);
	pq_text(&q, 5, o->method);
	pq_text(&q, 6, o->evidence);
	pq_int(&q, 7, o->created ? o->created : t->now);
	pq_int(&q, 8, o->checked);
	pq_int(&q, 9, o->verified);
	rc = pq_run(&q, t, c,
	            "INSERT INTO ownership (tenant, name, token, state, method, evidence, created_at, checked_at,"
	            " verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant, name) DO UPDATE"
	            " SET token = $3, state = $4, method = $5, evidence = $6, checked_at = $8, verified_at = $9",
	            err, errlen);
	rc = rc < 0 ? rc : 0;
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

struct claim_walk {
	store_ownership_fn fn;
	void *arg;
};

static int claim_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct claim_walk *w = arg;
	struct store_ownership o;
	(void)page;
	memset(&o, 0, sizeof(o));
	pq_copy(q, r, 0, o.tenant, sizeof(o.tenant));
	pq_name(q, r, 1, o.name);
	pq_copy(q, r, 2, o.token, sizeof(o.token));
	pq_copy(q, r, 3, o.state, sizeof(o.state));
	pq_copy(q, r, 4, o.method, sizeof(o.method));
	o.evidence = pq_s(q, r, 5);
	o.created = pq_i(q, r, 6);
	o.checked = pq_i(q, r, 7);
	o.verified = pq_i(q, r, 8);
	return w->fn(&o, w->arg);
}

int pg_ownership_list(struct store_txn *bt, const char *tenant, const uint8_t *in, store_ownership_fn fn, void *arg,
                      char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t name[NAME_MAXLEN];
	int n = 0, rc = tenant ? store_take_text(tenant, STORE_TENANT_MAX, "tenant", err, errlen) : 0;
	if (rc < 0)
		return rc;
	if (in && (n = store_take_name(in, name, "claimed", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if (tenant)
		pq_text(&q, 1, tenant);
	else
		pq_null(&q, 1);
	if (in)
		pq_blob(&q, 2, name, (size_t)n);
	else
		pq_null(&q, 2);
	rc = pq_run(&q, t, c,
	            "SELECT tenant, name, token, state, method, evidence, created_at, checked_at, verified_at"
	            " FROM ownership WHERE ($1::text IS NULL OR tenant = $1::text) AND ($2::bytea IS NULL OR name ="
	            " $2::bytea) ORDER BY name, created_at, tenant",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0)
		rc = pq_walk(&q, 0, claim_row, &(struct claim_walk){fn, arg}, NULL);
	pq_clear(&q);
	return rc;
}
