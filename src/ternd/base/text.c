/* Text that grows as it is written (text.h): vsnprintf into the room left, grown and written again
 * when it did not fit. */
#include "ternd/base/text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and a NUL; false (nomem set) when there is none. */
static bool text_room(struct text *t, size_t n)
{
	if (t->nomem)
		return false;
	if (t->s && t->len + n < t->cap)
		return true;
	size_t ncap = (t->len + n + 1) * 2;
	char *grown = realloc(t->s, ncap);
	if (!grown) {
		t->nomem = true;
		return false;
	}
	t->s = grown;
	t->cap = ncap;
	return true;
}

void text_printf(struct text *t, const char *fmt, ...)
{
	for (int pass = 0; pass < 2 && !t->nomem; pass++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->nomem = true;
			return;
		}
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		if (!text_room(t, (size_t)n)) /* then written again */
			return;
	}
}

void text_free(struct text *t)
{
	free(t->s);
	*t = (struct text){0};
}

void text_append(struct text *t, const char *s, size_t n)
{
	if (!text_room(t, n))
		return;
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = 0;
}

/* The code point of the UTF-8 sequence at s (at most n bytes) and its length in *len; U+FFFD and
 * a length of 1 for a byte that starts no well-formed sequence (overlong, surrogate, past U+10FFFF
 * or cut short). */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *len)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t want = s[0] >= 0xf0 && s[0] < 0xf5   ? 4
	              : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
	              : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
	                                            : 0;
	*len = 1;
	if (want == 0 || want > n)
		return 0xfffd;
	uint32_t cp = s[0] & (0xff >> (want + 1));
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0xfffd;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[want] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		return 0xfffd;
	*len = want;
	return cp;
}

/* str (n bytes) as a quoted JSON string at o, which has room for n * 6 + 3 bytes; returns the
 * end (a NUL is written there). At most 6 characters a byte: \u0001 or \uFFFD for one byte, 12
 * for a 4-byte sequence. */
static char *json_quote(char *o, const unsigned char *s, size_t n)
{
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c < 0x80) {
			static const char short_esc[] = {['"'] = '"',  ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
			                                 ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't'};
			if (c < sizeof(short_esc) && short_esc[c]) {
				*o++ = '\\';
				*o++ = short_esc[c];
			} else {
				o += sprintf(o, "\\u%04X", c);
			}
			i++;
			continue;
		}
		size_t len;
		uint32_t cp = utf8_next(s + i, n - i, &len);
		if (cp >= 0x10000) /* a surrogate pair */
			o += sprintf(o, "\\u%04X\\u%04X", 0xd800 + ((cp - 0x10000) >> 10),
			             0xdc00 + ((cp - 0x10000) & 0x3ff));
		else
			o += sprintf(o, "\\u%04X", cp);
		i += len;
	}
	*o++ = '"';
	*o = 0;
	return o;
}

void text_json_string(struct text *t, const char *str)
{
	size_t n = strlen(str);
	if (!text_room(t, n * 6 + 2))
		return;
	t->len = (size_t)(json_quote(t->s + t->len, (const unsigned char *)str, n) - t->s);
}

void text_json_escape(const char *str, char *out, size_t cap)
{
	size_t n = strlen(str);
	if (cap < 3) {
		if (cap)
			*out = 0;
		return;
	}
	if (n * 6 + 3 > cap) /* only whole characters go in: cut the input to what surely fits */
		n = (cap - 3) / 6;
	json_quote(out, (const unsigned char *)str, n);
}
