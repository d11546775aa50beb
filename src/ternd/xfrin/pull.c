/* The wire side of a secondary: SOA serial queries over UDP, AXFR (RFC 5936) and IXFR (RFC 1995)
 * over TCP or TLS (a stream: a socket, and an SSL session on it for a tls:// primary), one at a
 * time or pipelined (several queries written at once, the answers routed by message ID). Only sockets and queries live
 * here; every answer goes through xfr_parse.c. Nothing is published from here: the caller gets a snapshot or diffs. */
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

#include <openssl/err.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"

#define PULL_UDP_TRIES 3
#define PULL_UDP_WAIT_MS 1000
/* Deadlines, never reset by a byte arriving, so a primary that trickles its answer cannot hold
 * a transfer worker for long (the other zones wait for the workers): */
#define PULL_TCP_WAIT_MS 10000 /* connecting and sending the query; then each whole message */
#define PULL_XFR_TOTAL_MS 600000 /* a whole transfer */
#define PULL_MAX_BYTES ((size_t)1 << 30) /* a transfer larger than this is refused */
#define PULL_QUERY_MAX 2048 /* an IXFR query holds our SOA (up to 530 bytes of RDATA), then TSIG */

/* A random message ID. */
static uint16_t query_id(void)
{
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)ev_clock_ms();
	return id;
}

/* A query for (apex, qtype) with message ID id, no RD; an IXFR query carries our SOA as its
 * authority (RFC 1995 3). */
static int build_query(const struct pull_peer *peer, uint8_t *buf, size_t cap, size_t *len, uint16_t id,
                       const uint8_t *apex, uint16_t qtype, const struct pull_soa *soa, char *err, size_t errlen)
{
	struct wire_writer w;
	uint8_t header[WIRE_HEADER_LEN] = {0};
	wire_put16(header, id);
	wire_put16(header + 4, 1);
	wire_put16(header + 8, soa ? 1 : 0);
	wire_writer_init(&w, buf, cap);
	if (wire_write(&w, header, sizeof(header)) < 0 || wire_write_name(&w, apex, false) < 0 ||
	    wire_write16(&w, qtype) < 0 || wire_write16(&w, RR_CLASS_IN) < 0 ||
	    (soa && (wire_write_name(&w, apex, true) < 0 || wire_write16(&w, RR_SOA) < 0 ||
	             wire_write16(&w, RR_CLASS_IN) < 0 || wire_write32(&w, soa->ttl) < 0 ||
	             wire_write16(&w, soa->len) < 0 || wire_write(&w, soa->rdata, soa->len) < 0))) {
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

/* A point in time a TCP exchange must be done by, and what it is, for the message. */
struct pull_deadline {
	uint64_t at; /* ev_clock_ms() */
	unsigned ms; /* what was allowed */
	const char *what;
};

static struct pull_deadline deadline_in(unsigned ms, const char *what)
{
	return (struct pull_deadline){ev_clock_ms() + ms, ms, what};
}

/* wait_fd() until d: TERN_EIO once d has passed, with err naming what took too long. */
static int wait_until(const struct pull_peer *peer, int fd, short events, const struct pull_deadline *d, char *err,
                      size_t errlen)
{
	uint64_t now = ev_clock_ms();
	int rc = now < d->at ? wait_fd(peer, fd, events, (int)(d->at - now), err, errlen) : 1;
	if (rc == 1)
		snprintf(err, errlen, "%s: %s took more than %u ms", peer->addr->text, d->what, d->ms);
	return rc == 0 ? 0 : TERN_EIO;
}

/* ---- a stream: a TCP socket, or a TLS session on one (non-blocking both) ---- */

struct stream {
	int fd; /* -1: none */
	SSL *ssl; /* NULL: plain TCP */
};

static void stream_close(struct stream *s)
{
	if (s->ssl) {
		ERR_clear_error();
		SSL_shutdown(s->ssl); /* one try, not waited for: close_notify when the socket takes it */
		SSL_free(s->ssl);
		ERR_clear_error();
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->ssl = NULL;
}

/* An SSL call's result r: 1 when it would block (*events: what to poll for), 0 when it failed
 * (why says how: "connection closed" at the end of the stream). */
static int ssl_blocked(const struct pull_peer *peer, SSL *ssl, int r, short *events, char *why, size_t whylen)
{
	int code = SSL_get_error(ssl, r);
	if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
		*events = code == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 1;
	}
	tls_client_error(peer->tls, ssl, code, why, whylen);
	return 0;
}

/* Writes from buf: bytes written (> 0); 0 when it would block (*events); -1 on error (why). */
static ssize_t stream_send(const struct pull_peer *peer, struct stream *s, const uint8_t *buf, size_t len,
                           short *events, char *why, size_t whylen)
{
	if (!s->ssl) {
		ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			*events = POLLOUT;
			return 0;
		}
		if (n < 0)
			snprintf(why, whylen, "%s", strerror(errno));
		return n < 0 ? -1 : n;
	}
	ERR_clear_error();
	errno = 0;
	int r = SSL_write(s->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (r > 0)
		return r;
	return ssl_blocked(peer, s->ssl, r, events, why, whylen) ? 0 : -1;
}

/* Reads into buf: bytes read (> 0); 0 at the end of the stream (why: "connection closed"); -1 with
 * *events set when it would block, or with why on error (*events 0). */
static ssize_t stream_recv(const struct pull_peer *peer, struct stream *s, uint8_t *buf, size_t len, short *events,
                           char *why, size_t whylen)
{
	*events = 0;
	if (!s->ssl) {
		ssize_t n = recv(s->fd, buf, len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			*events = POLLIN;
		else if (n < 0)
			snprintf(why, whylen, "%s", strerror(errno));
		else if (n == 0)
			snprintf(why, whylen, "connection closed");
		return n;
	}
	ERR_clear_error();
	errno = 0;
	int r = SSL_read(s->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (r > 0)
		return r;
	if (ssl_blocked(peer, s->ssl, r, events, why, whylen))
		return -1;
	return strcmp(why, "connection closed") == 0 ? 0 : -1;
}

/* Whether bytes wait inside the TLS session, where poll() cannot see them. */
static bool stream_buffered(const struct stream *s)
{
	return s->ssl && SSL_has_pending(s->ssl);
}

/* ---- SOA serial over UDP ---- */

static int soa_over_tcp(const struct pull_peer *peer, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen);

int pull_soa_serial(const struct pull_peer *peer, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen)
{
	const struct config_listen *a = peer->addr;
	if (a->tls) /* XoT: nothing in clear, the SOA query neither (RFC 9103 section 9.3) */
		return soa_over_tcp(peer, apex, serial, err, errlen);
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
		id = query_id();
		if ((rc = build_query(peer, query, sizeof(query), &qlen, id, apex, RR_SOA, NULL, err, errlen)) < 0)
			goto fail;
		if (send(fd, query, qlen, 0) < 0) {
			snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
			rc = TERN_EIO;
			goto fail;
		}
		for (uint64_t deadline = ev_clock_ms() + PULL_UDP_WAIT_MS, now; (now = ev_clock_ms()) < deadline;) {
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
			struct xfrp_query q = {
			    .apex = apex, .qtype = RR_SOA, .id = id, .tsig = peer->tsig, .from = a->text};
			rc = xfrp_soa_answer(&q, answer, (size_t)n, serial, err, errlen);
			if (rc < 0) {
				/* an answer that says no, or is truncated: some primaries answer a zone over
				 * TCP only (Knot its catalog zones), so ask there once before giving up */
				char tcp_err[256];
				if (soa_over_tcp(peer, apex, serial, tcp_err, sizeof(tcp_err)) == 0) {
					rc = 0;
				} else {
					size_t used = strlen(err);
					snprintf(err + used, errlen - used, "; over TCP: %s", tcp_err);
				}
			}
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

/* ---- AXFR and IXFR over TCP ---- */

/* A connection to the primary by d: TCP, then for a tls:// primary the TLS handshake (the
 * certificate or pin checked) before anything is written. TERN_EIO with err when it fails (s
 * closed). */
static int stream_open(const struct pull_peer *peer, struct stream *s, const struct pull_deadline *d,
                       SSL_SESSION *resume, char *err, size_t errlen)
{
	const struct config_listen *a = peer->addr;
	char why[256];
	int rc = TERN_EIO;
	*s = (struct stream){.fd = socket(a->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
	if (s->fd < 0) {
		snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
		return TERN_EIO;
	}
	if (connect(s->fd, (const struct sockaddr *)&a->addr, a->addrlen) < 0) {
		if (errno != EINPROGRESS) {
			snprintf(err, errlen, "%s: %s", a->text, strerror(errno));
			goto fail;
		}
		if ((rc = wait_until(peer, s->fd, POLLOUT, d, err, errlen)) < 0)
			goto fail;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			snprintf(err, errlen, "%s: %s", a->text, strerror(soerr ? soerr : errno));
			rc = TERN_EIO;
			goto fail;
		}
	}
	if (!a->tls)
		return 0;
	rc = TERN_EIO;
	if (!peer->tls) {
		snprintf(err, errlen, "%s: no TLS settings to authenticate it with", a->text);
		goto fail;
	}
	if (!(s->ssl = tls_client_ssl(peer->tls, s->fd, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: %s", a->text, why);
		goto fail;
	}
	if (resume) /* the same settings made it (its slot's): the primary was authenticated so */
		SSL_set_session(s->ssl, resume);
	for (;;) { /* the handshake, non-blocking, by the same deadline as the connection */
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(s->ssl);
		short events = 0;
		if (r == 1)
			break;
		if (!ssl_blocked(peer, s->ssl, r, &events, why, sizeof(why))) {
			snprintf(err, errlen, "%s: TLS handshake failed: %s", a->text, why);
			goto fail;
		}
		if ((rc = wait_until(peer, s->fd, events, d, err, errlen)) < 0)
			goto fail;
		rc = TERN_EIO;
	}
	if (tls_client_check(peer->tls, s->ssl, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", a->text, why);
		goto fail;
	}
	bool resumed = SSL_session_reused(s->ssl) == 1;
	if (resumed && peer->conns)
		peer->conns->resumed++;
	log_debug("%s: TLS session %s", a->text, resumed ? "resumed" : "new");
	return 0;
fail:
	stream_close(s);
	return rc;
}

static int tcp_write_all(const struct pull_peer *peer, struct stream *s, const uint8_t *buf, size_t len,
                         const struct pull_deadline *d, char *err, size_t errlen)
{
	char why[256];
	while (len > 0) {
		short events = 0;
		ssize_t n = stream_send(peer, s, buf, len, &events, why, sizeof(why));
		if (n == 0) {
			if (wait_until(peer, s->fd, events, d, err, errlen) < 0)
				return TERN_EIO;
			continue;
		}
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", peer->addr->text, why);
			return TERN_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes by d; a clean end of stream gives TERN_EIO with "closed". dropped (NULL:
 * not asked) is set when the connection ended or failed before the first byte of buf came. */
static int tcp_read_all(const struct pull_peer *peer, const struct xfrp *p, struct stream *s, uint8_t *buf, size_t len,
                        const struct pull_deadline *d, char *err, size_t errlen, bool *dropped)
{
	size_t want = len;
	char why[256];
	while (len > 0) {
		short events = 0;
		ssize_t n = stream_recv(peer, s, buf, len, &events, why, sizeof(why));
		if (n < 0 && events) {
			if (wait_until(peer, s->fd, events, d, err, errlen) < 0)
				return TERN_EIO;
			continue;
		}
		if (n <= 0 && dropped)
			*dropped = len == want;
		if (n <= 0 && !p) {
			snprintf(err, errlen, "%s: %s before the answer", peer->addr->text, why);
			return TERN_EIO;
		}
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s after %zu messages, %zu records: transfer incomplete",
			         peer->addr->text, why, xfrp_messages(p), xfrp_records(p));
			return TERN_EIO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static struct pull_conn *conn_slot(struct pull_conns *c, const struct pull_peer *peer);
static struct stream conn_take(struct pull_conn *c);
static void conn_keep(struct pull_conn *c, struct stream *s);
static bool stopped(const struct pull_peer *peer);

/* The SOA query over TCP: one message each way. Over TLS (XoT: every refresh asks it there) on the
 * connection kept for the primary when there is one (a handshake per refresh saved), replaced once
 * when the primary closed it, and kept after a clean answer. */
static int soa_over_tcp(const struct pull_peer *peer, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen)
{
	uint8_t query[2 + PULL_QUERY_MAX], lenbuf[2], *answer = malloc(65535);
	size_t qlen;
	struct stream s = {.fd = -1};
	int rc = TERN_ENOMEM;
	if (!answer) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	uint16_t id = query_id();
	if ((rc = build_query(peer, query + 2, sizeof(query) - 2, &qlen, id, apex, RR_SOA, NULL, err, errlen)) < 0)
		goto fail;
	wire_put16(query, (uint16_t)qlen);
	const char *over = peer->addr->tls ? "TLS" : "TCP";
	const char *what = peer->addr->tls ? "the SOA query over TLS" : "the SOA query over TCP";
	struct pull_deadline d = deadline_in(PULL_TCP_WAIT_MS, what);
	struct pull_conn *conn = peer->conns && peer->addr->tls ? conn_slot(peer->conns, peer) : NULL;
	if (conn)
		s = conn_take(conn);
	for (bool reused = s.fd >= 0;;) {
		bool dropped = false;
		if (s.fd < 0) {
			if ((rc = stream_open(peer, &s, &d, conn ? conn->session : NULL, err, errlen)) < 0)
				goto fail;
			if (peer->conns)
				peer->conns->opened++;
		}
		rc = tcp_write_all(peer, &s, query, qlen + 2, &d, err, errlen);
		if (rc == 0)
			rc = tcp_read_all(peer, NULL, &s, lenbuf, 2, &d, err, errlen, &dropped);
		else
			dropped = !stopped(peer);
		if (rc == 0)
			break;
		if (!reused || !dropped)
			goto fail;
		stream_close(&s); /* the primary closed the one we kept (its idle timeout): a new one */
		reused = false;
		d = deadline_in(PULL_TCP_WAIT_MS, what);
	}
	if ((rc = tcp_read_all(peer, NULL, &s, answer, wire_get16(lenbuf), &d, err, errlen, NULL)) < 0)
		goto fail;
	struct xfrp_query q = {.apex = apex, .qtype = RR_SOA, .id = id, .tsig = peer->tsig, .from = peer->addr->text};
	rc = xfrp_soa_answer(&q, answer, wire_get16(lenbuf), serial, err, errlen);
	if (rc == 1) {
		snprintf(err, errlen, "%s: the %s answer is not one to our SOA query", peer->addr->text, over);
		rc = TERN_EMALF;
	}
	if (rc == 0 && conn) /* one whole answer: the connection may carry the next query */
		conn_keep(conn, &s);
fail:
	stream_close(&s);
	free(answer);
	return rc;
}

/* ---- connections kept open (pull.h) ---- */

void pull_conns_init(struct pull_conns *c)
{
	memset(c, 0, sizeof(*c));
}

/* Closes the slot's connection, if any. */
static void conn_drop(struct pull_conn *s)
{
	struct stream st = {s->fd, s->ssl};
	stream_close(&st);
	s->fd = -1;
	s->ssl = NULL;
}

size_t pull_conns_expire(struct pull_conns *c, uint64_t now)
{
	size_t open = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct pull_conn *s = &c->slot[i];
		if (s->fd >= 0 && now - s->used >= PULL_CONN_IDLE_MS)
			conn_drop(s);
		open += s->fd >= 0;
	}
	return open;
}

void pull_conns_close(struct pull_conns *c)
{
	for (size_t i = 0; i < c->n; i++) {
		conn_drop(&c->slot[i]);
		tls_client_unref(c->slot[i].tls);
		c->slot[i].tls = NULL;
		SSL_SESSION_free(c->slot[i].session);
		c->slot[i].session = NULL;
	}
	c->n = 0;
}

/* The slot for the peer's connection: its own, a new one, or the one unused longest (closed). A
 * connection made with other TLS settings (another zone's pin or name) is closed: each zone's
 * primary is authenticated its own way. */
static struct pull_conn *conn_slot(struct pull_conns *c, const struct pull_peer *peer)
{
	const struct config_listen *a = peer->addr;
	struct tls_client *tls = a->tls ? peer->tls : NULL;
	struct pull_conn *own = NULL, *lru = NULL;
	for (size_t i = 0; i < c->n && !own; i++) {
		struct pull_conn *s = &c->slot[i];
		if (s->addrlen == a->addrlen && memcmp(&s->addr, &a->addr, a->addrlen) == 0)
			own = s;
		else if (!lru || s->used < lru->used)
			lru = s;
	}
	if (own && tls_client_same(own->tls, tls))
		return own;
	if (!own && c->n < PULL_CONNS_MAX) {
		lru = &c->slot[c->n++];
	} else {
		lru = own ? own : lru;
		conn_drop(lru);
		tls_client_unref(lru->tls);
		SSL_SESSION_free(lru->session); /* another primary's, or made with other settings */
	}
	memset(lru, 0, sizeof(*lru));
	memcpy(&lru->addr, &a->addr, a->addrlen);
	lru->addrlen = a->addrlen;
	lru->fd = -1;
	if ((lru->tls = tls) != NULL)
		tls_client_ref(tls);
	return lru;
}

/* Takes the open connection out of its slot when it may carry another query: idle less than
 * PULL_CONN_IDLE_MS, and not closed by the primary (nothing to read, no error, no end of stream;
 * over TLS, nothing but session tickets); otherwise closes it. s->fd < 0 after: none. */
static struct stream conn_take(struct pull_conn *c)
{
	struct stream s = {c->fd, c->ssl};
	c->fd = -1;
	c->ssl = NULL;
	if (s.fd < 0)
		return s;
	bool fresh = ev_clock_ms() - c->used < PULL_CONN_IDLE_MS;
	uint8_t b;
	if (fresh && s.ssl) {
		ERR_clear_error();
		int r = SSL_peek(s.ssl, &b, 1);
		if (r <= 0 && SSL_get_error(s.ssl, r) == SSL_ERROR_WANT_READ)
			return s;
		ERR_clear_error();
	} else if (fresh) {
		ssize_t n = recv(s.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return s;
	}
	stream_close(&s); /* closed, reset, idle too long, or bytes nobody asked for */
	return s;
}

/* Puts the stream back in its slot: its answer ended cleanly, it may carry the next query. */
static void conn_keep(struct pull_conn *c, struct stream *s)
{
	/* a whole answer came: the session's tickets (sent after the handshake) have too */
	SSL_SESSION *ticket = s->ssl ? SSL_get1_session(s->ssl) : NULL;
	if (ticket && SSL_SESSION_is_resumable(ticket)) {
		SSL_SESSION_free(c->session);
		c->session = ticket;
	} else {
		SSL_SESSION_free(ticket);
	}
	c->fd = s->fd;
	c->ssl = s->ssl;
	c->used = ev_clock_ms();
	s->fd = -1;
	s->ssl = NULL;
}

/* Whether stop_fd says to give up. */
static bool stopped(const struct pull_peer *peer)
{
	struct pollfd p = {peer->stop_fd, POLLIN, 0};
	return peer->stop_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Sends the transfer query (qtype AXFR, or IXFR with our soa) and feeds every message of the answer
 * to a parser, until it says the answer is complete. Returns 0 with *out holding that parser. With
 * peer->conns the connection to the primary open from the last transfer is used (one that fails
 * before the first byte of the answer is replaced once by a new one: the query is idempotent), and
 * kept open after a complete answer. */
static int tcp_transfer(const struct pull_peer *peer, const uint8_t *apex, uint16_t qtype, const struct pull_soa *soa,
                        struct xfrp **out, struct pull_stats *stats, char *err, size_t errlen)
{
	uint8_t query[2 + PULL_QUERY_MAX], *msg = malloc(65535);
	struct xfrp *p = NULL;
	struct pull_stats st = {0};
	struct xfrp_query q = {.apex = apex,
	                       .qtype = qtype,
	                       .id = query_id(),
	                       .serial = soa ? wire_get32(soa->rdata + rr_soa_serial_offset(soa->rdata)) : 0,
	                       .tsig = peer->tsig,
	                       .from = peer->addr->text};
	size_t qlen;
	struct stream s = {.fd = -1};
	int rc = TERN_ENOMEM;
	if (!msg) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = build_query(peer, query + 2, sizeof(query) - 2, &qlen, q.id, apex, qtype, soa, err, errlen)) < 0)
		goto fail;
	if ((rc = xfrp_new(&q, &p)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	wire_put16(query, (uint16_t)qlen);
	struct pull_conn *conn = peer->conns ? conn_slot(peer->conns, peer) : NULL;
	if (conn)
		s = conn_take(conn);
	bool reused = s.fd >= 0;
	struct pull_deadline total = deadline_in(PULL_XFR_TOTAL_MS, "the whole transfer");
	struct pull_deadline d = deadline_in(PULL_TCP_WAIT_MS, "connecting and sending the query");
	for (;;) {
		bool dropped = false;
		if (s.fd < 0) {
			if ((rc = stream_open(peer, &s, &d, conn ? conn->session : NULL, err, errlen)) < 0)
				goto fail;
			if (peer->conns)
				peer->conns->opened++;
		}
		rc = tcp_write_all(peer, &s, query, qlen + 2, &d, err, errlen);
		if (rc == 0) {
			d = deadline_in(PULL_TCP_WAIT_MS, "one message of the answer");
			rc = tcp_read_all(peer, p, &s, msg, 2, &d, err, errlen, &dropped);
		} else {
			dropped = !stopped(peer);
		}
		if (rc == 0)
			break;
		if (!reused || !dropped)
			goto fail;
		/* the primary closed the connection we kept (its idle timeout) as we asked: a new one */
		stream_close(&s);
		reused = false;
		d = deadline_in(PULL_TCP_WAIT_MS, "connecting and sending the query");
	}
	for (bool first = true; rc == 0; first = false) {
		uint8_t lenbuf[2];
		/* each message whole within PULL_TCP_WAIT_MS, all of them within PULL_XFR_TOTAL_MS */
		if (!first)
			d = deadline_in(PULL_TCP_WAIT_MS, "one message of the answer");
		if (d.at > total.at)
			d = total;
		if (first)
			memcpy(lenbuf, msg, 2); /* read above */
		else if ((rc = tcp_read_all(peer, p, &s, lenbuf, 2, &d, err, errlen, NULL)) < 0)
			goto fail;
		size_t len = wire_get16(lenbuf);
		if ((rc = tcp_read_all(peer, p, &s, msg, len, &d, err, errlen, NULL)) < 0)
			goto fail;
		st.bytes += len + 2;
		if (st.bytes > PULL_MAX_BYTES) {
			snprintf(err, errlen, "%s: the transfer exceeds %zu bytes", peer->addr->text, PULL_MAX_BYTES);
			rc = TERN_EIO;
			goto fail;
		}
		if ((rc = xfrp_feed(p, msg, len, err, errlen)) < 0)
			goto fail;
	}
	st.messages = xfrp_messages(p);
	st.records = xfrp_records(p);
	if (stats)
		*stats = st;
	*out = p;
	p = NULL;
	rc = 0;
	if (conn) /* the answer is complete: the connection may carry the next query */
		conn_keep(conn, &s);
fail:
	stream_close(&s);
	xfrp_free(p);
	free(msg);
	return rc;
}

int pull_axfr(const struct pull_peer *peer, const uint8_t *apex, struct zone **out, struct pull_stats *stats, char *err,
              size_t errlen)
{
	struct xfrp *p = NULL;
	struct xfrp_diffs *diffs = NULL;
	enum xfrp_outcome outcome;
	uint32_t serial;
	int rc = tcp_transfer(peer, apex, RR_AXFR, NULL, &p, stats, err, errlen);
	if (rc == 0)
		rc = xfrp_finish(p, &outcome, &serial, out, &diffs, err, errlen); /* an AXFR gives a zone */
	xfrp_free(p);
	return rc;
}

void pull_soa_of(const struct zone *z, struct pull_soa *soa)
{
	const uint8_t *rec = z->soa->rdata;
	soa->ttl = z->soa->ttl;
	soa->len = rdata_len(rec);
	memcpy(soa->rdata, rdata_bytes(rec), soa->len); /* a zone's SOA is checked: it fits */
}

int pull_ixfr(const struct pull_peer *peer, const uint8_t *apex, const struct pull_soa *soa,
              struct pull_ixfr_result *out, struct pull_stats *stats, char *err, size_t errlen)
{
	struct xfrp *p = NULL;
	*out = (struct pull_ixfr_result){0};
	int rc = tcp_transfer(peer, apex, RR_IXFR, soa, &p, stats, err, errlen);
	if (rc == 0)
		rc = xfrp_finish(p, &out->outcome, &out->serial, &out->zone, &out->diffs, err, errlen);
	xfrp_free(p);
	return rc;
}

/* ---- transfers pipelined on one connection (pull.h) ---- */

/* The read buffer: a whole message (up to 2 + 65535 bytes) always fits once what was taken is
 * moved out, and one recv() brings several messages of a busy stream. */
#define PIPE_READ_CAP ((size_t)4 * 65536)
#define PIPE_FRAME_MAX (2 + 65535)

enum pipe_state {
	PIPE_TODO, /* its query is not written on the connection in use */
	PIPE_SENT, /* asked, nothing of its answer came */
	PIPE_BEGUN, /* its answer is coming */
	PIPE_OVER, /* answered, or failed (items[i].rc) */
};

struct pipe_item {
	enum pipe_state state;
	bool swallow; /* failed while its answer may go on: its later messages are dropped */
	size_t qoff, qlen; /* its query in pipe.queries, length prefix included */
	struct xfrp_query q;
	struct xfrp *p; /* BEGUN: its parser */
	struct pull_deadline total; /* BEGUN: the whole transfer's */
};

struct pipe {
	const struct pull_peer *peer;
	struct pull_item *items;
	struct pipe_item *it;
	size_t n;
	uint8_t *queries; /* each item's, one after the other */
	uint8_t *out; /* the queries this round writes */
	size_t outlen, outpos;
	uint8_t *in; /* what came and was not taken yet: in[instart, inend) */
	size_t instart, inend;
	size_t outstanding; /* items SENT or BEGUN */
	bool progress; /* an answer ended on the connection in use */
	bool tainted; /* an answer failed before its end, or a failed one went on: not kept */
};

/* Item i is over with rc (its err filled when rc < 0). */
static void pipe_end(struct pipe *pp, size_t i, int rc)
{
	struct pipe_item *s = &pp->it[i];
	if (s->state == PIPE_SENT || s->state == PIPE_BEGUN) {
		pp->outstanding--;
		s->swallow = rc < 0; /* asked: more of its answer may come */
	}
	s->state = PIPE_OVER;
	pp->items[i].rc = rc;
	xfrp_free(s->p);
	s->p = NULL;
}

/* One whole message of the stream, to the transfer whose query has its ID. Returns 0, or
 * TERN_EMALF with err when it answers no query outstanding. */
static int pipe_message(struct pipe *pp, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	size_t i = 0;
	for (; len >= 2 && i < pp->n; i++) {
		const struct pipe_item *s = &pp->it[i];
		bool asked = s->state == PIPE_SENT || s->state == PIPE_BEGUN || (s->state == PIPE_OVER && s->swallow);
		if (asked && s->q.id == wire_get16(msg))
			break;
	}
	if (len < 2 || i == pp->n) {
		snprintf(err, errlen, "%s: a message (ID %u, %zu bytes) answers no query outstanding",
		         pp->peer->addr->text, len >= 2 ? wire_get16(msg) : 0u, len);
		return TERN_EMALF;
	}
	struct pipe_item *s = &pp->it[i];
	struct pull_item *it = &pp->items[i];
	if (s->state == PIPE_OVER) { /* more of an answer that failed: dropped, and so is the connection */
		pp->tainted = true;
		return 0;
	}
	if (s->state == PIPE_SENT) {
		if (xfrp_new(&s->q, &s->p) < 0) {
			snprintf(it->err, it->errlen, "out of memory");
			pp->tainted = true;
			pipe_end(pp, i, TERN_ENOMEM);
			return 0;
		}
		s->state = PIPE_BEGUN;
		s->total = deadline_in(PULL_XFR_TOTAL_MS, "the whole transfer");
	}
	it->stats.bytes += len + 2;
	if (it->stats.bytes > PULL_MAX_BYTES) {
		snprintf(it->err, it->errlen, "%s: the transfer exceeds %zu bytes", pp->peer->addr->text,
		         PULL_MAX_BYTES);
		pp->tainted = true;
		pipe_end(pp, i, TERN_EIO);
		return 0;
	}
	bool first = xfrp_messages(s->p) == 0;
	int rc = xfrp_feed(s->p, msg, len, it->err, it->errlen);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		if (!(rc == TERN_EIO && first)) /* a refusal is one whole answer; anything else may go on */
			pp->tainted = true;
		pipe_end(pp, i, rc);
		return 0;
	}
	it->stats.messages = xfrp_messages(s->p);
	it->stats.records = xfrp_records(s->p);
	rc = xfrp_finish(s->p, &it->res.outcome, &it->res.serial, &it->res.zone, &it->res.diffs, it->err, it->errlen);
	if (rc < 0)
		it->res = (struct pull_ixfr_result){0};
	pp->progress = true;
	pipe_end(pp, i, rc);
	return 0;
}

/* The whole messages in the read buffer, taken in order; then what is left moved to the front when
 * a whole message might not fit behind it. Returns 0 or pipe_message()'s error. */
static int pipe_take(struct pipe *pp, struct pull_deadline *d, char *err, size_t errlen)
{
	while (pp->outstanding > 0 && pp->inend - pp->instart >= 2) {
		size_t len = wire_get16(pp->in + pp->instart);
		if (pp->inend - pp->instart < 2 + len)
			break;
		int rc = pipe_message(pp, pp->in + pp->instart + 2, len, err, errlen);
		if (rc < 0)
			return rc;
		pp->instart += 2 + len;
		*d = deadline_in(PULL_TCP_WAIT_MS, "one message of the answers");
	}
	if (pp->instart == pp->inend) {
		pp->instart = pp->inend = 0;
	} else if (PIPE_READ_CAP - pp->inend < PIPE_FRAME_MAX) {
		memmove(pp->in, pp->in + pp->instart, pp->inend - pp->instart);
		pp->inend -= pp->instart;
		pp->instart = 0;
	}
	return 0;
}

/* One connection's turn: writes the queries of the items TODO, and reads until every item asked
 * is over. Returns 0, or TERN_EIO / TERN_EMALF with err when the connection failed (*dropped: the
 * primary closed or reset it). */
static int pipe_round(struct pipe *pp, struct stream *st, bool *dropped, char *err, size_t errlen)
{
	const struct pull_peer *peer = pp->peer;
	short want_send = POLLOUT, want_recv = POLLIN; /* what each waits for (TLS: either, as it says) */
	char why[256];
	pp->outlen = pp->outpos = 0;
	pp->instart = pp->inend = 0;
	for (size_t i = 0; i < pp->n; i++) {
		struct pipe_item *s = &pp->it[i];
		if (s->state != PIPE_TODO)
			continue;
		memcpy(pp->out + pp->outlen, pp->queries + s->qoff, s->qlen);
		pp->outlen += s->qlen;
		s->state = PIPE_SENT;
		pp->outstanding++;
	}
	/* the queries written and the first message come within PULL_TCP_WAIT_MS, then each next
	 * message; a transfer begun ends within PULL_XFR_TOTAL_MS */
	struct pull_deadline d = deadline_in(PULL_TCP_WAIT_MS, "sending the queries and the first answer");
	while (pp->outstanding > 0) {
		struct pull_deadline by = d;
		for (size_t i = 0; i < pp->n; i++)
			if (pp->it[i].state == PIPE_BEGUN && pp->it[i].total.at < by.at)
				by = pp->it[i].total;
		short events = want_recv | (pp->outpos < pp->outlen ? want_send : 0);
		if (!stream_buffered(st) && wait_until(peer, st->fd, events, &by, err, errlen) < 0)
			return TERN_EIO;
		if (pp->outpos < pp->outlen) { /* written as the primary reads: it may answer meanwhile */
			ssize_t n = stream_send(peer, st, pp->out + pp->outpos, pp->outlen - pp->outpos, &want_send,
			                        why, sizeof(why));
			if (n < 0) {
				*dropped = true;
				snprintf(err, errlen, "%s: %s", peer->addr->text, why);
				return TERN_EIO;
			}
			if (n > 0) {
				pp->outpos += (size_t)n;
				want_send = POLLOUT;
			}
		}
		short blocked = 0;
		ssize_t n =
		    stream_recv(peer, st, pp->in + pp->inend, PIPE_READ_CAP - pp->inend, &blocked, why, sizeof(why));
		if (n < 0 && blocked) {
			want_recv = blocked;
			continue;
		}
		want_recv = POLLIN;
		if (n <= 0) {
			*dropped = true;
			snprintf(err, errlen, "%s: %s", peer->addr->text, why);
			return TERN_EIO;
		}
		pp->inend += (size_t)n;
		int rc = pipe_take(pp, &d, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (pp->instart != pp->inend)
		pp->tainted = true; /* more than was asked for */
	return 0;
}

/* The connection failed with err: what was asked on it is asked again (again) or fails. */
static void pipe_failed(struct pipe *pp, bool again, const char *err)
{
	for (size_t i = 0; i < pp->n; i++) {
		struct pipe_item *s = &pp->it[i];
		struct pull_item *it = &pp->items[i];
		if (s->state == PIPE_SENT && again) {
			s->state = PIPE_TODO;
			pp->outstanding--;
		} else if (s->state == PIPE_SENT || s->state == PIPE_TODO) {
			snprintf(it->err, it->errlen, "%s before the answer", err);
			pipe_end(pp, i, TERN_EIO);
		} else if (s->state == PIPE_BEGUN) {
			snprintf(it->err, it->errlen, "%s after %zu messages, %zu records: transfer incomplete", err,
			         xfrp_messages(s->p), xfrp_records(s->p));
			pipe_end(pp, i, TERN_EIO);
		}
	}
}

/* Builds each item's query with an ID no other item of the batch has. */
static void pipe_queries(struct pipe *pp)
{
	size_t at = 0;
	for (size_t i = 0; i < pp->n; i++) {
		struct pipe_item *s = &pp->it[i];
		struct pull_item *it = &pp->items[i];
		struct pull_peer signer = *pp->peer;
		signer.tsig = it->tsig;
		s->q = (struct xfrp_query){
		    .apex = it->apex,
		    .qtype = it->soa ? RR_IXFR : RR_AXFR,
		    .serial = it->soa ? wire_get32(it->soa->rdata + rr_soa_serial_offset(it->soa->rdata)) : 0,
		    .tsig = it->tsig,
		    .from = pp->peer->addr->text};
		for (bool taken = true; taken;) {
			s->q.id = query_id();
			taken = false;
			for (size_t k = 0; k < i; k++)
				taken |= pp->it[k].q.id == s->q.id;
		}
		int rc = build_query(&signer, pp->queries + at + 2, PULL_QUERY_MAX, &s->qlen, s->q.id, it->apex,
		                     s->q.qtype, it->soa, it->err, it->errlen);
		if (rc < 0) {
			pipe_end(pp, i, rc);
			continue;
		}
		wire_put16(pp->queries + at, (uint16_t)s->qlen);
		s->qoff = at;
		s->qlen += 2;
		at += s->qlen;
	}
}

void pull_pipeline(const struct pull_peer *peer, struct pull_item *items, size_t n)
{
	struct pipe pp = {.peer = peer, .items = items, .n = n};
	char err[512];
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		items[i].rc = TERN_EIO;
		items[i].res = (struct pull_ixfr_result){0};
		items[i].stats = (struct pull_stats){0};
	}
	pp.it = calloc(n, sizeof(*pp.it));
	pp.queries = malloc(n * (2 + PULL_QUERY_MAX));
	pp.out = malloc(n * (2 + PULL_QUERY_MAX));
	pp.in = malloc(PIPE_READ_CAP);
	if (!pp.it || !pp.queries || !pp.out || !pp.in) {
		for (size_t i = 0; i < n; i++) {
			items[i].rc = TERN_ENOMEM;
			snprintf(items[i].err, items[i].errlen, "out of memory");
		}
		goto out;
	}
	peer->conns->batches++;
	peer->conns->pipelined += n;
	pipe_queries(&pp);
	struct pull_conn *conn = conn_slot(peer->conns, peer);
	struct stream st = conn_take(conn);
	bool reused = st.fd >= 0;
	for (;;) {
		bool todo = false;
		for (size_t i = 0; i < n; i++)
			todo |= pp.it[i].state == PIPE_TODO;
		if (!todo)
			break;
		if (st.fd < 0) {
			struct pull_deadline d = deadline_in(PULL_TCP_WAIT_MS, "connecting");
			int rc = stream_open(peer, &st, &d, conn->session, err, sizeof(err));
			if (rc < 0) {
				pipe_failed(&pp, false, err);
				break;
			}
			peer->conns->opened++;
		}
		bool dropped = false;
		pp.progress = false;
		pp.tainted = false;
		if (pipe_round(&pp, &st, &dropped, err, sizeof(err)) == 0) {
			if (!pp.tainted) /* every answer ended cleanly: the connection may carry the next */
				conn_keep(conn, &st);
			break;
		}
		stream_close(&st);
		/* closed by the primary: what it did not begin to answer is asked again on a new connection,
		 * once when this one was kept from before and brought nothing (its idle timeout), and as
		 * long as each connection brings answers (a primary that takes so many queries a connection) */
		pipe_failed(&pp, dropped && (reused || pp.progress) && !stopped(peer), err);
		reused = false;
	}
	stream_close(&st);
out:
	if (pp.it)
		for (size_t i = 0; i < n; i++)
			xfrp_free(pp.it[i].p);
	free(pp.it);
	free(pp.queries);
	free(pp.out);
	free(pp.in);
}
