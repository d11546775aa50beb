/* DNS message codec: a bounds-checked name reader and a writer with name compression. */
#include "lib/wire.h"

#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

int wire_read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t out[255])
{
	size_t p = *pos, o = 0, end = 0;
	bool jumped = false;
	size_t lowest = p; /* pointers must go strictly backwards: no loops */
	for (;;) {
		if (p >= len)
			return TERN_EMALF;
		uint8_t l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return TERN_EMALF;
			size_t target = (size_t)(l & 0x3f) << 8 | msg[p + 1];
			if (target >= lowest)
				return TERN_EMALF;
			if (!jumped)
				end = p + 2;
			jumped = true;
			lowest = target;
			p = target;
			continue;
		}
		if (l & 0xc0)
			return TERN_EMALF; /* 0x40 / 0x80 label types are obsolete */
		if (o + l + 1 > NAME_MAXLEN)
			return TERN_EMALF;
		if (p + 1 + l > len)
			return TERN_EMALF;
		memcpy(out + o, msg + p, (size_t)l + 1);
		o += (size_t)l + 1;
		p += (size_t)l + 1;
		if (l == 0)
			break;
	}
	*pos = jumped ? end : p;
	return (int)o;
}

int wire_skip_rr(const uint8_t *msg, size_t len, size_t *pos, uint16_t *type, size_t *rdpos, uint16_t *rdlen)
{
	uint8_t name[NAME_MAXLEN];
	size_t p = *pos;
	if (p < len && msg[p] == 0) /* the root (an OPT record's owner): nothing to read */
		p++;
	else if (wire_read_name(msg, len, &p, name) < 0)
		return TERN_EMALF;
	if (p + 10 > len)
		return TERN_EMALF;
	uint16_t rl = wire_get16(msg + p + 8);
	if (p + 10 + rl > len)
		return TERN_EMALF;
	if (type)
		*type = wire_get16(msg + p);
	if (rdpos)
		*rdpos = p + 10;
	if (rdlen)
		*rdlen = rl;
	*pos = p + 10 + rl;
	return 0;
}

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->pos = 0;
	w->ncomp = 0;
	w->lazy_at = w->lazy_n = 0;
}

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Follows compression pointers in our own output (always well formed) to a label start. */
static const uint8_t *resolve(const uint8_t *buf, size_t off)
{
	while ((buf[off] & 0xc0) == 0xc0)
		off = (size_t)(buf[off] & 0x3f) << 8 | buf[off + 1];
	return buf + off;
}

/* Does the uncompressed name equal the (possibly compressed) name at buffer offset off? */
static bool matches(const uint8_t *buf, size_t off, const uint8_t *name)
{
	const uint8_t *b = resolve(buf, off);
	for (;;) {
		if (*b != *name)
			return false;
		if (*name == 0)
			return true;
		for (int i = 1; i <= *name; i++)
			if (lower(b[i]) != lower(name[i]))
				return false;
		name += *name + 1;
		b = resolve(buf, (size_t)(b - buf) + b[0] + 1);
	}
}

/* Remembers every label start of a name just written at off whose uncompressed length is len,
 * stopping at a pointer (its target is known already). */
static void remember(struct wire_writer *w, size_t off, size_t len)
{
	while (off < w->pos && w->buf[off] != 0 && (w->buf[off] & 0xc0) != 0xc0 && off < 0x4000 &&
	       w->ncomp < WIRE_COMP_MAX) {
		w->comp[w->ncomp].off = (uint16_t)off;
		w->comp[w->ncomp].len = (uint8_t)len;
		w->ncomp++;
		len -= (size_t)w->buf[off] + 1;
		off += (size_t)w->buf[off] + 1;
	}
}

/* Every label start of the plain name at off (len octets) into comp[n, end); the entries it has
 * no labels for match nothing. */
static void remember_plain(struct wire_writer *w, size_t off, size_t len, int n, int end)
{
	const uint8_t *p = w->buf + off;
	for (; *p && off < 0x4000 && n < end; n++) {
		w->comp[n].off = (uint16_t)off;
		w->comp[n].len = (uint8_t)len;
		size_t step = (size_t)*p + 1;
		len -= step;
		off += step;
		p += step;
	}
	for (; n < end; n++)
		w->comp[n].len = 0; /* no name is that short */
}

/* Fills in the entries kept by wire_remember_plain(). */
static void remember_lazy(struct wire_writer *w)
{
	remember_plain(w, w->lazy_off, w->lazy_len, w->lazy_at, w->lazy_at + w->lazy_n);
	w->lazy_n = 0;
}

void wire_remember_plain_now(struct wire_writer *w, size_t off, size_t len, int labels)
{
	int room = WIRE_COMP_MAX - w->ncomp, n = labels < room ? labels : room;
	if (w->lazy_n)
		remember_lazy(w);
	remember_plain(w, off, len, w->ncomp, w->ncomp + n);
	w->ncomp += n;
}

void wire_remember_name(struct wire_writer *w, size_t off)
{
	size_t len = 1;
	for (const uint8_t *p = resolve(w->buf, off); *p; p = resolve(w->buf, (size_t)(p - w->buf) + *p + 1))
		len += (size_t)*p + 1;
	remember(w, off, len);
}

int wire_write_name(struct wire_writer *w, const uint8_t *name, bool compress)
{
	size_t start = w->pos, total = name_len(name);
	if (compress) {
		if (w->lazy_n)
			remember_lazy(w);
		for (size_t skip = 0; name[skip]; skip += (size_t)name[skip] + 1) {
			uint8_t rest = (uint8_t)(total - skip);
			for (int i = 0; i < w->ncomp; i++) {
				if (w->comp[i].len != rest || !matches(w->buf, w->comp[i].off, name + skip))
					continue;
				if (wire_write(w, name, skip) < 0 || wire_write16(w, 0xc000 | w->comp[i].off) < 0) {
					w->pos = start;
					return TERN_ESPACE;
				}
				remember(w, start, total);
				return 0;
			}
		}
	}
	if (wire_write(w, name, total) < 0)
		return TERN_ESPACE;
	remember(w, start, total);
	return 0;
}
