/* Secondary zones added and removed at run time: the members of a consumed catalog (catalog_in.c
 * calls these from its own thread, never from a zones listener). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/xfrin/xfrin_impl.h"

int xfrin_secondary_add(struct xfrin *x, const struct config_zone *cz)
{
	int rc = 0;
	pthread_mutex_lock(&x->lock);
	struct xfrin_zone *z = xfrin_zone_find(x, cz->apex);
	if (z && !z->runtime) {
		rc = TERN_EEXIST;
	} else if (z && !xfrin_primaries_equal(z->primaries, cz)) {
		struct primaries *p = xfrin_primaries_new(x, cz);
		if (p) {
			struct primaries *old = rcu_xchg_pointer(&z->primaries, p);
			synchronize_rcu(); /* no NOTIFY check still reads the old list */
			xfrin_primaries_free(old);
		} else {
			rc = TERN_ENOMEM;
		}
	} else if (!z && (rc = xfrin_zone_add(x, cz)) == 0) {
		x->zones[x->nzones - 1]->runtime = true;
		x->tables_now = true; /* a NOTIFY for it may come at once: no TABLES_GAP_MS wait */
		xfrin_tables_later(x);
	}
	pthread_mutex_unlock(&x->lock);
	return rc;
}

int xfrin_secondary_remove(struct xfrin *x, const uint8_t *apex)
{
	pthread_mutex_lock(&x->lock);
	struct xfrin_zone *z = xfrin_zone_find(x, apex);
	if (!z || !z->runtime) {
		pthread_mutex_unlock(&x->lock);
		return z ? TERN_EINVAL : TERN_ENOTFOUND;
	}
	xfrin_zone_retire(x, z);
	if (z->serving)
		zones_remove(x->srv->zones, z->apex);
	z->serving = false;
	if (xfrin_copies_remove(x->copies, z->file) < 0)
		log_warning("zone %s: cannot delete its disk copy %s: %s", z->name, z->file, strerror(errno));
	log_info("zone %s: no longer a secondary zone: not served any more", z->name);
	/* the next tables free z, unless a refresh holds it (then freed when it returns) */
	xfrin_tables_later(x);
	pthread_mutex_unlock(&x->lock);
	return 0;
}

bool xfrin_is_secondary(struct xfrin *x, const uint8_t *apex)
{
	pthread_mutex_lock(&x->lock);
	bool is = xfrin_zone_find(x, apex) != NULL;
	pthread_mutex_unlock(&x->lock);
	return is;
}

int xfrin_apexes(struct xfrin *x, uint8_t (**out)[NAME_MAXLEN], size_t *n)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&x->lock);
	uint8_t(*a)[NAME_MAXLEN] = x->nzones ? malloc(x->nzones * sizeof(*a)) : NULL;
	if (x->nzones && !a) {
		pthread_mutex_unlock(&x->lock);
		return TERN_ENOMEM;
	}
	for (size_t i = 0; i < x->nzones; i++)
		memcpy(a[i], x->zones[i]->apex, x->zones[i]->apex_len);
	*n = x->nzones;
	pthread_mutex_unlock(&x->lock);
	*out = a;
	return 0;
}
