/* The PostgreSQL store's history: the change journal (RFC 1995 IXFR and zone history) and change
 * proposals for review. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#define JOURNAL_COLS "id, serial_from, serial_to, changed_at, principal, removed, added"
#define PROPOSAL_COLS                                                                                                  \
	"p.id, z.apex, p.author, p.body, p.status, p.reviewer, p.applier, p.created_at, p.reviewed_at, p.applied_at "  \
	"FROM proposals p JOIN zones z ON z.id = p.zone_id"

/* ---- Journal ---- */

static int rr_list_check(const uint8_t *list, size_t len, const char *what, char *err, size_t errlen)
{
	struct store_rr rr;
	size_t pos = 0;
	unsigned n = 0;
	int rc;
	if (len && !list)
		return pg_err(err, errlen, TERN_EINVAL, "%s records missing", what);
	while ((rc = store_rr_next(list, len, &pos, &rr)) == 1)
		n++;
	if (rc < 0)
		return pg_err(err, errlen, TERN_EMALF, "%s records: record %u is malformed", what, n + 1);
	return 0;
}

static int journal_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_journal_fn fn;
		void *arg;
	} *w = arg;
	struct store_journal_entry e;
	e.id = page->next_id = pq_i(q, r, 0);
	e.serial_from = (uint32_t)pq_i(q, r, 1);
	e.serial_to = (uint32_t)pq_i(q, r, 2);
	e.time = pq_i(q, r, 3);
	e.principal = pq_s(q, r, 4);
	e.removed = pq_b(q, r, 5, &e.removed_len);
	e.added = pq_b(q, r, 6, &e.added_len);
	return w->fn(&e, w->arg);
}

int pg_journal_append(struct store_txn *bt, const uint8_t *apex, const struct store_journal_entry *e, int64_t *id,
                      char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = store_take_text(e->principal, STORE_PRINCIPAL_MAX, "principal", err, errlen);
	if (rc < 0 || (rc = rr_list_check(e->removed, e->removed_len, "removed", err, errlen)) < 0 ||
	    (rc = rr_list_check(e->added, e->added_len, "added", err, errlen)) < 0)
		return rc;
	if ((rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	/* the id from the zone row's counter, drawn and used in one statement */
	pq_int(&q, 1, zid);
	pq_int(&q, 2, e->serial_from);
	pq_int(&q, 3, e->serial_to);
	pq_int(&q, 4, e->time ? e->time : t->now);
	pq_text(&q, 5, e->principal);
	pq_blob(&q, 6, e->removed, e->removed_len);
	pq_blob(&q, 7, e->added, e->added_len);
	rc =
	    pq_run(&q, t, c,
	           "WITH seq AS (UPDATE zones SET journal_seq = journal_seq + 1 WHERE id = $1 RETURNING journal_seq)"
	           " INSERT INTO journal (zone_id, id, serial_from, serial_to, changed_at, principal, removed, added)"
	           " SELECT $1::bigint, journal_seq, $2::bigint, $3::bigint, $4::bigint, $5::text, $6::bytea, $7::bytea"
	           " FROM seq RETURNING id",
	           err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_EIO, "journal: zone id %" PRId64 " has no row", zid);
	if (rc > 0) {
		if (id)
			*id = pq_i(&q, 0, 0);
		rc = 0;
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* The id of the latest entry starting at serial: 1 found, 0 none, or a negative TERN_E*. */
static int journal_start(struct pg_txn *t, struct pconn *c, int64_t zid, uint32_t serial, int64_t *id, char *err,
                         size_t errlen)
{
	struct pq q = {0};
	pq_int(&q, 1, zid);
	pq_int(&q, 2, serial);
	int rc =
	    pq_run(&q, t, c, "SELECT id FROM journal WHERE zone_id = $1 AND serial_from = $2 ORDER BY id DESC LIMIT 1",
	           err, errlen);
	if (rc == 1)
		*id = pq_i(&q, 0, 0);
	pq_clear(&q);
	return rc;
}

static int journal_chain(struct pg_txn *t, struct pconn *c, int64_t zid, const uint8_t *lapex, int64_t start,
                         uint32_t zone_serial, int64_t *last, char *err, size_t errlen)
{
	char zn[STORE_NAME_TEXT_MAX];
	struct pq q = {0};
	uint32_t prev_to = 0;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, start);
	int rc = pq_run(&q, t, c,
	                "SELECT id, serial_from, serial_to, octet_length(removed) + octet_length(added) FROM journal"
	                " WHERE zone_id = $1 AND id >= $2 ORDER BY id",
	                err, errlen);
	for (int r = 0; rc >= 0 && r < q.rows; r++) {
		uint32_t from = (uint32_t)pq_i(&q, r, 1);
		if (r > 0 && from != prev_to) {
			rc = pg_err(err, errlen, TERN_ENOTFOUND,
			            "journal of %s has a gap: serial %" PRIu32 " is followed by a change from %" PRIu32,
			            store_name_text(lapex, zn), prev_to, from);
			break;
		}
		*last = pq_i(&q, r, 0);
		prev_to = (uint32_t)pq_i(&q, r, 2);
		if (pq_i(&q, r, 3) == 0) {
			rc = pg_err(err, errlen, TERN_ENOTFOUND,
			            "journal of %s: serial %" PRIu32 " to %" PRIu32
			            " replaced the zone whole, and no IXFR crosses it",
			            store_name_text(lapex, zn), from, prev_to);
			break;
		}
	}
	if (rc >= 0)
		rc = prev_to != zone_serial
		         ? pg_err(err, errlen, TERN_ENOTFOUND,
		                  "journal of %s ends at serial %" PRIu32 ", the zone is at %" PRIu32,
		                  store_name_text(lapex, zn), prev_to, zone_serial)
		         : 0;
	pq_clear(&q);
	return rc;
}

int pg_journal_read_from(struct store_txn *bt, const uint8_t *apex, uint32_t serial, store_journal_fn fn, void *arg,
                         char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid, start = 0, last = 0;
	uint32_t zone_serial;
	bool snapshot = false;
	int rc = store_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	/* the checks and the read must see one state of the journal */
	if (!t->conn) {
		if ((rc = pg_exec(c->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)) < 0)
			goto fail;
		snapshot = true;
	}
	if ((rc = pg_zone_id(t, c, lapex, &zid, &zone_serial, err, errlen)) < 0)
		goto fail;
	if ((rc = journal_start(t, c, zid, serial, &start, err, errlen)) < 0)
		goto fail;
	if (rc == 0) {
		rc = serial == zone_serial
		         ? 0
		         : pg_err(err, errlen, TERN_ENOTFOUND, "journal of %s does not reach back to serial %" PRIu32,
		                  store_name_text(lapex, zn), serial);
		goto fail;
	}
	if ((rc = journal_chain(t, c, zid, lapex, start, zone_serial, &last, err, errlen)) < 0)
		goto fail;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, start);
	pq_int(&q, 3, last);
	rc = pq_run(&q, t, c,
	            "SELECT " JOURNAL_COLS " FROM journal WHERE zone_id = $1 AND id BETWEEN $2 AND $3 ORDER BY id", err,
	            errlen);
	if (snapshot) {
		pg_exec(c->pg, "COMMIT", NULL, 0);
		snapshot = false;
	}
	pg_conn_give(t, c);
	c = NULL;
	if (rc >= 0) {
		struct {
			store_journal_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, 0, journal_row, &w, NULL);
	}
fail:
	pq_clear(&q);
	if (snapshot && c && PQstatus(c->pg) == CONNECTION_OK)
		pg_exec(c->pg, "ROLLBACK", NULL, 0);
	if (c)
		pg_conn_give(t, c);
	return rc;
}

int pg_journal_history(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_journal_fn fn,
                       void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc;
	if (limit == 0)
		return pg_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if ((rc = pg_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, before > 0 ? before : INT64_MAX);
	pq_int(&q, 3, (int64_t)limit + 1);
	rc = pq_run(&q, t, c,
	            "SELECT " JOURNAL_COLS " FROM journal WHERE zone_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_journal_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, limit, journal_row, &w, page);
	}
	pq_clear(&q);
	return rc;
}

int pg_journal_trim_keep(struct store_txn *bt, const uint8_t *apex, unsigned keep, char *err, size_t errlen)
{
	return pg_zone_id_write((struct pg_txn *)bt,
	                        "DELETE FROM journal WHERE zone_id = $1 AND id <= (SELECT id FROM journal"
	                        " WHERE zone_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
	                        apex, keep, true, err, errlen);
}

int pg_journal_trim_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid, bound = 0;
	uint32_t zone_serial;
	int rc;
	if ((rc = store_take_name(apex, lapex, "zone", err, errlen)) < 0)
		return rc;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = pg_zone_id(t, c, lapex, &zid, &zone_serial, err, errlen)) < 0)
		goto fail;
	if ((rc = journal_start(t, c, zid, serial, &bound, err, errlen)) < 0)
		goto fail;
	if (rc == 0) {
		/* no change starts at serial: fine if the journal ends there (or is empty at it) */
		pq_int(&q, 1, zid);
		if ((rc = pq_run(&q, t, c,
		                 "SELECT id, serial_to FROM journal WHERE zone_id = $1 ORDER BY id DESC LIMIT 1", err,
		                 errlen)) < 0)
			goto fail;
		if (rc == 1 && (uint32_t)pq_i(&q, 0, 1) == serial) {
			bound = pq_i(&q, 0, 0) + 1;
		} else if (rc == 0 && serial == zone_serial) {
			rc = 0;
			goto fail;
		} else {
			rc = pg_err(err, errlen, TERN_ENOTFOUND,
			            "journal of %s has no change from or to serial %" PRIu32,
			            store_name_text(lapex, zn), serial);
			goto fail;
		}
		pq_clear(&q);
	}
	pq_int(&q, 1, zid);
	pq_int(&q, 2, bound);
	rc = pq_run(&q, t, c, "DELETE FROM journal WHERE zone_id = $1 AND id < $2", err, errlen);
	rc = rc < 0 ? rc : 0;
fail:
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* ---- Proposals ---- */

static enum store_proposal_status status_from_text(const char *s)
{
	for (int i = STORE_PROPOSAL_PENDING; i <= STORE_PROPOSAL_APPLIED; i++)
		if (strcmp(s, store_proposal_status_name(i)) == 0)
			return i;
	return STORE_PROPOSAL_ANY;
}

static void proposal_from_row(const struct pq *q, int r, struct store_proposal *p)
{
	p->id = pq_i(q, r, 0);
	pq_name(q, r, 1, p->zone);
	pq_copy(q, r, 2, p->author, sizeof(p->author));
	p->body = pq_s(q, r, 3);
	p->status = status_from_text(pq_s(q, r, 4));
	pq_copy(q, r, 5, p->reviewer, sizeof(p->reviewer));
	pq_copy(q, r, 6, p->applier, sizeof(p->applier));
	p->created = pq_i(q, r, 7);
	p->reviewed = pq_i(q, r, 8);
	p->applied = pq_i(q, r, 9);
}

int pg_proposal_create(struct store_txn *bt, const uint8_t *apex, const char *author, const char *body, int64_t created,
                       int64_t *id, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = store_take_text(author, STORE_PRINCIPAL_MAX, "author", err, errlen);
	if (rc < 0 || (rc = store_take_text(body, STORE_BODY_MAX, "proposal body", err, errlen)) < 0)
		return rc;
	if ((rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_text(&q, 2, author);
	pq_text(&q, 3, body);
	pq_int(&q, 4, created ? created : t->now);
	rc = pq_run(&q, t, c,
	            "INSERT INTO proposals (zone_id, author, body, status, created_at)"
	            " VALUES ($1, $2, $3, 'pending', $4) RETURNING id",
	            err, errlen);
	if (rc > 0) {
		if (id)
			*id = pq_i(&q, 0, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = pg_err(err, errlen, TERN_EIO, "a proposal was stored without an id");
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* Reads proposal id on c into q: 1 with *out filled (body pointing into q), or a negative
 * TERN_E* (TERN_ENOTFOUND when absent). */
static int proposal_read(struct pq *q, struct pg_txn *t, struct pconn *c, int64_t id, struct store_proposal *out,
                         char *err, size_t errlen)
{
	pq_int(q, 1, id);
	int rc = pq_run(q, t, c, "SELECT " PROPOSAL_COLS " WHERE p.id = $1", err, errlen);
	if (rc == 1) {
		proposal_from_row(q, 0, out);
		return 1;
	}
	return rc < 0 ? rc : pg_err(err, errlen, TERN_ENOTFOUND, "no proposal %" PRId64, id);
}

int pg_proposal_get(struct store_txn *bt, int64_t id, struct store_proposal *out, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = pg_conn_take(t, false, &c, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = proposal_read(&q, t, c, id, out, err, errlen)) > 0) {
		out->body = strdup(out->body ? out->body : "");
		rc = out->body ? 0 : pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static int proposal_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_proposal_fn fn;
		void *arg;
	} *w = arg;
	struct store_proposal p;
	proposal_from_row(q, r, &p);
	page->next_id = p.id;
	return w->fn(&p, w->arg);
}

int pg_proposal_list(struct store_txn *bt, const uint8_t *apex, enum store_proposal_status status, int64_t after,
                     unsigned limit, store_proposal_fn fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc;
	if (limit == 0)
		return pg_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if (status < STORE_PROPOSAL_ANY || status > STORE_PROPOSAL_APPLIED)
		return pg_err(err, errlen, TERN_EINVAL, "unknown proposal status %d", (int)status);
	if ((rc = pg_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, after);
	pq_int(&q, 3, (int64_t)limit + 1);
	if (status)
		pq_text(&q, 4, store_proposal_status_name(status));
	rc = pq_run(&q, t, c,
	            status ? "SELECT " PROPOSAL_COLS " WHERE p.zone_id = $1 AND p.id > $2 AND p.status = $4"
	                     " ORDER BY p.id LIMIT $3"
	                   : "SELECT " PROPOSAL_COLS " WHERE p.zone_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_proposal_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, limit, proposal_row, &w, page);
	}
	pq_clear(&q);
	return rc;
}

int pg_proposal_set_status(struct store_txn *bt, int64_t id, enum store_proposal_status status, const char *principal,
                           char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct store_proposal p;
	struct pconn *c = NULL;
	struct pq q = {0};
	enum store_proposal_status need =
	    status == STORE_PROPOSAL_APPLIED ? STORE_PROPOSAL_APPROVED : STORE_PROPOSAL_PENDING;
	int rc = store_take_text(principal, STORE_PRINCIPAL_MAX, "principal", err, errlen);
	if (rc < 0)
		return rc;
	if (status != STORE_PROPOSAL_APPROVED && status != STORE_PROPOSAL_REJECTED && status != STORE_PROPOSAL_APPLIED)
		return pg_err(err, errlen, TERN_EINVAL, "a proposal can only be approved, rejected or applied");
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = proposal_read(&q, t, c, id, &p, err, errlen)) < 0)
		goto fail;
	if (p.status != need) {
		rc = pg_err(err, errlen, TERN_EINVAL, "proposal %" PRId64 " is %s, not %s", id,
		            store_proposal_status_name(p.status), store_proposal_status_name(need));
		goto fail;
	}
	if (status == STORE_PROPOSAL_APPROVED && strcmp(p.author, principal) == 0) {
		rc = pg_err(err, errlen, TERN_EINVAL,
		            "proposal %" PRId64 " was proposed by %s, who cannot approve it: another principal must",
		            id, principal);
		goto fail;
	}
	pq_clear(&q);
	pq_int(&q, 1, id);
	if (status == STORE_PROPOSAL_APPLIED) {
		pq_text(&q, 2, principal);
		pq_int(&q, 3, t->now);
		rc = pq_run(&q, t, c,
		            "UPDATE proposals SET status = 'applied', applier = $2, applied_at = $3"
		            " WHERE id = $1 AND status = 'approved'",
		            err, errlen);
	} else {
		pq_text(&q, 2, store_proposal_status_name(status));
		pq_text(&q, 3, principal);
		pq_int(&q, 4, t->now);
		rc = pq_run(&q, t, c,
		            "UPDATE proposals SET status = $2, reviewer = $3, reviewed_at = $4"
		            " WHERE id = $1 AND status = 'pending'",
		            err, errlen);
	}
	if (rc >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_EINVAL, "proposal %" PRId64 " changed meanwhile", id);
fail:
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}
