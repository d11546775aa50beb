/* The catalog zone ternd produces (RFC 9432, version 2): every zone served from a zone file or
 * the API is a member, and a thread of its own republishes the catalog when zones come and go. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/zone.h"
#include "ternd/config.h"
#include "ternd/server.h"

#define CATALOG_ID_LEN 40 /* hex digits of a member's unique id (the first label of its entry) */

struct catalog;
struct xfrin;

/* A member's unique id: lower-case hex of SHA-1 over its lower-cased wire name, so it is the same
 * across restarts and on every producer that lists the zone. */
void catalog_member_id(const uint8_t *member, char out[CATALOG_ID_LEN + 1]);
/* The serial that follows prev: max(prev + 1, now) in serial number arithmetic (RFC 1982), so it
 * never goes backwards and tracks the clock when changes are rare. */
uint32_t catalog_next_serial(uint32_t prev, uint32_t now);
/* Builds a catalog snapshot: SOA and NS (invalid.) at the apex, version TXT "2" and one PTR per
 * member at <id>.zones.<apex>. members are lower-cased wire names. */
int catalog_build(const uint8_t *apex, uint32_t serial, const uint8_t *const *members, size_t n, struct zone **out,
                  char *err, size_t errlen);

/* Publishes the catalog of conf->catalog (nothing when it is not enabled) with every zone served
 * now, then keeps it current. Zones x pulls (secondary zones) are not members. Returns once the
 * first version is served. */
int catalog_start(struct server *srv, const struct config *conf, struct xfrin *x, struct catalog **out, char *err,
                  size_t errlen);
/* SIGHUP: rechecks membership (zones may have turned secondary or back); a catalog renamed,
 * added or dropped in conf starts, moves or stops (the old catalog zone is no longer served). */
int catalog_reload(struct catalog **c, struct server *srv, const struct config *conf, struct xfrin *x, char *err,
                   size_t errlen);
/* Stops the thread; the catalog zone stays in srv->zones (freed with it). */
void catalog_stop(struct catalog *c);
