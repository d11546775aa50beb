/* libFuzzer harness for zone_apply(): batches of RRset changes (as the API and IXFR produce)
 * decoded from the input are applied in a chain of snapshots, each checked against a plain
 * model of the zone; the previous snapshot must stay intact, and publishing (zone_supersede,
 * zone_free) or throwing away (zone_discard) must neither leak nor free what is still used.
 * zone_diff() of each batch, applied to the previous model, must give the next one. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "fuzz_zone_check.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_zone_apply: invariant violated: %s\n", what);
	abort();
}

/* ---- the model: a list of RRsets ---- */

#define MODEL_MAX 1024

struct mset {
	uint8_t owner[NAME_MAXLEN]; /* lower-cased */
	uint16_t type, count;
	uint32_t ttl, size;
	uint8_t *rdata; /* malloc'd, rrset layout */
	uint32_t *ttls; /* malloc'd, each record's TTL: RRSIGs keep theirs per covered type */
};

struct model {
	struct mset *v;
	size_t n;
};

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].rdata);
		free(m->v[i].ttls);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static void model_copy(struct model *dst, const struct model *src)
{
	dst->v = calloc(MODEL_MAX, sizeof(*dst->v));
	if (!dst->v)
		abort();
	dst->n = src->n;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].rdata = malloc(src->v[i].size ? src->v[i].size : 1);
		dst->v[i].ttls = malloc((src->v[i].count + 1u) * sizeof(uint32_t));
		if (!dst->v[i].rdata || !dst->v[i].ttls)
			abort();
		memcpy(dst->v[i].rdata, src->v[i].rdata, src->v[i].size);
		memcpy(dst->v[i].ttls, src->v[i].ttls, src->v[i].count * sizeof(uint32_t));
	}
}

static struct mset *model_find(struct model *m, const uint8_t *lowner, uint16_t type)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].type == type && name_equal(m->v[i].owner, lowner))
			return &m->v[i];
	return NULL;
}

/* Sets (count > 0) or deletes (count == 0) one RRset; ttls (or ttl) gives each record's TTL, and
 * an RRset other than RRSIG takes the lowest (RFC 2181 5.2). append adds to what is there. */
static void model_set(struct model *m, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint32_t *ttls,
                      uint16_t count, const uint8_t *rdata, uint32_t size, bool append)
{
	uint8_t lowner[NAME_MAXLEN];
	size_t len = name_len(owner);
	memcpy(lowner, owner, len);
	name_lower(lowner);
	struct mset *s = model_find(m, lowner, type);
	if (count == 0) {
		if (s) {
			free(s->rdata);
			free(s->ttls);
			*s = m->v[--m->n];
		}
		return;
	}
	if (s && append) { /* one more RRSIG group of a name, as the base was built */
		uint8_t *rd = malloc(s->size + size);
		uint32_t *t = malloc((s->count + count + 1u) * sizeof(uint32_t));
		if (!rd || !t)
			abort();
		memcpy(rd, s->rdata, s->size);
		memcpy(rd + s->size, rdata, size);
		memcpy(t, s->ttls, s->count * sizeof(uint32_t));
		for (uint16_t i = 0; i < count; i++)
			t[s->count + i] = ttls ? ttls[i] : ttl;
		free(s->rdata);
		free(s->ttls);
		s->rdata = rd;
		s->ttls = t;
		s->size += size;
		s->count = (uint16_t)(s->count + count);
		return;
	}
	if (!s) {
		if (m->n == MODEL_MAX)
			abort();
		s = &m->v[m->n++];
		memset(s, 0, sizeof(*s));
		memcpy(s->owner, lowner, len);
		s->type = type;
	}
	free(s->rdata);
	free(s->ttls);
	s->ttl = ttls ? ttls[0] : ttl;
	s->count = count;
	s->size = size;
	s->rdata = malloc(size ? size : 1);
	s->ttls = malloc((count + 1u) * sizeof(uint32_t));
	if (!s->rdata || !s->ttls)
		abort();
	memcpy(s->rdata, rdata, size);
	for (uint16_t i = 0; i < count; i++) {
		s->ttls[i] = ttls ? ttls[i] : ttl;
		s->ttl = s->ttls[i] < s->ttl ? s->ttls[i] : s->ttl;
	}
}

/* The zone's RRSIGs at n against the model's: every record in the group of the type it covers,
 * each group with the lowest TTL of its records. */
static void check_rrsigs(const struct zone_node *n, const struct mset *s)
{
	uint16_t groups;
	const struct rrset *g = zone_node_rrsets(n, RR_RRSIG, &groups);
	size_t count = 0, size = 0;
	for (uint16_t i = 0; i < groups; i++) {
		count += g[i].count;
		size += g[i].rdata_size;
	}
	if (count != s->count || size != s->size)
		fail("the RRSIGs of a name differ from the model");
	const uint8_t *rec = s->rdata;
	for (uint16_t i = 0; i < s->count; i++, rec = rdata_next(rec)) {
		uint16_t covered = rrsig_covered(rdata_bytes(rec), rdata_len(rec));
		const struct rrset *rs = zone_node_rrsig(n, covered);
		if (!rs)
			fail("an RRSIG of the model is missing");
		bool found = false;
		const uint8_t *r = rs->rdata;
		for (uint16_t k = 0; k < rs->count && !found; k++, r = rdata_next(r))
			found = rdata_len(r) == rdata_len(rec) && memcmp(r, rec, 2u + rdata_len(rec)) == 0;
		uint32_t ttl = UINT32_MAX;
		const uint8_t *o = s->rdata;
		for (uint16_t k = 0; k < s->count; k++, o = rdata_next(o))
			if (rrsig_covered(rdata_bytes(o), rdata_len(o)) == covered && s->ttls[k] < ttl)
				ttl = s->ttls[k];
		if (!found || rs->ttl != ttl)
			fail("an RRSIG group differs from the model (records or TTL)");
	}
}

/* ---- zone_diff(): the previous model plus the difference is the next model ---- */

static int rec_cmp(const void *pa, const void *pb)
{
	const uint8_t *a = *(const uint8_t *const *)pa, *b = *(const uint8_t *const *)pb;
	size_t la = 2u + (size_t)(a[0] << 8 | a[1]), lb = 2u + (size_t)(b[0] << 8 | b[1]);
	int c = memcmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

/* One version of an RRset for comparing: its records, each with the TTL the zone gives it. */
struct side {
	uint16_t count;
	uint32_t size;
	const uint8_t *rdata;
	uint32_t ttl; /* every record's, when ttls is NULL */
	const uint32_t *ttls;
};

struct rec_ttl {
	const uint8_t *rec;
	uint32_t ttl;
};

static int rec_ttl_cmp(const void *pa, const void *pb)
{
	const struct rec_ttl *a = pa, *b = pb;
	int c = rec_cmp(&a->rec, &b->rec);
	return c ? c : (a->ttl > b->ttl) - (a->ttl < b->ttl);
}

/* The same records, each with the same TTL, in any order. */
static bool same_set(const struct side *a, const struct side *b)
{
	if (a->count != b->count || a->size != b->size)
		return false;
	static struct rec_ttl ra[65536], rb[65536];
	const uint8_t *x = a->rdata, *y = b->rdata;
	for (uint16_t i = 0; i < a->count; i++, x = rdata_next(x), y = rdata_next(y)) {
		ra[i] = (struct rec_ttl){x, a->ttls ? a->ttls[i] : a->ttl};
		rb[i] = (struct rec_ttl){y, b->ttls ? b->ttls[i] : b->ttl};
	}
	qsort(ra, a->count, sizeof(*ra), rec_ttl_cmp);
	qsort(rb, a->count, sizeof(*rb), rec_ttl_cmp);
	for (uint16_t i = 0; i < a->count; i++)
		if (rec_ttl_cmp(&ra[i], &rb[i]) != 0)
			return false;
	return true;
}

/* A model RRset as the zone serves it: RRSIGs each at the lowest TTL of their covered type's
 * records (the group's), other types at their lowest; ttls must hold s->count entries. */
static struct side model_side(const struct mset *s, uint32_t *ttls)
{
	const uint8_t *r = s->rdata;
	for (uint16_t i = 0; i < s->count; i++, r = rdata_next(r)) {
		ttls[i] = s->ttl;
		if (s->type != RR_RRSIG)
			continue;
		uint16_t covered = rrsig_covered(rdata_bytes(r), rdata_len(r));
		ttls[i] = UINT32_MAX;
		const uint8_t *o = s->rdata;
		for (uint16_t k = 0; k < s->count; k++, o = rdata_next(o))
			if (rrsig_covered(rdata_bytes(o), rdata_len(o)) == covered && s->ttls[k] < ttls[i])
				ttls[i] = s->ttls[k];
	}
	return (struct side){s->count, s->size, s->rdata, s->ttl, ttls};
}

static struct side change_side(const struct zone_change *c)
{
	return (struct side){c->count, c->rdata_size, c->rdata, c->ttl, c->ttls};
}

/* zone_diff() reports each RRset whole on both sides, RRSIG as every signature at the name with
 * each record's TTL: the model follows it as a secondary follows the journal. */
static int follow_diff(void *arg, const uint8_t *owner, uint16_t type, const struct zone_change *old,
                       const struct zone_change *now)
{
	struct model *m = arg;
	static uint32_t ttls[65536];
	const struct mset *s = model_find(m, owner, type);
	if (old && (old->type != type || !name_equal(old->owner, owner)))
		fail("zone_diff: old names another RRset");
	if (now && (now->type != type || !name_equal(now->owner, owner)))
		fail("zone_diff: now names another RRset");
	if ((old && old->ttls) != (old && type == RR_RRSIG) || (now && now->ttls) != (now && type == RR_RRSIG))
		fail("zone_diff: per-record TTLs given for another type than RRSIG, or missing for RRSIG");
	struct side was = old ? change_side(old) : (struct side){0};
	if ((s != NULL) != (old != NULL) || (s && !same_set((struct side[]){model_side(s, ttls)}, &was)))
		fail("zone_diff: old is not what the previous version held (records or TTLs)");
	if (old && now && same_set(&was, (struct side[]){change_side(now)}))
		fail("zone_diff reports an RRset that did not change");
	if (!old && !now)
		fail("zone_diff reports an RRset absent from both versions");
	model_set(m, owner, type, now ? now->ttl : 0, now ? now->ttls : NULL, now ? now->count : 0,
	          now ? now->rdata : NULL, now ? now->rdata_size : 0, false);
	return 0;
}

static void check_same_models(const struct model *a, const struct model *b)
{
	static uint32_t ta[65536], tb[65536];
	if (a->n != b->n)
		fail("zone_diff: previous version + difference holds another number of RRsets");
	for (size_t i = 0; i < a->n; i++) {
		const struct mset *x = &a->v[i], *y = model_find((struct model *)b, x->owner, x->type);
		if (!y || !same_set((struct side[]){model_side(x, ta)}, (struct side[]){model_side(y, tb)}))
			fail("zone_diff: previous version + difference is not the next version");
	}
}

/* ---- checking a snapshot against a model ---- */

struct walk {
	const struct zone *z;
	const struct model *m;
	const struct zone_node *nodes[4 * MODEL_MAX];
	size_t n;
};

static int collect(void *arg, const struct zone_node *n)
{
	struct walk *w = arg;
	if (w->n == sizeof(w->nodes) / sizeof(w->nodes[0]))
		fail("more nodes than the model can hold");
	w->nodes[w->n++] = n;
	return 0;
}

static void check_zone(const struct zone *z, const struct model *m)
{
	static struct walk w;
	w.z = z;
	w.m = m;
	w.n = 0;
	zone_foreach(z, collect, &w);
	if (w.n != z->nnodes)
		fail("nnodes differs from the nodes in the trie");
	if (!z->apex_node || !z->soa || zone_node_rrset(z->apex_node, RR_SOA) != z->soa)
		fail("apex or SOA pointer wrong");
	if (zone_find(z, z->apex, z->apex_len) != z->apex_node)
		fail("apex_node is not the apex found by lookup");

	/* every model RRset is in the zone, byte for byte */
	size_t records = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct mset *s = &m->v[i];
		const struct zone_node *n = zone_find(z, s->owner, name_len(s->owner));
		if (!n)
			fail("a name of the model is missing");
		if (s->type == RR_RRSIG) {
			check_rrsigs(n, s);
			records += s->count;
			continue;
		}
		const struct rrset *rs = zone_node_rrset(n, s->type);
		if (!rs)
			fail("an RRset of the model is missing");
		if (rs->count != s->count || rs->ttl != s->ttl || rs->rdata_size != s->size ||
		    memcmp(rs->rdata, s->rdata, s->size) != 0)
			fail("an RRset differs from the model");
		records += s->count;
	}
	if (records != z->nrecords)
		fail("nrecords differs from the model");

	size_t sets = 0;
	for (size_t i = 0; i < w.n; i++) {
		const struct zone_node *n = w.nodes[i];
		uint16_t groups;
		zone_node_rrsets(n, RR_RRSIG, &groups);
		sets += n->nrrsets - (groups ? groups - 1u : 0u); /* the model holds a name's RRSIGs as one */
		fuzz_check_owner(z, n, fail);
		if (zone_find(z, n->owner, n->owner_len) != n)
			fail("lookup does not find a node of the trie");
		bool apex = n->owner_len == z->apex_len && memcmp(n->owner, z->apex, z->apex_len) == 0;
		bool cname = false, other = false;
		uint16_t want = apex ? NODE_APEX : 0;
		for (uint16_t k = 0; k < n->nrrsets; k++) {
			uint16_t t = n->rrsets[k].type;
			if (k > 0 && (t < n->rrsets[k - 1].type || (t == n->rrsets[k - 1].type && t != RR_RRSIG)))
				fail("RRsets not sorted by type");
			want |= (t == RR_NS && !apex) ? NODE_DELEG : 0;
			want |= t == RR_CNAME ? NODE_CNAME : 0;
			want |= t == RR_DNAME ? NODE_DNAME : 0;
			want |= t == RR_NSEC ? NODE_NSEC : 0; /* a member of the NSEC order */
			want |= t == RR_NSEC3 ? NODE_NSEC3 : 0;
			cname |= t == RR_CNAME;
			other |= t != RR_CNAME && t != RR_RRSIG && t != RR_NSEC;
			if (t == RR_SOA && !apex)
				fail("SOA below the apex");
			if ((t == RR_SOA || t == RR_CNAME || t == RR_DNAME) && n->rrsets[k].count != 1)
				fail("more than one SOA, CNAME or DNAME record");
		}
		if (cname && other)
			fail("CNAME beside other data");
		if (n->nrrsets == 0)
			want |= NODE_ENT;
		if ((n->flags & (uint16_t)~NODE_HEAP) != want)
			fail("node flags do not match its RRsets");
		/* children: the nodes exactly one label below */
		uint32_t children = 0;
		for (size_t k = 0; k < w.n; k++)
			if (w.nodes[k]->labels == n->labels + 1 && name_in(w.nodes[k]->owner, n->owner))
				children++;
		if (children != n->children)
			fail("children count wrong");
		if (n->nrrsets == 0 && children == 0)
			fail("empty non-terminal without children");
		if (!apex) {
			const uint8_t *p = name_parent(n->owner);
			if (!zone_find(z, p, name_len(p)))
				fail("a node's parent is missing");
		}
	}
	if (sets != m->n)
		fail("the zone holds RRsets the model does not");
	if (!zone_node_rrset(z->apex_node, RR_NS))
		fail("apex without NS");
}

/* ---- the base zones ---- */

static const char base_text[] = "$ORIGIN example.com.\n$TTL 300\n"
                                "@ SOA ns1 h 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2.example.net.\n"
                                "ns1 A 192.0.2.1\nwww A 192.0.2.2\nwww AAAA ::1\na.b.c A 192.0.2.3\n"
                                "*.w TXT \"x\"\ncn CNAME www\ndn DNAME example.net.\nsub NS ns.sub\n"
                                "sub DS 1 1 1 00\nns.sub A 192.0.2.4\nx.y.z.deep TXT \"d\"\n"
                                "cnsig CNAME www\ncnsig RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 "
                                "example.com. AAAA\n";

static uint8_t apex[NAME_MAXLEN];
static char *wide_text; /* the base plus one name holding more RRset types than a change may add */
static size_t wide_len;

#define NNAMES 40
static uint8_t names[NNAMES][NAME_MAXLEN];
static const char *const name_text[NNAMES] = {
    "example.com.",
    "ns1.example.com.",
    "www.example.com.",
    "WWW.Example.COM.",
    "a.b.c.example.com.",
    "b.c.example.com.",
    "c.example.com.",
    "*.w.example.com.",
    "w.example.com.",
    "x.w.example.com.",
    "cn.example.com.",
    "dn.example.com.",
    "x.dn.example.com.",
    "sub.example.com.",
    "ns.sub.example.com.",
    "x.y.z.deep.example.com.",
    "y.z.deep.example.com.",
    "z.deep.example.com.",
    "deep.example.com.",
    "new.example.com.",
    "n1.new.example.com.",
    "n2.n1.new.example.com.",
    "*.example.com.",
    "*.new.example.com.",
    "wide.example.com.",
    "other.test.",
    "com.",
    ".",
    "cnsig.example.com.",
    "a.b.c.d.e.f.g.h.example.com.",
    "\\000.example.com.",
    "Mixed.New.example.com.",
    "ns2.example.net.",
    "x.sub.example.com.",
    "y.x.sub.example.com.",
    "e.f.g.h.example.com.",
    "h.example.com.",
    "aa.example.com.",
    "ab.example.com.",
    "ba.example.com.",
};

static const uint16_t types[] = {RR_A,   RR_AAAA, RR_NS,  RR_CNAME, RR_DNAME, RR_SOA,   RR_MX,     RR_TXT,
                                 RR_SRV, RR_PTR,  RR_DS,  RR_RRSIG, RR_NSEC,  RR_HTTPS, RR_SVCB,   RR_CAA,
                                 65000,  65001,   RR_OPT, RR_ANY,   0,        RR_AXFR,  RR_DNSKEY, RR_NSEC3};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void read_base(int which, const char *text, size_t len);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < NNAMES; i++)
		if (name_from_text(names[i], name_text[i], NULL) < 0)
			fail("bad name in the table");
	if (name_from_text(apex, "example.com.", NULL) < 0)
		abort();
	size_t cap = sizeof(base_text) + 80 * 40;
	wide_text = malloc(cap);
	if (!wide_text)
		abort();
	wide_len = (size_t)snprintf(wide_text, cap, "%s", base_text);
	for (int i = 0; i < 70; i++)
		wide_len += (size_t)snprintf(wide_text + wide_len, cap - wide_len, "wide TYPE%d \\# 0\n", 65100 + i);
	read_base(0, base_text, sizeof(base_text) - 1);
	read_base(1, wide_text, wide_len);
	return 0;
}

/* The base zones' records, read once with the zone-file loader; every input rebuilds its base
 * snapshot from them with zone_builder (much cheaper than parsing again). */
struct base_rec {
	const uint8_t *owner, *rdata;
	uint16_t type, rdlen;
	uint32_t ttl;
};
static struct base_rec *base_recs[2];
static size_t base_nrecs[2];
static struct zone *base_zone[2]; /* kept for good: the records point into them */

static int count_recs(void *arg, const struct zone_node *n)
{
	size_t *total = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++)
		*total += n->rrsets[k].count;
	return 0;
}

struct fill {
	struct base_rec *v;
	size_t n;
};

static int fill_recs(void *arg, const struct zone_node *n)
{
	struct fill *f = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		const struct rrset *rs = &n->rrsets[k];
		const uint8_t *rec = rs->rdata;
		for (uint16_t r = 0; r < rs->count; r++, rec = rdata_next(rec))
			f->v[f->n++] = (struct base_rec){n->owner, rdata_bytes(rec), rs->type, rdata_len(rec), rs->ttl};
	}
	return 0;
}

static void read_base(int which, const char *text, size_t len)
{
	char err[1024];
	struct zone *z = NULL;
	if (zonefile_load_string(text, len, "base", apex, &z, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail("the base zone does not load");
	}
	size_t total = 0;
	zone_foreach(z, count_recs, &total);
	struct fill f = {calloc(total, sizeof(*f.v)), 0};
	if (!f.v)
		abort();
	zone_foreach(z, fill_recs, &f);
	base_recs[which] = f.v;
	base_nrecs[which] = f.n;
	base_zone[which] = z;
}

static struct zone *load_base(bool wide, struct model *m)
{
	char err[1024];
	struct zone *z = NULL;
	struct zone_builder *b = zone_builder_new(apex);
	if (!b)
		abort();
	m->v = calloc(MODEL_MAX, sizeof(*m->v));
	if (!m->v)
		abort();
	m->n = 0;
	const struct base_rec *v = base_recs[wide];
	for (size_t i = 0; i < base_nrecs[wide]; i++)
		if (zone_builder_add(b, v[i].owner, v[i].type, v[i].ttl, v[i].rdata, v[i].rdlen, (uint32_t)i + 1) != 0)
			abort();
	if (zone_build(b, "base", &z, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail("the base zone does not build from its own records");
	}
	/* the model starts as what was built */
	static struct walk w;
	w.n = 0;
	zone_foreach(z, collect, &w);
	for (size_t i = 0; i < w.n; i++)
		for (uint16_t k = 0; k < w.nodes[i]->nrrsets; k++) {
			const struct rrset *rs = &w.nodes[i]->rrsets[k];
			model_set(m, w.nodes[i]->owner, rs->type, rs->ttl, NULL, rs->count, rs->rdata, rs->rdata_size,
			          rs->type == RR_RRSIG);
		}
	check_zone(z, m);
	return z;
}

/* ---- decoding changes from the input ---- */

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t next(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/* A name from the table, sometimes with a label from the input in front. */
static void take_name(struct input *in, uint8_t out[NAME_MAXLEN])
{
	uint8_t b = next(in);
	const uint8_t *base = names[b % NNAMES];
	size_t blen = name_len(base);
	if (b < 0xc0) {
		memcpy(out, base, blen);
		return;
	}
	uint8_t l = (uint8_t)((b & 7) + 1);
	if ((b & 0x38) == 0x38)
		l = 63;
	if (blen + 1 + l > NAME_MAXLEN) {
		memcpy(out, base, blen);
		return;
	}
	out[0] = l;
	for (uint8_t i = 1; i <= l; i++)
		out[i] = l == 63 ? 'x' : next(in);
	memcpy(out + 1 + l, base, blen);
}

/* One record's RDATA, well formed for its type or raw bytes. Returns its length. */
static size_t take_rdata(struct input *in, uint16_t type, uint8_t *out, size_t cap)
{
	uint8_t mode = next(in);
	size_t n = 0;
	uint8_t name[NAME_MAXLEN];
	if (mode & 0x80) { /* raw */
		size_t len = mode & 0x3f;
		for (; n < len && n < cap; n++)
			out[n] = next(in);
		return n;
	}
	switch (type) {
	case RR_A: n = 4; break;
	case RR_AAAA: n = 16; break;
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME:
		take_name(in, name);
		memcpy(out, name, name_len(name));
		return name_len(name);
	case RR_MX:
	case RR_SRV:
	case RR_SVCB:
	case RR_HTTPS: {
		size_t fixed = type == RR_SRV ? 6 : 2;
		for (size_t i = 0; i < fixed; i++)
			out[i] = next(in);
		take_name(in, name);
		memcpy(out + fixed, name, name_len(name));
		return fixed + name_len(name);
	}
	case RR_SOA: {
		size_t o = 0;
		for (int k = 0; k < 2; k++) {
			take_name(in, name);
			memcpy(out + o, name, name_len(name));
			o += name_len(name);
		}
		for (int k = 0; k < 20; k++)
			out[o++] = next(in);
		return o;
	}
	case RR_TXT: {
		uint8_t l = mode & 0x1f;
		out[0] = l;
		for (uint8_t i = 1; i <= l; i++)
			out[i] = next(in);
		return (size_t)l + 1;
	}
	case RR_CAA:
		memcpy(out,
		       "\x00\x05issue\x02"
		       "ca",
		       10);
		return 10;
	default: n = mode & 0x0f; break;
	}
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = next(in);
	return n;
}

#define MAX_CHANGES 16
#define MAX_BATCHES 8
#define RDATA_CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	uint8_t first = next(&in);
	struct model model;
	struct zone *cur = load_base(first & 1, &model);

	static uint8_t owners[MAX_CHANGES][NAME_MAXLEN];
	static uint8_t rdata[MAX_CHANGES][RDATA_CAP];
	static uint32_t ttls[MAX_CHANGES][4];
	struct zone_change ch[MAX_CHANGES];

	for (int batch = 0; batch < MAX_BATCHES && in.left; batch++) {
		uint8_t h = next(&in);
		size_t n = (size_t)(h % MAX_CHANGES) + 1;
		for (size_t i = 0; i < n; i++) {
			take_name(&in, owners[i]);
			uint8_t t = next(&in);
			uint16_t type = types[t % NTYPES];
			if (t >= 0xf8) /* any type at all */
				type = (uint16_t)(next(&in) << 8 | next(&in));
			uint8_t c = next(&in);
			uint16_t count = c % 4;
			size_t o = 0;
			for (uint16_t r = 0; r < count; r++) {
				size_t len = take_rdata(&in, type, rdata[i] + o + 2, RDATA_CAP - o - 300);
				rdata[i][o] = (uint8_t)(len >> 8);
				rdata[i][o + 1] = (uint8_t)len;
				o += 2 + len;
			}
			if ((c & 0x40) && o > 0) /* a size that does not match the records */
				o -= 1;
			/* a deletion comes with no RDATA at all (NULL) or with an empty buffer */
			const uint8_t *rd = (count || !(c & 0x20)) ? rdata[i] : NULL;
			ch[i] = (struct zone_change){.owner = owners[i],
			                             .type = type,
			                             .ttl = (uint32_t)next(&in) * 60,
			                             .count = count,
			                             .rdata = rd,
			                             .rdata_size = (uint32_t)o};
			if (c & 0x10) { /* each record its own TTL */
				for (uint16_t r = 0; r < count; r++)
					ttls[i][r] = (uint32_t)next(&in) * 60;
				ch[i].ttls = ttls[i];
			}
		}
		struct zone *nz = NULL;
		struct zone_apply_error e;
		memset(&e, 0x5a, sizeof(e));
		int rc = zone_apply(cur, ch, n, &nz, &e);
		if (!memchr(e.msg, 0, sizeof(e.msg)))
			fail("error message not NUL-terminated");
		if (rc != 0) {
			if (rc != TERN_EZONE || nz)
				fail("zone_apply failed other than TERN_EZONE, or returned a zone");
			if (e.code != rc || !e.msg[0] || e.problems == 0)
				fail("TERN_EZONE without a code, a message or a problem");
			if (e.change >= n)
				fail("TERN_EZONE naming no change of the batch");
			check_zone(cur, &model); /* a refused batch changes nothing */
			continue;
		}
		/* the model after the batch: per owner, later changes of the same RRset win */
		struct model next_model;
		model_copy(&next_model, &model);
		for (size_t i = 0; i < n; i++)
			model_set(&next_model, ch[i].owner, ch[i].type, ch[i].ttl, ch[i].ttls, ch[i].count, ch[i].rdata,
			          ch[i].rdata_size, false);
		check_zone(nz, &next_model);
		check_zone(cur, &model); /* the predecessor is untouched */
		struct model followed;
		model_copy(&followed, &model);
		if (zone_diff(cur, nz, ch, n, follow_diff, &followed) != 0)
			fail("zone_diff failed");
		check_same_models(&followed, &next_model);
		model_free(&followed);
		if (h & 0x80) { /* thrown away instead of published */
			zone_discard(nz);
			model_free(&next_model);
			check_zone(cur, &model);
			continue;
		}
		zone_supersede(cur, nz); /* nz serves now; readers of cur have moved on */
		zone_free(cur);
		cur = nz;
		model_free(&model);
		model = next_model;
		check_zone(cur, &model);
	}
	zone_free(cur);
	model_free(&model);
	return 0;
}
