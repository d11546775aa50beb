/* POST /api/v1/zones/{zone}/bootstrap: a zone read from the servers that serve it now
 * (lib/bootstrap.c: AXFR, else a documented list of names and types), shown as the zone Tern would
 * create ({"create": false}, the preview) or created ({"create": true}) through the create route's
 * checks and the one write path, then checked: each copied RRset asked of Tern's nameservers
 * (api.nameservers) and compared, before the user switches the delegation. A parallel route: the
 * DNS runs on an HTTP worker, offline to RCU, within api.check-max-running; the walk starts at
 * api.check-hints and, outside api.check-allow-private, asks no private or reserved address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/bootstrap.h"
#include "lib/check_walk.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/rcu.h"

#define CHECK_MAX_RRSETS 250 /* RRsets the check after a create asks of each server */

struct boot_req {
	char selectors[BOOT_MAXSELECTORS][64];
	int nselectors;
	bool create;
};

/* {"dkim_selectors": [labels], "create": bool}: anything else, or a bad value, is a 400. */
static bool parse_body(json_t *body, struct boot_req *q, struct http_response *res)
{
	const char *key;
	json_t *v;
	if (body && !json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object");
		return false;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "dkim_selectors") && strcmp(key, "create")) {
			http_error(res, 400, key, "unknown field");
			return false;
		}
	}
	json_t *c = json_object_get(body, "create"), *sel = json_object_get(body, "dkim_selectors");
	if (c && !json_is_boolean(c)) {
		http_error(res, 400, "create", "must be true or false");
		return false;
	}
	q->create = json_is_true(c);
	if (sel && (!json_is_array(sel) || json_array_size(sel) > BOOT_MAXSELECTORS)) {
		http_error(res, 400, "dkim_selectors", "must be an array of at most %d selectors", BOOT_MAXSELECTORS);
		return false;
	}
	size_t i;
	json_array_foreach(sel, i, v)
	{
		const char *s = json_string_value(v);
		size_t n = s ? strlen(s) : 0;
		if (!n || n > 63 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n) {
			http_error(res, 400, "dkim_selectors",
			           "selector %zu must be one label of letters, digits, - and _ "
			           "(1 to 63)",
			           i);
			return false;
		}
		snprintf(q->selectors[q->nselectors++], 64, "%s", s);
	}
	return true;
}

/* The records as the create route's RRsets (absolute names), one per owner and type, the lowest
 * TTL of the set (RFC 2181 5.2). */
static json_t *rrsets_json(const struct boot_result *b)
{
	json_t *arr = json_array();
	int *set = malloc(sizeof(int) * (size_t)(b->nrr ? b->nrr : 1));
	if (!arr || !set) {
		free(set);
		json_decref(arr);
		return NULL;
	}
	for (int i = 0; i < b->nrr; i++) {
		const struct boot_rr *r = &b->rr[i];
		int k = 0;
		for (; k < i; k++)
			if (b->rr[k].type == r->type && strcmp(b->rr[k].owner, r->owner) == 0)
				break;
		char type[RRTEXT_TYPE_MAXLEN];
		rrtext_type_to_text(r->type, type, sizeof(type));
		if (k < i) { /* a record of an RRset begun before */
			set[i] = set[k];
			json_t *rs = json_array_get(arr, (size_t)set[k]);
			json_array_append_new(json_object_get(rs, "records"), json_string(r->data));
			json_int_t ttl = json_integer_value(json_object_get(rs, "ttl"));
			if ((json_int_t)r->ttl < ttl)
				json_object_set_new(rs, "ttl", json_integer(r->ttl));
			continue;
		}
		set[i] = (int)json_array_size(arr);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:[s]}", "name", r->owner, "type", type, "ttl",
		                                     (json_int_t)r->ttl, "records", r->data));
	}
	free(set);
	return arr;
}

static void human(uint32_t s, char *out, size_t cap)
{
	if (s >= 86400 && s % 3600 == 0)
		snprintf(out, cap, "%.1f days", s / 86400.0);
	else if (s >= 3600)
		snprintf(out, cap, "%.1f hours", s / 3600.0);
	else if (s >= 60)
		snprintf(out, cap, "%.1f minutes", s / 60.0);
	else
		snprintf(out, cap, "%u seconds", s);
}

/* How to switch the delegation, with the old NS TTLs: how long resolvers keep the old servers. */
static json_t *switch_json(const struct boot_result *b, char (*ours)[CHECK_NAME_TEXT], int nours)
{
	uint32_t wait = b->parent_ns_ttl > b->zone_ns_ttl ? b->parent_ns_ttl : b->zone_ns_ttl;
	char h[32], old[512] = "", new[512] = "", text[2048];
	human(wait, h, sizeof(h));
	for (int i = 0; i < b->nold_ns; i++)
		snprintf(old + strlen(old), sizeof(old) - strlen(old), "%s%s", i ? ", " : "", b->old_ns[i]);
	for (int i = 0; i < nours; i++)
		snprintf(new + strlen(new), sizeof(new) - strlen(new), "%s%s", i ? ", " : "", ours[i]);
	snprintf(text, sizeof(text),
	         "The parent zone delegates %s to %s. At your registrar, replace those NS records by %s. Resolvers "
	         "that cached the old delegation keep asking the old servers for up to %u s (%s: the larger of the "
	         "parent's NS TTL, %u s, and the old zone's own NS TTL, %u s), so keep the old provider serving the "
	         "same records for at least that long after the change, then run `tern check domain %s`.",
	         b->zone, old[0] ? old : "(none found)", new[0] ? new : "(api.nameservers is empty)", wait, h,
	         b->parent_ns_ttl, b->zone_ns_ttl, b->zone);
	json_t *o = json_array(), *n = json_array();
	for (int i = 0; i < b->nold_ns; i++)
		json_array_append_new(o, json_string(b->old_ns[i]));
	for (int i = 0; i < nours; i++)
		json_array_append_new(n, json_string(ours[i]));
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:s}", "old_ns", o, "new_ns", n, "parent_ns_ttl",
	                 (json_int_t)b->parent_ns_ttl, "zone_ns_ttl", (json_int_t)b->zone_ns_ttl, "wait_seconds",
	                 (json_int_t)wait, "text", text);
}

/* Whether record text a equals b as DNS presentation (case-insensitive: names inside RDATA). */
static bool same_text(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* The check after a create: each copied RRset (at most CHECK_MAX_RRSETS) asked of each of Tern's
 * nameservers, the answer compared with what was copied. Runs offline to RCU. */
static json_t *check_served(struct check_ctx *cc, const struct boot_result *b, json_t *rrsets,
                            char (*ours)[CHECK_NAME_TEXT], int nours)
{
	json_t *servers = json_array(), *diffs = json_array();
	struct check_answer *a = malloc(sizeof(*a));
	size_t checked = 0, matching = 0;
	if (!a || !servers || !diffs) {
		free(a);
		json_decref(servers);
		json_decref(diffs);
		return NULL;
	}
	(void)b;
	for (int s = 0; s < nours; s++) {
		struct check_addr addr[4];
		int naddr = check_ns_addrs(cc, ours[s], 0, addr, 4);
		if (naddr <= 0) {
			json_array_append_new(servers,
			                      json_pack("{s:s, s:s}", "ns", ours[s], "error", "no address found"));
			continue;
		}
		json_array_append_new(servers, json_pack("{s:s, s:s}", "ns", ours[s], "address", addr[0].text));
		size_t i;
		json_t *rs;
		json_array_foreach(rrsets, i, rs)
		{
			if (i >= CHECK_MAX_RRSETS)
				break;
			const char *owner = json_string_value(json_object_get(rs, "name"));
			const char *tname = json_string_value(json_object_get(rs, "type"));
			uint16_t type;
			if (rrtext_type_from_text(tname, &type) < 0)
				continue;
			checked++;
			json_t *want = json_object_get(rs, "records"), *got = json_array();
			bool ok = check_ask(cc, &addr[0], owner, type, 0, a) == 0 && a->ok && a->rcode == 0;
			size_t nfound = 0;
			for (int k = 0; ok && k < a->nrr; k++) {
				if (a->rr[k].type != type || !check_name_eq(a->rr[k].owner, owner))
					continue;
				json_array_append_new(got, json_string(a->rr[k].data));
				size_t w;
				json_t *wv;
				bool in = false;
				json_array_foreach(want, w, wv)
				{
					in |= same_text(json_string_value(wv), a->rr[k].data);
				}
				nfound += in;
			}
			if (ok && nfound == json_array_size(want) && json_array_size(got) == json_array_size(want)) {
				matching++;
				json_decref(got);
				continue;
			}
			json_array_append_new(diffs,
			                      json_pack("{s:s, s:s, s:s, s:O, s:o, s:s}", "ns", ours[s], "name", owner,
			                                "type", tname, "expected", want, "served", got, "error",
			                                ok            ? ""
			                                : a->error[0] ? a->error
			                                              : "no answer"));
		}
	}
	free(a);
	return json_pack("{s:o, s:I, s:I, s:o, s:b}", "servers", servers, "rrsets_checked", (json_int_t)checked,
	                 "matching", (json_int_t)matching, "differences", diffs, "ok",
	                 checked > 0 && matching == checked);
}

void api_zones_bootstrap(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body = NULL, *out = NULL;
	if (!api_open(a, req, res, &c, NULL, false, &body))
		return;
	uint8_t apex[NAME_MAXLEN];
	char zone[CHECK_NAME_TEXT], err[300] = "", hints[4096] = "";
	char(*ours)[CHECK_NAME_TEXT] = calloc(CHECK_MAXNS, CHECK_NAME_TEXT);
	struct boot_req *q = calloc(1, sizeof(*q));
	struct check_ctx *cc = malloc(sizeof(*cc));
	struct check_report *r = NULL;
	struct boot_result *b = calloc(1, sizeof(*b));
	bool counted = false;
	int nours = 0;
	if (!ours || !q || !cc || !b) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!api_parse_zone_name(req->params[0], apex)) {
		http_error(res, 400, "zone", "must be a domain name");
		goto done;
	}
	name_to_text(apex, zone, sizeof(zone));
	if (!parse_body(body, q, res))
		goto done;
	if (!auth_allows(&c.p, apex, NULL, 0, true)) {
		http_error(res, 403, "zone", "the token's scope does not allow creating %s", zone);
		goto done;
	}
	if (zones_get(a->srv->zones, apex)) {
		http_error(res, 409, "zone", "zone %s is served here already", zone);
		goto done;
	}
	if (!api_check_rate_ok(a, c.p.tenant, res))
		goto done;
	const struct config *conf = api_config(a);
	if (conf->api.check_hints)
		snprintf(hints, sizeof(hints), "%s", conf->api.check_hints);
	bool allow_private = conf->api.check_allow_private;
	for (size_t i = 0; i < conf->api.nnameservers && nours < CHECK_MAXNS; i++)
		name_to_text(conf->api.nameservers[i], ours[nours++], CHECK_NAME_TEXT);
	unsigned max = conf->api.check_max_running;
	if ((unsigned)(a->checks_running++) >= max) {
		a->checks_running--;
		snprintf(res->retry_after, sizeof(res->retry_after), "5");
		http_error(res, 503, NULL, "%u checks are running (api.check-max-running): try again shortly", max);
		goto done;
	}
	counted = true;
	if (!(r = check_report_new("domain", zone))) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	check_ctx_init(cc, r);
	if (hints[0] && check_ctx_load_hints(cc, hints, err, sizeof(err)) < 0) {
		http_error(res, 500, NULL, "api.check-hints: %s", err);
		goto done;
	}
	cc->whois[0] = 0;
	if (!allow_private)
		cc->allowed = api_check_public_only;
	rcu_thread_offline();
	int rc = boot_run(cc, zone, (const char(*)[64])q->selectors, q->nselectors, b);
	rcu_thread_online();
	if (rc == TERN_ENOMEM) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (rc < 0) {
		json_t *fails = json_array();
		for (int i = 0; i < r->nfailures; i++)
			json_array_append_new(fails, json_string(r->failures[i]));
		char *f = json_dumps(fails, JSON_COMPACT);
		http_error(res, 502, "zone", "%s (%s)", b->error, f ? f : "");
		free(f);
		json_decref(fails);
		goto done;
	}
	json_t *rrsets = rrsets_json(b), *axfr = json_array(), *asked = json_array(), *fails = json_array();
	for (int i = 0; i < b->naxfr_error; i++)
		json_array_append_new(axfr, json_string(b->axfr_error[i]));
	for (int i = 0; i < b->nasked; i++)
		json_array_append_new(asked, json_string(b->asked[i]));
	for (int i = 0; i < r->nfailures; i++)
		json_array_append_new(fails, json_string(r->failures[i]));
	char notice[768];
	if (strcmp(b->method, "axfr") == 0)
		snprintf(notice, sizeof(notice),
		         "The whole zone was transferred (AXFR) from %s. DNSSEC records, the SOA and the apex NS are "
		         "not copied: the new zone gets Tern's SOA and NS.",
		         b->source);
	else
		snprintf(
		    notice, sizeof(notice),
		    "The servers refused AXFR, so only the names and types listed under \"asked\" were read: any other "
		    "name the old provider serves is NOT in this zone. Add those names before switching the "
		    "delegation. DNSSEC records, the SOA and the apex NS are not copied: the new zone gets Tern's "
		    "SOA and NS. A record whose text is longer than %d characters (too_long: a long DKIM key, say) "
		    "cannot be read by queries and is not copied either: add it by hand.",
		    CHECK_RR_TEXT - 1);
	out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:s, s:o, s:O, s:o, s:b}", "zone",
	                zone, "method", b->method, "source", b->source, "axfr_refused", axfr, "asked", asked, "dropped",
	                "dnssec", b->dropped_dnssec, "apex_ns", b->dropped_apex_ns, "soa", b->dropped_soa,
	                "outside_zone", b->dropped_outside, "too_long", b->dropped_size, "over_limit", b->dropped_limit,
	                "notice", notice, "failures", fails, "rrsets", rrsets ? rrsets : json_null(), "switch",
	                switch_json(b, ours, nours), "created", 0);
	if (out)
		json_object_set_new(out, "queries", json_integer(r->queries));
	if (!out || !rrsets) {
		json_decref(rrsets);
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!q->create) {
		json_decref(rrsets);
		http_json(res, 200, out);
		out = NULL;
		goto done;
	}
	json_t *create = json_pack("{s:s, s:O}", "name", zone, "rrsets", rrsets);
	json_decref(rrsets);
	struct store_zone sz;
	bool made = create && api_zones_create_from(a, &c, create, &sz, res);
	json_decref(create);
	if (!made) {
		if (!res->status)
			http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	json_object_set_new(out, "created", json_true());
	json_object_set_new(out, "zone_object", api_zone_json(&sz));
	/* the check before the delegation moves: Tern's servers asked for what was copied */
	check_ctx_init(cc, r);
	if (hints[0])
		check_ctx_load_hints(cc, hints, err, sizeof(err));
	cc->whois[0] = 0;
	cc->budget = CHECK_MAX_RRSETS * (nours ? nours : 1) + 64;
	if (!allow_private)
		cc->allowed = api_check_public_only;
	rcu_thread_offline();
	json_t *check = check_served(cc, b, json_object_get(out, "rrsets"), ours, nours);
	rcu_thread_online();
	json_object_set_new(out, "check", check ? check : json_null());
	http_json(res, 201, out);
	out = NULL;
done:
	if (counted)
		a->checks_running--;
	json_decref(out);
	if (b)
		boot_result_free(b);
	free(b);
	check_report_free(r);
	free(cc);
	free(q);
	free(ours);
	json_decref(body);
	api_caller_free(&c);
}
