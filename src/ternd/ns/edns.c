/* EDNS(0) policy (RFC 6891): what the client's OPT record changes about the answer, and what our
 * OPT record carries -- NSID (RFC 5001), Extended DNS Errors (RFC 8914), Client Subnet (RFC 7871).
 * The codec is lib/edns.c. */
#include <string.h>

#include "lib/edns.h"

#include "lib/rr.h"
#include "ternd/ns/ns.h"

int ns_edns_parse(struct query *q, uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (rdlen == 0 || (rdlen >= EDNS_OPTION_HEADER && wire_get16(rdata) == EDNS_OPT_ECS &&
	                   wire_get16(rdata + 2) == rdlen - EDNS_OPTION_HEADER)) {
		/* the usual options, read as edns_parse() reads them: none, or a Client Subnet alone */
		q->opt = (struct edns_request){.udp_size = rrclass < 512 ? 512 : rrclass,
		                               .version = (uint8_t)(ttl >> 16),
		                               .dnssec_ok = (ttl & 0x8000) != 0,
		                               .ecs = rdlen ? rdata + EDNS_OPTION_HEADER : NULL,
		                               .ecs_len = rdlen ? (uint16_t)(rdlen - EDNS_OPTION_HEADER) : 0};
	} else if (edns_parse(rrclass, ttl, rdata, rdlen, &q->opt) < 0) {
		return RCODE_FORMERR;
	}
	q->edns = true;
	/* A Client Subnet that is not well-formed (RFC 7871 6: a family other than IPv4 or IPv6, a
	 * SOURCE longer than the address, other than the octets SOURCE needs, bits set past it), or
	 * with a SCOPE other than 0 (which a query MUST send, 6), is FORMERR (7.2.1), answered with our
	 * OPT record but without the option. A version we do not speak is BADVERS whatever its
	 * options say (RFC 6891 6.1.3): they are read only for version 0. */
	if (q->opt.ecs && q->opt.version == 0 &&
	    (edns_ecs_parse(q->opt.ecs, q->opt.ecs_len, &q->ecs) < 0 || q->ecs.scope != 0)) {
		q->ecs.family = 0;
		return RCODE_FORMERR;
	}
	return RCODE_NOERROR;
}

size_t ns_edns_reserve(const struct query *q)
{
	size_t n = EDNS_FIXED + EDNS_EDE_SIZE;
	/* Over UDP the NSID has its room (an answer too long for it is truncated, and the client
	 * asks again over TCP). Over TCP it goes only when the answer leaves room for it: RFC 5001
	 * makes it optional, and the largest RRset a zone may hold (lib/zone.h) fills the message. */
	if (q->opt.nsid && q->params->nsid_len && q->client->proto == PROTO_UDP)
		n += EDNS_OPTION_HEADER + q->params->nsid_len;
	/* The Client Subnet goes back in every answer to a client that sent one (RFC 7871 7.2.1),
	 * tailored or not: its room is kept before any RRset, so a tailored RRset never goes without
	 * it (RFC 7871 7.2.1 notes the answer may then be truncated). */
	if (q->ecs.family)
		n += edns_ecs_size(&q->ecs);
	return n;
}

/* The SCOPE PREFIX-LENGTH we send back (RFC 7871 7.2.1): the narrowest of the RRsets of the
 * answer section, capped at the family's address length. 0 -- for every client -- when the
 * answer section is empty (negative answers and referrals, 7.4; errors), or when the client
 * sent SOURCE 0 (its address is not to be used, 7.1.2 and 11.1: no network can be named). */
static uint8_t response_scope(const struct query *q)
{
	if (q->count[SEC_ANSWER] == 0 || q->ecs.source == 0)
		return 0;
	uint8_t max = q->ecs.family == 1 ? 32 : 128;
	return q->ecs_scope < max ? q->ecs_scope : max;
}

int ns_edns_write(struct query *q)
{
	bool nsid = q->opt.nsid && q->params->nsid_len;
	if (!nsid && q->ede == EDE_NONE) /* the usual OPT: at most the Client Subnet echoed */
		return edns_write_ecs(&q->w, q->params->edns_size, q->rcode, q->opt.dnssec_ok,
		                      q->ecs.family ? &q->ecs : NULL, q->ecs.family ? response_scope(q) : 0);
	struct edns_ecs ecs;
	const struct edns_ecs *echo = NULL; /* never to a client that sent none (7.2.1, 7.2.2) */
	if (q->ecs.family) {
		ecs = q->ecs; /* FAMILY, SOURCE and ADDRESS as sent (RFC 7871 7.2.1) */
		ecs.scope = response_scope(q);
		echo = &ecs;
	}
	struct edns_response r = {
	    .udp_size = q->params->edns_size,
	    .rcode = q->rcode,
	    .dnssec_ok = q->opt.dnssec_ok,
	    .nsid = nsid ? q->params->nsid : NULL,
	    .nsid_len = q->params->nsid_len,
	    .ede = q->ede,
	    .ede_text = q->ede_text,
	    .ede_text_len = q->ede_text ? (uint16_t)strlen(q->ede_text) : 0,
	    .ecs = echo,
	};
	if (edns_write(&q->w, &r) == 0)
		return 0;
	if (!r.nsid)
		return -1;
	r.nsid = NULL; /* the OPT itself must go (RFC 6891 6.1.1) */
	return edns_write(&q->w, &r);
}
