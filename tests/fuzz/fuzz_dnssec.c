/* libFuzzer harness for lib/dnssec: rr_rdata_canonical(), dnssec_key_from_dnskey(),
 * dnssec_rrsig_parse(), and dnssec_sign()/dnssec_verify() on RRsets decoded from the input.
 * Input: [flags][type: 2 octets][count] then count records as [length][bytes], then the tail,
 * read as DNSKEY RDATA and as RRSIG RDATA. flags bit 0: owner "*.w.example." (else
 * "www.example."); bit 1: sign with the P-256 key (else Ed25519). The tail is also verified as an
 * RRSIG with two public keys another signer made (RSA and P-384), so seeds signed by it reach the
 * RSA and P-384 verification. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"

static struct dnssec_key *keys[2], *peers[2];

/* The KSKs of a zone example. BIND 9.18 signed (dnssec-keygen -a RSASHA256 -b 2048 -f KSK, -a
 * ECDSAP384SHA384 -f KSK; gen_corpus.py's gen_dnssec() writes their RRSIGs as seeds): flags 257,
 * protocol 3, algorithm, then the public key in base64. */
static const struct {
	uint8_t alg;
	const char *key;
} peer_keys[2] = {
    {DNSSEC_ALG_RSASHA256,
     "AwEAAdJoR9cuux3FaX3pyxe4wl/4irfkjGeq++CqpcXgy/kKFaF/ufKd0vRZEiIVt8vcsjhOI7LjCOVXxT48kvlo9OYq"
     "dUsxqKL4GZrUmVwuu0/ZsrSbVWYehWwLkcCdA6sLz24iBOCDW8x9a8LNfYD2fdTxC+JCCu4Br+G/de6UB16V9NLbaoev"
     "kwFKTat6Tj0iffVzXNVu7POyAldbJE6cJPdaBvUmVJQNoQuLgA3IdfAojZx/mzjFqZkd/FipvqlhbbySCht8luenRIH8"
     "MNE3O4VJIzU6EKr5bco9fFaXqACP735SvbHHysQxnt+l9ZbKpI/vhTJny3t2OxPoR2rCXT0="},
    {DNSSEC_ALG_ECDSAP384SHA384,
     "AV83znPQ4kDshwlUtvheofhv6iycgAKlmy/uv38Lc07d/j+FQfrtKJmNsjHHuN95uyc2P6TosvlfNYaaCAejU5jNecLc"
     "SQATApfYiW5zj2Kf8TnB2Skqa1v2dHzSZ7Di"},
};
static struct dnssec_scratch scratch;
static uint8_t apex[NAME_MAXLEN], www[NAME_MAXLEN], wild[NAME_MAXLEN];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_dnssec: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[256];
	if (dnssec_key_generate(DNSSEC_ALG_ED25519, DNSSEC_ZSK, &keys[0], err, sizeof(err)) < 0 ||
	    dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_ZSK, &keys[1], err, sizeof(err)) < 0 ||
	    name_from_text(apex, "example.", NULL) < 0 || name_from_text(www, "www.example.", NULL) < 0 ||
	    name_from_text(wild, "*.w.example.", NULL) < 0)
		abort();
	for (int i = 0; i < 2; i++) {
		uint8_t rd[DNSSEC_DNSKEY_MAX] = {1, 1, 3, peer_keys[i].alg};
		size_t n = 0;
		struct b64_error e;
		if (b64_decode(peer_keys[i].key, strlen(peer_keys[i].key), B64_PADDED, rd + 4, sizeof(rd) - 4, &n, &e) <
		        0 ||
		    dnssec_key_from_dnskey(rd, 4 + n, &peers[i], err, sizeof(err)) < 0)
			abort();
	}
	dnssec_scratch_init(&scratch);
	return 0;
}

/* An error: a negative code with a NUL-terminated, non-empty message. */
static void check_error(int rc, const char *err, size_t errlen)
{
	if (rc >= 0)
		fail("an error path returned no error");
	if (!memchr(err, '\0', errlen) || err[0] == '\0')
		fail("an error without a message");
}

static void check_canonical(uint16_t type, const uint8_t *rd, uint16_t len)
{
	uint8_t *a = malloc(len ? len : 1), *b = malloc(len ? len : 1);
	if (!a || !b)
		abort();
	rr_rdata_canonical(type, rd, len, a);
	rr_rdata_canonical(type, a, len, b);
	if (len && memcmp(a, b, len) != 0)
		fail("canonical RDATA is not stable");
	if (rr_rdata_check(type, rd, len) == 0 && rr_rdata_check(type, a, len) != 0)
		fail("canonical RDATA is no longer well formed");
	for (uint16_t i = 0; i < len; i++) /* lower-casing only: every octet equal up to ASCII case */
		if (a[i] != rd[i] && !(rd[i] >= 'A' && rd[i] <= 'Z' && a[i] == rd[i] + 32))
			fail("canonical RDATA changed more than case");
	free(a);
	free(b);
}

static void check_tail(const uint8_t *tail, size_t len)
{
	char err[256] = "";
	struct dnssec_key *k = NULL;
	int rc = dnssec_key_from_dnskey(tail, len, &k, err, sizeof(err));
	if (rc == 0) {
		uint8_t rd[DNSSEC_DNSKEY_MAX];
		int n = dnssec_key_dnskey(k, rd, sizeof(rd));
		if (n < 0 || (size_t)n != len || memcmp(rd, tail, len) != 0)
			fail("a DNSKEY read does not write back the same");
		if (dnssec_key_tag(k) != dnssec_keytag(tail, len) || dnssec_key_private(k))
			fail("a DNSKEY read has another tag, or a private key");
		dnssec_key_free(k);
	} else {
		check_error(rc, err, sizeof(err));
		if (k)
			fail("a refused DNSKEY still gave a key");
	}
	struct dnssec_rrsig r;
	if (dnssec_rrsig_parse(tail, len, &r) == 0 &&
	    (DNSSEC_RRSIG_FIXED + (size_t)r.signer_len + r.signature_len != len || r.signature_len == 0 ||
	     name_len(r.signer) != r.signer_len))
		fail("RRSIG fields do not add up");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint8_t flags = data[0];
	uint16_t type = (uint16_t)(data[1] << 8 | data[2]);
	unsigned count = data[3];
	size_t pos = 4;
	/* the records, in the rrset layout, and again in reverse order */
	static uint8_t rdata[256 * 257], reversed[256 * 257];
	size_t rsize = 0, offs[256], lens[256];
	unsigned n = 0;
	while (n < count && pos < size) {
		size_t l = data[pos++];
		if (l > size - pos)
			l = size - pos;
		check_canonical(type, data + pos, (uint16_t)l);
		offs[n] = rsize;
		lens[n] = l;
		rdata[rsize] = 0;
		rdata[rsize + 1] = (uint8_t)l;
		memcpy(rdata + rsize + 2, data + pos, l);
		rsize += 2 + l;
		pos += l;
		n++;
	}
	size_t rpos = 0;
	for (unsigned i = n; i-- > 0;) {
		memcpy(reversed + rpos, rdata + offs[i], 2 + lens[i]);
		rpos += 2 + lens[i];
	}
	check_tail(data + pos, size - pos);

	const struct dnssec_key *k = keys[(flags >> 1) & 1];
	struct dnssec_rrset set = {(flags & 1) ? wild : www, type, 300, (uint16_t)n, rdata, rsize};
	uint8_t sig[DNSSEC_RRSIG_MAX];
	char err[512] = "";
	int len = dnssec_sign(k, &set, apex, 1000, 2000, &scratch, sig, sizeof(sig), err, sizeof(err));
	if (len < 0) {
		check_error(len, err, sizeof(err));
		if (len != TERN_EINVAL && len != TERN_EMALF)
			fail("signing failed with an unexpected code");
	} else {
		if (dnssec_verify(k, &set, sig, (size_t)len, 1500, &scratch, err, sizeof(err)) != 0)
			fail("a signature made does not verify");
		struct dnssec_rrset rev = set;
		rev.rdata = reversed;
		if (dnssec_verify(k, &rev, sig, (size_t)len, -1, &scratch, err, sizeof(err)) != 0)
			fail("the same records in another order do not verify");
		if (dnssec_verify(k, &set, sig, (size_t)len, 2001, &scratch, err, sizeof(err)) != TERN_EBOGUS)
			fail("an expired signature verifies");
	}
	/* the tail as an RRSIG over the set never validates (it would be a forgery) */
	int rc = dnssec_verify(k, &set, data + pos, size - pos, -1, &scratch, err, sizeof(err));
	if (rc == 0)
		fail("an RRSIG from the input validates");
	check_error(rc, err, sizeof(err));

	/* and with the peers' keys: only their own signatures verify (the seeds), and the same way twice */
	struct dnssec_rrsig r;
	for (int i = 0; i < 2; i++) {
		rc = dnssec_verify(peers[i], &set, data + pos, size - pos, -1, &scratch, err, sizeof(err));
		if (rc == 0 && (dnssec_rrsig_parse(data + pos, size - pos, &r) < 0 || r.alg != peer_keys[i].alg ||
		                r.key_tag != dnssec_key_tag(peers[i]) || !name_equal(r.signer, apex)))
			fail("an RRSIG not by the peer's key validates with it");
		if (rc < 0)
			check_error(rc, err, sizeof(err));
		if (dnssec_verify(peers[i], &set, data + pos, size - pos, -1, &scratch, err, sizeof(err)) != rc)
			fail("verifying twice gave two answers");
	}
	return 0;
}
