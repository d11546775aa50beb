/* libFuzzer harness for the query path: query_process() on arbitrary messages against fixed
 * zones, over UDP (4096 and 512 byte buffers) and TCP, checking the response invariants; over TCP
 * the message first goes to xfr_answer() as the transport does, and zone transfers are checked
 * message by message (IXFR reads a small fixed history). DNS cookies are on (with a required
 * size) and rate limiting too (slip 1: a limited answer goes truncated, none is dropped). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "lib/zonefile.h"
#include "ternd/base/config.h"
#include "ternd/ns/query.h"
#include "ternd/ns/xfr.h"
#include "ternd/zones/server.h"
#include "ternd/zones/zones.h"

#include "fuzz_zones.h"

#define SERVER_EDNS 1232

static struct server srv;
static struct query_guard *guard; /* the worker's: a fixed clock, a small RRL table */
/* clients: one inside the transfer allow list, one outside; the query id's low bit picks */
static struct sockaddr_in client_ok = {.sin_family = AF_INET, .sin_port = 0xd2c3};
static struct sockaddr_in client_other = {.sin_family = AF_INET, .sin_port = 0x3930};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_query: invariant violated: %s\n", what);
	abort();
}

static void load_zone(const char *apex_text, const char *text, size_t len)
{
	uint8_t apex[NAME_MAXLEN];
	char err[4096];
	struct zone *z = NULL;
	if (name_from_text(apex, apex_text, NULL) < 0) {
		fprintf(stderr, "fuzz_query: bad apex %s\n", apex_text);
		abort();
	}
	if (zonefile_load_string(text, len, apex_text, apex, &z, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_query: zone %s does not load:\n%s\n", apex_text, err);
		abort();
	}
	if (zones_publish(srv.zones, z) != 0)
		fail("zones_publish");
}

/* big.test: RRsets over every size limit (the largest TXT RRset a zone may hold, lib/zone.h:
 * 247 records of 251 octets at toobig.big.test., too big for any UDP answer; a thousand A
 * records, more NS targets than the additional section tracks). */
static void load_big_zone(void)
{
	size_t cap = 1 << 20, n = 0;
	char *t = malloc(cap);
	if (!t)
		abort();
	n += (size_t)snprintf(t + n, cap - n,
	                      "$ORIGIN big.test.\n$TTL 300\n"
	                      "@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n");
	char s250[251];
	memset(s250, 'x', 250);
	s250[250] = 0;
	for (int i = 0; i < 247; i++)
		n += (size_t)snprintf(t + n, cap - n, "toobig TXT \"%03d%s\"\n", i, s250 + 3);
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(t + n, cap - n, "manya A 10.%d.%d.1\n", i / 256, i % 256);
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(t + n, cap - n,
		                      "manyns NS ns%d.manyns\nns%d.manyns A 10.9.9.%d\n"
		                      "manymx MX %d mx%d\nmx%d A 10.8.8.%d\nmx%d AAAA 2001:db8::%d\n",
		                      i, i, i, i, i, i, i, i, i);
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(t + n, cap - n, "anyall TYPE%d \\# 2 abcd\n", 65100 + i);
	if (n >= cap)
		abort();
	load_zone("big.test.", t, n);
	free(t);
}

/* A history for example.com. (serial 2024010101), as the API's store would give IXFR: two changes
 * that chain to the served serial and one that leads nowhere (a gap), so IXFR requests reach the
 * incremental answer, the up-to-date one and the fallback to the whole zone. */
struct fuzz_change {
	uint32_t from, to;
	const char *removed, *added; /* "owner type rdata" lines, A and TXT only */
};
static const struct fuzz_change fuzz_history[] = {
    {2024010050, 2024010060, "gap.example.com. A 10.0.0.1", "gap.example.com. A 10.0.0.2"},
    {2024010099, 2024010100, "www.example.com. A 192.0.2.79", "www.example.com. A 192.0.2.80"},
    {2024010100, 2024010101, "mail.example.com. A 192.0.2.24",
     "mail.example.com. A 192.0.2.25\n"
     "mail.example.com. TXT moved"},
};

/* Parses "owner type value" lines into records whose storage lives in buf. */
static size_t history_records(const char *text, struct xfr_rr *rrs, uint8_t (*names)[NAME_MAXLEN], uint8_t (*rdata)[64])
{
	size_t n = 0;
	char line[256];
	for (const char *p = text; *p && n < 4;) {
		size_t l = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)l, p);
		p += l + (p[l] == '\n');
		char owner[128], type[8], value[64];
		if (sscanf(line, "%127s %7s %63s", owner, type, value) != 3 ||
		    name_from_text(names[n], owner, NULL) < 0)
			abort();
		struct xfr_rr *r = &rrs[n];
		r->owner = names[n];
		r->ttl = 300;
		r->rdata = rdata[n];
		if (!strcmp(type, "A")) {
			r->type = RR_A;
			r->rdlen = 4;
			inet_pton(AF_INET, value, rdata[n]);
		} else {
			r->type = RR_TXT;
			r->rdlen = (uint16_t)(strlen(value) + 1);
			rdata[n][0] = (uint8_t)strlen(value);
			memcpy(rdata[n] + 1, value, strlen(value));
		}
		n++;
	}
	return n;
}

/* An SOA of example.com. at serial, as the zone's own with only the serial changed. */
static uint16_t history_soa(uint32_t serial, uint8_t *out)
{
	uint8_t apex[NAME_MAXLEN];
	name_from_text(apex, "example.com.", NULL);
	const struct zone *z = zones_get(srv.zones, apex);
	const uint8_t *rec = z->soa->rdata;
	uint16_t len = rdata_len(rec);
	memcpy(out, rdata_bytes(rec), len);
	wire_put32(out + rr_soa_serial_offset(out), serial);
	return len;
}

static int history_read(void *ctx, const uint8_t *apex, uint32_t from, xfr_diff_fn fn, void *arg)
{
	(void)ctx;
	uint8_t ex[NAME_MAXLEN];
	name_from_text(ex, "example.com.", NULL);
	size_t i = 0, n = sizeof(fuzz_history) / sizeof(fuzz_history[0]);
	if (!name_equal(apex, ex))
		return TERN_ENOTFOUND;
	while (i < n && fuzz_history[i].from != from)
		i++;
	if (i == n)
		return TERN_ENOTFOUND;
	for (; i < n; i++) {
		struct xfr_rr removed[5], added[5];
		uint8_t names[10][NAME_MAXLEN], rdata[10][64], soa[2][2 * NAME_MAXLEN + 20];
		size_t nr = history_records(fuzz_history[i].removed, removed, names, rdata);
		size_t na = history_records(fuzz_history[i].added, added, names + 5, rdata + 5);
		removed[nr++] = (struct xfr_rr){ex, RR_SOA, 3600, history_soa(fuzz_history[i].from, soa[0]), soa[0]};
		added[na++] = (struct xfr_rr){ex, RR_SOA, 3600, history_soa(fuzz_history[i].to, soa[1]), soa[1]};
		struct xfr_diff d = {fuzz_history[i].from, fuzz_history[i].to, removed, added, nr, na};
		int rc = fn(&d, arg);
		if (rc != 0)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static const struct xfr_journal fuzz_journal = {.read = history_read, .ctx = NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char nsid[] = "fuzz";
	/* 192.0.2.0/24 may transfer zones; each query comes from inside or outside it (client_addr()) */
	struct config_prefix allow = {.family = AF_INET, .addr = {192, 0, 2, 0}, .len = 24};
	struct config conf;
	memset(&conf, 0, sizeof(conf));
	conf.edns_size = SERVER_EDNS;
	conf.nsid = nsid;
	conf.transfer.allow = &allow;
	conf.transfer.nallow = 1;
	/* cookies with a fixed secret and a required size; rate limiting with slip 1 (never a drop) */
	conf.cookies.enabled = true;
	conf.cookies.secret_set = true;
	memcpy(conf.cookies.secret, "fuzz-cookie-key!", 16);
	conf.cookies.rotation_ms = 3600000;
	conf.cookies.require_size = 600;
	conf.rrl.enabled = true;
	conf.rrl.rate = 50;
	conf.rrl.window = 1;
	conf.rrl.slip = 1;
	conf.rrl.ipv4_prefix = 24;
	conf.rrl.ipv6_prefix = 56;
	guard = query_guard_new(64, 1);
	if (!guard)
		fail("query_guard_new");
	guard->now = 1800000000u;
	guard->now_ms = 1;
	inet_pton(AF_INET, "192.0.2.53", &client_ok.sin_addr);
	inet_pton(AF_INET, "203.0.113.9", &client_other.sin_addr);
	if (server_init(&srv, &conf) != 0)
		fail("server_init");
	for (size_t i = 0; i < FUZZ_NZONES; i++)
		load_zone(fuzz_zones[i].apex, fuzz_zones[i].text, strlen(fuzz_zones[i].text));
	load_big_zone();
	srv.journal = &fuzz_journal;
	/* Publishing waits for grace periods, so register as a reader only afterwards; this thread
	 * then stays online for good (nothing publishes again). */
	rcu_register_thread();
	return 0;
}

/* What the request asks for, found independently of the server's parser. */
struct request {
	bool question; /* exactly one well-formed question */
	uint8_t qname[NAME_MAXLEN];
	int qname_len;
	uint16_t qtype, qclass;
	bool opt; /* an OPT record appears in the additional section */
	uint16_t opt_udp;
	const uint8_t *ecs; /* the data of the OPT's first Client Subnet option, or NULL */
	uint16_t ecs_len;
	const uint8_t *cookie; /* the data of the OPT's first COOKIE option, or NULL */
	uint16_t cookie_len;
	bool padding; /* the OPT has a Padding option (RFC 7830) */
};

/* The data of the first option of code `code` in the OPT RDATA at rd (rdlen octets), or NULL. */
static const uint8_t *opt_find(const uint8_t *rd, uint16_t rdlen, uint16_t code, uint16_t *len)
{
	for (size_t p = 0; p + 4 <= rdlen;) {
		uint16_t c = wire_get16(rd + p), l = wire_get16(rd + p + 2);
		if (p + 4 + l > rdlen)
			return NULL;
		if (c == code) {
			*len = l;
			return rd + p + 4;
		}
		p += 4u + l;
	}
	return NULL;
}

/* A Client Subnet in our OPT (RFC 7871 7.2.1): only to a client that sent one, FAMILY, SOURCE and
 * ADDRESS as it sent them, SCOPE within the address. */
static void check_ecs(const struct request *req, const uint8_t *rd, uint16_t rdlen)
{
	uint16_t len;
	const uint8_t *ecs = opt_find(rd, rdlen, 8, &len);
	if (!ecs)
		return;
	if (!req->ecs)
		fail("Client Subnet in the response to a query without one");
	if (len != req->ecs_len || len < 4 || memcmp(ecs, req->ecs, 3) != 0 ||
	    memcmp(ecs + 4, req->ecs + 4, len - 4u) != 0)
		fail("Client Subnet echo differs from the query's FAMILY, SOURCE or ADDRESS");
	if (ecs[3] > (wire_get16(ecs) == 1 ? 32 : 128))
		fail("Client Subnet SCOPE past the address");
}

static void parse_request(const uint8_t *msg, size_t len, struct request *r)
{
	memset(r, 0, sizeof(*r));
	if (len < WIRE_HEADER_LEN || wire_get16(msg + 4) > 1)
		return;
	size_t pos = WIRE_HEADER_LEN;
	if (wire_get16(msg + 4) == 1) { /* a message with no question is still read for its OPT */
		r->qname_len = wire_read_name(msg, len, &pos, r->qname);
		if (r->qname_len < 0 || pos + 4 > len)
			return;
		r->question = true;
		r->qtype = wire_get16(msg + pos);
		r->qclass = wire_get16(msg + pos + 2);
		pos += 4;
	}
	unsigned skip = (unsigned)wire_get16(msg + 6) + wire_get16(msg + 8);
	for (unsigned i = 0; i < skip; i++)
		if (wire_skip_rr(msg, len, &pos, NULL, NULL, NULL) < 0)
			return;
	unsigned ar = wire_get16(msg + 10);
	for (unsigned i = 0; i < ar; i++) {
		size_t rdpos;
		uint16_t type, rdlen;
		if (wire_skip_rr(msg, len, &pos, &type, &rdpos, &rdlen) < 0)
			return;
		if (type == RR_OPT) {
			r->opt = true;
			r->opt_udp = wire_get16(msg + rdpos - 8);
			r->ecs = opt_find(msg + rdpos, rdlen, 8, &r->ecs_len);
			r->cookie = opt_find(msg + rdpos, rdlen, 10, &r->cookie_len);
			uint16_t plen;
			r->padding = opt_find(msg + rdpos, rdlen, 12, &plen) != NULL;
			return;
		}
	}
}

/* A name inside RDATA must decode (pointers included) and end where expected. */
static size_t check_rdata_name(const uint8_t *msg, size_t len, size_t pos, size_t rdend)
{
	uint8_t name[NAME_MAXLEN];
	if (wire_read_name(msg, len, &pos, name) < 0)
		fail("RDATA name does not decode");
	if (pos > rdend)
		fail("RDATA name runs past RDLENGTH");
	return pos;
}

static void check_rdata(const uint8_t *msg, size_t len, uint16_t type, size_t rdpos, uint16_t rdlen)
{
	size_t end = rdpos + rdlen, pos = rdpos;
	switch (type) {
	case RR_NS:
	case RR_CNAME:
	case RR_PTR:
	case RR_DNAME: pos = check_rdata_name(msg, len, pos, end); break;
	case RR_MX:
		if (rdlen < 3)
			fail("short MX");
		pos = check_rdata_name(msg, len, pos + 2, end);
		break;
	case RR_SOA:
		pos = check_rdata_name(msg, len, pos, end);
		pos = check_rdata_name(msg, len, pos, end) + 20;
		break;
	case RR_A: pos += 4; break;
	case RR_AAAA: pos += 16; break;
	default: return;
	}
	if (pos != end)
		fail("RDATA length does not match its contents");
}

/* A COOKIE option only to a query with a well-formed one (8, or 16 to 40 octets): its client
 * cookie and one of our server cookies (RFC 9018: version 1, reserved 0, the fixed clock). */
static void check_cookie(const struct request *req, const uint8_t *rd, uint16_t rdlen)
{
	uint16_t len;
	const uint8_t *c = opt_find(rd, rdlen, 10, &len);
	bool wellformed = req->cookie && (req->cookie_len == 8 || (req->cookie_len >= 16 && req->cookie_len <= 40));
	if (req->cookie && !wellformed && c)
		fail("a cookie back to a malformed COOKIE option");
	if (!c)
		return;
	if (!wellformed)
		fail("COOKIE in the response to a query without a well-formed one");
	if (len != 24 || memcmp(c, req->cookie, 8) != 0)
		fail("the client cookie is not echoed, or the server cookie is not 16 octets");
	if (c[8] != 1 || c[9] || c[10] || c[11] || wire_get32(c + 12) != guard->now)
		fail("a server cookie not RFC 9018's version 1 with our time");
}

/* Padding (RFC 7830) only over TLS to a query that padded, and only zero octets. */
static void check_padding(const struct request *req, const uint8_t *rd, uint16_t rdlen, bool tls)
{
	uint16_t len;
	const uint8_t *p = opt_find(rd, rdlen, 12, &len);
	if (!p)
		return;
	if (!tls || !req->padding)
		fail("Padding in a response to a query without one, or not over TLS");
	for (uint16_t i = 0; i < len; i++)
		if (p[i])
			fail("Padding of other than zero octets");
}

static void check_response(const uint8_t *msg, size_t len, const struct request *req, const uint8_t *resp, size_t rlen,
                           size_t cap, enum query_proto proto, bool tls)
{
	if (len < WIRE_HEADER_LEN || (msg[2] & 0x80)) {
		if (rlen != 0)
			fail("answered a response or a runt");
		return;
	}
	if (rlen == 0)
		fail("no answer to a query");
	if (rlen < WIRE_HEADER_LEN)
		fail("response shorter than a header");
	if (rlen > cap)
		fail("response longer than the buffer");
	if (proto == PROTO_UDP) {
		size_t limit = 512;
		if (req->opt) {
			size_t udp = req->opt_udp < SERVER_EDNS ? req->opt_udp : SERVER_EDNS;
			if (udp > limit)
				limit = udp;
		}
		if (rlen > limit)
			fail("UDP response over the client's limit (512 without OPT)");
	}
	if (memcmp(resp, msg, 2) != 0)
		fail("response id differs from the query id");
	uint16_t flags = wire_get16(resp + 2), qflags = wire_get16(msg + 2);
	if (!(flags & WIRE_QR))
		fail("QR clear in a response");
	if (WIRE_OPCODE(flags) != WIRE_OPCODE(qflags))
		fail("opcode not echoed");
	if ((flags & WIRE_RD) != (qflags & WIRE_RD))
		fail("RD not echoed");

	/* Walk the sections: the header counts must describe exactly the bytes sent. */
	size_t pos = WIRE_HEADER_LEN;
	uint16_t qd = wire_get16(resp + 4);
	if (qd > 1)
		fail("more than one question in a response");
	if (qd == 1) {
		uint8_t name[NAME_MAXLEN];
		int n = wire_read_name(resp, rlen, &pos, name);
		if (n < 0 || pos + 4 > rlen)
			fail("response question does not parse");
		if (!req->question || n != req->qname_len || memcmp(name, req->qname, (size_t)n) != 0 ||
		    wire_get16(resp + pos) != req->qtype || wire_get16(resp + pos + 2) != req->qclass)
			fail("response question differs from the query's");
		pos += 4;
	}
	unsigned an = wire_get16(resp + 6), ns = wire_get16(resp + 8), ar = wire_get16(resp + 10);
	int opts = 0;
	for (unsigned i = 0; i < an + ns + ar; i++) {
		size_t start = pos, rdpos;
		uint16_t type, rdlen;
		if (wire_skip_rr(resp, rlen, &pos, &type, &rdpos, &rdlen) < 0)
			fail("header counts do not match the records (wire_skip_rr failed)");
		if (type == RR_OPT) {
			if (i < an + ns)
				fail("OPT outside the additional section");
			if (resp[start] != 0)
				fail("OPT not owned by the root");
			if (++opts > 1)
				fail("more than one OPT");
			if (!req->opt)
				fail("OPT in the response to a query without one");
			check_ecs(req, resp + rdpos, rdlen);
			check_cookie(req, resp + rdpos, rdlen);
			check_padding(req, resp + rdpos, rdlen, tls);
			continue;
		}
		check_rdata(resp, rlen, type, rdpos, rdlen);
	}
	if (pos != rlen)
		fail("bytes after the last record the header counts");
}

static const struct sockaddr *client_addr(const uint8_t *data, size_t size)
{
	return (const struct sockaddr *)((size > 1 && (data[1] & 1)) ? &client_other : &client_ok);
}

static void run(const uint8_t *data, size_t size, const struct request *req, size_t cap, enum query_proto proto,
                bool tls)
{
	struct query_client client = {.addr = client_addr(data, size),
	                              .addrlen = sizeof(struct sockaddr_in),
	                              .proto = proto,
	                              .stats = NULL,
	                              .guard = guard,
	                              .tls = tls ? 1 : 0};
	guard->now_ms += 7; /* the clock moves on: buckets refill */
	/* exactly cap bytes, so ASan sees any write past the caller's buffer */
	uint8_t *out = malloc(cap);
	if (!out)
		abort();
	memset(out, 0xa5, cap);
	size_t rlen = query_process(&srv, data, size, out, cap, &client);
	check_response(data, size, req, out, rlen, cap, proto, tls);
	free(out);
}

/* One message of a zone transfer: a response to the query with its question, sections that walk
 * exactly to the end. Returns the rcode; *soa_first / *soa_last tell about the answer's ends. */
static unsigned check_xfr_message(const uint8_t *msg, size_t len, const uint8_t *m, size_t mlen,
                                  const struct request *req, bool *soa_first, bool *soa_last)
{
	if (mlen < WIRE_HEADER_LEN)
		fail("transfer message shorter than a header");
	if (memcmp(m, msg, 2) != 0)
		fail("transfer message id differs from the query id");
	uint16_t flags = wire_get16(m + 2);
	if (!(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_QUERY)
		fail("transfer message without QR or with another opcode");
	(void)len;
	size_t pos = WIRE_HEADER_LEN;
	uint16_t qd = wire_get16(m + 4);
	if (qd > 1)
		fail("transfer message with more than one question");
	if (qd == 1) {
		uint8_t name[NAME_MAXLEN];
		int n = wire_read_name(m, mlen, &pos, name);
		if (n < 0 || pos + 4 > mlen || n != req->qname_len || memcmp(name, req->qname, (size_t)n) != 0 ||
		    wire_get16(m + pos) != req->qtype || wire_get16(m + pos + 2) != req->qclass)
			fail("transfer message question differs from the query's");
		pos += 4;
	}
	unsigned an = wire_get16(m + 6), total = an + wire_get16(m + 8) + wire_get16(m + 10);
	*soa_first = *soa_last = false;
	for (unsigned i = 0; i < total; i++) {
		size_t rdpos;
		uint16_t type, rdlen;
		if (wire_skip_rr(m, mlen, &pos, &type, &rdpos, &rdlen) < 0)
			fail("transfer message counts do not match its records");
		if (type != RR_OPT)
			check_rdata(m, mlen, type, rdpos, rdlen);
		if (i == 0 && an > 0)
			*soa_first = type == RR_SOA;
		if (i + 1 == an)
			*soa_last = type == RR_SOA;
	}
	if (pos != mlen)
		fail("bytes after the last record of a transfer message");
	return WIRE_RCODE(flags);
}

/* TCP as net/tcp.c does it: a transfer question goes to xfr_answer(), anything else to
 * query_process(). The answer is appended after bytes already there (as in a batch of pipelined
 * questions), which it must leave alone. */
static void run_tcp(const uint8_t *data, size_t size, const struct request *req)
{
	struct query_client client = {.addr = client_addr(data, size),
	                              .addrlen = sizeof(struct sockaddr_in),
	                              .proto = PROTO_TCP,
	                              .stats = NULL,
	                              .guard = guard};
	static const uint8_t before[3] = {0xab, 0xcd, 0xef};
	struct xfr_out out = {.buf = malloc(sizeof(before)), .len = sizeof(before), .cap = sizeof(before)};
	if (!out.buf)
		fail("out of memory");
	memcpy(out.buf, before, sizeof(before));
	int r = xfr_answer(&srv, data, size, &client, &out);
	if (r == 0) {
		free(out.buf);
		run(data, size, req, WIRE_MAX_MSG, PROTO_TCP, size > 1 && (data[1] & 2)); /* TCP, or TLS */
		return;
	}
	if (r < 0)
		fail("xfr_answer failed");
	if (memcmp(out.buf, before, sizeof(before)) != 0)
		fail("xfr_answer changed what was in its output before");
	const uint8_t *xfr = out.buf + sizeof(before);
	size_t xlen = out.len - sizeof(before);
	if (!xfr_is_transfer(data, size))
		fail("xfr_answer answered what xfr_is_transfer does not call a transfer");
	/* frames: a 16-bit length, then the message; SOA first and last across a successful transfer */
	size_t pos = 0, msgs = 0;
	bool first_soa = false, last_soa = false;
	unsigned rcode = 0;
	while (pos < xlen) {
		if (xlen - pos < 2)
			fail("transfer output ends inside a frame length");
		size_t mlen = wire_get16(xfr + pos);
		if (mlen == 0 || xlen - pos - 2 < mlen)
			fail("transfer frame length wrong");
		bool f, l;
		rcode = check_xfr_message(data, size, xfr + pos + 2, mlen, req, &f, &l);
		if (msgs == 0)
			first_soa = f;
		last_soa = l;
		if (rcode != RCODE_NOERROR && msgs > 0)
			fail("an error rcode after the first transfer message");
		pos += 2 + mlen;
		msgs++;
	}
	if (msgs == 0)
		fail("xfr_answer returned 1 with no message");
	if (rcode == RCODE_NOERROR && (!first_soa || !last_soa))
		fail("a transfer that does not begin and end with the SOA");
	free(out.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > WIRE_MAX_MSG)
		return 0;
	struct request req;
	parse_request(data, size, &req);
	run(data, size, &req, 4096, PROTO_UDP, false);
	run(data, size, &req, 512, PROTO_UDP, false);
	run_tcp(data, size, &req);
	return 0;
}
