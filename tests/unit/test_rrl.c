/* Unit tests for ns/rrl: the token bucket (burst, refill, cap, share between workers) and the
 * table (keys apart, the oldest of a set evicted, bounded memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ternd/ns/rrl.h"

/* Responses of n asked at once that pass. */
static int burst(struct rrl_table *t, uint64_t key, uint32_t now, uint32_t rate, uint32_t window, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++)
		ok += rrl_take(t, key, now, rate, window, 0);
	return ok;
}

static int burst_debit(struct rrl_table *t, uint64_t key, uint32_t now, uint32_t rate, uint32_t window, uint32_t debit,
                       int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++)
		ok += rrl_take(t, key, now, rate, window, debit);
	return ok;
}

static void test_bucket(void **state)
{
	(void)state;
	struct rrl_table *t = rrl_table_new(1024, 1, 12345);
	assert_non_null(t);
	/* a new bucket holds window seconds of rate */
	assert_int_equal(burst(t, 7, 1000, 10, 4, 100), 40);
	/* empty: limited until it refills at rate per second */
	assert_false(rrl_take(t, 7, 1050, 10, 4, 0));
	assert_int_equal(burst(t, 7, 1100, 10, 4, 100), 1); /* 100 ms: one token */
	assert_int_equal(burst(t, 7, 2100, 10, 4, 100), 10); /* one second: ten */
	/* fractions add up: 10 calls 50 ms apart give 5 responses */
	int ok = 0;
	for (uint32_t ms = 2150; ms <= 2600; ms += 50)
		ok += rrl_take(t, 7, ms, 10, 4, 0);
	assert_int_equal(ok, 5);
	/* a long silence fills it to the cap only */
	assert_int_equal(burst(t, 7, 600000, 10, 4, 100), 40);
	/* the clock wraps: still a second */
	assert_int_equal(burst(t, 9, UINT32_MAX - 500, 10, 1, 100), 10);
	assert_int_equal(burst(t, 9, 499, 10, 1, 100), 10);
	rrl_table_free(t);
}

static void test_share(void **state)
{
	(void)state;
	/* four workers: each takes a quarter of the rate */
	struct rrl_table *t = rrl_table_new(64, 4, 1);
	assert_int_equal(burst(t, 3, 10, 100, 1, 1000), 25);
	assert_int_equal(burst(t, 3, 1010, 100, 1, 1000), 25);
	/* a rate below the share still refills, slowly */
	assert_int_equal(burst(t, 5, 10, 1, 1, 10), 0);
	assert_int_equal(burst(t, 5, 4010, 1, 4, 10), 1);
	rrl_table_free(t);
}

static void test_keys_apart(void **state)
{
	(void)state;
	struct rrl_table *t = rrl_table_new(4096, 1, 99);
	for (uint64_t k = 1; k <= 100; k++)
		assert_int_equal(burst(t, k, 5, 5, 1, 10), 5);
	/* every one of them is still there, empty */
	for (uint64_t k = 1; k <= 100; k++)
		assert_false(rrl_take(t, k, 6, 5, 1, 0));
	rrl_table_free(t);
}

static void test_eviction(void **state)
{
	(void)state;
	/* the smallest table: one set of four */
	struct rrl_table *t = rrl_table_new(1, 1, 5);
	assert_int_equal(t->mask, 0);
	for (uint64_t k = 1; k <= 4; k++)
		assert_int_equal(burst(t, k, (uint32_t)(k * 10), 2, 1, 5), 2);
	/* key 1 was refilled longest ago: a fifth key takes its place, keys 2..4 stay empty */
	assert_int_equal(burst(t, 5, 50, 2, 1, 5), 2);
	for (uint64_t k = 2; k <= 4; k++)
		assert_false(rrl_take(t, k, 60, 2, 1, 0));
	/* key 1 comes back as new (full): the table forgot it */
	assert_int_equal(burst(t, 1, 70, 2, 1, 5), 2);
	rrl_table_free(t);
}

/* Limited responses owed too (debit seconds): a flood stays limited however long it lasts, and a
 * client is answered again once its debt is paid at rate per second. */
static void test_debit(void **state)
{
	(void)state;
	struct rrl_table *t = rrl_table_new(64, 1, 7);
	int ok = 0;
	/* a flood of 100 a second for 10 s at a new bucket: window seconds of rate and what comes in
	 * while they go (44 in 0.44 s), then nothing more */
	for (uint32_t ms = 1000; ms < 11000; ms += 10)
		ok += rrl_take(t, 3, ms, 10, 4, 2);
	assert_int_equal(ok, 44);
	/* the debt is two seconds of rate at most: quiet for 2 s pays it, the third second refills */
	assert_false(rrl_take(t, 3, 13000, 10, 4, 2));
	assert_int_equal(burst_debit(t, 3, 14100, 10, 4, 2, 100), 10);
	/* Knot's bucket (debit 0) answers the same flood at the rate */
	ok = 0;
	for (uint32_t ms = 1000; ms < 11000; ms += 10)
		ok += rrl_take(t, 5, ms, 10, 4, 0);
	assert_int_equal(ok, 40 + 99);
	/* the deepest debt is capped: a huge rate and debit do not wrap the int32 */
	ok = 0;
	for (int i = 0; i < 30; i++)
		ok += burst_debit(t, 9, 20000, 1000000, 60, 3600, 100000);
	assert_int_equal(ok, INT32_MAX / RRL_TOKEN);
	assert_int_equal(t->debt, INT32_MAX - RRL_TOKEN);
	/* an hour and a minute later it is full again (from the deepest debt) */
	assert_int_equal(burst_debit(t, 9, 20000 + 3661000, 1000000, 60, 3600, 3000000), INT32_MAX / RRL_TOKEN);
	rrl_table_free(t);
}

static void test_slip(void **state)
{
	(void)state;
	struct rrl_table *t = rrl_table_new(64, 1, 5);
	int n = 0;
	for (int i = 0; i < 30; i++)
		n += rrl_slip(t, 3);
	assert_int_equal(n, 10);
	for (int i = 0; i < 30; i++)
		assert_false(rrl_slip(t, 0));
	for (int i = 0; i < 30; i++)
		assert_true(rrl_slip(t, 1));
	rrl_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket),   cmocka_unit_test(test_share), cmocka_unit_test(test_keys_apart),
	    cmocka_unit_test(test_eviction), cmocka_unit_test(test_debit), cmocka_unit_test(test_slip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
