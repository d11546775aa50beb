/* Unit tests for growing text (src/ternd/base/text.c): text_json_string writes what jansson's
 * json_dumps writes with JSON_ENSURE_ASCII for every well-formed string (the API's page of zones is
 * written with it, one zone read back with jansson), and \uFFFD for bytes that are not UTF-8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ternd/base/text.h"

/* s written by text_json_string, and by jansson (NULL when jansson takes it for no UTF-8). */
static void both(const char *s, char **ours, char **theirs)
{
	struct text t = {0};
	text_json_string(&t, s);
	assert_false(t.nomem);
	*ours = t.s;
	json_t *j = json_string(s);
	*theirs = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(j);
}

static void same_as_jansson(const char *s)
{
	char *ours, *theirs;
	both(s, &ours, &theirs);
	assert_non_null(theirs);
	assert_string_equal(ours, theirs);
	free(ours);
	free(theirs);
}

static void test_escapes(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "",
	    "example.com.",
	    "a\"b",
	    "back\\slash",
	    "x\\.y.example.",
	    "\b\f\n\r\t",
	    "\x01\x1f\x7f /",
	    "caf\xc3\xa9",
	    "\xe2\x82\xac 5",
	    "\xf0\x9f\x98\x80 grin",
	    "\xef\xbf\xbf",
	    "\xf4\x8f\xbf\xbf",
	    "locked: \"migration\" \xe2\x80\x94 ask ops\\team",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_as_jansson(cases[i]);
}

/* Every code point from U+0001 to U+10FFFF (surrogates left out), one at a time, as UTF-8. */
static void test_every_code_point(void **state)
{
	(void)state;
	for (uint32_t cp = 1; cp <= 0x10ffff; cp += cp < 0x800 ? 1 : 97) {
		if (cp >= 0xd800 && cp < 0xe000)
			continue;
		char s[5] = {0};
		if (cp < 0x80) {
			s[0] = (char)cp;
		} else if (cp < 0x800) {
			s[0] = (char)(0xc0 | cp >> 6), s[1] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			s[0] = (char)(0xe0 | cp >> 12), s[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
			s[2] = (char)(0x80 | (cp & 0x3f));
		} else {
			s[0] = (char)(0xf0 | cp >> 18), s[1] = (char)(0x80 | (cp >> 12 & 0x3f));
			s[2] = (char)(0x80 | (cp >> 6 & 0x3f)), s[3] = (char)(0x80 | (cp & 0x3f));
		}
		same_as_jansson(s);
	}
}

/* Bytes that start no well-formed sequence: each becomes \uFFFD, and what follows is kept. */
static void test_not_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\xff", "\"\\uFFFD\""},
	    {"a\x80z", "\"a\\uFFFDz\""},
	    {"\xc0\xaf", "\"\\uFFFD\\uFFFD\""}, /* overlong "/" */
	    {"\xed\xa0\x80", "\"\\uFFFD\\uFFFD\\uFFFD\""}, /* a surrogate */
	    {"\xf4\x90\x80\x80", "\"\\uFFFD\\uFFFD\\uFFFD\\uFFFD\""}, /* past U+10FFFF */
	    {"\xe2\x82", "\"\\uFFFD\\uFFFD\""}, /* cut short */
	    {"\xc3", "\"\\uFFFD\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *ours, *theirs;
		both(cases[i].in, &ours, &theirs);
		assert_null(theirs);
		assert_string_equal(ours, cases[i].out);
		free(ours);
	}
}

/* text_append and text_json_string grow the text from nothing and keep it NUL-terminated. */
static void test_grows(void **state)
{
	(void)state;
	struct text t = {0};
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int i = 0; i < 50; i++) {
		text_append(&t, ",", 1);
		text_json_string(&t, big);
	}
	assert_false(t.nomem);
	assert_int_equal(t.len, 50 * (1 + 2 + sizeof(big) - 1));
	assert_int_equal(strlen(t.s), t.len);
	text_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_every_code_point),
	    cmocka_unit_test(test_not_utf8),
	    cmocka_unit_test(test_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
