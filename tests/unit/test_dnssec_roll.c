/* Unit tests for lib/dnssec_roll: rollovers played second by second against a model of the
 * Internet -- a parent that copies CDS into DS (the registrar of the system test), and validators
 * that may hold any version of the DS, DNSKEY and signed data still within its TTL plus the
 * propagation delay. At every second every combination of cached versions must validate, and the
 * RFC 7583 waits are checked on the transitions. A sabotaged plan shows the model can fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dnssec_roll.h"

#define MAXK 64
#define MAXV 4096
#define T0 1800000000LL

/* A key as validators see it: its tag (a revoked key is another key), algorithm. */
struct vkey {
	uint16_t tag;
	uint8_t alg;
	bool revoked;
};

/* One version of something served, with the keys it names. */
struct version {
	int64_t from, until; /* served [from, until); until INT64_MAX while current */
	struct vkey keys[MAXK];
	int nkeys;
	struct vkey signers[MAXK]; /* DNSKEY: the keys signing the DNSKEY RRset */
	int nsigners;
};

struct history {
	struct version v[MAXV];
	int n;
};

struct sim {
	struct roll_policy p;
	struct roll_key k[MAXK];
	size_t n;
	uint16_t next_tag;
	struct history dnskey, data, ds;
	uint16_t cds[MAXK];
	int ncds;
	bool parent_frozen; /* the registrar never acts: a rollover must stall, not break */
	bool sabotage; /* remove retired ZSKs at once: validation must fail */
	int failures, transitions, rolls[3];
	int64_t cds_since; /* the registrar copies CDS to DS this long after it changes */
	char first_failure[256];
};

static bool same_keys(const struct vkey *a, int na, const struct vkey *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (a[i].tag != b[i].tag || a[i].alg != b[i].alg || a[i].revoked != b[i].revoked)
			return false;
	return true;
}

static void record(struct history *h, int64_t now, const struct vkey *keys, int nkeys, const struct vkey *signers,
                   int nsigners)
{
	if (h->n) {
		struct version *cur = &h->v[h->n - 1];
		if (same_keys(cur->keys, cur->nkeys, keys, nkeys) &&
		    same_keys(cur->signers, cur->nsigners, signers, nsigners))
			return;
		cur->until = now;
	}
	assert_true(h->n < MAXV);
	struct version *v = &h->v[h->n++];
	memset(v, 0, sizeof(*v));
	v->from = now;
	v->until = INT64_MAX;
	memcpy(v->keys, keys, sizeof(*keys) * (size_t)nkeys);
	v->nkeys = nkeys;
	memcpy(v->signers, signers, sizeof(*signers) * (size_t)nsigners);
	v->nsigners = nsigners;
}

static struct vkey vk(const struct roll_key *k)
{
	return (struct vkey){k->tag, k->algorithm, (k->use & ROLL_USE_REVOKE) != 0};
}

/* What the zone serves now, under lib/dnssec_zone's rules: KSKs (and CSKs) sign the DNSKEY RRset,
 * ZSKs the data; with no ZSK signing the KSKs sign the data too, with no KSK the ZSKs the keys. */
static void publish(struct sim *s, int64_t now)
{
	struct vkey pub[MAXK], ksign[MAXK], zsign[MAXK];
	int np = 0, nk = 0, nz = 0;
	s->ncds = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct roll_key *k = &s->k[i];
		if (k->use & ROLL_USE_PUBLISH)
			pub[np++] = vk(k);
		if (k->use & ROLL_USE_SIGN) {
			if (k->role != ROLL_ZSK)
				ksign[nk++] = vk(k);
			if (k->role != ROLL_KSK)
				zsign[nz++] = vk(k);
		}
		if (k->use & ROLL_USE_CDS)
			s->cds[s->ncds++] = k->tag;
	}
	if (!nz)
		for (size_t i = 0; i < s->n; i++)
			if ((s->k[i].use & ROLL_USE_SIGN) && s->k[i].role == ROLL_KSK)
				zsign[nz++] = vk(&s->k[i]);
	if (!nk)
		for (size_t i = 0; i < s->n; i++)
			if ((s->k[i].use & ROLL_USE_SIGN) && s->k[i].role == ROLL_ZSK)
				ksign[nk++] = vk(&s->k[i]);
	record(&s->dnskey, now, pub, np, ksign, nk);
	record(&s->data, now, zsign, nz, zsign, nz);
}

/* The registrar: CDS seen for a while becomes the DS RRset; ds_seen follows the DS RRset. */
static void parent(struct sim *s, int64_t now)
{
	const struct version *cur = s->ds.n ? &s->ds.v[s->ds.n - 1] : NULL;
	bool differs = s->ncds > 0 && (!cur || cur->nkeys != s->ncds);
	for (int i = 0; !differs && i < s->ncds; i++)
		differs = cur->keys[i].tag != s->cds[i];
	if (!differs) {
		s->cds_since = 0;
	} else if (!s->parent_frozen) {
		if (!s->cds_since)
			s->cds_since = now;
		if (now - s->cds_since >= 3) {
			struct vkey ds[MAXK];
			for (int i = 0; i < s->ncds; i++)
				for (size_t j = 0; j < s->n; j++)
					if (s->k[j].tag == s->cds[i])
						ds[i] = (struct vkey){s->k[j].tag, s->k[j].algorithm, false};
			record(&s->ds, now, ds, s->ncds, ds, s->ncds);
			s->cds_since = 0;
		}
	}
	cur = s->ds.n ? &s->ds.v[s->ds.n - 1] : NULL;
	for (size_t j = 0; j < s->n; j++) {
		bool seen = false;
		for (int i = 0; cur && i < cur->nkeys; i++)
			seen |= cur->keys[i].tag == s->k[j].tag;
		s->k[j].ds_seen = seen;
	}
}

static bool has(const struct vkey *set, int n, struct vkey k)
{
	for (int i = 0; i < n; i++)
		if (set[i].tag == k.tag && set[i].alg == k.alg && set[i].revoked == k.revoked)
			return true;
	return false;
}

/* Whether a validator holding these versions validates the data, strictly: for every algorithm
 * of the DS RRset a DS-matched key signs the DNSKEY RRset and a published key signs the data, and
 * every algorithm of the DNSKEY RRset signs the data (RFC 4035 2.2, 5.3). */
static bool validates(const struct version *ds, const struct version *k, const struct version *d)
{
	for (int i = 0; i < ds->nkeys; i++) {
		uint8_t alg = ds->keys[i].alg;
		bool chain = false, data = false;
		for (int j = 0; j < ds->nkeys; j++)
			if (ds->keys[j].alg == alg && has(k->keys, k->nkeys, ds->keys[j]) &&
			    has(k->signers, k->nsigners, ds->keys[j]))
				chain = true;
		for (int j = 0; j < d->nsigners; j++)
			if (d->signers[j].alg == alg && has(k->keys, k->nkeys, d->signers[j]))
				data = true;
		if (!chain || !data)
			return false;
	}
	for (int i = 0; i < k->nkeys; i++) {
		bool sig = false;
		for (int j = 0; j < d->nsigners; j++)
			sig |= d->signers[j].alg == k->keys[i].alg;
		if (!sig)
			return false;
	}
	return true;
}

static bool cached(const struct version *v, int64_t now, int64_t keep)
{
	return v->from <= now && (v->until == INT64_MAX || now < v->until + keep);
}

static void check(struct sim *s, int64_t now)
{
	int64_t prop = s->p.propagation_delay;
	for (int a = 0; a < s->ds.n; a++) {
		const struct version *ds = &s->ds.v[a];
		if (!cached(ds, now, s->p.ds_ttl) || !ds->nkeys)
			continue;
		for (int b = 0; b < s->dnskey.n; b++) {
			const struct version *k = &s->dnskey.v[b];
			if (!cached(k, now, s->p.dnskey_ttl + prop))
				continue;
			for (int c = 0; c < s->data.n; c++) {
				const struct version *d = &s->data.v[c];
				if (!cached(d, now, s->p.zone_max_ttl + prop) || validates(ds, k, d))
					continue;
				if (!s->failures++)
					snprintf(
					    s->first_failure, sizeof(s->first_failure),
					    "t=%lld: DS version %d, DNSKEY version %d, data version %d do not validate",
					    (long long)(now - T0), a, b, c);
			}
		}
	}
}

/* Applies every step due at now; checks the RFC 7583 waits of each transition. */
static void steps(struct sim *s, int64_t now)
{
	for (int guard = 0;; guard++) {
		assert_true(guard < 50);
		struct roll_step st;
		int64_t next;
		roll_next(&s->p, s->k, s->n, now, &st, &next);
		if (st.kind == ROLL_NONE) {
			assert_true(next > now);
			break;
		}
		assert_true(st.reason[0]);
		s->transitions++;
		struct roll_key *k;
		if (st.kind == ROLL_GENERATE) {
			assert_true(s->n < MAXK);
			k = &s->k[s->n++];
			memset(k, 0, sizeof(*k));
			k->tag = s->next_tag++;
			k->algorithm = st.algorithm;
			k->role = st.role;
			s->rolls[st.role]++;
		} else {
			k = &s->k[st.key];
			const struct roll_policy *p = &s->p;
			int64_t ipub = p->dnskey_ttl + p->propagation_delay;
			/* RFC 7583: the waits the plan must keep */
			if (st.state == ROLL_READY && k->state == ROLL_PUBLISHED)
				assert_true(now - k->at[ROLL_PUBLISHED] >= ipub);
			if (st.state == ROLL_READY && k->role != ROLL_ZSK && p->rfc5011)
				assert_true(now - k->at[ROLL_PUBLISHED] >= p->add_holddown);
			if (st.state == ROLL_ACTIVE && k->role != ROLL_ZSK)
				assert_true(k->ds_seen);
			if (st.state == ROLL_REMOVED && k->role == ROLL_ZSK && k->state == ROLL_RETIRED)
				assert_true(now - k->at[ROLL_RETIRED] >= p->zone_max_ttl + p->propagation_delay);
			if (st.state == ROLL_REMOVED && k->role != ROLL_ZSK && k->state == ROLL_RETIRED)
				assert_true(now - k->at[ROLL_RETIRED] >= p->ds_ttl + p->propagation_delay);
			if (st.state == ROLL_REMOVED && k->state == ROLL_REVOKED && k->algorithm == p->algorithm)
				assert_true(now - k->at[ROLL_REVOKED] >= p->remove_holddown);
			/* RFC 6781 4.1.4: a key of an algorithm rollover signs a maximum zone TTL before its
			 * DNSKEY is published; an old key's DNSKEY goes a DNSKEY TTL before its signatures */
			if (st.state == ROLL_PUBLISHED && k->state == ROLL_GENERATED) {
				assert_true(k->use == ROLL_USE_SIGN);
				assert_true(now - k->at[ROLL_GENERATED] >= p->zone_max_ttl + p->propagation_delay);
			}
			if ((k->use & ROLL_USE_PUBLISH) && !(st.use & ROLL_USE_PUBLISH) && st.state != ROLL_REMOVED)
				assert_true(st.use == ROLL_USE_SIGN);
			if (st.state == ROLL_REMOVED && (k->use & ROLL_USE_SIGN) && k->algorithm != p->algorithm) {
				assert_true(k->use == ROLL_USE_SIGN);
				assert_true(now - k->since >= ipub);
			}
		}
		if (k->state != st.state || !k->at[st.state])
			k->at[st.state] = now;
		k->state = st.state;
		k->use = st.use;
		k->since = now;
		if (s->sabotage && k->role == ROLL_ZSK && k->state == ROLL_RETIRED) {
			k->state = ROLL_REMOVED;
			k->use = 0;
			k->at[ROLL_REMOVED] = now;
		}
	}
}

static void run(struct sim *s, int seconds, void (*at)(struct sim *, int))
{
	s->next_tag = 1000;
	for (int t = 0; t <= seconds; t++) {
		int64_t now = T0 + t;
		if (at)
			at(s, t);
		parent(s, now);
		steps(s, now);
		publish(s, now);
		parent(s, now);
		steps(s, now);
		publish(s, now);
		check(s, now);
	}
}

static void base_policy(struct roll_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = 13;
	p->zsk_lifetime = 60;
	p->ksk_lifetime = 180;
	p->dnskey_ttl = 10;
	p->zone_max_ttl = 10;
	p->propagation_delay = 2;
	p->ds_ttl = 10;
	p->cds = true;
}

static int live_keys(const struct sim *s, enum roll_role role, uint8_t alg)
{
	int n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->k[i].role == role && s->k[i].algorithm == alg && s->k[i].state != ROLL_REMOVED;
	return n;
}

static struct sim S;

static void test_zsk_ksk(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	run(&S, 600, NULL);
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	assert_true(S.rolls[ROLL_ZSK] >= 8); /* the first and one a minute */
	assert_true(S.rolls[ROLL_KSK] >= 3); /* the first and one each 180 s + the DS wait */
	assert_true(S.ds.n >= 3); /* the registrar swapped the DS */
	assert_true(live_keys(&S, ROLL_ZSK, 13) <= 3);
	assert_true(live_keys(&S, ROLL_KSK, 13) <= 3);
}

static void test_csk(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.csk = true;
	S.p.algorithm = 15;
	run(&S, 600, NULL);
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	assert_true(S.rolls[ROLL_CSK] >= 3);
	assert_int_equal(S.rolls[ROLL_ZSK] + S.rolls[ROLL_KSK], 0);
}

static void to_ed25519(struct sim *s, int t)
{
	if (t == 100)
		s->p.algorithm = 15;
}

static void test_algorithm(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.zsk_lifetime = S.p.ksk_lifetime = 0;
	S.p.zone_max_ttl = 20; /* the waits of RFC 6781 4.1.4 are not zero */
	S.p.propagation_delay = 2;
	S.p.ds_ttl = 15;
	run(&S, 400, to_ed25519);
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	assert_int_equal(live_keys(&S, ROLL_KSK, 13) + live_keys(&S, ROLL_ZSK, 13), 0);
	assert_int_equal(live_keys(&S, ROLL_KSK, 15), 1);
	assert_int_equal(live_keys(&S, ROLL_ZSK, 15), 1);
}

static void to_csk(struct sim *s, int t)
{
	if (t == 100)
		s->p.csk = true;
}

static void test_kind(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	run(&S, 500, to_csk);
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	assert_int_equal(live_keys(&S, ROLL_KSK, 13) + live_keys(&S, ROLL_ZSK, 13), 0);
	assert_true(live_keys(&S, ROLL_CSK, 13) >= 1);
}

/* The latest moment an RFC 5011 validator trusts a key first published at pub (the validator
 * configured with the zone's first keys and nothing else): the DNSKEY RRset holding it reaches
 * every cache after the DNSKEY TTL + propagation delay, the validator's next query (every
 * queryInterval, RFC 5011 2.3: at most the TTL / 2, no 1-hour floor at test timings) sees it, the
 * add hold-down runs (2.4.1), and the query after that makes it a trust anchor. */
static int64_t trusted_at(const struct roll_policy *p, int64_t pub)
{
	int64_t qi = (p->dnskey_ttl + 1) / 2;
	return pub + p->dnskey_ttl + p->propagation_delay + qi + p->add_holddown + qi;
}

/* Every DNSKEY RRset a cache may hold is signed by a key (not revoked) that such a validator
 * trusts by now: its trust anchors must never all be gone from what it can fetch. */
static void check_rfc5011(struct sim *s, int64_t now)
{
	for (int b = 0; b < s->dnskey.n; b++) {
		const struct version *v = &s->dnskey.v[b];
		if (!cached(v, now, s->p.dnskey_ttl + s->p.propagation_delay))
			continue;
		bool ok = false;
		for (int j = 0; j < v->nsigners && !ok; j++) {
			if (v->signers[j].revoked)
				continue;
			/* when the key was first published unrevoked */
			int64_t pub = INT64_MAX;
			for (int a = 0; a < s->dnskey.n && pub == INT64_MAX; a++)
				if (has(s->dnskey.v[a].keys, s->dnskey.v[a].nkeys, v->signers[j]))
					pub = s->dnskey.v[a].from;
			ok = pub == T0 || now >= trusted_at(&s->p, pub);
		}
		if (!ok && !s->failures++)
			snprintf(s->first_failure, sizeof(s->first_failure),
			         "t=%lld: DNSKEY version %d is signed by no key an RFC 5011 validator trusts yet",
			         (long long)(now - T0), b);
	}
}

static void run_rfc5011(struct sim *s, int seconds)
{
	s->next_tag = 1000;
	for (int t = 0; t <= seconds; t++) {
		int64_t now = T0 + t;
		parent(s, now);
		steps(s, now);
		publish(s, now);
		parent(s, now);
		steps(s, now);
		publish(s, now);
		check(s, now);
		check_rfc5011(s, now);
	}
}

static void test_rfc5011(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.rfc5011 = true;
	S.p.add_holddown = 30;
	S.p.remove_holddown = 30;
	run_rfc5011(&S, 600);
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	int revoked = 0, removed = 0;
	for (size_t i = 0; i < S.n; i++) {
		const struct roll_key *k = &S.k[i];
		revoked += k->at[ROLL_REVOKED] != 0;
		removed += k->at[ROLL_REVOKED] && k->at[ROLL_REMOVED];
		/* a KSK is used (its DS may go up) only once a validator trusts it */
		if (k->role == ROLL_KSK && k->at[ROLL_READY] && k->at[ROLL_PUBLISHED])
			assert_true(k->at[ROLL_READY] >= trusted_at(&S.p, k->at[ROLL_PUBLISHED]));
	}
	assert_true(revoked >= 2);
	assert_true(removed >= 1);
}

/* At production hold-downs RFC 5011's query interval has its 1-hour floor: a KSK published under
 * a DNSKEY TTL of 600 s is ready after 600 + 60 + 3600 + 30 days + 3600 s, not a second before. */
static void test_rfc5011_hour(void **state)
{
	(void)state;
	struct roll_policy p;
	base_policy(&p);
	p.rfc5011 = true;
	p.add_holddown = p.remove_holddown = 30 * 86400;
	p.dnskey_ttl = 600;
	p.propagation_delay = 60;
	p.ksk_lifetime = 365 * 86400;
	p.zsk_lifetime = 0;
	struct roll_key k[3];
	memset(k, 0, sizeof(k));
	k[0] = (struct roll_key){.tag = 1,
	                         .algorithm = 13,
	                         .role = ROLL_KSK,
	                         .state = ROLL_ACTIVE,
	                         .use = ROLL_USE_PUBLISH | ROLL_USE_SIGN,
	                         .since = T0,
	                         .ds_seen = true};
	k[0].at[ROLL_ACTIVE] = T0;
	k[1] = (struct roll_key){.tag = 2,
	                         .algorithm = 13,
	                         .role = ROLL_ZSK,
	                         .state = ROLL_ACTIVE,
	                         .use = ROLL_USE_PUBLISH | ROLL_USE_SIGN,
	                         .since = T0};
	k[1].at[ROLL_ACTIVE] = T0;
	int64_t pub = T0 + 100, wait = 600 + 60 + 3600 + 30 * 86400 + 3600, next;
	k[2] = (struct roll_key){.tag = 3,
	                         .algorithm = 13,
	                         .role = ROLL_KSK,
	                         .state = ROLL_PUBLISHED,
	                         .use = ROLL_USE_PUBLISH | ROLL_USE_SIGN,
	                         .since = pub};
	k[2].at[ROLL_PUBLISHED] = pub;
	struct roll_step st;
	roll_next(&p, k, 3, pub + wait - 1, &st, &next);
	assert_int_equal(st.kind, ROLL_NONE);
	assert_int_equal(next, pub + wait);
	roll_next(&p, k, 3, pub + wait, &st, &next);
	assert_int_equal(st.kind, ROLL_MOVE);
	assert_int_equal(st.key, 2);
	assert_int_equal(st.state, ROLL_READY);
	/* at test timings the floor goes: 600 + 60 + 300 + 30 + 300 */
	p.add_holddown = p.remove_holddown = 30;
	roll_next(&p, k, 3, pub + 1289, &st, &next);
	assert_int_equal(st.kind, ROLL_NONE);
	assert_int_equal(next, pub + 1290);
}

/* The model catches a plan that counts the add hold-down from publication alone. */
static void test_rfc5011_model(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.rfc5011 = true;
	S.p.add_holddown = 30;
	S.p.remove_holddown = 30;
	S.p.dnskey_ttl = 40; /* a long TTL: the plan must wait for it as well as the hold-down */
	S.p.ksk_lifetime = 300;
	run_rfc5011(&S, 600);
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.rfc5011 = false; /* no hold-down: the old KSK goes while no validator trusts the new one */
	S.p.add_holddown = 30;
	S.p.remove_holddown = 30;
	run_rfc5011(&S, 600);
	assert_true(S.failures > 0);
}

static void test_stall(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	run(&S, 50, NULL); /* the first DS goes up */
	S.parent_frozen = true;
	for (int t = 51; t <= 600; t++) {
		int64_t now = T0 + t;
		parent(&S, now);
		steps(&S, now);
		publish(&S, now);
		check(&S, now);
	}
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	/* the first KSK stays active and signing; its successor waits, ready, for its DS */
	assert_int_equal(S.k[0].role, ROLL_KSK);
	assert_int_equal(S.k[0].state, ROLL_ACTIVE);
	int ready = 0;
	for (size_t i = 0; i < S.n; i++)
		ready += S.k[i].role == ROLL_KSK && S.k[i].state == ROLL_READY;
	assert_int_equal(ready, 1);
}

/* An algorithm rollover whose new DS never reaches the parent: the old keys stay in use, the new
 * ones sign and wait, ready, and every cache keeps validating. */
static void test_algorithm_stall(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.zsk_lifetime = S.p.ksk_lifetime = 0;
	S.p.zone_max_ttl = 20;
	S.p.propagation_delay = 2;
	S.p.ds_ttl = 15;
	run(&S, 50, NULL); /* the first DS goes up */
	S.parent_frozen = true;
	S.p.algorithm = 15;
	for (int t = 51; t <= 600; t++) {
		int64_t now = T0 + t;
		parent(&S, now);
		steps(&S, now);
		publish(&S, now);
		check(&S, now);
	}
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	assert_int_equal(live_keys(&S, ROLL_KSK, 13), 1);
	assert_int_equal(live_keys(&S, ROLL_ZSK, 13), 1);
	for (size_t i = 0; i < S.n; i++) {
		if (S.k[i].algorithm == 13)
			assert_int_equal(S.k[i].state, ROLL_ACTIVE);
		else if (S.k[i].role == ROLL_KSK)
			assert_int_equal(S.k[i].state, ROLL_READY);
	}
	assert_int_equal(live_keys(&S, ROLL_KSK, 15), 1);
}

/* The server's first KSK is active at once and keeps its CDS (its DS may go up any time, never
 * confirmed): an algorithm rollover must still end with the old DS gone from the parent. */
static void test_algorithm_first_ksk_cds(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.p.zsk_lifetime = S.p.ksk_lifetime = 0;
	S.p.zone_max_ttl = 20;
	S.p.propagation_delay = 2;
	S.p.ds_ttl = 15;
	run(&S, 50, NULL);
	for (size_t i = 0; i < S.n; i++)
		if (S.k[i].role == ROLL_KSK) {
			S.k[i].use |= ROLL_USE_CDS;
			S.k[i].ds_seen = false;
		}
	S.p.algorithm = 15;
	for (int t = 51; t <= 400; t++) {
		int64_t now = T0 + t;
		parent(&S, now);
		steps(&S, now);
		publish(&S, now);
		parent(&S, now);
		check(&S, now);
	}
	if (S.failures)
		fail_msg("%d failures; first: %s", S.failures, S.first_failure);
	const struct version *ds = &S.ds.v[S.ds.n - 1];
	assert_int_equal(ds->nkeys, 1);
	assert_int_equal(ds->keys[0].alg, 15);
}

static void test_sabotage(void **state)
{
	(void)state;
	memset(&S, 0, sizeof(S));
	base_policy(&S.p);
	S.sabotage = true;
	run(&S, 200, NULL);
	assert_true(S.failures > 0); /* the model catches a ZSK removed while its signatures are cached */
}

/* No step comes before the time roll_next() gave, unless a DS was seen meanwhile. */
static void test_next(void **state)
{
	(void)state;
	struct roll_policy p;
	base_policy(&p);
	struct roll_key k[MAXK];
	size_t n = 0;
	int64_t now = T0, next = 0;
	for (int i = 0; i < 200; i++) {
		struct roll_step st;
		roll_next(&p, k, n, now, &st, &next);
		if (st.kind == ROLL_NONE) {
			if (next == INT64_MAX) { /* waiting for a DS: the parent shows it */
				for (size_t j = 0; j < n; j++)
					k[j].ds_seen = true;
				continue;
			}
			/* one second before next nothing is due */
			int64_t at = next, again;
			roll_next(&p, k, n, at - 1, &st, &again);
			assert_int_equal(st.kind, ROLL_NONE);
			now = at;
			continue;
		}
		struct roll_key *x = st.kind == ROLL_GENERATE ? &k[n++] : &k[st.key];
		if (st.kind == ROLL_GENERATE) {
			memset(x, 0, sizeof(*x));
			x->tag = (uint16_t)n;
			x->algorithm = st.algorithm;
			x->role = st.role;
		}
		x->at[st.state] = now;
		x->state = st.state;
		x->use = st.use;
		x->since = now;
		assert_true(n < MAXK);
	}
	assert_true(now > T0 + 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zsk_ksk),         cmocka_unit_test(test_csk),
	    cmocka_unit_test(test_algorithm),       cmocka_unit_test(test_kind),
	    cmocka_unit_test(test_rfc5011),         cmocka_unit_test(test_rfc5011_model),
	    cmocka_unit_test(test_rfc5011_hour),    cmocka_unit_test(test_stall),
	    cmocka_unit_test(test_sabotage),        cmocka_unit_test(test_next),
	    cmocka_unit_test(test_algorithm_stall), cmocka_unit_test(test_algorithm_first_ksk_cds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
