/* Unit tests for lib/wire: the bounds-checked name reader, RR skipping and the compressing writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/wire.h"

/* A message under construction for reader tests: a zero header then raw bytes. */
struct msg {
	uint8_t b[1024];
	size_t len;
};

static void msg_init(struct msg *m)
{
	memset(m->b, 0, sizeof(m->b));
	m->len = WIRE_HEADER_LEN;
}

/* Appends raw bytes; returns the offset they start at. */
static size_t msg_add(struct msg *m, const void *data, size_t len)
{
	size_t off = m->len;
	assert_true(m->len + len <= sizeof(m->b));
	memcpy(m->b + m->len, data, len);
	m->len += len;
	return off;
}

static size_t msg_ptr(struct msg *m, size_t target)
{
	uint8_t p[2] = {(uint8_t)(0xc0 | target >> 8), (uint8_t)target};
	return msg_add(m, p, 2);
}

static void to_name(uint8_t out[NAME_MAXLEN], const char *text)
{
	assert_true(name_from_text(out, text, NULL) > 0);
}

/* ---- reader ---- */

static void test_read_plain(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t off = msg_add(&m, "\3www\7example\3com", 17);
	msg_add(&m, "\0\1\0\1", 4); /* QTYPE, QCLASS */
	uint8_t out[NAME_MAXLEN];
	size_t pos = off;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 17);
	assert_int_equal(pos, off + 17);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	/* the root */
	msg_init(&m);
	off = msg_add(&m, "", 1);
	pos = off;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 1);
	assert_int_equal(pos, off + 1);
	assert_int_equal(out[0], 0);
}

static void test_read_keeps_case(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t off = msg_add(&m, "\3WwW\7eXample\3COM", 17);
	uint8_t out[NAME_MAXLEN];
	size_t pos = off;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 17);
	assert_memory_equal(out, "\3WwW\7eXample\3COM", 17);
}

static void test_read_compressed(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t ex = msg_add(&m, "\7example\3com", 13);
	size_t www = msg_add(&m, "\3www", 4);
	msg_ptr(&m, ex);
	size_t mail = msg_add(&m, "\4mail", 5);
	msg_ptr(&m, www); /* a pointer to a name that itself ends in a pointer */
	size_t bare = msg_ptr(&m, ex + 8); /* a pointer to a suffix ("com") */
	msg_add(&m, "\xff\xff", 2); /* trailing bytes that must not be read */

	uint8_t out[NAME_MAXLEN];
	size_t pos = www;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 17);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	assert_int_equal(pos, www + 6); /* just after the pointer */

	pos = mail;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 22);
	assert_memory_equal(out, "\4mail\3www\7example\3com", 22);
	assert_int_equal(pos, mail + 7); /* after the first pointer, not the last one followed */

	pos = bare;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 5);
	assert_memory_equal(out, "\3com", 5);
	assert_int_equal(pos, bare + 2);
}

static void test_read_pointer_to_itself(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t off = m.len;
	msg_ptr(&m, off);
	uint8_t out[NAME_MAXLEN];
	size_t pos = off;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	assert_int_equal(pos, off); /* untouched on error */

	/* labels then a pointer back to the start of the same name */
	msg_init(&m);
	off = msg_add(&m, "\1a\1b", 4);
	msg_ptr(&m, off);
	pos = off;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	/* ... or into its own labels */
	msg_init(&m);
	off = msg_add(&m, "\1a\1b", 4);
	msg_ptr(&m, off + 2);
	pos = off;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
}

static void test_read_pointer_loop(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t a = m.len, b = a + 2;
	msg_ptr(&m, b); /* a -> b */
	msg_ptr(&m, a); /* b -> a */
	uint8_t out[NAME_MAXLEN];
	size_t pos = a;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	pos = b;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);

	/* a loop through labels: x: "\1x" -> y, y: "\1y" -> x */
	msg_init(&m);
	size_t x = m.len, y = x + 4;
	msg_add(&m, "\1x", 2);
	msg_ptr(&m, y);
	msg_add(&m, "\1y", 2);
	msg_ptr(&m, x);
	pos = x;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	pos = y;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
}

static void test_read_forward_pointer(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t p = m.len;
	msg_ptr(&m, p + 2);
	msg_add(&m, "\3com", 5); /* a valid name, but ahead of the pointer */
	uint8_t out[NAME_MAXLEN];
	size_t pos = p;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
}

static void test_read_pointer_past_end(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t p = msg_add(&m, "\3www", 4);
	msg_ptr(&m, 0x3fff);
	uint8_t out[NAME_MAXLEN];
	size_t pos = p;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);

	/* a pointer cut in half by the end of the message */
	msg_init(&m);
	msg_add(&m, "\3com", 5);
	size_t q = msg_add(&m, "\3www\300", 5);
	pos = q;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	/* starting at or past the end */
	pos = m.len;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	pos = m.len + 10;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
}

static void test_read_label_past_end(void **state)
{
	(void)state;
	struct msg m;
	uint8_t out[NAME_MAXLEN];
	size_t pos;
	const uint8_t name[] = "\3www\7example\3com";
	/* every truncation of the name fails, including a missing root label */
	for (size_t cut = 0; cut < 17; cut++) {
		msg_init(&m);
		size_t off = msg_add(&m, name, cut);
		pos = off;
		assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	}
	/* a label running past the end of a pointed-to name */
	msg_init(&m);
	size_t z = msg_add(&m, "\0\0\0\0", 4);
	size_t p = msg_add(&m, "\1a", 2);
	msg_ptr(&m, z); /* points at a root label: fine */
	pos = p;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 3);
	msg_init(&m);
	size_t t = msg_add(&m, "?abc", 4); /* '?' is 63: claims 63 octets, only 3 before the pointer */
	p = msg_add(&m, "\1a", 2);
	msg_ptr(&m, t);
	pos = p;
	/* 63 octets from t reach past the end of this short message */
	assert_true(t + 1 + 63 > m.len);
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
}

static void test_read_bad_label_types(void **state)
{
	(void)state;
	struct msg m;
	uint8_t out[NAME_MAXLEN];
	size_t pos;
	const uint8_t types[] = {0x40, 0x41, 0x7f, 0x80, 0x81, 0xbf};
	for (size_t i = 0; i < sizeof(types); i++) {
		msg_init(&m);
		size_t off = msg_add(&m, "\3www", 4);
		uint8_t bad[3] = {types[i], 'a', 0};
		msg_add(&m, bad, 3);
		msg_add(&m, "\0\0\0\0\0\0\0\0", 8);
		pos = off;
		assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
		pos = off + 4;
		assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	}
}

/* Builds a chain: a 63-octet label ending in the root, then further 63-octet labels each pointing
 * back at the previous one. Returns the offset of the last (longest) name. */
static size_t build_chain(struct msg *m, int links, int first_len)
{
	uint8_t label[64];
	label[0] = (uint8_t)first_len;
	memset(label + 1, 'a', (size_t)first_len);
	size_t prev = msg_add(m, label, (size_t)first_len + 1);
	msg_add(m, "", 1);
	for (int i = 1; i < links; i++) {
		label[0] = 63;
		memset(label + 1, 'a' + i, 63);
		size_t here = msg_add(m, label, 64);
		msg_ptr(m, prev);
		prev = here;
	}
	return prev;
}

static void test_read_too_long_through_pointers(void **state)
{
	(void)state;
	struct msg m;
	uint8_t out[NAME_MAXLEN];
	/* 64 * 3 + (61 + 1) + 1 = 255: fits */
	msg_init(&m);
	size_t start = build_chain(&m, 4, 61);
	size_t pos = start;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 255);
	assert_int_equal(pos, start + 66);
	assert_int_equal(name_len(out), 255);
	/* 256 octets */
	msg_init(&m);
	start = build_chain(&m, 4, 62);
	pos = start;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
	assert_int_equal(pos, start);
	/* far more */
	msg_init(&m);
	start = build_chain(&m, 8, 63);
	pos = start;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), TERN_EMALF);
}

static void test_read_many_pointers(void **state)
{
	(void)state;
	/* a chain of pointers each jumping back two octets: legal as long as each goes backwards */
	struct msg m;
	msg_init(&m);
	size_t root = msg_add(&m, "", 1);
	size_t prev = root;
	for (int i = 0; i < 100; i++) {
		size_t here = m.len;
		msg_ptr(&m, prev);
		prev = here;
	}
	uint8_t out[NAME_MAXLEN];
	size_t pos = prev;
	assert_int_equal(wire_read_name(m.b, m.len, &pos, out), 1);
	assert_int_equal(pos, prev + 2);
}

/* ---- wire_skip_rr ---- */

static size_t build_rr(struct msg *m)
{
	size_t off = msg_add(m, "\3www\7example\3com", 17);
	msg_add(m, "\0\1\0\1\0\0\x0e\x10\0\4", 10); /* A IN 3600 rdlen 4 */
	msg_add(m, "\xc0\0\2\1", 4);
	return off;
}

static void test_skip_rr(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t off = build_rr(&m);
	size_t end = m.len;
	size_t second = msg_add(&m, "\xc0\x0c\0\x10\0\1\0\0\0\0\0\0", 12); /* TXT with empty RDATA */
	size_t pos = off, rdpos = 0;
	uint16_t type = 0, rdlen = 0;
	assert_int_equal(wire_skip_rr(m.b, m.len, &pos, &type, &rdpos, &rdlen), 0);
	assert_int_equal(pos, end);
	assert_int_equal(type, 1);
	assert_int_equal(rdpos, off + 27);
	assert_int_equal(rdlen, 4);
	assert_int_equal(pos, second);
	assert_int_equal(wire_skip_rr(m.b, m.len, &pos, &type, &rdpos, &rdlen), 0);
	assert_int_equal(type, 16);
	assert_int_equal(rdlen, 0);
	assert_int_equal(rdpos, m.len);
	assert_int_equal(pos, m.len);
	/* NULL outputs are allowed */
	pos = off;
	assert_int_equal(wire_skip_rr(m.b, m.len, &pos, NULL, NULL, NULL), 0);
	assert_int_equal(pos, end);
}

static void test_skip_rr_truncated(void **state)
{
	(void)state;
	struct msg m;
	msg_init(&m);
	size_t off = build_rr(&m);
	size_t full = m.len;
	for (size_t len = off; len < full; len++) {
		size_t pos = off;
		uint16_t type = 0xdead;
		assert_int_equal(wire_skip_rr(m.b, len, &pos, &type, NULL, NULL), TERN_EMALF);
		assert_int_equal(pos, off);
		assert_int_equal(type, 0xdead);
	}
	size_t pos = off;
	assert_int_equal(wire_skip_rr(m.b, full, &pos, NULL, NULL, NULL), 0);
	/* RDLENGTH larger than what follows */
	m.b[off + 26] = 5;
	pos = off;
	assert_int_equal(wire_skip_rr(m.b, full, &pos, NULL, NULL, NULL), TERN_EMALF);
	m.b[off + 25] = 0xff;
	m.b[off + 26] = 0xff;
	assert_int_equal(wire_skip_rr(m.b, full, &pos, NULL, NULL, NULL), TERN_EMALF);
	/* a bad owner name */
	msg_init(&m);
	off = msg_add(&m, "\xc0\x0c\0\1\0\1\0\0\0\0\0\0", 12);
	pos = off;
	assert_int_equal(wire_skip_rr(m.b, m.len, &pos, NULL, NULL, NULL), TERN_EMALF);
}

/* ---- writer ---- */

static void test_write_basic(void **state)
{
	(void)state;
	uint8_t buf[32];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(w.pos, 0);
	assert_int_equal(w.ncomp, 0);
	assert_int_equal(wire_write16(&w, 0x1234), 0);
	assert_int_equal(wire_write32(&w, 0xdeadbeef), 0);
	assert_int_equal(wire_write(&w, "xyz", 3), 0);
	assert_int_equal(w.pos, 9);
	assert_memory_equal(buf, "\x12\x34\xde\xad\xbe\xefxyz", 9);
	assert_int_equal(wire_get16(buf), 0x1234);
	assert_int_equal(wire_get32(buf + 2), 0xdeadbeef);
}

static void test_write_space(void **state)
{
	(void)state;
	uint8_t buf[8];
	struct wire_writer w;
	wire_writer_init(&w, buf, 5);
	assert_int_equal(wire_write32(&w, 1), 0);
	assert_int_equal(wire_write16(&w, 1), TERN_ESPACE);
	assert_int_equal(w.pos, 4);
	assert_int_equal(wire_write32(&w, 1), TERN_ESPACE);
	assert_int_equal(wire_write(&w, "ab", 2), TERN_ESPACE);
	assert_int_equal(w.pos, 4);
	assert_int_equal(wire_write(&w, "a", 1), 0);
	assert_int_equal(w.pos, 5);
	assert_int_equal(wire_write(&w, "", 0), 0);
}

static void test_compression_round_trip(void **state)
{
	(void)state;
	const char *names[] = {
	    "www.example.com.",
	    "mail.example.com.",
	    "example.com.",
	    "WWW.EXAMPLE.COM.",
	    "a.b.c.example.com.",
	    "b.c.example.com.",
	    "x.b.c.example.com.",
	    "example.org.",
	    "www.example.org.",
	    ".",
	    "com.",
	    "www.example.com.",
	    "ns1.example.net.",
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	uint8_t buf[512];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	uint8_t hdr[WIRE_HEADER_LEN] = {0};
	assert_int_equal(wire_write(&w, hdr, sizeof(hdr)), 0);
	size_t uncompressed = WIRE_HEADER_LEN;
	size_t offs[16];
	for (size_t i = 0; i < n; i++) {
		uint8_t name[NAME_MAXLEN];
		to_name(name, names[i]);
		uncompressed += name_len(name);
		offs[i] = w.pos;
		assert_int_equal(wire_write_name(&w, name, true), 0);
	}
	assert_true(w.pos < uncompressed);
	/* "www.example.com." at the end is a bare pointer */
	assert_int_equal(offs[12] - offs[11], 2);
	size_t pos = WIRE_HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		uint8_t want[NAME_MAXLEN], got[NAME_MAXLEN];
		to_name(want, names[i]);
		assert_int_equal(pos, offs[i]);
		int len = wire_read_name(buf, w.pos, &pos, got);
		assert_int_equal(len, (int)name_len(want));
		assert_true(name_equal(got, want));
	}
	assert_int_equal(pos, w.pos);
}

static void test_compression_bytes(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	uint8_t name[NAME_MAXLEN];
	assert_int_equal(wire_write(&w, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), 0);
	to_name(name, "example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_int_equal(w.pos, 25);
	assert_memory_equal(buf + 12, "\7example\3com", 13);
	to_name(name, "www.example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + 25, "\3www\xc0\x0c", 6);
	to_name(name, "mail.www.example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + 31, "\4mail\xc0\x19", 7);
	to_name(name, "net.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + 38, "\3net", 5);
	to_name(name, "com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + 43, "\xc0\x14", 2);
	to_name(name, ".");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + 45, "", 1);
	assert_int_equal(w.pos, 46);
	/* compress = false writes the name out in full */
	to_name(name, "www.example.com.");
	assert_int_equal(wire_write_name(&w, name, false), 0);
	assert_memory_equal(buf + 46, "\3www\7example\3com", 17);
	assert_int_equal(w.pos, 63);
}

static void test_compression_case(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	uint8_t name[NAME_MAXLEN], out[NAME_MAXLEN];
	to_name(name, "Example.COM.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	to_name(name, "WwW.eXAMPLE.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	/* the new label keeps its case, the suffix is a pointer to the first spelling */
	assert_memory_equal(buf + 13, "\3WwW\xc0\x00", 6);
	assert_int_equal(w.pos, 19);
	size_t pos = 13;
	assert_int_equal(wire_read_name(buf, w.pos, &pos, out), 17);
	assert_memory_equal(out, "\3WwW\7Example\3COM", 17);
	/* the whole name in another case is one pointer */
	to_name(name, "www.EXAMPLE.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + 19, "\xc0\x0d", 2);
	/* only letters fold */
	to_name(name, "[.example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	to_name(name, "{.example.com.");
	size_t at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\1{\xc0\x00", 4);
}

static void test_remember_name(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	/* a question copied as raw bytes, then remembered */
	assert_int_equal(wire_write(&w, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), 0);
	assert_int_equal(wire_write(&w, "\3www\7example\3com\0\0\1\0\1", 21), 0);
	wire_remember_name(&w, 12);
	uint8_t name[NAME_MAXLEN];
	to_name(name, "www.example.com.");
	size_t at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\xc0\x0c", 2);
	to_name(name, "ftp.example.com.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\3ftp\xc0\x10", 6);
}

/* The question remembered as a plain name: its entries are filled in by the first name written
 * compressed, also one written after a rollback to a mark taken after it; a rollback to before
 * it forgets it, and a second plain name fills the first in. */
static void test_remember_plain(void **state)
{
	(void)state;
	uint8_t buf[160];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(wire_write(&w, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), 0);
	struct wire_mark before = wire_mark(&w);
	assert_int_equal(wire_write(&w, "\3WWW\7example\3com\0\0\1\0\1", 21), 0);
	wire_remember_plain(&w, 12, 17, 3);
	assert_int_equal(w.ncomp, 3);
	struct wire_mark after = wire_mark(&w);
	uint8_t name[NAME_MAXLEN];
	to_name(name, "ftp.example.com.");
	assert_int_equal(wire_write_name(&w, name, false), 0); /* not compressed: nothing looked up */
	wire_rollback(&w, after);
	size_t at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\3ftp\xc0\x10", 6);
	to_name(name, "www.example.com.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\xc0\x0c", 2);
	to_name(name, "com.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\xc0\x18", 2);

	/* forgotten with the name */
	wire_rollback(&w, before);
	assert_int_equal(w.ncomp, 0);
	assert_int_equal(wire_write(&w, "\3www\3org\0", 9), 0);
	to_name(name, "www.example.com.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\3www\7example\3com\0", 17);

	/* two plain names: both found */
	wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(wire_write(&w, "\0\0\0\0\0\0\0\0\0\0\0\0\3www\3org\0\3net\0", 26), 0);
	wire_remember_plain(&w, 12, 9, 2);
	wire_remember_plain(&w, 21, 5, 1);
	assert_int_equal(w.ncomp, 3);
	to_name(name, "a.org.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\1a\xc0\x10", 4);
	to_name(name, "b.net.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\1b\xc0\x15", 4);
}

static void test_rollback(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	uint8_t name[NAME_MAXLEN], out[NAME_MAXLEN];
	to_name(name, "example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	struct wire_mark m = wire_mark(&w);
	assert_int_equal(m.pos, w.pos);
	assert_int_equal(m.ncomp, w.ncomp);
	size_t pos0 = w.pos;
	int ncomp0 = w.ncomp;
	to_name(name, "host.foo.bar.net.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_int_equal(wire_write32(&w, 12345), 0);
	assert_true(w.ncomp > ncomp0);
	wire_rollback(&w, m);
	assert_int_equal(w.pos, pos0);
	assert_int_equal(w.ncomp, ncomp0);
	/* overwrite the rolled back area with something else */
	assert_int_equal(wire_write(&w, "\xee\xee\xee\xee\xee\xee\xee\xee", 8), 0);
	/* bar.net was forgotten: no pointer into the overwritten bytes */
	to_name(name, "x.bar.net.");
	size_t at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\1x\3bar\3net", 11);
	size_t pos = at;
	assert_int_equal(wire_read_name(buf, w.pos, &pos, out), 11);
	assert_memory_equal(out, "\1x\3bar\3net", 11);
	/* what was known before the mark still compresses */
	to_name(name, "www.example.com.");
	at = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_memory_equal(buf + at, "\3www\xc0\x00", 6);
}

static void test_name_espace(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct wire_writer w;
	uint8_t name[NAME_MAXLEN];
	/* uncompressed name that does not fit */
	wire_writer_init(&w, buf, 20);
	assert_int_equal(wire_write(&w, "0123", 4), 0);
	to_name(name, "www.example.com."); /* 17 */
	assert_int_equal(wire_write_name(&w, name, true), TERN_ESPACE);
	assert_int_equal(w.pos, 4);
	assert_int_equal(w.ncomp, 0);
	assert_int_equal(wire_write_name(&w, name, false), TERN_ESPACE);
	assert_int_equal(w.pos, 4);
	assert_int_equal(w.ncomp, 0);

	/* compressed: the new labels fit but the pointer does not */
	wire_writer_init(&w, buf, 22);
	to_name(name, "example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0); /* 13 */
	int ncomp = w.ncomp;
	to_name(name, "www.example.com."); /* needs 4 + 2 */
	assert_int_equal(wire_write(&w, "abcd", 4), 0); /* pos 17, 5 left */
	assert_int_equal(wire_write_name(&w, name, true), TERN_ESPACE);
	assert_int_equal(w.pos, 17);
	assert_int_equal(w.ncomp, ncomp);
	/* just a pointer still fits */
	to_name(name, "EXAMPLE.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_int_equal(w.pos, 19);
	assert_memory_equal(buf + 17, "\xc0\x00", 2);
	/* the new label alone does not fit */
	to_name(name, "longer.example.com.");
	assert_int_equal(wire_write_name(&w, name, true), TERN_ESPACE);
	assert_int_equal(w.pos, 19);
	assert_int_equal(w.ncomp, ncomp);
	/* exactly filling the buffer works */
	to_name(name, "x.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	assert_int_equal(w.pos, 22);
	to_name(name, ".");
	assert_int_equal(wire_write_name(&w, name, true), TERN_ESPACE);
	assert_int_equal(w.pos, 22);
}

static void test_many_names(void **state)
{
	(void)state;
	/* more suffixes than the compression table holds: later names are still correct */
	static uint8_t buf[8192];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	char text[64];
	size_t offs[200];
	for (int i = 0; i < 200; i++) {
		uint8_t name[NAME_MAXLEN];
		snprintf(text, sizeof(text), "h%d.z%d.example.", i, i % 7);
		to_name(name, text);
		offs[i] = w.pos;
		assert_int_equal(wire_write_name(&w, name, true), 0);
		assert_true(w.ncomp <= WIRE_COMP_MAX);
	}
	size_t pos = 0;
	for (int i = 0; i < 200; i++) {
		uint8_t want[NAME_MAXLEN], got[NAME_MAXLEN];
		snprintf(text, sizeof(text), "h%d.z%d.example.", i, i % 7);
		to_name(want, text);
		assert_int_equal(pos, offs[i]);
		assert_int_equal(wire_read_name(buf, w.pos, &pos, got), (int)name_len(want));
		assert_true(name_equal(got, want));
	}
}

static void test_high_offsets(void **state)
{
	(void)state;
	/* names past offset 0x3fff cannot be pointed at */
	static uint8_t buf[0x5000];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	static uint8_t fill[0x4000];
	memset(fill, 0, sizeof(fill));
	assert_int_equal(wire_write(&w, fill, 0x3ffc), 0);
	uint8_t name[NAME_MAXLEN], got[NAME_MAXLEN];
	to_name(name, "www.example.com."); /* starts at 0x3ffc: "www" and "example..." cross 0x4000 */
	assert_int_equal(wire_write_name(&w, name, true), 0);
	size_t second = w.pos;
	assert_int_equal(wire_write_name(&w, name, true), 0);
	size_t third = w.pos;
	to_name(name, "ftp.example.com.");
	assert_int_equal(wire_write_name(&w, name, true), 0);
	size_t pos = 0x3ffc;
	to_name(name, "www.example.com.");
	assert_int_equal(wire_read_name(buf, w.pos, &pos, got), 17);
	assert_true(name_equal(got, name));
	assert_int_equal(pos, second);
	assert_int_equal(wire_read_name(buf, w.pos, &pos, got), 17);
	assert_true(name_equal(got, name));
	assert_int_equal(pos, third);
	to_name(name, "ftp.example.com.");
	assert_int_equal(wire_read_name(buf, w.pos, &pos, got), 17);
	assert_true(name_equal(got, name));
	assert_int_equal(pos, w.pos);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_plain),
	    cmocka_unit_test(test_read_keeps_case),
	    cmocka_unit_test(test_read_compressed),
	    cmocka_unit_test(test_read_pointer_to_itself),
	    cmocka_unit_test(test_read_pointer_loop),
	    cmocka_unit_test(test_read_forward_pointer),
	    cmocka_unit_test(test_read_pointer_past_end),
	    cmocka_unit_test(test_read_label_past_end),
	    cmocka_unit_test(test_read_bad_label_types),
	    cmocka_unit_test(test_read_too_long_through_pointers),
	    cmocka_unit_test(test_read_many_pointers),
	    cmocka_unit_test(test_skip_rr),
	    cmocka_unit_test(test_skip_rr_truncated),
	    cmocka_unit_test(test_write_basic),
	    cmocka_unit_test(test_write_space),
	    cmocka_unit_test(test_compression_round_trip),
	    cmocka_unit_test(test_compression_bytes),
	    cmocka_unit_test(test_compression_case),
	    cmocka_unit_test(test_remember_name),
	    cmocka_unit_test(test_remember_plain),
	    cmocka_unit_test(test_rollback),
	    cmocka_unit_test(test_name_espace),
	    cmocka_unit_test(test_many_names),
	    cmocka_unit_test(test_high_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
