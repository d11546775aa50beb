/* libFuzzer harness for DYN resources (lib/dyn.c): the input is a DYN RRset's RDATA in the rrset
 * layout (16-bit length, then the record), the statements a zone file, the API or a transfer may
 * bring. A refused resource leaves a message of printable text; an accepted one answers A and
 * AAAA for clients of both families at every prefix length, under every health pattern of its
 * first members, with records of the asked type from inside the resource or the scratch space,
 * one record from a weighted pool, and a scope no longer than the address (with and without a
 * made-up geo database for `geo country` and `geo continent`); the answer path's dyn_choose()
 * gives the records and scope dyn_select_geo() gives; a CNAME resource (name pools) answers CNAME
 * only, one whole name a time. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_dyn: invariant violated: %s\n", what);
	abort();
}

/* Members are down when the bit of their address's last octet (mod 8) is set in the pattern. */
static bool health(void *ctx, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	if (m->kind < DYN_MON_TCP || m->kind > DYN_MON_HTTPS || m->timeout_ms > m->interval_ms || !m->up || !m->down)
		fail("a monitor of the resource is not one the compiler accepts");
	unsigned pattern = *(const unsigned *)ctx;
	return !(pattern >> (addr[family == 1 ? 3 : 15] % 8) & 1);
}

/* A geo database made up from the address: held or not, a country and continent from a short
 * list, a prefix length that may be out of range (the selection clamps it). */
static void geo(void *ctx, uint8_t family, const uint8_t *addr, struct dyn_geo *out)
{
	static const char *const cc[] = {"BR", "NL", "US", "FR", "", "XK"}, *const cont[] = {"SA", "EU", "NA", ""};
	(void)ctx;
	uint8_t x = addr[family == 1 ? 0 : 5] ^ addr[family == 1 ? 2 : 15];
	out->prefix = (uint8_t)(addr[1] % 140);
	if (x % 5 == 0)
		return;
	out->found = true;
	snprintf(out->country, sizeof(out->country), "%s", cc[x % 6]);
	snprintf(out->continent, sizeof(out->continent), "%s", cont[x % 4]);
}

/* Signed zones (dyn.h): what a selection answers, made signable, is one of the sets signed ahead,
 * holding only records the selection held. */
static void check_signed(const struct dyn_resource *r, uint16_t type, const struct rrset *chosen, uint32_t rnd)
{
	struct rrset rs = *chosen, set;
	int64_t id = dyn_signed_choose(r, &rs, rnd);
	if (id < 0 || (uint64_t)id >= dyn_signed_count(r, type) ||
	    dyn_signed_rrset(r, type, (uint32_t)id, 300, &set) != 0)
		fail("a selection that is none of the sets signed ahead");
	if (set.count != rs.count || set.rdata_size != rs.rdata_size || rs.count == 0 || rs.count > chosen->count)
		fail("the set named is not the records answered");
	const uint8_t *a = rs.rdata;
	for (uint16_t i = 0; i < rs.count; i++, a = rdata_next(a)) {
		bool in_set = false, in_chosen = false;
		const uint8_t *b = set.rdata;
		for (uint16_t k = 0; k < set.count; k++, b = rdata_next(b))
			in_set |=
			    rdata_len(a) == rdata_len(b) && memcmp(rdata_bytes(a), rdata_bytes(b), rdata_len(a)) == 0;
		b = chosen->rdata;
		for (uint16_t k = 0; k < chosen->count; k++, b = rdata_next(b))
			in_chosen |=
			    rdata_len(a) == rdata_len(b) && memcmp(rdata_bytes(a), rdata_bytes(b), rdata_len(a)) == 0;
		if (!in_set || !in_chosen)
			fail("a signed answer's record is not in its set or not among those selected");
	}
}

static void check_answer(const struct dyn_resource *r, size_t size, const uint8_t *scratch, uint16_t type,
                         const struct rrset *rs, uint8_t scope, int bits)
{
	const uint8_t *base = (const uint8_t *)r;
	bool in_r = rs->rdata >= base && rs->rdata + rs->rdata_size <= base + size;
	bool in_s = rs->rdata >= scratch && rs->rdata + rs->rdata_size <= scratch + DYN_SCRATCH;
	if (!in_r && !in_s)
		fail("answer RDATA outside the resource and the scratch space");
	if (rs->type != type || rs->count == 0 || rs->count > DYN_MAX_MEMBERS)
		fail("answer type or count");
	uint16_t want = type == RR_A ? 4 : 16;
	const uint8_t *rec = rs->rdata;
	if (type == RR_CNAME && rs->count != 1)
		fail("a CNAME answer of more than one record");
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec))
		if (type == RR_CNAME ? name_check(rdata_bytes(rec), rdata_len(rec)) != (int)rdata_len(rec)
		                     : rdata_len(rec) != want)
			fail(type == RR_CNAME ? "a CNAME target that is not one whole name"
			                      : "an address of the wrong family");
	if (rec != rs->rdata + rs->rdata_size)
		fail("rdata_size does not hold exactly count records");
	if (scope > bits)
		fail("scope longer than the address");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t count = 0;
	for (size_t o = 0; o + 2 <= size; count++) {
		size_t len = (size_t)(data[o] << 8 | data[o + 1]);
		if (o + 2 + len > size)
			return 0; /* not the rrset layout: zone_build and zone_apply never hand such over */
		o += 2 + len;
		if (o == size)
			break;
	}
	if (size < 2)
		return 0;
	count++;
	struct dyn_resource *r = NULL;
	size_t rsize = 0;
	char err[512];
	memset(err, 0x55, sizeof(err));
	int rc = dyn_compile(data, size, count, &r, &rsize, err, sizeof(err));
	if (rc < 0) {
		if (r)
			fail("refused, yet a resource came out");
		size_t n = strnlen(err, sizeof(err));
		if (n == 0 || n == sizeof(err))
			fail("a refusal without a terminated message");
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)err[i] < 0x20 || (unsigned char)err[i] > 0x7e)
				fail("a message with raw bytes");
		return 0;
	}
	if (!r || rsize != dyn_resource_size(r))
		fail("accepted without a resource of the size given");
	bool cname = dyn_serves(r, RR_CNAME);
	if (!dyn_serves(r, RR_A) && !dyn_serves(r, RR_AAAA) && !cname)
		fail("a resource that answers nothing");
	if (cname && (dyn_serves(r, RR_A) || dyn_serves(r, RR_AAAA) || dyn_signed_count(r, RR_A) ||
	              dyn_signed_count(r, RR_AAAA)))
		fail("a CNAME resource that answers addresses too");
	uint8_t scratch[DYN_SCRATCH];
	static const uint8_t probes[][16] = {
	    {192, 0, 2, 1},
	    {198, 51, 100, 7},
	    {203, 0, 113, 200},
	    {10, 0, 0, 0},
	    {255, 255, 255, 255},
	    {0x20, 0x01, 0x0d, 0xb8, 0, 1},
	    {0},
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	};
	for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		for (uint8_t family = 1; family <= 2; family++) {
			int bits = family == 1 ? 32 : 128;
			for (int prefix = 0; prefix <= bits; prefix += family == 1 ? 4 : 16) {
				struct dyn_client cl = {.family = family, .prefix = (uint8_t)prefix};
				memcpy(cl.addr, probes[p], 16);
				for (unsigned pattern = 0; pattern < 256; pattern += 85) {
					for (int t = 0; t < 3; t++) {
						static const uint16_t types[] = {RR_A, RR_AAAA, RR_CNAME};
						uint16_t type = types[t];
						struct rrset rs;
						uint8_t scope = 0;
						struct dyn_trace trace;
						rc = dyn_select_geo(
						    r, type, 300, &cl, health, &pattern, pattern & 1 ? geo : NULL, NULL,
						    pattern * 0x01010101u, scratch, &rs, &scope, p % 2 ? &trace : NULL);
						if (!dyn_serves(r, type)) {
							if (rc != TERN_ENOTFOUND)
								fail(
								    "an answer for a type the resource does not serve");
							continue;
						}
						if (rc != 0)
							fail("no answer for a type the resource serves");
						check_answer(r, rsize, scratch, type, &rs, scope, bits);
						/* the answer path's selection: the same records and scope */
						struct rrset dyn = {
						    .type = type, .ttl = 300, .rdata = (const uint8_t *)r, .dyn = 1};
						struct dyn_env env = {health, &pattern, pattern & 1 ? geo : NULL, NULL};
						static struct dyn_choice ch;
						if (dyn_choose(&dyn, &cl, &env, pattern * 0x01010101u, &ch) != 0 ||
						    ch.scope != scope || ch.rrset.type != type || ch.rrset.ttl != 300 ||
						    ch.rrset.count != rs.count ||
						    ch.rrset.rdata_size != rs.rdata_size ||
						    memcmp(ch.rrset.rdata, rs.rdata, rs.rdata_size) != 0)
							fail("dyn_choose() and dyn_select_geo() disagree");
						check_signed(r, type, &rs, pattern * 0x9e3779b9u);
						if (p % 2 && (trace.chosen >= trace.npools ||
						              (trace.chosen < 0) != trace.fallback))
							fail("the trace does not tell the pool that answered");
					}
				}
			}
		}
	}
	int pools = dyn_pool_count(r);
	for (int i = 0; i < pools; i++) {
		struct dyn_member_view v[DYN_MAX_MEMBERS];
		if (dyn_pool_members(r, i, RR_A, v, DYN_MAX_MEMBERS) < 0 || !dyn_pool_name(r, i)[0])
			fail("a pool without a name");
		int n = dyn_pool_members(r, i, RR_CNAME, v, DYN_MAX_MEMBERS);
		if (n > 0 && !cname)
			fail("name members in an address resource");
		for (int k = 0; k < n; k++)
			if (!v[k].name || name_check(v[k].name, NAME_MAXLEN) < 0)
				fail("a name member without a whole name");
	}
	free(r);
	return 0;
}
