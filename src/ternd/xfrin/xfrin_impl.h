/* Inside xfrin: the state its files share (struct xfrin, one secondary zone, the query tables) and
 * the one locking rule they all follow. Only src/ternd/xfrin/xfrin*.c include this.
 *
 * The files, one job each:
 *   xfrin.c          start, reload, stop, and the status /healthz shows
 *   xfrin_zone.c     one secondary zone's life: added (disk copy served), served, saved, expired,
 *                    retired and freed
 *   xfrin_tables.c   the query path's view: two immutable RCU tables, NOTIFY and unavailable checks
 *   xfrin_loop.c     the refresh thread: an ev_ loop, one timer per zone, one wake-up
 *   xfrin_workers.c  the transfer workers: refreshes handed over by the refresh thread, run at once
 *                    (those that start with a transfer, to one primary, pipelined together)
 *   xfrin_refresh.c  one refresh: ask the primaries (SOA, IXFR, AXFR) unlocked, then apply
 *   xfrin_tsig.c     TSIG with the primaries: pull.h's hooks over one tsig_ctx per exchange
 *   xfrin_members.c  secondary zones added and removed at run time (catalog members)
 *
 * ---- The locking rule (the one place it is written) ----
 *
 * Threads. The refresh thread (xfrin_loop.c, an ev_ loop) decides every refresh, disk copy and
 * expiry, and applies every refresh's result. The transfer workers (xfrin_workers.c,
 * transfer.refresh-workers threads) only talk to the primaries: each takes a job the refresh
 * thread queued, runs its wire part (xfrin_job_run) and hands the job back on x->done. Control
 * threads call start, reload and stop (the main thread), the member calls (the catalog consumer)
 * and xfrin_status() (the API thread). Query threads only call xfrin_notify() and
 * xfrin_unavailable().
 *
 * x->lock guards everything of every zone not marked otherwise below, zones[], the retired list
 * and x->stop. Whoever holds it may change a zone, publish its snapshot (zones_publish /
 * zones_remove) and write its disk copy. The refresh thread holds it in its callbacks (a zone's
 * timer, the wake-ups); it does not hold it while it waits in epoll_wait. A worker holds it only
 * to apply an IXFR's diffs to the zone's served snapshot. Snapshots are published with the lock
 * held, so once
 * xfrin_reload() returns nothing of a zone it dropped is being touched. x->lock is held across
 * RCU grace periods (xfrin_tables_publish): a thread that takes it must not be an online RCU
 * reader.
 * A zone with a dnssec-policy hands its versions to x->signer with x->lock held, so the change
 * module's lock and the store's are taken inside it (x->lock is the outermost lock of ternd, and
 * no holder of those takes it); the refresh thread is a registered RCU thread (EV_RCU_OFFLINE),
 * online only inside the signer's calls.
 *
 * Timers. A zone's timer belongs to the refresh thread: only xfrin_loop.c arms or cancels it, from
 * that thread, with x->lock held, and a zone's held flag (under x->lock) says the thread holds the
 * zone: its timer is armed, or its deadline is running, or its refresh is in flight (z->refreshing:
 * a job copied under the lock, queued to the workers, no timer armed; or, while as many jobs as
 * the workers take are out, the zone waits on x->waiting for its job to be made). Other threads never touch
 * a timer: a zone added is armed, and a zone retired is let go, by the thread's wake-up (x->wake,
 * an ev_async), which xfrin_zone_add and xfrin_zone_retire send. A finished job comes back through
 * x->done_wake (a worker hands back its batch at once): the refresh thread applies it, then re-arms the zone or lets a
 * retired one go. A NOTIFY for a zone in flight arms nothing (that would start a second refresh): it sets
 * z->renotified, and the zone is refreshed again as soon as its job is back.
 *
 * x->jobs_lock is an inner lock (taken alone or inside x->lock, never held while taking another):
 * it guards the queue of jobs for the workers, x->done and x->jobs_stop. Stop: x->stop under the
 * lock, then x->stop_fd (pulls in progress poll it and give up), then the refresh thread is
 * stopped and joined (it queues nothing more), then the workers are told and joined, then the jobs
 * left queued or done are freed, then the loop; the zones last.
 *
 * x->status_lock is an inner lock (taken inside x->lock or alone, never held across a grace
 * period): it guards zones[]'s membership (array and count, so every change to them takes both
 * locks) and each zone's st, the copy xfrin_status() returns. The API thread, an RCU reader,
 * takes it alone and so never waits for a transfer or a grace period.
 *
 * RCU. x->all, x->gone and each zone's primaries are RCU pointers to immutable objects. Readers
 * (query threads, online QSBR) follow them without a lock: table lookups, the primaries of a
 * NOTIFY. Writers hold x->lock, swap the pointer (rcu_xchg_pointer), wait for a grace period
 * (synchronize_rcu) and only then free the old object. The one thing a reader writes is a zone's
 * atomic notified flag and, when it set it, the zone's link on x->notified (a compare-and-swap
 * push), then ev_async_send(&x->wake) (lock-free, no allocation); the refresh thread's wake-up
 * takes the list whole and turns each flag into a refresh due now.
 *
 * A zone's life (xfrin_zone.c). LIVE: in zones[] (its timer armed once the thread has seen it).
 * xfrin_zone_retire() makes it RETIRED: out of zones[], on x->retired, though tables a reader
 * holds may still show it and the refresh thread may still hold it. The next
 * xfrin_tables_publish() that succeeds makes every retired zone UNSEEN (new tables without it,
 * then a grace period). A zone is freed, in one place (xfrin_zone_reap), when it is UNSEEN, not
 * held and off x->notified (a reader may push it there before that grace period): by
 * xfrin_tables_publish(), or by the refresh thread when it lets the zone go (its wake-up, or the
 * zone's deadline returning), whichever comes last. */
#pragma once
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/tls_client.h"
#include "lib/tsig.h"
#include "ternd/base/event.h"
#include "ternd/xfrin/pull.h"
#include "ternd/xfrin/xfrin.h"

#define XFRIN_TIMER_MIN 1u /* seconds: SOA timers below this are raised to it */
#define XFRIN_TIMER_MAX 86400u /* refresh and retry above a day are lowered to a day */
#define XFRIN_NAME_TEXT (NAME_MAXLEN * 4 + 2)
#define XFRIN_ERRBUF 4096

/* A zone's primaries and the TSIG key spoken with them; replaced whole on reload (RCU: NOTIFY
 * checks read them). A refresh works on a private copy, so a reload never pulls the key away. */
struct primaries {
	size_t n;
	bool has_key;
	struct tsig_key key;
	/* the tls:// primaries' settings (a reference, from x->tls: shared by the zones that have the
	 * same); NULL with tls_err set when they could not be made, NULL alone when no primary is tls:// */
	struct tls_client *tls;
	char tls_err[160];
	struct config_listen addr[];
};

enum xfrin_life {
	XFRIN_LIVE, /* in zones[] */
	XFRIN_RETIRED, /* out of it, on x->retired: tables a reader holds may still show it */
	XFRIN_UNSEEN, /* retired, and no reader can see it any more: freed once not held */
};

struct xfrin_zone {
	/* read by the query path */
	uint8_t apex[NAME_MAXLEN];
	uint8_t apex_len;
	uint32_t hash;
	struct primaries *primaries; /* RCU pointer */
	_Atomic bool notified; /* a primary sent NOTIFY: refresh now; set while on x->notified */
	struct xfrin_zone *notified_next; /* on x->notified, pushed by the reader that set the flag */
	/* the rest under x->lock */
	char name[XFRIN_NAME_TEXT];
	size_t at; /* its place in x->zones while live */
	char *file; /* where the copy is kept */
	enum xfrin_state state;
	enum xfrin_life life;
	struct xfrin_zone *next_retired; /* on x->retired */
	bool serving; /* our snapshot is in srv->zones */
	bool held; /* the refresh thread holds it: its timer armed, its deadline running, or refreshing */
	bool refreshing; /* its refresh is due and not applied yet (no timer armed): waiting or in flight */
	bool waiting; /* refreshing, on x->waiting: its job is not made yet */
	struct xfrin_zone *wait_next; /* on x->waiting */
	bool renotified; /* a NOTIFY came while refreshing: refresh again once the job is back */
	bool by_notify; /* the next refresh answers a NOTIFY: IXFR at once, no SOA query first */
	bool runtime; /* added by xfrin_secondary_add() (a catalog member), not by the configuration */
	bool signs; /* dnssec-policy: served is ours alone (unsigned), x->signer serves it signed */
	bool copy_saved; /* the disk copy holds the served version */
	uint64_t copy_at; /* CLOCK_MONOTONIC ms when the served version goes to disk; 0: nothing due */
	uint64_t copy_written; /* CLOCK_MONOTONIC ms of the last copy written */
	const struct zone *served; /* what we published, while serving (signs: what the signer took) */
	uint32_t serial;
	uint32_t refresh, retry, expire; /* seconds, from the served SOA */
	unsigned backoff; /* seconds to the next try while there is no SOA */
	unsigned failures; /* refreshes failed in a row (refresh-failed's attempts) */
	bool expiring; /* zone-expiring set (cleared by a successful refresh) */
	uint64_t refresh_at, expire_at; /* CLOCK_MONOTONIC ms */
	int64_t last_transfer, last_refresh; /* Unix seconds */
	char source[96]; /* the primary the served version came from */
	char last_error[192];
	struct xfrin *x;
	struct ev_timer timer; /* the refresh thread's: due at xfrin_due() */
	struct xfrin_status st; /* what xfrin_status() shows: under status_lock */
};

/* An immutable open-addressing table of zones by apex, for the query path. */
struct xfrin_table {
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
	bool stop;
	struct ev_loop *loop; /* the refresh thread's */
	struct ev_thread thread;
	struct ev_async wake; /* NOTIFY flags set, zones added or retired */
	int stop_fd; /* eventfd: written once, at stop; pulls in progress poll it */
	struct xfrin_table *all; /* RCU pointer: every secondary zone */
	struct xfrin_table *gone; /* RCU pointer: configured but not served; NULL when none */
	struct xfrin_zone **zones; /* the live zones */
	size_t nzones, capzones;
	struct xfrin_zone **index; /* the live zones by apex: open addressing on their hash */
	size_t index_mask;
	bool tables_stale; /* zones came, went or started being served since the tables were made */
	uint64_t tables_at; /* ev_clock_ms() when the refresh thread last made them */
	uint64_t tables_gap; /* ms until stale tables are made again: TABLES_GAP_MS, or longer (xfrin_loop.c) */
	bool tables_now; /* zones were added: the next wake-up makes the tables, gap or not */
	struct ev_timer tables_timer; /* the refresh thread's: stale tables made tables_gap apart */
	struct xfrin_zone *retired; /* retired zones not yet freed, linked by next_retired */
	/* zones whose notified flag a reader set, pushed lock-free (a zone at most once: only by the
	 * reader that set the flag), taken whole by the wake-up: a NOTIFY costs the refresh thread
	 * that zone, not a walk of every zone */
	_Atomic(struct xfrin_zone *) notified;
	uint64_t notified_taken; /* ev_clock_ms() when the refresh thread last took x->notified */
	struct ev_timer notify_timer; /* the refresh thread's: x->notified taken NOTIFY_GATHER_MS apart */
	bool unarmed; /* zones were added whose timers the wake-up has not armed yet */
	struct xfrin_signer signer; /* update NULL: none */
	uint64_t expiring_lead; /* ms: signals.zone-expiring-lead (under lock) */
	struct xfrin_copies *copies; /* the disk copy thread (xfrin_copies.c) */
	/* the transfer workers (xfrin_workers.c); the three below under jobs_lock */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond; /* a job queued, or stop */
	struct xfrin_job *queue, *queue_tail; /* jobs waiting for a worker, oldest first */
	struct xfrin_job *done; /* jobs finished, for the refresh thread (x->done_wake) */
	bool jobs_stop;
	struct ev_async done_wake;
	struct xfrin_worker *workers;
	unsigned nworkers; /* started */
	/* the refresh thread's, under lock: jobs made and not applied yet, at most 2 per worker for
	 * refreshes that start with a SOA query and PULL_PIPELINE_MAX per worker for those that start
	 * with a transfer (pipelined: xfrin_workers.c); a job is made when a worker may take it soon,
	 * so 10,000 zones due at once are not 10,000 jobs; the zones due beyond that, oldest first */
	unsigned inflight;
	struct xfrin_zone *waiting, *waiting_tail;
	/* the refresh thread's alone (no lock): the jobs made this round, queued for the workers
	 * together before the loop waits */
	struct xfrin_job *made, *made_tail;
	/* under lock: the TLS settings of tls:// primaries made so far, one reference each, so the
	 * members of a catalog share one SSL_CTX (one CA file read) */
	struct tls_client **tls;
	size_t ntls, captls;
};

/* ---- one refresh, handed from the refresh thread to a worker and back ---- */
enum xfrin_outcome { PULL_FAILED, PULL_CURRENT, PULL_LOWER, PULL_TRANSFERRED };

struct xfrin_job {
	struct xfrin_job *next; /* in x->queue or x->done */
	struct xfrin_zone *z; /* held by the refresh thread until the job is back */
	uint8_t apex[NAME_MAXLEN];
	struct primaries *primaries; /* a private copy */
	bool have_copy;
	bool by_notify; /* IXFR first, no SOA query */
	uint32_t serial; /* served */
	int stop_fd;
	uint64_t started; /* ev_clock_ms() when queued */
	enum xfrin_outcome outcome;
	uint32_t remote; /* the primary's serial */
	struct zone *zone;
	bool derived; /* zone came from the served snapshot by IXFR diffs: zone_discard() if unused */
	const char *method; /* how zone came: "AXFR", "IXFR", "IXFR (whole zone)" */
	size_t ndiffs;
	struct pull_soa soa; /* the served version's, for IXFR */
	struct pull_stats stats;
	char primary[sizeof(((struct config_listen *)0)->text)];
	char err[XFRIN_ERRBUF];
};

/* ---- disk copies (xfrin_copies.c): written by their own thread, never by the refresh loop ---- */
struct xfrin_copies;
int xfrin_copies_start(struct xfrin_copies **out, char *err, size_t errlen);
/* Renders zn's copy now (the caller holds it) and queues it for path; 0 or an error with err. */
int xfrin_copies_queue(struct xfrin_copies *c, const struct zone *zn, const char *zone, const char *path,
                       const char *primary, int64_t transferred, char *err, size_t errlen);
/* Deletes path, and cancels its copies still queued or being written; 0 or TERN_EIO (errno set). */
int xfrin_copies_remove(struct xfrin_copies *c, const char *path);
/* Writes what is queued, then ends the thread and frees c (NULL: nothing). */
void xfrin_copies_stop(struct xfrin_copies *c);

/* ---- small helpers (xfrin_zone.c) ---- */
/* Copies text, cut to fit. */
void xfrin_set_text(char *dst, size_t cap, const char *src);
/* Whether b (NULL: none) is the key a. */
bool xfrin_same_key(const struct tsig_key *a, const struct tsig_key *b);
/* cz's primaries, key and TLS settings (x->lock held: x->tls); NULL when out of memory. */
struct primaries *xfrin_primaries_new(struct xfrin *x, const struct config_zone *cz);
/* A job's private copy (the TLS settings one more reference); NULL when out of memory. */
struct primaries *xfrin_primaries_copy(const struct primaries *p);
void xfrin_primaries_free(struct primaries *p);
/* Whether p was made from cz's primaries, key and TLS settings (a CA file changed on disk since: no). */
bool xfrin_primaries_equal(const struct primaries *p, const struct config_zone *cz);
/* Drops the TLS settings no zone uses any more (all: every one, at stop). x->lock held. */
void xfrin_tls_prune(struct xfrin *x, bool all);

/* ---- a zone's life (xfrin_zone.c); x->lock held for all ---- */
/* A new secondary zone: its disk copy served at once, a refresh due now (the refresh thread is
 * woken to arm its timer). */
int xfrin_zone_add(struct xfrin *x, const struct config_zone *cz);
/* The live zone at apex, or NULL. */
struct xfrin_zone *xfrin_zone_find(struct xfrin *x, const uint8_t *apex);
/* Serves zn (ours: a disk copy or a transfer; a zone that signs hands it to x->signer and keeps it
 * as its base). Returns 0, or an error (err says why) with zn freed. */
int xfrin_zone_serve(struct xfrin *x, struct xfrin_zone *z, struct zone *zn, char *err, size_t errlen);
/* Takes the zone out of service: SERVFAIL from now on. From the zone's timer, which re-arms. */
void xfrin_zone_expire(struct xfrin *x, struct xfrin_zone *z);
/* Copies the zone's state where xfrin_status() reads it. */
void xfrin_zone_status(struct xfrin *x, struct xfrin_zone *z);
/* Takes a live zone out of zones[] onto the retired list, and wakes the refresh thread to let it
 * go (see the top). */
void xfrin_zone_retire(struct xfrin *x, struct xfrin_zone *z);
/* Frees every retired zone that is UNSEEN and not held. */
void xfrin_zone_reap(struct xfrin *x);
/* Frees a zone at stop, when no reader and no refresh is left. */
void xfrin_zone_destroy(struct xfrin_zone *z);
/* Writes the served version to disk now; clears the copy deadline. */
void xfrin_copy_save(struct xfrin_zone *z);
/* The served version goes to disk at the zone's next copy deadline (the zone's timer re-arms
 * when the deadline that called this returns). */
void xfrin_copy_save_later(struct xfrin_zone *z, uint64_t now);

/* ---- the query tables (xfrin_tables.c); x->lock held, not an RCU reader ---- */
/* Publishes fresh tables after zones were added, retired, or started or stopped being served;
 * returns after a grace period, then frees the retired zones no reader can see. Out of memory, the
 * old tables stay (TERN_ENOMEM) and the retired zones wait for the next call that succeeds. */
int xfrin_tables_publish(struct xfrin *x);
/* The same, left to the refresh thread's next wake-up, so that many changes (a catalog's members
 * added, their first transfers) make one pair of tables and one grace period, not one each. */
void xfrin_tables_later(struct xfrin *x);

/* ---- the refresh thread (xfrin_loop.c) ---- */
/* Makes the thread's loop, its wake-up and stop_fd (before anything may wake it). */
int xfrin_loop_open(struct xfrin *x, char *err, size_t errlen);
/* Starts the transfer workers and the thread; its first wake-up arms the zones added so far. */
int xfrin_loop_start(struct xfrin *x, unsigned workers, char *err, size_t errlen);
/* Stops the pulls in progress, stops and joins the thread (when started) and the workers, frees
 * the jobs left and the loop. */
void xfrin_loop_stop(struct xfrin *x);
/* From any thread: the refresh thread looks at NOTIFY flags, zones added and zones retired. */
void xfrin_loop_wake(struct xfrin *x);
/* A new zone's timer (not armed: the thread arms it when woken). */
void xfrin_loop_timer_init(struct xfrin *x, struct xfrin_zone *z);
/* The zone's next deadline (CLOCK_MONOTONIC ms): refresh, expiry or disk copy. */
uint64_t xfrin_due(const struct xfrin_zone *z);

/* ---- one refresh (xfrin_refresh.c) ---- */
/* A refresh of z, copied from it (x->lock held): NULL when out of memory (logged, z's refresh put
 * off a second). */
struct xfrin_job *xfrin_job_new(struct xfrin *x, struct xfrin_zone *z);
/* Asks j's primaries (a worker, without x->lock; conns: the worker's open connections). */
void xfrin_job_run(struct xfrin *x, struct xfrin_job *j, struct pull_conns *conns);
/* Whether j starts with a transfer over TCP (AXFR with no copy, IXFR a NOTIFY asked for), which
 * can be pipelined with others to the same primary; a timer's refresh starts with a SOA query. */
bool xfrin_job_pipelines(const struct xfrin_job *j);
/* Whether a and b ask the same first primary with the same TSIG key. */
bool xfrin_job_same_primary(const struct xfrin_job *a, const struct xfrin_job *b);
/* Runs n (<= PULL_PIPELINE_MAX) jobs that pipeline, all to the same primary (a worker, without
 * x->lock): their first transfers asked at once on one connection (pull_pipeline), then each job
 * goes on alone where that did not settle it (the SOA query, AXFR, the next primaries). */
void xfrin_jobs_run(struct xfrin *x, struct xfrin_job **jobs, size_t n, struct pull_conns *conns);
/* Applies a job that is back to its zone when the zone is still live (x->lock held), then frees
 * the job. */
void xfrin_job_apply(struct xfrin *x, struct xfrin_job *j);
/* Frees a job and what it brought (NULL: nothing). */
void xfrin_job_free(struct xfrin_job *j);

/* ---- the transfer workers (xfrin_workers.c) ---- */
/* Starts n workers; 0, or TERN_EIO with err (the ones started are stopped by xfrin_workers_stop). */
int xfrin_workers_start(struct xfrin *x, unsigned n, char *err, size_t errlen);
/* Queues the jobs linked from jobs (NULL: none) for the workers, at once. */
void xfrin_workers_queue(struct xfrin *x, struct xfrin_job *jobs);
/* Takes the jobs finished, oldest first (the refresh thread). */
struct xfrin_job *xfrin_workers_done(struct xfrin *x);
/* Tells the workers to end (after stop_fd was written) and joins them; then frees every job left
 * queued or done. The refresh thread must be stopped already or never started. */
void xfrin_workers_stop(struct xfrin *x);

/* ---- TSIG with the primaries (xfrin_tsig.c) ---- */
struct xfrin_sig {
	const struct tsig_key *key;
	const char *peer; /* the primary, for messages */
	struct tsig_ctx ctx; /* the answer's chain, from the query's MAC */
	struct pull_tsig hooks;
};
/* The hooks for a refresh from peer with p's key; NULL (unsigned) when the zone has none. */
const struct pull_tsig *xfrin_sig_init(struct xfrin_sig *s, const struct primaries *p, const char *peer);
/* Ends the exchange: a chain abandoned halfway may hold a running digest. */
void xfrin_sig_clear(struct xfrin_sig *s);
