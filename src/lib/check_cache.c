/* tern check cache: the authoritative answer (check_fqdn's chain) against what each vantage
 * resolver holds in its cache, with the time each one has left (seed 000, cases b and c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

/* The values of type qtype in the answer section (any owner: the end of the resolver's chain)
 * and their smallest TTL; 0 when there are none. */
static int end_values(const struct check_answer *a, uint16_t qtype, struct check_cached *k)
{
	k->nvalues = 0;
	k->more = a->dropped;
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->section != CHECK_ANSWER || rr->type != qtype)
			continue;
		if (k->nvalues == 0 || rr->ttl < k->left)
			k->left = rr->ttl;
		if (k->nvalues == CHECK_MAXVALUES)
			k->more++;
		else
			check_copy_rdata(k->values[k->nvalues++], CHECK_RDATA_TEXT, rr->data);
	}
	return k->nvalues + k->more;
}

/* The SOA of the authority section (a negative answer's): its TTL is what is left of the
 * negative answer (RFC 2308 section 5). */
static const struct check_rr *negative_soa(const struct check_answer *a)
{
	for (int i = 0; i < a->nrr; i++)
		if (a->rr[i].section == CHECK_AUTHORITY && a->rr[i].type == RR_SOA)
			return &a->rr[i];
	return NULL;
}

/* Reads an answer into k: true when it is a whole answer (values of qtype, or NXDOMAIN/NODATA with
 * the SOA saying how long it holds), false for a referral, a partial chain or an error. */
static bool take_answer(const struct check_answer *a, uint16_t qtype, struct check_cached *k)
{
	k->rcode = a->rcode;
	k->left = 0;
	if (a->rcode != 0 && a->rcode != 3)
		return false;
	if (end_values(a, qtype, k) > 0) {
		k->negative = false;
		return a->rcode == 0;
	}
	const struct check_rr *soa = negative_soa(a);
	if (!soa)
		return false;
	k->negative = true;
	k->left = soa->ttl;
	return true;
}

static int cmp_value(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool same_answer(struct check_cached *k, const struct check_step *end)
{
	if (k->negative != (end->nvalues == 0) || (k->negative && k->rcode != end->rcode))
		return false;
	if (k->nvalues != end->nvalues || k->more != end->more)
		return false;
	char want[CHECK_MAXVALUES][CHECK_RDATA_TEXT];
	memcpy(want, end->values, sizeof(want));
	qsort(want, (size_t)end->nvalues, CHECK_RDATA_TEXT, cmp_value);
	qsort(k->values, (size_t)k->nvalues, CHECK_RDATA_TEXT, cmp_value);
	for (int i = 0; i < k->nvalues; i++)
		if (strcmp(k->values[i], want[i]) != 0)
			return false;
	return true;
}

/* "NXDOMAIN", "no data", "A 192.0.2.1 ..." into out. */
static void answer_text(bool negative, int rcode, const char (*values)[CHECK_RDATA_TEXT], int n, uint16_t qtype,
                        char *out, size_t cap)
{
	char type[RRTEXT_TYPE_MAXLEN];
	if (negative) {
		snprintf(out, cap, "%s", rcode == 3 ? "NXDOMAIN" : "no data (NODATA)");
		return;
	}
	rrtext_type_to_text(qtype, type, sizeof(type));
	snprintf(out, cap, "%s %s%s", type, n ? values[0] : "", n > 1 ? " ..." : "");
}

/* The zone's negative-cache TTL: the SOA of the zone holding the end of the chain. */
static void end_negative_ttl(struct check_ctx *c, struct check_report *r, const struct check_step *end)
{
	if (r->soa.have && check_name_eq(end->zone, r->zone)) {
		r->negative_ttl = r->soa.negative_ttl;
		r->have_negative_ttl = true;
		return;
	}
	struct check_walk *w = malloc(sizeof(*w));
	if (!w) {
		check_report_fail(r, "out of memory");
		return;
	}
	const struct check_rr *soa = NULL;
	struct check_soa parsed;
	if (check_walk(c, end->zone, RR_SOA, 0, w) == 0 &&
	    (soa = check_answer_find(&w->answer, CHECK_ANSWER, end->zone, RR_SOA)) &&
	    check_soa_parse(soa, &parsed) == 0) {
		r->negative_ttl = parsed.negative_ttl;
		r->have_negative_ttl = true;
	} else if (!soa)
		check_report_fail(r, "the SOA of %s (its negative-cache TTL) could not be read", end->zone);
	free(w);
}

static void one_resolver(struct check_ctx *c, struct check_report *r, const struct check_addr *res,
                         const struct check_step *end, uint16_t qtype, struct check_answer *a)
{
	if (r->ncaches == CHECK_MAXNS)
		return;
	struct check_cached *k = &r->caches[r->ncaches++];
	memset(k, 0, sizeof(*k));
	check_copy(k->addr, sizeof(k->addr), res->text);
	/* RD off first: a resolver answers such a query from its cache only, without changing it */
	int rc = check_ask(c, res, r->target, qtype, 0, a);
	if (rc == 0 && take_answer(a, qtype, k)) {
		snprintf(k->how, sizeof(k->how), "cache");
	} else {
		snprintf(k->how, sizeof(k->how), rc == 0 && a->rcode == 5 ? "recursion" : "fresh");
		if (rc == TERN_EBUSY)
			goto failed;
		rc = check_ask(c, res, r->target, qtype, CHECK_RD, a);
		if (rc < 0)
			goto failed;
		if (!take_answer(a, qtype, k)) {
			snprintf(k->error, sizeof(k->error), "answered rcode %d with no usable answer", a->rcode);
			k->rcode = a->rcode;
			check_find(r, "resolver_failed", "resolver %s answers rcode %d for %s", k->addr, a->rcode,
			           r->target);
			return;
		}
	}
	k->ok = true;
	k->agrees = same_answer(k, end);
	char held[CHECK_RDATA_TEXT + 32], auth[CHECK_RDATA_TEXT + 32];
	answer_text(k->negative, k->rcode, k->values, k->nvalues, qtype, held, sizeof(held));
	answer_text(end->nvalues == 0, end->rcode, end->values, end->nvalues, qtype, auth, sizeof(auth));
	uint32_t zone_ttl = k->negative ? r->negative_ttl : end->ttl;
	bool known_ttl = !k->negative || r->have_negative_ttl;
	if (strcmp(k->how, "fresh") == 0 && known_ttl && k->left < zone_ttl) {
		k->cap_lower = k->negative;
		check_find(r, "resolver_cap", "resolver %s keeps %s for %u s, not the %u s %s", k->addr, held, k->left,
		           zone_ttl, k->negative ? "of the zone's negative-cache TTL" : "of the record's TTL");
	}
	char says[1024];
	if (!k->agrees) {
		snprintf(says, sizeof(says),
		         "resolver %s will keep %.200s for at most %u s more; the authoritative servers answer %.200s",
		         res->text, held, k->left, auth);
		check_find(r, "cache_stale", "%s", says);
	} else {
		snprintf(says, sizeof(says),
		         "resolver %s answers %.200s as the authoritative servers do (%s %u s more)", res->text, held,
		         strcmp(k->how, "fresh") == 0 ? "looked up now, kept" : "kept at most", k->left);
	}
	check_copy(k->says, sizeof(k->says), says);
	if (k->negative && known_ttl && k->left > zone_ttl)
		check_find(r, "resolver_cap",
		           "resolver %s keeps %s for %u s more, longer than the zone's negative-cache TTL "
		           "of %u s (its own minimum TTL is higher)",
		           k->addr, held, k->left, zone_ttl);
	return;
failed:
	check_copy(k->error, sizeof(k->error), a->error);
	if (rc != TERN_EBUSY)
		check_find(r, "resolver_failed", "resolver %s gave no answer for %s: %s", k->addr, r->target, a->error);
}

int check_cache(struct check_ctx *c, struct check_report *r, uint16_t qtype)
{
	/* the chain from the authoritative servers, without check_fqdn's own resolver comparison */
	int nresolvers = c->nresolvers;
	c->nresolvers = 0;
	int rc = check_fqdn(c, r, qtype);
	c->nresolvers = nresolvers;
	if (rc < 0)
		return rc;
	const struct check_step *end = &r->steps[r->nsteps - 1];
	if (end->target[0]) {
		check_report_fail(r, "the chain from %s does not end (at %s): no answer to compare the caches with",
		                  r->target, end->name);
		return 0;
	}
	struct check_answer *a = malloc(sizeof(*a));
	if (!a) {
		check_report_fail(r, "out of memory");
		return TERN_ENOMEM;
	}
	end_negative_ttl(c, r, end);
	for (int i = 0; i < c->nresolvers; i++)
		one_resolver(c, r, &c->resolvers[i], end, qtype, a);
	free(a);
	return 0;
}
