/* Zone bootstrap: a zone read from the servers that serve it now (AXFR, else a list of names and
 * types), every record judged before it is kept (lib/bootstrap.h). */
#include "lib/bootstrap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/xfr_parse.h"

/* The names and types asked when AXFR is refused ("" is the apex; "*dkim" stands for each
 * selector's <selector>._domainkey). A CNAME at a name comes with any of its types' answers. */
static const struct {
	const char *name;
	uint16_t types[8];
} BOOT_NAMES[] = {
    {"", {RR_SOA, RR_NS, RR_MX, RR_TXT, RR_CAA, RR_A, RR_AAAA, RR_HTTPS}},
    {"www", {RR_A, RR_AAAA, RR_HTTPS, RR_TXT}},
    {"mail", {RR_A, RR_AAAA, RR_MX, RR_TXT}},
    {"_dmarc", {RR_TXT}},
    {"*dkim", {RR_TXT}},
    {"_mta-sts", {RR_TXT}},
    {"_smtp._tls", {RR_TXT}},
    {"autodiscover", {RR_A, RR_AAAA}},
    {"_submission._tcp", {RR_SRV}},
    {"_submissions._tcp", {RR_SRV}},
    {"_imap._tcp", {RR_SRV}},
    {"_imaps._tcp", {RR_SRV}},
    {"_pop3s._tcp", {RR_SRV}},
    {"_autodiscover._tcp", {RR_SRV}},
    {"_caldavs._tcp", {RR_SRV}},
    {"_carddavs._tcp", {RR_SRV}},
    {"_sip._tcp", {RR_SRV}},
    {"_sip._udp", {RR_SRV}},
    {"_sips._tcp", {RR_SRV}},
    {"_xmpp-client._tcp", {RR_SRV}},
    {"_xmpp-server._tcp", {RR_SRV}},
};

bool boot_dnssec_type(uint16_t type)
{
	return type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3 || type == RR_NSEC3PARAM || type == RR_DNSKEY ||
	       type == RR_CDS || type == RR_CDNSKEY;
}

void boot_result_free(struct boot_result *b)
{
	free(b->rr);
	b->rr = NULL;
	b->nrr = b->caprr = 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int boot_take(struct boot_result *b, const char *owner, uint16_t type, uint32_t ttl, const char *data)
{
	if (!check_name_in(owner, b->zone)) {
		b->dropped_outside++;
		return 0;
	}
	bool apex = check_name_eq(owner, b->zone);
	if (boot_dnssec_type(type)) {
		b->dropped_dnssec++;
		return 0;
	}
	if (type == RR_SOA) {
		b->dropped_soa++;
		return 0;
	}
	if (apex && type == RR_NS) {
		b->dropped_apex_ns++;
		if (!b->zone_ns_ttl || ttl < b->zone_ns_ttl)
			b->zone_ns_ttl = ttl;
		return 0;
	}
	size_t n = strlen(data);
	if (n >= BOOT_RDATA_TEXT || strlen(owner) >= CHECK_NAME_TEXT || strpbrk(data, "\r\n")) {
		b->dropped_size++;
		return 0;
	}
	if (b->dedupe)
		for (int i = 0; i < b->nrr; i++)
			if (b->rr[i].type == type && check_name_eq(b->rr[i].owner, owner) &&
			    strcmp(b->rr[i].data, data) == 0)
				return 0;
	if (b->nrr >= BOOT_MAXRR) {
		b->dropped_limit++;
		return 0;
	}
	if (b->nrr == b->caprr) {
		int cap = b->caprr ? b->caprr * 2 : 64;
		cap = cap > BOOT_MAXRR ? BOOT_MAXRR : cap;
		struct boot_rr *rr = realloc(b->rr, (size_t)cap * sizeof(*rr));
		if (!rr)
			return TERN_ENOMEM;
		b->rr = rr;
		b->caprr = cap;
	}
	struct boot_rr *r = &b->rr[b->nrr++];
	check_copy(r->owner, sizeof(r->owner), owner);
	lower(r->owner);
	r->type = type;
	r->ttl = ttl;
	memcpy(r->data, data, n + 1);
	return 1;
}

/* ---- AXFR ---- */

struct boot_axfr {
	struct xfrp *p;
	uint8_t apex[NAME_MAXLEN];
	size_t octets, messages;
};

int boot_axfr_new(const char *zone, uint16_t id, const char *from, struct boot_axfr **out)
{
	struct boot_axfr *x = calloc(1, sizeof(*x));
	if (!x)
		return TERN_ENOMEM;
	if (name_from_text(x->apex, zone, NULL) < 0) {
		free(x);
		return TERN_EINVAL;
	}
	name_lower(x->apex);
	struct xfrp_query q = {.apex = x->apex, .qtype = RR_AXFR, .id = id, .from = from};
	int rc = xfrp_new(&q, &x->p);
	if (rc < 0) {
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int boot_axfr_feed(struct boot_axfr *x, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	x->octets += len;
	if (++x->messages > BOOT_AXFR_MAX_MESSAGES || x->octets > BOOT_AXFR_MAX_OCTETS) {
		snprintf(err, errlen, "the transfer is larger than %u messages or %u octets: stopped",
		         BOOT_AXFR_MAX_MESSAGES, BOOT_AXFR_MAX_OCTETS);
		return TERN_ESPACE;
	}
	return xfrp_feed(x->p, msg, len, err, errlen);
}

struct take_arg {
	struct boot_result *b;
	int rc;
};

static int take_node(void *arg, const struct zone_node *n)
{
	struct take_arg *t = arg;
	char owner[CHECK_NAME_TEXT];
	char *data = malloc(BOOT_RDATA_TEXT * 2);
	if (!data) {
		t->rc = TERN_ENOMEM;
		return 1;
	}
	name_to_text(n->owner, owner, sizeof(owner));
	for (uint16_t i = 0; i < n->nrrsets && t->rc >= 0; i++) {
		const struct rrset *rs = &n->rrsets[i];
		const uint8_t *rec = rs->rdata;
		for (uint16_t k = 0; k < rs->count && t->rc >= 0; k++, rec = rdata_next(rec)) {
			int len =
			    rrtext_rdata_to_text(rs->type, rdata_bytes(rec), rdata_len(rec), data, BOOT_RDATA_TEXT * 2);
			if (len < 0) { /* longer than any record kept */
				t->b->dropped_size++;
				continue;
			}
			int rc = boot_take(t->b, owner, rs->type, rs->ttl, data);
			if (rc < 0)
				t->rc = rc;
		}
	}
	free(data);
	return t->rc < 0;
}

int boot_axfr_take(struct boot_axfr *x, struct boot_result *b, char *err, size_t errlen)
{
	enum xfrp_outcome outcome;
	uint32_t serial;
	struct zone *z = NULL;
	struct xfrp_diffs *d = NULL;
	int rc = xfrp_finish(x->p, &outcome, &serial, &z, &d, err, errlen);
	if (rc < 0)
		return rc;
	xfrp_diffs_free(d);
	if (!z) {
		snprintf(err, errlen, "the transfer held no zone");
		return TERN_EMALF;
	}
	struct take_arg t = {b, 0};
	zone_foreach(z, take_node, &t);
	zone_free(z);
	if (t.rc < 0)
		snprintf(err, errlen, "out of memory");
	return t.rc;
}

void boot_axfr_free(struct boot_axfr *x)
{
	if (!x)
		return;
	xfrp_free(x->p);
	free(x);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events before deadline; 0, or TERN_EIO with err. */
static int wait_fd(int fd, short events, int64_t deadline, char *err, size_t errlen)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			snprintf(err, errlen, "timeout");
			return TERN_EIO;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return TERN_EIO;
		}
	}
}

/* Reads exactly len octets before deadline. */
static int read_all(int fd, uint8_t *buf, size_t len, int64_t deadline, char *err, size_t errlen)
{
	size_t got = 0;
	while (got < len) {
		int rc = wait_fd(fd, POLLIN, deadline, err, errlen);
		if (rc < 0)
			return rc;
		ssize_t n = read(fd, buf + got, len - got);
		if (n == 0) {
			snprintf(err, errlen, "connection closed before the transfer ended");
			return TERN_EIO;
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return TERN_EIO;
		}
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

/* The AXFR query for zone with id, with its two-octet length prefix; returns its length or < 0. */
static int axfr_query(const char *zone, uint16_t id, uint8_t *out, size_t cap)
{
	uint8_t name[NAME_MAXLEN];
	int n = name_from_text(name, zone, NULL);
	if (n < 0 || (size_t)n + 18 > cap)
		return TERN_EINVAL;
	size_t len = 12 + (size_t)n + 4;
	uint8_t *m = out + 2;
	memset(m, 0, 12);
	m[0] = (uint8_t)(id >> 8);
	m[1] = (uint8_t)id;
	m[5] = 1; /* QDCOUNT */
	memcpy(m + 12, name, (size_t)n);
	m[12 + n] = 0;
	m[13 + n] = RR_AXFR;
	m[14 + n] = 0;
	m[15 + n] = 1; /* IN */
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	return (int)len + 2;
}

/* One AXFR of b->zone from server within timeout_ms; the records into b. */
static int axfr_from(const struct check_ns *srv, struct boot_result *b, int timeout_ms, char *err, size_t errlen)
{
	uint8_t q[NAME_MAXLEN + 32], *msg = malloc(65536);
	struct boot_axfr *x = NULL;
	int fd = -1, rc;
	int64_t deadline = now_ms() + timeout_ms;
	uint16_t id = (uint16_t)(now_ms() * 2654435761u >> 7);
	char from[CHECK_NAME_TEXT + CHECK_ADDR_TEXT + 4];
	snprintf(from, sizeof(from), "%s (%s)", srv->name, srv->addr.text);
	if (!msg)
		return TERN_ENOMEM;
	int qlen = axfr_query(b->zone, id, q, sizeof(q));
	if (qlen < 0) {
		snprintf(err, errlen, "bad zone name");
		rc = TERN_EINVAL;
		goto out;
	}
	if ((rc = boot_axfr_new(b->zone, id, from, &x)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = socket(srv->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		rc = TERN_EIO;
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)&srv->addr.ss, srv->addr.len) < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		rc = TERN_EIO;
		goto out;
	}
	if ((rc = wait_fd(fd, POLLOUT, deadline, err, errlen)) < 0)
		goto out;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		snprintf(err, errlen, "connect: %s", strerror(soerr ? soerr : errno));
		rc = TERN_EIO;
		goto out;
	}
	if (send(fd, q, (size_t)qlen, MSG_NOSIGNAL) != qlen) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		rc = TERN_EIO;
		goto out;
	}
	for (rc = 0; rc == 0;) {
		uint8_t pre[2];
		if ((rc = read_all(fd, pre, 2, deadline, err, errlen)) < 0)
			break;
		size_t len = (size_t)pre[0] << 8 | pre[1];
		if ((rc = read_all(fd, msg, len, deadline, err, errlen)) < 0)
			break;
		rc = boot_axfr_feed(x, msg, len, err, errlen);
	}
	if (rc == 1)
		rc = boot_axfr_take(x, b, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	boot_axfr_free(x);
	free(msg);
	return rc;
}

/* ---- the walk and the queries ---- */

static void note_asked(struct boot_result *b, const char *qname, uint16_t type)
{
	char t[RRTEXT_TYPE_MAXLEN];
	if (b->nasked == BOOT_MAXASKED)
		return;
	rrtext_type_to_text(type, t, sizeof(t));
	snprintf(b->asked[b->nasked++], sizeof(b->asked[0]), "%.255s %s", qname, t);
}

/* One name and type asked of the zone's servers (the next one when a server fails); the answer's
 * records through boot_take. */
static int ask_one(struct check_ctx *c, const struct check_walk *w, struct boot_result *b, const char *qname,
                   uint16_t type, struct check_answer *a)
{
	note_asked(b, qname, type);
	for (int s = 0; s < w->nservers; s++) {
		int rc = check_ask(c, &w->servers[s].addr, qname, type, 0, a);
		if (rc == TERN_EBUSY)
			return 0; /* the budget or the deadline: noted in the report */
		if (rc < 0 || !a->ok || !a->aa || (a->rcode != 0 && a->rcode != 3))
			continue;
		b->dropped_limit += a->dropped;
		for (int i = 0; i < a->nrr; i++) {
			const struct check_rr *rr = &a->rr[i];
			if (rr->section != CHECK_ANSWER)
				continue;
			if (rr->cut) { /* its text is a note, not the record: never copied */
				b->dropped_size++;
				continue;
			}
			if (boot_take(b, rr->owner, rr->type, rr->ttl, rr->data) < 0)
				return TERN_ENOMEM;
		}
		return 0;
	}
	return 0;
}

static int by_queries(struct check_ctx *c, const struct check_walk *w, struct boot_result *b,
                      const char (*selectors)[64], int nselectors)
{
	struct check_answer *a = malloc(sizeof(*a));
	if (!a)
		return TERN_ENOMEM;
	b->dedupe = true;
	int rc = 0;
	for (size_t i = 0; i < sizeof(BOOT_NAMES) / sizeof(BOOT_NAMES[0]) && rc == 0; i++) {
		int copies = strcmp(BOOT_NAMES[i].name, "*dkim") == 0 ? nselectors : 1;
		for (int k = 0; k < copies && rc == 0; k++) {
			char qname[CHECK_NAME_TEXT + 80];
			if (!BOOT_NAMES[i].name[0])
				snprintf(qname, sizeof(qname), "%s", b->zone);
			else if (strcmp(BOOT_NAMES[i].name, "*dkim") == 0)
				snprintf(qname, sizeof(qname), "%.63s._domainkey.%s", selectors[k], b->zone);
			else
				snprintf(qname, sizeof(qname), "%s.%s", BOOT_NAMES[i].name, b->zone);
			if (strlen(qname) >= CHECK_NAME_TEXT)
				continue;
			for (int t = 0; t < 8 && BOOT_NAMES[i].types[t] && rc == 0; t++)
				rc = ask_one(c, w, b, qname, BOOT_NAMES[i].types[t], a);
		}
	}
	free(a);
	snprintf(b->method, sizeof(b->method), "queries");
	return rc;
}

int boot_run(struct check_ctx *c, const char *zone, const char (*selectors)[64], int nselectors,
             struct boot_result *out)
{
	memset(out, 0, sizeof(*out));
	check_copy(out->zone, sizeof(out->zone), zone);
	struct check_walk *w = calloc(1, sizeof(*w));
	if (!w)
		return TERN_ENOMEM;
	int rc = check_walk(c, zone, RR_SOA, 0, w);
	if (rc < 0 || !check_name_eq(w->zone, zone) || w->nservers == 0) {
		if (rc == 0)
			snprintf(out->error, sizeof(out->error),
			         "%.100s is not a zone of its own: its name is in %.100s", zone, w->zone);
		else
			snprintf(out->error, sizeof(out->error), "the servers of %.200s could not be found or asked",
			         zone);
		free(w);
		return rc < 0 && rc != TERN_EIO ? rc : TERN_EIO;
	}
	for (int i = 0; i < w->nns && out->nold_ns < CHECK_MAXNS; i++)
		check_copy(out->old_ns[out->nold_ns++], CHECK_NAME_TEXT, w->ns[i]);
	for (int i = 0; c->report && i < c->report->nhops; i++)
		if (check_name_eq(c->report->hops[i].child, zone) && c->report->hops[i].ttl > out->parent_ns_ttl)
			out->parent_ns_ttl = c->report->hops[i].ttl;
	/* AXFR from each server in turn, each address once */
	for (int s = 0; s < w->nservers && s < CHECK_MAXNS; s++) {
		char err[200] = "";
		bool seen = false;
		for (int k = 0; k < s; k++)
			seen |= strcmp(w->servers[k].addr.text, w->servers[s].addr.text) == 0;
		if (seen)
			continue;
		char why[128] = "";
		if (c->allowed &&
		    !c->allowed(c->allowed_arg, (const struct sockaddr *)&w->servers[s].addr.ss, why, sizeof(why))) {
			snprintf(out->axfr_error[out->naxfr_error++], sizeof(out->axfr_error[0]),
			         "%.100s (%.60s): not asked: a private or reserved address", w->servers[s].name,
			         w->servers[s].addr.text);
			continue;
		}
		/* records into a result of their own: a transfer that fails half-way leaves nothing */
		struct boot_result *tmp = calloc(1, sizeof(*tmp));
		if (!tmp) {
			free(w);
			return TERN_ENOMEM;
		}
		check_copy(tmp->zone, sizeof(tmp->zone), zone);
		/* 5 query timeouts a server, within what is left of the check's deadline */
		int timeout = c->timeout_ms * 5;
		if (c->deadline_ms > 0 && c->started_ms > 0) {
			double left = c->started_ms + c->deadline_ms - (double)now_ms();
			timeout = left < timeout ? (int)left : timeout;
		}
		if (timeout <= 0) {
			free(tmp);
			snprintf(out->axfr_error[out->naxfr_error++], sizeof(out->axfr_error[0]),
			         "%.100s (%.60s): not asked: the deadline passed", w->servers[s].name,
			         w->servers[s].addr.text);
			continue;
		}
		int arc = axfr_from(&w->servers[s], tmp, timeout, err, sizeof(err));
		if (arc == 0) {
			snprintf(out->method, sizeof(out->method), "axfr");
			snprintf(out->source, sizeof(out->source), "%s (%s)", w->servers[s].name,
			         w->servers[s].addr.text);
			out->rr = tmp->rr, out->nrr = tmp->nrr, out->caprr = tmp->caprr;
			out->dropped_dnssec = tmp->dropped_dnssec, out->dropped_apex_ns = tmp->dropped_apex_ns;
			out->dropped_soa = tmp->dropped_soa, out->dropped_outside = tmp->dropped_outside;
			out->dropped_size = tmp->dropped_size, out->dropped_limit = tmp->dropped_limit;
			out->zone_ns_ttl = tmp->zone_ns_ttl;
			free(tmp);
			free(w);
			return 0;
		}
		boot_result_free(tmp);
		free(tmp);
		if (arc == TERN_ENOMEM) {
			free(w);
			return arc;
		}
		snprintf(out->axfr_error[out->naxfr_error++], sizeof(out->axfr_error[0]), "%.100s (%.60s): %.80s",
		         w->servers[s].name, w->servers[s].addr.text, err);
	}
	snprintf(out->source, sizeof(out->source), "%s", w->answered_by);
	for (int s = 0; s < w->nservers; s++)
		if (strcmp(w->servers[s].addr.text, w->answered_by) == 0)
			snprintf(out->source, sizeof(out->source), "%s (%s)", w->servers[s].name,
			         w->servers[s].addr.text);
	rc = by_queries(c, w, out, selectors, nselectors);
	free(w);
	return rc;
}
