/* The signer's state, shared by the files of online signing: change_dnssec.c (keys, whole-zone
 * signing, re-signing of writes, the signer thread) and change_unsign.c (turning signing off).
 * Everything here is under c->lock unless a field says otherwise. */
#pragma once
#include <pthread.h>
#include <stdatomic.h>

#include "lib/dnssec_zone.h"
#include "ternd/base/event.h"
#include "ternd/change/change_impl.h"
#include "ternd/change/change_roll.h"

/* What a version of a zone is signed with: the policy and its keys (shared by the jobs that use
 * it: refs, under c->lock). */
struct signing {
	struct dnssec_policy policy;
	struct dnssec_key **keys;
	struct dnssec_zone_key *zkeys;
	struct store_key *meta; /* each key's row (id, role, state, times; never its PEM) */
	size_t nkeys;
	unsigned refs;
	/* the wall-clock time of the rollover steps this signing carries out (0: none): their keys'
	 * times move to its publication, where their waits start (RFC 7583: a retired ZSK's
	 * signatures stay in caches a maximum zone TTL after the last version that served them) */
	int64_t step_at;
	bool delete_cds; /* signing is being turned off: the RFC 8078 delete CDS and CDNSKEY at the apex */
};

struct signed_zone {
	uint8_t apex[NAME_MAXLEN];
	struct signing *active; /* the served version's; NULL until the first signing is published */
	struct nsec_chain *index; /* the served version's chain (active's); NULL: lost, sign again */
	struct signing *wanted; /* a whole-zone signing to do with it; NULL: none */
	uint64_t gen; /* bumped when wanted is replaced, so a job signing the old one is not published */
	int64_t refresh_at; /* wall clock: the next signatures come due (0: none) */
	bool broken; /* stored as signed, but its keys could not be loaded: writes are refused */
	int64_t retry_at; /* wall clock: a failed job is tried again (0: none) */
	unsigned failures; /* jobs failed in a row (the retry backs off) */
	char error[256]; /* the last job's failure, "" after a success */
	int64_t roll_at; /* wall clock: the rollover plan is run (0: at the next round) (change_roll.c) */
	char roll_what[CHANGE_ROLL_WHAT_MAX]; /* the step due then, for the API */
	int64_t ds_check_at; /* wall clock: the parents are asked for a waiting KSK's DS (0: none waits) */
	uint16_t ksk_signalled; /* the key tag ksk-submission is set for (0: not set) */
	int64_t intree_at; /* wall clock: the in-tree promise is judged (0: at the next round) */
	bool intree_signalled; /* in-tree-expiring set */
	/* turning signing off (the store's row has them too): when asked (0: not), when the DS was
	 * gone from the parents (0: not yet), and when the DNSSEC records go (ds_gone + DS TTL +
	 * propagation delay) */
	int64_t unsigning, ds_gone, unsign_at;
	struct signed_zone *next;
};

struct change_signer {
	struct change *c;
	/* under c->lock; changed (the list, the times and error of a zone) also under status_lock, so
	 * change_dnssec_status() reads them without waiting for a job that holds c->lock */
	struct signed_zone *zones;
	pthread_mutex_t status_lock;
	_Atomic uint64_t signed_total, refreshed_total, failed_total; /* jobs done, for /metrics */
	struct ev_loop *loop;
	struct ev_thread thread;
	struct ev_async wake;
	struct ev_timer timer;
	bool running;
	bool trim; /* a whole-zone signing ran this round: the heap is trimmed once the lock is let go */
};

/* A signing's reference dropped (freed with the last). */
void change_signing_put(struct signing *s);
/* The zone's keys for policy p, from the store (t), as a signing: 0 or a TERN_E* with err. */
int change_signing_load(struct store_txn *t, const uint8_t *apex, const struct dnssec_policy *p, struct signing **out,
                        char *err, size_t errlen);
/* A whole-zone signing of z with s queued (s taken). */
void change_want_signing(struct signed_zone *z, struct signing *s);
/* The signer thread looks at its zones now. */
void change_signer_wake(struct change *c);
/* z's job failed with msg: tried again later (backing off), counted, shown by the API. */
void change_job_failed(struct change *c, struct signed_zone *z, const char *msg);
/* v[0..n) appended to out: 0 or TERN_ENOMEM. */
int change_changes_append(struct nsec_changes *out, const struct zone_change *v, size_t n);

/* The two ends of a DNSSEC request (enabling, a restore, turning off) under c->lock: a store
 * failure (rc, err) reported in r as the store's step (as the request's for TERN_ENOMEM and
 * TERN_EINVAL) and logged as what failed; then t rolled back (when not NULL), s dropped, the lock
 * let go, r->code returned. */
void change_dnssec_failed(struct change_result *r, int rc, const char *name, const char *what, const char *err);
int change_dnssec_end(struct change *c, struct store_txn *t, struct signing *s, struct change_result *r);

/* change_unsign.c: the signer's round runs z's unsigning once its DS is gone long enough (z is
 * gone after a success), and whether a stored version of a zone carries the delete CDS. */
void change_unsign_job(struct change *c, struct signed_zone *z);
/* z's times of turning off: asked at unsigning (0: not), the DS gone at ds_gone (0: not yet);
 * the DNSSEC records go ds_gone + p's DS TTL + propagation delay (under status_lock). */
void change_set_unsigning(struct change *c, struct signed_zone *z, const struct dnssec_policy *p, int64_t unsigning,
                          int64_t ds_gone);
bool change_has_delete_cds(const struct zone *z);
