/* EDNS(0) OPT codec (RFC 6891): the options of a request's OPT record read, a response's OPT
 * record written, with NSID (RFC 5001), Client Subnet (RFC 7871) and Extended DNS Errors (RFC 8914). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wire.h"

#define EDNS_OPT_NSID 3 /* RFC 5001 */
#define EDNS_OPT_ECS 8 /* RFC 7871 */
#define EDNS_OPT_EDE 15 /* RFC 8914 */

#define EDNS_FIXED 11 /* an OPT record without options: root owner, type, class, TTL, RDLENGTH */
#define EDNS_OPTION_HEADER 4 /* option code and length */
#define EDNS_EDE_SIZE 6 /* an EDE option with its info code and no text */

/* Extended DNS Error info codes (RFC 8914 4); EDE_NONE: no EDE option. */
#define EDE_NONE 0xffff
#define EDE_OTHER 0
#define EDE_NOT_READY 14
#define EDE_PROHIBITED 18
#define EDE_NOT_AUTHORITATIVE 20
#define EDE_NOT_SUPPORTED 21
#define EDE_INVALID_DATA 24

/* Client Subnet (RFC 7871 6): FAMILY 1 (IPv4) or 2 (IPv6), SOURCE and SCOPE prefix lengths, and
 * the address: its first (source + 7) / 8 octets as sent, the rest zero. */
struct edns_ecs {
	uint16_t family;
	uint8_t source, scope;
	uint8_t addr[16];
};

/* What a request's OPT record says. */
struct edns_request {
	uint16_t udp_size; /* the CLASS field, 512 when lower (RFC 6891 6.2.5) */
	uint8_t version;
	bool dnssec_ok; /* the DO bit (RFC 3225) */
	bool nsid; /* an NSID option is present (its payload is ignored, RFC 5001 2.3) */
	const uint8_t *ecs; /* the first Client Subnet option's data, or NULL; edns_ecs_parse() reads it */
	uint16_t ecs_len;
};

/* Reads an OPT record's CLASS, TTL and RDATA (rdlen octets at rdata). Every option must lie
 * whole within the RDATA; their contents are not judged here. Returns 0, or TERN_EMALF and out
 * untouched. */
int edns_parse(uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, struct edns_request *out);

/* Reads a Client Subnet option's data (len octets): a known family, SOURCE and SCOPE within its
 * address length, exactly the octets SOURCE needs, no bits set past SOURCE (RFC 7871 6). Returns 0,
 * or TERN_EMALF and out untouched. */
int edns_ecs_parse(const uint8_t *data, uint16_t len, struct edns_ecs *out);

/* Octets of a Client Subnet option (header included) carrying ecs. */
static inline size_t edns_ecs_size(const struct edns_ecs *ecs)
{
	return EDNS_OPTION_HEADER + 4 + (ecs->source + 7u) / 8u;
}

/* Our OPT record. */
struct edns_response {
	uint16_t udp_size; /* our payload size */
	uint16_t rcode; /* the full 12-bit rcode: its upper 8 bits go into the TTL field */
	bool dnssec_ok; /* the DO bit, copied from the request (RFC 3225 3) */
	const uint8_t *nsid; /* NULL: no NSID option */
	uint16_t nsid_len;
	uint16_t ede; /* EDE_NONE: no EDE option */
	const char *ede_text; /* the EDE's EXTRA-TEXT (RFC 8914 2: UTF-8, no NUL), ede_text_len octets */
	uint16_t ede_text_len;
	const struct edns_ecs *ecs; /* NULL: no Client Subnet option; else the client's, with its scope */
};

/* Octets of the OPT record for r. */
static inline size_t edns_size(const struct edns_response *r)
{
	size_t n = EDNS_FIXED;
	if (r->nsid)
		n += EDNS_OPTION_HEADER + r->nsid_len;
	if (r->ede != EDE_NONE)
		n += EDNS_EDE_SIZE + (r->ede_text ? r->ede_text_len : 0);
	if (r->ecs)
		n += edns_ecs_size(r->ecs);
	return n;
}

/* Appends the OPT record for r (version 0). Returns 0, or TERN_ESPACE with nothing written. */
int edns_write(struct wire_writer *w, const struct edns_response *r);

/* The usual OPT record, written as edns_write() writes it for a response without NSID and EDE:
 * udp_size, the extended rcode bits and the DO bit, and the client's Client Subnet (ecs, NULL for
 * none) with scope as its SCOPE. Returns 0, or TERN_ESPACE with nothing written. */
int edns_write_ecs(struct wire_writer *w, uint16_t udp_size, uint16_t rcode, bool dnssec_ok, const struct edns_ecs *ecs,
                   uint8_t scope);
