/* libFuzzer harness for the PostgreSQL store's NOTIFY payload reader (src/ternd/store/
 * store_pg_payload.c): the input is what another process on the database (or anyone who may NOTIFY
 * there) sends on tern_zone. Accepted: a well-formed wire name and a node that, written again,
 * read back the same; refused: nothing written out. Never a read past the payload's end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/name.h"
#include "ternd/store/store_pg_payload.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_pg_payload: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *payload = malloc(size + 1);
	if (!payload)
		return 0;
	memcpy(payload, data, size);
	payload[size] = 0;
	uint64_t node = 0;
	uint8_t apex[NAME_MAXLEN];
	if (pg_payload_read(payload, &node, apex)) {
		size_t n = name_len(apex);
		if (name_check(apex, n) != (int)n)
			fail("an accepted apex is no wire name");
		char again[PG_PAYLOAD_MAX];
		pg_payload_write(node, apex, again);
		uint64_t node2 = 0;
		uint8_t apex2[NAME_MAXLEN];
		if (!pg_payload_read(again, &node2, apex2))
			fail("a payload written is not read back");
		if (node2 != node || name_len(apex2) != n || memcmp(apex, apex2, n) != 0)
			fail("a payload written reads back otherwise");
	}
	free(payload);
	return 0;
}
