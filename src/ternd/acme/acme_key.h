/* ACME keys (RFC 8555, RFC 7638): the ES256 account key (P-256), its JWK and thumbprint, the key
 * authorization of a challenge, ES256 signatures as JWS wants them, and the CSR of an order. */
#pragma once
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACME_THUMBPRINT_LEN 43 /* base64url of a SHA-256 digest, no padding */
#define ACME_TOKEN_MIN 22 /* the responder's bounds on a token (128 bits of entropy at least) */
#define ACME_TOKEN_MAX 128
#define ACME_KEYAUTH_MAX (ACME_TOKEN_MAX + 1 + ACME_THUMBPRINT_LEN)

/* base64url (RFC 4648 section 5) of in[0..len) without padding into out (NUL-terminated); out needs
 * 4 * ceil(len / 3) + 1 bytes at most. Returns the characters written. */
size_t acme_b64url(const uint8_t *in, size_t len, char *out);
/* Whether s[0..len) is base64url alphabet only ('A'-'Z' 'a'-'z' '0'-'9' '-' '_'), with no padding. */
bool acme_b64url_alphabet(const char *s, size_t len);

/* A new P-256 key (the account's, or a certificate's). NULL on failure, with a message. */
EVP_PKEY *acme_key_new(char *err, size_t errlen);
/* The key as unencrypted PKCS#8 PEM (malloc'd, NUL-terminated), or NULL. */
char *acme_key_pem(EVP_PKEY *key, char *err, size_t errlen);
/* A P-256 private key from PEM text (PKCS#8 or SEC1); anything else is refused with a message. */
EVP_PKEY *acme_key_from_pem(const char *pem, size_t len, char *err, size_t errlen);

/* The public JWK in RFC 7638's canonical form: {"crv":"P-256","kty":"EC","x":"...","y":"..."}
 * (members sorted, no blanks), which is also what the JWS header carries. 0 or TERN_E*. */
int acme_jwk(EVP_PKEY *key, char *out, size_t cap, char *err, size_t errlen);
/* RFC 7638 thumbprint of the key: base64url(SHA-256(canonical JWK)), 43 characters + NUL. */
int acme_thumbprint(EVP_PKEY *key, char out[ACME_THUMBPRINT_LEN + 1], char *err, size_t errlen);
/* The same from a JWK already in canonical form (the RFC's test vector takes this path). */
void acme_thumbprint_of_jwk(const char *jwk, size_t len, char out[ACME_THUMBPRINT_LEN + 1]);
/* Whether t looks like a thumbprint: 43 base64url characters. */
bool acme_thumbprint_ok(const char *t);
/* token "." thumbprint into out (ACME_KEYAUTH_MAX + 1); TERN_EINVAL when the token is not 22 to
 * 128 base64url characters or the thumbprint is not one. */
int acme_key_authorization(const char *token, const char *thumbprint, char *out, size_t cap);

/* An ES256 signature (RFC 7518 section 3.4: r || s, 32 octets each) of data, base64url into out
 * (at least 87 bytes). 0 or TERN_E* with a message. */
int acme_sign_es256(EVP_PKEY *key, const void *data, size_t len, char *out, size_t cap, char *err, size_t errlen);

/* A CSR (DER, base64url, malloc'd) signed by key for the names (text, e.g. "a.example"): the first
 * is the subject's CN, all are DNS subjectAltNames. NULL with a message on failure. */
char *acme_csr(EVP_PKEY *key, const char *const *names, size_t nnames, char *err, size_t errlen);
