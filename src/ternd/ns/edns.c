/* EDNS(0) policy (RFC 6891): what the client's OPT record changes about the answer, and what our
 * OPT record carries -- NSID (RFC 5001), Extended DNS Errors (RFC 8914), Client Subnet (RFC 7871).
 * The codec is lib/edns.c. */
#include "lib/edns.h"

#include "lib/rr.h"
#include "ternd/ns/ns.h"

int ns_edns_parse(struct query *q, uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (edns_parse(rrclass, ttl, rdata, rdlen, &q->opt) < 0)
		return RCODE_FORMERR;
	q->edns = true;
	/* A Client Subnet that is not well-formed is ignored, as by a server without ECS (RFC 7871
	 * 7.1.1): no answer depends on one yet. */
	if (q->opt.ecs && edns_ecs_parse(q->opt.ecs, q->opt.ecs_len, &q->ecs) < 0)
		q->ecs.family = 0;
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
	return n;
}

bool ns_edns_scope(struct query *q, uint8_t scope)
{
	if (scope <= q->ecs_scope)
		return true; /* the answer is already as narrow */
	if (q->ecs_scope == 0 && q->ecs.family != 0) {
		/* the first tailored RRset: the Client Subnet option must now go out with the answer
		 * (a resolver would otherwise cache it for every client) */
		size_t room = edns_ecs_size(&q->ecs);
		if (q->w.cap < q->w.pos + room)
			return false;
		q->w.cap -= room;
		q->opt_reserve += room;
	}
	q->ecs_scope = scope;
	return true;
}

int ns_edns_write(struct query *q)
{
	struct edns_ecs ecs;
	const struct edns_ecs *tailored = NULL; /* an answer for all clients carries no option */
	if (q->ecs_scope && q->ecs.family) {
		ecs = q->ecs;
		ecs.scope = q->ecs_scope;
		tailored = &ecs;
	}
	struct edns_response r = {
	    .udp_size = q->params->edns_size,
	    .rcode = q->rcode,
	    .dnssec_ok = q->opt.dnssec_ok,
	    .nsid = q->opt.nsid && q->params->nsid_len ? q->params->nsid : NULL,
	    .nsid_len = q->params->nsid_len,
	    .ede = q->ede,
	    .ecs = tailored,
	};
	if (edns_write(&q->w, &r) == 0)
		return 0;
	if (!r.nsid)
		return -1;
	r.nsid = NULL; /* the OPT itself must go (RFC 6891 6.1.1) */
	return edns_write(&q->w, &r);
}
