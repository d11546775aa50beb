/* The SQLite store's history: the change journal (RFC 1995 IXFR and zone history) and change
 * proposals for review. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

/* ---- Journal ---- */

static int rr_list_check(const uint8_t *list, size_t len, const char *what, char *err, size_t errlen)
{
	struct store_rr rr;
	size_t pos = 0;
	unsigned n = 0;
	int rc;
	if (len && !list)
		return set_err(err, errlen, TERN_EINVAL, "%s records missing", what);
	while ((rc = store_rr_next(list, len, &pos, &rr)) == 1)
		n++;
	if (rc < 0)
		return set_err(err, errlen, TERN_EMALF, "%s records: record %u is malformed", what, n + 1);
	return 0;
}

static int journal_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_journal_entry e;
	e.id = page->next_id = sqlite3_column_int64(s, 0);
	e.serial_from = (uint32_t)sqlite3_column_int64(s, 1);
	e.serial_to = (uint32_t)sqlite3_column_int64(s, 2);
	e.time = sqlite3_column_int64(s, 3);
	e.principal = (const char *)sqlite3_column_text(s, 4);
	e.removed = sq_col_blob(s, 5, &e.removed_len);
	e.added = sq_col_blob(s, 6, &e.added_len);
	return w->journal(&e, w->arg);
}

int sq_journal_append(struct store_txn *bt, const uint8_t *apex, const struct store_journal_entry *e, int64_t *id,
                      char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = store_take_text(e->principal, STORE_PRINCIPAL_MAX, "principal", err, errlen);
	if (rc < 0 || (rc = rr_list_check(e->removed, e->removed_len, "removed", err, errlen)) < 0 ||
	    (rc = rr_list_check(e->added, e->added_len, "added", err, errlen)) < 0)
		return rc;
	if ((rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_JOURNAL_NEXT_ID, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	if ((rc = sq_q_step(&q, err, errlen)) <= 0) {
		if (rc == 0) /* the row sq_zone_call just found, in this transaction */
			rc = set_err(err, errlen, TERN_EIO, "journal: zone id %" PRId64 " has no row", zid);
		goto fail;
	}
	int64_t entry = sqlite3_column_int64(q.s, 0);
	sq_q_close(&q);
	if ((rc = sq_q_open(&q, t, c, ST_JOURNAL_APPEND, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 8, entry);
	sq_q_int(&q, 2, e->serial_from);
	sq_q_int(&q, 3, e->serial_to);
	sq_q_int(&q, 4, e->time ? e->time : t->now);
	sq_q_text(&q, 5, e->principal);
	sq_q_blob(&q, 6, e->removed, e->removed_len);
	sq_q_blob(&q, 7, e->added, e->added_len);
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	if (id)
		*id = entry;
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* The id of the latest entry starting at serial: 1 found, 0 none, or a negative TERN_E*. */
static int journal_start(struct sq_txn *t, struct conn *c, int64_t zid, uint32_t serial, int64_t *id, char *err,
                         size_t errlen)
{
	struct q q;
	int rc = sq_q_open(&q, t, c, ST_JOURNAL_START, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, serial);
	if ((rc = sq_q_step(&q, err, errlen)) == 1)
		*id = sqlite3_column_int64(q.s, 0);
	sq_q_close(&q);
	return rc;
}

/* Walks the serials from entry start on; *last gets the last entry's id. A gap, or an end other
 * than the zone's serial, means the journal cannot bring a copy up to date. */
static int journal_chain(struct sq_txn *t, struct conn *c, int64_t zid, const uint8_t *lapex, int64_t start,
                         uint32_t zone_serial, int64_t *last, char *err, size_t errlen)
{
	char zn[STORE_NAME_TEXT_MAX];
	struct q q;
	uint32_t prev_to = 0;
	bool first = true;
	int rc = sq_q_open(&q, t, c, ST_JOURNAL_CHAIN, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, start);
	while ((rc = sq_q_step(&q, err, errlen)) == 1) {
		uint32_t from = (uint32_t)sqlite3_column_int64(q.s, 1);
		if (!first && from != prev_to) {
			rc =
			    set_err(err, errlen, TERN_ENOTFOUND,
			            "journal of %s has a gap: serial %" PRIu32 " is followed by a change from %" PRIu32,
			            store_name_text(lapex, zn), prev_to, from);
			goto fail;
		}
		first = false;
		*last = sqlite3_column_int64(q.s, 0);
		prev_to = (uint32_t)sqlite3_column_int64(q.s, 2);
		if (sqlite3_column_int64(q.s, 3) == 0) { /* a whole-zone replacement (store.h): no delta */
			rc = set_err(err, errlen, TERN_ENOTFOUND,
			             "journal of %s: serial %" PRIu32 " to %" PRIu32
			             " replaced the zone whole, and no IXFR crosses it",
			             store_name_text(lapex, zn), from, prev_to);
			goto fail;
		}
	}
	if (rc == 0 && prev_to != zone_serial)
		rc = set_err(err, errlen, TERN_ENOTFOUND,
		             "journal of %s ends at serial %" PRIu32 ", the zone is at %" PRIu32,
		             store_name_text(lapex, zn), prev_to, zone_serial);
fail:
	sq_q_close(&q);
	return rc;
}

int sq_journal_read_from(struct store_txn *bt, const uint8_t *apex, uint32_t serial, store_journal_fn fn, void *arg,
                         char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid, start = 0, last = 0;
	uint32_t zone_serial;
	bool snapshot = false;
	int rc = store_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	/* the checks and the read must see one state of the journal */
	if (!t->conn) {
		if ((rc = sq_exec_sql(c, "BEGIN", err, errlen)) < 0)
			goto fail;
		snapshot = true;
	}
	if ((rc = sq_zone_id(t, c, lapex, &zid, &zone_serial, err, errlen)) < 0)
		goto fail;
	if ((rc = journal_start(t, c, zid, serial, &start, err, errlen)) < 0)
		goto fail;
	if (rc == 0) {
		rc = serial == zone_serial
		         ? 0
		         : set_err(err, errlen, TERN_ENOTFOUND, "journal of %s does not reach back to serial %" PRIu32,
		                   store_name_text(lapex, zn), serial);
		goto fail;
	}
	if ((rc = journal_chain(t, c, zid, lapex, start, zone_serial, &last, err, errlen)) < 0)
		goto fail;
	if ((rc = sq_q_open(&q, t, c, ST_JOURNAL_RANGE, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, start);
	sq_q_int(&q, 3, last);
	rc = sq_walk_rows(&q, 0, journal_row, &(struct walk){.journal = fn, .arg = arg}, NULL, err, errlen);
fail:
	sq_q_close(&q);
	if (snapshot)
		sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	sq_conn_give(t, c);
	return rc;
}

int sq_journal_history(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_journal_fn fn,
                       void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc;
	if (limit == 0)
		return set_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if ((rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_JOURNAL_HISTORY, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, before > 0 ? before : INT64_MAX);
	sq_q_int(&q, 3, (int64_t)limit + 1);
	rc = sq_walk_rows(&q, limit, journal_row, &(struct walk){.journal = fn, .arg = arg}, page, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_journal_trim_keep(struct store_txn *bt, const uint8_t *apex, unsigned keep, char *err, size_t errlen)
{
	return sq_zone_id_write((struct sq_txn *)bt, ST_JOURNAL_TRIM_KEEP, apex, keep, err, errlen);
}

int sq_journal_trim_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid, bound = 0;
	uint32_t zone_serial;
	int rc;
	if ((rc = store_take_name(apex, lapex, "zone", err, errlen)) < 0)
		return rc;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_zone_id(t, c, lapex, &zid, &zone_serial, err, errlen)) < 0)
		goto fail;
	if ((rc = journal_start(t, c, zid, serial, &bound, err, errlen)) < 0)
		goto fail;
	if (rc == 0) {
		/* no change starts at serial: fine if the journal ends there (or is empty at it) */
		if ((rc = sq_q_open(&q, t, c, ST_JOURNAL_LAST, err, errlen)) < 0)
			goto fail;
		sq_q_int(&q, 1, zid);
		if ((rc = sq_q_step(&q, err, errlen)) < 0)
			goto fail;
		if (rc == 1 && (uint32_t)sqlite3_column_int64(q.s, 1) == serial) {
			bound = sqlite3_column_int64(q.s, 0) + 1;
		} else if (rc == 0 && serial == zone_serial) {
			rc = 0;
			goto fail;
		} else {
			rc = set_err(err, errlen, TERN_ENOTFOUND,
			             "journal of %s has no change from or to serial %" PRIu32,
			             store_name_text(lapex, zn), serial);
			goto fail;
		}
		sq_q_close(&q);
	}
	if ((rc = sq_q_open(&q, t, c, ST_JOURNAL_TRIM_BEFORE, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, bound);
	if ((rc = sq_q_step(&q, err, errlen)) > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* ---- Proposals ---- */

static enum store_proposal_status status_from_text(const unsigned char *s)
{
	for (int i = STORE_PROPOSAL_PENDING; i <= STORE_PROPOSAL_APPLIED; i++)
		if (s && strcmp((const char *)s, store_proposal_status_name(i)) == 0)
			return i;
	return STORE_PROPOSAL_ANY;
}

static void proposal_from_row(sqlite3_stmt *s, struct store_proposal *p)
{
	p->id = sqlite3_column_int64(s, 0);
	sq_col_name(s, 1, p->zone);
	sq_col_text(s, 2, p->author, sizeof(p->author));
	p->body = (const char *)sqlite3_column_text(s, 3);
	p->status = status_from_text(sqlite3_column_text(s, 4));
	sq_col_text(s, 5, p->reviewer, sizeof(p->reviewer));
	sq_col_text(s, 6, p->applier, sizeof(p->applier));
	p->created = sqlite3_column_int64(s, 7);
	p->reviewed = sqlite3_column_int64(s, 8);
	p->applied = sqlite3_column_int64(s, 9);
}

int sq_proposal_create(struct store_txn *bt, const uint8_t *apex, const char *author, const char *body, int64_t created,
                       int64_t *id, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = store_take_text(author, STORE_PRINCIPAL_MAX, "author", err, errlen);
	if (rc < 0 || (rc = store_take_text(body, STORE_BODY_MAX, "proposal body", err, errlen)) < 0)
		return rc;
	if ((rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_PROPOSAL_INSERT, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_text(&q, 2, author);
	sq_q_text(&q, 3, body);
	sq_q_int(&q, 4, created ? created : t->now);
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	if (id)
		*id = sqlite3_column_int64(q.s, 0);
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* Reads proposal id on c: 1 with *out filled (body pointing into the statement), or a negative
 * TERN_E* (TERN_ENOTFOUND when absent). */
static int proposal_read(struct q *q, struct sq_txn *t, struct conn *c, int64_t id, struct store_proposal *out,
                         char *err, size_t errlen)
{
	int rc = sq_q_open(q, t, c, ST_PROPOSAL_GET, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_int(q, 1, id);
	if ((rc = sq_q_step(q, err, errlen)) == 1) {
		proposal_from_row(q->s, out);
		return 1;
	}
	return rc < 0 ? rc : set_err(err, errlen, TERN_ENOTFOUND, "no proposal %" PRId64, id);
}

int sq_proposal_get(struct store_txn *bt, int64_t id, struct store_proposal *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = sq_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = proposal_read(&q, t, c, id, out, err, errlen)) < 0)
		goto fail;
	out->body = strdup(out->body ? out->body : "");
	rc = out->body ? 0 : set_err(err, errlen, TERN_ENOMEM, "out of memory");
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int proposal_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_proposal p;
	proposal_from_row(s, &p);
	page->next_id = p.id;
	return w->proposal(&p, w->arg);
}

int sq_proposal_list(struct store_txn *bt, const uint8_t *apex, enum store_proposal_status status, int64_t after,
                     unsigned limit, store_proposal_fn fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc;
	if (limit == 0)
		return set_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if (status < STORE_PROPOSAL_ANY || status > STORE_PROPOSAL_APPLIED)
		return set_err(err, errlen, TERN_EINVAL, "unknown proposal status %d", (int)status);
	if ((rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, status ? ST_PROPOSAL_LIST_STATUS : ST_PROPOSAL_LIST, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, after);
	sq_q_int(&q, 3, (int64_t)limit + 1);
	if (status)
		sq_q_text(&q, 4, store_proposal_status_name(status));
	rc = sq_walk_rows(&q, limit, proposal_row, &(struct walk){.proposal = fn, .arg = arg}, page, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_proposal_set_status(struct store_txn *bt, int64_t id, enum store_proposal_status status, const char *principal,
                           char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct store_proposal p;
	struct conn *c = NULL;
	struct q q = {0};
	enum store_proposal_status need =
	    status == STORE_PROPOSAL_APPLIED ? STORE_PROPOSAL_APPROVED : STORE_PROPOSAL_PENDING;
	int rc = store_take_text(principal, STORE_PRINCIPAL_MAX, "principal", err, errlen);
	if (rc < 0)
		return rc;
	if (status != STORE_PROPOSAL_APPROVED && status != STORE_PROPOSAL_REJECTED && status != STORE_PROPOSAL_APPLIED)
		return set_err(err, errlen, TERN_EINVAL, "a proposal can only be approved, rejected or applied");
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = proposal_read(&q, t, c, id, &p, err, errlen)) < 0)
		goto fail;
	if (p.status != need) {
		rc = set_err(err, errlen, TERN_EINVAL, "proposal %" PRId64 " is %s, not %s", id,
		             store_proposal_status_name(p.status), store_proposal_status_name(need));
		goto fail;
	}
	if (status == STORE_PROPOSAL_APPROVED && strcmp(p.author, principal) == 0) {
		rc = set_err(err, errlen, TERN_EINVAL,
		             "proposal %" PRId64 " was proposed by %s, who cannot approve it: another principal must",
		             id, principal);
		goto fail;
	}
	sq_q_close(&q);
	if ((rc = sq_q_open(&q, t, c, status == STORE_PROPOSAL_APPLIED ? ST_PROPOSAL_APPLY : ST_PROPOSAL_REVIEW, err,
	                    errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, id);
	if (status == STORE_PROPOSAL_APPLIED) {
		sq_q_text(&q, 2, principal);
		sq_q_int(&q, 3, t->now);
	} else {
		sq_q_text(&q, 2, store_proposal_status_name(status));
		sq_q_text(&q, 3, principal);
		sq_q_int(&q, 4, t->now);
	}
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	rc = sqlite3_changes(c->db) ? 0
	                            : set_err(err, errlen, TERN_EINVAL, "proposal %" PRId64 " changed meanwhile", id);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
