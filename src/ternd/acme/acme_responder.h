/* The stateless http-01 challenge responder (RFC 8555 section 8.3): any node that knows the
 * account's thumbprint answers GET /.well-known/acme-challenge/<token> with token "." thumbprint.
 * acme_responder_answer() decides (no sockets, no state: fuzz_acme_responder); acme_listen.c
 * serves it on TCP for the standalone program and ternd's acme.responder. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ternd/acme/acme_key.h"

#define ACME_RESPONDER_LINE_MAX 1024 /* request line (method, target, version); 414 beyond */
#define ACME_RESPONDER_HEAD_MAX 8192 /* the whole request head; 431 beyond */
#define ACME_CHALLENGE_PREFIX "/.well-known/acme-challenge/"

/* What to send: the status, and for 200 the key authorization. No byte of the request is ever in
 * a reply but for a valid token inside the key authorization. */
struct acme_reply {
	int status; /* 200, 400, 404, 405, 414 or 431 */
	bool head; /* a HEAD request: headers only */
	char body[ACME_KEYAUTH_MAX + 1]; /* 200: token "." thumbprint; else a fixed text */
	size_t body_len;
};

/* The answer to a request line (without its CRLF), len bytes, any octets; thumbprint is 43
 * base64url characters. GET/HEAD of ACME_CHALLENGE_PREFIX + a token of 22 to 128 base64url
 * characters (origin form, or absolute form "http://host/...") gets 200; another path 404; another
 * method 405; a line longer than ACME_RESPONDER_LINE_MAX 414; a malformed line 400. */
void acme_responder_answer(const char *thumbprint, const char *line, size_t len, struct acme_reply *out);
/* A request head as it arrives, buf[0..len) with len <= ACME_RESPONDER_HEAD_MAX: false while more
 * is needed; true once *out is the reply: the request line's answer when the head is complete (an
 * empty line) or the line is over ACME_RESPONDER_LINE_MAX, 431 when the head fills
 * ACME_RESPONDER_HEAD_MAX without ending. A line ends at LF (a CR before it is dropped). */
bool acme_responder_request(const char *thumbprint, const char *buf, size_t len, struct acme_reply *out);
/* The reply as HTTP/1.1 (Connection: close) into buf; the bytes written (cap >= 512 always holds
 * it). */
size_t acme_reply_format(const struct acme_reply *r, char *buf, size_t cap);

/* The TCP server: one thread, poll(), every connection answered once and closed. */
struct acme_listener;
struct acme_listen_addr {
	struct sockaddr_storage addr;
	socklen_t len;
};
/* on_reply (may be NULL), from the server's thread after each reply: the peer and the reply. */
typedef void (*acme_reply_fn)(void *arg, const struct sockaddr_storage *peer, const struct acme_reply *r);
int acme_listen_start(const struct acme_listen_addr *addrs, size_t n, const char *thumbprint, acme_reply_fn on_reply,
                      void *arg, struct acme_listener **out, char *err, size_t errlen);
/* acme_listen_start in two steps: the sockets bound (before a process gives up the right to bind
 * port 80, and before it starts a thread), then the server's thread started. */
int acme_listen_open(const struct acme_listen_addr *addrs, size_t n, const char *thumbprint, acme_reply_fn on_reply,
                     void *arg, struct acme_listener **out, char *err, size_t errlen);
int acme_listen_run(struct acme_listener *l, char *err, size_t errlen);
/* The port bound for addrs[i] (for port 0). */
unsigned acme_listen_port(const struct acme_listener *l, size_t i);
/* Replies sent so far, by status: [0] 200, [1] 404, [2] other. Any thread. */
void acme_listen_counts(const struct acme_listener *l, unsigned long out[3]);
void acme_listen_stop(struct acme_listener *l);

/* ternd's acme.responder: the thumbprint as configured or computed from the account key's file,
 * then acme_listen_open() on its addresses (acme_listen_run() starts it); *out stays NULL when the
 * section is absent. */
struct config_acme_responder;
int acme_listen_open_config(const struct config_acme_responder *c, struct acme_listener **out, char *err,
                            size_t errlen);
