/* A service's deployment (api_deployment.c): the DYN statements it becomes (pools, the answer
 * list in configuration order, each region's country and continent entries with the other
 * regions behind it), that lib/dyn.h compiles them and selects each client's region, the normal
 * form, and refusals naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"

static const char CONFIG[] = "server:\n  listen: [\"127.0.0.1@5300\"]\n"
                             "api:\n  listen: \"127.0.0.1@8053\"\n  data-dir: /tmp/x\n  jwks: /tmp/x.jwks\n"
                             "services:\n  zone: app.example.net\n  ttl: 120\n  regions:\n"
                             "    - {name: eu, continents: [EU, AF]}\n"
                             "    - {name: na, continents: [NA], countries: [MX]}\n"
                             "    - {name: ap, continents: [AS]}\n";

static struct config *load(void)
{
	struct config *c = NULL;
	char err[1024] = "";
	int rc = config_load_string(CONFIG, strlen(CONFIG), "t.yaml", "/tmp", &c, err, sizeof(err));
	if (rc < 0)
		fail_msg("config: %s", err);
	return c;
}

/* Parses text; expects success when field is NULL, else a 400 naming field. */
static bool parse(const struct config *c, const char *text, struct api_deployment *d, const char *field)
{
	json_t *doc = json_loads(text, JSON_ALLOW_NUL, NULL);
	assert_non_null(doc);
	struct http_response res = {0};
	bool ok = api_deployment_parse(doc, &c->services, d, &res);
	json_decref(doc);
	if (!field) {
		if (!ok)
			fail_msg("refused %s: %.*s", text, (int)res.body_len, res.body);
		assert_null(res.body);
		return true;
	}
	assert_false(ok);
	assert_int_equal(res.status, 400);
	json_t *e = json_loadb(res.body, res.body_len, 0, NULL);
	const char *got = json_string_value(json_object_get(json_object_get(e, "error"), "field"));
	if (!got || strcmp(got, field) != 0)
		fail_msg("%s: field %s, expected %s (%.*s)", text, got ? got : "(none)", field, (int)res.body_len,
		         res.body);
	json_decref(e);
	free(res.body);
	return false;
}

static void test_statements(void **state)
{
	(void)state;
	struct config *c = load();
	struct api_deployment *d = calloc(1, sizeof(*d));
	/* the object's order does not matter: configuration order does */
	parse(c,
	      "{\"regions\": {\"na\": {\"ipv4\": [\"192.0.2.2\"]}, \"eu\": {\"ipv4\": [{\"address\": \"192.0.2.1\", "
	      "\"weight\": 3}, \"192.0.2.3\"], \"ipv6\": [\"2001:DB8::0:1\"]}}}",
	      d, NULL);
	struct text t = {0};
	api_deployment_statements(d, &c->services, &t);
	assert_string_equal(t.s, "pool eu 192.0.2.1 weight 3 192.0.2.3 2001:db8::1\n"
	                         "pool na 192.0.2.2\n"
	                         "answer eu na\n"
	                         "geo continent EU eu na\n"
	                         "geo continent AF eu na\n"
	                         "geo country MX na eu\n"
	                         "geo continent NA na eu\n");
	text_free(&t);
	json_t *norm = api_deployment_json(d, &c->services);
	char *s = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s,
	                    "{\"regions\":{\"eu\":{\"ipv4\":[{\"address\":\"192.0.2.1\",\"weight\":3},\"192.0.2.3\"],"
	                    "\"ipv6\":[\"2001:db8::1\"]},\"na\":{\"ipv4\":[\"192.0.2.2\"]}}}");
	free(s);
	json_decref(norm);
	free(d);
	config_free(c);
}

/* What the test's geo database says: 10/8 in NL (EU), 20/8 in MX (NA), 30/8 in US (NA), 40/8 in
 * JP (AS); anything else is not held. */
static void geo(void *ctx, uint8_t family, const uint8_t *addr, struct dyn_geo *out)
{
	(void)ctx;
	static const char *const cc[] = {NULL, "NL", "MX", "US", "JP"}, *const cont[] = {NULL, "EU", "NA", "NA", "AS"};
	if (family != 1 || addr[0] % 10 || addr[0] / 10 > 4 || addr[0] == 0)
		return;
	out->found = true;
	out->prefix = 8;
	memcpy(out->country, cc[addr[0] / 10], 3);
	memcpy(out->continent, cont[addr[0] / 10], 3);
}

/* The pool that answers A for a client at first.0.0.1. */
static const char *region_of(const struct dyn_resource *r, uint8_t first, uint8_t *addr_out)
{
	static char name[DYN_NAME_MAX + 1];
	struct dyn_client cl = {.family = 1, .prefix = 32, .addr = {first, 0, 0, 1}};
	uint8_t scratch[DYN_SCRATCH], scope;
	struct rrset out;
	struct dyn_trace tr;
	memset(&out, 0, sizeof(out));
	assert_int_equal(dyn_select_geo(r, RR_A, 60, &cl, NULL, NULL, geo, NULL, 7, scratch, &out, &scope, &tr), 0);
	assert_true(out.count >= 1);
	*addr_out = out.rdata[2 + 3];
	snprintf(name, sizeof(name), "%s", tr.pools[tr.chosen].name);
	return name;
}

/* The RRset compiles, and each client gets its region: by country, by continent, else the answer
 * list; an undeployed region's clients fall back to the answer list too. */
static void test_dyn_selects_the_region(void **state)
{
	(void)state;
	struct config *c = load();
	struct api_deployment *d = calloc(1, sizeof(*d));
	parse(c,
	      "{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\"]}, \"na\": {\"ipv4\": [\"192.0.2.2\"]}}, \"ttl\": 30}",
	      d, NULL);
	struct change_rrset ch = {0};
	assert_int_equal(api_deployment_dyn(d, &c->services, &ch), 0);
	assert_int_equal(ch.type, RR_DYN);
	assert_int_equal(ch.ttl, 30);
	assert_int_equal(ch.count, 7); /* 2 pools, the answer list, EU AF MX NA */
	struct dyn_resource *r = NULL;
	size_t size;
	char err[256] = "";
	int rc = dyn_compile(ch.rdata, ch.rdata_size, ch.count, &r, &size, err, sizeof(err));
	if (rc < 0)
		fail_msg("dyn_compile: %s", err);
	uint8_t last;
	assert_string_equal(region_of(r, 10, &last), "eu");
	assert_int_equal(last, 1);
	assert_string_equal(region_of(r, 20, &last), "na"); /* MX: by country */
	assert_int_equal(last, 2);
	assert_string_equal(region_of(r, 30, &last), "na"); /* US: by continent */
	assert_string_equal(region_of(r, 40, &last), "eu"); /* AS: ap is not deployed: the answer list */
	assert_string_equal(region_of(r, 50, &last), "eu"); /* not held */
	assert_false(dyn_serves(r, RR_AAAA));
	free(r);
	free((void *)ch.rdata);
	/* services.ttl when the deployment gives none */
	parse(c, "{\"regions\": {\"ap\": {\"ipv6\": [\"2001:db8::5\"]}}}", d, NULL);
	memset(&ch, 0, sizeof(ch));
	assert_int_equal(api_deployment_dyn(d, &c->services, &ch), 0);
	assert_int_equal(ch.ttl, 120);
	assert_int_equal(dyn_compile(ch.rdata, ch.rdata_size, ch.count, &r, &size, err, sizeof(err)), 0);
	assert_true(dyn_serves(r, RR_AAAA));
	free(r);
	free((void *)ch.rdata);
	free(d);
	config_free(c);
}

/* Every address any family list may hold (64 of each in all three regions) still compiles. */
static void test_largest_deployment_compiles(void **state)
{
	(void)state;
	struct config *c = load();
	struct api_deployment *d = calloc(1, sizeof(*d));
	json_t *regions = json_object();
	const char *names[] = {"eu", "na", "ap"};
	for (int k = 0; k < 3; k++) {
		json_t *v4 = json_array(), *v6 = json_array();
		for (int i = 0; i < DYN_MAX_MEMBERS; i++) {
			char a[64];
			snprintf(a, sizeof(a), "10.%d.0.%d", k, i + 1);
			json_array_append_new(v4, json_pack("{s:s,s:i}", "address", a, "weight", 65535));
			snprintf(a, sizeof(a), "2001:db8:%d::%x", k, i + 1);
			json_array_append_new(v6, json_string(a));
		}
		json_object_set_new(regions, names[k], json_pack("{s:o,s:o}", "ipv4", v4, "ipv6", v6));
	}
	json_t *doc = json_pack("{s:o}", "regions", regions);
	struct http_response res = {0};
	assert_true(api_deployment_parse(doc, &c->services, d, &res));
	struct change_rrset ch = {0};
	assert_int_equal(api_deployment_dyn(d, &c->services, &ch), 0);
	struct dyn_resource *r = NULL;
	size_t size;
	char err[256] = "";
	if (dyn_compile(ch.rdata, ch.rdata_size, ch.count, &r, &size, err, sizeof(err)) < 0)
		fail_msg("dyn_compile: %s", err);
	free(r);
	free((void *)ch.rdata);
	json_decref(doc);
	free(d);
	config_free(c);
}

static void test_refusals_name_the_field(void **state)
{
	(void)state;
	struct config *c = load();
	struct api_deployment *d = calloc(1, sizeof(*d));
	static const char *const bad[][2] = {
	    {"[]", "deployment"},
	    {"{}", "deployment.regions"},
	    {"{\"regions\": {}}", "deployment.regions"},
	    {"{\"regions\": []}", "deployment.regions"},
	    {"{\"regions\": {\"eu\": {}}}", "deployment.regions.eu"},
	    {"{\"regions\": {\"EU\": {\"ipv4\": [\"192.0.2.1\"]}}}", "deployment.regions.EU"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\"]}, \"xx\": {}}}", "deployment.regions.xx"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\", \"::1\"]}}}", "deployment.regions.eu.ipv4[1]"},
	    {"{\"regions\": {\"eu\": {\"ipv6\": [\"192.0.2.1\"]}}}", "deployment.regions.eu.ipv6[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1 \"]}}}", "deployment.regions.eu.ipv4[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\\u0000x\"]}}}", "deployment.regions.eu.ipv4[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [7]}}}", "deployment.regions.eu.ipv4[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [{\"weight\": 2}]}}}", "deployment.regions.eu.ipv4[0].address"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [{\"address\": \"192.0.2.1\", \"weight\": -1}]}}}",
	     "deployment.regions.eu.ipv4[0].weight"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [{\"address\": \"192.0.2.1\", \"weight\": 1.5}]}}}",
	     "deployment.regions.eu.ipv4[0].weight"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [{\"address\": \"192.0.2.1\", \"weight\": true}]}}}",
	     "deployment.regions.eu.ipv4[0].weight"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [{\"address\": \"192.0.2.1\", \"monitor\": \"x\"}]}}}",
	     "deployment.regions.eu.ipv4[0].monitor"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"224.0.0.1\"]}}}", "deployment.regions.eu.ipv4[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv6\": [\"ff02::1\"]}}}", "deployment.regions.eu.ipv6[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv6\": [\"::\"]}}}", "deployment.regions.eu.ipv6[0]"},
	    {"{\"regions\": {\"eu\": {\"ipv6\": [\"2001:db8::1\", \"2001:DB8:0::1\"]}}}",
	     "deployment.regions.eu.ipv6[1]"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\"]}}, \"ttl\": 86401}", "deployment.ttl"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\"]}}, \"ttl\": \"300\"}", "deployment.ttl"},
	    {"{\"regions\": {\"eu\": {\"ipv4\": [\"192.0.2.1\"]}}, \"zone\": 1}", "deployment.zone"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse(c, bad[i][0], d, bad[i][1]);
	free(d);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_statements),
	    cmocka_unit_test(test_dyn_selects_the_region),
	    cmocka_unit_test(test_largest_deployment_compiles),
	    cmocka_unit_test(test_refusals_name_the_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
