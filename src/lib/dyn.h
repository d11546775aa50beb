/* Dynamic answers as zone data: the DYN record type (private use, RFC 6895 3.1), the statements its
 * records hold, their compiled form, and the one selection function that picks an answer for a
 * client. Lookup, CNAME, wildcard and negative logic never see any of this: a name holding DYN
 * records answers A and AAAA through dyn_select() (ternd's answer path and `tern explain` call
 * the same code).
 *
 * A name's DYN RRset is one resource; each record is one statement, its tokens the record's
 * character-strings (the RDATA has TXT's wire form, RFC 1035 3.3.14). Statements are independent
 * of each other's order (an RRset is a set), so a change to one pool, weight or map entry is a
 * one-record change in IXFR and the journal.
 *
 *   pool NAME MEMBER...            MEMBER: ADDRESS [weight N] [monitor NAME]
 *                                  or TARGET [weight N] (an absolute domain name, ending in '.')
 *   answer POOL...                 the default pool list, in order (required)
 *   geo SUBNET POOL...             clients inside SUBNET get these pools, in order (longest
 *                                  prefix wins; SUBNET has no bits set past its prefix)
 *   geo country CC POOL...         clients the geo database places in country CC (ISO 3166-1
 *                                  alpha-2, or XK as MaxMind writes Kosovo)
 *   geo continent XX POOL...       ... in continent XX (MaxMind's codes: AF AN AS EU NA OC SA)
 *   monitor NAME tcp PORT [OPTION...]
 *   monitor NAME http|https URL [status N] [body TEXT] [OPTION...]
 *                                  OPTION: interval S | timeout S | up N | down N
 *
 * Name pools and CNAME resources: a pool's members are all addresses or all names. A resource
 * whose pools hold names is a CNAME resource (mixing name and address pools is refused): it
 * answers CNAME, for every client, never A or AAAA, so its node is a CNAME node (the zone rules of
 * a CNAME apply: nothing beside it but DNSSEC records, not at the apex). A name pool answers one
 * CNAME record, picked by weight (equal weights when none is given): a name pool is weighted. Its
 * members cannot be monitored (ternd does not resolve names): failover among name pools goes by
 * geo entries only. Names live in the IPv4 slot of the compiled form (F below is "CNAME" then).
 *
 * Selection for a client of family F (A: IPv4 members, AAAA: IPv6 members):
 *   1. The pool list, from the first rule that gives one: (a) the subnet entry with the longest
 *      prefix containing the client's address (the Client Subnet's, its source prefix capped at
 *      /24 and /56, else the query's source); (b) the `geo country` entry of the country the geo
 *      database gives the address; (c) the `geo continent` entry of its continent; (d) the
 *      `answer` list. A list without members of F stands aside for the next rule. The database
 *      is asked only when (a) gave nothing and the resource has country or continent entries; a
 *      client the database does not hold (or no database) goes on to (d): NOERROR, never
 *      NXDOMAIN.
 *   2. Failover: the first pool of the list with a live member of F (a member without a monitor
 *      is always live; a monitor's unknown state counts as up). When no pool has one, the
 *      fallback: every member of F of the first pool that has members of F (as gdnsd does).
 *   3. Within the pool: a weighted pool (any member with `weight`; others weigh 1) gives one live
 *      member of F, picked by weight; otherwise every live member of F.
 * The ECS scope is the number of leading address bits the choice depended on: 0 without geo
 * entries of F; a matched entry's prefix, or longer when a more specific entry lies inside it
 * that the client is not in; for an unmatched client, the shortest prefix around it that holds
 * no entry (never 0 when entries of F exist: a resolver would cache the default answer for the
 * mapped clients too, RFC 7871 7.3.1). When the database was asked, the scope is at least the
 * prefix length of the database network that held the address (or of the empty block around it,
 * for an address the database does not hold): the answer holds for that whole network.
 *
 * Signed zones: the RRsets a resource can answer are finite, so each is signed ahead (owner, type
 * A or AAAA, the DYN RRset's TTL) like any RRset, by the whole signing, the re-signing of a changed
 * DYN RRset, refreshes and key rollovers: for every pool reachable from a list, an unweighted
 * pool's whole family, a weighted pool's members each alone, and an unweighted pool's members each
 * alone when one of them is monitored. In a signed zone an unweighted pool with only some members
 * live cannot answer that unsigned subset: it answers one live member, picked uniformly by the
 * random number (load still spreads over the live ones). dyn_signed_choose() makes that choice
 * and names the RRset. The sets are deduplicated by content and numbered in canonical order
 * (fewer records first, then the sorted addresses), so set i is the same wherever the records are
 * compiled, whatever their order: a signature of set i of n carries i as its inception modulo n
 * (the signer backdates it by less than n seconds), which the answer path reads to put beside an
 * answer exactly its signatures -- no crypto, no table beside the zone, and it rides in the RRSIG
 * through the store, the journal, IXFR/AXFR and restarts. The DYN RRset itself is never answered
 * (NODATA), so it is neither signed nor listed in NSEC/NSEC3 bitmaps, which list the A and AAAA
 * the resource serves (dyn_serves(): the same for every client).
 *
 * Bounds: DYN_MAX_MEMBERS members of one family in a pool; names of pools and monitors up to
 * DYN_NAME_MAX octets. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/rr.h"
#include "lib/zone.h"

#define DYN_MAX_MEMBERS 64
#define DYN_NAME_MAX 63
#define DYN_ECS_V4_MAX 24 /* source prefixes are capped here (RFC 7871 11.1) */
#define DYN_ECS_V6_MAX 56

enum dyn_monitor_kind { DYN_MON_TCP = 1, DYN_MON_HTTP = 2, DYN_MON_HTTPS = 3 };

/* A health check, applied to each member address bound to it. */
struct dyn_monitor {
	uint8_t kind; /* enum dyn_monitor_kind */
	uint8_t up, down; /* consecutive results that turn a member up / down (default 1 / 3) */
	uint16_t port; /* TCP port (http/https: the URL's, else 80 / 443) */
	uint16_t status; /* http/https: the expected status (default 200) */
	uint32_t interval_ms, timeout_ms; /* default 10 s and 2 s; timeout < interval */
	char host[256]; /* http/https: the URL's host (Host header, TLS SNI); "" for tcp */
	char path[256]; /* http/https: the URL's path and query, "/" at least */
	char body[256]; /* http/https: text the body must contain; "" = any */
};

/* The compiled resource (position independent: it may be copied with its RRset). It starts with
 * its head, which the answer path's tests below read inline; the rest is lib/dyn_impl.h's. */
struct dyn_resource;
struct dyn_head {
	uint32_t size; /* of the whole block */
	uint8_t serves[2]; /* the answer list has members of IPv4 / IPv6 */
	uint8_t weighted; /* some pool is weighted: selections need a random number */
	uint8_t cname; /* the pools hold names: the resource answers CNAME (slot 0), never A or AAAA */
	uint8_t external; /* monitors or country/continent entries: selections may ask the health or
	                   * geo functions (struct dyn_env); else they never do */
};

/* Where the client is: its address (IPv4 in the first 4 octets) and how many leading bits of it
 * are known (32/128 for a query's source address, the capped ECS source prefix otherwise). */
struct dyn_client {
	uint8_t family; /* 1 = IPv4, 2 = IPv6 (RFC 7871 / IANA address family numbers) */
	uint8_t prefix;
	uint8_t addr[16];
};

/* The health of one member bound to monitor m: true = up (also when not known yet). */
typedef bool (*dyn_health_fn)(void *ctx, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr);

/* What a geo database says of one address (ternd's dyn module reads MaxMind DB files). */
struct dyn_geo {
	bool found; /* the database holds the address */
	char country[3]; /* ISO 3166-1 alpha-2, upper case; "" when the record has none */
	char continent[3]; /* AF AN AS EU NA OC SA; "" when the record has none */
	uint8_t prefix; /* leading bits of the database network holding the address (for an address
	                 * not held: of the empty block around it), in the address's family: 0..32
	                 * for IPv4 (an IPv6 database's IPv4 subtree counted from its ::/96) */
};

/* Looks up addr (family 1 = IPv4, 4 octets; 2 = IPv6, 16 octets; bits past what the client told
 * are zero) and fills out (zeroed by the caller). Called on the query path: no malloc, no lock,
 * no syscall. */
typedef void (*dyn_geo_fn)(void *ctx, uint8_t family, const uint8_t *addr, struct dyn_geo *out);

/* The explanation of one selection (dyn_select with a trace): every step the answer came from. */
#define DYN_TRACE_POOLS 16
struct dyn_trace {
	int entry; /* the geo entry matched, or -1 (the answer list): subnet entries are numbered
	            * first, country and continent entries after them */
	char entry_text[64]; /* "198.51.100.0/24", "country BR", "continent EU", or "" */
	bool geo_asked; /* the geo database was asked (geo holds what it said) */
	struct dyn_geo geo;
	uint8_t scope;
	int npools; /* the pool list in order (at most DYN_TRACE_POOLS shown) */
	struct dyn_trace_pool {
		char name[DYN_NAME_MAX + 1];
		uint16_t members, live; /* members of the family, and those live */
	} pools[DYN_TRACE_POOLS];
	int chosen; /* index into pools of the pool answering, -1 = none had live members */
	bool fallback; /* no pool had a live member: every member of the first pool answers */
	bool weighted; /* the answering pool picks one member by weight */
};

/* Checks the DYN records of owner (rdata: count records in the rrset layout, lengths included)
 * and compiles them. On success *out is a malloc'd resource of *size octets. On failure returns
 * TERN_EINVAL and writes into err the statement and token at fault, e.g.
 * `pool "br": member "192.0.2.300": not an IPv4 or IPv6 address`. */
int dyn_compile(const uint8_t *rdata, size_t rdata_size, uint16_t count, struct dyn_resource **out, size_t *size,
                char *err, size_t errlen);

/* Whether the resource answers type: A or AAAA when its answer list has members of that family; a
 * CNAME resource answers CNAME only. */
static inline bool dyn_serves(const struct dyn_resource *r, uint16_t type)
{
	const struct dyn_head *h = (const struct dyn_head *)(const void *)r;
	if (h->cname)
		return type == RR_CNAME && h->serves[0];
	return type == RR_A ? h->serves[0] : type == RR_AAAA ? h->serves[1] : false;
}

/* Whether some pool is weighted (only then does dyn_select() use its random number). */
static inline bool dyn_weighted(const struct dyn_resource *r)
{
	return ((const struct dyn_head *)(const void *)r)->weighted;
}

/* Whether a selection may ask the health or geo functions (else any struct dyn_env will do). */
static inline bool dyn_external(const struct dyn_resource *r)
{
	return ((const struct dyn_head *)(const void *)r)->external;
}

/* The size of a compiled resource (it starts with it). */
size_t dyn_resource_size(const struct dyn_resource *r);

/* The records for a client asking type (A or AAAA; CNAME of a CNAME resource). Records go to out (an rrset of that
 * type, TTL ttl); their RDATA points into the resource, or into scratch (DYN_SCRATCH octets) when only some of a pool's
 * members are live. rnd is a uniformly random 32-bit number (weighted picks). health may be NULL (every member up).
 * trace, when not NULL, receives the explanation. Returns 0, or TERN_ENOTFOUND when the resource has no member of that
 * family (NODATA). */
#define DYN_SCRATCH (DYN_MAX_MEMBERS * 18)
int dyn_select(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
               dyn_health_fn health, void *health_ctx, uint32_t rnd, uint8_t *scratch, struct rrset *out,
               uint8_t *scope, struct dyn_trace *trace);

/* What a selection asks besides the client: the health of monitored members (NULL: every member
 * up) and the geo database (NULL: none; every client counts as not held). */
struct dyn_env {
	dyn_health_fn health;
	void *health_ctx;
	dyn_geo_fn geo;
	void *geo_ctx;
};

/* A selection's records (an rrset of the type asked: RDATA in the resource, or in scratch when
 * only some of a pool's members are live) and their ECS scope. */
struct dyn_choice {
	struct rrset rrset;
	uint8_t scope;
	uint8_t scratch[DYN_SCRATCH];
};

/* dyn_select_geo() for the answer path, without a trace: rs is the DYN RRset standing as the type
 * asked (its type A or AAAA, its TTL the records'; dyn_rrset_resource(rs) the resource). Returns
 * as dyn_select(). Five arguments, all in registers. */
int dyn_choose(const struct rrset *rs, const struct dyn_client *client, const struct dyn_env *env, uint32_t rnd,
               struct dyn_choice *out);

/* dyn_select() with a geo database: geo (NULL: none; every client counts as not held) answers
 * the resource's country and continent entries. */
int dyn_select_geo(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
                   dyn_health_fn health, void *health_ctx, dyn_geo_fn geo, void *geo_ctx, uint32_t rnd,
                   uint8_t *scratch, struct rrset *out, uint8_t *scope, struct dyn_trace *trace);

/* Whether code (a NUL-terminated string) is a code `geo continent` (continent true: AF AN AS EU NA
 * OC SA) or `geo country` (ISO 3166-1 alpha-2 assigned, or XK) takes: upper case, two letters. */
bool dyn_code_known(bool continent, const char *code);

/* Whether the resource has country or continent entries (its answers may need the database). */
bool dyn_uses_geo(const struct dyn_resource *r);

/* Every (monitor, member address) pair of the resource, for the health checker. Stops at and
 * returns fn's first non-zero result. */
int dyn_foreach_monitored(const struct dyn_resource *r,
                          int (*fn)(void *arg, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr),
                          void *arg);

/* Pools of the resource and their members, for `explain` (shares) and exports: pool i's name
 * and its members of type's family, with weights (1 when the pool is not weighted) and monitors
 * (NULL: none). Returns the number of pools. */
struct dyn_member_view {
	uint8_t family; /* 1, 2, or 3 for a name pool's member (name set) */
	uint8_t addr[16];
	const uint8_t *name; /* a CNAME resource's member: the target in wire form; else NULL */
	uint32_t weight;
	const struct dyn_monitor *monitor;
	const char *monitor_name;
};
int dyn_pool_count(const struct dyn_resource *r);
/* The pool a client outside every entry gets for type when every member is up: the first of the
 * answer list with members of the type's family; -1 when the resource does not serve type. */
int dyn_default_pool(const struct dyn_resource *r, uint16_t type);
const char *dyn_pool_name(const struct dyn_resource *r, int pool);
bool dyn_pool_weighted(const struct dyn_resource *r, int pool);
int dyn_pool_members(const struct dyn_resource *r, int pool, uint16_t type, struct dyn_member_view *out, int cap);

/* A compiled resource rides behind its DYN RRset's RDATA in a zone snapshot: rrset.dyn = 1 says
 * the octets from dyn_trailer_offset(rs) on hold it (zone_build and zone_apply put it there;
 * node copies carry dyn_rrset_bytes()). */
static inline size_t dyn_trailer_offset(const struct rrset *rs)
{
	return ((size_t)rs->rdata_size + 7u) & ~(size_t)7u;
}
static inline const struct dyn_resource *dyn_rrset_resource(const struct rrset *rs)
{
	return rs->dyn ? (const struct dyn_resource *)(const void *)(rs->rdata + dyn_trailer_offset(rs)) : NULL;
}
size_t dyn_rrset_bytes(const struct rrset *rs);
/* Compiles the DYN RRset rs and gives it its trailer: its records and the resource are copied into
 * one block from the arena a (or malloc'd when a is NULL: *heap is then the caller's to free once
 * the RRset has been copied), rs->rdata points at it and rs->dyn = 1. Errors as dyn_compile(). */
int dyn_attach(struct rrset *rs, struct arena *a, uint8_t **heap, char *err, size_t errlen);

/* The resource's lists and geo entries, read-only, for renderings of it in other servers' terms
 * (`tern geo render-knot`): the answer list's pools in order, and each subnet entry's subnet (host
 * bits clear) and pools in order. The list functions write at most cap pool indexes and return how
 * many the list holds. */
struct dyn_entry_view {
	uint8_t family; /* 1 = IPv4, 2 = IPv6 */
	uint8_t prefix;
	uint8_t addr[16];
};
int dyn_answer_list(const struct dyn_resource *r, int *pools, int cap);
int dyn_entry_count(const struct dyn_resource *r);
void dyn_entry(const struct dyn_resource *r, int i, struct dyn_entry_view *out);
int dyn_entry_list(const struct dyn_resource *r, int i, int *pools, int cap);
/* The country and continent entries, in the order dyn_select() tries them (every country entry,
 * then every continent entry): entry i's kind, its code (two upper-case letters and a NUL) and its
 * pools in order (at most cap written; returns how many the list holds). */
struct dyn_code_view {
	bool continent; /* false: `geo country`, true: `geo continent` */
	char code[3];
};
int dyn_code_count(const struct dyn_resource *r);
void dyn_code(const struct dyn_resource *r, int i, struct dyn_code_view *out);
int dyn_code_list(const struct dyn_resource *r, int i, int *pools, int cap);
/* Whether any member of pool i is bound to a monitor. */
bool dyn_pool_monitored(const struct dyn_resource *r, int pool);

/* Signed zones (above): the number of RRsets of type (A or AAAA; CNAME for a CNAME resource) signed ahead, and set i of
 * them (its RDATA in the resource, TTL ttl). dyn_signed_rrset() returns TERN_ENOTFOUND past the last. */
uint32_t dyn_signed_count(const struct dyn_resource *r, uint16_t type);
int dyn_signed_rrset(const struct dyn_resource *r, uint16_t type, uint32_t i, uint32_t ttl, struct rrset *out);
/* For a signed zone: the index of the signed RRset that chosen (dyn_select()'s result) is; a
 * subset of an unweighted pool (only some members live) is first replaced by one of its members,
 * picked by rnd. -1 when chosen is none of the resource's signed RRsets. No allocation. */
int64_t dyn_signed_choose(const struct dyn_resource *r, struct rrset *chosen, uint32_t rnd);
/* Whether dyn_signed_choose() replaces chosen (dyn_select()'s result) by one of its records: a
 * subset of more than one member of an unweighted pool. Each record is then picked with the same
 * chance (1/count, to within 2^-32), and the set it answers is dyn_signed_choose() of that record
 * alone: the shares `explain` shows. */
bool dyn_signed_subset(const struct dyn_resource *r, const struct rrset *chosen);
/* The inception a signature of set i of n carries: the latest time at or before inception that is
 * i modulo n. */
static inline uint32_t dyn_signed_inception(uint32_t inception, uint32_t i, uint32_t n)
{
	return n ? inception - (inception - i) % n : inception;
}
/* Whether an RRSIG record (RDATA, len octets) signs set i of n: its inception modulo n. */
static inline bool dyn_signed_covers(const uint8_t *rrsig, uint16_t len, uint32_t i, uint32_t n)
{
	if (len < 16 || n == 0)
		return false;
	uint32_t inception =
	    (uint32_t)rrsig[12] << 24 | (uint32_t)rrsig[13] << 16 | (uint32_t)rrsig[14] << 8 | rrsig[15];
	return inception % n == i;
}
