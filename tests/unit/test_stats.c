/* Unit tests for the workers' Extended DNS Error counters (src/ternd/base/stats.c): per code, and
 * the per-second (zone, code) table the signals' tick reads (stats_ede_take): hits of one second
 * counted together, a new second starting empty, a full table leaving hits to the code's counter,
 * two workers' blocks summed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/rr.h"
#include "lib/rrtext.h"
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

/* ---- usage: queries by (zone, type, rcode, transport) ---- */

#define USAGE_KEYS 64

struct usage_sums {
	uint64_t by_key[USAGE_KEYS + 1]; /* by uid (1..USAGE_KEYS) */
	uint64_t all;
};

static void on_usage(void *arg, uint64_t key, uint64_t n)
{
	struct usage_sums *u = arg;
	uint64_t uid = stats_usage_uid(key);
	assert_true(uid >= 1 && uid <= USAGE_KEYS);
	assert_int_equal(stats_usage_qtype(key), 3);
	assert_int_equal(stats_usage_rcode(key), 23); /* 200 counts as 23 */
	assert_int_equal(stats_usage_transport(key), STATS_TCP);
	u->by_key[uid] += n;
	u->all += n;
}

static void test_usage_counted_exactly_and_slots_reused(void **state)
{
	(void)state;
	static struct stats s;
	struct stats_block *b = stats_block_new(&s);
	struct usage_sums sums = {0};
	uint64_t lost = 0;
	for (int i = 0; i < 100; i++)
		stats_usage(b, stats_usage_key(1 + (uint64_t)(i % 3), 3, 200, STATS_TCP));
	stats_usage_take(&s, on_usage, &sums, &lost);
	assert_int_equal(sums.by_key[1], 34);
	assert_int_equal(sums.by_key[2], 33);
	assert_int_equal(sums.by_key[3], 33);
	assert_int_equal(lost, 0);
	/* nothing new: a take finds nothing */
	memset(&sums, 0, sizeof(sums));
	stats_usage_take(&s, on_usage, &sums, &lost);
	assert_int_equal(sums.all, 0);
	/* every slot taken: other keys take the slots over, none is lost, none counted twice */
	for (int round = 0; round < 50; round++) {
		for (uint64_t k = 1; k <= USAGE_KEYS; k++)
			stats_usage(b, stats_usage_key(k, 3, 200, STATS_TCP));
		stats_usage_take(&s, on_usage, &sums, &lost);
	}
	assert_int_equal(sums.all, 50 * USAGE_KEYS);
	for (uint64_t k = 1; k <= USAGE_KEYS; k++)
		assert_int_equal(sums.by_key[k], 50);
	assert_int_equal(lost, 0);
	stats_free(&s);
}

static void count_all(void *arg, uint64_t key, uint64_t n)
{
	(void)key;
	*(uint64_t *)arg += n;
}

static void test_usage_full_table_counts_lost(void **state)
{
	(void)state;
	static struct stats s;
	struct stats_block *b = stats_block_new(&s);
	/* more distinct keys than slots with no take between: the rest are lost, and counted */
	uint64_t n = 2 * STATS_USAGE_SLOTS, seen = 0, lost = 0;
	for (uint64_t k = 0; k < n; k++)
		stats_usage(b, stats_usage_key(1000 + k, 3, 0, STATS_UDP));
	stats_usage_take(&s, count_all, &seen, &lost);
	assert_true(lost > 0 && seen >= STATS_USAGE_SLOTS / 2);
	assert_int_equal(seen + lost, n);
	stats_free(&s);
}

struct worker_run {
	struct stats_block *b;
	_Atomic int done;
};

static void *usage_worker(void *arg)
{
	struct worker_run *w = arg;
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 2000000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		stats_usage(w->b, stats_usage_key(1 + x % 3000, 3, 0, STATS_UDP));
	}
	atomic_store(&w->done, 1);
	return NULL;
}

/* A worker counting while the collector takes: every query is taken once or counted lost. */
static void test_usage_taken_while_counting_loses_nothing(void **state)
{
	(void)state;
	static struct stats s;
	struct worker_run w = {.b = stats_block_new(&s)};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, usage_worker, &w), 0);
	uint64_t seen = 0, lost = 0;
	while (!atomic_load(&w.done))
		stats_usage_take(&s, count_all, &seen, &lost);
	pthread_join(t, NULL);
	stats_usage_take(&s, count_all, &seen, &lost);
	print_message("taken %llu, lost %llu\n", (unsigned long long)seen, (unsigned long long)lost);
	assert_true(seen > 1000000);
	assert_int_equal(seen + lost, 2000000);
	stats_free(&s);
}

/* stats_type_index() and stats_type_name() agree: each named type has its own index. */
static void test_type_index_and_names(void **state)
{
	(void)state;
	for (int i = 0; i < STATS_TYPES - 1; i++) {
		uint16_t type = 0;
		const char *name = stats_type_name(i);
		if (!strcmp(name, "ANY")) /* meta types: not record types of zone text */
			type = RR_ANY;
		else if (!strcmp(name, "AXFR"))
			type = RR_AXFR;
		else
			assert_int_equal(rrtext_type_from_text(name, &type), 0);
		assert_int_equal(stats_type_index(type), i);
	}
	assert_string_equal(stats_type_name(stats_type_index(65280)), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_second_counted_per_zone_and_code),
	    cmocka_unit_test(test_a_full_table_leaves_hits_to_the_code),
	    cmocka_unit_test(test_rrl_top_prefixes),
	    cmocka_unit_test(test_usage_counted_exactly_and_slots_reused),
	    cmocka_unit_test(test_usage_full_table_counts_lost),
	    cmocka_unit_test(test_usage_taken_while_counting_loses_nothing),
	    cmocka_unit_test(test_type_index_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
