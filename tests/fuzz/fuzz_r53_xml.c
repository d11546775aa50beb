/* libFuzzer harness for the Route 53 API's request parsers: the input as a request body through
 * r53_xml_parse() (expat, bounded) and, when it parses, r53_read_create(), r53_read_batch() and
 * r53_read_tags(); the input as an Authorization header through r53_sigv4_parse(); every element
 * text through r53_xml_escape(). Accepted: a tree within the depth and element limits, texts
 * NUL-terminated at their length; a create with a name and caller reference within their bounds;
 * a batch of 1 to R53_MAX_CHANGES changes, each a known action, a TTL absent or 0 to 2^31-1, 0 to
 * R53_MAX_VALUES non-empty values; tags within R53_MAX_TAGS with non-empty keys; a header with a
 * credential of five parts and a 64-digit lower-case signature. Refused: TERN_EINVAL (or
 * TERN_ENOMEM) with a NUL-terminated message, nothing left. Escaped text holds none of < > " ' and
 * & only as an entity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/api/r53_sigv4.h"
#include "ternd/api/r53_xml.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_r53_xml: invariant violated: %s\n", what);
	abort();
}

static void check_err(int rc, const char *err, size_t cap)
{
	if (rc != TERN_EINVAL && rc != TERN_ENOMEM)
		fail("a refusal that is not TERN_EINVAL or TERN_ENOMEM");
	if (!memchr(err, 0, cap) || !err[0])
		fail("a refusal without a NUL-terminated message");
}

static void check_escaped(const char *s)
{
	struct text t = {0};
	r53_xml_escape(&t, s);
	if (t.nomem) {
		text_free(&t);
		return;
	}
	for (size_t i = 0; t.s && i < t.len; i++) {
		char c = t.s[i];
		if (c == '<' || c == '>' || c == '"' || c == '\'')
			fail("a raw < > \" or ' in escaped text");
		if (c == '&' && strncmp(t.s + i, "&amp;", 5) && strncmp(t.s + i, "&lt;", 4) &&
		    strncmp(t.s + i, "&gt;", 4) && strncmp(t.s + i, "&quot;", 6) && strncmp(t.s + i, "&apos;", 6))
			fail("a raw & in escaped text");
		if ((unsigned char)c < 0x20 && c != '\t' && c != '\n')
			fail("a control character in escaped text");
	}
	text_free(&t);
}

static size_t walk(const struct r53_node *n, int depth)
{
	size_t count = 0;
	for (; n; n = n->next) {
		if (depth >= R53_XML_MAX_DEPTH)
			fail("a tree deeper than the limit");
		if (!n->name || !n->text || n->text[n->text_len] != 0 || n->text_len > R53_XML_MAX_TEXT)
			fail("an element without a name or a terminated text within the limit");
		check_escaped(n->text);
		count += 1 + walk(n->child, depth + 1);
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct r53_node *doc = NULL;
	memset(err, 0x55, sizeof(err));
	int rc = r53_xml_parse((const char *)data, size, &doc, err, sizeof(err));
	if (rc < 0) {
		check_err(rc, err, sizeof(err));
		if (doc)
			fail("a tree left after a refusal");
	} else {
		if (!doc)
			fail("no tree after success");
		if (walk(doc, 0) > R53_XML_MAX_NODES)
			fail("more elements than the limit");
		struct r53_create cr;
		memset(err, 0x55, sizeof(err));
		rc = r53_read_create(doc, &cr, err, sizeof(err));
		if (rc < 0)
			check_err(rc, err, sizeof(err));
		else if (!cr.name[0] || !cr.caller_ref[0] || strlen(cr.caller_ref) > R53_REF_MAX ||
		         strlen(cr.comment) > R53_COMMENT_MAX)
			fail("a create without its name or caller reference, or over a bound");
		struct r53_batch b;
		memset(err, 0x55, sizeof(err));
		rc = r53_read_batch(doc, &b, err, sizeof(err));
		if (rc < 0) {
			check_err(rc, err, sizeof(err));
			if (b.changes || b.n)
				fail("a batch left after a refusal");
		} else {
			if (b.n < 1 || b.n > R53_MAX_CHANGES)
				fail("a batch of 0 or too many changes");
			for (size_t i = 0; i < b.n; i++) {
				const struct r53_change *c = &b.changes[i];
				if (c->action != R53_CREATE && c->action != R53_DELETE && c->action != R53_UPSERT)
					fail("an unknown action");
				if (c->ttl < -1 || c->ttl > 2147483647)
					fail("a TTL out of range");
				if (!c->name[0] || !c->type[0] || c->nvalues > R53_MAX_VALUES)
					fail("a change without name or type, or with too many values");
				for (size_t k = 0; k < c->nvalues; k++)
					if (!c->values[k] || !c->values[k][0])
						fail("an empty value");
			}
			r53_batch_free(&b);
		}
		struct r53_tag_change *tc = malloc(sizeof(*tc));
		if (tc) {
			memset(err, 0x55, sizeof(err));
			rc = r53_read_tags(doc, tc, err, sizeof(err));
			if (rc < 0)
				check_err(rc, err, sizeof(err));
			else if (tc->nadd > R53_MAX_TAGS || tc->nremove > R53_MAX_TAGS)
				fail("more tags than the limit");
			for (size_t i = 0; rc == 0 && i < tc->nadd; i++)
				if (!tc->add[i].key[0])
					fail("a tag without a key");
			free(tc);
		}
		r53_xml_free(doc);
	}
	/* the input as an Authorization header */
	char *h = malloc(size + 1);
	if (!h)
		return 0;
	memcpy(h, data, size);
	h[size] = 0;
	struct r53_sigv4 s;
	memset(err, 0x55, sizeof(err));
	rc = r53_sigv4_parse(h, &s, err, sizeof(err));
	if (rc < 0) {
		check_err(rc, err, sizeof(err));
	} else if (!s.akid[0] || strlen(s.date) != 8 || !s.region[0] || !s.service[0] || strlen(s.signature) != 64 ||
	           strspn(s.signature, "0123456789abcdef") != 64) {
		fail("an accepted header with a bad credential or signature");
	}
	free(h);
	return 0;
}
