/* The zone model: an immutable snapshot of one zone (nodes, RRsets, a hash index) and the
 * builder that validates records and produces it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/name.h"

/* One RRset. rdata holds count records, each a 16-bit big-endian length then the bytes. */
struct rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	const uint8_t *rdata;
	uint32_t rdata_size; /* bytes in rdata, lengths included */
	uint16_t dyn;        /* dynamic answer resolver id; 0 = static data */
};

enum zone_node_flags {
	NODE_APEX = 1 << 0,
	NODE_DELEG = 1 << 1,         /* NS below the apex: a zone cut */
	NODE_DNAME = 1 << 2,
	NODE_CNAME = 1 << 3,
	NODE_ENT = 1 << 4,           /* empty non-terminal: exists, holds nothing */
	NODE_WILDCARD_CHILD = 1 << 5, /* "*.<this name>" exists */
	NODE_NONAUTH = 1 << 6,       /* below a zone cut: glue or occluded data */
};

struct zone_node {
	const uint8_t *owner; /* lower-cased wire name */
	const struct zone_node *parent; /* NULL at the apex */
	const struct rrset *rrsets;     /* sorted by type */
	uint16_t nrrsets;
	uint16_t flags;
	uint8_t owner_len;
	uint8_t labels;
};

struct zone {
	const uint8_t *apex; /* lower-cased wire name */
	uint8_t apex_len;
	uint8_t apex_labels;
	uint32_t serial;
	const struct zone_node *apex_node;
	const struct rrset *soa;
	const struct zone_node *nodes; /* canonical (RFC 4034) order */
	size_t nnodes;
	size_t nrecords;
	const uint32_t *index; /* open addressing: node position + 1, 0 = empty */
	uint32_t index_mask;
	struct arena mem; /* everything above lives here */
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

/* Exact lookup of a lower-cased name; NULL when absent. */
const struct zone_node *zone_find(const struct zone *z, const uint8_t *lname, size_t len);
/* The deepest existing node at or above the lower-cased name (the apex at worst; the name must
 * be inside the zone). *exact tells whether it is the name itself. */
const struct zone_node *zone_find_encloser(const struct zone *z, const uint8_t *lname, bool *exact);
/* The same with the name's suffix hashes already computed (name_suffix_hashes()). */
const struct zone_node *zone_find_encloser_hashed(const struct zone *z, const uint8_t *lname, const uint32_t *hashes,
                                                  int labels, bool *exact);
const struct rrset *zone_node_rrset(const struct zone_node *n, uint16_t type);
/* Child "*.<node>" when NODE_WILDCARD_CHILD is set. */
const struct zone_node *zone_wildcard_child(const struct zone *z, const struct zone_node *n);
/* Minimum TTL for negative answers, RFC 2308 section 5: min(SOA TTL, SOA MINIMUM). */
uint32_t zone_negative_ttl(const struct zone *z);
void zone_free(struct zone *z);

/* Collects records, then validates them and builds a snapshot. */
struct zone_builder;

struct zone_builder *zone_builder_new(const uint8_t *apex);
/* Adds one record; line is kept for error messages (0 when there is none). */
int zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen, uint32_t line);
/* Names the file the next records come from (for $INCLUDE); NULL = the main source. */
int zone_builder_set_file(struct zone_builder *b, const char *file);
/* Validates and builds. RRset TTLs that differ count as the lowest (RFC 2181 5.2). On failure returns TERN_EZONE (or TERN_ENOMEM) and writes every problem
 * found, one per line, as "source:line: message" into err. The builder is consumed either way. */
int zone_build(struct zone_builder *b, const char *source, struct zone **out, char *err, size_t errlen);
void zone_builder_free(struct zone_builder *b);
