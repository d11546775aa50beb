/* libFuzzer harness for reading catalog zones (RFC 9432 version 2): zone text for the apex
 * catalog.tern. that loads is read by catalog_members(), whose members are checked against the
 * entries of the zone, with a whole message buffer and with one cut to a size the input picks. */
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
#include "lib/catalog.h"

#define MSGLEN 4096

static uint8_t apex[NAME_MAXLEN], version[NAME_MAXLEN], zones[NAME_MAXLEN];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_catalog_in: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(apex, "catalog.tern.", NULL) < 0 || name_from_text(version, "version", apex) < 0 ||
	    name_from_text(zones, "zones", apex) < 0)
		abort();
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	return name_cmp(((const struct catalog_member *)a)->apex, ((const struct catalog_member *)b)->apex);
}

/* The PTR target of an entry (<id>.zones.<catalog> with one PTR holding a name), else NULL. */
static const uint8_t *entry_target(const struct zone_node *n)
{
	const uint8_t *parent = name_parent(n->owner);
	if (!parent || !name_equal(parent, zones))
		return NULL;
	const struct rrset *ptr = zone_node_rrset(n, RR_PTR);
	if (!ptr || ptr->count != 1)
		return NULL;
	const uint8_t *rec = ptr->rdata;
	if (name_check(rdata_bytes(rec), rdata_len(rec)) != (int)rdata_len(rec))
		return NULL;
	return rdata_bytes(rec);
}

/* Whether the zone has version.<catalog> TXT "2", one record of one string. */
static bool has_version_2(const struct zone *z)
{
	const struct zone_node *n = zone_find(z, version, name_len(version));
	const struct rrset *txt = n ? zone_node_rrset(n, RR_TXT) : NULL;
	if (!txt || txt->count != 1)
		return false;
	const uint8_t *rec = txt->rdata;
	return rdata_len(rec) == 2 && memcmp(rdata_bytes(rec), "\0012", 2) == 0;
}

static void check_members(const struct zone *z, const struct catalog_member *m, size_t n)
{
	if (n > z->nnodes)
		fail("more members than names in the catalog");
	if (n && !m)
		fail("members counted but no array");
	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = m[i].apex;
		int len = name_check(a, NAME_MAXLEN);
		if (len < 0 || (size_t)len != name_len(a))
			fail("a member is not a well-formed name");
		for (int k = 0; k < len; k++)
			if (a[k] >= 'A' && a[k] <= 'Z')
				fail("a member is not lower-cased");
		if (name_in(a, z->apex))
			fail("a member is the catalog or inside it");
		if (i > 0 && name_cmp(m[i - 1].apex, a) >= 0)
			fail("members not sorted strictly (a zone twice?)");
	}
	/* the members are exactly the targets of usable entries */
	const struct zone_node **nodes = NULL;
	size_t nn = 0;
	if (zone_nodes_sorted(z, &nodes, &nn) != 0)
		fail("zone_nodes_sorted failed");
	uint8_t *listed = calloc(n + 1, 1);
	if (!listed)
		abort();
	for (size_t i = 0; i < nn; i++) {
		const uint8_t *t = entry_target(nodes[i]);
		if (!t || name_in(t, z->apex))
			continue;
		struct catalog_member key;
		name_lower_copy(key.apex, t, name_len(t));
		const struct catalog_member *hit = bsearch(&key, m, n, sizeof(*m), cmp_member);
		if (!hit)
			fail("an entry's zone is not a member");
		listed[hit - m] = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!listed[i])
			fail("a member no entry lists");
	free(listed);
	free(nodes);
}

/* msg holds a string within len octets. */
static void check_msg(const char *msg, size_t len)
{
	if (len && strnlen(msg, len) == len)
		fail("message not NUL-terminated within its buffer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zone *z = NULL;
	char err[1024];
	if (zonefile_load_string((const char *)data, size, "fuzz", apex, &z, err, sizeof(err)) != 0)
		return 0;
	if (!z)
		fail("load succeeded without a zone");

	char *msg = malloc(MSGLEN);
	struct catalog_member *m = NULL;
	size_t n = 1234;
	if (!msg)
		abort();
	int rc = catalog_members(z, &m, &n, msg, MSGLEN);
	check_msg(msg, MSGLEN);
	if (rc == 0) {
		if (!has_version_2(z))
			fail("a catalog without version TXT \"2\" processed");
		check_members(z, m, n);
	} else if (rc == TERN_EZONE) {
		if (has_version_2(z))
			fail("a version 2 catalog refused");
		if (m || n)
			fail("a refusal gives members");
		if (!msg[0])
			fail("a refusal without a message");
	} else {
		fail("an error other than TERN_EZONE");
	}

	/* again with a buffer of exactly cut octets (0 to 63, picked by the input): the same result,
	 * the message a prefix of the whole one, nothing written past the buffer (ASan) */
	size_t cut = size ? data[size - 1] % 64 : 0;
	char *small = malloc(cut ? cut : 1);
	struct catalog_member *m2 = NULL;
	size_t n2 = 1234;
	if (!small)
		abort();
	int rc2 = catalog_members(z, &m2, &n2, cut ? small : small + 1, cut);
	if (rc2 != rc || n2 != n)
		fail("a smaller message buffer changes the result");
	for (size_t i = 0; i < n; i++)
		if (name_len(m2[i].apex) != name_len(m[i].apex) ||
		    memcmp(m2[i].apex, m[i].apex, name_len(m[i].apex)) != 0)
			fail("a smaller message buffer changes the members");
	check_msg(small, cut);
	if (cut && strncmp(small, msg, strlen(small)) != 0)
		fail("a cut message is not a prefix of the whole one");
	free(small);
	free(m2);
	free(m);
	free(msg);
	zone_free(z);
	return 0;
}
