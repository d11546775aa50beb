/* The set of served zones and the one door through which every new zone version is published.
 * Readers (query workers) never lock: they follow RCU pointers (liburcu QSBR) and must be
 * registered, online RCU threads. Writers are serialised by a mutex inside. */
#pragma once
#include <stdint.h>

#include "lib/zone.h"

struct zones;

enum zones_event { ZONES_PUBLISHED, ZONES_REMOVED };
/* Called after the swap, from the publishing thread; old is NULL for a new zone, next is NULL on
 * removal. Listeners must not keep the pointers beyond the call. */
typedef void (*zones_listener)(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next);

struct zones *zones_new(void);
/* Frees the set and every zone; no reader may be running. */
void zones_free(struct zones *zs);
/* Makes next the serving version of its zone (added if new) with one atomic pointer swap, then
 * tells listeners and frees the previous version after a grace period. Takes ownership. */
int zones_publish(struct zones *zs, struct zone *next);
/* Stops serving a zone. */
int zones_remove(struct zones *zs, const uint8_t *apex);
int zones_subscribe(struct zones *zs, zones_listener fn, void *arg);
void zones_unsubscribe(struct zones *zs, zones_listener fn, void *arg);

/* Read side (RCU reader): the zone with the longest apex that contains the lower-cased name, or
 * NULL. With below set, only zones strictly above the name qualify (DS is answered by the parent). */
const struct zone *zones_find(const struct zones *zs, const uint8_t *lname, int below);
/* The same with the name's length (len) and suffix hashes already computed (name_suffix_hashes()). */
const struct zone *zones_find_hashed(const struct zones *zs, const uint8_t *lname, size_t len, const uint32_t *hashes,
                                     int labels, int below);
/* The serving version of the zone with exactly this apex, or NULL (read side). */
const struct zone *zones_get(const struct zones *zs, const uint8_t *apex);
/* Calls fn for every zone served (read side: the caller is an RCU reader); stops on non-zero. */
int zones_foreach(const struct zones *zs, int (*fn)(void *arg, const struct zone *z), void *arg);
/* The same from the zone at *from (0: the first) on; where it stopped (fn returned non-zero:
 * after that zone) or ended is left in *from. A walk in steps may miss or repeat a zone added or
 * removed between two steps. */
int zones_foreach_from(const struct zones *zs, size_t *from, int (*fn)(void *arg, const struct zone *z), void *arg);
/* Number of zones served; any thread may ask (no RCU pointer is followed). */
size_t zones_count(const struct zones *zs);
