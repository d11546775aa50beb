/* A strict TLS client's settings (tls_client.h): TLS 1.3, ALPN "dot", the server's certificate
 * checked by name against a CA file, and/or its key against an SPKI pin. */
#include "lib/tls_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/base64.h"
#include "lib/error.h"

struct tls_client {
	_Atomic unsigned refs;
	SSL_CTX *ctx;
	bool has_pin;
	uint8_t pin[TLS_PIN_LEN];
	char *ca_file; /* NULL: the system's */
	struct stat ca_st; /* ca_file as it was read: a file changed since makes new settings */
	char *name; /* NULL: pin only */
	bool name_is_ip;
};

static const unsigned char alpn_dot[] = {3, 'd', 'o', 't'};

int tls_pin_parse(const char *text, uint8_t pin[TLS_PIN_LEN], char *err, size_t errlen)
{
	uint8_t buf[TLS_PIN_LEN + 3];
	size_t len = 0, tlen = strlen(text);
	struct b64_error e = {0};
	if (tlen == 0 || tlen > 64) {
		snprintf(err, errlen, "a pin is the base64 of a SHA-256 digest (44 characters), not %zu characters",
		         tlen);
		return TERN_EINVAL;
	}
	for (size_t i = 0; i < tlen; i++)
		if (isspace((unsigned char)text[i])) {
			snprintf(err, errlen, "a pin holds no blanks");
			return TERN_EINVAL;
		}
	if (b64_decode(text, tlen, B64_PADDED, buf, sizeof(buf), &len, &e) < 0) {
		snprintf(err, errlen, "not base64 (%s at offset %zu)",
		         e.fault == B64_BADCHAR   ? "a character outside the alphabet"
		         : e.fault == B64_TOOLONG ? "too long"
		                                  : "bad length or padding",
		         e.offset);
		return TERN_EINVAL;
	}
	if (len != TLS_PIN_LEN) {
		snprintf(err, errlen, "decodes to %zu octets, not the %d of a SHA-256 digest", len, TLS_PIN_LEN);
		return TERN_EINVAL;
	}
	memcpy(pin, buf, TLS_PIN_LEN);
	return 0;
}

/* The first OpenSSL error queued, as text (and the queue cleared). */
static const char *ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (!e) {
		snprintf(buf, cap, "unknown error");
	} else {
		const char *r = ERR_reason_error_string(e);
		if (r)
			snprintf(buf, cap, "%s", r);
		else
			ERR_error_string_n(e, buf, cap);
	}
	ERR_clear_error();
	return buf;
}

int tls_ca_file_check(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return TERN_EIO;
	}
	fclose(f);
	X509_STORE *st = X509_STORE_new();
	X509_LOOKUP *lu = st ? X509_STORE_add_lookup(st, X509_LOOKUP_file()) : NULL;
	char why[160];
	ERR_clear_error();
	int n = lu ? X509_load_cert_file(lu, path, X509_FILETYPE_PEM) : 0;
	if (n <= 0) {
		snprintf(err, errlen, "%s holds no PEM certificate OpenSSL reads (%s)", path,
		         ssl_reason(why, sizeof(why)));
		X509_STORE_free(st);
		return TERN_EIO;
	}
	X509_STORE_free(st);
	return 0;
}

static bool is_ip(const char *s)
{
	uint8_t a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

int tls_auth_name_check(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name), label = 0;
	if (is_ip(name))
		return 0;
	if (len == 0 || len > TLS_AUTH_NAME_MAX) {
		snprintf(err, errlen, "a host name is 1..%d characters, not %zu", TLS_AUTH_NAME_MAX, len);
		return TERN_EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];
		if (c == '.' || c == 0) {
			if (label == 0 && !(c == 0 && i == len && i > 0 && name[i - 1] == '.')) {
				snprintf(err, errlen, "%s holds an empty label", name);
				return TERN_EINVAL;
			}
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-')) {
			snprintf(err, errlen, "%s is not a host name or an IP address (character %zu)", name, i + 1);
			return TERN_EINVAL;
		}
		if (++label > 63) {
			snprintf(err, errlen, "%s holds a label longer than 63 characters", name);
			return TERN_EINVAL;
		}
	}
	return 0;
}

void tls_client_unref(struct tls_client *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	SSL_CTX_free(c->ctx);
	free(c->ca_file);
	free(c->name);
	free(c);
}

void tls_client_ref(struct tls_client *c)
{
	atomic_fetch_add(&c->refs, 1);
}

unsigned tls_client_refs(const struct tls_client *c)
{
	return atomic_load(&((struct tls_client *)c)->refs);
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

bool tls_client_same(const struct tls_client *a, const struct tls_client *b)
{
	if (!a || !b)
		return a == b;
	return a->has_pin == b->has_pin && (!a->has_pin || !memcmp(a->pin, b->pin, TLS_PIN_LEN)) &&
	       same_text(a->ca_file, b->ca_file) && same_text(a->name, b->name);
}

bool tls_client_is(const struct tls_client *c, const char *ca_file, const char *auth_name, const char *pin)
{
	uint8_t p[TLS_PIN_LEN];
	char err[128];
	if (pin && tls_pin_parse(pin, p, err, sizeof(err)) < 0)
		return false;
	struct stat st;
	if (ca_file && (stat(ca_file, &st) < 0 || st.st_ino != c->ca_st.st_ino || st.st_dev != c->ca_st.st_dev ||
	                st.st_size != c->ca_st.st_size || st.st_mtim.tv_sec != c->ca_st.st_mtim.tv_sec ||
	                st.st_mtim.tv_nsec != c->ca_st.st_mtim.tv_nsec))
		return false;
	size_t nl = auth_name ? strlen(auth_name) : 0;
	bool dot = nl > 1 && auth_name[nl - 1] == '.';
	bool name_same =
	    auth_name ? c->name && strlen(c->name) == nl - dot && !strncmp(c->name, auth_name, nl - dot) : !c->name;
	return c->has_pin == (pin != NULL) && (!pin || !memcmp(c->pin, p, TLS_PIN_LEN)) &&
	       same_text(c->ca_file, ca_file) && name_same;
}

int tls_client_new(const char *ca_file, const char *auth_name, const char *pin, struct tls_client **out, char *err,
                   size_t errlen)
{
	char why[160];
	int rc = TERN_ENOMEM;
	struct tls_client *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		goto nomem;
	atomic_init(&c->refs, 1);
	if (pin && (rc = tls_pin_parse(pin, c->pin, err, errlen)) < 0)
		goto fail;
	c->has_pin = pin != NULL;
	if (!auth_name && !pin) {
		snprintf(err, errlen, "strict TLS needs a name to check the certificate against, or a pin");
		rc = TERN_EINVAL;
		goto fail;
	}
	if (auth_name && (rc = tls_auth_name_check(auth_name, err, errlen)) < 0)
		goto fail;
	if ((auth_name && !(c->name = strdup(auth_name))) || (ca_file && !(c->ca_file = strdup(ca_file))))
		goto nomem;
	size_t nl = auth_name ? strlen(c->name) : 0;
	if (nl > 1 && c->name[nl - 1] == '.') /* a certificate names the host without the root's dot */
		c->name[nl - 1] = 0;
	c->name_is_ip = auth_name && is_ip(auth_name);
	ERR_clear_error();
	if (!(c->ctx = SSL_CTX_new(TLS_client_method())))
		goto nomem;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_alpn_protos(c->ctx, alpn_dot, sizeof(alpn_dot)) != 0)
		goto nomem;
	if (ca_file && stat(ca_file, &c->ca_st) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", ca_file, strerror(errno));
		rc = TERN_EIO;
		goto fail;
	}
	if (auth_name) { /* the chain checked to a CA we trust; the name in tls_client_ssl() */
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (ca_file ? SSL_CTX_load_verify_file(c->ctx, ca_file) != 1
		            : SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			snprintf(err, errlen, "cannot load %s: %s", ca_file ? ca_file : "the system's CA certificates",
			         ssl_reason(why, sizeof(why)));
			rc = TERN_EIO;
			goto fail;
		}
	} else { /* the pin alone: checked once the handshake is done, before a byte of DNS is sent */
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	}
	*out = c;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory (TLS settings)");
	rc = TERN_ENOMEM;
fail:
	ERR_clear_error();
	tls_client_unref(c);
	return rc;
}

SSL *tls_client_ssl(const struct tls_client *c, int fd, char *err, size_t errlen)
{
	char why[160];
	ERR_clear_error();
	SSL *ssl = SSL_new(c->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		goto fail;
	if (c->name && c->name_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), c->name) != 1)
			goto fail;
	} else if (c->name) {
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, c->name) != 1 || SSL_set_tlsext_host_name(ssl, c->name) != 1)
			goto fail;
	}
	SSL_set_connect_state(ssl);
	return ssl;
fail:
	snprintf(err, errlen, "TLS session: %s", ssl_reason(why, sizeof(why)));
	SSL_free(ssl);
	return NULL;
}

static void pin_text(const uint8_t pin[TLS_PIN_LEN], char out[TLS_PIN_TEXT])
{
	EVP_EncodeBlock((unsigned char *)out, pin, TLS_PIN_LEN);
}

int tls_client_check(const struct tls_client *c, SSL *ssl, char *err, size_t errlen)
{
	const unsigned char *proto = NULL;
	unsigned plen = 0;
	SSL_get0_alpn_selected(ssl, &proto, &plen);
	if (plen && !(plen == 3 && !memcmp(proto, "dot", 3))) {
		snprintf(err, errlen, "the server chose ALPN %.*s, not dot", (int)plen, proto);
		return TERN_EIO;
	}
	if (!c->has_pin)
		return 0;
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char *der = NULL;
	int len = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : -1;
	if (len <= 0) {
		snprintf(err, errlen, "the server sent no certificate to check the pin against");
		return TERN_EIO;
	}
	uint8_t got[TLS_PIN_LEN];
	SHA256(der, (size_t)len, got);
	OPENSSL_free(der);
	if (memcmp(got, c->pin, TLS_PIN_LEN) != 0) {
		char want[TLS_PIN_TEXT], have[TLS_PIN_TEXT];
		pin_text(c->pin, want);
		pin_text(got, have);
		snprintf(err, errlen, "TLS pin mismatch: the server's key has pin %s, not the %s configured", have,
		         want);
		return TERN_EIO;
	}
	return 0;
}

void tls_client_error(const struct tls_client *c, SSL *ssl, int code, char *err, size_t errlen)
{
	char why[160];
	int saved = errno;
	long v = SSL_get_verify_result(ssl);
	if (code == SSL_ERROR_SSL && v != X509_V_OK) {
		snprintf(err, errlen, "certificate not accepted for %s: %s", c->name ? c->name : "the pin",
		         X509_verify_cert_error_string(v));
		ERR_clear_error();
	} else if (code == SSL_ERROR_SSL) {
		snprintf(err, errlen, "TLS: %s", ssl_reason(why, sizeof(why)));
	} else if (code == SSL_ERROR_ZERO_RETURN || (code == SSL_ERROR_SYSCALL && saved == 0)) {
		snprintf(err, errlen, "connection closed");
		ERR_clear_error();
	} else {
		snprintf(err, errlen, "%s", strerror(saved ? saved : EIO));
		ERR_clear_error();
	}
}
