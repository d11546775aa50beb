/* Calendar arithmetic on the proleptic Gregorian calendar (UTC days, no time zones): days since
 * 1970-01-01 to and from a date (H. Hinnant's days_from_civil / civil_from_days), and the length of
 * a month. One place for the leap-year rule. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

bool civil_leap(int y);
/* Days in month m (1..12) of year y; 0 for a month out of range. */
unsigned civil_month_days(int y, unsigned m);
/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31; not checked). */
int64_t civil_to_days(int y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);
