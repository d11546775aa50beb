/* The control node's reader of a PoP's /healthz (pops_parse.h): zones and monitor states out of
 * untrusted JSON, every field checked, every count bounded. */
#include "ternd/api/pops_parse.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

const char *pops_monitor_state_name(enum pops_monitor_state s)
{
	switch (s) {
	case POPS_MON_UP: return "up";
	case POPS_MON_DOWN: return "down";
	case POPS_MON_UNKNOWN: break;
	}
	return "unknown";
}

/* Copies what the PoP says of one zone into z. */
static int zone_from_json(const char *name, json_t *serial, json_t *detail, bool serving, struct pops_zone *z,
                          char *err, size_t errlen)
{
	if (name_from_text(z->apex, name, NULL) < 0) {
		snprintf(err, errlen, "zone \"%.100s\" is not a domain name", name);
		return TERN_EINVAL;
	}
	name_lower(z->apex);
	z->serving = serving;
	snprintf(z->state, sizeof(z->state), "primary");
	if (detail) {
		json_t *st = json_object_get(detail, "state"), *lt = json_object_get(detail, "last_transfer");
		if (!json_is_object(detail) || !json_is_string(st) || json_string_length(st) >= sizeof(z->state)) {
			snprintf(err, errlen, "secondaries.%.100s has no state", name);
			return TERN_EINVAL;
		}
		snprintf(z->state, sizeof(z->state), "%s", json_string_value(st));
		for (char *c = z->state; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		z->last_transfer = json_is_integer(lt) ? (int64_t)json_integer_value(lt) : 0;
		if (!serial)
			serial = json_object_get(detail, "serial");
	}
	if (!json_is_integer(serial) || json_integer_value(serial) < 0 || json_integer_value(serial) > UINT32_MAX) {
		snprintf(err, errlen, "the serial of %.100s is not a number from 0 to 4294967295", name);
		return TERN_EINVAL;
	}
	z->serial = (uint32_t)json_integer_value(serial);
	return 0;
}

static int parse_zones(json_t *serials, json_t *secondaries, struct pops_report *r, char *err, size_t errlen)
{
	size_t cap = json_object_size(serials) + (secondaries ? json_object_size(secondaries) : 0);
	if (!(r->zones = calloc(cap + 1, sizeof(*r->zones)))) { /* + 1: a PoP serving no zone is fine too */
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	const char *name;
	json_t *v;
	json_object_foreach(serials, name, v)
	{
		json_t *detail = secondaries ? json_object_get(secondaries, name) : NULL;
		if (zone_from_json(name, v, detail, true, &r->zones[r->nzones++], err, errlen) < 0)
			return TERN_EINVAL;
	}
	json_object_foreach(secondaries, name, v)
	{
		if (!json_object_get(serials, name) &&
		    zone_from_json(name, NULL, v, false, &r->zones[r->nzones++], err, errlen) < 0)
			return TERN_EINVAL;
	}
	return 0;
}

/* Printable ASCII only: the texts go to JSON, logs and Prometheus labels. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int parse_member(json_t *m, const char *where, const char *spec, struct pops_member *out, char *err,
                        size_t errlen)
{
	json_t *addr = json_object_get(m, "address"), *state = json_object_get(m, "state"),
	       *last = json_object_get(m, "last_check"), *result = json_object_get(m, "last_result");
	uint8_t bin[16];
	if (!json_is_object(m)) {
		snprintf(err, errlen, "%s: not an object", where);
		return TERN_EINVAL;
	}
	const char *a = json_is_string(addr) ? json_string_value(addr) : "";
	int family = inet_pton(AF_INET, a, bin) == 1 ? AF_INET : inet_pton(AF_INET6, a, bin) == 1 ? AF_INET6 : 0;
	if (!family || !inet_ntop(family, bin, out->address, sizeof(out->address))) {
		snprintf(err, errlen, "%s.address: not an IPv4 or IPv6 address", where);
		return TERN_EINVAL;
	}
	const char *s = json_is_string(state) ? json_string_value(state) : "";
	if (!strcmp(s, "up"))
		out->state = POPS_MON_UP;
	else if (!strcmp(s, "down"))
		out->state = POPS_MON_DOWN;
	else if (!strcmp(s, "unknown"))
		out->state = POPS_MON_UNKNOWN;
	else {
		snprintf(err, errlen, "%s.state: not \"up\", \"down\" or \"unknown\"", where);
		return TERN_EINVAL;
	}
	if (last && !json_is_null(last) && (!json_is_integer(last) || json_integer_value(last) < 0)) {
		snprintf(err, errlen, "%s.last_check: not a Unix time (or null)", where);
		return TERN_EINVAL;
	}
	out->last_check = json_is_integer(last) ? (int64_t)json_integer_value(last) : 0;
	if (result && !json_is_null(result) && !json_is_string(result)) {
		snprintf(err, errlen, "%s.last_result: not a string (or null)", where);
		return TERN_EINVAL;
	}
	/* cut to fit, anything but printable ASCII as '?' (libcurl's words may quote a URL) */
	snprintf(out->last_result, sizeof(out->last_result), "%s",
	         json_is_string(result) ? json_string_value(result) : "");
	for (char *c = out->last_result; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	out->monitor = spec;
	return 0;
}

/* "monitors": {"up": n, "down": n, "unknown": n[, "list": [{"monitor": spec, "members": [...]}]]} */
static int parse_monitors(json_t *mon, struct pops_report *r, char *err, size_t errlen)
{
	static const char *const names[3] = {"unknown", "up", "down"};
	char where[96];
	if (!json_is_object(mon)) {
		snprintf(err, errlen, "monitors: not an object");
		return TERN_EINVAL;
	}
	for (int i = 0; i < 3; i++) {
		json_t *n = json_object_get(mon, names[i]);
		if (!json_is_integer(n) || json_integer_value(n) < 0) {
			snprintf(err, errlen, "monitors.%s: not a count", names[i]);
			return TERN_EINVAL;
		}
		r->counts[i] = (uint64_t)json_integer_value(n);
	}
	r->monitors = true;
	json_t *list = json_object_get(mon, "list");
	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > POPS_MAX_MEMBERS) {
		snprintf(err, errlen, "monitors.list: not a list of at most %d monitors", POPS_MAX_MEMBERS);
		return TERN_EINVAL;
	}
	size_t total = 0, i;
	json_t *g;
	json_array_foreach(list, i, g)
	{
		json_t *members = json_object_get(g, "members"), *spec = json_object_get(g, "monitor");
		snprintf(where, sizeof(where), "monitors.list[%zu]", i);
		if (!json_is_object(g) || !json_is_string(spec) || json_string_length(spec) == 0 ||
		    json_string_length(spec) > POPS_MAX_SPEC ||
		    strlen(json_string_value(spec)) != json_string_length(spec) ||
		    !printable(json_string_value(spec))) {
			snprintf(err, errlen, "%s.monitor: not a monitor's spec (printable ASCII, 1 to %d octets)",
			         where, POPS_MAX_SPEC);
			return TERN_EINVAL;
		}
		if (!json_is_array(members) || json_array_size(members) > POPS_MAX_MEMBERS - total) {
			snprintf(err, errlen, "%s.members: not a list (of at most %d members in all)", where,
			         POPS_MAX_MEMBERS);
			return TERN_EINVAL;
		}
		total += json_array_size(members);
	}
	r->specs = calloc(json_array_size(list) + 1, sizeof(*r->specs));
	r->members = calloc(total + 1, sizeof(*r->members));
	if (!r->specs || !r->members) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	r->members_listed = true;
	json_array_foreach(list, i, g)
	{
		if (!(r->specs[r->nspecs] = strdup(json_string_value(json_object_get(g, "monitor"))))) {
			snprintf(err, errlen, "out of memory");
			return TERN_ENOMEM;
		}
		const char *spec = r->specs[r->nspecs++];
		size_t j;
		json_t *m;
		json_array_foreach(json_object_get(g, "members"), j, m)
		{
			snprintf(where, sizeof(where), "monitors.list[%zu].members[%zu]", i, j);
			if (parse_member(m, where, spec, &r->members[r->nmembers], err, errlen) < 0)
				return TERN_EINVAL;
			r->nmembers++;
		}
	}
	return 0;
}

int pops_parse_healthz(const char *body, size_t len, struct pops_report *out, char *err, size_t errlen)
{
	json_error_t je;
	memset(out, 0, sizeof(*out));
	json_t *doc = json_loadb(body, len, 0, &je);
	if (!doc) {
		snprintf(err, errlen, "unparseable body: %s (line %d)", je.text, je.line);
		return TERN_EINVAL;
	}
	int rc = TERN_EINVAL;
	json_t *status = json_object_get(doc, "status"), *serials = json_object_get(doc, "serials"),
	       *secondaries = json_object_get(doc, "secondaries"), *mon = json_object_get(doc, "monitors");
	if (!json_is_object(doc) || !json_is_string(status) || !json_is_object(serials) ||
	    (secondaries && !json_is_object(secondaries))) {
		snprintf(err, errlen, "unparseable body: not a Tern /healthz (no \"status\" and \"serials\")");
		goto fail;
	}
	if (strcmp(json_string_value(status), "ok") != 0) {
		snprintf(err, errlen, "status is \"%.40s\", not \"ok\"", json_string_value(status));
		goto fail;
	}
	if ((rc = parse_zones(serials, secondaries, out, err, errlen)) < 0)
		goto fail;
	if (mon && (rc = parse_monitors(mon, out, err, errlen)) < 0)
		goto fail;
	json_decref(doc);
	return 0;
fail:
	json_decref(doc);
	pops_report_free(out);
	return rc;
}

void pops_report_free(struct pops_report *r)
{
	for (size_t i = 0; i < r->nspecs; i++)
		free(r->specs[i]);
	free(r->specs);
	free(r->members);
	free(r->zones);
	memset(r, 0, sizeof(*r));
}

/* ---- a PoP's query counters ---- */

int pops_parse_usage(const char *body, size_t len, const uint8_t *after, struct pops_usage_page *out, char *err,
                     size_t errlen)
{
	json_error_t je;
	memset(out, 0, sizeof(*out));
	json_t *doc = json_loadb(body, len, 0, &je);
	if (!doc) {
		snprintf(err, errlen, "unparseable body: %s (line %d)", je.text, je.line);
		return TERN_EINVAL;
	}
	int rc = TERN_EINVAL;
	json_t *epoch = json_object_get(doc, "epoch"), *zones = json_object_get(doc, "zones"),
	       *more = json_object_get(doc, "more");
	if (!json_is_object(doc) || !json_is_string(epoch) || !json_is_array(zones) || !json_is_boolean(more)) {
		snprintf(err, errlen, "not a PoP's counters (no \"epoch\", \"zones\" and \"more\")");
		goto fail;
	}
	const char *e = json_string_value(epoch);
	if (json_string_length(epoch) != USAGE_EPOCH_LEN || strspn(e, "0123456789abcdef") != USAGE_EPOCH_LEN) {
		snprintf(err, errlen, "epoch: not %d lower-case hex digits", USAGE_EPOCH_LEN);
		goto fail;
	}
	memcpy(out->epoch, e, USAGE_EPOCH_LEN + 1);
	size_t n = json_array_size(zones);
	if (n > POPS_USAGE_PAGE) {
		snprintf(err, errlen, "zones: %zu, more than %d on a page", n, POPS_USAGE_PAGE);
		goto fail;
	}
	if (!(out->zones = calloc(n + 1, sizeof(*out->zones)))) {
		snprintf(err, errlen, "out of memory");
		rc = TERN_ENOMEM;
		goto fail;
	}
	const uint8_t *prev = after;
	size_t i;
	json_t *z;
	json_array_foreach(zones, i, z)
	{
		struct usage_pop_count *c = &out->zones[i];
		json_t *name = json_object_get(z, "zone"), *q = json_object_get(z, "queries");
		if (!json_is_object(z) || !json_is_string(name) ||
		    name_from_text(c->apex, json_string_value(name), NULL) < 0 ||
		    strlen(json_string_value(name)) != json_string_length(name)) {
			snprintf(err, errlen, "zones[%zu].zone: not a domain name", i);
			goto fail;
		}
		name_lower(c->apex);
		if (prev && name_cmp(prev, c->apex) >= 0) {
			snprintf(err, errlen, "zones[%zu].zone: not after the zone before it", i);
			goto fail;
		}
		if (!json_is_integer(q) || json_integer_value(q) < 0 ||
		    (unsigned long long)json_integer_value(q) > POPS_USAGE_MAX_COUNT) {
			snprintf(err, errlen, "zones[%zu].queries: not a number from 0 to %llu", i,
			         POPS_USAGE_MAX_COUNT);
			goto fail;
		}
		c->queries = (uint64_t)json_integer_value(q);
		prev = c->apex;
		out->nzones++;
	}
	out->more = json_is_true(more);
	if (out->more && !out->nzones) {
		snprintf(err, errlen, "more: another page after an empty one");
		goto fail;
	}
	json_decref(doc);
	return 0;
fail:
	json_decref(doc);
	pops_usage_page_free(out);
	return rc;
}

void pops_usage_page_free(struct pops_usage_page *pg)
{
	free(pg->zones);
	memset(pg, 0, sizeof(*pg));
}
