/* EDNS(0) policy (RFC 6891): what the client's OPT record changes about the answer, and what our
 * OPT record carries -- NSID (RFC 5001), Extended DNS Errors (RFC 8914), Client Subnet (RFC 7871),
 * DNS cookies (RFC 7873, RFC 9018). The codec is lib/edns.c. */
#include <string.h>

#include "lib/edns.h"

#include <netinet/in.h>
#include <string.h>

#include "lib/rr.h"
#include "lib/siphash.h"
#include "ternd/ns/ns.h"

/* The key of cookie period p (p = Unix time / cookies.rotation) when no secret is configured:
 * SipHash-2-4 under the random secret of p's four octets and an index, for each half. The rotation
 * needs no thread: each worker derives the keys again when the period turns. */
static void cookie_key(const uint8_t secret[16], uint32_t p, uint8_t out[16])
{
	uint8_t in[5];
	wire_put32(in, p);
	in[4] = 0;
	siphash24_bytes(secret, in, sizeof(in), out);
	in[4] = 1;
	siphash24_bytes(secret, in, sizeof(in), out + 8);
}

/* The client's address as a server cookie hashes it (RFC 9018 4.4: 4 or 16 octets); 0 when none. */
static size_t cookie_address(const struct query_client *c, const uint8_t **addr)
{
	if (!c->addr)
		return 0;
	if (c->addr->sa_family == AF_INET) {
		*addr = (const uint8_t *)&((const struct sockaddr_in *)c->addr)->sin_addr;
		return 4;
	}
	if (c->addr->sa_family == AF_INET6) {
		*addr = (const uint8_t *)&((const struct sockaddr_in6 *)c->addr)->sin6_addr;
		return 16;
	}
	return 0;
}

/* The key of the current period (guard's cache, made again when the period or the secret changes),
 * and the key a server cookie stamped at stamp was made with: its period's, which must be this
 * one or the one before (or the next, for a clock ahead by less than 5 minutes); NULL for another. */
static const uint8_t *period_keys(struct query_guard *g, const struct ns_params *pa, bool stamped, uint32_t stamp,
                                  uint8_t spare[16], const uint8_t **check)
{
	uint32_t span = pa->cookie_period, period = g->now / span;
	if (g->keys_period != period || g->keys_span != span || memcmp(g->keys_secret, pa->cookie_secret, 16) != 0) {
		cookie_key(pa->cookie_secret, period, g->key[0]);
		cookie_key(pa->cookie_secret, period - 1, g->key[1]);
		memcpy(g->keys_secret, pa->cookie_secret, 16);
		g->keys_period = period;
		g->keys_span = span;
	}
	*check = NULL;
	if (stamped) {
		uint32_t made = stamp / span;
		if (made == period)
			*check = g->key[0];
		else if (made + 1 == period)
			*check = g->key[1];
		else if (made == period + 1) {
			cookie_key(pa->cookie_secret, made, spare);
			*check = spare;
		}
	}
	return g->key[0];
}

/* A well-formed COOKIE option (q->cookie): whether its server cookie is ours and fresh, and the
 * server cookie we send back, new each time (RFC 9018 4.3). A configured secret is the key itself,
 * as Knot's and BIND's (RFC 9018 4.4: servers of one anycast address share it), with the previous
 * one still accepted; without one, the keys of this period and the one before. Without the
 * thread's guard (its clock) nothing is judged and nothing sent back. */
static void cookie_judge(struct query *q)
{
	struct query_guard *g = q->client->guard;
	const uint8_t *addr = NULL;
	size_t alen = cookie_address(q->client, &addr);
	if (!g || !alen)
		return;
	const struct ns_params *pa = q->params;
	uint32_t stamp = 0;
	bool stamped = edns_cookie_stamp(&q->cookie, &stamp);
	const uint8_t *make, *check = NULL;
	uint8_t spare[16];
	if (pa->cookie_derive) {
		make = period_keys(g, pa, stamped, stamp, spare, &check);
		q->cookie_valid = check && edns_cookie_valid(check, &q->cookie, g->now, addr, alen);
	} else {
		make = pa->cookie_secret;
		q->cookie_valid = stamped && (edns_cookie_valid(make, &q->cookie, g->now, addr, alen) ||
		                              (pa->cookie_has_previous &&
		                               edns_cookie_valid(pa->cookie_previous, &q->cookie, g->now, addr, alen)));
	}
	memcpy(q->cookie_out, q->cookie.client, EDNS_COOKIE_CLIENT);
	edns_cookie_make(make, q->cookie.client, g->now, addr, alen, q->cookie_out + EDNS_COOKIE_CLIENT);
	q->cookie_back = true;
}

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
	/* DNS cookies (RFC 7873), when enabled: a COOKIE option of a length other than 8 or 16 to 40
	 * octets is FORMERR, without a cookie back (5.2.2; as Knot and BIND answer it); a well-formed
	 * one gets a new server cookie, and one of ours still fresh marks the client valid. */
	if (q->opt.cookie && q->opt.version == 0 && q->params->cookies) {
		if (edns_cookie_parse(q->opt.cookie, q->opt.cookie_len, &q->cookie) < 0) {
			q->cookie.client = NULL;
			return RCODE_FORMERR;
		}
		cookie_judge(q);
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
	if (q->cookie_back)
		n += EDNS_OPTION_HEADER + sizeof(q->cookie_out);
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

/* EDNS padding (RFC 7830, RFC 8467 4.1): a client that pads its query over TLS gets a response
 * padded to a multiple of EDNS_PAD_BLOCK octets, as far as the room left allows. Over UDP and
 * plain TCP nothing is padded (nothing on the path is hidden by it). */
static void pad_response(const struct query *q, struct edns_response *r)
{
	if (!q->opt.padding || q->client->tls == 0)
		return;
	r->padding = true;
	r->pad = 0;
	size_t len = q->w.pos + edns_size(r); /* with an empty Padding option */
	size_t pad = (EDNS_PAD_BLOCK - len % EDNS_PAD_BLOCK) % EDNS_PAD_BLOCK;
	size_t room = q->w.cap > len ? q->w.cap - len : 0;
	r->pad = (uint16_t)(pad < room ? pad : room);
}

int ns_edns_write(struct query *q)
{
	bool nsid = q->opt.nsid && q->params->nsid_len;
	bool pad = q->opt.padding && q->client->tls != 0;
	if (!nsid && q->ede == EDE_NONE && !q->cookie_back &&
	    !pad) /* the usual OPT: at most the Client Subnet echoed */
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
	    .cookie = q->cookie_back ? q->cookie_out : NULL,
	    .cookie_len = sizeof(q->cookie_out),
	};
	pad_response(q, &r);
	if (edns_write(&q->w, &r) == 0)
		return 0;
	if (r.padding) { /* not even an empty Padding option fits: the OPT goes without */
		r.padding = false;
		if (edns_write(&q->w, &r) == 0)
			return 0;
	}
	if (!r.nsid)
		return -1;
	r.nsid = NULL; /* the OPT itself must go (RFC 6891 6.1.1) */
	pad_response(q, &r);
	if (r.padding && edns_write(&q->w, &r) == 0)
		return 0;
	r.padding = false;
	return edns_write(&q->w, &r);
}
