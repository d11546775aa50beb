/* libFuzzer harness for lib/update (RFC 2136): update_parse() on the input as an UPDATE message;
 * a message read is judged against a fixed zone (update_check) and its updates turned into RRsets
 * (update_changes) that zone_apply() takes or refuses by the zone's rules, never crashing. A
 * refusal is a known RCODE with a reason; the changes stay inside the zone, one per (owner, type). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/update.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

static const char ZONE[] = "$ORIGIN example.test.\n"
                           "@ 3600 IN SOA ns1 hostmaster 100 7200 900 1209600 300\n"
                           "@ 3600 IN NS ns1\n"
                           "@ 3600 IN NS ns2\n"
                           "ns1 3600 IN A 192.0.2.1\n"
                           "ns2 3600 IN A 192.0.2.2\n"
                           "www 300 IN A 192.0.2.10\n"
                           "www 300 IN A 192.0.2.11\n"
                           "alias 300 IN CNAME www\n"
                           "txt 60 IN TXT \"one\"\n"
                           "sub 300 IN NS ns.sub\n"
                           "ns.sub 300 IN A 192.0.2.53\n";

static struct zone *zone;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_update: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	uint8_t apex[NAME_MAXLEN];
	char err[256];
	if (name_from_text(apex, "example.test.", NULL) < 0 ||
	    zonefile_load_string(ZONE, strlen(ZONE), "fuzz", apex, &zone, err, sizeof(err)) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct update u;
	char err[256];
	memset(err, 0x5a, sizeof(err));
	err[0] = 0;
	int rc = update_parse(data, size, 64, &u, err, sizeof(err));
	if (rc != 0) {
		if (rc != UPDATE_FORMERR && rc != UPDATE_NOTZONE && rc != UPDATE_REFUSED && rc != UPDATE_NOTAUTH &&
		    rc != UPDATE_SERVFAIL)
			fail("a refusal with an unexpected RCODE");
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			fail("a refusal without a reason");
		return 0;
	}
	if (u.nprereq + u.nupd > 64)
		fail("more records than allowed");
	if (!name_equal(u.zone, zone->apex)) {
		update_free(&u);
		return 0; /* the server answers NOTAUTH for a zone it does not serve */
	}
	rc = update_check(zone, &u, err, sizeof(err));
	if (rc != 0 && rc != UPDATE_NXDOMAIN && rc != UPDATE_YXDOMAIN && rc != UPDATE_NXRRSET && rc != UPDATE_YXRRSET)
		fail("a prerequisite failure with an unexpected RCODE");
	struct zone_change *ch = NULL;
	size_t n = 0;
	rc = update_changes(zone, &u, &ch, &n);
	if (rc == TERN_ENOMEM || rc == TERN_ESPACE) {
		update_free(&u);
		return 0;
	}
	if (rc != 0)
		fail("update_changes failed otherwise");
	for (size_t i = 0; i < n; i++) {
		if (!name_in(ch[i].owner, zone->apex))
			fail("a change outside the zone");
		for (size_t k = 0; k < i; k++)
			if (ch[k].type == ch[i].type && name_equal(ch[k].owner, ch[i].owner))
				fail("two changes of one RRset");
	}
	struct zone *next = NULL;
	struct zone_apply_error e;
	if (zone_apply(zone, ch, n, &next, &e) == 0)
		zone_discard(next);
	else if (e.code != TERN_EZONE && e.code != TERN_ENOMEM)
		fail("zone_apply failed for a reason other than the zone's rules");
	update_changes_free(ch, n);
	update_free(&u);
	return 0;
}
