/* A zone's DNSSEC policy as values: algorithm, denial chain, key scheme and lifetimes, TTLs and
 * signature timing, CDS/CDNSKEY and the parents to ask for the DS; with the defaults and the one
 * check that refuses values that cannot work, naming the field. The API and the configuration
 * file both fill this struct and ask dnssec_policy_check(). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/nsec.h"

#define DNSSEC_POLICY_NAME_MAX 63
#define DNSSEC_POLICY_PARENTS_MAX 8
#define DNSSEC_POLICY_ADDR_MAX 63 /* "ADDRESS" or "ADDRESS@PORT" */
#define DNSSEC_POLICY_SECONDS_MAX 2147483647u /* RFC 2181 8 for TTLs; RRSIG times are RFC 1982 */

struct dnssec_policy {
	char name[DNSSEC_POLICY_NAME_MAX + 1]; /* the configuration's named policy it came from, or "" */
	uint8_t algorithm; /* 13 or 15 */
	struct nsec_params nsec; /* iterations 0 and no salt (RFC 9276) */
	bool csk; /* one Combined Signing Key instead of a KSK and a ZSK */
	uint32_t ksk_lifetime, zsk_lifetime, csk_lifetime; /* seconds; 0: never rolled */
	uint32_t dnskey_ttl;
	uint32_t max_zone_ttl; /* the largest TTL the zone's records may have (rollover timing); 0: any */
	uint32_t propagation_delay; /* primary to every secondary (RFC 7583 Dprp) */
	uint32_t rrsig_lifetime; /* validity of a signature, before jitter */
	uint32_t rrsig_refresh; /* re-sign what expires within this */
	uint32_t rrsig_jitter; /* each signature expires up to this much earlier, at random */
	uint32_t rrsig_inception; /* inception this much before the signing time (validators' skew) */
	bool cds; /* publish CDS and CDNSKEY for the KSK (CSK) */
	uint32_t ds_ttl; /* the TTL of the parent's DS RRset (RFC 7583 3.3.2: the old KSK stays this long) */
	uint32_t ds_check_interval; /* how often the parents are asked for the DS of a KSK waiting for it */
	bool rfc5011; /* RFC 5011: a new KSK waits add_holddown; the old one is published revoked */
	uint32_t add_holddown, remove_holddown; /* RFC 5011 2.4.1 and 2.4.2 */
	unsigned nparents;
	char parents[DNSSEC_POLICY_PARENTS_MAX][DNSSEC_POLICY_ADDR_MAX + 1]; /* "ADDRESS[@PORT]" */
};

/* The defaults: ECDSAP256SHA256, NSEC, KSK (never rolled) and ZSK (30 days), DNSKEY TTL 1 hour,
 * largest TTL 1 day, propagation 1 hour, signatures valid 14 days, refreshed 7 days before they
 * expire with 12 hours of jitter, inception 1 hour back, CDS/CDNSKEY on, no parents, DS TTL 1 day
 * asked for every hour, RFC 5011 off with hold-downs of 30 days. */
void dnssec_policy_default(struct dnssec_policy *p);

/* Whether p can work. Returns 0, or TERN_EINVAL with *field the key at fault ("algorithm",
 * "rrsig-lifetime", "nsec3-iterations", "parents[1]"...) and err why. Rules: an algorithm Tern
 * signs with (dnssec_alg_check); NSEC3 with 0 iterations and no salt (RFC 9276 3.1), opt-out only
 * with NSEC3; lifetimes of the scheme in use only; a key lifetime of 0 or longer than a rollover
 * takes (propagation-delay + dnskey-ttl + max-zone-ttl); rrsig-lifetime above rrsig-refresh +
 * rrsig-jitter; rrsig-refresh and dnskey-ttl at least 1; every duration at most 2^31 - 1;
 * parents IPv4 or IPv6 addresses with an optional @port, at most DNSSEC_POLICY_PARENTS_MAX. */
int dnssec_policy_check(const struct dnssec_policy *p, const char **field, char *err, size_t errlen);

/* The timings only tests may shorten: add-holddown and remove-holddown below one day (RFC 5011
 * 2.4.1 asks for 30 days) and ds-check-interval below a minute are refused (TERN_EINVAL, *field
 * the key) unless test_timings (the configuration's server.dnssec-test-timings). Called after
 * dnssec_policy_check() by the API and the configuration. */
int dnssec_policy_check_timings(const struct dnssec_policy *p, bool test_timings, const char **field, char *err,
                                size_t errlen);

/* An algorithm by mnemonic (any case: "ecdsap256sha256", "ed25519", "rsasha1"...) or number:
 * 0 with *alg set when Tern signs with it; TERN_EINVAL naming it and why otherwise (RFC 8624:
 * RSAMD5, DSA, DSA-NSEC3-SHA1 and ECC-GOST must not be used, RSASHA1 and RSASHA1-NSEC3-SHA1 are
 * deprecated, the rest are not signed with by Tern or unknown). */
int dnssec_policy_alg_parse(const char *text, uint8_t *alg, char *err, size_t errlen);
/* The mnemonic Tern writes for alg in a policy ("ecdsap256sha256", "ed25519"), lower case. */
const char *dnssec_policy_alg_text(uint8_t alg);
/* "ADDRESS" or "ADDRESS@PORT" (IPv4 or IPv6, port 1..65535): 0 or TERN_EINVAL with err. */
int dnssec_policy_parent_check(const char *text, char *err, size_t errlen);
