/* The signals' clock (signals_impl.h): one thread, ternd-tick, that once a second judges what the
 * time and the workers' counters (base/stats.h: per worker, no lock on the query path; read here as
 * relaxed atomics) say: query-rate-high and query-rate-rising (a ring of the last two windows of
 * query totals, with hysteresis, so a rate hovering at a threshold does not flap), ede (ede.c) and
 * signatures-expiring (signals_tick). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/base/config.h"
#include "ternd/base/event.h"
#include "ternd/base/stats.h"
#include "ternd/signals/signals_impl.h"

#define RATES_MAX_WINDOW 3600

struct signal_tick {
	struct signals *s;
	const struct stats *stats;
	pthread_mutex_t lock; /* the thresholds, ede_conf, stop */
	pthread_cond_t wake;
	unsigned high, rising, window;
	struct signal_ede_conf ede_conf;
	struct signal_ede *ede;
	bool stop;
	/* query totals, one a tick (a second apart, or more when the thread was held up: never less),
	 * each with the monotonic ms it was taken at, so a late tick does not skew a rate */
	struct {
		uint64_t total, ms;
	} ring[2 * RATES_MAX_WINDOW + 1];
	size_t nsamples;
	bool high_set, rising_set;
	struct ev_thread thread;
};

static uint64_t total(const struct stats *st)
{
	uint64_t rcode[STATS_RCODES], qtype[STATS_TYPES], dropped = 0, n = 0;
	stats_sum(st, rcode, qtype, &dropped);
	for (size_t i = 0; i < STATS_RCODES; i++)
		n += rcode[i];
	return n;
}

/* The total sampled ago ticks before the last sample, and when (ms). */
static uint64_t sample(const struct signal_tick *r, size_t ago, uint64_t *ms)
{
	size_t cap = sizeof(r->ring) / sizeof(r->ring[0]);
	size_t i = (r->nsamples - 1 - ago) % cap;
	*ms = r->ring[i].ms;
	return r->ring[i].total;
}

/* Queries a second between the samples from and to ticks ago (from < to), by the time between. */
static double rate_between(const struct signal_tick *r, size_t from, size_t to, double *secs)
{
	uint64_t ms_from, ms_to;
	uint64_t n = sample(r, from, &ms_from) - sample(r, to, &ms_to);
	*secs = ms_from > ms_to ? (double)(ms_from - ms_to) / 1000.0 : 1.0;
	return (double)n / *secs;
}

static void judge(struct signal_tick *r, unsigned high, unsigned rising, unsigned window)
{
	if (r->nsamples <= window)
		return; /* not one window yet */
	double secs, before_secs;
	double rate = rate_between(r, 0, window, &secs);
	char a[32], b[32];
	if (high) {
		bool on = r->high_set ? rate >= 0.8 * high : rate >= high;
		if (on != r->high_set || on) {
			snprintf(a, sizeof(a), "%.0f", rate);
			snprintf(b, sizeof(b), "%u", high);
			struct signal_arg args[] = {{"rate", a}, {"threshold", b}};
			if (on != r->high_set) /* only changes reach the channels (arguments rounded move too often) */
				signals_raise(r->s, SIGNAL_QUERY_RATE_HIGH, on ? SIGNAL_SET : SIGNAL_CLEAR, NULL, args,
				              on ? 2 : 0);
			r->high_set = on;
		}
	} else if (r->high_set) {
		signals_raise(r->s, SIGNAL_QUERY_RATE_HIGH, SIGNAL_CLEAR, NULL, NULL, 0);
		r->high_set = false;
	}
	if (rising && r->nsamples > 2 * (size_t)window) {
		double before = rate_between(r, window, 2 * (size_t)window, &before_secs);
		double inc = (rate - before) / secs;
		bool on = r->rising_set ? inc >= 0.5 * rising : inc >= rising;
		if (on != r->rising_set) {
			snprintf(a, sizeof(a), "%.0f", inc);
			snprintf(b, sizeof(b), "%u", rising);
			struct signal_arg args[] = {{"increase", a}, {"threshold", b}};
			signals_raise(r->s, SIGNAL_QUERY_RATE_RISING, on ? SIGNAL_SET : SIGNAL_CLEAR, NULL, args,
			              on ? 2 : 0);
			r->rising_set = on;
		}
	} else if (!rising && r->rising_set) {
		signals_raise(r->s, SIGNAL_QUERY_RATE_RISING, SIGNAL_CLEAR, NULL, NULL, 0);
		r->rising_set = false;
	}
}

static void run(void *arg)
{
	struct signal_tick *r = arg;
	size_t cap = sizeof(r->ring) / sizeof(r->ring[0]);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		unsigned high = r->high, rising = r->rising, window = r->window;
		struct signal_ede_conf ede = r->ede_conf;
		pthread_mutex_unlock(&r->lock);
		r->ring[r->nsamples % cap].total = total(r->stats);
		r->ring[r->nsamples % cap].ms = ev_clock_ms();
		r->nsamples++;
		judge(r, high, rising, window);
		signal_ede_sample(r->ede, r->stats, &ede);
		signals_tick(r->s);
		next.tv_sec += 1;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec) { /* held up past a tick: the next a second on, no burst */
			next = now;
			next.tv_sec += 1;
		}
		pthread_mutex_lock(&r->lock);
		while (!r->stop && pthread_cond_timedwait(&r->wake, &r->lock, &next) == 0)
			;
	}
	pthread_mutex_unlock(&r->lock);
}

int signal_tick_start(struct signals *s, const struct stats *stats, const struct config *conf, struct signal_tick **out)
{
	struct signal_tick *r = calloc(1, sizeof(*r));
	if (!r || signal_ede_new(s, &r->ede) < 0) {
		free(r);
		return TERN_ENOMEM;
	}
	r->s = s;
	r->stats = stats;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	signal_tick_reload(r, conf);
	/* before the start nothing was answered: two windows of zero totals, a second apart, so a
	 * load that comes with the start is judged (rising from zero) from the first tick on */
	uint64_t now = ev_clock_ms(), span = 2 * (uint64_t)r->window * 1000;
	uint64_t first = now > span ? now - span : 0; /* a machine up for less than the span: from boot */
	for (size_t i = 0; i <= 2 * (size_t)r->window; i++) {
		r->ring[i].total = 0;
		r->ring[i].ms = first + (uint64_t)i * 1000 < now ? first + (uint64_t)i * 1000 : now;
	}
	r->nsamples = 2 * (size_t)r->window + 1;
	if (ev_thread_start_fn(&r->thread, run, r, "ternd-tick") < 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		signal_ede_free(r->ede);
		free(r);
		return TERN_EIO;
	}
	*out = r;
	return 0;
}

void signal_tick_reload(struct signal_tick *r, const struct config *conf)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->high = conf->signals.rate_high;
	r->rising = conf->signals.rate_rising;
	r->window = conf->signals.rate_window ? conf->signals.rate_window : 10;
	signal_ede_conf(&r->ede_conf, conf);
	pthread_mutex_unlock(&r->lock);
}

void signal_tick_stop(struct signal_tick *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	ev_thread_stop(&r->thread);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	signal_ede_free(r->ede);
	free(r);
}
