/* The PostgreSQL store's zones and RRsets: the zone rows (create, get, list, delete, serial, lock)
 * and the RRset rows each zone holds, keyed in canonical order (bytea compares as memcmp). */
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

#define ZONE_COLS                                                                                                      \
	"id, apex, tenant, serial, serial_policy, locked, lock_reason, created_at, updated_at, signed_downstream, "    \
	"EXISTS (SELECT 1 FROM dnssec_zones d WHERE d.zone_id = zones.id)"
#define ZONE_NCOLS 11

int pg_zone_id(struct pg_txn *t, struct pconn *c, const uint8_t *lapex, int64_t *id, uint32_t *serial, char *err,
               size_t errlen)
{
	struct pq q = {0};
	char zn[STORE_NAME_TEXT_MAX];
	pq_blob(&q, 1, lapex, name_len(lapex));
	int rc = pq_run(&q, t, c, "SELECT id, serial FROM zones WHERE apex = $1", err, errlen);
	if (rc == 1) {
		*id = pq_i(&q, 0, 0);
		if (serial)
			*serial = (uint32_t)pq_i(&q, 0, 1);
		rc = 0;
	} else if (rc >= 0) {
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no zone %s", store_name_text(lapex, zn));
	}
	pq_clear(&q);
	return rc;
}

int pg_zone_call(struct pg_txn *t, bool write, const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                 uint8_t lowner[NAME_MAXLEN], struct pconn **c, int64_t *zid, char *err, size_t errlen)
{
	int rc = store_take_zone_names(apex, owner, lapex, lowner, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = pg_conn_take(t, write, c, err, errlen)) < 0)
		return rc;
	if ((rc = pg_zone_id(t, *c, lapex, zid, NULL, err, errlen)) < 0) {
		pg_conn_give(t, *c);
		*c = NULL;
	}
	return rc;
}

/* ---- Zones ---- */

static void zone_from_row(const struct pq *q, int r, struct store_zone *z)
{
	z->id = pq_i(q, r, 0);
	pq_name(q, r, 1, z->apex);
	pq_copy(q, r, 2, z->tenant, sizeof(z->tenant));
	z->serial = (uint32_t)pq_i(q, r, 3);
	z->serial_policy = strcmp(pq_s(q, r, 4), "date") == 0 ? STORE_SERIAL_DATE : STORE_SERIAL_INCREMENT;
	z->locked = pq_i(q, r, 5) != 0;
	pq_copy(q, r, 6, z->lock_reason, sizeof(z->lock_reason));
	z->created = pq_i(q, r, 7);
	z->updated = pq_i(q, r, 8);
	z->signed_downstream = pq_i(q, r, 9) != 0;
	z->dnssec = pq_i(q, r, 10) != 0;
}

/* 1 with *serial, 0 never deleted, or an error. */
static int past_serial(struct pg_txn *t, struct pconn *c, const uint8_t *lapex, uint32_t *serial, char *err,
                       size_t errlen)
{
	struct pq q = {0};
	pq_blob(&q, 1, lapex, name_len(lapex));
	int rc = pq_run(&q, t, c, "SELECT serial FROM past_serials WHERE apex = $1", err, errlen);
	if (rc == 1)
		*serial = (uint32_t)pq_i(&q, 0, 0);
	pq_clear(&q);
	return rc < 0 ? rc : rc > 0;
}

int pg_zone_create(struct store_txn *bt, struct store_zone *z, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN], key[STORE_SORT_KEY_MAX];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int n = store_take_name(z->apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = store_take_text(z->tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0)
		return rc;
	if (z->serial_policy != STORE_SERIAL_DATE && z->serial_policy != STORE_SERIAL_INCREMENT)
		return pg_err(err, errlen, TERN_EINVAL, "unknown serial policy %d", (int)z->serial_policy);
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	uint32_t past = 0;
	if ((rc = past_serial(t, c, lapex, &past, err, errlen)) < 0)
		goto fail;
	if (rc == 1 && !rr_serial_newer(z->serial, past)) {
		rc = pg_err(err, errlen, TERN_EINVAL,
		            "zone %s had serial %" PRIu32 " before it was deleted: serial %" PRIu32
		            " is not above it (RFC 1982), so its secondaries would not refresh",
		            store_name_text(lapex, zn), past, z->serial);
		goto fail;
	}
	pq_blob(&q, 1, lapex, (size_t)n);
	pq_blob(&q, 2, key, (size_t)store_sort_key(lapex, key));
	pq_text(&q, 3, z->tenant);
	pq_int(&q, 4, z->serial);
	pq_text(&q, 5, z->serial_policy == STORE_SERIAL_DATE ? "date" : "increment");
	pq_int(&q, 6, t->now);
	pq_int(&q, 7, z->signed_downstream);
	/* a name taken answers no row rather than an error, so the transaction goes on */
	rc = pq_run(&q, t, c,
	            "INSERT INTO zones (apex, sort_key, tenant, serial, serial_policy, created_at, updated_at,"
	            " signed_downstream) VALUES ($1, $2, $3, $4, $5, $6, $6, $7::int::boolean) ON CONFLICT DO NOTHING"
	            " RETURNING id",
	            err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_EEXIST, "zone %s already exists", store_name_text(lapex, zn));
	if (rc < 0)
		goto fail;
	z->id = pq_i(&q, 0, 0);
	if ((rc = pg_notify_zone(t, c, lapex, err, errlen)) < 0)
		goto fail;
	memcpy(z->apex, lapex, (size_t)n);
	z->locked = false;
	z->lock_reason[0] = 0;
	z->created = z->updated = t->now;
	rc = 0;
fail:
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_zone_get(struct store_txn *bt, const uint8_t *apex, struct store_zone *out, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int n = store_take_name(apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_blob(&q, 1, lapex, (size_t)n);
	rc = pq_run(&q, t, c, "SELECT " ZONE_COLS " FROM zones WHERE apex = $1", err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no zone %s", store_name_text(lapex, zn));
	if (rc > 0) {
		zone_from_row(&q, 0, out);
		rc = 0;
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static int zone_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_zone_fn fn;
		void *arg;
	} *w = arg;
	struct store_zone z;
	zone_from_row(q, r, &z);
	memcpy(page->next_apex, z.apex, name_len(z.apex));
	return w->fn(&z, w->arg);
}

int pg_zone_list(struct store_txn *bt, const char *tenant, const uint8_t *after, unsigned limit, store_zone_fn fn,
                 void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t key[STORE_SORT_KEY_MAX + 1];
	struct pconn *c = NULL;
	struct pq q = {0};
	size_t klen = 0;
	int rc;
	if (limit == 0)
		return pg_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if (tenant && (rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen)) < 0)
		return rc;
	if ((rc = store_cursor_key(after, key, &klen, err, errlen)) < 0)
		return rc;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_blob(&q, 1, key, klen);
	pq_int(&q, 2, (int64_t)limit + 1);
	if (tenant)
		pq_text(&q, 3, tenant);
	rc = pq_run(&q, t, c,
	            tenant ? "SELECT " ZONE_COLS " FROM zones WHERE tenant = $3 AND sort_key >= $1 ORDER BY sort_key"
	                     " LIMIT $2"
	                   : "SELECT " ZONE_COLS " FROM zones WHERE sort_key >= $1 ORDER BY sort_key LIMIT $2",
	            err, errlen);
	pg_conn_give(t, c); /* the rows are all here: callbacks may use the store */
	if (rc >= 0) {
		struct {
			store_zone_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, limit, zone_row, &w, page);
	}
	pq_clear(&q);
	return rc;
}

int pg_zone_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pconn *c = NULL;
	struct pq q = {0};
	int rc = store_take_text(tenant, STORE_TENANT_MAX, "tenant id", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_text(&q, 1, tenant);
	rc = pq_run(&q, t, c, "SELECT coalesce((SELECT zones FROM tenant_zones WHERE tenant = $1), 0)::bigint", err,
	            errlen);
	if (rc == 1) {
		*n = (uint64_t)pq_i(&q, 0, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = pg_err(err, errlen, TERN_EIO, "counting the zones of a tenant gave no row");
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* One UPDATE or DELETE of the zone row keyed by apex ($1; $2.. as bound by the caller);
 * TERN_ENOTFOUND when it matched nothing. */
static int zone_row_write(struct pg_txn *t, struct pq *q, const char *sql, const uint8_t *apex, char *err,
                          size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	int n = store_take_name(apex, lapex, "zone", err, errlen), rc;
	if (n < 0)
		return n;
	if ((rc = pg_conn_take(t, true, &c, err, errlen)) < 0)
		return rc;
	pq_blob(q, 1, lapex, (size_t)n);
	if ((rc = pq_run(q, t, c, sql, err, errlen)) >= 0)
		rc = q->changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no zone %s", store_name_text(lapex, zn));
	if (rc == 0) /* the other ternd on the database hear of it at commit */
		rc = pg_notify_zone(t, c, lapex, err, errlen);
	pq_clear(q);
	pg_conn_give(t, c);
	return rc;
}

int pg_zone_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pq q = {0};
	pq_int(&q, 2, t->now);
	int rc = zone_row_write(t, &q,
	                        "INSERT INTO past_serials (apex, serial, deleted_at) SELECT apex, serial, $2 FROM zones"
	                        " WHERE apex = $1 ON CONFLICT (apex) DO UPDATE SET serial = excluded.serial,"
	                        " deleted_at = excluded.deleted_at",
	                        apex, err, errlen);
	if (rc < 0)
		return rc;
	return zone_row_write(t, &q, "DELETE FROM zones WHERE apex = $1", apex, err, errlen);
}

int pg_zone_past_serial(struct store_txn *bt, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	int rc = store_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	rc = past_serial(t, c, lapex, serial, err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "zone %s was never deleted", store_name_text(lapex, zn));
	pg_conn_give(t, c);
	return rc < 0 ? rc : 0;
}

int pg_zone_set_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pq q = {0};
	pq_int(&q, 2, serial);
	pq_int(&q, 3, t->now);
	return zone_row_write(t, &q, "UPDATE zones SET serial = $2, updated_at = $3 WHERE apex = $1", apex, err,
	                      errlen);
}

int pg_zone_set_downstream(struct store_txn *bt, const uint8_t *apex, bool on, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pq q = {0};
	pq_int(&q, 2, on);
	pq_int(&q, 3, t->now);
	return zone_row_write(t, &q,
	                      "UPDATE zones SET signed_downstream = $2::int::boolean, updated_at = $3 WHERE apex = $1",
	                      apex, err, errlen);
}

int pg_zone_set_lock(struct store_txn *bt, const uint8_t *apex, bool locked, const char *reason, char *err,
                     size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	struct pq q = {0};
	int rc;
	if (locked && (rc = store_take_text(reason, STORE_REASON_MAX, "lock reason", err, errlen)) < 0)
		return rc;
	pq_int(&q, 2, locked);
	pq_text(&q, 3, locked ? reason : "");
	pq_int(&q, 4, t->now);
	return zone_row_write(t, &q,
	                      "UPDATE zones SET locked = $2::int::boolean, lock_reason = $3, updated_at = $4"
	                      " WHERE apex = $1",
	                      apex, err, errlen);
}

/* ---- RRsets ---- */

static int rdata_count(const uint8_t *rdata, uint32_t size, uint16_t *count, char *err, size_t errlen)
{
	uint32_t pos = 0, n = 0;
	if (!rdata || size == 0)
		return pg_err(err, errlen, TERN_EINVAL, "an RRset needs at least one record");
	while (pos < size) {
		if (size - pos < 2 || size - pos - 2 < wire_get16(rdata + pos))
			return pg_err(err, errlen, TERN_EMALF, "RDATA of record %" PRIu32 " is cut short", n + 1);
		pos += 2u + wire_get16(rdata + pos);
		if (++n > UINT16_MAX)
			return pg_err(err, errlen, TERN_EINVAL, "an RRset holds at most 65535 records");
	}
	*count = (uint16_t)n;
	return 0;
}

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

static int ttls_col(const struct pq *q, int r, int col, uint16_t count, const uint8_t **out, char *err, size_t errlen)
{
	size_t len;
	*out = pq_b(q, r, col, &len);
	if (*out && len != 4u * count)
		return pg_err(err, errlen, TERN_EMALF, "the store holds %zu octets of TTLs for %u records", len, count);
	return 0;
}

int pg_rrset_put(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, uint32_t ttl,
                 const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN], lowner[NAME_MAXLEN], key[STORE_SORT_KEY_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	uint16_t count;
	int rc = rdata_count(rdata, rdata_size, &count, err, errlen);
	if (rc < 0)
		return rc;
	uint8_t *tbuf = ttls ? malloc(4u * count) : NULL;
	if (ttls && !tbuf)
		return pg_err(err, errlen, TERN_ENOMEM, "out of memory");
	if ((rc = pg_zone_call(t, true, apex, owner, lapex, lowner, &c, &zid, err, errlen)) < 0) {
		free(tbuf);
		return rc;
	}
	pq_int(&q, 1, zid);
	pq_blob(&q, 2, key, (size_t)store_sort_key(lowner, key));
	pq_int(&q, 3, type);
	pq_blob(&q, 4, lowner, name_len(lowner));
	pq_int(&q, 5, ttl);
	pq_int(&q, 6, count);
	pq_blob(&q, 7, rdata, rdata_size);
	size_t tlen;
	const uint8_t *tb = ttls_blob(ttl, ttls, count, tbuf, &tlen);
	if (tb)
		pq_blob(&q, 8, tb, tlen);
	else
		pq_null(&q, 8);
	rc = pq_run(&q, t, c,
	            "INSERT INTO rrsets (zone_id, sort_key, type, owner, ttl, count, rdata, ttls)"
	            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (zone_id, sort_key, type)"
	            " DO UPDATE SET ttl = excluded.ttl, count = excluded.count, rdata = excluded.rdata,"
	            " ttls = excluded.ttls",
	            err, errlen);
	rc = rc < 0 ? rc : 0;
	pq_clear(&q);
	pg_conn_give(t, c);
	free(tbuf);
	return rc;
}

static const char *rrset_text(uint16_t type, const uint8_t *lowner, char buf[STORE_NAME_TEXT_MAX + 32])
{
	char tn[16], on[STORE_NAME_TEXT_MAX];
	snprintf(buf, STORE_NAME_TEXT_MAX + 32, "%s RRset at %s", rr_type_name(type, tn), store_name_text(lowner, on));
	return buf;
}

/* Runs sql bound to ($1 zone id, $2 owner's sort key, $3 type): what get and delete share. */
static int rrset_key_run(struct pq *q, struct pg_txn *t, bool write, const char *sql, const uint8_t *apex,
                         const uint8_t *owner, uint16_t type, uint8_t lowner[NAME_MAXLEN], char *err, size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN], key[STORE_SORT_KEY_MAX];
	struct pconn *c = NULL;
	int64_t zid;
	int rc = pg_zone_call(t, write, apex, owner, lapex, lowner, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(q, 1, zid);
	pq_blob(q, 2, key, (size_t)store_sort_key(lowner, key));
	pq_int(q, 3, type);
	rc = pq_run(q, t, c, sql, err, errlen);
	pg_conn_give(t, c);
	return rc;
}

int pg_rrset_get(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                 struct store_rrset *out, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lowner[NAME_MAXLEN];
	char rn[STORE_NAME_TEXT_MAX + 32];
	struct pq q = {0};
	int rc = rrset_key_run(&q, t, false,
	                       "SELECT ttl, count, rdata, ttls FROM rrsets WHERE zone_id = $1 AND sort_key = $2"
	                       " AND type = $3",
	                       apex, owner, type, lowner, err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "no %s", rrset_text(type, lowner, rn));
	if (rc < 0)
		goto fail;
	size_t len;
	uint16_t count = (uint16_t)pq_i(&q, 0, 1);
	const uint8_t *rd = pq_b(&q, 0, 2, &len), *tb;
	if ((rc = ttls_col(&q, 0, 3, count, &tb, err, errlen)) < 0)
		goto fail;
	size_t tlen = tb ? 4u * count : 0;
	uint8_t *copy = malloc(len + tlen ? len + tlen : 1);
	if (!copy) {
		rc = pg_err(err, errlen, TERN_ENOMEM, "out of memory");
		goto fail;
	}
	if (len)
		memcpy(copy, rd, len);
	if (tlen)
		memcpy(copy + len, tb, tlen);
	memcpy(out->owner, lowner, name_len(lowner));
	out->type = type;
	out->ttl = (uint32_t)pq_i(&q, 0, 0);
	out->count = count;
	out->rdata = copy;
	out->rdata_size = (uint32_t)len;
	out->ttls = tlen ? copy + len : NULL;
	rc = 0;
fail:
	pq_clear(&q);
	return rc;
}

int pg_rrset_delete(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, char *err,
                    size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lowner[NAME_MAXLEN];
	char rn[STORE_NAME_TEXT_MAX + 32];
	struct pq q = {0};
	int rc = rrset_key_run(&q, t, true, "DELETE FROM rrsets WHERE zone_id = $1 AND sort_key = $2 AND type = $3",
	                       apex, owner, type, lowner, err, errlen);
	if (rc >= 0)
		rc = q.changes ? 0 : pg_err(err, errlen, TERN_ENOTFOUND, "no %s", rrset_text(type, lowner, rn));
	pq_clear(&q);
	return rc;
}

int pg_zone_id_write(struct pg_txn *t, const char *sql, const uint8_t *apex, int64_t v, bool with_v, char *err,
                     size_t errlen)
{
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, zid);
	if (with_v)
		pq_int(&q, 2, v);
	rc = pq_run(&q, t, c, sql, err, errlen);
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc < 0 ? rc : 0;
}

int pg_rrset_delete_all(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	return pg_zone_id_write((struct pg_txn *)bt, "DELETE FROM rrsets WHERE zone_id = $1", apex, 0, false, err,
	                        errlen);
}

struct rrset_walk {
	store_rrset_fn fn;
	void *arg;
	char *err;
	size_t errlen;
};

static int rrset_from(const struct pq *q, int r, int col, struct store_rrset *rs, char *err, size_t errlen)
{
	size_t len;
	pq_name(q, r, col, rs->owner);
	rs->type = (uint16_t)pq_i(q, r, col + 1);
	rs->ttl = (uint32_t)pq_i(q, r, col + 2);
	rs->count = (uint16_t)pq_i(q, r, col + 3);
	rs->rdata = pq_b(q, r, col + 4, &len);
	rs->rdata_size = (uint32_t)len;
	return ttls_col(q, r, col + 5, rs->count, &rs->ttls, err, errlen);
}

static int rrset_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	struct rrset_walk *w = arg;
	struct store_rrset rs;
	(void)page;
	int rc = rrset_from(q, r, 0, &rs, w->err, w->errlen);
	return rc < 0 ? rc : w->fn(&rs, w->arg);
}

int pg_rrset_foreach(struct store_txn *bt, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = pg_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, zid);
	rc =
	    pq_run(&q, t, c,
	           "SELECT owner, type, ttl, count, rdata, ttls FROM rrsets WHERE zone_id = $1 ORDER BY sort_key, type",
	           err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0)
		rc = pq_walk(&q, 0, rrset_row, &(struct rrset_walk){fn, arg, err, errlen}, NULL);
	pq_clear(&q);
	return rc;
}

int pg_zone_load(struct store_txn *bt, const uint8_t *after, unsigned limit, store_zone_fn zone_fn,
                 store_rrset_fn rrset_fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t key[STORE_SORT_KEY_MAX + 1];
	struct pconn *c = NULL;
	struct pq q = {0};
	size_t klen = 0;
	int rc;
	struct store_page scratch = {0};
	page = page ? page : &scratch;
	*page = (struct store_page){0};
	if (limit == 0)
		return pg_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	if ((rc = store_cursor_key(after, key, &klen, err, errlen)) < 0)
		return rc;
	if ((rc = pg_conn_take(t, false, &c, err, errlen)) < 0)
		return rc;
	pq_blob(&q, 1, key, klen);
	pq_int(&q, 2, (int64_t)limit + 1);
	rc = pq_run(&q, t, c,
	            "SELECT " ZONE_COLS ", r.owner, r.type, r.ttl, r.count, r.rdata, r.ttls FROM (SELECT * FROM zones"
	            " WHERE sort_key >= $1 ORDER BY sort_key LIMIT $2) AS zones LEFT JOIN rrsets r"
	            " ON r.zone_id = zones.id ORDER BY zones.sort_key, r.sort_key, r.type",
	            err, errlen);
	pg_conn_give(t, c);
	rc = rc < 0 ? rc : 0;
	int64_t zone_id = -1;
	unsigned zones = 0;
	for (int r = 0; rc >= 0 && r < q.rows; r++) {
		int64_t id = pq_i(&q, r, 0);
		if (id != zone_id) {
			if (zones == limit) {
				page->more = true;
				break;
			}
			struct store_zone z;
			zone_from_row(&q, r, &z);
			memcpy(page->next_apex, z.apex, name_len(z.apex));
			zone_id = id;
			zones++;
			if ((rc = zone_fn(&z, arg)) != 0)
				break;
		}
		if (pq_isnull(&q, r, ZONE_NCOLS))
			continue;
		struct store_rrset rs;
		if ((rc = rrset_from(&q, r, ZONE_NCOLS, &rs, err, errlen)) < 0 || (rc = rrset_fn(&rs, arg)) != 0)
			break;
	}
	pq_clear(&q);
	return rc < 0 || rc > 0 ? rc : 0;
}
