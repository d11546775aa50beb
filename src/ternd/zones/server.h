/* One running server: its zones, its answering parameters and its transports. Everything a
 * query needs hangs off here, so tests can run several servers in one process. */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu-qsbr.h>

#include "ternd/base/config.h"
#include "ternd/base/stats.h"
#include "ternd/zones/zones.h"

/* Answering parameters from the configuration, published by RCU like zones. */
struct ns_params {
	uint16_t edns_size;
	uint16_t nsid_len;
	uint8_t nsid[256];
	/* TSIG keys (RFC 8945) requests may be signed with, in config.keys' order, so the key index
	 * of an xfr_allow entry (1-based, 0 = none) points into keyring.keys */
	struct tsig_keyring keyring;
	/* DNS cookies (ns/edns.c): cookie_secret is the key (and cookie_previous, when set, is
	 * accepted), or with cookie_derive each period's key is derived from it */
	bool cookies, cookie_derive, cookie_has_previous;
	uint8_t cookie_secret[16], cookie_previous[16];
	uint32_t cookie_period; /* seconds */
	uint16_t cookie_require; /* UDP answers longer need a valid server cookie; 0 = never */
	/* response rate limiting (ns/rrl.h, query.c) */
	bool rrl, rrl_log_only;
	bool count_usage; /* usage.count-queries: queries counted by zone (stats_usage) */
	uint32_t rrl_v4_mask; /* rrl.ipv4-prefix as a mask, host order */
	uint64_t rrl_v6_mask[2]; /* rrl.ipv6-prefix as a mask of the address's two halves */
	uint32_t rrl_rate, rrl_window, rrl_slip, rrl_debit;
	size_t nrrl_zones;
	const struct config_rrl_zone *rrl_zones; /* their own rates (a copy) */
	size_t nrrl_whitelist; /* in xfr_allow[], after the nxfr_allow entries */
	size_t nxfr_allow;
	struct config_prefix xfr_allow[]; /* who may transfer zones */
};

struct signals;
struct usage;
struct xfrin;
struct xfr_journal;
struct tsig_key;

/* RFC 2136 UPDATE, judged and written by the update module (update/update.h), wired by main. The
 * query path verifies the request's TSIG and writes the answer (header, zone section, OPT, TSIG)
 * around the rcode answer() gives. answer() runs on the receiving thread, an online RCU reader
 * (as the API's handlers, it writes through change_commit() as one). */
struct server_update_request {
	const uint8_t *msg;
	size_t len;
	const struct tsig_key *key; /* the key the request was verified with; NULL: unsigned */
	const struct sockaddr *from;
	bool tcp;
	/* the request's TSIG failed (BADKEY, BADSIG, BADTIME...) with key_name: answer() only logs it,
	 * the query path answers NOTAUTH with the TSIG error (RFC 8945 5.2) */
	uint16_t tsig_error;
	const uint8_t *key_name;
};
struct server_update_result {
	uint16_t rcode;
	uint16_t ede; /* Extended DNS Error, EDE_NONE for none */
	char text[160]; /* its EXTRA-TEXT ("" for none) */
};
struct server_update {
	void (*answer)(void *arg, const struct server_update_request *rq, struct server_update_result *rs);
	void *arg;
};

/* TSIG keys made over the API (api/api_tsig_keys.c builds and publishes them whole): a request
 * whose key the configuration does not have is verified against these, and an UPDATE signed with
 * one is judged by its own rules (the semantics of update.acl, key_ref unused), for zones of its
 * tenant only. */
struct server_api_key {
	char *tenant;
	struct config_update_rule *acl;
	size_t nacl;
};
struct server_api_keys {
	struct tsig_keyring ring;
	struct server_api_key *keys; /* ring.count of them, in the ring's order */
};

struct server {
	struct zones *zones;
	struct ns_params *params; /* RCU pointer */
	/* The configuration in force (RCU pointer), published whole by server_set_config: read it with
	 * server_config() as an RCU reader, and keep nothing from it past the read-side section. */
	struct config *conf;
	struct stats stats; /* query counters of every worker */
	struct xfrin *xfrin; /* secondary zones (NOTIFY in, expiry); set before workers start */
	struct signals *signals; /* conditions signalled (signals/signals.h); NULL = none */
	struct usage *usage; /* queries by zone and tenant (usage/usage.h), what /metrics shows; NULL = none */
	struct monitors *monitors; /* member health of dynamic answers (dyn/monitor.h), the ctx of
	                            * monitor_up(); set before workers start; NULL = every member up */
	const struct xfr_journal *journal; /* zone history for IXFR (the API's store); NULL = none */
	struct server_update *update; /* dynamic updates (RCU pointer); NULL: UPDATE is answered NOTIMP */
	uint8_t cookie_random[16]; /* the cookie secret when the configuration gives none (made at start) */
	struct server_api_keys *api_keys; /* RCU pointer; NULL: none */
	_Atomic unsigned update_forwards; /* UPDATEs of secondary zones being forwarded (ns/update_forward.h) */
};

/* conf is published as the configuration in force; the caller keeps owning it. */
int server_init(struct server *srv, struct config *conf);
/* Publishes a reloaded configuration whole, with the answering parameters made from it, waits
 * until no reader can see the previous one, and returns it (the caller frees it once nothing
 * else holds it). On out of memory nothing changes and NULL is returned. */
struct config *server_set_config(struct server *srv, struct config *next);
/* The configuration in force; the caller is an RCU reader (or the thread that publishes). */
static inline const struct config *server_config(const struct server *srv)
{
	return rcu_dereference(((struct server *)srv)->conf);
}
void server_destroy(struct server *srv);
