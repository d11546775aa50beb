/* RFC 2136 dynamic updates as data: the UPDATE message read (update_parse), its prerequisites judged
 * against a zone (update_check) and its updates turned into whole RRsets (update_changes). */
#include "lib/update.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/xfr_parse.h"

#define HDR 12
#define RDATA_MAX 65535

__attribute__((format(printf, 4, 5))) static int fail(int rcode, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rcode;
}

static const char *text(const uint8_t *name, char buf[1024])
{
	if (name_to_text(name, buf, 1024) < 0)
		snprintf(buf, 1024, "(a name)");
	return buf;
}

static bool update_signer_type(uint16_t type)
{
	return type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3 || type == RR_NSEC3PARAM || type == RR_DNSKEY ||
	       type == RR_CDS || type == RR_CDNSKEY;
}

/* ---- reading the message ---- */

/* The expanded RDATA, kept by offset while the buffer grows; pointers are set at the end. */
struct reader {
	const uint8_t *msg;
	size_t len, pos;
	uint8_t *buf;
	size_t used, cap;
	size_t *offs; /* per record (prerequisites, then updates) */
};

static int keep_rdata(struct reader *r, const uint8_t *rd, size_t n, size_t *off)
{
	if (r->used + n > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		while (cap < r->used + n)
			cap *= 2;
		uint8_t *b = realloc(r->buf, cap);
		if (!b)
			return TERN_ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	if (n)
		memcpy(r->buf + r->used, rd, n);
	*off = r->used;
	r->used += n;
	return 0;
}

/* One record of the prerequisite or update section. */
static int read_rr(struct reader *r, const struct update *u, bool prereq, size_t i, struct update_rr *rr, char *err,
                   size_t errlen)
{
	uint8_t tmp[RDATA_MAX + NAME_MAXLEN];
	const char *sec = prereq ? "prerequisite" : "update";
	char a[1024], b[1024], t[16];
	if (wire_read_name(r->msg, r->len, &r->pos, rr->owner) < 0)
		return fail(UPDATE_FORMERR, err, errlen, "%s %zu: a malformed owner name", sec, i + 1);
	name_lower(rr->owner);
	if (r->pos + 10 > r->len)
		return fail(UPDATE_FORMERR, err, errlen, "%s %zu: cut short", sec, i + 1);
	rr->type = wire_get16(r->msg + r->pos);
	rr->cls = wire_get16(r->msg + r->pos + 2);
	rr->ttl = wire_get32(r->msg + r->pos + 4);
	uint16_t rdlen = wire_get16(r->msg + r->pos + 8);
	size_t rd = r->pos + 10;
	if (rd + rdlen > r->len)
		return fail(UPDATE_FORMERR, err, errlen, "%s %zu: RDATA runs past the message", sec, i + 1);
	r->pos = rd + rdlen;
	int n = 0;
	if (rdlen && (n = xfrp_rdata_expand(rr->type, r->msg, r->len, rd, rdlen, tmp, RDATA_MAX)) < 0)
		return fail(UPDATE_FORMERR, err, errlen, "%s %zu: %s %s: malformed RDATA", sec, i + 1,
		            text(rr->owner, a), rr_type_name(rr->type, t));
	rr->rdlen = (uint16_t)n;

	const char *why = NULL;
	bool any = rr->cls == RR_CLASS_ANY, none = rr->cls == 254, data = rr->cls == u->zclass;
	bool meta = rr_type_is_meta(rr->type);
	if (prereq) {
		/* RFC 2136 3.2.1: TTL 0; ANY and NONE without RDATA; the zone's class with it */
		if (rr->ttl != 0)
			why = "a prerequisite's TTL must be 0";
		else if ((any || none) && rdlen)
			why = "a prerequisite of class ANY or NONE has no RDATA";
		else if (!any && !none && !data)
			why = "class must be the zone's, ANY or NONE";
		else if (data && meta)
			why = "a value-dependent prerequisite of a meta type";
	} else {
		/* RFC 2136 3.4.1.3 */
		if (data && meta)
			why = "an added record of a meta type";
		else if (any && (rr->ttl != 0 || rdlen))
			why = "a deletion of class ANY has TTL 0 and no RDATA";
		else if (any && meta && rr->type != RR_ANY)
			why = "a deletion of a meta type other than ANY";
		else if (none && rr->ttl != 0)
			why = "a deletion of class NONE has TTL 0";
		else if (none && meta)
			why = "a deletion of one record of a meta type";
		else if (!any && !none && !data)
			why = "class must be the zone's, ANY or NONE";
	}
	if (!why && !prereq && rr->type == RR_DYN)
		return fail(UPDATE_REFUSED, err, errlen, "update %zu: %s: dynamic answers are written through the API",
		            i + 1, text(rr->owner, a));
	if (!why && (data || (!prereq && none)) && !meta && rr_rdata_check(rr->type, tmp, (size_t)n) < 0)
		why = "malformed RDATA";
	if (why)
		return fail(UPDATE_FORMERR, err, errlen, "%s %zu: %s %s: %s", sec, i + 1, text(rr->owner, a),
		            rr_type_name(rr->type, t), why);
	if (!name_in(rr->owner, u->zone))
		return fail(UPDATE_NOTZONE, err, errlen, "%s %zu: %s is outside the zone %s", sec, i + 1,
		            text(rr->owner, a), text(u->zone, b));
	if (!prereq && rr->type == RR_DYN)
		return fail(UPDATE_REFUSED, err, errlen, "update %zu: %s: dynamic answers are written through the API",
		            i + 1, text(rr->owner, a));
	size_t off;
	if (keep_rdata(r, tmp, (size_t)n, &off) < 0)
		return fail(UPDATE_SERVFAIL, err, errlen, "out of memory");
	r->offs[(prereq ? 0 : u->nprereq) + i] = off;
	return 0;
}

int update_parse(const uint8_t *msg, size_t len, size_t max_rrs, struct update *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	char a[1024];
	if (len < HDR)
		return fail(UPDATE_FORMERR, err, errlen, "shorter than a DNS header");
	u->id = wire_get16(msg);
	if (((msg[2] >> 3) & 0x0f) != UPDATE_OPCODE)
		return fail(UPDATE_FORMERR, err, errlen, "not an UPDATE (opcode %u)", (msg[2] >> 3) & 0x0f);
	unsigned zo = wire_get16(msg + 4), pr = wire_get16(msg + 6), up = wire_get16(msg + 8),
	         ad = wire_get16(msg + 10);
	if (zo != 1)
		return fail(UPDATE_FORMERR, err, errlen, "the zone section holds %u entries (1 expected)", zo);
	struct reader r = {.msg = msg, .len = len, .pos = HDR};
	if (wire_read_name(msg, len, &r.pos, u->zone) < 0 || r.pos + 4 > len)
		return fail(UPDATE_FORMERR, err, errlen, "a malformed zone section");
	name_lower(u->zone);
	u->zclass = wire_get16(msg + r.pos + 2);
	if (wire_get16(msg + r.pos) != RR_SOA)
		return fail(UPDATE_FORMERR, err, errlen, "the zone section's type must be SOA");
	if (u->zclass != RR_CLASS_IN)
		return fail(UPDATE_NOTAUTH, err, errlen, "zone %s of class %u: only class IN is served",
		            text(u->zone, a), u->zclass);
	r.pos += 4;
	if ((size_t)pr + up > max_rrs)
		return fail(UPDATE_REFUSED, err, errlen, "%u prerequisites and updates: more than the %zu allowed",
		            pr + up, max_rrs);
	int rc = UPDATE_SERVFAIL;
	u->nprereq = pr;
	u->nupd = up;
	if ((pr && !(u->prereq = calloc(pr, sizeof(*u->prereq)))) || (up && !(u->upd = calloc(up, sizeof(*u->upd)))) ||
	    ((pr + up) && !(r.offs = calloc((size_t)pr + up, sizeof(*r.offs))))) {
		fail(rc, err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < pr; i++)
		if ((rc = read_rr(&r, u, true, i, &u->prereq[i], err, errlen)) != 0)
			goto fail;
	for (size_t i = 0; i < up; i++)
		if ((rc = read_rr(&r, u, false, i, &u->upd[i], err, errlen)) != 0)
			goto fail;
	/* the additional section: a TSIG, if any, is its last record (RFC 8945 5.1); others are skipped */
	for (unsigned i = 0; i < ad; i++) {
		size_t start = r.pos;
		uint16_t type;
		if (wire_skip_rr(msg, len, &r.pos, &type, NULL, NULL) < 0) {
			rc = fail(UPDATE_FORMERR, err, errlen, "additional record %u: malformed", i + 1);
			goto fail;
		}
		if (type == RR_TSIG) {
			if (i + 1 != ad) {
				rc = fail(UPDATE_FORMERR, err, errlen, "a TSIG record that is not the last");
				goto fail;
			}
			u->tsig_at = start;
		}
	}
	if (r.pos != len) {
		rc = fail(UPDATE_FORMERR, err, errlen, "%zu octets after the last record", len - r.pos);
		goto fail;
	}
	if (!r.buf && !(r.buf = malloc(1))) { /* records without RDATA still point somewhere */
		rc = fail(UPDATE_SERVFAIL, err, errlen, "out of memory");
		goto fail;
	}
	u->buf = r.buf;
	for (size_t i = 0; i < pr; i++)
		u->prereq[i].rdata = u->buf + r.offs[i];
	for (size_t i = 0; i < up; i++)
		u->upd[i].rdata = u->buf + r.offs[pr + i];
	free(r.offs);
	return 0;
fail:
	free(r.offs);
	free(r.buf);
	free(u->prereq);
	free(u->upd);
	memset(u, 0, sizeof(*u));
	return rc;
}

void update_free(struct update *u)
{
	free(u->prereq);
	free(u->upd);
	free(u->buf);
	memset(u, 0, sizeof(*u));
}

bool update_touches_dnssec(const struct update *u)
{
	for (size_t i = 0; i < u->nupd; i++)
		if (update_signer_type(u->upd[i].type))
			return true;
	return false;
}

/* ---- prerequisites ---- */

static const struct zone_node *node_of(const struct zone *z, const uint8_t *owner)
{
	return zone_find(z, owner, name_len(owner));
}

static bool in_use(const struct zone_node *n)
{
	return n && n->nrrsets > 0;
}

static bool has_type(const struct zone_node *n, uint16_t type)
{
	uint16_t count = 0;
	return n && zone_node_rrsets(n, type, &count) && count > 0;
}

/* Whether rdata is one of the records of rs. */
static bool rrset_holds(const struct rrset *rs, uint16_t type, const uint8_t *rdata, uint16_t len)
{
	const uint8_t *p = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, p = rdata_next(p))
		if (xfrp_rdata_equal(type, rdata_bytes(p), rdata_len(p), rdata, len))
			return true;
	return false;
}

/* RFC 2136 3.2.3: the zone's RRset at (owner, type) equals the prerequisites of that pair. */
static bool rrset_equals(const struct zone *z, const struct update *u, size_t first)
{
	const struct update_rr *f = &u->prereq[first];
	const struct zone_node *n = node_of(z, f->owner);
	const struct rrset *rs = n ? zone_node_rrset(n, f->type) : NULL;
	if (!rs)
		return false;
	size_t distinct = 0;
	for (size_t j = first; j < u->nprereq; j++) {
		const struct update_rr *p = &u->prereq[j];
		if (p->cls != u->zclass || p->type != f->type || !name_equal(p->owner, f->owner))
			continue;
		bool seen = false;
		for (size_t k = first; k < j && !seen; k++) {
			const struct update_rr *q = &u->prereq[k];
			seen = q->cls == u->zclass && q->type == p->type && name_equal(q->owner, p->owner) &&
			       xfrp_rdata_equal(p->type, q->rdata, q->rdlen, p->rdata, p->rdlen);
		}
		if (seen)
			continue;
		if (!rrset_holds(rs, p->type, p->rdata, p->rdlen))
			return false;
		distinct++;
	}
	return distinct == rs->count;
}

int update_check(const struct zone *z, const struct update *u, char *err, size_t errlen)
{
	char a[1024], t[16];
	for (size_t i = 0; i < u->nprereq; i++) {
		const struct update_rr *p = &u->prereq[i];
		const struct zone_node *n = node_of(z, p->owner);
		if (p->cls == RR_CLASS_ANY && p->type == RR_ANY) {
			if (!in_use(n))
				return fail(UPDATE_NXDOMAIN, err, errlen, "prerequisite %zu: %s is not in use", i + 1,
				            text(p->owner, a));
		} else if (p->cls == RR_CLASS_ANY) {
			if (!has_type(n, p->type))
				return fail(UPDATE_NXRRSET, err, errlen, "prerequisite %zu: %s has no %s RRset", i + 1,
				            text(p->owner, a), rr_type_name(p->type, t));
		} else if (p->cls == 254 && p->type == RR_ANY) {
			if (in_use(n))
				return fail(UPDATE_YXDOMAIN, err, errlen, "prerequisite %zu: %s is in use", i + 1,
				            text(p->owner, a));
		} else if (p->cls == 254) {
			if (has_type(n, p->type))
				return fail(UPDATE_YXRRSET, err, errlen, "prerequisite %zu: %s has a %s RRset", i + 1,
				            text(p->owner, a), rr_type_name(p->type, t));
		} else {
			/* value-dependent: judged once, at the pair's first record */
			bool first = true;
			for (size_t k = 0; k < i && first; k++)
				first = !(u->prereq[k].cls == u->zclass && u->prereq[k].type == p->type &&
				          name_equal(u->prereq[k].owner, p->owner));
			if (first && !rrset_equals(z, u, i))
				return fail(UPDATE_NXRRSET, err, errlen,
				            "prerequisite %zu: %s %s is not the RRset given", i + 1, text(p->owner, a),
				            rr_type_name(p->type, t));
		}
	}
	return 0;
}

/* ---- updates ---- */

struct rec {
	const uint8_t *rd;
	uint16_t len;
};

/* An RRset as the updates leave it: loaded from the zone on first touch. */
struct entry {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	struct rec *recs;
	size_t n, cap;
	bool changed;
};

struct work {
	const struct zone *z;
	struct entry *e;
	size_t n, cap;
};

static int push_rec(struct entry *e, const uint8_t *rd, uint16_t len)
{
	if (e->n == UINT16_MAX)
		return TERN_ESPACE; /* more records than an RRset may hold */
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 4;
		struct rec *r = realloc(e->recs, cap * sizeof(*r));
		if (!r)
			return TERN_ENOMEM;
		e->recs = r;
		e->cap = cap;
	}
	e->recs[e->n++] = (struct rec){rd, len};
	return 0;
}

/* The entry of (owner, type), made from the zone's RRset when first asked for. */
static struct entry *entry_get(struct work *w, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->e[i].type == type && name_equal(w->e[i].owner, owner))
			return &w->e[i];
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		struct entry *e = realloc(w->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		w->e = e;
		w->cap = cap;
	}
	struct entry *e = &w->e[w->n];
	*e = (struct entry){.owner = owner, .type = type};
	const struct zone_node *node = node_of(w->z, owner);
	const struct rrset *rs = node && type != RR_RRSIG ? zone_node_rrset(node, type) : NULL;
	if (rs) {
		e->ttl = rs->ttl;
		const uint8_t *p = rs->rdata;
		for (uint16_t i = 0; i < rs->count; i++, p = rdata_next(p))
			if (push_rec(e, rdata_bytes(p), rdata_len(p)) < 0) {
				free(e->recs);
				return NULL;
			}
	}
	w->n++;
	return e;
}

/* Whether owner holds data of a type other than CNAME (and the signer's RRSIG and NSEC). */
static int other_data(struct work *w, const uint8_t *owner, bool *out)
{
	*out = false;
	const struct zone_node *node = node_of(w->z, owner);
	for (uint16_t i = 0; node && i < node->nrrsets && !*out; i++) {
		uint16_t type = node->rrsets[i].type;
		if (type == RR_CNAME || type == RR_RRSIG || type == RR_NSEC)
			continue;
		struct entry *e = entry_get(w, owner, type);
		if (!e)
			return TERN_ENOMEM;
		*out = e->n > 0;
	}
	for (size_t i = 0; i < w->n && !*out; i++)
		if (w->e[i].type != RR_CNAME && w->e[i].type != RR_RRSIG && w->e[i].type != RR_NSEC &&
		    name_equal(w->e[i].owner, owner))
			*out = w->e[i].n > 0;
	return 0;
}

static long rec_find(const struct entry *e, const uint8_t *rd, uint16_t len)
{
	for (size_t i = 0; i < e->n; i++)
		if (xfrp_rdata_equal(e->type, e->recs[i].rd, e->recs[i].len, rd, len))
			return (long)i;
	return -1;
}

static void rec_remove(struct entry *e, size_t i)
{
	memmove(&e->recs[i], &e->recs[i + 1], (e->n - i - 1) * sizeof(e->recs[0]));
	e->n--;
	e->changed = true;
}

static int add(struct work *w, const struct update *u, const struct update_rr *rr)
{
	bool apex = name_equal(rr->owner, u->zone);
	if (rr->type == RR_SOA) {
		if (!apex)
			return 0;
		struct entry *e = entry_get(w, rr->owner, RR_SOA);
		if (!e)
			return TERN_ENOMEM;
		if (e->n) {
			uint32_t cur = wire_get32(e->recs[0].rd + rr_soa_serial_offset(e->recs[0].rd));
			uint32_t want = wire_get32(rr->rdata + rr_soa_serial_offset(rr->rdata));
			if ((int32_t)(want - cur) <= 0)
				return 0; /* RFC 2136 3.4.2.2: a serial that does not grow is ignored */
		}
		e->n = 0;
		e->ttl = rr->ttl;
		e->changed = true;
		return push_rec(e, rr->rdata, rr->rdlen);
	}
	bool other;
	if (rr->type == RR_CNAME) {
		if (other_data(w, rr->owner, &other) < 0)
			return TERN_ENOMEM;
		if (other)
			return 0;
		struct entry *e = entry_get(w, rr->owner, RR_CNAME);
		if (!e)
			return TERN_ENOMEM;
		if (e->n == 1 && e->ttl == rr->ttl && rec_find(e, rr->rdata, rr->rdlen) == 0)
			return 0;
		e->n = 0; /* one CNAME: the new one replaces it */
		e->ttl = rr->ttl;
		e->changed = true;
		return push_rec(e, rr->rdata, rr->rdlen);
	}
	if (rr->type != RR_RRSIG && rr->type != RR_NSEC) {
		struct entry *c = entry_get(w, rr->owner, RR_CNAME);
		if (!c)
			return TERN_ENOMEM;
		if (c->n)
			return 0; /* other data at a CNAME is ignored */
	}
	struct entry *e = entry_get(w, rr->owner, rr->type);
	if (!e)
		return TERN_ENOMEM;
	long at = rec_find(e, rr->rdata, rr->rdlen);
	if (at >= 0 && e->ttl == rr->ttl && e->recs[at].len == rr->rdlen &&
	    memcmp(e->recs[at].rd, rr->rdata, rr->rdlen) == 0)
		return 0; /* the same record, the same TTL */
	e->changed = true;
	e->ttl = rr->ttl;
	if (at >= 0) {
		e->recs[at] = (struct rec){rr->rdata, rr->rdlen};
		return 0;
	}
	return push_rec(e, rr->rdata, rr->rdlen);
}

static int delete_rrset(struct work *w, const uint8_t *owner, uint16_t type)
{
	struct entry *e = entry_get(w, owner, type);
	if (!e)
		return TERN_ENOMEM;
	if (e->n) {
		e->n = 0;
		e->changed = true;
	}
	return 0;
}

static int delete_name(struct work *w, const struct update *u, const uint8_t *owner)
{
	bool apex = name_equal(owner, u->zone);
	const struct zone_node *node = node_of(w->z, owner);
	for (uint16_t i = 0; node && i < node->nrrsets; i++) {
		uint16_t type = node->rrsets[i].type;
		if ((apex && (type == RR_SOA || type == RR_NS)) || update_signer_type(type) || type == RR_DYN)
			continue;
		if (delete_rrset(w, owner, type) < 0)
			return TERN_ENOMEM;
	}
	for (size_t i = 0; i < w->n; i++) {
		struct entry *e = &w->e[i];
		if (!name_equal(e->owner, owner) || (apex && (e->type == RR_SOA || e->type == RR_NS)) ||
		    update_signer_type(e->type) || e->type == RR_DYN)
			continue;
		if (e->n) {
			e->n = 0;
			e->changed = true;
		}
	}
	return 0;
}

static int apply(struct work *w, const struct update *u, const struct update_rr *rr)
{
	bool apex = name_equal(rr->owner, u->zone);
	if (rr->cls == u->zclass)
		return add(w, u, rr);
	if (rr->cls == RR_CLASS_ANY) {
		if (rr->type == RR_ANY)
			return delete_name(w, u, rr->owner);
		if (apex && (rr->type == RR_SOA || rr->type == RR_NS))
			return 0;
		return delete_rrset(w, rr->owner, rr->type);
	}
	/* class NONE: one record */
	if (rr->type == RR_SOA)
		return 0;
	struct entry *e = entry_get(w, rr->owner, rr->type);
	if (!e)
		return TERN_ENOMEM;
	long at = rec_find(e, rr->rdata, rr->rdlen);
	if (at < 0 || (apex && rr->type == RR_NS && e->n == 1))
		return 0; /* not there, or the apex's last NS */
	rec_remove(e, (size_t)at);
	return 0;
}

/* Whether the entry ends as the zone holds it (a record deleted and added again changes nothing). */
static bool same_as_zone(const struct work *w, const struct entry *e)
{
	const struct zone_node *node = node_of(w->z, e->owner);
	const struct rrset *rs = node ? zone_node_rrset(node, e->type) : NULL;
	if (!rs)
		return e->n == 0;
	if (rs->count != e->n || rs->ttl != e->ttl)
		return false;
	for (size_t i = 0; i < e->n; i++)
		if (!rrset_holds(rs, e->type, e->recs[i].rd, e->recs[i].len))
			return false;
	return true;
}

int update_changes(const struct zone *z, const struct update *u, struct zone_change **out, size_t *n)
{
	struct work w = {.z = z};
	struct zone_change *ch = NULL;
	size_t nch = 0;
	int rc = TERN_ENOMEM;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < u->nupd; i++)
		if ((rc = apply(&w, u, &u->upd[i])) < 0)
			goto fail;
	rc = TERN_ENOMEM;
	if (w.n && !(ch = calloc(w.n, sizeof(*ch))))
		goto fail;
	for (size_t i = 0; i < w.n; i++) {
		struct entry *e = &w.e[i];
		if (!e->changed || same_as_zone(&w, e))
			continue;
		size_t size = 0;
		for (size_t k = 0; k < e->n; k++)
			size += 2 + (size_t)e->recs[k].len;
		uint8_t *rd = malloc(size ? size : 1), *p = rd;
		if (!rd)
			goto fail;
		for (size_t k = 0; k < e->n; k++) {
			wire_put16(p, e->recs[k].len);
			memcpy(p + 2, e->recs[k].rd, e->recs[k].len);
			p += 2 + e->recs[k].len;
		}
		ch[nch++] = (struct zone_change){.owner = e->owner,
		                                 .type = e->type,
		                                 .ttl = e->ttl,
		                                 .count = (uint16_t)e->n,
		                                 .rdata = rd,
		                                 .rdata_size = (uint32_t)size};
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.e[i].recs);
	free(w.e);
	*out = ch;
	*n = nch;
	return 0;
fail:
	update_changes_free(ch, nch);
	for (size_t i = 0; i < w.n; i++)
		free(w.e[i].recs);
	free(w.e);
	return rc;
}

void update_changes_free(struct zone_change *ch, size_t n)
{
	for (size_t i = 0; ch && i < n; i++)
		free((void *)ch[i].rdata);
	free(ch);
}
