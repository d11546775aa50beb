/* Catalog zones consumed (RFC 9432 version 2). A zones listener notes each new version of a
 * consumed catalog, and which member entries changed from the version before (zone_changed_nodes:
 * what an IXFR touched, not the catalog); a thread looks at those entries only, or reads every
 * member when it must (the first version, an AXFR, many changes, a catalog with entries it had to
 * skip), and adds or removes secondary zones through xfrin (xfrin_secondary_add/remove), never
 * from inside the listener, which runs in the publisher -- often xfrin's own thread, holding the
 * lock those calls take. */
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
/* Entries changed since the thread last looked beyond which it reads every member instead. */
#define MAX_ENTRY_CHANGES 1024

/* A member entry (<id>.zones.<catalog>) that changed: its owner, and the member it listed before
 * (was[0] == 0: none, or an entry that was not one PTR). */
struct entry_change {
	uint8_t owner[NAME_MAXLEN];
	uint8_t was[NAME_MAXLEN];
};

/* One consumed catalog's versions since the thread last looked (the listener's, under ci->lock). */
struct cat_changes {
	uint8_t zones[NAME_MAXLEN], version[NAME_MAXLEN]; /* zones.<catalog>, version.<catalog> */
	bool any; /* from and to are set */
	bool whole; /* read every member: the changes are not known */
	uint32_t from, to;
	struct entry_change *v;
	size_t n;
};

/* ---- the consumer ---- */

/* A catalog consumed: the thread's own. */
struct cat {
	uint8_t apex[NAME_MAXLEN];
	char name[NAME_TEXT];
	const struct config_zone *cz; /* in the configuration applied */
	bool processed; /* serial below is the version members were last taken from */
	bool unsure; /* that version had entries skipped (a member listed twice?): read it whole */
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
	struct cat_changes *changes; /* one per watch */
	size_t nwatch;
	/* versions of a watched catalog the listener noted, and how many of those the thread had
	 * noted when it last began a round that it has finished: equal when nothing waits
	 * (catalog_in_settled) */
	unsigned long noted, synced;
	/* the thread's own */
	const struct config *conf;
	struct cat *cats;
	size_t ncats;
};

/* Called for each node that differs between two versions of a catalog: notes a member entry
 * that changed; 1 (stop) when the changes are too many to note or the version property changed. */
static int note_entry(void *arg, const struct zone_node *old, const struct zone_node *now)
{
	struct cat_changes *ch = arg;
	const uint8_t *owner = old ? old->owner : now->owner;
	if (name_equal(owner, ch->version)) {
		ch->whole = true;
		return 1;
	}
	const uint8_t *parent = name_parent(owner);
	if (!parent || !name_equal(parent, ch->zones))
		return 0; /* the apex, properties: not entries */
	if (ch->n == MAX_ENTRY_CHANGES) {
		ch->whole = true;
		return 1;
	}
	struct entry_change *e = &ch->v[ch->n++];
	memcpy(e->owner, owner, name_len(owner));
	e->was[0] = 0;
	const struct rrset *ptr = old ? zone_node_rrset(old, RR_PTR) : NULL;
	if (ptr && ptr->count == 1) {
		const uint8_t *rec = ptr->rdata;
		name_lower_copy(e->was, rdata_bytes(rec), rdata_len(rec));
	}
	return 0;
}

/* Runs in the publisher's thread, inside its lock: notes that a catalog changed, and which of its
 * entries (a walk that costs what changed when next was derived from old by an IXFR; an unrelated
 * version stops it at MAX_ENTRY_CHANGES). */
static void on_zones(void *arg, enum zones_event ev, const struct zone *old, const struct zone *next)
{
	struct catalog_in *ci = arg;
	const struct zone *z = next ? next : old;
	if (!z)
		return;
	bool watched = false;
	pthread_mutex_lock(&ci->lock);
	for (size_t i = 0; i < ci->nwatch && !watched; i++) {
		if (!(watched = name_equal(ci->watch[i], z->apex)))
			continue;
		struct cat_changes *ch = &ci->changes[i];
		if (ch->whole)
			break;
		if (ev != ZONES_PUBLISHED || !old || !next || (ch->any && ch->to != old->serial)) {
			ch->whole = true;
			break;
		}
		if (!ch->v && !(ch->v = malloc(MAX_ENTRY_CHANGES * sizeof(*ch->v)))) {
			ch->whole = true;
			break;
		}
		if (!ch->any)
			ch->from = old->serial;
		ch->any = true;
		ch->to = next->serial;
		if (zone_changed_nodes(old, next, note_entry, ch) < 0)
			ch->whole = true;
	}
	ci->noted += watched;
	pthread_mutex_unlock(&ci->lock);
	if (watched)
		ev_async_send(&ci->wake);
}

/* The member the entry at owner lists in z: one PTR, not the catalog or inside it; else NULL. */
static bool entry_member(const struct zone *z, const uint8_t *owner, uint8_t out[NAME_MAXLEN])
{
	const struct zone_node *node = zone_find(z, owner, name_len(owner));
	const struct rrset *ptr = node ? zone_node_rrset(node, RR_PTR) : NULL;
	if (!ptr || ptr->count != 1)
		return false;
	const uint8_t *rec = ptr->rdata;
	name_lower_copy(out, rdata_bytes(rec), rdata_len(rec));
	return !name_in(out, z->apex);
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

/* The members whose entries changed (ch, from the version c->serial to z): those now listed and
 * not yet members in add, those members no longer listed in rem (malloc'd, sorted). Only the
 * entries that changed are read, and for each member touched its usual entry (its SHA-1 id), so
 * a member listed by an entry that did not change is seen only when the version c->serial read
 * whole had no skipped entry (c->unsure). The caller is an online RCU reader holding z. */
static int changed_members(struct cat *c, const struct zone *z, const struct cat_changes *ch,
                           struct catalog_member **add, size_t *nadd, struct catalog_member **rem, size_t *nrem)
{
	struct catalog_member *touched = calloc(2 * ch->n + 1, sizeof(*touched));
	struct catalog_member *now = calloc(ch->n + 1, sizeof(*now)); /* what each entry lists now */
	bool *listed = calloc(ch->n + 1, sizeof(*listed));
	*add = calloc(2 * ch->n + 1, sizeof(**add));
	*rem = calloc(2 * ch->n + 1, sizeof(**rem));
	*nadd = *nrem = 0;
	int rc = touched && now && listed && *add && *rem ? 0 : TERN_ENOMEM;
	size_t nt = 0;
	for (size_t i = 0; rc == 0 && i < ch->n; i++) {
		if (ch->v[i].was[0]) /* the root is never a member: was[0] 0 is none */
			memcpy(touched[nt++].apex, ch->v[i].was, name_len(ch->v[i].was));
		if ((listed[i] = entry_member(z, ch->v[i].owner, now[i].apex)))
			touched[nt++] = now[i];
	}
	if (rc == 0)
		qsort(touched, nt, sizeof(*touched), catalog_member_cmp);
	for (size_t k = 0; rc == 0 && k < nt; k++) {
		const uint8_t *t = touched[k].apex;
		if (k && name_equal(touched[k - 1].apex, t))
			continue;
		bool present = false, was = false;
		for (size_t i = 0; i < ch->n; i++) {
			present = present || (listed[i] && name_equal(now[i].apex, t));
			was = was || name_equal(ch->v[i].was, t);
		}
		uint8_t owner[NAME_MAXLEN], m[NAME_MAXLEN];
		if (!present && catalog_entry_owner(z->apex, t, owner) && entry_member(z, owner, m))
			present = name_equal(m, t);
		bool have = bsearch(t, c->members, c->n, sizeof(*c->members), catalog_member_cmp) != NULL;
		if (present && !have)
			(*add)[(*nadd)++] = touched[k];
		else if (!present && have)
			(*rem)[(*nrem)++] = touched[k];
		else if (present && have && !was)
			c->unsure = true; /* a second entry lists a member: a later removal reads it whole */
	}
	free(touched);
	free(now);
	free(listed);
	return rc;
}

/* c->members with m inserted in order (not there yet); false when out of memory. */
static bool members_insert(struct cat *c, const struct catalog_member *m)
{
	struct catalog_member *v = realloc(c->members, (c->n + 1) * sizeof(*v));
	if (!v)
		return false;
	c->members = v;
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (catalog_member_cmp(&v[mid], m) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&v[lo + 1], &v[lo], (c->n - lo) * sizeof(*v));
	v[lo] = *m;
	c->n++;
	return true;
}

static void members_delete(struct cat *c, const struct catalog_member *m)
{
	struct catalog_member *at = bsearch(m, c->members, c->n, sizeof(*c->members), catalog_member_cmp);
	if (!at)
		return;
	size_t i = (size_t)(at - c->members);
	memmove(&c->members[i], &c->members[i + 1], (c->n - i - 1) * sizeof(*c->members));
	c->n--;
}

/* Zones served besides c's members, for server.max-zones. */
static size_t others(const struct catalog_in *ci, const struct cat *c)
{
	size_t n = ci->conf->nzones;
	for (size_t k = 0; k < ci->ncats; k++)
		n += &ci->cats[k] == c ? 0 : ci->cats[k].n;
	return n;
}

/* Applies the members added and removed that changed_members() found. */
static void apply_changes(struct catalog_in *ci, struct cat *c, uint32_t serial, const struct catalog_member *add,
                          size_t nadd, const struct catalog_member *rem, size_t nrem)
{
	for (size_t i = 0; i < nrem; i++) {
		member_remove(ci, c, rem[i].apex, "no longer listed");
		members_delete(c, &rem[i]);
	}
	size_t over = 0, base = others(ci, c);
	for (size_t i = 0; i < nadd; i++) {
		if (base + c->n >= ci->conf->max_zones)
			over++;
		else if (member_add(ci, c, add[i].apex) && !members_insert(c, &add[i])) {
			log_error("catalog %s: out of memory: member list read whole at the next version", c->name);
			c->unsure = true;
		}
	}
	if (over)
		log_warning("catalog %s serial %u: %zu member(s) not added: server.max-zones is %u", c->name, serial,
		            over, ci->conf->max_zones);
	log_info("catalog %s serial %u: %zu member(s) served (%zu added, %zu removed: the entries that changed read)",
	         c->name, serial, c->n, nadd, nrem);
}

/* Takes a catalog's members from its version served, if that is one not processed yet: from the
 * entries that changed (ch) when they lead from the version processed last to it, else whole. */
static void sync_cat(struct catalog_in *ci, struct cat *c, const struct cat_changes *ch)
{
	struct catalog_member *now = NULL, *kept = NULL, *add = NULL, *rem = NULL;
	size_t n = 0, nkept = 0, nadd = 0, nrem = 0;
	char *msg = malloc(MSGBUF);
	if (!msg) {
		log_error("catalog %s: out of memory", c->name);
		return;
	}
	msg[0] = 0;
	rcu_thread_online();
	const struct zone *z = zones_get(ci->srv->zones, c->apex);
	uint32_t serial = z ? z->serial : 0;
	bool fresh = z && !(c->processed && serial == c->serial);
	bool delta =
	    fresh && c->processed && !c->unsure && ch->any && !ch->whole && ch->from == c->serial && ch->to == serial;
	int rc = 0;
	if (delta)
		delta = changed_members(c, z, ch, &add, &nadd, &rem, &nrem) == 0;
	if (fresh && !delta)
		rc = catalog_members(z, &now, &n, msg, MSGBUF);
	rcu_thread_offline();
	if (!fresh) /* not served (not transferred yet, or expired: members keep their own timers) */
		goto out;
	c->processed = true;
	c->serial = serial;
	if (delta) {
		apply_changes(ci, c, serial, add, nadd, rem, nrem);
		goto out;
	}
	c->unsure = rc < 0 || msg[0] != 0;
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
	size_t i = 0, j = 0, other = others(ci, c), over = 0; /* zones served besides this catalog's members */
	while (i < c->n || j < n) {
		int d = i == c->n ? 1 : j == n ? -1 : name_cmp(c->members[i].apex, now[j].apex);
		if (d < 0) {
			member_remove(ci, c, c->members[i++].apex, "no longer listed");
		} else if (d > 0) {
			/* server.max-zones: the members over it wait for room (kept ones and removals first) */
			if (other + nkept + (c->n - i) >= ci->conf->max_zones)
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
	free(add);
	free(rem);
	free(msg);
}

static void changes_free(struct cat_changes *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].v);
	free(v);
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
	struct cat_changes *changes = calloc(n + 1, sizeof(*changes));
	if (!cats || !watch || !changes) {
		log_error("catalogs: out of memory applying the configuration");
		free(cats);
		free(watch);
		free(changes);
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
		changes[n].whole = true; /* read whole first */
		if (name_from_text(changes[n].zones, "zones", c->apex) < 0 ||
		    name_from_text(changes[n].version, "version", c->apex) < 0)
			changes[n].zones[0] = changes[n].version[0] = 0; /* catalog_members() says why */
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
	changes_free(ci->changes, ci->nwatch);
	free(ci->watch);
	ci->watch = watch;
	ci->changes = changes;
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
	unsigned long asked = ci->conf_asked, noted = ci->noted;
	ci->next_conf = NULL;
	pthread_mutex_unlock(&ci->lock);
	if (conf)
		apply_config(ci, conf);
	for (size_t i = 0; i < ci->ncats; i++) {
		struct cat_changes ch = {.whole = true};
		pthread_mutex_lock(&ci->lock);
		if (i < ci->nwatch) { /* taken: the listener notes the next versions afresh */
			ch = ci->changes[i];
			ci->changes[i].v = NULL;
			ci->changes[i].n = 0;
			ci->changes[i].any = ci->changes[i].whole = false;
		}
		pthread_mutex_unlock(&ci->lock);
		sync_cat(ci, &ci->cats[i], &ch);
		free(ch.v);
	}
	pthread_mutex_lock(&ci->lock);
	ci->synced = noted; /* every version noted before this round is taken: members added */
	pthread_mutex_unlock(&ci->lock);
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
	changes_free(ci->changes, ci->nwatch);
	pthread_mutex_destroy(&ci->lock);
	pthread_cond_destroy(&ci->done);
	free(ci);
}

bool catalog_in_settled(struct catalog_in *ci)
{
	if (!ci)
		return true;
	pthread_mutex_lock(&ci->lock);
	bool settled = ci->synced == ci->noted;
	pthread_mutex_unlock(&ci->lock);
	return settled;
}
