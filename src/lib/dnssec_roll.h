/* Key rollovers as a plan: the states a zone's keys go through (RFC 7583 timing; Knot's key states
 * are the reference) and the next step a policy calls for at a given time. No clock, no store, no
 * keys' material: the server applies each step (makes the key, stores it, writes the key journal,
 * signs the zone with the keys' new uses) and asks again, until nothing is due. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key's life: generated -> published -> ready -> active -> retired [-> revoked] -> removed. */
enum roll_state {
	ROLL_GENERATED, /* made; not in the DNSKEY RRset (in an algorithm rollover it already signs) */
	ROLL_PUBLISHED, /* in the DNSKEY RRset, waiting for every cache to hold it */
	ROLL_READY, /* every cache holds it; a KSK's DS may go to the parent (CDS/CDNSKEY) */
	ROLL_ACTIVE, /* signs; a KSK: its DS is at the parent */
	ROLL_RETIRED, /* no longer the key in use; kept while caches may still need it */
	ROLL_REVOKED, /* RFC 5011: published with the REVOKE bit, self-signed, for the remove hold-down */
	ROLL_REMOVED, /* gone from the zone; kept for the key journal */
	ROLL_NSTATES
};

/* ZSKs sign every RRset but DNSKEY, CDS and CDNSKEY; KSKs sign those; a CSK signs all. */
enum roll_role { ROLL_ZSK, ROLL_KSK, ROLL_CSK };

/* What a key does in the zone now (lib/dnssec_zone's DNSSEC_ZONE_PUBLISH and _SIGN, plus): */
#define ROLL_USE_PUBLISH 1u /* its DNSKEY is in the apex RRset */
#define ROLL_USE_SIGN 2u /* it signs what its role covers */
#define ROLL_USE_CDS 4u /* CDS and CDNSKEY for it are at the apex (RFC 7344): its DS may go up */
#define ROLL_USE_REVOKE 8u /* published and signing with the REVOKE flag (RFC 5011 2.1) */

struct roll_key {
	uint16_t tag; /* the key tag, for reasons */
	uint8_t algorithm;
	enum roll_role role;
	enum roll_state state;
	unsigned use; /* ROLL_USE_* */
	int64_t since; /* when its state or use last changed (seconds since the epoch) */
	int64_t at[ROLL_NSTATES]; /* when it entered each state; 0: never */
	bool ds_seen; /* KSK, CSK: its DS is at every parent server (seen, or confirmed by the operator) */
};

/* The timing of a policy, seconds (RFC 7583 3). */
struct roll_policy {
	uint8_t algorithm; /* the algorithm the zone is to be signed with: other keys are rolled away */
	bool csk; /* one combined key rather than a KSK and a ZSK */
	uint32_t zsk_lifetime, ksk_lifetime; /* from activation to the successor's; 0: never rolled */
	uint32_t dnskey_ttl;
	uint32_t zone_max_ttl; /* the largest TTL of a signed RRset */
	uint32_t propagation_delay; /* from a change to every secondary serving it */
	uint32_t ds_ttl; /* the TTL of the DS RRset at the parent */
	bool cds; /* publish CDS and CDNSKEY of a KSK waiting for its DS */
	bool rfc5011; /* add hold-down before a new KSK is used, REVOKE the old one */
	uint32_t add_holddown, remove_holddown; /* RFC 5011 2.4.1 and 2.4.2 */
};

enum roll_step_kind {
	ROLL_NONE, /* nothing is due now */
	ROLL_GENERATE, /* make a key: role, algorithm, its first state and use */
	ROLL_MOVE, /* keys[key] goes to state with use */
};

#define ROLL_REASON_MAX 200

struct roll_step {
	enum roll_step_kind kind;
	size_t key; /* ROLL_MOVE */
	enum roll_role role; /* ROLL_GENERATE */
	uint8_t algorithm; /* ROLL_GENERATE */
	enum roll_state state;
	unsigned use;
	char reason[ROLL_REASON_MAX]; /* why, for the key journal */
};

/* The first step due at now for a zone signed under p whose keys are keys (removed ones included,
 * in any order). When none is due, step->kind is ROLL_NONE and *next is the time the plan next
 * changes by the clock alone (INT64_MAX when it waits only for a DS to be seen, or for nothing).
 * The caller applies the step (a generated key is appended with at[state] = since = now) and calls
 * again until ROLL_NONE; then signs the zone with the uses it holds. */
void roll_next(const struct roll_policy *p, const struct roll_key *keys, size_t n, int64_t now, struct roll_step *step,
               int64_t *next);

/* Names for the key journal and the API. */
const char *roll_state_name(enum roll_state s);
const char *roll_role_name(enum roll_role r);
