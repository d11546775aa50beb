/* What tern prints: aligned tables, RRsets as zone-file lines, times, JSON, and API errors. */
#include "tern/output.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct table {
	int ncols;
	unsigned right;
	bool heading;
	char **cells; /* nrows * ncols, row 0 the heading when there is one */
	size_t nrows, cap;
};

static int table_push(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, ncap * (size_t)t->ncols * sizeof(*nc));
		if (!nc)
			return -1;
		t->cells = nc;
		t->cap = ncap;
	}
	char **row = t->cells + t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "-");
		if (!row[i]) {
			while (i-- > 0)
				free(row[i]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

struct table *table_new(int ncols, const char *const *headers, unsigned right)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t || ncols < 1 || ncols > OUTPUT_MAXCOLS) {
		free(t);
		return NULL;
	}
	t->ncols = ncols;
	t->right = right;
	if (headers) {
		t->heading = true;
		if (table_push(t, headers) < 0) {
			table_free(t);
			return NULL;
		}
	}
	return t;
}

int table_add(struct table *t, const char *const *cells)
{
	return t ? table_push(t, cells) : -1;
}

void table_print(const struct table *t, FILE *f)
{
	if (!t || t->nrows == (t->heading ? 1u : 0u))
		return; /* nothing but a heading: print nothing */
	size_t width[OUTPUT_MAXCOLS] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			size_t w = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		char **row = t->cells + r * (size_t)t->ncols;
		for (int c = 0; c < t->ncols; c++) {
			bool last = c == t->ncols - 1;
			if (t->right & (1u << c))
				fprintf(f, "%*s", (int)width[c], row[c]);
			else if (last)
				fputs(row[c], f);
			else
				fprintf(f, "%-*s", (int)width[c], row[c]);
			fputs(last ? "\n" : "  ", f);
		}
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int output_rrset_rows(struct table *t, json_t *rrset, const char *mark)
{
	const char *name = json_string_value(json_object_get(rrset, "name"));
	const char *type = json_string_value(json_object_get(rrset, "type"));
	char ttl[24];
	snprintf(ttl, sizeof(ttl), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(rrset, "ttl")));
	json_t *recs = json_object_get(rrset, "records"), *r;
	size_t i;
	json_array_foreach(recs, i, r)
	{
		const char *row[5] = {mark, name, ttl, type, json_string_value(r)};
		if (table_add(t, mark ? row : row + 1) < 0)
			return -1;
	}
	return 0;
}

const char *output_time(json_t *seconds, char *buf, size_t cap)
{
	time_t s = (time_t)json_integer_value(seconds);
	struct tm tm;
	if (!json_is_integer(seconds) || !gmtime_r(&s, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "-");
	return buf;
}

void output_json(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (text) {
		puts(text);
		free(text);
	}
}

/* The value at a field path such as "rrsets[2].records[1]" in the JSON that was sent. */
static json_t *field_value(json_t *sent, const char *field)
{
	json_t *v = sent;
	const char *p = field;
	while (v && *p) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			char *end;
			long i = strtol(p + 1, &end, 10);
			if (*end != ']' || i < 0)
				return NULL;
			v = json_array_get(v, (size_t)i);
			p = end + 1;
			continue;
		}
		size_t n = strcspn(p, ".[");
		char key[64];
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		v = json_object_get(v, key);
		p += n;
	}
	return v == sent ? NULL : v;
}

void output_api_error(const struct client_response *res, json_t *sent)
{
	json_t *body = json_loadb(res->body ? res->body : "", res->len, 0, NULL);
	json_t *e = json_object_get(body, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));
	if (!msg) {
		/* not the API's error shape (a proxy in the way?): the first line of the body */
		size_t n = res->body ? strcspn(res->body, "\r\n") : 0;
		fprintf(stderr, "tern: %s%.*s (HTTP %ld)\n", n ? "" : "the API answered with an error",
		        (int)(n > 300 ? 300 : n), n ? res->body : "", res->status);
		json_decref(body);
		return;
	}
	json_t *v = field && sent ? field_value(sent, field) : NULL;
	fprintf(stderr, "tern: %s", msg);
	/* a record or a name, not a whole zone file */
	if (json_is_string(v) && json_string_length(v) <= 300 && !strpbrk(json_string_value(v), "\r\n"))
		fprintf(stderr, ": \"%s\"", json_string_value(v));
	if (field)
		fprintf(stderr, " (field %s, HTTP %ld)\n", field, res->status);
	else
		fprintf(stderr, " (HTTP %ld)\n", res->status);
	json_decref(body);
}
