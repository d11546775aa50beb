/* Online DNSSEC signing of the store's zones: each signed zone's keys, policy and chain index (the
 * writer's, under c->lock), the whole-zone signing that enabling starts and the signature refresh,
 * both on the signer thread (ternd-signer), and the re-signing of every write (change_commit);
 * turning signing off is change_unsign.c's, the state both share is in change_signer.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/dnssec.h"
#include "lib/dnssec_zone.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/signals/signals.h"
#include "ternd/change/change_ds.h"
#include "ternd/change/change_roll.h"
#include "ternd/change/change_signer.h"

#define SIGN_ATTEMPTS 3 /* whole-zone signings outside the lock before one holds it throughout */
#define RETRY_SECONDS 30 /* a job that failed (zone locked, store down) is tried again after this */
#define SIGN_THREADS_MAX 8 /* a whole-zone signing uses up to this many threads (one per CPU) */

bool change_dnssec_type(uint16_t type)
{
	return type == RR_DNSKEY || type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3 || type == RR_NSEC3PARAM ||
	       type == RR_CDS || type == RR_CDNSKEY;
}

/* ---- signings and zones ---- */

void change_signing_put(struct signing *s)
{
	if (!s || --s->refs > 0)
		return;
	for (size_t i = 0; i < s->nkeys; i++)
		dnssec_key_free(s->keys[i]);
	free(s->keys);
	free(s->zkeys);
	free(s->meta);
	free(s);
}

static struct signing *signing_new(const struct dnssec_policy *p)
{
	struct signing *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->policy = *p;
	s->refs = 1;
	return s;
}

/* Adds a key (taken over) with its row: published and signing. */
static int signing_add(struct signing *s, struct dnssec_key *k, const struct store_key *row)
{
	struct dnssec_key **keys = realloc(s->keys, (s->nkeys + 1) * sizeof(*keys));
	if (keys)
		s->keys = keys;
	struct dnssec_zone_key *zk = keys ? realloc(s->zkeys, (s->nkeys + 1) * sizeof(*zk)) : NULL;
	if (zk)
		s->zkeys = zk;
	struct store_key *meta = zk ? realloc(s->meta, (s->nkeys + 1) * sizeof(*meta)) : NULL;
	if (!meta) {
		dnssec_key_free(k);
		return TERN_ENOMEM;
	}
	s->meta = meta;
	s->meta[s->nkeys] = *row;
	s->meta[s->nkeys].pem = NULL;
	s->meta[s->nkeys].pem_len = 0;
	s->keys[s->nkeys] = k;
	s->zkeys[s->nkeys] = (struct dnssec_zone_key){k, change_roll_zone_use(row, k)};
	s->nkeys++;
	return 0;
}

static struct dnssec_zone_policy zone_policy(const struct dnssec_policy *p)
{
	return (struct dnssec_zone_policy){.nsec = p->nsec,
	                                   .dnskey_ttl = p->dnskey_ttl,
	                                   .validity = p->rrsig_lifetime,
	                                   .inception = p->rrsig_inception,
	                                   .jitter = p->rrsig_jitter};
}

struct signed_zone *change_dnssec_find(struct change *c, const uint8_t *apex)
{
	for (struct signed_zone *z = c->signer ? c->signer->zones : NULL; z; z = z->next)
		if (name_equal(z->apex, apex))
			return z;
	return NULL;
}

static struct signed_zone *zone_add(struct change *c, const uint8_t *apex)
{
	struct signed_zone *z = change_dnssec_find(c, apex);
	if (z)
		return z;
	if (!c->signer || !(z = calloc(1, sizeof(*z))))
		return NULL;
	name_lower_copy(z->apex, apex, name_len(apex));
	pthread_mutex_lock(&c->signer->status_lock);
	z->next = c->signer->zones;
	c->signer->zones = z;
	pthread_mutex_unlock(&c->signer->status_lock);
	return z;
}

static void signed_free(struct signed_zone *z)
{
	change_signing_put(z->active);
	change_signing_put(z->wanted);
	nsec_chain_free(z->index);
	free(z);
}

void change_dnssec_forget(struct change *c, const uint8_t *apex)
{
	for (struct signed_zone **p = c->signer ? &c->signer->zones : NULL; p && *p; p = &(*p)->next) {
		if (name_equal((*p)->apex, apex)) {
			struct signed_zone *z = *p;
			if (z->intree_signalled) { /* deleted or no longer served: no promise of ours any more */
				char name[NAME_MAXLEN * 4 + 1];
				name_to_text(z->apex, name, sizeof(name));
				signals_raise(c->signals, SIGNAL_IN_TREE_EXPIRING, SIGNAL_CLEAR, name, NULL, 0);
			}
			pthread_mutex_lock(&c->signer->status_lock);
			*p = z->next;
			pthread_mutex_unlock(&c->signer->status_lock);
			signed_free(z);
			return;
		}
	}
}

void change_signer_wake(struct change *c)
{
	if (c->signer && c->signer->running)
		ev_async_send(&c->signer->wake);
}

/* The times and error of a zone, written under status_lock (c->lock held too). */
static void set_refresh(struct change *c, struct signed_zone *z, int64_t at)
{
	pthread_mutex_lock(&c->signer->status_lock);
	z->refresh_at = at;
	pthread_mutex_unlock(&c->signer->status_lock);
}

/* A job on z failed (msg says why): tried again after 30 s, doubling to an hour while it fails. */
void change_job_failed(struct change *c, struct signed_zone *z, const char *msg)
{
	pthread_mutex_lock(&c->signer->status_lock);
	unsigned shift = z->failures < 7 ? z->failures : 7;
	int64_t wait = (int64_t)RETRY_SECONDS << shift;
	z->failures++;
	c->signer->failed_total++;
	z->retry_at = time(NULL) + (wait < 3600 ? wait : 3600);
	snprintf(z->error, sizeof(z->error), "%s", msg);
	pthread_mutex_unlock(&c->signer->status_lock);
}

static void job_done(struct change *c, struct signed_zone *z)
{
	pthread_mutex_lock(&c->signer->status_lock);
	z->failures = 0;
	z->retry_at = 0;
	z->error[0] = 0;
	pthread_mutex_unlock(&c->signer->status_lock);
}

void change_dnssec_totals(struct change *c, struct change_dnssec_totals *out)
{
	memset(out, 0, sizeof(*out));
	if (!c->signer)
		return;
	pthread_mutex_lock(&c->signer->status_lock);
	for (const struct signed_zone *z = c->signer->zones; z; z = z->next) {
		if (z->broken || z->error[0])
			out->failing++;
		else if (z->wanted || !z->active)
			out->signing++;
		else
			out->signed_zones++;
		if (z->active && z->index && z->refresh_at && (!out->next_refresh || z->refresh_at < out->next_refresh))
			out->next_refresh = z->refresh_at;
	}
	pthread_mutex_unlock(&c->signer->status_lock);
	out->signed_total = c->signer->signed_total;
	out->refreshed_total = c->signer->refreshed_total;
	out->failed_total = c->signer->failed_total;
}

int change_dnssec_status(struct change *c, const uint8_t *apex, struct change_dnssec_status *out)
{
	memset(out, 0, sizeof(*out));
	if (!c->signer)
		return TERN_ENOTFOUND;
	int rc = TERN_ENOTFOUND;
	pthread_mutex_lock(&c->signer->status_lock);
	for (const struct signed_zone *z = c->signer->zones; z; z = z->next) {
		if (!name_equal(z->apex, apex))
			continue;
		out->next_refresh = z->active && z->index ? z->refresh_at : 0;
		out->retry = z->retry_at;
		out->keys_unloadable = z->broken;
		out->next_roll = z->active && !z->unsigning && z->roll_at != INT64_MAX ? z->roll_at : 0;
		snprintf(out->next_roll_what, sizeof(out->next_roll_what), "%s", z->roll_what);
		snprintf(out->error, sizeof(out->error), "%s", z->error);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&c->signer->status_lock);
	return rc;
}

void change_dnssec_kick(struct change *c, const uint8_t *apex)
{
	struct signed_zone *z = change_dnssec_find(c, apex);
	if (!z || !z->retry_at)
		return;
	pthread_mutex_lock(&c->signer->status_lock);
	z->retry_at = 0;
	pthread_mutex_unlock(&c->signer->status_lock);
	change_signer_wake(c);
}

/* A whole-zone signing with s is wanted (s taken over). */
void change_want_signing(struct signed_zone *z, struct signing *s)
{
	change_signing_put(z->wanted);
	z->wanted = s;
	z->gen++;
}

/* The index is lost (a failed re-signing): sign the zone again with what it is signed with. */
static void lost_index(struct change *c, struct signed_zone *z)
{
	if (!z->wanted && z->active) {
		z->active->refs++;
		change_want_signing(z, z->active);
	}
	change_signer_wake(c);
}

/* ---- keys from the store ---- */

struct key_load {
	struct signing *s;
	char *err;
	size_t errlen;
	int rc;
};

static int key_loaded(const struct store_key *k, void *arg)
{
	struct key_load *l = arg;
	if (!k->use || k->state == STORE_KEY_REMOVED)
		return 0; /* not in the zone: each other key publishes or signs as its use bits say */
	struct dnssec_key *key = NULL;
	char why[256];
	if (!k->pem || dnssec_key_from_pem(k->pem, k->pem_len, k->flags, &key, why, sizeof(why)) < 0) {
		snprintf(l->err, l->errlen, "key %u: %s", k->tag, k->pem ? why : "no private key");
		return l->rc = TERN_EINVAL;
	}
	if (dnssec_key_tag(key) != k->tag) {
		dnssec_key_free(key);
		snprintf(l->err, l->errlen, "key %u: the stored private key has tag %u", k->tag, dnssec_key_tag(key));
		return l->rc = TERN_EINVAL;
	}
	return l->rc = signing_add(l->s, key, k);
}

/* The zone's active keys, with p, from t. */
int change_signing_load(struct store_txn *t, const uint8_t *apex, const struct dnssec_policy *p, struct signing **out,
                        char *err, size_t errlen)
{
	struct signing *s = signing_new(p);
	if (!s)
		return TERN_ENOMEM;
	struct key_load l = {s, err, errlen, 0};
	int rc = store_key_foreach(t, apex, true, key_loaded, &l, err, errlen);
	if (rc == 0 && s->nkeys == 0) {
		snprintf(err, errlen, "no key that signs");
		rc = TERN_EINVAL;
	}
	if (rc < 0) {
		change_signing_put(s);
		return l.rc < 0 ? l.rc : rc;
	}
	*out = s;
	return 0;
}

/* ---- the largest TTL ---- */

struct ttl_scan {
	uint32_t max;
	char *msg;
	size_t msglen;
};

/* The first data RRset of a node above max (signer types aside: their TTLs are the policy's). */
static int node_ttl(void *arg, const struct zone_node *n)
{
	struct ttl_scan *ts = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		const struct rrset *rs = &n->rrsets[k];
		if (change_dnssec_type(rs->type) || rs->ttl <= ts->max)
			continue;
		char owner[NAME_MAXLEN * 4 + 1], type[32];
		name_to_text(n->owner, owner, sizeof(owner));
		rrtext_type_to_text(rs->type, type, sizeof(type));
		snprintf(ts->msg, ts->msglen,
		         "%s %s has TTL %u, above max-zone-ttl %u: raise max-zone-ttl or lower the TTL", owner, type,
		         rs->ttl, ts->max);
		return 1;
	}
	return 0;
}

int change_dnssec_check_ttls(const struct signed_zone *sz, const struct change_rrset *ch, size_t n, bool import,
                             struct change_result *r)
{
	const struct signing *s = sz->wanted ? sz->wanted : sz->active;
	uint32_t max = s ? s->policy.max_zone_ttl : 0;
	for (size_t i = 0; max && i < n; i++) {
		if (!ch[i].count || change_dnssec_type(ch[i].type))
			continue;
		uint32_t ttl = ch[i].ttl;
		for (uint16_t k = 0; ch[i].ttls && k < ch[i].count; k++)
			ttl = ch[i].ttls[k] > ttl ? ch[i].ttls[k] : ttl;
		if (ttl <= max)
			continue;
		char owner[NAME_MAXLEN * 4 + 1], type[32];
		name_to_text(ch[i].owner, owner, sizeof(owner));
		rrtext_type_to_text(ch[i].type, type, sizeof(type));
		r->index = import ? CHANGE_NO_INDEX : i;
		return change_fail(
		    r, CHANGE_REFUSED, TERN_EZONE,
		    "%s %s: TTL %u is above the zone's DNSSEC max-zone-ttl %u (the rollover timing relies on it)",
		    owner, type, ttl, max);
	}
	return 0;
}

/* ---- enabling ---- */

struct key_scan {
	uint8_t alg;
	bool csk, ksk, zsk;
	size_t n;
};

static int key_scanned(const struct store_key *k, void *arg)
{
	struct key_scan *s = arg;
	if (k->state == STORE_KEY_REMOVED)
		return 0;
	s->n++;
	s->alg = k->algorithm;
	s->csk |= k->role == STORE_KEY_CSK;
	s->ksk |= k->role == STORE_KEY_KSK;
	s->zsk |= k->role == STORE_KEY_ZSK;
	return 0;
}

/* Makes a key of role for p, stores it (private key and all) and adds it to s. */
static int key_make(struct store_txn *t, const uint8_t *apex, const struct dnssec_policy *p, enum store_key_role role,
                    const char *reason, struct signing *s, char *err, size_t errlen)
{
	struct dnssec_key *k = NULL;
	uint16_t flags = role == STORE_KEY_ZSK ? DNSSEC_ZSK : DNSSEC_KSK;
	int rc = dnssec_key_generate(p->algorithm, flags, &k, err, errlen);
	if (rc < 0)
		return rc;
	char *pem = NULL;
	size_t pem_len = 0;
	int64_t now = time(NULL);
	/* generated now; published and active once the signed version is (signed_rows()) */
	struct store_key sk = {.tag = dnssec_key_tag(k),
	                       .algorithm = p->algorithm,
	                       .flags = flags,
	                       .role = role,
	                       .state = STORE_KEY_GENERATED,
	                       .created = now,
	                       .use = change_roll_first_use(role, p),
	                       .since = now};
	int len = dnssec_key_dnskey(k, sk.dnskey, sizeof(sk.dnskey));
	if (len < 0 || (rc = dnssec_key_to_pem(k, &pem, &pem_len, err, errlen)) < 0) {
		dnssec_key_free(k);
		return len < 0 ? len : rc;
	}
	sk.dnskey_len = (uint16_t)len;
	sk.pem = pem;
	sk.pem_len = pem_len;
	rc = store_key_add(t, apex, &sk, reason, err, errlen);
	dnssec_pem_free(pem, pem_len);
	sk.pem = NULL;
	if (rc < 0) {
		dnssec_key_free(k);
		return rc;
	}
	return signing_add(s, k, &sk);
}

/* The tail of enabling and of a restore: stores p as the zone's policy (state signing) in *tp,
 * commits (*tp NULL after it, whatever the outcome) and queues the whole signing with *sp (taken:
 * *sp NULL), the rollover plan to run with these keys once the zone is signed with them. */
static int signing_start(struct change *c, struct store_txn **tp, const uint8_t *apex, const struct dnssec_policy *p,
                         struct signing **sp, char *err, size_t errlen)
{
	struct store_dnssec d = {.policy = *p, .state = STORE_DNSSEC_SIGNING};
	int rc = store_dnssec_put(*tp, apex, &d, err, errlen);
	if (rc < 0)
		return rc;
	struct signed_zone *z = zone_add(c, apex);
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	rc = store_commit(*tp, err, errlen);
	*tp = NULL;
	if (rc < 0) {
		if (!z->active && !z->wanted)
			change_dnssec_forget(c, apex);
		return rc;
	}
	change_want_signing(z, *sp);
	*sp = NULL;
	job_done(c, z); /* a new policy or keys: no retry pending, no old error */
	pthread_mutex_lock(&c->signer->status_lock);
	z->roll_at = 0;
	pthread_mutex_unlock(&c->signer->status_lock);
	z->broken = false; /* its keys loaded now */
	change_signer_wake(c);
	return 0;
}

int change_dnssec_enable(struct change *c, const uint8_t *apex, const struct dnssec_policy *p, const char *principal,
                         const char **field, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	*field = NULL;
	char name[NAME_MAXLEN * 4 + 1], err[512] = "", reason[STORE_REASON_MAX + 1];
	name_to_text(apex, name, sizeof(name));
	snprintf(reason, sizeof(reason), "signing enabled by %s", principal);
	if (!c->signer)
		return change_fail(r, CHANGE_APPLY, TERN_ENOMEM, "DNSSEC signing is unavailable: out of memory");
	struct store_txn *t = NULL;
	struct signing *s = NULL;
	struct store_zone row = {0};
	change_lock(c);
	int rc = change_begin_zone(c, apex, name, &t, &row, r, err, sizeof(err));
	if (rc > 0)
		goto out;
	if (rc < 0)
		goto store_fail;
	if (row.signed_downstream) {
		*field = "signed_downstream";
		change_fail(
		    r, CHANGE_REFUSED, TERN_EEXIST,
		    "zone %s is signed downstream (its secondaries sign it with their own keys): Tern does not sign "
		    "it; DELETE /api/v1/zones/%s/signed-downstream first",
		    name, name);
		goto out;
	}
	const struct zone *cur = zones_get(c->zones, apex);
	struct ttl_scan ts = {p->max_zone_ttl, r->msg, sizeof(r->msg)};
	if (cur && p->max_zone_ttl && zone_foreach(cur, node_ttl, &ts) == 1) {
		*field = "max-zone-ttl";
		r->step = CHANGE_REFUSED;
		r->code = TERN_EINVAL;
		goto out;
	}
	struct store_dnssec old;
	rc = store_dnssec_get(t, apex, &old, err, sizeof(err));
	if (rc < 0 && rc != TERN_ENOTFOUND)
		goto store_fail;
	if (rc == 0 && old.unsigning) {
		change_fail(
		    r, CHANGE_REFUSED, TERN_EEXIST,
		    "signing of zone %s is being turned off (the delete CDS is published): it can be turned on again "
		    "once the zone is unsigned",
		    name);
		goto out;
	}
	/* keys of another algorithm or scheme than p's: the rollover plan rolls them away once the
	 * zone is signed with the new policy (lib/dnssec_roll.c, RFC 6781 4.1.4) */
	struct key_scan scan = {0};
	if ((rc = store_key_foreach(t, apex, false, key_scanned, &scan, err, sizeof(err))) < 0)
		goto store_fail;
	if (scan.n && (scan.alg != p->algorithm || scan.csk != p->csk))
		log_info("zone %s: the policy's keys (%s, %s) are not the zone's (%s, %s): an algorithm rollover "
		         "follows the signing",
		         name, dnssec_policy_alg_text(p->algorithm), p->csk ? "CSK" : "KSK+ZSK",
		         dnssec_policy_alg_text(scan.alg), scan.csk ? "CSK" : "KSK+ZSK");
	if (scan.n) {
		rc = change_signing_load(t, apex, p, &s, err, sizeof(err));
	} else if (!(s = signing_new(p))) {
		rc = TERN_ENOMEM;
	} else if (p->csk) {
		rc = key_make(t, apex, p, STORE_KEY_CSK, reason, s, err, sizeof(err));
	} else if ((rc = key_make(t, apex, p, STORE_KEY_KSK, reason, s, err, sizeof(err))) == 0) {
		rc = key_make(t, apex, p, STORE_KEY_ZSK, reason, s, err, sizeof(err));
	}
	if (rc < 0)
		goto store_fail;
	if ((rc = signing_start(c, &t, apex, p, &s, err, sizeof(err))) < 0)
		goto store_fail;
	log_info("zone %s: DNSSEC signing enabled (%s, %s): signing the zone", name,
	         dnssec_policy_alg_text(p->algorithm), p->nsec.nsec3 ? "NSEC3" : "NSEC");
	goto out;
store_fail:
	change_dnssec_failed(r, rc, name, "enabling DNSSEC", err);
out:
	return change_dnssec_end(c, t, s, r);
}

void change_dnssec_failed(struct change_result *r, int rc, const char *name, const char *what, const char *err)
{
	if (rc == TERN_ENOMEM || rc == TERN_EINVAL)
		change_fail(r, CHANGE_APPLY, rc, "%s", err);
	else
		change_fail(r, CHANGE_STORE, TERN_EIO, "%s", err);
	log_error("zone %s: %s failed: %s", name, what, err);
}

int change_dnssec_end(struct change *c, struct store_txn *t, struct signing *s, struct change_result *r)
{
	if (t)
		store_rollback(t);
	change_signing_put(s);
	change_unlock(c);
	return r->code;
}

/* ---- restoring a backup ---- */

/* Whether the restored key k's PEM is the key its row says (tag, algorithm, DNSKEY). */
static int restored_key_check(const struct store_key *k, char *err, size_t errlen)
{
	struct dnssec_key *key = NULL;
	char why[256];
	if (!k->pem || dnssec_key_from_pem(k->pem, k->pem_len, k->flags, &key, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "key %u: %s", k->tag, k->pem ? why : "no private key");
		return TERN_EINVAL;
	}
	uint8_t dk[DNSSEC_DNSKEY_MAX];
	int len = dnssec_key_dnskey(key, dk, sizeof(dk));
	bool same = dnssec_key_tag(key) == k->tag && dnssec_key_alg(key) == k->algorithm && len == k->dnskey_len &&
	            memcmp(dk, k->dnskey, (size_t)len) == 0;
	dnssec_key_free(key);
	if (!same) {
		snprintf(err, errlen, "key %u: the private key is not the key of its DNSKEY", k->tag);
		return TERN_EINVAL;
	}
	return 0;
}

int change_dnssec_restore(struct change *c, const uint8_t *apex, const struct dnssec_policy *p,
                          const struct store_key *keys, size_t n, bool replace, const char *principal,
                          const char **field, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	*field = NULL;
	char name[NAME_MAXLEN * 4 + 1], err[512] = "", reason[STORE_REASON_MAX + 1];
	name_to_text(apex, name, sizeof(name));
	snprintf(reason, sizeof(reason), "restored from a backup by %s", principal);
	if (!c->signer)
		return change_fail(r, CHANGE_APPLY, TERN_ENOMEM, "DNSSEC signing is unavailable: out of memory");
	for (size_t i = 0; i < n; i++) {
		if (restored_key_check(&keys[i], r->msg, sizeof(r->msg)) < 0) {
			*field = "keys";
			r->step = CHANGE_REFUSED;
			r->code = TERN_EINVAL;
			return r->code;
		}
	}
	struct store_txn *t = NULL;
	struct signing *s = NULL;
	struct store_zone row = {0};
	change_lock(c);
	int rc = change_begin_zone(c, apex, name, &t, &row, r, err, sizeof(err));
	if (rc > 0)
		goto out;
	if (rc < 0)
		goto store_fail;
	const struct zone *cur = zones_get(c->zones, apex);
	struct ttl_scan ts = {p->max_zone_ttl, r->msg, sizeof(r->msg)};
	if (cur && p->max_zone_ttl && zone_foreach(cur, node_ttl, &ts) == 1) {
		*field = "max-zone-ttl";
		r->step = CHANGE_REFUSED;
		r->code = TERN_EINVAL;
		goto out;
	}
	struct key_scan scan = {0};
	if ((rc = store_key_foreach(t, apex, false, key_scanned, &scan, err, sizeof(err))) < 0)
		goto store_fail;
	if (scan.n && !replace) {
		*field = "replace";
		change_fail(
		    r, CHANGE_REFUSED, TERN_EEXIST,
		    "zone %s has %zu DNSSEC key%s: restoring replaces them (its DS at the parent must then be the "
		    "backup's), so say \"replace\": true",
		    name, scan.n, scan.n == 1 ? "" : "s");
		goto out;
	}
	if ((rc = store_key_delete_all(t, apex, reason, err, sizeof(err))) < 0)
		goto store_fail;
	for (size_t i = 0; i < n; i++) {
		struct store_key k = keys[i];
		if ((rc = store_key_add(t, apex, &k, reason, err, sizeof(err))) < 0)
			goto store_fail;
	}
	if ((rc = change_signing_load(t, apex, p, &s, err, sizeof(err))) < 0) {
		if (rc == TERN_EINVAL) { /* no key that signs */
			*field = "keys";
			change_fail(r, CHANGE_REFUSED, rc, "%s", err);
			goto out;
		}
		goto store_fail;
	}
	if ((rc = signing_start(c, &t, apex, p, &s, err, sizeof(err))) < 0)
		goto store_fail;
	log_info("zone %s: DNSSEC keys and policy restored from a backup by %s (%zu keys): signing the zone", name,
	         principal, n);
	goto out;
store_fail:
	change_dnssec_failed(r, rc, name, "restoring DNSSEC keys", err);
out:
	return change_dnssec_end(c, t, s, r);
}

/* ---- re-signing a write ---- */

/* Appends copies of n changes to out (owners, rdata and ttls in one block each). */
int change_changes_append(struct nsec_changes *out, const struct zone_change *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			struct zone_change *grown = realloc(out->v, cap * sizeof(*grown));
			if (!grown)
				return TERN_ENOMEM;
			out->v = grown;
			out->cap = cap;
		}
		const struct zone_change *x = &v[i];
		size_t olen = name_len(x->owner), at = (olen + 3) & ~(size_t)3;
		size_t tsize = x->count && x->ttls ? x->count * sizeof(uint32_t) : 0,
		       rsize = x->count ? x->rdata_size : 0;
		uint8_t *block = malloc(at + tsize + rsize + 1);
		if (!block)
			return TERN_ENOMEM;
		memcpy(block, x->owner, olen);
		struct zone_change ch = {.owner = block, .type = x->type, .ttl = x->ttl, .count = x->count};
		if (tsize) {
			memcpy(block + at, x->ttls, tsize);
			ch.ttls = (const uint32_t *)(void *)(block + at);
		}
		if (rsize) {
			memcpy(block + at + tsize, x->rdata, rsize);
			ch.rdata = block + at + tsize;
			ch.rdata_size = x->rdata_size;
		}
		out->v[out->n++] = ch;
	}
	return 0;
}

/* Appends from's changes to out and takes over their blocks: from is left empty. */
static int changes_move(struct nsec_changes *out, struct nsec_changes *from)
{
	if (out->n + from->n > out->cap) {
		size_t cap = out->n + from->n;
		struct zone_change *grown = realloc(out->v, cap * sizeof(*grown));
		if (!grown)
			return TERN_ENOMEM;
		out->v = grown;
		out->cap = cap;
	}
	memcpy(out->v + out->n, from->v, from->n * sizeof(*from->v));
	out->n += from->n;
	from->n = 0;
	nsec_changes_free(from);
	return 0;
}

bool change_dnssec_live(const struct signed_zone *sz)
{
	return sz->active && sz->index;
}

int change_dnssec_check_write(const struct signed_zone *sz, struct change_result *r)
{
	if (!sz->broken)
		return 0;
	return change_fail(
	    r, CHANGE_APPLY, TERN_EINVAL,
	    "the zone is signed but its DNSSEC keys could not be loaded at start (see the log): writes are "
	    "refused so that its signatures stay valid");
}

int change_dnssec_resign(struct change *c, struct signed_zone *sz, const struct zone *cur,
                         const struct zone_change *set, size_t n, struct nsec_changes *out, struct zone **next,
                         struct change_result *r)
{
	char err[CHANGE_MSG_MAX] = "";
	struct dnssec_zone_policy zp = zone_policy(&sz->active->policy);
	int rc = dnssec_zone_resign(cur, &sz->index, set, n, sz->active->zkeys, sz->active->nkeys, &zp, time(NULL), out,
	                            err, sizeof(err));
	if (rc == 0)
		rc = zone_apply_text(cur, out->v, out->n, next, err, sizeof(err));
	if (rc < 0) {
		char name[NAME_MAXLEN * 4 + 1];
		name_to_text(cur->apex, name, sizeof(name));
		log_error("zone %s: re-signing a write failed: %s", name, err);
		if (!sz->index) {
			lost_index(c, sz);
			/* the chain index went with it: the next version must come from a whole signing */
		}
		return change_fail(r, rc == TERN_EZONE ? CHANGE_REFUSED : CHANGE_APPLY, rc, "signing: %s", err);
	}
	return 0;
}

/* ---- whole-zone signing (the signer thread) ---- */

/* The CDS and CDNSKEY RRsets of s's SEP keys (or their deletion when cur has them and the policy
 * publishes none) into out. */
static int cds_changes(const struct zone *cur, const struct signing *s, struct nsec_changes *out, char *err,
                       size_t errlen)
{
	uint8_t cds[8 * (2 + DNSSEC_DS_MAX)], cdnskey[8 * (2 + DNSSEC_DNSKEY_MAX)];
	size_t cds_len = 0, cdnskey_len = 0;
	uint16_t count = 0;
	if (s->delete_cds) { /* RFC 8078 4: "0 0 0 00" and "0 3 0 AA==" (one zero octet of key), each with its length */
		static const uint8_t del_cds[] = {0, 5, 0, 0, 0, 0, 0}, del_cdnskey[] = {0, 5, 0, 0, 3, 0, 0};
		memcpy(cds, del_cds, sizeof(del_cds));
		memcpy(cdnskey, del_cdnskey, sizeof(del_cdnskey));
		cds_len = sizeof(del_cds);
		cdnskey_len = sizeof(del_cdnskey);
		count = 1;
	}
	for (size_t i = 0; !s->delete_cds && s->policy.cds && i < s->nkeys && count < 8; i++) {
		if (!(s->meta[i].use & ROLL_USE_CDS)) /* the rollover plan's choice (change_roll.c) */
			continue;
		int dk = dnssec_key_dnskey(s->keys[i], cdnskey + cdnskey_len + 2, DNSSEC_DNSKEY_MAX);
		if (dk < 0)
			return dk;
		int ds = dnssec_ds(cur->apex, cdnskey + cdnskey_len + 2, (size_t)dk, DNSSEC_DIGEST_SHA256,
		                   cds + cds_len + 2, DNSSEC_DS_MAX, err, errlen);
		if (ds < 0)
			return ds;
		wire_put16(cdnskey + cdnskey_len, (uint16_t)dk);
		wire_put16(cds + cds_len, (uint16_t)ds);
		cdnskey_len += 2 + (size_t)dk;
		cds_len += 2 + (size_t)ds;
		count++;
	}
	const struct zone_node *apex = zone_find(cur, cur->apex, name_len(cur->apex));
	struct zone_change v[2];
	size_t n = 0;
	uint16_t types[2] = {RR_CDS, RR_CDNSKEY};
	const uint8_t *rd[2] = {cds, cdnskey};
	size_t rl[2] = {cds_len, cdnskey_len};
	for (int i = 0; i < 2; i++) {
		if (count)
			v[n++] = (struct zone_change){.owner = cur->apex,
			                              .type = types[i],
			                              .ttl = s->policy.dnskey_ttl,
			                              .count = count,
			                              .rdata = rd[i],
			                              .rdata_size = (uint32_t)rl[i]};
		else if (apex && zone_node_rrset(apex, types[i]))
			v[n++] = (struct zone_change){.owner = cur->apex, .type = types[i]};
	}
	return change_changes_append(out, v, n);
}

/* The parts of a whole-zone signing (dnssec_zone_sign_parts), one thread per CPU: parts 1.. on
 * threads of their own (ternd-sign), part 0 on the signer thread, which joins them all before it
 * returns (they read cur, which the signer thread, online, keeps). A thread that cannot start
 * has its part run here. */
struct part_job {
	void (*work)(void *arg, unsigned i);
	void *arg;
	unsigned i;
};

static void part_thread(void *arg)
{
	struct part_job *j = arg;
	j->work(j->arg, j->i);
}

static void run_parts(void *ctx, unsigned parts, void (*work)(void *arg, unsigned i), void *arg)
{
	(void)ctx;
	struct ev_thread threads[SIGN_THREADS_MAX] = {0};
	struct part_job jobs[SIGN_THREADS_MAX];
	parts = parts < SIGN_THREADS_MAX ? parts : SIGN_THREADS_MAX;
	for (unsigned i = 1; i < parts; i++) {
		jobs[i] = (struct part_job){work, arg, i};
		if (ev_thread_start_fn(&threads[i], part_thread, &jobs[i], "ternd-sign") < 0)
			work(arg, i);
	}
	work(arg, 0);
	for (unsigned i = 1; i < parts; i++)
		ev_thread_stop(&threads[i]);
}

static unsigned sign_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > SIGN_THREADS_MAX ? SIGN_THREADS_MAX : (unsigned)n;
}

/* The signed version of cur with s: *list gets every change from cur (the SOA with serial, CDS and
 * CDNSKEY, then dnssec_zone_sign()'s), *next the version, *index its chain. */
static int sign_whole(const struct zone *cur, const struct signing *s, uint32_t serial, struct nsec_changes *list,
                      struct zone **next, struct nsec_chain **index, char *err, size_t errlen)
{
	struct change_set set = {0};
	struct nsec_changes signs = {0};
	struct zone *mid = NULL;
	struct dnssec_zone_policy zp = zone_policy(&s->policy);
	int rc = change_set_make(cur, NULL, 0, serial, &set);
	if (rc == 0)
		rc = change_changes_append(list, set.all, set.n);
	if (rc == 0)
		rc = cds_changes(cur, s, list, err, errlen);
	if (rc == 0)
		rc = zone_apply_text(cur, list->v, list->n, &mid, err, errlen);
	struct dnssec_zone_runner runner = {sign_threads(), run_parts, NULL};
	if (rc == 0)
		rc = dnssec_zone_sign_parts(mid, s->zkeys, s->nkeys, &zp, time(NULL), &runner, index, &signs, err,
		                            errlen);
	/* the intermediate version and a second copy of every signature are not kept while the
	 * signed version is built: on a 1M-RR zone they were half of the peak */
	zone_discard(mid);
	mid = NULL;
	if (rc == 0)
		rc = changes_move(list, &signs);
	if (rc == 0)
		rc = zone_apply_text(cur, list->v, list->n, next, err, errlen);
	if (rc < 0 && *index) {
		nsec_chain_free(*index);
		*index = NULL;
	}
	if (rc == TERN_ENOMEM)
		snprintf(err, errlen, "out of memory");
	zone_discard(mid);
	nsec_changes_free(&signs);
	change_set_free(&set);
	return rc;
}

/* When the refresh after now is due for signatures whose earliest expiration is expiry (0: none):
 * refresh before it, but at least a tenth of refresh (at most an hour) after now, so signatures
 * whose expirations the jitter spread out are re-signed in batches, not one publish each second;
 * each still has nine tenths of refresh left when it is made anew. */
static int64_t refresh_due(const struct dnssec_policy *p, int64_t expiry, int64_t now)
{
	if (expiry <= 0)
		return 0;
	int64_t batch = p->rrsig_refresh / 10;
	batch = batch < 1 ? 1 : batch > 3600 ? 3600 : batch;
	int64_t at = expiry - (int64_t)p->rrsig_refresh;
	return at < now + batch ? now + batch : at;
}

static void arm_refresh(struct change *c, struct signed_zone *z, const struct zone *signed_version)
{
	int64_t now = time(NULL);
	set_refresh(c, z, refresh_due(&z->active->policy, dnssec_zone_next_expiry(signed_version, now), now));
}

/* The rows the signed version is stored with: the zone's DNSSEC row, now "signed", and its keys not
 * yet active made so (RFC 7583: published and active with this version; ready once the DNSKEY
 * RRset has reached every cache, after the propagation delay and its TTL). */
struct signed_rows {
	const uint8_t *apex;
	struct signing *s;
	uint32_t serial;
	struct store_key *now; /* the keys' rows after (s->nkeys), copied into s once committed */
};

static int signed_rows(struct store_txn *t, void *arg, char *err, size_t errlen)
{
	struct signed_rows *sr = arg;
	const struct dnssec_policy *p = &sr->s->policy;
	struct store_dnssec d = {.policy = *p, .state = STORE_DNSSEC_SIGNED}, old;
	int rc = store_dnssec_get(t, sr->apex, &old, err, errlen);
	if (rc == 0) { /* turning off, asked while this signing ran, stays asked */
		d.unsigning = old.unsigning;
		d.ds_gone = old.ds_gone;
		rc = store_dnssec_put(t, sr->apex, &d, err, errlen);
	}
	int64_t now = time(NULL);
	char reason[96];
	snprintf(reason, sizeof(reason), "published and signing from serial %u", sr->serial);
	int64_t step = sr->s->step_at;
	for (size_t i = 0; rc == 0 && i < sr->s->nkeys; i++) {
		struct store_key *k = &sr->now[i];
		*k = sr->s->meta[i];
		if (k->state == STORE_KEY_GENERATED && (k->use & ROLL_USE_PUBLISH)) { /* the first keys */
			enum store_key_state from = k->state;
			k->state = STORE_KEY_ACTIVE;
			k->published = k->published ? k->published : now;
			k->active = now;
			k->since = now;
			k->ready = now + p->propagation_delay + p->dnskey_ttl;
			rc = store_key_update(t, sr->apex, k, from, reason, err, errlen);
		} else if (step && k->since == step && now > step) {
			/* a key the rollover plan moved for this signing: it took effect now */
			int64_t *times[] = {&k->created, &k->published, &k->ready,  &k->active,
			                    &k->retired, &k->removed,   &k->revoked};
			for (size_t j = 0; j < sizeof(times) / sizeof(times[0]); j++)
				*times[j] = *times[j] == step ? now : *times[j];
			k->since = now;
			rc = store_key_update(t, sr->apex, k, k->state, reason, err, errlen);
		}
	}
	return rc;
}

/* Signs apex whole with its wanted signing and publishes it. Called with c->lock held; let go of
 * while signing (but on the last attempt), so writes go on meanwhile. A version published in
 * between makes the attempt void. */
static void sign_job(struct change *c, struct signed_zone *z)
{
	char name[NAME_MAXLEN * 4 + 1], err[CHANGE_MSG_MAX] = "";
	uint8_t apex[NAME_MAXLEN];
	memcpy(apex, z->apex, name_len(z->apex));
	name_to_text(apex, name, sizeof(name));
	for (int attempt = 0; attempt < SIGN_ATTEMPTS; attempt++) {
		bool last = attempt == SIGN_ATTEMPTS - 1;
		struct signing *s = z->wanted;
		uint64_t gen = z->gen;
		const struct zone *cur = zones_get(c->zones, apex);
		struct store_zone row;
		if (!cur || store_zone_get(store_latest(c->store), apex, &row, err, sizeof(err)) < 0) {
			log_error("zone %s: cannot sign: %s", name, cur ? err : "not served");
			change_job_failed(c, z, cur ? err : "the zone is not served");
			return;
		}
		s->refs++;
		uint32_t from = cur->serial, serial = change_next_serial(from, row.serial_policy, time(NULL));
		struct nsec_changes list = {0};
		struct zone *next = NULL;
		struct nsec_chain *index = NULL;
		if (!last)
			change_unlock(c); /* cur stays: this thread is online */
		int rc = sign_whole(cur, s, serial, &list, &next, &index, err, sizeof(err));
		if (!last)
			change_lock(c); /* waits offline: cur may be gone once it has the lock */
		/* still the version signed? (every version of a store zone has a serial of its own, so
		 * the same address with the same serial is cur itself, not memory reused) */
		z = change_dnssec_find(c, apex);
		const struct zone *now = zones_get(c->zones, apex);
		bool current = z && z->gen == gen && now == cur && now->serial == from;
		struct signed_rows sr = {apex, s, serial, calloc(s->nkeys, sizeof(*sr.now))};
		if (rc == 0 && current && !sr.now) {
			rc = TERN_ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
		}
		if (rc == 0 && current) {
			struct change_result r = {.index = CHANGE_NO_INDEX};
			rc = change_write_version(c, apex, cur, next, list.v, list.n, serial, CHANGE_SIGNER_PRINCIPAL,
			                          signed_rows, &sr, &r);
			next = NULL;
			if (rc == 0) {
				memcpy(s->meta, sr.now, s->nkeys * sizeof(*sr.now));
				change_signing_put(z->active);
				z->active = s; /* the reference the job took */
				s = NULL;
				change_signing_put(z->wanted);
				z->wanted = NULL;
				nsec_chain_free(z->index);
				z->index = index;
				index = NULL;
				job_done(c, z);
				const struct zone *served = zones_get(c->zones, apex);
				if (served)
					arm_refresh(c, z, served);
				c->signer->signed_total++;
				log_info("zone %s: signed, serial %u", name, serial);
			} else {
				log_error("zone %s: the signed version could not be stored: %s", name, r.msg);
				change_job_failed(c, z, r.msg);
			}
		} else if (rc < 0 && current) {
			log_error("zone %s: signing failed: %s", name, err);
			change_job_failed(c, z, err);
		}
		free(sr.now);
		zone_discard(next);
		nsec_chain_free(index);
		nsec_changes_free(&list);
		change_signing_put(s);
		c->signer->trim = true;
		if (!z || current || !z->wanted)
			return;
		/* the zone changed while it was signed (a write, or another policy): sign it again */
		log_info("zone %s: changed while it was signed: signing it again", name);
	}
}

/* Re-signs what comes due in z and publishes it with the next serial. Called with c->lock held. */
static void refresh_job(struct change *c, struct signed_zone *z)
{
	char name[NAME_MAXLEN * 4 + 1], err[CHANGE_MSG_MAX] = "";
	name_to_text(z->apex, name, sizeof(name));
	const struct zone *cur = zones_get(c->zones, z->apex);
	struct store_zone row;
	if (!cur || store_zone_get(store_latest(c->store), z->apex, &row, err, sizeof(err)) < 0) {
		log_error("zone %s: cannot refresh signatures: %s", name, cur ? err : "not served");
		change_job_failed(c, z, cur ? err : "the zone is not served");
		return;
	}
	struct signing *s = z->active;
	struct dnssec_zone_policy zp = zone_policy(&s->policy);
	struct nsec_changes due = {0}, resigned = {0}, list = {0};
	struct change_set set = {0};
	struct zone *mid = NULL, *next = NULL;
	int64_t now = time(NULL), expiry = 0;
	uint32_t serial = change_next_serial(cur->serial, row.serial_policy, now);
	int rc = dnssec_zone_refresh(cur, s->zkeys, s->nkeys, &zp, now, s->policy.rrsig_refresh, &due, &expiry, err,
	                             sizeof(err));
	if (rc == 0 && due.n == 0) {
		set_refresh(c, z, refresh_due(&s->policy, expiry, now));
		goto out;
	}
	/* the signatures due, then the SOA with the next serial re-signed over them */
	if (rc == 0)
		rc = zone_apply_text(cur, due.v, due.n, &mid, err, sizeof(err));
	if (rc == 0)
		rc = change_set_make(mid, NULL, 0, serial, &set);
	if (rc == 0)
		rc = dnssec_zone_resign(mid, &z->index, set.all, set.n, s->zkeys, s->nkeys, &zp, now, &resigned, err,
		                        sizeof(err));
	/* one list from cur: the refreshed groups the re-signing does not restate, then its changes */
	for (size_t i = 0; rc == 0 && i < due.n; i++) {
		bool again = false;
		for (size_t j = 0; j < resigned.n && !again; j++)
			again = due.v[i].type == resigned.v[j].type && name_equal(due.v[i].owner, resigned.v[j].owner);
		if (!again)
			rc = change_changes_append(&list, &due.v[i], 1);
	}
	if (rc == 0)
		rc = change_changes_append(&list, resigned.v, resigned.n);
	if (rc == 0)
		rc = zone_apply_text(cur, list.v, list.n, &next, err, sizeof(err));
	/* before the publish, which may let cur go (mid was derived from it) */
	zone_discard(mid);
	mid = NULL;
	change_set_free(&set);
	if (rc < 0) {
		log_error("zone %s: refreshing signatures failed: %s", name, err);
		if (!z->index)
			lost_index(c, z);
		change_job_failed(c, z, err);
		goto out;
	}
	struct change_result r = {.index = CHANGE_NO_INDEX};
	rc = change_write_version(c, z->apex, cur, next, list.v, list.n, serial, CHANGE_SIGNER_PRINCIPAL, NULL, NULL,
	                          &r);
	next = NULL;
	if (rc < 0) {
		log_error("zone %s: refreshed signatures could not be stored: %s", name, r.msg);
		change_job_failed(c, z, r.msg);
		goto out;
	}
	job_done(c, z);
	set_refresh(c, z, refresh_due(&s->policy, expiry, now));
	c->signer->refreshed_total++;
	log_info("zone %s: %zu name(s) with signatures refreshed, serial %u", name, due.n, serial);
out:
	zone_discard(next);
	zone_discard(mid);
	change_set_free(&set);
	nsec_changes_free(&due);
	nsec_changes_free(&resigned);
	nsec_changes_free(&list);
}

/* ---- rollovers (change_roll.c runs the plan; this hook signs with its result) ---- */

/* Runs z's rollover plan when due: a key set or use changed wants a whole signing with the keys
 * as the store now has them. Only for a zone served signed with nothing else queued, so each
 * step's signing is published before the plan's next wait starts counting. c->lock held. */
static void roll_job(struct change *c, struct signed_zone *z, int64_t now)
{
	if (!z->active || !z->index || z->wanted || z->broken || z->roll_at > now)
		return;
	char name[NAME_MAXLEN * 4 + 1], err[CHANGE_MSG_MAX] = "", what[CHANGE_ROLL_WHAT_MAX];
	name_to_text(z->apex, name, sizeof(name));
	bool changed = false, ds_waiting = false;
	uint16_t ds_tag = 0;
	int64_t next = INT64_MAX;
	struct signing *s = NULL;
	int rc = change_roll_run(c, z->apex, &z->active->policy, now, &changed, &ds_waiting, &ds_tag, &next, what, err,
	                         sizeof(err));
	if (rc == 0) /* a KSK waits for its DS: the parents are asked now, then every ds-check-interval */
		z->ds_check_at = ds_waiting && z->active->policy.nparents ? (z->ds_check_at ? z->ds_check_at : now) : 0;
	if (rc == 0 && (ds_waiting ? ds_tag : 0) != z->ksk_signalled) { /* ksk-submission set, moved or cleared */
		char tag[8];
		snprintf(tag, sizeof(tag), "%u", ds_tag);
		struct signal_arg args[] = {{"keytag", tag}};
		signals_raise(c->signals, SIGNAL_KSK_SUBMISSION, ds_waiting ? SIGNAL_SET : SIGNAL_CLEAR, name, args,
		              ds_waiting ? 1 : 0);
		z->ksk_signalled = ds_waiting ? ds_tag : 0;
	}
	if (rc == 0 && changed)
		rc = change_signing_load(store_latest(c->store), z->apex, &z->active->policy, &s, err, sizeof(err));
	pthread_mutex_lock(&c->signer->status_lock);
	z->roll_at = rc < 0 ? now + RETRY_SECONDS : next;
	snprintf(z->roll_what, sizeof(z->roll_what), "%s", rc < 0 ? "the plan again after a failure" : what);
	pthread_mutex_unlock(&c->signer->status_lock);
	if (rc < 0) {
		log_error("zone %s: key rollover: %s", name, err);
		change_job_failed(c, z, err);
		return;
	}
	if (s) {
		s->step_at = now;
		change_want_signing(z, s);
		log_info("zone %s: keys changed: signing the zone with them", name);
	}
}

/* The in-tree promise the zone serves (its _in-tree TXT): in-tree-expiring set, with a warning in
 * the log, while its expiry is within CHANGE_INTREE_WARN or past (or the record is not one RFC 3339
 * date-time); cleared once renewed or removed. Judged every c->intree_interval seconds, and at once
 * after a write of the record (change_dnssec_intree_written). */
static void intree_job(struct change *c, struct signed_zone *z, int64_t now)
{
	const struct zone *cur = zones_get(c->zones, z->apex);
	char name[NAME_MAXLEN * 4 + 1], err[300] = "", stamp[40] = "", days[24] = "";
	long long at = 0;
	unsigned interval = atomic_load(&c->intree_interval);
	z->intree_at = now + (interval ? interval : 86400);
	if (!cur)
		return;
	int rc = change_intree_served(cur, &at, err, sizeof(err));
	name_to_text(z->apex, name, sizeof(name));
	bool expiring = rc == TERN_EINVAL || (rc == 0 && at - now < CHANGE_INTREE_WARN);
	if (!expiring) {
		if (z->intree_signalled)
			log_info("in-tree: zone %s: %s: in-tree-expiring cleared", name,
			         rc == 0 ? "its promise is renewed" : "no longer marked");
		if (z->intree_signalled)
			signals_raise(c->signals, SIGNAL_IN_TREE_EXPIRING, SIGNAL_CLEAR, name, NULL, 0);
		z->intree_signalled = false;
		return;
	}
	if (rc == 0) {
		time_t t = (time_t)at;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		/* whole days left, rounded down (past: negative) */
		long long left = at >= now ? (at - now) / 86400 : -((now - at + 86399) / 86400);
		snprintf(days, sizeof(days), "%lld", left);
		if (at > now)
			log_warning("in-tree: zone %s: its in-tree promise expires in %lld day(s), at %s: renew it "
			            "(in-tree-expires, or PUT /api/v1/zones/%s/in-tree)",
			            name, left, stamp, name);
		else
			log_warning("in-tree: zone %s: its in-tree promise expired at %s (%s day(s) left): hinted "
			            "resolvers stop trusting it; renew or remove the mark",
			            name, stamp, days);
		struct signal_arg args[] = {{"expires", stamp}, {"days-left", days}};
		signals_raise(c->signals, SIGNAL_IN_TREE_EXPIRING, SIGNAL_SET, name, args, 2);
	} else {
		log_warning("in-tree: zone %s: its _in-tree TXT is not one RFC 3339 date-time: %s", name, err);
		struct signal_arg args[] = {{"error", err}};
		signals_raise(c->signals, SIGNAL_IN_TREE_EXPIRING, SIGNAL_SET, name, args, 1);
	}
	z->intree_signalled = true;
}

void change_dnssec_intree_written(struct change *c, struct signed_zone *sz, const struct change_rrset *ch, size_t n)
{
	uint8_t owner[NAME_MAXLEN];
	if (!sz || !change_intree_owner(sz->apex, owner))
		return;
	for (size_t i = 0; i < n; i++) {
		if (ch[i].type == RR_TXT && name_equal(ch[i].owner, owner)) {
			sz->intree_at = 0;
			change_signer_wake(c);
			return;
		}
	}
}

void change_dnssec_roll_soon(struct change *c, const uint8_t *apex)
{
	struct signed_zone *z = change_dnssec_find(c, apex);
	if (!z)
		return;
	pthread_mutex_lock(&c->signer->status_lock);
	z->roll_at = 0;
	pthread_mutex_unlock(&c->signer->status_lock);
	change_signer_wake(c);
}

/* One round: whole-zone signings wanted, then refreshes due; the timer then at the next due time. */
static void run(struct change_signer *sg)
{
	struct change *c = sg->c;
	change_lock(c); /* offline: see change_lock() */
	rcu_thread_online();
	int64_t now = time(NULL), due = INT64_MAX;
	for (struct signed_zone *z = sg->zones; z; z = z->next) {
		if (z->intree_at <= now) /* whatever the jobs' state: the due time below counts on it */
			intree_job(c, z, now);
		if (z->retry_at && z->retry_at > now)
			continue;
		if (z->unsign_at && z->unsign_at <= now) {
			change_unsign_job(c, z);
			break; /* z is gone: the list may have changed, the next round sees the rest */
		}
		if (!z->unsigning) /* turning off: no rollover starts; the keys stay as they are */
			roll_job(c, z, now);
		if (z->wanted) {
			uint8_t apex[NAME_MAXLEN];
			memcpy(apex, z->apex, name_len(z->apex));
			sign_job(c, z);
			if (!(z = change_dnssec_find(c, apex)))
				break; /* deleted meanwhile: the list may have changed, the next round sees it */
		} else if (z->active && z->index && z->refresh_at && z->refresh_at <= now) {
			refresh_job(c, z);
		}
	}
	/* the DS checks due, made below without the lock (change_ds.c) */
	struct change_ds_check *checks = NULL;
	size_t nchecks = 0;
	now = time(NULL);
	for (struct signed_zone *z = sg->zones; z; z = z->next) {
		if (!z->ds_check_at || z->ds_check_at > now || !z->active || z->wanted)
			continue;
		struct change_ds_check *grown = realloc(checks, (nchecks + 1) * sizeof(*checks));
		if (!grown)
			break;
		checks = grown;
		bool wanted = z->unsigning ? !z->ds_gone &&
		                                 change_ds_gone_wanted(c, z->apex, &z->active->policy, &checks[nchecks])
		                           : change_ds_wanted(c, z->apex, &z->active->policy, &checks[nchecks]);
		nchecks += wanted;
		z->ds_check_at = wanted ? now + z->active->policy.ds_check_interval : 0;
	}
	for (struct signed_zone *z = sg->zones; z; z = z->next) {
		int64_t at = z->retry_at                              ? z->retry_at
		             : z->wanted                              ? now
		             : z->active && z->index && z->refresh_at ? z->refresh_at
		                                                      : INT64_MAX;
		due = at < due ? at : due;
		if (z->active && z->index && !z->broken && !z->retry_at && !z->unsigning) /* the rollover plan's next */
			due = z->roll_at < due ? (z->roll_at > now ? z->roll_at : now) : due;
		if (z->unsign_at && !z->retry_at && z->unsign_at < due) /* turning off: the DNSSEC records go */
			due = z->unsign_at > now ? z->unsign_at : now;
		if (z->ds_check_at && z->ds_check_at < due)
			due = z->ds_check_at > now ? z->ds_check_at : now;
		if (z->intree_at < due) /* the in-tree promise judged again */
			due = z->intree_at > now ? z->intree_at : now;
	}
	rcu_thread_offline();
	change_unlock(c);
	if (sg->trim) { /* the signing's transients, freed in this thread's and its parts' arenas */
		sg->trim = false;
		change_trim_heap();
	}
	if (due == INT64_MAX)
		ev_timer_cancel(sg->loop, &sg->timer);
	else
		ev_timer_at(sg->loop, &sg->timer, ev_clock_ms() + (uint64_t)(due > now ? due - now : 0) * 1000);
	change_ds_checks_run(c, checks, nchecks); /* network: without the lock */
	free(checks);
}

static void on_wake(struct ev_loop *loop, struct ev_async *a)
{
	(void)loop;
	run(a->arg);
}

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	run(t->arg);
}

/* ---- life ---- */

int change_dnssec_init(struct change *c)
{
	c->signer = calloc(1, sizeof(*c->signer));
	if (!c->signer)
		return TERN_ENOMEM;
	c->signer->c = c;
	pthread_mutex_init(&c->signer->status_lock, NULL);
	return 0;
}

int change_signer_start(struct change *c, char *err, size_t errlen)
{
	struct change_signer *sg = c->signer;
	if (!sg) {
		snprintf(err, errlen, "DNSSEC signer: out of memory");
		return TERN_ENOMEM;
	}
	sg->loop = ev_new(EV_RCU_OFFLINE);
	if (!sg->loop) {
		snprintf(err, errlen, "DNSSEC signer: no event loop (out of memory or descriptors)");
		return TERN_ENOMEM;
	}
	ev_async_start(sg->loop, &sg->wake, on_wake, sg);
	ev_timer_init(&sg->timer, on_timer, sg);
	ev_timer_in(sg->loop, &sg->timer, 0); /* a first round: zones loaded half-signed, refreshes */
	if (ev_thread_start(&sg->thread, sg->loop, "ternd-signer") < 0) {
		ev_free(sg->loop);
		sg->loop = NULL;
		snprintf(err, errlen, "DNSSEC signer: cannot start its thread");
		return TERN_EIO;
	}
	sg->running = true;
	return 0;
}

void change_dnssec_destroy(struct change *c)
{
	struct change_signer *sg = c->signer;
	if (!sg)
		return;
	if (sg->running) {
		ev_thread_stop(&sg->thread);
		sg->running = false;
	}
	if (sg->loop)
		ev_free(sg->loop);
	while (sg->zones) {
		struct signed_zone *z = sg->zones;
		sg->zones = z->next;
		signed_free(z);
	}
	pthread_mutex_destroy(&sg->status_lock);
	free(sg);
	c->signer = NULL;
}

/* ---- start ---- */

void change_dnssec_loaded(struct change *c, const struct store_zone *row, const struct zone *z)
{
	char name[NAME_MAXLEN * 4 + 1], err[CHANGE_MSG_MAX] = "";
	name_to_text(row->apex, name, sizeof(name));
	struct store_dnssec d = {0};
	struct store_txn *t = store_latest(c->store);
	int rc = store_dnssec_get(t, row->apex, &d, err, sizeof(err));
	if (rc == TERN_ENOTFOUND)
		return;
	struct signing *s = NULL;
	struct signed_zone *sz = NULL;
	if (rc < 0 || change_signing_load(t, row->apex, &d.policy, &s, err, sizeof(err)) < 0) {
		log_error("zone %s: DNSSEC keys not loaded: %s (served as stored; writes are refused)", name, err);
		if ((sz = zone_add(c, row->apex))) {
			sz->broken = true;
			if (rc == 0 && d.unsigning) /* being turned off: unsigned once the DS is gone */
				change_set_unsigning(c, sz, &d.policy, d.unsigning, d.ds_gone);
		}
		return;
	}
	if (!(sz = zone_add(c, row->apex))) {
		log_error("zone %s: DNSSEC state not loaded: out of memory", name);
		change_signing_put(s);
		return;
	}
	if (d.unsigning) { /* being turned off: the delete CDS stays published until the DS is gone */
		s->delete_cds = true;
		change_set_unsigning(c, sz, &d.policy, d.unsigning, d.ds_gone);
		if (d.state == STORE_DNSSEC_SIGNED && !change_has_delete_cds(z)) {
			change_want_signing(sz, s);
			log_info("zone %s: DNSSEC being turned off: publishing the delete CDS", name);
			return;
		}
	}
	if (d.state == STORE_DNSSEC_SIGNING) {
		change_want_signing(sz, s);
		log_info("zone %s: DNSSEC signing was under way: signing it again", name);
		return;
	}
	/* the chain index of the stored version; a chain that is not what it should be is signed anew */
	struct nsec_changes ch = {0};
	struct nsec_chain *index = NULL;
	rc = nsec_chain_build(z, &d.policy.nsec, &index, &ch, err, sizeof(err));
	size_t off = ch.n;
	nsec_changes_free(&ch);
	if (rc < 0 || off) {
		log_error("zone %s: the stored denial chain %s: signing the zone again", name,
		          rc < 0 ? err : "is not the zone's");
		nsec_chain_free(index);
		change_want_signing(sz, s);
		return;
	}
	sz->active = s;
	sz->index = index;
	arm_refresh(c, sz, z);
}
