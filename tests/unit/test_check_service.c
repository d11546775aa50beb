/* lib/check_service.c and check_cache.c where no server answers: the certificate's names against
 * the service's (cert_missing_name), a canonical name that cannot be resolved, the report's
 * service JSON (names), and a cache check's report when nothing answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/error.h"

/* A context whose only hint refuses at once (127.0.0.1 port 1: nothing listens there). */
static struct check_ctx *dead_ctx(struct check_report *r)
{
	struct check_ctx *c = malloc(sizeof(*c));
	assert_non_null(c);
	check_ctx_init(c, r);
	char err[160];
	assert_int_equal(check_addr_parse("127.0.0.1:1", 53, &c->hints[0], err, sizeof(err)), 0);
	c->nhints = 1;
	c->timeout_ms = 200;
	c->whois[0] = 0;
	return c;
}

static void test_cert_names(void **state)
{
	(void)state;
	struct check_intent *in = calloc(1, sizeof(*in));
	assert_non_null(in);
	snprintf(in->canonical, sizeof(in->canonical), "svc.app.example.");
	snprintf(in->addrs[in->naddrs++], CHECK_RDATA_TEXT, "192.0.2.1");
	in->have_cert = true;
	snprintf(in->cert_names[in->ncert++], CHECK_NAME_TEXT, "SVC.app.example"); /* case and dot aside */
	snprintf(in->cert_names[in->ncert++], CHECK_NAME_TEXT, "other.example.");
	struct check_report *r = check_report_new("service", in->canonical);
	struct check_ctx *c = dead_ctx(r);
	assert_int_equal(check_service(c, r, in), 0);
	assert_int_equal(r->nnamed, 1);
	assert_string_equal(r->named[0].role, "canonical");
	assert_false(r->named[0].points); /* not resolved: not known to be the service */
	assert_int_equal(check_find_count(r, "cert_missing_name"), 0);
	assert_true(r->nfailures > 0); /* what could not be asked */
	check_report_free(r);
	free(c);

	/* the certificate lacks the canonical name */
	in->ncert = 1;
	snprintf(in->cert_names[0], CHECK_NAME_TEXT, "other.example.");
	r = check_report_new("service", in->canonical);
	c = dead_ctx(r);
	assert_int_equal(check_service(c, r, in), 0);
	assert_int_equal(check_find_count(r, "cert_missing_name"), 1);
	json_t *j = check_report_json(r);
	json_t *names = json_object_get(j, "names");
	assert_int_equal(json_array_size(names), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(names, 0), "name")), "svc.app.example.");
	assert_true(json_is_false(json_object_get(json_array_get(names, 0), "points")));
	json_decref(j);
	check_report_free(r);
	free(c);

	/* no certificate: said so, no finding */
	in->have_cert = false;
	r = check_report_new("service", in->canonical);
	c = dead_ctx(r);
	assert_int_equal(check_service(c, r, in), 0);
	assert_int_equal(check_find_count(r, "cert_missing_name"), 0);
	bool said = false;
	for (int i = 0; i < r->nfailures; i++)
		said |= strstr(r->failures[i], "no certificate issued yet") != NULL;
	assert_true(said);
	check_report_free(r);
	free(c);
	free(in);
}

static void test_cache_nothing_answers(void **state)
{
	(void)state;
	struct check_report *r = check_report_new("cache", "new.example.");
	struct check_ctx *c = dead_ctx(r);
	char err[160];
	assert_int_equal(check_addr_parse("127.0.0.1:1", 53, &c->resolvers[0], err, sizeof(err)), 0);
	c->nresolvers = 1;
	assert_int_equal(check_cache(c, r, 1), TERN_EIO);
	assert_int_equal(r->ncaches, 0); /* no authoritative answer: no resolver compared */
	json_t *j = check_report_json(r);
	assert_true(json_is_array(json_object_get(j, "caches")));
	assert_true(json_is_true(json_object_get(j, "partial")));
	json_decref(j);
	check_report_free(r);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cert_names),
	    cmocka_unit_test(test_cache_nothing_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
