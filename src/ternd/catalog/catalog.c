/* The catalog zone producer (RFC 9432 version 2). A zones listener marks the catalog stale when a
 * zone appears or goes; a thread of its own lists the zones served, derives the next version with
 * zone_apply() (only the PTRs that changed and the SOA) and hands it to zones_publish(). The
 * listener never publishes: it runs inside the publisher, which holds the zones lock. */
#include "ternd/catalog/catalog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/wire.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/xfrin.h"

/* Versions are at least this far apart: a burst of new zones makes one version, and the zones
 * lock stays free for API writers in between. The first change after a quiet spell is published
 * at once. */
#define MIN_INTERVAL_MS 20
#define NAME_TEXT (NAME_MAXLEN * 4 + 2)
#define ERRBUF 2048

/* Names in one growing buffer; offsets while collecting (the buffer moves), pointers once sorted. */
struct names {
	uint8_t *buf;
	size_t used, cap;
	size_t *off;
	const uint8_t **v; /* sorted by name_cmp() once names_finish() ran */
	size_t n, capn;
};

struct catalog {
	struct server *srv;
	struct xfrin *x;
	uint8_t apex[NAME_MAXLEN];
	char name[NAME_TEXT];
	char *state_file; /* the last serial, so it never goes backwards across restarts */
	struct ev_loop *loop; /* the thread's: changed wakes it, due rebuilds */
	struct ev_thread thread;
	struct ev_async changed;
	struct ev_timer due;
	bool subscribed;
	pthread_mutex_t lock; /* the fields below up to the thread's own */
	pthread_cond_t ready;
	bool first_done;
	/* a renamed catalog's previous apex, still served until the first version under the new name
	 * is: never a member (empty: none) */
	uint8_t retiring[NAME_MAXLEN];
	int first_rc;
	char first_err[NAME_TEXT + ERRBUF + 16];
	/* the thread's own */
	uint32_t serial; /* of the version served (or of the state file before the first) */
	bool served; /* a version of ours is in srv->zones */
	bool warned; /* the state file could not be written (said once) */
	struct names members; /* those of the version served */
	uint64_t last_ms;
};

/* ---- lists of names ---- */

static int names_add(struct names *l, const uint8_t *name)
{
	size_t len = name_len(name);
	if (!l->buf || l->used + len > l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4096;
		while (ncap < l->used + len)
			ncap *= 2;
		uint8_t *nb = realloc(l->buf, ncap);
		if (!nb)
			return TERN_ENOMEM;
		l->buf = nb;
		l->cap = ncap;
	}
	if (l->n == l->capn) {
		size_t ncap = l->capn ? l->capn * 2 : 64;
		size_t *no = realloc(l->off, ncap * sizeof(*no));
		if (!no)
			return TERN_ENOMEM;
		l->off = no;
		l->capn = ncap;
	}
	memcpy(l->buf + l->used, name, len);
	l->off[l->n++] = l->used;
	l->used += len;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return name_cmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b);
}

static int names_finish(struct names *l)
{
	if (!l->n)
		return 0;
	if (!(l->v = malloc(l->n * sizeof(*l->v))))
		return TERN_ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		l->v[i] = l->buf + l->off[i];
	qsort(l->v, l->n, sizeof(*l->v), cmp_names);
	return 0;
}

static void names_free(struct names *l)
{
	free(l->buf);
	free(l->off);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- the serial kept on disk ---- */

static uint32_t load_serial(const char *path)
{
	unsigned long v = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &v) != 1 || v > UINT32_MAX) {
		log_warning("%s: not a serial: ignored (the catalog's serial starts from the clock)", path);
		v = 0;
	}
	fclose(f);
	return (uint32_t)v;
}

/* Written before the version is published, so what is on disk is never below what was served. */
static void save_serial(struct catalog *c, uint32_t serial)
{
	if (!c->state_file)
		return;
	size_t len = strlen(c->state_file) + 5;
	char *tmp = malloc(len);
	FILE *f = NULL;
	bool ok = false;
	if (tmp) {
		snprintf(tmp, len, "%s.tmp", c->state_file);
		if ((f = fopen(tmp, "w")) != NULL) {
			ok = fprintf(f, "%u\n", serial) > 0;
			ok = fclose(f) == 0 && ok;
			ok = ok && rename(tmp, c->state_file) == 0;
		}
	}
	if (!ok && !c->warned)
		log_warning("catalog %s: cannot keep its serial in %s (%s): after a restart it follows the clock",
		            c->name, c->state_file, strerror(errno));
	c->warned = c->warned || !ok;
	free(tmp);
}

/* ---- rebuilding ---- */

struct collect {
	struct names *l;
	const uint8_t *skip, *retiring;
};

static int collect(void *arg, const struct zone *z)
{
	struct collect *k = arg;
	if (name_equal(z->apex, k->skip) || (k->retiring[0] && name_equal(z->apex, k->retiring)))
		return 0;
	return names_add(k->l, z->apex);
}

static int cmp_apex(const void *a, const void *b)
{
	return name_cmp(a, b);
}

/* The zones served that are members: all but the catalog and the zones xfrin pulls. */
static int list_members(struct catalog *c, struct names *out)
{
	struct names all = {0};
	uint8_t(*sec)[NAME_MAXLEN] = NULL;
	size_t nsec = 0;
	uint8_t retiring[NAME_MAXLEN];
	pthread_mutex_lock(&c->lock);
	memcpy(retiring, c->retiring, name_len(c->retiring));
	pthread_mutex_unlock(&c->lock);
	struct collect k = {&all, c->apex, retiring};
	rcu_thread_online();
	int rc = zones_foreach(c->srv->zones, collect, &k);
	rcu_thread_offline();
	/* after the walk: xfrin_apexes() waits for a zone being added to be listed, so a secondary
	 * zone seen above is known to it by now */
	if (rc == 0 && c->x)
		rc = xfrin_apexes(c->x, &sec, &nsec);
	if (rc < 0)
		goto fail;
	if (nsec)
		qsort(sec, nsec, sizeof(*sec), cmp_apex);
	for (size_t i = 0; i < all.n; i++) {
		const uint8_t *apex = all.buf + all.off[i];
		if (nsec && bsearch(apex, sec, nsec, sizeof(*sec), cmp_apex))
			continue; /* a secondary zone */
		if ((rc = names_add(out, apex)) < 0)
			goto fail;
	}
	rc = names_finish(out);
fail:
	names_free(&all);
	free(sec);
	return rc;
}

/* Members in a and not in b (both sorted). */
static size_t diff(const struct names *a, const struct names *b, const uint8_t **out)
{
	size_t i = 0, j = 0, n = 0;
	while (i < a->n) {
		int d = j < b->n ? name_cmp(a->v[i], b->v[j]) : -1;
		if (d < 0)
			out[n++] = a->v[i++];
		else if (d > 0)
			j++;
		else
			i++, j++;
	}
	return n;
}

/* Lists the members and, when they changed (or nothing was served yet), publishes the next
 * version. The caller is a registered RCU thread, offline. */
static int rebuild(struct catalog *c, char *err, size_t errlen)
{
	struct names now = {0};
	const uint8_t **added = NULL, **removed = NULL;
	struct zone *next = NULL;
	int rc = list_members(c, &now);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory listing the zones");
		goto fail;
	}
	added = malloc((now.n + 1) * sizeof(*added));
	removed = malloc((c->members.n + 1) * sizeof(*removed));
	if (!added || !removed) {
		rc = TERN_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	size_t nadd = diff(&now, &c->members, added), nrem = diff(&c->members, &now, removed);
	if (c->served && nadd == 0 && nrem == 0)
		goto fail; /* nothing changed (a secondary zone came or went): rc is 0 */
	uint32_t serial = catalog_next_serial(c->serial, (uint32_t)time(NULL));
	rcu_thread_online();
	const struct zone *prev = zones_get(c->srv->zones, c->apex);
	if (prev && !c->served) {
		rcu_thread_offline();
		snprintf(err, errlen, "a zone named %s is served already: the catalog needs a name of its own",
		         c->name);
		rc = TERN_EEXIST;
		goto fail;
	}
	bool ours = prev && c->served && prev->serial == c->serial, derived = false;
	if (ours) /* copy only what changed */
		derived = catalog_derive(prev, added, nadd, removed, nrem, serial, &next, err, errlen) == 0;
	if (ours && !derived)
		log_warning("catalog %s: the next version could not be derived (%s): built whole", c->name, err);
	rc = derived ? 0 : catalog_build(c->apex, serial, now.v, now.n, &next, err, errlen);
	if (rc == 0) {
		save_serial(c, serial);
		rc = zones_publish(c->srv->zones, next);
		if (rc < 0) {
			snprintf(err, errlen, "cannot publish: %s", tern_strerror(rc));
			if (derived)
				zone_discard(next);
			else
				zone_free(next);
		}
	}
	rcu_thread_offline();
	if (rc < 0)
		goto fail;
	log_info("catalog %s: serial %u, %zu member(s) (%zu added, %zu removed)", c->name, serial, now.n, nadd, nrem);
	names_free(&c->members);
	c->members = now;
	memset(&now, 0, sizeof(now));
	c->serial = serial;
	c->served = true;
fail:
	names_free(&now);
	free(added);
	free(removed);
	return rc;
}

/* ---- the thread and the listener ---- */

/* Runs in the publisher's thread, inside its lock: only marks the catalog stale. A new version of
 * a zone already listed changes nothing; the catalog's own versions are ignored. */
static void on_zones(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	struct catalog *c = arg;
	const struct zone *z = next ? next : old;
	if (!z || (ev == ZONES_PUBLISHED && old) || name_equal(z->apex, c->apex))
		return;
	ev_async_send(&c->changed);
}

/* In the thread: a change (or a reload) is due MIN_INTERVAL_MS after the last version, at once
 * after a quiet spell; the changes until then make one version. */
static void on_changed(struct ev_loop *loop, struct ev_async *a)
{
	struct catalog *c = a->arg;
	if (!c->due.armed)
		ev_timer_at(loop, &c->due, c->last_ms ? c->last_ms + MIN_INTERVAL_MS : 0);
}

static void on_due(struct ev_loop *loop, struct ev_timer *t)
{
	struct catalog *c = t->arg;
	char err[ERRBUF];
	err[0] = 0;
	int rc = rebuild(c, err, sizeof(err));
	if (rc < 0 && c->first_done)
		log_error("catalog %s not updated: %s", c->name, err);
	c->last_ms = ev_clock_ms();
	pthread_mutex_lock(&c->lock);
	if (!c->first_done) {
		c->first_done = true;
		c->first_rc = rc;
		snprintf(c->first_err, sizeof(c->first_err), "catalog %s: %s", c->name, err);
		pthread_cond_broadcast(&c->ready);
		if (rc < 0)
			ev_stop(loop);
	}
	pthread_mutex_unlock(&c->lock);
}

/* Starts the producer; returns once its first version is served. retiring: see struct catalog. */
static int start(struct server *srv, const struct config *conf, struct xfrin *x, const uint8_t *retiring,
                 struct catalog **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!conf->catalog.enabled)
		return 0;
	struct catalog *c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->srv = srv;
	c->x = x;
	memcpy(c->apex, conf->catalog.apex, name_len(conf->catalog.apex));
	if (retiring)
		memcpy(c->retiring, retiring, name_len(retiring));
	name_to_text(c->apex, c->name, sizeof(c->name));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->ready, NULL);
	if (conf->catalog.state_file && !(c->state_file = strdup(conf->catalog.state_file)))
		goto nomem;
	c->serial = load_serial(c->state_file);
	/* offline but around its reads: rebuild() waits for locks held across grace periods */
	if (!(c->loop = ev_new(EV_RCU_OFFLINE)))
		goto nomem;
	ev_async_start(c->loop, &c->changed, on_changed, c);
	ev_timer_init(&c->due, on_due, c);
	ev_timer_at(c->loop, &c->due, 0); /* the first version lists every zone served now */
	/* subscribed before the thread's first walk, so no zone added meanwhile is missed */
	if (zones_subscribe(srv->zones, on_zones, c) < 0) {
		snprintf(err, errlen, "catalog %s: too many zone listeners", c->name);
		catalog_stop(c);
		return TERN_ENOMEM;
	}
	c->subscribed = true;
	if (ev_thread_start(&c->thread, c->loop, "ternd-catalog") < 0) {
		snprintf(err, errlen, "catalog %s: cannot start its thread", c->name);
		catalog_stop(c);
		return TERN_EIO;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->first_done)
		pthread_cond_wait(&c->ready, &c->lock);
	int rc = c->first_rc;
	pthread_mutex_unlock(&c->lock);
	if (rc < 0) {
		snprintf(err, errlen, "%s", c->first_err);
		catalog_stop(c);
		return rc;
	}
	*out = c;
	return 0;
nomem:
	snprintf(err, errlen, "catalog: out of memory");
	catalog_stop(c);
	return TERN_ENOMEM;
}

int catalog_start(struct server *srv, const struct config *conf, struct xfrin *x, struct catalog **out, char *err,
                  size_t errlen)
{
	return start(srv, conf, x, NULL, out, err, errlen);
}

int catalog_reload(struct catalog **cp, struct server *srv, const struct config *conf, struct xfrin *x, char *err,
                   size_t errlen)
{
	struct catalog *c = *cp;
	if (c && conf->catalog.enabled && name_equal(c->apex, conf->catalog.apex)) {
		ev_async_send(&c->changed);
		return 0;
	}
	/* a rename: the new catalog is served before the old one goes, so there is always one */
	bool served = false;
	uint8_t apex[NAME_MAXLEN];
	if (c) {
		served = c->served;
		memcpy(apex, c->apex, name_len(c->apex));
		log_info("catalog %s: no longer produced", c->name);
		catalog_stop(c);
		*cp = NULL;
		/* unless the configuration now serves a zone of that name itself */
		served = served && !config_zone_find(conf, apex);
	}
	int rc = start(srv, conf, x, served ? apex : NULL, cp, err, errlen);
	if (served) {
		int removed = zones_remove(srv->zones, apex);
		if (removed < 0 && removed != TERN_ENOTFOUND) {
			char name[NAME_MAXLEN * 4 + 1];
			name_to_text(apex, name, sizeof(name));
			log_error("catalog %s: no longer produced, but still served until restart: %s", name,
			          tern_strerror(removed));
		}
		if ((c = *cp) != NULL) { /* a zone of that name may be a member from now on */
			pthread_mutex_lock(&c->lock);
			c->retiring[0] = 0;
			pthread_mutex_unlock(&c->lock);
			ev_async_send(&c->changed);
		}
	}
	return rc;
}

void catalog_stop(struct catalog *c)
{
	if (!c)
		return;
	if (c->subscribed)
		zones_unsubscribe(c->srv->zones, on_zones, c);
	ev_thread_stop(&c->thread);
	ev_free(c->loop);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->ready);
	names_free(&c->members);
	free(c->state_file);
	free(c);
}
