/* Text that grows as it is written, printf-style: nothing is cut, and running out of memory marks
 * it incomplete instead (the caller then drops it). For /metrics, the configuration reference
 * and JSON written without a tree (a page of zones). */
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
/* Appends n bytes of s as they are. */
void text_append(struct text *t, const char *s, size_t n);
/* Appends str (NUL-terminated UTF-8) as a JSON string, quoted and escaped as jansson's json_dumps
 * does with JSON_ENSURE_ASCII: ", \ and control characters escaped, everything past ASCII as \uXXXX
 * (a surrogate pair above U+FFFF); a byte that is not well-formed UTF-8 becomes \uFFFD. */
void text_json_string(struct text *t, const char *str);
/* The same into out (cap bytes, NUL-terminated): a str too long for it is cut to what fits for
 * certain (cap / 6 bytes), never mid-escape. */
void text_json_escape(const char *str, char *out, size_t cap);
void text_free(struct text *t);
