/* lib/dyn's own: the compiled block's layout (dyn_compile.c writes it, dyn.c reads it for the
 * selection and the views, dyn_signed.c adds and reads the RRsets signed ahead). Not for other
 * files: the block is opaque outside lib/dyn*.c. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/dyn.h"

#define MAX_TOKENS 512
#define MAX_POOLS 1024
#define WEIGHT_MAX 1000000u
#define FAMILY_NAME 3 /* a name pool's member: a CNAME target, kept in the IPv4 slot of a CNAME resource */

/* The compiled block: this header, then arrays at the offsets it gives (from the block's start). */
struct dyn_resource {
	struct dyn_head head; /* size, serves, weighted (dyn.h) */
	uint16_t npools, nmonitors;
	uint32_t nentries, nmembers;
	uint32_t answer_list; /* offset of the answer list: uint16 n, then n pool indexes */
	uint32_t pools, members, monitors, entries; /* offsets of the arrays */
	uint8_t entry_families[2]; /* geo entries for IPv4 / IPv6 clients */
	uint32_t regions[2], nregions[2]; /* each family's address space cut by the entries (struct cregion) */
	/* IPv4 stretches, found in two steps: index4_n + 1 buckets (uint32_t at index4) of 2^index4_shift
	 * addresses each from index4_base (the second stretch's first address), each the number of the
	 * last stretch starting at or before the bucket's first address; then the stretches between a
	 * bucket's and the next's, by a binary search over their first addresses (uint32_t at keys4) */
	uint32_t keys4, index4, index4_n, index4_base;
	uint8_t index4_shift;
	uint32_t ncodes, codes; /* country and continent entries: count, offset of the array */
	/* the RRsets signed ahead (dyn.h, "Signed zones"), per family: nsigned[f] struct cset at
	 * signed_sets[f], in canonical order; and nchoices struct cchoice at choices, sorted */
	uint32_t signed_sets[2], nsigned[2];
	uint32_t choices, nchoices;
};

struct cpool {
	uint32_t name; /* offset of a NUL-terminated name */
	uint32_t first[2]; /* index of the first member of each family (members of a family are adjacent) */
	uint16_t count[2];
	uint32_t rdata[2]; /* offset of the family's records (length, address), in member order */
	uint32_t rdata_size[2];
	uint8_t weighted;
	uint8_t always_live[2]; /* no member of the family has a monitor or weighs 0: all are live */
};

struct cmember {
	uint32_t weight;
	int32_t monitor; /* index into monitors, or -1 */
	uint32_t rec; /* offset of its record in its pool's RDATA */
	uint8_t family; /* 1, 2 or FAMILY_NAME */
	uint8_t addr[16];
};

struct cmonitor {
	struct dyn_monitor m;
	uint32_t name;
};

struct centry {
	uint8_t family, prefix;
	uint8_t addr[16];
	uint8_t serves[2]; /* the list has members of IPv4 / IPv6 (else it stands aside for the answer list) */
	uint32_t list; /* offset: uint16 n, then n pool indexes */
	/* per family, the pool that answers whatever the monitors say, or -1: the list's first pool
	 * with members of the family, when all of them are always live and it is not weighted */
	int32_t fixed[2];
};

/* A stretch of one family's address space where one entry (or none) holds every address: the
 * entries' prefixes cut the space into such stretches, sorted, so a client's entry is a binary
 * search away; below/above are the addresses just outside, which bound the ECS scope. */
struct u128 {
	uint64_t hi, lo; /* an address as a number: IPv4 in the top 32 bits of hi */
};

struct cregion {
	struct u128 first; /* the stretch's first address */
	struct u128 below, above; /* the addresses before first and after the last */
	int32_t entry; /* -1: none */
	uint8_t has_below, has_above;
	/* the scope plus one when every address of the stretch has the same (the stretch is one
	 * aligned prefix, as a geo entry's /24 is); 0: it depends on the address */
	uint8_t fixed_scope;
	int32_t fixed[2]; /* the entry's fixed pools (struct centry); -1 for a stretch of no entry */
};

/* Leading bits two addresses share. */
static inline int u128_common(struct u128 a, struct u128 b)
{
	uint64_t x = a.hi ^ b.hi;
	if (x)
		return __builtin_clzll(x);
	x = a.lo ^ b.lo;
	return x ? 64 + __builtin_clzll(x) : 128;
}

static inline struct u128 u128_of(const uint8_t *a)
{
	struct u128 v;
	memcpy(&v.hi, a, 8);
	memcpy(&v.lo, a + 8, 8);
	v.hi = be64toh(v.hi);
	v.lo = be64toh(v.lo);
	return v;
}

enum { CODE_COUNTRY = 1, CODE_CONTINENT = 2 };

/* A country or continent entry: countries first, then continents (the order they are tried). */
struct ccode {
	uint8_t kind; /* CODE_COUNTRY or CODE_CONTINENT */
	char code[2]; /* upper case */
	uint32_t list;
};

/* One RRset signed ahead: its records in the block (member order) and how many. */
struct cset {
	uint32_t rdata, rdata_size;
	uint32_t count;
};

/* What dyn_select() can return that lies in the block (a pool's family, a member's record), and
 * the signed RRset it stands for. */
struct cchoice {
	uint32_t rdata, count;
	uint32_t id; /* index into its family's signed sets */
	uint32_t family; /* 0 = IPv4, 1 = IPv6 */
};

/* Address bits of a family (1 = IPv4, 2 = IPv6). */
static inline int bits_of(uint8_t family)
{
	return family == 1 ? 32 : 128;
}

/* The block being written: grown by dyn_out_put(). */
struct out {
	uint8_t *b;
	size_t n, cap;
};

/* Appends len octets of p (zeros when p is NULL) at the next multiple of align; their offset, or -1
 * when out of memory. */
int64_t dyn_out_put(struct out *o, const void *p, size_t len, size_t align);
/* Adds the RRsets signed ahead to the block h heads (dyn_signed.c). */
int dyn_build_signed(struct out *o, struct dyn_resource *h);

static inline const struct cpool *pool_at(const struct dyn_resource *r, int i)
{
	return (const struct cpool *)(const void *)((const uint8_t *)r + r->pools) + i;
}

static inline const struct cmember *member_at(const struct dyn_resource *r, uint32_t i)
{
	return (const struct cmember *)(const void *)((const uint8_t *)r + r->members) + i;
}

static inline const struct cmonitor *monitor_at(const struct dyn_resource *r, int32_t i)
{
	return (const struct cmonitor *)(const void *)((const uint8_t *)r + r->monitors) + i;
}

static inline const struct centry *entry_at(const struct dyn_resource *r, uint32_t i)
{
	return (const struct centry *)(const void *)((const uint8_t *)r + r->entries) + i;
}

static inline const struct ccode *code_at(const struct dyn_resource *r, uint32_t i)
{
	return (const struct ccode *)(const void *)((const uint8_t *)r + r->codes) + i;
}

static inline const uint16_t *list_at(const struct dyn_resource *r, uint32_t off)
{
	return (const uint16_t *)(const void *)((const uint8_t *)r + off);
}
