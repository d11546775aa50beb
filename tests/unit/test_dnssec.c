/* Unit tests for lib/dnssec: keys, DNSKEY, DS and key tags against the examples of RFC 6605 6.1 and
 * RFC 8080 6 (with verified erratum 4935), RRSIGs made and verified over the canonical form, and
 * hostile input. The RFCs' private keys are turned into PEM here with OpenSSL, as a store would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "lib/base64.h"
#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/zone.h"

/* ---- helpers ---- */

static size_t b64(const char *text, uint8_t *out, size_t cap)
{
	size_t n = 0;
	struct b64_error e;
	assert_int_equal(b64_decode(text, strlen(text), B64_PADDED, out, cap, &n, &e), 0);
	return n;
}

static size_t hex(const char *text, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; text[0] && text[1]; text += 2) {
		unsigned v;
		assert_int_equal(sscanf(text, "%2x", &v), 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static const uint8_t *wname(const char *text, uint8_t buf[NAME_MAXLEN])
{
	assert_true(name_from_text(buf, text, NULL) > 0);
	return buf;
}

/* An RRset in the rrset layout built from RDATA in presentation form. */
struct set {
	uint8_t owner[NAME_MAXLEN];
	uint8_t rdata[70000];
	struct dnssec_rrset rr;
};

static struct dnssec_rrset *set_make(struct set *s, const char *owner, uint16_t type, uint32_t ttl,
                                     const char *const *records, size_t n)
{
	wname(owner, s->owner);
	s->rr = (struct dnssec_rrset){.owner = s->owner, .type = type, .ttl = ttl, .rdata = s->rdata};
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		char err[256];
		int rc = rrtext_rdata_from_text(s->owner, s->owner, type, records[i], s->rdata + s->rr.rdata_size + 2,
		                                sizeof(s->rdata) - s->rr.rdata_size - 2, &len, err, sizeof(err));
		if (rc < 0)
			fail_msg("%s: %s", records[i], err);
		s->rdata[s->rr.rdata_size] = (uint8_t)(len >> 8);
		s->rdata[s->rr.rdata_size + 1] = (uint8_t)len;
		s->rr.rdata_size += 2 + len;
		s->rr.count++;
	}
	return &s->rr;
}

/* A PEM private key made with OpenSSL from the raw private key an RFC prints (Ed25519: the 32
 * octets; P-256: the scalar, with the public point from the RFC's DNSKEY). */
static char *pem_from_raw(uint8_t alg, const uint8_t *priv, size_t len, const uint8_t *pub_xy)
{
	EVP_PKEY *pkey = NULL;
	if (alg == DNSSEC_ALG_ED25519) {
		pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, priv, len);
	} else {
		uint8_t point[65] = {4};
		memcpy(point + 1, pub_xy, 64);
		OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
		BIGNUM *d = BN_bin2bn(priv, (int)len, NULL);
		assert_non_null(b);
		assert_non_null(d);
		assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0),
		                 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)), 1);
		OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
		assert_int_equal(EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_KEYPAIR, p), 1);
		EVP_PKEY_CTX_free(c);
		OSSL_PARAM_free(p);
		OSSL_PARAM_BLD_free(b);
		BN_free(d);
	}
	assert_non_null(pkey);
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	char *pem = calloc(1, (size_t)n + 1);
	memcpy(pem, data, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return pem;
}

static struct dnssec_key *key_from_pem_text(const char *pem, uint16_t flags)
{
	struct dnssec_key *k;
	char err[256];
	int rc = dnssec_key_from_pem(pem, strlen(pem), flags, &k, err, sizeof(err));
	if (rc < 0)
		fail_msg("dnssec_key_from_pem: %s", err);
	return k;
}

static struct dnssec_key *key_gen(uint8_t alg, uint16_t flags)
{
	struct dnssec_key *k;
	char err[256];
	assert_int_equal(dnssec_key_generate(alg, flags, &k, err, sizeof(err)), 0);
	return k;
}

/* Signs and returns the RRSIG RDATA length (the test fails on an error). */
static size_t sign_ok(const struct dnssec_key *k, const struct dnssec_rrset *set, const char *signer, uint32_t inc,
                      uint32_t exp, uint8_t *out)
{
	uint8_t sname[NAME_MAXLEN];
	struct dnssec_scratch s;
	char err[256];
	dnssec_scratch_init(&s);
	int n = dnssec_sign(k, set, wname(signer, sname), inc, exp, &s, out, DNSSEC_RRSIG_MAX, err, sizeof(err));
	dnssec_scratch_free(&s);
	if (n < 0)
		fail_msg("dnssec_sign: %s", err);
	return (size_t)n;
}

static int verify(const struct dnssec_key *k, const struct dnssec_rrset *set, const uint8_t *sig, size_t len,
                  int64_t now, char *err, size_t errlen)
{
	struct dnssec_scratch s;
	dnssec_scratch_init(&s);
	int rc = dnssec_verify(k, set, sig, len, now, &s, err, errlen);
	dnssec_scratch_free(&s);
	return rc;
}

/* RRSIG RDATA from its fields and a base64 signature. */
static size_t rrsig_make(uint8_t *out, uint16_t covered, uint8_t alg, uint8_t labels, uint32_t ttl, uint32_t exp,
                         uint32_t inc, uint16_t tag, const char *signer, const char *sig_b64)
{
	uint8_t sname[NAME_MAXLEN];
	wname(signer, sname);
	size_t sl = name_len(sname);
	out[0] = (uint8_t)(covered >> 8);
	out[1] = (uint8_t)covered;
	out[2] = alg;
	out[3] = labels;
	uint32_t v[3] = {ttl, exp, inc};
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++)
			out[4 + 4 * i + j] = (uint8_t)(v[i] >> (24 - 8 * j));
	out[16] = (uint8_t)(tag >> 8);
	out[17] = (uint8_t)tag;
	memcpy(out + 18, sname, sl);
	return 18 + sl + b64(sig_b64, out + 18 + sl, DNSSEC_SIG_MAX);
}

/* ---- RFC 6605 6.1: ECDSA P-256 ---- */

#define R6605_PRIV "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ="
#define R6605_PUB "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
#define R6605_DS "b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17"
#define R6605_SIG "qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw=="
#define R6605_EXP 1284026679u /* 20100909100439 */
#define R6605_INC 1281607479u /* 20100812100439 */

static size_t r6605_dnskey(uint8_t *out)
{
	out[0] = 1;
	out[1] = 1; /* 257 */
	out[2] = 3;
	out[3] = 13;
	return 4 + b64(R6605_PUB, out + 4, 64);
}

static struct dnssec_key *r6605_key(void)
{
	uint8_t priv[32], rd[DNSSEC_DNSKEY_MAX];
	assert_int_equal(b64(R6605_PRIV, priv, sizeof(priv)), 32);
	r6605_dnskey(rd);
	char *pem = pem_from_raw(13, priv, 32, rd + 4);
	struct dnssec_key *k = key_from_pem_text(pem, DNSSEC_KSK);
	free(pem);
	return k;
}

static void test_rfc6605_key(void **state)
{
	(void)state;
	uint8_t want[DNSSEC_DNSKEY_MAX], got[DNSSEC_DNSKEY_MAX], ds[DNSSEC_DS_MAX], want_ds[32], owner[NAME_MAXLEN];
	size_t wl = r6605_dnskey(want);
	assert_int_equal(dnssec_keytag(want, wl), 55648);

	struct dnssec_key *k = r6605_key();
	assert_int_equal(dnssec_key_alg(k), 13);
	assert_int_equal(dnssec_key_tag(k), 55648);
	assert_true(dnssec_key_private(k));
	int n = dnssec_key_dnskey(k, got, sizeof(got));
	assert_int_equal(n, (int)wl);
	assert_memory_equal(got, want, wl);

	char err[256];
	n = dnssec_ds(wname("EXAMPLE.net.", owner), got, wl, DNSSEC_DIGEST_SHA256, ds, sizeof(ds), err, sizeof(err));
	assert_int_equal(n, 36);
	assert_int_equal(ds[0] << 8 | ds[1], 55648);
	assert_int_equal(ds[2], 13);
	assert_int_equal(ds[3], 2);
	hex(R6605_DS, want_ds, sizeof(want_ds));
	assert_memory_equal(ds + 4, want_ds, 32);
	dnssec_key_free(k);
}

static void test_rfc6605_verify(void **state)
{
	(void)state;
	uint8_t rd[DNSSEC_DNSKEY_MAX], sig[DNSSEC_RRSIG_MAX];
	char err[256];
	struct dnssec_key *pub;
	size_t kl = r6605_dnskey(rd);
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &pub, err, sizeof(err)), 0);
	assert_false(dnssec_key_private(pub));
	assert_int_equal(dnssec_key_tag(pub), 55648);
	size_t sl = rrsig_make(sig, RR_A, 13, 3, 3600, R6605_EXP, R6605_INC, 55648, "example.net.", R6605_SIG);

	struct set s;
	const char *a[] = {"192.0.2.1"};
	struct dnssec_rrset *set = set_make(&s, "www.example.net.", RR_A, 3600, a, 1);
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), 0);
	assert_int_equal(verify(pub, set, sig, sl, 1283000000, err, sizeof(err)), 0);
	/* the owner in another case is the same name */
	set_make(&s, "WWW.Example.NET.", RR_A, 3600, a, 1);
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), 0);

	/* outside its validity */
	assert_int_equal(verify(pub, set, sig, sl, R6605_EXP + 1, err, sizeof(err)), TERN_EBOGUS);
	assert_non_null(strstr(err, "expired"));
	assert_int_equal(verify(pub, set, sig, sl, R6605_INC - 1, err, sizeof(err)), TERN_EBOGUS);
	assert_non_null(strstr(err, "not valid before"));

	/* a tampered record, owner, signature or original TTL */
	const char *b[] = {"192.0.2.2"};
	set_make(&s, "www.example.net.", RR_A, 3600, b, 1);
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), TERN_EBOGUS);
	assert_non_null(strstr(err, "does not verify"));
	set_make(&s, "ww2.example.net.", RR_A, 3600, a, 1);
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), TERN_EBOGUS);
	set_make(&s, "www.example.net.", RR_A, 3600, a, 1);
	sig[sl - 1] ^= 1;
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), TERN_EBOGUS);
	sig[sl - 1] ^= 1;
	sig[7] ^= 1; /* original TTL 3601 */
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), TERN_EBOGUS);
	sig[7] ^= 1;
	assert_int_equal(verify(pub, set, sig, sl, -1, err, sizeof(err)), 0);
	dnssec_key_free(pub);
}

static void test_rfc6605_sign(void **state)
{
	(void)state;
	uint8_t want[DNSSEC_RRSIG_MAX], a1[DNSSEC_RRSIG_MAX], a2[DNSSEC_RRSIG_MAX], rd[DNSSEC_DNSKEY_MAX];
	char err[256];
	size_t wl = rrsig_make(want, RR_A, 13, 3, 3600, R6605_EXP, R6605_INC, 55648, "example.net.", R6605_SIG);
	struct dnssec_key *k = r6605_key(), *pub;
	size_t kl = r6605_dnskey(rd);
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &pub, err, sizeof(err)), 0);

	struct set s;
	const char *a[] = {"192.0.2.1"};
	struct dnssec_rrset *set = set_make(&s, "www.example.net.", RR_A, 3600, a, 1);
	size_t n1 = sign_ok(k, set, "example.net.", R6605_INC, R6605_EXP, a1);
	size_t n2 = sign_ok(k, set, "EXAMPLE.NET.", R6605_INC, R6605_EXP, a2);
	/* every field the RFC's RRSIG has, a 64-octet r||s; ECDSA is randomised, so the signatures differ */
	assert_int_equal(n1, wl);
	assert_int_equal(n2, wl);
	assert_memory_equal(a1, want, wl - 64);
	assert_memory_equal(a2, want, wl - 64);
	assert_memory_not_equal(a1 + wl - 64, a2 + wl - 64, 64);
	assert_int_equal(verify(pub, set, a1, n1, -1, err, sizeof(err)), 0);
	assert_int_equal(verify(pub, set, a2, n2, 1283000000, err, sizeof(err)), 0);
	const char *b[] = {"192.0.2.2"};
	set_make(&s, "www.example.net.", RR_A, 3600, b, 1);
	assert_int_equal(verify(pub, set, a1, n1, -1, err, sizeof(err)), TERN_EBOGUS);
	dnssec_key_free(k);
	dnssec_key_free(pub);
}

/* ---- RFC 8080 6 (erratum 4935: labels 2): Ed25519 is deterministic ---- */

static const struct {
	const char *priv, *pub, *ds, *sig;
	uint16_t tag;
} r8080[] = {
    {"ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=", "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
     "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
     "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==", 3613},
    {"DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=", "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
     "401781b934e392de492ec77ae2e15d70f6575a1c0bc59c5275c04ebe80c6614c",
     "zXQ0bkYgQTEFyfLyi9QoiY6D8ZdYo4wyUhVioYZXFdT410QPRITQSqJSnzQoSm5poJ7gD7AQR0O7KuI5k2pcBg==", 35217},
};
#define R8080_EXP 1440021600u
#define R8080_INC 1438207200u

static void test_rfc8080(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(r8080) / sizeof(r8080[0]); i++) {
		uint8_t priv[32], want[DNSSEC_DNSKEY_MAX] = {1, 1, 3, 15}, got[DNSSEC_DNSKEY_MAX], ds[DNSSEC_DS_MAX];
		uint8_t want_ds[32], owner[NAME_MAXLEN], sig[DNSSEC_RRSIG_MAX], want_sig[DNSSEC_RRSIG_MAX];
		char err[256];
		assert_int_equal(b64(r8080[i].priv, priv, sizeof(priv)), 32);
		assert_int_equal(b64(r8080[i].pub, want + 4, 32), 32);
		assert_int_equal(dnssec_keytag(want, 36), r8080[i].tag);

		char *pem = pem_from_raw(15, priv, 32, NULL);
		struct dnssec_key *k = key_from_pem_text(pem, DNSSEC_KSK), *pub;
		free(pem);
		assert_int_equal(dnssec_key_alg(k), 15);
		assert_int_equal(dnssec_key_tag(k), r8080[i].tag);
		assert_int_equal(dnssec_key_dnskey(k, got, sizeof(got)), 36);
		assert_memory_equal(got, want, 36);
		assert_int_equal(dnssec_ds(wname("example.com.", owner), got, 36, 2, ds, sizeof(ds), err, sizeof(err)),
		                 36);
		hex(r8080[i].ds, want_ds, sizeof(want_ds));
		assert_int_equal(ds[0] << 8 | ds[1], r8080[i].tag);
		assert_int_equal(ds[2], 15);
		assert_memory_equal(ds + 4, want_ds, 32);

		struct set s;
		const char *mx[] = {"10 mail.example.com."};
		struct dnssec_rrset *set = set_make(&s, "example.com.", RR_MX, 3600, mx, 1);
		size_t n = sign_ok(k, set, "example.com.", R8080_INC, R8080_EXP, sig);
		size_t wl = rrsig_make(want_sig, RR_MX, 15, 2, 3600, R8080_EXP, R8080_INC, r8080[i].tag, "example.com.",
		                       r8080[i].sig);
		assert_int_equal(n, wl);
		assert_memory_equal(sig, want_sig, wl);

		assert_int_equal(dnssec_key_from_dnskey(want, 36, &pub, err, sizeof(err)), 0);
		assert_int_equal(verify(pub, set, want_sig, wl, 1439000000, err, sizeof(err)), 0);
		want_sig[wl - 5] ^= 0x40;
		assert_int_equal(verify(pub, set, want_sig, wl, -1, err, sizeof(err)), TERN_EBOGUS);
		dnssec_key_free(pub);
		dnssec_key_free(k);
	}
}

/* ---- the canonical form ---- */

static void test_canonical_rdata(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		const char *text;
		bool lowered;
	} cases[] = {
	    {RR_NS, "NS1.Example.COM.", true},
	    {RR_CNAME, "Target.Example.", true},
	    {RR_SOA, "NS.Example. Host.Master.EXAMPLE. 1 2 3 4 5", true},
	    {RR_MX, "10 MAIL.example.", true},
	    {RR_SRV, "1 2 3 SIP.Example.", true},
	    {RR_NAPTR, "1 2 \"S\" \"SIP+D2U\" \"\" _Sip._UDP.Example.", true},
	    {RR_DNAME, "Other.EXAMPLE.", true},
	    {RR_RP, "Mbox.Example. TXT.Example.", true},
	    {RR_RRSIG, "A 13 2 300 20300101000000 20200101000000 1 EXAMPLE. AAAA", true},
	    {RR_NSEC, "Next.EXAMPLE. A NS", false}, /* RFC 6840 5.1 */
	    {RR_SVCB, "1 Svc.EXAMPLE.", false}, /* not in the list (RFC 9460 2.2) */
	    {RR_TXT, "\"MiXeD\"", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct set s;
		set_make(&s, "example.", cases[i].type, 300, &cases[i].text, 1);
		uint16_t len = rdata_len(s.rdata);
		const uint8_t *rd = rdata_bytes(s.rdata);
		uint8_t out[1024], lower[1024];
		rr_rdata_canonical(cases[i].type, rd, len, out);
		for (uint16_t j = 0; j < len; j++)
			lower[j] = (rd[j] >= 'A' && rd[j] <= 'Z') ? (uint8_t)(rd[j] + 32) : rd[j];
		if (cases[i].lowered && cases[i].type == RR_NAPTR) { /* the strings before the name keep their case */
			assert_memory_not_equal(out, rd, len);
			assert_true(memchr(out, 'S', len) != NULL);
		} else if (cases[i].lowered) {
			/* numbers in these RDATA are below 'A' or the test's fields avoid them */
			assert_memory_equal(out, lower, len);
			assert_memory_not_equal(out, rd, len);
		} else {
			assert_memory_equal(out, rd, len);
		}
	}
}

/* A set out of order, in mixed case and with a duplicate signs exactly as the sorted lower-case
 * set (Ed25519 is deterministic, so the RRSIGs are equal byte for byte), and verifies either way. */
static void test_canonical_set(void **state)
{
	(void)state;
	struct dnssec_key *ed = key_gen(15, DNSSEC_ZSK), *ec = key_gen(13, DNSSEC_ZSK);
	static const struct {
		uint16_t type;
		const char *owner_a, *owner_b;
		const char *a[4], *b[5];
		size_t na, nb;
	} cases[] = {
	    {RR_A,
	     "www.example.",
	     "WwW.ExAmPlE.",
	     {"192.0.2.1", "192.0.2.2", "192.0.2.10", "10.0.0.1"},
	     {"192.0.2.10", "192.0.2.2", "10.0.0.1", "192.0.2.1", "192.0.2.2"},
	     4,
	     5},
	    {RR_MX,
	     "example.",
	     "EXAMPLE.",
	     {"10 a.example.", "10 b.example.", "20 a.example.", "5 z.example."},
	     {"20 A.EXAMPLE.", "5 Z.Example.", "10 b.example.", "10 A.example.", "20 a.example."},
	     4,
	     5},
	    /* "absence of an octet sorts before a zero octet": "a" before "a\000" before "b" */
	    {RR_TXT,
	     "t.example.",
	     "T.example.",
	     {"\"a\"", "\"a\\000\"", "\"b\"", "\"a\" \"b\""},
	     {"\"b\"", "\"a\" \"b\"", "\"a\\000\"", "\"a\"", "\"b\""},
	     4,
	     5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct set sa, sb;
		struct dnssec_rrset *a = set_make(&sa, cases[i].owner_a, cases[i].type, 300, cases[i].a, cases[i].na);
		struct dnssec_rrset *b = set_make(&sb, cases[i].owner_b, cases[i].type, 300, cases[i].b, cases[i].nb);
		uint8_t ra[DNSSEC_RRSIG_MAX], rb[DNSSEC_RRSIG_MAX];
		char err[256];
		size_t na = sign_ok(ed, a, "example.", 1000, 2000, ra), nb = sign_ok(ed, b, "Example.", 1000, 2000, rb);
		assert_int_equal(na, nb);
		assert_memory_equal(ra, rb, na);
		assert_int_equal(verify(ed, b, ra, na, 1500, err, sizeof(err)), 0);
		na = sign_ok(ec, b, "example.", 1000, 2000, ra);
		assert_int_equal(verify(ec, a, ra, na, 1500, err, sizeof(err)), 0);
		/* one record fewer is another RRset */
		a->rdata_size -= 2 + rdata_len(a->rdata);
		a->rdata += 2 + rdata_len(a->rdata);
		a->count--;
		assert_int_equal(verify(ec, a, ra, na, 1500, err, sizeof(err)), TERN_EBOGUS);
	}

	/* NSEC keeps the case of its next name (RFC 6840 5.1): a different case is a different set */
	struct set sa, sb;
	const char *n1[] = {"Next.example. A RRSIG NSEC"}, *n2[] = {"next.example. A RRSIG NSEC"};
	struct dnssec_rrset *a = set_make(&sa, "example.", RR_NSEC, 300, n1, 1);
	struct dnssec_rrset *b = set_make(&sb, "example.", RR_NSEC, 300, n2, 1);
	uint8_t ra[DNSSEC_RRSIG_MAX];
	char err[256];
	size_t na = sign_ok(ed, a, "example.", 1000, 2000, ra);
	assert_int_equal(verify(ed, a, ra, na, -1, err, sizeof(err)), 0);
	assert_int_equal(verify(ed, b, ra, na, -1, err, sizeof(err)), TERN_EBOGUS);
	dnssec_key_free(ed);
	dnssec_key_free(ec);
}

/* Sets of several records signed by another implementation (dnspython 2.3's dns.dnssec.sign with
 * RFC 8080's first key, same times): the order of records of one prefix but different lengths
 * ("a" before "a" "b", RFC 4034 6.3) and the lower-cased MX targets must match its choice. */
static void test_peer_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *owner;
		uint16_t type;
		const char *recs[4];
		size_t n;
		const char *sig;
	} cases[] = {
	    {"t.example.com.",
	     RR_TXT,
	     {"\"b\"", "\"a\" \"b\"", "\"a\\000\"", "\"a\""},
	     4,
	     "7VIhpDgpOSnYK1MnHhQNVhcUbzjMrX5ILkrB8BCioybmhxg5pAKTnDwU6Sha+s8KxsIL91l6uspBn5PC5TBHAw=="},
	    {"Mx.Example.COM.",
	     RR_MX,
	     {"20 B.Example.com.", "10 mail.EXAMPLE.com.", "10 a.example.com."},
	     3,
	     "Ce2LNElS6wgjO7hq4ss0R2QMlniUE9dAYVV2/q17KGuYyCdBSZ9VzRVV6pKQ9hPRhAljy8yp9ZamvkuJbqyXDA=="},
	};
	uint8_t priv[32];
	b64(r8080[0].priv, priv, sizeof(priv));
	char *pem = pem_from_raw(15, priv, 32, NULL);
	struct dnssec_key *k = key_from_pem_text(pem, DNSSEC_KSK);
	free(pem);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct set s;
		struct dnssec_rrset *set = set_make(&s, cases[i].owner, cases[i].type, 3600, cases[i].recs, cases[i].n);
		uint8_t sig[DNSSEC_RRSIG_MAX], want[DNSSEC_RRSIG_MAX];
		size_t n = sign_ok(k, set, "example.com.", R8080_INC, R8080_EXP, sig);
		size_t wl = rrsig_make(want, cases[i].type, 15, 3, 3600, R8080_EXP, R8080_INC, r8080[0].tag,
		                       "example.com.", cases[i].sig);
		assert_int_equal(n, wl);
		assert_memory_equal(sig, want, wl);
	}
	dnssec_key_free(k);
}

/* A wildcard's RRSIG does not count the '*' label, and verifies any expansion of it. */
static void test_wildcard(void **state)
{
	(void)state;
	struct dnssec_key *k = key_gen(13, DNSSEC_ZSK);
	struct set s;
	const char *a[] = {"192.0.2.9"};
	uint8_t sig[DNSSEC_RRSIG_MAX];
	char err[256];
	struct dnssec_rrset *set = set_make(&s, "*.w.example.", RR_A, 60, a, 1);
	size_t n = sign_ok(k, set, "example.", 1000, 2000, sig);
	assert_int_equal(sig[3], 2);
	assert_int_equal(verify(k, set, sig, n, -1, err, sizeof(err)), 0);
	set_make(&s, "x.w.example.", RR_A, 60, a, 1);
	assert_int_equal(verify(k, set, sig, n, -1, err, sizeof(err)), 0);
	set_make(&s, "deep.x.w.example.", RR_A, 60, a, 1);
	assert_int_equal(verify(k, set, sig, n, -1, err, sizeof(err)), 0);
	set_make(&s, "x.v.example.", RR_A, 60, a, 1); /* another wildcard's expansion */
	assert_int_equal(verify(k, set, sig, n, -1, err, sizeof(err)), TERN_EBOGUS);
	set_make(&s, "example.", RR_A, 60, a, 1); /* fewer labels than the RRSIG says */
	assert_int_equal(verify(k, set, sig, n, -1, err, sizeof(err)), TERN_EBOGUS);
	assert_non_null(strstr(err, "labels"));
	/* the root's own labels: 0 */
	set_make(&s, ".", RR_A, 60, a, 1);
	n = sign_ok(k, set, ".", 1000, 2000, sig);
	assert_int_equal(sig[3], 0);
	assert_int_equal(verify(k, set, sig, n, -1, err, sizeof(err)), 0);
	dnssec_key_free(k);
}

/* The largest RRset a zone may hold (ZONE_MSG_MAX), under the longest owner, signs and verifies;
 * one record more is refused. */
static void test_largest_rrset(void **state)
{
	(void)state;
	static struct set s;
	/* 255 octets: three 63-octet labels (64 each), one of 53 (54), "example" (8), the root (1) */
	char owner[300] = "";
	for (int i = 0; i < 4; i++) {
		size_t at = strlen(owner), n = i < 3 ? 63 : 53;
		memset(owner + at, 'a' + i, n);
		owner[at + n] = '.';
		owner[at + n + 1] = '\0';
	}
	strcat(owner, "example.");
	assert_int_equal(name_from_text(s.owner, owner, NULL), NAME_MAXLEN);
	s.rr = (struct dnssec_rrset){.owner = s.owner, .type = RR_A, .ttl = 60, .rdata = s.rdata};
	while (zone_rrset_msg_size(s.owner, s.rr.count + 1u, s.rr.rdata_size + 6) <= ZONE_MSG_MAX) {
		uint8_t *r = s.rdata + s.rr.rdata_size;
		uint16_t i = s.rr.count;
		r[0] = 0;
		r[1] = 4;
		r[2] = 10;
		r[3] = (uint8_t)(i >> 8);
		r[4] = (uint8_t)i;
		r[5] = 1;
		s.rr.rdata_size += 6;
		s.rr.count++;
	}
	assert_true(s.rr.count > 2500);
	for (int alg = 13; alg <= 15; alg += 2) {
		struct dnssec_key *k = key_gen((uint8_t)alg, DNSSEC_ZSK);
		uint8_t sig[DNSSEC_RRSIG_MAX];
		char err[256];
		size_t n = sign_ok(k, &s.rr, "example.", 1000, 2000, sig);
		assert_int_equal(verify(k, &s.rr, sig, n, -1, err, sizeof(err)), 0);
		struct dnssec_scratch sc;
		dnssec_scratch_init(&sc);
		s.rr.count++;
		s.rr.rdata_size += 6;
		memcpy(s.rdata + s.rr.rdata_size - 6, "\0\4\13\0\0\1", 6);
		assert_int_equal(dnssec_sign(k, &s.rr, s.owner + s.owner[0] + 1, 1000, 2000, &sc, sig, sizeof(sig), err,
		                             sizeof(err)),
		                 TERN_EINVAL);
		assert_non_null(strstr(err, "larger than a zone may hold"));
		s.rr.count--;
		s.rr.rdata_size -= 6;
		dnssec_scratch_free(&sc);
		dnssec_key_free(k);
	}
}

/* ---- keys ---- */

static void test_pem_round_trip(void **state)
{
	(void)state;
	for (int alg = 13; alg <= 15; alg += 2) {
		struct dnssec_key *k = key_gen((uint8_t)alg, DNSSEC_KSK), *back, *pub;
		char *pem, err[256];
		size_t len;
		assert_int_equal(dnssec_key_to_pem(k, &pem, &len, err, sizeof(err)), 0);
		assert_int_equal(strlen(pem), len);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		assert_int_equal(dnssec_key_from_pem(pem, len, DNSSEC_ZSK, &back, err, sizeof(err)), 0);
		dnssec_pem_free(pem, len);
		assert_int_equal(dnssec_key_alg(back), alg);
		assert_int_equal(dnssec_key_flags(back), DNSSEC_ZSK);
		uint8_t d1[DNSSEC_DNSKEY_MAX], d2[DNSSEC_DNSKEY_MAX];
		int n1 = dnssec_key_dnskey(k, d1, sizeof(d1)), n2 = dnssec_key_dnskey(back, d2, sizeof(d2));
		assert_int_equal(n1, alg == 13 ? 68 : 36);
		assert_int_equal(n1, n2);
		assert_memory_equal(d1 + 2, d2 + 2, (size_t)n1 - 2); /* the same key, other flags */
		assert_int_not_equal(dnssec_key_tag(k), dnssec_key_tag(back));
		assert_int_equal(dnssec_key_set_flags(back, DNSSEC_KSK, err, sizeof(err)), 0);
		assert_int_equal(dnssec_key_tag(back), dnssec_key_tag(k));

		/* the key read back signs what the DNSKEY verifies */
		assert_int_equal(dnssec_key_from_dnskey(d1, (size_t)n1, &pub, err, sizeof(err)), 0);
		assert_int_equal(dnssec_key_tag(pub), dnssec_key_tag(k));
		struct set s;
		const char *rec[] = {"257 3 13 AAAA"};
		struct dnssec_rrset *set = set_make(&s, "example.", RR_DNSKEY, 300, rec, 1);
		uint8_t sig[DNSSEC_RRSIG_MAX];
		size_t n = sign_ok(back, set, "example.", 1000, 2000, sig);
		assert_int_equal(verify(pub, set, sig, n, -1, err, sizeof(err)), 0);

		/* the revoke bit makes another key tag (RFC 5011 2.1); signatures follow it */
		assert_int_equal(dnssec_key_set_flags(back, DNSSEC_KSK | DNSSEC_FLAG_REVOKE, err, sizeof(err)), 0);
		assert_int_not_equal(dnssec_key_tag(back), dnssec_key_tag(k));
		n = sign_ok(back, set, "example.", 1000, 2000, sig);
		assert_int_equal(verify(pub, set, sig, n, -1, err, sizeof(err)), TERN_EBOGUS);
		assert_non_null(strstr(err, "by key"));

		/* a public key has nothing to write or sign with */
		assert_int_equal(dnssec_key_to_pem(pub, &pem, &len, err, sizeof(err)), TERN_EINVAL);
		assert_null(pem);
		struct dnssec_scratch sc;
		dnssec_scratch_init(&sc);
		assert_int_equal(dnssec_sign(pub, set, s.owner, 1000, 2000, &sc, sig, sizeof(sig), err, sizeof(err)),
		                 TERN_EINVAL);
		assert_non_null(strstr(err, "public only"));
		dnssec_scratch_free(&sc);
		dnssec_key_free(pub);
		dnssec_key_free(back);
		dnssec_key_free(k);
	}
}

static void test_refused_algorithms(void **state)
{
	(void)state;
	char err[256];
	struct dnssec_key *k = (struct dnssec_key *)1;
	static const struct {
		uint8_t alg;
		const char *says;
	} refused[] = {
	    {1, "RSAMD5) must not be used (RFC 8624)"},
	    {3, "DSA) must not be used"},
	    {6, "DSA-NSEC3-SHA1) must not be used"},
	    {12, "ECC-GOST) must not be used"},
	    {16, "ED448) is not supported"},
	    {0, "unknown DNSSEC algorithm 0"},
	    {200, "unknown DNSSEC algorithm 200"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dnssec_key_generate(refused[i].alg, DNSSEC_ZSK, &k, err, sizeof(err)), TERN_EINVAL);
		assert_null(k);
		if (!strstr(err, refused[i].says))
			fail_msg("algorithm %u: '%s' lacks '%s'", refused[i].alg, err, refused[i].says);
		/* and a DNSKEY of it cannot be read for validation */
		uint8_t rd[36] = {1, 0, 3, refused[i].alg};
		assert_int_equal(dnssec_key_from_dnskey(rd, sizeof(rd), &k, err, sizeof(err)), TERN_EINVAL);
		assert_null(k);
	}
	/* RSA and P-384 are validated (RFC 8624 3.1), never made */
	static const struct {
		uint8_t alg;
		const char *says;
	} validate_only[] = {
	    {5, "RSASHA1): Tern signs only with 13"},
	    {7, "RSASHA1-NSEC3-SHA1): Tern signs only"},
	    {8, "RSASHA256): Tern signs only"},
	    {10, "RSASHA512): Tern signs only"},
	    {14, "ECDSAP384SHA384) is not supported: use 13"},
	};
	for (size_t i = 0; i < sizeof(validate_only) / sizeof(validate_only[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dnssec_key_generate(validate_only[i].alg, DNSSEC_ZSK, &k, err, sizeof(err)),
		                 TERN_EINVAL);
		assert_null(k);
		if (!strstr(err, validate_only[i].says))
			fail_msg("algorithm %u: '%s' lacks '%s'", validate_only[i].alg, err, validate_only[i].says);
		assert_int_equal(dnssec_alg_check(validate_only[i].alg, true, err, sizeof(err)), TERN_EINVAL);
		assert_int_equal(dnssec_alg_check(validate_only[i].alg, false, err, sizeof(err)), 0);
	}
	assert_int_equal(dnssec_alg_check(13, true, err, sizeof(err)), 0);
	assert_int_equal(dnssec_alg_check(15, false, err, sizeof(err)), 0);

	/* flags: the zone bit is required, unknown bits refused */
	assert_int_equal(dnssec_key_generate(13, 0, &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "zone key flag"));
	assert_int_equal(dnssec_key_generate(13, DNSSEC_KSK | 2, &k, err, sizeof(err)), TERN_EINVAL);

	/* DS digests: SHA-1 and GOST refused (RFC 8624), SHA-384 made */
	uint8_t rd[DNSSEC_DNSKEY_MAX], ds[DNSSEC_DS_MAX], owner[NAME_MAXLEN];
	size_t kl = r6605_dnskey(rd);
	wname("example.net.", owner);
	assert_int_equal(dnssec_ds(owner, rd, kl, 1, ds, sizeof(ds), err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "SHA-1"));
	assert_int_equal(dnssec_ds(owner, rd, kl, 3, ds, sizeof(ds), err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(dnssec_ds(owner, rd, kl, 9, ds, sizeof(ds), err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(dnssec_ds(owner, rd, kl, 4, ds, sizeof(ds), err, sizeof(err)), 52);
	assert_int_equal(dnssec_ds(owner, rd, kl, 2, ds, 35, err, sizeof(err)), TERN_ESPACE);
	rd[1] = 0; /* flags 256 */
	rd[0] = 0; /* flags 0: not a zone key */
	assert_int_equal(dnssec_ds(owner, rd, kl, 2, ds, sizeof(ds), err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "zone flag"));
}

/* ---- keys and signatures made by other implementations (RSA, P-384) ---- */

/* A zone example.net. (SOA, NS, ns1 A 192.0.2.53, www A 192.0.2.1 and 192.0.2.2, TTL 3600) signed
 * by BIND 9.18 and ldns 1.8 on Debian 12 when this test was written, with one KSK each that signs
 * everything; the KSK's DNSKEY and the RRSIG over www's A RRset, as the signed zone shows them. */
static const struct {
	uint8_t alg;
	uint16_t tag;
	size_t sig_len;
	const char *dnskey, *rrsig;
} peer_keys[] = {
    /* ldns-keygen -a RSASHA1 -b 1024 -k example.net; ldns-signzone -i 20261201000000 -e 20361201000000 */
    {5, 36749, 128,
     "257 3 5 AwEAAdm9gwYBfItwGqlNbFVl9DHDesE+8ZBfjjosWamZPZiqLQvR5flJUTAfgWM5Z23nmOr1Y//bU+CW"
     "DSeN+ld5WdvVMNz6KM7jA2YdiqZ6vwPI26yWqA38d0X6copakDwgr17BZ5+811R8+kZa+w730GlNOlnv3IMONTG3"
     "xFsq5sVB",
     "A 5 3 3600 20361201000000 20261201000000 36749 example.net. F85K4jKojRHLXNlQyI0/QPjcL61X"
     "681Jc6+yYkKKvsYE73c4kprEgTyMz4rTHwemDnAJi27uT2r1kgtiCn2NQDv+K3ddnRCa41fsryneeCyEZBBdHN3q"
     "ynvAiq/gEWmTVc6OlcSnfmSCF3Yw9IjwPmnlpfxL0M9/631uDVMvSWk="},
    /* dnssec-keygen -a RSASHA256 -b 2048 -f KSK example.net; dnssec-signzone -z -s 20261201000000 -e 20361201000000 */
    {8, 40154, 256,
     "257 3 8 AwEAAZcgWWYhuo05PQAxiIFm0cUHdHHGl0vILL1zf+4X3j5u+KWNw8Omgx/TLCAkrhj18dL267KDZZCo"
     "VHBPS6oA4ZfqZdAqmxr74HnCDXz6nzodfqU2vIiyx5qYT6D75fE7537AfiVhr6lF3Mpha2SLh/uy2BpOLiJBClxE"
     "ry+dr9cByg6NRB76HSXd+GLlUGgG9N2W11drcyI2H4RJUMETcCfs5XJ++5M+Jz7+p9ueVjwUHUtZ9dREpicNwdhl"
     "poTMiqXQxs2AEzF7zHE549g++mDpExfWQ43cNT9lC74K7d3L90KUqKlkQ6FR7n+6b9kup/HMrJhEAai2aggH70QP"
     "4LM=",
     "A 8 3 3600 20361201000000 20261201000000 40154 example.net. CTFumtcoBSUfN/fUwfJxF1M1NMXC"
     "zOEf2a4mP/e1RSSvjqMkOAEG/EiZrhp1lWfB7R1Uv7L8sUhHkUPlx+dx7TjO2gtmMbXYNjJgt0OqRJvRP2x6MetL"
     "ELiiFenS6DP08uL/K+k/Voc8BJMJugJgS6OG728Kzv99jJxc+sNoCfE+rpuCa0Go8fvsjRNdohDahGAE3KHj8l8W"
     "O61G/9bRMGSzAlOPKn511RqEpSqslLfm2FlH28RkvnS2VpdX/WdZHWMoeGGHGIpoZypSej7O/HLhuo9Wj/jVA1Ms"
     "tCqzgrHUvqXZbSVP1wA79eRcc+50Y7X1sMK+II/pW6HKlrJ1Rw=="},
    /* dnssec-keygen -a RSASHA512 -b 4096 -f KSK example.net; dnssec-signzone (as for 8) */
    {10, 28473, 512,
     "257 3 10 AwEAAZ+d3EAj8WyMTxtFiu2hgZhm+1PtY4Oh6YyY6cVdKj5c11qNw8Mn/32QJnhiZqEQ5eZvXc+jZNC"
     "QIgN3WmiX05ZWNm2obgcG8jKl3GbUoHDwZ2ACB6Dvq1vzk1a+1PapXUzXPq9aL2mroPg9eX4mXR2jpjxxm4Iefgz"
     "eIzMk7Y2ZUWPY4bKhiTpCVcxeCNHrDC6no3GeILMg8eo1a9xPv7YSyEINQ25qN6rIDAHuX86SgdpaOKnKopAaO86"
     "SoTyCliYISq4ug0uNUjKG0nAsdFqlixORKkVgERwhuoYV5DV0AdmnnbwWasJ68zWyRRZzjhbOhyFwmOjweDnrpu3"
     "R8VZOnON2b9wX+0h531asnZjnV4tBKtF6VfXvon2tEN7lIdEeAPqnLm7VYxbZPs+4neEecMxPPTPyVePTxdceuII"
     "DewATuNHwEQdtybK2ySQTWeJSOxcJmDqa+4y8Yiw3v9aG0M5e9cPHIPfOyTNZmVU76wwhOMJwSqUf6I4DtLICxAG"
     "Jf/nBaCAy3K5CsUAVGY4puWohvgC0XW9zH4e7QfSXUqt6NRe1KhrvRPdoGcOs7vQb0dy5JyFuz1vWmXtRUi20dnd"
     "uW4L9EIxcrL4c200RBn9LW/fWlkq+hSvO3/qyjrjfOeL0ug5r7oYYZh0NVEvOn+9xZQ9Cg/QzAvOQN7rH",
     "A 10 3 3600 20361201000000 20261201000000 28473 example.net. g/UScwbXrxvfXSqXwyeeR5+fe8+"
     "jlv2jSACMMr7pdh69FU1ZpL70F+I1cu4nN8mPQmW0aXqIAz+Eqes55JVl1Cxkz7n6eY4GwDiHXLYMhZGxTurmUWe"
     "+LBFQrl8r/klCV0BXMb8GLDg8Cxf5eCyRjFp9t9V1XFedTN4OD8TgGIlVYjDQqdLy9qfqzv2Ojz2pn6xibOO2S4U"
     "qSCesPm7TFOGb2wvcNSodUOpHgElfoU4KHaJ6gez+K029qtBlUXdqd8i++g0DNUtv88aHyYIqcs2R9/c2o1+XHTn"
     "GxO+UJCW+QxKnAttHBrHq06vXxvAwVBd+eXWMqnwXRoVA6bMLhW2LiR2smliebgXWmyxJ+xRdwHBXH10KIDLwQu6"
     "4t3Dy02QV7lJTFKYecCZMLt9W5MY2erlKDoE5A6NYJ7pRz5SUyNWNcYtf9P+a4qGCy/BYtU+dCWU7RFSC+psOLGU"
     "3W1Bwx0D2R2b5LbR5bstqei46UNyw2ZYMKgPRbnKlXuv/m8dP9Iy48CxFyZD7m4LuOi+n84ZvCCDj94hDuN6x4b/"
     "GjKXk2zt1ZFTPy/arn3keLZ+NejaqBMGNGElNWhn96kxlhf8Nc19JYwHpWcq+ALvOonGQ3FTYCBY2aShu/HalTl7"
     "L6+cLx6qABWWJ640uL1Kmm8IMZvs+RW5lmOndwUE="},
    /* dnssec-keygen -a ECDSAP384SHA384 -f KSK example.net; dnssec-signzone (as for 8) */
    {14, 53235, 96,
     "257 3 14 7fK8gMjr2Uht/qYH8q7F9oqlntBSOGa6AlfRkHjbTLId7TugGVVZMjXDpjSEAKGZyAqDXXz7TZgGL69"
     "JcYgG6UHiNX5OEyjaUVPzDJQtdb1FCS0BavXb5NSFUZSYR3FF",
     "A 14 3 3600 20361201000000 20261201000000 53235 example.net. S7cyH+cVKFzMQ8NEQIUlEMLeclR"
     "BHUuaGxVIxLfVsQw9M/Pyf1PneBelePEfOSDR/KRxV2kaXhP3FEsVPXJr3Ja5Z/wkr/obKQk4Wso8wh7L1WjvMeH"
     "xlj12Z2gzOEoB"},
};

#define PEER_NOW 1800000000 /* 2027-01-15, between the RRSIGs' inception and expiration */

static size_t text_rdata(uint16_t type, const char *text, uint8_t *out, size_t cap)
{
	uint8_t owner[NAME_MAXLEN];
	size_t len = 0;
	char err[256];
	wname("example.net.", owner);
	if (rrtext_rdata_from_text(owner, owner, type, text, out, cap, &len, err, sizeof(err)) < 0)
		fail_msg("%.40s: %s", text, err);
	return len;
}

static void test_peer_algorithms(void **state)
{
	(void)state;
	const char *a[] = {"192.0.2.2", "192.0.2.1"}, *other[] = {"192.0.2.1", "192.0.2.3"};
	for (size_t i = 0; i < sizeof(peer_keys) / sizeof(peer_keys[0]); i++) {
		char err[256];
		uint8_t rd[DNSSEC_DNSKEY_MAX], back[DNSSEC_DNSKEY_MAX], sig[DNSSEC_RRSIG_MAX];
		size_t kl = text_rdata(RR_DNSKEY, peer_keys[i].dnskey, rd, sizeof(rd));
		size_t sl = text_rdata(RR_RRSIG, peer_keys[i].rrsig, sig, sizeof(sig));
		struct dnssec_key *k = NULL;
		if (dnssec_key_from_dnskey(rd, kl, &k, err, sizeof(err)) != 0)
			fail_msg("algorithm %u: %s", peer_keys[i].alg, err);
		assert_int_equal(dnssec_key_alg(k), peer_keys[i].alg);
		assert_int_equal(dnssec_key_tag(k), peer_keys[i].tag);
		assert_int_equal(dnssec_keytag(rd, kl), peer_keys[i].tag);
		assert_false(dnssec_key_private(k));
		assert_int_equal(dnssec_key_dnskey(k, back, sizeof(back)), (int)kl);
		assert_memory_equal(back, rd, kl);
		struct dnssec_rrsig f;
		assert_int_equal(dnssec_rrsig_parse(sig, sl, &f), 0);
		assert_int_equal(f.signature_len, peer_keys[i].sig_len);

		/* the peer's signature verifies, in any record order, at a time within it and with none */
		struct set s;
		struct dnssec_rrset *set = set_make(&s, "www.example.net.", RR_A, 300, a, 2);
		if (verify(k, set, sig, sl, PEER_NOW, err, sizeof(err)) != 0)
			fail_msg("algorithm %u: %s", peer_keys[i].alg, err);
		assert_int_equal(verify(k, set, sig, sl, -1, err, sizeof(err)), 0);
		assert_int_equal(verify(k, set, sig, sl, 1700000000, err, sizeof(err)), TERN_EBOGUS);

		/* another RRset, a flipped bit anywhere in the signature or the signed fields: bogus */
		struct set o;
		assert_int_equal(
		    verify(k, set_make(&o, "www.example.net.", RR_A, 3600, other, 2), sig, sl, -1, err, sizeof(err)),
		    TERN_EBOGUS);
		assert_non_null(strstr(err, "does not verify"));
		size_t flips[] = {sl - 1, sl - f.signature_len, sl - f.signature_len / 2, 4 /* original TTL */};
		for (size_t j = 0; j < sizeof(flips) / sizeof(flips[0]); j++) {
			sig[flips[j]] ^= 0x10;
			if (verify(k, set, sig, sl, -1, err, sizeof(err)) != TERN_EBOGUS)
				fail_msg("algorithm %u: octet %zu flipped still verifies", peer_keys[i].alg, flips[j]);
			sig[flips[j]] ^= 0x10;
		}

		/* a signature one octet short or long is refused for its length */
		assert_int_equal(verify(k, set, sig, sl - 1, -1, err, sizeof(err)), TERN_EBOGUS);
		if (!strstr(err, "octets: key"))
			fail_msg("algorithm %u: '%s'", peer_keys[i].alg, err);
		sig[sl] = 0;
		assert_int_equal(verify(k, set, sig, sl + 1, -1, err, sizeof(err)), TERN_EBOGUS);
		assert_non_null(strstr(err, "octets: key"));
		assert_int_equal(verify(k, set, sig, sl, -1, err, sizeof(err)), 0);
		dnssec_key_free(k);
	}
}

/* DS digests of the peers' keys as dnssec-dsfromkey -1 and -a SHA-384 print them: SHA-1 is
 * computed to validate (RFC 8624 3.3: MUST validate) and still never made. */
static void test_peer_ds(void **state)
{
	(void)state;
	static const struct {
		size_t key;
		uint8_t digest;
		const char *ds;
	} cases[] = {
	    {0, 1, "36749 5 1 407AD6E94311558021EDA8707365C8DD5E18E253"},
	    {0, 4,
	     "36749 5 4 EF9F0030088A6112F5DC11275C469A47CA623D9286D1D9D5AB6ADC838DB318880CCB85C0D47F4F8553E6FDBA"
	     "805B8483"},
	    {1, 1, "40154 8 1 58133AAF2D6CEC292740D18E35A20CFADFE0E1E3"},
	    {1, 4,
	     "40154 8 4 FC10D8C3F01807D74C1A1B9D86DF14D53D40FBB8C2A7BA2C643290BE797282EEEBDECC979F6CA49149701D63"
	     "6598D999"},
	    {3, 1, "53235 14 1 B5F386F56B9A8784E215F0115352D8F53861A4EE"},
	    {3, 4,
	     "53235 14 4 29CF18A9CD5843BE00F5817538472534917601D132308CE388719923BC7A438BDBA9B6958AB8E841F8527B2D"
	     "F02A499F"},
	};
	uint8_t owner[NAME_MAXLEN];
	wname("example.net.", owner);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256];
		uint8_t rd[DNSSEC_DNSKEY_MAX], want[DNSSEC_DS_MAX], got[DNSSEC_DS_MAX];
		size_t kl = text_rdata(RR_DNSKEY, peer_keys[cases[i].key].dnskey, rd, sizeof(rd));
		size_t wl = text_rdata(RR_DS, cases[i].ds, want, sizeof(want));
		int n = dnssec_ds_validate(owner, rd, kl, cases[i].digest, got, sizeof(got), err, sizeof(err));
		assert_int_equal(n, (int)wl);
		assert_memory_equal(got, want, wl);
		if (cases[i].digest == 1) {
			assert_int_equal(dnssec_ds(owner, rd, kl, 1, got, sizeof(got), err, sizeof(err)), TERN_EINVAL);
			assert_non_null(strstr(err, "SHA-1"));
		} else {
			assert_int_equal(dnssec_ds(owner, rd, kl, cases[i].digest, got, sizeof(got), err, sizeof(err)),
			                 n);
		}
	}
	uint8_t rd[DNSSEC_DNSKEY_MAX], ds[DNSSEC_DS_MAX];
	char err[256];
	size_t kl = text_rdata(RR_DNSKEY, peer_keys[1].dnskey, rd, sizeof(rd));
	assert_int_equal(dnssec_ds_validate(owner, rd, kl, 3, ds, sizeof(ds), err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(dnssec_ds_validate(owner, rd, kl, 5, ds, sizeof(ds), err, sizeof(err)), TERN_EINVAL);
}

/* DNSKEY RDATA that dnssec_key_from_dnskey() refuses with rc and an error saying says. */
static void key_refused(const uint8_t *rd, size_t len, int rc, const char *says)
{
	char err[256] = "";
	struct dnssec_key *k = (struct dnssec_key *)1;
	assert_int_equal(dnssec_key_from_dnskey(rd, len, &k, err, sizeof(err)), rc);
	assert_null(k);
	if (!strstr(err, says))
		fail_msg("'%s' lacks '%s'", err, says);
}

/* RFC 3110 2's key field: both exponent length forms, and every way it can be wrong. */
static void test_rsa_key_field(void **state)
{
	(void)state;
	char err[256];
	struct dnssec_key *k = NULL;
	uint8_t rd[DNSSEC_DNSKEY_MAX + 8], alt[DNSSEC_DNSKEY_MAX + 8];
	size_t kl = text_rdata(RR_DNSKEY, peer_keys[1].dnskey, rd, sizeof(rd));
	assert_int_equal(rd[4], 3); /* BIND writes the one-octet form: 3, then 65537 */
	size_t mod = kl - 8;
	assert_int_equal(mod, 256);

	/* the same key with the exponent's length as 0 then two octets */
	memcpy(alt, rd, 4);
	alt[4] = 0;
	alt[5] = 0;
	alt[6] = 3;
	memcpy(alt + 7, rd + 5, kl - 5);
	assert_int_equal(dnssec_key_from_dnskey(alt, kl + 2, &k, err, sizeof(err)), 0);
	uint8_t back[DNSSEC_DNSKEY_MAX];
	assert_int_equal(dnssec_key_dnskey(k, back, sizeof(back)), (int)kl + 2);
	assert_memory_equal(back, alt, kl + 2);
	assert_int_equal(dnssec_key_tag(k), dnssec_keytag(alt, kl + 2));
	dnssec_key_free(k);

	/* a 512-bit key ldns-keygen -a RSASHA256 -b 512 made is refused by its size */
	uint8_t small[DNSSEC_DNSKEY_MAX];
	size_t sk =
	    text_rdata(RR_DNSKEY,
	               "256 3 8 AwEAAb3pJExgsXWqEZsnseFUxzySdHK9XpA3x5Xy8EwDBd/C19E5NrtiPgQlzq1V4wmlRoS8vvYRne343B4z"
	               "kt0mfFc=",
	               small, sizeof(small));
	k = (struct dnssec_key *)1;
	assert_int_equal(dnssec_key_from_dnskey(small, sk, &k, err, sizeof(err)), TERN_EINVAL);
	assert_null(k);
	assert_non_null(strstr(err, "RSA modulus of 512 bits (must be 1024 to 4096)"));

	/* exponent length 0, in either form */
	memcpy(alt, rd, kl);
	alt[4] = 0;
	alt[5] = 0;
	alt[6] = 0;
	key_refused(alt, kl, TERN_EMALF, "RSA exponent length 0");
	assert_int_equal(dnssec_key_from_dnskey(alt, 5, &k, err, sizeof(err)), TERN_EMALF);
	assert_non_null(strstr(err, "ends in the exponent length"));
	/* an exponent that runs to the end or past it: no modulus */
	memcpy(alt, rd, kl);
	alt[4] = 255;
	key_refused(alt, 4 + 1 + 255, TERN_EMALF, "RSA exponent of 255 octets leaves no modulus");
	alt[4] = 255;
	assert_int_equal(dnssec_key_from_dnskey(alt, 40, &k, err, sizeof(err)), TERN_EMALF);
	/* leading zero octets (RFC 3110 2 prohibits them) */
	memcpy(alt, rd, 5);
	alt[4] = 4;
	alt[5] = 0;
	memcpy(alt + 6, rd + 5, kl - 5);
	key_refused(alt, kl + 1, TERN_EMALF, "RSA exponent has a leading zero octet");
	memcpy(alt, rd, 8);
	alt[8] = 0;
	memcpy(alt + 9, rd + 8, mod);
	assert_int_equal(dnssec_key_from_dnskey(alt, kl + 1, &k, err, sizeof(err)), TERN_EMALF);
	assert_non_null(strstr(err, "RSA modulus has a leading zero octet"));
	/* a modulus of 4097 bits, and one of 4096 (a synthetic odd number; it parses) */
	memcpy(alt, rd, 8);
	alt[8] = 1;
	memset(alt + 9, 0xA5, 512);
	assert_int_equal(dnssec_key_from_dnskey(alt, 8 + 513, &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "RSA modulus of 4097 bits"));
	memcpy(alt + 1, rd, 8);
	assert_int_equal(dnssec_key_from_dnskey(alt + 1, 8 + 512, &k, err, sizeof(err)), 0);
	assert_int_equal(dnssec_key_dnskey(k, back, sizeof(back)), 8 + 512);
	dnssec_key_free(k);
	/* an exponent not below the modulus, and a long one with a modulus over 3072 bits */
	memcpy(alt, rd, 4);
	alt[4] = (uint8_t)(mod - 128);
	memset(alt + 5, 0xFF, mod - 128);
	memset(alt + 5 + mod - 128, 0x80, mod - 128);
	assert_int_equal(dnssec_key_from_dnskey(alt, 5 + 2 * (mod - 128), &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "not below the modulus"));
	memcpy(alt, rd, 4);
	alt[4] = 9;
	memset(alt + 5, 0x01, 9);
	memset(alt + 14, 0xA5, 400);
	assert_int_equal(dnssec_key_from_dnskey(alt, 14 + 400, &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "with a modulus over 3072 bits"));

	/* P-384: the exact size, and a point on the curve */
	kl = text_rdata(RR_DNSKEY, peer_keys[3].dnskey, rd, sizeof(rd));
	assert_int_equal(kl, 4 + 96);
	assert_int_equal(dnssec_key_from_dnskey(rd, kl - 1, &k, err, sizeof(err)), TERN_EMALF);
	assert_non_null(strstr(err, "public key of 95 octets (must be 96)"));
	rd[kl - 1] ^= 1;
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "not a valid ECDSAP384SHA384 key"));
}

/* ---- hostile input ---- */

static void test_bad_dnskey(void **state)
{
	(void)state;
	char err[256];
	struct dnssec_key *k;
	uint8_t rd[DNSSEC_DNSKEY_MAX + 1];
	size_t kl = r6605_dnskey(rd);
	assert_int_equal(dnssec_key_from_dnskey(rd, 3, &k, err, sizeof(err)), TERN_EMALF);
	assert_int_equal(dnssec_key_from_dnskey(rd, kl - 1, &k, err, sizeof(err)), TERN_EMALF);
	assert_non_null(strstr(err, "public key of 63 octets (must be 64)"));
	assert_int_equal(dnssec_key_from_dnskey(rd, kl + 1, &k, err, sizeof(err)), TERN_EMALF);
	rd[2] = 2;
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "protocol 2"));
	rd[2] = 3;
	rd[kl - 1] ^= 1; /* Y no longer on the curve */
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &k, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "not a valid ECDSAP256SHA256 key"));
	memset(rd + 4, 0, 64); /* the point at infinity's encoding is not a point either */
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &k, err, sizeof(err)), TERN_EINVAL);
	uint8_t ed[36] = {1, 1, 3, 15};
	assert_int_equal(dnssec_key_from_dnskey(ed, 35, &k, err, sizeof(err)), TERN_EMALF);

	/* a key without the zone flag verifies nothing (RFC 4034 2.1.1) */
	kl = r6605_dnskey(rd);
	rd[0] = 0;
	assert_int_equal(dnssec_key_from_dnskey(rd, kl, &k, err, sizeof(err)), 0);
	uint8_t sig[DNSSEC_RRSIG_MAX];
	size_t sl = rrsig_make(sig, RR_A, 13, 3, 3600, R6605_EXP, R6605_INC, (uint16_t)dnssec_key_tag(k),
	                       "example.net.", R6605_SIG);
	struct set s;
	const char *a[] = {"192.0.2.1"};
	assert_int_equal(verify(k, set_make(&s, "www.example.net.", RR_A, 3600, a, 1), sig, sl, -1, err, sizeof(err)),
	                 TERN_EBOGUS);
	assert_non_null(strstr(err, "zone flag"));
	dnssec_key_free(k);
	assert_int_equal(dnssec_keytag(rd, 3), TERN_EMALF);
}

static void test_bad_pem(void **state)
{
	(void)state;
	char err[256];
	struct dnssec_key *k;
	const char *garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	assert_int_equal(dnssec_key_from_pem(garbage, strlen(garbage), DNSSEC_ZSK, &k, err, sizeof(err)), TERN_EINVAL);
	assert_null(k);
	assert_int_equal(dnssec_key_from_pem("", 0, DNSSEC_ZSK, &k, err, sizeof(err)), TERN_EINVAL);
	char *big = calloc(1, DNSSEC_PEM_MAX + 2);
	memset(big, 'A', DNSSEC_PEM_MAX + 1);
	assert_int_equal(dnssec_key_from_pem(big, DNSSEC_PEM_MAX + 1, DNSSEC_ZSK, &k, err, sizeof(err)), TERN_EINVAL);
	free(big);

	/* a truncated key */
	struct dnssec_key *g = key_gen(13, DNSSEC_ZSK);
	char *pem;
	size_t len;
	assert_int_equal(dnssec_key_to_pem(g, &pem, &len, err, sizeof(err)), 0);
	assert_int_equal(dnssec_key_from_pem(pem, len / 2, DNSSEC_ZSK, &k, err, sizeof(err)), TERN_EINVAL);
	assert_int_equal(dnssec_key_from_pem(pem, len, 0, &k, err, sizeof(err)), TERN_EINVAL); /* bad flags */
	dnssec_pem_free(pem, len);
	dnssec_key_free(g);

	/* keys of other kinds: RSA, P-384, an encrypted key (refused without a prompt) */
	EVP_PKEY *others[3] = {EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024),
	                       EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")};
	const char *says[3] = {"a RSA key", "an EC key on curve secp384r1", "not an unencrypted PEM private key"};
	for (int i = 0; i < 3; i++) {
		assert_non_null(others[i]);
		BIO *bio = BIO_new(BIO_s_mem());
		if (i == 2)
			assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, others[i], EVP_aes_256_cbc(), NULL, 0, NULL,
			                                               (void *)"secret"),
			                 1);
		else
			assert_int_equal(PEM_write_bio_PrivateKey(bio, others[i], NULL, NULL, 0, NULL, NULL), 1);
		char *data;
		long n = BIO_get_mem_data(bio, &data);
		k = (struct dnssec_key *)1;
		assert_int_equal(dnssec_key_from_pem(data, (size_t)n, DNSSEC_ZSK, &k, err, sizeof(err)), TERN_EINVAL);
		assert_null(k);
		if (!strstr(err, says[i]))
			fail_msg("'%s' lacks '%s'", err, says[i]);
		BIO_free(bio);
		EVP_PKEY_free(others[i]);
	}
}

static void test_bad_rrset(void **state)
{
	(void)state;
	struct dnssec_key *k = key_gen(15, DNSSEC_ZSK);
	struct dnssec_scratch sc;
	dnssec_scratch_init(&sc);
	uint8_t sig[DNSSEC_RRSIG_MAX], apex[NAME_MAXLEN], other[NAME_MAXLEN];
	char err[256];
	wname("example.", apex);
	struct set s;
	const char *a[] = {"192.0.2.1", "192.0.2.2"};
	struct dnssec_rrset *set = set_make(&s, "www.example.", RR_A, 60, a, 2);
	struct dnssec_rrset good = *set;
#define SIGN(r) dnssec_sign(k, (r), apex, 1000, 2000, &sc, sig, sizeof(sig), err, sizeof(err))
	assert_true(SIGN(set) > 0);

	set->rdata_size--; /* the last record runs past the end */
	assert_int_equal(SIGN(set), TERN_EMALF);
	assert_non_null(strstr(err, "record 2 runs past"));
	*set = good;
	set->count = 1; /* octets left over */
	assert_int_equal(SIGN(set), TERN_EMALF);
	assert_non_null(strstr(err, "octets after"));
	*set = good;
	set->count = 3;
	assert_int_equal(SIGN(set), TERN_EMALF);
	*set = good;
	set->count = 0;
	assert_int_equal(SIGN(set), TERN_EINVAL);
	assert_non_null(strstr(err, "empty"));
	*set = good;
	s.rdata[1] = 3; /* an A record of 3 octets: malformed for its type */
	set->rdata_size = 2 + 3;
	set->count = 1;
	assert_int_equal(SIGN(set), TERN_EMALF);
	assert_non_null(strstr(err, "malformed"));
	s.rdata[1] = 4;
	*set = good;
	set->type = RR_RRSIG;
	assert_int_equal(SIGN(set), TERN_EINVAL);
	assert_non_null(strstr(err, "RRSIG records are not signed"));
	set->type = RR_OPT;
	assert_int_equal(SIGN(set), TERN_EINVAL);
	*set = good;
	uint8_t badname[NAME_MAXLEN] = {64}; /* a label longer than 63 */
	set->owner = badname;
	assert_int_equal(SIGN(set), TERN_ENAME);
	*set = good;

	/* the signer must be the owner's zone; the times in order; room for the RRSIG */
	assert_int_equal(
	    dnssec_sign(k, set, wname("other.", other), 1000, 2000, &sc, sig, sizeof(sig), err, sizeof(err)),
	    TERN_EINVAL);
	assert_non_null(strstr(err, "not at or below the signer"));
	assert_int_equal(dnssec_sign(k, set, badname, 1000, 2000, &sc, sig, sizeof(sig), err, sizeof(err)), TERN_ENAME);
	assert_int_equal(dnssec_sign(k, set, apex, 2000, 2000, &sc, sig, sizeof(sig), err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "not after its inception"));
	assert_true(dnssec_sign(k, set, apex, 0xFFFFFF00u, 100, &sc, sig, sizeof(sig), err, sizeof(err)) >
	            0); /* wraps */
	assert_int_equal(dnssec_sign(k, set, apex, 1000, 2000, &sc, sig, 18 + 9 + 63, err, sizeof(err)), TERN_ESPACE);

	/* verification of a malformed RRSIG, or one about something else */
	int n = SIGN(set);
	assert_true(n > 0);
	assert_int_equal(verify(k, set, sig, 18, -1, err, sizeof(err)), TERN_EMALF);
	assert_int_equal(verify(k, set, sig, 18 + 9, -1, err, sizeof(err)), TERN_EMALF); /* no signature */
	assert_int_equal(verify(k, set, sig, (size_t)n - 1, -1, err, sizeof(err)), TERN_EBOGUS); /* 63 octets */
	sig[1] = RR_AAAA;
	assert_int_equal(verify(k, set, sig, (size_t)n, -1, err, sizeof(err)), TERN_EBOGUS);
	assert_non_null(strstr(err, "covers AAAA, not A"));
	sig[1] = RR_A;
	sig[17] ^= 1;
	assert_int_equal(verify(k, set, sig, (size_t)n, -1, err, sizeof(err)), TERN_EBOGUS);
	sig[17] ^= 1;
	sig[2] = 13;
	assert_int_equal(verify(k, set, sig, (size_t)n, -1, err, sizeof(err)), TERN_EBOGUS);
	sig[2] = 15;
	set_make(&s, "www.other.", RR_A, 60, a, 2);
	assert_int_equal(verify(k, set, sig, (size_t)n, -1, err, sizeof(err)), TERN_EBOGUS);
	assert_non_null(strstr(err, "signer"));
	set_make(&s, "www.example.", RR_A, 60, a, 2);
	assert_int_equal(verify(k, set, sig, (size_t)n, -1, err, sizeof(err)), 0);
#undef SIGN
	dnssec_scratch_free(&sc);
	dnssec_key_free(k);
}

/* One scratch signs for many keys in turn, keys freed and made between: it keeps the signing
 * contexts of the last two keys (each holding its key, so a new key never passes for a freed one),
 * and every signature verifies with its own key and no other. */
static void test_scratch_reuse_across_keys(void **state)
{
	(void)state;
	static const uint8_t rd[] = {0, 4, 192, 0, 2, 1};
	uint8_t owner[NAME_MAXLEN], sig[DNSSEC_RRSIG_MAX];
	struct dnssec_rrset set = {wname("www.example.", owner), RR_A, 300, 1, rd, sizeof(rd)};
	struct dnssec_scratch sc;
	char err[256];
	dnssec_scratch_init(&sc);
	struct dnssec_key *keys[3] = {NULL, NULL, NULL};
	for (int round = 0; round < 12; round++) {
		int slot = round % 3;
		if (round % 4 == 3) { /* a key goes and another comes, perhaps at the same address */
			dnssec_key_free(keys[slot]);
			keys[slot] = NULL;
		}
		if (!keys[slot])
			assert_int_equal(
			    dnssec_key_generate(round % 2 ? DNSSEC_ALG_ED25519 : DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_ZSK,
			                        &keys[slot], err, sizeof(err)),
			    0);
		for (int rep = 0; rep < 3; rep++) {
			uint8_t signer[NAME_MAXLEN];
			int n = dnssec_sign(keys[slot], &set, wname("example.", signer), 1, 2000000000u, &sc, sig,
			                    sizeof(sig), err, sizeof(err));
			assert_true(n > 0);
			assert_int_equal(verify(keys[slot], &set, sig, (size_t)n, -1, err, sizeof(err)), 0);
			for (int other = 0; other < 3; other++)
				if (other != slot && keys[other] &&
				    dnssec_key_alg(keys[other]) == dnssec_key_alg(keys[slot]))
					assert_int_not_equal(
					    verify(keys[other], &set, sig, (size_t)n, -1, err, sizeof(err)), 0);
		}
	}
	for (int i = 0; i < 3; i++)
		dnssec_key_free(keys[i]);
	dnssec_scratch_free(&sc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6605_key),    cmocka_unit_test(test_scratch_reuse_across_keys),
	    cmocka_unit_test(test_rfc6605_verify), cmocka_unit_test(test_rfc6605_sign),
	    cmocka_unit_test(test_rfc8080),        cmocka_unit_test(test_canonical_rdata),
	    cmocka_unit_test(test_canonical_set),  cmocka_unit_test(test_peer_vectors),
	    cmocka_unit_test(test_wildcard),       cmocka_unit_test(test_largest_rrset),
	    cmocka_unit_test(test_pem_round_trip), cmocka_unit_test(test_refused_algorithms),
	    cmocka_unit_test(test_bad_dnskey),     cmocka_unit_test(test_bad_pem),
	    cmocka_unit_test(test_bad_rrset),      cmocka_unit_test(test_peer_algorithms),
	    cmocka_unit_test(test_peer_ds),        cmocka_unit_test(test_rsa_key_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
