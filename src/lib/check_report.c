/* tern check: the report model's bookkeeping and its two renderings, JSON and text. */
#include "lib/check_report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rrtext.h"
#include "lib/wire.h"

struct check_report *check_report_new(const char *kind, const char *target)
{
	struct check_report *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	check_copy(r->kind, sizeof(r->kind), kind);
	check_copy(r->target, sizeof(r->target), target);
	return r;
}

void check_report_free(struct check_report *r)
{
	free(r);
}

void check_report_fail(struct check_report *r, const char *fmt, ...)
{
	if (r->nfailures == CHECK_MAXFAILURES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->failures[r->nfailures++], sizeof(r->failures[0]), fmt, ap);
	va_end(ap);
}

struct check_server *check_report_server(struct check_report *r, const struct check_server *s)
{
	if (r->nservers == CHECK_MAXSERVERS) {
		check_report_fail(r, "more than %d servers: %s (%s) and later ones left out", CHECK_MAXSERVERS, s->ns,
		                  s->addr);
		return NULL;
	}
	r->servers[r->nservers] = *s;
	return &r->servers[r->nservers++];
}

void check_negative_explanation(uint32_t seconds, char *out, size_t cap)
{
	char span[48] = "";
	if (seconds >= 60)
		snprintf(span, sizeof(span), " (%u min %u s)", seconds / 60, seconds % 60);
	snprintf(out, cap,
	         "A name looked up before it exists is cached as missing: resolvers that asked keep answering "
	         "\"does not exist\" for up to %u s%s after you add it. Add records before anyone looks them up, "
	         "or wait this long after adding them.",
	         seconds, span);
}

void check_ttl_advice(uint32_t seconds, char *out, size_t cap)
{
	snprintf(out, cap,
	         "Resolvers that cached this name keep the old answer for up to %u s after a change. To change it: "
	         "lower the TTL of the records to change (to 300 s), wait %u s (one old TTL), make the change, check "
	         "it, then raise the TTL again.",
	         seconds, seconds);
}

static const char *severity_text(enum check_severity s)
{
	return s == CHECK_ERROR ? "error" : s == CHECK_WARNING ? "warning" : "info";
}

static const char *rcode_text(int rcode)
{
	static const char *names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
	return rcode >= 0 && rcode < 6 ? names[rcode] : "RCODE?";
}

int check_report_worst(const struct check_report *r)
{
	int worst = -1;
	for (int i = 0; i < r->nfindings; i++)
		worst = (int)r->findings[i].severity > worst ? (int)r->findings[i].severity : worst;
	return worst;
}

/* ---- JSON ---- */

static json_t *names_json(const char (*names)[CHECK_NAME_TEXT], int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *values_json(const char (*v)[CHECK_RDATA_TEXT], int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *registration_json(const struct check_registration *g)
{
	if (!g->have)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "source", g->source, "server", g->server, "registrar",
	                 g->registrar, "expires", g->expires, "nameservers", names_json(g->ns, g->nns));
}

static json_t *server_json(const struct check_server *s)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:f}", "role", s->role, "zone", s->zone, "name", s->qname,
	                      "ns", s->ns, "addr", s->addr, "ok", s->ok, "ms", s->ms);
	if (!o)
		return NULL;
	if (s->error[0])
		json_object_set_new(o, "error", json_string(s->error));
	else
		json_object_set_new(o, "rcode", json_string(rcode_text(s->rcode)));
	if (s->have_serial)
		json_object_set_new(o, "serial", json_integer(s->serial));
	if (s->tcp)
		json_object_set_new(o, "tcp", json_true());
	if (s->nanswer || (!s->error[0] && strcmp(s->role, "resolver") == 0)) {
		json_object_set_new(o, "answer", values_json(s->answer, s->nanswer));
		json_object_set_new(o, "ttl", json_integer(s->ttl));
		if (s->more)
			json_object_set_new(o, "more", json_integer(s->more));
	}
	return o;
}

/* check cache: "negative_ttl" (the zone's) and "caches" (each resolver's entry). */
static void caches_json(const struct check_report *r, json_t *o)
{
	if (r->have_negative_ttl && !json_object_get(o, "negative_ttl")) {
		char why[512];
		check_negative_explanation(r->negative_ttl, why, sizeof(why));
		json_object_set_new(
		    o, "negative_ttl",
		    json_pack("{s:I, s:s}", "seconds", (json_int_t)r->negative_ttl, "explanation", why));
	}
	json_t *caches = json_array();
	for (int i = 0; i < r->ncaches; i++) {
		const struct check_cached *k = &r->caches[i];
		json_t *j = json_pack("{s:s, s:s, s:b}", "resolver", k->addr, "how", k->how, "ok", k->ok);
		if (!k->ok) {
			json_object_set_new(j, "error", json_string(k->error));
			json_array_append_new(caches, j);
			continue;
		}
		json_object_set_new(j, "rcode", json_string(rcode_text(k->rcode)));
		json_object_set_new(j, "negative", json_boolean(k->negative));
		json_object_set_new(j, "answer", values_json(k->values, k->nvalues));
		if (k->more)
			json_object_set_new(j, "more", json_integer(k->more));
		json_object_set_new(j, "left", json_integer(k->left));
		json_object_set_new(j, "agrees", json_boolean(k->agrees));
		json_object_set_new(j, "cap_lower", json_boolean(k->cap_lower));
		json_object_set_new(j, "says", json_string(k->says));
		json_array_append_new(caches, j);
	}
	json_object_set_new(o, "caches", caches);
}

json_t *check_report_json(const struct check_report *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:f}", "check", r->kind, "target", r->target, "zone", r->zone,
	                      "queries", r->queries, "ms", r->ms);
	if (!o)
		return NULL;
	json_object_set_new(o, "partial", json_boolean(r->nfailures > 0));
	if (strcmp(r->kind, "domain") == 0) {
		json_object_set_new(o, "parent", json_string(r->parent));
		json_object_set_new(o, "rdap", registration_json(&r->rdap));
		json_object_set_new(o, "whois", registration_json(&r->whois));
		json_t *glue = json_array();
		for (int i = 0; i < r->nglue; i++)
			json_array_append_new(
			    glue, json_pack("{s:s, s:s}", "name", r->glue[i].name, "addr", r->glue[i].addr));
		json_object_set_new(o, "delegation",
		                    json_pack("{s:o, s:o, s:o}", "parent_ns", names_json(r->parent_ns, r->nparent_ns),
		                              "glue", glue, "child_ns", names_json(r->child_ns, r->nchild_ns)));
	}
	if (r->dnssec.have) {
		json_t *keys = json_array();
		for (int i = 0; i < r->dnssec.nkeys; i++)
			json_array_append_new(keys, json_pack("{s:i, s:i, s:i, s:b}", "tag", r->dnssec.keys[i].tag,
			                                      "flags", (int)r->dnssec.keys[i].flags, "algorithm",
			                                      (int)r->dnssec.keys[i].algorithm, "ds_matches",
			                                      r->dnssec.keys[i].matched));
		json_t *d =
		    json_pack("{s:s, s:o, s:o, s:i}", "status", r->dnssec.status, "ds",
		              values_json(r->dnssec.ds, r->dnssec.nds), "dnskeys", keys, "signatures", r->dnssec.nsigs);
		if (r->dnssec.sig_expires[0])
			json_object_set_new(d, "signatures_expire", json_string(r->dnssec.sig_expires));
		json_object_set_new(o, "dnssec", d);
	}
	if (r->soa.have) {
		char why[512];
		check_negative_explanation(r->soa.negative_ttl, why, sizeof(why));
		json_object_set_new(o, "soa",
		                    json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "mname", r->soa.mname,
		                              "rname", r->soa.rname, "serial", (json_int_t)r->soa.serial, "refresh",
		                              (json_int_t)r->soa.refresh, "retry", (json_int_t)r->soa.retry, "expire",
		                              (json_int_t)r->soa.expire, "minimum", (json_int_t)r->soa.minimum, "ttl",
		                              (json_int_t)r->soa.ttl));
		json_object_set_new(
		    o, "negative_ttl",
		    json_pack("{s:I, s:s}", "seconds", (json_int_t)r->soa.negative_ttl, "explanation", why));
	}
	if (strcmp(r->kind, "fqdn") == 0 || strcmp(r->kind, "cache") == 0) {
		json_t *steps = json_array();
		for (int i = 0; i < r->nsteps; i++) {
			const struct check_step *s = &r->steps[i];
			json_t *j = json_pack("{s:s, s:s, s:I, s:o}", "name", s->name, "zone", s->zone, "ttl",
			                      (json_int_t)s->ttl, "servers", names_json(s->servers, s->nservers));
			if (s->target[0])
				json_object_set_new(j, "cname", json_string(s->target));
			else {
				json_object_set_new(j, "rcode", json_string(rcode_text(s->rcode)));
				json_object_set_new(j, "answer", values_json(s->values, s->nvalues));
				if (s->more)
					json_object_set_new(j, "more", json_integer(s->more));
			}
			json_array_append_new(steps, j);
		}
		json_object_set_new(o, "chain", steps);
		if (r->have_change_ttl) {
			char advice[512];
			check_ttl_advice(r->change_ttl, advice, sizeof(advice));
			json_object_set_new(
			    o, "ttl_advice",
			    json_pack("{s:I, s:s}", "seconds", (json_int_t)r->change_ttl, "advice", advice));
		}
	}
	if (strcmp(r->kind, "cache") == 0)
		caches_json(r, o);
	if (strcmp(r->kind, "service") == 0) {
		json_t *names = json_array();
		for (int i = 0; i < r->nnamed; i++)
			json_array_append_new(names, json_pack("{s:s, s:s, s:b, s:s}", "name", r->named[i].name, "role",
			                                       r->named[i].role, "points", r->named[i].points, "path",
			                                       r->named[i].path));
		json_object_set_new(o, "names", names);
	}
	json_t *servers = json_array(), *findings = json_array(), *failures = json_array();
	for (int i = 0; i < r->nservers; i++)
		json_array_append_new(servers, server_json(&r->servers[i]));
	for (int i = 0; i < r->nfindings; i++) {
		const struct check_finding *f = &r->findings[i];
		json_array_append_new(findings, json_pack("{s:s, s:s, s:s, s:s}", "code", f->code, "severity",
		                                          severity_text(f->severity), "what", f->what, "fix", f->fix));
	}
	for (int i = 0; i < r->nfailures; i++)
		json_array_append_new(failures, json_string(r->failures[i]));
	json_object_set_new(o, "servers", servers);
	json_object_set_new(o, "findings", findings);
	json_object_set_new(o, "failures", failures);
	return o;
}

/* ---- text ---- */

static void registration_text(const struct check_registration *g, FILE *out)
{
	if (!g->have)
		return;
	fprintf(out, "Registration (%s, %s):\n  registrar  %s\n  expires    %s\n", g->source, g->server,
	        g->registrar[0] ? g->registrar : "-", g->expires[0] ? g->expires : "-");
	for (int i = 0; i < g->nns; i++)
		fprintf(out, "  %s %s\n", i ? "          " : "nameserver", g->ns[i]);
}

static void server_text(const struct check_server *s, FILE *out)
{
	fprintf(out, "  %-8s %-24s %-18s %-24s", s->role, s->ns[0] ? s->ns : "-", s->addr, s->qname);
	if (s->error[0]) {
		fprintf(out, " FAILED %s\n", s->error);
		return;
	}
	fprintf(out, " %7.1f ms %-8s%s", s->ms, rcode_text(s->rcode), s->tcp ? " (TCP)" : "");
	if (s->have_serial)
		fprintf(out, " serial %u", s->serial);
	if (s->nanswer) {
		fprintf(out, " ttl %u:", s->ttl);
		for (int i = 0; i < s->nanswer; i++)
			fprintf(out, " %s", s->answer[i]);
		if (s->more)
			fprintf(out, " (+%d more)", s->more);
	}
	fprintf(out, "%s\n", s->ok ? "" : " (not authoritative)");
}

void check_report_text(const struct check_report *r, FILE *out)
{
	fprintf(out, "tern check %s %s\n\n", r->kind, r->target);
	registration_text(&r->rdap, out);
	registration_text(&r->whois, out);
	if (strcmp(r->kind, "domain") == 0 && r->nparent_ns) {
		fprintf(out, "Delegation from %s:\n  NS at the parent:", r->parent);
		for (int i = 0; i < r->nparent_ns; i++)
			fprintf(out, " %s", r->parent_ns[i]);
		fprintf(out, "\n  NS in the zone:  ");
		for (int i = 0; i < r->nchild_ns; i++)
			fprintf(out, " %s", r->child_ns[i]);
		fprintf(out, "\n");
		for (int i = 0; i < r->nglue; i++)
			fprintf(out, "  glue %s %s\n", r->glue[i].name, r->glue[i].addr);
	}
	if (r->soa.have) {
		char why[512];
		check_negative_explanation(r->soa.negative_ttl, why, sizeof(why));
		fprintf(out,
		        "SOA of %s (TTL %u):\n  primary %s  contact %s\n  serial %u  refresh %u  retry %u  expire %u  "
		        "minimum %u\nNegative-cache TTL: %u s = min(SOA TTL %u, MINIMUM %u)\n  %s\n",
		        r->zone, r->soa.ttl, r->soa.mname, r->soa.rname, r->soa.serial, r->soa.refresh, r->soa.retry,
		        r->soa.expire, r->soa.minimum, r->soa.negative_ttl, r->soa.ttl, r->soa.minimum, why);
	}
	if (r->dnssec.have) {
		fprintf(out, "DNSSEC: %s\n", r->dnssec.status);
		if (r->dnssec.sig_expires[0])
			fprintf(out, "  %d signatures over the SOA and DNSKEY, the first to expire at %s\n",
			        r->dnssec.nsigs, r->dnssec.sig_expires);
		for (int i = 0; i < r->dnssec.nds; i++)
			fprintf(out, "  DS at the parent: %s\n", r->dnssec.ds[i]);
		for (int i = 0; i < r->dnssec.nkeys; i++)
			fprintf(out, "  DNSKEY tag %d flags %u algorithm %u%s\n", r->dnssec.keys[i].tag,
			        r->dnssec.keys[i].flags, r->dnssec.keys[i].algorithm,
			        r->dnssec.keys[i].matched ? " (the parent's DS names it)" : "");
	}
	if (r->nsteps) {
		fprintf(out, "Resolution of %s:\n", r->target);
		for (int i = 0; i < r->nsteps; i++) {
			const struct check_step *s = &r->steps[i];
			if (s->target[0])
				fprintf(out, "  %s %u CNAME %s", s->name, s->ttl, s->target);
			else if (s->nvalues)
				fprintf(out, "  %s %u", s->name, s->ttl);
			else
				fprintf(out, "  %s %s", s->name, s->rcode == 0 ? "NODATA" : rcode_text(s->rcode));
			for (int k = 0; !s->target[0] && k < s->nvalues; k++)
				fprintf(out, " %s", s->values[k]);
			if (!s->target[0] && s->more)
				fprintf(out, " (+%d more)", s->more);
			fprintf(out, "\n      zone %s, served by", s->zone);
			for (int k = 0; k < s->nservers; k++)
				fprintf(out, " %s", s->servers[k]);
			fprintf(out, "\n");
		}
	}
	if (r->have_change_ttl) {
		char advice[512];
		check_ttl_advice(r->change_ttl, advice, sizeof(advice));
		fprintf(out, "TTL: %u s at most along the chain\n  %s\n", r->change_ttl, advice);
	}
	if (strcmp(r->kind, "cache") == 0) {
		if (r->have_negative_ttl)
			fprintf(out, "Negative-cache TTL of the zone: %u s\n", r->negative_ttl);
		fprintf(out, "Caches:\n");
		for (int i = 0; i < r->ncaches; i++)
			fprintf(out, "  %s (%s): %s\n", r->caches[i].addr, r->caches[i].how,
			        r->caches[i].ok ? r->caches[i].says : r->caches[i].error);
	}
	if (strcmp(r->kind, "service") == 0) {
		fprintf(out, "Names of the service:\n");
		for (int i = 0; i < r->nnamed; i++)
			fprintf(out, "  %-9s %s: %s%s\n", r->named[i].role, r->named[i].name, r->named[i].path,
			        r->named[i].points ? "" : "  (NOT the service)");
	}
	if (r->nservers) {
		fprintf(out, "Servers:\n");
		for (int i = 0; i < r->nservers; i++)
			server_text(&r->servers[i], out);
	}
	fprintf(out, "Findings: %s\n", r->nfindings ? "" : "none");
	for (int i = 0; i < r->nfindings; i++) {
		const struct check_finding *f = &r->findings[i];
		fprintf(out, "  %s %s: %s\n      fix: %s\n", severity_text(f->severity), f->code, f->what, f->fix);
	}
	if (r->nfailures) {
		fprintf(out, "Partial report, these failed:\n");
		for (int i = 0; i < r->nfailures; i++)
			fprintf(out, "  %s\n", r->failures[i]);
	}
	fprintf(out, "(%d queries, %.0f ms)\n", r->queries, r->ms);
}
