/* Text that grows as it is written, printf-style: nothing is cut, and running out of memory marks
 * it incomplete instead (the caller then drops it). For /metrics and the configuration reference. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct text {
	char *s; /* NUL-terminated once anything was written; NULL before */
	size_t len, cap;
	bool nomem; /* a write did not fit in memory: the text is incomplete */
};

/* Appends the formatted text; does nothing once nomem is set. */
__attribute__((format(printf, 2, 3))) void text_printf(struct text *t, const char *fmt, ...);
void text_free(struct text *t);
