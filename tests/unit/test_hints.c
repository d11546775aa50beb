/* Unit tests for lib/hints_time.c: the _in-tree TXT value's RFC 3339 date-time (each refusal names
 * its field) and the character-strings of TXT RDATA; lib/hints_chain.c's root anchor file; and
 * lib/hints_ta.c's RFC 5011 steps over DNSKEY sets signed here. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/check.h"
#include "lib/dnssec.h"
#include "lib/error.h"
#include "lib/hints.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"

static void test_time_accepted(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		long long at;
	} ok[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2027-01-31T12:00:00Z", 1801396800},
	    {"2027-01-31t12:00:00z", 1801396800},
	    {"2027-01-31T13:30:00+01:30", 1801396800},
	    {"2027-01-31T10:00:00.999-02:00", 1801396800},
	    {"2028-02-29T00:00:00Z", 1835395200},
	    {"2016-12-31T23:59:60Z", 1483228800}, /* a leap second: the next second's start */
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		long long at = -1;
		char err[256] = "";
		assert_int_equal(hints_time_parse(ok[i].text, strlen(ok[i].text), &at, err, sizeof(err)), 0);
		assert_int_equal(at, ok[i].at);
	}
}

static void test_time_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text, *says;
	} bad[] = {
	    {"2027-13-01", "month 13"},
	    {"2027-00-10T00:00:00Z", "month 00"},
	    {"2027-02-29T00:00:00Z", "day 29 out of 01-28"},
	    {"2027-04-31T00:00:00Z", "day 31 out of 01-30"},
	    {"2027-01-01", "without a time"},
	    {"2027-01-01T00:00:00", "no time zone"},
	    {"2027-01-01 00:00:00Z", "THH:MM:SS"},
	    {"2027-01-01T24:00:00Z", "out of range"},
	    {"2027-01-01T00:00:00+24:00", "offset"},
	    {"2027-01-01T00:00:00.Z", "fraction"},
	    {"2027-01-01T00:00:00Z ", "after the date-time"},
	    {"27-01-01T00:00:00Z", "YYYY-MM-DD"},
	    {"", "YYYY-MM-DD"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long at = 42;
		char err[256] = "";
		assert_int_equal(hints_time_parse(bad[i].text, strlen(bad[i].text), &at, err, sizeof(err)),
		                 TERN_EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].text, err, bad[i].says);
	}
	long long at;
	char err[256];
	assert_int_equal(hints_time_parse("2027-01-01T00:00:00Z\0", 21, &at, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

static void test_txt_strings(void **state)
{
	(void)state;
	char strs[4][256];
	size_t lens[4];
	static const uint8_t one[] = {3, 'a', 'b', 'c'}, two[] = {1, 'x', 0}, bad[] = {5, 'a'};
	assert_int_equal(hints_txt_strings(one, sizeof(one), strs, lens, 4), 1);
	assert_string_equal(strs[0], "abc");
	assert_int_equal(hints_txt_strings(two, sizeof(two), strs, lens, 4), 2);
	assert_int_equal(lens[1], 0);
	assert_int_equal(hints_txt_strings(bad, sizeof(bad), strs, lens, 4), TERN_EMALF);
	assert_int_equal(hints_txt_strings(one, 0, strs, lens, 4), 0);
}

static int anchor_from(const char *text, struct hints_anchor *a, char *err, size_t cap)
{
	char path[] = "/tmp/test_hints_anchorXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	int rc = hints_anchor_load(path, a, err, cap);
	unlink(path);
	return rc;
}

static void test_anchor_file(void **state)
{
	(void)state;
	struct hints_anchor *a = malloc(sizeof(*a));
	char err[300];
	assert_non_null(a);
	assert_int_equal(anchor_from("; the root\n. IN DS 20326 8 2 "
	                             "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
	                             ". 172800 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckH"
	                             "AeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== ; keytag\n\n",
	                             a, err, sizeof(err)),
	                 0);
	assert_int_equal(a->nds, 1);
	assert_int_equal(a->ndnskey, 1);
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"lab. IN DS 1 13 2 00\n", "line 1: owner lab."},
	    {"; nothing\n", "no DS or DNSKEY"},
	    {". IN A 192.0.2.1\n", "line 1: type A"},
	    {"\n. IN DS 1 13 2 zz\n", "line 2: DS RDATA"},
	    {".\n", "type (none)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(anchor_from(bad[i].text, a, err, sizeof(err)), TERN_EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: %s", bad[i].why, err);
	}
	assert_int_equal(hints_anchor_load("/nonexistent/root.key", a, err, sizeof(err)), TERN_EIO);
	free(a);
}

#define DOM "example.com."
#define NOW 1800000000LL

/* A DNSKEY set of keys (RDATA text in texts) in a's answer, signed by each of signers. */
static void make_set(struct check_answer *a, struct dnssec_key **keys, int nkeys, struct dnssec_key **signers,
                     int nsigners)
{
	memset(a, 0, sizeof(*a));
	a->ok = a->aa = true;
	uint8_t owner[NAME_MAXLEN], wire[256], buf[4096], sig[DNSSEC_RRSIG_MAX];
	assert_true(name_from_text(owner, DOM, NULL) > 0);
	for (int i = 0; i < nkeys; i++) {
		int n = dnssec_key_dnskey(keys[i], wire, sizeof(wire));
		assert_true(n > 0);
		struct check_rr *rr = &a->rr[a->nrr++];
		snprintf(rr->owner, sizeof(rr->owner), DOM);
		rr->section = CHECK_ANSWER;
		rr->type = RR_DNSKEY;
		rr->ttl = 60;
		assert_true(rrtext_rdata_to_text(RR_DNSKEY, wire, (uint16_t)n, rr->data, sizeof(rr->data)) > 0);
	}
	struct dnssec_rrset set;
	assert_int_equal(check_answer_set(a, owner, DOM, RR_DNSKEY, buf, sizeof(buf), &set), 0);
	set.ttl = 60;
	struct dnssec_scratch scratch;
	dnssec_scratch_init(&scratch);
	for (int i = 0; i < nsigners; i++) {
		char err[256];
		int n = dnssec_sign(signers[i], &set, owner, (uint32_t)(NOW - 3600), (uint32_t)(NOW + 86400), &scratch,
		                    sig, sizeof(sig), err, sizeof(err));
		if (n < 0)
			fail_msg("sign: %s", err);
		struct check_rr *rr = &a->rr[a->nrr++];
		snprintf(rr->owner, sizeof(rr->owner), DOM);
		rr->section = CHECK_ANSWER;
		rr->type = RR_RRSIG;
		assert_true(rrtext_rdata_to_text(RR_RRSIG, sig, (uint16_t)n, rr->data, sizeof(rr->data)) > 0);
	}
	dnssec_scratch_free(&scratch);
}

/* hints_set_cut(): the record of a set, or an RRSIG at its name, that arrived too long to read. */
static void test_set_cut(void **state)
{
	(void)state;
	struct check_answer *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	a->nrr = 3;
	static const uint16_t types[] = {RR_DNSKEY, RR_RRSIG, RR_SOA};
	for (int i = 0; i < 3; i++) {
		snprintf(a->rr[i].owner, sizeof(a->rr[i].owner), "%s", DOM);
		a->rr[i].section = CHECK_ANSWER;
		a->rr[i].type = types[i];
		snprintf(a->rr[i].data, sizeof(a->rr[i].data), "(1104 octets, too long to show)");
	}
	assert_null(hints_set_cut(a, DOM, RR_DNSKEY));
	a->rr[0].cut = true;
	assert_ptr_equal(hints_set_cut(a, DOM, RR_DNSKEY), &a->rr[0]);
	assert_null(hints_set_cut(a, DOM, RR_SOA)); /* another set's record */
	assert_null(hints_set_cut(a, "other.lab.", RR_DNSKEY));
	a->rr[1].cut = true; /* an RRSIG at the name: whichever set it covers, it is not read */
	assert_ptr_equal(hints_set_cut(a, DOM, RR_SOA), &a->rr[1]);
	a->rr[1].section = CHECK_AUTHORITY;
	assert_null(hints_set_cut(a, DOM, RR_SOA));
	free(a);
}

static void test_ta_rfc5011(void **state)
{
	(void)state;
	struct dnssec_key *k1, *k2, *zsk, *rogue;
	char err[256], log[1200];
	assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &k1, err, sizeof(err)), 0);
	assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &k2, err, sizeof(err)), 0);
	assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ED25519, DNSSEC_ZSK, &zsk, err, sizeof(err)), 0);
	assert_int_equal(dnssec_key_generate(DNSSEC_ALG_ECDSAP256SHA256, DNSSEC_KSK, &rogue, err, sizeof(err)), 0);
	struct check_answer *a = malloc(sizeof(*a));
	static struct hints_ta ta; /* off the stack: its keys' DNSKEY text is CHECK_RR_TEXT each */
	memset(&ta, 0, sizeof(ta));
	assert_non_null(a);
	make_set(a, (struct dnssec_key *[]){k1, zsk}, 2, (struct dnssec_key *[]){k1}, 1);
	assert_int_equal(hints_ta_seed(&ta, DOM, a->rr[0].data, NOW), 0);
	int tag1 = dnssec_key_tag(k1), tag2 = dnssec_key_tag(k2);
	/* the set as seeded: validated by k1, nothing new (the ZSK is not a SEP key) */
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW, 100, log, sizeof(log)), HINTS_TA_VALIDATED);
	assert_int_equal(ta.signer, tag1);
	/* k2 published, the set signed by k1: pending */
	make_set(a, (struct dnssec_key *[]){k1, k2, zsk}, 3, (struct dnssec_key *[]){k1}, 1);
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW + 10, 100, log, sizeof(log)),
	                 HINTS_TA_VALIDATED | HINTS_TA_PENDING_CHANGED);
	assert_int_equal(ta.nkeys, 2);
	assert_false(ta.keys[1].valid);
	assert_non_null(strstr(log, "pending"));
	/* within the hold-down: still pending; past it: trusted */
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW + 109, 100, log, sizeof(log)), HINTS_TA_VALIDATED);
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW + 110, 100, log, sizeof(log)),
	                 HINTS_TA_VALIDATED | HINTS_TA_TRUST_CHANGED);
	assert_true(ta.keys[1].valid && ta.keys[1].tag == tag2);
	/* k1 revoked (self-signed) and k2 signing: k1 dropped, k2 the signer */
	assert_int_equal(dnssec_key_set_flags(k1, DNSSEC_KSK | DNSSEC_FLAG_REVOKE, err, sizeof(err)), 0);
	make_set(a, (struct dnssec_key *[]){k1, k2, zsk}, 3, (struct dnssec_key *[]){k1, k2}, 2);
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW + 200, 100, log, sizeof(log)),
	                 HINTS_TA_VALIDATED | HINTS_TA_TRUST_CHANGED);
	assert_int_equal(ta.nkeys, 1);
	assert_int_equal(ta.keys[0].tag, tag2);
	assert_int_equal(ta.signer, tag2);
	assert_non_null(strstr(log, "revoked"));
	/* a set only a rogue key signs: not validated, and its new key is not even pending */
	make_set(a, (struct dnssec_key *[]){k2, rogue}, 2, (struct dnssec_key *[]){rogue}, 1);
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW + 300, 100, log, sizeof(log)), 0);
	assert_int_equal(ta.signer, -1);
	assert_int_equal(ta.nkeys, 1);
	assert_non_null(strstr(log, "does not validate"));
	/* a revocation the revoked key did not sign itself is not believed */
	dnssec_key_set_flags(k2, DNSSEC_KSK | DNSSEC_FLAG_REVOKE, err, sizeof(err));
	make_set(a, (struct dnssec_key *[]){k2, rogue}, 2, (struct dnssec_key *[]){rogue}, 1);
	assert_int_equal(hints_ta_update(&ta, DOM, a, NOW + 400, 100, log, sizeof(log)), 0);
	assert_int_equal(ta.nkeys, 1);
	/* the JSON round trip, and strict refusals */
	json_t *j = hints_ta_json(&ta);
	static struct hints_ta back;
	assert_int_equal(hints_ta_from_json(j, DOM, &back, err, sizeof(err)), 0);
	assert_int_equal(back.nkeys, 1);
	assert_int_equal(back.keys[0].tag, tag2);
	assert_true(back.keys[0].valid);
	json_object_set_new(json_array_get(json_object_get(j, "keys"), 0), "state", json_string("maybe"));
	assert_int_equal(hints_ta_from_json(j, DOM, &back, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "keys[0].state"));
	json_object_set_new(json_array_get(json_object_get(j, "keys"), 0), "dnskey", json_string("257 3 13 !!"));
	assert_int_equal(hints_ta_from_json(j, DOM, &back, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(strstr(err, "keys[0].dnskey"));
	json_decref(j);
	free(a);
	dnssec_key_free(k1);
	dnssec_key_free(k2);
	dnssec_key_free(zsk);
	dnssec_key_free(rogue);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_accepted), cmocka_unit_test(test_time_refused),
	    cmocka_unit_test(test_txt_strings),   cmocka_unit_test(test_anchor_file),
	    cmocka_unit_test(test_ta_rfc5011),    cmocka_unit_test(test_set_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
