/* Unit tests for lib/update (RFC 2136): reading UPDATE messages (every FORMERR, NOTZONE and REFUSED
 * case of the sections, compressed RDATA expanded, every cut of a message refused), the
 * prerequisites of 3.2 against a zone, and the updates of 3.4.2 with their special cases (CNAME
 * and other data, SOA serials, the apex's SOA and NS, duplicates and TTLs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/update.h"
#include "lib/wire.h"
#include "lib/zonefile.h"

#define NONE 254

static const char ZONE[] = "$ORIGIN example.test.\n"
                           "@ 3600 IN SOA ns1 hostmaster 100 7200 900 1209600 300\n"
                           "@ 3600 IN NS ns1\n"
                           "@ 3600 IN NS ns2\n"
                           "ns1 3600 IN A 192.0.2.1\n"
                           "ns2 3600 IN A 192.0.2.2\n"
                           "www 300 IN A 192.0.2.10\n"
                           "www 300 IN A 192.0.2.11\n"
                           "alias 300 IN CNAME www\n"
                           "txt 60 IN TXT \"one\"\n";

static struct zone *zone;

static int setup(void **state)
{
	(void)state;
	uint8_t apex[NAME_MAXLEN];
	char err[256];
	assert_true(name_from_text(apex, "example.test.", NULL) > 0);
	assert_int_equal(zonefile_load_string(ZONE, strlen(ZONE), "t", apex, &zone, err, sizeof(err)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	zone_free(zone);
	return 0;
}

/* An UPDATE being written: header, zone section, then records counted into section sec. */
struct msg {
	uint8_t b[8192];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t len)
{
	assert_true(m->n + len <= sizeof(m->b));
	if (len)
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

static void start(struct msg *m, const char *zone_name)
{
	memset(m, 0, sizeof(*m));
	uint8_t h[12] = {0xab, 0xcd, UPDATE_OPCODE << 3, 0, 0, 1};
	put(m, h, sizeof(h));
	put_name(m, zone_name);
	put16(m, RR_SOA);
	put16(m, RR_CLASS_IN);
}

enum { PRE = 6, UPD = 8, ADD = 10 };

static void rr(struct msg *m, int sec, const char *owner, uint16_t type, uint16_t cls, uint32_t ttl, const void *rd,
               uint16_t rdlen)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, cls);
	uint8_t t[4];
	wire_put32(t, ttl);
	put(m, t, 4);
	put16(m, rdlen);
	put(m, rd, rdlen);
	wire_put16(m->b + sec, (uint16_t)(wire_get16(m->b + sec) + 1));
}

static void rr_a(struct msg *m, int sec, const char *owner, uint16_t cls, uint32_t ttl, uint8_t last)
{
	uint8_t a[4] = {192, 0, 2, last};
	rr(m, sec, owner, RR_A, cls, ttl, a, 4);
}

static int parse(struct msg *m, struct update *u, char *err)
{
	return update_parse(m->b, m->n, 100, u, err, 256);
}

/* The changes of m against the zone: one line each, "owner type ttl count". */
static void changes(struct msg *m, char *out, size_t cap)
{
	struct update u;
	char err[256] = "";
	assert_int_equal(parse(m, &u, err), 0);
	struct zone_change *ch;
	size_t n;
	assert_int_equal(update_changes(zone, &u, &ch, &n), 0);
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		char o[1024], t[16];
		name_to_text(ch[i].owner, o, sizeof(o));
		size_t used = strlen(out);
		snprintf(out + used, cap - used, "%s%s %s %u %u", i ? "; " : "", o, rr_type_name(ch[i].type, t),
		         ch[i].ttl, ch[i].count);
	}
	update_changes_free(ch, n);
	update_free(&u);
}

static void reads_sections(void **state)
{
	(void)state;
	struct msg m;
	struct update u;
	char err[256] = "";
	start(&m, "Example.TEST.");
	rr(&m, PRE, "www.example.test.", RR_A, RR_CLASS_ANY, 0, NULL, 0);
	rr_a(&m, UPD, "new.example.test.", RR_CLASS_IN, 300, 5);
	/* a CNAME whose target is compressed: a pointer to the zone name at offset 12 */
	uint8_t target[] = {3, 'w', 'w', 'w', 0xc0, 12};
	rr(&m, UPD, "c.example.test.", RR_CNAME, RR_CLASS_IN, 300, target, sizeof(target));
	assert_int_equal(parse(&m, &u, err), 0);
	assert_int_equal(u.id, 0xabcd);
	assert_int_equal(u.nprereq, 1);
	assert_int_equal(u.nupd, 2);
	assert_memory_equal(u.zone, "\7example\4test", 14);
	assert_int_equal(u.upd[1].rdlen, 18);
	assert_memory_equal(u.upd[1].rdata, "\3www\7Example\4TEST", 18); /* expanded, case kept */
	assert_int_equal(u.tsig_at, 0);
	update_free(&u);
}

static void refuses(void **state)
{
	(void)state;
	struct msg m;
	struct update u;
	char err[256];
	struct {
		const char *what;
		int rcode;
		const char *message;
	} cases[] = {
	    {"two zones", UPDATE_FORMERR, "zone section holds 2"},
	    {"zone type A", UPDATE_FORMERR, "type must be SOA"},
	    {"prereq ttl", UPDATE_FORMERR, "TTL must be 0"},
	    {"prereq rdata", UPDATE_FORMERR, "has no RDATA"},
	    {"delete with rdata", UPDATE_FORMERR, "TTL 0 and no RDATA"},
	    {"add ANY", UPDATE_FORMERR, "meta type"},
	    {"class CH", UPDATE_FORMERR, "class must be"},
	    {"outside", UPDATE_NOTZONE, "outside the zone example.test."},
	    {"bad A", UPDATE_FORMERR, "malformed RDATA"},
	    {"too many", UPDATE_REFUSED, "more than the 100 allowed"},
	    {"tsig first", UPDATE_FORMERR, "TSIG record that is not the last"},
	    {"trailing", UPDATE_FORMERR, "after the last record"},
	    {"dyn", UPDATE_REFUSED, "dynamic answers"},
	    {"none ttl", UPDATE_FORMERR, "class NONE has TTL 0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(&m, "example.test.");
		switch (i) {
		case 0: wire_put16(m.b + 4, 2); break;
		case 1: wire_put16(m.b + m.n - 4, RR_A); break;
		case 2: rr(&m, PRE, "www.example.test.", RR_A, RR_CLASS_ANY, 5, NULL, 0); break;
		case 3: rr(&m, PRE, "www.example.test.", RR_A, NONE, 0, "\1\2\3\4", 4); break;
		case 4: rr(&m, UPD, "www.example.test.", RR_A, RR_CLASS_ANY, 0, "\1\2\3\4", 4); break;
		case 5: rr(&m, UPD, "www.example.test.", RR_ANY, RR_CLASS_IN, 0, NULL, 0); break;
		case 6: rr_a(&m, UPD, "www.example.test.", 3, 300, 1); break;
		case 7: rr_a(&m, UPD, "www.example.net.", RR_CLASS_IN, 300, 1); break;
		case 8: rr(&m, UPD, "www.example.test.", RR_A, RR_CLASS_IN, 300, "\1\2\3", 3); break;
		case 9:
			for (int k = 0; k < 101; k++)
				rr_a(&m, UPD, "www.example.test.", RR_CLASS_IN, 300, (uint8_t)k);
			break;
		case 10:
			rr(&m, ADD, "key.", RR_TSIG, RR_CLASS_ANY, 0, NULL, 0);
			rr(&m, ADD, ".", RR_OPT, 1232, 0, NULL, 0);
			break;
		case 11: put16(&m, 0); break;
		case 12: rr(&m, UPD, "www.example.test.", RR_DYN, RR_CLASS_IN, 300, "x", 1); break;
		case 13: rr_a(&m, UPD, "www.example.test.", NONE, 5, 10); break;
		}
		err[0] = 0;
		int rc = parse(&m, &u, err);
		if (rc != cases[i].rcode || !strstr(err, cases[i].message))
			fail_msg("%s: rcode %d \"%s\"", cases[i].what, rc, err);
	}
	/* every cut of a good message is refused, never read past */
	start(&m, "example.test.");
	rr(&m, PRE, "www.example.test.", RR_A, RR_CLASS_ANY, 0, NULL, 0);
	rr_a(&m, UPD, "new.example.test.", RR_CLASS_IN, 300, 5);
	for (size_t cut = 0; cut < m.n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, m.b, cut);
		assert_int_equal(update_parse(copy, cut, 100, &u, err, sizeof(err)), UPDATE_FORMERR);
		free(copy);
	}
}

static void prerequisites(void **state)
{
	(void)state;
	struct msg m;
	struct update u;
	char err[256];
	struct {
		const char *owner;
		uint16_t type, cls;
		int rcode;
	} cases[] = {
	    {"www.example.test.", RR_ANY, RR_CLASS_ANY, 0},
	    {"nope.example.test.", RR_ANY, RR_CLASS_ANY, UPDATE_NXDOMAIN},
	    {"www.example.test.", RR_A, RR_CLASS_ANY, 0},
	    {"www.example.test.", RR_AAAA, RR_CLASS_ANY, UPDATE_NXRRSET},
	    {"nope.example.test.", RR_ANY, NONE, 0},
	    {"www.example.test.", RR_ANY, NONE, UPDATE_YXDOMAIN},
	    {"www.example.test.", RR_AAAA, NONE, 0},
	    {"www.example.test.", RR_A, NONE, UPDATE_YXRRSET},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(&m, "example.test.");
		rr(&m, PRE, cases[i].owner, cases[i].type, cases[i].cls, 0, NULL, 0);
		assert_int_equal(parse(&m, &u, err), 0);
		assert_int_equal(update_check(zone, &u, err, sizeof(err)), cases[i].rcode);
		update_free(&u);
	}
	/* value-dependent: the whole RRset, in any order, duplicates counted once */
	start(&m, "example.test.");
	rr_a(&m, PRE, "www.example.test.", RR_CLASS_IN, 0, 11);
	rr_a(&m, PRE, "WWW.example.test.", RR_CLASS_IN, 0, 10);
	rr_a(&m, PRE, "www.example.test.", RR_CLASS_IN, 0, 11);
	assert_int_equal(parse(&m, &u, err), 0);
	assert_int_equal(update_check(zone, &u, err, sizeof(err)), 0);
	update_free(&u);
	start(&m, "example.test.");
	rr_a(&m, PRE, "www.example.test.", RR_CLASS_IN, 0, 10);
	assert_int_equal(parse(&m, &u, err), 0);
	assert_int_equal(update_check(zone, &u, err, sizeof(err)), UPDATE_NXRRSET);
	assert_non_null(strstr(err, "www.example.test. A is not the RRset given"));
	update_free(&u);
	start(&m, "example.test.");
	rr_a(&m, PRE, "www.example.test.", RR_CLASS_IN, 0, 10);
	rr_a(&m, PRE, "www.example.test.", RR_CLASS_IN, 0, 11);
	rr_a(&m, PRE, "www.example.test.", RR_CLASS_IN, 0, 12);
	assert_int_equal(parse(&m, &u, err), 0);
	assert_int_equal(update_check(zone, &u, err, sizeof(err)), UPDATE_NXRRSET);
	update_free(&u);
}

static void updates(void **state)
{
	(void)state;
	struct msg m;
	char out[1024];
	uint8_t soa_rd[64];

	/* an added record joins the RRset, which takes its TTL */
	start(&m, "example.test.");
	rr_a(&m, UPD, "www.example.test.", RR_CLASS_IN, 600, 12);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "www.example.test. A 600 3");
	/* the same record and TTL again: nothing */
	start(&m, "example.test.");
	rr_a(&m, UPD, "www.example.test.", RR_CLASS_IN, 300, 10);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "");
	/* a CNAME where other data is, other data at a CNAME: ignored */
	start(&m, "example.test.");
	rr(&m, UPD, "www.example.test.", RR_CNAME, RR_CLASS_IN, 300, "\1x\7example\4test", 16);
	rr_a(&m, UPD, "alias.example.test.", RR_CLASS_IN, 300, 1);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "");
	/* a CNAME replaces the CNAME */
	start(&m, "example.test.");
	rr(&m, UPD, "alias.example.test.", RR_CNAME, RR_CLASS_IN, 300, "\1x\7example\4test", 16);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "alias.example.test. CNAME 300 1");
	/* delete an RRset, a name (the apex keeps SOA and NS), one record, the apex's NS */
	start(&m, "example.test.");
	rr(&m, UPD, "www.example.test.", RR_A, RR_CLASS_ANY, 0, NULL, 0);
	rr(&m, UPD, "example.test.", RR_ANY, RR_CLASS_ANY, 0, NULL, 0);
	rr(&m, UPD, "example.test.", RR_NS, RR_CLASS_ANY, 0, NULL, 0);
	rr(&m, UPD, "example.test.", RR_SOA, RR_CLASS_ANY, 0, NULL, 0);
	rr(&m, UPD, "txt.example.test.", RR_TXT, NONE, 0, "\3one", 4);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "www.example.test. A 300 0; txt.example.test. TXT 60 0");
	/* the apex's last NS stays */
	start(&m, "example.test.");
	rr(&m, UPD, "example.test.", RR_NS, NONE, 0, "\3ns1\7example\4test", 18);
	rr(&m, UPD, "example.test.", RR_NS, NONE, 0, "\3NS2\7example\4test", 18);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "example.test. NS 3600 1");
	/* SOA: a smaller serial is ignored, a greater one taken; not at the apex: ignored */
	uint8_t mname[] = "\3ns1\7example\4test", rname[] = "\12hostmaster\7example\4test";
	size_t o = 0;
	memcpy(soa_rd, mname, sizeof(mname));
	o += sizeof(mname);
	memcpy(soa_rd + o, rname, sizeof(rname));
	o += sizeof(rname);
	uint32_t fields[5] = {99, 7200, 900, 1209600, 300};
	for (int k = 0; k < 5; k++, o += 4)
		wire_put32(soa_rd + o, fields[k]);
	start(&m, "example.test.");
	rr(&m, UPD, "example.test.", RR_SOA, RR_CLASS_IN, 3600, soa_rd, (uint16_t)o);
	rr(&m, UPD, "www.example.test.", RR_SOA, RR_CLASS_IN, 3600, soa_rd, (uint16_t)o);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "");
	wire_put32(soa_rd + sizeof(mname) + sizeof(rname), 101);
	start(&m, "example.test.");
	rr(&m, UPD, "example.test.", RR_SOA, RR_CLASS_IN, 3600, soa_rd, (uint16_t)o);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "example.test. SOA 3600 1");
	/* deleted and added again in one message: nothing changes; in order: delete then add */
	start(&m, "example.test.");
	rr(&m, UPD, "txt.example.test.", RR_TXT, RR_CLASS_ANY, 0, NULL, 0);
	rr(&m, UPD, "txt.example.test.", RR_TXT, RR_CLASS_IN, 60, "\3one", 4);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "");
	start(&m, "example.test.");
	rr(&m, UPD, "txt.example.test.", RR_TXT, RR_CLASS_IN, 60, "\3two", 4);
	rr(&m, UPD, "txt.example.test.", RR_TXT, RR_CLASS_ANY, 0, NULL, 0);
	rr_a(&m, UPD, "fresh.example.test.", RR_CLASS_IN, 30, 7);
	changes(&m, out, sizeof(out));
	assert_string_equal(out, "txt.example.test. TXT 60 0; fresh.example.test. A 30 1");
}

static void dnssec_types(void **state)
{
	(void)state;
	struct msg m;
	struct update u;
	char err[256];
	start(&m, "example.test.");
	rr_a(&m, UPD, "www.example.test.", RR_CLASS_IN, 300, 12);
	assert_int_equal(parse(&m, &u, err), 0);
	assert_false(update_touches_dnssec(&u));
	update_free(&u);
	start(&m, "example.test.");
	rr(&m, UPD, "example.test.", RR_DNSKEY, RR_CLASS_ANY, 0, NULL, 0);
	assert_int_equal(parse(&m, &u, err), 0);
	assert_true(update_touches_dnssec(&u));
	update_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_sections), cmocka_unit_test(refuses),      cmocka_unit_test(prerequisites),
	    cmocka_unit_test(updates),        cmocka_unit_test(dnssec_types),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
