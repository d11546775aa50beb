/* The zone model: builds a validated, immutable snapshot (nodes in canonical order, empty
 * non-terminals made explicit, an open-addressed hash index) and looks names up in it. */
#include "lib/zone.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"

struct rec {
	const uint8_t *owner; /* lower-cased, in the zone's arena */
	const uint8_t *rdata; /* in the builder's scratch arena */
	const char *file;     /* where it came from when not the main source ($INCLUDE) */
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
};

struct zone_builder {
	uint8_t apex[NAME_MAXLEN];
	struct arena mem;     /* becomes the zone's */
	struct arena scratch; /* RDATA as read, freed after the build */
	struct rec *recs;
	size_t nrecs, cap;
	const uint8_t *last_owner; /* consecutive records share one owner copy */
	const char *file;          /* set by zone_builder_set_file() */
};

/* ---- lookup ---- */

static const struct zone_node *index_find(const struct zone_node *nodes, const uint32_t *index,
                                          uint32_t mask, const uint8_t *lname, size_t len, uint32_t hash)
{
	for (uint32_t h = hash & mask;; h = (h + 1) & mask) {
		uint32_t v = index[h];
		if (v == 0)
			return NULL;
		const struct zone_node *n = &nodes[v - 1];
		if (n->owner_len == len && memcmp(n->owner, lname, len) == 0)
			return n;
	}
}

const struct zone_node *zone_find(const struct zone *z, const uint8_t *lname, size_t len)
{
	return index_find(z->nodes, z->index, z->index_mask, lname, len, name_hash(lname));
}

const struct zone_node *zone_find_encloser_hashed(const struct zone *z, const uint8_t *lname, const uint32_t *hashes,
                                                  int labels, bool *exact)
{
	size_t len = name_len(lname);
	*exact = true;
	for (int i = 0; i < labels - z->apex_labels; i++) {
		const struct zone_node *n = index_find(z->nodes, z->index, z->index_mask, lname, len, hashes[i]);
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
	return zone_find_encloser_hashed(z, lname, hashes, labels, exact);
}

const struct rrset *zone_node_rrset(const struct zone_node *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

const struct zone_node *zone_wildcard_child(const struct zone *z, const struct zone_node *n)
{
	if (!(n->flags & NODE_WILDCARD_CHILD))
		return NULL;
	uint8_t buf[NAME_MAXLEN];
	if ((size_t)n->owner_len + 2 > NAME_MAXLEN)
		return NULL;
	buf[0] = 1;
	buf[1] = '*';
	memcpy(buf + 2, n->owner, n->owner_len);
	return zone_find(z, buf, (size_t)n->owner_len + 2);
}

uint32_t zone_negative_ttl(const struct zone *z)
{
	const uint8_t *rd = rdata_bytes(z->soa->rdata);
	size_t off = name_len(rd);
	off += name_len(rd + off);
	uint32_t minimum = wire_get32(rd + off + 16);
	return z->soa->ttl < minimum ? z->soa->ttl : minimum;
}

void zone_free(struct zone *z)
{
	if (!z)
		return;
	struct arena mem = z->mem; /* the zone struct itself lives in its arena */
	arena_free(&mem);
}

/* ---- building ---- */

struct zone_builder *zone_builder_new(const uint8_t *apex)
{
	struct zone_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	memcpy(b->apex, apex, name_len(apex));
	name_lower(b->apex);
	arena_init(&b->mem);
	arena_init(&b->scratch);
	return b;
}

void zone_builder_free(struct zone_builder *b)
{
	if (!b)
		return;
	arena_free(&b->mem);
	arena_free(&b->scratch);
	free(b->recs);
	free(b);
}

int zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen, uint32_t line)
{
	if (b->nrecs == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 256;
		struct rec *r = realloc(b->recs, ncap * sizeof(*r));
		if (!r)
			return TERN_ENOMEM;
		b->recs = r;
		b->cap = ncap;
	}
	size_t olen = name_len(owner);
	const uint8_t *o = b->last_owner;
	if (!o || !name_equal(o, owner)) {
		uint8_t *copy = arena_dup(&b->mem, owner, olen);
		if (!copy)
			return TERN_ENOMEM;
		name_lower(copy);
		o = b->last_owner = copy;
	}
	const uint8_t *rd = rdlen ? arena_dup(&b->scratch, rdata, rdlen) : (const uint8_t *)"";
	if (!rd)
		return TERN_ENOMEM;
	b->recs[b->nrecs++] = (struct rec){o, rd, b->file, ttl, line, type, rdlen};
	return 0;
}

int zone_builder_set_file(struct zone_builder *b, const char *file)
{
	if (file && b->file && strcmp(file, b->file) == 0)
		return 0;
	b->file = file ? arena_dup(&b->scratch, file, strlen(file) + 1) : NULL;
	return file && !b->file ? TERN_ENOMEM : 0;
}

struct errs {
	char *buf;
	size_t len, used;
	const char *source;
	int count;
};

static void errs_add(struct errs *e, const char *file, uint32_t line, const char *fmt, ...)
{
	e->count++;
	if (!e->buf || e->used + 1 >= e->len)
		return;
	const char *src = file ? file : e->source;
	int n = line ? snprintf(e->buf + e->used, e->len - e->used, "%s%s:%u: ", e->used ? "\n" : "", src, line)
	             : snprintf(e->buf + e->used, e->len - e->used, "%s%s: ", e->used ? "\n" : "", src);
	if (n < 0 || (size_t)n >= e->len - e->used) {
		e->used = e->len - 1;
		return;
	}
	e->used += (size_t)n;
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	e->used = (n < 0 || (size_t)n >= e->len - e->used) ? e->len - 1 : e->used + (size_t)n;
}

static int rdata_cmp(const uint8_t *a, uint16_t la, const uint8_t *b, uint16_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);
	return c ? c : (int)la - (int)lb;
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	if (a->owner != b->owner) {
		int c = name_cmp(a->owner, b->owner);
		if (c)
			return c;
	}
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	int c = rdata_cmp(a->rdata, a->rdlen, b->rdata, b->rdlen);
	return c ? c : (a->line > b->line) - (a->line < b->line);
}

static int node_cmp(const void *pa, const void *pb)
{
	const struct zone_node *a = pa, *b = pb;
	return name_cmp(a->owner, b->owner);
}

/* A growable node list with a hash index, used while ENTs are discovered. */
struct nodeset {
	struct zone_node *v;
	size_t n, cap;
	uint32_t *index;
	uint32_t mask;
};

static int nodeset_reindex(struct nodeset *s, size_t want)
{
	uint32_t size = 16;
	while (size < want * 2)
		size <<= 1;
	uint32_t *idx = calloc(size, sizeof(*idx));
	if (!idx)
		return TERN_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		uint32_t h = name_hash(s->v[i].owner) & (size - 1);
		while (idx[h])
			h = (h + 1) & (size - 1);
		idx[h] = (uint32_t)i + 1;
	}
	free(s->index);
	s->index = idx;
	s->mask = size - 1;
	return 0;
}

static int nodeset_push(struct nodeset *s, struct zone_node node)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct zone_node *v = realloc(s->v, ncap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		s->v = v;
		s->cap = ncap;
	}
	s->v[s->n++] = node;
	if ((s->n * 2 > s->mask + 1) && nodeset_reindex(s, s->n * 2) < 0)
		return TERN_ENOMEM;
	uint32_t h = name_hash(node.owner) & s->mask;
	while (s->index[h])
		h = (h + 1) & s->mask;
	s->index[h] = (uint32_t)s->n;
	return 0;
}

/* Groups sorted records into nodes and RRsets (in the zone arena); checks per-RRset rules. */
static int build_nodes(struct zone_builder *b, struct nodeset *ns, struct errs *e)
{
	size_t i = 0;
	while (i < b->nrecs) {
		size_t j = i;
		while (j < b->nrecs && b->recs[j].owner == b->recs[i].owner)
			j++;
		/* records of one owner: count types */
		uint16_t ntypes = 0;
		for (size_t k = i; k < j; k++)
			if (k == i || b->recs[k].type != b->recs[k - 1].type)
				ntypes++;
		struct rrset *sets = arena_alloc(&b->mem, ntypes * sizeof(*sets));
		if (!sets)
			return TERN_ENOMEM;
		struct zone_node node = {.owner = b->recs[i].owner, .rrsets = sets, .nrrsets = ntypes};
		node.owner_len = (uint8_t)name_len(node.owner);
		node.labels = (uint8_t)name_labels(node.owner);
		uint16_t si = 0;
		bool has_cname = false, has_other = false;
		uint32_t cname_line = 0;
		const char *cname_file = NULL;
		for (size_t k = i; k < j;) {
			size_t m = k, size = 0;
			while (m < j && b->recs[m].type == b->recs[k].type) {
				size += 2u + b->recs[m].rdlen;
				m++;
			}
			uint8_t *rd = arena_alloc(&b->mem, size ? size : 1);
			if (!rd)
				return TERN_ENOMEM;
			size_t off = 0;
			for (size_t r = k; r < m; r++) {
				wire_put16(rd + off, b->recs[r].rdlen);
				memcpy(rd + off + 2, b->recs[r].rdata, b->recs[r].rdlen);
				off += 2u + b->recs[r].rdlen;
			}
			uint16_t type = b->recs[k].type;
			uint32_t ttl = b->recs[k].ttl; /* RFC 2181 5.2: differing TTLs count as the lowest */
			for (size_t r = k + 1; r < m; r++)
				ttl = b->recs[r].ttl < ttl ? b->recs[r].ttl : ttl;
			sets[si++] = (struct rrset){.type = type, .count = (uint16_t)(m - k), .ttl = ttl,
			                            .rdata = rd, .rdata_size = (uint32_t)size};
			if (m - k > 65535)
				errs_add(e, b->recs[k].file, b->recs[k].line, "too many records in one RRset");
			char owner[1024] = "";
			if (k + 1 < m || type == RR_SOA) /* only error paths need the text */
				name_to_text(node.owner, owner, sizeof(owner));
			if (type == RR_CNAME) {
				has_cname = true;
				cname_line = b->recs[k].line;
				cname_file = b->recs[k].file;
				node.flags |= NODE_CNAME;
				if (m - k > 1)
					errs_add(e, b->recs[k + 1].file, b->recs[k + 1].line, "more than one CNAME record at %s", owner);
			} else if (type != RR_RRSIG && type != RR_NSEC) {
				has_other = true;
			}
			if (type == RR_DNAME) {
				node.flags |= NODE_DNAME;
				if (m - k > 1)
					errs_add(e, b->recs[k + 1].file, b->recs[k + 1].line, "more than one DNAME record at %s", owner);
			}
			if (type == RR_SOA) {
				if (!name_equal(node.owner, b->apex))
					errs_add(e, b->recs[k].file, b->recs[k].line, "SOA record for %s outside the zone apex", owner);
				else if (m - k > 1)
					errs_add(e, b->recs[k + 1].file, b->recs[k + 1].line, "more than one SOA record at the apex %s", owner);
			}
			if (type == RR_NS && !name_equal(node.owner, b->apex))
				node.flags |= NODE_DELEG;
			k = m;
		}
		if (has_cname && has_other) {
			char owner[1024];
			name_to_text(node.owner, owner, sizeof(owner));
			errs_add(e, cname_file, cname_line, "CNAME beside other data at %s", owner);
		}
		if (nodeset_push(ns, node) < 0)
			return TERN_ENOMEM;
		i = j;
	}
	return 0;
}

static const struct zone_node *nodeset_find(const struct nodeset *s, const uint8_t *name)
{
	return index_find(s->v, s->index, s->mask, name, name_len(name), name_hash(name));
}

/* Every ancestor between an owner and the apex must exist: add the missing ones as ENTs. */
static int add_empty_nonterminals(struct nodeset *ns, int apex_labels)
{
	size_t owners = ns->n;
	for (size_t i = 0; i < owners; i++) {
		const uint8_t *p = ns->v[i].owner;
		int labels = ns->v[i].labels;
		while (labels-- > apex_labels + 1) {
			p = name_parent(p);
			if (nodeset_find(ns, p))
				break;
			struct zone_node ent = {.owner = p, .flags = NODE_ENT, .labels = (uint8_t)labels};
			ent.owner_len = (uint8_t)name_len(p);
			if (nodeset_push(ns, ent) < 0)
				return TERN_ENOMEM;
		}
	}
	return 0;
}

static int check_records(struct zone_builder *b, struct errs *e)
{
	char tbuf[16], owner[1024];
	for (size_t i = 0; i < b->nrecs; i++) {
		const struct rec *r = &b->recs[i];
		if (!name_in(r->owner, b->apex)) {
			name_to_text(r->owner, owner, sizeof(owner));
			char apex[1024];
			name_to_text(b->apex, apex, sizeof(apex));
			errs_add(e, r->file, r->line, "out-of-zone data: %s is not in zone %s", owner, apex);
		} else if (rr_type_is_meta(r->type)) {
			errs_add(e, r->file, r->line, "type %s cannot appear in a zone", rr_type_name(r->type, tbuf));
		} else if (rr_rdata_check(r->type, r->rdata, r->rdlen) < 0) {
			name_to_text(r->owner, owner, sizeof(owner));
			errs_add(e, r->file, r->line, "bad RDATA for %s record at %s", rr_type_name(r->type, tbuf), owner);
		}
	}
	return e->count ? TERN_EZONE : 0;
}

/* Removes identical records (same owner, type and RDATA), which RFC 2181 5 makes one. */
static void dedupe(struct zone_builder *b)
{
	size_t o = 0;
	for (size_t i = 0; i < b->nrecs; i++) {
		if (o > 0) {
			const struct rec *p = &b->recs[o - 1], *r = &b->recs[i];
			if (p->owner == r->owner && p->type == r->type &&
			    rdata_cmp(p->rdata, p->rdlen, r->rdata, r->rdlen) == 0)
				continue;
		}
		b->recs[o++] = b->recs[i];
	}
	b->nrecs = o;
}

int zone_build(struct zone_builder *b, const char *source, struct zone **out, char *err, size_t errlen)
{
	struct errs e = {.buf = err, .len = errlen, .source = source};
	struct nodeset ns = {0};
	int rc = TERN_EZONE;
	if (err && errlen)
		err[0] = 0;
	/* One owner copy per name: records of the same owner that were not adjacent in the input
	 * still have distinct copies, so unify them after sorting by name. */
	if (check_records(b, &e) < 0)
		goto fail;
	if (b->nrecs)
		qsort(b->recs, b->nrecs, sizeof(*b->recs), rec_cmp);
	for (size_t i = 1; i < b->nrecs; i++)
		if (b->recs[i].owner != b->recs[i - 1].owner && name_equal(b->recs[i].owner, b->recs[i - 1].owner))
			b->recs[i].owner = b->recs[i - 1].owner;
	dedupe(b);
	rc = TERN_ENOMEM;
	if (nodeset_reindex(&ns, 64) < 0 || build_nodes(b, &ns, &e) < 0)
		goto fail;
	int apex_labels = name_labels(b->apex);
	if (add_empty_nonterminals(&ns, apex_labels) < 0)
		goto fail;
	/* Whole-zone problems point at the apex data: the SOA's line, else the first record's. */
	const struct zone_node *apex = nodeset_find(&ns, b->apex);
	const struct rrset *soa = apex ? zone_node_rrset(apex, RR_SOA) : NULL;
	uint32_t first = b->nrecs ? UINT32_MAX : 1, soa_line = 0;
	for (size_t i = 0; i < b->nrecs; i++) {
		if (!b->recs[i].file && b->recs[i].line < first)
			first = b->recs[i].line;
		if (b->recs[i].type == RR_SOA && name_equal(b->recs[i].owner, b->apex))
			soa_line = b->recs[i].line;
	}
	if (first == UINT32_MAX)
		first = 1;
	if (!soa)
		errs_add(&e, NULL, first, "missing SOA record at the zone apex");
	if (!apex || !zone_node_rrset(apex, RR_NS))
		errs_add(&e, NULL, soa_line ? soa_line : first, "no NS records at the zone apex");
	rc = TERN_EZONE;
	if (e.count)
		goto fail;

	/* Final layout: nodes in canonical order, index, parents, flags. */
	rc = TERN_ENOMEM;
	qsort(ns.v, ns.n, sizeof(*ns.v), node_cmp);
	struct zone *z = arena_alloc(&b->mem, sizeof(*z));
	struct zone_node *nodes = arena_alloc(&b->mem, ns.n * sizeof(*nodes));
	if (!z || !nodes)
		goto fail;
	memcpy(nodes, ns.v, ns.n * sizeof(*nodes));
	uint32_t size = 16;
	while (size < ns.n * 2)
		size <<= 1;
	uint32_t *index = arena_alloc(&b->mem, size * sizeof(*index));
	if (!index)
		goto fail;
	memset(index, 0, size * sizeof(*index));
	for (size_t i = 0; i < ns.n; i++) {
		uint32_t h = name_hash(nodes[i].owner) & (size - 1);
		while (index[h])
			h = (h + 1) & (size - 1);
		index[h] = (uint32_t)i + 1;
	}
	memset(z, 0, sizeof(*z));
	z->nodes = nodes;
	z->nnodes = ns.n;
	z->index = index;
	z->index_mask = size - 1;
	z->nrecords = b->nrecs;
	for (size_t i = 0; i < ns.n; i++) {
		struct zone_node *n = &nodes[i];
		if (n->labels == apex_labels) {
			n->flags |= NODE_APEX;
			n->flags &= (uint16_t)~NODE_DELEG;
			z->apex_node = n;
			continue;
		}
		const uint8_t *p = name_parent(n->owner);
		n->parent = zone_find(z, p, name_len(p));
		/* canonical order puts parents first, so their flags are final */
		if (n->parent->flags & (NODE_DELEG | NODE_NONAUTH))
			n->flags |= NODE_NONAUTH;
		if (name_is_wildcard(n->owner))
			((struct zone_node *)n->parent)->flags |= NODE_WILDCARD_CHILD;
	}
	z->apex = z->apex_node->owner;
	z->apex_len = z->apex_node->owner_len;
	z->apex_labels = (uint8_t)apex_labels;
	z->soa = zone_node_rrset(z->apex_node, RR_SOA);
	{
		const uint8_t *rd = rdata_bytes(z->soa->rdata);
		size_t off = name_len(rd);
		off += name_len(rd + off);
		z->serial = wire_get32(rd + off);
	}
	z->mem = b->mem;
	arena_init(&b->mem);
	*out = z;
	rc = 0;
fail:
	free(ns.v);
	free(ns.index);
	zone_builder_free(b);
	return rc;
}
