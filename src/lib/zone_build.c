/* Building a zone's first snapshot from records (a zone file, the store): validation of the
 * zone's rules with file:line messages, RRsets grouped in canonical order, empty non-terminals
 * made explicit, everything in one arena and indexed by the hash trie. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zone_impl.h"

struct rec {
	const uint8_t *owner; /* lower-cased, in the zone's arena */
	const uint8_t *rdata; /* in the builder's scratch arena */
	const char *file; /* where it came from when not the main source ($INCLUDE) */
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
	uint16_t rdlen;
};

struct zone_builder {
	uint8_t apex[NAME_MAXLEN];
	struct zone_mem *mem; /* becomes the zone's */
	struct arena scratch; /* RDATA as read, freed after the build */
	struct rec *recs;
	size_t nrecs, cap;
	const uint8_t *last_owner; /* consecutive records share one owner copy */
	const char *file; /* set by zone_builder_set_file() */
};

struct zone_builder *zone_builder_new(const uint8_t *apex)
{
	struct zone_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	memcpy(b->apex, apex, name_len(apex));
	name_lower(b->apex);
	b->mem = zone_mem_new();
	arena_init(&b->scratch);
	if (!b->mem) {
		free(b);
		return NULL;
	}
	return b;
}

void zone_builder_free(struct zone_builder *b)
{
	if (!b)
		return;
	zone_mem_unref(b->mem);
	arena_free(&b->scratch);
	free(b->recs);
	free(b);
}

int zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                     uint16_t rdlen, uint32_t line)
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
		uint8_t *copy = arena_dup(&b->mem->arena, owner, olen);
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

static const struct zone_node *index_find(const struct zone_node *nodes, const uint32_t *index, uint32_t mask,
                                          const uint8_t *lname, size_t len, uint32_t hash)
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
		uint32_t h = s->v[i].hash & (size - 1);
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
	uint32_t h = node.hash & s->mask;
	while (s->index[h])
		h = (h + 1) & s->mask;
	s->index[h] = (uint32_t)s->n;
	return 0;
}

/* The DNAME whose subtree the names being grouped are in: in canonical order every name below
 * a DNAME follows it at once, so one pass finds them all (RFC 6672 2.3). */
struct dname_scope {
	const uint8_t *owner; /* NULL when outside every DNAME's subtree */
	const char *file;
	uint32_t line;
	bool reported;
};

static void dname_scope_enter(struct dname_scope *d, const uint8_t *owner, struct errs *e)
{
	if (!d->owner)
		return;
	if (!name_in(owner, d->owner)) {
		d->owner = NULL;
		return;
	}
	if (d->reported)
		return; /* one name below a DNAME is enough to act on */
	char dname[1024], below[1024];
	name_to_text(d->owner, dname, sizeof(dname));
	name_to_text(owner, below, sizeof(below));
	errs_add(e, d->file, d->line, ZONE_ERR_DNAME_BELOW, dname, below);
	d->reported = true;
}

/* The type an RRSIG record covers; 0 for every other type. */
static uint16_t rec_covered(const struct rec *r)
{
	return r->type == RR_RRSIG ? rrsig_covered(r->rdata, r->rdlen) : 0;
}

/* Whether two records of one owner belong to one RRset: the same type and, for RRSIG, the same
 * covered type (records sorted by RDATA are sorted by it: it is the first field). */
static bool same_rrset(const struct rec *a, const struct rec *b)
{
	return a->type == b->type && rec_covered(a) == rec_covered(b);
}

/* For the first RRSIG group of an owner (records k..j of it, sorted), the size of the response
 * to a query of type RRSIG there, which carries every group at once (zone_rrset_msg_size()); 0
 * for the groups after the first, so the union is judged and reported once. */
static size_t sigs_msg_size(const struct zone_builder *b, size_t k, size_t j)
{
	if (k > 0 && b->recs[k - 1].owner == b->recs[k].owner && b->recs[k - 1].type == RR_RRSIG)
		return 0;
	size_t count = 0, size = 0;
	for (size_t r = k; r < j && b->recs[r].type == RR_RRSIG; r++, count++)
		size += 2u + b->recs[r].rdlen;
	return zone_rrset_msg_size(b->recs[k].owner, (uint32_t)count, size);
}

/* Groups sorted records into nodes and RRsets (in the zone arena); checks per-RRset rules. */
static int build_nodes(struct zone_builder *b, struct nodeset *ns, struct errs *e)
{
	size_t i = 0;
	struct dname_scope scope = {0};
	while (i < b->nrecs) {
		size_t j = i;
		while (j < b->nrecs && b->recs[j].owner == b->recs[i].owner)
			j++;
		dname_scope_enter(&scope, b->recs[i].owner, e);
		size_t dname_rec = j; /* the DNAME record of this name, if any */
		/* records of one owner: count RRsets (RRSIGs: one per covered type) */
		size_t ntypes = 0;
		for (size_t k = i; k < j; k++)
			if (k == i || !same_rrset(&b->recs[k], &b->recs[k - 1]))
				ntypes++;
		if (ntypes > UINT16_MAX) { /* RRSIGs covering (nearly) every type, besides those types */
			char owner[1024];
			name_to_text(b->recs[i].owner, owner, sizeof(owner));
			errs_add(e, b->recs[j - 1].file, b->recs[j - 1].line, "more than %u RRsets at %s", UINT16_MAX,
			         owner);
			i = j;
			continue;
		}
		struct rrset *sets = arena_alloc(&b->mem->arena, ntypes * sizeof(*sets));
		if (!sets)
			return TERN_ENOMEM;
		struct zone_node node = {.owner = b->recs[i].owner, .rrsets = sets, .nrrsets = (uint16_t)ntypes};
		node.owner_len = (uint8_t)name_len(node.owner);
		node.labels = (uint8_t)name_labels(node.owner);
		node.hash = name_hash(node.owner);
		uint16_t si = 0;
		bool has_cname = false, has_other = false, has_dyn = false, has_addr = false;
		size_t dyn_rec = 0;
		uint32_t cname_line = 0;
		const char *cname_file = NULL;
		for (size_t k = i; k < j;) {
			size_t m = k, size = 0;
			while (m < j && same_rrset(&b->recs[m], &b->recs[k])) {
				size += 2u + b->recs[m].rdlen;
				m++;
			}
			uint8_t *rd = arena_alloc(&b->mem->arena, size ? size : 1);
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
			sets[si++] = (struct rrset){.type = type,
			                            .count = (uint16_t)(m - k),
			                            .ttl = ttl,
			                            .rdata = rd,
			                            .rdata_size = (uint32_t)size,
			                            .covered = rec_covered(&b->recs[k])};
			if (type == RR_DYN) {
				has_dyn = true;
				dyn_rec = k;
				char derr[512];
				int rc = dyn_attach(&sets[si - 1], &b->mem->arena, NULL, derr, sizeof(derr));
				if (rc == TERN_ENOMEM)
					return rc;
				if (rc < 0) {
					char owner[1024];
					name_to_text(node.owner, owner, sizeof(owner));
					errs_add(e, b->recs[k].file, b->recs[k].line, "DYN at %s: %s", owner, derr);
				}
			}
			has_addr |= type == RR_A || type == RR_AAAA;
			char owner[1024] = "";
			/* RRSIG: every group at the name counts as one RRset here, checked at the first
			 * (ZONE_MSG_MAX in lib/zone.h says why; zone_apply() checks the same union) */
			size_t msg = type == RR_RRSIG ? sigs_msg_size(b, k, j)
			                              : zone_rrset_msg_size(node.owner, (uint32_t)(m - k), size);
			if (k + 1 < m || type == RR_SOA || msg > ZONE_MSG_MAX) /* only error paths need the text */
				name_to_text(node.owner, owner, sizeof(owner));
			if (msg > ZONE_MSG_MAX && type == RR_RRSIG) {
				errs_add(e, b->recs[k].file, b->recs[k].line, ZONE_ERR_SIGS_TOO_LARGE, owner, msg,
				         ZONE_MSG_MAX);
			} else if (msg > ZONE_MSG_MAX) { /* also bounds the count: a record takes 12 octets at least */
				char tbuf[16];
				errs_add(e, b->recs[k].file, b->recs[k].line, ZONE_ERR_TOO_LARGE,
				         rr_type_name(type, tbuf), owner, msg, ZONE_MSG_MAX);
			}
			if (type == RR_CNAME) {
				has_cname = true;
				cname_line = b->recs[k].line;
				cname_file = b->recs[k].file;
				node.flags |= NODE_CNAME;
				if (m - k > 1)
					errs_add(e, b->recs[k + 1].file, b->recs[k + 1].line,
					         "more than one CNAME record at %s", owner);
			} else if (type != RR_RRSIG && type != RR_NSEC) {
				has_other = true;
			}
			if (type == RR_DNAME) {
				node.flags |= NODE_DNAME;
				dname_rec = k;
				if (m - k > 1)
					errs_add(e, b->recs[k + 1].file, b->recs[k + 1].line,
					         "more than one DNAME record at %s", owner);
			}
			if (type == RR_SOA) {
				if (!name_equal(node.owner, b->apex))
					errs_add(e, b->recs[k].file, b->recs[k].line,
					         "SOA record for %s outside the zone apex", owner);
				else if (m - k > 1)
					errs_add(e, b->recs[k + 1].file, b->recs[k + 1].line,
					         "more than one SOA record at the apex %s", owner);
			}
			if (type == RR_NS && !name_equal(node.owner, b->apex))
				node.flags |= NODE_DELEG;
			node.flags |= type == RR_NSEC ? NODE_NSEC : type == RR_NSEC3 ? NODE_NSEC3 : 0;
			k = m;
		}
		char fb[64];
		const char *fault =
		    has_dyn ? zone_dyn_cname_fault(sets, si, name_equal(node.owner, b->apex), fb) : NULL;
		if (fault) {
			char owner[1024];
			name_to_text(node.owner, owner, sizeof(owner));
			errs_add(e, b->recs[dyn_rec].file, b->recs[dyn_rec].line, ZONE_ERR_DYN_CNAME, owner, fault);
		} else if (has_dyn && (has_addr || (node.flags & NODE_DELEG))) {
			char owner[1024];
			name_to_text(node.owner, owner, sizeof(owner));
			errs_add(e, b->recs[dyn_rec].file, b->recs[dyn_rec].line, ZONE_ERR_DYN_BESIDE, owner,
			         has_addr ? "A or AAAA records" : "a delegation (NS)");
		}
		if (has_cname && has_other) {
			char owner[1024];
			name_to_text(node.owner, owner, sizeof(owner));
			errs_add(e, cname_file, cname_line, "CNAME beside other data at %s", owner);
		}
		if (dname_rec < j && (node.flags & NODE_DELEG)) {
			char owner[1024];
			name_to_text(node.owner, owner, sizeof(owner));
			errs_add(e, b->recs[dname_rec].file, b->recs[dname_rec].line, ZONE_ERR_DNAME_NS, owner);
		}
		if (dname_rec < j && !scope.owner)
			scope =
			    (struct dname_scope){node.owner, b->recs[dname_rec].file, b->recs[dname_rec].line, false};
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
			struct zone_node ent = {
			    .owner = p, .flags = NODE_ENT, .labels = (uint8_t)labels, .hash = name_hash(p)};
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
			errs_add(e, r->file, r->line, "bad RDATA for %s record at %s", rr_type_name(r->type, tbuf),
			         owner);
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

/* The ordered views of the names holding NSEC and NSEC3. nodes come in canonical order (the
 * records were sorted; the empty non-terminals appended last hold nothing); ptrs is scratch room
 * for n pointers. A zone without either builds nothing. */
static int build_orders(struct arena *a, const struct zone_node *nodes, size_t n, const struct zone_node **ptrs,
                        struct zone *z)
{
	static const uint16_t kinds[2] = {NODE_NSEC, NODE_NSEC3};
	for (int k = 0; k < 2; k++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (nodes[i].flags & kinds[k])
				ptrs[m++] = &nodes[i];
		if (order_build(a, ptrs, m, k == 0 ? &z->nsec_order : &z->nsec3_order) < 0)
			return TERN_ENOMEM;
	}
	return 0;
}

int zone_build(struct zone_builder *b, const char *source, struct zone **out, char *err, size_t errlen)
{
	struct errs e = {.buf = err, .len = errlen, .source = source};
	struct nodeset ns = {0};
	const struct zone_node **ptrs = NULL;
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

	/* Final layout: flags, children counts, nodes in the arena, the trie. */
	rc = TERN_ENOMEM;
	for (size_t i = 0; i < ns.n; i++) {
		struct zone_node *n = &ns.v[i];
		if (n->labels == apex_labels) {
			n->flags |= NODE_APEX;
			n->flags &= (uint16_t)~NODE_DELEG;
			continue;
		}
		struct zone_node *parent = (struct zone_node *)nodeset_find(&ns, name_parent(n->owner));
		parent->children++;
	}
	struct zone *z = calloc(1, sizeof(*z));
	struct zone_node *nodes = arena_alloc(&b->mem->arena, ns.n * sizeof(*nodes));
	ptrs = malloc(ns.n * sizeof(*ptrs));
	if (!z || !nodes || !ptrs) {
		free(z);
		goto fail;
	}
	memcpy(nodes, ns.v, ns.n * sizeof(*nodes));
	for (size_t i = 0; i < ns.n; i++)
		ptrs[i] = &nodes[i];
	if (trie_build(&b->mem->arena, ptrs, ns.n, &z->root) < 0) {
		free(z);
		goto fail;
	}
	if (build_orders(&b->mem->arena, nodes, ns.n, ptrs, z) < 0) {
		free(z);
		goto fail;
	}
	z->nnodes = ns.n;
	z->nrecords = b->nrecs;
	zone_set_apex(z, zone_find(z, b->apex, name_len(b->apex)));
	z->mem = b->mem;
	b->mem = NULL;
	*out = z;
	rc = 0;
fail:
	free(ptrs);
	free(ns.v);
	free(ns.index);
	zone_builder_free(b);
	return rc;
}

/* ---- a copy with another serial ---- */

struct reserial {
	struct zone_builder *b;
	uint32_t serial;
};

static int reserial_node(void *arg, const struct zone_node *n)
{
	struct reserial *r = arg;
	uint8_t soa[2 * NAME_MAXLEN + 20];
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; k < rs->count; k++, rec = rdata_next(rec)) {
			const uint8_t *rd = rdata_bytes(rec);
			uint16_t len = rdata_len(rec);
			if (rs->type == RR_SOA && len <= sizeof(soa)) {
				memcpy(soa, rd, len);
				wire_put32(soa + rr_soa_serial_offset(soa), r->serial);
				rd = soa;
			}
			if (zone_builder_add(r->b, n->owner, rs->type, rs->ttl, rd, len, 0) < 0)
				return TERN_ENOMEM;
		}
	}
	return 0;
}

int zone_with_serial(const struct zone *z, uint32_t serial, struct zone **out, char *err, size_t errlen)
{
	struct reserial r = {zone_builder_new(z->apex), serial};
	int rc = r.b ? zone_foreach(z, reserial_node, &r) : TERN_ENOMEM;
	if (rc < 0) {
		zone_builder_free(r.b);
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return zone_build(r.b, "zonefile", out, err, errlen);
}
