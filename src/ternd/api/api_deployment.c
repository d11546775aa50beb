/* A service's deployment (untrusted JSON): read and checked against the configured regions, written
 * back in its one normal form, and made into the DYN statements that answer the service's name. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "ternd/api/api_impl.h"

/* A JSON key or value as a message may show it: at most 40 bytes (http_error makes it printable). */
static const char *shown(const char *s, char buf[48])
{
	snprintf(buf, 48, "%.40s%s", s, strlen(s) > 40 ? "..." : "");
	return buf;
}

/* One member: "ADDRESS" or {"address": "ADDRESS", "weight": N}, of family v6 or not. */
static bool parse_member(json_t *m, bool v6, const char *field, struct api_member *out, struct http_response *res)
{
	char f[160], b[48];
	json_t *addr = m;
	out->weight = 0;
	if (json_is_object(m)) {
		const char *key;
		json_t *v;
		json_object_foreach(m, key, v)
		{
			if (strcmp(key, "address") != 0 && strcmp(key, "weight") != 0) {
				snprintf(f, sizeof(f), "%s.%s", field, shown(key, b));
				http_error(res, 400, f,
				           "unknown field \"%s\" (a member is \"ADDRESS\" or {address, weight})",
				           shown(key, b));
				return false;
			}
		}
		addr = json_object_get(m, "address");
		json_t *w = json_object_get(m, "weight");
		if (w) {
			snprintf(f, sizeof(f), "%s.weight", field);
			json_int_t n = json_is_integer(w) ? json_integer_value(w) : 0;
			if (n < 1 || n > API_WEIGHT_MAX) {
				char *text = json_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT);
				http_error(res, 400, f, "weight %s: a whole number 1 to %d",
				           text ? shown(text, b) : "?", API_WEIGHT_MAX);
				free(text);
				return false;
			}
			out->weight = (uint32_t)n;
		}
		if (!addr) {
			snprintf(f, sizeof(f), "%s.address", field);
			http_error(res, 400, f, "missing: the member's address");
			return false;
		}
		snprintf(f, sizeof(f), "%s.address", field);
		field = f;
	} else if (!json_is_string(m)) {
		http_error(res, 400, field, "expected an address (a string) or {address, weight}, got %s",
		           json_is_array(m)  ? "a list"
		           : json_is_null(m) ? "null"
		                             : "another JSON value");
		return false;
	}
	const char *text = json_string_value(addr);
	if (!text || strlen(text) != json_string_length(addr)) {
		http_error(res, 400, field, "expected an address as a string");
		return false;
	}
	uint8_t other[16];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, out->addr) != 1) {
		bool wrong = inet_pton(v6 ? AF_INET : AF_INET6, text, other) == 1;
		http_error(res, 400, field, "\"%s\" is %s", shown(text, b),
		           wrong ? (v6 ? "an IPv4 address: it goes in ipv4" : "an IPv6 address: it goes in ipv6")
		                 : (v6 ? "not an IPv6 address" : "not an IPv4 address"));
		return false;
	}
	static const uint8_t zero[16], mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	const char *why = NULL;
	if (!memcmp(out->addr, zero, v6 ? 16 : 4) || (!v6 && out->addr[0] == 0))
		why = "unspecified: no client can reach it";
	else if (v6 ? out->addr[0] == 0xff : (out->addr[0] & 0xf0) == 0xe0)
		why = "a multicast address";
	else if (v6 && !memcmp(out->addr, mapped, 12))
		why = "an IPv4-mapped address: give the IPv4 address in ipv4";
	if (why) {
		http_error(res, 400, field, "\"%s\" is %s", shown(text, b), why);
		return false;
	}
	return true;
}

/* regions.NAME.ipv4 or .ipv6: a list of members, none twice. */
static bool parse_family(json_t *list, bool v6, const char *field, struct api_member *out, size_t *n,
                         struct http_response *res)
{
	char f[160];
	*n = 0;
	if (!json_is_array(list)) {
		http_error(res, 400, field, "expected a list of addresses");
		return false;
	}
	if (json_array_size(list) > DYN_MAX_MEMBERS) {
		http_error(res, 400, field, "%zu addresses: at most %d of a family in a region", json_array_size(list),
		           DYN_MAX_MEMBERS);
		return false;
	}
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m)
	{
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (!parse_member(m, v6, f, &out[i], res))
			return false;
		for (size_t k = 0; k < i; k++) {
			if (!memcmp(out[k].addr, out[i].addr, v6 ? 16 : 4)) {
				char text[INET6_ADDRSTRLEN];
				inet_ntop(v6 ? AF_INET6 : AF_INET, out[i].addr, text, sizeof(text));
				http_error(res, 400, f, "%s is listed twice (first at [%zu])", text, k);
				return false;
			}
		}
		(*n)++;
	}
	return true;
}

static bool parse_region(json_t *r, const char *field, struct api_region_deploy *out, struct http_response *res)
{
	char f[160], b[48];
	if (!json_is_object(r)) {
		http_error(res, 400, field, "expected {ipv4: [...], ipv6: [...]}");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(r, key, v)
	{
		if (strcmp(key, "ipv4") != 0 && strcmp(key, "ipv6") != 0) {
			snprintf(f, sizeof(f), "%s.%s", field, shown(key, b));
			http_error(res, 400, f, "unknown field \"%s\" (a region holds ipv4 and ipv6)", shown(key, b));
			return false;
		}
	}
	json_t *l4 = json_object_get(r, "ipv4"), *l6 = json_object_get(r, "ipv6");
	snprintf(f, sizeof(f), "%s.ipv4", field);
	if (l4 && !parse_family(l4, false, f, out->v4, &out->n4, res))
		return false;
	snprintf(f, sizeof(f), "%s.ipv6", field);
	if (l6 && !parse_family(l6, true, f, out->v6, &out->n6, res))
		return false;
	if (out->n4 + out->n6 == 0) {
		http_error(res, 400, field, "no addresses: a region deployed needs at least one in ipv4 or ipv6");
		return false;
	}
	return true;
}

bool api_deployment_parse(json_t *doc, const struct config_services *sv, struct api_deployment *out,
                          struct http_response *res)
{
	char f[160], b[48];
	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc)) {
		http_error(res, 400, "deployment", "expected an object {regions, ttl}");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "regions") != 0 && strcmp(key, "ttl") != 0) {
			snprintf(f, sizeof(f), "deployment.%s", shown(key, b));
			http_error(res, 400, f, "unknown field \"%s\" (a deployment holds regions and ttl)",
			           shown(key, b));
			return false;
		}
	}
	json_t *ttl = json_object_get(doc, "ttl");
	if (ttl) {
		json_int_t n = json_is_integer(ttl) ? json_integer_value(ttl) : 0;
		if (n < 1 || n > API_SERVICE_TTL_MAX) {
			char *text = json_dumps(ttl, JSON_ENCODE_ANY | JSON_COMPACT);
			http_error(res, 400, "deployment.ttl", "ttl %s: a whole number of seconds, 1 to %d",
			           text ? shown(text, b) : "?", API_SERVICE_TTL_MAX);
			free(text);
			return false;
		}
		out->ttl = (uint32_t)n;
	}
	json_t *regions = json_object_get(doc, "regions");
	if (!json_is_object(regions) || json_object_size(regions) == 0) {
		http_error(res, 400, "deployment.regions",
		           regions ? "expected an object of regions with addresses, at least one"
		                   : "missing: the regions deployed to, {\"NAME\": {ipv4, ipv6}}");
		return false;
	}
	/* every name configured, before any is read: so the first problem named is the same whatever
	 * order the object's keys come in */
	json_object_foreach(regions, key, v)
	{
		if (!config_region_find(sv, key) || strlen(key) != strlen(config_region_find(sv, key)->name)) {
			char names[256] = "";
			for (size_t i = 0; i < sv->nregions && strlen(names) < 200; i++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
				         sv->regions[i].name);
			snprintf(f, sizeof(f), "deployment.regions.%s", shown(key, b));
			http_error(res, 400, f, "no region \"%s\" in services.regions (%s)", shown(key, b), names);
			return false;
		}
	}
	for (size_t i = 0; i < sv->nregions; i++) {
		json_t *r = json_object_get(regions, sv->regions[i].name);
		if (!r)
			continue;
		struct api_region_deploy *d = &out->regions[out->n];
		d->region = i;
		snprintf(f, sizeof(f), "deployment.regions.%s", sv->regions[i].name);
		if (!parse_region(r, f, d, res))
			return false;
		out->n++;
	}
	return true;
}

/* ---- the normal form, and the DYN statements ---- */

static json_t *members_json(const struct api_member *m, size_t n, bool v6)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN];
		inet_ntop(v6 ? AF_INET6 : AF_INET, m[i].addr, text, sizeof(text));
		json_array_append_new(list, m[i].weight
		                                ? json_pack("{s:s,s:i}", "address", text, "weight", (int)m[i].weight)
		                                : json_string(text));
	}
	return list;
}

json_t *api_deployment_json(const struct api_deployment *d, const struct config_services *sv)
{
	json_t *regions = json_object();
	for (size_t i = 0; i < d->n; i++) {
		const struct api_region_deploy *r = &d->regions[i];
		json_t *o = json_object();
		if (r->n4)
			json_object_set_new(o, "ipv4", members_json(r->v4, r->n4, false));
		if (r->n6)
			json_object_set_new(o, "ipv6", members_json(r->v6, r->n6, true));
		json_object_set_new(regions, sv->regions[r->region].name, o);
	}
	json_t *doc = json_pack("{s:o}", "regions", regions);
	if (d->ttl)
		json_object_set_new(doc, "ttl", json_integer(d->ttl));
	return doc;
}

static void pool_members(struct text *t, const struct api_member *m, size_t n, bool v6)
{
	for (size_t i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN];
		inet_ntop(v6 ? AF_INET6 : AF_INET, m[i].addr, text, sizeof(text));
		text_printf(t, " %s", text);
		if (m[i].weight)
			text_printf(t, " weight %u", m[i].weight);
	}
}

/* region first, then every other region deployed, in configuration order */
static void fallback_list(struct text *t, const struct api_deployment *d, const struct config_services *sv,
                          size_t first)
{
	text_printf(t, " %s", sv->regions[d->regions[first].region].name);
	for (size_t k = 0; k < d->n; k++)
		if (k != first)
			text_printf(t, " %s", sv->regions[d->regions[k].region].name);
}

void api_deployment_statements(const struct api_deployment *d, const struct config_services *sv, struct text *t)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct api_region_deploy *r = &d->regions[i];
		text_printf(t, "pool %s", sv->regions[r->region].name);
		pool_members(t, r->v4, r->n4, false);
		pool_members(t, r->v6, r->n6, true);
		text_printf(t, "\n");
	}
	text_printf(t, "answer");
	for (size_t i = 0; i < d->n; i++)
		text_printf(t, " %s", sv->regions[d->regions[i].region].name);
	text_printf(t, "\n");
	for (size_t i = 0; i < d->n; i++) {
		const struct config_region *cr = &sv->regions[d->regions[i].region];
		for (size_t k = 0; k < cr->ncountries; k++) {
			text_printf(t, "geo country %s", cr->countries[k].code);
			fallback_list(t, d, sv, i);
			text_printf(t, "\n");
		}
		for (size_t k = 0; k < cr->ncontinents; k++) {
			text_printf(t, "geo continent %s", cr->continents[k].code);
			fallback_list(t, d, sv, i);
			text_printf(t, "\n");
		}
	}
}

int api_deployment_dyn(const struct api_deployment *d, const struct config_services *sv, struct change_rrset *out)
{
	struct text t = {0};
	api_deployment_statements(d, sv, &t);
	if (t.nomem || !t.s) {
		text_free(&t);
		return TERN_ENOMEM;
	}
	/* each line a record: its words as character-strings (TXT's wire form), behind a 16-bit length */
	size_t cap = 2 * t.len + 64, len = 0;
	uint8_t *rd = malloc(cap);
	uint16_t count = 0;
	int rc = rd ? 0 : TERN_ENOMEM;
	for (char *line = t.s, *nl; rc == 0 && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		size_t at = len;
		len += 2;
		for (char *w = line; w < nl;) {
			size_t n = strcspn(w, " \n");
			if (n > 255 || (size_t)(nl - line) > 65000) {
				rc = TERN_EINVAL;
				break;
			}
			rd[len++] = (uint8_t)n;
			memcpy(rd + len, w, n);
			len += n;
			w += n + (w[n] == ' ');
		}
		size_t rdlen = len - at - 2;
		rd[at] = (uint8_t)(rdlen >> 8);
		rd[at + 1] = (uint8_t)rdlen;
		if (++count == 0 || len > UINT32_MAX / 2)
			rc = TERN_EINVAL;
	}
	text_free(&t);
	if (rc < 0) {
		free(rd);
		return rc;
	}
	out->type = RR_DYN;
	out->count = count;
	out->ttl = d->ttl ? d->ttl : sv->ttl;
	out->rdata = rd;
	out->rdata_size = (uint32_t)len;
	out->ttls = NULL;
	return 0;
}
