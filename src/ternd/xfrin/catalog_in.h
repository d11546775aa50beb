/* Catalog zones consumed (RFC 9432 version 2): each secondary zone configured with catalog: true
 * makes the zones it lists secondary zones of their own, pulled from the catalog's primaries. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"
#include "lib/zone.h"
#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct catalog_in;
struct xfrin;

/* Serves every member of the catalogs conf names (those served already, from disk copies or not)
 * and follows each new version of them from then on. Returns once the members known now are added. */
int catalog_in_start(struct server *srv, const struct config *conf, struct xfrin *x, struct catalog_in **out, char *err,
                     size_t errlen);
/* SIGHUP, after xfrin_reload() and before load_zones(): the members of catalogs no longer consumed
 * and members the configuration now names itself stop being pulled (the latter are the
 * configuration's from then on); the others follow their catalog's primaries. Returns once done. */
void catalog_in_reload(struct catalog_in *ci, const struct config *conf);
/* Stops the thread; members stay secondary zones until xfrin_stop(). */
void catalog_in_stop(struct catalog_in *ci);
/* Whether every version of a consumed catalog published so far has been read, its members added
 * to (or removed from) the secondary zones; true without catalogs. Readiness asks it after
 * xfrin_unserved_next() found every zone served, then scans them again (catalog_in_start's thread may
 * have added members in between). */
bool catalog_in_settled(struct catalog_in *ci);
