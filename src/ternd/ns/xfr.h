/* Zone transfers out over TCP: AXFR (RFC 5936), and IXFR (RFC 1995) from a zone's journal when
 * it reaches back to the client's serial, else with the whole zone (RFC 1995 section 4). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ternd/ns/query.h"
#include "ternd/zones/server.h"

/* One record of a zone's history. */
struct xfr_rr {
	const uint8_t *owner; /* wire form */
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* One change of a zone (RFC 1995): the records removed and added going from serial_from to
 * serial_to. Each list holds the zone's SOA at that serial among its records. */
struct xfr_diff {
	uint32_t serial_from, serial_to;
	const struct xfr_rr *removed, *added;
	size_t nremoved, nadded;
};

/* Called with each change in order; returns 0 to go on, 1 to stop, or a negative TERN_E*. */
typedef int (*xfr_diff_fn)(const struct xfr_diff *d, void *arg);

/* Where IXFR finds a zone's history (the control plane's store). read() calls fn with the
 * changes from serial `from` onward, oldest first; it returns 0, TERN_ENOTFOUND when the history
 * does not reach back to from, what fn returned when negative, or another TERN_E*. It runs in a
 * TCP worker, so it must not wait on the API's writers for long. */
struct xfr_journal {
	int (*read)(void *ctx, const uint8_t *apex, uint32_t from, xfr_diff_fn fn, void *arg);
	void *ctx;
};

/* Whether msg asks for a zone transfer: a class IN AXFR or IXFR query (header and question
 * only); xfr_answer() answers exactly these. */
bool xfr_is_transfer(const uint8_t *msg, size_t len);
/* Where answers go as TCP frames (a 16-bit length before each message): buf (malloc'd, grown
 * with realloc; free it when done) holds len bytes of cap. Several answers may follow each other
 * in one (a batch of pipelined questions). */
struct xfr_out {
	uint8_t *buf;
	size_t len, cap;
};

/* When msg is an AXFR or IXFR question, answers it: the whole answer is appended to out as TCP
 * frames, and 1 is returned. Returns 0 for any other message (answer it with query_process), or
 * a negative TERN_E* when out of memory (out->len as it was; out->buf may have grown). The
 * caller is an online RCU reader. */
int xfr_answer(const struct server *srv, const uint8_t *msg, size_t len, const struct query_client *client,
               struct xfr_out *out);
