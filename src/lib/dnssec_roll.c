/* Key rollovers as a plan (RFC 7583): ZSK pre-publication, double-KSK with the DS swap at the
 * parent, RFC 5011 hold-downs and revocation, and algorithm (or CSK <-> KSK+ZSK) rollovers with
 * signatures before keys (RFC 6781 4.1.4). Every rule is a wait measured from a recorded time. */
#include "lib/dnssec_roll.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/dnssec.h"

static const char *const state_names[ROLL_NSTATES] = {"generated", "published", "ready",  "active",
                                                      "retired",   "revoked",   "removed"};

const char *roll_state_name(enum roll_state s)
{
	return (unsigned)s < ROLL_NSTATES ? state_names[s] : "?";
}

const char *roll_role_name(enum roll_role r)
{
	return r == ROLL_ZSK ? "ZSK" : r == ROLL_KSK ? "KSK" : r == ROLL_CSK ? "CSK" : "?";
}

struct plan {
	const struct roll_policy *p;
	const struct roll_key *k;
	size_t n;
	int64_t now;
	struct roll_step *step;
	int64_t next;
};

/* Whether t has come; if not, the plan's next change is at t at the latest. */
static bool due(struct plan *pl, int64_t t)
{
	if (t <= pl->now)
		return true;
	if (t < pl->next)
		pl->next = t;
	return false;
}

static bool moved(struct plan *pl, size_t i, enum roll_state state, unsigned use, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bool moved(struct plan *pl, size_t i, enum roll_state state, unsigned use, const char *fmt, ...)
{
	struct roll_step *s = pl->step;
	s->kind = ROLL_MOVE;
	s->key = i;
	s->role = pl->k[i].role;
	s->algorithm = pl->k[i].algorithm;
	s->state = state;
	s->use = use;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	return true;
}

static bool generated(struct plan *pl, enum roll_role role, enum roll_state state, unsigned use, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static bool generated(struct plan *pl, enum roll_role role, enum roll_state state, unsigned use, const char *fmt, ...)
{
	struct roll_step *s = pl->step;
	s->kind = ROLL_GENERATE;
	s->key = pl->n;
	s->role = role;
	s->algorithm = pl->p->algorithm;
	s->state = state;
	s->use = use;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	return true;
}

/* ---- the intervals of RFC 7583 ---- */

/* Ipub: a DNSKEY published (or withdrawn) is in (or out of) every cache after this. */
static int64_t ipub(const struct roll_policy *p)
{
	return (int64_t)p->dnskey_ttl + p->propagation_delay;
}

/* RFC 5011 2.3: a validator asks for the DNSKEY RRset every queryInterval, MAX(1 hour, MIN(15
 * days, TTL / 2, signature validity / 2)); TTL / 2 (rounded up) bounds it from above. The 1-hour
 * floor is left out at test timings (hold-downs below a day), as Unbound's permit-small-holddown. */
static int64_t query_interval(const struct roll_policy *p)
{
	int64_t q = ((int64_t)p->dnskey_ttl + 1) / 2;
	if (q > 15 * 86400)
		q = 15 * 86400;
	if (p->add_holddown >= 86400 && q < 3600)
		q = 3600;
	return q;
}

/* A new KSK may have its DS submitted (and the old one go) after this. Under RFC 5011 the key must
 * first be a trust anchor of every validator: its DNSKEY RRset reaches every cache (Ipub), the
 * validator's next query sees it and starts the add hold-down (2.4.1), and the first query after
 * the hold-down makes it a trust anchor. */
static int64_t ksk_wait(const struct roll_policy *p)
{
	if (p->rfc5011)
		return ipub(p) + query_interval(p) + p->add_holddown + query_interval(p);
	return ipub(p);
}

/* Signatures made (or no longer made) by a key are in (out of) every cache after this. */
static int64_t iret_sig(const struct roll_policy *p)
{
	return (int64_t)p->zone_max_ttl + p->propagation_delay;
}

/* The parent's DS RRset, changed, is in every cache after this. */
static int64_t iret_ds(const struct roll_policy *p)
{
	return (int64_t)p->ds_ttl + p->propagation_delay;
}

static bool live(const struct roll_key *k)
{
	return k->state != ROLL_REMOVED;
}

/* A key of the policy's algorithm and kind (CSK, or KSK and ZSK); the others are rolled away. */
static bool current(const struct roll_policy *p, const struct roll_key *k)
{
	return k->algorithm == p->algorithm && (p->csk ? k->role == ROLL_CSK : k->role != ROLL_CSK);
}

static bool signs_keys(enum roll_role r)
{
	return r != ROLL_ZSK;
}

/* The first time a key entered any state. */
static int64_t created(const struct roll_key *k)
{
	int64_t t = 0;
	for (int s = 0; s < ROLL_NSTATES; s++)
		if (k->at[s] && (!t || k->at[s] < t))
			t = k->at[s];
	return t;
}

/* Every live key was made at this very moment: the zone is being signed for the first time (no
 * cache holds anything of it), so its first keys go straight into use. */
static bool fresh(const struct plan *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		if (live(&pl->k[i]) && created(&pl->k[i]) != pl->now)
			return false;
	return true;
}

/* The newest active key of a role among the current ones, or -1. */
static long newest_active(const struct plan *pl, enum roll_role role)
{
	long best = -1;
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (k->state == ROLL_ACTIVE && k->role == role && current(pl->p, k) &&
		    (best < 0 || k->at[ROLL_ACTIVE] >= pl->k[best].at[ROLL_ACTIVE]))
			best = (long)i;
	}
	return best;
}

static bool has_live(const struct plan *pl, enum roll_role role, bool cur)
{
	for (size_t i = 0; i < pl->n; i++)
		if (live(&pl->k[i]) && pl->k[i].role == role && current(pl->p, &pl->k[i]) == cur)
			return true;
	return false;
}

/* A successor waiting: a current key of the role made but not yet active. */
static bool has_successor(const struct plan *pl, enum roll_role role)
{
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (k->role == role && current(pl->p, k) && k->state <= ROLL_READY)
			return true;
	}
	return false;
}

/* ---- ZSK: pre-publication (RFC 7583 3.2.1) ---- */

static bool zsk_step(struct plan *pl)
{
	const struct roll_policy *p = pl->p;
	long a = newest_active(pl, ROLL_ZSK);
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (k->role != ROLL_ZSK || !current(p, k))
			continue;
		switch (k->state) {
		case ROLL_GENERATED: return moved(pl, i, ROLL_PUBLISHED, ROLL_USE_PUBLISH, "published ahead of use");
		case ROLL_PUBLISHED:
			if (due(pl, k->at[ROLL_PUBLISHED] + ipub(p)))
				return moved(
				    pl, i, ROLL_READY, ROLL_USE_PUBLISH,
				    "its DNSKEY is in every cache (published %lld s ago: DNSKEY TTL %u + propagation "
				    "delay %u)",
				    (long long)(pl->now - k->at[ROLL_PUBLISHED]), p->dnskey_ttl, p->propagation_delay);
			break;
		case ROLL_READY:
			if (a < 0)
				return moved(pl, i, ROLL_ACTIVE, ROLL_USE_PUBLISH | ROLL_USE_SIGN, "no ZSK was active");
			if (p->zsk_lifetime && due(pl, pl->k[a].at[ROLL_ACTIVE] + p->zsk_lifetime))
				return moved(pl, i, ROLL_ACTIVE, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
				             "ZSK %u reached its lifetime of %u s", pl->k[a].tag, p->zsk_lifetime);
			break;
		case ROLL_ACTIVE:
			if ((long)i != a)
				return moved(pl, i, ROLL_RETIRED, ROLL_USE_PUBLISH,
				             "its successor ZSK %u signs now; its DNSKEY stays while its signatures "
				             "may be cached",
				             pl->k[a].tag);
			break;
		case ROLL_RETIRED:
		case ROLL_REVOKED:
			if (due(pl, k->at[k->state] + iret_sig(p)))
				return moved(
				    pl, i, ROLL_REMOVED, 0,
				    "its signatures are out of every cache (retired %lld s ago: maximum zone TTL %u + "
				    "propagation delay %u)",
				    (long long)(pl->now - k->at[k->state]), p->zone_max_ttl, p->propagation_delay);
			break;
		default: break;
		}
	}
	if (!has_live(pl, ROLL_ZSK, true)) {
		if (fresh(pl))
			return generated(pl, ROLL_ZSK, ROLL_ACTIVE, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
			                 "signing starts: the first ZSK");
		return generated(pl, ROLL_ZSK, ROLL_PUBLISHED, ROLL_USE_PUBLISH,
		                 "no ZSK: one is published (the KSK signs the zone until it is active)");
	}
	if (a >= 0 && p->zsk_lifetime && !has_successor(pl, ROLL_ZSK)) {
		int64_t end = pl->k[a].at[ROLL_ACTIVE] + p->zsk_lifetime;
		if (due(pl, end - ipub(p)))
			return generated(pl, ROLL_ZSK, ROLL_PUBLISHED, ROLL_USE_PUBLISH,
			                 "ZSK %u's lifetime ends at %lld: its successor is published %lld s before",
			                 pl->k[a].tag, (long long)end, (long long)ipub(p));
	}
	return false;
}

/* ---- KSK or CSK: double-KSK with the DS swapped at the parent (RFC 7583 3.3.2) ---- */

static bool ksk_step(struct plan *pl, enum roll_role role)
{
	const struct roll_policy *p = pl->p;
	const char *rn = roll_role_name(role);
	unsigned cds = p->cds ? ROLL_USE_CDS : 0;
	long a = newest_active(pl, role);
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (k->role != role || !current(p, k))
			continue;
		switch (k->state) {
		case ROLL_GENERATED:
			return moved(pl, i, ROLL_PUBLISHED, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
			             "published ahead of use, signing the DNSKEY RRset beside the active %s", rn);
		case ROLL_PUBLISHED:
			if (due(pl, k->at[ROLL_PUBLISHED] + ksk_wait(p)))
				return moved(pl, i, ROLL_READY, ROLL_USE_PUBLISH | ROLL_USE_SIGN | cds,
				             "its DNSKEY is in every cache (published %lld s ago%s): its DS may go to "
				             "the parent%s",
				             (long long)(pl->now - k->at[ROLL_PUBLISHED]),
				             p->rfc5011 ? "; a trust anchor of every RFC 5011 validator" : "",
				             cds ? " (CDS and CDNSKEY published)" : "");
			break;
		case ROLL_READY:
			if (k->ds_seen)
				return moved(pl, i, ROLL_ACTIVE, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
				             "its DS is at the parent%s", cds ? " (CDS and CDNSKEY withdrawn)" : "");
			break;
		case ROLL_ACTIVE:
			if ((long)i != a)
				return moved(
				    pl, i, ROLL_RETIRED, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
				    "the DS of its successor %s %u is at the parent; it stays while its DS may be "
				    "cached",
				    rn, pl->k[a].tag);
			break;
		case ROLL_RETIRED:
			if (!due(pl, k->at[ROLL_RETIRED] + iret_ds(p)))
				break;
			if (p->rfc5011)
				return moved(pl, i, ROLL_REVOKED, ROLL_USE_PUBLISH | ROLL_USE_SIGN | ROLL_USE_REVOKE,
				             "its DS is out of every cache; published revoked for the RFC 5011 remove "
				             "hold-down of %u s",
				             p->remove_holddown);
			return moved(
			    pl, i, ROLL_REMOVED, 0,
			    "its DS is out of every cache (retired %lld s ago: DS TTL %u + propagation delay %u)",
			    (long long)(pl->now - k->at[ROLL_RETIRED]), p->ds_ttl, p->propagation_delay);
		case ROLL_REVOKED:
			if (due(pl, k->at[ROLL_REVOKED] + p->remove_holddown))
				return moved(pl, i, ROLL_REMOVED, 0, "the RFC 5011 remove hold-down of %u s has passed",
				             p->remove_holddown);
			break;
		default: break;
		}
	}
	if (!has_live(pl, role, true)) {
		bool first = true;
		for (size_t i = 0; i < pl->n; i++)
			first &= !live(&pl->k[i]);
		if (first)
			return generated(pl, role, ROLL_READY, ROLL_USE_PUBLISH | ROLL_USE_SIGN | cds,
			                 "signing starts: the first %s, waiting for its DS at the parent", rn);
		return generated(pl, role, ROLL_PUBLISHED, ROLL_USE_PUBLISH | ROLL_USE_SIGN, "no %s: one is published",
		                 rn);
	}
	if (a >= 0 && p->ksk_lifetime && !has_successor(pl, role)) {
		int64_t end = pl->k[a].at[ROLL_ACTIVE] + p->ksk_lifetime;
		if (due(pl, end - ksk_wait(p)))
			return generated(pl, role, ROLL_PUBLISHED, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
			                 "%s %u's lifetime ends at %lld: its successor is published", rn, pl->k[a].tag,
			                 (long long)end);
	}
	return false;
}

/* ---- algorithm (or key kind) rollover: RFC 6781 4.1.4, signatures before keys ---- */

static bool algorithm_step(struct plan *pl)
{
	const struct roll_policy *p = pl->p;
	unsigned cds = p->cds ? ROLL_USE_CDS : 0;
	const char *to = dnssec_alg_name(p->algorithm);
	/* keys of the old kind that never signed go at once: nothing of them is in any cache that matters */
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (live(k) && !current(p, k) && !(k->use & ROLL_USE_SIGN) && k->state <= ROLL_READY)
			return moved(pl, i, ROLL_REMOVED, 0, "the zone rolls to %s%s: this key was never used", to,
			             p->csk ? " with a CSK" : " with a KSK and a ZSK");
	}
	enum roll_role roles[2] = {p->csk ? ROLL_CSK : ROLL_KSK, ROLL_ZSK};
	size_t nroles = p->csk ? 1 : 2;
	for (size_t r = 0; r < nroles; r++)
		if (!has_live(pl, roles[r], true))
			return generated(
			    pl, roles[r], ROLL_GENERATED, ROLL_USE_SIGN,
			    "rollover to %s%s: the new %s signs before its DNSKEY is published (RFC 6781 4.1.4)", to,
			    p->csk ? " with a CSK" : "", roll_role_name(roles[r]));
	long knew = newest_active(pl, roles[0]);
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (!live(k) || !current(p, k))
			continue;
		bool keys = signs_keys(k->role);
		switch (k->state) {
		case ROLL_GENERATED:
			if (due(pl, k->at[ROLL_GENERATED] + iret_sig(p)))
				return moved(
				    pl, i, ROLL_PUBLISHED, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
				    "its signatures are in every cache (maximum zone TTL %u + propagation delay %u): "
				    "its DNSKEY is published",
				    p->zone_max_ttl, p->propagation_delay);
			break;
		case ROLL_PUBLISHED:
			if (due(pl, k->at[ROLL_PUBLISHED] + (keys ? ksk_wait(p) : ipub(p))))
				return moved(pl, i, ROLL_READY, ROLL_USE_PUBLISH | ROLL_USE_SIGN | (keys ? cds : 0),
				             "its DNSKEY is in every cache%s",
				             keys ? ": its DS may go to the parent" : "");
			break;
		case ROLL_READY:
			if (keys && k->ds_seen)
				return moved(pl, i, ROLL_ACTIVE, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
				             "its DS is at the parent");
			if (!keys && knew >= 0)
				return moved(pl, i, ROLL_ACTIVE, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
				             "the new %s is active", roll_role_name(roles[0]));
			break;
		case ROLL_ACTIVE:
			/* a current key of a role that reached its state earlier: the one before it retires */
			break;
		default: break;
		}
	}
	/* the old keys: kept whole while the old DS may be cached, then without their DNSKEY while
	 * the DNSKEY RRset that held them may be cached, then removed */
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (!live(k) || current(p, k))
			continue;
		if ((k->state == ROLL_ACTIVE || k->state == ROLL_READY || k->state == ROLL_PUBLISHED) && knew >= 0)
			return moved(pl, i, ROLL_RETIRED, ROLL_USE_PUBLISH | ROLL_USE_SIGN,
			             "the DS of the new %s %u is at the parent; this key stays while the old DS may be "
			             "cached",
			             roll_role_name(roles[0]), pl->k[knew].tag);
		if ((k->state == ROLL_RETIRED || k->state == ROLL_REVOKED) && (k->use & ROLL_USE_PUBLISH) &&
		    due(pl, k->at[k->state] + iret_ds(p)))
			return moved(
			    pl, i, k->state, ROLL_USE_SIGN,
			    "the old DS is out of every cache: its DNSKEY is withdrawn, its signatures stay while "
			    "the DNSKEY RRset that held it may be cached");
		if ((k->state == ROLL_RETIRED || k->state == ROLL_REVOKED) && !(k->use & ROLL_USE_PUBLISH) &&
		    due(pl, k->since + ipub(p)))
			return moved(
			    pl, i, ROLL_REMOVED, 0,
			    "the DNSKEY RRset without it is in every cache (DNSKEY TTL %u + propagation delay %u): "
			    "its signatures go",
			    p->dnskey_ttl, p->propagation_delay);
	}
	return false;
}

/* A key still publishing its CDS (the first KSK keeps it: its DS may go up any time) gives way to a
 * successor ready with its own: the CDS RRset then names only the successor, so a registrar
 * following it (RFC 7344 4.1) replaces the DS rather than adding one that is left dangling once the
 * old key is gone (strict validators want every DS algorithm to sign). */
static bool cds_step(struct plan *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		const struct roll_key *k = &pl->k[i];
		if (!live(k) || !signs_keys(k->role) || !(k->use & ROLL_USE_CDS) || k->state == ROLL_READY)
			continue;
		for (size_t j = 0; j < pl->n; j++) {
			const struct roll_key *s = &pl->k[j];
			if (j != i && live(s) && signs_keys(s->role) && s->state == ROLL_READY &&
			    (s->use & ROLL_USE_CDS))
				return moved(
				    pl, i, k->state, k->use & ~ROLL_USE_CDS,
				    "the CDS of its successor %s %u replaces its own: the parent is to swap the DS",
				    roll_role_name(s->role), s->tag);
		}
	}
	return false;
}

void roll_next(const struct roll_policy *p, const struct roll_key *keys, size_t n, int64_t now, struct roll_step *step,
               int64_t *next)
{
	memset(step, 0, sizeof(*step));
	step->kind = ROLL_NONE;
	struct plan pl = {.p = p, .k = keys, .n = n, .now = now, .step = step, .next = INT64_MAX};
	bool old = false;
	for (size_t i = 0; i < n; i++)
		old |= live(&keys[i]) && !current(p, &keys[i]);
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any |= live(&keys[i]);
	bool done;
	if (cds_step(&pl))
		done = true;
	else if (old && any)
		done = algorithm_step(&pl);
	else if (p->csk)
		done = ksk_step(&pl, ROLL_CSK);
	else
		done = ksk_step(&pl, ROLL_KSK) || zsk_step(&pl);
	*next = done ? now : pl.next;
}
