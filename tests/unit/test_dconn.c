/* Unit tests for lib/dconn (Domain Connect): templates read strictly, the apply query and the text
 * its signature covers, records made for a domain and host, the p=,a=,d= key and RSA-SHA256
 * signatures (a key made here with OpenSSL), redirects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/dconn.h"
#include "lib/error.h"
#include "lib/rr.h"

static const char TEMPLATE[] =
    "{\"providerId\":\"example.test\",\"providerName\":\"Example\",\"serviceId\":\"web\",\"serviceName\":\"Web\","
    "\"logoUrl\":\"https://example.test/l.png\",\"syncPubKeyDomain\":\"keys.example.test\","
    "\"syncRedirectDomain\":\"example.test, other.test\",\"records\":["
    "{\"type\":\"A\",\"host\":\"@\",\"pointsTo\":\"%ip%\",\"ttl\":600},"
    "{\"type\":\"CNAME\",\"host\":\"www\",\"pointsTo\":\"@\",\"ttl\":\"300\"},"
    "{\"type\":\"MX\",\"host\":\"@\",\"pointsTo\":\"mx.%fqdn%\",\"priority\":\"%prio%\",\"ttl\":300},"
    "{\"groupId\":\"t\",\"type\":\"TXT\",\"host\":\"%sub%._v\",\"data\":\"%long%\",\"ttl\":300,"
    "\"txtConflictMatchingMode\":\"Prefix\",\"txtConflictMatchingPrefix\":\"v=\"}]}";

static void parse_ok(struct dconn_template *t)
{
	char err[256] = "";
	assert_int_equal(dconn_template_parse(TEMPLATE, strlen(TEMPLATE), t, err, sizeof(err)), 0);
}

static void test_template(void **state)
{
	(void)state;
	struct dconn_template t;
	parse_ok(&t);
	assert_string_equal(t.provider_id, "example.test");
	assert_string_equal(t.pubkey_domain, "keys.example.test");
	assert_int_equal(t.nrecords, 4);
	assert_int_equal(t.records[2].type, RR_MX);
	assert_string_equal(t.records[2].priority, "%prio%");
	assert_int_equal(t.records[3].txt_mode, DCONN_TXT_PREFIX);
	dconn_template_clear(&t);
	static const struct {
		const char *text, *err;
	} bad[] = {
	    {"[]", "(top): must be an object"},
	    {"{\"providerId\":\"a\",\"providerName\":\"A\",\"serviceId\":\"b\",\"serviceName\":\"B\",\"records\":[]}",
	     "records: must be a list"},
	    {"{\"providerId\":\"a\",\"providerName\":\"A\",\"serviceId\":\"b\",\"serviceName\":\"B\",\"x\":1,"
	     "\"records\":[]}",
	     "x: not a field of a template"},
	    {"{\"providerId\":\"a\",\"providerName\":\"A\",\"serviceId\":\"b\",\"serviceName\":\"B\",\"records\":"
	     "[{\"type\":\"MX\",\"host\":\"@\",\"pointsTo\":\"m\",\"ttl\":1}]}",
	     "records[0].priority: missing"},
	    {"{\"providerId\":\"a\",\"providerName\":\"A\",\"serviceId\":\"b\",\"serviceName\":\"B\",\"records\":"
	     "[{\"type\":\"TXT\",\"host\":\"@\",\"data\":\"%a\",\"ttl\":1}]}",
	     "records[0].data: a % that does not open"},
	    {"{\"providerId\":\"a\",\"providerName\":\"A\",\"serviceId\":\"b\",\"serviceName\":\"B\",\"records\":"
	     "[{\"type\":\"TXT\",\"host\":\"@\",\"data\":\"x\",\"ttl\":1,\"txtConflictMatchingMode\":\"Prefix\"}]}",
	     "records[0].txtConflictMatchingPrefix: missing"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		assert_int_equal(dconn_template_parse(bad[i].text, strlen(bad[i].text), &t, err, sizeof(err)),
		                 TERN_EINVAL);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, bad[i].err);
	}
}

static void test_query(void **state)
{
	(void)state;
	struct dconn_query q;
	char field[80], why[256];
	const char *raw =
	    "domain=Example.COM&host=Shop&ip=192.0.2.1&sig=c2ln&state=a%20b+c&key=_k1&redirect_uri=https%3A%2F%2F"
	    "x.example.test%2Fd";
	assert_int_equal(dconn_query_parse(raw, strlen(raw), &q, field, sizeof(field), why, sizeof(why)), 0);
	assert_string_equal(q.domain, "example.com");
	assert_string_equal(q.host, "shop");
	assert_string_equal(q.state, "a b c");
	assert_string_equal(q.sig, "c2ln");
	assert_string_equal(q.key, "_k1");
	assert_string_equal(q.redirect_uri, "https://x.example.test/d");
	assert_int_equal(q.nvars, 1);
	/* what the signature covers: the query as sent, without sig and key */
	assert_string_equal(
	    q.signed_text,
	    "domain=Example.COM&host=Shop&ip=192.0.2.1&state=a%20b+c&redirect_uri=https%3A%2F%2Fx.example.test%2Fd");
	dconn_query_clear(&q);
	static const struct {
		const char *raw, *field;
	} bad[] = {
	    {"host=a", "domain"},        {"domain=a..b", "domain"},  {"domain=a&domain=b", "domain"},
	    {"domain=a&x=1&X=2", "X"},   {"domain=a&x=%4", "x"},     {"domain=a&x=%0a", "x"},
	    {"domain=a&&x=1", "query"},  {"domain=a&x=1&", "query"}, {"domain=a&host=b.", "host"},
	    {"domain=a&key=a/b", "key"}, {"domain=a&b%21=1", "b!"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		field[0] = 0;
		assert_int_equal(
		    dconn_query_parse(bad[i].raw, strlen(bad[i].raw), &q, field, sizeof(field), why, sizeof(why)),
		    TERN_EINVAL);
		if (strcmp(field, bad[i].field) != 0)
			fail_msg("case %zu (%s): field %s, expected %s (%s)", i, bad[i].raw, field, bad[i].field, why);
	}
}

static int expand(const char *raw, struct dconn_rr **rr, size_t *n, char *field, char *why)
{
	struct dconn_template t;
	struct dconn_query q;
	parse_ok(&t);
	assert_int_equal(dconn_query_parse(raw, strlen(raw), &q, field, 80, why, 256), 0);
	int rc = dconn_expand(&t, &q, rr, n, field, 80, why, 256);
	dconn_query_clear(&q);
	dconn_template_clear(&t);
	return rc;
}

static void test_expand(void **state)
{
	(void)state;
	char field[80], why[256], raw[1024], text[NAME_MAXLEN * 4 + 1];
	char long_data[301];
	memset(long_data, 'x', 300);
	long_data[300] = 0;
	snprintf(raw, sizeof(raw), "domain=example.com&host=shop&ip=192.0.2.7&prio=5&sub=a.b&long=%s", long_data);
	struct dconn_rr *rr;
	size_t n;
	assert_int_equal(expand(raw, &rr, &n, field, why), 0);
	assert_int_equal(n, 4);
	name_to_text(rr[0].owner, text, sizeof(text));
	assert_string_equal(text, "shop.example.com.");
	assert_int_equal(rr[0].ttl, 600);
	assert_memory_equal(rr[0].rdata, "\xc0\x00\x02\x07", 4);
	name_to_text(rr[1].owner, text, sizeof(text));
	assert_string_equal(text, "www.shop.example.com.");
	assert_int_equal(rr[1].rdlen, 18); /* shop.example.com. */
	assert_int_equal(rr[2].rdata[1], 5); /* MX priority */
	name_to_text(rr[3].owner, text, sizeof(text));
	assert_string_equal(text, "a.b._v.shop.example.com.");
	assert_int_equal(rr[3].rdlen, 302); /* 255 + 45 in two strings */
	assert_int_equal(rr[3].rdata[0], 255);
	assert_int_equal(rr[3].rdata[256], 45);
	free(rr);
	/* only the group named */
	assert_int_equal(expand("domain=example.com&groupId=t&sub=s&long=v%3D1", &rr, &n, field, why), 0);
	assert_int_equal(n, 1);
	free(rr);
	static const struct {
		const char *raw, *field;
	} bad[] = {
	    {"domain=example.com&ip=192.0.2.1&prio=5&sub=x", "long"},
	    {"domain=example.com&ip=192.0.2.1&prio=5&sub=evil.test.&long=x", "sub"},
	    {"domain=example.com&ip=192.0.2.1&prio=5&sub=a%5C.b&long=x", "sub"},
	    {"domain=example.com&ip=192.0.2.1&prio=5&sub=a@b&long=x", "sub"},
	    {"domain=example.com&ip=::1&prio=5&sub=x&long=x", "ip"},
	    {"domain=example.com&ip=192.0.2.1&prio=70000&sub=x&long=x", "prio"},
	    {"domain=example.com&groupId=none", "groupId"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		field[0] = 0;
		assert_int_equal(expand(bad[i].raw, &rr, &n, field, why), TERN_EINVAL);
		if (strcmp(field, bad[i].field) != 0)
			fail_msg("case %zu: field %s, expected %s (%s)", i, field, bad[i].field, why);
	}
}

/* Hosts written absolute: under host.domain they are taken, elsewhere refused. */
static void test_absolute_host(void **state)
{
	(void)state;
	static const char abs_t[] = "{\"providerId\":\"a.test\",\"providerName\":\"A\",\"serviceId\":\"s\","
	                            "\"serviceName\":\"S\",\"logoUrl\":\"https://a.test/my%20logo.png\",\"records\":["
	                            "{\"type\":\"TXT\",\"host\":\"%sub%.%fqdn%.\",\"data\":\"x\",\"ttl\":1}]}";
	struct dconn_template t;
	char err[256], field[80], why[256], text[NAME_MAXLEN * 4 + 1];
	assert_int_equal(dconn_template_parse(abs_t, strlen(abs_t), &t, err, sizeof(err)), 0);
	static const struct {
		const char *raw, *owner;
	} cases[] = {
	    {"domain=example.com&host=shop&sub=_v", "_v.shop.example.com."},
	    {"domain=example.com&sub=a.b", "a.b.example.com."},
	    {"domain=example.com&host=shop&sub=", NULL}, /* ".shop.example.com." */
	    {"domain=example.com&host=shop&sub=x.evil.test.", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dconn_query q;
		struct dconn_rr *rr = NULL;
		size_t n = 0;
		assert_int_equal(dconn_query_parse(cases[i].raw, strlen(cases[i].raw), &q, field, 80, why, 256), 0);
		int rc = dconn_expand(&t, &q, &rr, &n, field, sizeof(field), why, sizeof(why));
		if (cases[i].owner) {
			assert_int_equal(rc, 0);
			name_to_text(rr[0].owner, text, sizeof(text));
			assert_string_equal(text, cases[i].owner);
		} else {
			assert_int_equal(rc, TERN_EINVAL);
			assert_string_equal(field, "sub");
		}
		free(rr);
		dconn_query_clear(&q);
	}
	dconn_template_clear(&t);
}

static void b64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void test_verify(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	assert_non_null(key);
	uint8_t *der = NULL;
	int dlen = i2d_PUBKEY(key, &der);
	assert_true(dlen > 0);
	char pub[1024], p1[600], p2[600], sig64[512];
	b64(der, (size_t)dlen, pub);
	size_t half = strlen(pub) / 2;
	snprintf(p1, sizeof(p1), "p=1,a=RS256,t=x509,d=%.*s", (int)half, pub);
	snprintf(p2, sizeof(p2), "a=RS256,p=2,d=%s", pub + half);
	const char *text = "domain=example.com&host=shop&ip=192.0.2.1";
	uint8_t sig[256];
	size_t slen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &slen, (const uint8_t *)text, strlen(text)), 1);
	EVP_MD_CTX_free(md);
	b64(sig, slen, sig64);
	char why[256];
	const char *parts[] = {p2, "v=spf1 -all", p1}; /* out of order, with another TXT record */
	assert_int_equal(dconn_verify(parts, 3, text, strlen(text), sig64, why, sizeof(why)), 0);
	assert_int_equal(
	    dconn_verify(parts, 3, "domain=example.com&host=shop&ip=192.0.2.2", 41, sig64, why, sizeof(why)),
	    TERN_EBOGUS);
	const char *one[] = {p1}; /* half a key */
	assert_int_equal(dconn_verify(one, 1, text, strlen(text), sig64, why, sizeof(why)), TERN_EINVAL);
	const char *twice[] = {p1, p1};
	assert_int_equal(dconn_verify(twice, 2, text, strlen(text), sig64, why, sizeof(why)), TERN_EINVAL);
	const char *es[] = {"p=1,a=ES256,d=AAAA"};
	assert_int_equal(dconn_verify(es, 1, text, strlen(text), sig64, why, sizeof(why)), TERN_EINVAL);
	assert_int_equal(dconn_verify(parts, 3, text, strlen(text), "not base64!", why, sizeof(why)), TERN_EINVAL);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void test_redirect(void **state)
{
	(void)state;
	char why[256];
	const char *d = "example.test, other.test";
	assert_true(dconn_redirect_allowed(d, "https://example.test/x", why, sizeof(why)));
	assert_true(dconn_redirect_allowed(d, "https://a.b.example.test:8443/x?y=1", why, sizeof(why)));
	assert_true(dconn_redirect_allowed(d, "http://OTHER.test", why, sizeof(why)));
	assert_false(dconn_redirect_allowed(d, "https://badexample.test/", why, sizeof(why)));
	assert_false(dconn_redirect_allowed(d, "https://example.test.evil/", why, sizeof(why)));
	assert_false(dconn_redirect_allowed(d, "https://example.test@evil.test/", why, sizeof(why)));
	assert_false(dconn_redirect_allowed(d, "ftp://example.test/", why, sizeof(why)));
	assert_false(dconn_redirect_allowed(d, "//example.test/", why, sizeof(why)));
	assert_false(dconn_redirect_allowed(NULL, "https://example.test/", why, sizeof(why)));
}

/* SRV, CAA and SPFM: read, made for a request, and hostile values refused naming the variable. */
static const char TYPES_T[] =
    "{\"providerId\":\"t.test\",\"providerName\":\"T\",\"serviceId\":\"types\",\"serviceName\":\"Types\","
    "\"records\":["
    "{\"type\":\"SRV\",\"name\":\"@\",\"ttl\":\"3600\",\"priority\":\"10\",\"weight\":\"%w%\",\"port\":\"%port%\","
    "\"protocol\":\"%proto%\",\"service\":\"_%svc%\",\"target\":\"%target%\"},"
    "{\"type\":\"CAA\",\"host\":\"@\",\"ttl\":300,\"data\":\"0 %tag% \\\"%ca%\\\"\"},"
    "{\"type\":\"SPFM\",\"host\":\"@\",\"spfRules\":\"%rules%\"},"
    "{\"type\":\"SPFM\",\"host\":\"m\",\"ttl\":60,\"spfRules\":\"include:%inc% %more%\"}]}";

static int expand_types(const char *raw, struct dconn_rr **rr, size_t *n, char *field, char *why)
{
	struct dconn_template t;
	struct dconn_query q;
	char err[256] = "";
	assert_int_equal(dconn_template_parse(TYPES_T, strlen(TYPES_T), &t, err, sizeof(err)), 0);
	assert_int_equal(dconn_query_parse(raw, strlen(raw), &q, field, 80, why, 256), 0);
	int rc = dconn_expand(&t, &q, rr, n, field, 80, why, 256);
	dconn_query_clear(&q);
	dconn_template_clear(&t);
	return rc;
}

static void test_types(void **state)
{
	(void)state;
	char field[80] = "", why[256] = "", text[NAME_MAXLEN * 4 + 1];
	struct dconn_rr *rr = NULL;
	size_t n = 0;
	int rc = expand_types(
	    "domain=example.com&host=shop&w=20&port=5061&proto=_TLS&svc=sip&target=sip.t.test&tag=issue&"
	    "ca=ca.test%3B%20policy%3Dev&rules=include%3Aspf.t.test%20ip4%3A192.0.2.0%2F24&inc=x.test&more=mx",
	    &rr, &n, field, why);
	if (rc != 0)
		fail_msg("%s: %s", field, why);
	assert_int_equal(n, 4);
	name_to_text(rr[0].owner, text, sizeof(text));
	assert_string_equal(text, "_sip._tls.shop.example.com.");
	assert_int_equal(rr[0].type, RR_SRV);
	assert_memory_equal(rr[0].rdata, "\x00\x0a\x00\x14\x13\xc5", 6); /* 10 20 5061 */
	assert_int_equal(rr[0].rdlen, 6 + 12); /* sip.t.test. */
	assert_int_equal(rr[1].type, RR_CAA);
	assert_int_equal(rr[1].rdlen, 2 + 5 + 18);
	assert_memory_equal(rr[1].rdata, "\x00\x05issueca.test; policy=ev", 25);
	assert_int_equal(rr[2].type, RR_TXT);
	assert_true(rr[2].spfm && rr[2].ttl_default && rr[2].ttl == 3600);
	const char spf[] = "v=spf1 include:spf.t.test ip4:192.0.2.0/24 ~all";
	assert_int_equal(rr[2].rdata[0], strlen(spf));
	assert_memory_equal(rr[2].rdata + 1, spf, strlen(spf));
	assert_true(rr[3].spfm && !rr[3].ttl_default && rr[3].ttl == 60);
	free(rr);
	static const struct {
		const char *raw, *field;
	} bad[] = {
	    /* a port over 65535, a weight that is not a number */
	    {"domain=example.com&w=1&port=65536&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=a&inc=i.test&more="
	     "mx",
	     "port"},
	    {"domain=example.com&w=-1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=a&inc=i.test&more=mx",
	     "w"},
	    /* the service or protocol made two labels, or another name: the owner would move */
	    {"domain=example.com&w=1&port=1&proto=tcp.evil.test&svc=x&target=t.test&tag=issue&ca=c&rules=a&inc=i.test&"
	     "more=mx",
	     "proto"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x.&target=t.test&tag=issue&ca=c&rules=a&inc=i.test&more=mx",
	     "svc"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t%20est&tag=issue&ca=c&rules=a&inc=i.test&more=mx",
	     "target"},
	    /* a CAA tag with a space, a value closing its quote */
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=is%20sue&ca=c&rules=a&inc=i.test&more=mx",
	     "tag"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c%22%20x%20%22y&rules=a&inc=i."
	     "test&more=mx",
	     "ca"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c%5C&rules=a&inc=i.test&more=mx",
	     "ca"},
	    /* SPF rules with a quote, their own all, another version, nothing */
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=a%22%20b&inc=i.test&"
	     "more=mx",
	     "rules"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=a%20-all&inc=i.test&"
	     "more=mx",
	     "rules"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=v%3Dspf1%20a&inc=i.test&"
	     "more=mx",
	     "rules"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=%20&inc=i.test&more=mx",
	     "rules"},
	    /* the second variable of the rules to blame, not the first */
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=a&inc=i.test&more=%"
	     "3Fall",
	     "more"},
	    {"domain=example.com&w=1&port=1&proto=tcp&svc=x&target=t.test&tag=issue&ca=c&rules=a&inc=i%22t&more=mx",
	     "inc"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		field[0] = 0;
		rr = NULL;
		assert_int_equal(expand_types(bad[i].raw, &rr, &n, field, why), TERN_EINVAL);
		assert_null(rr);
		if (strcmp(field, bad[i].field) != 0)
			fail_msg("case %zu: field %s, expected %s (%s)", i, field, bad[i].field, why);
	}
	/* refused at load, by name and reason */
	static const struct {
		const char *rec, *err;
	} refused[] = {
	    {"{\"type\":\"REDIR301\",\"host\":\"@\",\"target\":\"https://t.test\",\"ttl\":1}",
	     "records[0].type: REDIR301 needs a web redirect service, which this provider does not run"},
	    {"{\"type\":\"REDIR302\",\"host\":\"@\",\"target\":\"https://t.test\",\"ttl\":1}",
	     "records[0].type: REDIR302 needs a web redirect service"},
	    {"{\"type\":\"APEXCNAME\",\"host\":\"@\",\"pointsTo\":\"t.test\",\"ttl\":1}",
	     "records[0].type: APEXCNAME needs"},
	    {"{\"type\":\"SRV\",\"name\":\"@\",\"ttl\":1,\"priority\":1,\"weight\":1,\"port\":70000,\"protocol\":\"_"
	     "tcp\","
	     "\"service\":\"_x\",\"target\":\"t.test\"}",
	     "records[0].port: 70000 is not a number 0 to 65535"},
	    {"{\"type\":\"SRV\",\"name\":\"@\",\"ttl\":1,\"priority\":1,\"weight\":1,\"port\":1,\"protocol\":\"_tcp."
	     "x\","
	     "\"service\":\"_x\",\"target\":\"t.test\"}",
	     "records[0].protocol: _tcp.x is not one label"},
	    {"{\"type\":\"SRV\",\"name\":\"@\",\"ttl\":1,\"priority\":1,\"weight\":1,\"protocol\":\"_tcp\","
	     "\"service\":\"_x\",\"target\":\"t.test\"}",
	     "records[0].port: missing"},
	    {"{\"type\":\"SPFM\",\"host\":\"@\",\"data\":\"include:x\"}", "records[0].spfRules: missing"},
	    {"{\"type\":\"CAA\",\"host\":\"@\",\"ttl\":1,\"pointsTo\":\"x\"}", "records[0].data: missing"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char tpl[1024], err[256] = "";
		struct dconn_template t;
		snprintf(tpl, sizeof(tpl),
		         "{\"providerId\":\"a\",\"providerName\":\"A\",\"serviceId\":\"b\",\"serviceName\":\"B\","
		         "\"records\":[%s]}",
		         refused[i].rec);
		assert_int_equal(dconn_template_parse(tpl, strlen(tpl), &t, err, sizeof(err)), TERN_EINVAL);
		if (strncmp(err, refused[i].err, strlen(refused[i].err)) != 0)
			fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, refused[i].err);
	}
}

/* SPF merge: the new terms before the record's all, those there kept once, its policy kept. */
static void test_spf_merge(void **state)
{
	(void)state;
	char out[256];
	static const struct {
		const char *spf, *rules, *merged;
	} cases[] = {
	    {"v=spf1 mx -all", "include:a.test", "v=spf1 mx include:a.test -all"},
	    {"v=spf1 include:a.test ?all", "include:a.test ip4:192.0.2.1", "v=spf1 include:a.test ip4:192.0.2.1 ?all"},
	    {"v=spf1 mx", "include:a.test", "v=spf1 mx include:a.test"},
	    {"V=SPF1 all", "a", "V=SPF1 a all"},
	    {"v=spf1", "a  a b", "v=spf1 a b"},
	    {"v=spf1 mx ~all", "MX", "v=spf1 mx ~all"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = dconn_spf_merge(cases[i].spf, strlen(cases[i].spf), cases[i].rules, out, sizeof(out));
		assert_int_equal(n, strlen(cases[i].merged));
		assert_string_equal(out, cases[i].merged);
	}
	assert_int_equal(dconn_spf_merge("v=spf10 a", 9, "b", out, sizeof(out)), -1);
	assert_int_equal(dconn_spf_merge("google-site-verification=x", 26, "b", out, sizeof(out)), -1);
	assert_int_equal(dconn_spf_merge("v=spf1 a -all", 13, "include:long.test", out, 16), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template), cmocka_unit_test(test_query),         cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_verify),   cmocka_unit_test(test_absolute_host), cmocka_unit_test(test_redirect),
	    cmocka_unit_test(test_types),    cmocka_unit_test(test_spf_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
