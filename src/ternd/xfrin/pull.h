/* The wire side of a secondary: a primary's SOA serial over UDP, a whole zone by AXFR (RFC 5936)
 * and the changes since our version by IXFR (RFC 1995) over TCP, one at a time or several
 * pipelined on one connection (pull_pipeline); xfr_parse.c checks the answers. A tls:// primary
 * is asked everything over TLS (XoT, RFC 9103: the SOA query too), its certificate checked
 * (tls_client.h) before a query is written; the handshake runs non-blocking under the same
 * deadlines.
 * Blocking calls for the transfer workers, bounded by deadlines that arriving bytes never extend
 * (connect and query 10 s, each message of an answer 10 s, a whole transfer 10 min), so a primary
 * that trickles cannot hold it; every wait also watches stop_fd, which turns readable when ternd
 * stops. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/tls_client.h"
#include "lib/zone.h"
#include "ternd/base/config.h"
#include "lib/xfr_parse.h"

/* struct pull_tsig (the TSIG hook of a peer) lives in xfr_parse.h, which checks the answers. */

/* TCP connections to primaries kept open between transfers (RFC 7766 6.2.1, RFC 5936 4.1: several
 * queries on one connection, one after the other or pipelined: pull_pipeline), one per primary
 * address, owned by one thread.
 * Before reuse a connection the primary closed is noticed (and replaced); one idle longer than
 * PULL_CONN_IDLE_MS, one whose transfer failed, and all at pull_conns_close() are closed. */
#define PULL_CONNS_MAX 16 /* primaries kept at once; the one unused longest makes room */
#define PULL_CONN_IDLE_MS 3000 /* below the usual 10 s server idle timeout */
struct pull_conn {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd; /* -1: none */
	SSL *ssl; /* a tls:// primary's session on fd; NULL: plain TCP */
	struct tls_client *tls; /* its settings (a reference): only a peer with the same may use it */
	SSL_SESSION *session; /* the last session's ticket (owned), resumed by the next connection */
	uint64_t used; /* ev_clock_ms() when its last answer ended */
};
struct pull_conns {
	size_t n;
	struct pull_conn slot[PULL_CONNS_MAX];
	size_t opened; /* connections made, for tests and logs */
	size_t resumed; /* of them, TLS sessions resumed (RFC 8446 2.2: no certificate sent again) */
	size_t batches, pipelined; /* pull_pipeline() calls, and the transfers they asked for */
};
/* Empty: no connection open. */
void pull_conns_init(struct pull_conns *c);
/* Closes the connections idle since before now - PULL_CONN_IDLE_MS; returns how many stay open. */
size_t pull_conns_expire(struct pull_conns *c, uint64_t now);
/* Closes every connection. */
void pull_conns_close(struct pull_conns *c);

struct pull_peer {
	const struct config_listen *addr; /* the primary */
	/* addr->tls: how the primary is authenticated (XoT, RFC 9103); SOA queries go over TLS too */
	struct tls_client *tls;
	const struct pull_tsig *tsig; /* NULL = no TSIG */
	int stop_fd; /* readable = give up now; -1 = none */
	struct pull_conns *conns; /* where AXFR and IXFR keep their connection; NULL: one each */
};

/* What a transfer took, for the log. */
struct pull_stats {
	size_t messages, records, bytes;
};

/* Asks the primary for the zone's SOA over UDP (a few tries; a tls:// primary over TLS, once) and
 * gives its serial. The answer must be authoritative and NOERROR. Returns 0, or TERN_EIO / TERN_EMALF with err saying
 * why. */
int pull_soa_serial(const struct pull_peer *peer, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen);
/* Transfers the zone by AXFR over TCP and builds a snapshot from it (zone_build's checks). Only a
 * complete transfer (one message ID, NOERROR, SOA first and last with the same serial) gives a
 * zone; anything else returns TERN_EIO, TERN_EMALF, TERN_EZONE or TERN_ENOMEM with err filled. */
int pull_axfr(const struct pull_peer *peer, const uint8_t *apex, struct zone **out, struct pull_stats *stats, char *err,
              size_t errlen);

/* The SOA of the version we hold, which an IXFR query carries in its authority section. */
struct pull_soa {
	uint32_t ttl;
	uint16_t len;
	uint8_t rdata[2 * NAME_MAXLEN + 20];
};

/* What an IXFR brought: nothing (the primary has nothing newer), the whole zone (a primary may
 * answer AXFR-style), or diffs for xfrp_apply(). */
struct pull_ixfr_result {
	enum xfrp_outcome outcome;
	uint32_t serial; /* the primary's */
	struct zone *zone; /* XFRP_ZONE */
	struct xfrp_diffs *diffs; /* XFRP_DIFFS */
};

/* Fills soa from a snapshot's SOA. */
void pull_soa_of(const struct zone *z, struct pull_soa *soa);
/* Asks for the changes since our version (soa) by IXFR over TCP and reads the whole answer
 * (xfr_parse.c: a lone SOA, diffs chaining from our serial to the primary's, or the whole zone).
 * Nothing is applied here: the caller applies the diffs (xfrp_apply) to the snapshot they start
 * from. Returns 0 with *out filled (the caller frees its zone or diffs), or TERN_EIO, TERN_EMALF,
 * TERN_EZONE or TERN_ENOMEM with err filled and nothing to free. */
int pull_ixfr(const struct pull_peer *peer, const uint8_t *apex, const struct pull_soa *soa,
              struct pull_ixfr_result *out, struct pull_stats *stats, char *err, size_t errlen);

/* ---- several transfers pipelined on one connection ---- */

/* One transfer of a pipelined batch: AXFR (soa NULL) or IXFR from our version soa, each with its
 * own TSIG chain. */
struct pull_item {
	const uint8_t *apex;
	const struct pull_soa *soa; /* IXFR; NULL: AXFR */
	const struct pull_tsig *tsig; /* NULL = unsigned */
	/* what came: rc 0 with res filled (an AXFR gives XFRP_ZONE; the caller frees its zone or
	 * diffs), or a negative TERN_E* with err filled and nothing to free */
	int rc;
	struct pull_ixfr_result res;
	struct pull_stats stats;
	char *err;
	size_t errlen;
};
#define PULL_PIPELINE_MAX 32 /* transfers asked for at once on one connection */

/* Asks the primary for n (<= PULL_PIPELINE_MAX) transfers at once on its kept connection (a new
 * one when there is none; peer->conns must be set, peer->tsig is unused): every query written,
 * then the answers read through one buffer, each message routed to its transfer by message ID
 * (RFC 7766 6.2.1.1: answers to different queries may interleave, the messages of one come in
 * order). Each transfer has the deadlines of one (a message within 10 s, a whole transfer within
 * 10 min) and fails alone (a refusal, bad TSIG, a broken answer or zone). A message for no query
 * of ours, a deadline passed or stop ends the connection and fails what is outstanding; when the
 * primary closes it, the transfers not begun are asked again on a new connection (once when no
 * answer came on it). The connection is kept when every answer ended cleanly. */
void pull_pipeline(const struct pull_peer *peer, struct pull_item *items, size_t n);
