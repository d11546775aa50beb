/* An ACME (RFC 8555) client for http-01: account, order, authorizations, challenge, finalize and
 * certificate download, over libcurl (blocking; one call per thread, no shared state). The
 * challenges are answered by a stateless responder (acme_responder.h) that knows the thumbprint. */
#pragma once
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ternd/acme/acme_parse.h"

/* Once per process, before any thread calls acme_issue() (curl_global_init). 0 or TERN_E*. */
int acme_global_init(void);

struct acme_options {
	const char *directory; /* the CA's directory URL (https) */
	const char *ca_file; /* the CA's trust anchor(s), PEM (CURLOPT_CAINFO); NULL: the system's */
	EVP_PKEY *account_key; /* P-256 (acme_key_new / acme_key_from_pem); the caller keeps it */
	const char *contact; /* "mailto:..." for a new account, or NULL */
	unsigned deadline_s; /* the whole issuance at most; 0: 300 */
	unsigned poll_cap_s; /* the backoff's cap (acme_poll_next_ms); 0: 60 */
	const atomic_bool *cancel; /* when set (any thread), the call ends at its next wait; may be NULL */
};

/* Where an issuance stopped. */
enum acme_step {
	ACME_STEP_SETUP,
	ACME_STEP_DIRECTORY,
	ACME_STEP_NONCE,
	ACME_STEP_ACCOUNT,
	ACME_STEP_ORDER,
	ACME_STEP_AUTHORIZATION,
	ACME_STEP_CHALLENGE,
	ACME_STEP_VALIDATION, /* polling the authorizations */
	ACME_STEP_FINALIZE,
	ACME_STEP_ISSUANCE, /* polling the order after finalize */
	ACME_STEP_CERTIFICATE,
};
const char *acme_step_name(enum acme_step s);

struct acme_error {
	enum acme_step step;
	int code; /* TERN_E* (TERN_EIO: transport, TERN_EINVAL: the CA's answer or a refusal) */
	int http_status; /* of the response that failed the step, 0 when none */
	bool has_problem; /* the CA's problem document (RFC 7807) */
	struct acme_problem problem;
	char message[512]; /* what went wrong, in our words (names the field or URL) */
};

struct acme_result {
	char *chain; /* the certificate chain, PEM (leaf first; the certificates only, made again), malloc'd */
	char *key; /* the certificate's new P-256 private key, PKCS#8 PEM, malloc'd */
	char account_url[ACME_URL_MAX + 1];
	char order_url[ACME_URL_MAX + 1];
	time_t not_before, not_after; /* the leaf's validity (renew at two thirds of it) */
	unsigned bad_nonces; /* requests sent again after a badNonce */
	unsigned polls; /* authorization and order polls after a wait */
};
void acme_result_free(struct acme_result *r);

/* The polling backoff: the first wait for an authorization or an order is ACME_POLL_FIRST_MS, and
 * each next wait doubles the last (delay_ms) up to the cap (cap_s; 0: 60 s): 125, 250, 500 ms, then
 * the 1 s doubling, 1, 2, 4 ... 60 s. The short waits come before the first second only: a CA that
 * validates in milliseconds (pebble; any CA whose validation is done before the first poll) is seen
 * within an eighth of a second, not after a whole second per poll, for three requests more at most
 * per wait; from one second on the schedule is the plain 1 s doubling. A Retry-After of the CA's that
 * is longer replaces the wait (the next still follows the schedule). */
#define ACME_POLL_FIRST_MS 125
unsigned acme_poll_next_ms(unsigned delay_ms, unsigned cap_s);

/* Issues a certificate for names (1 to ACME_MAX_NAMES host names, lower-case text without the
 * final dot). 0 with *out filled, or a negative TERN_E* with *err saying at which step and with
 * the CA's problem document when it sent one. Waits only with backoff (acme_poll_next_ms), the
 * CA's Retry-After when it is longer, never past the deadline. */
int acme_issue(const struct acme_options *o, const char *const *names, size_t nnames, struct acme_result *out,
               struct acme_error *err);
