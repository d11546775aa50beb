/* Key rollovers of the store's signed zones: lib/dnssec_roll.c's plan run against the zone's key
 * rows (change_roll.c), on the signer thread; change_dnssec.c signs with the uses it leaves. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/dnssec_roll.h"
#include "ternd/change/change_impl.h"
#include "ternd/store/store.h"

#define CHANGE_ROLL_WHAT_MAX 320

/* Runs the plan of apex under p at now, with c->lock held: each step due is applied in one store
 * transaction (a key made with its private key, or a key moved, with its key journal entry), then
 * the plan is asked again, until nothing is due. *changed: a key came, went or changed its use
 * (the zone needs a whole signing with the keys' new uses). *ds_waiting: a KSK (CSK) is ready and
 * its DS not yet seen (the parents are to be asked). *next: when the plan next changes by
 * the clock (INT64_MAX: only when a DS is seen, or never); what (CHANGE_ROLL_WHAT_MAX) says which
 * step that will be ("" when none). 0, or a negative TERN_E* with err (steps applied before the
 * failure stay). */
int change_roll_run(struct change *c, const uint8_t *apex, const struct dnssec_policy *p, int64_t now, bool *changed,
                    bool *ds_waiting, uint16_t *ds_tag, int64_t *next, char *what, char *err, size_t errlen);

/* What a key row does in a signing (DNSSEC_ZONE_PUBLISH, _SIGN) by its use bits; a key to publish
 * revoked gets DNSSEC_FLAG_REVOKE set on k. 0: the key is not in the zone. */
unsigned change_roll_zone_use(const struct store_key *row, struct dnssec_key *k);

/* The use bits of a key made when signing is enabled: publishes and signs; a KSK or CSK also has
 * CDS and CDNSKEY when the policy publishes them. */
unsigned change_roll_first_use(enum store_key_role role, const struct dnssec_policy *p);

/* The operator (or the DS check) confirms that the DS of every KSK or CSK waiting for it (ready,
 * its DS not yet seen) is at the parent: ds_seen set in one transaction with a key journal entry
 * naming who. TERN_ENOTFOUND when no key waits (err says so). c->lock held. */
int change_roll_ds_seen(struct change *c, const uint8_t *apex, const char *who, char *err, size_t errlen);
