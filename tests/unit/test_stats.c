/* Unit tests for the workers' Extended DNS Error counters (src/ternd/base/stats.c): per code, and
 * the per-second (zone, code) table the signals' tick reads (stats_ede_take): hits of one second
 * counted together, a new second starting empty, a full table leaving hits to the code's counter,
 * two workers' blocks summed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ternd/base/stats.h"

#define MAX_HITS 256

struct taken {
	struct stats_ede_hit hits[MAX_HITS];
	size_t n;
};

static void on_hit(void *arg, const struct stats_ede_hit *h)
{
	struct taken *t = arg;
	assert_true(t->n < MAX_HITS);
	t->hits[t->n++] = *h;
}

/* "\3abc\4test\0" from "abc.test" (labels of at most 9 octets here). */
static size_t wire(const char *text, uint8_t *out)
{
	size_t n = 0;
	while (*text) {
		const char *dot = strchr(text, '.');
		size_t len = dot ? (size_t)(dot - text) : strlen(text);
		out[n++] = (uint8_t)len;
		memcpy(out + n, text, len);
		n += len;
		text += len + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

static uint64_t count_of(const struct taken *t, const char *zone, uint16_t code)
{
	uint8_t w[256];
	size_t len = wire(zone, w);
	uint64_t n = 0;
	for (size_t i = 0; i < t->n; i++)
		if (t->hits[i].code == code && t->hits[i].len == len && !memcmp(t->hits[i].name, w, len))
			n += t->hits[i].count;
	return n;
}

static void hit(struct stats_block *b, uint16_t code, const char *zone, int times)
{
	uint8_t w[256];
	size_t len = zone ? wire(zone, w) : 0;
	for (int i = 0; i < times; i++)
		stats_ede(b, code, zone ? w : NULL, len);
}

static void test_a_second_counted_per_zone_and_code(void **state)
{
	(void)state;
	struct stats s;
	memset(&s, 0, sizeof(s));
	struct stats_block *a = stats_block_new(&s), *b = stats_block_new(&s);
	assert_non_null(a);
	assert_non_null(b);
	hit(a, 24, "exp.test", 5);
	hit(b, 24, "exp.test", 2);
	hit(a, 14, "exp.test", 1);
	hit(a, 14, "new.test", 3);
	hit(a, 20, NULL, 4); /* no zone of ours */
	hit(a, 300, "big.test", 1); /* a code beyond the counters: counted as 63 */
	uint64_t codes[STATS_EDE_CODES];
	struct taken t = {0};
	stats_ede_take(&s, codes, on_hit, &t);
	assert_int_equal(codes[24], 7);
	assert_int_equal(codes[14], 4);
	assert_int_equal(codes[20], 4);
	assert_int_equal(codes[63], 1);
	assert_int_equal(count_of(&t, "exp.test", 24), 7); /* a's 5 and b's 2 */
	assert_int_equal(count_of(&t, "exp.test", 14), 1);
	assert_int_equal(count_of(&t, "new.test", 14), 3);
	assert_int_equal(count_of(&t, "big.test", 300), 1);
	assert_int_equal(t.n, 5); /* (exp, 24) twice (two workers), (exp, 14), (new, 14), (big, 300) */
	/* the next second starts empty; the counters go on */
	hit(a, 24, "exp.test", 1);
	memset(&t, 0, sizeof(t));
	stats_ede_take(&s, codes, on_hit, &t);
	assert_int_equal(codes[24], 8);
	assert_int_equal(t.n, 1);
	assert_int_equal(count_of(&t, "exp.test", 24), 1);
	memset(&t, 0, sizeof(t));
	stats_ede_take(&s, codes, on_hit, &t);
	assert_int_equal(t.n, 0);
	stats_free(&s);
}

static void test_a_full_table_leaves_hits_to_the_code(void **state)
{
	(void)state;
	struct stats s;
	memset(&s, 0, sizeof(s));
	struct stats_block *a = stats_block_new(&s);
	assert_non_null(a);
	char name[32];
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "z%d.test", i);
		hit(a, 24, name, 1);
	}
	uint64_t codes[STATS_EDE_CODES];
	struct taken t = {0};
	stats_ede_take(&s, codes, on_hit, &t);
	assert_int_equal(codes[24], 200);
	assert_true(t.n <= STATS_EDE_SLOTS);
	assert_true(t.n >= STATS_EDE_SLOTS / 2); /* 4 probes: most slots taken before one is refused */
	uint64_t sum = 0;
	for (size_t i = 0; i < t.n; i++)
		sum += t.hits[i].count;
	assert_int_equal(sum, t.n); /* one hit each; the rest only in the code's counter */
	/* the next second the table is free again: a zone gets its slot and its hits add up there */
	memset(&t, 0, sizeof(t));
	hit(a, 24, "z1.test", 3);
	stats_ede_take(&s, codes, on_hit, &t);
	assert_int_equal(count_of(&t, "z1.test", 24), 3);
	stats_free(&s);
}

/* The top limited prefixes: summed over workers and the two intervals read, most first; a flood's
 * prefix keeps its slot while a thousand scattered prefixes churn through the table; an interval
 * two back is gone. */
static void test_rrl_top_prefixes(void **state)
{
	(void)state;
	struct stats s;
	memset(&s, 0, sizeof(s));
	struct stats_block *a = stats_block_new(&s), *b = stats_block_new(&s);
	assert_non_null(a);
	assert_non_null(b);
	uint32_t t0 = 1700000000; /* an interval's first second */
	assert_int_equal(t0 % STATS_RRL_INTERVAL, 0);
	struct stats_rrl_hit top[4];
	assert_int_equal(stats_rrl_top(&s, t0, top, 4), 0);
	for (int i = 0; i < 500; i++) {
		stats_rrl_prefix(a, t0 - 1, 4, 24, 0xc0000200, 0); /* 192.0.2.0/24, the interval before */
		stats_rrl_prefix(b, t0 + 3, 4, 24, 0xc0000200, 0);
		stats_rrl_prefix(a, t0 + 3, 4, 24, 0xc6336400 + ((uint64_t)(i + 1) << 8), 0); /* scattered */
		if (i % 2 == 0)
			stats_rrl_prefix(b, t0 + 4, 6, 56, 0x20010db800010000ull, 0); /* 2001:db8:1::/56 */
	}
	stats_rrl_prefix(a, t0 + 5, 4, 24, 0xcb007100, 0);
	stats_rrl_prefix(a, t0 + 5, 4, 24, 0xcb007100, 0);
	assert_int_equal(stats_rrl_top(&s, t0 + 9, top, 4), 4);
	assert_int_equal(top[0].family, 4);
	assert_int_equal(top[0].hi, 0xc0000200);
	assert_int_equal(top[0].len, 24);
	assert_int_equal(top[0].count, 1000);
	assert_int_equal(top[1].family, 6);
	assert_int_equal(top[1].hi, 0x20010db800010000ull);
	assert_int_equal(top[1].len, 56);
	assert_int_equal(top[1].count, 250);
	assert_int_equal(top[2].hi, 0xcb007100); /* kept: its set had scattered ones limited once */
	assert_int_equal(top[2].count, 2);
	assert_int_equal(top[3].count, 1);
	/* the next interval: the one before now is the flood's; two intervals on, nothing */
	assert_int_equal(stats_rrl_top(&s, t0 + STATS_RRL_INTERVAL, top, 1), 1);
	assert_int_equal(top[0].count, 500); /* b's, of t0's interval */
	assert_int_equal(stats_rrl_top(&s, t0 + 2 * STATS_RRL_INTERVAL, top, 4), 0);
	stats_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_second_counted_per_zone_and_code),
	    cmocka_unit_test(test_a_full_table_leaves_hits_to_the_code),
	    cmocka_unit_test(test_rrl_top_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
