/* tern check domain: the delegation, the zone's servers and SOA, and the apex rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/check_registry.h"
#include "lib/error.h"
#include "lib/rr.h"

static bool listed(const char (*names)[CHECK_NAME_TEXT], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (check_name_eq(names[i], name))
			return true;
	return false;
}

int check_soa_parse(const struct check_rr *rr, struct check_soa *soa)
{
	memset(soa, 0, sizeof(*soa));
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "%%%ds %%%ds %%u %%u %%u %%u %%u", CHECK_NAME_TEXT - 1, CHECK_NAME_TEXT - 1);
	if (sscanf(rr->data, fmt, soa->mname, soa->rname, &soa->serial, &soa->refresh, &soa->retry, &soa->expire,
	           &soa->minimum) != 7)
		return TERN_EMALF;
	soa->ttl = rr->ttl;
	soa->negative_ttl = soa->ttl < soa->minimum ? soa->ttl : soa->minimum;
	soa->have = true;
	return 0;
}

/* Asks one server of the zone for its SOA: authoritative, NOERROR, with the SOA, or lame. */
static void ask_server(struct check_ctx *c, struct check_report *r, const char *ns, const struct check_addr *addr,
                       const char *role, struct check_answer *a)
{
	struct check_server s = {0};
	check_copy(s.role, sizeof(s.role), role);
	check_copy(s.zone, sizeof(s.zone), r->zone);
	check_copy(s.qname, sizeof(s.qname), r->zone);
	check_copy(s.ns, sizeof(s.ns), ns);
	check_copy(s.addr, sizeof(s.addr), addr->text);
	int rc = check_ask(c, addr, r->zone, RR_SOA, false, a);
	if (rc < 0) {
		check_copy(s.error, sizeof(s.error), a->error);
		if (rc != TERN_EBUSY)
			check_find(r, "lame_ns", "%s (%s) gave no answer for %s: %s", ns, addr->text, r->zone,
			           a->error);
	} else {
		s.ms = a->ms;
		s.tcp = a->tcp;
		s.rcode = a->rcode;
		const struct check_rr *soa = check_answer_find(a, CHECK_ANSWER, r->zone, RR_SOA);
		struct check_soa parsed;
		if (soa && check_soa_parse(soa, &parsed) == 0) {
			s.have_serial = true;
			s.serial = parsed.serial;
		}
		s.ok = a->aa && a->rcode == 0 && s.have_serial;
		if (!s.ok)
			check_find(r, "lame_ns", "%s (%s) does not answer authoritatively for %s (rcode %d%s%s)", ns,
			           addr->text, r->zone, a->rcode, a->aa ? "" : ", no AA flag",
			           s.have_serial ? "" : ", no SOA");
		else if (a->ms > c->slow_ms)
			check_find(r, "slow_ns", "%s (%s) took %.0f ms to answer (more than %d ms)", ns, addr->text,
			           a->ms, c->slow_ms);
	}
	check_report_server(r, &s);
}

static void ask_ns(struct check_ctx *c, struct check_report *r, const struct check_walk *w, const char *ns,
                   const char *role, struct check_answer *a)
{
	struct check_addr addrs[4];
	int n = 0;
	for (int g = 0; g < w->nglue && n < 4; g++)
		if (check_name_eq(w->glue[g].name, ns))
			addrs[n++] = w->glue[g].addr;
	if (n == 0)
		n = check_ns_addrs(c, ns, 0, addrs, 4);
	if (n == 0) {
		struct check_server s = {0};
		check_copy(s.role, sizeof(s.role), role);
		check_copy(s.zone, sizeof(s.zone), r->zone);
		check_copy(s.qname, sizeof(s.qname), r->zone);
		check_copy(s.ns, sizeof(s.ns), ns);
		snprintf(s.error, sizeof(s.error), "no address found for the name server");
		check_report_server(r, &s);
		check_find(r, "lame_ns", "%s has no address: it cannot serve %s", ns, r->zone);
		return;
	}
	for (int i = 0; i < n; i++)
		ask_server(c, r, ns, &addrs[i], role, a);
}

/* The zone's own NS set, from the first server that answered well; *good is that server. */
static bool child_ns(struct check_ctx *c, struct check_report *r, struct check_addr *good, struct check_answer *a)
{
	for (int i = 0; i < r->nservers; i++) {
		char err[160];
		if (!r->servers[i].ok || check_addr_parse(r->servers[i].addr, 53, good, err, sizeof(err)) < 0)
			continue;
		if (check_ask(c, good, r->zone, RR_NS, false, a) < 0 || !a->aa)
			continue;
		for (int k = 0; k < a->nrr && r->nchild_ns < CHECK_MAXNS; k++)
			if (a->rr[k].section == CHECK_ANSWER && a->rr[k].type == RR_NS &&
			    check_name_eq(a->rr[k].owner, r->zone))
				check_copy(r->child_ns[r->nchild_ns++], CHECK_NAME_TEXT, a->rr[k].data);
		return true;
	}
	check_report_fail(r, "no server of %s answered for its NS record set", r->zone);
	return false;
}

/* In-bailiwick glue against the address records the zone itself serves. */
static void glue_rule(struct check_ctx *c, struct check_report *r, const struct check_addr *good,
                      struct check_answer *a)
{
	for (int g = 0; g < r->nglue; g++) {
		if (!check_name_in(r->glue[g].name, r->zone))
			continue;
		bool seen = false;
		for (int h = 0; h < g; h++)
			seen |= check_name_eq(r->glue[h].name, r->glue[g].name);
		if (seen)
			continue;
		if (check_ask(c, good, r->glue[g].name, RR_A, false, a) < 0) {
			check_report_fail(r, "glue of %s not compared: %s", r->glue[g].name, a->error);
			continue;
		}
		for (int h = g; h < r->nglue; h++) {
			if (!check_name_eq(r->glue[h].name, r->glue[g].name) || strchr(r->glue[h].addr, ':'))
				continue;
			bool match = false;
			for (int k = 0; k < a->nrr; k++)
				match |= a->rr[k].section == CHECK_ANSWER && a->rr[k].type == RR_A &&
				         strcmp(a->rr[k].data, r->glue[h].addr) == 0;
			if (!match)
				check_find(r, "glue_mismatch",
				           "the parent's glue says %s is %s; the zone does not give it that address",
				           r->glue[h].name, r->glue[h].addr);
		}
	}
}

/* The apex: a CNAME there, and TTLs of the records users change. */
static void apex_rules(struct check_ctx *c, struct check_report *r, const struct check_addr *good,
                       struct check_answer *a)
{
	if (check_ask(c, good, r->zone, RR_CNAME, false, a) < 0)
		check_report_fail(r, "CNAME at the apex not checked: %s", a->error);
	else {
		const struct check_rr *cn = check_answer_find(a, CHECK_ANSWER, r->zone, RR_CNAME);
		if (cn)
			check_find(r, "cname_at_apex", "%s has a CNAME (to %s) at its apex", r->zone, cn->data);
	}
	static const uint16_t types[] = {RR_A, RR_AAAA, RR_MX, RR_TXT};
	static const char *const names[] = {"A", "AAAA", "MX", "TXT"};
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if (check_ask(c, good, r->zone, types[t], false, a) < 0) {
			check_report_fail(r, "TTL of %s %s not checked: %s", r->zone, names[t], a->error);
			continue;
		}
		const struct check_rr *rr = check_answer_find(a, CHECK_ANSWER, r->zone, types[t]);
		if (rr && rr->ttl > CHECK_TTL_HIGH)
			check_find(r, "ttl_high", "%s %s has TTL %u s (more than %d s)", r->zone, names[t], rr->ttl,
			           CHECK_TTL_HIGH);
	}
}

static void serial_rule(struct check_report *r)
{
	uint32_t newest = 0;
	bool any = false;
	for (int i = 0; i < r->nservers; i++)
		if (r->servers[i].have_serial && (!any || (int32_t)(r->servers[i].serial - newest) > 0)) {
			newest = r->servers[i].serial;
			any = true;
		}
	for (int i = 0; i < r->nservers; i++)
		if (r->servers[i].have_serial && r->servers[i].serial != newest)
			check_find(r, "serial_lag", "%s (%s) serves serial %u of %s; the newest is %u",
			           r->servers[i].ns, r->servers[i].addr, r->servers[i].serial, r->servers[i].zone,
			           newest);
}

/* Redundancy (RFC 1034 section 4.1, Zonemaster's DELEGATION01 and 02): two name servers at least,
 * at the parent (unless it serves the zone itself) and in the zone, on two addresses at least, and no
 * address shared by two names. */
static void redundancy_rule(struct check_report *r, bool seeded)
{
	char addrs[CHECK_MAXSERVERS][CHECK_ADDR_TEXT], names[CHECK_MAXSERVERS][CHECK_NAME_TEXT];
	int naddrs = 0;
	for (int i = 0; i < r->nservers; i++) {
		const struct check_server *s = &r->servers[i];
		if (!s->addr[0] || strcmp(s->role, "resolver") == 0)
			continue;
		int k = 0;
		while (k < naddrs && strcmp(addrs[k], s->addr) != 0)
			k++;
		if (k == naddrs) {
			check_copy(addrs[naddrs], CHECK_ADDR_TEXT, s->addr);
			check_copy(names[naddrs++], CHECK_NAME_TEXT, s->ns);
		} else if (!check_name_eq(names[k], s->ns)) {
			check_find(r, "ns_shared_addr", "%s and %s, name servers of %s, share the address %s", names[k],
			           s->ns, r->zone, s->addr);
		}
	}
	char why[600] = "";
	if (!seeded && r->nparent_ns < 2)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s%s lists %d name server(s) for it",
		         why[0] ? "; " : "", r->parent, r->nparent_ns);
	if (r->nchild_ns > 0 && r->nchild_ns < 2)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%sthe zone lists %d name server(s)",
		         why[0] ? "; " : "", r->nchild_ns);
	if (naddrs > 0 && naddrs < 2)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), "%sits name servers have %d address(es) (%s)",
		         why[0] ? "; " : "", naddrs, addrs[0]);
	if (why[0])
		check_find(r, "too_few_ns", "%s has no second name server: %s", r->zone, why);
}

int check_domain(struct check_ctx *c, struct check_report *r)
{
	int rc = TERN_EIO;
	struct check_walk *w = malloc(sizeof(*w));
	struct check_answer *a = malloc(sizeof(*a));
	if (!w || !a) {
		check_report_fail(r, "out of memory");
		rc = TERN_ENOMEM;
		goto done;
	}
	check_registry_lookup(c, r);
	if (check_walk(c, r->target, RR_SOA, 0, w) < 0)
		goto done;
	if (!check_name_eq(w->zone, r->target)) {
		check_copy(r->zone, sizeof(r->zone), w->zone);
		check_find(r, "not_delegated", "%s is not delegated: the servers of %s answer for it (%s)", r->target,
		           w->zone, w->answer.rcode == 3 ? "NXDOMAIN" : "as part of their zone");
		rc = 0;
		goto done;
	}
	check_copy(r->zone, sizeof(r->zone), w->zone);
	check_copy(r->parent, sizeof(r->parent), w->parent);
	for (int i = 0; i < w->nns; i++)
		check_copy(r->parent_ns[r->nparent_ns++], CHECK_NAME_TEXT, w->ns[i]);
	for (int i = 0; i < w->nglue; i++) {
		check_copy(r->glue[r->nglue].name, CHECK_NAME_TEXT, w->glue[i].name);
		check_copy(r->glue[r->nglue++].addr, CHECK_ADDR_TEXT, w->glue[i].addr.text);
	}
	for (int i = 0; i < w->nns; i++)
		ask_ns(c, r, w, w->ns[i], "parent", a);
	if (w->nns == 0) { /* the parent's servers serve the zone too: start from the one that answered */
		check_report_fail(r,
		                  "the servers of %s serve %s too: its delegation (NS at the parent) cannot be told "
		                  "apart from the zone's own NS, and is not compared",
		                  w->parent, r->zone);
		struct check_server s = {0};
		check_copy(s.addr, sizeof(s.addr), w->answered_by);
		s.ok = true;
		check_report_server(r, &s);
	}
	struct check_addr g;
	bool seeded = w->nns == 0;
	bool have_ns = child_ns(c, r, &g, a);
	if (seeded)
		r->nservers--; /* the seed: the zone's servers are asked by name below */
	if (have_ns) {
		for (int i = 0; i < r->nchild_ns; i++) {
			if (!seeded && listed(r->parent_ns, r->nparent_ns, r->child_ns[i])) {
				for (int s = 0; s < r->nservers; s++)
					if (check_name_eq(r->servers[s].ns, r->child_ns[i]))
						snprintf(r->servers[s].role, sizeof(r->servers[s].role), "both");
				continue;
			}
			ask_ns(c, r, w, r->child_ns[i], "child", a);
		}
		char only_parent[512] = "", only_child[512] = "";
		for (int i = 0; i < r->nparent_ns; i++)
			if (!listed(r->child_ns, r->nchild_ns, r->parent_ns[i]))
				snprintf(only_parent + strlen(only_parent), sizeof(only_parent) - strlen(only_parent),
				         " %s", r->parent_ns[i]);
		for (int i = 0; i < r->nchild_ns; i++)
			if (!listed(r->parent_ns, r->nparent_ns, r->child_ns[i]))
				snprintf(only_child + strlen(only_child), sizeof(only_child) - strlen(only_child),
				         " %s", r->child_ns[i]);
		if (!seeded && (only_parent[0] || only_child[0]))
			check_find(r, "ns_mismatch", "NS only at the parent (%s):%s; NS only in the zone:%s", r->parent,
			           only_parent[0] ? only_parent : " none", only_child[0] ? only_child : " none");
		if (check_ask(c, &g, r->zone, RR_SOA, false, a) == 0) {
			const struct check_rr *soa = check_answer_find(a, CHECK_ANSWER, r->zone, RR_SOA);
			if (soa)
				check_soa_parse(soa, &r->soa);
		}
		glue_rule(c, r, &g, a);
		apex_rules(c, r, &g, a);
		if (!seeded)
			check_dnssec_delegation(c, r, &g, a);
	}
	serial_rule(r);
	if (have_ns)
		redundancy_rule(r, seeded);
	rc = 0;
done:
	free(w);
	free(a);
	return rc;
}
