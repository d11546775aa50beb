/* The catalog zone producer (RFC 9432 version 2). A zones listener notes each zone that appears
 * or goes; a thread of its own looks at those names only (the members are a hash set, so a change
 * costs what changed, not the number of zones), derives the next version with zone_apply() (only
 * the PTRs that changed and the SOA), records the change in the IXFR history and hands the
 * version to zones_publish(). The first version and each reload list every zone served. The
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
#include "ternd/ns/xfr_history.h"
#include "ternd/xfrin/xfrin.h"

/* Versions are at least this far apart: a burst of new zones makes one version, and the zones
 * lock stays free for API writers in between. The first change after a quiet spell is published
 * at once. */
#define MIN_INTERVAL_MS 20
#define NAME_TEXT (NAME_MAXLEN * 4 + 2)
#define ERRBUF 2048

/* Names in one growing buffer, each at its offset (the buffer moves as it grows). */
struct names {
	uint8_t *buf;
	size_t used, cap;
	size_t *off;
	size_t n, capn;
};

/* A set of names (lower-cased wire form, each its own allocation): open addressing by
 * name_hash(), linear probing, deletion by backward shift. */
struct nameset {
	uint8_t **slot;
	size_t mask, n;
};

struct catalog {
	struct server *srv;
	struct xfrin *x;
	struct xfr_history *hist; /* IXFR's view of the catalog's changes */
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
	struct names pending; /* zones that came or went since the last version (the listener's) */
	bool full; /* list every zone served for the next version (a reload, a name the listener lost) */
	/* the thread's own */
	uint32_t serial; /* of the version served (or of the state file before the first) */
	bool served; /* a version of ours is in srv->zones */
	bool warned; /* the state file could not be written (said once) */
	struct nameset members; /* those of the version served */
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

static void names_free(struct names *l)
{
	free(l->buf);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

static void nameset_free(struct nameset *s)
{
	for (size_t i = 0; s->slot && i <= s->mask; i++)
		free(s->slot[i]);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

/* The slot holding name, or the empty one it would go to. */
static size_t nameset_pos(const struct nameset *s, const uint8_t *name)
{
	size_t i = name_hash(name) & s->mask;
	while (s->slot[i] && !name_equal(s->slot[i], name))
		i = (i + 1) & s->mask;
	return i;
}

static bool nameset_has(const struct nameset *s, const uint8_t *name)
{
	return s->n && s->slot[nameset_pos(s, name)];
}

static int nameset_grow(struct nameset *s)
{
	size_t size = s->slot ? (s->mask + 1) * 2 : 64;
	struct nameset t = {calloc(size, sizeof(*t.slot)), size - 1, 0};
	if (!t.slot)
		return TERN_ENOMEM;
	for (size_t i = 0; s->slot && i <= s->mask; i++)
		if (s->slot[i]) {
			t.slot[nameset_pos(&t, s->slot[i])] = s->slot[i];
			t.n++;
		}
	free(s->slot);
	*s = t;
	return 0;
}

/* Adds a copy of name (nothing when it is in already). */
static int nameset_add(struct nameset *s, const uint8_t *name)
{
	if ((!s->slot || (s->n + 1) * 4 > (s->mask + 1) * 3) && nameset_grow(s) < 0)
		return TERN_ENOMEM;
	size_t i = nameset_pos(s, name), len = name_len(name);
	if (s->slot[i])
		return 0;
	if (!(s->slot[i] = malloc(len)))
		return TERN_ENOMEM;
	memcpy(s->slot[i], name, len);
	s->n++;
	return 0;
}

static void nameset_remove(struct nameset *s, const uint8_t *name)
{
	if (!s->n)
		return;
	size_t i = nameset_pos(s, name);
	if (!s->slot[i])
		return;
	free(s->slot[i]);
	s->slot[i] = NULL;
	s->n--;
	/* backward shift: each name after the gap that may sit there moves into it */
	for (size_t j = (i + 1) & s->mask; s->slot[j]; j = (j + 1) & s->mask) {
		size_t home = name_hash(s->slot[j]) & s->mask;
		if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
			s->slot[i] = s->slot[j];
			s->slot[j] = NULL;
			i = j;
		}
	}
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

/* The zones served that are members (all but the catalog and the zones xfrin pulls), listed
 * whole: for the first version and a reload. */
static int list_members(struct catalog *c, const uint8_t *retiring, struct nameset *out)
{
	struct names all = {0};
	uint8_t(*sec)[NAME_MAXLEN] = NULL;
	size_t nsec = 0;
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
		if ((rc = nameset_add(out, apex)) < 0)
			goto fail;
	}
fail:
	names_free(&all);
	free(sec);
	return rc;
}

/* Whether one zone is a member now: served, not the catalog (nor the one retiring), not pulled. */
static bool is_member(struct catalog *c, const uint8_t *retiring, const uint8_t *apex)
{
	if (name_equal(apex, c->apex) || (retiring[0] && name_equal(apex, retiring)))
		return false;
	rcu_thread_online();
	bool served = zones_get(c->srv->zones, apex) != NULL;
	rcu_thread_offline();
	return served && !(c->x && xfrin_is_secondary(c->x, apex));
}

/* The members that change: added and removed get pointers to names that stay valid until
 * names_free(touched) and nameset_free(now). */
struct delta {
	const uint8_t **added, **removed;
	size_t nadd, nrem;
};

static int delta_alloc(struct delta *d, size_t maxadd, size_t maxrem)
{
	d->added = malloc((maxadd + 1) * sizeof(*d->added));
	d->removed = malloc((maxrem + 1) * sizeof(*d->removed));
	return d->added && d->removed ? 0 : TERN_ENOMEM;
}

/* Whole: every zone listed into now, compared with the members. */
static int delta_whole(struct catalog *c, const uint8_t *retiring, struct nameset *now, struct delta *d)
{
	int rc = list_members(c, retiring, now);
	if (rc == 0)
		rc = delta_alloc(d, now->n, c->members.n);
	for (size_t i = 0; rc == 0 && now->slot && i <= now->mask; i++)
		if (now->slot[i] && !nameset_has(&c->members, now->slot[i]))
			d->added[d->nadd++] = now->slot[i];
	for (size_t i = 0; rc == 0 && c->members.slot && i <= c->members.mask; i++)
		if (c->members.slot[i] && !nameset_has(now, c->members.slot[i]))
			d->removed[d->nrem++] = c->members.slot[i];
	return rc;
}

/* From the names that came or went only: each looked at once. */
static int delta_touched(struct catalog *c, const uint8_t *retiring, const struct names *touched, struct delta *d)
{
	struct nameset seen = {0};
	int rc = delta_alloc(d, touched->n, touched->n);
	for (size_t i = 0; rc == 0 && i < touched->n; i++) {
		const uint8_t *apex = touched->buf + touched->off[i];
		if (nameset_has(&seen, apex))
			continue;
		if ((rc = nameset_add(&seen, apex)) < 0)
			break;
		bool want = is_member(c, retiring, apex), have = nameset_has(&c->members, apex);
		if (want && !have)
			d->added[d->nadd++] = apex;
		else if (!want && have)
			d->removed[d->nrem++] = apex;
	}
	nameset_free(&seen);
	return rc;
}

/* Every member of the next version, sorted: for a version built whole. */
static int next_members(const struct catalog *c, const struct nameset *now, const struct delta *d, const uint8_t ***out,
                        size_t *n)
{
	const struct nameset *base = now->slot ? now : &c->members;
	const uint8_t **v = malloc((base->n + d->nadd + 1) * sizeof(*v));
	size_t k = 0;
	if (!v)
		return TERN_ENOMEM;
	for (size_t i = 0; base->slot && i <= base->mask; i++) {
		if (!base->slot[i])
			continue;
		bool gone = false;
		for (size_t j = 0; base == &c->members && j < d->nrem && !gone; j++)
			gone = name_equal(base->slot[i], d->removed[j]);
		if (!gone)
			v[k++] = base->slot[i];
	}
	for (size_t j = 0; base == &c->members && j < d->nadd; j++)
		v[k++] = d->added[j];
	qsort(v, k, sizeof(*v), cmp_names);
	*out = v;
	*n = k;
	return 0;
}

/* The change from prev to next for IXFR: the SOAs and the PTRs of the members added and removed
 * (TTL 0, as catalog_build() makes them). */
static int record_change(struct catalog *c, const struct zone *prev, const struct zone *next, const struct delta *d)
{
	size_t n = d->nadd + d->nrem + 2;
	struct xfr_rr *rr = calloc(n, sizeof(*rr));
	uint8_t(*owners)[NAME_MAXLEN] = malloc(n * sizeof(*owners));
	int rc = rr && owners ? 0 : TERN_ENOMEM;
	struct xfr_rr *removed = rr, *added = rr + d->nrem + 1;
	for (size_t i = 0; rc == 0 && i < d->nadd + d->nrem; i++) {
		bool add = i < d->nadd;
		const uint8_t *m = add ? d->added[i] : d->removed[i - d->nadd];
		struct xfr_rr *r = add ? &added[1 + i] : &removed[1 + i - d->nadd];
		if (!catalog_entry_owner(c->apex, m, owners[i]))
			rc = TERN_ENAME; /* cannot happen: catalog_derive() made the entry */
		*r = (struct xfr_rr){.owner = owners[i], .type = RR_PTR, .rdlen = (uint16_t)name_len(m), .rdata = m};
	}
	if (rc == 0) {
		removed[0] = (struct xfr_rr){.owner = c->apex,
		                             .type = RR_SOA,
		                             .rdlen = rdata_len(prev->soa->rdata),
		                             .rdata = rdata_bytes(prev->soa->rdata)};
		added[0] = (struct xfr_rr){.owner = c->apex,
		                           .type = RR_SOA,
		                           .rdlen = rdata_len(next->soa->rdata),
		                           .rdata = rdata_bytes(next->soa->rdata)};
		struct xfr_diff diff = {prev->serial, next->serial, removed, added, d->nrem + 1, d->nadd + 1};
		rc = xfr_history_add(c->hist, c->apex, &diff);
	}
	if (rc < 0)
		xfr_history_reset(c->hist, c->apex);
	free(rr);
	free(owners);
	return rc;
}

/* Looks at the zones that came or went (all of them for the first version or after a reload)
 * and, when the members changed (or nothing was served yet), publishes the next version. The
 * caller is a registered RCU thread, offline. */
static int rebuild(struct catalog *c, char *err, size_t errlen)
{
	struct names touched = {0};
	struct nameset now = {0}; /* every member, when listed whole */
	struct delta d = {0};
	const uint8_t **all = NULL;
	size_t nall = 0;
	struct zone *next = NULL;
	uint8_t retiring[NAME_MAXLEN];
	pthread_mutex_lock(&c->lock);
	memcpy(retiring, c->retiring, name_len(c->retiring));
	bool whole = c->full || !c->served;
	touched = c->pending;
	memset(&c->pending, 0, sizeof(c->pending));
	c->full = false;
	pthread_mutex_unlock(&c->lock);
	int rc = whole ? delta_whole(c, retiring, &now, &d) : delta_touched(c, retiring, &touched, &d);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory listing the zones");
		goto fail;
	}
	if (c->served && d.nadd == 0 && d.nrem == 0)
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
		derived = catalog_derive(prev, d.added, d.nadd, d.removed, d.nrem, serial, &next, err, errlen) == 0;
	if (ours && !derived)
		log_warning("catalog %s: the next version could not be derived (%s): built whole", c->name, err);
	if (!derived && (rc = next_members(c, &now, &d, &all, &nall)) < 0)
		snprintf(err, errlen, "out of memory");
	if (!derived && rc == 0)
		rc = catalog_build(c->apex, serial, all, nall, &next, err, errlen);
	if (rc == 0) {
		/* the change is in IXFR's history before any consumer can see the version it leads to */
		if (!ours || record_change(c, prev, next, &d) < 0)
			xfr_history_reset(c->hist, c->apex);
		save_serial(c, serial);
		rc = zones_publish(c->srv->zones, next);
		if (rc < 0) {
			snprintf(err, errlen, "cannot publish: %s", tern_strerror(rc));
			xfr_history_reset(c->hist, c->apex);
			if (derived)
				zone_discard(next);
			else
				zone_free(next);
		}
	}
	rcu_thread_offline();
	if (rc < 0)
		goto fail;
	if (whole) {
		nameset_free(&c->members);
		c->members = now;
		memset(&now, 0, sizeof(now));
	} else {
		for (size_t i = 0; i < d.nrem; i++)
			nameset_remove(&c->members, d.removed[i]);
		for (size_t i = 0; i < d.nadd && rc == 0; i++)
			rc = nameset_add(&c->members, d.added[i]);
		if (rc < 0) { /* the set lost a member: list them whole next time */
			log_error("catalog %s: out of memory: every zone is listed again", c->name);
			pthread_mutex_lock(&c->lock);
			c->full = true;
			pthread_mutex_unlock(&c->lock);
			ev_async_send(&c->changed);
			rc = 0;
		}
	}
	log_info("catalog %s: serial %u, %zu member(s) (%zu added, %zu removed)", c->name, serial, c->members.n, d.nadd,
	         d.nrem);
	c->serial = serial;
	c->served = true;
fail:
	names_free(&touched);
	nameset_free(&now);
	free(d.added);
	free(d.removed);
	free(all);
	return rc;
}

/* ---- the thread and the listener ---- */

/* Runs in the publisher's thread, inside its lock: only notes the zone that came or went. A new
 * version of a zone already listed changes nothing; the catalog's own versions are ignored. */
static void on_zones(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	struct catalog *c = arg;
	const struct zone *z = next ? next : old;
	if (!z || (ev == ZONES_PUBLISHED && old) || name_equal(z->apex, c->apex))
		return;
	pthread_mutex_lock(&c->lock);
	if (!c->full && names_add(&c->pending, z->apex) < 0)
		c->full = true; /* out of memory: the next version lists every zone */
	pthread_mutex_unlock(&c->lock);
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
static int start(struct server *srv, const struct config *conf, struct xfrin *x, struct xfr_history *hist,
                 const uint8_t *retiring, struct catalog **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!conf->catalog.enabled)
		return 0;
	struct catalog *c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	c->srv = srv;
	c->x = x;
	c->hist = hist;
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

int catalog_start(struct server *srv, const struct config *conf, struct xfrin *x, struct xfr_history *hist,
                  struct catalog **out, char *err, size_t errlen)
{
	return start(srv, conf, x, hist, NULL, out, err, errlen);
}

int catalog_reload(struct catalog **cp, struct server *srv, const struct config *conf, struct xfrin *x,
                   struct xfr_history *hist, char *err, size_t errlen)
{
	struct catalog *c = *cp;
	if (c && conf->catalog.enabled && name_equal(c->apex, conf->catalog.apex)) {
		pthread_mutex_lock(&c->lock);
		c->full = true; /* zones may have turned secondary or back */
		pthread_mutex_unlock(&c->lock);
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
	int rc = start(srv, conf, x, hist, served ? apex : NULL, cp, err, errlen);
	if (served) {
		int removed = zones_remove(srv->zones, apex);
		if (removed < 0 && removed != TERN_ENOTFOUND) {
			char name[NAME_MAXLEN * 4 + 1];
			name_to_text(apex, name, sizeof(name));
			log_error("catalog %s: no longer produced, but still served until restart: %s", name,
			          tern_strerror(removed));
		}
		xfr_history_drop(hist, apex);
		if ((c = *cp) != NULL) { /* a zone of that name may be a member from now on */
			pthread_mutex_lock(&c->lock);
			c->retiring[0] = 0;
			c->full = true;
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
	nameset_free(&c->members);
	names_free(&c->pending);
	free(c->state_file);
	free(c);
}
