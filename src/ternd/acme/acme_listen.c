/* The responder's TCP server: one thread polls the listening sockets and up to MAX_CONNS
 * connections; each gets one reply (acme_responder_answer) and is closed. A connection has
 * CONN_MS from its accept to send its request head; when the table is full the oldest is dropped. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/acme/acme_responder.h"
#include "ternd/base/config.h"

#define MAX_LISTEN 16
#define MAX_CONNS 256
#define CONN_MS 10000 /* to send the request head */
#define LINGER_MS 2000 /* after the reply, reading what the client still sends, so it is not reset */

enum phase { PH_FREE, PH_HEAD, PH_LINGER };

struct conn {
	int fd;
	enum phase phase;
	uint64_t deadline;
	uint64_t accepted;
	struct sockaddr_storage peer;
	size_t len;
	char in[ACME_RESPONDER_HEAD_MAX];
};

struct acme_listener {
	int fds[MAX_LISTEN];
	unsigned ports[MAX_LISTEN];
	size_t nfds;
	int wake[2];
	char thumbprint[ACME_THUMBPRINT_LEN + 1];
	pthread_t thread;
	bool started;
	atomic_ulong counts[3];
	acme_reply_fn on_reply;
	void *arg;
	struct conn *conns; /* MAX_CONNS */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->phase = PH_FREE;
	c->len = 0;
}

static void reply(struct acme_listener *l, struct conn *c, const struct acme_reply *r)
{
	char out[512];
	size_t n = acme_reply_format(r, out, sizeof(out));
	atomic_fetch_add(&l->counts[r->status == 200 ? 0 : r->status == 404 ? 1 : 2], 1);
	/* A reply fits any socket buffer; a client that cannot take 500 bytes loses it. */
	(void)!send(c->fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(c->fd, SHUT_WR);
	if (l->on_reply)
		l->on_reply(l->arg, &c->peer, r);
	c->phase = PH_LINGER;
	c->deadline = now_ms() + LINGER_MS;
}

static void step(struct acme_listener *l, struct conn *c)
{
	struct acme_reply r;
	if (acme_responder_request(l->thumbprint, c->in, c->len, &r))
		reply(l, c, &r);
}

static void on_readable(struct acme_listener *l, struct conn *c)
{
	if (c->phase == PH_LINGER) {
		char sink[1024];
		ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->len, sizeof(c->in) - c->len, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (n > 0) {
		c->len += (size_t)n;
		step(l, c);
	}
}

static void on_accept(struct acme_listener *l, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* the connection stays queued and the socket readable: not a busy loop while it lasts */
			struct timespec ts = {0, 10 * 1000000};
			nanosleep(&ts, NULL);
		}
		return;
	}
	struct conn *slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < MAX_CONNS && !slot; i++) {
		struct conn *c = &l->conns[i];
		if (c->phase == PH_FREE)
			slot = c;
		else if (!oldest || c->accepted < oldest->accepted)
			oldest = c;
	}
	if (!slot) {
		conn_close(oldest);
		slot = oldest;
	}
	slot->fd = fd;
	slot->peer = peer;
	slot->phase = PH_HEAD;
	slot->len = 0;
	slot->accepted = now_ms();
	slot->deadline = slot->accepted + CONN_MS;
}

static void *run(void *arg)
{
	struct acme_listener *l = arg;
	struct pollfd *pfd = calloc(MAX_LISTEN + 1 + MAX_CONNS, sizeof(*pfd));
	struct conn **who = calloc(MAX_CONNS, sizeof(*who));
	if (!pfd || !who) {
		free(pfd);
		free(who);
		return NULL;
	}
	for (;;) {
		size_t n = 0, nc = 0;
		pfd[n++] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
		for (size_t i = 0; i < l->nfds; i++)
			pfd[n++] = (struct pollfd){.fd = l->fds[i], .events = POLLIN};
		uint64_t now = now_ms(), next = now + 1000;
		for (size_t i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &l->conns[i];
			if (c->phase == PH_FREE)
				continue;
			if (c->deadline <= now) {
				conn_close(c); /* a head not sent in time gets no answer: nothing to echo */
				continue;
			}
			if (c->deadline < next)
				next = c->deadline;
			who[nc++] = c;
			pfd[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		}
		int r = poll(pfd, n, (int)(next - now));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (pfd[0].revents)
			break;
		for (size_t i = 0; i < l->nfds; i++)
			if (pfd[1 + i].revents & POLLIN)
				on_accept(l, l->fds[i]);
		for (size_t i = 0; i < nc; i++)
			if (pfd[1 + l->nfds + i].revents && who[i]->phase != PH_FREE)
				on_readable(l, who[i]);
	}
	free(pfd);
	free(who);
	return NULL;
}

int acme_listen_start(const struct acme_listen_addr *addrs, size_t n, const char *thumbprint, acme_reply_fn on_reply,
                      void *arg, struct acme_listener **out, char *err, size_t errlen)
{
	int rc = acme_listen_open(addrs, n, thumbprint, on_reply, arg, out, err, errlen);
	if (rc == 0 && (rc = acme_listen_run(*out, err, errlen)) < 0) {
		acme_listen_stop(*out);
		*out = NULL;
	}
	return rc;
}

int acme_listen_open(const struct acme_listen_addr *addrs, size_t n, const char *thumbprint, acme_reply_fn on_reply,
                     void *arg, struct acme_listener **out, char *err, size_t errlen)
{
	if (!acme_thumbprint_ok(thumbprint)) {
		snprintf(err, errlen, "thumbprint: not 43 base64url characters");
		return TERN_EINVAL;
	}
	if (n == 0 || n > MAX_LISTEN) {
		snprintf(err, errlen, "listen: 1 to %d addresses", MAX_LISTEN);
		return TERN_EINVAL;
	}
	struct acme_listener *l = calloc(1, sizeof(*l));
	if (!l || !(l->conns = calloc(MAX_CONNS, sizeof(struct conn)))) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	l->wake[0] = l->wake[1] = -1;
	for (size_t i = 0; i < MAX_CONNS; i++)
		l->conns[i].fd = -1;
	memcpy(l->thumbprint, thumbprint, sizeof(l->thumbprint));
	l->on_reply = on_reply;
	l->arg = arg;
	for (size_t i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i].addr;
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
		if (fd >= 0)
			l->fds[l->nfds++] = fd;
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
		    bind(fd, sa, addrs[i].len) < 0 || listen(fd, 128) < 0) {
			snprintf(err, errlen, "listen[%zu]: %s", i, strerror(errno));
			goto fail;
		}
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);
		getsockname(fd, (struct sockaddr *)&got, &glen);
		l->ports[i] = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
		                                              : ((struct sockaddr_in *)&got)->sin_port);
	}
	if (pipe2(l->wake, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	acme_listen_stop(l);
	return TERN_EIO;
}

int acme_listen_run(struct acme_listener *l, char *err, size_t errlen)
{
	if (!l)
		return 0;
	if (pthread_create(&l->thread, NULL, run, l) != 0) {
		snprintf(err, errlen, "cannot start the responder's thread");
		return TERN_EIO;
	}
	l->started = true;
	return 0;
}

unsigned acme_listen_port(const struct acme_listener *l, size_t i)
{
	return i < l->nfds ? l->ports[i] : 0;
}

void acme_listen_counts(const struct acme_listener *l, unsigned long out[3])
{
	for (int i = 0; i < 3; i++)
		out[i] = atomic_load(&((struct acme_listener *)l)->counts[i]);
}

void acme_listen_stop(struct acme_listener *l)
{
	if (!l)
		return;
	if (l->started) {
		(void)!write(l->wake[1], "x", 1);
		pthread_join(l->thread, NULL);
	}
	for (size_t i = 0; i < MAX_CONNS; i++)
		if (l->conns[i].phase != PH_FREE)
			close(l->conns[i].fd);
	for (size_t i = 0; i < l->nfds; i++)
		close(l->fds[i]);
	if (l->wake[0] >= 0) {
		close(l->wake[0]);
		close(l->wake[1]);
	}
	free(l->conns);
	free(l);
}

int acme_listen_open_config(const struct config_acme_responder *c, struct acme_listener **out, char *err, size_t errlen)
{
	struct acme_listen_addr addrs[MAX_LISTEN];
	char thumb[ACME_THUMBPRINT_LEN + 1], kerr[200];
	*out = NULL;
	if (!c->enabled)
		return 0;
	if (c->nlisten > MAX_LISTEN) {
		snprintf(err, errlen, "acme.responder.listen: at most %d addresses", MAX_LISTEN);
		return TERN_ECONFIG;
	}
	if (c->thumbprint) {
		snprintf(thumb, sizeof(thumb), "%s", c->thumbprint);
	} else {
		char pem[16385];
		FILE *f = fopen(c->account_key, "r");
		if (!f) {
			snprintf(err, errlen, "acme.responder.account-key: %s: %s", c->account_key, strerror(errno));
			return TERN_EIO;
		}
		size_t n = fread(pem, 1, sizeof(pem), f);
		fclose(f);
		EVP_PKEY *k = acme_key_from_pem(pem, n, kerr, sizeof(kerr));
		int rc = k ? acme_thumbprint(k, thumb, kerr, sizeof(kerr)) : TERN_EINVAL;
		EVP_PKEY_free(k);
		memset(pem, 0, sizeof(pem));
		if (rc < 0) {
			snprintf(err, errlen, "acme.responder.account-key: %s: %s", c->account_key, kerr);
			return TERN_ECONFIG;
		}
	}
	for (size_t i = 0; i < c->nlisten; i++) {
		addrs[i].addr = c->listen[i].addr;
		addrs[i].len = c->listen[i].addrlen;
	}
	int rc = acme_listen_open(addrs, c->nlisten, thumb, NULL, NULL, out, kerr, sizeof(kerr));
	if (rc < 0)
		snprintf(err, errlen, "acme.responder: %s", kerr);
	return rc;
}
