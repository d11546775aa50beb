/* tern check: the cache-less walk from the root hints to the zone that answers, and the
 * resolution of name servers given without glue. */
#include "lib/check_walk.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/error.h"
#include "lib/rr.h"

#define MAX_DEPTH 4
#define MAX_REFERRALS 24

static const char *const iana_roots[] = {
    "198.41.0.4",    "170.247.170.2", "192.33.4.12",   "199.7.91.13",  "192.203.230.10", "192.5.5.241", "192.112.36.4",
    "198.97.190.53", "192.36.148.17", "192.58.128.30", "193.0.14.129", "199.7.83.42",    "202.12.27.33"};

void check_ctx_init(struct check_ctx *c, struct check_report *report)
{
	memset(c, 0, sizeof(*c));
	char err[128];
	for (size_t i = 0; i < sizeof(iana_roots) / sizeof(iana_roots[0]) && c->nhints < CHECK_MAXNS; i++)
		if (check_addr_parse(iana_roots[i], 53, &c->hints[c->nhints], err, sizeof(err)) == 0)
			c->nhints++;
	c->timeout_ms = 2000;
	c->slow_ms = 500;
	c->budget = 300;
	c->deadline_ms = 60000;
	snprintf(c->whois, sizeof(c->whois), "whois.iana.org");
	c->whois_timeout_ms = 10000;
	c->whois_cap = 1 << 20;
	c->report = report;
}

int check_ctx_load_hints(struct check_ctx *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open hints file %s: %s", path, strerror(errno));
		return TERN_EIO;
	}
	char line[512];
	int n = 0, lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *semi = strchr(line, ';');
		if (semi)
			*semi = 0;
		char *tok[6], *save = NULL;
		int nt = 0;
		for (char *t = strtok_r(line, " \t\r\n", &save); t && nt < 6; t = strtok_r(NULL, " \t\r\n", &save))
			tok[nt++] = t;
		if (nt == 0)
			continue;
		int ti = nt >= 4 && strcasecmp(tok[2], "IN") == 0 ? 3 : 2;
		if (nt < ti + 2) {
			snprintf(err, errlen, "%s line %d: expected \"NAME TTL [IN] TYPE DATA\"", path, lineno);
			rc = TERN_EINVAL;
			goto done;
		}
		if (strcasecmp(tok[ti], "A") != 0 && strcasecmp(tok[ti], "AAAA") != 0)
			continue; /* NS lines name the servers; their addresses are what we need */
		if (n == CHECK_MAXNS)
			continue;
		char aerr[160];
		if (check_addr_parse(tok[ti + 1], 53, &c->hints[n], aerr, sizeof(aerr)) < 0) {
			snprintf(err, errlen, "%s line %d: %s", path, lineno, aerr);
			rc = TERN_EINVAL;
			goto done;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s holds no A or AAAA record of a root server", path);
		rc = TERN_EINVAL;
		goto done;
	}
	c->nhints = n;
done:
	fclose(f);
	return rc;
}

/* The hints and the operator's resolvers: addresses the configuration gave, not the user or a zone. */
static bool check_trusted(const struct check_ctx *c, const struct check_addr *server)
{
	for (int i = 0; i < c->nhints; i++)
		if (c->hints[i].len == server->len && memcmp(&c->hints[i].ss, &server->ss, server->len) == 0)
			return true;
	for (int i = 0; i < c->ntrusted && i < c->nresolvers; i++)
		if (c->resolvers[i].len == server->len && memcmp(&c->resolvers[i].ss, &server->ss, server->len) == 0)
			return true;
	return false;
}

int check_ask(struct check_ctx *c, const struct check_addr *server, const char *qname, uint16_t qtype, unsigned flags,
              struct check_answer *a)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
	if (c->started_ms == 0)
		c->started_ms = now;
	int timeout = c->timeout_ms;
	if (c->deadline_ms > 0) {
		double left = c->started_ms + c->deadline_ms - now;
		timeout = left < timeout ? (int)left : timeout;
	}
	if (c->allowed && !check_trusted(c, server)) {
		char why[128] = "";
		if (!c->allowed(c->allowed_arg, (const struct sockaddr *)&server->ss, why, sizeof(why))) {
			memset(a, 0, offsetof(struct check_answer, rr));
			snprintf(a->error, sizeof(a->error),
			         "not asked: %.46s is a private or reserved address (%.60s)", server->text, why);
			check_report_fail(c->report, "%s not asked for %s: a private or reserved address (%s)",
			                  server->text, qname, why);
			return TERN_EBUSY;
		}
	}
	if (c->budget <= 0 || timeout <= 0) {
		memset(a, 0, offsetof(struct check_answer, rr));
		snprintf(a->error, sizeof(a->error), "not asked: the check's %s",
		         c->budget <= 0 ? "query budget is spent" : "deadline passed");
		if (!c->stopped)
			check_report_fail(c->report, "the check's %s: what was left is not asked",
			                  c->budget <= 0 ? "query budget is spent" : "deadline passed");
		c->stopped = true;
		return TERN_EBUSY;
	}
	c->budget--;
	c->report->queries++;
	int rc = check_query(server, qname, qtype, flags, timeout, a);
	if (rc < 0 && timeout < c->timeout_ms && a->ms + 1 >= timeout) { /* cut short by the deadline */
		snprintf(a->error, sizeof(a->error), "not answered when the check's deadline passed");
		if (!c->stopped)
			check_report_fail(c->report, "the check's deadline passed: what was left is not asked");
		c->stopped = true;
		return TERN_EBUSY;
	}
	return rc;
}

/* The zone a referral hands over: the owner of its NS records in the authority section, when it
 * lies strictly below the zone asked and holds qname. */
static const char *referral_zone(const struct check_answer *a, const char *zone, const char *qname)
{
	if (a->rcode != 0)
		return NULL;
	for (int i = 0; i < a->nrr; i++)
		if (a->rr[i].section == CHECK_ANSWER)
			return NULL;
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->section == CHECK_AUTHORITY && rr->type == RR_NS && check_name_in(qname, rr->owner) &&
		    check_name_in(rr->owner, zone) && !check_name_eq(rr->owner, zone))
			return rr->owner;
	}
	return NULL;
}

static void cache_put(struct check_ctx *c, const char *name, const struct check_addr *addr)
{
	for (int i = 0; i < c->nnscache; i++)
		if (check_name_eq(c->nscache[i].name, name)) {
			for (int k = 0; k < c->nscache[i].n; k++)
				if (strcmp(c->nscache[i].addr[k].text, addr->text) == 0)
					return;
			if (c->nscache[i].n < 4)
				c->nscache[i].addr[c->nscache[i].n++] = *addr;
			return;
		}
	if (c->nnscache == CHECK_NSCACHE)
		return;
	check_copy(c->nscache[c->nnscache].name, CHECK_NAME_TEXT, name);
	c->nscache[c->nnscache].addr[0] = *addr;
	c->nscache[c->nnscache++].n = 1;
}

/* Takes the delegation out of a referral: NS names, glue, and the servers to ask next. */
static void take_referral(struct check_ctx *c, struct check_walk *w, const char *child, int depth)
{
	const struct check_answer *a = &w->answer;
	w->nns = w->nglue = w->nservers = 0;
	for (int i = 0; i < a->nrr && w->nns < CHECK_MAXNS; i++)
		if (a->rr[i].section == CHECK_AUTHORITY && a->rr[i].type == RR_NS &&
		    check_name_eq(a->rr[i].owner, child))
			check_copy(w->ns[w->nns++], CHECK_NAME_TEXT, a->rr[i].data);
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->section != CHECK_ADDITIONAL || (rr->type != RR_A && rr->type != RR_AAAA))
			continue;
		bool listed = false;
		for (int k = 0; k < w->nns; k++)
			listed |= check_name_eq(w->ns[k], rr->owner);
		char err[160];
		struct check_addr addr;
		/* glue outside the parent's zone is not the parent's to give: resolvers drop it, so do we */
		if (!listed || !check_name_in(rr->owner, w->zone) || w->nglue == CHECK_MAXNS * 2 ||
		    check_addr_parse(rr->data, 53, &addr, err, sizeof(err)) < 0)
			continue;
		check_copy(w->glue[w->nglue].name, CHECK_NAME_TEXT, rr->owner);
		w->glue[w->nglue++].addr = addr;
		if (rr->type == RR_A)
			cache_put(c, rr->owner, &addr);
	}
	check_copy(w->parent, sizeof(w->parent), w->zone);
	check_copy(w->zone, sizeof(w->zone), child);
	/* servers with glue first; the others resolved only when none of those is left */
	for (int k = 0; k < w->nns; k++)
		for (int g = 0; g < w->nglue && w->nservers < CHECK_MAXADDRS; g++)
			if (check_name_eq(w->glue[g].name, w->ns[k]) && w->glue[g].addr.ss.ss_family == AF_INET) {
				check_copy(w->servers[w->nservers].name, CHECK_NAME_TEXT, w->ns[k]);
				w->servers[w->nservers++].addr = w->glue[g].addr;
			}
	if (w->nservers)
		return;
	for (int k = 0; k < w->nns && w->nservers < CHECK_MAXADDRS; k++) {
		struct check_addr addrs[4];
		int n = check_ns_addrs(c, w->ns[k], depth + 1, addrs, 4);
		for (int i = 0; i < n && w->nservers < CHECK_MAXADDRS; i++) {
			check_copy(w->servers[w->nservers].name, CHECK_NAME_TEXT, w->ns[k]);
			w->servers[w->nservers++].addr = addrs[i];
		}
	}
}

/* A server of the zone may also serve a zone below it (the same provider for parent and child):
 * it then answers from the child at once, with no referral. The SOA it gives (in the answer or the
 * authority section; when the answer has none, asked for: a SOA query names the zone in either)
 * tells which zone answered; the delegation between them is not seen (nns 0). */
static void served_below(struct check_ctx *c, struct check_walk *w, const struct check_addr *srv, const char *qname)
{
	const struct check_answer *a = &w->answer;
	struct check_answer *soa_answer = NULL;
	const char *zone = NULL;
	for (int pass = 0; pass < 2 && !zone; pass++) {
		for (int i = 0; i < a->nrr && !zone; i++)
			if (a->rr[i].type == RR_SOA && a->rr[i].section != CHECK_ADDITIONAL &&
			    check_name_in(qname, a->rr[i].owner))
				zone = a->rr[i].owner;
		if (zone || pass == 1 || !(soa_answer = malloc(sizeof(*soa_answer))))
			break;
		if (check_ask(c, srv, qname, RR_SOA, false, soa_answer) < 0 || !soa_answer->aa)
			break;
		a = soa_answer;
	}
	if (zone && check_name_in(zone, w->zone) && !check_name_eq(zone, w->zone)) {
		check_copy(w->parent, sizeof(w->parent), w->zone);
		check_copy(w->zone, sizeof(w->zone), zone);
		w->nns = w->nglue = 0;
	}
	free(soa_answer);
}

/* Notes a referral of a walk for a name checked (not for a name server's address) in the report's
 * path, once per server and zone referred to. */
static void note_hop(struct check_report *r, const struct check_walk *w, const struct check_ns *srv,
                     const struct check_answer *a, const char *child)
{
	for (int i = 0; i < r->nhops; i++)
		if (strcmp(r->hops[i].addr, srv->addr.text) == 0 && check_name_eq(r->hops[i].child, child))
			return;
	if (r->nhops == CHECK_MAXHOPS)
		return;
	struct check_hop *h = &r->hops[r->nhops++];
	memset(h, 0, sizeof(*h));
	check_copy(h->zone, sizeof(h->zone), w->zone);
	check_copy(h->ns, sizeof(h->ns), srv->name);
	check_copy(h->addr, sizeof(h->addr), srv->addr.text);
	check_copy(h->child, sizeof(h->child), child);
	h->ms = a->ms;
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->section != CHECK_AUTHORITY || rr->type != RR_NS || !check_name_eq(rr->owner, child))
			continue;
		h->ttl = rr->ttl;
		if (h->nchild_ns < 4)
			check_copy(h->child_ns[h->nchild_ns++], CHECK_NAME_TEXT, rr->data);
	}
}

int check_walk(struct check_ctx *c, const char *qname, uint16_t qtype, int depth, struct check_walk *w)
{
	memset(w, 0, offsetof(struct check_walk, answer));
	if (depth > MAX_DEPTH) {
		check_report_fail(c->report, "%s: name servers nested more than %d deep, not followed", qname,
		                  MAX_DEPTH);
		return TERN_EIO;
	}
	snprintf(w->zone, sizeof(w->zone), ".");
	for (int i = 0; i < c->nhints && i < CHECK_MAXADDRS; i++) {
		snprintf(w->servers[i].name, CHECK_NAME_TEXT, "(hint)");
		w->servers[i].addr = c->hints[i];
		w->nservers++;
	}
	for (int step = 0; step < MAX_REFERRALS; step++) {
		bool moved = false;
		for (int s = 0; s < w->nservers && !moved; s++) {
			const struct check_ns *srv = &w->servers[s];
			int rc = check_ask(c, &srv->addr, qname, qtype, false, &w->answer);
			if (rc == TERN_EBUSY)
				return TERN_EIO; /* the budget or deadline: noted once by check_ask */
			if (rc < 0) {
				check_report_fail(c->report, "%s (%s), a server of %s, asked %s: %s", srv->name,
				                  srv->addr.text, w->zone, qname, w->answer.error);
				continue;
			}
			const struct check_answer *a = &w->answer;
			const char *child = referral_zone(a, w->zone, qname);
			if (child) {
				char zone[CHECK_NAME_TEXT];
				check_copy(zone, sizeof(zone), child);
				if (depth == 0 && c->report)
					note_hop(c->report, w, srv, a, zone);
				take_referral(c, w, zone, depth);
				moved = true;
				break;
			}
			if (a->aa && (a->rcode == 0 || a->rcode == 3)) {
				check_copy(w->answered_by, sizeof(w->answered_by), srv->addr.text);
				served_below(c, w, &srv->addr, qname);
				return 0;
			}
			check_report_fail(c->report, "%s (%s), a server of %s, asked %s: rcode %d%s", srv->name,
			                  srv->addr.text, w->zone, qname, a->rcode, a->aa ? "" : " without AA (lame)");
		}
		if (!moved) {
			check_report_fail(c->report, "no server of %s answered for %s", w->zone, qname);
			return TERN_EIO;
		}
		if (w->nservers == 0) {
			check_report_fail(c->report, "no address for any name server of %s", w->zone);
			return TERN_EIO;
		}
	}
	check_report_fail(c->report, "%s: more than %d referrals, not followed", qname, MAX_REFERRALS);
	return TERN_EIO;
}

int check_ns_addrs(struct check_ctx *c, const char *name, int depth, struct check_addr *out, int max)
{
	for (int i = 0; i < c->nnscache; i++)
		if (check_name_eq(c->nscache[i].name, name)) {
			int n = c->nscache[i].n < max ? c->nscache[i].n : max;
			memcpy(out, c->nscache[i].addr, (size_t)n * sizeof(*out));
			return n;
		}
	struct check_walk *w = malloc(sizeof(*w));
	if (!w) {
		check_report_fail(c->report, "out of memory resolving %s", name);
		return 0;
	}
	int n = 0;
	if (check_walk(c, name, RR_A, depth, w) == 0) {
		for (int i = 0; i < w->answer.nrr && n < max; i++) {
			const struct check_rr *rr = &w->answer.rr[i];
			char err[160];
			if (rr->section == CHECK_ANSWER && rr->type == RR_A && check_name_eq(rr->owner, name) &&
			    check_addr_parse(rr->data, 53, &out[n], err, sizeof(err)) == 0) {
				cache_put(c, name, &out[n]);
				n++;
			}
		}
		if (n == 0)
			check_report_fail(c->report, "name server %s has no IPv4 address", name);
	}
	free(w);
	return n;
}
