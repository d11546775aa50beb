/* Unit tests for lib/siphash (SipHash-2-4 against the reference implementation's 64 test vectors)
 * and the server cookies lib/edns.c makes with it (RFC 9018 Appendix A's examples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/edns.h"
#include "lib/error.h"
#include "lib/siphash.h"

/* The reference's vectors.h: key 00 01 .. 0f, message 00 01 .. (n-1) for n = 0..63, output octets. */
static const char *const vectors24[64] = {
    "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785", "b7877127e09427cf",
    "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab", "6224939a79f5f593", "b0e4a90bdf82009e",
    "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4", "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7",
    "e545be4961ca29a1", "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
    "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8", "94af49f6c650adb8",
    "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f", "a5c91da7acaa4dde", "716595876650a2a6",
    "28ef495c53a387ad", "42c341d8fa92d832", "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012",
    "ae97a10fd434e015", "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
    "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4", "f21df2e41d4535f9",
    "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0", "51a9cb9ecba312e6", "96afadfc2ce666c7",
    "72fe52975a4364ee", "5a1645b276d592a1", "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f",
    "9924a43cc1315724", "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
    "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
};

static void hex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void test_reference_vectors(void **state)
{
	(void)state;
	uint8_t key[16], msg[64], want[8], got[8];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t n = 0; n < 64; n++) {
		hex(vectors24[n], want, 8);
		siphash24_bytes(key, msg, n, got);
		if (memcmp(got, want, 8) != 0)
			fail_msg("length %zu: got %016llx", n, (unsigned long long)siphash24(key, msg, n));
	}
	/* the paper's example (Appendix A): 15 octets */
	assert_int_equal(siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
}

/* RFC 9018 Appendix A: client cookie, client address, secret and time give the server cookie. */
struct rfc_example {
	const char *client, *addr, *secret, *want;
	int family;
	uint32_t now;
};

static size_t addr_octets(const char *text, int family, uint8_t out[16])
{
	assert_int_equal(inet_pton(family, text, out), 1);
	return family == AF_INET ? 4 : 16;
}

static void test_rfc9018_examples(void **state)
{
	(void)state;
	const struct rfc_example ex[] = {
	    /* A.1 learning a new server cookie; A.2 the same client, a fresh one later */
	    {"2464c4abcf10c957", "198.51.100.100", "e5e973e5a6b2a43f48e7dc849e37bfcf",
	     "010000005cf79f111f8130c3eee29480", AF_INET, 1559731985},
	    {"2464c4abcf10c957", "198.51.100.100", "e5e973e5a6b2a43f48e7dc849e37bfcf",
	     "010000005cf7a871d4a564a1442aca77", AF_INET, 1559734385},
	    /* A.4 IPv6, and after the secret rolled over */
	    {"22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", "dd3bdf9344b678b185a6f5cb60fca715",
	     "010000005cf7c57926556bd0934c72f8", AF_INET6, 1559741817},
	    {"22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", "445536bcd2513298075a5d379663c962",
	     "010000005cf7c609a6bb79d16625507a", AF_INET6, 1559741961},
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		uint8_t client[8], secret[16], addr[16], want[16], got[16];
		hex(ex[i].client, client, 8);
		hex(ex[i].secret, secret, 16);
		hex(ex[i].want, want, 16);
		size_t alen = addr_octets(ex[i].addr, ex[i].family, addr);
		edns_cookie_make(secret, client, ex[i].now, addr, alen, got);
		assert_memory_equal(got, want, 16);
		/* and it checks, as the option a client sends back */
		uint8_t opt[24];
		memcpy(opt, client, 8);
		memcpy(opt + 8, got, 16);
		struct edns_cookie c;
		assert_int_equal(edns_cookie_parse(opt, 24, &c), 0);
		assert_true(edns_cookie_valid(secret, &c, ex[i].now + 10, addr, alen));
		/* an hour old is the last second it is good; 5 minutes ahead likewise (RFC 9018 4.3) */
		assert_true(edns_cookie_valid(secret, &c, ex[i].now + 3600, addr, alen));
		assert_false(edns_cookie_valid(secret, &c, ex[i].now + 3601, addr, alen));
		assert_true(edns_cookie_valid(secret, &c, ex[i].now - 300, addr, alen));
		assert_false(edns_cookie_valid(secret, &c, ex[i].now - 301, addr, alen));
		/* another address, another client cookie, a hash octet changed: not ours */
		addr[alen - 1] ^= 1;
		assert_false(edns_cookie_valid(secret, &c, ex[i].now, addr, alen));
		addr[alen - 1] ^= 1;
		opt[0] ^= 1;
		assert_false(edns_cookie_valid(secret, &c, ex[i].now, addr, alen));
		opt[0] ^= 1;
		opt[23] ^= 0x80;
		assert_false(edns_cookie_valid(secret, &c, ex[i].now, addr, alen));
	}
}

/* A.3: a server cookie with reserved octets set (another implementation's) is hashed as received. */
static void test_rfc9018_reserved(void **state)
{
	(void)state;
	uint8_t opt[24], secret[16], addr[16];
	hex("fc93fc62807ddb86", opt, 8);
	hex("01abcdef5cf78f71a314227b6679ebf5", opt + 8, 16);
	hex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret, 16);
	size_t alen = addr_octets("203.0.113.203", AF_INET, addr);
	struct edns_cookie c;
	assert_int_equal(edns_cookie_parse(opt, 24, &c), 0);
	assert_true(edns_cookie_valid(secret, &c, 1559727985, addr, alen));
	opt[8] = 2; /* a version we do not make */
	assert_false(edns_cookie_valid(secret, &c, 1559727985, addr, alen));
}

/* RFC 7873 5.2.2: 8 octets, or 16 to 40; any other length is malformed. */
static void test_cookie_lengths(void **state)
{
	(void)state;
	uint8_t buf[48] = {0};
	struct edns_cookie c = {0};
	for (unsigned len = 0; len <= 48; len++) {
		bool ok = len == 8 || (len >= 16 && len <= 40);
		int rc = edns_cookie_parse(buf, (uint16_t)len, &c);
		if (ok != (rc == 0))
			fail_msg("length %u: %d", len, rc);
		if (ok)
			assert_int_equal(c.server ? c.server_len : 0, len - 8);
	}
	uint32_t stamp;
	assert_int_equal(edns_cookie_parse(buf, 8, &c), 0);
	assert_false(edns_cookie_stamp(&c, &stamp)); /* no server cookie */
	assert_int_equal(edns_cookie_parse(buf, 32, &c), 0);
	buf[8] = 1;
	assert_false(edns_cookie_stamp(&c, &stamp)); /* 24 octets: not one of ours */
}

/* Our OPT record carries the cookie after the other options. */
static void test_cookie_written(void **state)
{
	(void)state;
	uint8_t buf[128], cookie[24];
	for (int i = 0; i < 24; i++)
		cookie[i] = (uint8_t)(0xa0 + i);
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	struct edns_response r = {.udp_size = 1232, .ede = EDE_NONE, .cookie = cookie, .cookie_len = 24};
	assert_int_equal(edns_size(&r), 11 + 4 + 24);
	assert_int_equal(edns_write(&w, &r), 0);
	assert_int_equal(w.pos, 39);
	assert_int_equal(buf[9] << 8 | buf[10], 28); /* RDLENGTH */
	assert_int_equal(buf[11] << 8 | buf[12], EDNS_OPT_COOKIE);
	assert_int_equal(buf[13] << 8 | buf[14], 24);
	assert_memory_equal(buf + 15, cookie, 24);
	/* read back: the option is found */
	struct edns_request q;
	assert_int_equal(edns_parse(1232, 0, buf + 11, 28, &q), 0);
	assert_ptr_equal(q.cookie, buf + 15);
	assert_int_equal(q.cookie_len, 24);
	/* no room: nothing written */
	wire_writer_init(&w, buf, 38);
	assert_int_equal(edns_write(&w, &r), TERN_ESPACE);
	assert_int_equal(w.pos, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reference_vectors), cmocka_unit_test(test_rfc9018_examples),
	    cmocka_unit_test(test_rfc9018_reserved),  cmocka_unit_test(test_cookie_lengths),
	    cmocka_unit_test(test_cookie_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
