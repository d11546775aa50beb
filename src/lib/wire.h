/* DNS message codec: header fields, a bounds-checked reader and a writer with name compression. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WIRE_HEADER_LEN 12
#define WIRE_MAX_MSG 65535

/* Header flag bits in the second 16-bit word. */
#define WIRE_QR 0x8000
#define WIRE_AA 0x0400
#define WIRE_TC 0x0200
#define WIRE_RD 0x0100
#define WIRE_RA 0x0080
#define WIRE_AD 0x0020
#define WIRE_CD 0x0010
#define WIRE_OPCODE(flags) (((flags) >> 11) & 0xf)
#define WIRE_RCODE(flags) ((flags)&0xf)

enum wire_opcode { OPCODE_QUERY = 0, OPCODE_NOTIFY = 4, OPCODE_UPDATE = 5 };
enum wire_rcode {
	RCODE_NOERROR = 0,
	RCODE_FORMERR = 1,
	RCODE_SERVFAIL = 2,
	RCODE_NXDOMAIN = 3,
	RCODE_NOTIMP = 4,
	RCODE_REFUSED = 5,
	RCODE_YXDOMAIN = 6,
	RCODE_NOTAUTH = 9,
	RCODE_BADVERS = 16, /* extended: needs OPT */
	RCODE_BADCOOKIE = 23, /* extended: needs OPT (RFC 7873 8) */
};

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Reads a possibly compressed name at *pos of a message into out (uncompressed, case kept) and
 * advances *pos past it. Rejects pointer loops, forward pointers, overlong names and reads past
 * len. Returns the name length or TERN_EMALF. */
int wire_read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t out[255]);
/* Skips one resource record at *pos; fills type and the RDATA position/length when not NULL. */
int wire_skip_rr(const uint8_t *msg, size_t len, size_t *pos, uint16_t *type, size_t *rdpos, uint16_t *rdlen);

#define WIRE_COMP_MAX 64

/* A message being written: a fixed buffer and a table of names already written (by offset),
 * so later names can point at them. No allocation. */
struct wire_writer {
	uint8_t *buf;
	size_t cap; /* hard limit for this message */
	size_t pos;
	struct {
		uint16_t off; /* where a name (or a suffix of one) starts */
		uint8_t len; /* its uncompressed length: only equal lengths can match */
	} comp[WIRE_COMP_MAX];
	int ncomp;
	/* comp[lazy_at, lazy_at + lazy_n) are kept for the labels of the plain name at lazy_off
	 * (lazy_len octets), filled in when a name is first compressed (wire_remember_plain) */
	int lazy_at, lazy_n;
	uint16_t lazy_off;
	uint8_t lazy_len;
};

/* A position to roll back to when an RRset does not fit. */
struct wire_mark {
	size_t pos;
	int ncomp;
};

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap);
static inline struct wire_mark wire_mark(const struct wire_writer *w)
{
	return (struct wire_mark){w->pos, w->ncomp};
}
static inline void wire_rollback(struct wire_writer *w, struct wire_mark m)
{
	w->pos = m.pos;
	w->ncomp = m.ncomp;
	if (m.ncomp < w->lazy_at + w->lazy_n) /* the name went too */
		w->lazy_n = 0;
}
/* Remembers a name already in the buffer at offset off (e.g. the question) for compression. */
void wire_remember_name(struct wire_writer *w, size_t off);
/* The same for an uncompressed name of len octets and labels labels there (the question): its
 * table entries are kept at once, and filled in only when a name is written compressed. */
void wire_remember_plain_now(struct wire_writer *w, size_t off, size_t len, int labels);
static inline void wire_remember_plain(struct wire_writer *w, size_t off, size_t len, int labels)
{
	if (w->lazy_n || off + len > 0x4000 || len > 255) { /* not all of it can be pointed at: now */
		wire_remember_plain_now(w, off, len, labels);
		return;
	}
	int room = WIRE_COMP_MAX - w->ncomp, n = labels < room ? labels : room;
	w->lazy_at = w->ncomp;
	w->lazy_n = n;
	w->lazy_off = (uint16_t)off;
	w->lazy_len = (uint8_t)len;
	w->ncomp += n;
}
/* Small writers, inline: they run for every record of every answer. 0 or TERN_ESPACE (-3). */
static inline int wire_write(struct wire_writer *w, const void *data, size_t len)
{
	if (w->pos + len > w->cap)
		return -3;
	memcpy(w->buf + w->pos, data, len);
	w->pos += len;
	return 0;
}
static inline int wire_write16(struct wire_writer *w, uint16_t v)
{
	if (w->pos + 2 > w->cap)
		return -3;
	wire_put16(w->buf + w->pos, v);
	w->pos += 2;
	return 0;
}
static inline int wire_write32(struct wire_writer *w, uint32_t v)
{
	if (w->pos + 4 > w->cap)
		return -3;
	wire_put32(w->buf + w->pos, v);
	w->pos += 4;
	return 0;
}
/* Writes a name, compressed against earlier names when compress is true; the written name
 * becomes a compression target either way. Returns 0 or TERN_ESPACE. */
int wire_write_name(struct wire_writer *w, const uint8_t *name, bool compress);
