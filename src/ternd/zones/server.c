/* One running server's shared state: zones and answering parameters. */
#include "ternd/zones/server.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <urcu-qsbr.h>

#include "lib/error.h"

static void params_free(struct ns_params *p)
{
	if (!p)
		return;
	if (p->keyring.count) /* secrets */
		explicit_bzero((struct tsig_key *)p->keyring.keys, p->keyring.count * sizeof(p->keyring.keys[0]));
	free((struct tsig_key *)p->keyring.keys);
	free((struct config_rrl_zone *)p->rrl_zones);
	explicit_bzero(p->cookie_secret, sizeof(p->cookie_secret));
	explicit_bzero(p->cookie_previous, sizeof(p->cookie_previous));
	free(p);
}

static struct ns_params *params_new(const struct config *conf, const uint8_t random_secret[16])
{
	size_t nacl = conf->transfer.nallow + conf->transfer.nnotify;
	const struct config_rrl *rrl = &conf->rrl;
	struct ns_params *p = calloc(1, sizeof(*p) + (nacl + rrl->nwhitelist) * sizeof(p->xfr_allow[0]));
	if (!p)
		return NULL;
	if (rrl->nzones) {
		struct config_rrl_zone *z = calloc(rrl->nzones, sizeof(*z));
		if (!z) {
			free(p);
			return NULL;
		}
		memcpy(z, rrl->zones, rrl->nzones * sizeof(*z));
		p->rrl_zones = z;
		p->nrrl_zones = rrl->nzones;
	}
	p->rrl = rrl->enabled;
	p->rrl_log_only = rrl->log_only;
	p->count_usage = conf->usage.count_queries;
	unsigned v4 = rrl->ipv4_prefix > 32 ? 32 : rrl->ipv4_prefix,
	         v6 = rrl->ipv6_prefix > 128 ? 128 : rrl->ipv6_prefix;
	p->rrl_v4_mask = v4 ? (uint32_t)(0xffffffffull << (32 - v4)) : 0;
	p->rrl_v6_mask[0] = v6 >= 64 ? ~0ull : v6 ? ~0ull << (64 - v6) : 0;
	p->rrl_v6_mask[1] = v6 >= 128 ? ~0ull : v6 > 64 ? ~0ull << (128 - v6) : 0;
	p->rrl_rate = rrl->rate;
	p->rrl_window = rrl->window;
	p->rrl_slip = rrl->slip;
	p->rrl_debit = rrl->debit_window;
	p->cookies = conf->cookies.enabled;
	p->cookie_derive = !conf->cookies.secret_set;
	memcpy(p->cookie_secret, conf->cookies.secret_set ? conf->cookies.secret : random_secret, 16);
	p->cookie_has_previous = conf->cookies.secret_set && conf->cookies.previous_set;
	if (p->cookie_has_previous)
		memcpy(p->cookie_previous, conf->cookies.previous, 16);
	p->cookie_period = conf->cookies.rotation_ms / 1000 ? conf->cookies.rotation_ms / 1000 : 1;
	p->cookie_require = (uint16_t)conf->cookies.require_size;
	if (conf->nkeys) {
		struct tsig_key *keys = calloc(conf->nkeys, sizeof(*keys));
		if (!keys) {
			free(p);
			return NULL;
		}
		for (size_t i = 0; i < conf->nkeys; i++)
			keys[i] = conf->keys[i].key;
		p->keyring.keys = keys;
		p->keyring.count = conf->nkeys;
	}
	p->nxfr_allow = nacl;
	p->nrrl_whitelist = rrl->nwhitelist;
	if (rrl->nwhitelist)
		memcpy(p->xfr_allow + nacl, rrl->whitelist, rrl->nwhitelist * sizeof(p->xfr_allow[0]));
	if (conf->transfer.nallow)
		memcpy(p->xfr_allow, conf->transfer.allow, conf->transfer.nallow * sizeof(p->xfr_allow[0]));
	/* the secondaries we NOTIFY may transfer too: from their address, with their key when one is set */
	for (size_t i = 0; i < conf->transfer.nnotify; i++) {
		const struct config_listen *n = &conf->transfer.notify[i];
		struct config_prefix *e = &p->xfr_allow[conf->transfer.nallow + i];
		e->family = n->addr.ss_family;
		e->key = n->key;
		if (e->family == AF_INET) {
			memcpy(e->addr, &((const struct sockaddr_in *)&n->addr)->sin_addr, 4);
			e->len = 32;
		} else {
			memcpy(e->addr, &((const struct sockaddr_in6 *)&n->addr)->sin6_addr, 16);
			e->len = 128;
		}
	}
	p->edns_size = conf->edns_size ? conf->edns_size : 1232;
	if (conf->nsid) {
		size_t n = strlen(conf->nsid);
		p->nsid_len = (uint16_t)(n > sizeof(p->nsid) ? sizeof(p->nsid) : n);
		memcpy(p->nsid, conf->nsid, p->nsid_len);
	}
	return p;
}

int server_init(struct server *srv, struct config *conf)
{
	memset(srv, 0, sizeof(*srv));
	srv->conf = conf;
	srv->zones = zones_new();
	if (getrandom(srv->cookie_random, sizeof(srv->cookie_random), 0) != sizeof(srv->cookie_random)) {
		server_destroy(srv);
		return TERN_EIO;
	}
	srv->params = params_new(conf, srv->cookie_random);
	if (!srv->zones || !srv->params) {
		server_destroy(srv);
		return TERN_ENOMEM;
	}
	return 0;
}

struct config *server_set_config(struct server *srv, struct config *next)
{
	struct ns_params *p = params_new(next, srv->cookie_random);
	if (!p)
		return NULL;
	struct ns_params *old = rcu_xchg_pointer(&srv->params, p);
	struct config *previous = rcu_xchg_pointer(&srv->conf, next);
	synchronize_rcu();
	params_free(old);
	return previous;
}

void server_destroy(struct server *srv)
{
	stats_free(&srv->stats);
	zones_free(srv->zones);
	params_free(srv->params);
	srv->zones = NULL;
	srv->params = NULL;
	srv->conf = NULL;
}
