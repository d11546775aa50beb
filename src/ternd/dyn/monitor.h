/* Health checks of the members of dynamic answers: a registry of (monitor, address) pairs, each
 * with a state the query workers read without locks (monitor_up), and one checker thread that
 * runs every pair at its monitor's interval (TCP connect; HTTP/HTTPS GET with expected status and
 * body text), turning a pair down after `down` consecutive failures and up after `up` successes.
 *
 * A pair is keyed by every octet of its monitor's spec and the address, compared in full: two
 * zones share a pair's state only when their monitors are identical, never by a hash collision
 * (the hash is SipHash under a random key). A pair wanted by several zones is checked once; a
 * pair no one wants any more stops being checked. The initial state is unknown, which answers as
 * up, as does a pair the registry does not know. A pair whose address the operator's policy
 * (monitors.allow) does not allow is never checked and is down. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dyn.h"
#include "ternd/base/config.h"
#include "ternd/zones/zones.h"

struct monitors;

enum monitor_state { MONITOR_UNKNOWN, MONITOR_UP, MONITOR_DOWN };

/* Starts the checker thread (no pair yet). 0, or TERN_ENOMEM / TERN_EIO with a message. */
int monitor_start(struct monitors **out, char *err, size_t errlen);
/* Joins the checker and frees everything. No reader (monitor_up) may run any more, nor any
 * zone listener (monitor_unfollow first). ms may be NULL. */
void monitor_stop(struct monitors *ms);

/* One more user of the pair (m, family, addr): a new pair is checked from now on, at once, then
 * every interval. family: 1 = IPv4 (addr 4 octets), 2 = IPv6 (16). Any thread. 0, TERN_EINVAL
 * (a family or monitor that cannot be checked), TERN_ENOMEM (the pair then answers as up). */
int monitor_want(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr);
/* One user fewer; at none the pair stops being checked and its state goes. Any thread. */
void monitor_unwant(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr);
/* Brackets one batch of want/unwant calls (a zone version's): no pair is dropped before the batch
 * ends, so a pair that moves from one name to another keeps its state. Batches may nest. */
void monitor_batch_begin(struct monitors *ms);
void monitor_batch_end(struct monitors *ms);

/* The query path (dyn_health_fn, ctx = the registry, or NULL: every member up): false only for a
 * known pair whose state is down. The caller is an online RCU reader; no allocation, lock or
 * system call. */
bool monitor_up(void *ctx, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr);

/* ---- what may be probed (monitor_policy.c) ---- */

/* The last result of a pair whose address the policy does not allow, before ": <why>". */
#define MONITOR_NOT_ALLOWED "address not allowed by monitors.allow"

/* Whether the checker may connect to addr (family 1: 4 octets, 2: 16): an address in one of the
 * allow networks, or a public unicast one. IPv4-mapped IPv6 addresses and the NAT64 well-known
 * prefix are judged by the IPv4 address they reach; IPv6 outside 2000::/3 is not public. When
 * not, why gets the block at fault, e.g. "169.254.0.0/16 (link-local, cloud metadata)". */
bool monitor_address_allowed(const struct config_prefix *allow, size_t nallow, uint8_t family, const uint8_t *addr,
                             char *why, size_t whylen);
/* The policy of conf (copied) from now on: pairs it does not allow stop being checked and turn
 * down (last result MONITOR_NOT_ALLOWED), pairs it allows again start over as unknown. Call
 * before the first zone is published, and on every reload. 0 or TERN_ENOMEM (the old one stays). */
int monitor_set_policy(struct monitors *ms, const struct config_monitors *conf);

/* ---- following the served zones (monitor_zones.c) ---- */

/* Wants every pair the DYN RRsets of zs's zones use, as versions are published and removed
 * (only the names a version changed are visited). Call before any zone of zs is published. */
int monitor_follow(struct monitors *ms, struct zones *zs);
void monitor_unfollow(struct monitors *ms, struct zones *zs);

/* ---- what the API shows ---- */

/* monitor_spec_text()'s longest: every octet of host, path and body escaped (4 each), and the rest */
#define MONITOR_SPEC_MAX (3 * 255 * 4 + 160)

struct monitor_view {
	struct dyn_monitor monitor;
	char spec[MONITOR_SPEC_MAX]; /* monitor_spec_text(), whole */
	uint8_t family;
	uint8_t addr[16];
	char address[INET6_ADDRSTRLEN];
	enum monitor_state state;
	unsigned users; /* wants outstanding (one per DYN member bound to it) */
	int64_t last_check; /* Unix seconds of the last result; 0 = none yet */
	char last_result[128]; /* "ok: connected", "connect refused", "status 503", "timeout after 2000 ms" */
};

/* One pair as an explanation shows it (GET /api/v1/explain): its state and its last result. */
struct monitor_pair {
	enum monitor_state state;
	int64_t last_check; /* Unix seconds of the last result; 0 = none yet */
	bool last_ok; /* that result was a success */
	char last_result[128]; /* as in struct monitor_view */
};
/* The pair (m, family, addr): 0, or TERN_ENOTFOUND when no zone wants it (it answers as up).
 * Any thread (takes the registry's lock: not for the query path). */
int monitor_pair_state(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr,
                       struct monitor_pair *out);

/* A copy of every pair (malloc'd array of *n, the caller frees it; NULL when there is none).
 * Any thread. 0 or TERN_ENOMEM. */
int monitor_list(struct monitors *ms, struct monitor_view **out, size_t *n);
/* The monitor as one line, e.g. `tcp port 443 interval 10 s timeout 2 s up 1 down 3` or
 * `https://www.example.com/health status 200 body "ok" interval 10 s ...` (the body escaped). */
void monitor_spec_text(const struct dyn_monitor *m, char *out, size_t len);
const char *monitor_state_name(enum monitor_state s);
