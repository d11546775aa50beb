/* The SQLite store's service aliases: a user's name (one service's at most) pointing at a service's
 * canonical domain, its state and the svc thread's reason; gone with the service. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

static int take_service(const char *id, char *err, size_t errlen)
{
	if (!id || strlen(id) != STORE_SERVICE_ID_LEN || strspn(id, "0123456789abcdef-") != STORE_SERVICE_ID_LEN)
		return set_err(err, errlen, TERN_EINVAL, "a service id is a UUID in lower-case text");
	return 0;
}

static int take_state(const char *state, char *err, size_t errlen)
{
	static const char *const known[] = {"pending", "verified", "refused", "lost"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(state, known[i]) == 0)
			return 0;
	return set_err(err, errlen, TERN_EINVAL, "an alias state is pending, verified, refused or lost");
}

int sq_alias_add(struct store_txn *bt, const struct store_alias *a, unsigned limit, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t name[NAME_MAXLEN];
	int n, rc = take_service(a->service, err, errlen);
	if (rc < 0 || (rc = take_state(a->state, err, errlen)) < 0)
		return rc;
	if ((n = store_take_name(a->name, name, "alias", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ALIAS_ADD, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, a->service);
	sq_q_blob(&q, 2, name, (size_t)n);
	sq_q_text(&q, 3, a->state);
	sq_q_text(&q, 4, a->reason);
	sq_q_int(&q, 5, t->now);
	sq_q_int(&q, 6, limit);
	rc = sq_q_step(&q, err, errlen);
	if (rc == TERN_EEXIST) {
		rc = set_err(err, errlen, TERN_EEXIST, "the name is an alias already");
	} else if (rc >= 0 && sqlite3_changes(c->db) == 0) {
		/* no row: the service is gone, or it has limit aliases */
		sq_q_close(&q);
		struct store_service sv;
		rc = sq_service_get(bt, a->service, &sv, err, errlen);
		if (rc == 0) {
			store_service_clear(&sv);
			rc = set_err(err, errlen, TERN_EBUSY, "the service has %u aliases already", limit);
		}
	} else if (rc >= 0) {
		rc = 0;
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int alias_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	(void)page;
	struct store_alias a;
	memset(&a, 0, sizeof(a));
	sq_col_text(s, 0, a.service, sizeof(a.service));
	sq_col_name(s, 1, a.name);
	sq_col_text(s, 2, a.state, sizeof(a.state));
	sq_col_text(s, 3, a.reason, sizeof(a.reason));
	a.created = sqlite3_column_int64(s, 4);
	a.checked = sqlite3_column_int64(s, 5);
	return w->alias(&a, w->arg);
}

int sq_alias_list(struct store_txn *bt, const char *service, store_alias_fn fn, void *arg, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = take_service(service, err, errlen);
	if (rc < 0 || (rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ALIAS_LIST, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, service);
	rc = sq_walk_rows(&q, 0, alias_row, &(struct walk){.alias = fn, .arg = arg}, NULL, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* One statement keyed by (service, name): set (state, reason, checked) or delete. */
static int keyed(struct store_txn *bt, enum stmt id, const struct store_alias *a, const char *service,
                 const uint8_t *in, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	uint8_t name[NAME_MAXLEN];
	char text[STORE_NAME_TEXT_MAX];
	int n, rc = take_service(service, err, errlen);
	if (rc < 0 || (a && (rc = take_state(a->state, err, errlen)) < 0))
		return rc;
	if ((n = store_take_name(in, name, "alias", err, errlen)) < 0)
		return TERN_ENAME;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, id, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, service);
	sq_q_blob(&q, 2, name, (size_t)n);
	if (a) {
		sq_q_text(&q, 3, a->state);
		sq_q_text(&q, 4, a->reason);
		sq_q_int(&q, 5, a->checked);
	}
	if ((rc = sq_q_step(&q, err, errlen)) >= 0)
		rc = sqlite3_changes(c->db)
		         ? 0
		         : set_err(err, errlen, TERN_ENOTFOUND, "no alias %s", store_name_text(name, text));
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_alias_set(struct store_txn *bt, const struct store_alias *a, char *err, size_t errlen)
{
	return keyed(bt, ST_ALIAS_SET, a, a->service, a->name, err, errlen);
}

int sq_alias_delete(struct store_txn *bt, const char *service, const uint8_t *name, char *err, size_t errlen)
{
	return keyed(bt, ST_ALIAS_DELETE, NULL, service, name, err, errlen);
}
