/* Passphrase sealing of secrets (DNSSEC key backups): a key from the passphrase by scrypt (RFC 7914,
 * OpenSSL 3's EVP_KDF "SCRYPT") with a random salt, then AES-256-GCM with a random nonce over the
 * secret, authenticating the caller's header as additional data. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define KEYSEAL_SALT_LEN 16
#define KEYSEAL_NONCE_LEN 12
#define KEYSEAL_TAG_LEN 16 /* the GCM tag, appended to the ciphertext */
#define KEYSEAL_PASS_MIN 12 /* octets; a shorter passphrase is refused */
#define KEYSEAL_PASS_MAX 1024
/* scrypt's cost: N = 2^log2n with r 8 and p 1 (128 * N * r octets of memory: 128 MiB for the
 * default 17, the cost RFC 7914 and OWASP suggest for interactive use). Sealing and opening
 * accept log2n from KEYSEAL_LOG2N_MIN (tests) to KEYSEAL_LOG2N_MAX (256 MiB: a hostile header
 * cannot ask for more). */
#define KEYSEAL_LOG2N_DEFAULT 17
#define KEYSEAL_LOG2N_MIN 10
#define KEYSEAL_LOG2N_MAX 18
#define KEYSEAL_R 8
#define KEYSEAL_P 1

struct keyseal_params {
	uint8_t log2n;
	uint8_t salt[KEYSEAL_SALT_LEN];
	uint8_t nonce[KEYSEAL_NONCE_LEN];
};

/* Fresh parameters: log2n, a random salt and nonce (each seal takes new ones). 0, or TERN_EINVAL
 * (log2n out of range) or TERN_EIO (no randomness) with err. */
int keyseal_params_new(struct keyseal_params *kp, uint8_t log2n, char *err, size_t errlen);
/* Whether pass (len octets) may seal: KEYSEAL_PASS_MIN to KEYSEAL_PASS_MAX octets, no NUL. 0 or
 * TERN_EINVAL with err saying why (never the passphrase). */
int keyseal_pass_check(const char *pass, size_t len, char *err, size_t errlen);
/* Seals the len octets at in into out (len + KEYSEAL_TAG_LEN octets: the ciphertext, then the
 * tag), authenticating aad (aadlen octets, may be 0) too. The derived key is wiped. 0, or
 * TERN_EINVAL (passphrase or parameters), TERN_ENOMEM, TERN_EIO (OpenSSL failed) with err. */
int keyseal_seal(const char *pass, size_t passlen, const struct keyseal_params *kp, const uint8_t *aad, size_t aadlen,
                 const uint8_t *in, size_t len, uint8_t *out, char *err, size_t errlen);
/* Opens what keyseal_seal() made (len octets, tag included) into out (len - KEYSEAL_TAG_LEN
 * octets). TERN_EBOGUS when authentication fails: a wrong passphrase, or a changed aad, salt,
 * nonce, cost or ciphertext (GCM cannot tell which); nothing is left in out then. TERN_EINVAL for
 * parameters out of range or len below the tag. */
int keyseal_open(const char *pass, size_t passlen, const struct keyseal_params *kp, const uint8_t *aad, size_t aadlen,
                 const uint8_t *in, size_t len, uint8_t *out, char *err, size_t errlen);
