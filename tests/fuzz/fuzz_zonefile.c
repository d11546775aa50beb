/* libFuzzer harness for zone-file loading: zonefile_load_string() on arbitrary text for the apex
 * example.com., then the invariants of the snapshot it builds (SOA, apex, index, parents). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

#include "fuzz_zone_check.h"
#include "fuzz_zone_load.h"

static uint8_t apex[NAME_MAXLEN];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_zonefile: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(apex, "example.com.", NULL) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zone *z = NULL;
	char err[4096];
	memset(err, 0x5a, sizeof(err));
	int rc = fuzz_zone_load((const char *)data, size, "fuzz.zone", apex, &z, err, sizeof(err));
	if (memchr(err, 0, sizeof(err)) == NULL)
		fail("error buffer not NUL-terminated");
	if (rc == 0) {
		fuzz_check_zone(z, apex, fail);
		zone_free(z);
		return 0;
	}
	if (z != NULL)
		fail("failure returned a zone");
	if (rc == TERN_EZONE && err[0] == 0)
		fail("TERN_EZONE without a message");
	return 0;
}
