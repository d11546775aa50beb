/* Out-of-protocol signalling (draft-ietf-dnsop-dns-oops, issue 21): the conditions a server
 * signals about itself, each set and cleared (or, for an event, raised), kept as the current state
 * for GET /api/v1/signals and handed to the channels (exec hooks) by one dispatcher thread, so a
 * slow or stuck channel never blocks the thread that raised a condition. Names are stable. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ternd/base/conditions.h"

struct config;
struct text;
struct zones;

enum signal_state { SIGNAL_CLEAR, SIGNAL_SET, SIGNAL_EVENT };

const char *signal_state_name(enum signal_state s);

/* One argument of a condition: name and value, both text (serial as digits). */
struct signal_arg {
	const char *name, *value;
};

struct signals;

/* Starts the dispatcher thread with conf's signals.hooks (copied; signals_reload changes them).
 * 0, or a negative TERN_E* with err. */
int signals_start(const struct config *conf, struct signals **out, char *err, size_t errlen);
/* Runs what is queued (hooks included, each within its timeout), then stops the thread. */
void signals_stop(struct signals *s);
/* A reload's hooks, from the next signal on. Any thread. */
int signals_reload(struct signals *s, const struct config *conf);

/* Sets or clears a condition (of a zone when zone is not NULL: its name as text, no final dot
 * needed) with its arguments, or raises an event. Only a change of state (or of a set condition's
 * arguments, or any event) reaches the channels. Never blocks on a channel: the queue is bounded,
 * a newer state of the same condition and zone replaces one still queued, and what cannot be
 * queued is counted (signals_dropped). Any thread; s may be NULL (nothing signalled). */
void signals_raise(struct signals *s, enum signal_cond c, enum signal_state st, const char *zone,
                   const struct signal_arg *args, size_t nargs);

/* query-rate-high, query-rate-rising and ede from the workers' counters (stats, read once a second
 * by the signals' tick thread, which also judges signatures-expiring), with the parameters of the
 * configuration given to signals_start and each reload. */
struct stats;
int signals_watch_stats(struct signals *s, const struct stats *stats, const struct config *conf);

/* Whether a server-wide condition (zone NULL) or a zone's is set now. */
bool signals_is_set(struct signals *s, enum signal_cond c, const char *zone);

/* zone-ready and zone-updated follow the zones: published (zone-ready set with its serial on the
 * first version; zone-updated for each later one) and removed (zone-ready cleared). */
int signals_follow(struct signals *s, struct zones *zones);
void signals_unfollow(struct signals *s, struct zones *zones);

/* The current state as JSON: {"conditions": [{"condition", "zone"?, "state": "set"|"clear", "since"
 * (RFC 3339), "arguments": {...}}...], "zones-ready": N, "queued": N, "dropped": N}; zone-ready of
 * each zone is left out (there may be a million: "zones-ready" counts them). Returns false when
 * out of memory. */
bool signals_json(struct signals *s, struct text *out);
/* Signals not handed to the channels because the queue was full. */
uint64_t signals_dropped(struct signals *s);
