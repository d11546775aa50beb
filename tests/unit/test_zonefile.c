/* Unit tests for lib/zonefile: loading zone text and files (tests/unit/data/) through libzscanner,
 * the RDATA it produces per type, and the "source:line: message" error reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libzscanner/error.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

static uint8_t apex[NAME_MAXLEN];

static const uint8_t *apex_of(const char *text)
{
	assert_true(name_from_text(apex, text, NULL) > 0);
	return apex;
}

static struct zone *load_file_ok(const char *path, const char *origin)
{
	struct zone *z = NULL;
	char err[2048] = "";
	int rc = zonefile_load(path, apex_of(origin), &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("loading %s failed (%d): %s", path, rc, err);
	assert_non_null(z);
	return z;
}

static struct zone *load_ok(const char *text, const char *origin)
{
	struct zone *z = NULL;
	char err[2048] = "";
	int rc = zonefile_load_string(text, strlen(text), "text", apex_of(origin), &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("loading failed (%d): %s", rc, err);
	assert_non_null(z);
	return z;
}

/* Loads text that must fail; returns rc, message in err. */
static int load_fail(const char *text, const char *source, char *err, size_t errlen)
{
	struct zone *z = NULL;
	int rc = zonefile_load_string(text, strlen(text), source, apex_of("example.com."), &z, err, errlen);
	assert_true(rc < 0);
	assert_null(z);
	return rc;
}

static void expect_in(const char *err, const char *want)
{
	if (!strstr(err, want))
		fail_msg("expected \"%s\" in \"%s\"", want, err);
}

static int count_lines(const char *s)
{
	int n = *s ? 1 : 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const struct zone_node *node(const struct zone *z, const char *text)
{
	uint8_t n[NAME_MAXLEN];
	int len = name_from_text(n, text, z->apex);
	assert_true(len > 0);
	name_lower(n);
	const struct zone_node *nd = zone_find(z, n, (size_t)len);
	if (!nd)
		fail_msg("no node %s", text);
	return nd;
}

static const struct rrset *rrset(const struct zone *z, const char *owner, uint16_t type)
{
	const struct rrset *s = zone_node_rrset(node(z, owner), type);
	if (!s) {
		char tb[16];
		fail_msg("no %s RRset at %s", rr_type_name(type, tb), owner);
	}
	return s;
}

/* The RRset holds exactly one record with these bytes. */
static void expect_single(const struct zone *z, const char *owner, uint16_t type, const void *want, size_t len)
{
	const struct rrset *s = rrset(z, owner, type);
	assert_int_equal(s->count, 1);
	assert_int_equal(rdata_len(s->rdata), len);
	assert_memory_equal(rdata_bytes(s->rdata), want, len);
}

/* The first record of the RRset starts with these bytes. */
static void expect_prefix(const struct zone *z, const char *owner, uint16_t type, const void *want, size_t len)
{
	const struct rrset *s = rrset(z, owner, type);
	assert_true(rdata_len(s->rdata) >= len);
	assert_memory_equal(rdata_bytes(s->rdata), want, len);
}

/* ---- every type ---- */

static void test_all_types_file(void **state)
{
	(void)state;
	struct zone *z = load_file_ok("data/example.com.zone", "example.com.");
	assert_int_equal(z->serial, 2024010101);
	assert_int_equal(zone_negative_ttl(z), 300);
	const uint16_t apex_types[] = {RR_SOA,  RR_NS,     RR_MX,         RR_TXT,   RR_NAPTR, RR_RRSIG,
	                               RR_NSEC, RR_DNSKEY, RR_NSEC3PARAM, RR_HTTPS, RR_CAA};
	for (size_t i = 0; i < sizeof(apex_types) / sizeof(apex_types[0]); i++)
		assert_non_null(zone_node_rrset(z->apex_node, apex_types[i]));
	assert_int_equal(z->apex_node->nrrsets, sizeof(apex_types) / sizeof(apex_types[0]));
	assert_int_equal(rrset(z, "@", RR_NS)->count, 2);

	/* A, AAAA and TTLs */
	expect_single(z, "ns1", RR_A, "\xc0\x00\x02\x01", 4);
	expect_single(z, "ns1", RR_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	expect_single(z, "www", RR_A, "\xc0\x00\x02\x0a", 4);
	assert_int_equal(rrset(z, "www", RR_A)->ttl, 300);
	assert_int_equal(rrset(z, "ns1", RR_A)->ttl, 3600);
	assert_int_equal(rrset(z, "www", RR_SSHFP)->ttl, 3600); /* $TTL, not the previous record's */
	/* names, uncompressed and expanded against the origin */
	expect_single(z, "alias", RR_CNAME, "\3www\7example\3com", 17);
	expect_single(z, "moved", RR_DNAME, "\7example\3net", 13);
	expect_single(z, "ptr", RR_PTR, "\3www\7example\3com", 17);
	expect_single(z, "@", RR_MX, "\0\x0a\4mail\7example\3com", 20);
	expect_single(z, "_sip._tcp", RR_SRV, "\0\0\0\5\x13\xc4\3sip\7example\3com", 23);
	expect_single(z, "@", RR_TXT, "\x0bv=spf1 -all\x0dsecond string", 26);
	expect_single(z, "@", RR_CAA, "\0\5issueca.example.net", 21);
	expect_single(
	    z, "sub", RR_DS,
	    "\xec\x45\x05\x01\x2b\xb1\x83\xaf\x5f\x22\x58\x81\x79\xa5\x3b\x0a\x98\x63\x1f\xad\x1a\x29\x21\x18", 24);
	expect_single(z, "@", RR_NSEC3PARAM, "\1\0\0\x0a\4\xaa\xbb\xcc\xdd", 9);
	expect_single(z, "@", RR_HTTPS, "\0\1\0\0\1\0\6\2h2\2h3", 13);
	expect_single(z, "svc", RR_SVCB,
	              "\0\1\13svc-backend\7example\3net\0"
	              "\0\1\0\3\2h2\0\3\0\2\x20\xfb",
	              2 + 25 + 7 + 6);
	expect_single(z, "unk", 65000, "\x0a\0\0\1", 4);
	expect_single(z, "www", RR_SSHFP,
	              "\1\1\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67", 22);
	expect_prefix(z, "_443._tcp.www", RR_TLSA, "\3\1\1\x01\x23\x45\x67\x89\xab\xcd\xef", 11);
	assert_int_equal(rdata_len(rrset(z, "_443._tcp.www", RR_TLSA)->rdata), 3 + 32);
	expect_prefix(z, "@", RR_NAPTR, "\0\x64\0\x0a\1u\7E2U+sip", 14);
	expect_prefix(z, "@", RR_DNSKEY, "\1\0\3\x08\3\1\0\1", 8);
	expect_prefix(z, "@", RR_RRSIG, "\0\6\x08\2\0\0\x0e\x10", 8);
	expect_prefix(z, "@", RR_NSEC, "\5alias\7example\3com\0", 19);
	expect_prefix(z, "2vptu5timamqttgl4luu9kg21e0aor3s", RR_NSEC3, "\1\0\0\x0a\4\xaa\xbb\xcc\xdd\x14", 10);
	/* the NAPTR replacement is the root, last octet */
	const struct rrset *naptr = rrset(z, "@", RR_NAPTR);
	assert_int_equal(rdata_bytes(naptr->rdata)[rdata_len(naptr->rdata) - 1], 0);

	/* flags */
	assert_true(node(z, "sub")->flags & NODE_DELEG);
	assert_false(node(z, "ns.sub")->flags & NODE_DELEG);
	assert_true(node(z, "alias")->flags & NODE_CNAME);
	assert_true(node(z, "moved")->flags & NODE_DNAME);
	assert_true(node(z, "_tcp")->flags & NODE_ENT);
	assert_true(node(z, "_tcp.www")->flags & NODE_ENT);
	/* apex ns1 www _tcp.www _443._tcp.www alias moved mail _tcp _sip._tcp sip ptr sub ns.sub
	 * <nsec3 hash> svc unk */
	assert_int_equal(z->nnodes, 17);
	zone_free(z);
}

static void test_all_types_string(void **state)
{
	(void)state;
	/* the same file read into memory and loaded as a string gives the same zone */
	FILE *f = fopen("data/example.com.zone", "rb");
	assert_non_null(f);
	static char text[16384];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	struct zone *a = load_ok(text, "example.com.");
	struct zone *b = load_file_ok("data/example.com.zone", "example.com.");
	assert_int_equal(a->nnodes, b->nnodes);
	assert_int_equal(a->nrecords, b->nrecords);
	const struct zone_node **na, **nb;
	size_t ca, cb;
	assert_int_equal(zone_nodes_sorted(a, &na, &ca), 0);
	assert_int_equal(zone_nodes_sorted(b, &nb, &cb), 0);
	assert_int_equal(ca, cb);
	for (size_t i = 0; i < ca; i++) {
		const struct zone_node *x = na[i], *y = nb[i];
		assert_int_equal(x->owner_len, y->owner_len);
		assert_memory_equal(x->owner, y->owner, x->owner_len);
		assert_int_equal(x->nrrsets, y->nrrsets);
		assert_int_equal(x->flags, y->flags);
		for (uint16_t k = 0; k < x->nrrsets; k++) {
			assert_int_equal(x->rrsets[k].type, y->rrsets[k].type);
			assert_int_equal(x->rrsets[k].ttl, y->rrsets[k].ttl);
			assert_int_equal(x->rrsets[k].rdata_size, y->rrsets[k].rdata_size);
			assert_memory_equal(x->rrsets[k].rdata, y->rrsets[k].rdata, x->rrsets[k].rdata_size);
		}
	}
	free(na);
	free(nb);
	zone_free(a);
	zone_free(b);
}

/* ---- directives and relative names ---- */

static void test_origin_ttl_relative(void **state)
{
	(void)state;
	const char *text = "$TTL 60\n"
	                   "@ SOA ns1 hostmaster 5 7200 900 1209600 86400\n"
	                   "  NS ns1\n"
	                   "ns1 A 192.0.2.1\n"
	                   "$ORIGIN sub.example.com.\n"
	                   "www A 192.0.2.2\n"
	                   "$TTL 120\n"
	                   "ftp A 192.0.2.3\n"
	                   "    CNAME www\n"
	                   "@ MX 5 mx\n"
	                   "$ORIGIN example.com.\n"
	                   "x 30 A 192.0.2.4\n"
	                   "y.example.com. A 192.0.2.5\n"
	                   "z 1h TXT \"t\"\n";
	struct zone *z = NULL;
	char err[1024] = "";
	int rc = zonefile_load_string(text, strlen(text), "rel", apex_of("example.com."), &z, err, sizeof(err));
	/* ftp has A and CNAME: the zone is refused, on ftp's CNAME line */
	assert_int_equal(rc, TERN_EZONE);
	expect_in(err, "rel:9: CNAME beside other data at ftp.sub.example.com.");

	text = "$TTL 60\n"
	       "@ SOA ns1 hostmaster 5 7200 900 1209600 86400\n"
	       "  NS ns1\n"
	       "ns1 A 192.0.2.1\n"
	       "$ORIGIN sub.example.com.\n"
	       "www A 192.0.2.2\n"
	       "$TTL 120\n"
	       "ftp A 192.0.2.3\n"
	       "@ MX 5 mx\n"
	       "$ORIGIN example.com.\n"
	       "x 30 A 192.0.2.4\n"
	       "y.example.com. A 192.0.2.5\n"
	       "z 1h TXT \"t\"\n";
	z = load_ok(text, "example.com.");
	assert_int_equal(zone_negative_ttl(z), 60);
	assert_int_equal(z->serial, 5);
	assert_int_equal(rrset(z, "ns1", RR_A)->ttl, 60);
	assert_int_equal(rrset(z, "www.sub", RR_A)->ttl, 60);
	assert_int_equal(rrset(z, "ftp.sub", RR_A)->ttl, 120);
	assert_int_equal(rrset(z, "x", RR_A)->ttl, 30);
	assert_int_equal(rrset(z, "z", RR_TXT)->ttl, 3600);
	expect_single(z, "sub", RR_MX, "\0\5\2mx\3sub\7example\3com", 22);
	expect_single(z, "y", RR_A, "\xc0\0\2\5", 4);
	assert_false(node(z, "sub")->flags & NODE_ENT); /* it holds the MX */
	zone_free(z);
}

static void test_default_origin_is_apex(void **state)
{
	(void)state;
	/* no $ORIGIN and no $TTL: names are relative to the apex given, TTL defaults to 3600 */
	const char *text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "@ NS ns1\n"
	                   "ns1 A 192.0.2.1\n";
	struct zone *z = load_ok(text, "Example.NET.");
	assert_memory_equal(z->apex, "\7example\3net", 13);
	assert_int_equal(rrset(z, "ns1", RR_A)->ttl, 3600);
	expect_single(z, "@", RR_NS, "\3ns1\7Example\3NET", 17);
	zone_free(z);
}

static void test_length_respected(void **state)
{
	(void)state;
	/* only len octets are read: the garbage after them is never seen */
	const char *text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "@ NS ns1\n"
	                   "GARBAGE here ((( \n";
	struct zone *z = NULL;
	char err[512] = "";
	size_t len = strstr(text, "GARBAGE") - text;
	int rc = zonefile_load_string(text, len, "cut", apex_of("example.com."), &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("%s", err);
	assert_non_null(z);
	zone_free(z);
}

/* ---- errors ---- */

static void test_syntax_error_file(void **state)
{
	(void)state;
	struct zone *z = NULL;
	char err[1024] = "", want[256];
	int rc = zonefile_load("data/syntax.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	snprintf(want, sizeof(want), "data/syntax.zone:6: %s", zs_strerror(ZS_BAD_IPV4));
	assert_string_equal(err, want);
}

static void test_syntax_errors_string(void **state)
{
	(void)state;
	const char *text = "$TTL 3600\n"
	                   "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "@ NS ns1\n"
	                   "ns1 A 192.0.2.1\n"
	                   "www AAAA 2001:db8::zz\n"
	                   "ok A 192.0.2.2\n"
	                   "mx MX 10\n"
	                   "t TYPEX 1\n";
	char err[2048] = "", want[256];
	assert_int_equal(load_fail(text, "inline.zone", err, sizeof(err)), TERN_EZONE);
	snprintf(want, sizeof(want), "inline.zone:5: %s", zs_strerror(ZS_BAD_ADDRESS_CHAR));
	expect_in(err, want);
	expect_in(err, "inline.zone:7: ");
	expect_in(err, "inline.zone:8: ");
	assert_int_equal(count_lines(err), 3);
	/* each line is "source:line: message" with a zscanner message */
	const char *l = err;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(strncmp(l, "inline.zone:", 12), 0);
		const char *colon = strchr(l + 12, ':');
		assert_non_null(colon);
		assert_int_equal(colon[1], ' ');
		assert_true(colon[2] != '\n' && colon[2] != 0);
		l = strchr(l, '\n');
		if (l)
			l++;
	}
}

static void test_syntax_error_messages(void **state)
{
	(void)state;
	const struct {
		const char *text;
		int code;
	} cases[] = {
	    {"$TTL abc\n", ZS_BAD_NUMBER},
	    {"www A 192.0.2\n", ZS_BAD_IPV4},
	    {"www IN A 192.0.2.1 extra\n", ZS_BAD_REST},
	    {"www TXT \"unterminated\n", ZS_BAD_TEXT_CHAR},
	    {"www SVCB 1 . alpn=h2 alpn=h3\n", ZS_DUPLICATE_SVCB_KEY},
	    {"www MX 70000 mail\n", ZS_NUMBER16_OVERFLOW},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], err[1024] = "", want[256];
		snprintf(text, sizeof(text), "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n%s",
		         cases[i].text);
		load_fail(text, "s", err, sizeof(err));
		snprintf(want, sizeof(want), "s:3: %s", zs_strerror(cases[i].code));
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: expected \"%s\", got \"%s\"", i, want, err);
	}
}

static void test_error_cap(void **state)
{
	(void)state;
	/* many bad lines: the report stops at 20 */
	static char text[8192];
	size_t o = (size_t)snprintf(text, sizeof(text), "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\n");
	for (int i = 0; i < 50; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "h%d A 300.0.0.%d\n", i, i);
	char err[8192] = "";
	assert_int_equal(load_fail(text, "many", err, sizeof(err)), TERN_EZONE);
	assert_int_equal(count_lines(err), 20);
	expect_in(err, "many:3: ");
	expect_in(err, "many:22: ");
	assert_null(strstr(err, "many:23: "));
	/* a small buffer stays terminated */
	char small[50];
	memset(small, 'Z', sizeof(small));
	load_fail(text, "many", small, sizeof(small));
	assert_non_null(memchr(small, 0, sizeof(small)));
	assert_int_equal(strncmp(small, "many:3: ", 8), 0);
}

static void test_class_not_in(void **state)
{
	(void)state;
	/* zscanner itself refuses classes other than IN */
	const char *text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "@ NS ns1\n"
	                   "version CH TXT \"1.0\"\n";
	char err[512] = "", want[256];
	assert_int_equal(load_fail(text, "ch", err, sizeof(err)), TERN_EZONE);
	snprintf(want, sizeof(want), "ch:3: %s", zs_strerror(ZS_UNSUPPORTED_TYPE));
	assert_string_equal(err, want);
}

static void test_zone_errors_through_file(void **state)
{
	(void)state;
	struct zone *z = NULL;
	char err[1024] = "";
	int rc = zonefile_load("data/cname-conflict.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	assert_string_equal(err, "data/cname-conflict.zone:7: CNAME beside other data at www.example.com.");
}

static void test_zone_errors_through_string(void **state)
{
	(void)state;
	const char *text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "www.example.org. A 192.0.2.1\n"
	                   "@ NS ns1\n"
	                   "any TYPE255 \\# 0\n"
	                   "opt TYPE41 \\# 0\n"
	                   "bad TYPE1 \\# 3 010203\n";
	char err[1024] = "";
	assert_int_equal(load_fail(text, "z", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "z:2: out-of-zone data: www.example.org. is not in zone example.com.");
	expect_in(err, "z:4: type ANY cannot appear in a zone");
	expect_in(err, "z:5: type OPT cannot appear in a zone");
	expect_in(err, "z:6: bad RDATA for A record at bad.example.com.");
	assert_int_equal(count_lines(err), 4);

	text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	       "www A 192.0.2.1\n";
	assert_int_equal(load_fail(text, "nons", err, sizeof(err)), TERN_EZONE);
	assert_string_equal(err, "nons:1: no NS records at the zone apex");

	/* a second SOA, spread over several lines */
	text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	       "@ NS ns1\n"
	       "@ SOA ns1 hostmaster (\n"
	       "      2 7200 900 1209600 300 )\n";
	assert_int_equal(load_fail(text, "soa", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "more than one SOA record at the apex example.com.");
	assert_int_equal(strncmp(err, "soa:", 4), 0);
}

static void test_other_origin(void **state)
{
	(void)state;
	/* records for another zone entirely */
	const char *text = "$ORIGIN example.org.\n"
	                   "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "@ NS ns1\n";
	char err[1024] = "";
	assert_int_equal(load_fail(text, "other", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "other:2: out-of-zone data: example.org. is not in zone example.com.");
	expect_in(err, "other:3: out-of-zone data");
}

static void test_missing_file(void **state)
{
	(void)state;
	struct zone *z = NULL;
	char err[1024] = "";
	int rc = zonefile_load("data/does-not-exist.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EIO);
	assert_null(z);
	expect_in(err, "data/does-not-exist.zone");
	assert_int_equal(strncmp(err, "data/does-not-exist.zone: ", 26), 0);
	/* a directory is no zone file either */
	rc = zonefile_load("data", apex_of("example.com."), &z, err, sizeof(err));
	assert_true(rc < 0);
	assert_null(z);
	expect_in(err, "data");
}

static void test_include(void **state)
{
	(void)state;
	/* an included file is found next to the including one */
	struct zone *z = load_file_ok("data/include-main.zone", "example.com.");
	expect_single(z, "www", RR_A, "\xc0\0\2\2", 4);
	expect_single(z, "mail", RR_A, "\xc0\0\2\3", 4);
	expect_single(z, "ns1", RR_A, "\xc0\0\2\1", 4);
	zone_free(z);
}

static void test_include_error_names_included_file(void **state)
{
	(void)state;
	/* a syntax error on line 2 of the included file is reported against that file, not as
	 * line 2 of the including one (which is a comment) */
	struct zone *z = NULL;
	char err[1024] = "", want[256];
	int rc = zonefile_load("data/include-bad-main.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	snprintf(want, sizeof(want), "include-bad.zone:2: %s", zs_strerror(ZS_BAD_IPV4));
	expect_in(err, want);
	if (strstr(err, "include-bad-main.zone:2:"))
		fail_msg("error attributed to the including file: %s", err);
}

static void test_include_zone_error_names_included_file(void **state)
{
	(void)state;
	/* a zone rule broken by a record from an included file (line 2 there) names that file too */
	struct zone *z = NULL;
	char err[1024] = "";
	int rc = zonefile_load("data/include-outside-main.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	expect_in(err, "include-outside.zone:2: out-of-zone data: www.example.org. is not in zone example.com.");
	if (strstr(err, "include-outside-main.zone:2:"))
		fail_msg("error attributed to the including file: %s", err);
}

/* $INCLUDE of a missing file names that file (and the including file:line); libzscanner says
 * only "file open error". */
static void test_include_missing_names_file(void **state)
{
	(void)state;
	struct zone *z = NULL;
	char err[1024] = "";
	int rc = zonefile_load("data/include-missing-main.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	expect_in(err, "data/include-missing-main.zone:6: $INCLUDE ");
	expect_in(err, "/data/include-absent.zone: No such file or directory");
}

/* An unclosed '(' is reported at the line that opened it, in the file that holds it; quotes,
 * escapes and comments do not count. libzscanner names only the end of the input. */
static void test_unclosed_parenthesis_names_its_line(void **state)
{
	(void)state;
	char err[1024] = "";
	const char *text = "@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
	                   "@ NS ns1\n"
	                   "a TXT \"(\" \\( ; ( in a comment\n"
	                   "www TXT ( \"one\"\n"
	                   "  \"two\" \"th)ree\\\" )\"\n"
	                   "b A 192.0.2.1\n";
	assert_int_equal(load_fail(text, "s", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "s:4: unclosed parenthesis: the '(' on this line is never closed (the input ends at line ");
	assert_int_equal(count_lines(err), 1);

	struct zone *z = NULL;
	int rc = zonefile_load("data/include-unclosed-main.zone", apex_of("example.com."), &z, err, sizeof(err));
	assert_int_equal(rc, TERN_EZONE);
	assert_null(z);
	expect_in(err, "data/include-unclosed.zone:2: unclosed parenthesis: the '(' on this line is never closed");
	expect_in(err, "data/include-unclosed-main.zone:6: $INCLUDE ");
	expect_in(err, "/data/include-unclosed.zone: the included file has errors (above)");
}

static void test_empty_text(void **state)
{
	(void)state;
	/* no records at all: refused with both apex problems (and no undefined behaviour) */
	char err[1024] = "";
	assert_int_equal(load_fail("", "empty", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "empty:1: missing SOA record at the zone apex");
	expect_in(err, "empty:1: no NS records at the zone apex");
	assert_int_equal(load_fail("; only a comment\n\n", "empty", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "missing SOA");
}

static void test_include_refused_in_text(void **state)
{
	(void)state;
	/* zone text from memory (the API later) must not open files on the server */
	char err[1024] = "";
	const char *text = "$ORIGIN example.com.\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n$include /etc/passwd\n";
	assert_int_equal(load_fail(text, "api", err, sizeof(err)), TERN_EZONE);
	expect_in(err, "api:4: $INCLUDE is not allowed");
}

static void test_rrset_ttl_lowest(void **state)
{
	(void)state;
	/* RFC 2181 5.2: records of one RRset with different TTLs count as the lowest, whatever
	 * the order in the file or of the RDATA */
	struct zone *z = load_ok("$ORIGIN example.com.\n@ 3600 SOA ns hm 1 2 3 4 5\n@ 3600 NS ns\n"
	                         "www 100 A 192.0.2.10\nwww 200 A 192.0.2.9\nwww 50 A 192.0.2.11\n",
	                         "example.com.");
	assert_int_equal(rrset(z, "www", RR_A)->ttl, 50);
	assert_int_equal(rrset(z, "www", RR_A)->count, 3);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_types_file),
	    cmocka_unit_test(test_all_types_string),
	    cmocka_unit_test(test_origin_ttl_relative),
	    cmocka_unit_test(test_default_origin_is_apex),
	    cmocka_unit_test(test_length_respected),
	    cmocka_unit_test(test_syntax_error_file),
	    cmocka_unit_test(test_syntax_errors_string),
	    cmocka_unit_test(test_syntax_error_messages),
	    cmocka_unit_test(test_error_cap),
	    cmocka_unit_test(test_class_not_in),
	    cmocka_unit_test(test_zone_errors_through_file),
	    cmocka_unit_test(test_zone_errors_through_string),
	    cmocka_unit_test(test_other_origin),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_include_error_names_included_file),
	    cmocka_unit_test(test_include_missing_names_file),
	    cmocka_unit_test(test_unclosed_parenthesis_names_its_line),
	    cmocka_unit_test(test_include_zone_error_names_included_file),
	    /* last: fails under UBSan until zone_build handles an empty builder */
	    cmocka_unit_test(test_empty_text),
	    cmocka_unit_test(test_include_refused_in_text),
	    cmocka_unit_test(test_rrset_ttl_lowest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
