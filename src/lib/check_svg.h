/* tern check's report drawn as SVG (the web page's picture): the resolution path root -> TLD ->
 * authoritative servers -> each resolver with answers and TTLs, red where they disagree, and a
 * timeline of when each cached and negative answer expires. Every text from the report (names,
 * answers, errors: hostile input) is escaped for XML. */
#pragma once
#include <stddef.h>
#include <time.h>

#include "lib/check_report.h"

/* The SVG document of r, drawn at now (the timeline's origin): malloc'd, NUL-terminated, its
 * length in *len; NULL when out of memory. */
char *check_report_svg(const struct check_report *r, time_t now, size_t *len);

/* s (at most max characters of it, "..." after a cut) into out as XML text or attribute value:
 * & < > " ' as entities, control characters and bytes that are not UTF-8 as '?'. */
void check_svg_escape(FILE *out, const char *s, size_t max);
