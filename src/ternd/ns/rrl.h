/* Response rate limiting (the BIND and Knot model): a token bucket per client prefix and kind of
 * response, in a fixed table owned by one thread (a UDP worker); the oldest bucket of a set of
 * four makes room. No lock, no allocation after rrl_table_new(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RRL_WAYS 4 /* buckets per set: a key lives in one set, one cache line */
#define RRL_TOKEN 1000 /* a response, in the milli-tokens a bucket counts */

struct rrl_bucket {
	uint64_t key; /* 0: empty */
	int32_t tokens; /* milli-tokens */
	uint32_t stamp; /* ms (the owner's clock, wrapping) when last refilled; 0: empty */
};

struct rrl_table {
	size_t mask; /* sets - 1 */
	unsigned share; /* workers a client's traffic spreads over: each takes rate / share */
	uint64_t seed; /* hashes keys to sets, so a client cannot aim at one */
	unsigned slip_count; /* limited responses since the last slipped one */
	/* the last rate, window and debit asked, and what they make for this worker in milli-tokens:
	 * a second's worth (at least 1), a full bucket and the deepest debt */
	uint32_t rate, window, debit;
	int64_t per_s, cap, debt;
	struct rrl_bucket b[];
};

/* A table of at least entries buckets (rounded up to a power of two, RRL_WAYS a set) for a worker
 * that sees 1/share of the traffic; seed from a random source. NULL when out of memory. */
struct rrl_table *rrl_table_new(size_t entries, unsigned share, uint64_t seed);
void rrl_table_free(struct rrl_table *t);

/* Takes one response from key's bucket at now_ms (the owner's monotonic ms): a new bucket starts
 * full with window seconds of rate; a bucket refills rate / share per second up to that. Returns
 * true when the response may go, false when the bucket is empty (limited). With debit seconds, a
 * limited response is taken too, down to debit seconds of rate below empty (BIND's account: a
 * client that keeps sending over the rate stays limited, and is answered again about debit
 * seconds after it slows down); debit 0 takes only what goes (Knot's bucket). key != 0. */
bool rrl_take(struct rrl_table *t, uint64_t key, uint32_t now_ms, uint32_t rate, uint32_t window, uint32_t debit);

/* For a limited response: whether it is the one of every slip (1 in slip) that goes truncated.
 * slip 0: never. */
static inline bool rrl_slip(struct rrl_table *t, unsigned slip)
{
	if (slip == 0)
		return false;
	if (++t->slip_count >= slip) {
		t->slip_count = 0;
		return true;
	}
	return false;
}
