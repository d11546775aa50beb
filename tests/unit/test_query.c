/* Unit tests for the query path (src/ternd/ns/): query_process() driven in memory, without
 * sockets, with hand-built queries against a server holding a few zones; every response is
 * parsed back section by section and checked (rcode, flags, counts, owners, types, TTLs, RDATA). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "lib/zonefile.h"
#include "lib/edns.h"
#include "ternd/base/config.h"
#include "ternd/ns/ns.h"
#include "ternd/ns/query.h"
#include "ternd/zones/server.h"
#include "ternd/zones/zones.h"

/* ---- zones ---- */

/* 190 octets in wire form: three long labels then other.org. */
#define LONG_TARGET                                                                                                    \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."                                             \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."                                             \
	"cccccccccccccccccccccccccccccccccccccccccccccccccc.other.org."

#define DS_HEX "2BB183AF5F22588179A53B0A98631FAD1A292118B9E81D2BB70A6E52BFEB2B8E"

static const char zone_example[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@         3600 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300\n"
    "@         IN NS    ns1.example.com.\n"
    "@         IN NS    ns2.example.net.\n"
    "@         IN MX    10 mail.example.com.\n"
    "@         IN A     192.0.2.1\n"
    "ns1       IN A     192.0.2.53\n"
    "ns1       IN AAAA  2001:db8::53\n"
    "mail      IN A     192.0.2.25\n"
    "mail      IN AAAA  2001:db8::25\n"
    "www   300 IN A     192.0.2.80\n"
    "_sip._tcp IN SRV   0 5 5060 sip.example.com.\n"
    "sip       IN A     192.0.2.60\n"
    "sip       IN AAAA  2001:db8::60\n"
    "svc       IN HTTPS 1 web.example.com. alpn=h2\n"
    "web       IN A     192.0.2.81\n"
    "web       IN AAAA  2001:db8::81\n"
    "multi     IN A     192.0.2.10\n"
    "multi     IN A     192.0.2.11\n"
    "multi     IN MX    20 mail.example.com.\n"
    "multi     IN TXT   \"multi\"\n"
    /* CNAME */
    "alias   600 IN CNAME www.example.com.\n"
    "chain1      IN CNAME chain2.example.com.\n"
    "chain2      IN CNAME www.example.com.\n"
    "toother     IN CNAME www.other.org.\n"
    "tonx        IN CNAME nothere.example.com.\n"
    "loop1       IN CNAME loop2.example.com.\n"
    "loop2       IN CNAME loop1.example.com.\n"
    "self        IN CNAME self.example.com.\n"
    "toout       IN CNAME www.elsewhere.test.\n"
    "tomx        IN CNAME multi.example.com.\n"
    /* DNAME */
    "dn     1800 IN DNAME other.org.\n"
    "long        IN DNAME " LONG_TARGET "\n"
    "dloop       IN DNAME x.dloop.example.com.\n"
    /* wildcards: zz is an ENT with a wildcard child; ent.zz is an ENT without one */
    "*.zz        IN A     192.0.2.100\n"
    "host.ent.zz IN A     192.0.2.7\n"
    "*.wcn       IN CNAME www.example.com.\n"
    "*.wl        IN CNAME a.wl.example.com.\n"
    /* delegations */
    "sub         IN NS    ns1.sub.example.com.\n"
    "sub         IN NS    ns.example.net.\n"
    "sub         IN DS    12345 8 2 " DS_HEX "\n"
    "ns1.sub     IN A     192.0.2.201\n"
    "deleg       IN NS    ns1.example.com.\n"
    "deleg       IN NS    ns.deleg.example.com.\n"
    "ns.deleg    IN A     192.0.2.202\n"
    "ns.deleg    IN AAAA  2001:db8::202\n"
    "nods        IN NS    ns.example.net.\n"
    "child       IN NS    ns1.child.example.com.\n"
    "child       IN DS    54321 8 2 " DS_HEX "\n"
    "ns1.child   IN A     192.0.2.203\n"
    "bigdeleg    IN NS    ns01.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns02.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns03.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns04.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns05.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns06.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns07.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns08.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns09.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns10.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns11.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns12.bigdeleg.example.com.\n"
    "bigdeleg    IN NS    ns13.bigdeleg.example.com.\n"
    "ns01.bigdeleg IN A  192.0.2.101\n"
    "ns01.bigdeleg IN AAAA 2001:db8::101\n"
    "ns02.bigdeleg IN A  192.0.2.102\n"
    "ns02.bigdeleg IN AAAA 2001:db8::102\n"
    "ns03.bigdeleg IN A  192.0.2.103\n"
    "ns03.bigdeleg IN AAAA 2001:db8::103\n"
    "ns04.bigdeleg IN A  192.0.2.104\n"
    "ns04.bigdeleg IN AAAA 2001:db8::104\n"
    "ns05.bigdeleg IN A  192.0.2.105\n"
    "ns05.bigdeleg IN AAAA 2001:db8::105\n"
    "ns06.bigdeleg IN A  192.0.2.106\n"
    "ns06.bigdeleg IN AAAA 2001:db8::106\n"
    "ns07.bigdeleg IN A  192.0.2.107\n"
    "ns07.bigdeleg IN AAAA 2001:db8::107\n"
    "ns08.bigdeleg IN A  192.0.2.108\n"
    "ns08.bigdeleg IN AAAA 2001:db8::108\n"
    "ns09.bigdeleg IN A  192.0.2.109\n"
    "ns09.bigdeleg IN AAAA 2001:db8::109\n"
    "ns10.bigdeleg IN A  192.0.2.110\n"
    "ns10.bigdeleg IN AAAA 2001:db8::110\n"
    "ns11.bigdeleg IN A  192.0.2.111\n"
    "ns11.bigdeleg IN AAAA 2001:db8::111\n"
    "ns12.bigdeleg IN A  192.0.2.112\n"
    "ns12.bigdeleg IN AAAA 2001:db8::112\n"
    "ns13.bigdeleg IN A  192.0.2.113\n"
    "ns13.bigdeleg IN AAAA 2001:db8::113\n";

static const char zone_child[] =
    "$ORIGIN child.example.com.\n"
    "$TTL 3600\n"
    "@   3600 IN SOA ns1.child.example.com. hostmaster.child.example.com. 7 7200 3600 1209600 60\n"
    "@        IN NS  ns1.child.example.com.\n"
    "ns1      IN A   192.0.2.203\n"
    "www      IN A   192.0.2.210\n";

static const char zone_other[] = "$ORIGIN other.org.\n"
                                 "$TTL 3600\n"
                                 "@     60 IN SOA ns.other.org. hostmaster.other.org. 9 7200 3600 1209600 600\n"
                                 "@        IN NS  ns.other.org.\n"
                                 "ns       IN A   198.51.100.53\n"
                                 "www      IN A   198.51.100.80\n"
                                 "mx       IN MX  5 mail.other.org.\n"
                                 "mail     IN A   198.51.100.25\n";

static const char zone_net[] = "$ORIGIN example.net.\n"
                               "$TTL 3600\n"
                               "@   3600 IN SOA ns.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600\n"
                               "@        IN NS  ns.example.net.\n"
                               "ns       IN A   198.51.100.99\n"
                               "ns2      IN A   198.51.100.98\n";

/* A zone signed offline: the apex SOA has an RRSIG (the signature itself is never checked). */
#define SIG_TAIL                                                                                                       \
	" 13 2 3600 20370101000000 20240101000000 55325 signed.org. "                                                  \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==\n"
#define KEY_DATA " 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"
static const char zone_signed_org[] =
    "$ORIGIN signed.org.\n"
    "$TTL 3600\n"
    "@   IN SOA   ns.signed.org. hostmaster.signed.org. 1 7200 3600 1209600 300\n"
    "@   IN RRSIG SOA" SIG_TAIL "@   IN NS    ns.signed.org.\n"
    "@   IN RRSIG NS" SIG_TAIL "@   IN DNSKEY 257" KEY_DATA "@   IN RRSIG DNSKEY" SIG_TAIL "ns  IN A     198.51.100.7\n"
    "ns  IN NSEC  sec.signed.org. A RRSIG NSEC\n"
    "ns  IN RRSIG A" SIG_TAIL "ns  IN RRSIG NSEC" SIG_TAIL "sec IN NS    ns.sec.signed.org.\n"
    "sec IN DS    12345 13 2 " DS_HEX "\n"
    "ns.sec IN A  198.51.100.8\n"
    /* RRSIGs whose TTLs differ: each has the TTL of the RRset it covers (RFC 4034 3) */
    "mix 300  IN A     198.51.100.9\n"
    "mix 300  IN RRSIG A" SIG_TAIL "mix 7200 IN TXT   \"t\"\n"
    "mix 7200 IN RRSIG TXT" SIG_TAIL "mix 60   IN NSEC  ns.signed.org. A TXT RRSIG NSEC\n"
    "mix 60   IN RRSIG NSEC" SIG_TAIL;

/* A DNSKEY at the apex and no signatures: not a signed zone. */
static const char zone_keyonly_org[] = "$ORIGIN keyonly.org.\n"
                                       "$TTL 3600\n"
                                       "@   IN SOA   ns.keyonly.org. hostmaster.keyonly.org. 1 7200 3600 1209600 300\n"
                                       "@   IN NS    ns.keyonly.org.\n"
                                       "@   IN DNSKEY 257" KEY_DATA "ns  IN A     198.51.100.9\n"
                                       "sec IN NS    ns.sec.keyonly.org.\n"
                                       "sec IN DS    12345 13 2 " DS_HEX "\n"
                                       "ns.sec IN A  198.51.100.10\n";

#define BIG_COUNT 30 /* TXT records of 200 characters at big.example.com: ~6.4 KB */
#define MID_COUNT 4 /* TXT records of 150 characters at mid.example.com: ~700 bytes */

struct fixture {
	struct server srv;
	struct config conf;
	char nsid[16];
};

static void load_zone(struct server *srv, const char *text, size_t len, const char *apex_text)
{
	uint8_t apex[NAME_MAXLEN];
	assert_true(name_from_text(apex, apex_text, NULL) > 0);
	struct zone *z = NULL;
	char err[2048];
	int rc = zonefile_load_string(text, len, apex_text, apex, &z, err, sizeof(err));
	if (rc != 0)
		fail_msg("zone %s: %s", apex_text, err);
	assert_int_equal(zones_publish(srv->zones, z), 0);
}

/* The example.com zone text with the generated TXT RRsets appended. */
static char *example_text(size_t *len)
{
	size_t cap = sizeof(zone_example) + (BIG_COUNT + MID_COUNT) * 300;
	char *t = malloc(cap);
	assert_non_null(t);
	size_t n = (size_t)snprintf(t, cap, "%s", zone_example);
	char s[256];
	for (int i = 0; i < BIG_COUNT; i++) {
		snprintf(s, sizeof(s), "%02d", i);
		memset(s + 2, 'x', 198);
		s[200] = 0;
		n += (size_t)snprintf(t + n, cap - n, "big IN TXT \"%s\"\n", s);
	}
	for (int i = 0; i < MID_COUNT; i++) {
		snprintf(s, sizeof(s), "%02d", i);
		memset(s + 2, 'm', 148);
		s[150] = 0;
		n += (size_t)snprintf(t + n, cap - n, "mid IN TXT \"%s\"\n", s);
	}
	assert_true(n < cap);
	*len = n;
	return t;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->nsid, sizeof(f->nsid), "test-ns");
	f->conf.edns_size = 1232;
	f->conf.nsid = f->nsid;
	assert_int_equal(server_init(&f->srv, &f->conf), 0);
	size_t len;
	char *ex = example_text(&len);
	load_zone(&f->srv, ex, len, "example.com.");
	free(ex);
	load_zone(&f->srv, zone_child, strlen(zone_child), "child.example.com.");
	load_zone(&f->srv, zone_other, strlen(zone_other), "other.org.");
	load_zone(&f->srv, zone_net, strlen(zone_net), "example.net.");
	load_zone(&f->srv, zone_signed_org, strlen(zone_signed_org), "signed.org.");
	load_zone(&f->srv, zone_keyonly_org, strlen(zone_keyonly_org), "keyonly.org.");
	assert_int_equal(zones_count(f->srv.zones), 6);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	server_destroy(&f->srv);
	free(f);
	return 0;
}

/* ---- query builder ---- */

struct msgbuf {
	uint8_t b[1024];
	size_t len;
};

static void put(struct msgbuf *m, const void *data, size_t len)
{
	assert_true(m->len + len <= sizeof(m->b));
	memcpy(m->b + m->len, data, len);
	m->len += len;
}

static void put16(struct msgbuf *m, uint16_t v)
{
	uint8_t b[2];
	wire_put16(b, v);
	put(m, b, 2);
}

static void put32(struct msgbuf *m, uint32_t v)
{
	uint8_t b[4];
	wire_put32(b, v);
	put(m, b, 4);
}

struct qspec {
	uint16_t id;
	uint16_t flags; /* second header word as sent: RD, opcode, CD... */
	const char *qname;
	uint16_t qtype;
	uint16_t qclass; /* 0 means IN */
	bool edns;
	uint16_t udp; /* EDNS payload size; 0 means 1232 */
	uint8_t version;
	bool do_bit;
	bool nsid;
};

/* An OPT record: root owner, payload size, extended rcode 0, version, DO, then options. */
static void put_opt(struct msgbuf *m, uint16_t udp, uint8_t version, bool do_bit, const uint8_t *opts, uint16_t optlen)
{
	put(m, "", 1);
	put16(m, RR_OPT);
	put16(m, udp);
	put32(m, (uint32_t)version << 16 | (do_bit ? 0x8000u : 0));
	put16(m, optlen);
	if (optlen)
		put(m, opts, optlen);
}

static void put_header(struct msgbuf *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                       uint16_t ar)
{
	m->len = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void put_question(struct msgbuf *m, const char *qname, uint16_t qtype, uint16_t qclass)
{
	uint8_t name[NAME_MAXLEN];
	int n = name_from_text(name, qname, NULL);
	assert_true(n > 0);
	put(m, name, (size_t)n);
	put16(m, qtype);
	put16(m, qclass);
}

static void build_query(struct msgbuf *m, const struct qspec *s)
{
	put_header(m, s->id, s->flags, 1, 0, 0, s->edns ? 1 : 0);
	put_question(m, s->qname, s->qtype, s->qclass ? s->qclass : RR_CLASS_IN);
	if (s->edns) {
		static const uint8_t nsid_opt[4] = {0, 3, 0, 0}; /* NSID, empty */
		put_opt(m, s->udp ? s->udp : 1232, s->version, s->do_bit, s->nsid ? nsid_opt : NULL, s->nsid ? 4 : 0);
	}
}

/* ---- response parser ---- */

#define MAX_RRS 64

struct rr {
	char owner[1024]; /* presentation form, lower-cased */
	uint8_t owner_wire[NAME_MAXLEN]; /* decompressed, case as sent */
	size_t owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdpos; /* RDATA offset in the message */
	uint16_t rdlen;
};

struct resp {
	size_t len;
	uint8_t msg[65536];
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
	uint8_t qname[NAME_MAXLEN];
	size_t qname_len;
	uint16_t qtype, qclass;
	struct rr sec[3][MAX_RRS]; /* answer, authority, additional (without OPT) */
	int n[3];
	int nopt;
	uint16_t opt_udp;
	uint32_t opt_ttl;
	size_t opt_rdpos;
	uint16_t opt_rdlen;
};

enum { AN = 0, NS = 1, AR = 2 };

static void lower_text(const uint8_t *name, char *out, size_t cap)
{
	assert_true(name_to_text(name, out, cap) > 0);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

/* Parses a whole response; every record must parse and the message must end after the last. */
static void parse_response(struct resp *r)
{
	assert_true(r->len >= WIRE_HEADER_LEN);
	const uint8_t *m = r->msg;
	r->id = wire_get16(m);
	r->flags = wire_get16(m + 2);
	r->qdcount = wire_get16(m + 4);
	r->ancount = wire_get16(m + 6);
	r->nscount = wire_get16(m + 8);
	r->arcount = wire_get16(m + 10);
	size_t pos = WIRE_HEADER_LEN;
	assert_true(r->qdcount <= 1);
	if (r->qdcount == 1) {
		int n = wire_read_name(m, r->len, &pos, r->qname);
		assert_true(n > 0);
		r->qname_len = (size_t)n;
		assert_true(pos + 4 <= r->len);
		r->qtype = wire_get16(m + pos);
		r->qclass = wire_get16(m + pos + 2);
		pos += 4;
	}
	uint16_t counts[3] = {r->ancount, r->nscount, r->arcount};
	for (int s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			size_t start = pos, rdpos;
			uint16_t type, rdlen;
			assert_int_equal(wire_skip_rr(m, r->len, &pos, &type, &rdpos, &rdlen), 0);
			uint8_t owner[NAME_MAXLEN];
			size_t p = start;
			int olen = wire_read_name(m, r->len, &p, owner);
			assert_true(olen > 0);
			if (type == RR_OPT) {
				assert_int_equal(s, AR);
				assert_int_equal(olen, 1);
				r->nopt++;
				r->opt_udp = wire_get16(m + p + 2);
				r->opt_ttl = wire_get32(m + p + 4);
				r->opt_rdpos = rdpos;
				r->opt_rdlen = rdlen;
				continue;
			}
			assert_true(r->n[s] < MAX_RRS);
			struct rr *rr = &r->sec[s][r->n[s]++];
			memcpy(rr->owner_wire, owner, (size_t)olen);
			rr->owner_len = (size_t)olen;
			lower_text(owner, rr->owner, sizeof(rr->owner));
			rr->type = type;
			rr->rclass = wire_get16(m + p + 2);
			rr->ttl = wire_get32(m + p + 4);
			rr->rdpos = rdpos;
			rr->rdlen = rdlen;
			assert_int_equal(rr->rclass, RR_CLASS_IN);
		}
	}
	assert_int_equal(pos, r->len); /* nothing after the counted records */
}

static struct query_client client_of(enum query_proto proto, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(53000);
	sin->sin_addr.s_addr = htonl(0x7f000001);
	return (struct query_client){.addr = (const struct sockaddr *)sin, .addrlen = sizeof(*sin), .proto = proto};
}

/* Sends raw bytes; returns the parsed response, or NULL when query_process returned 0. Every
 * response must carry the query's ID, QR set and the query's RD bit. */
static struct resp *ask_raw(const struct fixture *f, const uint8_t *msg, size_t len, enum query_proto proto, size_t cap)
{
	struct resp *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	struct sockaddr_in sin;
	struct query_client c = client_of(proto, &sin);
	assert_true(cap <= sizeof(r->msg));
	r->len = query_process(&f->srv, msg, len, r->msg, cap, &c);
	if (r->len == 0) {
		free(r);
		return NULL;
	}
	assert_true(r->len <= cap);
	parse_response(r);
	assert_int_equal(r->id, wire_get16(msg));
	assert_true(r->flags & WIRE_QR);
	assert_int_equal(r->flags & WIRE_RD, wire_get16(msg + 2) & WIRE_RD);
	assert_int_equal(WIRE_OPCODE(r->flags), WIRE_OPCODE(wire_get16(msg + 2)));
	return r;
}

static struct resp *ask_proto(const struct fixture *f, const struct qspec *s, enum query_proto proto, size_t cap)
{
	struct msgbuf m;
	build_query(&m, s);
	struct resp *r = ask_raw(f, m.b, m.len, proto, cap);
	assert_non_null(r);
	/* the question comes back byte for byte, case included */
	uint8_t qname[NAME_MAXLEN];
	int n = name_from_text(qname, s->qname, NULL);
	assert_int_equal(r->qdcount, 1);
	assert_int_equal(r->qname_len, (size_t)n);
	assert_memory_equal(r->qname, qname, (size_t)n);
	assert_int_equal(r->qtype, s->qtype);
	assert_int_equal(r->qclass, s->qclass ? s->qclass : RR_CLASS_IN);
	assert_int_equal(r->nopt, s->edns ? 1 : 0);
	return r;
}

/* Over UDP with a large buffer, so only the server's own limits apply. */
static struct resp *ask(const struct fixture *f, const struct qspec *s)
{
	return ask_proto(f, s, PROTO_UDP, 65535);
}

/* The common case: class IN, RD set, an ID derived from the name, optional EDNS. */
static struct resp *ask_q(const struct fixture *f, const char *qname, uint16_t qtype, bool edns)
{
	struct qspec s = {.id = (uint16_t)(0x1000 + strlen(qname) * 31 + qtype),
	                  .flags = WIRE_RD,
	                  .qname = qname,
	                  .qtype = qtype,
	                  .edns = edns};
	return ask(f, &s);
}

/* rcode (4 bits of the header), AA, TC and the counts of answer, authority and additional
 * records (OPT not counted). */
static void expect(const struct resp *r, int rcode, bool aa, bool tc, int an, int ns, int ar)
{
	assert_int_equal(WIRE_RCODE(r->flags), rcode);
	assert_int_equal(!!(r->flags & WIRE_AA), aa);
	assert_int_equal(!!(r->flags & WIRE_TC), tc);
	assert_int_equal(r->n[AN], an);
	assert_int_equal(r->n[NS], ns);
	assert_int_equal(r->n[AR], ar);
	assert_int_equal(r->ancount, an);
	assert_int_equal(r->nscount, ns);
	assert_int_equal(r->arcount, ar + r->nopt);
}

static void expect_rr(const struct resp *r, int sec, int i, const char *owner, uint16_t type, uint32_t ttl)
{
	assert_true(i < r->n[sec]);
	const struct rr *rr = &r->sec[sec][i];
	assert_string_equal(rr->owner, owner);
	assert_int_equal(rr->type, type);
	assert_int_equal(rr->ttl, ttl);
}

/* Index of the first record with this owner and type in a section, or -1. */
static int find_rr(const struct resp *r, int sec, const char *owner, uint16_t type)
{
	for (int i = 0; i < r->n[sec]; i++)
		if (r->sec[sec][i].type == type && strcmp(r->sec[sec][i].owner, owner) == 0)
			return i;
	return -1;
}

static int count_rr(const struct resp *r, int sec, const char *owner, uint16_t type)
{
	int n = 0;
	for (int i = 0; i < r->n[sec]; i++)
		if (r->sec[sec][i].type == type && (!owner || strcmp(r->sec[sec][i].owner, owner) == 0))
			n++;
	return n;
}

/* A name inside RDATA (possibly compressed), lower-cased text. */
static void rdata_name(const struct resp *r, const struct rr *rr, size_t off, char *out, size_t cap)
{
	uint8_t name[NAME_MAXLEN];
	size_t pos = rr->rdpos + off;
	assert_true(wire_read_name(r->msg, r->len, &pos, name) > 0);
	assert_true(pos <= rr->rdpos + rr->rdlen);
	lower_text(name, out, cap);
}

static void expect_target(const struct resp *r, int sec, int i, size_t off, const char *target)
{
	char t[1024];
	rdata_name(r, &r->sec[sec][i], off, t, sizeof(t));
	assert_string_equal(t, target);
}

static void expect_a(const struct resp *r, int sec, int i, const char *addr)
{
	const struct rr *rr = &r->sec[sec][i];
	char t[INET6_ADDRSTRLEN];
	if (rr->type == RR_A) {
		assert_int_equal(rr->rdlen, 4);
		inet_ntop(AF_INET, r->msg + rr->rdpos, t, sizeof(t));
	} else {
		assert_int_equal(rr->type, RR_AAAA);
		assert_int_equal(rr->rdlen, 16);
		inet_ntop(AF_INET6, r->msg + rr->rdpos, t, sizeof(t));
	}
	assert_string_equal(t, addr);
}

/* The SOA at the given index: owner and TTL (the negative TTL), which is never above the
 * MINIMUM field the record carries (RFC 2308 3). */
static void expect_soa(const struct resp *r, int sec, int i, const char *apex, uint32_t ttl)
{
	expect_rr(r, sec, i, apex, RR_SOA, ttl);
	const struct rr *rr = &r->sec[sec][i];
	assert_true(rr->rdlen > 20);
	assert_true(ttl <= wire_get32(r->msg + rr->rdpos + rr->rdlen - 4));
}

/* Looks for an EDNS option in our OPT; returns its length or -1, data copied to out. */
static int opt_option(const struct resp *r, uint16_t code, uint8_t *out, size_t cap)
{
	assert_int_equal(r->nopt, 1);
	size_t p = r->opt_rdpos, end = r->opt_rdpos + r->opt_rdlen;
	while (p + 4 <= end) {
		uint16_t c = wire_get16(r->msg + p), l = wire_get16(r->msg + p + 2);
		assert_true(p + 4 + l <= end);
		if (c == code) {
			assert_true(l <= cap);
			memcpy(out, r->msg + p + 4, l);
			return l;
		}
		p += 4u + l;
	}
	assert_int_equal(p, end);
	return -1;
}

static void expect_ede(const struct resp *r, uint16_t info)
{
	uint8_t d[64];
	int l = opt_option(r, 15, d, sizeof(d));
	assert_true(l >= 2);
	assert_int_equal(wire_get16(d), info);
}

static void expect_no_ede(const struct resp *r)
{
	uint8_t d[64];
	assert_int_equal(opt_option(r, 15, d, sizeof(d)), -1);
}

/* ---- positive answers, zone choice ---- */

static void test_positive_answer(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "www.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "www.example.com.", RR_A, 300);
	expect_a(r, AN, 0, "192.0.2.80");
	free(r);

	r = ask_q(f, "multi.example.com.", RR_A, true);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 0);
	expect_rr(r, AN, 0, "multi.example.com.", RR_A, 3600);
	expect_rr(r, AN, 1, "multi.example.com.", RR_A, 3600);
	expect_no_ede(r);
	free(r);
}

static void test_case_preserved(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 0xbeef, .flags = 0, .qname = "WwW.ExAmPlE.CoM.", .qtype = RR_A};
	struct resp *r = ask(f, &s); /* ask() compares the question's raw bytes */
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	assert_memory_equal(r->qname, "\3WwW\7ExAmPlE\3CoM", 17);
	assert_int_equal(r->sec[AN][0].owner_len, 17);
	assert_memory_equal(r->sec[AN][0].owner_wire, "\3WwW\7ExAmPlE\3CoM\0", 18);
	expect_a(r, AN, 0, "192.0.2.80");
	free(r);
}

static void test_refused_outside_zones(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "www.example.org.", RR_A, true);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	expect_ede(r, 20);
	free(r);
	/* the root and a TLD are outside too */
	r = ask_q(f, "com.", RR_NS, true);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	expect_ede(r, 20);
	free(r);
	/* without EDNS: no OPT, so no EDE */
	r = ask_q(f, "www.example.org.", RR_A, false);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	free(r);
}

static void test_longest_suffix_zone(void **state)
{
	struct fixture *f = *state;
	/* child.example.com is served: its data, not the parent's referral */
	struct resp *r = ask_q(f, "www.child.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "www.child.example.com.", RR_A, 3600);
	expect_a(r, AN, 0, "192.0.2.210");
	free(r);
	r = ask_q(f, "child.example.com.", RR_SOA, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "child.example.com.", RR_SOA, 3600);
	free(r);
	/* NXDOMAIN in the child carries the child's SOA (TTL min(3600, 60)) */
	r = ask_q(f, "nothere.child.example.com.", RR_A, false);
	expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "child.example.com.", 60);
	free(r);
	/* the parent still answers its own names */
	r = ask_q(f, "example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_a(r, AN, 0, "192.0.2.1");
	free(r);
}

/* ---- negative answers ---- */

static void test_nxdomain(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "nothere.example.com.", RR_A, false);
	expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300); /* min(3600, MINIMUM 300) */
	free(r);
	/* SOA TTL smaller than MINIMUM: the SOA TTL wins */
	r = ask_q(f, "nothere.other.org.", RR_A, true);
	expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "other.org.", 60);
	free(r);
	/* below an existing name */
	r = ask_q(f, "deeper.www.example.com.", RR_A, false);
	expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
}

static void test_nodata(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "www.example.com.", RR_AAAA, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
	r = ask_q(f, "www.other.org.", RR_MX, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "other.org.", 60);
	free(r);
}

/* ---- CNAME ---- */

static void test_cname_in_zone(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "alias.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 0);
	expect_rr(r, AN, 0, "alias.example.com.", RR_CNAME, 600);
	expect_target(r, AN, 0, 0, "www.example.com.");
	expect_rr(r, AN, 1, "www.example.com.", RR_A, 300);
	free(r);
	/* two steps */
	r = ask_q(f, "chain1.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 3, 0, 0);
	expect_rr(r, AN, 0, "chain1.example.com.", RR_CNAME, 3600);
	expect_target(r, AN, 0, 0, "chain2.example.com.");
	expect_rr(r, AN, 1, "chain2.example.com.", RR_CNAME, 3600);
	expect_target(r, AN, 1, 0, "www.example.com.");
	expect_rr(r, AN, 2, "www.example.com.", RR_A, 300);
	free(r);
	/* the chain ends in NODATA: SOA of the target's zone */
	r = ask_q(f, "alias.example.com.", RR_AAAA, false);
	expect(r, RCODE_NOERROR, true, false, 1, 1, 0);
	expect_rr(r, AN, 0, "alias.example.com.", RR_CNAME, 600);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
	/* the chain leaves our zones: stop after the CNAME */
	r = ask_q(f, "toout.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "toout.example.com.", RR_CNAME, 3600);
	expect_target(r, AN, 0, 0, "www.elsewhere.test.");
	free(r);
	/* the target's additional data comes along (MX at the end of the chain) */
	r = ask_q(f, "tomx.example.com.", RR_MX, false);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 2);
	expect_rr(r, AN, 1, "multi.example.com.", RR_MX, 3600);
	assert_true(find_rr(r, AR, "mail.example.com.", RR_A) >= 0);
	assert_true(find_rr(r, AR, "mail.example.com.", RR_AAAA) >= 0);
	free(r);
}

static void test_cname_other_zone(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "toother.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 0);
	expect_rr(r, AN, 0, "toother.example.com.", RR_CNAME, 3600);
	expect_target(r, AN, 0, 0, "www.other.org.");
	expect_rr(r, AN, 1, "www.other.org.", RR_A, 3600);
	expect_a(r, AN, 1, "198.51.100.80");
	free(r);
}

static void test_cname_nxdomain(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "tonx.example.com.", RR_A, false);
	expect(r, RCODE_NXDOMAIN, true, false, 1, 1, 0);
	expect_rr(r, AN, 0, "tonx.example.com.", RR_CNAME, 3600);
	expect_target(r, AN, 0, 0, "nothere.example.com.");
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
}

static void test_cname_loop(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "loop1.example.com.", RR_A, false);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_true(r->flags & WIRE_AA);
	/* each CNAME of the loop once, then stop */
	assert_int_equal(r->n[AN], 2);
	expect_rr(r, AN, 0, "loop1.example.com.", RR_CNAME, 3600);
	expect_rr(r, AN, 1, "loop2.example.com.", RR_CNAME, 3600);
	free(r);
	r = ask_q(f, "self.example.com.", RR_A, false);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_int_equal(r->n[AN], 1);
	expect_rr(r, AN, 0, "self.example.com.", RR_CNAME, 3600);
	free(r);
}

/* Records of a section equal (owner, type, RDATA with names decompressed) to an earlier one. */
static int count_duplicates(const struct resp *r, int sec)
{
	int dups = 0;
	for (int i = 0; i < r->n[sec]; i++)
		for (int j = 0; j < i; j++) {
			const struct rr *a = &r->sec[sec][i], *b = &r->sec[sec][j];
			if (a->type != b->type || strcmp(a->owner, b->owner) != 0)
				continue;
			bool same;
			if (a->type == RR_CNAME || a->type == RR_DNAME) {
				char ta[1024], tb[1024];
				rdata_name(r, a, 0, ta, sizeof(ta));
				rdata_name(r, b, 0, tb, sizeof(tb));
				same = strcmp(ta, tb) == 0;
			} else {
				same =
				    a->rdlen == b->rdlen && memcmp(r->msg + a->rdpos, r->msg + b->rdpos, a->rdlen) == 0;
			}
			if (same) {
				dups++;
				break;
			}
		}
	return dups;
}

/* A loop through a wildcard: *.wl CNAME a.wl, so a.wl matches the wildcard and points at
 * itself. The answer must terminate and hold no record twice (RFC 2181 5). */
static void test_cname_loop_wildcard(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "a.wl.example.com.", RR_A, false);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_true(r->n[AN] >= 1);
	expect_rr(r, AN, 0, "a.wl.example.com.", RR_CNAME, 3600);
	int dups = count_duplicates(r, AN);
	int n = r->n[AN];
	free(r);
	if (dups)
		fail_msg("the answer holds %d records, %d of them repeats of earlier ones", n, dups);
}

/* A DNAME whose target lies below itself: every step grows the name until it is too long. The
 * DNAME must not be repeated and the answer must terminate. */
static void test_dname_loop(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "a.dloop.example.com.", RR_A, true);
	assert_true(r->n[AN] >= 2);
	expect_rr(r, AN, 0, "dloop.example.com.", RR_DNAME, 3600);
	int dups = count_duplicates(r, AN);
	int n = r->n[AN], rcode = WIRE_RCODE(r->flags);
	free(r);
	if (dups)
		fail_msg("the answer holds %d records (rcode %d), %d of them repeats of earlier ones", n, rcode, dups);
}

static void test_qtype_cname(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "alias.example.com.", RR_CNAME, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "alias.example.com.", RR_CNAME, 600);
	expect_target(r, AN, 0, 0, "www.example.com.");
	free(r);
}

/* ---- DNAME ---- */

static void test_dname(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 0x4242, .flags = WIRE_RD, .qname = "WWW.dn.Example.com.", .qtype = RR_A};
	struct resp *r = ask(f, &s);
	expect(r, RCODE_NOERROR, true, false, 3, 0, 0);
	expect_rr(r, AN, 0, "dn.example.com.", RR_DNAME, 1800);
	expect_target(r, AN, 0, 0, "other.org.");
	expect_rr(r, AN, 1, "www.dn.example.com.", RR_CNAME, 1800); /* TTL of the DNAME */
	assert_memory_equal(r->sec[AN][1].owner_wire, "\3WWW\2dn\7Example\3com\0", 21); /* owner = qname */
	expect_target(r, AN, 1, 0, "www.other.org.");
	expect_rr(r, AN, 2, "www.other.org.", RR_A, 3600);
	expect_a(r, AN, 2, "198.51.100.80");
	free(r);
	/* the synthesized name does not exist: NXDOMAIN from the target zone */
	r = ask_q(f, "nothere.dn.example.com.", RR_A, false);
	expect(r, RCODE_NXDOMAIN, true, false, 2, 1, 0);
	expect_rr(r, AN, 0, "dn.example.com.", RR_DNAME, 1800);
	expect_rr(r, AN, 1, "nothere.dn.example.com.", RR_CNAME, 1800);
	expect_soa(r, NS, 0, "other.org.", 60);
	free(r);
	/* the DNAME owner itself is not redirected */
	r = ask_q(f, "dn.example.com.", RR_DNAME, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "dn.example.com.", RR_DNAME, 1800);
	free(r);
	r = ask_q(f, "dn.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
}

static void test_dname_yxdomain(void **state)
{
	struct fixture *f = *state;
	char q62[64], q2[3] = "yy";
	memset(q62, 'q', 62);
	q62[62] = 0;
	char name[512];
	/* prefix of 65 octets + 190 = 255: still fits */
	snprintf(name, sizeof(name), "%s.y.long.example.com.", q62);
	struct resp *r = ask_q(f, name, RR_A, true);
	expect(r, RCODE_NXDOMAIN, true, false, 2, 1, 0);
	expect_rr(r, AN, 0, "long.example.com.", RR_DNAME, 3600);
	expect_rr(r, AN, 1, name, RR_CNAME, 3600);
	{
		uint8_t t[NAME_MAXLEN];
		size_t pos = r->sec[AN][1].rdpos;
		assert_int_equal(wire_read_name(r->msg, r->len, &pos, t), 255);
	}
	expect_soa(r, NS, 0, "other.org.", 60);
	free(r);
	/* one octet more: 256, YXDOMAIN with the DNAME and no CNAME */
	snprintf(name, sizeof(name), "%s.%s.long.example.com.", q62, q2);
	r = ask_q(f, name, RR_A, true);
	expect(r, RCODE_YXDOMAIN, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "long.example.com.", RR_DNAME, 3600);
	free(r);
}

/* RFC 6672 3.2 with RFC 1034 4.3.2 step 3a: for a CNAME question the CNAME synthesized from a DNAME
 * is the answer; the chain is not followed (as for a CNAME found in the zone). Other types follow
 * it, DNAME and ANY included. */
static void test_qtype_cname_below_dname(void **state)
{
	struct fixture *f = *state;
	/* the synthesized target does not exist: still NOERROR, nothing about other.org */
	struct resp *r = ask_q(f, "nothere.dn.example.com.", RR_CNAME, true);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 0);
	expect_rr(r, AN, 0, "dn.example.com.", RR_DNAME, 1800);
	expect_rr(r, AN, 1, "nothere.dn.example.com.", RR_CNAME, 1800);
	expect_target(r, AN, 1, 0, "nothere.other.org.");
	free(r);
	/* the target exists without a CNAME: no NODATA SOA of the target zone */
	r = ask_q(f, "www.dn.example.com.", RR_CNAME, false);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 0);
	expect_rr(r, AN, 1, "www.dn.example.com.", RR_CNAME, 1800);
	free(r);
	/* a wildcard CNAME answers a CNAME question itself */
	r = ask_q(f, "x.wcn.example.com.", RR_CNAME, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "x.wcn.example.com.", RR_CNAME, 3600);
	free(r);
	/* a DNAME question below a DNAME follows the synthesized CNAME: NODATA at the target */
	r = ask_q(f, "www.dn.example.com.", RR_DNAME, false);
	expect(r, RCODE_NOERROR, true, false, 2, 1, 0);
	expect_soa(r, NS, 0, "other.org.", 60);
	free(r);
	/* and so does ANY: the target's data */
	r = ask_q(f, "www.dn.example.com.", RR_ANY, false);
	expect(r, RCODE_NOERROR, true, false, 3, 0, 0);
	expect_rr(r, AN, 2, "www.other.org.", RR_A, 3600);
	free(r);
}

/* ---- wildcards ---- */

static void test_wildcard(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 7, .flags = WIRE_RD, .qname = "Foo.zz.example.com.", .qtype = RR_A};
	struct resp *r = ask(f, &s);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "foo.zz.example.com.", RR_A, 3600); /* owner is the query name */
	assert_memory_equal(r->sec[AN][0].owner_wire, "\3Foo\2zz\7example\3com\0", 20);
	expect_a(r, AN, 0, "192.0.2.100");
	free(r);
	/* more labels below the wildcard's parent */
	r = ask_q(f, "a.b.zz.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "a.b.zz.example.com.", RR_A, 3600);
	free(r);
	/* NODATA at a wildcard */
	r = ask_q(f, "foo.zz.example.com.", RR_TXT, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
	/* the wildcard's own name asked literally */
	r = ask_q(f, "*.zz.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "*.zz.example.com.", RR_A, 3600);
	free(r);
}

static void test_wildcard_ent(void **state)
{
	struct fixture *f = *state;
	/* ent.zz exists (empty non-terminal): it is the closest encloser and has no wildcard */
	struct resp *r = ask_q(f, "x.ent.zz.example.com.", RR_A, false);
	expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
	/* NODATA at the ENT itself, not the wildcard */
	r = ask_q(f, "ent.zz.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
	/* the data below the ENT */
	r = ask_q(f, "host.ent.zz.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_a(r, AN, 0, "192.0.2.7");
	free(r);
	/* zz itself is an ENT too (parent of the wildcard) */
	r = ask_q(f, "zz.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	free(r);
}

static void test_wildcard_cname(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "anything.wcn.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, true, false, 2, 0, 0);
	expect_rr(r, AN, 0, "anything.wcn.example.com.", RR_CNAME, 3600);
	expect_target(r, AN, 0, 0, "www.example.com.");
	expect_rr(r, AN, 1, "www.example.com.", RR_A, 300);
	free(r);
}

/* ---- delegations and DS ---- */

static void test_referral(void **state)
{
	struct fixture *f = *state;
	const char *names[] = {"sub.example.com.", "www.sub.example.com.", "a.b.sub.example.com."};
	for (size_t i = 0; i < 3; i++) {
		struct resp *r = ask_q(f, names[i], RR_A, false);
		expect(r, RCODE_NOERROR, false, false, 0, 2, 1);
		expect_rr(r, NS, 0, "sub.example.com.", RR_NS, 3600);
		expect_rr(r, NS, 1, "sub.example.com.", RR_NS, 3600);
		/* glue for the in-zone target only: ns.example.net is served but not in this zone */
		expect_rr(r, AR, 0, "ns1.sub.example.com.", RR_A, 3600);
		expect_a(r, AR, 0, "192.0.2.201");
		assert_int_equal(count_rr(r, AR, "ns.example.net.", RR_A), 0);
		free(r);
	}
	/* glue below the cut and an in-zone name above it, A and AAAA */
	struct resp *r = ask_q(f, "host.deleg.example.com.", RR_AAAA, true);
	expect(r, RCODE_NOERROR, false, false, 0, 2, 4);
	assert_int_equal(count_rr(r, NS, "deleg.example.com.", RR_NS), 2);
	assert_true(find_rr(r, AR, "ns.deleg.example.com.", RR_A) >= 0);
	assert_true(find_rr(r, AR, "ns.deleg.example.com.", RR_AAAA) >= 0);
	assert_true(find_rr(r, AR, "ns1.example.com.", RR_A) >= 0);
	assert_true(find_rr(r, AR, "ns1.example.com.", RR_AAAA) >= 0);
	/* DS is not sent to a client without DO */
	assert_int_equal(count_rr(r, NS, NULL, RR_DS), 0);
	free(r);
	/* a glue name asked directly is below the cut: referral */
	r = ask_q(f, "ns1.sub.example.com.", RR_A, false);
	expect(r, RCODE_NOERROR, false, false, 0, 2, 1);
	free(r);
	/* NS at the cut: referral too, not an authoritative answer */
	r = ask_q(f, "sub.example.com.", RR_NS, false);
	expect(r, RCODE_NOERROR, false, false, 0, 2, 1);
	free(r);
}

/* RFC 4035 3.1.4: the DS of a cut comes with a referral only for a DO query to a signed zone (the
 * apex SOA has an RRSIG); asked for directly, it is answered from any zone. */
static void test_referral_ds_signed_only(void **state)
{
	struct fixture *f = *state;
	/* an unsigned zone: never, DO or not */
	struct qspec s = {
	    .id = 99, .flags = WIRE_RD, .qname = "www.sub.example.com.", .qtype = RR_A, .edns = true, .do_bit = true};
	struct resp *r = ask(f, &s);
	expect(r, RCODE_NOERROR, false, false, 0, 2, 1);
	assert_int_equal(count_rr(r, NS, NULL, RR_DS), 0);
	free(r);
	/* a DNSKEY without signatures does not make a zone signed */
	s.qname = "www.sec.keyonly.org.";
	r = ask(f, &s);
	expect(r, RCODE_NOERROR, false, false, 0, 1, 1);
	assert_int_equal(count_rr(r, NS, NULL, RR_DS), 0);
	free(r);
	/* a signed zone: with DO the DS follows the NS */
	s.qname = "www.sec.signed.org.";
	r = ask(f, &s);
	expect(r, RCODE_NOERROR, false, false, 0, 2, 1);
	expect_rr(r, NS, 0, "sec.signed.org.", RR_NS, 3600);
	expect_rr(r, NS, 1, "sec.signed.org.", RR_DS, 3600);
	free(r);
	/* and without DO it does not */
	s.do_bit = false;
	r = ask(f, &s);
	expect(r, RCODE_NOERROR, false, false, 0, 1, 1);
	free(r);
	/* the DS asked for is answered from an unsigned zone too */
	r = ask_q(f, "sub.example.com.", RR_DS, true);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	free(r);
}

/* RFC 9471 3.1: a referral MUST carry all glue of in-domain name servers, or set TC when it
 * does not fit. bigdeleg has 13 in-domain servers with A and AAAA: ~950 bytes, over 512. */
static void test_referral_glue_truncation(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 0x9471, .flags = WIRE_RD, .qname = "www.bigdeleg.example.com.", .qtype = RR_A};
	struct resp *r = ask(f, &s);
	assert_true(r->len <= 512);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_false(r->flags & WIRE_AA);
	int ns = r->n[NS], glue = r->n[AR];
	bool tc = (r->flags & WIRE_TC) != 0;
	free(r);
	assert_int_equal(ns, 13);
	if (glue < 26 && !tc)
		fail_msg("referral carries %d of 26 in-domain glue records over UDP/512 and TC is clear", glue);
	/* over TCP everything fits */
	r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_NOERROR, false, false, 0, 13, 26);
	free(r);
}

static void test_ds_at_delegation(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "sub.example.com.", RR_DS, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "sub.example.com.", RR_DS, 3600);
	assert_int_equal(wire_get16(r->msg + r->sec[AN][0].rdpos), 12345);
	free(r);
	/* no DS at the cut: NODATA from the parent, authoritative */
	r = ask_q(f, "nods.example.com.", RR_DS, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_soa(r, NS, 0, "example.com.", 300);
	free(r);
	/* DS below the cut belongs to the child: referral */
	r = ask_q(f, "x.sub.example.com.", RR_DS, false);
	expect(r, RCODE_NOERROR, false, false, 0, 2, 1);
	free(r);
}

static void test_ds_at_served_child(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "Child.example.com.", RR_DS, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "child.example.com.", RR_DS, 3600);
	assert_int_equal(wire_get16(r->msg + r->sec[AN][0].rdpos), 54321);
	free(r);
	/* other types at the child apex come from the child */
	r = ask_q(f, "child.example.com.", RR_NS, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 1);
	expect_rr(r, AN, 0, "child.example.com.", RR_NS, 3600);
	expect_rr(r, AR, 0, "ns1.child.example.com.", RR_A, 3600);
	free(r);
}

/* ANY in a signed zone: RRSIG and NSEC only for DO queries (RFC 4035 3.1), as from Knot and NSD. */
static void test_any_dnssec_only_with_do(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 0x3131, .flags = 0, .qname = "ns.signed.org.", .qtype = RR_ANY, .edns = true};
	struct resp *r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	expect_rr(r, AN, 0, "ns.signed.org.", RR_A, 3600);
	free(r);
	s.do_bit = true;
	r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_NOERROR, true, false, 4, 0, 0);
	assert_int_equal(count_rr(r, AN, "ns.signed.org.", RR_NSEC), 1);
	assert_int_equal(count_rr(r, AN, "ns.signed.org.", RR_RRSIG), 2);
	free(r);
}

/* The TTL of each RRSIG in a section, by the type it covers (RDATA's first field): -1 when absent,
 * -2 when two of them disagree. */
static long sig_ttl_in(const struct resp *r, int sec, uint16_t covered)
{
	long ttl = -1;
	for (int i = 0; i < r->n[sec]; i++) {
		const struct rr *rr = &r->sec[sec][i];
		if (rr->type != RR_RRSIG || wire_get16(r->msg + rr->rdpos) != covered)
			continue;
		ttl = ttl == -1 || ttl == (long)rr->ttl ? (long)rr->ttl : -2;
	}
	return ttl;
}

/* RFC 4034 3 / RFC 4035 2.2: every RRSIG goes out with the TTL of the RRset it covers, whether
 * asked for (qtype RRSIG) or carried by ANY to a DO query; Knot and NSD answer so too. */
static void test_rrsig_ttls(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "MIX.signed.org.", RR_RRSIG, true);
	expect(r, RCODE_NOERROR, true, false, 3, 0, 0);
	assert_int_equal(sig_ttl_in(r, AN, RR_A), 300);
	assert_int_equal(sig_ttl_in(r, AN, RR_TXT), 7200);
	assert_int_equal(sig_ttl_in(r, AN, RR_NSEC), 60);
	free(r);
	struct qspec s = {.id = 0x3232, .qname = "mix.signed.org.", .qtype = RR_ANY, .edns = true, .do_bit = true};
	r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_NOERROR, true, false, 6, 0, 0);
	assert_int_equal(sig_ttl_in(r, AN, RR_A), 300);
	assert_int_equal(sig_ttl_in(r, AN, RR_TXT), 7200);
	assert_int_equal(sig_ttl_in(r, AN, RR_NSEC), 60);
	expect_rr(r, AN, find_rr(r, AN, "mix.signed.org.", RR_TXT), "mix.signed.org.", RR_TXT, 7200);
	free(r);
	/* the apex's signatures too (SOA, NS, DNSKEY all 3600 here) */
	r = ask_q(f, "signed.org.", RR_RRSIG, false);
	expect(r, RCODE_NOERROR, true, false, 3, 0, 0);
	assert_int_equal(sig_ttl_in(r, AN, RR_SOA), 3600);
	free(r);
}

/* ---- additional section ---- */

static void test_additional(void **state)
{
	struct fixture *f = *state;
	/* MX */
	struct resp *r = ask_q(f, "example.com.", RR_MX, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 2);
	expect_target(r, AN, 0, 2, "mail.example.com.");
	int i = find_rr(r, AR, "mail.example.com.", RR_A);
	assert_true(i >= 0);
	expect_a(r, AR, i, "192.0.2.25");
	i = find_rr(r, AR, "mail.example.com.", RR_AAAA);
	assert_true(i >= 0);
	expect_a(r, AR, i, "2001:db8::25");
	free(r);
	/* SRV */
	r = ask_q(f, "_sip._tcp.example.com.", RR_SRV, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 2);
	expect_target(r, AN, 0, 6, "sip.example.com.");
	i = find_rr(r, AR, "sip.example.com.", RR_A);
	assert_true(i >= 0);
	expect_a(r, AR, i, "192.0.2.60");
	assert_true(find_rr(r, AR, "sip.example.com.", RR_AAAA) >= 0);
	free(r);
	/* NS at the apex: the in-zone name's addresses */
	r = ask_q(f, "example.com.", RR_NS, false);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_true(r->flags & WIRE_AA);
	assert_int_equal(r->n[AN], 2);
	assert_int_equal(r->n[NS], 0);
	assert_true(find_rr(r, AR, "ns1.example.com.", RR_A) >= 0);
	assert_true(find_rr(r, AR, "ns1.example.com.", RR_AAAA) >= 0);
	free(r);
	/* HTTPS */
	r = ask_q(f, "svc.example.com.", RR_HTTPS, true);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 2);
	expect_target(r, AN, 0, 2, "web.example.com.");
	i = find_rr(r, AR, "web.example.com.", RR_A);
	assert_true(i >= 0);
	expect_a(r, AR, i, "192.0.2.81");
	i = find_rr(r, AR, "web.example.com.", RR_AAAA);
	assert_true(i >= 0);
	expect_a(r, AR, i, "2001:db8::81");
	free(r);
	/* in another zone: that zone's addresses */
	r = ask_q(f, "mx.other.org.", RR_MX, false);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 1);
	expect_rr(r, AR, 0, "mail.other.org.", RR_A, 3600);
	free(r);
}

/* ---- ANY ---- */

static void test_any(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "multi.example.com.", RR_ANY, false);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_true(r->flags & WIRE_AA);
	assert_false(r->flags & WIRE_TC);
	assert_true(r->n[AN] >= 1);
	/* one RRset: all records of one type, and all of that type */
	uint16_t t = r->sec[AN][0].type;
	assert_int_equal(count_rr(r, AN, "multi.example.com.", t), r->n[AN]);
	int expect_n = t == RR_A ? 2 : 1;
	assert_int_equal(r->n[AN], expect_n);
	free(r);

	struct qspec s = {.id = 0xa11, .flags = WIRE_RD, .qname = "multi.example.com.", .qtype = RR_ANY};
	r = ask_proto(f, &s, PROTO_TCP, 65535);
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_true(r->flags & WIRE_AA);
	assert_int_equal(r->n[AN], 4);
	assert_int_equal(count_rr(r, AN, "multi.example.com.", RR_A), 2);
	assert_int_equal(count_rr(r, AN, "multi.example.com.", RR_MX), 1);
	assert_int_equal(count_rr(r, AN, "multi.example.com.", RR_TXT), 1);
	assert_true(find_rr(r, AR, "mail.example.com.", RR_A) >= 0);
	free(r);

	/* ANY at an empty non-terminal: NODATA */
	r = ask_q(f, "ent.zz.example.com.", RR_ANY, false);
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	free(r);
}

/* ---- EDNS ---- */

static void test_edns_echo(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {
	    .id = 1, .flags = WIRE_RD, .qname = "www.example.com.", .qtype = RR_A, .edns = true, .udp = 4096};
	struct resp *r = ask(f, &s);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	assert_int_equal(r->nopt, 1);
	assert_int_equal(r->opt_udp, 1232);
	assert_int_equal(r->opt_ttl, 0); /* ext rcode 0, version 0, DO clear */
	assert_int_equal(r->opt_rdlen, 0);
	free(r);
	/* DO echoed */
	s.do_bit = true;
	r = ask(f, &s);
	assert_int_equal(r->opt_ttl, 0x8000);
	free(r);
	/* no EDNS in: no OPT out */
	s.edns = false;
	r = ask(f, &s);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	assert_int_equal(r->nopt, 0);
	free(r);
}

static void test_edns_badvers(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {
	    .id = 2, .flags = WIRE_RD, .qname = "www.example.com.", .qtype = RR_A, .edns = true, .version = 1};
	struct resp *r = ask(f, &s);
	expect(r, 0, false, false, 0, 0, 0); /* BADVERS = 16: low bits 0 in the header */
	assert_int_equal(r->opt_ttl >> 24, 1);
	assert_int_equal((r->opt_ttl >> 16) & 0xff, 0); /* our version */
	assert_int_equal(r->opt_udp, 1232);
	free(r);
}

static void test_edns_nsid(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 3, .flags = 0, .qname = "www.example.com.", .qtype = RR_A, .edns = true, .nsid = true};
	struct resp *r = ask(f, &s);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	uint8_t d[64];
	int l = opt_option(r, 3, d, sizeof(d));
	assert_int_equal(l, 7);
	assert_memory_equal(d, "test-ns", 7);
	free(r);
	/* not asked: not sent */
	s.nsid = false;
	r = ask(f, &s);
	assert_int_equal(opt_option(r, 3, d, sizeof(d)), -1);
	free(r);
	/* NSID with an error too */
	s.nsid = true;
	s.qname = "www.example.org.";
	r = ask(f, &s);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	assert_int_equal(opt_option(r, 3, d, sizeof(d)), 7);
	expect_ede(r, 20);
	free(r);
}

/* Asks qname/qtype over UDP with opcode and an OPT (version) carrying the options opts. */
static struct resp *ask_opts(const struct fixture *f, uint16_t opcode, const char *qname, uint16_t qtype,
                             uint8_t version, const uint8_t *opts, uint16_t optlen)
{
	struct msgbuf m;
	put_header(&m, 9, (uint16_t)(opcode << 11), 1, 0, 0, 1);
	put_question(&m, qname, qtype, RR_CLASS_IN);
	put_opt(&m, 1232, version, false, opts, optlen);
	return ask_raw(f, m.b, m.len, PROTO_UDP, 4096);
}

/* The Client Subnet echoed in r (RFC 7871 7.2.1): the option as sent (header included, sent_len
 * octets) but for its SCOPE, which must be scope. */
static void expect_ecs_echo(const struct resp *r, const uint8_t *sent, size_t sent_len, uint8_t scope)
{
	uint8_t d[64];
	int l = opt_option(r, EDNS_OPT_ECS, d, sizeof(d));
	assert_int_equal(l, (int)sent_len - 4);
	assert_memory_equal(d, sent + 4, 3); /* FAMILY, SOURCE PREFIX-LENGTH */
	assert_int_equal(d[3], scope);
	assert_memory_equal(d + 4, sent + 8, sent_len - 8); /* ADDRESS */
}

/* A client that sends a Client Subnet gets it back in every answer (RFC 7871 7.2.1, 7.2.2),
 * FAMILY, SOURCE and ADDRESS as sent; SCOPE 0 when nothing in the answer depended on the client:
 * static data, negative answers and referrals (7.4), errors. A client that sent none gets none. */
static void test_edns_ecs_echo(void **state)
{
	struct fixture *f = *state;
	static const uint8_t v4[] = {0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2};
	static const uint8_t v4_20[] = {0, 8, 0, 7, 0, 1, 20, 0, 10, 1, 0x20};
	static const uint8_t v6[] = {0, 8, 0, 11, 0, 2, 56, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0};
	static const uint8_t v4_none[] = {0, 8, 0, 4, 0, 1, 0, 0}; /* SOURCE 0 (RFC 7871 7.1.2) */
	static const uint8_t v6_none[] = {0, 8, 0, 4, 0, 2, 0, 0};
	static const struct {
		const uint8_t *opt;
		size_t len;
	} sent[] = {{v4, sizeof(v4)},
	            {v4_20, sizeof(v4_20)},
	            {v6, sizeof(v6)},
	            {v4_none, sizeof(v4_none)},
	            {v6_none, sizeof(v6_none)}};
	for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		struct resp *r =
		    ask_opts(f, OPCODE_QUERY, "www.example.com.", RR_A, 0, sent[i].opt, (uint16_t)sent[i].len);
		expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
		expect_ecs_echo(r, sent[i].opt, sent[i].len, 0);
		free(r);
	}
	struct resp *r = ask_opts(f, OPCODE_QUERY, "nonexistent.example.com.", RR_A, 0, v4, sizeof(v4));
	expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
	expect_ecs_echo(r, v4, sizeof(v4), 0);
	free(r);
	r = ask_opts(f, OPCODE_QUERY, "www.example.com.", RR_MX, 0, v4, sizeof(v4)); /* NODATA */
	expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
	expect_ecs_echo(r, v4, sizeof(v4), 0);
	free(r);
	r = ask_opts(f, OPCODE_QUERY, "www.sub.example.com.", RR_A, 0, v6, sizeof(v6)); /* a referral */
	assert_int_equal(WIRE_RCODE(r->flags), RCODE_NOERROR);
	assert_int_equal(r->n[AN], 0);
	expect_ecs_echo(r, v6, sizeof(v6), 0);
	free(r);
	r = ask_opts(f, OPCODE_QUERY, "www.example.org.", RR_A, 0, v4, sizeof(v4)); /* not ours */
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	expect_ecs_echo(r, v4, sizeof(v4), 0);
	free(r);
	r = ask_opts(f, OPCODE_UPDATE, "www.example.com.", RR_A, 0, v4, sizeof(v4));
	expect(r, RCODE_NOTIMP, false, false, 0, 0, 0);
	expect_ecs_echo(r, v4, sizeof(v4), 0);
	free(r);
	/* no option sent, none back */
	r = ask_opts(f, OPCODE_QUERY, "www.example.com.", RR_A, 0, NULL, 0);
	expect(r, RCODE_NOERROR, true, false, 1, 0, 0);
	uint8_t d[64];
	assert_int_equal(opt_option(r, EDNS_OPT_ECS, d, sizeof(d)), -1);
	free(r);
}

/* A malformed Client Subnet is FORMERR (RFC 7871 6 and 7.2.1), answered with our OPT but no
 * Client Subnet; so is one with a non-zero SCOPE, which a query MUST NOT send (6). An OPT of a
 * version we do not speak is BADVERS whatever its options (RFC 6891 6.1.3). */
static void test_edns_ecs_malformed(void **state)
{
	struct fixture *f = *state;
	static const uint8_t family_3[] = {0, 8, 0, 5, 0, 3, 8, 0, 1};
	static const uint8_t family_0[] = {0, 8, 0, 4, 0, 0, 0, 0};
	static const uint8_t v4_source_33[] = {0, 8, 0, 9, 0, 1, 33, 0, 1, 2, 3, 4, 0};
	static const uint8_t v6_source_129[] = {0, 8, 0, 21, 0, 2, 129, 0, 0x20, 0x01, 0x0d, 0xb8, 0,
	                                        0, 0, 0, 0,  0, 0, 0,   0, 0,    0,    0,    0};
	static const uint8_t octet_too_many[] = {0, 8, 0, 7, 0, 1, 16, 0, 192, 0, 0};
	static const uint8_t octet_too_few[] = {0, 8, 0, 6, 0, 1, 24, 0, 192, 0};
	static const uint8_t source_0_address[] = {0, 8, 0, 5, 0, 1, 0, 0, 0};
	static const uint8_t bits_past_source[] = {0, 8, 0, 7, 0, 1, 22, 0, 192, 0, 3};
	static const uint8_t runt[] = {0, 8, 0, 3, 0, 1, 0};
	static const uint8_t empty[] = {0, 8, 0, 0};
	static const uint8_t scope_24[] = {0, 8, 0, 7, 0, 1, 24, 24, 192, 0, 2};
	static const uint8_t scope_8[] = {0, 8, 0, 7, 0, 1, 24, 8, 192, 0, 2};
	static const struct {
		const uint8_t *opt;
		size_t len;
	} bad[] = {
	    {family_3, sizeof(family_3)},
	    {family_0, sizeof(family_0)},
	    {v4_source_33, sizeof(v4_source_33)},
	    {v6_source_129, sizeof(v6_source_129)},
	    {octet_too_many, sizeof(octet_too_many)},
	    {octet_too_few, sizeof(octet_too_few)},
	    {source_0_address, sizeof(source_0_address)},
	    {bits_past_source, sizeof(bits_past_source)},
	    {runt, sizeof(runt)},
	    {empty, sizeof(empty)},
	    {scope_24, sizeof(scope_24)},
	    {scope_8, sizeof(scope_8)},
	};
	uint8_t d[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct resp *r =
		    ask_opts(f, OPCODE_QUERY, "www.example.com.", RR_A, 0, bad[i].opt, (uint16_t)bad[i].len);
		expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
		assert_int_equal(r->qdcount, 1); /* the question as asked */
		assert_int_equal(r->nopt, 1);
		assert_int_equal(opt_option(r, EDNS_OPT_ECS, d, sizeof(d)), -1);
		free(r);
		/* the first Client Subnet is the one judged: a good one after it changes nothing */
		uint8_t two[64];
		static const uint8_t good[] = {0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2};
		memcpy(two, bad[i].opt, bad[i].len);
		memcpy(two + bad[i].len, good, sizeof(good));
		r = ask_opts(f, OPCODE_QUERY, "www.example.com.", RR_A, 0, two, (uint16_t)(bad[i].len + sizeof(good)));
		expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
		free(r);
	}
	struct resp *r = ask_opts(f, OPCODE_QUERY, "www.example.com.", RR_A, 1, family_3, sizeof(family_3));
	assert_int_equal(r->nopt, 1);
	assert_int_equal(r->opt_ttl >> 24, RCODE_BADVERS >> 4);
	assert_int_equal(opt_option(r, EDNS_OPT_ECS, d, sizeof(d)), -1);
	free(r);
}

/* A query state as query_process() sets it up for a UDP client that sent the Client Subnet
 * option data ecs (NULL: none), writing into buf. */
static void ecs_query(struct query *q, const struct ns_params *params, const struct query_client *client, uint8_t *buf,
                      size_t cap, const uint8_t *ecs, size_t ecs_len)
{
	memset(q, 0, sizeof(*q));
	q->params = params;
	q->client = client;
	q->edns = true;
	q->ede = EDE_NONE;
	if (ecs)
		assert_int_equal(edns_ecs_parse(ecs, (uint16_t)ecs_len, &q->ecs), 0);
	wire_writer_init(&q->w, buf, cap);
	q->w.pos = WIRE_HEADER_LEN;
	q->opt_reserve = ns_edns_reserve(q);
	q->w.cap = cap - q->opt_reserve;
}

/* Writes q's OPT record at the end of buf (as query_process() gives it the room) and reads back
 * its Client Subnet; returns false when there is none. */
static bool written_ecs(struct query *q, size_t cap, struct edns_ecs *back)
{
	size_t at = q->w.pos;
	q->w.cap = cap;
	assert_int_equal(ns_edns_write(q), 0);
	const uint8_t *rd = q->w.buf + at + EDNS_FIXED;
	struct edns_request req;
	assert_int_equal(edns_parse(1232, 0, rd, wire_get16(rd - 2), &req), 0);
	if (!req.ecs)
		return false;
	assert_int_equal(edns_ecs_parse(req.ecs, req.ecs_len, back), 0);
	return true;
}

/* The ECS scope of an answer is the narrowest of the answer section's RRsets (RFC 7871 7.2.1: the
 * answer holds only where each of its parts does), capped at the address length; 0 with an empty
 * answer section (7.4) or for SOURCE 0 (7.1.2). The option's room is kept from the start. */
static void test_edns_ecs_scope(void **state)
{
	(void)state;
	static struct ns_params params = {.edns_size = 1232};
	struct query_client client = {.proto = PROTO_UDP};
	uint8_t buf[512];
	struct query q;
	struct edns_ecs back;

	/* a client that sent no Client Subnet: no room kept, the scope noted, no option goes out */
	ecs_query(&q, &params, &client, buf, sizeof(buf), NULL, 0);
	assert_int_equal(q.opt_reserve, EDNS_FIXED + EDNS_EDE_SIZE);
	ns_edns_scope(&q, 24);
	q.count[SEC_ANSWER] = 1;
	assert_false(written_ecs(&q, sizeof(buf), &back));

	/* a client at 192.0.2.0/24: room for its option from the start; scopes 16, 24, 20 and 0 make 24 */
	static const uint8_t sent[] = {0, 1, 24, 0, 192, 0, 2};
	ecs_query(&q, &params, &client, buf, sizeof(buf), sent, sizeof(sent));
	assert_int_equal(q.opt_reserve, EDNS_FIXED + EDNS_EDE_SIZE + edns_ecs_size(&q.ecs));
	size_t cap = q.w.cap;
	ns_edns_scope(&q, 16);
	ns_edns_scope(&q, 24);
	ns_edns_scope(&q, 20);
	ns_edns_scope(&q, 0);
	assert_int_equal(q.w.cap, cap);
	q.count[SEC_ANSWER] = 2;
	assert_true(written_ecs(&q, sizeof(buf), &back));
	struct edns_ecs want = q.ecs;
	want.scope = 24;
	assert_memory_equal(&back, &want, sizeof(want));

	/* nothing tailored: scope 0 */
	ecs_query(&q, &params, &client, buf, sizeof(buf), sent, sizeof(sent));
	q.count[SEC_ANSWER] = 1;
	assert_true(written_ecs(&q, sizeof(buf), &back));
	want.scope = 0;
	assert_memory_equal(&back, &want, sizeof(want));

	/* an empty answer section (NXDOMAIN, NODATA, a referral, an error): scope 0 */
	ecs_query(&q, &params, &client, buf, sizeof(buf), sent, sizeof(sent));
	ns_edns_scope(&q, 24);
	q.count[SEC_AUTHORITY] = 1;
	q.count[SEC_ADDITIONAL] = 1;
	assert_true(written_ecs(&q, sizeof(buf), &back));
	assert_memory_equal(&back, &want, sizeof(want));

	/* a scope past the address (an IPv6 network for an IPv4 client): capped at 32 */
	ecs_query(&q, &params, &client, buf, sizeof(buf), sent, sizeof(sent));
	ns_edns_scope(&q, 48);
	q.count[SEC_ANSWER] = 1;
	assert_true(written_ecs(&q, sizeof(buf), &back));
	assert_int_equal(back.scope, 32);

	/* SOURCE 0: the client's address is not to be used, no network can be named: scope 0 */
	static const uint8_t none[] = {0, 2, 0, 0};
	ecs_query(&q, &params, &client, buf, sizeof(buf), none, sizeof(none));
	ns_edns_scope(&q, 24);
	q.count[SEC_ANSWER] = 1;
	assert_true(written_ecs(&q, sizeof(buf), &back));
	assert_int_equal(back.family, 2);
	assert_int_equal(back.source, 0);
	assert_int_equal(back.scope, 0);

	/* the room kept is what the option takes: a full message still gets it */
	ecs_query(&q, &params, &client, buf, sizeof(buf), sent, sizeof(sent));
	q.w.pos = q.w.cap;
	q.count[SEC_ANSWER] = 1;
	assert_true(written_ecs(&q, q.w.pos + q.opt_reserve, &back));
	assert_int_equal(q.w.pos, sizeof(buf) - EDNS_EDE_SIZE); /* no EDE: its room is left over */
}

/* ---- truncation ---- */

static void test_truncation_no_edns(void **state)
{
	struct fixture *f = *state;
	struct resp *r = ask_q(f, "big.example.com.", RR_TXT, false);
	expect(r, RCODE_NOERROR, true, true, 0, 0, 0); /* no partial RRset */
	assert_true(r->len <= 512);
	free(r);
	r = ask_q(f, "mid.example.com.", RR_TXT, false);
	expect(r, RCODE_NOERROR, true, true, 0, 0, 0);
	assert_true(r->len <= 512);
	free(r);
}

static void test_truncation_tcp(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 0x7c9, .flags = WIRE_RD, .qname = "big.example.com.", .qtype = RR_TXT};
	struct resp *r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_NOERROR, true, false, BIG_COUNT, 0, 0);
	assert_true(r->len > 4096);
	for (int i = 0; i < BIG_COUNT; i++) {
		expect_rr(r, AN, i, "big.example.com.", RR_TXT, 3600);
		assert_int_equal(r->sec[AN][i].rdlen, 201);
	}
	free(r);
	/* EDNS does not limit TCP */
	s.edns = true;
	s.udp = 512;
	r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_NOERROR, true, false, BIG_COUNT, 0, 0);
	free(r);
}

static void test_truncation_edns_size(void **state)
{
	struct fixture *f = *state;
	static const uint16_t sizes[] = {512, 600, 1000, 1232, 4096, 65535, 100};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t limit = sizes[i] < 512 ? 512 : sizes[i] > 1232 ? 1232 : sizes[i];
		struct qspec s = {.id = (uint16_t)(0x500 + i),
		                  .flags = WIRE_RD,
		                  .qname = "mid.example.com.",
		                  .qtype = RR_TXT,
		                  .edns = true,
		                  .udp = sizes[i],
		                  .nsid = true};
		struct resp *r = ask(f, &s);
		assert_true(r->len <= limit);
		bool fits = limit >= 800; /* mid is ~700 bytes with OPT and NSID */
		expect(r, RCODE_NOERROR, true, !fits, fits ? MID_COUNT : 0, 0, 0);
		uint8_t d[16];
		assert_int_equal(opt_option(r, 3, d, sizeof(d)), 7); /* the OPT survives truncation */
		free(r);
		s.qname = "big.example.com.";
		r = ask(f, &s);
		assert_true(r->len <= limit);
		expect(r, RCODE_NOERROR, true, true, 0, 0, 0);
		assert_int_equal(r->nopt, 1);
		free(r);
	}
}

/* ---- malformed and refused ---- */

static void test_formerr_qdcount(void **state)
{
	struct fixture *f = *state;
	struct msgbuf m;
	/* qdcount 0 */
	put_header(&m, 0x1234, WIRE_RD, 0, 0, 0, 0);
	struct resp *r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	assert_int_equal(r->qdcount, 0);
	free(r);
	/* qdcount 2 */
	put_header(&m, 0x1235, 0, 2, 0, 0, 0);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	put_question(&m, "mail.example.com.", RR_A, RR_CLASS_IN);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* the header alone, claiming one question */
	put_header(&m, 0x1236, WIRE_RD, 1, 0, 0, 0);
	assert_int_equal(m.len, 12);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	assert_int_equal(r->qdcount, 0);
	free(r);
	/* a question cut before its class */
	put_header(&m, 0x1237, WIRE_RD, 1, 0, 0, 0);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	r = ask_raw(f, m.b, m.len - 2, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
}

static void test_no_answer(void **state)
{
	struct fixture *f = *state;
	struct msgbuf m;
	struct qspec s = {.id = 0x1111, .flags = WIRE_RD, .qname = "www.example.com.", .qtype = RR_A};
	build_query(&m, &s);
	uint8_t out[512];
	struct sockaddr_in sin;
	struct query_client c = client_of(PROTO_UDP, &sin);
	for (size_t len = 0; len < 12; len++)
		assert_int_equal(query_process(&f->srv, m.b, len, out, sizeof(out), &c), 0);
	/* a response is never answered */
	m.b[2] |= 0x80;
	assert_int_equal(query_process(&f->srv, m.b, m.len, out, sizeof(out), &c), 0);
	assert_null(ask_raw(f, m.b, m.len, PROTO_TCP, 65535));
}

static void test_formerr_pointer_loop(void **state)
{
	struct fixture *f = *state;
	struct msgbuf m;
	/* a pointer to itself */
	put_header(&m, 0x2001, WIRE_RD, 1, 0, 0, 0);
	put(&m, "\xc0\x0c\x00\x01\x00\x01", 6);
	struct resp *r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* a label then a pointer back to the name's start */
	put_header(&m, 0x2002, 0, 1, 0, 0, 0);
	put(&m, "\x03www\xc0\x0c\x00\x01\x00\x01", 10);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* a forward pointer */
	put_header(&m, 0x2003, 0, 1, 0, 0, 0);
	put(&m, "\xc0\x0e\x00\x00\x01\x00\x01", 7);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
}

static void test_notimp_opcode(void **state)
{
	struct fixture *f = *state;
	struct qspec s = {.id = 0x3003,
	                  .flags = (uint16_t)(3 << 11 | WIRE_RD),
	                  .qname = "www.example.com.",
	                  .qtype = RR_A,
	                  .edns = true};
	struct resp *r = ask(f, &s);
	expect(r, RCODE_NOTIMP, false, false, 0, 0, 0);
	assert_int_equal(WIRE_OPCODE(r->flags), 3);
	free(r);
}

/* Header checks come before the question, as in Knot and NSD: an unknown opcode is NOTIMP whatever
 * the question section holds; a request without a question is still answered with EDNS when it
 * has an OPT; a second OPT gets FORMERR without one. */
static void test_header_checks(void **state)
{
	struct fixture *f = *state;
	struct msgbuf m;
	static const uint16_t opcodes[] = {1, 2, 3, 6, 15};
	for (size_t i = 0; i < sizeof(opcodes) / sizeof(opcodes[0]); i++) {
		/* no question */
		put_header(&m, (uint16_t)(0x4000 + i), (uint16_t)(opcodes[i] << 11 | WIRE_RD), 0, 0, 0, 0);
		struct resp *r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
		assert_non_null(r);
		expect(r, RCODE_NOTIMP, false, false, 0, 0, 0);
		assert_int_equal(r->qdcount, 0);
		free(r);
		/* a question cut short */
		put_header(&m, (uint16_t)(0x4100 + i), (uint16_t)(opcodes[i] << 11), 1, 0, 0, 0);
		put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
		r = ask_raw(f, m.b, m.len - 3, PROTO_UDP, 65535);
		assert_non_null(r);
		expect(r, RCODE_NOTIMP, false, false, 0, 0, 0);
		free(r);
	}
	/* a NOTIFY without a question is malformed (its question names the zone) */
	put_header(&m, 0x4200, (uint16_t)(OPCODE_NOTIFY << 11), 0, 0, 0, 0);
	struct resp *r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* a query without a question but with an OPT: FORMERR with our OPT */
	put_header(&m, 0x4201, 0, 0, 0, 0, 1);
	put_opt(&m, 1232, 0, false, NULL, 0);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	assert_int_equal(r->qdcount, 0);
	assert_int_equal(r->nopt, 1);
	free(r);
	/* two OPT records: FORMERR and no OPT in the answer */
	put_header(&m, 0x4202, 0, 1, 0, 0, 2);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	put_opt(&m, 1232, 0, false, NULL, 0);
	put_opt(&m, 1232, 0, false, NULL, 0);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	assert_int_equal(r->nopt, 0);
	free(r);
}

/* Meta-types and MAILA/MAILB are looked up like any type (Knot and NSD): no zone holds them. */
static void test_meta_qtypes_nodata(void **state)
{
	struct fixture *f = *state;
	static const uint16_t types[] = {RR_OPT, RR_TSIG, 249 /* TKEY */, RR_MAILA, RR_MAILB};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct resp *r = ask_q(f, "www.example.com.", types[i], true);
		expect(r, RCODE_NOERROR, true, false, 0, 1, 0);
		expect_soa(r, NS, 0, "example.com.", 300);
		free(r);
		r = ask_q(f, "nothere.example.com.", types[i], false);
		expect(r, RCODE_NXDOMAIN, true, false, 0, 1, 0);
		free(r);
	}
}

static void test_formerr_opt(void **state)
{
	struct fixture *f = *state;
	struct msgbuf m;
	/* two OPT records */
	put_header(&m, 0x4001, WIRE_RD, 1, 0, 0, 2);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	put_opt(&m, 1232, 0, false, NULL, 0);
	put_opt(&m, 1232, 0, false, NULL, 0);
	struct resp *r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* an option whose length runs past the OPT's RDATA */
	static const uint8_t bad[6] = {0, 3, 0, 10, 'a', 'b'};
	put_header(&m, 0x4002, 0, 1, 0, 0, 1);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	put_opt(&m, 1232, 0, false, bad, sizeof(bad));
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* a truncated option header */
	static const uint8_t half[3] = {0, 3, 0};
	put_header(&m, 0x4003, 0, 1, 0, 0, 1);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	put_opt(&m, 1232, 0, false, half, sizeof(half));
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
	/* an OPT whose RDLENGTH runs past the message */
	put_header(&m, 0x4004, 0, 1, 0, 0, 1);
	put_question(&m, "www.example.com.", RR_A, RR_CLASS_IN);
	put_opt(&m, 1232, 0, false, NULL, 0);
	wire_put16(m.b + m.len - 2, 20);
	r = ask_raw(f, m.b, m.len, PROTO_UDP, 65535);
	assert_non_null(r);
	expect(r, RCODE_FORMERR, false, false, 0, 0, 0);
	free(r);
}

static void test_refused_axfr_class(void **state)
{
	struct fixture *f = *state;
	/* AXFR over UDP is not defined (RFC 5936 4.2): NOTIMP, as from Knot and NSD */
	struct resp *r = ask_q(f, "example.com.", RR_AXFR, true);
	expect(r, RCODE_NOTIMP, false, false, 0, 0, 0);
	expect_ede(r, 21);
	free(r);
	r = ask_q(f, "example.com.", RR_IXFR, true);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	free(r);
	struct qspec s = {.id = 0x5005, .flags = WIRE_RD, .qname = "example.com.", .qtype = RR_AXFR};
	r = ask_proto(f, &s, PROTO_TCP, 65535);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	free(r);
	/* class CH (e.g. version.bind) */
	s = (struct qspec){
	    .id = 0x5006, .flags = 0, .qname = "version.bind.", .qtype = RR_TXT, .qclass = 3, .edns = true};
	r = ask(f, &s);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	expect_ede(r, 20);
	free(r);
	s.qname = "www.example.com.";
	s.qtype = RR_A;
	r = ask(f, &s);
	expect(r, RCODE_REFUSED, false, false, 0, 0, 0);
	free(r);
}

/* The ID and RD of many different queries come back unchanged. */
static void test_id_and_rd(void **state)
{
	struct fixture *f = *state;
	static const uint16_t ids[] = {0, 1, 0x7fff, 0x8000, 0xffff, 0xabcd};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (int rd = 0; rd < 2; rd++) {
			struct qspec s = {.id = ids[i],
			                  .flags = rd ? WIRE_RD : 0,
			                  .qname = "www.example.com.",
			                  .qtype = RR_A,
			                  .edns = (i & 1) != 0};
			struct resp *r = ask(f, &s); /* ask_raw checks ID, QR, RD and opcode */
			assert_int_equal(r->id, ids[i]);
			assert_int_equal(!!(r->flags & WIRE_RD), rd);
			assert_false(r->flags & WIRE_RA);
			free(r);
			s.qname = "nothere.example.org.";
			r = ask(f, &s);
			assert_int_equal(r->id, ids[i]);
			assert_int_equal(!!(r->flags & WIRE_RD), rd);
			free(r);
		}
	}
}

int main(void)
{
	rcu_register_thread();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_positive_answer),
	    cmocka_unit_test(test_case_preserved),
	    cmocka_unit_test(test_refused_outside_zones),
	    cmocka_unit_test(test_longest_suffix_zone),
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_nodata),
	    cmocka_unit_test(test_cname_in_zone),
	    cmocka_unit_test(test_cname_other_zone),
	    cmocka_unit_test(test_cname_nxdomain),
	    cmocka_unit_test(test_cname_loop),
	    cmocka_unit_test(test_cname_loop_wildcard),
	    cmocka_unit_test(test_qtype_cname),
	    cmocka_unit_test(test_dname_loop),
	    cmocka_unit_test(test_dname),
	    cmocka_unit_test(test_dname_yxdomain),
	    cmocka_unit_test(test_qtype_cname_below_dname),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_wildcard_ent),
	    cmocka_unit_test(test_wildcard_cname),
	    cmocka_unit_test(test_referral),
	    cmocka_unit_test(test_referral_ds_signed_only),
	    cmocka_unit_test(test_referral_glue_truncation),
	    cmocka_unit_test(test_ds_at_delegation),
	    cmocka_unit_test(test_ds_at_served_child),
	    cmocka_unit_test(test_any_dnssec_only_with_do),
	    cmocka_unit_test(test_rrsig_ttls),
	    cmocka_unit_test(test_additional),
	    cmocka_unit_test(test_any),
	    cmocka_unit_test(test_edns_echo),
	    cmocka_unit_test(test_edns_badvers),
	    cmocka_unit_test(test_edns_nsid),
	    cmocka_unit_test(test_edns_ecs_echo),
	    cmocka_unit_test(test_edns_ecs_malformed),
	    cmocka_unit_test(test_edns_ecs_scope),
	    cmocka_unit_test(test_truncation_no_edns),
	    cmocka_unit_test(test_truncation_tcp),
	    cmocka_unit_test(test_truncation_edns_size),
	    cmocka_unit_test(test_formerr_qdcount),
	    cmocka_unit_test(test_no_answer),
	    cmocka_unit_test(test_formerr_pointer_loop),
	    cmocka_unit_test(test_notimp_opcode),
	    cmocka_unit_test(test_header_checks),
	    cmocka_unit_test(test_meta_qtypes_nodata),
	    cmocka_unit_test(test_formerr_opt),
	    cmocka_unit_test(test_refused_axfr_class),
	    cmocka_unit_test(test_id_and_rd),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	rcu_unregister_thread();
	return rc;
}
