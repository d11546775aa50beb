/* The zone snapshot: lookups through a persistent hash array mapped trie (HAMT) on name hashes,
 * the trie itself (bulk build, path-copying insert and remove), and freeing of snapshots that
 * share structure with their successors. */
#include "lib/zone.h"

#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone_impl.h"

/* ---- garbage lists ---- */

int garbage_push(struct zone_garbage **pg, uintptr_t item)
{
	struct zone_garbage *g = *pg;
	if (!g) {
		g = *pg = calloc(1, sizeof(*g));
		if (!g)
			return TERN_ENOMEM;
	}
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 16;
		uintptr_t *v = realloc(g->items, ncap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		g->items = v;
		g->cap = ncap;
	}
	g->items[g->n++] = item;
	return 0;
}

void garbage_free_items(struct zone_garbage *g)
{
	for (size_t i = 0; g && i < g->n; i++)
		free(TRIE_PTR(g->items[i]));
}

void garbage_free(struct zone_garbage *g)
{
	if (g) {
		free(g->items);
		free(g);
	}
}

struct zone_mem *zone_mem_new(void)
{
	struct zone_mem *m = calloc(1, sizeof(*m));
	if (m) {
		arena_init(&m->arena);
		m->refs = 1;
	}
	return m;
}

void zone_mem_unref(struct zone_mem *m)
{
	if (m && --m->refs == 0) {
		arena_free(&m->arena);
		free(m);
	}
}

size_t zone_node_size(const struct zone_node *n)
{
	size_t size = sizeof(*n) + n->nrrsets * sizeof(struct rrset);
	for (uint16_t i = 0; i < n->nrrsets; i++)
		size += dyn_rrset_bytes(&n->rrsets[i]);
	return size;
}

/* ---- the trie ---- */

/* Bits set in a 32-bit word, without libgcc's out-of-line popcount (baseline x86-64 has no
 * POPCNT instruction): a dozen ALU operations. */
static inline int popcount32(uint32_t v)
{
	v = v - ((v >> 1) & 0x55555555u);
	v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
	v = (v + (v >> 4)) & 0x0f0f0f0fu;
	return (int)((v * 0x01010101u) >> 24);
}

static inline unsigned chunk(uint32_t hash, unsigned shift)
{
	return (hash >> shift) & 31;
}

static inline bool node_is(const struct zone_node *n, uint32_t hash, const uint8_t *name, size_t len)
{
	return n->hash == hash && n->owner_len == len && memcmp(n->owner, name, len) == 0;
}

const struct zone_node *trie_find(uintptr_t p, uint32_t hash, const uint8_t *name, size_t len)
{
	for (unsigned shift = 0; p; shift += 5) {
		if (p & TRIE_LEAF) {
			const struct zone_node *n = TRIE_PTR(p);
			return node_is(n, hash, name, len) ? n : NULL;
		}
		if (p & TRIE_COLL) {
			const struct trie_coll *c = TRIE_PTR(p);
			for (uint32_t i = 0; i < c->n; i++)
				if (node_is(c->node[i], hash, name, len))
					return c->node[i];
			return NULL;
		}
		const struct trie_branch *b = (const void *)p;
		uint32_t bit = 1u << chunk(hash, shift);
		if (!(b->bitmap & bit))
			return NULL;
		p = b->child[popcount32(b->bitmap & (bit - 1))];
	}
	return NULL;
}

/* Trie order of a hash: its 5-bit chunks from the first level on. */
static uint64_t trie_key(uint32_t hash)
{
	uint64_t key = 0;
	for (unsigned shift = 0; shift <= TRIE_LEVEL_MAX; shift += 5)
		key = key << 5 | chunk(hash, shift);
	return key;
}

static int key_cmp(const void *pa, const void *pb)
{
	const struct zone_node *a = *(const struct zone_node *const *)pa, *b = *(const struct zone_node *const *)pb;
	uint64_t ka = trie_key(a->hash), kb = trie_key(b->hash);
	return (ka > kb) - (ka < kb);
}

static int build_level(struct arena *a, const struct zone_node **nodes, size_t n, unsigned shift, uintptr_t *out)
{
	if (n == 1) {
		*out = (uintptr_t)nodes[0] | TRIE_LEAF;
		return 0;
	}
	if (shift > TRIE_LEVEL_MAX) { /* all hashes equal */
		struct trie_coll *c = arena_alloc(a, sizeof(*c) + n * sizeof(c->node[0]));
		if (!c)
			return TERN_ENOMEM;
		c->n = (uint32_t)n;
		c->heap = 0;
		memcpy(c->node, nodes, n * sizeof(c->node[0]));
		*out = (uintptr_t)c | TRIE_COLL;
		return 0;
	}
	uint32_t bitmap = 0;
	for (size_t i = 0; i < n; i++)
		bitmap |= 1u << chunk(nodes[i]->hash, shift);
	int count = popcount32(bitmap);
	struct trie_branch *b = arena_alloc(a, sizeof(*b) + (size_t)count * sizeof(b->child[0]));
	if (!b)
		return TERN_ENOMEM;
	b->bitmap = bitmap;
	b->heap = 0;
	/* nodes are in trie order: each child is a run with the same chunk */
	for (size_t i = 0, c = 0; i < n; c++) {
		size_t j = i;
		unsigned ch = chunk(nodes[i]->hash, shift);
		while (j < n && chunk(nodes[j]->hash, shift) == ch)
			j++;
		int rc = build_level(a, nodes + i, j - i, shift + 5, &b->child[c]);
		if (rc < 0)
			return rc;
		i = j;
	}
	*out = (uintptr_t)b;
	return 0;
}

int trie_build(struct arena *a, const struct zone_node **nodes, size_t n, uintptr_t *root)
{
	*root = 0;
	if (n == 0)
		return 0;
	qsort(nodes, n, sizeof(*nodes), key_cmp);
	return build_level(a, nodes, n, 0, root);
}

int fresh_push(struct trie_ctx *c, void *p, uintptr_t tag, uint32_t *slot)
{
	if (garbage_push(c->fresh, (uintptr_t)p | tag) < 0)
		return TERN_ENOMEM;
	size_t n = (*c->fresh)->n;
	*slot = n < UINT32_MAX ? (uint32_t)n : UINT32_MAX; /* past that: never taken for fresh */
	return 0;
}

bool fresh_is(const struct trie_ctx *c, const void *p, uint32_t slot)
{
	const struct zone_garbage *g = *c->fresh;
	return slot && g && slot <= g->n && TRIE_PTR(g->items[slot - 1]) == p;
}

void fresh_drop(struct trie_ctx *c, void *p, uint32_t slot)
{
	(*c->fresh)->items[slot - 1] = 0; /* garbage_free_items() frees NULL there */
	free(p);
}

/* A heap object made for the new version; *slot as fresh_push(). */
static void *fresh_alloc(struct trie_ctx *c, size_t size, uintptr_t tag, uint32_t *slot)
{
	void *p = malloc(size);
	if (p && fresh_push(c, p, tag, slot) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* An object the new version does not use: one of the old version is freed with it (heap) or
 * counted dead (arena); one made by this batch is freed now. */
static int retire(struct trie_ctx *c, uintptr_t p, size_t size, uint32_t heap)
{
	if (heap && fresh_is(c, TRIE_PTR(p), heap)) {
		fresh_drop(c, TRIE_PTR(p), heap);
		return 0;
	}
	if (heap)
		return garbage_push(c->retired, p);
	*c->dead += size;
	return 0;
}

int trie_retire_node(struct trie_ctx *c, const struct zone_node *n)
{
	if (n->flags & NODE_HEAP)
		return garbage_push(c->retired, (uintptr_t)n | TRIE_LEAF);
	*c->dead += zone_node_size(n);
	return 0;
}

static struct trie_branch *branch_new(struct trie_ctx *c, uint32_t bitmap)
{
	int count = popcount32(bitmap);
	uint32_t slot = 0;
	struct trie_branch *b = fresh_alloc(c, sizeof(*b) + (size_t)count * sizeof(b->child[0]), 0, &slot);
	if (b) {
		b->bitmap = bitmap;
		b->heap = slot;
	}
	return b;
}

static int retire_branch(struct trie_ctx *c, const struct trie_branch *b)
{
	size_t size = sizeof(*b) + (size_t)popcount32(b->bitmap) * sizeof(b->child[0]);
	return retire(c, (uintptr_t)b, size, b->heap);
}

/* Whether b was made by this batch: then it is changed in place. */
static bool branch_fresh(const struct trie_ctx *c, const struct trie_branch *b)
{
	return b->heap && fresh_is(c, b, b->heap);
}

/* Two leaves that share the hash chunks above shift: branches down to where they differ. */
static int split(struct trie_ctx *c, uintptr_t a, const struct zone_node *na, uintptr_t b, const struct zone_node *nb,
                 unsigned shift, uintptr_t *out)
{
	if (shift > TRIE_LEVEL_MAX) {
		uint32_t slot = 0;
		struct trie_coll *coll = fresh_alloc(c, sizeof(*coll) + 2 * sizeof(coll->node[0]), TRIE_COLL, &slot);
		if (!coll)
			return TERN_ENOMEM;
		coll->n = 2;
		coll->heap = slot;
		coll->node[0] = na;
		coll->node[1] = nb;
		*out = (uintptr_t)coll | TRIE_COLL;
		return 0;
	}
	unsigned ca = chunk(na->hash, shift), cb = chunk(nb->hash, shift);
	struct trie_branch *br = branch_new(c, (1u << ca) | (1u << cb));
	if (!br)
		return TERN_ENOMEM;
	if (ca == cb) {
		if (split(c, a, na, b, nb, shift + 5, &br->child[0]) < 0)
			return TERN_ENOMEM;
	} else {
		br->child[ca < cb ? 0 : 1] = a;
		br->child[ca < cb ? 1 : 0] = b;
	}
	*out = (uintptr_t)br;
	return 0;
}

/* A collision list with node put in (replacing its namesake) or taken out. */
static int coll_change(struct trie_ctx *c, const struct trie_coll *old, const struct zone_node *node, bool remove,
                       uintptr_t *out, const struct zone_node **replaced)
{
	uint32_t keep = 0, at = old->n;
	for (uint32_t i = 0; i < old->n; i++) {
		if (node_is(old->node[i], node->hash, node->owner, node->owner_len))
			at = i;
		else
			keep++;
	}
	if (replaced && at < old->n)
		*replaced = old->node[at];
	uint32_t total = keep + (remove ? 0 : 1);
	if (total == 1) { /* one name left: a plain leaf */
		const struct zone_node *only = node;
		for (uint32_t i = 0; remove && i < old->n; i++)
			if (i != at)
				only = old->node[i];
		*out = (uintptr_t)only | TRIE_LEAF;
	} else {
		uint32_t slot = 0;
		struct trie_coll *n = fresh_alloc(c, sizeof(*n) + total * sizeof(n->node[0]), TRIE_COLL, &slot);
		if (!n)
			return TERN_ENOMEM;
		n->heap = slot;
		n->n = 0;
		for (uint32_t i = 0; i < old->n; i++)
			if (i != at)
				n->node[n->n++] = old->node[i];
		if (!remove)
			n->node[n->n++] = node;
		*out = (uintptr_t)n | TRIE_COLL;
	}
	/* retired once read (one made by this batch is freed now) */
	return retire(c, (uintptr_t)old | TRIE_COLL, sizeof(*old) + old->n * sizeof(old->node[0]), old->heap);
}

static int set_level(struct trie_ctx *c, uintptr_t p, const struct zone_node *node, unsigned shift, uintptr_t *out,
                     const struct zone_node **old)
{
	uintptr_t leaf = (uintptr_t)node | TRIE_LEAF;
	if (p == 0) {
		*out = leaf;
		return 0;
	}
	if (p & TRIE_LEAF) {
		const struct zone_node *e = TRIE_PTR(p);
		if (node_is(e, node->hash, node->owner, node->owner_len)) {
			*old = e;
			*out = leaf;
			return 0;
		}
		return split(c, p, e, leaf, node, shift, out);
	}
	if (p & TRIE_COLL)
		return coll_change(c, TRIE_PTR(p), node, false, out, old);
	const struct trie_branch *b = (const void *)p;
	uint32_t bit = 1u << chunk(node->hash, shift);
	int pos = popcount32(b->bitmap & (bit - 1)), count = popcount32(b->bitmap);
	if ((b->bitmap & bit) && branch_fresh(c, b)) { /* made by this batch: changed in place */
		struct trie_branch *w = (struct trie_branch *)b;
		if (set_level(c, b->child[pos], node, shift + 5, &w->child[pos], old) < 0)
			return TERN_ENOMEM;
		*out = p;
		return 0;
	}
	struct trie_branch *nb = branch_new(c, b->bitmap | bit);
	if (!nb)
		return TERN_ENOMEM;
	if (b->bitmap & bit) {
		memcpy(nb->child, b->child, (size_t)count * sizeof(b->child[0]));
		if (set_level(c, b->child[pos], node, shift + 5, &nb->child[pos], old) < 0)
			return TERN_ENOMEM;
	} else {
		memcpy(nb->child, b->child, (size_t)pos * sizeof(b->child[0]));
		nb->child[pos] = leaf;
		memcpy(nb->child + pos + 1, b->child + pos, (size_t)(count - pos) * sizeof(b->child[0]));
	}
	if (retire_branch(c, b) < 0)
		return TERN_ENOMEM;
	*out = (uintptr_t)nb;
	return 0;
}

int trie_set(struct trie_ctx *c, uintptr_t root, const struct zone_node *node, uintptr_t *out,
             const struct zone_node **old)
{
	*old = NULL;
	return set_level(c, root, node, 0, out, old);
}

static int remove_level(struct trie_ctx *c, uintptr_t p, const struct zone_node *node, unsigned shift, uintptr_t *out)
{
	if (p & TRIE_LEAF) {
		*out = 0;
		return 0;
	}
	if (p & TRIE_COLL)
		return coll_change(c, TRIE_PTR(p), node, true, out, NULL);
	const struct trie_branch *b = (const void *)p;
	uint32_t bit = 1u << chunk(node->hash, shift);
	int pos = popcount32(b->bitmap & (bit - 1)), count = popcount32(b->bitmap);
	uintptr_t child;
	if (remove_level(c, b->child[pos], node, shift + 5, &child) < 0)
		return TERN_ENOMEM;
	if (child && branch_fresh(c, b)) { /* made by this batch: changed in place */
		((struct trie_branch *)b)->child[pos] = child;
		*out = p;
		return 0;
	}
	uintptr_t up; /* what takes b's place; b is retired after it is read */
	if (child == 0 && count == 1) {
		up = 0;
	} else if (child == 0 && count == 2 && (b->child[pos ^ 1] & (TRIE_LEAF | TRIE_COLL))) {
		up = b->child[pos ^ 1]; /* a lone leaf moves up */
	} else if (child == 0 && branch_fresh(c, b)) { /* made by this batch: shrunk in place */
		struct trie_branch *w = (struct trie_branch *)b;
		memmove(w->child + pos, w->child + pos + 1, (size_t)(count - pos - 1) * sizeof(w->child[0]));
		w->bitmap &= ~bit;
		*out = p;
		return 0;
	} else {
		struct trie_branch *nb = branch_new(c, child ? b->bitmap : b->bitmap & ~bit);
		if (!nb)
			return TERN_ENOMEM;
		if (child) {
			memcpy(nb->child, b->child, (size_t)count * sizeof(b->child[0]));
			nb->child[pos] = child;
		} else {
			memcpy(nb->child, b->child, (size_t)pos * sizeof(b->child[0]));
			memcpy(nb->child + pos, b->child + pos + 1, (size_t)(count - pos - 1) * sizeof(b->child[0]));
		}
		up = (uintptr_t)nb;
	}
	if (retire_branch(c, b) < 0)
		return TERN_ENOMEM;
	*out = up;
	return 0;
}

int trie_remove(struct trie_ctx *c, uintptr_t root, const struct zone_node *node, uintptr_t *out)
{
	return remove_level(c, root, node, 0, out);
}

int trie_foreach(uintptr_t p, int (*fn)(void *arg, const struct zone_node *n), void *arg)
{
	if (p == 0)
		return 0;
	if (p & TRIE_LEAF)
		return fn(arg, TRIE_PTR(p));
	if (p & TRIE_COLL) {
		const struct trie_coll *c = TRIE_PTR(p);
		for (uint32_t i = 0; i < c->n; i++) {
			int rc = fn(arg, c->node[i]);
			if (rc)
				return rc;
		}
		return 0;
	}
	const struct trie_branch *b = (const void *)p;
	for (int i = 0; i < popcount32(b->bitmap); i++) {
		int rc = trie_foreach(b->child[i], fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the names that differ between two snapshots ---- */

struct changed {
	uintptr_t root_a, root_b;
	zone_changed_fn fn;
	void *arg;
};

static int changed_in_a(void *arg, const struct zone_node *n)
{
	struct changed *c = arg;
	const struct zone_node *m = trie_find(c->root_b, n->hash, n->owner, n->owner_len);
	return m == n ? 0 : c->fn(c->arg, n, m);
}

static int changed_in_b(void *arg, const struct zone_node *n)
{
	struct changed *c = arg;
	/* a name in both whose nodes differ was reported from a */
	return trie_find(c->root_a, n->hash, n->owner, n->owner_len) ? 0 : c->fn(c->arg, NULL, n);
}

/* Subtrees a (of the first trie) and b (of the second) at one position: the same pointer holds the
 * same names; two branches go down child by child; anything else (a leaf, a collision set, one
 * side empty) is small and compared name by name against the other whole trie. */
static int changed_rec(struct changed *c, uintptr_t a, uintptr_t b)
{
	if (a == b)
		return 0;
	if (a && b && !(a & (TRIE_LEAF | TRIE_COLL)) && !(b & (TRIE_LEAF | TRIE_COLL))) {
		const struct trie_branch *ba = (const void *)a, *bb = (const void *)b;
		for (unsigned ch = 0; ch < 32; ch++) {
			uint32_t bit = 1u << ch;
			uintptr_t ca = ba->bitmap & bit ? ba->child[popcount32(ba->bitmap & (bit - 1))] : 0;
			uintptr_t cb = bb->bitmap & bit ? bb->child[popcount32(bb->bitmap & (bit - 1))] : 0;
			int rc = changed_rec(c, ca, cb);
			if (rc)
				return rc;
		}
		return 0;
	}
	int rc = trie_foreach(a, changed_in_a, c);
	return rc ? rc : trie_foreach(b, changed_in_b, c);
}

int zone_each_node(const struct zone *z, int (*fn)(void *arg, const struct zone_node *n), void *arg)
{
	return trie_foreach(z->root, fn, arg);
}

int zone_changed_nodes(const struct zone *prev, const struct zone *next, zone_changed_fn fn, void *arg)
{
	struct changed c = {prev->root, next->root, fn, arg};
	return changed_rec(&c, prev->root, next->root);
}

void trie_free_heap(uintptr_t p)
{
	if (p == 0)
		return;
	if (p & TRIE_LEAF) {
		const struct zone_node *n = TRIE_PTR(p);
		if (n->flags & NODE_HEAP)
			free((void *)n);
		return;
	}
	if (p & TRIE_COLL) {
		struct trie_coll *c = TRIE_PTR(p);
		for (uint32_t i = 0; i < c->n; i++)
			trie_free_heap((uintptr_t)c->node[i] | TRIE_LEAF);
		if (c->heap)
			free(c);
		return;
	}
	struct trie_branch *b = (void *)p;
	for (int i = 0; i < popcount32(b->bitmap); i++)
		trie_free_heap(b->child[i]);
	if (b->heap)
		free(b);
}

/* ---- lookups ---- */

const struct zone_node *zone_find_hashed(const struct zone *z, const uint8_t *lname, size_t len, uint32_t hash)
{
	return trie_find(z->root, hash, lname, len);
}

const struct zone_node *zone_find(const struct zone *z, const uint8_t *lname, size_t len)
{
	return trie_find(z->root, name_hash(lname), lname, len);
}

const struct zone_node *zone_find_encloser_hashed(const struct zone *z, const uint8_t *lname, size_t len,
                                                  const uint32_t *hashes, int labels, bool *exact)
{
	*exact = true;
	for (int i = 0; i < labels - z->apex_labels; i++) {
		const struct zone_node *n = trie_find(z->root, hashes[i], lname, len);
		if (n)
			return n;
		*exact = false;
		len -= (size_t)lname[0] + 1;
		lname += lname[0] + 1;
	}
	return z->apex_node;
}

const struct zone_node *zone_find_encloser(const struct zone *z, const uint8_t *lname, bool *exact)
{
	uint32_t hashes[NAME_MAXLABELS + 1];
	int labels = name_suffix_hashes(lname, hashes);
	return zone_find_encloser_hashed(z, lname, name_len(lname), hashes, labels, exact);
}

const struct rrset *zone_node_rrset(const struct zone_node *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

const struct rrset *zone_node_rrsets(const struct zone_node *n, uint16_t type, uint16_t *count)
{
	const struct rrset *first = zone_node_rrset(n, type);
	uint16_t k = 0;
	if (first)
		while (first + k < n->rrsets + n->nrrsets && first[k].type == type)
			k++;
	*count = k;
	return first;
}

const struct rrset *zone_node_rrsig(const struct zone_node *n, uint16_t covered)
{
	uint16_t k;
	const struct rrset *sigs = zone_node_rrsets(n, RR_RRSIG, &k);
	for (uint16_t i = 0; i < k; i++)
		if (sigs[i].covered == covered)
			return &sigs[i];
	return NULL;
}

int zone_node_change(const struct zone_node *n, uint16_t type, struct zone_change *out)
{
	uint16_t groups;
	const struct rrset *rs = zone_node_rrsets(n, type, &groups);
	size_t count = 0, size = 0;
	*out = (struct zone_change){.owner = n->owner, .type = type};
	if (!rs)
		return TERN_ENOTFOUND;
	for (uint16_t g = 0; g < groups; g++) {
		count += rs[g].count;
		size += rs[g].rdata_size;
		out->ttl = g == 0 || rs[g].ttl < out->ttl ? rs[g].ttl : out->ttl;
	}
	if (count > UINT16_MAX || size > UINT32_MAX)
		return TERN_ESPACE;
	uint8_t *rd = malloc(size ? size : 1);
	uint32_t *ttls = type == RR_RRSIG ? malloc((count ? count : 1) * sizeof(*ttls)) : NULL;
	if (!rd || (type == RR_RRSIG && !ttls)) {
		free(rd);
		free(ttls);
		return TERN_ENOMEM;
	}
	for (uint16_t g = 0, k = 0; g < groups; g++) {
		memcpy(rd + out->rdata_size, rs[g].rdata, rs[g].rdata_size);
		out->rdata_size += rs[g].rdata_size;
		for (uint16_t i = 0; ttls && i < rs[g].count; i++)
			ttls[k++] = rs[g].ttl;
	}
	out->count = (uint16_t)count;
	out->rdata = rd;
	out->ttls = ttls;
	return 0;
}

const struct zone_node *zone_wildcard_child(const struct zone *z, const struct zone_node *n)
{
	static const uint8_t star[] = {1, '*'};
	uint8_t buf[NAME_MAXLEN];
	if ((size_t)n->owner_len + 2 > NAME_MAXLEN)
		return NULL;
	memcpy(buf, star, 2);
	memcpy(buf + 2, n->owner, n->owner_len);
	return trie_find(z->root, name_hash_prepend(n->hash, star), buf, (size_t)n->owner_len + 2);
}

size_t zone_rrset_msg_size(const uint8_t *owner, uint32_t count, size_t rdata_size)
{
	size_t question = name_is_wildcard(owner) ? NAME_MAXLEN : name_len(owner);
	/* each record: pointer 2, type 2, class 2, TTL 4, RDLENGTH 2, RDATA (rdata_size holds the
	 * RDLENGTHs already) */
	return ZONE_RRSET_OVERHEAD + question + rdata_size + 10u * count;
}

uint32_t zone_negative_ttl(const struct zone *z)
{
	return z->negative_ttl;
}

bool zone_signed(const struct zone *z)
{
	return z->apex_node && zone_node_rrsig(z->apex_node, RR_SOA);
}

int zone_foreach(const struct zone *z, int (*fn)(void *arg, const struct zone_node *n), void *arg)
{
	return trie_foreach(z->root, fn, arg);
}

struct collect {
	const struct zone_node **v;
	size_t n;
};

static int collect_node(void *arg, const struct zone_node *n)
{
	struct collect *c = arg;
	c->v[c->n++] = n;
	return 0;
}

static int canonical_cmp(const void *pa, const void *pb)
{
	const struct zone_node *a = *(const struct zone_node *const *)pa, *b = *(const struct zone_node *const *)pb;
	return name_cmp(a->owner, b->owner);
}

int zone_nodes_sorted(const struct zone *z, const struct zone_node ***out, size_t *n)
{
	struct collect c = {malloc((z->nnodes ? z->nnodes : 1) * sizeof(*c.v)), 0};
	if (!c.v)
		return TERN_ENOMEM;
	zone_foreach(z, collect_node, &c);
	qsort(c.v, c.n, sizeof(*c.v), canonical_cmp);
	*out = c.v;
	*n = c.n;
	return 0;
}

void zone_set_apex(struct zone *z, const struct zone_node *apex)
{
	z->apex_node = apex;
	z->apex = apex->owner;
	z->apex_len = apex->owner_len;
	z->apex_labels = apex->labels;
	z->soa = zone_node_rrset(apex, RR_SOA);
	const uint8_t *rd = rdata_bytes(z->soa->rdata);
	size_t off = rr_soa_serial_offset(rd);
	uint32_t minimum = wire_get32(rd + off + 16);
	z->serial = wire_get32(rd + off);
	z->negative_ttl = z->soa->ttl < minimum ? z->soa->ttl : minimum;
}

/* ---- snapshot lifetimes ---- */

void zone_free(struct zone *z)
{
	if (!z)
		return;
	if (z->superseded)
		garbage_free_items(z->garbage); /* the successor owns the rest */
	else { /* the last of its lineage */
		trie_free_heap(z->root);
		order_free_heap(z->nsec_order);
		order_free_heap(z->nsec3_order);
	}
	garbage_free(z->garbage);
	garbage_free(z->fresh);
	garbage_free(z->retired);
	zone_mem_unref(z->mem);
	free(z);
}

void zone_supersede(struct zone *prev, struct zone *next)
{
	garbage_free(prev->garbage);
	prev->garbage = next->retired;
	prev->superseded = true;
	next->retired = NULL;
	garbage_free(next->fresh); /* its objects belong to next's trie now */
	next->fresh = NULL;
}

void zone_discard(struct zone *next)
{
	if (!next)
		return;
	garbage_free_items(next->fresh);
	garbage_free(next->fresh);
	garbage_free(next->retired);
	zone_mem_unref(next->mem);
	free(next);
}
