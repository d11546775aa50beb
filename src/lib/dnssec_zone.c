/* Signing a zone snapshot as data: which RRsets are authoritative and signed, with which keys,
 * and the zone_apply() changes (DNSKEY, chain, RRSIG groups) for a whole zone or one batch. */
#include "lib/dnssec_zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "lib/arena.h"
#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

/* The signing state of one call: keys, times, scratch, and the RRSIG records of the name being
 * signed (every group together, as zone_apply() takes them). */
struct signer {
	const struct dnssec_zone_key *keys;
	size_t nkeys;
	bool ksk_signs, zsk_signs;
	uint32_t inception, expiration;
	uint32_t jitter; /* each RRset's signatures expire up to this much before expiration */
	uint64_t rng; /* xorshift64 state for the jitter */
	uint32_t now; /* signing time (RFC 1982) */
	int64_t min_left; /* the least seconds before expiry of a signature made or kept (refresh) */
	const uint8_t *apex;
	struct dnssec_scratch s;
	uint8_t *rd;
	size_t rd_size, rd_cap;
	uint32_t *ttls;
	size_t count, ttls_cap;
	char *err;
	size_t errlen;
};

static bool ksk_type(uint16_t type)
{
	return type == RR_DNSKEY || type == RR_CDS || type == RR_CDNSKEY;
}

/* Whether key k signs RRsets of type (see struct dnssec_zone_key). */
static bool key_signs(const struct signer *sg, const struct dnssec_zone_key *k, uint16_t type)
{
	if (!(k->use & DNSSEC_ZONE_SIGN))
		return false;
	uint16_t flags = dnssec_key_flags(k->key);
	bool ksk = flags & DNSSEC_FLAG_SEP;
	if (ksk_type(type))
		return ksk || !sg->ksk_signs;
	if (flags & DNSSEC_FLAG_REVOKE)
		return false; /* a revoked key signs only the DNSKEY RRset (RFC 5011 2.1) */
	return !ksk || !sg->zsk_signs || (k->use & DNSSEC_ZONE_ALL);
}

static int signer_init(struct signer *sg, const struct dnssec_zone_key *keys, size_t nkeys,
                       const struct dnssec_zone_policy *p, int64_t now, const uint8_t *apex, char *err, size_t errlen)
{
	*sg = (struct signer){.keys = keys, .nkeys = nkeys, .apex = apex, .err = err, .errlen = errlen};
	size_t published = 0;
	if (!keys || nkeys == 0) {
		snprintf(err, errlen, "no keys to sign with");
		return TERN_EINVAL;
	}
	for (size_t i = 0; i < nkeys; i++) {
		const struct dnssec_key *k = keys[i].key;
		if (!k || !(keys[i].use & (DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN)) ||
		    (keys[i].use & ~(DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN | DNSSEC_ZONE_ALL))) {
			snprintf(err, errlen, "key %zu: no key or no use (publish, sign) given", i);
			return TERN_EINVAL;
		}
		uint16_t flags = dnssec_key_flags(k);
		if (!(flags & DNSSEC_FLAG_ZONE)) {
			snprintf(err, errlen, "key %zu (tag %u): not a zone key (flags %u)", i, dnssec_key_tag(k),
			         flags);
			return TERN_EINVAL;
		}
		published += (keys[i].use & DNSSEC_ZONE_PUBLISH) != 0;
		if (!(keys[i].use & DNSSEC_ZONE_SIGN))
			continue;
		char why[200];
		if (dnssec_alg_check(dnssec_key_alg(k), true, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "key %zu (tag %u): %s", i, dnssec_key_tag(k), why);
			return TERN_EINVAL;
		}
		if (!dnssec_key_private(k)) {
			snprintf(err, errlen, "key %zu (tag %u): cannot sign without its private key", i,
			         dnssec_key_tag(k));
			return TERN_EINVAL;
		}
		if (flags & DNSSEC_FLAG_SEP)
			sg->ksk_signs = true;
		else
			sg->zsk_signs = true;
	}
	if (published == 0) {
		snprintf(err, errlen, "no key is published: the zone would have no DNSKEY RRset");
		return TERN_EINVAL;
	}
	if (!sg->ksk_signs && !sg->zsk_signs) {
		snprintf(err, errlen, "no key signs");
		return TERN_EINVAL;
	}
	if (p->validity == 0 || p->validity > INT32_MAX) {
		snprintf(err, errlen, "RRSIG validity %u: must be 1 to %d seconds", p->validity, INT32_MAX);
		return TERN_EINVAL;
	}
	if (p->inception > INT32_MAX) {
		snprintf(err, errlen, "RRSIG inception offset %u: must be at most %d seconds", p->inception, INT32_MAX);
		return TERN_EINVAL;
	}
	if (p->jitter >= p->validity) {
		snprintf(err, errlen, "RRSIG jitter %u: must be below the validity %u", p->jitter, p->validity);
		return TERN_EINVAL;
	}
	sg->inception = (uint32_t)(now - p->inception);
	sg->expiration = (uint32_t)(now + p->validity);
	sg->now = (uint32_t)now;
	sg->min_left = INT64_MAX;
	sg->jitter = p->jitter;
	if (sg->jitter && RAND_bytes((unsigned char *)&sg->rng, sizeof(sg->rng)) != 1)
		sg->rng = (uint64_t)now * 0x9e3779b97f4a7c15u;
	sg->rng |= 1; /* xorshift never leaves 0 */
	dnssec_scratch_init(&sg->s);
	return 0;
}

static void signer_free(struct signer *sg)
{
	dnssec_scratch_free(&sg->s);
	free(sg->rd);
	free(sg->ttls);
}

/* Appends one RRSIG record (len octets) with its TTL to the name's signatures. */
static int sig_push(struct signer *sg, const uint8_t *rd, size_t len, uint32_t ttl)
{
	if (sg->count == UINT16_MAX) {
		snprintf(sg->err, sg->errlen, "more than 65535 signatures at one name");
		return TERN_ESPACE;
	}
	if (sg->rd_size + 2 + len > sg->rd_cap) {
		size_t cap = sg->rd_cap ? sg->rd_cap * 2 : 1024;
		while (cap < sg->rd_size + 2 + len)
			cap *= 2;
		uint8_t *v = realloc(sg->rd, cap);
		if (!v)
			return TERN_ENOMEM;
		sg->rd = v;
		sg->rd_cap = cap;
	}
	if (sg->count == sg->ttls_cap) {
		size_t cap = sg->ttls_cap ? sg->ttls_cap * 2 : 16;
		uint32_t *v = realloc(sg->ttls, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		sg->ttls = v;
		sg->ttls_cap = cap;
	}
	wire_put16(sg->rd + sg->rd_size, (uint16_t)len);
	memcpy(sg->rd + sg->rd_size + 2, rd, len);
	sg->rd_size += 2 + len;
	sg->ttls[sg->count++] = ttl;
	return 0;
}

/* Signs rs at owner with every key that signs its type, the signatures starting at inception. */
static int sign_rrset_at(struct signer *sg, const uint8_t *owner, const struct rrset *rs, uint32_t inception)
{
	struct dnssec_rrset set = {owner, rs->type, rs->ttl, rs->count, rs->rdata, rs->rdata_size};
	char tname[16], oname[1024], why[256];
	int signed_by = 0;
	/* one expiration per RRset, up to jitter early, so the zone's signatures do not all come due
	 * for refresh at one moment */
	uint32_t expiration = sg->expiration;
	if (sg->jitter) {
		sg->rng ^= sg->rng << 13;
		sg->rng ^= sg->rng >> 7;
		sg->rng ^= sg->rng << 17;
		expiration -= (uint32_t)(sg->rng % ((uint64_t)sg->jitter + 1));
	}
	int64_t left = (int32_t)(expiration - sg->now);
	if (left < sg->min_left)
		sg->min_left = left;
	for (size_t i = 0; i < sg->nkeys; i++) {
		if (!key_signs(sg, &sg->keys[i], rs->type))
			continue;
		uint8_t sig[DNSSEC_RRSIG_MAX];
		int len = dnssec_sign(sg->keys[i].key, &set, sg->apex, inception, expiration, &sg->s, sig, sizeof(sig),
		                      why, sizeof(why));
		if (len < 0) {
			name_to_text(owner, oname, sizeof(oname));
			snprintf(sg->err, sg->errlen, "%s %s: %s", oname, rr_type_name(rs->type, tname), why);
			return len;
		}
		int rc = sig_push(sg, sig, (size_t)len, rs->ttl);
		if (rc < 0)
			return rc;
		signed_by++;
	}
	if (signed_by == 0) {
		name_to_text(owner, oname, sizeof(oname));
		snprintf(sg->err, sg->errlen, "%s %s: no key signs this type", oname, rr_type_name(rs->type, tname));
		return TERN_EINVAL;
	}
	return 0;
}

static int sign_rrset(struct signer *sg, const uint8_t *owner, const struct rrset *rs)
{
	return sign_rrset_at(sg, owner, rs, sg->inception);
}

/* The A or AAAA RRsets a DYN resource answers, signed ahead (lib/dyn.h, "Signed zones"): set i of
 * n starts at an inception that is i modulo n, so the answer path finds its signatures. */
static const uint16_t dyn_types[] = {RR_A, RR_AAAA, RR_CNAME}; /* what a DYN resource may answer */

static int sign_dyn(struct signer *sg, const uint8_t *owner, const struct rrset *dyn, uint16_t type)
{
	const struct dyn_resource *r = dyn_rrset_resource(dyn);
	uint32_t n = r ? dyn_signed_count(r, type) : 0;
	for (uint32_t i = 0; i < n; i++) {
		struct rrset set;
		dyn_signed_rrset(r, type, i, dyn->ttl, &set);
		int rc = sign_rrset_at(sg, owner, &set, dyn_signed_inception(sg->inception, i, n));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Appends a change (owner, type) of count records in rdata (with ttls when not NULL), or a
 * delete when count is 0, as one malloc'd block starting at the owner (nsec_changes_free()). */
static int emit(struct nsec_changes *c, const uint8_t *owner, uint16_t type, uint32_t ttl, uint16_t count,
                const uint8_t *rdata, size_t rdata_size, const uint32_t *ttls)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct zone_change *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	size_t olen = name_len(owner), at = (olen + 3) & ~(size_t)3;
	size_t tsize = ttls ? count * sizeof(uint32_t) : 0;
	uint8_t *block = malloc(at + tsize + rdata_size + 1);
	if (!block)
		return TERN_ENOMEM;
	memcpy(block, owner, olen);
	struct zone_change ch = {.owner = block, .type = type, .ttl = ttl, .count = count};
	if (ttls) {
		memcpy(block + at, ttls, tsize);
		ch.ttls = (const uint32_t *)(void *)(block + at);
	}
	if (count) {
		memcpy(block + at + tsize, rdata, rdata_size);
		ch.rdata = block + at + tsize;
		ch.rdata_size = (uint32_t)rdata_size;
	}
	c->v[c->n++] = ch;
	return 0;
}

/* Emits the name's RRSIG change from what the signer collected: every group, or a delete when
 * there is none and the name held signatures. */
static int emit_sigs(struct signer *sg, struct nsec_changes *out, const struct zone_node *n)
{
	if (sg->count == 0)
		return zone_node_rrset(n, RR_RRSIG) ? emit(out, n->owner, RR_RRSIG, 0, 0, NULL, 0, NULL) : 0;
	uint32_t low = sg->ttls[0];
	for (size_t i = 1; i < sg->count; i++)
		low = sg->ttls[i] < low ? sg->ttls[i] : low;
	return emit(out, n->owner, RR_RRSIG, low, (uint16_t)sg->count, sg->rd, sg->rd_size, sg->ttls);
}

static void changes_truncate(struct nsec_changes *c, size_t keep)
{
	for (size_t i = keep; i < c->n; i++)
		free((void *)c->v[i].owner);
	c->n = keep;
}

/* Moves every change of from to the end of to (from is left empty). */
static int changes_move(struct nsec_changes *to, struct nsec_changes *from)
{
	if (to->n + from->n > to->cap) {
		size_t cap = to->cap ? to->cap : 64;
		while (cap < to->n + from->n)
			cap *= 2;
		struct zone_change *v = realloc(to->v, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		to->v = v;
		to->cap = cap;
	}
	if (from->n)
		memcpy(to->v + to->n, from->v, from->n * sizeof(*from->v));
	to->n += from->n;
	free(from->v);
	*from = (struct nsec_changes){0};
	return 0;
}

/* Whether a zone cut (NS below the apex) sits above name (lower-cased) in z. */
static bool occluded(const struct zone *z, const uint8_t *name)
{
	for (const uint8_t *p = name_parent(name); p && name_labels(p) > z->apex_labels; p = name_parent(p)) {
		const struct zone_node *n = zone_find(z, p, name_len(p));
		if (n && (n->flags & NODE_DELEG))
			return true;
	}
	return false;
}

/* Whether type is signed at a node (not occluded): at a cut only the parent's side (RFC 4035 2.2). */
static bool signed_type(uint16_t type, bool cut)
{
	if (type == RR_RRSIG)
		return false;
	return !cut || type == RR_DS || type == RR_NSEC || type == RR_NSEC3;
}

/* Whether (owner, type) is in the sorted touch list (resign); the full signing passes none. */
struct touch {
	const uint8_t *owner; /* lower-cased */
	uint16_t type; /* 0: the name only (its occlusion changed) */
};

static int touch_cmp(const void *pa, const void *pb)
{
	const struct touch *a = pa, *b = pb;
	int c = name_cmp(a->owner, b->owner);
	return c ? c : (a->type > b->type) - (a->type < b->type);
}

static bool touched(const struct touch *t, size_t n, const uint8_t *owner, uint16_t type)
{
	struct touch key = {owner, type};
	return t && n && bsearch(&key, t, n, sizeof(*t), touch_cmp) != NULL;
}

/* Copies the signatures of an untouched group old (NULL: none) when made for ttl: 1 when it did
 * (nothing to sign), 0 when the RRset is to be signed, or an error. */
static int copy_sigs(struct signer *sg, const struct rrset *old, uint32_t ttl)
{
	if (!old || old->ttl != ttl)
		return 0;
	const uint8_t *rec = old->rdata;
	for (uint16_t r = 0; r < old->count; r++, rec = rdata_next(rec)) {
		int rc = sig_push(sg, rdata_bytes(rec), rdata_len(rec), old->ttl);
		if (rc < 0)
			return rc;
	}
	return 1;
}

/* Collects the signatures node n of z should carry. With prev_node (resign), a group of a type
 * the batch did not touch is copied from there when it exists; everything else is signed. */
static int node_sigs(struct signer *sg, const struct zone_node *n, bool below_cut, const struct zone_node *prev_node,
                     const struct touch *t, size_t nt)
{
	sg->rd_size = 0;
	sg->count = 0;
	if (below_cut)
		return 0;
	bool cut = n->flags & NODE_DELEG;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		if (rs->type == RR_DYN) { /* not itself: the A and AAAA (or CNAME) RRsets it answers */
			for (int k = 0; k < 3; k++) {
				uint16_t type = dyn_types[k];
				int rc = copy_sigs(sg,
				                   prev_node && !touched(t, nt, n->owner, RR_DYN)
				                       ? zone_node_rrsig(prev_node, type)
				                       : NULL,
				                   rs->ttl);
				if (rc == 0)
					rc = sign_dyn(sg, n->owner, rs, type);
				if (rc < 0)
					return rc;
			}
			continue;
		}
		if (!signed_type(rs->type, cut))
			continue;
		int rc = copy_sigs(
		    sg, prev_node && !touched(t, nt, n->owner, rs->type) ? zone_node_rrsig(prev_node, rs->type) : NULL,
		    rs->ttl);
		if (rc == 0)
			rc = sign_rrset(sg, n->owner, rs);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One part of a whole-zone signing: a slice of the zone's names in canonical order, signed with a
 * signer of its own into changes of its own. */
struct sign_part {
	const struct zone *z;
	const struct zone_node **nodes;
	size_t from, to;
	const struct dnssec_zone_key *keys;
	size_t nkeys;
	const struct dnssec_zone_policy *p;
	int64_t now;
	struct nsec_changes out;
	int rc;
	char err[256];
};

/* The cut above n (a delegation among its ancestors below the apex), or NULL. */
static const uint8_t *cut_above(const struct zone *z, const struct zone_node *n)
{
	const uint8_t *cut = NULL;
	for (const uint8_t *a = name_parent(n->owner); a && name_labels(a) > z->apex_labels; a = name_parent(a)) {
		const struct zone_node *an = zone_find(z, a, name_len(a));
		if (an && (an->flags & NODE_DELEG))
			cut = an->owner; /* the highest one occludes */
	}
	return cut;
}

static void sign_part_run(void *arg, unsigned i)
{
	struct sign_part *sp = &((struct sign_part *)arg)[i];
	struct signer sg;
	sp->rc = signer_init(&sg, sp->keys, sp->nkeys, sp->p, sp->now, sp->z->apex, sp->err, sizeof(sp->err));
	if (sp->rc < 0)
		return;
	/* canonical order: a cut's occluded names follow it (the first of the slice may be one) */
	const uint8_t *cut = sp->from < sp->to ? cut_above(sp->z, sp->nodes[sp->from]) : NULL;
	for (size_t i = sp->from; i < sp->to && sp->rc == 0; i++) {
		const struct zone_node *n = sp->nodes[i];
		bool below = cut && name_in(n->owner, cut) && !name_equal(n->owner, cut);
		if (!below)
			cut = (n->flags & NODE_DELEG) ? n->owner : NULL;
		if ((sp->rc = node_sigs(&sg, n, below, NULL, NULL, 0)) == 0)
			sp->rc = emit_sigs(&sg, &sp->out, n);
	}
	if (sp->rc == TERN_ENOMEM)
		snprintf(sp->err, sizeof(sp->err), "out of memory");
	signer_free(&sg);
}

int dnssec_zone_sign(const struct zone *z, const struct dnssec_zone_key *keys, size_t nkeys,
                     const struct dnssec_zone_policy *p, int64_t now, struct nsec_chain **index,
                     struct nsec_changes *out, char *err, size_t errlen)
{
	return dnssec_zone_sign_parts(z, keys, nkeys, p, now, NULL, index, out, err, errlen);
}

int dnssec_zone_sign_parts(const struct zone *z, const struct dnssec_zone_key *keys, size_t nkeys,
                           const struct dnssec_zone_policy *p, int64_t now, const struct dnssec_zone_runner *runner,
                           struct nsec_chain **index, struct nsec_changes *out, char *err, size_t errlen)
{
	struct signer sg; /* checks keys and policy before any work */
	int rc = signer_init(&sg, keys, nkeys, p, now, z->apex, err, errlen);
	if (rc < 0)
		return rc;
	signer_free(&sg);
	size_t keep = out->n;
	struct zone *z1 = NULL, *z2 = NULL;
	struct nsec_chain *idx = NULL;
	struct nsec_changes chain = {0};
	const struct zone_node **nodes = NULL;
	size_t nnodes = 0, nparts = 0;
	struct sign_part *parts = NULL;

	/* the DNSKEY RRset of the published keys */
	uint8_t *dk = malloc(nkeys * (2 + DNSSEC_DNSKEY_MAX));
	size_t dk_size = 0;
	uint16_t dk_count = 0;
	if (!dk) {
		rc = TERN_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (!(keys[i].use & DNSSEC_ZONE_PUBLISH))
			continue;
		int len = dnssec_key_dnskey(keys[i].key, dk + dk_size + 2, DNSSEC_DNSKEY_MAX);
		if (len < 0) {
			rc = len;
			goto done;
		}
		wire_put16(dk + dk_size, (uint16_t)len);
		dk_size += 2 + (size_t)len;
		dk_count++;
	}
	struct zone_change dkc = {.owner = z->apex,
	                          .type = RR_DNSKEY,
	                          .ttl = p->dnskey_ttl,
	                          .count = dk_count,
	                          .rdata = dk,
	                          .rdata_size = (uint32_t)dk_size};
	if ((rc = zone_apply_text(z, &dkc, 1, &z1, err, errlen)) < 0 ||
	    (rc = nsec_chain_build(z1, &p->nsec, index ? &idx : NULL, &chain, err, errlen)) < 0 ||
	    (rc = zone_apply_text(z1, chain.v, chain.n, &z2, err, errlen)) < 0)
		goto done;
	if ((rc = emit(out, z->apex, RR_DNSKEY, p->dnskey_ttl, dk_count, dk, dk_size, NULL)) < 0 ||
	    (rc = changes_move(out, &chain)) < 0 || (rc = zone_nodes_sorted(z2, &nodes, &nnodes)) < 0)
		goto done;
	/* the names in slices of at least DNSSEC_ZONE_PART_MIN, one per part the runner offers */
	nparts = runner && runner->parts > 1 ? runner->parts : 1;
	if (nparts > nnodes / DNSSEC_ZONE_PART_MIN)
		nparts = nnodes / DNSSEC_ZONE_PART_MIN ? nnodes / DNSSEC_ZONE_PART_MIN : 1;
	if (!(parts = calloc(nparts, sizeof(*parts)))) {
		rc = TERN_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < nparts; i++)
		parts[i] = (struct sign_part){.z = z2,
		                              .nodes = nodes,
		                              .from = nnodes * i / nparts,
		                              .to = nnodes * (i + 1) / nparts,
		                              .keys = keys,
		                              .nkeys = nkeys,
		                              .p = p,
		                              .now = now};
	if (nparts > 1)
		runner->run(runner->ctx, (unsigned)nparts, sign_part_run, parts);
	else
		sign_part_run(parts, 0);
	for (size_t i = 0; i < nparts && rc == 0; i++) {
		if ((rc = parts[i].rc) < 0)
			snprintf(err, errlen, "%s", parts[i].err);
		else
			rc = changes_move(out, &parts[i].out);
	}
done:
	for (size_t i = 0; parts && i < nparts; i++)
		nsec_changes_free(&parts[i].out);
	free(parts);
	free(nodes);
	free(dk);
	nsec_changes_free(&chain);
	zone_discard(z2);
	zone_discard(z1);
	if (rc < 0) {
		if (rc == TERN_ENOMEM)
			snprintf(err, errlen, "out of memory");
		changes_truncate(out, keep);
		nsec_chain_free(idx);
		return rc;
	}
	if (index)
		*index = idx;
	return 0;
}

/* ---- one batch on a signed zone ---- */

struct touches {
	struct touch *v;
	size_t n, cap;
	struct arena names;
};

static int touch_add(struct touches *t, const uint8_t *owner, uint16_t type)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct touch *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	size_t len = name_len(owner);
	uint8_t *copy = arena_alloc(&t->names, len);
	if (!copy)
		return TERN_ENOMEM;
	name_lower_copy(copy, owner, len);
	t->v[t->n++] = (struct touch){copy, type};
	return 0;
}

struct below {
	struct touches *t;
	const uint8_t *cut;
	int rc;
};

static int add_below(void *arg, const struct zone_node *n)
{
	struct below *b = arg;
	if (name_in(n->owner, b->cut) && !name_equal(n->owner, b->cut))
		b->rc = touch_add(b->t, n->owner, 0);
	return b->rc;
}

static bool is_cut(const struct zone_node *n)
{
	return n && (n->flags & NODE_DELEG);
}

int dnssec_zone_resign(const struct zone *prev, struct nsec_chain **index, const struct zone_change *data, size_t n,
                       const struct dnssec_zone_key *keys, size_t nkeys, const struct dnssec_zone_policy *p,
                       int64_t now, struct nsec_changes *out, char *err, size_t errlen)
{
	char oname[1024], tname[16];
	for (size_t i = 0; i < n; i++) {
		uint16_t t = data[i].type;
		if (t == RR_DNSKEY || t == RR_RRSIG || t == RR_NSEC || t == RR_NSEC3 || t == RR_NSEC3PARAM) {
			name_to_text(data[i].owner, oname, sizeof(oname));
			snprintf(err, errlen, "%s %s: the signer's own records cannot be changed on a signed zone",
			         oname, rr_type_name(t, tname));
			return TERN_EINVAL;
		}
	}
	if (!index || !*index) {
		snprintf(err, errlen, "no chain index: sign the zone first");
		return TERN_EINVAL;
	}
	struct signer sg;
	int rc = signer_init(&sg, keys, nkeys, p, now, prev->apex, err, errlen);
	if (rc < 0)
		return rc;
	size_t keep = out->n;
	bool late = false;
	struct zone *mid = NULL, *next = NULL;
	struct nsec_changes chain = {0};
	struct touches t = {0};
	arena_init(&t.names);
	const uint8_t **owners = malloc((n ? n : 1) * sizeof(*owners));
	if (!owners) {
		rc = TERN_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		owners[i] = data[i].owner;
	if ((rc = zone_apply_text(prev, data, n, &mid, err, errlen)) < 0 ||
	    (rc = nsec_chain_update(*index, mid, owners, n, &chain, err, errlen)) < 0)
		goto done;
	late = true; /* the index describes mid's chain now */
	if ((rc = zone_apply_text(mid, chain.v, chain.n, &next, err, errlen)) < 0)
		goto done;
	/* what the batch touched: its RRsets, the chain's, the SOA, and every name under a cut that
	 * came or went */
	rc = touch_add(&t, prev->apex, RR_SOA);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = touch_add(&t, data[i].owner, data[i].type);
	for (size_t i = 0; i < chain.n && rc == 0; i++)
		rc = touch_add(&t, chain.v[i].owner, chain.v[i].type);
	for (size_t i = 0, nd = t.n; i < nd && rc == 0; i++) {
		const uint8_t *o = t.v[i].owner;
		if (is_cut(zone_find(prev, o, name_len(o))) != is_cut(zone_find(next, o, name_len(o)))) {
			struct below b = {&t, o, 0};
			zone_foreach(next, add_below, &b);
			rc = b.rc;
		}
	}
	if (rc < 0)
		goto done;
	qsort(t.v, t.n, sizeof(*t.v), touch_cmp);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct zone_change c = data[i];
		const uint32_t *ttls = c.ttls;
		rc = emit(out, c.owner, c.type, c.ttl, c.count, c.rdata, c.count ? c.rdata_size : 0,
		          c.count ? ttls : NULL);
	}
	if (rc < 0 || (rc = changes_move(out, &chain)) < 0)
		goto done;
	for (size_t i = 0; i < t.n; i++) {
		if (i > 0 && name_equal(t.v[i].owner, t.v[i - 1].owner))
			continue; /* each name once */
		const uint8_t *o = t.v[i].owner;
		const struct zone_node *nn = zone_find(next, o, name_len(o));
		if (!nn)
			continue; /* gone, signatures and all */
		const struct zone_node *pn = zone_find(prev, o, name_len(o));
		if ((rc = node_sigs(&sg, nn, occluded(next, o), pn, t.v, t.n)) < 0 ||
		    (rc = emit_sigs(&sg, out, nn)) < 0)
			goto done;
	}
done:
	free(owners);
	free(t.v);
	arena_free(&t.names);
	nsec_changes_free(&chain);
	zone_discard(next);
	zone_discard(mid);
	signer_free(&sg);
	if (rc < 0) {
		if (rc == TERN_ENOMEM)
			snprintf(err, errlen, "out of memory");
		changes_truncate(out, keep);
		if (late) {
			nsec_chain_free(*index);
			*index = NULL;
		}
	}
	return rc;
}

/* ---- signatures that come due ---- */

/* The signatures of rs at node n (of the current group old, when any) are kept when each was made
 * by a key that signs rs now, for rs's TTL, and has more than refresh seconds left; the least time
 * left goes to *left. nsets: how many RRsets of the type the group signs (1; a DYN resource's
 * signed sets, lib/dyn.h). */
static bool sigs_fresh(const struct signer *sg, const struct rrset *old, const struct rrset *rs, uint32_t refresh,
                       int64_t *left, uint32_t nsets)
{
	if (!old || old->ttl != rs->ttl)
		return false;
	size_t want = 0;
	for (size_t k = 0; k < sg->nkeys; k++)
		want += key_signs(sg, &sg->keys[k], rs->type);
	if (old->count != want * nsets)
		return false;
	int64_t least = INT64_MAX;
	const uint8_t *rec = old->rdata;
	for (uint16_t r = 0; r < old->count; r++, rec = rdata_next(rec)) {
		struct dnssec_rrsig sig;
		if (dnssec_rrsig_parse(rdata_bytes(rec), rdata_len(rec), &sig) < 0)
			return false;
		bool known = false;
		for (size_t k = 0; k < sg->nkeys && !known; k++)
			known = key_signs(sg, &sg->keys[k], rs->type) &&
			        dnssec_key_tag(sg->keys[k].key) == sig.key_tag &&
			        dnssec_key_alg(sg->keys[k].key) == sig.alg;
		int64_t l = (int32_t)(sig.expiration - sg->now);
		if (!known || l <= (int64_t)refresh)
			return false;
		least = l < least ? l : least;
	}
	*left = least;
	return true;
}

/* sigs_fresh() for the RRsets a DYN resource at n answers (type A, AAAA or CNAME): one signature of each
 * signing key for each set signed ahead, the set read from the inception (lib/dyn.h). */
static bool dyn_fresh(const struct signer *sg, const struct zone_node *n, const struct rrset *dyn, uint16_t type,
                      uint32_t refresh, int64_t *left)
{
	const struct dyn_resource *r = dyn_rrset_resource(dyn);
	uint32_t nsets = r ? dyn_signed_count(r, type) : 0;
	const struct rrset *old = zone_node_rrsig(n, type);
	*left = INT64_MAX;
	if (nsets == 0)
		return old == NULL;
	struct rrset one = {.type = type, .ttl = dyn->ttl};
	size_t want = 0;
	for (size_t k = 0; k < sg->nkeys; k++)
		want += key_signs(sg, &sg->keys[k], type);
	if (!old || old->count != want * nsets || !sigs_fresh(sg, old, &one, refresh, left, nsets))
		return false;
	/* each set once per signing key: count the signatures per set */
	for (uint32_t i = 0; i < nsets; i++) {
		size_t got = 0;
		const uint8_t *rec = old->rdata;
		for (uint16_t k = 0; k < old->count; k++, rec = rdata_next(rec))
			got += dyn_signed_covers(rdata_bytes(rec), rdata_len(rec), i, nsets);
		if (got != want)
			return false;
	}
	return true;
}

int dnssec_zone_refresh(const struct zone *z, const struct dnssec_zone_key *keys, size_t nkeys,
                        const struct dnssec_zone_policy *p, int64_t now, uint32_t refresh, struct nsec_changes *out,
                        int64_t *next, char *err, size_t errlen)
{
	struct signer sg;
	int rc = signer_init(&sg, keys, nkeys, p, now, z->apex, err, errlen);
	if (rc < 0)
		return rc;
	size_t keep = out->n;
	const struct zone_node **nodes = NULL;
	size_t nnodes = 0;
	int64_t least = INT64_MAX;
	if ((rc = zone_nodes_sorted(z, &nodes, &nnodes)) < 0)
		goto done;
	const uint8_t *cut = NULL;
	for (size_t i = 0; i < nnodes; i++) {
		const struct zone_node *n = nodes[i];
		bool below = cut && name_in(n->owner, cut) && !name_equal(n->owner, cut);
		if (!below)
			cut = (n->flags & NODE_DELEG) ? n->owner : NULL;
		if (below)
			continue;
		bool at_cut = n->flags & NODE_DELEG, due = false;
		/* a first pass decides; only a name with something due is collected and emitted */
		int64_t node_least = INT64_MAX;
		for (uint16_t k = 0; k < n->nrrsets && !due; k++) {
			const struct rrset *rs = &n->rrsets[k];
			int64_t left = INT64_MAX, left6 = INT64_MAX, leftc = INT64_MAX;
			if (rs->type == RR_DYN)
				due = !dyn_fresh(&sg, n, rs, RR_A, refresh, &left) ||
				      !dyn_fresh(&sg, n, rs, RR_AAAA, refresh, &left6) ||
				      !dyn_fresh(&sg, n, rs, RR_CNAME, refresh, &leftc);
			else if (signed_type(rs->type, at_cut))
				due = !sigs_fresh(&sg, zone_node_rrsig(n, rs->type), rs, refresh, &left, 1);
			left = left6 < left ? left6 : left;
			left = leftc < left ? leftc : left;
			node_least = left < node_least ? left : node_least;
		}
		if (!due) {
			least = node_least < least ? node_least : least;
			continue;
		}
		sg.rd_size = 0;
		sg.count = 0;
		for (uint16_t k = 0; k < n->nrrsets && rc == 0; k++) {
			const struct rrset *rs = &n->rrsets[k];
			int64_t left;
			if (rs->type == RR_DYN) { /* each type's sets all kept, or all signed again */
				for (int f = 0; f < 3 && rc == 0; f++) {
					uint16_t type = dyn_types[f];
					if (dyn_fresh(&sg, n, rs, type, refresh, &left)) {
						least = left < least ? left : least;
						rc = copy_sigs(&sg, zone_node_rrsig(n, type), rs->ttl);
						rc = rc < 0 ? rc : 0;
					} else {
						rc = sign_dyn(&sg, n->owner, rs, type);
					}
				}
				continue;
			}
			if (!signed_type(rs->type, at_cut))
				continue;
			const struct rrset *old = zone_node_rrsig(n, rs->type);
			if (sigs_fresh(&sg, old, rs, refresh, &left, 1)) {
				least = left < least ? left : least;
				const uint8_t *rec = old->rdata;
				for (uint16_t r = 0; r < old->count && rc == 0; r++, rec = rdata_next(rec))
					rc = sig_push(&sg, rdata_bytes(rec), rdata_len(rec), old->ttl);
			} else {
				rc = sign_rrset(&sg, n->owner, rs);
			}
		}
		if (rc < 0 || (rc = emit_sigs(&sg, out, n)) < 0)
			goto done;
	}
	if (sg.min_left < least)
		least = sg.min_left;
	*next = least == INT64_MAX ? 0 : now + least;
done:
	free(nodes);
	signer_free(&sg);
	if (rc < 0) {
		if (rc == TERN_ENOMEM)
			snprintf(err, errlen, "out of memory");
		changes_truncate(out, keep);
	}
	return rc;
}

struct expiry {
	uint32_t now;
	int64_t least;
};

static int node_expiry(void *arg, const struct zone_node *n)
{
	struct expiry *e = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		const struct rrset *rs = &n->rrsets[k];
		const uint8_t *rec = rs->rdata;
		for (uint16_t r = 0; rs->type == RR_RRSIG && r < rs->count; r++, rec = rdata_next(rec)) {
			struct dnssec_rrsig sig;
			if (dnssec_rrsig_parse(rdata_bytes(rec), rdata_len(rec), &sig) == 0) {
				int64_t l = (int32_t)(sig.expiration - e->now);
				e->least = l < e->least ? l : e->least;
			}
		}
	}
	return 0;
}

int64_t dnssec_zone_next_expiry(const struct zone *z, int64_t now)
{
	struct expiry e = {(uint32_t)now, INT64_MAX};
	int rc = zone_foreach(z, node_expiry, &e);
	if (rc < 0)
		return rc;
	return e.least == INT64_MAX ? 0 : now + e.least;
}
