/* The parent's DS RRset of a child zone, as a parent server answers a non-recursive query for it
 * (the KSK rollover's "is the new DS up?", Knot's ksk-submission check): the query made, the
 * answer checked as hostile input, and whether it holds the DS of a DNSKEY. No sockets. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dnssec.h"

#define DS_ANSWER_MAX 16 /* DS records kept from one answer (more are counted, not kept) */
#define DS_QUERY_MAX (12 + 255 + 4 + 11) /* header, question, OPT */

struct ds_answer {
	bool truncated; /* TC: nothing else was read; ask again over TCP */
	uint8_t rcode; /* NOERROR or NXDOMAIN (the parent has no such name: no DS) */
	size_t n; /* DS records kept */
	size_t total; /* DS records of the zone in the answer */
	uint16_t len[DS_ANSWER_MAX];
	uint8_t rdata[DS_ANSWER_MAX][DNSSEC_DS_MAX];
};

/* A query for zone's DS (class IN) with id, RD clear, EDNS0 with a 1232-octet payload, into buf
 * (DS_QUERY_MAX octets suffice). Returns its length, or TERN_ESPACE / TERN_ENAME. */
int ds_query(const uint8_t *zone, uint16_t id, uint8_t *buf, size_t cap);

/* Checks msg as the answer to ds_query(zone, id, ...): a response (QR) to a standard query with
 * the same ID and one question equal to it; TC set: out->truncated and 0 (nothing else is read);
 * RCODE NOERROR or NXDOMAIN; AA set (the parent's own data, not a cache's or a referral); then
 * the DS records of the answer section owned by zone (any case), each RDATA 5 to DNSSEC_DS_MAX
 * octets; other records are skipped. Returns 0, or TERN_EMALF (malformed: err says where) or
 * TERN_EINVAL (a well-formed message that is not the answer wanted: err says why). */
int ds_answer_parse(const uint8_t *msg, size_t len, const uint8_t *zone, uint16_t id, struct ds_answer *out, char *err,
                    size_t errlen);

/* Whether a holds a DS for the DNSKEY RDATA dnskey of zone: the same key tag, algorithm, digest
 * type and digest (computed here for SHA-256 and SHA-384; other digest types never match). */
bool ds_answer_has(const struct ds_answer *a, const uint8_t *zone, const uint8_t *dnskey, size_t dnskey_len);
