/* Secondary zones (ternd as a PoP): pulled from their primaries by IXFR (RFC 1995) or AXFR
 * (RFC 5936), refreshed on the SOA timers and at once on NOTIFY (RFC 1996), kept on disk, taken
 * out of service on expiry.
 * One thread decides the refreshes, a few workers pull; the query path only reads two RCU tables
 * and sets a flag. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/name.h"
#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct xfrin;

enum xfrin_state {
	XFRIN_LOADING, /* no copy yet (none on disk, none transferred): not served */
	XFRIN_OK, /* served; a primary confirmed it current within the refresh interval */
	XFRIN_RETRYING, /* served; the last refresh failed, retrying until the copy expires */
	XFRIN_EXPIRED, /* no primary confirmed the copy for the SOA expire time: not served */
};

/* One secondary zone as /healthz reports it. Times are Unix seconds, 0 = never / not known. */
struct xfrin_status {
	uint8_t apex[NAME_MAXLEN];
	enum xfrin_state state;
	bool serving;
	uint32_t serial; /* the serial served (or last served, once expired) */
	int64_t last_transfer; /* the last complete transfer (kept in the disk copy across restarts) */
	int64_t last_refresh; /* a primary last confirmed the copy current */
	int64_t next_refresh; /* the next refresh (SOA refresh, or retry after a failure) */
	int64_t expires; /* when the served copy expires unless a primary confirms it */
	char last_error[192]; /* why the last refresh failed; empty after a success */
};

/* Where the versions of a secondary zone with dnssec-policy go instead of being served as
 * transferred: ternd signs them (main wires the change module's change_config_transfer() here).
 * xfrin keeps each version unsigned, as its primary sent it (the base of the next IXFR, the serial
 * of its SOA queries, its disk copy), and hands it to update; update's zone is then served, signed,
 * by whoever update gave it to. Both are called with the refresh lock held (so a reload waits for
 * them), from a registered RCU thread that is offline (the refresh thread; main at start). */
struct xfrin_signer {
	/* zn, a new version of apex from source (the caller keeps zn): 0, or a TERN_E* with err
	 * saying why it is refused (then the zone keeps serving what it served, and the refresh is a
	 * failure, retried). base, when not NULL, is the version update took last, which zn was
	 * derived from (an IXFR): only the names that differ between the two need a look. */
	int (*update)(void *arg, const uint8_t *apex, const struct zone *zn, const struct zone *base,
	              const char *source, char *err, size_t errlen);
	/* the zone expired: no longer served */
	void (*unserve)(void *arg, const uint8_t *apex);
	void *arg;
};

/* Loads every secondary zone's disk copy and serves it at once, then starts the refresh thread,
 * which refreshes every zone right away. signer (NULL: none) takes the zones with dnssec-policy,
 * from this call on (their disk copies). main.c hands it to the query
 * path (srv->xfrin) before any query thread starts, and takes it back before xfrin_stop(). */
int xfrin_start(struct server *srv, const struct config *conf, const struct xfrin_signer *signer, struct xfrin **out,
                char *err, size_t errlen);
/* SIGHUP: new secondary zones start (disk copy served, refreshed at once), zones no longer
 * secondary stop being pulled (removing them from service is load_zones' job), changed primaries
 * apply from the next refresh. Call before load_zones publishes the new configuration's zones. */
int xfrin_reload(struct xfrin *x, const struct config *conf);
/* No call to the signer from the return on (main, before the change module stops): the zones that
 * sign refuse their versions from then on. x may be NULL. */
void xfrin_signer_detach(struct xfrin *x);
/* Stops and joins the thread and frees everything; no query thread may be running. */
void xfrin_stop(struct xfrin *x);

/* A snapshot of every secondary zone's state, in a malloc'd array the caller frees. Never waits
 * for a transfer or an RCU grace period: safe from an RCU reader such as the API thread. */
int xfrin_status(struct xfrin *x, struct xfrin_status **out, size_t *n);
const char *xfrin_state_name(enum xfrin_state s);
/* The first secondary zone not served (never loaded, or expired) at or after index *cursor of the
 * zone table: true with its apex in first and its index in *cursor, or false when every zone from
 * *cursor on is served (*cursor then the table's size). Readiness scans on from where it stopped,
 * so each served zone is passed once rather than at every look, and confirms from 0 at the end;
 * under the status lock for as far as it scans. *total (when not NULL): the table's size. */
bool xfrin_unserved_next(struct xfrin *x, size_t *cursor, uint8_t first[NAME_MAXLEN], size_t *total);

/* ---- run time (catalog members): these wait for the refresh lock, which is held across RCU
 * grace periods, so the caller must not be an online RCU reader ---- */

/* Adds a secondary zone the configuration does not name (cz is a template: apex, file, primaries
 * and key are taken from it): its disk copy served at once, a refresh due now. When the zone was
 * added at run time already, takes cz's primaries. TERN_EEXIST when the configuration has it. */
int xfrin_secondary_add(struct xfrin *x, const struct config_zone *cz);
/* Stops pulling and serving a zone xfrin_secondary_add() added and deletes its disk copy.
 * TERN_ENOTFOUND when there is no such zone, TERN_EINVAL when the configuration has it. */
int xfrin_secondary_remove(struct xfrin *x, const uint8_t *apex);
/* The apex of every secondary zone, configured or added at run time, in a malloc'd array. A zone
 * being added (and perhaps served from its disk copy already) is listed once the adding is done. */
int xfrin_apexes(struct xfrin *x, uint8_t (**out)[NAME_MAXLEN], size_t *n);
/* Whether apex is a secondary zone (as xfrin_apexes() would list it). */
bool xfrin_is_secondary(struct xfrin *x, const uint8_t *apex);

/* ---- query path: RCU readers, no lock, no allocation ---- */

enum xfrin_notify_result {
	XFRIN_NOTIFY_ACCEPTED, /* a refresh is on its way */
	XFRIN_NOTIFY_NOT_SECONDARY, /* not a zone we pull */
	XFRIN_NOTIFY_NOT_PRIMARY, /* the sender is none of the zone's primaries */
	XFRIN_NOTIFY_BADKEY, /* the zone has a TSIG key and the NOTIFY was not signed with it */
};

/* NOTIFY for the zone at lname (lower-cased) from addr, key being the TSIG key it verified with
 * (NULL when unsigned): when addr is one of the zone's primaries (any port) and key is the zone's
 * (or the zone has none), asks the refresh thread to refresh it now. x may be NULL. */
enum xfrin_notify_result xfrin_notify(struct xfrin *x, const uint8_t *lname, const struct sockaddr *from,
                                      const struct tsig_key *key);
/* The primaries of the secondary zone whose apex is lname (lower-cased), at most cap of them, in
 * the order configured, into addrs and lens (an UPDATE is forwarded to them, RFC 2136 6): their
 * number, 0 when lname is no secondary zone's apex. x may be NULL. */
size_t xfrin_primaries_of(const struct xfrin *x, const uint8_t *lname, struct sockaddr_storage *addrs, socklen_t *lens,
                          size_t cap);
/* Whether lname (lower-cased) lies in a secondary zone that is configured but not served (never
 * loaded, or expired); if so *apex_len gets the deepest such zone's apex length and *ede the
 * Extended DNS Error to answer SERVFAIL with (RFC 8914: 14 Not Ready, 24 Invalid Data). x may
 * be NULL. */
bool xfrin_unavailable(const struct xfrin *x, const uint8_t *lname, size_t *apex_len, uint16_t *ede);
