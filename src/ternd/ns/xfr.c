/* Zone transfers out over TCP: AXFR (RFC 5936), and IXFR (RFC 1995) answered with the whole
 * zone. The answer is the SOA, every other RRset in canonical order, and the SOA again, in as
 * many messages as it takes; the transfer is built from one snapshot, so it is consistent. */
#include "ternd/ns/xfr.h"

#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/ns/ns.h"

#define XFR_MSG_MAX 16384 /* compression pointers reach 16 KiB: longer messages gain little */

struct xfr {
	uint8_t *buf; /* frames */
	size_t len, cap;
	size_t frame; /* where the current message's length prefix sits */
	struct wire_writer w;
	uint16_t ancount;
	uint8_t header[WIRE_HEADER_LEN];
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
	if (grow(x, 2 + XFR_MSG_MAX) < 0)
		return TERN_ENOMEM;
	x->frame = x->len;
	wire_writer_init(&x->w, x->buf + x->len + 2, XFR_MSG_MAX);
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

/* One record; a full message is ended and the record goes into the next. */
static int put_rr(struct xfr *x, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
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
		if (x->ancount == 0)
			return TERN_ESPACE; /* a record larger than a message: cannot happen for valid data */
		msg_end(x);
		if (msg_begin(x, NULL, 0) < 0)
			return TERN_ENOMEM;
	}
	return TERN_ESPACE;
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

int xfr_answer(const struct server *srv, const uint8_t *msg, size_t len, const struct query_client *client,
               uint8_t **out, size_t *outlen)
{
	if (!xfr_is_transfer(msg, len))
		return 0;
	uint8_t qname[NAME_MAXLEN], lname[NAME_MAXLEN], question[NAME_MAXLEN + 4];
	size_t pos = WIRE_HEADER_LEN;
	int n = wire_read_name(msg, len, &pos, qname); /* checked by xfr_is_transfer */
	memcpy(question, qname, (size_t)n);
	memcpy(question + n, msg + pos, 4);
	size_t qlen = (size_t)n + 4;
	struct xfr x = {0};
	memcpy(x.header, msg, 2);
	wire_put16(x.header + 2, (uint16_t)(WIRE_QR | WIRE_AA | (wire_get16(msg + 2) & WIRE_RD)));
	name_lower_copy(lname, qname, (size_t)n);
	const struct ns_params *params = rcu_dereference(srv->params);
	const struct zone *z = zones_get(srv->zones, lname);
	int rc;
	if (!z) {
		rc = answer_error(&x, question, qlen, RCODE_NOTAUTH); /* RFC 5936 2.2.1 */
	} else if (!config_prefix_match(params->xfr_allow, params->nxfr_allow, client->addr)) {
		rc = answer_error(&x, question, qlen, RCODE_REFUSED);
	} else {
		const struct zone_node **nodes = NULL;
		size_t count = 0;
		rc = zone_nodes_sorted(z, &nodes, &count);
		if (rc == 0)
			rc = msg_begin(&x, question, qlen);
		if (rc == 0)
			rc = put_rrset(&x, z->apex, z->soa);
		for (size_t i = 0; rc == 0 && i < count; i++)
			for (uint16_t k = 0; rc == 0 && k < nodes[i]->nrrsets; k++)
				if (nodes[i]->rrsets[k].type != RR_SOA)
					rc = put_rrset(&x, nodes[i]->owner, &nodes[i]->rrsets[k]);
		if (rc == 0)
			rc = put_rrset(&x, z->apex, z->soa);
		if (rc == 0) {
			msg_end(&x);
			rc = 1;
		}
		free(nodes);
	}
	if (rc < 0) {
		free(x.buf);
		return rc;
	}
	*out = x.buf;
	*outlen = x.len;
	return 1;
}
