/* Zone transfer answers (AXFR, RFC 5936; IXFR, RFC 1995) parsed one DNS message at a time, with no
 * sockets: each message is checked, its records expanded and run through the transfer's state
 * machine, which ends in a whole zone or a chain of diffs; xfrp_apply() turns diffs into a snapshot. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/zone.h"

/* TSIG (RFC 8945) plugs in here, over src/lib/tsig.h (a tsig_ctx per exchange): sign() starts a
 * chain and signs the query in place (its length may grow up to cap); verify() checks each
 * message of the answer in order (tsig_verify_next), end() after the last (tsig_verify_end).
 * Each returns 0 or a negative TERN_E* with err filled. A NULL pull_peer.tsig = unsigned. */
struct pull_tsig {
	int (*sign)(void *ctx, uint8_t *msg, size_t *len, size_t cap, char *err, size_t errlen);
	int (*verify)(void *ctx, const uint8_t *msg, size_t len, char *err, size_t errlen);
	int (*end)(void *ctx, char *err, size_t errlen);
	void *ctx;
};

/* The query an answer is checked against. */
struct xfrp_query {
	const uint8_t *apex; /* the zone */
	uint16_t qtype; /* RR_AXFR or RR_IXFR */
	uint16_t id; /* the query's message ID */
	uint32_t serial; /* IXFR: the serial we hold (the diffs must start there) */
	const struct pull_tsig *tsig; /* NULL = unsigned */
	const char *from; /* the primary, as messages name it */
};

enum xfrp_outcome {
	XFRP_CURRENT, /* IXFR answered with a lone SOA not newer than ours: nothing to do */
	XFRP_ZONE, /* a whole zone: AXFR, or IXFR answered AXFR-style */
	XFRP_DIFFS, /* IXFR: a chain of diffs from our serial to the primary's */
};

/* One record of an IXFR answer, in the order it came. Every diff is SOA_FROM, its DELs, SOA_TO,
 * its ADDs; the SOAs mark the diff's serials (SOA_TO also replaces the zone's SOA). */
enum xfrp_op { XFRP_SOA_FROM, XFRP_DEL, XFRP_SOA_TO, XFRP_ADD };

struct xfrp_rr {
	uint8_t op; /* enum xfrp_op */
	uint8_t owner_len;
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	size_t off; /* in xfrp_diffs.data: the owner (lower-cased), then the RDATA (names expanded) */
};

/* The diffs of an IXFR answer (the records are the parser's to fill, anyone's to read). */
struct xfrp_diffs {
	uint32_t from, to; /* the serial of the first diff's start, of the last one's end */
	size_t ndiffs;
	size_t nrecords; /* deleted and added, SOAs not counted */
	struct xfrp_rr *rr;
	size_t nrr, caprr;
	uint8_t *data;
	size_t ndata, capdata;
};

/* Checks a datagram answering the SOA query q (qtype SOA): returns 1 when it is not our answer
 * (to be ignored), 0 with *serial set, or TERN_EIO / TERN_EMALF with err for an answer that says
 * no (rcode, no AA bit, TC, no SOA, TSIG). */
int xfrp_soa_answer(const struct xfrp_query *q, const uint8_t *msg, size_t len, uint32_t *serial, char *err,
                    size_t errlen);
/* "NOERROR", "REFUSED"..., or "RCODE<n>" written into buf. */
const char *xfrp_rcode_name(unsigned rcode, char buf[16]);

struct xfrp;

/* A parser for the answer to q (copied; q->from must outlive the parser). Returns 0 or
 * TERN_ENOMEM. */
int xfrp_new(const struct xfrp_query *q, struct xfrp **out);
/* Feeds the next message of the answer. Returns 0 when more messages must follow, 1 when the
 * answer is complete (TSIG end() done), or a negative TERN_E* with err naming the primary and the
 * problem: TERN_EIO for a refusal (rcode), TERN_EMALF for a broken or foreign message or a broken
 * diff chain, TERN_ENOMEM. After an error or completion nothing more may be fed. */
int xfrp_feed(struct xfrp *p, const uint8_t *msg, size_t len, char *err, size_t errlen);
/* After xfrp_feed() returned 1: what the answer holds. XFRP_ZONE builds the snapshot into *zone
 * (zone_build's checks: TERN_EZONE with err on failure); XFRP_DIFFS hands over *diffs (free them
 * with xfrp_diffs_free). *serial gets the primary's serial in every case. Once only. */
int xfrp_finish(struct xfrp *p, enum xfrp_outcome *outcome, uint32_t *serial, struct zone **zone,
                struct xfrp_diffs **diffs, char *err, size_t errlen);
/* Messages and records taken so far (AXFR: the closing SOA not counted; IXFR: as nrecords). */
size_t xfrp_messages(const struct xfrp *p);
size_t xfrp_records(const struct xfrp *p);
void xfrp_free(struct xfrp *p);

/* Derives the next snapshot of cur by applying the diffs in order, RRset by RRset (zone_apply,
 * so only the touched names are copied). The chain must start at cur's serial, every deleted
 * record must be in the zone at that point (RDATA names compared without case), and the result
 * must pass the zone's rules and hold the final serial; otherwise nothing is built and err says
 * why (TERN_EZONE, or TERN_ENOMEM). The result must be published (zones_publish, which
 * supersedes cur) or thrown away with zone_discard(). */
int xfrp_apply(const struct zone *cur, const struct xfrp_diffs *d, struct zone **out, char *err, size_t errlen);
void xfrp_diffs_free(struct xfrp_diffs *d);

/* Copies the RDATA at msg[rd..rd+rdlen) into out (cap octets, and NAME_MAXLEN spare after them)
 * with the names RFC 3597 lets a sender compress expanded. Returns the length or TERN_EMALF. */
int xfrp_rdata_expand(uint16_t type, const uint8_t *msg, size_t len, size_t rd, uint16_t rdlen, uint8_t *out,
                      size_t cap);
/* Whether two RDATA of type are the same record: bytes equal, names inside compared without case. */
bool xfrp_rdata_equal(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
