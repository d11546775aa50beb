/* The catalog zone ternd produces (RFC 9432, version 2): every zone served from a zone file or
 * the API is a member, and a thread of its own republishes the catalog when zones come and go. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/catalog.h"
#include "lib/zone.h"
#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct catalog;
struct xfrin;
struct xfr_history;

/* Publishes the catalog of conf->catalog (nothing when it is not enabled) with every zone served
 * now, then keeps it current. Zones x pulls (secondary zones) are not members. Each change goes
 * into hist before its version is served, so consumers follow by IXFR (the first version after
 * a start starts the history anew). Returns once the first version is served. */
int catalog_start(struct server *srv, const struct config *conf, struct xfrin *x, struct xfr_history *hist,
                  struct catalog **out, char *err, size_t errlen);
/* SIGHUP: rechecks membership (zones may have turned secondary or back); a catalog renamed,
 * added or dropped in conf starts, moves or stops (the old catalog zone is no longer served). */
int catalog_reload(struct catalog **c, struct server *srv, const struct config *conf, struct xfrin *x,
                   struct xfr_history *hist, char *err, size_t errlen);
/* Stops the thread; the catalog zone stays in srv->zones (freed with it). */
void catalog_stop(struct catalog *c);
