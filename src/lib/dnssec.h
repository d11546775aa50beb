/* DNSSEC keys and signatures over OpenSSL 3: key pairs (RFC 6605 P-256, RFC 8080 Ed25519), their
 * DNSKEY and DS RDATA and key tags (RFC 4034, 4509), and RRSIGs over an RRset's canonical form;
 * validation also reads RSA (RFC 3110, 5702) and P-384 (RFC 6605) keys. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"

/* Algorithms Tern signs with (RFC 8624: 13 is a MUST, 15 RECOMMENDED). */
#define DNSSEC_ALG_ECDSAP256SHA256 13
#define DNSSEC_ALG_ED25519 15
/* Algorithms Tern only validates (RFC 8624 3.1: 5, 7, 8, 10 MUST, 14 RECOMMENDED). */
#define DNSSEC_ALG_RSASHA1 5
#define DNSSEC_ALG_RSASHA1_NSEC3 7
#define DNSSEC_ALG_RSASHA256 8
#define DNSSEC_ALG_RSASHA512 10
#define DNSSEC_ALG_ECDSAP384SHA384 14
/* RSA moduli validation accepts, in bits (RFC 3110 allows 512; nothing signs below 1024 now). */
#define DNSSEC_RSA_MIN_BITS 1024
#define DNSSEC_RSA_MAX_BITS 4096

/* DNSKEY flags (RFC 4034 2.1.1, RFC 5011 2.1) and the two usual values. */
#define DNSSEC_FLAG_ZONE 0x0100
#define DNSSEC_FLAG_REVOKE 0x0080
#define DNSSEC_FLAG_SEP 0x0001
#define DNSSEC_ZSK DNSSEC_FLAG_ZONE
#define DNSSEC_KSK (DNSSEC_FLAG_ZONE | DNSSEC_FLAG_SEP)
#define DNSSEC_PROTOCOL 3

/* DS digest types (RFC 3658, RFC 4509, RFC 6605). */
#define DNSSEC_DIGEST_SHA1 1
#define DNSSEC_DIGEST_SHA256 2
#define DNSSEC_DIGEST_SHA384 4

/* Sizes of what this file reads and writes. Tern's own keys and signatures are 64 octets at most
 * (P-256: X then Y or r then s, RFC 6605 4; Ed25519: 32 and 64, RFC 8080 3); a key or signature
 * read for validation may be RSA: the exponent's length (3 octets at most), an exponent below the
 * modulus, and the modulus, 512 octets each at most (RFC 3110 2); a signature as long as the
 * modulus. */
#define DNSSEC_PUBKEY_MAX (3 + 2 * DNSSEC_RSA_MAX_BITS / 8)
#define DNSSEC_SIG_MAX (DNSSEC_RSA_MAX_BITS / 8)
#define DNSSEC_SIGN_SIG_MAX 64 /* what dnssec_sign() writes (13 and 15) */
#define DNSSEC_DNSKEY_MAX (4 + DNSSEC_PUBKEY_MAX)
#define DNSSEC_DS_MAX (4 + 48)
#define DNSSEC_RRSIG_FIXED 18 /* the RRSIG fields before the signer's name */
#define DNSSEC_RRSIG_MAX (DNSSEC_RRSIG_FIXED + NAME_MAXLEN + DNSSEC_SIG_MAX)
#define DNSSEC_PEM_MAX 16384 /* a private key's PEM text read back, at most */

/* Whether alg may be used: to sign (13, 15) or, when sign is false, to validate with this code
 * (5, 7, 8, 10, 13, 14, 15: RFC 8624 3.1 makes validating 5, 7, 8, 10 and 13 a MUST, 14 and 15
 * RECOMMENDED). Returns 0 or TERN_EINVAL with err naming the algorithm and why: 1, 3, 6 and 12 as
 * RFC 8624 forbids signing with them (and validating 1, 3, 6; OpenSSL 3 has no GOST for 12); 5,
 * 7, 8, 10 ("Tern signs only with 13 or 15") and 14 (not supported) to sign, as Tern does not sign
 * with them; the rest are unknown, unassigned or unsupported (16, Ed448). */
int dnssec_alg_check(uint8_t alg, bool sign, char *err, size_t errlen);
/* The IANA mnemonic ("ECDSAP256SHA256"), or NULL for an unassigned number. */
const char *dnssec_alg_name(uint8_t alg);

/* ---- keys ---- */

/* A key pair, or a public key read from a DNSKEY, with the flags it is published with. Immutable
 * once made (but for dnssec_key_set_flags), so threads may sign with one key at the same time,
 * each with its own struct dnssec_scratch. */
struct dnssec_key;

/* A new key pair of algorithm alg (13 or 15) with flags (DNSSEC_FLAG_ZONE set; SEP and REVOKE
 * optional; no other bit). Returns 0, TERN_EINVAL (err says why) or TERN_ENOMEM. */
int dnssec_key_generate(uint8_t alg, uint16_t flags, struct dnssec_key **out, char *err, size_t errlen);
/* Reads back a private key that dnssec_key_to_pem() wrote (PEM, PKCS#8, unencrypted; the
 * algorithm follows from the key: P-256 is 13, Ed25519 15) and gives it flags. Anything else (an
 * encrypted key, another curve or key type, a public key without its private half, text over
 * DNSSEC_PEM_MAX) is TERN_EINVAL with err saying what it found; the text never appears in err. */
int dnssec_key_from_pem(const char *pem, size_t len, uint16_t flags, struct dnssec_key **out, char *err, size_t errlen);
/* The private key as PEM text (PKCS#8, "-----BEGIN PRIVATE KEY-----"), NUL-terminated, in
 * *pem (*len octets without the NUL), for the store only: never log it. Free it with
 * dnssec_pem_free(), which wipes it. TERN_EINVAL for a public-only key. */
int dnssec_key_to_pem(const struct dnssec_key *k, char **pem, size_t *len, char *err, size_t errlen);
void dnssec_pem_free(char *pem, size_t len);
/* A public key for verification from DNSKEY RDATA (protocol 3, an algorithm dnssec_alg_check()
 * accepts for validation, a public key of the algorithm's exact size and, for P-256 and P-384, a
 * point on the curve; for RSA (RFC 3110 2) the exponent's length in one octet, or 0 then two, the
 * exponent and the modulus, neither empty nor with a leading zero octet, the exponent below the
 * modulus, the modulus DNSSEC_RSA_MIN_BITS to DNSSEC_RSA_MAX_BITS bits). The flags are the
 * DNSKEY's, whatever they are. TERN_EMALF or TERN_EINVAL with err naming the field and value. */
int dnssec_key_from_dnskey(const uint8_t *rdata, size_t len, struct dnssec_key **out, char *err, size_t errlen);
void dnssec_key_free(struct dnssec_key *k);
/* Changes the flags (as for dnssec_key_generate()); the key tag follows them. */
int dnssec_key_set_flags(struct dnssec_key *k, uint16_t flags, char *err, size_t errlen);
uint8_t dnssec_key_alg(const struct dnssec_key *k);
uint16_t dnssec_key_flags(const struct dnssec_key *k);
/* The key tag of the key's DNSKEY (with its current flags). */
uint16_t dnssec_key_tag(const struct dnssec_key *k);
/* Whether the key can sign (it holds a private key). */
bool dnssec_key_private(const struct dnssec_key *k);
/* Writes the key's DNSKEY RDATA (flags, protocol 3, algorithm, public key) into out; returns its
 * length or TERN_ESPACE (DNSSEC_DNSKEY_MAX always suffices). */
int dnssec_key_dnskey(const struct dnssec_key *k, uint8_t *out, size_t cap);

/* The key tag of DNSKEY RDATA (RFC 4034 Appendix B, algorithm 1's special case included), or
 * TERN_EMALF when len is below 4. */
int dnssec_keytag(const uint8_t *dnskey, size_t len);
/* DS RDATA (RFC 4034 5.1.4) for the DNSKEY RDATA at owner (wire, any case) with digest type 2
 * (SHA-256) or 4 (SHA-384); returns its length, or TERN_EINVAL (digest type 1 and 3 are refused,
 * RFC 8624; a DNSKEY without the zone flag or protocol 3 cannot have a DS), TERN_EMALF,
 * TERN_ENAME or TERN_ESPACE, with err saying which. */
int dnssec_ds(const uint8_t *owner, const uint8_t *dnskey, size_t len, uint8_t digest_type, uint8_t *out, size_t cap,
              char *err, size_t errlen);
/* As dnssec_ds(), to compare with a DS read from a parent: digest type 1 (SHA-1) is computed too,
 * as RFC 8624 3.3 makes validating it a MUST while forbidding to make it. */
int dnssec_ds_validate(const uint8_t *owner, const uint8_t *dnskey, size_t len, uint8_t digest_type, uint8_t *out,
                       size_t cap, char *err, size_t errlen);

/* ---- signatures ---- */

/* Memory a signer reuses between signatures: the canonical form of an RRset is built here, so
 * signing allocates only when an RRset is larger than every earlier one, and the signing contexts
 * of the last two keys. One per thread. */
struct dnssec_scratch {
	uint8_t *data; /* the signed data (RFC 4034 3.1.8.1) */
	size_t data_cap;
	uint8_t *canon; /* the records' canonical RDATA, each behind its 2-octet length */
	size_t canon_cap;
	const uint8_t **order; /* the records of canon, sorted */
	size_t order_cap;
	/* signing contexts already set up for the last keys used (EVP_MD_CTX, each holding its key),
	 * copied for each signature instead of fetching the algorithm again */
	void *sign_ctx[2];
	const void *sign_pkey[2];
};
void dnssec_scratch_init(struct dnssec_scratch *s);
void dnssec_scratch_free(struct dnssec_scratch *s);

/* An RRset of class IN to sign or verify. */
struct dnssec_rrset {
	const uint8_t *owner; /* wire name, any case */
	uint16_t type;
	uint32_t ttl; /* signing: the original TTL; verifying: unused (the RRSIG's is used) */
	uint16_t count;
	const uint8_t *rdata; /* count records in the rrset layout of lib/zone.h: length, bytes */
	size_t rdata_size;
};

/* An RRSIG's fields (RFC 4034 3.1); signer and signature point into the RDATA read. */
struct dnssec_rrsig {
	uint16_t covered;
	uint8_t alg;
	uint8_t labels;
	uint32_t original_ttl;
	uint32_t expiration;
	uint32_t inception;
	uint16_t key_tag;
	const uint8_t *signer;
	uint8_t signer_len;
	const uint8_t *signature;
	uint16_t signature_len;
};
/* Reads RRSIG RDATA: 0 or TERN_EMALF (too short, a bad signer name, no signature). */
int dnssec_rrsig_parse(const uint8_t *rdata, size_t len, struct dnssec_rrsig *out);

/* Signs set with k (which must hold a private key and have the zone flag) as the zone signer
 * (wire; set's owner must be at or below it), valid from inception to expiration (seconds since
 * 1970 modulo 2^32, expiration after inception in RFC 1982 terms). The signature covers the
 * RRset's canonical form (RFC 4034 6: the owner and the names inside RDATA of the types
 * rr_rdata_canonical() lists lower-cased, the records sorted, duplicates counted once), so a set
 * in any order and case signs alike. Writes the RRSIG RDATA (signer lower-cased) into out and
 * returns its length. set must be an RRset a zone may hold: a data type (not RRSIG, not a meta
 * type), 1 record or more, each well formed for its type, its answer within ZONE_MSG_MAX
 * (zone_rrset_msg_size()). Errors: TERN_EINVAL (err says which rule), TERN_EMALF, TERN_ESPACE
 * (cap below DNSSEC_RRSIG_FIXED + the signer's length + DNSSEC_SIGN_SIG_MAX), TERN_ENOMEM. */
int dnssec_sign(const struct dnssec_key *k, const struct dnssec_rrset *set, const uint8_t *signer, uint32_t inception,
                uint32_t expiration, struct dnssec_scratch *s, uint8_t *out, size_t cap, char *err, size_t errlen);
/* Verifies RRSIG RDATA over set with k (RFC 4035 5.3): the RRSIG covers set's type, its algorithm
 * and key tag are k's, k has the zone flag, set's owner is at or below the signer and has at least
 * the RRSIG's labels (fewer make it a wildcard expansion, verified over "*." and the owner's last
 * labels), the time now (seconds since 1970; a negative now skips this) is within inception and
 * expiration, and the signature is k's over the canonical form with the RRSIG's original TTL (an
 * RSA signature exactly as long as k's modulus, RFC 3110 3; ECDSA r then s, RFC 6605 4).
 * Whether k's DNSKEY sits at the signer's name is the caller's to know. Returns 0, TERN_EBOGUS
 * (err says which check failed), TERN_EMALF or TERN_EINVAL for input that is not an RRSIG or a
 * set as for dnssec_sign(), or TERN_ENOMEM. */
int dnssec_verify(const struct dnssec_key *k, const struct dnssec_rrset *set, const uint8_t *rrsig, size_t len,
                  int64_t now, struct dnssec_scratch *s, char *err, size_t errlen);
