/* TSIG (RFC 8945): shared keys, signing a message in place, verifying one, and the chained MACs of
 * a multi-message answer (AXFR/IXFR over TCP). HMAC through OpenSSL 3's EVP_MAC. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"

#define TSIG_MAX_MAC 64 /* hmac-sha512 */
#define TSIG_MAX_SECRET 256 /* octets of a decoded secret */
#define TSIG_FUDGE 300 /* seconds of clock skew we sign with (RFC 8945 recommends 300) */
#define TSIG_MAX_UNSIGNED 99 /* RFC 8945 5.3.1: unsigned messages allowed between two signed ones */
#define TSIG_TYPE 250
#define TSIG_CLASS_ANY 255
#define TSIG_RCODE_NOTAUTH 9 /* the RCODE of every TSIG error response */

enum tsig_alg {
	TSIG_ALG_NONE = 0,
	TSIG_HMAC_SHA1, /* interop with old peers only */
	TSIG_HMAC_SHA224,
	TSIG_HMAC_SHA256,
	TSIG_HMAC_SHA384,
	TSIG_HMAC_SHA512,
};

/* The TSIG Error field (RFC 8945 3 / IANA "DNS RCODEs"). */
enum tsig_error {
	TSIG_NOERROR = 0,
	TSIG_BADSIG = 16,
	TSIG_BADKEY = 17,
	TSIG_BADTIME = 18,
	TSIG_BADTRUNC = 22,
};

struct tsig_key {
	uint8_t name[NAME_MAXLEN]; /* wire form, lower case */
	enum tsig_alg alg;
	/* Local truncation policy: a verified MAC shorter than this gets BADTRUNC. 0 accepts down to the
	 * RFC 8945 5.2.2.1 minimum, max(10, half the hash), as BIND does by default. */
	uint16_t min_mac_len;
	size_t secret_len;
	uint8_t secret[TSIG_MAX_SECRET];
};

/* Keys a server accepts; searched by name (a short linear list: keys are few). */
struct tsig_keyring {
	const struct tsig_key *keys;
	size_t count;
};

/* ---- algorithms and keys ---- */

/* "hmac-sha256" (any case, trailing dot optional) to its enum; TSIG_ALG_NONE when unknown. */
enum tsig_alg tsig_alg_from_text(const char *text);
/* "hmac-sha256"; NULL for TSIG_ALG_NONE. */
const char *tsig_alg_to_text(enum tsig_alg alg);
/* The algorithm's wire name (lower case), as it goes into the TSIG RDATA; NULL when unknown. */
const uint8_t *tsig_alg_wire(enum tsig_alg alg);
/* The algorithm from its wire name (case-insensitive); TSIG_ALG_NONE when unknown. */
enum tsig_alg tsig_alg_from_wire(const uint8_t *name);
/* Full MAC length in octets (20..64); 0 when unknown. */
size_t tsig_alg_mac_len(enum tsig_alg alg);

/* Fills key from its three textual parts: a domain name, an algorithm name and the base64 secret.
 * Returns 0, or TERN_EINVAL with a message naming the faulty part in err. */
int tsig_key_init(struct tsig_key *key, const char *name, const char *alg, const char *secret_b64, char *err,
                  size_t errlen);
/* Parses kdig's -y form, "[alg:]name:secret" (the algorithm defaults to hmac-sha256). */
int tsig_key_from_text(struct tsig_key *key, const char *spec, char *err, size_t errlen);
/* The key with this (wire, any case) name, or NULL. */
const struct tsig_key *tsig_keyring_find(const struct tsig_keyring *ring, const uint8_t *name);
/* Octets the TSIG RR of a message signed with key takes, at most (BADTIME's other data included):
 * reserve this much when building a message that will be signed. */
size_t tsig_space(const struct tsig_key *key);

/* ---- what verification found ---- */

struct tsig_result {
	/* TSIG_NOERROR when verified, else the error to answer with (tsig_sign_error), or the error
	 * the peer reported when peer_error is set. */
	uint16_t error;
	uint8_t rcode; /* RCODE for the answer: 0, TSIG_RCODE_NOTAUTH, or 1 (FORMERR) when malformed */
	bool peer_error; /* tsig_verify_next: the message carried a TSIG error from the peer */
	bool is_signed; /* the message carried a TSIG whose MAC verified */
	const struct tsig_key *key; /* the key named in the message, NULL when unknown */
	uint8_t key_name[NAME_MAXLEN]; /* as in the message, lower-cased (echoed in BADKEY answers) */
	uint8_t alg_name[NAME_MAXLEN]; /* likewise */
	uint16_t mac_len; /* the message's MAC: a response's digest covers it */
	uint8_t mac[TSIG_MAX_MAC];
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t orig_id;
	uint64_t other_time; /* a peer's BADTIME: the peer's clock, from other data */
	size_t tsig_pos; /* where the TSIG RR starts: the message without it is msg[0, tsig_pos) */
};

/* Verifies a request signed with one of ring's keys, checking (RFC 8945 5.2) key, MAC, time and
 * truncation in that order. Returns:
 *   0              signed and verified (res->key, res->mac: sign the answer with them);
 *   TERN_ENOTFOUND no TSIG: the message is unsigned;
 *   TERN_EMALF     the TSIG is malformed, misplaced or its MAC size is outside the RFC's bounds:
 *                  answer FORMERR without a TSIG;
 *   TERN_EINVAL    verification failed: res->error is BADKEY, BADSIG, BADTIME or BADTRUNC, and
 *                  the answer is built with tsig_sign_error();
 *   TERN_ENOMEM    OpenSSL could not allocate or start the HMAC. */
int tsig_verify(const uint8_t *msg, size_t len, const struct tsig_keyring *ring, uint64_t now, struct tsig_result *res);

/* ---- one message or a chain of them ---- */

/* The state of one signed exchange in one direction: the key, the MAC the next message's digest
 * starts from and, for a chain with unsigned messages in it, the running HMAC. */
struct tsig_ctx {
	const struct tsig_key *key;
	uint8_t prior_mac[TSIG_MAX_MAC]; /* the request's MAC, then the last message's */
	uint16_t prior_len;
	unsigned messages; /* signed messages so far in this chain */
	unsigned unsigned_run; /* unsigned messages since the last signed one */
	bool strict; /* verifying: every message must be signed (default false) */
	bool failed; /* a message failed: the chain is broken, every later call fails */
	void *hmac; /* EVP_MAC_CTX *, live only while unsigned messages are pending */
};

/* Starts a chain with key. prior_mac is NULL to sign a request, or the request's MAC to sign (or
 * verify) the answers to it: res->mac of tsig_verify() on a server, ctx->prior_mac after
 * tsig_sign() of the request on a client. */
void tsig_ctx_init(struct tsig_ctx *ctx, const struct tsig_key *key, const uint8_t *prior_mac, size_t prior_len);
/* Frees the running digest a context holds between an unsigned message and the next signed one
 * (nothing otherwise): call it when a chain is abandoned halfway. Idempotent. */
void tsig_ctx_clear(struct tsig_ctx *ctx);

/* Signs the next message of the chain in place: appends the TSIG RR (error 0, fudge TSIG_FUDGE,
 * time now) and increments ARCOUNT. The first message's digest covers the request MAC (when
 * given), the message and all TSIG variables; later ones the prior MAC, any unsigned messages
 * since, the message and the timers (RFC 8945 5.3.1). Afterwards ctx->prior_mac holds this
 * message's MAC. Returns 0, TERN_ESPACE (message and chain unchanged: send it in a bigger buffer or
 * split it), TERN_EINVAL (no usable key, ARCOUNT full, chain broken) or TERN_ENOMEM (chain broken). */
int tsig_sign(uint8_t *msg, size_t *len, size_t cap, struct tsig_ctx *ctx, uint64_t now);
/* Sends the next message of the chain unsigned: its bytes go into the next MAC. Allowed after the
 * first message, up to TSIG_MAX_UNSIGNED in a row; the last message must be signed. */
int tsig_sign_skip(struct tsig_ctx *ctx, const uint8_t *msg, size_t len);

/* Verifies the next answer of the chain (a client's view: the key is known). Returns 0 when the
 * message verified, or is an unsigned one the RFC allows (res->is_signed false: its content is
 * authenticated only by the next signed message); TERN_ENOTFOUND when a signature was due and
 * the message has none (the first, or in strict mode, or the 100th unsigned in a row);
 * TERN_EMALF; TERN_EINVAL with res->error (res->peer_error when the peer sent the error, and for
 * a peer's BADTIME whose MAC verified, res->other_time); TERN_ENOMEM. After a failure the chain
 * is broken (ctx->failed; later calls give TERN_EINVAL): close the connection, as RFC 8945 says. */
int tsig_verify_next(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now, struct tsig_result *res);
/* Call after the last message of a chain: 0 when every message so far was accepted and the last
 * one was signed, TERN_ENOTFOUND otherwise. */
int tsig_verify_end(const struct tsig_ctx *ctx);

/* Appends the TSIG of an error answer to a request that failed tsig_verify() with TERN_EINVAL,
 * and sets the answer's RCODE to NOTAUTH: for BADKEY and BADSIG an unsigned TSIG (MAC size 0,
 * the request's key and algorithm names); for BADTIME one signed with the request MAC, the
 * request's time signed and fudge, and our time in other data; for BADTRUNC a signed one. */
int tsig_sign_error(uint8_t *msg, size_t *len, size_t cap, const struct tsig_result *req, uint64_t now);
