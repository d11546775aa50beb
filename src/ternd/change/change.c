/* The one write path (change.h): changes checked against the zone's rules, stored with the new
 * serial, a journal entry and a proposal's status in one durable transaction, then published;
 * zones created, deleted and locked the same way. A failure at any step is reported, never
 * ignored. */
#include "ternd/change/change.h"
#include "ternd/change/change_impl.h"

#include <stdarg.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"

void change_trim_heap(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

void change_init(struct change *c, struct zones *zones, struct store *store, unsigned journal_keep)
{
	c->zones = zones;
	c->store = store;
	c->journal_keep = journal_keep;
	atomic_init(&c->intree_interval, 0);
	c->signer = NULL;
	c->signals = NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->group_lock, NULL);
	c->queue = NULL;
	c->queue_tail = &c->queue;
	c->leading = false;
	atomic_init(&c->groups, 0);
	atomic_init(&c->grouped, 0);
	atomic_init(&c->following, false);
	if (change_dnssec_init(c) < 0)
		log_error("DNSSEC signing is unavailable: out of memory");
}

void change_lock(struct change *c)
{
	if (pthread_mutex_trylock(&c->lock) == 0)
		return;
	bool online = rcu_read_ongoing();
	if (online)
		rcu_thread_offline();
	pthread_mutex_lock(&c->lock);
	if (online)
		rcu_thread_online();
}

void change_unlock(struct change *c)
{
	pthread_mutex_unlock(&c->lock);
}

void change_set_journal_keep(struct change *c, unsigned keep)
{
	atomic_store(&c->journal_keep, keep);
}

void change_destroy(struct change *c)
{
	change_unwatch(c); /* no other ternd's change is followed into what goes now */
	change_dnssec_destroy(c);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->group_lock);
}

int change_fail(struct change_result *r, enum change_step step, int code, const char *fmt, ...)
{
	r->step = step;
	r->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* The store failed (err says how): logged, and reported as the store's step. */
static int store_failed(struct change_result *r, const char *zone, const char *err)
{
	log_error("zone %s: the store failed: %s", zone, err);
	return change_fail(r, CHANGE_STORE, TERN_EIO, "%s", err);
}

/* Whether this write trims its zone's journal to keep entries. Finding the cut walks keep index
 * entries (about 50 us at 1,000), so a long journal is trimmed on one write in 16, picked by a
 * hash of the entry id (ids are global: a plain modulus could miss a zone written in step with
 * others for good); the journal then holds at most keep + a few dozen entries. */
static bool trim_due(int64_t entry, unsigned keep)
{
	uint64_t h = (uint64_t)entry * 0x9e3779b97f4a7c15u;
	return keep <= 64 || (h >> 60) == 0;
}

/* Appends every record of a change to an RR list (the journal's format), each with its TTL. */
static int list_add(uint8_t **buf, size_t *len, size_t *cap, const struct zone_change *c)
{
	const uint8_t *rec = c->rdata;
	for (uint16_t i = 0; i < c->count; i++, rec = rdata_next(rec)) {
		struct store_rr rr = {c->owner, c->type, c->ttls ? c->ttls[i] : c->ttl, rdata_len(rec),
		                      rdata_bytes(rec)};
		size_t need = store_rr_size(&rr);
		if (*len + need > *cap) {
			size_t ncap = (*len + need) * 2;
			uint8_t *n = realloc(*buf, ncap);
			if (!n)
				return TERN_ENOMEM;
			*buf = n;
			*cap = ncap;
		}
		if (store_rr_put(*buf, *cap, len, &rr) < 0)
			return TERN_ENOMEM;
	}
	return 0;
}

/* The journal entry's two RR lists, filled RRset by RRset from zone_diff(). */
struct journal_lists {
	uint8_t *removed, *added;
	size_t rlen, rcap, alen, acap;
};

/* One RRset that differs, whole on both sides: for RRSIG every signature at the name as it was and
 * as it becomes, each record with its own TTL (a secondary applying the entry ends with each
 * covered type's signatures at their TTL). */
static int journal_rrset(void *arg, const uint8_t *owner, uint16_t type, const struct zone_change *old,
                         const struct zone_change *now)
{
	struct journal_lists *j = arg;
	(void)owner;
	(void)type;
	if (old && list_add(&j->removed, &j->rlen, &j->rcap, old) < 0)
		return TERN_ENOMEM;
	if (now && list_add(&j->added, &j->alen, &j->acap, now) < 0)
		return TERN_ENOMEM;
	return 0;
}

/* A journal entry of more records than this, and more than half the records of the version it
 * leads to, is stored as a whole-zone replacement (store.h: no RR lists): an import into an empty
 * zone or a whole-zone signing. Its lists would be near the size of the zone (about 2M records on a
 * 1M-RR zone signed), held in memory twice over while stored (the lists, then SQLite's row), and an
 * IXFR carrying them is no smaller than the AXFR a secondary gets instead (RFC 1995 4). */
#define JOURNAL_WHOLE_MIN 10000

static int journal_count(void *arg, const uint8_t *owner, uint16_t type, const struct zone_change *old,
                         const struct zone_change *now)
{
	size_t *records = arg;
	(void)owner;
	(void)type;
	*records += (old ? old->count : 0) + (now ? now->count : 0);
	return 0;
}

/* The journal entry from cur to next (list: the changes applied), into *j; empty lists when the
 * change is a whole-zone replacement (JOURNAL_WHOLE_MIN). Counting first costs a walk of the
 * changed RRsets but no memory. */
static int journal_make(const struct zone *cur, const struct zone *next, const struct zone_change *list, size_t n,
                        struct journal_lists *j)
{
	size_t records = 0;
	int rc = zone_diff(cur, next, list, n, journal_count, &records);
	if (rc < 0 || (records > JOURNAL_WHOLE_MIN && records > next->nrecords / 2))
		return rc;
	return zone_diff(cur, next, list, n, journal_rrset, j);
}

/* A SOA change gives the fields of the zone's one SOA record: one record, at the apex (the
 * server's SOA that change_set_make() adds would otherwise hide a deletion or a second record). */
static int check_soa(const struct zone *cur, const struct change_rrset *ch, size_t n, const char *zone,
                     struct change_result *r)
{
	for (size_t i = 0; i < n; i++) {
		if (ch[i].type != RR_SOA || (ch[i].count == 1 && name_equal(ch[i].owner, cur->apex)))
			continue;
		r->index = i;
		if (ch[i].count == 0)
			return change_fail(r, CHANGE_REFUSED, TERN_EZONE,
			                   "the SOA record at the apex %s cannot be removed", zone);
		return change_fail(r, CHANGE_REFUSED, TERN_EZONE, "a zone has one SOA record, at its apex %s", zone);
	}
	return 0;
}

/* Inside the transaction: the zone is there and open to writes, and the proposal (if any) is
 * this zone's and still pending. *zone gets the zone's row. */
static int check_rows(struct store_txn *t, const struct change_request *rq, const char *name, struct store_zone *zone,
                      struct change_result *r)
{
	char err[512] = "";
	int rc = store_zone_get(t, rq->apex, zone, err, sizeof(err));
	if (rc == TERN_ENOTFOUND)
		return change_fail(r, CHANGE_ZONE, rc, "no zone %s", name);
	if (rc < 0)
		return store_failed(r, name, err);
	if (zone->locked)
		return change_fail(r, CHANGE_ZONE, TERN_EBUSY, "zone is locked: %s", zone->lock_reason);
	if (rq->proposal <= 0)
		return 0;
	struct store_proposal p = {0};
	rc = store_proposal_get(t, rq->proposal, &p, err, sizeof(err));
	if (rc == 0 && !name_equal(p.zone, rq->apex))
		rc = TERN_ENOTFOUND;
	if (rc == TERN_ENOTFOUND)
		rc = change_fail(r, CHANGE_PROPOSAL, rc, "no proposal %lld in this zone", (long long)rq->proposal);
	else if (rc < 0)
		rc = store_failed(r, name, err);
	else if (p.status != STORE_PROPOSAL_PENDING)
		rc = change_fail(r, CHANGE_PROPOSAL, TERN_EINVAL, "proposal %lld is %s, not pending",
		                 (long long)rq->proposal, store_proposal_status_name(p.status));
	store_proposal_clear(&p);
	return rc;
}

/* Every row of the write, in the open transaction t: the RRsets, the serial, the journal entry
 * (trimmed now and then) and the proposal's status. */
static int store_write(struct change *c, struct store_txn *t, const struct change_request *rq,
                       const struct zone_change *list, size_t n, const struct store_journal_entry *e, const char *name,
                       struct change_result *r)
{
	char err[512] = "";
	for (size_t i = 0; i < n; i++) {
		const struct zone_change *x = &list[i];
		int rc = x->count ? store_rrset_put_ttls(t, rq->apex, x->owner, x->type, x->ttl, x->ttls, x->rdata,
		                                         x->rdata_size, err, sizeof(err))
		                  : store_rrset_delete(t, rq->apex, x->owner, x->type, err, sizeof(err));
		if (rc < 0 && rc != TERN_ENOTFOUND)
			return store_failed(r, name, err);
	}
	int64_t entry = 0;
	unsigned keep = atomic_load(&c->journal_keep);
	if (store_zone_set_serial(t, rq->apex, e->serial_to, err, sizeof(err)) < 0 ||
	    store_journal_append(t, rq->apex, e, &entry, err, sizeof(err)) < 0 ||
	    (trim_due(entry, keep) && store_journal_trim_keep(t, rq->apex, keep, err, sizeof(err)) < 0))
		return store_failed(r, name, err);
	if (rq->proposal > 0) {
		int rc =
		    store_proposal_set_status(t, rq->proposal, STORE_PROPOSAL_APPROVED, rq->reviewer, err, sizeof(err));
		if (rc == 0)
			rc = store_proposal_set_status(t, rq->proposal, STORE_PROPOSAL_APPLIED, rq->reviewer, err,
			                               sizeof(err));
		if (rc < 0) /* its state was checked in this transaction: the store failed */
			return store_failed(r, name, err);
	}
	if (rq->also) {
		int rc = rq->also(t, rq->also_arg, err, sizeof(err));
		if (rc < 0)
			return change_fail(r, CHANGE_STORE, rc, "%s", err);
	}
	return 0;
}

/* A signed zone: producer changes of the signer's types are refused (owner and type named); an
 * import's deletions of them (the file has no signatures) are dropped from *imported, whose
 * length is *nimp. */
/* Whether an import's change puts back the RRset cur holds, record for record (re-signing it would
 * only churn its signatures). */
static bool unchanged(const struct zone *cur, const struct change_rrset *x)
{
	const struct zone_node *n = zone_find(cur, x->owner, name_len(x->owner));
	const struct rrset *rs = n && x->count ? zone_node_rrset(n, x->type) : NULL;
	if (!rs || x->ttls || rs->ttl != x->ttl || rs->count != x->count || rs->rdata_size != x->rdata_size)
		return false;
	return memcmp(rs->rdata, x->rdata, x->rdata_size) == 0;
}

/* A configuration zone file's import: the RRsets it puts back as they are are dropped (they would
 * only churn the serial, or signatures), and its SOA, when its fields but the serial differ from
 * the served one or its serial is ahead of the served one (unless own_serial), is added as a SOA change. *n is updated;
 * TERN_ENOMEM leaves *ch whole. */
static int file_changes(const struct zone *cur, const struct zone *imp, bool own_serial, struct change_rrset **ch,
                        size_t *n)
{
	size_t keep = 0;
	for (size_t i = 0; i < *n; i++) {
		struct change_rrset *x = &(*ch)[i];
		if (unchanged(cur, x)) {
			free((void *)x->rdata);
			free((void *)x->ttls);
		} else {
			(*ch)[keep++] = *x;
		}
	}
	*n = keep;
	const struct rrset *fs = imp->soa, *cs = cur->soa;
	uint32_t size = fs->rdata_size;
	uint8_t *soa = malloc(size);
	if (!soa)
		return TERN_ENOMEM;
	memcpy(soa, fs->rdata, size); /* one record: its length, then the RDATA */
	/* compared without the serial, unless the file's is ahead of the served one (and may be taken) */
	if (fs->ttl == cs->ttl && size == cs->rdata_size &&
	    (own_serial || !rr_serial_newer(imp->serial, cur->serial))) {
		size_t at = 2 + rr_soa_serial_offset(soa + 2);
		memcpy(soa + at, cs->rdata + at, 4);
		if (memcmp(soa, cs->rdata, size) == 0) {
			free(soa);
			return 0;
		}
	}
	struct change_rrset *grown = realloc(*ch, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(soa);
		return TERN_ENOMEM;
	}
	*ch = grown;
	grown[*n] = (struct change_rrset){.type = RR_SOA, .count = 1, .ttl = fs->ttl, .rdata = soa, .rdata_size = size};
	memcpy(grown[*n].owner, cur->apex, name_len(cur->apex));
	(*n)++;
	return 0;
}

static int check_signer_types(const struct zone *cur, const struct change_rrset *ch, size_t n,
                              struct change_rrset **imported, size_t *nimp, struct change_result *r)
{
	size_t keep = 0;
	for (size_t i = 0; i < n; i++) {
		if (nimp && !change_dnssec_type(ch[i].type) && unchanged(cur, &ch[i])) {
			free((void *)ch[i].rdata); /* an import's RRset as it is: no change, no new signatures */
			free((void *)ch[i].ttls);
			continue;
		}
		if (!change_dnssec_type(ch[i].type)) {
			if (nimp)
				(*imported)[keep++] = ch[i];
			continue;
		}
		if (nimp && ch[i].count == 0) { /* a signer's RRset the imported file lacks: it stays */
			free((void *)ch[i].rdata);
			free((void *)ch[i].ttls);
			continue;
		}
		char owner[NAME_MAXLEN * 4 + 1], type[16];
		name_to_text(ch[i].owner, owner, sizeof(owner));
		const char *tn = rrtext_type_to_text(ch[i].type, type, sizeof(type)) < 0 ? "TYPE?" : type;
		if (nimp) { /* the rest of the list is freed as the import's */
			for (size_t j = i; j < n; j++)
				(*imported)[keep++] = ch[j];
			*nimp = keep;
			r->index = CHANGE_NO_INDEX;
		} else {
			r->index = i;
		}
		return change_fail(
		    r, CHANGE_REFUSED, TERN_EZONE,
		    "%s %s: the zone is signed, and its %s records are the signer's (they cannot be changed)", owner,
		    tn, tn);
	}
	if (nimp)
		*nimp = keep;
	return 0;
}

/* A zone signed downstream holds no DNSSEC records: its secondaries sign it. */
static int check_downstream_types(const struct change_rrset *ch, size_t n, bool import, struct change_result *r)
{
	for (size_t i = 0; i < n; i++) {
		if (!change_dnssec_type(ch[i].type))
			continue;
		char owner[NAME_MAXLEN * 4 + 1], type[16];
		name_to_text(ch[i].owner, owner, sizeof(owner));
		const char *tn = rrtext_type_to_text(ch[i].type, type, sizeof(type)) < 0 ? "TYPE?" : type;
		r->index = import ? CHANGE_NO_INDEX : i;
		return change_fail(r, CHANGE_REFUSED, TERN_EZONE,
		                   "%s %s: a zone signed downstream holds no %s records (its secondaries sign it)",
		                   owner, tn, tn);
	}
	return 0;
}

struct dnssec_scan {
	char *msg;
	size_t msglen;
};

/* zone_foreach(): 1 (message set) at the first DNSSEC RRset of the zone. */
static int node_dnssec(void *arg, const struct zone_node *n)
{
	struct dnssec_scan *ds = arg;
	for (uint16_t k = 0; k < n->nrrsets; k++) {
		if (!change_dnssec_type(n->rrsets[k].type))
			continue;
		char owner[NAME_MAXLEN * 4 + 1], type[16];
		name_to_text(n->owner, owner, sizeof(owner));
		const char *tn = rrtext_type_to_text(n->rrsets[k].type, type, sizeof(type)) < 0 ? "TYPE?" : type;
		snprintf(ds->msg, ds->msglen,
		         "%s %s: a zone signed downstream holds no %s records (its secondaries sign it)", owner, tn,
		         tn);
		return 1;
	}
	return 0;
}

/* One request of a group (change_commit): the producer's, on its stack while it waits. */
struct change_waiter {
	const struct change_request *rq;
	struct change_result *r;
	struct change_waiter *next;
	bool done; /* under c->group_lock: r holds the answer */
	bool lead; /* under c->group_lock: this producer writes the next group */
	pthread_cond_t wake; /* signalled when done or lead is set */
	/* the leader's, while it writes the group */
	struct zone *version; /* to serve once the group is durable; NULL: nothing to serve */
	uint32_t serial;
	bool ok; /* its writes are in the group's transaction (or it had nothing to write) */
	char name[NAME_MAXLEN * 4 + 1];
};

/* Steps 1-9 of one request in the group's open transaction t (behind the caller's savepoint):
 * on success w->version is the version to serve once t is committed, w->serial its serial (an
 * import that changes nothing: no version, r->serial the served one); on failure w->r says why
 * and the caller undoes the savepoint. Under c->lock. */
static int commit_prepare(struct change *c, struct store_txn *t, struct change_waiter *w)
{
	const struct change_request *rq = w->rq;
	struct change_result *r = w->r;
	const char *name = w->name;
	struct change_rrset *imported = NULL;
	const struct change_rrset *ch = rq->rrsets;
	size_t n = rq->n;
	struct change_set set = {0};
	struct journal_lists jl = {0};
	struct zone *next = NULL;
	struct store_zone zone;
	struct nsec_changes signed_out = {0};
	const struct zone *cur = zones_get(c->zones, rq->apex);
	if (!cur) {
		change_fail(r, CHANGE_UNSERVED, TERN_ENOTFOUND,
		            "zone %s is not being served (it failed to load at start: see the log)", name);
		goto out;
	}
	if (rq->if_serial && cur->serial != rq->serial) {
		change_fail(r, CHANGE_STALE, TERN_EBUSY,
		            "zone %s changed (serial %u, not %u) since the changes were made", name, cur->serial,
		            rq->serial);
		goto out;
	}
	/* an import: the changes from the version served when the write starts, under the lock */
	if (rq->import) {
		if ((rq->import_base ? change_import_delta(rq->import_base, rq->import, &imported, &n)
		                     : change_import(cur, rq->import, &imported, &n)) < 0) {
			change_fail(r, CHANGE_APPLY, TERN_ENOMEM, "import failed: out of memory");
			goto out;
		}
		if (rq->zone_file && file_changes(cur, rq->import, rq->own_serial, &imported, &n) < 0) {
			r->changes = n;
			change_fail(r, CHANGE_APPLY, TERN_ENOMEM, "import failed: out of memory");
			goto out;
		}
		ch = imported;
		r->changes = n;
	}
	if (check_soa(cur, ch, n, name, r) < 0)
		goto out;
	/* the in-tree promise a producer writes is one RFC 3339 date-time (a zone file's is the
	 * configuration's, change_config_intree) */
	if (!rq->import && change_intree_check(rq->apex, ch, n, r) < 0)
		goto out;
	struct signed_zone *sz = change_dnssec_find(c, rq->apex);
	if (sz && (change_dnssec_check_write(sz, r) < 0 ||
	           check_signer_types(cur, ch, n, &imported, rq->import ? &r->changes : NULL, r) < 0 ||
	           change_dnssec_check_ttls(sz, rq->import ? imported : ch, rq->import ? r->changes : n,
	                                    rq->import != NULL, r) < 0))
		goto out;
	if (rq->import) {
		ch = imported;
		n = r->changes;
	}
	if (rq->import && rq->zone_file && n == 0) { /* the file as served: nothing to write */
		r->serial = cur->serial;
		w->ok = true;
		goto out;
	}
	if (check_rows(t, rq, name, &zone, r) < 0)
		goto out;
	/* another ternd on the store wrote the zone since this one's version (its notice is on the way,
	 * waiting for c->lock: change_follow.c): a next version made from this one would lose that write */
	if (atomic_load(&c->following) && zone.serial != cur->serial) {
		change_fail(r, CHANGE_STORE, TERN_EBUSY,
		            "zone %s was changed by another ternd on the store (serial %u there, %u here): try again",
		            name, zone.serial, cur->serial);
		goto out;
	}
	if (zone.signed_downstream && check_downstream_types(ch, n, rq->import != NULL, r) < 0)
		goto out;
	/* the SOA with the next serial rides along with every change (a SOA change from the
	 * producer replaces the current one, serial excepted) */
	uint32_t serial = change_next_serial(cur->serial, zone.serial_policy, time(NULL));
	if (rq->import && rq->zone_file && !rq->own_serial && rr_serial_newer(rq->import->serial, serial))
		serial = rq->import->serial; /* the file's own serial, when the operator moved it ahead */
	if (change_set_make(cur, ch, n, serial, &set) < 0) {
		change_fail(r, CHANGE_APPLY, TERN_ENOMEM, "out of memory");
		goto out;
	}
	struct zone_apply_error ae;
	int rc = zone_apply(cur, set.all, set.n, &next, &ae);
	if (rc < 0) {
		if (rc == TERN_EZONE && ae.change < set.n && !rq->import)
			r->index = set.from[ae.change];
		change_fail(r, rc == TERN_EZONE ? CHANGE_REFUSED : CHANGE_APPLY, rc, "%s",
		            ae.msg[0] ? ae.msg : tern_strerror(rc));
		goto out;
	}
	/* a signed zone: the changes signed (data, the chain, signatures), and that version instead */
	const struct zone_change *list = set.all;
	size_t nlist = set.n;
	if (sz && change_dnssec_live(sz)) {
		zone_discard(next);
		next = NULL;
		if (change_dnssec_resign(c, sz, cur, set.all, set.n, &signed_out, &next, r) < 0)
			goto out;
		list = signed_out.v;
		nlist = signed_out.n;
	}
	/* the journal: the RRsets that differ between the served version and the next, as they were
	 * and as they become (RFC 1995), so the previous version plus the entry is the next one (an
	 * import journals only the RRsets the file changes) */
	rc = journal_make(cur, next, list, nlist, &jl);
	if (rc < 0) {
		change_fail(r, CHANGE_JOURNAL, rc, "%s", tern_strerror(rc));
		goto out;
	}
	struct store_journal_entry e = {.serial_from = cur->serial,
	                                .serial_to = serial,
	                                .principal = rq->principal,
	                                .removed = jl.removed,
	                                .removed_len = jl.rlen,
	                                .added = jl.added,
	                                .added_len = jl.alen};
	if (store_write(c, t, rq, list, nlist, &e, name, r) < 0)
		goto out;
	change_dnssec_intree_written(c, sz, ch, n); /* in-tree-expiring judged again */
	w->version = next;
	next = NULL;
	w->serial = serial;
	w->ok = true;
out:
	zone_discard(next);
	change_set_free(&set);
	nsec_changes_free(&signed_out);
	free(jl.removed);
	free(jl.added);
	change_rrsets_free(imported, r->changes);
	return r->code;
}

/* Whether a request before w in the group [first, w) writes w's zone. */
static bool group_has_zone(const struct change_waiter *first, const struct change_waiter *w)
{
	for (; first != w; first = first->next)
		if (name_equal(first->rq->apex, w->rq->apex))
			return true;
	return false;
}

/* The group [first, end) could not be made durable (err): none of it is served. */
static void group_failed(struct change_waiter *first, struct change_waiter *end, const char *err)
{
	for (struct change_waiter *w = first; w != end; w = w->next) {
		if (!w->ok)
			continue;
		zone_discard(w->version);
		w->version = NULL;
		w->ok = false;
		store_failed(w->r, w->name, err);
	}
}

/* The leader writes the requests of list, a group (one transaction) after another. */
static void group_write(struct change *c, struct change_waiter *list)
{
	change_lock(c);
	struct change_waiter *w = list;
	while (w) {
		char err[512] = "";
		struct store_txn *t = NULL;
		struct change_waiter *first = w, *end = w;
		if (store_begin(c->store, &t, err, sizeof(err)) < 0) {
			for (; w; w = w->next)
				store_failed(w->r, w->name, err);
			break;
		}
		bool broken = false; /* the transaction is unusable: the group fails whole */
		for (; end; end = end->next) {
			bool signed_zone = change_dnssec_find(c, end->rq->apex) != NULL;
			if (end != first && (signed_zone || group_has_zone(first, end)))
				break;
			if (store_mark(t, STORE_MARK_SET, err, sizeof(err)) < 0) {
				if (end == first) { /* no group to retry it in: it fails */
					store_failed(end->r, end->name, err);
					end = end->next;
				}
				broken = true;
				break;
			}
			if (commit_prepare(c, t, end) < 0) {
				if (store_mark(t, STORE_MARK_UNDO, err, sizeof(err)) < 0) {
					end = end->next; /* it has its answer already */
					broken = true;
					break;
				}
			} else if (store_mark(t, STORE_MARK_KEEP, err, sizeof(err)) < 0) {
				end = end->next;
				broken = true;
				break;
			}
			if (signed_zone) {
				end = end->next;
				break;
			}
		}
		int rc = 0;
		if (broken) {
			store_rollback(t);
			rc = -1;
		} else {
			rc = store_commit(t, err, sizeof(err)); /* frees t, done or not */
		}
		if (rc < 0)
			group_failed(first, end, err);
		else {
			uint64_t n = 0;
			/* durable now: serve each, then answer (a version of a zone served replaces it in place) */
			for (struct change_waiter *x = first; x != end; x = x->next, n++) {
				if (!x->ok || !x->version)
					continue;
				rc = zones_publish(c->zones, x->version);
				x->version = NULL; /* taken over either way */
				if (rc < 0) {
					log_error("zone %s: serial %u stored but not served: %s", x->name, x->serial,
					          tern_strerror(rc));
					change_fail(x->r, CHANGE_PUBLISH, rc,
					            "serial %u is stored but could not be served: %s", x->serial,
					            tern_strerror(rc));
					continue;
				}
				x->r->serial = x->serial;
			}
			atomic_fetch_add(&c->groups, 1);
			atomic_fetch_add(&c->grouped, n);
		}
		w = end;
	}
	change_unlock(c);
}

/* Waits on w's own condition variable (under c->group_lock); an online RCU reader waits offline,
 * as in change_lock: the leader may wait for a grace period. */
static void group_wait(struct change *c, struct change_waiter *w)
{
	bool online = rcu_read_ongoing();
	if (online)
		rcu_thread_offline();
	pthread_cond_wait(&w->wake, &c->group_lock);
	if (online)
		rcu_thread_online(); /* does not block: fine under group_lock */
}

int change_commit(struct change *c, const struct change_request *rq, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	struct change_waiter me = {.rq = rq, .r = r};
	name_to_text(rq->apex, me.name, sizeof(me.name));
	pthread_cond_init(&me.wake, NULL);
	pthread_mutex_lock(&c->group_lock);
	/* me stays queued only while this call waits: the leader takes it off before it is done */
	*c->queue_tail = &me;
	// cppcheck-suppress autoVariables
	c->queue_tail = &me.next;
	if (!c->leading) /* no group running: the queue is this request alone */
		c->leading = me.lead = true;
	while (!me.done) {
		if (!me.lead) {
			group_wait(c, &me);
			continue;
		}
		/* lead the next group: up to CHANGE_GROUP_MAX of the queue, oldest first (this request,
		 * at its head, among them) */
		struct change_waiter *list = c->queue, *last = list;
		for (unsigned k = 1; k < CHANGE_GROUP_MAX && last->next; k++)
			last = last->next;
		c->queue = last->next;
		if (!c->queue)
			c->queue_tail = &c->queue;
		last->next = NULL;
		pthread_mutex_unlock(&c->group_lock);
		group_write(c, list);
		pthread_mutex_lock(&c->group_lock);
		/* each producer woken alone (its own condition variable: no herd waking to wait again) */
		for (struct change_waiter *x = list, *nx; x; x = nx) {
			nx = x->next; /* x's owner may return as soon as it sees done */
			x->done = true;
			if (x != &me)
				pthread_cond_signal(&x->wake);
		}
		me.lead = false;
		if (c->queue) { /* the oldest waiting leads the next group */
			c->queue->lead = true;
			pthread_cond_signal(&c->queue->wake);
		} else {
			c->leading = false;
		}
	}
	pthread_mutex_unlock(&c->group_lock);
	pthread_cond_destroy(&me.wake);
	return r->code;
}

int change_write_version(struct change *c, const uint8_t *apex, const struct zone *cur, struct zone *next,
                         const struct zone_change *list, size_t n, uint32_t serial, const char *principal,
                         change_rows_fn rows, void *rows_arg, struct change_result *r)
{
	char name[NAME_MAXLEN * 4 + 1], err[512] = "";
	name_to_text(apex, name, sizeof(name));
	struct journal_lists jl = {0};
	struct store_txn *t = NULL;
	struct store_zone zone;
	struct change_request rq = {.apex = apex, .principal = principal};
	int rc = journal_make(cur, next, list, n, &jl);
	if (rc < 0) {
		change_fail(r, CHANGE_JOURNAL, rc, "%s", tern_strerror(rc));
		goto out;
	}
	if (store_begin(c->store, &t, err, sizeof(err)) < 0) {
		store_failed(r, name, err);
		goto out;
	}
	if (check_rows(t, &rq, name, &zone, r) < 0)
		goto out;
	struct store_journal_entry e = {.serial_from = cur->serial,
	                                .serial_to = serial,
	                                .principal = principal,
	                                .removed = jl.removed,
	                                .removed_len = jl.rlen,
	                                .added = jl.added,
	                                .added_len = jl.alen};
	if (store_write(c, t, &rq, list, n, &e, name, r) < 0)
		goto out;
	if (rows && rows(t, rows_arg, err, sizeof(err)) < 0) {
		store_failed(r, name, err);
		goto out;
	}
	rc = store_commit(t, err, sizeof(err));
	t = NULL;
	if (rc < 0) {
		store_failed(r, name, err);
		goto out;
	}
	rc = zones_publish(c->zones, next);
	if (rc < 0) {
		log_error("zone %s: serial %u stored but not served: %s", name, serial, tern_strerror(rc));
		change_fail(r, CHANGE_PUBLISH, rc, "serial %u is stored but could not be served: %s", serial,
		            tern_strerror(rc));
		goto out;
	}
	next = NULL;
	r->serial = serial;
out:
	if (t)
		store_rollback(t);
	zone_discard(next);
	free(jl.removed);
	free(jl.added);
	return r->code;
}

struct store_all {
	struct store_txn *t;
	const uint8_t *apex;
	char *err;
	size_t errlen;
};

static int store_node(void *arg, const struct zone_node *n)
{
	struct store_all *s = arg;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		if (i > 0 && rs[-1].type == rs->type)
			continue; /* RRSIG: every group in one row (the store's unit is owner and type) */
		struct zone_change c;
		int rc = zone_node_change(n, rs->type, &c);
		if (rc == 0)
			rc = store_rrset_put_ttls(s->t, s->apex, n->owner, c.type, c.ttl, c.ttls, c.rdata, c.rdata_size,
			                          s->err, s->errlen);
		else
			snprintf(s->err, s->errlen, "%s", tern_strerror(rc));
		free((void *)c.rdata);
		free((void *)c.ttls);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Deletes a zone from the store in a transaction of its own; 0 or the store's code. */
static int store_delete(struct change *c, const uint8_t *apex, char *err, size_t errlen)
{
	struct store_txn *t = NULL;
	int rc = store_begin(c->store, &t, err, errlen);
	if (rc == 0 && (rc = store_zone_delete(t, apex, err, errlen)) < 0)
		store_rollback(t);
	if (rc == 0)
		rc = store_commit(t, err, errlen);
	return rc;
}

int change_create(struct change *c, struct store_zone *sz, struct zone *z, struct change_result *r)
{
	return change_create_many(c, sz, &z, 1, r);
}

/* Frees zs[from..n) (what was not handed to zones_publish()). */
static void free_zones(struct zone **zs, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		zone_free(zs[i]);
		zs[i] = NULL;
	}
}

int change_create_many(struct change *c, struct store_zone *sz, struct zone **zs, size_t n, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	char why[sizeof(r->msg)] = "";
	for (size_t i = 0; i < n; i++) {
		if (sz[i].signed_downstream &&
		    zone_foreach(zs[i], node_dnssec, &(struct dnssec_scan){why, sizeof(why)}) == 1) {
			change_fail(r, CHANGE_REFUSED, TERN_EZONE, "%s", why);
			r->index = i;
			free_zones(zs, 0, n);
			return r->code;
		}
	}
	char name[NAME_MAXLEN * 4 + 1], err[512] = "";
	struct store_txn *t = NULL;
	size_t i = 0;
	name_to_text(sz[0].apex, name, sizeof(name));
	change_lock(c);
	int rc = store_begin(c->store, &t, err, sizeof(err));
	for (; rc == 0 && i < n; i++) {
		name_to_text(sz[i].apex, name, sizeof(name));
		rc = store_zone_create(t, &sz[i], err, sizeof(err));
		if (rc == TERN_EEXIST) {
			change_fail(r, CHANGE_ZONE, rc, "zone %s already exists", name);
			goto refused;
		}
		if (rc == TERN_EINVAL) { /* deleted again since its past serial was read */
			change_fail(r, CHANGE_ZONE, rc, "%s", err);
			goto refused;
		}
		if (rc == 0)
			rc = zone_foreach(zs[i], store_node, &(struct store_all){t, sz[i].apex, err, sizeof(err)});
	}
	if (rc == 0) {
		rc = store_commit(t, err, sizeof(err));
		t = NULL;
	}
	if (rc < 0) {
		if (n > 1) /* the zone it stopped at (the last for the commit) */
			r->index = i ? i - 1 : 0;
		store_failed(r, name, err);
		goto out;
	}
	r->serial = zs[n - 1]->serial;
	/* durable now: serve them before the producer hears it is done */
	for (i = 0; i < n; i++) {
		rc = zones_publish(c->zones, zs[i]);
		if (rc < 0)
			break;
		zs[i] = NULL;
	}
	if (i < n) { /* not served: they must not stay stored either, or they could not be created again */
		name_to_text(sz[i].apex, name, sizeof(name));
		r->index = n > 1 ? i : CHANGE_NO_INDEX;
		char derr[512] = "";
		size_t undeleted = 0;
		for (size_t k = i; k < n; k++)
			if (store_delete(c, sz[k].apex, derr, sizeof(derr)) < 0)
				undeleted++;
		if (undeleted == 0) {
			change_fail(r, CHANGE_PUBLISH, rc, "zone %s could not be served (%s): it was not created%s",
			            name, tern_strerror(rc), n - i > 1 ? ", nor were those after it" : "");
		} else {
			log_error("zone %s: stored but not served (%s), and %zu zone(s) not deleted again: %s", name,
			          tern_strerror(rc), undeleted, derr);
			change_fail(r, CHANGE_PUBLISH, rc,
			            "zone %s is stored but could not be served (%s) nor deleted again: %s", name,
			            tern_strerror(rc), derr);
		}
	}
	goto out;
refused:
	r->index = n > 1 ? i : CHANGE_NO_INDEX;
out:
	if (t)
		store_rollback(t);
	free_zones(zs, 0, n);
	change_unlock(c);
	return r->code;
}

int change_delete(struct change *c, const uint8_t *apex, struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	char name[NAME_MAXLEN * 4 + 1], err[512] = "";
	name_to_text(apex, name, sizeof(name));
	change_lock(c);
	int rc = store_delete(c, apex, err, sizeof(err));
	if (rc == TERN_ENOTFOUND) {
		change_fail(r, CHANGE_ZONE, rc, "%s", err);
	} else if (rc < 0) {
		store_failed(r, name, err);
	} else {
		change_dnssec_forget(c, apex);
		/* a zone that failed to load at start is not served: nothing to take out */
		rc = zones_remove(c->zones, apex);
		if (rc < 0 && rc != TERN_ENOTFOUND) {
			log_error("zone %s: deleted from the store but still served: %s", name, tern_strerror(rc));
			change_fail(r, CHANGE_PUBLISH, rc,
			            "zone %s is deleted but could not stop being served (%s) until restart", name,
			            tern_strerror(rc));
		}
	}
	change_unlock(c);
	return r->code;
}

int change_begin_zone(struct change *c, const uint8_t *apex, const char *name, struct store_txn **tp,
                      struct store_zone *row, struct change_result *r, char *err, size_t errlen)
{
	int rc = store_begin(c->store, tp, err, errlen);
	if (rc == 0)
		rc = store_zone_get(*tp, apex, row, err, errlen);
	if (rc == TERN_ENOTFOUND) {
		change_fail(r, CHANGE_ZONE, rc, "no zone %s", name);
		return 1;
	}
	if (rc == 0 && row->locked) {
		change_fail(r, CHANGE_ZONE, TERN_EBUSY, "zone is locked: %s", row->lock_reason);
		return 1;
	}
	return rc;
}

int change_set_downstream(struct change *c, const uint8_t *apex, bool on, struct store_zone *out,
                          struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	char name[NAME_MAXLEN * 4 + 1], err[512] = "";
	name_to_text(apex, name, sizeof(name));
	struct store_txn *t = NULL;
	struct store_zone row = {0};
	struct store_dnssec d;
	change_lock(c);
	int rc = store_begin(c->store, &t, err, sizeof(err));
	if (rc == 0)
		rc = store_zone_get(t, apex, &row, err, sizeof(err));
	if (rc == 0 && row.locked) {
		change_fail(r, CHANGE_ZONE, TERN_EBUSY, "zone is locked: %s", row.lock_reason);
		goto refused;
	}
	if (rc == 0 && on && !row.signed_downstream) {
		rc = store_dnssec_get(t, apex, &d, err, sizeof(err));
		if (rc == 0) {
			change_fail(r, CHANGE_ZONE, TERN_EEXIST,
			            "zone %s is signed by Tern (DNSSEC %s): it cannot be signed downstream as well "
			            "(Tern does not turn its signing off yet)",
			            name, d.state == STORE_DNSSEC_SIGNED ? "signed" : "signing");
			goto refused;
		}
		if (rc == TERN_ENOTFOUND)
			rc = 0;
		const struct zone *cur = zones_get(c->zones, apex);
		if (rc == 0 && cur &&
		    zone_foreach(cur, node_dnssec, &(struct dnssec_scan){r->msg, sizeof(r->msg)}) == 1) {
			r->step = CHANGE_REFUSED;
			r->code = TERN_EZONE;
			goto refused;
		}
	}
	if (rc == 0)
		rc = store_zone_set_downstream(t, apex, on, err, sizeof(err));
	if (rc < 0) {
		store_rollback(t);
	} else {
		rc = store_commit(t, err, sizeof(err));
		if (rc == 0)
			rc = store_zone_get(store_latest(c->store), apex, out, err, sizeof(err));
	}
	if (rc == TERN_ENOTFOUND)
		change_fail(r, CHANGE_ZONE, rc, "%s", err);
	else if (rc < 0)
		store_failed(r, name, err);
	change_unlock(c);
	return r->code;
refused:
	store_rollback(t);
	change_unlock(c);
	return r->code;
}

int change_lock_zone(struct change *c, const uint8_t *apex, const char *reason, struct store_zone *out,
                     struct change_result *r)
{
	*r = (struct change_result){.index = CHANGE_NO_INDEX};
	char name[NAME_MAXLEN * 4 + 1], err[512] = "";
	name_to_text(apex, name, sizeof(name));
	struct store_txn *t = NULL;
	change_lock(c);
	int rc = store_begin(c->store, &t, err, sizeof(err));
	if (rc == 0)
		rc = reason ? store_zone_lock(t, apex, reason, err, sizeof(err))
		            : store_zone_unlock(t, apex, err, sizeof(err));
	if (rc < 0) {
		store_rollback(t);
	} else {
		rc = store_commit(t, err, sizeof(err));
		if (rc == 0 && !reason)
			change_dnssec_kick(c, apex); /* a signing that met the lock need not wait for its retry */
		if (rc == 0)
			rc = store_zone_get(store_latest(c->store), apex, out, err, sizeof(err));
	}
	if (rc == TERN_ENOTFOUND)
		change_fail(r, CHANGE_ZONE, rc, "%s", err);
	else if (rc < 0)
		store_failed(r, name, err);
	change_unlock(c);
	return r->code;
}
