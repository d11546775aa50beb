/* Internals of the query path shared by query.c (message handling), edns.c and internet.c
 * (answering class IN from zones). One struct query lives on the worker's stack per message. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/name.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "ternd/ns/query.h"
#include "ternd/ns/tsig_query.h"
#include "ternd/zones/server.h"

#define EDE_NONE 0xffff
#define EDE_NOT_AUTHORITATIVE 20
#define EDE_NOT_SUPPORTED 21
#define EDE_PROHIBITED 18
#define EDE_OTHER 0

#define OPT_NSID 3
#define OPT_EDE 15

/* Names that still want their addresses in the additional section. */
#define NS_MAX_EXTRA 32

struct query {
	const struct server *srv;
	const struct ns_params *params;
	const struct query_client *client;

	/* request */
	uint16_t qtype, qclass;
	uint8_t qname[NAME_MAXLEN]; /* as received: case kept */
	uint8_t lname[NAME_MAXLEN]; /* lower-cased */
	size_t qname_len;

	/* EDNS of the request (edns.c) */
	bool edns;
	uint8_t edns_version;
	bool edns_do;
	bool nsid_wanted;
	uint16_t edns_udp; /* the client's payload size */

	/* TSIG of the request (tsig_query.c): only looked at when the additional section ends with one */
	bool tsig_seen;
	struct ns_tsig tsig;

	/* response */
	struct wire_writer w;
	size_t opt_reserve; /* bytes kept free for our OPT record */
	uint16_t rcode; /* full 12-bit rcode */
	bool aa, tc;
	uint16_t count[3]; /* answer, authority, additional */
	uint16_t ede; /* Extended DNS Error code or EDE_NONE */
	bool full; /* a section ran out of room: add nothing more */

	const struct zone *zone; /* the zone being answered from (scope for additional data) */
	struct {
		const uint8_t *name;
		const struct zone *zone;
		bool required; /* in-domain glue of a referral: TC when it does not fit (RFC 9471) */
	} extra[NS_MAX_EXTRA];
	int nextra;
	const struct zone_node *dnames[4]; /* DNAMEs already in the answer: written once */
	int ndnames;
};

enum ns_section { SEC_ANSWER = 0, SEC_AUTHORITY = 1, SEC_ADDITIONAL = 2 };

/* edns.c: parses the OPT record at rdata/rdlen (owner and class/TTL fields given); returns
 * RCODE_NOERROR or RCODE_FORMERR. */
int edns_parse(struct query *q, uint16_t udp_size, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
/* Bytes kept for our OPT record (so sections leave room for it; over TCP not for the NSID). */
size_t edns_reserve(const struct query *q);
/* Appends our OPT record (with the extended rcode bits, NSID and EDE when due; without the NSID
 * when it does not fit). */
int edns_write(struct query *q);

/* internet.c: answers a class IN question from the zones. */
void ns_answer_internet(struct query *q);

/* query.c: writes one RRset (owner as given) into a section; on lack of room sets TC (answer
 * and authority) or silently skips (additional). Returns false when it did not fit. */
bool ns_put_rrset(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs);
/* Remembers a target name for additional-section addresses, looked up in the current zone. */
void ns_want_extra(struct query *q, const uint8_t *name);
/* Writes the addresses of the remembered names into the additional section. */
void ns_put_extras(struct query *q);
