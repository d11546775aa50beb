/* The PostgreSQL store's DNSSEC rows: a zone's signing policy and state, its keys (the private key
 * read only for the signer), and the journal of its keys' state changes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/store/store.h"
#include "ternd/store/store_pg_impl.h"

#define DNSSEC_COLS                                                                                                    \
	"policy_name, algorithm, denial, nsec3_opt_out, csk, ksk_lifetime, zsk_lifetime, csk_lifetime, dnskey_ttl, "   \
	"max_zone_ttl, propagation_delay, rrsig_lifetime, rrsig_refresh, rrsig_jitter, rrsig_inception, cds, "         \
	"parents, state, updated_at, ds_ttl, ds_check_interval, rfc5011, add_holddown, remove_holddown, "              \
	"unsigning_at, ds_gone_at"
#define KEY_COLS_PUBLIC                                                                                                \
	"key_tag, algorithm, flags, role, public_key, state, created_at, publish_at, ready_at, active_at, retire_at, " \
	"remove_at, revoke_at, use_bits, since, ds_seen"

static enum store_key_state key_state(const char *text)
{
	for (int s = STORE_KEY_GENERATED; s <= STORE_KEY_STATE_LAST; s++)
		if (strcmp(text, store_key_state_name((enum store_key_state)s)) == 0)
			return (enum store_key_state)s;
	return 0;
}

static enum store_key_role key_role(const char *text)
{
	for (int r = STORE_KEY_KSK; r <= STORE_KEY_CSK; r++)
		if (strcmp(text, store_key_role_name((enum store_key_role)r)) == 0)
			return (enum store_key_role)r;
	return 0;
}

static uint32_t col_u32(const struct pq *q, int col)
{
	int64_t v = pq_i(q, 0, col);
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void parents_read(const char *s, struct dnssec_policy *p)
{
	p->nparents = 0;
	while (*s && p->nparents < DNSSEC_POLICY_PARENTS_MAX) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, " ");
		if (n == 0)
			break;
		if (n <= DNSSEC_POLICY_ADDR_MAX) {
			memcpy(p->parents[p->nparents], s, n);
			p->parents[p->nparents++][n] = 0;
		}
		s += n;
	}
}

int pg_dnssec_get(struct store_txn *bt, const uint8_t *apex, struct store_dnssec *out, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = pg_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, zid);
	rc = pq_run(&q, t, c, "SELECT " DNSSEC_COLS " FROM dnssec_zones WHERE zone_id = $1", err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "zone %s is not signed", store_name_text(lapex, zn));
	if (rc > 0) {
		memset(out, 0, sizeof(*out));
		struct dnssec_policy *p = &out->policy;
		pq_copy(&q, 0, 0, p->name, sizeof(p->name));
		p->algorithm = (uint8_t)pq_i(&q, 0, 1);
		p->nsec.nsec3 = strcmp(pq_s(&q, 0, 2), "nsec3") == 0;
		p->nsec.optout = pq_i(&q, 0, 3) != 0;
		p->csk = pq_i(&q, 0, 4) != 0;
		p->ksk_lifetime = col_u32(&q, 5);
		p->zsk_lifetime = col_u32(&q, 6);
		p->csk_lifetime = col_u32(&q, 7);
		p->dnskey_ttl = col_u32(&q, 8);
		p->max_zone_ttl = col_u32(&q, 9);
		p->propagation_delay = col_u32(&q, 10);
		p->rrsig_lifetime = col_u32(&q, 11);
		p->rrsig_refresh = col_u32(&q, 12);
		p->rrsig_jitter = col_u32(&q, 13);
		p->rrsig_inception = col_u32(&q, 14);
		p->cds = pq_i(&q, 0, 15) != 0;
		parents_read(pq_s(&q, 0, 16), p);
		out->state = strcmp(pq_s(&q, 0, 17), "signed") == 0 ? STORE_DNSSEC_SIGNED : STORE_DNSSEC_SIGNING;
		out->updated = pq_i(&q, 0, 18);
		p->ds_ttl = col_u32(&q, 19);
		p->ds_check_interval = col_u32(&q, 20);
		p->rfc5011 = pq_i(&q, 0, 21) != 0;
		p->add_holddown = col_u32(&q, 22);
		p->remove_holddown = col_u32(&q, 23);
		out->unsigning = pq_i(&q, 0, 24);
		out->ds_gone = pq_i(&q, 0, 25);
		rc = 0;
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_dnssec_put(struct store_txn *bt, const uint8_t *apex, const struct store_dnssec *d, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	const struct dnssec_policy *p = &d->policy;
	if (d->state != STORE_DNSSEC_SIGNING && d->state != STORE_DNSSEC_SIGNED)
		return pg_err(err, errlen, TERN_EINVAL, "unknown DNSSEC state %d", (int)d->state);
	if (p->nparents > DNSSEC_POLICY_PARENTS_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "more than %d parents", DNSSEC_POLICY_PARENTS_MAX);
	char parents[DNSSEC_POLICY_PARENTS_MAX * (DNSSEC_POLICY_ADDR_MAX + 1) + 1] = "";
	size_t at = 0;
	for (unsigned i = 0; i < p->nparents; i++) {
		size_t n = strnlen(p->parents[i], DNSSEC_POLICY_ADDR_MAX + 1);
		if (n == 0 || n > DNSSEC_POLICY_ADDR_MAX || strchr(p->parents[i], ' '))
			return pg_err(err, errlen, TERN_EINVAL, "parents[%u] is not one address", i);
		at += (size_t)snprintf(parents + at, sizeof(parents) - at, "%s%s", i ? " " : "", p->parents[i]);
	}
	if (strnlen(p->name, sizeof(p->name)) >= sizeof(p->name))
		return pg_err(err, errlen, TERN_EINVAL, "policy name too long");
	int rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_text(&q, 2, p->name);
	pq_int(&q, 3, p->algorithm);
	pq_text(&q, 4, p->nsec.nsec3 ? "nsec3" : "nsec");
	pq_int(&q, 5, p->nsec.optout);
	pq_int(&q, 6, p->csk);
	pq_int(&q, 7, p->ksk_lifetime);
	pq_int(&q, 8, p->zsk_lifetime);
	pq_int(&q, 9, p->csk_lifetime);
	pq_int(&q, 10, p->dnskey_ttl);
	pq_int(&q, 11, p->max_zone_ttl);
	pq_int(&q, 12, p->propagation_delay);
	pq_int(&q, 13, p->rrsig_lifetime);
	pq_int(&q, 14, p->rrsig_refresh);
	pq_int(&q, 15, p->rrsig_jitter);
	pq_int(&q, 16, p->rrsig_inception);
	pq_int(&q, 17, p->cds);
	pq_text(&q, 18, parents);
	pq_text(&q, 19, d->state == STORE_DNSSEC_SIGNED ? "signed" : "signing");
	pq_int(&q, 20, t->now);
	pq_int(&q, 21, p->ds_ttl);
	pq_int(&q, 22, p->ds_check_interval);
	pq_int(&q, 23, p->rfc5011);
	pq_int(&q, 24, p->add_holddown);
	pq_int(&q, 25, p->remove_holddown);
	pq_int(&q, 26, d->unsigning);
	pq_int(&q, 27, d->ds_gone);
	rc =
	    pq_run(&q, t, c,
	           "INSERT INTO dnssec_zones (zone_id, " DNSSEC_COLS ") VALUES ($1, $2, $3, $4, $5::int::boolean,"
	           " $6::int::boolean, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::int::boolean, $18, $19, $20,"
	           " $21, $22, $23::int::boolean, $24, $25, $26, $27) ON CONFLICT (zone_id) DO UPDATE SET"
	           " policy_name = excluded.policy_name, algorithm = excluded.algorithm, denial = excluded.denial,"
	           " nsec3_opt_out = excluded.nsec3_opt_out, csk = excluded.csk, ksk_lifetime = excluded.ksk_lifetime,"
	           " zsk_lifetime = excluded.zsk_lifetime, csk_lifetime = excluded.csk_lifetime,"
	           " dnskey_ttl = excluded.dnskey_ttl, max_zone_ttl = excluded.max_zone_ttl,"
	           " propagation_delay = excluded.propagation_delay, rrsig_lifetime = excluded.rrsig_lifetime,"
	           " rrsig_refresh = excluded.rrsig_refresh, rrsig_jitter = excluded.rrsig_jitter,"
	           " rrsig_inception = excluded.rrsig_inception, cds = excluded.cds, parents = excluded.parents,"
	           " state = excluded.state, updated_at = excluded.updated_at, ds_ttl = excluded.ds_ttl,"
	           " ds_check_interval = excluded.ds_check_interval, rfc5011 = excluded.rfc5011,"
	           " add_holddown = excluded.add_holddown, remove_holddown = excluded.remove_holddown,"
	           " unsigning_at = excluded.unsigning_at, ds_gone_at = excluded.ds_gone_at",
	           err, errlen);
	rc = rc < 0 ? rc : 0;
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_dnssec_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, zid);
	if ((rc = pq_run(&q, t, c, "DELETE FROM dnssec_zones WHERE zone_id = $1", err, errlen)) >= 0)
		rc = q.changes
		         ? 0
		         : pg_err(err, errlen, TERN_ENOTFOUND, "zone %s is not signed", store_name_text(lapex, zn));
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

/* The key's move is journaled at its own time (since), not the transaction's. */
static int key_event(struct pg_txn *t, struct pconn *c, int64_t zid, const struct store_key *k,
                     enum store_key_state from, const char *reason, char *err, size_t errlen)
{
	struct pq q = {0};
	pq_int(&q, 1, zid);
	pq_int(&q, 2, k->since ? k->since : t->now);
	pq_int(&q, 3, k->tag);
	pq_text(&q, 4, from ? store_key_state_name(from) : "");
	pq_text(&q, 5, store_key_state_name(k->state));
	pq_text(&q, 6, reason);
	int rc = pq_run(&q, t, c,
	                "INSERT INTO dnssec_key_journal (zone_id, changed_at, key_tag, from_state, to_state, reason)"
	                " VALUES ($1, $2, $3, $4, $5, $6)",
	                err, errlen);
	pq_clear(&q);
	return rc < 0 ? rc : 0;
}

int pg_key_add(struct store_txn *bt, const uint8_t *apex, struct store_key *k, const char *reason, char *err,
               size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = store_take_text(reason, STORE_REASON_MAX, "reason", err, errlen);
	if (rc < 0)
		return rc;
	if (!k->pem || k->pem_len == 0 || k->pem_len > DNSSEC_PEM_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "key %u: no private key", k->tag);
	if (k->dnskey_len < 4 || k->dnskey_len > DNSSEC_DNSKEY_MAX)
		return pg_err(err, errlen, TERN_EINVAL, "key %u: DNSKEY of %u octets", k->tag, k->dnskey_len);
	if (!key_role(store_key_role_name(k->role)) || !key_state(store_key_state_name(k->state)) || k->use > 15)
		return pg_err(err, errlen, TERN_EINVAL, "key %u: unknown role, state or use", k->tag);
	if ((rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, k->tag);
	pq_int(&q, 3, k->algorithm);
	pq_int(&q, 4, k->flags);
	pq_text(&q, 5, store_key_role_name(k->role));
	pq_blob(&q, 6, k->dnskey, k->dnskey_len);
	pq_text(&q, 7, store_key_state_name(k->state));
	pq_int(&q, 8, k->created ? k->created : t->now);
	pq_int(&q, 9, k->published);
	pq_int(&q, 10, k->ready);
	pq_int(&q, 11, k->active);
	pq_int(&q, 12, k->retired);
	pq_int(&q, 13, k->removed);
	pq_int(&q, 14, k->revoked);
	pq_int(&q, 15, k->use);
	pq_int(&q, 16, k->since ? k->since : k->created ? k->created : t->now);
	pq_int(&q, 17, k->ds_seen);
	pq_blob(&q, 18, k->pem, k->pem_len);
	rc =
	    pq_run(&q, t, c,
	           "INSERT INTO dnssec_keys (zone_id, " KEY_COLS_PUBLIC ", private_key) VALUES ($1, $2, $3, $4, $5, $6,"
	           " $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::int::boolean, $18) RETURNING id",
	           err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_EIO, "key %u: no id", k->tag);
	if (rc > 0) {
		k->id = pq_i(&q, 0, 0);
		rc = key_event(t, c, zid, k, 0, reason, err, errlen);
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

int pg_key_update(struct store_txn *bt, const uint8_t *apex, const struct store_key *k, enum store_key_state from,
                  const char *reason, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = store_take_text(reason, STORE_REASON_MAX, "reason", err, errlen);
	if (rc < 0)
		return rc;
	if (!key_state(store_key_state_name(k->state)))
		return pg_err(err, errlen, TERN_EINVAL, "key %u: unknown state %d", k->tag, (int)k->state);
	if (k->use > 15)
		return pg_err(err, errlen, TERN_EINVAL, "key %u: unknown use bits %u", k->tag, k->use);
	if ((rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, k->id);
	pq_text(&q, 3, store_key_state_name(k->state));
	pq_int(&q, 4, k->published);
	pq_int(&q, 5, k->ready);
	pq_int(&q, 6, k->active);
	pq_int(&q, 7, k->retired);
	pq_int(&q, 8, k->removed);
	pq_int(&q, 9, k->revoked);
	pq_int(&q, 10, k->use);
	pq_int(&q, 11, k->since);
	pq_int(&q, 12, k->ds_seen);
	rc = pq_run(&q, t, c,
	            "UPDATE dnssec_keys SET state = $3, publish_at = $4, ready_at = $5, active_at = $6, retire_at = $7,"
	            " remove_at = $8, revoke_at = $9, use_bits = $10, since = $11, ds_seen = $12::int::boolean"
	            " WHERE zone_id = $1 AND id = $2 RETURNING key_tag",
	            err, errlen);
	if (rc == 0)
		rc = pg_err(err, errlen, TERN_ENOTFOUND, "zone %s has no key %" PRId64, store_name_text(lapex, zn),
		            k->id);
	if (rc > 0) {
		struct store_key ev = *k;
		ev.tag = (uint16_t)pq_i(&q, 0, 0);
		rc = from == k->state ? 0 : key_event(t, c, zid, &ev, from, reason, err, errlen);
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc;
}

static int key_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_key_fn fn;
		void *arg;
	} *w = arg;
	struct store_key k = {0};
	(void)page;
	k.id = pq_i(q, r, 0);
	k.tag = (uint16_t)pq_i(q, r, 1);
	k.algorithm = (uint8_t)pq_i(q, r, 2);
	k.flags = (uint16_t)pq_i(q, r, 3);
	k.role = key_role(pq_s(q, r, 4));
	size_t n;
	const uint8_t *dk = pq_b(q, r, 5, &n);
	if (dk && n <= sizeof(k.dnskey)) {
		memcpy(k.dnskey, dk, n);
		k.dnskey_len = (uint16_t)n;
	}
	k.state = key_state(pq_s(q, r, 6));
	k.created = pq_i(q, r, 7);
	k.published = pq_i(q, r, 8);
	k.ready = pq_i(q, r, 9);
	k.active = pq_i(q, r, 10);
	k.retired = pq_i(q, r, 11);
	k.removed = pq_i(q, r, 12);
	k.revoked = pq_i(q, r, 13);
	k.use = (unsigned)pq_i(q, r, 14);
	k.since = pq_i(q, r, 15);
	k.ds_seen = pq_i(q, r, 16) != 0;
	if (!pq_isnull(q, r, 17))
		k.pem = (const char *)pq_b(q, r, 17, &k.pem_len);
	return w->fn(&k, w->arg);
}

int pg_key_foreach(struct store_txn *bt, const uint8_t *apex, bool private_keys, store_key_fn fn, void *arg, char *err,
                   size_t errlen)
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
	pq_int(&q, 2, private_keys);
	rc = pq_run(&q, t, c,
	            "SELECT id, " KEY_COLS_PUBLIC ", CASE WHEN $2::int = 1 THEN private_key END"
	            " FROM dnssec_keys WHERE zone_id = $1 ORDER BY id",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_key_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, 0, key_row, &w, NULL);
	}
	pq_clear(&q);
	return rc;
}

static int event_row(const struct pq *q, int r, void *arg, struct store_page *page)
{
	const struct {
		store_key_event_fn fn;
		void *arg;
	} *w = arg;
	struct store_key_event e;
	e.id = page->next_id = pq_i(q, r, 0);
	e.time = pq_i(q, r, 1);
	e.tag = (uint16_t)pq_i(q, r, 2);
	e.from = key_state(pq_s(q, r, 3));
	e.to = key_state(pq_s(q, r, 4));
	e.reason = pq_s(q, r, 5);
	return w->fn(&e, w->arg);
}

int pg_key_journal(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_key_event_fn fn,
                   void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	if (limit == 0)
		return pg_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	int rc = pg_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	pq_int(&q, 1, zid);
	pq_int(&q, 2, before > 0 ? before : INT64_MAX);
	pq_int(&q, 3, (int64_t)limit + 1);
	rc = pq_run(&q, t, c,
	            "SELECT id, changed_at, key_tag, from_state, to_state, reason FROM dnssec_key_journal"
	            " WHERE zone_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
	            err, errlen);
	pg_conn_give(t, c);
	if (rc >= 0) {
		struct {
			store_key_event_fn fn;
			void *arg;
		} w = {fn, arg};
		rc = pq_walk(&q, limit, event_row, &w, page);
	}
	pq_clear(&q);
	return rc;
}

int pg_key_delete_all(struct store_txn *bt, const uint8_t *apex, const char *reason, char *err, size_t errlen)
{
	struct pg_txn *t = (struct pg_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct pconn *c = NULL;
	struct pq q = {0};
	int64_t zid;
	int rc = store_take_text(reason, STORE_REASON_MAX, "reason", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = pg_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	pq_int(&q, 1, zid);
	rc = pq_run(&q, t, c, "DELETE FROM dnssec_keys WHERE zone_id = $1 RETURNING key_tag, state", err, errlen);
	/* the rows deleted first, then their journal entries */
	for (int r = 0; rc >= 0 && r < q.rows; r++) {
		struct store_key gone = {.tag = (uint16_t)pq_i(&q, r, 0), .state = STORE_KEY_REMOVED};
		rc = key_event(t, c, zid, &gone, key_state(pq_s(&q, r, 1)), reason, err, errlen);
	}
	pq_clear(&q);
	pg_conn_give(t, c);
	return rc < 0 ? rc : 0;
}
