/* Unit tests for the dnstap module: the protobuf encoding against bytes worked out by hand from
 * dnstap.proto, and the rings' drop policy (full ring, a message larger than a slot). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include <time.h>

#include <cmocka.h>

#include "ternd/dnstap/dnstap.h"

static void encode_golden(void **state)
{
	(void)state;
	static const uint8_t q4[] = {127, 0, 0, 1}, r4[] = {127, 0, 0, 2}, query[] = {0xab, 0xcd};
	static const uint8_t zone[] = {2, 't', 't', 0};
	struct dnstap_msg m = {.type = DNSTAP_AUTH_QUERY,
	                       .family = 1,
	                       .proto = DNSTAP_UDP,
	                       .qaddr = q4,
	                       .raddr = r4,
	                       .qport = 5353,
	                       .rport = 53,
	                       .has_rport = true,
	                       .qsec = 1700000000,
	                       .qnsec = 5,
	                       .has_qtime = true,
	                       .query = query,
	                       .qlen = 2,
	                       .zone = zone,
	                       .zone_len = 4,
	                       .identity = (const uint8_t *)"id",
	                       .identity_len = 2,
	                       .version = (const uint8_t *)"v",
	                       .version_len = 1};
	static const uint8_t want[] = {
	    0x0a, 0x02, 'i',  'd', /* identity = 1 */
	    0x12, 0x01, 'v', /* version = 2 */
	    0x72, 0x2c, /* message = 14, 44 bytes: */
	    0x08, 0x01, /*   type AUTH_QUERY */
	    0x10, 0x01, /*   socket_family INET */
	    0x18, 0x01, /*   socket_protocol UDP */
	    0x22, 0x04, 127,  0,    0,    1, /*   query_address */
	    0x2a, 0x04, 127,  0,    0,    2, /*   response_address */
	    0x30, 0xe9, 0x29, /*   query_port 5353 */
	    0x38, 0x35, /*   response_port 53 */
	    0x40, 0x80, 0xe2, 0xcf, 0xaa, 0x06, /*   query_time_sec 1700000000 */
	    0x4d, 0x05, 0x00, 0x00, 0x00, /*   query_time_nsec (fixed32) */
	    0x52, 0x02, 0xab, 0xcd, /*   query_message */
	    0x5a, 0x04, 2,    't',  't',  0, /*   query_zone */
	    0x78, 0x01, /* type = 15 MESSAGE */
	};
	uint8_t out[256];
	size_t n = dnstap_encode(&m, out, sizeof(out));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	for (size_t cap = 0; cap < sizeof(want); cap++) /* too small: nothing, never past cap */
		assert_int_equal(dnstap_encode(&m, out, cap), 0);

	/* IPv6, large values, both times and messages: the size reckoned first is the size written */
	static uint8_t six[16] = {0x20, 0x01, 0x0d, 0xb8}, wire[300];
	struct dnstap_msg w6 = m;
	w6.family = 2;
	w6.qaddr = w6.raddr = six;
	w6.qport = 65535;
	w6.qsec = UINT64_MAX;
	w6.query = w6.response = wire;
	w6.qlen = w6.rlen = sizeof(wire);
	w6.has_rtime = true;
	w6.rsec = 1u << 31;
	uint8_t big[1024];
	n = dnstap_encode(&w6, big, sizeof(big));
	assert_true(n > 2 * sizeof(wire) + 2 * 16);
	assert_int_equal(dnstap_encode(&w6, big, n), n);
	assert_int_equal(dnstap_encode(&w6, big, n - 1), 0);

	/* a response: its own time and message, no query message */
	static const uint8_t resp[] = {0x01};
	struct dnstap_msg r = {.type = DNSTAP_AUTH_RESPONSE,
	                       .rsec = 1,
	                       .rnsec = 0x01020304,
	                       .has_rtime = true,
	                       .response = resp,
	                       .rlen = 1};
	static const uint8_t want_r[] = {0x72, 0x0c, 0x08, 0x02, 0x60, 0x01, 0x6d, 0x04,
	                                 0x03, 0x02, 0x01, 0x72, 0x01, 0x01, 0x78, 0x01};
	n = dnstap_encode(&r, out, sizeof(out));
	assert_int_equal(n, sizeof(want_r));
	assert_memory_equal(out, want_r, sizeof(want_r));
}

static void ring_drops(void **state)
{
	(void)state;
	struct config_dnstap conf = {.socket = "/nonexistent/tern-dnstap-test.sock",
	                             .log_queries = true,
	                             .log_responses = true,
	                             .ring_size = 16,
	                             .enabled = true};
	struct dnstap *d;
	char err[128];
	assert_int_equal(dnstap_start(&d, &conf, err, sizeof(err)), 0);
	struct dnstap_ring *r = dnstap_ring_take(d);
	assert_non_null(r);
	assert_true(dnstap_ring_wants(r));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(5353)};
	static uint8_t big[5000];
	uint8_t msg[12] = {0};
	struct dnstap_exchange x = {.proto = DNSTAP_UDP,
	                            .client = (struct sockaddr *)&sin,
	                            .query = msg,
	                            .qlen = 12,
	                            .response = msg,
	                            .rlen = 12};
	for (int i = 0; i < 20; i++) /* no reader: 16 slots fill, 4 are dropped */
		dnstap_log(r, &x);
	x.query = big;
	x.qlen = sizeof(big);
	dnstap_log(r, &x);
	struct dnstap_counts c;
	dnstap_counts(d, &c);
	assert_int_equal(c.dropped_full, 4);
	assert_int_equal(c.dropped_large, 1);
	assert_int_equal(c.sent, 0);
	assert_false(c.connected);
	/* a ring given back is taken again, not made anew */
	dnstap_ring_give(r);
	assert_ptr_equal(dnstap_ring_take(d), r);
	dnstap_ring_give(r);
	dnstap_stop(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(encode_golden),
	    cmocka_unit_test(ring_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
