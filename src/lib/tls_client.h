/* A strict TLS client (RFC 9103 section 9.3, RFC 8310 strict privacy) for DNS over TLS: TLS 1.3,
 * ALPN "dot", the server authenticated by name against a CA file (or the system's CAs), or by an
 * SPKI pin (RFC 7858 section 4.2: base64 of the SHA-256 of the SubjectPublicKeyInfo), or both.
 * Only the settings and their checks live here (OpenSSL); the caller drives the non-blocking
 * SSL_connect/SSL_read/SSL_write on its own socket and deadlines. */
#pragma once
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_PIN_LEN 32 /* SHA-256 */
#define TLS_PIN_TEXT 45 /* its base64, with padding, and a NUL */
#define TLS_AUTH_NAME_MAX 253

/* Parses a pin: base64 (with '=' padding) of exactly TLS_PIN_LEN octets. 0, or TERN_EINVAL with err
 * saying what is wrong. */
int tls_pin_parse(const char *text, uint8_t pin[TLS_PIN_LEN], char *err, size_t errlen);
/* Whether path is a file of PEM certificates OpenSSL reads, holding at least one. 0, or TERN_EIO
 * with err saying why not. */
int tls_ca_file_check(const char *path, char *err, size_t errlen);
/* Whether name can authenticate a server: a host name (letters, digits, '-', '.' labels) or an IP
 * address. 0, or TERN_EINVAL with err. */
int tls_auth_name_check(const char *name, char *err, size_t errlen);

/* One server's settings with the SSL_CTX they make; immutable, counted references (any thread). */
struct tls_client;

/* New settings, one reference: auth_name (NULL: none) checked against the chain of ca_file (NULL:
 * the system's CAs), and/or pin (NULL: none, then auth_name is required). 0, or TERN_EINVAL /
 * TERN_EIO / TERN_ENOMEM with err. */
int tls_client_new(const char *ca_file, const char *auth_name, const char *pin, struct tls_client **out, char *err,
                   size_t errlen);
void tls_client_ref(struct tls_client *c);
/* Drops a reference; the last frees (NULL: nothing). */
void tls_client_unref(struct tls_client *c);
/* The references held (a cache drops an entry only it holds). */
unsigned tls_client_refs(const struct tls_client *c);
/* Whether a and b (either NULL: plain) authenticate the same way: one may use the other's
 * connection. */
bool tls_client_same(const struct tls_client *a, const struct tls_client *b);
/* Whether c was made from these settings. */
bool tls_client_is(const struct tls_client *c, const char *ca_file, const char *auth_name, const char *pin);

/* A client session on the connected socket fd (non-blocking: the caller drives SSL_connect), its
 * name checks and SNI set; NULL with err when OpenSSL fails. */
SSL *tls_client_ssl(const struct tls_client *c, int fd, char *err, size_t errlen);
/* After the handshake: the pin (when set) matches the server's key, and ALPN is "dot" or none.
 * 0, or TERN_EIO with err saying what did not match. */
int tls_client_check(const struct tls_client *c, SSL *ssl, char *err, size_t errlen);
/* Why an SSL call on ssl failed (SSL_get_error's answer is code; errno as the call left it): a
 * certificate refused (why, and for which name), the TLS alert or library error, the end of the
 * stream ("connection closed"), or the socket's errno. */
void tls_client_error(const struct tls_client *c, SSL *ssl, int code, char *err, size_t errlen);
