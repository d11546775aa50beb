/* Usage: queries by zone, tenant, question type, rcode and transport, for /metrics and billing.
 * The query workers count into their own tables (base/stats.h: stats_usage(), no lock, no shared
 * atomic); one thread, ternd-usage, takes their counts once a second into totals kept here, and
 * learns each zone's apex and tenant from the zone set (zones_subscribe) and the store. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"

struct stats;
struct zones;
struct store;
struct usage;

/* Starts the thread, following the zone set: call it before the first zone is published (one
 * published before is counted but never named). store may be NULL (no API: every tenant is ""). */
int usage_start(struct usage **out, const struct stats *stats, struct zones *zones, struct store *store,
                unsigned flush_ms);
void usage_stop(struct usage *u);

/* One total: the zone's apex (NULL: no zone of ours, answered REFUSED) and tenant ("" for zones of
 * the configuration's files), the question type's index (stats_type_name()), rcode, transport. */
struct usage_row {
	const uint8_t *apex;
	const char *tenant;
	int qtype;
	unsigned rcode;
	unsigned transport; /* enum stats_transport */
	uint64_t queries;
};
/* Takes the workers' counts now, then calls fn for every total, in no set order. */
void usage_foreach(struct usage *u, void (*fn)(void *arg, const struct usage_row *r), void *arg);

/* Zones served and their records, by tenant (the caller is an online RCU reader). */
struct usage_tenant_row {
	const char *tenant;
	uint64_t zones, records;
};
void usage_tenants(struct usage *u, void (*fn)(void *arg, const struct usage_tenant_row *r), void *arg);

/* Writes the queries taken so far to the store now (usage.flush-interval does it on its own): the
 * usage API calls it before reading. 0, or TERN_E* with err (what was not written is kept). */
int usage_flush(struct usage *u, char *err, size_t errlen);

/* Queries whose key found no slot in a worker's table (counted, not attributed) since the start. */
uint64_t usage_lost(struct usage *u);
