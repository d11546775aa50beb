/* Other ternd writing the same store (PostgreSQL): the zones they change, heard from the store
 * (store_watch), built again here from the store and published, or no longer served once deleted
 * there. */
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/base/log.h"
#include "ternd/change/change.h"
#include "ternd/change/change_impl.h"

/* One zone: the store's version served here when its serial differs from the one served. */
static void follow_zone(struct change *c, const uint8_t *apex)
{
	char err[512] = "", name[NAME_MAXLEN * 4 + 1];
	struct store_zone sz;
	name_to_text(apex, name, sizeof(name));
	change_lock(c);
	int rc = store_zone_get(store_latest(c->store), apex, &sz, err, sizeof(err));
	const struct zone *cur = zones_get(c->zones, apex);
	if (rc == 0 && (strcmp(sz.tenant, STORE_TENANT_CONFIG) == 0 || sz.dnssec)) {
		if (!cur || cur->serial != sz.serial)
			log_info(
			    "zone %s: serial %u in the store, written by another ternd; a signed or configured zone "
			    "is served here as stored from the next start",
			    name, sz.serial);
	} else if (rc == 0 && (!cur || cur->serial != sz.serial)) {
		uint32_t was = cur ? cur->serial : 0;
		if (change_load_zone(c, &sz) == 0)
			log_info("zone %s: serial %u -> %u, written by another ternd on the store", name, was,
			         sz.serial);
	} else if (rc == TERN_ENOTFOUND && cur) {
		/* deleted there: its last serial, kept for the name, is the one served (a zone of the
		 * configuration of the same name would not have it) */
		uint32_t past;
		if (store_zone_past_serial(store_latest(c->store), apex, &past, err, sizeof(err)) == 0 &&
		    past == cur->serial) {
			change_dnssec_forget(c, apex);
			if (zones_remove(c->zones, apex) == 0)
				log_info("zone %s: deleted by another ternd on the store", name);
		}
	} else if (rc < 0 && rc != TERN_ENOTFOUND) {
		log_warning("zone %s: another ternd changed it, and the store cannot be read: %s", name, err);
	}
	change_unlock(c);
}

static int follow_row(const struct store_zone *z, void *arg)
{
	struct change *c = arg;
	const struct zone *cur = zones_get(c->zones, z->apex); /* this thread is an online reader */
	if (!cur || cur->serial != z->serial) /* the listing's serial: most zones need nothing more */
		follow_zone(c, z->apex);
	return 0;
}

/* store_watch's callback, on the store's thread (an online RCU reader). */
static void follow(const uint8_t *apex, void *arg)
{
	struct change *c = arg;
	if (apex) {
		follow_zone(c, apex);
		return;
	}
	/* notices went unheard: every zone of the store looked at (not the ones deleted meanwhile) */
	char err[512] = "";
	struct store_page page = {0};
	int rc;
	do {
		rc = store_zone_list(store_latest(c->store), NULL, page.more ? page.next_apex : NULL, 1000, follow_row,
		                     c, &page, err, sizeof(err));
	} while (rc == 0 && page.more);
	if (rc < 0)
		log_warning("store: the zones other ternd changed cannot be listed: %s", err);
}

int change_watch(struct change *c, char *err, size_t errlen)
{
	atomic_store(&c->following, true); /* before the first notice can come */
	int rc = store_watch(c->store, follow, c, err, errlen);
	if (rc <= 0) /* failed, or one process has the store: nothing to follow */
		atomic_store(&c->following, false);
	return rc < 0 ? rc : 0;
}

void change_unwatch(struct change *c)
{
	if (atomic_load(&c->following) && c->store)
		store_watch(c->store, NULL, NULL, NULL, 0);
	atomic_store(&c->following, false);
}
