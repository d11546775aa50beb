/* Unit tests for the event loop (src/ternd/base/event.c): timers fire in deadline order and once
 * per arming, cancel and re-arm, descriptor readiness, a stopped watcher gets no stale event, async
 * sends coalesce and cross threads, stop from another thread, the RCU state callbacks run in, a
 * caller's function in a thread, and waits measured from the clock after a long callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "ternd/base/event.h"

/* ---- timers ---- */

struct fired {
	int order[2048];
	int n;
};

struct tmr {
	struct ev_timer t;
	struct fired *log;
	int id;
};

static void on_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	struct tmr *m = t->arg;
	m->log->order[m->log->n++] = m->id;
}

static void stop_now(struct ev_loop *loop, void *arg)
{
	(void)arg;
	ev_stop(loop);
}

/* Timers due before the loop runs all fire in its first round, earliest first, and those due at
 * the same ms in the order armed; cancelled ones never fire; a re-armed one fires at its new time. */
static void test_timers_fire_in_order(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	enum { N = 1000 };
	static struct tmr tm[N];
	struct fired log = {0};
	uint64_t base = ev_now(loop) > 5000 ? ev_now(loop) - 5000 : 0; /* all past */
	srand(7);
	for (int i = 0; i < N; i++) {
		tm[i].log = &log;
		tm[i].id = i;
		ev_timer_init(&tm[i].t, on_timer, &tm[i]);
		ev_timer_at(loop, &tm[i].t, base + (uint64_t)(rand() % 200));
	}
	bool cancelled[N] = {0};
	for (int i = 0; i < N; i += 3) { /* a third cancelled, some of them twice */
		ev_timer_cancel(loop, &tm[i].t);
		ev_timer_cancel(loop, &tm[i].t);
		cancelled[i] = true;
	}
	for (int i = 1; i < N; i += 7) /* some moved, one of them cancelled before */
		ev_timer_at(loop, &tm[i].t, base + (uint64_t)(rand() % 200)), cancelled[i] = false;
	ev_before_wait(loop, stop_now, NULL);
	assert_int_equal(ev_run(loop), 0);
	int expect = 0;
	for (int i = 0; i < N; i++)
		expect += !cancelled[i];
	assert_int_equal(log.n, expect);
	for (int k = 0; k < log.n; k++) {
		assert_false(cancelled[log.order[k]]);
		assert_false(tm[log.order[k]].t.armed);
		if (k == 0)
			continue;
		const struct ev_timer *a = &tm[log.order[k - 1]].t, *b = &tm[log.order[k]].t;
		assert_true(a->at < b->at || (a->at == b->at && a->seq < b->seq));
	}
	ev_free(loop);
}

struct rearm {
	struct ev_timer t;
	int fires, rounds_seen[4];
	int *rounds;
};

static void on_rearm(struct ev_loop *loop, struct ev_timer *t)
{
	struct rearm *r = t->arg;
	r->rounds_seen[r->fires++] = *r->rounds;
	if (r->fires < 4)
		ev_timer_at(loop, t, 0); /* past at once: waits for the next round */
	else
		ev_stop(loop);
}

static void count_round(struct ev_loop *loop, void *arg)
{
	(void)loop;
	(*(int *)arg)++;
}

/* Timers fire by wall order with real waits: one moved later fires after one it was before; a
 * cancelled one never; one re-armed in its own callback for a past time fires once per round. */
static void test_timers_cancel_and_rearm(void **state)
{
	(void)state;
	uint64_t t0 = ev_clock_ms(); /* before the loop: its timers count from the time it read (ev_now) */
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	struct fired log = {0};
	struct tmr a = {.log = &log, .id = 1}, b = {.log = &log, .id = 2}, c = {.log = &log, .id = 3};
	ev_timer_init(&a.t, on_timer, &a);
	ev_timer_init(&b.t, on_timer, &b);
	ev_timer_init(&c.t, on_timer, &c);
	ev_timer_in(loop, &a.t, 10);
	ev_timer_in(loop, &b.t, 20);
	ev_timer_in(loop, &c.t, 15);
	ev_timer_in(loop, &a.t, 30); /* moved after b */
	ev_timer_cancel(loop, &c.t);
	int rounds = 0;
	struct rearm r = {.rounds = &rounds};
	ev_timer_init(&r.t, on_rearm, &r);
	ev_timer_in(loop, &r.t, 40);
	ev_before_wait(loop, count_round, &rounds);
	assert_int_equal(ev_run(loop), 0);
	assert_true(ev_clock_ms() - t0 >= 40);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.order[0], 2);
	assert_int_equal(log.order[1], 1);
	assert_int_equal(r.fires, 4);
	for (int i = 1; i < 4; i++)
		assert_int_equal(r.rounds_seen[i], r.rounds_seen[i - 1] + 1);
	ev_free(loop);
}

struct slow {
	struct ev_timer slow, next;
	uint64_t next_armed, next_fired;
};

static void on_next(struct ev_loop *loop, struct ev_timer *t)
{
	struct slow *s = t->arg;
	s->next_fired = ev_clock_ms();
	ev_stop(loop);
}

static void on_slow(struct ev_loop *loop, struct ev_timer *t)
{
	struct slow *s = t->arg;
	usleep(400000); /* a transfer, say */
	s->next_armed = ev_clock_ms();
	ev_timer_at(loop, &s->next, s->next_armed + 50);
}

/* A callback that ran long does not push back a timer armed for a time measured after it: the
 * wait is from the clock, not from the round's time (which is 400 ms old by then). */
static void test_timer_after_long_callback(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	struct slow s = {0};
	ev_timer_init(&s.slow, on_slow, &s);
	ev_timer_init(&s.next, on_next, &s);
	ev_timer_in(loop, &s.slow, 0);
	assert_int_equal(ev_run(loop), 0);
	assert_true(s.next_fired >= s.next_armed + 50);
	assert_true(s.next_fired < s.next_armed + 250); /* 450 when measured from the round's time */
	ev_free(loop);
}

/* ---- descriptors ---- */

struct pipe_end {
	struct ev_io io;
	int calls;
	struct pipe_end *other; /* stopped by this one's callback */
};

static void on_readable(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct pipe_end *p = io->arg;
	assert_true(events & EPOLLIN);
	p->calls++;
	char c;
	assert_int_equal(read(io->fd, &c, 1), 1);
	if (p->other)
		ev_io_stop(loop, &p->other->io);
	ev_io_stop(loop, io);
	ev_stop(loop);
}

/* A readable descriptor runs its callback; a watcher stopped by a callback of the same batch gets
 * none of that batch's events, though its descriptor was ready too. */
static void test_fd_readiness(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	int p1[2], p2[2];
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	struct pipe_end a = {0}, b = {0};
	a.other = &b;
	b.other = &a;
	assert_int_equal(ev_io_start(loop, &a.io, p1[0], EPOLLIN, on_readable, &a), 0);
	assert_int_equal(ev_io_start(loop, &b.io, p2[0], EPOLLIN, on_readable, &b), 0);
	assert_int_equal(write(p1[1], "x", 1), 1);
	assert_int_equal(write(p2[1], "y", 1), 1);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(a.calls + b.calls, 1);
	assert_false(a.io.active);
	assert_false(b.io.active);
	ev_free(loop);
	close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
}

struct writable {
	struct ev_io io;
	int calls;
};

static void on_writable(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct writable *w = io->arg;
	assert_true(events & EPOLLOUT);
	w->calls++;
	ev_io_modify(loop, io, 0); /* watched for nothing: no more calls */
}

static void stop_timer(struct ev_loop *loop, struct ev_timer *t)
{
	(void)t;
	ev_stop(loop);
}

/* EPOLLOUT, and a watcher modified to nothing stays quiet; ev_io_close closes the descriptor. */
static void test_fd_modify_and_close(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct writable w = {0};
	assert_int_equal(ev_io_start(loop, &w.io, p[1], EPOLLOUT, on_writable, &w), 0);
	struct ev_timer stop;
	ev_timer_init(&stop, stop_timer, NULL);
	ev_timer_in(loop, &stop, 30);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(w.calls, 1);
	ev_io_close(loop, &w.io);
	assert_int_equal(w.io.fd, -1);
	assert_int_equal(write(p[1], "x", 1), -1); /* closed */
	ev_free(loop);
	close(p[0]);
}

/* ---- wake-ups and stop from other threads ---- */

struct counter {
	struct ev_async a;
	int calls;
	_Atomic int sent;
	_Atomic bool done;
	int seen_at_last;
	bool expect_online;
};

static void on_async(struct ev_loop *loop, struct ev_async *a)
{
	struct counter *c = a->arg;
	c->calls++;
	if (atomic_load(&c->done)) {
		c->seen_at_last = atomic_load(&c->sent);
		ev_stop(loop);
	}
}

/* Sends before the loop runs are one call. */
static void test_async_coalesces(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	struct counter c = {0};
	ev_async_start(loop, &c.a, on_async, &c);
	for (int i = 0; i < 5; i++)
		ev_async_send(&c.a);
	atomic_store(&c.done, true);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(c.calls, 1);
	ev_async_stop(loop, &c.a);
	ev_free(loop);
}

static void *sender(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < 20000; i++) {
		atomic_fetch_add(&c->sent, 1);
		ev_async_send(&c->a);
	}
	atomic_store(&c->done, true);
	ev_async_send(&c->a);
	return NULL;
}

/* Sends from another thread reach the loop's thread; every send is followed by a call, and the
 * calls are never more than the sends. */
static void test_async_from_another_thread(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_new(0);
	assert_non_null(loop);
	struct counter c = {0};
	ev_async_start(loop, &c.a, on_async, &c);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, sender, &c), 0);
	assert_int_equal(ev_run(loop), 0);
	pthread_join(th, NULL);
	assert_int_equal(c.seen_at_last, 20000);
	assert_true(c.calls >= 1 && c.calls <= 20001);
	ev_free(loop);
}

struct ticker {
	struct ev_timer t;
	_Atomic int ticks;
	bool rcu_online_seen, rcu_offline_seen;
};

static void on_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct ticker *k = t->arg;
	if (rcu_read_ongoing())
		k->rcu_online_seen = true;
	else
		k->rcu_offline_seen = true;
	atomic_fetch_add(&k->ticks, 1);
	ev_timer_in(loop, t, 1);
}

static void wait_ticks(struct ticker *k, int n)
{
	while (atomic_load(&k->ticks) < n)
		usleep(1000);
}

/* A loop in its own thread stops from another thread, busy with timers or blocked with nothing
 * armed; with EV_RCU_ONLINE its callbacks run online, with EV_RCU_OFFLINE offline. */
static void test_thread_stop(void **state)
{
	(void)state;
	unsigned modes[] = {EV_RCU_ONLINE, EV_RCU_OFFLINE, 0};
	for (size_t m = 0; m < 3; m++) {
		struct ev_loop *loop = ev_new(modes[m]);
		assert_non_null(loop);
		struct ticker k = {0};
		ev_timer_init(&k.t, on_tick, &k);
		ev_timer_in(loop, &k.t, 1);
		struct ev_thread th;
		assert_int_equal(ev_thread_start(&th, loop, "test-event"), 0);
		wait_ticks(&k, 3);
		ev_thread_stop(&th);
		ev_thread_stop(&th); /* twice: a no-op */
		assert_false(th.started);
		if (modes[m] == EV_RCU_ONLINE)
			assert_true(k.rcu_online_seen && !k.rcu_offline_seen);
		else if (modes[m] == EV_RCU_OFFLINE)
			assert_true(k.rcu_offline_seen && !k.rcu_online_seen);
		ev_timer_cancel(loop, &k.t);
		ev_free(loop);
	}
	/* nothing armed: blocked in epoll_wait with no timeout */
	struct ev_loop *loop = ev_new(EV_RCU_ONLINE);
	assert_non_null(loop);
	struct ev_thread th;
	assert_int_equal(ev_thread_start(&th, loop, "test-event-idle"), 0);
	usleep(20000);
	ev_thread_stop(&th);
	ev_free(loop);
}

struct fn_thread {
	_Atomic bool go, ran;
	char name[16];
	bool signals_blocked;
};

static void fn_body(void *arg)
{
	struct fn_thread *f = arg;
	pthread_getname_np(pthread_self(), f->name, sizeof(f->name));
	sigset_t mask;
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	f->signals_blocked = sigismember(&mask, SIGTERM) && sigismember(&mask, SIGHUP) && sigismember(&mask, SIGINT) &&
	                     sigismember(&mask, SIGUSR1);
	while (!atomic_load(&f->go))
		usleep(1000);
	usleep(50000);
	atomic_store(&f->ran, true);
}

/* A caller's function in a thread of ternd: named, every signal blocked, and ev_thread_stop()
 * joins it (no loop to stop: the function returns on its own). */
static void test_thread_fn(void **state)
{
	(void)state;
	struct fn_thread f = {0};
	struct ev_thread th;
	assert_int_equal(ev_thread_start_fn(&th, fn_body, &f, "test-event-function"), 0);
	assert_true(th.started);
	atomic_store(&f.go, true);
	ev_thread_stop(&th);
	assert_true(atomic_load(&f.ran));
	assert_false(th.started);
	ev_thread_stop(&th); /* twice: a no-op */
	assert_string_equal(f.name, "test-event-func"); /* cut to 15 characters */
	assert_true(f.signals_blocked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timers_fire_in_order),
	    cmocka_unit_test(test_timers_cancel_and_rearm),
	    cmocka_unit_test(test_fd_readiness),
	    cmocka_unit_test(test_fd_modify_and_close),
	    cmocka_unit_test(test_async_coalesces),
	    cmocka_unit_test(test_async_from_another_thread),
	    cmocka_unit_test(test_thread_stop),
	    cmocka_unit_test(test_thread_fn),
	    cmocka_unit_test(test_timer_after_long_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
