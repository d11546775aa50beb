/* The SQLite store's zones and RRsets: the zone rows (create, get, list, delete, serial, lock)
 * and the RRset rows each zone holds, keyed in canonical order. */
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

/* ---- Keys and zone lookups ---- */

/* The id (and serial) of the zone with this lower-cased apex; TERN_ENOTFOUND names it. */
int sq_zone_id(struct sq_txn *t, struct conn *c, const uint8_t *lapex, int64_t *id, uint32_t *serial, char *err,
               size_t errlen)
{
	struct q q;
	int rc = sq_q_open(&q, t, c, ST_ZONE_ID, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_blob(&q, 1, lapex, name_len(lapex));
	rc = sq_q_step(&q, err, errlen);
	if (rc == 1) {
		*id = sqlite3_column_int64(q.s, 0);
		if (serial)
			*serial = (uint32_t)sqlite3_column_int64(q.s, 1);
		rc = 0;
	} else if (rc >= 0) {
		char zn[STORE_NAME_TEXT_MAX];
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no zone %s", store_name_text(lapex, zn));
	}
	sq_q_close(&q);
	return rc;
}

/* The common start of calls on one zone: checks and lower-cases apex (and owner when lowner is
 * set: it must be inside the zone), takes the connection and finds the zone's id. */
int sq_zone_call(struct sq_txn *t, bool write, const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                 uint8_t lowner[NAME_MAXLEN], struct conn **c, int64_t *zid, char *err, size_t errlen)
{
	int rc = store_take_zone_names(apex, owner, lapex, lowner, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_conn_take(t, write, c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_zone_id(t, *c, lapex, zid, NULL, err, errlen)) < 0) {
		sq_conn_give(t, *c);
		*c = NULL;
	}
	return rc;
}

/* ---- Zones ---- */

static void zone_from_row(sqlite3_stmt *s, struct store_zone *z)
{
	z->id = sqlite3_column_int64(s, 0);
	sq_col_name(s, 1, z->apex);
	sq_col_text(s, 2, z->tenant, sizeof(z->tenant));
	z->serial = (uint32_t)sqlite3_column_int64(s, 3);
	const unsigned char *policy = sqlite3_column_text(s, 4);
	z->serial_policy =
	    policy && strcmp((const char *)policy, "date") == 0 ? STORE_SERIAL_DATE : STORE_SERIAL_INCREMENT;
	z->locked = sqlite3_column_int(s, 5) != 0;
	sq_col_text(s, 6, z->lock_reason, sizeof(z->lock_reason));
	z->created = sqlite3_column_int64(s, 7);
	z->updated = sqlite3_column_int64(s, 8);
	z->signed_downstream = sqlite3_column_int(s, 9) != 0;
	z->dnssec = sqlite3_column_int(s, 10) != 0;
}

/* The serial the lower-cased apex had when last deleted: 1 found, 0 never deleted, or an error. */
static int past_serial(struct sq_txn *t, struct conn *c, const uint8_t *lapex, uint32_t *serial, char *err,
                       size_t errlen)
{
	struct q q;
	int rc = sq_q_open(&q, t, c, ST_PAST_SERIAL, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_blob(&q, 1, lapex, name_len(lapex));
	if ((rc = sq_q_step(&q, err, errlen)) == 1)
		*serial = (uint32_t)sqlite3_column_int64(q.s, 0);
	sq_q_close(&q);
	return rc;
}

int sq_zone_create(struct store_txn *bt, struct store_zone *z, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN], key[STORE_SORT_KEY_MAX];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int n = store_take_name(z->apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = store_take_text(z->tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0)
		return rc;
	if (z->serial_policy != STORE_SERIAL_DATE && z->serial_policy != STORE_SERIAL_INCREMENT)
		return set_err(err, errlen, TERN_EINVAL, "unknown serial policy %d", (int)z->serial_policy);
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	uint32_t past;
	if ((rc = past_serial(t, c, lapex, &past, err, errlen)) < 0)
		goto fail;
	if (rc == 1 && !rr_serial_newer(z->serial, past)) {
		rc = set_err(err, errlen, TERN_EINVAL,
		             "zone %s had serial %" PRIu32 " before it was deleted: serial %" PRIu32
		             " is not above it (RFC 1982), so its secondaries would not refresh",
		             store_name_text(lapex, zn), past, z->serial);
		goto fail;
	}
	if ((rc = sq_q_open(&q, t, c, ST_ZONE_INSERT, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, lapex, (size_t)n);
	sq_q_blob(&q, 2, key, (size_t)store_sort_key(lapex, key));
	sq_q_text(&q, 3, z->tenant);
	sq_q_int(&q, 4, z->serial);
	sq_q_text(&q, 5, z->serial_policy == STORE_SERIAL_DATE ? "date" : "increment");
	sq_q_int(&q, 6, t->now);
	sq_q_int(&q, 7, z->signed_downstream);
	rc = sq_q_step(&q, err, errlen);
	if (rc == TERN_EEXIST) {
		rc = set_err(err, errlen, TERN_EEXIST, "zone %s already exists", store_name_text(lapex, zn));
		goto fail;
	}
	if (rc < 0)
		goto fail;
	z->id = sqlite3_column_int64(q.s, 0);
	memcpy(z->apex, lapex, (size_t)n);
	z->locked = false;
	z->lock_reason[0] = 0;
	z->created = z->updated = t->now;
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_zone_get(struct store_txn *bt, const uint8_t *apex, struct store_zone *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int n = store_take_name(apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ZONE_GET, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, lapex, (size_t)n);
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no zone %s", store_name_text(lapex, zn));
	if (rc < 0)
		goto fail;
	zone_from_row(q.s, out);
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int zone_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_zone z;
	zone_from_row(s, &z);
	memcpy(page->next_apex, z.apex, name_len(z.apex));
	return w->zone(&z, w->arg);
}

int sq_zone_list(struct store_txn *bt, const char *tenant, const uint8_t *after, unsigned limit, store_zone_fn fn,
                 void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t key[STORE_SORT_KEY_MAX + 1];
	struct conn *c = NULL;
	struct q q = {0};
	size_t klen = 0;
	int rc;
	if (limit == 0)
		return set_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if (tenant && (rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0)
		return rc;
	if ((rc = store_cursor_key(after, key, &klen, err, errlen)) < 0)
		return rc;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, tenant ? ST_ZONE_LIST_TENANT : ST_ZONE_LIST, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, key, klen);
	sq_q_int(&q, 2, (int64_t)limit + 1);
	if (tenant)
		sq_q_text(&q, 3, tenant);
	rc = sq_walk_rows(&q, limit, zone_row, &(struct walk){.zone = fn, .arg = arg}, page, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_zone_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	struct conn *c = NULL;
	struct q q = {0};
	int rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ZONE_COUNT_TENANT, err, errlen)) < 0)
		goto fail;
	sq_q_text(&q, 1, tenant);
	if ((rc = sq_q_step(&q, err, errlen)) == 1) {
		*n = (uint64_t)sqlite3_column_int64(q.s, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = set_err(err, errlen, TERN_EIO, "counting the zones of a tenant gave no row");
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* One UPDATE or DELETE of the zone row keyed by apex; TERN_ENOTFOUND when it matched nothing. */
static int zone_row_write(struct sq_txn *t, enum stmt id, const uint8_t *apex, int64_t v2, const char *v3, char *err,
                          size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int n = store_take_name(apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = sq_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, id, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, lapex, (size_t)n);
	if (id == ST_ZONE_SERIAL || id == ST_ZONE_DOWNSTREAM) {
		sq_q_int(&q, 2, v2);
		sq_q_int(&q, 3, t->now);
	} else if (id == ST_ZONE_RETIRE) {
		sq_q_int(&q, 2, t->now);
	} else if (id == ST_ZONE_LOCK) {
		sq_q_int(&q, 2, v2);
		sq_q_text(&q, 3, v3);
		sq_q_int(&q, 4, t->now);
	}
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	rc =
	    sqlite3_changes(c->db) ? 0 : set_err(err, errlen, TERN_ENOTFOUND, "no zone %s", store_name_text(lapex, zn));
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* The zone's serial goes to past_serials first, in the same transaction as the deletion. */
int sq_zone_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	int rc = zone_row_write((struct sq_txn *)bt, ST_ZONE_RETIRE, apex, 0, NULL, err, errlen);
	return rc < 0 ? rc : zone_row_write((struct sq_txn *)bt, ST_ZONE_DELETE, apex, 0, NULL, err, errlen);
}

int sq_zone_past_serial(struct store_txn *bt, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	int rc = store_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	rc = past_serial(t, c, lapex, serial, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "zone %s was never deleted", store_name_text(lapex, zn));
	sq_conn_give(t, c);
	return rc < 0 ? rc : 0;
}

int sq_zone_set_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen)
{
	return zone_row_write((struct sq_txn *)bt, ST_ZONE_SERIAL, apex, serial, NULL, err, errlen);
}

int sq_zone_set_downstream(struct store_txn *bt, const uint8_t *apex, bool on, char *err, size_t errlen)
{
	return zone_row_write((struct sq_txn *)bt, ST_ZONE_DOWNSTREAM, apex, on, NULL, err, errlen);
}

int sq_zone_set_lock(struct store_txn *bt, const uint8_t *apex, bool locked, const char *reason, char *err,
                     size_t errlen)
{
	int rc;
	if (locked && (rc = store_take_text(reason, STORE_REASON_MAX, "lock reason", err, errlen)) < 0)
		return rc;
	return zone_row_write((struct sq_txn *)bt, ST_ZONE_LOCK, apex, locked, locked ? reason : "", err, errlen);
}
/* ---- RRsets ---- */

/* Counts the records of an RRset's rdata (16-bit length + bytes each). */
static int rdata_count(const uint8_t *rdata, uint32_t size, uint16_t *count, char *err, size_t errlen)
{
	uint32_t pos = 0, n = 0;
	if (!rdata || size == 0)
		return set_err(err, errlen, TERN_EINVAL, "an RRset needs at least one record");
	while (pos < size) {
		if (size - pos < 2 || size - pos - 2 < wire_get16(rdata + pos))
			return set_err(err, errlen, TERN_EMALF, "RDATA of record %" PRIu32 " is cut short", n + 1);
		pos += 2u + wire_get16(rdata + pos);
		if (++n > UINT16_MAX)
			return set_err(err, errlen, TERN_EINVAL, "an RRset holds at most 65535 records");
	}
	*count = (uint16_t)n;
	return 0;
}

/* The ttls column of a row: NULL (*len 0) when every record has ttl, else the TTLs big-endian in
 * buf (4 * count octets). */
static const uint8_t *ttls_blob(uint32_t ttl, const uint32_t *ttls, uint16_t count, uint8_t *buf, size_t *len)
{
	bool differ = false;
	for (uint16_t i = 0; ttls && i < count; i++) {
		wire_put32(buf + 4u * i, ttls[i]);
		differ |= ttls[i] != ttl;
	}
	*len = differ ? 4u * count : 0;
	return differ ? buf : NULL;
}

/* A row's ttls column checked against its count: NULL or exactly count TTLs. */
static int ttls_col(sqlite3_stmt *s, int i, uint16_t count, const uint8_t **out, size_t *len, char *err, size_t errlen)
{
	*out = sqlite3_column_type(s, i) == SQLITE_NULL ? NULL : sq_col_blob(s, i, len);
	if (!*out)
		*len = 0;
	if (*out && *len != 4u * count)
		return set_err(err, errlen, TERN_EMALF, "the store holds %zu octets of TTLs for %u records", *len,
		               count);
	return 0;
}

int sq_rrset_put(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, uint32_t ttl,
                 const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN], lowner[NAME_MAXLEN], key[STORE_SORT_KEY_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	uint16_t count;
	int rc = rdata_count(rdata, rdata_size, &count, err, errlen);
	if (rc < 0)
		return rc;
	uint8_t *tbuf = ttls ? malloc(4u * count) : NULL;
	if (ttls && !tbuf)
		return set_err(err, errlen, TERN_ENOMEM, "out of memory");
	if ((rc = sq_zone_call(t, true, apex, owner, lapex, lowner, &c, &zid, err, errlen)) < 0) {
		free(tbuf);
		return rc;
	}
	if ((rc = sq_q_open(&q, t, c, ST_RRSET_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_blob(&q, 2, key, (size_t)store_sort_key(lowner, key));
	sq_q_int(&q, 3, type);
	sq_q_blob(&q, 4, lowner, name_len(lowner));
	sq_q_int(&q, 5, ttl);
	sq_q_int(&q, 6, count);
	sq_q_blob(&q, 7, rdata, rdata_size);
	size_t tlen;
	const uint8_t *tb = ttls_blob(ttl, ttls, count, tbuf, &tlen);
	if (tb)
		sq_q_blob(&q, 8, tb, tlen);
	else
		sq_q_null(&q, 8);
	if ((rc = sq_q_step(&q, err, errlen)) > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	free(tbuf);
	return rc;
}

/* "A RRset at www.example.com." for messages. */
static const char *rrset_text(uint16_t type, const uint8_t *lowner, char buf[STORE_NAME_TEXT_MAX + 32])
{
	char tn[16], on[STORE_NAME_TEXT_MAX];
	snprintf(buf, STORE_NAME_TEXT_MAX + 32, "%s RRset at %s", rr_type_name(type, tn), store_name_text(lowner, on));
	return buf;
}

/* Opens statement id bound to (zone id, owner's sort key, type): what get and delete share. */
static int rrset_key_q(struct q *q, struct sq_txn *t, bool write, enum stmt id, const uint8_t *apex,
                       const uint8_t *owner, uint16_t type, uint8_t lowner[NAME_MAXLEN], char *err, size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN], key[STORE_SORT_KEY_MAX];
	struct conn *c = NULL;
	int64_t zid;
	int rc = sq_zone_call(t, write, apex, owner, lapex, lowner, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(q, t, c, id, err, errlen)) < 0) {
		sq_conn_give(t, c);
		return rc;
	}
	sq_q_int(q, 1, zid);
	sq_q_int(q, 3, type);
	/* key lives on this frame and the caller steps later: SQLite keeps its own copy */
	int src = sqlite3_bind_blob(q->s, 2, key, store_sort_key(lowner, key), SQLITE_TRANSIENT);
	if (!q->bind_rc)
		q->bind_rc = src;
	return 0;
}

/* Closes a statement from rrset_key_q() and gives back its connection. */
static void rrset_key_close(struct q *q, struct sq_txn *t)
{
	struct conn *c = q->c;
	sq_q_close(q);
	sq_conn_give(t, c);
}

int sq_rrset_get(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                 struct store_rrset *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lowner[NAME_MAXLEN];
	char rn[STORE_NAME_TEXT_MAX + 32];
	struct q q = {0};
	int rc = rrset_key_q(&q, t, false, ST_RRSET_GET, apex, owner, type, lowner, err, errlen);
	if (rc < 0)
		return rc;
	rc = sq_q_step(&q, err, errlen);
	if (rc == 0)
		rc = set_err(err, errlen, TERN_ENOTFOUND, "no %s", rrset_text(type, lowner, rn));
	if (rc < 0)
		goto fail;
	size_t len, tlen;
	uint16_t count = (uint16_t)sqlite3_column_int(q.s, 1);
	const uint8_t *rd = sq_col_blob(q.s, 2, &len), *tb;
	if ((rc = ttls_col(q.s, 3, count, &tb, &tlen, err, errlen)) < 0)
		goto fail;
	uint8_t *copy = malloc(len + tlen ? len + tlen : 1); /* the TTLs follow the RDATA */
	if (!copy) {
		rc = set_err(err, errlen, TERN_ENOMEM, "out of memory");
		goto fail;
	}
	if (len)
		memcpy(copy, rd, len);
	if (tlen)
		memcpy(copy + len, tb, tlen);
	memcpy(out->owner, lowner, name_len(lowner));
	out->type = type;
	out->ttl = (uint32_t)sqlite3_column_int64(q.s, 0);
	out->count = count;
	out->rdata = copy;
	out->rdata_size = (uint32_t)len;
	out->ttls = tlen ? copy + len : NULL;
	rc = 0;
fail:
	rrset_key_close(&q, t);
	return rc;
}

int sq_rrset_delete(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, char *err,
                    size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lowner[NAME_MAXLEN];
	char rn[STORE_NAME_TEXT_MAX + 32];
	struct q q = {0};
	int rc = rrset_key_q(&q, t, true, ST_RRSET_DELETE, apex, owner, type, lowner, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_step(&q, err, errlen)) >= 0)
		rc = sqlite3_changes(q.c->db)
		         ? 0
		         : set_err(err, errlen, TERN_ENOTFOUND, "no %s", rrset_text(type, lowner, rn));
	rrset_key_close(&q, t);
	return rc;
}

/* Runs one write statement bound to (zone id, v2): emptying a zone, trimming its journal. */
int sq_zone_id_write(struct sq_txn *t, enum stmt id, const uint8_t *apex, int64_t v2, char *err, size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, id, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	if (sqlite3_bind_parameter_count(q.s) >= 2)
		sq_q_int(&q, 2, v2);
	if ((rc = sq_q_step(&q, err, errlen)) > 0)
		rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_rrset_delete_all(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	return sq_zone_id_write((struct sq_txn *)bt, ST_RRSET_DELETE_ALL, apex, 0, err, errlen);
}

static int rrset_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_rrset rs;
	size_t len;
	(void)page;
	sq_col_name(s, 0, rs.owner);
	rs.type = (uint16_t)sqlite3_column_int(s, 1);
	rs.ttl = (uint32_t)sqlite3_column_int64(s, 2);
	rs.count = (uint16_t)sqlite3_column_int(s, 3);
	rs.rdata = sq_col_blob(s, 4, &len);
	rs.rdata_size = (uint32_t)len;
	int rc = ttls_col(s, 5, rs.count, &rs.ttls, &len, w->err, w->errlen);
	return rc < 0 ? rc : w->rrset(&rs, w->arg);
}

int sq_rrset_foreach(struct store_txn *bt, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_RRSET_ALL, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	rc = sq_walk_rows(&q, 0, rrset_row, &(struct walk){.rrset = fn, .arg = arg, .err = err, .errlen = errlen}, NULL,
	                  err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* One row of ST_ZONE_LOAD: a zone's columns then one of its RRsets (NULLs for a zone without any).
 * A new zone id starts the next zone. */
struct load_walk {
	const struct walk *w;
	store_zone_fn zone_fn;
	int64_t zone_id;
	unsigned zones;
};

static int load_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct load_walk *l = w->arg;
	int64_t id = sqlite3_column_int64(s, 0);
	int rc;
	if (id != l->zone_id) {
		struct store_zone z;
		zone_from_row(s, &z);
		memcpy(page->next_apex, z.apex, name_len(z.apex));
		l->zone_id = id;
		l->zones++;
		if ((rc = l->zone_fn(&z, l->w->arg)) != 0)
			return rc;
	}
	if (sqlite3_column_type(s, ZONE_NCOLS) == SQLITE_NULL)
		return 0;
	struct store_rrset rs;
	size_t len;
	sq_col_name(s, ZONE_NCOLS, rs.owner);
	rs.type = (uint16_t)sqlite3_column_int(s, ZONE_NCOLS + 1);
	rs.ttl = (uint32_t)sqlite3_column_int64(s, ZONE_NCOLS + 2);
	rs.count = (uint16_t)sqlite3_column_int(s, ZONE_NCOLS + 3);
	rs.rdata = sq_col_blob(s, ZONE_NCOLS + 4, &len);
	rs.rdata_size = (uint32_t)len;
	if ((rc = ttls_col(s, ZONE_NCOLS + 5, rs.count, &rs.ttls, &len, l->w->err, l->w->errlen)) < 0)
		return rc;
	return l->w->rrset(&rs, l->w->arg);
}

int sq_zone_load(struct store_txn *bt, const uint8_t *after, unsigned limit, store_zone_fn zone_fn,
                 store_rrset_fn rrset_fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t key[STORE_SORT_KEY_MAX + 1];
	struct conn *c = NULL;
	struct q q = {0};
	size_t klen = 0;
	int rc;
	if (limit == 0)
		return set_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if ((rc = store_cursor_key(after, key, &klen, err, errlen)) < 0)
		return rc;
	if ((rc = sq_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_ZONE_LOAD, err, errlen)) < 0)
		goto fail;
	sq_q_blob(&q, 1, key, klen);
	sq_q_int(&q, 2, (int64_t)limit + 1);
	struct walk w = {.rrset = rrset_fn, .arg = arg, .err = err, .errlen = errlen};
	struct load_walk l = {.w = &w, .zone_fn = zone_fn, .zone_id = -1};
	struct store_page scratch = {0};
	page = page ? page : &scratch;
	*page = (struct store_page){0};
	/* the rows of limit + 1 zones come: the first row of the one past the limit says more follow
	 * (next_apex stays the last zone handed on) */
	while ((rc = sq_q_step(&q, err, errlen)) == 1) {
		if (l.zones == limit && sqlite3_column_int64(q.s, 0) != l.zone_id) {
			page->more = true;
			rc = 0;
			break;
		}
		if ((rc = load_row(q.s, &(struct walk){.arg = &l}, page)) != 0)
			break;
	}
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
