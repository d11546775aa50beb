/* One running server's shared state: zones and answering parameters. */
#include "ternd/server.h"

#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"

static struct ns_params *params_new(const struct config *conf)
{
	struct ns_params *p = calloc(1, sizeof(*p) + conf->transfer.nallow * sizeof(p->xfr_allow[0]));
	if (!p)
		return NULL;
	p->nxfr_allow = conf->transfer.nallow;
	if (conf->transfer.nallow)
		memcpy(p->xfr_allow, conf->transfer.allow, conf->transfer.nallow * sizeof(p->xfr_allow[0]));
	p->edns_size = conf->edns_size ? conf->edns_size : 1232;
	if (conf->nsid) {
		size_t n = strlen(conf->nsid);
		p->nsid_len = (uint16_t)(n > sizeof(p->nsid) ? sizeof(p->nsid) : n);
		memcpy(p->nsid, conf->nsid, p->nsid_len);
	}
	return p;
}

int server_init(struct server *srv, const struct config *conf)
{
	memset(srv, 0, sizeof(*srv));
	srv->zones = zones_new();
	srv->params = params_new(conf);
	if (!srv->zones || !srv->params) {
		server_destroy(srv);
		return TERN_ENOMEM;
	}
	return 0;
}

int server_set_params(struct server *srv, const struct config *conf)
{
	struct ns_params *p = params_new(conf);
	if (!p)
		return TERN_ENOMEM;
	struct ns_params *old = rcu_xchg_pointer(&srv->params, p);
	synchronize_rcu();
	free(old);
	return 0;
}

void server_destroy(struct server *srv)
{
	stats_free(&srv->stats);
	zones_free(srv->zones);
	free(srv->params);
	srv->zones = NULL;
	srv->params = NULL;
}
