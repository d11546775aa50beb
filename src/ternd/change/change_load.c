/* The zones a store holds, built from their RRsets and published at start: the writer of a
 * store's zones serves them before anything can write to them. */
#include <stdio.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/base/log.h"
#include "ternd/change/change.h"
#include "ternd/change/change_impl.h"

struct load {
	struct change *c;
	size_t loaded, failed;
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

/* One zone of the store: built and published, or logged by name (1: not loaded). */
int change_load_zone(struct change *c, const struct store_zone *sz)
{
	char err[4096] = "", name[NAME_MAXLEN * 4 + 1];
	name_to_text(sz->apex, name, sizeof(name));
	struct zone_builder *b = zone_builder_new(sz->apex);
	struct zone *z = NULL;
	if (!b)
		return TERN_ENOMEM;
	if (store_rrset_foreach(store_latest(c->store), sz->apex, add_rrset, b, err, sizeof(err)) < 0) {
		zone_builder_free(b);
		log_error("API zone %s not loaded: %s", name, err);
		return 1;
	}
	if (zone_build(b, name, &z, err, sizeof(err)) < 0) {
		log_error("API zone %s not loaded:\n%s", name, err);
		return 1;
	}
	change_dnssec_loaded(c, sz, z);
	if (zones_publish(c->zones, z) < 0) {
		zone_free(z);
		return TERN_ENOMEM;
	}
	return 0;
}

static int load_zone(const struct store_zone *sz, void *arg)
{
	struct load *l = arg;
	int rc = change_load_zone(l->c, sz);
	if (rc < 0)
		return rc;
	if (rc == 1)
		l->failed++;
	else
		l->loaded++;
	return 0;
}

int change_load_all(struct change *c, size_t *loaded, size_t *failed, char *err, size_t errlen)
{
	struct load l = {.c = c};
	struct store_page page = {0};
	int rc;
	err[0] = 0;
	change_lock(c);
	do {
		rc = store_zone_list(store_latest(c->store), NULL, page.more ? page.next_apex : NULL, 1000, load_zone,
		                     &l, &page, err, errlen);
	} while (rc == 0 && page.more);
	change_unlock(c);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "loading the store's zones: %s", tern_strerror(rc));
	*loaded = l.loaded;
	*failed = l.failed;
	return rc < 0 ? rc : 0;
}
