/* Deriving a zone's next snapshot from a batch of RRset changes: only the touched names, the
 * ancestors whose child counts change and the trie paths to them are copied; the zone's rules
 * are checked on every touched name before anything is returned. And the difference between the
 * two snapshots, RRset by RRset, for journals. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "lib/zone_impl.h"

struct apply {
	struct zone *z;
	struct trie_ctx c;
	struct zone_apply_error *e; /* NULL: the caller wants the code only */
	size_t used; /* of e->msg */
	int errors;
};

/* Records a problem with change: the first one names the change; each adds a line to the text. */
__attribute__((format(printf, 3, 4))) static void apply_error(struct apply *a, size_t change, const char *fmt, ...)
{
	a->errors++;
	struct zone_apply_error *e = a->e;
	if (!e)
		return;
	if (e->problems++ == 0)
		e->change = change;
	size_t cap = sizeof(e->msg);
	if (a->used + 2 >= cap)
		return;
	if (a->used)
		e->msg[a->used++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg + a->used, cap - a->used, fmt, ap);
	va_end(ap);
	a->used = (n < 0 || (size_t)n >= cap - a->used) ? cap - 1 : a->used + (size_t)n;
	e->msg[a->used] = 0;
}

/* A heap node holding copies of owner and rrsets (so nothing points into an older node). */
static struct zone_node *node_make(struct apply *a, const uint8_t *owner, const struct rrset *sets, uint16_t nsets,
                                   uint16_t flags, uint32_t children)
{
	size_t olen = name_len(owner), size = sizeof(struct zone_node) + nsets * sizeof(struct rrset) + olen;
	for (uint16_t i = 0; i < nsets; i++)
		size += sets[i].dyn ? 7 + dyn_rrset_bytes(&sets[i]) : sets[i].rdata_size;
	struct zone_node *n = malloc(size);
	if (!n || garbage_push(&a->z->fresh, (uintptr_t)n | TRIE_LEAF) < 0) {
		free(n);
		return NULL;
	}
	struct rrset *rs = (struct rrset *)(n + 1);
	uint8_t *p = (uint8_t *)(rs + nsets);
	for (uint16_t i = 0; i < nsets; i++) {
		size_t bytes = dyn_rrset_bytes(&sets[i]); /* a DYN RRset's compiled resource comes along */
		if (sets[i].dyn)
			p = (uint8_t *)(((uintptr_t)p + 7) & ~(uintptr_t)7);
		rs[i] = sets[i];
		memcpy(p, sets[i].rdata, bytes);
		rs[i].rdata = p;
		p += bytes;
	}
	memcpy(p, owner, olen);
	*n = (struct zone_node){.owner = p,
	                        .rrsets = rs,
	                        .hash = name_hash(p),
	                        .children = children,
	                        .nrrsets = nsets,
	                        .flags = (uint16_t)(flags | NODE_HEAP | NODE_FRESH),
	                        .owner_len = (uint8_t)olen,
	                        .labels = (uint8_t)name_labels(p)};
	return n;
}

/* The ordered views follow a name that holds NSEC or NSEC3 (or held them) when it is put (now)
 * in place of old, or taken out (now NULL). A name in neither, as every name of an unsigned zone,
 * costs two flag tests. */
static int order_track(struct apply *a, const struct zone_node *old, const struct zone_node *now)
{
	static const uint16_t kinds[2] = {NODE_NSEC, NODE_NSEC3};
	uint16_t was = old ? old->flags : 0, is = now ? now->flags : 0;
	if (!((was | is) & (NODE_NSEC | NODE_NSEC3)))
		return 0;
	for (int k = 0; k < 2; k++) {
		const struct zone_order **root = k == 0 ? &a->z->nsec_order : &a->z->nsec3_order;
		int rc = 0;
		if (is & kinds[k])
			rc = order_set(&a->c, *root, now, root);
		else if (was & kinds[k])
			rc = order_remove(&a->c, *root, old, root);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int put_node(struct apply *a, const struct zone_node *n)
{
	const struct zone_node *old;
	uintptr_t root;
	if (trie_set(&a->c, a->z->root, n, &root, &old) < 0)
		return TERN_ENOMEM;
	a->z->root = root;
	if (order_track(a, old, n) < 0)
		return TERN_ENOMEM;
	if (old)
		return trie_retire_node(&a->c, old);
	a->z->nnodes++;
	return 0;
}

static int drop_node(struct apply *a, const struct zone_node *n)
{
	uintptr_t root;
	if (trie_remove(&a->c, a->z->root, n, &root) < 0)
		return TERN_ENOMEM;
	a->z->root = root;
	a->z->nnodes--;
	if (order_track(a, n, NULL) < 0)
		return TERN_ENOMEM;
	return trie_retire_node(&a->c, n);
}

/* The ancestors of a name that appeared (delta 1) or went (delta -1): child counts change,
 * empty non-terminals appear or go. */
static int fix_ancestors(struct apply *a, const uint8_t *owner, int delta)
{
	const struct zone *z = a->z;
	for (const uint8_t *p = name_parent(owner); p && name_labels(p) >= z->apex_labels; p = name_parent(p)) {
		const struct zone_node *pn = zone_find(z, p, name_len(p));
		if (!pn && delta < 0)
			return 0; /* cannot happen: every ancestor of a name exists */
		if (!pn) { /* a new empty non-terminal */
			struct zone_node *ent = node_make(a, p, NULL, 0, NODE_ENT, 1);
			if (!ent || put_node(a, ent) < 0)
				return TERN_ENOMEM;
			continue; /* and its parent gains a child */
		}
		uint32_t children = pn->children + (uint32_t)delta;
		if (children == 0 && (pn->flags & NODE_ENT))
			return drop_node(a, pn) < 0 ? TERN_ENOMEM : fix_ancestors(a, p, -1);
		if (pn->flags & NODE_FRESH) { /* made by this batch: counted in place, not copied again */
			((struct zone_node *)pn)->children = children;
			return 0;
		}
		struct zone_node *copy = node_make(a, pn->owner, pn->rrsets, pn->nrrsets,
		                                   pn->flags & (uint16_t) ~(NODE_HEAP | NODE_FRESH), children);
		if (!copy || put_node(a, copy) < 0)
			return TERN_ENOMEM;
		return 0;
	}
	return 0;
}

/* The zone's rules on the RRsets a name is about to hold. */
static void check_node(struct apply *a, size_t change, const uint8_t *owner, const struct rrset *sets, uint16_t n)
{
	char text[1024];
	name_to_text(owner, text, sizeof(text));
	bool apex = name_equal(owner, a->z->apex), cname = false, other = false, soa = false, ns = false;
	bool dname = false, dyn = false, addr = false;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t t = sets[i].type;
		dyn |= t == RR_DYN;
		addr |= t == RR_A || t == RR_AAAA;
		if (t == RR_CNAME)
			cname = true;
		else if (t != RR_RRSIG && t != RR_NSEC)
			other = true;
		if ((t == RR_CNAME || t == RR_DNAME || t == RR_SOA) && sets[i].count > 1)
			apply_error(a, change, "more than one %s record at %s",
			            t == RR_SOA     ? "SOA"
			            : t == RR_CNAME ? "CNAME"
			                            : "DNAME",
			            text);
		soa |= t == RR_SOA;
		ns |= t == RR_NS;
		dname |= t == RR_DNAME;
		if (t == RR_SOA && !apex)
			apply_error(a, change, "SOA record for %s outside the zone apex", text);
	}
	if (cname && other)
		apply_error(a, change, "CNAME beside other data at %s", text);
	char fb[64];
	const char *fault = zone_dyn_cname_fault(sets, n, apex, fb);
	if (fault)
		apply_error(a, change, ZONE_ERR_DYN_CNAME, text, fault);
	else if (dyn && (addr || (ns && !apex)))
		apply_error(a, change, ZONE_ERR_DYN_BESIDE, text, addr ? "A or AAAA records" : "a delegation (NS)");
	if (!apex && dname && ns)
		apply_error(a, change, ZONE_ERR_DNAME_NS, text);
	if (apex && !soa)
		apply_error(a, change, "the SOA record at the apex %s cannot be removed", text);
	if (apex && !ns)
		apply_error(a, change, "the NS records at the apex %s cannot be removed", text);
}

/* Checks one change on its own: owner inside the zone, a type that can be data, RDATA well formed. */
static bool check_change(struct apply *a, size_t i, const struct zone_change *c, const uint8_t *lowner)
{
	char text[1024], tbuf[16];
	name_to_text(lowner, text, sizeof(text));
	if (!name_in(lowner, a->z->apex)) {
		char apex[1024];
		name_to_text(a->z->apex, apex, sizeof(apex));
		apply_error(a, i, "out-of-zone data: %s is not in zone %s", text, apex);
		return false;
	}
	if (rr_type_is_meta(c->type)) {
		apply_error(a, i, "type %s cannot appear in a zone", rr_type_name(c->type, tbuf));
		return false;
	}
	if (c->count == 0) /* a deletion: no RDATA to check */
		return true;
	if (!c->rdata) {
		apply_error(a, i, "no RDATA for %s record at %s", rr_type_name(c->type, tbuf), text);
		return false;
	}
	const uint8_t *rec = c->rdata, *end = c->rdata + c->rdata_size;
	for (uint16_t r = 0; r < c->count; r++, rec = rdata_next(rec)) {
		if (rec + 2 > end || rdata_next(rec) > end ||
		    rr_rdata_check(c->type, rdata_bytes(rec), rdata_len(rec)) < 0) {
			apply_error(a, i, "bad RDATA for %s record %u at %s", rr_type_name(c->type, tbuf), r, text);
			return false;
		}
	}
	if (rec != end) {
		apply_error(a, i, "RDATA of %s at %s does not hold exactly %u records", rr_type_name(c->type, tbuf),
		            text, c->count);
		return false;
	}
	/* an RRSIG change holds every signature at the name: the union zone_build() bounds too
	 * (ZONE_MSG_MAX in lib/zone.h) */
	size_t msg = zone_rrset_msg_size(lowner, c->count, c->rdata_size);
	if (msg > ZONE_MSG_MAX) {
		if (c->type == RR_RRSIG)
			apply_error(a, i, ZONE_ERR_SIGS_TOO_LARGE, text, msg, ZONE_MSG_MAX);
		else
			apply_error(a, i, ZONE_ERR_TOO_LARGE, rr_type_name(c->type, tbuf), text, msg, ZONE_MSG_MAX);
		return false;
	}
	return true;
}

static int type_cmp(const void *pa, const void *pb)
{
	const struct rrset *a = pa, *b = pb;
	if (a->type != b->type)
		return (a->type > b->type) - (a->type < b->type);
	return (a->covered > b->covered) - (a->covered < b->covered);
}

/* The TTL of record i of a change. */
static uint32_t change_ttl(const struct zone_change *c, size_t i)
{
	return c->ttls ? c->ttls[i] : c->ttl;
}

/* One record of an RRSIG change, for grouping by covered type. */
struct sigrec {
	const uint8_t *rec; /* length, then RDATA */
	uint32_t ttl;
	uint16_t covered;
	uint16_t order; /* place in the change: groups keep the change's order */
};

static int sigrec_cmp(const void *pa, const void *pb)
{
	const struct sigrec *a = pa, *b = pb;
	if (a->covered != b->covered)
		return a->covered < b->covered ? -1 : 1;
	return (a->order > b->order) - (a->order < b->order);
}

/* The records of an RRSIG change as one RRset per covered type (struct rrset in zone.h), each
 * with the lowest TTL of its records; their RDATA is laid out again from *space on. */
static int add_rrsig_groups(const struct zone_change *c, struct rrset *sets, size_t *nsets, uint8_t **space)
{
	struct sigrec *r = malloc(c->count * sizeof(*r));
	if (!r)
		return TERN_ENOMEM;
	const uint8_t *rec = c->rdata;
	for (uint16_t i = 0; i < c->count; i++, rec = rdata_next(rec))
		r[i] = (struct sigrec){rec, change_ttl(c, i), rrsig_covered(rdata_bytes(rec), rdata_len(rec)), i};
	qsort(r, c->count, sizeof(*r), sigrec_cmp);
	for (size_t i = 0; i < c->count;) {
		struct rrset *g = &sets[(*nsets)++];
		*g = (struct rrset){.type = RR_RRSIG, .ttl = r[i].ttl, .rdata = *space, .covered = r[i].covered};
		for (; i < c->count && r[i].covered == g->covered; i++) {
			size_t size = 2u + rdata_len(r[i].rec);
			memcpy(*space, r[i].rec, size);
			*space += size;
			g->rdata_size += (uint32_t)size;
			g->count++;
			g->ttl = r[i].ttl < g->ttl ? r[i].ttl : g->ttl;
		}
	}
	free(r);
	return 0;
}

static int put_owner(struct apply *a, const uint8_t *owner, const struct zone_node *old, const struct rrset *sets,
                     uint16_t nsets, long records);

/* Applies every change of one owner (indices idx[0..n)) to the working snapshot. */
static int apply_owner(struct apply *a, const struct zone_change *ch, const size_t *idx, size_t n)
{
	uint8_t owner[NAME_MAXLEN];
	size_t len = name_len(ch[idx[0]].owner);
	name_lower_copy(owner, ch[idx[0]].owner, len);
	bool ok = true;
	for (size_t k = 0; k < n; k++)
		ok &= check_change(a, idx[k], &ch[idx[k]], owner);
	if (!ok)
		return 0;
	const struct zone_node *old = zone_find(a->z, owner, len);
	size_t room = old ? old->nrrsets : 0, space = 0; /* every RRset there plus every change */
	for (size_t k = 0; k < n; k++) {
		room += ch[idx[k]].type == RR_RRSIG ? ch[idx[k]].count : 1; /* RRSIG: a group per record at most */
		space += ch[idx[k]].type == RR_RRSIG ? ch[idx[k]].rdata_size : 0;
	}
	uint8_t *dyn_heap = NULL; /* a DYN RRset compiled by this call */
	struct rrset *sets = malloc((room ? room : 1) * sizeof(*sets)); /* 0: RRSIGs deleted where none are */
	uint8_t *regrouped = malloc(space ? space : 1), *at_space = regrouped;
	int rc = TERN_ENOMEM;
	if (!sets || !regrouped)
		goto out;
	size_t nsets = 0;
	long records = 0;
	for (uint16_t i = 0; old && i < old->nrrsets; i++) {
		sets[nsets++] = old->rrsets[i];
		records -= old->rrsets[i].count;
	}
	for (size_t k = 0; k < n; k++) { /* later changes of the same RRset win */
		const struct zone_change *c = &ch[idx[k]];
		size_t at = 0;
		if (c->type == RR_RRSIG) { /* every signature at the name goes, the change's come */
			for (size_t i = 0; i < nsets;)
				if (sets[i].type == RR_RRSIG)
					sets[i] = sets[--nsets];
				else
					i++;
			if (c->count && add_rrsig_groups(c, sets, &nsets, &at_space) < 0)
				goto out;
			continue;
		}
		while (at < nsets && sets[at].type != c->type)
			at++;
		if (c->count == 0) {
			if (at < nsets)
				sets[at] = sets[--nsets];
			continue;
		}
		uint32_t ttl = c->ttl; /* RFC 2181 5.2: differing TTLs count as the lowest */
		for (uint16_t i = 0; c->ttls && i < c->count; i++)
			ttl = i == 0 || c->ttls[i] < ttl ? c->ttls[i] : ttl;
		sets[at] = (struct rrset){
		    .type = c->type, .count = c->count, .ttl = ttl, .rdata = c->rdata, .rdata_size = c->rdata_size};
		nsets += at == nsets;
		if (c->type == RR_DYN) { /* compiled here; node_make() copies it with the records */
			char derr[512], text[1024];
			uint8_t *heap = NULL;
			int drc = dyn_attach(&sets[at], NULL, &heap, derr, sizeof(derr));
			if (drc == TERN_ENOMEM)
				goto out;
			if (drc < 0) {
				name_to_text(owner, text, sizeof(text));
				apply_error(a, idx[k], "DYN at %s: %s", text, derr);
			} else {
				free(dyn_heap); /* an earlier change of this DYN RRset in the batch, replaced */
				dyn_heap = heap;
			}
		}
	}
	rc = 0;
	if (nsets > UINT16_MAX) {
		char text[1024];
		name_to_text(owner, text, sizeof(text));
		apply_error(a, idx[n - 1], "more than %u RRsets at %s", UINT16_MAX, text);
		goto out;
	}
	qsort(sets, nsets, sizeof(sets[0]), type_cmp);
	check_node(a, idx[n - 1], owner, sets, (uint16_t)nsets);
	rc = a->errors ? 0 : put_owner(a, owner, old, sets, (uint16_t)nsets, records);
out:
	free(sets);
	free(regrouped);
	free(dyn_heap);
	return rc;
}

/* Puts the new RRsets of owner in place of old's (or takes the name out when none are left). */
static int put_owner(struct apply *a, const uint8_t *owner, const struct zone_node *old, const struct rrset *sets,
                     uint16_t nsets, long records)
{
	uint16_t flags = 0;
	bool apex = name_equal(owner, a->z->apex);
	for (uint16_t i = 0; i < nsets; i++) {
		records += sets[i].count;
		flags |= sets[i].type == RR_NS && !apex ? NODE_DELEG : 0;
		flags |= sets[i].type == RR_DNAME ? NODE_DNAME : 0;
		flags |= sets[i].type == RR_CNAME ? NODE_CNAME : 0;
		flags |= sets[i].type == RR_NSEC ? NODE_NSEC : sets[i].type == RR_NSEC3 ? NODE_NSEC3 : 0;
	}
	flags |= apex ? NODE_APEX : 0;
	a->z->nrecords = (size_t)((long)a->z->nrecords + records);
	uint32_t children = old ? old->children : 0;
	if (nsets == 0 && children == 0) { /* the name goes, and maybe empty ancestors with it */
		return old ? (drop_node(a, old) < 0 ? TERN_ENOMEM : fix_ancestors(a, owner, -1)) : 0;
	}
	struct zone_node *node = node_make(a, owner, sets, nsets, nsets ? flags : NODE_ENT, children);
	if (!node || put_node(a, node) < 0)
		return TERN_ENOMEM;
	return old ? 0 : fix_ancestors(a, owner, 1);
}

struct below {
	const uint8_t *dname;
	const struct zone_node *first; /* the first name below it in canonical order, with data */
};

static int find_below(void *arg, const struct zone_node *n)
{
	struct below *b = arg;
	if (n->nrrsets && !name_equal(n->owner, b->dname) && name_in(n->owner, b->dname) &&
	    (!b->first || name_cmp(n->owner, b->first->owner) < 0))
		b->first = n;
	return 0;
}

/* RFC 6672 2.3 on a name a batch touched, once every change is in (a batch may empty a subtree
 * and put a DNAME above it): a DNAME there has no name below it, and no ancestor holds one.
 * Walking up costs a lookup a label; the whole zone is searched only to name what is below a
 * refused DNAME. */
static void check_dname(struct apply *a, size_t change, const uint8_t *owner)
{
	const struct zone_node *n = zone_find(a->z, owner, name_len(owner));
	if (!n || !n->nrrsets)
		return;
	char dname[1024], below[1024];
	if ((n->flags & NODE_DNAME) && n->children) {
		struct below b = {n->owner, NULL};
		zone_foreach(a->z, find_below, &b);
		name_to_text(n->owner, dname, sizeof(dname));
		name_to_text(b.first ? b.first->owner : n->owner, below, sizeof(below));
		apply_error(a, change, ZONE_ERR_DNAME_BELOW, dname, below);
		return;
	}
	for (const uint8_t *p = name_parent(owner); p && name_labels(p) >= a->z->apex_labels; p = name_parent(p)) {
		const struct zone_node *up = zone_find(a->z, p, name_len(p));
		if (up && (up->flags & NODE_DNAME)) {
			name_to_text(up->owner, dname, sizeof(dname));
			name_to_text(owner, below, sizeof(below));
			apply_error(a, change, ZONE_ERR_DNAME_BELOW, dname, below);
			return;
		}
	}
}

static int owner_cmp(const void *pa, const void *pb, void *arg)
{
	const struct zone_change *ch = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	int c = name_cmp(ch[ia].owner, ch[ib].owner);
	return c ? c : (ia > ib) - (ia < ib); /* stable: batch order within one owner */
}

int zone_apply(const struct zone *prev, const struct zone_change *changes, size_t n, struct zone **out,
               struct zone_apply_error *e)
{
	if (e)
		*e = (struct zone_apply_error){.code = 0, .change = ZONE_APPLY_NO_CHANGE};
	struct zone *z = calloc(1, sizeof(*z));
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!z || !idx) {
		free(z);
		free(idx);
		if (e) {
			e->code = TERN_ENOMEM;
			snprintf(e->msg, sizeof(e->msg), "out of memory applying %zu changes", n);
		}
		return TERN_ENOMEM;
	}
	*z = (struct zone){
	    .root = prev->root, .mem = prev->mem, .base = prev, .nnodes = prev->nnodes, .nrecords = prev->nrecords};
	z->nsec_order = prev->nsec_order;
	z->nsec3_order = prev->nsec3_order;
	z->mem->refs++;
	zone_set_apex(z, prev->apex_node);
	struct apply a = {.z = z, .c = {&z->fresh, &z->retired, &z->mem->dead}, .e = e};
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), owner_cmp, (void *)changes);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		size_t j = i;
		while (j < n && name_equal(changes[idx[j]].owner, changes[idx[i]].owner))
			j++;
		rc = apply_owner(&a, changes, idx + i, j - i);
		i = j;
	}
	for (size_t i = 0; i < n && rc == 0 && !a.errors;) {
		size_t j = i;
		uint8_t owner[NAME_MAXLEN];
		while (j < n && name_equal(changes[idx[j]].owner, changes[idx[i]].owner))
			j++;
		name_lower_copy(owner, changes[idx[i]].owner, name_len(changes[idx[i]].owner));
		check_dname(&a, idx[j - 1], owner);
		i = j;
	}
	free(idx);
	if (rc == 0 && a.errors)
		rc = TERN_EZONE;
	if (rc < 0) {
		if (e) {
			e->code = rc;
			if (rc == TERN_ENOMEM && !a.errors)
				snprintf(e->msg, sizeof(e->msg), "out of memory applying %zu changes", n);
		}
		zone_discard(z);
		return rc;
	}
	/* the nodes made are immutable from here on, as every published node is */
	for (size_t i = 0; z->fresh && i < z->fresh->n; i++) {
		uintptr_t item = z->fresh->items[i];
		if ((item & 3) == TRIE_LEAF)
			((struct zone_node *)TRIE_PTR(item))->flags &= (uint16_t)~NODE_FRESH;
	}
	zone_set_apex(z, zone_find(z, z->apex, z->apex_len));
	*out = z;
	return 0;
}

/* ---- the difference between two versions ---- */

static int record_cmp(const void *pa, const void *pb)
{
	const uint8_t *a = *(const uint8_t *const *)pa, *b = *(const uint8_t *const *)pb;
	uint16_t la = rdata_len(a), lb = rdata_len(b);
	int c = memcmp(rdata_bytes(a), rdata_bytes(b), la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

/* Whether two RRsets hold the same TTL and the same records, in any order: 1 yes, 0 no, or
 * TERN_ENOMEM. */
static int rrset_same(const struct rrset *a, const struct rrset *b)
{
	if (!a || !b)
		return a == b;
	if (a->ttl != b->ttl || a->count != b->count || a->rdata_size != b->rdata_size)
		return 0;
	if (memcmp(a->rdata, b->rdata, a->rdata_size) == 0)
		return 1;
	const uint8_t **r = malloc(2 * (size_t)a->count * sizeof(*r));
	if (!r)
		return TERN_ENOMEM;
	const uint8_t *ra = a->rdata, *rb = b->rdata;
	for (uint16_t i = 0; i < a->count; i++, ra = rdata_next(ra), rb = rdata_next(rb)) {
		r[i] = ra;
		r[a->count + i] = rb;
	}
	qsort(r, a->count, sizeof(*r), record_cmp);
	qsort(r + a->count, a->count, sizeof(*r), record_cmp);
	int same = 1;
	for (uint16_t i = 0; i < a->count && same; i++)
		same = record_cmp(&r[i], &r[a->count + i]) == 0;
	free(r);
	return same;
}

static int rrset_key_cmp(const void *pa, const void *pb, void *arg)
{
	const struct zone_change *ch = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	int c = name_cmp(ch[ia].owner, ch[ib].owner);
	if (c)
		return c;
	return (ch[ia].type > ch[ib].type) - (ch[ia].type < ch[ib].type);
}

/* Every RRset of type at a name of z (RRSIG: a group per covered type, sorted by it): the first,
 * and *count of them; NULL and 0 when there is none. */
static const struct rrset *rrsets_at(const struct zone *z, const uint8_t *lowner, size_t len, uint16_t type,
                                     const struct zone_node **node, uint16_t *count)
{
	*node = zone_find(z, lowner, len);
	*count = 0;
	return *node ? zone_node_rrsets(*node, type, count) : NULL;
}

/* Whether two versions of one (owner, type) hold the same records, each with the same TTL: 1 yes,
 * 0 no, or TERN_ENOMEM. RRSIG groups are sorted by covered type and a group's TTL is each of its
 * records', so comparing them group by group compares every signature and its TTL. */
static int rrsets_same(const struct rrset *a, uint16_t na, const struct rrset *b, uint16_t nb)
{
	if (na != nb)
		return 0;
	for (uint16_t g = 0; g < na; g++) {
		int same = a[g].covered == b[g].covered ? rrset_same(&a[g], &b[g]) : 0;
		if (same <= 0)
			return same;
	}
	return 1;
}

int zone_diff(const struct zone *prev, const struct zone *next, const struct zone_change *changes, size_t n,
              zone_diff_fn fn, void *arg)
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return TERN_ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), rrset_key_cmp, (void *)changes);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct zone_change *c = &changes[idx[i]];
		if (i > 0 && rrset_key_cmp(&idx[i - 1], &idx[i], (void *)changes) == 0)
			continue; /* the same RRset again: its net effect is reported once */
		uint8_t owner[NAME_MAXLEN];
		size_t len = name_len(c->owner);
		name_lower_copy(owner, c->owner, len);
		const struct zone_node *was, *is;
		uint16_t nold, nnow;
		const struct rrset *old = rrsets_at(prev, owner, len, c->type, &was, &nold),
		                   *now = rrsets_at(next, owner, len, c->type, &is, &nnow);
		int same = rrsets_same(old, nold, now, nnow);
		if (same != 0) {
			rc = same < 0 ? same : 0;
			continue;
		}
		/* reported as the API, the store and the journal know it: RRSIG as every signature at
		 * the name, each with its TTL */
		struct zone_change before = {0}, after = {0};
		if (old)
			rc = zone_node_change(was, c->type, &before);
		if (rc == 0 && now)
			rc = zone_node_change(is, c->type, &after);
		before.owner = after.owner = owner;
		if (rc == 0)
			rc = fn(arg, owner, c->type, old ? &before : NULL, now ? &after : NULL);
		free((void *)before.rdata);
		free((void *)before.ttls);
		free((void *)after.rdata);
		free((void *)after.ttls);
	}
	free(idx);
	return rc;
}

int zone_apply_text(const struct zone *z, const struct zone_change *v, size_t n, struct zone **out, char *err,
                    size_t errlen)
{
	struct zone_apply_error *e = malloc(sizeof(*e));
	if (!e)
		return TERN_ENOMEM;
	int rc = zone_apply(z, v, n, out, e);
	if (rc < 0)
		snprintf(err, errlen, "%s", e->code == TERN_ENOMEM ? "out of memory" : e->msg);
	free(e);
	return rc;
}
