/* Query counters for /metrics: one block per worker thread, written by its owner only (plain
 * relaxed stores, no lock, no atomic read-modify-write) and summed by readers. */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum { STATS_RCODES = 24, STATS_TYPES = 17 };

struct stats_block {
	_Alignas(64) _Atomic uint64_t rcode[STATS_RCODES]; /* by response rcode (12-bit values above 23 count as 23) */
	_Atomic uint64_t qtype[STATS_TYPES]; /* by question type, see stats_type_name() */
	_Atomic uint64_t dropped; /* messages not answered */
	/* TCP's transfer thread: batches of pipelined messages built (each one hand-over from the
	 * TCP thread and back), and the messages they answered (transfers and the queries among them) */
	_Atomic uint64_t xfr_batches, xfr_batched;
	/* response rate limiting (ns/limit.c): responses over the limit (in log-only mode too), of
	 * those the ones sent truncated and the ones dropped */
	_Atomic uint64_t rrl_limited, rrl_slipped, rrl_dropped;
};

#define STATS_MAX_BLOCKS 512

struct stats {
	_Atomic size_t n;
	struct stats_block *blocks[STATS_MAX_BLOCKS];
};

/* A block for one worker (zeroed); NULL when there are too many. Blocks live until stats_free. */
struct stats_block *stats_block_new(struct stats *s);
void stats_free(struct stats *s);

static inline void stats_bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Index of a question type in qtype[]; the last one counts every other type. */
int stats_type_index(uint16_t type);
const char *stats_type_name(int index);
/* Sums of every block. */
void stats_sum(const struct stats *s, uint64_t rcode[STATS_RCODES], uint64_t qtype[STATS_TYPES], uint64_t *dropped);
/* Sums of every block's transfer batch counters. */
void stats_sum_xfr(const struct stats *s, uint64_t *batches, uint64_t *batched);
/* Sums of every block's rate limiting counters. */
void stats_sum_rrl(const struct stats *s, uint64_t *limited, uint64_t *slipped, uint64_t *dropped);
