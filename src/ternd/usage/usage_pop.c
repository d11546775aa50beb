/* The queries PoPs answer, as a control node takes them (usage.h: usage_pop_counts): each PoP's
 * counters as last taken (zone -> counter, and the PoP's epoch), the queries taken and not stored
 * yet by zone, and their share of a flush: usage_days rows and one store setting per PoP,
 * "usage.pop.<name>", holding the counters those rows account for. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/store/store.h"
#include "ternd/usage/usage_impl.h"

#define SETTING_PREFIX "usage.pop."
#define BLOB_HEAD "tern-pop-usage 1\n"
#define USAGE_POP_PENDING_MAX (1ull << 60) /* a zone's queries taken and not stored yet, at most */

/* ---- a table of names ---- */

static uint64_t zone_name_hash(const uint8_t *apex)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0, n = name_len(apex); i < n; i++)
		h = (h ^ apex[i]) * 0x100000001b3ull;
	return h;
}

static struct uname *names_slot(const struct unames *t, const uint8_t *apex)
{
	size_t h = zone_name_hash(apex) & (t->cap - 1);
	while (t->e[h].apex && !name_equal(t->e[h].apex, apex))
		h = (h + 1) & (t->cap - 1);
	return &t->e[h];
}

static bool names_grow(struct unames *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct unames n = {calloc(cap, sizeof(struct uname)), t->count, cap};
	if (!n.e)
		return false;
	for (size_t i = 0; i < t->cap; i++)
		if (t->e[i].apex)
			*names_slot(&n, t->e[i].apex) = t->e[i];
	free(t->e);
	*t = n;
	return true;
}

/* The entry of apex; with create, a new one (n 0) when there is none. NULL: none, or no memory. */
static struct uname *names_get(struct unames *t, const uint8_t *apex, bool create)
{
	if (t->cap) {
		struct uname *e = names_slot(t, apex);
		if (e->apex || !create)
			return e->apex ? e : NULL;
	}
	if (!create || ((t->count + 1) * 2 > t->cap && !names_grow(t)))
		return NULL;
	struct uname *e = names_slot(t, apex);
	size_t len = name_len(apex);
	if (!(e->apex = malloc(len)))
		return NULL;
	memcpy(e->apex, apex, len);
	e->n = 0;
	t->count++;
	return e;
}

/* Drops the entries keep() refuses; on_drop sees each before it goes. False: out of memory (all kept). */
static bool names_filter(struct unames *t, bool (*keep)(const struct uname *e, const void *arg), const void *arg,
                         void (*on_drop)(const struct uname *e, void *arg), void *drop_arg)
{
	if (!t->cap)
		return true;
	struct unames n = {calloc(t->cap, sizeof(struct uname)), 0, t->cap};
	if (!n.e)
		return false;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->e[i].apex)
			continue;
		if (keep(&t->e[i], arg)) {
			*names_slot(&n, t->e[i].apex) = t->e[i];
			n.count++;
		} else {
			if (on_drop)
				on_drop(&t->e[i], drop_arg);
			free(t->e[i].apex);
		}
	}
	free(t->e);
	*t = n;
	return true;
}

static void names_free(struct unames *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->e[i].apex);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* ---- a PoP's counters as the store keeps them: BLOB_HEAD, the epoch, then "zone counter" lines ---- */

/* What a zone's line may take, whatever its counter (20 digits at most). */
static size_t entry_bytes(const uint8_t *apex)
{
	char text[NAME_MAXLEN * 4 + 1];
	int len = name_to_text(apex, text, sizeof(text));
	return (len > 0 ? (size_t)len : sizeof(text)) + 22;
}

static int blob_make(const struct upop *p, char **out, size_t *outlen)
{
	size_t cap = sizeof(BLOB_HEAD) + USAGE_EPOCH_LEN + 2 + p->bytes; /* each line within its entry_bytes() */
	char *b = malloc(cap);
	if (!b)
		return TERN_ENOMEM;
	size_t len = (size_t)snprintf(b, cap, "%s%s\n", BLOB_HEAD, p->epoch);
	for (size_t i = 0; i < p->seen.cap; i++) {
		const struct uname *e = &p->seen.e[i];
		char text[NAME_MAXLEN * 4 + 1];
		if (!e->apex || name_to_text(e->apex, text, sizeof(text)) < 0)
			continue;
		len += (size_t)snprintf(b + len, cap - len, "%s %" PRIu64 "\n", text, e->n);
	}
	*out = b;
	*outlen = len;
	return 0;
}

/* Reads a PoP's setting back (ternd wrote it, but a store is input all the same). */
static int blob_read(struct upop *p, const char *b, size_t len, char *err, size_t errlen)
{
	size_t head = sizeof(BLOB_HEAD) - 1;
	if (len < head + USAGE_EPOCH_LEN + 1 || memcmp(b, BLOB_HEAD, head) != 0 || b[head + USAGE_EPOCH_LEN] != '\n') {
		snprintf(err, errlen, "setting %s%s: not a PoP's counters", SETTING_PREFIX, p->name);
		return TERN_EINVAL;
	}
	memcpy(p->epoch, b + head, USAGE_EPOCH_LEN);
	p->epoch[USAGE_EPOCH_LEN] = 0;
	if (strspn(p->epoch, "0123456789abcdef") != USAGE_EPOCH_LEN) {
		snprintf(err, errlen, "setting %s%s: not a PoP's epoch", SETTING_PREFIX, p->name);
		return TERN_EINVAL;
	}
	size_t at = head + USAGE_EPOCH_LEN + 1;
	while (at < len) {
		const char *nl = memchr(b + at, '\n', len - at), *sp;
		char text[NAME_MAXLEN * 4 + 1], *end;
		uint8_t apex[NAME_MAXLEN];
		size_t line = nl ? (size_t)(nl - (b + at)) : len - at;
		sp = memchr(b + at, ' ', line);
		size_t tlen = sp ? (size_t)(sp - (b + at)) : 0;
		if (!sp || !tlen || tlen >= sizeof(text) || line - tlen - 1 > 20)
			goto bad;
		memcpy(text, b + at, tlen);
		text[tlen] = 0;
		char num[24];
		memcpy(num, sp + 1, line - tlen - 1);
		num[line - tlen - 1] = 0;
		unsigned long long v = strtoull(num, &end, 10);
		if (name_from_text(apex, text, NULL) < 0 || !num[0] || *end || num[0] == '-')
			goto bad;
		name_lower(apex);
		struct uname *e = names_get(&p->seen, apex, true);
		if (!e) {
			snprintf(err, errlen, "out of memory");
			return TERN_ENOMEM;
		}
		e->n = v;
		p->bytes += entry_bytes(apex);
		at += line + 1;
	}
	return 0;
bad:
	snprintf(err, errlen, "setting %s%s: a malformed line at offset %zu", SETTING_PREFIX, p->name, at);
	return TERN_EINVAL;
}

/* ---- taking a PoP's counters ---- */

static struct upop *pop_find(struct usage *u, const char *name)
{
	for (size_t i = 0; i < u->npops; i++)
		if (!strcmp(u->pops[i].name, name))
			return &u->pops[i];
	return NULL;
}

/* Makes the PoP's entry from the store's setting (none: a PoP never taken from), without the lock. */
static int pop_load(struct usage *u, const char *name, struct upop *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (!(p->name = strdup(name))) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	if (!u->store)
		return 0;
	char setting[300];
	snprintf(setting, sizeof(setting), "%s%s", SETTING_PREFIX, name);
	void *value = NULL;
	size_t len = 0;
	int rc = store_setting_get(store_latest(u->store), setting, &value, &len, NULL, err, errlen);
	if (rc == TERN_ENOTFOUND) {
		rc = 0;
		err[0] = 0;
	} else if (rc == 0)
		rc = blob_read(p, value, len, err, errlen);
	free(value);
	if (rc < 0) {
		names_free(&p->seen);
		free(p->name);
	}
	return rc;
}

static bool in_round(const struct uname *e, const void *arg)
{
	return e->round == *(const uint32_t *)arg;
}

static void unfollow(const struct uname *e, void *arg)
{
	struct upop *p = arg;
	p->bytes -= entry_bytes(e->apex);
	p->version++;
}

static bool has_queries(const struct uname *e, const void *arg)
{
	(void)arg;
	return e->n != 0;
}

int usage_pop_counts(struct usage *u, const char *pop, const char *epoch, bool first, bool last,
                     const struct usage_pop_count *c, size_t n, uint64_t *taken, char *err, size_t errlen)
{
	*taken = 0;
	if (strlen(epoch) != USAGE_EPOCH_LEN || strspn(epoch, "0123456789abcdef") != USAGE_EPOCH_LEN) {
		snprintf(err, errlen, "an epoch that is not %d lower-case hex digits", USAGE_EPOCH_LEN);
		return TERN_EINVAL;
	}
	pthread_mutex_lock(&u->lock);
	struct upop *p = pop_find(u, pop);
	pthread_mutex_unlock(&u->lock);
	if (!p) {
		struct upop fresh;
		int rc = pop_load(u, pop, &fresh, err, errlen);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&u->lock);
		struct upop *grown = NULL;
		if (!(p = pop_find(u, pop)) && (grown = realloc(u->pops, (u->npops + 1) * sizeof(*u->pops)))) {
			u->pops = grown;
			p = &u->pops[u->npops++];
			*p = fresh;
			p->saved = p->version;
		} else {
			names_free(&fresh.seen);
			free(fresh.name);
		}
		pthread_mutex_unlock(&u->lock);
		if (!p) {
			snprintf(err, errlen, "out of memory");
			return TERN_ENOMEM;
		}
	}
	pthread_mutex_lock(&u->lock);
	if (!(p = pop_find(u, pop))) { /* not reached: entries are never removed */
		pthread_mutex_unlock(&u->lock);
		snprintf(err, errlen, "PoP %s: no entry", pop);
		return TERN_EIO;
	}
	if (strcmp(p->epoch, epoch) != 0) { /* the PoP started again: its counters start at 0 */
		names_free(&p->seen);
		p->bytes = 0;
		memcpy(p->epoch, epoch, USAGE_EPOCH_LEN + 1);
		p->version++;
	}
	if (first)
		p->round++;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct uname *s = names_get(&p->seen, c[i].apex, false);
		uint64_t was = s ? s->n : 0;
		if (s)
			s->round = p->round;
		if (c[i].queries == was)
			continue;
		uint64_t delta = c[i].queries > was ? c[i].queries - was : c[i].queries; /* lower: a reset */
		size_t cost = s ? 0 : entry_bytes(c[i].apex);
		if (p->bytes + cost + sizeof(BLOB_HEAD) + USAGE_EPOCH_LEN + 1 > STORE_SETTING_MAX) {
			p->refused++; /* more zones than the setting holds: not followed */
			continue;
		}
		struct uname *r = names_get(&u->remote, c[i].apex, true);
		if (r && r->n + delta > USAGE_POP_PENDING_MAX) { /* a row a store can add up */
			snprintf(err, errlen, "more than %llu queries of one zone to store", USAGE_POP_PENDING_MAX);
			rc = TERN_EINVAL; /* what was taken before stays taken, consistently */
			break;
		}
		if (r && !s)
			s = names_get(&p->seen, c[i].apex, true);
		if (!r || !s) {
			snprintf(err, errlen, "out of memory");
			rc = TERN_ENOMEM;
			break;
		}
		p->bytes += cost;
		s->n = c[i].queries;
		s->round = p->round;
		r->n += delta;
		*taken += delta;
		p->version++;
	}
	if (rc == 0 && last && p->round) /* a whole round: what it did not name, the PoP forgot */
		names_filter(&p->seen, in_round, &p->round, unfollow, p);
	pthread_mutex_unlock(&u->lock);
	return rc;
}

/* ---- the flush's share ---- */

int upop_flush_gather(struct usage *u, struct upop_flush *f)
{
	memset(f, 0, sizeof(*f));
	if (u->remote.count && (!(f->zones = calloc(u->remote.count, sizeof(*f->zones))) ||
	                        !(f->tenants = calloc(u->remote.count, sizeof(*f->tenants)))))
		return TERN_ENOMEM;
	for (size_t i = 0; i < u->remote.cap; i++) {
		const struct uname *e = &u->remote.e[i];
		if (!e->apex || !e->n)
			continue;
		size_t len = name_len(e->apex);
		if (!(f->zones[f->nzones].apex = malloc(len)))
			return TERN_ENOMEM;
		memcpy(f->zones[f->nzones].apex, e->apex, len);
		f->zones[f->nzones++].n = e->n;
	}
	if (u->npops && !(f->blobs = calloc(u->npops, sizeof(*f->blobs))))
		return TERN_ENOMEM;
	for (size_t i = 0; u->store && i < u->npops; i++) {
		const struct upop *p = &u->pops[i];
		if (p->version == p->saved)
			continue;
		struct upop_blob *b = &f->blobs[f->nblobs];
		size_t slen = sizeof(SETTING_PREFIX) + strlen(p->name);
		if (!(b->setting = malloc(slen)) || blob_make(p, &b->value, &b->len) < 0) {
			free(b->setting);
			b->setting = NULL;
			return TERN_ENOMEM;
		}
		snprintf(b->setting, slen, "%s%s", SETTING_PREFIX, p->name);
		b->pop = i;
		b->version = p->version;
		f->nblobs++;
	}
	return 0;
}

int upop_flush_tenants(struct usage *u, struct upop_flush *f, char *err, size_t errlen)
{
	for (size_t i = 0; u->store && i < f->nzones; i++) {
		struct store_zone sz;
		int rc = store_zone_get(store_latest(u->store), f->zones[i].apex, &sz, err, errlen);
		if (rc == TERN_ENOTFOUND)
			f->tenants[i][0] = 0; /* a zone of the configuration's files, as this node counts them */
		else if (rc < 0)
			return rc;
		else
			snprintf(f->tenants[i], sizeof(f->tenants[i]), "%s", sz.tenant);
	}
	return 0;
}

int upop_flush_write(struct upop_flush *f, struct store_txn *t, int64_t day, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < f->nzones && rc == 0; i++) {
		struct store_usage_row r = {.day = day, .queries = f->zones[i].n};
		memcpy(r.apex, f->zones[i].apex, name_len(f->zones[i].apex));
		snprintf(r.tenant, sizeof(r.tenant), "%s", f->tenants[i]);
		rc = store_usage_add(t, &r, err, errlen);
	}
	for (size_t i = 0; i < f->nblobs && rc == 0; i++)
		rc = store_setting_put(t, f->blobs[i].setting, f->blobs[i].value, f->blobs[i].len, err, errlen);
	return rc;
}

void upop_flush_done(struct usage *u, const struct upop_flush *f)
{
	for (size_t i = 0; i < f->nzones; i++) {
		struct uname *e = names_get(&u->remote, f->zones[i].apex, false);
		if (e)
			e->n -= f->zones[i].n; /* taken meanwhile stays pending */
	}
	size_t zero = 0;
	for (size_t i = 0; i < u->remote.cap; i++)
		zero += u->remote.e[i].apex && !u->remote.e[i].n;
	if (zero && zero * 4 >= u->remote.count) /* stored, nothing pending: not kept for ever */
		names_filter(&u->remote, has_queries, NULL, NULL, NULL);
	for (size_t i = 0; i < f->nblobs; i++)
		if (f->blobs[i].pop < u->npops)
			u->pops[f->blobs[i].pop].saved = f->blobs[i].version;
}

void upop_flush_free(struct upop_flush *f)
{
	for (size_t i = 0; f->zones && i < f->nzones; i++)
		free(f->zones[i].apex);
	free(f->zones);
	free(f->tenants);
	for (size_t i = 0; f->blobs && i < f->nblobs; i++) {
		free(f->blobs[i].setting);
		free(f->blobs[i].value);
	}
	free(f->blobs);
	memset(f, 0, sizeof(*f));
}

void upop_free_all(struct usage *u)
{
	for (size_t i = 0; i < u->npops; i++) {
		names_free(&u->pops[i].seen);
		free(u->pops[i].name);
	}
	free(u->pops);
	names_free(&u->remote);
}
