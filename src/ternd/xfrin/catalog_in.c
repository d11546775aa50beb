/* Catalog zones consumed (RFC 9432 version 2). A zones listener notes each new version of a
 * consumed catalog; a thread reads the members from it and adds or removes secondary zones
 * through xfrin (xfrin_secondary_add/remove), never from inside the listener, which runs in the
 * publisher -- often xfrin's own thread, holding the lock those calls take. */
#include "ternd/xfrin/catalog_in.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/catalog.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/xfrin.h"

#define NAME_TEXT (NAME_MAXLEN * 4 + 2)
#define MSGBUF 4096

/* ---- the consumer ---- */

/* A catalog consumed: the thread's own. */
struct cat {
	uint8_t apex[NAME_MAXLEN];
	char name[NAME_TEXT];
	const struct config_zone *cz; /* in the configuration applied */
	bool processed; /* serial below is the version members were last taken from */
	uint32_t serial;
	struct catalog_member *members; /* added through xfrin, sorted */
	size_t n;
};

struct catalog_in {
	struct server *srv;
	struct xfrin *x;
	struct ev_loop *loop; /* the thread's: wake runs a round */
	struct ev_thread thread;
	struct ev_async wake;
	bool subscribed;
	pthread_mutex_t lock; /* what follows up to the thread's own */
	pthread_cond_t done;
	bool stop;
	const struct config *next_conf; /* a reload to apply */
	unsigned long conf_asked, conf_done; /* reloads handed over, applied */
	uint8_t (*watch)[NAME_MAXLEN]; /* the catalogs' apexes, for the listener */
	size_t nwatch;
	/* the thread's own */
	const struct config *conf;
	struct cat *cats;
	size_t ncats;
};

/* Runs in the publisher's thread, inside its lock: only notes that a catalog changed. */
static void on_zones(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	(void)ev;
	struct catalog_in *ci = arg;
	const struct zone *z = next ? next : old;
	if (!z)
		return;
	bool watched = false;
	pthread_mutex_lock(&ci->lock);
	for (size_t i = 0; i < ci->nwatch && !watched; i++)
		watched = name_equal(ci->watch[i], z->apex);
	pthread_mutex_unlock(&ci->lock);
	if (watched)
		ev_async_send(&ci->wake);
}

/* Where a member's disk copy goes: beside the catalog's, named after the zone when its name makes
 * a plain file name, else after its unique id. */
static char *member_file(const struct cat *c, const uint8_t *apex)
{
	char text[NAME_TEXT], id[CATALOG_ID_LEN + 1];
	name_to_text(apex, text, sizeof(text));
	size_t tl = strlen(text);
	if (tl > 1)
		text[--tl] = 0; /* no final dot */
	const char *base = text;
	if (strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != tl || text[0] == '.') {
		catalog_member_id(apex, id);
		base = id;
	}
	const char *slash = strrchr(c->cz->file, '/');
	size_t dl = slash ? (size_t)(slash - c->cz->file) + 1 : 0;
	size_t len = dl + strlen(base) + sizeof(".zone");
	char *path = malloc(len);
	if (path)
		snprintf(path, len, "%.*s%s.zone", (int)dl, c->cz->file, base);
	return path;
}

/* Why a new member cannot be served (NULL when it can): the configuration or another catalog has
 * it, or some other part of ternd (the API) serves it. */
static const char *collision(struct catalog_in *ci, const struct cat *c, const uint8_t *apex)
{
	if (config_zone_find(ci->conf, apex))
		return "the configuration names it";
	for (size_t i = 0; i < ci->ncats; i++) {
		const struct cat *o = &ci->cats[i];
		if (o != c && bsearch(apex, o->members, o->n, sizeof(*o->members), catalog_member_cmp))
			return "another catalog has it";
	}
	rcu_thread_online();
	bool served = zones_get(ci->srv->zones, apex) != NULL;
	rcu_thread_offline();
	return served ? "it is served already (an API zone?)" : NULL;
}

/* Makes apex a secondary zone with the catalog's primaries and key, or gives a member added
 * before the catalog's current primaries. */
static int member_pull(struct catalog_in *ci, const struct cat *c, const uint8_t *apex, char text[NAME_TEXT])
{
	struct config_zone t = *c->cz; /* primaries and key */
	uint8_t name[NAME_MAXLEN];
	memcpy(name, apex, name_len(apex));
	t.apex = name;
	t.name = text;
	t.catalog = false;
	t.stored = false; /* a member is never a zone of the store's :config tenant */
	t.file = member_file(c, apex);
	int rc = t.file ? xfrin_secondary_add(ci->x, &t) : TERN_ENOMEM;
	free(t.file);
	return rc;
}

/* Adds a new member; false when it is not (the reason logged). */
static bool member_add(struct catalog_in *ci, struct cat *c, const uint8_t *apex)
{
	char text[NAME_TEXT];
	name_to_text(apex, text, sizeof(text));
	const char *why = collision(ci, c, apex);
	if (why) {
		log_warning("catalog %s: member %s skipped: %s", c->name, text, why);
		return false;
	}
	int rc = member_pull(ci, c, apex, text);
	if (rc == TERN_EEXIST)
		log_warning("catalog %s: member %s skipped: the configuration has it as a secondary zone", c->name,
		            text);
	else if (rc < 0)
		log_error("catalog %s: member %s not added: %s", c->name, text, tern_strerror(rc));
	else
		log_info("catalog %s: member %s added", c->name, text);
	return rc == 0;
}

/* A member kept across a reload follows its catalog's primaries; false when it is lost. */
static bool member_keep(struct catalog_in *ci, struct cat *c, const uint8_t *apex)
{
	char text[NAME_TEXT];
	name_to_text(apex, text, sizeof(text));
	int rc = member_pull(ci, c, apex, text);
	if (rc < 0)
		log_error("catalog %s: member %s: %s", c->name, text, tern_strerror(rc));
	return rc == 0 || rc == TERN_ENOMEM; /* out of memory: still pulled as before */
}

static void member_remove(struct catalog_in *ci, struct cat *c, const uint8_t *apex, const char *why)
{
	char text[NAME_TEXT];
	name_to_text(apex, text, sizeof(text));
	int rc = xfrin_secondary_remove(ci->x, apex);
	if (rc == 0)
		log_info("catalog %s: member %s removed (%s)", c->name, text, why);
}

/* Takes a catalog's members from its version served, if that is one not processed yet. */
static void sync_cat(struct catalog_in *ci, struct cat *c)
{
	struct catalog_member *now = NULL, *kept = NULL;
	size_t n = 0, nkept = 0;
	char *msg = malloc(MSGBUF);
	if (!msg) {
		log_error("catalog %s: out of memory", c->name);
		return;
	}
	rcu_thread_online();
	const struct zone *z = zones_get(ci->srv->zones, c->apex);
	uint32_t serial = z ? z->serial : 0;
	bool fresh = z && !(c->processed && serial == c->serial);
	int rc = fresh ? catalog_members(z, &now, &n, msg, MSGBUF) : 0;
	rcu_thread_offline();
	if (!fresh) /* not served (not transferred yet, or expired: members keep their own timers) */
		goto out;
	c->processed = true;
	c->serial = serial;
	if (rc < 0) {
		log_error("catalog %s serial %u: %s", c->name, serial, msg);
		goto out;
	}
	if (msg[0])
		log_warning("catalog %s serial %u:\n%s", c->name, serial, msg);
	if (!(kept = calloc(n + c->n + 1, sizeof(*kept)))) {
		log_error("catalog %s: out of memory", c->name);
		c->processed = false;
		goto out;
	}
	/* both lists are sorted: one merge finds members gone and members new */
	size_t i = 0, j = 0, others = ci->conf->nzones, over = 0; /* zones served besides this catalog's members */
	for (size_t k = 0; k < ci->ncats; k++)
		others += &ci->cats[k] == c ? 0 : ci->cats[k].n;
	while (i < c->n || j < n) {
		int d = i == c->n ? 1 : j == n ? -1 : name_cmp(c->members[i].apex, now[j].apex);
		if (d < 0) {
			member_remove(ci, c, c->members[i++].apex, "no longer listed");
		} else if (d > 0) {
			/* server.max-zones: the members over it wait for room (kept ones and removals first) */
			if (others + nkept + (c->n - i) >= ci->conf->max_zones)
				over++;
			else if (member_add(ci, c, now[j].apex))
				kept[nkept++] = now[j];
			j++;
		} else {
			kept[nkept++] = c->members[i++];
			j++;
		}
	}
	if (over)
		log_warning("catalog %s serial %u: %zu member(s) not added: server.max-zones is %u", c->name, serial,
		            over, ci->conf->max_zones);
	log_info("catalog %s serial %u: %zu member(s) served", c->name, serial, nkept);
	free(c->members);
	c->members = kept;
	c->n = nkept;
out:
	free(now);
	free(msg);
}

static struct cat *cat_find(struct cat *cats, size_t n, const uint8_t *apex)
{
	for (size_t i = 0; i < n; i++)
		if (name_equal(cats[i].apex, apex))
			return &cats[i];
	return NULL;
}

/* Applies a configuration: catalogs no longer consumed lose their members, members the
 * configuration names are given up to it, the others take their catalog's new settings. */
static void apply_config(struct catalog_in *ci, const struct config *conf)
{
	size_t n = 0;
	for (size_t i = 0; i < conf->nzones; i++)
		n += conf->zones[i].catalog && conf->zones[i].nprimaries;
	struct cat *cats = calloc(n + 1, sizeof(*cats));
	uint8_t(*watch)[NAME_MAXLEN] = calloc(n + 1, sizeof(*watch));
	if (!cats || !watch) {
		log_error("catalogs: out of memory applying the configuration");
		free(cats);
		free(watch);
		return;
	}
	n = 0;
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		if (!cz->catalog || !cz->nprimaries)
			continue;
		struct cat *c = &cats[n], *was = cat_find(ci->cats, ci->ncats, cz->apex);
		if (was) {
			*c = *was;
			memset(was, 0, sizeof(*was)); /* moved */
		} else {
			memcpy(c->apex, cz->apex, name_len(cz->apex));
			name_to_text(c->apex, c->name, sizeof(c->name));
			log_info("catalog %s: consumed", c->name);
		}
		c->cz = cz;
		c->processed = false; /* members skipped before may be free now */
		memcpy(watch[n], c->apex, name_len(c->apex));
		n++;
	}
	for (size_t i = 0; i < ci->ncats; i++) {
		struct cat *c = &ci->cats[i];
		for (size_t k = 0; k < c->n; k++)
			member_remove(ci, c, c->members[k].apex, "the catalog is no longer consumed");
		free(c->members);
	}
	free(ci->cats);
	ci->cats = cats;
	ci->ncats = n;
	ci->conf = conf;
	for (size_t i = 0; i < ci->ncats; i++) {
		struct cat *c = &ci->cats[i];
		size_t kept = 0;
		for (size_t k = 0; k < c->n; k++) {
			const uint8_t *apex = c->members[k].apex;
			bool configured = config_zone_find(conf, apex) != NULL;
			if (configured) /* before load_zones serves the configuration's version */
				member_remove(ci, c, apex, "the configuration names it now");
			else if (member_keep(ci, c, apex))
				c->members[kept++] = c->members[k];
		}
		c->n = kept;
	}
	pthread_mutex_lock(&ci->lock);
	free(ci->watch);
	ci->watch = watch;
	ci->nwatch = n;
	pthread_mutex_unlock(&ci->lock);
}

/* A round in the thread: a reload handed over, then every catalog read again. */
static void on_wake(struct ev_loop *loop, struct ev_async *a)
{
	(void)loop;
	struct catalog_in *ci = a->arg;
	pthread_mutex_lock(&ci->lock);
	const struct config *conf = ci->next_conf;
	unsigned long asked = ci->conf_asked;
	ci->next_conf = NULL;
	pthread_mutex_unlock(&ci->lock);
	if (conf)
		apply_config(ci, conf);
	for (size_t i = 0; i < ci->ncats; i++)
		sync_cat(ci, &ci->cats[i]);
	if (conf) {
		pthread_mutex_lock(&ci->lock);
		ci->conf_done = asked;
		pthread_cond_broadcast(&ci->done);
		pthread_mutex_unlock(&ci->lock);
	}
}

/* Hands conf to the thread and waits until it is applied and every catalog read again. */
static void hand_over(struct catalog_in *ci, const struct config *conf)
{
	pthread_mutex_lock(&ci->lock);
	ci->next_conf = conf;
	unsigned long ticket = ++ci->conf_asked;
	ev_async_send(&ci->wake);
	while (ci->conf_done < ticket && !ci->stop)
		pthread_cond_wait(&ci->done, &ci->lock);
	pthread_mutex_unlock(&ci->lock);
}

int catalog_in_start(struct server *srv, const struct config *conf, struct xfrin *x, struct catalog_in **out, char *err,
                     size_t errlen)
{
	*out = NULL;
	struct catalog_in *ci = calloc(1, sizeof(*ci));
	if (!ci) {
		snprintf(err, errlen, "catalogs: out of memory");
		return TERN_ENOMEM;
	}
	ci->srv = srv;
	ci->x = x;
	pthread_mutex_init(&ci->lock, NULL);
	pthread_cond_init(&ci->done, NULL);
	/* offline but around its reads: xfrin's calls wait for a lock held across grace periods */
	if (!(ci->loop = ev_new(EV_RCU_OFFLINE))) {
		snprintf(err, errlen, "catalogs: out of memory");
		catalog_in_stop(ci);
		return TERN_ENOMEM;
	}
	ev_async_start(ci->loop, &ci->wake, on_wake, ci);
	if (zones_subscribe(srv->zones, on_zones, ci) < 0) {
		snprintf(err, errlen, "catalogs: too many zone listeners");
		catalog_in_stop(ci);
		return TERN_ENOMEM;
	}
	ci->subscribed = true;
	if (ev_thread_start(&ci->thread, ci->loop, "ternd-catalogs") < 0) {
		snprintf(err, errlen, "catalogs: cannot start their thread");
		catalog_in_stop(ci);
		return TERN_EIO;
	}
	hand_over(ci, conf);
	*out = ci;
	return 0;
}

void catalog_in_reload(struct catalog_in *ci, const struct config *conf)
{
	if (ci)
		hand_over(ci, conf);
}

void catalog_in_stop(struct catalog_in *ci)
{
	if (!ci)
		return;
	if (ci->subscribed)
		zones_unsubscribe(ci->srv->zones, on_zones, ci);
	pthread_mutex_lock(&ci->lock);
	ci->stop = true; /* a hand-over waiting gives up */
	pthread_cond_broadcast(&ci->done);
	pthread_mutex_unlock(&ci->lock);
	ev_thread_stop(&ci->thread);
	ev_free(ci->loop);
	for (size_t i = 0; i < ci->ncats; i++)
		free(ci->cats[i].members);
	free(ci->cats);
	free(ci->watch);
	pthread_mutex_destroy(&ci->lock);
	pthread_cond_destroy(&ci->done);
	free(ci);
}
