/* Answer selection: the one place that decides which records of an RRset a given client gets.
 * Static RRsets pass through; dynamic ones (rrset.dyn != 0: a name's DYN resource standing for
 * its A or AAAA RRset, lib/dyn.h) are resolved here from the client address or its Client
 * Subnet, so lookup, wildcard and negative logic never change for dynamic answers. */
#pragma once
#include <stdint.h>
#include <sys/socket.h>

#include "lib/dyn.h"
#include "lib/edns.h"
#include "lib/zone.h"

/* What an answer may depend on: who asks (and, with ECS, for whom). */
struct answer_client {
	const struct sockaddr *addr;
	socklen_t addrlen;
	const struct edns_ecs *ecs; /* the request's Client Subnet (RFC 7871), or NULL */
};

struct answer_rrs {
	const struct rrset *rrset; /* the records to write */
	uint32_t ttl; /* TTL to write */
	uint8_t ecs_scope; /* ECS scope prefix length (RFC 7871): how much of the address the choice
	                    * depended on; 0 = valid for all. The writer puts the narrowest of an
	                    * answer's into the response's Client Subnet option. */
	struct dyn_choice dyn; /* a dynamic answer's records (rrset points at dyn.rrset) and scope */
};

/* The records of a dynamic RRset (rs->dyn != 0; rs->type is the type asked, A, AAAA or CNAME) for this
 * client. Returns 0, or a negative TERN_E* when it cannot answer. */
int answer_resolve(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out);
/* answer_resolve() for a signed zone: the records are one of the RRsets signed ahead (lib/dyn.h,
 * "Signed zones": a subset of a pool becomes one live member of it), and *set its index (-1 when
 * none is: the resource and its signatures disagree). */
int answer_resolve_signed(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out,
                          int64_t *set);

/* answer_resolve() with its explanation in trace (lib/dyn.h), for `tern explain`: the same
 * client, health, selection and scope; a weighted pool's one pick is random here too (the
 * explanation's shares come from dyn_pool_members() and answer_health()). */
int answer_explain(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out,
                   struct dyn_trace *trace);

/* The client of dyn_select() for a query from addr with Client Subnet ecs (or NULL): the ECS
 * address with its source prefix capped at /24 and /56 when the source prefix is not 0, else the
 * query's source address (an IPv4-mapped IPv6 source counts as IPv4). */
void answer_client_of(const struct sockaddr *addr, socklen_t addrlen, const struct edns_ecs *ecs,
                      struct dyn_client *out);

/* The health of monitored members for selections (NULL: every member counts as up); set once by
 * the composition root before queries are answered. */
void answer_set_health(dyn_health_fn fn, void *ctx);
/* The health function set (NULL: none) and its context, for explanations. */
dyn_health_fn answer_health(void **ctx);

/* The geo database `geo country` and `geo continent` entries ask (NULL: none; dyn/geo.h's
 * geo_lookup); set once by the composition root before queries are answered. */
void answer_set_geo(dyn_geo_fn fn, void *ctx);
/* The geo function set (NULL: none) and its context, for explanations. */
dyn_geo_fn answer_geo(void **ctx);

/* Chooses the records of rs for the client at addr (with its Client Subnet ecs, or NULL).
 * Returns 0, or a negative TERN_E* when a dynamic resource cannot answer (the query then gets
 * SERVFAIL). Inline: every record of every answer comes through here, and static data is the same
 * for every client, so only a dynamic RRset costs more than a test. */
static inline int answer_select(const struct sockaddr *addr, socklen_t addrlen, const struct edns_ecs *ecs,
                                const struct rrset *rs, struct answer_rrs *out)
{
	if (rs->dyn != 0) {
		const struct answer_client client = {addr, addrlen, ecs};
		return answer_resolve(&client, rs, out);
	}
	out->rrset = rs;
	out->ttl = rs->ttl;
	out->ecs_scope = 0;
	return 0;
}

/* The node's RRset of type, where a DYN resource answers A and AAAA (or CNAME, a CNAME resource):
 * for those types at a node holding one that serves the type, *spare becomes the DYN RRset
 * standing as that type (type set, dyn kept) and is returned. NULL when the node has neither. */
static inline const struct rrset *answer_node_rrset(const struct zone_node *n, uint16_t type, struct rrset *spare)
{
	const struct rrset *rs = zone_node_rrset(n, type);
	if (rs || (type != RR_A && type != RR_AAAA && type != RR_CNAME) ||
	    n->nrrsets == 0) /* an empty non-terminal has no RRsets at all */
		return rs;
	/* the RRsets are sorted by type, and DYN's lies past A's and AAAA's: from the end */
	const struct rrset *d = n->rrsets + n->nrrsets;
	while (d > n->rrsets && d[-1].type > RR_DYN)
		d--;
	if (d == n->rrsets || (--d)->type != RR_DYN || !d->dyn || !dyn_serves(dyn_rrset_resource(d), type))
		return NULL;
	*spare = *d;
	spare->type = type;
	return spare;
}
