/* The SQLite store's services: one row per service (id, tenant, canonical name, deployment JSON,
 * times), written in the transaction of the zone change that serves the service's answers. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

/* An id as the store keeps it: 36 characters of lower-case hexadecimal and '-' (a UUID's text). */
static int take_id(const char *id, char *err, size_t errlen)
{
	if (!id || strlen(id) != STORE_SERVICE_ID_LEN || strspn(id, "0123456789abcdef-") != STORE_SERVICE_ID_LEN)
		return set_err(err, errlen, TERN_EINVAL, "a service id is a UUID in lower-case text");
	return 0;
}

static void service_from_row(sqlite3_stmt *s, struct store_service *out)
{
	sq_col_text(s, 0, out->id, sizeof(out->id));
	sq_col_text(s, 1, out->tenant, sizeof(out->tenant));
	sq_col_name(s, 2, out->canonical);
	out->deployment = (const char *)sqlite3_column_text(s, 3);
	out->created = sqlite3_column_int64(s, 4);
	out->updated = sqlite3_column_int64(s, 5);
}

int sq_service_put(struct store_txn *bt, const struct store_service *s, bool create, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t canonical[NAME_MAXLEN];
	int n, rc = take_id(s->id, err, errlen);
	if (rc < 0 || (rc = store_take_text(s->deployment, STORE_BODY_MAX, "deployment", err, errlen)) < 0)
		return rc;
	if (create && ((rc = store_take_text(s->tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0 ||
	               (n = store_take_name(s->canonical, canonical, "canonical", err, errlen)) < 0))
		return rc < 0 ? rc : TERN_ENAME;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, create ? ST_SERVICE_INSERT : ST_SERVICE_UPDATE, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, s->id);
	if (create) {
		sq_q_text(&q, 2, s->tenant);
		sq_q_blob(&q, 3, canonical, (size_t)n);
		sq_q_text(&q, 4, s->deployment);
		sq_q_int(&q, 5, t->now);
	} else {
		sq_q_text(&q, 2, s->deployment);
		sq_q_int(&q, 3, t->now);
	}
	rc = sq_q_step(&q, err, errlen);
	if (rc == TERN_EEXIST)
		rc = set_err(err, errlen, TERN_EEXIST, "service %s or its canonical name exists", s->id);
	else if (rc >= 0)
		rc =
		    create || sqlite3_changes(c->db) ? 0 : set_err(err, errlen, TERN_ENOTFOUND, "no service %s", s->id);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_service_get(struct store_txn *bt, const char *id, struct store_service *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = take_id(id, err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_SERVICE_GET, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, id);
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0) {
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no service %s", id);
	} else if (rc == 1) {
		service_from_row(q.s, out);
		out->deployment = strdup(out->deployment ? out->deployment : "");
		rc = out->deployment ? 0 : set_err(err, errlen, TERN_ENOMEM, "out of memory");
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int service_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	(void)page;
	struct store_service sv;
	service_from_row(s, &sv);
	return w->service(&sv, w->arg);
}

int sq_service_list(struct store_txn *bt, const char *tenant, store_service_fn fn, void *arg, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_SERVICE_LIST, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, tenant);
	rc = sq_walk_rows(&q, 0, service_row, &(struct walk){.service = fn, .arg = arg}, NULL, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_service_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_SERVICE_COUNT, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, tenant);
	if ((rc = sq_q_step(&q, err, errlen)) == 1) {
		*n = (uint64_t)sqlite3_column_int64(q.s, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = set_err(err, errlen, TERN_EIO, "counting the services of a tenant gave no row");
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_service_delete(struct store_txn *bt, const char *id, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = take_id(id, err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_SERVICE_DELETE, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, id);
	if ((rc = sq_q_step(&q, err, errlen)) >= 0)
		rc = sqlite3_changes(c->db) ? 0 : set_err(err, errlen, TERN_ENOTFOUND, "no service %s", id);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
