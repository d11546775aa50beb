/* The DS check of a KSK rollover: which keys wait for their DS, and whether every parent server
 * of the zone has it (change_ds.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/name.h"
#include "ternd/change/change_impl.h"
#include "ternd/store/store.h"

#define CHANGE_DS_KEYS_MAX 8
#define CHANGE_DS_TIMEOUT_MS 2000 /* each exchange with a parent */

/* A check to make without c->lock: the zone, its parents, the DNSKEYs whose DS is wanted. */
struct change_ds_check {
	uint8_t apex[NAME_MAXLEN];
	unsigned nparents;
	char parents[DNSSEC_POLICY_PARENTS_MAX][DNSSEC_POLICY_ADDR_MAX + 1];
	size_t nkeys;
	uint8_t dnskey[CHANGE_DS_KEYS_MAX][DNSSEC_DNSKEY_MAX];
	uint16_t dnskey_len[CHANGE_DS_KEYS_MAX];
	uint16_t tag[CHANGE_DS_KEYS_MAX];
	bool gone; /* signing is being turned off: wanted is no DS of the zone at any parent */
	/* the zone is marked in-tree (its _in-tree TXT, api/api_intree.c): a parent that has no
	 * delegation for it (NXDOMAIN) does not hold the roll up; hinted resolvers trust the RFC 5011
	 * anchor, not a DS, so the roll proceeds on the hold-downs alone */
	bool intree;
	unsigned nxdomain; /* change_ds_ask: parents that answered NXDOMAIN and were passed over */
};

/* With c->lock: whether apex has parents and a KSK (CSK) ready whose DS was not seen; fills chk. */
bool change_ds_wanted(struct change *c, const uint8_t *apex, const struct dnssec_policy *p,
                      struct change_ds_check *chk);

/* With c->lock: whether apex, being turned off, has parents to ask whether its DS is gone; fills chk. */
bool change_ds_gone_wanted(struct change *c, const uint8_t *apex, const struct dnssec_policy *p,
                           struct change_ds_check *chk);

/* Without c->lock: asks each parent of chk for the zone's DS RRset (UDP; TCP when truncated),
 * each exchange within timeout_ms. 1: every parent has the DS of every key of chk, or (chk->intree)
 * answers NXDOMAIN for the zone, counted in chk->nxdomain (chk->gone: no
 * parent has a DS of the zone); 0: one lacks one, or still has one (msg says which); a negative TERN_E*: a parent did
 * not answer, or not as it should (msg says which and why; the check is made again later). */
int change_ds_ask(struct change_ds_check *chk, unsigned timeout_ms, char *msg, size_t msglen);

/* Without c->lock: makes the n checks of v; a zone whose waiting keys' DS is at every parent gets
 * them marked seen (change_roll_ds_seen) and its plan run at the signer's next round. What each
 * check found is logged: an unreachable parent is a warning and asked again at the next check. */
void change_ds_checks_run(struct change *c, struct change_ds_check *v, size_t n);
