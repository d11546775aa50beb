/* GET /pop/v1/usage on a PoP (api.pop-key): the billable queries it answered per zone since its
 * start (usage_zone_counts, summed by name), with its epoch, one page of zones in name_cmp() order
 * after the zone asked after, for the control node's poll (pops.c), which signs the request as it
 * signs its lookups (api_pop_authentic, "tern-pop-usage\n<time>\n<after>\n<limit>"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/name.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/pops_parse.h"
#include "ternd/usage/usage.h"

struct zone_counts {
	const uint8_t *after; /* NULL: the first page */
	struct usage_pop_count *c;
	size_t n, cap;
	bool nomem;
};

static void add_count(void *arg, const uint8_t *apex, uint64_t queries)
{
	struct zone_counts *z = arg;
	uint8_t lower[NAME_MAXLEN];
	memcpy(lower, apex, name_len(apex));
	name_lower(lower);
	if (z->after && name_cmp(lower, z->after) <= 0)
		return; /* on an earlier page */
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 256;
		struct usage_pop_count *c = realloc(z->c, cap * sizeof(*c));
		if (!c) {
			z->nomem = true;
			return;
		}
		z->c = c;
		z->cap = cap;
	}
	memcpy(z->c[z->n].apex, lower, name_len(lower));
	z->c[z->n++].queries = queries;
}

static int by_name(const void *a, const void *b)
{
	return name_cmp(((const struct usage_pop_count *)a)->apex, ((const struct usage_pop_count *)b)->apex);
}

void api_pop_usage(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	const struct config *conf = api_config(a);
	if (!conf->api.pop_key) {
		http_error(res, 404, NULL, "not a PoP that reports its usage (api.pop-key)");
		return;
	}
	const char *after = http_query(req, "after"), *limit_text = http_query(req, "limit");
	if (!api_pop_authentic(conf, req, "usage", after ? after : "", limit_text ? limit_text : "", res))
		return;
	uint8_t from[NAME_MAXLEN];
	if (after && name_from_text(from, after, NULL) < 0) {
		http_error(res, 400, "after", "not a domain name");
		return;
	}
	if (after)
		name_lower(from);
	unsigned long limit = POPS_USAGE_PAGE;
	char *end = NULL;
	if (limit_text && (!limit_text[0] || strspn(limit_text, "0123456789") != strlen(limit_text) ||
	                   (limit = strtoul(limit_text, &end, 10)) < 1 || limit > POPS_USAGE_PAGE)) {
		http_error(res, 400, "limit", "a number from 1 to %d", POPS_USAGE_PAGE);
		return;
	}
	struct usage *u = a->srv->usage;
	if (!u) {
		http_error(res, 503, NULL, "queries are not counted here");
		return;
	}
	struct zone_counts z = {.after = after ? from : NULL};
	usage_zone_counts(u, add_count, &z);
	if (z.nomem) {
		free(z.c);
		http_error(res, 500, NULL, "out of memory");
		return;
	}
	if (z.n)
		qsort(z.c, z.n, sizeof(*z.c), by_name);
	json_t *zones = json_array();
	size_t i = 0, listed = 0;
	while (i < z.n && listed < limit) {
		struct usage_pop_count sum = z.c[i++]; /* a zone removed and back: one name, counted once */
		for (; i < z.n && name_equal(z.c[i].apex, sum.apex); i++)
			sum.queries += z.c[i].queries;
		char text[NAME_MAXLEN * 4 + 1];
		name_to_text(sum.apex, text, sizeof(text));
		json_array_append_new(zones, json_pack("{s:s,s:I}", "zone", text, "queries", (json_int_t)sum.queries));
		listed++;
	}
	free(z.c);
	json_t *doc = json_pack("{s:s,s:o,s:b}", "epoch", usage_epoch(u), "zones", zones, "more", i < z.n);
	if (doc)
		http_json(res, 200, doc);
	else
		http_error(res, 500, NULL, "out of memory");
}
