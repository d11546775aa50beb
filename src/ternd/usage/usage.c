/* Usage totals (usage.h): a key -> queries table and a uid -> zone table, both under one mutex,
 * filled by the ternd-usage thread once a second and by a /metrics scrape (which takes the
 * workers' counts first, so it sees every query answered before it). */
#include "ternd/usage/usage.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/error.h"
#include "lib/zone.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/base/stats.h"
#include "ternd/store/store.h"
#include "ternd/usage/usage_impl.h"
#include "ternd/zones/zones.h"

static int64_t utc_day(void)
{
	return (int64_t)(time(NULL) / 86400);
}

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

static struct uzone *zone_slot(struct usage *u, uint64_t uid);

static bool totals_grow(struct usage *u)
{
	size_t cap = u->totals_cap ? u->totals_cap * 2 : 1024;
	struct total *t = calloc(cap, sizeof(*t));
	if (!t)
		return false;
	for (size_t i = 0; i < u->totals_cap; i++) {
		if (!u->totals[i].key)
			continue;
		size_t h = mix(u->totals[i].key) & (cap - 1);
		while (t[h].key)
			h = (h + 1) & (cap - 1);
		t[h] = u->totals[i];
	}
	free(u->totals);
	u->totals = t;
	u->totals_cap = cap;
	return true;
}

static void add_total(void *arg, uint64_t key, uint64_t n)
{
	struct usage *u = arg;
	if ((u->ntotals + 1) * 2 > u->totals_cap && !totals_grow(u)) {
		u->lost += n; /* out of memory: counted, not attributed */
		return;
	}
	size_t h = mix(key) & (u->totals_cap - 1);
	while (u->totals[h].key && u->totals[h].key != key)
		h = (h + 1) & (u->totals_cap - 1);
	if (!u->totals[h].key) {
		u->totals[h].key = key;
		u->ntotals++;
	}
	u->totals[h].queries += n;
	uint64_t uid = stats_usage_uid(key);
	struct uzone *z = uid ? zone_slot(u, uid) : NULL;
	if (z && z->uid) {
		z->pending += n;
		z->queries += n;
	}
}

static struct uzone *zone_slot(struct usage *u, uint64_t uid)
{
	if (!u->zones_cap)
		return NULL;
	size_t h = mix(uid) & (u->zones_cap - 1);
	while (u->zs[h].uid && u->zs[h].uid != uid)
		h = (h + 1) & (u->zones_cap - 1);
	return &u->zs[h];
}

static bool zones_grow(struct usage *u)
{
	size_t cap = u->zones_cap ? u->zones_cap * 2 : 1024;
	struct uzone *z = calloc(cap, sizeof(*z)), *old = u->zs;
	size_t oldcap = u->zones_cap;
	if (!z)
		return false;
	u->zs = z;
	u->zones_cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].uid)
			*zone_slot(u, old[i].uid) = old[i];
	free(old);
	return true;
}

/* Registers a zone (under u->lock); a failed allocation leaves it unnamed in the totals. */
static void zone_add(struct usage *u, uint64_t uid, const uint8_t *apex, size_t len)
{
	if ((u->nzones + 1) * 2 > u->zones_cap && !zones_grow(u))
		return;
	struct uzone *z = zone_slot(u, uid);
	if (z->uid)
		return;
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, apex, len);
	*z = (struct uzone){.uid = uid, .apex = copy, .apex_len = (uint8_t)len, .day_written = -1};
	u->nzones++;
	u->unresolved++;
}

static void on_zone(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	struct usage *u = arg;
	pthread_mutex_lock(&u->lock);
	if (ev == ZONES_PUBLISHED && !old) {
		zone_add(u, next->uid, next->apex, next->apex_len);
	} else if (ev == ZONES_REMOVED && old) {
		struct uzone *z = zone_slot(u, old->uid);
		if (z && z->uid && !z->removed) {
			z->removed = true; /* its totals keep its name until forgotten (prune) */
			z->removed_ms = ev_clock_ms();
			u->nremoved++;
		}
	}
	pthread_mutex_unlock(&u->lock);
}

/* Looks up the tenant of up to TENANTS_A_TICK zones in the store, without the lock held. */
static void resolve_tenants(struct usage *u)
{
	struct want {
		uint64_t uid;
		uint8_t apex[NAME_MAXLEN];
	} *w = NULL;
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	if (u->unresolved && (w = malloc(sizeof(*w) * TENANTS_A_TICK)))
		for (size_t i = 0; i < u->zones_cap && n < TENANTS_A_TICK; i++)
			if (u->zs[i].uid && !u->zs[i].tenant) {
				w[n].uid = u->zs[i].uid;
				memcpy(w[n].apex, u->zs[i].apex, u->zs[i].apex_len);
				n++;
			}
	pthread_mutex_unlock(&u->lock);
	for (size_t i = 0; i < n; i++) {
		struct store_zone sz;
		char err[256];
		const char *tenant = "";
		int rc = u->store ? store_zone_get(store_latest(u->store), w[i].apex, &sz, err, sizeof(err))
		                  : TERN_ENOTFOUND;
		if (rc == 0)
			tenant = sz.tenant;
		else if (rc != TERN_ENOTFOUND)
			continue; /* the store failed: asked again next second */
		char *copy = strdup(tenant);
		pthread_mutex_lock(&u->lock);
		struct uzone *z = zone_slot(u, w[i].uid);
		if (copy && z && z->uid && !z->tenant) {
			z->tenant = copy;
			copy = NULL;
			u->unresolved--;
		}
		pthread_mutex_unlock(&u->lock);
		free(copy);
	}
	free(w);
}

static void take(struct usage *u)
{
	uint64_t lost = 0;
	stats_usage_take(u->stats, add_total, u, &lost);
	u->lost = lost > u->lost ? lost : u->lost;
}

/* One zone's share of a flush: its pending queries when gathered. apex and tenant stay valid: a
 * zone's entry is freed only by usage_stop. */
struct flush_item {
	uint64_t uid, queries;
	const uint8_t *apex;
	const char *tenant;
};

/* Writes every zone's pending queries of u->day, and a zone-day row for each zone served that has
 * none yet that day, in one store transaction; what was written is then taken off pending (a
 * failed write leaves it for the next flush). Then moves to today when the day changed. */
static int flush(struct usage *u, char *err, size_t errlen)
{
	pthread_mutex_lock(&u->flush_lock);
	pthread_mutex_lock(&u->lock);
	take(u);
	int64_t day = u->day, today = utc_day();
	struct flush_item *items = malloc((u->nzones ? u->nzones : 1) * sizeof(*items));
	size_t n = 0;
	for (size_t i = 0; items && i < u->zones_cap; i++) {
		struct uzone *z = &u->zs[i];
		if (z->uid && z->tenant && (z->pending || (z->day_written != day && !z->removed)))
			items[n++] = (struct flush_item){z->uid, z->pending, z->apex, z->tenant};
	}
	struct upop_flush pf = {0};
	int rc = items ? upop_flush_gather(u, &pf) : TERN_ENOMEM;
	pthread_mutex_unlock(&u->lock);
	if (rc < 0)
		snprintf(err, errlen, "usage: out of memory");
	if (rc == 0)
		rc = upop_flush_tenants(u, &pf, err, errlen);
	struct store_txn *t = NULL;
	if (rc == 0 && u->store && (n || pf.nzones || pf.nblobs) &&
	    (rc = store_begin(u->store, &t, err, errlen)) == 0) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			struct store_usage_row r = {.day = day, .queries = items[i].queries};
			memcpy(r.apex, items[i].apex, name_len(items[i].apex));
			snprintf(r.tenant, sizeof(r.tenant), "%s", items[i].tenant);
			rc = store_usage_add(t, &r, err, errlen);
		}
		if (rc == 0)
			rc = upop_flush_write(&pf, t, day, err, errlen);
		if (rc == 0)
			rc = store_commit(t, err, errlen);
		else
			store_rollback(t);
	}
	pthread_mutex_lock(&u->lock);
	if (rc == 0)
		upop_flush_done(u, &pf);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct uzone *z = zone_slot(u, items[i].uid);
		if (z && z->uid) {
			z->pending -= items[i].queries;
			z->day_written = day;
		}
	}
	if (rc == 0 && today != day) {
		/* pending queries from now on are today's (taken before the day turned: yesterday's) */
		u->day = today;
	}
	u->flushed_at = ev_clock_ms();
	pthread_mutex_unlock(&u->lock);
	pthread_mutex_unlock(&u->flush_lock);
	free(items);
	upop_flush_free(&pf);
	return rc;
}

int usage_flush(struct usage *u, char *err, size_t errlen)
{
	err[0] = 0;
	return flush(u, err, errlen);
}

static int by_uid(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool uid_in(const uint64_t *uids, size_t n, uint64_t uid)
{
	return n && bsearch(&uid, uids, n, sizeof(*uids), by_uid);
}

/* Forgets the zones removed keep_ms ago or more whose queries are stored (pending 0): their
 * entries and totals, so that zone churn does not grow the tables for ever (under u->lock). What a
 * forgotten zone counted since the start moves to the served zone of the same name, if there is one,
 * so that the sum by name a PoP reports (usage_zone_counts) never goes down while a name is served. */
static void prune(struct usage *u)
{
	if (!u->nremoved)
		return;
	uint64_t now = ev_clock_ms();
	size_t n = 0;
	for (size_t i = 0; i < u->zones_cap; i++) {
		const struct uzone *z = &u->zs[i];
		n += z->uid && z->removed && !z->pending && now - z->removed_ms >= u->keep_ms;
	}
	if (!n)
		return;
	struct uzone *zs = calloc(u->zones_cap, sizeof(*zs)), *old = u->zs;
	struct total *totals = u->totals_cap ? calloc(u->totals_cap, sizeof(*totals)) : NULL;
	uint64_t *gone = malloc(n * sizeof(*gone));
	struct uzone *moved = calloc(n, sizeof(*moved)); /* apex and queries of the forgotten */
	if (!zs || (u->totals_cap && !totals) || !gone || !moved) {
		free(zs);
		free(totals);
		free(gone);
		free(moved);
		return; /* out of memory: tried again at the next flush */
	}
	size_t ngone = 0;
	u->zs = zs;
	u->nzones = 0;
	for (size_t i = 0; i < u->zones_cap; i++) {
		struct uzone *z = &old[i];
		if (!z->uid)
			continue;
		if (z->removed && !z->pending && now - z->removed_ms >= u->keep_ms) {
			gone[ngone] = z->uid;
			moved[ngone++] = (struct uzone){.apex = z->apex, .queries = z->queries};
			if (!z->tenant)
				u->unresolved--;
			free(z->tenant);
			u->nremoved--;
			continue;
		}
		*zone_slot(u, z->uid) = *z;
		u->nzones++;
	}
	free(old);
	qsort(gone, ngone, sizeof(*gone), by_uid);
	/* each forgotten count to the zone still served under its name, if any: the forgotten by name
	 * in a table of their own (open addressing), then one pass over the zones */
	size_t mcap = 2;
	while (mcap < ngone * 2)
		mcap *= 2;
	size_t *byname = malloc(mcap * sizeof(*byname));
	for (size_t h = 0; byname && h < mcap; h++)
		byname[h] = SIZE_MAX;
	for (size_t j = 0; byname && j < ngone; j++) {
		size_t h = name_hash(moved[j].apex) & (mcap - 1);
		while (byname[h] != SIZE_MAX)
			h = (h + 1) & (mcap - 1);
		byname[h] = j;
	}
	for (size_t i = 0; byname && i < u->zones_cap; i++) {
		struct uzone *z = &u->zs[i];
		if (!z->uid || z->removed)
			continue;
		for (size_t h = name_hash(z->apex) & (mcap - 1); byname[h] != SIZE_MAX; h = (h + 1) & (mcap - 1))
			if (name_equal(moved[byname[h]].apex, z->apex)) {
				z->queries += moved[byname[h]].queries;
				moved[byname[h]].queries = 0;
			}
	}
	free(byname); /* NULL (out of memory): the counts go with their zones */
	for (size_t j = 0; j < ngone; j++)
		free(moved[j].apex);
	if (totals) {
		struct total *was = u->totals;
		size_t cap = u->totals_cap;
		u->totals = totals;
		u->ntotals = 0;
		for (size_t i = 0; i < cap; i++) {
			if (!was[i].key || uid_in(gone, ngone, stats_usage_uid(was[i].key)))
				continue;
			size_t h = mix(was[i].key) & (cap - 1);
			while (totals[h].key)
				h = (h + 1) & (cap - 1);
			totals[h] = was[i];
			u->ntotals++;
		}
		free(was);
	}
	free(gone);
	free(moved);
	log_info("usage: %zu zone(s) removed at least %" PRIu64 " s ago forgotten (their queries stored)", ngone,
	         u->keep_ms / 1000);
}

static void run(void *arg)
{
	struct usage *u = arg;
	char err[256];
	uint64_t failed_log = 0;
	pthread_mutex_lock(&u->lock);
	while (!u->stop) {
		take(u);
		bool due = ev_clock_ms() - u->flushed_at >= u->flush_ms || utc_day() != u->day;
		pthread_mutex_unlock(&u->lock);
		resolve_tenants(u);
		if (due && flush(u, err, sizeof(err)) < 0 && ev_clock_ms() >= failed_log) {
			log_warning("usage: the counts could not be stored (kept for the next try): %s", err);
			failed_log = ev_clock_ms() + 60000;
		}
		pthread_mutex_lock(&u->lock);
		if (due)
			prune(u);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		while (!u->stop && pthread_cond_timedwait(&u->wake, &u->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&u->lock);
}

int usage_start(struct usage **out, const struct stats *stats, struct zones *zones, struct store *store,
                unsigned flush_ms, uint64_t keep_removed_ms)
{
	struct usage *u = calloc(1, sizeof(*u));
	if (!u)
		return TERN_ENOMEM;
	u->stats = stats;
	u->zones = zones;
	u->store = store;
	u->flush_ms = flush_ms;
	u->keep_ms = keep_removed_ms;
	u->day = utc_day();
	u->flushed_at = ev_clock_ms();
	uint8_t rnd[USAGE_EPOCH_LEN / 2];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		free(u);
		return TERN_EIO;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(u->epoch + 2 * i, 3, "%02x", rnd[i]);
	pthread_mutex_init(&u->lock, NULL);
	pthread_mutex_init(&u->flush_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (zones_subscribe(zones, on_zone, u) < 0 || ev_thread_start_fn(&u->thread, run, u, "ternd-usage") < 0) {
		zones_unsubscribe(zones, on_zone, u);
		usage_stop(u);
		return TERN_EIO;
	}
	*out = u;
	return 0;
}

void usage_stop(struct usage *u)
{
	if (!u)
		return;
	zones_unsubscribe(u->zones, on_zone, u);
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_signal(&u->wake);
	pthread_mutex_unlock(&u->lock);
	ev_thread_stop(&u->thread);
	char err[256];
	resolve_tenants(u);
	if (flush(u, err, sizeof(err)) < 0) /* the queries since the last flush */
		log_warning("usage: the last counts could not be stored: %s", err);
	for (size_t i = 0; i < u->zones_cap; i++) {
		free(u->zs[i].apex);
		free(u->zs[i].tenant);
	}
	free(u->zs);
	free(u->totals);
	upop_free_all(u);
	pthread_cond_destroy(&u->wake);
	pthread_mutex_destroy(&u->lock);
	pthread_mutex_destroy(&u->flush_lock);
	free(u);
}

void usage_foreach(struct usage *u, void (*fn)(void *arg, const struct usage_row *r), void *arg)
{
	pthread_mutex_lock(&u->lock);
	take(u);
	for (size_t i = 0; i < u->totals_cap; i++) {
		const struct total *t = &u->totals[i];
		if (!t->key)
			continue;
		uint64_t uid = stats_usage_uid(t->key);
		const struct uzone *z = uid ? zone_slot(u, uid) : NULL;
		if (uid && (!z || !z->uid))
			continue; /* a zone whose name could not be kept: in lost */
		struct usage_row r = {.apex = z ? z->apex : NULL,
		                      .tenant = z && z->tenant ? z->tenant : "",
		                      .qtype = stats_usage_qtype(t->key),
		                      .rcode = stats_usage_rcode(t->key),
		                      .transport = stats_usage_transport(t->key),
		                      .queries = t->queries};
		fn(arg, &r);
	}
	pthread_mutex_unlock(&u->lock);
}

static int by_tenant(const void *a, const void *b)
{
	return strcmp(((const struct usage_tenant_row *)a)->tenant, ((const struct usage_tenant_row *)b)->tenant);
}

void usage_tenants(struct usage *u, void (*fn)(void *arg, const struct usage_tenant_row *r), void *arg)
{
	pthread_mutex_lock(&u->lock);
	struct usage_tenant_row *rows = malloc((u->nzones ? u->nzones : 1) * sizeof(*rows));
	size_t n = 0;
	for (size_t i = 0; rows && i < u->zones_cap; i++) {
		const struct uzone *z = &u->zs[i];
		if (!z->uid || z->removed)
			continue;
		const struct zone *served = zones_get(u->zones, z->apex);
		if (served && served->uid == z->uid)
			rows[n++] = (struct usage_tenant_row){
			    .tenant = z->tenant ? z->tenant : "", .zones = 1, .records = served->nrecords};
	}
	if (n) /* rows may be NULL without zones */
		qsort(rows, n, sizeof(*rows), by_tenant);
	for (size_t i = 0; i < n;) {
		struct usage_tenant_row sum = rows[i++];
		for (; i < n && !strcmp(rows[i].tenant, sum.tenant); i++) {
			sum.zones++;
			sum.records += rows[i].records;
		}
		fn(arg, &sum);
	}
	pthread_mutex_unlock(&u->lock);
	free(rows);
}

uint64_t usage_lost(struct usage *u)
{
	pthread_mutex_lock(&u->lock);
	uint64_t n = u->lost;
	pthread_mutex_unlock(&u->lock);
	return n;
}

const char *usage_epoch(const struct usage *u)
{
	return u->epoch;
}

void usage_zone_counts(struct usage *u, void (*fn)(void *arg, const uint8_t *apex, uint64_t queries), void *arg)
{
	pthread_mutex_lock(&u->lock);
	take(u);
	for (size_t i = 0; i < u->zones_cap; i++)
		if (u->zs[i].uid && u->zs[i].queries)
			fn(arg, u->zs[i].apex, u->zs[i].queries);
	pthread_mutex_unlock(&u->lock);
}
