/* The Prometheus text exposition format (version 0.0.4): a metric family's HELP and TYPE lines,
 * then its samples (text_printf), all into one growing text (base/text.h) for the whole of /metrics. */
#pragma once
#include "ternd/base/text.h"

/* Appends "# HELP name help" and "# TYPE name type" (counter, gauge). */
static inline void prom_family(struct text *t, const char *name, const char *type, const char *help)
{
	text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
