/* tern hints: a check's report as JSON (--json) and as a table for a terminal, and the Unbound
 * configuration with its auto-trust-anchor-file seed made from it. */
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/hints.h"

static json_t *names(const char (*v)[CHECK_NAME_TEXT], int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *hints_report_json(const struct hints_report *r)
{
	json_t *j = json_object(), *rules = json_array(), *keys = json_array(), *inb = json_array(), *ds = json_array(),
	       *fails = json_array();
	if (!j || !rules || !keys || !inb || !ds || !fails) {
		json_decref(j);
		json_decref(rules);
		json_decref(keys);
		json_decref(inb);
		json_decref(ds);
		json_decref(fails);
		return NULL;
	}
	json_object_set_new(j, "domain", json_string(r->domain));
	json_object_set_new(j, "parent", json_string(r->parent));
	json_object_set_new(j, "delegated", json_boolean(r->delegated));
	json_object_set_new(j, "result", json_string(hints_status_name(hints_worst(r))));
	for (int i = 0; i < HINTS_NRULES; i++) {
		json_t *rule = json_object(), *reasons = json_array();
		json_object_set_new(rule, "name", json_string(r->rules[i].name));
		json_object_set_new(rule, "status", json_string(hints_status_name(r->rules[i].status)));
		for (int k = 0; k < r->rules[i].nreasons; k++)
			json_array_append_new(reasons, json_string(r->rules[i].reasons[k]));
		json_object_set_new(rule, "reasons", reasons);
		json_array_append_new(rules, rule);
	}
	json_object_set_new(j, "rules", rules);
	json_object_set_new(j, "expires", r->have_expiry ? json_string(r->expires) : json_null());
	json_object_set_new(j, "parent_ns", names(r->parent_ns, r->nparent_ns));
	for (int i = 0; i < r->nds; i++)
		json_array_append_new(ds, json_string(r->parent_ds[i]));
	json_object_set_new(j, "parent_ds", ds);
	static const char *const CHAIN[] = {"none", "secure", "insecure", "bogus", "unverified"};
	json_object_set_new(j, "ds_chain", json_pack("{s:s,s:s}", "state", CHAIN[r->chain], "why", r->chain_why));
	json_object_set_new(j, "child_ns", names(r->child_ns, r->nchild_ns));
	for (int i = 0; i < r->ninb; i++)
		json_array_append_new(inb, json_pack("{s:s,s:s}", "name", r->inb[i].name, "addr", r->inb[i].addr));
	json_object_set_new(j, "in_bailiwick", inb);
	for (int i = 0; i < r->nkeys; i++)
		json_array_append_new(keys, json_pack("{s:i,s:i,s:i,s:b,s:b}", "tag", r->keys[i].tag, "flags",
		                                      (int)r->keys[i].flags, "algorithm", (int)r->keys[i].algorithm,
		                                      "ds_match", r->keys[i].ds_match, "pinned", r->keys[i].pinned));
	json_object_set_new(j, "keys", keys);
	json_object_set_new(j, "asked", json_string(r->asked));
	for (int i = 0; r->check && i < r->check->nfailures; i++)
		json_array_append_new(fails, json_string(r->check->failures[i]));
	json_object_set_new(j, "failures", fails);
	json_object_set_new(j, "queries", json_integer(r->check ? r->check->queries : 0));
	return j;
}

void hints_report_text(const struct hints_report *r, FILE *out)
{
	fprintf(out, "in-tree hints check of %s (%s %s)\n", r->domain,
	        r->delegated ? "delegated by" : "no delegation in", r->parent[0] ? r->parent : "?");
	fprintf(out, "%-13s %-6s %s\n", "RULE", "STATUS", "REASON");
	for (int i = 0; i < HINTS_NRULES; i++) {
		const struct hints_rule *rule = &r->rules[i];
		for (int k = 0; k < rule->nreasons || k == 0; k++)
			fprintf(out, "%-13s %-6s %s\n", k ? "" : rule->name, k ? "" : hints_status_name(rule->status),
			        k < rule->nreasons ? rule->reasons[k] : "");
	}
	for (int i = 0; r->check && i < r->check->nfailures; i++)
		fprintf(out, "not asked or read: %s\n", r->check->failures[i]);
	enum hints_status w = hints_worst(r);
	fprintf(out, "result: %s (exit %d)\n", hints_status_name(w), (int)w);
}

int hints_unbound(const struct hints_report *r, const char *anchor_path, long long now, FILE *out, FILE *anchor,
                  char *err, size_t errlen)
{
	int pinned = 0;
	for (int i = 0; i < r->nkeys; i++)
		pinned += r->keys[i].pinned;
	if (!pinned) {
		snprintf(err, errlen, "no KSK of %s is pinned (validated against the parent's DS, or named by --trust)",
		         r->domain);
		return TERN_ENOTFOUND;
	}
	if (r->ninb == 0) {
		snprintf(err, errlen, "no in-bailiwick name server of %s has an address", r->domain);
		return TERN_ENOTFOUND;
	}
	char when[32];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(anchor, "; in-tree hints for %s: RFC 5011 seed written by tern hints unbound at %s\n", r->domain, when);
	fprintf(anchor, "; Unbound keeps this file from now on (auto-trust-anchor-file); do not edit.\n");
	for (int i = 0; i < r->nkeys; i++)
		if (r->keys[i].pinned)
			fprintf(anchor, "%s %u IN DNSKEY %s\n", r->domain, r->keys[i].ttl, r->keys[i].rdata);
	fprintf(out, "# In-tree hints for %s (draft-kolkman-dns-in-tree-hints), by tern hints unbound at %s.\n",
	        r->domain, when);
	fprintf(out, "# The anchor is kept by RFC 5011 (never a static trust anchor); the servers are the\n"
	             "# domain's in-bailiwick ones, so it resolves when its delegation does not.\n");
	fprintf(out, "server:\n    auto-trust-anchor-file: \"%s\"\n", anchor_path);
	fprintf(out, "stub-zone:\n    name: \"%s\"\n", r->domain);
	for (int i = 0; i < r->ninb; i++) {
		if (i == 0 || strcmp(r->inb[i].name, r->inb[i - 1].name) != 0)
			fprintf(out, "    # %s\n", r->inb[i].name);
		fprintf(out, "    stub-addr: %s\n", r->inb[i].addr);
	}
	fprintf(out, "    stub-prime: yes\n");
	return 0;
}
