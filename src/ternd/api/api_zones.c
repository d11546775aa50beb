/* Zones through the API: create (defaults from the configuration, or a zone file body), list,
 * show, delete, export as a BIND zone file, import, history, and locking. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/zonefile.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

struct zlist {
	struct text t; /* the page's JSON: {"zones":[ and the zones so far */
	bool first;
	const struct api_caller *c;
};

static int list_zone(const struct store_zone *z, void *arg)
{
	struct zlist *l = arg;
	if (auth_allows(&l->c->p, z->apex, NULL, 0, false)) {
		if (!l->first)
			text_append(&l->t, ",", 1);
		l->first = false;
		api_zone_text(&l->t, z);
	}
	return 0;
}

/* The page size a listing asks for (?limit=, default API_PAGE_DEFAULT); false after a 400. */
static bool page_limit(const struct http_request *req, struct http_response *res, unsigned *limit)
{
	const char *ls = http_query(req, "limit");
	char *end = NULL;
	long n = ls ? strtol(ls, &end, 10) : API_PAGE_DEFAULT;
	if (ls && (*end || n < 1 || n > API_PAGE_MAX)) {
		http_error(res, 400, "limit", "must be a number from 1 to %d", API_PAGE_MAX);
		return false;
	}
	*limit = (unsigned)n;
	return true;
}

void api_zones_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	const char *cursor = http_query(req, "cursor");
	char err[256] = "";
	unsigned limit;
	uint8_t after[NAME_MAXLEN];
	if (!page_limit(req, res, &limit)) {
		/* answered */
	} else if (cursor && !api_parse_zone_name(cursor, after)) {
		http_error(res, 400, "cursor", "\"%.300s\" is not a zone name", cursor);
	} else {
		struct zlist l = {.first = true, .c = &c};
		struct store_page page = {0};
		text_printf(&l.t, "{\"zones\":[");
		if (store_zone_list(store_latest(a->store), c.p.admin ? NULL : c.p.tenant, cursor ? after : NULL, limit,
		                    list_zone, &l, &page, err, sizeof(err)) < 0) {
			http_error(res, 503, NULL, "store: %s", err);
		} else {
			char next[NAME_MAXLEN * 4 + 1];
			text_printf(&l.t, "],\"next\":");
			if (page.more && name_to_text(page.next_apex, next, sizeof(next)) >= 0)
				text_json_string(&l.t, next);
			else
				text_printf(&l.t, "null");
			text_printf(&l.t, "}");
			if (l.t.nomem)
				http_error(res, 500, NULL, "out of memory writing a page of zones");
			else
				http_json_text(res, 200, &l.t.s, l.t.len);
		}
		text_free(&l.t);
	}
	api_caller_free(&c);
}

/* z again with its SOA serial set to serial (z is freed); NULL after a 500. */
static struct zone *with_serial(struct zone *z, uint32_t serial, struct http_response *res)
{
	char err[512] = "", text[NAME_MAXLEN * 4 + 1];
	name_to_text(z->apex, text, sizeof(text));
	struct zone *out = NULL;
	int rc = zone_with_serial(z, serial, &out, err, sizeof(err));
	zone_free(z);
	if (rc < 0)
		http_error(res, 500, NULL, "zone %s: cannot set its serial to %u: %s", text, serial,
		           rc == TERN_ENOMEM ? "out of memory" : err);
	return rc < 0 ? NULL : out;
}

/* The zone a create request describes: a zone file, or SOA and NS from the request or the
 * configuration plus optional RRsets. past is the serial the name had when a zone of that name
 * was last deleted (NULL when none was): the new serial is above it (RFC 1982), so secondaries
 * holding the old zone refresh; a zone file's own serial is kept when it is. */
static struct zone *zone_from_request(struct api *a, const uint8_t *apex, json_t *body, enum store_serial_policy policy,
                                      const uint32_t *past, struct http_response *res)
{
	char err[4096] = "", text[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, text, sizeof(text));
	struct zone *z = NULL;
	json_t *zf = json_object_get(body, "zonefile");
	if (zf) {
		static const char *const other[] = {"nameservers", "soa", "rrsets"};
		for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
			if (json_object_get(body, other[i])) {
				http_error(res, 400, other[i],
				           "cannot be given with zonefile (the zone file holds the zone)");
				return NULL;
			}
		if (!json_is_string(zf)) {
			http_error(res, 400, "zonefile", "must be a string holding a zone file");
			return NULL;
		}
		if (zonefile_load_string(json_string_value(zf), json_string_length(zf), "zonefile", apex, &z, err,
		                         sizeof(err)) < 0) {
			http_error(res, 400, "zonefile", "%s", err);
			return NULL;
		}
		if (past && !rr_serial_newer(z->serial, *past))
			z = with_serial(z, change_next_serial(*past, policy, time(NULL)), res);
		return z;
	}
	const struct config_api *ca = &api_config(a)->api;
	json_t *ns = json_object_get(body, "nameservers");
	uint8_t nsn[16][NAME_MAXLEN];
	size_t nns = 0;
	if (ns) {
		if (!json_is_array(ns) || json_array_size(ns) == 0 || json_array_size(ns) > 16) {
			http_error(res, 400, "nameservers", "must be a list of 1 to 16 names");
			return NULL;
		}
		for (size_t i = 0; i < json_array_size(ns); i++) {
			json_t *n = json_array_get(ns, i);
			char f[48];
			snprintf(f, sizeof(f), "nameservers[%zu]", i);
			if (!json_is_string(n) ||
			    name_from_text(nsn[nns], json_string_value(n), (const uint8_t *)"") < 0) {
				http_error(res, 400, f, "must be a domain name");
				return NULL;
			}
			nns++;
		}
	} else {
		for (; nns < ca->nnameservers && nns < 16; nns++)
			memcpy(nsn[nns], ca->nameservers[nns], NAME_MAXLEN);
	}
	if (nns == 0) {
		http_error(res, 400, "nameservers", "required: the configuration has no default name servers");
		return NULL;
	}
	struct zone_builder *b = zone_builder_new(apex);
	if (!b) {
		http_error(res, 500, NULL, "out of memory");
		return NULL;
	}
	/* the SOA: defaults from the configuration, then what the request's "soa" object says */
	static const uint8_t hostmaster[11] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
	struct api_soa_fields f = {.timers = {change_next_serial(past ? *past : 0, policy, time(NULL)), ca->soa_refresh,
	                                      ca->soa_retry, ca->soa_expire, ca->soa_minimum},
	                           .ttl = ca->default_ttl};
	memcpy(f.names[0], nsn[0], name_len(nsn[0]));
	if (ca->has_hostmaster) {
		memcpy(f.names[1], ca->hostmaster, name_len(ca->hostmaster));
	} else if (name_len(apex) + sizeof(hostmaster) <= NAME_MAXLEN) {
		memcpy(f.names[1], hostmaster, sizeof(hostmaster));
		memcpy(f.names[1] + sizeof(hostmaster), apex, name_len(apex));
	} else {
		memcpy(f.names[1], apex, name_len(apex));
	}
	json_t *soa_req = json_object_get(body, "soa");
	if (soa_req && !json_is_object(soa_req)) {
		http_error(res, 400, "soa", "must be an object (mname, rname, ttl, refresh, retry, expire, minimum)");
		zone_builder_free(b);
		return NULL;
	}
	uint32_t serial = f.timers[0];
	if (soa_req && !api_parse_soa_fields(soa_req, "soa.", &f, res)) {
		zone_builder_free(b);
		return NULL;
	}
	f.timers[0] = serial; /* the serial is the server's */
	uint8_t soa[2 * NAME_MAXLEN + 20];
	size_t off = api_soa_rdata(&f, soa);
	zone_builder_add(b, apex, RR_SOA, f.ttl, soa, (uint16_t)off, 0);
	for (size_t i = 0; i < nns; i++)
		zone_builder_add(b, apex, RR_NS, ca->default_ttl, nsn[i], (uint16_t)name_len(nsn[i]), 0);
	json_t *rrsets = json_object_get(body, "rrsets");
	if (rrsets && (!json_is_array(rrsets) || json_array_size(rrsets) > API_MAX_CHANGES)) {
		http_error(res, 400, "rrsets", "must be a list of at most %d RRsets", API_MAX_CHANGES);
		zone_builder_free(b);
		return NULL;
	}
	size_t nch = rrsets ? json_array_size(rrsets) : 0;
	struct change_rrset *ch = calloc(nch ? nch : 1, sizeof(*ch));
	if (!ch) {
		http_error(res, 500, NULL, "out of memory");
		zone_builder_free(b);
		return NULL;
	}
	for (size_t i = 0; i < nch; i++) {
		char where[48];
		snprintf(where, sizeof(where), "rrsets[%zu]", i);
		if (!api_parse_change(apex, json_array_get(rrsets, i), NULL, NULL, where, &ch[i], res)) {
			change_rrsets_free(ch, i);
			zone_builder_free(b);
			return NULL;
		}
	}
	if (!api_changes_distinct(ch, nch, res)) { /* as in a PATCH: the builder would merge them */
		change_rrsets_free(ch, nch);
		zone_builder_free(b);
		return NULL;
	}
	api_dconn_discovery(api_config(a), b, apex, ch, nch);
	for (size_t i = 0; i < nch; i++) {
		const uint8_t *rec = ch[i].rdata;
		for (uint16_t r = 0; r < ch[i].count; r++, rec = rdata_next(rec))
			zone_builder_add(b, ch[i].owner, ch[i].type, ch[i].ttl, rdata_bytes(rec), rdata_len(rec),
			                 (uint32_t)i + 1);
	}
	change_rrsets_free(ch, nch);
	if (zone_build(b, "rrsets", &z, err, sizeof(err)) < 0) {
		http_error(res, 400, "rrsets", "%s", err);
		return NULL;
	}
	return z;
}

/* The limits n new zones must stay within (docs: server.max-zones, api.max-zones-per-tenant); a
 * 403 naming the limit when they would go over one. */
static bool zone_limits_allow(struct api *a, const struct api_caller *c, size_t n, struct http_response *res)
{
	const struct config *conf = api_config(a);
	size_t served = zones_count(a->srv->zones);
	if (served + n > conf->max_zones) {
		if (n == 1)
			http_error(res, 403, "name",
			           "server.max-zones is %u and this server serves %zu zones: no more can be made",
			           conf->max_zones, served);
		else
			http_error(res, 403, "zones",
			           "server.max-zones is %u and this server serves %zu zones: %zu more do not fit",
			           conf->max_zones, served, n);
		return false;
	}
	if (c->p.admin)
		return true;
	uint64_t held = 0;
	char err[256];
	if (store_zone_count(store_latest(a->store), c->p.tenant, &held, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	if (held + n > conf->api.max_zones_per_tenant) {
		http_error(res, 403, n == 1 ? "name" : "zones",
		           "api.max-zones-per-tenant is %u and tenant %s holds %" PRIu64 " zones%s",
		           conf->api.max_zones_per_tenant, c->p.tenant, held, n == 1 ? "" : ": the batch does not fit");
		return false;
	}
	return true;
}

/* Whether the zone at apex is someone else's: another tenant's, or a zone file's. */
static bool foreign(struct api *a, const struct api_caller *c, const uint8_t *apex)
{
	struct store_zone sz;
	char err[128] = "";
	return store_zone_get(store_latest(a->store), apex, &sz, err, sizeof(err)) != 0 ||
	       strcmp(sz.tenant, c->p.tenant) != 0;
}

struct first {
	uint8_t apex[NAME_MAXLEN];
	bool found;
};

static int first_zone(const struct store_zone *z, void *arg)
{
	struct first *f = arg;
	memcpy(f->apex, z->apex, name_len(z->apex));
	f->found = true;
	return 1;
}

/* A tenant's zone may not sit inside, or around, a zone someone else serves. Above: the nearest
 * served zone above the name. Below: zones below a name follow it in canonical order, so the
 * store's next zone after it tells (and a zone file below it is found the same way through the
 * zones served). Both cost a lookup, not a walk over every zone. */
static bool namespace_free(struct api *a, const struct api_caller *c, const uint8_t *apex, struct http_response *res)
{
	const uint8_t *other = NULL;
	const struct zone *above = zones_find(a->srv->zones, apex, 1);
	if (above && foreign(a, c, above->apex))
		other = above->apex;
	struct first next = {.found = false};
	char err[128] = "";
	if (!other) {
		struct store_page page;
		int rc =
		    store_zone_list(store_latest(a->store), NULL, apex, 1, first_zone, &next, &page, err, sizeof(err));
		if (rc >= 0 && next.found && name_in(next.apex, apex) && foreign(a, c, next.apex))
			other = next.apex;
	}
	if (!other)
		return true;
	char text[NAME_MAXLEN * 4 + 1], otext[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, text, sizeof(text));
	name_to_text(other, otext, sizeof(otext));
	http_error(res, 409, "name", "%s overlaps %s, which another tenant serves", text, otext);
	return false;
}

/* The zone one create body describes, checked as a create route checks it: *out (the caller's)
 * and sz filled; false after an error response. limits: also check the zone limits for one more
 * zone (a batch checks them once for all its zones). */
static bool zone_prepare(struct api *a, const struct api_caller *c, json_t *body, bool limits, struct store_zone *sz,
                         struct zone **out, struct http_response *res)
{
	const char *key;
	json_t *v;
	char err[512] = "", text[NAME_MAXLEN * 4 + 1];
	*sz = (struct store_zone){0};
	*out = NULL;
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object");
		return false;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "name") && strcmp(key, "nameservers") && strcmp(key, "soa") && strcmp(key, "rrsets") &&
		    strcmp(key, "zonefile") && strcmp(key, "serial_policy") && strcmp(key, "signed_downstream")) {
			http_error(res, 400, key, "unknown field");
			return false;
		}
	}
	json_t *jn = json_object_get(body, "name"), *jp = json_object_get(body, "serial_policy");
	if (!json_is_string(jn) || !api_parse_zone_name(json_string_value(jn), sz->apex)) {
		http_error(res, 400, "name", "must be a domain name");
		return false;
	}
	name_to_text(sz->apex, text, sizeof(text));
	if (!auth_allows(&c->p, sz->apex, NULL, 0, true)) {
		http_error(res, 403, "name", "the token's scope does not allow creating %s", text);
		return false;
	}
	sz->serial_policy = api_config(a)->api.serial_increment ? STORE_SERIAL_INCREMENT : STORE_SERIAL_DATE;
	if (jp) {
		if (!json_is_string(jp) ||
		    (strcmp(json_string_value(jp), "date") && strcmp(json_string_value(jp), "increment"))) {
			http_error(res, 400, "serial_policy", "must be \"date\" or \"increment\"");
			return false;
		}
		sz->serial_policy = strcmp(json_string_value(jp), "date") ? STORE_SERIAL_INCREMENT : STORE_SERIAL_DATE;
	}
	json_t *jd = json_object_get(body, "signed_downstream");
	if (jd && !json_is_boolean(jd)) {
		http_error(res, 400, "signed_downstream", "must be true or false");
		return false;
	}
	sz->signed_downstream = json_is_true(jd);
	if (zones_get(a->srv->zones, sz->apex)) {
		http_error(res, 409, "name", "zone %s already exists", text);
		return false;
	}
	if (limits && !zone_limits_allow(a, c, 1, res))
		return false;
	if (!c->p.admin && name_labels(sz->apex) < 2) {
		http_error(res, 403, "name", "%s is a top-level name: only an admin may serve it", text);
		return false;
	}
	if (!c->p.admin && !namespace_free(a, c, sz->apex, res))
		return false;
	uint32_t past;
	int prc = store_zone_past_serial(store_latest(a->store), sz->apex, &past, err, sizeof(err));
	if (prc < 0 && prc != TERN_ENOTFOUND) {
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	struct zone *z = zone_from_request(a, sz->apex, body, sz->serial_policy, prc == 0 ? &past : NULL, res);
	const char *field = json_object_get(body, "zonefile") ? "zonefile" : "rrsets";
	if (!z || !api_zone_monitors_allowed(a, z, field, res) || !api_intree_zone_ok(z, field, res)) {
		zone_free(z);
		return false;
	}
	snprintf(sz->tenant, sizeof(sz->tenant), "%s", c->p.tenant);
	sz->serial = z->serial;
	*out = z;
	return true;
}

void api_zones_create(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body;
	if (!api_open(a, req, res, &c, NULL, false, &body))
		return;
	struct zone *z = NULL;
	struct store_zone sz;
	if (zone_prepare(a, &c, body, true, &sz, &z, res)) {
		struct change_result r;
		int rc = change_create(a->change, &sz, z, &r); /* served before the 201 */
		if (rc == 0)
			http_json(res, 201, api_zone_json(&sz));
		else if (r.step == CHANGE_STORE)
			http_error(res, 503, NULL, "the zone could not be stored: %s", r.msg);
		else if (r.step == CHANGE_REFUSED) /* DNSSEC records in a zone signed downstream */
			http_error(res, 400, json_object_get(body, "zonefile") ? "zonefile" : "rrsets", "%s", r.msg);
		else
			api_change_error(res, &r, sz.apex, NULL, 0, NULL);
	}
	json_decref(body);
	api_caller_free(&c);
}

bool api_zones_create_from(struct api *a, const struct api_caller *c, json_t *body, struct store_zone *sz,
                           struct http_response *res)
{
	struct zone *z = NULL;
	if (!zone_prepare(a, c, body, true, sz, &z, res))
		return false;
	struct change_result r;
	int rc = change_create(a->change, sz, z, &r); /* served before it returns */
	if (rc == 0)
		return true;
	if (r.step == CHANGE_STORE)
		http_error(res, 503, NULL, "the zone could not be stored: %s", r.msg);
	else if (r.step == CHANGE_REFUSED)
		http_error(res, 400, "rrsets", "%s", r.msg);
	else
		api_change_error(res, &r, sz->apex, NULL, 0, NULL);
	return false;
}

/* POST /zones/batch {"zones": [create bodies]}: up to API_MAX_BATCH_ZONES zones, each checked as
 * POST /zones checks it, created together through the one write path (one durable transaction),
 * all or none (docs/api.md). For filling a server (a migration, a new PoP's primary): a zone per
 * request costs a flush to disk each. */
void api_zones_batch(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body;
	if (!api_open(a, req, res, &c, NULL, false, &body))
		return;
	struct store_zone *sz = NULL;
	struct zone **zs = NULL;
	size_t n = 0, made = 0;
	json_t *list = api_parse_batch(body, &n, res);
	if (!list)
		goto out;
	if (!zone_limits_allow(a, &c, n, res))
		goto out;
	sz = calloc(n, sizeof(*sz));
	zs = calloc(n, sizeof(*zs));
	if (!sz || !zs) {
		http_error(res, 500, NULL, "out of memory");
		goto out;
	}
	for (; made < n; made++) {
		if (!zone_prepare(a, &c, json_array_get(list, made), false, &sz[made], &zs[made], res)) {
			api_batch_error_at(res, made);
			goto out;
		}
	} /* a name given twice: the store's second insert is refused, as for a zone that exists */
	struct change_result r;
	int rc = change_create_many(a->change, sz, zs, n, &r); /* every one served before the 201 */
	memset(zs, 0, n * sizeof(*zs)); /* taken over */
	if (rc == 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, api_zone_json(&sz[i]));
		http_json(res, 201, json_pack("{s:o}", "zones", arr));
	} else {
		if (r.step == CHANGE_STORE)
			http_error(res, 503, NULL, "the zones could not be stored: %s", r.msg);
		else if (r.step == CHANGE_REFUSED) /* DNSSEC records in a zone signed downstream */
			http_error(res, 400, "rrsets", "%s", r.msg);
		else
			api_change_error(res, &r, sz[r.index < n ? r.index : 0].apex, NULL, 0, NULL);
		if (r.index < n)
			api_batch_error_at(res, r.index);
	}
out:
	for (size_t i = 0; zs && i < n; i++) /* those prepared before a refusal (NULL past them) */
		zone_free(zs[i]);
	free(zs);
	free(sz);
	json_decref(body);
	api_caller_free(&c);
}

void api_zones_show(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_zone_get(a, &c, req->params[0], &z, res)) {
		json_t *j = api_zone_json(&z);
		api_ownership_flag(a, &z, j); /* another tenant's verified claim on the name */
		http_json(res, 200, j);
	}
	api_caller_free(&c);
}

void api_zones_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	char text[NAME_MAXLEN * 4 + 1];
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_zone_get(a, &c, req->params[0], &z, res)) {
		name_to_text(z.apex, text, sizeof(text));
		if (!auth_allows(&c.p, z.apex, NULL, 0, true)) {
			http_error(res, 403, "zone", "the token's scope does not allow deleting %s", text);
		} else if (z.locked) {
			http_error(res, 409, "zone", "zone is locked: %s", z.lock_reason);
		} else if (api_zone_writable(&z, res)) {
			struct change_result r;
			if (change_delete(a->change, z.apex, &r) == 0)
				res->status = 204;
			else if (r.step == CHANGE_STORE)
				http_error(res, 503, NULL, "the zone could not be deleted: %s", r.msg);
			else
				api_change_error(res, &r, z.apex, NULL, 0, NULL);
		}
	}
	api_caller_free(&c);
}

void api_zones_export(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_zone_get(a, &c, req->params[0], &z, res) && api_whole_zone(&c, &z, false, res)) {
		char err[256] = "", *text = NULL;
		size_t len = 0;
		const char *plain = http_query(req, "plain");
		if (plain && strcmp(plain, "true") != 0 && strcmp(plain, "false") != 0) {
			http_error(res, 400, "plain", "plain must be true or false");
			api_caller_free(&c);
			return;
		}
		unsigned flags = plain && strcmp(plain, "true") == 0 ? RRTEXT_EXPORT_PLAIN : 0;
		change_lock(a->change); /* the snapshot stays while it is written out */
		const struct zone *cur = zones_get(a->srv->zones, z.apex);
		int rc = cur ? rrtext_export_zone_text_as(cur, flags, &text, &len, err, sizeof(err)) : TERN_ENOTFOUND;
		change_unlock(a->change);
		if (rc == 0)
			http_text(res, 200, "text/dns", text, len);
		else
			http_error(res, 500, NULL, "export failed: %s", rc == TERN_ENOTFOUND ? "zone not served" : err);
		free(text);
	}
	api_caller_free(&c);
}

/* Replaces the zone's content with a zone file: every RRset not in the file goes, every RRset
 * in it is written; the SOA serial moves on from the current one. */
void api_zones_import(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	struct zone *imp = NULL;
	char err[4096] = "";
	if (!api_zone_get(a, &c, req->params[0], &z, res) || !api_whole_zone(&c, &z, true, res) ||
	    !api_zone_writable(&z, res))
		goto out;
	if (z.locked) {
		http_error(res, 409, "zone", "zone is locked: %s", z.lock_reason);
		goto out;
	}
	if (zonefile_load_string(req->body, req->body_len, "body", z.apex, &imp, err, sizeof(err)) < 0) {
		http_error(res, 400, "body", "%s", err);
		goto out;
	}
	if (!api_zone_monitors_allowed(a, imp, "body", res) || !api_intree_zone_ok(imp, "body", res))
		goto out;
	struct change_request rq = {.apex = z.apex, .import = imp, .principal = c.p.tenant};
	struct change_result r;
	if (change_commit(a->change, &rq, &r) < 0)
		api_change_error(res, &r, z.apex, NULL, 0, "body");
	else
		http_json(res, 200,
		          json_pack("{s:I,s:I}", "serial", (json_int_t)r.serial, "rrsets", (json_int_t)r.changes));
out:
	zone_free(imp);
	if (imp)
		change_trim_heap(); /* the file's zone, its changes and the old version's copies are free */
	api_caller_free(&c);
}

static int change_json(const struct store_journal_entry *e, void *arg)
{
	json_t *arr = arg, *removed = json_array(), *added = json_array();
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *list = pass ? e->added : e->removed;
		size_t len = pass ? e->added_len : e->removed_len, pos = 0;
		struct store_rr rr;
		while (store_rr_next(list, len, &pos, &rr) == 1) {
			uint8_t rec[2 + 65535];
			wire_put16(rec, rr.rdlen);
			memcpy(rec + 2, rr.rdata, rr.rdlen);
			json_array_append_new(pass ? added : removed,
			                      api_rrset_json(rr.owner, rr.type, rr.ttl, 1, rec));
		}
	}
	json_t *entry =
	    json_pack("{s:I,s:I,s:I,s:I,s:s,s:o,s:o}", "id", (json_int_t)e->id, "serial_from",
	              (json_int_t)e->serial_from, "serial_to", (json_int_t)e->serial_to, "time", (json_int_t)e->time,
	              "by", e->principal ? e->principal : "", "removed", removed, "added", added);
	if (entry && e->removed_len == 0 && e->added_len == 0) /* a whole-zone replacement (store.h) */
		json_object_set_new(entry, "whole", json_true());
	json_array_append_new(arr, entry);
	return 0;
}

void api_zones_changes(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	const char *cursor = http_query(req, "cursor");
	char *end = NULL;
	long long before = cursor ? strtoll(cursor, &end, 10) : 0;
	unsigned limit;
	if (!page_limit(req, res, &limit)) {
		/* answered */
	} else if (cursor && (*end || before < 1)) {
		http_error(res, 400, "cursor", "must be the \"next\" of an earlier page (a positive number)");
	} else if (api_zone_get(a, &c, req->params[0], &z, res) && api_whole_zone(&c, &z, false, res)) {
		json_t *arr = json_array();
		struct store_page page = {0};
		char err[256] = "";
		if (store_journal_history(store_latest(a->store), z.apex, before, limit, change_json, arr, &page, err,
		                          sizeof(err)) < 0) {
			json_decref(arr);
			http_error(res, 503, NULL, "store: %s", err);
		} else {
			http_json(res, 200,
			          json_pack("{s:o,s:o}", "changes", arr, "next",
			                    page.more ? json_integer((json_int_t)page.next_id) : json_null()));
		}
	}
	api_caller_free(&c);
}

static void set_lock(void *ctx, const struct http_request *req, struct http_response *res, bool lock)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	json_t *body = NULL;
	if (api_zone_get(a, &c, req->params[0], &z, res)) {
		char text[NAME_MAXLEN * 4 + 1];
		name_to_text(z.apex, text, sizeof(text));
		const char *reason = "locked";
		json_error_t je;
		if (lock && req->body_len) {
			body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
			json_t *r = body ? json_object_get(body, "reason") : NULL;
			if (!r || !json_is_string(r) || json_string_length(r) == 0 ||
			    json_string_length(r) > STORE_REASON_MAX) {
				http_error(res, 400, "reason", "must be a non-empty string of at most %d bytes",
				           STORE_REASON_MAX);
				goto out;
			}
			reason = json_string_value(r);
		}
		if (!auth_allows(&c.p, z.apex, NULL, 0, true)) {
			http_error(res, 403, "zone", "the token's scope does not allow locking %s", text);
			goto out;
		}
		if (!api_zone_writable(&z, res))
			goto out;
		struct change_result r;
		if (change_lock_zone(a->change, z.apex, lock ? reason : NULL, &z, &r) == 0)
			http_json(res, 200, api_zone_json(&z));
		else if (r.step == CHANGE_STORE)
			http_error(res, 503, NULL, "store: %s", r.msg);
		else
			api_change_error(res, &r, z.apex, NULL, 0, NULL);
	}
out:
	json_decref(body);
	api_caller_free(&c);
}

void api_zones_lock(void *ctx, const struct http_request *req, struct http_response *res)
{
	set_lock(ctx, req, res, true);
}

void api_zones_unlock(void *ctx, const struct http_request *req, struct http_response *res)
{
	set_lock(ctx, req, res, false);
}

/* PUT and DELETE /zones/{z}/signed-downstream: the zone's secondaries sign it (Knot at a PoP with
 * its own keys), or no longer; docs/signed-downstream.md. */
static void set_downstream(void *ctx, const struct http_request *req, struct http_response *res, bool on)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_zone_get(a, &c, req->params[0], &z, res)) {
		char text[NAME_MAXLEN * 4 + 1];
		name_to_text(z.apex, text, sizeof(text));
		struct change_result r;
		if (!auth_allows(&c.p, z.apex, NULL, 0, true)) {
			http_error(res, 403, "zone", "the token's scope does not allow changing how %s is signed",
			           text);
		} else if (api_zone_writable(&z, res)) {
			if (change_set_downstream(a->change, z.apex, on, &z, &r) == 0)
				http_json(res, 200, api_zone_json(&z));
			else if (r.step == CHANGE_STORE)
				http_error(res, 503, NULL, "store: %s", r.msg);
			else if (r.step == CHANGE_REFUSED || (r.step == CHANGE_ZONE && r.code == TERN_EEXIST))
				http_error(res, 409, "signed_downstream", "%s", r.msg);
			else
				api_change_error(res, &r, z.apex, NULL, 0, NULL);
		}
	}
	api_caller_free(&c);
}

void api_zones_downstream_put(void *ctx, const struct http_request *req, struct http_response *res)
{
	set_downstream(ctx, req, res, true);
}

void api_zones_downstream_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	set_downstream(ctx, req, res, false);
}

bool api_zone_create_named(struct api *a, const struct api_caller *c, const uint8_t *apex, struct store_zone *sz,
                           struct http_response *res)
{
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, text, sizeof(text));
	json_t *body = json_pack("{s:s}", "name", text);
	struct zone *z = NULL;
	bool ok = false;
	if (!body) {
		http_error(res, 500, NULL, "out of memory");
		return false;
	}
	if (zone_prepare(a, c, body, true, sz, &z, res)) {
		struct change_result r;
		if (change_create(a->change, sz, z, &r) == 0) /* served before the answer */
			ok = true;
		else if (r.step == CHANGE_STORE)
			http_error(res, 503, NULL, "the zone could not be stored: %s", r.msg);
		else
			api_change_error(res, &r, sz->apex, NULL, 0, NULL);
	}
	json_decref(body);
	return ok;
}
