/* The SQLite store's DNSSEC rows: a zone's signing policy and state, its keys (the private key
 * read only for the signer), and the journal of its keys' state changes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/store/store.h"
#include "ternd/store/store_sqlite_impl.h"

static const char *state_text(enum store_dnssec_state s)
{
	return s == STORE_DNSSEC_SIGNED ? "signed" : "signing";
}

static enum store_key_state key_state(const unsigned char *text)
{
	for (int s = STORE_KEY_GENERATED; s <= STORE_KEY_STATE_LAST; s++)
		if (text && strcmp((const char *)text, store_key_state_name((enum store_key_state)s)) == 0)
			return (enum store_key_state)s;
	return 0;
}

static enum store_key_role key_role(const unsigned char *text)
{
	for (int r = STORE_KEY_KSK; r <= STORE_KEY_CSK; r++)
		if (text && strcmp((const char *)text, store_key_role_name((enum store_key_role)r)) == 0)
			return (enum store_key_role)r;
	return 0;
}

static uint32_t col_u32(sqlite3_stmt *s, int i)
{
	int64_t v = sqlite3_column_int64(s, i);
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* The parents, one word each. */
static void parents_read(const unsigned char *text, struct dnssec_policy *p)
{
	p->nparents = 0;
	const char *s = text ? (const char *)text : "";
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

int sq_dnssec_get(struct store_txn *bt, const uint8_t *apex, struct store_dnssec *out, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_DNSSEC_GET, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	if (rc == 0) {
		rc = set_err(err, errlen, TERN_ENOTFOUND, "zone %s is not signed", store_name_text(lapex, zn));
		goto fail;
	}
	sqlite3_stmt *s = q.s;
	memset(out, 0, sizeof(*out));
	struct dnssec_policy *p = &out->policy;
	sq_col_text(s, 0, p->name, sizeof(p->name));
	p->algorithm = (uint8_t)sqlite3_column_int(s, 1);
	const unsigned char *denial = sqlite3_column_text(s, 2);
	p->nsec.nsec3 = denial && strcmp((const char *)denial, "nsec3") == 0;
	p->nsec.optout = sqlite3_column_int(s, 3) != 0;
	p->csk = sqlite3_column_int(s, 4) != 0;
	p->ksk_lifetime = col_u32(s, 5);
	p->zsk_lifetime = col_u32(s, 6);
	p->csk_lifetime = col_u32(s, 7);
	p->dnskey_ttl = col_u32(s, 8);
	p->max_zone_ttl = col_u32(s, 9);
	p->propagation_delay = col_u32(s, 10);
	p->rrsig_lifetime = col_u32(s, 11);
	p->rrsig_refresh = col_u32(s, 12);
	p->rrsig_jitter = col_u32(s, 13);
	p->rrsig_inception = col_u32(s, 14);
	p->cds = sqlite3_column_int(s, 15) != 0;
	parents_read(sqlite3_column_text(s, 16), p);
	const unsigned char *state = sqlite3_column_text(s, 17);
	out->state = state && strcmp((const char *)state, "signed") == 0 ? STORE_DNSSEC_SIGNED : STORE_DNSSEC_SIGNING;
	out->updated = sqlite3_column_int64(s, 18);
	p->ds_ttl = col_u32(s, 19);
	p->ds_check_interval = col_u32(s, 20);
	p->rfc5011 = sqlite3_column_int(s, 21) != 0;
	p->add_holddown = col_u32(s, 22);
	p->remove_holddown = col_u32(s, 23);
	out->unsigning = sqlite3_column_int64(s, 24);
	out->ds_gone = sqlite3_column_int64(s, 25);
	rc = 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_dnssec_put(struct store_txn *bt, const uint8_t *apex, const struct store_dnssec *d, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	const struct dnssec_policy *p = &d->policy;
	if (d->state != STORE_DNSSEC_SIGNING && d->state != STORE_DNSSEC_SIGNED)
		return set_err(err, errlen, TERN_EINVAL, "unknown DNSSEC state %d", (int)d->state);
	if (p->nparents > DNSSEC_POLICY_PARENTS_MAX)
		return set_err(err, errlen, TERN_EINVAL, "more than %d parents", DNSSEC_POLICY_PARENTS_MAX);
	char parents[DNSSEC_POLICY_PARENTS_MAX * (DNSSEC_POLICY_ADDR_MAX + 1) + 1] = "";
	size_t at = 0;
	for (unsigned i = 0; i < p->nparents; i++) {
		size_t n = strnlen(p->parents[i], DNSSEC_POLICY_ADDR_MAX + 1);
		if (n == 0 || n > DNSSEC_POLICY_ADDR_MAX || strchr(p->parents[i], ' '))
			return set_err(err, errlen, TERN_EINVAL, "parents[%u] is not one address", i);
		at += (size_t)snprintf(parents + at, sizeof(parents) - at, "%s%s", i ? " " : "", p->parents[i]);
	}
	if (strnlen(p->name, sizeof(p->name)) >= sizeof(p->name))
		return set_err(err, errlen, TERN_EINVAL, "policy name too long");
	int rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_DNSSEC_PUT, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_text(&q, 2, p->name);
	sq_q_int(&q, 3, p->algorithm);
	sq_q_text(&q, 4, p->nsec.nsec3 ? "nsec3" : "nsec");
	sq_q_int(&q, 5, p->nsec.optout);
	sq_q_int(&q, 6, p->csk);
	sq_q_int(&q, 7, p->ksk_lifetime);
	sq_q_int(&q, 8, p->zsk_lifetime);
	sq_q_int(&q, 9, p->csk_lifetime);
	sq_q_int(&q, 10, p->dnskey_ttl);
	sq_q_int(&q, 11, p->max_zone_ttl);
	sq_q_int(&q, 12, p->propagation_delay);
	sq_q_int(&q, 13, p->rrsig_lifetime);
	sq_q_int(&q, 14, p->rrsig_refresh);
	sq_q_int(&q, 15, p->rrsig_jitter);
	sq_q_int(&q, 16, p->rrsig_inception);
	sq_q_int(&q, 17, p->cds);
	sq_q_text(&q, 18, parents);
	sq_q_text(&q, 19, state_text(d->state));
	sq_q_int(&q, 20, t->now);
	sq_q_int(&q, 21, p->ds_ttl);
	sq_q_int(&q, 22, p->ds_check_interval);
	sq_q_int(&q, 23, p->rfc5011);
	sq_q_int(&q, 24, p->add_holddown);
	sq_q_int(&q, 25, p->remove_holddown);
	sq_q_int(&q, 26, d->unsigning);
	sq_q_int(&q, 27, d->ds_gone);
	rc = sq_q_step(&q, err, errlen);
	rc = rc < 0 ? rc : 0;
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_dnssec_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_DNSSEC_DELETE, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	if ((rc = sq_q_step(&q, err, errlen)) < 0)
		goto fail;
	rc = sqlite3_changes(c->db)
	         ? 0
	         : set_err(err, errlen, TERN_ENOTFOUND, "zone %s is not signed", store_name_text(lapex, zn));
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

/* The key's move is journaled at its own time (since: when the plan decided it), not the
 * transaction's, so the journal and the waits the plan counts from agree. */
static int key_event(struct sq_txn *t, struct conn *c, int64_t zid, const struct store_key *k,
                     enum store_key_state from, const char *reason, char *err, size_t errlen)
{
	struct q q;
	int rc = sq_q_open(&q, t, c, ST_KEY_EVENT_INSERT, err, errlen);
	if (rc < 0)
		return rc;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, k->since ? k->since : t->now);
	sq_q_int(&q, 3, k->tag);
	sq_q_text(&q, 4, from ? store_key_state_name(from) : "");
	sq_q_text(&q, 5, store_key_state_name(k->state));
	sq_q_text(&q, 6, reason);
	rc = sq_q_step(&q, err, errlen);
	sq_q_close(&q);
	return rc < 0 ? rc : 0;
}

int sq_key_add(struct store_txn *bt, const uint8_t *apex, struct store_key *k, const char *reason, char *err,
               size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = store_take_text(reason, STORE_REASON_MAX, "reason", err, errlen);
	if (rc < 0)
		return rc;
	if (!k->pem || k->pem_len == 0 || k->pem_len > DNSSEC_PEM_MAX)
		return set_err(err, errlen, TERN_EINVAL, "key %u: no private key", k->tag);
	if (k->dnskey_len < 4 || k->dnskey_len > DNSSEC_DNSKEY_MAX)
		return set_err(err, errlen, TERN_EINVAL, "key %u: DNSKEY of %u octets", k->tag, k->dnskey_len);
	if (!key_role((const unsigned char *)store_key_role_name(k->role)) ||
	    !key_state((const unsigned char *)store_key_state_name(k->state)) || k->use > 15)
		return set_err(err, errlen, TERN_EINVAL, "key %u: unknown role, state or use", k->tag);
	if ((rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_KEY_INSERT, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, k->tag);
	sq_q_int(&q, 3, k->algorithm);
	sq_q_int(&q, 4, k->flags);
	sq_q_text(&q, 5, store_key_role_name(k->role));
	sq_q_blob(&q, 6, k->dnskey, k->dnskey_len);
	sq_q_text(&q, 7, store_key_state_name(k->state));
	sq_q_int(&q, 8, k->created ? k->created : t->now);
	sq_q_int(&q, 9, k->published);
	sq_q_int(&q, 10, k->ready);
	sq_q_int(&q, 11, k->active);
	sq_q_int(&q, 12, k->retired);
	sq_q_int(&q, 13, k->removed);
	sq_q_int(&q, 14, k->revoked);
	sq_q_int(&q, 15, k->use);
	sq_q_int(&q, 16, k->since ? k->since : k->created ? k->created : t->now);
	sq_q_int(&q, 17, k->ds_seen);
	sq_q_blob(&q, 18, k->pem, k->pem_len);
	if ((rc = sq_q_step(&q, err, errlen)) <= 0) {
		if (rc == 0)
			rc = set_err(err, errlen, TERN_EIO, "key %u: no id", k->tag);
		goto fail;
	}
	k->id = sqlite3_column_int64(q.s, 0);
	sq_q_close(&q);
	rc = key_event(t, c, zid, k, 0, reason, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_key_update(struct store_txn *bt, const uint8_t *apex, const struct store_key *k, enum store_key_state from,
                  const char *reason, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	char zn[STORE_NAME_TEXT_MAX];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = store_take_text(reason, STORE_REASON_MAX, "reason", err, errlen);
	if (rc < 0)
		return rc;
	if (!key_state((const unsigned char *)store_key_state_name(k->state)))
		return set_err(err, errlen, TERN_EINVAL, "key %u: unknown state %d", k->tag, (int)k->state);
	if (k->use > 15)
		return set_err(err, errlen, TERN_EINVAL, "key %u: unknown use bits %u", k->tag, k->use);
	if ((rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_KEY_UPDATE, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, k->id);
	sq_q_text(&q, 3, store_key_state_name(k->state));
	sq_q_int(&q, 4, k->published);
	sq_q_int(&q, 5, k->ready);
	sq_q_int(&q, 6, k->active);
	sq_q_int(&q, 7, k->retired);
	sq_q_int(&q, 8, k->removed);
	sq_q_int(&q, 9, k->revoked);
	sq_q_int(&q, 10, k->use);
	sq_q_int(&q, 11, k->since);
	sq_q_int(&q, 12, k->ds_seen);
	if ((rc = sq_q_step(&q, err, errlen)) <= 0) {
		if (rc == 0)
			rc = set_err(err, errlen, TERN_ENOTFOUND, "zone %s has no key %" PRId64,
			             store_name_text(lapex, zn), k->id);
		goto fail;
	}
	struct store_key ev = *k;
	ev.tag = (uint16_t)sqlite3_column_int(q.s, 0);
	sq_q_close(&q);
	rc = from == k->state ? 0 : key_event(t, c, zid, &ev, from, reason, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int key_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_key k = {0};
	(void)page;
	k.id = sqlite3_column_int64(s, 0);
	k.tag = (uint16_t)sqlite3_column_int(s, 1);
	k.algorithm = (uint8_t)sqlite3_column_int(s, 2);
	k.flags = (uint16_t)sqlite3_column_int(s, 3);
	k.role = key_role(sqlite3_column_text(s, 4));
	size_t n;
	const uint8_t *dk = sq_col_blob(s, 5, &n);
	if (dk && n <= sizeof(k.dnskey)) {
		memcpy(k.dnskey, dk, n);
		k.dnskey_len = (uint16_t)n;
	}
	k.state = key_state(sqlite3_column_text(s, 6));
	k.created = sqlite3_column_int64(s, 7);
	k.published = sqlite3_column_int64(s, 8);
	k.ready = sqlite3_column_int64(s, 9);
	k.active = sqlite3_column_int64(s, 10);
	k.retired = sqlite3_column_int64(s, 11);
	k.removed = sqlite3_column_int64(s, 12);
	k.revoked = sqlite3_column_int64(s, 13);
	k.use = (unsigned)sqlite3_column_int(s, 14);
	k.since = sqlite3_column_int64(s, 15);
	k.ds_seen = sqlite3_column_int(s, 16) != 0;
	if (sqlite3_column_type(s, 17) != SQLITE_NULL) {
		k.pem = (const char *)sq_col_blob(s, 17, &k.pem_len);
	}
	return w->key(&k, w->arg);
}

int sq_key_foreach(struct store_txn *bt, const uint8_t *apex, bool private_keys, store_key_fn fn, void *arg, char *err,
                   size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	int rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_KEY_LIST, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, private_keys);
	rc = sq_walk_rows(&q, 0, key_row, &(struct walk){.key = fn, .arg = arg}, NULL, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

static int event_row(sqlite3_stmt *s, const struct walk *w, struct store_page *page)
{
	struct store_key_event e;
	e.id = page->next_id = sqlite3_column_int64(s, 0);
	e.time = sqlite3_column_int64(s, 1);
	e.tag = (uint16_t)sqlite3_column_int(s, 2);
	e.from = key_state(sqlite3_column_text(s, 3));
	e.to = key_state(sqlite3_column_text(s, 4));
	const unsigned char *r = sqlite3_column_text(s, 5);
	e.reason = r ? (const char *)r : "";
	return w->key_event(&e, w->arg);
}

int sq_key_journal(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_key_event_fn fn,
                   void *arg, struct store_page *page, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	if (limit == 0)
		return set_err(err, errlen, TERN_EINVAL, "limit must be at least 1");
	int rc = sq_zone_call(t, false, apex, NULL, lapex, NULL, &c, &zid, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_KEY_EVENTS, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	sq_q_int(&q, 2, before > 0 ? before : INT64_MAX);
	sq_q_int(&q, 3, (int64_t)limit + 1);
	rc = sq_walk_rows(&q, limit, event_row, &(struct walk){.key_event = fn, .arg = arg}, page, err, errlen);
fail:
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}

int sq_key_delete_all(struct store_txn *bt, const uint8_t *apex, const char *reason, char *err, size_t errlen)
{
	struct sq_txn *t = (struct sq_txn *)bt;
	uint8_t lapex[NAME_MAXLEN];
	struct conn *c = NULL;
	struct q q = {0};
	int64_t zid;
	struct store_key *gone = NULL;
	size_t n = 0, cap = 0;
	int rc = store_take_text(reason, STORE_REASON_MAX, "reason", err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = sq_zone_call(t, true, apex, NULL, lapex, NULL, &c, &zid, err, errlen)) < 0)
		return rc;
	if ((rc = sq_q_open(&q, t, c, ST_KEY_DELETE_ALL, err, errlen)) < 0)
		goto fail;
	sq_q_int(&q, 1, zid);
	/* the rows deleted first, then their journal entries (one statement at a time) */
	while ((rc = sq_q_step(&q, err, errlen)) > 0) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct store_key *g = realloc(gone, ncap * sizeof(*g));
			if (!g) {
				rc = set_err(err, errlen, TERN_ENOMEM, "out of memory");
				goto fail;
			}
			gone = g;
			cap = ncap;
		}
		gone[n++] = (struct store_key){.tag = (uint16_t)sqlite3_column_int(q.s, 0),
		                               .state = key_state(sqlite3_column_text(q.s, 1))};
	}
	if (rc < 0)
		goto fail;
	sq_q_close(&q);
	for (size_t i = 0; i < n && rc == 0; i++) {
		enum store_key_state from = gone[i].state;
		gone[i].state = STORE_KEY_REMOVED;
		rc = key_event(t, c, zid, &gone[i], from, reason, err, errlen);
	}
fail:
	free(gone);
	sq_q_close(&q);
	sq_conn_give(t, c);
	return rc;
}
