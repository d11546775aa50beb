/* libFuzzer harness for the question of GET /api/v1/explain: the input is up to four query
 * parameters (name, type, client, ecs) separated by '\n'; the first byte's low four bits say which
 * of them are present (a clear bit: the parameter is absent). api_parse_explain() must accept only
 * a lower-cased name, A or AAAA, an address whose family and length agree and, with ecs, a source
 * prefix within the family whose address is the client's cut to it; a refusal is a 400 naming the
 * parameter, with nothing left behind. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_api_explain: invariant violated: %s\n", what);
	abort();
}

static void check_accepted(const struct api_explain_ask *q, const char *client)
{
	if (q->type != RR_A && q->type != RR_AAAA)
		fail("accepted a type other than A or AAAA");
	size_t len = name_len(q->name);
	if (len == 0 || len > NAME_MAXLEN)
		fail("accepted name of a bad length");
	uint8_t lower[NAME_MAXLEN];
	memcpy(lower, q->name, len);
	name_lower(lower);
	if (memcmp(lower, q->name, len) != 0)
		fail("accepted name not lower-cased");
	const struct sockaddr_in *in = (const struct sockaddr_in *)&q->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&q->addr;
	uint8_t want[16] = {0};
	int af = q->addr.ss_family;
	if (!((af == AF_INET && q->addrlen == sizeof(*in)) || (af == AF_INET6 && q->addrlen == sizeof(*in6))))
		fail("address family and length disagree");
	if (inet_pton(af, client, want) != 1)
		fail("accepted client that does not parse in its family");
	const uint8_t *got = af == AF_INET ? (const uint8_t *)&in->sin_addr : in6->sin6_addr.s6_addr;
	unsigned bits = af == AF_INET ? 32 : 128;
	if (memcmp(got, want, bits / 8) != 0)
		fail("client address differs from the text");
	if (!q->has_ecs)
		return;
	if (q->ecs.family != (af == AF_INET ? 1 : 2) || q->ecs.source > bits || q->ecs.scope != 0)
		fail("Client Subnet family, source or scope wrong");
	for (unsigned b = 0; b < 128; b++) {
		unsigned bit = (q->ecs.addr[b / 8] >> (7 - b % 8)) & 1;
		unsigned from = b < q->ecs.source ? (want[b / 8] >> (7 - b % 8)) & 1 : 0;
		if (bit != from)
			fail("Client Subnet address is not the client cut to the source prefix");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	const char *fields[4] = {NULL, NULL, NULL, NULL};
	char *p = text;
	for (int i = 0; i < 4; i++) {
		char *nl = p ? strchr(p, '\n') : NULL;
		if (nl)
			*nl = 0;
		if (data[0] & (1u << i))
			fields[i] = p ? p : "";
		p = nl ? nl + 1 : NULL;
	}
	struct api_explain_ask q;
	struct http_response res = {0};
	if (api_parse_explain(fields[0], fields[1], fields[2], fields[3], &q, &res)) {
		if (res.body)
			fail("an accepted question left a response body");
		check_accepted(&q, fields[2]);
	} else {
		if (res.status != 400 || !res.body)
			fail("a refusal is not a 400 with a body");
		json_t *doc = json_loadb(res.body, res.body_len, 0, NULL);
		const char *field = json_string_value(json_object_get(json_object_get(doc, "error"), "field"));
		if (!field ||
		    (strcmp(field, "name") && strcmp(field, "type") && strcmp(field, "client") && strcmp(field, "ecs")))
			fail("a refusal does not name the parameter");
		if (fields[0] == NULL && strcmp(field, "name") != 0)
			fail("a missing name is not the first refusal");
		json_decref(doc);
		free(res.body);
	}
	free(text);
	return 0;
}
