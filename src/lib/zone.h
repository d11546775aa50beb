/* The zone model: an immutable snapshot of one zone (nodes holding RRsets, found through a
 * persistent hash trie), the builder that validates records into a first snapshot, and
 * zone_apply() that derives the next snapshot from a few changes without copying the zone. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/name.h"

/* One RRset. rdata holds count records, each a 16-bit big-endian length then the bytes.
 *
 * RRSIGs are held as one RRset per type they cover, each with its own TTL: RFC 4034 3 (and
 * RFC 4035 2.2) give an RRSIG the TTL of the RRset it covers, so the signatures at one name are
 * not one RRset in the sense of RFC 2181 5.2 (whose lowest-TTL rule then applies within each
 * covered type only). A node's rrsets are sorted by (type, covered), so its RRSIG groups sit side
 * by side. Why groups and not a TTL per record: struct rrset stays 24 bytes (covered fills what was
 * padding), unsigned zones and queries without DO do exactly the work they did before, and an
 * answer that carries the signatures of an RRset writes one group as it stands (no per-query
 * filtering of a name's signatures, as Knot's knot_synth_rrsig does). */
struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	const uint8_t *rdata;
	uint32_t rdata_size; /* bytes in rdata, lengths included */
	uint16_t dyn; /* dynamic answer resolver id; 0 = static data */
	uint16_t covered; /* RRSIG: the type its signatures cover (every record's first field); else 0 */
};

enum zone_node_flags {
	NODE_APEX = 1 << 0,
	NODE_DELEG = 1 << 1, /* NS below the apex: a zone cut */
	NODE_DNAME = 1 << 2,
	NODE_CNAME = 1 << 3,
	NODE_ENT = 1 << 4, /* empty non-terminal: exists, holds nothing */
	NODE_HEAP = 1 << 5, /* allocated on its own by zone_apply(), not in the zone's arena */
	NODE_FRESH = 1 << 6, /* made by the zone_apply() running: seen by no one yet, so it may change in
	                      * place; cleared before zone_apply() returns */
	NODE_NSEC = 1 << 7, /* holds an NSEC RRset: a member of the zone's NSEC order */
	NODE_NSEC3 = 1 << 8, /* holds an NSEC3 RRset: a member of the zone's NSEC3 order */
};

/* A name of the zone. Immutable and shared between snapshots: it holds nothing that depends on
 * other names except the count of its children (so empty non-terminals can come and go). */
struct zone_node {
	const uint8_t *owner; /* lower-cased wire name */
	const struct rrset *rrsets; /* sorted by type */
	uint32_t hash; /* name_hash(owner) */
	uint32_t children; /* names exactly one label below */
	uint16_t nrrsets;
	uint16_t flags;
	uint8_t owner_len;
	uint8_t labels;
};

struct zone_mem; /* the arena a lineage of snapshots shares */
struct zone_garbage;
struct zone_order; /* an ordered view of some nodes (zone_order.c) */

struct zone {
	const uint8_t *apex; /* lower-cased wire name */
	uint8_t apex_len;
	uint8_t apex_labels;
	uint32_t serial;
	/* the zone's number while it is served (zones_publish sets it: the same for every version, a
	 * new one when a removed zone comes back, never reused); 0 before it is published. Counters
	 * kept by zone (usage) are keyed by it. */
	uint64_t uid;
	uint32_t negative_ttl; /* RFC 2308 5: min(SOA TTL, SOA MINIMUM), set with the apex */
	const struct zone_node *apex_node;
	const struct rrset *soa;
	size_t nnodes; /* names, empty non-terminals included */
	size_t nrecords; /* records */
	uintptr_t root; /* the hash trie (zone.c) */
	/* the names holding NSEC, and those holding NSEC3, in canonical order (zone_order.c); NULL
	 * when there are none, so an unsigned zone has no index and its changes do no work for one */
	const struct zone_order *nsec_order;
	const struct zone_order *nsec3_order;
	/* writer-side bookkeeping, never read by queries */
	struct zone_mem *mem;
	const struct zone *base; /* the snapshot zone_apply() derived this one from */
	struct zone_garbage *fresh; /* heap objects first made for this snapshot */
	struct zone_garbage *retired; /* objects of the predecessor this snapshot no longer uses */
	struct zone_garbage *garbage; /* set when superseded: what the successor dropped */
	bool superseded; /* a successor derived from this one is serving */
};

/* RDATA iteration: a record is a 2-byte length then the data. */
static inline uint16_t rdata_len(const uint8_t *rec)
{
	return (uint16_t)(rec[0] << 8 | rec[1]);
}
static inline const uint8_t *rdata_bytes(const uint8_t *rec)
{
	return rec + 2;
}
static inline const uint8_t *rdata_next(const uint8_t *rec)
{
	return rec + 2 + rdata_len(rec);
}

/* The largest RRset. A DNS message is at most 65,535 octets (RFC 1035 4.2.2), and an RRset goes
 * whole into an answer (RFC 2181 9): a response to a query for it -- the header (12 octets), the
 * question (the owner uncompressed, its type and class), each record with its owner compressed
 * to a 2-octet pointer (12 octets plus its RDATA), an OPT record with an Extended DNS Error (17)
 * and the largest TSIG record ternd signs with (364: a 255-octet key name and hmac-sha512) --
 * must fit one message. A wildcard's question may be any name below it, so its owner counts as
 * 255 octets. Such an RRset is answered over TCP to any query for it and goes into AXFR and IXFR
 * messages (one record a message at worst, TSIG included). Every producer of a snapshot (zone
 * files, the API, transfers in) refuses larger ones.
 *
 * RRSIGs: the bound holds for every signature at a name together, not for each group (the
 * RRSIGs of one covered type, struct rrset) alone. A query of type RRSIG is answered with every
 * group at the name in one message, so the union is what must fit (a group alone within the
 * bound could still make that answer TC with nothing in it, the failure the bound is there to
 * prevent); the API, the store and the journal take a name's signatures as one change
 * (zone_node_change(), 65535 records at most, which the bound guarantees as a record takes 12
 * octets at least); and zone_apply() sees an RRSIG change as every signature at the name, so
 * zone_build() judges the same union and a zone file, a transfer and an API change accept
 * exactly the same signatures. The union within the bound keeps each group within it too. */
#define ZONE_MSG_MAX 65535
#define ZONE_TSIG_MAX 364 /* tsig_space() of a 255-octet key name with hmac-sha512 */
#define ZONE_RRSET_OVERHEAD (12 + 4 + 17 + ZONE_TSIG_MAX) /* header, qtype+qclass, OPT+EDE, TSIG */

/* Octets of the response above for count records of rdata_size bytes (the rrset layout: lengths
 * included) at owner (wire): at most ZONE_MSG_MAX for an RRset a zone may hold. */
size_t zone_rrset_msg_size(const uint8_t *owner, uint32_t count, size_t rdata_size);

/* Exact lookup of a lower-cased name; NULL when absent. */
const struct zone_node *zone_find(const struct zone *z, const uint8_t *lname, size_t len);
/* The same with name_hash(lname) already known. */
const struct zone_node *zone_find_hashed(const struct zone *z, const uint8_t *lname, size_t len, uint32_t hash);
/* The deepest existing node at or above the lower-cased name (the apex at worst; the name must
 * be inside the zone). *exact tells whether it is the name itself. */
const struct zone_node *zone_find_encloser(const struct zone *z, const uint8_t *lname, bool *exact);
/* The same with the name's length (len) and suffix hashes already computed (name_suffix_hashes()). */
const struct zone_node *zone_find_encloser_hashed(const struct zone *z, const uint8_t *lname, size_t len,
                                                  const uint32_t *hashes, int labels, bool *exact);
/* The node's RRset of type, or NULL; for RRSIG the first group (see struct rrset). */
const struct rrset *zone_node_rrset(const struct zone_node *n, uint16_t type);
/* Every RRset of type at the node: the first, and *count of them side by side (RRSIG: one per
 * covered type; any other type: one). NULL and 0 when there is none. */
const struct rrset *zone_node_rrsets(const struct zone_node *n, uint16_t type, uint16_t *count);
/* The RRSIGs at the node that cover type, or NULL. */
const struct rrset *zone_node_rrsig(const struct zone_node *n, uint16_t covered);
/* The type an RRSIG record covers (its first field); 0 for RDATA too short to say. */
static inline uint16_t rrsig_covered(const uint8_t *rdata, uint16_t len)
{
	return len >= 2 ? (uint16_t)(rdata[0] << 8 | rdata[1]) : 0;
}
/* Where a search in an ordered view ended: the path from the root (on the caller's stack, so a
 * query allocates nothing), for stepping back with zone_order_prev(). */
#define ZONE_ORDER_DEPTH 24
struct zone_order_pos {
	const struct zone_order *path[ZONE_ORDER_DEPTH];
	uint8_t at[ZONE_ORDER_DEPTH];
	int depth; /* 0: the view is empty */
};
/* The name holding NSEC with the greatest owner <= lname (lower-cased, at or below the apex) in
 * canonical order (RFC 4034 6.1): the NSEC that matches or covers lname; the last one when lname
 * precedes them all (the chain is a ring). NULL when the zone holds no NSEC. O(log n), no
 * allocation. */
const struct zone_node *zone_nsec_cover(const struct zone *z, const uint8_t *lname, struct zone_order_pos *pos);
/* The same among the names holding NSEC3. Their owners are <base32hex hash>.<apex>, and base32hex
 * keeps the order of what it encodes, so for lname = nsec3_owner(hash) this is the NSEC3 with the
 * greatest hash <= hash. */
const struct zone_node *zone_nsec3_cover(const struct zone *z, const uint8_t *lname, struct zone_order_pos *pos);
/* The member before the one pos is at (the last before the first), pos moved to it; NULL when
 * the view is empty. */
const struct zone_node *zone_order_prev(struct zone_order_pos *pos);
/* The wildcard "*.<node>" if the zone has it. */
const struct zone_node *zone_wildcard_child(const struct zone *z, const struct zone_node *n);
/* Minimum TTL for negative answers, RFC 2308 section 5: min(SOA TTL, SOA MINIMUM). */
uint32_t zone_negative_ttl(const struct zone *z);
/* Whether the zone is DNSSEC-signed: its apex holds an RRSIG covering the SOA. A DNSKEY RRset
 * without signatures does not make a zone signed (Knot and NSD decide so too). DNSSEC records that
 * a question did not ask for (DS of a referral, RRSIG, NSEC, NSEC3) go only to DO queries for
 * signed zones (RFC 4035 3.1). */
bool zone_signed(const struct zone *z);
/* Calls fn for every node, in no particular order; stops when fn returns non-zero. */
int zone_foreach(const struct zone *z, int (*fn)(void *arg, const struct zone_node *n), void *arg);
/* Every node in canonical (RFC 4034) order, in a malloc'd array the caller frees. */
int zone_nodes_sorted(const struct zone *z, const struct zone_node ***out, size_t *n);
/* Frees a snapshot no reader can see any more. A superseded snapshot frees only what its
 * successor dropped; the last one of a lineage frees everything. */
void zone_free(struct zone *z);

/* Collects records, then validates them and builds a snapshot. */
struct zone_builder;

struct zone_builder *zone_builder_new(const uint8_t *apex);
/* Adds one record; line is kept for error messages (0 when there is none). */
int zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                     uint16_t rdlen, uint32_t line);
/* Names the file the next records come from (for $INCLUDE); NULL = the main source. */
int zone_builder_set_file(struct zone_builder *b, const char *file);
/* Validates and builds. RRset TTLs that differ count as the lowest (RFC 2181 5.2); RRSIGs keep
 * theirs per covered type (see struct rrset).
 * On failure returns TERN_EZONE (or TERN_ENOMEM) and writes every problem
 * found, one per line, as "source:line: message" into err. The builder is consumed either way. */
int zone_build(struct zone_builder *b, const char *source, struct zone **out, char *err, size_t errlen);
void zone_builder_free(struct zone_builder *b);
/* z built anew with its SOA serial set to serial, into *out; z is left as it is. Returns 0,
 * TERN_ENOMEM, or what zone_build() returns (err filled). */
int zone_with_serial(const struct zone *z, uint32_t serial, struct zone **out, char *err, size_t errlen);

/* One change for zone_apply(): replace the RRset (owner, type) with rdata (count records in the
 * rrset layout), or delete it when count is 0. For RRSIG the change replaces every signature at
 * the owner, and ttls (when not NULL) gives each record its own TTL: the RRSIGs are grouped by the
 * type they cover, each group with the lowest TTL of its records. For other types ttls, when
 * given, counts as its lowest value (RFC 2181 5.2). */
struct zone_change {
	const uint8_t *owner; /* wire name, any case */
	uint16_t type;
	uint32_t ttl;
	uint16_t count;
	const uint8_t *rdata;
	uint32_t rdata_size;
	const uint32_t *ttls; /* count TTLs, one per record; NULL = ttl for every record */
};

/* Every RRset of type at n as one change (the unit of the API, the store and the journal: for
 * RRSIG every signature at the name, each record with its group's TTL in ttls). Fills out with
 * malloc'd rdata and ttls (NULL for other types; free both), ttl the lowest. Returns 0,
 * TERN_ENOTFOUND when n holds no such RRset, TERN_ESPACE past 65535 records, or TERN_ENOMEM. */
int zone_node_change(const struct zone_node *n, uint16_t type, struct zone_change *out);

/* Why zone_apply() refused a batch or failed, as codes and an index (the caller names the change
 * in its own terms: an API field, an IXFR diff): code is what zone_apply() returned (TERN_EZONE
 * for a rule, TERN_ENOMEM); change is the index in changes of the change the first problem is
 * about (ZONE_APPLY_NO_CHANGE when the failure is no change's: out of memory); msg holds the
 * problems, first first, one a line, each naming its owner and type but not its index (cut when
 * full); problems counts them. */
#define ZONE_APPLY_NO_CHANGE SIZE_MAX
#define ZONE_APPLY_MSG_MAX 4096
struct zone_apply_error {
	int code;
	size_t change;
	unsigned problems;
	char msg[ZONE_APPLY_MSG_MAX];
};

/* Derives the next snapshot from prev with the changes applied, copying only the names they
 * touch and the trie path to them. The zone's rules are checked on every touched name (no
 * CNAME beside other data, one SOA at the apex, apex NS kept, names inside the zone, valid
 * RDATA); on any violation nothing is built and e (when not NULL) says which change broke which
 * rule. prev stays valid and unchanged. The result must be published (zone_supersede) or thrown
 * away (zone_discard). */
int zone_apply(const struct zone *prev, const struct zone_change *changes, size_t n, struct zone **out,
               struct zone_apply_error *e);
/* zone_apply() for callers that want its problems as text: err gets e's message, cut at errlen
 * ("out of memory" for TERN_ENOMEM). */
int zone_apply_text(const struct zone *prev, const struct zone_change *changes, size_t n, struct zone **out, char *err,
                    size_t errlen);
/* One RRset whose content differs between two versions of a zone, as zone_node_change() gives it:
 * old is every record the earlier one held at (owner, type) (NULL when none), now what the later
 * one holds (NULL when none); owner is lower-cased. For RRSIG that is every signature at the name,
 * each record with its own TTL in ttls (the unit of the API, the store and the journal). */
typedef int (*zone_diff_fn)(void *arg, const uint8_t *owner, uint16_t type, const struct zone_change *old,
                            const struct zone_change *now);
/* The difference zone_apply(prev, changes, n) made to reach next, RRset by RRset: fn is called
 * once per (owner, type) the changes name, in canonical order, when its records (as a set) or
 * their TTLs differ between prev and next (RRSIG: the signatures at the name, each with its TTL,
 * whichever covered types changed). prev with every old removed and every now added is next,
 * however the changes repeat, reorder, restate or cancel one another; RRsets they leave as they
 * were are not reported. A nonzero return from fn stops the walk and is returned; TERN_ENOMEM
 * (or TERN_ESPACE, see zone_node_change()) otherwise. */
int zone_diff(const struct zone *prev, const struct zone *next, const struct zone_change *changes, size_t n,
              zone_diff_fn fn, void *arg);
/* Every name whose node differs between two snapshots: fn(arg, old, now) with prev's node (NULL:
 * the name is new) and next's (NULL: gone). A node copied without a change to its RRsets (an
 * ancestor whose child count moved) may be reported too; nodes the two share are not. For next
 * derived from prev (zone_apply, directly or through versions between) the parts of the trie they
 * share are skipped whole, so the cost follows the changes, not the zone; for unrelated snapshots it
 * is a walk of both. A nonzero return from fn stops the walk and is returned. */
typedef int (*zone_changed_fn)(void *arg, const struct zone_node *old, const struct zone_node *now);
int zone_changed_nodes(const struct zone *prev, const struct zone *next, zone_changed_fn fn, void *arg);
/* Every name of z (empty non-terminals included), in no particular order: a nonzero return from
 * fn stops the walk and is returned. A walk of the whole zone. */
int zone_each_node(const struct zone *z, int (*fn)(void *arg, const struct zone_node *n), void *arg);
/* Records that next (derived from prev by zone_apply) replaced prev: prev's zone_free() will
 * then free only what next no longer uses. Call once next is serving. */
void zone_supersede(struct zone *prev, struct zone *next);
/* Frees a derived snapshot that was never published. */
void zone_discard(struct zone *next);
