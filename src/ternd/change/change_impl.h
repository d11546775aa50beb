/* What change.c and change_dnssec.c share: the one way a new version is stored and served, and
 * the signer's hooks into the write path. Callers hold c->lock. */
#pragma once
#include "lib/nsec.h"
#include "ternd/change/change.h"

#define CHANGE_SIGNER_PRINCIPAL "dnssec-signer"

/* More rows a version is stored with, in its transaction (the signer's: its DNSSEC row, keys that
 * became active): 0 or a TERN_E* with err. */
typedef int (*change_rows_fn)(struct store_txn *t, void *arg, char *err, size_t errlen);

/* Stores and serves next, derived from cur by zone_apply(cur, list, n) with serial: in one
 * transaction the zone's row checked (there, not locked), every change of list, the serial, the
 * journal entry (zone_diff of cur and next over list) and, when rows is given, its rows;
 * committed, then published. next is taken over (published, or discarded on failure). */
int change_write_version(struct change *c, const uint8_t *apex, const struct zone *cur, struct zone *next,
                         const struct zone_change *list, size_t n, uint32_t serial, const char *principal,
                         change_rows_fn rows, void *rows_arg, struct change_result *r);

/* One zone of the store built from its RRsets and published (its signing state set up first, as at
 * start): 0; 1 when it cannot be built (logged by name); TERN_ENOMEM. */
int change_load_zone(struct change *c, const struct store_zone *sz);

/* Records in r where a write stopped and why (the message formatted); returns code. */
__attribute__((format(printf, 4, 5))) int change_fail(struct change_result *r, enum change_step step, int code,
                                                      const char *fmt, ...);

/* c->lock held: a store transaction begun in *tp and apex's row read into *row (name: apex as
 * text, for the refusals). 0; 1 when refused in r (no such zone, or it is locked); or the store's
 * TERN_E* with err. *tp (NULL when none began) is the caller's to end in every case. */
int change_begin_zone(struct change *c, const uint8_t *apex, const char *name, struct store_txn **tp,
                      struct store_zone *row, struct change_result *r, char *err, size_t errlen);

/* The signer's state of a zone (NULL: not signed); under c->lock. */
struct signed_zone;
struct signed_zone *change_dnssec_find(struct change *c, const uint8_t *apex);
/* Whether the served version of the zone is signed and its chain index is at hand, so a write is
 * re-signed. While the first signing runs (or after the index was lost, a signing then queued),
 * writes apply as they are and the signing job, seeing the version move, signs again. */
bool change_dnssec_live(const struct signed_zone *sz);
/* 0, or a refusal in r when the zone's keys could not be loaded (a write would leave it bogus). */
int change_dnssec_check_write(const struct signed_zone *sz, struct change_result *r);
/* 0, or a refusal in r naming the first change (the import as a whole when import) whose TTL is
 * above the zone's max-zone-ttl (0: no limit). */
int change_dnssec_check_ttls(const struct signed_zone *sz, const struct change_rrset *ch, size_t n, bool import,
                             struct change_result *r);
/* A write to a signed zone: set (the producer's changes and the SOA) applied to cur and signed
 * (dnssec_zone_resign); *out gets the changes to store (data, chain, signatures), *next the signed
 * version. On failure r says why; a lost chain index schedules a full signing. */
int change_dnssec_resign(struct change *c, struct signed_zone *sz, const struct zone *cur,
                         const struct zone_change *set, size_t n, struct nsec_changes *out, struct zone **next,
                         struct change_result *r);
/* At start (change_load_all), before z is published: a zone the store holds as signed gets its
 * keys and its chain index; one left signing is queued for a full signing. Logs what fails. */
void change_dnssec_loaded(struct change *c, const struct store_zone *row, const struct zone *z);
/* The zone was unlocked: a signing job waiting to retry runs now. */
void change_dnssec_kick(struct change *c, const uint8_t *apex);
/* A write to sz's zone (ch, n as written): one of the _in-tree TXT has the promise judged at the
 * signer's next round (in-tree-expiring set or cleared at once). */
void change_dnssec_intree_written(struct change *c, struct signed_zone *sz, const struct change_rrset *ch, size_t n);
/* The zone was deleted: its signing state goes. */
void change_dnssec_forget(struct change *c, const uint8_t *apex);
/* change_init / change_destroy's parts. */
int change_dnssec_init(struct change *c);
void change_dnssec_destroy(struct change *c);
