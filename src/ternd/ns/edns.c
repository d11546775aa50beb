/* EDNS(0) (RFC 6891): the client's OPT record in, ours out, with NSID (RFC 5001) and Extended
 * DNS Errors (RFC 8914). */
#include "lib/rr.h"
#include "ternd/ns/ns.h"

#define OPT_FIXED 11 /* root owner, type, class, TTL, RDLENGTH */
#define EDE_SIZE 6 /* option code, length, info code */

int edns_parse(struct query *q, uint16_t udp_size, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
	size_t pos = 0;
	bool nsid = false;
	while (pos < rdlen) {
		if (pos + 4 > rdlen)
			return RCODE_FORMERR;
		uint16_t code = wire_get16(rd + pos), len = wire_get16(rd + pos + 2);
		pos += 4;
		if (pos + len > rdlen)
			return RCODE_FORMERR;
		if (code == OPT_NSID)
			nsid = true; /* the request's payload is ignored (RFC 5001 2.3) */
		pos += len;
	}
	q->edns = true;
	q->edns_udp = udp_size < 512 ? 512 : udp_size;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & 0x8000) != 0;
	q->nsid_wanted = nsid;
	return RCODE_NOERROR;
}

size_t edns_reserve(const struct query *q)
{
	size_t n = OPT_FIXED + EDE_SIZE;
	/* Over UDP the NSID has its room (an answer too long for it is truncated, and the client
	 * asks again over TCP). Over TCP it goes only when the answer leaves room for it: RFC 5001
	 * makes it optional, and the largest RRset a zone may hold (lib/zone.h) fills the message. */
	if (q->nsid_wanted && q->params->nsid_len && q->client->proto == PROTO_UDP)
		n += 4u + q->params->nsid_len;
	return n;
}

static int write_opt(struct query *q, bool nsid)
{
	struct wire_writer *w = &q->w;
	struct wire_mark mark = wire_mark(w);
	uint32_t ttl = (uint32_t)(q->rcode >> 4) << 24; /* extended rcode bits; version 0 */
	if (q->edns_do)
		ttl |= 0x8000;
	uint16_t rdlen = 0;
	if (nsid)
		rdlen += 4 + q->params->nsid_len;
	if (q->ede != EDE_NONE)
		rdlen += EDE_SIZE;
	uint8_t root = 0;
	if (wire_write(w, &root, 1) < 0 || wire_write16(w, RR_OPT) < 0 || wire_write16(w, q->params->edns_size) < 0 ||
	    wire_write32(w, ttl) < 0 || wire_write16(w, rdlen) < 0)
		goto fail;
	if (nsid && (wire_write16(w, OPT_NSID) < 0 || wire_write16(w, q->params->nsid_len) < 0 ||
	             wire_write(w, q->params->nsid, q->params->nsid_len) < 0))
		goto fail;
	if (q->ede != EDE_NONE &&
	    (wire_write16(w, OPT_EDE) < 0 || wire_write16(w, 2) < 0 || wire_write16(w, q->ede) < 0))
		goto fail;
	return 0;
fail:
	wire_rollback(w, mark);
	return -1;
}

int edns_write(struct query *q)
{
	bool nsid = q->nsid_wanted && q->params->nsid_len;
	if (write_opt(q, nsid) == 0)
		return 0;
	return nsid ? write_opt(q, false) : -1; /* the OPT itself must go (RFC 6891 6.1.1) */
}
