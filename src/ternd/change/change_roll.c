/* Key rollovers of the store's signed zones: the zone's key rows read as lib/dnssec_roll.c's keys,
 * each step of its plan applied to the store (a key made, a key moved, with the key journal), and
 * the operator's (or the DS check's) word that a new KSK's DS is at the parent. */
#include "ternd/change/change_roll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec_roll.h"
#include "lib/dnssec_zone.h"
#include "lib/error.h"
#include "lib/name.h"
#include "ternd/base/log.h"

#define ROLL_KEYS_MAX 32 /* live keys of a zone (a rollover has at most four at once) */
#define ROLL_STEPS_MAX 64 /* steps in one run: a plan that does not settle is cut and logged */

struct roll_rows {
	struct store_key rows[ROLL_KEYS_MAX];
	struct roll_key keys[ROLL_KEYS_MAX];
	size_t n;
	bool removed; /* a removed key was left out (the plan only needs to know one exists) */
	bool over; /* more live keys than ROLL_KEYS_MAX */
};

static enum roll_state state_to_roll(enum store_key_state s)
{
	switch (s) {
	case STORE_KEY_GENERATED: return ROLL_GENERATED;
	case STORE_KEY_PUBLISHED: return ROLL_PUBLISHED;
	case STORE_KEY_READY: return ROLL_READY;
	case STORE_KEY_ACTIVE: return ROLL_ACTIVE;
	case STORE_KEY_RETIRED: return ROLL_RETIRED;
	case STORE_KEY_REVOKED: return ROLL_REVOKED;
	case STORE_KEY_REMOVED: return ROLL_REMOVED;
	}
	return ROLL_REMOVED;
}

static enum store_key_state state_to_store(enum roll_state s)
{
	static const enum store_key_state map[ROLL_NSTATES] = {
	    STORE_KEY_GENERATED, STORE_KEY_PUBLISHED, STORE_KEY_READY,   STORE_KEY_ACTIVE,
	    STORE_KEY_RETIRED,   STORE_KEY_REVOKED,   STORE_KEY_REMOVED,
	};
	return (unsigned)s < ROLL_NSTATES ? map[s] : STORE_KEY_REMOVED;
}

static enum roll_role role_to_roll(enum store_key_role r)
{
	return r == STORE_KEY_KSK ? ROLL_KSK : r == STORE_KEY_CSK ? ROLL_CSK : ROLL_ZSK;
}

static enum store_key_role role_to_store(enum roll_role r)
{
	return r == ROLL_KSK ? STORE_KEY_KSK : r == ROLL_CSK ? STORE_KEY_CSK : STORE_KEY_ZSK;
}

/* The row's time of entering s. */
static int64_t *state_time(struct store_key *k, enum roll_state s)
{
	switch (s) {
	case ROLL_GENERATED: return &k->created;
	case ROLL_PUBLISHED: return &k->published;
	case ROLL_READY: return &k->ready;
	case ROLL_ACTIVE: return &k->active;
	case ROLL_RETIRED: return &k->retired;
	case ROLL_REVOKED: return &k->revoked;
	default: return &k->removed;
	}
}

static void key_from_row(struct roll_key *rk, const struct store_key *k, int64_t now)
{
	memset(rk, 0, sizeof(*rk));
	rk->tag = k->tag;
	rk->algorithm = k->algorithm;
	rk->role = role_to_roll(k->role);
	rk->state = state_to_roll(k->state);
	rk->use = k->use;
	rk->since = k->since;
	rk->ds_seen = k->ds_seen;
	struct store_key copy = *k;
	for (int s = 0; s < ROLL_NSTATES; s++) {
		int64_t t = *state_time(&copy, (enum roll_state)s);
		/* a time still ahead is a plan (the first signing writes "ready" ahead), not a fact */
		rk->at[s] = t > now && s != ROLL_GENERATED ? 0 : t;
	}
}

struct rows_read {
	struct roll_rows *r;
	int64_t now;
};

static int row_read(const struct store_key *k, void *arg)
{
	struct rows_read *rr = arg;
	struct roll_rows *r = rr->r;
	if (k->state == STORE_KEY_REMOVED && r->removed)
		return 0;
	if (r->n == ROLL_KEYS_MAX) {
		r->over = true;
		return 0;
	}
	r->removed |= k->state == STORE_KEY_REMOVED;
	r->rows[r->n] = *k;
	r->rows[r->n].pem = NULL;
	r->rows[r->n].pem_len = 0;
	key_from_row(&r->keys[r->n], k, rr->now);
	r->n++;
	return 0;
}

static int rows_load(struct store_txn *t, const uint8_t *apex, int64_t now, struct roll_rows *r, char *err,
                     size_t errlen)
{
	memset(r, 0, sizeof(*r));
	struct rows_read rr = {r, now};
	int rc = store_key_foreach(t, apex, false, row_read, &rr, err, errlen);
	if (rc == 0 && r->over) {
		snprintf(err, errlen, "more than %d keys in use: rollovers stop", ROLL_KEYS_MAX);
		rc = TERN_EINVAL;
	}
	return rc;
}

static void roll_policy_of(const struct dnssec_policy *p, struct roll_policy *rp)
{
	*rp = (struct roll_policy){.algorithm = p->algorithm,
	                           .csk = p->csk,
	                           .zsk_lifetime = p->csk ? 0 : p->zsk_lifetime,
	                           .ksk_lifetime = p->csk ? p->csk_lifetime : p->ksk_lifetime,
	                           .dnskey_ttl = p->dnskey_ttl,
	                           .zone_max_ttl = p->max_zone_ttl,
	                           .propagation_delay = p->propagation_delay,
	                           .ds_ttl = p->ds_ttl,
	                           .cds = p->cds,
	                           .rfc5011 = p->rfc5011,
	                           .add_holddown = p->add_holddown,
	                           .remove_holddown = p->remove_holddown};
}

/* Makes the key a ROLL_GENERATE step asks for and stores it (private key and all). */
static int key_generate(struct store_txn *t, const uint8_t *apex, const struct roll_step *st, int64_t now,
                        struct store_key *out, char *err, size_t errlen)
{
	struct dnssec_key *k = NULL;
	uint16_t flags = st->role == ROLL_ZSK ? DNSSEC_ZSK : DNSSEC_KSK;
	int rc = dnssec_key_generate(st->algorithm, flags, &k, err, errlen);
	if (rc < 0)
		return rc;
	struct store_key sk = {.tag = dnssec_key_tag(k),
	                       .algorithm = st->algorithm,
	                       .flags = flags,
	                       .role = role_to_store(st->role),
	                       .state = state_to_store(st->state),
	                       .created = now,
	                       .use = st->use,
	                       .since = now};
	*state_time(&sk, st->state) = now;
	if (st->use & ROLL_USE_PUBLISH)
		sk.published = now;
	char *pem = NULL;
	size_t pem_len = 0;
	int len = dnssec_key_dnskey(k, sk.dnskey, sizeof(sk.dnskey));
	if (len < 0) {
		snprintf(err, errlen, "the new key's DNSKEY does not fit");
		rc = len;
	} else if ((rc = dnssec_key_to_pem(k, &pem, &pem_len, err, errlen)) == 0) {
		sk.dnskey_len = (uint16_t)len;
		sk.pem = pem;
		sk.pem_len = pem_len;
		rc = store_key_add(t, apex, &sk, st->reason, err, errlen);
		dnssec_pem_free(pem, pem_len);
		sk.pem = NULL;
		sk.pem_len = 0;
	}
	dnssec_key_free(k);
	if (rc == 0)
		*out = sk;
	return rc;
}

/* Applies st to r (and the store, in one transaction). */
static int step_apply(struct change *c, const uint8_t *apex, struct roll_rows *r, const struct roll_step *st,
                      int64_t now, char *err, size_t errlen)
{
	struct store_txn *t = NULL;
	struct store_key k;
	int rc = store_begin(c->store, &t, err, errlen);
	if (rc < 0)
		return rc;
	if (st->kind == ROLL_GENERATE) {
		if (r->n == ROLL_KEYS_MAX) {
			store_rollback(t);
			snprintf(err, errlen, "more than %d keys in use: rollovers stop", ROLL_KEYS_MAX);
			return TERN_EINVAL;
		}
		rc = key_generate(t, apex, st, now, &k, err, errlen);
	} else {
		k = r->rows[st->key];
		enum store_key_state from = k.state, to = state_to_store(st->state);
		if (to != from)
			*state_time(&k, st->state) = now;
		k.state = to;
		k.use = st->use;
		k.since = now;
		rc = store_key_update(t, apex, &k, from, st->reason, err, errlen);
	}
	if (rc < 0) {
		store_rollback(t);
		return rc;
	}
	if ((rc = store_commit(t, err, errlen)) < 0)
		return rc;
	size_t i = st->kind == ROLL_GENERATE ? r->n++ : st->key;
	r->rows[i] = k;
	key_from_row(&r->keys[i], &k, now);
	return 0;
}

static void step_text(const struct roll_step *st, const struct roll_rows *r, char *out, size_t len)
{
	if (st->kind == ROLL_GENERATE)
		snprintf(out, len, "a new %s (%s, %s): %s", roll_role_name(st->role), roll_state_name(st->state),
		         dnssec_alg_name(st->algorithm), st->reason);
	else
		snprintf(out, len, "%s %u: %s -> %s: %s", roll_role_name(r->keys[st->key].role), r->keys[st->key].tag,
		         roll_state_name(r->keys[st->key].state), roll_state_name(st->state), st->reason);
}

static int roll_plan(struct change *c, const uint8_t *apex, const struct roll_policy *p, struct roll_rows *rows,
                     int64_t now, bool *changed, int64_t *next, char *what, char *err, size_t errlen)
{
	char name[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, name, sizeof(name));
	int rc = rows_load(store_latest(c->store), apex, now, rows, err, errlen);
	if (rc < 0)
		return rc;
	struct roll_step st;
	for (int n = 0;; n++) {
		roll_next(p, rows->keys, rows->n, now, &st, next);
		if (st.kind == ROLL_NONE)
			break;
		if (n == ROLL_STEPS_MAX) {
			snprintf(err, errlen, "the rollover plan did not settle after %d steps (last: %s)", n,
			         st.reason);
			return TERN_EINVAL;
		}
		bool gen = st.kind == ROLL_GENERATE;
		unsigned before = gen ? 0 : rows->keys[st.key].use;
		char text[CHANGE_ROLL_WHAT_MAX];
		step_text(&st, rows, text, sizeof(text));
		if ((rc = step_apply(c, apex, rows, &st, now, err, errlen)) < 0)
			return rc;
		log_info("zone %s: key %u: %s", name, rows->keys[gen ? rows->n - 1 : st.key].tag, text);
		*changed |= gen || before != st.use;
	}
	if (*next != INT64_MAX) { /* what the plan will do then */
		int64_t after;
		roll_next(p, rows->keys, rows->n, *next, &st, &after);
		if (st.kind != ROLL_NONE)
			step_text(&st, rows, what, CHANGE_ROLL_WHAT_MAX);
	}
	return 0;
}

int change_roll_run(struct change *c, const uint8_t *apex, const struct dnssec_policy *p, int64_t now, bool *changed,
                    bool *ds_waiting, uint16_t *ds_tag, int64_t *next, char *what, char *err, size_t errlen)
{
	*changed = false;
	*ds_waiting = false;
	*ds_tag = 0;
	*next = INT64_MAX;
	what[0] = 0;
	struct roll_policy rp;
	roll_policy_of(p, &rp);
	struct roll_rows *rows = malloc(sizeof(*rows)); /* tens of kB: not for the signer's stack */
	if (!rows) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	int rc = roll_plan(c, apex, &rp, rows, now, changed, next, what, err, errlen);
	for (size_t i = 0; rc == 0 && i < rows->n; i++)
		if (rows->keys[i].role != ROLL_ZSK && rows->keys[i].state == ROLL_READY && !rows->keys[i].ds_seen &&
		    !*ds_waiting) {
			*ds_waiting = true;
			*ds_tag = rows->keys[i].tag; /* the first waiting: the one ksk-submission names */
		}
	free(rows);
	return rc;
}

unsigned change_roll_zone_use(const struct store_key *row, struct dnssec_key *k)
{
	unsigned use = (row->use & ROLL_USE_PUBLISH ? DNSSEC_ZONE_PUBLISH : 0u) |
	               (row->use & ROLL_USE_SIGN ? DNSSEC_ZONE_SIGN : 0u);
	if ((use & DNSSEC_ZONE_SIGN) && row->role == STORE_KEY_CSK)
		use |= DNSSEC_ZONE_ALL; /* beside a KSK + ZSK (a rollover between the schemes) it still signs all */
	char err[128];
	if (use && (row->use & ROLL_USE_REVOKE) &&
	    dnssec_key_set_flags(k, (uint16_t)(row->flags | DNSSEC_FLAG_REVOKE), err, sizeof(err)) < 0)
		return 0;
	return use;
}

unsigned change_roll_first_use(enum store_key_role role, const struct dnssec_policy *p)
{
	return ROLL_USE_PUBLISH | ROLL_USE_SIGN | (role != STORE_KEY_ZSK && p->cds ? ROLL_USE_CDS : 0u);
}

#define ROLL_WAITING_MAX 8 /* KSKs waiting for their DS at once (one per rollover under way) */

struct waiting {
	struct store_key rows[ROLL_WAITING_MAX];
	size_t n;
};

static int waiting_key(const struct store_key *k, void *arg)
{
	struct waiting *w = arg;
	if (k->role != STORE_KEY_ZSK && k->state == STORE_KEY_READY && !k->ds_seen && w->n < ROLL_WAITING_MAX) {
		w->rows[w->n] = *k;
		w->rows[w->n].pem = NULL;
		w->n++;
	}
	return 0;
}

int change_roll_ds_seen(struct change *c, const uint8_t *apex, const char *who, char *err, size_t errlen)
{
	struct store_txn *t = NULL;
	struct waiting w = {.n = 0};
	char reason[STORE_REASON_MAX + 1];
	snprintf(reason, sizeof(reason), "its DS is at the parent (%s)", who);
	int rc = store_begin(c->store, &t, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = store_key_foreach(t, apex, false, waiting_key, &w, err, errlen)) < 0)
		goto fail;
	if (w.n == 0) {
		snprintf(err, errlen, "no KSK or CSK is waiting for its DS (none is ready without its DS seen)");
		rc = TERN_ENOTFOUND;
		goto fail;
	}
	for (size_t i = 0; i < w.n; i++) {
		w.rows[i].ds_seen = true;
		if ((rc = store_key_update(t, apex, &w.rows[i], w.rows[i].state, reason, err, errlen)) < 0)
			goto fail;
	}
	return store_commit(t, err, errlen);
fail:
	store_rollback(t);
	return rc;
}

int change_dnssec_ds_submitted(struct change *c, const uint8_t *apex, const char *principal, char *msg, size_t msglen)
{
	char who[160];
	snprintf(who, sizeof(who), "confirmed by %s", principal);
	change_lock(c);
	int rc = change_roll_ds_seen(c, apex, who, msg, msglen);
	if (rc == 0)
		change_dnssec_roll_soon(c, apex);
	change_unlock(c);
	return rc;
}
