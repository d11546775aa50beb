/* libFuzzer harness for a service's deployment (POST /api/v1/services, PUT .../deployment): the
 * input is the "deployment" JSON, read by api_deployment_parse() against three configured regions
 * (eu: EU AF; na: NA and country MX; ap: AS). An accepted deployment: 1 to 3 regions, each
 * configured and with an address, at most DYN_MAX_MEMBERS of a family, weights within 1 to
 * API_WEIGHT_MAX, no address twice in a list; its normal form reads back to itself; its DYN RRset
 * compiles (dyn_compile) and serves A or AAAA as its addresses say. A refusal: a 400 whose field
 * starts with "deployment", nothing left behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"

static const char CONFIG[] = "server:\n  listen: [\"127.0.0.1@5300\"]\n"
                             "api:\n  listen: \"127.0.0.1@8053\"\n  data-dir: /tmp/x\n  jwks: /tmp/x.jwks\n"
                             "services:\n  zone: app.example.net\n  regions:\n"
                             "    - {name: eu, continents: [EU, AF]}\n"
                             "    - {name: na, continents: [NA], countries: [MX]}\n"
                             "    - {name: ap, continents: [AS]}\n";

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_deployment: invariant violated: %s\n", what);
	abort();
}

static const struct config *conf(void)
{
	static struct config *c;
	char err[512];
	if (!c && config_load_string(CONFIG, strlen(CONFIG), "fuzz.yaml", "/tmp", &c, err, sizeof(err)) < 0)
		fail(err);
	return c;
}

static void check_accepted(const struct api_deployment *d, const struct config_services *sv)
{
	if (d->n < 1 || d->n > sv->nregions)
		fail("accepted a deployment of no region or too many");
	bool v4 = false, v6 = false;
	for (size_t i = 0; i < d->n; i++) {
		const struct api_region_deploy *r = &d->regions[i];
		if (r->region >= sv->nregions || (i && r->region <= d->regions[i - 1].region))
			fail("regions not configured or not in configuration order");
		if (r->n4 + r->n6 == 0 || r->n4 > DYN_MAX_MEMBERS || r->n6 > DYN_MAX_MEMBERS)
			fail("a region without addresses or with too many");
		v4 = v4 || r->n4;
		v6 = v6 || r->n6;
		for (size_t k = 0; k < r->n4 + r->n6; k++) {
			const struct api_member *m = k < r->n4 ? &r->v4[k] : &r->v6[k - r->n4];
			if (m->weight > API_WEIGHT_MAX)
				fail("weight past the maximum");
		}
	}
	/* the normal form reads back to itself */
	json_t *norm = api_deployment_json(d, sv);
	char *a = json_dumps(norm, JSON_COMPACT);
	struct api_deployment *again = calloc(1, sizeof(*again));
	struct http_response res = {0};
	if (!a || !again || !api_deployment_parse(norm, sv, again, &res))
		fail("the normal form does not read back");
	json_t *norm2 = api_deployment_json(again, sv);
	char *b = json_dumps(norm2, JSON_COMPACT);
	if (!b || strcmp(a, b) != 0)
		fail("the normal form changes when read again");
	/* the DYN RRset compiles and serves what the addresses say */
	struct change_rrset ch = {0};
	if (api_deployment_dyn(d, sv, &ch) < 0 || ch.type != RR_DYN || !ch.count)
		fail("no DYN RRset");
	struct dyn_resource *r = NULL;
	size_t size;
	char err[256];
	if (dyn_compile(ch.rdata, ch.rdata_size, ch.count, &r, &size, err, sizeof(err)) < 0) {
		fprintf(stderr, "dyn_compile: %s\n", err);
		fail("the DYN statements do not compile");
	}
	if (dyn_serves(r, RR_A) != v4 || dyn_serves(r, RR_AAAA) != v6)
		fail("the resource serves other types than its addresses");
	free(r);
	free((void *)ch.rdata);
	free(a);
	free(b);
	free(again);
	json_decref(norm);
	json_decref(norm2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *c = conf();
	json_t *doc =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!doc)
		return 0;
	struct api_deployment *d = calloc(1, sizeof(*d));
	struct http_response res = {0};
	if (!d)
		return 0;
	if (api_deployment_parse(doc, &c->services, d, &res)) {
		if (res.body)
			fail("an accepted deployment left a response body");
		check_accepted(d, &c->services);
	} else {
		if (res.status != 400 || !res.body)
			fail("a refusal is not a 400 with a body");
		json_t *e = json_loadb(res.body, res.body_len, 0, NULL);
		const char *field = json_string_value(json_object_get(json_object_get(e, "error"), "field"));
		if (!field || strncmp(field, "deployment", 10) != 0)
			fail("a refusal does not name a field of the deployment");
		json_decref(e);
		free(res.body);
	}
	free(d);
	json_decref(doc);
	return 0;
}
