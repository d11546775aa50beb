/* The dnstap protobuf encoding of one message (dnstap.proto of github.com/dnstap/dnstap.pb): the
 * few fields ternd sends, written by hand in field order, in one pass. No allocation. */
#include <string.h>

#include "ternd/dnstap/dnstap.h"

enum { WT_VARINT = 0, WT_LEN = 2, WT_FIXED32 = 5 };
#define TAG(field, wt) ((uint8_t)((field) << 3 | (wt))) /* every field number here is below 16 */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint8_t *put_uint(uint8_t *p, unsigned field, uint64_t v)
{
	*p++ = TAG(field, WT_VARINT);
	return put_varint(p, v);
}

static uint8_t *put_fixed32(uint8_t *p, unsigned field, uint32_t v)
{
	*p++ = TAG(field, WT_FIXED32);
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(v >> (8 * i)); /* little-endian */
	return p;
}

static uint8_t *put_bytes(uint8_t *p, unsigned field, const uint8_t *data, size_t n)
{
	*p++ = TAG(field, WT_LEN);
	p = put_varint(p, n);
	memcpy(p, data, n);
	return p + n;
}

/* Message (dnstap.proto's field numbers). */
static uint8_t *put_message(uint8_t *p, const struct dnstap_msg *m)
{
	size_t alen = m->family == 2 ? 16 : 4;
	p = put_uint(p, 1, (uint64_t)m->type);
	if (m->family)
		p = put_uint(p, 2, (uint64_t)m->family);
	if (m->proto)
		p = put_uint(p, 3, (uint64_t)m->proto);
	if (m->family && m->qaddr)
		p = put_bytes(p, 4, m->qaddr, alen);
	if (m->family && m->raddr)
		p = put_bytes(p, 5, m->raddr, alen);
	if (m->family && m->qaddr)
		p = put_uint(p, 6, m->qport);
	if (m->family && m->has_rport)
		p = put_uint(p, 7, m->rport);
	if (m->has_qtime) {
		p = put_uint(p, 8, m->qsec);
		p = put_fixed32(p, 9, m->qnsec);
	}
	if (m->query)
		p = put_bytes(p, 10, m->query, m->qlen);
	if (m->zone)
		p = put_bytes(p, 11, m->zone, m->zone_len);
	if (m->has_rtime) {
		p = put_uint(p, 12, m->rsec);
		p = put_fixed32(p, 13, m->rnsec);
	}
	if (m->response)
		p = put_bytes(p, 14, m->response, m->rlen);
	return p;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The exact size of the Message, so it is written in place after its length. */
static size_t message_len(const struct dnstap_msg *m)
{
	size_t alen = m->family == 2 ? 16 : 4, n = 1 + varint_len((uint64_t)m->type);
	if (m->family)
		n += 1 + varint_len((uint64_t)m->family);
	if (m->proto)
		n += 1 + varint_len((uint64_t)m->proto);
	if (m->family && m->qaddr)
		n += 2 + alen + 1 + varint_len(m->qport);
	if (m->family && m->raddr)
		n += 2 + alen;
	if (m->family && m->has_rport)
		n += 1 + varint_len(m->rport);
	if (m->has_qtime)
		n += 1 + varint_len(m->qsec) + 5;
	if (m->query)
		n += 1 + varint_len(m->qlen) + m->qlen;
	if (m->zone)
		n += 1 + varint_len(m->zone_len) + m->zone_len;
	if (m->has_rtime)
		n += 1 + varint_len(m->rsec) + 5;
	if (m->response)
		n += 1 + varint_len(m->rlen) + m->rlen;
	return n;
}

size_t dnstap_encode(const struct dnstap_msg *m, uint8_t *out, size_t cap)
{
	size_t body = message_len(m);
	size_t total = 1 + varint_len(body) + body + 2;
	if (m->identity)
		total += 1 + varint_len(m->identity_len) + m->identity_len;
	if (m->version)
		total += 1 + varint_len(m->version_len) + m->version_len;
	if (total > cap)
		return 0;
	uint8_t *p = out;
	if (m->identity)
		p = put_bytes(p, 1, m->identity, m->identity_len);
	if (m->version)
		p = put_bytes(p, 2, m->version, m->version_len);
	*p++ = TAG(14, WT_LEN);
	p = put_varint(p, body);
	p = put_message(p, m);
	p = put_uint(p, 15, 1); /* Dnstap.Type MESSAGE */
	return (size_t)(p - out);
}
