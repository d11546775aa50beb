/* Unit tests for lib/name: text conversion, comparison, canonical order, hashing and checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"

/* Parses text (absolute, or relative to origin_text when non-NULL) and fails the test on error. */
static int parse(uint8_t out[NAME_MAXLEN], const char *text, const char *origin_text)
{
	uint8_t origin[NAME_MAXLEN];
	const uint8_t *o = NULL;
	if (origin_text) {
		assert_true(name_from_text(origin, origin_text, NULL) > 0);
		o = origin;
	}
	int n = name_from_text(out, text, o);
	assert_true(n > 0);
	assert_int_equal((size_t)n, name_len(out));
	return n;
}

/* Parses then prints, and compares the printed form with want. */
static void check_text(const char *text, const char *origin, const char *want)
{
	uint8_t name[NAME_MAXLEN];
	char buf[1024];
	parse(name, text, origin);
	int n = name_to_text(name, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void check_wire(const char *text, const char *origin, const void *want, size_t wantlen)
{
	uint8_t name[NAME_MAXLEN];
	int n = parse(name, text, origin);
	assert_int_equal(n, (int)wantlen);
	assert_memory_equal(name, want, wantlen);
}

static void test_from_text_plain(void **state)
{
	(void)state;
	check_wire("www.example.com.", NULL, "\3www\7example\3com", 17);
	check_wire("www.example.com", NULL, "\3www\7example\3com", 17); /* no origin: absolute */
	check_wire(".", NULL, "", 1);
	check_wire("a.", NULL, "\1a", 3);
}

static void test_round_trip(void **state)
{
	(void)state;
	check_text("www.example.com.", NULL, "www.example.com.");
	check_text("WwW.ExAmple.COM.", NULL, "WwW.ExAmple.COM."); /* case is kept */
	check_text(".", NULL, ".");
	check_text("a\\.b.example.", NULL, "a\\.b.example.");
	check_text("a\\\\b.example.", NULL, "a\\\\b.example.");
	check_text("\\065bc.example.", NULL, "Abc.example.");
	check_text("a\\000b.example.", NULL, "a\\000b.example.");
	check_text("\\200.z.example.", NULL, "\\200.z.example.");
	check_text("sp\\ ace.example.", NULL, "sp\\032ace.example.");
	check_text("\\@\\$\\;\\(\\)\\\".example.", NULL, "\\@\\$\\;\\(\\)\\\".example.");
	check_text("*.example.", NULL, "*.example.");
	check_text("_sip._tcp.example.", NULL, "_sip._tcp.example.");
}

static void test_escapes_wire(void **state)
{
	(void)state;
	check_wire("a\\.b.", NULL, "\3a.b", 5);
	check_wire("a\\\\b.", NULL, "\3a\\b", 5);
	check_wire("\\065.", NULL, "\1A", 3);
	check_wire("\\000.", NULL, "\1\0", 3);
	check_wire("\\255x.", NULL, "\2\377x", 4);
	check_wire("\\x.", NULL, "\1x", 3);
}

static void test_escape_reprint_parses_back(void **state)
{
	(void)state;
	/* every octet value survives text -> wire -> text -> wire */
	for (int c = 0; c < 256; c++) {
		uint8_t name[NAME_MAXLEN] = {1, (uint8_t)c, 0}, again[NAME_MAXLEN];
		char buf[64];
		assert_true(name_to_text(name, buf, sizeof(buf)) > 0);
		assert_int_equal(name_from_text(again, buf, NULL), 3);
		assert_memory_equal(name, again, 3);
	}
}

static void test_relative(void **state)
{
	(void)state;
	check_wire("www", "example.com.", "\3www\7example\3com", 17);
	check_wire("a.b", "example.com.", "\1a\1b\7example\3com", 17);
	check_wire("www.other.", "example.com.", "\3www\5other", 11);
	check_wire("@", "example.com.", "\7example\3com", 13);
	check_wire(".", "example.com.", "", 1);
	check_text("www", "example.com.", "www.example.com.");
	check_text("@", ".", ".");
	check_text("www", ".", "www.");
}

static void test_at_without_origin(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN];
	assert_int_equal(name_from_text(name, "@", NULL), TERN_ENAME);
}

static void test_from_text_errors(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN];
	assert_int_equal(name_from_text(name, "", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "a..b", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "a..b.", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, ".a", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "..", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "a.b..", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "\\25", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "\\25.", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "\\2x5.", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "\\256.", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "\\999.", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "abc\\", NULL), TERN_ENAME);
	assert_int_equal(name_from_text(name, "\\", NULL), TERN_ENAME);
}

/* Builds an absolute text name of labels of the given lengths ('a's, then 'b's...). */
static void make_text(char *out, const int *lens, int n)
{
	size_t o = 0;
	for (int i = 0; i < n; i++) {
		memset(out + o, 'a' + i, (size_t)lens[i]);
		o += (size_t)lens[i];
		out[o++] = '.';
	}
	out[o] = 0;
}

static void test_label_length(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN];
	char text[1024];
	int l63[] = {63, 3}, l64[] = {64, 3};
	make_text(text, l63, 2);
	assert_int_equal(name_from_text(name, text, NULL), 64 + 4 + 1);
	make_text(text, l64, 2);
	assert_int_equal(name_from_text(name, text, NULL), TERN_ENAME);
	/* 64 octets through escapes too */
	char esc[300] = "";
	for (int i = 0; i < 64; i++)
		strcat(esc, "\\065");
	strcat(esc, ".");
	assert_int_equal(name_from_text(name, esc, NULL), TERN_ENAME);
	esc[4 * 63] = 0;
	strcat(esc, ".");
	assert_int_equal(name_from_text(name, esc, NULL), 65);
}

static void test_name_length(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN];
	char text[1024];
	/* 64 + 64 + 64 + 62 + 1 = 255: the largest legal name */
	int max[] = {63, 63, 63, 61};
	make_text(text, max, 4);
	assert_int_equal(name_from_text(name, text, NULL), 255);
	char back[1024];
	assert_int_equal(name_to_text(name, back, sizeof(back)), (int)strlen(text));
	assert_string_equal(back, text);
	/* one more octet */
	int over[] = {63, 63, 63, 62};
	make_text(text, over, 4);
	assert_int_equal(name_from_text(name, text, NULL), TERN_ENAME);
	int way_over[] = {63, 63, 63, 63, 63};
	make_text(text, way_over, 5);
	assert_int_equal(name_from_text(name, text, NULL), TERN_ENAME);
	/* 127 one-octet labels = 255 octets, 128 = 257 */
	char many[600] = "";
	for (int i = 0; i < 127; i++)
		strcat(many, "a.");
	assert_int_equal(name_from_text(name, many, NULL), 255);
	assert_int_equal(name_labels(name), 127);
	strcat(many, "a.");
	assert_int_equal(name_from_text(name, many, NULL), TERN_ENAME);
}

static void test_relative_too_long(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN], origin[NAME_MAXLEN];
	char text[1024];
	int o[] = {63, 63, 63};
	make_text(text, o, 3); /* 193 octets */
	assert_int_equal(name_from_text(origin, text, NULL), 193);
	char rel[128];
	memset(rel, 'r', 61);
	rel[61] = 0;
	assert_int_equal(name_from_text(name, rel, origin), 255);
	rel[61] = 'r';
	rel[62] = 0;
	assert_int_equal(name_from_text(name, rel, origin), TERN_ENAME);
}

static void test_to_text_space(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN];
	char buf[64];
	parse(name, "www.example.com.", NULL);
	assert_int_equal(name_to_text(name, buf, 10), TERN_ESPACE);
	assert_int_equal(name_to_text(name, buf, 16), TERN_ESPACE); /* no room for the NUL */
	assert_int_equal(name_to_text((const uint8_t *)"", buf, 1), TERN_ESPACE);
	assert_int_equal(name_to_text((const uint8_t *)"", buf, 2), 1);
	assert_string_equal(buf, ".");
	/* a 255-octet name of escaped octets needs 4 characters per octet */
	uint8_t big[NAME_MAXLEN];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		int ll = l < 3 ? 63 : 61;
		big[o++] = (uint8_t)ll;
		memset(big + o, 0xff, (size_t)ll);
		o += (size_t)ll;
	}
	big[o++] = 0;
	assert_int_equal(o, 255);
	char huge[1100];
	int n = name_to_text(big, huge, sizeof(huge));
	assert_int_equal(n, 250 * 4 + 4);
	assert_int_equal(name_from_text(name, huge, NULL), 255);
	assert_memory_equal(name, big, 255);
	assert_int_equal(name_to_text(big, huge, 500), TERN_ESPACE);
}

/* A buffer of exactly strlen + 1 is enough (the text and its NUL). */
static void test_to_text_exact_fit(void **state)
{
	(void)state;
	uint8_t name[NAME_MAXLEN];
	char buf[64];
	parse(name, "www.example.com.", NULL);
	assert_int_equal(name_to_text(name, buf, 17), 16);
	assert_string_equal(buf, "www.example.com.");
	parse(name, "a\\\\.", NULL); /* text a\\. */
	assert_int_equal(name_to_text(name, buf, 5), 4);
	assert_string_equal(buf, "a\\\\.");
	parse(name, "\\200.", NULL);
	assert_int_equal(name_to_text(name, buf, 6), 5);
	assert_string_equal(buf, "\\200.");
}

static void test_equal_in(void **state)
{
	(void)state;
	uint8_t a[NAME_MAXLEN], b[NAME_MAXLEN], c[NAME_MAXLEN], root[NAME_MAXLEN];
	parse(a, "WWW.Example.COM.", NULL);
	parse(b, "www.example.com.", NULL);
	parse(c, "example.com.", NULL);
	parse(root, ".", NULL);
	assert_true(name_equal(a, b));
	assert_true(name_equal(b, a));
	assert_false(name_equal(a, c));
	assert_true(name_in(a, c));
	assert_true(name_in(a, b));
	assert_true(name_in(c, c));
	assert_true(name_in(a, root));
	assert_true(name_in(root, root));
	assert_false(name_in(c, a));
	assert_false(name_in(root, c));
	uint8_t d[NAME_MAXLEN], e[NAME_MAXLEN];
	parse(d, "wwwexample.com.", NULL);
	assert_false(name_in(d, b));
	parse(d, "EXAMPLE.com.", NULL);
	assert_true(name_in(a, d));
	parse(e, "www.example.org.", NULL);
	assert_false(name_in(e, c));
	assert_false(name_equal(e, b));
	/* only ASCII letters fold: '[' (0x5b) is not '{' (0x7b), 0xc1 is not 0xe1 */
	assert_false(name_equal((const uint8_t *)"\1[", (const uint8_t *)"\1{"));
	assert_false(name_equal((const uint8_t *)"\1\301", (const uint8_t *)"\1\341"));
	assert_false(name_equal((const uint8_t *)"\1@", (const uint8_t *)"\1`"));
	/* same letters, different label boundaries */
	assert_false(name_equal((const uint8_t *)"\2ab\1c", (const uint8_t *)"\1a\2bc"));
}

static void test_lower(void **state)
{
	(void)state;
	uint8_t a[NAME_MAXLEN];
	parse(a, "WwW.EXAMPLE.com.", NULL);
	name_lower(a);
	assert_memory_equal(a, "\3www\7example\3com", 17);
	/* only letters fold; other octets and label lengths stay */
	uint8_t b[] = "\1Z\1[\1\332";
	name_lower(b);
	assert_memory_equal(b, "\1z\1[\1\332", 7);
}

static void test_canonical_order(void **state)
{
	(void)state;
	/* RFC 4034 section 6.1 */
	const char *order[] = {
	    "example.",   "a.example.",       "yljkjljk.a.example.", "Z.a.example.",     "zABC.a.EXAMPLE.",
	    "z.example.", "\\001.z.example.", "*.z.example.",        "\\200.z.example.",
	};
	size_t n = sizeof(order) / sizeof(order[0]);
	uint8_t names[9][NAME_MAXLEN];
	for (size_t i = 0; i < n; i++)
		parse(names[i], order[i], NULL);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int c = name_cmp(names[i], names[j]);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	}
}

static void test_cmp_more(void **state)
{
	(void)state;
	uint8_t a[NAME_MAXLEN], b[NAME_MAXLEN], root[NAME_MAXLEN];
	parse(root, ".", NULL);
	parse(a, "example.", NULL);
	assert_true(name_cmp(root, a) < 0);
	assert_true(name_cmp(a, root) > 0);
	assert_int_equal(name_cmp(root, root), 0);
	parse(a, "Example.COM.", NULL);
	parse(b, "eXAMPLE.com.", NULL);
	assert_int_equal(name_cmp(a, b), 0);
	/* the rightmost label decides first */
	parse(a, "z.a.", NULL);
	parse(b, "a.b.", NULL);
	assert_true(name_cmp(a, b) < 0);
	/* octets compare unsigned */
	parse(a, "\\127.", NULL);
	parse(b, "\\128.", NULL);
	assert_true(name_cmp(a, b) < 0);
	/* upper case letters sort as lower case: 'Z' (0x5a) after '_' (0x5f) once folded */
	parse(a, "_.", NULL);
	parse(b, "Z.", NULL);
	assert_true(name_cmp(a, b) < 0);
	/* label prefix sorts first */
	parse(a, "ab.", NULL);
	parse(b, "abc.", NULL);
	assert_true(name_cmp(a, b) < 0);
	assert_true(name_cmp(b, a) > 0);
	/* 127 labels do not overflow the label table */
	char many[600] = "";
	for (int i = 0; i < 127; i++)
		strcat(many, "a.");
	parse(a, many, NULL);
	many[252] = 'b';
	parse(b, many, NULL);
	assert_true(name_cmp(a, b) < 0);
}

static void test_hash(void **state)
{
	(void)state;
	uint8_t a[NAME_MAXLEN], b[NAME_MAXLEN], c[NAME_MAXLEN];
	parse(a, "WWW.Example.COM.", NULL);
	parse(b, "www.example.com.", NULL);
	parse(c, "www.example.org.", NULL);
	assert_int_equal(name_hash(a), name_hash(b));
	assert_int_not_equal(name_hash(a), name_hash(c));
	parse(a, "ZzZ.", NULL);
	parse(b, "zZz.", NULL);
	assert_int_equal(name_hash(a), name_hash(b));
	assert_int_equal(name_hash((const uint8_t *)""), name_hash((const uint8_t *)""));
}

static void test_suffix_hashes(void **state)
{
	(void)state;
	const char *names[] = {"a.b.example.com.", ".", "com.", "*.x.y.z.", "\\200.\\000.q."};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		uint8_t n[NAME_MAXLEN];
		parse(n, names[k], NULL);
		uint32_t h[NAME_MAXLABELS + 1];
		int labels = name_suffix_hashes(n, h);
		assert_int_equal(labels, name_labels(n));
		const uint8_t *p = n;
		for (int i = 0; i <= labels; i++) {
			assert_int_equal(h[i], name_hash(p));
			p = i < labels ? name_parent(p) : p;
		}
	}
	/* 127 labels: the largest table */
	char many[600] = "";
	for (int i = 0; i < 127; i++)
		strcat(many, i % 2 ? "b." : "a.");
	uint8_t n[NAME_MAXLEN];
	parse(n, many, NULL);
	uint32_t h[NAME_MAXLABELS + 1];
	assert_int_equal(name_suffix_hashes(n, h), 127);
	assert_int_equal(h[0], name_hash(n));
	assert_int_equal(h[127], name_hash((const uint8_t *)""));
	assert_int_equal(h[126], name_hash((const uint8_t *)"\1a"));
}

/* name_scan(): the name wire_read_name() reads, lower-cased with name_suffix_hashes(), in one
 * pass; and nothing for what it leaves to the general reader. */
static void test_scan(void **state)
{
	(void)state;
	const char *names[] = {"WwW.Geo.BENCH.",
	                       ".",
	                       "a.",
	                       "*.X.y.Z.",
	                       "\\200\\255Q.\\000.q.",
	                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.x."};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		uint8_t msg[NAME_MAXLEN + 4], lout[NAME_MAXLEN], low[NAME_MAXLEN];
		int len = parse(msg, names[k], NULL);
		memcpy(msg + len, "\0\1\0\1", 4);
		uint32_t h[NAME_MAXLABELS + 1], want[NAME_MAXLABELS + 1];
		int labels = -1;
		for (size_t avail = (size_t)len; avail <= (size_t)len + 4; avail += 4) {
			assert_int_equal(name_scan(msg, avail, lout, h, &labels), len);
			memcpy(low, msg, (size_t)len);
			name_lower(low);
			assert_memory_equal(lout, low, (size_t)len);
			assert_int_equal(labels, name_suffix_hashes(low, want));
			for (int i = 0; i <= labels; i++)
				assert_int_equal(h[i], want[i]);
			assert_int_equal(h[0], name_hash(msg)); /* the case as sent hashes the same */
		}
		assert_int_equal(name_scan(msg, (size_t)len - 1, lout, h, &labels), -1); /* cut short */
	}
	/* a pointer, the obsolete label types, a name longer than 255 octets */
	const uint8_t ptr[] = {3, 'w', 'w', 'w', 0xc0, 0}, obs[] = {0x40, 0}, ext[] = {0x80, 0};
	uint8_t lout[NAME_MAXLEN], longer[300];
	uint32_t h[NAME_MAXLABELS + 1];
	int labels;
	assert_int_equal(name_scan(ptr, sizeof(ptr), lout, h, &labels), -1);
	assert_int_equal(name_scan(obs, sizeof(obs), lout, h, &labels), -1);
	assert_int_equal(name_scan(ext, sizeof(ext), lout, h, &labels), -1);
	memset(longer, 0, sizeof(longer));
	for (size_t p = 0; p + 64 < sizeof(longer); p += 64)
		longer[p] = 63; /* four 63-octet labels: 257 octets with the root */
	assert_int_equal(name_scan(longer, sizeof(longer), lout, h, &labels), -1);
	longer[192] = 61; /* 255 octets: the longest name */
	longer[254] = 0;
	assert_int_equal(name_scan(longer, sizeof(longer), lout, h, &labels), 255);
	assert_int_equal(labels, 4);
}

static void test_lower_copy(void **state)
{
	(void)state;
	uint8_t n[NAME_MAXLEN], out[NAME_MAXLEN], ref[NAME_MAXLEN];
	int len = parse(n, "WwW.EXAMPLE.com.", NULL);
	memcpy(ref, n, (size_t)len);
	name_lower(ref);
	memset(out, 0xee, sizeof(out));
	name_lower_copy(out, n, (size_t)len);
	assert_memory_equal(out, ref, (size_t)len);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	assert_int_equal(out[len], 0xee); /* nothing past len */
	assert_memory_equal(n, "\3WwW\7EXAMPLE\3com", 17); /* source untouched */
	/* every letter folds; the length octet (26) stays */
	parse(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.", NULL);
	name_lower_copy(out, n, 28);
	assert_memory_equal(out, "\32abcdefghijklmnopqrstuvwxyz", 28);
}

static void test_labels_parent(void **state)
{
	(void)state;
	uint8_t a[NAME_MAXLEN];
	parse(a, "www.example.com.", NULL);
	assert_int_equal(name_labels(a), 3);
	assert_int_equal(name_len(a), 17);
	const uint8_t *p = name_parent(a);
	assert_ptr_equal(p, a + 4);
	assert_int_equal(name_labels(p), 2);
	p = name_parent(p);
	assert_memory_equal(p, "\3com", 5);
	p = name_parent(p);
	assert_int_equal(*p, 0);
	assert_int_equal(name_labels(p), 0);
	assert_int_equal(name_len(p), 1);
	assert_null(name_parent(p));
}

static void test_wildcard(void **state)
{
	(void)state;
	uint8_t a[NAME_MAXLEN];
	parse(a, "*.example.", NULL);
	assert_true(name_is_wildcard(a));
	parse(a, "*", NULL);
	assert_true(name_is_wildcard(a));
	parse(a, "*a.example.", NULL);
	assert_false(name_is_wildcard(a));
	parse(a, "a.*.example.", NULL);
	assert_false(name_is_wildcard(a));
	parse(a, "\\*.example.", NULL); /* an escaped star is still the octet '*' */
	assert_true(name_is_wildcard(a));
	parse(a, "\\042.example.", NULL);
	assert_true(name_is_wildcard(a));
	assert_false(name_is_wildcard((const uint8_t *)""));
}

static void test_check(void **state)
{
	(void)state;
	const uint8_t good[] = "\3www\7example\3com"; /* 17 with the NUL */
	assert_int_equal(name_check(good, 17), 17);
	assert_int_equal(name_check(good, sizeof(good)), 17);
	/* trailing data after the name is fine: the length returned is the name's */
	uint8_t more[32];
	memcpy(more, good, 17);
	memset(more + 17, 0xee, 15);
	assert_int_equal(name_check(more, sizeof(more)), 17);
	/* truncated at every point */
	for (size_t len = 0; len < 17; len++)
		assert_int_equal(name_check(good, len), TERN_ENAME);
	assert_int_equal(name_check((const uint8_t *)"", 1), 1);
	assert_int_equal(name_check((const uint8_t *)"", 0), TERN_ENAME);
	/* compression pointers and other label types are not allowed */
	assert_int_equal(name_check((const uint8_t *)"\3www\300\014", 6), TERN_ENAME);
	assert_int_equal(name_check((const uint8_t *)"\100abc", 5), TERN_ENAME);
	assert_int_equal(name_check((const uint8_t *)"\200abc", 5), TERN_ENAME);
	/* 64-octet label */
	uint8_t l64[70] = {64};
	memset(l64 + 1, 'a', 64);
	l64[65] = 0;
	assert_int_equal(name_check(l64, 66), TERN_ENAME);
	l64[0] = 63;
	l64[64] = 0;
	assert_int_equal(name_check(l64, 65), 65);
}

static void test_check_overlong(void **state)
{
	(void)state;
	uint8_t buf[400];
	size_t o = 0;
	/* 255 octets: legal */
	for (int l = 0; l < 4; l++) {
		int ll = l < 3 ? 63 : 61;
		buf[o++] = (uint8_t)ll;
		memset(buf + o, 'x', (size_t)ll);
		o += (size_t)ll;
	}
	buf[o++] = 0;
	assert_int_equal(o, 255);
	assert_int_equal(name_check(buf, sizeof(buf)), 255);
	assert_int_equal(name_check(buf, 255), 255);
	assert_int_equal(name_check(buf, 254), TERN_ENAME);
	/* 256 octets */
	o = 0;
	for (int l = 0; l < 4; l++) {
		int ll = l < 3 ? 63 : 62;
		buf[o++] = (uint8_t)ll;
		memset(buf + o, 'x', (size_t)ll);
		o += (size_t)ll;
	}
	buf[o++] = 0;
	assert_int_equal(o, 256);
	assert_int_equal(name_check(buf, sizeof(buf)), TERN_ENAME);
	/* 128 one-octet labels: 257 octets */
	for (int i = 0; i < 128; i++) {
		buf[2 * i] = 1;
		buf[2 * i + 1] = 'a';
	}
	buf[256] = 0;
	assert_int_equal(name_check(buf, 257), TERN_ENAME);
	buf[254] = 0; /* 127 labels: 255 octets */
	assert_int_equal(name_check(buf, 257), 255);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_text_plain),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_escapes_wire),
	    cmocka_unit_test(test_escape_reprint_parses_back),
	    cmocka_unit_test(test_relative),
	    cmocka_unit_test(test_at_without_origin),
	    cmocka_unit_test(test_from_text_errors),
	    cmocka_unit_test(test_label_length),
	    cmocka_unit_test(test_name_length),
	    cmocka_unit_test(test_relative_too_long),
	    cmocka_unit_test(test_to_text_space),
	    cmocka_unit_test(test_to_text_exact_fit),
	    cmocka_unit_test(test_equal_in),
	    cmocka_unit_test(test_lower),
	    cmocka_unit_test(test_canonical_order),
	    cmocka_unit_test(test_cmp_more),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_suffix_hashes),
	    cmocka_unit_test(test_lower_copy),
	    cmocka_unit_test(test_labels_parent),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_check_overlong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
