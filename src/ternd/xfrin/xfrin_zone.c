/* One secondary zone's life: added (its disk copy loaded and served at once), served, saved to
 * disk, expired, retired and freed; plus the status copy /healthz reads.
 *
 * Disk copies: due as a deadline of the zone's own (its timer), COPY_DELAY_MS after a transfer (on
 * a COPY_GRID_MS grid) and at most once per COPY_INTERVAL_MS, so changes that arrive in bursts
 * cost one copy (the whole zone as text) per interval instead of one per transfer; the refresh
 * thread only renders the text and queues it, the copy thread (xfrin_copies.c) writes and syncs
 * it, so the disk never sits between a NOTIFY and the next transfer. A copy still due is written
 * at stop and before the zone expires; after a crash the copy on disk is at most 1.6 s behind
 * (the grid, then the copy thread gathers copies into batches half a second apart), and the refresh
 * at start brings the zone up to date. */
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

#define COPY_DELAY_MS 100u /* after a transfer, before its disk copy is written */
#define COPY_INTERVAL_MS 1000u /* between two disk copies of one zone */
/* A copy's deadline is rounded up to this grid, so the copies of a burst's zones come due together:
 * one wake-up of the refresh thread for all of them, not one each (bench-fleet's PoPs woke once a
 * change for it, a context switch each) */
#define COPY_GRID_MS 100u

/* ---- small helpers ---- */

void xfrin_set_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* The keyring's copy and ours come from one configuration, or from two consecutive ones during a
 * reload. */
bool xfrin_same_key(const struct tsig_key *a, const struct tsig_key *b)
{
	return b && a->alg == b->alg && name_equal(a->name, b->name) && a->secret_len == b->secret_len &&
	       memcmp(a->secret, b->secret, a->secret_len) == 0;
}

static bool has_tls(const struct config_zone *cz)
{
	for (size_t i = 0; i < cz->nprimaries; i++)
		if (cz->primaries[i].tls)
			return true;
	return false;
}

/* cz's TLS settings, shared through x->tls (one more reference); NULL with err when they cannot be
 * made (a CA file gone since the configuration was checked). */
static struct tls_client *tls_for(struct xfrin *x, const struct config_zone *cz, char *err, size_t errlen)
{
	for (size_t i = 0; i < x->ntls; i++)
		if (tls_client_is(x->tls[i], cz->tls_ca_file, cz->tls_auth_name, cz->tls_pin)) {
			tls_client_ref(x->tls[i]);
			return x->tls[i];
		}
	if (x->ntls == x->captls) {
		size_t cap = x->captls ? x->captls * 2 : 4;
		struct tls_client **v = realloc(x->tls, cap * sizeof(*v));
		if (!v) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		x->tls = v;
		x->captls = cap;
	}
	struct tls_client *c;
	if (tls_client_new(cz->tls_ca_file, cz->tls_auth_name, cz->tls_pin, &c, err, errlen) < 0)
		return NULL;
	x->tls[x->ntls++] = c;
	tls_client_ref(c);
	return c;
}

void xfrin_tls_prune(struct xfrin *x, bool all)
{
	size_t kept = 0;
	for (size_t i = 0; i < x->ntls; i++) {
		if (all || tls_client_refs(x->tls[i]) == 1)
			tls_client_unref(x->tls[i]);
		else
			x->tls[kept++] = x->tls[i];
	}
	x->ntls = kept;
	if (all) {
		free(x->tls);
		x->tls = NULL;
		x->captls = 0;
	}
}

struct primaries *xfrin_primaries_new(struct xfrin *x, const struct config_zone *cz)
{
	struct primaries *p = calloc(1, sizeof(*p) + cz->nprimaries * sizeof(p->addr[0]));
	if (p) {
		p->n = cz->nprimaries;
		p->has_key = cz->key != NULL;
		if (cz->key)
			p->key = *cz->key;
		memcpy(p->addr, cz->primaries, cz->nprimaries * sizeof(p->addr[0]));
		if (has_tls(cz) && !(p->tls = tls_for(x, cz, p->tls_err, sizeof(p->tls_err))))
			log_error("zone %s: TLS settings of its tls:// primaries: %s", cz->name, p->tls_err);
	}
	return p;
}

struct primaries *xfrin_primaries_copy(const struct primaries *p)
{
	size_t size = sizeof(*p) + p->n * sizeof(p->addr[0]);
	struct primaries *c = malloc(size);
	if (c) {
		memcpy(c, p, size);
		if (c->tls)
			tls_client_ref(c->tls);
	}
	return c;
}

void xfrin_primaries_free(struct primaries *p)
{
	if (p)
		tls_client_unref(p->tls);
	free(p);
}

bool xfrin_primaries_equal(const struct primaries *p, const struct config_zone *cz)
{
	return p->n == cz->nprimaries && memcmp(p->addr, cz->primaries, p->n * sizeof(p->addr[0])) == 0 &&
	       p->has_key == (cz->key != NULL) && (!cz->key || xfrin_same_key(&p->key, cz->key)) &&
	       (!has_tls(cz) || (p->tls && tls_client_is(p->tls, cz->tls_ca_file, cz->tls_auth_name, cz->tls_pin)));
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Refresh, retry and expire from the zone's SOA. */
static void set_timers(struct xfrin_zone *z, const struct zone *zn)
{
	const uint8_t *rec = zn->soa->rdata;
	const uint8_t *t = rdata_bytes(rec) + rdata_len(rec) - 20; /* serial refresh retry expire minimum */
	z->refresh = clamp(wire_get32(t + 4), XFRIN_TIMER_MIN, XFRIN_TIMER_MAX);
	z->retry = clamp(wire_get32(t + 8), XFRIN_TIMER_MIN, XFRIN_TIMER_MAX);
	z->expire = clamp(wire_get32(t + 12), XFRIN_TIMER_MIN, 0x7fffffff);
}

/* ---- serving and status ---- */

/* A zone that signs: zn to the signer, then our base (the previous one freed: no reader sees it). */
static int hand_to_signer(struct xfrin *x, struct xfrin_zone *z, struct zone *zn, char *err, size_t errlen)
{
	bool derived = z->served && zn->base == z->served; /* by IXFR from the base */
	int rc = x->signer.update
	             ? x->signer.update(x->signer.arg, z->apex, zn, derived ? z->served : NULL, z->source, err, errlen)
	             : TERN_EINVAL;
	if (!x->signer.update)
		snprintf(err, errlen, "has a dnssec-policy, but ternd has no store to sign it in");
	if (rc < 0) {
		if (derived)
			zone_discard(zn);
		else
			zone_free(zn);
		return rc;
	}
	struct zone *old = (struct zone *)z->served;
	if (derived)
		zone_supersede(old, zn); /* old then frees only what zn dropped */
	zone_free(old);
	return 0;
}

int xfrin_zone_serve(struct xfrin *x, struct xfrin_zone *z, struct zone *zn, char *err, size_t errlen)
{
	int rc;
	if (z->signs) {
		rc = hand_to_signer(x, z, zn, err, errlen);
		if (rc < 0)
			return rc;
	} else if ((rc = zones_publish(x->srv->zones, zn)) < 0) {
		log_error("zone %s: cannot publish: %s", z->name, tern_strerror(rc));
		snprintf(err, errlen, "cannot publish the transferred zone");
		zone_free(zn);
		return rc;
	}
	z->served = zn;
	z->serial = zn->serial;
	set_timers(z, zn);
	return 0;
}

/* CLOCK_MONOTONIC ms to Unix seconds. */
static int64_t wall_of(uint64_t mono, uint64_t now_mono, int64_t now_wall)
{
	return now_wall + ((int64_t)mono - (int64_t)now_mono) / 1000;
}

void xfrin_zone_status(struct xfrin *x, struct xfrin_zone *z)
{
	uint64_t mono = ev_clock_ms();
	int64_t wall = (int64_t)time(NULL);
	pthread_mutex_lock(&x->status_lock);
	struct xfrin_status *s = &z->st;
	memcpy(s->apex, z->apex, z->apex_len);
	s->state = z->state;
	s->serving = z->serving;
	s->serial = z->serial;
	s->last_transfer = z->last_transfer;
	s->last_refresh = z->last_refresh;
	s->next_refresh = wall_of(z->refresh_at, mono, wall);
	s->expires = z->serving ? wall_of(z->expire_at, mono, wall) : 0;
	xfrin_set_text(s->last_error, sizeof(s->last_error), z->last_error);
	pthread_mutex_unlock(&x->status_lock);
}

void xfrin_zone_expire(struct xfrin *x, struct xfrin_zone *z)
{
	if (z->copy_at)
		xfrin_copy_save(z); /* the last version transferred, with its own age: not served at restart */
	if (z->signs) {
		if (x->signer.unserve)
			x->signer.unserve(x->signer.arg, z->apex);
		zone_free((struct zone *)z->served); /* our base: no reader sees it */
	} else {
		zones_remove(x->srv->zones, z->apex);
	}
	z->serving = false;
	z->served = NULL;
	z->state = XFRIN_EXPIRED;
	signals_raise(x->srv->signals, SIGNAL_ALL_ZONES_READY, SIGNAL_CLEAR, NULL, NULL, 0);
	log_error("zone %s: EXPIRED: no primary confirmed serial %u within its SOA expire of %u s (%s); answering "
	          "SERVFAIL until a transfer succeeds",
	          z->name, z->serial, z->expire, z->last_error[0] ? z->last_error : "no answer");
	xfrin_tables_publish(x);
	xfrin_zone_status(x, z);
}

/* ---- disk copies ---- */

void xfrin_copy_save(struct xfrin_zone *z)
{
	char err[512];
	z->copy_at = 0;
	if (!z->serving || !z->served || !z->x->copies)
		return;
	int rc = xfrin_copies_queue(z->x->copies, z->served, z->name, z->file, z->source, z->last_transfer, err,
	                            sizeof(err));
	z->copy_saved = rc == 0; /* queued: the copy thread logs a write that fails */
	z->copy_written = ev_clock_ms();
	if (rc < 0)
		log_error("zone %s: disk copy not written (still served from memory): %s", z->name, err);
}

void xfrin_copy_save_later(struct xfrin_zone *z, uint64_t now)
{
	z->copy_saved = false;
	if (z->copy_at)
		return;
	uint64_t at = now + COPY_DELAY_MS;
	if (z->copy_written && z->copy_written + COPY_INTERVAL_MS > at)
		at = z->copy_written + COPY_INTERVAL_MS;
	z->copy_at = (at + COPY_GRID_MS - 1) / COPY_GRID_MS * COPY_GRID_MS;
}

/* Reads the disk copy of a new zone and serves it when it has not expired. */
static void load_copy(struct xfrin *x, struct xfrin_zone *z)
{
	char *err = malloc(XFRIN_ERRBUF);
	struct zone *zn = NULL;
	int64_t transferred = 0, confirmed = 0;
	if (!err) {
		log_error("zone %s: out of memory loading its disk copy", z->name);
		return;
	}
	int rc = diskcopy_load(z->file, z->apex, &zn, &transferred, &confirmed, err, XFRIN_ERRBUF);
	if (rc == TERN_ENOTFOUND) {
		log_info("zone %s: no disk copy yet (%s): transferring", z->name, z->file);
	} else if (rc < 0) {
		log_error("zone %s: disk copy not loaded, transferring anew:\n%s", z->name, err);
	} else {
		int64_t age = (int64_t)time(NULL) - confirmed;
		age = age < 0 ? 0 : age;
		set_timers(z, zn);
		z->serial = zn->serial;
		z->last_transfer = transferred;
		z->last_refresh = confirmed;
		if (age >= z->expire) {
			log_warning("zone %s: disk copy serial %u was last confirmed %" PRId64
			            " s ago, beyond its SOA expire of %u s: not served until a transfer succeeds",
			            z->name, zn->serial, age, z->expire);
			zone_free(zn);
			z->state = XFRIN_EXPIRED;
			if (z->signs && x->signer.unserve) /* the store's signed version is as old */
				x->signer.unserve(x->signer.arg, z->apex);
		} else {
			xfrin_set_text(z->source, sizeof(z->source), "disk copy");
			if (xfrin_zone_serve(x, z, zn, err, XFRIN_ERRBUF) < 0) {
				log_error("zone %s: disk copy serial %u not served (transferring anew): %s", z->name,
				          z->serial, err);
			} else {
				z->serving = true;
				z->copy_saved = true;
				z->state = XFRIN_OK;
				z->expire_at = ev_clock_ms() + ((uint64_t)z->expire - (uint64_t)age) * 1000;
				log_info("zone %s: serving the disk copy, serial %u (confirmed %" PRId64 " s ago)",
				         z->name, z->serial, age);
			}
		}
	}
	free(err);
}

/* ---- birth and death ---- */

void xfrin_zone_destroy(struct xfrin_zone *z)
{
	if (z->signs)
		zone_free((struct zone *)z->served); /* our base, never published */
	xfrin_primaries_free(z->primaries);
	free(z->file);
	free(z);
}

/* ---- the live zones by apex (x->index; x->lock held) ---- */

/* The slot of the live zone at apex, or the empty slot it would take. */
static size_t index_pos(const struct xfrin *x, const uint8_t *apex, uint32_t hash)
{
	size_t i = hash & x->index_mask;
	while (x->index[i] && !name_equal(x->index[i]->apex, apex))
		i = (i + 1) & x->index_mask;
	return i;
}

/* Doubles the index (at least 64 slots): room for the next zone at under 3/4 full. */
static int index_grow(struct xfrin *x)
{
	size_t size = x->index ? (x->index_mask + 1) * 2 : 64;
	struct xfrin_zone **v = calloc(size, sizeof(*v));
	if (!v)
		return TERN_ENOMEM;
	free(x->index);
	x->index = v;
	x->index_mask = size - 1;
	for (size_t i = 0; i < x->nzones; i++)
		x->index[index_pos(x, x->zones[i]->apex, x->zones[i]->hash)] = x->zones[i];
	return 0;
}

/* Takes z out of the index; the zones after it in its run move back over the gap. */
static void index_remove(struct xfrin *x, struct xfrin_zone *z)
{
	size_t i = index_pos(x, z->apex, z->hash);
	if (x->index[i] != z)
		return;
	x->index[i] = NULL;
	for (size_t j = (i + 1) & x->index_mask; x->index[j]; j = (j + 1) & x->index_mask) {
		size_t home = x->index[j]->hash & x->index_mask;
		if (((j - home) & x->index_mask) >= ((j - i) & x->index_mask)) {
			x->index[i] = x->index[j];
			x->index[j] = NULL;
			i = j;
		}
	}
}

int xfrin_zone_add(struct xfrin *x, const struct config_zone *cz)
{
	struct xfrin_zone *z = calloc(1, sizeof(*z));
	if (!z)
		return TERN_ENOMEM;
	memcpy(z->apex, cz->apex, name_len(cz->apex));
	z->apex_len = (uint8_t)name_len(cz->apex);
	z->hash = name_hash(z->apex);
	name_to_text(z->apex, z->name, sizeof(z->name));
	z->file = strdup(cz->file);
	z->primaries = xfrin_primaries_new(x, cz);
	z->signs = cz->stored;
	z->state = XFRIN_LOADING;
	z->life = XFRIN_LIVE;
	z->backoff = XFRIN_TIMER_MIN;
	xfrin_loop_timer_init(x, z);
	if (!z->file || !z->primaries)
		goto fail;
	if ((x->nzones + 1) * 4 > (x->index ? x->index_mask + 1 : 0) * 3 && index_grow(x) < 0)
		goto fail;
	if (x->nzones == x->capzones) {
		/* under status_lock: xfrin_status() (the API thread) walks zones[] holding it alone, and
		 * realloc() may free the array it walks */
		size_t ncap = x->capzones ? x->capzones * 2 : 16;
		pthread_mutex_lock(&x->status_lock);
		struct xfrin_zone **nz = realloc(x->zones, ncap * sizeof(*nz));
		if (nz) {
			x->zones = nz;
			x->capzones = ncap;
		}
		pthread_mutex_unlock(&x->status_lock);
		if (!nz)
			goto fail;
	}
	load_copy(x, z);
	z->refresh_at = ev_clock_ms();
	pthread_mutex_lock(&x->status_lock);
	z->at = x->nzones;
	x->zones[x->nzones++] = z;
	pthread_mutex_unlock(&x->status_lock);
	x->index[index_pos(x, z->apex, z->hash)] = z;
	xfrin_zone_status(x, z);
	x->unarmed = true;
	xfrin_loop_wake(x); /* arms its timer */
	return 0;
fail:
	xfrin_zone_destroy(z);
	return TERN_ENOMEM;
}

struct xfrin_zone *xfrin_zone_find(struct xfrin *x, const uint8_t *apex)
{
	return x->index ? x->index[index_pos(x, apex, name_hash(apex))] : NULL;
}

void xfrin_zone_retire(struct xfrin *x, struct xfrin_zone *z)
{
	pthread_mutex_lock(&x->status_lock);
	x->zones[z->at] = x->zones[--x->nzones];
	x->zones[z->at]->at = z->at;
	pthread_mutex_unlock(&x->status_lock);
	index_remove(x, z);
	z->life = XFRIN_RETIRED;
	z->next_retired = x->retired;
	x->retired = z;
	xfrin_loop_wake(x); /* lets it go */
}

void xfrin_zone_reap(struct xfrin *x)
{
	for (struct xfrin_zone **p = &x->retired; *p;) {
		struct xfrin_zone *z = *p;
		/* on x->notified until the next wake-up takes it (a reader pushed it before the grace
		 * period that made it unseen; none can since) */
		if (z->life == XFRIN_UNSEEN && !z->held && !atomic_load(&z->notified)) {
			*p = z->next_retired;
			xfrin_zone_destroy(z);
		} else {
			p = &z->next_retired;
		}
	}
}
