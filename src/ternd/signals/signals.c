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
#include "lib/zone.h"
#include "ternd/base/config.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/base/text.h"
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
	struct signal_mqtt *mqtt; /* NULL: no broker */
	struct ev_thread thread;
};

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
	if (!s->hooks.n && !s->mqtt)
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
		while (!s->head && !s->stop)
			pthread_cond_wait(&s->more, &s->lock);
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

int signals_start(const struct config *conf, struct signals **out, char *err, size_t errlen)
{
	struct signals *s = calloc(1, sizeof(*s));
	if (!s || !(s->buckets = calloc(64, sizeof(*s->buckets)))) {
		free(s);
		snprintf(err, errlen, "signals: out of memory");
		return TERN_ENOMEM;
	}
	s->nbuckets = 64;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->more, NULL);
	int rc = conf->signals.mqtt.enabled ? signal_mqtt_start(&conf->signals.mqtt, s, &s->mqtt, err, errlen) : 0;
	if (rc < 0 || signal_hooks_make(&conf->signals, &s->hooks) < 0 ||
	    ev_thread_start_fn(&s->thread, run, s, "ternd-signals") < 0) {
		if (rc >= 0)
			snprintf(err, errlen, "signals: cannot start the dispatcher");
		signal_mqtt_stop(s->mqtt);
		signal_hooks_release(&s->hooks);
		free(s->buckets);
		free(s);
		return rc < 0 ? rc : TERN_EIO;
	}
	*out = s;
	return 0;
}

int signals_reload(struct signals *s, const struct config *conf)
{
	if (!s)
		return 0;
	struct signal_hooks next;
	if (signal_hooks_make(&conf->signals, &next) < 0)
		return TERN_ENOMEM;
	pthread_mutex_lock(&s->lock);
	struct signal_hooks old = s->hooks;
	s->hooks = next;
	pthread_mutex_unlock(&s->lock);
	signal_hooks_release(&old);
	return 0;
}

void signals_stop(struct signals *s)
{
	if (!s)
		return;
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
	signal_hooks_release(&s->hooks);
	pthread_cond_destroy(&s->more);
	pthread_mutex_destroy(&s->lock);
	free(s);
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
	if (ev == ZONES_REMOVED)
		signals_raise(s, SIGNAL_ZONE_READY, SIGNAL_CLEAR, name, args, 1);
	else if (!old)
		signals_raise(s, SIGNAL_ZONE_READY, SIGNAL_SET, name, args, 1);
	else if (old->serial != next->serial)
		signals_raise(s, SIGNAL_ZONE_UPDATED, SIGNAL_EVENT, name, args, 1);
}

int signals_follow(struct signals *s, struct zones *zones)
{
	return s ? zones_subscribe(zones, on_zone, s) : 0;
}

void signals_unfollow(struct signals *s, struct zones *zones)
{
	if (s)
		zones_unsubscribe(zones, on_zone, s);
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
	text_printf(out, "], \"zones-ready\": %zu, \"queued\": %zu, \"dropped\": %llu}", s->zones_ready, s->queued,
	            (unsigned long long)s->dropped);
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
