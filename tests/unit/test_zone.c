/* Unit tests for lib/zone: building snapshots from wire-form records, lookups, flags and the
 * validation errors with their "source:line:" prefixes. */
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
#include "lib/tsig.h"
#include "lib/wire.h"
#include "lib/zone.h"

#define SRC "test.zone"

static uint8_t apex[NAME_MAXLEN];

/* Owner text relative to the apex, into wire form. */
static void owner(uint8_t out[NAME_MAXLEN], const char *text)
{
	assert_true(name_from_text(out, text, apex) > 0);
}

/* Lower-cased wire name for lookups; returns its length. */
static size_t lname(uint8_t out[NAME_MAXLEN], const char *text)
{
	int n = name_from_text(out, text, apex);
	assert_true(n > 0);
	name_lower(out);
	return (size_t)n;
}

static void add(struct zone_builder *b, const char *own, uint16_t type, uint32_t ttl, const void *rd, size_t rdlen,
                uint32_t line)
{
	uint8_t o[NAME_MAXLEN];
	owner(o, own);
	assert_int_equal(zone_builder_add(b, o, type, ttl, rd, (uint16_t)rdlen, line), 0);
}

static void add_name(struct zone_builder *b, const char *own, uint16_t type, const char *target, uint32_t line)
{
	uint8_t t[NAME_MAXLEN];
	int n = name_from_text(t, target, apex);
	assert_true(n > 0);
	add(b, own, type, 3600, t, (size_t)n, line);
}

static void add_a(struct zone_builder *b, const char *own, uint8_t last, uint32_t line)
{
	uint8_t a[4] = {192, 0, 2, last};
	add(b, own, RR_A, 3600, a, 4, line);
}

/* SOA with the given serial and MINIMUM, owner TTL ttl. */
static void add_soa(struct zone_builder *b, const char *own, uint32_t ttl, uint32_t serial, uint32_t minimum,
                    uint32_t line)
{
	uint8_t rd[NAME_MAXLEN * 2 + 20];
	int n1 = name_from_text(rd, "ns1", apex);
	assert_true(n1 > 0);
	int n2 = name_from_text(rd + n1, "hostmaster", apex);
	assert_true(n2 > 0);
	uint8_t *p = rd + n1 + n2;
	wire_put32(p, serial);
	wire_put32(p + 4, 7200);
	wire_put32(p + 8, 900);
	wire_put32(p + 12, 1209600);
	wire_put32(p + 16, minimum);
	add(b, own, RR_SOA, ttl, rd, (size_t)(n1 + n2 + 20), line);
}

static struct zone_builder *new_builder(const char *apex_text)
{
	assert_true(name_from_text(apex, apex_text, NULL) > 0);
	struct zone_builder *b = zone_builder_new(apex);
	assert_non_null(b);
	return b;
}

/* A builder for example.com holding the SOA and two NS records, lines 1-3. */
static struct zone_builder *basic(void)
{
	struct zone_builder *b = new_builder("example.com.");
	add_soa(b, "@", 3600, 2024010101, 300, 1);
	add_name(b, "@", RR_NS, "ns1", 2);
	add_name(b, "@", RR_NS, "ns2.example.net.", 3);
	return b;
}

static struct zone *build_ok(struct zone_builder *b)
{
	struct zone *z = NULL;
	char err[1024];
	int rc = zone_build(b, SRC, &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("zone_build failed (%d): %s", rc, err);
	assert_non_null(z);
	return z;
}

/* Expects the build to fail and every line of the error text to start with SRC; returns the text. */
static const char *build_fail(struct zone_builder *b, char *err, size_t errlen)
{
	struct zone *z = NULL;
	int rc = zone_build(b, SRC, &z, err, errlen);
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	assert_true(strlen(err) > 0);
	for (const char *l = err; l; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		if (strncmp(l, SRC ":", strlen(SRC) + 1) != 0)
			fail_msg("error line without the source: %s", l);
	}
	return err;
}

static void expect_in(const char *err, const char *want)
{
	if (!strstr(err, want))
		fail_msg("expected \"%s\" in \"%s\"", want, err);
}

static const struct zone_node *find(const struct zone *z, const char *text)
{
	uint8_t n[NAME_MAXLEN];
	size_t len = lname(n, text);
	return zone_find(z, n, len);
}

static const struct zone_node *must_find(const struct zone *z, const char *text)
{
	const struct zone_node *n = find(z, text);
	if (!n)
		fail_msg("no node %s", text);
	return n;
}

/* ---- building and lookups ---- */

static void test_basic_zone(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "ns1", 1, 4);
	struct zone *z = build_ok(b);
	assert_int_equal(z->serial, 2024010101);
	assert_int_equal(z->nnodes, 2);
	assert_int_equal(z->nrecords, 4);
	assert_int_equal(z->apex_len, 13);
	assert_int_equal(z->apex_labels, 2);
	assert_memory_equal(z->apex, "\7example\3com", 13);
	const struct zone_node *ap = must_find(z, "@");
	assert_ptr_equal(ap, z->apex_node);
	assert_true(ap->flags & NODE_APEX);
	assert_int_equal(ap->children, 1); /* ns1 */
	assert_int_equal(ap->nrrsets, 2);
	assert_ptr_equal(z->soa, zone_node_rrset(ap, RR_SOA));
	const struct rrset *ns = zone_node_rrset(ap, RR_NS);
	assert_non_null(ns);
	assert_int_equal(ns->count, 2);
	assert_int_equal(ns->ttl, 3600);
	assert_int_equal(ns->dyn, 0);
	assert_null(zone_node_rrset(ap, RR_A));
	const struct zone_node *n1 = must_find(z, "ns1");
	assert_int_equal(n1->children, 0);
	assert_int_equal(n1->labels, 3);
	assert_int_equal(n1->owner_len, 17);
	assert_int_equal(n1->flags, 0);
	zone_free(z);
}

static void test_case_folding(void **state)
{
	(void)state;
	struct zone_builder *b = new_builder("Example.COM.");
	add_soa(b, "@", 3600, 1, 300, 1);
	add_name(b, "EXAMPLE.com.", RR_NS, "NS1.Example.com.", 2);
	add_a(b, "WwW", 1, 3);
	add_a(b, "mail", 2, 4);
	add(b, "WWW", RR_TXT, 3600, "\2hi", 3, 5); /* same owner, other spelling, not adjacent */
	add_a(b, "www", 3, 6);
	struct zone *z = build_ok(b);
	assert_memory_equal(z->apex, "\7example\3com", 13);
	const struct zone_node *w = must_find(z, "www");
	assert_memory_equal(w->owner, "\3www\7example\3com", 17);
	assert_int_equal(w->nrrsets, 2);
	assert_int_equal(zone_node_rrset(w, RR_A)->count, 2);
	assert_int_equal(zone_node_rrset(w, RR_TXT)->count, 1);
	assert_int_equal(z->nnodes, 3);
	/* lookups take lower-cased names: an upper-case key is not found */
	uint8_t up[NAME_MAXLEN];
	int len = name_from_text(up, "WWW.example.com.", NULL);
	assert_null(zone_find(z, up, (size_t)len));
	/* RDATA keeps its case */
	const struct rrset *ns = zone_node_rrset(z->apex_node, RR_NS);
	assert_memory_equal(rdata_bytes(ns->rdata), "\3NS1\7Example\3com", 17);
	zone_free(z);
}

static void test_empty_non_terminals(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "a.b.c", 1, 4);
	add_a(b, "x.y.b.c", 2, 5);
	add_a(b, "c", 3, 6); /* c exists in its own right: not an ENT */
	add_a(b, "p.q.r.s", 4, 7);
	struct zone *z = build_ok(b);
	const struct zone_node *abc = must_find(z, "a.b.c");
	const struct zone_node *bc = must_find(z, "b.c");
	const struct zone_node *c = must_find(z, "c");
	const struct zone_node *ybc = must_find(z, "y.b.c");
	assert_false(abc->flags & NODE_ENT);
	assert_true(bc->flags & NODE_ENT);
	assert_int_equal(bc->nrrsets, 0);
	assert_null(zone_node_rrset(bc, RR_A));
	assert_int_equal(bc->labels, 4);
	assert_int_equal(bc->owner_len, name_len(bc->owner));
	assert_memory_equal(bc->owner, "\1b\1c\7example\3com", 17);
	assert_false(c->flags & NODE_ENT);
	assert_true(ybc->flags & NODE_ENT);
	/* children: names exactly one label below */
	assert_int_equal(abc->children, 0);
	assert_int_equal(bc->children, 2); /* a.b.c, y.b.c */
	assert_int_equal(c->children, 1);
	assert_int_equal(ybc->children, 1);
	assert_int_equal(must_find(z, "x.y.b.c")->children, 0);
	/* a chain of three ENTs */
	assert_true(must_find(z, "q.r.s")->flags & NODE_ENT);
	assert_true(must_find(z, "r.s")->flags & NODE_ENT);
	assert_true(must_find(z, "s")->flags & NODE_ENT);
	assert_int_equal(must_find(z, "s")->children, 1);
	assert_int_equal(z->apex_node->children, 2); /* c, s */
	/* apex, a.b.c, b.c, c, x.y.b.c, y.b.c, p.q.r.s, q.r.s, r.s, s */
	assert_int_equal(z->nnodes, 10);
	assert_null(find(z, "b"));
	assert_null(find(z, "q"));
	zone_free(z);
}

static void test_canonical_node_order(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	const char *owners[] = {"zz", "a", "*.z", "\\200.z", "z", "yljkjljk.a", "Z.a", "zABC.a", "\\001.z", "m.n.o"};
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++)
		add_a(b, owners[i], (uint8_t)i, (uint32_t)(10 + i));
	struct zone *z = build_ok(b);
	const struct zone_node **nodes;
	size_t n;
	assert_int_equal(zone_nodes_sorted(z, &nodes, &n), 0);
	assert_int_equal(n, z->nnodes);
	assert_ptr_equal(nodes[0], z->apex_node);
	for (size_t i = 1; i < n; i++)
		assert_true(name_cmp(nodes[i - 1]->owner, nodes[i]->owner) < 0);
	/* every node is reachable through the index */
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(zone_find(z, nodes[i]->owner, nodes[i]->owner_len), nodes[i]);
	free(nodes);
	zone_free(z);
}

static void test_find_encloser(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "www", 1, 4);
	add_a(b, "a.b.c", 2, 5);
	struct zone *z = build_ok(b);
	uint8_t n[NAME_MAXLEN];
	bool exact = false;
	lname(n, "www");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), must_find(z, "www"));
	assert_true(exact);
	lname(n, "nothere");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), z->apex_node);
	assert_false(exact);
	lname(n, "@");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), z->apex_node);
	assert_true(exact);
	lname(n, "x.y.www");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), must_find(z, "www"));
	assert_false(exact);
	lname(n, "q.a.b.c");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), must_find(z, "a.b.c"));
	assert_false(exact);
	lname(n, "q.b.c"); /* an ENT is an existing node */
	assert_ptr_equal(zone_find_encloser(z, n, &exact), must_find(z, "b.c"));
	assert_false(exact);
	lname(n, "b.c");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), must_find(z, "b.c"));
	assert_true(exact);
	zone_free(z);
}

static void test_delegation_flags(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_name(b, "sub", RR_NS, "ns.sub", 4);
	add_name(b, "sub", RR_NS, "ns.example.net.", 5);
	add(b, "sub", RR_DS, 3600, "\xec\x45\x05\x01\x01\x02\x03\x04", 8, 6);
	add_a(b, "ns.sub", 1, 7); /* glue */
	add_a(b, "x.y.sub", 2, 8); /* occluded, with ENT y.sub */
	add_name(b, "deeper.sub", RR_NS, "ns.deeper.sub", 9); /* a cut below a cut */
	add_a(b, "notsub", 3, 10);
	add_a(b, "www", 4, 11);
	struct zone *z = build_ok(b);
	const struct zone_node *sub = must_find(z, "sub");
	assert_true(sub->flags & NODE_DELEG);
	assert_non_null(zone_node_rrset(sub, RR_DS));
	assert_int_equal(zone_node_rrset(sub, RR_NS)->count, 2);
	/* glue and occluded data are kept as names (the query path finds the cut above them) */
	assert_false(must_find(z, "ns.sub")->flags & NODE_DELEG);
	const struct zone_node *ysub = must_find(z, "y.sub");
	assert_true(ysub->flags & NODE_ENT);
	assert_non_null(must_find(z, "x.y.sub"));
	const struct zone_node *deeper = must_find(z, "deeper.sub");
	assert_true(deeper->flags & NODE_DELEG);
	assert_int_equal(sub->children, 3); /* ns, y, deeper */
	assert_false(must_find(z, "notsub")->flags & NODE_DELEG);
	assert_false(must_find(z, "www")->flags & NODE_DELEG);
	/* the apex has NS but is no cut */
	assert_false(z->apex_node->flags & NODE_DELEG);
	assert_true(z->apex_node->flags & NODE_APEX);
	zone_free(z);
}

static void test_wildcards(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "*.wild", 1, 4);
	add(b, "*", RR_TXT, 3600, "\4star", 5, 5);
	add_a(b, "plain", 2, 6);
	add_a(b, "*x.plain", 3, 7); /* not a wildcard */
	struct zone *z = build_ok(b);
	const struct zone_node *wild = must_find(z, "wild");
	assert_true(wild->flags & NODE_ENT);
	const struct zone_node *star = zone_wildcard_child(z, wild);
	assert_ptr_equal(star, must_find(z, "*.wild"));
	assert_non_null(zone_node_rrset(star, RR_A));
	assert_int_equal(wild->children, 1);
	assert_ptr_equal(zone_wildcard_child(z, z->apex_node), must_find(z, "*"));
	const struct zone_node *plain = must_find(z, "plain");
	assert_null(zone_wildcard_child(z, plain));
	assert_null(zone_wildcard_child(z, star));
	zone_free(z);
}

static void test_duplicates_merged(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "www", 10, 4);
	add_a(b, "www", 9, 5);
	add_a(b, "WWW", 10, 6); /* the same record again */
	add_a(b, "www", 10, 7);
	add_name(b, "@", RR_NS, "NS1", 8); /* RDATA differs in case: a different record */
	add_name(b, "@", RR_NS, "ns1", 9);
	struct zone *z = build_ok(b);
	const struct rrset *a = zone_node_rrset(must_find(z, "www"), RR_A);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->rdata_size, 12);
	const uint8_t *rec = a->rdata;
	assert_int_equal(rdata_len(rec), 4);
	assert_memory_equal(rdata_bytes(rec), "\xc0\x00\x02\x09", 4);
	rec = rdata_next(rec);
	assert_int_equal(rdata_len(rec), 4);
	assert_memory_equal(rdata_bytes(rec), "\xc0\x00\x02\x0a", 4);
	assert_ptr_equal(rdata_next(rec), a->rdata + a->rdata_size);
	assert_int_equal(zone_node_rrset(z->apex_node, RR_NS)->count, 3);
	assert_int_equal(z->nrecords, 1 + 3 + 2);
	zone_free(z);
}

static void test_rrset_order_and_contents(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8};
	aaaa[15] = 1;
	add(b, "www", RR_AAAA, 60, aaaa, 16, 4);
	add(b, "www", RR_TXT, 120, "\5hello\5world", 12, 5);
	add(b, "www", RR_TXT, 120, "\3abc\1x", 6, 6);
	add(b, "www", RR_TXT, 120, "\3abc", 4, 7); /* a prefix sorts first */
	add_a(b, "www", 1, 8);
	add(b, "www", 65000, 30, "\x0a\0\0\1", 4, 9);
	add(b, "www", 65000, 30, "", 0, 10); /* empty RDATA */
	uint8_t mx[NAME_MAXLEN + 2] = {0, 10};
	int n = name_from_text(mx + 2, "mail", apex);
	add(b, "www", RR_MX, 300, mx, (size_t)n + 2, 11);
	struct zone *z = build_ok(b);
	const struct zone_node *w = must_find(z, "www");
	assert_int_equal(w->nrrsets, 5);
	const uint16_t types[] = {RR_A, RR_MX, RR_TXT, RR_AAAA, 65000};
	const uint32_t ttls[] = {3600, 300, 120, 60, 30};
	for (int i = 0; i < 5; i++) {
		assert_int_equal(w->rrsets[i].type, types[i]);
		assert_int_equal(w->rrsets[i].ttl, ttls[i]);
		assert_ptr_equal(zone_node_rrset(w, types[i]), &w->rrsets[i]);
	}
	const struct rrset *txt = zone_node_rrset(w, RR_TXT);
	assert_int_equal(txt->count, 3);
	assert_int_equal(txt->rdata_size, 2 + 4 + 2 + 6 + 2 + 12);
	const uint8_t *rec = txt->rdata;
	assert_int_equal(rdata_len(rec), 4);
	assert_memory_equal(rdata_bytes(rec), "\3abc", 4);
	rec = rdata_next(rec);
	assert_int_equal(rdata_len(rec), 6);
	assert_memory_equal(rdata_bytes(rec), "\3abc\1x", 6);
	rec = rdata_next(rec);
	assert_int_equal(rdata_len(rec), 12);
	assert_memory_equal(rdata_bytes(rec), "\5hello\5world", 12);
	const struct rrset *unk = zone_node_rrset(w, 65000);
	assert_int_equal(unk->count, 2);
	rec = unk->rdata;
	assert_int_equal(rdata_len(rec), 0);
	rec = rdata_next(rec);
	assert_int_equal(rdata_len(rec), 4);
	assert_memory_equal(rdata_bytes(rec), "\x0a\0\0\1", 4);
	const struct rrset *m = zone_node_rrset(w, RR_MX);
	assert_int_equal(rdata_len(m->rdata), n + 2);
	assert_memory_equal(rdata_bytes(m->rdata), mx, (size_t)n + 2);
	const struct rrset *a6 = zone_node_rrset(w, RR_AAAA);
	assert_memory_equal(rdata_bytes(a6->rdata), aaaa, 16);
	zone_free(z);
}

/* An RRSIG's RDATA covering type, signed by key tag (signer: the apex); 18 fixed octets, the
 * signer, a 4-octet signature. */
static size_t rrsig_rdata(uint8_t *out, uint16_t covered, uint32_t orig_ttl, uint16_t tag)
{
	wire_put16(out, covered);
	out[2] = 13;
	out[3] = 2;
	wire_put32(out + 4, orig_ttl);
	wire_put32(out + 8, 2100000000u);
	wire_put32(out + 12, 1700000000u);
	wire_put16(out + 16, tag);
	size_t n = name_len(apex);
	memcpy(out + 18, apex, n);
	memcpy(out + 18 + n, "\1\2\3\4", 4);
	return 18 + n + 4;
}

static void add_rrsig(struct zone_builder *b, const char *own, uint32_t ttl, uint16_t covered, uint16_t tag)
{
	uint8_t rd[18 + NAME_MAXLEN + 4];
	add(b, own, RR_RRSIG, ttl, rd, rrsig_rdata(rd, covered, ttl, tag), 0);
}

/* The TTL every RRSIG record at n covering type carries (all must agree); -1 when there is none.
 * Walks the node's RRsets as they are laid out, whatever their grouping. */
static long sig_ttl(const struct zone_node *n, uint16_t covered)
{
	long ttl = -1;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; rs->type == RR_RRSIG && k < rs->count; k++, rec = rdata_next(rec)) {
			if (wire_get16(rdata_bytes(rec)) != covered)
				continue;
			assert_true(ttl < 0 || ttl == rs->ttl);
			ttl = rs->ttl;
		}
	}
	return ttl;
}

/* RFC 4034 3 / RFC 4035 2.2: an RRSIG has the TTL of the RRset it covers, so the signatures at
 * one name keep their TTLs per covered type; within one covered type the lowest counts (RFC 2181
 * 5.2), as for any RRset. */
static void test_rrsig_ttl_per_covered_type(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_rrsig(b, "www", 3600, RR_NSEC, 1); /* out of order on purpose */
	add(b, "www", RR_A, 300, "\xc0\0\2\1", 4, 0);
	add_rrsig(b, "www", 300, RR_A, 1);
	add_rrsig(b, "www", 250, RR_A, 2); /* one RRset's signatures: the lowest */
	uint8_t nsec[NAME_MAXLEN + 8];
	int n = name_from_text(nsec, "zz", apex);
	memcpy(nsec + n, "\0\6\x40\0\0\0\0\3", 8); /* A RRSIG NSEC */
	add(b, "www", RR_NSEC, 3600, nsec, (size_t)n + 8, 0);
	add_rrsig(b, "@", 86400, RR_SOA, 1);
	add_rrsig(b, "@", 3600, RR_NS, 1);
	struct zone *z = build_ok(b);
	const struct zone_node *w = must_find(z, "www");
	assert_int_equal(sig_ttl(w, RR_A), 250);
	assert_int_equal(sig_ttl(w, RR_NSEC), 3600);
	assert_int_equal(zone_node_rrset(w, RR_A)->ttl, 300);
	assert_int_equal(sig_ttl(z->apex_node, RR_SOA), 86400);
	assert_int_equal(sig_ttl(z->apex_node, RR_NS), 3600);
	assert_int_equal(z->nrecords, 3 + 5 + 2);
	zone_free(z);
}

static void test_negative_ttl_and_serial(void **state)
{
	(void)state;
	struct zone_builder *b = new_builder("example.com.");
	add_soa(b, "@", 3600, 4000000000u, 300, 1);
	add_name(b, "@", RR_NS, "ns1", 2);
	struct zone *z = build_ok(b);
	assert_int_equal(zone_negative_ttl(z), 300);
	assert_int_equal(z->serial, 4000000000u);
	zone_free(z);

	b = new_builder("example.com.");
	add_soa(b, "@", 60, 7, 86400, 1);
	add_name(b, "@", RR_NS, "ns1", 2);
	z = build_ok(b);
	assert_int_equal(zone_negative_ttl(z), 60);
	assert_int_equal(z->serial, 7);
	zone_free(z);
}

static void test_cname_flags(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_name(b, "alias", RR_CNAME, "www", 4);
	/* RRSIG beside CNAME is fine: covers CNAME, alg 8, 3 labels, TTL 3600, times, tag, signer, signature */
	add(b, "alias", RR_RRSIG, 3600, "\0\5\10\3\0\0\x0e\x10\x68\0\0\0\x67\0\0\0\x12\x34\7example\3com\0\1\2\3\4", 35,
	    5);
	/* NSEC www.example.com. CNAME RRSIG NSEC */
	add(b, "alias", RR_NSEC, 3600, "\3www\7example\3com\0\0\6\x04\0\0\0\0\x03", 25, 6);
	add_name(b, "moved", RR_DNAME, "example.net.", 7);
	add_a(b, "moved", 1, 8); /* DNAME may have other data beside it */
	struct zone *z = build_ok(b);
	const struct zone_node *al = must_find(z, "alias");
	assert_true(al->flags & NODE_CNAME);
	assert_int_equal(al->nrrsets, 3);
	assert_true(must_find(z, "moved")->flags & NODE_DNAME);
	assert_false(must_find(z, "moved")->flags & NODE_CNAME);
	zone_free(z);
}

static void test_root_zone(void **state)
{
	(void)state;
	struct zone_builder *b = new_builder(".");
	add_soa(b, "@", 86400, 2024, 86400, 1);
	add_name(b, "@", RR_NS, "a.root-servers.net.", 2);
	add_name(b, "com.", RR_NS, "a.gtld-servers.net.", 3);
	add_a(b, "a.root-servers.net.", 4, 4);
	struct zone *z = build_ok(b);
	assert_int_equal(z->apex_len, 1);
	assert_int_equal(z->apex_labels, 0);
	assert_true(must_find(z, "com.")->flags & NODE_DELEG);
	assert_true(must_find(z, "root-servers.net.")->flags & NODE_ENT);
	assert_true(must_find(z, "net.")->flags & NODE_ENT);
	uint8_t n[NAME_MAXLEN];
	bool exact;
	lname(n, "www.example.org.");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), z->apex_node);
	assert_false(exact);
	lname(n, "x.root-servers.net.");
	assert_ptr_equal(zone_find_encloser(z, n, &exact), must_find(z, "root-servers.net."));
	zone_free(z);
}

static void test_many_nodes(void **state)
{
	(void)state;
	/* enough names to grow every table several times */
	struct zone_builder *b = basic();
	char text[64];
	for (int i = 0; i < 3000; i++) {
		snprintf(text, sizeof(text), "h%d.g%d", i, i % 37);
		add_a(b, text, (uint8_t)i, (uint32_t)(10 + i));
	}
	struct zone *z = build_ok(b);
	assert_int_equal(z->nnodes, 1 + 3000 + 37);
	for (int i = 0; i < 3000; i += 7) {
		snprintf(text, sizeof(text), "h%d.g%d", i, i % 37);
		const struct zone_node *n = must_find(z, text);
		assert_int_equal(zone_node_rrset(n, RR_A)->count, 1);
		snprintf(text, sizeof(text), "g%d", i % 37);
		assert_true(must_find(z, text)->flags & NODE_ENT);
	}
	assert_null(find(z, "h3000.g3"));
	zone_free(z);
}

/* ---- errors ---- */

static void test_missing_soa(void **state)
{
	(void)state;
	struct zone_builder *b = new_builder("example.com.");
	add_name(b, "@", RR_NS, "ns1", 7);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":7: missing SOA record at the zone apex"); /* the first record's line */
}

static void test_empty_zone(void **state)
{
	(void)state;
	struct zone_builder *b = new_builder("example.com.");
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, "missing SOA");
	expect_in(err, "no NS records");
}

static void test_soa_not_at_apex(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_soa(b, "sub", 3600, 1, 300, 42);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":42: SOA record for sub.example.com. outside the zone apex");
	assert_null(strchr(err, '\n')); /* the only problem */
}

static void test_two_soas(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_soa(b, "@", 3600, 2024010102, 300, 17);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":17: more than one SOA record at the apex example.com.");
}

static void test_same_soa_twice_is_one(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_soa(b, "@", 3600, 2024010101, 300, 17);
	struct zone *z = build_ok(b);
	assert_int_equal(z->soa->count, 1);
	zone_free(z);
}

static void test_cname_and_other_data(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "www", 1, 20);
	add_name(b, "www", RR_CNAME, "other", 21);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":21: CNAME beside other data at www.example.com.");

	/* the other data comes first in the file, and is spelled differently */
	b = basic();
	add_name(b, "Alias", RR_CNAME, "other", 30);
	add_a(b, "x", 1, 31);
	add(b, "ALIAS", RR_TXT, 3600, "\1t", 2, 32);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":30: CNAME beside other data at alias.example.com.");

	/* a CNAME at the apex sits beside SOA and NS */
	b = basic();
	add_name(b, "@", RR_CNAME, "www", 40);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":40: CNAME beside other data at example.com.");
}

static void test_two_cnames(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_name(b, "alias", RR_CNAME, "www", 50);
	add_name(b, "alias", RR_CNAME, "ftp", 51);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":");
	expect_in(err, "more than one CNAME record at alias.example.com.");
	/* the message names a line of one of the two records */
	assert_true(strstr(err, SRC ":50: ") || strstr(err, SRC ":51: "));
	/* the same CNAME twice is one record */
	b = basic();
	add_name(b, "alias", RR_CNAME, "www", 50);
	add_name(b, "alias", RR_CNAME, "www", 51);
	struct zone *z = build_ok(b);
	zone_free(z);
}

static void test_two_dnames(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_name(b, "moved", RR_DNAME, "example.net.", 60);
	add_name(b, "moved", RR_DNAME, "example.org.", 61);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, "more than one DNAME record at moved.example.com.");
}

/* TXT RDATA of exactly len octets (strings of 255 characters and a shorter last one), its
 * first character tag so that records differ. */
static uint8_t *txt_rdata(size_t len, char tag)
{
	uint8_t *rd = malloc(len ? len : 1);
	assert_non_null(rd);
	for (size_t off = 0; off < len;) {
		size_t n = len - off - 1 < 255 ? len - off - 1 : 255;
		rd[off] = (uint8_t)n;
		memset(rd + off + 1, off ? 'x' : tag, n);
		off += 1 + n;
	}
	return rd;
}

/* The TSIG record ternd writes is at most ZONE_TSIG_MAX octets: the room the RRset bound keeps. */
static void test_tsig_room(void **state)
{
	(void)state;
	char name[300] = "", err[256];
	for (int i = 0; i < 4; i++) /* 3 labels of 63 and one of 61: a 255-octet wire name */
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "%.*s.", i < 3 ? 63 : 61,
		         "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
	const char *algs[] = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"};
	size_t most = 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct tsig_key key;
		assert_int_equal(tsig_key_init(&key, name, algs[i], "c2VjcmV0", err, sizeof(err)), 0);
		assert_int_equal(name_len(key.name), NAME_MAXLEN);
		size_t space = tsig_space(&key);
		most = space > most ? space : most;
	}
	assert_int_equal(most, ZONE_TSIG_MAX);
}

/* The largest RRset (zone.h): its response with header, question, OPT and TSIG room is exactly
 * 65,535 octets; one octet more is refused, naming the owner, the type and the size. */
static void test_rrset_too_large(void **state)
{
	(void)state;
	/* big.example.com. is 17 octets: 397 + 17 + (2 + RDATA) + 10 = 65535 */
	size_t max = ZONE_MSG_MAX - ZONE_RRSET_OVERHEAD - 17 - 12;
	assert_int_equal(max, 65109);
	uint8_t *rd = txt_rdata(max, 'a');
	struct zone_builder *b = basic();
	add(b, "big", RR_TXT, 3600, rd, max, 10);
	struct zone *z = build_ok(b);
	const struct rrset *rs = zone_node_rrset(must_find(z, "big"), RR_TXT);
	assert_int_equal(zone_rrset_msg_size(must_find(z, "big")->owner, rs->count, rs->rdata_size), ZONE_MSG_MAX);
	zone_free(z);
	free(rd);

	rd = txt_rdata(max + 1, 'a');
	b = basic();
	add(b, "BIG", RR_TXT, 3600, rd, max + 1, 11);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":11: the TXT RRset at big.example.com. is too large: a response carrying it takes "
	                   "65536 octets");
	expect_in(err, "more than the 65535 a DNS message holds");
	free(rd);

	/* many records of 255 octets: each takes 12 + 255, so 243 fit and 244 do not */
	for (int n = 243; n <= 244; n++) {
		b = basic();
		for (int i = 0; i < n; i++) {
			uint8_t *r = txt_rdata(255, (char)i);
			r[1] = (uint8_t)i;
			r[2] = (uint8_t)(i >> 8);
			add(b, "many", RR_TXT, 3600, r, 255, (uint32_t)(100 + i));
			free(r);
		}
		if (n == 243) {
			zone_free(build_ok(b));
			continue;
		}
		build_fail(b, err, sizeof(err));
		expect_in(err,
		          "the TXT RRset at many.example.com. is too large: a response carrying it takes 65563 octets");
	}

	/* a wildcard answers names up to 255 octets long: what fits at w.example.com. does not at *.w */
	rd = txt_rdata(max - 100, 'a');
	b = basic();
	add(b, "*.w", RR_TXT, 3600, rd, max - 100, 12);
	add(b, "x.w", RR_TXT, 3600, rd, max - 100, 13);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":12: the TXT RRset at *.w.example.com. is too large");
	assert_null(strstr(err, "x.w.example.com."));
	free(rd);
}

/* An RRSIG of rdlen octets covering type (signer: the apex, the signature fills the rest). */
static uint8_t *big_rrsig(size_t rdlen, uint16_t covered)
{
	uint8_t *rd = malloc(rdlen);
	assert_non_null(rd);
	size_t head = rrsig_rdata(rd, covered, 3600, 1) - 4;
	assert_true(rdlen > head);
	memset(rd + head, 's', rdlen - head);
	return rd;
}

/* The bound holds for every RRSIG at a name together (zone.h: a query of type RRSIG carries them
 * all): two groups, each far below it, fit exactly, and one octet more is refused at the first
 * signature, as zone_apply() refuses the same signatures as one change. */
static void test_rrsigs_too_large_together(void **state)
{
	(void)state;
	/* big.example.com.: 397 + 17 + 2 * (2 + 10) + RDATA = 65535 leaves 65097 octets for both */
	size_t both = ZONE_MSG_MAX - ZONE_RRSET_OVERHEAD - 17 - 2 * 12;
	assert_int_equal(both, 65097);
	for (size_t extra = 0; extra <= 1; extra++) {
		uint8_t *txt = big_rrsig(both / 2 + extra, RR_TXT), *a = big_rrsig(both - both / 2, RR_A);
		struct zone_builder *b = basic();
		add(b, "big", RR_RRSIG, 3600, txt, both / 2 + extra, 20);
		add(b, "big", RR_RRSIG, 300, a, both - both / 2, 21);
		if (!extra) {
			struct zone *z = build_ok(b);
			const struct zone_node *n = must_find(z, "big");
			assert_int_equal(zone_node_rrsig(n, RR_A)->ttl, 300);
			assert_int_equal(zone_node_rrsig(n, RR_TXT)->ttl, 3600);
			struct zone_change c;
			assert_int_equal(zone_node_change(n, RR_RRSIG, &c), 0);
			assert_int_equal(zone_rrset_msg_size(n->owner, c.count, c.rdata_size), ZONE_MSG_MAX);
			free((void *)c.rdata);
			free((void *)c.ttls);
			zone_free(z);
		} else {
			char err[1024];
			build_fail(b, err, sizeof(err));
			/* sorted by RDATA, the A signature comes first */
			expect_in(err,
			          SRC ":21: the RRSIGs at big.example.com. are too large: a response to a query for "
			              "them carries every one at the name and takes 65536 octets");
			assert_null(strstr(err, ":20:"));
		}
		free(txt);
		free(a);
	}
}

/* RFC 6672 2.3: no name below a DNAME, and no DNAME at a delegation point. */
static void test_dname_rules(void **state)
{
	(void)state;
	char err[1024];
	struct zone_builder *b = basic();
	add_name(b, "moved", RR_DNAME, "example.net.", 20);
	add_a(b, "www.moved", 1, 21);
	add_a(b, "a.b.moved", 2, 22);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":20: DNAME at moved.example.com. has data below it, at a.b.moved.example.com.");
	assert_null(strstr(err, "www.moved")); /* one name below is enough */

	/* a DNAME below a DNAME; and one at the apex, with the names of the zone below it */
	b = basic();
	add_name(b, "moved", RR_DNAME, "example.net.", 30);
	add_name(b, "in.moved", RR_DNAME, "example.org.", 31);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":30: DNAME at moved.example.com. has data below it, at in.moved.example.com.");
	b = basic();
	add_name(b, "@", RR_DNAME, "example.net.", 32);
	add_a(b, "ns1", 1, 33);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":32: DNAME at example.com. has data below it, at ns1.example.com.");

	/* a DNAME at a delegation point */
	b = basic();
	add_name(b, "sub", RR_NS, "ns.example.net.", 40);
	add_name(b, "sub", RR_DNAME, "example.net.", 41);
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":41: DNAME beside NS at sub.example.com.: a delegation point cannot hold a DNAME");

	/* names beside a DNAME, or sorting right after it without being below it, are fine; so
	 * are a DNAME with other data at its name and one at the apex of an otherwise empty zone */
	b = basic();
	add_name(b, "d", RR_DNAME, "example.net.", 50);
	add_a(b, "d", 1, 51);
	add_a(b, "d-a", 2, 52);
	add_a(b, "dd", 3, 53);
	add_a(b, "e", 4, 54);
	add_a(b, "x.e", 5, 55);
	struct zone *z = build_ok(b);
	assert_true(must_find(z, "d")->flags & NODE_DNAME);
	zone_free(z);
	b = basic();
	add_name(b, "@", RR_DNAME, "example.net.", 56);
	zone_free(build_ok(b));
}

static void test_out_of_zone(void **state)
{
	(void)state;
	const char *outside[] = {"www.example.org.", "com.", ".", "notexample.com.", "example.com.au."};
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		struct zone_builder *b = basic();
		add_a(b, outside[i], 1, 70);
		char err[1024], want[256];
		build_fail(b, err, sizeof(err));
		snprintf(want, sizeof(want), SRC ":70: out-of-zone data: %s is not in zone example.com.", outside[i]);
		expect_in(err, want);
	}
}

static void test_no_ns_at_apex(void **state)
{
	(void)state;
	struct zone_builder *b = new_builder("example.com.");
	add_soa(b, "@", 3600, 1, 300, 1);
	add_name(b, "sub", RR_NS, "ns.sub", 2);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":1: no NS records at the zone apex"); /* the SOA's line */
}

static void test_bad_rdata(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add(b, "www", RR_A, 3600, "\1\2\3", 3, 80);
	add(b, "www", RR_AAAA, 3600, "\1\2\3\4", 4, 81);
	add(b, "mx", RR_MX, 3600, "\0\1\3abc", 6, 82);
	char err[1024];
	build_fail(b, err, sizeof(err));
	expect_in(err, SRC ":80: bad RDATA for A record at www.example.com.");
	expect_in(err, SRC ":81: bad RDATA for AAAA record at www.example.com.");
	expect_in(err, SRC ":82: bad RDATA for MX record at mx.example.com.");
	/* three problems, three lines */
	int lines = 1;
	for (const char *p = err; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
}

static void test_meta_types(void **state)
{
	(void)state;
	const struct {
		uint16_t type;
		const char *name;
	} meta[] = {{RR_ANY, "ANY"}, {RR_OPT, "OPT"}, {RR_AXFR, "AXFR"}, {RR_TSIG, "TSIG"}, {0, "TYPE0"}};
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
		struct zone_builder *b = basic();
		add(b, "www", meta[i].type, 3600, "\1\2\3\4", 4, 90);
		char err[1024], want[128];
		build_fail(b, err, sizeof(err));
		snprintf(want, sizeof(want), SRC ":90: type %s cannot appear in a zone", meta[i].name);
		expect_in(err, want);
	}
}

static void test_error_buffer_small(void **state)
{
	(void)state;
	/* many errors into a small buffer: truncated, terminated, no overflow */
	struct zone_builder *b = basic();
	for (int i = 0; i < 50; i++)
		add(b, "www", RR_A, 3600, "\1", 1, (uint32_t)(100 + i));
	char err[40];
	memset(err, 'Z', sizeof(err));
	struct zone *z = NULL;
	assert_int_equal(zone_build(b, SRC, &z, err, sizeof(err)), TERN_EZONE);
	assert_null(z);
	assert_true(memchr(err, 0, sizeof(err)) != NULL);
	assert_int_equal(strncmp(err, SRC ":100: ", strlen(SRC ":100: ")), 0);
	/* and no buffer at all */
	b = basic();
	add(b, "www", RR_A, 3600, "\1", 1, 5);
	assert_int_equal(zone_build(b, SRC, &z, NULL, 0), TERN_EZONE);
	assert_null(z);
}

static void test_builder_free_unbuilt(void **state)
{
	(void)state;
	struct zone_builder *b = basic();
	add_a(b, "www", 1, 4);
	zone_builder_free(b);
	zone_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_zone),
	    cmocka_unit_test(test_case_folding),
	    cmocka_unit_test(test_empty_non_terminals),
	    cmocka_unit_test(test_canonical_node_order),
	    cmocka_unit_test(test_find_encloser),
	    cmocka_unit_test(test_delegation_flags),
	    cmocka_unit_test(test_wildcards),
	    cmocka_unit_test(test_duplicates_merged),
	    cmocka_unit_test(test_rrset_order_and_contents),
	    cmocka_unit_test(test_rrsig_ttl_per_covered_type),
	    cmocka_unit_test(test_negative_ttl_and_serial),
	    cmocka_unit_test(test_cname_flags),
	    cmocka_unit_test(test_root_zone),
	    cmocka_unit_test(test_many_nodes),
	    cmocka_unit_test(test_missing_soa),
	    cmocka_unit_test(test_soa_not_at_apex),
	    cmocka_unit_test(test_two_soas),
	    cmocka_unit_test(test_same_soa_twice_is_one),
	    cmocka_unit_test(test_cname_and_other_data),
	    cmocka_unit_test(test_two_cnames),
	    cmocka_unit_test(test_two_dnames),
	    cmocka_unit_test(test_tsig_room),
	    cmocka_unit_test(test_rrset_too_large),
	    cmocka_unit_test(test_rrsigs_too_large_together),
	    cmocka_unit_test(test_dname_rules),
	    cmocka_unit_test(test_out_of_zone),
	    cmocka_unit_test(test_no_ns_at_apex),
	    cmocka_unit_test(test_bad_rdata),
	    cmocka_unit_test(test_meta_types),
	    cmocka_unit_test(test_error_buffer_small),
	    cmocka_unit_test(test_builder_free_unbuilt),
	    /* last: aborts under UBSan (qsort of a NULL array) until zone_build handles no records */
	    cmocka_unit_test(test_empty_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
