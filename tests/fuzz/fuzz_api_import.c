/* libFuzzer harness for the API's zone import, as POST /zones/{zone}/import runs it in memory:
 * the body loaded by zonefile_load_string(), the change set made by change_import() against
 * the zone served, change_set_make() adding the server's SOA, zone_apply(); then the new snapshot
 * must hold exactly the file's RRsets (the served SOA with the next serial), export and load back
 * to the same RRsets, and be published or discarded without a leak. The input is the body; text
 * before a line ";;import" is the zone served instead of a fixed one, and a line ";;x<N>" in the
 * body repeats the rest of it N times (at most 1,000), each copy under "$ORIGIN c<i>.example.com.",
 * so a short input makes an import of hundreds of RRsets. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "ternd/change/change.h"

#include "fuzz_zone_check.h"
#include "fuzz_zone_load.h"

static uint8_t apex[NAME_MAXLEN];

/* The zone served when the input names none: data the import may keep, replace or delete, with
 * more RRsets than the import's first allocation of 64 changes (so a small file makes more than 64
 * deletions); the generated "g<i> A" lines are added by LLVMFuzzerInitialize(). */
static const char base_head[] = "$ORIGIN example.com.\n"
                                "$TTL 300\n"
                                "@ SOA ns1 hostmaster 41 7200 900 1209600 300\n"
                                "@ NS ns1\n"
                                "@ NS ns2.example.net.\n"
                                "@ MX 10 mail\n"
                                "ns1 A 192.0.2.53\n"
                                "www A 192.0.2.1\n"
                                "www AAAA 2001:db8::1\n"
                                "mail A 192.0.2.25\n"
                                "old TXT \"gone after most imports\"\n"
                                "a.b.c TXT \"deep\"\n"
                                "sub NS ns.sub\n"
                                "ns.sub A 192.0.2.54\n";
#define BASE_GENERATED 70
static char base_zone[sizeof(base_head) + BASE_GENERATED * 32];
static size_t base_len;

static const char marker[] = "\n;;import\n";
static const char repeat[] = "\n;;x";

#define REPEAT_MAX 1000
#define EXPANDED_MAX (4u << 20)

/* The body with its ";;x<N>" expanded (malloc'd, *len set), or NULL when it has none or the
 * expansion would be too big. */
static char *expand(const char *body, size_t len, size_t *outlen)
{
	const char *at = memmem(body, len, repeat, sizeof(repeat) - 1);
	if (!at)
		return NULL;
	const char *p = at + sizeof(repeat) - 1, *end = body + len;
	unsigned n = 0;
	while (p < end && *p >= '0' && *p <= '9' && n <= REPEAT_MAX)
		n = n * 10 + (unsigned)(*p++ - '0');
	if (p == end || *p != '\n' || n == 0 || n > REPEAT_MAX)
		return NULL;
	size_t head = (size_t)(at - body) + 1, chunk = (size_t)(end - (p + 1));
	if (head + (size_t)n * (chunk + 64) > EXPANDED_MAX)
		return NULL;
	char *out = malloc(head + (size_t)n * (chunk + 64) + 1), *o = out;
	if (!out)
		return NULL;
	memcpy(o, body, head);
	o += head;
	for (unsigned i = 0; i < n; i++) {
		o += sprintf(o, "$ORIGIN c%u.example.com.\n", i);
		memcpy(o, p + 1, chunk);
		o += chunk;
		*o++ = '\n';
	}
	*outlen = (size_t)(o - out);
	return out;
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_api_import: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(apex, "example.com.", NULL) < 0)
		abort();
	base_len = (size_t)snprintf(base_zone, sizeof(base_zone), "%s", base_head);
	for (int i = 0; i < BASE_GENERATED; i++)
		base_len += (size_t)snprintf(base_zone + base_len, sizeof(base_zone) - base_len,
		                             "g%d.gen A 192.0.2.%d\n", i, i);
	return 0;
}

static int load(const char *text, size_t len, struct zone **z, char *err, size_t errlen)
{
	return fuzz_zone_load(text, len, "body", apex, z, err, errlen);
}

/* An error text holds only printable bytes, tabs and newlines, ends within its buffer and is
 * not empty: nothing from the heap or the stack beyond what the input said. */
static void check_message(const char *err, size_t cap)
{
	size_t len = strnlen(err, cap);
	if (len == 0 || len == cap)
		fail("an error without a message, or without its NUL");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)err[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			fail("an error message holds a control byte (heap bytes?)");
	}
}

static bool rrset_equal(const struct rrset *a, const struct rrset *b)
{
	return a->type == b->type && a->ttl == b->ttl && a->count == b->count && a->rdata_size == b->rdata_size &&
	       memcmp(a->rdata, b->rdata, a->rdata_size) == 0;
}

/* Every RRset of want but its SOA is in got, the same, and got has no other (SOA aside); the
 * same names (empty non-terminals included). */
static void check_same_rrsets(const struct zone *got, const struct zone *want, const char *what)
{
	const struct zone_node **nodes = NULL;
	size_t n = 0;
	if (zone_nodes_sorted(want, &nodes, &n) < 0)
		fail("zone_nodes_sorted failed");
	if (got->nnodes != want->nnodes)
		fail(what);
	for (size_t i = 0; i < n; i++) {
		const struct zone_node *w = nodes[i], *g = zone_find(got, w->owner, w->owner_len);
		if (!g || g->nrrsets != w->nrrsets)
			fail(what);
		for (uint16_t k = 0; k < w->nrrsets; k++) {
			const struct rrset *rs = zone_node_rrset(g, w->rrsets[k].type);
			if (!rs || (w->rrsets[k].type != RR_SOA && !rrset_equal(rs, &w->rrsets[k])))
				fail(what);
		}
	}
	free(nodes);
}

/* The applied zone against the file and the zone served: the file's RRsets, the served SOA
 * with the new serial, and an export that loads back to the same. */
static void check_applied(const struct zone *next, const struct zone *cur, const struct zone *imp, uint32_t serial)
{
	fuzz_check_zone(next, apex, fail);
	check_same_rrsets(next, imp, "the applied zone differs from the imported file");
	if (next->serial != serial)
		fail("the applied zone does not have the next serial");
	if (next->soa->ttl != cur->soa->ttl || next->soa->rdata_size != cur->soa->rdata_size)
		fail("the applied SOA is not the served one");
	const uint8_t *a = rdata_bytes(next->soa->rdata), *b = rdata_bytes(cur->soa->rdata);
	size_t off = rr_soa_serial_offset(a);
	if (memcmp(a, b, off) != 0 || memcmp(a + off + 4, b + off + 4, 16) != 0)
		fail("the applied SOA differs from the served one beyond the serial");
	if (next->nrecords != imp->nrecords)
		fail("record count differs from the file's");
	char err[1024], *out = NULL;
	size_t out_len = 0;
	struct zone *back = NULL;
	int rc = rrtext_export_zone_text(next, &out, &out_len, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "export: %s\n", err);
		fail("the export of an applied import failed");
	}
	if (load(out, out_len, &back, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n--- export ---\n%.*s\n", err, (int)out_len, out);
		fail("the export of an applied import does not load");
	}
	{
		check_same_rrsets(back, next, "the export loads back to other RRsets");
		if (back->serial != next->serial)
			fail("the export loads back with another serial");
	}
	zone_free(back);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *body = text;
	size_t body_len = size;
	const char *cut = memmem(text, size, marker, sizeof(marker) - 1);
	struct zone *cur = NULL, *imp = NULL, *next = NULL;
	struct change_rrset *ch = NULL;
	struct change_set set = {0};
	size_t n = 0;
	char err[4096];
	int rc;
	if (cut) {
		body = cut + sizeof(marker) - 1;
		body_len = size - (size_t)(body - text);
		rc = load(text, (size_t)(cut - text), &cur, err, sizeof(err));
	} else {
		rc = load(base_zone, base_len, &cur, err, sizeof(err));
		if (rc < 0)
			fail("the base zone does not load");
	}
	if (rc < 0) {
		check_message(err, sizeof(err));
		return 0;
	}
	size_t big_len = 0;
	char *big = expand(body, body_len, &big_len);
	rc = big ? load(big, big_len, &imp, err, sizeof(err)) : load(body, body_len, &imp, err, sizeof(err));
	free(big);
	if (rc < 0) {
		check_message(err, sizeof(err)); /* the API's 400 quotes this */
		goto out;
	}
	if (change_import(cur, imp, &ch, &n) < 0)
		fail("change_import failed (out of memory?)");
	uint32_t serial = change_next_serial(cur->serial, (size & 1) ? STORE_SERIAL_INCREMENT : STORE_SERIAL_DATE,
	                                     (time_t)1767225600); /* 2026-01-01 */
	if (change_set_make(cur, ch, n, serial, &set) < 0)
		fail("change_set_make failed (out of memory?)");
	if (set.n != n + 1 || set.all[n].type != RR_SOA)
		fail("the change set does not end with the server's SOA");
	struct zone_apply_error ae;
	rc = zone_apply(cur, set.all, set.n, &next, &ae);
	if (rc < 0) {
		fprintf(stderr, "zone_apply: %s\n", ae.msg);
		fail("a zone file the loader accepts does not apply as an import");
	}
	check_applied(next, cur, imp, serial);
	if (data[size - 1] & 1) { /* published, as the API does; or thrown away */
		zone_supersede(cur, next);
		zone_free(cur);
		cur = next;
	} else {
		zone_discard(next);
	}
	next = NULL;
out:
	change_set_free(&set);
	change_rrsets_free(ch, n);
	zone_free(imp);
	zone_free(cur);
	return 0;
}
