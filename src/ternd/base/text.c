/* Text that grows as it is written (text.h): vsnprintf into the room left, grown and written again
 * when it did not fit. */
#include "ternd/base/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void text_printf(struct text *t, const char *fmt, ...)
{
	for (int pass = 0; pass < 2 && !t->nomem; pass++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->nomem = true;
			return;
		}
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t ncap = (t->len + (size_t)n + 1) * 2;
		char *grown = realloc(t->s, ncap);
		if (!grown) {
			t->nomem = true;
			return;
		}
		t->s = grown;
		t->cap = ncap;
	}
}

void text_free(struct text *t)
{
	free(t->s);
	*t = (struct text){0};
}
