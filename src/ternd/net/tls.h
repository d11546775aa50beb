/* TLS for the DNS listeners: DNS over TLS (RFC 7858) and zone transfers over TLS (RFC 9103). A
 * server context (OpenSSL 3, TLS 1.3 only, ALPN "dot", stateless session tickets) made from
 * server.tls's files; tcp.c runs the connections. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "ternd/base/config.h"

/* A server context from conf: the certificate (with its chain) and the key, which must match, the
 * certificate valid now, the client CAs when client-ca-file is set (clients are then asked for a
 * certificate, which must verify when one is given). Returns 0, or a negative TERN_E* with a
 * message naming the key and file at fault ("server.tls.key /etc/k.pem: does not match ..."). */
int tls_server_ctx(const struct config_tls *conf, SSL_CTX **out, char *err, size_t errlen);
/* Hands the session ticket keys of from to to, so tickets issued before a reload still resume. */
void tls_keep_tickets(SSL_CTX *from, SSL_CTX *to);
/* What a finished handshake proves, for the transfer ACL (enum config_tls_need): a client
 * certificate that verified, or TLS alone. */
uint8_t tls_conn_level(const SSL *ssl);
