/* TSIG (RFC 8945) on the answering side: a request verified against the server's keyring, its
 * answers signed (one message, or every message of a transfer in one chain), and who may transfer. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/tsig.h"
#include "ternd/zones/server.h"

enum ns_tsig_state {
	NS_TSIG_NONE, /* the request is unsigned */
	NS_TSIG_VERIFIED, /* answer normally, signed with res.key over the request's MAC */
	NS_TSIG_REJECTED, /* answer NOTAUTH with the TSIG error in res.error, and no answer data */
	NS_TSIG_MALFORMED, /* answer FORMERR, unsigned */
	NS_TSIG_FAILED, /* the HMAC could not run (out of memory): answer SERVFAIL, unsigned */
};

/* What a request's TSIG said. Lives on the answering thread's stack; nothing in it is allocated. */
struct ns_tsig {
	enum ns_tsig_state state;
	uint64_t now; /* Unix seconds the request was verified at; answers are signed with it */
	struct tsig_result res;
};

/* Verifies msg, a request whose last additional record may be a TSIG, against p's keyring. */
enum ns_tsig_state ns_tsig_verify(struct ns_tsig *t, const struct ns_params *p, const uint8_t *msg, size_t len);
/* The same against ring (the keys made over the API, srv->api_keys). */
enum ns_tsig_state ns_tsig_verify_ring(struct ns_tsig *t, const struct tsig_keyring *ring, const uint8_t *msg,
                                       size_t len);
/* Turns a verified request into a rejected one with this TSIG error (BADKEY: signed with a key
 * that is not the one wanted here). */
void ns_tsig_reject(struct ns_tsig *t, uint16_t error);
/* Octets to keep free in an answer for its TSIG; 0 when the answer goes unsigned. */
size_t ns_tsig_reserve(const struct ns_tsig *t);
/* Starts the chain of answers to a verified request (also fine to call otherwise). */
void ns_tsig_chain(const struct ns_tsig *t, struct tsig_ctx *ctx);
/* Signs msg[0, *len), the next answer, in place (cap bytes of room): with the chain when the
 * request verified, as a TSIG error answer (RFC 8945 5.3.2) when it was rejected; nothing to do
 * otherwise. Returns 0 or a negative TERN_E* (the answer must then not be sent as it is). */
int ns_tsig_sign(const struct ns_tsig *t, struct tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap);

/* The transfer ACL (transfer.allow): some entry's prefix holds addr, the entry names no key or the
 * request verified with that entry's key, and it asks no more TLS than tls (enum config_tls_need,
 * what the connection proved); and no entry holding addr asks more TLS than that (an address an
 * entry says must use TLS never transfers in the clear, whatever the other entries say). */
bool ns_transfer_allowed(const struct ns_params *p, const struct sockaddr *addr, uint8_t tls, const struct ns_tsig *t);
