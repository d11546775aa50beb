/* Zone histories in memory for IXFR out: per zone, its last changes, each one block holding its
 * records; one mutex, held by a reader while it writes the changes into its answer. */
#include "ternd/ns/xfr_history.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"

/* One change: the diff, then its records, then their owners and RDATA, in one allocation. */
struct change {
	struct xfr_diff d;
	size_t records;
};

struct zone_history {
	uint8_t apex[NAME_MAXLEN];
	struct change **v; /* oldest first */
	size_t n, cap, records;
};

struct xfr_history {
	pthread_mutex_t lock; /* everything below */
	struct xfr_journal journal;
	const struct xfr_journal *next;
	struct zone_history *zones;
	size_t nzones;
};

static struct zone_history *find(struct xfr_history *h, const uint8_t *apex)
{
	for (size_t i = 0; i < h->nzones; i++)
		if (name_equal(h->zones[i].apex, apex))
			return &h->zones[i];
	return NULL;
}

static void clear(struct zone_history *z)
{
	for (size_t i = 0; i < z->n; i++)
		free(z->v[i]);
	z->n = 0;
	z->records = 0;
}

static int history_read(void *ctx, const uint8_t *apex, uint32_t from, xfr_diff_fn fn, void *arg)
{
	struct xfr_history *h = ctx;
	pthread_mutex_lock(&h->lock);
	struct zone_history *z = find(h, apex);
	if (!z) {
		pthread_mutex_unlock(&h->lock);
		return h->next ? h->next->read(h->next->ctx, apex, from, fn, arg) : TERN_ENOTFOUND;
	}
	size_t i = 0;
	while (i < z->n && z->v[i]->d.serial_from != from)
		i++;
	int rc = i < z->n ? 0 : TERN_ENOTFOUND;
	for (; rc == 0 && i < z->n; i++)
		rc = fn(&z->v[i]->d, arg);
	pthread_mutex_unlock(&h->lock);
	return rc < 0 ? rc : 0;
}

struct xfr_history *xfr_history_new(const struct xfr_journal *next)
{
	struct xfr_history *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->next = next;
	h->journal = (struct xfr_journal){.read = history_read, .ctx = h};
	return h;
}

void xfr_history_free(struct xfr_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->nzones; i++) {
		clear(&h->zones[i]);
		free(h->zones[i].v);
	}
	free(h->zones);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const struct xfr_journal *xfr_history_journal(struct xfr_history *h)
{
	return h ? &h->journal : NULL;
}

/* Copies n records to rrs, their bytes to *bytes (moved past them). */
static void copy_rrs(struct xfr_rr *rrs, const struct xfr_rr *from, size_t n, uint8_t **bytes)
{
	for (size_t i = 0; i < n; i++) {
		size_t ol = name_len(from[i].owner);
		rrs[i] = from[i];
		memcpy(*bytes, from[i].owner, ol);
		rrs[i].owner = *bytes;
		*bytes += ol;
		memcpy(*bytes, from[i].rdata, from[i].rdlen);
		rrs[i].rdata = *bytes;
		*bytes += from[i].rdlen;
	}
}

static struct change *change_copy(const struct xfr_diff *d)
{
	size_t n = d->nremoved + d->nadded, bytes = 0;
	for (size_t i = 0; i < d->nremoved; i++)
		bytes += name_len(d->removed[i].owner) + d->removed[i].rdlen;
	for (size_t i = 0; i < d->nadded; i++)
		bytes += name_len(d->added[i].owner) + d->added[i].rdlen;
	struct change *c = malloc(sizeof(*c) + n * sizeof(struct xfr_rr) + bytes);
	if (!c)
		return NULL;
	struct xfr_rr *rrs = (struct xfr_rr *)(c + 1);
	uint8_t *b = (uint8_t *)(rrs + n);
	copy_rrs(rrs, d->removed, d->nremoved, &b);
	copy_rrs(rrs + d->nremoved, d->added, d->nadded, &b);
	c->d = *d;
	c->d.removed = rrs;
	c->d.added = rrs + d->nremoved;
	c->records = n;
	return c;
}

/* apex's history, made (empty) when there is none; NULL when out of memory. */
static struct zone_history *find_or_add(struct xfr_history *h, const uint8_t *apex)
{
	struct zone_history *z = find(h, apex);
	if (z)
		return z;
	struct zone_history *nz = realloc(h->zones, (h->nzones + 1) * sizeof(*nz));
	if (!nz)
		return NULL;
	h->zones = nz;
	z = &h->zones[h->nzones++];
	memset(z, 0, sizeof(*z));
	memcpy(z->apex, apex, name_len(apex));
	return z;
}

int xfr_history_add(struct xfr_history *h, const uint8_t *apex, const struct xfr_diff *d)
{
	size_t n = d->nremoved + d->nadded;
	struct change *c = n <= XFR_HISTORY_MAX_RECORDS ? change_copy(d) : NULL;
	int rc = 0;
	pthread_mutex_lock(&h->lock);
	struct zone_history *z = find_or_add(h, apex);
	if (!z) {
		rc = TERN_ENOMEM;
		goto out;
	}
	if (!c) {
		clear(z);
		rc = n <= XFR_HISTORY_MAX_RECORDS ? TERN_ENOMEM : 0;
		goto out;
	}
	if (z->n && z->v[z->n - 1]->d.serial_to != d->serial_from)
		clear(z); /* does not chain: a new history */
	size_t drop = 0;
	while (drop < z->n && (z->n - drop >= XFR_HISTORY_MAX_CHANGES || z->records + n > XFR_HISTORY_MAX_RECORDS)) {
		z->records -= z->v[drop]->records;
		free(z->v[drop++]);
	}
	if (drop) {
		memmove(z->v, z->v + drop, (z->n - drop) * sizeof(*z->v));
		z->n -= drop;
	}
	if (z->n == z->cap) {
		size_t ncap = z->cap ? z->cap * 2 : 16;
		struct change **nv = realloc(z->v, ncap * sizeof(*nv));
		if (!nv) {
			clear(z);
			rc = TERN_ENOMEM;
			goto out;
		}
		z->v = nv;
		z->cap = ncap;
	}
	z->v[z->n++] = c;
	z->records += n;
	c = NULL;
out:
	pthread_mutex_unlock(&h->lock);
	free(c);
	return rc;
}

void xfr_history_reset(struct xfr_history *h, const uint8_t *apex)
{
	pthread_mutex_lock(&h->lock);
	struct zone_history *z = find_or_add(h, apex);
	if (z)
		clear(z);
	pthread_mutex_unlock(&h->lock);
}

void xfr_history_drop(struct xfr_history *h, const uint8_t *apex)
{
	pthread_mutex_lock(&h->lock);
	struct zone_history *z = find(h, apex);
	if (z) {
		clear(z);
		free(z->v);
		*z = h->zones[--h->nzones];
	}
	pthread_mutex_unlock(&h->lock);
}

void xfr_history_size(struct xfr_history *h, const uint8_t *apex, size_t *changes, size_t *records)
{
	pthread_mutex_lock(&h->lock);
	struct zone_history *z = find(h, apex);
	*changes = z ? z->n : 0;
	*records = z ? z->records : 0;
	pthread_mutex_unlock(&h->lock);
}
