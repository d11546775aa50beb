/* Usage: queries by zone, tenant, question type, rcode and transport, for /metrics and billing.
 * The query workers count into their own tables (base/stats.h: stats_usage(), no lock, no shared
 * atomic); one thread, ternd-usage, takes their counts once a second into totals kept here, and
 * learns each zone's apex and tenant from the zone set (zones_subscribe) and the store. */
#pragma once
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/name.h"

struct stats;
struct zones;
struct store;
struct usage;

/* Starts the thread, following the zone set: call it before the first zone is published (one
 * published before is counted but never named). store may be NULL (no API: every tenant is ""). */
int usage_start(struct usage **out, const struct stats *stats, struct zones *zones, struct store *store,
                unsigned flush_ms, uint64_t keep_removed_ms);
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

/* ---- PoPs: what a PoP reports, and what a control node takes from it (usage_pop.c) ---- */

#define USAGE_EPOCH_LEN 32 /* hex digits of a run's epoch */

/* This run's epoch: random at the start, so a control node knows counters that start again. */
const char *usage_epoch(const struct usage *u);
/* Takes the workers' counts, then calls fn for every zone with the billable queries counted for it
 * since the start (a zone removed and added again may come twice: the caller sums by name). */
void usage_zone_counts(struct usage *u, void (*fn)(void *arg, const uint8_t *apex, uint64_t queries), void *arg);

/* One zone's counter as a PoP reports it: its queries since the PoP's start (its epoch). */
struct usage_pop_count {
	uint8_t apex[NAME_MAXLEN]; /* lower-cased */
	uint64_t queries;
};
/* A control node takes counters of the PoP named pop (one page of them): for each zone, what it
 * counted since it was last taken is the counter less the one taken before, or the whole counter
 * when it is lower than that or the epoch is another (the PoP started again). Those queries are
 * stored with the next flush, in the same transaction as the counters taken (a store setting per
 * PoP), so a control node that stops or fails takes up again where the store is: nothing is
 * counted twice or lost. *taken: the queries taken now. 0, or TERN_E* with err (nothing taken).
 * first: the page begins a round over all the PoP's zones (no "after"); last: it ends one. A zone the
 * PoP no longer reports in a whole round (it forgot a zone removed: usage.keep-removed) is
 * forgotten here too, so that a zone of that name made again later counts from its own start. */
int usage_pop_counts(struct usage *u, const char *pop, const char *epoch, bool first, bool last,
                     const struct usage_pop_count *c, size_t n, uint64_t *taken, char *err, size_t errlen);

/* Queries whose key found no slot in a worker's table (counted, not attributed) since the start. */
uint64_t usage_lost(struct usage *u);
