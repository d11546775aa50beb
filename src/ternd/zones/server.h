/* One running server: its zones, its answering parameters and its transports. Everything a
 * query needs hangs off here, so tests can run several servers in one process. */
#pragma once
#include <stddef.h>
#include <stdint.h>

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
	size_t nxfr_allow;
	struct config_prefix xfr_allow[]; /* who may transfer zones */
};

struct xfrin;
struct xfr_journal;

struct server {
	struct zones *zones;
	struct ns_params *params; /* RCU pointer */
	struct stats stats; /* query counters of every worker */
	struct xfrin *xfrin; /* secondary zones (NOTIFY in, expiry); set before workers start */
	const struct xfr_journal *journal; /* zone history for IXFR (the API's store); NULL = none */
};

int server_init(struct server *srv, const struct config *conf);
/* Publishes new parameters from a reloaded configuration. */
int server_set_params(struct server *srv, const struct config *conf);
void server_destroy(struct server *srv);
