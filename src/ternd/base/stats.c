/* Query counters for /metrics: per-worker blocks summed on demand. */
#include "ternd/base/stats.h"

#include <stdlib.h>

#include "lib/rr.h"

static const uint16_t types[STATS_TYPES - 1] = {RR_A,   RR_NS, RR_CNAME,  RR_SOA,  RR_PTR,   RR_MX,  RR_TXT, RR_AAAA,
                                                RR_SRV, RR_DS, RR_DNSKEY, RR_SVCB, RR_HTTPS, RR_CAA, RR_ANY, RR_AXFR};
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
	for (int i = 0; i < STATS_TYPES - 1; i++)
		if (types[i] == type)
			return i;
	return STATS_TYPES - 1;
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
