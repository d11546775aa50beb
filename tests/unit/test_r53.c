/* The Route 53 API's pure parts: AWS Signature V4 (r53_sigv4.c) against signatures made by an
 * independent signer (tests/system/test_route53.py's sign(), Python's hmac: a query to encode and
 * sort, a header with runs of spaces, a body), refused when anything signed changes or the date is
 * off; and the request documents (r53_xml.c) with their refusals naming the element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "lib/error.h"
#include "ternd/api/r53_sigv4.h"
#include "ternd/api/r53_xml.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NOW 1796569200 /* 2026-12-06T15:00:00Z */

struct hdrs {
	const char *names[8], *values[8];
};

static const char *header(const void *ctx, const char *name)
{
	const struct hdrs *h = ctx;
	for (int i = 0; i < 8 && h->names[i]; i++)
		if (!strcasecmp(h->names[i], name))
			return h->values[i];
	return NULL;
}

static const char GET_AUTH[] =
    "AWS4-HMAC-SHA256 Credential=AKTNTEST0000000000AA/20261206/eu-west-3/route53/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-custom, "
    "Signature=42320e19ecb5a4fc39b7e0940cdc895966450a645850c94c741a5d50ffa54834";
static const char GET_TARGET[] =
    "/2013-04-01/hostedzone/Z00000000000001/rrset?name=www.example.com&type=A&maxitems=2&a%20b=c%2Fd";
static const char POST_AUTH[] =
    "AWS4-HMAC-SHA256 Credential=AKTNTEST0000000000AA/20261206/us-east-1/route53/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, "
    "Signature=7b0c142fee8ad7db53226b496612ae0266c48d24b39e4b7878d4e648063e2fb5";

static int check(const char *auth, const char *method, const char *target, const struct hdrs *h, const char *body,
                 const char *secret, long now)
{
	struct r53_sigv4 s;
	char err[512] = "";
	int rc = r53_sigv4_parse(auth, &s, err, sizeof(err));
	if (rc < 0)
		return rc;
	return r53_sigv4_check(&s, method, target, header, h, body, strlen(body), secret, (time_t)now, err,
	                       sizeof(err));
}

static void test_sigv4_matches_an_independent_signer(void **state)
{
	(void)state;
	struct hdrs get = {{"Host", "X-Custom", "X-Amz-Date"},
	                   {"127.0.0.1:8053", "  two   spaces  ", "20261206T150000Z"}};
	struct hdrs post = {{"Host", "Content-Type", "X-Amz-Date"}, {"127.0.0.1:8053", "text/xml", "20261206T150000Z"}};
	assert_int_equal(check(GET_AUTH, "GET", GET_TARGET, &get, "", SECRET, NOW), 0);
	assert_int_equal(check(POST_AUTH, "POST", "/2013-04-01/hostedzone", &post, "<x/>", SECRET, NOW), 0);
	/* the query in another order is the same canonical query */
	assert_int_equal(
	    check(GET_AUTH, "GET",
	          "/2013-04-01/hostedzone/Z00000000000001/rrset?type=A&a%20b=c%2Fd&maxitems=2&name=www.example.com",
	          &get, "", SECRET, NOW),
	    0);
	/* within 15 minutes either way */
	assert_int_equal(check(POST_AUTH, "POST", "/2013-04-01/hostedzone", &post, "<x/>", SECRET, NOW + 899), 0);
	assert_int_equal(check(POST_AUTH, "POST", "/2013-04-01/hostedzone", &post, "<x/>", SECRET, NOW - 899), 0);
}

static void test_sigv4_refuses_changes(void **state)
{
	(void)state;
	struct hdrs get = {{"Host", "X-Custom", "X-Amz-Date"},
	                   {"127.0.0.1:8053", "  two   spaces  ", "20261206T150000Z"}};
	struct hdrs post = {{"Host", "Content-Type", "X-Amz-Date"}, {"127.0.0.1:8053", "text/xml", "20261206T150000Z"}};
	const char *path = "/2013-04-01/hostedzone";
	assert_int_equal(check(POST_AUTH, "POST", path, &post, "<y/>", SECRET, NOW), TERN_EINVAL); /* body */
	assert_int_equal(check(POST_AUTH, "PUT", path, &post, "<x/>", SECRET, NOW), TERN_EINVAL); /* method */
	assert_int_equal(check(POST_AUTH, "POST", "/2013-04-01/hostedzonE", &post, "<x/>", SECRET, NOW), TERN_EINVAL);
	assert_int_equal(check(POST_AUTH, "POST", path, &post, "<x/>", SECRET "x", NOW), TERN_EINVAL); /* secret */
	assert_int_equal(check(POST_AUTH, "POST", path, &post, "<x/>", SECRET, NOW + 901), TERN_EINVAL); /* late */
	assert_int_equal(check(POST_AUTH, "POST", path, &post, "<x/>", SECRET, NOW - 901), TERN_EINVAL);
	struct hdrs other = post;
	other.values[1] = "text/plain"; /* a signed header */
	assert_int_equal(check(POST_AUTH, "POST", path, &other, "<x/>", SECRET, NOW), TERN_EINVAL);
	other = post;
	other.names[1] = "X-Other"; /* a signed header missing */
	assert_int_equal(check(POST_AUTH, "POST", path, &other, "<x/>", SECRET, NOW), TERN_EINVAL);
	char t[256];
	snprintf(t, sizeof(t), "%s", GET_TARGET);
	t[strlen(t) - 1] = 'e'; /* a query value */
	assert_int_equal(check(GET_AUTH, "GET", t, &get, "", SECRET, NOW), TERN_EINVAL);
	/* another service, a date that is not the credential's, headers not signed */
	char a[512];
	snprintf(a, sizeof(a), "%s", POST_AUTH);
	memcpy(strstr(a, "route53"), "route54", 7);
	assert_int_equal(check(a, "POST", path, &post, "<x/>", SECRET, NOW), TERN_EINVAL);
	snprintf(a, sizeof(a), "%s", POST_AUTH);
	memcpy(strstr(a, "20261206"), "20261205", 8);
	assert_int_equal(check(a, "POST", path, &post, "<x/>", SECRET, NOW), TERN_EINVAL);
	snprintf(a, sizeof(a), "%s", POST_AUTH);
	memcpy(strstr(a, "content-type;host;x-amz-date"), "content-type;host;x-amz-datf", 28);
	assert_int_equal(check(a, "POST", path, &post, "<x/>", SECRET, NOW), TERN_EINVAL);
	/* malformed headers */
	static const char *const bad[] = {
	    "AWS4-HMAC-SHA1 Credential=a/20261206/r/route53/aws4_request, SignedHeaders=host, Signature=00",
	    "AWS4-HMAC-SHA256 Credential=a/2026120/r/route53/aws4_request, SignedHeaders=host;x-amz-date, "
	    "Signature=7b0c142fee8ad7db53226b496612ae0266c48d24b39e4b7878d4e648063e2fb5",
	    "AWS4-HMAC-SHA256 Credential=a/20261206/r/route53/aws4_request, SignedHeaders=host;x-amz-date, "
	    "Signature=7B0C142FEE8AD7DB53226B496612AE0266C48D24B39E4B7878D4E648063E2FB5",
	    "AWS4-HMAC-SHA256 Credential=a/20261206/r/route53, SignedHeaders=host;x-amz-date, "
	    "Signature=7b0c142fee8ad7db53226b496612ae0266c48d24b39e4b7878d4e648063e2fb5",
	    "AWS4-HMAC-SHA256 Credential=a/20261206/r/route53/aws4_request",
	    "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct r53_sigv4 s;
		char err[256] = "";
		assert_int_equal(r53_sigv4_parse(bad[i], &s, err, sizeof(err)), TERN_EINVAL);
		assert_true(err[0]);
	}
}

static struct r53_node *doc(const char *text)
{
	struct r53_node *d = NULL;
	char err[256];
	if (r53_xml_parse(text, strlen(text), &d, err, sizeof(err)) < 0)
		fail_msg("parse: %s", err);
	return d;
}

static void test_batch(void **state)
{
	(void)state;
	struct r53_node *d = doc("<?xml version=\"1.0\"?><ChangeResourceRecordSetsRequest xmlns=\"x\"><ChangeBatch>"
	                         "<Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.example.</Name>"
	                         "<Type>TXT</Type><TTL>0</TTL><ResourceRecords><ResourceRecord><Value>\"x &amp; y\""
	                         "</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>"
	                         "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
	struct r53_batch b;
	char err[256];
	assert_int_equal(r53_read_batch(d, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.changes[0].action, R53_UPSERT);
	assert_int_equal(b.changes[0].ttl, 0);
	assert_string_equal(b.changes[0].name, "a.example.");
	assert_int_equal(b.changes[0].nvalues, 1);
	assert_string_equal(b.changes[0].values[0], "\"x & y\"");
	r53_batch_free(&b);
	r53_xml_free(d);
	static const char *const bad[][2] = {
	    {"<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>MOVE</Action></Change></Changes>"
	     "</ChangeBatch></ChangeResourceRecordSetsRequest>",
	     "Changes[0]: Action MOVE"},
	    {"<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet>"
	     "<Name>a</Name><Type>A</Type><TTL>4294967296</TTL></ResourceRecordSet></Change></Changes></ChangeBatch>"
	     "</ChangeResourceRecordSetsRequest>",
	     "Changes[0]: TTL 4294967296"},
	    {"<ChangeResourceRecordSetsRequest><ChangeBatch><Changes/></ChangeBatch></ChangeResourceRecordSetsRequest>",
	     "Changes must hold"},
	    {"<CreateHostedZoneRequest/>", "root element"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = doc(bad[i][0]);
		memset(&b, 0x55, sizeof(b));
		assert_int_equal(r53_read_batch(d, &b, err, sizeof(err)), TERN_EINVAL);
		assert_non_null(strstr(err, bad[i][1]));
		assert_null(b.changes);
		r53_xml_free(d);
	}
}

static void test_xml_limits(void **state)
{
	(void)state;
	char err[256];
	struct r53_node *d = NULL;
	static const char *const bad[] = {
	    "<a>", "<a></b>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "", "<a/><b/>", "<a>&undefined;</a>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(r53_xml_parse(bad[i], strlen(bad[i]), &d, err, sizeof(err)), TERN_EINVAL);
		assert_null(d);
	}
	char deep[1024] = "";
	for (int i = 0; i <= R53_XML_MAX_DEPTH; i++)
		strcat(deep, "<a>");
	for (int i = 0; i <= R53_XML_MAX_DEPTH; i++)
		strcat(deep, "</a>");
	assert_int_equal(r53_xml_parse(deep, strlen(deep), &d, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "deeper"));
	struct text t = {0};
	r53_xml_escape(&t, "<a href='x'>&\"\x01\xff");
	assert_string_equal(t.s, "&lt;a href=&apos;x&apos;&gt;&amp;&quot;\xef\xbf\xbd\xef\xbf\xbd");
	text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sigv4_matches_an_independent_signer),
	    cmocka_unit_test(test_sigv4_refuses_changes),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_xml_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
