/* Unit tests for lib/hints_time.c: the _in-tree TXT value's RFC 3339 date-time (each refusal names
 * its field) and the character-strings of TXT RDATA. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/hints.h"

static void test_time_accepted(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		long long at;
	} ok[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2027-01-31T12:00:00Z", 1801396800},
	    {"2027-01-31t12:00:00z", 1801396800},
	    {"2027-01-31T13:30:00+01:30", 1801396800},
	    {"2027-01-31T10:00:00.999-02:00", 1801396800},
	    {"2028-02-29T00:00:00Z", 1835395200},
	    {"2016-12-31T23:59:60Z", 1483228800}, /* a leap second: the next second's start */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		long long at = -1;
		char err[256] = "";
		assert_int_equal(hints_time_parse(ok[i].text, strlen(ok[i].text), &at, err, sizeof(err)), 0);
		assert_int_equal(at, ok[i].at);
	}
}

static void test_time_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text, *says;
	} bad[] = {
	    {"2027-13-01", "month 13"},
	    {"2027-00-10T00:00:00Z", "month 00"},
	    {"2027-02-29T00:00:00Z", "day 29 out of 01-28"},
	    {"2027-04-31T00:00:00Z", "day 31 out of 01-30"},
	    {"2027-01-01", "without a time"},
	    {"2027-01-01T00:00:00", "no time zone"},
	    {"2027-01-01 00:00:00Z", "THH:MM:SS"},
	    {"2027-01-01T24:00:00Z", "out of range"},
	    {"2027-01-01T00:00:00+24:00", "offset"},
	    {"2027-01-01T00:00:00.Z", "fraction"},
	    {"2027-01-01T00:00:00Z ", "after the date-time"},
	    {"27-01-01T00:00:00Z", "YYYY-MM-DD"},
	    {"", "YYYY-MM-DD"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long at = 42;
		char err[256] = "";
		assert_int_equal(hints_time_parse(bad[i].text, strlen(bad[i].text), &at, err, sizeof(err)),
		                 TERN_EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].text, err, bad[i].says);
	}
	long long at;
	char err[256];
	assert_int_equal(hints_time_parse("2027-01-01T00:00:00Z\0", 21, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

static void test_txt_strings(void **state)
{
	(void)state;
	char strs[4][256];
	size_t lens[4];
	static const uint8_t one[] = {3, 'a', 'b', 'c'}, two[] = {1, 'x', 0}, bad[] = {5, 'a'};
	assert_int_equal(hints_txt_strings(one, sizeof(one), strs, lens, 4), 1);
	assert_string_equal(strs[0], "abc");
	assert_int_equal(hints_txt_strings(two, sizeof(two), strs, lens, 4), 2);
	assert_int_equal(lens[1], 0);
	assert_int_equal(hints_txt_strings(bad, sizeof(bad), strs, lens, 4), TERN_EMALF);
	assert_int_equal(hints_txt_strings(one, 0, strs, lens, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_accepted),
	    cmocka_unit_test(test_time_refused),
	    cmocka_unit_test(test_txt_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
