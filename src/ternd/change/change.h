/* The one write path for zones the store holds: every producer (API routes, zone import, change
 * review, zone creation; next DDNS, DNSSEC re-signing, ACME, Route 53) hands it RRset changes and
 * gets a structured result; it knows nothing of HTTP or JSON. */
#pragma once
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/dnssec_policy.h"
#include "lib/zone.h"
#include "ternd/base/config.h"
#include "ternd/store/store.h"
#include "ternd/zones/zones.h"

/* One RRset change a producer asks for: the RRset (owner, type) becomes count records (rdata in
 * the rrset layout of lib/zone.h), or goes when count is 0. It holds its owner and nothing points
 * into it, so changes may be copied and their arrays grown. rdata and ttls are malloc'd
 * (change_rrsets_free()). */
struct change_rrset {
	uint8_t owner[NAME_MAXLEN];
	uint16_t type;
	uint16_t count; /* 0: delete the RRset */
	uint32_t ttl;
	uint32_t rdata_size;
	const uint8_t *rdata; /* count records in the rrset layout */
	const uint32_t *ttls; /* one TTL per record (a name's RRSIGs, see zone_change), or NULL */
};
void change_rrsets_free(struct change_rrset *ch, size_t n);

/* The writer of a store's zones. lock serialises every write (store transaction, then publish);
 * a reader that needs the snapshot served to stay put meanwhile (an export) holds it too. */
struct change {
	struct zones *zones;
	struct store *store;
	_Atomic unsigned journal_keep; /* journal entries kept per zone (older ones are trimmed) */
	pthread_mutex_t lock;
	struct change_signer *signer; /* the signed zones and the signing thread (change_dnssec.c) */
	struct signals *signals; /* ksk-submission is raised here (main sets it; NULL: none) */
	/* seconds between judgements of each signed zone's in-tree promise (in-tree-expiring); 0: a day
	 * (main sets server.in-tree-check-interval) */
	_Atomic unsigned intree_interval;
	/* group commit (change_commit): requests queued while a group is written, taken by the next leader */
	pthread_mutex_t group_lock;
	struct change_waiter *queue, **queue_tail;
	bool leading; /* a producer's thread writes a group now */
	_Atomic uint64_t groups, grouped; /* groups committed, requests in them (the log's and tests' count) */
	_Atomic bool following; /* change_watch: other ternd write the store too (change_follow.c) */
};
/* The writer of store's zones into zones. The caller (main, the composition root) owns store and
 * closes it after change_destroy(). */
/* Hands the heap's free pages back to the system (glibc's malloc_trim: every arena, the free
 * pages inside them too). After a whole-zone job (an import, a whole-zone signing) the freed
 * transients would otherwise stay resident in the arenas of the threads that made them: measured at
 * 200k RRs, 60 MiB kept after a signing. Costs a walk of the free lists (milliseconds). */
void change_trim_heap(void);
void change_init(struct change *c, struct zones *zones, struct store *store, unsigned journal_keep);
/* Takes c->lock. An online RCU reader waits for it offline (and is online again once it has it):
 * a holder may wait for a grace period (a publish that cannot hand its garbage over, out of
 * memory), which an online waiter would block forever. So no RCU pointer is kept across it. */
void change_lock(struct change *c);
void change_unlock(struct change *c);
void change_destroy(struct change *c);
/* A reload's journal-keep, from the next write on (any thread). */
void change_set_journal_keep(struct change *c, unsigned keep);
/* At start, before any producer writes: every zone the store holds, built from its RRsets and
 * published (change_load.c). A zone that cannot be built (the store cannot read it, or its
 * RRsets break a rule of zone_build()) is logged by name, counted in *failed and not served
 * (a write to it is CHANGE_UNSERVED). Fails (err says why) only when the store cannot list its
 * zones or memory runs out; the zones published until then stay served. */
int change_load_all(struct change *c, size_t *loaded, size_t *failed, char *err, size_t errlen);

/* Other ternd on the same store (PostgreSQL): from now on each zone another one writes is followed
 * here (store_watch): built again from the store and published when its serial differs from the
 * one served, no longer served once deleted there (its last serial in past_serials being the one
 * served). A write here to a zone the store has at another serial than the one served is refused
 * (CHANGE_STORE, TERN_EBUSY: try again) and the zone followed at once. Zones the configuration owns
 * and signed zones are left alone (the node that signs a zone is the one that writes it; the others
 * serve it as stored from their next start). A no-op on a store one process has (SQLite). */
int change_watch(struct change *c, char *err, size_t errlen);
void change_unwatch(struct change *c);

/* Where a write stopped. Before CHANGE_PUBLISH nothing was stored nor served. */
enum change_step {
	CHANGE_DONE = 0,
	CHANGE_REFUSED, /* the changes break a rule of the zone (TERN_EZONE); index names the change */
	CHANGE_ZONE, /* the zone: not in the store (TERN_ENOTFOUND), locked (TERN_EBUSY), exists
	              * (TERN_EEXIST), deleted again since its past serial was read (TERN_EINVAL) */
	CHANGE_UNSERVED, /* stored but not served: it failed to load at start (TERN_ENOTFOUND) */
	CHANGE_PROPOSAL, /* the proposal approved is gone or no longer pending (TERN_ENOTFOUND, TERN_EINVAL) */
	CHANGE_APPLY, /* the next version could not be built (TERN_ENOMEM) */
	CHANGE_JOURNAL, /* the journal entry could not be made (TERN_ENOMEM) */
	CHANGE_STORE, /* the store failed: the transaction is rolled back */
	CHANGE_PUBLISH, /* the new version could not be served (TERN_ENOMEM); see each function */
	CHANGE_STALE, /* if_serial: the zone served has another serial now (TERN_EBUSY): make the changes again */
};

#define CHANGE_NO_INDEX SIZE_MAX
#define CHANGE_MSG_MAX ZONE_APPLY_MSG_MAX

/* What a write did: step and code (0 and CHANGE_DONE on success); index, for CHANGE_REFUSED, of the
 * producer's change the first problem is about (CHANGE_NO_INDEX when it is the server's SOA, or
 * the import as a whole); msg the problem without prefix (for CHANGE_REFUSED one problem a line,
 * each naming owner and type); serial the zone's serial after the write; changes how many RRset
 * changes an import made. */
struct change_result {
	enum change_step step;
	int code;
	size_t index;
	uint32_t serial;
	size_t changes;
	char msg[CHANGE_MSG_MAX];
};

/* A write to a zone the store holds. Either rrsets (n of them, each RRset at most once; a SOA
 * change gives the fields of the zone's SOA, one record at the apex; the serial is always the
 * server's), or import: the zone's content becomes import's (its SOA but the serial too). */
struct change_request {
	const uint8_t *apex;
	const struct change_rrset *rrsets;
	size_t n;
	const struct zone *import;
	/* import is a zone file of the configuration (change_config.c): its SOA's fields are taken too
	 * (its serial when ahead of the next one), and a file that changes nothing writes nothing
	 * (r->serial is the served serial, r->changes 0) */
	bool zone_file;
	/* with zone_file: the import's serial is never taken (a transfer's serial is its primary's;
	 * the zone's own serial policy goes on) */
	bool own_serial;
	/* with import: the version import was derived from, whose data (all but the signer's types)
	 * the zone served holds: the changes are change_import_delta()'s, not a walk of both zones */
	const struct zone *import_base;
	const char *principal; /* who, for the journal */
	/* > 0: the pending proposal this write applies; it becomes approved and applied by
	 * reviewer in the same transaction as the change */
	int64_t proposal;
	const char *reviewer;
	/* The producer's own rows, written by also(t, also_arg, ...) in the write's transaction after the
	 * zone's (a service's row, api_services.c): they are stored with the change or not at all. A
	 * negative return rolls everything back: CHANGE_STORE with that code and also's message. */
	int (*also)(struct store_txn *t, void *arg, char *err, size_t errlen);
	void *also_arg;
	/* The changes were made from the version of serial serial (a dynamic update, update/): with
	 * if_serial, the write is refused (CHANGE_STALE) when the version served has another. */
	bool if_serial;
	uint32_t serial;
};

/* The write path: under c->lock, in one store transaction (the zone checked not locked, its
 * RRsets, its new serial, a journal entry, the proposal's status), applied to the version served
 * (zone_apply: nothing is stored that the zone's rules refuse), committed durably, then published
 * (zones_publish). Returns 0, or r->code with r->step saying where it stopped. A new version of a
 * served zone always publishes (zones_publish() fails only when adding a zone). */
int change_commit(struct change *c, const struct change_request *rq, struct change_result *r);
/* Group commit: requests of several threads arriving while a group is being written wait in a
 * queue; the first of them to find no group running leads the next: it writes up to
 * CHANGE_GROUP_MAX of them in one store transaction, each behind a savepoint (a request refused or
 * failing is undone alone, the others go on), commits once (one flush to disk), then publishes
 * each and wakes its producer. A group ends before a second request to a zone already in it (that
 * one builds on the version the group serves) and around a request to a signed zone (alone). */
#define CHANGE_GROUP_MAX 64

/* A new zone: z (taken over) with the store's zone row sz (sz->apex, tenant, serial, policy;
 * filled in by the store) and every RRset of z, in one transaction, then published. When the
 * zone cannot be served (out of memory), the zone is deleted from the store again
 * (CHANGE_PUBLISH): nothing is left that is stored and not served. */
int change_create(struct change *c, struct store_zone *sz, struct zone *z, struct change_result *r);
/* n new zones at once (a batch of the API): zs[i] (all taken over) with rows sz[i], every row and
 * RRset in one transaction (one durable commit for all), then each published. All or none: a
 * refusal (a zone that exists, DNSSEC records in a zone signed downstream) or a store failure
 * leaves nothing created, r->index naming the zone it is about (CHANGE_NO_INDEX when n is 1). A
 * zone that cannot be served is deleted again with every one after it (CHANGE_PUBLISH, r->index
 * the first of them); those before it stay created and served. */
int change_create_many(struct change *c, struct store_zone *sz, struct zone **zs, size_t n, struct change_result *r);

/* Deletes a zone from the store, then stops serving it. CHANGE_PUBLISH when it is deleted from the
 * store but could not be taken out of the served set (out of memory: it is served until restart). */
int change_delete(struct change *c, const uint8_t *apex, struct change_result *r);

/* Locks a zone against writes with reason (NULL: unlocks it); out gets the zone's row after. */
/* Marks a zone signed downstream (on) or not: its secondaries sign it, Tern does not and holds no
 * DNSSEC records for it (writes of them refused as on a zone Tern signs). Refused (the row
 * unchanged) for a zone Tern signs (CHANGE_ZONE, TERN_EEXIST), one holding DNSSEC records
 * (CHANGE_REFUSED naming the first) or locked; out gets the row as stored. */
int change_set_downstream(struct change *c, const uint8_t *apex, bool on, struct store_zone *out,
                          struct change_result *r);
int change_lock_zone(struct change *c, const uint8_t *apex, const char *reason, struct store_zone *out,
                     struct change_result *r);

/* After ternd --restore (change_restore.c): c writes the restored store, old the store it
 * replaced, both loaded (change_load_all). Each zone old held at a newer serial than the backup
 * gets two versions: old's content at old's serial, then the backup's content at the next serial,
 * so that a secondary holding the later version rolls back by IXFR. *rolled counts those zones.
 * The caller is an online RCU reader, as the API's thread is when it writes. */
int change_restore_follow(struct change *c, struct change *old, size_t *rolled, char *err, size_t errlen);

/* ---- DNSSEC: online signing of the store's zones (change_dnssec.c) ----
 *
 * A signed zone's every version is signed: change_commit() re-signs what a write changes
 * (dnssec_zone_resign()), refusing producer changes to the signer's types; enabling signs the
 * whole zone on the signer thread (ternd-signer) while the unsigned version keeps serving; the
 * signer thread refreshes signatures as they come due. Everything it publishes goes through the
 * same store transaction, journal entry and publish as any write. */

/* Starts the signer thread (after change_load_all(): it signs zones left half-signed and arms the
 * refresh of those loaded signed). 0 or TERN_EIO/TERN_ENOMEM with err. */
int change_signer_start(struct change *c, char *err, size_t errlen);
/* Enables (or changes) signing of a zone with policy p (checked by the caller with
 * dnssec_policy_check()): keys made and stored when the zone has none, the policy stored with the
 * state "signing", then the whole zone signed in the background. Another algorithm or key scheme
 * than the zone's keys is an algorithm rollover, which the rollover plan then carries out; another
 * denial (NSEC, NSEC3) is the whole signing itself. Refused (CHANGE_REFUSED): a record of the zone
 * with a TTL above max-zone-ttl (TERN_EINVAL, *field "max-zone-ttl"); signing being turned off
 * (TERN_EEXIST, *field NULL). On a signed zone writes with such TTLs are refused too. */
int change_dnssec_enable(struct change *c, const uint8_t *apex, const struct dnssec_policy *p, const char *principal,
                         const char **field, struct change_result *r);
/* Restores a zone's keys and policy from a backup (api_backup.c read and decrypted it): in one
 * store transaction the zone's keys are replaced by keys (n of them, each with its PEM, state,
 * times and use bits, as backed up) and its policy by p, with the state "signing"; then the
 * whole zone is signed with them in the background, so the DNSKEY RRset served is the backup's
 * and the DS at the parent stays valid. Refused, nothing changed: the zone has keys and replace
 * is false (CHANGE_REFUSED, TERN_EEXIST, *field "replace"); a key's PEM that does not load or is
 * not the key its DNSKEY and tag say, or no key that signs (TERN_EINVAL, *field "keys"); a record
 * above max-zone-ttl (TERN_EINVAL, "max-zone-ttl"); the zone missing or locked (CHANGE_ZONE). */
int change_dnssec_restore(struct change *c, const uint8_t *apex, const struct dnssec_policy *p,
                          const struct store_key *keys, size_t n, bool replace, const char *principal,
                          const char **field, struct change_result *r);
/* What the signer thread knows of a zone: when its next signatures come due (0: none), when a
 * failed job is tried again (0: none) and why it failed ("" when the last job succeeded).
 * TERN_ENOTFOUND when the zone has no signing state. Never waits for a signing job. */
struct change_dnssec_status {
	int64_t next_refresh, retry;
	int64_t next_roll; /* the rollover plan's next step (0: none by the clock) and what it will be */
	char next_roll_what[320];
	bool keys_unloadable;
	char error[256];
};
int change_dnssec_status(struct change *c, const uint8_t *apex, struct change_dnssec_status *out);
/* Runs apex's rollover plan at the signer's next round (a DS was seen: change_roll.c). */
void change_dnssec_roll_soon(struct change *c, const uint8_t *apex);
/* The operator says the DS of the zone's KSK (CSK) waiting for it is at the parent: the key is
 * marked so and the rollover goes on. 0, TERN_ENOTFOUND (no key waits; msg says so), or the
 * store's error. */
int change_dnssec_ds_submitted(struct change *c, const uint8_t *apex, const char *principal, char *msg, size_t msglen);
/* Turns signing of a zone off. Without force (RFC 8078 4): the delete CDS and CDNSKEY are published
 * and the zone stays signed until the DS is gone from every parent (the policy's parents asked,
 * or change_dnssec_ds_removed()) and the DS TTL and propagation delay have passed; then every
 * DNSSEC record goes (signer thread). With force, at once, only when no DS of the zone was ever
 * seen or confirmed (else TERN_EEXIST: validators would find the zone bogus). Refused: the zone is
 * not signed (TERN_ENOTFOUND), locked (TERN_EBUSY). *unsigned_now says force did it now. A zone
 * whose keys did not load at start publishes no delete CDS (nothing can sign it): it waits for
 * change_dnssec_ds_removed() (the DS removed at the parent by hand), then goes unsigned as above. */
int change_dnssec_disable(struct change *c, const uint8_t *apex, const char *principal, bool force, bool *unsigned_now,
                          struct change_result *r);
/* The DS of a zone being turned off is gone from the parent (the operator's word, or the DS check,
 * who says which): the wait for caches starts. 0, TERN_ENOTFOUND (signing is not being turned off;
 * msg says so) or the store's error. */
int change_dnssec_ds_removed(struct change *c, const uint8_t *apex, const char *who, char *msg, size_t msglen);
/* For /metrics: zones signed, being signed, failing (a job failed, or keys unloadable); the
 * earliest next refresh (0: none); whole-zone signings, refreshes and failed jobs since start. */
struct change_dnssec_totals {
	size_t signed_zones, signing, failing;
	int64_t next_refresh;
	uint64_t signed_total, refreshed_total, failed_total;
};
void change_dnssec_totals(struct change *c, struct change_dnssec_totals *out);
/* Whether type is the signer's on a signed zone (DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, CDS,
 * CDNSKEY): producers may not change it there. */
bool change_dnssec_type(uint16_t type);

/* ---- zone files of the configuration signed by ternd (change_config.c) ----
 *
 * A zone entry with dnssec-policy is a zone of the store owned by STORE_TENANT_CONFIG (the API
 * reads it, an admin included, but writes none of it): its file is its content, imported through
 * change_commit() (only the RRsets the file changes, re-signed) and signed like any store zone.
 * The caller is an online RCU reader (main, around these calls). */

/* Sets each zone's config_zone.stored (it has a dnssec-policy, or the store holds it for the
 * configuration: a zone file's or secondary's zone that had one) before conf is applied, and writes
 * into notes, one a line, what happens to each stored zone without dnssec-policy (its signing
 * turned off, RFC 8078). 0, or TERN_EIO when the store failed (change_config_check() names it). */
int change_config_mark(struct change *c, struct config *conf, char *notes, size_t noteslen);
/* Whether conf's zones agree with the store before conf is applied: a zone with dnssec-policy may
 * not have an API zone's name, nor be given one again while its signing is being turned off (as
 * PUT .../dnssec refuses it then). 0, or a TERN_E* with every problem in err as
 * "file:line: zones[i]: ...", one a line. */
int change_config_check(struct change *c, const struct config *conf, char *err, size_t errlen);
/* The zone file of cz (with dnssec-policy), loaded as z (taken over): the first time a new zone of
 * the store (serial policy sp; its serial above any a deleted zone of that name had); after, an
 * import (change_request.zone_file: nothing written when the file changed nothing); then signing
 * enabled, or its policy changed, when the store's policy is not cz's. r says what failed. */
int change_config_zone(struct change *c, const struct config_zone *cz, enum store_serial_policy sp, struct zone *z,
                       struct change_result *r);
/* A secondary zone with dnssec-policy (cz; ternd signs what its primary sends unsigned): zn, a
 * version transferred from primary (the caller keeps it), becomes its store zone's content as a
 * zone file's does (the first time a new zone of the store with zn's serial; after, an import of
 * the RRsets zn changes, re-signed), except that the serial stays the zone's own (policy sp): it
 * grows whatever the primary's does, and the caller keeps the primary's for its refreshes. base,
 * when not NULL, is the version this call took last (and the zone serves), which zn was derived
 * from: then only the names that differ between the two are looked at (checks and import). Then
 * cz's policy as change_config_zone(), except that a policy that fails is logged, not returned (the
 * version is the zone's by then: the caller builds on it; tried again with the next one). A version
 * holding a signer's type (RRSIG, NSEC, NSEC3, NSEC3PARAM, DNSKEY, CDS, CDNSKEY) is refused before
 * anything is written (CHANGE_REFUSED, TERN_EZONE, the first owner and type in r->msg). */
int change_config_transfer(struct change *c, const struct config_zone *cz, enum store_serial_policy sp,
                           const struct zone *zn, const struct zone *base, const char *primary,
                           struct change_result *r);
/* cz's policy applied to its zone of the store when it is not the stored one (a reload of a
 * secondary zone, whose content comes only with transfers); nothing when the zone is not stored.
 * For change_config_zone() and change_config_transfer() as here: a stored zone without
 * dnssec-policy has its signing turned off as change_dnssec_disable() does (the delete CDS; unsigned
 * once the DS is gone), and stays a zone of the store, served unsigned, its serial going on. */
int change_config_policy(struct change *c, const struct config_zone *cz, struct change_result *r);
/* A zone of the configuration no longer served nor signed (why: for the log): retired, or a
 * secondary expired. It stays in the store with its keys; its next version serves it again. */
void change_config_unserve(struct change *c, const uint8_t *apex, const char *why);
/* Zones the store holds for the configuration that conf does not list (config_zone.stored): no
 * longer served nor signed; those with signing state stay in the store with their keys, served
 * again with them when listed again; those without (enabling failed, or signing turned off) are
 * deleted from the store. */
void change_config_retire(struct change *c, const struct config *conf);

/* ---- the pieces of a write, without server state (change_set.c; tests/fuzz drive them) ---- */

/* The next SOA serial after cur under the zone's policy. */
uint32_t change_next_serial(uint32_t cur, enum store_serial_policy policy, time_t now);

/* What zone_apply() is given for a write: every change of ch but a SOA (whose fields a SOA change
 * gives), then the zone's SOA with the next serial, last. from[i] is the index in ch of all[i]
 * (CHANGE_NO_INDEX for the SOA). The entries point into ch, cur and soa: ch and cur must stay put
 * until change_set_free(). */
struct change_set {
	struct zone_change *all;
	size_t *from;
	size_t n; /* entries in all, the SOA included */
	uint8_t soa[2 + 2 * NAME_MAXLEN + 20];
};
int change_set_make(const struct zone *cur, const struct change_rrset *ch, size_t n, uint32_t serial,
                    struct change_set *out);
void change_set_free(struct change_set *s);

/* The changes that turn cur into the zone file's imp: a deletion for every RRset of cur that imp
 * lacks, then every RRset of imp; SOAs left out (the server keeps its own). *out is malloc'd
 * (change_rrsets_free); TERN_ENOMEM leaves nothing behind. */
int change_import(const struct zone *cur, const struct zone *imp, struct change_rrset **out, size_t *n);
/* The same for imp derived from base (zone_apply), whose data the served version holds: only the
 * names that differ between base and imp (zone_changed_nodes), so the cost follows the change, not
 * the zone. Every RRset of such a name is given, deletions for those it lost; SOAs left out. */
int change_import_delta(const struct zone *base, const struct zone *imp, struct change_rrset **out, size_t *n);

/* ---- in-tree hints (change_intree.c; draft-kolkman-dns-in-tree-hints) ---- */

#define CHANGE_INTREE_TTL 3600 /* the _in-tree TXT's TTL, or the policy's max-zone-ttl when lower */
#define CHANGE_INTREE_WARN (60LL * 86400) /* in-tree-expiring is set this long before the expiry */

/* The owner `_in-tree.<apex>` in wire form; false when it would be too long a name. */
bool change_intree_owner(const uint8_t *apex, uint8_t owner[NAME_MAXLEN]);
/* The _in-tree TXT RRset's value (count records in the rrset layout, size octets): one record of
 * one character-string that hints_time_parse() reads into *at. 0, or TERN_EINVAL with err saying
 * what is wrong (the string quoted). */
int change_intree_value(const uint8_t *rdata, size_t size, unsigned count, long long *at, char *err, size_t errlen);
/* A producer's changes (not an import) to apex: any _in-tree TXT written must be one such value;
 * 0, or CHANGE_REFUSED (TERN_EZONE) in r naming the change and the value. */
int change_intree_check(const uint8_t *apex, const struct change_rrset *ch, size_t n, struct change_result *r);
/* The _in-tree TXT's TTL under policy p (NULL: none). */
uint32_t change_intree_ttl(const struct dnssec_policy *p);
/* A zone file of cz marked with in-tree-expires (nothing otherwise): *z (taken over, replaced)
 * gets `_in-tree.<apex> TXT "<UTC date-time>"` in place of any _in-tree TXT of the file. Refused
 * (TERN_ECONFIG, err) when no NS of the apex lies inside the zone; TERN_ENOMEM; *z kept on failure. */
int change_config_intree(const struct config_zone *cz, struct zone **z, char *err, size_t errlen);
/* The promise z publishes: 0 with *at, TERN_ENOTFOUND without an _in-tree TXT, TERN_EINVAL (err)
 * when it is not one RFC 3339 date-time. */
int change_intree_served(const struct zone *z, long long *at, char *err, size_t errlen);
