/* The usage module's state, shared by its files: usage.c (this node's queries) and usage_pop.c (the
 * queries PoPs report to a control node). Not for other modules. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"
#include "ternd/base/event.h"
#include "ternd/store/store.h"
#include "ternd/usage/usage.h"

#define TENANTS_A_TICK 10000 /* tenants looked up in the store a second, at most */

struct total {
	uint64_t key, queries; /* key 0: empty */
};

/* A zone met by uid: its apex, and its tenant once looked up (NULL until then). */
struct uzone {
	uint64_t uid; /* 0: empty */
	char *tenant;
	bool removed;
	uint64_t removed_ms; /* monotonic ms of the removal: forgotten keep_ms after, once stored */
	uint64_t pending; /* queries taken since the last flush, of u->day */
	uint64_t queries; /* every query taken since the start (what this node reports as a PoP) */
	int64_t day_written; /* the last day a row of it went to the store (its zone-day) */
	uint8_t apex_len;
	uint8_t *apex;
};

/* A table of zone names (lower-cased wire form) to a number: open addressing, cap a power of two. */
struct uname {
	uint8_t *apex; /* NULL: empty */
	uint64_t n;
	uint32_t round; /* a PoP's seen: the round (struct upop) that last reported it */
};
struct unames {
	struct uname *e;
	size_t count, cap;
};

/* A PoP as the control node follows its counters (usage_pop.c). */
struct upop {
	char *name;
	char epoch[USAGE_EPOCH_LEN + 1]; /* the PoP's run the counters in seen are of */
	struct unames seen; /* zone -> the PoP's counter when last taken */
	size_t bytes; /* what seen takes as the store's setting (bounded by STORE_SETTING_MAX) */
	uint64_t version, saved; /* changes to seen and epoch; the version the store holds */
	uint64_t refused; /* zones not followed: the setting would be too large */
	uint32_t round; /* rounds over all its zones begun (a page without "after" begins one) */
};

struct usage {
	const struct stats *stats;
	struct zones *zones;
	struct store *store;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t wake;
	bool stop;
	struct total *totals;
	size_t ntotals, totals_cap; /* cap a power of two */
	struct uzone *zs;
	size_t nzones, zones_cap;
	size_t unresolved; /* zones whose tenant is not looked up yet */
	uint64_t lost;
	int64_t day; /* the UTC day the pending queries are of */
	unsigned flush_ms;
	uint64_t keep_ms; /* usage.keep-removed */
	size_t nremoved; /* zones removed and not forgotten yet */
	uint64_t flushed_at; /* monotonic ms */
	pthread_mutex_t flush_lock; /* one flush at a time (the thread's, a stop's, the usage API's) */
	struct ev_thread thread;
	char epoch[USAGE_EPOCH_LEN + 1]; /* this run's, as a PoP reports it */
	/* the PoPs' queries (a control node): by PoP, and taken but not stored yet, by zone, of day */
	struct upop *pops;
	size_t npops;
	struct unames remote;
};

/* usage_pop.c, for usage.c's flush (u->lock held unless said otherwise). */
struct upop_flush {
	struct uname *zones; /* copies: apex malloc'd, n the queries */
	char (*tenants)[STORE_TENANT_MAX + 1];
	size_t nzones;
	struct upop_blob {
		char *setting; /* the setting's name */
		char *value;
		size_t len;
		size_t pop; /* index in u->pops */
		uint64_t version;
	} * blobs;
	size_t nblobs;
};
/* Gathers the PoPs' pending queries and their changed counters (under the lock). */
int upop_flush_gather(struct usage *u, struct upop_flush *f);
/* Looks up each zone's tenant in the store (without the lock): "" for a zone it does not hold. */
int upop_flush_tenants(struct usage *u, struct upop_flush *f, char *err, size_t errlen);
/* Writes them in the flush's transaction. */
int upop_flush_write(struct upop_flush *f, struct store_txn *t, int64_t day, char *err, size_t errlen);
/* After a commit (under the lock): takes what was written off the pending queries. */
void upop_flush_done(struct usage *u, const struct upop_flush *f);
void upop_flush_free(struct upop_flush *f);
void upop_free_all(struct usage *u);
