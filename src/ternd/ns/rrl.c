/* Response rate limiting: the bucket table (rrl.h). The policy -- which responses, what key, slip
 * or drop -- is query.c's ns_rrl(). */
#include "ternd/ns/rrl.h"

#include <stdlib.h>

struct rrl_table *rrl_table_new(size_t entries, unsigned share, uint64_t seed)
{
	size_t n = RRL_WAYS;
	while (n < entries && n < ((size_t)1 << 40))
		n <<= 1;
	struct rrl_table *t = calloc(1, sizeof(*t) + n * sizeof(t->b[0]));
	if (!t)
		return NULL;
	t->mask = n / RRL_WAYS - 1;
	t->share = share ? share : 1;
	t->seed = seed | 1;
	return t;
}

void rrl_table_free(struct rrl_table *t)
{
	free(t);
}

/* A 64-bit mix (the finalizer of MurmurHash3) of key under the table's seed. */
static inline uint64_t mix(uint64_t k, uint64_t seed)
{
	k ^= seed;
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

bool rrl_take(struct rrl_table *t, uint64_t key, uint32_t now_ms, uint32_t rate, uint32_t window)
{
	struct rrl_bucket *set = &t->b[(mix(key, t->seed) & t->mask) * RRL_WAYS];
	uint32_t stamp = now_ms ? now_ms : 1; /* 0 marks an empty bucket */
	/* what a worker may send per second, and save up, in milli-tokens */
	int64_t per_s = (int64_t)rate * RRL_TOKEN / t->share;
	if (per_s < 1)
		per_s = 1;
	int64_t cap = per_s * window;
	if (cap > INT32_MAX)
		cap = INT32_MAX;
	struct rrl_bucket *b = NULL, *oldest = &set[0];
	for (int i = 0; i < RRL_WAYS; i++) {
		if (set[i].key == key) {
			b = &set[i];
			break;
		}
		/* the empty one, else the one refilled longest ago */
		if (set[i].stamp == 0 ||
		    (oldest->stamp != 0 && (uint32_t)(stamp - set[i].stamp) > (uint32_t)(stamp - oldest->stamp)))
			oldest = &set[i];
	}
	if (!b) {
		b = oldest;
		b->key = key;
		b->tokens = (int32_t)cap;
		b->stamp = stamp;
	} else {
		uint32_t dt = stamp - b->stamp;
		if (dt > window * 1000u) /* longer than it takes to fill up */
			dt = window * 1000u;
		int64_t add = per_s * dt / 1000;
		if (add > 0) { /* a fraction of a token waits for the next call: the stamp stays */
			int64_t v = b->tokens + add;
			b->tokens = (int32_t)(v > cap ? cap : v);
			b->stamp = stamp;
		}
	}
	if (b->tokens >= RRL_TOKEN) {
		b->tokens -= RRL_TOKEN;
		return true;
	}
	return false;
}
