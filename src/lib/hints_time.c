/* tern hints: the _in-tree TXT record's value: its character-strings and the RFC 3339 date-time
 * they must hold (untrusted: it comes from the zone; fuzzed by fuzz_check_registry). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/civil.h"
#include "lib/error.h"
#include "lib/hints.h"

/* n decimal digits at s[*at]; false when they are not all digits. */
static bool digits(const char *s, size_t len, size_t *at, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (*at >= len || s[*at] < '0' || s[*at] > '9')
			return false;
		v = v * 10 + (s[(*at)++] - '0');
	}
	*out = v;
	return true;
}

static bool expect(const char *s, size_t len, size_t *at, const char *one_of)
{
	if (*at >= len || !s[*at] || !strchr(one_of, s[*at]))
		return false;
	(*at)++;
	return true;
}

int hints_time_parse(const char *s, size_t len, long long *out, char *err, size_t errlen)
{
	size_t at = 0;
	int year, mon, day, hour, min, sec, oh = 0, om = 0;
	if (memchr(s, 0, len)) {
		snprintf(err, errlen, "a NUL octet in the date-time");
		return TERN_EINVAL;
	}
	if (!digits(s, len, &at, 4, &year) || !expect(s, len, &at, "-") || !digits(s, len, &at, 2, &mon) ||
	    !expect(s, len, &at, "-") || !digits(s, len, &at, 2, &day)) {
		snprintf(err, errlen, "not an RFC 3339 date (YYYY-MM-DD) at octet %zu", at + 1);
		return TERN_EINVAL;
	}
	if (mon < 1 || mon > 12) {
		snprintf(err, errlen, "month %02d out of 01-12", mon);
		return TERN_EINVAL;
	}
	if (day < 1 || day > (int)civil_month_days(year, (unsigned)mon)) {
		snprintf(err, errlen, "day %02d out of 01-%02d for %04d-%02d", day,
		         (int)civil_month_days(year, (unsigned)mon), year, mon);
		return TERN_EINVAL;
	}
	if (at == len) {
		snprintf(err, errlen, "a date without a time: RFC 3339 date-time is YYYY-MM-DDTHH:MM:SSZ");
		return TERN_EINVAL;
	}
	if (!expect(s, len, &at, "Tt") || !digits(s, len, &at, 2, &hour) || !expect(s, len, &at, ":") ||
	    !digits(s, len, &at, 2, &min) || !expect(s, len, &at, ":") || !digits(s, len, &at, 2, &sec)) {
		snprintf(err, errlen, "not an RFC 3339 time (THH:MM:SS) at octet %zu", at + 1);
		return TERN_EINVAL;
	}
	if (hour > 23 || min > 59 || sec > 60) {
		snprintf(err, errlen, "time %02d:%02d:%02d out of range", hour, min, sec);
		return TERN_EINVAL;
	}
	if (at < len && s[at] == '.') {
		size_t first = ++at;
		while (at < len && s[at] >= '0' && s[at] <= '9')
			at++;
		if (at == first) {
			snprintf(err, errlen, "a '.' without fraction digits at octet %zu", at + 1);
			return TERN_EINVAL;
		}
	}
	if (at == len) {
		snprintf(err, errlen, "no time zone: RFC 3339 needs Z or +HH:MM/-HH:MM after the time");
		return TERN_EINVAL;
	}
	int sign = 0;
	if (s[at] == 'Z' || s[at] == 'z') {
		at++;
	} else if (s[at] == '+' || s[at] == '-') {
		sign = s[at++] == '+' ? 1 : -1;
		if (!digits(s, len, &at, 2, &oh) || !expect(s, len, &at, ":") || !digits(s, len, &at, 2, &om) ||
		    oh > 23 || om > 59) {
			snprintf(err, errlen, "time zone offset not +HH:MM or -HH:MM in range");
			return TERN_EINVAL;
		}
	} else {
		snprintf(err, errlen, "no time zone: expected Z or +HH:MM/-HH:MM at octet %zu", at + 1);
		return TERN_EINVAL;
	}
	if (at != len) {
		snprintf(err, errlen, "%zu octet(s) after the date-time", len - at);
		return TERN_EINVAL;
	}
	/* a leap second (:60) counts as the next second's start, as timegm would */
	*out = (long long)civil_to_days(year, (unsigned)mon, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec -
	       sign * (long long)(oh * 3600 + om * 60);
	return 0;
}

int hints_txt_strings(const uint8_t *rdata, size_t len, char (*strs)[256], size_t *lens, int max)
{
	size_t at = 0;
	int n = 0;
	while (at < len) {
		size_t l = rdata[at];
		if (at + 1 + l > len)
			return TERN_EMALF;
		if (n < max) {
			memcpy(strs[n], rdata + at + 1, l);
			strs[n][l] = 0;
			lens[n] = l;
		}
		n++;
		at += 1 + l;
	}
	return n < max ? n : max;
}
