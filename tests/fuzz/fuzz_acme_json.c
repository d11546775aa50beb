/* libFuzzer harness for the readers of an ACME CA's JSON (src/ternd/acme/acme_parse.c): the first
 * byte picks directory, problem, account, order or authorization; the rest is the body. Accepted:
 * every URL passes acme_url_ok(), an order has 1 to ACME_MAX_NAMES authorizations and a certificate
 * URL when valid, an authorization's identifier is a host name, a found http-01 challenge has a
 * token of 22 to 128 base64url characters; problem texts are printable and NUL-terminated; a status
 * names a known state. Refused: a printable NUL-terminated message naming the object, and an order
 * holding no authorizations. Nothing leaked. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/acme/acme_key.h"
#include "ternd/acme/acme_parse.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_acme_json: invariant violated: %s\n", what);
	abort();
}

static bool printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static void check_problem(const struct acme_problem *p)
{
	if (!printable(p->type, sizeof(p->type)) || !printable(p->detail, sizeof(p->detail)))
		fail("a problem's text is not printable and NUL-terminated");
	if (p->status != 0 && (p->status < 100 || p->status > 599))
		fail("a problem's status is not an HTTP status");
}

static void check_status(enum acme_status s)
{
	if (strcmp(acme_status_name(s), "?") == 0)
		fail("a status outside RFC 8555's");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char err[256];
	memset(err, 'x', sizeof(err));
	int rc = 0;
	const char *what = "";
	switch (data[0] % 5) {
	case 0: {
		struct acme_directory d;
		what = "directory";
		rc = acme_parse_directory(text, len, &d, err, sizeof(err));
		if (rc == 0 && (!acme_url_ok(d.new_nonce) || !acme_url_ok(d.new_account) || !acme_url_ok(d.new_order)))
			fail("a directory URL that acme_url_ok() refuses");
		break;
	}
	case 1: {
		struct acme_problem p;
		what = "problem";
		rc = acme_parse_problem(text, len, &p, err, sizeof(err));
		if (rc == 0)
			check_problem(&p);
		break;
	}
	case 2: {
		enum acme_status st;
		what = "account";
		rc = acme_parse_account(text, len, &st, err, sizeof(err));
		if (rc == 0)
			check_status(st);
		break;
	}
	case 3: {
		struct acme_order o;
		what = "order";
		rc = acme_parse_order(text, len, &o, err, sizeof(err));
		if (rc == 0) {
			check_status(o.status);
			if (o.nauthz < 1 || o.nauthz > ACME_MAX_NAMES)
				fail("an order without 1 to ACME_MAX_NAMES authorizations");
			for (size_t i = 0; i < o.nauthz; i++)
				if (!acme_url_ok(o.authorizations[i]))
					fail("an authorization URL that acme_url_ok() refuses");
			if (!acme_url_ok(o.finalize))
				fail("a finalize URL that acme_url_ok() refuses");
			if (o.certificate[0] ? !acme_url_ok(o.certificate) : o.status == ACME_ST_VALID)
				fail("a valid order without a certificate URL, or a bad one");
			if (o.has_error)
				check_problem(&o.error);
		} else if (o.authorizations || o.nauthz) {
			fail("a refused order holds authorizations");
		}
		acme_order_free(&o);
		break;
	}
	default: {
		struct acme_authz a;
		what = "authorization";
		rc = acme_parse_authz(text, len, &a, err, sizeof(err));
		if (rc == 0) {
			check_status(a.status);
			size_t n = strnlen(a.identifier, sizeof(a.identifier));
			if (n == 0 || n == sizeof(a.identifier) || !printable(a.identifier, sizeof(a.identifier)))
				fail("an identifier that is not 1 to 255 printable characters");
			if (a.found) {
				check_status(a.challenge_status);
				size_t t = strnlen(a.token, sizeof(a.token));
				if (t < ACME_TOKEN_MIN || t > ACME_TOKEN_MAX || !acme_b64url_alphabet(a.token, t))
					fail("a token that is not 22 to 128 base64url characters");
				if (!acme_url_ok(a.challenge_url))
					fail("a challenge URL that acme_url_ok() refuses");
				if (a.has_error)
					check_problem(&a.error);
			} else if (a.has_error) {
				fail("an error without a challenge");
			}
		}
		break;
	}
	}
	if (rc != 0) {
		if (rc != TERN_EINVAL && rc != TERN_ENOMEM)
			fail("a refusal that is not TERN_EINVAL or TERN_ENOMEM");
		if (!printable(err, sizeof(err)) || strncmp(err, what, strlen(what)) != 0)
			fail("a refusal's message is not printable, NUL-terminated and naming the object");
	}
	return 0;
}
