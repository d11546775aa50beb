/* Catalog zones (RFC 9432 version 2) as data: member ids, serials, building and reading catalogs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"
#include "lib/zone.h"

#define CATALOG_ID_LEN 40 /* hex digits of a member's unique id (the first label of its entry) */

/* A member's unique id: lower-case hex of SHA-1 over its lower-cased wire name, so it is the same
 * across restarts and on every producer that lists the zone. */
void catalog_member_id(const uint8_t *member, char out[CATALOG_ID_LEN + 1]);
/* The serial that follows prev: max(prev + 1, now) in serial number arithmetic (RFC 1982), so it
 * never goes backwards and tracks the clock when changes are rare. */
uint32_t catalog_next_serial(uint32_t prev, uint32_t now);
/* <id>.zones.<apex>, where a member's PTR lives, into out; false when that name would be longer
 * than 255 octets. */
bool catalog_entry_owner(const uint8_t *apex, const uint8_t *member, uint8_t out[NAME_MAXLEN]);
/* Builds a catalog snapshot: SOA and NS (invalid.) at the apex, version TXT "2" and one PTR per
 * member at <id>.zones.<apex>. members are lower-cased wire names. */
int catalog_build(const uint8_t *apex, uint32_t serial, const uint8_t *const *members, size_t n, struct zone **out,
                  char *err, size_t errlen);

/* The version that follows prev (a catalog catalog_build() or this made): the PTRs of members
 * added and removed, and the SOA with serial; only the names that change are copied. */
int catalog_derive(const struct zone *prev, const uint8_t *const *added, size_t nadd, const uint8_t *const *removed,
                   size_t nrem, uint32_t serial, struct zone **out, char *err, size_t errlen);

/* One member of a catalog. */
struct catalog_member {
	uint8_t apex[NAME_MAXLEN]; /* lower-cased wire form */
};

/* qsort()/bsearch() order of members (name_cmp() of their apexes): the order catalog_members()
 * returns them in. */
int catalog_member_cmp(const void *a, const void *b);

/* The members a catalog zone lists, in a malloc'd array sorted by name (RFC 4034 order). Returns
 * TERN_EZONE with msg when the catalog must not be processed (its version property is missing or
 * not "2", RFC 9432 4.2.1). Entries that cannot be used (more than one PTR, a zone listed twice,
 * the catalog itself or a name inside it) are skipped, each named on a line of msg. Properties
 * (coo, group, ext) are ignored. */
int catalog_members(const struct zone *cat, struct catalog_member **out, size_t *n, char *msg, size_t msglen);
