/* Answering one DNS message: parse, check, dispatch by opcode, write the response. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ternd/zones/server.h"

enum query_proto { PROTO_UDP, PROTO_TCP };

struct stats_block;
struct rrl_table;
struct dnstap_ring;

/* What one answering thread keeps between messages (ns/limit.c): its clock, read once a batch, its
 * response rate limiting table (UDP workers) and the DNS cookie keys of the period. Only that
 * thread touches it: no lock. */
struct query_guard {
	uint32_t now; /* Unix seconds (CLOCK_REALTIME_COARSE), as of query_guard_tick() */
	uint32_t now_ms; /* monotonic milliseconds (CLOCK_MONOTONIC_COARSE), wrapping */
	struct rrl_table *rrl; /* NULL: this thread does not rate-limit (TCP) */
	/* cookie keys: key[0] of period keys_period, key[1] of the one before; made from secret with
	 * keys_span-second periods (ns/edns.c), made again when any of those changes */
	uint32_t keys_period, keys_span;
	uint8_t keys_secret[16];
	uint8_t key[2][16];
};

/* A guard for one thread; rrl_entries buckets (0: no rate limiting) for a worker that sees 1/share
 * of a client's traffic. NULL when out of memory. */
struct query_guard *query_guard_new(size_t rrl_entries, unsigned share);
void query_guard_free(struct query_guard *g);
/* Reads the clocks (vDSO: no system call): once per batch of messages. */
void query_guard_tick(struct query_guard *g);

struct query_client {
	const struct sockaddr *addr;
	socklen_t addrlen;
	enum query_proto proto;
	struct stats_block *stats; /* the worker's counters; NULL counts nothing */
	struct query_guard *guard; /* the thread's guard; NULL: no cookies, no rate limiting */
	uint8_t tls; /* TCP: enum config_tls_need the connection's TLS proved (CONFIG_TLS_ANY: none) */
	struct dnstap_ring *dnstap; /* the thread's dnstap ring (dnstap/dnstap.h); NULL: not logged */
	const struct sockaddr *local; /* where the query came in (dnstap's response address); NULL: not known */
};

/* Answers msg into out (cap bytes, at least 512; 65535 for TCP). For UDP the response is also
 * limited by the client's EDNS size and the server's. Returns the response length, or 0 when
 * nothing must be sent (the message is a response, or too short to answer). The caller must be
 * an online RCU reader. No allocation. */
size_t query_process(const struct server *srv, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                     const struct query_client *client);
