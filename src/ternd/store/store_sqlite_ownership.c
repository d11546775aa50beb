/* The SQLite store's ownership claims: one row per (tenant, name) with the tenant's token, the
 * state of its last verification and that verification's evidence (JSON text the API wrote). */
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

static int take_claim(const struct store_ownership *o, char *err, size_t errlen)
{
	static const char *const states[] = {"pending", "verified", "failed", "lost"};
	int rc = store_take_text(o->tenant, STORE_TENANT_MAX, "tenant", err, errlen);
	if (rc < 0)
		return rc;
	if (!o->token[0] || strlen(o->token) > STORE_OWNERSHIP_TOKEN_MAX)
		return set_err(err, errlen, TERN_EINVAL, "an ownership token is 1 to %d characters",
		               STORE_OWNERSHIP_TOKEN_MAX);
	bool known = false;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		known |= strcmp(o->state, states[i]) == 0;
	if (!known)
		return set_err(err, errlen, TERN_EINVAL, "an ownership state is pending, verified, failed or lost");
	if (strcmp(o->method, "") && strcmp(o->method, "txt") && strcmp(o->method, "delegation"))
		return set_err(err, errlen, TERN_EINVAL, "an ownership method is txt, delegation or none");
	if (!o->evidence || strlen(o->evidence) > STORE_OWNERSHIP_EVIDENCE_MAX)
		return set_err(err, errlen, TERN_EINVAL, "ownership evidence is at most %d octets of text",
		               STORE_OWNERSHIP_EVIDENCE_MAX);
	return 0;
}

int sq_ownership_put(struct store_txn *bt, const struct store_ownership *o, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t name[NAME_MAXLEN];
	int n, rc = take_claim(o, err, errlen);
	if (rc < 0)
		return rc;
	if ((n = store_take_name(o->name, name, "claimed", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_OWNERSHIP_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, o->tenant);
	sq_q_blob(&q, 2, name, (size_t)n);
	sq_q_text(&q, 3, o->token);
	sq_q_text(&q, 4, o->state);
	sq_q_text(&q, 5, o->method);
	sq_q_text(&q, 6, o->evidence);
	sq_q_int(&q, 7, o->created ? o->created : t->now);
	sq_q_int(&q, 8, o->checked);
	sq_q_int(&q, 9, o->verified);
	rc = sq_q_step(&q, err, errlen);
	rc = rc < 0 ? rc : 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int claim_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	(void)page;
	struct store_ownership o;
	memset(&o, 0, sizeof(o));
	sq_col_text(s, 0, o.tenant, sizeof(o.tenant));
	sq_col_name(s, 1, o.name);
	sq_col_text(s, 2, o.token, sizeof(o.token));
	sq_col_text(s, 3, o.state, sizeof(o.state));
	sq_col_text(s, 4, o.method, sizeof(o.method));
	o.evidence = (const char *)sqlite3_column_text(s, 5);
	if (!o.evidence)
		o.evidence = "{}";
	o.created = sqlite3_column_int64(s, 6);
	o.checked = sqlite3_column_int64(s, 7);
	o.verified = sqlite3_column_int64(s, 8);
	return w->ownership(&o, w->arg);
}

int sq_ownership_list(struct store_txn *bt, const char *tenant, const uint8_t *in, store_ownership_fn fn, void *arg,
                      char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t name[NAME_MAXLEN];
	int n = 0, rc = tenant ? store_take_text(tenant, STORE_TENANT_MAX, "tenant", err, errlen) : 0;
	if (rc < 0)
		return rc;
	if (in && (n = store_take_name(in, name, "claimed", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_OWNERSHIP_LIST, err, errlen)) < 0)
		goto fail;
	if (tenant)
		sq_q_text(&q, 1, tenant);
	else
		sq_q_null(&q, 1);
	if (in)
		sq_q_blob(&q, 2, name, (size_t)n);
	else
		sq_q_null(&q, 2);
	rc = sq_walk_rows(&q, 0, claim_row, &(struct walk){.ownership = fn, .arg = arg, .err = err, .errlen = errlen},
	                  NULL, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
