/* The refresh thread: an event loop (base/event.h) with one timer per zone, due at the zone's
 * earliest deadline (refresh or retry, expiry while served, disk copy), one wake-up that turns
 * NOTIFY flags into refreshes due now, arms the timers of zones added and lets go of zones retired,
 * and one that applies the refreshes the transfer workers finished. A refresh due is handed to the
 * workers (the zone stays held, no timer armed) and re-armed when it is back; the jobs made in
 * one round go to them together before the loop waits (a batch a worker can pipeline).
 * Only this file arms or cancels a zone's timer, and only from the refresh thread. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/signals/signals.h"
#include "ternd/xfrin/xfrin_impl.h"

/* Stale query tables (only zones started being served, or retired) are made again at least
 * TABLES_GAP_MS apart, and TABLES_GAP_SHARE times as long as the last making took when that is
 * longer: each making is a walk of every zone and a grace period, and with the workers a catalog's
 * members come back one by one (10,000 of them made 10,000 pairs of tables) where a blocked loop
 * used to see them in one round; 20 PoPs of 10,000 zones making them every 100 ms in bench-fleet's
 * phase 1 were still 8% of the machine, and a million zones keep the thread's share at a tenth. */
#define TABLES_GAP_MS 500
#define TABLES_GAP_SHARE 10
/* The zones NOTIFY flagged are taken at once when the last taking is NOTIFY_GATHER_MS old, else
 * then: a primary's round of NOTIFYs (ternd sends a secondary's one after another, each a datagram)
 * reaches the query thread a few at a time, and each few woke the refresh thread, made jobs and
 * woke a worker; under load they are taken together (one wake-up, one pipelined batch), while a
 * lone NOTIFY is taken at once. A NOTIFY wakes the thread only when it finds the list empty. */
#define NOTIFY_GATHER_MS 5
/* Refresh jobs out at once per worker (zones due beyond wait in turn): 2 that start with a SOA
 * query (one asked, one queued behind it), PULL_PIPELINE_MAX that start with a transfer (a
 * worker takes those to one primary together and pipelines them: xfrin_workers.c). */
#define JOBS_PER_WORKER 2
#define TRANSFERS_PER_WORKER PULL_PIPELINE_MAX

/* When zone-expiring is due for z: its expiry less the lead. */
static uint64_t expiring_at(const struct xfrin_zone *z)
{
	uint64_t lead = z->x->expiring_lead;
	return z->expire_at > lead ? z->expire_at - lead : 0;
}

uint64_t xfrin_due(const struct xfrin_zone *z)
{
	uint64_t d = z->serving && z->expire_at < z->refresh_at ? z->expire_at : z->refresh_at;
	if (z->serving && !z->expiring && z->x->expiring_lead && expiring_at(z) < d)
		d = expiring_at(z);
	return z->copy_at && z->copy_at < d ? z->copy_at : d;
}

/* zone-expiring set: zone, expires (Unix seconds), lead (seconds). */
static void signal_expiring(struct xfrin *x, struct xfrin_zone *z, uint64_t now)
{
	char expires[24], lead[24];
	snprintf(expires, sizeof(expires), "%lld",
	         (long long)(time(NULL) + ((int64_t)z->expire_at - (int64_t)now) / 1000));
	snprintf(lead, sizeof(lead), "%llu", (unsigned long long)(x->expiring_lead / 1000));
	struct signal_arg args[] = {{"expires", expires}, {"lead", lead}};
	signals_raise(x->srv->signals, SIGNAL_ZONE_EXPIRING, SIGNAL_SET, z->name, args, 2);
	z->expiring = true;
}

/* (Re)arms z's timer at its next deadline: the loop holds z from now on. Lock held. */
static void arm(struct xfrin *x, struct xfrin_zone *z)
{
	ev_timer_at(x->loop, &z->timer, xfrin_due(z));
	z->held = true;
}

/* Re-arms z after its deadline or its refresh, or lets it go when it was retired meanwhile. */
static void rearm(struct xfrin *x, struct xfrin_zone *z)
{
	if (z->life == XFRIN_LIVE) {
		arm(x, z);
	} else {
		z->held = false;
		xfrin_zone_reap(x); /* retired meanwhile: freed here once no reader can see it */
	}
}

/* Makes z's job; it goes to the workers with the others made this round (before the loop waits:
 * queue_made), so a worker finds a batch to pipeline. Lock held; z refreshing. When out of memory
 * (refresh put off a second) z is re-armed. */
static void start_job(struct xfrin *x, struct xfrin_zone *z)
{
	struct xfrin_job *j = xfrin_job_new(x, z);
	if (!j) {
		z->refreshing = false;
		rearm(x, z);
		return;
	}
	x->inflight++;
	if (x->made_tail)
		x->made_tail->next = j;
	else
		x->made = j;
	x->made_tail = j;
}

/* Whether z's job may be made now: fewer jobs out than the workers take of its kind (a refresh
 * with no copy, or one a NOTIFY asked for, starts with a transfer: xfrin_job_pipelines). */
static bool job_fits(const struct xfrin *x, const struct xfrin_zone *z)
{
	unsigned per = !z->serving || z->by_notify ? TRANSFERS_PER_WORKER : JOBS_PER_WORKER;
	return x->inflight < per * x->nworkers;
}

/* Before the loop waits: the jobs made this round go to the workers at once. */
static void queue_made(struct ev_loop *loop, void *arg)
{
	(void)loop;
	struct xfrin *x = arg;
	struct xfrin_job *jobs = x->made; /* this thread's alone: no lock */
	x->made = x->made_tail = NULL;
	xfrin_workers_queue(x, jobs);
}

/* z's refresh is due: a job now when it fits (job_fits), else z waits its turn. */
static void refresh_due(struct xfrin *x, struct xfrin_zone *z)
{
	z->refreshing = true;
	if (job_fits(x, z)) {
		start_job(x, z);
		return;
	}
	z->waiting = true;
	z->wait_next = NULL;
	if (x->waiting_tail)
		x->waiting_tail->wait_next = z;
	else
		x->waiting = z;
	x->waiting_tail = z;
}

/* A zone's deadline: write its disk copy, expire it, or hand its refresh to the workers (it stays
 * held, with no timer, until the job is back); then re-arm it, or let it go when it was retired
 * meanwhile. */
static void on_due(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	struct xfrin_zone *z = t->arg;
	struct xfrin *x = z->x;
	pthread_mutex_lock(&x->lock);
	uint64_t now = ev_clock_ms();
	if (z->life == XFRIN_LIVE) {
		if (z->copy_at && z->copy_at <= now) {
			xfrin_copy_save(z);
		} else if (z->serving && z->expire_at <= now) {
			if (!z->expiring)
				signal_expiring(x, z, now);
			xfrin_zone_expire(x, z);
		} else if (z->serving && !z->expiring && x->expiring_lead && expiring_at(z) <= now) {
			log_warning("zone %s: expires in %" PRIu64 " s (signals.zone-expiring-lead); last refresh: %s",
			            z->name, (z->expire_at - now) / 1000, z->last_error[0] ? z->last_error : "ok");
			signal_expiring(x, z, now);
		} else if (z->refresh_at <= now) {
			refresh_due(x, z);
			pthread_mutex_unlock(&x->lock);
			return;
		}
	}
	rearm(x, z);
	pthread_mutex_unlock(&x->lock);
}

/* The workers' wake-up: each refresh finished is applied, and its zone re-armed (at once when a
 * NOTIFY came meanwhile) or let go. */
static void on_done(struct ev_loop *loop, struct ev_async *a)
{
	struct xfrin *x = a->arg;
	struct xfrin_job *j = xfrin_workers_done(x);
	if (!j)
		return;
	pthread_mutex_lock(&x->lock);
	for (struct xfrin_job *next; j; j = next) {
		next = j->next;
		struct xfrin_zone *z = j->z;
		xfrin_job_apply(x, j);
		z->refreshing = false;
		if (z->renotified && z->life == XFRIN_LIVE) {
			z->refresh_at = ev_now(loop); /* the NOTIFY that came in flight: again, at once */
			z->by_notify = true;
			xfrin_zone_status(x, z);
		}
		z->renotified = false;
		rearm(x, z);
		x->inflight--;
	}
	while (x->waiting && job_fits(x, x->waiting)) { /* the zones waiting, in turn */
		struct xfrin_zone *z = x->waiting;
		x->waiting = z->wait_next;
		if (!x->waiting)
			x->waiting_tail = NULL;
		z->waiting = false;
		if (z->life == XFRIN_LIVE) {
			start_job(x, z);
		} else {
			z->refreshing = false;
			rearm(x, z); /* retired while it waited: let go */
		}
	}
	pthread_mutex_unlock(&x->lock);
}

/* The query tables are stale: made now, or at x->tables_at + x->tables_gap when only zones served
 * or retired made them so (a zone added must take NOTIFY at once). Lock held. */
static void tables_remake(struct xfrin *x)
{
	uint64_t now = ev_clock_ms();
	if (!x->tables_now && now < x->tables_at + x->tables_gap) {
		ev_timer_at(x->loop, &x->tables_timer, x->tables_at + x->tables_gap);
		return;
	}
	if (xfrin_tables_publish(x) == 0) /* out of memory: tried again at the next change */
		x->tables_now = false;
	x->tables_at = ev_clock_ms();
	uint64_t took = x->tables_at - now;
	x->tables_gap = took * TABLES_GAP_SHARE > TABLES_GAP_MS ? took * TABLES_GAP_SHARE : TABLES_GAP_MS;
}

static void on_tables(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	struct xfrin *x = t->arg;
	pthread_mutex_lock(&x->lock);
	if (x->tables_stale)
		tables_remake(x);
	pthread_mutex_unlock(&x->lock);
}

/* The zones NOTIFY flagged become refreshes due now. Lock held. */
static void take_notified(struct xfrin *x, struct ev_loop *loop, uint64_t now)
{
	x->notified_taken = now;
	ev_timer_cancel(loop, &x->notify_timer);
	for (struct xfrin_zone *z = atomic_exchange(&x->notified, NULL), *next; z; z = next) {
		next = z->notified_next;
		atomic_store(&z->notified, false); /* from here a NOTIFY pushes it again */
		if (z->life != XFRIN_LIVE)
			continue; /* retired: freed below or by the next tables */
		if (z->waiting) { /* its job is not made yet: it will answer this NOTIFY */
			z->by_notify = true;
			continue;
		}
		if (z->refreshing) { /* arming now would start a second refresh: once this one is back */
			log_info("zone %s: NOTIFY from a primary: refreshing again after the refresh in flight",
			         z->name);
			z->renotified = true;
			continue;
		}
		log_info("zone %s: NOTIFY from a primary: refreshing", z->name);
		z->refresh_at = ev_now(loop);
		z->by_notify = true;
		xfrin_zone_status(x, z);
		if (z->held) { /* its timer runs: the refresh starts now, its job goes with this round's */
			ev_timer_cancel(loop, &z->timer);
			refresh_due(x, z);
		} else {
			arm(x, z); /* due this round's time: fires in the next round */
		}
	}
}

static void on_notify_gather(struct ev_loop *loop, struct ev_timer *t)
{
	struct xfrin *x = t->arg;
	pthread_mutex_lock(&x->lock);
	take_notified(x, loop, ev_clock_ms());
	xfrin_zone_reap(x); /* those retired meanwhile */
	pthread_mutex_unlock(&x->lock);
}

/* The wake-up: the zones a NOTIFY flagged become refreshes due now (only those: a burst of
 * NOTIFYs costs their zones, not a walk of every zone each), the query tables are made again when
 * they are stale, zones retired are let go (their timers cancelled), zones added get their
 * timers. */
static void on_wake(struct ev_loop *loop, struct ev_async *a)
{
	struct xfrin *x = a->arg;
	pthread_mutex_lock(&x->lock);
	if (atomic_load(&x->notified)) {
		uint64_t now = ev_clock_ms();
		if (now >= x->notified_taken + NOTIFY_GATHER_MS)
			take_notified(x, loop, now);
		else if (!x->notify_timer.armed)
			ev_timer_at(loop, &x->notify_timer, x->notified_taken + NOTIFY_GATHER_MS);
	}
	if (x->tables_stale)
		tables_remake(x);
	for (struct xfrin_zone *z = x->retired; z; z = z->next_retired) {
		if (z->held && !z->refreshing) { /* in flight: let go when its job is back */
			ev_timer_cancel(loop, &z->timer);
			z->held = false;
		}
	}
	xfrin_zone_reap(x);
	if (x->unarmed) {
		x->unarmed = false;
		for (size_t i = 0; i < x->nzones; i++)
			if (!x->zones[i]->held)
				arm(x, x->zones[i]);
	}
	pthread_mutex_unlock(&x->lock);
}

int xfrin_loop_open(struct xfrin *x, char *err, size_t errlen)
{
	x->loop = ev_new(EV_RCU_OFFLINE); /* the signer's update reads served zones */
	x->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!x->loop || x->stop_fd < 0) {
		snprintf(err, errlen, "secondary zones: cannot make the refresh loop: %s", strerror(errno));
		return TERN_EIO;
	}
	ev_async_start(x->loop, &x->wake, on_wake, x);
	ev_async_start(x->loop, &x->done_wake, on_done, x);
	ev_timer_init(&x->tables_timer, on_tables, x);
	ev_timer_init(&x->notify_timer, on_notify_gather, x);
	ev_before_wait(x->loop, queue_made, x);
	return 0;
}

void xfrin_loop_timer_init(struct xfrin *x, struct xfrin_zone *z)
{
	z->x = x;
	ev_timer_init(&z->timer, on_due, z);
}

int xfrin_loop_start(struct xfrin *x, unsigned workers, char *err, size_t errlen)
{
	int rc = xfrin_workers_start(x, workers, err, errlen);
	if (rc < 0)
		return rc;
	if (ev_thread_start(&x->thread, x->loop, "ternd-xfrin") < 0) {
		snprintf(err, errlen, "secondary zones: cannot start the refresh thread");
		return TERN_EIO;
	}
	return 0;
}

void xfrin_loop_wake(struct xfrin *x)
{
	ev_async_send(&x->wake);
}

void xfrin_loop_stop(struct xfrin *x)
{
	pthread_mutex_lock(&x->lock);
	x->stop = true; /* a refresh that fails now says nothing */
	pthread_mutex_unlock(&x->lock);
	if (x->stop_fd >= 0) {
		uint64_t one = 1; /* never read: every pull from now on gives up at once */
		if (write(x->stop_fd, &one, sizeof(one)) < 0)
			log_debug("secondary zones: cannot stop the pulls: %s", strerror(errno));
	}
	ev_thread_stop(&x->thread); /* queues nothing more */
	xfrin_workers_stop(x); /* quick: stop_fd ends their pulls; the jobs left are freed */
	for (struct xfrin_job *j = x->made, *next; j; j = next) { /* made in the last round */
		next = j->next;
		xfrin_job_free(j);
	}
	x->made = x->made_tail = NULL;
	if (x->loop) {
		ev_async_stop(x->loop, &x->done_wake);
		ev_async_stop(x->loop, &x->wake);
		ev_free(x->loop); /* the zones' timers go with it: the zones are freed next, untouched */
	}
	if (x->stop_fd >= 0)
		close(x->stop_fd);
	x->loop = NULL;
	x->stop_fd = -1;
}
