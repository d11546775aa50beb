/* zone_apply(): deriving snapshots from RRset changes, the zone's rules on them, empty
 * non-terminals coming and going, the hash trie under random churn and hash collisions, and
 * the lifetimes of snapshots that share structure (run under ASan: no leak, no double free). */
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

static const char *ZONE = "$ORIGIN example.com.\n$TTL 3600\n"
                          "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                          "@ NS ns1\n"
                          "ns1 A 192.0.2.1\n"
                          "www A 192.0.2.80\n"
                          "a.b.c A 192.0.2.3\n";

static uint8_t apex[NAME_MAXLEN];

static struct zone *load(void)
{
	struct zone *z = NULL;
	char err[1024];
	name_from_text(apex, "example.com.", NULL);
	assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", apex, &z, err, sizeof(err)), 0);
	return z;
}

/* A change built from text: owner relative to example.com, one A/TXT/... record or none. */
struct chg {
	uint8_t owner[NAME_MAXLEN];
	uint8_t rdata[600];
	struct zone_change c;
};

static void chg_set(struct chg *x, const char *owner, uint16_t type, const void *rd, uint16_t rdlen, uint16_t count)
{
	assert_true(name_from_text(x->owner, owner, apex) > 0);
	size_t off = 0;
	for (uint16_t i = 0; i < count; i++) {
		wire_put16(x->rdata + off, rdlen);
		memcpy(x->rdata + off + 2, rd, rdlen);
		off += 2u + rdlen;
	}
	x->c = (struct zone_change){.owner = x->owner,
	                            .type = type,
	                            .ttl = 300,
	                            .count = count,
	                            .rdata = x->rdata,
	                            .rdata_size = (uint32_t)off};
}

static const struct zone_node *find(const struct zone *z, const char *owner)
{
	uint8_t n[NAME_MAXLEN];
	int len = name_from_text(n, owner, apex);
	assert_true(len > 0);
	name_lower(n);
	return zone_find(z, n, (size_t)len);
}

static struct zone *apply_ok(struct zone *prev, struct chg *x, size_t n)
{
	struct zone_change c[16];
	for (size_t i = 0; i < n; i++)
		c[i] = x[i].c;
	struct zone *next = NULL;
	char err[1024] = "";
	int rc = zone_apply(prev, c, n, &next, err, sizeof(err));
	if (rc != 0)
		fail_msg("apply failed: %s", err);
	return next;
}

/* Publishes next in place of prev, as zones_publish() does, and frees prev. */
static struct zone *publish(struct zone *prev, struct zone *next)
{
	zone_supersede(prev, next);
	zone_free(prev);
	return next;
}

static void apply_fail(const struct zone *prev, struct chg *x, size_t n, const char *want)
{
	struct zone_change c[16];
	for (size_t i = 0; i < n; i++)
		c[i] = x[i].c;
	struct zone *next = (struct zone *)1;
	char err[1024] = "";
	assert_int_equal(zone_apply(prev, c, n, &next, err, sizeof(err)), TERN_EZONE);
	assert_ptr_equal(next, (struct zone *)1);
	if (!strstr(err, want))
		fail_msg("expected \"%s\" in \"%s\"", want, err);
}

static void test_replace_keeps_prev(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[1];
	chg_set(&x[0], "www", RR_A, "\xc0\0\2\x58", 4, 1);
	struct zone *next = apply_ok(z, x, 1);
	/* the old snapshot still answers the old data: readers on it never see a mix */
	assert_memory_equal(rdata_bytes(zone_node_rrset(find(z, "www"), RR_A)->rdata), "\xc0\0\2\x50", 4);
	assert_memory_equal(rdata_bytes(zone_node_rrset(find(next, "www"), RR_A)->rdata), "\xc0\0\2\x58", 4);
	assert_int_equal(zone_node_rrset(find(next, "www"), RR_A)->ttl, 300);
	/* untouched names are shared, not copied */
	assert_ptr_equal(find(z, "a.b.c"), find(next, "a.b.c"));
	assert_ptr_not_equal(find(z, "www"), find(next, "www"));
	assert_int_equal(next->nnodes, z->nnodes);
	assert_int_equal(next->nrecords, z->nrecords);
	z = publish(z, next);
	zone_free(z);
}

static void test_new_name_makes_ents_and_delete_removes_them(void **state)
{
	(void)state;
	struct zone *z = load();
	size_t nodes = z->nnodes;
	struct chg x[1];
	chg_set(&x[0], "p.q.r", RR_TXT, "\2hi", 3, 1);
	z = publish(z, apply_ok(z, x, 1));
	assert_int_equal(z->nnodes, nodes + 3);
	assert_true(find(z, "q.r")->flags & NODE_ENT);
	assert_true(find(z, "r")->flags & NODE_ENT);
	assert_int_equal(find(z, "r")->children, 1);
	assert_int_equal(z->apex_node->children, 4); /* ns1, www, c, r */
	/* a second name under the same ENT only counts a child */
	chg_set(&x[0], "s.q.r", RR_TXT, "\2ho", 3, 1);
	z = publish(z, apply_ok(z, x, 1));
	assert_int_equal(find(z, "q.r")->children, 2);
	/* deleting one keeps the ENT, deleting both removes the chain */
	chg_set(&x[0], "p.q.r", RR_TXT, NULL, 0, 0);
	z = publish(z, apply_ok(z, x, 1));
	assert_null(find(z, "p.q.r"));
	assert_non_null(find(z, "q.r"));
	chg_set(&x[0], "s.q.r", RR_TXT, NULL, 0, 0);
	z = publish(z, apply_ok(z, x, 1));
	assert_null(find(z, "q.r"));
	assert_null(find(z, "r"));
	assert_int_equal(z->nnodes, nodes);
	assert_int_equal(z->apex_node->children, 3);
	zone_free(z);
}

static void test_data_at_an_ent_and_back(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[1];
	chg_set(&x[0], "b.c", RR_A, "\xc0\0\2\7", 4, 1);
	z = publish(z, apply_ok(z, x, 1));
	assert_false(find(z, "b.c")->flags & NODE_ENT);
	assert_int_equal(find(z, "b.c")->children, 1);
	chg_set(&x[0], "b.c", RR_A, NULL, 0, 0);
	z = publish(z, apply_ok(z, x, 1));
	assert_true(find(z, "b.c")->flags & NODE_ENT); /* a.b.c is still below it */
	assert_int_equal(find(z, "b.c")->nrrsets, 0);
	zone_free(z);
}

static void test_rules(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[2];
	uint8_t target[NAME_MAXLEN];
	int tl = name_from_text(target, "www.example.com.", NULL);
	chg_set(&x[0], "www", RR_CNAME, target, (uint16_t)tl, 1);
	apply_fail(z, x, 1, "CNAME beside other data at www.example.com.");
	chg_set(&x[0], "www.example.org.", RR_A, "\1\2\3\4", 4, 1);
	apply_fail(z, x, 1, "out-of-zone data: www.example.org. is not in zone example.com.");
	chg_set(&x[0], "www", RR_A, "\1\2\3", 3, 1);
	apply_fail(z, x, 1, "bad RDATA for A record 0 at www.example.com.");
	chg_set(&x[0], "@", RR_SOA, NULL, 0, 0);
	apply_fail(z, x, 1, "the SOA record at the apex example.com. cannot be removed");
	chg_set(&x[0], "@", RR_NS, NULL, 0, 0);
	apply_fail(z, x, 1, "the NS records at the apex example.com. cannot be removed");
	chg_set(&x[0], "www", RR_ANY, "\1", 1, 1);
	apply_fail(z, x, 1, "type ANY cannot appear in a zone");
	chg_set(&x[0], "x", RR_CNAME, target, (uint16_t)tl, 2);
	apply_fail(z, x, 1, "more than one CNAME record at x.example.com.");
	/* in one batch: the CNAME is fine once the A at the same name goes */
	chg_set(&x[0], "www", RR_A, NULL, 0, 0);
	chg_set(&x[1], "www", RR_CNAME, target + 4 + 0, (uint16_t)(tl - 4), 1);
	struct zone *next = apply_ok(z, x, 2);
	assert_true(find(next, "www")->flags & NODE_CNAME);
	/* a failing batch changes nothing, even its good parts */
	chg_set(&x[0], "good", RR_A, "\1\2\3\4", 4, 1);
	chg_set(&x[1], "bad.example.org.", RR_A, "\1\2\3\4", 4, 1);
	apply_fail(z, x, 2, "out-of-zone");
	assert_null(find(z, "good"));
	zone_discard(next);
	zone_free(z);
}

static void test_serial_and_delegation_flags(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[2];
	uint8_t soa[2 * NAME_MAXLEN + 20], ns[NAME_MAXLEN];
	size_t off = 0;
	off += (size_t)name_from_text(soa, "ns1.example.com.", NULL);
	uint8_t rname[NAME_MAXLEN];
	int rl = name_from_text(rname, "hostmaster.example.com.", NULL);
	memcpy(soa + off, rname, (size_t)rl);
	off += (size_t)rl;
	memcpy(soa + off, "\0\0\0\7\0\0\x1c\x20\0\0\3\x84\0\x12\x75\0\0\0\1\x2c", 20);
	chg_set(&x[0], "@", RR_SOA, soa, (uint16_t)(off + 20), 1);
	int nl = name_from_text(ns, "ns.sub.example.com.", NULL);
	chg_set(&x[1], "sub", RR_NS, ns, (uint16_t)nl, 1);
	z = publish(z, apply_ok(z, x, 2));
	assert_int_equal(z->serial, 7);
	assert_true(find(z, "sub")->flags & NODE_DELEG);
	assert_true(z->apex_node->flags & NODE_APEX);
	assert_ptr_equal(z->soa, zone_node_rrset(z->apex_node, RR_SOA));
	zone_free(z);
}

/* Random churn: 3,000 batches over 400 names against a reference of which names hold data. */
/* A batch adding many names under one parent: the copy of the parent this batch made is counted
 * in place (not copied once per name), and nothing of the result changes in place afterwards: the
 * next batch copies the parent again and leaves the published snapshot's counts alone. */
static void test_many_siblings_in_one_batch(void **state)
{
	(void)state;
	enum { N = 300 };
	struct zone *z = load();
	struct chg *x = calloc(N, sizeof(*x));
	struct zone_change *c = calloc(N, sizeof(*c));
	assert_non_null(x);
	assert_non_null(c);
	for (int i = 0; i < N; i++) {
		char owner[32];
		snprintf(owner, sizeof(owner), i % 2 ? "h%d" : "h%d.sib", i);
		chg_set(&x[i], owner, RR_A, "\xc0\0\2\x01", 4, 1);
		c[i] = x[i].c;
	}
	struct zone *next = NULL;
	char err[1024] = "";
	assert_int_equal(zone_apply(z, c, N, &next, err, sizeof(err)), 0);
	assert_int_equal(z->apex_node->children, 3); /* ns1, www, c: the predecessor is untouched */
	assert_int_equal(next->apex_node->children, 3 + N / 2 + 1);
	assert_int_equal(find(next, "sib")->children, N / 2);
	assert_int_equal(next->nnodes, z->nnodes + N + 1);
	const struct zone_node **nodes = NULL;
	size_t nn = 0;
	assert_int_equal(zone_nodes_sorted(next, &nodes, &nn), 0);
	for (size_t i = 0; i < nn; i++)
		assert_false(nodes[i]->flags & NODE_FRESH);
	free(nodes);
	z = publish(z, next);
	const struct zone_node *sib = find(z, "sib");
	chg_set(&x[0], "last.sib", RR_A, "\xc0\0\2\x02", 4, 1);
	struct zone *after = apply_ok(z, x, 1);
	assert_int_equal(sib->children, N / 2);
	assert_ptr_equal(find(z, "sib"), sib);
	assert_int_equal(find(after, "sib")->children, N / 2 + 1);
	z = publish(z, after);
	zone_free(z);
	free(x);
	free(c);
}

static void test_random_churn(void **state)
{
	(void)state;
	struct zone *z = load();
	enum { NAMES = 400 };
	bool present[NAMES] = {0};
	unsigned seed = 12345;
	for (int round = 0; round < 3000; round++) {
		struct chg x[3];
		size_t n = 1 + (size_t)(rand_r(&seed) % 3);
		int picked[3];
		for (size_t i = 0; i < n; i++) {
			int k = rand_r(&seed) % NAMES;
			picked[i] = k;
			char owner[64];
			snprintf(owner, sizeof(owner), "h%d.g%d.d%d", k, k % 17, k % 5);
			bool add = rand_r(&seed) % 2;
			uint8_t ip[4] = {10, 0, (uint8_t)(k >> 8), (uint8_t)k};
			chg_set(&x[i], owner, RR_A, ip, 4, add ? 1 : 0);
		}
		struct zone *next = apply_ok(z, x, n);
		for (size_t i = 0; i < n; i++)
			present[picked[i]] = x[i].c.count > 0;
		if (round % 7 == 0) { /* sometimes thrown away instead of published */
			zone_discard(next);
			for (size_t i = 0; i < n; i++) {
				char owner[64];
				snprintf(owner, sizeof(owner), "h%d.g%d.d%d", picked[i], picked[i] % 17, picked[i] % 5);
				present[picked[i]] = find(z, owner) && zone_node_rrset(find(z, owner), RR_A);
			}
			continue;
		}
		z = publish(z, next);
	}
	size_t expect_nodes = 6; /* apex, ns1, www, a.b.c, b.c, c */
	bool g[17][5] = {{0}}, d[5] = {0};
	for (int k = 0; k < NAMES; k++) {
		char owner[64];
		snprintf(owner, sizeof(owner), "h%d.g%d.d%d", k, k % 17, k % 5);
		const struct zone_node *n = find(z, owner);
		if (present[k] != (n != NULL))
			fail_msg("%s: expected %s", owner, present[k] ? "present" : "absent");
		if (present[k]) {
			expect_nodes++;
			g[k % 17][k % 5] = d[k % 5] = true;
			const uint8_t want[2] = {(uint8_t)(k >> 8), (uint8_t)k};
			assert_memory_equal(rdata_bytes(zone_node_rrset(n, RR_A)->rdata) + 2, want, 2);
		}
	}
	for (int i = 0; i < 17; i++)
		for (int j = 0; j < 5; j++) {
			char owner[64];
			snprintf(owner, sizeof(owner), "g%d.d%d", i, j);
			assert_int_equal(find(z, owner) != NULL, g[i][j]);
			expect_nodes += g[i][j];
		}
	for (int j = 0; j < 5; j++)
		expect_nodes += d[j];
	assert_int_equal(z->nnodes, expect_nodes);
	size_t counted = 0;
	const struct zone_node **all;
	assert_int_equal(zone_nodes_sorted(z, &all, &counted), 0);
	free(all);
	assert_int_equal(counted, expect_nodes);
	zone_free(z);
}

/* Hash collisions: nodes with equal hashes share a collision list in the trie. */
static void test_trie_collisions(void **state)
{
	(void)state;
	struct zone_garbage *fresh = NULL, *retired = NULL;
	size_t dead = 0;
	struct trie_ctx c = {&fresh, &retired, &dead};
	struct zone_node nodes[5];
	uint8_t names[5][8];
	uintptr_t root = 0;
	for (int i = 0; i < 5; i++) {
		names[i][0] = 1;
		names[i][1] = (uint8_t)('a' + i);
		names[i][2] = 0;
		nodes[i] = (struct zone_node){
		    .owner = names[i], .owner_len = 3, .labels = 1, .hash = i < 3 ? 0xdeadbeef : 0xdeadbeee};
		const struct zone_node *old;
		assert_int_equal(trie_set(&c, root, &nodes[i], &root, &old), 0);
		assert_null(old);
	}
	for (int i = 0; i < 5; i++)
		assert_ptr_equal(trie_find(root, nodes[i].hash, names[i], 3), &nodes[i]);
	assert_null(trie_find(root, 0xdeadbeef, (const uint8_t *)"\1z", 3));
	/* replace inside the collision list, then remove down to one leaf */
	struct zone_node again = nodes[1];
	const struct zone_node *old;
	assert_int_equal(trie_set(&c, root, &again, &root, &old), 0);
	assert_ptr_equal(old, &nodes[1]);
	assert_ptr_equal(trie_find(root, 0xdeadbeef, names[1], 3), &again);
	assert_int_equal(trie_remove(&c, root, &nodes[0], &root), 0);
	assert_int_equal(trie_remove(&c, root, &again, &root), 0);
	assert_ptr_equal(trie_find(root, 0xdeadbeef, names[2], 3), &nodes[2]);
	assert_null(trie_find(root, 0xdeadbeef, names[0], 3));
	for (int i = 2; i < 5; i++)
		assert_int_equal(trie_remove(&c, root, &nodes[i], &root), 0);
	assert_int_equal(root, 0);
	garbage_free_items(fresh); /* everything made here, reachable or replaced */
	garbage_free(fresh);
	garbage_free(retired);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replace_keeps_prev),
	    cmocka_unit_test(test_new_name_makes_ents_and_delete_removes_them),
	    cmocka_unit_test(test_data_at_an_ent_and_back),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_serial_and_delegation_flags),
	    cmocka_unit_test(test_many_siblings_in_one_batch),
	    cmocka_unit_test(test_random_churn),
	    cmocka_unit_test(test_trie_collisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
