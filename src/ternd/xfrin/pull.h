/* The wire side of a secondary: a primary's SOA serial over UDP, and a whole zone by AXFR over
 * TCP (RFC 5936) parsed into a validated snapshot. Blocking calls with timeouts, for the refresh
 * thread; every wait also watches stop_fd, which turns readable when ternd stops. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/zone.h"
#include "ternd/config.h"

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

struct pull_peer {
	const struct config_listen *addr; /* the primary */
	const struct pull_tsig *tsig; /* NULL = no TSIG */
	int stop_fd; /* readable = give up now; -1 = none */
};

/* What a transfer took, for the log. */
struct pull_stats {
	size_t messages, records, bytes;
};

/* Asks the primary for the zone's SOA over UDP (a few tries) and gives its serial. The answer must
 * be authoritative and NOERROR. Returns 0, or TERN_EIO / TERN_EMALF with err saying why. */
int pull_soa_serial(const struct pull_peer *peer, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen);
/* Transfers the zone by AXFR over TCP and builds a snapshot from it (zone_build's checks). Only a
 * complete transfer (one message ID, NOERROR, SOA first and last with the same serial) gives a
 * zone; anything else returns TERN_EIO, TERN_EMALF, TERN_EZONE or TERN_ENOMEM with err filled. */
int pull_axfr(const struct pull_peer *peer, const uint8_t *apex, struct zone **out, struct pull_stats *stats, char *err,
              size_t errlen);
