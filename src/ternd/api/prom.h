/* The Prometheus text exposition format (version 0.0.4) written into a growing buffer: a metric
 * family's HELP and TYPE lines, then its samples. One writer for every part of /metrics. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct prom {
	char *text;
	size_t len, cap;
	bool nomem; /* a line did not fit in memory: the text is incomplete, not to be sent */
};

/* Appends "# HELP name help" and "# TYPE name type" (counter, gauge). */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* Appends text (a sample line, with its newline). */
__attribute__((format(printf, 2, 3))) void prom_printf(struct prom *p, const char *fmt, ...);
void prom_free(struct prom *p);
