/* Unit tests for lib/edns: the OPT codec -- options read from a request's RDATA (NSID, Client
 * Subnet, framing errors), Client Subnet data judged, and our OPT record written and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/edns.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"

static void test_parse_fields(void **state)
{
	(void)state;
	struct edns_request r;
	/* CLASS 4096, TTL: extended rcode 0, version 1, DO */
	assert_int_equal(edns_parse(4096, 0x00018000u, NULL, 0, &r), 0);
	assert_int_equal(r.udp_size, 4096);
	assert_int_equal(r.version, 1);
	assert_true(r.dnssec_ok);
	assert_false(r.nsid);
	assert_null(r.ecs);
	/* a payload size below 512 counts as 512 (RFC 6891 6.2.5); no DO */
	assert_int_equal(edns_parse(100, 0, NULL, 0, &r), 0);
	assert_int_equal(r.udp_size, 512);
	assert_false(r.dnssec_ok);
	assert_int_equal(r.version, 0);
}

static void test_parse_options(void **state)
{
	(void)state;
	/* an unknown option (65001, 3 octets), NSID with a payload, ECS 192.0.2.0/24, a second ECS */
	const uint8_t rd[] = {0xfd, 0xe9, 0,  3, 1,   2, 3, 0, 3, 0, 1, 0xaa, 0, 8, 0, 7,
	                      0,    1,    24, 0, 192, 0, 2, 0, 8, 0, 5, 0,    1, 8, 0, 10};
	struct edns_request r;
	assert_int_equal(edns_parse(1232, 0, rd, sizeof(rd), &r), 0);
	assert_true(r.nsid);
	assert_ptr_equal(r.ecs, rd + 16); /* the first ECS option's data */
	assert_int_equal(r.ecs_len, 7);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	struct edns_request r = {.udp_size = 7};
	const uint8_t short_header[] = {0, 3, 0};
	const uint8_t past_end[] = {0, 3, 0, 5, 1, 2};
	const uint8_t second_bad[] = {0, 3, 0, 0, 0, 8, 0, 1};
	assert_int_equal(edns_parse(1232, 0, short_header, sizeof(short_header), &r), TERN_EMALF);
	assert_int_equal(edns_parse(1232, 0, past_end, sizeof(past_end), &r), TERN_EMALF);
	assert_int_equal(edns_parse(1232, 0, second_bad, sizeof(second_bad), &r), TERN_EMALF);
	assert_int_equal(r.udp_size, 7); /* untouched */
}

static void test_ecs_parse(void **state)
{
	(void)state;
	struct edns_ecs e;
	const uint8_t v4[] = {0, 1, 22, 0, 198, 51, 100};
	assert_int_equal(edns_ecs_parse(v4, sizeof(v4), &e), 0);
	assert_int_equal(e.family, 1);
	assert_int_equal(e.source, 22);
	assert_int_equal(e.scope, 0);
	const uint8_t want[16] = {198, 51, 100};
	assert_memory_equal(e.addr, want, 16);
	const uint8_t v6[] = {0, 2, 48, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1};
	assert_int_equal(edns_ecs_parse(v6, sizeof(v6), &e), 0);
	assert_int_equal(e.family, 2);
	const uint8_t zero[] = {0, 1, 0, 0}; /* SOURCE 0: no address octets */
	assert_int_equal(edns_ecs_parse(zero, sizeof(zero), &e), 0);
	assert_int_equal(e.source, 0);

	struct edns_ecs keep = {.family = 9};
	const uint8_t bits_past_source[] = {0, 1, 22, 0, 198, 51, 101}; /* bit 23 set */
	const uint8_t too_many_octets[] = {0, 1, 16, 0, 198, 51, 100};
	const uint8_t too_few_octets[] = {0, 1, 24, 0, 198, 51};
	const uint8_t bad_family[] = {0, 3, 8, 0, 1};
	const uint8_t v4_source_33[] = {0, 1, 33, 0, 1, 2, 3, 4, 0};
	const uint8_t v4_scope_33[] = {0, 1, 8, 33, 1};
	const uint8_t runt[] = {0, 1, 0};
	assert_int_equal(edns_ecs_parse(bits_past_source, sizeof(bits_past_source), &keep), TERN_EMALF);
	assert_int_equal(edns_ecs_parse(too_many_octets, sizeof(too_many_octets), &keep), TERN_EMALF);
	assert_int_equal(edns_ecs_parse(too_few_octets, sizeof(too_few_octets), &keep), TERN_EMALF);
	assert_int_equal(edns_ecs_parse(bad_family, sizeof(bad_family), &keep), TERN_EMALF);
	assert_int_equal(edns_ecs_parse(v4_source_33, sizeof(v4_source_33), &keep), TERN_EMALF);
	assert_int_equal(edns_ecs_parse(v4_scope_33, sizeof(v4_scope_33), &keep), TERN_EMALF);
	assert_int_equal(edns_ecs_parse(runt, sizeof(runt), &keep), TERN_EMALF);
	assert_int_equal(keep.family, 9); /* untouched */
}

/* Reads back an OPT record written at buf[0, len): checks the fixed fields, returns the RDATA. */
static const uint8_t *read_opt(const uint8_t *buf, size_t len, uint16_t udp, uint32_t ttl, uint16_t *rdlen)
{
	assert_true(len >= EDNS_FIXED);
	assert_int_equal(buf[0], 0);
	assert_int_equal(wire_get16(buf + 1), RR_OPT);
	assert_int_equal(wire_get16(buf + 3), udp);
	assert_int_equal(wire_get32(buf + 5), ttl);
	*rdlen = wire_get16(buf + 9);
	assert_int_equal(len, EDNS_FIXED + *rdlen);
	return buf + EDNS_FIXED;
}

static void test_write_plain(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	struct edns_response r = {.udp_size = 1232, .rcode = RCODE_NOERROR, .ede = EDE_NONE};
	assert_int_equal(edns_size(&r), EDNS_FIXED);
	assert_int_equal(edns_write(&w, &r), 0);
	uint16_t rdlen;
	read_opt(buf, w.pos, 1232, 0, &rdlen);
	assert_int_equal(rdlen, 0);
}

static void test_write_options(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	struct edns_ecs ecs = {.family = 1, .source = 20, .scope = 16, .addr = {10, 1, 0x20}};
	struct edns_response r = {.udp_size = 1400,
	                          .rcode = RCODE_BADVERS, /* 16: extended rcode 1 in the TTL */
	                          .dnssec_ok = true,
	                          .nsid = (const uint8_t *)"ns1",
	                          .nsid_len = 3,
	                          .ede = EDE_PROHIBITED,
	                          .ecs = &ecs};
	size_t size = edns_size(&r);
	assert_int_equal(size, EDNS_FIXED + 4 + 3 + EDNS_EDE_SIZE + 4 + 4 + 3);
	assert_int_equal(edns_write(&w, &r), 0);
	assert_int_equal(w.pos, size);
	uint16_t rdlen;
	const uint8_t *o = read_opt(buf, w.pos, 1400, 0x01008000u, &rdlen);
	const uint8_t want[] = {0, 3, 0, 3, 'n', 's', '1', 0, 15, 0, 2, 0, 18, 0, 8, 0, 7, 0, 1, 20, 16, 10, 1, 0x20};
	assert_int_equal(rdlen, sizeof(want));
	assert_memory_equal(o, want, sizeof(want));

	/* what we write, we read: the ECS option parses back with its scope */
	struct edns_request req;
	assert_int_equal(edns_parse(wire_get16(buf + 3), wire_get32(buf + 5), o, rdlen, &req), 0);
	assert_true(req.nsid && req.dnssec_ok);
	struct edns_ecs back;
	assert_int_equal(edns_ecs_parse(req.ecs, req.ecs_len, &back), 0);
	assert_memory_equal(&back, &ecs, sizeof(ecs));
}

static void test_write_no_room(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	struct edns_response r = {.udp_size = 1232, .nsid = (const uint8_t *)"abcdef", .nsid_len = 6, .ede = EDE_OTHER};
	w.pos = 10;
	w.cap = 10 + edns_size(&r) - 1; /* one octet short */
	assert_int_equal(edns_write(&w, &r), TERN_ESPACE);
	assert_int_equal(w.pos, 10); /* nothing written */
	w.cap++;
	assert_int_equal(edns_write(&w, &r), 0);
	assert_int_equal(w.pos, w.cap);
}

/* The usual OPT writer writes what edns_write() writes for the same response, and nothing when
 * one octet is missing. */
static void test_write_ecs_same(void **state)
{
	(void)state;
	struct edns_ecs v4 = {.family = 1, .source = 24, .scope = 0, .addr = {192, 0, 2}};
	struct edns_ecs v6 = {.family = 2, .source = 56, .scope = 0, .addr = {0x20, 1, 0xd, 0xb8, 1, 2, 3}};
	struct edns_ecs none = {.family = 1, .source = 0};
	const struct edns_ecs *cases[] = {NULL, &v4, &v6, &none};
	const uint16_t rcodes[] = {RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_BADVERS};
	for (size_t c = 0; c < 4; c++) {
		for (size_t k = 0; k < 3; k++) {
			uint8_t a[64], b[64];
			memset(a, 0xaa, sizeof(a));
			memset(b, 0x55, sizeof(b));
			struct wire_writer wa, wb;
			wire_writer_init(&wa, a, sizeof(a));
			wire_writer_init(&wb, b, sizeof(b));
			wa.pos = wb.pos = 3;
			struct edns_ecs echo = cases[c] ? *cases[c] : v4;
			echo.scope = (uint8_t)(c * 7);
			struct edns_response r = {.udp_size = (uint16_t)(1232 + c),
			                          .rcode = rcodes[k],
			                          .dnssec_ok = k == 1,
			                          .ede = EDE_NONE,
			                          .ecs = cases[c] ? &echo : NULL};
			assert_int_equal(edns_write(&wa, &r), 0);
			assert_int_equal(edns_write_ecs(&wb, r.udp_size, r.rcode, r.dnssec_ok, cases[c], echo.scope),
			                 0);
			assert_int_equal(wa.pos, wb.pos);
			assert_memory_equal(a + 3, b + 3, wa.pos - 3);
			wb.pos = 3;
			wb.cap = 3 + edns_size(&r) - 1;
			assert_int_equal(edns_write_ecs(&wb, r.udp_size, r.rcode, r.dnssec_ok, cases[c], echo.scope),
			                 TERN_ESPACE);
			assert_int_equal(wb.pos, 3);
		}
	}
}

/* Padding (RFC 7830): read from a request whatever its content; written last, pad zero octets. */
static void test_padding(void **state)
{
	(void)state;
	const uint8_t rd[] = {0, 12, 0, 3, 0xff, 0xff, 0xff, 0, 3, 0, 0};
	struct edns_request req;
	assert_int_equal(edns_parse(1232, 0, rd, sizeof(rd), &req), 0);
	assert_true(req.padding && req.nsid);
	assert_int_equal(edns_parse(1232, 0, rd + 7, 4, &req), 0);
	assert_false(req.padding);
	uint8_t buf[128];
	memset(buf, 0xee, sizeof(buf));
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	struct edns_response r = {.udp_size = 1232, .ede = EDE_OTHER, .padding = true, .pad = 9};
	assert_int_equal(edns_size(&r), EDNS_FIXED + EDNS_EDE_SIZE + 4 + 9);
	assert_int_equal(edns_write(&w, &r), 0);
	uint16_t rdlen;
	const uint8_t *o = read_opt(buf, w.pos, 1232, 0, &rdlen);
	const uint8_t want[] = {0, 15, 0, 2, 0, 0, 0, 12, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(rdlen, sizeof(want));
	assert_memory_equal(o, want, sizeof(want));
	assert_int_equal(buf[w.pos], 0xee); /* nothing past it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_ecs_same), cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_parse_options),  cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_ecs_parse),      cmocka_unit_test(test_write_plain),
	    cmocka_unit_test(test_write_options),  cmocka_unit_test(test_write_no_room),
	    cmocka_unit_test(test_padding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
