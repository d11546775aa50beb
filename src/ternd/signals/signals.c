/* Conditions and their channels (signals.h). The state of each (condition, zone) lives in a hash
 * table under one mutex; a change of state is copied into a bounded queue that one dispatcher
 * thread empties into the exec hooks (hooks.c), in order, outside the lock. zone-ready of each
 * zone is not kept in the table (a million zones): it follows the zones' own publications. */
#include "ternd/signals/signals.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"
#include "ternd/base/config.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/base/text.h"
#include "ternd/signals/signals_dbus.h"
#include "ternd/signals/signals_impl.h"
#include "ternd/zones/zones.h"

#define QUEUE_MAX 4096 /* signals waiting for the channels; beyond, a newer state replaces or is dropped */
#define ARGS_MAX 1024 /* bytes of a signal's arguments as "name=value\0" pairs */

/* One (condition, zone) and its state. */
struct entry {
	struct entry *next; /* in its bucket */
	enum signal_cond cond;
	enum signal_state state;
	int64_t since; /* Unix seconds */
	char *zone; /* NULL for a server-wide condition */
	char *args; /* "name=value\0name=value\0" */
	size_t args_len;
};

struct signals {
	pthread_mutex_t lock; /* the table, the queue, the hooks */
	pthread_cond_t more;
	struct entry **buckets;
	size_t nbuckets, nentries;
	struct signal_note *head, *tail; /* queued for the channels */
	size_t queued;
	uint64_t dropped;
	size_t zones_ready;
	bool stop;
	struct signal_hooks hooks;
	bool dbus_on; /* signals.dbus.enabled */
	char *dbus_next; /* signals.dbus.bus of the last start or reload, until the dispatcher takes it */
	bool dbus_changed;
	struct signal_dbus *dbus; /* the dispatcher's */
	char *dbus_bus; /* the dispatcher's: the bus it sends to, NULL when off */
	struct signal_mqtt *mqtt; /* NULL: no broker */
	struct ev_thread thread;
	struct signal_tick *tick; /* NULL until signals_watch_stats */
	struct zones *zones; /* followed (signals_follow), for signals_each_ready */
	/* signatures-expiring: each signed zone's earliest RRSIG expiry (when a lead is set) */
	uint64_t sig_lead; /* seconds; 0: not watched */
	struct sigzone **sz_buckets; /* by zone name, sz_nbuckets (a power of two) chains */
	size_t sz_nbuckets, nsigzones;
	struct sigzone **heap; /* the zones not set, a min-heap by expiry */
	size_t nheap, capheap;
};

/* A signed zone's earliest signature: when it expires, and what it signs. */
struct sigzone {
	struct sigzone *next; /* in its bucket */
	size_t heap_at; /* its index in the heap; SIZE_MAX: not there (set) */
	char *zone;
	int64_t expires; /* Unix seconds */
	char owner[NAME_MAXLEN * 4 + 2];
	char type[16];
	bool set; /* signatures-expiring set */
};

static void sigzone_relead(struct signals *s, uint64_t lead);

const char *signal_state_name(enum signal_state s)
{
	return s == SIGNAL_SET ? "set" : s == SIGNAL_CLEAR ? "clear" : "event";
}

static uint64_t key_hash(enum signal_cond c, const char *zone)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)c;
	for (const unsigned char *p = (const unsigned char *)(zone ? zone : ""); *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

static bool same_zone(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static struct entry **slot(struct signals *s, enum signal_cond c, const char *zone)
{
	struct entry **e = &s->buckets[key_hash(c, zone) & (s->nbuckets - 1)];
	while (*e && !((*e)->cond == c && same_zone((*e)->zone, zone)))
		e = &(*e)->next;
	return e;
}

static void grow(struct signals *s)
{
	size_t n = s->nbuckets * 2;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct entry *e = s->buckets[i], *next; e; e = next) {
			next = e->next;
			struct entry **to = &b[key_hash(e->cond, e->zone) & (n - 1)];
			e->next = *to;
			*to = e;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

/* "name=value\0" for each argument into buf (at most ARGS_MAX bytes; a value cut to fit). */
static size_t pack_args(const struct signal_arg *args, size_t nargs, char *buf)
{
	size_t used = 0;
	for (size_t i = 0; i < nargs; i++) {
		int n =
		    snprintf(buf + used, ARGS_MAX - used, "%s=%s", args[i].name, args[i].value ? args[i].value : "");
		if (n < 0 || used + (size_t)n + 1 >= ARGS_MAX)
			break;
		used += (size_t)n + 1;
	}
	return used;
}

/* Queues a copy for the channels, a newer state of the same key replacing one still queued. */
static void enqueue(struct signals *s, enum signal_cond c, enum signal_state st, const char *zone, int64_t when,
                    const char *args, size_t args_len)
{
	if (!s->hooks.n && !s->dbus_on && !s->mqtt)
		return; /* no channel listens */
	for (struct signal_note *q = s->head; q; q = q->next)
		if (q->cond == c && same_zone(q->zone, zone) && q->state != SIGNAL_EVENT && st != SIGNAL_EVENT) {
			char *a = malloc(args_len ? args_len : 1);
			if (!a)
				break;
			memcpy(a, args, args_len);
			free(q->args);
			q->args = a;
			q->args_len = args_len;
			q->state = st;
			q->time = when;
			return;
		}
	if (s->queued >= QUEUE_MAX) {
		s->dropped++;
		return;
	}
	struct signal_note *q = calloc(1, sizeof(*q));
	if (!q || !(q->args = malloc(args_len ? args_len : 1)) || (zone && !(q->zone = strdup(zone)))) {
		if (q)
			free(q->args);
		free(q);
		s->dropped++;
		return;
	}
	memcpy(q->args, args, args_len);
	q->args_len = args_len;
	q->cond = c;
	q->state = st;
	q->time = when;
	if (s->tail)
		s->tail->next = q;
	else
		s->head = q;
	s->tail = q;
	s->queued++;
	pthread_cond_signal(&s->more);
}

void signals_raise(struct signals *s, enum signal_cond c, enum signal_state st, const char *zone,
                   const struct signal_arg *args, size_t nargs)
{
	if (!s)
		return;
	char packed[ARGS_MAX];
	size_t len = pack_args(args, nargs, packed);
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&s->lock);
	if (st == SIGNAL_EVENT || c == SIGNAL_ZONE_READY) { /* not kept: see signals_json */
		if (c == SIGNAL_ZONE_READY && st == SIGNAL_SET)
			s->zones_ready++;
		else if (c == SIGNAL_ZONE_READY && s->zones_ready)
			s->zones_ready--;
		enqueue(s, c, st, zone, now, packed, len);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	struct entry **e = slot(s, c, zone);
	if (*e && (*e)->state == st && (*e)->args_len == len && !memcmp((*e)->args, packed, len)) {
		pthread_mutex_unlock(&s->lock);
		return; /* no change */
	}
	if (!*e && st == SIGNAL_CLEAR && zone) {
		pthread_mutex_unlock(&s->lock);
		return; /* a zone's condition never set: nothing to clear */
	}
	if (!*e) {
		struct entry *n = calloc(1, sizeof(*n));
		if (!n || (zone && !(n->zone = strdup(zone)))) {
			free(n);
			s->dropped++;
			pthread_mutex_unlock(&s->lock);
			return;
		}
		n->cond = c;
		*e = n;
		if (++s->nentries > s->nbuckets)
			grow(s), e = slot(s, c, zone);
	}
	struct entry *en = *e;
	char *a = malloc(len ? len : 1);
	if (a) {
		memcpy(a, packed, len);
		free(en->args);
		en->args = a;
		en->args_len = len;
	}
	en->state = st;
	en->since = now;
	enqueue(s, c, st, zone, now, packed, len);
	if (st == SIGNAL_CLEAR && zone) { /* a zone's cleared condition leaves the table */
		*e = en->next;
		s->nentries--;
		free(en->zone);
		free(en->args);
		free(en);
	}
	pthread_mutex_unlock(&s->lock);
}

bool signals_is_set(struct signals *s, enum signal_cond c, const char *zone)
{
	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	struct entry *e = *slot(s, c, zone);
	bool set = e && e->state == SIGNAL_SET;
	pthread_mutex_unlock(&s->lock);
	return set;
}

static void run(void *arg)
{
	struct signals *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stop && !s->dbus_changed)
			pthread_cond_wait(&s->more, &s->lock);
		if (s->dbus_changed) { /* a start's or reload's signals.dbus: off or moved, closed now */
			free(s->dbus_bus);
			s->dbus_bus = s->dbus_next;
			s->dbus_next = NULL;
			s->dbus_changed = false;
			pthread_mutex_unlock(&s->lock);
			signal_dbus_send(s->dbus, s->dbus_bus, NULL);
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (!s->head)
			break;
		struct signal_note *q = s->head;
		s->head = q->next;
		if (!s->head)
			s->tail = NULL;
		s->queued--;
		struct signal_hooks hooks = s->hooks; /* the reload in force when it is run */
		signal_hooks_hold(&hooks);
		pthread_mutex_unlock(&s->lock);
		signal_dbus_send(s->dbus, s->dbus_bus, q);
		signal_hooks_run(&hooks, q);
		signal_hooks_release(&hooks);
		signal_mqtt_note(s->mqtt, q);
		free(q->zone);
		free(q->args);
		free(q);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

/* A set condition as the channels get it (a copy); NULL when out of memory. */
static struct signal_note *note_of(const struct entry *e)
{
	struct signal_note *n = calloc(1, sizeof(*n));
	if (!n || !(n->args = malloc(e->args_len ? e->args_len : 1)) || (e->zone && !(n->zone = strdup(e->zone)))) {
		if (n)
			free(n->args);
		free(n);
		return NULL;
	}
	memcpy(n->args, e->args, e->args_len);
	n->args_len = e->args_len;
	n->cond = e->cond;
	n->state = e->state;
	n->time = e->since;
	return n;
}

/* The D-Bus channel connected after signals went unsent: every condition set now (in the table;
 * zone-ready is not kept there) goes out first, but the one about to be sent. Dispatcher thread. */
static void dbus_catch_up(void *arg, const struct signal_note *now)
{
	struct signals *s = arg;
	struct signal_note *list = NULL, **tail = &list;
	pthread_mutex_lock(&s->lock);
	/* server-wide first, each in the conditions' order, then the zones' (as signals_json) */
	for (int pass = 0; pass < 2; pass++)
		for (int c = 0; c < SIGNAL_NCOND; c++)
			for (size_t i = 0; i < s->nbuckets; i++)
				for (const struct entry *e = s->buckets[i]; e; e = e->next)
					if (e->cond == (enum signal_cond)c && (pass == 0) == !e->zone &&
					    e->state == SIGNAL_SET &&
					    !(e->cond == now->cond && same_zone(e->zone, now->zone)) &&
					    (*tail = note_of(e)))
						tail = &(*tail)->next;
	pthread_mutex_unlock(&s->lock);
	for (struct signal_note *n = list, *next; n; n = next) {
		next = n->next;
		signal_dbus_send(s->dbus, s->dbus_bus, n);
		free(n->zone);
		free(n->args);
		free(n);
	}
}

/* The D-Bus channel's bus from conf, for the dispatcher to take (under the lock). */
static int dbus_config(struct signals *s, const struct config *conf)
{
	const struct config_signals_dbus *c = &conf->signals.dbus;
	char *bus = c->enabled ? strdup(c->bus ? c->bus : "system") : NULL;
	if (c->enabled && !bus)
		return TERN_ENOMEM;
	free(s->dbus_next);
	s->dbus_next = bus;
	s->dbus_on = c->enabled;
	s->dbus_changed = true;
	pthread_cond_signal(&s->more);
	return 0;
}

int signals_start(const struct config *conf, struct signals **out, char *err, size_t errlen)
{
	struct signals *s = calloc(1, sizeof(*s));
	if (!s || !(s->buckets = calloc(64, sizeof(*s->buckets)))) {
		free(s);
		snprintf(err, errlen, "signals: out of memory");
		return TERN_ENOMEM;
	}
	s->nbuckets = 64;
	s->sig_lead = conf->signals.sig_lead_ms / 1000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->more, NULL);
	int rc = conf->signals.mqtt.enabled ? signal_mqtt_start(&conf->signals.mqtt, s, &s->mqtt, err, errlen) : 0;
	if (rc < 0 || !(s->dbus = signal_dbus_new(dbus_catch_up, s)) || dbus_config(s, conf) < 0 ||
	    signal_hooks_make(&conf->signals, &s->hooks) < 0 ||
	    ev_thread_start_fn(&s->thread, run, s, "ternd-signals") < 0) {
		if (rc >= 0)
			snprintf(err, errlen, "signals: cannot start the dispatcher");
		signal_mqtt_stop(s->mqtt);
		signal_hooks_release(&s->hooks);
		signal_dbus_free(s->dbus);
		free(s->dbus_next);
		free(s->buckets);
		free(s);
		return rc < 0 ? rc : TERN_EIO;
	}
	*out = s;
	return 0;
}

int signals_watch_stats(struct signals *s, const struct stats *stats, const struct config *conf)
{
	return s ? signal_tick_start(s, stats, conf, &s->tick) : 0;
}

int signals_reload(struct signals *s, const struct config *conf)
{
	if (!s)
		return 0;
	signal_tick_reload(s->tick, conf);
	sigzone_relead(s, conf->signals.sig_lead_ms / 1000);
	struct signal_hooks next;
	if (signal_hooks_make(&conf->signals, &next) < 0)
		return TERN_ENOMEM;
	pthread_mutex_lock(&s->lock);
	struct signal_hooks old = s->hooks;
	s->hooks = next;
	int r = dbus_config(s, conf);
	pthread_mutex_unlock(&s->lock);
	signal_hooks_release(&old);
	return r;
}

void signals_stop(struct signals *s)
{
	if (!s)
		return;
	signal_tick_stop(s->tick); /* raises no more */
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->more);
	pthread_mutex_unlock(&s->lock);
	ev_thread_stop(&s->thread);
	signal_mqtt_stop(s->mqtt); /* after the dispatcher: what it handed over goes first */
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct entry *e = s->buckets[i], *next; e; e = next) {
			next = e->next;
			free(e->zone);
			free(e->args);
			free(e);
		}
	free(s->buckets);
	for (size_t i = 0; i < s->sz_nbuckets; i++)
		for (struct sigzone *w = s->sz_buckets[i], *next; w; w = next) {
			next = w->next;
			free(w->zone);
			free(w);
		}
	free(s->sz_buckets);
	free(s->heap);
	signal_hooks_release(&s->hooks);
	signal_dbus_free(s->dbus);
	free(s->dbus_next);
	free(s->dbus_bus);
	pthread_cond_destroy(&s->more);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- signatures-expiring ---- */

struct earliest {
	int64_t now, expires;
	const struct zone_node *node;
	uint16_t type;
};

/* The RRSIG expiring first at n (RFC 4034 3.1.5: serial arithmetic around now). */
static int earliest_at(void *arg, const struct zone_node *n)
{
	struct earliest *e = arg;
	uint16_t count;
	const struct rrset *sets = zone_node_rrsets(n, RR_RRSIG, &count);
	for (uint16_t i = 0; sets && i < count; i++) {
		const uint8_t *rec = sets[i].rdata;
		for (uint16_t k = 0; k < sets[i].count; k++, rec = rdata_next(rec)) {
			if (rdata_len(rec) < 18)
				continue;
			const uint8_t *d = rdata_bytes(rec);
			uint32_t exp = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11];
			int64_t at = e->now + (int32_t)(exp - (uint32_t)e->now);
			if (!e->node || at < e->expires) {
				e->expires = at;
				e->node = n;
				e->type = (uint16_t)(d[0] << 8 | d[1]);
			}
		}
	}
	return 0;
}

static uint64_t sigzone_hash(const char *zone)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)zone; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

/* The zone's place in the hash by name (where it is, or where it would go). Lock held. */
static struct sigzone **sigzone_slot(struct signals *s, const char *zone)
{
	struct sigzone **w = &s->sz_buckets[sigzone_hash(zone) & (s->sz_nbuckets - 1)];
	while (*w && strcmp((*w)->zone, zone))
		w = &(*w)->next;
	return w;
}

static bool sigzone_grow(struct signals *s)
{
	size_t n = s->sz_nbuckets ? s->sz_nbuckets * 2 : 64;
	struct sigzone **b = calloc(n, sizeof(*b));
	if (!b)
		return s->sz_nbuckets != 0; /* longer chains, still correct */
	for (size_t i = 0; i < s->sz_nbuckets; i++)
		for (struct sigzone *w = s->sz_buckets[i], *next; w; w = next) {
			next = w->next;
			struct sigzone **to = &b[sigzone_hash(w->zone) & (n - 1)];
			w->next = *to;
			*to = w;
		}
	free(s->sz_buckets);
	s->sz_buckets = b;
	s->sz_nbuckets = n;
	return true;
}

/* The min-heap of the zones whose signatures-expiring is not set, by expiry (the lead is the same
 * for all): the tick looks at its top only. Lock held. */
static void heap_place(struct signals *s, size_t i, struct sigzone *w)
{
	s->heap[i] = w;
	w->heap_at = i;
}

static void heap_up(struct signals *s, size_t i)
{
	struct sigzone *w = s->heap[i];
	while (i && s->heap[(i - 1) / 2]->expires > w->expires) {
		heap_place(s, i, s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(s, i, w);
}

static void heap_down(struct signals *s, size_t i)
{
	struct sigzone *w = s->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && s->heap[c + 1]->expires < s->heap[c]->expires)
			c++;
		if (s->heap[c]->expires >= w->expires)
			break;
		heap_place(s, i, s->heap[c]);
		i = c;
	}
	heap_place(s, i, w);
}

static bool heap_push(struct signals *s, struct sigzone *w)
{
	if (s->nheap == s->capheap) {
		size_t cap = s->capheap ? s->capheap * 2 : 16;
		struct sigzone **h = realloc(s->heap, cap * sizeof(*h));
		if (!h)
			return false;
		s->heap = h;
		s->capheap = cap;
	}
	s->heap[s->nheap] = w;
	heap_up(s, s->nheap++);
	return true;
}

static void heap_remove(struct signals *s, struct sigzone *w)
{
	size_t i = w->heap_at;
	w->heap_at = SIZE_MAX;
	if (i >= s->nheap)
		return;
	struct sigzone *last = s->heap[--s->nheap];
	if (i == s->nheap)
		return;
	heap_place(s, i, last);
	heap_up(s, i);
	heap_down(s, last->heap_at);
}

/* w's state from its expiry, the lead and now: set (out of the heap) or waiting (in it). What
 * changed is said through raise_set and raise_clear. Lock held. */
static void sigzone_judge(struct signals *s, struct sigzone *w, int64_t now, bool *raise_set, bool *raise_clear)
{
	bool due = w->expires - (int64_t)s->sig_lead <= now;
	*raise_set = due && !w->set;
	*raise_clear = !due && w->set;
	w->set = due;
	if (due && w->heap_at != SIZE_MAX) {
		heap_remove(s, w);
	} else if (!due && w->heap_at == SIZE_MAX) {
		heap_push(s, w); /* out of memory: judged again at the zone's next version */
	} else if (!due) {
		heap_up(s, w->heap_at);
		heap_down(s, w->heap_at);
	}
}

/* w: a copy (its zone pointer unused), zone the name. */
static void sigzone_raise(struct signals *s, const char *zone, const struct sigzone *w, bool set, bool clear)
{
	if (set) {
		char expires[24];
		snprintf(expires, sizeof(expires), "%lld", (long long)w->expires);
		struct signal_arg args[] = {{"owner", w->owner}, {"type", w->type}, {"expires", expires}};
		signals_raise(s, SIGNAL_SIGNATURES_EXPIRING, SIGNAL_SET, zone, args, 3);
	} else if (clear) {
		signals_raise(s, SIGNAL_SIGNATURES_EXPIRING, SIGNAL_CLEAR, zone, NULL, 0);
	}
}

/* A version of z published (or removed: z NULL): its earliest signature found (a walk of the
 * zone, outside the lock), then judged. */
static void sigzone_update(struct signals *s, const struct zone *z, const char *name)
{
	pthread_mutex_lock(&s->lock);
	uint64_t lead = s->sig_lead;
	pthread_mutex_unlock(&s->lock);
	if (!lead)
		return;
	struct earliest e = {.now = (int64_t)time(NULL)};
	if (z)
		zone_each_node(z, earliest_at, &e);
	struct sigzone copy = {0};
	bool set = false, clear = false;
	pthread_mutex_lock(&s->lock);
	struct sigzone **at = s->sz_nbuckets ? sigzone_slot(s, name) : NULL;
	if (!e.node) { /* unsigned now, or removed */
		if (at && *at) {
			struct sigzone *w = *at;
			*at = w->next;
			s->nsigzones--;
			clear = w->set;
			heap_remove(s, w);
			free(w->zone);
			free(w);
		}
	} else {
		struct sigzone *w = at ? *at : NULL;
		if (!w && (s->nsigzones < s->sz_nbuckets || sigzone_grow(s)) && (w = calloc(1, sizeof(*w)))) {
			if (!(w->zone = strdup(name))) {
				free(w);
				w = NULL;
			} else {
				at = sigzone_slot(s, name);
				*at = w;
				w->heap_at = SIZE_MAX;
				s->nsigzones++;
			}
		}
		if (w) {
			w->expires = e.expires;
			name_to_text(e.node->owner, w->owner, sizeof(w->owner));
			char tb[16];
			snprintf(w->type, sizeof(w->type), "%s", rr_type_name(e.type, tb));
			sigzone_judge(s, w, e.now, &set, &clear);
			copy = *w;
		}
	}
	pthread_mutex_unlock(&s->lock);
	sigzone_raise(s, name, &copy, set, clear);
}

void signals_tick(struct signals *s)
{
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&s->lock);
	while (s->nheap && s->heap[0]->expires - (int64_t)s->sig_lead <= now) { /* O(log n) each */
		struct sigzone *w = s->heap[0];
		bool set, clear;
		sigzone_judge(s, w, now, &set, &clear);
		struct sigzone copy = *w;
		char *zone = strdup(w->zone);
		pthread_mutex_unlock(&s->lock);
		if (zone)
			sigzone_raise(s, zone, &copy, set, clear);
		free(zone);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

/* A reload's new lead: every signed zone judged again (once, at the reload), those that changed
 * raised outside the lock. */
static void sigzone_relead(struct signals *s, uint64_t lead)
{
	int64_t now = (int64_t)time(NULL);
	struct change {
		struct change *next;
		struct sigzone copy;
		bool set, clear;
		char zone[];
	} *list = NULL;
	pthread_mutex_lock(&s->lock);
	bool changed = s->sig_lead != lead;
	s->sig_lead = lead;
	for (size_t i = 0; changed && i < s->sz_nbuckets; i++)
		for (struct sigzone *w = s->sz_buckets[i]; w; w = w->next) {
			bool set, clear;
			sigzone_judge(s, w, now, &set, &clear);
			struct change *c = (set || clear) ? malloc(sizeof(*c) + strlen(w->zone) + 1) : NULL;
			if (c) {
				c->copy = *w;
				c->set = set;
				c->clear = clear;
				strcpy(c->zone, w->zone);
				c->next = list;
				list = c;
			}
		}
	pthread_mutex_unlock(&s->lock);
	for (struct change *c = list, *next; c; c = next) {
		next = c->next;
		sigzone_raise(s, c->zone, &c->copy, c->set, c->clear);
		free(c);
	}
}

/* ---- zone-ready and zone-updated from the zones' publications ---- */

static void on_zone(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	struct signals *s = arg;
	char name[NAME_MAXLEN * 4 + 2], serial[16];
	const struct zone *z = ev == ZONES_PUBLISHED ? next : old;
	if (!z)
		return; /* never: a publication has next, a removal old */
	name_to_text(z->apex, name, sizeof(name));
	snprintf(serial, sizeof(serial), "%u", z->serial);
	struct signal_arg args[] = {{"serial", serial}};
	sigzone_update(s, ev == ZONES_PUBLISHED ? next : NULL, name);
	if (ev == ZONES_REMOVED)
		signals_raise(s, SIGNAL_ZONE_READY, SIGNAL_CLEAR, name, args, 1);
	else if (!old)
		signals_raise(s, SIGNAL_ZONE_READY, SIGNAL_SET, name, args, 1);
	else if (old->serial != next->serial)
		signals_raise(s, SIGNAL_ZONE_UPDATED, SIGNAL_EVENT, name, args, 1);
}

int signals_follow(struct signals *s, struct zones *zones)
{
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	s->zones = zones;
	pthread_mutex_unlock(&s->lock);
	return zones_subscribe(zones, on_zone, s);
}

void signals_unfollow(struct signals *s, struct zones *zones)
{
	if (!s)
		return;
	zones_unsubscribe(zones, on_zone, s);
	pthread_mutex_lock(&s->lock);
	s->zones = NULL;
	pthread_mutex_unlock(&s->lock);
}

struct ready_walk {
	void (*fn)(void *arg, const struct signal_note *n);
	void *arg;
	size_t left;
	int64_t now;
};

static int ready_one(void *arg, const struct zone *z)
{
	struct ready_walk *w = arg;
	char name[NAME_MAXLEN * 4 + 2], args[32];
	name_to_text(z->apex, name, sizeof(name));
	int len = snprintf(args, sizeof(args), "serial=%u", z->serial);
	struct signal_note n = {.cond = SIGNAL_ZONE_READY,
	                        .state = SIGNAL_SET,
	                        .time = w->now,
	                        .zone = name,
	                        .args = args,
	                        .args_len = (size_t)len + 1};
	w->fn(w->arg, &n);
	return --w->left == 0;
}

bool signals_each_ready(struct signals *s, size_t *cursor, size_t max,
                        void (*fn)(void *arg, const struct signal_note *n), void *arg)
{
	struct ready_walk w = {fn, arg, max ? max : 1, (int64_t)time(NULL)};
	pthread_mutex_lock(&s->lock); /* s->zones stays while the step runs */
	bool more = false;
	if (s->zones) {
		rcu_thread_online();
		more = zones_foreach_from(s->zones, cursor, ready_one, &w) != 0;
		rcu_thread_offline();
	}
	pthread_mutex_unlock(&s->lock);
	return more;
}

/* ---- the state as JSON ---- */

static void rfc3339(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void signals_json_args(struct text *out, const char *args, size_t len)
{
	text_append(out, "{", 1);
	for (size_t at = 0, k = 0; at < len; k++) {
		const char *pair = args + at;
		size_t plen = strlen(pair);
		const char *eq = strchr(pair, '=');
		char name[64];
		size_t nlen = eq ? (size_t)(eq - pair) : plen;
		snprintf(name, sizeof(name), "%.*s", (int)(nlen < sizeof(name) ? nlen : sizeof(name) - 1), pair);
		text_printf(out, "%s", k ? ", " : "");
		text_json_string(out, name);
		text_append(out, ": ", 2);
		text_json_string(out, eq ? eq + 1 : "");
		at += plen + 1;
	}
	text_append(out, "}", 1);
}

bool signals_json(struct signals *s, struct text *out)
{
	pthread_mutex_lock(&s->lock);
	text_append(out, "{\"conditions\": [", 16);
	bool first = true;
	/* server-wide conditions first, in their order, then the zones' (table order) */
	for (int pass = 0; pass < 2; pass++)
		for (int c = 0; c < SIGNAL_NCOND; c++)
			for (size_t i = 0; i < s->nbuckets; i++)
				for (const struct entry *e = s->buckets[i]; e; e = e->next) {
					if (e->cond != (enum signal_cond)c || (pass == 0) != !e->zone)
						continue;
					char when[32];
					rfc3339(e->since, when);
					text_printf(out, "%s{\"condition\": \"%s\", ", first ? "" : ", ",
					            signal_cond_name(e->cond));
					if (e->zone) {
						text_append(out, "\"zone\": ", 8);
						text_json_string(out, e->zone);
						text_append(out, ", ", 2);
					}
					text_printf(out, "\"state\": \"%s\", \"since\": \"%s\", \"arguments\": ",
					            signal_state_name(e->state), when);
					signals_json_args(out, e->args, e->args_len);
					text_append(out, "}", 1);
					first = false;
				}
	text_printf(out, "], \"zones-ready\": %zu, \"queued\": %zu, \"dropped\": %llu", s->zones_ready, s->queued,
	            (unsigned long long)s->dropped);
	if (s->dbus_on)
		text_printf(out, ", \"dbus\": {\"connected\": %s, \"unsent\": %llu}",
		            signal_dbus_connected(s->dbus) ? "true" : "false",
		            (unsigned long long)signal_dbus_unsent(s->dbus));
	text_append(out, "}", 1);
	pthread_mutex_unlock(&s->lock);
	return !out->nomem;
}

void signals_each(struct signals *s, void (*fn)(void *arg, const struct signal_note *n), void *arg)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct entry *e = s->buckets[i]; e; e = e->next) {
			struct signal_note n = {.cond = e->cond,
			                        .state = e->state,
			                        .time = e->since,
			                        .zone = e->zone,
			                        .args = e->args,
			                        .args_len = e->args ? e->args_len : 0};
			fn(arg, &n);
		}
	pthread_mutex_unlock(&s->lock);
}

uint64_t signals_dropped(struct signals *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t n = s->dropped;
	pthread_mutex_unlock(&s->lock);
	return n + signal_mqtt_dropped(s->mqtt);
}
