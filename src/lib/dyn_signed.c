/* Dynamic answers in signed zones: the RRsets a resource can answer, listed in the block so that
 * each is signed ahead, and the one a selection stands for (dyn.h, "Signed zones"). */
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

/* ---- signed zones ---- */

/* A candidate while building: where its records are, and its addresses sorted (its identity). */
struct cand {
	uint32_t rdata, rdata_size, count;
	uint8_t alen;
	uint8_t *key;
	size_t keylen; /* count * alen; a CNAME target's record (length and name) */
	uint32_t id;
};

static int key_cmp(const void *pa, const void *pb, size_t len)
{
	return memcmp(pa, pb, len);
}

static int addr4_cmp(const void *a, const void *b)
{
	return key_cmp(a, b, 4);
}

static int addr16_cmp(const void *a, const void *b)
{
	return key_cmp(a, b, 16);
}

/* Canonical order of RRsets: fewer records first, then the sorted addresses as octets. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = *(const struct cand *const *)pa, *b = *(const struct cand *const *)pb;
	if (a->count != b->count)
		return a->count < b->count ? -1 : 1;
	int c = memcmp(a->key, b->key, a->keylen < b->keylen ? a->keylen : b->keylen);
	return c ? c : (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

static int choice_cmp(const void *pa, const void *pb)
{
	const struct cchoice *a = pa, *b = pb;
	if (a->rdata != b->rdata)
		return a->rdata < b->rdata ? -1 : 1;
	return (a->count > b->count) - (a->count < b->count);
}

/* Adds the candidate of count records from rdata (offset in the block) with its sorted key; alen
 * 0: one CNAME record, its key the record itself. */
static int cand_add(struct out *o, struct cand *v, size_t *n, uint32_t rdata, uint32_t rdata_size, uint32_t count,
                    uint8_t alen)
{
	size_t keylen = alen ? (size_t)count * alen : rdata_size;
	uint8_t *key = malloc(keylen);
	if (!key)
		return TERN_ENOMEM;
	const uint8_t *rec = o->b + rdata;
	if (!alen)
		memcpy(key, rec, keylen);
	for (uint32_t i = 0; alen && i < count; i++, rec += 2 + alen)
		memcpy(key + (size_t)i * alen, rec + 2, alen);
	if (alen)
		qsort(key, count, alen, alen == 4 ? addr4_cmp : addr16_cmp);
	v[(*n)++] = (struct cand){rdata, rdata_size, count, alen, key, keylen, 0};
	return 0;
}

/* The RRsets a reachable pool (in the answer list, a subnet, country or continent entry) can answer: an unweighted
 * pool its whole family, and each member alone when one of them is monitored (some may go down:
 * a signed zone then answers one live member); a weighted pool each member alone. Deduplicated
 * by content and put in canonical order, so the index of each is the same wherever the records
 * are compiled, whatever their order. */
int dyn_build_signed(struct out *o, struct dyn_resource *h)
{
	int rc = TERN_ENOMEM;
	uint8_t *reach = calloc(h->npools ? h->npools : 1, 1);
	struct cand *v = malloc(((size_t)h->npools + h->nmembers + 1) * sizeof(*v));
	struct cand **sorted = malloc(((size_t)h->npools + h->nmembers + 1) * sizeof(*sorted));
	struct cchoice *ch = malloc(((size_t)h->npools + h->nmembers + 1) * sizeof(*ch));
	size_t nv = 0, nch = 0;
	if (!reach || !v || !sorted || !ch)
		goto done;
	const uint16_t *al = (const uint16_t *)(const void *)(o->b + h->answer_list);
	for (uint16_t i = 0; i < al[0]; i++)
		reach[al[1 + i]] = 1;
	for (uint32_t e = 0; e < h->nentries; e++) {
		const struct centry *ce = (const struct centry *)(const void *)(o->b + h->entries) + e;
		const uint16_t *el = (const uint16_t *)(const void *)(o->b + ce->list);
		for (uint16_t i = 0; i < el[0]; i++)
			reach[el[1 + i]] = 1;
	}
	for (uint32_t e = 0; e < h->ncodes; e++) { /* country and continent entries name pools too */
		const struct ccode *cc = (const struct ccode *)(const void *)(o->b + h->codes) + e;
		const uint16_t *el = (const uint16_t *)(const void *)(o->b + cc->list);
		for (uint16_t i = 0; i < el[0]; i++)
			reach[el[1 + i]] = 1;
	}
	for (int f = 0; f < 2; f++) {
		size_t first = nv;
		uint8_t alen = f ? 16 : h->head.cname ? 0 : 4; /* 0: CNAME targets (name pools are weighted) */
		for (uint16_t p = 0; p < h->npools; p++) {
			const struct cpool cp = ((const struct cpool *)(const void *)(o->b + h->pools))[p];
			if (!reach[p] || !cp.count[f] || !h->head.serves[f])
				continue;
			bool monitored = false;
			for (uint16_t k = 0; k < cp.count[f]; k++)
				monitored |=
				    ((const struct cmember *)(const void *)(o->b + h->members))[cp.first[f] + k]
				        .monitor >= 0;
			if (!cp.weighted &&
			    (rc = cand_add(o, v, &nv, cp.rdata[f], cp.rdata_size[f], cp.count[f], alen)) < 0)
				goto done;
			if (!cp.weighted && !monitored)
				continue;
			for (uint16_t k = 0; k < cp.count[f]; k++) {
				const struct cmember *m =
				    (const struct cmember *)(const void *)(o->b + h->members) + cp.first[f] + k;
				if ((rc = cand_add(o, v, &nv, m->rec, 2u + rdata_len(o->b + m->rec), 1, alen)) < 0)
					goto done;
			}
		}
		for (size_t i = first; i < nv; i++)
			sorted[i - first] = &v[i];
		qsort(sorted, nv - first, sizeof(*sorted), cand_cmp);
		size_t nsets = 0;
		for (size_t i = 0; i < nv - first; i++) {
			if (i == 0 || cand_cmp(&sorted[i - 1], &sorted[i]) != 0)
				nsets++;
			sorted[i]->id = (uint32_t)(nsets - 1);
		}
		int64_t at = dyn_out_put(o, NULL, nsets * sizeof(struct cset), 8);
		if (at < 0) {
			rc = TERN_ENOMEM;
			goto done;
		}
		h->signed_sets[f] = (uint32_t)at;
		h->nsigned[f] = (uint32_t)nsets;
		for (size_t i = 0; i < nv - first; i++) {
			const struct cand *cd = sorted[i];
			struct cset cs = {cd->rdata, cd->rdata_size, cd->count};
			memcpy(o->b + at + (size_t)cd->id * sizeof(cs), &cs, sizeof(cs));
			ch[nch++] = (struct cchoice){cd->rdata, cd->count, cd->id, (uint32_t)f};
		}
	}
	qsort(ch, nch, sizeof(*ch), choice_cmp);
	int64_t at = dyn_out_put(o, ch, nch * sizeof(*ch), 8);
	if (at < 0) {
		rc = TERN_ENOMEM;
		goto done;
	}
	h->choices = (uint32_t)at;
	h->nchoices = (uint32_t)nch;
	rc = 0;
done:
	for (size_t i = 0; v && i < nv; i++)
		free(v[i].key);
	free(v);
	free(sorted);
	free(ch);
	free(reach);
	return rc;
}

uint32_t dyn_signed_count(const struct dyn_resource *r, uint16_t type)
{
	if (r->head.cname)
		return type == RR_CNAME ? r->nsigned[0] : 0;
	return type == RR_A ? r->nsigned[0] : type == RR_AAAA ? r->nsigned[1] : 0;
}

int dyn_signed_rrset(const struct dyn_resource *r, uint16_t type, uint32_t i, uint32_t ttl, struct rrset *out)
{
	if (i >= dyn_signed_count(r, type))
		return TERN_ENOTFOUND;
	const struct cset *cs =
	    (const struct cset *)(const void *)((const uint8_t *)r + r->signed_sets[type == RR_AAAA]) + i;
	*out = (struct rrset){.type = type,
	                      .ttl = ttl,
	                      .count = (uint16_t)cs->count,
	                      .rdata = (const uint8_t *)r + cs->rdata,
	                      .rdata_size = cs->rdata_size};
	return 0;
}

/* The signed single-member RRset holding addr (family f), by binary search: single-member sets
 * come first in canonical order, sorted by address. */
static int64_t signed_single(const struct dyn_resource *r, int f, const uint8_t *addr)
{
	const struct cset *cs = (const struct cset *)(const void *)((const uint8_t *)r + r->signed_sets[f]);
	size_t alen = f ? 16 : 4, lo = 0, hi = r->nsigned[f];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cs[mid].count != 1 ? 1 : memcmp((const uint8_t *)r + cs[mid].rdata + 2, addr, alen);
		if (c == 0)
			return (int64_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

bool dyn_signed_subset(const struct dyn_resource *r, const struct rrset *chosen)
{
	const uint8_t *base = (const uint8_t *)r;
	return chosen->count > 1 && (chosen->rdata < base || chosen->rdata >= base + r->head.size);
}

int64_t dyn_signed_choose(const struct dyn_resource *r, struct rrset *chosen, uint32_t rnd)
{
	int f = chosen->type == RR_AAAA;
	const uint8_t *base = (const uint8_t *)r;
	if (chosen->count == 0 || chosen->rdata < base || chosen->rdata >= base + r->head.size) {
		/* some members of an unweighted pool are live: one of them, picked by rnd (record
		 * floor(rnd * count / 2^32): each with the same chance, dyn_signed_subset()) */
		if (chosen->count == 0)
			return -1;
		uint32_t pick = (uint32_t)(((uint64_t)rnd * chosen->count) >> 32);
		const uint8_t *rec = chosen->rdata;
		for (uint32_t i = 0; i < pick; i++)
			rec = rdata_next(rec);
		int64_t id = signed_single(r, f, rdata_bytes(rec));
		if (id < 0)
			return -1;
		dyn_signed_rrset(r, chosen->type, (uint32_t)id, chosen->ttl, chosen);
		return id;
	}
	struct cchoice key = {(uint32_t)(chosen->rdata - base), chosen->count, 0, 0};
	const struct cchoice *c = bsearch(&key, base + r->choices, r->nchoices, sizeof(key), choice_cmp);
	return c && c->family == (uint32_t)f ? (int64_t)c->id : -1;
}
