/* The dnstap protobuf encoding of one message (dnstap.proto of github.com/dnstap/dnstap.pb): the
 * few fields ternd sends, written by hand in field order. No allocation. */
#include <string.h>

#include "ternd/dnstap/dnstap.h"

/* A writer that only counts when buf is NULL (the first pass sizes the nested Message). */
struct pb {
	uint8_t *buf;
	size_t len, cap;
	bool over;
};

static void pb_byte(struct pb *w, uint8_t b)
{
	if (w->buf) {
		if (w->len >= w->cap) {
			w->over = true;
			return;
		}
		w->buf[w->len] = b;
	}
	w->len++;
}

static void pb_varint(struct pb *w, uint64_t v)
{
	while (v >= 0x80) {
		pb_byte(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	pb_byte(w, (uint8_t)v);
}

enum { WT_VARINT = 0, WT_LEN = 2, WT_FIXED32 = 5 };

static void pb_tag(struct pb *w, unsigned field, unsigned wt)
{
	pb_varint(w, (uint64_t)field << 3 | wt);
}

static void pb_uint(struct pb *w, unsigned field, uint64_t v)
{
	pb_tag(w, field, WT_VARINT);
	pb_varint(w, v);
}

static void pb_fixed32(struct pb *w, unsigned field, uint32_t v)
{
	pb_tag(w, field, WT_FIXED32);
	for (int i = 0; i < 4; i++)
		pb_byte(w, (uint8_t)(v >> (8 * i))); /* little-endian */
}

static void pb_bytes(struct pb *w, unsigned field, const uint8_t *p, size_t n)
{
	pb_tag(w, field, WT_LEN);
	pb_varint(w, n);
	if (w->buf) {
		if (w->cap - w->len < n || w->len > w->cap) {
			w->over = true;
			return;
		}
		memcpy(w->buf + w->len, p, n);
	}
	w->len += n;
}

/* Message (dnstap.proto's field numbers). */
static void encode_message(struct pb *w, const struct dnstap_msg *m)
{
	size_t alen = m->family == 2 ? 16 : 4;
	pb_uint(w, 1, (uint64_t)m->type);
	if (m->family)
		pb_uint(w, 2, (uint64_t)m->family);
	if (m->proto)
		pb_uint(w, 3, (uint64_t)m->proto);
	if (m->family && m->qaddr)
		pb_bytes(w, 4, m->qaddr, alen);
	if (m->family && m->raddr)
		pb_bytes(w, 5, m->raddr, alen);
	if (m->family && m->qaddr)
		pb_uint(w, 6, m->qport);
	if (m->family && m->has_rport)
		pb_uint(w, 7, m->rport);
	if (m->has_qtime) {
		pb_uint(w, 8, m->qsec);
		pb_fixed32(w, 9, m->qnsec);
	}
	if (m->query)
		pb_bytes(w, 10, m->query, m->qlen);
	if (m->zone)
		pb_bytes(w, 11, m->zone, m->zone_len);
	if (m->has_rtime) {
		pb_uint(w, 12, m->rsec);
		pb_fixed32(w, 13, m->rnsec);
	}
	if (m->response)
		pb_bytes(w, 14, m->response, m->rlen);
}

size_t dnstap_encode(const struct dnstap_msg *m, uint8_t *out, size_t cap)
{
	struct pb size = {0};
	encode_message(&size, m);
	struct pb w = {.buf = out, .cap = cap};
	if (m->identity)
		pb_bytes(&w, 1, m->identity, m->identity_len);
	if (m->version)
		pb_bytes(&w, 2, m->version, m->version_len);
	pb_tag(&w, 14, WT_LEN);
	pb_varint(&w, size.len);
	encode_message(&w, m);
	pb_uint(&w, 15, 1); /* Dnstap.Type MESSAGE */
	return w.over ? 0 : w.len;
}
