/* dnstap (https://dnstap.info): each answering thread hands what it answered to a ring of its own
 * (no allocation, lock or system call); the ternd-dnstap thread drains the rings, encodes the
 * AUTH_QUERY and AUTH_RESPONSE messages and writes them as Frame Streams to a socket or a file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ternd/base/config.h"

struct dnstap;
struct dnstap_ring;

enum dnstap_proto { DNSTAP_UDP = 1, DNSTAP_TCP = 2, DNSTAP_DOT = 3 }; /* dnstap.proto's SocketProtocol */

/* One exchange as the query path saw it. */
struct dnstap_exchange {
	enum dnstap_proto proto;
	const struct sockaddr *client; /* the query's source */
	const struct sockaddr *local; /* where it was received; NULL: not known */
	const uint8_t *query;
	size_t qlen;
	const uint8_t *response; /* NULL/0: no response sent */
	size_t rlen;
	struct timespec qtime; /* when the query was taken (CLOCK_REALTIME) */
	const uint8_t *zone; /* the zone the answer came from (wire form); NULL: none */
};

/* Starts the writer thread for conf (conf->enabled). The output is opened by that thread (and
 * opened again after a failure, with backoff): a socket not there yet is not an error. */
int dnstap_start(struct dnstap **out, const struct config_dnstap *conf, char *err, size_t errlen);
/* Stops the thread after it wrote what the rings hold (at most a second more) and frees all.
 * Every ring must have been given back. NULL: nothing. */
void dnstap_stop(struct dnstap *d);

/* A ring for one answering thread (made or reused outside the query path); NULL when d is NULL
 * or out of memory (that thread then logs nothing). */
struct dnstap_ring *dnstap_ring_take(struct dnstap *d);
/* The thread is done with r (its messages are still written). NULL: nothing. */
void dnstap_ring_give(struct dnstap_ring *r);
/* Whether r logs queries / responses (the query path reads the clock only when it does). */
bool dnstap_ring_wants(const struct dnstap_ring *r);

/* The query path: copies x into r's next slot. A full ring, or messages too large for a slot,
 * drop the exchange and count it. No allocation, lock or system call. */
void dnstap_log(struct dnstap_ring *r, const struct dnstap_exchange *x);

/* Counters for /metrics (any thread). */
struct dnstap_counts {
	uint64_t sent; /* messages written to the output */
	uint64_t dropped_full; /* exchanges not logged: ring full (output absent or slow) */
	uint64_t dropped_large; /* exchanges not logged: query and response larger than a slot */
	uint64_t dropped_output; /* messages taken from a ring but lost when the output failed */
	uint64_t connects; /* outputs opened (the first and each reconnection) */
	bool connected;
};
void dnstap_counts(struct dnstap *d, struct dnstap_counts *c);

/* The encoding (dnstap_encode.c), pure: one Dnstap protobuf message of type MESSAGE. */
struct dnstap_msg {
	int type; /* DNSTAP_AUTH_QUERY or DNSTAP_AUTH_RESPONSE */
	int family; /* 1 INET, 2 INET6; 0: none */
	int proto; /* enum dnstap_proto; 0: none */
	const uint8_t *qaddr, *raddr; /* 4 or 16 bytes by family; NULL: none */
	uint16_t qport, rport;
	bool has_rport;
	uint64_t qsec, rsec;
	uint32_t qnsec, rnsec;
	bool has_qtime, has_rtime;
	const uint8_t *query, *response;
	size_t qlen, rlen;
	const uint8_t *zone; /* wire form; NULL: none */
	size_t zone_len;
	const uint8_t *identity, *version;
	size_t identity_len, version_len;
};
enum { DNSTAP_AUTH_QUERY = 1, DNSTAP_AUTH_RESPONSE = 2 };
/* Writes m into out (cap bytes); returns its length, or 0 when it does not fit. */
size_t dnstap_encode(const struct dnstap_msg *m, uint8_t *out, size_t cap);
