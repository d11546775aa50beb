/* tern check fqdn: the CNAME chain step by step, every authoritative server's answer and serial,
 * and every vantage resolver's answer against the authoritative one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

/* The records of type qtype in an answer section: their values (the first CHECK_MAXVALUES; *more
 * counts the others) and the smallest TTL. */
static int take_values(const struct check_answer *a, const char *owner, uint16_t type, char (*values)[CHECK_RDATA_TEXT],
                       uint32_t *ttl, int *more)
{
	int n = 0;
	*more = a->dropped;
	for (int i = 0; i < a->nrr; i++) {
		const struct check_rr *rr = &a->rr[i];
		if (rr->section != CHECK_ANSWER || rr->type != type || (owner && !check_name_eq(rr->owner, owner)))
			continue;
		if (n == 0 || rr->ttl < *ttl)
			*ttl = rr->ttl;
		if (n == CHECK_MAXVALUES)
			(*more)++;
		else
			check_copy_rdata(values[n++], CHECK_RDATA_TEXT, rr->data);
	}
	return n;
}

static int cmp_value(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool same_values(char (*a)[CHECK_RDATA_TEXT], int na, char (*b)[CHECK_RDATA_TEXT], int nb)
{
	if (na != nb)
		return false;
	qsort(a, (size_t)na, CHECK_RDATA_TEXT, cmp_value);
	qsort(b, (size_t)nb, CHECK_RDATA_TEXT, cmp_value);
	for (int i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool zone_asked(const struct check_report *r, const char *zone)
{
	for (int i = 0; i < r->nsteps - 1; i++)
		if (check_name_eq(r->steps[i].zone, zone))
			return true;
	return false;
}

/* Every server of the step's zone: its answer for the name and its SOA serial (once per zone). */
static void ask_servers(struct check_ctx *c, struct check_report *r, const struct check_walk *w,
                        struct check_step *step, uint16_t qtype, struct check_answer *a)
{
	bool serials = !zone_asked(r, w->zone);
	int first = r->nservers;
	for (int i = 0; i < w->nservers; i++) {
		struct check_server s = {0};
		snprintf(s.role, sizeof(s.role), "auth");
		check_copy(s.zone, sizeof(s.zone), w->zone);
		check_copy(s.qname, sizeof(s.qname), step->name);
		check_copy(s.ns, sizeof(s.ns), w->servers[i].name);
		check_copy(s.addr, sizeof(s.addr), w->servers[i].addr.text);
		bool known = false;
		for (int k = 0; k < step->nservers; k++)
			known |= check_name_eq(step->servers[k], s.ns);
		if (!known && step->nservers < CHECK_MAXNS)
			check_copy(step->servers[step->nservers++], CHECK_NAME_TEXT, s.ns);
		int rc = check_ask(c, &w->servers[i].addr, step->name, qtype, false, a);
		if (rc < 0) {
			check_copy(s.error, sizeof(s.error), a->error);
			if (rc != TERN_EBUSY)
				check_find(r, "lame_ns", "%s (%s) gave no answer for %s: %s", s.ns, s.addr, step->name,
				           a->error);
			check_report_server(r, &s);
			continue;
		}
		s.ms = a->ms;
		s.tcp = a->tcp;
		s.rcode = a->rcode;
		s.ok = a->aa && (a->rcode == 0 || a->rcode == 3);
		s.nanswer = take_values(a, step->name, step->target[0] ? RR_CNAME : qtype, s.answer, &s.ttl, &s.more);
		if (s.ok && a->ms > c->slow_ms)
			check_find(r, "slow_ns", "%s (%s) took %.0f ms to answer for %s (more than %d ms)", s.ns,
			           s.addr, a->ms, step->name, c->slow_ms);
		if (!s.ok)
			check_find(r, "lame_ns", "%s (%s) does not answer authoritatively for %s (rcode %d%s)", s.ns,
			           s.addr, step->name, a->rcode, a->aa ? "" : ", no AA flag");
		if (serials && s.ok && check_ask(c, &w->servers[i].addr, w->zone, RR_SOA, false, a) == 0) {
			const struct check_rr *soa = check_answer_find(a, CHECK_ANSWER, w->zone, RR_SOA);
			struct check_soa parsed;
			if (soa && check_soa_parse(soa, &parsed) == 0) {
				s.have_serial = true;
				s.serial = parsed.serial;
				if (!r->soa.have && check_name_eq(w->zone, r->zone))
					r->soa = parsed;
			}
		}
		check_report_server(r, &s);
	}
	if (!serials)
		return;
	uint32_t newest = 0;
	bool any = false;
	for (int i = first; i < r->nservers; i++)
		if (r->servers[i].have_serial && (!any || (int32_t)(r->servers[i].serial - newest) > 0)) {
			newest = r->servers[i].serial;
			any = true;
		}
	for (int i = first; i < r->nservers; i++)
		if (r->servers[i].have_serial && r->servers[i].serial != newest)
			check_find(r, "serial_lag", "%s (%s) serves serial %u of %s; the other servers serve %u",
			           r->servers[i].ns, r->servers[i].addr, r->servers[i].serial, w->zone, newest);
}

/* A CNAME beside other data: the server gives the CNAME when asked for it, and other records at
 * the same name when asked for their type. */
static void beside_rule(struct check_ctx *c, struct check_report *r, const struct check_walk *w, const char *name,
                        struct check_answer *a)
{
	static const uint16_t types[] = {RR_A, RR_AAAA, RR_TXT, RR_MX};
	struct check_addr server;
	char err[160];
	if (check_addr_parse(w->answered_by, 53, &server, err, sizeof(err)) < 0)
		return;
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if (check_ask(c, &server, name, types[t], false, a) < 0) {
			check_report_fail(r, "other data beside the CNAME of %s not checked: %s", name, a->error);
			return;
		}
		if (!a->aa)
			continue;
		if (check_answer_find(a, CHECK_ANSWER, name, types[t]) &&
		    !check_answer_find(a, CHECK_ANSWER, name, RR_CNAME)) {
			char type[RRTEXT_TYPE_MAXLEN];
			rrtext_type_to_text(types[t], type, sizeof(type));
			check_find(r, "cname_beside_data", "%s has a CNAME and %s records too", name, type);
			return;
		}
	}
}

static void resolvers(struct check_ctx *c, struct check_report *r, uint16_t qtype, struct check_answer *a)
{
	const struct check_step *end = r->nsteps ? &r->steps[r->nsteps - 1] : NULL;
	if (!end || end->target[0])
		return; /* no authoritative end to compare with */
	for (int i = 0; i < c->nresolvers; i++) {
		struct check_server s = {0};
		snprintf(s.role, sizeof(s.role), "resolver");
		check_copy(s.qname, sizeof(s.qname), r->target);
		check_copy(s.addr, sizeof(s.addr), c->resolvers[i].text);
		int rc = check_ask(c, &c->resolvers[i], r->target, qtype, true, a);
		if (rc < 0) {
			check_copy(s.error, sizeof(s.error), a->error);
			if (rc != TERN_EBUSY)
				check_find(r, "resolver_failed", "resolver %s gave no answer for %s: %s", s.addr,
				           r->target, a->error);
			check_report_server(r, &s);
			continue;
		}
		s.ok = a->rcode == 0 || a->rcode == 3;
		s.ms = a->ms;
		s.tcp = a->tcp;
		s.rcode = a->rcode;
		s.nanswer = take_values(a, NULL, qtype, s.answer, &s.ttl, &s.more);
		struct check_server *kept = check_report_server(r, &s);
		if (!s.ok) {
			check_find(r, "resolver_failed", "resolver %s answers rcode %d for %s", s.addr, a->rcode,
			           r->target);
			continue;
		}
		char want[CHECK_MAXVALUES][CHECK_RDATA_TEXT];
		memcpy(want, end->values, sizeof(want));
		if (kept && (a->rcode != end->rcode || kept->more != end->more ||
		             !same_values(kept->answer, kept->nanswer, want, end->nvalues)))
			check_find(r, "resolver_disagrees",
			           "resolver %s answers %s%s%s for %s; the authoritative servers answer %s%s", s.addr,
			           a->rcode == 3 ? "NXDOMAIN" : "", kept->nanswer ? kept->answer[0] : "",
			           kept->nanswer > 1 ? " ..." : (a->rcode == 0 && !kept->nanswer ? "no data" : ""),
			           r->target,
			           end->rcode == 3 ? "NXDOMAIN"
			           : end->nvalues  ? end->values[0]
			                           : "no data",
			           end->nvalues > 1 ? " ..." : "");
	}
}

int check_fqdn(struct check_ctx *c, struct check_report *r, uint16_t qtype)
{
	int rc = TERN_EIO;
	struct check_walk *w = malloc(sizeof(*w));
	struct check_answer *a = malloc(sizeof(*a));
	if (!w || !a) {
		check_report_fail(r, "out of memory");
		rc = TERN_ENOMEM;
		goto done;
	}
	char name[CHECK_NAME_TEXT];
	check_copy(name, sizeof(name), r->target);
	for (;;) {
		if (r->nsteps == CHECK_MAXSTEPS) {
			check_find(r, "chain_too_long", "the CNAME chain from %s has more than %d steps", r->target,
			           CHECK_MAXSTEPS);
			break;
		}
		if (check_walk(c, name, qtype, 0, w) < 0)
			break;
		if (r->nsteps == 0)
			check_copy(r->zone, sizeof(r->zone), w->zone);
		struct check_step *step = &r->steps[r->nsteps++];
		memset(step, 0, sizeof(*step));
		check_copy(step->name, sizeof(step->name), name);
		check_copy(step->zone, sizeof(step->zone), w->zone);
		const struct check_rr *cn = check_answer_find(&w->answer, CHECK_ANSWER, name, RR_CNAME);
		if (cn && qtype != RR_CNAME) {
			check_copy(step->target, sizeof(step->target), cn->data);
			step->ttl = cn->ttl;
		} else {
			step->rcode = w->answer.rcode;
			step->nvalues = take_values(&w->answer, name, qtype, step->values, &step->ttl, &step->more);
		}
		if (step->ttl > CHECK_TTL_HIGH)
			check_find(r, "ttl_high", "%s %s has TTL %u s (more than %d s)", name, cn ? "CNAME" : "answer",
			           step->ttl, CHECK_TTL_HIGH);
		ask_servers(c, r, w, step, qtype, a);
		if (!cn || qtype == RR_CNAME) {
			if (step->nvalues == 0)
				check_find(r, "name_missing", "%s: %s", name,
				           step->rcode == 3 ? "the name does not exist (NXDOMAIN)"
				                            : "no records of the type asked");
			break;
		}
		if (check_name_eq(name, w->zone))
			check_find(r, "cname_at_apex", "%s has a CNAME (to %s) at its apex", name, step->target);
		else
			beside_rule(c, r, w, name, a);
		bool loop = false;
		for (int i = 0; i < r->nsteps; i++)
			loop |= check_name_eq(r->steps[i].name, step->target);
		if (loop) {
			check_find(r, "cname_loop", "%s points back to %s", name, step->target);
			break;
		}
		check_copy(name, sizeof(name), step->target);
	}
	for (int i = 0; i < r->nsteps; i++)
		if (r->steps[i].target[0] || r->steps[i].nvalues) {
			r->change_ttl =
			    r->have_change_ttl && r->change_ttl > r->steps[i].ttl ? r->change_ttl : r->steps[i].ttl;
			r->have_change_ttl = true;
		}
	resolvers(c, r, qtype, a);
	rc = r->nsteps ? 0 : TERN_EIO;
done:
	free(w);
	free(a);
	return rc;
}
