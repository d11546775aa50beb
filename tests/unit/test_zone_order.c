/* The ordered views of a zone's NSEC and NSEC3 names (lib/zone_order.c): random batches of
 * inserts, replacements and deletions through zone_apply(), each snapshot checked against a
 * sorted reference taken from its hash trie when it was made, every older snapshot still alive
 * checked again after each batch, snapshots freed in the server's order (run under ASan: a key
 * left pointing at a freed node, a block freed early or never is an error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zone_impl.h"
#include "lib/zonefile.h"

static uint8_t apex[NAME_MAXLEN];

enum { NAMES = 300, HASHED = 200, LIVE = 6 };

/* The owners of one kind (NSEC or NSEC3) in a snapshot, sorted: the oracle. */
struct ref {
	uint8_t (*owner)[NAME_MAXLEN];
	size_t n;
};

struct snap {
	struct zone *z;
	struct ref ref[2];
};

static int cmp_owner(const void *a, const void *b)
{
	return name_cmp(a, b);
}

struct collect {
	struct ref *r;
	uint16_t type;
};

static int collect(void *arg, const struct zone_node *n)
{
	struct collect *c = arg;
	if (zone_node_rrset(n, c->type)) {
		c->r->owner = realloc(c->r->owner, (c->r->n + 1) * sizeof(*c->r->owner));
		memcpy(c->r->owner[c->r->n++], n->owner, n->owner_len);
	}
	return 0;
}

static struct snap snap_of(struct zone *z)
{
	struct snap s = {.z = z};
	for (int k = 0; k < 2; k++) {
		struct collect c = {&s.ref[k], k == 0 ? RR_NSEC : RR_NSEC3};
		zone_foreach(z, collect, &c);
		if (s.ref[k].n)
			qsort(s.ref[k].owner, s.ref[k].n, sizeof(*s.ref[k].owner), cmp_owner);
	}
	return s;
}

static void snap_free(struct snap *s)
{
	zone_free(s->z);
	free(s->ref[0].owner);
	free(s->ref[1].owner);
}

static const struct zone_node *cover(const struct zone *z, int kind, const uint8_t *name, struct zone_order_pos *pos)
{
	return kind == 0 ? zone_nsec_cover(z, name, pos) : zone_nsec3_cover(z, name, pos);
}

/* One probe: the member covering name must be the reference's greatest owner <= name (the last
 * when none is), and the very node the snapshot's trie holds under that owner. */
static void check_probe(const struct snap *s, int kind, const uint8_t *name)
{
	const struct ref *r = &s->ref[kind];
	struct zone_order_pos pos;
	const struct zone_node *got = cover(s->z, kind, name, &pos);
	if (r->n == 0) {
		assert_null(got);
		return;
	}
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (name_cmp(r->owner[mid], name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t want = lo == 0 ? r->n - 1 : lo - 1;
	assert_non_null(got);
	if (!name_equal(got->owner, r->owner[want])) {
		char a[1024], b[1024], c[1024];
		name_to_text(name, a, sizeof(a));
		name_to_text(got->owner, b, sizeof(b));
		name_to_text(r->owner[want], c, sizeof(c));
		fail_msg("cover of %s: got %s, want %s", a, b, c);
	}
	assert_ptr_equal(got, zone_find(s->z, got->owner, got->owner_len));
	/* and the one before it */
	const struct zone_node *prev = zone_order_prev(&pos);
	assert_true(name_equal(prev->owner, r->owner[want == 0 ? r->n - 1 : want - 1]));
}

static void name_of(uint8_t *out, int kind, int k, int variant)
{
	char text[128];
	if (kind == 1)
		snprintf(text, sizeof(text), "h%03d", k); /* one label below the apex, as NSEC3 owners */
	else if (variant == 0)
		snprintf(text, sizeof(text), "n%d.g%d", k, k % 13); /* g%d: empty non-terminals that come and go */
	else if (variant == 1)
		snprintf(text, sizeof(text), "x.n%d.g%d", k, k % 13); /* below a member */
	else
		snprintf(text, sizeof(text), "n%dz.g%d", k, k % 13); /* between members */
	assert_true(name_from_text(out, text, apex) > 0);
}

static void check_snap(const struct snap *s, unsigned *seed)
{
	uint8_t name[NAME_MAXLEN];
	for (int kind = 0; kind < 2; kind++) {
		for (size_t i = 0; i < s->ref[kind].n; i++) /* every member matches itself */
			check_probe(s, kind, s->ref[kind].owner[i]);
		for (int i = 0; i < 40; i++) {
			name_of(name, kind, rand_r(seed) % (kind ? HASHED : NAMES), rand_r(seed) % 3);
			check_probe(s, kind, name);
		}
		check_probe(s, kind, apex);
		assert_true(name_from_text(name, "zzzz", apex) > 0);
		check_probe(s, kind, name);
	}
	/* a whole walk backwards from the apex (before every member here: the last covers it) gives
	 * every member once, last first, then wraps */
	struct zone_order_pos pos;
	const struct ref *r = &s->ref[0];
	const struct zone_node *n = cover(s->z, 0, apex, &pos);
	for (size_t i = 0; r->n && i <= r->n; i++) {
		assert_true(name_equal(n->owner, r->owner[(2 * r->n - 1 - i) % r->n]));
		n = zone_order_prev(&pos);
	}
}

/* NSEC RDATA: the next owner (the apex) and a bitmap of A (and TXT when variant is odd), so a
 * restated NSEC with another variant is a new node in the same place. */
static uint16_t nsec_rdata(uint8_t *out, int variant)
{
	size_t len = name_len(apex);
	memcpy(out, apex, len);
	uint8_t one[] = {0, 1, 0x40}, two[] = {0, 3, 0x40, 0, 0x80};
	if (variant & 1)
		memcpy(out + len, two, sizeof(two));
	else
		memcpy(out + len, one, sizeof(one));
	return (uint16_t)(len + (variant & 1 ? sizeof(two) : sizeof(one)));
}

static uint16_t nsec3_rdata(uint8_t *out, int variant)
{
	uint8_t rd[] = {1, 0, 0, 0, 0, 20};
	memcpy(out, rd, sizeof(rd));
	memset(out + sizeof(rd), variant, 20);
	uint8_t bm[] = {0, 1, 0x40};
	memcpy(out + sizeof(rd) + 20, bm, sizeof(bm));
	return (uint16_t)(sizeof(rd) + 20 + sizeof(bm));
}

struct chg {
	uint8_t owner[NAME_MAXLEN];
	uint8_t rdata[600];
	struct zone_change c;
};

/* A random change: NSEC or NSEC3 set or deleted, or other data at the name set or deleted (the
 * name is then a new node, its membership unchanged). */
static void random_change(struct chg *x, unsigned *seed)
{
	int kind = rand_r(seed) % 3 == 0;
	int k = rand_r(seed) % (kind ? HASHED : NAMES), what = rand_r(seed) % 4;
	name_of(x->owner, kind, k, 0);
	uint16_t type = what < 2 ? (kind ? RR_NSEC3 : RR_NSEC) : RR_TXT, len;
	bool set = what % 2 == 0 || rand_r(seed) % 3 == 0;
	if (type == RR_NSEC)
		len = nsec_rdata(x->rdata + 2, rand_r(seed) % 2);
	else if (type == RR_NSEC3)
		len = nsec3_rdata(x->rdata + 2, rand_r(seed) % 2);
	else {
		len = 4;
		memcpy(x->rdata + 2, "\003abc", 4);
		x->rdata[4] = (uint8_t)('a' + rand_r(seed) % 26);
	}
	wire_put16(x->rdata, len);
	x->c = (struct zone_change){.owner = x->owner,
	                            .type = type,
	                            .ttl = 300,
	                            .count = set ? 1 : 0,
	                            .rdata = x->rdata,
	                            .rdata_size = set ? 2u + len : 0};
}

static struct zone *load(size_t members)
{
	char *text = malloc(256 + members * 160), *p = text;
	p += sprintf(p, "$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n");
	for (size_t k = 0; k < members; k++)
		p += sprintf(p, "n%zu.g%zu NSEC example.com. A\n", k, k % 13);
	for (size_t k = 0; k < members && k < HASHED; k += 2)
		p += sprintf(p, "h%03zu NSEC3 1 0 0 - 0123456789abcdefghijklmnopqrstuv A\n", k);
	struct zone *z = NULL;
	char err[1024];
	name_from_text(apex, "example.com.", NULL);
	int rc = zonefile_load_string(text, (size_t)(p - text), "t", apex, &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	free(text);
	return z;
}

enum { BATCH_MAX = 400 };

/* rounds batches of 1..batch random changes (batch <= BATCH_MAX). */
static void random_rounds(int rounds, size_t batch, unsigned seed)
{
	struct snap live[LIVE + 1];
	int nlive = 0;
	static struct chg x[BATCH_MAX];
	struct zone_change c[BATCH_MAX];
	live[nlive++] = snap_of(load(NAMES / 2));
	check_snap(&live[0], &seed);
	for (int round = 0; round < rounds; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % batch);
		for (size_t i = 0; i < n; i++) {
			random_change(&x[i], &seed);
			c[i] = x[i].c;
		}
		struct zone *cur = live[nlive - 1].z, *next = NULL;
		struct zone_apply_error e;
		if (zone_apply(cur, c, n, &next, &e) != 0)
			fail_msg("round %d: %s", round, e.msg);
		if (round % 9 == 0) { /* thrown away instead of published */
			struct snap s = snap_of(next);
			check_snap(&s, &seed);
			zone_discard(next);
			free(s.ref[0].owner);
			free(s.ref[1].owner);
			continue;
		}
		zone_supersede(cur, next);
		live[nlive++] = snap_of(next);
		if (nlive > LIVE) { /* the reclaim thread frees the oldest first */
			snap_free(&live[0]);
			memmove(live, live + 1, (size_t)--nlive * sizeof(live[0]));
		}
		for (int i = 0; i < nlive; i++) /* every snapshot readers may still hold answers as it did */
			check_snap(&live[i], &seed);
	}
	assert_true(live[nlive - 1].ref[0].n > 0 && live[nlive - 1].ref[1].n > 0);
	for (int i = 0; i < nlive; i++)
		snap_free(&live[i]);
}

static void test_random_against_reference(void **state)
{
	(void)state;
	random_rounds(1000, 4, 4242);
}

/* Batches of up to BATCH_MAX changes: blocks and trie branches the batch made are changed again
 * in place and freed when replaced (zone_impl.h), many times within one batch. */
static void test_random_big_batches(void **state)
{
	(void)state;
	random_rounds(150, BATCH_MAX, 777);
}

/* Everything deleted and added again: the views go empty (NULL) and come back. */
static void test_empty_and_back(void **state)
{
	(void)state;
	struct zone *z = load(3);
	uint8_t owners[3][NAME_MAXLEN];
	struct zone_change c[3];
	for (int k = 0; k < 3; k++) {
		name_of(owners[k], 0, k, 0);
		c[k] = (struct zone_change){.owner = owners[k], .type = RR_NSEC};
	}
	struct zone *next;
	assert_int_equal(zone_apply(z, c, 3, &next, NULL), 0);
	struct zone_order_pos pos;
	assert_null(zone_nsec_cover(next, apex, &pos));
	assert_null(zone_order_prev(&pos));
	assert_non_null(zone_nsec_cover(z, apex, &pos));
	zone_supersede(z, next);
	zone_free(z);
	uint8_t rd[300];
	uint16_t len = nsec_rdata(rd + 2, 0);
	wire_put16(rd, len);
	c[0] = (struct zone_change){
	    .owner = owners[1], .type = RR_NSEC, .ttl = 1, .count = 1, .rdata = rd, .rdata_size = 2u + len};
	struct zone *again;
	assert_int_equal(zone_apply(next, c, 1, &again, NULL), 0);
	assert_true(name_equal(zone_nsec_cover(again, apex, &pos)->owner, owners[1]));
	zone_supersede(next, again);
	zone_free(next);
	zone_free(again);
}

/* An unsigned zone has no view; and what a member costs in one built in bulk. */
static void test_unsigned_has_none_and_size(void **state)
{
	(void)state;
	struct zone *z = load(0);
	assert_null(z->nsec_order);
	assert_null(z->nsec3_order);
	zone_free(z);
	enum { BIG = 20000 };
	z = load(BIG);
	size_t bytes = order_bytes(z->nsec_order);
	printf("NSEC order of %d members built in bulk: %zu bytes, %.1f per member\n", BIG, bytes, (double)bytes / BIG);
	assert_true(bytes < (size_t)BIG * 12);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_against_reference),
	    cmocka_unit_test(test_random_big_batches),
	    cmocka_unit_test(test_empty_and_back),
	    cmocka_unit_test(test_unsigned_has_none_and_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
