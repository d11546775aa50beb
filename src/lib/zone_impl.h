/* Internals shared by zone.c (lookup, trie, freeing), zone_build.c and zone_apply.c. Not part of
 * libtern's interface. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/arena.h"
#include "lib/dyn.h"
#include "lib/rr.h"
#include "lib/zone.h"

/* The arena a zone file's snapshot is built in; snapshots derived from it share it. */
struct zone_mem {
	struct arena arena;
	_Atomic int refs; /* versions are freed on the server's reclaim thread while the next is built */
	size_t dead; /* arena bytes no snapshot uses any more */
};

/* A list of heap objects (tagged trie pointers) to free later. */
struct zone_garbage {
	size_t n, cap;
	uintptr_t *items;
};

/* The trie: a hash array mapped trie on name_hash(), 5 bits a level, path-copied on change.
 * A pointer's low bits say what it points to.
 *
 * Heap objects made by the batch being applied (in the ctx's fresh list) are seen by nothing but
 * that batch: they are changed in place, and one a later change of the batch replaces is freed at
 * once (its slot in the fresh list set to 0), so a batch touching every name costs one new path
 * per object, not one per change (on a whole-zone signing the discarded copies were most of the
 * peak). An object knows its slot (heap - 1 for trie objects, fresh - 1 for order blocks); it is
 * fresh when that slot of the ctx's list holds it. */
#define TRIE_LEAF ((uintptr_t)1) /* a struct zone_node */
#define TRIE_COLL ((uintptr_t)2) /* a struct trie_coll: names whose 32-bit hashes are equal */
#define TRIE_PTR(p) ((void *)((p) & ~(uintptr_t)3))
#define TRIE_LEVEL_MAX 30 /* the last branch level uses hash bits 30..31 */

struct trie_branch {
	uint32_t bitmap;
	uint32_t heap; /* in the arena (0), or malloc'd (its slot in the fresh list that made it, plus 1) */
	uintptr_t child[];
};

struct trie_coll {
	uint32_t n;
	uint32_t heap; /* as a branch's */
	const struct zone_node *node[];
};

struct trie_ctx {
	struct zone_garbage **fresh; /* heap objects made now */
	struct zone_garbage **retired; /* heap objects of the old version no longer used */
	size_t *dead; /* arena bytes no longer used */
};

int garbage_push(struct zone_garbage **g, uintptr_t item);
/* Pushes a new heap object p (tag: its trie tag) to c's fresh list; *slot gets its slot plus 1. */
int fresh_push(struct trie_ctx *c, void *p, uintptr_t tag, uint32_t *slot);
/* Whether p, whose slot plus 1 is slot, was made by c's batch (and may be changed in place). */
bool fresh_is(const struct trie_ctx *c, const void *p, uint32_t slot);
/* Frees p, made by c's batch and now replaced, and empties its slot. */
void fresh_drop(struct trie_ctx *c, void *p, uint32_t slot);
void garbage_free_items(struct zone_garbage *g);
void garbage_free(struct zone_garbage *g);
size_t zone_node_size(const struct zone_node *n); /* bytes behind a node, for accounting */

const struct zone_node *trie_find(uintptr_t root, uint32_t hash, const uint8_t *name, size_t len);
/* Builds a trie over nodes (any order; the array is reordered) in the arena. */
int trie_build(struct arena *a, const struct zone_node **nodes, size_t n, uintptr_t *root);
/* Inserts node, or replaces the node of the same name (*old gets it, else NULL). */
int trie_set(struct trie_ctx *c, uintptr_t root, const struct zone_node *node, uintptr_t *out,
             const struct zone_node **old);
/* Removes the node of that name (which must exist). */
int trie_remove(struct trie_ctx *c, uintptr_t root, const struct zone_node *node, uintptr_t *out);
/* Retires a node replaced or removed: freed later if on the heap, else counted as dead. */
int trie_retire_node(struct trie_ctx *c, const struct zone_node *node);
int trie_foreach(uintptr_t root, int (*fn)(void *arg, const struct zone_node *n), void *arg);
/* Frees every heap object reachable from root. */
void trie_free_heap(uintptr_t root);

/* The ordered views (zone_order.c): a B+tree of node pointers in canonical order, copied on
 * change along one path. Inner keys are each child's first member. */
#define ORDER_FAN 16
struct zone_order {
	uint8_t n; /* entries */
	uint8_t leaf;
	uint8_t heap; /* malloc'd (1) or in the arena (0) */
	uint32_t fresh; /* a heap block's slot in the fresh list that made it, plus 1 */
	const struct zone_node *key[ORDER_FAN]; /* leaf: the members; inner: each child's first */
	struct zone_order *child[]; /* inner blocks only */
};
/* An order over nodes already sorted canonically, in the arena. */
int order_build(struct arena *a, const struct zone_node **nodes, size_t n, const struct zone_order **root);
/* Inserts node, or replaces the member of the same owner. */
int order_set(struct trie_ctx *c, const struct zone_order *root, const struct zone_node *node,
              const struct zone_order **out);
/* Removes the member with node's owner (nothing when there is none). */
int order_remove(struct trie_ctx *c, const struct zone_order *root, const struct zone_node *node,
                 const struct zone_order **out);
/* Frees every heap block reachable from root. */
void order_free_heap(const struct zone_order *root);
/* Bytes of the blocks reachable from root (for measuring). */
size_t order_bytes(const struct zone_order *root);

struct zone_mem *zone_mem_new(void);
void zone_mem_unref(struct zone_mem *m);
/* Fills the snapshot fields derived from the apex node (apex, soa, serial). */
void zone_set_apex(struct zone *z, const struct zone_node *apex);

/* Where a name's CNAME resource (a DYN RRset answering CNAME) breaks a CNAME's rules: "at the zone
 * apex", "beside TYPE records" (into buf), or NULL when it does not (or there is none). */
static inline const char *zone_dyn_cname_fault(const struct rrset *sets, uint16_t n, bool apex, char buf[64])
{
	const struct rrset *d = NULL;
	for (uint16_t i = 0; i < n; i++)
		d = sets[i].type == RR_DYN && sets[i].dyn ? &sets[i] : d;
	if (!d || !dyn_serves(dyn_rrset_resource(d), RR_CNAME))
		return NULL;
	if (apex)
		return "at the zone apex";
	for (uint16_t i = 0; i < n; i++) {
		uint16_t t = sets[i].type;
		if (t != RR_DYN && t != RR_RRSIG && t != RR_NSEC) {
			char tb[16];
			snprintf(buf, 64, "beside %s records", rr_type_name(t, tb));
			return buf;
		}
	}
	return NULL;
}

/* The zone's rules that zone_build() and zone_apply() both check, worded the same. */
#define ZONE_ERR_TOO_LARGE                                                                                             \
	"the %s RRset at %s is too large: a response carrying it takes %zu octets (header, question, its records, "    \
	"room for OPT and TSIG), more than the %u a DNS message holds"
#define ZONE_ERR_SIGS_TOO_LARGE                                                                                        \
	"the RRSIGs at %s are too large: a response to a query for them carries every one at the name and takes %zu "  \
	"octets (header, question, its records, room for OPT and TSIG), more than the %u a DNS message holds"
#define ZONE_ERR_DNAME_BELOW "DNAME at %s has data below it, at %s (RFC 6672 2.3: no names below a DNAME)"
#define ZONE_ERR_DYN_BESIDE "DYN at %s beside %s: a dynamic resource answers A and AAAA in place of fixed records"
#define ZONE_ERR_DYN_CNAME                                                                                             \
	"DYN at %s: a CNAME resource (its pools hold names) cannot stand %s: the name answers CNAME for every "        \
	"client, and a CNAME has nothing beside it but DNSSEC records (RFC 1034 3.6.2, RFC 2181 10.1)"
#define ZONE_ERR_DNAME_NS "DNAME beside NS at %s: a delegation point cannot hold a DNAME (RFC 6672 2.3)"
