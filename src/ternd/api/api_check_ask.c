/* The request of POST /api/v1/check (an untrusted JSON body): the kind of check, the name (as
 * `tern check` reads it: check_input_name), the type and the vantage resolvers (fuzz_api_check). */
#include <stdio.h>
#include <string.h>

#include "lib/check_input.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"

bool api_parse_check(json_t *body, struct api_check_ask *q, struct http_response *res)
{
	memset(q, 0, sizeof(*q));
	q->type = 1; /* A */
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "the body must be an object {\"kind\", \"name\", \"type\", \"resolvers\"}");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "kind") && strcmp(key, "name") && strcmp(key, "type") && strcmp(key, "resolvers")) {
			bool plain = strlen(key) <= 64; /* named as it is when it prints as it is */
			for (const char *p = key; plain && *p; p++)
				plain = *p >= 0x20 && *p < 0x7f;
			if (plain)
				http_error(res, 400, key, "unknown field \"%s\" (kind, name, type, resolvers)", key);
			else
				http_error(res, 400, "body", "an unknown field (kind, name, type, resolvers)");
			return false;
		}
	}
	const char *kind = json_string_value(json_object_get(body, "kind"));
	if (!kind || (strcmp(kind, "domain") && strcmp(kind, "fqdn") && strcmp(kind, "cache"))) {
		http_error(res, 400, "kind", "kind must be \"domain\", \"fqdn\" or \"cache\"");
		return false;
	}
	snprintf(q->kind, sizeof(q->kind), "%s", kind);
	bool domain = strcmp(kind, "domain") == 0;
	json_t *name = json_object_get(body, "name");
	char err[300];
	if (!json_is_string(name)) {
		http_error(res, 400, "name", "name must be a string (a domain or host name)");
		return false;
	}
	if (strlen(json_string_value(name)) != json_string_length(name)) {
		http_error(res, 400, "name", "name holds a NUL character");
		return false;
	}
	if (check_input_name(json_string_value(name), q->name, q->unicode, sizeof(q->unicode), err, sizeof(err)) < 0) {
		http_error(res, 400, "name", "%s", err);
		return false;
	}
	for (const unsigned char *p = (const unsigned char *)q->unicode; *p; p++)
		q->idn |= *p >= 0x80;
	json_t *type = json_object_get(body, "type");
	if (type && (domain || !json_is_string(type) || rrtext_type_from_text(json_string_value(type), &q->type) < 0 ||
	             q->type == 0)) {
		http_error(res, 400, "type",
		           domain ? "type is for fqdn and cache checks" : "type must be a record type's name (\"A\")");
		return false;
	}
	json_t *resolvers = json_object_get(body, "resolvers");
	if (resolvers && (domain || !json_is_array(resolvers) || json_array_size(resolvers) > API_CHECK_MAXRESOLVERS)) {
		http_error(res, 400, "resolvers",
		           domain ? "resolvers are for fqdn and cache checks"
		                  : "resolvers must be an array of at most %d addresses (\"ADDR\" or \"ADDR:PORT\")",
		           API_CHECK_MAXRESOLVERS);
		return false;
	}
	size_t i;
	json_array_foreach(resolvers, i, v)
	{
		const char *text = json_string_value(v);
		snprintf(err, sizeof(err), "holds a NUL character");
		if (!text || strlen(text) != json_string_length(v) ||
		    check_addr_parse(text, 53, &q->resolvers[q->nresolvers], err, sizeof(err)) < 0) {
			http_error(res, 400, "resolvers", "resolvers[%zu]: %s", i,
			           text ? err : "must be a string (\"ADDR\" or \"ADDR:PORT\")");
			return false;
		}
		q->nresolvers++;
	}
	if (strcmp(kind, "cache") == 0 && q->nresolvers == 0) {
		http_error(res, 400, "resolvers", "a cache check needs at least one resolver whose cache to read");
		return false;
	}
	return true;
}
