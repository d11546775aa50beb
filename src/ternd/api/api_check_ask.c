/* The untrusted inputs of tern check through the API (fuzz_api_check): the request of POST
 * /api/v1/check (the kind of check, the name as `tern check` reads it, the type and the vantage
 * resolvers), and a PoP's answer to the control node's lookup (the end of its chain). */
#include <stdio.h>
#include <string.h>

#include "lib/check_input.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"

/* {"kind": "service", "id": ID, "ca": CA}: the id as the API makes them (lower-case hex and '-'),
 * the CA a domain name; nothing else. */
static bool parse_service(json_t *body, struct api_check_ask *q, struct http_response *res)
{
	static const char *const others[] = {"name", "type", "resolvers"};
	for (size_t i = 0; i < 3; i++)
		if (json_object_get(body, others[i])) {
			http_error(res, 400, others[i], "a service check takes id and ca only");
			return false;
		}
	json_t *id = json_object_get(body, "id");
	const char *text = json_string_value(id);
	size_t n = text ? json_string_length(id) : 0;
	bool ok = n > 0 && n < sizeof(q->id) && strlen(text) == n;
	for (size_t i = 0; ok && i < n; i++)
		ok = (text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f') || text[i] == '-';
	if (!ok) {
		http_error(res, 400, "id", "id must be a service's id (lower-case hexadecimal digits and '-')");
		return false;
	}
	memcpy(q->id, text, n + 1);
	json_t *ca = json_object_get(body, "ca");
	char name[CHECK_NAME_TEXT], err[300];
	if (ca) {
		if (!json_is_string(ca) || strlen(json_string_value(ca)) != json_string_length(ca) ||
		    check_input_name(json_string_value(ca), name, NULL, 0, err, sizeof(err)) < 0) {
			http_error(res, 400, "ca",
			           "ca must be the CA's domain name (as CAA names it: letsencrypt.org)");
			return false;
		}
		name[strlen(name) - 1] = 0; /* as CAA writes it */
		snprintf(q->ca, sizeof(q->ca), "%s", name);
	}
	return true;
}

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
		if (strcmp(key, "kind") && strcmp(key, "name") && strcmp(key, "type") && strcmp(key, "resolvers") &&
		    strcmp(key, "id") && strcmp(key, "ca")) {
			bool plain = strlen(key) <= 64; /* named as it is when it prints as it is */
			for (const char *p = key; plain && *p; p++)
				plain = *p >= 0x20 && *p < 0x7f;
			if (plain)
				http_error(res, 400, key, "unknown field \"%s\" (kind, name, type, resolvers, id, ca)",
				           key);
			else
				http_error(res, 400, "body", "an unknown field (kind, name, type, resolvers, id, ca)");
			return false;
		}
	}
	const char *kind = json_string_value(json_object_get(body, "kind"));
	if (!kind ||
	    (strcmp(kind, "domain") && strcmp(kind, "fqdn") && strcmp(kind, "cache") && strcmp(kind, "service"))) {
		http_error(res, 400, "kind", "kind must be \"domain\", \"fqdn\", \"cache\" or \"service\"");
		return false;
	}
	snprintf(q->kind, sizeof(q->kind), "%s", kind);
	if (strcmp(kind, "service") == 0)
		return parse_service(body, q, res);
	if (json_object_get(body, "id") || json_object_get(body, "ca")) {
		http_error(res, 400, json_object_get(body, "id") ? "id" : "ca", "id and ca are for service checks");
		return false;
	}
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

/* The values of a PoP's answer: an array of at most CHECK_MAXVALUES strings kept (the rest
 * counted), each shorter than CHECK_RDATA_TEXT and printable. */
static bool pop_values(json_t *answer, struct check_server *s, char *err, size_t errlen)
{
	if (!json_is_array(answer)) {
		snprintf(err, errlen, "the end of its chain has no answer array");
		return false;
	}
	size_t i;
	json_t *v;
	json_array_foreach(answer, i, v)
	{
		const char *text = json_string_value(v);
		size_t len = text ? json_string_length(v) : 0;
		bool ok = text && len < CHECK_RDATA_TEXT && strlen(text) == len;
		for (size_t k = 0; ok && k < len; k++)
			ok = text[k] >= 0x20 && text[k] < 0x7f;
		if (!ok) {
			snprintf(err, errlen, "answer[%zu] is not a printable string of less than %d octets", i,
			         CHECK_RDATA_TEXT);
			return false;
		}
		if (s->nanswer == CHECK_MAXVALUES)
			s->more++;
		else
			check_copy(s->answer[s->nanswer++], CHECK_RDATA_TEXT, text);
	}
	return true;
}

int api_check_pop_parse(const char *body, size_t len, struct check_server *s, char *err, size_t errlen)
{
	static const char *rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = -1;
	s->nanswer = 0;
	s->more = 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "its answer is not a JSON object");
		goto done;
	}
	json_t *chain = json_object_get(o, "chain");
	size_t n = json_is_array(chain) ? json_array_size(chain) : 0;
	json_t *end = n ? json_array_get(chain, n - 1) : NULL;
	if (!json_is_object(end)) {
		snprintf(err, errlen, "it found no chain for the name (its report is partial)");
		goto done;
	}
	if (json_object_get(end, "cname")) {
		snprintf(err, errlen, "its chain does not end (the last step is a CNAME)");
		goto done;
	}
	const char *rcode = json_string_value(json_object_get(end, "rcode"));
	json_t *ttl = json_object_get(end, "ttl"), *more = json_object_get(end, "more");
	s->rcode = -1;
	for (int i = 0; rcode && i < 6; i++)
		if (strcmp(rcode, rcodes[i]) == 0)
			s->rcode = i;
	if (s->rcode < 0 || !json_is_integer(ttl) || json_integer_value(ttl) < 0 ||
	    json_integer_value(ttl) > UINT32_MAX ||
	    (more && (!json_is_integer(more) || json_integer_value(more) < 0 || json_integer_value(more) > 65535))) {
		snprintf(err, errlen, "the end of its chain has no rcode, a bad ttl or a bad count of more values");
		goto done;
	}
	if (!pop_values(json_object_get(end, "answer"), s, err, errlen))
		goto done;
	s->ttl = (uint32_t)json_integer_value(ttl);
	s->more += more ? (int)json_integer_value(more) : 0;
	s->ok = true;
	rc = 0;
done:
	if (rc < 0) {
		s->nanswer = 0;
		s->more = 0;
		s->ok = false;
	}
	json_decref(o);
	return rc;
}
