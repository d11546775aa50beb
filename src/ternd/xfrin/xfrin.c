/* Secondary zones, the module's life: start (every zone's disk copy served, the refresh thread
 * started), reload (zones added, retired, or given new primaries), stop, and the status /healthz
 * shows. The other jobs, and the locking rule they share, are listed in xfrin_impl.h. */
#include "ternd/xfrin/xfrin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/xfrin_impl.h"

const char *xfrin_state_name(enum xfrin_state s)
{
	switch (s) {
	case XFRIN_LOADING: return "loading";
	case XFRIN_OK: return "ok";
	case XFRIN_RETRYING: return "retrying";
	case XFRIN_EXPIRED: return "expired";
	}
	return "?";
}

int xfrin_start(struct server *srv, const struct config *conf, const struct xfrin_signer *signer, struct xfrin **out,
                char *err, size_t errlen)
{
	*out = NULL;
	struct xfrin *x = calloc(1, sizeof(*x));
	if (!x)
		return TERN_ENOMEM;
	x->srv = srv;
	x->expiring_lead = conf->signals.expiring_lead_ms;
	if (signer)
		x->signer = *signer;
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->status_lock, NULL);
	pthread_mutex_init(&x->jobs_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the workers' idle checks */
	pthread_cond_init(&x->jobs_cond, &ca);
	pthread_condattr_destroy(&ca);
	int rc = xfrin_loop_open(x, err, errlen);
	if (rc == 0)
		rc = xfrin_copies_start(&x->copies, err, errlen);
	if (rc < 0)
		goto fail;
	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; i < conf->nzones && rc == 0; i++)
		if (conf->zones[i].nprimaries)
			rc = xfrin_zone_add(x, &conf->zones[i]);
	if (rc == 0)
		rc = xfrin_tables_publish(x);
	pthread_mutex_unlock(&x->lock);
	if (rc < 0) {
		snprintf(err, errlen, "secondary zones: out of memory");
		goto fail;
	}
	rc = xfrin_loop_start(x, conf->transfer.refresh_workers ? conf->transfer.refresh_workers : 1, err, errlen);
	if (rc < 0)
		goto fail;
	*out = x;
	return 0;
fail:
	xfrin_stop(x);
	return rc;
}

static const struct config_zone *config_find(const struct config *conf, const uint8_t *apex)
{
	const struct config_zone *cz = config_zone_find(conf, apex);
	return cz && cz->nprimaries ? cz : NULL;
}

int xfrin_reload(struct xfrin *x, const struct config *conf)
{
	if (!x)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&x->lock);
	x->expiring_lead = conf->signals.expiring_lead_ms; /* from each zone's next deadline on */
	size_t nold = 0;
	struct primaries **old = calloc(x->nzones + 1, sizeof(*old));
	if (!old) {
		pthread_mutex_unlock(&x->lock);
		return TERN_ENOMEM;
	}
	/* zones no longer secondary stop being pulled; the others take their new settings */
	for (size_t i = 0; i < x->nzones;) {
		struct xfrin_zone *z = x->zones[i];
		const struct config_zone *cz = config_find(conf, z->apex);
		/* a catalog member the configuration now serves from a file */
		bool file = !cz && z->runtime && config_zone_find(conf, z->apex);
		if (!cz && z->runtime && !file) { /* a catalog member: the catalog's to keep or drop */
			i++;
			continue;
		}
		z->runtime = false; /* configured now: the configuration's from here on */
		if (!cz) {
			log_info("zone %s: no longer a secondary zone: not pulled any more", z->name);
			xfrin_zone_retire(x, z); /* zones[i] is another zone now */
			continue;
		}
		if (z->signs != cz->stored) { /* now signed (or no longer stored): a zone anew, below */
			log_info("zone %s: %s from now on", z->name,
			         cz->stored ? "signed by ternd" : "served as its primaries send it");
			xfrin_zone_retire(x, z);
			continue;
		}
		if (!xfrin_primaries_equal(z->primaries, cz)) {
			struct primaries *p = xfrin_primaries_new(x, cz);
			if (p)
				old[nold++] = rcu_xchg_pointer(&z->primaries, p);
			else
				rc = TERN_ENOMEM;
		}
		if (strcmp(z->file, cz->file) != 0) {
			char *f = strdup(cz->file);
			if (f) {
				free(z->file);
				z->file = f;
				z->copy_saved = false; /* written at the new place on the next refresh */
			} else {
				rc = TERN_ENOMEM;
			}
		}
		i++;
	}
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		if (cz->nprimaries && !xfrin_zone_find(x, cz->apex)) {
			log_info("zone %s: new secondary zone", cz->name);
			if (xfrin_zone_add(x, cz) < 0)
				rc = TERN_ENOMEM;
		}
	}
	/* after this grace period no reader sees a retired zone (freed there) or old primaries */
	if (xfrin_tables_publish(x) < 0) {
		rc = TERN_ENOMEM;
		synchronize_rcu(); /* the old tables stay, but no NOTIFY check reads old primaries now */
	}
	for (size_t i = 0; i < nold; i++)
		xfrin_primaries_free(old[i]);
	xfrin_tls_prune(x, false);
	pthread_mutex_unlock(&x->lock);
	free(old);
	return rc;
}

void xfrin_signer_detach(struct xfrin *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->lock); /* the signer is called only under it */
	x->signer = (struct xfrin_signer){0};
	pthread_mutex_unlock(&x->lock);
}

void xfrin_stop(struct xfrin *x)
{
	if (!x)
		return;
	xfrin_loop_stop(x);
	for (size_t i = 0; i < x->nzones; i++) {
		if (x->zones[i]->copy_at)
			xfrin_copy_save(x->zones[i]); /* still served: srv->zones outlives this */
	}
	xfrin_copies_stop(x->copies); /* what was queued is on disk now */
	for (size_t i = 0; i < x->nzones; i++)
		xfrin_zone_destroy(x->zones[i]); /* the snapshots served belong to srv->zones (but a base) */
	while (x->retired) { /* no reader and no refresh is left */
		struct xfrin_zone *z = x->retired;
		x->retired = z->next_retired;
		xfrin_zone_destroy(z);
	}
	free(x->zones);
	free(x->index);
	free(x->all);
	free(x->gone);
	xfrin_tls_prune(x, true);
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->status_lock);
	pthread_mutex_destroy(&x->jobs_lock);
	pthread_cond_destroy(&x->jobs_cond);
	free(x);
}

int xfrin_status(struct xfrin *x, struct xfrin_status **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!x)
		return 0;
	pthread_mutex_lock(&x->status_lock);
	struct xfrin_status *s = x->nzones ? calloc(x->nzones, sizeof(*s)) : NULL;
	if (x->nzones && !s) {
		pthread_mutex_unlock(&x->status_lock);
		return TERN_ENOMEM;
	}
	for (size_t i = 0; i < x->nzones; i++)
		s[i] = x->zones[i]->st;
	*n = x->nzones;
	pthread_mutex_unlock(&x->status_lock);
	*out = s;
	return 0;
}

bool xfrin_unserved_next(struct xfrin *x, size_t *cursor, uint8_t first[NAME_MAXLEN], size_t *total)
{
	if (!x) {
		if (total)
			*total = 0;
		return false;
	}
	bool found = false;
	pthread_mutex_lock(&x->status_lock);
	size_t i = *cursor;
	for (; i < x->nzones; i++) {
		const struct xfrin_zone *z = x->zones[i];
		if (!z->st.serving) { /* st: a new zone's is zero (not serving) at first */
			memcpy(first, z->apex, z->apex_len);
			found = true;
			break;
		}
	}
	*cursor = i;
	if (total)
		*total = x->nzones;
	pthread_mutex_unlock(&x->status_lock);
	return found;
}
