/* The SQLite store's statements: every SQL text the operations run, prepared once per connection
 * and cached, bound, stepped and read back; caller input checked and failures made TERN_E* codes. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

/* Every statement the operations run, prepared once per connection on first use. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_ZONE_GET] = "SELECT " ZONE_COLS " FROM zones WHERE apex = ?1",
    [ST_ZONE_ID] = "SELECT id, serial FROM zones WHERE apex = ?1",
    [ST_ZONE_INSERT] = "INSERT INTO zones (apex, sort_key, tenant, serial, serial_policy, created_at, updated_at,"
                       " signed_downstream) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) RETURNING id",
    /* ?1 is the key just after the cursor (see zone_list), so one statement serves every page */
    [ST_ZONE_LIST] = "SELECT " ZONE_COLS " FROM zones WHERE sort_key >= ?1 ORDER BY sort_key LIMIT ?2",
    [ST_ZONE_LIST_TENANT] = "SELECT " ZONE_COLS " FROM zones WHERE tenant = ?3 AND sort_key >= ?1"
                            " ORDER BY sort_key LIMIT ?2",
    /* the count the triggers keep (schema version 9): one row, however many zones */
    [ST_ZONE_COUNT_TENANT] = "SELECT coalesce((SELECT zones FROM tenant_zones WHERE tenant = ?1), 0)",
    [ST_ZONE_DELETE] = "DELETE FROM zones WHERE apex = ?1",
    [ST_ZONE_RETIRE] = "INSERT INTO past_serials (apex, serial, deleted_at) SELECT apex, serial, ?2 FROM zones"
                       " WHERE apex = ?1 ON CONFLICT (apex) DO UPDATE SET serial = excluded.serial,"
                       " deleted_at = excluded.deleted_at",
    [ST_PAST_SERIAL] = "SELECT serial FROM past_serials WHERE apex = ?1",
    [ST_ZONE_SERIAL] = "UPDATE zones SET serial = ?2, updated_at = ?3 WHERE apex = ?1",
    [ST_ZONE_LOCK] = "UPDATE zones SET locked = ?2, lock_reason = ?3, updated_at = ?4 WHERE apex = ?1",
    [ST_ZONE_DOWNSTREAM] = "UPDATE zones SET signed_downstream = ?2, updated_at = ?3 WHERE apex = ?1",
    [ST_RRSET_PUT] = "INSERT INTO rrsets (zone_id, sort_key, type, owner, ttl, count, rdata, ttls)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (zone_id, sort_key, type)"
                     " DO UPDATE SET ttl = excluded.ttl, count = excluded.count, rdata = excluded.rdata,"
                     " ttls = excluded.ttls",
    [ST_RRSET_GET] = "SELECT ttl, count, rdata, ttls FROM rrsets WHERE zone_id = ?1 AND sort_key = ?2 AND type = ?3",
    [ST_RRSET_DELETE] = "DELETE FROM rrsets WHERE zone_id = ?1 AND sort_key = ?2 AND type = ?3",
    [ST_RRSET_DELETE_ALL] = "DELETE FROM rrsets WHERE zone_id = ?1",
    [ST_RRSET_ALL] = "SELECT owner, type, ttl, count, rdata, ttls FROM rrsets WHERE zone_id = ?1"
                     " ORDER BY sort_key, type",
    /* ?2 zones after the cursor, each with its RRsets (LEFT JOIN: a zone without any still comes) */
    [ST_ZONE_LOAD] = "SELECT " ZONE_COLS ", r.owner, r.type, r.ttl, r.count, r.rdata, r.ttls FROM (SELECT * FROM zones"
                     " WHERE sort_key >= ?1 ORDER BY sort_key LIMIT ?2) AS zones LEFT JOIN rrsets r"
                     " ON r.zone_id = zones.id ORDER BY zones.sort_key, r.sort_key, r.type",
    [ST_JOURNAL_NEXT_ID] = "UPDATE zones SET journal_seq = journal_seq + 1 WHERE id = ?1 RETURNING journal_seq",
    [ST_JOURNAL_APPEND] = "INSERT INTO journal (zone_id, id, serial_from, serial_to, changed_at, principal, removed,"
                          " added) VALUES (?1, ?8, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_JOURNAL_START] = "SELECT id FROM journal WHERE zone_id = ?1 AND serial_from = ?2 ORDER BY id DESC LIMIT 1",
    [ST_JOURNAL_LAST] = "SELECT id, serial_to FROM journal WHERE zone_id = ?1 ORDER BY id DESC LIMIT 1",
    [ST_JOURNAL_CHAIN] = "SELECT id, serial_from, serial_to, length(removed) + length(added) FROM journal"
                         " WHERE zone_id = ?1 AND id >= ?2 ORDER BY id",
    [ST_JOURNAL_RANGE] = "SELECT " JOURNAL_COLS " FROM journal WHERE zone_id = ?1 AND id BETWEEN ?2 AND ?3"
                         " ORDER BY id",
    [ST_JOURNAL_HISTORY] = "SELECT " JOURNAL_COLS " FROM journal WHERE zone_id = ?1 AND id < ?2"
                           " ORDER BY id DESC LIMIT ?3",
    [ST_JOURNAL_TRIM_BEFORE] = "DELETE FROM journal WHERE zone_id = ?1 AND id < ?2",
    [ST_JOURNAL_TRIM_KEEP] = "DELETE FROM journal WHERE zone_id = ?1 AND id <= (SELECT id FROM journal"
                             " WHERE zone_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    [ST_PROPOSAL_INSERT] = "INSERT INTO proposals (zone_id, author, body, status, created_at)"
                           " VALUES (?1, ?2, ?3, 'pending', ?4) RETURNING id",
    [ST_PROPOSAL_GET] = "SELECT " PROPOSAL_COLS " WHERE p.id = ?1",
    [ST_PROPOSAL_LIST] = "SELECT " PROPOSAL_COLS " WHERE p.zone_id = ?1 AND p.id > ?2 ORDER BY p.id LIMIT ?3",
    [ST_PROPOSAL_LIST_STATUS] = "SELECT " PROPOSAL_COLS " WHERE p.zone_id = ?1 AND p.id > ?2 AND p.status = ?4"
                                " ORDER BY p.id LIMIT ?3",
    /* compare-and-set on the status, so two reviewers racing cannot both win */
    [ST_PROPOSAL_REVIEW] = "UPDATE proposals SET status = ?2, reviewer = ?3, reviewed_at = ?4"
                           " WHERE id = ?1 AND status = 'pending'",
    [ST_PROPOSAL_APPLY] = "UPDATE proposals SET status = 'applied', applier = ?2, applied_at = ?3"
                          " WHERE id = ?1 AND status = 'approved'",
    [ST_DNSSEC_GET] = "SELECT " DNSSEC_COLS " FROM dnssec_zones WHERE zone_id = ?1",
    [ST_DNSSEC_PUT] = "INSERT OR REPLACE INTO dnssec_zones (zone_id, " DNSSEC_COLS ")"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
                      " ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
    [ST_DNSSEC_DELETE] = "DELETE FROM dnssec_zones WHERE zone_id = ?1",
    [ST_KEY_INSERT] = "INSERT INTO dnssec_keys (zone_id, " KEY_COLS ")"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                      " RETURNING id",
    /* the private key is read only when ?2 is 1 (the signer's listing) */
    [ST_KEY_LIST] = "SELECT id, " KEY_COLS_PUBLIC ", CASE WHEN ?2 THEN private_key END"
                    " FROM dnssec_keys WHERE zone_id = ?1 ORDER BY id",
    [ST_KEY_UPDATE] = "UPDATE dnssec_keys SET state = ?3, publish_at = ?4, ready_at = ?5, active_at = ?6,"
                      " retire_at = ?7, remove_at = ?8, revoke_at = ?9, use_bits = ?10, since = ?11, ds_seen = ?12"
                      " WHERE zone_id = ?1 AND id = ?2 RETURNING key_tag",
    [ST_KEY_EVENT_INSERT] = "INSERT INTO dnssec_key_journal (zone_id, changed_at, key_tag, from_state, to_state,"
                            " reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_KEY_EVENTS] = "SELECT id, changed_at, key_tag, from_state, to_state, reason FROM dnssec_key_journal"
                      " WHERE zone_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    /* every key but the journal: what a restore replaces (the journal records each key's end) */
    [ST_KEY_DELETE_ALL] = "DELETE FROM dnssec_keys WHERE zone_id = ?1 RETURNING key_tag, state",
    [ST_SERVICE_INSERT] = "INSERT INTO services (" SERVICE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    [ST_SERVICE_UPDATE] = "UPDATE services SET deployment = ?2, updated_at = ?3 WHERE id = ?1",
    [ST_SERVICE_GET] = "SELECT " SERVICE_COLS " FROM services WHERE id = ?1",
    [ST_SERVICE_LIST] = "SELECT " SERVICE_COLS " FROM services WHERE tenant = ?1 ORDER BY created_at, id",
    [ST_SERVICE_COUNT] = "SELECT count(*) FROM services WHERE tenant = ?1",
    [ST_SERVICE_DELETE] = "DELETE FROM services WHERE id = ?1",
    [ST_SETTING_PUT] = "INSERT INTO settings (name, value, updated_at) VALUES (?1, ?2, ?3)"
                       " ON CONFLICT (name) DO UPDATE SET value = ?2, updated_at = ?3",
    [ST_SETTING_GET] = "SELECT value, updated_at FROM settings WHERE name = ?1",
    [ST_USAGE_ADD] = "INSERT INTO usage_days (tenant, day, apex, queries) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (tenant, day, apex) DO UPDATE SET queries = queries + excluded.queries",
    [ST_USAGE_LIST] = "SELECT day, apex, tenant, queries FROM usage_days WHERE tenant = ?1 AND day BETWEEN ?2 AND ?3 "
                      "ORDER BY tenant, day, apex",
    [ST_USAGE_LIST_ALL] = "SELECT day, apex, tenant, queries FROM usage_days WHERE day BETWEEN ?2 AND ?3 "
                          "ORDER BY tenant, day, apex",
    [ST_ACME_ACCOUNT_GET] = "SELECT key_pem FROM acme_account WHERE id = 1",
    [ST_ACME_ACCOUNT_PUT] = "INSERT INTO acme_account (id, key_pem, created_at) VALUES (1, ?1, ?2)",
    /* the private keys only when ?2 is 1 (the ingress, the svc thread) */
    [ST_CERT_GET] = "SELECT service_id, names, state, chain, CASE WHEN ?2 THEN private_key END, not_before,"
                    " not_after, issued_at, order_url, attempts, fail_step, fail_status, fail_message, fail_problem,"
                    " fail_at, next_at, CASE WHEN ?2 THEN ech_key END, ech_config, CASE WHEN ?2 THEN ech_old_key END,"
                    " ech_old_config, ech_rotate_at, ech_drop_at, publish_at, updated_at FROM service_certs"
                    " WHERE service_id = ?1",
    /* only while the service exists: a service deleted meanwhile leaves no row behind */
    [ST_CERT_PUT] =
        "INSERT INTO service_certs (" CERT_COLS ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
        " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24 WHERE EXISTS (SELECT 1 FROM services"
        " WHERE id = ?1) ON CONFLICT (service_id) DO UPDATE SET names = excluded.names,"
        " state = excluded.state, chain = excluded.chain, private_key = excluded.private_key,"
        " not_before = excluded.not_before, not_after = excluded.not_after, issued_at = excluded.issued_at,"
        " order_url = excluded.order_url, attempts = excluded.attempts, fail_step = excluded.fail_step,"
        " fail_status = excluded.fail_status, fail_message = excluded.fail_message,"
        " fail_problem = excluded.fail_problem, fail_at = excluded.fail_at, next_at = excluded.next_at,"
        " ech_key = excluded.ech_key, ech_config = excluded.ech_config, ech_old_key = excluded.ech_old_key,"
        " ech_old_config = excluded.ech_old_config, ech_rotate_at = excluded.ech_rotate_at,"
        " ech_drop_at = excluded.ech_drop_at, publish_at = excluded.publish_at, updated_at = excluded.updated_at",
    [ST_CERT_DUE] =
        "SELECT s.id, s.canonical FROM services s LEFT JOIN service_certs c ON c.service_id = s.id"
        " WHERE c.service_id IS NULL OR c.next_at <= ?1 OR (c.ech_rotate_at > 0 AND c.ech_rotate_at <= ?1)"
        " OR (c.ech_drop_at > 0 AND c.ech_drop_at <= ?1) OR (c.publish_at > 0 AND c.publish_at <= ?1)"
        " OR EXISTS (SELECT 1 FROM service_aliases a WHERE a.service_id = s.id AND a.state = 'pending') LIMIT ?2",
    [ST_CERT_NEXT] = "SELECT min(min(next_at, CASE WHEN ech_rotate_at > 0 THEN ech_rotate_at ELSE next_at END,"
                     " CASE WHEN ech_drop_at > 0 THEN ech_drop_at ELSE next_at END,"
                     " CASE WHEN publish_at > 0 THEN publish_at ELSE next_at END,"
                     " CASE WHEN EXISTS (SELECT 1 FROM service_aliases a WHERE a.service_id = service_certs.service_id"
                     " AND a.state = 'pending') THEN 0 ELSE next_at END)) FROM service_certs",
    /* an alias only while its service exists and has fewer than ?6 */
    [ST_ALIAS_ADD] = "INSERT INTO service_aliases (service_id, name, state, reason, created_at, checked_at)"
                     " SELECT ?1, ?2, ?3, ?4, ?5, 0 WHERE EXISTS (SELECT 1 FROM services WHERE id = ?1) AND"
                     " (SELECT count(*) FROM service_aliases WHERE service_id = ?1) < ?6",
    [ST_ALIAS_LIST] = "SELECT service_id, name, state, reason, created_at, checked_at FROM service_aliases"
                      " WHERE service_id = ?1 ORDER BY created_at, name",
    [ST_ALIAS_SET] = "UPDATE service_aliases SET state = ?3, reason = ?4, checked_at = ?5"
                     " WHERE service_id = ?1 AND name = ?2",
    [ST_ALIAS_DELETE] = "DELETE FROM service_aliases WHERE service_id = ?1 AND name = ?2",
    /* a key only while its tenant has fewer than ?7 */
    [ST_TSIG_KEY_ADD] = "INSERT INTO tsig_keys (name, tenant, algorithm, secret, acl, created_at)"
                        " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE (SELECT count(*) FROM tsig_keys WHERE tenant = ?2) < ?7",
    [ST_TSIG_KEY_LIST] = "SELECT name, tenant, algorithm, secret, acl, created_at FROM tsig_keys WHERE tenant = ?1"
                         " ORDER BY name",
    [ST_TSIG_KEY_LIST_ALL] = "SELECT name, tenant, algorithm, secret, acl, created_at FROM tsig_keys ORDER BY name",
    [ST_TSIG_KEY_DELETE] = "DELETE FROM tsig_keys WHERE tenant = ?1 AND name = ?2",
    [ST_OWNERSHIP_PUT] = "INSERT INTO ownership (tenant, name, token, state, method, evidence, created_at, checked_at,"
                         " verified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (tenant, name) DO"
                         " UPDATE SET token = ?3, state = ?4, method = ?5, evidence = ?6, checked_at = ?8,"
                         " verified_at = ?9",
    /* ?1 NULL: every tenant; ?2 NULL: every name */
    [ST_OWNERSHIP_LIST] = "SELECT tenant, name, token, state, method, evidence, created_at, checked_at, verified_at"
                          " FROM ownership WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR name = ?2)"
                          " ORDER BY name, created_at, tenant",
};

__attribute__((format(printf, 3, 4))) void sq_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* Maps an SQLite failure to a TERN_E* and notes when it took the transaction down with it. */
static int db_error(struct q *q, int src, char *err, size_t errlen)
{
	int code = TERN_EIO;
	if (src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY)
		code = TERN_EEXIST;
	else if ((src & 0xff) == SQLITE_CONSTRAINT)
		code = TERN_EINVAL;
	else if ((src & 0xff) == SQLITE_NOMEM)
		code = TERN_ENOMEM;
	if (q->t && q->t->base.kind == STORE_TXN_WRITE && sqlite3_get_autocommit(q->c->db))
		q->t->aborted = true;
	return set_err(err, errlen, code, "store: %s", sqlite3_errmsg(q->c->db));
}

int sq_q_open(struct q *q, struct sq_txn *t, struct conn *c, enum stmt id, char *err, size_t errlen)
{
	*q = (struct q){.c = c, .t = t, .id = id};
	if (c->stmt[id] && !c->in_use[id]) {
		c->in_use[id] = true;
		q->s = c->stmt[id];
		return 0;
	}
	bool cache = !c->stmt[id];
	int src = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &q->s, NULL);
	if (src != SQLITE_OK)
		return db_error(q, src, err, errlen);
	if (cache) {
		c->stmt[id] = q->s;
		c->in_use[id] = true;
	}
	return 0;
}

void sq_q_close(struct q *q)
{
	if (!q->s)
		return;
	sqlite3_reset(q->s);
	sqlite3_clear_bindings(q->s);
	if (q->s == q->c->stmt[q->id])
		q->c->in_use[q->id] = false;
	else
		sqlite3_finalize(q->s);
	q->s = NULL;
}

/* Binders remember the first failure; sq_q_step reports it. Bound memory must outlive the steps. */
void sq_q_int(struct q *q, int i, int64_t v)
{
	int src = sqlite3_bind_int64(q->s, i, v);
	if (!q->bind_rc)
		q->bind_rc = src;
}

void sq_q_null(struct q *q, int i)
{
	int src = sqlite3_bind_null(q->s, i);
	if (!q->bind_rc)
		q->bind_rc = src;
}

void sq_q_blob(struct q *q, int i, const void *p, size_t n)
{
	/* a NULL pointer would bind SQL NULL: an empty blob needs a real one */
	int src = sqlite3_bind_blob64(q->s, i, n ? p : (const void *)"", n, SQLITE_STATIC);
	if (!q->bind_rc)
		q->bind_rc = src;
}

void sq_q_text(struct q *q, int i, const char *s)
{
	int src = sqlite3_bind_text(q->s, i, s, -1, SQLITE_STATIC);
	if (!q->bind_rc)
		q->bind_rc = src;
}

/* 1 for a row, 0 when done, or a negative TERN_E*. */
int sq_q_step(struct q *q, char *err, size_t errlen)
{
	if (q->bind_rc)
		return db_error(q, q->bind_rc, err, errlen);
	int src = sqlite3_step(q->s);
	if (src == SQLITE_ROW)
		return 1;
	if (src == SQLITE_DONE)
		return 0;
	return db_error(q, src, err, errlen);
}

/* Hands rows to each(). With a limit, the statement was bound with LIMIT limit + 1: at most limit
 * rows are handed on and page (when set) tells whether more follow. A nonzero each() stops. */
int sq_walk_rows(struct q *q, unsigned limit, row_fn each, const struct walk *w, struct store_page *page, char *err,
                 size_t errlen)
{
	struct store_page scratch = {0};
	unsigned n = 0;
	int rc;
	page = page ? page : &scratch;
	*page = (struct store_page){0};
	while ((rc = sq_q_step(q, err, errlen)) == 1) {
		if (limit && n++ == limit) {
			page->more = true;
			return 0;
		}
		if ((rc = each(q->s, w, page)) != 0)
			return rc;
	}
	return rc;
}

const uint8_t *sq_col_blob(sqlite3_stmt *s, int i, size_t *len)
{
	const uint8_t *p = sqlite3_column_blob(s, i);
	*len = (size_t)sqlite3_column_bytes(s, i);
	return p;
}

void sq_col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(s, i);
	snprintf(out, cap, "%s", p ? (const char *)p : "");
}

void sq_col_name(sqlite3_stmt *s, int i, uint8_t out[NAME_MAXLEN])
{
	size_t n;
	const uint8_t *p = sq_col_blob(s, i, &n);
	if (!p || n == 0 || n > NAME_MAXLEN || name_check(p, n) != (int)n) {
		out[0] = 0;
		return;
	}
	memcpy(out, p, n);
}

/* Runs one SQL text outside the statement cache (transaction control, migrations). */
int sq_exec_sql(struct conn *c, const char *sql, char *err, size_t errlen)
{
	int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (src == SQLITE_OK)
		return 0;
	if (src == SQLITE_BUSY || (src & 0xff) == SQLITE_BUSY)
		return set_err(err, errlen, TERN_EIO, "store: the database stayed locked by another writer for %d ms",
		               BUSY_TIMEOUT_MS);
	return set_err(err, errlen, (src & 0xff) == SQLITE_NOMEM ? TERN_ENOMEM : TERN_EIO, "store: %s",
	               sqlite3_errmsg(c->db));
}
