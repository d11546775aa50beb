/* Secondary zones: the zone set, the refresh thread and its timers (a binary heap of deadlines),
 * expiry, reload and status. The query path sees two immutable RCU tables: every secondary zone
 * by apex (for NOTIFY), and the zones configured but not served (for SERVFAIL + EDE).
 *
 * Expiry: an expired zone is taken out of srv->zones (zones_remove) and entered in the
 * "unavailable" table, so the query path answers SERVFAIL with EDE 24 (Invalid Data, RFC 8914
 * 4.25: "its most recent zone being too old or having expired") for names in it, and EDE 14 (Not
 * Ready) for a zone that never loaded. The table pointer is NULL while every zone is served, so
 * the query path pays one pointer load.
 *
 * NOTIFY: the query path finds the zone in the RCU table, checks the sender is a primary, sets
 * the zone's atomic flag and, when the flag was clear, writes the thread's eventfd; the thread
 * turns flags into refreshes due now. No lock, no allocation on the query side.
 *
 * Locking: xfrin.lock guards the zone states, the heap and the disk copies; the thread drops it
 * while it talks to a primary. Snapshots are published (zones_publish) and copies written with
 * the lock held, so xfrin_reload() -- which marks dropped zones under the lock -- returns only
 * when nothing of a dropped zone is being touched. Since xfrin.lock is held across RCU grace
 * periods, an RCU reader (the API thread serving /healthz) must never wait for it: the status
 * each zone shows is a copy under status_lock, an inner lock never held across a grace period.
 *
 * Disk copies: written by the refresh thread as a deadline of its own in the heap, COPY_DELAY_MS
 * after a transfer and at most once per COPY_INTERVAL_MS, so changes that arrive in bursts cost one
 * copy (the whole zone as text, fsync'd) per interval instead of one per transfer, and the write
 * never sits between a NOTIFY and the next transfer. A copy still due is written at stop and
 * before the zone expires; after a crash the copy on disk is at most a second behind, and the
 * refresh at start brings the zone up to date. */
#include "ternd/xfrin/xfrin.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/tsig.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/xfrin/diskcopy.h"
#include "ternd/xfrin/pull.h"

#define TIMER_MIN 1u /* seconds: SOA timers below this are raised to it */
#define TIMER_MAX 86400u /* refresh and retry above a day are lowered to a day */
#define BACKOFF_MAX 60u /* seconds between tries while a zone has no SOA yet */
#define EDE_NOT_READY 14 /* RFC 8914 4.15 */
#define EDE_INVALID_DATA 24 /* RFC 8914 4.25 */
#define NAME_TEXT (NAME_MAXLEN * 4 + 2)
#define ERRBUF 4096
#define COPY_DELAY_MS 100u /* after a transfer, before its disk copy is written */
#define COPY_INTERVAL_MS 1000u /* between two disk copies of one zone */

/* A zone's primaries and the TSIG key spoken with them; replaced whole on reload (RCU: NOTIFY
 * checks read them). A refresh works on a private copy, so a reload never pulls the key away. */
struct primaries {
	size_t n;
	bool has_key;
	struct tsig_key key;
	struct config_listen addr[];
};

struct xfrin_zone {
	/* read by the query path */
	uint8_t apex[NAME_MAXLEN];
	uint8_t apex_len;
	uint32_t hash;
	struct primaries *primaries; /* RCU pointer */
	_Atomic bool notified; /* a primary sent NOTIFY: refresh now */
	/* the rest under xfrin.lock */
	char name[NAME_TEXT];
	char *file; /* where the copy is kept */
	enum xfrin_state state;
	bool serving; /* our snapshot is in srv->zones */
	bool busy; /* the thread is pulling it with the lock released */
	bool dropped; /* no longer configured; freed by whoever holds it last */
	bool orphan; /* dropped, but old tables may still show it (out of memory): never freed */
	bool runtime; /* added by xfrin_secondary_add() (a catalog member), not by the configuration */
	bool copy_saved; /* the disk copy holds the served version */
	uint64_t copy_at; /* CLOCK_MONOTONIC ms when the served version goes to disk; 0: nothing due */
	uint64_t copy_written; /* CLOCK_MONOTONIC ms of the last copy written */
	const struct zone *served; /* what we published, while serving */
	uint32_t serial;
	uint32_t refresh, retry, expire; /* seconds, from the served SOA */
	unsigned backoff; /* seconds to the next try while there is no SOA */
	uint64_t refresh_at, expire_at; /* CLOCK_MONOTONIC ms */
	int64_t last_transfer, last_refresh; /* Unix seconds */
	char source[96]; /* the primary the served version came from */
	char last_error[192];
	size_t heap_pos;
	struct xfrin_status st; /* what xfrin_status() shows: under status_lock */
};

/* An immutable open-addressing table of zones by apex, for the query path. */
struct table {
	uint32_t mask;
	size_t n;
	struct {
		struct xfrin_zone *z;
		uint16_t ede;
	} slot[];
};

struct xfrin {
	struct server *srv;
	pthread_mutex_t lock;
	pthread_mutex_t status_lock; /* zones[] membership and each zone's st; inside lock */
	pthread_t thread;
	bool started, stop;
	int wake; /* eventfd: NOTIFY flags set, zones added */
	int stop_fd; /* eventfd: written once, at stop */
	struct table *all; /* RCU pointer: every secondary zone */
	struct table *gone; /* RCU pointer: configured but not served; NULL when none */
	struct xfrin_zone **zones;
	size_t nzones, capzones;
	struct xfrin_zone **heap; /* by due(), earliest first */
	size_t nheap, capheap;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *xfrin_state_name(enum xfrin_state s)
{
	switch (s) {
	case XFRIN_LOADING: return "loading";
	case XFRIN_OK: return "ok";
	case XFRIN_RETRYING: return "retrying";
	case XFRIN_EXPIRED: return "expired";
	}
	return "?";
}

/* ---- tables for the query path ---- */

static struct table *table_build(struct xfrin *x, bool gone)
{
	size_t n = 0;
	for (size_t i = 0; i < x->nzones; i++)
		n += !gone || !x->zones[i]->serving;
	if (gone && n == 0)
		return NULL;
	uint32_t size = 8;
	while (size < n * 2)
		size <<= 1;
	struct table *t = calloc(1, sizeof(*t) + size * sizeof(t->slot[0]));
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

static int table_find(const struct table *t, const uint8_t *lname, size_t len, uint32_t hash)
{
	for (uint32_t h = hash & t->mask; t->slot[h].z; h = (h + 1) & t->mask)
		if (t->slot[h].z->apex_len == len && memcmp(t->slot[h].z->apex, lname, len) == 0)
			return (int)h;
	return -1;
}

/* Publishes fresh tables after zones were added, dropped, or started or stopped being served;
 * returns after a grace period, so nothing dropped before the call is still seen by a reader.
 * Out of memory, the old tables stay (TERN_ENOMEM): the caller must then keep dropped zones. */
static int publish_tables(struct xfrin *x)
{
	struct table *all = table_build(x, false), *gone = table_build(x, true);
	bool have_gone = false;
	for (size_t i = 0; i < x->nzones && !have_gone; i++)
		have_gone = !x->zones[i]->serving;
	if (!all || (have_gone && !gone)) {
		log_error("secondary zones: out of memory updating the query tables");
		free(all);
		free(gone);
		return TERN_ENOMEM;
	}
	struct table *old_all = rcu_xchg_pointer(&x->all, all);
	struct table *old_gone = rcu_xchg_pointer(&x->gone, gone);
	synchronize_rcu();
	free(old_all);
	free(old_gone);
	return 0;
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

/* Whether b (NULL: none) is the key a: the keyring's copy and ours come from one configuration, or
 * from two consecutive ones during a reload. */
static bool same_key(const struct tsig_key *a, const struct tsig_key *b)
{
	return b && a->alg == b->alg && name_equal(a->name, b->name) && a->secret_len == b->secret_len &&
	       memcmp(a->secret, b->secret, a->secret_len) == 0;
}

enum xfrin_notify_result xfrin_notify(const struct xfrin *x, const uint8_t *lname, const struct sockaddr *from,
                                      const struct tsig_key *key)
{
	if (!x)
		return XFRIN_NOTIFY_NOT_SECONDARY;
	RCU_READER_CHECK();
	const struct table *t = rcu_dereference(x->all);
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
	if (p->has_key && !same_key(&p->key, key))
		return XFRIN_NOTIFY_BADKEY;
	if (!atomic_exchange(&z->notified, true)) {
		uint64_t one = 1;
		if (write(x->wake, &one, sizeof(one)) < 0) {
			/* the counter is full, so the thread is awake anyway */
		}
	}
	return XFRIN_NOTIFY_ACCEPTED;
}

bool xfrin_unavailable(const struct xfrin *x, const uint8_t *lname, size_t *apex_len, uint16_t *ede)
{
	const struct table *t = x ? rcu_dereference(x->gone) : NULL;
	if (!t)
		return false;
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

/* ---- the heap of deadlines ---- */

static uint64_t due(const struct xfrin_zone *z)
{
	uint64_t d = z->serving && z->expire_at < z->refresh_at ? z->expire_at : z->refresh_at;
	return z->copy_at && z->copy_at < d ? z->copy_at : d;
}

static void heap_set(struct xfrin *x, size_t i, struct xfrin_zone *z)
{
	x->heap[i] = z;
	z->heap_pos = i;
}

static void heap_up(struct xfrin *x, size_t i)
{
	struct xfrin_zone *z = x->heap[i];
	while (i > 0 && due(x->heap[(i - 1) / 2]) > due(z)) {
		heap_set(x, i, x->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(x, i, z);
}

static void heap_down(struct xfrin *x, size_t i)
{
	struct xfrin_zone *z = x->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= x->nheap)
			break;
		if (c + 1 < x->nheap && due(x->heap[c + 1]) < due(x->heap[c]))
			c++;
		if (due(x->heap[c]) >= due(z))
			break;
		heap_set(x, i, x->heap[c]);
		i = c;
	}
	heap_set(x, i, z);
}

static void heap_update(struct xfrin *x, struct xfrin_zone *z)
{
	heap_up(x, z->heap_pos);
	heap_down(x, z->heap_pos);
}

static int heap_push(struct xfrin *x, struct xfrin_zone *z)
{
	if (x->nheap == x->capheap) {
		size_t ncap = x->capheap ? x->capheap * 2 : 16;
		struct xfrin_zone **h = realloc(x->heap, ncap * sizeof(*h));
		if (!h)
			return TERN_ENOMEM;
		x->heap = h;
		x->capheap = ncap;
	}
	heap_set(x, x->nheap++, z);
	heap_up(x, z->heap_pos);
	return 0;
}

static void heap_delete(struct xfrin *x, struct xfrin_zone *z)
{
	size_t i = z->heap_pos;
	struct xfrin_zone *last = x->heap[--x->nheap];
	if (i < x->nheap) {
		heap_set(x, i, last);
		heap_update(x, last);
	}
}

/* ---- zones ---- */

static void zone_destroy(struct xfrin_zone *z)
{
	free(z->primaries);
	free(z->file);
	free(z);
}

static struct primaries *primaries_new(const struct config_zone *cz)
{
	struct primaries *p = calloc(1, sizeof(*p) + cz->nprimaries * sizeof(p->addr[0]));
	if (p) {
		p->n = cz->nprimaries;
		p->has_key = cz->key != NULL;
		if (cz->key)
			p->key = *cz->key;
		memcpy(p->addr, cz->primaries, cz->nprimaries * sizeof(p->addr[0]));
	}
	return p;
}

static bool primaries_equal(const struct primaries *p, const struct config_zone *cz)
{
	return p->n == cz->nprimaries && memcmp(p->addr, cz->primaries, p->n * sizeof(p->addr[0])) == 0 &&
	       p->has_key == (cz->key != NULL) && (!cz->key || same_key(&p->key, cz->key));
}

/* Copies text, cut to fit. */
static void set_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

static uint32_t clamp(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Refresh, retry and expire from the zone's SOA. */
static void set_timers(struct xfrin_zone *z, const struct zone *zn)
{
	const uint8_t *rec = zn->soa->rdata;
	const uint8_t *t = rdata_bytes(rec) + rdata_len(rec) - 20; /* serial refresh retry expire minimum */
	z->refresh = clamp(wire_get32(t + 4), TIMER_MIN, TIMER_MAX);
	z->retry = clamp(wire_get32(t + 8), TIMER_MIN, TIMER_MAX);
	z->expire = clamp(wire_get32(t + 12), TIMER_MIN, 0x7fffffff);
}

/* Serves zn (ours: a disk copy or a transfer). Returns 0, or an error with zn freed. */
static int serve(struct xfrin *x, struct xfrin_zone *z, struct zone *zn)
{
	int rc = zones_publish(x->srv->zones, zn);
	if (rc < 0) {
		log_error("zone %s: cannot publish: %s", z->name, tern_strerror(rc));
		zone_free(zn);
		return rc;
	}
	z->served = zn;
	z->serial = zn->serial;
	set_timers(z, zn);
	return 0;
}

/* CLOCK_MONOTONIC ms to Unix seconds. */
static int64_t wall_of(uint64_t mono, uint64_t now_mono, int64_t now_wall)
{
	return now_wall + ((int64_t)mono - (int64_t)now_mono) / 1000;
}

/* Copies the zone's state where xfrin_status() reads it. Lock held. */
static void status_update(struct xfrin *x, struct xfrin_zone *z)
{
	uint64_t mono = now_ms();
	int64_t wall = (int64_t)time(NULL);
	pthread_mutex_lock(&x->status_lock);
	struct xfrin_status *s = &z->st;
	memcpy(s->apex, z->apex, z->apex_len);
	s->state = z->state;
	s->serving = z->serving;
	s->serial = z->serial;
	s->last_transfer = z->last_transfer;
	s->last_refresh = z->last_refresh;
	s->next_refresh = wall_of(z->refresh_at, mono, wall);
	s->expires = z->serving ? wall_of(z->expire_at, mono, wall) : 0;
	set_text(s->last_error, sizeof(s->last_error), z->last_error);
	pthread_mutex_unlock(&x->status_lock);
}

static void save_copy(struct xfrin_zone *z)
{
	char err[512];
	z->copy_at = 0;
	if (!z->serving || !z->served)
		return;
	int rc = diskcopy_save(z->served, z->file, z->source, z->last_transfer, err, sizeof(err));
	z->copy_saved = rc == 0;
	z->copy_written = now_ms();
	if (rc < 0)
		log_error("zone %s: disk copy not written (still served from memory): %s", z->name, err);
	else
		log_debug("zone %s: disk copy of serial %u written to %s", z->name, z->served->serial, z->file);
}

/* The served version goes to disk at the zone's next copy deadline (see the top of the file). The
 * caller updates the heap. */
static void save_copy_later(struct xfrin_zone *z, uint64_t now)
{
	z->copy_saved = false;
	if (z->copy_at)
		return;
	uint64_t at = now + COPY_DELAY_MS;
	if (z->copy_written && z->copy_written + COPY_INTERVAL_MS > at)
		at = z->copy_written + COPY_INTERVAL_MS;
	z->copy_at = at;
}

/* Reads the disk copy of a new zone and serves it when it has not expired. */
static void load_copy(struct xfrin *x, struct xfrin_zone *z)
{
	char *err = malloc(ERRBUF);
	struct zone *zn = NULL;
	int64_t transferred = 0, confirmed = 0;
	if (!err) {
		log_error("zone %s: out of memory loading its disk copy", z->name);
		return;
	}
	int rc = diskcopy_load(z->file, z->apex, &zn, &transferred, &confirmed, err, ERRBUF);
	if (rc == TERN_ENOTFOUND) {
		log_info("zone %s: no disk copy yet (%s): transferring", z->name, z->file);
	} else if (rc < 0) {
		log_error("zone %s: disk copy not loaded, transferring anew:\n%s", z->name, err);
	} else {
		int64_t age = (int64_t)time(NULL) - confirmed;
		age = age < 0 ? 0 : age;
		set_timers(z, zn);
		z->serial = zn->serial;
		z->last_transfer = transferred;
		z->last_refresh = confirmed;
		if (age >= z->expire) {
			log_warning("zone %s: disk copy serial %u was last confirmed %" PRId64
			            " s ago, beyond its SOA expire of %u s: not served until a transfer succeeds",
			            z->name, zn->serial, age, z->expire);
			zone_free(zn);
			z->state = XFRIN_EXPIRED;
		} else if (serve(x, z, zn) == 0) {
			z->serving = true;
			z->copy_saved = true;
			z->state = XFRIN_OK;
			z->expire_at = now_ms() + ((uint64_t)z->expire - (uint64_t)age) * 1000;
			set_text(z->source, sizeof(z->source), "disk copy");
			log_info("zone %s: serving the disk copy, serial %u (confirmed %" PRId64 " s ago)", z->name,
			         z->serial, age);
		}
	}
	free(err);
}

/* A new secondary zone: its disk copy served at once, a refresh due now. Lock held. */
static int zone_add(struct xfrin *x, const struct config_zone *cz)
{
	struct xfrin_zone *z = calloc(1, sizeof(*z));
	if (!z)
		return TERN_ENOMEM;
	memcpy(z->apex, cz->apex, name_len(cz->apex));
	z->apex_len = (uint8_t)name_len(cz->apex);
	z->hash = name_hash(z->apex);
	name_to_text(z->apex, z->name, sizeof(z->name));
	z->file = strdup(cz->file);
	z->primaries = primaries_new(cz);
	z->state = XFRIN_LOADING;
	z->backoff = TIMER_MIN;
	if (!z->file || !z->primaries)
		goto fail;
	if (x->nzones == x->capzones) {
		/* under status_lock: xfrin_status() (the API thread) walks zones[] holding it alone, and
		 * realloc() may free the array it walks */
		size_t ncap = x->capzones ? x->capzones * 2 : 16;
		pthread_mutex_lock(&x->status_lock);
		struct xfrin_zone **nz = realloc(x->zones, ncap * sizeof(*nz));
		if (nz) {
			x->zones = nz;
			x->capzones = ncap;
		}
		pthread_mutex_unlock(&x->status_lock);
		if (!nz)
			goto fail;
	}
	load_copy(x, z);
	z->refresh_at = now_ms();
	if (heap_push(x, z) < 0) {
		if (z->serving)
			zones_remove(x->srv->zones, z->apex);
		goto fail;
	}
	pthread_mutex_lock(&x->status_lock);
	x->zones[x->nzones++] = z;
	pthread_mutex_unlock(&x->status_lock);
	status_update(x, z);
	return 0;
fail:
	zone_destroy(z);
	return TERN_ENOMEM;
}

/* ---- refresh ---- */

enum outcome { PULL_FAILED, PULL_CURRENT, PULL_LOWER, PULL_TRANSFERRED };

/* One refresh's inputs and results, filled without the lock. */
struct job {
	uint8_t apex[NAME_MAXLEN];
	struct primaries *primaries; /* a private copy */
	bool have_copy;
	uint32_t serial; /* served */
	int stop_fd;
	enum outcome outcome;
	uint32_t remote; /* the primary's serial */
	struct zone *zone;
	bool derived; /* zone came from the served snapshot by IXFR diffs: zone_discard() if unused */
	const char *method; /* how zone came: "AXFR", "IXFR", "IXFR (whole zone)" */
	size_t ndiffs;
	struct pull_soa soa; /* the served version's, for IXFR */
	struct pull_stats stats;
	char primary[sizeof(((struct config_listen *)0)->text)];
	char err[ERRBUF];
};

/* ---- TSIG with the primaries (RFC 8945): pull.h's hooks over one tsig_ctx per exchange ---- */

struct pull_sig {
	const struct tsig_key *key;
	const char *peer; /* the primary, for messages */
	struct tsig_ctx ctx; /* the answer's chain, from the query's MAC */
	struct pull_tsig hooks;
};

static const char *tsig_error_name(uint16_t error, char buf[16])
{
	switch (error) {
	case TSIG_BADSIG: return "BADSIG";
	case TSIG_BADKEY: return "BADKEY";
	case TSIG_BADTIME: return "BADTIME";
	case TSIG_BADTRUNC: return "BADTRUNC";
	}
	snprintf(buf, 16, "error %u", error);
	return buf;
}

static int pull_sig_sign(void *arg, uint8_t *msg, size_t *len, size_t cap, char *err, size_t errlen)
{
	struct pull_sig *s = arg;
	struct tsig_ctx query;
	tsig_ctx_clear(&s->ctx); /* a previous exchange with this primary ends here */
	tsig_ctx_init(&query, s->key, NULL, 0);
	int rc = tsig_sign(msg, len, cap, &query, (uint64_t)time(NULL));
	tsig_ctx_clear(&query);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot sign the query with TSIG: %s", s->peer, tern_strerror(rc));
		return rc;
	}
	tsig_ctx_init(&s->ctx, s->key, query.prior_mac, query.prior_len);
	return 0;
}

static int pull_sig_verify(void *arg, const uint8_t *msg, size_t len, char *err, size_t errlen)
{
	struct pull_sig *s = arg;
	struct tsig_result res;
	char name[NAME_TEXT], e[16];
	int rc = tsig_verify_next(&s->ctx, msg, len, (uint64_t)time(NULL), &res);
	if (rc == 0)
		return 0;
	name_to_text(s->key->name, name, sizeof(name));
	if (rc == TERN_ENOTFOUND)
		snprintf(err, errlen, "%s: TSIG: the answer is not signed (key %s)", s->peer, name);
	else if (rc == TERN_EMALF)
		snprintf(err, errlen, "%s: TSIG: malformed TSIG record in the answer (key %s)", s->peer, name);
	else if (rc == TERN_EINVAL && res.peer_error)
		snprintf(err, errlen, "%s: TSIG: the primary rejected our signature with %s (key %s)", s->peer,
		         tsig_error_name(res.error, e), name);
	else if (rc == TERN_EINVAL && res.error)
		snprintf(err, errlen, "%s: TSIG: the answer does not verify: %s (key %s)", s->peer,
		         tsig_error_name(res.error, e), name);
	else
		snprintf(err, errlen, "%s: TSIG: cannot verify the answer: %s", s->peer, tern_strerror(rc));
	return rc == TERN_EMALF ? TERN_EMALF : TERN_EIO;
}

static int pull_sig_end(void *arg, char *err, size_t errlen)
{
	struct pull_sig *s = arg;
	if (tsig_verify_end(&s->ctx) == 0)
		return 0;
	snprintf(err, errlen, "%s: TSIG: the answer does not end with a signed message", s->peer);
	return TERN_EIO;
}

/* The hooks for a refresh from peer with p's key; NULL (unsigned) when the zone has none. */
static const struct pull_tsig *pull_sig_init(struct pull_sig *s, const struct primaries *p, const char *peer)
{
	memset(s, 0, sizeof(*s));
	if (!p->has_key)
		return NULL;
	s->key = &p->key;
	s->peer = peer;
	s->hooks = (struct pull_tsig){pull_sig_sign, pull_sig_verify, pull_sig_end, s};
	return &s->hooks;
}

static void pull_sig_clear(struct pull_sig *s)
{
	tsig_ctx_clear(&s->ctx);
}

/* IXFR from the primary of peer (RFC 1995). Diffs are applied to the served snapshot with the
 * lock held: a reload may drop the zone, and load_zones() free that snapshot, while the lock is
 * released. Returns 1 when the refresh is settled (j->outcome set), 0 when an AXFR from the same
 * primary must follow (logged), -1 when this primary failed and the next one may be tried. */
static int pull_by_ixfr(struct xfrin *x, struct xfrin_zone *z, struct job *j, const struct pull_peer *peer)
{
	struct pull_ixfr_result r;
	const char *from = peer->addr->text;
	if (pull_ixfr(peer, j->apex, &j->soa, &r, &j->stats, j->err, sizeof(j->err)) < 0) {
		log_info("zone %s: IXFR from %s failed (%s): trying AXFR", z->name, from, j->err);
		return 0;
	}
	if (r.outcome == XFRP_CURRENT) {
		j->remote = r.serial;
		j->outcome = r.serial == j->serial ? PULL_CURRENT : PULL_LOWER;
		return 1;
	}
	if (r.outcome == XFRP_ZONE) {
		if (!rr_serial_newer(r.zone->serial, j->serial)) {
			snprintf(j->err, sizeof(j->err),
			         "%s: the IXFR answer holds serial %u, not newer than the %u served", from,
			         r.zone->serial, j->serial);
			zone_free(r.zone);
			return -1;
		}
		j->zone = r.zone;
		j->method = "IXFR (whole zone)";
		j->outcome = PULL_TRANSFERRED;
		return 1;
	}
	struct zone *next = NULL;
	int rc = TERN_EZONE;
	pthread_mutex_lock(&x->lock);
	if (z->dropped || !z->serving)
		snprintf(j->err, sizeof(j->err), "the zone stopped being served during the IXFR");
	else
		rc = xfrp_apply(z->served, r.diffs, &next, j->err, sizeof(j->err));
	pthread_mutex_unlock(&x->lock);
	j->ndiffs = r.diffs->ndiffs;
	xfrp_diffs_free(r.diffs);
	if (rc < 0) {
		log_warning("zone %s: the IXFR from %s (serial %u -> %u) does not apply: %s; trying AXFR", z->name,
		            from, j->serial, r.serial, j->err);
		return 0;
	}
	j->zone = next;
	j->derived = true;
	j->method = "IXFR";
	j->outcome = PULL_TRANSFERRED;
	return 1;
}

/* One primary: its SOA serial, then IXFR when we have a copy (AXFR when that does not settle it).
 * Returns true when the refresh is settled (j->outcome set), false to try the next primary. */
static bool pull_from(struct xfrin *x, struct xfrin_zone *z, struct job *j, const struct config_listen *a)
{
	/* the zone's TSIG key signs what we ask and must sign what the primary answers */
	struct pull_sig sig;
	struct pull_peer peer = {.addr = a, .tsig = pull_sig_init(&sig, j->primaries, a->text), .stop_fd = j->stop_fd};
	bool settled = false;
	set_text(j->primary, sizeof(j->primary), a->text);
	if (pull_soa_serial(&peer, j->apex, &j->remote, j->err, sizeof(j->err)) < 0)
		goto out;
	if (j->have_copy && !rr_serial_newer(j->remote, j->serial)) {
		j->outcome = j->remote == j->serial ? PULL_CURRENT : PULL_LOWER;
		settled = true;
		goto out;
	}
	int by_ixfr = j->have_copy ? pull_by_ixfr(x, z, j, &peer) : 0;
	if (by_ixfr != 0) {
		settled = by_ixfr > 0;
		goto out;
	}
	struct zone *zn = NULL;
	if (pull_axfr(&peer, j->apex, &zn, &j->stats, j->err, sizeof(j->err)) < 0)
		goto out;
	if (j->have_copy && !rr_serial_newer(zn->serial, j->serial)) {
		snprintf(j->err, sizeof(j->err), "%s: the transfer holds serial %u, not newer than the %u served",
		         a->text, zn->serial, j->serial);
		zone_free(zn);
		goto out;
	}
	j->zone = zn;
	j->method = "AXFR";
	j->outcome = PULL_TRANSFERRED;
	settled = true;
out:
	pull_sig_clear(&sig); /* a chain abandoned halfway may hold a running digest */
	return settled;
}

/* Each primary in turn until one settles the refresh. Called without the lock. */
static void pull(struct xfrin *x, struct xfrin_zone *z, struct job *j)
{
	j->outcome = PULL_FAILED;
	snprintf(j->err, sizeof(j->err), "no primary");
	for (size_t i = 0; i < j->primaries->n; i++)
		if (pull_from(x, z, j, &j->primaries->addr[i]))
			return;
}

static void log_failure(const struct xfrin_zone *z, unsigned next)
{
	log_warning("zone %s: refresh failed (%s): %s; next try in %u s", z->name, xfrin_state_name(z->state),
	            z->last_error, next);
}

/* Applies a refresh's result to the zone. Lock held. */
static void apply(struct xfrin *x, struct xfrin_zone *z, struct job *j, uint64_t started)
{
	uint64_t now = now_ms();
	int64_t wall = (int64_t)time(NULL);
	if (j->outcome == PULL_TRANSFERRED) {
		uint32_t old = z->serial;
		bool was_serving = z->serving;
		struct zone *zn = j->zone;
		j->zone = NULL;
		if (serve(x, z, zn) < 0) {
			snprintf(j->err, sizeof(j->err), "cannot publish the transferred zone");
			j->outcome = PULL_FAILED;
		} else {
			z->serving = true;
			set_text(z->source, sizeof(z->source), j->primary);
			char was[32] = "no copy before";
			if (was_serving)
				snprintf(was, sizeof(was), "was %u", old);
			if (j->derived)
				log_info(
				    "zone %s: IXFR from %s: serial %u -> %u, %zu diffs, %zu records, %zu messages, "
				    "%zu bytes in %" PRIu64 " ms",
				    z->name, j->primary, old, z->serial, j->ndiffs, j->stats.records, j->stats.messages,
				    j->stats.bytes, now - started);
			else
				log_info(
				    "zone %s: transferred serial %u from %s by %s (%s): %zu records, %zu messages, %zu "
				    "bytes in %" PRIu64 " ms",
				    z->name, z->serial, j->primary, j->method, was, j->stats.records, j->stats.messages,
				    j->stats.bytes, now - started);
			z->last_transfer = wall;
			if (!was_serving)
				publish_tables(x); /* no longer unavailable */
			save_copy_later(z, now);
		}
	} else if (j->outcome == PULL_LOWER) {
		log_warning("zone %s: primary %s has serial %u, lower than the %u served: keeping %u", z->name,
		            j->primary, j->remote, z->serial, z->serial);
	}
	if (j->outcome == PULL_FAILED) {
		set_text(z->last_error, sizeof(z->last_error), j->err);
		unsigned next;
		if (z->serving) {
			z->state = XFRIN_RETRYING;
			next = z->retry;
		} else if (z->retry) { /* expired: the SOA we had still says how often to retry */
			next = z->retry;
		} else {
			next = z->backoff;
			z->backoff = z->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : z->backoff * 2;
		}
		z->refresh_at = now + (uint64_t)next * 1000;
		if (!x->stop)
			log_failure(z, next);
	} else {
		/* the copy on disk says when a primary last confirmed it; rewritten if it is missing */
		if (j->outcome != PULL_TRANSFERRED && !z->copy_at && (!z->copy_saved || diskcopy_touch(z->file) < 0))
			save_copy(z);
		if (j->outcome == PULL_CURRENT)
			log_debug("zone %s: serial %u is current at %s", z->name, z->serial, j->primary);
		z->state = XFRIN_OK;
		z->last_error[0] = 0;
		z->last_refresh = wall;
		z->backoff = TIMER_MIN;
		z->refresh_at = now + (uint64_t)z->refresh * 1000;
		z->expire_at = now + (uint64_t)z->expire * 1000;
	}
	heap_update(x, z);
	status_update(x, z);
}

/* Refreshes z. Called with the lock held; drops it while talking to primaries. */
static void refresh(struct xfrin *x, struct xfrin_zone *z)
{
	struct job *j = calloc(1, sizeof(*j));
	size_t psize = sizeof(*z->primaries) + z->primaries->n * sizeof(z->primaries->addr[0]);
	if (!j || !(j->primaries = malloc(psize))) {
		free(j);
		z->refresh_at = now_ms() + 1000;
		heap_update(x, z);
		log_error("zone %s: out of memory for a refresh", z->name);
		return;
	}
	memcpy(j->apex, z->apex, z->apex_len);
	memcpy(j->primaries, z->primaries, psize);
	j->have_copy = z->serving;
	j->serial = z->serial;
	if (z->serving)
		pull_soa_of(z->served, &j->soa);
	j->stop_fd = x->stop_fd;
	uint64_t started = now_ms();
	z->busy = true;
	pthread_mutex_unlock(&x->lock);
	pull(x, z, j);
	pthread_mutex_lock(&x->lock);
	z->busy = false;
	if (z->dropped) { /* reload took it out of the tables and waited for readers */
		if (!z->orphan)
			zone_destroy(z);
	} else {
		apply(x, z, j, started);
	}
	if (j->zone && j->derived)
		zone_discard(j->zone); /* derived from a snapshot, never served */
	else if (j->zone)
		zone_free(j->zone);
	free(j->primaries);
	free(j);
}

/* Takes the zone out of service: SERVFAIL from now on. Lock held. */
static void expire(struct xfrin *x, struct xfrin_zone *z)
{
	if (z->copy_at)
		save_copy(z); /* the last version transferred, with its own age: not served at restart */
	zones_remove(x->srv->zones, z->apex);
	z->serving = false;
	z->served = NULL;
	z->state = XFRIN_EXPIRED;
	log_error("zone %s: EXPIRED: no primary confirmed serial %u within its SOA expire of %u s (%s); answering "
	          "SERVFAIL until a transfer succeeds",
	          z->name, z->serial, z->expire, z->last_error[0] ? z->last_error : "no answer");
	publish_tables(x);
	heap_update(x, z);
	status_update(x, z);
}

/* NOTIFY flags set by the query path become refreshes due now. Lock held. */
static void take_notifies(struct xfrin *x, uint64_t now)
{
	for (size_t i = 0; i < x->nzones; i++) {
		struct xfrin_zone *z = x->zones[i];
		if (atomic_load_explicit(&z->notified, memory_order_relaxed) && atomic_exchange(&z->notified, false)) {
			log_info("zone %s: NOTIFY from a primary: refreshing", z->name);
			z->refresh_at = now;
			heap_update(x, z);
			status_update(x, z);
		}
	}
}

static void *run(void *arg)
{
	struct xfrin *x = arg;
	pthread_mutex_lock(&x->lock);
	while (!x->stop) {
		uint64_t now = now_ms();
		take_notifies(x, now);
		struct xfrin_zone *z = x->nheap ? x->heap[0] : NULL;
		if (z && due(z) <= now) {
			if (z->copy_at && z->copy_at <= now) {
				save_copy(z);
				heap_update(x, z);
			} else if (z->serving && z->expire_at <= now)
				expire(x, z);
			else
				refresh(x, z);
			continue;
		}
		uint64_t wait = z ? due(z) - now : UINT64_MAX;
		pthread_mutex_unlock(&x->lock);
		struct pollfd p[2] = {{x->wake, POLLIN, 0}, {x->stop_fd, POLLIN, 0}};
		if (poll(p, 2, wait > 3600000 ? 3600000 : (int)wait) > 0 && (p[0].revents & POLLIN)) {
			uint64_t count;
			if (read(x->wake, &count, sizeof(count)) < 0)
				log_debug("secondary zones: wake: %s", strerror(errno));
		}
		pthread_mutex_lock(&x->lock);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

static void wake_thread(struct xfrin *x)
{
	uint64_t one = 1;
	if (write(x->wake, &one, sizeof(one)) < 0)
		log_debug("secondary zones: cannot wake the refresh thread: %s", strerror(errno));
}

/* ---- start, reload, stop, status ---- */

int xfrin_start(struct server *srv, const struct config *conf, struct xfrin **out, char *err, size_t errlen)
{
	*out = NULL;
	struct xfrin *x = calloc(1, sizeof(*x));
	if (!x)
		return TERN_ENOMEM;
	x->srv = srv;
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->status_lock, NULL);
	x->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->wake < 0 || x->stop_fd < 0) {
		snprintf(err, errlen, "secondary zones: eventfd: %s", strerror(errno));
		xfrin_stop(x);
		return TERN_EIO;
	}
	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; i < conf->nzones; i++) {
		if (conf->zones[i].nprimaries && zone_add(x, &conf->zones[i]) < 0) {
			pthread_mutex_unlock(&x->lock);
			snprintf(err, errlen, "secondary zones: out of memory");
			xfrin_stop(x);
			return TERN_ENOMEM;
		}
	}
	if (publish_tables(x) < 0) {
		pthread_mutex_unlock(&x->lock);
		snprintf(err, errlen, "secondary zones: out of memory");
		xfrin_stop(x);
		return TERN_ENOMEM;
	}
	pthread_mutex_unlock(&x->lock);
	if (pthread_create(&x->thread, NULL, run, x) != 0) {
		snprintf(err, errlen, "secondary zones: cannot start the refresh thread");
		xfrin_stop(x);
		return TERN_EIO;
	}
	x->started = true;
	srv->xfrin = x;
	*out = x;
	return 0;
}

static struct xfrin_zone *secondary_find(struct xfrin *x, const uint8_t *apex)
{
	for (size_t i = 0; i < x->nzones; i++)
		if (name_equal(x->zones[i]->apex, apex))
			return x->zones[i];
	return NULL;
}

static const struct config_zone *config_find(const struct config *conf, const uint8_t *apex)
{
	for (size_t i = 0; i < conf->nzones; i++)
		if (conf->zones[i].nprimaries && name_equal(conf->zones[i].apex, apex))
			return &conf->zones[i];
	return NULL;
}

int xfrin_reload(struct xfrin *x, const struct config *conf)
{
	if (!x)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&x->lock);
	size_t cap = x->nzones + 1, nold = 0, ndropped = 0;
	struct primaries **old = calloc(cap, sizeof(*old));
	struct xfrin_zone **dropped = calloc(cap, sizeof(*dropped));
	if (!old || !dropped) {
		pthread_mutex_unlock(&x->lock);
		free(old);
		free(dropped);
		return TERN_ENOMEM;
	}
	/* zones no longer secondary stop being pulled; the others take their new settings */
	for (size_t i = 0; i < x->nzones;) {
		struct xfrin_zone *z = x->zones[i];
		const struct config_zone *cz = config_find(conf, z->apex);
		bool file = false; /* a catalog member the configuration now serves from a file */
		for (size_t k = 0; k < conf->nzones && !cz && z->runtime && !file; k++)
			file = name_equal(conf->zones[k].apex, z->apex);
		if (!cz && z->runtime && !file) { /* a catalog member: the catalog's to keep or drop */
			i++;
			continue;
		}
		z->runtime = false; /* configured now: the configuration's from here on */
		if (!cz) {
			log_info("zone %s: no longer a secondary zone: not pulled any more", z->name);
			heap_delete(x, z);
			pthread_mutex_lock(&x->status_lock);
			x->zones[i] = x->zones[--x->nzones];
			pthread_mutex_unlock(&x->status_lock);
			z->dropped = true;
			dropped[ndropped++] = z;
			continue;
		}
		if (!primaries_equal(z->primaries, cz)) {
			struct primaries *p = primaries_new(cz);
			if (p)
				old[nold++] = rcu_xchg_pointer(&z->primaries, p);
			else
				rc = TERN_ENOMEM;
		}
		if (strcmp(z->file, cz->file) != 0) {
			char *f = strdup(cz->file);
			if (f) {
				free(z->file);
				z->file = f;
				z->copy_saved = false; /* written at the new place on the next refresh */
			} else {
				rc = TERN_ENOMEM;
			}
		}
		i++;
	}
	for (size_t i = 0; i < conf->nzones; i++) {
		const struct config_zone *cz = &conf->zones[i];
		if (cz->nprimaries && !secondary_find(x, cz->apex)) {
			log_info("zone %s: new secondary zone", cz->name);
			if (zone_add(x, cz) < 0)
				rc = TERN_ENOMEM;
		}
	}
	/* after this grace period no reader sees a dropped zone or old primaries (else they leak) */
	if (publish_tables(x) < 0) {
		rc = TERN_ENOMEM;
		for (size_t i = 0; i < ndropped; i++)
			dropped[i]->orphan = true;
		nold = ndropped = 0;
	}
	for (size_t i = 0; i < nold; i++)
		free(old[i]);
	for (size_t i = 0; i < ndropped; i++)
		if (!dropped[i]->busy) /* else the refresh thread frees it when its pull returns */
			zone_destroy(dropped[i]);
	pthread_mutex_unlock(&x->lock);
	free(old);
	free(dropped);
	wake_thread(x);
	return rc;
}

void xfrin_stop(struct xfrin *x)
{
	if (!x)
		return;
	if (x->started) {
		pthread_mutex_lock(&x->lock);
		x->stop = true;
		pthread_mutex_unlock(&x->lock);
		uint64_t one = 1;
		if (write(x->stop_fd, &one, sizeof(one)) < 0)
			log_debug("secondary zones: cannot stop the refresh thread: %s", strerror(errno));
		pthread_join(x->thread, NULL);
	}
	if (x->srv->xfrin == x)
		x->srv->xfrin = NULL;
	for (size_t i = 0; i < x->nzones; i++) {
		if (x->zones[i]->copy_at)
			save_copy(x->zones[i]); /* still served: srv->zones outlives this */
		zone_destroy(x->zones[i]); /* the snapshots served belong to srv->zones */
	}
	free(x->zones);
	free(x->heap);
	free(x->all);
	free(x->gone);
	if (x->wake >= 0)
		close(x->wake);
	if (x->stop_fd >= 0)
		close(x->stop_fd);
	pthread_mutex_destroy(&x->lock);
	pthread_mutex_destroy(&x->status_lock);
	free(x);
}

int xfrin_status(struct xfrin *x, struct xfrin_status **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!x)
		return 0;
	pthread_mutex_lock(&x->status_lock);
	struct xfrin_status *s = x->nzones ? calloc(x->nzones, sizeof(*s)) : NULL;
	if (x->nzones && !s) {
		pthread_mutex_unlock(&x->status_lock);
		return TERN_ENOMEM;
	}
	for (size_t i = 0; i < x->nzones; i++)
		s[i] = x->zones[i]->st;
	*n = x->nzones;
	pthread_mutex_unlock(&x->status_lock);
	*out = s;
	return 0;
}

/* ---- secondary zones added and removed at run time (catalog members, catalog_in.c) ---- */

int xfrin_secondary_add(struct xfrin *x, const struct config_zone *cz)
{
	int rc = 0;
	pthread_mutex_lock(&x->lock);
	struct xfrin_zone *z = secondary_find(x, cz->apex);
	if (z && !z->runtime) {
		rc = TERN_EEXIST;
	} else if (z && !primaries_equal(z->primaries, cz)) {
		struct primaries *p = primaries_new(cz);
		if (p) {
			struct primaries *old = rcu_xchg_pointer(&z->primaries, p);
			synchronize_rcu(); /* no NOTIFY check still reads the old list */
			free(old);
		} else {
			rc = TERN_ENOMEM;
		}
	} else if (!z && (rc = zone_add(x, cz)) == 0) {
		x->zones[x->nzones - 1]->runtime = true;
		rc = publish_tables(x);
	}
	pthread_mutex_unlock(&x->lock);
	if (rc == 0)
		wake_thread(x);
	return rc;
}

int xfrin_secondary_remove(struct xfrin *x, const uint8_t *apex)
{
	pthread_mutex_lock(&x->lock);
	struct xfrin_zone *z = secondary_find(x, apex);
	if (!z || !z->runtime) {
		pthread_mutex_unlock(&x->lock);
		return z ? TERN_EINVAL : TERN_ENOTFOUND;
	}
	heap_delete(x, z);
	pthread_mutex_lock(&x->status_lock);
	for (size_t i = 0; i < x->nzones; i++) {
		if (x->zones[i] == z) {
			x->zones[i] = x->zones[--x->nzones];
			break;
		}
	}
	pthread_mutex_unlock(&x->status_lock);
	z->dropped = true;
	if (z->serving)
		zones_remove(x->srv->zones, z->apex);
	z->serving = false;
	if (unlink(z->file) < 0 && errno != ENOENT)
		log_warning("zone %s: cannot delete its disk copy %s: %s", z->name, z->file, strerror(errno));
	log_info("zone %s: no longer a secondary zone: not served any more", z->name);
	if (publish_tables(x) < 0)
		z->orphan = true; /* old tables may still show it */
	else if (!z->busy) /* else the refresh thread frees it when its pull returns */
		zone_destroy(z);
	pthread_mutex_unlock(&x->lock);
	return 0;
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
