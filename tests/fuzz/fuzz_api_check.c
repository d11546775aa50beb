/* libFuzzer harness for tern check's untrusted inputs through the API. The input as the body of
 * POST /api/v1/check (api_parse_check): an accepted request is a known kind, an absolute name
 * that check_input_name accepts again unchanged, a type and resolvers only where the kind takes
 * them (a cache check with one at least), at most API_CHECK_MAXRESOLVERS of them, or a service
 * check with an id of lower-case hex and '-' and a relative CA name, nothing else; a refusal is a
 * 400 whose field is a key of the body or kind, name, type, resolvers, or body (an unknown key
 * that does not print as it is; no field only for a body that is not an object). The same input
 * as a PoP's answer (api_check_pop_parse): accepted, its values are bounded, terminated and
 * printable; refused, none are left and a message says why. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/check_input.h"
#include "ternd/api/api_impl.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_api_check: invariant violated: %s\n", what);
	abort();
}

static void check_accepted(const struct api_check_ask *q)
{
	bool domain = strcmp(q->kind, "domain") == 0, cache = strcmp(q->kind, "cache") == 0;
	if (strcmp(q->kind, "service") == 0) {
		size_t n = strnlen(q->id, sizeof(q->id));
		if (n == 0 || n == sizeof(q->id) || strspn(q->id, "0123456789abcdef-") != n)
			fail("accepted a service id that is not lower-case hex and '-'");
		if (q->name[0] || q->nresolvers || q->type != 1)
			fail("a service check took a name, resolvers or a type");
		if (strnlen(q->ca, sizeof(q->ca)) == sizeof(q->ca) || (q->ca[0] && q->ca[strlen(q->ca) - 1] == '.'))
			fail("a service check's ca not terminated or absolute");
		return;
	}
	if (q->id[0] || q->ca[0])
		fail("a check other than service took an id or a ca");
	if (!domain && !cache && strcmp(q->kind, "fqdn") != 0)
		fail("accepted an unknown kind");
	size_t n = strlen(q->name);
	if (n == 0 || q->name[n - 1] != '.')
		fail("accepted a name that is not absolute");
	char again[CHECK_NAME_TEXT], err[300];
	if (check_input_name(q->name, again, NULL, 0, err, sizeof(err)) < 0 || strcmp(again, q->name) != 0)
		fail("the accepted name is not accepted again unchanged");
	if (q->nresolvers < 0 || q->nresolvers > API_CHECK_MAXRESOLVERS)
		fail("resolver count out of bounds");
	if (domain && (q->nresolvers || q->type != 1))
		fail("a domain check took resolvers or a type");
	if (cache && q->nresolvers == 0)
		fail("a cache check without a resolver");
	if (q->type == 0)
		fail("type 0 accepted");
	for (int i = 0; i < q->nresolvers; i++)
		if (q->resolvers[i].len == 0 || !q->resolvers[i].text[0])
			fail("a resolver without an address");
}

/* The same input as a PoP's answer to the control node (api_check_pop_parse). */
static void pop_answer(const uint8_t *data, size_t size)
{
	struct check_server s;
	memset(&s, 0x5a, sizeof(s)); /* what the parser does not set must not matter */
	char err[160];
	err[0] = 0;
	if (api_check_pop_parse((const char *)data, size, &s, err, sizeof(err)) == 0) {
		if (!s.ok || s.nanswer < 0 || s.nanswer > CHECK_MAXVALUES || s.more < 0 || s.rcode < 0 || s.rcode > 5)
			fail("an accepted PoP answer out of bounds");
		for (int i = 0; i < s.nanswer; i++) {
			size_t n = strnlen(s.answer[i], CHECK_RDATA_TEXT);
			if (n == CHECK_RDATA_TEXT)
				fail("a PoP's value not terminated");
			for (size_t k = 0; k < n; k++)
				if (s.answer[i][k] < 0x20 || s.answer[i][k] >= 0x7f)
					fail("a PoP's value not printable");
		}
	} else if (s.ok || s.nanswer || s.more || !err[0] || strnlen(err, sizeof(err)) == sizeof(err)) {
		fail("a refused PoP answer left values or no message");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pop_answer(data, size);
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	if (!body)
		return 0;
	struct api_check_ask *q = malloc(sizeof(*q));
	if (!q) {
		json_decref(body);
		return 0;
	}
	struct http_response res = {0};
	if (api_parse_check(body, q, &res)) {
		if (res.body)
			fail("an accepted request left a response body");
		check_accepted(q);
	} else {
		if (res.status != 400 || !res.body)
			fail("a refusal is not a 400 with a body");
		json_t *doc = json_loadb(res.body, res.body_len, 0, NULL);
		const char *field = json_string_value(json_object_get(json_object_get(doc, "error"), "field"));
		if (!field && json_is_object(body))
			fail("a refusal of an object does not name the field");
		if (field && strcmp(field, "kind") && strcmp(field, "name") && strcmp(field, "type") &&
		    strcmp(field, "resolvers") && strcmp(field, "body") && strcmp(field, "id") && strcmp(field, "ca") &&
		    !json_object_get(body, field))
			fail("a refusal names a field the body does not have");
		json_decref(doc);
		free(res.body);
	}
	free(q);
	json_decref(body);
	return 0;
}
