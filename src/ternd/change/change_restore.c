/* After ternd --restore: the restored store made to go on from what the secondaries may hold.
 * The backup is a moment in the past; the store it replaced (kept beside it) may have published
 * later versions, which secondaries took. For each zone the replaced store held at a newer serial,
 * two versions go through the write path: the replaced store's content at its serial (journal:
 * the backup's version -> that one), then the backup's content at the next serial (journal: that
 * one -> the backup's content). A secondary holding the later version gets the rollback by IXFR;
 * one still at the backup's version, or older, walks the journal through both. Zones signed by
 * ternd are left as restored: their content is the signer's to write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/change/change.h"
#include "ternd/base/rcu.h"
#include "ternd/change/change_impl.h"

#define PRINCIPAL "ternd --restore"

struct follow {
	struct change *c, *old;
	size_t rolled;
	char *err;
	size_t errlen;
};

/* Commits import as a whole-zone write; zone_file: take its serial when it is ahead. */
static int write_version(struct change *c, const struct zone *import, bool zone_file, char *err, size_t errlen)
{
	struct change_request rq = {
	    .apex = import->apex, .import = import, .zone_file = zone_file, .principal = PRINCIPAL};
	struct change_result r;
	if (change_commit(c, &rq, &r) < 0) {
		char name[NAME_MAXLEN * 4 + 2];
		name_to_text(import->apex, name, sizeof(name));
		snprintf(err, errlen, "zone %s: %s", name, r.msg);
		return r.code < 0 ? r.code : TERN_EIO;
	}
	return 0;
}

/* The apex of each zone served, copied (the writes below publish while the list is walked). */
struct apexes {
	uint8_t **v;
	size_t n, cap;
};

static int collect_apex(void *arg, const struct zone *z)
{
	struct apexes *a = arg;
	size_t len = name_len(z->apex);
	if (a->n == a->cap || !(a->v[a->n] = malloc(len)))
		return 1;
	memcpy(a->v[a->n++], z->apex, len);
	return 0;
}

/* The zone at apex rolled forward when the replaced store held it at a newer serial. */
static int follow_zone(struct follow *f, const uint8_t *apex)
{
	if (change_dnssec_find(f->c, apex) || change_dnssec_find(f->old, apex))
		return 0;
	struct zone *backup = NULL, *later = NULL;
	int rc = 0;
	/* copies: each write publishes a new version and the one it replaces goes */
	const struct zone *restored = zones_get(f->c->zones, apex), *was = zones_get(f->old->zones, apex);
	bool behind = restored && was && rr_serial_newer(was->serial, restored->serial);
	if (behind)
		rc = zone_with_serial(restored, restored->serial, &backup, f->err, f->errlen);
	if (behind && rc == 0)
		rc = zone_with_serial(was, was->serial, &later, f->err, f->errlen);
	if (!behind)
		return 0;
	if (rc == 0)
		rc = write_version(f->c, later, true, f->err, f->errlen);
	if (rc == 0)
		rc = write_version(f->c, backup, false, f->err, f->errlen);
	zone_free(backup);
	zone_free(later);
	f->rolled += rc == 0;
	return rc;
}

int change_restore_follow(struct change *c, struct change *old, size_t *rolled, char *err, size_t errlen)
{
	struct follow f = {.c = c, .old = old, .err = err, .errlen = errlen};
	struct apexes a = {.cap = zones_count(c->zones)};
	int rc = 0;
	*rolled = 0;
	if (a.cap && !(a.v = calloc(a.cap, sizeof(*a.v)))) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	RCU_READER_CHECK();
	if (zones_foreach(c->zones, collect_apex, &a) != 0) {
		snprintf(err, errlen, "out of memory");
		rc = TERN_ENOMEM;
	}
	for (size_t i = 0; i < a.n && rc == 0; i++)
		rc = follow_zone(&f, a.v[i]);
	for (size_t i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	*rolled = f.rolled;
	return rc;
}
