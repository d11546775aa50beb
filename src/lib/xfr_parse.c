/* Zone transfer answers parsed without sockets: message checks, RDATA name expansion, the AXFR
 * and IXFR record state machines, and the application of IXFR diffs to a snapshot. */
#include "lib/xfr_parse.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"

#define SOA_RDATA_MAX (2 * NAME_MAXLEN + 20)

enum state {
	ST_START, /* nothing yet: the opening SOA comes first */
	ST_FIRST, /* IXFR after the opening SOA: the next record tells the answer's form */
	ST_AXFR, /* the zone's records, until the closing SOA */
	ST_DEL, /* IXFR: the records a diff deletes, until its new SOA */
	ST_ADD, /* IXFR: the records a diff adds, until the next diff's old SOA or the closing SOA */
	ST_DONE,
	ST_FAILED,
};

struct xfrp {
	struct xfrp_query q;
	uint8_t apex[NAME_MAXLEN];
	enum state st;
	enum xfrp_outcome outcome;
	uint32_t serial; /* the opening SOA's: the primary's */
	uint32_t diff_to; /* IXFR: where the diff being read ends */
	size_t messages, records;
	struct zone_builder *b;
	struct xfrp_diffs *d;
	/* IXFR's opening SOA, kept until the second record says whether it is zone data */
	uint32_t soa_ttl;
	uint16_t soa_len;
	uint8_t soa[SOA_RDATA_MAX];
	uint8_t rdata[65535 + NAME_MAXLEN]; /* the record being read, names expanded */
};

const char *xfrp_rcode_name(unsigned rcode, char buf[16])
{
	static const char *names[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	                              "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, 16, "RCODE%u", rcode);
	return buf;
}

/* Skips the question section, checking it asks for (apex, qtype). Returns 1 when it does. */
static int question_matches(const uint8_t *msg, size_t len, size_t *pos, const uint8_t *apex, uint16_t qtype)
{
	uint8_t name[NAME_MAXLEN];
	if (wire_get16(msg + 4) != 1 || wire_read_name(msg, len, pos, name) < 0 || *pos + 4 > len)
		return 0;
	bool same =
	    name_equal(name, apex) && wire_get16(msg + *pos) == qtype && wire_get16(msg + *pos + 2) == RR_CLASS_IN;
	*pos += 4;
	return same;
}

/* ---- the SOA query's answer ---- */

int xfrp_soa_answer(const struct xfrp_query *q, const uint8_t *msg, size_t len, uint32_t *serial, char *err,
                    size_t errlen)
{
	size_t pos = WIRE_HEADER_LEN;
	if (len < WIRE_HEADER_LEN || wire_get16(msg) != q->id)
		return 1;
	uint16_t flags = wire_get16(msg + 2);
	if (!(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_QUERY ||
	    !question_matches(msg, len, &pos, q->apex, RR_SOA))
		return 1;
	char rc[16];
	if (q->tsig &&
	    (q->tsig->verify(q->tsig->ctx, msg, len, err, errlen) < 0 || q->tsig->end(q->tsig->ctx, err, errlen) < 0))
		return TERN_EMALF;
	if (WIRE_RCODE(flags) != RCODE_NOERROR) {
		snprintf(err, errlen, "%s answered the SOA query with %s", q->from,
		         xfrp_rcode_name(WIRE_RCODE(flags), rc));
		return TERN_EIO;
	}
	if (flags & WIRE_TC) {
		snprintf(err, errlen, "%s sent a truncated SOA answer", q->from);
		return TERN_EMALF;
	}
	if (!(flags & WIRE_AA)) {
		snprintf(err, errlen, "%s is not authoritative for the zone (no AA bit)", q->from);
		return TERN_EIO;
	}
	for (unsigned i = 0, an = wire_get16(msg + 6); i < an; i++) {
		uint8_t owner[NAME_MAXLEN], name[NAME_MAXLEN];
		if (wire_read_name(msg, len, &pos, owner) < 0 || pos + 10 > len)
			break;
		uint16_t type = wire_get16(msg + pos), cls = wire_get16(msg + pos + 2),
		         rdlen = wire_get16(msg + pos + 8);
		size_t rd = pos + 10, end = rd + rdlen;
		if (end > len)
			break;
		pos = end;
		if (type != RR_SOA || cls != RR_CLASS_IN || !name_equal(owner, q->apex))
			continue;
		if (wire_read_name(msg, len, &rd, name) < 0 || wire_read_name(msg, len, &rd, name) < 0 || rd + 20 > end)
			break;
		*serial = wire_get32(msg + rd);
		return 0;
	}
	snprintf(err, errlen, "%s sent no SOA record for the zone", q->from);
	return TERN_EMALF;
}

/* ---- RDATA names ---- */

/* How RDATA holding names is laid out, for the types whose names may come compressed (RFC 1035
 * 3.3, RFC 3597 4, and DNAME, which some servers compress): one letter a field, 'n' a name, a
 * digit that many fixed bytes, 's' a character-string; what follows is copied as it is. */
static const char *rdata_layout(uint16_t type)
{
	switch (type) {
	case RR_NS:
	case 3: /* MD */
	case 4: /* MF */
	case RR_CNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case RR_PTR:
	case RR_DNAME:
	case 30: /* NXT */ return "n";
	case RR_SOA:
	case 14: /* MINFO */
	case 17: /* RP */ return "nn";
	case RR_MX:
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */ return "2n";
	case 26: /* PX */ return "2nn";
	case RR_SRV: return "222n";
	case RR_NAPTR: return "22sssn";
	case 24: /* SIG */ return "2114442n";
	default: return "";
	}
}

int xfrp_rdata_expand(uint16_t type, const uint8_t *msg, size_t len, size_t rd, uint16_t rdlen, uint8_t *out,
                      size_t cap)
{
	size_t end = rd + rdlen, o = 0, pos = rd;
	for (const char *f = rdata_layout(type); *f; f++) {
		size_t n;
		if (*f == 'n') {
			int l = wire_read_name(msg, len, &pos, out + o); /* out has NAME_MAXLEN spare */
			if (l < 0 || pos > end)
				return TERN_EMALF;
			o += (size_t)l;
			continue;
		}
		n = *f == 's' ? (pos < end ? (size_t)msg[pos] + 1 : 1) : (size_t)(*f - '0');
		if (pos + n > end || o + n > cap)
			return TERN_EMALF;
		memcpy(out + o, msg + pos, n);
		o += n;
		pos += n;
	}
	if (o + (end - pos) > cap)
		return TERN_EMALF;
	memcpy(out + o, msg + pos, end - pos);
	o += end - pos;
	return o > 65535 ? TERN_EMALF : (int)o;
}

bool xfrp_rdata_equal(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen) /* names equal but for case have equal lengths */
		return false;
	if (memcmp(a, b, alen) == 0)
		return true;
	size_t pos = 0;
	const char *f = rdata_layout(type);
	if (!*f)
		return false;
	for (; *f; f++) {
		if (*f == 'n') {
			int la = name_check(a + pos, alen - pos), lb = name_check(b + pos, blen - pos);
			if (la < 0 || la != lb || !name_equal(a + pos, b + pos))
				return false;
			pos += (size_t)la;
			continue;
		}
		size_t n = *f == 's' ? (pos < alen ? (size_t)a[pos] + 1 : 1) : (size_t)(*f - '0');
		if (pos + n > alen || memcmp(a + pos, b + pos, n) != 0)
			return false;
		pos += n;
	}
	return memcmp(a + pos, b + pos, alen - pos) == 0;
}

/* ---- the transfer's records ---- */

int xfrp_new(const struct xfrp_query *q, struct xfrp **out)
{
	/* all but the record buffer zeroed: it is 64 KiB, written before it is read, and clearing it
	 * was 2% of a fleet's machine pulling 200,000 small zones */
	struct xfrp *p = malloc(sizeof(*p));
	if (!p)
		return TERN_ENOMEM;
	memset(p, 0, offsetof(struct xfrp, rdata));
	p->q = *q;
	memcpy(p->apex, q->apex, name_len(q->apex));
	p->q.apex = p->apex;
	if (q->qtype == RR_AXFR && !(p->b = zone_builder_new(p->apex))) {
		free(p);
		return TERN_ENOMEM;
	}
	p->outcome = XFRP_ZONE;
	*out = p;
	return 0;
}

void xfrp_diffs_free(struct xfrp_diffs *d)
{
	if (!d)
		return;
	free(d->rr);
	free(d->data);
	free(d);
}

void xfrp_free(struct xfrp *p)
{
	if (!p)
		return;
	zone_builder_free(p->b);
	xfrp_diffs_free(p->d);
	free(p);
}

size_t xfrp_messages(const struct xfrp *p)
{
	return p->messages;
}

size_t xfrp_records(const struct xfrp *p)
{
	return p->records;
}

static int grow(void **buf, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *nb = realloc(*buf, ncap * size);
	if (!nb)
		return TERN_ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Appends one record of an IXFR answer to the diffs, its owner lower-cased. */
static int diff_push(struct xfrp_diffs *d, enum xfrp_op op, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen)
{
	size_t olen = name_len(owner);
	if (grow((void **)&d->rr, &d->caprr, d->nrr + 1, sizeof(*d->rr)) < 0 ||
	    grow((void **)&d->data, &d->capdata, d->ndata + olen + rdlen, 1) < 0)
		return TERN_ENOMEM;
	d->rr[d->nrr++] = (struct xfrp_rr){
	    .op = (uint8_t)op, .owner_len = (uint8_t)olen, .type = type, .rdlen = rdlen, .ttl = ttl, .off = d->ndata};
	name_lower_copy(d->data + d->ndata, owner, olen);
	memcpy(d->data + d->ndata + olen, rdata, rdlen);
	d->ndata += olen + rdlen;
	return 0;
}

static int add_to_zone(struct xfrp *p, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                       uint16_t rdlen, char *err, size_t errlen)
{
	p->records++;
	int rc = zone_builder_add(p->b, owner, type, ttl, rdata, rdlen, (uint32_t)p->records);
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

/* IXFR: the second record is not an SOA, so the answer is the whole zone (RFC 1995 4): the
 * opening SOA kept aside is its first record. */
static int start_axfr_style(struct xfrp *p, char *err, size_t errlen)
{
	if (!(p->b = zone_builder_new(p->apex))) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	p->st = ST_AXFR;
	return add_to_zone(p, p->apex, RR_SOA, p->soa_ttl, p->soa, p->soa_len, err, errlen);
}

/* IXFR: the second record is an SOA, so diffs follow; the first must start at our serial. */
static int start_diffs(struct xfrp *p, const uint8_t *owner, uint32_t ttl, const uint8_t *rdata, uint16_t n,
                       uint32_t serial, char *err, size_t errlen)
{
	if (serial != p->q.serial) {
		snprintf(
		    err, errlen,
		    "%s: the IXFR diffs start at serial %u, not at the %u we hold (the primary's journal has a gap)",
		    p->q.from, serial, p->q.serial);
		return TERN_EMALF;
	}
	if (!(p->d = calloc(1, sizeof(*p->d)))) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	p->d->from = serial;
	p->d->to = p->serial;
	p->d->ndiffs = 1;
	p->outcome = XFRP_DIFFS;
	p->st = ST_DEL;
	if (diff_push(p->d, XFRP_SOA_FROM, owner, RR_SOA, ttl, rdata, n) < 0) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	return 0;
}

/* One SOA at the apex while reading diffs: a diff's new SOA, the next diff's old one, or the end. */
static int diff_soa(struct xfrp *p, const uint8_t *owner, uint32_t ttl, const uint8_t *rdata, uint16_t n,
                    uint32_t serial, char *err, size_t errlen)
{
	enum xfrp_op op;
	if (p->st == ST_DEL) { /* the diff's new version */
		p->diff_to = serial;
		p->st = ST_ADD;
		op = XFRP_SOA_TO;
	} else if (p->diff_to == p->serial) { /* the diffs reached the final serial: this must close */
		if (serial != p->serial) {
			snprintf(err, errlen,
			         "%s: the IXFR diffs reached serial %u, then an SOA with serial %u follows", p->q.from,
			         p->serial, serial);
			return TERN_EMALF;
		}
		p->st = ST_DONE;
		return 0;
	} else { /* the next diff starts where this one ended */
		if (serial != p->diff_to) {
			snprintf(err, errlen, "%s: IXFR diff %zu ends at serial %u but the next one starts at %u",
			         p->q.from, p->d->ndiffs, p->diff_to, serial);
			return TERN_EMALF;
		}
		p->d->ndiffs++;
		p->st = ST_DEL;
		op = XFRP_SOA_FROM;
	}
	if (diff_push(p->d, op, owner, RR_SOA, ttl, rdata, n) < 0) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	return 0;
}

/* One answer record, read at *pos, through the state machine. */
static int take_record(struct xfrp *p, const uint8_t *msg, size_t len, size_t *pos, char *err, size_t errlen)
{
	uint8_t owner[NAME_MAXLEN];
	const char *from = p->q.from;
	if (wire_read_name(msg, len, pos, owner) < 0 || *pos + 10 > len)
		goto malformed;
	uint16_t type = wire_get16(msg + *pos), cls = wire_get16(msg + *pos + 2), rdlen = wire_get16(msg + *pos + 8);
	uint32_t ttl = wire_get32(msg + *pos + 4);
	size_t rd = *pos + 10;
	if (rd + rdlen > len)
		goto malformed;
	*pos = rd + rdlen;
	if (p->st == ST_DONE) {
		snprintf(err, errlen, "%s: records after the closing SOA", from);
		return TERN_EMALF;
	}
	if (cls != RR_CLASS_IN) {
		snprintf(err, errlen, "%s: record %zu has class %u, not IN", from, p->records + 1, cls);
		return TERN_EMALF;
	}
	int rn = xfrp_rdata_expand(type, msg, len, rd, rdlen, p->rdata, sizeof(p->rdata) - NAME_MAXLEN);
	if (rn < 0)
		goto malformed;
	uint16_t n = (uint16_t)rn;
	bool apex_soa = type == RR_SOA && name_equal(owner, p->apex);
	if (apex_soa && rr_rdata_check(RR_SOA, p->rdata, n) < 0)
		goto malformed;
	uint32_t serial = apex_soa ? wire_get32(p->rdata + rr_soa_serial_offset(p->rdata)) : 0;
	switch (p->st) {
	case ST_START:
		if (!apex_soa) {
			snprintf(err, errlen, "%s: the transfer does not start with the zone's SOA", from);
			return TERN_EMALF;
		}
		p->serial = serial;
		if (p->q.qtype == RR_AXFR) {
			p->st = ST_AXFR;
			return add_to_zone(p, owner, type, ttl, p->rdata, n, err, errlen);
		}
		memcpy(p->soa, p->rdata, n); /* an SOA's RDATA fits: rr_rdata_check */
		p->soa_len = n;
		p->soa_ttl = ttl;
		p->st = ST_FIRST;
		return 0;
	case ST_FIRST:
		if (apex_soa)
			return start_diffs(p, owner, ttl, p->rdata, n, serial, err, errlen);
		if (start_axfr_style(p, err, errlen) < 0)
			return TERN_ENOMEM;
		return add_to_zone(p, owner, type, ttl, p->rdata, n, err, errlen);
	case ST_AXFR:
		if (!apex_soa) /* the closing SOA repeats the first: not counted */
			return add_to_zone(p, owner, type, ttl, p->rdata, n, err, errlen);
		if (serial != p->serial) {
			snprintf(err, errlen, "%s: the transfer opened with serial %u and closed with %u", from,
			         p->serial, serial);
			return TERN_EMALF;
		}
		p->st = ST_DONE;
		return 0;
	case ST_DEL:
	case ST_ADD:
		if (apex_soa)
			return diff_soa(p, owner, ttl, p->rdata, n, serial, err, errlen);
		p->records++;
		p->d->nrecords++;
		if (diff_push(p->d, p->st == ST_DEL ? XFRP_DEL : XFRP_ADD, owner, type, ttl, p->rdata, n) < 0) {
			snprintf(err, errlen, "out of memory");
			return TERN_ENOMEM;
		}
		return 0;
	case ST_DONE:
	case ST_FAILED: break;
	}
	snprintf(err, errlen, "%s: the transfer has already ended", from);
	return TERN_EMALF;
malformed:
	snprintf(err, errlen, "%s: malformed record after %zu records", from, p->records);
	return TERN_EMALF;
}

/* One message: its header, question and answer records (authority and additional hold nothing
 * for the zone: TSIG and OPT live there). */
static int take_message(struct xfrp *p, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	const char *from = p->q.from;
	char rc_text[16];
	if (len < WIRE_HEADER_LEN) {
		snprintf(err, errlen, "%s: a message of %zu bytes", from, len);
		return TERN_EMALF;
	}
	uint16_t flags = wire_get16(msg + 2);
	if (wire_get16(msg) != p->q.id || !(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_QUERY) {
		snprintf(err, errlen, "%s: message %zu is not an answer to our query (ID or flags differ)", from,
		         p->messages + 1);
		return TERN_EMALF;
	}
	if (WIRE_RCODE(flags) != RCODE_NOERROR) {
		snprintf(err, errlen, "%s refused the transfer: %s", from, xfrp_rcode_name(WIRE_RCODE(flags), rc_text));
		return TERN_EIO;
	}
	if (flags & WIRE_TC) {
		snprintf(err, errlen, "%s: message %zu has the TC bit", from, p->messages + 1);
		return TERN_EMALF;
	}
	if (p->q.tsig) {
		int rc = p->q.tsig->verify(p->q.tsig->ctx, msg, len, err, errlen);
		if (rc < 0)
			return rc;
	}
	p->messages++;
	size_t pos = WIRE_HEADER_LEN;
	unsigned qd = wire_get16(msg + 4), an = wire_get16(msg + 6);
	if (qd > 1 || (qd == 1 && !question_matches(msg, len, &pos, p->apex, p->q.qtype))) {
		snprintf(err, errlen, "%s: message %zu answers another question", from, p->messages);
		return TERN_EMALF;
	}
	for (unsigned i = 0; i < an; i++) {
		int rc = take_record(p, msg, len, &pos, err, errlen);
		if (rc < 0)
			return rc;
	}
	/* A lone SOA not newer than ours ends an IXFR answer (RFC 1995 4: we are up to date); a newer
	 * one alone in its message only opens an answer whose records come in the next messages. */
	if (p->st == ST_FIRST && !rr_serial_newer(p->serial, p->q.serial)) {
		p->outcome = XFRP_CURRENT;
		p->st = ST_DONE;
	}
	return 0;
}

int xfrp_feed(struct xfrp *p, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	if (p->st == ST_DONE || p->st == ST_FAILED) {
		snprintf(err, errlen, "%s: the transfer has already ended", p->q.from);
		return TERN_EINVAL;
	}
	int rc = take_message(p, msg, len, err, errlen);
	if (rc == 0 && p->st == ST_DONE && p->q.tsig)
		rc = p->q.tsig->end(p->q.tsig->ctx, err, errlen);
	if (rc < 0) {
		p->st = ST_FAILED;
		return rc;
	}
	return p->st == ST_DONE;
}

int xfrp_finish(struct xfrp *p, enum xfrp_outcome *outcome, uint32_t *serial, struct zone **zone,
                struct xfrp_diffs **diffs, char *err, size_t errlen)
{
	if (p->st != ST_DONE) {
		snprintf(err, errlen, "%s: the transfer is not complete", p->q.from);
		return TERN_EINVAL;
	}
	*outcome = p->outcome;
	*serial = p->serial;
	p->st = ST_FAILED; /* once only */
	if (p->outcome == XFRP_DIFFS) {
		*diffs = p->d;
		p->d = NULL;
		return 0;
	}
	if (p->outcome == XFRP_CURRENT)
		return 0;
	char source[160];
	snprintf(source, sizeof(source), "%s from %s, record", p->q.qtype == RR_AXFR ? "AXFR" : "IXFR (whole zone)",
	         p->q.from);
	int rc = zone_build(p->b, source, zone, err, errlen); /* consumes the builder */
	p->b = NULL;
	return rc;
}

/* ---- applying diffs ---- */

struct wrec {
	const uint8_t *rdata;
	uint16_t len;
	uint32_t ttl; /* kept for RRSIG, whose records keep their own (lib/zone.h) */
};

/* One RRset a diff touches, as it stands after the operations so far. */
struct wset {
	const uint8_t *owner; /* lower-cased */
	uint16_t type;
	uint32_t ttl;
	struct wrec *rec;
	size_t n, cap;
};

struct work {
	const struct zone *cur;
	struct wset *sets;
	size_t nsets, capsets;
	size_t *slot; /* open addressing: index + 1 into sets, 0 = empty */
	size_t mask;
	char *err;
	size_t errlen;
};

static size_t wset_hash(const uint8_t *owner, uint16_t type)
{
	return (size_t)(name_hash(owner) ^ (uint32_t)type * 0x9e3779b1u);
}

static void work_free(struct work *w)
{
	for (size_t i = 0; i < w->nsets; i++)
		free(w->sets[i].rec);
	free(w->sets);
	free(w->slot);
}

static int wset_push(struct wset *s, const uint8_t *rdata, uint16_t len, uint32_t ttl)
{
	if (grow((void **)&s->rec, &s->cap, s->n + 1, sizeof(*s->rec)) < 0)
		return TERN_ENOMEM;
	s->rec[s->n++] = (struct wrec){rdata, len, ttl};
	return 0;
}

static int work_rehash(struct work *w, size_t size)
{
	size_t *slot = calloc(size, sizeof(*slot));
	if (!slot)
		return TERN_ENOMEM;
	free(w->slot);
	w->slot = slot;
	w->mask = size - 1;
	for (size_t i = 0; i < w->nsets; i++) {
		size_t h = wset_hash(w->sets[i].owner, w->sets[i].type) & w->mask;
		while (w->slot[h])
			h = (h + 1) & w->mask;
		w->slot[h] = i + 1;
	}
	return 0;
}

/* The working RRset (owner, type), made from the zone's on first touch; NULL when out of memory.
 * The pointer holds until the next call. */
static struct wset *work_set(struct work *w, const uint8_t *owner, uint16_t type)
{
	if (!w->slot || (w->nsets + 1) * 2 > w->mask + 1) {
		if (work_rehash(w, w->slot ? (w->mask + 1) * 2 : 64) < 0)
			return NULL;
	}
	size_t h = wset_hash(owner, type) & w->mask;
	for (; w->slot[h]; h = (h + 1) & w->mask) {
		struct wset *s = &w->sets[w->slot[h] - 1];
		if (s->type == type && name_equal(s->owner, owner))
			return s;
	}
	if (grow((void **)&w->sets, &w->capsets, w->nsets + 1, sizeof(*w->sets)) < 0)
		return NULL;
	struct wset *s = &w->sets[w->nsets];
	*s = (struct wset){.owner = owner, .type = type};
	const struct zone_node *node = zone_find(w->cur, owner, name_len(owner));
	uint16_t groups = 0; /* RRSIG: one per covered type */
	const struct rrset *rs = node ? zone_node_rrsets(node, type, &groups) : NULL;
	if (rs)
		s->ttl = rs->ttl;
	for (uint16_t g = 0; g < groups; g++) {
		const uint8_t *rec = rs[g].rdata;
		for (uint16_t i = 0; i < rs[g].count; i++, rec = rdata_next(rec)) {
			if (wset_push(s, rdata_bytes(rec), rdata_len(rec), rs[g].ttl) < 0) {
				free(s->rec);
				return NULL;
			}
		}
	}
	w->slot[h] = ++w->nsets;
	return s;
}

static long wset_find(const struct wset *s, const uint8_t *rdata, uint16_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (xfrp_rdata_equal(s->type, s->rec[i].rdata, s->rec[i].len, rdata, len))
			return (long)i;
	return -1;
}

/* The serial a diff ends at: its SOA_TO's, found after its SOA_FROM at index i. */
static uint32_t diff_end(const struct xfrp_diffs *d, size_t i)
{
	for (; i < d->nrr; i++) {
		if (d->rr[i].op == XFRP_SOA_TO) {
			const uint8_t *rdata = d->data + d->rr[i].off + d->rr[i].owner_len;
			return wire_get32(rdata + rr_soa_serial_offset(rdata));
		}
	}
	return d->to;
}

/* "diff 2 (serial 5 -> 6) deletes www.example.com. A 192.0.2.1, which the zone does not hold". */
static void missing_error(struct work *w, size_t diff, uint32_t from, uint32_t to, const struct xfrp_rr *r,
                          const uint8_t *owner, const uint8_t *rdata)
{
	char name[1024], type[16], text[512];
	name_to_text(owner, name, sizeof(name));
	if (rrtext_rdata_to_text(r->type, rdata, r->rdlen, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(%u bytes of RDATA)", r->rdlen);
	snprintf(w->err, w->errlen, "IXFR diff %zu (serial %u -> %u) deletes %s %s %s, which the zone does not hold",
	         diff, from, to, name, rr_type_name(r->type, type), text);
}

/* Runs every operation of d over the working RRsets. */
static int work_run(struct work *w, const struct xfrp_diffs *d)
{
	size_t diff = 0;
	uint32_t from = d->from, to = d->to;
	for (size_t i = 0; i < d->nrr; i++) {
		const struct xfrp_rr *r = &d->rr[i];
		const uint8_t *owner = d->data + r->off, *rdata = owner + r->owner_len;
		if (r->op == XFRP_SOA_FROM) {
			diff++;
			from = wire_get32(rdata + rr_soa_serial_offset(rdata));
			to = diff_end(d, i);
			continue;
		}
		struct wset *s = work_set(w, r->op == XFRP_SOA_TO ? w->cur->apex : owner, r->type);
		if (!s) {
			snprintf(w->err, w->errlen, "out of memory applying IXFR diff %zu", diff);
			return TERN_ENOMEM;
		}
		long at = wset_find(s, rdata, r->rdlen);
		switch (r->op) {
		case XFRP_SOA_TO: /* the diff's new SOA replaces the zone's */
			s->n = 0;
			at = -1;
			/* fall through */
		case XFRP_ADD: /* a record already there stays once; the TTL is the primary's latest */
			s->ttl = r->ttl;
			if (at >= 0)
				s->rec[at].ttl = r->ttl;
			if (at < 0 && wset_push(s, rdata, r->rdlen, r->ttl) < 0) {
				snprintf(w->err, w->errlen, "out of memory applying IXFR diff %zu", diff);
				return TERN_ENOMEM;
			}
			break;
		case XFRP_DEL:
			if (at < 0) {
				missing_error(w, diff, from, to, r, owner, rdata);
				return TERN_EZONE;
			}
			memmove(&s->rec[at], &s->rec[at + 1], (s->n - (size_t)at - 1) * sizeof(*s->rec));
			s->n--;
			break;
		}
	}
	return 0;
}

int xfrp_apply(const struct zone *cur, const struct xfrp_diffs *d, struct zone **out, char *err, size_t errlen)
{
	struct work w = {.cur = cur, .err = err, .errlen = errlen};
	struct zone_change *changes = NULL;
	uint8_t *rdata = NULL;
	uint32_t *ttls = NULL; /* of the RRSIG records, which keep their own (lib/zone.h) */
	int rc = TERN_EZONE;
	if (d->from != cur->serial) {
		snprintf(err, errlen, "the IXFR diffs start at serial %u, not at the %u served", d->from, cur->serial);
		return TERN_EZONE;
	}
	if ((rc = work_run(&w, d)) < 0)
		goto fail;
	size_t total = 0, nsigs = 0;
	for (size_t i = 0; i < w.nsets; i++) {
		nsigs += w.sets[i].type == RR_RRSIG ? w.sets[i].n : 0;
		const struct wset *s = &w.sets[i];
		char name[1024], type[16];
		if (s->n > 65535) {
			name_to_text(s->owner, name, sizeof(name));
			snprintf(err, errlen, "the IXFR leaves %zu %s records at %s, more than an RRset can hold", s->n,
			         rr_type_name(s->type, type), name);
			rc = TERN_EZONE;
			goto fail;
		}
		for (size_t k = 0; k < s->n; k++)
			total += 2 + (size_t)s->rec[k].len;
	}
	changes = calloc(w.nsets ? w.nsets : 1, sizeof(*changes));
	rdata = malloc(total ? total : 1);
	ttls = malloc((nsigs ? nsigs : 1) * sizeof(*ttls));
	if (!changes || !rdata || !ttls) {
		snprintf(err, errlen, "out of memory applying %zu IXFR diffs", d->ndiffs);
		rc = TERN_ENOMEM;
		goto fail;
	}
	uint8_t *p = rdata;
	uint32_t *t = ttls;
	for (size_t i = 0; i < w.nsets; i++) {
		const struct wset *s = &w.sets[i];
		uint8_t *start = p;
		uint32_t *set_ttls = s->type == RR_RRSIG ? t : NULL;
		for (size_t k = 0; set_ttls && k < s->n; k++)
			*t++ = s->rec[k].ttl;
		for (size_t k = 0; k < s->n; k++) {
			wire_put16(p, s->rec[k].len);
			memcpy(p + 2, s->rec[k].rdata, s->rec[k].len);
			p += 2 + s->rec[k].len;
		}
		if ((size_t)(p - start) > UINT32_MAX) {
			snprintf(err, errlen, "an RRset of the IXFR result is too large");
			rc = TERN_EZONE;
			goto fail;
		}
		changes[i] = (struct zone_change){.owner = s->owner,
		                                  .type = s->type,
		                                  .ttl = s->ttl,
		                                  .count = (uint16_t)s->n,
		                                  .rdata = s->n ? start : NULL,
		                                  .rdata_size = (uint32_t)(p - start),
		                                  .ttls = set_ttls};
	}
	/* the problems name owner and type; the index of a change means nothing to whoever reads
	 * about an IXFR, so it is left out */
	struct zone_apply_error ae;
	rc = zone_apply(cur, changes, w.nsets, out, &ae);
	if (rc < 0) {
		snprintf(err, errlen, "%s", ae.msg);
		goto fail;
	}
	if ((*out)->serial != d->to) {
		snprintf(err, errlen, "the IXFR diffs end at serial %u, not at the %u announced", (*out)->serial,
		         d->to);
		zone_discard(*out);
		*out = NULL;
		rc = TERN_EZONE;
		goto fail;
	}
	rc = 0;
fail:
	free(changes);
	free(rdata);
	free(ttls);
	work_free(&w);
	return rc;
}
