/* Query counters for /metrics: one block per worker thread, written by its owner only (plain
 * relaxed stores, no lock, no atomic read-modify-write) and summed by readers. */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum { STATS_RCODES = 24, STATS_TYPES = 17 };
/* Extended DNS Error counters (the ede condition, signals/ede.c): per code (0..63; a larger code
 * counts as 63), and a small table of (zone, code) hits, both written by the worker only. */
enum { STATS_EDE_CODES = 64, STATS_EDE_SLOTS = 32, STATS_EDE_PROBES = 4, STATS_EDE_WORDS = 32 };

/* One (zone, code) of an epoch: the sampler advances the block's epoch once a second and reads the
 * slots of the epoch before; the worker writes the table of the epoch's parity, so the one being
 * read is not taken over before the epoch after next, and takes over a slot of an older epoch. seq
 * is odd while the worker writes the slot (a seqlock: the sampler drops a read it overlapped). */
struct stats_ede_slot {
	_Atomic uint32_t seq, epoch;
	_Atomic uint64_t hash; /* of code and name; never 0 */
	_Atomic uint64_t count; /* hits in the epoch */
	_Atomic uint32_t code, len;
	_Atomic uint64_t name[STATS_EDE_WORDS]; /* the zone's apex, wire form, lower case */
};

/* Client prefixes over the response rate limit, per interval of STATS_RRL_INTERVAL seconds of the
 * worker's clock: a set of STATS_RRL_WAYS slots per prefix in the table of the interval's parity; a
 * new prefix takes a slot of an older interval, else the one of its set limited least (so a flood's
 * prefix stays while scattered ones churn). Written by the worker only, seq odd while it takes a
 * slot over (a seqlock, as the EDE table); read by stats_rrl_top(). */
enum { STATS_RRL_SLOTS = 64, STATS_RRL_WAYS = 4, STATS_RRL_INTERVAL = 10 };
struct stats_rrl_slot {
	_Atomic uint32_t seq, epoch; /* epoch: the interval (unix seconds / STATS_RRL_INTERVAL) */
	_Atomic uint32_t family, len; /* 4 or 6 (0: never used), prefix length */
	_Atomic uint64_t hi, lo; /* the prefix: IPv4 in hi's low 32 bits; IPv6 as two big-endian halves */
	_Atomic uint64_t count; /* limited responses in the interval */
};

/* Queries by (zone, question type, rcode, transport), for usage and billing (the usage module):
 * a table per worker, written by the worker only. A slot holds one key and its count since the
 * worker took the slot; the collector adds count - taken to its totals and sets taken = count. The
 * worker takes over a slot only when the collector has taken all of it (taken == count), so no
 * query is lost; seq is odd while it does (the collector drops a read it overlapped). A query
 * whose key finds no slot within STATS_USAGE_PROBES counts in usage_lost. */
enum { STATS_USAGE_SLOTS = 4096, STATS_USAGE_PROBES = 8 };
enum stats_transport { STATS_UDP = 0, STATS_TCP = 1, STATS_TLS = 2 };
struct stats_usage_slot {
	_Atomic uint32_t seq;
	_Atomic uint64_t key; /* stats_usage_key(); 0: never used */
	_Atomic uint64_t count; /* the worker's */
	_Atomic uint64_t taken; /* the collector's */
};

/* A usage key: the zone's uid (zone->uid; 0: no zone of ours), the question type's index
 * (stats_type_index), the rcode (23 for any above) and the transport; never 0. */
static inline uint64_t stats_usage_key(uint64_t uid, int qtype_index, unsigned rcode, enum stats_transport t)
{
	return 1ull << 63 | (uid & 0xffffffffffull) << 16 | (uint64_t)(qtype_index & 0x3f) << 8 |
	       (uint64_t)(rcode < 23 ? rcode : 23) << 2 | (uint64_t)t;
}
static inline uint64_t stats_usage_uid(uint64_t key)
{
	return key >> 16 & 0xffffffffffull;
}
static inline int stats_usage_qtype(uint64_t key)
{
	return (int)(key >> 8 & 0x3f);
}
static inline unsigned stats_usage_rcode(uint64_t key)
{
	return (unsigned)(key >> 2 & 0x3f);
}
static inline enum stats_transport stats_usage_transport(uint64_t key)
{
	return (enum stats_transport)(key & 3);
}

struct stats_block {
	_Alignas(64) _Atomic uint64_t rcode[STATS_RCODES]; /* by response rcode (12-bit values above 23 count as 23) */
	_Atomic uint64_t qtype[STATS_TYPES]; /* by question type, see stats_type_name() */
	_Atomic uint64_t dropped; /* messages not answered */
	/* TCP's transfer thread: batches of pipelined messages built (each one hand-over from the
	 * TCP thread and back), and the messages they answered (transfers and the queries among them) */
	_Atomic uint64_t xfr_batches, xfr_batched;
	_Atomic uint64_t ede[STATS_EDE_CODES]; /* answers with each Extended DNS Error code */
	_Atomic uint32_t ede_epoch; /* advanced by the sampler (stats_ede_take) */
	struct stats_ede_slot ede_zones[2][STATS_EDE_SLOTS]; /* by the epoch's parity */
	/* response rate limiting (ns/limit.c): responses over the limit (in log-only mode too), of
	 * those the ones sent truncated and the ones dropped */
	_Atomic uint64_t rrl_limited, rrl_slipped, rrl_dropped;
	/* the client prefixes limited most, per interval (stats_rrl_prefix), by the interval's parity */
	struct stats_rrl_slot rrl_prefixes[2][STATS_RRL_SLOTS];
	_Atomic uint64_t usage_lost; /* queries whose usage key found no slot */
	struct stats_usage_slot usage[STATS_USAGE_SLOTS];
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

/* An answer with Extended DNS Error code, about the zone whose apex is zone (wire form, lower case,
 * len octets; NULL: no zone of ours). The worker owning b only; no lock, no allocation: a counter
 * and, for a zone, a slot of b's table of this second (a full table leaves the hit to the code's
 * counter alone). */
void stats_ede(struct stats_block *b, uint16_t code, const uint8_t *zone, size_t len);

/* The sampler's view of one (zone, code) of the last second. */
struct stats_ede_hit {
	uint16_t code;
	uint8_t len;
	uint8_t name[STATS_EDE_WORDS * 8];
	uint64_t count;
};
/* Sums every block's per-code counters into codes, then advances each block's epoch and calls fn
 * for each (zone, code) slot of the epoch that ended (a worker may add a hit or two to it after it
 * was read: those count for the code only). One sampler thread at a time. */
void stats_ede_take(const struct stats *s, uint64_t codes[STATS_EDE_CODES],
                    void (*fn)(void *arg, const struct stats_ede_hit *h), void *arg);
/* One query of key (stats_usage_key) answered by the worker owning b: no lock, no allocation. */
void stats_usage(struct stats_block *b, uint64_t key);
/* Calls fn with each key's queries since the last take, from every block, and puts the blocks'
 * lost queries (since the start) in *lost. One collector at a time (the caller serialises). */
void stats_usage_take(const struct stats *s, void (*fn)(void *arg, uint64_t key, uint64_t n), void *arg,
                      uint64_t *lost);

/* Sums of every block's rate limiting counters. */
void stats_sum_rrl(const struct stats *s, uint64_t *limited, uint64_t *slipped, uint64_t *dropped);

/* A limited response to a client of the prefix (family 4 or 6, len bits, hi and lo as in struct
 * stats_rrl_slot) at now (the worker's unix seconds). The worker owning b only: no lock, no
 * allocation. */
void stats_rrl_prefix(struct stats_block *b, uint32_t now, unsigned family, unsigned len, uint64_t hi, uint64_t lo);

/* One prefix of stats_rrl_top(). */
struct stats_rrl_hit {
	unsigned family, len;
	uint64_t hi, lo;
	uint64_t count;
};
/* The prefixes limited most in the interval holding now and the one before (10 to 20 s), summed
 * over every worker, most first: up to max into out. Returns how many, or -1 when out of memory.
 * Any thread; takes no lock (a slot being taken over meanwhile is left out). */
int stats_rrl_top(const struct stats *s, uint32_t now, struct stats_rrl_hit *out, size_t max);
