/* tern check: the rules' findings (code, severity, the fix to advise), one table; rule-based
 * advice only, so every front end and every later adviser sees the same findings. */
#pragma once
#include "lib/check_report.h"

/* Adds the finding of rule code ("lame_ns", see the table in check_find.c) with what was seen.
 * An unknown code is a programming error: it is added as an error finding "unknown_rule". */
void check_find(struct check_report *r, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The number of findings of rule code in a report. */
int check_find_count(const struct check_report *r, const char *code);

/* Threshold of the ttl_high rule: a record above it takes long to change everywhere. */
#define CHECK_TTL_HIGH 3600
