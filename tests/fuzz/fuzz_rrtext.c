/* libFuzzer harness for record text (lib/rrtext.c), the form RDATA takes in the HTTP API and in
 * zone exports: text -> RDATA -> text -> RDATA must be stable, and any RDATA a zone can hold must
 * come back byte for byte from its own text (what an API read followed by a write, or an export
 * followed by a re-import, relies on). RDATA gets in as text only, RFC 3597 "\\# len hex" included. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

#define TEXT_CAP ((size_t)1 << 21)
#define RDATA_CAP 65535

static uint8_t origin[NAME_MAXLEN], owner[NAME_MAXLEN];
static char *text1, *text2;
static uint8_t rd1[RDATA_CAP], rd2[RDATA_CAP];

static const uint16_t types[] = {
    1,  2,  5,  6,  12, 13, 15, 16, 17, 18, 21, 25, 28, 29, 33, 35,    36,    37,    39,    43,   44,  45,
    46, 47, 48, 49, 50, 51, 52, 53, 59, 60, 61, 62, 63, 64, 65, 99,    108,   109,   256,   257,  260, 32768,
    10, 11, 14, 19, 20, 24, 26, 30, 31, 38, 42, 55, 56, 57, 58, 65000, 65535, 65280, 32769, 1234, 255, 41,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void fail(const char *what, uint16_t type, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_rrtext: invariant violated: %s (type %u)\n", what, type);
	if (a)
		fprintf(stderr, "  text:   %s\n", a);
	if (b)
		fprintf(stderr, "  again:  %s\n", b);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(origin, "example.com.", NULL) < 0 || name_from_text(owner, "www.Example.com.", NULL) < 0)
		abort();
	text1 = malloc(TEXT_CAP);
	text2 = malloc(TEXT_CAP);
	if (!text1 || !text2)
		abort();
	return 0;
}

/* RDATA the zone could hold prints as text that parses back to the same bytes. */
static void check_print_parse(uint16_t type, const uint8_t *rd, size_t len, const uint8_t *own)
{
	int n = rrtext_rdata_to_text(type, rd, (uint16_t)len, text1, TEXT_CAP);
	if (n < 0)
		fail("rrtext_rdata_to_text failed on valid RDATA", type, NULL, NULL);
	if ((size_t)n != strlen(text1))
		fail("rrtext_rdata_to_text length differs from the text", type, text1, NULL);
	for (const char *p = text1; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			fail("printed RDATA is not one line", type, text1, NULL);
	size_t len2 = 0;
	char err[512];
	int rc = rrtext_rdata_from_text(origin, own, type, text1, rd2, sizeof(rd2), &len2, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "  error:  %s\n", err);
		fail("printed RDATA does not parse back", type, text1, NULL);
	}
	if (len2 != len || memcmp(rd2, rd, len) != 0) {
		rrtext_rdata_to_text(type, rd2, (uint16_t)len2, text2, TEXT_CAP);
		fail("printed RDATA parses back to other bytes", type, text1, text2);
	}
	/* a buffer one byte short must give TERN_ESPACE, never a cut text */
	char *small = malloc((size_t)n);
	if (!small)
		abort();
	if (rrtext_rdata_to_text(type, rd, (uint16_t)len, small, (size_t)n) != TERN_ESPACE)
		fail("rrtext_rdata_to_text into a too small buffer did not say TERN_ESPACE", type, text1, NULL);
	free(small);
}

static void check_type_text(const uint8_t *data, size_t size)
{
	char t[24];
	size_t n = size < sizeof(t) - 1 ? size : sizeof(t) - 1;
	memcpy(t, data, n);
	t[n] = 0;
	uint16_t type;
	if (rrtext_type_from_text(t, &type) != 0)
		return;
	if (rr_type_is_meta(type))
		fail("a meta type parsed as a data type", type, t, NULL);
	char back[RRTEXT_TYPE_MAXLEN];
	uint16_t again;
	if (rrtext_type_to_text(type, back, sizeof(back)) < 0 || rrtext_type_from_text(back, &again) != 0 ||
	    again != type)
		fail("type text does not round-trip", type, t, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint8_t mode = data[0];
	uint16_t type = (mode & 0x40) ? (uint16_t)(data[1] << 8 | data[2]) : types[data[1] % NTYPES];
	const uint8_t *own = (mode & 0x20) ? owner : NULL;
	data += 3;
	size -= 3;
	if (mode & 0x80) { /* bytes as RDATA, entered as the API takes any RDATA: RFC 3597 "\\# <len> <hex>" */
		if (size > RDATA_CAP)
			return 0;
		char *generic = malloc(16 + 2 * size);
		if (!generic)
			abort();
		int o = snprintf(generic, 16, "\\# %zu ", size);
		for (size_t i = 0; i < size; i++)
			o += snprintf(generic + o, 3, "%02x", data[i]);
		size_t len = 0;
		int rc = rrtext_rdata_from_text(origin, own, type, generic, rd1, sizeof(rd1), &len, NULL, 0);
		if (rc == 0 && (len != size || memcmp(rd1, data, size) != 0))
			fail("RFC 3597 text gives other bytes", type, generic, NULL);
		free(generic);
		if (rc == 0) /* admitted: rd1 is what the zone now holds */
			check_print_parse(type, rd1, len, own);
		return 0;
	}
	if (mode & 0x10) {
		check_type_text(data, size);
		return 0;
	}
	/* text as record text */
	char *text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	size_t len = 0;
	char err[512];
	memset(err, 0x5a, sizeof(err));
	int rc = rrtext_rdata_from_text(origin, own, type, text, rd1, sizeof(rd1), &len, err, sizeof(err));
	if (!memchr(err, 0, sizeof(err)))
		fail("error buffer not NUL-terminated", type, text, NULL);
	if (rc == 0) {
		if (len > sizeof(rd1) || rr_rdata_check(type, rd1, len) < 0)
			fail("parsed RDATA is malformed for its type", type, text, NULL);
		check_print_parse(type, rd1, len, own);
	} else if (rc == TERN_EINVAL && !err[0]) {
		fail("TERN_EINVAL without a message", type, text, NULL);
	}
	free(text);
	return 0;
}
