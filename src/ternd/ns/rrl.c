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

/* What rate, window and debit make for this worker, kept until they change (a reload). */
static void rrl_rate(struct rrl_table *t, uint32_t rate, uint32_t window, uint32_t debit)
{
	t->per_s = (int64_t)rate * RRL_TOKEN / t->share;
	if (t->per_s < 1)
		t->per_s = 1;
	t->cap = t->per_s * window;
	if (t->cap > INT32_MAX)
		t->cap = INT32_MAX;
	t->debt = t->per_s * debit;
	if (t->debt > INT32_MAX - RRL_TOKEN) /* tokens is an int32_t */
		t->debt = INT32_MAX - RRL_TOKEN;
	t->rate = rate;
	t->window = window;
	t->debit = debit;
}

bool rrl_take(struct rrl_table *t, uint64_t key, uint32_t now_ms, uint32_t rate, uint32_t window, uint32_t debit)
{
	if (rate != t->rate || window != t->window || debit != t->debit)
		rrl_rate(t, rate, window, debit);
	/* the set: the high half of the key times an odd constant, under the seed */
	uint64_t h = (key ^ t->seed) * 0x9e3779b97f4a7c15ull;
	struct rrl_bucket *set = &t->b[((size_t)(h >> 32) & t->mask) * RRL_WAYS], *b;
	uint32_t stamp = now_ms ? now_ms : 1; /* 0 marks an empty bucket */
	if (set[0].key == key)
		b = &set[0];
	else if (set[1].key == key)
		b = &set[1];
	else if (set[2].key == key)
		b = &set[2];
	else if (set[3].key == key)
		b = &set[3];
	else {
		/* a new key: the empty bucket, else the one refilled longest ago; it starts full */
		b = &set[0];
		for (int i = 1; i < RRL_WAYS && b->stamp; i++)
			if (set[i].stamp == 0 || (uint32_t)(stamp - set[i].stamp) > (uint32_t)(stamp - b->stamp))
				b = &set[i];
		b->key = key;
		b->tokens = (int32_t)t->cap;
		b->stamp = stamp;
		goto take;
	}
	uint32_t dt = stamp - b->stamp;
	if (dt) {
		if (dt > (window + debit) * 1000u) /* longer than it takes to fill up from the deepest debt */
			dt = (window + debit) * 1000u;
		int64_t add = t->per_s * dt / 1000;
		if (add > 0) { /* a fraction of a token waits for the next call: the stamp stays */
			int64_t v = b->tokens + add;
			b->tokens = (int32_t)(v > t->cap ? t->cap : v);
			b->stamp = stamp;
		}
	}
take:
	if (b->tokens >= RRL_TOKEN) {
		b->tokens -= RRL_TOKEN;
		return true;
	}
	/* limited: with a debit, the response is owed all the same */
	if (t->debt) {
		int64_t v = (int64_t)b->tokens - RRL_TOKEN;
		b->tokens = (int32_t)(v < -t->debt ? -t->debt : v);
	}
	return false;
}
