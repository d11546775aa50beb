/* Unit tests for lib/rr: RDATA checks per type, compression of RDATA names, type names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

/* RDATA under construction. */
struct rd {
	uint8_t b[512];
	size_t len;
};

static struct rd *rd_reset(struct rd *r)
{
	r->len = 0;
	return r;
}

static struct rd *rd_add(struct rd *r, const void *data, size_t len)
{
	assert_true(r->len + len <= sizeof(r->b));
	memcpy(r->b + r->len, data, len);
	r->len += len;
	return r;
}

static struct rd *rd_name(struct rd *r, const char *text)
{
	uint8_t n[NAME_MAXLEN];
	int len = name_from_text(n, text, NULL);
	assert_true(len > 0);
	return rd_add(r, n, (size_t)len);
}

static struct rd *rd_u16(struct rd *r, uint16_t v)
{
	uint8_t b[2];
	wire_put16(b, v);
	return rd_add(r, b, 2);
}

static int check(uint16_t type, const struct rd *r)
{
	return rr_rdata_check(type, r->b, r->len);
}

/* Every proper prefix of good RDATA must be rejected. */
static void check_prefixes_bad(uint16_t type, const struct rd *r)
{
	for (size_t len = 0; len < r->len; len++) {
		if (rr_rdata_check(type, r->b, len) != TERN_EMALF)
			fail_msg("type %u: prefix of %zu of %zu octets accepted", type, len, r->len);
	}
}

static void test_a_aaaa(void **state)
{
	(void)state;
	const uint8_t b[20] = {192, 0, 2, 1};
	assert_int_equal(rr_rdata_check(RR_A, b, 4), 0);
	assert_int_equal(rr_rdata_check(RR_A, b, 0), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_A, b, 3), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_A, b, 5), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_A, b, 16), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_AAAA, b, 16), 0);
	assert_int_equal(rr_rdata_check(RR_AAAA, b, 0), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_AAAA, b, 4), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_AAAA, b, 15), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_AAAA, b, 17), TERN_EMALF);
}

static void test_single_name_types(void **state)
{
	(void)state;
	const uint16_t types[] = {RR_NS, RR_CNAME, RR_PTR, RR_DNAME};
	struct rd r;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint16_t t = types[i];
		rd_name(rd_reset(&r), "ns1.example.com.");
		assert_int_equal(check(t, &r), 0);
		check_prefixes_bad(t, &r);
		rd_add(&r, "\0", 1); /* trailing octet */
		assert_int_equal(check(t, &r), TERN_EMALF);
		rd_name(rd_reset(&r), ".");
		assert_int_equal(check(t, &r), 0);
		/* compression pointers are not allowed inside stored RDATA */
		rd_add(rd_reset(&r), "\3ns1\xc0\x0c", 6);
		assert_int_equal(check(t, &r), TERN_EMALF);
		/* a 64-octet label */
		uint8_t l64[66] = {64};
		memset(l64 + 1, 'a', 64);
		l64[65] = 0;
		rd_add(rd_reset(&r), l64, sizeof(l64));
		assert_int_equal(check(t, &r), TERN_EMALF);
	}
}

static void test_soa(void **state)
{
	(void)state;
	struct rd r;
	const uint8_t nums[20] = {0,    0,    0, 1,    0,    0,    0x0e, 0x10, 0,    0,
	                          0x07, 0x08, 0, 0x09, 0x3a, 0x80, 0,    0,    0x01, 0x2c};
	rd_add(rd_name(rd_name(rd_reset(&r), "ns1.example.com."), "hostmaster.example.com."), nums, 20);
	assert_int_equal(check(RR_SOA, &r), 0);
	check_prefixes_bad(RR_SOA, &r);
	rd_add(&r, "\0", 1);
	assert_int_equal(check(RR_SOA, &r), TERN_EMALF);
	/* root names are fine */
	rd_add(rd_name(rd_name(rd_reset(&r), "."), "."), nums, 20);
	assert_int_equal(check(RR_SOA, &r), 0);
	/* only one name */
	rd_add(rd_name(rd_reset(&r), "ns1.example.com."), nums, 20);
	assert_int_equal(check(RR_SOA, &r), TERN_EMALF);
	rd_name(rd_reset(&r), "ns1.example.com.");
	assert_int_equal(check(RR_SOA, &r), TERN_EMALF);
}

static void test_mx(void **state)
{
	(void)state;
	struct rd r;
	rd_name(rd_u16(rd_reset(&r), 10), "mail.example.com.");
	assert_int_equal(check(RR_MX, &r), 0);
	check_prefixes_bad(RR_MX, &r);
	rd_add(&r, "x", 1);
	assert_int_equal(check(RR_MX, &r), TERN_EMALF);
	rd_name(rd_u16(rd_reset(&r), 0), "."); /* null MX, RFC 7505 */
	assert_int_equal(check(RR_MX, &r), 0);
	rd_u16(rd_reset(&r), 10);
	assert_int_equal(check(RR_MX, &r), TERN_EMALF);
}

static void test_srv(void **state)
{
	(void)state;
	struct rd r;
	rd_name(rd_u16(rd_u16(rd_u16(rd_reset(&r), 0), 5), 5060), "sip.example.com.");
	assert_int_equal(check(RR_SRV, &r), 0);
	check_prefixes_bad(RR_SRV, &r);
	rd_add(&r, "\0\0", 2);
	assert_int_equal(check(RR_SRV, &r), TERN_EMALF);
	rd_name(rd_u16(rd_u16(rd_u16(rd_reset(&r), 0), 0), 0), ".");
	assert_int_equal(check(RR_SRV, &r), 0);
	/* a name where the port should be */
	rd_name(rd_u16(rd_reset(&r), 1), "a.example.com."); /* octet 6 is the "x" of "example" */
	assert_int_equal(check(RR_SRV, &r), TERN_EMALF);
}

static void test_svcb_https(void **state)
{
	(void)state;
	const uint16_t types[] = {RR_SVCB, RR_HTTPS};
	struct rd r;
	for (size_t i = 0; i < 2; i++) {
		uint16_t t = types[i];
		/* AliasMode: priority 0, a target, no parameters */
		rd_name(rd_u16(rd_reset(&r), 0), "svc.example.net.");
		assert_int_equal(check(t, &r), 0);
		check_prefixes_bad(t, &r);
		/* ServiceMode: 1 . alpn=h2 port=8443 */
		rd_name(rd_u16(rd_reset(&r), 1), ".");
		rd_add(&r, "\0\1\0\3\2h2", 7);
		rd_add(&r, "\0\3\0\2\x20\xfb", 6);
		assert_int_equal(check(t, &r), 0);
		/* cut inside the parameters */
		assert_int_equal(rr_rdata_check(t, r.b, 3), 0); /* no parameters at all */
		for (size_t len = 4; len < r.len; len++)
			if (len != 10)
				assert_int_equal(rr_rdata_check(t, r.b, len), TERN_EMALF);
		assert_int_equal(rr_rdata_check(t, r.b, 10), 0); /* exactly after alpn */
		/* keys out of order: port (3) before alpn (1) */
		rd_name(rd_u16(rd_reset(&r), 1), ".");
		rd_add(&r, "\0\3\0\2\x20\xfb", 6);
		rd_add(&r, "\0\1\0\3\2h2", 7);
		assert_int_equal(check(t, &r), TERN_EMALF);
		/* the same key twice */
		rd_name(rd_u16(rd_reset(&r), 1), ".");
		rd_add(&r, "\0\1\0\3\2h2", 7);
		rd_add(&r, "\0\1\0\3\2h3", 7);
		assert_int_equal(check(t, &r), TERN_EMALF);
		/* key 0 (mandatory) first is fine; a value length past the end is not */
		rd_name(rd_u16(rd_reset(&r), 1), "svc.example.net.");
		rd_add(&r, "\0\0\0\2\0\1", 6);
		rd_add(&r, "\0\1\0\3\2h2", 7);
		assert_int_equal(check(t, &r), 0);
		r.b[r.len - 4] = 4; /* alpn length 4, 3 octets present */
		assert_int_equal(check(t, &r), TERN_EMALF);
		/* a half key */
		rd_name(rd_u16(rd_reset(&r), 1), ".");
		rd_add(&r, "\0\1\0", 3);
		assert_int_equal(check(t, &r), TERN_EMALF);
		/* a compressed target */
		rd_add(rd_u16(rd_reset(&r), 1), "\3svc\xc0\x0c", 6);
		assert_int_equal(check(t, &r), TERN_EMALF);
		/* high key numbers compare unsigned (key 2, no-default-alpn, has an empty value) */
		rd_name(rd_u16(rd_reset(&r), 1), ".");
		rd_add(&r, "\0\2\0\0", 4);
		rd_add(&r, "\xff\xfe\0\0", 4);
		assert_int_equal(check(t, &r), 0);
		rd_name(rd_u16(rd_reset(&r), 1), ".");
		rd_add(&r, "\xff\xfe\0\0", 4);
		rd_add(&r, "\0\2\0\0", 4);
		assert_int_equal(check(t, &r), TERN_EMALF);
	}
}

static void test_txt(void **state)
{
	(void)state;
	struct rd r;
	rd_add(rd_reset(&r), "\5hello", 6);
	assert_int_equal(check(RR_TXT, &r), 0);
	rd_add(&r, "\5world", 6);
	assert_int_equal(check(RR_TXT, &r), 0);
	rd_add(&r, "\0", 1); /* an empty string is a string */
	assert_int_equal(check(RR_TXT, &r), 0);
	rd_add(rd_reset(&r), "\0", 1);
	assert_int_equal(check(RR_TXT, &r), 0);
	/* no string at all */
	assert_int_equal(rr_rdata_check(RR_TXT, r.b, 0), TERN_EMALF);
	/* a string running past the end, first or last */
	rd_add(rd_reset(&r), "\6hello", 6);
	assert_int_equal(check(RR_TXT, &r), TERN_EMALF);
	rd_add(rd_reset(&r), "\5hello\5worl", 11);
	assert_int_equal(check(RR_TXT, &r), TERN_EMALF);
	rd_add(rd_reset(&r), "\5hello\xff", 7);
	assert_int_equal(check(RR_TXT, &r), TERN_EMALF);
	/* a full 255-octet string */
	uint8_t big[256] = {255};
	memset(big + 1, 'x', 255);
	rd_add(rd_reset(&r), big, 256);
	assert_int_equal(check(RR_TXT, &r), 0);
	assert_int_equal(rr_rdata_check(RR_TXT, r.b, 255), TERN_EMALF);
}

static void test_caa(void **state)
{
	(void)state;
	struct rd r;
	rd_add(rd_reset(&r), "\0\5issueca.example.net", 21);
	assert_int_equal(check(RR_CAA, &r), 0);
	rd_add(rd_reset(&r), "\x80\5issue", 7); /* critical flag, empty value */
	assert_int_equal(check(RR_CAA, &r), 0);
	rd_add(rd_reset(&r), "\0\0ca.example.net", 16); /* empty tag */
	assert_int_equal(check(RR_CAA, &r), TERN_EMALF);
	rd_add(rd_reset(&r), "\0\11issue", 7); /* tag past the end */
	assert_int_equal(check(RR_CAA, &r), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_CAA, r.b, 1), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_CAA, r.b, 0), TERN_EMALF);
}

static void test_ds_dnskey(void **state)
{
	(void)state;
	struct rd r;
	/* DS 60485 5 1 <20 octets of SHA-1> */
	rd_add(rd_reset(&r), "\xec\x45\x05\x01", 4);
	rd_add(&r, "\x2b\xb1\x83\xaf\x5f\x22\x58\x81\x79\xa5\x3b\x0a\x98\x63\x1f\xad\x1a\x29\x21\x18", 20);
	assert_int_equal(check(RR_DS, &r), 0);
	assert_int_equal(rr_rdata_check(RR_DS, r.b, 3), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_DS, r.b, 0), TERN_EMALF);
	/* DNSKEY 256 3 8 <key> */
	rd_add(rd_reset(&r), "\1\0\3\10\3\1\0\1", 8);
	assert_int_equal(check(RR_DNSKEY, &r), 0);
	assert_int_equal(rr_rdata_check(RR_DNSKEY, r.b, 3), TERN_EMALF);
}

static void test_opaque_types(void **state)
{
	(void)state;
	const uint8_t b[4] = {1, 2, 3, 4};
	assert_int_equal(rr_rdata_check(65000, b, 4), 0);
	assert_int_equal(rr_rdata_check(65000, b, 0), 0);
	assert_int_equal(rr_rdata_check(RR_SSHFP, b, 4), 0);
	assert_int_equal(rr_rdata_check(RR_TLSA, b, 4), 0);
}

/* ---- rr_write_rdata ---- */

/* A writer with a header and "example.com." at offset 12, the usual question. */
static void writer_with_question(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	wire_writer_init(w, buf, cap);
	memset(buf, 0, WIRE_HEADER_LEN);
	w->pos = WIRE_HEADER_LEN;
	uint8_t q[NAME_MAXLEN];
	assert_true(name_from_text(q, "example.com.", NULL) > 0);
	assert_int_equal(wire_write_name(w, q, true), 0);
	assert_int_equal(w->pos, 25);
}

static void expect_written(uint16_t type, const struct rd *r, const void *want, size_t wantlen)
{
	uint8_t buf[512];
	struct wire_writer w;
	writer_with_question(&w, buf, sizeof(buf));
	assert_int_equal(rr_write_rdata(&w, type, r->b, (uint16_t)r->len), 0);
	assert_int_equal(w.pos - 25, wantlen);
	assert_memory_equal(buf + 25, want, wantlen);
}

static void test_write_compressed_types(void **state)
{
	(void)state;
	struct rd r;
	rd_name(rd_reset(&r), "ns1.example.com.");
	expect_written(RR_NS, &r, "\3ns1\xc0\x0c", 6);
	expect_written(RR_CNAME, &r, "\3ns1\xc0\x0c", 6);
	expect_written(RR_PTR, &r, "\3ns1\xc0\x0c", 6);
	rd_name(rd_reset(&r), "EXAMPLE.com.");
	expect_written(RR_NS, &r, "\xc0\x0c", 2);
	rd_name(rd_u16(rd_reset(&r), 10), "mail.example.com.");
	expect_written(RR_MX, &r, "\0\x0a\4mail\xc0\x0c", 9);
	const uint8_t nums[20] = {0,    0,    0, 1,    0,    0,    0x0e, 0x10, 0,    0,
	                          0x07, 0x08, 0, 0x09, 0x3a, 0x80, 0,    0,    0x01, 0x2c};
	rd_add(rd_name(rd_name(rd_reset(&r), "ns1.example.com."), "hostmaster.example.com."), nums, 20);
	uint8_t want[64];
	memcpy(want, "\3ns1\xc0\x0c\12hostmaster\xc0\x0c", 19);
	memcpy(want + 19, nums, 20);
	expect_written(RR_SOA, &r, want, 39);
	/* the second SOA name can point at the first */
	rd_add(rd_name(rd_name(rd_reset(&r), "ns1.example.com."), "ns1.example.com."), nums, 20);
	memcpy(want, "\3ns1\xc0\x0c\xc0\x19", 8);
	memcpy(want + 8, nums, 20);
	expect_written(RR_SOA, &r, want, 28);
}

static void test_write_verbatim_types(void **state)
{
	(void)state;
	struct rd r;
	rd_name(rd_u16(rd_u16(rd_u16(rd_reset(&r), 0), 5), 5060), "sip.example.com.");
	expect_written(RR_SRV, &r, r.b, r.len);
	rd_name(rd_reset(&r), "other.example.com.");
	expect_written(RR_DNAME, &r, r.b, r.len);
	rd_name(rd_u16(rd_reset(&r), 1), "svc.example.com.");
	rd_add(&r, "\0\1\0\3\2h2", 7);
	expect_written(RR_SVCB, &r, r.b, r.len);
	expect_written(RR_HTTPS, &r, r.b, r.len);
	rd_add(rd_reset(&r), "\13example.com", 12);
	expect_written(RR_TXT, &r, r.b, r.len);
	rd_add(rd_reset(&r), "\xc0\x00\x02\x01", 4);
	expect_written(RR_A, &r, r.b, r.len);
	rd_name(rd_reset(&r), "x.example.com."); /* an unknown type holding a name is opaque */
	expect_written(65000, &r, r.b, r.len);
}

static void test_write_rdata_targets(void **state)
{
	(void)state;
	/* a name written inside NS RDATA becomes a compression target; verbatim names do not */
	uint8_t buf[512];
	struct wire_writer w;
	writer_with_question(&w, buf, sizeof(buf));
	struct rd r;
	rd_name(rd_reset(&r), "ns1.example.com.");
	assert_int_equal(rr_write_rdata(&w, RR_NS, r.b, (uint16_t)r.len), 0); /* at 25 */
	rd_name(rd_u16(rd_u16(rd_u16(rd_reset(&r), 0), 0), 53), "sip.example.com.");
	assert_int_equal(rr_write_rdata(&w, RR_SRV, r.b, (uint16_t)r.len), 0);
	uint8_t name[NAME_MAXLEN];
	assert_true(name_from_text(name, "ns1.example.com.", NULL) > 0);
	size_t at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\xc0\x19", 2);
	assert_true(name_from_text(name, "sip.example.com.", NULL) > 0);
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\3sip\xc0\x0c", 6);
}

static void test_write_rdata_espace(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;
	struct rd r;
	rd_name(rd_u16(rd_reset(&r), 10), "mail.example.org.");
	for (size_t cap = 25; cap < 25 + r.len; cap++) {
		writer_with_question(&w, buf, cap);
		assert_int_equal(rr_write_rdata(&w, RR_MX, r.b, (uint16_t)r.len), TERN_ESPACE);
		assert_true(w.pos <= cap);
	}
	rd_add(rd_reset(&r), "\1\2\3\4", 4);
	writer_with_question(&w, buf, 28);
	assert_int_equal(rr_write_rdata(&w, RR_A, r.b, 4), TERN_ESPACE);
	assert_int_equal(w.pos, 25);
}

/* ---- targets and names ---- */

/* Inner structures printers trust (found by fuzzing rrtext: libknot read past a salt length). */
static void test_inner_lengths(void **state)
{
	(void)state;
	/* NSEC3: alg, flags, iterations, salt length 255 with no salt behind it */
	assert_int_equal(rr_rdata_check(RR_NSEC3, (const uint8_t *)"\1\0\0\0\xff", 5), TERN_EMALF);
	/* salt of 1, hash of 2, bitmap window 0 of 1 octet: well formed */
	assert_int_equal(rr_rdata_check(RR_NSEC3, (const uint8_t *)"\1\0\0\0\1\xaa\2\xbb\xcc\0\1\x40", 12), 0);
	/* an empty hash */
	assert_int_equal(rr_rdata_check(RR_NSEC3, (const uint8_t *)"\1\0\0\0\0\0", 6), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_NSEC3PARAM, (const uint8_t *)"\1\0\0\0\3\1\2", 7), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_NSEC3PARAM, (const uint8_t *)"\1\0\0\0\0", 5), 0);
	/* NSEC: windows must grow and hold 1..32 octets */
	assert_int_equal(rr_rdata_check(RR_NSEC, (const uint8_t *)"\0\1\0\1\x40\0\1\x40", 8), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_NSEC, (const uint8_t *)"\0\0\x21", 3), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_HINFO, (const uint8_t *)"\3abc\5de", 7), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_EUI48, (const uint8_t *)"\0\0\x5e\0\x53\x2a\0", 7), TERN_EMALF);
	assert_int_equal(rr_rdata_check(RR_LOC, (const uint8_t *)"\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16), TERN_EMALF);
	assert_true(rr_rdata_checked(RR_NSEC3));
	assert_false(rr_rdata_checked(65000));
}

static void test_additional_target(void **state)
{
	(void)state;
	struct rd r;
	rd_name(rd_reset(&r), "ns1.example.com.");
	assert_ptr_equal(rr_additional_target(RR_NS, r.b, (uint16_t)r.len), r.b);
	assert_null(rr_additional_target(RR_CNAME, r.b, (uint16_t)r.len));
	assert_null(rr_additional_target(RR_PTR, r.b, (uint16_t)r.len));
	assert_null(rr_additional_target(RR_DNAME, r.b, (uint16_t)r.len));
	rd_name(rd_u16(rd_reset(&r), 10), "mail.example.com.");
	assert_ptr_equal(rr_additional_target(RR_MX, r.b, (uint16_t)r.len), r.b + 2);
	assert_null(rr_additional_target(RR_MX, r.b, 2));
	rd_name(rd_u16(rd_u16(rd_u16(rd_reset(&r), 0), 5), 5060), "sip.example.com.");
	assert_ptr_equal(rr_additional_target(RR_SRV, r.b, (uint16_t)r.len), r.b + 6);
	assert_null(rr_additional_target(RR_SRV, r.b, 6));
	rd_name(rd_u16(rd_reset(&r), 1), "svc.example.com.");
	rd_add(&r, "\0\1\0\3\2h2", 7);
	assert_ptr_equal(rr_additional_target(RR_SVCB, r.b, (uint16_t)r.len), r.b + 2);
	assert_ptr_equal(rr_additional_target(RR_HTTPS, r.b, (uint16_t)r.len), r.b + 2);
	/* a null MX (RFC 7505) and a "no service" SRV have nothing to look up */
	rd_name(rd_u16(rd_reset(&r), 0), ".");
	assert_null(rr_additional_target(RR_MX, r.b, (uint16_t)r.len));
	rd_name(rd_u16(rd_u16(rd_u16(rd_reset(&r), 0), 0), 0), ".");
	assert_null(rr_additional_target(RR_SRV, r.b, (uint16_t)r.len));
	/* "." means the owner name: no target of its own */
	rd_name(rd_u16(rd_reset(&r), 1), ".");
	rd_add(&r, "\0\1\0\3\2h2", 7);
	assert_null(rr_additional_target(RR_SVCB, r.b, (uint16_t)r.len));
	assert_null(rr_additional_target(RR_HTTPS, r.b, (uint16_t)r.len));
	rd_add(rd_reset(&r), "\1\2\3\4", 4);
	assert_null(rr_additional_target(RR_A, r.b, 4));
	assert_null(rr_additional_target(RR_TXT, r.b, 4));
}

static void test_type_names(void **state)
{
	(void)state;
	char buf[16];
	const struct {
		uint16_t type;
		const char *name;
	} known[] = {
	    {RR_A, "A"},
	    {RR_NS, "NS"},
	    {RR_CNAME, "CNAME"},
	    {RR_SOA, "SOA"},
	    {RR_PTR, "PTR"},
	    {RR_MX, "MX"},
	    {RR_TXT, "TXT"},
	    {RR_AAAA, "AAAA"},
	    {RR_SRV, "SRV"},
	    {RR_NAPTR, "NAPTR"},
	    {RR_DNAME, "DNAME"},
	    {RR_OPT, "OPT"},
	    {RR_DS, "DS"},
	    {RR_SSHFP, "SSHFP"},
	    {RR_RRSIG, "RRSIG"},
	    {RR_NSEC, "NSEC"},
	    {RR_DNSKEY, "DNSKEY"},
	    {RR_NSEC3, "NSEC3"},
	    {RR_NSEC3PARAM, "NSEC3PARAM"},
	    {RR_TLSA, "TLSA"},
	    {RR_SVCB, "SVCB"},
	    {RR_HTTPS, "HTTPS"},
	    {RR_AXFR, "AXFR"},
	    {RR_IXFR, "IXFR"},
	    {RR_ANY, "ANY"},
	    {RR_CAA, "CAA"},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_string_equal(rr_type_name(known[i].type, buf), known[i].name);
	assert_string_equal(rr_type_name(65000, buf), "TYPE65000");
	assert_string_equal(rr_type_name(65535, buf), "TYPE65535");
	assert_string_equal(rr_type_name(0, buf), "TYPE0");
	assert_string_equal(rr_type_name(99, buf), "TYPE99");
}

static void test_type_is_meta(void **state)
{
	(void)state;
	const uint16_t meta[] = {0, RR_OPT, RR_TSIG, RR_IXFR, RR_AXFR, RR_MAILB, RR_MAILA, RR_ANY, 128, 249};
	const uint16_t data[] = {RR_A, RR_NS, RR_SOA, RR_TXT, RR_RRSIG, RR_NSEC3, RR_HTTPS, RR_CAA, 127, 256, 65000};
	for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
		assert_true(rr_type_is_meta(meta[i]));
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		assert_false(rr_type_is_meta(data[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_aaaa),
	    cmocka_unit_test(test_single_name_types),
	    cmocka_unit_test(test_soa),
	    cmocka_unit_test(test_mx),
	    cmocka_unit_test(test_srv),
	    cmocka_unit_test(test_svcb_https),
	    cmocka_unit_test(test_txt),
	    cmocka_unit_test(test_caa),
	    cmocka_unit_test(test_ds_dnskey),
	    cmocka_unit_test(test_opaque_types),
	    cmocka_unit_test(test_write_compressed_types),
	    cmocka_unit_test(test_write_verbatim_types),
	    cmocka_unit_test(test_write_rdata_targets),
	    cmocka_unit_test(test_write_rdata_espace),
	    cmocka_unit_test(test_additional_target),
	    cmocka_unit_test(test_inner_lengths),
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_type_is_meta),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
