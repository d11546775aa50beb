/* The question of GET /api/v1/explain (untrusted query parameters): the name, the type, the
 * client address and its Client Subnet's source prefix (fuzz_api_explain). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/rr.h"
#include "ternd/api/api_impl.h"

bool api_parse_explain(const char *name, const char *type, const char *client, const char *ecs,
                       struct api_explain_ask *q, struct http_response *res)
{
	memset(q, 0, sizeof(*q));
	if (!name || !api_parse_zone_name(name, q->name)) {
		http_error(res, 400, "name", name ? "\"%.300s\" is not a domain name" : "name is required", name);
		return false;
	}
	if (!type || (strcasecmp(type, "A") != 0 && strcasecmp(type, "AAAA") != 0)) {
		http_error(res, 400, "type", type ? "\"%.40s\" is not A or AAAA" : "type is required (A or AAAA)",
		           type);
		return false;
	}
	q->type = strcasecmp(type, "A") == 0 ? RR_A : RR_AAAA;
	struct sockaddr_in *in = (struct sockaddr_in *)&q->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&q->addr;
	if (client && inet_pton(AF_INET, client, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		q->addrlen = sizeof(*in);
	} else if (client && inet_pton(AF_INET6, client, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		q->addrlen = sizeof(*in6);
	} else {
		http_error(res, 400, "client",
		           client ? "\"%.60s\" is not an IPv4 or IPv6 address" : "client is required (an IP address)",
		           client);
		return false;
	}
	if (!ecs)
		return true;
	/* the Client Subnet a resolver at client sends: its address cut to the source prefix */
	unsigned bits = q->addr.ss_family == AF_INET ? 32 : 128;
	size_t digits = strspn(ecs, "0123456789");
	unsigned long source = digits && digits <= 3 && !ecs[digits] ? strtoul(ecs, NULL, 10) : bits + 1;
	if (source > bits) {
		http_error(res, 400, "ecs", "\"%.40s\" is not a source prefix length from 0 to %u", ecs, bits);
		return false;
	}
	q->has_ecs = true;
	q->ecs.family = q->addr.ss_family == AF_INET ? 1 : 2;
	q->ecs.source = (uint8_t)source;
	const uint8_t *a = q->ecs.family == 1 ? (const uint8_t *)&in->sin_addr : in6->sin6_addr.s6_addr;
	for (unsigned b = 0; b < source; b++)
		q->ecs.addr[b / 8] |= (uint8_t)(a[b / 8] & (0x80 >> (b % 8)));
	return true;
}
