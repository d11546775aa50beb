/* lib/ds_answer: the DS query is what a parent expects (non-recursive, EDNS0), the answer is
 * checked (ID, QR, opcode, question, TC, RCODE, AA) and its DS records read, compressed owners
 * included; a DS matches a DNSKEY only with the same tag, algorithm, digest type and digest;
 * truncated and malformed answers are refused without reading past the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dnssec.h"
#include "lib/ds_answer.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

static uint8_t zone[NAME_MAXLEN];
static uint8_t dnskey[DNSSEC_DNSKEY_MAX], other[DNSSEC_DNSKEY_MAX];
static int dnskey_len, other_len;
static uint8_t ds256[DNSSEC_DS_MAX];
static int ds256_len;

static int setup(void **state)
{
	(void)state;
	char err[256];
	struct dnssec_key *k = NULL, *o = NULL;
	assert_true(name_from_text(zone, "corp.lab.", NULL) > 0);
	assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &k, err, sizeof(err)), 0);
	assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &o, err, sizeof(err)), 0);
	dnskey_len = dnssec_key_dnskey(k, dnskey, sizeof(dnskey));
	other_len = dnssec_key_dnskey(o, other, sizeof(other));
	assert_true(dnskey_len > 0 && other_len > 0);
	ds256_len =
	    dnssec_ds(zone, dnskey, (size_t)dnskey_len, DNSSEC_DIGEST_SHA256, ds256, sizeof(ds256), err, sizeof(err));
	assert_int_equal(ds256_len, 36);
	dnssec_key_free(k);
	dnssec_key_free(o);
	return 0;
}

/* An answer to the query with id 7: flags, then the DS records given (owner compressed to the
 * question when ptr), an RRSIG-like record of another type before them. */
static size_t answer(uint8_t *m, uint16_t flags, const uint8_t *const *rd, const size_t *rdl, size_t n, bool ptr)
{
	int q = ds_query(zone, 7, m, 512);
	assert_true(q > 0);
	size_t len = (size_t)q - 11; /* the question, without the OPT */
	wire_put16(m + 2, (uint16_t)(flags | WIRE_QR));
	wire_put16(m + 6, (uint16_t)(n + 1));
	wire_put16(m + 10, 0);
	size_t zl = name_len(zone);
	/* a record of another type first */
	m[len++] = 0xc0;
	m[len++] = 12;
	wire_put16(m + len, RR_TXT);
	wire_put16(m + len + 2, RR_CLASS_IN);
	wire_put32(m + len + 4, 10);
	wire_put16(m + len + 8, 2);
	len += 10;
	m[len++] = 1;
	m[len++] = 'x';
	for (size_t i = 0; i < n; i++) {
		if (ptr) {
			m[len++] = 0xc0;
			m[len++] = 12;
		} else {
			memcpy(m + len, zone, zl);
			m[len + 1] = 'C'; /* any case */
			len += zl;
		}
		wire_put16(m + len, RR_DS);
		wire_put16(m + len + 2, RR_CLASS_IN);
		wire_put32(m + len + 4, 10);
		wire_put16(m + len + 8, (uint16_t)rdl[i]);
		len += 10;
		memcpy(m + len, rd[i], rdl[i]);
		len += rdl[i];
	}
	return len;
}

static void test_query(void **state)
{
	(void)state;
	uint8_t q[DS_QUERY_MAX];
	int n = ds_query(zone, 0x1234, q, sizeof(q));
	assert_int_equal(n, 12 + (int)name_len(zone) + 4 + 11);
	assert_int_equal(wire_get16(q), 0x1234);
	assert_int_equal(wire_get16(q + 2), 0); /* QUERY, RD clear */
	assert_int_equal(wire_get16(q + 4), 1);
	assert_int_equal(wire_get16(q + 10), 1);
	assert_int_equal(wire_get16(q + 12 + name_len(zone)), RR_DS);
	assert_int_equal(ds_query(zone, 1, q, 20), TERN_ESPACE);
}

static void test_answer_with_the_ds(void **state)
{
	(void)state;
	uint8_t m[1024];
	char err[256] = "";
	struct ds_answer a;
	uint8_t other_ds[DNSSEC_DS_MAX];
	int ol = dnssec_ds(zone, other, (size_t)other_len, DNSSEC_DIGEST_SHA384, other_ds, sizeof(other_ds), err,
	                   sizeof(err));
	assert_true(ol > 0);
	const uint8_t *rd[2] = {other_ds, ds256};
	size_t rdl[2] = {(size_t)ol, (size_t)ds256_len};
	for (int ptr = 0; ptr < 2; ptr++) {
		size_t len = answer(m, WIRE_AA, rd, rdl, 2, ptr);
		assert_int_equal(ds_answer_parse(m, len, zone, 7, &a, err, sizeof(err)), 0);
		assert_true(a.n == 2 && a.total == 2 && !a.truncated && a.rcode == RCODE_NOERROR);
		assert_true(ds_answer_has(&a, zone, dnskey, (size_t)dnskey_len));
		assert_true(ds_answer_has(&a, zone, other, (size_t)other_len));
	}
	/* only the other key's DS: not ours; a DS with our tag but a wrong digest: not ours either */
	size_t len = answer(m, WIRE_AA, rd, rdl, 1, true);
	assert_int_equal(ds_answer_parse(m, len, zone, 7, &a, err, sizeof(err)), 0);
	assert_false(ds_answer_has(&a, zone, dnskey, (size_t)dnskey_len));
	uint8_t forged[DNSSEC_DS_MAX];
	memcpy(forged, ds256, (size_t)ds256_len);
	forged[ds256_len - 1] ^= 1;
	const uint8_t *frd[1] = {forged};
	len = answer(m, WIRE_AA, frd, &rdl[1], 1, true);
	assert_int_equal(ds_answer_parse(m, len, zone, 7, &a, err, sizeof(err)), 0);
	assert_false(ds_answer_has(&a, zone, dnskey, (size_t)dnskey_len));
	/* NXDOMAIN, authoritative: no DS */
	len = answer(m, WIRE_AA | RCODE_NXDOMAIN, NULL, NULL, 0, true);
	assert_int_equal(ds_answer_parse(m, len, zone, 7, &a, err, sizeof(err)), 0);
	assert_true(a.n == 0 && a.rcode == RCODE_NXDOMAIN);
}

static void refused(const uint8_t *m, size_t len, uint16_t id, int code, const char *why)
{
	char err[256] = "";
	struct ds_answer a;
	assert_int_equal(ds_answer_parse(m, len, zone, id, &a, err, sizeof(err)), code);
	if (!strstr(err, why))
		fail_msg("expected ...%s..., got %s", why, err);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t m[1024];
	const uint8_t *rd[1] = {ds256};
	size_t rdl[1] = {(size_t)ds256_len};
	size_t len = answer(m, WIRE_AA, rd, rdl, 1, true);
	refused(m, len, 8, TERN_EINVAL, "ID");
	refused(m, 11, 7, TERN_EMALF, "header");
	for (size_t cut = 12; cut < len; cut++) { /* every truncation is malformed, never read past */
		char err[256];
		struct ds_answer a;
		assert_true(ds_answer_parse(m, cut, zone, 7, &a, err, sizeof(err)) < 0);
	}
	len = answer(m, 0, rd, rdl, 1, true);
	refused(m, len, 7, TERN_EINVAL, "AA clear");
	len = answer(m, WIRE_AA | RCODE_SERVFAIL, rd, rdl, 1, true);
	refused(m, len, 7, TERN_EINVAL, "RCODE 2");
	len = answer(m, WIRE_AA, rd, rdl, 1, true);
	wire_put16(m + 2, WIRE_AA); /* QR clear */
	refused(m, len, 7, TERN_EINVAL, "not a response");
	len = answer(m, WIRE_AA, rd, rdl, 1, true);
	m[13] = 'x'; /* another question name */
	refused(m, len, 7, TERN_EINVAL, "question");
	len = answer(m, WIRE_AA, rd, rdl, 1, true);
	wire_put16(m + len - ds256_len - 2, 200); /* RDLENGTH past the end */
	refused(m, len, 7, TERN_EMALF, "past the message");
	size_t tiny = 3;
	len = answer(m, WIRE_AA, rd, &tiny, 1, true);
	refused(m, len, 7, TERN_EMALF, "DS RDATA of 3");
	/* TC: truncated, nothing else read (not even AA) */
	char err[256];
	struct ds_answer a;
	len = answer(m, WIRE_TC, rd, rdl, 1, true);
	assert_int_equal(ds_answer_parse(m, len, zone, 7, &a, err, sizeof(err)), 0);
	assert_true(a.truncated && a.n == 0);
	/* a compression loop in an owner */
	len = answer(m, WIRE_AA, rd, rdl, 1, true);
	size_t at = len - ds256_len - 12;
	m[at] = 0xc0;
	m[at + 1] = (uint8_t)at;
	refused(m, len, 7, TERN_EMALF, "malformed answer record 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_query),
	    cmocka_unit_test(test_answer_with_the_ds),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
