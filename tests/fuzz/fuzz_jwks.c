/* libFuzzer harness for the JWKS (the key set file): auth_keys_load_string() on the input. A set
 * loaded holds one key per entry and verifies a token of the fuzz key set exactly when the entry
 * its kid names is that key; a set refused leaves *out untouched and says where and why. The same
 * input through auth_keys_load_lenient() (a fetched set): what the strict load takes it takes
 * whole; what it takes holds one key per entry not skipped, at least one. The input as a
 * Cache-Control value (auth_jwks_max_age(): a provider's header): -1 or a number of seconds. */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_jose.h"
#include "fuzz_token_keys.h"
#include "lib/error.h"
#include "ternd/api/auth.h"

#define ERRLEN 512

static char *tok_ec1, *tok_rsa1; /* claims signed by ec1 and rsa1, valid at FUZZ_NOW */
static BIGNUM *ec1_x, *ec1_y, *rsa1_n, *rsa1_e;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_jwks: invariant violated: %s\n", what);
	abort();
}

static char *make_token(EVP_PKEY *key, const char *alg, const char *kid)
{
	char header[96], claims[128];
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
	snprintf(claims, sizeof(claims), "{\"sub\":\"t\",\"exp\":%lld}", (long long)FUZZ_NOW + 600);
	return fuzz_sign(key, alg[0] == 'E', header, strlen(header), claims, strlen(claims));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	EVP_PKEY *ec1 = fuzz_pem_key(fuzz_ec1_pem, true), *rsa1 = fuzz_pem_key(fuzz_rsa1_pem, true);
	tok_ec1 = make_token(ec1, "ES256", "ec1");
	tok_rsa1 = make_token(rsa1, "RS256", "rsa1");
	if (EVP_PKEY_get_bn_param(ec1, OSSL_PKEY_PARAM_EC_PUB_X, &ec1_x) != 1 ||
	    EVP_PKEY_get_bn_param(ec1, OSSL_PKEY_PARAM_EC_PUB_Y, &ec1_y) != 1 ||
	    EVP_PKEY_get_bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, &rsa1_n) != 1 ||
	    EVP_PKEY_get_bn_param(rsa1, OSSL_PKEY_PARAM_RSA_E, &rsa1_e) != 1)
		abort();
	EVP_PKEY_free(ec1);
	EVP_PKEY_free(rsa1);
	return 0;
}

/* The value of a base64url member of a JWK, by OpenSSL's decoder; NULL when absent or bad. */
static BIGNUM *member_bn(json_t *jk, const char *field, size_t *bytes)
{
	const char *s = json_string_value(json_object_get(jk, field));
	if (!s)
		return NULL;
	uint8_t *buf;
	size_t len;
	if (!fuzz_b64url_decode(s, strlen(s), &buf, &len))
		return NULL;
	BIGNUM *bn = BN_bin2bn(buf, (int)len, NULL);
	*bytes = len;
	free(buf);
	return bn;
}

/* Whether the loaded set must verify a token of kid: its entry is that very public key. */
static bool holds_key(json_t *root, const char *kid)
{
	json_t *list = json_object_get(root, "keys"), *jk;
	size_t i;
	json_array_foreach(list, i, jk)
	{
		if (!json_is_string(json_object_get(jk, "kid")) ||
		    strcmp(json_string_value(json_object_get(jk, "kid")), kid) != 0)
			continue;
		const char *kty = json_string_value(json_object_get(jk, "kty"));
		size_t la = 0, lb = 0;
		bool same = false;
		if (strcmp(kid, "ec1") == 0 && kty && strcmp(kty, "EC") == 0) {
			BIGNUM *x = member_bn(jk, "x", &la), *y = member_bn(jk, "y", &lb);
			same = x && y && la == 32 && lb == 32 && BN_cmp(x, ec1_x) == 0 && BN_cmp(y, ec1_y) == 0;
			BN_free(x);
			BN_free(y);
		} else if (strcmp(kid, "rsa1") == 0 && kty && strcmp(kty, "RSA") == 0) {
			BIGNUM *n = member_bn(jk, "n", &la), *e = member_bn(jk, "e", &lb);
			same = n && e && BN_cmp(n, rsa1_n) == 0 && BN_cmp(e, rsa1_e) == 0;
			BN_free(n);
			BN_free(e);
		}
		return same;
	}
	return false;
}

static void check_token(const struct auth_keys *keys, json_t *root, const char *tok, const char *kid)
{
	struct auth_principal p;
	char err[ERRLEN];
	int rc = auth_verify(keys, tok, FUZZ_NOW, &p, err, sizeof(err));
	auth_principal_free(&p);
	if (rc == TERN_ENOMEM)
		return;
	if ((rc == 0) != holds_key(root, kid))
		fail(rc == 0 ? "a token verifies with a kid whose entry is another key"
		             : "a token of a key the set holds does not verify");
}

static void count_skip(void *arg, const char *why)
{
	if (!why[0])
		fail("a key left out without a reason");
	(*(size_t *)arg)++;
}

/* The lenient load of the input; strict_n: the keys the strict load took (0: it refused). */
static void check_lenient(const uint8_t *data, size_t size, size_t strict_n)
{
	char err[ERRLEN];
	size_t skipped = 0;
	struct auth_keys *untouched = (struct auth_keys *)&err, *keys = untouched;
	int rc = auth_keys_load_lenient((const char *)data, size, "fuzz.jwks", count_skip, &skipped, &keys, err,
	                                sizeof(err));
	if (rc != 0) {
		if (rc == TERN_ENOMEM)
			return;
		if (rc != TERN_ECONFIG || keys != untouched || strict_n)
			fail("a lenient refusal of a set the strict load takes, or one that changed *out");
		return;
	}
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	size_t entries = json_array_size(json_object_get(root, "keys"));
	if (auth_keys_count(keys) == 0 || auth_keys_count(keys) + skipped != entries ||
	    (strict_n && (skipped || auth_keys_count(keys) != strict_n)))
		fail("a lenient load whose keys and skips do not add up to the entries");
	json_decref(root);
	auth_keys_free(keys);
}

static void check_cache_control(const uint8_t *data, size_t size)
{
	char *v = malloc(size + 1);
	if (!v)
		return;
	memcpy(v, data, size);
	v[size] = 0;
	if (auth_jwks_max_age(v) < -1)
		fail("a max-age below -1");
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_cache_control(data, size);
	char err[ERRLEN];
	struct auth_keys *untouched = (struct auth_keys *)&err, *keys = untouched;
	memset(err, 0x5a, sizeof(err));
	int rc = auth_keys_load_string((const char *)data, size, "fuzz.jwks", &keys, err, sizeof(err));
	if (rc != 0) {
		if (rc != TERN_ECONFIG && rc != TERN_ENOMEM)
			fail("a refusal other than TERN_ECONFIG or TERN_ENOMEM");
		if (keys != untouched)
			fail("a refused set changed *out");
		if (!memchr(err, 0, sizeof(err)) || strncmp(err, "fuzz.jwks", 9) != 0)
			fail("a refusal does not start with the source's name");
		check_lenient(data, size, 0);
		return 0;
	}
	check_lenient(data, size, auth_keys_count(keys));
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		fail("a set loaded from text that is not JSON");
	if (auth_keys_count(keys) != json_array_size(json_object_get(root, "keys")) || auth_keys_count(keys) == 0)
		fail("the keys loaded are not one per entry");
	check_token(keys, root, tok_ec1, "ec1");
	check_token(keys, root, tok_rsa1, "rsa1");
	json_decref(root);
	auth_keys_free(keys);
	return 0;
}
