/* The event loop (see event.h): one epoll set, a pairing heap of caller-owned timers, one eventfd
 * that carries every cross-thread wake-up and the stop. In the spirit of Redis's ae.c. */
#include "ternd/base/event.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/base/log.h"

#define EV_BATCH 128 /* events taken from epoll per round */

struct ev_loop {
	int epfd;
	unsigned flags;
	atomic_bool stop;
	uint64_t now;
	uint64_t seq; /* timers armed so far */
	struct ev_timer *timers; /* the heap's root: the next due */
	struct ev_io wake; /* the eventfd: async sends and the stop */
	struct ev_async *asyncs;
	void (*before_wait)(struct ev_loop *loop, void *arg);
	void *before_wait_arg;
	struct epoll_event events[EV_BATCH];
	int nready, cur; /* the batch being run, and where in it */
};

uint64_t ev_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t ev_now(const struct ev_loop *loop)
{
	return loop->now;
}

/* ---- descriptors ---- */

int ev_io_start(struct ev_loop *loop, struct ev_io *io, int fd, uint32_t events, ev_io_fn fn, void *arg)
{
	*io = (struct ev_io){.fd = fd, .events = events, .fn = fn, .arg = arg};
	struct epoll_event ev = {.events = events, .data.ptr = io};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return errno == ENOMEM || errno == ENOSPC ? TERN_ENOMEM : TERN_EIO;
	io->active = true;
	return 0;
}

int ev_io_modify(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	if (io->events == events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = io};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return TERN_EIO;
	io->events = events;
	return 0;
}

/* No event of the batch being run reaches io any more. */
static void forget(struct ev_loop *loop, struct ev_io *io)
{
	for (int i = loop->cur + 1; i < loop->nready; i++)
		if (loop->events[i].data.ptr == io)
			loop->events[i].data.ptr = NULL;
	io->active = false;
}

void ev_io_stop(struct ev_loop *loop, struct ev_io *io)
{
	if (!io->active)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	forget(loop, io);
}

void ev_io_close(struct ev_loop *loop, struct ev_io *io)
{
	if (io->active)
		forget(loop, io);
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

/* ---- timers: a pairing heap ordered by (at, seq) ---- */

static bool before(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Two heaps (roots without siblings) as one; the later root becomes the first child of the other. */
static struct ev_timer *meld(struct ev_timer *a, struct ev_timer *b)
{
	if (!a || !b)
		return a ? a : b;
	if (before(b, a)) {
		struct ev_timer *t = a;
		a = b;
		b = t;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	return a;
}

/* A list of siblings as one heap: meld them in pairs left to right, then the pairs right to left. */
static struct ev_timer *meld_siblings(struct ev_timer *first)
{
	struct ev_timer *pairs = NULL;
	while (first) {
		struct ev_timer *a = first, *b = first->next;
		first = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b)
			b->next = b->prev = NULL;
		struct ev_timer *m = meld(a, b);
		m->next = pairs;
		pairs = m;
	}
	struct ev_timer *root = NULL;
	while (pairs) {
		struct ev_timer *next = pairs->next;
		pairs->next = NULL;
		root = meld(root, pairs);
		pairs = next;
	}
	return root;
}

void ev_timer_init(struct ev_timer *t, ev_timer_fn fn, void *arg)
{
	*t = (struct ev_timer){.fn = fn, .arg = arg};
}

void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t)
{
	if (!t->armed)
		return;
	if (t == loop->timers) {
		loop->timers = meld_siblings(t->child);
	} else {
		if (t->prev->child == t) /* a first child: prev is its parent */
			t->prev->child = t->next;
		else
			t->prev->next = t->next;
		if (t->next)
			t->next->prev = t->prev;
		loop->timers = meld(loop->timers, meld_siblings(t->child));
	}
	t->child = t->next = t->prev = NULL;
	t->armed = false;
}

void ev_timer_at(struct ev_loop *loop, struct ev_timer *t, uint64_t at)
{
	ev_timer_cancel(loop, t);
	t->at = at;
	t->seq = loop->seq++;
	t->armed = true;
	loop->timers = meld(loop->timers, t);
}

void ev_timer_in(struct ev_loop *loop, struct ev_timer *t, uint64_t ms)
{
	ev_timer_at(loop, t, ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + ms);
}

/* Fires the timers due now that were armed before this round: one re-armed by its own callback
 * for a time already past waits for the next round, so descriptors keep their turn. */
static void run_timers(struct ev_loop *loop)
{
	uint64_t limit = loop->seq;
	struct ev_timer *t;
	while ((t = loop->timers) != NULL && t->at <= loop->now && t->seq < limit &&
	       !atomic_load_explicit(&loop->stop, memory_order_relaxed)) {
		ev_timer_cancel(loop, t);
		t->fn(loop, t);
	}
}

/* Until the earliest timer, from the clock now rather than the round's time: callbacks that took
 * long (a transfer) must not push the timers after them back by as long. */
static int wait_ms(const struct ev_loop *loop)
{
	const struct ev_timer *t = loop->timers;
	if (!t)
		return -1;
	uint64_t now = ev_clock_ms();
	if (t->at <= now)
		return 0;
	return t->at - now > INT_MAX ? INT_MAX : (int)(t->at - now);
}

/* ---- wake-ups ---- */

void ev_async_start(struct ev_loop *loop, struct ev_async *a, ev_async_fn fn, void *arg)
{
	a->fn = fn;
	a->arg = arg;
	a->loop = loop;
	atomic_init(&a->pending, false);
	a->next = loop->asyncs;
	loop->asyncs = a;
}

void ev_async_stop(struct ev_loop *loop, struct ev_async *a)
{
	for (struct ev_async **p = &loop->asyncs; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			break;
		}
	}
	a->next = NULL;
}

static void wake(struct ev_loop *loop)
{
	uint64_t one = 1;
	/* fails only when the counter is full, which leaves it readable anyway */
	while (write(loop->wake.fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void ev_async_send(struct ev_async *a)
{
	if (!atomic_exchange(&a->pending, true))
		wake(a->loop);
}

/* The eventfd is readable: runs every wake-up posted since the last time. */
static void on_wake(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)events;
	uint64_t count;
	if (read(io->fd, &count, sizeof(count)) < 0 && errno != EAGAIN && errno != EINTR)
		log_debug("event loop: eventfd: %s", strerror(errno));
	for (struct ev_async *a = loop->asyncs, *next; a; a = next) {
		next = a->next;
		if (atomic_exchange(&a->pending, false))
			a->fn(loop, a);
		if (atomic_load_explicit(&loop->stop, memory_order_relaxed))
			return;
	}
}

/* ---- the loop ---- */

struct ev_loop *ev_new(unsigned flags)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->flags = flags;
	atomic_init(&loop->stop, false);
	loop->now = ev_clock_ms();
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || efd < 0 || ev_io_start(loop, &loop->wake, efd, EPOLLIN, on_wake, NULL) < 0) {
		if (efd >= 0)
			close(efd);
		if (loop->epfd >= 0)
			close(loop->epfd);
		free(loop);
		return NULL;
	}
	return loop;
}

void ev_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	close(loop->wake.fd);
	close(loop->epfd);
	free(loop);
}

void ev_stop(struct ev_loop *loop)
{
	atomic_store(&loop->stop, true);
	wake(loop);
}

void ev_before_wait(struct ev_loop *loop, void (*fn)(struct ev_loop *loop, void *arg), void *arg)
{
	loop->before_wait = fn;
	loop->before_wait_arg = arg;
}

static bool stopped(struct ev_loop *loop)
{
	return atomic_load_explicit(&loop->stop, memory_order_relaxed);
}

int ev_run(struct ev_loop *loop)
{
	int rc = 0;
	if (loop->flags & (EV_RCU_ONLINE | EV_RCU_OFFLINE))
		rcu_register_thread();
	if (loop->flags & EV_RCU_OFFLINE)
		rcu_thread_offline();
	loop->now = ev_clock_ms();
	while (!stopped(loop)) {
		run_timers(loop);
		if (loop->before_wait && !stopped(loop))
			loop->before_wait(loop, loop->before_wait_arg);
		if (stopped(loop))
			break;
		int timeout = wait_ms(loop);
		if (loop->flags & EV_RCU_ONLINE)
			rcu_thread_offline(); /* blocked: a grace period need not wait for us */
		int n = epoll_wait(loop->epfd, loop->events, EV_BATCH, timeout);
		int e = errno;
		if (loop->flags & EV_RCU_ONLINE)
			rcu_thread_online();
		loop->now = ev_clock_ms();
		if (n < 0) {
			if (e == EINTR)
				continue;
			log_error("event loop: epoll_wait: %s", strerror(e));
			rc = TERN_EIO;
			break;
		}
		loop->nready = n;
		for (loop->cur = 0; loop->cur < n && !stopped(loop); loop->cur++) {
			struct ev_io *io = loop->events[loop->cur].data.ptr;
			if (io) /* NULL: stopped by a callback of this batch */
				io->fn(loop, io, loop->events[loop->cur].events);
		}
		loop->nready = loop->cur = 0;
	}
	if (loop->flags & EV_RCU_OFFLINE)
		rcu_thread_online();
	if (loop->flags & (EV_RCU_ONLINE | EV_RCU_OFFLINE))
		rcu_unregister_thread();
	return rc;
}

/* ---- a thread of ternd ---- */

static void *thread_main(void *arg)
{
	struct ev_thread *t = arg;
	if (t->loop)
		ev_run(t->loop);
	else
		t->fn(t->arg);
	return NULL;
}

static int thread_start(struct ev_thread *t, const char *name)
{
	t->started = false;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the mask */
	int e = pthread_create(&t->tid, NULL, thread_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return TERN_EIO;
	char short_name[16];
	snprintf(short_name, sizeof(short_name), "%s", name);
	pthread_setname_np(t->tid, short_name);
	t->started = true;
	return 0;
}

int ev_thread_start(struct ev_thread *t, struct ev_loop *loop, const char *name)
{
	*t = (struct ev_thread){.loop = loop};
	return thread_start(t, name);
}

int ev_thread_start_fn(struct ev_thread *t, void (*fn)(void *arg), void *arg, const char *name)
{
	*t = (struct ev_thread){.fn = fn, .arg = arg};
	return thread_start(t, name);
}

void ev_thread_stop(struct ev_thread *t)
{
	if (!t->started)
		return;
	if (t->loop)
		ev_stop(t->loop);
	pthread_join(t->tid, NULL);
	t->started = false;
}
