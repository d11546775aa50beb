/* tern check: one query to one server over UDP (TCP after TC) within a deadline, and the decoder
 * of its answer into presentation-form records. */
#include "lib/check_query.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "lib/error.h"
#include "lib/exchange.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"

#define EDNS_BUFSIZE 1232

int check_addr_parse(const char *text, uint16_t default_port, struct check_addr *out, char *err, size_t errlen)
{
	char host[CHECK_ADDR_TEXT];
	const char *port = NULL;
	memset(out, 0, sizeof(*out));
	size_t n = strlen(text);
	if (n == 0 || n >= sizeof(host))
		goto bad;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = 0;
		port = close[1] ? close + 2 : NULL;
	} else if (strchr(text, ':') && strchr(text, ':') == strrchr(text, ':')) {
		const char *colon = strchr(text, ':');
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = 0;
		port = colon + 1;
	} else {
		memcpy(host, text, n + 1);
	}
	unsigned long p = default_port;
	if (port) {
		char *end;
		errno = 0;
		p = strtoul(port, &end, 10);
		if (!*port || *end || errno || p == 0 || p > 65535)
			goto bad;
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		out->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		out->len = sizeof(*v6);
	} else {
		goto bad;
	}
	if (p == 53)
		check_copy(out->text, sizeof(out->text), host);
	else if (out->ss.ss_family == AF_INET6)
		snprintf(out->text, sizeof(out->text), "[%.40s]:%lu", host, p);
	else
		snprintf(out->text, sizeof(out->text), "%.40s:%lu", host, p);
	return 0;
bad:
	snprintf(err, errlen, "\"%.80s\" is not an IP address with an optional port (ADDR, ADDR:PORT, [ADDR6]:PORT)",
	         text);
	return TERN_EINVAL;
}

bool check_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

bool check_name_in(const char *name, const char *zone)
{
	size_t ln = strlen(name), lz = strlen(zone);
	if (ln && name[ln - 1] == '.')
		ln--;
	if (lz && zone[lz - 1] == '.')
		lz--;
	if (lz == 0)
		return true; /* the root holds every name */
	if (ln < lz || strncasecmp(name + ln - lz, zone, lz) != 0)
		return false;
	return ln == lz || name[ln - lz - 1] == '.';
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Copies one possibly compressed name from the message into the uncompressed RDATA being built. */
static int copy_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t *out, size_t cap, size_t *o)
{
	uint8_t name[NAME_MAXLEN];
	int n = wire_read_name(msg, len, pos, name);
	if (n < 0 || *o + (size_t)n > cap)
		return TERN_EMALF;
	memcpy(out + *o, name, (size_t)n);
	*o += (size_t)n;
	return 0;
}

static int copy_raw(const uint8_t *msg, size_t end, size_t *pos, size_t n, uint8_t *out, size_t cap, size_t *o)
{
	if (*pos + n > end || *o + n > cap)
		return TERN_EMALF;
	memcpy(out + *o, msg + *pos, n);
	*pos += n;
	*o += n;
	return 0;
}

/* RDATA with the names compression may have touched (RFC 3597 section 4) written out whole. */
static int rdata_uncompressed(const uint8_t *msg, uint16_t type, size_t rdpos, uint16_t rdlen, uint8_t *out, size_t cap,
                              size_t *olen)
{
	size_t pos = rdpos, end = rdpos + rdlen, o = 0;
	int names = 0, before = 0, after = 0;
	switch (type) {
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME: names = 1; break;
	case RR_SOA: names = 2, after = 20; break;
	case RR_MX:
	case RR_AFSDB:
	case RR_RT:
	case RR_KX: before = 2, names = 1; break;
	case RR_SRV: before = 6, names = 1; break;
	case RR_RP:
	case RR_MINFO: names = 2; break;
	default: *olen = 0; return copy_raw(msg, end, &pos, rdlen, out, cap, olen);
	}
	if (copy_raw(msg, end, &pos, (size_t)before, out, cap, &o) < 0)
		return TERN_EMALF;
	for (int i = 0; i < names; i++)
		if (copy_name(msg, end, &pos, out, cap, &o) < 0)
			return TERN_EMALF;
	if (copy_raw(msg, end, &pos, (size_t)after, out, cap, &o) < 0 || pos != end)
		return TERN_EMALF;
	*olen = o;
	return 0;
}

int check_answer_parse(const uint8_t *msg, size_t len, uint16_t id, const char *qname, uint16_t qtype,
                       struct check_answer *out)
{
	out->nrr = out->dropped = 0;
	if (len < WIRE_HEADER_LEN) {
		snprintf(out->error, sizeof(out->error), "answer of %zu octets, shorter than a header", len);
		return TERN_EMALF;
	}
	uint16_t flags = wire_get16(msg + 2);
	if (wire_get16(msg) != id || !(flags & WIRE_QR) || wire_get16(msg + 4) != 1) {
		snprintf(out->error, sizeof(out->error), "answer does not match the query (id, QR or question count)");
		return TERN_EMALF;
	}
	size_t pos = WIRE_HEADER_LEN;
	uint8_t name[NAME_MAXLEN];
	char text[CHECK_NAME_TEXT];
	if (wire_read_name(msg, len, &pos, name) < 0 || pos + 4 > len || name_to_text(name, text, sizeof(text)) < 0 ||
	    !check_name_eq(text, qname) || wire_get16(msg + pos) != qtype) {
		snprintf(out->error, sizeof(out->error), "answer is for another question");
		return TERN_EMALF;
	}
	pos += 4;
	out->aa = flags & WIRE_AA;
	out->tc = flags & WIRE_TC;
	out->rcode = WIRE_RCODE(flags);
	int counts[3] = {wire_get16(msg + 6), wire_get16(msg + 8), wire_get16(msg + 10)};
	uint8_t rdata[WIRE_MAX_MSG];
	for (int s = 0; s < 3; s++)
		for (int i = 0; i < counts[s]; i++) {
			if (wire_read_name(msg, len, &pos, name) < 0 || pos + 10 > len)
				goto malformed;
			uint16_t type = wire_get16(msg + pos), rdlen = wire_get16(msg + pos + 8);
			uint32_t ttl = wire_get32(msg + pos + 4);
			size_t rdpos = pos + 10;
			if (rdpos + rdlen > len)
				goto malformed;
			pos = rdpos + rdlen;
			if (type == RR_OPT)
				continue;
			if (out->nrr == CHECK_MAXRR) {
				out->dropped++;
				continue;
			}
			struct check_rr *rr = &out->rr[out->nrr];
			size_t rlen = 0;
			if (rdata_uncompressed(msg, type, rdpos, rdlen, rdata, sizeof(rdata), &rlen) < 0)
				goto malformed;
			if (name_to_text(name, rr->owner, sizeof(rr->owner)) < 0) {
				check_copy(out->error, sizeof(out->error),
				           "answer holds an owner name too long to show (escaped characters): refused");
				return TERN_EMALF;
			}
			rr->cut = false;
			if (rrtext_rdata_to_text(type, rdata, (uint16_t)rlen, rr->data, sizeof(rr->data)) < 0) {
				snprintf(rr->data, sizeof(rr->data), "(%zu octets, too long to show)", rlen);
				rr->cut = true;
			}
			rr->section = (uint8_t)(s + 1);
			rr->type = type;
			rr->ttl = ttl;
			out->nrr++;
		}
	out->ok = true;
	return 0;
malformed:
	snprintf(out->error, sizeof(out->error), "malformed answer (a record runs past the message)");
	return TERN_EMALF;
}

const struct check_rr *check_answer_find(const struct check_answer *a, int section, const char *owner, uint16_t type)
{
	for (int i = 0; i < a->nrr; i++)
		if (a->rr[i].section == section && a->rr[i].type == type && check_name_eq(a->rr[i].owner, owner))
			return &a->rr[i];
	return NULL;
}

static int build_query(uint8_t *buf, size_t cap, uint16_t id, const char *qname, uint16_t qtype, unsigned flags,
                       size_t *len)
{
	uint8_t name[NAME_MAXLEN];
	if (name_from_text(name, qname, NULL) < 0)
		return TERN_ENAME;
	struct wire_writer w;
	wire_writer_init(&w, buf, cap);
	uint8_t hdr[WIRE_HEADER_LEN] = {0};
	wire_put16(hdr, id);
	wire_put16(hdr + 2, flags & CHECK_RD ? WIRE_RD : 0);
	wire_put16(hdr + 4, 1);
	wire_put16(hdr + 10, 1); /* OPT */
	uint8_t opt[11] = {0, 0, RR_OPT, EDNS_BUFSIZE >> 8, EDNS_BUFSIZE & 0xff, 0, 0, flags & CHECK_DO ? 0x80 : 0,
	                   0, 0, 0};
	if (wire_write(&w, hdr, sizeof(hdr)) || wire_write_name(&w, name, false) || wire_write16(&w, qtype) ||
	    wire_write16(&w, RR_CLASS_IN) || wire_write(&w, opt, sizeof(opt)))
		return TERN_ESPACE;
	*len = w.pos;
	return 0;
}

int check_query(const struct check_addr *server, const char *qname, uint16_t qtype, unsigned flags, int timeout_ms,
                struct check_answer *out)
{
	memset(out, 0, offsetof(struct check_answer, rr));
	out->error[0] = 0;
	uint8_t q[512], buf[WIRE_MAX_MSG];
	size_t qlen, len = 0;
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(now_ms() * 1000.0);
	if (build_query(q, sizeof(q), id, qname, qtype, flags, &qlen) < 0) {
		snprintf(out->error, sizeof(out->error), "cannot ask for \"%.100s\": not a domain name", qname);
		return TERN_EIO;
	}
	double start = now_ms();
	int64_t deadline = exchange_now_ms() + timeout_ms;
	const struct sockaddr *to = (const struct sockaddr *)&server->ss;
	if (dns_exchange(to, server->len, q, qlen, false, deadline, buf, sizeof(buf), &len, out->error,
	                 sizeof(out->error)) < 0)
		goto fail;
	if (check_answer_parse(buf, len, id, qname, qtype, out) < 0)
		goto fail;
	if (out->tc) {
		out->tcp = true;
		if (dns_exchange(to, server->len, q, qlen, true, deadline, buf, sizeof(buf), &len, out->error,
		                 sizeof(out->error)) < 0)
			goto fail;
		if (check_answer_parse(buf, len, id, qname, qtype, out) < 0)
			goto fail;
		out->tcp = true;
	}
	out->ms = now_ms() - start;
	return 0;
fail:
	out->ok = false;
	out->ms = now_ms() - start;
	if (strstr(out->error, "timeout"))
		snprintf(out->error, sizeof(out->error), "no answer within %d ms", timeout_ms);
	return TERN_EIO;
}
