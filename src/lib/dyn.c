/* Dynamic answers: the selection of a client's answer from a compiled block, and the read-only
 * views of it (the model is described in dyn.h, the block's layout in dyn_impl.h). */
#include "lib/dyn.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/dyn_impl.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

/* ---- reading the block ---- */

size_t dyn_resource_size(const struct dyn_resource *r)
{
	return r->head.size;
}

size_t dyn_rrset_bytes(const struct rrset *rs)
{
	return rs->dyn ? dyn_trailer_offset(rs) + dyn_rrset_resource(rs)->head.size : rs->rdata_size;
}

static bool u128_le(struct u128 a, struct u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* The client's address with the bits past what it told as zero (RFC 7871 6). */
static void client_addr(const struct dyn_client *cl, uint8_t addr[16])
{
	int bits = bits_of(cl->family), known = cl->prefix < bits ? cl->prefix : bits;
	memset(addr, 0, 16);
	for (int b = 0; b < known; b++)
		addr[b / 8] |= (uint8_t)(cl->addr[b / 8] & (0x80 >> (b % 8)));
}

/* The geo entry for the client (-1: none), and the scope that choice holds for (dyn.h): the
 * stretch holding the client's address (*region, NULL when the family has no entries), and the
 * shortest prefix around the address that leaves out the addresses just outside the stretch. */
static inline __attribute__((always_inline)) int64_t
geo_match(const struct dyn_resource *r, const struct dyn_client *cl, uint8_t *scope, const struct cregion **region)
{
	*scope = 0;
	*region = NULL;
	unsigned fam = cl ? cl->family - 1u : 2; /* 0 = IPv4, 1 = IPv6, else none */
	if (fam > 1 || !r->entry_families[fam])
		return -1;
	int f = (int)fam, bits = bits_of(cl->family);
	int known = cl->prefix < bits ? cl->prefix : bits;
	/* the address as a number, bits past what the client told zero (RFC 7871 6) */
	struct u128 a = u128_of(cl->addr);
	if (f == 0)
		a.hi &= 0xffffffff00000000ull, a.lo = 0;
	if (known == 0)
		a.hi = a.lo = 0;
	else if (known <= 64)
		a.hi &= ~0ull << (64 - known), a.lo = 0;
	else if (known < 128)
		a.lo &= ~0ull << (128 - known);
	const struct cregion *v = (const struct cregion *)(const void *)((const uint8_t *)r + r->regions[f]);
	uint32_t n = r->nregions[f]; /* the last stretch whose first address is <= a: it exists, the first
	                              * stretch starts at the family's first address */
	if (f == 0) { /* the bucket, then the stretches it spans (struct dyn_resource) */
		const uint32_t *keys = (const uint32_t *)(const void *)((const uint8_t *)r + r->keys4);
		const uint32_t *index = (const uint32_t *)(const void *)((const uint8_t *)r + r->index4);
		uint32_t a4 = (uint32_t)(a.hi >> 32), lo = 0;
		if (a4 < r->index4_base) { /* the first stretch */
			n = 1;
		} else {
			uint64_t b = (uint64_t)(a4 - r->index4_base) >> r->index4_shift;
			if (b < r->index4_n) { /* between the bucket's stretch and the next bucket's */
				lo = index[b];
				n = index[b + 1] - lo + 1;
			} else { /* past the last bucket: the last stretch */
				lo = n - 1;
				n = 1;
			}
		}
		const uint32_t *k = keys + lo;
		while (n > 1) {
			uint32_t half = n / 2;
			k = k[half] <= a4 ? k + half : k;
			n -= half;
		}
		v += k - keys;
	} else {
		while (n > 1) {
			uint32_t half = n / 2;
			v = u128_le(v[half].first, a) ? v + half : v;
			n -= half;
		}
	}
	const struct cregion *g = v;
	*region = g;
	if (g->fixed_scope) {
		*scope = (uint8_t)(g->fixed_scope - 1);
		return g->entry;
	}
	int sc = 0;
	if (g->has_below)
		sc = u128_common(a, g->below) + 1;
	if (g->has_above) {
		int above = u128_common(a, g->above) + 1;
		sc = above > sc ? above : sc;
	}
	*scope = (uint8_t)(sc < bits ? sc : bits);
	return g->entry;
}

struct pick {
	const struct dyn_resource *r;
	int f; /* 0 = IPv4, 1 = IPv6 */
	dyn_health_fn health;
	void *ctx;
};

static bool member_live(const struct pick *p, const struct cpool *cp, const struct cmember *m)
{
	if (cp->weighted && m->weight == 0)
		return false; /* drained */
	if (m->monitor < 0 || !p->health)
		return true;
	return p->health(p->ctx, &monitor_at(p->r, m->monitor)->m, m->family, m->addr);
}

/* Members of the family live in a pool (pool_live() tests always_live inline first). */
static uint16_t pool_count_live(const struct pick *p, const struct cpool *cp)
{
	uint16_t live = 0;
	for (uint16_t k = 0; k < cp->count[p->f]; k++)
		live += member_live(p, cp, member_at(p->r, cp->first[p->f] + k));
	return live;
}

static inline uint16_t pool_live(const struct pick *p, const struct cpool *cp)
{
	return cp->always_live[p->f] ? cp->count[p->f] : pool_count_live(p, cp);
}

static void one_record(const struct dyn_resource *r, const struct cmember *m, struct rrset *out)
{
	out->count = 1;
	out->rdata = (const uint8_t *)r + m->rec;
	out->rdata_size = 2u + rdata_len(out->rdata); /* an address, or a CNAME resource's target */
}

/* One member by weight among those live (all, for the fallback). */
static void pick_weighted(const struct pick *p, const struct cpool *cp, bool all, uint32_t rnd, struct rrset *out)
{
	uint64_t total = 0;
	const struct cmember *last = NULL;
	for (uint16_t k = 0; k < cp->count[p->f]; k++) {
		const struct cmember *m = member_at(p->r, cp->first[p->f] + k);
		if (m->weight && (all || member_live(p, cp, m)))
			total += m->weight;
	}
	if (total == 0) { /* the fallback over a family whose members all weigh 0: the first member */
		one_record(p->r, member_at(p->r, cp->first[p->f]), out);
		return;
	}
	uint64_t target = ((uint64_t)rnd * total) >> 32; /* < total: some member takes it */
	last = member_at(p->r, cp->first[p->f]);
	for (uint16_t k = 0; k < cp->count[p->f]; k++) {
		const struct cmember *m = member_at(p->r, cp->first[p->f] + k);
		if (!m->weight || !(all || member_live(p, cp, m)))
			continue;
		last = m;
		if (target < m->weight)
			break;
		target -= m->weight;
	}
	one_record(p->r, last, out);
}

bool dyn_uses_geo(const struct dyn_resource *r)
{
	return r->ncodes > 0;
}

/* Whether a pool list has members of family f (else it stands aside for the next rule). */
static bool list_serves(const struct dyn_resource *r, const uint16_t *list, int f)
{
	for (uint16_t i = 0; i < list[0]; i++)
		if (pool_at(r, list[1 + i])->count[f])
			return true;
	return false;
}

/* Rules (b) and (c) of dyn.h: the country entry, then the continent entry, the database gives
 * the client; -1 when none applies. The scope grows to the database network's prefix. */
static int64_t code_match(const struct dyn_resource *r, const struct dyn_client *cl, int f, dyn_geo_fn geo, void *ctx,
                          uint8_t *scope, struct dyn_trace *trace)
{
	if (!r->ncodes || !geo || !cl || (cl->family != 1 && cl->family != 2))
		return -1;
	uint8_t addr[16];
	struct dyn_geo g;
	memset(&g, 0, sizeof(g));
	client_addr(cl, addr);
	geo(ctx, cl->family, addr, &g);
	uint8_t max = (uint8_t)bits_of(cl->family);
	if (g.prefix > max)
		g.prefix = max;
	if (g.prefix > *scope)
		*scope = g.prefix;
	if (trace) {
		trace->geo_asked = true;
		trace->geo = g;
	}
	if (!g.found)
		return -1;
	for (uint32_t i = 0; i < r->ncodes; i++) {
		const struct ccode *c = code_at(r, i);
		const char *want = c->kind == CODE_COUNTRY ? g.country : g.continent;
		if (want[0] == c->code[0] && want[1] == c->code[1] && want[0] && list_serves(r, list_at(r, c->list), f))
			return i; /* countries come first in the array */
	}
	return -1;
}

int dyn_select(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
               dyn_health_fn health, void *health_ctx, uint32_t rnd, uint8_t *scratch, struct rrset *out,
               uint8_t *scope, struct dyn_trace *trace)
{
	return dyn_select_geo(r, type, ttl, client, health, health_ctx, NULL, NULL, rnd, scratch, out, scope, trace);
}

/* dyn_select_geo() past the geo entry's match (entry, with *scope set): inlined into
 * dyn_select_geo() (explanations, tools) and into choose_listed() (the answer path, where every
 * test of trace folds away). */
static inline __attribute__((always_inline)) int
select_listed(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
              dyn_health_fn health, void *health_ctx, dyn_geo_fn geo, void *geo_ctx, uint32_t rnd, uint8_t *scratch,
              struct rrset *out, uint8_t *scope, struct dyn_trace *trace, int64_t entry)
{
	struct pick p = {r, type == RR_AAAA, health, health_ctx};
	int64_t code = -1;
	const uint16_t *list = NULL;
	if (entry >= 0 && entry_at(r, (uint32_t)entry)->serves[p.f]) /* else the next rule answers */
		list = list_at(r, entry_at(r, (uint32_t)entry)->list);
	else if ((code = code_match(r, client, p.f, geo, geo_ctx, scope, trace)) >= 0)
		list = list_at(r, code_at(r, (uint32_t)code)->list);
	else
		list = list_at(r, r->answer_list);
	if (trace) {
		trace->entry = code >= 0 ? (int)(r->nentries + (uint32_t)code) : (int)entry;
		trace->scope = *scope;
		trace->chosen = -1;
		if (code >= 0) {
			const struct ccode *c = code_at(r, (uint32_t)code);
			snprintf(trace->entry_text, sizeof(trace->entry_text), "%s %.2s",
			         c->kind == CODE_COUNTRY ? "country" : "continent", c->code);
		} else if (entry >= 0) {
			const struct centry *e = entry_at(r, (uint32_t)entry);
			char a[INET6_ADDRSTRLEN];
			inet_ntop(e->family == 1 ? AF_INET : AF_INET6, e->addr, a, sizeof(a));
			snprintf(trace->entry_text, sizeof(trace->entry_text), "%s/%u", a, e->prefix);
		}
	}
	*out = (struct rrset){.type = type, .ttl = ttl};
	const struct cpool *chosen = NULL, *first = NULL;
	uint16_t live = 0;
	for (uint16_t i = 0; i < list[0]; i++) {
		const struct cpool *cp = pool_at(r, list[1 + i]);
		uint16_t l = cp->count[p.f] ? pool_live(&p, cp) : 0;
		if (trace && i < DYN_TRACE_POOLS) {
			struct dyn_trace_pool *tp = &trace->pools[trace->npools++];
			snprintf(tp->name, sizeof(tp->name), "%s", (const char *)r + cp->name);
			tp->members = cp->count[p.f];
			tp->live = l;
		}
		if (!first && cp->count[p.f])
			first = cp;
		if (l && !chosen) {
			chosen = cp;
			live = l;
			if (trace)
				trace->chosen = i;
			if (!trace)
				break;
		}
	}
	bool fallback = !chosen;
	if (fallback) {
		if (!first) /* cannot happen: dyn_serves() saw members of the family in the answer list */
			return TERN_ENOTFOUND;
		chosen = first;
		live = chosen->count[p.f];
	}
	if (trace) {
		trace->fallback = fallback;
		trace->weighted = chosen->weighted;
	}
	if (chosen->weighted) {
		pick_weighted(&p, chosen, fallback, rnd, out);
		return 0;
	}
	if (fallback || live == chosen->count[p.f]) {
		out->count = chosen->count[p.f];
		out->rdata = (const uint8_t *)r + chosen->rdata[p.f];
		out->rdata_size = chosen->rdata_size[p.f];
		return 0;
	}
	size_t n = 0;
	for (uint16_t k = 0; k < chosen->count[p.f]; k++) {
		const struct cmember *m = member_at(r, chosen->first[p.f] + k);
		if (!member_live(&p, chosen, m))
			continue;
		size_t rl = m->family == 1 ? 6 : 18;
		memcpy(scratch + n, (const uint8_t *)r + m->rec, rl);
		n += rl;
		out->count++;
	}
	out->rdata = scratch;
	out->rdata_size = (uint32_t)n;
	return 0;
}

int dyn_select_geo(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
                   dyn_health_fn health, void *health_ctx, dyn_geo_fn geo, void *geo_ctx, uint32_t rnd,
                   uint8_t *scratch, struct rrset *out, uint8_t *scope, struct dyn_trace *trace)
{
	if (!dyn_serves(r, type))
		return TERN_ENOTFOUND;
	if (trace)
		memset(trace, 0, sizeof(*trace));
	const struct cregion *g;
	int64_t entry = geo_match(r, client, scope, &g);
	return select_listed(r, type, ttl, client, health, health_ctx, geo, geo_ctx, rnd, scratch, out, scope, trace,
	                     entry);
}

/* dyn_choose() when the entry has no fixed pool for the family: the lists, the monitors, the
 * database, the weights (out of line, so the usual answer stays short). */
static __attribute__((noinline)) int choose_listed(const struct rrset *rs, const struct dyn_client *client,
                                                   const struct dyn_env *env, uint32_t rnd, struct dyn_choice *out,
                                                   int64_t entry)
{
	return select_listed(dyn_rrset_resource(rs), rs->type, rs->ttl, client, env->health, env->health_ctx, env->geo,
	                     env->geo_ctx, rnd, out->scratch, &out->rrset, &out->scope, NULL, entry);
}

int dyn_choose(const struct rrset *rs, const struct dyn_client *client, const struct dyn_env *env, uint32_t rnd,
               struct dyn_choice *out)
{
	const struct dyn_resource *r = dyn_rrset_resource(rs);
	if (!dyn_serves(r, rs->type))
		return TERN_ENOTFOUND;
	const struct cregion *g;
	int64_t entry = geo_match(r, client, &out->scope, &g);
	int f = rs->type == RR_AAAA;
	if (!g || g->fixed[f] < 0)
		return choose_listed(rs, client, env, rnd, out, entry);
	/* the entry's first pool of the family, all of it live: what select_listed() would find */
	const struct cpool *cp = pool_at(r, g->fixed[f]);
	out->rrset = (struct rrset){.type = rs->type,
	                            .ttl = rs->ttl,
	                            .count = cp->count[f],
	                            .rdata = (const uint8_t *)r + cp->rdata[f],
	                            .rdata_size = cp->rdata_size[f]};
	return 0;
}

int dyn_attach(struct rrset *rs, struct arena *a, uint8_t **heap, char *err, size_t errlen)
{
	struct dyn_resource *r;
	size_t size;
	int rc = dyn_compile(rs->rdata, rs->rdata_size, rs->count, &r, &size, err, errlen);
	if (rc < 0)
		return rc;
	size_t off = dyn_trailer_offset(rs);
	uint8_t *p = a ? arena_alloc(a, off + size) : malloc(off + size);
	if (!p) {
		free(r);
		snprintf(err, errlen, "out of memory compiling a DYN resource");
		return TERN_ENOMEM;
	}
	memcpy(p, rs->rdata, rs->rdata_size);
	memset(p + rs->rdata_size, 0, off - rs->rdata_size);
	memcpy(p + off, r, size);
	free(r);
	rs->rdata = p;
	rs->dyn = 1;
	if (heap)
		*heap = p;
	return 0;
}

int dyn_foreach_monitored(const struct dyn_resource *r,
                          int (*fn)(void *arg, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr),
                          void *arg)
{
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct cmember *m = member_at(r, i);
		if (m->monitor < 0)
			continue;
		int rc = fn(arg, &monitor_at(r, m->monitor)->m, m->family, m->addr);
		if (rc)
			return rc;
	}
	return 0;
}

int dyn_default_pool(const struct dyn_resource *r, uint16_t type)
{
	if (!dyn_serves(r, type))
		return -1;
	const uint16_t *list = list_at(r, r->answer_list);
	for (uint16_t i = 0; i < list[0]; i++)
		if (pool_at(r, list[1 + i])->count[type == RR_AAAA])
			return list[1 + i];
	return -1;
}

int dyn_pool_count(const struct dyn_resource *r)
{
	return r->npools;
}

const char *dyn_pool_name(const struct dyn_resource *r, int pool)
{
	return (const char *)r + pool_at(r, pool)->name;
}

bool dyn_pool_weighted(const struct dyn_resource *r, int pool)
{
	return pool_at(r, pool)->weighted;
}

int dyn_pool_members(const struct dyn_resource *r, int pool, uint16_t type, struct dyn_member_view *out, int cap)
{
	const struct cpool *cp = pool_at(r, pool);
	int f = type == RR_AAAA, n = 0;
	if ((type == RR_CNAME) != (r->head.cname != 0))
		return 0; /* a CNAME resource has no address members, an address resource no names */
	for (uint16_t k = 0; k < cp->count[f] && n < cap; k++, n++) {
		const struct cmember *m = member_at(r, cp->first[f] + k);
		out[n] = (struct dyn_member_view){.family = m->family, .weight = cp->weighted ? m->weight : 1};
		memcpy(out[n].addr, m->addr, 16);
		if (m->family == FAMILY_NAME)
			out[n].name = rdata_bytes((const uint8_t *)r + m->rec);
		if (m->monitor >= 0) {
			out[n].monitor = &monitor_at(r, m->monitor)->m;
			out[n].monitor_name = (const char *)r + monitor_at(r, m->monitor)->name;
		}
	}
	return n;
}

static int list_copy(const uint16_t *list, int *pools, int cap)
{
	for (int i = 0; i < list[0] && i < cap; i++)
		pools[i] = list[1 + i];
	return list[0];
}

int dyn_answer_list(const struct dyn_resource *r, int *pools, int cap)
{
	return list_copy(list_at(r, r->answer_list), pools, cap);
}

int dyn_entry_count(const struct dyn_resource *r)
{
	return (int)r->nentries;
}

void dyn_entry(const struct dyn_resource *r, int i, struct dyn_entry_view *out)
{
	const struct centry *e = entry_at(r, (uint32_t)i);
	*out = (struct dyn_entry_view){.family = e->family, .prefix = e->prefix};
	memcpy(out->addr, e->addr, 16);
}

int dyn_entry_list(const struct dyn_resource *r, int i, int *pools, int cap)
{
	return list_copy(list_at(r, entry_at(r, (uint32_t)i)->list), pools, cap);
}

int dyn_code_count(const struct dyn_resource *r)
{
	return (int)r->ncodes;
}

void dyn_code(const struct dyn_resource *r, int i, struct dyn_code_view *out)
{
	const struct ccode *c = code_at(r, (uint32_t)i);
	*out = (struct dyn_code_view){.continent = c->kind == CODE_CONTINENT, .code = {c->code[0], c->code[1], 0}};
}

int dyn_code_list(const struct dyn_resource *r, int i, int *pools, int cap)
{
	return list_copy(list_at(r, code_at(r, (uint32_t)i)->list), pools, cap);
}

bool dyn_pool_monitored(const struct dyn_resource *r, int pool)
{
	const struct cpool *cp = pool_at(r, pool);
	for (int f = 0; f < 2; f++)
		for (uint16_t k = 0; k < cp->count[f]; k++)
			if (member_at(r, cp->first[f] + k)->monitor >= 0)
				return true;
	return false;
}
