/* Zone transfers out over TCP: AXFR (RFC 5936), and IXFR (RFC 1995) from the journal, or the
 * whole zone when the journal does not reach the client's serial. An AXFR is the SOA, every other
 * RRset in canonical order, and the SOA again, in as many messages as it takes; the transfer is
 * built from one snapshot, so it is consistent. Each transfer answered is logged. */
#include "ternd/ns/xfr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/base/log.h"
#include "ternd/ns/ns.h"

#define XFR_MSG_MAX 16384 /* compression pointers reach 16 KiB: longer messages gain little */
#define XFR_MSG_BIG 65535 /* a record larger than XFR_MSG_MAX gets a message of up to 64 KiB */

struct xfr {
	uint8_t *buf; /* frames: the caller's (struct xfr_out), this answer's from start */
	size_t start, len, cap;
	size_t frame; /* where the current message's length prefix sits */
	struct wire_writer w;
	uint16_t ancount;
	uint8_t header[WIRE_HEADER_LEN];
	size_t reserve; /* kept free in each message for its TSIG (sign_frames) */
	/* what put_transfer() answered, for the log line */
	enum { XFR_SENT_AXFR = 1, XFR_SENT_IXFR, XFR_SENT_CURRENT } sent;
	uint32_t from; /* the client's serial (IXFR) */
};

static int grow(struct xfr *x, size_t need)
{
	if (x->len + need <= x->cap)
		return 0;
	size_t ncap = x->cap ? x->cap * 2 : 65536;
	while (ncap < x->len + need)
		ncap *= 2;
	uint8_t *nb = realloc(x->buf, ncap);
	if (!nb)
		return TERN_ENOMEM;
	x->buf = nb;
	x->cap = ncap;
	return 0;
}

/* Starts a message: header (answer count filled when it ends), the question when given. */
static int msg_begin(struct xfr *x, const uint8_t *question, size_t qlen)
{
	if (grow(x, 2 + XFR_MSG_BIG) < 0)
		return TERN_ENOMEM;
	x->frame = x->len;
	wire_writer_init(&x->w, x->buf + x->len + 2, XFR_MSG_MAX - x->reserve);
	wire_write(&x->w, x->header, WIRE_HEADER_LEN);
	wire_put16(x->w.buf + 4, question ? 1 : 0);
	if (question) {
		wire_write(&x->w, question, qlen);
		wire_remember_name(&x->w, WIRE_HEADER_LEN);
	}
	x->ancount = 0;
	return 0;
}

static void msg_end(struct xfr *x)
{
	wire_put16(x->w.buf + 6, x->ancount);
	wire_put16(x->buf + x->frame, (uint16_t)x->w.pos);
	x->len += 2 + x->w.pos;
}

/* One record; a full message is ended and the record goes into the next, which grows to 64 KiB
 * when the record needs it (any record of an RRset within zone.h's bound fits one, TSIG included). */
static int put_rr(struct xfr *x, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	for (;;) {
		struct wire_mark m = wire_mark(&x->w);
		if (wire_write_name(&x->w, owner, true) == 0 && wire_write16(&x->w, type) == 0 &&
		    wire_write16(&x->w, RR_CLASS_IN) == 0 && wire_write32(&x->w, ttl) == 0 &&
		    wire_write16(&x->w, 0) == 0) {
			size_t start = x->w.pos;
			if (rr_write_rdata(&x->w, type, rd, rdlen) == 0) {
				wire_put16(x->w.buf + start - 2, (uint16_t)(x->w.pos - start));
				x->ancount++;
				return 0;
			}
		}
		wire_rollback(&x->w, m);
		if (x->ancount > 0) {
			msg_end(x);
			if (msg_begin(x, NULL, 0) < 0)
				return TERN_ENOMEM;
		} else if (x->w.cap < XFR_MSG_BIG - x->reserve) {
			x->w.cap = XFR_MSG_BIG - x->reserve; /* msg_begin() made the room */
		} else {
			return TERN_ESPACE; /* larger than any message: zone.h's bound keeps it out */
		}
	}
}

static int put_rrset(struct xfr *x, const uint8_t *owner, const struct rrset *rs)
{
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec)) {
		int rc = put_rr(x, owner, rs->type, rs->ttl, rdata_bytes(rec), rdata_len(rec));
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A one-message answer without records (refusals). */
static int answer_error(struct xfr *x, const uint8_t *question, size_t qlen, uint16_t rcode)
{
	wire_put16(x->header + 2, (uint16_t)((wire_get16(x->header + 2) & ~(WIRE_AA | 0xf)) | rcode));
	if (msg_begin(x, question, qlen) < 0)
		return TERN_ENOMEM;
	msg_end(x);
	return 1;
}

/* ---- IXFR from the journal (RFC 1995) ---- */

/* The serial of the SOA an IXFR request carries in its authority section (RFC 1995 3); pos is
 * where the question ends. Returns 0, or TERN_EMALF when there is none. */
static int ixfr_request_serial(const uint8_t *msg, size_t len, size_t pos, const uint8_t *apex, uint32_t *serial)
{
	uint8_t owner[NAME_MAXLEN], name[NAME_MAXLEN];
	if (wire_get16(msg + 6) != 0 || wire_get16(msg + 8) < 1 || wire_read_name(msg, len, &pos, owner) < 0 ||
	    pos + 10 > len)
		return TERN_EMALF;
	size_t rd = pos + 10, end = rd + wire_get16(msg + pos + 8);
	if (wire_get16(msg + pos) != RR_SOA || end > len || !name_equal(owner, apex) ||
	    wire_read_name(msg, len, &rd, name) < 0 || wire_read_name(msg, len, &rd, name) < 0 || rd + 20 > end)
		return TERN_EMALF;
	*serial = wire_get32(msg + rd);
	return 0;
}

/* Records ordered by owner (wire bytes), type, TTL and RDATA: equal means the same record. */
static int xrr_cmp(const void *pa, const void *pb)
{
	const struct xfr_rr *a = *(const struct xfr_rr *const *)pa, *b = *(const struct xfr_rr *const *)pb;
	size_t la = name_len(a->owner), lb = name_len(b->owner);
	if (la != lb)
		return la < lb ? -1 : 1;
	int c = memcmp(a->owner, b->owner, la);
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->ttl != b->ttl)
		return a->ttl < b->ttl ? -1 : 1;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	return memcmp(a->rdata, b->rdata, a->rdlen);
}

/* Marks the records a change both removes and adds (the journal keeps whole RRsets, so a
 * one-record change of a big RRset lists the others on both sides): IXFR sends neither. */
static int mark_unchanged(const struct xfr_diff *d, bool *kept_removed, bool *kept_added)
{
	const struct xfr_rr **r = malloc((d->nremoved + d->nadded + 1) * sizeof(*r));
	if (!r)
		return TERN_ENOMEM;
	const struct xfr_rr **a = r + d->nremoved;
	for (size_t i = 0; i < d->nremoved; i++)
		r[i] = &d->removed[i];
	for (size_t i = 0; i < d->nadded; i++)
		a[i] = &d->added[i];
	qsort(r, d->nremoved, sizeof(*r), xrr_cmp);
	qsort(a, d->nadded, sizeof(*a), xrr_cmp);
	for (size_t i = 0, j = 0; i < d->nremoved && j < d->nadded;) {
		int c = xrr_cmp(&r[i], &a[j]);
		if (c == 0) {
			kept_removed[r[i] - d->removed] = true;
			kept_added[a[j] - d->added] = true;
		}
		i += c <= 0;
		j += c >= 0;
	}
	free(r);
	return 0;
}

/* The SOA among a change's records: its index, or n when there is none. */
static size_t find_soa(const struct xfr_rr *rrs, size_t n, const uint8_t *apex, uint32_t serial)
{
	for (size_t i = 0; i < n; i++)
		if (rrs[i].type == RR_SOA && name_equal(rrs[i].owner, apex)) {
			size_t off = rr_soa_serial_offset(rrs[i].rdata);
			return off + 4 <= rrs[i].rdlen && wire_get32(rrs[i].rdata + off) == serial ? i : n;
		}
	return n;
}

/* One side of a change: its SOA first, then its records that the other side does not repeat. */
static int put_side(struct xfr *x, const struct xfr_rr *rrs, size_t n, size_t soa, const bool *kept)
{
	int rc = put_rr(x, rrs[soa].owner, RR_SOA, rrs[soa].ttl, rrs[soa].rdata, rrs[soa].rdlen);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (i != soa && !kept[i])
			rc = put_rr(x, rrs[i].owner, rrs[i].type, rrs[i].ttl, rrs[i].rdata, rrs[i].rdlen);
	return rc;
}

struct ixfr {
	struct xfr *x;
	const uint8_t *apex;
	uint32_t at, to; /* the serial reached so far; the snapshot's */
	bool broken; /* a change that does not chain or lacks its SOA: send the whole zone */
	size_t diffs;
};

static int ixfr_diff(const struct xfr_diff *d, void *arg)
{
	struct ixfr *ix = arg;
	size_t rsoa = find_soa(d->removed, d->nremoved, ix->apex, d->serial_from);
	size_t asoa = find_soa(d->added, d->nadded, ix->apex, d->serial_to);
	if (d->serial_from != ix->at || rsoa == d->nremoved || asoa == d->nadded) {
		ix->broken = true;
		return 1;
	}
	bool *kept = calloc(d->nremoved + d->nadded + 1, sizeof(*kept));
	int rc = kept ? mark_unchanged(d, kept, kept + d->nremoved) : TERN_ENOMEM;
	if (rc == 0)
		rc = put_side(ix->x, d->removed, d->nremoved, rsoa, kept);
	if (rc == 0)
		rc = put_side(ix->x, d->added, d->nadded, asoa, kept + d->nremoved);
	free(kept);
	if (rc < 0)
		return rc;
	ix->at = d->serial_to;
	ix->diffs++;
	return ix->at == ix->to ? 1 : 0; /* a change committed but not yet served waits for next time */
}

/* The incremental answer when the journal chains from the client's serial to the one served:
 * SOA, each change, SOA, after msg_begin(). Returns 1 when written, 0 when the whole zone must go
 * instead (x holds a partial answer: start again), or TERN_ENOMEM. */
static int put_ixfr(struct xfr *x, const struct server *srv, const struct zone *z, uint32_t from)
{
	if (!srv->journal)
		return 0;
	struct ixfr ix = {.x = x, .apex = z->apex, .at = from, .to = z->serial};
	int rc = put_rrset(x, z->apex, z->soa);
	if (rc == 0)
		rc = srv->journal->read(srv->journal->ctx, z->apex, from, ixfr_diff, &ix);
	if (rc == TERN_ENOMEM)
		return rc;
	if (rc < 0 || ix.broken || ix.at != ix.to)
		return 0;
	return put_rrset(x, z->apex, z->soa) == 0 ? 1 : TERN_ENOMEM;
}

/* The whole zone: SOA, every other RRset in canonical order, SOA. */
static int put_axfr(struct xfr *x, const struct zone *z, const uint8_t *question, size_t qlen)
{
	const struct zone_node **nodes = NULL;
	size_t count = 0;
	int rc = zone_nodes_sorted(z, &nodes, &count);
	if (rc == 0)
		rc = msg_begin(x, question, qlen);
	if (rc == 0)
		rc = put_rrset(x, z->apex, z->soa);
	for (size_t i = 0; rc == 0 && i < count; i++)
		for (uint16_t k = 0; rc == 0 && k < nodes[i]->nrrsets; k++)
			if (nodes[i]->rrsets[k].type != RR_SOA)
				rc = put_rrset(x, nodes[i]->owner, &nodes[i]->rrsets[k]);
	if (rc == 0)
		rc = put_rrset(x, z->apex, z->soa);
	free(nodes);
	if (rc < 0)
		return rc;
	msg_end(x);
	return 1;
}

/* The answer to a transfer the client may have: for IXFR, one SOA when it is up to date (RFC 1995
 * 2), the changes since its serial when the journal has them, else the whole zone. qend is where
 * the request's question ends. */
static int put_transfer(struct xfr *x, const struct server *srv, const struct zone *z, const uint8_t *msg, size_t len,
                        size_t qend, const uint8_t *question, size_t qlen)
{
	if (wire_get16(question + qlen - 4) == RR_IXFR) {
		uint32_t from;
		if (ixfr_request_serial(msg, len, qend, z->apex, &from) < 0)
			return answer_error(x, question, qlen, RCODE_FORMERR); /* no SOA to start from */
		int rc = msg_begin(x, question, qlen);
		if (rc == 0 && !rr_serial_newer(z->serial, from))
			rc = put_rrset(x, z->apex, z->soa) == 0 ? 1 : TERN_ENOMEM;
		else if (rc == 0)
			rc = put_ixfr(x, srv, z, from);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			msg_end(x);
			x->sent = rr_serial_newer(z->serial, from) ? XFR_SENT_IXFR : XFR_SENT_CURRENT;
			x->from = from;
			return 1;
		}
		x->len = x->start; /* the journal does not lead here from the client's serial */
		x->from = from;
	}
	x->sent = XFR_SENT_AXFR;
	return put_axfr(x, z, question, qlen);
}

bool xfr_is_transfer(const uint8_t *msg, size_t len)
{
	if (len < WIRE_HEADER_LEN || (wire_get16(msg + 2) & WIRE_QR) ||
	    WIRE_OPCODE(wire_get16(msg + 2)) != OPCODE_QUERY || wire_get16(msg + 4) != 1)
		return false;
	uint8_t qname[NAME_MAXLEN];
	size_t pos = WIRE_HEADER_LEN;
	if (wire_read_name(msg, len, &pos, qname) < 0 || pos + 4 > len)
		return false;
	uint16_t qtype = wire_get16(msg + pos), qclass = wire_get16(msg + pos + 2);
	return (qtype == RR_AXFR || qtype == RR_IXFR) && qclass == RR_CLASS_IN;
}

/* Signs every message of a finished answer to a signed request in one chain (RFC 8945 5.3.1: each
 * message signed, the first over the request's MAC), or the one message of a TSIG error answer.
 * A pass over the final frames, so messages of an answer started over never enter the chain: the
 * signed frames are written after the unsigned ones, then moved over them. */
static int sign_frames(struct xfr *x, const struct ns_tsig *t)
{
	size_t nframes = 0;
	for (size_t pos = x->start; pos + 2 <= x->len; pos += 2 + wire_get16(x->buf + pos))
		nframes++;
	size_t end = x->len, need = end - x->start + nframes * ns_tsig_reserve(t);
	if (grow(x, need) < 0)
		return TERN_ENOMEM;
	uint8_t *signed_buf = x->buf + end;
	struct tsig_ctx ctx;
	ns_tsig_chain(t, &ctx);
	int rc = 0;
	size_t o = 0;
	for (size_t pos = x->start; rc == 0 && pos + 2 <= end;) {
		size_t mlen = wire_get16(x->buf + pos);
		memcpy(signed_buf + o + 2, x->buf + pos + 2, mlen);
		pos += 2 + mlen;
		size_t room = need - o - 2 < 65535 ? need - o - 2 : 65535;
		rc = ns_tsig_sign(t, &ctx, signed_buf + o + 2, &mlen, room);
		wire_put16(signed_buf + o, (uint16_t)mlen);
		o += 2 + mlen;
	}
	tsig_ctx_clear(&ctx);
	if (rc < 0)
		return rc;
	memmove(x->buf + x->start, signed_buf, o);
	x->len = x->start + o;
	return 0;
}

/* One line per transfer answered: zone, kind, client, serials and size (as Knot and BIND log theirs;
 * operators and tests see whether a secondary got IXFR or the whole zone). */
static void log_transfer(const struct xfr *x, const struct zone *z, const struct query_client *client, bool ixfr)
{
	char zone[NAME_MAXLEN * 4 + 1], addr[INET6_ADDRSTRLEN + 8] = "?";
	name_to_text(z->apex, zone, sizeof(zone));
	const struct sockaddr *sa = client->addr;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof(addr));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof(addr));
	size_t messages = 0, bytes = x->len - x->start;
	for (size_t pos = x->start; pos + 2 <= x->len; pos += 2 + wire_get16(x->buf + pos))
		messages++;
	if (x->sent == XFR_SENT_IXFR)
		log_info("transfer: %s IXFR to %s: serial %u -> %u, %zu messages, %zu bytes", zone, addr, x->from,
		         z->serial, messages, bytes);
	else if (x->sent == XFR_SENT_CURRENT)
		log_info("transfer: %s IXFR to %s: serial %u is current", zone, addr, z->serial);
	else if (ixfr)
		log_info("transfer: %s IXFR to %s from serial %u answered by AXFR (the journal does not reach it): "
		         "serial %u, %zu messages, %zu bytes",
		         zone, addr, x->from, z->serial, messages, bytes);
	else
		log_info("transfer: %s AXFR to %s: serial %u, %zu messages, %zu bytes", zone, addr, z->serial, messages,
		         bytes);
}

int xfr_answer(const struct server *srv, const uint8_t *msg, size_t len, const struct query_client *client,
               struct xfr_out *out)
{
	if (!xfr_is_transfer(msg, len))
		return 0;
	uint8_t qname[NAME_MAXLEN], lname[NAME_MAXLEN], question[NAME_MAXLEN + 4];
	size_t pos = WIRE_HEADER_LEN;
	int n = wire_read_name(msg, len, &pos, qname); /* checked by xfr_is_transfer */
	memcpy(question, qname, (size_t)n);
	memcpy(question + n, msg + pos, 4);
	size_t qlen = (size_t)n + 4;
	struct xfr x = {.buf = out->buf, .start = out->len, .len = out->len, .cap = out->cap};
	memcpy(x.header, msg, 2);
	wire_put16(x.header + 2, (uint16_t)(WIRE_QR | WIRE_AA | (wire_get16(msg + 2) & WIRE_RD)));
	name_lower_copy(lname, qname, (size_t)n);
	const struct ns_params *params = rcu_dereference(srv->params);
	const struct zone *z = zones_get(srv->zones, lname);
	struct ns_tsig tsig;
	enum ns_tsig_state ts = ns_tsig_verify(&tsig, params, msg, len);
	x.reserve = ns_tsig_reserve(&tsig);
	int rc;
	if (ts == NS_TSIG_MALFORMED || ts == NS_TSIG_FAILED) {
		rc = answer_error(&x, question, qlen, ts == NS_TSIG_MALFORMED ? RCODE_FORMERR : RCODE_SERVFAIL);
	} else if (ts == NS_TSIG_REJECTED) {
		rc = answer_error(&x, question, qlen, RCODE_NOTAUTH); /* with the TSIG error (RFC 8945 5.3.2) */
	} else if (!z) {
		rc = answer_error(&x, question, qlen, RCODE_NOTAUTH); /* RFC 5936 2.2.1 */
	} else if (!ns_transfer_allowed(params, client->addr, client->tls, &tsig)) {
		rc = answer_error(&x, question, qlen, RCODE_REFUSED);
	} else {
		rc = put_transfer(&x, srv, z, msg, len, pos + 4, question, qlen);
		if (rc >= 0 && x.sent)
			log_transfer(&x, z, client, wire_get16(question + qlen - 4) == RR_IXFR);
	}
	if (rc >= 0 && (ts == NS_TSIG_VERIFIED || ts == NS_TSIG_REJECTED))
		rc = sign_frames(&x, &tsig);
	out->buf = x.buf; /* grown, maybe moved */
	out->cap = x.cap;
	if (rc < 0)
		return rc;
	out->len = x.len;
	return 1;
}
