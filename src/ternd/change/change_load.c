/* The zones a store holds, built from their RRsets and published at start: the writer of a
 * store's zones serves them before anything can write to them. */
#include <stdio.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/base/log.h"
#include "ternd/change/change.h"
#include "ternd/change/change_impl.h"

/* The zone being read (its RRsets follow its row) and the counts. */
struct load {
	struct change *c;
	size_t loaded, failed;
	struct store_zone row;
	struct zone_builder *b; /* NULL: none under way (or out of memory: rc says) */
	int rc;
};

static int add_rrset(const struct store_rrset *rs, void *arg)
{
	struct zone_builder *b = arg;
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec))
		if (zone_builder_add(b, rs->owner, rs->type, store_rrset_ttl(rs, i), rdata_bytes(rec), rdata_len(rec),
		                     0) < 0)
			return TERN_ENOMEM;
	return 0;
}

/* A zone built from its rows: published, or logged by name (1: not loaded). b is taken over. */
static int publish_built(struct change *c, const struct store_zone *sz, struct zone_builder *b)
{
	char err[4096] = "", name[NAME_MAXLEN * 4 + 1];
	name_to_text(sz->apex, name, sizeof(name));
	struct zone *z = NULL;
	if (zone_build(b, name, &z, err, sizeof(err)) < 0) {
		log_error("API zone %s not loaded:\n%s", name, err);
		return 1;
	}
	if (sz->dnssec) /* keys and signing state: only zones with a policy row have any */
		change_dnssec_loaded(c, sz, z);
	if (zones_publish(c->zones, z) < 0) {
		zone_free(z);
		return TERN_ENOMEM;
	}
	return 0;
}

/* One zone of the store: built and published, or logged by name (1: not loaded). */
int change_load_zone(struct change *c, const struct store_zone *sz)
{
	char err[4096] = "", name[NAME_MAXLEN * 4 + 1];
	name_to_text(sz->apex, name, sizeof(name));
	struct zone_builder *b = zone_builder_new(sz->apex);
	if (!b)
		return TERN_ENOMEM;
	if (store_rrset_foreach(store_latest(c->store), sz->apex, add_rrset, b, err, sizeof(err)) < 0) {
		zone_builder_free(b);
		log_error("API zone %s not loaded: %s", name, err);
		return 1;
	}
	return publish_built(c, sz, b);
}

/* The zone under way (if any) finished: published or counted as failed. */
static int finish_zone(struct load *l)
{
	if (!l->b)
		return 0;
	int rc = publish_built(l->c, &l->row, l->b);
	l->b = NULL;
	if (rc < 0)
		return rc;
	if (rc == 1)
		l->failed++;
	else
		l->loaded++;
	return 0;
}

static int load_row(const struct store_zone *sz, void *arg)
{
	struct load *l = arg;
	int rc = finish_zone(l);
	if (rc < 0)
		return rc;
	l->row = *sz;
	if (!(l->b = zone_builder_new(sz->apex)))
		return TERN_ENOMEM;
	return 0;
}

static int load_rrset(const struct store_rrset *rs, void *arg)
{
	struct load *l = arg;
	return add_rrset(rs, l->b);
}

/* Every zone in pages of LOAD_PAGE, each page one statement (zones with their RRsets). */
#define LOAD_PAGE 1000

int change_load_all(struct change *c, size_t *loaded, size_t *failed, char *err, size_t errlen)
{
	struct load l = {.c = c};
	struct store_page page = {0};
	int rc;
	err[0] = 0;
	change_lock(c);
	do {
		rc = store_zone_load(store_latest(c->store), page.more ? page.next_apex : NULL, LOAD_PAGE, load_row,
		                     load_rrset, &l, &page, err, errlen);
		if (rc == TERN_EMALF && l.b) { /* a broken row: that zone is not served, the rest are */
			char name[NAME_MAXLEN * 4 + 1];
			name_to_text(l.row.apex, name, sizeof(name));
			log_error("API zone %s not loaded: %s", name, err);
			zone_builder_free(l.b);
			l.b = NULL;
			l.failed++;
			memcpy(page.next_apex, l.row.apex, name_len(l.row.apex));
			page.more = true;
			err[0] = 0;
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = finish_zone(&l); /* a page ends with a whole zone */
	} while (rc == 0 && page.more);
	if (l.b)
		zone_builder_free(l.b);
	change_unlock(c);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "loading the store's zones: %s", tern_strerror(rc));
	*loaded = l.loaded;
	*failed = l.failed;
	return rc < 0 ? rc : 0;
}
