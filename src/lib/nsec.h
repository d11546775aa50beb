/* Authenticated denial of existence as zone data: NSEC type bitmaps (RFC 4034 4.1.2), NSEC3
 * hashing and owners (RFC 5155), and the NSEC or NSEC3 chain of a zone, whole or kept up to date. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"
#include "lib/zone.h"

/* ---- type bitmaps (RFC 4034 4.1.2, shared by NSEC and NSEC3) ---- */

/* The longest bitmap: 256 windows of 2 + 32 octets. */
#define NSEC_BITMAP_MAX (256 * 34)

/* Writes the bitmap of n types (any order, repeats allowed) into out; returns its length or
 * TERN_ESPACE when cap is too small. No types gives an empty bitmap (length 0). */
int nsec_bitmap_write(const uint16_t *types, size_t n, uint8_t *out, size_t cap);
/* Reads a bitmap into types (ascending, at most cap) and *n. Returns 0, TERN_EMALF when the
 * bitmap breaks RFC 4034 4.1.2 (windows not ascending, a window length outside 1..32, a last
 * octet of zero, a window cut short), or TERN_ESPACE when more than cap types are set. */
int nsec_bitmap_read(const uint8_t *bm, size_t len, uint16_t *types, size_t cap, size_t *n);
/* Whether type's bit is set in a bitmap nsec_bitmap_read() accepts (false for a malformed one). */
bool nsec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type);

/* ---- NSEC3 (RFC 5155) ---- */

#define NSEC3_HASH_SHA1 1
#define NSEC3_HASH_LEN 20 /* SHA-1 */
#define NSEC3_B32_LEN 32 /* base32hex of a SHA-1 hash */
#define NSEC3_FLAG_OPTOUT 1

/* The denial chain a zone carries. RFC 9276 3.1: iterations 0 and an empty salt; the functions
 * take any (so RFC 5155's own examples can be checked), the policy layer refuses others. */
struct nsec_params {
	bool nsec3; /* NSEC3 (hashed) rather than NSEC */
	bool optout; /* NSEC3: unsigned delegations get no NSEC3 and every NSEC3 has the Opt-Out flag */
	uint16_t iterations;
	uint8_t salt_len;
	uint8_t salt[255];
};

/* The NSEC3 hash (SHA-1, RFC 5155 5) of a wire name (any case: it is hashed lower-cased). */
int nsec3_hash(const uint8_t *name, const uint8_t *salt, uint8_t salt_len, uint16_t iterations,
               uint8_t out[NSEC3_HASH_LEN]);
/* Base32hex (RFC 4648 7) without padding, lower case: writes (len * 8 + 4) / 5 characters and a
 * NUL into out; returns the number of characters. */
size_t nsec3_base32hex(const uint8_t *in, size_t len, char *out);
/* Decodes base32hex text (either case, no padding) of len characters into out (at most cap
 * octets); returns the octet count or TERN_EMALF (a character outside the alphabet, a length that
 * cannot be whole octets, nonzero spare bits) or TERN_ESPACE. */
int nsec3_base32hex_decode(const char *text, size_t len, uint8_t *out, size_t cap);
/* The owner of the NSEC3 record for a hash: <base32hex>.<apex>. Returns its length, or TERN_ENAME
 * when it would pass 255 octets (apexes longer than 222 octets cannot hold NSEC3 records). */
int nsec3_owner(const uint8_t hash[NSEC3_HASH_LEN], const uint8_t *apex, uint8_t out[NAME_MAXLEN]);
/* The hash an NSEC3 owner name under apex stands for; TERN_ENOTFOUND when the name is not one
 * 32-character base32hex label directly below apex. */
int nsec3_owner_hash(const uint8_t *owner, const uint8_t *apex, uint8_t out[NSEC3_HASH_LEN]);
/* NSEC3PARAM RDATA (hash SHA-1, flags 0, iterations, salt) into out; returns its length. */
int nsec3param_rdata(const struct nsec_params *p, uint8_t *out, size_t cap);
/* Reads NSEC3PARAM RDATA into p (nsec3 set, optout clear); TERN_EMALF when it is malformed or its
 * hash is not SHA-1. */
int nsec3param_parse(const uint8_t *rdata, size_t len, struct nsec_params *p);

/* ---- the chain of a zone ---- */

/* Changes for zone_apply(), each one NSEC, NSEC3 or NSEC3PARAM RRset set (count 1) or deleted
 * (count 0). Each change's owner and rdata sit in one malloc'd block starting at owner. */
struct nsec_changes {
	struct zone_change *v;
	size_t n, cap;
};
void nsec_changes_free(struct nsec_changes *c);

/* The writer-side index of one zone's chain: the names of the zone in canonical order and the
 * chain's members in chain order (canonical for NSEC, hash for NSEC3), so a change finds its
 * neighbours in O(log n). Not shared between threads; held by whoever derives the zone's
 * versions (the change path). */
struct nsec_chain;

/* The chain of z from scratch. Members: NSEC, every name holding data that is not below a zone
 * cut (glue and occluded names have none); NSEC3, those and every empty non-terminal above the
 * cuts (RFC 5155 7.1), without unsigned delegations when p->optout. Bitmaps: the name's types with
 * RRSIG and NSEC (NSEC); with RRSIG where the name has RRsets to sign (NSEC3; NSEC3 itself never);
 * at a delegation only NS, DS and the chain's own types (RFC 4035 2.3). Next owners run cyclic
 * back to the first. TTL: min(SOA TTL, SOA MINIMUM) (RFC 9077). NSEC3 adds the NSEC3PARAM at the
 * apex. Records of the other kind of chain, and stale ones, are deleted; records already right are
 * left alone, so zone_apply(z, changes) is z with exactly this chain (and a zone already carrying it
 * gives no changes). Appends to changes; when out is not NULL keeps the index for
 * nsec_chain_update(). Returns 0, TERN_EZONE (err says why: an apex too long for NSEC3 owners, two
 * names with one NSEC3 hash) or TERN_ENOMEM; changes then holds nothing new. */
int nsec_chain_build(const struct zone *z, const struct nsec_params *p, struct nsec_chain **out,
                     struct nsec_changes *changes, char *err, size_t errlen);
/* The chain changes that data changes cause. next is the zone after zone_apply() of the data
 * changes (its chain records still those of the version the index describes); owners lists the
 * owners those changes named (any case, repeats allowed). Appends to out the changes that turn
 * next's chain into the one nsec_chain_build() would give for it: the owners' own records, their
 * predecessors', the empty non-terminals that came or went, every name whose occlusion changed
 * when a cut came or went, and all of them when the SOA's TTL or MINIMUM moved. Updates the index
 * to match. Work: O(k log n) for k affected names, plus one O(n) merge of the index arrays when
 * names come or go. On failure (TERN_ENOMEM, TERN_EZONE) the index and out are unchanged. */
int nsec_chain_update(struct nsec_chain *c, const struct zone *next, const uint8_t *const *owners, size_t n,
                      struct nsec_changes *out, char *err, size_t errlen);
void nsec_chain_free(struct nsec_chain *c);
