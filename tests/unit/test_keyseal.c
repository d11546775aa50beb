/* Unit tests for lib/keyseal: a known answer from an independent implementation (python3
 * cryptography's Scrypt and AESGCM), round trips, wrong passphrases, every octet of the sealed
 * data, salt, nonce, cost and header changed, truncated input, and the passphrase rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/keyseal.h"

#define PASS "correct horse battery"
#define LOG2N KEYSEAL_LOG2N_MIN /* the cheapest cost, so the tamper loops stay fast */

static const uint8_t aad[] = "the header";
static const uint8_t secret[] = "a private key";
#define SLEN (sizeof(secret) - 1)
#define ALEN (sizeof(aad) - 1)

static struct keyseal_params fixed(void)
{
	struct keyseal_params kp = {.log2n = 10};
	for (int i = 0; i < KEYSEAL_SALT_LEN; i++)
		kp.salt[i] = (uint8_t)i;
	for (int i = 0; i < KEYSEAL_NONCE_LEN; i++)
		kp.nonce[i] = (uint8_t)(100 + i);
	return kp;
}

static void known_answer(void **state)
{
	(void)state;
	/* python3: AESGCM(Scrypt(salt=bytes(range(16)), length=32, n=1024, r=8, p=1).derive(pass))
	 *          .encrypt(bytes(range(100, 112)), b"a private key", b"the header") */
	static const uint8_t want[] = {0xe5, 0xb3, 0xdd, 0xf0, 0xc8, 0x0c, 0xa5, 0xfa, 0x57, 0x6c,
	                               0x0a, 0x11, 0x87, 0x00, 0x1d, 0x48, 0x4d, 0x5a, 0xb5, 0xd4,
	                               0x15, 0x96, 0x20, 0xf4, 0x30, 0x59, 0x15, 0xe8, 0xf0};
	struct keyseal_params kp = fixed();
	uint8_t out[SLEN + KEYSEAL_TAG_LEN], back[SLEN];
	char err[256];
	assert_int_equal(sizeof(want), sizeof(out));
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &kp, aad, ALEN, secret, SLEN, out, err, sizeof(err)), 0);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN, want, sizeof(want), back, err, sizeof(err)),
	                 0);
	assert_memory_equal(back, secret, SLEN);
}

static void round_trip_fresh_params(void **state)
{
	(void)state;
	struct keyseal_params a, b;
	char err[256];
	assert_int_equal(keyseal_params_new(&a, LOG2N, err, sizeof(err)), 0);
	assert_int_equal(keyseal_params_new(&b, LOG2N, err, sizeof(err)), 0);
	assert_memory_not_equal(a.salt, b.salt, KEYSEAL_SALT_LEN);
	assert_memory_not_equal(a.nonce, b.nonce, KEYSEAL_NONCE_LEN);
	uint8_t sa[SLEN + KEYSEAL_TAG_LEN], sb[SLEN + KEYSEAL_TAG_LEN], back[SLEN];
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &a, aad, ALEN, secret, SLEN, sa, err, sizeof(err)), 0);
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &b, aad, ALEN, secret, SLEN, sb, err, sizeof(err)), 0);
	assert_memory_not_equal(sa, sb, sizeof(sa)); /* the same secret seals differently each time */
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &a, aad, ALEN, sa, sizeof(sa), back, err, sizeof(err)), 0);
	assert_memory_equal(back, secret, SLEN);
	/* an empty secret and header still authenticate */
	uint8_t tag[KEYSEAL_TAG_LEN];
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &a, NULL, 0, NULL, 0, tag, err, sizeof(err)), 0);
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &a, NULL, 0, tag, sizeof(tag), back, err, sizeof(err)), 0);
	tag[3] ^= 1;
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &a, NULL, 0, tag, sizeof(tag), back, err, sizeof(err)),
	                 TERN_EBOGUS);
}

static void wrong_passphrase(void **state)
{
	(void)state;
	struct keyseal_params kp = fixed();
	uint8_t out[SLEN + KEYSEAL_TAG_LEN], back[SLEN];
	char err[256];
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &kp, aad, ALEN, secret, SLEN, out, err, sizeof(err)), 0);
	const char *wrong[] = {"correct horse batterY", "correct horse battery ", "correct horse batter"};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		memset(back, 0x55, sizeof(back));
		assert_int_equal(
		    keyseal_open(wrong[i], strlen(wrong[i]), &kp, aad, ALEN, out, sizeof(out), back, err, sizeof(err)),
		    TERN_EBOGUS);
		assert_non_null(strstr(err, "passphrase is wrong"));
		assert_null(strstr(err, "horse")); /* never the passphrase */
		for (size_t j = 0; j < sizeof(back); j++)
			assert_int_equal(back[j], 0); /* nothing of a failed opening is left */
	}
}

static void every_octet_tampered(void **state)
{
	(void)state;
	struct keyseal_params kp = fixed();
	uint8_t out[SLEN + KEYSEAL_TAG_LEN], back[SLEN];
	char err[256];
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &kp, aad, ALEN, secret, SLEN, out, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		for (unsigned bit = 0; bit < 8; bit++) {
			out[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(
			    keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN, out, sizeof(out), back, err, sizeof(err)),
			    TERN_EBOGUS);
			out[i] ^= (uint8_t)(1u << bit);
		}
	uint8_t h[ALEN];
	memcpy(h, aad, ALEN);
	for (size_t i = 0; i < ALEN; i++) {
		h[i] ^= 0x20;
		assert_int_equal(
		    keyseal_open(PASS, strlen(PASS), &kp, h, ALEN, out, sizeof(out), back, err, sizeof(err)),
		    TERN_EBOGUS);
		h[i] ^= 0x20;
	}
	for (size_t i = 0; i < KEYSEAL_SALT_LEN + KEYSEAL_NONCE_LEN; i++) {
		struct keyseal_params t = fixed();
		if (i < KEYSEAL_SALT_LEN)
			t.salt[i] ^= 1;
		else
			t.nonce[i - KEYSEAL_SALT_LEN] ^= 1;
		assert_int_equal(
		    keyseal_open(PASS, strlen(PASS), &t, aad, ALEN, out, sizeof(out), back, err, sizeof(err)),
		    TERN_EBOGUS);
	}
	struct keyseal_params t = fixed();
	t.log2n = 11;
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &t, aad, ALEN, out, sizeof(out), back, err, sizeof(err)),
	                 TERN_EBOGUS);
	/* a header cut short, or longer */
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN - 1, out, sizeof(out), back, err, sizeof(err)),
	                 TERN_EBOGUS);
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN + 1, out, sizeof(out), back, err, sizeof(err)),
	                 TERN_EBOGUS);
	/* and the original still opens */
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN, out, sizeof(out), back, err, sizeof(err)), 0);
}

static void truncated(void **state)
{
	(void)state;
	struct keyseal_params kp = fixed();
	uint8_t out[SLEN + KEYSEAL_TAG_LEN], back[SLEN];
	char err[256];
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &kp, aad, ALEN, secret, SLEN, out, err, sizeof(err)), 0);
	for (size_t len = 0; len < sizeof(out); len++) {
		int rc = keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN, out, len, back, err, sizeof(err));
		assert_int_equal(rc, len < KEYSEAL_TAG_LEN ? TERN_EINVAL : TERN_EBOGUS);
	}
}

static void passphrase_and_cost_rules(void **state)
{
	(void)state;
	char err[256];
	char big[KEYSEAL_PASS_MAX + 2];
	memset(big, 'x', sizeof(big));
	assert_int_equal(keyseal_pass_check("short pass!", 11, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "at least 12"));
	assert_int_equal(keyseal_pass_check("twelve chars", 12, err, sizeof(err)), 0);
	assert_int_equal(keyseal_pass_check(big, KEYSEAL_PASS_MAX, err, sizeof(err)), 0);
	assert_int_equal(keyseal_pass_check(big, KEYSEAL_PASS_MAX + 1, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(keyseal_pass_check("twelve\0chars", 12, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(keyseal_pass_check(NULL, 0, err, sizeof(err)), TERN_EINVAL);
	struct keyseal_params kp;
	assert_int_equal(keyseal_params_new(&kp, KEYSEAL_LOG2N_MIN - 1, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(keyseal_params_new(&kp, KEYSEAL_LOG2N_MAX + 1, err, sizeof(err)), TERN_EINVAL);
	uint8_t out[SLEN + KEYSEAL_TAG_LEN], back[SLEN];
	kp = fixed();
	assert_int_equal(keyseal_seal("short", 5, &kp, aad, ALEN, secret, SLEN, out, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(keyseal_seal(PASS, strlen(PASS), &kp, aad, ALEN, secret, SLEN, out, err, sizeof(err)), 0);
	kp.log2n = 40; /* a hostile header's cost is refused before any memory is asked for */
	assert_int_equal(keyseal_open(PASS, strlen(PASS), &kp, aad, ALEN, out, sizeof(out), back, err, sizeof(err)),
	                 TERN_EINVAL);
	assert_non_null(strstr(err, "2^40"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(known_answer),     cmocka_unit_test(round_trip_fresh_params),
	    cmocka_unit_test(wrong_passphrase), cmocka_unit_test(every_octet_tampered),
	    cmocka_unit_test(truncated),        cmocka_unit_test(passphrase_and_cost_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
