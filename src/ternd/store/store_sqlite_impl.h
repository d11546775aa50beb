/* Internals shared by the SQLite store's files (store_sqlite*.c): its connection, transaction and
 * statement types, and the calls each file offers the others, grouped by file. */
#pragma once
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "ternd/store/store_common.h"
#include "ternd/base/event.h"
#include "ternd/store/store.h"

#define BUSY_TIMEOUT_MS 5000
#define POOL_IDLE_MAX 8

/* Every statement the operations run (their SQL in store_sqlite_stmt.c). */
enum stmt {
	ST_ZONE_GET,
	ST_ZONE_ID,
	ST_ZONE_INSERT,
	ST_ZONE_LIST,
	ST_ZONE_LIST_TENANT,
	ST_ZONE_COUNT_TENANT,
	ST_ZONE_DELETE,
	ST_ZONE_RETIRE,
	ST_PAST_SERIAL,
	ST_ZONE_SERIAL,
	ST_ZONE_LOCK,
	ST_ZONE_DOWNSTREAM,
	ST_RRSET_PUT,
	ST_RRSET_GET,
	ST_RRSET_DELETE,
	ST_RRSET_DELETE_ALL,
	ST_RRSET_ALL,
	ST_ZONE_LOAD,
	ST_JOURNAL_NEXT_ID,
	ST_JOURNAL_APPEND,
	ST_JOURNAL_START,
	ST_JOURNAL_LAST,
	ST_JOURNAL_CHAIN,
	ST_JOURNAL_RANGE,
	ST_JOURNAL_HISTORY,
	ST_JOURNAL_TRIM_BEFORE,
	ST_JOURNAL_TRIM_KEEP,
	ST_PROPOSAL_INSERT,
	ST_PROPOSAL_GET,
	ST_PROPOSAL_LIST,
	ST_PROPOSAL_LIST_STATUS,
	ST_PROPOSAL_REVIEW,
	ST_PROPOSAL_APPLY,
	ST_DNSSEC_GET,
	ST_DNSSEC_PUT,
	ST_DNSSEC_DELETE,
	ST_KEY_INSERT,
	ST_KEY_LIST,
	ST_KEY_UPDATE,
	ST_KEY_EVENT_INSERT,
	ST_KEY_EVENTS,
	ST_KEY_DELETE_ALL,
	ST_SERVICE_INSERT,
	ST_SERVICE_UPDATE,
	ST_SERVICE_GET,
	ST_SERVICE_LIST,
	ST_SERVICE_COUNT,
	ST_SERVICE_DELETE,
	ST_SETTING_PUT,
	ST_SETTING_GET,
	ST_USAGE_ADD,
	ST_USAGE_LIST,
	ST_USAGE_LIST_ALL,
	ST_ACME_ACCOUNT_GET,
	ST_ACME_ACCOUNT_PUT,
	ST_CERT_GET,
	ST_CERT_PUT,
	ST_CERT_DUE,
	ST_CERT_NEXT,
	ST_ALIAS_ADD,
	ST_ALIAS_LIST,
	ST_ALIAS_SET,
	ST_ALIAS_DELETE,
	ST_TSIG_KEY_ADD,
	ST_TSIG_KEY_LIST,
	ST_TSIG_KEY_LIST_ALL,
	ST_TSIG_KEY_DELETE,
	ST_OWNERSHIP_PUT,
	ST_OWNERSHIP_LIST,
	ST_COUNT
};

#define ZONE_COLS                                                                                                      \
	"id, apex, tenant, serial, serial_policy, locked, lock_reason, created_at, updated_at, signed_downstream, "    \
	"EXISTS (SELECT 1 FROM dnssec_zones d WHERE d.zone_id = zones.id)"
#define ZONE_NCOLS 11
#define JOURNAL_COLS "id, serial_from, serial_to, changed_at, principal, removed, added"
#define PROPOSAL_COLS                                                                                                  \
	"p.id, z.apex, p.author, p.body, p.status, p.reviewer, p.applier, p.created_at, p.reviewed_at, p.applied_at "  \
	"FROM proposals p JOIN zones z ON z.id = p.zone_id"

#define SERVICE_COLS "id, tenant, canonical, deployment, created_at, updated_at"
#define CERT_COLS                                                                                                      \
	"service_id, names, state, chain, private_key, not_before, not_after, issued_at, order_url, attempts,"         \
	" fail_step, fail_status, fail_message, fail_problem, fail_at, next_at, ech_key, ech_config, ech_old_key,"     \
	" ech_old_config, ech_rotate_at, ech_drop_at, publish_at, updated_at"

#define DNSSEC_COLS                                                                                                    \
	"policy_name, algorithm, denial, nsec3_opt_out, csk, ksk_lifetime, zsk_lifetime, csk_lifetime, dnskey_ttl, "   \
	"max_zone_ttl, propagation_delay, rrsig_lifetime, rrsig_refresh, rrsig_jitter, rrsig_inception, cds, "         \
	"parents, state, updated_at, ds_ttl, ds_check_interval, rfc5011, add_holddown, remove_holddown, "              \
	"unsigning_at, ds_gone_at"
#define KEY_COLS_PUBLIC                                                                                                \
	"key_tag, algorithm, flags, role, public_key, state, created_at, publish_at, ready_at, active_at, retire_at, " \
	"remove_at, revoke_at, use_bits, since, ds_seen"
#define KEY_COLS                                                                                                       \
	"key_tag, algorithm, flags, role, public_key, state, created_at, publish_at, ready_at, active_at, retire_at, " \
	"remove_at, revoke_at, use_bits, since, ds_seen, private_key"

/* One SQLite connection and its prepared statements. A cached statement busy in an outer walk
 * (a callback calling back into the store) is not reused: a one-off copy is prepared instead. */
struct conn {
	sqlite3 *db;
	struct conn *next; /* in the idle pool */
	sqlite3_stmt *stmt[ST_COUNT];
	bool in_use[ST_COUNT];
};

struct sq_txn {
	struct store_txn base;
	struct conn *conn; /* NULL for the store's latest handle, which borrows one per call */
	int64_t now; /* seconds since the epoch at store_begin() */
	bool aborted; /* SQLite rolled the transaction back after an error */
	struct sq_txn *prev, *next; /* open read snapshots, for store_close() */
};

struct sq_store {
	struct store base;
	char *path;
	struct conn *writer;
	pthread_mutex_t write_lock; /* held from store_begin() to commit or rollback */
	pthread_mutex_t pool_lock; /* idle, nidle, reads */
	bool locks_ready;
	struct conn *idle;
	unsigned nidle;
	struct sq_txn *write_txn;
	struct sq_txn *reads;
	struct sq_txn latest;
	/* WAL checkpoints run here, not inside a writer's commit (where they cost the unlucky
	 * request three more flushes): the writer's automatic checkpoints are off, and its WAL hook
	 * wakes this thread once the WAL holds CKPT_PAGES pages. Not on a timer: after a checkpoint
	 * has copied everything, the next commit starts the WAL over and flushes its header once
	 * more, so checkpointing an idle store every second made every occasional write pay two
	 * flushes instead of one. */
	struct conn *ckpt;
	struct ev_loop *ckpt_loop;
	struct ev_thread ckpt_thread;
	struct ev_async ckpt_due;
	unsigned ckpt_wake_at; /* the writer's WAL hook's: the WAL length that wakes the thread next */
};

#define CKPT_PAGES 1000 /* SQLite's own automatic checkpoint threshold */
#define CKPT_RESTART_PAGES (4 * CKPT_PAGES) /* a WAL this long is started over (checkpoint()) */
#define CKPT_RESTART_WAIT_MS 100 /* how long a RESTART checkpoint waits for readers */

/* A statement in use: taken from a connection's cache, bound, stepped, given back. */
struct q {
	struct conn *c;
	struct sq_txn *t;
	enum stmt id;
	sqlite3_stmt *s;
	int bind_rc;
};

/* What a walk over rows hands each row to: the caller's callback (one of them) and its argument. */
struct walk {
	store_zone_fn zone;
	store_rrset_fn rrset;
	store_journal_fn journal;
	store_proposal_fn proposal;
	store_key_fn key;
	store_key_event_fn key_event;
	store_service_fn service;
	store_cert_due_fn cert_due;
	store_alias_fn alias;
	store_tsig_key_fn tsig_key;
	store_ownership_fn ownership;
	void *arg;
	char *err; /* where a row found broken is named (RRsets) */
	size_t errlen;
};
typedef int (*row_fn)(sqlite3_stmt *s, const struct walk *w, struct store_page *page);

/* store_sqlite.c */
void sq_conn_give(struct sq_txn *t, struct conn *c);
int sq_conn_take(struct sq_txn *t, bool write, struct conn **out, char *err, size_t errlen);

/* store_sqlite_stmt.c */
__attribute__((format(printf, 3, 4))) void sq_errf(char *err, size_t errlen, const char *fmt, ...);
/* Writes the message and evaluates to code: `return set_err(...)` or `rc = set_err(...)`. An
 * expression rather than a function so static analysers see the code that comes back. */
#define set_err(err, errlen, code, ...) (sq_errf((err), (errlen), __VA_ARGS__), (code))

const uint8_t *sq_col_blob(sqlite3_stmt *s, int i, size_t *len);
void sq_col_name(sqlite3_stmt *s, int i, uint8_t out[NAME_MAXLEN]);
void sq_col_text(sqlite3_stmt *s, int i, char *out, size_t cap);
int sq_exec_sql(struct conn *c, const char *sql, char *err, size_t errlen);
void sq_q_blob(struct q *q, int i, const void *p, size_t n);
void sq_q_close(struct q *q);
void sq_q_int(struct q *q, int i, int64_t v);
void sq_q_null(struct q *q, int i);
int sq_q_open(struct q *q, struct sq_txn *t, struct conn *c, enum stmt id, char *err, size_t errlen);
int sq_q_step(struct q *q, char *err, size_t errlen);
void sq_q_text(struct q *q, int i, const char *s);
int sq_walk_rows(struct q *q, unsigned limit, row_fn each, const struct walk *w, struct store_page *page, char *err,
                 size_t errlen);

/* store_sqlite_schema.c */
int sq_migrate(struct conn *c, const char *path, char *err, size_t errlen);
int sq_set_wal(struct conn *c, const char *path, char *err, size_t errlen);

/* store_sqlite_zones.c */
int sq_zone_call(struct sq_txn *t, bool write, const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                 uint8_t lowner[NAME_MAXLEN], struct conn **c, int64_t *zid, char *err, size_t errlen);
int sq_zone_id(struct sq_txn *t, struct conn *c, const uint8_t *lapex, int64_t *id, uint32_t *serial, char *err,
               size_t errlen);
int sq_zone_id_write(struct sq_txn *t, enum stmt id, const uint8_t *apex, int64_t v2, char *err, size_t errlen);
int sq_zone_create(struct store_txn *bt, struct store_zone *z, char *err, size_t errlen);
int sq_zone_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen);
int sq_zone_get(struct store_txn *bt, const uint8_t *apex, struct store_zone *out, char *err, size_t errlen);
int sq_zone_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen);
int sq_zone_list(struct store_txn *bt, const char *tenant, const uint8_t *after, unsigned limit, store_zone_fn fn,
                 void *arg, struct store_page *page, char *err, size_t errlen);
int sq_zone_past_serial(struct store_txn *bt, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen);
int sq_zone_set_lock(struct store_txn *bt, const uint8_t *apex, bool locked, const char *reason, char *err,
                     size_t errlen);
int sq_zone_set_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen);
int sq_zone_set_downstream(struct store_txn *bt, const uint8_t *apex, bool on, char *err, size_t errlen);
int sq_rrset_delete(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, char *err,
                    size_t errlen);
int sq_rrset_delete_all(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen);
int sq_rrset_foreach(struct store_txn *bt, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err, size_t errlen);
int sq_zone_load(struct store_txn *bt, const uint8_t *after, unsigned limit, store_zone_fn zone_fn,
                 store_rrset_fn rrset_fn, void *arg, struct store_page *page, char *err, size_t errlen);
int sq_rrset_get(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                 struct store_rrset *out, char *err, size_t errlen);
int sq_rrset_put(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, uint32_t ttl,
                 const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen);

/* store_sqlite_history.c */
int sq_journal_append(struct store_txn *bt, const uint8_t *apex, const struct store_journal_entry *e, int64_t *id,
                      char *err, size_t errlen);
int sq_journal_history(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_journal_fn fn,
                       void *arg, struct store_page *page, char *err, size_t errlen);
int sq_journal_read_from(struct store_txn *bt, const uint8_t *apex, uint32_t serial, store_journal_fn fn, void *arg,
                         char *err, size_t errlen);
int sq_journal_trim_keep(struct store_txn *bt, const uint8_t *apex, unsigned keep, char *err, size_t errlen);
int sq_journal_trim_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen);
int sq_proposal_create(struct store_txn *bt, const uint8_t *apex, const char *author, const char *body, int64_t created,
                       int64_t *id, char *err, size_t errlen);
int sq_proposal_get(struct store_txn *bt, int64_t id, struct store_proposal *out, char *err, size_t errlen);
int sq_proposal_list(struct store_txn *bt, const uint8_t *apex, enum store_proposal_status status, int64_t after,
                     unsigned limit, store_proposal_fn fn, void *arg, struct store_page *page, char *err,
                     size_t errlen);
int sq_proposal_set_status(struct store_txn *bt, int64_t id, enum store_proposal_status status, const char *principal,
                           char *err, size_t errlen);

/* store_sqlite_dnssec.c */
int sq_dnssec_get(struct store_txn *bt, const uint8_t *apex, struct store_dnssec *out, char *err, size_t errlen);
int sq_dnssec_put(struct store_txn *bt, const uint8_t *apex, const struct store_dnssec *d, char *err, size_t errlen);
int sq_dnssec_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen);
int sq_key_add(struct store_txn *bt, const uint8_t *apex, struct store_key *k, const char *reason, char *err,
               size_t errlen);
int sq_key_update(struct store_txn *bt, const uint8_t *apex, const struct store_key *k, enum store_key_state from,
                  const char *reason, char *err, size_t errlen);
int sq_key_foreach(struct store_txn *bt, const uint8_t *apex, bool private_keys, store_key_fn fn, void *arg, char *err,
                   size_t errlen);
int sq_key_delete_all(struct store_txn *bt, const uint8_t *apex, const char *reason, char *err, size_t errlen);
int sq_key_journal(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_key_event_fn fn,
                   void *arg, struct store_page *page, char *err, size_t errlen);

/* store_sqlite_services.c */
int sq_service_put(struct store_txn *bt, const struct store_service *s, bool create, char *err, size_t errlen);
int sq_service_get(struct store_txn *bt, const char *id, struct store_service *out, char *err, size_t errlen);
int sq_service_list(struct store_txn *bt, const char *tenant, store_service_fn fn, void *arg, char *err, size_t errlen);
int sq_service_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen);
int sq_service_delete(struct store_txn *bt, const char *id, char *err, size_t errlen);
int sq_usage_add(struct store_txn *bt, const struct store_usage_row *r, char *err, size_t errlen);
int sq_usage_list(struct store_txn *bt, const char *tenant, int64_t from_day, int64_t to_day, store_usage_fn fn,
                  void *arg, char *err, size_t errlen);
int sq_setting_put(struct store_txn *bt, const char *name, const void *value, size_t len, char *err, size_t errlen);
int sq_setting_get(struct store_txn *bt, const char *name, void **value, size_t *len, int64_t *updated, char *err,
                   size_t errlen);

/* store_sqlite_certs.c */
int sq_acme_account_get(struct store_txn *bt, char **pem, char *err, size_t errlen);
int sq_acme_account_put(struct store_txn *bt, const char *pem, char *err, size_t errlen);
int sq_cert_get(struct store_txn *bt, const char *service, bool keys, struct store_cert *out, char *err, size_t errlen);
int sq_cert_put(struct store_txn *bt, const struct store_cert *c, char *err, size_t errlen);
int sq_cert_due(struct store_txn *bt, int64_t now, unsigned limit, store_cert_due_fn fn, void *arg, char *err,
                size_t errlen);
int sq_cert_next(struct store_txn *bt, int64_t *at, char *err, size_t errlen);
/* store_sqlite_ownership.c */
int sq_ownership_put(struct store_txn *bt, const struct store_ownership *o, char *err, size_t errlen);
int sq_ownership_list(struct store_txn *bt, const char *tenant, const uint8_t *name, store_ownership_fn fn, void *arg,
                      char *err, size_t errlen);

/* store_sqlite_aliases.c */
int sq_alias_add(struct store_txn *bt, const struct store_alias *a, unsigned limit, char *err, size_t errlen);
int sq_alias_list(struct store_txn *bt, const char *service, store_alias_fn fn, void *arg, char *err, size_t errlen);
int sq_alias_set(struct store_txn *bt, const struct store_alias *a, char *err, size_t errlen);
int sq_alias_delete(struct store_txn *bt, const char *service, const uint8_t *name, char *err, size_t errlen);
/* store_sqlite_tsig.c */
int sq_tsig_key_add(struct store_txn *bt, const struct store_tsig_key *k, unsigned limit, char *err, size_t errlen);
int sq_tsig_key_list(struct store_txn *bt, const char *tenant, store_tsig_key_fn fn, void *arg, char *err,
                     size_t errlen);
int sq_tsig_key_delete(struct store_txn *bt, const char *tenant, const uint8_t *name, char *err, size_t errlen);
/* store_sqlite_copy.c */
int sq_table_rows(struct store_txn *bt, const struct store_table *tab, store_row_fn fn, void *arg, char *err,
                  size_t errlen);
int sq_table_insert(struct store_txn *bt, const struct store_table *tab, const struct store_cell *row, char *err,
                    size_t errlen);
int sq_table_counter(struct store_txn *bt, const struct store_table *tab, bool raise, int64_t *last, char *err,
                     size_t errlen);
