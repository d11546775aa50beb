/* ACME keys: the P-256 account key and its JWK and RFC 7638 thumbprint, key authorizations,
 * ES256 signatures (raw r || s) and the CSR of an order, over OpenSSL 3. */
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/acme/acme_key.h"

static const char b64url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void set_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char ossl[160] = "";
	if (e)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	ERR_clear_error();
	if (err && errlen)
		snprintf(err, errlen, "%s%s%s", what, ossl[0] ? ": " : "", ossl);
}

size_t acme_b64url(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

bool acme_b64url_alphabet(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

EVP_PKEY *acme_key_new(char *err, size_t errlen)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	if (!k)
		set_err(err, errlen, "cannot make a P-256 key");
	return k;
}

char *acme_key_pem(EVP_PKEY *key, char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL, *data;
	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		set_err(err, errlen, "cannot write the key as PEM");
		goto done;
	}
	long n = BIO_get_mem_data(b, &data);
	out = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (!out) {
		set_err(err, errlen, "out of memory");
		goto done;
	}
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
done:
	BIO_free(b);
	return out;
}

/* Whether k is an EC key on P-256. */
static bool is_p256(EVP_PKEY *k)
{
	char group[64];
	size_t glen = 0;
	return EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) &&
	       strcmp(group, "prime256v1") == 0;
}

EVP_PKEY *acme_key_from_pem(const char *pem, size_t len, char *err, size_t errlen)
{
	if (len > 16384) {
		snprintf(err, errlen, "account key: %zu bytes is too long for a P-256 key in PEM", len);
		return NULL;
	}
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!k) {
		set_err(err, errlen, "account key: not a PEM private key");
		return NULL;
	}
	if (!is_p256(k)) {
		snprintf(err, errlen, "account key: not an EC P-256 key (ES256 needs one)");
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* The public point's coordinates, 32 octets each. */
static int public_xy(EVP_PKEY *key, uint8_t x[32], uint8_t y[32], char *err, size_t errlen)
{
	uint8_t pt[65];
	size_t n = 0;
	if (!is_p256(key)) {
		snprintf(err, errlen, "the key is not an EC P-256 key");
		return TERN_EINVAL;
	}
	if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n) || n != 65 ||
	    pt[0] != 0x04) {
		set_err(err, errlen, "cannot read the key's public point");
		return TERN_EINVAL;
	}
	memcpy(x, pt + 1, 32);
	memcpy(y, pt + 33, 32);
	return 0;
}

int acme_jwk(EVP_PKEY *key, char *out, size_t cap, char *err, size_t errlen)
{
	uint8_t x[32], y[32];
	char bx[48], by[48];
	int rc = public_xy(key, x, y, err, errlen);
	if (rc < 0)
		return rc;
	acme_b64url(x, 32, bx);
	acme_b64url(y, 32, by);
	int n = snprintf(out, cap, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", bx, by);
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "JWK buffer too small");
		return TERN_ESPACE;
	}
	return 0;
}

void acme_thumbprint_of_jwk(const char *jwk, size_t len, char out[ACME_THUMBPRINT_LEN + 1])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)jwk, len, md);
	acme_b64url(md, sizeof(md), out);
}

int acme_thumbprint(EVP_PKEY *key, char out[ACME_THUMBPRINT_LEN + 1], char *err, size_t errlen)
{
	char jwk[160];
	int rc = acme_jwk(key, jwk, sizeof(jwk), err, errlen);
	if (rc < 0)
		return rc;
	acme_thumbprint_of_jwk(jwk, strlen(jwk), out);
	return 0;
}

bool acme_thumbprint_ok(const char *t)
{
	size_t n = strnlen(t, ACME_THUMBPRINT_LEN + 1);
	return n == ACME_THUMBPRINT_LEN && acme_b64url_alphabet(t, n);
}

int acme_key_authorization(const char *token, const char *thumbprint, char *out, size_t cap)
{
	size_t n = strnlen(token, ACME_TOKEN_MAX + 1);
	if (n < ACME_TOKEN_MIN || n > ACME_TOKEN_MAX || !acme_b64url_alphabet(token, n) ||
	    !acme_thumbprint_ok(thumbprint))
		return TERN_EINVAL;
	if (n + 1 + ACME_THUMBPRINT_LEN + 1 > cap)
		return TERN_ESPACE;
	memcpy(out, token, n);
	out[n] = '.';
	memcpy(out + n + 1, thumbprint, ACME_THUMBPRINT_LEN + 1);
	return 0;
}

int acme_sign_es256(EVP_PKEY *key, const void *data, size_t len, char *out, size_t cap, char *err, size_t errlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80], raw[64];
	size_t dlen = sizeof(der);
	ECDSA_SIG *sig = NULL;
	int rc = TERN_EINVAL;
	if (cap < 87) {
		snprintf(err, errlen, "signature buffer too small");
		rc = TERN_ESPACE;
		goto done;
	}
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, der, &dlen, data, len) != 1) {
		set_err(err, errlen, "ES256 signing failed");
		goto done;
	}
	const unsigned char *p = der;
	sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
	const BIGNUM *r = NULL, *s = NULL;
	if (sig)
		ECDSA_SIG_get0(sig, &r, &s);
	if (!sig || BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32) {
		set_err(err, errlen, "ES256 signature not r || s of 32 octets each");
		goto done;
	}
	acme_b64url(raw, sizeof(raw), out);
	rc = 0;
done:
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	return rc;
}

char *acme_csr(EVP_PKEY *key, const char *const *names, size_t nnames, char *err, size_t errlen)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *subject = X509_NAME_new();
	GENERAL_NAMES *sans = GENERAL_NAMES_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	char *out = NULL;
	if (!req || !subject || !sans || !exts || nnames == 0) {
		set_err(err, errlen, nnames ? "out of memory" : "a CSR needs at least one name");
		goto done;
	}
	/* The CN is limited to 64 characters (RFC 5280 ub-common-name); longer names are in the SAN only. */
	if (strlen(names[0]) <= 64 &&
	    !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)names[0], -1, -1, 0)) {
		set_err(err, errlen, "CSR: cannot set the subject");
		goto done;
	}
	for (size_t i = 0; i < nnames; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();
		if (!g || !s || !ASN1_STRING_set(s, names[i], (int)strlen(names[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			set_err(err, errlen, "CSR: out of memory");
			goto done;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(sans, g)) {
			GENERAL_NAME_free(g);
			set_err(err, errlen, "CSR: out of memory");
			goto done;
		}
	}
	if (!X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    !X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) ||
	    !X509_REQ_add_extensions(req, exts) || !X509_REQ_sign(req, key, EVP_sha256())) {
		set_err(err, errlen, "CSR: cannot make or sign the request");
		goto done;
	}
	int n = i2d_X509_REQ(req, &der);
	out = n > 0 ? malloc((size_t)(n + 2) / 3 * 4 + 1) : NULL;
	if (!out) {
		set_err(err, errlen, "CSR: cannot encode the request");
		goto done;
	}
	acme_b64url(der, (size_t)n, out);
done:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(sans);
	X509_NAME_free(subject);
	X509_REQ_free(req);
	return out;
}
