/* Passphrase sealing: scrypt (EVP_KDF "SCRYPT") derives an AES-256 key, AES-256-GCM seals. */
#include "lib/keyseal.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"

#define KEY_LEN 32

__attribute__((format(printf, 4, 5))) static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int keyseal_params_new(struct keyseal_params *kp, uint8_t log2n, char *err, size_t errlen)
{
	memset(kp, 0, sizeof(*kp));
	if (log2n < KEYSEAL_LOG2N_MIN || log2n > KEYSEAL_LOG2N_MAX)
		return fail(TERN_EINVAL, err, errlen, "scrypt cost 2^%u is outside 2^%d to 2^%d", log2n,
		            KEYSEAL_LOG2N_MIN, KEYSEAL_LOG2N_MAX);
	kp->log2n = log2n;
	if (RAND_bytes(kp->salt, sizeof(kp->salt)) != 1 || RAND_bytes(kp->nonce, sizeof(kp->nonce)) != 1)
		return fail(TERN_EIO, err, errlen, "no random numbers for the salt and nonce");
	return 0;
}

int keyseal_pass_check(const char *pass, size_t len, char *err, size_t errlen)
{
	if (!pass || len < KEYSEAL_PASS_MIN)
		return fail(TERN_EINVAL, err, errlen, "the passphrase must be at least %d characters",
		            KEYSEAL_PASS_MIN);
	if (len > KEYSEAL_PASS_MAX)
		return fail(TERN_EINVAL, err, errlen, "the passphrase must be at most %d characters", KEYSEAL_PASS_MAX);
	if (memchr(pass, 0, len))
		return fail(TERN_EINVAL, err, errlen, "the passphrase must not hold a NUL character");
	return 0;
}

/* The AES key from the passphrase. */
static int derive(const char *pass, size_t passlen, const struct keyseal_params *kp, uint8_t key[KEY_LEN], char *err,
                  size_t errlen)
{
	int rc = keyseal_pass_check(pass, passlen, err, errlen);
	if (rc < 0)
		return rc;
	if (kp->log2n < KEYSEAL_LOG2N_MIN || kp->log2n > KEYSEAL_LOG2N_MAX)
		return fail(TERN_EINVAL, err, errlen, "scrypt cost 2^%u is outside 2^%d to 2^%d", kp->log2n,
		            KEYSEAL_LOG2N_MIN, KEYSEAL_LOG2N_MAX);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!ctx)
		return fail(TERN_EIO, err, errlen, "OpenSSL has no scrypt");
	uint64_t n = (uint64_t)1 << kp->log2n;
	uint32_t r = KEYSEAL_R, p = KEYSEAL_P;
	uint64_t maxmem = (uint64_t)130 * n * r + (1u << 20); /* scrypt's 128 N r, and its other buffers */
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, passlen),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)kp->salt, sizeof(kp->salt)),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
	    OSSL_PARAM_construct_end(),
	};
	rc = EVP_KDF_derive(ctx, key, KEY_LEN, params) == 1 ? 0 : TERN_ENOMEM;
	EVP_KDF_CTX_free(ctx);
	if (rc < 0) {
		OPENSSL_cleanse(key, KEY_LEN);
		return fail(rc, err, errlen, "scrypt failed (out of memory?)");
	}
	return 0;
}

/* One AES-256-GCM pass: seal (enc) or open. */
static int gcm(int enc, const uint8_t key[KEY_LEN], const struct keyseal_params *kp, const uint8_t *aad, size_t aadlen,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[KEYSEAL_TAG_LEN])
{
	if (len > INT_MAX || aadlen > INT_MAX)
		return TERN_EINVAL;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return TERN_ENOMEM;
	int n = 0, ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, KEYSEAL_NONCE_LEN, NULL) == 1 &&
	                EVP_CipherInit_ex(ctx, NULL, NULL, key, kp->nonce, enc) == 1;
	if (ok && aadlen)
		ok = EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1;
	if (ok && len)
		ok = EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KEYSEAL_TAG_LEN, tag) == 1;
	int rc = ok ? 0 : TERN_EIO;
	if (ok && EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) != 1)
		rc = enc ? TERN_EIO : TERN_EBOGUS;
	if (rc == 0 && enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KEYSEAL_TAG_LEN, tag) != 1)
		rc = TERN_EIO;
	EVP_CIPHER_CTX_free(ctx); /* wipes the key schedule */
	return rc;
}

int keyseal_seal(const char *pass, size_t passlen, const struct keyseal_params *kp, const uint8_t *aad, size_t aadlen,
                 const uint8_t *in, size_t len, uint8_t *out, char *err, size_t errlen)
{
	uint8_t key[KEY_LEN];
	int rc = derive(pass, passlen, kp, key, err, errlen);
	if (rc < 0)
		return rc;
	rc = gcm(1, key, kp, aad, aadlen, in, len, out, out + len);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0) {
		OPENSSL_cleanse(out, len);
		return fail(rc, err, errlen, "AES-256-GCM sealing failed");
	}
	return 0;
}

int keyseal_open(const char *pass, size_t passlen, const struct keyseal_params *kp, const uint8_t *aad, size_t aadlen,
                 const uint8_t *in, size_t len, uint8_t *out, char *err, size_t errlen)
{
	if (len < KEYSEAL_TAG_LEN)
		return fail(TERN_EINVAL, err, errlen, "the sealed data is shorter than its %d-octet tag",
		            KEYSEAL_TAG_LEN);
	uint8_t key[KEY_LEN], tag[KEYSEAL_TAG_LEN];
	int rc = derive(pass, passlen, kp, key, err, errlen);
	if (rc < 0)
		return rc;
	size_t clen = len - KEYSEAL_TAG_LEN;
	memcpy(tag, in + clen, KEYSEAL_TAG_LEN);
	rc = gcm(0, key, kp, aad, aadlen, in, clen, out, tag);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc < 0) {
		OPENSSL_cleanse(out, clen);
		if (rc == TERN_EBOGUS)
			return fail(rc, err, errlen,
			            "authentication failed: the passphrase is wrong, or the backup was changed");
		return fail(rc, err, errlen, "AES-256-GCM opening failed");
	}
	return 0;
}
