/* libFuzzer harness for names: wire_read_name()/wire_skip_rr() on arbitrary messages, and the
 * presentation round trips name_from_text() -> name_to_text() -> name_from_text(). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/wire.h"

/* Longest presentation form: every octet as \DDD plus the dots, and the NUL. */
#define TEXT_MAX (NAME_MAXLEN * 4 + 2)

static uint8_t origin[NAME_MAXLEN];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_name: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(origin, "Example.COM.", NULL) < 0)
		abort();
	return 0;
}

/* Properties every well-formed wire name of length n must have. */
static void check_name(const uint8_t *name, int n)
{
	if (n < 1 || n > NAME_MAXLEN)
		fail("name length out of range");
	if (name_check(name, (size_t)n) != n || name_len(name) != (size_t)n)
		fail("name_check/name_len disagree with the length returned");
	if (name_labels(name) > NAME_MAXLABELS)
		fail("too many labels");

	uint8_t lower[NAME_MAXLEN];
	memcpy(lower, name, (size_t)n);
	name_lower(lower);
	if (!name_equal(name, lower) || name_cmp(name, lower) != 0 || name_hash(name) != name_hash(lower) ||
	    !name_in(name, lower) || !name_in(lower, name))
		fail("case folding changes equality, order or hash");
	uint32_t hashes[NAME_MAXLABELS + 1];
	int labels = name_suffix_hashes(lower, hashes);
	if (labels != name_labels(name))
		fail("name_suffix_hashes label count");
	const uint8_t *suffix = lower;
	for (int i = 0; i <= labels; i++, suffix += *suffix + 1)
		if (hashes[i] != name_hash(suffix))
			fail("name_suffix_hashes differs from name_hash");
	const uint8_t *parent = name_parent(name);
	if (parent && (!name_in(name, parent) || name_cmp(parent, name) >= 0))
		fail("parent not above the name");

	/* wire -> text -> wire gives the same octets (case kept) */
	char text[TEXT_MAX];
	int t = name_to_text(name, text, sizeof(text));
	if (t < 1 || (size_t)t >= sizeof(text) || strlen(text) != (size_t)t || text[t - 1] != '.')
		fail("name_to_text of a valid name failed");
	uint8_t back[NAME_MAXLEN];
	int b = name_from_text(back, text, NULL);
	if (b != n || memcmp(back, name, (size_t)n) != 0) {
		fprintf(stderr, "text: %s\n", text);
		fail("name_to_text then name_from_text is not the identity");
	}
	/* relative to an origin the absolute text must not change either */
	b = name_from_text(back, text, origin);
	if (b != n || memcmp(back, name, (size_t)n) != 0)
		fail("absolute text depends on the origin");

	/* every smaller buffer: an error or a NUL-terminated prefix, never a write past cap */
	for (size_t cap = 0; cap <= (size_t)t + 1; cap += (cap < 8 || cap + 8 > (size_t)t) ? 1 : 7) {
		char *small = malloc(cap ? cap : 1);
		if (!small)
			abort();
		int r = name_to_text(name, small, cap);
		if (r >= 0 && ((size_t)r >= cap || strlen(small) != (size_t)r || memcmp(small, text, (size_t)r + 1)))
			fail("name_to_text into a small buffer");
		free(small);
	}
}

static void read_names(const uint8_t *msg, size_t len, size_t start)
{
	uint8_t name[NAME_MAXLEN];
	size_t pos = start;
	int n = wire_read_name(msg, len, &pos, name);
	if (n < 0) {
		if (pos != start)
			fail("wire_read_name moved pos on failure");
		return;
	}
	if (pos <= start || pos > len)
		fail("wire_read_name left pos outside the message");
	check_name(name, n);
}

static void text_round_trip(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	uint8_t name[NAME_MAXLEN];
	int n = name_from_text(name, text, NULL);
	if (n >= 0)
		check_name(name, n);
	n = name_from_text(name, text, origin);
	if (n >= 0)
		check_name(name, n);
	free(text);
}

/* name_scan() (the question's one-pass reader) agrees with wire_read_name() where nothing before
 * can be pointed at: the same name or the same refusal, the lower-cased copy and its hashes. */
static void scan_name(const uint8_t *msg, size_t len)
{
	uint8_t name[NAME_MAXLEN], lout[NAME_MAXLEN];
	uint32_t hashes[NAME_MAXLABELS + 1], want[NAME_MAXLABELS + 1];
	int labels = -1;
	size_t pos = 0;
	int n = wire_read_name(msg, len, &pos, name), s = name_scan(msg, len, lout, hashes, &labels);
	if (n != (s < 0 ? TERN_EMALF : s) || (s > 0 && memcmp(msg, name, (size_t)s) != 0))
		fail("name_scan differs from wire_read_name");
	if (s < 0)
		return;
	name_lower(name);
	if (memcmp(lout, name, (size_t)s) != 0 || labels != name_suffix_hashes(name, want) ||
	    memcmp(hashes, want, sizeof(hashes[0]) * (size_t)(labels + 1)) != 0)
		fail("name_scan's lower-cased name or hashes");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scan_name(data, size);
	read_names(data, size, 0);
	read_names(data, size, WIRE_HEADER_LEN);
	/* walk as a message: question names then records, as far as they parse */
	size_t pos = WIRE_HEADER_LEN;
	uint8_t name[NAME_MAXLEN];
	if (wire_read_name(data, size, &pos, name) >= 0 && pos + 4 <= size) {
		pos += 4;
		for (int i = 0; i < 64; i++) {
			size_t before = pos, rdpos;
			uint16_t type, rdlen;
			if (wire_skip_rr(data, size, &pos, &type, &rdpos, &rdlen) < 0) {
				if (pos != before)
					fail("wire_skip_rr moved pos on failure");
				break;
			}
			if (pos <= before || pos > size || rdpos + rdlen != pos)
				fail("wire_skip_rr positions inconsistent");
			read_names(data, size, rdpos);
		}
	}
	text_round_trip(data, size);
	return 0;
}
