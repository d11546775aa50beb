/* NOTIFY out (RFC 1996): a zones listener queues (zone, serial, secondary) on every publish; a
 * thread sends each NOTIFY over UDP and retries every second until the secondary answers, up to
 * NOTIFY_TRIES times. A newer serial replaces a queued older one for the same zone and target.
 * Every step is O(1) per NOTIFY whatever the queue holds (thousands of zones times tens of
 * secondaries, some silent): a hash table finds a (target, zone) on publish and on an answer, new
 * NOTIFYs wait on one list and sent ones on another in order of their retry time, and the sender
 * lets the lock go every SEND_CHUNK sends so a publish never waits behind a long round.
 * A target with a TSIG key (RFC 8945) gets signed NOTIFYs, and only a signed answer that verifies
 * counts as its acknowledgement. */
#include "ternd/ns/notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/tsig.h"
#include "lib/wire.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"

#define NOTIFY_TRIES 10
#define NOTIFY_INTERVAL_MS 1000
#define SEND_CHUNK 256
/* Answers are read in batches at least ANSWER_GATHER_MS apart: after a batch the sockets are not
 * watched until then, so the acknowledgements of a burst of NOTIFYs (20 secondaries a change,
 * hundreds of changes a second) cost the thread a wake-up for many, not one each (it was 12
 * context switches a change in bench-fleet). Far below the retry interval; what arrives meanwhile
 * waits in the socket's buffer (about 100 answers at that pace). */
#define ANSWER_GATHER_MS 10
#define RECV_BATCH 64 /* answers read by one recvmmsg */
/* New NOTIFYs go out in rounds at least SEND_GATHER_MS apart: the publishes of a burst (a group
 * commit publishes several zones at once, hundreds a second) are one wake-up of the thread and a
 * sendmmsg or two, not one each; a NOTIFY waits that much at most. */
#define SEND_GATHER_MS 20
#define SEND_BATCH 64 /* NOTIFYs sent by one sendmmsg */

struct pending {
	struct pending *hnext; /* hash chain of (target, apex) */
	struct pending *prev, *next; /* on n->fresh (not sent yet) or n->waiting (sent; by next_ms) */
	struct plist *on;
	uint32_t hash;
	uint8_t apex[NAME_MAXLEN];
	uint8_t soa[2 + 2 * NAME_MAXLEN + 20]; /* the SOA record's RDATA, length first */
	uint32_t ttl, serial;
	size_t target;
	int tries;
	uint16_t id;
	uint64_t next_ms; /* when to (re)send */
	uint16_t mac_len; /* the MAC of the last NOTIFY sent, which a signed answer covers */
	uint8_t mac[TSIG_MAX_MAC];
};

struct plist {
	struct pending *head, *tail;
};

struct notify {
	struct server *srv;
	struct config_listen *targets;
	struct tsig_key *keys; /* per target; alg TSIG_ALG_NONE = unsigned */
	size_t ntargets;
	int fd4, fd6;
	struct ev_loop *loop; /* the sender's: answers on fd4 and fd6, queued work, resends */
	struct ev_thread thread;
	struct ev_io io4, io6;
	struct ev_async queued;
	struct ev_timer resend;
	struct ev_timer answers; /* the sockets watched again, ANSWER_GATHER_MS after a batch */
	struct ev_timer gather; /* the next round of new NOTIFYs, SEND_GATHER_MS after the last */
	uint64_t sent_at; /* ms: when the last round of sends began (the loop thread's) */
	/* NOTIFYs built this round, sent together (send_flush): the loop thread's alone */
	struct {
		uint8_t buf[2048]; /* the largest NOTIFY (two names, a SOA) and its TSIG */
		struct iovec iov;
		struct sockaddr_storage to;
	} out[SEND_BATCH];
	struct mmsghdr out_msg[SEND_BATCH];
	int out_fd[SEND_BATCH];
	unsigned nout;
	uint8_t in[RECV_BATCH][4096]; /* answers read by one recvmmsg (the loop thread's) */
	bool subscribed;
	pthread_mutex_t lock; /* the queue and the targets */
	struct pending **table; /* by (target, apex); tsize a power of 2 */
	size_t tsize, count;
	struct plist fresh, waiting;
	bool woken; /* queued was sent for what is fresh: the thread has not taken it yet */
};

static uint32_t key_hash(const uint8_t *apex, size_t target)
{
	return (name_hash(apex) ^ (uint32_t)target * 0x9E3779B1u) * 0x85EBCA6Bu;
}

/* Takes p off l, the list it is on (p->on). */
static void plist_remove(struct plist *l, struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		l->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		l->tail = p->prev;
	p->prev = p->next = NULL;
	p->on = NULL;
}

static void plist_append(struct plist *l, struct pending *p)
{
	p->on = l;
	p->next = NULL;
	p->prev = l->tail;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
}

static struct pending *find(const struct notify *n, size_t target, const uint8_t *apex, uint32_t hash)
{
	if (!n->tsize)
		return NULL;
	for (struct pending *p = n->table[hash & (n->tsize - 1)]; p; p = p->hnext)
		if (p->hash == hash && p->target == target && name_equal(p->apex, apex))
			return p;
	return NULL;
}

/* Puts p in the table (growing it at one entry per bucket); false when out of memory. */
static bool table_insert(struct notify *n, struct pending *p)
{
	if (n->count + 1 > n->tsize) {
		size_t nsize = n->tsize ? n->tsize * 2 : 64;
		struct pending **nt = calloc(nsize, sizeof(*nt));
		if (!nt)
			return false;
		for (size_t i = 0; i < n->tsize; i++) {
			while (n->table[i]) {
				struct pending *q = n->table[i];
				n->table[i] = q->hnext;
				q->hnext = nt[q->hash & (nsize - 1)];
				nt[q->hash & (nsize - 1)] = q;
			}
		}
		free(n->table);
		n->table = nt;
		n->tsize = nsize;
	}
	p->hnext = n->table[p->hash & (n->tsize - 1)];
	n->table[p->hash & (n->tsize - 1)] = p;
	n->count++;
	return true;
}

/* Takes p off l (its list) and out of the table, and frees it. */
static void drop(struct notify *n, struct plist *l, struct pending *p)
{
	struct pending **at = &n->table[p->hash & (n->tsize - 1)];
	while (*at != p)
		at = &(*at)->hnext;
	*at = p->hnext;
	n->count--;
	plist_remove(l, p);
	free(p);
}

/* The listener: runs in the publisher's thread; only queues. */
static void on_publish(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	(void)old;
	struct notify *n = arg;
	if (ev != ZONES_PUBLISHED)
		return;
	pthread_mutex_lock(&n->lock);
	for (size_t t = 0; t < n->ntargets; t++) {
		uint32_t hash = key_hash(next->apex, t);
		struct pending *p = find(n, t, next->apex, hash);
		if (p) {
			plist_remove(p->on, p); /* a newer serial: sent at once, tried afresh */
		} else {
			p = calloc(1, sizeof(*p));
			if (p) {
				p->hash = hash;
				p->target = t;
				memcpy(p->apex, next->apex, next->apex_len);
			}
			if (!p || !table_insert(n, p)) {
				free(p);
				log_error("NOTIFY: out of memory, secondaries not told");
				break;
			}
		}
		memcpy(p->apex, next->apex, next->apex_len);
		size_t soalen = 2u + rdata_len(next->soa->rdata);
		memcpy(p->soa, next->soa->rdata, soalen < sizeof(p->soa) ? soalen : sizeof(p->soa));
		p->ttl = next->soa->ttl;
		p->serial = next->serial;
		p->tries = 0;
		p->next_ms = 0; /* at once */
		getrandom(&p->id, sizeof(p->id), 0);
		plist_append(&n->fresh, p);
	}
	bool first = n->fresh.head && !n->woken; /* the thread takes every fresh one: one wake-up */
	n->woken = n->woken || first;
	pthread_mutex_unlock(&n->lock);
	if (first)
		ev_async_send(&n->queued);
}

static size_t build(const struct pending *p, uint8_t *buf, size_t cap)
{
	struct wire_writer w;
	wire_writer_init(&w, buf, cap);
	uint8_t header[WIRE_HEADER_LEN] = {0};
	wire_put16(header, p->id);
	wire_put16(header + 2, (uint16_t)(OPCODE_NOTIFY << 11 | WIRE_AA));
	wire_put16(header + 4, 1);
	wire_put16(header + 6, 1);
	wire_write(&w, header, sizeof(header));
	wire_write_name(&w, p->apex, false);
	wire_write16(&w, RR_SOA);
	wire_write16(&w, RR_CLASS_IN);
	/* the new SOA in the answer section: a hint the secondary may use (RFC 1996 3.7) */
	wire_write_name(&w, p->apex, true);
	wire_write16(&w, RR_SOA);
	wire_write16(&w, RR_CLASS_IN);
	wire_write32(&w, p->ttl);
	wire_write16(&w, rdata_len(p->soa));
	size_t start = w.pos;
	rr_write_rdata(&w, RR_SOA, rdata_bytes(p->soa), rdata_len(p->soa));
	wire_put16(buf + start - 2, (uint16_t)(w.pos - start));
	return w.pos;
}

/* Whether the answer to p from its target verifies with the target's key (true when it has none). */
static bool answer_verifies(const struct notify *n, const struct pending *p, const uint8_t *msg, size_t len,
                            const char *zone)
{
	const struct tsig_key *key = &n->keys[p->target];
	if (key->alg == TSIG_ALG_NONE)
		return true;
	struct tsig_ctx ctx;
	struct tsig_result res;
	tsig_ctx_init(&ctx, key, p->mac, p->mac_len);
	int rc = tsig_verify_next(&ctx, msg, len, (uint64_t)time(NULL), &res);
	tsig_ctx_clear(&ctx);
	if (rc == 0)
		return true;
	const char *why = rc == TERN_ENOTFOUND ? "is not signed"
	                  : rc == TERN_EMALF   ? "has a malformed TSIG"
	                  : res.peer_error     ? "reports a TSIG error for our signature"
	                                       : "does not verify";
	log_warning("NOTIFY: %s serial %u: the answer from %s %s (TSIG error %u, rcode %d): not an acknowledgement",
	            zone, p->serial, n->targets[p->target].text, why, res.error, WIRE_RCODE(wire_get16(msg + 2)));
	return false;
}

/* Whether addr is target t's address (and port). */
static bool is_target(const struct config_listen *t, const struct sockaddr_storage *addr, socklen_t len)
{
	return t->addrlen == len && memcmp(&t->addr, addr, len) == 0;
}

/* The pending NOTIFY an answer from `from` with this id acknowledges, or NULL: found by the zone
 * in its question (RFC 1996 answers repeat it), else by a walk of what was sent. Lock held. */
static struct pending *answered(const struct notify *n, const uint8_t *msg, size_t len, uint16_t id,
                                const struct sockaddr_storage *from, socklen_t fl)
{
	uint8_t apex[NAME_MAXLEN];
	size_t pos = WIRE_HEADER_LEN;
	if (wire_get16(msg + 4) >= 1 && wire_read_name(msg, len, &pos, apex) > 0) {
		for (size_t t = 0; t < n->ntargets; t++) {
			if (!is_target(&n->targets[t], from, fl))
				continue;
			struct pending *p = find(n, t, apex, key_hash(apex, t));
			if (p && p->id == id)
				return p;
		}
		return NULL;
	}
	for (const struct plist *l = &n->waiting; l; l = l == &n->waiting ? &n->fresh : NULL)
		for (struct pending *p = l->head; p; p = p->next)
			if (p->id == id && is_target(&n->targets[p->target], from, fl))
				return p;
	return NULL;
}

/* One answer: takes the NOTIFY it acknowledges off the queue. Lock held. */
static void take_answer(struct notify *n, const uint8_t *buf, size_t len, const struct sockaddr_storage *from,
                        socklen_t fl)
{
	if (len < WIRE_HEADER_LEN)
		return;
	uint16_t id = wire_get16(buf), flags = wire_get16(buf + 2);
	if (!(flags & WIRE_QR) || WIRE_OPCODE(flags) != OPCODE_NOTIFY)
		return;
	struct pending *p = answered(n, buf, len, id, from, fl);
	if (!p)
		return;
	const struct config_listen *t = &n->targets[p->target];
	char zone[NAME_MAXLEN * 4 + 1] = "";
	/* the zone's name only for a line that is written (thousands of answers a second in a burst) */
	if (n->keys[p->target].alg != TSIG_ALG_NONE || WIRE_RCODE(flags) != RCODE_NOERROR || log_enabled(LOG_INFO))
		name_to_text(p->apex, zone, sizeof(zone));
	if (!answer_verifies(n, p, buf, len, zone))
		return; /* sent again on the next round */
	if (WIRE_RCODE(flags) == RCODE_NOERROR)
		log_info("NOTIFY: %s serial %u acknowledged by %s", zone, p->serial, t->text);
	else
		log_warning("NOTIFY: %s serial %u answered with rcode %d by %s", zone, p->serial, WIRE_RCODE(flags),
		            t->text);
	drop(n, p->on, p);
}

/* Reads every answer waiting on fd, RECV_BATCH a call, each batch under one taking of the lock. */
static void drain(struct notify *n, int fd)
{
	uint8_t(*bufs)[4096] = n->in;
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_storage from[RECV_BATCH];
	for (;;) {
		for (unsigned i = 0; i < RECV_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof(bufs[i])};
			msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
			                                       .msg_namelen = sizeof(from[i]),
			                                       .msg_iov = &iov[i],
			                                       .msg_iovlen = 1}};
		}
		int got = recvmmsg(fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0)
			return;
		pthread_mutex_lock(&n->lock);
		for (int i = 0; i < got; i++)
			if (!(msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
				take_answer(n, bufs[i], msgs[i].msg_len, &from[i], msgs[i].msg_hdr.msg_namelen);
		pthread_mutex_unlock(&n->lock);
		if (got < RECV_BATCH)
			return;
	}
}

/* Answers arrived: every one waiting is read, then the sockets rest ANSWER_GATHER_MS. */
static void receive(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)events;
	struct notify *n = io->arg;
	if (n->fd4 >= 0)
		drain(n, n->fd4);
	if (n->fd6 >= 0)
		drain(n, n->fd6);
	if (n->fd4 >= 0)
		ev_io_modify(loop, &n->io4, 0);
	if (n->fd6 >= 0)
		ev_io_modify(loop, &n->io6, 0);
	ev_timer_at(loop, &n->answers, ev_clock_ms() + ANSWER_GATHER_MS);
}

static void on_answers(struct ev_loop *loop, struct ev_timer *t)
{
	struct notify *n = t->arg;
	if (n->fd4 >= 0)
		ev_io_modify(loop, &n->io4, EPOLLIN);
	if (n->fd6 >= 0)
		ev_io_modify(loop, &n->io6, EPOLLIN);
}

/* Signs a NOTIFY for a target with a key, remembering its MAC for the answer; 0 when the target
 * has none. A failure is logged, and the next round tries again. */
static int sign(struct notify *n, struct pending *p, uint8_t *buf, size_t *len, size_t cap, const char *zone)
{
	const struct tsig_key *key = &n->keys[p->target];
	if (key->alg == TSIG_ALG_NONE)
		return 0;
	struct tsig_ctx ctx;
	tsig_ctx_init(&ctx, key, NULL, 0);
	int rc = tsig_sign(buf, len, cap, &ctx, (uint64_t)time(NULL));
	tsig_ctx_clear(&ctx);
	if (rc < 0) {
		log_warning("NOTIFY: %s to %s: cannot sign with TSIG: %s", zone, n->targets[p->target].text,
		            tern_strerror(rc));
		return rc;
	}
	memcpy(p->mac, ctx.prior_mac, ctx.prior_len);
	p->mac_len = ctx.prior_len;
	return 0;
}

/* The NOTIFYs built this round go out, SEND_BATCH a sendmmsg (one socket's run at a time). */
static void send_flush(struct notify *n)
{
	for (unsigned i = 0; i < n->nout;) {
		unsigned j = i + 1;
		while (j < n->nout && n->out_fd[j] == n->out_fd[i])
			j++;
		for (unsigned k = i; k < j;) {
			int sent = sendmmsg(n->out_fd[i], &n->out_msg[k], j - k, 0);
			if (sent <= 0) {
				if (sent < 0 && errno == EINTR)
					continue;
				log_debug("NOTIFY: a send failed: %s", sent < 0 ? strerror(errno) : "nothing sent");
				k++; /* that one is retried on the next round */
				continue;
			}
			k += (unsigned)sent;
		}
		i = j;
	}
	n->nout = 0;
}

/* Builds (and signs) p's NOTIFY into the round's batch, flushed when full; it is retried in
 * NOTIFY_INTERVAL_MS unless answered. Lock held. */
static void send_one(struct notify *n, struct plist *l, struct pending *p, uint64_t now)
{
	const struct config_listen *t = &n->targets[p->target];
	char zone[NAME_MAXLEN * 4 + 1] = "";
	int fd = t->addr.ss_family == AF_INET6 ? n->fd6 : n->fd4;
	if (fd < 0 || n->keys[p->target].alg != TSIG_ALG_NONE) /* for the lines those may write */
		name_to_text(p->apex, zone, sizeof(zone));
	if (fd < 0) {
		log_debug("NOTIFY: %s to %s: no socket", zone, t->text);
	} else {
		if (n->nout == SEND_BATCH)
			send_flush(n);
		unsigned i = n->nout;
		size_t len = build(p, n->out[i].buf, sizeof(n->out[i].buf));
		if (sign(n, p, n->out[i].buf, &len, sizeof(n->out[i].buf), zone) == 0) {
			memcpy(&n->out[i].to, &t->addr, t->addrlen);
			n->out[i].iov = (struct iovec){.iov_base = n->out[i].buf, .iov_len = len};
			n->out_msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &n->out[i].to,
			                                             .msg_namelen = t->addrlen,
			                                             .msg_iov = &n->out[i].iov,
			                                             .msg_iovlen = 1}};
			n->out_fd[i] = fd;
			n->nout++;
		}
	}
	p->tries++;
	p->next_ms = now + NOTIFY_INTERVAL_MS;
	plist_remove(l, p);
	plist_append(&n->waiting, p); /* its retry time is the latest: the list stays in order */
}

/* The fresh NOTIFYs in target order, each target's in publish order: a secondary gets its NOTIFYs
 * of a round one after another, read by one recvmmsg of its and one wake-up of its refresh thread
 * (zone by zone, each of bench-fleet's 20 PoPs woke for nearly every NOTIFY of a round). A merge sort
 * of the list: n log n, stable, no memory. Lock held. */
static void fresh_by_target(struct plist *l)
{
	struct pending *head = l->head;
	if (!head || !head->next)
		return;
	for (size_t width = 1;; width *= 2) {
		struct pending *out = NULL, **tail = &out, *a = head;
		size_t merges = 0;
		while (a) {
			merges++;
			struct pending *b = a;
			size_t na = 0, nb = width;
			while (b && na < width) {
				b = b->next;
				na++;
			}
			while (na || (nb && b)) {
				struct pending *take;
				if (na && (!nb || !b || a->target <= b->target)) {
					take = a;
					a = a->next;
					na--;
				} else {
					take = b;
					b = b->next;
					nb--;
				}
				*tail = take;
				tail = &take->next;
			}
			a = b;
		}
		*tail = NULL;
		head = out;
		if (merges <= 1)
			break;
	}
	struct pending *prev = NULL;
	for (struct pending *p = head; p; p = p->next) {
		p->prev = prev;
		prev = p;
	}
	l->head = head;
	l->tail = prev;
}

static void send_due(struct notify *n)
{
	uint64_t now = ev_clock_ms(), wake = UINT64_MAX;
	n->sent_at = now;
	pthread_mutex_lock(&n->lock);
	n->woken = false; /* a publish from here on wakes the thread again */
	fresh_by_target(&n->fresh);
	for (size_t done = 0;; done++) {
		if (done && done % SEND_CHUNK == 0) { /* a publish waiting for the lock gets it */
			pthread_mutex_unlock(&n->lock);
			send_flush(n);
			pthread_mutex_lock(&n->lock);
		}
		struct plist *l = n->fresh.head ? &n->fresh : &n->waiting;
		struct pending *p = l->head;
		if (!p || p->next_ms > now) /* new ones are due at once (next_ms 0) */
			break;
		if (p->tries == NOTIFY_TRIES) {
			char zone[NAME_MAXLEN * 4 + 1];
			name_to_text(p->apex, zone, sizeof(zone));
			log_warning("NOTIFY: %s serial %u: no answer from %s after %d tries", zone, p->serial,
			            n->targets[p->target].text, NOTIFY_TRIES);
			drop(n, l, p);
			continue;
		}
		send_one(n, l, p, now);
	}
	if (n->waiting.head)
		wake = n->waiting.head->next_ms;
	pthread_mutex_unlock(&n->lock);
	send_flush(n);
	if (wake == UINT64_MAX)
		ev_timer_cancel(n->loop, &n->resend);
	else
		ev_timer_at(n->loop, &n->resend, wake);
}

static void on_queued(struct ev_loop *loop, struct ev_async *a)
{
	struct notify *n = a->arg;
	uint64_t now = ev_clock_ms();
	if (now < n->sent_at + SEND_GATHER_MS) { /* the next round gathers what else comes */
		if (!n->gather.armed)
			ev_timer_at(loop, &n->gather, n->sent_at + SEND_GATHER_MS);
		return;
	}
	send_due(n);
}

static void on_gather(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	send_due(t->arg);
}

static void on_resend(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	send_due(t->arg);
}

static int open_any(int family)
{
	struct sockaddr_storage ss = {0};
	ss.ss_family = (sa_family_t)family;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&ss,
	                    family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int notify_start(struct server *srv, const struct config *conf, struct notify **out, char *err, size_t errlen)
{
	*out = NULL;
	if (conf->transfer.nnotify == 0)
		return 0;
	struct notify *n = calloc(1, sizeof(*n));
	if (!n)
		return TERN_ENOMEM;
	n->srv = srv;
	n->ntargets = conf->transfer.nnotify;
	n->targets = malloc(n->ntargets * sizeof(*n->targets));
	n->keys = calloc(n->ntargets, sizeof(*n->keys));
	n->fd4 = open_any(AF_INET);
	n->fd6 = open_any(AF_INET6);
	n->loop = ev_new(0);
	pthread_mutex_init(&n->lock, NULL);
	if (!n->targets || !n->keys) {
		snprintf(err, errlen, "NOTIFY: out of memory");
		notify_stop(n);
		return TERN_ENOMEM;
	}
	if ((n->fd4 < 0 && n->fd6 < 0) || !n->loop ||
	    (n->fd4 >= 0 && ev_io_start(n->loop, &n->io4, n->fd4, EPOLLIN, receive, n) < 0) ||
	    (n->fd6 >= 0 && ev_io_start(n->loop, &n->io6, n->fd6, EPOLLIN, receive, n) < 0)) {
		snprintf(err, errlen, "NOTIFY: cannot open a UDP socket");
		notify_stop(n);
		return TERN_EIO;
	}
	ev_async_start(n->loop, &n->queued, on_queued, n);
	ev_timer_init(&n->resend, on_resend, n);
	ev_timer_init(&n->answers, on_answers, n);
	ev_timer_init(&n->gather, on_gather, n);
	memcpy(n->targets, conf->transfer.notify, n->ntargets * sizeof(*n->targets));
	for (size_t i = 0; i < n->ntargets; i++)
		if (n->targets[i].key && n->targets[i].key <= conf->nkeys)
			n->keys[i] = conf->keys[n->targets[i].key - 1].key;
	if (ev_thread_start(&n->thread, n->loop, "ternd-notify") < 0) {
		snprintf(err, errlen, "NOTIFY: cannot start its thread");
		notify_stop(n);
		return TERN_EIO;
	}
	if (zones_subscribe(srv->zones, on_publish, n) < 0) {
		snprintf(err, errlen, "NOTIFY: too many zone listeners");
		notify_stop(n);
		return TERN_ENOMEM;
	}
	n->subscribed = true;
	*out = n;
	return 0;
}

int notify_reload(struct notify **np, struct server *srv, const struct config *conf, char *err, size_t errlen)
{
	struct notify *n = *np;
	if (!n)
		return notify_start(srv, conf, np, err, errlen);
	if (conf->transfer.nnotify == 0) {
		notify_stop(n);
		*np = NULL;
		return 0;
	}
	size_t nt = conf->transfer.nnotify;
	struct config_listen *targets = malloc(nt * sizeof(*targets));
	struct tsig_key *keys = calloc(nt, sizeof(*keys));
	if (!targets || !keys) {
		free(targets);
		free(keys);
		snprintf(err, errlen, "NOTIFY: out of memory: the targets stay as they were");
		return TERN_ENOMEM;
	}
	memcpy(targets, conf->transfer.notify, nt * sizeof(*targets));
	for (size_t i = 0; i < nt; i++)
		if (targets[i].key && targets[i].key <= conf->nkeys)
			keys[i] = conf->keys[targets[i].key - 1].key;
	pthread_mutex_lock(&n->lock);
	/* queued NOTIFYs follow their target to its new place (hashed anew); those of dropped targets go */
	for (size_t b = 0; b < n->tsize; b++)
		n->table[b] = NULL;
	n->count = 0;
	for (struct plist *l = &n->waiting; l; l = l == &n->waiting ? &n->fresh : NULL) {
		for (struct pending *p = l->head, *next; p; p = next) {
			next = p->next;
			const struct config_listen *was = &n->targets[p->target];
			size_t t = 0;
			while (t < nt && !is_target(&targets[t], &was->addr, was->addrlen))
				t++;
			if (t == nt) {
				plist_remove(l, p);
				free(p);
				continue;
			}
			p->target = t;
			p->hash = key_hash(p->apex, t);
			table_insert(n, p); /* never grows: at most as many as before */
		}
	}
	struct config_listen *old_targets = n->targets;
	struct tsig_key *old_keys = n->keys;
	size_t old_n = n->ntargets;
	n->targets = targets;
	n->keys = keys;
	n->ntargets = nt;
	pthread_mutex_unlock(&n->lock);
	free(old_targets);
	explicit_bzero(old_keys, old_n * sizeof(*old_keys)); /* secrets */
	free(old_keys);
	return 0;
}

void notify_stop(struct notify *n)
{
	if (!n)
		return;
	if (n->subscribed)
		zones_unsubscribe(n->srv->zones, on_publish, n);
	ev_thread_stop(&n->thread);
	ev_free(n->loop);
	if (n->fd4 >= 0)
		close(n->fd4);
	if (n->fd6 >= 0)
		close(n->fd6);
	pthread_mutex_destroy(&n->lock);
	free(n->targets);
	if (n->keys) /* secrets */
		explicit_bzero(n->keys, n->ntargets * sizeof(*n->keys));
	free(n->keys);
	for (struct plist *l = &n->waiting; l; l = l == &n->waiting ? &n->fresh : NULL) {
		for (struct pending *p = l->head, *next; p; p = next) {
			next = p->next;
			free(p);
		}
	}
	free(n->table);
	free(n);
}
