/* libFuzzer harness for the control node's reader of a PoP's /healthz (src/ternd/api/pops_parse.c):
 * the input is the body a PoP (or anyone answering at its URL) sends. Accepted: every zone a
 * lower-cased name with a printable state, monitor counts as given, at most POPS_MAX_MEMBERS
 * members, each with an address that parses back to itself, a state of the three, a printable
 * last result shorter than its buffer and a spec among the report's (printable, at most
 * POPS_MAX_SPEC octets); refused: a printable message and an empty report; nothing leaked. */
#include <arpa/inet.h>
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
	fprintf(stderr, "fuzz_pops: invariant violated: %s\n", what);
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

static void check_report(const struct pops_report *r)
{
	for (size_t i = 0; i < r->nzones; i++) {
		const struct pops_zone *z = &r->zones[i];
		uint8_t lower[NAME_MAXLEN];
		memcpy(lower, z->apex, name_len(z->apex));
		name_lower(lower);
		if (memcmp(lower, z->apex, name_len(z->apex)) != 0)
			fail("a zone's name is not lower-cased");
		if (!printable(z->state, sizeof(z->state))) /* "" when the PoP says "" */
			fail("a zone's state is not printable text");
	}
	if (!r->monitors && (r->members_listed || r->nmembers || r->nspecs))
		fail("members without monitors");
	if (!r->members_listed && (r->nmembers || r->nspecs))
		fail("members not listed yet kept");
	if (r->nmembers > POPS_MAX_MEMBERS)
		fail("more members than the bound");
	for (size_t i = 0; i < r->nspecs; i++)
		if (!r->specs[i] || !printable(r->specs[i], POPS_MAX_SPEC + 1) || !r->specs[i][0])
			fail("a spec is not printable text of 1 to POPS_MAX_SPEC octets");
	for (size_t i = 0; i < r->nmembers; i++) {
		const struct pops_member *m = &r->members[i];
		bool found = false;
		for (size_t j = 0; j < r->nspecs && !found; j++)
			found = m->monitor == r->specs[j];
		if (!found)
			fail("a member's monitor is not one of the report's specs");
		uint8_t bin[16];
		char back[INET6_ADDRSTRLEN];
		int family = strchr(m->address, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(family, m->address, bin) != 1 || !inet_ntop(family, bin, back, sizeof(back)) ||
		    strcmp(back, m->address) != 0)
			fail("a member's address is not canonical text");
		if (m->state != POPS_MON_UP && m->state != POPS_MON_DOWN && m->state != POPS_MON_UNKNOWN)
			fail("a member's state is not one of the three");
		if (m->last_check < 0 || !printable(m->last_result, sizeof(m->last_result)))
			fail("a member's last check or result is out of bounds");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pops_report r;
	char err[256];
	memset(err, 'x', sizeof(err));
	err[sizeof(err) - 1] = 0;
	int rc = pops_parse_healthz((const char *)data, size, &r, err, sizeof(err));
	if (rc == 0) {
		check_report(&r);
		pops_report_free(&r);
		return 0;
	}
	if (rc != TERN_EINVAL && rc != TERN_ENOMEM)
		fail("an error other than TERN_EINVAL or TERN_ENOMEM");
	if (r.zones || r.members || r.specs || r.nzones || r.nmembers || r.nspecs || r.monitors)
		fail("a refused body left a report behind");
	if (!err[0] || strnlen(err, sizeof(err)) == sizeof(err))
		fail("a refusal without a NUL-terminated message");
	return 0;
}
