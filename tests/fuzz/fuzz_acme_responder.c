/* libFuzzer harness for the http-01 responder (src/ternd/acme/acme_responder.c): the input is what
 * a client sends on one connection, fed to acme_responder_request() whole and in pieces (the first
 * byte picks a piece size of 1 to 16), as acme_listen.c feeds it. Checked: the pieces decide once
 * and as the whole does; a status of 200, 400, 404, 405, 414 or 431; a 200 only for GET or HEAD of
 * the challenge path with a token of 22 to 128 base64url characters, its body that token "."
 * the thumbprint; any other body one of the fixed texts (nothing of the input); the formatted
 * reply fits 512 bytes, has no body for HEAD and Allow for 405. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternd/acme/acme_responder.h"

static const char thumb[] = "ET8BG5wpIIzycvBJaiMwIcrZZYw-KoVQqH60m-s44CA";

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_acme_responder: invariant violated: %s\n", what);
	abort();
}

static bool fixed_text(const char *s)
{
	static const char *const texts[] = {"bad request\n", "not found\n", "method not allowed\n", "URI too long\n",
	                                    "request head too large\n"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(s, texts[i]) == 0)
			return true;
	return false;
}

static void check_reply(const struct acme_reply *r, const char *in, size_t len)
{
	switch (r->status) {
	case 200:
	case 400:
	case 404:
	case 405:
	case 414:
	case 431: break;
	default: fail("a status the responder does not send");
	}
	if (r->body_len != strlen(r->body))
		fail("body_len is not the body's length");
	if (r->status != 200 && !fixed_text(r->body))
		fail("a refusal's body is not a fixed text");
	if (r->status == 200) {
		const char *dot = strrchr(r->body, '.');
		if (!dot || strcmp(dot + 1, thumb) != 0)
			fail("a 200's body does not end in .thumbprint");
		size_t tlen = (size_t)(dot - r->body);
		if (tlen < ACME_TOKEN_MIN || tlen > ACME_TOKEN_MAX || !acme_b64url_alphabet(r->body, tlen))
			fail("a 200 for a token that is not 22 to 128 base64url characters");
		/* the request line is METHOD SP [http://host]/.well-known/acme-challenge/TOKEN SP HTTP/1.x */
		size_t m = r->head ? 5 : 4;
		if (len < m || memcmp(in, r->head ? "HEAD " : "GET ", m) != 0)
			fail("a 200 for a method other than GET and HEAD");
		char want[ACME_TOKEN_MAX + 64];
		snprintf(want, sizeof(want), "%s%.*s HTTP/1.", ACME_CHALLENGE_PREFIX, (int)tlen, r->body);
		const char *lf = memchr(in, '\n', len);
		size_t line = lf ? (size_t)(lf - in) : len;
		bool found = memmem(in, line, want, strlen(want)) != NULL;
		if (!found)
			fail("a 200's token is not the request line's");
	}
	char out[512];
	size_t n = acme_reply_format(r, out, sizeof(out));
	if (n == 0 || n >= sizeof(out) - 1)
		fail("the reply does not fit 512 bytes");
	if (r->head && (n < 4 || memcmp(out + n - 4, "\r\n\r\n", 4) != 0))
		fail("a body after a HEAD reply");
	if ((r->status == 405) != (strstr(out, "\r\nAllow: GET, HEAD\r\n") != NULL))
		fail("Allow is not exactly on 405");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 15) + 1;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	if (len > ACME_RESPONDER_HEAD_MAX)
		len = ACME_RESPONDER_HEAD_MAX; /* the listener's buffer holds no more */
	struct acme_reply whole, part;
	bool decided = acme_responder_request(thumb, in, len, &whole);
	if (decided)
		check_reply(&whole, in, len);
	else if (len == ACME_RESPONDER_HEAD_MAX)
		fail("a full head left undecided");
	/* in pieces: the first length that decides gives the same reply */
	for (size_t have = 0; have < len;) {
		have = have + piece > len ? len : have + piece;
		if (acme_responder_request(thumb, in, have, &part)) {
			if (!decided)
				fail("a prefix decided what the whole did not");
			check_reply(&part, in, have);
			if (part.status != whole.status)
				fail("a prefix decided another status than the whole");
			break;
		}
		if (have == len && decided)
			fail("the whole decided but its pieces did not");
	}
	/* the request line alone, whatever its length */
	const char *lf = memchr(in, '\n', len);
	acme_responder_answer(thumb, in, lf ? (size_t)(lf - in) : len, &part);
	check_reply(&part, in, len);
	return 0;
}
