/* The Prometheus text exposition format written into a growing buffer (prom.h): nothing is cut,
 * and running out of memory marks the text incomplete instead. */
#include "ternd/api/prom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void prom_printf(struct prom *p, const char *fmt, ...)
{
	for (int pass = 0; pass < 2 && !p->nomem; pass++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(p->text ? p->text + p->len : NULL, p->text ? p->cap - p->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			p->nomem = true;
			return;
		}
		if (p->text && p->len + (size_t)n < p->cap) {
			p->len += (size_t)n;
			return;
		}
		size_t ncap = (p->len + (size_t)n + 1) * 2;
		char *grown = realloc(p->text, ncap);
		if (!grown) {
			p->nomem = true;
			return;
		}
		p->text = grown;
		p->cap = ncap;
	}
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	prom_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_free(struct prom *p)
{
	free(p->text);
	*p = (struct prom){0};
}
