/* One refresh of one zone, a job: copied from the zone under the lock (the refresh thread), run
 * without it by a transfer worker, asking each primary in turn (SOA serial, then IXFR when we hold
 * a copy, AXFR when that does not settle it; IXFR at once when a NOTIFY asked), then applied under
 * the lock (the refresh thread): serve a transfer, confirm the copy, or schedule the retry. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/diskcopy.h"
#include "ternd/signals/signals.h"
#include "ternd/xfrin/xfrin_impl.h"

#define BACKOFF_MAX 60u /* seconds between tries while a zone has no SOA yet */

/* IXFR from the primary of peer (RFC 1995), or its answer to a pipelined batch (asked; NULL: ask
 * now). Diffs are applied to the served snapshot with the
 * lock held: a reload may drop the zone, and load_zones() free that snapshot, while the lock is
 * released. Returns 1 when the refresh is settled (j->outcome set), 0 when an AXFR from the same
 * primary must follow (logged), -1 when this primary failed and the next one may be tried. */
static int pull_by_ixfr(struct xfrin *x, struct xfrin_job *j, const struct pull_peer *peer,
                        const struct pull_item *asked)
{
	struct xfrin_zone *z = j->z; /* held: not freed, but read only under the lock */
	struct pull_ixfr_result r = asked ? asked->res : (struct pull_ixfr_result){0};
	const char *from = peer->addr->text;
	if (asked ? asked->rc < 0 : pull_ixfr(peer, j->apex, &j->soa, &r, &j->stats, j->err, sizeof(j->err)) < 0) {
		log_info("zone %s: IXFR from %s failed (%s): trying AXFR", z->name, from, j->err);
		return 0;
	}
	if (r.outcome == XFRP_CURRENT) {
		j->remote = r.serial;
		j->outcome = r.serial == j->serial ? PULL_CURRENT : PULL_LOWER;
		return 1;
	}
	if (r.outcome == XFRP_ZONE) {
		if (!rr_serial_newer(r.zone->serial, j->serial)) {
			snprintf(j->err, sizeof(j->err),
			         "%s: the IXFR answer holds serial %u, not newer than the %u served", from,
			         r.zone->serial, j->serial);
			zone_free(r.zone);
			return -1;
		}
		j->zone = r.zone;
		j->method = "IXFR (whole zone)";
		j->outcome = PULL_TRANSFERRED;
		return 1;
	}
	struct zone *next = NULL;
	int rc = TERN_EZONE;
	pthread_mutex_lock(&x->lock);
	if (z->life != XFRIN_LIVE || !z->serving)
		snprintf(j->err, sizeof(j->err), "the zone stopped being served during the IXFR");
	else
		rc = xfrp_apply(z->served, r.diffs, &next, j->err, sizeof(j->err));
	pthread_mutex_unlock(&x->lock);
	j->ndiffs = r.diffs->ndiffs;
	xfrp_diffs_free(r.diffs);
	if (rc < 0) {
		log_warning("zone %s: the IXFR from %s (serial %u -> %u) does not apply: %s; trying AXFR", z->name,
		            from, j->serial, r.serial, j->err);
		return 0;
	}
	j->zone = next;
	j->derived = true;
	j->method = "IXFR";
	j->outcome = PULL_TRANSFERRED;
	return 1;
}

/* One primary: its SOA serial, then IXFR when we have a copy (AXFR when that does not settle it);
 * AXFR at once without a copy. A refresh a NOTIFY asked for goes to IXFR at once (a lone SOA in
 * the answer says current or lower: one round trip fewer per change); when that IXFR does not
 * settle it, the SOA query and what follows as for a timer's refresh. asked (NULL: none) is the
 * answer to that first transfer (AXFR or IXFR) when it was pipelined (xfrin_jobs_run).
 * Returns true when the refresh is settled (j->outcome set), false to try the next primary. */
static bool pull_from(struct xfrin *x, struct xfrin_job *j, const struct config_listen *a, struct pull_conns *conns,
                      const struct pull_item *asked)
{
	/* the zone's TSIG key signs what we ask and must sign what the primary answers */
	struct xfrin_sig sig;
	struct pull_peer peer = {.addr = a,
	                         .tls = j->primaries->tls,
	                         .tsig = xfrin_sig_init(&sig, j->primaries, a->text),
	                         .stop_fd = j->stop_fd,
	                         .conns = conns};
	bool settled = false;
	int by_ixfr = 0;
	xfrin_set_text(j->primary, sizeof(j->primary), a->text);
	if (a->tls && !j->primaries->tls) { /* its settings could not be made (logged at the time) */
		snprintf(j->err, sizeof(j->err), "%s: TLS settings: %s", a->text, j->primaries->tls_err);
		goto out;
	}
	if (j->have_copy && j->by_notify && pull_by_ixfr(x, j, &peer, asked) > 0) {
		settled = true;
		goto out;
	}
	/* not settled by that IXFR (refused, no use, or not newer): as a timer's refresh from here.
	 * With no copy there is nothing to compare: straight to AXFR (a catalog's new members, each
	 * one round trip and one query to the primary fewer) */
	if (j->have_copy && pull_soa_serial(&peer, j->apex, &j->remote, j->err, sizeof(j->err)) < 0)
		goto out;
	if (j->have_copy && !rr_serial_newer(j->remote, j->serial)) {
		j->outcome = j->remote == j->serial ? PULL_CURRENT : PULL_LOWER;
		settled = true;
		goto out;
	}
	by_ixfr = j->have_copy && !j->by_notify ? pull_by_ixfr(x, j, &peer, NULL) : 0;
	if (by_ixfr != 0) {
		settled = by_ixfr > 0;
		goto out;
	}
	struct zone *zn = NULL;
	if (asked && !j->have_copy) { /* the pipelined AXFR */
		if (asked->rc < 0)
			goto out;
		zn = asked->res.zone;
	} else if (pull_axfr(&peer, j->apex, &zn, &j->stats, j->err, sizeof(j->err)) < 0) {
		goto out;
	}
	if (j->have_copy && !rr_serial_newer(zn->serial, j->serial)) {
		snprintf(j->err, sizeof(j->err), "%s: the transfer holds serial %u, not newer than the %u served",
		         a->text, zn->serial, j->serial);
		zone_free(zn);
		goto out;
	}
	j->remote = zn->serial;
	j->zone = zn;
	j->method = "AXFR";
	j->outcome = PULL_TRANSFERRED;
	settled = true;
out:
	xfrin_sig_clear(&sig);
	return settled;
}

/* Each primary in turn until one settles the refresh (the first with asked, the pipelined answer
 * to its first transfer, or NULL). Called without the lock. */
static void job_run(struct xfrin *x, struct xfrin_job *j, struct pull_conns *conns, const struct pull_item *asked)
{
	j->outcome = PULL_FAILED;
	if (!asked) /* else j->err holds what its answer did */
		snprintf(j->err, sizeof(j->err), "no primary");
	for (size_t i = 0; i < j->primaries->n; i++)
		if (pull_from(x, j, &j->primaries->addr[i], conns, i == 0 ? asked : NULL))
			return;
}

void xfrin_job_run(struct xfrin *x, struct xfrin_job *j, struct pull_conns *conns)
{
	job_run(x, j, conns, NULL);
}

bool xfrin_job_pipelines(const struct xfrin_job *j)
{
	return j->primaries->n > 0 && (!j->have_copy || j->by_notify);
}

bool xfrin_job_same_primary(const struct xfrin_job *a, const struct xfrin_job *b)
{
	const struct primaries *p = a->primaries, *q = b->primaries;
	return p->n > 0 && q->n > 0 && p->addr[0].addrlen == q->addr[0].addrlen &&
	       memcmp(&p->addr[0].addr, &q->addr[0].addr, p->addr[0].addrlen) == 0 && p->has_key == q->has_key &&
	       (!p->has_key || xfrin_same_key(&p->key, &q->key)) && p->addr[0].tls == q->addr[0].tls &&
	       (!p->addr[0].tls || (p->tls && tls_client_same(p->tls, q->tls)));
}

void xfrin_jobs_run(struct xfrin *x, struct xfrin_job **jobs, size_t n, struct pull_conns *conns)
{
	if (n == 1) {
		job_run(x, jobs[0], conns, NULL);
		return;
	}
	/* each transfer its own TSIG chain; the first transfer of each from the first primary, at once */
	struct xfrin_sig sig[PULL_PIPELINE_MAX];
	struct pull_item items[PULL_PIPELINE_MAX];
	const struct config_listen *a = &jobs[0]->primaries->addr[0];
	for (size_t i = 0; i < n; i++) {
		struct xfrin_job *j = jobs[i];
		items[i] = (struct pull_item){.apex = j->apex,
		                              .soa = j->have_copy ? &j->soa : NULL,
		                              .tsig = xfrin_sig_init(&sig[i], j->primaries, a->text),
		                              .err = j->err,
		                              .errlen = sizeof(j->err)};
	}
	struct pull_peer peer = {
	    .addr = a, .tls = jobs[0]->primaries->tls, .stop_fd = jobs[0]->stop_fd, .conns = conns};
	if (a->tls && !peer.tls) { /* its settings could not be made: each job says so (pull_from) */
		for (size_t i = 0; i < n; i++)
			xfrin_sig_clear(&sig[i]);
		for (size_t i = 0; i < n; i++)
			job_run(x, jobs[i], conns, NULL);
		return;
	}
	pull_pipeline(&peer, items, n);
	for (size_t i = 0; i < n; i++) {
		xfrin_sig_clear(&sig[i]);
		jobs[i]->stats = items[i].stats;
		job_run(x, jobs[i], conns, &items[i]); /* settled by its answer, or on as one refresh */
	}
}

static void log_failure(const struct xfrin_zone *z, unsigned next)
{
	log_warning("zone %s: refresh failed (%s): %s; next try in %u s", z->name, xfrin_state_name(z->state),
	            z->last_error, next);
}

/* refresh-failed set (zone, primary, error, attempts) after each failure, cleared by a success. */
static void signal_refresh(struct xfrin *x, struct xfrin_zone *z, const char *primary, bool failed)
{
	if (!failed) {
		if (z->failures)
			signals_raise(x->srv->signals, SIGNAL_REFRESH_FAILED, SIGNAL_CLEAR, z->name, NULL, 0);
		z->failures = 0;
		return;
	}
	char attempts[16];
	snprintf(attempts, sizeof(attempts), "%u", ++z->failures);
	struct signal_arg args[] = {{"primary", primary}, {"error", z->last_error}, {"attempts", attempts}};
	signals_raise(x->srv->signals, SIGNAL_REFRESH_FAILED, SIGNAL_SET, z->name, args, 3);
}

/* Applies a refresh's result to the zone. Lock held. */
static void apply(struct xfrin *x, struct xfrin_zone *z, struct xfrin_job *j, uint64_t started)
{
	uint64_t now = ev_clock_ms();
	int64_t wall = (int64_t)time(NULL);
	if (j->outcome == PULL_TRANSFERRED) {
		uint32_t old = z->serial;
		bool was_serving = z->serving;
		struct zone *zn = j->zone;
		char source[sizeof(z->source)];
		j->zone = NULL;
		memcpy(source, z->source, sizeof(source));
		xfrin_set_text(z->source, sizeof(z->source), j->primary);
		if (xfrin_zone_serve(x, z, zn, j->err, sizeof(j->err)) < 0) {
			memcpy(z->source, source, sizeof(source)); /* the version served is still that one's */
			j->outcome = PULL_FAILED;
			if (z->signs)
				log_error("zone %s: serial %u from %s refused: %s", z->name, j->remote, j->primary,
				          j->err);
		} else {
			z->serving = true;
			char was[32] = "no copy before";
			if (was_serving)
				snprintf(was, sizeof(was), "was %u", old);
			if (j->derived)
				log_info(
				    "zone %s: IXFR from %s: serial %u -> %u, %zu diffs, %zu records, %zu messages, "
				    "%zu bytes in %" PRIu64 " ms",
				    z->name, j->primary, old, z->serial, j->ndiffs, j->stats.records, j->stats.messages,
				    j->stats.bytes, now - started);
			else
				log_info(
				    "zone %s: transferred serial %u from %s by %s (%s): %zu records, %zu messages, %zu "
				    "bytes in %" PRIu64 " ms",
				    z->name, z->serial, j->primary, j->method, was, j->stats.records, j->stats.messages,
				    j->stats.bytes, now - started);
			z->last_transfer = wall;
			if (!was_serving)
				xfrin_tables_later(x); /* no longer unavailable */
			xfrin_copy_save_later(z, now);
		}
	} else if (j->outcome == PULL_LOWER) {
		log_warning("zone %s: primary %s has serial %u, lower than the %u served: keeping %u", z->name,
		            j->primary, j->remote, z->serial, z->serial);
	}
	if (j->outcome == PULL_FAILED) {
		xfrin_set_text(z->last_error, sizeof(z->last_error), j->err);
		unsigned next;
		if (z->serving) {
			z->state = XFRIN_RETRYING;
			next = z->retry;
		} else if (z->retry) { /* expired: the SOA we had still says how often to retry */
			next = z->retry;
		} else {
			next = z->backoff;
			z->backoff = z->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : z->backoff * 2;
		}
		z->refresh_at = now + (uint64_t)next * 1000;
		if (!x->stop) {
			log_failure(z, next);
			signal_refresh(x, z, j->primary, true);
		}
	} else {
		signal_refresh(x, z, j->primary, false);
		if (z->expiring) { /* confirmed: the expiry moves on */
			signals_raise(x->srv->signals, SIGNAL_ZONE_EXPIRING, SIGNAL_CLEAR, z->name, NULL, 0);
			z->expiring = false;
		}
		/* the copy on disk says when a primary last confirmed it; rewritten if it is missing */
		if (j->outcome != PULL_TRANSFERRED && !z->copy_at && (!z->copy_saved || diskcopy_touch(z->file) < 0))
			xfrin_copy_save(z);
		if (j->outcome == PULL_CURRENT)
			log_debug("zone %s: serial %u is current at %s", z->name, z->serial, j->primary);
		z->state = XFRIN_OK;
		z->last_error[0] = 0;
		z->last_refresh = wall;
		z->backoff = XFRIN_TIMER_MIN;
		z->refresh_at = now + (uint64_t)z->refresh * 1000;
		z->expire_at = now + (uint64_t)z->expire * 1000;
	}
	xfrin_zone_status(x, z);
}

struct xfrin_job *xfrin_job_new(struct xfrin *x, struct xfrin_zone *z)
{
	struct xfrin_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->primaries = xfrin_primaries_copy(z->primaries))) {
		free(j);
		z->refresh_at = ev_clock_ms() + 1000;
		log_error("zone %s: out of memory for a refresh", z->name);
		return NULL;
	}
	j->z = z;
	memcpy(j->apex, z->apex, z->apex_len);
	j->have_copy = z->serving;
	j->by_notify = z->by_notify;
	z->by_notify = false;
	j->serial = z->serial;
	if (z->serving)
		pull_soa_of(z->served, &j->soa);
	j->stop_fd = x->stop_fd;
	j->started = ev_clock_ms();
	return j;
}

void xfrin_job_free(struct xfrin_job *j)
{
	if (!j)
		return;
	if (j->zone && j->derived)
		zone_discard(j->zone); /* derived from a snapshot, never served */
	else if (j->zone)
		zone_free(j->zone);
	xfrin_primaries_free(j->primaries);
	free(j);
}

void xfrin_job_apply(struct xfrin *x, struct xfrin_job *j)
{
	if (j->z->life == XFRIN_LIVE) /* else retired meanwhile: the caller lets it go */
		apply(x, j->z, j, j->started);
	xfrin_job_free(j);
}
