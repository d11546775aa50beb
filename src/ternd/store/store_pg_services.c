/* The PostgreSQL store's service rows: services (deployment JSON), settings, the ACME account key,
 * each service's certificate and ECH keys, and its aliases (all gone with the service). */
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

#define SERVICE_COLS "id, tenant, canonical, deployment, created_at, updated_at"
#define SETTING_NAME_MAX 256
#define PEM_MAX (64 * 1024) /* a chain, a key, a problem document */

static int take_id(const char *id, char *err, size_t errlen)
{
	if (!id || strlen(id) != STORE_SERVICE_ID_LEN || strspn(id, "0123456789abcdef-") != STORE_SERVICE_ID_LEN)
		return pg_err(err, errlen, TERN_EINVAL, "a service id is a UUID in lower-case text");
	return 0;
}

/* ---- Services ---- */

static void service_from_row(const struct pq *q, int r, struct store_service *out)
{
	pq_copy(q, r, 0, out->id, sizeof(out->id));
	pq_copy(q, r, 1, out->tenant, sizeof(out->tenant));
	pq_name(q, r, 2, out->canonical);
	out->deployment = pq_s(q, r, 3);
	out->created = pq_i(q, r, 4);
	out->updated = pq_i(q, r, 5);
}

int pg_service_put(struct store_txn *bt, const struct store_service *s, bool create, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t canonical[NAME_MAXLEN];
	int n = 0, rc = take_id(s->id, err, errlen);
	if (rc < 0 || (rc = store_take_text(s->deployment, STORE_BODY_MAX, "deployment", err, errlen)) < 0)
		return rc;
	if (create && ((rc = store_take_text(s->tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0 ||
	               (n = store_take_name(s->canonical, canonical, "canonical", err, errlen)) < 0))
		return rc < 0 ? rc : TERN_ENAME;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, s->id);
	if (create) {
		pq_text(&q, 2, s->tenant);
		pq_blob(&q, 3, canonical, (size_t)n);
		pq_text(&q, 4, s->deployment);
		pq_int(&q, 5, t->now);
		/* a taken id or canonical name: no row rather than an error, so the transaction goes on */
		rc = pq_run(&q, t, c,
		            "INSERT INTO services (" SERVICE_COLS
		            ") VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
		            err, errlen);
		if (rc >= 0)
			rc = q.changes
			         ? 0
			         : pg_err(err, errlen, TERN_EEXIST, "service %s or its canonical name exists", s->id);
	} else {
		pq_text(&q, 2, s->deployment);
		pq_int(&q, 3, t->now);
		rc =
		    pq_run(&q, t, c, "UPDATE services SET deployment = $2, updated_at = $3 WHERE id = $1", err, errlen);
		if (rc >= 0)
			rc = q.changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no service %s", s->id);
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_service_get(struct store_txn *bt, const char *id, struct store_service *out, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = take_id(id, err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, id);
	rc = pq_run(&q, t, c, "SELECT " SERVICE_COLS " FROM services WHERE id = $1", err, errlen);
	if (rc == 0) {
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no service %s", id);
	} else if (rc > 0) {
		service_from_row(&q, 0, out);
		out->deployment = strdup(out->deployment);
		rc = out->deployment ? 0 : pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static int service_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_service_fn fn;
		void *arg;
	} *w = arg;
	struct store_service sv;
	(void)page;
	service_from_row(q, r, &sv);
	return w->fn(&sv, w->arg);
}

int pg_service_list(struct store_txn *bt, const char *tenant, store_service_fn fn, void *arg, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, tenant);
	rc = pq_run(&q, t, c, "SELECT " SERVICE_COLS " FROM services WHERE tenant = $1 ORDER BY created_at, id", err,
	            errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_service_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, 0, service_row, &w, NULL);
	}
	pq_clear(&q);
	return rc;
}

int pg_service_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, tenant);
	rc = pq_run(&q, t, c, "SELECT count(*) FROM services WHERE tenant = $1", err, errlen);
	if (rc == 1) {
		*n = (uint64_t)pq_i(&q, 0, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = pg_err(err, errlen, TERN_EIO, "counting the services of a tenant gave no row");
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_service_delete(struct store_txn *bt, const char *id, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = take_id(id, err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, id);
	if ((rc = pq_run(&q, t, c, "DELETE FROM services WHERE id = $1", err, errlen)) >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no service %s", id);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* ---- Settings ---- */

int pg_setting_put(struct store_txn *bt, const char *name, const void *value, size_t len, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = store_take_text(name, SETTING_NAME_MAX, "setting name", err, errlen);
	if (rc < 0)
		return rc;
	if (len > STORE_SETTING_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "setting %s: %zu bytes is more than %u", name, len,
		              STORE_SETTING_MAX);
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, name);
	pq_blob(&q, 2, value, len);
	pq_int(&q, 3, t->now);
	rc = pq_run(&q, t, c,
	            "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)"
	            " ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
	            err, errlen);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc < 0 ? rc : 0;
}

int pg_setting_get(struct store_txn *bt, const char *name, void **value, size_t *len, int64_t *updated, char *err,
                   size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	*value = NULL;
	*len = 0;
	int rc = store_take_text(name, SETTING_NAME_MAX, "setting name", err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, name);
	rc = pq_run(&q, t, c, "SELECT value, updated_at FROM settings WHERE name = $1", err, errlen);
	if (rc == 0) {
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no setting %s", name);
	} else if (rc > 0) {
		size_t n = 0;
		const uint8_t *b = pq_b(&q, 0, 0, &n);
		char *copy = malloc(n + 1);
		if (copy) {
			if (n)
				memcpy(copy, b, n);
			copy[n] = 0;
			*value = copy;
			*len = n;
			if (updated)
				*updated = pq_i(&q, 0, 1);
		}
		rc = copy ? 0 : pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* ---- The ACME account and service certificates ---- */

int pg_acme_account_get(struct store_txn *bt, char **pem, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = pg_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	rc = pq_run(&q, t, c, "SELECT key_pem FROM acme_account WHERE id = 1", err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no ACME account key stored");
	else if (rc > 0)
		rc = (*pem = strdup(pq_s(&q, 0, 0))) ? 0 : pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_acme_account_put(struct store_txn *bt, const char *pem, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = store_take_text(pem, PEM_MAX, "the account key", err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, pem);
	pq_int(&q, 2, t->now);
	rc = pq_run(&q, t, c,
	            "INSERT INTO acme_account (id, key_pem, created_at) VALUES (1, $1, $2) ON CONFLICT DO NOTHING", err,
	            errlen);
	if (rc >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_EEXIST, "an ACME account key is stored already");
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static bool col_dup(const struct pq *q, int col, char **out)
{
	*out = pq_isnull(q, 0, col) ? NULL : strdup(pq_s(q, 0, col));
	return pq_isnull(q, 0, col) || *out;
}

static void col_fixed(const struct pq *q, int col, uint8_t *out, size_t cap, size_t *len)
{
	size_t n;
	const uint8_t *p = pq_b(q, 0, col, &n);
	*len = p && n <= cap ? n : 0;
	if (*len)
		memcpy(out, p, *len);
}

static int cert_from_row(const struct pq *q, struct store_cert *out)
{
	memset(out, 0, sizeof(*out));
	pq_copy(q, 0, 0, out->service, sizeof(out->service));
	pq_copy(q, 0, 1, out->names, sizeof(out->names));
	pq_copy(q, 0, 2, out->state, sizeof(out->state));
	bool ok = col_dup(q, 3, &out->chain) && col_dup(q, 4, &out->key);
	out->not_before = pq_i(q, 0, 5);
	out->not_after = pq_i(q, 0, 6);
	out->issued_at = pq_i(q, 0, 7);
	pq_copy(q, 0, 8, out->order_url, sizeof(out->order_url));
	out->attempts = pq_i(q, 0, 9);
	pq_copy(q, 0, 10, out->fail_step, sizeof(out->fail_step));
	out->fail_status = (int)pq_i(q, 0, 11);
	pq_copy(q, 0, 12, out->fail_message, sizeof(out->fail_message));
	ok = ok && col_dup(q, 13, &out->fail_problem);
	out->fail_at = pq_i(q, 0, 14);
	out->next_at = pq_i(q, 0, 15);
	size_t n;
	col_fixed(q, 16, out->ech_key, sizeof(out->ech_key), &n);
	col_fixed(q, 17, out->ech_config, sizeof(out->ech_config), &out->ech_config_len);
	col_fixed(q, 18, out->ech_old_key, sizeof(out->ech_old_key), &n);
	col_fixed(q, 19, out->ech_old_config, sizeof(out->ech_old_config), &out->ech_old_config_len);
	out->ech_rotate_at = pq_i(q, 0, 20);
	out->ech_drop_at = pq_i(q, 0, 21);
	out->publish_at = pq_i(q, 0, 22);
	if (!ok)
		store_cert_clear(out);
	return ok ? 0 : TERN_ENOMEM;
}

int pg_cert_get(struct store_txn *bt, const char *service, bool keys, struct store_cert *out, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	memset(out, 0, sizeof(*out));
	int rc = take_id(service, err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, service);
	pq_int(&q, 2, keys);
	/* the private keys only when $2 is 1 (the ingress, the svc thread) */
	rc = pq_run(&q, t, c,
	            "SELECT service_id, names, state, chain, CASE WHEN $2::int = 1 THEN private_key END, not_before,"
	            " not_after, issued_at, order_url, attempts, fail_step, fail_status, fail_message, fail_problem,"
	            " fail_at, next_at, CASE WHEN $2::int = 1 THEN ech_key END, ech_config,"
	            " CASE WHEN $2::int = 1 THEN ech_old_key END, ech_old_config, ech_rotate_at, ech_drop_at,"
	            " publish_at, updated_at FROM service_certs WHERE service_id = $1",
	            err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no certificate for service %s", service);
	else if (rc > 0)
		rc = cert_from_row(&q, out) < 0 ? pg_err(err, errlen, TERN_ENOMEM, "out of memory") : 0;
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static void text_or_null(struct pq *q, int i, const char *s)
{
	if (s && *s)
		pq_text(q, i, s);
	else
		pq_null(q, i);
}

static void blob_or_null(struct pq *q, int i, const uint8_t *p, size_t n)
{
	if (n)
		pq_blob(q, i, p, n);
	else
		pq_null(q, i);
}

int pg_cert_put(struct store_txn *bt, const struct store_cert *cr, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = take_id(cr->service, err, errlen);
	if (rc < 0 || (rc = store_take_text(cr->names, STORE_CERT_TEXT_MAX, "names", err, errlen)) < 0 ||
	    (rc = store_take_text(cr->state, sizeof(cr->state) - 1, "state", err, errlen)) < 0)
		return rc;
	if ((cr->chain && strlen(cr->chain) > PEM_MAX) || (cr->key && strlen(cr->key) > PEM_MAX) ||
	    (cr->fail_problem && strlen(cr->fail_problem) > PEM_MAX))
		return pg_err(err, errlen, TERN_EINVAL, "a chain, key or problem document is over %d bytes", PEM_MAX);
	if (cr->ech_config_len > sizeof(cr->ech_config) || cr->ech_old_config_len > sizeof(cr->ech_old_config))
		return pg_err(err, errlen, TERN_EINVAL, "an ECH config is over %zu bytes", sizeof(cr->ech_config));
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, cr->service);
	pq_text(&q, 2, cr->names);
	pq_text(&q, 3, cr->state);
	text_or_null(&q, 4, cr->chain);
	text_or_null(&q, 5, cr->key);
	pq_int(&q, 6, cr->not_before);
	pq_int(&q, 7, cr->not_after);
	pq_int(&q, 8, cr->issued_at);
	text_or_null(&q, 9, cr->order_url);
	pq_int(&q, 10, cr->attempts);
	text_or_null(&q, 11, cr->fail_step);
	pq_int(&q, 12, cr->fail_status);
	text_or_null(&q, 13, cr->fail_message);
	text_or_null(&q, 14, cr->fail_problem);
	pq_int(&q, 15, cr->fail_at);
	pq_int(&q, 16, cr->next_at);
	blob_or_null(&q, 17, cr->ech_key, cr->ech_config_len ? sizeof(cr->ech_key) : 0);
	blob_or_null(&q, 18, cr->ech_config, cr->ech_config_len);
	blob_or_null(&q, 19, cr->ech_old_key, cr->ech_old_config_len ? sizeof(cr->ech_old_key) : 0);
	blob_or_null(&q, 20, cr->ech_old_config, cr->ech_old_config_len);
	pq_int(&q, 21, cr->ech_rotate_at);
	pq_int(&q, 22, cr->ech_drop_at);
	pq_int(&q, 23, cr->publish_at);
	pq_int(&q, 24, t->now);
	/* only while the service exists: a service deleted meanwhile leaves no row behind */
	rc = pq_run(
	    &q, t, c,
	    "INSERT INTO service_certs (service_id, names, state, chain, private_key, not_before, not_after, issued_at,"
	    " order_url, attempts, fail_step, fail_status, fail_message, fail_problem, fail_at, next_at, ech_key,"
	    " ech_config, ech_old_key, ech_old_config, ech_rotate_at, ech_drop_at, publish_at, updated_at)"
	    " SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, $8::bigint, $9::text,"
	    " $10::bigint, $11::text, $12::bigint, $13::text, $14::text, $15::bigint, $16::bigint, $17::bytea,"
	    " $18::bytea, $19::bytea, $20::bytea, $21::bigint, $22::bigint, $23::bigint, $24::bigint"
	    " WHERE EXISTS (SELECT 1 FROM services WHERE id = $1::text) ON CONFLICT (service_id) DO UPDATE SET"
	    " names = excluded.names, state = excluded.state, chain = excluded.chain,"
	    " private_key = excluded.private_key, not_before = excluded.not_before, not_after = excluded.not_after,"
	    " issued_at = excluded.issued_at, order_url = excluded.order_url, attempts = excluded.attempts,"
	    " fail_step = excluded.fail_step, fail_status = excluded.fail_status,"
	    " fail_message = excluded.fail_message, fail_problem = excluded.fail_problem, fail_at = excluded.fail_at,"
	    " next_at = excluded.next_at, ech_key = excluded.ech_key, ech_config = excluded.ech_config,"
	    " ech_old_key = excluded.ech_old_key, ech_old_config = excluded.ech_old_config,"
	    " ech_rotate_at = excluded.ech_rotate_at, ech_drop_at = excluded.ech_drop_at,"
	    " publish_at = excluded.publish_at, updated_at = excluded.updated_at",
	    err, errlen);
	if (rc >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no service %s", cr->service);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static int due_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_cert_due_fn fn;
		void *arg;
	} *w = arg;
	char id[STORE_SERVICE_ID_LEN + 1];
	uint8_t canonical[NAME_MAXLEN];
	(void)page;
	pq_copy(q, r, 0, id, sizeof(id));
	pq_name(q, r, 1, canonical);
	return w->fn(id, canonical, w->arg);
}

int pg_cert_due(struct store_txn *bt, int64_t now, unsigned limit, store_cert_due_fn fn, void *arg, char *err,
                size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = pg_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, now);
	pq_int(&q, 2, limit);
	rc = pq_run(&q, t, c,
	            "SELECT s.id, s.canonical FROM services s LEFT JOIN service_certs c ON c.service_id = s.id"
	            " WHERE c.service_id IS NULL OR c.next_at <= $1 OR (c.ech_rotate_at > 0 AND c.ech_rotate_at <= $1)"
	            " OR (c.ech_drop_at > 0 AND c.ech_drop_at <= $1) OR (c.publish_at > 0 AND c.publish_at <= $1)"
	            " OR EXISTS (SELECT 1 FROM service_aliases a WHERE a.service_id = s.id AND a.state = 'pending')"
	            " LIMIT $2",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_cert_due_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, 0, due_row, &w, NULL);
	}
	pq_clear(&q);
	return rc;
}

int pg_cert_next(struct store_txn *bt, int64_t *at, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = pg_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	rc = pq_run(&q, t, c,
	            "SELECT min(LEAST(next_at, CASE WHEN ech_rotate_at > 0 THEN ech_rotate_at ELSE next_at END,"
	            " CASE WHEN ech_drop_at > 0 THEN ech_drop_at ELSE next_at END,"
	            " CASE WHEN publish_at > 0 THEN publish_at ELSE next_at END,"
	            " CASE WHEN EXISTS (SELECT 1 FROM service_aliases a WHERE a.service_id = service_certs.service_id"
	            " AND a.state = 'pending') THEN 0 ELSE next_at END)) FROM service_certs",
	            err, errlen);
	if (rc >= 0) {
		*at = rc == 0 || pq_isnull(&q, 0, 0) ? INT64_MAX : pq_i(&q, 0, 0);
		rc = 0;
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* ---- Aliases ---- */

static int take_state(const char *state, char *err, size_t errlen)
{
	static const char *const known[] = {"pending", "verified", "refused", "lost"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(state, known[i]) == 0)
			return 0;
	return pg_err(err, errlen, TERN_EINVAL, "an alias state is pending, verified, refused or lost");
}

int pg_alias_add(struct store_txn *bt, const struct store_alias *a, unsigned limit, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t name[NAME_MAXLEN];
	int n, rc = take_id(a->service, err, errlen);
	if (rc < 0 || (rc = take_state(a->state, err, errlen)) < 0)
		return rc;
	if ((n = store_take_name(a->name, name, "alias", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_blob(&q, 1, name, (size_t)n);
	if ((rc = pq_run(&q, t, c, "SELECT 1 FROM service_aliases WHERE name = $1", err, errlen)) > 0)
		rc = pg_err(err, errlen, TERN_EEXIST, "the name is an alias already");
	pq_clear(&q);
	if (rc < 0)
		goto fail;
	pq_text(&q, 1, a->service);
	pq_blob(&q, 2, name, (size_t)n);
	pq_text(&q, 3, a->state);
	pq_text(&q, 4, a->reason);
	pq_int(&q, 5, t->now);
	pq_int(&q, 6, limit);
	/* an alias only while its service exists and has fewer than $6 */
	rc = pq_run(
	    &q, t, c,
	    "INSERT INTO service_aliases (service_id, name, state, reason, created_at, checked_at)"
	    " SELECT $1::text, $2::bytea, $3::text, $4::text, $5::bigint, 0 WHERE EXISTS (SELECT 1 FROM services"
	    " WHERE id = $1::text) AND (SELECT count(*) FROM service_aliases WHERE service_id = $1::text) < $6::bigint"
	    " ON CONFLICT DO NOTHING",
	    err, errlen);
	if (rc >= 0 && q.changes == 0) {
		struct store_service sv;
		pq_clear(&q);
		pg_conn_give(t, c);
		c = NULL;
		rc = pg_service_get(bt, a->service, &sv, err, errlen);
		if (rc == 0) {
			store_service_clear(&sv);
			rc = pg_err(err, errlen, TERN_EBUSY, "the service has %u aliases already", limit);
		}
	} else if (rc >= 0) {
		rc = 0;
	}
fail:
	pq_clear(&q);
	if (c)
		pg_conn_give(t, c);
	return rc;
}

static int alias_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_alias_fn fn;
		void *arg;
	} *w = arg;
	struct store_alias a;
	(void)page;
	memset(&a, 0, sizeof(a));
	pq_copy(q, r, 0, a.service, sizeof(a.service));
	pq_name(q, r, 1, a.name);
	pq_copy(q, r, 2, a.state, sizeof(a.state));
	pq_copy(q, r, 3, a.reason, sizeof(a.reason));
	a.created = pq_i(q, r, 4);
	a.checked = pq_i(q, r, 5);
	return w->fn(&a, w->arg);
}

int pg_alias_list(struct store_txn *bt, const char *service, store_alias_fn fn, void *arg, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = take_id(service, err, errlen);
	if (rc < 0 || (rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, service);
	rc = pq_run(&q, t, c,
	            "SELECT service_id, name, state, reason, created_at, checked_at FROM service_aliases"
	            " WHERE service_id = $1 ORDER BY created_at, name",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_alias_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, 0, alias_row, &w, NULL);
	}
	pq_clear(&q);
	return rc;
}

/* One statement keyed by ($1 service, $2 name): set (state, reason, checked) or delete. */
static int keyed(struct store_txn *bt, const char *sql, const struct store_alias *a, const char *service,
                 const uint8_t *in, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	uint8_t name[NAME_MAXLEN];
	char text[STORE_NAME_TEXT_MAX];
	int n, rc = take_id(service, err, errlen);
	if (rc < 0 || (a && (rc = take_state(a->state, err, errlen)) < 0))
		return rc;
	if ((n = store_take_name(in, name, "alias", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, service);
	pq_blob(&q, 2, name, (size_t)n);
	if (a) {
		pq_text(&q, 3, a->state);
		pq_text(&q, 4, a->reason);
		pq_int(&q, 5, a->checked);
	}
	if ((rc = pq_run(&q, t, c, sql, err, errlen)) >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no alias %s", store_name_text(name, text));
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_alias_set(struct store_txn *bt, const struct store_alias *a, char *err, size_t errlen)
{
	return keyed(bt,
	             "UPDATE service_aliases SET state = $3, reason = $4, checked_at = $5 WHERE service_id = $1"
	             " AND name = $2",
	             a, a->service, a->name, err, errlen);
}

int pg_alias_delete(struct store_txn *bt, const char *service, const uint8_t *name, char *err, size_t errlen)
{
	return keyed(bt, "DELETE FROM service_aliases WHERE service_id = $1 AND name = $2", NULL, service, name, err,
	             errlen);
}
