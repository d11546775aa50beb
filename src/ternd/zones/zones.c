/* The set of served zones and zones_publish(), the one door for every new zone version.
 * Reclamation: liburcu QSBR. Query threads read without locks and announce quiescent states
 * between batches (and go offline while blocked in the kernel); a publisher swaps a pointer and
 * hands what it replaced to the reclaim thread, which waits one grace period (synchronize_rcu)
 * and frees what no reader can still see, in the order it was handed over. A publisher never
 * waits for readers: a long one (the transfer thread building a big AXFR) delays only when old
 * versions are freed, not the next change nor the API's answer. */
#include "ternd/zones/zones.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/base/rcu.h"

/* A zone's place in the set: stable while the zone exists, so a content change swaps only
 * current and never the table. */
struct zone_slot {
	struct zone *current; /* RCU pointer */
	uint64_t uid; /* every version's zone->uid */
	uint32_t hash; /* of the apex */
	int labels;
	uint8_t apex_len;
	uint8_t apex[]; /* apex_len octets: a slot is as long as its name, not NAME_MAXLEN */
};

/* Published by RCU. A new zone is added in place while there is room (one bucket pointer and
 * then the count are stored, so readers see it whole or not at all); a full table is replaced by
 * one twice as large, and a removal builds a new one. */
struct zone_table {
	_Atomic size_t n;
	size_t cap;
	uint32_t mask;
	_Atomic int min_labels, max_labels; /* only suffixes this deep can be apexes */
	struct zone_slot **index; /* open addressing by apex hash; entries are RCU pointers */
	struct zone_slot *slots[]; /* n entries of cap */
};

#define MAX_LISTENERS 8

/* What a publish or a removal leaves for the reclaim thread. */
struct retired {
	struct retired *next;
	struct zone *zone; /* a replaced or removed version */
	struct zone_slot *slot; /* a removed zone's place */
	struct zone_table *table; /* a replaced table */
};

struct zones {
	pthread_mutex_t lock; /* serialises writers only */
	/* the reclaim thread, woken by reclaim, and its FIFO, under reclaim_lock */
	struct ev_loop *reclaim_loop;
	struct ev_thread reclaimer;
	struct ev_async reclaim;
	struct ev_timer reclaim_later; /* RECLAIM_GATHER_MS after the last batch began */
	uint64_t reclaim_at; /* ms: when the last batch began (the reclaim thread's) */
	pthread_mutex_t reclaim_lock;
	struct retired *retired, **retired_tail;
	struct zone_table *table; /* RCU pointer */
	_Atomic size_t count; /* zones served, kept by writers: read without being an RCU reader */
	uint64_t last_uid; /* the last zone->uid given (writers') */
	struct {
		zones_listener fn;
		void *arg;
	} listeners[MAX_LISTENERS];
	int nlisteners;
};

static struct zone_table *table_new(size_t cap)
{
	if (cap < 8)
		cap = 8;
	uint32_t size = 16;
	while (size < cap * 2)
		size <<= 1;
	struct zone_table *t = calloc(1, sizeof(*t) + cap * sizeof(t->slots[0]));
	if (!t)
		return NULL;
	t->index = calloc(size, sizeof(*t->index));
	if (!t->index) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	t->mask = size - 1;
	atomic_init(&t->n, 0);
	atomic_init(&t->min_labels, NAME_MAXLABELS);
	atomic_init(&t->max_labels, -1);
	return t;
}

static bool table_has_room(const struct zone_table *t)
{
	size_t n = atomic_load(&t->n);
	return n < t->cap && (n + 1) * 2 <= (size_t)t->mask + 1;
}

/* Adds a slot; safe on a published table: readers see the bucket and count after the slot. */
static void table_add(struct zone_table *t, struct zone_slot *s)
{
	if (s->labels < atomic_load_explicit(&t->min_labels, memory_order_relaxed))
		atomic_store_explicit(&t->min_labels, s->labels, memory_order_relaxed);
	if (s->labels > atomic_load_explicit(&t->max_labels, memory_order_relaxed))
		atomic_store_explicit(&t->max_labels, s->labels, memory_order_relaxed);
	size_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
	t->slots[n] = s;
	uint32_t h = s->hash & t->mask;
	while (t->index[h])
		h = (h + 1) & t->mask;
	rcu_assign_pointer(t->index[h], s);
	atomic_store_explicit(&t->n, n + 1, memory_order_release);
}

static void table_free(struct zone_table *t)
{
	if (t) {
		free(t->index);
		free(t);
	}
}

static struct zone_slot *table_find_hashed(const struct zone_table *t, const uint8_t *lname, size_t len, uint32_t hash)
{
	uint32_t h = hash & t->mask;
	for (struct zone_slot *s; (s = rcu_dereference(t->index[h])) != NULL; h = (h + 1) & t->mask)
		if (s->apex_len == len && memcmp(s->apex, lname, len) == 0)
			return s;
	return NULL;
}

static struct zone_slot *table_find(const struct zone_table *t, const uint8_t *lname, size_t len)
{
	return table_find_hashed(t, lname, len, name_hash(lname));
}

/* Writers take the lock as RCU-offline threads: a reader thread (the API's, say) that waited for
 * the lock while online would stall the grace period of the writer holding it, forever. The
 * caller's pointers to zones stay valid meanwhile: only writers free, and they are serialised. */
static bool writer_lock(struct zones *zs)
{
	bool online = rcu_read_ongoing();
	if (online)
		rcu_thread_offline();
	pthread_mutex_lock(&zs->lock);
	return online;
}

static void writer_unlock(struct zones *zs, bool online)
{
	pthread_mutex_unlock(&zs->lock);
	if (online)
		rcu_thread_online();
}

static void retired_free_parts(const struct retired *r)
{
	zone_free(r->zone);
	free(r->slot);
	table_free(r->table);
}

static void retired_free(struct retired *r)
{
	retired_free_parts(r);
	free(r);
}

/* Takes what writers retired, waits until no reader can see it, frees it. */
static void reclaim_batch(struct zones *zs)
{
	pthread_mutex_lock(&zs->reclaim_lock);
	struct retired *batch = zs->retired;
	zs->retired = NULL;
	zs->retired_tail = &zs->retired;
	pthread_mutex_unlock(&zs->reclaim_lock);
	if (!batch)
		return;
	synchronize_rcu();
	for (struct retired *next; batch; batch = next) {
		next = batch->next;
		retired_free(batch);
	}
}

/* Batches begin at least RECLAIM_GATHER_MS apart: in a burst of publishes (a PoP pulling
 * hundreds of changes a second) what is retired meanwhile waits for the next batch, one wake-up of
 * this thread and one grace period for many versions instead of one each (a context switch is
 * dear on a virtual machine: bench-fleet). Old versions live at most that much longer. */
#define RECLAIM_GATHER_MS 20

static void reclaim_now(struct zones *zs)
{
	zs->reclaim_at = ev_clock_ms();
	reclaim_batch(zs);
}

static void on_reclaim(struct ev_loop *loop, struct ev_async *a)
{
	struct zones *zs = a->arg;
	uint64_t now = ev_clock_ms();
	if (now < zs->reclaim_at + RECLAIM_GATHER_MS) {
		if (!zs->reclaim_later.armed)
			ev_timer_at(loop, &zs->reclaim_later, zs->reclaim_at + RECLAIM_GATHER_MS);
		return;
	}
	ev_timer_cancel(loop, &zs->reclaim_later);
	reclaim_now(zs);
}

static void on_reclaim_later(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	reclaim_now(t->arg);
}

/* Hands a replaced version, a removed slot or a replaced table to the reclaim thread. Without
 * memory for the hand-over, waits for the grace period here and frees at once. Writer lock held. */
static void retire(struct zones *zs, struct zone *z, struct zone_slot *slot, struct zone_table *table)
{
	struct retired what = {.zone = z, .slot = slot, .table = table};
	if (!z && !slot && !table)
		return;
	struct retired *r = zs->reclaimer.started ? malloc(sizeof(*r)) : NULL;
	if (!r) {
		synchronize_rcu();
		retired_free_parts(&what);
		return;
	}
	*r = what;
	pthread_mutex_lock(&zs->reclaim_lock);
	bool first = !zs->retired; /* the thread takes the whole list: one wake-up for it */
	*zs->retired_tail = r;
	zs->retired_tail = &r->next;
	pthread_mutex_unlock(&zs->reclaim_lock);
	if (first)
		ev_async_send(&zs->reclaim);
}

struct zones *zones_new(void)
{
	struct zones *zs = calloc(1, sizeof(*zs));
	if (!zs)
		return NULL;
	zs->table = table_new(0);
	if (!zs->table) {
		free(zs);
		return NULL;
	}
	pthread_mutex_init(&zs->lock, NULL);
	pthread_mutex_init(&zs->reclaim_lock, NULL);
	zs->retired_tail = &zs->retired;
	/* without the thread, writers wait for grace periods themselves (retire()) */
	if ((zs->reclaim_loop = ev_new(EV_RCU_OFFLINE)) != NULL) {
		ev_async_start(zs->reclaim_loop, &zs->reclaim, on_reclaim, zs);
		ev_timer_init(&zs->reclaim_later, on_reclaim_later, zs);
		ev_thread_start(&zs->reclaimer, zs->reclaim_loop, "ternd-reclaim");
	}
	return zs;
}

void zones_free(struct zones *zs)
{
	if (!zs)
		return;
	ev_thread_stop(&zs->reclaimer);
	ev_free(zs->reclaim_loop);
	reclaim_batch(zs); /* what is retired is freed first */
	pthread_mutex_destroy(&zs->reclaim_lock);
	struct zone_table *t = zs->table;
	for (size_t i = 0; i < atomic_load(&t->n); i++) {
		zone_free(t->slots[i]->current);
		free(t->slots[i]);
	}
	table_free(t);
	pthread_mutex_destroy(&zs->lock);
	free(zs);
}

static void notify(struct zones *zs, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	for (int i = 0; i < zs->nlisteners; i++)
		zs->listeners[i].fn(zs->listeners[i].arg, ev, old, next);
}

int zones_publish(struct zones *zs, struct zone *next)
{
	bool online = writer_lock(zs);
	struct zone_table *t = zs->table, *grown = NULL;
	struct zone_slot *s = table_find(t, next->apex, next->apex_len);
	struct zone *old = NULL;
	if (s) {
		next->uid = s->uid;
		old = rcu_xchg_pointer(&s->current, next);
	} else {
		s = calloc(1, sizeof(*s) + next->apex_len);
		if (s && !table_has_room(t))
			grown = table_new(t->cap * 2);
		if (!s || (!table_has_room(t) && !grown)) {
			free(s);
			writer_unlock(zs, online);
			return TERN_ENOMEM;
		}
		memcpy(s->apex, next->apex, next->apex_len);
		s->apex_len = next->apex_len;
		s->hash = name_hash(s->apex);
		s->labels = name_labels(s->apex);
		s->uid = next->uid = ++zs->last_uid;
		s->current = next;
		if (grown) {
			for (size_t i = 0; i < atomic_load(&t->n); i++)
				table_add(grown, t->slots[i]);
			table_add(grown, s);
			rcu_assign_pointer(zs->table, grown);
		} else {
			table_add(t, s); /* in place: no copy of the table per new zone */
		}
		atomic_fetch_add_explicit(&zs->count, 1, memory_order_relaxed);
	}
	if (old && next->base == old)
		zone_supersede(old, next); /* old then frees only what next dropped */
	notify(zs, ZONES_PUBLISHED, old, next);
	retire(zs, old, NULL, grown ? t : NULL); /* freed once no reader holds old or the previous table */
	writer_unlock(zs, online);
	return 0;
}

int zones_remove(struct zones *zs, const uint8_t *apex)
{
	bool online = writer_lock(zs);
	struct zone_table *t = zs->table;
	struct zone_slot *s = table_find(t, apex, name_len(apex));
	if (!s) {
		writer_unlock(zs, online);
		return TERN_ENOTFOUND;
	}
	struct zone_table *shrunk = table_new(t->cap);
	if (!shrunk) {
		writer_unlock(zs, online);
		return TERN_ENOMEM;
	}
	for (size_t i = 0; i < atomic_load(&t->n); i++)
		if (t->slots[i] != s)
			table_add(shrunk, t->slots[i]);
	rcu_assign_pointer(zs->table, shrunk);
	atomic_fetch_sub_explicit(&zs->count, 1, memory_order_relaxed);
	notify(zs, ZONES_REMOVED, s->current, NULL);
	retire(zs, s->current, s, t);
	writer_unlock(zs, online);
	return 0;
}

int zones_subscribe(struct zones *zs, zones_listener fn, void *arg)
{
	bool online = writer_lock(zs);
	int rc = TERN_ENOMEM;
	if (zs->nlisteners < MAX_LISTENERS) {
		zs->listeners[zs->nlisteners].fn = fn;
		zs->listeners[zs->nlisteners].arg = arg;
		zs->nlisteners++;
		rc = 0;
	}
	writer_unlock(zs, online);
	return rc;
}

void zones_unsubscribe(struct zones *zs, zones_listener fn, void *arg)
{
	bool online = writer_lock(zs);
	for (int i = 0; i < zs->nlisteners; i++) {
		if (zs->listeners[i].fn == fn && zs->listeners[i].arg == arg) {
			zs->listeners[i] = zs->listeners[--zs->nlisteners];
			break;
		}
	}
	writer_unlock(zs, online);
}

const struct zone *zones_find(const struct zones *zs, const uint8_t *lname, int below)
{
	RCU_READER_CHECK();
	uint32_t hashes[NAME_MAXLABELS + 1];
	int labels = name_suffix_hashes(lname, hashes);
	return zones_find_hashed(zs, lname, name_len(lname), hashes, labels, below);
}

const struct zone *zones_find_hashed(const struct zones *zs, const uint8_t *lname, size_t len, const uint32_t *hashes,
                                     int labels, int below)
{
	const struct zone_table *t = rcu_dereference(zs->table);
	if (atomic_load_explicit(&t->n, memory_order_acquire) == 0)
		return NULL;
	int min_labels = atomic_load_explicit(&t->min_labels, memory_order_relaxed);
	int max_labels = atomic_load_explicit(&t->max_labels, memory_order_relaxed);
	/* longest suffix first, trying only depths where some apex lives */
	for (int i = 0; i <= labels; i++) {
		int depth = labels - i;
		if (depth <= max_labels && depth >= min_labels && (i > 0 || !below)) {
			struct zone_slot *s = table_find_hashed(t, lname, len, hashes[i]);
			if (s)
				return rcu_dereference(s->current);
		}
		if (depth < min_labels || i == labels)
			break;
		len -= (size_t)lname[0] + 1;
		lname += lname[0] + 1;
	}
	return NULL;
}

const struct zone *zones_get(const struct zones *zs, const uint8_t *apex)
{
	RCU_READER_CHECK();
	const struct zone_table *t = rcu_dereference(zs->table);
	struct zone_slot *s = table_find(t, apex, name_len(apex));
	return s ? rcu_dereference(s->current) : NULL;
}

int zones_foreach(const struct zones *zs, int (*fn)(void *arg, const struct zone *z), void *arg)
{
	RCU_READER_CHECK();
	const struct zone_table *t = rcu_dereference(zs->table);
	size_t n = atomic_load_explicit(&t->n, memory_order_acquire);
	for (size_t i = 0; i < n; i++) {
		int rc = fn(arg, rcu_dereference(t->slots[i]->current));
		if (rc)
			return rc;
	}
	return 0;
}

int zones_foreach_from(const struct zones *zs, size_t *from, int (*fn)(void *arg, const struct zone *z), void *arg)
{
	RCU_READER_CHECK();
	const struct zone_table *t = rcu_dereference(zs->table);
	size_t n = atomic_load_explicit(&t->n, memory_order_acquire);
	for (size_t i = *from; i < n; i++) {
		const struct zone *z = rcu_dereference(t->slots[i]->current);
		int rc = z ? fn(arg, z) : 0;
		if (rc) {
			*from = i + 1;
			return rc;
		}
	}
	*from = n;
	return 0;
}

size_t zones_count(const struct zones *zs)
{
	return atomic_load_explicit(&zs->count, memory_order_relaxed);
}
