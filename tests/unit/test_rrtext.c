/* Unit tests for lib/rrtext: type mnemonics, RDATA text -> wire -> text for every supported type,
 * the one-line/one-record rules, and whole-zone export reloaded and compared with the original. */
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
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

static uint8_t origin[NAME_MAXLEN];
static uint8_t www[NAME_MAXLEN];

static int setup(void **state)
{
	(void)state;
	assert_true(name_from_text(origin, "example.com.", NULL) > 0);
	assert_true(name_from_text(www, "www.example.com.", NULL) > 0);
	return 0;
}

static uint16_t type_of(const char *text)
{
	uint16_t t = 0;
	int rc = rrtext_type_from_text(text, &t);
	if (rc != 0)
		fail_msg("type %s: %d", text, rc);
	return t;
}

/* Parses text as RDATA of type (owner www.example.com., origin example.com.); returns its length. */
static size_t parse_ok(const char *type, const char *text, uint8_t *rd, size_t cap)
{
	char err[512] = "";
	size_t len = 0;
	int rc = rrtext_rdata_from_text(origin, www, type_of(type), text, rd, cap, &len, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s '%s' failed (%d): %s", type, text, rc, err);
	return len;
}

/* text -> wire -> text gives want; want -> wire gives the same wire again. */
static void roundtrip(const char *type, const char *text, const char *want)
{
	static uint8_t rd[65535], rd2[65535];
	static char out[300000];
	size_t len = parse_ok(type, text, rd, sizeof(rd));
	int n = rrtext_rdata_to_text(type_of(type), rd, (uint16_t)len, out, sizeof(out));
	if (n < 0)
		fail_msg("%s '%s': to_text failed (%d)", type, text, n);
	assert_int_equal((size_t)n, strlen(out));
	if (strcmp(out, want) != 0)
		fail_msg("%s '%s'\n  got  '%s'\n  want '%s'", type, text, out, want);
	size_t len2 = parse_ok(type, out, rd2, sizeof(rd2));
	assert_int_equal(len2, len);
	assert_memory_equal(rd2, rd, len);
}

/* The same when text is already the canonical output. */
static void same(const char *type, const char *text)
{
	roundtrip(type, text, text);
}

/* Expects rdata_from_text to fail with rc and an error containing what. */
static void parse_fails(const char *type, const char *text, size_t cap, int want_rc, const char *what)
{
	uint8_t rd[1024];
	char err[512] = "";
	size_t len = 12345;
	assert_true(cap <= sizeof(rd));
	int rc = rrtext_rdata_from_text(origin, www, type_of(type), text, rd, cap, &len, err, sizeof(err));
	if (rc != want_rc)
		fail_msg("%s '%s': rc %d, want %d (%s)", type, text, rc, want_rc, err);
	if (!strstr(err, what))
		fail_msg("%s '%s': error '%s' does not say '%s'", type, text, err, what);
	assert_int_equal(len, 12345);
}

static void test_type_from_text(void **state)
{
	(void)state;
	uint16_t t = 0;
	assert_int_equal(rrtext_type_from_text("A", &t), 0);
	assert_int_equal(t, RR_A);
	assert_int_equal(rrtext_type_from_text("mx", &t), 0);
	assert_int_equal(t, RR_MX);
	assert_int_equal(rrtext_type_from_text("Https", &t), 0);
	assert_int_equal(t, RR_HTTPS);
	assert_int_equal(rrtext_type_from_text("NSEC3PARAM", &t), 0);
	assert_int_equal(t, RR_NSEC3PARAM);
	assert_int_equal(rrtext_type_from_text("caa", &t), 0);
	assert_int_equal(t, RR_CAA);
	assert_int_equal(rrtext_type_from_text("TYPE65000", &t), 0);
	assert_int_equal(t, 65000);
	assert_int_equal(rrtext_type_from_text("type15", &t), 0);
	assert_int_equal(t, RR_MX);
	assert_int_equal(rrtext_type_from_text("TYPE65535", &t), 0);
	assert_int_equal(t, 65535);

	const char *bad[] = {"",       "FOO",     "A ",      " A",        "TYPE",
	                     "TYPE-1", "TYPE+1",  "TYPE1x",  "TYPE65536", "TYPE0000000001",
	                     "TYPE0",  "OPT",     "TSIG",    "TKEY",      "AXFR",
	                     "IXFR",   "ANY",     "MAILA",   "MAILB",     "*",
	                     "TYPE41", "TYPE249", "TYPE250", "TYPE255",   "TYPE128"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 7;
		if (rrtext_type_from_text(bad[i], &t) != TERN_EINVAL)
			fail_msg("type '%s' was accepted", bad[i]);
		assert_int_equal(t, 7);
	}
	assert_int_equal(rrtext_type_from_text(NULL, &t), TERN_EINVAL);
}

static void test_type_to_text(void **state)
{
	(void)state;
	char buf[RRTEXT_TYPE_MAXLEN];
	assert_int_equal(rrtext_type_to_text(RR_SVCB, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "SVCB");
	assert_int_equal(rrtext_type_to_text(65000, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "TYPE65000");
	assert_int_equal(rrtext_type_to_text(RR_NSEC3PARAM, buf, 5), TERN_ESPACE);
}

static void test_addresses_and_names(void **state)
{
	(void)state;
	same("A", "192.0.2.1");
	same("A", "0.0.0.0");
	roundtrip("AAAA", "2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	same("AAAA", "::ffff:192.0.2.1");
	roundtrip("NS", "ns1", "ns1.example.com.");
	same("NS", "ns.example.net.");
	roundtrip("CNAME", "@", "example.com.");
	roundtrip("CNAME", "Target.Sub", "Target.Sub.example.com.");
	roundtrip("DNAME", "other", "other.example.com.");
	same("DNAME", "example.net.");
	roundtrip("PTR", "host", "host.example.com.");
	same("PTR", "a\\.b.example.net.");
	/* Characters the master-file syntax gives a meaning are escaped in names. */
	roundtrip("CNAME", "\\$target", "\\$target.example.com.");
	same("CNAME", "a\\;b\\(c\\)d\\\"e\\\\f\\032g\\@h.example.net.");
	roundtrip("PTR", "\\# 7 01230378797a00", "\\035.xyz.");
	roundtrip("SOA", "ns1 hostmaster 2024010101 7200 3600 1209600 300",
	          "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300");
	same("SOA", "ns.example.net. h\\.master.example.net. 4294967295 0 1 2 3");
}

static void test_names_relative_to_origin(void **state)
{
	(void)state;
	/* Relative names resolve against the origin, not the owner. */
	uint8_t owner[NAME_MAXLEN], rd[512], want[NAME_MAXLEN];
	char err[256] = "";
	size_t len = 0;
	assert_true(name_from_text(owner, "a.b.example.com.", NULL) > 0);
	assert_int_equal(rrtext_rdata_from_text(origin, owner, RR_CNAME, "x", rd, sizeof(rd), &len, err, sizeof(err)),
	                 0);
	int n = name_from_text(want, "x.example.com.", NULL);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(rd, want, len);
	/* A NULL owner is the origin. */
	assert_int_equal(rrtext_rdata_from_text(origin, NULL, RR_MX, "5 @", rd, sizeof(rd), &len, err, sizeof(err)), 0);
	assert_int_equal(len, 2 + 13);
	assert_memory_equal(rd,
	                    "\x00\x05\x07"
	                    "example\x03"
	                    "com\x00",
	                    len);
	/* Owners and origins with characters the parser treats specially. */
	uint8_t odd[NAME_MAXLEN];
	assert_true(name_from_text(odd, "\\#.\\$x.\\;y.example.com.", NULL) > 0);
	assert_int_equal(rrtext_rdata_from_text(odd, odd, RR_NS, "ns", rd, sizeof(rd), &len, err, sizeof(err)), 0);
	assert_int_equal(len, 3 + 21);
	assert_memory_equal(rd,
	                    "\x02ns\x01#\x02$x\x02;y\x07"
	                    "example\x03"
	                    "com\x00",
	                    len);
	uint8_t other[NAME_MAXLEN];
	assert_true(name_from_text(other, "Example.ORG.", NULL) > 0);
	assert_int_equal(rrtext_rdata_from_text(other, NULL, RR_NS, "ns", rd, sizeof(rd), &len, err, sizeof(err)), 0);
	char out[256];
	assert_true(rrtext_rdata_to_text(RR_NS, rd, (uint16_t)len, out, sizeof(out)) > 0);
	assert_string_equal(out, "ns.Example.ORG.");
}

static void test_mx_srv_naptr_caa(void **state)
{
	(void)state;
	roundtrip("MX", "10 mail", "10 mail.example.com.");
	same("MX", "0 .");
	same("MX", "65535 mx.example.net.");
	roundtrip("SRV", "0 5 5060 sip", "0 5 5060 sip.example.com.");
	same("SRV", "0 0 0 .");
	roundtrip("NAPTR", "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp",
	          "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.");
	same("NAPTR", "100 50 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .");
	same("CAA", "0 issue \"letsencrypt.org\"");
	same("CAA", "128 tbs \"Unknown\"");
	same("CAA", "0 iodef \"mailto:security@example.com\"");
	same("CAA", "0 issue \";\"");
}

/* A string of n copies of c. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

static void test_txt(void **state)
{
	(void)state;
	same("TXT", "\"hello world\"");
	roundtrip("TXT", "hello", "\"hello\"");
	roundtrip("TXT", "a b c", "\"a\" \"b\" \"c\"");
	same("TXT", "\"v=spf1 mx -all\" \"second\" \"\"");
	same("TXT", "\"quote \\\" inside\"");
	same("TXT", "\"back\\\\slash\"");
	same("TXT", "\"semi;colon (paren) $dollar @at\"");
	roundtrip("TXT", "unquoted\\;semi", "\"unquoted;semi\"");
	roundtrip("TXT", "\"\\000\\255\\009\"", "\"\\000\\255\\009\"");
	roundtrip("TXT", "\"caf\\195\\169\"", "\"caf\\195\\169\"");
	roundtrip("TXT", "\"tab\there\"", "\"tab\\009here\"");

	/* 255-character strings are the most one string holds; several make a long record. */
	char *x = repeat('x', 255), *y = repeat('y', 255), *big = repeat('z', 256);
	char text[1024], want[1024];
	snprintf(text, sizeof(text), "\"%s\"", x);
	same("TXT", text);
	snprintf(text, sizeof(text), "%s \"%s\" \"end\"", x, y);
	snprintf(want, sizeof(want), "\"%s\" \"%s\" \"end\"", x, y);
	roundtrip("TXT", text, want);
	uint8_t rd[1024];
	assert_int_equal(parse_ok("TXT", want, rd, sizeof(rd)), 256 + 256 + 4);
	/* libzscanner splits a longer string into strings of 255. */
	snprintf(text, sizeof(text), "\"%s\"", big);
	snprintf(want, sizeof(want), "\"%s\" \"z\"", big + 1);
	roundtrip("TXT", text, want);
	free(x);
	free(y);
	free(big);
}

static void test_dnssec_types(void **state)
{
	(void)state;
	same("DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118");
	roundtrip("DS", "60485 8 2 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a",
	          "60485 8 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A");
	same("DNSKEY",
	     "257 3 8 AwEAAagAIKlVZrpC6Ia7gEzahOR+9W29euxhJhVVLOyQbSEW0O8gcCjFFVQUTf6v58fLjwBd0YI0EzrAcQqBGCzh/"
	     "RStIoO8g0NfnfL2MTJRkxoXbfDaUeVPQuYEhg37NZWAJQ9VnMVDxP/VHL496M/QZxkjf5/"
	     "Efucp2gaDX6RS6CXpoY68LsvPVjR0ZSwzz1apAzvN9dlzEheX7ICJBBtuA6G3LQpzW5hOA2hzCTMjJPJ8LbqF6dsV6DoBQzgul0sGIcGO"
	     "Yl7OyQdXfZ57relSQageu+ipAdTTJ25AsRTAoub8ONGcLmqrAmRLKBP1dfwhYB4N7knNnulqQxA+Uk1ihz0=");
	same("DNSKEY",
	     "256 3 13 oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA==");
	same("RRSIG", "A 8 3 3600 20250101000000 20241201000000 12345 example.com. "
	              "oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA==");
	/* Timestamps are serial numbers: the whole 32-bit range comes back the same. */
	roundtrip("RRSIG", "TYPE65000 13 2 300 4294967295 0 1 . AAAA",
	          "TYPE65000 13 2 300 21060207062815 21060207062816 1 . AAAA");
	roundtrip("RRSIG", "NS 13 2 300 2147483648 2147483647 1 example.com. AAAA",
	          "NS 13 2 300 20380119031408 20380119031407 1 example.com. AAAA");
	roundtrip("NSEC", "next A MX RRSIG NSEC TYPE65000", "next.example.com. A MX RRSIG NSEC TYPE65000");
	same("NSEC", "example.com. NS SOA RRSIG NSEC DNSKEY CAA");
	roundtrip("NSEC3", "1 1 10 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG",
	          "1 1 10 AABBCCDD 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG");
	same("NSEC3", "1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s");
	same("NSEC3PARAM", "1 0 0 -");
	same("NSEC3PARAM", "1 0 10 AABBCCDD");
	same("TLSA", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6");
	same("SSHFP", "2 1 123456789ABCDEF67890123456789ABCDEF67890");
}

static void test_svcb_https(void **state)
{
	(void)state;
	same("HTTPS", "1 . alpn=h2,h3");
	same("HTTPS", "0 svc.example.net.");
	/* Keys come back in wire order (sorted), mandatory first. */
	roundtrip(
	    "HTTPS",
	    "1 . alpn=h2,h3 ech=AEj+DQBEAQAgACBmHLb5ZS9nZJnT7dGCVhE+3mHzMIrwCT7ogvKDjxfALAAEAAEAAQAAAAA= port=443 "
	    "ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1 mandatory=alpn,port",
	    "1 . mandatory=alpn,port alpn=h2,h3 port=443 ipv4hint=192.0.2.1,192.0.2.2 "
	    "ech=AEj+DQBEAQAgACBmHLb5ZS9nZJnT7dGCVhE+3mHzMIrwCT7ogvKDjxfALAAEAAEAAQAAAAA= ipv6hint=2001:db8::1");
	roundtrip("SVCB", "1 svc alpn=h2 port=8443 no-default-alpn",
	          "1 svc.example.com. alpn=h2 no-default-alpn port=8443");
	roundtrip("SVCB", "16 foo.example.org. key65000=abc key7=x", "16 foo.example.org. key7=\"x\" key65000=\"abc\"");
	roundtrip("SVCB", "1 . key65333", "1 . key65333");
	roundtrip("HTTPS", "1 . alpn=\"h2,h3\" port=\"443\"", "1 . alpn=h2,h3 port=443");
	parse_fails("HTTPS", "1 . alpn=h2 alpn=h3", 1024, TERN_EINVAL, "bad RDATA for HTTPS: ");
	parse_fails("HTTPS", "1 . port=70000", 1024, TERN_EINVAL, "bad RDATA for HTTPS: ");
}

static void test_generic(void **state)
{
	(void)state;
	same("TYPE65000", "\\# 4 0A000001");
	roundtrip("TYPE65000", "\\# 4 0a000001", "\\# 4 0A000001");
	same("TYPE65000", "\\# 0");
	roundtrip("TYPE65000", "\\# 6 0a00 0001 ffff", "\\# 6 0A000001FFFF");
	/* Generic data for a known type comes back in its usual form. */
	roundtrip("A", "\\# 4 c0000201", "192.0.2.1");
	roundtrip("MX", "\\# 3 000a00", "10 .");
	roundtrip("TYPE15", "10 mail", "10 mail.example.com.");
	parse_fails("TYPE65000", "\\# 4 0a00", 1024, TERN_EINVAL, "bad RDATA for TYPE65000: ");
	parse_fails("TYPE65000", "0a000001", 1024, TERN_EINVAL, "bad RDATA for TYPE65000: ");
	/* ... and must be well formed for it. */
	parse_fails("A", "\\# 3 c00002", 1024, TERN_EINVAL, "bad RDATA for A: ");
	parse_fails("MX", "\\# 4 000a0161", 1024, TERN_EINVAL, "bad RDATA for MX: ");

	/* Wire data without a text form for its type prints generically. */
	char out[64];
	assert_int_equal(rrtext_rdata_to_text(RR_A, (const uint8_t *)"\x01\x02\x03", 3, out, sizeof(out)), 11);
	assert_string_equal(out, "\\# 3 010203");
	assert_true(rrtext_rdata_to_text(RR_MX,
	                                 (const uint8_t *)"\x00\x0a\x03"
	                                                  "ab",
	                                 5, out, sizeof(out)) > 0);
	assert_string_equal(out, "\\# 5 000A036162");
}

static void test_more_types(void **state)
{
	(void)state;
	same("HINFO", "\"PC\" \"Linux\"");
	/* libknot pads some fields; one space between fields comes out. */
	roundtrip("LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
	          "52 22 23 N 4 53 32 E -2m 0m 10000m 10m");
	same("LOC", "1 2 3.456 S 100 0 0.001 W 12345.67m 1m 2m 3m");
	same("URI", "10 1 \"https://example.com/\"");
	same("CDS", "0 0 0 00");
	roundtrip("EUI48", "00-00-5e-00-53-2a", "00-00-5E-00-53-2A");
	roundtrip("RP", "hostmaster txt", "hostmaster.example.com. txt.example.com.");
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("A", "192.0.2.256", 1024, TERN_EINVAL, "bad RDATA for A: invalid IPv4 address");
	parse_fails("A", "192.0.2", 1024, TERN_EINVAL, "bad RDATA for A: ");
	parse_fails("A", "example.com.", 1024, TERN_EINVAL, "bad RDATA for A: ");
	parse_fails("AAAA", "192.0.2.1", 1024, TERN_EINVAL, "bad RDATA for AAAA: ");
	parse_fails("MX", "mail", 1024, TERN_EINVAL, "bad RDATA for MX: ");
	parse_fails("MX", "70000 mail", 1024, TERN_EINVAL, "bad RDATA for MX: ");
	parse_fails("TXT", "\"unterminated", 1024, TERN_EINVAL, "bad RDATA for TXT: ");
	parse_fails("DS", "1 2 3 xyz", 1024, TERN_EINVAL, "bad RDATA for DS: ");
	/* Empty text. */
	parse_fails("A", "", 1024, TERN_EINVAL, "empty");
	parse_fails("A", "  \t ", 1024, TERN_EINVAL, "empty");
	parse_fails("TXT", "", 1024, TERN_EINVAL, "empty");
	/* RDATA longer than the caller's buffer. */
	parse_fails("A", "192.0.2.1", 3, TERN_ESPACE, "4 bytes, more than the 3 allowed");
	parse_fails("TXT", "\"0123456789\"", 10, TERN_ESPACE, "more than the 10 allowed");
	uint8_t rd[4];
	size_t len = 0;
	assert_int_equal(rrtext_rdata_from_text(origin, www, RR_A, "192.0.2.1", rd, 4, &len, NULL, 0), 0);
	assert_int_equal(len, 4);
	/* Meta types hold no data. */
	char err[256];
	assert_int_equal(rrtext_rdata_from_text(origin, www, RR_ANY, "\\# 0", rd, 4, &len, err, sizeof(err)),
	                 TERN_EINVAL);
	assert_int_equal(rrtext_rdata_from_text(origin, www, RR_OPT, "\\# 0", rd, 4, &len, err, sizeof(err)),
	                 TERN_EINVAL);
	assert_int_equal(rrtext_rdata_from_text(origin, www, 0, "\\# 0", rd, 4, &len, err, sizeof(err)), TERN_EINVAL);
	/* Output that does not fit. */
	char out[8];
	assert_int_equal(rrtext_rdata_to_text(RR_A, (const uint8_t *)"\xc0\x00\x02\x01", 4, out, 9 - 1), TERN_ESPACE);
	assert_int_equal(rrtext_rdata_to_text(RR_A, (const uint8_t *)"\xc0\x00\x02\x01", 4, out, 0), TERN_ESPACE);
}

/* No text can make a second record, a directive, or change owner, TTL, class or type. */
static void test_injection(void **state)
{
	(void)state;
	parse_fails("A", "192.0.2.1\nevil 3600 IN A 192.0.2.2", 1024, TERN_EINVAL, "one line");
	parse_fails("A", "192.0.2.1\r", 1024, TERN_EINVAL, "one line");
	parse_fails("A", "192.0.2.1\n", 1024, TERN_EINVAL, "one line");
	parse_fails("TXT", "\"a\nb\"", 1024, TERN_EINVAL, "one line");
	parse_fails("TXT", "\"a\\\nb\"", 1024, TERN_EINVAL, "one line");
	parse_fails("A", "192.0.2.1\n$ORIGIN evil.", 1024, TERN_EINVAL, "one line");
	parse_fails("A", "192.0.2.1\n$INCLUDE /etc/passwd", 1024, TERN_EINVAL, "one line");
	parse_fails("TXT", "\"x\" \x7f", 1024, TERN_EINVAL, "one line");
	/* Grouping and comments outside quotes. */
	parse_fails("A", "( 192.0.2.1 )", 1024, TERN_EINVAL, "'('");
	parse_fails("TXT", "\"a\" ( \"b\"", 1024, TERN_EINVAL, "'('");
	parse_fails("TXT", "\"a\" ) evil A 192.0.2.2", 1024, TERN_EINVAL, "')'");
	parse_fails("A", "192.0.2.1 ; hidden", 1024, TERN_EINVAL, "';'");
	parse_fails("TXT", "one;two", 1024, TERN_EINVAL, "';'");
	parse_fails("TXT", "\"a\\\"\" ;x", 1024, TERN_EINVAL, "';'");
	/* Two records on one line are only more RDATA: refused for types with a fixed form. */
	parse_fails("A", "192.0.2.1 192.0.2.2", 1024, TERN_EINVAL, "bad RDATA for A: ");
	parse_fails("A", "192.0.2.1 www 3600 IN A 192.0.2.2", 1024, TERN_EINVAL, "bad RDATA for A: ");
	parse_fails("MX", "10 mail.example.com. 20 mx2.example.com.", 1024, TERN_EINVAL, "bad RDATA for MX: ");
	parse_fails("A", "$ORIGIN evil.", 1024, TERN_EINVAL, "bad RDATA for A: ");
	/* The same characters quoted or escaped are data. */
	roundtrip("TXT", "\"( ; )\"", "\"( ; )\"");
	roundtrip("TXT", "\\( \\; \\)", "\"(\" \";\" \")\"");
	roundtrip("TXT", "\"$ORIGIN evil.\"", "\"$ORIGIN evil.\"");
}

/* Collects exported text in memory. */
struct sink {
	char *buf;
	size_t len, cap;
	int fail_after; /* calls before failing; -1 = never */
};

static int sink_write(void *ctx, const char *buf, size_t len)
{
	struct sink *s = ctx;
	if (s->fail_after == 0)
		return TERN_EIO;
	if (s->fail_after > 0)
		s->fail_after--;
	if (s->len + len + 1 > s->cap) {
		s->cap = (s->len + len + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = 0;
	return 0;
}

static const char *rich_zone =
    "$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
    "@ NS ns1\n"
    "@ NS ns2.example.net.\n"
    "@ MX 10 mail\n"
    "@ MX 20 mx2.example.net.\n"
    "@ TXT \"v=spf1 mx -all\"\n"
    "@ TXT \"a\\\"b\" \"c;d\" \"\" \"\\255\\000(x)\"\n"
    "@ TXT %LONG%\n"
    "@ CAA 0 issue \"letsencrypt.org\"\n"
    "@ CAA 128 tbs \"Unknown\"\n"
    "@ DNSKEY 256 3 13 oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA==\n"
    "@ NSEC3PARAM 1 0 10 AABBCCDD\n"
    "@ RRSIG SOA 13 2 3600 20250101000000 20241201000000 12345 example.com. "
    "oJMRESz5E4gYzS/q6XDrvU1qMPYIjCWzJaOau8XNEZeqCYKD5ar0IRd8KqXXFJkqmVfRvMGPmM1x8fGAa2XhSA==\n"
    "@ HTTPS 1 . alpn=h2,h3 ech=AEj+DQBEAQAgACBmHLb5ZS9nZJnT7dGCVhE+3mHzMIrwCT7ogvKDjxfALAAEAAEAAQAAAAA= "
    "port=443 ipv4hint=192.0.2.1 ipv6hint=2001:db8::1 mandatory=alpn\n"
    "@ SSHFP 2 1 123456789ABCDEF67890123456789ABCDEF67890\n"
    "@ 300 TYPE65000 \\# 4 0a000001\n"
    "@ CDS 0 0 0 00\n"
    "ns1 A 192.0.2.1\n"
    "ns1 AAAA 2001:db8::1\n"
    "mail A 192.0.2.2\n"
    "www 600 CNAME @\n"
    "alias DNAME example.net.\n"
    "_sip._udp SRV 0 5 5060 sip\n"
    "sip A 192.0.2.3\n"
    "_443._tcp.www.sub2 TLSA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6\n"
    "naptr NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp\n"
    "naptr NAPTR 100 50 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" .\n"
    "ptr PTR host.example.net.\n"
    "*.wild A 192.0.2.9\n"
    "*.wild TXT \"wild\"\n"
    "sub NS ns.sub\n"
    "sub DS 60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A\n"
    "ns.sub A 192.0.2.10\n"
    "a.b.c.deep TXT \"empty non-terminals above\"\n"
    "UPPER.case A 192.0.2.11\n"
    "a\\.b TXT \"dotted label\"\n"
    "sp\\032ace TXT \"space in a label\"\n"
    "nsec NSEC www A MX RRSIG NSEC TYPE65000\n"
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr NSEC3 1 1 10 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG\n"
    "svc SVCB 1 svc-target alpn=h2 port=8443 key65000=abc\n"
    "svc0 SVCB 0 svc.example.net.\n"
    "svc-target A 192.0.2.20\n"
    "loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n"
    "hinfo HINFO \"PC\" \"Linux\"\n"
    "uri URI 10 1 \"https://example.com/\"\n"
    "eui EUI48 00-00-5e-00-53-2a\n"
    "eui EUI64 00-00-5e-ef-10-00-00-2a\n"
    "rp RP hostmaster txt\n"
    "afsdb AFSDB 1 afsdb-host\n"
    "dhcid DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=\n"
    "openpgp OPENPGPKEY mQENBFVHm5sBCADVTxDqBw==\n"
    "smimea SMIMEA 3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6\n"
    "csync CSYNC 66 3 A NS AAAA\n"
    "spf SPF \"v=spf1 -all\"\n"
    "ipseckey IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==\n"
    "kx KX 10 kx-host\n"
    "cert CERT PGP 0 0 mQENBFVHm5sBCADVTxDqBw==\n"
    "apl APL 1:192.168.32.0/21 !1:192.168.38.0/28\n"
    "nid NID 10 0014:4fff:ff20:ee64\n"
    "generic TYPE1234 \\# 0\n"
    "generic TYPE65534 \\# 3 abcdef\n";

/* The rich zone with one TXT of three strings, two of them 255 characters long. */
static char *rich_zone_text(void)
{
	char *x = repeat('x', 255), *y = repeat('y', 255);
	size_t cap = strlen(rich_zone) + 1024;
	char *text = malloc(cap), *long_txt = malloc(1024);
	assert_non_null(text);
	assert_non_null(long_txt);
	snprintf(long_txt, 1024, "\"%s\" %s \"end\"", x, y);
	const char *at = strstr(rich_zone, "%LONG%");
	snprintf(text, cap, "%.*s%s%s", (int)(at - rich_zone), rich_zone, long_txt, at + 6);
	free(x);
	free(y);
	free(long_txt);
	return text;
}

static struct zone *load(const char *text)
{
	struct zone *z = NULL;
	char err[4096] = "";
	int rc = zonefile_load_string(text, strlen(text), "test", origin, &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("loading failed (%d): %s\n%s", rc, err, text);
	return z;
}

/* Node by node and RRset by RRset. */
static void assert_zones_equal(const struct zone *a, const struct zone *b)
{
	assert_int_equal(a->apex_len, b->apex_len);
	assert_memory_equal(a->apex, b->apex, a->apex_len);
	assert_int_equal(a->serial, b->serial);
	assert_int_equal(a->nnodes, b->nnodes);
	assert_int_equal(a->nrecords, b->nrecords);
	const struct zone_node **as = NULL, **bs = NULL;
	size_t an = 0, bn = 0;
	assert_int_equal(zone_nodes_sorted(a, &as, &an), 0);
	assert_int_equal(zone_nodes_sorted(b, &bs, &bn), 0);
	assert_int_equal(an, a->nnodes);
	assert_int_equal(bn, an);
	for (size_t i = 0; i < an; i++) {
		const struct zone_node *na = as[i], *nb = bs[i];
		char name[1024];
		assert_true(name_to_text(na->owner, name, sizeof(name)) > 0);
		assert_int_equal(na->owner_len, nb->owner_len);
		if (memcmp(na->owner, nb->owner, na->owner_len) != 0)
			fail_msg("node %zu: %s differs", i, name);
		assert_int_equal(na->flags, nb->flags);
		assert_int_equal(na->labels, nb->labels);
		assert_int_equal(na->nrrsets, nb->nrrsets);
		assert_int_equal(na->hash, nb->hash);
		assert_int_equal(na->children, nb->children);
		assert_int_equal(na == a->apex_node, nb == b->apex_node);
		for (uint16_t j = 0; j < na->nrrsets; j++) {
			const struct rrset *ra = &na->rrsets[j], *rb = &nb->rrsets[j];
			assert_int_equal(ra->type, rb->type);
			if (ra->ttl != rb->ttl || ra->count != rb->count || ra->rdata_size != rb->rdata_size ||
			    memcmp(ra->rdata, rb->rdata, ra->rdata_size) != 0)
				fail_msg("%s type %u differs", name, ra->type);
			assert_int_equal(ra->dyn, rb->dyn);
		}
	}
	free(as);
	free(bs);
}

static void test_export_reloads_identical(void **state)
{
	(void)state;
	char *text = rich_zone_text();
	struct zone *z = load(text);
	struct sink out = {.fail_after = -1};
	char err[512] = "";
	int rc = rrtext_export_zone(z, sink_write, &out, err, sizeof(err));
	if (rc != 0)
		fail_msg("export failed (%d): %s", rc, err);
	assert_non_null(out.buf);

	/* SOA first; one record a line of five tab-separated fields; absolute owners; no directives. */
	const char *soa = "example.com.\t3600\tIN\tSOA\tns1.example.com. hostmaster.example.com. 2024010101 7200 ";
	assert_true(strncmp(out.buf, soa, strlen(soa)) == 0);
	size_t lines = 0;
	for (char *line = out.buf; *line; lines++) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		int tabs = 0;
		for (char *p = line; p < nl; p++)
			tabs += *p == '\t';
		assert_int_equal(tabs, 4);
		assert_true(line[0] != '$' && line[0] != ';');
		char *owner_end = strchr(line, '\t');
		assert_true(owner_end[-1] == '.');
		char *soa_at = strstr(line, "\tIN\tSOA\t");
		assert_true(soa_at == NULL || soa_at > nl || line == out.buf);
		line = nl + 1;
	}
	assert_int_equal(lines, z->nrecords);
	/* What the exporter chose to write in spots worth seeing. */
	assert_non_null(strstr(out.buf, "\nexample.com.\t300\tIN\tTYPE65000\t\\# 4 0A000001\n"));
	assert_non_null(strstr(out.buf, "\nwww.example.com.\t600\tIN\tCNAME\texample.com.\n"));
	assert_non_null(strstr(out.buf, "\nupper.case.example.com.\t3600\tIN\tA\t192.0.2.11\n"));
	assert_non_null(strstr(out.buf, "\na\\.b.example.com.\t3600\tIN\tTXT\t\"dotted label\"\n"));
	assert_non_null(strstr(out.buf, "\nsp\\032ace.example.com.\t3600\tIN\tTXT\t\"space in a label\"\n"));
	assert_non_null(strstr(out.buf, "\n*.wild.example.com.\t3600\tIN\tA\t192.0.2.9\n"));
	assert_non_null(strstr(out.buf, "\napl.example.com.\t3600\tIN\tTYPE42\t\\# "));
	assert_non_null(strstr(out.buf, "\nnid.example.com.\t3600\tIN\tTYPE104\t\\# 10 000A00144FFFFF20EE64\n"));
	assert_non_null(strstr(out.buf, "\ngeneric.example.com.\t3600\tIN\tTYPE1234\t\\# 0\n"));
	assert_non_null(strstr(out.buf, "\tIN\tHTTPS\t1 . mandatory=alpn alpn=h2,h3 port=443 ipv4hint=192.0.2.1 ech="));
	assert_non_null(strstr(out.buf, "\tIN\tTXT\t\"a\\\"b\" \"c;d\" \"\" \"\\255\\000(x)\"\n"));
	/* The zone loads back the same, and exports to the same text. */
	struct zone *back = load(out.buf);
	assert_zones_equal(z, back);
	struct sink again = {.fail_after = -1};
	assert_int_equal(rrtext_export_zone(back, sink_write, &again, err, sizeof(err)), 0);
	assert_string_equal(again.buf, out.buf);

	/* Canonical order after the SOA: the apex, then names in RFC 4034 order. */
	const char *order[] = {"\nexample.com.\t3600\tIN\tNS\t",
	                       "\n2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.com.",
	                       "\n_sip._udp.example.com.",
	                       "\na\\.b.example.com.",
	                       "\nafsdb.example.com.",
	                       "\nupper.case.example.com.",
	                       "\na.b.c.deep.example.com.",
	                       "\nsp\\032ace.example.com.",
	                       "\nsub.example.com.\t3600\tIN\tNS\t",
	                       "\nsub.example.com.\t3600\tIN\tDS\t",
	                       "\nns.sub.example.com.",
	                       "\n_443._tcp.www.sub2.example.com.",
	                       "\n*.wild.example.com.",
	                       "\n*.wild.example.com.\t3600\tIN\tTXT",
	                       "\nwww.example.com."};
	const char *prev = out.buf;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *at = strstr(out.buf, order[i]);
		if (!at || at <= prev)
			fail_msg("'%s' is not in canonical order", order[i] + 1);
		prev = at;
	}
	free(again.buf);
	free(out.buf);
	zone_free(back);
	zone_free(z);
	free(text);
}

static void test_export_file_and_errors(void **state)
{
	(void)state;
	struct zone *z = load("@ 3600 IN SOA ns hm 1 2 3 4 5\n@ 3600 IN NS ns\nns 3600 IN A 192.0.2.1\n");
	char err[512] = "";
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	assert_non_null(f);
	assert_int_equal(rrtext_export_zone_file(z, f, err, sizeof(err)), 0);
	fclose(f);
	assert_string_equal(mem, "example.com.\t3600\tIN\tSOA\tns.example.com. hm.example.com. 1 2 3 4 5\n"
	                         "example.com.\t3600\tIN\tNS\tns.example.com.\n"
	                         "ns.example.com.\t3600\tIN\tA\t192.0.2.1\n");
	free(mem);
	/* The same text into memory. */
	char *text = NULL;
	size_t textlen = 0;
	assert_int_equal(rrtext_export_zone_text(z, &text, &textlen, err, sizeof(err)), 0);
	assert_non_null(text);
	assert_int_equal(textlen, strlen(text));
	assert_string_equal(text, "example.com.\t3600\tIN\tSOA\tns.example.com. hm.example.com. 1 2 3 4 5\n"
	                          "example.com.\t3600\tIN\tNS\tns.example.com.\n"
	                          "ns.example.com.\t3600\tIN\tA\t192.0.2.1\n");
	free(text);

	/* A writer's error stops the export and comes back. */
	struct sink out = {.fail_after = 1};
	assert_int_equal(rrtext_export_zone(z, sink_write, &out, err, sizeof(err)), TERN_EIO);
	assert_non_null(strstr(err, "cannot write example.com. NS"));
	free(out.buf);

	zone_free(z);

	/* DYN resources: their records (TYPE65301, read back the same), or in a plain export a comment
	 * and their default answer as fixed records */
	z = load("@ 3600 IN SOA ns hm 1 2 3 4 5\n@ 3600 IN NS ns\nns 3600 IN A 192.0.2.1\n"
	         "www 60 IN DYN pool w 192.0.2.7 weight 9 2001:db8::7\nwww 60 IN DYN pool e 192.0.2.8\n"
	         "www 60 IN DYN answer w e\nwww 60 IN DYN geo 10.0.0.0/8 e\n");
	assert_int_equal(rrtext_export_zone_text(z, &text, &textlen, err, sizeof(err)), 0);
	assert_non_null(strstr(text, "www.example.com.\t60\tIN\tTYPE65301\t\\# "));
	struct zone *back = load(text);
	char *again = NULL;
	size_t againlen = 0;
	assert_int_equal(rrtext_export_zone_text(back, &again, &againlen, err, sizeof(err)), 0);
	assert_string_equal(again, text);
	free(again);
	free(text);
	zone_free(back);
	assert_int_equal(rrtext_export_zone_text_as(z, RRTEXT_EXPORT_PLAIN, &text, &textlen, err, sizeof(err)), 0);
	assert_null(strstr(text, "TYPE65301"));
	assert_non_null(strstr(text,
	                       "; www.example.com. is a dynamic resource (DYN, 4 statements): its default answer\n"
	                       "www.example.com.\t60\tIN\tA\t192.0.2.7\n"
	                       "www.example.com.\t60\tIN\tAAAA\t2001:db8::7\n"));
	assert_null(strstr(text, "192.0.2.8"));
	free(text);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_from_text),
	    cmocka_unit_test(test_type_to_text),
	    cmocka_unit_test(test_addresses_and_names),
	    cmocka_unit_test(test_names_relative_to_origin),
	    cmocka_unit_test(test_mx_srv_naptr_caa),
	    cmocka_unit_test(test_txt),
	    cmocka_unit_test(test_dnssec_types),
	    cmocka_unit_test(test_svcb_https),
	    cmocka_unit_test(test_generic),
	    cmocka_unit_test(test_more_types),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_injection),
	    cmocka_unit_test(test_export_reloads_identical),
	    cmocka_unit_test(test_export_file_and_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
