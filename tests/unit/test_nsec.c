/* lib/nsec.c: type bitmaps (RFC 4034 4.1.2) written and strictly read, base32hex, NSEC3 hashes
 * and the NSEC3 chain of RFC 5155 Appendix A, the NSEC chain of a zone with cuts, glue, a
 * wildcard and empty non-terminals, and the incremental chain equal to the one built from scratch
 * under random changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/nsec.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

static struct zone *load(const char *text, const char *apex_text)
{
	uint8_t apex[NAME_MAXLEN];
	struct zone *z = NULL;
	char err[2048];
	assert_true(name_from_text(apex, apex_text, NULL) > 0);
	int rc = zonefile_load_string(text, strlen(text), "t", apex, &z, err, sizeof(err));
	if (rc < 0)
		fail_msg("%s", err);
	return z;
}

/* z with the changes applied; z is freed (superseded). */
static struct zone *advance(struct zone *z, const struct zone_change *v, size_t n)
{
	struct zone *next = NULL;
	struct zone_apply_error e;
	if (zone_apply(z, v, n, &next, &e) < 0)
		fail_msg("zone_apply: %s", e.msg);
	zone_supersede(z, next);
	zone_free(z);
	return next;
}

/* z with its chain for p, built from scratch (index kept in *c when c is not NULL). */
static struct zone *with_chain(struct zone *z, const struct nsec_params *p, struct nsec_chain **c)
{
	struct nsec_changes ch = {0};
	char err[1024];
	int rc = nsec_chain_build(z, p, c, &ch, err, sizeof(err));
	if (rc < 0)
		fail_msg("nsec_chain_build: %s", err);
	z = advance(z, ch.v, ch.n);
	nsec_changes_free(&ch);
	return z;
}

/* How many changes a build from scratch would still make: 0 when z carries exactly its chain. */
static size_t chain_diff(const struct zone *z, const struct nsec_params *p)
{
	struct nsec_changes ch = {0};
	char err[1024], owner[1024], rd[10000], tb[16];
	assert_int_equal(nsec_chain_build(z, p, NULL, &ch, err, sizeof(err)), 0);
	size_t n = ch.n;
	for (size_t i = 0; i < ch.n && i < 5; i++) { /* say what differs */
		name_to_text(ch.v[i].owner, owner, sizeof(owner));
		rd[0] = 0;
		if (ch.v[i].count)
			rrtext_rdata_to_text(ch.v[i].type, rdata_bytes(ch.v[i].rdata), rdata_len(ch.v[i].rdata), rd,
			                     sizeof(rd));
		print_message("  differs: %s %u %s %s\n", owner, ch.v[i].ttl, rr_type_name(ch.v[i].type, tb),
		              ch.v[i].count ? rd : "(deleted)");
	}
	nsec_changes_free(&ch);
	return n;
}

/* ---- bitmaps ---- */

static void roundtrip(const uint16_t *types, size_t n)
{
	uint8_t bm[NSEC_BITMAP_MAX];
	uint16_t back[70000], want[70000];
	size_t nback = 0, nwant = 0;
	int len = nsec_bitmap_write(types, n, bm, sizeof(bm));
	assert_true(len >= 0);
	assert_int_equal(nsec_bitmap_read(bm, (size_t)len, back, 70000, &nback), 0);
	/* what comes back: the set, ascending */
	for (uint32_t t = 0; t < 65536; t++)
		for (size_t i = 0; i < n; i++)
			if (types[i] == t) {
				want[nwant++] = (uint16_t)t;
				break;
			}
	assert_int_equal(nback, nwant);
	assert_memory_equal(back, want, nwant * sizeof(*want));
	for (size_t i = 0; i < n; i++)
		assert_true(nsec_bitmap_has(bm, (size_t)len, types[i]));
}

static void test_bitmap_roundtrip(void **state)
{
	(void)state;
	/* RFC 4034 4.3's example: A MX RRSIG NSEC TYPE1234 */
	static const uint16_t ex[] = {RR_A, RR_MX, RR_RRSIG, RR_NSEC, 1234};
	static const uint8_t ex_wire[37] = {0x00, 0x06, 0x40,       0x01,
	                                    0x00, 0x00, 0x00,       0x03, /* window 0: A MX RRSIG NSEC */
	                                    0x04, 0x1b, [36] = 0x20}; /* window 4, 27 octets: TYPE1234 */
	uint8_t bm[NSEC_BITMAP_MAX];
	assert_int_equal(nsec_bitmap_write(ex, 5, bm, sizeof(bm)), sizeof(ex_wire));
	assert_memory_equal(bm, ex_wire, sizeof(ex_wire));
	assert_false(nsec_bitmap_has(bm, sizeof(ex_wire), RR_AAAA));
	assert_false(nsec_bitmap_has(bm, sizeof(ex_wire), 1235));
	assert_false(nsec_bitmap_has(bm, sizeof(ex_wire), 65535));
	roundtrip(ex, 5);
	static const uint16_t dup[] = {65535, RR_NS, 256, RR_NS, 0, 255, 65535, 32768};
	roundtrip(dup, 8);
	roundtrip(NULL, 0);
	assert_int_equal(nsec_bitmap_write(NULL, 0, bm, 0), 0);
	uint16_t many[65536];
	for (uint32_t t = 0; t < 65536; t++)
		many[t] = (uint16_t)t;
	assert_int_equal(nsec_bitmap_write(many, 65536, bm, sizeof(bm)), NSEC_BITMAP_MAX); /* every window, full */
	roundtrip(many, 65536);
	srand(5155);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand() % 40);
		uint16_t t[40];
		for (size_t i = 0; i < n; i++)
			t[i] = (uint16_t)(rand() % 4 == 0 ? rand() % 65536 : rand() % 300);
		roundtrip(t, n);
	}
	/* too small a buffer */
	assert_int_equal(nsec_bitmap_write(ex, 5, bm, sizeof(ex_wire) - 1), TERN_ESPACE);
	uint16_t two[2];
	size_t n;
	assert_int_equal(nsec_bitmap_read(ex_wire, sizeof(ex_wire), two, 2, &n), TERN_ESPACE);
}

static void test_bitmap_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *why;
		uint8_t len;
		uint8_t b[12];
	} bad[] = {
	    {"windows out of order", 6, {0x01, 0x01, 0x80, 0x00, 0x01, 0x40}},
	    {"a window twice", 6, {0x00, 0x01, 0x40, 0x00, 0x01, 0x20}},
	    {"window length 0", 2, {0x00, 0x00}},
	    {"window length 33", 2, {0x00, 33}},
	    {"a trailing zero octet", 4, {0x00, 0x02, 0x40, 0x00}},
	    {"a window cut short", 4, {0x00, 0x03, 0x40, 0x01}},
	    {"a lone window number", 1, {0x00}},
	    {"a good window then a lone octet", 4, {0x00, 0x01, 0x40, 0x01}},
	};
	uint16_t types[300];
	size_t n;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nsec_bitmap_read(bad[i].b, bad[i].len, types, 300, &n) != TERN_EMALF)
			fail_msg("accepted a bitmap with %s", bad[i].why);
		assert_false(nsec_bitmap_has(bad[i].b, bad[i].len, RR_A));
		assert_false(nsec_bitmap_has(bad[i].b, bad[i].len, RR_NS));
	}
	/* a window of 32 octets whose last is set is fine */
	uint8_t full[34] = {0x00, 32};
	full[33] = 1;
	assert_int_equal(nsec_bitmap_read(full, sizeof(full), types, 300, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(types[0], 255);
}

/* ---- base32hex and NSEC3 hashes ---- */

static void test_base32hex(void **state)
{
	(void)state;
	char out[64];
	uint8_t back[40];
	/* RFC 4648 10 */
	assert_int_equal(nsec3_base32hex((const uint8_t *)"foobar", 6, out), 10);
	assert_string_equal(out, "cpnmuoj1e8");
	assert_int_equal(nsec3_base32hex((const uint8_t *)"f", 1, out), 2);
	assert_string_equal(out, "co");
	assert_int_equal(nsec3_base32hex_decode("CPNMUOJ1E8", 10, back, sizeof(back)), 6);
	assert_memory_equal(back, "foobar", 6);
	assert_int_equal(nsec3_base32hex_decode("co", 2, back, sizeof(back)), 1);
	assert_int_equal(nsec3_base32hex_decode("cp", 2, back, sizeof(back)), TERN_EMALF); /* spare bits set */
	assert_int_equal(nsec3_base32hex_decode("c", 1, back, sizeof(back)), TERN_EMALF); /* no whole octet */
	assert_int_equal(nsec3_base32hex_decode("cw", 2, back, sizeof(back)), TERN_EMALF); /* outside the alphabet */
	assert_int_equal(nsec3_base32hex_decode("co=", 3, back, sizeof(back)), TERN_EMALF); /* no padding */
	assert_int_equal(nsec3_base32hex_decode("cpnmuoj1e8", 10, back, 5), TERN_ESPACE);
}

static const uint8_t SALT[] = {0xaa, 0xbb, 0xcc, 0xdd};

/* RFC 5155 Appendix A: every hashed owner name of the example zone (salt aabbccdd, 12 iterations). */
static const struct {
	const char *name, *hash;
} RFC5155_HASHES[] = {
    {"example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
    {"a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
    {"ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"},
    {"ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
    {"ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"},
    {"w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
    {"*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
    {"x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"},
    {"y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
    {"x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"},
    {"xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"},
    {"2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.", "kohar7mbb8dc2ce8a9qvl8hon4k53uhi"},
};

static void test_nsec3_hash_rfc5155(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(RFC5155_HASHES) / sizeof(RFC5155_HASHES[0]); i++) {
		uint8_t name[NAME_MAXLEN], h[NSEC3_HASH_LEN], back[NSEC3_HASH_LEN];
		char text[64];
		assert_true(name_from_text(name, RFC5155_HASHES[i].name, NULL) > 0);
		assert_int_equal(nsec3_hash(name, SALT, 4, 12, h), 0);
		assert_int_equal(nsec3_base32hex(h, sizeof(h), text), NSEC3_B32_LEN);
		assert_string_equal(text, RFC5155_HASHES[i].hash);
		/* the owner and back */
		uint8_t apex[NAME_MAXLEN], owner[NAME_MAXLEN];
		name_from_text(apex, "EXAMPLE.", NULL);
		assert_int_equal(nsec3_owner(h, apex, owner), 1 + 32 + 9);
		assert_memory_equal(owner + 1, RFC5155_HASHES[i].hash, 32);
		assert_memory_equal(owner + 33, "\7example", 9); /* lower-cased apex */
		assert_int_equal(nsec3_owner_hash(owner, apex, back), 0);
		assert_memory_equal(back, h, sizeof(h));
	}
	/* case does not matter */
	uint8_t a[NAME_MAXLEN], b[NAME_MAXLEN], ha[20], hb[20];
	name_from_text(a, "A.eXample.", NULL);
	name_from_text(b, "a.example.", NULL);
	nsec3_hash(a, SALT, 4, 12, ha);
	nsec3_hash(b, SALT, 4, 12, hb);
	assert_memory_equal(ha, hb, 20);
	/* RFC 9276 parameters: knsec3hash's example "net" with no salt, 0 iterations */
	char text[64];
	name_from_text(a, "net.", NULL);
	nsec3_hash(a, NULL, 0, 0, ha);
	nsec3_base32hex(ha, 20, text);
	assert_string_equal(text, "a1rt98bs5qgc9nfi51s9hci47uljg6jh");
	/* not an NSEC3 owner */
	uint8_t apex[NAME_MAXLEN], other[NAME_MAXLEN];
	name_from_text(apex, "example.", NULL);
	name_from_text(other, "0p9mhaveqvm6t7vbl5lop2u3t2rp3to.example.", NULL); /* 31 characters */
	assert_int_equal(nsec3_owner_hash(other, apex, ha), TERN_ENOTFOUND);
	name_from_text(other, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.x.example.", NULL);
	assert_int_equal(nsec3_owner_hash(other, apex, ha), TERN_ENOTFOUND);
	name_from_text(other, "0p9mhaveqvm6t7vbl5lop2u3t2rp3toz.example.", NULL); /* z: not base32hex */
	assert_int_equal(nsec3_owner_hash(other, apex, ha), TERN_ENOTFOUND);
}

/* The example zone of RFC 5155 Appendix A (the DNSKEY is any key: only its type counts here). */
static const char *RFC5155_ZONE =
    "$ORIGIN example.\n$TTL 3600\n"
    "@ SOA ns1 bugs.x.w 1 3600 300 3600000 3600\n"
    "@ NS ns1\n@ NS ns2\n@ MX 1 xx\n"
    "@ DNSKEY 256 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr A 192.0.2.127\n"
    "a NS ns1.a\na NS ns2.a\na DS 58470 5 1 3079F1593EBAD6DC121E202A8B766A6A4837206C\n"
    "ns1.a A 192.0.2.5\nns2.a A 192.0.2.6\n"
    "ai A 192.0.2.9\nai HINFO \"KLH-10\" \"ITS\"\nai AAAA 2001:db8::f00:baa9\n"
    "c NS ns1.c\nc NS ns2.c\nns1.c A 192.0.2.7\nns2.c A 192.0.2.8\n"
    "ns1 A 192.0.2.1\nns2 A 192.0.2.2\n"
    "*.w MX 1 ai\nx.w MX 1 xx\nx.y.w MX 1 xx\n"
    "xx A 192.0.2.10\nxx HINFO \"KLH-10\" \"TOPS-20\"\nxx AAAA 2001:db8::f00:baaa\n";

/* Its NSEC3 records as Appendix A lists them (every one with Opt-Out: c.example has none). */
static const struct {
	const char *owner, *next, *types;
} RFC5155_CHAIN[] = {
    {"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "2t7b4g4vsa5smi47k61mv5bv1a22bojr", "NS SOA MX RRSIG DNSKEY NSEC3PARAM"},
    {"2t7b4g4vsa5smi47k61mv5bv1a22bojr", "2vptu5timamqttgl4luu9kg21e0aor3s", "A RRSIG"},
    {"2vptu5timamqttgl4luu9kg21e0aor3s", "35mthgpgcu1qg68fab165klnsnk3dpvl", "MX RRSIG"},
    {"35mthgpgcu1qg68fab165klnsnk3dpvl", "b4um86eghhds6nea196smvmlo4ors995", "NS DS RRSIG"},
    {"b4um86eghhds6nea196smvmlo4ors995", "gjeqe526plbf1g8mklp59enfd789njgi", "MX RRSIG"},
    {"gjeqe526plbf1g8mklp59enfd789njgi", "ji6neoaepv8b5o6k4ev33abha8ht9fgc", "A HINFO AAAA RRSIG"},
    {"ji6neoaepv8b5o6k4ev33abha8ht9fgc", "k8udemvp1j2f7eg6jebps17vp3n8i58h", ""},
    {"k8udemvp1j2f7eg6jebps17vp3n8i58h", "kohar7mbb8dc2ce8a9qvl8hon4k53uhi", ""},
    {"kohar7mbb8dc2ce8a9qvl8hon4k53uhi", "q04jkcevqvmu85r014c7dkba38o0ji5r", "A RRSIG"},
    {"q04jkcevqvmu85r014c7dkba38o0ji5r", "r53bq7cc2uvmubfu5ocmm6pers9tk9en", "A RRSIG"},
    {"r53bq7cc2uvmubfu5ocmm6pers9tk9en", "t644ebqk9bibcna874givr6joj62mlhv", "MX RRSIG"},
    {"t644ebqk9bibcna874givr6joj62mlhv", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "A HINFO AAAA RRSIG"},
};

static int count_type(void *arg, const struct zone_node *n)
{
	size_t *count = arg;
	*count += zone_node_rrset(n, RR_NSEC3) != NULL;
	return 0;
}

/* nsec3_hash's own SHA-1 against OpenSSL's over every padding case: messages (a name and a salt)
 * of 2 to 510 octets, so the length field falls in the first block, the second, and across. */
static void test_nsec3_hash_lengths(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN], salt[255], msg[NAME_MAXLEN + 255], want[20], got[20];
	for (size_t nl = 0; nl < 4; nl++) {
		/* names of 3, 65, 129 and 255 octets: labels of 63 'A's (hashed lower-cased) */
		size_t len = 0, target = nl == 0 ? 2 : nl == 1 ? 64 : nl == 2 ? 128 : 254;
		while (len < target) {
			size_t l = target - len - 1 > 63 ? 63 : target - len - 1;
			name[len] = (uint8_t)l;
			memset(name + len + 1, 'A', l);
			len += l + 1;
		}
		name[len++] = 0;
		for (size_t sl = 0; sl <= 255; sl++) {
			for (size_t i = 0; i < sl; i++)
				salt[i] = (uint8_t)(i * 7 + sl);
			memcpy(msg, name, len);
			for (size_t i = 0; i < len; i++)
				msg[i] = msg[i] == 'A' ? 'a' : msg[i];
			memcpy(msg + len, salt, sl);
			SHA1(msg, len + sl, want);
			assert_int_equal(nsec3_hash(name, salt, (uint8_t)sl, 0, got), 0);
			assert_memory_equal(got, want, 20);
		}
	}
}

static void test_nsec3_chain_rfc5155(void **state)
{
	(void)state;
	struct zone *z = load(RFC5155_ZONE, "example.");
	struct nsec_params p = {.nsec3 = true, .optout = true, .iterations = 12, .salt_len = 4};
	memcpy(p.salt, SALT, 4);
	z = with_chain(z, &p, NULL);
	char rd[2048], want[512];
	for (size_t i = 0; i < sizeof(RFC5155_CHAIN) / sizeof(RFC5155_CHAIN[0]); i++) {
		uint8_t owner[NAME_MAXLEN];
		snprintf(want, sizeof(want), "%s.example.", RFC5155_CHAIN[i].owner);
		assert_true(name_from_text(owner, want, NULL) > 0);
		const struct zone_node *n = zone_find(z, owner, name_len(owner));
		assert_non_null(n);
		const struct rrset *rs = zone_node_rrset(n, RR_NSEC3);
		assert_non_null(rs);
		assert_int_equal(rs->count, 1);
		assert_int_equal(rs->ttl, 3600);
		rrtext_rdata_to_text(RR_NSEC3, rdata_bytes(rs->rdata), rdata_len(rs->rdata), rd, sizeof(rd));
		snprintf(want, sizeof(want), "1 1 12 AABBCCDD %s%s%s", RFC5155_CHAIN[i].next,
		         RFC5155_CHAIN[i].types[0] ? " " : "", RFC5155_CHAIN[i].types);
		assert_string_equal(rd, want);
	}
	size_t count = 0;
	zone_foreach(z, count_type, &count);
	assert_int_equal(count, 12); /* nothing else: not c.example (opt-out), nor glue */
	const struct rrset *param = zone_node_rrset(z->apex_node, RR_NSEC3PARAM);
	assert_non_null(param);
	rrtext_rdata_to_text(RR_NSEC3PARAM, rdata_bytes(param->rdata), rdata_len(param->rdata), rd, sizeof(rd));
	assert_string_equal(rd, "1 0 12 AABBCCDD");
	/* the name 2t7b...example holds its own A and the NSEC3 of ns1.example */
	uint8_t both[NAME_MAXLEN];
	name_from_text(both, "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.", NULL);
	const struct zone_node *n = zone_find(z, both, name_len(both));
	assert_non_null(zone_node_rrset(n, RR_A));
	assert_non_null(zone_node_rrset(n, RR_NSEC3));
	/* built again on the zone that carries it: nothing to change */
	assert_int_equal(chain_diff(z, &p), 0);
	/* without opt-out c.example gets its NSEC3 (NS only: nothing there is signed) and the flag
	 * goes from every record */
	p.optout = false;
	z = with_chain(z, &p, NULL);
	count = 0;
	zone_foreach(z, count_type, &count);
	assert_int_equal(count, 13);
	uint8_t c[NAME_MAXLEN], h[20], owner[NAME_MAXLEN];
	name_from_text(c, "c.example.", NULL);
	nsec3_hash(c, SALT, 4, 12, h);
	nsec3_owner(h, z->apex, owner);
	const struct rrset *rs = zone_node_rrset(zone_find(z, owner, name_len(owner)), RR_NSEC3);
	assert_non_null(rs);
	rrtext_rdata_to_text(RR_NSEC3, rdata_bytes(rs->rdata), rdata_len(rs->rdata), rd, sizeof(rd));
	assert_true(strncmp(rd, "1 0 12 AABBCCDD ", 16) == 0);
	assert_string_equal(rd + 16 + 33, "NS");
	/* and NSEC instead: every NSEC3 and the NSEC3PARAM go */
	struct nsec_params nsec = {0};
	z = with_chain(z, &nsec, NULL);
	count = 0;
	zone_foreach(z, count_type, &count);
	assert_int_equal(count, 0);
	assert_null(zone_node_rrset(z->apex_node, RR_NSEC3PARAM));
	assert_non_null(zone_node_rrset(z->apex_node, RR_NSEC));
	assert_int_equal(chain_diff(z, &nsec), 0);
	zone_free(z);
}

/* ---- the NSEC chain ---- */

static const char *ZONE = "$ORIGIN example.\n$TTL 3600\n"
                          "@ 600 SOA ns1 hostmaster 1 7200 900 1209600 3600\n"
                          "@ NS ns1\n@ MX 10 mail\n"
                          "ns1 A 192.0.2.1\nmail A 192.0.2.2\n"
                          "sub NS ns.sub\nsub A 192.0.2.99\nns.sub A 192.0.2.53\nx.y.sub TXT \"occluded\"\n"
                          "sec NS ns1\nsec DS 1 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
                          "*.wild TXT \"w\"\n"
                          "a.b.c.ent AAAA 2001:db8::1\n";

/* The NSEC chain of z followed from the apex, one "owner TTL rdata" a line. */
static void nsec_walk(const struct zone *z, char *out, size_t cap)
{
	const uint8_t *at = z->apex;
	size_t pos = 0;
	for (int guard = 0; guard < 100; guard++) {
		const struct zone_node *n = zone_find(z, at, name_len(at));
		assert_non_null(n);
		const struct rrset *rs = zone_node_rrset(n, RR_NSEC);
		assert_non_null(rs);
		assert_int_equal(rs->count, 1);
		char owner[1024], rd[2048];
		name_to_text(at, owner, sizeof(owner));
		rrtext_rdata_to_text(RR_NSEC, rdata_bytes(rs->rdata), rdata_len(rs->rdata), rd, sizeof(rd));
		pos += (size_t)snprintf(out + pos, cap - pos, "%s %u %s\n", owner, rs->ttl, rd);
		at = rdata_bytes(rs->rdata);
		if (name_equal(at, z->apex))
			return;
	}
	fail_msg("the NSEC chain does not return to the apex");
}

static int count_nsec(void *arg, const struct zone_node *n)
{
	*(size_t *)arg += zone_node_rrset(n, RR_NSEC) != NULL;
	return 0;
}

static void test_nsec_chain(void **state)
{
	(void)state;
	struct zone *z = load(ZONE, "example.");
	struct nsec_params p = {0};
	z = with_chain(z, &p, NULL);
	char walk[4096];
	nsec_walk(z, walk, sizeof(walk));
	/* canonical order; TTL min(600, 3600); no NSEC for c.ent, b.c.ent, ent (empty non-terminals),
	 * ns.sub or x.y.sub (below a cut); the cuts show NS, DS, RRSIG, NSEC only (not sub's A) */
	assert_string_equal(walk, "example. 600 a.b.c.ent.example. NS SOA MX RRSIG NSEC\n"
	                          "a.b.c.ent.example. 600 mail.example. AAAA RRSIG NSEC\n"
	                          "mail.example. 600 ns1.example. A RRSIG NSEC\n"
	                          "ns1.example. 600 sec.example. A RRSIG NSEC\n"
	                          "sec.example. 600 sub.example. NS DS RRSIG NSEC\n"
	                          "sub.example. 600 *.wild.example. NS RRSIG NSEC\n"
	                          "*.wild.example. 600 example. TXT RRSIG NSEC\n");
	size_t count = 0;
	zone_foreach(z, count_nsec, &count);
	assert_int_equal(count, 7);
	assert_int_equal(chain_diff(z, &p), 0);
	zone_free(z);
}

static void test_nsec3_apex_too_long(void **state)
{
	(void)state;
	char a[64], b[64], c[64], d[30], apex[300], zone[1024], err[1024];
	memset(a, 'a', 63), memset(b, 'b', 63), memset(c, 'c', 63), memset(d, 'd', 29);
	a[63] = b[63] = c[63] = d[29] = 0;
	for (int cut = 0; cut < 2; cut++) { /* 223 octets: refused; 222: the longest that fits */
		d[29 - cut] = 0;
		snprintf(apex, sizeof(apex), "%s.%s.%s.%s.", a, b, c, d);
		snprintf(zone, sizeof(zone), "$ORIGIN %s\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
		         apex);
		struct zone *z = load(zone, apex);
		struct nsec_params p = {.nsec3 = true};
		struct nsec_changes ch = {0};
		struct nsec_chain *idx = NULL;
		err[0] = 0;
		int rc = nsec_chain_build(z, &p, &idx, &ch, err, sizeof(err));
		if (cut == 0) {
			assert_int_equal(rc, TERN_EZONE);
			assert_non_null(strstr(err, "cannot use NSEC3"));
			assert_non_null(strstr(err, "256 octets"));
			assert_int_equal(ch.n, 0);
			assert_null(idx);
			p.nsec3 = false; /* NSEC is fine there */
			assert_int_equal(nsec_chain_build(z, &p, NULL, &ch, err, sizeof(err)), 0);
			assert_int_equal(ch.n, 2);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(ch.n, 3); /* two NSEC3 and the NSEC3PARAM */
			assert_int_equal(name_len(ch.v[0].owner), 255);
		}
		nsec_changes_free(&ch);
		nsec_chain_free(idx);
		zone_free(z);
	}
}

/* ---- the chain kept up to date ---- */

/* Names the random changes use: under the apex, deep, below cuts that come and go, wildcards. */
static const char *POOL[] = {"www",         "a.b.c", "b.c",   "c",   "x.a.b.c", "sub",      "ns.sub",
                             "deep.ns.sub", "y.sub", "*.w",   "w",   "q.w",     "x.y.w",    "y.w",
                             "z",           "m.z",   "n.m.z", "ins", "ns.ins",  "e.d.c.b.a"};

static void random_changes(const struct nsec_params *p, unsigned seed, int rounds)
{
	struct zone *z = load(ZONE, "example.");
	struct nsec_chain *c = NULL;
	z = with_chain(z, p, &c);
	srand(seed);
	uint8_t apex[NAME_MAXLEN];
	name_from_text(apex, "example.", NULL);
	for (int round = 0; round < rounds; round++) {
		struct zone_change v[6];
		uint8_t owners[6][NAME_MAXLEN], rd[6][64];
		const uint8_t *olist[6];
		size_t n = 1 + (size_t)(rand() % 5);
		for (size_t i = 0; i < n; i++) {
			const char *name = POOL[rand() % (int)(sizeof(POOL) / sizeof(POOL[0]))];
			assert_true(name_from_text(owners[i], name, apex) > 0);
			int kind = rand() % 10;
			bool del = rand() % 3 == 0;
			struct zone_change ch = {.owner = owners[i], .ttl = 300};
			if (kind < 4) { /* A */
				ch.type = RR_A;
				wire_put16(rd[i], 4);
				memcpy(rd[i] + 2, "\xc0\x00\x02\x01", 4);
				ch.rdata_size = 6;
			} else if (kind < 6) { /* TXT */
				ch.type = RR_TXT;
				wire_put16(rd[i], 2);
				memcpy(rd[i] + 2, "\x01t", 2);
				ch.rdata_size = 4;
			} else if (kind < 8) { /* NS: cuts come and go */
				ch.type = RR_NS;
				wire_put16(rd[i], 13);
				memcpy(rd[i] + 2, "\3ns1\7example", 13);
				rd[i][15] = 0;
				ch.rdata_size = 15;
				wire_put16(rd[i], 13);
			} else if (kind < 9) { /* DS: secure and insecure delegations */
				ch.type = RR_DS;
				wire_put16(rd[i], 8);
				memcpy(rd[i] + 2, "\x00\x01\x0d\x02\xaa\xbb\xcc\xdd", 8);
				ch.rdata_size = 10;
			} else { /* the SOA: its TTL and MINIMUM move every record's TTL */
				assert_true(name_from_text(owners[i], "@", apex) > 0);
				uint8_t soa[64];
				size_t len = 0;
				memcpy(soa, "\3ns1\7example\0\2hm\7example\0", 26);
				len = 26;
				wire_put32(soa + len, (uint32_t)round + 2), len += 4;
				for (int k = 0; k < 3; k++)
					wire_put32(soa + len, 3600), len += 4;
				wire_put32(soa + len, (uint32_t)(100 + rand() % 3 * 100)), len += 4;
				wire_put16(rd[i], (uint16_t)len);
				memcpy(rd[i] + 2, soa, len);
				ch.type = RR_SOA;
				ch.ttl = (uint32_t)(100 + rand() % 3 * 100);
				ch.rdata_size = (uint32_t)len + 2;
				del = false;
			}
			ch.count = del ? 0 : 1;
			ch.rdata = del ? NULL : rd[i];
			if (del)
				ch.rdata_size = 0;
			v[i] = ch;
			olist[i] = owners[i];
		}
		struct zone *mid = NULL;
		struct zone_apply_error e;
		if (zone_apply(z, v, n, &mid, &e) < 0)
			continue; /* a batch the zone's rules refuse (say, a CNAME clash): the next */
		zone_supersede(z, mid);
		zone_free(z);
		struct nsec_changes fix = {0};
		char err[1024];
		assert_int_equal(nsec_chain_update(c, mid, olist, n, &fix, err, sizeof(err)), 0);
		z = advance(mid, fix.v, fix.n);
		nsec_changes_free(&fix);
		size_t diff = chain_diff(z, p);
		if (diff)
			fail_msg("round %d (seed %u, %s%s): the kept chain differs from a new one in %zu records",
			         round, seed, p->nsec3 ? "NSEC3" : "NSEC", p->optout ? " opt-out" : "", diff);
	}
	nsec_chain_free(c);
	zone_free(z);
}

static void test_update_random_nsec(void **state)
{
	(void)state;
	struct nsec_params p = {0};
	random_changes(&p, 1, 400);
	random_changes(&p, 2, 400);
}

static void test_update_random_nsec3(void **state)
{
	(void)state;
	struct nsec_params p = {.nsec3 = true};
	random_changes(&p, 3, 400);
	p.salt_len = 2, p.salt[0] = 0xab, p.salt[1] = 0xcd, p.iterations = 1;
	random_changes(&p, 4, 200);
	struct nsec_params o = {.nsec3 = true, .optout = true};
	random_changes(&o, 5, 400);
}

/* A change of one name touches O(log n) of the index and a few records, not the zone. */
static void test_update_big_zone(void **state)
{
	(void)state;
	size_t names = 50000, cap = names * 40 + 200;
	char *text = malloc(cap);
	size_t pos = (size_t)snprintf(text, cap, "$ORIGIN big.\n$TTL 300\n@ SOA ns hm 1 2 3 4 60\n@ NS ns\n");
	for (size_t i = 0; i < names; i++)
		pos += (size_t)snprintf(text + pos, cap - pos, "n%zu.g%zu A 192.0.2.1\n", i, i % 100);
	struct zone *z = load(text, "big.");
	free(text);
	struct nsec_params p = {.nsec3 = true};
	struct nsec_chain *c = NULL;
	z = with_chain(z, &p, &c);
	uint8_t owner[NAME_MAXLEN], apex[NAME_MAXLEN], rd[6] = {0, 4, 192, 0, 2, 7};
	name_from_text(apex, "big.", NULL);
	name_from_text(owner, "new.g7", apex);
	struct zone_change v = {.owner = owner, .type = RR_A, .ttl = 300, .count = 1, .rdata = rd, .rdata_size = 6};
	const uint8_t *ol[1] = {owner};
	z = advance(z, &v, 1);
	struct nsec_changes fix = {0};
	char err[256];
	assert_int_equal(nsec_chain_update(c, z, ol, 1, &fix, err, sizeof(err)), 0);
	/* the new name's NSEC3, its predecessor's, and the apex (a candidate whose record stands) */
	assert_int_equal(fix.n, 2);
	z = advance(z, fix.v, fix.n);
	nsec_changes_free(&fix);
	nsec_chain_free(c);
	assert_int_equal(chain_diff(z, &p), 0);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bitmap_roundtrip),   cmocka_unit_test(test_bitmap_malformed),
	    cmocka_unit_test(test_base32hex),          cmocka_unit_test(test_nsec3_hash_rfc5155),
	    cmocka_unit_test(test_nsec3_hash_lengths), cmocka_unit_test(test_nsec3_chain_rfc5155),
	    cmocka_unit_test(test_nsec_chain),         cmocka_unit_test(test_nsec3_apex_too_long),
	    cmocka_unit_test(test_update_random_nsec), cmocka_unit_test(test_update_random_nsec3),
	    cmocka_unit_test(test_update_big_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
