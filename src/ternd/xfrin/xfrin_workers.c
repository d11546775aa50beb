/* The transfer workers: transfer.refresh-workers threads that run the refreshes the refresh thread
 * queues (xfrin_job_run), several at once, so a slow or silent primary holds one worker, not every
 * zone; each keeps its TCP connections to the primaries open between transfers (pull_conns).
 * A worker takes the oldest job and, when it starts with a transfer (a new zone's AXFR, a
 * NOTIFY's IXFR), the others queued that start with one from the same primary, up to
 * PULL_PIPELINE_MAX: their queries go out at once on one connection (xfrin_jobs_run). The jobs
 * finished go back on x->done together and wake the refresh thread once (x->done_wake). */
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

/* Waits for a job or stop, closing connections idle too long meanwhile; then takes the oldest job
 * and, when it starts with a transfer, up to PULL_PIPELINE_MAX - 1 more queued that start with one
 * from the same primary, to be pipelined. jobs_lock held. Returns how many (0: stop). */
static size_t next_jobs(struct xfrin_worker *w, struct xfrin_job **out)
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
		return 0;
	struct xfrin_job *j = x->queue;
	size_t n = 0;
	x->queue = j->next;
	out[n++] = j;
	if (xfrin_job_pipelines(j)) {
		for (struct xfrin_job **link = &x->queue, *c; n < PULL_PIPELINE_MAX && (c = *link);) {
			if (xfrin_job_pipelines(c) && xfrin_job_same_primary(j, c)) {
				*link = c->next;
				out[n++] = c;
			} else {
				link = &c->next;
			}
		}
	}
	x->queue_tail = x->queue;
	while (x->queue_tail && x->queue_tail->next)
		x->queue_tail = x->queue_tail->next;
	for (size_t i = 0; i < n; i++)
		out[i]->next = NULL;
	return n;
}

static void worker_main(void *arg)
{
	struct xfrin_worker *w = arg;
	struct xfrin *x = w->x;
	struct xfrin_job *batch[PULL_PIPELINE_MAX];
	pthread_mutex_lock(&x->jobs_lock);
	for (size_t n; (n = next_jobs(w, batch)) > 0;) {
		pthread_mutex_unlock(&x->jobs_lock);
		xfrin_jobs_run(x, batch, n, &w->conns); /* a connection that failed is closed there */
		if (n > 1)
			log_info("transfer worker %u: %zu transfers pipelined to %s; in all %zu batches, %zu transfers "
			         "pipelined, %zu connections opened",
			         (unsigned)(w - x->workers) + 1, n, batch[0]->primaries->addr[0].text, w->conns.batches,
			         w->conns.pipelined, w->conns.opened);
		pthread_mutex_lock(&x->jobs_lock);
		for (size_t i = 0; i < n; i++) { /* the batch back at once: one wake-up */
			batch[i]->next = x->done;
			x->done = batch[i];
		}
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

/* How many workers jobs keep busy: one per job that starts with a SOA query, one per
 * PULL_PIPELINE_MAX transfers to one primary (a worker takes those together: next_jobs), counted
 * up to the workers there are. */
static unsigned workers_wanted(const struct xfrin *x, const struct xfrin_job *jobs)
{
	const struct xfrin_job *lead[64]; /* one transfer job per primary seen, and its count */
	unsigned count[64], nlead = 0, wanted = 0;
	for (const struct xfrin_job *j = jobs; j && wanted < x->nworkers; j = j->next) {
		if (!xfrin_job_pipelines(j)) {
			wanted++;
			continue;
		}
		unsigned k = 0;
		while (k < nlead && !xfrin_job_same_primary(lead[k], j))
			k++;
		if (k == nlead) {
			if (nlead == 64)
				return x->nworkers;
			lead[nlead] = j;
			count[nlead++] = 0;
		}
		if (count[k]++ % PULL_PIPELINE_MAX == 0)
			wanted++;
	}
	return wanted < x->nworkers ? wanted : x->nworkers;
}

void xfrin_workers_queue(struct xfrin *x, struct xfrin_job *jobs)
{
	if (!jobs)
		return;
	struct xfrin_job *last = jobs;
	for (; last->next; last = last->next)
		;
	/* wake the workers the jobs keep busy, not every one: a burst of NOTIFYs from one primary is a
	 * pipelined batch for one worker, and the others woken would find nothing to take */
	unsigned wake = workers_wanted(x, jobs);
	pthread_mutex_lock(&x->jobs_lock);
	if (x->queue_tail)
		x->queue_tail->next = jobs;
	else
		x->queue = jobs;
	x->queue_tail = last;
	if (wake >= x->nworkers)
		pthread_cond_broadcast(&x->jobs_cond);
	else
		for (unsigned i = 0; i < (wake ? wake : 1); i++)
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
