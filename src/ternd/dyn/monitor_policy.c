/* Which addresses the monitors may connect to (monitor.h): public unicast addresses, and the
 * networks of monitors.allow beyond them. The rest (IANA's special-purpose blocks that are not
 * globally reachable: loopback, RFC 1918, CGNAT, link-local and cloud metadata, multicast,
 * documentation ...) is refused, so a tenant's DYN record cannot make ternd probe its own side. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ternd/dyn/monitor.h"

struct block {
	uint8_t len;
	uint8_t addr[16];
	const char *text, *what;
};

/* IPv4 (RFC 6890 and IANA's IPv4 special-purpose registry, not globally reachable). */
static const struct block v4_blocks[] = {
    {8, {0}, "0.0.0.0/8", "this network, unspecified"},
    {8, {10}, "10.0.0.0/8", "private, RFC 1918"},
    {10, {100, 64}, "100.64.0.0/10", "shared address space, CGNAT"},
    {8, {127}, "127.0.0.0/8", "loopback"},
    {16, {169, 254}, "169.254.0.0/16", "link-local, cloud metadata"},
    {12, {172, 16}, "172.16.0.0/12", "private, RFC 1918"},
    {24, {192, 0, 0}, "192.0.0.0/24", "IETF protocol assignments"},
    {24, {192, 0, 2}, "192.0.2.0/24", "documentation"},
    {24, {192, 88, 99}, "192.88.99.0/24", "6to4 relay anycast"},
    {16, {192, 168}, "192.168.0.0/16", "private, RFC 1918"},
    {15, {198, 18}, "198.18.0.0/15", "benchmarking"},
    {24, {198, 51, 100}, "198.51.100.0/24", "documentation"},
    {24, {203, 0, 113}, "203.0.113.0/24", "documentation"},
    {4, {224}, "224.0.0.0/4", "multicast"},
    {4, {240}, "240.0.0.0/4", "reserved, broadcast"},
};

/* IPv6 inside 2000::/3 (the only global unicast space; everything outside it is refused). */
static const struct block v6_blocks[] = {
    {23, {0x20, 0x01, 0x00}, "2001::/23", "IETF protocol assignments, Teredo"},
    {32, {0x20, 0x01, 0x0d, 0xb8}, "2001:db8::/32", "documentation"},
    {16, {0x20, 0x02}, "2002::/16", "6to4"},
    {20, {0x3f, 0xff, 0x00}, "3fff::/20", "documentation"},
};

static bool in_block(const uint8_t *a, const uint8_t *net, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, net, full) != 0)
		return false;
	return !rest || !((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest)));
}

static bool allowed_by(const struct config_prefix *allow, size_t n, uint8_t family, const uint8_t *addr)
{
	struct sockaddr_storage ss = {0};
	if (family == 1) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, addr, 16);
	}
	return config_prefix_match(allow, n, (const struct sockaddr *)&ss); /* ::ffff:a.b.c.d as IPv4 too */
}

static bool v4_public(const uint8_t *a, char *why, size_t whylen)
{
	for (size_t i = 0; i < sizeof(v4_blocks) / sizeof(v4_blocks[0]); i++) {
		if (in_block(a, v4_blocks[i].addr, v4_blocks[i].len)) {
			snprintf(why, whylen, "%s (%s)", v4_blocks[i].text, v4_blocks[i].what);
			return false;
		}
	}
	return true;
}

bool monitor_address_allowed(const struct config_prefix *allow, size_t nallow, uint8_t family, const uint8_t *addr,
                             char *why, size_t whylen)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	if (whylen)
		why[0] = 0;
	if (family != 1 && family != 2) {
		snprintf(why, whylen, "not an IPv4 or IPv6 address");
		return false;
	}
	if (allowed_by(allow, nallow, family, addr))
		return true;
	if (family == 1)
		return v4_public(addr, why, whylen);
	/* the IPv4 address an IPv6 one reaches: mapped (a socket of ternd's own host) or through the
	 * well-known NAT64 prefix (RFC 6052) is judged as that address */
	if (!memcmp(addr, mapped, 12) || !memcmp(addr, nat64, 12)) {
		if (v4_public(addr + 12, why, whylen))
			return true;
		char inner[64];
		snprintf(inner, sizeof(inner), "%s", why);
		snprintf(why, whylen, "%s/96 embedding %s", addr[1] ? "64:ff9b::" : "::ffff:0:0", inner);
		return false;
	}
	if ((addr[0] & 0xe0) != 0x20) {
		const char *what = addr[0] == 0xff                      ? "ff00::/8 (multicast)"
		                   : (addr[0] & 0xfe) == 0xfc           ? "fc00::/7 (unique local)"
		                   : addr[0] == 0xfe && addr[1] >= 0x80 ? "fe80::/9 (link-local, site-local)"
		                   : addr[0] == 0                       ? "::/8 (unspecified, loopback, reserved)"
		                                                        : "outside 2000::/3 (not global unicast)";
		snprintf(why, whylen, "%s", what);
		return false;
	}
	for (size_t i = 0; i < sizeof(v6_blocks) / sizeof(v6_blocks[0]); i++) {
		if (in_block(addr, v6_blocks[i].addr, v6_blocks[i].len)) {
			snprintf(why, whylen, "%s (%s)", v6_blocks[i].text, v6_blocks[i].what);
			return false;
		}
	}
	return true;
}
