/* The ordered views of a snapshot's denial chains: a copy-on-write B+tree of node pointers in
 * canonical order (RFC 4034 6.1), one for the names holding NSEC and one for those holding NSEC3,
 * so a proof finds the member covering a name in O(log n). Built in bulk by zone_build(), kept by
 * zone_apply() through path copies whose old blocks go to the garbage lists. */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/zone.h"
#include "lib/zone_impl.h"

/* Keys of an inner block are the first member of each child's subtree: a member appears as a key
 * only in the blocks on the path from the root to its leaf, so the path copy that puts a new node
 * in a leaf refreshes every key that named the old one (set_rec and remove_rec rewrite key[i] from
 * the copied child), and no key outlives the node it points to. */

static size_t block_size(const struct zone_order *b)
{
	return sizeof(*b) + (b->leaf ? 0 : ORDER_FAN * sizeof(b->child[0]));
}

/* A name searched for: its labels located once, so each comparison scans only the member's.
 * Every owner and every name searched is lower-cased, so labels compare as octets (RFC 4034 6.1
 * folds case, which is then the identity). skip: labels every name shares at the right (the apex's,
 * for a query) and that need no comparing. */
struct order_key {
	const uint8_t *name;
	int labels, skip;
	uint8_t off[NAME_MAXLABELS];
};

static int label_offsets(const uint8_t *name, uint8_t *off)
{
	int n = 0;
	for (size_t at = 0; name[at]; at += name[at] + 1u)
		off[n++] = (uint8_t)at;
	return n;
}

static void key_init(struct order_key *k, const uint8_t *lname, int skip)
{
	k->name = lname;
	k->labels = label_offsets(lname, k->off);
	k->skip = skip < k->labels ? skip : k->labels;
}

/* RFC 4034 6.1 order of a member against the key: <0, 0, >0. */
static int key_cmp(const struct zone_node *member, const struct order_key *k)
{
	uint8_t off[NAME_MAXLABELS];
	const uint8_t *m = member->owner;
	int i = label_offsets(m, off) - k->skip, j = k->labels - k->skip;
	while (i > 0 && j > 0) {
		const uint8_t *la = m + off[--i], *lb = k->name + k->off[--j];
		int c = memcmp(la + 1, lb + 1, *la < *lb ? *la : *lb);
		if (c)
			return c;
		if (*la != *lb)
			return *la - *lb;
	}
	return i - j;
}

/* The greatest i with key[i] <= k, or -1 when k precedes every key. */
static int find_le(const struct zone_order *b, const struct order_key *k)
{
	int lo = 0, hi = b->n; /* keys[lo..hi) undecided; keys before lo are <= k */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (key_cmp(b->key[mid], k) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* ---- bulk build ---- */

static struct zone_order *arena_block(struct arena *a, bool leaf)
{
	struct zone_order *b = arena_alloc(a, sizeof(*b) + (leaf ? 0 : ORDER_FAN * sizeof(b->child[0])));
	if (b)
		*b = (struct zone_order){.leaf = leaf, .heap = 0};
	return b;
}

int order_build(struct arena *a, const struct zone_node **nodes, size_t n, const struct zone_order **root)
{
	*root = NULL;
	if (n == 0)
		return 0;
	/* one level at a time, each block as full as an even split allows */
	size_t count = (n + ORDER_FAN - 1) / ORDER_FAN;
	struct zone_order **level = malloc(count * sizeof(*level));
	if (!level)
		return TERN_ENOMEM;
	for (size_t i = 0, at = 0; i < count; i++) {
		size_t take = (n - at) / (count - i);
		struct zone_order *b = level[i] = arena_block(a, true);
		if (!b)
			goto fail;
		b->n = (uint8_t)take;
		memcpy(b->key, nodes + at, take * sizeof(b->key[0]));
		at += take;
	}
	while (count > 1) {
		size_t up = (count + ORDER_FAN - 1) / ORDER_FAN;
		for (size_t i = 0, at = 0; i < up; i++) {
			size_t take = (count - at) / (up - i);
			struct zone_order *b = arena_block(a, false);
			if (!b)
				goto fail;
			b->n = (uint8_t)take;
			for (size_t k = 0; k < take; k++) {
				b->child[k] = level[at + k];
				b->key[k] = level[at + k]->key[0];
			}
			level[i] = b; /* i <= at: the blocks read are past the ones written */
			at += take;
		}
		count = up;
	}
	*root = level[0];
	free(level);
	return 0;
fail:
	free(level);
	return TERN_ENOMEM;
}

/* ---- path copies ---- */

static struct zone_order *block_new(struct trie_ctx *c, bool leaf)
{
	size_t size = sizeof(struct zone_order) + (leaf ? 0 : ORDER_FAN * sizeof(struct zone_order *));
	struct zone_order *b = malloc(size);
	uint32_t slot = 0;
	if (!b)
		return NULL;
	if (fresh_push(c, b, 0, &slot) < 0) {
		free(b);
		return NULL;
	}
	*b = (struct zone_order){.leaf = leaf, .heap = 1, .fresh = slot};
	return b;
}

/* Whether b was made by this batch (zone_impl.h): then it is rewritten in place. */
static bool block_fresh(const struct trie_ctx *c, const struct zone_order *b)
{
	return b->heap && fresh_is(c, b, b->fresh);
}

/* A block the new version no longer uses: freed now when this batch made it, else with the old
 * version (heap) or counted dead (arena). */
static int block_retire(struct trie_ctx *c, const struct zone_order *b)
{
	if (block_fresh(c, b)) {
		fresh_drop(c, (void *)b, b->fresh);
		return 0;
	}
	if (b->heap)
		return garbage_push(c->retired, (uintptr_t)b);
	*c->dead += block_size(b);
	return 0;
}

/* Entry i of a block: a key, and for an inner block its child. */
struct entry {
	const struct zone_node *key;
	struct zone_order *child;
};

/* A block's entries with at most two changed: entries [0, from) and [to, n) of old kept, put[0..nput)
 * in between; split into two blocks (*out, *extra) when more than ORDER_FAN. old is retired (a
 * block this batch made is written again in place, as *out); pass retire_old false for a block
 * that is no part of any version. */
static int block_rewrite(struct trie_ctx *c, const struct zone_order *old, bool retire_old, int from, int to,
                         const struct entry *put, int nput, struct zone_order **out, struct zone_order **extra)
{
	struct entry all[ORDER_FAN + 2];
	int n = 0;
	for (int i = 0; i < from; i++)
		all[n++] = (struct entry){old->key[i], old->leaf ? NULL : old->child[i]};
	for (int i = 0; i < nput; i++)
		all[n++] = put[i];
	for (int i = to; i < old->n; i++)
		all[n++] = (struct entry){old->key[i], old->leaf ? NULL : old->child[i]};
	*extra = NULL;
	*out = NULL;
	bool leaf = old->leaf, in_place = retire_old && n > 0 && block_fresh(c, old);
	if (retire_old && !in_place && block_retire(c, old) < 0) /* its entries are in all[] */
		return TERN_ENOMEM;
	if (n == 0)
		return 0;
	int parts = n > ORDER_FAN ? 2 : 1;
	for (int p = 0, at = 0; p < parts; p++) {
		int take = (n - at) / (parts - p);
		struct zone_order *b = p == 0 && in_place ? (struct zone_order *)old : block_new(c, leaf);
		if (!b)
			return TERN_ENOMEM;
		b->n = (uint8_t)take;
		for (int k = 0; k < take; k++) {
			b->key[k] = all[at + k].key;
			if (!b->leaf)
				b->child[k] = all[at + k].child;
		}
		at += take;
		*(p == 0 ? out : extra) = b;
	}
	return 0;
}

static int set_rec(struct trie_ctx *c, const struct zone_order *b, const struct zone_node *node,
                   const struct order_key *k, struct zone_order **out, struct zone_order **extra,
                   const struct zone_node **old)
{
	int i = find_le(b, k);
	if (b->leaf) {
		bool same = i >= 0 && key_cmp(b->key[i], k) == 0;
		if (same)
			*old = b->key[i];
		struct entry e = {node, NULL};
		/* replace entry i, or insert after it */
		return block_rewrite(c, b, true, same ? i : i + 1, i + 1, &e, 1, out, extra);
	}
	if (i < 0)
		i = 0; /* before every member: it goes first in the first child */
	struct zone_order *child, *split;
	if (set_rec(c, b->child[i], node, k, &child, &split, old) < 0)
		return TERN_ENOMEM;
	struct entry e[2] = {{child->key[0], child}, {split ? split->key[0] : NULL, split}};
	return block_rewrite(c, b, true, i, i + 1, e, split ? 2 : 1, out, extra);
}

int order_set(struct trie_ctx *c, const struct zone_order *root, const struct zone_node *node,
              const struct zone_order **out)
{
	const struct zone_node *old = NULL;
	if (!root) {
		struct zone_order *b = block_new(c, true);
		if (!b)
			return TERN_ENOMEM;
		b->n = 1;
		b->key[0] = node;
		*out = b;
		return 0;
	}
	struct zone_order *top, *split;
	struct order_key k;
	key_init(&k, node->owner, 0);
	if (set_rec(c, root, node, &k, &top, &split, &old) < 0)
		return TERN_ENOMEM;
	if (split) { /* the root split: one level more */
		int depth = 1;
		for (const struct zone_order *b = root; !b->leaf; b = b->child[0])
			depth++;
		if (depth >= ZONE_ORDER_DEPTH)
			return TERN_ENOMEM; /* beyond any zone memory holds: 8^(ZONE_ORDER_DEPTH - 2) members */
		struct zone_order *up = block_new(c, false);
		if (!up)
			return TERN_ENOMEM;
		up->n = 2;
		up->key[0] = top->key[0];
		up->child[0] = top;
		up->key[1] = split->key[0];
		up->child[1] = split;
		top = up;
	}
	*out = top;
	return 0;
}

/* 1 when the name was there and is removed (*out: what takes b's place, NULL when the block is
 * left empty, b itself when this batch made b and it was changed in place), 0 when it is not there
 * (*out is b), or TERN_ENOMEM. */
static int remove_rec(struct trie_ctx *c, const struct zone_order *b, const struct order_key *k,
                      const struct zone_order **out)
{
	int i = find_le(b, k);
	*out = b;
	if (i < 0)
		return 0;
	struct zone_order *nb, *extra;
	if (b->leaf) {
		if (key_cmp(b->key[i], k) != 0)
			return 0;
		if (block_rewrite(c, b, true, i, i + 1, NULL, 0, &nb, &extra) < 0)
			return TERN_ENOMEM;
		*out = nb;
		return 1;
	}
	const struct zone_order *child;
	int rc = remove_rec(c, b->child[i], k, &child);
	if (rc <= 0)
		return rc;
	if (!child) {
		if (block_rewrite(c, b, true, i, i + 1, NULL, 0, &nb, &extra) < 0)
			return TERN_ENOMEM;
	} else {
		/* a child that fits in one block with a neighbour is merged with it, so every two
		 * neighbours hold more than ORDER_FAN entries and the tree stays O(log n) deep */
		int j = i + 1 < b->n ? i + 1 : i - 1;
		const struct zone_order *sib = j >= 0 ? b->child[j] : NULL;
		if (sib && child->n + sib->n <= ORDER_FAN) {
			const struct zone_order *lo = j < i ? sib : child, *hi = j < i ? child : sib;
			struct entry e[ORDER_FAN];
			int n = 0;
			for (int k = 0; k < lo->n; k++)
				e[n++] = (struct entry){lo->key[k], lo->leaf ? NULL : lo->child[k]};
			for (int k = 0; k < hi->n; k++)
				e[n++] = (struct entry){hi->key[k], hi->leaf ? NULL : hi->child[k]};
			struct zone_order *merged, *none;
			struct zone_order empty = {.leaf = child->leaf};
			if (block_rewrite(c, &empty, false, 0, 0, e, n, &merged, &none) < 0 || !merged ||
			    block_retire(c, child) < 0 || block_retire(c, sib) < 0)
				return TERN_ENOMEM;
			struct entry m = {merged->key[0], merged};
			if (block_rewrite(c, b, true, j < i ? j : i, (j < i ? i : j) + 1, &m, 1, &nb, &extra) < 0)
				return TERN_ENOMEM;
		} else { /* the child's first key may have gone: b's key for it is written again */
			struct entry e = {child->key[0], (struct zone_order *)child};
			if (block_rewrite(c, b, true, i, i + 1, &e, 1, &nb, &extra) < 0)
				return TERN_ENOMEM;
		}
	}
	*out = nb;
	return 1;
}

int order_remove(struct trie_ctx *c, const struct zone_order *root, const struct zone_node *node,
                 const struct zone_order **out)
{
	*out = root;
	if (!root)
		return 0;
	const struct zone_order *top;
	struct order_key k;
	key_init(&k, node->owner, 0);
	int rc = remove_rec(c, root, &k, &top);
	if (rc <= 0)
		return rc;
	while (top && !top->leaf && top->n == 1) { /* a root with one child steps down */
		const struct zone_order *down = top->child[0];
		if (block_retire(c, top) < 0)
			return TERN_ENOMEM;
		top = down;
	}
	*out = top;
	return 0;
}

void order_free_heap(const struct zone_order *b)
{
	if (!b || !b->heap) /* a block in the arena points only to blocks in the arena */
		return;
	for (int i = 0; !b->leaf && i < b->n; i++)
		order_free_heap(b->child[i]);
	free((void *)b);
}

size_t order_bytes(const struct zone_order *b)
{
	size_t size = 0;
	for (int i = 0; b && !b->leaf && i < b->n; i++)
		size += order_bytes(b->child[i]);
	return b ? size + block_size(b) : 0;
}

/* ---- queries ---- */

/* From level d on, the last member under pos->path[d]. */
static const struct zone_node *descend_last(struct zone_order_pos *pos, const struct zone_order *b, int d)
{
	for (;; d++) {
		pos->path[d] = b;
		pos->at[d] = (uint8_t)(b->n - 1);
		if (b->leaf) {
			pos->depth = d + 1;
			return b->key[b->n - 1];
		}
		b = b->child[b->n - 1];
	}
}

/* Every member and the name are at or below the apex (apex_labels labels): those are not compared. */
static const struct zone_node *order_cover(const struct zone_order *root, const uint8_t *lname, int apex_labels,
                                           struct zone_order_pos *pos)
{
	pos->depth = 0;
	if (!root)
		return NULL;
	struct order_key k;
	key_init(&k, lname, apex_labels);
	const struct zone_order *b = root;
	for (int d = 0;; d++) {
		int i = find_le(b, &k);
		if (i < 0) /* only at the root: before the first member, covered by the last (the chain is a ring) */
			return descend_last(pos, root, 0);
		pos->path[d] = b;
		pos->at[d] = (uint8_t)i;
		if (b->leaf) {
			pos->depth = d + 1;
			return b->key[i];
		}
		b = b->child[i];
	}
}

const struct zone_node *zone_nsec_cover(const struct zone *z, const uint8_t *lname, struct zone_order_pos *pos)
{
	return order_cover(z->nsec_order, lname, z->apex_labels, pos);
}

const struct zone_node *zone_nsec3_cover(const struct zone *z, const uint8_t *lname, struct zone_order_pos *pos)
{
	return order_cover(z->nsec3_order, lname, z->apex_labels, pos);
}

const struct zone_node *zone_order_prev(struct zone_order_pos *pos)
{
	if (pos->depth == 0)
		return NULL;
	for (int d = pos->depth - 1; d >= 0; d--) {
		if (pos->at[d] > 0) {
			pos->at[d]--;
			const struct zone_order *b = pos->path[d];
			if (b->leaf)
				return b->key[pos->at[d]];
			return descend_last(pos, b->child[pos->at[d]], d + 1);
		}
	}
	return descend_last(pos, pos->path[0], 0); /* before the first: the last */
}
