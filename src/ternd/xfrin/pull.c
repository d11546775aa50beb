/* The wire side of a secondary: SOA serial queries over UDP and AXFR (RFC 5936) over TCP. Names in
 * RDATA may arrive compressed (RFC 3597 section 4 lists the types): they are expanded here, since
 * a zone holds RDATA uncompressed. Nothing is published from here: the caller gets a snapshot. */
#include "ternd/xfrin/pull.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"

#define PULL_UDP_TRIES 3
#define PULL_UDP_WAIT_MS 1000
#define PULL_TCP_WAIT_MS 10000 /* connect, and silence between two reads */
#define PULL_MAX_BYTES ((size_t)1 << 30) /* a transfer larger than this is refused */
#define PULL_QUERY_MAX 512

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *rcode_name(unsigned rcode, char buf[16])
{
	static const char *names[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	                              "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, 16, "RCODE%u", rcode);
	return buf;
}

/* A query for (apex, qtype): random ID, no RD. */
static int build_query(const struct pull_peer *peer, uint8_t *buf, size_t cap, size_t *len, uint16_t *id,
                       const uint8_t *apex, uint16_t qtype, char *err, size_t errlen)
{
	struct wire_writer w;
	uint8_t header[WIRE_HEADER_LEN] = {0};
	if (getrandom(id, sizeof(*id), 0) != sizeof(*id))
		*id = (uint16_t)now_ms();
	wire_put16(header, *id);
	wire_put16(header + 4, 1);
	wire_writer_init(&w, buf, cap);
	if (wire_write(&w, header, sizeof(header)) < 0 || wire_write_name(&w, apex, false) < 0 ||
	    wire_write16(&w, qtype) < 0 || wire_write16(&w, RR_CLASS_IN) < 0) {
		snprintf(err, errlen, "query does not fit");
		return TERN_ESPACE;
	}
	*len = w.pos;
	if (peer->tsig)
		return peer->tsig->sign(peer->tsig->ctx, buf, len, cap, err, errlen);
	return 0;
}

/* Waits until fd is ready for events. Returns 0, 1 on timeout, or TERN_EIO on stop or error;
 * err says which but for readiness. */
static int wait_fd(const struct pull_peer *peer, int fd, short events, int timeout_ms, char *err, size_t errlen)
{
	struct pollfd p[2] = {{fd, events, 0}, {peer->stop_fd, POLLIN, 0}};
	for (;;) {
		int n = poll(p, peer->stop_fd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return TERN_EIO;
		}
		if (n == 0) {
			snprintf(err, errlen, "%s: no answer in %d ms", peer->addr->text, timeout_ms);
			return 1;
		}
		if (peer->stop_fd >= 0 && p[1].revents) {
			snprintf(err, errlen, "stopped");
			return TERN_EIO;
		}
		return 0; /* ready, or an error the next call will report */
	}
}

/* ---- SOA serial over UDP ---- */

/* Skips the question section, checking it asks for (apex, qtype). Returns 1 when it does. */
static int question_matches(const uint8_t *msg, size_t len, size_t *pos, const uint8_t *apex, uint16_t qtype)
{
	uint8_t name[NAME_MAXLEN];
	if (wire_get16(msg + 4) != 1 || wire_read_name(msg, len, pos, name) < 0 || *pos + 4 > len)
		return 0;
	bool same =
	    name_equal(name, apex) && wire_get16(msg + *pos) == qtype && wire_get16(msg + *pos + 2) == RR_CLASS_IN;
	*pos += 4;
	return same;
}

/* Checks a datagram; returns 1 when it is not our answer (ignored), 0 with *serial set, or an
 * error for an answer that says no. */
static int soa_answer(const struct pull_peer *peer, const uint8_t *msg, size_t len, uint16_t id, const uint8_t *apex,
                      uint32_t *serial, char *err, size_t errlen)
{
	size_t pos = WIRE_HEADER_LEN;
	if (len < WIRE_HEADER_LEN || wire_get16(msg) != id)
		return 1;
	uint16_t flags = wire_get16(msg + 2);
	if (!(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_QUERY || !question_matches(msg, len, &pos, apex, RR_SOA))
		return 1;
	char rc[16];
	if (peer->tsig && (peer->tsig->verify(peer->tsig->ctx, msg, len, err, errlen) < 0 ||
	                   peer->tsig->end(peer->tsig->ctx, err, errlen) < 0))
		return TERN_EMALF;
	if (WIRE_RCODE(flags) != RCODE_NOERROR) {
		snprintf(err, errlen, "%s answered the SOA query with %s", peer->addr->text,
		         rcode_name(WIRE_RCODE(flags), rc));
		return TERN_EIO;
	}
	if (flags & WIRE_TC) {
		snprintf(err, errlen, "%s sent a truncated SOA answer", peer->addr->text);
		return TERN_EMALF;
	}
	if (!(flags & WIRE_AA)) {
		snprintf(err, errlen, "%s is not authoritative for the zone (no AA bit)", peer->addr->text);
		return TERN_EIO;
	}
	for (unsigned i = 0, an = wire_get16(msg + 6); i < an; i++) {
		uint8_t owner[NAME_MAXLEN], name[NAME_MAXLEN];
		if (wire_read_name(msg, len, &pos, owner) < 0 || pos + 10 > len)
			break;
		uint16_t type = wire_get16(msg + pos), cls = wire_get16(msg + pos + 2),
		         rdlen = wire_get16(msg + pos + 8);
		size_t rd = pos + 10, end = rd + rdlen;
		if (end > len)
			break;
		pos = end;
		if (type != RR_SOA || cls != RR_CLASS_IN || !name_equal(owner, apex))
			continue;
		if (wire_read_name(msg, len, &rd, name) < 0 || wire_read_name(msg, len, &rd, name) < 0 || rd + 20 > end)
			break;
		*serial = wire_get32(msg + rd);
		return 0;
	}
	snprintf(err, errlen, "%s sent no SOA record for the zone", peer->addr->text);
	return TERN_EMALF;
}

int pull_soa_serial(const struct pull_peer *peer, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen)
{
	const struct config_listen *a = peer->addr;
	uint8_t query[PULL_QUERY_MAX], answer[65535];
	size_t qlen;
	uint16_t id;
	int rc = TERN_EIO;
	int fd = socket(a->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&a->addr, a->addrlen) < 0) {
		snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
		goto fail;
	}
	for (int attempt = 0; attempt < PULL_UDP_TRIES; attempt++) {
		if ((rc = build_query(peer, query, sizeof(query), &qlen, &id, apex, RR_SOA, err, errlen)) < 0)
			goto fail;
		if (send(fd, query, qlen, 0) < 0) {
			snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
			rc = TERN_EIO;
			goto fail;
		}
		for (uint64_t deadline = now_ms() + PULL_UDP_WAIT_MS, now; (now = now_ms()) < deadline;) {
			if ((rc = wait_fd(peer, fd, POLLIN, (int)(deadline - now), err, errlen)) < 0)
				goto fail;
			if (rc == 1)
				break; /* this try timed out */
			ssize_t n = recv(fd, answer, sizeof(answer), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n < 0) { /* e.g. ECONNREFUSED: nothing listens there */
				snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
				rc = TERN_EIO;
				goto fail;
			}
			rc = soa_answer(peer, answer, (size_t)n, id, apex, serial, err, errlen);
			if (rc <= 0)
				goto fail;
		}
	}
	snprintf(err, errlen, "%s: no answer to %d SOA queries", a->text, PULL_UDP_TRIES);
	rc = TERN_EIO;
fail:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- RDATA names ---- */

/* How RDATA holding names is laid out, for the types whose names may come compressed (RFC 1035
 * 3.3, RFC 3597 4, and DNAME, which some servers compress): one letter a field, 'n' a name, a
 * digit that many fixed bytes, 's' a character-string; what follows is copied as it is. */
static const char *rdata_layout(uint16_t type)
{
	switch (type) {
	case RR_NS:
	case 3: /* MD */
	case 4: /* MF */
	case RR_CNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case RR_PTR:
	case RR_DNAME:
	case 30: /* NXT */ return "n";
	case RR_SOA:
	case 14: /* MINFO */
	case 17: /* RP */ return "nn";
	case RR_MX:
	case 18: /* AFSDB */
	case 21: /* RT */
	case 36: /* KX */ return "2n";
	case 26: /* PX */ return "2nn";
	case RR_SRV: return "222n";
	case RR_NAPTR: return "22sssn";
	case 24: /* SIG */ return "2114442n";
	default: return "";
	}
}

/* Copies the RDATA at msg[rd..rd+rdlen) into out with its names expanded. Returns the length or
 * TERN_EMALF. */
static int rdata_expand(uint16_t type, const uint8_t *msg, size_t len, size_t rd, uint16_t rdlen, uint8_t *out,
                        size_t cap)
{
	size_t end = rd + rdlen, o = 0, pos = rd;
	for (const char *f = rdata_layout(type); *f; f++) {
		size_t n;
		if (*f == 'n') {
			int l = wire_read_name(msg, len, &pos, out + o); /* out has NAME_MAXLEN spare */
			if (l < 0 || pos > end)
				return TERN_EMALF;
			o += (size_t)l;
			continue;
		}
		n = *f == 's' ? (pos < end ? (size_t)msg[pos] + 1 : 1) : (size_t)(*f - '0');
		if (pos + n > end || o + n > cap)
			return TERN_EMALF;
		memcpy(out + o, msg + pos, n);
		o += n;
		pos += n;
	}
	if (o + (end - pos) > cap)
		return TERN_EMALF;
	memcpy(out + o, msg + pos, end - pos);
	o += end - pos;
	return o > 65535 ? TERN_EMALF : (int)o;
}

/* ---- AXFR over TCP ---- */

struct axfr {
	const struct pull_peer *peer;
	const uint8_t *apex;
	uint16_t id;
	struct zone_builder *b;
	uint32_t serial; /* of the opening SOA */
	bool opened, closed;
	struct pull_stats st;
	uint8_t rdata[65535 + NAME_MAXLEN];
};

static int tcp_connect(const struct pull_peer *peer, int *out, char *err, size_t errlen)
{
	const struct config_listen *a = peer->addr;
	int fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
		return TERN_EIO;
	}
	*out = fd;
	if (connect(fd, (const struct sockaddr *)&a->addr, a->addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS) {
		snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
		return TERN_EIO;
	}
	int rc = wait_fd(peer, fd, POLLOUT, PULL_TCP_WAIT_MS, err, errlen) == 0 ? 0 : TERN_EIO;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)) {
		snprintf(err, errlen, "%s: %s", a->text, strerror(soerr ? soerr : errno));
		rc = TERN_EIO;
	}
	return rc;
}

static int tcp_write_all(const struct pull_peer *peer, int fd, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(peer, fd, POLLOUT, PULL_TCP_WAIT_MS, err, errlen) != 0)
				return TERN_EIO;
			continue;
		}
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", peer->addr->text, strerror(errno));
			return TERN_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; a clean end of stream gives TERN_EIO with "closed". */
static int tcp_read_all(const struct axfr *x, int fd, uint8_t *buf, size_t len, char *err, size_t errlen)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(x->peer, fd, POLLIN, PULL_TCP_WAIT_MS, err, errlen) != 0)
				return TERN_EIO;
			continue;
		}
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s after %zu messages, %zu records: transfer incomplete",
			         x->peer->addr->text, n == 0 ? "connection closed" : strerror(errno), x->st.messages,
			         x->st.records);
			return TERN_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One answer record: the opening SOA, a record of the zone, or the closing SOA. */
static int axfr_record(struct axfr *x, const uint8_t *msg, size_t len, size_t *pos, char *err, size_t errlen)
{
	uint8_t owner[NAME_MAXLEN];
	const char *from = x->peer->addr->text;
	if (wire_read_name(msg, len, pos, owner) < 0 || *pos + 10 > len)
		goto malformed;
	uint16_t type = wire_get16(msg + *pos), cls = wire_get16(msg + *pos + 2), rdlen = wire_get16(msg + *pos + 8);
	uint32_t ttl = wire_get32(msg + *pos + 4);
	size_t rd = *pos + 10;
	if (rd + rdlen > len)
		goto malformed;
	*pos = rd + rdlen;
	if (x->closed) {
		snprintf(err, errlen, "%s: records after the closing SOA", from);
		return TERN_EMALF;
	}
	if (cls != RR_CLASS_IN) {
		snprintf(err, errlen, "%s: record %zu has class %u, not IN", from, x->st.records + 1, cls);
		return TERN_EMALF;
	}
	int n = rdata_expand(type, msg, len, rd, rdlen, x->rdata, sizeof(x->rdata) - NAME_MAXLEN);
	if (n < 0)
		goto malformed;
	bool apex_soa = type == RR_SOA && name_equal(owner, x->apex) && n >= 20;
	uint32_t serial = apex_soa ? wire_get32(x->rdata + n - 20) : 0;
	if (!x->opened) {
		if (!apex_soa) {
			snprintf(err, errlen, "%s: the transfer does not start with the zone's SOA", from);
			return TERN_EMALF;
		}
		x->opened = true;
		x->serial = serial;
	} else if (apex_soa) {
		if (serial != x->serial) {
			snprintf(err, errlen, "%s: the transfer opened with serial %u and closed with %u", from,
			         x->serial, serial);
			return TERN_EMALF;
		}
		x->closed = true;
		return 0;
	}
	x->st.records++; /* the closing SOA repeats the first: not counted */
	int rc = zone_builder_add(x->b, owner, type, ttl, x->rdata, (uint16_t)n, (uint32_t)x->st.records);
	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
malformed:
	snprintf(err, errlen, "%s: malformed record after %zu records", from, x->st.records);
	return TERN_EMALF;
}

/* One message of the answer stream. */
static int axfr_message(struct axfr *x, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	const char *from = x->peer->addr->text;
	char rc_text[16];
	if (len < WIRE_HEADER_LEN) {
		snprintf(err, errlen, "%s: a message of %zu bytes", from, len);
		return TERN_EMALF;
	}
	uint16_t flags = wire_get16(msg + 2);
	if (wire_get16(msg) != x->id || !(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_QUERY) {
		snprintf(err, errlen, "%s: message %zu is not an answer to our query (ID or flags differ)", from,
		         x->st.messages + 1);
		return TERN_EMALF;
	}
	if (WIRE_RCODE(flags) != RCODE_NOERROR) {
		snprintf(err, errlen, "%s refused the transfer: %s", from, rcode_name(WIRE_RCODE(flags), rc_text));
		return TERN_EIO;
	}
	if (flags & WIRE_TC) {
		snprintf(err, errlen, "%s: message %zu has the TC bit", from, x->st.messages + 1);
		return TERN_EMALF;
	}
	if (x->peer->tsig) {
		int rc = x->peer->tsig->verify(x->peer->tsig->ctx, msg, len, err, errlen);
		if (rc < 0)
			return rc;
	}
	x->st.messages++;
	size_t pos = WIRE_HEADER_LEN;
	unsigned qd = wire_get16(msg + 4), an = wire_get16(msg + 6);
	if (qd > 1 || (qd == 1 && !question_matches(msg, len, &pos, x->apex, RR_AXFR))) {
		snprintf(err, errlen, "%s: message %zu answers another question", from, x->st.messages);
		return TERN_EMALF;
	}
	for (unsigned i = 0; i < an; i++) {
		int rc = axfr_record(x, msg, len, &pos, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0; /* authority and additional (TSIG, OPT) hold nothing for the zone */
}

int pull_axfr(const struct pull_peer *peer, const uint8_t *apex, struct zone **out, struct pull_stats *stats, char *err,
              size_t errlen)
{
	uint8_t query[2 + PULL_QUERY_MAX], *msg = malloc(65535);
	struct axfr *x = calloc(1, sizeof(*x));
	size_t qlen;
	int fd = -1, rc = TERN_ENOMEM;
	if (!msg || !x || !(x->b = zone_builder_new(apex))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	x->peer = peer;
	x->apex = apex;
	if ((rc = build_query(peer, query + 2, sizeof(query) - 2, &qlen, &x->id, apex, RR_AXFR, err, errlen)) < 0)
		goto fail;
	wire_put16(query, (uint16_t)qlen);
	if ((rc = tcp_connect(peer, &fd, err, errlen)) < 0 ||
	    (rc = tcp_write_all(peer, fd, query, qlen + 2, err, errlen)) < 0)
		goto fail;
	while (!x->closed) {
		uint8_t lenbuf[2];
		if ((rc = tcp_read_all(x, fd, lenbuf, 2, err, errlen)) < 0)
			goto fail;
		size_t len = wire_get16(lenbuf);
		if ((rc = tcp_read_all(x, fd, msg, len, err, errlen)) < 0)
			goto fail;
		x->st.bytes += len + 2;
		if (x->st.bytes > PULL_MAX_BYTES) {
			snprintf(err, errlen, "%s: the transfer exceeds %zu bytes", peer->addr->text, PULL_MAX_BYTES);
			rc = TERN_EIO;
			goto fail;
		}
		if ((rc = axfr_message(x, msg, len, err, errlen)) < 0)
			goto fail;
	}
	close(fd);
	fd = -1;
	if (peer->tsig && (rc = peer->tsig->end(peer->tsig->ctx, err, errlen)) < 0)
		goto fail;
	char source[128];
	snprintf(source, sizeof(source), "AXFR from %s, record", peer->addr->text);
	rc = zone_build(x->b, source, out, err, errlen); /* consumes the builder */
	x->b = NULL;
	if (stats)
		*stats = x->st;
fail:
	if (fd >= 0)
		close(fd);
	if (x)
		zone_builder_free(x->b);
	free(x);
	free(msg);
	return rc;
}
