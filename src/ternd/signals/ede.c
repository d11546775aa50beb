/* The ede condition (conditions.h): the workers' Extended DNS Error counters (base/stats.h), read
 * once a second on the tick's thread, summed per zone over signals.ede.interval, so an attack
 * cannot become a storm of signals: at most one set per zone an interval, at most max-zones zones
 * tracked (the rest in the one entry without a zone), cleared after signals.ede.quiet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/base/config.h"
#include "ternd/base/stats.h"
#include "ternd/signals/signals_impl.h"

/* A zone's (or, zone NULL, the rest's) answers with a code signalled. */
struct ede_zone {
	uint8_t name[NAME_MAXLEN];
	size_t len;
	uint64_t hash;
	int next; /* in its bucket; -1 ends */
	uint64_t count[STATS_EDE_CODES]; /* this interval */
	uint64_t last; /* the tick of the last hit */
	bool set;
};

struct signal_ede {
	struct signals *s;
	uint64_t prev[STATS_EDE_CODES]; /* the counters' sums a second ago */
	uint64_t attributed[STATS_EDE_CODES]; /* of this second's hits, those counted for a zone */
	struct ede_zone *zones; /* nzones of them, at most max-zones */
	size_t nzones, cap;
	int *buckets; /* nbuckets (a power of two) heads; rebuilt when zones leave */
	size_t nbuckets;
	struct ede_zone rest; /* no zone of ours, or beyond max-zones */
	uint64_t ticks;
	struct signal_ede_conf conf; /* of this second */
};

int signal_ede_new(struct signals *s, struct signal_ede **out)
{
	struct signal_ede *e = calloc(1, sizeof(*e));
	if (!e)
		return TERN_ENOMEM;
	e->s = s;
	*out = e;
	return 0;
}

void signal_ede_free(struct signal_ede *e)
{
	if (!e)
		return;
	free(e->zones);
	free(e->buckets);
	free(e);
}

void signal_ede_conf(struct signal_ede_conf *out, const struct config *conf)
{
	const struct config_signals_ede *c = &conf->signals.ede;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < c->ncodes; i++)
		if (c->codes[i].code < STATS_EDE_CODES)
			out->codes |= 1ull << c->codes[i].code;
	out->interval = c->interval ? c->interval : 10;
	out->threshold = c->threshold ? c->threshold : 1;
	out->quiet = c->quiet ? c->quiet : 60;
	out->max_zones = c->max_zones ? c->max_zones : 100;
}

static uint64_t ede_hash(const uint8_t *name, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 1099511628211ull;
	return h;
}

/* The buckets again for the zones as they are (after some left, or to grow). */
static void rehash(struct signal_ede *e, size_t want)
{
	size_t n = 16;
	while (n < 2 * want)
		n *= 2;
	if (n != e->nbuckets) {
		int *b = realloc(e->buckets, n * sizeof(*b));
		if (!b && !e->buckets)
			return;
		if (b) {
			e->buckets = b;
			e->nbuckets = n;
		}
	}
	for (size_t i = 0; i < e->nbuckets; i++)
		e->buckets[i] = -1;
	for (size_t i = 0; i < e->nzones; i++) {
		size_t at = e->zones[i].hash & (e->nbuckets - 1);
		e->zones[i].next = e->buckets[at];
		e->buckets[at] = (int)i;
	}
}

/* The zone's entry, made when there is room for one more; NULL: counted with the rest. */
static struct ede_zone *zone_of(struct signal_ede *e, const uint8_t *name, size_t len)
{
	uint64_t h = ede_hash(name, len);
	if (e->nbuckets)
		for (int i = e->buckets[h & (e->nbuckets - 1)]; i >= 0; i = e->zones[i].next)
			if (e->zones[i].hash == h && e->zones[i].len == len && !memcmp(e->zones[i].name, name, len))
				return &e->zones[i];
	if (e->nzones >= e->conf.max_zones)
		return NULL;
	if (e->nzones == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		if (cap > e->conf.max_zones)
			cap = e->conf.max_zones;
		struct ede_zone *z = realloc(e->zones, cap * sizeof(*z));
		if (!z)
			return NULL;
		e->zones = z;
		e->cap = cap;
	}
	if (e->nbuckets < 2 * (e->nzones + 1))
		rehash(e, e->nzones + 1);
	if (!e->nbuckets)
		return NULL;
	struct ede_zone *z = &e->zones[e->nzones];
	memset(z, 0, sizeof(*z));
	memcpy(z->name, name, len);
	z->len = len;
	z->hash = h;
	size_t at = h & (e->nbuckets - 1);
	z->next = e->buckets[at];
	e->buckets[at] = (int)e->nzones++;
	return z;
}

/* Whether name is a wire-form name of exactly len octets (its labels end at its last octet). */
static bool well_formed(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i += (size_t)name[i] + 1)
		if (!name[i])
			return i == len - 1;
	return false;
}

static void on_hit(void *arg, const struct stats_ede_hit *h)
{
	struct signal_ede *e = arg;
	if (h->code >= STATS_EDE_CODES || !(e->conf.codes >> h->code & 1) || !well_formed(h->name, h->len))
		return; /* not signalled, or not a name (never: one writer a block): the code's counter has it */
	struct ede_zone *z = zone_of(e, h->name, h->len);
	if (!z)
		return;
	z->count[h->code] += h->count;
	z->last = e->ticks;
	e->attributed[h->code] += h->count;
}

/* z's name as text; NULL for the rest. */
static const char *zone_text(const struct signal_ede *e, const struct ede_zone *z, char *buf, size_t cap)
{
	if (z == &e->rest || name_to_text(z->name, buf, cap) < 0)
		return NULL;
	return buf;
}

/* At the end of an interval: set (again, with its count) when a code reached the threshold. */
static void judge_interval(struct signal_ede *e, struct ede_zone *z)
{
	int best = -1, codes = 0;
	for (int c = 0; c < STATS_EDE_CODES; c++)
		if (z->count[c]) {
			codes++;
			if (best < 0 || z->count[c] > z->count[best])
				best = c;
		}
	if (best >= 0 && z->count[best] >= e->conf.threshold) {
		char code[16], count[24], interval[16], list[256] = "";
		snprintf(code, sizeof(code), "%d", best);
		snprintf(count, sizeof(count), "%llu", (unsigned long long)z->count[best]);
		snprintf(interval, sizeof(interval), "%u", e->conf.interval);
		size_t used = 0;
		for (int c = 0; c < STATS_EDE_CODES && codes > 1 && used < sizeof(list); c++)
			if (z->count[c])
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d:%llu", used ? "," : "",
				                         c, (unsigned long long)z->count[c]);
		struct signal_arg args[] = {{"code", code}, {"count", count}, {"interval", interval}, {"codes", list}};
		char text[NAME_MAXLEN * 4 + 2];
		signals_raise(e->s, SIGNAL_EDE, SIGNAL_SET, zone_text(e, z, text, sizeof(text)), args,
		              codes > 1 ? 4 : 3);
		z->set = true;
	}
	memset(z->count, 0, sizeof(z->count));
}

/* Whether z stays: a set zone until quiet has passed since its last hit (then cleared), a zone
 * not set until the end of the interval. */
static bool keep(struct signal_ede *e, struct ede_zone *z, bool interval_end)
{
	if (z->set && e->ticks - z->last >= e->conf.quiet) {
		char text[NAME_MAXLEN * 4 + 2];
		signals_raise(e->s, SIGNAL_EDE, SIGNAL_CLEAR, zone_text(e, z, text, sizeof(text)), NULL, 0);
		z->set = false;
		return false;
	}
	return z->set || !interval_end;
}

void signal_ede_sample(struct signal_ede *e, const struct stats *stats, const struct signal_ede_conf *conf)
{
	e->conf = *conf;
	e->ticks++;
	uint64_t codes[STATS_EDE_CODES];
	memset(e->attributed, 0, sizeof(e->attributed));
	stats_ede_take(stats, codes, on_hit, e);
	for (int c = 0; c < STATS_EDE_CODES; c++) {
		uint64_t delta = codes[c] - e->prev[c];
		e->prev[c] = codes[c];
		if ((e->conf.codes >> c & 1) && delta > e->attributed[c]) {
			e->rest.count[c] += delta - e->attributed[c];
			e->rest.last = e->ticks;
		}
	}
	bool end = e->ticks % e->conf.interval == 0;
	size_t kept = 0;
	for (size_t i = 0; i < e->nzones; i++) {
		struct ede_zone *z = &e->zones[i];
		if (end)
			judge_interval(e, z);
		if (keep(e, z, end))
			e->zones[kept++] = *z;
	}
	if (end)
		judge_interval(e, &e->rest);
	keep(e, &e->rest, end);
	if (kept != e->nzones) {
		e->nzones = kept;
		rehash(e, kept);
	}
}
