/* Writing answers: one RRset into a section as the dynamic-answer selection gives it for this
 * client (records, TTL, ECS scope), the names it wants addresses for, and the additional section
 * those addresses fill. Every record of an answer from a zone goes through ns_put_rrset(). */
#include <string.h>

#include "lib/rr.h"
#include "ternd/dyn/answer.h"
#include "ternd/ns/ns.h"

bool ns_put_rrset(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs)
{
	if (q->full)
		return false;
	struct answer_rrs sel;
	if (answer_select(q->client->addr, q->client->addrlen, q->ecs.family ? &q->ecs : NULL, rs, &sel) < 0) {
		q->rcode = RCODE_SERVFAIL;
		return false;
	}
	return ns_put_selected(q, sec, owner, rs, &sel);
}

bool ns_put_selected(struct query *q, enum ns_section sec, const uint8_t *owner, const struct rrset *rs,
                     const struct answer_rrs *sel)
{
	if (q->full)
		return false;
	struct wire_writer *w = &q->w;
	struct wire_mark mark = wire_mark(w);
	if (sel->ecs_scope) /* the option's room is kept from the start: a tailored answer never goes without it */
		ns_edns_scope(q, sel->ecs_scope);
	const uint8_t *rec = sel->rrset->rdata;
	uint8_t ptr[2]; /* the owner as a pointer, once written */
	bool have_ptr = false;
	if (owner == q->qname) { /* the question holds it at offset 12, case as asked */
		wire_put16(ptr, 0xc000 | WIRE_HEADER_LEN);
		have_ptr = true;
	}
	for (uint16_t i = 0; i < sel->rrset->count; i++, rec = rdata_next(rec)) {
		if (have_ptr) {
			if (wire_write(w, ptr, 2) < 0)
				goto nospace;
		} else {
			size_t at = w->pos;
			if (wire_write_name(w, owner, true) < 0)
				goto nospace;
			/* later records of the set point at this owner (or reuse its pointer) */
			if (w->pos - at == 2)
				memcpy(ptr, w->buf + at, 2);
			else
				wire_put16(ptr, (uint16_t)(0xc000 | at));
			have_ptr = w->pos - at == 2 || at < 0x4000;
		}
		uint16_t type = sel->rrset->type, rdlen = rdata_len(rec);
		if (w->pos + 10 > w->cap)
			goto nospace;
		uint8_t *fixed = w->buf + w->pos; /* TYPE, CLASS, TTL, RDLENGTH */
		wire_put16(fixed, type);
		wire_put16(fixed + 2, RR_CLASS_IN);
		wire_put32(fixed + 4, sel->ttl);
		w->pos += 10;
		size_t start = w->pos;
		if (type == RR_A || type == RR_AAAA) { /* no names inside: the RDATA as stored */
			if (wire_write(w, rdata_bytes(rec), rdlen) < 0)
				goto nospace;
		} else if (rr_write_rdata(w, type, rdata_bytes(rec), rdlen) < 0) {
			goto nospace;
		}
		wire_put16(w->buf + start - 2, (uint16_t)(w->pos - start));
	}
	q->count[sec] += sel->rrset->count;
	if (rs->dyn && rs->type == RR_CNAME && sel->rrset->count) /* a CNAME resource's choice */
		q->dyn_target = rdata_bytes(sel->rrset->rdata);
	if (sec != SEC_ADDITIONAL && rr_has_additional(rs->type)) {
		rec = sel->rrset->rdata;
		for (uint16_t i = 0; i < sel->rrset->count; i++, rec = rdata_next(rec)) {
			const uint8_t *target = rr_additional_target(rs->type, rdata_bytes(rec), rdata_len(rec));
			if (target)
				ns_want_extra(q, target);
		}
	}
	return true;
nospace:
	wire_rollback(w, mark);
	if (sec != SEC_ADDITIONAL) {
		q->tc = true; /* RFC 2181 9: whole RRsets only, and say data is missing */
		q->full = true;
	}
	return false;
}

void ns_want_extra(struct query *q, const uint8_t *name)
{
	for (int i = 0; i < q->nextra; i++)
		if (q->extra[i].zone == q->zone && name_equal(q->extra[i].name, name))
			return;
	if (q->nextra < NS_MAX_EXTRA) {
		q->extra[q->nextra].name = name;
		q->extra[q->nextra].zone = q->zone;
		q->extra[q->nextra].required = false;
		q->nextra++;
	}
}

void ns_put_extras(struct query *q)
{
	for (int i = 0; i < q->nextra; i++) {
		const struct zone *z = q->extra[i].zone;
		const uint8_t *name = q->extra[i].name;
		if (!z || !name_in(name, z->apex))
			continue;
		uint8_t lname[NAME_MAXLEN];
		size_t len = name_len(name);
		name_lower_copy(lname, name, len);
		const struct zone_node *n = zone_find(z, lname, len);
		if (!n)
			continue;
		struct rrset dyn_a, dyn_aaaa;
		const struct rrset *a = answer_node_rrset(n, RR_A, &dyn_a),
		                   *aaaa = answer_node_rrset(n, RR_AAAA, &dyn_aaaa);
		bool fit = true;
		if (a)
			fit &= ns_put_answer(q, SEC_ADDITIONAL, name, a, z, n);
		if (aaaa)
			fit &= ns_put_answer(q, SEC_ADDITIONAL, name, aaaa, z, n);
		if (!fit && q->extra[i].required) {
			q->tc = true;
			q->full = true;
		}
	}
}
