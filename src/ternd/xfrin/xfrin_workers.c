/* The transfer workers: transfer.refresh-workers threads that run the refreshes the refresh thread
 * queues (xfrin_job_run), several at once, so a slow or silent primary holds one worker, not every
 * zone; each keeps its TCP connections to the primaries open between transfers (pull_conns).
 * A finished job goes back on x->done and wakes the refresh thread (x->done_wake). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/xfrin_impl.h"

#define IDLE_CHECK_MS 1000 /* a worker with connections open looks at them this often */

struct xfrin_worker {
	struct xfrin *x;
	struct ev_thread thread;
	struct pull_conns conns; /* this worker's alone */
};

/* Waits for a job or stop, closing connections idle too long meanwhile. jobs_lock held. */
static struct xfrin_job *next_job(struct xfrin_worker *w)
{
	struct xfrin *x = w->x;
	while (!x->jobs_stop && !x->queue) {
		if (pull_conns_expire(&w->conns, ev_clock_ms()) == 0) {
			pthread_cond_wait(&x->jobs_cond, &x->jobs_lock);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += IDLE_CHECK_MS / 1000;
		pthread_cond_timedwait(&x->jobs_cond, &x->jobs_lock, &ts);
	}
	if (x->jobs_stop)
		return NULL;
	struct xfrin_job *j = x->queue;
	x->queue = j->next;
	if (!x->queue)
		x->queue_tail = NULL;
	j->next = NULL;
	return j;
}

static void worker_main(void *arg)
{
	struct xfrin_worker *w = arg;
	struct xfrin *x = w->x;
	pthread_mutex_lock(&x->jobs_lock);
	for (struct xfrin_job *j; (j = next_job(w));) {
		pthread_mutex_unlock(&x->jobs_lock);
		xfrin_job_run(x, j, &w->conns); /* a connection that failed is closed there */
		pthread_mutex_lock(&x->jobs_lock);
		j->next = x->done;
		x->done = j;
		ev_async_send(&x->done_wake); /* lock-free */
	}
	pthread_mutex_unlock(&x->jobs_lock);
	pull_conns_close(&w->conns);
}

int xfrin_workers_start(struct xfrin *x, unsigned n, char *err, size_t errlen)
{
	x->workers = calloc(n, sizeof(*x->workers));
	if (!x->workers) {
		snprintf(err, errlen, "secondary zones: out of memory");
		return TERN_ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct xfrin_worker *w = &x->workers[i];
		w->x = x;
		pull_conns_init(&w->conns);
		if (ev_thread_start_fn(&w->thread, worker_main, w, "ternd-xfrwork") < 0) {
			snprintf(err, errlen, "secondary zones: cannot start transfer worker %u", i + 1);
			return TERN_EIO;
		}
		x->nworkers = i + 1;
	}
	return 0;
}

void xfrin_workers_queue(struct xfrin *x, struct xfrin_job *j)
{
	pthread_mutex_lock(&x->jobs_lock);
	j->next = NULL;
	if (x->queue_tail)
		x->queue_tail->next = j;
	else
		x->queue = j;
	x->queue_tail = j;
	pthread_cond_signal(&x->jobs_cond);
	pthread_mutex_unlock(&x->jobs_lock);
}

struct xfrin_job *xfrin_workers_done(struct xfrin *x)
{
	pthread_mutex_lock(&x->jobs_lock);
	struct xfrin_job *j = x->done, *oldest = NULL;
	x->done = NULL;
	pthread_mutex_unlock(&x->jobs_lock);
	while (j) { /* pushed newest first */
		struct xfrin_job *next = j->next;
		j->next = oldest;
		oldest = j;
		j = next;
	}
	return oldest;
}

void xfrin_workers_stop(struct xfrin *x)
{
	pthread_mutex_lock(&x->jobs_lock);
	x->jobs_stop = true;
	pthread_cond_broadcast(&x->jobs_cond);
	pthread_mutex_unlock(&x->jobs_lock);
	for (unsigned i = 0; i < x->nworkers; i++)
		ev_thread_stop(&x->workers[i].thread);
	free(x->workers);
	x->workers = NULL;
	x->nworkers = 0;
	for (struct xfrin_job *lists[2] = {x->queue, x->done}, **l = lists; l < lists + 2; l++) {
		for (struct xfrin_job *j = *l, *next; j; j = next) {
			next = j->next;
			xfrin_job_free(j);
		}
	}
	x->queue = x->queue_tail = x->done = NULL;
}
