/* Unit tests for lib/alias: a name that points at the canonical domain by CNAME (direct and
 * through a chain), by AliasMode HTTPS or SVCB; one that does not (a CNAME or alias elsewhere,
 * ServiceMode, no data, NXDOMAIN, SERVFAIL, a loop, the canonical name itself); and hostile
 * responses (cut short, the wrong question, a target running out of its RDATA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/alias.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

#define CANON "0b6f0a52-6e0c-4a55-9d3e-1b2c3d4e5f60.app.tern.test."

/* A response being written: header, question, then answer records. */
struct msg {
	uint8_t b[4096];
	size_t n;
	unsigned an;
};

static void put(struct msg *m, const void *p, size_t len)
{
	assert_true(m->n + len <= sizeof(m->b));
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

static void put16(struct msg *m, uint16_t v)
{
	uint8_t b[2];
	wire_put16(b, v);
	put(m, b, 2);
}

static void put_name(struct msg *m, const char *text)
{
	uint8_t n[NAME_MAXLEN];
	assert_true(name_from_text(n, text, NULL) > 0);
	put(m, n, name_len(n));
}

static void start(struct msg *m, const char *qname, uint16_t qtype, unsigned rcode)
{
	memset(m, 0, sizeof(*m));
	uint8_t h[12] = {0x12, 0x34, 0x81, 0x80 | (uint8_t)rcode, 0, 1};
	put(m, h, sizeof(h));
	put_name(m, qname);
	put16(m, qtype);
	put16(m, RR_CLASS_IN);
}

/* An answer record: CNAME target, or an SVCB-form priority and target (no parameters). */
static void answer(struct msg *m, const char *owner, uint16_t type, int prio, const char *target)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, RR_CLASS_IN);
	uint8_t ttl[4] = {0, 0, 0x0e, 0x10};
	put(m, ttl, 4);
	uint8_t t[NAME_MAXLEN];
	assert_true(name_from_text(t, target, NULL) > 0);
	size_t tl = name_len(t);
	put16(m, (uint16_t)(tl + (type == RR_CNAME ? 0 : 2)));
	if (type != RR_CNAME)
		put16(m, (uint16_t)prio);
	put(m, t, tl);
	m->an++;
	wire_put16(m->b + 6, (uint16_t)m->an);
}

static int judge(struct msg *m, const char *name, uint16_t qtype, struct alias_verdict *v)
{
	uint8_t n[NAME_MAXLEN], c[NAME_MAXLEN];
	assert_true(name_from_text(n, name, NULL) > 0);
	assert_true(name_from_text(c, CANON, NULL) > 0);
	return alias_judge(m->b, m->n, n, qtype, c, v);
}

static void points_by_cname(void **state)
{
	(void)state;
	struct msg m;
	struct alias_verdict v;
	start(&m, "www.example.test.", RR_HTTPS, 0);
	answer(&m, "www.example.test.", RR_CNAME, 0, CANON);
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), 0);
	assert_true(v.points);
	assert_int_equal(v.via, ALIAS_VIA_CNAME);
	assert_int_equal(v.steps, 1);
	assert_string_equal(v.found, "www.example.test. CNAME " CANON);

	/* a chain through the user's own names, and case does not matter */
	start(&m, "WWW.Example.TEST.", RR_HTTPS, 0);
	answer(&m, "www.example.test.", RR_CNAME, 0, "edge.example.test.");
	answer(&m, "EDGE.example.test.", RR_CNAME, 0, "0B6F0A52-6E0C-4A55-9D3E-1B2C3D4E5F60.APP.tern.test.");
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), 0);
	assert_true(v.points);
	assert_int_equal(v.steps, 2);
}

static void points_by_alias_mode(void **state)
{
	(void)state;
	struct msg m;
	struct alias_verdict v;
	start(&m, "example.test.", RR_HTTPS, 0);
	answer(&m, "example.test.", RR_HTTPS, 0, CANON);
	assert_int_equal(judge(&m, "example.test.", RR_HTTPS, &v), 0);
	assert_true(v.points);
	assert_int_equal(v.via, ALIAS_VIA_ALIAS);

	start(&m, "svc.example.test.", RR_SVCB, 0);
	answer(&m, "svc.example.test.", RR_CNAME, 0, "s.example.test.");
	answer(&m, "s.example.test.", RR_SVCB, 0, CANON);
	assert_int_equal(judge(&m, "svc.example.test.", RR_SVCB, &v), 0);
	assert_true(v.points);
	assert_int_equal(v.via, ALIAS_VIA_ALIAS);
	assert_int_equal(v.steps, 2);
}

static void points_elsewhere(void **state)
{
	(void)state;
	struct msg m;
	struct alias_verdict v;
	start(&m, "www.example.test.", RR_HTTPS, 0);
	answer(&m, "www.example.test.", RR_CNAME, 0, "other.example.net.");
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_non_null(strstr(v.found, "ends at other.example.net., not at " CANON));

	start(&m, "example.test.", RR_HTTPS, 0);
	answer(&m, "example.test.", RR_HTTPS, 0, "cdn.example.net.");
	assert_int_equal(judge(&m, "example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_non_null(strstr(v.found, "an alias to cdn.example.net."));

	start(&m, "example.test.", RR_HTTPS, 0);
	answer(&m, "example.test.", RR_HTTPS, 1, ".");
	assert_int_equal(judge(&m, "example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_non_null(strstr(v.found, "ServiceMode (priority 1)"));

	/* records of other owners do not count: the CNAME must start at the name */
	start(&m, "www.example.test.", RR_HTTPS, 0);
	answer(&m, "elsewhere.example.test.", RR_CNAME, 0, CANON);
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_string_equal(v.found, "www.example.test. has no CNAME and no HTTPS record");
}

static void nothing_there(void **state)
{
	(void)state;
	struct msg m;
	struct alias_verdict v;
	start(&m, "www.example.test.", RR_HTTPS, 3);
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_string_equal(v.found, "www.example.test. does not exist (NXDOMAIN)");

	start(&m, "www.example.test.", RR_HTTPS, 2);
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_non_null(strstr(v.found, "SERVFAIL"));

	/* the canonical name itself is no alias */
	start(&m, CANON, RR_HTTPS, 0);
	assert_int_equal(judge(&m, CANON, RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_non_null(strstr(v.found, "canonical domain itself"));
}

static void loops_stop(void **state)
{
	(void)state;
	struct msg m;
	struct alias_verdict v;
	start(&m, "a.example.test.", RR_HTTPS, 0);
	answer(&m, "a.example.test.", RR_CNAME, 0, "b.example.test.");
	answer(&m, "b.example.test.", RR_CNAME, 0, "a.example.test.");
	assert_int_equal(judge(&m, "a.example.test.", RR_HTTPS, &v), 0);
	assert_false(v.points);
	assert_int_equal(v.steps, ALIAS_STEPS_MAX);
	assert_non_null(strstr(v.found, "not followed further"));
	assert_true(strlen(v.found) < sizeof(v.found));
}

static void hostile(void **state)
{
	(void)state;
	struct msg m;
	struct alias_verdict v;
	/* every cut of a good response is refused or judged, never read past */
	start(&m, "www.example.test.", RR_HTTPS, 0);
	answer(&m, "www.example.test.", RR_CNAME, 0, CANON);
	size_t full = m.n;
	uint8_t n[NAME_MAXLEN], c[NAME_MAXLEN];
	assert_true(name_from_text(n, "www.example.test.", NULL) > 0);
	assert_true(name_from_text(c, CANON, NULL) > 0);
	for (size_t cut = 0; cut < full; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, m.b, cut);
		int rc = alias_judge(copy, cut, n, RR_HTTPS, c, &v);
		assert_true(rc == TERN_EMALF || (rc == 0 && !v.points));
		free(copy);
	}

	/* another question */
	assert_int_equal(judge(&m, "www.example.test.", RR_SVCB, &v), TERN_EMALF);
	assert_non_null(strstr(v.found, "another question"));

	/* a query, not a response */
	m.b[2] &= 0x7f;
	assert_int_equal(judge(&m, "www.example.test.", RR_HTTPS, &v), TERN_EMALF);
	m.b[2] |= 0x80;

	/* an HTTPS record whose target runs past its RDATA length */
	start(&m, "example.test.", RR_HTTPS, 0);
	answer(&m, "example.test.", RR_HTTPS, 0, CANON);
	size_t rdlen_at = m.n - (name_len(c) + 2) - 2;
	wire_put16(m.b + rdlen_at, 5);
	m.n = rdlen_at + 2 + 5 + 10; /* trailing bytes keep the message long enough */
	assert_int_equal(judge(&m, "example.test.", RR_HTTPS, &v), TERN_EMALF);
	assert_non_null(strstr(v.found, "malformed HTTPS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(points_by_cname),  cmocka_unit_test(points_by_alias_mode),
	    cmocka_unit_test(points_elsewhere), cmocka_unit_test(nothing_there),
	    cmocka_unit_test(loops_stop),       cmocka_unit_test(hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
