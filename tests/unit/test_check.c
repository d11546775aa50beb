/* lib/check_*: the pieces of tern check that need no network: the answer decoder (compressed
 * names inside RDATA written out whole, mismatched and cut answers refused), SOA fields and the
 * negative-cache TTL, the user's name checked, WHOIS and RDAP answers read, the report's JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/check_input.h"
#include "lib/check_registry.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"

/* A response to corp.lab./SOA with id 0x1234: the SOA in the answer (its names compressed against
 * the question), an NS in the authority, an A in the additional. */
static size_t make_answer(uint8_t *m)
{
	static const uint8_t msg[] = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 1, 0, 1,
	                              /* question at 12: corp.lab. SOA IN */
	                              4, 'c', 'o', 'r', 'p', 3, 'l', 'a', 'b', 0, 0, 6, 0, 1,
	                              /* answer: owner ptr 12, SOA, IN, TTL 300, rdata */
	                              0xc0, 12, 0, 6, 0, 1, 0, 0, 1, 44, 0, 31, 3, 'n', 's', '1', 0xc0,
	                              12, /* ns1.corp.lab. */
	                              2, 'h', 'm', 0xc0, 12, /* hm.corp.lab. */
	                              0, 0, 0, 2, 0, 0, 7, 8, 0, 0, 3, 0x84, 0, 9, 0x3a, 0x80, 0, 0, 0, 60,
	                              /* authority: corp.lab. NS ns1.corp.lab. (ptr to the SOA's mname at 38) */
	                              0xc0, 12, 0, 2, 0, 1, 0, 0, 0, 200, 0, 2, 0xc0, 38,
	                              /* additional: ns1.corp.lab. A 198.18.10.3 */
	                              0xc0, 38, 0, 1, 0, 1, 0, 0, 0, 200, 0, 4, 198, 18, 10, 3};
	memcpy(m, msg, sizeof(msg));
	return sizeof(msg);
}

static void test_answer(void **state)
{
	(void)state;
	uint8_t m[512];
	size_t len = make_answer(m);
	struct check_answer *a = malloc(sizeof(*a));
	assert_non_null(a);
	assert_int_equal(check_answer_parse(m, len, 0x1234, "CORP.lab", RR_SOA, a), 0);
	assert_true(a->ok && a->aa && !a->tc);
	assert_int_equal(a->rcode, 0);
	assert_int_equal(a->nrr, 3);
	const struct check_rr *soa = check_answer_find(a, CHECK_ANSWER, "corp.lab.", RR_SOA);
	assert_non_null(soa);
	assert_string_equal(soa->data, "ns1.corp.lab. hm.corp.lab. 2 1800 900 604800 60");
	struct check_soa f;
	assert_int_equal(check_soa_parse(soa, &f), 0);
	assert_int_equal(f.serial, 2);
	assert_int_equal(f.ttl, 300);
	assert_int_equal(f.negative_ttl, 60); /* min(TTL 300, MINIMUM 60) */
	assert_string_equal(check_answer_find(a, CHECK_AUTHORITY, "corp.lab", RR_NS)->data, "ns1.corp.lab.");
	assert_string_equal(check_answer_find(a, CHECK_ADDITIONAL, "ns1.corp.lab.", RR_A)->data, "198.18.10.3");
	/* a wrong id, another question, a cut message: refused with a reason */
	assert_int_equal(check_answer_parse(m, len, 0x1235, "corp.lab.", RR_SOA, a), TERN_EMALF);
	assert_true(strstr(a->error, "does not match") != NULL);
	assert_int_equal(check_answer_parse(m, len, 0x1234, "www.corp.lab.", RR_SOA, a), TERN_EMALF);
	assert_true(strstr(a->error, "another question") != NULL);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(check_answer_parse(m, cut, 0x1234, "corp.lab.", RR_SOA, a), TERN_EMALF);
	/* a compression pointer forward (the mname's, at 42, made to point past itself) is refused */
	assert_int_equal(m[42], 0xc0);
	m[43] = 0xf0;
	assert_int_equal(check_answer_parse(m, len, 0x1234, "corp.lab.", RR_SOA, a), TERN_EMALF);
	free(a);
}

/* Appends n octets to a message being built. */
static size_t put(uint8_t *m, size_t at, const void *p, size_t n)
{
	memcpy(m + at, p, n);
	return at + n;
}

/* An answer to k.lab./DNSKEY: an RSA-4096 DNSKEY (exponent 65537) and an RRSIG with a 4096-bit
 * signature, both read whole (over 511 characters, under CHECK_RR_TEXT) and reading back to the
 * same RDATA; a DNSKEY with a 1,100-octet key field, longer than any key verified: marked cut. */
static void test_answer_long_dnssec(void **state)
{
	(void)state;
	static uint8_t m[4096];
	uint8_t big[1100];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	big[0] = 0xc5;
	static const uint8_t hdr[] = {0x12, 0x34, 0x84, 0x00, 0,   1,   0, 3, 0,  0, 0, 0,
	                              1,    'k',  3,    'l',  'a', 'b', 0, 0, 48, 0, 1};
	static const uint8_t exp4[] = {3, 1, 0, 1};
	size_t n = put(m, 0, hdr, sizeof(hdr));
	/* the DNSKEY: flags 257, protocol 3, algorithm 8, then exponent length 3, 65537, a 512-octet modulus */
	static const uint8_t k1[] = {0xc0, 12, 0, 48, 0, 1, 0, 0, 1, 44, 520 >> 8, 520 & 0xff, 1, 1, 3, 8};
	n = put(m, n, k1, sizeof(k1));
	n = put(m, n, exp4, sizeof(exp4));
	n = put(m, n, big, 512);
	/* the RRSIG over it: 18 fixed octets, signer k.lab., a 512-octet signature */
	static const uint8_t s1[] = {0xc0, 12, 0,    46,   0, 1,   0,  0,    1,   44,  537 >> 8, 537 & 0xff, 0,
	                             48,   8,  2,    0,    0, 1,   44, 0x7f, 0,   0,   0,        0x70,       0,
	                             0,    0,  0x30, 0x39, 1, 'k', 3,  'l',  'a', 'b', 0};
	n = put(m, n, s1, sizeof(s1));
	n = put(m, n, big + 1, 512);
	/* the DNSKEY no key fits: 4 + 1,100 octets */
	static const uint8_t k2[] = {0xc0, 12, 0, 48, 0, 1, 0, 0, 1, 44, 1104 >> 8, 1104 & 0xff, 1, 1, 3, 8};
	n = put(m, n, k2, sizeof(k2));
	n = put(m, n, big, sizeof(big));
	struct check_answer *a = malloc(sizeof(*a));
	assert_non_null(a);
	assert_int_equal(check_answer_parse(m, n, 0x1234, "k.lab.", RR_DNSKEY, a), 0);
	assert_int_equal(a->nrr, 3);
	uint8_t owner[NAME_MAXLEN], back[2048];
	size_t blen;
	char err[256];
	assert_true(name_from_text(owner, "k.lab.", NULL) > 0);
	static const size_t at[] = {12 + 11 + 12, 12 + 11 + 12 + 520 + 12};
	static const size_t len[] = {520, 537};
	for (int i = 0; i < 2; i++) {
		const struct check_rr *rr = &a->rr[i];
		assert_false(rr->cut);
		assert_true(strlen(rr->data) > CHECK_RDATA_TEXT && strlen(rr->data) < CHECK_RR_TEXT);
		assert_int_equal(rrtext_rdata_from_text(owner, owner, rr->type, rr->data, back, sizeof(back), &blen,
		                                        err, sizeof(err)),
		                 0);
		assert_int_equal(blen, len[i]);
		assert_memory_equal(back, m + at[i], len[i]);
	}
	assert_int_equal(strlen(a->rr[0].data), 696); /* "257 3 8 " and base64 of 516 octets */
	assert_true(a->rr[2].cut);
	assert_string_equal(a->rr[2].data, "(1104 octets, too long to show)");
	/* a value of a report is shorter: a record over it is a note, never a cut value */
	char value[CHECK_RDATA_TEXT];
	check_copy_rdata(value, sizeof(value), a->rr[0].data);
	assert_string_equal(value, "(696 characters, too long to show)");
	check_copy_rdata(value, sizeof(value), "192.0.2.1");
	assert_string_equal(value, "192.0.2.1");
	free(a);
}

static void test_names(void **state)
{
	(void)state;
	char out[CHECK_NAME_TEXT], uni[1024], err[256];
	assert_int_equal(check_input_name("Corp.LAB", out, uni, sizeof(uni), err, sizeof(err)), 0);
	assert_string_equal(out, "corp.lab.");
	assert_int_equal(check_input_name("b\xc3\xbc"
	                                  "cher.lab",
	                                  out, uni, sizeof(uni), err, sizeof(err)),
	                 0);
	assert_string_equal(out, "xn--bcher-kva.lab.");
	static const char *const bad[][2] = {
	    {"192.0.2.1", "IP address"},
	    {"2001:db8::1", "IP address"},
	    {"a..b", "empty label"},
	    {".", "root"},
	    {"", "empty"},
	    {"a b", "holds ' '"},
	    {"xn--a.lab", "internationalized"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		int rc = check_input_name(bad[i][0], out, NULL, 0, err, sizeof(err));
		if (strcmp(bad[i][0], "xn--a.lab") == 0) /* an A-label is ASCII: passed to DNS as it is */
			continue;
		assert_int_equal(rc, TERN_ENAME);
		assert_non_null(strstr(err, bad[i][1]));
	}
	char longlabel[80];
	memset(longlabel, 'x', 64);
	strcpy(longlabel + 64, ".lab");
	assert_int_equal(check_input_name(longlabel, out, NULL, 0, err, sizeof(err)), TERN_ENAME);
	assert_non_null(strstr(err, "longer than 63"));
}

static void test_whois(void **state)
{
	(void)state;
	/* the thin-registry form (Verisign), and .de-like "Nserver:" lines with an address after */
	static const char verisign[] =
	    "   Domain Name: EXAMPLE.COM\r\n   Registry Domain ID: 2336799_DOMAIN_COM-VRSN\r\n"
	    "   Registrar WHOIS Server: whois.iana.org\r\n   Registrar: RESERVED-Internet "
	    "Assigned Numbers Authority\r\n   Registry Expiry Date: 2027-08-13T04:00:00Z\r\n"
	    "   Name Server: A.IANA-SERVERS.NET\r\n   Name Server: B.IANA-SERVERS.NET\r\n";
	struct check_registration g = {0};
	char refer[256];
	assert_int_equal(check_whois_parse(verisign, strlen(verisign), &g, refer, sizeof(refer)), 1);
	assert_string_equal(g.registrar, "RESERVED-Internet Assigned Numbers Authority");
	assert_string_equal(g.expires, "2027-08-13T04:00:00Z");
	assert_int_equal(g.nns, 2);
	assert_string_equal(g.ns[0], "a.iana-servers.net.");
	assert_string_equal(refer, "");
	static const char de[] = "Domain: example.de\nNserver: ns1.example.de 192.0.2.1\nNserver: bad!name\n";
	memset(&g, 0, sizeof(g));
	assert_int_equal(check_whois_parse(de, strlen(de), &g, NULL, 0), 1);
	assert_int_equal(g.nns, 1); /* "bad!name" is no host name: left out */
	assert_string_equal(g.ns[0], "ns1.example.de.");
	static const char iana[] = "% IANA WHOIS server\n\nrefer:        whois.nic.lab\n\ndomain:       LAB\n";
	memset(&g, 0, sizeof(g));
	assert_int_equal(check_whois_parse(iana, strlen(iana), &g, refer, sizeof(refer)), 0);
	assert_string_equal(refer, "whois.nic.lab");
}

static void test_rdap(void **state)
{
	(void)state;
	static const char ok[] =
	    "{\"objectClassName\":\"domain\",\"ldhName\":\"corp.lab\",\"entities\":[{\"roles\":[\"technical\"],"
	    "\"vcardArray\":[\"vcard\",[[\"fn\",{},\"text\",\"Not Me\"]]]},{\"roles\":[\"registrar\"],\"vcardArray\":"
	    "[\"vcard\",[[\"version\",{},\"text\",\"4.0\"],[\"fn\",{},\"text\",\"Lab Registrar\"]]]}],\"events\":[{"
	    "\"eventAction\":\"expiration\",\"eventDate\":\"2030-01-01T00:00:00Z\"}],\"nameservers\":[{\"ldhName\":"
	    "\"NS1.corp.lab\"}]}";
	struct check_registration g = {0};
	char err[256];
	assert_int_equal(check_rdap_parse(ok, strlen(ok), &g, err, sizeof(err)), 0);
	assert_true(g.have);
	assert_string_equal(g.registrar, "Lab Registrar");
	assert_string_equal(g.expires, "2030-01-01T00:00:00Z");
	assert_int_equal(g.nns, 1);
	assert_string_equal(g.ns[0], "ns1.corp.lab.");
	static const char *const bad[][2] = {
	    {"<html><body>portal</body></html>", "not JSON"},
	    {"[1,2]", "not a JSON object"},
	    {"{\"errorCode\":404,\"title\":\"Not Found\"}", "RDAP error 404: Not Found"},
	    {"{\"objectClassName\":\"entity\"}", "not a domain object"},
	    {"{\"objectClassName\":\"domain\",\"objectClassName\":\"domain\"}", "not JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(check_rdap_parse(bad[i][0], strlen(bad[i][0]), &g, err, sizeof(err)), TERN_EINVAL);
		assert_non_null(strstr(err, bad[i][1]));
		assert_false(g.have);
	}
}

static void test_report(void **state)
{
	(void)state;
	struct check_report *r = check_report_new("domain", "corp.lab.");
	assert_non_null(r);
	check_find(r, "lame_ns", "ns2 (%s) refused", "198.18.10.5");
	check_find(r, "no_such_rule", "x");
	check_report_fail(r, "WHOIS %s: timeout", "whois.nic.lab");
	assert_int_equal(check_find_count(r, "lame_ns"), 1);
	assert_int_equal(check_find_count(r, "unknown_rule"), 1);
	assert_int_equal(check_report_worst(r), CHECK_ERROR);
	r->soa.have = true;
	r->soa.ttl = 7200;
	r->soa.minimum = 3600;
	r->soa.negative_ttl = 3600;
	json_t *j = check_report_json(r);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "partial")));
	json_t *neg = json_object_get(j, "negative_ttl");
	assert_int_equal(json_integer_value(json_object_get(neg, "seconds")), 3600);
	assert_non_null(strstr(json_string_value(json_object_get(neg, "explanation")), "up to 3600 s (60 min 0 s)"));
	json_t *f = json_array_get(json_object_get(j, "findings"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "severity")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(f, "fix")), "authoritatively"));
	json_decref(j);
	check_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer), cmocka_unit_test(test_names),  cmocka_unit_test(test_whois),
	    cmocka_unit_test(test_rdap),   cmocka_unit_test(test_report), cmocka_unit_test(test_answer_long_dnssec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
