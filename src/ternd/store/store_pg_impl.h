/* Internals shared by the PostgreSQL store's files (store_pg*.c): its connection, transaction and
 * statement types, and the calls each file offers the others, grouped by file. */
#pragma once
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ternd/store/store_common.h"
#include "ternd/base/event.h"
#include "ternd/store/store.h"

#define PG_POOL_IDLE_MAX 8
#define PG_PARAMS_MAX 32
/* the advisory locks: migrations (at start), and every write transaction (one writer at a time
 * across every ternd on the database, as SQLite's BEGIN IMMEDIATE) */
#define PG_LOCK_MIGRATE "1952805486, 1" /* pg_advisory_xact_lock(int, int): 0x7465726e is "tern" */
#define PG_LOCK_WRITE "1952805486, 2"

#define PG_PREPARED_MAX 128 /* more than the backend's statements */

/* One connection to the server, with the statements prepared on its session (named "t<i>", keyed
 * by the SQL text's address: every text is a literal). */
struct pconn {
	PGconn *pg;
	struct pconn *next; /* in the idle pool */
	const char *prepared[PG_PREPARED_MAX];
	unsigned nprepared; /* 0 again when the session is made anew */
};

struct pg_txn {
	struct store_txn base;
	struct pconn *conn; /* NULL for the store's latest handle, which borrows one per call */
	int64_t now; /* seconds since the epoch at store_begin() */
	bool lost; /* the connection broke inside the transaction: nothing more of it can commit */
	bool mark; /* a savepoint is set (store_mark) */
	struct pg_txn *prev, *next; /* open read snapshots, for store_close() */
};

struct pg_store {
	struct store base;
	char *conninfo;
	struct pconn *writer;
	pthread_mutex_t write_lock; /* held from store_begin() to commit or rollback */
	pthread_mutex_t pool_lock; /* idle, nidle, reads */
	bool locks_ready;
	struct pconn *idle;
	unsigned nidle;
	struct pg_txn *write_txn;
	struct pg_txn *reads;
	struct pg_txn latest;
	uint64_t node; /* this store's id in the notifications it sends (its own are not heard) */
	/* store_watch (store_pg_watch.c): a connection that LISTENs, on a loop thread of its own */
	struct ev_loop *wloop;
	struct ev_thread wthread;
	struct ev_io wio;
	struct ev_timer wretry;
	PGconn *listen;
	store_watch_fn wfn;
	void *warg;
};

/* One statement: its parameters ($1.. by index: text, or binary for bytea), then its result
 * (binary: integers big-endian of the column's width, text and bytea as they are). */
struct pq {
	int n;
	const char *v[PG_PARAMS_MAX];
	int len[PG_PARAMS_MAX];
	int fmt[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][24];
	PGresult *res;
	int rows;
	int64_t changes; /* rows an INSERT, UPDATE or DELETE touched */
};

__attribute__((format(printf, 3, 4))) void pg_errf(char *err, size_t errlen, const char *fmt, ...);
#define pg_err(err, errlen, code, ...) (pg_errf((err), (errlen), __VA_ARGS__), (code))

/* store_pg.c */
int pg_conn_take(struct pg_txn *t, bool write, struct pconn **out, char *err, size_t errlen);
void pg_conn_give(struct pg_txn *t, struct pconn *c);
int pg_connect(const char *conninfo, PGconn **out, char *err, size_t errlen);
/* A connection the server dropped made anew in place (PQreset); 0 when it is up. */
int pg_conn_revive(struct pconn *c, char *err, size_t errlen);

/* store_pg_query.c */
void pq_int(struct pq *q, int i, int64_t v);
void pq_blob(struct pq *q, int i, const void *p, size_t n);
void pq_text(struct pq *q, int i, const char *s);
void pq_null(struct pq *q, int i);
/* Runs sql with the bound parameters on c: the rows returned (0 for none), or a negative TERN_E*
 * (TERN_EEXIST for a unique violation, TERN_EINVAL for another constraint, TERN_EIO else). */
int pq_run(struct pq *q, struct pg_txn *t, struct pconn *c, const char *sql, char *err, size_t errlen);
void pq_clear(struct pq *q);
bool pq_isnull(const struct pq *q, int row, int col);
int64_t pq_i(const struct pq *q, int row, int col);
const uint8_t *pq_b(const struct pq *q, int row, int col, size_t *len);
const char *pq_s(const struct pq *q, int row, int col); /* "" for NULL */
void pq_copy(const struct pq *q, int row, int col, char *out, size_t cap);
void pq_name(const struct pq *q, int row, int col, uint8_t out[NAME_MAXLEN]);
/* Runs one SQL text without parameters on a connection (transaction control, migrations). */
int pg_exec(PGconn *pg, const char *sql, char *err, size_t errlen);
/* Hands rows to each(row): with a limit, the statement asked for limit + 1 rows and page->more
 * says whether there were. A nonzero each() stops. */
typedef int (*pq_row_fn)(const struct pq *q, int row, void *arg, struct store_page *page);
int pq_walk(const struct pq *q, unsigned limit, pq_row_fn each, void *arg, struct store_page *page);

/* store_pg_watch.c */
/* Tells the other processes on the database that zone lapex changed, at this transaction's commit. */
int pg_notify_zone(struct pg_txn *t, struct pconn *c, const uint8_t *lapex, char *err, size_t errlen);
int pg_watch(struct store *base, store_watch_fn fn, void *arg, char *err, size_t errlen);
uint64_t pg_node_id(void);

/* store_pg_schema.c */
int pg_migrate(PGconn *pg, char *err, size_t errlen);
int pg_schema_version(PGconn *pg, int *have, char *err, size_t errlen);
int pg_schema_want(void);

/* store_pg_zones.c */
int pg_zone_call(struct pg_txn *t, bool write, const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                 uint8_t lowner[NAME_MAXLEN], struct pconn **c, int64_t *zid, char *err, size_t errlen);
int pg_zone_id(struct pg_txn *t, struct pconn *c, const uint8_t *lapex, int64_t *id, uint32_t *serial, char *err,
               size_t errlen);
int pg_zone_create(struct store_txn *bt, struct store_zone *z, char *err, size_t errlen);
int pg_zone_get(struct store_txn *bt, const uint8_t *apex, struct store_zone *out, char *err, size_t errlen);
int pg_zone_list(struct store_txn *bt, const char *tenant, const uint8_t *after, unsigned limit, store_zone_fn fn,
                 void *arg, struct store_page *page, char *err, size_t errlen);
int pg_zone_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen);
int pg_zone_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen);
int pg_zone_past_serial(struct store_txn *bt, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen);
int pg_zone_set_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen);
int pg_zone_set_lock(struct store_txn *bt, const uint8_t *apex, bool locked, const char *reason, char *err,
                     size_t errlen);
int pg_zone_set_downstream(struct store_txn *bt, const uint8_t *apex, bool on, char *err, size_t errlen);
int pg_rrset_put(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, uint32_t ttl,
                 const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen);
int pg_rrset_get(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                 struct store_rrset *out, char *err, size_t errlen);
int pg_rrset_delete(struct store_txn *bt, const uint8_t *apex, const uint8_t *owner, uint16_t type, char *err,
                    size_t errlen);
int pg_rrset_delete_all(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen);
int pg_rrset_foreach(struct store_txn *bt, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err, size_t errlen);
int pg_zone_load(struct store_txn *bt, const uint8_t *after, unsigned limit, store_zone_fn zone_fn,
                 store_rrset_fn rrset_fn, void *arg, struct store_page *page, char *err, size_t errlen);
/* One statement bound to ($1 zone id, $2 v) on a write: emptying a zone, trimming its journal. */
int pg_zone_id_write(struct pg_txn *t, const char *sql, const uint8_t *apex, int64_t v, bool with_v, char *err,
                     size_t errlen);

/* store_pg_history.c */
int pg_journal_append(struct store_txn *bt, const uint8_t *apex, const struct store_journal_entry *e, int64_t *id,
                      char *err, size_t errlen);
int pg_journal_read_from(struct store_txn *bt, const uint8_t *apex, uint32_t serial, store_journal_fn fn, void *arg,
                         char *err, size_t errlen);
int pg_journal_history(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_journal_fn fn,
                       void *arg, struct store_page *page, char *err, size_t errlen);
int pg_journal_trim_keep(struct store_txn *bt, const uint8_t *apex, unsigned keep, char *err, size_t errlen);
int pg_journal_trim_serial(struct store_txn *bt, const uint8_t *apex, uint32_t serial, char *err, size_t errlen);
int pg_proposal_create(struct store_txn *bt, const uint8_t *apex, const char *author, const char *body, int64_t created,
                       int64_t *id, char *err, size_t errlen);
int pg_proposal_get(struct store_txn *bt, int64_t id, struct store_proposal *out, char *err, size_t errlen);
int pg_proposal_list(struct store_txn *bt, const uint8_t *apex, enum store_proposal_status status, int64_t after,
                     unsigned limit, store_proposal_fn fn, void *arg, struct store_page *page, char *err,
                     size_t errlen);
int pg_proposal_set_status(struct store_txn *bt, int64_t id, enum store_proposal_status status, const char *principal,
                           char *err, size_t errlen);

/* store_pg_dnssec.c */
int pg_dnssec_get(struct store_txn *bt, const uint8_t *apex, struct store_dnssec *out, char *err, size_t errlen);
int pg_dnssec_put(struct store_txn *bt, const uint8_t *apex, const struct store_dnssec *d, char *err, size_t errlen);
int pg_dnssec_delete(struct store_txn *bt, const uint8_t *apex, char *err, size_t errlen);
int pg_key_add(struct store_txn *bt, const uint8_t *apex, struct store_key *k, const char *reason, char *err,
               size_t errlen);
int pg_key_update(struct store_txn *bt, const uint8_t *apex, const struct store_key *k, enum store_key_state from,
                  const char *reason, char *err, size_t errlen);
int pg_key_foreach(struct store_txn *bt, const uint8_t *apex, bool private_keys, store_key_fn fn, void *arg, char *err,
                   size_t errlen);
int pg_key_delete_all(struct store_txn *bt, const uint8_t *apex, const char *reason, char *err, size_t errlen);
int pg_key_journal(struct store_txn *bt, const uint8_t *apex, int64_t before, unsigned limit, store_key_event_fn fn,
                   void *arg, struct store_page *page, char *err, size_t errlen);

/* store_pg_services.c (services, settings, the ACME account, certificates, aliases) */
int pg_service_put(struct store_txn *bt, const struct store_service *s, bool create, char *err, size_t errlen);
int pg_service_get(struct store_txn *bt, const char *id, struct store_service *out, char *err, size_t errlen);
int pg_service_list(struct store_txn *bt, const char *tenant, store_service_fn fn, void *arg, char *err, size_t errlen);
int pg_service_count(struct store_txn *bt, const char *tenant, uint64_t *n, char *err, size_t errlen);
int pg_service_delete(struct store_txn *bt, const char *id, char *err, size_t errlen);
int pg_setting_put(struct store_txn *bt, const char *name, const void *value, size_t len, char *err, size_t errlen);
/* store_pg_keys.c */
int pg_tsig_key_add(struct store_txn *bt, const struct store_tsig_key *k, unsigned limit, char *err, size_t errlen);
int pg_tsig_key_list(struct store_txn *bt, const char *tenant, store_tsig_key_fn fn, void *arg, char *err,
                     size_t errlen);
int pg_tsig_key_delete(struct store_txn *bt, const char *tenant, const uint8_t *in, char *err, size_t errlen);
int pg_usage_add(struct store_txn *bt, const struct store_usage_row *r, char *err, size_t errlen);
int pg_usage_list(struct store_txn *bt, const char *tenant, int64_t from_day, int64_t to_day, store_usage_fn fn,
                  void *arg, char *err, size_t errlen);
int pg_setting_get(struct store_txn *bt, const char *name, void **value, size_t *len, int64_t *updated, char *err,
                   size_t errlen);
int pg_acme_account_get(struct store_txn *bt, char **pem, char *err, size_t errlen);
int pg_acme_account_put(struct store_txn *bt, const char *pem, char *err, size_t errlen);
int pg_cert_get(struct store_txn *bt, const char *service, bool keys, struct store_cert *out, char *err, size_t errlen);
int pg_cert_put(struct store_txn *bt, const struct store_cert *c, char *err, size_t errlen);
int pg_cert_due(struct store_txn *bt, int64_t now, unsigned limit, store_cert_due_fn fn, void *arg, char *err,
                size_t errlen);
int pg_cert_next(struct store_txn *bt, int64_t *at, char *err, size_t errlen);
int pg_alias_add(struct store_txn *bt, const struct store_alias *a, unsigned limit, char *err, size_t errlen);
int pg_alias_list(struct store_txn *bt, const char *service, store_alias_fn fn, void *arg, char *err, size_t errlen);
int pg_alias_set(struct store_txn *bt, const struct store_alias *a, char *err, size_t errlen);
int pg_alias_delete(struct store_txn *bt, const char *service, const uint8_t *name, char *err, size_t errlen);

/* store_pg_ownership.c */
int pg_ownership_put(struct store_txn *bt, const struct store_ownership *o, char *err, size_t errlen);
int pg_ownership_list(struct store_txn *bt, const char *tenant, const uint8_t *name, store_ownership_fn fn, void *arg,
                      char *err, size_t errlen);

/* store_pg_copy.c */
int pg_table_rows(struct store_txn *bt, const struct store_table *tab, store_row_fn fn, void *arg, char *err,
                  size_t errlen);
int pg_table_insert(struct store_txn *bt, const struct store_table *tab, const struct store_cell *row, char *err,
                    size_t errlen);
int pg_table_counter(struct store_txn *bt, const struct store_table *tab, bool raise, int64_t *last, char *err,
                     size_t errlen);
/* The server's failure of res on pg as a TERN_E* with its message (store_pg_query.c). */
int pg_result_error(PGconn *pg, const PGresult *res, char *err, size_t errlen);
