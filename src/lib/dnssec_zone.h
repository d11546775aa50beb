/* Signing a zone snapshot as data: the DNSKEY RRset, the denial chain and the RRSIGs a zone
 * needs, as zone_apply() changes, for the whole zone or for one batch of data changes. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/dnssec.h"
#include "lib/nsec.h"
#include "lib/zone.h"

/* What a key does in a zone: its DNSKEY is published at the apex, it signs, or both (a key may
 * sign before it is published: an algorithm rollover puts signatures before keys, RFC 6781). */
#define DNSSEC_ZONE_PUBLISH 1u
#define DNSSEC_ZONE_SIGN 2u
/* With DNSSEC_ZONE_SIGN: a combined key (CSK) signs every RRset even while ZSKs sign too (a rollover
 * between a CSK and a KSK + ZSK keeps each scheme's signatures whole). */
#define DNSSEC_ZONE_ALL 4u

/* A key of the zone. Keys with DNSSEC_FLAG_SEP (KSKs) sign the DNSKEY, CDS and CDNSKEY RRsets, the
 * others (ZSKs) everything else; when no ZSK signs, the KSKs sign everything (a CSK), and when no
 * KSK signs, the ZSKs sign the DNSKEY RRset too. Every signing key signs each RRset it covers. */
struct dnssec_zone_key {
	const struct dnssec_key *key;
	unsigned use; /* DNSSEC_ZONE_PUBLISH | DNSSEC_ZONE_SIGN | DNSSEC_ZONE_ALL */
};

struct dnssec_zone_policy {
	struct nsec_params nsec; /* NSEC or NSEC3 and its parameters */
	uint32_t dnskey_ttl;
	uint32_t validity; /* RRSIG expiration: now + validity (1 .. 2^31 - 1 seconds) */
	uint32_t inception; /* RRSIG inception: now - inception (clock skew of validators) */
	uint32_t jitter; /* each RRset's signatures expire up to jitter seconds early, picked at random
	                  * per RRset (below validity), so refreshes spread out; 0: all at now + validity */
};

/* The changes (appended to out; each change's owner, rdata and ttls sit in one malloc'd block
 * starting at owner, so nsec_changes_free() frees them) that make z fully signed:
 * zone_apply(z, out) is z with the apex DNSKEY RRset of the published keys (TTL dnskey_ttl), the
 * chain nsec_chain_build() gives for it, and at every name exactly the RRSIGs of its
 * authoritative RRsets (each group with its RRset's TTL): every type but RRSIG at the apex and
 * at names below it that no cut occludes; at a cut only DS, NSEC and NSEC3; below a cut (glue,
 * occluded data) nothing. Signatures z held are replaced, stale ones deleted. When index is not
 * NULL it receives the chain's index for dnssec_zone_resign(). Returns 0, TERN_EINVAL (err says
 * which key or policy value cannot work), TERN_EZONE (the chain or the zone's rules: err says
 * which), or TERN_ENOMEM; on failure out and *index are unchanged. */
int dnssec_zone_sign(const struct zone *z, const struct dnssec_zone_key *keys, size_t nkeys,
                     const struct dnssec_zone_policy *p, int64_t now, struct nsec_chain **index,
                     struct nsec_changes *out, char *err, size_t errlen);

/* dnssec_zone_sign() with the signing of the names split in parts, which runner may run at once
 * (on threads of its own: this file has none). run(ctx, parts, work, arg) must call work(arg, i)
 * once for each i below parts and return when every call has returned; the calls only read z and
 * the keys. Parts are slices of the names in canonical order, each at least DNSSEC_ZONE_PART_MIN
 * names (so small zones are one part, run on the caller's thread), each with its own jitter. The
 * result is dnssec_zone_sign()'s. runner NULL: one part. */
#define DNSSEC_ZONE_PART_MIN 1024
struct dnssec_zone_runner {
	unsigned parts;
	void (*run)(void *ctx, unsigned parts, void (*work)(void *arg, unsigned i), void *arg);
	void *ctx;
};
int dnssec_zone_sign_parts(const struct zone *z, const struct dnssec_zone_key *keys, size_t nkeys,
                           const struct dnssec_zone_policy *p, int64_t now, const struct dnssec_zone_runner *runner,
                           struct nsec_chain **index, struct nsec_changes *out, char *err, size_t errlen);

/* The changes for a batch of data changes on prev, a zone signed by dnssec_zone_sign() (or an
 * earlier resign) whose chain index is *index: the data changes themselves, the chain changes
 * nsec_chain_update() gives, and the RRSIGs of every RRset they changed (data, chain, the SOA,
 * and the names whose occlusion changed as a cut came or went) made anew, the signatures of
 * RRsets deleted or occluded dropped, and every other signature at those names kept as it was.
 * zone_apply(prev, out) is the signed next version. Data changes may not touch DNSKEY, RRSIG,
 * NSEC, NSEC3 or NSEC3PARAM (those are the signer's): TERN_EINVAL naming owner and type. A batch
 * zone_apply() refuses is TERN_EZONE with its message. Returns 0 or a negative TERN_E*; on
 * failure out is unchanged, and if the failure came after the chain step *index is freed and set
 * to NULL (the caller signs the zone again to rebuild it). */
int dnssec_zone_resign(const struct zone *prev, struct nsec_chain **index, const struct zone_change *data, size_t n,
                       const struct dnssec_zone_key *keys, size_t nkeys, const struct dnssec_zone_policy *p,
                       int64_t now, struct nsec_changes *out, char *err, size_t errlen);

/* The RRSIG changes that refresh z (signed): at every name, the signatures of each RRset that are
 * missing, were made by a key that no longer signs it, are for another TTL, or expire within
 * refresh seconds of now are made anew (with the policy's validity and jitter), and the rest of
 * the name's signatures kept; names with nothing due get no change. Appends to out (as
 * dnssec_zone_sign()); *next gets the earliest expiration of the signatures the refreshed zone
 * holds (seconds since 1970; 0 when none), so the caller's next refresh is due at *next - refresh.
 * The chain and the DNSKEY RRset are left as they are. Returns 0, TERN_EINVAL, or TERN_ENOMEM;
 * on failure out is unchanged. */
int dnssec_zone_refresh(const struct zone *z, const struct dnssec_zone_key *keys, size_t nkeys,
                        const struct dnssec_zone_policy *p, int64_t now, uint32_t refresh, struct nsec_changes *out,
                        int64_t *next, char *err, size_t errlen);
/* The earliest expiration (seconds since 1970) of any RRSIG z holds, read relative to now (RFC
 * 1982); 0 when z holds none, TERN_ENOMEM. */
int64_t dnssec_zone_next_expiry(const struct zone *z, int64_t now);
