/* The Prometheus text exposition format (version 0.0.4): a metric family's HELP and TYPE lines,
 * then its samples (text_printf), all into one growing text (base/text.h) for the whole of /metrics. */
#pragma once
#include "ternd/base/text.h"

/* Appends "# HELP name help" and "# TYPE name type" (counter, gauge). */
static inline void prom_family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Appends s as a label value: backslash, double quote and newline escaped (the format's rule). */
static inline void prom_label(struct text *t, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			text_printf(t, "\\%c", *s);
		else if (*s == '\n')
			text_printf(t, "\\n");
		else
			text_printf(t, "%c", *s);
	}
}
