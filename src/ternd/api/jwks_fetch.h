/* The identity provider's key set (api.jwks-url): fetched over HTTPS at start and again when it is
 * due (api.jwks-max-age, or Cache-Control's max-age), kept in the store so a restart with the
 * provider down still verifies tokens, and fetched once more for a token with an unknown kid (at
 * most once a minute). One thread, ternd-jwks; the set in force changes only by a good fetch. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth_keys;
struct store;
struct jwks_fetch;

#define JWKS_REFETCH_MIN_MS 60000 /* an unknown kid fetches the set again at most this often */

struct jwks_fetch_options {
	const char *url; /* https:// */
	const char *ca_file; /* NULL: the system's trust anchors */
	unsigned max_age_ms; /* the longest a set is used before it is fetched again */
	unsigned timeout_ms; /* one fetch, connection to last byte */
};

/* Called on the fetcher's thread (or, at start, the caller's) with each set fetched or read from
 * the store; publish owns keys. */
typedef void (*jwks_publish_fn)(void *arg, struct auth_keys *keys);

struct jwks_fetch_state {
	size_t keys; /* in the set in force (0: none yet) */
	bool from_store; /* the set in force was read from the store, not fetched since the start */
	int64_t last_attempt, last_success, next_fetch; /* wall clock seconds; 0: never / none armed */
	uint64_t fetches, failures, skipped_keys, refetches, refetches_refused;
	char last_error[512]; /* the last failure's reason ("" after a success) */
};

/* Reads the set the store keeps for the URL (published at once when there is one), then fetches:
 * on the caller's thread when the store had none (the first tokens need it), else on the thread.
 * A failed fetch is logged and tried again (30 s, doubling to the max age); the start fails only
 * for an option the fetcher cannot use. */
int jwks_fetch_start(const struct jwks_fetch_options *o, struct store *store, jwks_publish_fn publish, void *arg,
                     struct jwks_fetch **out, char *err, size_t errlen);
/* A token named a kid the set in force does not hold: fetch the set again, unless a fetch was
 * tried less than JWKS_REFETCH_MIN_MS ago (then counted as refused, and false). Any thread. */
bool jwks_fetch_unknown_kid(struct jwks_fetch *f);
void jwks_fetch_state(struct jwks_fetch *f, struct jwks_fetch_state *out);
void jwks_fetch_stop(struct jwks_fetch *f);
