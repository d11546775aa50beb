/* Unit tests for the API's HTTP/1.1 request parser (src/ternd/http/http_parse.c): heads fed whole
 * and byte by byte, every refusal with its status and message, bodies by length and chunked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/http/http_parse.h"

#define MAX_BODY 1000

/* Parses text as one head; returns what http_parse_head() returns. */
static ssize_t parse(const char *text, struct http_head *h, int *status, char *err, size_t errlen)
{
	size_t scan = 0;
	return http_parse_head(text, strlen(text), &scan, HTTP_MAX_HEAD, MAX_BODY, h, status, err, errlen);
}

/* text must be refused with status and a message containing what. */
static void refused(const char *text, int status, const char *what)
{
	struct http_head h;
	int st = 0;
	char err[256] = "";
	ssize_t n = parse(text, &h, &st, err, sizeof(err));
	if (n >= 0 || st != status || !strstr(err, what)) {
		print_error("%s: got %zd, status %d, \"%s\"; expected %d \"%s\"\n", text, n, st, err, status, what);
		fail();
	}
}

static void test_simple_get(void **state)
{
	(void)state;
	const char *t = "GET /api/v1/zones?limit=10&cursor=a%2Eb+c&flag HTTP/1.1\r\nHost: x\r\n"
	                "authorization:  Bearer abc  \r\nX-Empty:\r\n\r\nNEXT";
	struct http_head h;
	int st = 0;
	char err[256];
	ssize_t n = parse(t, &h, &st, err, sizeof(err));
	assert_int_equal(n, (ssize_t)(strstr(t, "NEXT") - t));
	assert_string_equal(h.method, "GET");
	assert_string_equal(h.path, "/api/v1/zones");
	assert_int_equal(h.minor, 1);
	assert_true(h.keep_alive);
	assert_false(h.chunked);
	assert_string_equal(http_head_field(&h, "AUTHORIZATION"), "Bearer abc");
	assert_string_equal(http_head_field(&h, "x-empty"), "");
	assert_null(http_head_field(&h, "Cookie"));
	assert_string_equal(http_head_arg(&h, "limit"), "10");
	assert_string_equal(http_head_arg(&h, "cursor"), "a.b c");
	assert_string_equal(http_head_arg(&h, "flag"), "");
	assert_null(http_head_arg(&h, "nothing"));
	http_head_free(&h);
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	const char *t = "\r\nPOST /x/%E9y HTTP/1.0\nConnection: keep-alive\nContent-Length: 5\n\nhello";
	size_t len = strlen(t), scan = 0, end = (size_t)(strstr(t, "hello") - t);
	struct http_head h;
	int st = 0;
	char err[256];
	for (size_t i = 0; i < end; i++)
		assert_int_equal(http_parse_head(t, i, &scan, HTTP_MAX_HEAD, MAX_BODY, &h, &st, err, sizeof(err)), 0);
	assert_int_equal(http_parse_head(t, len, &scan, HTTP_MAX_HEAD, MAX_BODY, &h, &st, err, sizeof(err)),
	                 (ssize_t)end);
	assert_string_equal(h.method, "POST");
	assert_string_equal(h.path, "/x/\xe9y");
	assert_int_equal(h.minor, 0);
	assert_true(h.keep_alive);
	assert_int_equal(h.content_length, 5);
	struct http_body b;
	assert_int_equal(http_body_init(&b, &h, MAX_BODY), 0);
	for (size_t i = end; i < len; i++) {
		assert_false(b.done);
		assert_int_equal(http_body_feed(&b, t + i, 1, &st, err, sizeof(err)), 1);
	}
	assert_true(b.done);
	assert_string_equal(b.data, "hello");
	assert_int_equal(http_body_feed(&b, "more", 4, &st, err, sizeof(err)), 0); /* the next request's */
	http_body_free(&b);
	http_head_free(&h);
}

static void test_connection_semantics(void **state)
{
	(void)state;
	struct http_head h;
	int st;
	char err[256];
	assert_true(parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n", &h, &st, err, sizeof(err)) >
	            0);
	assert_false(h.keep_alive);
	http_head_free(&h);
	assert_true(parse("GET / HTTP/1.0\r\n\r\n", &h, &st, err, sizeof(err)) > 0); /* 1.0 needs no Host */
	assert_false(h.keep_alive);
	http_head_free(&h);
	assert_true(parse("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &h, &st,
	                  err, sizeof(err)) > 0);
	assert_true(h.expect_continue);
	http_head_free(&h);
	assert_true(parse("GET / HTTP/1.2\r\nHost: x\r\n\r\n", &h, &st, err, sizeof(err)) > 0); /* answered as 1.1 */
	assert_int_equal(h.minor, 1);
	assert_true(h.keep_alive);
	http_head_free(&h);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("GET / HTTP/1.1\r\n\r\n", 400, "no Host");
	refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one Host");
	refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "2.0");
	refused("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400, "version");
	refused("GET /\r\nHost: a\r\n\r\n", 400, "no request target");
	refused(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "no method");
	refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method");
	refused("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "no request target");
	refused("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "is not a path");
	refused("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent-encoding in the path");
	refused("GET /a%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent-encoding in the path");
	refused("GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent-encoding in the path");
	refused("GET /?a=%g1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "percent-encoding in the query");
	refused("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "byte 0x7f");
	refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, "folded");
	refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "field name");
	refused("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "bad header field");
	refused("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400, "control byte 0x01");
	refused("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "CR without LF");
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", 400, "bad Content-Length");
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "bad Content-Length");
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, "bad Content-Length");
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "two different");
	refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", 413, "larger than 1000 bytes");
	refused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "gzip is not supported");
	refused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "not supported");
	refused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
	        "both Content-Length and Transfer-Encoding");
	refused("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
	refused("GET / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n", 417, "magic");
	static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	struct http_head h;
	int st = 0;
	char err[256];
	size_t scan = 0;
	assert_true(http_parse_head(nul, sizeof(nul) - 1, &scan, HTTP_MAX_HEAD, MAX_BODY, &h, &st, err, sizeof(err)) <
	            0);
	assert_int_equal(st, 400);
	assert_non_null(strstr(err, "NUL"));
}

static void test_limits(void **state)
{
	(void)state;
	char *big = malloc(HTTP_MAX_HEAD + 100);
	assert_non_null(big);
	int n = snprintf(big, HTTP_MAX_HEAD + 100, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	memset(big + n, 'a', HTTP_MAX_HEAD + 100 - (size_t)n);
	struct http_head h;
	int st = 0;
	char err[256];
	size_t scan = 0;
	/* no end of the head within the limit: 431 as soon as the limit is reached */
	assert_int_equal(
	    http_parse_head(big, HTTP_MAX_HEAD - 1, &scan, HTTP_MAX_HEAD, MAX_BODY, &h, &st, err, sizeof(err)), 0);
	assert_true(http_parse_head(big, HTTP_MAX_HEAD, &scan, HTTP_MAX_HEAD, MAX_BODY, &h, &st, err, sizeof(err)) < 0);
	assert_int_equal(st, 431);
	assert_non_null(strstr(err, "larger than 16384 bytes"));
	free(big);
	/* too many fields */
	char many[4096];
	n = snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTP_MAX_FIELDS; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, "X%d: %d\r\n", i, i);
	snprintf(many + n, sizeof(many) - (size_t)n, "\r\n");
	refused(many, 431, "more than 64 header fields");
	/* too many query arguments */
	n = snprintf(many, sizeof(many), "GET /?");
	for (int i = 0; i <= HTTP_MAX_ARGS; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, "a%d=%d&", i, i);
	snprintf(many + n, sizeof(many) - (size_t)n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	refused(many, 400, "more than 32 query arguments");
}

/* Feeds text as a chunked body in pieces of step bytes; returns 0 when the body is complete (out
 * is the body, *used the bytes it took), 1 when it needs more, or the refusal's status (out is the
 * message). */
static int chunked(const char *text, size_t step, char *out, size_t outlen, size_t *used)
{
	struct http_head h = {.chunked = true};
	struct http_body b;
	assert_int_equal(http_body_init(&b, &h, MAX_BODY), 0);
	size_t len = strlen(text), i = 0;
	int st = 0;
	char err[256] = "";
	while (i < len && !b.done) {
		size_t n = len - i < step ? len - i : step;
		ssize_t k = http_body_feed(&b, text + i, n, &st, err, sizeof(err));
		if (k < 0) {
			snprintf(out, outlen, "%s", err);
			http_body_free(&b);
			return st;
		}
		i += (size_t)k;
		if ((size_t)k < n)
			break;
	}
	*used = i;
	bool done = b.done;
	snprintf(out, outlen, "%s", done ? b.data : "(incomplete)");
	http_body_free(&b);
	return done ? 0 : 1;
}

static void test_chunked(void **state)
{
	(void)state;
	char out[2048];
	size_t used;
	const char *t = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
	for (size_t step = 1; step < 10; step++) {
		assert_int_equal(chunked(t, step, out, sizeof(out), &used), 0);
		assert_string_equal(out, "hello world");
		assert_int_equal(used, strstr(t, "NEXT") - t);
	}
	assert_int_equal(chunked("A\nabcdefghij\n0\n\n", 3, out, sizeof(out), &used), 0);
	assert_string_equal(out, "abcdefghij");
	assert_int_equal(chunked("5\r\nhello", 2, out, sizeof(out), &used), 1);
	assert_int_equal(chunked("\r\n", 1, out, sizeof(out), &used), 400);
	assert_non_null(strstr(out, "chunk without a size"));
	assert_int_equal(chunked("5x\r\n", 1, out, sizeof(out), &used), 400);
	assert_non_null(strstr(out, "bad chunk size"));
	assert_int_equal(chunked("3\r\nabcd\r\n", 1, out, sizeof(out), &used), 400);
	assert_non_null(strstr(out, "longer than its size"));
	assert_int_equal(chunked("3E9\r\n", 1, out, sizeof(out), &used), 413); /* 1001 > MAX_BODY */
	assert_int_equal(chunked("1F4\r\n", 1, out, sizeof(out), &used), 1); /* 500: fine so far */
	assert_int_equal(chunked("ffffffffffffffffff\r\n", 1, out, sizeof(out), &used), 413);
	char big[1200];
	int n = snprintf(big, sizeof(big), "1F4\r\n");
	memset(big + n, 'x', 500);
	n += 500;
	n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n1F5\r\n");
	assert_int_equal(chunked(big, 7, out, sizeof(out), &used), 413); /* 500 + 501 */
	char longline[400];
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "1;", 2);
	longline[sizeof(longline) - 1] = 0;
	assert_int_equal(chunked(longline, 50, out, sizeof(out), &used), 400);
	assert_non_null(strstr(out, "chunk size line longer"));
	assert_int_equal(chunked("0\r\nX: 1\r\r\n", 1, out, sizeof(out), &used), 1); /* CR CR LF: a trailer line */
	assert_int_equal(chunked("0\r\n\rX", 1, out, sizeof(out), &used), 400);
	assert_non_null(strstr(out, "CR without LF"));
}

/* A route's own bound, checked once the head is parsed under the server's largest one: the
 * announced length against it (413 naming it), and a chunked body cut at it. */
static void test_route_body_bound(void **state)
{
	(void)state;
	struct http_head h;
	int st = 0;
	char err[256] = "";
	assert_true(parse("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", &h, &st, err, sizeof(err)) >
	            0);
	assert_int_equal(http_head_check_body(&h, 1000, &st, err, sizeof(err)), 0);
	assert_int_equal(http_head_check_body(&h, 999, &st, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(st, 413);
	assert_non_null(strstr(err, "larger than 999 bytes"));
	http_head_free(&h);
	assert_true(
	    parse("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &st, err, sizeof(err)) > 0);
	assert_int_equal(http_head_check_body(&h, 10, &st, err, sizeof(err)), 0); /* no length announced */
	struct http_body b;
	assert_int_equal(http_body_init(&b, &h, 10), 0);
	const char *in = "a\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n";
	assert_int_equal(http_body_feed(&b, in, 15, &st, err, sizeof(err)), 15);
	assert_true(http_body_feed(&b, in + 15, strlen(in) - 15, &st, err, sizeof(err)) < 0);
	assert_int_equal(st, 413);
	assert_non_null(strstr(err, "larger than 10 bytes"));
	http_body_free(&b);
	http_head_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_connection_semantics),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_route_body_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
