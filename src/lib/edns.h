/* EDNS(0) OPT codec (RFC 6891): the options of a request's OPT record read, a response's OPT
 * record written, with NSID (RFC 5001), Client Subnet (RFC 7871), Extended DNS Errors (RFC 8914)
 * and DNS cookies (RFC 7873, server cookies as RFC 9018 makes them). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/wire.h"

#define EDNS_OPT_NSID 3 /* RFC 5001 */
#define EDNS_OPT_ECS 8 /* RFC 7871 */
#define EDNS_OPT_COOKIE 10 /* RFC 7873 */
#define EDNS_OPT_EDE 15 /* RFC 8914 */
#define EDNS_OPT_PADDING 12 /* RFC 7830 */
#define EDNS_PAD_BLOCK 468 /* RFC 8467 4.1: responses padded to a multiple of this */

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
#define EDE_NO_REACHABLE_AUTHORITY 22
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
	const uint8_t *cookie; /* the first COOKIE option's data, or NULL; edns_cookie_parse() reads it */
	uint16_t cookie_len;
	bool padding; /* a Padding option is present (RFC 7830; its content is ignored) */
};

/* Reads an OPT record's CLASS, TTL and RDATA (rdlen octets at rdata). Every option must lie
 * whole within the RDATA; their contents are not judged here. Returns 0, or TERN_EMALF and out
 * untouched. */
int edns_parse(uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, struct edns_request *out);

/* Reads a Client Subnet option's data (len octets): a known family, SOURCE and SCOPE within its
 * address length, exactly the octets SOURCE needs, no bits set past SOURCE (RFC 7871 6). Returns 0,
 * or TERN_EMALF and out untouched. */
int edns_ecs_parse(const uint8_t *data, uint16_t len, struct edns_ecs *out);

/* DNS cookies (RFC 7873 4): a client cookie of 8 octets, alone or followed by a server cookie of
 * 8 to 32. Ours (RFC 9018 4.2) is 16: version 1, 3 reserved octets, a 32-bit timestamp (Unix
 * seconds) and the SipHash-2-4 of client cookie | version | reserved | timestamp | client address. */
#define EDNS_COOKIE_CLIENT 8
#define EDNS_COOKIE_SERVER 16
#define EDNS_COOKIE_MAX 40
#define EDNS_COOKIE_VERSION 1
#define EDNS_COOKIE_SECRET 16
/* RFC 9018 4.3: a server cookie made more than an hour ago, or more than 5 minutes ahead, is stale */
#define EDNS_COOKIE_PAST 3600
#define EDNS_COOKIE_FUTURE 300

struct edns_cookie {
	const uint8_t *client; /* 8 octets */
	const uint8_t *server; /* server_len octets, NULL when the client sent none */
	uint8_t server_len;
};

/* Reads a COOKIE option's data (len octets): 8 (a client cookie alone) or 16 to 40 (RFC 7873
 * 5.2.2: other lengths are FORMERR). Returns 0, or TERN_EMALF and out untouched. */
int edns_cookie_parse(const uint8_t *data, uint16_t len, struct edns_cookie *out);

/* Our server cookie for client (8 octets) from address addr (4 or 16 octets, addr_len) at time
 * now, under secret: version 1, reserved 0 (RFC 9018 4.2). */
void edns_cookie_make(const uint8_t secret[EDNS_COOKIE_SECRET], const uint8_t client[EDNS_COOKIE_CLIENT], uint32_t now,
                      const uint8_t *addr, size_t addr_len, uint8_t out[EDNS_COOKIE_SERVER]);

/* The timestamp of a server cookie of ours (16 octets, version 1), or false when c holds none. */
bool edns_cookie_stamp(const struct edns_cookie *c, uint32_t *stamp);

/* Whether c's server cookie is one secret made for c's client cookie and addr, and fresh at now
 * (RFC 9018 4.3: at most an hour old, at most 5 minutes ahead, in serial number arithmetic). The
 * reserved octets are hashed as received (RFC 9018 4.2). */
bool edns_cookie_valid(const uint8_t secret[EDNS_COOKIE_SECRET], const struct edns_cookie *c, uint32_t now,
                       const uint8_t *addr, size_t addr_len);

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
	const uint8_t *cookie; /* NULL: no COOKIE option; else client cookie | server cookie */
	uint8_t cookie_len;
	bool padding; /* a Padding option (RFC 7830), last, of pad zero octets */
	uint16_t pad;
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
	if (r->cookie)
		n += EDNS_OPTION_HEADER + r->cookie_len;
	if (r->padding)
		n += EDNS_OPTION_HEADER + r->pad;
	return n;
}

/* Appends the OPT record for r (version 0). Returns 0, or TERN_ESPACE with nothing written. */
int edns_write(struct wire_writer *w, const struct edns_response *r);

/* The usual OPT record, written as edns_write() writes it for a response without NSID and EDE:
 * udp_size, the extended rcode bits and the DO bit, and the client's Client Subnet (ecs, NULL for
 * none) with scope as its SCOPE. Returns 0, or TERN_ESPACE with nothing written. */
int edns_write_ecs(struct wire_writer *w, uint16_t udp_size, uint16_t rcode, bool dnssec_ok, const struct edns_ecs *ecs,
                   uint8_t scope);
