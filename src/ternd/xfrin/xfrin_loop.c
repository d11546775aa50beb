/* The refresh thread: its heap of deadlines (one per zone: refresh, expiry or disk copy, whichever
 * comes first), its wake-ups (an eventfd for NOTIFY flags and new zones, another for stop) and the
 * loop that runs each zone's deadline when it falls due. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/xfrin_impl.h"

/* ---- the heap of deadlines ---- */

uint64_t xfrin_due(const struct xfrin_zone *z)
{
	uint64_t d = z->serving && z->expire_at < z->refresh_at ? z->expire_at : z->refresh_at;
	return z->copy_at && z->copy_at < d ? z->copy_at : d;
}

static void heap_set(struct xfrin *x, size_t i, struct xfrin_zone *z)
{
	x->heap[i] = z;
	z->heap_pos = i;
}

static void heap_up(struct xfrin *x, size_t i)
{
	struct xfrin_zone *z = x->heap[i];
	while (i > 0 && xfrin_due(x->heap[(i - 1) / 2]) > xfrin_due(z)) {
		heap_set(x, i, x->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(x, i, z);
}

static void heap_down(struct xfrin *x, size_t i)
{
	struct xfrin_zone *z = x->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= x->nheap)
			break;
		if (c + 1 < x->nheap && xfrin_due(x->heap[c + 1]) < xfrin_due(x->heap[c]))
			c++;
		if (xfrin_due(x->heap[c]) >= xfrin_due(z))
			break;
		heap_set(x, i, x->heap[c]);
		i = c;
	}
	heap_set(x, i, z);
}

void xfrin_timers_update(struct xfrin *x, struct xfrin_zone *z)
{
	heap_up(x, z->heap_pos);
	heap_down(x, z->heap_pos);
}

int xfrin_timers_push(struct xfrin *x, struct xfrin_zone *z)
{
	if (x->nheap == x->capheap) {
		size_t ncap = x->capheap ? x->capheap * 2 : 16;
		struct xfrin_zone **h = realloc(x->heap, ncap * sizeof(*h));
		if (!h)
			return TERN_ENOMEM;
		x->heap = h;
		x->capheap = ncap;
	}
	heap_set(x, x->nheap++, z);
	heap_up(x, z->heap_pos);
	return 0;
}

void xfrin_timers_delete(struct xfrin *x, struct xfrin_zone *z)
{
	size_t i = z->heap_pos;
	struct xfrin_zone *last = x->heap[--x->nheap];
	if (i < x->nheap) {
		heap_set(x, i, last);
		xfrin_timers_update(x, last);
	}
}

/* ---- the thread ---- */

/* NOTIFY flags set by the query path become refreshes due now. Lock held. */
static void take_notifies(struct xfrin *x, uint64_t now)
{
	for (size_t i = 0; i < x->nzones; i++) {
		struct xfrin_zone *z = x->zones[i];
		if (atomic_load_explicit(&z->notified, memory_order_relaxed) && atomic_exchange(&z->notified, false)) {
			log_info("zone %s: NOTIFY from a primary: refreshing", z->name);
			z->refresh_at = now;
			xfrin_timers_update(x, z);
			xfrin_zone_status(x, z);
		}
	}
}

static void *run(void *arg)
{
	struct xfrin *x = arg;
	pthread_mutex_lock(&x->lock);
	while (!x->stop) {
		uint64_t now = xfrin_now_ms();
		take_notifies(x, now);
		struct xfrin_zone *z = x->nheap ? x->heap[0] : NULL;
		if (z && xfrin_due(z) <= now) {
			if (z->copy_at && z->copy_at <= now) {
				xfrin_copy_save(z);
				xfrin_timers_update(x, z);
			} else if (z->serving && z->expire_at <= now)
				xfrin_zone_expire(x, z);
			else
				xfrin_refresh(x, z);
			continue;
		}
		uint64_t wait = z ? xfrin_due(z) - now : UINT64_MAX;
		pthread_mutex_unlock(&x->lock);
		struct pollfd p[2] = {{x->wake, POLLIN, 0}, {x->stop_fd, POLLIN, 0}};
		if (poll(p, 2, wait > 3600000 ? 3600000 : (int)wait) > 0 && (p[0].revents & POLLIN)) {
			uint64_t count;
			if (read(x->wake, &count, sizeof(count)) < 0)
				log_debug("secondary zones: wake: %s", strerror(errno));
		}
		pthread_mutex_lock(&x->lock);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

int xfrin_loop_open(struct xfrin *x, char *err, size_t errlen)
{
	x->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->wake < 0 || x->stop_fd < 0) {
		snprintf(err, errlen, "secondary zones: eventfd: %s", strerror(errno));
		return TERN_EIO;
	}
	return 0;
}

int xfrin_loop_start(struct xfrin *x, char *err, size_t errlen)
{
	if (pthread_create(&x->thread, NULL, run, x) != 0) {
		snprintf(err, errlen, "secondary zones: cannot start the refresh thread");
		return TERN_EIO;
	}
	x->started = true;
	return 0;
}

void xfrin_loop_wake(struct xfrin *x)
{
	uint64_t one = 1;
	if (write(x->wake, &one, sizeof(one)) < 0)
		log_debug("secondary zones: cannot wake the refresh thread: %s", strerror(errno));
}

void xfrin_loop_stop(struct xfrin *x)
{
	if (x->started) {
		pthread_mutex_lock(&x->lock);
		x->stop = true;
		pthread_mutex_unlock(&x->lock);
		uint64_t one = 1;
		if (write(x->stop_fd, &one, sizeof(one)) < 0)
			log_debug("secondary zones: cannot stop the refresh thread: %s", strerror(errno));
		pthread_join(x->thread, NULL);
		x->started = false;
	}
	if (x->wake >= 0)
		close(x->wake);
	if (x->stop_fd >= 0)
		close(x->stop_fd);
	x->wake = x->stop_fd = -1;
}
