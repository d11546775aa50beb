/* DNSSEC keys and signatures over OpenSSL 3 (EVP): key pairs, DNSKEY/DS RDATA, key tags, and
 * RRSIGs made and verified over an RRset's canonical form (RFC 4034 3.1.8.1 and 6). */
#include "lib/dnssec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"

#define P256_COORD 32
#define P384_COORD 48
#define ED25519_LEN 32

struct dnssec_key {
	EVP_PKEY *pkey;
	bool private;
	uint8_t alg;
	uint16_t flags;
	uint16_t tag;
	uint16_t pub_len;
	uint16_t rsa_len; /* RSA: the modulus's length in octets, which a signature must have */
	uint8_t pub[DNSSEC_PUBKEY_MAX]; /* the DNSKEY public key field */
};

/* Writes a message into err and returns code; OpenSSL's queue is emptied so its errors never leak
 * into a later, unrelated check on this thread. */
static int fail(int code, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	ERR_clear_error();
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- algorithms ---- */

const char *dnssec_alg_name(uint8_t alg)
{
	switch (alg) {
	case 1: return "RSAMD5";
	case 3: return "DSA";
	case 5: return "RSASHA1";
	case 6: return "DSA-NSEC3-SHA1";
	case 7: return "RSASHA1-NSEC3-SHA1";
	case 8: return "RSASHA256";
	case 10: return "RSASHA512";
	case 12: return "ECC-GOST";
	case 13: return "ECDSAP256SHA256";
	case 14: return "ECDSAP384SHA384";
	case 15: return "ED25519";
	case 16: return "ED448";
	default: return NULL;
	}
}

int dnssec_alg_check(uint8_t alg, bool sign, char *err, size_t errlen)
{
	const char *name = dnssec_alg_name(alg);
	switch (alg) {
	case DNSSEC_ALG_ECDSAP256SHA256:
	case DNSSEC_ALG_ED25519: return 0;
	case 1:
	case 3:
	case 6:
	case 12:
		return fail(TERN_EINVAL, err, errlen, "DNSSEC algorithm %u (%s) must not be used (RFC 8624)", alg,
		            name);
	case DNSSEC_ALG_RSASHA1: /* RFC 8624 3.1: NOT RECOMMENDED to sign, MUST validate */
	case DNSSEC_ALG_RSASHA1_NSEC3:
	case DNSSEC_ALG_RSASHA256:
	case DNSSEC_ALG_RSASHA512:
		if (!sign)
			return 0;
		return fail(TERN_EINVAL, err, errlen,
		            "DNSSEC algorithm %u (%s): Tern signs only with 13 (ECDSAP256SHA256) or 15 (ED25519)", alg,
		            name);
	case DNSSEC_ALG_ECDSAP384SHA384: /* RFC 8624 3.1: MAY sign, RECOMMENDED to validate */
		if (!sign)
			return 0;
		/* fall through */
	default:
		if (name)
			return fail(
			    TERN_EINVAL, err, errlen,
			    "DNSSEC algorithm %u (%s) is not supported: use 13 (ECDSAP256SHA256) or 15 (ED25519)", alg,
			    name);
		return fail(TERN_EINVAL, err, errlen, "unknown DNSSEC algorithm %u", alg);
	}
}

static int flags_check(uint16_t flags, char *err, size_t errlen)
{
	if (!(flags & DNSSEC_FLAG_ZONE))
		return fail(TERN_EINVAL, err, errlen, "DNSKEY flags %u: the zone key flag (256) is not set", flags);
	if (flags & ~(DNSSEC_FLAG_ZONE | DNSSEC_FLAG_SEP | DNSSEC_FLAG_REVOKE))
		return fail(TERN_EINVAL, err, errlen,
		            "DNSKEY flags %u: only zone (256), SEP (1) and REVOKE (128) may be set", flags);
	return 0;
}

/* ---- key tags and DS ---- */

int dnssec_keytag(const uint8_t *dnskey, size_t len)
{
	if (len < 4)
		return TERN_EMALF;
	if (dnskey[3] == 1) /* RSAMD5: the modulus's low 24 bits, their top 16 (RFC 4034 B.1) */
		return len >= 7 ? (int)wire_get16(dnskey + len - 3) : TERN_EMALF;
	uint64_t ac = 0;
	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? dnskey[i] : (uint64_t)dnskey[i] << 8;
	ac += (ac >> 16) & 0xFFFF;
	return (int)(ac & 0xFFFF);
}

/* The DS of dnskey with digest type 1 allowed (validate) or not. */
static int ds_make(const uint8_t *owner, const uint8_t *dnskey, size_t len, uint8_t digest_type, bool validate,
                   uint8_t *out, size_t cap, char *err, size_t errlen)
{
	const EVP_MD *md;
	switch (digest_type) {
	case DNSSEC_DIGEST_SHA1:
		if (!validate)
			return fail(TERN_EINVAL, err, errlen, "DS digest type 1 (SHA-1) must not be used (RFC 8624)");
		md = EVP_sha1();
		break;
	case DNSSEC_DIGEST_SHA256: md = EVP_sha256(); break;
	case DNSSEC_DIGEST_SHA384: md = EVP_sha384(); break;
	case 3: return fail(TERN_EINVAL, err, errlen, "DS digest type 3 (GOST R 34.11-94) must not be used (RFC 8624)");
	default:
		return fail(TERN_EINVAL, err, errlen,
		            "DS digest type %u is not supported: use 2 (SHA-256) or 4 (SHA-384)", digest_type);
	}
	int olen = name_check(owner, NAME_MAXLEN);
	if (olen < 0)
		return fail(TERN_ENAME, err, errlen, "DS owner is not a domain name");
	if (len < 4 || len > UINT16_MAX)
		return fail(TERN_EMALF, err, errlen, "DNSKEY RDATA of %zu octets", len);
	if (!(wire_get16(dnskey) & DNSSEC_FLAG_ZONE))
		return fail(TERN_EINVAL, err, errlen, "a DS refers to a zone key: this DNSKEY's zone flag is not set");
	if (dnskey[2] != DNSSEC_PROTOCOL)
		return fail(TERN_EINVAL, err, errlen, "DNSKEY protocol %u (must be 3)", dnskey[2]);
	size_t dlen = (size_t)EVP_MD_get_size(md);
	if (cap < 4 + dlen)
		return fail(TERN_ESPACE, err, errlen, "DS RDATA needs %zu octets", 4 + dlen);
	uint8_t lowner[NAME_MAXLEN];
	name_lower_copy(lowner, owner, (size_t)olen);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int got = 0;
	bool ok = c && EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, lowner, (size_t)olen) == 1 &&
	          EVP_DigestUpdate(c, dnskey, len) == 1 && EVP_DigestFinal_ex(c, out + 4, &got) == 1 && got == dlen;
	EVP_MD_CTX_free(c);
	if (!ok)
		return fail(c ? TERN_EINVAL : TERN_ENOMEM, err, errlen, "DS digest failed");
	wire_put16(out, (uint16_t)dnssec_keytag(dnskey, len));
	out[2] = dnskey[3];
	out[3] = digest_type;
	return (int)(4 + dlen);
}

int dnssec_ds(const uint8_t *owner, const uint8_t *dnskey, size_t len, uint8_t digest_type, uint8_t *out, size_t cap,
              char *err, size_t errlen)
{
	return ds_make(owner, dnskey, len, digest_type, false, out, cap, err, errlen);
}

int dnssec_ds_validate(const uint8_t *owner, const uint8_t *dnskey, size_t len, uint8_t digest_type, uint8_t *out,
                       size_t cap, char *err, size_t errlen)
{
	return ds_make(owner, dnskey, len, digest_type, true, out, cap, err, errlen);
}

/* ---- keys ---- */

/* The key tag follows the DNSKEY RDATA: its flags and public key. */
static void key_retag(struct dnssec_key *k)
{
	uint8_t rd[DNSSEC_DNSKEY_MAX];
	int n = dnssec_key_dnskey(k, rd, sizeof(rd));
	k->tag = n > 0 ? (uint16_t)dnssec_keytag(rd, (size_t)n) : 0;
}

/* Fills the public key field and tag from k->pkey. */
static int key_fill_public(struct dnssec_key *k)
{
	if (k->alg == DNSSEC_ALG_ED25519) {
		size_t n = ED25519_LEN;
		if (EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &n) != 1 || n != ED25519_LEN)
			return TERN_EINVAL;
		k->pub_len = ED25519_LEN;
	} else {
		BIGNUM *x = NULL, *y = NULL;
		bool ok = EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
		          EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
		          BN_bn2binpad(x, k->pub, P256_COORD) == P256_COORD &&
		          BN_bn2binpad(y, k->pub + P256_COORD, P256_COORD) == P256_COORD;
		BN_free(x);
		BN_free(y);
		if (!ok)
			return TERN_EINVAL;
		k->pub_len = 2 * P256_COORD;
	}
	key_retag(k);
	return 0;
}

static struct dnssec_key *key_new(EVP_PKEY *pkey, uint8_t alg, uint16_t flags, bool private)
{
	struct dnssec_key *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->pkey = pkey;
	k->alg = alg;
	k->flags = flags;
	k->private = private;
	return k;
}

int dnssec_key_generate(uint8_t alg, uint16_t flags, struct dnssec_key **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc = dnssec_alg_check(alg, true, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = flags_check(flags, err, errlen)) < 0)
		return rc;
	EVP_PKEY *pkey = alg == DNSSEC_ALG_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
	                                           : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!pkey)
		return fail(TERN_ENOMEM, err, errlen, "generating a %s key failed", dnssec_alg_name(alg));
	struct dnssec_key *k = key_new(pkey, alg, flags, true);
	if (!k) {
		EVP_PKEY_free(pkey);
		return fail(TERN_ENOMEM, err, errlen, "out of memory");
	}
	if (key_fill_public(k) < 0) {
		dnssec_key_free(k);
		return fail(TERN_EINVAL, err, errlen, "reading the new key's public half failed");
	}
	*out = k;
	return 0;
}

/* Refuses to prompt for a passphrase: keys Tern reads are never encrypted this way. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The DNSSEC algorithm of an OpenSSL key: 13 for P-256, 15 for Ed25519, else 0 with what it is
 * in what (for a message). */
static uint8_t pkey_alg(EVP_PKEY *pkey, char *what, size_t cap)
{
	if (EVP_PKEY_is_a(pkey, "ED25519"))
		return DNSSEC_ALG_ED25519;
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64] = "";
		size_t n = 0;
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &n) == 1 &&
		    strcmp(group, SN_X9_62_prime256v1) == 0)
			return DNSSEC_ALG_ECDSAP256SHA256;
		snprintf(what, cap, "an EC key on curve %s", group[0] ? group : "(unnamed)");
		return 0;
	}
	const char *type = EVP_PKEY_get0_type_name(pkey);
	snprintf(what, cap, "a %s key", type ? type : "(unknown)");
	return 0;
}

int dnssec_key_from_pem(const char *pem, size_t len, uint16_t flags, struct dnssec_key **out, char *err, size_t errlen)
{
	*out = NULL;
	int rc = flags_check(flags, err, errlen);
	if (rc < 0)
		return rc;
	if (len == 0 || len > DNSSEC_PEM_MAX)
		return fail(TERN_EINVAL, err, errlen, "private key text of %zu octets (1 to %d)", len, DNSSEC_PEM_MAX);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return fail(TERN_ENOMEM, err, errlen, "out of memory");
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pkey)
		return fail(TERN_EINVAL, err, errlen, "not an unencrypted PEM private key");
	char what[96];
	uint8_t alg = pkey_alg(pkey, what, sizeof(what));
	if (alg == 0) {
		EVP_PKEY_free(pkey);
		return fail(TERN_EINVAL, err, errlen, "the PEM holds %s; DNSSEC keys are P-256 (13) or Ed25519 (15)",
		            what);
	}
	/* the private and public halves must belong together (a hand-made PKCS#8 may pair anything) */
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int pair = c ? EVP_PKEY_pairwise_check(c) : 0;
	EVP_PKEY_CTX_free(c);
	if (pair != 1) {
		EVP_PKEY_free(pkey);
		return fail(c ? TERN_EINVAL : TERN_ENOMEM, err, errlen,
		            "the PEM's %s private key does not match its public key (or lacks one)",
		            dnssec_alg_name(alg));
	}
	struct dnssec_key *k = key_new(pkey, alg, flags, true);
	if (!k) {
		EVP_PKEY_free(pkey);
		return fail(TERN_ENOMEM, err, errlen, "out of memory");
	}
	if (key_fill_public(k) < 0) {
		dnssec_key_free(k);
		return fail(TERN_EINVAL, err, errlen, "the PEM's %s key has no usable public key",
		            dnssec_alg_name(alg));
	}
	*out = k;
	return 0;
}

int dnssec_key_to_pem(const struct dnssec_key *k, char **pem, size_t *len, char *err, size_t errlen)
{
	*pem = NULL;
	*len = 0;
	if (!k->private)
		return fail(TERN_EINVAL, err, errlen, "key %u is public only: no private key to write", k->tag);
	/* a secure-heap memory BIO: its buffer is wiped when freed */
	BIO *bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return fail(TERN_ENOMEM, err, errlen, "out of memory");
	char *text = NULL;
	BUF_MEM *bm = NULL;
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1 || BIO_get_mem_ptr(bio, &bm) != 1 ||
	    !bm || !(text = malloc(bm->length + 1))) {
		BIO_free(bio);
		return fail(TERN_ENOMEM, err, errlen, "writing key %u as PEM failed", k->tag);
	}
	memcpy(text, bm->data, bm->length);
	text[bm->length] = '\0';
	*len = bm->length;
	*pem = text;
	BIO_free(bio);
	return 0;
}

void dnssec_pem_free(char *pem, size_t len)
{
	if (!pem)
		return;
	OPENSSL_cleanse(pem, len);
	free(pem);
}

/* An EVP_PKEY for an EC public key on group (P-256 or P-384) given as X then Y, coord octets
 * each (RFC 6605 4). */
static EVP_PKEY *ec_public(const uint8_t *xy, size_t coord, const char *group)
{
	uint8_t point[1 + 2 * P384_COORD];
	point[0] = POINT_CONVERSION_UNCOMPRESSED;
	memcpy(point + 1, xy, 2 * coord);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *pkey = NULL;
	if (!b || OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * coord) != 1 ||
	    !(params = OSSL_PARAM_BLD_to_param(b)) || !(c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
	    EVP_PKEY_fromdata_init(c) != 1 || EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto fail;
	EVP_PKEY_CTX_free(c);
	/* the point must be on the curve (and not the point at infinity) */
	if (!(c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) || EVP_PKEY_public_check(c) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
fail:
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return pkey;
}

static bool alg_is_rsa(uint8_t alg)
{
	return alg == DNSSEC_ALG_RSASHA1 || alg == DNSSEC_ALG_RSASHA1_NSEC3 || alg == DNSSEC_ALG_RSASHA256 ||
	       alg == DNSSEC_ALG_RSASHA512;
}

/* An RSA public key from a DNSKEY's public key field (RFC 3110 2: the exponent's length in one
 * octet, or a zero octet then two; the exponent; the modulus) into *out, the modulus's length in
 * *mod_len. Returns 0, or TERN_EMALF / TERN_EINVAL with err naming the field when the field breaks
 * a rule dnssec_key_from_dnskey() states, or TERN_ENOMEM. */
static int rsa_public(uint8_t alg, const uint8_t *p, size_t len, EVP_PKEY **out, uint16_t *mod_len, char *err,
                      size_t errlen)
{
	size_t off = 1, elen = len ? p[0] : 0;
	if (len >= 1 && p[0] == 0) {
		if (len < 3)
			return fail(TERN_EMALF, err, errlen,
			            "DNSKEY algorithm %u: RSA key of %zu octets ends in the exponent length", alg, len);
		elen = wire_get16(p + 1);
		off = 3;
	}
	if (elen == 0)
		return fail(TERN_EMALF, err, errlen, "DNSKEY algorithm %u: RSA exponent length 0", alg);
	if (off + elen >= len)
		return fail(TERN_EMALF, err, errlen,
		            "DNSKEY algorithm %u: RSA exponent of %zu octets leaves no modulus in a key of %zu octets",
		            alg, elen, len);
	const uint8_t *e = p + off, *n = p + off + elen;
	size_t nlen = len - off - elen;
	if (e[0] == 0 || n[0] == 0) /* RFC 3110 2: leading zero octets are prohibited */
		return fail(TERN_EMALF, err, errlen, "DNSKEY algorithm %u: the RSA %s has a leading zero octet", alg,
		            e[0] == 0 ? "exponent" : "modulus");
	size_t bits = nlen * 8;
	for (uint8_t top = n[0]; !(top & 0x80); top = (uint8_t)(top << 1))
		bits--;
	if (bits < DNSSEC_RSA_MIN_BITS || bits > DNSSEC_RSA_MAX_BITS)
		return fail(TERN_EINVAL, err, errlen, "DNSKEY algorithm %u: RSA modulus of %zu bits (must be %d to %d)",
		            alg, bits, DNSSEC_RSA_MIN_BITS, DNSSEC_RSA_MAX_BITS);
	if (elen > nlen || (elen == nlen && memcmp(e, n, nlen) >= 0))
		return fail(TERN_EINVAL, err, errlen,
		            "DNSKEY algorithm %u: the RSA exponent (%zu octets) is not below the modulus", alg, elen);
	if (bits > 3072 && elen > 8) /* OpenSSL verifies with no more (OPENSSL_RSA_MAX_PUBEXP_BITS) */
		return fail(TERN_EINVAL, err, errlen,
		            "DNSKEY algorithm %u: RSA exponent of %zu octets with a modulus over 3072 bits (8 at most)",
		            alg, elen);
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = 0;
	if (!bn || !be || !b || OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) != 1 || !(params = OSSL_PARAM_BLD_to_param(b)) ||
	    !(c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(c) != 1 ||
	    EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		rc = fail(TERN_ENOMEM, err, errlen, "DNSKEY algorithm %u: building the RSA key failed", alg);
	}
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	*out = pkey;
	*mod_len = (uint16_t)nlen;
	return rc;
}

int dnssec_key_from_dnskey(const uint8_t *rdata, size_t len, struct dnssec_key **out, char *err, size_t errlen)
{
	*out = NULL;
	if (len < 4)
		return fail(TERN_EMALF, err, errlen, "DNSKEY RDATA of %zu octets (4 at least)", len);
	if (rdata[2] != DNSSEC_PROTOCOL)
		return fail(TERN_EINVAL, err, errlen, "DNSKEY protocol %u (must be 3)", rdata[2]);
	uint8_t alg = rdata[3];
	int rc = dnssec_alg_check(alg, false, err, errlen);
	if (rc < 0)
		return rc;
	size_t klen = len - 4;
	uint16_t mod_len = 0;
	EVP_PKEY *pkey = NULL;
	if (alg_is_rsa(alg)) {
		/* a key rsa_public() takes fits pub: its exponent is no longer than its modulus */
		if ((rc = rsa_public(alg, rdata + 4, klen, &pkey, &mod_len, err, errlen)) < 0)
			return rc;
	} else {
		size_t want = alg == DNSSEC_ALG_ED25519           ? ED25519_LEN
		              : alg == DNSSEC_ALG_ECDSAP384SHA384 ? 2 * P384_COORD
		                                                  : 2 * P256_COORD;
		if (klen != want)
			return fail(TERN_EMALF, err, errlen,
			            "DNSKEY algorithm %u: public key of %zu octets (must be %zu)", alg, klen, want);
		pkey = alg == DNSSEC_ALG_ED25519
		           ? EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, rdata + 4, ED25519_LEN)
		       : alg == DNSSEC_ALG_ECDSAP384SHA384 ? ec_public(rdata + 4, P384_COORD, SN_secp384r1)
		                                           : ec_public(rdata + 4, P256_COORD, SN_X9_62_prime256v1);
		if (!pkey)
			return fail(TERN_EINVAL, err, errlen,
			            "DNSKEY algorithm %u: the public key is not a valid %s key", alg,
			            dnssec_alg_name(alg));
	}
	struct dnssec_key *k = key_new(pkey, alg, wire_get16(rdata), false);
	if (!k) {
		EVP_PKEY_free(pkey);
		return fail(TERN_ENOMEM, err, errlen, "out of memory");
	}
	memcpy(k->pub, rdata + 4, klen);
	k->pub_len = (uint16_t)klen;
	k->rsa_len = mod_len;
	k->tag = (uint16_t)dnssec_keytag(rdata, len);
	*out = k;
	return 0;
}

void dnssec_key_free(struct dnssec_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

int dnssec_key_set_flags(struct dnssec_key *k, uint16_t flags, char *err, size_t errlen)
{
	int rc = flags_check(flags, err, errlen);
	if (rc < 0)
		return rc;
	k->flags = flags;
	key_retag(k);
	return 0;
}

uint8_t dnssec_key_alg(const struct dnssec_key *k)
{
	return k->alg;
}

uint16_t dnssec_key_flags(const struct dnssec_key *k)
{
	return k->flags;
}

uint16_t dnssec_key_tag(const struct dnssec_key *k)
{
	return k->tag;
}

bool dnssec_key_private(const struct dnssec_key *k)
{
	return k->private;
}

int dnssec_key_dnskey(const struct dnssec_key *k, uint8_t *out, size_t cap)
{
	if (cap < 4u + k->pub_len)
		return TERN_ESPACE;
	wire_put16(out, k->flags);
	out[2] = DNSSEC_PROTOCOL;
	out[3] = k->alg;
	memcpy(out + 4, k->pub, k->pub_len);
	return 4 + k->pub_len;
}

/* ---- the canonical form ---- */

void dnssec_scratch_init(struct dnssec_scratch *s)
{
	memset(s, 0, sizeof(*s));
}

void dnssec_scratch_free(struct dnssec_scratch *s)
{
	free(s->data);
	free(s->canon);
	free(s->order);
	for (int i = 0; i < 2; i++)
		EVP_MD_CTX_free(s->sign_ctx[i]);
	dnssec_scratch_init(s);
}

/* Makes *buf hold at least need octets (never shrinks). */
static int grow(void **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	void *p = realloc(*buf, n);
	if (!p)
		return TERN_ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

int dnssec_rrsig_parse(const uint8_t *rd, size_t len, struct dnssec_rrsig *out)
{
	if (len < DNSSEC_RRSIG_FIXED + 1 || len > UINT16_MAX)
		return TERN_EMALF;
	int n = name_check(rd + DNSSEC_RRSIG_FIXED, len - DNSSEC_RRSIG_FIXED);
	if (n < 0 || DNSSEC_RRSIG_FIXED + (size_t)n >= len)
		return TERN_EMALF;
	out->covered = wire_get16(rd);
	out->alg = rd[2];
	out->labels = rd[3];
	out->original_ttl = wire_get32(rd + 4);
	out->expiration = wire_get32(rd + 8);
	out->inception = wire_get32(rd + 12);
	out->key_tag = wire_get16(rd + 16);
	out->signer = rd + DNSSEC_RRSIG_FIXED;
	out->signer_len = (uint8_t)n;
	out->signature = rd + DNSSEC_RRSIG_FIXED + n;
	out->signature_len = (uint16_t)(len - DNSSEC_RRSIG_FIXED - (size_t)n);
	return 0;
}

/* Checks that set is an RRset a zone may hold (as dnssec_sign() says). */
static int rrset_check(const struct dnssec_rrset *set, char *err, size_t errlen)
{
	char tbuf[16];
	if (!set->owner || name_check(set->owner, NAME_MAXLEN) < 0)
		return fail(TERN_ENAME, err, errlen, "the RRset's owner is not a domain name");
	if (set->type == RR_RRSIG || rr_type_is_meta(set->type))
		return fail(TERN_EINVAL, err, errlen, "%s records are not signed", rr_type_name(set->type, tbuf));
	if (set->count == 0)
		return fail(TERN_EINVAL, err, errlen, "an empty RRset has no signature");
	if (zone_rrset_msg_size(set->owner, set->count, set->rdata_size) > ZONE_MSG_MAX)
		return fail(TERN_EINVAL, err, errlen,
		            "the %s RRset of %u records (%zu octets) is larger than a zone may hold",
		            rr_type_name(set->type, tbuf), set->count, set->rdata_size);
	size_t pos = 0;
	for (unsigned i = 0; i < set->count; i++) {
		if (pos + 2 > set->rdata_size || pos + 2 + rdata_len(set->rdata + pos) > set->rdata_size)
			return fail(TERN_EMALF, err, errlen, "%s record %u runs past the RRset's %zu octets",
			            rr_type_name(set->type, tbuf), i + 1, set->rdata_size);
		uint16_t rl = rdata_len(set->rdata + pos);
		if (rr_rdata_check(set->type, rdata_bytes(set->rdata + pos), rl) < 0)
			return fail(TERN_EMALF, err, errlen, "%s record %u is malformed", rr_type_name(set->type, tbuf),
			            i + 1);
		pos += 2u + rl;
	}
	if (pos != set->rdata_size)
		return fail(TERN_EMALF, err, errlen, "%zu octets after the RRset's %u records", set->rdata_size - pos,
		            set->count);
	return 0;
}

/* RFC 4034 6.3: canonical RDATA compared as left-justified octet strings (with the 2-octet
 * length in front, so the bytes start at +2). */
static int canon_cmp(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	uint16_t lx = rdata_len(x), ly = rdata_len(y);
	int c = memcmp(x + 2, y + 2, lx < ly ? lx : ly);
	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

/* Builds the signed data of RFC 4034 3.1.8.1 in s->data: hdr (the RRSIG RDATA up to and with the
 * signer, hlen octets, signer already lower-cased), then every distinct record of set in
 * canonical order, each as owner (wire, lower-cased) | type | class IN | original TTL | RDLENGTH |
 * canonical RDATA. Returns the length or TERN_ENOMEM. set was checked by rrset_check(). */
static int64_t signed_data(const struct dnssec_rrset *set, const uint8_t *owner, size_t olen, const uint8_t *hdr,
                           size_t hlen, uint32_t ttl, struct dnssec_scratch *s)
{
	size_t need = hlen + (size_t)set->count * (olen + 10) + set->rdata_size;
	if (grow((void **)&s->data, &s->data_cap, need) < 0 ||
	    grow((void **)&s->canon, &s->canon_cap, set->rdata_size) < 0 ||
	    grow((void **)&s->order, &s->order_cap, set->count * sizeof(*s->order)) < 0)
		return TERN_ENOMEM;
	const uint8_t *rec = set->rdata;
	uint8_t *c = s->canon;
	for (unsigned i = 0; i < set->count; i++) {
		uint16_t rl = rdata_len(rec);
		c[0] = rec[0];
		c[1] = rec[1];
		rr_rdata_canonical(set->type, rdata_bytes(rec), rl, c + 2);
		s->order[i] = c;
		c += 2u + rl;
		rec = rdata_next(rec);
	}
	if (set->count > 1)
		qsort(s->order, set->count, sizeof(*s->order), canon_cmp);
	uint8_t *p = s->data;
	memcpy(p, hdr, hlen);
	p += hlen;
	for (unsigned i = 0; i < set->count; i++) {
		if (i > 0 && canon_cmp(&s->order[i - 1], &s->order[i]) == 0)
			continue; /* a duplicate counts once (RFC 4034 6.3) */
		name_lower_copy(p, owner, olen);
		p += olen;
		wire_put16(p, set->type);
		wire_put16(p + 2, RR_CLASS_IN);
		wire_put32(p + 4, ttl);
		p += 8;
		uint16_t rl = rdata_len(s->order[i]);
		memcpy(p, s->order[i], 2u + rl);
		p += 2u + rl;
	}
	return (int64_t)(p - s->data);
}

/* ---- signing and verifying ---- */

/* Signs data with k into sig (DNSSEC_SIG_MAX octets): P-256 as r then s (RFC 6605 4), Ed25519
 * as it is. Returns the length or a negative code. */
/* c set up to sign with k: a copy of the scratch's context for k when it has one (the key is
 * compared by its EVP_PKEY, which the kept context holds, so the pointer cannot be reused for
 * another key meanwhile), else made (fetching the algorithm, the costly part) and kept. */
static bool sign_init(EVP_MD_CTX *c, const struct dnssec_key *k, struct dnssec_scratch *s)
{
	for (int i = 0; i < 2; i++)
		if (s->sign_ctx[i] && s->sign_pkey[i] == k->pkey && EVP_MD_CTX_copy_ex(c, s->sign_ctx[i]) == 1)
			return true;
	if (EVP_DigestSignInit_ex(c, NULL, k->alg == DNSSEC_ALG_ED25519 ? NULL : "SHA256", NULL, NULL, k->pkey, NULL) !=
	    1)
		return false;
	EVP_MD_CTX *keep = EVP_MD_CTX_new();
	if (keep && EVP_MD_CTX_copy_ex(keep, c) == 1) { /* the older slot goes */
		EVP_MD_CTX_free(s->sign_ctx[1]);
		s->sign_ctx[1] = s->sign_ctx[0];
		s->sign_pkey[1] = s->sign_pkey[0];
		s->sign_ctx[0] = keep;
		s->sign_pkey[0] = k->pkey;
	} else {
		EVP_MD_CTX_free(keep);
		ERR_clear_error();
	}
	return true;
}

static int sign_data(const struct dnssec_key *k, const uint8_t *data, size_t len, uint8_t *sig,
                     struct dnssec_scratch *scratch)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return TERN_ENOMEM;
	int rc = TERN_EINVAL;
	if (k->alg == DNSSEC_ALG_ED25519) {
		size_t n = DNSSEC_SIGN_SIG_MAX;
		if (sign_init(c, k, scratch) && EVP_DigestSign(c, sig, &n, data, len) == 1 && n == 64)
			rc = 64;
	} else {
		uint8_t der[80]; /* a DER ECDSA-Sig-Value of P-256 is 72 octets at most */
		size_t n = sizeof(der);
		ECDSA_SIG *es = NULL;
		const unsigned char *q = der;
		const BIGNUM *r, *s;
		if (sign_init(c, k, scratch) && EVP_DigestSign(c, der, &n, data, len) == 1 &&
		    (es = d2i_ECDSA_SIG(NULL, &q, (long)n))) {
			ECDSA_SIG_get0(es, &r, &s);
			if (BN_bn2binpad(r, sig, P256_COORD) == P256_COORD &&
			    BN_bn2binpad(s, sig + P256_COORD, P256_COORD) == P256_COORD)
				rc = 2 * P256_COORD;
		}
		ECDSA_SIG_free(es);
	}
	EVP_MD_CTX_free(c);
	return rc;
}

/* The signature length k's algorithm makes: RSA as long as the modulus (RFC 3110 3), ECDSA r then
 * s (RFC 6605 4), Ed25519 64 (RFC 8080 3). */
static size_t sig_len(const struct dnssec_key *k)
{
	switch (k->alg) {
	case DNSSEC_ALG_ED25519:
	case DNSSEC_ALG_ECDSAP256SHA256: return 2 * P256_COORD;
	case DNSSEC_ALG_ECDSAP384SHA384: return 2 * P384_COORD;
	default: return k->rsa_len;
	}
}

/* The digest k's algorithm signs with (NULL for Ed25519, which has none apart). */
static const char *sig_digest(uint8_t alg)
{
	switch (alg) {
	case DNSSEC_ALG_RSASHA1:
	case DNSSEC_ALG_RSASHA1_NSEC3: return "SHA1";
	case DNSSEC_ALG_RSASHA512: return "SHA512";
	case DNSSEC_ALG_ECDSAP384SHA384: return "SHA384";
	case DNSSEC_ALG_ED25519: return NULL;
	default: return "SHA256";
	}
}

/* 1 when sig (siglen octets, in DNSSEC form) is k's over data, 0 when not, negative on failure. */
static int verify_data(const struct dnssec_key *k, const uint8_t *data, size_t len, const uint8_t *sig, size_t siglen)
{
	if (siglen != sig_len(k))
		return 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return TERN_ENOMEM;
	int rc = TERN_ENOMEM;
	if (k->alg == DNSSEC_ALG_ED25519 || alg_is_rsa(k->alg)) { /* RSA: PKCS#1 v1.5, the default padding */
		if (EVP_DigestVerifyInit_ex(c, NULL, sig_digest(k->alg), NULL, NULL, k->pkey, NULL) == 1)
			rc = EVP_DigestVerify(c, sig, siglen, data, len) == 1;
	} else {
		int coord = (int)siglen / 2;
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, coord, NULL), *s = BN_bin2bn(sig + coord, coord, NULL);
		uint8_t der[128], *q = der; /* a DER ECDSA-Sig-Value of P-384 is 104 octets at most */
		if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
			r = s = NULL; /* es owns them now */
			int n = i2d_ECDSA_SIG(es, NULL);
			if (n > 0 && (size_t)n <= sizeof(der) && i2d_ECDSA_SIG(es, &q) == n &&
			    EVP_DigestVerifyInit_ex(c, NULL, sig_digest(k->alg), NULL, NULL, k->pkey, NULL) == 1)
				rc = EVP_DigestVerify(c, der, (size_t)n, data, len) == 1;
		}
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
	}
	EVP_MD_CTX_free(c);
	ERR_clear_error(); /* a signature that does not verify leaves OpenSSL errors behind */
	return rc;
}

int dnssec_sign(const struct dnssec_key *k, const struct dnssec_rrset *set, const uint8_t *signer, uint32_t inception,
                uint32_t expiration, struct dnssec_scratch *s, uint8_t *out, size_t cap, char *err, size_t errlen)
{
	char tbuf[16];
	if (!k->private)
		return fail(TERN_EINVAL, err, errlen, "key %u is public only: it cannot sign", k->tag);
	if (!(k->flags & DNSSEC_FLAG_ZONE))
		return fail(TERN_EINVAL, err, errlen, "key %u lacks the zone flag: it cannot sign zone data", k->tag);
	int rc = rrset_check(set, err, errlen);
	if (rc < 0)
		return rc;
	int slen = signer ? name_check(signer, NAME_MAXLEN) : TERN_ENAME;
	if (slen < 0)
		return fail(TERN_ENAME, err, errlen, "the signer is not a domain name");
	if (!name_in(set->owner, signer))
		return fail(TERN_EINVAL, err, errlen, "the %s RRset's owner is not at or below the signer",
		            rr_type_name(set->type, tbuf));
	if (!rr_serial_newer(expiration, inception))
		return fail(TERN_EINVAL, err, errlen, "signature expiration %u is not after its inception %u",
		            expiration, inception);
	size_t hlen = DNSSEC_RRSIG_FIXED + (size_t)slen;
	if (cap < hlen + DNSSEC_SIGN_SIG_MAX)
		return fail(TERN_ESPACE, err, errlen, "RRSIG RDATA needs %zu octets", hlen + DNSSEC_SIGN_SIG_MAX);
	int labels = name_labels(set->owner) - (name_is_wildcard(set->owner) ? 1 : 0);
	wire_put16(out, set->type);
	out[2] = k->alg;
	out[3] = (uint8_t)labels;
	wire_put32(out + 4, set->ttl);
	wire_put32(out + 8, expiration);
	wire_put32(out + 12, inception);
	wire_put16(out + 16, k->tag);
	name_lower_copy(out + DNSSEC_RRSIG_FIXED, signer, (size_t)slen);
	size_t olen = name_len(set->owner);
	int64_t dlen = signed_data(set, set->owner, olen, out, hlen, set->ttl, s);
	if (dlen < 0)
		return fail((int)dlen, err, errlen, "out of memory building the canonical %s RRset",
		            rr_type_name(set->type, tbuf));
	int n = sign_data(k, s->data, (size_t)dlen, out + hlen, s);
	if (n < 0)
		return fail(n, err, errlen, "signing the %s RRset with key %u failed", rr_type_name(set->type, tbuf),
		            k->tag);
	return (int)hlen + n;
}

int dnssec_verify(const struct dnssec_key *k, const struct dnssec_rrset *set, const uint8_t *rrsig, size_t len,
                  int64_t now, struct dnssec_scratch *s, char *err, size_t errlen)
{
	char tbuf[16], cbuf[16];
	struct dnssec_rrsig r;
	if (dnssec_rrsig_parse(rrsig, len, &r) < 0)
		return fail(TERN_EMALF, err, errlen, "malformed RRSIG RDATA (%zu octets)", len);
	int rc = rrset_check(set, err, errlen);
	if (rc < 0)
		return rc;
	if (r.covered != set->type)
		return fail(TERN_EBOGUS, err, errlen, "the RRSIG covers %s, not %s", rr_type_name(r.covered, cbuf),
		            rr_type_name(set->type, tbuf));
	if (r.alg != k->alg || r.key_tag != k->tag)
		return fail(TERN_EBOGUS, err, errlen, "the RRSIG is by key %u algorithm %u, not key %u algorithm %u",
		            r.key_tag, r.alg, k->tag, k->alg);
	if (!(k->flags & DNSSEC_FLAG_ZONE))
		return fail(TERN_EBOGUS, err, errlen, "key %u lacks the zone flag (RFC 4034 2.1.1)", k->tag);
	if (!name_in(set->owner, r.signer))
		return fail(TERN_EBOGUS, err, errlen, "the owner is not at or below the RRSIG's signer");
	int olabels = name_labels(set->owner);
	if (r.labels > olabels)
		return fail(TERN_EBOGUS, err, errlen, "the RRSIG's labels %u exceed the owner's %d", r.labels, olabels);
	if (now >= 0) {
		uint32_t t = (uint32_t)now;
		if (rr_serial_newer(r.inception, t))
			return fail(TERN_EBOGUS, err, errlen, "the RRSIG is not valid before %u (now %u)", r.inception,
			            t);
		if (rr_serial_newer(t, r.expiration))
			return fail(TERN_EBOGUS, err, errlen, "the RRSIG expired at %u (now %u)", r.expiration, t);
	}
	/* the owner as signed: a wildcard expansion is verified over "*." and the last labels */
	uint8_t wild[NAME_MAXLEN];
	const uint8_t *owner = set->owner;
	for (int skip = olabels - r.labels; skip > 0; skip--)
		owner += *owner + 1;
	size_t olen = name_len(owner);
	if (r.labels < olabels) {
		if (olen + 2 > NAME_MAXLEN)
			return fail(TERN_EBOGUS, err, errlen, "the wildcard name of the RRSIG is too long");
		wild[0] = 1;
		wild[1] = '*';
		memcpy(wild + 2, owner, olen);
		owner = wild;
		olen += 2;
	}
	/* the RRSIG's fields as signed: the signer lower-cased (RFC 4034 6.2) */
	uint8_t hdr[DNSSEC_RRSIG_FIXED + NAME_MAXLEN];
	size_t hlen = DNSSEC_RRSIG_FIXED + r.signer_len;
	memcpy(hdr, rrsig, DNSSEC_RRSIG_FIXED);
	name_lower_copy(hdr + DNSSEC_RRSIG_FIXED, r.signer, r.signer_len);
	int64_t dlen = signed_data(set, owner, olen, hdr, hlen, r.original_ttl, s);
	if (dlen < 0)
		return fail((int)dlen, err, errlen, "out of memory building the canonical %s RRset",
		            rr_type_name(set->type, tbuf));
	if (r.signature_len != sig_len(k))
		return fail(TERN_EBOGUS, err, errlen, "the RRSIG's signature is %u octets: key %u (%s) makes %zu",
		            r.signature_len, k->tag, dnssec_alg_name(k->alg), sig_len(k));
	int ok = verify_data(k, s->data, (size_t)dlen, r.signature, r.signature_len);
	if (ok < 0)
		return fail(ok, err, errlen, "verifying with key %u failed", k->tag);
	if (!ok)
		return fail(TERN_EBOGUS, err, errlen, "the %s RRset's signature by key %u does not verify",
		            rr_type_name(set->type, tbuf), k->tag);
	return 0;
}
