/* TLS server contexts for DNS over TLS and XoT: files read and checked (each problem names its key
 * and file), TLS 1.3 only, ALPN "dot", stateless tickets for resumption, optional client CAs. */
#include "ternd/net/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/error.h"

#define TLS_TICKET_KEYS 80 /* OpenSSL's ticket key material: name, HMAC and AES keys */

/* ALPN (RFC 7301): "dot" (RFC 7858, RFC 9103 7.1) when the client offers it; a client that offers
 * only other protocols is refused; one that offers none is served. */
static int tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                    unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	static const unsigned char dot[] = {3, 'd', 'o', 't'};
	unsigned char *sel = NULL;
	if (SSL_select_next_proto(&sel, outlen, dot, sizeof(dot), in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* OpenSSL's reason for the last failure, or fallback. */
static const char *tls_reason(char *buf, size_t cap, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	if (!e)
		return fallback;
	ERR_error_string_n(e, buf, cap);
	return buf;
}

/* A file that cannot be opened for reading: why, by errno. */
static int tls_readable(const char *key, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		char ebuf[128];
		snprintf(err, errlen, "%s %s: cannot read: %s", key, path, strerror_r(errno, ebuf, sizeof(ebuf)));
		return TERN_EIO;
	}
	fclose(f);
	return 0;
}

static void tls_time_text(const ASN1_TIME *t, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	buf[0] = 0;
	if (!b)
		return;
	if (ASN1_TIME_print(b, t) > 0) {
		int n = BIO_read(b, buf, (int)cap - 1);
		buf[n > 0 ? n : 0] = 0;
	}
	BIO_free(b);
}

int tls_server_ctx(const struct config_tls *conf, SSL_CTX **out, char *err, size_t errlen)
{
	char why[256], when[64];
	int rc = TERN_ECONFIG;
	EVP_PKEY *pkey = NULL;
	FILE *f = NULL;
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "server.tls: cannot make a TLS context: %s", tls_reason(why, sizeof(why), "?"));
		return TERN_ENOMEM;
	}
	if (!conf->certificate || !conf->key) {
		snprintf(err, errlen, "server.tls: a certificate and its key are needed");
		goto fail;
	}
	if (tls_readable("server.tls.certificate", conf->certificate, err, errlen) < 0 ||
	    tls_readable("server.tls.key", conf->key, err, errlen) < 0 ||
	    (conf->client_ca_file && tls_readable("server.tls.client-ca-file", conf->client_ca_file, err, errlen) < 0))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->certificate) != 1) {
		snprintf(err, errlen, "server.tls.certificate %s: not a PEM certificate chain (%s)", conf->certificate,
		         tls_reason(why, sizeof(why), "no certificate"));
		goto fail;
	}
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
		tls_time_text(X509_get0_notAfter(cert), when, sizeof(when));
		snprintf(err, errlen, "server.tls.certificate %s: expired (not after %s)", conf->certificate, when);
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
		tls_time_text(X509_get0_notBefore(cert), when, sizeof(when));
		snprintf(err, errlen, "server.tls.certificate %s: not valid yet (not before %s)", conf->certificate,
		         when);
		goto fail;
	}
	if (!(f = fopen(conf->key, "r")) || !(pkey = PEM_read_PrivateKey(f, NULL, NULL, (void *)""))) {
		snprintf(err, errlen,
		         "server.tls.key %s: not a PEM private key (or one encrypted with a passphrase): %s", conf->key,
		         tls_reason(why, sizeof(why), "unreadable"));
		goto fail;
	}
	ERR_clear_error();
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "server.tls.key %s: does not match server.tls.certificate %s", conf->key,
		         conf->certificate);
		goto fail;
	}
	if (conf->client_ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(conf->client_ca_file);
		if (!names || SSL_CTX_load_verify_locations(ctx, conf->client_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			snprintf(err, errlen, "server.tls.client-ca-file %s: no PEM certificate in it (%s)",
			         conf->client_ca_file, tls_reason(why, sizeof(why), "empty"));
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* asked, not required: DNS over TLS clients have none; the transfer ACL says who needs one.
		 * One given that does not verify fails the handshake. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	rc = TERN_ENOMEM;
	static const unsigned char sid_ctx[] = "ternd-dot";
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1) {
		snprintf(err, errlen, "server.tls: %s", tls_reason(why, sizeof(why), "cannot set up TLS 1.3"));
		goto fail;
	}
	/* an EOF without close_notify is the end of the stream, as for TCP; no renegotiation (TLS 1.3) */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	/* writes resume from where tcp.c keeps what the socket did not take (a moved buffer) */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* resumption by stateless TLS 1.3 tickets: no server-side cache (no lock, no memory per client) */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	/* one read() for all the records a client sent at once (tcp.c reads them all before answering) */
	SSL_CTX_set_read_ahead(ctx, 1);
	EVP_PKEY_free(pkey);
	fclose(f);
	ERR_clear_error();
	*out = ctx;
	return 0;
fail:
	EVP_PKEY_free(pkey);
	if (f)
		fclose(f);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

void tls_keep_tickets(SSL_CTX *from, SSL_CTX *to)
{
	unsigned char keys[TLS_TICKET_KEYS];
	if (SSL_CTX_get_tlsext_ticket_keys(from, keys, sizeof(keys)) == 1)
		SSL_CTX_set_tlsext_ticket_keys(to, keys, sizeof(keys));
	OPENSSL_cleanse(keys, sizeof(keys));
}

uint8_t tls_conn_level(const SSL *ssl)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	if (peer && SSL_get_verify_result(ssl) == X509_V_OK)
		return CONFIG_TLS_CLIENT_CERT;
	return CONFIG_TLS_REQUIRED;
}
