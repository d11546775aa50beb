/* Answer selection: the one place that decides which records of an RRset a given client gets.
 * Static RRsets pass through; dynamic ones (rrset.dyn != 0: GeoDNS, weighted, health-checked)
 * are resolved here from the client address or its Client Subnet, so lookup, wildcard and negative
 * logic never change when dynamic answers are added. */
#pragma once
#include <stdint.h>
#include <sys/socket.h>

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
};

/* The records of a dynamic RRset (rs->dyn != 0) for this client, from the resolver registered
 * under its id. Returns 0, or a negative TERN_E* when it cannot answer. */
int answer_resolve(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out);

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
