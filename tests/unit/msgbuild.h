/* Unit tests' DNS message builder: a fixed buffer written field by field (header, names, 16-bit
 * values, records), so a test can make any message, malformed ones included. For cmocka tests
 * (its assert_true). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/name.h"
#include "lib/wire.h"

struct msg {
	uint8_t b[8192];
	size_t n;
};

static inline void msg_put(struct msg *m, const void *p, size_t len)
{
	assert_true(m->n + len <= sizeof(m->b));
	if (len)
		memcpy(m->b + m->n, p, len);
	m->n += len;
}

static inline void msg_put16(struct msg *m, uint16_t v)
{
	uint8_t b[2];
	wire_put16(b, v);
	msg_put(m, b, 2);
}

static inline void msg_put32(struct msg *m, uint32_t v)
{
	uint8_t b[4];
	wire_put32(b, v);
	msg_put(m, b, 4);
}

static inline void msg_put_name(struct msg *m, const char *text)
{
	uint8_t n[NAME_MAXLEN];
	assert_true(name_from_text(n, text, NULL) > 0);
	msg_put(m, n, name_len(n));
}

/* A header (id 0x1234 and flags) and one question; counts start at zero. */
static inline void msg_start(struct msg *m, uint16_t flags, const char *qname, uint16_t qtype, uint16_t qclass)
{
	memset(m, 0, sizeof(*m));
	uint8_t h[12] = {0x12, 0x34, (uint8_t)(flags >> 8), (uint8_t)flags, 0, 1};
	msg_put(m, h, sizeof(h));
	msg_put_name(m, qname);
	msg_put16(m, qtype);
	msg_put16(m, qclass);
}

/* A record appended to the section whose count is at header offset count_at (6, 8 or 10). */
static inline void msg_rr(struct msg *m, int count_at, const char *owner, uint16_t type, uint16_t cls, uint32_t ttl,
                          const void *rdata, uint16_t rdlen)
{
	msg_put_name(m, owner);
	msg_put16(m, type);
	msg_put16(m, cls);
	msg_put32(m, ttl);
	msg_put16(m, rdlen);
	msg_put(m, rdata, rdlen);
	wire_put16(m->b + count_at, (uint16_t)(wire_get16(m->b + count_at) + 1));
}
