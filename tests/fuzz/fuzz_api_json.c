/* libFuzzer harness for the API's request bodies: the input is a JSON body as a tenant would send
 * it; each element of a PATCH-style list (or the object itself, as PUT sends it) goes through
 * api_parse_change(), the body through api_parse_dnssec_policy() (PUT .../dnssec) and
 * api_parse_batch() (POST /zones/batch). A change accepted must be well formed; a policy accepted
 * must pass dnssec_policy_check(); a batch accepted holds 1 to API_MAX_BATCH_ZONES items; one
 * refused must leave a 4xx JSON error naming its field, and nothing allocated behind. A refused
 * change's error made a batch item's (api_batch_error_at) keeps its status and names zones[i]. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec_policy.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "ternd/api/api_impl.h"

static uint8_t apex[NAME_MAXLEN];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_api_json: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (name_from_text(apex, "example.com.", NULL) < 0)
		abort();
	return 0;
}

/* The error in res made zones[i]'s: same status, field "zones[i]" or "zones[i].F", a message. */
static void check_batch_error(struct http_response *res, size_t i)
{
	int status = res->status;
	char want[48];
	snprintf(want, sizeof(want), "zones[%zu]", i);
	api_batch_error_at(res, i);
	json_t *e = res->body ? json_loads(res->body, 0, NULL) : NULL;
	json_t *err = json_object_get(e, "error");
	const char *field = json_string_value(json_object_get(err, "field"));
	if (res->status != status)
		fail("a batch item's error changed its status");
	if (!field || strncmp(field, want, strlen(want)) != 0 || (field[strlen(want)] && field[strlen(want)] != '.'))
		fail("a batch item's error does not name zones[i]");
	if (!json_is_string(json_object_get(err, "message")))
		fail("a batch item's error has no message");
	json_decref(e);
}

static void check_change(json_t *obj, const char *url_name, const char *url_type)
{
	struct change_rrset ch;
	struct http_response res = {0};
	if (api_parse_change(apex, obj, url_name, url_type, "rrsets[0]", &ch, &res)) {
		if (res.body)
			fail("an accepted change left a response body");
		if (!name_in(ch.owner, apex))
			fail("accepted owner outside the zone");
		if (rr_type_is_meta(ch.type) || ch.type == RR_SOA)
			fail("accepted a meta or SOA type");
		if (ch.count > API_MAX_RECORDS)
			fail("more records than allowed");
		size_t size = 0;
		const uint8_t *rec = ch.rdata;
		for (uint16_t i = 0; i < ch.count; i++, rec = rdata_next(rec)) {
			if (rr_rdata_check(ch.type, rdata_bytes(rec), rdata_len(rec)) != 0)
				fail("accepted RDATA that is not well formed");
			size += 2u + rdata_len(rec);
		}
		if (size != ch.rdata_size)
			fail("RDATA size does not add up");
		free((void *)ch.rdata);
		return;
	}
	if (res.status < 400 || res.status > 499)
		fail("a refused change is not a 4xx");
	json_t *e = res.body ? json_loads(res.body, 0, NULL) : NULL;
	json_t *msg = e ? json_object_get(json_object_get(e, "error"), "message") : NULL;
	if (!json_is_string(msg) || json_string_length(msg) == 0)
		fail("a refused change has no JSON error message");
	json_decref(e);
	check_batch_error(&res, 7);
	free(res.body);
}

static void check_batch(json_t *body)
{
	struct http_response res = {0};
	size_t n = 0;
	json_t *list = api_parse_batch(body, &n, &res);
	if (list) {
		if (res.body)
			fail("an accepted batch left a response body");
		if (!json_is_array(list) || n != json_array_size(list) || n == 0 || n > API_MAX_BATCH_ZONES)
			fail("an accepted batch is not a list of 1 to API_MAX_BATCH_ZONES items");
		return;
	}
	json_t *e = res.body ? json_loads(res.body, 0, NULL) : NULL;
	if (res.status != 400 || !json_is_string(json_object_get(json_object_get(e, "error"), "message")))
		fail("a refused batch is not a 400 with a JSON error message");
	json_decref(e);
	free(res.body);
}

static void check_policy(json_t *body)
{
	struct dnssec_policy p;
	struct http_response res = {0};
	const char *field = NULL;
	char err[256];
	if (api_parse_dnssec_policy(body, NULL, &p, &res)) {
		if (res.body)
			fail("an accepted policy left a response body");
		if (dnssec_policy_check(&p, &field, err, sizeof(err)) != 0)
			fail("an accepted policy does not pass dnssec_policy_check()");
		if (p.algorithm != 13 && p.algorithm != 15)
			fail("accepted an algorithm Tern does not sign with");
		if (p.nsec.iterations || p.nsec.salt_len)
			fail("accepted NSEC3 iterations or a salt (RFC 9276)");
		return;
	}
	if (res.status != 400)
		fail("a refused policy is not a 400");
	json_t *e = res.body ? json_loads(res.body, 0, NULL) : NULL;
	json_t *msg = e ? json_object_get(json_object_get(e, "error"), "message") : NULL;
	if (!json_is_string(msg) || json_string_length(msg) == 0)
		fail("a refused policy has no JSON error message");
	if (json_is_object(body) && !json_is_string(json_object_get(json_object_get(e, "error"), "field")))
		fail("a refused policy object names no field");
	json_decref(e);
	free(res.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!body)
		return 0;
	json_t *list = json_is_object(body) ? json_object_get(body, "rrsets") : body;
	if (json_is_array(list)) {
		for (size_t i = 0; i < json_array_size(list) && i < 64; i++)
			check_change(json_array_get(list, i), NULL, NULL);
	} else {
		check_change(body, NULL, NULL);
		check_change(body, "www", "A"); /* as a PUT to /rrsets/www/A sends it */
	}
	check_policy(body);
	check_batch(body);
	json_decref(body);
	return 0;
}
