/* Answer selection: the one place that decides which records of an RRset a given client gets.
 * Static RRsets pass through; dynamic ones (rrset.dyn != 0: GeoDNS, weighted, health-checked)
 * are resolved here from the client address (and later ECS), so lookup, wildcard and negative
 * logic never change when dynamic answers are added. */
#pragma once
#include <stdint.h>
#include <sys/socket.h>

#include "lib/zone.h"

/* What an answer may depend on: who asks (and, with ECS, for whom). */
struct answer_client {
	const struct sockaddr *addr;
	socklen_t addrlen;
};

struct answer_rrs {
	const struct rrset *rrset; /* the records to write */
	uint32_t ttl; /* TTL to write */
	uint8_t ecs_scope; /* ECS scope prefix length (RFC 7871), 0 = valid for all */
};

/* Chooses the records of rs for this client. Returns 0, or a negative TERN_E* when a dynamic
 * resource cannot answer (the query then gets SERVFAIL). */
int answer_select(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out);
