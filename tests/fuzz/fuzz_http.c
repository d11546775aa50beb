/* libFuzzer harness for the API's HTTP/1.1 request parser (src/ternd/http/http_parse.c): the input
 * is what a client sends on one connection, requests one after another. Each head and body is
 * parsed as it arrives in pieces and again all at once: both must agree; what is accepted must be
 * well formed, what is refused must have a 4xx/5xx status and a message that makes a JSON error. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternd/http/http.h"
#include "ternd/http/http_parse.h"

#define MAX_BODY 4096

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_http: invariant violated: %s\n", what);
	abort();
}

/* A refusal: a known status, a message, and a JSON error made of it. */
static void check_refusal(int status, const char *err)
{
	if (status != 400 && status != 413 && status != 417 && status != 431 && status != 500 && status != 501 &&
	    status != 505)
		fail("refused with an unexpected status");
	if (!err[0])
		fail("refused without a message");
	struct http_response res = {0};
	http_error(&res, status, NULL, "%s", err);
	json_t *j = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
	if (!j)
		fail("the error body is not JSON");
	json_decref(j);
	free(res.body);
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static void check_head(const struct http_head *h, ssize_t n, size_t len)
{
	if ((size_t)n > len || (size_t)n > HTTP_MAX_HEAD)
		fail("head longer than the input or the limit");
	if (!h->method || !is_token(h->method))
		fail("method not a token");
	if (!h->path || h->path[0] != '/' || !h->target || h->target[0] != '/')
		fail("path not starting with /");
	if (h->minor != 0 && h->minor != 1)
		fail("version not 1.0 or 1.1");
	if (h->nfields > HTTP_MAX_FIELDS || h->nargs > HTTP_MAX_ARGS)
		fail("more fields or arguments than the limits");
	for (size_t i = 0; i < h->nfields; i++) {
		if (!is_token(h->fields[i].name))
			fail("field name not a token");
		const char *v = h->fields[i].value;
		size_t vl = strlen(v);
		if (vl && (v[0] == ' ' || v[0] == '\t' || v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			fail("field value not trimmed");
		if (strchr(v, '\r') || strchr(v, '\n'))
			fail("CR or LF in a field value");
		if (http_head_field(h, h->fields[i].name) == NULL)
			fail("a field not found by its name");
	}
	if (h->chunked && h->content_length)
		fail("chunked with a Content-Length");
	if (h->content_length > MAX_BODY)
		fail("Content-Length over the limit accepted");
}

/* Parses one head from in[0..len) fed in pieces of step bytes; returns what the last call did. */
static ssize_t head_in_pieces(const uint8_t *in, size_t len, size_t step, struct http_head *h, int *status, char *err,
                              size_t errlen)
{
	size_t scan = 0, have = 0;
	for (;;) {
		have = have + step < len ? have + step : len;
		ssize_t n =
		    http_parse_head((const char *)in, have, &scan, HTTP_MAX_HEAD, MAX_BODY, h, status, err, errlen);
		if (n != 0 || have == len)
			return n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 16) + 1;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	for (int requests = 0; requests < 16 && len; requests++) {
		struct http_head whole, pieces;
		int st1 = 0, st2 = 0;
		char e1[256] = "", e2[256] = "";
		size_t scan = 0;
		ssize_t n1 = http_parse_head((const char *)in, len, &scan, HTTP_MAX_HEAD, MAX_BODY, &whole, &st1, e1,
		                             sizeof(e1));
		ssize_t n2 = head_in_pieces(in, len, step, &pieces, &st2, e2, sizeof(e2));
		if (n1 != n2 || (n1 < 0 && (st1 != st2 || strcmp(e1, e2) != 0)))
			fail("the head parsed whole and in pieces differ");
		if (n2 > 0)
			http_head_free(&pieces);
		if (n1 < 0) {
			check_refusal(st1, e1);
			return 0;
		}
		if (n1 == 0)
			return 0;
		check_head(&whole, n1, len);
		in += n1;
		len -= (size_t)n1;
		/* the body, in pieces and whole */
		struct http_body b1, b2;
		if (http_body_init(&b1, &whole, MAX_BODY) < 0 || http_body_init(&b2, &whole, MAX_BODY) < 0)
			abort();
		ssize_t k1 = http_body_feed(&b1, (const char *)in, len, &st1, e1, sizeof(e1));
		ssize_t k2 = 0;
		for (size_t off = 0; off < len && !b2.done;) {
			size_t n = len - off < step ? len - off : step;
			ssize_t k = http_body_feed(&b2, (const char *)in + off, n, &st2, e2, sizeof(e2));
			if (k < 0) {
				k2 = k;
				break;
			}
			off += (size_t)k;
			k2 = (ssize_t)off;
			if ((size_t)k < n)
				break;
		}
		if ((k1 < 0) != (k2 < 0) || (k1 >= 0 && (k1 != k2 || b1.done != b2.done || b1.len != b2.len ||
		                                         memcmp(b1.data, b2.data, b1.len) != 0)))
			fail("the body fed whole and in pieces differ");
		if (k1 < 0)
			check_refusal(st1, e1);
		else if (b1.len > MAX_BODY || (size_t)k1 > len || (b1.done && b1.data[b1.len] != 0))
			fail("body over its limit, past its input, or not NUL-terminated");
		bool done = k1 >= 0 && b1.done;
		http_body_free(&b1);
		http_body_free(&b2);
		http_head_free(&whole);
		if (!done)
			return 0;
		in += k1;
		len -= (size_t)k1;
	}
	return 0;
}
