/* libFuzzer harness for the control node's reader of a PoP's query counters (GET /pop/v1/usage,
 * src/ternd/api/pops_parse.c: pops_parse_usage()): the input after its first byte is the body a PoP
 * (or anyone answering at its URL) sends; the first byte's low bit says whether the page was asked
 * after a zone (m.test.). Accepted: an epoch of 32 lower-case hex digits, at most POPS_USAGE_PAGE
 * zones with counters up to POPS_USAGE_MAX_COUNT, each lower-cased and strictly after the one
 * before it (and after m.test.) in name_cmp() order, more only with zones; refused: TERN_EINVAL /
 * TERN_ENOMEM, a NUL-terminated message and an empty page; nothing leaked. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/api/pops_parse.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_pop_usage: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const uint8_t after[] = {1, 'm', 4, 't', 'e', 's', 't', 0};
	const uint8_t *from = data[0] & 1 ? after : NULL;
	struct pops_usage_page pg;
	char err[256];
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = 0;
	int rc = pops_parse_usage((const char *)data + 1, size - 1, from, &pg, err, sizeof(err));
	if (rc == 0) {
		if (strlen(pg.epoch) != USAGE_EPOCH_LEN || strspn(pg.epoch, "0123456789abcdef") != USAGE_EPOCH_LEN)
			fail("an epoch that is not 32 lower-case hex digits");
		if (pg.nzones > POPS_USAGE_PAGE)
			fail("more zones than a page holds");
		if (pg.more && !pg.nzones)
			fail("more after an empty page");
		const uint8_t *prev = from;
		for (size_t i = 0; i < pg.nzones; i++) {
			const uint8_t *apex = pg.zones[i].apex;
			if (name_check(apex, NAME_MAXLEN) < 0)
				fail("a zone that is not a well-formed name");
			uint8_t lower[NAME_MAXLEN];
			memcpy(lower, apex, name_len(apex));
			name_lower(lower);
			if (memcmp(lower, apex, name_len(apex)) != 0)
				fail("a zone's name is not lower-cased");
			if (pg.zones[i].queries > POPS_USAGE_MAX_COUNT)
				fail("a counter over the bound");
			if (prev && name_cmp(prev, apex) >= 0)
				fail("a zone not after the one before it");
			prev = apex;
		}
		pops_usage_page_free(&pg);
		return 0;
	}
	if (rc != TERN_EINVAL && rc != TERN_ENOMEM)
		fail("an error other than TERN_EINVAL or TERN_ENOMEM");
	if (pg.zones || pg.nzones || pg.more || pg.epoch[0])
		fail("a refused body left a page behind");
	if (!err[0] || strnlen(err, sizeof(err)) == sizeof(err))
		fail("a refusal without a NUL-terminated message");
	return 0;
}
