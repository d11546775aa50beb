/* Zone histories kept in memory for IXFR out (RFC 1995), for zones no store keeps a journal of
 * (the catalog ternd produces): the last changes of each such zone, in front of another journal
 * (the store's) that answers for every other zone. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "ternd/ns/xfr.h"

/* How much of one zone's history is kept: the oldest changes go first. */
#define XFR_HISTORY_MAX_CHANGES 4096
#define XFR_HISTORY_MAX_RECORDS 200000

struct xfr_history;

/* next answers for the zones that have no history here (NULL: none). */
struct xfr_history *xfr_history_new(const struct xfr_journal *next);
/* No reader may be using it (the TCP transfers stopped). Takes NULL. */
void xfr_history_free(struct xfr_history *h);
/* The journal IXFR reads (srv->journal): the history of a zone added here, else next's. */
const struct xfr_journal *xfr_history_journal(struct xfr_history *h);
/* Appends one change of apex (copied); it must start at the serial the last one ended at, else
 * the zone's history starts anew with it. Call before the version it leads to is served. A change
 * over XFR_HISTORY_MAX_RECORDS alone, or out of memory, leaves the zone's history empty (IXFR
 * then sends the whole zone). Returns 0 or TERN_ENOMEM. */
int xfr_history_add(struct xfr_history *h, const uint8_t *apex, const struct xfr_diff *d);
/* Forgets apex's history (a version served that no change leads to, a zone no longer served).
 * The zone stays one of this history's: IXFR of it is answered whole, not by next. */
void xfr_history_reset(struct xfr_history *h, const uint8_t *apex);
/* Forgets apex altogether: next answers for it again. */
void xfr_history_drop(struct xfr_history *h, const uint8_t *apex);
/* Changes and records kept for apex (tests, benchmarks, logs). */
void xfr_history_size(struct xfr_history *h, const uint8_t *apex, size_t *changes, size_t *records);
