/* TCP transport (RFC 7766): one thread running an ev_ loop accepts, reads length-prefixed queries (several per
 * connection, answered in order), writes responses without ever blocking, and closes idle clients.
 *
 * Zone transfers are built by a thread of their own: building one reads the whole zone (or the
 * store's journal) and may take long for a big zone, and meanwhile every other client of the
 * epoll thread would wait. A connection's input from its first transfer question on goes to that
 * thread as one batch: up to TCP_XFR_BATCH_MSGS complete messages (transfers, and the queries
 * among them, in order), until the answers pass TCP_XFR_BATCH_BYTES, so a secondary pipelining
 * dozens of transfers costs one hand-over each way, not one per transfer. The connection is taken
 * out of the epoll set and out of the idle list while its batch is built (nothing else is read
 * from it, it cannot time out; the transfer thread reads its input in place), and comes back when
 * the transfer thread hands the answers over (an ev_async), concatenated frames the TCP thread
 * sends as any other output. Until the client has read them, nothing more is read or answered.
 *
 * Resources run short (RFC 7766 6.2): a client (an IPv4 address or an IPv6 /64, see clients.c)
 * holds at most tcp-max-clients-per-address connections, and a new one beyond that replaces its
 * own connection idle the longest; at tcp-max-clients in all, a new connection replaces the one
 * idle the longest of all. A connection whose answer is being built or written is never replaced:
 * only when every connection is busy is a new one refused. Above three quarters of the limit the
 * idle timeout is a quarter of tcp-idle-timeout.
 *
 * DNS over TLS (RFC 7858) and XoT (RFC 9103) are the same connections with a TLS layer: a
 * connection accepted on a server.tls.listen socket holds an SSL object (its only allocation
 * beyond TCP's) and reads and writes through it; everything above (pipelining, batches for the
 * transfer thread, making room, timeouts) is TCP's. Until its handshake is done it is in the
 * handshaking list, timed by server.tls.handshake-timeout, and in its client's idle list, so the
 * per-address limit applies before any handshake work: a client opening thousands of connections
 * and never finishing a handshake replaces its own, and other addresses are served. TLS records
 * already read and decrypted are not seen by epoll: after each event what the SSL object holds
 * is answered (conn_tls_pending). A reload's certificate comes as a new SSL_CTX, taken at the
 * next TLS accept (new handshakes use it; connections keep theirs), with the ticket keys of the
 * one before so sessions still resume. */
#include "ternd/net/tcp.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urcu-qsbr.h>
#include <openssl/err.h>

#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/base/clients.h"
#include "ternd/base/event.h"
#include "ternd/dnstap/dnstap.h"
#include "ternd/net/socket.h"
#include "ternd/net/tls.h"
#include "ternd/ns/query.h"
#include "ternd/ns/xfr.h"

#define TCP_MSG_MAX 65535
#define TCP_FRAME_MAX (2 + TCP_MSG_MAX)
#define TCP_IN_INITIAL 4096 /* first read buffer of a connection; grows once to a frame */
#define TCP_BATCH_CAP (3 * TCP_FRAME_MAX) /* responses handed to one send() */
#define TCP_XFR_BATCH_MSGS 64 /* messages in one batch for the transfer thread */
#define TCP_XFR_BATCH_BYTES (4u << 20) /* no message joins a batch whose answers are this big */
#define TCP_XFR_KEEP (1u << 20) /* a batch's output buffer up to this size is kept for the next */
#define TCP_ACCEPT_BURST 64 /* accepts per wakeup, so connected clients keep their turn */
#define TCP_ACCEPT_PAUSE_MS 100 /* after EMFILE and the like, instead of spinning */
#define TCP_LOG_INTERVAL_MS 10000 /* at most one line per interval about refused clients */
#define TCP_IDLE_DEFAULT_MS 10000
#define TCP_IDLE_SHORT_MIN_MS 1000 /* the idle timeout under pressure is never shorter */
#define TCP_FD_RESERVE 64 /* descriptors left to the rest of ternd (files, the API, transfers in) */
#define TCP_HANDSHAKE_DEFAULT_MS 5000

/* Where a connection is: its clock and whether it may be closed to make room follow from it. */
enum conn_where {
	CONN_NOWHERE, /* its batch is being built: no timeout, never closed to make room */
	CONN_IDLE, /* nothing to send: times out, and may be closed to make room */
	CONN_WRITING, /* an answer waits for the client to read it: times out, never closed to make room */
	CONN_DEAD, /* closed in this round of events; freed at its end */
	CONN_HANDSHAKE, /* TLS handshake under way: times out at handshake-timeout, may be closed to make room */
};

struct tcp_conn {
	struct ev_io io; /* active: watched for EPOLLIN, or EPOLLOUT while output waits */
	struct tcp *tcp;
	enum conn_where where;
	struct tcp_conn *prev, *next; /* in t->idle or t->writing (or t->dead), oldest since first */
	struct tcp_conn *cprev, *cnext; /* while idle: in its client's idle list, oldest since first */
	uint64_t since; /* monotonic ms: when it became idle, or began waiting to write */
	bool answered; /* a message was answered since it was last placed: its clock starts again */
	struct client *client;
	bool eof; /* the client sent everything: answer what is complete, then close */
	bool xfr_busy; /* its batch is being built: not watched, and out of the idle list */
	bool closing; /* answer nothing more: close once the output is sent */
	uint8_t *in; /* received bytes not answered yet, from a frame's start */
	size_t inlen, incap;
	uint8_t *out; /* responses the socket did not take yet */
	size_t outoff, outlen;
	int unacked; /* while writing: bytes the client had not acknowledged when its clock started */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct sockaddr_storage local; /* with dnstap: the address it was accepted on (else unset) */
	/* its batch, while xfr_busy: the transfer thread answers messages from in's start (written by
	 * no one else meanwhile), the TCP thread takes the answers */
	struct tcp_conn *xnext; /* in t->xfr_todo or t->xfr_done */
	size_t xused; /* bytes of in the batch answered */
	bool xclose; /* a message of the batch cannot be answered: close after the answers */
	struct xfr_out xout; /* the answers, as frames */
	SSL *ssl; /* a TLS connection's (server.tls.listen); NULL for plain TCP */
	uint8_t tls; /* enum config_tls_need its finished handshake proved (CONFIG_TLS_ANY: plain TCP) */
	bool tls_failed; /* a fatal TLS error: no close_notify (OpenSSL forbids SSL_shutdown after one) */
	bool tls_more; /* the input buffer filled before OpenSSL ran out: it may hold more (conn_tls_pending) */
};

struct tcp_list {
	struct tcp_conn *head, *tail;
};

struct tcp {
	struct server *srv;
	struct stats_block *stats;
	struct dnstap_ring *dnstap, *xfr_dnstap; /* each thread's dnstap ring; NULL: dnstap off */
	_Atomic uint64_t idle_ms; /* tcp_reload() may change it, and max_per_client */
	size_t max_clients; /* 0: no limit */
	_Atomic size_t max_per_client;
	struct ev_loop *loop; /* the TCP thread's: listeners, connections, built transfers, deadlines */
	struct ev_thread thread;
	struct ev_io *listeners; /* plain TCP first, then nplain on the TLS ones */
	size_t nlisteners, nplain;
	SSL_CTX *tls_ctx; /* the TLS listeners' context: the thread's own */
	_Atomic(SSL_CTX *) tls_next; /* a reload's context, taken at the next TLS accept */
	_Atomic uint64_t handshake_ms; /* server.tls.handshake-timeout */
	struct ev_timer deadline; /* the next idle timeout or end of an accept pause */
	struct ev_async xfr_built; /* the transfer thread built one */
	/* the transfer thread: jobs to build (FIFO) and built, under xfr_lock */
	struct ev_loop *xfr_loop;
	struct ev_thread xfr_thread;
	struct ev_async xfr_job; /* a job was queued */
	pthread_mutex_t xfr_lock;
	struct tcp_conn *xfr_todo, **xfr_todo_tail, *xfr_done;
	struct stats_block *xfr_stats;
	struct query_guard *guard, *xfr_guard; /* the clock and cookie keys of each thread (no RRL on TCP) */
	/* below: used by the thread only while it runs */
	struct tcp_list idle, writing, handshaking; /* by since: oldest first */
	struct tcp_conn *dead; /* closed in this round of events, through next */
	struct clients *clients;
	size_t nconns;
	uint64_t accept_resume; /* accepting paused until then; 0 = not paused */
	uint64_t accept_log_at; /* next time an accept error may be logged */
	/* since the last log line about them: */
	uint64_t refused; /* new connections closed at once: every connection of theirs busy */
	uint64_t replaced_own; /* idle connections closed for a new one from the same client */
	uint64_t replaced_any; /* idle connections closed for a new one at tcp-max-clients */
	uint64_t handshakes_failed, handshakes_expired; /* TLS */
	uint64_t limit_log_at; /* next time the above may be logged */
	uint8_t *batch; /* TCP_BATCH_CAP bytes of responses being written */
	struct xfr_out xfr_spare; /* a batch's output buffer, sent, for the next batch */
};

/* ---- where connections are: the idle list, the writing list, each client's idle list ---- */

static void list_remove(struct tcp_list *l, struct tcp_conn *c)
{
	if (l->head == c)
		l->head = c->next;
	else
		c->prev->next = c->next;
	if (l->tail == c)
		l->tail = c->prev;
	else
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct tcp_list *l, struct tcp_conn *c)
{
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static void client_idle_remove(struct client *cl, struct tcp_conn *c)
{
	if (cl->idle_head == c)
		cl->idle_head = c->cnext;
	else
		c->cprev->cnext = c->cnext;
	if (cl->idle_tail == c)
		cl->idle_tail = c->cprev;
	else
		c->cnext->cprev = c->cprev;
	c->cprev = c->cnext = NULL;
}

static void client_idle_append(struct client *cl, struct tcp_conn *c)
{
	c->cprev = cl->idle_tail;
	c->cnext = NULL;
	if (cl->idle_tail)
		cl->idle_tail->cnext = c;
	else
		cl->idle_head = c;
	cl->idle_tail = c;
}

static void conn_detach(struct tcp *t, struct tcp_conn *c)
{
	if (c->where == CONN_IDLE) {
		list_remove(&t->idle, c);
		client_idle_remove(c->client, c);
	} else if (c->where == CONN_WRITING) {
		list_remove(&t->writing, c);
	} else if (c->where == CONN_HANDSHAKE) {
		list_remove(&t->handshaking, c);
		client_idle_remove(c->client, c);
	}
	c->where = CONN_NOWHERE;
}

/* Bytes written to c's socket that the client has not acknowledged yet (sent or not), or -1. */
static int conn_unacked(const struct tcp_conn *c)
{
	int n;
	return ioctl(c->io.fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* Moves c to where; its clock starts again when it moves or answered a message. Every list stays
 * ordered by since, for it is appended with now. */
static void conn_place(struct tcp *t, struct tcp_conn *c, enum conn_where where, uint64_t now)
{
	if (c->where == where && !c->answered)
		return;
	conn_detach(t, c);
	c->answered = false;
	c->since = now;
	c->where = where;
	if (where == CONN_IDLE) {
		list_append(&t->idle, c);
		client_idle_append(c->client, c);
	} else if (where == CONN_WRITING) {
		list_append(&t->writing, c);
		c->unacked = conn_unacked(c);
	} else if (where == CONN_HANDSHAKE) {
		list_append(&t->handshaking, c);
		client_idle_append(c->client, c);
	}
}

/* Closes c at once (no event reaches it any more); its memory lives until the end of this round
 * of events, for the callbacks still running may hold it. */
static void conn_close(struct tcp *t, struct tcp_conn *c)
{
	if (c->ssl) {
		/* close_notify after a finished handshake, best effort (the socket does not block) */
		if (c->where != CONN_HANDSHAKE && !c->tls_failed && SSL_is_init_finished(c->ssl))
			(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	conn_detach(t, c);
	ev_io_close(t->loop, &c->io);
	free(c->in);
	free(c->out);
	free(c->xout.buf);
	c->in = c->out = c->xout.buf = NULL;
	c->client->conns--;
	clients_put(t->clients, c->client);
	c->client = NULL;
	c->where = CONN_DEAD;
	c->next = t->dead;
	t->dead = c;
	t->nconns--;
}

static void conn_free_dead(struct tcp *t)
{
	while (t->dead) {
		struct tcp_conn *c = t->dead;
		t->dead = c->next;
		free(c);
	}
}

/* The idle timeout: a quarter of the configured one (at least TCP_IDLE_SHORT_MIN_MS) above three
 * quarters of tcp-max-clients, so idle clients make room before new ones must replace them. */
static uint64_t tcp_idle_ms(const struct tcp *t)
{
	if (!t->max_clients || t->nconns * 4 < t->max_clients * 3)
		return t->idle_ms;
	uint64_t quarter = t->idle_ms / 4;
	uint64_t floor = t->idle_ms < TCP_IDLE_SHORT_MIN_MS ? t->idle_ms : TCP_IDLE_SHORT_MIN_MS;
	return quarter > floor ? quarter : floor;
}

/* ---- reading, answering, writing ---- */

static void on_conn(struct ev_loop *loop, struct ev_io *io, uint32_t events);

/* Watches c for events (EPOLLIN or EPOLLOUT), or, with 0, stops watching it (watched for nothing,
 * hang-ups and errors would still be reported). */
static int conn_watch(struct tcp *t, struct tcp_conn *c, uint32_t events)
{
	if (!events) {
		ev_io_stop(t->loop, &c->io);
		return 0;
	}
	if (!c->io.active)
		return ev_io_start(t->loop, &c->io, c->io.fd, events, on_conn, c) < 0 ? -1 : 0;
	return ev_io_modify(t->loop, &c->io, events) < 0 ? -1 : 0;
}

/* Hands c's input, a transfer question first, to the transfer thread as one batch; c waits, out
 * of the idle list. */
static void xfr_submit(struct tcp *t, struct tcp_conn *c)
{
	c->xused = 0;
	c->xclose = false;
	c->xout = t->xfr_spare;
	t->xfr_spare = (struct xfr_out){0};
	c->xout.len = 0;
	c->xfr_busy = true;
	conn_detach(t, c); /* no timeout, and not closed to make room, while it is built */
	c->xnext = NULL;
	pthread_mutex_lock(&t->xfr_lock);
	*t->xfr_todo_tail = c;
	t->xfr_todo_tail = &c->xnext;
	pthread_mutex_unlock(&t->xfr_lock);
	ev_async_send(&t->xfr_job);
}

/* Answers one message that is not a transfer (a query among pipelined transfers) into c->xout, as
 * the TCP thread would. Returns 1, or 0 when it must not be answered (the stream cannot be
 * trusted), or a negative TERN_E*. */
static int xfr_query(struct tcp *t, struct tcp_conn *c, const uint8_t *msg, size_t len,
                     const struct query_client *client)
{
	struct xfr_out *o = &c->xout;
	if (o->cap - o->len < TCP_FRAME_MAX) {
		size_t ncap = o->cap ? o->cap * 2 : 65536;
		while (ncap - o->len < TCP_FRAME_MAX)
			ncap *= 2;
		uint8_t *nb = realloc(o->buf, ncap);
		if (!nb)
			return TERN_ENOMEM;
		o->buf = nb;
		o->cap = ncap;
	}
	size_t rlen = query_process(t->srv, msg, len, o->buf + o->len + 2, TCP_MSG_MAX, client);
	if (rlen == 0)
		return 0;
	o->buf[o->len] = (uint8_t)(rlen >> 8);
	o->buf[o->len + 1] = (uint8_t)rlen;
	o->len += 2 + rlen;
	return 1;
}

/* Builds c's batch: its complete messages in order, each answered as it would be alone, until
 * TCP_XFR_BATCH_MSGS of them or TCP_XFR_BATCH_BYTES of answers. */
static void xfr_build(struct tcp *t, struct tcp_conn *c)
{
	struct query_client client = {.addr = (const struct sockaddr *)&c->addr,
	                              .addrlen = c->addrlen,
	                              .proto = PROTO_TCP,
	                              .stats = t->xfr_stats,
	                              .guard = t->xfr_guard,
	                              .tls = c->tls,
	                              .dnstap = t->xfr_dnstap,
	                              .local = (const struct sockaddr *)&c->local};
	query_guard_tick(t->xfr_guard);
	size_t pos = 0, n = 0;
	while (n < TCP_XFR_BATCH_MSGS && c->xout.len < TCP_XFR_BATCH_BYTES && c->inlen - pos >= 2) {
		size_t len = (size_t)c->in[pos] << 8 | c->in[pos + 1];
		if (len == 0) { /* nothing to answer: a broken client */
			c->xclose = true;
			break;
		}
		if (c->inlen - pos - 2 < len)
			break;
		const uint8_t *msg = c->in + pos + 2;
		int r = xfr_answer(t->srv, msg, len, &client, &c->xout);
		if (r == 0)
			r = xfr_query(t, c, msg, len, &client);
		pos += 2 + len;
		n++;
		if (r <= 0) { /* out of memory, or a message not to answer */
			c->xclose = true;
			break;
		}
	}
	c->xused = pos;
	if (t->xfr_stats) {
		stats_bump(&t->xfr_stats->xfr_batches);
		atomic_store_explicit(&t->xfr_stats->xfr_batched,
		                      atomic_load_explicit(&t->xfr_stats->xfr_batched, memory_order_relaxed) + n,
		                      memory_order_relaxed);
	}
}

/* The transfer thread (an RCU reader only while it builds): one batch per wake-up, and a wake-up
 * of its own while more wait, so a stop waits for one batch at most. */
static void xfr_build_next(struct ev_loop *loop, struct ev_async *a)
{
	(void)loop;
	struct tcp *t = a->arg;
	pthread_mutex_lock(&t->xfr_lock);
	struct tcp_conn *c = t->xfr_todo;
	if (c) {
		t->xfr_todo = c->xnext;
		if (!t->xfr_todo)
			t->xfr_todo_tail = &t->xfr_todo;
	}
	bool more = t->xfr_todo != NULL;
	pthread_mutex_unlock(&t->xfr_lock);
	if (!c)
		return;
	rcu_thread_online();
	xfr_build(t, c);
	rcu_thread_offline();
	pthread_mutex_lock(&t->xfr_lock);
	c->xnext = t->xfr_done;
	t->xfr_done = c;
	pthread_mutex_unlock(&t->xfr_lock);
	ev_async_send(&t->xfr_built);
	if (more)
		ev_async_send(a);
}

/* Sends what the socket takes. Returns 0 when all went, 1 when the socket would block, -1 when
 * the connection is broken; *sent says how much went. */
static int conn_send(struct tcp_conn *c, const uint8_t *buf, size_t len, size_t *sent)
{
	*sent = 0;
	/* TLS: a write that would block is retried with the same bytes from where they wait (c->out),
	 * as OpenSSL wants (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move) */
	while (c->ssl && *sent < len) {
		size_t chunk = len - *sent > INT_MAX ? INT_MAX : len - *sent;
		ERR_clear_error();
		int n = SSL_write(c->ssl, buf + *sent, (int)chunk);
		if (n > 0) {
			*sent += (size_t)n;
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
			return 1;
		c->tls_failed = true;
		return -1;
	}
	while (*sent < len) {
		ssize_t n = send(c->io.fd, buf + *sent, len - *sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		*sent += (size_t)n;
	}
	return 0;
}

/* Answers every complete message in the input, in order, a batch per send(); stops early when the
 * socket would block (the rest of the batch waits in c->out) or a message asks to close. Returns
 * -1 when the connection must be closed now. */
static int conn_answer(struct tcp *t, struct tcp_conn *c)
{
	struct query_client client = {.addr = (const struct sockaddr *)&c->addr,
	                              .addrlen = c->addrlen,
	                              .proto = PROTO_TCP,
	                              .stats = t->stats,
	                              .guard = t->guard,
	                              .tls = c->tls,
	                              .dnstap = t->dnstap,
	                              .local = (const struct sockaddr *)&c->local};
	query_guard_tick(t->guard);
	size_t pos = 0;
	int rc = 0;
	bool xfr = false;
	while (!c->closing && c->outlen == 0) {
		size_t used = 0;
		while (TCP_BATCH_CAP - used >= TCP_FRAME_MAX && c->inlen - pos >= 2) {
			size_t len = (size_t)c->in[pos] << 8 | c->in[pos + 1];
			if (len == 0) { /* nothing to answer: a broken client */
				c->closing = true;
				break;
			}
			if (c->inlen - pos - 2 < len)
				break;
			if (xfr_is_transfer(c->in + pos + 2, len)) {
				if (used > 0)
					break; /* send what is answered first */
				/* a zone transfer: the rest goes to the transfer thread (xfr_built() goes on) */
				xfr = true;
				goto done;
			}
			size_t rlen =
			    query_process(t->srv, c->in + pos + 2, len, t->batch + used + 2, TCP_MSG_MAX, &client);
			pos += 2 + len;
			if (rlen == 0) { /* no answer: a response, or garbage; the stream cannot be trusted */
				c->closing = true;
				break;
			}
			t->batch[used] = (uint8_t)(rlen >> 8);
			t->batch[used + 1] = (uint8_t)rlen;
			used += 2 + rlen;
		}
		if (used == 0)
			break;
		c->answered = true;
		size_t sent;
		int r = conn_send(c, t->batch, used, &sent);
		if (r < 0) {
			rc = -1;
			break;
		}
		if (r > 0) {
			c->out = malloc(used - sent);
			if (!c->out) {
				rc = -1;
				break;
			}
			memcpy(c->out, t->batch + sent, used - sent);
			c->outoff = 0;
			c->outlen = used - sent;
		}
	}
done:
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->inlen - pos);
		c->inlen -= pos;
	}
	if (xfr)
		xfr_submit(t, c);
	return rc;
}

/* After answering: wait for the socket to take the output, or for more input, or close. */
static int conn_next(struct tcp *t, struct tcp_conn *c, uint64_t now)
{
	if (c->xfr_busy) {
		conn_place(t, c, CONN_NOWHERE, now);
		return conn_watch(t, c, 0);
	}
	if (c->outlen > 0) {
		conn_place(t, c, CONN_WRITING, now);
		return conn_watch(t, c, EPOLLOUT);
	}
	if (c->closing || c->eof)
		return -1;
	conn_place(t, c, CONN_IDLE, now);
	return conn_watch(t, c, EPOLLIN);
}

/* Reads what the socket holds into the room left in c's input. Returns 1 when something came (or
 * the end of the stream), 0 when nothing did, -1 when the connection is broken. */
static int conn_recv(struct tcp_conn *c)
{
	if (c->inlen == c->incap)
		return 0;
	if (c->ssl) {
		/* every record OpenSSL can give (it reads ahead: one read() for many of them), so a
		 * client's pipelined queries are answered as one batch, as over TCP */
		bool got_any = false;
		c->tls_more = false;
		while (c->inlen < c->incap) {
			ERR_clear_error();
			int got = SSL_read(c->ssl, c->in + c->inlen, (int)(c->incap - c->inlen));
			if (got > 0) {
				c->inlen += (size_t)got;
				got_any = true;
				continue;
			}
			switch (SSL_get_error(c->ssl, got)) {
			case SSL_ERROR_WANT_READ:
			case SSL_ERROR_WANT_WRITE: return got_any ? 1 : 0;
			case SSL_ERROR_ZERO_RETURN:
				c->eof = true;
				return 1; /* close_notify, or EOF (IGNORE_UNEXPECTED_EOF) */
			default: c->tls_failed = true; return -1;
			}
		}
		c->tls_more = true;
		return 1;
	}
	ssize_t n = recv(c->io.fd, c->in + c->inlen, c->incap - c->inlen, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -1;
	}
	if (n == 0)
		c->eof = true; /* a partial message left in the buffer is dropped */
	c->inlen += (size_t)n;
	return 1;
}

static int conn_read(struct tcp *t, struct tcp_conn *c, uint64_t now)
{
	if (!c->in) {
		c->in = malloc(TCP_IN_INITIAL);
		if (!c->in)
			return -1;
		c->incap = TCP_IN_INITIAL;
		c->inlen = 0;
	}
	if (c->inlen >= 2 && c->incap < TCP_FRAME_MAX && 2 + ((size_t)c->in[0] << 8 | c->in[1]) > c->incap) {
		/* a message bigger than the buffer: grow once, to the largest frame */
		uint8_t *in = realloc(c->in, TCP_FRAME_MAX);
		if (!in)
			return -1;
		c->in = in;
		c->incap = TCP_FRAME_MAX;
	}
	if (c->inlen == c->incap) /* cannot happen: complete messages were answered before */
		return -1;
	int r = conn_recv(c);
	if (r <= 0)
		return r;
	if (conn_answer(t, c) < 0)
		return -1;
	return conn_next(t, c, now);
}

static int conn_drain(struct tcp *t, struct tcp_conn *c, uint64_t now)
{
	size_t sent;
	int r = conn_send(c, c->out + c->outoff, c->outlen - c->outoff, &sent);
	if (r < 0)
		return -1;
	c->outoff += sent;
	if (r > 0) {
		/* the client reads: its clock starts again, so a big transfer read slowly but steadily
		 * is not cut at the idle timeout (one not read at all for that long still is) */
		if (sent > 0) {
			c->answered = true;
			conn_place(t, c, CONN_WRITING, now);
		}
		return 0;
	}
	free(c->out); /* held only while a client is slow to read */
	c->out = NULL;
	c->outoff = c->outlen = 0;
	/* messages that arrived while the output waited, and from a client with more in flight what
	 * the socket holds of it */
	if (c->inlen && !c->eof && !c->closing && conn_recv(c) < 0)
		return -1;
	if (conn_answer(t, c) < 0)
		return -1;
	return conn_next(t, c, now);
}

/* TLS: what OpenSSL read ahead is not seen by epoll. When the input buffer filled before OpenSSL
 * ran out, read on while the connection waits for input (each read either fills the room the
 * answers made, or finds OpenSSL empty and clears tls_more: no loop without end). */
static int conn_tls_pending(struct tcp *t, struct tcp_conn *c, uint64_t now)
{
	while (c->ssl && c->where == CONN_IDLE && c->tls_more)
		if (conn_read(t, c, now) < 0)
			return -1;
	return 0;
}

/* One step of a TLS handshake; done, the connection waits for queries with a fresh clock. */
static int conn_handshake(struct tcp *t, struct tcp_conn *c, uint64_t now)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r != 1) {
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return conn_watch(t, c, EPOLLIN);
		if (e == SSL_ERROR_WANT_WRITE)
			return conn_watch(t, c, EPOLLOUT);
		t->handshakes_failed++;
		return -1;
	}
	c->tls = tls_conn_level(c->ssl);
	conn_place(t, c, CONN_IDLE, now);
	if (conn_watch(t, c, EPOLLIN) < 0)
		return -1;
	/* queries read ahead with the handshake's last records: epoll will not say so */
	if (SSL_has_pending(c->ssl))
		return conn_read(t, c, now);
	return 0;
}

/* Batches built: each connection gets its answers (what the socket does not take waits in
 * c->out), then the messages after the batch are answered, and it is watched again. */
static void xfr_built(struct ev_loop *loop, struct ev_async *a)
{
	struct tcp *t = a->arg;
	uint64_t now = ev_now(loop);
	pthread_mutex_lock(&t->xfr_lock);
	struct tcp_conn *c = t->xfr_done;
	t->xfr_done = NULL;
	pthread_mutex_unlock(&t->xfr_lock);
	while (c) {
		struct tcp_conn *next = c->xnext;
		c->xnext = NULL;
		c->xfr_busy = false;
		c->answered = true; /* conn_next() puts it back with a fresh clock */
		memmove(c->in, c->in + c->xused, c->inlen - c->xused);
		c->inlen -= c->xused;
		if (c->xclose)
			c->closing = true;
		struct xfr_out o = c->xout;
		c->xout = (struct xfr_out){0};
		int r = -1;
		size_t sent;
		int sr = conn_send(c, o.buf, o.len, &sent);
		if (sr == 0) { /* all sent: its buffer serves the next batch */
			if (o.cap <= TCP_XFR_KEEP && o.cap > t->xfr_spare.cap) {
				free(t->xfr_spare.buf);
				t->xfr_spare = o;
			} else {
				free(o.buf);
			}
			/* then the messages after the batch; from a client with more in flight (a message
			 * or part of one waits) with what came meanwhile, so its next batch is as full as
			 * the input buffer allows */
			if ((!c->inlen || c->eof || c->closing || conn_recv(c) >= 0) && conn_answer(t, c) >= 0)
				r = conn_next(t, c, now);
		} else if (sr > 0) {
			c->out = o.buf;
			c->outoff = sent;
			c->outlen = o.len;
			r = conn_next(t, c, now);
		} else {
			free(o.buf);
		}
		if (r >= 0)
			r = conn_tls_pending(t, c, now);
		if (r < 0)
			conn_close(t, c);
		c = next;
	}
}

/* ---- accepting ---- */

static void on_listener(struct ev_loop *loop, struct ev_io *io, uint32_t events);

/* Watches the listeners, or stops watching them. */
static void tcp_listen_all(struct tcp *t, bool on)
{
	for (size_t i = 0; i < t->nlisteners; i++) {
		struct ev_io *io = &t->listeners[i];
		if (!on)
			ev_io_stop(t->loop, io);
		else if (!io->active && ev_io_start(t->loop, io, io->fd, EPOLLIN, on_listener, t) < 0)
			log_error("tcp: cannot watch a listener: %s", strerror(errno));
	}
}

/* Out of descriptors or memory: the listeners stay readable, so stop watching them for a while
 * rather than spin. Connected clients are served meanwhile and may free descriptors. */
static void tcp_pause_accept(struct tcp *t, int error, uint64_t now)
{
	if (now >= t->accept_log_at) {
		char ebuf[128];
		log_warning("tcp: cannot accept connections: %s (%zu clients); pausing accepts",
		            strerror_r(error, ebuf, sizeof(ebuf)), t->nconns);
		t->accept_log_at = now + TCP_LOG_INTERVAL_MS;
	}
	tcp_listen_all(t, false);
	t->accept_resume = now + TCP_ACCEPT_PAUSE_MS;
}

/* Logs, at most once per TCP_LOG_INTERVAL_MS, what making room cost since the last line. */
static void tcp_log_limits(struct tcp *t, uint64_t now)
{
	if (now < t->limit_log_at ||
	    !(t->refused || t->replaced_own || t->replaced_any || t->handshakes_failed || t->handshakes_expired))
		return;
	if (t->handshakes_failed || t->handshakes_expired)
		log_info("tls: since the last report, %" PRIu64 " handshake(s) failed, %" PRIu64
		         " not done within server.tls.handshake-timeout",
		         t->handshakes_failed, t->handshakes_expired);
	t->handshakes_failed = t->handshakes_expired = 0;
	if (!(t->refused || t->replaced_own || t->replaced_any)) {
		t->limit_log_at = now + TCP_LOG_INTERVAL_MS;
		return;
	}
	log_warning("tcp: %zu clients from %zu addresses (limits %zu, %zu per address): since the last report, "
	            "%" PRIu64 " idle connection(s) closed for a new one from the same address, %" PRIu64
	            " closed for a new one at the limit, %" PRIu64 " new connection(s) refused (all busy)",
	            t->nconns, clients_count(t->clients), t->max_clients, t->max_per_client, t->replaced_own,
	            t->replaced_any, t->refused);
	t->refused = t->replaced_own = t->replaced_any = 0;
	t->limit_log_at = now + TCP_LOG_INTERVAL_MS;
}

/* No room that an idle connection could give up: reset the new connection at once (no TIME_WAIT
 * kept here), so the client can try another server, and the clients connected keep being served. */
static void tcp_refuse(struct tcp *t, int fd, uint64_t now)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	t->refused++;
	tcp_log_limits(t, now);
}

/* The connection to close to make room: a TLS handshake not done (the oldest), else the
 * connection idle the longest; NULL when every one is busy. */
static struct tcp_conn *conn_oldest_idle(struct tcp *t)
{
	return t->handshaking.head ? t->handshaking.head : t->idle.head;
}

/* Makes room for a new connection from cl (already counted in cl->conns): beyond its own limit it
 * gives up its connection idle the longest, and at tcp-max-clients the connection idle the
 * longest of all goes (RFC 7766 6.2). Returns false when only busy connections could make room. */
static bool tcp_make_room(struct tcp *t, struct client *cl)
{
	if (cl->conns > t->max_per_client) {
		if (!cl->idle_head)
			return false;
		conn_close(t, cl->idle_head); /* cl keeps the new connection's count: it stays */
		t->replaced_own++;
	}
	if (t->max_clients && t->nconns >= t->max_clients) {
		struct tcp_conn *victim = conn_oldest_idle(t);
		if (!victim)
			return false;
		conn_close(t, victim);
		t->replaced_any++;
	}
	return true;
}

/* The context new TLS connections take: a reload's, once one came (with the tickets of the one
 * before, so their sessions resume). */
static SSL_CTX *tcp_tls_ctx(struct tcp *t)
{
	SSL_CTX *next = atomic_exchange(&t->tls_next, NULL);
	if (next) {
		if (t->tls_ctx) {
			tls_keep_tickets(t->tls_ctx, next);
			SSL_CTX_free(t->tls_ctx); /* connections made with it hold their own reference */
		}
		t->tls_ctx = next;
	}
	return t->tls_ctx;
}

static int conn_new(struct tcp *t, int fd, const struct sockaddr_storage *addr, socklen_t addrlen, struct client *cl,
                    bool tls, uint64_t now)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->tcp = t;
	c->addr = *addr;
	c->addrlen = addrlen;
	socklen_t ll = sizeof(c->local); /* one call per connection, none per query */
	if (t->dnstap && getsockname(fd, (struct sockaddr *)&c->local, &ll) < 0)
		c->local.ss_family = AF_UNSPEC;
	if (tls) {
		SSL_CTX *ctx = tcp_tls_ctx(t);
		if (!ctx || !(c->ssl = SSL_new(ctx)) || SSL_set_fd(c->ssl, fd) != 1) {
			SSL_free(c->ssl);
			ERR_clear_error();
			free(c);
			errno = ENOMEM;
			return -1;
		}
		SSL_set_accept_state(c->ssl);
	}
	if (ev_io_start(t->loop, &c->io, fd, EPOLLIN, on_conn, c) < 0) {
		SSL_free(c->ssl);
		free(c);
		return -1;
	}
	/* responses are written whole; do not let Nagle hold back the next one */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->client = cl;
	conn_place(t, c, c->ssl ? CONN_HANDSHAKE : CONN_IDLE, now);
	t->nconns++;
	return 0;
}

/* Accepts up to TCP_ACCEPT_BURST connections, then lets the connected clients have their turn;
 * the listener is level-triggered, so what is left in its queue wakes the next round at once. */
static void tcp_accept(struct tcp *t, int lfd, bool tls, uint64_t now)
{
	for (int i = 0; i < TCP_ACCEPT_BURST; i++) {
		struct sockaddr_storage addr;
		socklen_t addrlen = sizeof(addr);
		int fd = accept4(lfd, (struct sockaddr *)&addr, &addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			if (e == EAGAIN || e == EWOULDBLOCK)
				break;
			/* the connection died in the queue (see accept(2)): try the next one */
			if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM || e == ENETDOWN ||
			    e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP ||
			    e == ENETUNREACH)
				continue;
			/* out of descriptors: an idle connection gives its own up (RFC 7766 6.2) */
			if ((e == EMFILE || e == ENFILE) && conn_oldest_idle(t)) {
				conn_close(t, conn_oldest_idle(t));
				t->replaced_any++;
				continue;
			}
			tcp_pause_accept(t, e, now); /* nothing idle to close, ENOBUFS, ENOMEM */
			break;
		}
		struct client *cl = clients_get(t->clients, (const struct sockaddr *)&addr);
		if (!cl) { /* out of memory */
			tcp_refuse(t, fd, now);
			continue;
		}
		cl->conns++; /* counted before making room, so making room cannot forget cl */
		if (!tcp_make_room(t, cl)) {
			cl->conns--;
			clients_put(t->clients, cl);
			tcp_refuse(t, fd, now);
			continue;
		}
		if (conn_new(t, fd, &addr, addrlen, cl, tls, now) < 0) {
			int e = errno;
			cl->conns--;
			clients_put(t->clients, cl);
			close(fd);
			tcp_pause_accept(t, e, now);
			break;
		}
	}
	tcp_log_limits(t, now);
}

/* ---- the thread ---- */

/* Milliseconds until the next deadline (a connection's or the end of an accept pause), or -1. */
static int tcp_timeout(const struct tcp *t, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	if (t->idle.head)
		next = t->idle.head->since + tcp_idle_ms(t);
	if (t->writing.head && t->writing.head->since + t->idle_ms < next)
		next = t->writing.head->since + t->idle_ms;
	if (t->handshaking.head && t->handshaking.head->since + t->handshake_ms < next)
		next = t->handshaking.head->since + t->handshake_ms;
	if (t->accept_resume && t->accept_resume < next)
		next = t->accept_resume;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	uint64_t ms = next - now;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void tcp_expire(struct tcp *t, uint64_t now)
{
	while (t->handshaking.head && t->handshaking.head->since + t->handshake_ms <= now) {
		conn_close(t, t->handshaking.head);
		t->handshakes_expired++;
	}
	while (t->idle.head && t->idle.head->since + tcp_idle_ms(t) <= now)
		conn_close(t, t->idle.head);
	while (t->writing.head && t->writing.head->since + t->idle_ms <= now) {
		/* The socket may not have become writable for a whole timeout while the client reads
		 * steadily: the kernel wakes a writer only once half its queue is free, which a big
		 * queue read slowly takes long to reach. What the client acknowledged meanwhile is its
		 * progress; one that took nothing is cut. */
		struct tcp_conn *c = t->writing.head;
		int unacked = conn_unacked(c);
		if (unacked >= 0 && unacked < c->unacked) {
			c->answered = true;
			conn_place(t, c, CONN_WRITING, now);
			continue;
		}
		conn_close(t, c);
	}
	if (t->accept_resume && now >= t->accept_resume) {
		t->accept_resume = 0;
		tcp_listen_all(t, true);
	}
}

static void on_listener(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)events;
	struct tcp *t = io->arg;
	/* a stale event after the listeners were paused in this round cannot come: ev_io_stop() */
	if (!t->accept_resume)
		tcp_accept(t, io->fd, (size_t)(io - t->listeners) >= t->nplain, ev_now(loop));
}

static void on_conn(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)events;
	struct tcp_conn *c = io->arg;
	struct tcp *t = c->tcp;
	/* a connection closed earlier in this round (to make room) gets no event: ev_io_close() */
	uint64_t now = ev_now(loop);
	int r;
	if (c->where == CONN_HANDSHAKE)
		r = conn_handshake(t, c, now);
	else
		r = c->outlen > 0 ? conn_drain(t, c, now) : conn_read(t, c, now);
	if (r >= 0)
		r = conn_tls_pending(t, c, now);
	if (r < 0)
		conn_close(t, c);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *tm)
{
	tcp_expire(tm->arg, ev_now(loop));
}

/* After each round: timeouts, the memory of connections closed, and the timer for the next. */
static void after_round(struct ev_loop *loop, void *arg)
{
	struct tcp *t = arg;
	uint64_t now = ev_now(loop);
	tcp_expire(t, now);
	conn_free_dead(t); /* no callback of this round holds them any more */
	int ms = tcp_timeout(t, now);
	if (ms < 0)
		ev_timer_cancel(loop, &t->deadline);
	else
		ev_timer_at(loop, &t->deadline, now + (uint64_t)ms);
}

/* ---- start and stop ---- */

/* Stops the transfer thread (a transfer being built is finished first; the jobs left are freed
 * with their connections). */
static void xfr_stop(struct tcp *t)
{
	ev_thread_stop(&t->xfr_thread);
}

/* tcp-max-clients, or fewer when the descriptor limit (main.c raised it as far as it may) cannot
 * hold that many besides the TCP_FD_RESERVE the rest of ternd needs. */
static size_t tcp_fd_cap(size_t max_clients)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= (rlim_t)max_clients + 2 * TCP_FD_RESERVE)
		return max_clients;
	size_t cap = rl.rlim_cur > 3 * TCP_FD_RESERVE ? (size_t)rl.rlim_cur - 2 * TCP_FD_RESERVE : TCP_FD_RESERVE;
	if (cap >= max_clients)
		return max_clients;
	log_warning("tcp: at most %zu clients instead of tcp-max-clients %zu: the descriptor limit is %llu", cap,
	            max_clients, (unsigned long long)rl.rlim_cur);
	return cap;
}

static void tcp_free(struct tcp *t)
{
	while (t->idle.head)
		conn_close(t, t->idle.head);
	while (t->writing.head)
		conn_close(t, t->writing.head);
	while (t->handshaking.head)
		conn_close(t, t->handshaking.head);
	/* connections whose batch was handed over, built or not: in no list but these */
	struct tcp_conn *lists[2] = {t->xfr_todo, t->xfr_done};
	for (int i = 0; i < 2; i++)
		for (struct tcp_conn *c = lists[i], *next; c; c = next) {
			next = c->xnext;
			conn_close(t, c);
		}
	conn_free_dead(t);
	clients_free(t->clients);
	pthread_mutex_destroy(&t->xfr_lock);
	for (size_t i = 0; i < t->nlisteners; i++)
		close(t->listeners[i].fd);
	ev_free(t->loop);
	ev_free(t->xfr_loop);
	free(t->listeners);
	free(t->batch);
	free(t->xfr_spare.buf);
	query_guard_free(t->guard);
	query_guard_free(t->xfr_guard);
	dnstap_ring_give(t->dnstap);
	dnstap_ring_give(t->xfr_dnstap);
	SSL_CTX_free(t->tls_ctx);
	SSL_CTX_free(atomic_load(&t->tls_next));
	free(t);
}

int tcp_start(struct server *srv, const struct config *conf, struct dns_sockets *socks, struct tcp **out, char *err,
              size_t errlen)
{
	char ebuf[128];
	int rc = TERN_ENOMEM;
	struct tcp *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "tcp: out of memory");
		return TERN_ENOMEM;
	}
	t->srv = srv;
	t->stats = stats_block_new(&srv->stats);
	t->xfr_todo_tail = &t->xfr_todo;
	t->xfr_stats = stats_block_new(&srv->stats);
	t->dnstap = dnstap_ring_take(srv->dnstap);
	t->xfr_dnstap = dnstap_ring_take(srv->dnstap);
	pthread_mutex_init(&t->xfr_lock, NULL);
	t->idle_ms = conf->tcp_idle_timeout_ms ? conf->tcp_idle_timeout_ms : TCP_IDLE_DEFAULT_MS;
	t->max_clients = tcp_fd_cap(conf->tcp_max_clients);
	t->max_per_client = conf->tcp_max_clients_per_address;
	t->batch = malloc(TCP_BATCH_CAP);
	t->handshake_ms = conf->tls.handshake_timeout_ms ? conf->tls.handshake_timeout_ms : TCP_HANDSHAKE_DEFAULT_MS;
	t->listeners = calloc(socks->naddr + socks->ntls + 1, sizeof(*t->listeners));
	t->clients = clients_new(t->max_clients);
	t->loop = ev_new(EV_RCU_ONLINE);
	t->xfr_loop = ev_new(EV_RCU_OFFLINE);
	t->guard = query_guard_new(0, 1);
	t->xfr_guard = query_guard_new(0, 1);
	if (!t->batch || !t->listeners || !t->clients || !t->loop || !t->xfr_loop || !t->guard || !t->xfr_guard) {
		snprintf(err, errlen, "tcp: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < socks->naddr; i++) { /* taken over */
		t->listeners[t->nlisteners++].fd = socks->tcp[i];
		socks->tcp[i] = -1;
	}
	t->nplain = t->nlisteners;
	if (socks->ntls && (rc = tls_server_ctx(&conf->tls, &t->tls_ctx, err, errlen)) < 0)
		goto fail;
	for (size_t i = 0; i < socks->ntls; i++) {
		t->listeners[t->nlisteners++].fd = socks->tls[i];
		socks->tls[i] = -1;
	}
	rc = TERN_EIO;
	for (size_t i = 0; i < t->nlisteners; i++) {
		struct ev_io *io = &t->listeners[i];
		if (ev_io_start(t->loop, io, io->fd, EPOLLIN, on_listener, t) < 0) {
			snprintf(err, errlen, "tcp: epoll_ctl: %s", strerror_r(errno, ebuf, sizeof(ebuf)));
			goto fail;
		}
	}
	ev_timer_init(&t->deadline, on_deadline, t);
	ev_async_start(t->loop, &t->xfr_built, xfr_built, t);
	ev_before_wait(t->loop, after_round, t);
	ev_async_start(t->xfr_loop, &t->xfr_job, xfr_build_next, t);
	if (ev_thread_start(&t->xfr_thread, t->xfr_loop, "ternd-xfr") < 0 ||
	    ev_thread_start(&t->thread, t->loop, "ternd-tcp") < 0) {
		snprintf(err, errlen, "tcp: cannot start the thread");
		goto fail;
	}
	*out = t;
	return 0;
fail:
	xfr_stop(t);
	tcp_free(t);
	return rc;
}

void tcp_reload(struct tcp *t, const struct config *conf)
{
	if (!t)
		return;
	atomic_store(&t->idle_ms, conf->tcp_idle_timeout_ms ? conf->tcp_idle_timeout_ms : TCP_IDLE_DEFAULT_MS);
	atomic_store(&t->max_per_client, conf->tcp_max_clients_per_address);
	atomic_store(&t->handshake_ms,
	             conf->tls.handshake_timeout_ms ? conf->tls.handshake_timeout_ms : TCP_HANDSHAKE_DEFAULT_MS);
	if (t->nlisteners == t->nplain)
		return;
	/* the files again, changed or not (a renewed certificate keeps its name); new handshakes use them */
	char err[512];
	SSL_CTX *ctx = NULL;
	if (tls_server_ctx(&conf->tls, &ctx, err, sizeof(err)) < 0) {
		log_error("%s: the certificate in use stays", err);
		return;
	}
	SSL_CTX_free(atomic_exchange(&t->tls_next, ctx)); /* one the thread had not taken yet */
	log_info("server.tls: certificate %s loaded for new connections", conf->tls.certificate);
}

void tcp_stop(struct tcp *t)
{
	if (!t)
		return;
	ev_thread_stop(&t->thread);
	xfr_stop(t);
	tcp_free(t);
}
