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
	uint32_t ttls[16]; /* when c.ttls points here: each record's TTL */
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
	struct zone_apply_error e;
	int rc = zone_apply(prev, c, n, &next, &e);
	if (rc != 0)
		fail_msg("apply failed: %s", e.msg);
	return next;
}

/* Publishes next in place of prev, as zones_publish() does, and frees prev. */
static struct zone *publish(struct zone *prev, struct zone *next)
{
	zone_supersede(prev, next);
	zone_free(prev);
	return next;
}

/* Expects the batch refused with want in the message; returns the index of the change named. */
static size_t apply_fail(const struct zone *prev, struct chg *x, size_t n, const char *want)
{
	struct zone_change c[16];
	for (size_t i = 0; i < n; i++)
		c[i] = x[i].c;
	struct zone *next = (struct zone *)1;
	struct zone_apply_error e;
	assert_int_equal(zone_apply(prev, c, n, &next, &e), TERN_EZONE);
	assert_ptr_equal(next, (struct zone *)1);
	assert_int_equal(e.code, TERN_EZONE);
	assert_true(e.problems >= 1);
	assert_true(e.change < n);
	if (!strstr(e.msg, want))
		fail_msg("expected \"%s\" in \"%s\"", want, e.msg);
	assert_null(strstr(e.msg, "changes[")); /* the index is a field, not text */
	return e.change;
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
	assert_int_equal(apply_fail(z, x, 2, "out-of-zone"), 1); /* the index of the bad change */
	assert_null(find(z, "good"));
	chg_set(&x[0], "bad.example.org.", RR_A, "\1\2\3\4", 4, 1);
	chg_set(&x[1], "good", RR_A, "\1\2\3\4", 4, 1);
	assert_int_equal(apply_fail(z, x, 2, "out-of-zone"), 0);
	zone_discard(next);
	zone_free(z);
}

/* One TXT record of exactly len octets of RDATA at big.example.com. (17 octets), in rrset layout. */
static struct zone_change big_txt(uint8_t *buf, uint8_t *owner, size_t len)
{
	assert_true(name_from_text(owner, "big.example.com.", NULL) == 17);
	wire_put16(buf, (uint16_t)len);
	for (size_t off = 0; off < len;) {
		size_t n = len - off - 1 < 255 ? len - off - 1 : 255;
		buf[2 + off] = (uint8_t)n;
		memset(buf + 3 + off, 't', n);
		off += 1 + n;
	}
	return (struct zone_change){
	    .owner = owner, .type = RR_TXT, .ttl = 300, .count = 1, .rdata = buf, .rdata_size = (uint32_t)(2 + len)};
}

/* The bound of zone.h holds for changes as for zone files: the largest RRset goes in, one octet
 * more is refused naming the owner, the type and the size, and the zone is left as it was. */
static void test_rrset_too_large(void **state)
{
	(void)state;
	struct zone *z = load();
	uint8_t *buf = malloc(65536 + 2), owner[NAME_MAXLEN];
	assert_non_null(buf);
	size_t max = ZONE_MSG_MAX - ZONE_RRSET_OVERHEAD - 17 - 12;
	struct zone_change c = big_txt(buf, owner, max + 1);
	struct zone *next = (struct zone *)1;
	struct zone_apply_error e;
	assert_int_equal(zone_apply(z, &c, 1, &next, &e), TERN_EZONE);
	assert_ptr_equal(next, (struct zone *)1);
	assert_int_equal(e.change, 0);
	if (!strstr(e.msg, "the TXT RRset at big.example.com. is too large: a response carrying it "
	                   "takes 65536 octets"))
		fail_msg("unexpected: %s", e.msg);
	assert_null(find(z, "big"));
	c = big_txt(buf, owner, max);
	assert_int_equal(zone_apply(z, &c, 1, &next, &e), 0);
	assert_int_equal(zone_node_rrset(find(next, "big"), RR_TXT)->rdata_size, 2 + max);
	zone_discard(next);
	free(buf);
	zone_free(z);
}

/* RFC 6672 2.3 through changes: whichever comes first, the DNAME or the name below it, the
 * second is refused, naming both; a batch is judged once all of it is in. */
static void test_dname_rules(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[2];
	uint8_t target[NAME_MAXLEN];
	uint16_t tl = (uint16_t)name_from_text(target, "example.net.", NULL);
	/* a DNAME above existing names: the first below it in canonical order is named */
	chg_set(&x[0], "c", RR_DNAME, target, tl, 1);
	apply_fail(z, x, 1, "DNAME at c.example.com. has data below it, at a.b.c.example.com.");
	chg_set(&x[0], "@", RR_DNAME, target, tl, 1);
	apply_fail(z, x, 1, "DNAME at example.com. has data below it, at a.b.c.example.com.");
	/* a name below an existing DNAME, however deep */
	chg_set(&x[0], "moved", RR_DNAME, target, tl, 1);
	struct zone *next = publish(z, apply_ok(z, x, 1));
	chg_set(&x[0], "x.y.moved", RR_A, "", 4, 1);
	apply_fail(next, x, 1, "DNAME at moved.example.com. has data below it, at x.y.moved.example.com.");
	/* both in one batch, in either order */
	chg_set(&x[0], "y.d", RR_A, "", 4, 1);
	chg_set(&x[1], "d", RR_DNAME, target, tl, 1);
	apply_fail(next, x, 2, "DNAME at d.example.com. has data below it, at y.d.example.com.");
	/* a DNAME at a delegation point */
	chg_set(&x[0], "moved", RR_NS, target, tl, 1);
	apply_fail(next, x, 1, "DNAME beside NS at moved.example.com.: a delegation point cannot hold a DNAME");
	/* the names below go in the same batch as the DNAME comes: fine */
	chg_set(&x[0], "a.b.c", RR_A, NULL, 0, 0);
	chg_set(&x[1], "c", RR_DNAME, target, tl, 1);
	struct zone *last = apply_ok(next, x, 2);
	assert_true(find(last, "c")->flags & NODE_DNAME);
	assert_null(find(last, "b.c"));
	/* data beside the DNAME stays allowed, and the DNAME can go with its subtree empty */
	chg_set(&x[0], "c", RR_A, "", 4, 1);
	last = publish(next, last);
	next = apply_ok(last, x, 1);
	zone_discard(next);
	zone_free(last);
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
	assert_int_equal(zone_apply(z, c, N, &next, NULL), 0);
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

/* The RRSIGs of a name, two covered types with RDATA of a and t octets (signer: the apex), as one
 * change: every signature at the name, each with its TTL. */
static struct zone_change big_sigs(uint8_t *buf, uint8_t *owner, uint32_t *ttls, size_t a, size_t t)
{
	assert_true(name_from_text(owner, "big.example.com.", NULL) == 17);
	size_t off = 0, len[2] = {a, t};
	uint16_t covered[2] = {RR_A, RR_TXT};
	for (int i = 0; i < 2; i++) {
		uint8_t *rd = buf + off + 2;
		wire_put16(buf + off, (uint16_t)len[i]);
		wire_put16(rd, covered[i]);
		memset(rd + 2, 0, 16);
		rd[2] = 13;
		memcpy(rd + 18, apex, name_len(apex));
		memset(rd + 18 + name_len(apex), 's', len[i] - 18 - name_len(apex));
		off += 2 + len[i];
		ttls[i] = i ? 3600 : 300;
	}
	return (struct zone_change){.owner = owner,
	                            .type = RR_RRSIG,
	                            .ttl = 300,
	                            .count = 2,
	                            .rdata = buf,
	                            .rdata_size = (uint32_t)off,
	                            .ttls = ttls};
}

/* The bound holds for every RRSIG at a name together, as zone_build() has it (zone.h): two groups
 * far below it each fit exactly together, one octet more is refused naming the name. */
static void test_rrsigs_too_large_together(void **state)
{
	(void)state;
	struct zone *z = load();
	uint8_t *buf = malloc(65536 + 4), owner[NAME_MAXLEN];
	uint32_t ttls[2];
	assert_non_null(buf);
	size_t both = ZONE_MSG_MAX - ZONE_RRSET_OVERHEAD - 17 - 2 * 12;
	struct zone_change c = big_sigs(buf, owner, ttls, both / 2, both - both / 2 + 1);
	struct zone *next = (struct zone *)1;
	struct zone_apply_error e;
	assert_int_equal(zone_apply(z, &c, 1, &next, &e), TERN_EZONE);
	assert_ptr_equal(next, (struct zone *)1);
	assert_int_equal(e.change, 0);
	if (!strstr(e.msg, "the RRSIGs at big.example.com. are too large: a response to a query for them "
	                   "carries every one at the name and takes 65536 octets"))
		fail_msg("unexpected: %s", e.msg);
	c = big_sigs(buf, owner, ttls, both / 2, both - both / 2);
	assert_int_equal(zone_apply(z, &c, 1, &next, &e), 0);
	const struct zone_node *n = find(next, "big");
	assert_int_equal(zone_node_rrsig(n, RR_A)->ttl, 300);
	assert_int_equal(zone_node_rrsig(n, RR_TXT)->ttl, 3600);
	zone_discard(next);
	free(buf);
	zone_free(z);
}

/* ---- zone_diff(): the difference between versions, RRset by RRset ---- */

/* A zone's records as text keys "owner type ttl rdata-hex" (owner lower-cased), sorted. */
struct recs {
	char **k;
	size_t n, cap;
};

static void recs_push(struct recs *r, char *key)
{
	assert_non_null(key);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->k = realloc(r->k, r->cap * sizeof(*r->k));
		assert_non_null(r->k);
	}
	r->k[r->n++] = key;
}

static void recs_add(struct recs *r, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                     uint16_t rdlen)
{
	char text[NAME_MAXLEN * 4 + 1], *key = malloc(sizeof(text) + 32 + 2 * (size_t)rdlen);
	uint8_t low[NAME_MAXLEN];
	name_lower_copy(low, owner, name_len(owner));
	name_to_text(low, text, sizeof(text));
	int off = sprintf(key, "%s %u %u ", text, type, ttl);
	for (uint16_t i = 0; i < rdlen; i++)
		off += sprintf(key + off, "%02x", rd[i]);
	recs_push(r, key);
}

static void recs_add_rrset(struct recs *r, const uint8_t *owner, const struct rrset *rs)
{
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec))
		recs_add(r, owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec));
}

/* The records of a change as zone_diff() reports them, each with its own TTL. */
static void recs_add_change(struct recs *r, const uint8_t *owner, const struct zone_change *c)
{
	const uint8_t *rec = c->rdata;
	for (uint16_t i = 0; i < c->count; i++, rec = rdata_next(rec))
		recs_add(r, owner, c->type, c->ttls ? c->ttls[i] : c->ttl, rdata_bytes(rec), rdata_len(rec));
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_node(void *arg, const struct zone_node *n)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		recs_add_rrset(arg, n->owner, &n->rrsets[i]);
	return 0;
}

static struct recs zone_recs(const struct zone *z)
{
	struct recs r = {0};
	zone_foreach(z, add_node, &r);
	qsort(r.k, r.n, sizeof(*r.k), key_cmp);
	return r;
}

static void recs_free(struct recs *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->k[i]);
	free(r->k);
}

/* What a secondary does with a journal entry: every removed record must be there, every added
 * one must not. */
struct follow {
	struct recs state;
	int calls;
	int mixed_sigs; /* RRSIG reports whose signatures carry more than one TTL */
	const char *trouble;
};

static bool ttls_differ(const struct zone_change *c)
{
	for (uint16_t i = 1; c && c->ttls && i < c->count; i++)
		if (c->ttls[i] != c->ttls[0])
			return true;
	return false;
}

static int follow_rrset(void *arg, const uint8_t *owner, uint16_t type, const struct zone_change *old,
                        const struct zone_change *now)
{
	struct follow *f = arg;
	struct recs out = {0}, in = {0};
	f->calls++;
	assert_true(old || now);
	assert_true(!old || (old->type == type && name_equal(old->owner, owner)));
	assert_true(!now || (now->type == type && name_equal(now->owner, owner)));
	/* RRSIG comes whole, each record with its TTL; other types with one TTL */
	assert_true(!old || (old->ttls != NULL) == (type == RR_RRSIG));
	assert_true(!now || (now->ttls != NULL) == (type == RR_RRSIG));
	f->mixed_sigs += ttls_differ(old) || ttls_differ(now);
	if (old)
		recs_add_change(&out, owner, old);
	if (now)
		recs_add_change(&in, owner, now);
	if (out.n)
		qsort(out.k, out.n, sizeof(*out.k), key_cmp);
	if (in.n)
		qsort(in.k, in.n, sizeof(*in.k), key_cmp);
	bool same = out.n == in.n;
	for (size_t i = 0; same && i < out.n; i++)
		same = strcmp(out.k[i], in.k[i]) == 0;
	if (same && !f->trouble)
		f->trouble = "reports an RRset that did not change (records and TTLs)";
	for (size_t i = 0; i < out.n && !f->trouble; i++) {
		size_t j = 0;
		while (j < f->state.n && strcmp(f->state.k[j], out.k[i]) != 0)
			j++;
		if (j == f->state.n) {
			f->trouble = "removes a record the previous version does not hold";
			break;
		}
		free(f->state.k[j]);
		f->state.k[j] = f->state.k[--f->state.n];
	}
	for (size_t i = 0; i < in.n && !f->trouble; i++) {
		for (size_t j = 0; j < f->state.n; j++)
			if (strcmp(f->state.k[j], in.k[i]) == 0)
				f->trouble = "adds a record that is there already";
		recs_push(&f->state, strdup(in.k[i]));
	}
	recs_free(&out);
	recs_free(&in);
	return 0;
}

/* An RRSIG's RDATA (signer: the apex) covering type, told apart by its key tag. */
static uint16_t sig_rdata(uint8_t *out, uint16_t covered, uint16_t tag)
{
	static const uint8_t fixed[] = {13, 3, 0, 0, 0x0e, 0x10, 0x7d, 0x2b, 0x75, 0x00, 0x65, 0x53, 0xf1, 0x00};
	wire_put16(out, covered);
	memcpy(out + 2, fixed, sizeof(fixed));
	wire_put16(out + 16, tag);
	size_t n = name_len(apex);
	memcpy(out + 18, apex, n);
	memcpy(out + 18 + n, "\x01\x02\x03\x04", 4);
	return (uint16_t)(18 + n + 4);
}

/* One random change of a batch: a deletion, the RRset as it stands restated (records reversed,
 * sometimes a TTL changed: for RRSIG one record's), or 1 to 3 distinct records out of 4 (RRSIG:
 * 1 to 4 out of 6, two covered types each signed twice plus one, each record its own TTL). */
static void random_change(struct chg *x, const struct zone *z, const char *owner, uint16_t type, unsigned *seed)
{
	int what = rand_r(seed) % 10;
	const struct zone_node *node = find(z, owner);
	struct zone_change cur = {0};
	bool have = node && zone_node_change(node, type, &cur) == 0;
	assert_true(name_from_text(x->owner, owner, apex) > 0);
	x->c = (struct zone_change){.owner = x->owner, .type = type, .rdata = x->rdata};
	if (what < 2 && owner[0] != '@') {
		x->c.rdata = NULL;
	} else if (what < 5 && have) { /* restated, records reversed, sometimes another TTL */
		const uint8_t *recs[64];
		const uint8_t *rec = cur.rdata;
		for (uint16_t r = 0; r < cur.count; r++, rec = rdata_next(rec))
			recs[r] = rec;
		size_t off = 0;
		for (uint16_t r = cur.count; r-- > 0;) {
			memcpy(x->rdata + off, recs[r], 2u + rdata_len(recs[r]));
			off += 2u + rdata_len(recs[r]);
			if (cur.ttls)
				x->ttls[cur.count - 1 - r] = cur.ttls[r];
		}
		x->c.count = cur.count;
		x->c.rdata_size = (uint32_t)off;
		x->c.ttl = rand_r(seed) % 3 ? cur.ttl : 60;
		if (cur.ttls) { /* one signature's TTL changes: its group's may, or stay the lowest */
			x->c.ttls = x->ttls;
			if (rand_r(seed) % 2)
				x->ttls[rand_r(seed) % cur.count] = rand_r(seed) % 2 ? 60 : 86400;
		}
	} else if (type == RR_RRSIG) {
		static const uint16_t covered[] = {RR_A, RR_A, RR_TXT, RR_TXT, RR_MX, RR_A};
		static const uint32_t ttl[] = {60, 300, 3600};
		uint16_t count = (uint16_t)(1 + rand_r(seed) % 4), first = (uint16_t)(rand_r(seed) % 6);
		size_t off = 0;
		for (uint16_t r = 0; r < count; r++) {
			uint16_t v = (uint16_t)((first + r) % 6);
			uint16_t len = sig_rdata(x->rdata + off + 2, covered[v], (uint16_t)(1 + v));
			wire_put16(x->rdata + off, len);
			off += 2u + len;
			x->ttls[r] = ttl[rand_r(seed) % 3];
		}
		x->c.count = count;
		x->c.rdata_size = (uint32_t)off;
		x->c.ttl = 300;
		x->c.ttls = rand_r(seed) % 4 ? x->ttls : NULL;
	} else {
		uint16_t count = (uint16_t)(1 + rand_r(seed) % 3), first = (uint16_t)(rand_r(seed) % 4);
		size_t off = 0;
		for (uint16_t r = 0; r < count; r++) {
			uint8_t v = (uint8_t)((first + r) % 4);
			uint8_t a[4] = {192, 0, 2, v}, t[3] = {2, 't', (uint8_t)('0' + v)};
			wire_put16(x->rdata + off, type == RR_A ? 4 : 3);
			memcpy(x->rdata + off + 2, type == RR_A ? a : t, type == RR_A ? 4 : 3);
			off += 2u + (type == RR_A ? 4 : 3);
		}
		x->c.count = count;
		x->c.rdata_size = (uint32_t)off;
		x->c.ttl = rand_r(seed) % 2 ? 300 : 60;
	}
	free((void *)cur.rdata);
	free((void *)cur.ttls);
}

/* For 3,000 random batches (seeded) that repeat an RRset, restate it in another order or with
 * another TTL, delete what is absent, and spell owners in other cases, with RRSIGs of several
 * covered types and TTLs among them: the previous version with what zone_diff() reports removed
 * and added is the next version, each record with its TTL (RRSIG: the TTL of its covered type's
 * group), and RRsets the batch leaves as they were are not reported. */
static void test_diff_is_the_difference(void **state)
{
	(void)state;
	struct zone *z = load();
	static const char *const owners[] = {
	    "www", "WWW", "Www.Example.COM.", "mail", "a.b", "A.B", "deep.a.b", "x", "@", "n1", "n2", "n3"};
	static const uint16_t types[] = {RR_A, RR_TXT, RR_RRSIG};
	unsigned seed = 4242;
	int reported = 0, silent = 0, mixed = 0, sig_rounds = 0;
	for (int round = 0; round < 3000; round++) {
		struct chg x[8];
		size_t n = 1 + (size_t)(rand_r(&seed) % 8);
		bool sigs = false;
		for (size_t i = 0; i < n; i++) {
			const char *owner = owners[rand_r(&seed) % 12];
			uint16_t type = types[rand_r(&seed) % 3];
			if (owner[0] == '@' && type == RR_A)
				type = RR_TXT;
			sigs |= type == RR_RRSIG;
			random_change(&x[i], z, owner, type, &seed);
		}
		struct zone_change c[8];
		for (size_t i = 0; i < n; i++)
			c[i] = x[i].c;
		struct zone *next = apply_ok(z, x, n);
		struct follow f = {.state = zone_recs(z)};
		assert_int_equal(zone_diff(z, next, c, n, follow_rrset, &f), 0);
		if (f.trouble)
			fail_msg("round %d (seed 4242): the difference %s", round, f.trouble);
		qsort(f.state.k, f.state.n, sizeof(*f.state.k), key_cmp);
		struct recs want = zone_recs(next);
		assert_int_equal(f.state.n, want.n);
		for (size_t i = 0; i < want.n; i++)
			if (strcmp(f.state.k[i], want.k[i]) != 0)
				fail_msg(
				    "round %d (seed 4242): previous version + difference has %s where the next has %s",
				    round, f.state.k[i], want.k[i]);
		reported += f.calls;
		silent += f.calls == 0;
		mixed += f.mixed_sigs;
		sig_rounds += sigs;
		recs_free(&f.state);
		recs_free(&want);
		z = publish(z, next);
	}
	/* both kinds of batch happened, and many carried signatures of differing TTLs */
	assert_true(reported > 3000 && silent > 50);
	assert_true(sig_rounds > 1000 && mixed > 500);
	zone_free(z);
}

/* A batch that only restates RRsets (another order, another owner case) reports nothing; one
 * change reported once however often the batch repeats it. */
static void test_diff_skips_restatements(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[3];
	chg_set(&x[0], "WWW", RR_A, "\xc0\0\2\x50", 4, 1);
	chg_set(&x[1], "nothing.here", RR_TXT, NULL, 0, 0);
	chg_set(&x[2], "www", RR_A, "\xc0\0\2\x50", 4, 1);
	x[0].c.ttl = x[2].c.ttl = 3600;
	struct zone *next = apply_ok(z, x, 3);
	struct zone_change c[3] = {x[0].c, x[1].c, x[2].c};
	struct follow f = {.state = zone_recs(z)};
	assert_int_equal(zone_diff(z, next, c, 3, follow_rrset, &f), 0);
	assert_int_equal(f.calls, 0);
	zone_discard(next);
	recs_free(&f.state);
	/* put, then put again, then delete: one report, the RRset gone */
	chg_set(&x[0], "www", RR_A, "\xc0\0\2\x51", 4, 1);
	chg_set(&x[1], "WWW", RR_A, "\xc0\0\2\x52", 4, 1);
	chg_set(&x[2], "www", RR_A, NULL, 0, 0);
	next = apply_ok(z, x, 3);
	struct zone_change d[3] = {x[0].c, x[1].c, x[2].c};
	f = (struct follow){.state = zone_recs(z)};
	assert_int_equal(zone_diff(z, next, d, 3, follow_rrset, &f), 0);
	assert_int_equal(f.calls, 1);
	assert_null(f.trouble);
	assert_null(find(next, "www"));
	zone_discard(next);
	recs_free(&f.state);
	zone_free(z);
}

/* Signatures of covered types with their own TTLs at one name. */
static void sigs_set(struct chg *x, const char *owner, const uint16_t *covered, const uint32_t *ttls, uint16_t n)
{
	chg_set(x, owner, RR_RRSIG, NULL, 0, 0);
	size_t off = 0;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t len = sig_rdata(x->rdata + off + 2, covered[i], (uint16_t)(i + 1));
		wire_put16(x->rdata + off, len);
		off += 2u + len;
		x->ttls[i] = ttls[i];
	}
	x->c.count = n;
	x->c.rdata = x->rdata;
	x->c.rdata_size = (uint32_t)off;
	x->c.ttls = x->ttls;
}

/* RRSIG: zone_diff() compares every signature at the name with its TTL, and reports them whole on
 * both sides, each record with its TTL: a restatement in another order says nothing; one covered
 * type's TTL changing sends every signature at the name out and in. */
static void test_diff_rrsig_whole(void **state)
{
	(void)state;
	struct zone *z = load();
	struct chg x[1];
	static const uint16_t covered[3] = {RR_A, RR_TXT, RR_MX};
	static const uint32_t ttls[3] = {300, 3600, 60};
	sigs_set(&x[0], "www", covered, ttls, 3);
	z = publish(z, apply_ok(z, x, 1));
	assert_int_equal(zone_node_rrsig(find(z, "www"), RR_TXT)->ttl, 3600);
	/* the same signatures, each with its TTL, in the reverse order and another owner case */
	struct chg y[1];
	chg_set(&y[0], "WWW", RR_RRSIG, NULL, 0, 0);
	size_t off = 0;
	for (int i = 2; i >= 0; i--) {
		uint16_t len = sig_rdata(y[0].rdata + off + 2, covered[i], (uint16_t)(i + 1));
		wire_put16(y[0].rdata + off, len);
		off += 2u + len;
		y[0].ttls[2 - i] = ttls[i];
	}
	y[0].c.count = 3;
	y[0].c.rdata = y[0].rdata;
	y[0].c.rdata_size = (uint32_t)off;
	y[0].c.ttls = y[0].ttls;
	struct zone *next = apply_ok(z, y, 1);
	struct follow f = {.state = zone_recs(z)};
	assert_int_equal(zone_diff(z, next, &y[0].c, 1, follow_rrset, &f), 0);
	assert_int_equal(f.calls, 0);
	zone_discard(next);
	recs_free(&f.state);
	/* the TXT signature's TTL alone changes: all three go out and come back, each with its TTL */
	sigs_set(&x[0], "www", covered, (const uint32_t[]){300, 600, 60}, 3);
	next = apply_ok(z, x, 1);
	f = (struct follow){.state = zone_recs(z)};
	assert_int_equal(zone_diff(z, next, &x[0].c, 1, follow_rrset, &f), 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.mixed_sigs, 1);
	assert_null(f.trouble);
	qsort(f.state.k, f.state.n, sizeof(*f.state.k), key_cmp);
	struct recs want = zone_recs(next);
	assert_int_equal(f.state.n, want.n);
	for (size_t i = 0; i < want.n; i++)
		assert_string_equal(f.state.k[i], want.k[i]);
	recs_free(&want);
	recs_free(&f.state);
	zone_discard(next);
	zone_free(z);
}

/* Heap objects a version holds that are not nodes: trie branches, collision lists, order blocks. */
static size_t fresh_structure(const struct zone *z)
{
	size_t k = 0;
	for (size_t i = 0; z->fresh && i < z->fresh->n; i++)
		k += z->fresh->items[i] && (z->fresh->items[i] & 3) != TRIE_LEAF;
	return k;
}

/* A batch touching every name (a whole-zone signing, an import into an empty zone) makes each
 * trie branch and order block once: what the batch made and replaced again is freed at once, not
 * kept until the old version goes (before, every change copied its whole path: about five objects
 * a name, most of a whole-zone signing's peak). Then the whole zone again, in one more batch. */
static void test_big_batch_makes_each_path_once(void **state)
{
	(void)state;
	enum { N = 4000 };
	static struct chg x[N];
	struct zone *z = load();
	struct zone_change c[N];
	for (int i = 0; i < N; i++) {
		char owner[32];
		snprintf(owner, sizeof(owner), "n%d.g%d", i, i % 50);
		uint8_t rd[64];
		size_t len = name_len(apex);
		memcpy(rd, apex, len); /* NSEC to the apex: the order view is built as well */
		memcpy(rd + len, (const uint8_t[]){0, 1, 0x40}, 3);
		chg_set(&x[i], owner, RR_NSEC, rd, (uint16_t)(len + 3), 1);
		c[i] = x[i].c;
	}
	struct zone *next = NULL;
	assert_int_equal(zone_apply(z, c, N, &next, NULL), 0);
	size_t made = fresh_structure(next);
	assert_true(made < N / 2); /* branches and blocks of one version, not five a name */
	for (int i = 0; i < N; i += 97) {
		char owner[32];
		snprintf(owner, sizeof(owner), "n%d.g%d", i, i % 50);
		assert_non_null(zone_node_rrset(find(next, owner), RR_NSEC));
	}
	next = publish(z, next);
	/* every name again, with another bitmap: each node replaced in one batch */
	for (int i = 0; i < N; i++) {
		x[i].rdata[2 + name_len(apex) + 2] = 0x60;
		c[i] = x[i].c;
	}
	struct zone *again = NULL;
	assert_int_equal(zone_apply(next, c, N, &again, NULL), 0);
	assert_true(fresh_structure(again) < N / 2);
	zone_supersede(next, again);
	zone_free(next);
	zone_free(again);
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

/* zone_changed_nodes() against the definition: over 300 random batches on a zone of 2,000 names,
 * compared two and three versions apart (the versions between superseded, as the server does),
 * the names reported are exactly those whose nodes differ, each once, with prev's and next's
 * nodes; a one-name change reports that name and its few copied ancestors only. */
struct seen {
	const struct zone *other; /* the snapshot the node is looked up in */
	const struct zone_node **v;
	size_t n, cap;
	size_t reported;
	const struct zone *prev, *next;
};

static void seen_push(struct seen *s, const struct zone_node *n)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n++] = n;
}

static int differs(void *arg, const struct zone_node *n)
{
	struct seen *s = arg;
	if (zone_find(s->other, n->owner, n->owner_len) != n)
		seen_push(s, n);
	return 0;
}

static int reported(void *arg, const struct zone_node *old, const struct zone_node *now)
{
	struct seen *s = arg;
	assert_true(old || now);
	assert_true(old != now);
	const struct zone_node *any = old ? old : now;
	assert_ptr_equal(zone_find(s->prev, any->owner, any->owner_len), old);
	assert_ptr_equal(zone_find(s->next, any->owner, any->owner_len), now);
	s->reported++;
	return 0;
}

static void check_changed(const struct zone *prev, const struct zone *next)
{
	/* every name whose node differs, from either side, counted once */
	struct seen want = {.other = next};
	zone_foreach(prev, differs, &want);
	size_t from_prev = want.n;
	want.other = prev;
	zone_foreach(next, differs, &want);
	size_t both = 0; /* names in both with different nodes were pushed twice */
	for (size_t i = from_prev; i < want.n; i++)
		both += zone_find(prev, want.v[i]->owner, want.v[i]->owner_len) != NULL;
	struct seen got = {.prev = prev, .next = next};
	assert_int_equal(zone_changed_nodes(prev, next, reported, &got), 0);
	assert_int_equal(got.reported, want.n - both);
	free(want.v);
}

static void test_changed_nodes(void **state)
{
	(void)state;
	struct zone *z = load();
	enum { NAMES = 2000 };
	for (int k = 0; k < NAMES; k += 16) {
		struct chg x[16];
		for (int i = 0; i < 16; i++) {
			char owner[64];
			uint8_t ip[4] = {10, 1, (uint8_t)((k + i) >> 8), (uint8_t)(k + i)};
			snprintf(owner, sizeof(owner), "h%d.g%d", k + i, (k + i) % 23);
			chg_set(&x[i], owner, RR_A, ip, 4, 1);
		}
		z = publish(z, apply_ok(z, x, 16));
	}
	unsigned seed = 777;
	for (int round = 0; round < 300; round++) {
		struct zone *v[4] = {z};
		int steps = 1 + rand_r(&seed) % 3;
		for (int s = 1; s <= steps; s++) {
			struct chg x[4];
			size_t n = 1 + (size_t)(rand_r(&seed) % 4);
			for (size_t i = 0; i < n; i++) {
				int k = rand_r(&seed) % (NAMES + 200); /* some names new */
				char owner[64];
				snprintf(owner, sizeof(owner), "h%d.g%d", k, k % 23);
				uint8_t ip[4] = {10, 2, (uint8_t)(k >> 8), (uint8_t)round};
				chg_set(&x[i], owner, RR_A, ip, 4, rand_r(&seed) % 3 ? 1 : 0);
			}
			v[s] = apply_ok(v[s - 1], x, n);
			zone_supersede(v[s - 1], v[s]);
		}
		check_changed(v[0], v[steps]);
		check_changed(v[steps], v[0]); /* the other way round: the same names */
		for (int s = 0; s < steps; s++)
			zone_free(v[s]);
		z = v[steps];
	}
	/* one name changed: it and the ancestors whose node was copied (none here: h1.g1 keeps its
	 * parent's child count), not the zone */
	struct chg one;
	uint8_t ip[4] = {10, 3, 3, 3};
	chg_set(&one, "h1.g1", RR_A, ip, 4, 1);
	struct zone *next = apply_ok(z, &one, 1);
	struct seen got = {.prev = z, .next = next};
	assert_int_equal(zone_changed_nodes(z, next, reported, &got), 0);
	assert_true(got.reported >= 1 && got.reported <= 3);
	/* unrelated snapshots: every name that differs (all of them) */
	struct zone *other = load();
	check_changed(z, other);
	zone_free(other);
	z = publish(z, next);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replace_keeps_prev),
	    cmocka_unit_test(test_new_name_makes_ents_and_delete_removes_them),
	    cmocka_unit_test(test_data_at_an_ent_and_back),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_rrset_too_large),
	    cmocka_unit_test(test_rrsigs_too_large_together),
	    cmocka_unit_test(test_dname_rules),
	    cmocka_unit_test(test_serial_and_delegation_flags),
	    cmocka_unit_test(test_many_siblings_in_one_batch),
	    cmocka_unit_test(test_random_churn),
	    cmocka_unit_test(test_diff_is_the_difference),
	    cmocka_unit_test(test_diff_skips_restatements),
	    cmocka_unit_test(test_diff_rrsig_whole),
	    cmocka_unit_test(test_trie_collisions),
	    cmocka_unit_test(test_changed_nodes),
	    cmocka_unit_test(test_big_batch_makes_each_path_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
