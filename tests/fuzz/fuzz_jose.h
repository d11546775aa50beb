/* The JOSE pieces the token fuzzers share (fuzz_token, fuzz_jwks), on OpenSSL alone and so
 * independent of api/auth_*.c: base64url both ways, keys from PEM, and signing a token. */
#pragma once
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Base64url without padding (malloc'd). */
static inline char *fuzz_b64url_encode(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (!s)
		abort();
	int len = EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	while (len > 0 && s[len - 1] == '=')
		len--;
	s[len] = 0;
	for (char *c = s; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return s;
}

/* Base64url through OpenSSL's decoder (*out malloc'd); false when it is not base64url. */
static inline bool fuzz_b64url_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	char *std = malloc(n + 4);
	uint8_t *buf = malloc(n + 4);
	if (!std || !buf)
		abort();
	for (size_t i = 0; i < n; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	size_t pad = (4 - n % 4) % 4;
	memset(std + n, '=', pad);
	int len = EVP_DecodeBlock(buf, (const unsigned char *)std, (int)(n + pad));
	free(std);
	if (len < 0 || pad == 3) {
		free(buf);
		return false;
	}
	*out = buf;
	*outlen = (size_t)len - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
	return true;
}

/* A private key (or, when !private, a public one) from PEM text. */
static inline EVP_PKEY *fuzz_pem_key(const char *pem, bool private)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = !b        ? NULL
	              : private ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
	                        : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!k)
		abort();
	return k;
}

/* The compact JWS of header and claims (taken as they are) signed with key by SHA-256: ES256's
 * raw r||s when ec (a P-256 key), RS256 otherwise. Malloc'd. */
static inline char *fuzz_sign(EVP_PKEY *key, bool ec, const char *header, size_t hlen, const char *claims, size_t clen)
{
	char *h = fuzz_b64url_encode((const uint8_t *)header, hlen);
	char *c = fuzz_b64url_encode((const uint8_t *)claims, clen);
	size_t n = strlen(h) + strlen(c) + 2;
	char *data = malloc(n);
	if (!data)
		abort();
	snprintf(data, n, "%s.%s", h, c);
	free(h);
	free(c);
	uint8_t sig[512], rs[64];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const uint8_t *)data, strlen(data)) != 1)
		abort();
	EVP_MD_CTX_free(md);
	char *s;
	if (ec) {
		const uint8_t *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32) != 32 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32) != 32)
			abort();
		ECDSA_SIG_free(es);
		s = fuzz_b64url_encode(rs, 64);
	} else {
		s = fuzz_b64url_encode(sig, siglen);
	}
	char *tok = malloc(n + strlen(s) + 1);
	if (!tok)
		abort();
	sprintf(tok, "%s.%s", data, s);
	free(data);
	free(s);
	return tok;
}
