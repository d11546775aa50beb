/* EDNS(0) OPT codec (RFC 6891): a request's OPT record read, ours written, with NSID (RFC 5001),
 * Client Subnet (RFC 7871), Extended DNS Errors (RFC 8914) and cookies (RFC 7873, RFC 9018).
 * Nothing here decides what to answer. */
#include "lib/edns.h"

#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/siphash.h"

int edns_parse(uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, struct edns_request *out)
{
	size_t pos = 0;
	bool nsid = false, padding = false;
	const uint8_t *ecs = NULL, *cookie = NULL;
	uint16_t ecs_len = 0, cookie_len = 0;
	while (pos < rdlen) {
		if (pos + EDNS_OPTION_HEADER > rdlen)
			return TERN_EMALF;
		uint16_t code = wire_get16(rdata + pos), len = wire_get16(rdata + pos + 2);
		pos += EDNS_OPTION_HEADER;
		if (pos + len > rdlen)
			return TERN_EMALF;
		if (code == EDNS_OPT_NSID) {
			nsid = true;
		} else if (code == EDNS_OPT_ECS && !ecs) {
			ecs = rdata + pos;
			ecs_len = len;
		} else if (code == EDNS_OPT_COOKIE && !cookie) {
			cookie = rdata + pos;
			cookie_len = len;
		} else if (code == EDNS_OPT_PADDING) {
			padding = true;
		}
		pos += len;
	}
	out->udp_size = rrclass < 512 ? 512 : rrclass;
	out->version = (uint8_t)(ttl >> 16);
	out->dnssec_ok = (ttl & 0x8000) != 0;
	out->nsid = nsid;
	out->ecs = ecs;
	out->ecs_len = ecs_len;
	out->cookie = cookie;
	out->cookie_len = cookie_len;
	out->padding = padding;
	return 0;
}

int edns_cookie_parse(const uint8_t *data, uint16_t len, struct edns_cookie *out)
{
	if (len != EDNS_COOKIE_CLIENT && (len < EDNS_COOKIE_CLIENT + 8 || len > EDNS_COOKIE_MAX))
		return TERN_EMALF;
	out->client = data;
	out->server = len > EDNS_COOKIE_CLIENT ? data + EDNS_COOKIE_CLIENT : NULL;
	out->server_len = (uint8_t)(len - EDNS_COOKIE_CLIENT);
	return 0;
}

/* The hash of a server cookie: SipHash-2-4 of client cookie | version | reserved | timestamp |
 * address (RFC 9018 4.4), head being the 8 octets version | reserved | timestamp. */
static void cookie_hash(const uint8_t secret[EDNS_COOKIE_SECRET], const uint8_t *client, const uint8_t *head,
                        const uint8_t *addr, size_t addr_len, uint8_t out[8])
{
	uint8_t in[EDNS_COOKIE_CLIENT + 8 + 16];
	memcpy(in, client, EDNS_COOKIE_CLIENT);
	memcpy(in + EDNS_COOKIE_CLIENT, head, 8);
	memcpy(in + EDNS_COOKIE_CLIENT + 8, addr, addr_len);
	siphash24_bytes(secret, in, EDNS_COOKIE_CLIENT + 8 + addr_len, out);
}

void edns_cookie_make(const uint8_t secret[EDNS_COOKIE_SECRET], const uint8_t client[EDNS_COOKIE_CLIENT], uint32_t now,
                      const uint8_t *addr, size_t addr_len, uint8_t out[EDNS_COOKIE_SERVER])
{
	out[0] = EDNS_COOKIE_VERSION;
	out[1] = out[2] = out[3] = 0;
	wire_put32(out + 4, now);
	cookie_hash(secret, client, out, addr, addr_len, out + 8);
}

bool edns_cookie_stamp(const struct edns_cookie *c, uint32_t *stamp)
{
	if (!c->server || c->server_len != EDNS_COOKIE_SERVER || c->server[0] != EDNS_COOKIE_VERSION)
		return false;
	*stamp = wire_get32(c->server + 4);
	return true;
}

bool edns_cookie_valid(const uint8_t secret[EDNS_COOKIE_SECRET], const struct edns_cookie *c, uint32_t now,
                       const uint8_t *addr, size_t addr_len)
{
	uint32_t stamp;
	if (!edns_cookie_stamp(c, &stamp))
		return false;
	/* serial number arithmetic (RFC 1982): stamp within [now - 3600, now + 300] */
	int32_t age = (int32_t)(now - stamp);
	if (age > EDNS_COOKIE_PAST || age < -EDNS_COOKIE_FUTURE)
		return false;
	uint8_t h[8];
	cookie_hash(secret, c->client, c->server, addr, addr_len, h);
	uint8_t diff = 0; /* compared in constant time */
	for (int i = 0; i < 8; i++)
		diff |= (uint8_t)(h[i] ^ c->server[8 + i]);
	return diff == 0;
}

/* Address octets of a family (RFC 7871 6: IANA address family numbers); 0 for another family. */
static unsigned ecs_family_len(uint16_t family)
{
	return family == 1 ? 4 : family == 2 ? 16 : 0;
}

int edns_ecs_parse(const uint8_t *data, uint16_t len, struct edns_ecs *out)
{
	if (len < 4)
		return TERN_EMALF;
	uint16_t family = wire_get16(data);
	uint8_t source = data[2], scope = data[3];
	unsigned alen = ecs_family_len(family), octets = (source + 7u) / 8u;
	if (alen == 0 || source > alen * 8 || scope > alen * 8 || len != 4 + octets)
		return TERN_EMALF;
	if (source % 8 && (data[4 + octets - 1] & (0xffu >> (source % 8))))
		return TERN_EMALF; /* address bits past SOURCE must be zero */
	out->family = family;
	out->source = source;
	out->scope = scope;
	memset(out->addr, 0, sizeof(out->addr));
	for (unsigned i = 0; i < octets; i++) /* a few octets: no call */
		out->addr[i] = data[4 + i];
	return 0;
}

int edns_write(struct wire_writer *w, const struct edns_response *r)
{
	size_t size = edns_size(r);
	if (size - EDNS_FIXED > 0xffff || w->pos + size > w->cap)
		return TERN_ESPACE;
	uint8_t *p = w->buf + w->pos;
	uint32_t ttl = (uint32_t)(r->rcode >> 4) << 24; /* extended rcode bits; version 0 */
	if (r->dnssec_ok)
		ttl |= 0x8000;
	p[0] = 0; /* the root */
	wire_put16(p + 1, RR_OPT);
	wire_put16(p + 3, r->udp_size);
	wire_put32(p + 5, ttl);
	wire_put16(p + 9, (uint16_t)(size - EDNS_FIXED));
	p += EDNS_FIXED;
	if (r->nsid) {
		wire_put16(p, EDNS_OPT_NSID);
		wire_put16(p + 2, r->nsid_len);
		memcpy(p + 4, r->nsid, r->nsid_len);
		p += EDNS_OPTION_HEADER + r->nsid_len;
	}
	if (r->ede != EDE_NONE) {
		uint16_t text = r->ede_text ? r->ede_text_len : 0;
		wire_put16(p, EDNS_OPT_EDE);
		wire_put16(p + 2, (uint16_t)(2 + text));
		wire_put16(p + 4, r->ede);
		if (text)
			memcpy(p + EDNS_EDE_SIZE, r->ede_text, text);
		p += EDNS_EDE_SIZE + text;
	}
	if (r->ecs) {
		unsigned octets = (r->ecs->source + 7u) / 8u;
		wire_put16(p, EDNS_OPT_ECS);
		wire_put16(p + 2, (uint16_t)(4 + octets));
		wire_put16(p + 4, r->ecs->family);
		p[6] = r->ecs->source;
		p[7] = r->ecs->scope;
		for (unsigned i = 0; i < octets; i++) /* a few octets: no call */
			p[8 + i] = r->ecs->addr[i];
		p += edns_ecs_size(r->ecs);
	}
	if (r->cookie) {
		wire_put16(p, EDNS_OPT_COOKIE);
		wire_put16(p + 2, r->cookie_len);
		memcpy(p + 4, r->cookie, r->cookie_len);
		p += EDNS_OPTION_HEADER + r->cookie_len;
	}
	if (r->padding) {
		wire_put16(p, EDNS_OPT_PADDING);
		wire_put16(p + 2, r->pad);
		memset(p + 4, 0, r->pad);
	}
	w->pos += size;
	return 0;
}

int edns_write_ecs(struct wire_writer *w, uint16_t udp_size, uint16_t rcode, bool dnssec_ok, const struct edns_ecs *ecs,
                   uint8_t scope)
{
	unsigned octets = ecs ? (ecs->source + 7u) / 8u : 0;
	size_t size = EDNS_FIXED + (ecs ? EDNS_OPTION_HEADER + 4 + octets : 0);
	if (w->pos + size > w->cap)
		return TERN_ESPACE;
	uint8_t *p = w->buf + w->pos;
	p[0] = 0; /* the root */
	wire_put16(p + 1, RR_OPT);
	wire_put16(p + 3, udp_size);
	wire_put32(p + 5, (uint32_t)(rcode >> 4) << 24 | (dnssec_ok ? 0x8000u : 0));
	wire_put16(p + 9, (uint16_t)(size - EDNS_FIXED));
	if (ecs) {
		wire_put16(p + 11, EDNS_OPT_ECS);
		wire_put16(p + 13, (uint16_t)(4 + octets));
		wire_put16(p + 15, ecs->family);
		p[17] = ecs->source;
		p[18] = scope;
		for (unsigned i = 0; i < octets; i++) /* a few octets: no call */
			p[19 + i] = ecs->addr[i];
	}
	w->pos += size;
	return 0;
}
