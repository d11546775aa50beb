/* The parent's DS RRset of a child zone: the non-recursive query for it and the checks of the
 * answer (hostile input: every length and name is bounds-checked by lib/wire). */
#include "lib/ds_answer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

int ds_query(const uint8_t *zone, uint16_t id, uint8_t *buf, size_t cap)
{
	struct wire_writer w;
	wire_writer_init(&w, buf, cap);
	size_t zl = name_len(zone);
	if (zl == 0 || zl > 255)
		return TERN_ENAME;
	uint8_t hdr[WIRE_HEADER_LEN] = {0};
	wire_put16(hdr, id);
	wire_put16(hdr + 4, 1); /* QDCOUNT */
	wire_put16(hdr + 10, 1); /* ARCOUNT: OPT */
	if (wire_write(&w, hdr, sizeof(hdr)) < 0 || wire_write(&w, zone, zl) < 0 || wire_write16(&w, RR_DS) < 0 ||
	    wire_write16(&w, RR_CLASS_IN) < 0)
		return TERN_ESPACE;
	/* OPT: root owner, payload 1232, no extended RCODE, version 0, DO clear, no options */
	static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	if (wire_write(&w, opt, sizeof(opt)) < 0)
		return TERN_ESPACE;
	return (int)w.pos;
}

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt, ...);

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return TERN_EINVAL;
}

int ds_answer_parse(const uint8_t *msg, size_t len, const uint8_t *zone, uint16_t id, struct ds_answer *out, char *err,
                    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < WIRE_HEADER_LEN) {
		snprintf(err, errlen, "answer of %zu octets: shorter than a header", len);
		return TERN_EMALF;
	}
	uint16_t flags = wire_get16(msg + 2), qd = wire_get16(msg + 4), an = wire_get16(msg + 6);
	if (wire_get16(msg) != id)
		return bad(err, errlen, "answer ID %u is not the query's %u", wire_get16(msg), id);
	if (!(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_QUERY)
		return bad(err, errlen, "not a response to a standard query");
	if (qd != 1)
		return bad(err, errlen, "%u questions in the answer (the query had 1)", qd);
	size_t pos = WIRE_HEADER_LEN;
	uint8_t name[255];
	if (wire_read_name(msg, len, &pos, name) < 0 || pos + 4 > len) {
		snprintf(err, errlen, "malformed question");
		return TERN_EMALF;
	}
	if (!name_equal(name, zone) || wire_get16(msg + pos) != RR_DS || wire_get16(msg + pos + 2) != RR_CLASS_IN)
		return bad(err, errlen, "the question is not the query's (its name, type DS or class IN)");
	pos += 4;
	if (flags & WIRE_TC) {
		out->truncated = true;
		return 0;
	}
	uint8_t rcode = (uint8_t)WIRE_RCODE(flags);
	if (rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN)
		return bad(err, errlen, "RCODE %u (neither NOERROR nor NXDOMAIN)", rcode);
	if (!(flags & WIRE_AA))
		return bad(err, errlen, "not authoritative (AA clear): not the parent zone's own answer");
	out->rcode = rcode;
	for (uint16_t i = 0; i < an; i++) {
		if (wire_read_name(msg, len, &pos, name) < 0 || pos + 10 > len) {
			snprintf(err, errlen, "malformed answer record %u", i);
			return TERN_EMALF;
		}
		uint16_t type = wire_get16(msg + pos), cls = wire_get16(msg + pos + 2),
		         rdlen = wire_get16(msg + pos + 8);
		pos += 10;
		if (rdlen > len - pos) {
			snprintf(err, errlen, "answer record %u: RDATA runs past the message", i);
			return TERN_EMALF;
		}
		if (type == RR_DS && cls == RR_CLASS_IN && name_equal(name, zone)) {
			if (rdlen < 5 || rdlen > DNSSEC_DS_MAX) {
				snprintf(err, errlen, "answer record %u: DS RDATA of %u octets", i, rdlen);
				return TERN_EMALF;
			}
			out->total++;
			if (out->n < DS_ANSWER_MAX) {
				memcpy(out->rdata[out->n], msg + pos, rdlen);
				out->len[out->n++] = rdlen;
			}
		}
		pos += rdlen;
	}
	return 0;
}

bool ds_answer_has(const struct ds_answer *a, const uint8_t *zone, const uint8_t *dnskey, size_t dnskey_len)
{
	for (size_t i = 0; i < a->n; i++) {
		uint8_t mine[DNSSEC_DS_MAX];
		char err[128];
		int n = dnssec_ds(zone, dnskey, dnskey_len, a->rdata[i][3], mine, sizeof(mine), err, sizeof(err));
		if (n > 0 && (size_t)n == a->len[i] && memcmp(mine, a->rdata[i], (size_t)n) == 0)
			return true;
	}
	return false;
}
