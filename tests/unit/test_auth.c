/* Unit tests for the API's authentication (src/ternd/api/auth_*.c): JWKS loading and its errors,
 * RS256/ES256 verification against keys made at test time, every rejection, and scope decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/api/auth.h"

#define NOW ((time_t)1795428000) /* 2026-11-23T10:00:00Z */

/* Keys made once for the whole group; tests only read them. */
struct fixture {
	EVP_PKEY *rsa, *ec, *ec2, *rsa_short, *ec384;
	char *jwks; /* rsa1 (RS256), ec1 (ES256), ec2 (ES256) */
	struct auth_keys *keys;
};

/* ---- small signer ---- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	assert_non_null(p);
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	assert_non_null(p);
	return p;
}

static char *b64url(const uint8_t *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = xmalloc(n / 3 * 4 + 5);
	size_t o = 0, i = 0;
	assert_non_null(out);
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
	}
	out[o] = 0;
	return out;
}

static char *b64url_str(const char *s)
{
	return b64url((const uint8_t *)s, strlen(s));
}

static char *b64url_bn(const BIGNUM *bn, int pad)
{
	int n = pad ? pad : BN_num_bytes(bn);
	uint8_t *buf = xmalloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(BN_bn2binpad(bn, buf, n), n);
	char *s = b64url(buf, (size_t)n);
	free(buf);
	return s;
}

/* Signs data with key for alg: RS256 (PKCS#1 v1.5), ES256 (r||s) or HS256/384/512 (secret). */
static char *sign(const char *alg, EVP_PKEY *key, const uint8_t *secret, size_t secretlen, const char *data)
{
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	if (alg[0] == 'H') {
		const char *md = strcmp(alg, "HS256") == 0 ? "SHA256" : strcmp(alg, "HS384") == 0 ? "SHA384" : "SHA512";
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, secret, secretlen, (const uint8_t *)data,
		                          strlen(data), sig, sizeof(sig), &siglen));
		return b64url(sig, siglen);
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (const uint8_t *)data, strlen(data)), 1);
	EVP_MD_CTX_free(md);
	if (alg[0] != 'E')
		return b64url(sig, siglen);
	const uint8_t *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
	assert_non_null(es);
	uint8_t rs[64];
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32), 32);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32), 32);
	ECDSA_SIG_free(es);
	return b64url(rs, 64);
}

/* header.payload.signature from raw JSON texts; sign_alg says how to sign (may differ from the
 * header's alg, to forge). */
static char *token_raw(const char *header, const char *payload, const char *sign_alg, EVP_PKEY *key,
                       const uint8_t *secret, size_t secretlen)
{
	char *h = b64url_str(header), *p = b64url_str(payload);
	size_t n = strlen(h) + strlen(p) + 2;
	char *data = xmalloc(n);
	assert_non_null(data);
	snprintf(data, n, "%s.%s", h, p);
	char *sig = sign_alg ? sign(sign_alg, key, secret, secretlen, data) : xstrdup("");
	char *tok = xmalloc(n + strlen(sig) + 1);
	assert_non_null(tok);
	sprintf(tok, "%s.%s", data, sig);
	free(h);
	free(p);
	free(data);
	free(sig);
	return tok;
}

/* A token for alg/kid signed by key. */
static char *token(const char *alg, const char *kid, EVP_PKEY *key, const char *payload)
{
	char header[256];
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
	return token_raw(header, payload, alg, key, NULL, 0);
}

/* A payload for tenant "t1" valid at NOW, with extra claims appended (",\"role\":\"admin\""). */
static char *claims(const char *extra)
{
	char *s = xmalloc(strlen(extra) + 128);
	assert_non_null(s);
	sprintf(s, "{\"sub\":\"t1\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld%s}", (long long)NOW, (long long)NOW,
	        (long long)NOW + 600, extra);
	return s;
}

/* ---- JWKS from the generated keys ---- */

static char *jwk_rsa(EVP_PKEY *k, const char *kid, const char *extra)
{
	BIGNUM *n = NULL, *e = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	char *ns = b64url_bn(n, 0), *es = b64url_bn(e, 0);
	char *s = xmalloc(strlen(ns) + strlen(es) + strlen(extra) + 128);
	assert_non_null(s);
	sprintf(s, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, ns, es, extra);
	BN_free(n);
	BN_free(e);
	free(ns);
	free(es);
	return s;
}

static char *jwk_ec(EVP_PKEY *k, const char *kid, const char *crv, int size, const char *extra)
{
	BIGNUM *x = NULL, *y = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	char *xs = b64url_bn(x, size), *ys = b64url_bn(y, size);
	char *s = xmalloc(strlen(xs) + strlen(ys) + strlen(extra) + 128);
	assert_non_null(s);
	sprintf(s, "{\"kty\":\"EC\",\"crv\":\"%s\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}", crv, kid, xs, ys,
	        extra);
	BN_free(x);
	BN_free(y);
	free(xs);
	free(ys);
	return s;
}

/* {"keys":[a, b, c]} taking ownership of the parts (NULL ends the list early). */
static char *jwks_of(char *a, char *b, char *c)
{
	size_t n = 32 + (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + (c ? strlen(c) : 0);
	char *s = xmalloc(n);
	assert_non_null(s);
	snprintf(s, n, "{\"keys\":[%s%s%s%s%s]}", a ? a : "", b ? "," : "", b ? b : "", c ? "," : "", c ? c : "");
	free(a);
	free(b);
	free(c);
	return s;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	auth_keys_free(f->keys);
	free(f->jwks);
	EVP_PKEY_free(f->rsa);
	EVP_PKEY_free(f->rsa_short);
	EVP_PKEY_free(f->ec);
	EVP_PKEY_free(f->ec2);
	EVP_PKEY_free(f->ec384);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];
	if (!f)
		return -1;
	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f->rsa_short = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	*state = f;
	if (!f->rsa || !f->rsa_short || !f->ec || !f->ec2 || !f->ec384) {
		teardown(state);
		return -1;
	}
	f->jwks =
	    jwks_of(jwk_rsa(f->rsa, "rsa1", ",\"alg\":\"RS256\",\"use\":\"sig\""),
	            jwk_ec(f->ec, "ec1", "P-256", 32, ""), jwk_ec(f->ec2, "ec2", "P-256", 32, ",\"alg\":\"ES256\""));
	if (auth_keys_load_string(f->jwks, strlen(f->jwks), "jwks.json", &f->keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "fixture JWKS refused: %s\n", err);
		teardown(state);
		return -1;
	}
	return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in: %s", needle, hay);
}

/* auth_allows() on names given in presentation form (NULL stays NULL), parsed by the library as
 * the API's routes parse them; a text that is no name fails the test. */
static bool allows(const struct auth_principal *p, const char *zone, const char *name, uint16_t type, bool write)
{
	uint8_t zw[NAME_MAXLEN], nw[NAME_MAXLEN];
	if (zone && name_from_text(zw, zone, NULL) < 0)
		fail_msg("test zone \"%s\" is not a name", zone);
	if (name && name_from_text(nw, name, NULL) < 0)
		fail_msg("test name \"%s\" is not a name", name);
	return auth_allows(p, zone ? zw : NULL, name ? nw : NULL, type, write);
}

/* Verifies tok (and frees it) at now, expecting success. */
static void expect_ok_at(struct fixture *f, char *tok, time_t now, struct auth_principal *p)
{
	char err[256] = "";
	int rc = auth_verify(f->keys, tok, now, p, err, sizeof(err));
	free(tok);
	if (rc != 0)
		fail_msg("token refused (%d): %s", rc, err);
}

static void expect_ok(struct fixture *f, char *tok, struct auth_principal *p)
{
	expect_ok_at(f, tok, NOW, p);
}

/* Verifies tok (and frees it) at now, expecting TERN_EINVAL, a zeroed principal, and message. */
static void expect_fail_at(struct fixture *f, char *tok, time_t now, const char *message)
{
	char err[256] = "";
	struct auth_principal p;
	memset(&p, 0x5a, sizeof(p));
	int rc = auth_verify(f->keys, tok, now, &p, err, sizeof(err));
	free(tok);
	if (rc == 0) {
		auth_principal_free(&p);
		fail_msg("token accepted; expected \"%s\"", message);
	}
	/* an unknown kid has its own code: a set fetched from a URL is fetched again for it */
	assert_int_equal(rc, strstr(message, "unknown key id") ? TERN_ENOTFOUND : TERN_EINVAL);
	assert_contains(err, message);
	assert_string_equal(p.tenant, "");
	assert_null(p.scope.zones);
	assert_false(p.admin);
	auth_principal_free(&p);
}

static void expect_fail(struct fixture *f, char *tok, const char *message)
{
	expect_fail_at(f, tok, NOW, message);
}

static char *token_claims(const char *alg, const char *kid, EVP_PKEY *key, const char *extra)
{
	char *c = claims(extra);
	char *t = token(alg, kid, key, c);
	free(c);
	return t;
}

/* ---- valid tokens ---- */

static void test_rs256_valid(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	assert_int_equal(auth_keys_count(f->keys), 3);
	expect_ok(f, token_claims("RS256", "rsa1", f->rsa, ""), &p);
	assert_string_equal(p.tenant, "t1");
	assert_string_equal(p.kid, "rsa1");
	assert_false(p.admin);
	assert_int_equal(p.expires, NOW + 600);
	assert_false(p.scope.read_only);
	assert_false(p.scope.has_zones || p.scope.has_names || p.scope.has_types);
	assert_true(allows(&p, "example.com", "www.example.com", 1, true));
	assert_true(allows(&p, NULL, NULL, 0, true));
	auth_principal_free(&p);
	auth_principal_free(&p); /* twice is harmless */
}

static void test_es256_valid(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	expect_ok(f, token_claims("ES256", "ec1", f->ec, ""), &p);
	assert_string_equal(p.tenant, "t1");
	assert_string_equal(p.kid, "ec1");
	auth_principal_free(&p);
	expect_ok(f, token_claims("ES256", "ec2", f->ec2, ""), &p);
	assert_string_equal(p.kid, "ec2");
	auth_principal_free(&p);
	/* Only exp and sub are required; a fractional NumericDate is fine. */
	char payload[128];
	snprintf(payload, sizeof(payload), "{\"sub\":\"t2\",\"exp\":%lld.5}", (long long)NOW);
	expect_ok(f, token("ES256", "ec1", f->ec, payload), &p);
	assert_string_equal(p.tenant, "t2");
	auth_principal_free(&p);
	/* Many signatures (ECDSA is randomised; r or s with leading zero bytes must still work). */
	for (int i = 0; i < 64; i++) {
		expect_ok(f, token_claims("ES256", "ec1", f->ec, ""), &p);
		auth_principal_free(&p);
	}
}

/* ---- signatures ---- */

/* Changes one base64url character of part (0 header, 1 payload, 2 signature) at its middle. */
static char *flip(char *tok, int part)
{
	char *p = tok;
	for (int i = 0; i < part; i++)
		p = strchr(p, '.') + 1;
	size_t len = strcspn(p, ".");
	char *c = p + len / 2;
	*c = *c == 'A' ? 'B' : 'A';
	return tok;
}

static void test_bad_signature(void **state)
{
	struct fixture *f = *state;
	expect_fail(f, flip(token_claims("RS256", "rsa1", f->rsa, ""), 2), "bad signature");
	expect_fail(f, flip(token_claims("ES256", "ec1", f->ec, ""), 2), "bad signature");
	expect_fail(f, flip(token_claims("RS256", "rsa1", f->rsa, ""), 1), "bad signature");
	expect_fail(f, flip(token_claims("ES256", "ec1", f->ec, ""), 1), "bad signature");
	/* Signed by one EC key, naming the other. */
	expect_fail(f, token_claims("ES256", "ec2", f->ec, ""), "bad signature");
	/* An ES256 signature in DER rather than JOSE r||s. */
	char *tok = token_claims("ES256", "ec1", f->ec, "");
	char *data = xstrndup(tok, (size_t)(strrchr(tok, '.') - tok));
	uint8_t der[128];
	size_t derlen = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, f->ec, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, der, &derlen, (const uint8_t *)data, strlen(data)), 1);
	EVP_MD_CTX_free(md);
	char *sig = b64url(der, derlen);
	char *forged = xmalloc(strlen(data) + strlen(sig) + 2);
	sprintf(forged, "%s.%s", data, sig);
	expect_fail(f, forged, "bad signature");
	free(tok);
	free(data);
	free(sig);
	/* An empty signature, and a truncated RSA one. */
	tok = token_claims("RS256", "rsa1", f->rsa, "");
	*(strrchr(tok, '.') + 1) = 0;
	expect_fail(f, tok, "bad signature");
	tok = token_claims("RS256", "rsa1", f->rsa, "");
	char *sigpart = strrchr(tok, '.') + 1;
	sigpart[strlen(sigpart) / 4 * 4 - 4] = 0; /* whole groups: still valid base64url */
	expect_fail(f, tok, "bad signature");
	/* RS256 is PKCS#1 v1.5: an RSASSA-PSS signature by the right key does not pass. */
	tok = token_claims("RS256", "rsa1", f->rsa, "");
	*strrchr(tok, '.') = 0;
	uint8_t pss[256];
	size_t psslen = sizeof(pss);
	EVP_PKEY_CTX *pctx = NULL;
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, f->rsa, NULL), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
	assert_int_equal(EVP_DigestSign(md, pss, &psslen, (const uint8_t *)tok, strlen(tok)), 1);
	EVP_MD_CTX_free(md);
	sig = b64url(pss, psslen);
	forged = xmalloc(strlen(tok) + strlen(sig) + 2);
	sprintf(forged, "%s.%s", tok, sig);
	expect_fail(f, forged, "bad signature");
	free(tok);
	free(sig);
	/* An RS256 signature made with another RSA key of a different size. */
	expect_fail(f, token_claims("RS256", "rsa1", f->rsa_short, ""), "bad signature");
}

/* ---- time claims ---- */

static char *timed(struct fixture *f, const char *times)
{
	char payload[256];
	snprintf(payload, sizeof(payload), "{\"sub\":\"t1\"%s}", times);
	return token("RS256", "rsa1", f->rsa, payload);
}

static void test_expired(void **state)
{
	struct fixture *f = *state;
	char t[128];
	snprintf(t, sizeof(t), ",\"exp\":%lld", (long long)NOW);
	expect_fail_at(f, timed(f, t), NOW + 3600, "token expired at 2026-11-23T10:00:00Z");
	expect_fail(f, timed(f, ""), "token has no exp claim");
	expect_fail(f, timed(f, ",\"exp\":\"tomorrow\""), "exp claim is not a number");
	expect_fail(f, timed(f, ",\"exp\":true"), "exp claim is not a number");
	expect_fail(f, timed(f, ",\"exp\":1e300"), "exp claim is out of range");
	expect_fail(f, timed(f, ",\"exp\":0"), "token expired at 1970-01-01T00:00:00Z");
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"nbf\":\"now\"", (long long)NOW + 60);
	expect_fail(f, timed(f, t), "nbf claim is not a number");
}

static void test_not_yet_valid(void **state)
{
	struct fixture *f = *state;
	char t[128];
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"nbf\":%lld", (long long)NOW + 7200, (long long)NOW + 3600);
	expect_fail(f, timed(f, t), "token not valid before 2026-11-23T11:00:00Z");
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"iat\":%lld", (long long)NOW + 7200, (long long)NOW + 3600);
	expect_fail(f, timed(f, t), "token issued in the future");
}

static void test_leeway_edges(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	char t[128];
	/* exp: refused when exp <= now - 30. */
	snprintf(t, sizeof(t), ",\"exp\":%lld", (long long)NOW - AUTH_LEEWAY);
	expect_fail(f, timed(f, t), "token expired");
	snprintf(t, sizeof(t), ",\"exp\":%lld", (long long)NOW - AUTH_LEEWAY + 1);
	expect_ok(f, timed(f, t), &p);
	auth_principal_free(&p);
	/* nbf: refused when nbf > now + 30. */
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"nbf\":%lld", (long long)NOW + 600, (long long)NOW + AUTH_LEEWAY);
	expect_ok(f, timed(f, t), &p);
	auth_principal_free(&p);
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"nbf\":%lld", (long long)NOW + 600, (long long)NOW + AUTH_LEEWAY + 1);
	expect_fail(f, timed(f, t), "token not valid before");
	/* iat: refused when iat > now + 30. */
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"iat\":%lld", (long long)NOW + 600, (long long)NOW + AUTH_LEEWAY);
	expect_ok(f, timed(f, t), &p);
	auth_principal_free(&p);
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"iat\":%lld", (long long)NOW + 600, (long long)NOW + AUTH_LEEWAY + 1);
	expect_fail(f, timed(f, t), "issued in the future");
	/* A past iat and nbf are fine. */
	snprintf(t, sizeof(t), ",\"exp\":%lld,\"iat\":1,\"nbf\":1", (long long)NOW + 600);
	expect_ok(f, timed(f, t), &p);
	auth_principal_free(&p);
}

/* ---- algorithms ---- */

static void test_alg_none(void **state)
{
	struct fixture *f = *state;
	const char *variants[] = {"none", "None", "NONE", "nOnE"};
	char *c = claims("");
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		char header[128];
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"rsa1\"}", variants[i]);
		expect_fail(f, token_raw(header, c, NULL, NULL, NULL, 0), "algorithm none is not accepted");
		/* Even with a real RS256 signature after it. */
		expect_fail(f, token_raw(header, c, "RS256", f->rsa, NULL, 0), "algorithm none is not accepted");
		/* And without a kid. */
		snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", variants[i]);
		expect_fail(f, token_raw(header, c, NULL, NULL, NULL, 0), "algorithm none is not accepted");
	}
	free(c);
}

/* The key-confusion attack: HS256 keyed with the RSA (or EC) public key as the server holds it. */
static void test_hs256_key_confusion(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *pubs[] = {f->rsa, f->ec};
	const char *kids[] = {"rsa1", "ec1"};
	const char *algs[] = {"HS256", "HS384", "HS512"};
	char *c = claims("");
	for (size_t k = 0; k < 2; k++) {
		/* PEM (SubjectPublicKeyInfo) and DER forms of the public key. */
		BIO *bio = BIO_new(BIO_s_mem());
		assert_int_equal(PEM_write_bio_PUBKEY(bio, pubs[k]), 1);
		char *pem;
		long pemlen = BIO_get_mem_data(bio, &pem);
		uint8_t *der = NULL;
		int derlen = i2d_PUBKEY(pubs[k], &der);
		assert_true(derlen > 0);
		for (size_t a = 0; a < 3; a++) {
			char header[128];
			snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\"}", algs[a], kids[k]);
			char want[64];
			snprintf(want, sizeof(want), "algorithm %s is not accepted", algs[a]);
			expect_fail(f, token_raw(header, c, algs[a], NULL, (const uint8_t *)pem, (size_t)pemlen), want);
			expect_fail(f, token_raw(header, c, algs[a], NULL, der, (size_t)derlen), want);
		}
		OPENSSL_free(der);
		BIO_free(bio);
	}
	free(c);
}

static void test_other_algs(void **state)
{
	struct fixture *f = *state;
	const char *algs[] = {"PS256", "RS512", "ES384", "ES512", "EdDSA", "rs256", "es256", "RS256 ", ""};
	char *c = claims("");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		char header[128];
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"rsa1\"}", algs[i]);
		expect_fail(f, token_raw(header, c, "RS256", f->rsa, NULL, 0),
		            "is not accepted (only RS256 and ES256)");
	}
	expect_fail(f, token_raw("{\"kid\":\"rsa1\"}", c, "RS256", f->rsa, NULL, 0), "header has no alg");
	expect_fail(f, token_raw("{\"alg\":256,\"kid\":\"rsa1\"}", c, "RS256", f->rsa, NULL, 0), "header has no alg");
	free(c);
}

static void test_alg_key_mismatch(void **state)
{
	struct fixture *f = *state;
	char *c = claims("");
	/* ES256 header naming the RSA key, whatever signs it. */
	expect_fail(f, token_raw("{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", c, "ES256", f->ec, NULL, 0),
	            "algorithm ES256 does not match key \"rsa1\" (an RSA key)");
	expect_fail(f, token_raw("{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", c, "RS256", f->rsa, NULL, 0),
	            "does not match key");
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"kid\":\"ec1\"}", c, "RS256", f->rsa, NULL, 0),
	            "algorithm RS256 does not match key \"ec1\" (an EC key)");
	free(c);
}

static void test_kid(void **state)
{
	struct fixture *f = *state;
	char *c = claims("");
	expect_fail(f, token("RS256", "k9", f->rsa, c), "unknown key id \"k9\"");
	expect_fail(f, token("RS256", "RSA1", f->rsa, c), "unknown key id \"RSA1\"");
	expect_fail(f, token_raw("{\"alg\":\"RS256\"}", c, "RS256", f->rsa, NULL, 0), "token header has no kid");
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"kid\":1}", c, "RS256", f->rsa, NULL, 0), "kid is not a string");
	/* An unprintable kid is not echoed raw. */
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"kid\":\"a\\nb\\\"c\"}", c, "RS256", f->rsa, NULL, 0),
	            "unknown key id \"a?b?c\"");
	/* A jwk header (embedded key) is never used: still the kid decides. */
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\"}}", c, "RS256", f->rsa, NULL, 0),
	            "token header has no kid");
	free(c);
}

/* ---- malformed tokens ---- */

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct auth_principal p;
	char *good = token_claims("RS256", "rsa1", f->rsa, "");
	char *s;

	assert_int_equal(auth_verify(f->keys, NULL, NOW, &p, err, sizeof(err)), TERN_EINVAL);
	assert_contains(err, "no token");
	expect_fail(f, xstrdup(""), "no token");
	expect_fail(f, xstrdup("abc"), "expected 3 dot-separated parts, found 1");
	s = xstrndup(good, (size_t)(strrchr(good, '.') - good));
	expect_fail(f, s, "expected 3 dot-separated parts, found 2");
	s = xmalloc(strlen(good) + 8);
	sprintf(s, "%s.AAAA", good);
	expect_fail(f, s, "expected 3 dot-separated parts, found 4");
	expect_fail(f, xstrdup(".."), "header is not a JSON object");
	/* Bad base64url in each part. */
	s = xstrdup(good);
	s[3] = '@';
	expect_fail(f, s, "header is not valid base64url");
	s = xstrdup(good);
	*(strchr(s, '.') + 3) = '+';
	expect_fail(f, s, "bad signature"); /* the payload is read only once the signature holds */
	s = xstrdup(good);
	*(strrchr(s, '.') + 3) = '/';
	expect_fail(f, s, "signature is not valid base64url");
	s = xmalloc(strlen(good) + 4);
	sprintf(s, "%s==", good);
	expect_fail(f, s, "signature is not valid base64url");
	/* A part of 4n+1 characters cannot be base64url. */
	expect_fail(f, xstrdup("eyJhbGciOiJSUzI1NiJ9A.e30.AAAA"), "header is not valid base64url");
	/* Unused trailing bits must be zero ("e30" is "{}", "e31" the same bytes, non-canonical). */
	expect_fail(f, xstrdup("e31.e30.AAAA"), "header is not valid base64url");
	expect_fail(f, xstrdup("e30.e30.AAAA"), "header has no alg");
	/* Bad base64url in a signed payload. */
	s = xstrdup(good);
	char *pay = strchr(s, '.') + 1;
	pay[1] = '*';
	expect_fail(f, s, "bad signature");
	/* Header or payload that is not a JSON object, even when properly signed. */
	expect_fail(f, token_raw("[\"RS256\"]", "{}", "RS256", f->rsa, NULL, 0), "header is not a JSON object");
	expect_fail(f, token_raw("{\"alg\":\"RS256\"", "{}", "RS256", f->rsa, NULL, 0), "header is not a JSON object");
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "[\"sub\",\"t1\"]", "RS256", f->rsa, NULL, 0),
	            "payload is not a JSON object");
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "\"t1\"", "RS256", f->rsa, NULL, 0),
	            "payload is not a JSON object");
	expect_fail(f, token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "not json", "RS256", f->rsa, NULL, 0),
	            "payload is not a JSON object");
	/* Duplicate members are ambiguous: refused. */
	expect_fail(f,
	            token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}",
	                      "{\"sub\":\"t1\",\"sub\":\"admin\",\"exp\":9999999999}", "RS256", f->rsa, NULL, 0),
	            "payload is not a JSON object");
	expect_fail(f,
	            token_raw("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"rsa1\"}", "{}", "RS256", f->rsa, NULL, 0),
	            "header is not a JSON object");
	/* crit names extensions we do not understand. */
	char *c = claims("");
	expect_fail(f,
	            token_raw("{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"b64\"],\"b64\":false}", c, "RS256",
	                      f->rsa, NULL, 0),
	            "header crit is not supported");
	/* A huge token is refused before anything is decoded. */
	s = xmalloc(AUTH_TOKEN_MAX + 2);
	memset(s, 'A', AUTH_TOKEN_MAX + 1);
	s[10] = s[20] = '.';
	s[AUTH_TOKEN_MAX + 1] = 0;
	expect_fail(f, s, "token too long");
	/* A big signed payload (many claims) over the limit too. */
	char *big = xmalloc(7000);
	memset(big, 'x', 6999);
	big[6999] = 0;
	char *extra = xmalloc(7100);
	sprintf(extra, ",\"pad\":\"%s\"", big);
	expect_fail(f, token_claims("RS256", "rsa1", f->rsa, extra), "token too long");
	/* Exactly at the limit it is still decoded. */
	s = xmalloc(AUTH_TOKEN_MAX + 1);
	memset(s, 'A', AUTH_TOKEN_MAX);
	s[8] = s[20] = '.';
	s[AUTH_TOKEN_MAX] = 0;
	expect_fail(f, s, "header is not a JSON object");
	free(big);
	free(extra);
	free(c);
	free(good);
}

/* ---- sub and role ---- */

static char *with_payload(struct fixture *f, const char *body)
{
	char payload[2048];
	snprintf(payload, sizeof(payload), "{\"exp\":%lld%s}", (long long)NOW + 600, body);
	return token("ES256", "ec1", f->ec, payload);
}

static void test_sub(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	char body[300], name[200];
	expect_fail(f, with_payload(f, ""), "token has no sub claim");
	expect_fail(f, with_payload(f, ",\"sub\":\"\""), "sub claim is empty");
	expect_fail(f, with_payload(f, ",\"sub\":42"), "sub claim is not a string");
	expect_fail(f, with_payload(f, ",\"sub\":null"), "sub claim is not a string");
	expect_fail(f, with_payload(f, ",\"sub\":[\"t1\"]"), "sub claim is not a string");
	expect_fail(f, with_payload(f, ",\"sub\":\"t\\u0001\""), "control character");
	memset(name, 'a', AUTH_TENANT_MAX + 1);
	name[AUTH_TENANT_MAX + 1] = 0;
	snprintf(body, sizeof(body), ",\"sub\":\"%s\"", name);
	expect_fail(f, with_payload(f, body), "sub claim is longer than 128 bytes");
	name[AUTH_TENANT_MAX] = 0;
	snprintf(body, sizeof(body), ",\"sub\":\"%s\"", name);
	expect_ok(f, with_payload(f, body), &p);
	assert_string_equal(p.tenant, name);
	auth_principal_free(&p);
	expect_ok(f, with_payload(f, ",\"sub\":\"t\\u00e9nant\""), &p);
	assert_string_equal(p.tenant, "t\xc3\xa9nant");
	auth_principal_free(&p);
}

static void test_role(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	expect_ok(f, with_payload(f, ",\"sub\":\"ops\",\"role\":\"admin\""), &p);
	assert_true(p.admin);
	assert_string_equal(p.tenant, "ops");
	auth_principal_free(&p);
	expect_ok(f, with_payload(f, ",\"sub\":\"ops\",\"role\":\"user\""), &p);
	assert_false(p.admin);
	auth_principal_free(&p);
	expect_ok(f, with_payload(f, ",\"sub\":\"ops\",\"role\":\"Admin\""), &p);
	assert_false(p.admin);
	auth_principal_free(&p);
	expect_ok(f, with_payload(f, ",\"sub\":\"ops\",\"admin\":true"), &p);
	assert_false(p.admin);
	auth_principal_free(&p);
	expect_fail(f, with_payload(f, ",\"sub\":\"ops\",\"role\":[\"admin\"]"), "role claim is not a string");
	expect_fail(f, with_payload(f, ",\"sub\":\"ops\",\"role\":true"), "role claim is not a string");
}

/* ---- scope ---- */

static void scoped(struct fixture *f, const char *scope, struct auth_principal *p)
{
	char body[1536];
	snprintf(body, sizeof(body), ",\"sub\":\"t1\",\"scope\":%s", scope);
	expect_ok(f, with_payload(f, body), p);
}

static void scope_fails(struct fixture *f, const char *scope, const char *message)
{
	char body[1536];
	snprintf(body, sizeof(body), ",\"sub\":\"t1\",\"scope\":%s", scope);
	expect_fail(f, with_payload(f, body), message);
}

/* A scope entry holds the lower-case wire form of text (written back by name_to_text()). */
static void assert_scope_name(const struct auth_scope_name *e, bool wild, const char *text)
{
	char buf[NAME_MAXLEN * 4 + 1];
	assert_non_null(e->name);
	assert_true(name_check(e->name, NAME_MAXLEN) > 0);
	assert_true(name_to_text(e->name, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, text);
	assert_int_equal(e->wild, wild);
}

static void test_scope_parse(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	scoped(f,
	       "{\"read_only\":false,\"zones\":[\"Example.COM.\",\"example.org\"],"
	       "\"names\":[\"_acme-challenge.example.com\",\"*.Example.org.\"],\"types\":[\"txt\",\"TYPE99\"]}",
	       &p);
	assert_false(p.scope.read_only);
	assert_true(p.scope.has_zones && p.scope.has_names && p.scope.has_types);
	assert_int_equal(p.scope.nzones, 2);
	assert_scope_name(&p.scope.zones[0], false, "example.com.");
	assert_scope_name(&p.scope.zones[1], false, "example.org.");
	assert_int_equal(p.scope.nnames, 2);
	assert_scope_name(&p.scope.names[0], false, "_acme-challenge.example.com.");
	assert_scope_name(&p.scope.names[1], true, "example.org.");
	assert_int_equal(p.scope.ntypes, 2);
	assert_string_equal(p.scope.types[0].name, "TXT");
	assert_int_equal(p.scope.types[0].code, 0);
	assert_int_equal(p.scope.types[1].code, 99);
	auth_principal_free(&p);

	scoped(f, "{}", &p);
	assert_false(p.scope.read_only || p.scope.has_zones || p.scope.has_names || p.scope.has_types);
	auth_principal_free(&p);
	scoped(f, "{\"read_only\":true,\"zones\":[]}", &p);
	assert_true(p.scope.read_only);
	assert_true(p.scope.has_zones);
	assert_int_equal(p.scope.nzones, 0);
	auth_principal_free(&p);

	scope_fails(f, "[]", "scope claim is not an object");
	scope_fails(f, "\"read\"", "scope claim is not an object");
	scope_fails(f, "{\"read_only\":\"yes\"}", "scope.read_only is not a boolean");
	scope_fails(f, "{\"read_only\":1}", "scope.read_only is not a boolean");
	scope_fails(f, "{\"zones\":\"example.com\"}", "scope.zones is not an array");
	scope_fails(f, "{\"names\":{}}", "scope.names is not an array");
	scope_fails(f, "{\"types\":16}", "scope.types is not an array");
	scope_fails(f, "{\"zones\":[\"example.com\",1]}", "scope.zones[1] is not a string");
	scope_fails(f, "{\"names\":[null]}", "scope.names[0] is not a string");
	scope_fails(f, "{\"types\":[16]}", "scope.types[0] is not a string");
	scope_fails(f, "{\"zones\":[\"a..b\"]}", "scope.zones[0]: \"a..b\" is not a domain name");
	scope_fails(f, "{\"zones\":[\"\"]}", "scope.zones[0]: \"\" is not a domain name");
	scope_fails(f, "{\"zones\":[\".\"]}", "scope.zones[0]");
	scope_fails(f, "{\"zones\":[\"*.example.com\"]}", "scope.zones[0]: \"*.example.com\" is not a domain name");
	scope_fails(f, "{\"names\":[\"ok.example\",\"a b.example\"]}", "scope.names[1]: \"a b.example\"");
	scope_fails(f, "{\"names\":[\"x.*.example\"]}", "scope.names[0]");
	scope_fails(f, "{\"names\":[\"*\"]}", "scope.names[0]");
	scope_fails(f, "{\"names\":[\"*.\"]}", "scope.names[0]");
	scope_fails(f, "{\"names\":[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\"]}",
	            "scope.names[0]");
	scope_fails(f, "{\"types\":[\"T X T\"]}", "scope.types[0]: \"T X T\" is not an RR type");
	scope_fails(f, "{\"types\":[\"\"]}", "scope.types[0]");
	scope_fails(f, "{\"types\":[\"TYPE0\"]}", "scope.types[0]");
	scope_fails(f, "{\"types\":[\"TYPE65536\"]}", "scope.types[0]");
	scope_fails(f, "{\"types\":[\"TYPE0000000016\"]}", "scope.types[0]");
	scope_fails(f, "{\"types\":[\"1TXT\"]}", "scope.types[0]");
	scope_fails(f, "{\"types\":[\"VERYLONGTYPENAME\"]}", "scope.types[0]");
	scope_fails(f, "{\"readonly\":true}", "scope has unknown field \"readonly\"");
	scope_fails(f, "{\"read_only\":true,\"read_only\":false}", "payload is not a JSON object");
}

/* Scope names go through the library's name parser once, when the token is accepted: escapes,
 * case, the trailing dot and a literal '*' give wire names; what is no name refuses the token,
 * saying why. */
static void test_scope_names_wire(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p;
	scoped(f,
	       "{\"zones\":[\"\\\\069xample.COM\",\"xn--bcher-kva.example.\"],"
	       "\"names\":[\"x\\\\.y.example.com\",\"\\\\*.lit.example.com\",\"*.\\\\068YN.example.com.\","
	       "\"a\\\\032b.example.com\",\"\\\\*\"]}",
	       &p);
	assert_int_equal(p.scope.nzones, 2);
	assert_scope_name(&p.scope.zones[0], false, "example.com.");
	assert_scope_name(&p.scope.zones[1], false, "xn--bcher-kva.example.");
	assert_int_equal(p.scope.nnames, 5);
	assert_scope_name(&p.scope.names[0], false, "x\\.y.example.com."); /* one label "x.y" */
	assert_scope_name(&p.scope.names[1], false, "*.lit.example.com."); /* a literal '*' label */
	assert_scope_name(&p.scope.names[2], true, "dyn.example.com.");
	assert_scope_name(&p.scope.names[3], false, "a\\032b.example.com.");
	assert_scope_name(&p.scope.names[4], false, "*.");
	auth_principal_free(&p);

	/* 3 labels of 63 and one of 61: 255 octets, the most a name holds */
	char l63[64], big[400], body[600];
	memset(l63, 'a', 63);
	l63[63] = 0;
	snprintf(big, sizeof(big), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	snprintf(body, sizeof(body), "{\"names\":[\"%s\"]}", big);
	scoped(f, body, &p);
	assert_int_equal(name_len(p.scope.names[0].name), 255);
	auth_principal_free(&p);
	snprintf(body, sizeof(body), "{\"names\":[\"%s.%s.%s.%.62s\"]}", l63, l63, l63, l63);
	scope_fails(f, body, "scope.names[0]: \"aaaa");
	scope_fails(f, body, "longer than 255 octets in wire form");
	snprintf(body, sizeof(body), "{\"zones\":[\"a%s.example\"]}", l63);
	scope_fails(f, body, "label longer than 63 octets");
	/* an escape is one octet: 63 of them make a label that fits */
	snprintf(body, sizeof(body), "{\"names\":[\"%s.example\"]}",
	         "\\\\065\\\\065\\\\065aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	scoped(f, body, &p);
	assert_int_equal(p.scope.names[0].name[0], 63);
	auth_principal_free(&p);

	scope_fails(f, "{\"names\":[\"x.*.example\"]}", "'*' is a wildcard only as the whole first label");
	scope_fails(f, "{\"names\":[\"*x.example\"]}", "'*' is a wildcard only as the whole first label");
	scope_fails(f, "{\"names\":[\"*.*.example\"]}", "'*' is a wildcard only as the whole first label");
	scope_fails(f, "{\"zones\":[\"*.example\"]}", "'*' in a zone name");
	scope_fails(f, "{\"names\":[\"*\"]}", "a wildcard needs a suffix");
	scope_fails(f, "{\"names\":[\"*.\"]}", "a wildcard needs a suffix");
	scope_fails(f, "{\"names\":[\"*..\"]}", "a wildcard over every name");
	scope_fails(f, "{\"names\":[\".\"]}", "the root is not a scope");
	scope_fails(f, "{\"names\":[\"@\"]}", "\"@\" has no origin in a scope");
	scope_fails(f, "{\"names\":[\".example\"]}", "empty label");
	scope_fails(f, "{\"names\":[\"a..example\"]}", "empty label");
	scope_fails(f, "{\"names\":[\"a.example..\"]}", "empty label");
	scope_fails(f, "{\"names\":[\"a\\\\\"]}", "bad escape (a backslash ends the name)");
	scope_fails(f, "{\"names\":[\"\\\\25.example\"]}", "bad escape (\\DDD takes three digits");
	scope_fails(f, "{\"names\":[\"\\\\256.example\"]}", "bad escape");
	scope_fails(f, "{\"names\":[\"a b.example\"]}", "space or control character");
	scope_fails(f, "{\"names\":[\"a\\tb.example\"]}", "space or control character");
	scope_fails(f, "{\"zones\":[\"b\\u00fccher.example\"]}", "non-ASCII character (write an IDN as its A-label");
}

/* One row of the decision table. */
struct allow_case {
	const char *zone, *name;
	uint16_t type;
	bool write, want;
};

static void check_table(const char *scope_json, const struct auth_principal *p, const struct allow_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool got = allows(p, c[i].zone, c[i].name, c[i].type, c[i].write);
		if (got != c[i].want)
			fail_msg("scope %s: auth_allows(%s, %s, %u, %s) = %d, want %d", scope_json,
			         c[i].zone ? c[i].zone : "NULL", c[i].name ? c[i].name : "NULL", c[i].type,
			         c[i].write ? "write" : "read", got, c[i].want);
	}
}

#define TABLE(f, scope, rows)                                                                                          \
	do {                                                                                                           \
		struct auth_principal p_;                                                                              \
		scoped(f, scope, &p_);                                                                                 \
		check_table(scope, &p_, rows, sizeof(rows) / sizeof(rows[0]));                                         \
		auth_principal_free(&p_);                                                                              \
	} while (0)

enum { A = 1, NS = 2, TXT = 16, AAAA = 28, CAA = 257 };

static void test_allows_read_only(void **state)
{
	struct fixture *f = *state;
	static const struct allow_case rows[] = {
	    {"example.com", "www.example.com", A, false, true},
	    {"example.com", "www.example.com", A, true, false},
	    {"example.com", NULL, 0, false, true},
	    {"example.com", NULL, 0, true, false}, /* delete zone */
	    {NULL, NULL, 0, false, true}, /* list zones */
	    {NULL, NULL, 0, true, false},
	    {"example.com", "www.example.com", 0, false, true},
	};
	TABLE(f, "{\"read_only\":true}", rows);
	static const struct allow_case rw[] = {
	    {"example.com", "www.example.com", A, true, true},
	    {"example.com", NULL, 0, true, true},
	    {NULL, NULL, 0, true, true},
	};
	TABLE(f, "{\"read_only\":false}", rw);
}

static void test_allows_zones(void **state)
{
	struct fixture *f = *state;
	static const struct allow_case rows[] = {
	    {"example.com", "www.example.com", A, true, true},
	    {"EXAMPLE.com.", "www.example.com", A, true, true},
	    {"example.com.", NULL, 0, true, true}, /* create/delete a listed zone */
	    {"example.net", NULL, 0, true, false}, /* another zone */
	    {"example.net", NULL, 0, false, false},
	    {"example.net", "www.example.net", A, false, false},
	    {"sub.example.com", NULL, 0, false, false}, /* zones are exact, not suffixes */
	    {"com", NULL, 0, false, false},
	    {NULL, NULL, 0, false, true}, /* list: the caller filters */
	    {NULL, NULL, 0, true, false}, /* not tied to a zone: cannot be written */
	    {NULL, "www.example.com", A, false, false},
	};
	TABLE(f, "{\"zones\":[\"example.com\",\"example.org\"]}", rows);
	static const struct allow_case none[] = {
	    {"example.com", NULL, 0, false, false},
	    {NULL, NULL, 0, false, true},
	    {NULL, NULL, 0, true, false},
	};
	TABLE(f, "{\"zones\":[]}", none);
}

static void test_allows_names(void **state)
{
	struct fixture *f = *state;
	static const struct allow_case rows[] = {
	    {"example.com", "_acme-challenge.example.com", TXT, true, true},
	    {"example.com", "_ACME-Challenge.Example.Com.", TXT, true, true},
	    {"example.com", "www.example.com", TXT, true, false},
	    {"example.com", "x._acme-challenge.example.com", TXT, true, false}, /* exact, not below */
	    {"example.com", "www.example.com", A, false, false},
	    {"example.org", "a.example.org", A, true, true}, /* *.example.org */
	    {"example.org", "a.b.example.org", A, true, true}, /* any depth */
	    {"example.org", "A.EXAMPLE.ORG.", A, true, true},
	    {"example.org", "example.org", A, true, false}, /* strictly below */
	    {"example.org", "example.org.", A, false, false},
	    {"example.org", "aexample.org", A, true, false},
	    {"example.org", "wwwexample.org", A, true, false}, /* label boundary */
	    {"example.org", "*.example.org", A, true, true},
	    {"example.com", NULL, 0, false, true}, /* show the zone: the caller filters names */
	    {"example.com", NULL, 0, true, false}, /* create/delete a zone: refused */
	    {NULL, NULL, 0, false, true},
	    {NULL, NULL, 0, true, false},
	};
	TABLE(f, "{\"names\":[\"_acme-challenge.example.com.\",\"*.example.org\"]}", rows);
}

static void test_allows_types(void **state)
{
	struct fixture *f = *state;
	static const struct allow_case rows[] = {
	    {"example.com", "www.example.com", TXT, true, true},
	    {"example.com", "www.example.com", CAA, true, true},
	    {"example.com", "www.example.com", 99, true, true}, /* TYPE99 */
	    {"example.com", "www.example.com", A, true, false},
	    {"example.com", "www.example.com", AAAA, false, false},
	    {"example.com", "www.example.com", 0, false, true}, /* all types at a name: filter */
	    {"example.com", "www.example.com", 0, true, false}, /* e.g. delete every RRset at the name */
	    {"example.com", NULL, 0, false, true},
	    {"example.com", NULL, 0, true, false},
	    {NULL, NULL, 0, true, false},
	};
	TABLE(f, "{\"types\":[\"TXT\",\"caa\",\"TYPE99\"]}", rows);
}

/* Names are compared as wire-form labels, never as text: an escaped dot is part of a label, an
 * escape is the octet it stands for, case is folded, a trailing dot changes nothing. */
static void test_allows_wire(void **state)
{
	struct fixture *f = *state;
	static const struct allow_case wild[] = {
	    {"example.com", "x.dyn.example.com", TXT, true, true},
	    {"example.com", "a.b.dyn.example.com", TXT, true, true},
	    {"example.com", "X.DYN.Example.COM.", TXT, true, true},
	    {"example.com", "\\120.\\100yn.example.com", TXT, true, true}, /* x.dyn, escaped */
	    {"example.com", "\\200.dyn.example.com", TXT, true, true}, /* any octet makes a label */
	    {"example.com", "*.dyn.example.com", TXT, true, true}, /* a literal '*' owner is below */
	    /* the bypass: one label "x.dyn" directly under the apex, whose text ends in ".dyn.example.com" */
	    {"example.com", "x\\.dyn.example.com", TXT, true, false},
	    {"example.com", "x\\.dyn.example.com", TXT, false, false},
	    {"example.com", "x\\046dyn.example.com", TXT, true, false}, /* the same name, \DDD */
	    {"example.com", "a.x\\.dyn.example.com", TXT, true, false},
	    {"example.com", "\\.dyn.example.com", TXT, true, false},
	    {"example.com", "dyn.example.com", TXT, true, false}, /* strictly below */
	    {"example.com", "xdyn.example.com", TXT, true, false},
	    {"example.com", "dyndyn.example.com", TXT, true, false},
	    {"example.com", "x.dyn\\.example.com", TXT, true, false},
	    {"example.com", "x.dyn.example.com.example.com", TXT, true, false},
	    {"example\\.com", "x.dyn.example\\.com", TXT, true, false}, /* a zone of one label */
	    {"example.com", NULL, 0, false, true},
	    {"example.com", NULL, 0, true, false},
	};
	TABLE(f, "{\"zones\":[\"example.com\"],\"names\":[\"*.dyn.example.com\"]}", wild);
	static const struct allow_case exact[] = {
	    {"example.com", "dyn.example.com", TXT, true, true},
	    {"example.com", "DYN.example.com.", TXT, true, true},
	    {"example.com", "\\100yn.example.com", TXT, true, true},
	    {"example.com", "dyndyn.example.com", TXT, true, false}, /* not a suffix match */
	    {"example.com", "x.dyn.example.com", TXT, true, false},
	    {"example.com", "x\\.dyn.example.com", TXT, true, false},
	    {"example.com", "a.b.example.com", TXT, true, false}, /* the scope's label is "a.b" */
	    {"example.com", "a\\.b.example.com", TXT, true, true},
	    {"example.com", "A\\046B.example.com", TXT, true, true},
	    {"example.com", "*.lit.example.com", TXT, true, true}, /* "\*": the literal label only */
	    {"example.com", "x.lit.example.com", TXT, true, false},
	    {"example.com", "xn--bcher-kva.example.com", TXT, true, true}, /* A-labels are labels */
	    {"example.com", "XN--BCHER-KVA.example.com", TXT, true, true},
	    {"example.com", "xn--bcher-kva2.example.com", TXT, true, false},
	};
	TABLE(f,
	      "{\"names\":[\"dyn.example.com\",\"a\\\\.b.example.com\",\"\\\\*.lit.example.com\","
	      "\"xn--bcher-kva.example.com.\"]}",
	      exact);
	static const struct allow_case zones[] = {
	    {"example.com", NULL, 0, true, true},
	    {"EXAMPLE.COM.", NULL, 0, true, true},
	    {"\\101xample.com", NULL, 0, true, true},
	    {"example\\.com", NULL, 0, false, false}, /* one label "example.com" */
	    {"x.example.com", NULL, 0, false, false},
	    {"sub.example.com", "www.sub.example.com", A, true, false},
	    {"a.b", "www.a.b", A, true, true},
	    {"a\\.b", "www.a\\.b", A, true, false},
	};
	TABLE(f, "{\"zones\":[\"Example.com\",\"a.b.\"]}", zones);
}

/* The ACME token of the issue: only _acme-challenge TXT records, in one zone. */
static void test_allows_acme(void **state)
{
	struct fixture *f = *state;
	static const struct allow_case rows[] = {
	    {"example.com", "_acme-challenge.example.com", TXT, true, true},
	    {"example.com", "_acme-challenge.example.com", TXT, false, true},
	    {"example.com", "_acme-challenge.www.example.com", TXT, true, true},
	    {"example.com", "_acme-challenge.example.com", A, true, false},
	    {"example.com", "_acme-challenge.example.com", CAA, true, false},
	    {"example.com", "www.example.com", TXT, true, false},
	    {"example.com", "example.com", NS, true, false},
	    {"example.net", "_acme-challenge.example.net", TXT, true, false},
	    {"example.com", NULL, 0, true, false},
	    {NULL, NULL, 0, true, false},
	    {"example.com", "_acme-challenge.example.com", 0, true, false},
	};
	TABLE(f,
	      "{\"zones\":[\"example.com\"],\"names\":[\"_acme-challenge.example.com\","
	      "\"_acme-challenge.www.example.com\"],\"types\":[\"TXT\"]}",
	      rows);
	static const struct allow_case ro[] = {
	    {"example.com", "_acme-challenge.example.com", TXT, true, false},
	    {"example.com", "_acme-challenge.example.com", TXT, false, true},
	};
	TABLE(f, "{\"read_only\":true,\"names\":[\"_acme-challenge.example.com\"],\"types\":[\"TXT\"]}", ro);
}

/* An ingress token: the service ids it names, nothing else allowed, copied whole; refused when
 * combined with other lists, when an id is not a lower-case UUID, when too many are listed. */
static void test_scope_ingress(void **state)
{
	struct fixture *f = *state;
	struct auth_principal p, c;
	static const char *const id1 = "0f8b5a52-2c1e-4c3b-9d7e-1a2b3c4d5e6f",
	                         *id2 = "9e1a6b33-7d2f-4e8a-a1b2-c3d4e5f60718";
	char scope[512];
	snprintf(scope, sizeof(scope), "{\"ingress\":[\"%s\",\"%s\"]}", id1, id2);
	scoped(f, scope, &p);
	assert_true(p.scope.has_ingress);
	assert_int_equal(p.scope.ningress, 2);
	assert_string_equal(p.scope.ingress[0], id1);
	assert_true(auth_ingress_allows(&p, id1) && auth_ingress_allows(&p, id2));
	assert_false(auth_ingress_allows(&p, "00000000-0000-4000-8000-000000000000"));
	/* no zone operation at all, read or write */
	assert_false(auth_allows(&p, NULL, NULL, 0, false));
	assert_false(allows(&p, "example.com", NULL, 0, false));
	assert_false(allows(&p, "example.com", "www.example.com", 1, false));
	assert_int_equal(auth_principal_copy(&c, &p), 0);
	assert_true(c.scope.has_ingress && c.scope.ningress == 2 && c.scope.ingress != p.scope.ingress);
	assert_true(auth_ingress_allows(&c, id2));
	auth_principal_free(&c);
	auth_principal_free(&p);
	/* an ordinary token names no service */
	scoped(f, "{\"read_only\":true}", &p);
	assert_false(auth_ingress_allows(&p, id1));
	auth_principal_free(&p);
	scope_fails(f, "{\"zones\":[\"example.com\"],\"ingress\":[]}", "cannot be combined");
	scope_fails(f, "{\"ingress\":\"x\"}", "scope.ingress is not an array");
	scope_fails(f, "{\"ingress\":[\"0F8B5A52-2C1E-4C3B-9D7E-1A2B3C4D5E6F\"]}", "scope.ingress[0]");
	scope_fails(f, "{\"ingress\":[\"../zones\"]}", "is not a service id");
	scope_fails(f, "{\"ingress\":[7]}", "not a string");
	char many[1536] = "{\"ingress\":[";
	for (int i = 0; i <= AUTH_INGRESS_MAX; i++)
		strcat(many, i ? ",\"a\"" : "\"a\"");
	strcat(many, "]}");
	scope_fails(f, many, "at most 64");
}

/* ---- JWKS errors ---- */

static void jwks_fails(char *json, const char *message)
{
	char err[512] = "";
	struct auth_keys *untouched = (struct auth_keys *)&err, *k = untouched;
	int rc = auth_keys_load_string(json, strlen(json), "jwks.json", &k, err, sizeof(err));
	free(json);
	if (rc == 0) {
		auth_keys_free(k);
		fail_msg("JWKS accepted; expected \"%s\"", message);
	}
	assert_int_equal(rc, TERN_ECONFIG);
	assert_ptr_equal(k, untouched);
	assert_contains(err, message);
}

/* What a lenient load (a fetched set) left out, in order. */
struct skips {
	unsigned n;
	char why[4][256];
};

static void note_skip(void *arg, const char *why)
{
	struct skips *s = arg;
	if (s->n < 4)
		snprintf(s->why[s->n], sizeof(s->why[0]), "%s", why);
	s->n++;
}

/* A fetched set: keys that cannot be used are left out with their reason, the rest verify tokens;
 * a set with none left, or that is no JWKS, is refused. */
static void test_jwks_lenient(void **state)
{
	struct fixture *f = *state;
	struct skips sk = {0};
	struct auth_keys *k = NULL;
	char err[512] = "";
	char *json = jwks_of(jwk_ec(f->ec, "enc1", "P-256", 32, ",\"use\":\"enc\""), jwk_rsa(f->rsa, "rsa1", ""),
	                     jwk_rsa(f->rsa, "rsa1", ""));
	assert_int_equal(
	    auth_keys_load_lenient(json, strlen(json), "https://idp/jwks", note_skip, &sk, &k, err, sizeof(err)), 0);
	free(json);
	assert_int_equal(auth_keys_count(k), 1);
	assert_true(auth_keys_has(k, "rsa1"));
	assert_false(auth_keys_has(k, "enc1"));
	assert_int_equal(sk.n, 2);
	assert_contains(sk.why[0], "https://idp/jwks: keys[0]: use:");
	assert_contains(sk.why[1], "keys[2]: kid: duplicate key id \"rsa1\"");
	char *tok = token_claims("RS256", "rsa1", f->rsa, "");
	struct auth_principal p;
	assert_int_equal(auth_verify(k, tok, NOW, &p, err, sizeof(err)), 0);
	auth_principal_free(&p);
	free(tok);
	auth_keys_free(k);

	/* nothing usable left */
	k = NULL;
	sk.n = 0;
	json = jwks_of(jwk_ec(f->ec, "k1", "P-256", 32, ",\"d\":\"AQAB\""), NULL, NULL);
	assert_int_equal(auth_keys_load_lenient(json, strlen(json), "idp", note_skip, &sk, &k, err, sizeof(err)),
	                 TERN_ECONFIG);
	free(json);
	assert_null(k);
	assert_int_equal(sk.n, 1);
	assert_contains(err, "idp: keys: no key that can verify a token");
	/* not a key set at all: refused whole, nothing skipped */
	sk.n = 0;
	static const char html[] = "<html>sign in</html>";
	assert_int_equal(auth_keys_load_lenient(html, strlen(html), "idp", note_skip, &sk, &k, err, sizeof(err)),
	                 TERN_ECONFIG);
	assert_int_equal(sk.n, 0);
	assert_contains(err, "not valid JSON");
}

/* A key set's Cache-Control, as a provider writes it. */
static void test_jwks_max_age(void **state)
{
	(void)state;
	assert_int_equal(auth_jwks_max_age("max-age=300"), 300);
	assert_int_equal(auth_jwks_max_age("public, Max-Age = 60, must-revalidate"), 60);
	assert_int_equal(auth_jwks_max_age("s-maxage=5, max-age=7"), 7);
	assert_int_equal(auth_jwks_max_age("no-cache"), -1);
	assert_int_equal(auth_jwks_max_age("max-age="), -1);
	assert_int_equal(auth_jwks_max_age("max-age=-5"), -1);
	assert_int_equal(auth_jwks_max_age("max-age=abc, max-age=9"), 9);
	assert_int_equal(auth_jwks_max_age(""), -1);
}

static void test_jwks_errors(void **state)
{
	struct fixture *f = *state;
	jwks_fails(jwks_of(jwk_rsa(f->rsa, "k1", ""), jwk_ec(f->ec, "k1", "P-256", 32, ""), NULL),
	           "jwks.json: keys[1]: kid: duplicate key id \"k1\" (also keys[0])");
	jwks_fails(jwks_of(jwk_rsa(f->rsa, "k1", ",\"d\":\"AQAB\""), NULL, NULL),
	           "jwks.json: keys[0]: d: private key material in a public JWKS is refused");
	jwks_fails(
	    jwks_of(jwk_ec(f->ec, "e", "P-256", 32, ""), jwk_ec(f->ec2, "k1", "P-256", 32, ",\"d\":\"AQAB\""), NULL),
	    "jwks.json: keys[1]: d: private key material");
	jwks_fails(jwks_of(jwk_rsa(f->rsa, "k1", ",\"p\":\"AQAB\""), NULL, NULL), "keys[0]: p: private key material");
	jwks_fails(jwks_of(jwk_ec(f->ec384, "k384", "P-384", 48, ""), NULL, NULL),
	           "jwks.json: keys[0]: crv: unsupported curve \"P-384\" (only P-256)");
	jwks_fails(jwks_of(jwk_ec(f->ec384, "k384", "P-256", 48, ""), NULL, NULL),
	           "keys[0]: x: 48 bytes, P-256 coordinates take 32");
	jwks_fails(jwks_of(jwk_rsa(f->rsa_short, "short", ""), NULL, NULL),
	           "jwks.json: keys[0]: n: RSA key of 1024 bits (2048 to 16384 accepted)");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"}"), NULL, NULL),
	           "keys[0]: kty: unsupported key type \"oct\" (RSA or EC)");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"OKP\",\"kid\":\"h\",\"crv\":\"Ed25519\",\"x\":\"AA\"}"), NULL, NULL),
	           "kty: unsupported key type \"OKP\"");
	jwks_fails(jwks_of(xstrdup("{\"kid\":\"h\"}"), NULL, NULL), "keys[0]: kty: missing");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"RSA\",\"kid\":\"h\",\"n\":\"ab+c\",\"e\":\"AQAB\"}"), NULL, NULL),
	           "keys[0]: n: bad base64url");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"RSA\",\"kid\":\"h\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"), NULL, NULL),
	           "keys[0]: n: RSA key of 17 bits");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"RSA\",\"kid\":\"h\",\"e\":\"AQAB\"}"), NULL, NULL),
	           "keys[0]: n: missing");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"EC\",\"kid\":\"h\",\"x\":\"AA\",\"y\":\"AA\"}"), NULL, NULL),
	           "keys[0]: crv: missing");
	jwks_fails(jwks_of(jwk_rsa(f->rsa, "k1", ",\"alg\":\"ES256\""), NULL, NULL),
	           "keys[0]: alg: \"ES256\" for a RSA key (only RS256)");
	jwks_fails(jwks_of(jwk_ec(f->ec, "k1", "P-256", 32, ",\"alg\":\"HS256\""), NULL, NULL),
	           "keys[0]: alg: \"HS256\" for a EC key (only ES256)");
	jwks_fails(jwks_of(jwk_ec(f->ec, "k1", "P-256", 32, ",\"use\":\"enc\""), NULL, NULL), "keys[0]: use:");
	jwks_fails(jwks_of(jwk_ec(f->ec, "", "P-256", 32, ""), NULL, NULL), "keys[0]: kid: empty");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"EC\",\"crv\":\"P-256\"}"), NULL, NULL), "keys[0]: kid: missing");
	jwks_fails(jwks_of(xstrdup("{\"kty\":\"EC\",\"kid\":7}"), NULL, NULL), "keys[0]: kid: not a string");
	jwks_fails(jwks_of(xstrdup("\"key\""), NULL, NULL), "keys[0]: not a JSON object");
	/* A point off the curve: x of one key with y of another. */
	char *a = jwk_ec(f->ec, "k1", "P-256", 32, ""), *b = jwk_ec(f->ec2, "k2", "P-256", 32, "");
	strcpy(strstr(a, "\"y\":"), strstr(b, "\"y\":"));
	free(b);
	jwks_fails(jwks_of(a, NULL, NULL), "keys[0]: x: x, y is not a point on P-256");
	/* An even exponent. */
	a = jwk_rsa(f->rsa, "k1", "");
	memcpy(strstr(a, "\"e\":\"AQAB\""), "\"e\":\"AQAC\"", 10);
	jwks_fails(jwks_of(a, NULL, NULL), "keys[0]: e: not a valid RSA public exponent");
	/* Shapes of the file. */
	jwks_fails(xstrdup("{\"keys\":[]}"), "jwks.json: keys: no keys");
	jwks_fails(xstrdup("{\"keys\":{}}"), "a JWKS is an object with a \"keys\" array");
	jwks_fails(xstrdup("[]"), "a JWKS is an object with a \"keys\" array");
	jwks_fails(xstrdup("{\"keys\":[}"), "jwks.json:1: not valid JSON");
}

static void test_jwks_file(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/test_auth_jwks_XXXXXX", err[512];
	struct auth_keys *k = NULL;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->jwks, strlen(f->jwks)), (ssize_t)strlen(f->jwks));
	close(fd);
	assert_int_equal(auth_keys_load(path, &k, err, sizeof(err)), 0);
	assert_int_equal(auth_keys_count(k), 3);
	/* The loaded keys verify tokens as the fixture's do. */
	char *tok = token_claims("RS256", "rsa1", f->rsa, "");
	struct auth_principal p;
	assert_int_equal(auth_verify(k, tok, NOW, &p, err, sizeof(err)), 0);
	auth_principal_free(&p);
	free(tok);
	auth_keys_free(k);
	unlink(path);
	k = NULL;
	assert_int_equal(auth_keys_load(path, &k, err, sizeof(err)), TERN_EIO);
	assert_null(k);
	assert_contains(err, path);
	assert_contains(err, "cannot open");
	assert_int_equal(auth_keys_load("/", &k, err, sizeof(err)), TERN_EIO);
	auth_keys_free(NULL);
	assert_int_equal(auth_keys_count(NULL), 0);
	/* No keys at all: every token is refused. */
	tok = token_claims("RS256", "rsa1", f->rsa, "");
	assert_int_equal(auth_verify(NULL, tok, NOW, &p, err, sizeof(err)), TERN_ENOTFOUND);
	assert_contains(err, "unknown key id");
	free(tok);
	/* A NULL or empty error buffer is fine. */
	tok = token_claims("RS256", "k9", f->rsa, "");
	assert_int_equal(auth_verify(f->keys, tok, NOW, &p, NULL, 0), TERN_ENOTFOUND);
	assert_int_equal(auth_verify(f->keys, tok, NOW, &p, err, 0), TERN_ENOTFOUND);
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rs256_valid),   cmocka_unit_test(test_es256_valid),
	    cmocka_unit_test(test_bad_signature), cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_not_yet_valid), cmocka_unit_test(test_leeway_edges),
	    cmocka_unit_test(test_alg_none),      cmocka_unit_test(test_hs256_key_confusion),
	    cmocka_unit_test(test_other_algs),    cmocka_unit_test(test_alg_key_mismatch),
	    cmocka_unit_test(test_kid),           cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_sub),           cmocka_unit_test(test_role),
	    cmocka_unit_test(test_scope_parse),   cmocka_unit_test(test_allows_read_only),
	    cmocka_unit_test(test_allows_zones),  cmocka_unit_test(test_allows_names),
	    cmocka_unit_test(test_allows_types),  cmocka_unit_test(test_allows_acme),
	    cmocka_unit_test(test_allows_wire),   cmocka_unit_test(test_scope_names_wire),
	    cmocka_unit_test(test_scope_ingress), cmocka_unit_test(test_jwks_errors),
	    cmocka_unit_test(test_jwks_lenient),  cmocka_unit_test(test_jwks_max_age),
	    cmocka_unit_test(test_jwks_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
