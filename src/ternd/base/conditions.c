/* The condition names (conditions.h). */
#include "ternd/base/conditions.h"

#include <string.h>

static const char *const names[SIGNAL_NCOND] = {
    [SIGNAL_RUNNING] = "running",
    [SIGNAL_SHUTTING_DOWN] = "shutting-down",
    [SIGNAL_ZONE_READY] = "zone-ready",
    [SIGNAL_ALL_ZONES_READY] = "all-zones-ready",
    [SIGNAL_ZONE_UPDATED] = "zone-updated",
    [SIGNAL_REFRESH_FAILED] = "refresh-failed",
    [SIGNAL_ZONE_EXPIRING] = "zone-expiring",
    [SIGNAL_QUERY_RATE_HIGH] = "query-rate-high",
    [SIGNAL_QUERY_RATE_RISING] = "query-rate-rising",
    [SIGNAL_SIGNATURES_EXPIRING] = "signatures-expiring",
    [SIGNAL_EDE] = "ede",
    [SIGNAL_KSK_SUBMISSION] = "ksk-submission",
    [SIGNAL_IN_TREE_EXPIRING] = "in-tree-expiring",
};

const char *signal_cond_name(enum signal_cond c)
{
	return (unsigned)c < SIGNAL_NCOND ? names[c] : "?";
}

int signal_cond_find(const char *name)
{
	for (int i = 0; i < SIGNAL_NCOND; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}
