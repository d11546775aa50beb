/* The HTTP/JSON control plane: zones and RRsets of tenants, read from the store and written
 * through the change module (served at once). */
#pragma once

struct svc;
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct api;
struct change;
struct store;
struct xfr_journal;

/* With a store (the api section has data-dir and jwks): loads the JWKS, starts the PoP poller,
 * then answers the tenant API over HTTP, reading store and writing through change; both are the
 * caller's, opened (and the store's zones published, change_load_all()) before, closed after
 * api_stop(). Without (store and change NULL): /healthz and /metrics only. Zone names configured
 * as zone files cannot be created through the API. lfd is the listening socket of api.listen
 * (http_listen, bound before ternd read any network input), taken over. */
int api_start(struct server *srv, const struct config *conf, struct store *store, struct change *change, int lfd,
              struct api **out, char *err, size_t errlen);
void api_stop(struct api *a);
/* The service-certificate owner that service creations wake (NULL: issuance off). */
void api_set_svc(struct api *a, struct svc *svc);
/* The store's change journal as IXFR reads it (srv->journal), or NULL without a store. It lives
 * until api_stop(): the TCP workers that read it must stop before. */
const struct xfr_journal *api_journal(const struct api *a);
/* SIGHUP, with conf about to be published (server_set_config): the HTTP limits a reload may change
 * (max-clients-per-address, request-timeout, idle-timeout), and conf's JWKS loaded again (keys
 * rotate without a restart) with every cached token forgotten, so a token signed by a removed key
 * stops working at once; on error the keys in use stay and the error is logged. Requests read the
 * other api settings from the configuration in force. listen, data-dir, max-clients and pops
 * need a restart. */
void api_reload(struct api *a, const struct config *conf);
/* The port the API listens on. */
unsigned api_port(const struct api *a);
/* Takes one request of tenant's rate-limit bucket (api.rate-limit, api.rate-burst), the one the
 * tenant's API requests take: true when there was one (or no limit is set), else false with the
 * rate in force in *rate and the seconds to wait in *wait. Any thread, until api_stop(); the
 * caller is an RCU reader. Dynamic updates of the tenant's zones count here too. */
bool api_rate_take(struct api *a, const char *tenant, unsigned *rate, unsigned *wait);
