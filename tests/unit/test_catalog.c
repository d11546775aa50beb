/* xfrin/catalog_in.c: the members a catalog zone (RFC 9432 version 2) lists, read by
 * catalog_members() from catalogs loaded from zone text, and the entries it skips or refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "lib/catalog.h"

#define HEAD                                                                                                           \
	"$ORIGIN catalog.tern.\n"                                                                                      \
	"@ 0 IN SOA invalid. invalid. 1 3600 600 2147483646 0\n"                                                       \
	"@ 0 IN NS invalid.\n"
#define VERSION "version 0 IN TXT \"2\"\n"

static uint8_t cat_apex[NAME_MAXLEN];

/* The catalog catalog.tern. made of HEAD and body. */
static struct zone *load_cat(const char *body)
{
	char text[8192], err[2048] = "";
	struct zone *z = NULL;
	snprintf(text, sizeof(text), HEAD "%s", body);
	int rc = zonefile_load_string(text, strlen(text), "catalog", cat_apex, &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("loading the catalog failed (%d): %s", rc, err);
	return z;
}

/* What catalog_members() gave for one catalog. */
struct result {
	int rc;
	struct catalog_member *m;
	size_t n;
	char msg[4096];
};

static void members(const char *body, struct result *r)
{
	struct zone *z = load_cat(body);
	memset(r, 0, sizeof(*r));
	r->rc = catalog_members(z, &r->m, &r->n, r->msg, sizeof(r->msg));
	zone_free(z);
	if (r->rc == 0)
		assert_true(r->m != NULL || r->n == 0);
	else
		assert_true(r->m == NULL && r->n == 0);
}

/* Member i is text, byte for byte (text is given lower-case, as members must be). */
static void expect_member(const struct result *r, size_t i, const char *text)
{
	uint8_t want[NAME_MAXLEN];
	char got[NAME_MAXLEN * 4 + 2] = "";
	assert_true(name_from_text(want, text, NULL) > 0);
	assert_true(i < r->n);
	name_to_text(r->m[i].apex, got, sizeof(got));
	if (name_len(r->m[i].apex) != name_len(want) || memcmp(r->m[i].apex, want, name_len(want)) != 0)
		fail_msg("member %zu: expected %s, got %s", i, text, got);
}

static void expect_in(const char *msg, const char *want)
{
	if (!strstr(msg, want))
		fail_msg("expected \"%s\" in \"%s\"", want, msg);
}

static int count_lines(const char *s)
{
	int n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_sorted_and_lower_cased(void **state)
{
	(void)state;
	struct result r;
	members(VERSION "m1.zones 0 IN PTR b.Example.\n"
	                "m2.zones 0 IN PTR A.EXAMPLE.\n"
	                "m3.zones 0 IN PTR example.\n"
	                "m4.zones 0 IN PTR z.\n"
	                "m5.zones 0 IN PTR a.z.example.\n",
	        &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.msg, "");
	assert_int_equal(r.n, 5);
	expect_member(&r, 0, "example.");
	expect_member(&r, 1, "a.example.");
	expect_member(&r, 2, "b.example.");
	expect_member(&r, 3, "a.z.example.");
	expect_member(&r, 4, "z.");
	free(r.m);
}

static void test_version_refused(void **state)
{
	(void)state;
	static const char *const versions[] = {
	    "", /* missing */
	    "version 0 IN TXT \"1\"\n", /* version 1 */
	    "version 0 IN TXT \"2\" \"2\"\n", /* two strings in one record */
	    "version 0 IN TXT \"2\"\nversion 0 IN TXT \"3\"\n", /* two records */
	    "version 0 IN TXT \"02\"\n", /* not exactly "2" */
	    "version 0 IN A 192.0.2.2\n", /* no TXT */
	    "version.zones 0 IN TXT \"2\"\n", /* elsewhere */
	};
	for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
		char body[512];
		struct result r;
		snprintf(body, sizeof(body), "%sm1.zones 0 IN PTR a.example.\nm2.zones 0 IN PTR catalog.tern.\n",
		         versions[i]);
		members(body, &r);
		assert_int_equal(r.rc, TERN_EZONE);
		/* the version alone: entries skipped before are not reported */
		assert_string_equal(r.msg, "version.catalog.tern. is not one TXT \"2\": not a version 2 catalog "
		                           "(RFC 9432 4.2.1), not processed");
	}
}

static void test_version_case(void **state)
{
	(void)state;
	struct result r;
	members("VERSION 0 IN TXT \"2\"\nm1.ZONES 0 IN PTR a.example.\n", &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 1);
	expect_member(&r, 0, "a.example.");
	free(r.m);
}

static void test_two_ptrs_skipped(void **state)
{
	(void)state;
	struct result r;
	members(VERSION "m1.zones 0 IN PTR a.example.\n"
	                "Two.zones 0 IN PTR b.example.\n"
	                "two.zones 0 IN PTR c.example.\n"
	                "m3.zones 0 IN PTR d.example.\n",
	        &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	expect_member(&r, 0, "a.example.");
	expect_member(&r, 1, "d.example.");
	assert_string_equal(r.msg, "two.zones.catalog.tern.: 2 PTR records where one is allowed: entry skipped");
	free(r.m);
}

static void test_listed_twice_kept_once(void **state)
{
	(void)state;
	struct result r;
	members(VERSION "m1.zones 0 IN PTR a.example.\n"
	                "m2.zones 0 IN PTR A.Example.\n"
	                "m3.zones 0 IN PTR b.example.\n"
	                "m4.zones 0 IN PTR a.example.\n",
	        &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	expect_member(&r, 0, "a.example.");
	expect_member(&r, 1, "b.example.");
	assert_int_equal(count_lines(r.msg), 2);
	expect_in(r.msg, "member a.example. is listed more than once: one entry kept");
	free(r.m);
}

static void test_catalog_itself_skipped(void **state)
{
	(void)state;
	struct result r;
	members(VERSION "m1.zones 0 IN PTR catalog.tern.\n"
	                "m2.zones 0 IN PTR CATALOG.Tern.\n"
	                "m3.zones 0 IN PTR x.catalog.tern.\n"
	                "m4.zones 0 IN PTR a.b.zones.catalog.tern.\n"
	                "m5.zones 0 IN PTR tern.\n" /* above the catalog: a zone like any other */
	                "m6.zones 0 IN PTR xcatalog.tern.\n",
	        &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 2);
	expect_member(&r, 0, "tern.");
	expect_member(&r, 1, "xcatalog.tern.");
	assert_int_equal(count_lines(r.msg), 4);
	expect_in(r.msg, "m1.zones.catalog.tern.: member catalog.tern. is the catalog or inside it: entry skipped");
	expect_in(r.msg, "m2.zones.catalog.tern.: member catalog.tern. is the catalog or inside it");
	expect_in(r.msg, "m3.zones.catalog.tern.: member x.catalog.tern. is the catalog or inside it");
	expect_in(r.msg, "m4.zones.catalog.tern.: member a.b.zones.catalog.tern. is the catalog or inside it");
	free(r.m);
}

static void test_properties_ignored(void **state)
{
	(void)state;
	struct result r;
	members(VERSION "m1.zones 0 IN PTR a.example.\n"
	                "coo.m1.zones 0 IN PTR other-catalog.example.\n"
	                "group.m1.zones 0 IN TXT \"operator-group\"\n"
	                "x.ext.m1.zones 0 IN PTR ext-member.example.\n"
	                "serial.ext 0 IN PTR ext-apex.example.\n"
	                "ext 0 IN TXT \"x\"\n"
	                "zones 0 IN PTR zones-node.example.\n"
	                "@ 0 IN PTR apex.example.\n"
	                "m2.zones 0 IN TXT \"no PTR\"\n"
	                "m3.elsewhere 0 IN PTR elsewhere.example.\n",
	        &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.msg, "");
	assert_int_equal(r.n, 1);
	expect_member(&r, 0, "a.example.");
	free(r.m);
}

static void test_odd_case_targets(void **state)
{
	(void)state;
	struct result r;
	/* \069 is 'E'; \200\193 are not ASCII letters and stay as they are; "@[`" (\064\091\096) border
	 * the letters and are no letters */
	members(VERSION "m1.zones 0 IN PTR ExAmPlE.CoM.\n"
	                "m2.zones 0 IN PTR \\069XAMPLE.ORG.\n"
	                "m3.zones 0 IN PTR \\200\\193Z.example.\n"
	                "m4.zones 0 IN PTR \\064\\091\\096Z.example.\n",
	        &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.msg, "");
	assert_int_equal(r.n, 4);
	expect_member(&r, 0, "example.com.");
	expect_member(&r, 1, "\\064\\091\\096z.example.");
	expect_member(&r, 2, "\\200\\193z.example.");
	expect_member(&r, 3, "example.org.");
	free(r.m);
}

static void test_member_of_maximum_length(void **state)
{
	(void)state;
	/* 1+63 + 1+63 + 1+63 + 1+61 + 1 = 255 octets */
	char longest[300], body[1024];
	memset(longest, 'A', 63);
	longest[63] = '.';
	memset(longest + 64, 'b', 63);
	longest[127] = '.';
	memset(longest + 128, 'C', 63);
	longest[191] = '.';
	memset(longest + 192, 'd', 61);
	strcpy(longest + 253, ".");
	snprintf(body, sizeof(body), VERSION "m1.zones 0 IN PTR %s\nm2.zones 0 IN PTR %s\n", longest, longest);
	struct result r;
	members(body, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(name_len(r.m[0].apex), NAME_MAXLEN);
	for (size_t i = 0; longest[i]; i++)
		if (longest[i] >= 'A' && longest[i] <= 'Z')
			longest[i] = (char)(longest[i] + 32);
	expect_member(&r, 0, longest);
	char want[400];
	snprintf(want, sizeof(want), "member %s is listed more than once: one entry kept", longest);
	assert_string_equal(r.msg, want);
	free(r.m);
}

static void test_empty_catalog(void **state)
{
	(void)state;
	struct result r;
	members(VERSION, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 0);
	assert_string_equal(r.msg, "");
	free(r.m);
}

/* Messages are cut to the buffer given, never written past it. */
static void test_msg_buffer_too_small(void **state)
{
	(void)state;
	static const char *const bodies[] = {
	    VERSION "m1.zones 0 IN PTR catalog.tern.\nm2.zones 0 IN PTR a.example.\nm3.zones 0 IN PTR a.example.\n",
	    "m1.zones 0 IN PTR a.example.\n", /* no version */
	};
	for (size_t b = 0; b < sizeof(bodies) / sizeof(*bodies); b++) {
		struct zone *z = load_cat(bodies[b]);
		char full[4096];
		struct catalog_member *m = NULL;
		size_t n = 0;
		int rc = catalog_members(z, &m, &n, full, sizeof(full));
		free(m);
		assert_true(strlen(full) > 40);
		for (size_t len = 0; len <= 40; len++) {
			char buf[64];
			memset(buf, 'X', sizeof(buf));
			m = NULL;
			assert_int_equal(catalog_members(z, &m, &n, buf, len), rc);
			free(m);
			for (size_t i = len; i < sizeof(buf); i++)
				if (buf[i] != 'X')
					fail_msg("body %zu, msglen %zu: octet %zu written", b, len, i);
			if (len == 0)
				continue;
			size_t used = strnlen(buf, len);
			assert_true(used < len);
			assert_memory_equal(buf, full, used); /* a prefix of the whole message */
		}
		zone_free(z);
	}
}

static int setup(void **state)
{
	(void)state;
	return name_from_text(cat_apex, "catalog.tern.", NULL) < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sorted_and_lower_cased),
	    cmocka_unit_test(test_version_refused),
	    cmocka_unit_test(test_version_case),
	    cmocka_unit_test(test_two_ptrs_skipped),
	    cmocka_unit_test(test_listed_twice_kept_once),
	    cmocka_unit_test(test_catalog_itself_skipped),
	    cmocka_unit_test(test_properties_ignored),
	    cmocka_unit_test(test_odd_case_targets),
	    cmocka_unit_test(test_member_of_maximum_length),
	    cmocka_unit_test(test_empty_catalog),
	    cmocka_unit_test(test_msg_buffer_too_small),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
