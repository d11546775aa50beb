/* lib/dnssec_policy.c: the defaults pass; every value that cannot work is refused naming its
 * field (RFC 8624 algorithms by name and number, RFC 9276 NSEC3 parameters, signature timing,
 * key lifetimes of the wrong scheme or too short, parent addresses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dnssec_policy.h"
#include "lib/error.h"

/* p refused, with field and a message containing why. */
static void refused(const struct dnssec_policy *p, const char *field, const char *why)
{
	const char *f = NULL;
	char err[256] = "";
	assert_int_equal(dnssec_policy_check(p, &f, err, sizeof(err)), TERN_EINVAL);
	assert_non_null(f);
	if (strcmp(f, field) != 0 || !strstr(err, why))
		fail_msg("expected %s: ...%s..., got %s: %s", field, why, f, err);
}

static void accepted(const struct dnssec_policy *p)
{
	const char *f = NULL;
	char err[256] = "";
	if (dnssec_policy_check(p, &f, err, sizeof(err)) != 0)
		fail_msg("refused: %s: %s", f, err);
}

static void test_defaults(void **state)
{
	(void)state;
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	accepted(&p);
	assert_int_equal(p.algorithm, 13);
	assert_false(p.nsec.nsec3);
	assert_true(p.rrsig_lifetime > p.rrsig_refresh + p.rrsig_jitter);
	p.algorithm = 15;
	p.nsec.nsec3 = true;
	p.nsec.optout = true;
	p.csk = true;
	p.zsk_lifetime = 0;
	p.csk_lifetime = 365 * 86400;
	accepted(&p);
}

static void test_algorithms(void **state)
{
	(void)state;
	uint8_t alg = 0;
	char err[256];
	assert_int_equal(dnssec_policy_alg_parse("ECDSAP256SHA256", &alg, err, sizeof(err)), 0);
	assert_int_equal(alg, 13);
	assert_int_equal(dnssec_policy_alg_parse("ed25519", &alg, err, sizeof(err)), 0);
	assert_int_equal(alg, 15);
	assert_int_equal(dnssec_policy_alg_parse("13", &alg, err, sizeof(err)), 0);
	assert_int_equal(alg, 13);
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"rsamd5", "must not be used"},
	    {"1", "must not be used"},
	    {"dsa", "must not be used"},
	    {"rsasha1", "deprecated"},
	    {"5", "deprecated"},
	    {"rsasha1-nsec3-sha1", "deprecated"},
	    {"ecc-gost", "must not be used"},
	    {"12", "must not be used"},
	    {"dsa-nsec3-sha1", "must not be used"},
	    {"rsasha256", "signs only"},
	    {"ecdsap384sha384", "not supported"},
	    {"ed448", "not supported"},
	    {"200", "unknown"},
	    {"foo", "unknown algorithm"},
	    {"-1", "unknown algorithm"},
	    {"256", "unknown algorithm"},
	    {"13x", "unknown algorithm"},
	    {"", "unknown algorithm"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		alg = 99;
		err[0] = 0;
		assert_int_equal(dnssec_policy_alg_parse(bad[i].text, &alg, err, sizeof(err)), TERN_EINVAL);
		assert_int_equal(alg, 99);
		if (!strstr(err, bad[i].why))
			fail_msg("%s: %s", bad[i].text, err);
	}
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	p.algorithm = 8;
	refused(&p, "algorithm", "Tern signs only");
	p.algorithm = 3;
	refused(&p, "algorithm", "RFC 8624");
}

static void test_nsec3(void **state)
{
	(void)state;
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	p.nsec.optout = true;
	refused(&p, "nsec3-opt-out", "needs NSEC3");
	p.nsec.nsec3 = true;
	accepted(&p);
	p.nsec.iterations = 1;
	refused(&p, "nsec3-iterations", "RFC 9276");
	p.nsec.iterations = 0;
	p.nsec.salt_len = 1;
	refused(&p, "nsec3-salt", "must be empty");
	p.nsec.salt_len = 0;
	p.nsec.nsec3 = false;
	p.nsec.optout = false;
	p.nsec.iterations = 10;
	refused(&p, "nsec3-iterations", "need denial");
}

static void test_timing(void **state)
{
	(void)state;
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	p.rrsig_lifetime = 100;
	p.rrsig_refresh = 60;
	p.rrsig_jitter = 40;
	refused(&p, "rrsig-lifetime", "above rrsig-refresh + rrsig-jitter (100");
	p.rrsig_lifetime = 101;
	accepted(&p);
	p.rrsig_jitter = 0;
	p.rrsig_refresh = 0;
	refused(&p, "rrsig-refresh", "at least 1");
	p.rrsig_refresh = 60;
	p.dnskey_ttl = 0;
	refused(&p, "dnskey-ttl", "at least 1");
	p.dnskey_ttl = 2147483648u;
	refused(&p, "dnskey-ttl", "at most 2147483647");
	dnssec_policy_default(&p);
	p.rrsig_lifetime = 4000000000u;
	refused(&p, "rrsig-lifetime", "at most");
}

static void test_keys(void **state)
{
	(void)state;
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	p.csk_lifetime = 86400 * 100;
	refused(&p, "csk-lifetime", "has no CSK");
	p.csk = true;
	refused(&p, "zsk-lifetime", "use csk-lifetime");
	p.zsk_lifetime = 0;
	accepted(&p);
	p.csk_lifetime = 3600; /* propagation 3600 + dnskey 3600 + max 86400 */
	refused(&p, "csk-lifetime", "longer than a rollover takes");
	p.csk = false;
	p.csk_lifetime = 0;
	p.ksk_lifetime = 93600;
	refused(&p, "ksk-lifetime", "93600 seconds");
	p.ksk_lifetime = 93601;
	accepted(&p);
}

static void test_parents(void **state)
{
	(void)state;
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	p.nparents = 3;
	strcpy(p.parents[0], "192.0.2.1");
	strcpy(p.parents[1], "2001:db8::53@5353");
	strcpy(p.parents[2], "192.0.2.1@0");
	refused(&p, "parents[2]", "port must be");
	strcpy(p.parents[2], "ns.example.");
	refused(&p, "parents[2]", "not an IPv4 or IPv6");
	strcpy(p.parents[2], "192.0.2.300");
	refused(&p, "parents[2]", "not an IPv4");
	strcpy(p.parents[2], "127.0.0.1@65535");
	accepted(&p);
	p.nparents = DNSSEC_POLICY_PARENTS_MAX + 1;
	refused(&p, "parents", "at most");
}

/* RFC 5011 hold-downs and the DS check interval: the defaults pass; values only tests use are
 * refused without the test flag, naming the field, and pass with it. */
static void test_rollover_timings(void **state)
{
	(void)state;
	struct dnssec_policy p;
	dnssec_policy_default(&p);
	assert_int_equal(p.ds_ttl, 86400);
	assert_int_equal(p.add_holddown, 30 * 86400);
	assert_int_equal(p.remove_holddown, 30 * 86400);
	assert_int_equal(p.ds_check_interval, 3600);
	assert_false(p.rfc5011);
	const char *f = NULL;
	char err[256] = "";
	assert_int_equal(dnssec_policy_check_timings(&p, false, &f, err, sizeof(err)), 0);
	p.add_holddown = 30;
	assert_int_equal(dnssec_policy_check_timings(&p, false, &f, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(f, "add-holddown");
	assert_non_null(strstr(err, "dnssec-test-timings"));
	assert_int_equal(dnssec_policy_check_timings(&p, true, &f, err, sizeof(err)), 0);
	p.add_holddown = 86400;
	p.remove_holddown = 86399;
	assert_int_equal(dnssec_policy_check_timings(&p, false, &f, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(f, "remove-holddown");
	p.remove_holddown = 86400;
	p.ds_check_interval = 5;
	assert_int_equal(dnssec_policy_check_timings(&p, false, &f, err, sizeof(err)), TERN_EINVAL);
	assert_string_equal(f, "ds-check-interval");
	assert_int_equal(dnssec_policy_check_timings(&p, true, &f, err, sizeof(err)), 0);
	p.ds_check_interval = 0;
	refused(&p, "ds-check-interval", "at least 1");
	p.ds_check_interval = 60;
	p.ds_ttl = 3000000000u;
	refused(&p, "ds-ttl", "at most");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults), cmocka_unit_test(test_algorithms),       cmocka_unit_test(test_nsec3),
	    cmocka_unit_test(test_timing),   cmocka_unit_test(test_rollover_timings), cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_parents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
