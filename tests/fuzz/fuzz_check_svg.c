/* libFuzzer harness for tern check's SVG writer (check_report_svg(), check_svg_escape(),
 * src/lib/check_svg.c): the input, cut at NUL or newline, fills a report's texts (target, zones,
 * servers' names, addresses, answers and errors, the chain, caches, referrals, findings, failures:
 * what names and answers from the Internet put there) and some of its numbers. The picture must be
 * well-formed XML: balanced elements, quoted attributes, & only as an entity, no raw < > " ' from
 * the input in text or attributes, valid UTF-8 and no control character but newline. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check_report.h"
#include "lib/check_svg.h"

static void fail(const char *what, const char *doc, size_t at)
{
	fprintf(stderr, "fuzz_check_svg: invariant violated: %s at %zu: %.80s\n", what, at, doc + at);
	abort();
}

/* The input's fields, one after another, cycling when they run out. */
struct fields {
	const uint8_t *data;
	size_t len, at;
};

static void next(struct fields *f, char *out, size_t cap)
{
	out[0] = 0;
	if (f->len == 0)
		return;
	if (f->at >= f->len)
		f->at = 0;
	size_t n = 0;
	while (f->at < f->len && f->data[f->at] != 0 && f->data[f->at] != '\n' && n + 1 < cap)
		out[n++] = (char)f->data[f->at++];
	out[n] = 0;
	while (f->at < f->len && f->data[f->at] != 0 && f->data[f->at] != '\n')
		f->at++;
	f->at++;
}

static uint32_t number(struct fields *f)
{
	char t[16];
	next(f, t, sizeof(t));
	uint32_t v = 0;
	for (size_t i = 0; t[i]; i++)
		v = v * 31 + (uint8_t)t[i];
	return v;
}

static bool entity(const char *p)
{
	static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	for (size_t i = 0; i < 5; i++)
		if (strncmp(p, ok[i], strlen(ok[i])) == 0)
			return true;
	return false;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == ':' ||
	       c == '_';
}

/* Valid UTF-8 without control characters but '\n'; & only as an entity; elements balanced. */
static void well_formed(const char *doc, size_t len)
{
	if (strlen(doc) != len)
		fail("a NUL inside", doc, strlen(doc));
	const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
	if (strncmp(doc, head, strlen(head)) != 0)
		fail("no XML declaration", doc, 0);
	const unsigned char *u = (const unsigned char *)doc;
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || i + n > len || (c < 0x20 && c != '\n') || c == 0x7f || c == 0xc0 || c == 0xc1 || c > 0xf4)
			fail("not UTF-8 or a control character", doc, i);
		for (size_t k = 1; k < n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				fail("a broken UTF-8 sequence", doc, i);
		i += n;
	}
	char stack[64][32];
	int depth = 0;
	size_t i = strlen(head);
	bool root_closed = false;
	while (i < len) {
		if (doc[i] == '&') {
			if (!entity(doc + i))
				fail("& not an entity", doc, i);
			i++;
			continue;
		}
		if (doc[i] == '>' || doc[i] == '"')
			fail("raw > or \" in text", doc, i);
		if (doc[i] != '<') {
			if (depth == 0 && doc[i] != '\n')
				fail("text outside the root element", doc, i);
			i++;
			continue;
		}
		if (root_closed)
			fail("an element after the root", doc, i);
		i++;
		bool closing = doc[i] == '/';
		i += closing;
		char name[32];
		size_t n = 0;
		while (i < len && name_char(doc[i]) && n + 1 < sizeof(name))
			name[n++] = doc[i++];
		name[n] = 0;
		if (n == 0)
			fail("a tag without a name", doc, i);
		if (closing) {
			if (doc[i] != '>' || depth == 0 || strcmp(stack[depth - 1], name) != 0)
				fail("an unbalanced closing tag", doc, i);
			depth--;
			root_closed = depth == 0;
			i++;
			continue;
		}
		for (;;) { /* attributes: name="value" */
			while (doc[i] == ' ' || doc[i] == '\n')
				i++;
			if (doc[i] == '>' || (doc[i] == '/' && doc[i + 1] == '>'))
				break;
			size_t a = 0;
			while (name_char(doc[i]))
				i++, a++;
			if (a == 0 || doc[i] != '=' || doc[i + 1] != '"')
				fail("an attribute not name=\"value\"", doc, i);
			i += 2;
			while (i < len && doc[i] != '"') {
				if (doc[i] == '<' || doc[i] == '>' || doc[i] == '\'')
					fail("raw < > ' in an attribute", doc, i);
				if (doc[i] == '&' && !entity(doc + i))
					fail("& not an entity in an attribute", doc, i);
				i++;
			}
			if (i >= len)
				fail("an unterminated attribute", doc, i);
			i++;
		}
		if (doc[i] == '/') {
			i += 2;
			root_closed = depth == 0;
			continue;
		}
		if (depth == 64)
			fail("elements nested too deep", doc, i);
		snprintf(stack[depth++], sizeof(stack[0]), "%s", name);
		i++;
	}
	if (depth != 0 || !root_closed)
		fail("elements left open", doc, len);
}

static void fill(struct check_report *r, struct fields *f)
{
	static const char *const roles[] = {"parent", "child", "both", "auth", "resolver"};
	next(f, r->target, sizeof(r->target));
	next(f, r->zone, sizeof(r->zone));
	next(f, r->parent, sizeof(r->parent));
	r->queries = (int)(number(f) % 1000);
	r->nservers = (int)(number(f) % 6);
	for (int i = 0; i < r->nservers; i++) {
		struct check_server *s = &r->servers[i];
		snprintf(s->role, sizeof(s->role), "%s", roles[number(f) % 5]);
		next(f, s->zone, sizeof(s->zone));
		next(f, s->ns, sizeof(s->ns));
		next(f, s->addr, sizeof(s->addr));
		uint32_t v = number(f);
		s->ok = v & 1;
		s->tcp = v & 2;
		s->have_serial = v & 4;
		s->rcode = (int)(v % 6);
		s->ttl = number(f);
		s->nanswer = (int)(number(f) % (CHECK_MAXVALUES + 1));
		for (int k = 0; k < s->nanswer; k++)
			next(f, s->answer[k], sizeof(s->answer[k]));
		next(f, s->error, sizeof(s->error));
	}
	r->nsteps = (int)(number(f) % 4);
	for (int i = 0; i < r->nsteps; i++) {
		struct check_step *s = &r->steps[i];
		next(f, s->name, sizeof(s->name));
		next(f, s->target, sizeof(s->target));
		s->ttl = number(f);
		s->nvalues = (int)(number(f) % 3);
		for (int k = 0; k < s->nvalues; k++)
			next(f, s->values[k], sizeof(s->values[k]));
	}
	r->ncaches = (int)(number(f) % 4);
	for (int i = 0; i < r->ncaches; i++) {
		struct check_cached *c = &r->caches[i];
		next(f, c->addr, sizeof(c->addr));
		next(f, c->how, sizeof(c->how));
		uint32_t v = number(f);
		c->ok = v & 1;
		c->negative = v & 2;
		c->agrees = v & 4;
		c->rcode = v & 8 ? 3 : 0;
		c->left = number(f);
		c->nvalues = (int)(number(f) % 3);
		for (int k = 0; k < c->nvalues; k++)
			next(f, c->values[k], sizeof(c->values[k]));
		next(f, c->error, sizeof(c->error));
	}
	r->nhops = (int)(number(f) % 4);
	for (int i = 0; i < r->nhops; i++) {
		struct check_hop *h = &r->hops[i];
		next(f, h->zone, sizeof(h->zone));
		next(f, h->ns, sizeof(h->ns));
		next(f, h->addr, sizeof(h->addr));
		next(f, h->child, sizeof(h->child));
		h->ttl = number(f);
		h->nchild_ns = (int)(number(f) % 3);
		for (int k = 0; k < h->nchild_ns; k++)
			next(f, h->child_ns[k], sizeof(h->child_ns[k]));
	}
	r->soa.have = number(f) & 1;
	r->soa.negative_ttl = number(f);
	r->nfindings = (int)(number(f) % 3);
	for (int i = 0; i < r->nfindings; i++) {
		r->findings[i].severity = (enum check_severity)(number(f) % 3);
		r->findings[i].code = "fuzz";
		next(f, r->findings[i].what, sizeof(r->findings[i].what));
	}
	r->nfailures = (int)(number(f) % 3);
	for (int i = 0; i < r->nfailures; i++)
		next(f, r->failures[i], sizeof(r->failures[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the escape alone, over the raw input (NUL-terminated) */
	char *s = malloc(size + 1), *out = NULL;
	size_t outlen = 0;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	FILE *m = open_memstream(&out, &outlen);
	if (m) {
		check_svg_escape(m, s, size ? data[0] : 0);
		fclose(m);
		for (size_t i = 0; i < outlen; i++)
			if (out[i] == '<' || out[i] == '>' || out[i] == '"' || out[i] == '\'' ||
			    (out[i] == '&' && !entity(out + i)))
				fail("escape left a special character", out, i);
		free(out);
	}
	free(s);

	struct check_report *r = check_report_new("fqdn", "example.");
	if (!r)
		return 0;
	struct fields f = {data, size, 0};
	fill(r, &f);
	size_t len = 0;
	char *doc = check_report_svg(r, (time_t)1700000000, &len);
	if (doc) {
		well_formed(doc, len);
		free(doc);
	}
	check_report_free(r);
	return 0;
}
