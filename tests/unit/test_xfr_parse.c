/* xfr_parse.c: AXFR and IXFR answers (the seeds of tests/fuzz/corpus_xfrin/, captured from knotd or
 * built with dnspython) parsed message by message, IXFR diffs applied to the zone they start
 * from, and the precise errors of broken answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/fuzz_xfrin_zone.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "lib/xfr_parse.h"

#define CORPUS "../fuzz/corpus_xfrin/"

static uint8_t apex[NAME_MAXLEN];
static struct zone *current;

/* What one seed gave. */
struct result {
	int feed; /* the last xfrp_feed() */
	int finish; /* xfrp_finish(), when feed was 1 */
	enum xfrp_outcome outcome;
	uint32_t serial;
	struct zone *zone;
	struct xfrp_diffs *diffs;
	size_t verified, ended; /* fake TSIG calls */
	char err[4096];
};

static int fake_verify(void *ctx, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	struct result *r = ctx;
	if (len >= WIRE_HEADER_LEN && wire_get16(msg + 10) == 0xffff) {
		snprintf(err, errlen, "fake TSIG: refused");
		return TERN_EIO;
	}
	r->verified++;
	return 0;
}

static int fake_end(void *ctx, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	((struct result *)ctx)->ended++;
	return 0;
}

/* Runs the seed file (the harness's format) through a parser; serial is the one we hold. */
static void run(const char *file, uint32_t serial, struct result *r)
{
	char path[256];
	uint8_t data[65536];
	snprintf(path, sizeof(path), CORPUS "%s", file);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t size = fread(data, 1, sizeof(data), f);
	fclose(f);
	assert_true(size > 0);
	memset(r, 0, sizeof(*r));
	struct pull_tsig hook = {NULL, fake_verify, fake_end, r};
	struct xfrp_query q = {.apex = apex,
	                       .qtype = data[0] & 1 ? RR_IXFR : RR_AXFR,
	                       .id = 0x1234,
	                       .serial = serial,
	                       .tsig = data[0] & 2 ? &hook : NULL,
	                       .from = "192.0.2.53@53"};
	struct xfrp *p = NULL;
	assert_int_equal(xfrp_new(&q, &p), 0);
	for (size_t pos = 1; r->feed == 0 && pos + 2 <= size;) {
		size_t len = wire_get16(data + pos);
		pos += 2;
		assert_true(len <= size - pos);
		r->feed = xfrp_feed(p, data + pos, len, r->err, sizeof(r->err));
		pos += len;
	}
	if (r->feed == 1)
		r->finish = xfrp_finish(p, &r->outcome, &r->serial, &r->zone, &r->diffs, r->err, sizeof(r->err));
	xfrp_free(p);
}

static void done(struct result *r)
{
	zone_free(r->zone);
	xfrp_diffs_free(r->diffs);
}

static void expect_error(const char *file, int rc, const char *text)
{
	struct result r;
	run(file, 1, &r);
	assert_int_equal(r.feed, rc);
	if (!strstr(r.err, text))
		fail_msg("%s: \"%s\" is not in \"%s\"", file, text, r.err);
	done(&r);
}

/* Applies a seed's diffs to the current zone: the zone, or NULL with err filled. */
static struct zone *apply_seed(const char *file, char *err, size_t errlen)
{
	struct result r;
	run(file, 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.finish, 0);
	assert_int_equal(r.outcome, XFRP_DIFFS);
	struct zone *next = NULL;
	int rc = xfrp_apply(current, r.diffs, &next, err, errlen);
	done(&r);
	assert_true(rc == 0 ? next != NULL : next == NULL && err[0]);
	return next;
}

static const struct rrset *find(const struct zone *z, const char *name, uint16_t type)
{
	uint8_t n[NAME_MAXLEN];
	assert_true(name_from_text(n, name, NULL) > 0);
	name_lower(n);
	const struct zone_node *node = zone_find(z, n, name_len(n));
	return node ? zone_node_rrset(node, type) : NULL;
}

/* RDATA of the one record of an RRset, as text compared with want. */
static bool holds(const struct rrset *rs, uint16_t type, const uint8_t *rdata, uint16_t len)
{
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec))
		if (xfrp_rdata_equal(type, rdata_bytes(rec), rdata_len(rec), rdata, len))
			return true;
	return false;
}

struct same_ctx {
	const struct zone *other;
	size_t missing;
};

static int node_in_other(void *arg, const struct zone_node *n)
{
	struct same_ctx *c = arg;
	const struct zone_node *o = zone_find(c->other, n->owner, n->owner_len);
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i], *os = o ? zone_node_rrset(o, rs->type) : NULL;
		if (!os || os->count != rs->count || os->ttl != rs->ttl) {
			c->missing++;
			continue;
		}
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; k < rs->count; k++, rec = rdata_next(rec))
			c->missing += !holds(os, rs->type, rdata_bytes(rec), rdata_len(rec));
	}
	return 0;
}

/* Every RRset of a is in b with the same TTL and records, and the other way round. */
static void assert_same_zone(const struct zone *a, const struct zone *b)
{
	struct same_ctx ab = {b, 0}, ba = {a, 0};
	zone_foreach(a, node_in_other, &ab);
	zone_foreach(b, node_in_other, &ba);
	assert_int_equal(ab.missing, 0);
	assert_int_equal(ba.missing, 0);
	assert_int_equal(a->nrecords, b->nrecords);
	assert_int_equal(a->serial, b->serial);
}

/* ---- tests ---- */

static void test_knot_ixfr_equals_knot_axfr(void **state)
{
	(void)state;
	struct result r;
	run("knot-ixfr-1-to-4", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.outcome, XFRP_DIFFS);
	assert_int_equal(r.serial, 4);
	assert_int_equal(r.diffs->from, 1);
	assert_int_equal(r.diffs->to, 4);
	assert_int_equal(r.diffs->ndiffs, 3);
	char err[4096] = "";
	struct zone *next = NULL;
	assert_int_equal(xfrp_apply(current, r.diffs, &next, err, sizeof(err)), 0);
	done(&r);
	assert_int_equal(next->serial, 4);
	const struct rrset *www = find(next, "www.example.com.", RR_A);
	assert_non_null(www);
	assert_int_equal(www->count, 3);
	assert_int_equal(www->ttl, 60);
	assert_null(find(next, "txt.example.com.", RR_TXT));
	assert_null(find(next, "a.b.c.example.com.", RR_A));
	uint8_t bc[NAME_MAXLEN];
	name_from_text(bc, "b.c.example.com.", NULL);
	assert_null(zone_find(next, bc, name_len(bc))); /* the empty non-terminal went with a.b.c */
	assert_non_null(find(next, "new.deep.name.example.com.", RR_AAAA));
	/* the same as Knot's AXFR of serial 4 */
	struct result ax;
	run("knot-axfr-serial4", 1, &ax);
	assert_int_equal(ax.feed, 1);
	assert_int_equal(ax.finish, 0);
	assert_int_equal(ax.outcome, XFRP_ZONE);
	assert_same_zone(next, ax.zone);
	done(&ax);
	/* and the zone we started from is untouched */
	assert_int_equal(current->serial, 1);
	assert_non_null(find(current, "a.b.c.example.com.", RR_A));
	zone_discard(next);
}

static void test_knot_axfr_and_tsig_hooks(void **state)
{
	(void)state;
	struct result r;
	run("knot-axfr-serial1", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.outcome, XFRP_ZONE);
	assert_same_zone(r.zone, current);
	done(&r);
	run("knot-ixfr-1-to-4-tsig", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.verified, 1); /* Knot sent it all in one message */
	assert_int_equal(r.ended, 1);
	done(&r);
	run("axfr-tsig", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_true(r.verified > 1);
	assert_int_equal(r.ended, 1);
	done(&r);
	run("ixfr-two-diffs-tsig-refused", 1, &r);
	assert_int_equal(r.feed, TERN_EIO);
	assert_string_equal(r.err, "fake TSIG: refused");
	assert_int_equal(r.ended, 0);
	done(&r);
}

static void test_up_to_date(void **state)
{
	(void)state;
	struct result r;
	run("knot-ixfr-current", 4, &r); /* we hold Knot's serial: a lone SOA */
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.outcome, XFRP_CURRENT);
	assert_int_equal(r.serial, 4);
	done(&r);
	run("ixfr-current", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.outcome, XFRP_CURRENT);
	done(&r);
	/* a lone newer SOA opens an answer whose records follow */
	run("knot-ixfr-current", 1, &r);
	assert_int_equal(r.feed, 0);
	done(&r);
	run("ixfr-lone-newer-soa-then-zone", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.outcome, XFRP_ZONE);
	assert_int_equal(r.zone->serial, 9);
	done(&r);
}

static void test_axfr_style_answer_to_ixfr(void **state)
{
	(void)state;
	struct result r;
	run("ixfr-axfr-style", 1, &r);
	assert_int_equal(r.feed, 1);
	assert_int_equal(r.finish, 0);
	assert_int_equal(r.outcome, XFRP_ZONE);
	assert_int_equal(r.zone->serial, 5);
	assert_int_equal(r.zone->nrecords, current->nrecords);
	done(&r);
}

static void test_diffs_applied(void **state)
{
	(void)state;
	char err[4096] = "";
	struct zone *z = apply_seed("ixfr-two-diffs-split", err, sizeof(err));
	assert_non_null(z);
	assert_int_equal(z->serial, 3);
	const struct rrset *www = find(z, "www.example.com.", RR_A);
	assert_int_equal(www->count, 2); /* .80 went, .90 came, .81 stayed */
	assert_null(find(z, "new.example.com.", RR_TXT)); /* added by diff 1, deleted by diff 2 */
	assert_int_equal(find(z, "example.com.", RR_MX)->count, 2);
	zone_discard(z);
	/* names inside RDATA match without case; a TTL change replaces the RRset's */
	z = apply_seed("ixfr-delete-case", err, sizeof(err));
	assert_non_null(z);
	assert_int_equal(find(z, "alias.example.com.", RR_CNAME)->count, 1);
	zone_discard(z);
	z = apply_seed("ixfr-ttl-change", err, sizeof(err));
	assert_int_equal(find(z, "ns1.example.com.", RR_A)->ttl, 60);
	zone_discard(z);
	z = apply_seed("ixfr-readd-existing", err, sizeof(err));
	assert_int_equal(find(z, "www.example.com.", RR_A)->count, 2);
	zone_discard(z);
}

static void test_diffs_refused(void **state)
{
	(void)state;
	char err[4096] = "";
	assert_null(apply_seed("ixfr-delete-missing", err, sizeof(err)));
	assert_string_equal(
	    err, "IXFR diff 1 (serial 1 -> 2) deletes www.example.com. A 192.0.2.99, which the zone does not hold");
	assert_null(apply_seed("ixfr-cname-beside-a", err, sizeof(err)));
	assert_non_null(strstr(err, "CNAME beside other data at www.example.com."));
	assert_null(strstr(err, "changes["));
	assert_null(apply_seed("ixfr-delete-apex-ns", err, sizeof(err)));
	assert_non_null(strstr(err, "NS records at the apex"));
	/* diffs that start elsewhere than the zone given */
	struct result r;
	run("knot-ixfr-1-to-4", 1, &r);
	struct zone *z = apply_seed("ixfr-ttl-change", err, sizeof(err)); /* serial 2 */
	struct zone *next = NULL;
	assert_int_equal(xfrp_apply(z, r.diffs, &next, err, sizeof(err)), TERN_EZONE);
	assert_string_equal(err, "the IXFR diffs start at serial 1, not at the 2 served");
	zone_discard(z);
	done(&r);
}

static void test_broken_answers(void **state)
{
	(void)state;
	expect_error(
	    "ixfr-gap", TERN_EMALF,
	    "192.0.2.53@53: the IXFR diffs start at serial 5, not at the 1 we hold (the primary's journal has a "
	    "gap)");
	expect_error("ixfr-chain-break", TERN_EMALF, "IXFR diff 1 ends at serial 2 but the next one starts at 7");
	expect_error("ixfr-refused", TERN_EIO, "192.0.2.53@53 refused the transfer: NOTIMP");
	expect_error("ixfr-records-after-end", TERN_EMALF, "records after the closing SOA");
	expect_error("axfr-badid", TERN_EMALF, "message 2 is not an answer to our query (ID or flags differ)");
	expect_error("axfr-tc", TERN_EMALF, "message 1 has the TC bit");
	expect_error("axfr-serial-mismatch", TERN_EMALF, "the transfer opened with serial 3 and closed with 4");
	expect_error("axfr-no-soa-first", TERN_EMALF, "the transfer does not start with the zone's SOA");
	struct result r;
	run("ixfr-cut", 1, &r); /* the stream ends halfway: the parser still waits */
	assert_int_equal(r.feed, 0);
	done(&r);
}

static void test_rdata_equal(void **state)
{
	(void)state;
	const uint8_t mx1[] = "\x00\x0a\x04mail\x07"
	                      "example\x03"
	                      "com",
	              mx2[] = "\x00\x0a\x04MAIL\x07"
	                      "Example\x03"
	                      "COM";
	const uint8_t txt1[] = "\x05hello", txt2[] = "\x05HELLO";
	assert_true(xfrp_rdata_equal(RR_MX, mx1, sizeof(mx1), mx2, sizeof(mx2)));
	assert_false(xfrp_rdata_equal(RR_MX, mx1, sizeof(mx1), mx2, sizeof(mx2) - 1));
	assert_false(xfrp_rdata_equal(RR_TXT, txt1, sizeof(txt1), txt2, sizeof(txt2))); /* not a name */
	const uint8_t pref1[] = "\x00\x0a\x01x", pref2[] = "\x00\x0b\x01x";
	assert_false(xfrp_rdata_equal(RR_MX, pref1, sizeof(pref1), pref2, sizeof(pref2)));
}

static int setup(void **state)
{
	(void)state;
	char err[1024];
	if (name_from_text(apex, "example.com.", NULL) < 0 ||
	    zonefile_load_string(xfrin_current_text, strlen(xfrin_current_text), "current", apex, &current, err,
	                         sizeof(err)) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zone_free(current);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_knot_ixfr_equals_knot_axfr),
	    cmocka_unit_test(test_knot_axfr_and_tsig_hooks),
	    cmocka_unit_test(test_up_to_date),
	    cmocka_unit_test(test_axfr_style_answer_to_ixfr),
	    cmocka_unit_test(test_diffs_applied),
	    cmocka_unit_test(test_diffs_refused),
	    cmocka_unit_test(test_broken_answers),
	    cmocka_unit_test(test_rdata_equal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
