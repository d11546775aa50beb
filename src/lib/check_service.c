/* tern check service: what Tern intends for a service (canonical name and its addresses, the
 * aliases users point at it, the certificate's names) against walks from the root, reusing the
 * fqdn and domain checks for each alias and adding the service's own rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/error.h"
#include "lib/rr.h"

/* Copies a sub-report's findings (those not already in r), failures and servers into r. */
static void merge(struct check_report *r, const struct check_report *sub)
{
	for (int i = 0; i < sub->nfindings; i++) {
		bool seen = false;
		for (int k = 0; k < r->nfindings && !seen; k++)
			seen = strcmp(r->findings[k].code, sub->findings[i].code) == 0 &&
			       strcmp(r->findings[k].what, sub->findings[i].what) == 0;
		if (!seen && r->nfindings < CHECK_MAXFINDINGS)
			r->findings[r->nfindings++] = sub->findings[i];
	}
	for (int i = 0; i < sub->nfailures; i++)
		check_report_fail(r, "%s", sub->failures[i]);
	for (int i = 0; i < sub->nservers && r->nservers < CHECK_MAXSERVERS; i++)
		r->servers[r->nservers++] = sub->servers[i];
	r->queries += sub->queries;
}

static bool intended(const struct check_intent *in, const char *value)
{
	for (int i = 0; i < in->naddrs; i++)
		if (strcasecmp(in->addrs[i], value) == 0)
			return true;
	return false;
}

static void append(char *path, size_t cap, const char *part)
{
	size_t n = strlen(path);
	if (n < cap)
		snprintf(path + n, cap - n, "%s%s", n ? " -> " : "", part);
}

/* The canonical name's A and AAAA: only the deployment's addresses. */
static void canonical(struct check_ctx *c, struct check_report *r, const struct check_intent *in, struct check_walk *w)
{
	struct check_named *n = &r->named[r->nnamed++];
	check_copy(n->name, sizeof(n->name), in->canonical);
	snprintf(n->role, sizeof(n->role), "canonical");
	n->points = true;
	static const uint16_t types[] = {RR_A, RR_AAAA};
	int answered = 0;
	for (size_t t = 0; t < 2; t++) {
		if (check_walk(c, in->canonical, types[t], 0, w) < 0) {
			n->points = false;
			continue;
		}
		if (!r->zone[0])
			check_copy(r->zone, sizeof(r->zone), w->zone);
		if (w->answer.rcode == 3) {
			n->points = false;
			check_find(r, "record_differs", "%s does not exist (NXDOMAIN): the service is not published",
			           in->canonical);
			append(n->path, sizeof(n->path), "NXDOMAIN");
			return;
		}
		for (int i = 0; i < w->answer.nrr; i++) {
			const struct check_rr *rr = &w->answer.rr[i];
			if (rr->section != CHECK_ANSWER || rr->type != types[t])
				continue;
			answered++;
			append(n->path, sizeof(n->path), rr->data);
			if (!intended(in, rr->data)) {
				n->points = false;
				check_find(r, "record_differs",
				           "%s answers %s, an address its deployment does not hold", in->canonical,
				           rr->data);
			}
		}
	}
	if (!answered && n->points) {
		n->points = false;
		check_find(r, "record_differs", "%s answers no address (the deployment holds %d)", in->canonical,
		           in->naddrs);
	}
}

/* An HTTPS record in AliasMode ("0 target.") at name pointing at the canonical name. */
static bool https_alias(struct check_ctx *c, const char *name, const struct check_intent *in, struct check_walk *w)
{
	if (check_walk(c, name, RR_HTTPS, 0, w) < 0)
		return false;
	for (int i = 0; i < w->answer.nrr; i++) {
		const struct check_rr *rr = &w->answer.rr[i];
		char target[CHECK_NAME_TEXT];
		unsigned prio;
		if (rr->section == CHECK_ANSWER && rr->type == RR_HTTPS &&
		    sscanf(rr->data, "%u %255s", &prio, target) == 2 && prio == 0 &&
		    check_name_eq(target, in->canonical))
			return true;
	}
	return false;
}

static void alias(struct check_ctx *c, struct check_report *r, const struct check_intent *in, const char *name,
                  char (*zones)[CHECK_NAME_TEXT], int *nzones, struct check_walk *w)
{
	struct check_named *n = &r->named[r->nnamed++];
	check_copy(n->name, sizeof(n->name), name);
	snprintf(n->role, sizeof(n->role), "alias");
	struct check_report *sub = check_report_new("fqdn", name);
	if (!sub) {
		check_report_fail(r, "out of memory");
		return;
	}
	c->report = sub;
	int nresolvers = c->nresolvers;
	c->nresolvers = 0;
	check_fqdn(c, sub, RR_A);
	c->nresolvers = nresolvers;
	for (int i = 0; i < sub->nsteps; i++) {
		n->points |= check_name_eq(sub->steps[i].name, in->canonical);
		if (i)
			append(n->path, sizeof(n->path), sub->steps[i].name);
		if (!sub->steps[i].target[0])
			append(n->path, sizeof(n->path),
			       sub->steps[i].nvalues      ? sub->steps[i].values[0]
			       : sub->steps[i].rcode == 3 ? "NXDOMAIN"
			                                  : "no data");
	}
	if (!n->points && https_alias(c, name, in, w)) {
		n->points = true;
		append(n->path, sizeof(n->path), "HTTPS AliasMode");
		append(n->path, sizeof(n->path), in->canonical);
	}
	c->report = r;
	if (!n->points)
		check_find(r, "alias_elsewhere", "%s does not point at %s: it resolves %s", name, in->canonical,
		           n->path[0] ? n->path : "to nothing");
	/* the alias's zone, once: delegation, servers, DNSSEC */
	bool seen = !sub->zone[0];
	for (int i = 0; i < *nzones && !seen; i++)
		seen = check_name_eq(zones[i], sub->zone);
	merge(r, sub);
	if (!seen && *nzones < CHECK_MAXNS) {
		check_copy(zones[(*nzones)++], CHECK_NAME_TEXT, sub->zone);
		struct check_report *dom = check_report_new("domain", sub->zone);
		if (dom) {
			char whois[sizeof(c->whois)];
			memcpy(whois, c->whois, sizeof(whois));
			c->whois[0] = 0;
			c->report = dom;
			check_domain(c, dom);
			c->report = r;
			memcpy(c->whois, whois, sizeof(whois));
			merge(r, dom);
			check_report_free(dom);
		}
	}
	check_report_free(sub);
}

/* The CAA set that applies to name: its own, else the closest ancestor's (RFC 8659 section 3);
 * caa_forbids when it has issue properties and none names the CA. */
static void caa(struct check_ctx *c, struct check_report *r, const struct check_intent *in, const char *name,
                struct check_walk *w)
{
	const char *at = name;
	while (at && *at && strcmp(at, ".") != 0) {
		if (check_walk(c, at, RR_CAA, 0, w) < 0)
			return;
		int issue = 0;
		bool allowed = false;
		for (int i = 0; i < w->answer.nrr; i++) {
			const struct check_rr *rr = &w->answer.rr[i];
			unsigned flags;
			char tag[32], value[CHECK_RDATA_TEXT];
			if (rr->section != CHECK_ANSWER || rr->type != RR_CAA || !check_name_eq(rr->owner, at) ||
			    sscanf(rr->data, "%u %31s \"%511[^\"]", &flags, tag, value) < 2)
				continue;
			if (strcasecmp(tag, "issue") != 0)
				continue;
			issue++;
			char *semi = strchr(value, ';');
			if (semi)
				*semi = 0;
			for (char *e = value + strlen(value); e > value && (e[-1] == ' ' || e[-1] == '\t'); e--)
				e[-1] = 0;
			allowed |= strcasecmp(value, in->ca) == 0;
		}
		bool any = false;
		for (int i = 0; i < w->answer.nrr; i++)
			any |= w->answer.rr[i].section == CHECK_ANSWER && w->answer.rr[i].type == RR_CAA;
		if (any) {
			if (issue && !allowed)
				check_find(r, "caa_forbids",
				           "the CAA records at %s (which apply to %s) allow no issue by %s", at, name,
				           in->ca);
			return;
		}
		at = strchr(at, '.');
		at = at ? at + 1 : NULL;
	}
}

int check_service(struct check_ctx *c, struct check_report *r, const struct check_intent *in)
{
	struct check_walk *w = malloc(sizeof(*w));
	char(*zones)[CHECK_NAME_TEXT] = malloc(CHECK_MAXNS * CHECK_NAME_TEXT);
	int nzones = 0;
	if (!w || !zones) {
		free(w);
		free(zones);
		check_report_fail(r, "out of memory");
		return TERN_ENOMEM;
	}
	c->budget += 200 * in->naliases; /* each alias is a check fqdn and a check domain of its own */
	canonical(c, r, in, w);
	for (int i = 0; i < in->naliases && r->nnamed < CHECK_MAXNS + 1; i++)
		alias(c, r, in, in->aliases[i], zones, &nzones, w);
	for (int i = 0; in->ca[0] && i < r->nnamed; i++)
		caa(c, r, in, r->named[i].name, w);
	if (in->have_cert) {
		for (int i = 0; i < r->nnamed; i++) {
			bool covered = false;
			for (int k = 0; k < in->ncert && !covered; k++)
				covered = check_name_eq(in->cert_names[k], r->named[i].name);
			if (!covered)
				check_find(r, "cert_missing_name", "the certificate of the service does not cover %s",
				           r->named[i].name);
		}
	} else {
		check_report_fail(r,
		                  "the service has no certificate issued yet: its names are not checked against one");
	}
	free(w);
	free(zones);
	return 0;
}
