/* Unit tests for lib/dyn: DYN statements compiled (and refused with the statement and token at
 * fault), and the selection of a client's answer: geo entries and their ECS scope, failover over
 * monitored members, the all-down fallback, weighted picks and the explanation trace. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

/* The RDATA of one DYN record per statement, tokens split at spaces. */
static size_t rdata_of(const char *const *stmts, int n, uint8_t *out)
{
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		size_t len_at = o;
		o += 2;
		const char *p = stmts[i];
		while (*p) {
			while (*p == ' ')
				p++;
			const char *t = p;
			while (*p && *p != ' ')
				p++;
			if (p > t) {
				out[o++] = (uint8_t)(p - t);
				memcpy(out + o, t, (size_t)(p - t));
				o += (size_t)(p - t);
			}
		}
		out[len_at] = (uint8_t)((o - len_at - 2) >> 8);
		out[len_at + 1] = (uint8_t)(o - len_at - 2);
	}
	return o;
}

static int compile(const char *const *stmts, int n, struct dyn_resource **r, char *err, size_t errlen)
{
	uint8_t rd[8192];
	size_t len = rdata_of(stmts, n, rd);
	size_t size;
	return dyn_compile(rd, len, (uint16_t)n, r, &size, err, errlen);
}

static struct dyn_resource *must_compile(const char *const *stmts, int n)
{
	struct dyn_resource *r = NULL;
	char err[512] = "";
	int rc = compile(stmts, n, &r, err, sizeof(err));
	if (rc != 0)
		fail_msg("compile: %s", err);
	return r;
}

static struct dyn_client client(const char *addr, int prefix)
{
	struct dyn_client c = {0};
	if (inet_pton(AF_INET, addr, c.addr) == 1)
		c.family = 1;
	else if (inet_pton(AF_INET6, addr, c.addr) == 1)
		c.family = 2;
	c.prefix = (uint8_t)prefix;
	return c;
}

/* The answer's addresses as text, space separated. */
static void answer_text(const struct rrset *rs, char *out, size_t cap)
{
	out[0] = 0;
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec)) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(rdata_len(rec) == 4 ? AF_INET : AF_INET6, rdata_bytes(rec), a, sizeof(a));
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", n ? " " : "", a);
	}
}

static const char *const geo[] = {
    "pool br 192.0.2.10",
    "pool nl 192.0.2.20 2001:db8::20",
    "pool world 192.0.2.1 192.0.2.2",
    "answer world",
    "geo 198.51.100.0/24 br world",
    "geo 203.0.113.0/24 nl",
    "geo 203.0.113.128/25 br",
    "geo 2001:db8:1::/48 nl",
};

static void select_text(const struct dyn_resource *r, uint16_t type, const struct dyn_client *c, char *out,
                        uint8_t *scope)
{
	uint8_t scratch[DYN_SCRATCH];
	struct rrset rs;
	assert_int_equal(dyn_select(r, type, 60, c, NULL, NULL, 0, scratch, &rs, scope, NULL), 0);
	assert_int_equal(rs.type, type);
	assert_int_equal(rs.ttl, 60);
	answer_text(&rs, out, 256);
}

static void test_geo_and_scope(void **state)
{
	(void)state;
	struct dyn_resource *r = must_compile(geo, 8);
	char text[256];
	uint8_t scope;
	struct dyn_client c = client("198.51.100.7", 24);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.10");
	assert_int_equal(scope, 24);
	/* inside 203.0.113.0/24 but not its /25 half: the scope says the choice needed 25 bits */
	c = client("203.0.113.9", 24);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.20");
	assert_int_equal(scope, 25);
	/* the /24 source prefix leaves the rest zero: 203.0.113.200/24 is 203.0.113.0 */
	c = client("203.0.113.200", 24);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.20");
	c = client("203.0.113.200", 32);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.10");
	assert_int_equal(scope, 25);
	/* IPv6 client, IPv4 answer from the entry's pool */
	c = client("2001:db8:1::", 56);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.20");
	assert_int_equal(scope, 48);
	/* no entry: the answer list; the scope is the block around the client holding no entry
	 * (192.0.2.0 and 198.51.100.0 share 5 bits: 6 keep them apart), never 0 */
	c = client("192.0.2.0", 24);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.1 192.0.2.2");
	assert_int_equal(scope, 6);
	/* AAAA: the answer list has no IPv6 member, so the resource does not serve AAAA at all */
	assert_false(dyn_serves(r, RR_AAAA));
	assert_true(dyn_serves(r, RR_A));
	struct rrset rs;
	uint8_t scratch[DYN_SCRATCH];
	assert_int_equal(dyn_select(r, RR_AAAA, 60, &c, NULL, NULL, 0, scratch, &rs, &scope, NULL), TERN_ENOTFOUND);
	/* no client at all: the answer list, scope 0 */
	select_text(r, RR_A, NULL, text, &scope);
	assert_string_equal(text, "192.0.2.1 192.0.2.2");
	assert_int_equal(scope, 0);
	free(r);
}

static void test_family_stands_aside(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "pool v4 192.0.2.1",
	    "pool both 192.0.2.2 2001:db8::2",
	    "answer both",
	    "geo 10.0.0.0/8 v4",
	};
	struct dyn_resource *r = must_compile(s, 4);
	char text[256];
	uint8_t scope;
	struct dyn_client c = client("10.1.2.0", 24);
	select_text(r, RR_A, &c, text, &scope);
	assert_string_equal(text, "192.0.2.1");
	assert_int_equal(scope, 8);
	select_text(r, RR_AAAA, &c, text, &scope); /* v4 has no IPv6 member: the answer list answers */
	assert_string_equal(text, "2001:db8::2");
	assert_int_equal(scope, 8);
	free(r);
}

/* A fake geo database: 198.51.100.0/24 BR (SA), 203.0.113.0/24 NL (EU), 2001:db8:1::/48 US (NA),
 * 192.0.2.0/24 FR (EU), 100.64.0.0/10 held with no codes; everything else not held, in an empty
 * block of 8 (IPv4) or 16 (IPv6) bits. calls counts the lookups. */
struct fakedb {
	int calls;
	uint8_t last[16];
};

static void fake_geo(void *ctx, uint8_t family, const uint8_t *addr, struct dyn_geo *out)
{
	struct fakedb *db = ctx;
	db->calls++;
	memcpy(db->last, addr, family == 1 ? 4 : 16);
	static const struct {
		uint8_t family, prefix, addr[16];
		const char *country, *continent;
	} nets[] = {
	    {1, 24, {198, 51, 100}, "BR", "SA"},
	    {1, 24, {203, 0, 113}, "NL", "EU"},
	    {1, 24, {192, 0, 2}, "FR", "EU"},
	    {1, 10, {100, 64}, "", ""},
	    {2, 48, {0x20, 0x01, 0x0d, 0xb8, 0, 1}, "US", "NA"},
	};
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		if (nets[i].family != family)
			continue;
		int full = nets[i].prefix / 8, rest = nets[i].prefix % 8;
		if (memcmp(addr, nets[i].addr, (size_t)full) != 0 ||
		    (rest && ((addr[full] ^ nets[i].addr[full]) & (0xff00 >> rest))))
			continue;
		out->found = true;
		out->prefix = nets[i].prefix;
		snprintf(out->country, sizeof(out->country), "%s", nets[i].country);
		snprintf(out->continent, sizeof(out->continent), "%s", nets[i].continent);
		return;
	}
	out->prefix = family == 1 ? 8 : 16;
}

static void geo_text(const struct dyn_resource *r, uint16_t type, const char *addr, int prefix, struct fakedb *db,
                     char *out, uint8_t *scope, struct dyn_trace *trace)
{
	uint8_t scratch[DYN_SCRATCH];
	struct rrset rs;
	struct dyn_client c = client(addr, prefix);
	assert_int_equal(
	    dyn_select_geo(r, type, 60, &c, NULL, NULL, db ? fake_geo : NULL, db, 0, scratch, &rs, scope, trace), 0);
	answer_text(&rs, out, 256);
}

static void test_geo_database(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "pool br 192.0.2.10", "pool nl 192.0.2.20",      "pool us 192.0.2.30 2001:db8::30",
	    "pool eu 192.0.2.40", "pool sub 192.0.2.50",     "pool world 192.0.2.1 2001:db8::1",
	    "answer world",       "geo country br br world", "geo COUNTRY NL nl",
	    "geo country us us",  "geo continent EU eu",     "geo 203.0.113.128/25 sub",
	};
	struct dyn_resource *r = must_compile(s, 12);
	assert_true(dyn_uses_geo(r));
	struct fakedb db = {0};
	char text[256];
	uint8_t scope;
	struct dyn_trace tr;
	/* the three clients: country entries, scope = the database network's prefix */
	geo_text(r, RR_A, "198.51.100.7", 24, &db, text, &scope, &tr);
	assert_string_equal(text, "192.0.2.10");
	assert_int_equal(scope, 24);
	assert_string_equal(tr.entry_text, "country BR");
	assert_true(tr.geo_asked && tr.geo.found);
	assert_int_equal(tr.entry, 1); /* subnet entries are numbered first */
	geo_text(r, RR_A, "2001:db8:1::", 56, &db, text, &scope, NULL);
	assert_string_equal(text, "192.0.2.30");
	assert_int_equal(scope, 48);
	geo_text(r, RR_AAAA, "2001:db8:1:ff00::", 56, &db, text, &scope, NULL);
	assert_string_equal(text, "2001:db8::30");
	assert_int_equal(scope, 48);
	/* bits past the source prefix are zero when the database is asked (RFC 7871 6) */
	geo_text(r, RR_A, "203.0.113.200", 24, &db, text, &scope, NULL);
	assert_string_equal(text, "192.0.2.20");
	assert_int_equal(db.last[3], 0);
	/* subnet entries come first: inside the /25 the database is not asked */
	db.calls = 0;
	geo_text(r, RR_A, "203.0.113.200", 32, &db, text, &scope, &tr);
	assert_string_equal(text, "192.0.2.50");
	assert_int_equal(scope, 25);
	assert_int_equal(db.calls, 0);
	assert_false(tr.geo_asked);
	/* outside it, the scope covers both: the /25 needed 25 bits, the database network 24 */
	geo_text(r, RR_A, "203.0.113.9", 32, &db, text, &scope, NULL);
	assert_string_equal(text, "192.0.2.20");
	assert_int_equal(scope, 25);
	/* country before continent: FR has no entry, its continent EU has */
	geo_text(r, RR_A, "192.0.2.77", 32, &db, text, &scope, &tr);
	assert_string_equal(text, "192.0.2.40");
	assert_int_equal(scope, 24);
	assert_string_equal(tr.entry_text, "continent EU");
	/* a family a list lacks stands aside for the next rule: NL has no IPv6 member, continent EU
	 * neither, so AAAA for an NL client is the answer list's */
	geo_text(r, RR_AAAA, "203.0.113.9", 32, &db, text, &scope, NULL);
	assert_string_equal(text, "2001:db8::1");
	/* held, but no codes: the answer list, scope the network's */
	geo_text(r, RR_A, "100.100.0.1", 32, &db, text, &scope, NULL);
	assert_string_equal(text, "192.0.2.1");
	assert_int_equal(scope, 10);
	/* not held: the answer list, scope the empty block around it (never 0: it is an answer for
	 * that block only) */
	geo_text(r, RR_A, "10.1.2.3", 32, &db, text, &scope, &tr);
	assert_string_equal(text, "192.0.2.1");
	assert_int_equal(scope, 8);
	assert_true(tr.geo_asked && !tr.geo.found);
	assert_int_equal(tr.entry, -1);
	/* no database: every client is not held; only subnet entries shape the scope */
	geo_text(r, RR_A, "198.51.100.7", 24, NULL, text, &scope, NULL);
	assert_string_equal(text, "192.0.2.1");
	assert_int_equal(scope, 5); /* 198.51.100.0 and 203.0.113.128 share 4 leading bits */
	/* dyn_select() is dyn_select_geo() without a database */
	struct dyn_client c = client("198.51.100.7", 24);
	uint8_t scratch[DYN_SCRATCH];
	struct rrset rs;
	assert_int_equal(dyn_select(r, RR_A, 60, &c, NULL, NULL, 0, scratch, &rs, &scope, NULL), 0);
	answer_text(&rs, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1");
	free(r);
	/* a resource without country or continent entries never asks */
	r = must_compile(geo, 8);
	assert_false(dyn_uses_geo(r));
	db.calls = 0;
	geo_text(r, RR_A, "198.51.100.7", 24, &db, text, &scope, NULL);
	assert_string_equal(text, "192.0.2.10");
	geo_text(r, RR_A, "192.0.2.0", 24, &db, text, &scope, NULL);
	assert_int_equal(scope, 6);
	assert_int_equal(db.calls, 0);
	free(r);
}

/* The renderers' view of country and continent entries: countries first, in the order given,
 * codes upper case, each with its pools in order; subnet entries apart. */
static void test_code_entries_listed(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "pool br 192.0.2.10",        "pool eu 192.0.2.40",      "pool world 192.0.2.1", "answer world",
	    "geo continent eu eu world", "geo country br br world", "geo country NL eu",    "geo 10.0.0.0/8 br",
	};
	struct dyn_resource *r = must_compile(s, 8);
	assert_int_equal(dyn_entry_count(r), 1);
	assert_int_equal(dyn_code_count(r), 3);
	static const struct {
		bool continent;
		const char *code;
		int n, pools[2];
	} want[] = {{false, "BR", 2, {0, 2}}, {false, "NL", 1, {1}}, {true, "EU", 2, {1, 2}}};
	for (int i = 0; i < 3; i++) {
		struct dyn_code_view v;
		int pools[4] = {-1, -1, -1, -1};
		dyn_code(r, i, &v);
		assert_int_equal(v.continent, want[i].continent);
		assert_string_equal(v.code, want[i].code);
		assert_int_equal(dyn_code_list(r, i, pools, 1), want[i].n); /* the length, whatever cap */
		assert_int_equal(pools[0], want[i].pools[0]);
		assert_int_equal(pools[1], -1);
		assert_int_equal(dyn_code_list(r, i, pools, 4), want[i].n);
		for (int k = 0; k < want[i].n; k++)
			assert_int_equal(pools[k], want[i].pools[k]);
	}
	free(r);
	r = must_compile(geo, 8);
	assert_int_equal(dyn_code_count(r), 0);
	free(r);
}

/* Health: members whose last octet is listed in the context are down. */
static bool down_list(void *ctx, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	assert_int_equal(m->kind, DYN_MON_TCP);
	const char *down = ctx;
	uint8_t last = family == 1 ? addr[3] : addr[15];
	return strchr(down, (char)('0' + last)) == NULL;
}

static void test_failover(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "monitor m tcp 80 interval 2 timeout 1 up 2 down 2",
	    "pool a 192.0.2.1 monitor m 192.0.2.2 monitor m 192.0.2.3",
	    "pool b 198.51.100.4 monitor m",
	    "answer a b",
	};
	struct dyn_resource *r = must_compile(s, 4);
	uint8_t scratch[DYN_SCRATCH], scope;
	struct rrset rs;
	struct dyn_trace t;
	char text[256];
	/* one of a's monitored members down: the others (the unmonitored one always live) */
	assert_int_equal(dyn_select(r, RR_A, 30, NULL, down_list, (void *)"1", 0, scratch, &rs, &scope, &t), 0);
	answer_text(&rs, text, sizeof(text));
	assert_string_equal(text, "192.0.2.2 192.0.2.3");
	assert_ptr_equal(rs.rdata, scratch);
	assert_int_equal(t.chosen, 0);
	assert_int_equal(t.pools[0].live, 2);
	assert_int_equal(t.pools[0].members, 3);
	assert_false(t.fallback);
	/* a has an unmonitored member, so it never fails over; drop that by a pool of monitored only */
	static const char *const s2[] = {
	    "monitor m tcp 80",
	    "pool a 192.0.2.1 monitor m 192.0.2.2 monitor m",
	    "pool b 198.51.100.4 monitor m",
	    "answer a b",
	};
	free(r);
	r = must_compile(s2, 4);
	assert_int_equal(dyn_select(r, RR_A, 30, NULL, down_list, (void *)"12", 0, scratch, &rs, &scope, &t), 0);
	answer_text(&rs, text, sizeof(text));
	assert_string_equal(text, "198.51.100.4");
	assert_int_equal(t.chosen, 1);
	assert_string_equal(t.pools[1].name, "b");
	/* all down: the first pool whole (gdnsd's fallback) */
	assert_int_equal(dyn_select(r, RR_A, 30, NULL, down_list, (void *)"124", 0, scratch, &rs, &scope, &t), 0);
	answer_text(&rs, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1 192.0.2.2");
	assert_true(t.fallback);
	assert_int_equal(t.chosen, -1);
	/* every member up: the pool's records as compiled, no copy */
	assert_int_equal(dyn_select(r, RR_A, 30, NULL, down_list, (void *)"", 0, scratch, &rs, &scope, NULL), 0);
	assert_ptr_not_equal(rs.rdata, scratch);
	assert_int_equal(rs.count, 2);
	free(r);
}

static void test_weighted(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "pool w 192.0.2.7 weight 90 192.0.2.8 weight 10 192.0.2.9 weight 0",
	    "answer w",
	};
	struct dyn_resource *r = must_compile(s, 2);
	uint8_t scratch[DYN_SCRATCH], scope;
	struct rrset rs;
	char text[256];
	int seen7 = 0, seen8 = 0;
	/* rnd spread evenly over 2^32: exactly 90% and 10%, never the drained member */
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t rnd = (uint32_t)((((uint64_t)i << 32) + 999) / 1000); /* ceil: i / 1000 of the range */
		assert_int_equal(dyn_select(r, RR_A, 30, NULL, NULL, NULL, rnd, scratch, &rs, &scope, NULL), 0);
		assert_int_equal(rs.count, 1);
		answer_text(&rs, text, sizeof(text));
		seen7 += strcmp(text, "192.0.2.7") == 0;
		seen8 += strcmp(text, "192.0.2.8") == 0;
		assert_int_equal(scope, 0);
	}
	assert_int_equal(seen7, 900);
	assert_int_equal(seen8, 100);
	struct dyn_member_view v[4];
	assert_int_equal(dyn_pool_count(r), 1);
	assert_true(dyn_pool_weighted(r, 0));
	assert_int_equal(dyn_pool_members(r, 0, RR_A, v, 4), 3);
	assert_int_equal(v[0].weight, 90);
	assert_int_equal(v[2].weight, 0);
	free(r);
}

static int count_pair(void *arg, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	(void)m;
	(void)addr;
	int *n = arg;
	*n += family;
	return 0;
}

static void test_monitors_listed(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "monitor web https https://www.example.com:8443/health?x=1 status 204 body ok interval 5 timeout 2",
	    "pool p 192.0.2.1 monitor web 2001:db8::1 monitor web 192.0.2.3",
	    "answer p",
	};
	struct dyn_resource *r = must_compile(s, 3);
	int n = 0;
	assert_int_equal(dyn_foreach_monitored(r, count_pair, &n), 0);
	assert_int_equal(n, 1 + 2); /* one IPv4 pair, one IPv6 pair */
	struct dyn_member_view v[4];
	assert_int_equal(dyn_pool_members(r, 0, RR_A, v, 4), 2);
	assert_non_null(v[0].monitor);
	assert_null(v[1].monitor);
	assert_string_equal(v[0].monitor_name, "web");
	assert_int_equal(v[0].monitor->kind, DYN_MON_HTTPS);
	assert_int_equal(v[0].monitor->port, 8443);
	assert_int_equal(v[0].monitor->status, 204);
	assert_string_equal(v[0].monitor->host, "www.example.com");
	assert_string_equal(v[0].monitor->path, "/health?x=1");
	assert_string_equal(v[0].monitor->body, "ok");
	assert_int_equal(v[0].monitor->interval_ms, 5000);
	free(r);
}

/* Each bad resource is refused with a message naming what is wrong. */
static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *stmts[4];
		const char *says;
	} cases[] = {
	    {{"pool a 192.0.2.1", "answer b"}, "pool \"b\" is not defined"},
	    {{"pool a 192.0.2.1", "answer a", "geo 10.0.0.0/8 zz"}, "pool \"zz\" is not defined"},
	    {{"pool a 192.0.2.1 monitor nope", "answer a"}, "monitor \"nope\" is not defined"},
	    {{"pool a 192.0.2.1 weight -5", "answer a"}, "weight \"-5\""},
	    {{"pool a 192.0.2.1 weight lots", "answer a"}, "weight \"lots\""},
	    {{"pool a 192.0.2.1 weight 0 192.0.2.2 weight 0", "answer a"}, "every weight is 0"},
	    {{"pool a 192.0.2.300", "answer a"}, "member \"192.0.2.300\": not an IPv4 or IPv6 address"},
	    {{"pool a 192.0.2.1 192.0.2.1", "answer a"}, "listed twice"},
	    {{"pool a 192.0.2.1", "pool a 192.0.2.2", "answer a"}, "pool \"a\" is defined twice"},
	    {{"pool a 192.0.2.1"}, "missing (answer POOL"},
	    {{"pool a 192.0.2.1", "answer a", "answer a"}, "a second answer statement"},
	    {{"pool a 192.0.2.1", "answer a", "geo 10.0.0.1/8 a"}, "address bits set past the prefix length 8"},
	    {{"pool a 192.0.2.1", "answer a", "geo 10.0.0.0/33 a"}, "prefix length must be 0 to 32"},
	    {{"pool a 192.0.2.1", "answer a", "geo 10.0.0.0/8 a", "geo 10.0.0.0/8 a"}, "mapped twice"},
	    {{"pool a 192.0.2.1", "answer a", "monitor m http ftp://x/"}, "does not start with http://"},
	    {{"pool a 192.0.2.1", "answer a", "monitor m http http:///x"}, "no host"},
	    {{"pool a 192.0.2.1", "answer a", "monitor m http http://h:99999/"}, "port must be 1 to 65535"},
	    {{"pool a 192.0.2.1", "answer a", "monitor m tcp 80 interval 0"}, "interval \"0\": 1 to 3600"},
	    {{"pool a 192.0.2.1", "answer a", "monitor m tcp 80 interval 2 timeout 5"}, "longer than the interval"},
	    {{"pool a 192.0.2.1", "answer a", "monitor m tcp 0"}, "port \"0\""},
	    {{"pool a 192.0.2.1", "answer a", "monitor m udp 53"}, "kind \"udp\""},
	    {{"pool a 192.0.2.1", "answer a", "monitor m tcp 80 bogus 1"}, "unknown option \"bogus\""},
	    {{"pool a 192.0.2.1", "answer a", "cname x"}, "unknown statement"},
	    {{"pool a! 192.0.2.1", "answer a"}, "pool name \"a!\""},
	    {{"pool a 192.0.2.1", "answer a", "geo country UK a"}, "country \"UK\": not an ISO 3166-1 alpha-2 code"},
	    {{"pool a 192.0.2.1", "answer a", "geo country BRA a"}, "country \"BRA\": not an ISO 3166-1"},
	    {{"pool a 192.0.2.1", "answer a", "geo continent EA a"}, "continent \"EA\": expected one of AF AN"},
	    {{"pool a 192.0.2.1", "answer a", "geo country BR"}, "expected: geo country CC POOL"},
	    {{"pool a 192.0.2.1", "answer a", "geo country BR zz"}, "pool \"zz\" is not defined"},
	    {{"pool a 192.0.2.1", "answer a", "geo country BR a", "geo country br a"}, "country BR is mapped twice"},
	    {{"pool a 192.0.2.1", "answer a", "geo continent EU a a"}, "pool \"a\" is listed twice"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = 0;
		while (n < 4 && cases[i].stmts[n])
			n++;
		struct dyn_resource *r = NULL;
		char err[512] = "";
		assert_int_equal(compile(cases[i].stmts, n, &r, err, sizeof(err)), TERN_EINVAL);
		assert_null(r);
		if (!strstr(err, cases[i].says))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].says);
	}
	/* bytes that are not text are shown escaped, never raw */
	uint8_t rd[] = {0, 9, 4, 'p', 'o', 'o', 'l', 1, 'a', 1, 0x07};
	struct dyn_resource *r = NULL;
	char err[512];
	size_t size;
	assert_int_equal(dyn_compile(rd, sizeof(rd), 1, &r, &size, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "\\007"));
	/* a record that is not character-strings */
	uint8_t bad[] = {0, 3, 5, 'a', 'b'};
	assert_int_equal(dyn_compile(bad, sizeof(bad), 1, &r, &size, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "not a sequence of character-strings"));
}

/* The first address the name's resource answers for a client outside every entry. */
static void zone_answer(const struct zone *z, const char *owner, char *out)
{
	uint8_t name[NAME_MAXLEN];
	assert_true(name_from_text(name, owner, NULL) > 0);
	const struct zone_node *n = zone_find(z, name, name_len(name));
	assert_non_null(n);
	const struct rrset *rs = zone_node_rrset(n, RR_DYN);
	assert_non_null(rs);
	assert_int_equal(rs->dyn, 1);
	uint8_t scratch[DYN_SCRATCH], scope;
	struct rrset ans;
	assert_int_equal(
	    dyn_select(dyn_rrset_resource(rs), RR_A, rs->ttl, NULL, NULL, NULL, 0, scratch, &ans, &scope, NULL), 0);
	answer_text(&ans, out, 256);
}

/* Zone files (a multi-line DYN record, a name called dyn) and changes: the compiled resource rides
 * with its RRset through zone_apply(), also when another RRset of its name changes. */
static void test_in_zones(void **state)
{
	(void)state;
	static const char text[] = "$ORIGIN t.\n"
	                           "@ 300 IN SOA ns h 1 2 3 4 5\n"
	                           "@ 300 IN NS ns\n"
	                           "ns 300 IN A 192.0.2.53\n"
	                           "dyn 300 IN A 192.0.2.54\n"
	                           "www 60 IN DYN ( pool p 192.0.2.1\n"
	                           "   192.0.2.2 ) ; a comment with DYN in it\n"
	                           "    60 in dyn answer p\n"
	                           "www 60 IN TXT \"DYN\"\n";
	uint8_t apex[NAME_MAXLEN];
	assert_true(name_from_text(apex, "t.", NULL) > 0);
	struct zone *z = NULL;
	char err[1024] = "";
	if (zonefile_load_string(text, sizeof(text) - 1, "t.zone", apex, &z, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	char got[256];
	zone_answer(z, "www.t.", got);
	assert_string_equal(got, "192.0.2.1 192.0.2.2");
	uint8_t dynname[NAME_MAXLEN];
	name_from_text(dynname, "dyn.t.", NULL);
	assert_non_null(zone_node_rrset(zone_find(z, dynname, name_len(dynname)), RR_A)); /* an owner, not a type */
	/* another RRset at the name changes: the node is copied, the resource with it */
	uint8_t www[NAME_MAXLEN], txt[] = {0, 3, 2, 'h', 'i'};
	name_from_text(www, "www.t.", NULL);
	struct zone_change ch = {.owner = www, .type = RR_TXT, .ttl = 60, .count = 1, .rdata = txt, .rdata_size = 5};
	struct zone *z2 = NULL;
	assert_int_equal(zone_apply_text(z, &ch, 1, &z2, err, sizeof(err)), 0);
	zone_answer(z2, "www.t.", got);
	assert_string_equal(got, "192.0.2.1 192.0.2.2");
	/* the resource changes */
	static const char *const now[] = {"pool q 192.0.2.9", "answer q"};
	uint8_t rd[256];
	size_t len = rdata_of(now, 2, rd);
	ch = (struct zone_change){
	    .owner = www, .type = RR_DYN, .ttl = 60, .count = 2, .rdata = rd, .rdata_size = (uint32_t)len};
	struct zone *z3 = NULL;
	assert_int_equal(zone_apply_text(z2, &ch, 1, &z3, err, sizeof(err)), 0);
	zone_answer(z3, "www.t.", got);
	assert_string_equal(got, "192.0.2.9");
	/* a bad one is refused, naming the name and the fault */
	static const char *const bad[] = {"pool q 192.0.2.9", "answer r"};
	len = rdata_of(bad, 2, rd);
	ch.rdata_size = (uint32_t)len;
	struct zone *z4 = NULL;
	assert_int_not_equal(zone_apply_text(z3, &ch, 1, &z4, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "DYN at www.t."));
	assert_non_null(strstr(err, "pool \"r\" is not defined"));
	/* and a fixed A beside it too */
	uint8_t a[] = {0, 4, 192, 0, 2, 3};
	ch = (struct zone_change){.owner = www, .type = RR_A, .ttl = 60, .count = 1, .rdata = a, .rdata_size = 6};
	assert_int_not_equal(zone_apply_text(z3, &ch, 1, &z4, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "beside A or AAAA"));
	zone_free(z3);
	zone_free(z2);
	zone_free(z);
}

/* The reference: every entry looked at (what dyn.h says, written the plain way). */
struct ref_entry {
	uint8_t family, prefix, addr[16];
};

static int ref_common(const uint8_t *a, const uint8_t *b, int max)
{
	int n = 0;
	while (n < max && !((a[n / 8] ^ b[n / 8]) & (0x80 >> (n % 8))))
		n++;
	return n;
}

static int ref_match(const struct ref_entry *e, int n, const struct dyn_client *cl, uint8_t *scope)
{
	int best = -1, best_len = -1, need = 0;
	for (int i = 0; i < n; i++) {
		if (e[i].family != cl->family)
			continue;
		int c = ref_common(cl->addr, e[i].addr, e[i].prefix);
		if (c >= e[i].prefix && e[i].prefix > best_len) {
			best = i;
			best_len = e[i].prefix;
		} else if (c < e[i].prefix && c + 1 > need) {
			need = c + 1;
		}
	}
	*scope = (uint8_t)(best_len > need ? best_len : need);
	return best;
}

/* Random maps of nested and separate subnets: the compiled stretches give every client the entry
 * and scope the reference gives. */
static void test_geo_against_reference(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 60; round++) {
		static char text[64][80];
		const char *stmts[66] = {"pool p 192.0.2.1", "answer p"};
		struct ref_entry ref[64];
		int n = 0;
		int want = 1 + rand() % 40;
		while (n < want) {
			struct ref_entry e = {.family = (uint8_t)(1 + rand() % 2)};
			int bits = e.family == 1 ? 32 : 128;
			/* few distinct high bits, so entries nest and neighbour each other */
			e.prefix = (uint8_t)(rand() % (bits == 32 ? 33 : 40));
			for (int b = 0; b < e.prefix; b++)
				if (rand() % 3 == 0)
					e.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			bool dup = false;
			for (int k = 0; k < n; k++)
				dup |= ref[k].family == e.family && ref[k].prefix == e.prefix &&
				       !memcmp(ref[k].addr, e.addr, 16);
			if (dup)
				continue;
			char a[INET6_ADDRSTRLEN];
			inet_ntop(e.family == 1 ? AF_INET : AF_INET6, e.addr, a, sizeof(a));
			snprintf(text[n], sizeof(text[n]), "geo %s/%u p", a, e.prefix);
			stmts[2 + n] = text[n];
			ref[n++] = e;
		}
		struct dyn_resource *r = must_compile(stmts, 2 + n);
		for (int q = 0; q < 400; q++) {
			struct dyn_client cl = {.family = (uint8_t)(1 + rand() % 2)};
			int bits = cl.family == 1 ? 32 : 128;
			cl.prefix = (uint8_t)bits;
			/* near an entry half of the time */
			if (rand() % 2) {
				const struct ref_entry *e = &ref[rand() % n];
				memcpy(cl.addr, e->addr, 16);
				int flip = rand() % bits;
				if (e->family == cl.family)
					cl.addr[flip / 8] ^= (uint8_t)(0x80 >> (flip % 8));
			} else {
				for (int b = 0; b < bits / 8; b++)
					cl.addr[b] = (uint8_t)(rand() % 3 == 0 ? 0xff : 0);
			}
			uint8_t want_scope, got_scope, scratch[DYN_SCRATCH];
			int want_entry = ref_match(ref, n, &cl, &want_scope);
			struct rrset rs;
			struct dyn_trace t;
			assert_int_equal(dyn_select(r, RR_A, 60, &cl, NULL, NULL, 0, scratch, &rs, &got_scope, &t), 0);
			if (t.entry != want_entry || got_scope != want_scope) {
				char a[INET6_ADDRSTRLEN];
				inet_ntop(cl.family == 1 ? AF_INET : AF_INET6, cl.addr, a, sizeof(a));
				fail_msg("round %d client %s: entry %d scope %u, the reference says %d scope %u", round,
				         a, t.entry, got_scope, want_entry, want_scope);
			}
		}
		free(r);
	}
}

/* The answer path's selection (dyn_choose()) of an A record for an IPv4 client, as text. */
static void choose_text(const struct rrset *dyn, const char *addr, uint8_t *scope, char *out)
{
	struct rrset rs = *dyn;
	rs.type = RR_A;
	struct dyn_client cl = client(addr, 32);
	const struct dyn_env env = {0};
	static struct dyn_choice ch;
	assert_int_equal(dyn_choose(&rs, &cl, &env, 0, &ch), 0);
	assert_int_equal(ch.rrset.type, RR_A);
	assert_int_equal(ch.rrset.ttl, 60);
	*scope = ch.scope;
	answer_text(&ch.rrset, out, 256);
}

/* 600 IPv4 entries, a run of adjacent /24s (as bench-geo's) and scattered nested prefixes below
 * 64.0.0.0, each with one of 64 pools: the answer path (dyn_choose(): its bucket index, then a binary search)
 * gives every client the pool and scope of the reference, at each entry's first and last
 * address and just outside them, below the first entry and past the last too. */
static void test_choose_against_reference(void **state)
{
	(void)state;
	enum { N = 600, POOLS = 64, HEAD = POOLS + 2 };
	static struct ref_entry ref[N];
	static char text[HEAD + N][64];
	static const char *stmts[HEAD + N];
	srand(11);
	for (int i = 0; i < POOLS; i++)
		snprintf(text[i], sizeof(text[i]), "pool p%d 198.51.%d.%d", i, i / 8, i % 8 + 1);
	snprintf(text[POOLS], sizeof(text[POOLS]), "pool world 192.0.2.1");
	snprintf(text[POOLS + 1], sizeof(text[POOLS + 1]), "answer world");
	int n = 0;
	while (n < N) {
		struct ref_entry e = {.family = 1};
		if (n < N / 2) { /* 10.0.0.0/24, 10.0.1.0/24, ... */
			e.prefix = 24;
			e.addr[0] = 10;
			e.addr[1] = (uint8_t)(n / 256);
			e.addr[2] = (uint8_t)n;
		} else { /* inside 0.0.0.0/2, so that the index's buckets end well before 255.255.255.255 */
			e.prefix = (uint8_t)(2 + rand() % 31);
			for (int b = 2; b < e.prefix; b++)
				if (rand() % 2)
					e.addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		}
		bool dup = false;
		for (int k = 0; k < n; k++)
			dup |= ref[k].prefix == e.prefix && !memcmp(ref[k].addr, e.addr, 4);
		if (dup)
			continue;
		snprintf(text[HEAD + n], sizeof(text[HEAD + n]), "geo %u.%u.%u.%u/%u p%d", e.addr[0], e.addr[1],
		         e.addr[2], e.addr[3], e.prefix, n % POOLS);
		ref[n++] = e;
	}
	for (int i = 0; i < HEAD + N; i++)
		stmts[i] = text[i];
	uint8_t *rd = malloc(64 * (HEAD + N));
	assert_non_null(rd);
	struct rrset dyn = {.type = RR_DYN, .ttl = 60, .count = HEAD + N, .rdata = rd};
	dyn.rdata_size = (uint32_t)rdata_of(stmts, HEAD + N, rd);
	uint8_t *heap = NULL;
	char err[512] = "";
	if (dyn_attach(&dyn, NULL, &heap, err, sizeof(err)) != 0)
		fail_msg("attach: %s", err);
	for (int q = 0; q < 4 * N + 2000; q++) {
		uint32_t a; /* host order */
		if (q < 4 * N) { /* an entry's first or last address, or the one before or after */
			const struct ref_entry *e = &ref[q / 4];
			uint32_t first = (uint32_t)e->addr[0] << 24 | (uint32_t)e->addr[1] << 16 |
			                 (uint32_t)e->addr[2] << 8 | e->addr[3];
			uint32_t last = first | (e->prefix == 0 ? 0xffffffffu : (uint32_t)(0xffffffffull >> e->prefix));
			a = (uint32_t[]){first, last, first - 1, last + 1}[q % 4];
		} else {
			a = q == 4 * N ? 0 : q == 4 * N + 1 ? 0xffffffffu : (uint32_t)rand() << 16 ^ (uint32_t)rand();
		}
		char addr[16], got[256], want[256] = "192.0.2.1";
		snprintf(addr, sizeof(addr), "%u.%u.%u.%u", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
		struct dyn_client cl = client(addr, 32);
		uint8_t want_scope, got_scope;
		int i = ref_match(ref, n, &cl, &want_scope);
		if (i >= 0)
			snprintf(want, sizeof(want), "198.51.%d.%d", i % POOLS / 8, i % POOLS % 8 + 1);
		choose_text(&dyn, addr, &got_scope, got);
		if (strcmp(got, want) != 0 || got_scope != want_scope)
			fail_msg("client %s: %s scope %u, the reference says %s scope %u", addr, got, got_scope, want,
			         want_scope);
	}
	free(heap);
	free(rd);
}

/* The answer path's short cut (an entry whose first pool of the family is always live and not
 * weighted answers with that pool's records) gives what the full selection gives, for A and
 * AAAA, with monitored members up or down, weighted pools and pools without the family first. */
static void test_choose_fixed_pools(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "monitor m tcp 80",
	    "pool plain 192.0.2.1 192.0.2.2 2001:db8::1",
	    "pool mon 192.0.2.3 monitor m 192.0.2.4",
	    "pool allmon 192.0.2.5 monitor m",
	    "pool w 192.0.2.6 weight 3 192.0.2.7 weight 1",
	    "pool v6 2001:db8::8",
	    "answer plain",
	    "geo 10.0.1.0/24 plain mon",
	    "geo 10.0.2.0/24 mon plain",
	    "geo 10.0.3.0/24 allmon plain",
	    "geo 10.0.4.0/24 w plain",
	    "geo 10.0.5.0/24 v6 plain",
	    "geo 10.0.6.0/24 v6",
	    "geo 2001:db8:1::/48 v6 plain",
	    "geo 2001:db8:2::/48 mon v6",
	};
	enum { N = sizeof(s) / sizeof(s[0]) };
	uint8_t rd[4096];
	struct rrset dyn = {.type = RR_DYN, .ttl = 60, .count = N, .rdata = rd};
	dyn.rdata_size = (uint32_t)rdata_of(s, N, rd);
	uint8_t *heap = NULL;
	char err[512] = "";
	if (dyn_attach(&dyn, NULL, &heap, err, sizeof(err)) != 0)
		fail_msg("attach: %s", err);
	const char *clients[] = {"10.0.1.9", "10.0.2.9", "10.0.3.9",      "10.0.4.9",      "10.0.5.9",
	                         "10.0.6.9", "10.0.7.9", "2001:db8:1::9", "2001:db8:2::9", "2001:db8:3::9"};
	const char *downs[] = {"", "3", "5", "35"};
	const uint16_t types[] = {RR_A, RR_AAAA};
	for (size_t c = 0; c < sizeof(clients) / sizeof(clients[0]); c++) {
		for (size_t d = 0; d < 4; d++) {
			for (size_t t = 0; t < 2; t++) {
				for (uint32_t rnd = 0; rnd < 4; rnd++) {
					struct rrset rs = dyn;
					rs.type = types[t];
					struct dyn_client cl = client(clients[c], 24);
					const struct dyn_env env = {down_list, (void *)downs[d], NULL, NULL};
					struct dyn_choice ch;
					uint8_t scratch[DYN_SCRATCH], scope;
					struct rrset want;
					int rc = dyn_select_geo(dyn_rrset_resource(&dyn), types[t], 60, &cl, down_list,
					                        (void *)downs[d], NULL, NULL, rnd << 30, scratch, &want,
					                        &scope, NULL);
					assert_int_equal(dyn_choose(&rs, &cl, &env, rnd << 30, &ch), rc);
					if (rc != 0)
						continue;
					char got_text[256], want_text[256];
					answer_text(&ch.rrset, got_text, sizeof(got_text));
					answer_text(&want, want_text, sizeof(want_text));
					if (strcmp(got_text, want_text) != 0 || ch.scope != scope ||
					    ch.rrset.ttl != want.ttl || ch.rrset.type != want.type)
						fail_msg("%s type %u down \"%s\": %s scope %u, the full selection %s "
						         "scope %u",
						         clients[c], types[t], downs[d], got_text, ch.scope, want_text,
						         scope);
				}
			}
		}
	}
	free(heap);
}

/* A resource whose selections may ask the health or geo functions says so; the answer path
 * hands the others no functions at all. */
static void test_external(void **state)
{
	(void)state;
	static const char *const plain[] = {"pool a 192.0.2.1", "answer a", "geo 10.0.0.0/8 a"};
	static const char *const monitored[] = {"monitor m tcp 80", "pool a 192.0.2.1 monitor m", "answer a"};
	static const char *const unused[] = {"monitor m tcp 80", "pool a 192.0.2.1", "answer a"};
	static const char *const country[] = {"pool a 192.0.2.1", "answer a", "geo country br a"};
	struct dyn_resource *r = must_compile(plain, 3);
	assert_false(dyn_external(r));
	free(r);
	r = must_compile(monitored, 3);
	assert_true(dyn_external(r));
	free(r);
	r = must_compile(unused, 3);
	assert_true(dyn_external(r));
	free(r);
	r = must_compile(country, 3);
	assert_true(dyn_external(r));
	free(r);
}

/* The target of a one-record CNAME answer, as text. */
static void target_text(const struct rrset *rs, char *out, size_t cap)
{
	assert_int_equal(rs->type, RR_CNAME);
	assert_int_equal(rs->count, 1);
	assert_int_equal(rs->rdata_size, 2u + rdata_len(rs->rdata));
	assert_int_equal(rdata_len(rs->rdata), name_len(rdata_bytes(rs->rdata)));
	assert_true(name_to_text(rdata_bytes(rs->rdata), out, cap) > 0);
}

/* Name pools: a CNAME resource answers CNAME (never A or AAAA) for every client, the target by
 * the geo entry (with its scope, as for addresses) and within a pool by weight. */
static void test_cname_resource(void **state)
{
	(void)state;
	static const char *const s[] = {
	    "pool br br.cdn.test.",
	    "pool world w1.cdn.test. weight 90 W2.cdn.test. weight 10",
	    "pool eq a.cdn.test. b.cdn.test.",
	    "answer world",
	    "geo 198.51.100.0/24 br world",
	    "geo 203.0.113.0/24 eq",
	};
	struct dyn_resource *r = must_compile(s, 6);
	assert_true(dyn_serves(r, RR_CNAME));
	assert_false(dyn_serves(r, RR_A));
	assert_false(dyn_serves(r, RR_AAAA));
	uint8_t scratch[DYN_SCRATCH], scope;
	struct rrset rs;
	char text[1024];
	assert_int_equal(dyn_select(r, RR_A, 60, NULL, NULL, NULL, 0, scratch, &rs, &scope, NULL), TERN_ENOTFOUND);
	struct dyn_client c = client("198.51.100.7", 24);
	assert_int_equal(dyn_select(r, RR_CNAME, 60, &c, NULL, NULL, 0, scratch, &rs, &scope, NULL), 0);
	target_text(&rs, text, sizeof(text));
	assert_string_equal(text, "br.cdn.test.");
	assert_int_equal(scope, 24);
	assert_int_equal(rs.ttl, 60);
	/* outside every entry: the answer list by weight, 90/10 of the random range, scope not 0 */
	c = client("192.0.2.0", 24);
	int w1 = 0, w2 = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t rnd = (uint32_t)((((uint64_t)i << 32) + 999) / 1000);
		assert_int_equal(dyn_select(r, RR_CNAME, 60, &c, NULL, NULL, rnd, scratch, &rs, &scope, NULL), 0);
		target_text(&rs, text, sizeof(text));
		w1 += strcmp(text, "w1.cdn.test.") == 0;
		w2 += strcmp(text, "W2.cdn.test.") == 0; /* the case as written */
		assert_int_equal(scope, 6);
	}
	assert_int_equal(w1, 900);
	assert_int_equal(w2, 100);
	/* a pool without weights: one name, equal shares */
	c = client("203.0.113.1", 24);
	int a = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t rnd = (uint32_t)((((uint64_t)i << 32) + 999) / 1000);
		assert_int_equal(dyn_select(r, RR_CNAME, 60, &c, NULL, NULL, rnd, scratch, &rs, &scope, NULL), 0);
		target_text(&rs, text, sizeof(text));
		a += strcmp(text, "a.cdn.test.") == 0;
		assert_int_equal(scope, 24);
	}
	assert_int_equal(a, 500);
	/* readers: a name pool is weighted, its members are names; no address members */
	struct dyn_member_view v[4];
	assert_int_equal(dyn_default_pool(r, RR_CNAME), 1);
	assert_int_equal(dyn_default_pool(r, RR_A), -1);
	assert_true(dyn_pool_weighted(r, 2));
	assert_int_equal(dyn_pool_members(r, 1, RR_A, v, 4), 0);
	assert_int_equal(dyn_pool_members(r, 1, RR_CNAME, v, 4), 2);
	assert_non_null(v[0].name);
	assert_int_equal(v[0].weight, 90);
	assert_true(name_to_text(v[1].name, text, sizeof(text)) > 0);
	assert_string_equal(text, "W2.cdn.test.");
	/* signed ahead: one CNAME RRset per name, none of A or AAAA; each answer is one of them */
	assert_int_equal(dyn_signed_count(r, RR_CNAME), 5);
	assert_int_equal(dyn_signed_count(r, RR_A), 0);
	assert_int_equal(dyn_signed_count(r, RR_AAAA), 0);
	c = client("198.51.100.7", 24);
	assert_int_equal(dyn_select(r, RR_CNAME, 60, &c, NULL, NULL, 0, scratch, &rs, &scope, NULL), 0);
	int64_t set = dyn_signed_choose(r, &rs, 0);
	assert_true(set >= 0);
	struct rrset signed_set;
	assert_int_equal(dyn_signed_rrset(r, RR_CNAME, (uint32_t)set, 60, &signed_set), 0);
	assert_int_equal(signed_set.rdata_size, rs.rdata_size);
	assert_memory_equal(signed_set.rdata, rs.rdata, rs.rdata_size);
	free(r);
	/* the sets' numbering does not depend on the records' order */
	static const char *const t[] = {
	    "geo 203.0.113.0/24 eq",
	    "geo 198.51.100.0/24 br world",
	    "answer world",
	    "pool eq a.cdn.test. b.cdn.test.",
	    "pool world w1.cdn.test. weight 90 W2.cdn.test. weight 10",
	    "pool br br.cdn.test.",
	};
	struct dyn_resource *r1 = must_compile(s, 6), *r2 = must_compile(t, 6);
	for (uint32_t i = 0; i < 5; i++) {
		struct rrset x, y;
		assert_int_equal(dyn_signed_rrset(r1, RR_CNAME, i, 60, &x), 0);
		assert_int_equal(dyn_signed_rrset(r2, RR_CNAME, i, 60, &y), 0);
		assert_int_equal(x.rdata_size, y.rdata_size);
		assert_memory_equal(x.rdata, y.rdata, x.rdata_size);
	}
	free(r1);
	free(r2);
}

/* Name pools refused: mixed with address pools, a name beside an address in a pool, monitors on
 * names, names that are not absolute; and a CNAME resource beside other data or at the apex. */
static void test_cname_refused(void **state)
{
	(void)state;
	static const struct {
		const char *stmts[4];
		const char *says;
	} cases[] = {
	    {{"pool eu eu.cdn.test.", "pool us 192.0.2.1", "answer eu us"},
	     "pool \"eu\" holds names, pool \"us\" addresses: a resource answers CNAME or addresses"},
	    {{"pool eu eu.cdn.test. 192.0.2.1", "answer eu"}, "a pool holds addresses or names, not both"},
	    {{"monitor m tcp 80", "pool eu eu.cdn.test. monitor m", "answer eu"},
	     "member \"eu.cdn.test.\": a name cannot be monitored (monitors check addresses, and ternd does "
	     "not "
	     "resolve names)"},
	    {{"pool eu eu.cdn.test", "answer eu"},
	     "member \"eu.cdn.test\": not an IPv4 or IPv6 address, nor an absolute domain name (ending in "
	     "'.')"},
	    {{"pool eu eu..test.", "answer eu"}, "member \"eu..test.\": not an IPv4"},
	    {{"pool eu eu.cdn.test. EU.cdn.test.", "answer eu"}, "listed twice"},
	    {{"pool eu eu.cdn.test. weight 0", "answer eu"}, "every weight is 0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = 0;
		while (n < 4 && cases[i].stmts[n])
			n++;
		struct dyn_resource *r = NULL;
		char err[512] = "";
		assert_int_equal(compile(cases[i].stmts, n, &r, err, sizeof(err)), TERN_EINVAL);
		if (!strstr(err, cases[i].says))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, cases[i].says);
		assert_null(r);
	}
	/* zone rules: a CNAME resource stands alone (but for DNSSEC records), not at the apex */
	static const struct {
		const char *text;
		const char *says;
	} zones[] = {
	    {"www 60 IN DYN pool p x.t.\nwww 60 IN DYN answer p\nwww 60 IN A 192.0.2.1\n",
	     "DYN at www.t.: a CNAME resource (its pools hold names) cannot stand beside A records"},
	    {"www 60 IN DYN pool p x.t.\nwww 60 IN DYN answer p\nwww 60 IN MX 10 mx\n",
	     "cannot stand beside MX records"},
	    {"@ 60 IN DYN pool p x.t.\n@ 60 IN DYN answer p\n", "DYN at t.: a CNAME resource (its pools hold names) "
	                                                        "cannot stand at the zone apex"},
	    {"www 60 IN DYN pool p x.t.\nwww 60 IN DYN answer p\nwww 60 IN CNAME x.t.\n", "beside CNAME records"},
	};
	uint8_t apex[NAME_MAXLEN];
	assert_true(name_from_text(apex, "t.", NULL) > 0);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text),
		         "$ORIGIN t.\n@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A "
		         "192.0.2.53\n%s",
		         zones[i].text);
		struct zone *z = NULL;
		char err[2048] = "";
		assert_true(zonefile_load_string(text, strlen(text), "t.zone", apex, &z, err, sizeof(err)) < 0);
		if (!strstr(err, zones[i].says))
			fail_msg("zone %zu: \"%s\" does not say \"%s\"", i, err, zones[i].says);
	}
	/* alone it loads; a change putting an A beside it is refused, and one beside a fixed A too */
	static const char ok[] = "$ORIGIN t.\n@ 300 IN SOA ns h 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 192.0.2.53\n"
	                         "www 60 IN DYN pool p x.t.\nwww 60 IN DYN answer p\n";
	struct zone *z = NULL, *z2 = NULL;
	char err[2048] = "";
	if (zonefile_load_string(ok, sizeof(ok) - 1, "t.zone", apex, &z, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	uint8_t www[NAME_MAXLEN], a[] = {0, 4, 192, 0, 2, 1};
	name_from_text(www, "www.t.", NULL);
	struct zone_change ch = {.owner = www, .type = RR_A, .ttl = 60, .count = 1, .rdata = a, .rdata_size = 6};
	assert_true(zone_apply_text(z, &ch, 1, &z2, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot stand beside A records"));
	assert_null(z2);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_geo_and_scope),
	    cmocka_unit_test(test_family_stands_aside),
	    cmocka_unit_test(test_failover),
	    cmocka_unit_test(test_weighted),
	    cmocka_unit_test(test_monitors_listed),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_in_zones),
	    cmocka_unit_test(test_geo_against_reference),
	    cmocka_unit_test(test_geo_database),
	    cmocka_unit_test(test_code_entries_listed),
	    cmocka_unit_test(test_choose_against_reference),
	    cmocka_unit_test(test_choose_fixed_pools),
	    cmocka_unit_test(test_external),
	    cmocka_unit_test(test_cname_resource),
	    cmocka_unit_test(test_cname_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
