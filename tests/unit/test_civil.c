/* Unit tests for lib/civil: the leap-year rule, month lengths, and days since the epoch to and from a
 * date over four centuries either side of it, against timegm(). */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "lib/civil.h"

static void test_leap_and_months(void **state)
{
	(void)state;
	assert_true(civil_leap(2000));
	assert_true(civil_leap(2024));
	assert_false(civil_leap(1900));
	assert_false(civil_leap(2100));
	assert_false(civil_leap(2026));
	assert_int_equal(civil_month_days(2024, 2), 29);
	assert_int_equal(civil_month_days(2100, 2), 28);
	assert_int_equal(civil_month_days(2026, 12), 31);
	assert_int_equal(civil_month_days(2026, 11), 30);
	assert_int_equal(civil_month_days(2026, 0), 0);
	assert_int_equal(civil_month_days(2026, 13), 0);
}

static void test_days(void **state)
{
	(void)state;
	assert_int_equal(civil_to_days(1970, 1, 1), 0);
	assert_int_equal(civil_to_days(2026, 12, 6), 20793);
	assert_int_equal(civil_to_days(1969, 12, 31), -1);
	/* every day from 1600 to 2400 against timegm, and back */
	for (int y = 1600; y <= 2400; y += 1)
		for (unsigned m = 1; m <= 12; m++)
			for (unsigned d = 1; d <= civil_month_days(y, m); d += (y % 50 == 0 ? 1 : 9)) {
				struct tm tm = {.tm_year = y - 1900, .tm_mon = (int)m - 1, .tm_mday = (int)d};
				int64_t days = civil_to_days(y, m, d);
				assert_int_equal(days * 86400, (int64_t)timegm(&tm));
				int yy;
				unsigned mm, dd;
				civil_from_days(days, &yy, &mm, &dd);
				assert_int_equal(yy, y);
				assert_int_equal(mm, m);
				assert_int_equal(dd, d);
			}
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_leap_and_months), cmocka_unit_test(test_days)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
