/* Query counters for /metrics: per-worker blocks summed on demand. */
#include "ternd/base/stats.h"

#include <stdlib.h>
#include <string.h>

#include "lib/rr.h"

static const char *const names[STATS_TYPES] = {"A",  "NS",     "CNAME", "SOA",   "PTR", "MX",  "TXT",  "AAAA", "SRV",
                                               "DS", "DNSKEY", "SVCB",  "HTTPS", "CAA", "ANY", "AXFR", "other"};

struct stats_block *stats_block_new(struct stats *s)
{
	size_t i = atomic_fetch_add(&s->n, 1);
	if (i >= STATS_MAX_BLOCKS) {
		atomic_fetch_sub(&s->n, 1);
		return NULL;
	}
	struct stats_block *b = aligned_alloc(64, sizeof(*b));
	if (!b)
		return NULL;
	memset(b, 0, sizeof(*b)); /* the EDE table among the rest: not yet seen by any other thread */
	for (int k = 0; k < STATS_RCODES; k++)
		atomic_init(&b->rcode[k], 0);
	for (int k = 0; k < STATS_TYPES; k++)
		atomic_init(&b->qtype[k], 0);
	atomic_init(&b->dropped, 0);
	atomic_init(&b->xfr_batches, 0);
	atomic_init(&b->xfr_batched, 0);
	atomic_init(&b->rrl_limited, 0);
	atomic_init(&b->rrl_slipped, 0);
	atomic_init(&b->rrl_dropped, 0);
	s->blocks[i] = b;
	return b;
}

void stats_free(struct stats *s)
{
	size_t n = atomic_load(&s->n);
	for (size_t i = 0; i < n && i < STATS_MAX_BLOCKS; i++)
		free(s->blocks[i]);
	atomic_store(&s->n, 0);
}

int stats_type_index(uint16_t type)
{
	switch (type) { /* names[]'s order: a jump table, not a search, on the query path */
	case RR_A: return 0;
	case RR_NS: return 1;
	case RR_CNAME: return 2;
	case RR_SOA: return 3;
	case RR_PTR: return 4;
	case RR_MX: return 5;
	case RR_TXT: return 6;
	case RR_AAAA: return 7;
	case RR_SRV: return 8;
	case RR_DS: return 9;
	case RR_DNSKEY: return 10;
	case RR_SVCB: return 11;
	case RR_HTTPS: return 12;
	case RR_CAA: return 13;
	case RR_ANY: return 14;
	case RR_AXFR: return 15;
	default: return STATS_TYPES - 1;
	}
}

const char *stats_type_name(int index)
{
	return names[index];
}

void stats_sum(const struct stats *s, uint64_t rcode[STATS_RCODES], uint64_t qtype[STATS_TYPES], uint64_t *dropped)
{
	for (int k = 0; k < STATS_RCODES; k++)
		rcode[k] = 0;
	for (int k = 0; k < STATS_TYPES; k++)
		qtype[k] = 0;
	*dropped = 0;
	size_t n = atomic_load(&s->n);
	for (size_t i = 0; i < n && i < STATS_MAX_BLOCKS; i++) {
		const struct stats_block *b = s->blocks[i];
		if (!b)
			continue; /* being created */
		for (int k = 0; k < STATS_RCODES; k++)
			rcode[k] += atomic_load_explicit(&b->rcode[k], memory_order_relaxed);
		for (int k = 0; k < STATS_TYPES; k++)
			qtype[k] += atomic_load_explicit(&b->qtype[k], memory_order_relaxed);
		*dropped += atomic_load_explicit(&b->dropped, memory_order_relaxed);
	}
}

void stats_sum_xfr(const struct stats *s, uint64_t *batches, uint64_t *batched)
{
	*batches = *batched = 0;
	size_t n = atomic_load(&s->n);
	for (size_t i = 0; i < n && i < STATS_MAX_BLOCKS; i++) {
		const struct stats_block *b = s->blocks[i];
		if (!b)
			continue; /* being created */
		*batches += atomic_load_explicit(&b->xfr_batches, memory_order_relaxed);
		*batched += atomic_load_explicit(&b->xfr_batched, memory_order_relaxed);
	}
}

#define RELAXED memory_order_relaxed

void stats_ede(struct stats_block *b, uint16_t code, const uint8_t *zone, size_t len)
{
	stats_bump(&b->ede[code < STATS_EDE_CODES ? code : STATS_EDE_CODES - 1]);
	if (!zone || len > STATS_EDE_WORDS * 8)
		return;
	uint64_t h = 1469598103934665603ull ^ code;
	for (size_t i = 0; i < len; i++)
		h = (h ^ zone[i]) * 1099511628211ull;
	h |= 1;
	uint32_t epoch = atomic_load_explicit(&b->ede_epoch, RELAXED);
	for (unsigned p = 0; p < STATS_EDE_PROBES; p++) {
		struct stats_ede_slot *sl = &b->ede_zones[epoch & 1][(h + p) % STATS_EDE_SLOTS];
		uint32_t se = atomic_load_explicit(&sl->epoch, RELAXED);
		if (se == epoch && atomic_load_explicit(&sl->hash, RELAXED) == h) {
			stats_bump(&sl->count);
			return;
		}
		if (se == epoch && atomic_load_explicit(&sl->count, RELAXED))
			continue; /* another (zone, code) of this second */
		uint32_t seq = atomic_load_explicit(&sl->seq, RELAXED);
		atomic_store_explicit(&sl->seq, seq + 1, RELAXED);
		atomic_thread_fence(memory_order_release);
		atomic_store_explicit(&sl->hash, h, RELAXED);
		atomic_store_explicit(&sl->code, code, RELAXED);
		atomic_store_explicit(&sl->len, (uint32_t)len, RELAXED);
		for (size_t w = 0; w * 8 < len; w++) {
			uint64_t v = 0;
			for (size_t k = 0; k < 8 && w * 8 + k < len; k++)
				v |= (uint64_t)zone[w * 8 + k] << (8 * k);
			atomic_store_explicit(&sl->name[w], v, RELAXED);
		}
		atomic_store_explicit(&sl->count, 1, RELAXED);
		atomic_store_explicit(&sl->epoch, epoch, RELAXED);
		atomic_store_explicit(&sl->seq, seq + 2, memory_order_release);
		return;
	}
}

void stats_ede_take(const struct stats *s, uint64_t codes[STATS_EDE_CODES],
                    void (*fn)(void *arg, const struct stats_ede_hit *h), void *arg)
{
	for (int k = 0; k < STATS_EDE_CODES; k++)
		codes[k] = 0;
	size_t n = atomic_load(&s->n);
	for (size_t i = 0; i < n && i < STATS_MAX_BLOCKS; i++) {
		struct stats_block *b = s->blocks[i];
		if (!b)
			continue; /* being created */
		for (int k = 0; k < STATS_EDE_CODES; k++)
			codes[k] += atomic_load_explicit(&b->ede[k], RELAXED);
		uint32_t epoch = atomic_load_explicit(&b->ede_epoch, RELAXED);
		atomic_store_explicit(&b->ede_epoch, epoch + 1, RELAXED); /* the sampler alone writes it */
		for (size_t k = 0; k < STATS_EDE_SLOTS; k++) {
			struct stats_ede_slot *sl = &b->ede_zones[epoch & 1][k];
			uint32_t seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
			if ((seq & 1) || atomic_load_explicit(&sl->epoch, RELAXED) != epoch)
				continue;
			struct stats_ede_hit hit;
			hit.code = (uint16_t)atomic_load_explicit(&sl->code, RELAXED);
			uint32_t len = atomic_load_explicit(&sl->len, RELAXED);
			hit.count = atomic_load_explicit(&sl->count, RELAXED);
			for (size_t w = 0; w < STATS_EDE_WORDS; w++) {
				uint64_t v = atomic_load_explicit(&sl->name[w], RELAXED);
				for (size_t c = 0; c < 8; c++)
					hit.name[w * 8 + c] = (uint8_t)(v >> (8 * c));
			}
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&sl->seq, RELAXED) != seq || !hit.count || len >= sizeof(hit.name))
				continue; /* rewritten meanwhile */
			hit.len = (uint8_t)len;
			fn(arg, &hit);
		}
	}
}

void stats_sum_rrl(const struct stats *s, uint64_t *limited, uint64_t *slipped, uint64_t *dropped)
{
	*limited = *slipped = *dropped = 0;
	size_t n = atomic_load(&s->n);
	for (size_t i = 0; i < n && i < STATS_MAX_BLOCKS; i++) {
		const struct stats_block *b = s->blocks[i];
		if (!b)
			continue; /* being created */
		*limited += atomic_load_explicit(&b->rrl_limited, memory_order_relaxed);
		*slipped += atomic_load_explicit(&b->rrl_slipped, memory_order_relaxed);
		*dropped += atomic_load_explicit(&b->rrl_dropped, memory_order_relaxed);
	}
}

static uint64_t rrl_prefix_hash(unsigned family, uint64_t hi, uint64_t lo)
{
	uint64_t h = (hi * 0x9e3779b97f4a7c15ull) ^ (lo * 0xc2b2ae3d27d4eb4full) ^ family;
	return h ^ h >> 29;
}

void stats_rrl_prefix(struct stats_block *b, uint32_t now, unsigned family, unsigned len, uint64_t hi, uint64_t lo)
{
	uint32_t epoch = now / STATS_RRL_INTERVAL;
	uint64_t h = rrl_prefix_hash(family, hi, lo);
	struct stats_rrl_slot *set =
	    &b->rrl_prefixes[epoch & 1][(h % (STATS_RRL_SLOTS / STATS_RRL_WAYS)) * STATS_RRL_WAYS];
	struct stats_rrl_slot *take = NULL;
	uint64_t least = UINT64_MAX;
	for (unsigned i = 0; i < STATS_RRL_WAYS; i++) {
		struct stats_rrl_slot *sl = &set[i];
		if (atomic_load_explicit(&sl->epoch, RELAXED) != epoch ||
		    atomic_load_explicit(&sl->family, RELAXED) == 0) {
			if (least) { /* a slot of an older interval: free */
				take = sl;
				least = 0;
			}
			continue;
		}
		if (atomic_load_explicit(&sl->hi, RELAXED) == hi && atomic_load_explicit(&sl->lo, RELAXED) == lo &&
		    atomic_load_explicit(&sl->family, RELAXED) == family &&
		    atomic_load_explicit(&sl->len, RELAXED) == len) {
			stats_bump(&sl->count);
			return;
		}
		uint64_t c = atomic_load_explicit(&sl->count, RELAXED);
		if (c < least) {
			take = sl;
			least = c;
		}
	}
	uint32_t seq = atomic_load_explicit(&take->seq, RELAXED);
	atomic_store_explicit(&take->seq, seq + 1, RELAXED);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&take->family, family, RELAXED);
	atomic_store_explicit(&take->len, len, RELAXED);
	atomic_store_explicit(&take->hi, hi, RELAXED);
	atomic_store_explicit(&take->lo, lo, RELAXED);
	atomic_store_explicit(&take->count, 1, RELAXED);
	atomic_store_explicit(&take->epoch, epoch, RELAXED);
	atomic_store_explicit(&take->seq, seq + 2, memory_order_release);
}

static int by_prefix(const void *x, const void *y)
{
	const struct stats_rrl_hit *a = x, *b = y;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int by_count(const void *x, const void *y)
{
	const struct stats_rrl_hit *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return by_prefix(x, y);
}

int stats_rrl_top(const struct stats *s, uint32_t now, struct stats_rrl_hit *out, size_t max)
{
	size_t n = atomic_load(&s->n);
	if (n > STATS_MAX_BLOCKS)
		n = STATS_MAX_BLOCKS;
	struct stats_rrl_hit *all = malloc((n ? n : 1) * 2 * STATS_RRL_SLOTS * sizeof(*all));
	if (!all)
		return -1;
	size_t k = 0;
	uint32_t epoch = now / STATS_RRL_INTERVAL;
	for (size_t i = 0; i < n; i++) {
		struct stats_block *b = s->blocks[i];
		if (!b)
			continue; /* being created */
		for (uint32_t e = epoch - 1; e != epoch + 1; e++) {
			for (size_t j = 0; j < STATS_RRL_SLOTS; j++) {
				struct stats_rrl_slot *sl = &b->rrl_prefixes[e & 1][j];
				uint32_t seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
				if ((seq & 1) || atomic_load_explicit(&sl->epoch, RELAXED) != e)
					continue;
				struct stats_rrl_hit *h = &all[k];
				h->family = atomic_load_explicit(&sl->family, RELAXED);
				h->len = atomic_load_explicit(&sl->len, RELAXED);
				h->hi = atomic_load_explicit(&sl->hi, RELAXED);
				h->lo = atomic_load_explicit(&sl->lo, RELAXED);
				h->count = atomic_load_explicit(&sl->count, RELAXED);
				atomic_thread_fence(memory_order_acquire);
				if (atomic_load_explicit(&sl->seq, RELAXED) != seq || !h->family || !h->count)
					continue; /* taken over meanwhile */
				k++;
			}
		}
	}
	/* one entry per prefix (workers and intervals summed), then the most limited first */
	size_t m = 0;
	if (k) {
		qsort(all, k, sizeof(*all), by_prefix);
		for (size_t i = 1; i < k; i++) {
			if (by_prefix(&all[m], &all[i]) == 0)
				all[m].count += all[i].count;
			else
				all[++m] = all[i];
		}
		m++;
		qsort(all, m, sizeof(*all), by_count);
	}
	if (m > max)
		m = max;
	memcpy(out, all, m * sizeof(*out));
	free(all);
	return (int)m;
}

static uint64_t usage_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

void stats_usage(struct stats_block *b, uint64_t key)
{
	uint64_t h = usage_hash(key);
	struct stats_usage_slot *free_slot = NULL;
	for (unsigned p = 0; p < STATS_USAGE_PROBES; p++) {
		struct stats_usage_slot *sl = &b->usage[(h + p) % STATS_USAGE_SLOTS];
		uint64_t k = atomic_load_explicit(&sl->key, RELAXED);
		if (k == key) {
			stats_bump(&sl->count);
			return;
		}
		if (!free_slot && (!k || atomic_load_explicit(&sl->taken, memory_order_acquire) ==
		                             atomic_load_explicit(&sl->count, RELAXED)))
			free_slot = sl; /* the collector has every query it counted */
	}
	if (!free_slot) {
		stats_bump(&b->usage_lost);
		return;
	}
	uint32_t seq = atomic_load_explicit(&free_slot->seq, RELAXED);
	atomic_store_explicit(&free_slot->seq, seq + 1, RELAXED);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&free_slot->key, key, RELAXED);
	atomic_store_explicit(&free_slot->taken, 0, RELAXED);
	atomic_store_explicit(&free_slot->count, 1, RELAXED);
	atomic_store_explicit(&free_slot->seq, seq + 2, memory_order_release);
}

void stats_usage_take(const struct stats *s, void (*fn)(void *arg, uint64_t key, uint64_t n), void *arg, uint64_t *lost)
{
	uint64_t all_lost = 0;
	size_t n = atomic_load(&s->n);
	for (size_t i = 0; i < n && i < STATS_MAX_BLOCKS; i++) {
		struct stats_block *b = s->blocks[i];
		if (!b)
			continue; /* being created */
		all_lost += atomic_load_explicit(&b->usage_lost, RELAXED);
		for (size_t k = 0; k < STATS_USAGE_SLOTS; k++) {
			struct stats_usage_slot *sl = &b->usage[k];
			uint32_t seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
			if (seq & 1)
				continue; /* being taken over: read at the next take */
			uint64_t key = atomic_load_explicit(&sl->key, RELAXED);
			uint64_t count = atomic_load_explicit(&sl->count, RELAXED);
			uint64_t taken = atomic_load_explicit(&sl->taken, RELAXED);
			atomic_thread_fence(memory_order_acquire);
			if (!key || count <= taken || atomic_load_explicit(&sl->seq, RELAXED) != seq)
				continue;
			/* while count > taken the worker does not take the slot over, so the store below
			 * lands on the same key */
			fn(arg, key, count - taken);
			atomic_store_explicit(&sl->taken, count, memory_order_release);
		}
	}
	*lost = all_lost;
}
