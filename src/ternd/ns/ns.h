/* Internals of the query path shared by query.c (message handling), edns.c (EDNS policy),
 * internet.c (lookups and their outcomes), answer_write.c (the RRset writer and the additional
 * section) and answer_dnssec.c (DNSSEC records of an answer). One struct query lives on the
 * worker's stack per message. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/edns.h"
#include "lib/name.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "ternd/ns/query.h"
#include "ternd/ns/tsig_query.h"
#include "ternd/zones/server.h"

struct answer_rrs; /* ternd/dyn/answer.h */

/* Names that still want their addresses in the additional section. */
#define NS_MAX_EXTRA 32
/* Lookups of one question: the name asked, then the names of a CNAME/DNAME chain. */
#define NS_MAX_CHAIN 16

struct query {
	const struct server *srv;
	const struct ns_params *params;
	const struct query_client *client;

	/* request */
	const uint8_t *msg; /* the request as received (len octets) */
	size_t len;
	uint16_t qtype, qclass;
	const uint8_t *qname; /* as received, case kept: in the request when not compressed, else qbuf */
	uint8_t qbuf[NAME_MAXLEN];
	uint8_t lname[NAME_MAXLEN]; /* lower-cased */
	size_t qname_len;
	uint32_t qhashes[NAME_MAXLABELS + 1]; /* name_suffix_hashes() of lname, qlabels of them */
	int qlabels;

	/* EDNS of the request (edns.c): opt is read only when edns is set, but for dnssec_ok */
	bool edns;
	struct edns_request opt;
	struct edns_ecs ecs; /* the client's Client Subnet when well-formed; family 0 when none */
	/* DNS cookies (edns.c): the client's COOKIE option when well-formed (client NULL when none),
	 * whether its server cookie is one of ours and fresh, and the option we send back (client
	 * cookie | a new server cookie; cookie_back false: none) */
	struct edns_cookie cookie;
	bool cookie_valid, cookie_back;
	uint8_t cookie_out[EDNS_COOKIE_CLIENT + EDNS_COOKIE_SERVER];

	/* TSIG of the request (tsig_query.c): only looked at when the additional section ends with one */
	bool tsig_seen;
	struct ns_tsig tsig;
	/* the key of a verified UPDATE, copied: the update may wait offline (change_commit) while a
	 * reload frees the parameters the request was verified against, and its answer is signed
	 * after (query.c answer_update) */
	struct tsig_key update_key;

	/* response */
	struct wire_writer w;
	size_t opt_reserve; /* bytes kept free for our OPT record */
	uint16_t rcode; /* full 12-bit rcode */
	bool aa, tc;
	uint16_t count[3]; /* answer, authority, additional */
	uint16_t ede; /* Extended DNS Error code or EDE_NONE */
	const char *ede_text; /* its EXTRA-TEXT (UTF-8), or NULL (an UPDATE's refusal: in ede_text_buf) */
	char ede_text_buf[160];
	const uint8_t *ede_zone; /* the apex (lower case) of the zone of ours the EDE is about, or NULL */
	size_t ede_zone_len;
	bool full; /* a section ran out of room: add nothing more */
	uint8_t ecs_scope; /* the narrowest ECS scope of the RRsets written (RFC 7871 7.2.1); 0: for all */

	/* answering from zones (internet.c, answer_write.c) */
	const struct zone *zone; /* the zone being answered from (scope for additional data) */
	const struct zone *asked; /* the zone the question fell in (the first of a chain): usage counts by it */
	struct {
		const uint8_t *name;
		const struct zone *zone;
		bool required; /* in-domain glue of a referral: TC when it does not fit (RFC 9471) */
	} extra[NS_MAX_EXTRA];
	int nextra;
	const struct zone_node *dnames[4]; /* DNAMEs already in the answer: written once */
	int ndnames;
	const uint8_t *dyn_target; /* the target of the last CNAME a DYN resource chose for this client
	                            * (ns_put_selected), in the zone snapshot: the chain follows it */
};

enum ns_section { SEC_ANSWER = 0, SEC_AUTHORITY = 1, SEC_ADDITIONAL = 2 };

/* The outcome of one lookup of a name in a zone (RFC 1034 4.3.2 step 3): each has its own
 * writer in internet.c. NS_CNAME and NS_DNAME are the two that follow a chain to a next name. */
enum ns_outcome {
	NS_HIT, /* the name holds the type asked (or ANY was asked and it holds something) */
	NS_NODATA, /* the name exists without the type (RFC 2308 2.2) */
	NS_NXDOMAIN, /* no such name, and no wildcard stands for it (RFC 2308 2.1) */
	NS_DELEGATION, /* a zone cut at or above the name: a referral (step 3b) */
	NS_CNAME, /* the name holds a CNAME: written, then its target followed (step 3a) */
	NS_DNAME, /* a DNAME above the name: written with its CNAME, the new name followed (RFC 6672) */
};

/* What one lookup found: the outcome and the nodes a proof of it needs (answer_dnssec.c). */
struct ns_lookup {
	enum ns_outcome outcome;
	const struct zone *zone;
	const uint8_t *name; /* the name looked up, lower-cased */
	/* HIT, NODATA, CNAME: the node answering (the wildcard when one stands for the name);
	 * NXDOMAIN: the closest encloser; DELEGATION: the cut; DNAME: the DNAME's node */
	const struct zone_node *node;
	const struct zone_node *encloser; /* the deepest existing name at or above the one looked up */
	const struct rrset *rrset; /* HIT: the type's RRset (NULL for ANY); CNAME, DNAME: that RRset */
	bool wildcard; /* node is the wildcard that stands for the name (RFC 4592) */
	struct rrset dyn; /* HIT on a DYN resource: the RRset standing for the type (rrset points here) */
};

/* edns.c: the EDNS policy. Takes the OPT record of the request (class, TTL and RDATA given);
 * returns RCODE_NOERROR or RCODE_FORMERR: for a malformed OPT with q->edns left false, for a
 * malformed Client Subnet (or one with a non-zero SCOPE, RFC 7871 6 and 7.2.1) with q->edns set,
 * so the FORMERR carries our OPT. A well-formed Client Subnet lands in q->ecs. */
int ns_edns_parse(struct query *q, uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
/* Bytes kept for our OPT record (so sections leave room for it; over TCP not for the NSID), the
 * client's Client Subnet included: it goes back in every answer to a client that sent one. */
size_t ns_edns_reserve(const struct query *q);
/* Notes an answer-section RRset about to be written with an ECS scope (RFC 7871): the answer's
 * scope becomes the narrowest (longest) of its RRsets', as the whole answer holds only where each
 * of them does. The option's room is kept from the start (ns_edns_reserve), so a tailored RRset
 * never goes without it. Inline: every dynamic answer comes through here. */
static inline void ns_edns_scope(struct query *q, uint8_t scope)
{
	if (scope > q->ecs_scope)
		q->ecs_scope = scope;
}
/* Appends our OPT record: the extended rcode bits, DO, the NSID and EDE when due, and to a client
 * that sent a Client Subnet its FAMILY, SOURCE and ADDRESS with the answer's scope (0 for an
 * empty answer section or SOURCE 0, RFC 7871 7.1.2, 7.4); without the NSID when it does not fit. */
int ns_edns_write(struct query *q);

/* limit.c: who gets the answer written so far (UDP): a client without a valid server cookie gets
 * BADCOOKIE or TC=1 for an answer over cookies.require-size; then response rate limiting of
 * answers to queries (opcode QUERY), which may leave the header and question alone with TC=1
 * (slipped). Returns false when the response is to be dropped. question_end: where the echoed
 * question ends in q->w. */
bool ns_limit(struct query *q, unsigned opcode, size_t question_end);

/* internet.c: answers a class IN question from the zones. */
void ns_answer_internet(struct query *q);

/* answer_write.c: writes one RRset (owner as given, records as dyn chooses them for the client)
 * into a section; on lack of room sets TC (answer and authority) or silently skips (additional).
 * Returns false when it did not fit. */
bool ns_put_rrset(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs);
/* ns_put_rrset() of records already chosen for this client (sel) from the zone's RRset rs. */
bool ns_put_selected(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                     const struct answer_rrs *sel);
/* Remembers a target name for additional-section addresses, looked up in the current zone. */
void ns_want_extra(struct query *q, const uint8_t *name);
/* Writes the addresses of the remembered names into the additional section. */
void ns_put_extras(struct query *q);

/* answer_dnssec.c: whether DNSSEC records go with answers from z (a DO query, a signed zone). */
bool ns_dnssec_wanted(const struct query *q, const struct zone *z);
/* ns_put_answer() for a DO query: the RRset, then (from a signed zone) the RRSIGs at node that
 * cover its type. In answer and authority the two go together or not at all (TC). */
bool ns_put_signed(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                   const struct zone *z, const struct zone_node *node);
/* Writes an RRset of zone z held at node (owner as it is to be written) with its signatures when
 * they are wanted (RFC 4035 3.1.1); a query without DO pays one test. */
static inline bool ns_put_answer(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                                 const struct zone *z, const struct zone_node *node)
{
	if (!q->opt.dnssec_ok)
		return ns_put_rrset(q, sec, owner, rs);
	return ns_put_signed(q, sec, owner, rs, z, node);
}
/* The proofs stage, for DO queries: after the answer section (the lookups of the chain in order,
 * n of them, n >= 1), before the additional section, the DNSSEC records that prove the outcomes of
 * the steps from signed zones: the DS of a secure referral; NSEC or NSEC3 records (with their
 * RRSIGs, each once) for negative answers, wildcard answers and insecure referrals. */
void ns_put_proofs(struct query *q, const struct ns_lookup *steps, int n);
