/* Unit tests for lib/bootstrap: boot_take()'s judgement of each record a previous provider gives
 * (outside the zone, DNSSEC types, the SOA, the apex NS with its TTL kept, too long, duplicates,
 * the record limit) and an AXFR answer read message by message into records. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/bootstrap.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

static void test_take_judges(void **state)
{
	(void)state;
	struct boot_result b = {.dedupe = true};
	check_copy(b.zone, sizeof(b.zone), "shop.test.");
	assert_int_equal(boot_take(&b, "WWW.Shop.Test.", RR_A, 300, "192.0.2.1"), 1);
	assert_string_equal(b.rr[0].owner, "www.shop.test."); /* lower-cased */
	assert_int_equal(boot_take(&b, "www.shop.test.", RR_A, 300, "192.0.2.1"), 0); /* a duplicate */
	assert_int_equal(boot_take(&b, "evil.example.", RR_A, 300, "203.0.113.1"), 0);
	assert_int_equal(boot_take(&b, "shop.test.evil.", RR_A, 300, "203.0.113.1"), 0);
	assert_int_equal(b.dropped_outside, 2);
	static const uint16_t dnssec[] = {RR_RRSIG, RR_NSEC, RR_NSEC3, RR_NSEC3PARAM, RR_DNSKEY, RR_CDS, RR_CDNSKEY};
	for (size_t i = 0; i < sizeof(dnssec) / sizeof(dnssec[0]); i++)
		assert_int_equal(boot_take(&b, "shop.test.", dnssec[i], 300, "x"), 0);
	assert_int_equal(b.dropped_dnssec, 7);
	assert_int_equal(boot_take(&b, "shop.test.", RR_SOA, 300, "ns. h. 1 2 3 4 5"), 0);
	assert_int_equal(b.dropped_soa, 1);
	assert_int_equal(boot_take(&b, "shop.test.", RR_NS, 7200, "ns1.old.example."), 0);
	assert_int_equal(boot_take(&b, "shop.test.", RR_NS, 3600, "ns2.old.example."), 0);
	assert_int_equal(b.dropped_apex_ns, 2);
	assert_int_equal(b.zone_ns_ttl, 3600); /* the lowest of the set */
	assert_int_equal(boot_take(&b, "sub.shop.test.", RR_NS, 300, "ns.sub.shop.test."), 1); /* a delegation */
	char *big = malloc(BOOT_RDATA_TEXT + 1);
	memset(big, 'a', BOOT_RDATA_TEXT);
	big[BOOT_RDATA_TEXT] = 0;
	assert_int_equal(boot_take(&b, "shop.test.", RR_TXT, 300, big), 0);
	assert_int_equal(boot_take(&b, "shop.test.", RR_TXT, 300, "\"a\nb\""), 0);
	assert_int_equal(b.dropped_size, 2);
	free(big);
	assert_int_equal(b.nrr, 2);
	boot_result_free(&b);
}

static void test_take_limit(void **state)
{
	(void)state;
	struct boot_result b = {0};
	check_copy(b.zone, sizeof(b.zone), "shop.test.");
	char owner[64];
	for (int i = 0; i < BOOT_MAXRR + 10; i++) {
		snprintf(owner, sizeof(owner), "n%d.shop.test.", i);
		assert_int_equal(boot_take(&b, owner, RR_A, 300, "192.0.2.1"), i < BOOT_MAXRR ? 1 : 0);
	}
	assert_int_equal(b.nrr, BOOT_MAXRR);
	assert_int_equal(b.dropped_limit, 10);
	boot_result_free(&b);
}

/* Appends a record (owner and RDATA in wire form) to a message under construction. */
static size_t put_rr(uint8_t *m, size_t n, const char *owner, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	uint8_t name[NAME_MAXLEN];
	int len = name_from_text(name, owner, NULL);
	assert_true(len > 0);
	memcpy(m + n, name, (size_t)len);
	n += (size_t)len;
	uint8_t f[10] = {(uint8_t)(type >> 8),  (uint8_t)type, 0, 1, 0, 0, 0x0e, 0x10,
	                 (uint8_t)(rdlen >> 8), (uint8_t)rdlen};
	memcpy(m + n, f, 10);
	memcpy(m + n + 10, rd, rdlen);
	return n + 10 + rdlen;
}

/* One AXFR message for shop.test. (ID 0x4242): SOA, NS, ns A, its RRSIG, www A, with outside a
 * record of other.example., and the closing SOA. Returns its length. */
static size_t axfr_message(uint8_t *m, bool outside)
{
	uint8_t head[12] = {0x42, 0x42, 0x84, 0x00, 0, 1, 0, (uint8_t)(outside ? 7 : 6), 0, 0, 0, 0};
	memcpy(m, head, 12);
	uint8_t q[NAME_MAXLEN];
	int ql = name_from_text(q, "shop.test.", NULL);
	size_t n = 12;
	memcpy(m + n, q, (size_t)ql);
	n += (size_t)ql;
	m[n++] = 0, m[n++] = RR_AXFR, m[n++] = 0, m[n++] = 1;
	uint8_t soa[2 * NAME_MAXLEN + 20], ns[NAME_MAXLEN], mname[NAME_MAXLEN], rname[NAME_MAXLEN],
	    a[4] = {192, 0, 2, 1};
	int sl = name_from_text(mname, "ns.shop.test.", NULL);
	int s2 = name_from_text(rname, "h.shop.test.", NULL);
	memcpy(soa, mname, (size_t)sl);
	memcpy(soa + sl, rname, (size_t)s2);
	uint8_t timers[20] = {0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10};
	memcpy(soa + sl + s2, timers, 20);
	uint16_t soalen = (uint16_t)(sl + s2 + 20);
	int nl = name_from_text(ns, "ns.shop.test.", NULL);
	uint8_t sig[18 + 11 + 4] = {0, RR_A, 13, 3, 0, 0, 0x0e, 0x10};
	memcpy(sig + 18, "\x04shop\x04test\x00", 11);
	n = put_rr(m, n, "shop.test.", RR_SOA, soa, soalen);
	n = put_rr(m, n, "shop.test.", RR_NS, ns, (uint16_t)nl);
	n = put_rr(m, n, "ns.shop.test.", RR_A, a, 4);
	n = put_rr(m, n, "ns.shop.test.", RR_RRSIG, sig, sizeof(sig));
	n = put_rr(m, n, "www.shop.test.", RR_A, a, 4);
	if (outside)
		n = put_rr(m, n, "other.example.", RR_A, a, 4);
	return put_rr(m, n, "shop.test.", RR_SOA, soa, soalen);
}

static void test_axfr_records(void **state)
{
	(void)state;
	uint8_t m[1024];
	size_t n = axfr_message(m, false);
	struct boot_axfr *x = NULL;
	char err[256] = "";
	assert_int_equal(boot_axfr_new("shop.test.", 0x4242, "test", &x), 0);
	assert_int_equal(boot_axfr_feed(x, m, n, err, sizeof(err)), 1);
	struct boot_result b = {0};
	check_copy(b.zone, sizeof(b.zone), "shop.test.");
	assert_int_equal(boot_axfr_take(x, &b, err, sizeof(err)), 0);
	boot_axfr_free(x);
	assert_int_equal(b.dropped_soa, 1);
	assert_int_equal(b.dropped_apex_ns, 1);
	assert_int_equal(b.zone_ns_ttl, 3600);
	assert_int_equal(b.dropped_dnssec, 1);
	assert_int_equal(b.nrr, 2); /* ns A and www A */
	for (int i = 0; i < b.nrr; i++) {
		assert_int_equal(b.rr[i].type, RR_A);
		assert_string_equal(b.rr[i].data, "192.0.2.1");
	}
	boot_result_free(&b);
	/* a record outside the zone: the transfer is refused whole (the zone's rules), with a reason */
	n = axfr_message(m, true);
	assert_int_equal(boot_axfr_new("shop.test.", 0x4242, "test", &x), 0);
	assert_int_equal(boot_axfr_feed(x, m, n, err, sizeof(err)), 1);
	struct boot_result c = {0};
	check_copy(c.zone, sizeof(c.zone), "shop.test.");
	err[0] = 0;
	assert_true(boot_axfr_take(x, &c, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "other.example"));
	assert_int_equal(c.nrr, 0);
	boot_result_free(&c);
	boot_axfr_free(x);
	/* a message that is not the answer to our query (another ID) */
	n = axfr_message(m, false);
	assert_int_equal(boot_axfr_new("shop.test.", 0x1111, "test", &x), 0);
	err[0] = 0;
	assert_true(boot_axfr_feed(x, m, n, err, sizeof(err)) < 0);
	assert_true(err[0] != 0);
	boot_axfr_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_take_judges),
	    cmocka_unit_test(test_take_limit),
	    cmocka_unit_test(test_axfr_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
