/* dnstap's rings and writer: each answering thread fills a ring of fixed-size slots it alone writes
 * (single producer, lock-free); ternd-dnstap drains every ring, encodes the messages and writes
 * them through libfstrm to a unix socket (bidirectional, non-blocking I/O of our own so a stalled
 * reader never holds the thread) or a file. */
#include "ternd/dnstap/dnstap.h"

#include <errno.h>
#include <fcntl.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"

#define DNSTAP_SLOT_BYTES 4096
#define DNSTAP_RINGS_MAX 256 /* answering threads: UDP workers per address, TCP, transfers */
#define DNSTAP_BATCH 64 /* slots per write */
#define DNSTAP_FRAME_MAX 1024 /* a message's protobuf beyond its DNS messages and the zone */
#define DNSTAP_IDLE_MS 5 /* the writer's nap unless a ring gave a whole batch */
#define DNSTAP_STALL_MS 5000 /* a reader that takes nothing this long is dropped and reconnected */
#define DNSTAP_HANDSHAKE_MS 2000
#define DNSTAP_BACKOFF_MIN_MS 100
#define DNSTAP_BACKOFF_MAX_MS 5000
#define DNSTAP_STOP_MS 1000 /* what a stop still waits for the output */
#define DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"

/* One exchange; data holds the query then the response. */
struct slot_head {
	uint8_t family; /* 0 none, 1 INET, 2 INET6 */
	uint8_t proto;
	uint8_t has_local;
	uint8_t zone_len; /* 0: no zone */
	uint16_t qport, rport, qlen, rlen;
	uint8_t qaddr[16], raddr[16];
	uint32_t qnsec, rnsec;
	int64_t qsec, rsec;
	uint8_t zone[255];
};
#define SLOT_DATA (DNSTAP_SLOT_BYTES - sizeof(struct slot_head))
struct slot {
	struct slot_head h;
	uint8_t data[SLOT_DATA];
};
_Static_assert(sizeof(struct slot) == DNSTAP_SLOT_BYTES, "a slot is 4 KiB");

struct dnstap_ring {
	_Alignas(64) _Atomic uint32_t head; /* the producer's: slots filled */
	_Atomic uint64_t dropped_full, dropped_large; /* the producer's (relaxed stores) */
	_Alignas(64) _Atomic uint32_t tail; /* the writer's: slots taken */
	_Alignas(64) atomic_bool in_use;
	uint32_t mask;
	bool log_queries, log_responses;
	struct slot *slots;
};

struct dnstap {
	char *socket_path, *file_path;
	uint8_t identity[256], version[256];
	size_t identity_len, version_len;
	bool log_queries, log_responses;
	uint32_t ring_size;
	pthread_mutex_t lock; /* rings[] take and give (never the query path) */
	struct dnstap_ring *rings[DNSTAP_RINGS_MAX];
	_Atomic size_t nrings;
	atomic_bool stop;
	struct ev_thread thread;
	/* the writer's */
	struct fstrm_writer *w;
	int fd; /* the socket, while w is open on it */
	int64_t stop_at; /* once stop is seen: when the output is given up (monotonic ms) */
	uint8_t *buf; /* encoded messages of one batch */
	struct iovec iov[DNSTAP_BATCH * 2];
	/* counters (the writer's, read by /metrics) */
	_Atomic uint64_t sent, dropped_output, connects;
	atomic_bool connected;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the query path ---- */

bool dnstap_ring_wants(const struct dnstap_ring *r)
{
	return r && (r->log_queries || r->log_responses);
}

static void put_addr(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16], uint16_t *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		*family = 1;
		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		*family = 2;
		memcpy(addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
}

void dnstap_log(struct dnstap_ring *r, const struct dnstap_exchange *x)
{
	size_t qlen = r->log_queries ? x->qlen : 0; /* AUTH_RESPONSE carries the response alone */
	size_t rlen = r->log_responses && x->response ? x->rlen : 0;
	if (qlen + rlen > SLOT_DATA) {
		atomic_store_explicit(&r->dropped_large,
		                      atomic_load_explicit(&r->dropped_large, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		return;
	}
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (h - t > r->mask) {
		atomic_store_explicit(&r->dropped_full,
		                      atomic_load_explicit(&r->dropped_full, memory_order_relaxed) + 1,
		                      memory_order_relaxed);
		return;
	}
	struct slot *s = &r->slots[h & r->mask];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now); /* vDSO: no system call */
	s->h.family = 0;
	s->h.proto = (uint8_t)x->proto;
	put_addr(x->client, &s->h.family, s->h.qaddr, &s->h.qport);
	s->h.has_local = 0;
	if (x->local && x->local->sa_family == x->client->sa_family) {
		uint8_t fam = 0;
		put_addr(x->local, &fam, s->h.raddr, &s->h.rport);
		s->h.has_local = fam != 0;
	}
	s->h.qsec = x->qtime.tv_sec;
	s->h.qnsec = (uint32_t)x->qtime.tv_nsec;
	s->h.rsec = now.tv_sec;
	s->h.rnsec = (uint32_t)now.tv_nsec;
	s->h.zone_len = 0;
	if (x->zone) {
		size_t zl = 0; /* the name's wire length */
		while (zl < sizeof(s->h.zone) && x->zone[zl])
			zl += (size_t)x->zone[zl] + 1;
		zl++;
		if (zl <= sizeof(s->h.zone)) {
			memcpy(s->h.zone, x->zone, zl);
			s->h.zone_len = (uint8_t)zl;
		}
	}
	s->h.qlen = (uint16_t)qlen;
	s->h.rlen = (uint16_t)rlen;
	memcpy(s->data, x->query, qlen);
	if (rlen)
		memcpy(s->data + qlen, x->response, rlen);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

struct dnstap_ring *dnstap_ring_take(struct dnstap *d)
{
	if (!d)
		return NULL;
	struct dnstap_ring *r = NULL;
	pthread_mutex_lock(&d->lock);
	size_t n = atomic_load(&d->nrings);
	for (size_t i = 0; i < n && !r; i++)
		if (!atomic_load(&d->rings[i]->in_use))
			r = d->rings[i];
	if (!r && n < DNSTAP_RINGS_MAX && (r = calloc(1, sizeof(*r)))) {
		r->mask = d->ring_size - 1;
		r->log_queries = d->log_queries;
		r->log_responses = d->log_responses;
		r->slots = calloc(d->ring_size, sizeof(struct slot));
		if (!r->slots) {
			free(r);
			r = NULL;
		} else {
			d->rings[n] = r;
			atomic_store_explicit(&d->nrings, n + 1, memory_order_release);
		}
	}
	if (r)
		atomic_store(&r->in_use, true);
	pthread_mutex_unlock(&d->lock);
	if (!r)
		log_warning("dnstap: no ring for an answering thread (out of memory or %d threads): it logs nothing",
		            DNSTAP_RINGS_MAX);
	return r;
}

void dnstap_ring_give(struct dnstap_ring *r)
{
	if (r)
		atomic_store(&r->in_use, false);
}

void dnstap_counts(struct dnstap *d, struct dnstap_counts *c)
{
	memset(c, 0, sizeof(*c));
	size_t n = atomic_load_explicit(&d->nrings, memory_order_acquire);
	for (size_t i = 0; i < n; i++) {
		c->dropped_full += atomic_load_explicit(&d->rings[i]->dropped_full, memory_order_relaxed);
		c->dropped_large += atomic_load_explicit(&d->rings[i]->dropped_large, memory_order_relaxed);
	}
	c->sent = atomic_load(&d->sent);
	c->dropped_output = atomic_load(&d->dropped_output);
	c->connects = atomic_load(&d->connects);
	c->connected = atomic_load(&d->connected);
}

/* ---- the socket, for libfstrm: non-blocking, every wait bounded ---- */

/* How long a wait may still take: DNSTAP_STOP_MS after a stop was seen, else limit_ms. */
static int wait_budget(struct dnstap *d, int64_t deadline)
{
	int64_t now = now_ms();
	if (atomic_load(&d->stop)) {
		if (!d->stop_at)
			d->stop_at = now + DNSTAP_STOP_MS;
		if (d->stop_at < deadline)
			deadline = d->stop_at;
	}
	int64_t left = deadline - now;
	return left <= 0 ? 0 : left > 100 ? 100 : (int)left; /* wake to see a stop */
}

static bool wait_fd(struct dnstap *d, short events, int64_t deadline)
{
	for (;;) {
		int ms = wait_budget(d, deadline);
		if (ms == 0)
			return false;
		struct pollfd p = {.fd = d->fd, .events = events};
		int n = poll(&p, 1, ms);
		if (n > 0)
			return !(p.revents & (POLLERR | POLLNVAL)) || (p.revents & events);
		if (n < 0 && errno != EINTR)
			return false;
	}
}

static fstrm_res sock_open(void *obj)
{
	struct dnstap *d = obj;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(d->socket_path) >= sizeof(sun.sun_path))
		return fstrm_res_failure;
	strcpy(sun.sun_path, d->socket_path);
	d->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return fstrm_res_failure;
	if (connect(d->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(d->fd);
		d->fd = -1;
		return fstrm_res_failure;
	}
	return fstrm_res_success;
}

static fstrm_res sock_close(void *obj)
{
	struct dnstap *d = obj;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	return fstrm_res_success;
}

static fstrm_res sock_read(void *obj, void *data, size_t count)
{
	struct dnstap *d = obj;
	int64_t deadline = now_ms() + DNSTAP_HANDSHAKE_MS;
	for (size_t got = 0; got < count;) {
		ssize_t n = read(d->fd, (uint8_t *)data + got, count - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return fstrm_res_stop;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || !wait_fd(d, POLLIN, deadline))
			return fstrm_res_failure;
	}
	return fstrm_res_success;
}

static fstrm_res sock_write(void *obj, const struct iovec *iov, int iovcnt)
{
	struct dnstap *d = obj;
	struct iovec v[DNSTAP_BATCH * 4 + 4]; /* fstrm gives each frame a length and its data */
	if (iovcnt > (int)(sizeof(v) / sizeof(v[0])))
		return fstrm_res_failure;
	memcpy(v, iov, (size_t)iovcnt * sizeof(*v));
	struct iovec *p = v;
	int64_t deadline = now_ms() + DNSTAP_STALL_MS;
	while (iovcnt > 0) {
		struct msghdr mh = {.msg_iov = p, .msg_iovlen = (size_t)iovcnt};
		ssize_t n = sendmsg(d->fd, &mh, MSG_NOSIGNAL); /* a reader gone: EPIPE, no SIGPIPE */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || !wait_fd(d, POLLOUT, deadline))
				return fstrm_res_failure;
			continue;
		}
		deadline = now_ms() + DNSTAP_STALL_MS; /* progress: the reader is slow, not gone */
		while (iovcnt > 0 && (size_t)n >= p->iov_len) {
			n -= (ssize_t)p->iov_len;
			p++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			p->iov_base = (uint8_t *)p->iov_base + n;
			p->iov_len -= (size_t)n;
		}
	}
	return fstrm_res_success;
}

/* ---- the writer thread ---- */

static struct fstrm_writer *output_new(struct dnstap *d)
{
	struct fstrm_writer *w = NULL;
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	if (!wopt)
		return NULL;
	fstrm_writer_options_add_content_type(wopt, DNSTAP_CONTENT_TYPE, strlen(DNSTAP_CONTENT_TYPE));
	if (d->socket_path) {
		struct fstrm_rdwr *rdwr = fstrm_rdwr_init(d);
		if (rdwr) {
			fstrm_rdwr_set_open(rdwr, sock_open);
			fstrm_rdwr_set_close(rdwr, sock_close);
			fstrm_rdwr_set_read(rdwr, sock_read);
			fstrm_rdwr_set_write(rdwr, sock_write);
			w = fstrm_writer_init(wopt, &rdwr);
			if (!w)
				fstrm_rdwr_destroy(&rdwr);
		}
	} else {
		struct fstrm_file_options *fopt = fstrm_file_options_init();
		if (fopt) {
			fstrm_file_options_set_file_path(fopt, d->file_path);
			w = fstrm_file_writer_init(fopt, wopt);
			fstrm_file_options_destroy(&fopt);
		}
	}
	fstrm_writer_options_destroy(&wopt);
	return w;
}

static void output_close(struct dnstap *d, bool clean)
{
	if (!d->w)
		return;
	if (!clean && d->fd >= 0) { /* no STOP/FINISH on a broken stream */
		close(d->fd);
		d->fd = -1;
	}
	fstrm_writer_destroy(&d->w);
	atomic_store(&d->connected, false);
}

/* Opens the output; false when it is not there (yet). */
static bool output_open(struct dnstap *d)
{
	d->w = output_new(d);
	if (!d->w)
		return false;
	if (fstrm_writer_open(d->w) != fstrm_res_success) {
		if (d->fd >= 0) {
			close(d->fd);
			d->fd = -1;
		}
		fstrm_writer_destroy(&d->w);
		return false;
	}
	atomic_fetch_add(&d->connects, 1);
	atomic_store(&d->connected, true);
	return true;
}

static size_t encode_slot(struct dnstap *d, const struct dnstap_ring *r, const struct slot *s, uint8_t *out, size_t cap,
                          int type)
{
	struct dnstap_msg m = {
	    .type = type,
	    .family = s->h.family,
	    .proto = s->h.proto,
	    .qaddr = s->h.family ? s->h.qaddr : NULL,
	    .raddr = s->h.has_local ? s->h.raddr : NULL,
	    .qport = s->h.qport,
	    .rport = s->h.rport,
	    .has_rport = s->h.has_local,
	    .qsec = (uint64_t)s->h.qsec,
	    .qnsec = s->h.qnsec,
	    .has_qtime = true,
	    .query = s->data,
	    .qlen = s->h.qlen,
	    .zone = s->h.zone_len ? s->h.zone : NULL,
	    .zone_len = s->h.zone_len,
	    .identity = d->identity_len ? d->identity : NULL,
	    .identity_len = d->identity_len,
	    .version = d->version_len ? d->version : NULL,
	    .version_len = d->version_len,
	};
	(void)r;
	if (type == DNSTAP_AUTH_RESPONSE) { /* the answer alone, as Knot and BIND send it */
		m.query = NULL;
		m.rsec = (uint64_t)s->h.rsec;
		m.rnsec = s->h.rnsec;
		m.has_rtime = true;
		m.response = s->data + s->h.qlen;
		m.rlen = s->h.rlen;
	}
	return dnstap_encode(&m, out, cap);
}

/* Takes up to DNSTAP_BATCH slots of r and writes their messages. Returns the slots taken. */
static size_t drain_ring(struct dnstap *d, struct dnstap_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t n = h - t < DNSTAP_BATCH ? h - t : DNSTAP_BATCH;
	if (n == 0)
		return 0;
	size_t used = 0;
	int niov = 0;
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = &r->slots[(t + i) & r->mask];
		size_t room = DNSTAP_SLOT_BYTES + 2 * DNSTAP_FRAME_MAX;
		if (r->log_queries) {
			size_t len = encode_slot(d, r, s, d->buf + used, room, DNSTAP_AUTH_QUERY);
			if (len) {
				d->iov[niov++] = (struct iovec){d->buf + used, len};
				used += len;
			}
		}
		if (r->log_responses && s->h.rlen) {
			size_t len = encode_slot(d, r, s, d->buf + used, room, DNSTAP_AUTH_RESPONSE);
			if (len) {
				d->iov[niov++] = (struct iovec){d->buf + used, len};
				used += len;
			}
		}
	}
	atomic_store_explicit(&r->tail, t + (uint32_t)n, memory_order_release); /* the slots are free again */
	if (niov && fstrm_writer_writev(d->w, d->iov, niov) == fstrm_res_success) {
		atomic_fetch_add(&d->sent, (uint64_t)niov);
	} else if (niov) {
		atomic_fetch_add(&d->dropped_output, (uint64_t)niov);
		log_warning("dnstap: writing to %s failed: %zu message(s) lost; reconnecting",
		            d->socket_path ? d->socket_path : d->file_path, (size_t)niov);
		output_close(d, false);
	}
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void writer_run(void *arg)
{
	struct dnstap *d = arg;
	int backoff = DNSTAP_BACKOFF_MIN_MS;
	int64_t next_try = 0;
	bool warned = false;
	for (;;) {
		bool stopping = atomic_load(&d->stop);
		if (!d->w && !stopping && now_ms() >= next_try) {
			if (output_open(d)) {
				log_info("dnstap: writing to %s", d->socket_path ? d->socket_path : d->file_path);
				backoff = DNSTAP_BACKOFF_MIN_MS;
				warned = false;
			} else {
				if (!warned)
					log_warning(
					    "dnstap: cannot open %s: %s; trying again (backoff up to %d ms), messages "
					    "meanwhile dropped and counted",
					    d->socket_path ? d->socket_path : d->file_path, strerror(errno),
					    DNSTAP_BACKOFF_MAX_MS);
				warned = true;
				next_try = now_ms() + backoff;
				backoff = backoff * 2 > DNSTAP_BACKOFF_MAX_MS ? DNSTAP_BACKOFF_MAX_MS : backoff * 2;
			}
		}
		size_t taken = 0;
		bool full = false; /* a ring gave a whole batch: more is waiting */
		if (d->w) {
			size_t n = atomic_load_explicit(&d->nrings, memory_order_acquire);
			for (size_t i = 0; i < n && d->w; i++) {
				size_t got = drain_ring(d, d->rings[i]);
				taken += got;
				full |= got == DNSTAP_BATCH;
			}
		}
		if (stopping && (taken == 0 || !d->w || wait_budget(d, INT64_MAX) == 0))
			break;
		if (!full) /* let messages gather: one write carries many (a ring holds ring-size) */
			sleep_ms(DNSTAP_IDLE_MS);
	}
	output_close(d, true);
}

static int set_text(uint8_t *dst, size_t *len, const char *s)
{
	*len = strlen(s);
	if (*len > 255)
		return -1;
	memcpy(dst, s, *len);
	return 0;
}

int dnstap_start(struct dnstap **out, const struct config_dnstap *conf, char *err, size_t errlen)
{
	*out = NULL;
	struct dnstap *d = calloc(1, sizeof(*d));
	if (!d)
		goto nomem;
	d->fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	d->log_queries = conf->log_queries;
	d->log_responses = conf->log_responses;
	d->ring_size = conf->ring_size;
	char host[256] = "";
	if (!conf->identity && gethostname(host, sizeof(host) - 1) < 0)
		host[0] = 0;
	set_text(d->identity, &d->identity_len, conf->identity ? conf->identity : host);
	set_text(d->version, &d->version_len, conf->version ? conf->version : "");
	d->socket_path = conf->socket ? strdup(conf->socket) : NULL;
	d->file_path = conf->file ? strdup(conf->file) : NULL;
	d->buf = malloc(DNSTAP_BATCH * 2 * (DNSTAP_SLOT_BYTES + 2 * DNSTAP_FRAME_MAX));
	if ((conf->socket && !d->socket_path) || (conf->file && !d->file_path) || !d->buf)
		goto nomem;
	if (ev_thread_start_fn(&d->thread, writer_run, d, "ternd-dnstap") < 0) {
		snprintf(err, errlen, "dnstap: cannot start its thread");
		dnstap_stop(d);
		return TERN_EIO;
	}
	*out = d;
	return 0;
nomem:
	snprintf(err, errlen, "dnstap: out of memory");
	dnstap_stop(d);
	return TERN_ENOMEM;
}

void dnstap_stop(struct dnstap *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, true);
	ev_thread_stop(&d->thread);
	size_t n = atomic_load(&d->nrings);
	for (size_t i = 0; i < n; i++) {
		free(d->rings[i]->slots);
		free(d->rings[i]);
	}
	pthread_mutex_destroy(&d->lock);
	free(d->socket_path);
	free(d->file_path);
	free(d->buf);
	free(d);
}
