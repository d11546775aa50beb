/* The query path's view of the secondary zones: two immutable RCU tables (every zone by apex, for
 * NOTIFY; the zones configured but not served, for SERVFAIL + EDE), rebuilt and swapped whole.
 *
 * Expiry: an expired zone is taken out of srv->zones (zones_remove) and entered in the
 * "unavailable" table, so the query path answers SERVFAIL with EDE 24 (Invalid Data, RFC 8914
 * 4.25: "its most recent zone being too old or having expired") for names in it, and EDE 14 (Not
 * Ready) for a zone that never loaded. The table pointer is NULL while every zone is served, so
 * the query path pays one pointer load.
 *
 * NOTIFY: the query path finds the zone in the RCU table, checks the sender is a primary, sets
 * the zone's atomic flag and, when the flag was clear, pushes the zone on x->notified and sends
 * the refresh thread's wake-up (ev_async_send: one eventfd write at most); the thread takes that
 * list and turns its zones into refreshes due now. No lock, no allocation on the query side. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/edns.h"
#include "lib/error.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/xfrin/xfrin_impl.h"

static struct xfrin_table *table_build(struct xfrin *x, bool gone)
{
	size_t n = 0;
	for (size_t i = 0; i < x->nzones; i++)
		n += !gone || !x->zones[i]->serving;
	if (gone && n == 0)
		return NULL;
	uint32_t size = 8;
	while (size < n * 2)
		size <<= 1;
	struct xfrin_table *t = calloc(1, sizeof(*t) + size * sizeof(t->slot[0]));
	if (!t)
		return NULL;
	t->mask = size - 1;
	for (size_t i = 0; i < x->nzones; i++) {
		struct xfrin_zone *z = x->zones[i];
		if (gone && z->serving)
			continue;
		uint32_t h = z->hash & t->mask;
		while (t->slot[h].z)
			h = (h + 1) & t->mask;
		t->slot[h].z = z;
		t->slot[h].ede = z->state == XFRIN_EXPIRED ? EDE_INVALID_DATA : EDE_NOT_READY;
		t->n++;
	}
	return t;
}

static int table_find(const struct xfrin_table *t, const uint8_t *lname, size_t len, uint32_t hash)
{
	for (uint32_t h = hash & t->mask; t->slot[h].z; h = (h + 1) & t->mask)
		if (t->slot[h].z->apex_len == len && memcmp(t->slot[h].z->apex, lname, len) == 0)
			return (int)h;
	return -1;
}

int xfrin_tables_publish(struct xfrin *x)
{
	struct xfrin_table *all = table_build(x, false), *gone = table_build(x, true);
	bool have_gone = false;
	for (size_t i = 0; i < x->nzones && !have_gone; i++)
		have_gone = !x->zones[i]->serving;
	if (!all || (have_gone && !gone)) {
		log_error("secondary zones: out of memory updating the query tables");
		free(all);
		free(gone);
		return TERN_ENOMEM;
	}
	x->tables_stale = false;
	log_debug("secondary zones: query tables made (%zu zones, %zu not served)", all->n, gone ? gone->n : 0);
	struct xfrin_table *old_all = rcu_xchg_pointer(&x->all, all);
	struct xfrin_table *old_gone = rcu_xchg_pointer(&x->gone, gone);
	synchronize_rcu();
	free(old_all);
	free(old_gone);
	/* every zone retired so far is in neither new table, and no reader holds an old one */
	for (struct xfrin_zone *z = x->retired; z; z = z->next_retired)
		z->life = XFRIN_UNSEEN;
	xfrin_zone_reap(x);
	return 0;
}

void xfrin_tables_later(struct xfrin *x)
{
	x->tables_stale = true;
	xfrin_loop_wake(x);
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	const uint8_t *pa, *pb;
	size_t la, lb;
	uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (a->ss_family == AF_INET) {
		pa = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
		la = 4;
	} else {
		pa = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr;
		la = 16;
	}
	if (b->sa_family == AF_INET) {
		pb = (const uint8_t *)&((const struct sockaddr_in *)b)->sin_addr;
		lb = 4;
	} else if (b->sa_family == AF_INET6) {
		pb = ((const struct sockaddr_in6 *)b)->sin6_addr.s6_addr;
		lb = 16;
	} else {
		return false;
	}
	if (la == 4 && lb == 16) { /* ::ffff:a.b.c.d is a.b.c.d */
		memcpy(mapped + 12, pa, 4);
		pa = mapped;
		la = 16;
	} else if (la == 16 && lb == 4) {
		memcpy(mapped + 12, pb, 4);
		pb = mapped;
		lb = 16;
	}
	return la == lb && memcmp(pa, pb, la) == 0;
}

enum xfrin_notify_result xfrin_notify(struct xfrin *x, const uint8_t *lname, const struct sockaddr *from,
                                      const struct tsig_key *key)
{
	if (!x)
		return XFRIN_NOTIFY_NOT_SECONDARY;
	RCU_READER_CHECK();
	const struct xfrin_table *t = rcu_dereference(x->all);
	int i = t ? table_find(t, lname, name_len(lname), name_hash(lname)) : -1;
	if (i < 0)
		return XFRIN_NOTIFY_NOT_SECONDARY;
	struct xfrin_zone *z = t->slot[i].z;
	const struct primaries *p = rcu_dereference(z->primaries);
	bool known = false;
	for (size_t k = 0; k < p->n && !known; k++)
		known = same_host(&p->addr[k].addr, from);
	if (!known)
		return XFRIN_NOTIFY_NOT_PRIMARY;
	if (p->has_key && !xfrin_same_key(&p->key, key))
		return XFRIN_NOTIFY_BADKEY;
	if (!atomic_exchange(&z->notified, true)) { /* only the reader that set it pushes z */
		struct xfrin_zone *head = atomic_load(&x->notified);
		do
			z->notified_next = head;
		while (!atomic_compare_exchange_weak(&x->notified, &head, z));
		if (!head) /* the first since the refresh thread took the list: it wakes for the lot */
			ev_async_send(&x->wake);
	}
	return XFRIN_NOTIFY_ACCEPTED;
}

size_t xfrin_primaries_of(const struct xfrin *x, const uint8_t *lname, struct sockaddr_storage *addrs, socklen_t *lens,
                          size_t cap)
{
	if (!x)
		return 0;
	RCU_READER_CHECK();
	const struct xfrin_table *t = rcu_dereference(((struct xfrin *)x)->all);
	int i = t ? table_find(t, lname, name_len(lname), name_hash(lname)) : -1;
	if (i < 0)
		return 0;
	const struct primaries *p = rcu_dereference(t->slot[i].z->primaries);
	size_t n = 0;
	for (; n < p->n && n < cap; n++) {
		addrs[n] = p->addr[n].addr;
		lens[n] = p->addr[n].addrlen;
	}
	return n;
}

/* xfrin_unavailable() once there is a table of them: apart, so that the usual call (no such zone)
 * does not pay for this one's frame. */
__attribute__((noinline)) static bool unavailable_in(const struct xfrin_table *t, const uint8_t *lname,
                                                     size_t *apex_len, uint16_t *ede)
{
	uint32_t hashes[NAME_MAXLABELS + 1];
	int labels = name_suffix_hashes(lname, hashes);
	size_t len = name_len(lname);
	for (int i = 0; i <= labels; i++) { /* deepest first */
		int k = table_find(t, lname, len, hashes[i]);
		if (k >= 0) {
			*apex_len = len;
			*ede = t->slot[k].ede;
			return true;
		}
		len -= (size_t)lname[0] + 1;
		lname += lname[0] + 1;
	}
	return false;
}

bool xfrin_unavailable(const struct xfrin *x, const uint8_t *lname, size_t *apex_len, uint16_t *ede)
{
	const struct xfrin_table *t = x ? rcu_dereference(x->gone) : NULL;
	return t ? unavailable_in(t, lname, apex_len, ede) : false;
}
