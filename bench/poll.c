/* dnspoll: polls DNS servers over UDP on a fixed grid (one query per server every millisecond) and
 * reports when each first serves a changed value, or checks that they never serve an older zone
 * version than one already served. One small process; times are CLOCK_MONOTONIC nanoseconds. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXSRV 32
#define NAMEMAX 255
#define MSGMAX 65535
#define SHOWN_VIOLATIONS 20

static const char usage[] =
    "usage: dnspoll [-i USEC] [-w MS] [-d] -n NAME -t TYPE [-a ZONE] SERVER...\n"
    "  SERVER is ADDR@PORT (IPv4 or IPv6; port 53 when absent); TYPE is A, AAAA or TXT.\n"
    "  Queries NAME TYPE at every SERVER every USEC microseconds (default 1000) without waiting for\n"
    "  answers, and prints \"ready\" once the first queries are out. Commands on stdin, one a line:\n"
    "    expect ID VALUE [NAME]  the change ID (increasing) makes NAME (default -n) answer VALUE;\n"
    "                            prints \"polling ID T\", then per server \"served ID SERVER T SEEN\"\n"
    "                            at the first answer carrying VALUE or the value of a later ID\n"
    "                            (SEEN: the ID whose value it carried), or\n"
    "                            \"timeout ID SERVER\" after -w MS (default 30000)\n"
    "    anchor T                the grid moves to T + k USEC (T: CLOCK_MONOTONIC ns, the moment a\n"
    "                            change was sent), the first tick one interval after T\n"
    "    map VALUE SERIAL        (-a) VALUE is served from zone serial SERIAL on\n"
    "    quit                    (or end of input) prints \"stats SERVER sent=N answers=N bad=N\"\n"
    "  -d: queries carry DO=1 (EDNS, 1232 octets) and a value counts as served only when the\n"
    "  answer section also holds an RRSIG covering TYPE (the signed answer).\n"
    "  -a ZONE: atomicity mode: every tick asks ZONE SOA, then NAME TYPE, on one socket per server,\n"
    "  so a server answers them in that order; at the end the answers of each server are checked:\n"
    "  serials never go back, no value older than one served, no value beside an older serial.\n"
    "  Prints \"violation SERVER T: ...\" (the first few) and \"summary SERVER ...\"; exits 1 when\n"
    "  any server has a violation. VALUE is an address for A/AAAA, the text (no spaces) for TXT.\n";

struct value {
	uint8_t len;
	uint8_t data[255];
};

struct expect {
	long id;
	uint8_t name[NAMEMAX];
	size_t namelen;
	struct value v;
	uint64_t since;
	uint32_t open; /* servers that have not served it yet */
};

/* A distinct value seen or mapped in atomicity mode. */
struct known {
	struct value v;
	bool mapped;
	uint32_t serial;
};

enum ev_kind { EV_SOA, EV_VALUE };

struct event {
	uint8_t kind;
	uint32_t x; /* the serial, or the index into known[] */
	uint64_t t;
};

struct server {
	char text[96];
	int fd;
	unsigned long sent, answers, bad;
	struct event *ev;
	size_t nev, capev;
};

struct poller {
	uint16_t type;
	uint8_t name[NAMEMAX]; /* the name polled while nothing is expected */
	size_t namelen;
	bool atomic;
	bool dnssec; /* -d: DO=1 queries; a value counts only beside an RRSIG covering its type */
	uint8_t zone[NAMEMAX];
	size_t zonelen;
	uint64_t interval_ns, timeout_ns;
	uint64_t next; /* the next tick */
	struct server srv[MAXSRV];
	size_t nsrv;
	struct expect *ex;
	size_t nex, capex;
	struct known *known;
	size_t nknown, capknown;
	uint16_t qid;
	char line[4096];
	size_t linelen;
	uint8_t buf[MSGMAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *grow(void *p, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *n = realloc(p, ncap * elem);
	if (!n) {
		fprintf(stderr, "dnspoll: out of memory\n");
		exit(2);
	}
	*cap = ncap;
	return n;
}

/* RFC 1982: a is older than b. */
static bool serial_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}

/* ---- names, types, values, servers from text ---- */

/* Text name to lower-case wire form; 0 or -1 with a message. */
static int name_from_text(const char *text, uint8_t *out, size_t *outlen)
{
	size_t n = 0, tl = strlen(text);
	if (tl && text[tl - 1] == '.')
		tl--;
	size_t i = 0;
	while (i < tl) {
		size_t j = i;
		while (j < tl && text[j] != '.')
			j++;
		if (j == i || j - i > 63 || n + 1 + (j - i) + 1 > NAMEMAX) {
			fprintf(stderr, "dnspoll: \"%s\" is not a domain name\n", text);
			return -1;
		}
		out[n++] = (uint8_t)(j - i);
		for (size_t k = i; k < j; k++)
			out[n++] = (uint8_t)tolower((unsigned char)text[k]);
		i = j + 1;
	}
	out[n++] = 0;
	*outlen = n;
	return 0;
}

static int type_from_text(const char *t, uint16_t *type)
{
	if (!strcasecmp(t, "A"))
		*type = 1;
	else if (!strcasecmp(t, "AAAA"))
		*type = 28;
	else if (!strcasecmp(t, "TXT"))
		*type = 16;
	else {
		fprintf(stderr, "dnspoll: type %s: only A, AAAA and TXT values are supported\n", t);
		return -1;
	}
	return 0;
}

/* VALUE as it appears in RDATA (TXT: its strings joined). */
static int value_from_text(uint16_t type, const char *text, struct value *v)
{
	memset(v, 0, sizeof(*v));
	if (type == 1 || type == 28) {
		v->len = type == 1 ? 4 : 16;
		if (inet_pton(type == 1 ? AF_INET : AF_INET6, text, v->data) == 1)
			return 0;
		fprintf(stderr, "dnspoll: \"%s\" is not an IPv%d address\n", text, type == 1 ? 4 : 6);
		return -1;
	}
	size_t n = strlen(text);
	if (n > sizeof(v->data)) {
		fprintf(stderr, "dnspoll: TXT value longer than 255 bytes\n");
		return -1;
	}
	v->len = (uint8_t)n;
	memcpy(v->data, text, n);
	return 0;
}

static void value_to_text(uint16_t type, const struct value *v, char *out, size_t outlen)
{
	if ((type == 1 && v->len == 4) || (type == 28 && v->len == 16)) {
		inet_ntop(type == 1 ? AF_INET : AF_INET6, v->data, out, (socklen_t)outlen);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < v->len && n + 1 < outlen; i++)
		out[n++] = isprint(v->data[i]) && v->data[i] != ' ' ? (char)v->data[i] : '?';
	out[n] = 0;
}

static bool value_equal(const struct value *a, const struct value *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static int server_open(struct server *s, const char *text)
{
	char addr[80];
	const char *at = strrchr(text, '@');
	size_t alen = at ? (size_t)(at - text) : strlen(text);
	long port = 53;
	if (alen >= sizeof(addr) || strlen(text) >= sizeof(s->text))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = 0;
	if (at) {
		char *end;
		port = strtol(at + 1, &end, 10);
		if (*end || port < 1 || port > 65535)
			goto bad;
	}
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		goto bad;
	}
	snprintf(s->text, sizeof(s->text), "%s", text);
	s->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "dnspoll: %s: %s\n", text, strerror(errno));
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "dnspoll: server \"%s\" is not ADDR@PORT\n", text);
	return -1;
}

/* ---- queries and answers ---- */

static void send_query(struct poller *p, struct server *s, const uint8_t *name, size_t namelen, uint16_t type)
{
	uint8_t q[12 + NAMEMAX + 4 + 11] = {0};
	size_t len = 12 + namelen + 4;
	p->qid++;
	q[0] = (uint8_t)(p->qid >> 8);
	q[1] = (uint8_t)p->qid;
	q[5] = 1; /* QDCOUNT; RD clear: an authoritative question */
	memcpy(q + 12, name, namelen);
	q[12 + namelen] = (uint8_t)(type >> 8);
	q[12 + namelen + 1] = (uint8_t)type;
	q[12 + namelen + 3] = 1; /* class IN */
	if (p->dnssec) { /* an OPT record (RFC 6891): root owner, type 41, 1232 octets, DO set */
		static const uint8_t opt[11] = {0, 0, 41, 1232 >> 8, 1232 & 255, 0, 0, 0x80, 0, 0, 0};
		q[11] = 1; /* ARCOUNT */
		memcpy(q + len, opt, sizeof(opt));
		len += sizeof(opt);
	}
	if (send(s->fd, q, len, 0) >= 0)
		s->sent++;
}

/* The offset past the (possibly compressed) name at off, or 0 when it runs off the message. */
static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = m[off];
		if ((l & 0xC0) == 0xC0)
			return off + 2 <= len ? off + 2 : 0;
		if (l & 0xC0)
			return 0;
		off += 1u + l;
		if (l == 0)
			return off;
	}
	return 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* What one answer says: its question, and the SOA serial or the first value of the polled type. */
struct answer {
	uint8_t qname[NAMEMAX];
	size_t qnamelen;
	uint16_t qtype;
	bool has_serial;
	uint32_t serial;
	struct value vals[8];
	size_t nvals;
};

/* 0 for a usable NOERROR answer, -1 for anything else (counted as bad). With need_sig the values
 * of type count only when the answer section also holds an RRSIG covering type (-d). */
static int parse_answer(const uint8_t *m, size_t len, uint16_t type, bool need_sig, struct answer *a)
{
	if (len < 12 || !(m[2] & 0x80) || (m[2] & 0x78) || get16(m + 4) != 1)
		return -1;
	size_t off = 12, n = 0;
	while (off < len && m[off] && n + 1 + m[off] < NAMEMAX) { /* the question: never compressed */
		uint8_t l = m[off];
		if (l > 63 || off + 1 + l > len)
			return -1;
		a->qname[n++] = l;
		for (size_t k = 0; k < l; k++)
			a->qname[n++] = (uint8_t)tolower(m[off + 1 + k]);
		off += 1u + l;
	}
	if (off + 5 > len || m[off])
		return -1;
	a->qname[n++] = 0;
	a->qnamelen = n;
	a->qtype = get16(m + off + 1);
	off += 5;
	a->has_serial = false;
	a->nvals = 0;
	if ((m[3] & 0x0F) != 0)
		return -1;
	unsigned an = get16(m + 6);
	bool signed_values = false;
	for (unsigned i = 0; i < an; i++) {
		if (!(off = skip_name(m, len, off)) || off + 10 > len)
			return -1;
		uint16_t t = get16(m + off);
		size_t rdlen = get16(m + off + 8), rd = off + 10;
		if (rd + rdlen > len)
			return -1;
		if (t == 46 && rdlen >= 2 && get16(m + rd) == type)
			signed_values = true;
		if (a->qtype == 6 && t == 6) {
			size_t o = skip_name(m, rd + rdlen, rd);
			o = o ? skip_name(m, rd + rdlen, o) : 0;
			if (!o || o + 4 > rd + rdlen)
				return -1;
			a->has_serial = true;
			a->serial = get32(m + o);
		} else if (a->qtype == type && t == type && a->nvals < sizeof(a->vals) / sizeof(a->vals[0])) {
			struct value *v = &a->vals[a->nvals++];
			memset(v, 0, sizeof(*v));
			if (t != 16) {
				if (rdlen > sizeof(v->data))
					return -1;
				v->len = (uint8_t)rdlen;
				memcpy(v->data, m + rd, rdlen);
			} else {
				for (size_t o = rd; o < rd + rdlen;) { /* the character-strings joined */
					size_t sl = m[o];
					if (o + 1 + sl > rd + rdlen || v->len + sl > sizeof(v->data))
						return -1;
					memcpy(v->data + v->len, m + o + 1, sl);
					v->len = (uint8_t)(v->len + sl);
					o += 1 + sl;
				}
			}
		}
		off = rd + rdlen;
	}
	if (need_sig && !signed_values)
		a->nvals = 0;
	return a->has_serial || a->nvals ? 0 : -1;
}

/* ---- served mode ---- */

static void served(struct poller *p, size_t si, const struct answer *a, uint64_t t)
{
	long best = -1;
	for (size_t i = 0; i < p->nex; i++) {
		const struct expect *e = &p->ex[i];
		if (e->id <= best || e->namelen != a->qnamelen || memcmp(e->name, a->qname, a->qnamelen))
			continue;
		for (size_t k = 0; k < a->nvals; k++)
			if (value_equal(&e->v, &a->vals[k]))
				best = e->id;
	}
	if (best < 0)
		return;
	/* A later change's value also serves the earlier ones of the same name: it replaced them. */
	for (size_t i = 0; i < p->nex; i++) {
		struct expect *e = &p->ex[i];
		if (e->id <= best && (e->open & (1u << si)) && e->namelen == a->qnamelen &&
		    !memcmp(e->name, a->qname, a->qnamelen)) {
			e->open &= ~(1u << si);
			printf("served %ld %zu %llu %ld\n", e->id, si, (unsigned long long)t, best);
		}
	}
}

static void expire(struct poller *p, uint64_t t)
{
	size_t keep = 0;
	for (size_t i = 0; i < p->nex; i++) {
		struct expect *e = &p->ex[i];
		if (e->open && t - e->since > p->timeout_ns) {
			for (size_t si = 0; si < p->nsrv; si++)
				if (e->open & (1u << si))
					printf("timeout %ld %zu\n", e->id, si);
			e->open = 0;
		}
		if (e->open)
			p->ex[keep++] = *e;
	}
	p->nex = keep;
}

/* ---- atomicity mode ---- */

static size_t known_index(struct poller *p, const struct value *v)
{
	for (size_t i = 0; i < p->nknown; i++)
		if (value_equal(&p->known[i].v, v))
			return i;
	if (p->nknown == p->capknown)
		p->known = grow(p->known, &p->capknown, sizeof(*p->known));
	p->known[p->nknown] = (struct known){.v = *v};
	return p->nknown++;
}

static void record(struct server *s, enum ev_kind kind, uint32_t x, uint64_t t)
{
	if (s->nev == s->capev)
		s->ev = grow(s->ev, &s->capev, sizeof(*s->ev));
	s->ev[s->nev++] = (struct event){.kind = (uint8_t)kind, .x = x, .t = t};
}

/* The serial that replaced the value mapped at serial s (the next mapped serial), if any. */
static bool replaced_at(const struct poller *p, uint32_t s, uint32_t *next)
{
	bool found = false;
	for (size_t i = 0; i < p->nknown; i++) {
		const struct known *k = &p->known[i];
		if (k->mapped && serial_lt(s, k->serial) && (!found || serial_lt(k->serial, *next))) {
			*next = k->serial;
			found = true;
		}
	}
	return found;
}

/* Replays one server's answers in the order it gave them. `floor` is the newest zone version
 * any answer so far proves served: a SOA serial, or the serial a value was mapped to. An atomic
 * server that never goes back answers nothing below it. Returns the number of violations. */
static unsigned long check_server(const struct poller *p, size_t si)
{
	const struct server *s = &p->srv[si];
	unsigned long violations = 0, nsoa = 0, nval = 0;
	bool have = false;
	uint32_t floor = 0, first = 0;
	char why[64] = "", vt[300];
	bool *seen_val = calloc(p->nknown + 1, sizeof(bool));
	uint32_t *serials = malloc((s->nev + 1) * sizeof(uint32_t));
	size_t nserials = 0, nseen = 0;
	if (!seen_val || !serials) {
		fprintf(stderr, "dnspoll: out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < s->nev; i++) {
		const struct event *e = &s->ev[i];
		char msg[512] = "";
		if (e->kind == EV_SOA) {
			nsoa++;
			if (!nserials || serials[nserials - 1] != e->x)
				serials[nserials++] = e->x;
			if (have && serial_lt(e->x, floor))
				snprintf(msg, sizeof(msg), "SOA serial %u after %s", e->x, why);
			if (!have || serial_lt(floor, e->x)) {
				floor = e->x;
				snprintf(why, sizeof(why), "SOA serial %u", e->x);
			}
			if (!have)
				first = e->x;
			have = true;
		} else {
			nval++;
			const struct known *k = &p->known[e->x];
			if (!seen_val[e->x])
				nseen++;
			seen_val[e->x] = true;
			value_to_text(p->type, &k->v, vt, sizeof(vt));
			uint32_t next = 0;
			if (!k->mapped)
				snprintf(msg, sizeof(msg), "value %s is not in the map", vt);
			else if (have && replaced_at(p, k->serial, &next) && !serial_lt(floor, next))
				snprintf(msg, sizeof(msg), "value %s (serial %u, replaced at %u) after %s", vt,
				         k->serial, next, why);
			if (k->mapped && (!have || serial_lt(floor, k->serial))) {
				floor = k->serial;
				snprintf(why, sizeof(why), "a value of serial %u", k->serial);
				if (!have)
					first = k->serial;
				have = true;
			}
		}
		if (msg[0] && ++violations <= SHOWN_VIOLATIONS)
			printf("violation %zu %llu: answer %zu: %s\n", si, (unsigned long long)e->t, i, msg);
	}
	/* distinct serials in the order served (a server that goes back shows one twice) */
	size_t distinct = 0;
	for (size_t i = 0; i < nserials; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = serials[j] == serials[i];
		distinct += !dup;
	}
	printf("summary %zu server=%s answers=%lu soa=%lu values=%lu bad=%lu distinct_values=%zu distinct_serials=%zu "
	       "first_serial=%u last_serial=%u violations=%lu\n",
	       si, s->text, s->answers, nsoa, nval, s->bad, nseen, distinct, first, floor, violations);
	free(seen_val);
	free(serials);
	return violations;
}

/* ---- the loop ---- */

static void on_datagram(struct poller *p, size_t si, const uint8_t *m, size_t len, uint64_t t)
{
	struct server *s = &p->srv[si];
	struct answer a;
	s->answers++;
	if (parse_answer(m, len, p->type, p->dnssec, &a) < 0) {
		s->bad++;
		return;
	}
	if (!p->atomic) {
		served(p, si, &a, t);
		return;
	}
	if (a.has_serial)
		record(s, EV_SOA, a.serial, t);
	else
		record(s, EV_VALUE, (uint32_t)known_index(p, &a.vals[0]), t);
}

static void send_round(struct poller *p)
{
	const uint8_t *name = p->name;
	size_t namelen = p->namelen;
	if (p->nex) { /* the newest change's name */
		name = p->ex[p->nex - 1].name;
		namelen = p->ex[p->nex - 1].namelen;
	}
	for (size_t si = 0; si < p->nsrv; si++) {
		if (p->atomic)
			send_query(p, &p->srv[si], p->zone, p->zonelen, 6);
		send_query(p, &p->srv[si], name, namelen, p->type);
	}
}

/* One command line; 1 to stop, 0 to go on, -1 on bad input. */
static int command(struct poller *p, char *line)
{
	char *save, *w = strtok_r(line, " \t\r", &save);
	if (!w)
		return 0;
	if (!strcmp(w, "quit"))
		return 1;
	if (!strcmp(w, "expect") && !p->atomic) {
		char *id = strtok_r(NULL, " \t\r", &save), *val = strtok_r(NULL, " \t\r", &save);
		char *name = strtok_r(NULL, " \t\r", &save), *end;
		struct expect e = {.since = now_ns(), .open = (uint32_t)((1ull << p->nsrv) - 1)};
		if (!id || !val || (e.id = strtol(id, &end, 10), *end) || e.id < 0 ||
		    (p->nex && e.id <= p->ex[p->nex - 1].id)) {
			fprintf(stderr, "dnspoll: expect: want \"expect ID VALUE [NAME]\" with increasing IDs\n");
			return -1;
		}
		if (value_from_text(p->type, val, &e.v) < 0)
			return -1;
		if (name) {
			if (name_from_text(name, e.name, &e.namelen) < 0)
				return -1;
			memcpy(p->name, e.name, e.namelen); /* polled from now on */
			p->namelen = e.namelen;
		} else {
			memcpy(e.name, p->name, p->namelen);
			e.namelen = p->namelen;
		}
		if (p->nex == p->capex)
			p->ex = grow(p->ex, &p->capex, sizeof(*p->ex));
		p->ex[p->nex++] = e;
		printf("polling %ld %llu\n", e.id, (unsigned long long)e.since);
		return 0;
	}
	if (!strcmp(w, "anchor")) {
		char *at = strtok_r(NULL, " \t\r", &save), *end;
		unsigned long long t0 = at ? strtoull(at, &end, 10) : 0;
		if (!at || *end) {
			fprintf(stderr, "dnspoll: anchor: want \"anchor T\" (CLOCK_MONOTONIC ns)\n");
			return -1;
		}
		uint64_t t = now_ns(), next = (uint64_t)t0 + p->interval_ns;
		if (next <= t) /* already past: the next tick of the new grid */
			next += p->interval_ns * (1 + (t - next) / p->interval_ns);
		p->next = next;
		return 0;
	}
	if (!strcmp(w, "map") && p->atomic) {
		char *val = strtok_r(NULL, " \t\r", &save), *ser = strtok_r(NULL, " \t\r", &save), *end;
		struct value v;
		unsigned long serial = ser ? strtoul(ser, &end, 10) : 0;
		if (!val || !ser || *end || serial > UINT32_MAX) {
			fprintf(stderr, "dnspoll: map: want \"map VALUE SERIAL\"\n");
			return -1;
		}
		if (value_from_text(p->type, val, &v) < 0)
			return -1;
		size_t i = known_index(p, &v); /* may move known[] */
		struct known *k = &p->known[i];
		k->mapped = true;
		k->serial = (uint32_t)serial;
		return 0;
	}
	fprintf(stderr, "dnspoll: unknown command \"%s\"%s\n", w,
	        p->atomic ? " (with -a: map, quit)" : " (expect, quit)");
	return -1;
}

/* Reads what stdin has; 1 at "quit" or end of input, -1 on bad input. */
static int read_commands(struct poller *p)
{
	ssize_t n = read(0, p->line + p->linelen, sizeof(p->line) - 1 - p->linelen);
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : 1;
	p->linelen += (size_t)n;
	for (;;) {
		char *nl = memchr(p->line, '\n', p->linelen);
		if (!nl) {
			if (p->linelen == sizeof(p->line) - 1) {
				fprintf(stderr, "dnspoll: input line too long\n");
				return -1;
			}
			return 0;
		}
		*nl = 0;
		int rc = command(p, p->line);
		size_t used = (size_t)(nl + 1 - p->line);
		memmove(p->line, nl + 1, p->linelen - used);
		p->linelen -= used;
		if (rc)
			return rc;
	}
}

static int run(struct poller *p)
{
	struct pollfd pf[MAXSRV + 1];
	bool ready = false;
	p->next = now_ns();
	for (size_t i = 0; i < p->nsrv; i++)
		pf[i] = (struct pollfd){.fd = p->srv[i].fd, .events = POLLIN};
	pf[p->nsrv] = (struct pollfd){.fd = 0, .events = POLLIN};
	for (;;) {
		uint64_t t = now_ns();
		if (t >= p->next) {
			send_round(p);
			/* stay on the grid: ticks missed while late are skipped, not sent in a burst */
			p->next += p->interval_ns * (1 + (t - p->next) / p->interval_ns);
			if (!p->atomic)
				expire(p, t);
			if (!ready) {
				printf("ready\n");
				ready = true;
			}
			continue;
		}
		uint64_t wait = p->next - t;
		struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000u), .tv_nsec = (long)(wait % 1000000000u)};
		int n = ppoll(pf, p->nsrv + 1, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			perror("dnspoll: ppoll");
			return 2;
		}
		for (size_t i = 0; n > 0 && i < p->nsrv; i++) {
			if (!(pf[i].revents & (POLLIN | POLLERR)))
				continue;
			ssize_t len;
			while ((len = recv(p->srv[i].fd, p->buf, sizeof(p->buf), MSG_DONTWAIT)) >= 0 ||
			       errno == ECONNREFUSED)
				if (len >= 0)
					on_datagram(p, i, p->buf, (size_t)len, now_ns());
		}
		int cmd = n > 0 && (pf[p->nsrv].revents & (POLLIN | POLLHUP)) ? read_commands(p) : 0;
		if (cmd)
			return cmd < 0 ? 2 : 0;
	}
}

static bool parse_long(const char *text, long min, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(text, &end, 10);
	return !errno && end != text && !*end && *out >= min;
}

static void poller_free(struct poller *p)
{
	for (size_t i = 0; i < p->nsrv; i++) {
		if (p->srv[i].fd >= 0)
			close(p->srv[i].fd);
		free(p->srv[i].ev);
	}
	free(p->ex);
	free(p->known);
	free(p);
}

int main(int argc, char **argv)
{
	struct poller *p = calloc(1, sizeof(*p));
	const char *name = NULL, *type = NULL, *zone = NULL;
	long interval_us = 1000, timeout_ms = 30000;
	int opt, rc = 2;
	if (!p)
		return 2;
	while ((opt = getopt(argc, argv, "i:w:n:t:a:dh")) != -1) {
		switch (opt) {
		case 'i':
			if (!parse_long(optarg, 10, &interval_us)) {
				fprintf(stderr, "dnspoll: -i %s: want microseconds, at least 10\n", optarg);
				goto done;
			}
			break;
		case 'w':
			if (!parse_long(optarg, 1, &timeout_ms)) {
				fprintf(stderr, "dnspoll: -w %s: want milliseconds, at least 1\n", optarg);
				goto done;
			}
			break;
		case 'n': name = optarg; break;
		case 't': type = optarg; break;
		case 'a': zone = optarg; break;
		case 'd': p->dnssec = true; break;
		case 'h':
			fputs(usage, stdout);
			rc = 0;
			goto done;
		default: fputs(usage, stderr); goto done;
		}
	}
	if (!name || !type || optind == argc || argc - optind > MAXSRV) {
		fprintf(stderr, "dnspoll: %s\n%s",
		        !name || !type   ? "-n NAME and -t TYPE are required"
		        : optind == argc ? "at least one SERVER is required"
		                         : "too many servers (32 at most)",
		        usage);
		goto done;
	}
	if (type_from_text(type, &p->type) < 0 || name_from_text(name, p->name, &p->namelen) < 0 ||
	    (zone && name_from_text(zone, p->zone, &p->zonelen) < 0))
		goto done;
	p->atomic = zone != NULL;
	p->interval_ns = (uint64_t)interval_us * 1000u;
	p->timeout_ns = (uint64_t)timeout_ms * 1000000u;
	for (int i = optind; i < argc; i++) {
		p->srv[p->nsrv].fd = -1;
		if (server_open(&p->srv[p->nsrv++], argv[i]) < 0)
			goto done;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake on the grid, not up to 50 us after it */
	if ((rc = run(p)) != 0)
		goto done;
	unsigned long violations = 0;
	for (size_t i = 0; i < p->nsrv; i++) {
		printf("stats %zu sent=%lu answers=%lu bad=%lu\n", i, p->srv[i].sent, p->srv[i].answers, p->srv[i].bad);
		if (p->atomic)
			violations += check_server(p, i);
	}
	if (violations)
		rc = 1;
done:
	poller_free(p);
	return rc;
}
