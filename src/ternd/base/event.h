/* The event loop every background thread of ternd runs: descriptor watchers over epoll, timers
 * (caller-owned, in a pairing heap, monotonic milliseconds), a coalesced wake-up any thread may
 * post, stop from any thread, and the one way ternd starts and joins a thread (a loop's, or a
 * caller's function).
 *
 * Threads: a loop belongs to the thread that runs it. Watchers and timers are added, changed and
 * removed from that thread only (or before the loop runs, or after it stopped); other threads
 * reach the loop through ev_async_send() and ev_stop(), which are safe anywhere.
 *
 * RCU (liburcu QSBR): with EV_RCU_ONLINE the loop registers its thread, runs callbacks online and
 * goes offline while blocked in epoll_wait (so a grace period never waits for a sleeping loop);
 * with EV_RCU_OFFLINE it registers the thread and keeps it offline, and a callback goes online
 * only around its reads (and is offline again when it returns). */
#pragma once
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ev_loop;

enum ev_flags {
	EV_RCU_ONLINE = 1, /* a QSBR reader, online while callbacks run */
	EV_RCU_OFFLINE = 2, /* a registered QSBR thread, offline but where a callback says */
};

/* ---- descriptors ---- */

struct ev_io;
/* events: what epoll reported (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP). */
typedef void (*ev_io_fn)(struct ev_loop *loop, struct ev_io *io, uint32_t events);

struct ev_io {
	int fd;
	uint32_t events; /* what is watched (EPOLLIN, EPOLLOUT; 0: registered, nothing watched) */
	ev_io_fn fn;
	void *arg;
	bool active;
};

/* Watches fd for events (level-triggered). The io is the caller's, and stays put while active. */
int ev_io_start(struct ev_loop *loop, struct ev_io *io, int fd, uint32_t events, ev_io_fn fn, void *arg);
/* Changes what is watched; a no-op when it is the same. */
int ev_io_modify(struct ev_loop *loop, struct ev_io *io, uint32_t events);
/* Stops watching (the descriptor stays open). Once it returns the callback is not called again
 * for io, not even for an event of the batch being run: the caller may free io at once. */
void ev_io_stop(struct ev_loop *loop, struct ev_io *io);
/* ev_io_stop() and close(fd) in one, without the epoll_ctl (closing leaves the epoll set). */
void ev_io_close(struct ev_loop *loop, struct ev_io *io);

/* ---- timers ---- */

struct ev_timer;
typedef void (*ev_timer_fn)(struct ev_loop *loop, struct ev_timer *t);

/* Caller-owned: arming never allocates, so it cannot fail. */
struct ev_timer {
	uint64_t at; /* monotonic ms when due */
	uint64_t seq; /* arming order: timers due at the same ms fire in the order armed */
	ev_timer_fn fn;
	void *arg;
	struct ev_timer *child, *next, *prev; /* the heap: prev is the parent of a first child */
	bool armed;
};

void ev_timer_init(struct ev_timer *t, ev_timer_fn fn, void *arg);
/* Arms t (or moves it) to fire at monotonic ms at; a time past fires on the next round. */
void ev_timer_at(struct ev_loop *loop, struct ev_timer *t, uint64_t at);
/* Arms t to fire ms from the loop's time now. */
void ev_timer_in(struct ev_loop *loop, struct ev_timer *t, uint64_t ms);
/* Disarms t; a no-op when it is not armed. A timer fires once per arming, disarmed as it fires. */
void ev_timer_cancel(struct ev_loop *loop, struct ev_timer *t);

/* ---- wake-ups from other threads ---- */

struct ev_async;
typedef void (*ev_async_fn)(struct ev_loop *loop, struct ev_async *a);

struct ev_async {
	ev_async_fn fn;
	void *arg;
	struct ev_loop *loop;
	atomic_bool pending;
	struct ev_async *next; /* the loop's list */
};

/* Registers a with loop (from the loop's thread, or before it runs). */
void ev_async_start(struct ev_loop *loop, struct ev_async *a, ev_async_fn fn, void *arg);
void ev_async_stop(struct ev_loop *loop, struct ev_async *a);
/* From any thread: the loop calls a's callback in its own thread, soon. Sends made before the
 * callback starts are coalesced into that one call; a send during the call makes another. Never
 * blocks, never allocates. */
void ev_async_send(struct ev_async *a);

/* ---- the loop ---- */

/* NULL when out of memory or descriptors. */
struct ev_loop *ev_new(unsigned flags);
/* Frees the loop (stopped, or never run); watchers and timers are the caller's to release. */
void ev_free(struct ev_loop *loop);
/* Runs until ev_stop(): due timers, then ready descriptors and wake-ups, then the before-wait
 * hook, then waits. 0 when stopped; a negative TERN_E* code when epoll fails (logged). */
int ev_run(struct ev_loop *loop);
/* From any thread: ev_run() returns after the callback running now, if any. */
void ev_stop(struct ev_loop *loop);
/* Called once a round, before the loop waits (after every batch of events): e.g. to free what
 * the batch closed, or re-arm a deadline. */
void ev_before_wait(struct ev_loop *loop, void (*fn)(struct ev_loop *loop, void *arg), void *arg);
/* The loop's time: monotonic ms, read once a round when the wait returns. */
uint64_t ev_now(const struct ev_loop *loop);
/* Monotonic ms, read now. */
uint64_t ev_clock_ms(void);

/* ---- a thread of ternd: a loop, or a caller's function ---- */

/* Every thread ternd starts goes through here, so each is named, runs with every signal blocked
 * (they are the main thread's, through sigwait) and is joined the same way. */
struct ev_thread {
	struct ev_loop *loop; /* a loop thread; NULL: a function thread */
	void (*fn)(void *arg);
	void *arg;
	pthread_t tid;
	bool started;
};

/* Starts a thread named name (15 characters at most show) running ev_run(loop). 0, or TERN_EIO. */
int ev_thread_start(struct ev_thread *t, struct ev_loop *loop, const char *name);
/* Starts a thread named name running fn(arg), for a loop that cannot be an ev_ loop (the UDP
 * workers' blocking recvmmsg). 0, or TERN_EIO. The caller makes fn return (its own flag and
 * wake-up) before ev_thread_stop(). */
int ev_thread_start_fn(struct ev_thread *t, void (*fn)(void *arg), void *arg, const char *name);
/* Joins the thread, after stopping its loop (a loop thread); a no-op when it never started. The
 * loop stays the caller's. t stays put while the thread runs. */
void ev_thread_stop(struct ev_thread *t);
