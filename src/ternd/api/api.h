/* The HTTP/JSON control plane: zones and RRsets of tenants kept in the store and served at once
 * through zones_publish(). */
#pragma once
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct api;

/* Opens the store, loads the JWKS, rebuilds and publishes every API-managed zone, then starts
 * answering HTTP. Zone names configured as zone files cannot be created through the API. */
int api_start(struct server *srv, const struct config *conf, struct api **out, char *err, size_t errlen);
void api_stop(struct api *a);
/* SIGHUP, with conf about to be published (server_set_config): the HTTP limits a reload may change
 * (max-clients-per-address, request-timeout, idle-timeout), and conf's JWKS loaded again (keys
 * rotate without a restart) with every cached token forgotten, so a token signed by a removed key
 * stops working at once; on error the keys in use stay and the error is logged. Requests read the
 * other api settings from the configuration in force. listen, data-dir, max-clients and pops
 * need a restart. */
void api_reload(struct api *a, const struct config *conf);
/* The port the API listens on. */
unsigned api_port(const struct api *a);
