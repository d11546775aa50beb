/* GET /api/v1/tenants/{t}/usage?from=YYYY-MM-DD&to=YYYY-MM-DD&granularity=day|month&format=json|csv:
 * a tenant's queries and zone-days per zone, by UTC day or calendar month, from the store's usage
 * rows (the usage module's, flushed first so the answer holds every query answered before it). A
 * tenant sees its own; an admin any tenant's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/civil.h"
#include "lib/error.h"
#include "lib/name.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/text.h"
#include "ternd/usage/usage.h"

#define MAX_MONTHS 13

/* "YYYY-MM-DD", a real date from 2000 to 2999, as days since the epoch. */
static bool parse_date(const char *s, int64_t *day, int *y, unsigned *m)
{
	unsigned d;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	*y = atoi(s);
	*m = (unsigned)atoi(s + 5);
	d = (unsigned)atoi(s + 8);
	if (*y < 2000 || *y > 2999 || *m < 1 || *m > 12 || d < 1)
		return false;
	if (d > civil_month_days(*y, *m))
		return false;
	*day = civil_to_days(*y, *m, d);
	return true;
}

/* One (period, zone) of the answer. */
struct cell {
	char period[11]; /* "YYYY-MM-DD" or "YYYY-MM" */
	char zone[NAME_MAXLEN * 4 + 1];
	uint64_t queries, zone_days;
};

struct cells {
	struct cell *v;
	size_t n, cap;
	bool monthly, nomem;
};

static int add_row(void *arg, const struct store_usage_row *r)
{
	struct cells *c = arg;
	int y;
	unsigned m, d;
	civil_from_days(r->day, &y, &m, &d);
	struct cell k = {.queries = r->queries, .zone_days = 1};
	if (c->monthly)
		snprintf(k.period, sizeof(k.period), "%04d-%02u", y, m);
	else
		snprintf(k.period, sizeof(k.period), "%04d-%02u-%02u", y, m, d);
	if (name_to_text(r->apex, k.zone, sizeof(k.zone)) < 0)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cell *v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			c->nomem = true;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = k;
	return 0;
}

static int by_period_zone(const void *x, const void *y)
{
	const struct cell *a = x, *b = y;
	int d = strcmp(a->period, b->period);
	return d ? d : strcmp(a->zone, b->zone);
}

/* Sorts the cells and adds up those of one (period, zone) (a month's days). */
static void merge(struct cells *c)
{
	qsort(c->v, c->n, sizeof(*c->v), by_period_zone);
	size_t o = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (o && !by_period_zone(&c->v[o - 1], &c->v[i])) {
			c->v[o - 1].queries += c->v[i].queries;
			c->v[o - 1].zone_days += c->v[i].zone_days;
		} else {
			c->v[o++] = c->v[i];
		}
	}
	c->n = o;
}

static void write_json(struct text *t, const char *tenant, const char *from, const char *to, const struct cells *c)
{
	text_printf(t, "{\"tenant\":");
	text_json_string(t, tenant);
	text_printf(t, ",\"from\":\"%s\",\"to\":\"%s\",\"granularity\":\"%s\",\"periods\":[", from, to,
	            c->monthly ? "month" : "day");
	for (size_t i = 0; i < c->n;) {
		size_t j = i;
		uint64_t q = 0, zd = 0;
		text_printf(t, "%s{\"period\":\"%s\",\"zones\":[", i ? "," : "", c->v[i].period);
		for (; j < c->n && !strcmp(c->v[j].period, c->v[i].period); j++) {
			text_printf(t, "%s{\"zone\":", j > i ? "," : "");
			text_json_string(t, c->v[j].zone);
			text_printf(t, ",\"queries\":%llu,\"zone_days\":%llu}", (unsigned long long)c->v[j].queries,
			            (unsigned long long)c->v[j].zone_days);
			q += c->v[j].queries;
			zd += c->v[j].zone_days;
		}
		text_printf(t, "],\"queries\":%llu,\"zone_days\":%llu}", (unsigned long long)q, (unsigned long long)zd);
		i = j;
	}
	text_printf(t, "]}");
}

static void write_csv(struct text *t, const struct cells *c)
{
	text_printf(t, "period,zone,queries,zone_days\r\n");
	for (size_t i = 0; i < c->n; i++) {
		/* a zone name in presentation form has no comma or quote unescaped: quoted all the same */
		text_printf(t, "%s,\"", c->v[i].period);
		for (const char *p = c->v[i].zone; *p; p++)
			text_printf(t, *p == '"' ? "\"\"" : "%c", *p);
		text_printf(t, "\",%llu,%llu\r\n", (unsigned long long)c->v[i].queries,
		            (unsigned long long)c->v[i].zone_days);
	}
}

void api_usage(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	const char *tenant = req->params[0];
	const char *from = http_query(req, "from"), *to = http_query(req, "to");
	const char *gran = http_query(req, "granularity"), *format = http_query(req, "format");
	int64_t fd, td;
	int fy, ty;
	unsigned fm, tm;
	char err[256] = "";
	struct cells cells = {0};
	if (!c.p.admin && strcmp(tenant, c.p.tenant)) {
		http_error(res, 403, "tenant", "a tenant sees its own usage only");
	} else if (!from || !parse_date(from, &fd, &fy, &fm)) {
		http_error(res, 400, "from", "\"%.40s\" is not a date (YYYY-MM-DD, from 2000 to 2999)",
		           from ? from : "");
	} else if (!to || !parse_date(to, &td, &ty, &tm)) {
		http_error(res, 400, "to", "\"%.40s\" is not a date (YYYY-MM-DD, from 2000 to 2999)", to ? to : "");
	} else if (fd > td) {
		http_error(res, 400, "from", "%s is after to (%s)", from, to);
	} else if ((ty * 12 + (int)tm) - (fy * 12 + (int)fm) + 1 > MAX_MONTHS) {
		http_error(res, 400, "to", "from %s to %s spans more than %d calendar months", from, to, MAX_MONTHS);
	} else if (gran && strcmp(gran, "day") && strcmp(gran, "month")) {
		http_error(res, 400, "granularity", "\"%.40s\" is neither day nor month", gran);
	} else if (format && strcmp(format, "json") && strcmp(format, "csv")) {
		http_error(res, 400, "format", "\"%.40s\" is neither json nor csv", format);
	} else if (a->srv->usage && usage_flush(a->srv->usage, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "the usage counts could not be stored: %s", err);
	} else {
		cells.monthly = gran && !strcmp(gran, "month");
		if (store_usage_list(store_latest(a->store), tenant, fd, td, add_row, &cells, err, sizeof(err)) < 0 &&
		    !cells.nomem) {
			http_error(res, 500, NULL, "store: %s", err);
		} else if (cells.nomem) {
			http_error(res, 500, NULL, "out of memory");
		} else {
			merge(&cells);
			struct text t = {0};
			bool csv = format && !strcmp(format, "csv");
			if (csv)
				write_csv(&t, &cells);
			else
				write_json(&t, tenant, from, to, &cells);
			if (t.nomem)
				http_error(res, 500, NULL, "out of memory");
			else if (csv)
				http_text(res, 200, "text/csv; charset=utf-8", t.s, t.len);
			else
				http_json_text(res, 200, &t.s, t.len);
			text_free(&t);
		}
	}
	free(cells.v);
	api_caller_free(&c);
}
