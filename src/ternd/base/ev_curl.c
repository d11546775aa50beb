/* libcurl's multi socket interface on an ev_ loop (ev_curl.h). */
#include "ternd/base/ev_curl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/error.h"

struct ev_curl_sock {
	struct ev_io io;
	struct ev_curl *c;
	struct ev_curl_sock *next;
};

static void on_socket_ready(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)loop;
	struct ev_curl_sock *s = io->arg;
	struct ev_curl *c = s->c;
	int flags = (events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
	            (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
	int running = 0;
	curl_multi_socket_action(c->multi, io->fd, flags, &running); /* may free s */
	c->collect(c->arg);
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	struct ev_curl *c = t->arg;
	int running = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	c->collect(c->arg);
}

/* CURLMOPT_SOCKETFUNCTION: what to watch on a socket, or that it goes. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	(void)easy;
	struct ev_curl *c = userp;
	struct ev_curl_sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (!s)
			return 0;
		ev_io_stop(c->loop, &s->io);
		for (struct ev_curl_sock **l = &c->socks; *l; l = &(*l)->next) {
			if (*l == s) {
				*l = s->next;
				break;
			}
		}
		free(s);
		return 0;
	}
	uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (s)
		return ev_io_modify(c->loop, &s->io, events) < 0 ? -1 : 0;
	if (!(s = calloc(1, sizeof(*s))))
		return -1;
	s->c = c;
	if (ev_io_start(c->loop, &s->io, fd, events, on_socket_ready, s) < 0) {
		free(s);
		return -1;
	}
	s->next = c->socks;
	c->socks = s;
	curl_multi_assign(c->multi, fd, s);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: when to call libcurl back (-1: never). */
static int on_timer(CURLM *multi, long ms, void *userp)
{
	(void)multi;
	struct ev_curl *c = userp;
	if (ms < 0)
		ev_timer_cancel(c->loop, &c->timeout);
	else
		ev_timer_at(c->loop, &c->timeout, ev_clock_ms() + (uint64_t)ms);
	return 0;
}

int ev_curl_init(struct ev_curl *c, struct ev_loop *loop, void (*collect)(void *arg), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->collect = collect;
	c->arg = arg;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return TERN_EIO;
	c->global = true;
	if (!(c->multi = curl_multi_init()))
		return TERN_ENOMEM;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	ev_timer_init(&c->timeout, on_timeout, c);
	return 0;
}

void ev_curl_cleanup(struct ev_curl *c)
{
	if (c->multi)
		curl_multi_cleanup(c->multi);
	while (c->socks) { /* those libcurl did not say were gone */
		struct ev_curl_sock *s = c->socks;
		c->socks = s->next;
		free(s);
	}
	if (c->global)
		curl_global_cleanup();
	memset(c, 0, sizeof(*c));
}
