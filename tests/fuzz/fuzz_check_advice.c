/* libFuzzer harness for tern check's reader of an advice endpoint's answer (check_advice_parse(),
 * src/lib/check_advice.c): the input as the answer's body, read into the full buffer and into one of
 * 1 to 64 octets (the first octet). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check_advice.h"
#include "lib/error.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_check_advice: invariant violated: %s\n", what);
	abort();
}

/* NUL-terminated within cap, valid UTF-8 (shortest form, no surrogates), no control character but
 * '\n' (C0, DEL, C1), no bidi or zero-width character; with trim, no space or newline at the ends. */
static void safe(const char *s, size_t cap, bool trim, const char *what)
{
	const unsigned char *p = (const unsigned char *)s, *end = memchr(s, 0, cap);
	if (!end)
		fail(what);
	size_t n = (size_t)(end - p);
	if (trim && n && (p[0] == ' ' || p[0] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\n'))
		fail(what);
	while (p < end) {
		uint32_t c = 0;
		size_t len = 0;
		if (p[0] < 0x80)
			c = p[0], len = 1;
		else if ((p[0] & 0xe0) == 0xc0)
			c = p[0] & 0x1f, len = 2;
		else if ((p[0] & 0xf0) == 0xe0)
			c = p[0] & 0x0f, len = 3;
		else if ((p[0] & 0xf8) == 0xf0)
			c = p[0] & 0x07, len = 4;
		else
			fail(what);
		if ((size_t)(end - p) < len)
			fail(what);
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				fail(what);
			c = (c << 6) | (p[i] & 0x3f);
		}
		static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
		if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			fail(what);
		if ((c < 0x20 && c != '\n') || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
		    (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff)
			fail(what);
		p += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[CHECK_ADVICE_TEXT];
	char small[65], err[256], err2[256];
	err[0] = err2[0] = 0;
	int rc = check_advice_parse((const char *)data, size, text, sizeof(text), err, sizeof(err));
	if (rc == 0) {
		if (!text[0])
			fail("accepted with no text");
		safe(text, sizeof(text), true, "accepted text not safe for a terminal");
	} else {
		if (rc != TERN_EINVAL || text[0])
			fail("a refusal that is not TERN_EINVAL or that leaves text");
		if (!err[0])
			fail("a refusal without a message");
		safe(err, sizeof(err), false, "refusal message not safe for a terminal");
		if (strchr(err, '\n'))
			fail("refusal message of more than one line");
	}
	size_t cap = size ? 1 + data[0] % 64 : 1;
	int rc2 = check_advice_parse((const char *)data, size, small, cap, err2, sizeof(err2));
	if (rc2 == 0) {
		safe(small, cap, true, "cut text not safe");
		if (rc != 0 || strncmp(small, text, strlen(small)) != 0)
			fail("cut text not a prefix of the whole");
	} else if (!err2[0] || small[0]) {
		fail("a cut refusal without a message or with text");
	}
	if (rc != 0 && rc2 == 0)
		fail("cut accepted, whole refused");
	return 0;
}
