/* libFuzzer harness for the zone transfer client (src/lib/xfr_parse.c): the input is the
 * answer stream to an AXFR or an IXFR for example.com., as length-prefixed messages; a finished
 * answer's zone is checked, and its IXFR diffs are applied to a fixed current zone and compared
 * with a plain model of what they should make.
 *
 * Input: byte 0 bit 0 = IXFR (else AXFR), bit 1 = a TSIG hook (a fake that refuses a message whose
 * ARCOUNT is 0xffff), then repeated [2-byte big-endian length][message]; a length running past
 * the end takes what is left. The query's ID is 0x1234; for IXFR we hold serial 1. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "lib/xfr_parse.h"
#include "fuzz_xfrin_zone.h"
#include "fuzz_zone_check.h"

#define QUERY_ID 0x1234
#define OUR_SERIAL 1

static uint8_t apex[NAME_MAXLEN];
static struct zone *current;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_xfrin: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[1024];
	if (name_from_text(apex, "example.com.", NULL) < 0 ||
	    zonefile_load_string(xfrin_current_text, strlen(xfrin_current_text), "current", apex, &current, err,
	                         sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_xfrin: the current zone does not load: %s\n", err);
		abort();
	}
	if (current->serial != OUR_SERIAL)
		fail("the current zone's serial is not OUR_SERIAL");
	return 0;
}

/* ---- a fake TSIG hook: the parser must verify every message it takes and end once ---- */

struct fake_tsig {
	size_t verified, ended;
};

static int fake_verify(void *ctx, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	struct fake_tsig *t = ctx;
	if (len >= WIRE_HEADER_LEN && wire_get16(msg + 10) == 0xffff) {
		snprintf(err, errlen, "fake TSIG: refused");
		return TERN_EIO;
	}
	t->verified++;
	return 0;
}

static int fake_end(void *ctx, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	((struct fake_tsig *)ctx)->ended++;
	return 0;
}

/* ---- checks of a snapshot ---- */

static void check_zone(const struct zone *z, uint32_t serial)
{
	fuzz_check_zone(z, apex, fail);
	if (z->serial != serial)
		fail("the zone's serial is not the transfer's");
}

/* ---- a plain model of applying diffs: one flat list of records ---- */

struct mrec {
	const uint8_t *owner; /* lower-cased */
	uint16_t type, len;
	uint32_t ttl;
	const uint8_t *rdata;
};

struct model {
	struct mrec *v;
	size_t n, cap;
};

static void model_add(struct model *m, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                      uint16_t len)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		if (!m->v)
			fail("out of memory in the model");
	}
	m->v[m->n++] = (struct mrec){owner, type, len, ttl, rdata};
}

static long model_find(const struct model *m, const uint8_t *owner, uint16_t type, const uint8_t *rdata, uint16_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].type == type && name_equal(m->v[i].owner, owner) &&
		    xfrp_rdata_equal(type, m->v[i].rdata, m->v[i].len, rdata, len))
			return (long)i;
	return -1;
}

static void model_set_ttl(struct model *m, const uint8_t *owner, uint16_t type, uint32_t ttl)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].type == type && name_equal(m->v[i].owner, owner))
			m->v[i].ttl = ttl;
}

static int model_load_node(void *arg, const struct zone_node *n)
{
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; k < rs->count; k++, rec = rdata_next(rec))
			model_add(arg, n->owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec));
	}
	return 0;
}

/* Runs the diffs over the model; false when a deleted record is missing. */
static bool model_run(struct model *m, const struct xfrp_diffs *d)
{
	for (size_t i = 0; i < d->nrr; i++) {
		const struct xfrp_rr *r = &d->rr[i];
		const uint8_t *owner = d->data + r->off, *rdata = owner + r->owner_len;
		long at;
		switch (r->op) {
		case XFRP_SOA_FROM: break;
		case XFRP_SOA_TO:
			for (size_t k = 0; k < m->n;)
				if (m->v[k].type == RR_SOA && name_equal(m->v[k].owner, apex))
					m->v[k] = m->v[--m->n];
				else
					k++;
			model_add(m, apex, RR_SOA, r->ttl, rdata, r->rdlen);
			break;
		case XFRP_DEL:
			if ((at = model_find(m, owner, r->type, rdata, r->rdlen)) < 0)
				return false;
			m->v[at] = m->v[--m->n];
			break;
		case XFRP_ADD:
			if ((at = model_find(m, owner, r->type, rdata, r->rdlen)) < 0)
				model_add(m, owner, r->type, r->ttl, rdata, r->rdlen);
			if (r->type != RR_RRSIG)
				model_set_ttl(m, owner, r->type, r->ttl);
			else if (at >= 0) /* RRSIGs keep their own TTLs (lib/zone.h) */
				m->v[at].ttl = r->ttl;
			break;
		default: fail("unknown diff operation");
		}
	}
	return true;
}

/* The snapshot holds exactly the model's records, TTLs included. */
static void check_against_model(const struct zone *z, const struct model *m)
{
	if (z->nrecords != m->n)
		fail("the applied zone's record count differs from the model");
	for (size_t i = 0; i < m->n; i++) {
		const struct mrec *r = &m->v[i];
		const struct zone_node *n = zone_find(z, r->owner, name_len(r->owner));
		uint32_t ttl = r->ttl;
		const struct rrset *rs = n ? zone_node_rrset(n, r->type) : NULL;
		if (n && r->type == RR_RRSIG) { /* the group of its covered type, at its lowest TTL */
			uint16_t covered = rrsig_covered(r->rdata, r->len);
			rs = zone_node_rrsig(n, covered);
			for (size_t k = 0; k < m->n; k++)
				if (m->v[k].type == RR_RRSIG && name_equal(m->v[k].owner, r->owner) &&
				    rrsig_covered(m->v[k].rdata, m->v[k].len) == covered && m->v[k].ttl < ttl)
					ttl = m->v[k].ttl;
		}
		if (!rs)
			fail("a record of the model is missing from the applied zone");
		if (rs->ttl != ttl)
			fail("an RRset's TTL differs from the model");
		bool found = false;
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; k < rs->count && !found; k++, rec = rdata_next(rec))
			found = xfrp_rdata_equal(r->type, rdata_bytes(rec), rdata_len(rec), r->rdata, r->len);
		if (!found)
			fail("a record of the model is missing from its RRset");
	}
}

/* The diffs are well formed: (SOA_FROM DEL* SOA_TO ADD*)+, serials chained from ours to the end. */
static void check_diffs(const struct xfrp_diffs *d, uint32_t serial)
{
	if (d->from != OUR_SERIAL || d->to != serial || d->nrr < 2 || d->rr[0].op != XFRP_SOA_FROM)
		fail("diffs that do not run from our serial to the primary's");
	size_t ndiffs = 0, nrecords = 0;
	uint32_t at = d->from;
	int last = -1;
	for (size_t i = 0; i < d->nrr; i++) {
		const struct xfrp_rr *r = &d->rr[i];
		const uint8_t *rdata = d->data + r->off + r->owner_len;
		bool soa = r->op == XFRP_SOA_FROM || r->op == XFRP_SOA_TO;
		uint32_t s = soa ? wire_get32(rdata + rr_soa_serial_offset(rdata)) : 0;
		switch (r->op) {
		case XFRP_SOA_FROM:
			if (last != -1 && last != XFRP_SOA_TO && last != XFRP_ADD)
				fail("a diff starts before the previous one added");
			if (s != at)
				fail("a diff does not start where the previous one ended");
			ndiffs++;
			break;
		case XFRP_DEL:
			if (last != XFRP_SOA_FROM && last != XFRP_DEL)
				fail("a deletion outside a diff's deletions");
			nrecords++;
			break;
		case XFRP_SOA_TO:
			if (last != XFRP_SOA_FROM && last != XFRP_DEL)
				fail("a diff's new SOA out of place");
			at = s;
			break;
		case XFRP_ADD:
			if (last != XFRP_SOA_TO && last != XFRP_ADD)
				fail("an addition outside a diff's additions");
			nrecords++;
			break;
		default: fail("unknown diff operation");
		}
		if (r->off + r->owner_len + r->rdlen > d->ndata ||
		    name_check(d->data + r->off, r->owner_len) != r->owner_len)
			fail("a diff record runs past the data or has a bad owner");
		last = r->op;
	}
	if ((last != XFRP_SOA_TO && last != XFRP_ADD) || at != serial)
		fail("the diffs do not end at the primary's serial");
	if (ndiffs != d->ndiffs || nrecords != d->nrecords)
		fail("diff or record counts wrong");
}

static void apply_and_check(const struct xfrp_diffs *d)
{
	struct model m = {0};
	char err[4096] = "";
	zone_foreach(current, model_load_node, &m);
	bool complete = model_run(&m, d);
	struct zone *next = NULL;
	int rc = xfrp_apply(current, d, &next, err, sizeof(err));
	if (rc == 0) {
		if (!complete)
			fail("diffs deleting a missing record applied");
		check_zone(next, d->to);
		check_against_model(next, &m);
		zone_discard(next);
	} else {
		if (!err[0] || next)
			fail("a refused IXFR without a message, or with a zone");
		if (!complete && !strstr(err, "which the zone does not hold"))
			fail("a missing deleted record not named as such");
	}
	free(m.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct fake_tsig ft = {0};
	struct pull_tsig hook = {NULL, fake_verify, fake_end, &ft};
	bool ixfr = data[0] & 1, tsig = data[0] & 2;
	struct xfrp_query q = {.apex = apex,
	                       .qtype = ixfr ? RR_IXFR : RR_AXFR,
	                       .id = QUERY_ID,
	                       .serial = ixfr ? OUR_SERIAL : 0,
	                       .tsig = tsig ? &hook : NULL,
	                       .from = "fuzz"};
	char err[4096];
	struct xfrp *p = NULL;
	if (xfrp_new(&q, &p) < 0)
		fail("xfrp_new failed");
	int rc = 0;
	size_t pos = 1, fed = 0;
	while (rc == 0 && pos + 2 <= size) {
		size_t len = wire_get16(data + pos);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		if (fed++ == 0) { /* the first message as an SOA query's answer as well */
			struct xfrp_query sq = {.apex = apex, .qtype = RR_SOA, .id = QUERY_ID, .from = "fuzz"};
			uint32_t serial;
			char serr[512] = "";
			int src = xfrp_soa_answer(&sq, data + pos, len, &serial, serr, sizeof(serr));
			if (src < 0 && !serr[0])
				fail("an SOA answer refused without a message");
		}
		err[0] = 0;
		rc = xfrp_feed(p, data + pos, len, err, sizeof(err));
		pos += len;
	}
	if (rc < 0 && !err[0])
		fail("a refused message without a message");
	if (rc < 0 && xfrp_feed(p, data, size, err, sizeof(err)) >= 0)
		fail("a parser took a message after an error");
	if (tsig && ft.ended != (size_t)(rc == 1))
		fail("TSIG end() not called exactly once, at the end");
	if (tsig && ft.verified != xfrp_messages(p))
		fail("a message taken without TSIG verify()");
	if (rc == 1) {
		enum xfrp_outcome outcome;
		uint32_t serial = 0;
		struct zone *z = NULL;
		struct xfrp_diffs *d = NULL;
		err[0] = 0;
		int frc = xfrp_finish(p, &outcome, &serial, &z, &d, err, sizeof(err));
		if (!ixfr && outcome != XFRP_ZONE)
			fail("an AXFR gave something else than a zone");
		if (outcome == XFRP_ZONE) {
			if (frc == 0)
				check_zone(z, serial);
			else if (!err[0] || z)
				fail("a zone refused without a message, or given anyway");
			zone_free(z);
		} else if (outcome == XFRP_CURRENT) {
			if (frc != 0 || rr_serial_newer(serial, OUR_SERIAL))
				fail("up to date with a newer serial");
		} else {
			if (frc != 0 || !d)
				fail("diffs without diffs");
			check_diffs(d, serial);
			apply_and_check(d);
			xfrp_diffs_free(d);
		}
	}
	xfrp_free(p);
	return 0;
}
