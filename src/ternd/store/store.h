/* The control plane's store: zones, RRsets, change journal and change proposals behind one
 * interface (a backend vtable), so SQLite today and PostgreSQL later serve the same callers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/wire.h"

/* Limits checked by every backend (bytes, without the terminating NUL). */
#define STORE_TENANT_MAX 128
#define STORE_PRINCIPAL_MAX 256
#define STORE_REASON_MAX 512
#define STORE_BODY_MAX (1024 * 1024)
/* The tenant owning the configuration's signed zone files (zones[i].dnssec-policy): no API caller
 * is this tenant (auth_tenant_problem refuses the name), and the API writes none of its zones. */
#define STORE_TENANT_CONFIG ":config"

/*
 * Handles. A struct store_txn is what every read and write goes through:
 *  - store_begin():      a write transaction; sees its own writes; one at a time per store
 *                        (another thread's store_begin() waits); serialised with other processes
 *                        by the database itself.
 *  - store_begin_read(): a read-only snapshot: every read sees the database as of its first read.
 *  - store_latest():     no transaction: each call sees the latest committed data. Owned by the
 *                        store; never committed nor rolled back; safe to use from any thread.
 * Writes through a read handle fail with TERN_EINVAL. A call that fails leaves the transaction
 * usable (the failed call changed nothing) unless the database aborted it, after which every call
 * and the commit fail with TERN_EIO: roll it back.
 * Callbacks get pointers valid only during the call; they may read through any handle but must not
 * write through the handle being walked. A nonzero return from a callback stops the walk and is
 * returned by the walking function.
 */
struct store;
struct store_txn;

enum store_serial_policy {
	STORE_SERIAL_DATE, /* YYYYMMDDnn (RFC 1912 2.2) */
	STORE_SERIAL_INCREMENT, /* +1 */
};

struct store_zone {
	int64_t id;
	uint8_t apex[NAME_MAXLEN]; /* wire form, lower-cased */
	char tenant[STORE_TENANT_MAX + 1];
	uint32_t serial;
	enum store_serial_policy serial_policy;
	bool locked;
	char lock_reason[STORE_REASON_MAX + 1]; /* "" when unlocked */
	int64_t created, updated; /* seconds since the epoch */
	/* signed downstream: the zone's secondaries sign it (Knot at a PoP with its own keys); Tern does
	 * not, and it holds no DNSSEC records (the change module's rule) */
	bool signed_downstream;
	/* a DNSSEC policy row exists (store_dnssec_get finds one): Tern signs it, or is turning that off */
	bool dnssec;
};

/* One RRset. rdata holds count records, each a 16-bit big-endian length then the bytes (the
 * layout of struct rrset.rdata in lib/zone.h). */
struct store_rrset {
	uint8_t owner[NAME_MAXLEN]; /* wire form, lower-cased */
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	const uint8_t *rdata;
	uint32_t rdata_size; /* bytes in rdata, lengths included */
	/* NULL when every record has ttl; else count big-endian 32-bit TTLs, one per record (the RRSIGs
	 * of a name, each at the TTL of the RRset it covers: lib/zone.h). store_rrset_ttl() reads it. */
	const uint8_t *ttls;
};

/* The TTL of record i of rs. */
static inline uint32_t store_rrset_ttl(const struct store_rrset *rs, uint16_t i)
{
	const uint8_t *p = rs->ttls ? rs->ttls + 4u * i : NULL;
	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : rs->ttl;
}

/* One change of a zone (RFC 1995): the records removed and added going from serial_from to
 * serial_to. removed and added are RR lists (store_rr_next()). An entry with both lists empty
 * (every real change carries the SOA) is a whole-zone replacement: its serials and principal are
 * history, but it holds no delta, and store_journal_read_from() refuses a chain crossing it
 * (TERN_ENOTFOUND: the reader sends the whole zone). */
struct store_journal_entry {
	int64_t id; /* grows with every append; set by the store */
	uint32_t serial_from, serial_to;
	int64_t time; /* seconds since the epoch; 0 on append = the transaction's start */
	const char *principal; /* who made the change */
	const uint8_t *removed;
	size_t removed_len;
	const uint8_t *added;
	size_t added_len;
};

enum store_proposal_status {
	STORE_PROPOSAL_ANY = 0, /* listing filter only */
	STORE_PROPOSAL_PENDING,
	STORE_PROPOSAL_APPROVED,
	STORE_PROPOSAL_REJECTED,
	STORE_PROPOSAL_APPLIED,
};

struct store_proposal {
	int64_t id;
	uint8_t zone[NAME_MAXLEN]; /* apex */
	char author[STORE_PRINCIPAL_MAX + 1];
	char reviewer[STORE_PRINCIPAL_MAX + 1]; /* who approved or rejected; "" while pending */
	char applier[STORE_PRINCIPAL_MAX + 1]; /* "" until applied */
	const char *body; /* JSON text describing the change */
	enum store_proposal_status status;
	int64_t created, reviewed, applied; /* seconds since the epoch; 0 = not yet */
};

/* A service (api_services.c): a tenant's canonical name <id>.<services zone> whose A and AAAA
 * answers its deployment (JSON text, checked by the caller) makes. */
#define STORE_SERVICE_ID_LEN 36 /* a UUID in text form, lower case */
struct store_service {
	char id[STORE_SERVICE_ID_LEN + 1];
	char tenant[STORE_TENANT_MAX + 1];
	uint8_t canonical[NAME_MAXLEN]; /* wire form, lower-cased */
	const char *deployment; /* JSON text */
	int64_t created, updated; /* seconds since the epoch; set by the store */
};

/* A service's certificate and ECH keys (the svc module): one row per service, removed with it.
 * Written only by the svc thread; the API reads it (the keys only for the ingress route). */
#define STORE_CERT_TEXT_MAX 1024 /* names, the order URL */
#define STORE_ECH_KEY_LEN 32 /* X25519, raw */
#define STORE_ECH_CONFIG_MAX 320 /* one ECHConfig (lib/ech.h's ECH_CONFIG_MAX is 310) */
struct store_cert {
	char service[STORE_SERVICE_ID_LEN + 1];
	char names[STORE_CERT_TEXT_MAX + 1]; /* host names, one space between, the canonical first */
	char state[16]; /* pending, valid, failed, expired */
	char *chain; /* PEM, leaf first (malloc'd), or NULL */
	char *key; /* the certificate's private key, PKCS#8 PEM (malloc'd; read only when asked), or NULL */
	int64_t not_before, not_after, issued_at; /* seconds since the epoch; 0: none */
	char order_url[STORE_CERT_TEXT_MAX + 1];
	int64_t attempts; /* failed attempts since the last success */
	/* the last failure (kept after a later success, fail_at tells when) */
	char fail_step[32];
	int fail_status; /* the CA's HTTP status, 0 when none */
	char fail_message[512];
	char *fail_problem; /* the CA's problem document, JSON text (malloc'd), or NULL */
	int64_t fail_at;
	int64_t next_at; /* when the certificate is worked on next (issue, retry, renew) */
	/* ECH: the current key pair's private half and its ECHConfig; during a rotation the previous
	 * (old_len > 0) until drop_at. The private halves are read only when asked. */
	uint8_t ech_key[STORE_ECH_KEY_LEN], ech_old_key[STORE_ECH_KEY_LEN];
	uint8_t ech_config[STORE_ECH_CONFIG_MAX], ech_old_config[STORE_ECH_CONFIG_MAX];
	size_t ech_config_len, ech_old_config_len;
	int64_t ech_rotate_at, ech_drop_at; /* the next rotation; the old config's end (0: none) */
	int64_t publish_at; /* the HTTPS record is written again then (a failed publish; 0: none) */
};

/* A user's name pointing at a service's canonical domain (issue 20's aliases): one row per name
 * (a name is the alias of one service at most), verified by the svc thread, removed with the
 * service. state: pending (not looked at yet), verified, refused (never pointed here), lost
 * (pointed here once, no longer: left out of the certificate). */
#define STORE_ALIAS_REASON_MAX 1023
struct store_alias {
	char service[STORE_SERVICE_ID_LEN + 1];
	uint8_t name[NAME_MAXLEN]; /* wire form, lower-cased */
	char state[16];
	char reason[STORE_ALIAS_REASON_MAX + 1]; /* what the resolver showed, in words ("" while pending) */
	int64_t created, checked; /* seconds since the epoch; checked 0: not yet */
};

/* A TSIG key made over the API (issue 24): its tenant's, with the update ACL an UPDATE signed with
 * it is judged by (JSON text in the API's form, read back by the API). Key names are unique across
 * tenants (TSIG names a key by name alone). */
#define STORE_TSIG_SECRET_MAX 64
#define STORE_TSIG_ACL_MAX 65536
struct store_tsig_key {
	uint8_t name[NAME_MAXLEN]; /* wire form, lower-cased */
	char tenant[STORE_TENANT_MAX + 1];
	char algorithm[16]; /* hmac-sha256 or hmac-sha512 */
	uint8_t secret[STORE_TSIG_SECRET_MAX];
	size_t secret_len;
	const char *acl; /* a JSON array; in a listing, valid for the callback's length */
	int64_t created; /* seconds since the epoch */
};

/* A tenant's claim to a domain name (issue 23's ownership): the token it must publish in
 * _tern-challenge.<name> TXT, and what the last verification found. One row per (tenant, name):
 * claims by several tenants coexist; the API keeps at most one verified. state: pending (not
 * verified yet), verified, failed (the last verification found no proof), lost (verified once, the
 * proof gone when another tenant proved the name). evidence: JSON text the API wrote (which server
 * answered what, when). */
#define STORE_OWNERSHIP_TOKEN_MAX 63
#define STORE_OWNERSHIP_EVIDENCE_MAX 65536
struct store_ownership {
	char tenant[STORE_TENANT_MAX + 1];
	uint8_t name[NAME_MAXLEN]; /* wire form, lower-cased */
	char token[STORE_OWNERSHIP_TOKEN_MAX + 1];
	char state[16]; /* pending, verified, failed, lost */
	char method[16]; /* "", txt, delegation: how it was last proved or tried */
	const char *evidence; /* JSON text; in a listing, valid for the callback's length */
	int64_t created, checked, verified; /* seconds since the epoch; 0: not yet */
};

/* A zone's DNSSEC signing: its policy (values, checked by the caller) and where signing is. A zone
 * without a row is not signed. */
enum store_dnssec_state {
	STORE_DNSSEC_SIGNING = 1, /* the policy is set, the whole zone is being signed */
	STORE_DNSSEC_SIGNED, /* the served version is signed; every change is re-signed */
};
struct store_dnssec {
	struct dnssec_policy policy;
	enum store_dnssec_state state;
	int64_t updated; /* seconds since the epoch; set by the store */
	/* turning signing off (RFC 8078 delete CDS): when it was asked (0: signing stays on), and when
	 * the DS was seen gone from every parent or the operator said so (0: not yet) */
	int64_t unsigning, ds_gone;
};

/* A DNSSEC key of a zone, with the RFC 7583 timeline: the state it is in and when it entered (or
 * is planned to enter) each (0: not yet, no plan). */
enum store_key_role { STORE_KEY_KSK = 1, STORE_KEY_ZSK, STORE_KEY_CSK };
enum store_key_state {
	STORE_KEY_GENERATED = 1,
	STORE_KEY_PUBLISHED,
	STORE_KEY_READY,
	STORE_KEY_ACTIVE,
	STORE_KEY_RETIRED,
	STORE_KEY_REMOVED,
	STORE_KEY_REVOKED, /* RFC 5011: published with the REVOKE bit for the remove hold-down */
};
#define STORE_KEY_STATE_LAST STORE_KEY_REVOKED
struct store_key {
	int64_t id; /* set by the store */
	uint16_t tag;
	uint8_t algorithm;
	uint16_t flags;
	enum store_key_role role;
	uint8_t dnskey[DNSSEC_DNSKEY_MAX]; /* the DNSKEY RDATA (public key) */
	uint16_t dnskey_len;
	/* the private key (dnssec_key_to_pem()): given on add; read back only by store_key_foreach()
	 * with private set, else NULL. Never log it nor hand it to an answer. */
	const char *pem;
	size_t pem_len;
	enum store_key_state state;
	int64_t created, published, ready, active, retired, removed, revoked;
	/* the rollover plan's (lib/dnssec_roll.h): what the key does in the zone (ROLL_USE_* bits),
	 * when its state or use last changed, and whether its DS is at every parent (KSK, CSK) */
	unsigned use;
	int64_t since;
	bool ds_seen;
};
/* One entry of a zone's key journal: a key moved from one state to another (from 0: it was made). */
struct store_key_event {
	int64_t id;
	int64_t time;
	uint16_t tag;
	enum store_key_state from, to;
	const char *reason;
};

/* Where a keyset listing stopped: pass next_apex (zones) or next_id (journal, proposals) back to
 * get the following page; more is false on the last page. */
struct store_page {
	bool more;
	uint8_t next_apex[NAME_MAXLEN];
	int64_t next_id;
};

typedef int (*store_zone_fn)(const struct store_zone *z, void *arg);
typedef int (*store_rrset_fn)(const struct store_rrset *rs, void *arg);
typedef int (*store_journal_fn)(const struct store_journal_entry *e, void *arg);
typedef int (*store_proposal_fn)(const struct store_proposal *p, void *arg);
typedef int (*store_service_fn)(const struct store_service *s, void *arg);
/* A service whose certificate work is due (store_cert_due): id and canonical name. */
typedef int (*store_alias_fn)(const struct store_alias *a, void *arg);
typedef int (*store_tsig_key_fn)(const struct store_tsig_key *k, void *arg);
typedef int (*store_ownership_fn)(const struct store_ownership *o, void *arg);
typedef int (*store_cert_due_fn)(const char *service, const uint8_t *canonical, void *arg);
typedef int (*store_key_fn)(const struct store_key *k, void *arg);
typedef int (*store_key_event_fn)(const struct store_key_event *e, void *arg);
/* A zone another process changed in the store (store_watch), or NULL: any zone may have (changes
 * went unseen, the connection that hears them having been lost). */
typedef void (*store_watch_fn)(const uint8_t *apex, void *arg);

/* ---- Usage: queries per zone, tenant and UTC day (the usage module adds them as they are taken;
 * a row made for a day a zone was served counts as one zone-day, whatever its queries) ---- */

struct store_usage_row {
	int64_t day; /* days since 1970-01-01 (UTC) */
	uint8_t apex[NAME_MAXLEN]; /* wire form, lower-cased */
	char tenant[STORE_TENANT_MAX + 1]; /* "" for the configuration's zone files */
	uint64_t queries;
};
typedef int (*store_usage_fn)(void *arg, const struct store_usage_row *r);

/* ---- A whole store's rows, table by table (store_copy.c: `tern store copy` between backends) ----
 * The tables and their columns are store_copy.c's list (the same in both schemas); a backend reads
 * and writes the rows as they are, ids and times included, so the copy is the store itself. */
#define STORE_TABLE_COLS_MAX 32
struct store_table {
	const char *name;
	const char *columns; /* "a, b, c": the columns copied, in this order */
	const char *types; /* one letter per column: i integer, b boolean, t text, x bytes */
	const char *order; /* the ORDER BY of a read (parents before children, ids ascending) */
	bool counter; /* an `id` the store hands out (SQLite AUTOINCREMENT, a PostgreSQL identity) */
};
/* One value of a row: null, or i (integer, boolean 0/1), or p and len (text without a NUL, bytes). */
struct store_cell {
	bool null;
	int64_t i;
	const void *p;
	size_t len;
};
typedef int (*store_row_fn)(const struct store_cell *row, void *arg);

/* Backends only: what a backend provides, and the head every backend's handles start with. */
enum store_txn_kind { STORE_TXN_WRITE, STORE_TXN_READ, STORE_TXN_LATEST };
/* A savepoint in a write transaction (store_mark): set one, keep what was written since (release
 * it), or undo what was written since (roll back to it, then release it). One at a time. */
enum store_mark { STORE_MARK_SET, STORE_MARK_KEEP, STORE_MARK_UNDO };
struct store_txn {
	struct store *store;
	enum store_txn_kind kind;
};
struct store_ops {
	void (*close)(struct store *st);
	int (*begin)(struct store *st, enum store_txn_kind kind, struct store_txn **out, char *err, size_t errlen);
	struct store_txn *(*latest)(struct store *st);
	int (*commit)(struct store_txn *t, char *err, size_t errlen);
	void (*rollback)(struct store_txn *t);

	int (*zone_create)(struct store_txn *t, struct store_zone *z, char *err, size_t errlen);
	int (*zone_get)(struct store_txn *t, const uint8_t *apex, struct store_zone *out, char *err, size_t errlen);
	int (*zone_list)(struct store_txn *t, const char *tenant, const uint8_t *after, unsigned limit,
	                 store_zone_fn fn, void *arg, struct store_page *page, char *err, size_t errlen);
	int (*zone_count)(struct store_txn *t, const char *tenant, uint64_t *n, char *err, size_t errlen);
	int (*zone_delete)(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen);
	int (*zone_past_serial)(struct store_txn *t, const uint8_t *apex, uint32_t *serial, char *err, size_t errlen);
	int (*zone_set_serial)(struct store_txn *t, const uint8_t *apex, uint32_t serial, char *err, size_t errlen);
	int (*zone_set_lock)(struct store_txn *t, const uint8_t *apex, bool locked, const char *reason, char *err,
	                     size_t errlen);
	int (*zone_set_downstream)(struct store_txn *t, const uint8_t *apex, bool on, char *err, size_t errlen);

	int (*rrset_put)(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type, uint32_t ttl,
	                 const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen);
	int (*rrset_get)(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type,
	                 struct store_rrset *out, char *err, size_t errlen);
	int (*rrset_delete)(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type, char *err,
	                    size_t errlen);
	int (*rrset_delete_all)(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen);
	int (*rrset_foreach)(struct store_txn *t, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err,
	                     size_t errlen);
	int (*zone_load)(struct store_txn *t, const uint8_t *after, unsigned limit, store_zone_fn zone_fn,
	                 store_rrset_fn rrset_fn, void *arg, struct store_page *page, char *err, size_t errlen);

	int (*journal_append)(struct store_txn *t, const uint8_t *apex, const struct store_journal_entry *e,
	                      int64_t *id, char *err, size_t errlen);
	int (*journal_read_from)(struct store_txn *t, const uint8_t *apex, uint32_t serial, store_journal_fn fn,
	                         void *arg, char *err, size_t errlen);
	int (*journal_history)(struct store_txn *t, const uint8_t *apex, int64_t before, unsigned limit,
	                       store_journal_fn fn, void *arg, struct store_page *page, char *err, size_t errlen);
	int (*journal_trim_keep)(struct store_txn *t, const uint8_t *apex, unsigned keep, char *err, size_t errlen);
	int (*journal_trim_serial)(struct store_txn *t, const uint8_t *apex, uint32_t serial, char *err, size_t errlen);

	int (*proposal_create)(struct store_txn *t, const uint8_t *apex, const char *author, const char *body,
	                       int64_t created, int64_t *id, char *err, size_t errlen);
	int (*proposal_get)(struct store_txn *t, int64_t id, struct store_proposal *out, char *err, size_t errlen);
	int (*proposal_list)(struct store_txn *t, const uint8_t *apex, enum store_proposal_status status, int64_t after,
	                     unsigned limit, store_proposal_fn fn, void *arg, struct store_page *page, char *err,
	                     size_t errlen);
	int (*proposal_set_status)(struct store_txn *t, int64_t id, enum store_proposal_status status,
	                           const char *principal, char *err, size_t errlen);

	int (*dnssec_get)(struct store_txn *t, const uint8_t *apex, struct store_dnssec *out, char *err, size_t errlen);
	int (*dnssec_put)(struct store_txn *t, const uint8_t *apex, const struct store_dnssec *d, char *err,
	                  size_t errlen);
	int (*dnssec_delete)(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen);
	int (*key_add)(struct store_txn *t, const uint8_t *apex, struct store_key *k, const char *reason, char *err,
	               size_t errlen);
	int (*key_foreach)(struct store_txn *t, const uint8_t *apex, bool private_keys, store_key_fn fn, void *arg,
	                   char *err, size_t errlen);
	int (*key_update)(struct store_txn *t, const uint8_t *apex, const struct store_key *k,
	                  enum store_key_state from, const char *reason, char *err, size_t errlen);
	int (*key_journal)(struct store_txn *t, const uint8_t *apex, int64_t before, unsigned limit,
	                   store_key_event_fn fn, void *arg, struct store_page *page, char *err, size_t errlen);
	int (*key_delete_all)(struct store_txn *t, const uint8_t *apex, const char *reason, char *err, size_t errlen);

	int (*service_put)(struct store_txn *t, const struct store_service *s, bool create, char *err, size_t errlen);
	int (*service_get)(struct store_txn *t, const char *id, struct store_service *out, char *err, size_t errlen);
	int (*service_list)(struct store_txn *t, const char *tenant, store_service_fn fn, void *arg, char *err,
	                    size_t errlen);
	int (*service_count)(struct store_txn *t, const char *tenant, uint64_t *n, char *err, size_t errlen);
	int (*service_delete)(struct store_txn *t, const char *id, char *err, size_t errlen);

	int (*setting_put)(struct store_txn *t, const char *name, const void *value, size_t len, char *err,
	                   size_t errlen);
	int (*setting_get)(struct store_txn *t, const char *name, void **value, size_t *len, int64_t *updated,
	                   char *err, size_t errlen);
	int (*usage_add)(struct store_txn *t, const struct store_usage_row *r, char *err, size_t errlen);
	int (*usage_list)(struct store_txn *t, const char *tenant, int64_t from_day, int64_t to_day, store_usage_fn fn,
	                  void *arg, char *err, size_t errlen);
	int (*acme_account_get)(struct store_txn *t, char **pem, char *err, size_t errlen);
	int (*acme_account_put)(struct store_txn *t, const char *pem, char *err, size_t errlen);
	int (*cert_get)(struct store_txn *t, const char *service, bool keys, struct store_cert *out, char *err,
	                size_t errlen);
	int (*cert_put)(struct store_txn *t, const struct store_cert *c, char *err, size_t errlen);
	int (*cert_due)(struct store_txn *t, int64_t now, unsigned limit, store_cert_due_fn fn, void *arg, char *err,
	                size_t errlen);
	int (*cert_next)(struct store_txn *t, int64_t *at, char *err, size_t errlen);
	int (*alias_add)(struct store_txn *t, const struct store_alias *a, unsigned limit, char *err, size_t errlen);
	int (*alias_list)(struct store_txn *t, const char *service, store_alias_fn fn, void *arg, char *err,
	                  size_t errlen);
	int (*alias_set)(struct store_txn *t, const struct store_alias *a, char *err, size_t errlen);
	int (*alias_delete)(struct store_txn *t, const char *service, const uint8_t *name, char *err, size_t errlen);
	int (*mark)(struct store_txn *t, enum store_mark op, char *err, size_t errlen);
	int (*tsig_key_add)(struct store_txn *t, const struct store_tsig_key *k, unsigned limit, char *err,
	                    size_t errlen);
	int (*tsig_key_list)(struct store_txn *t, const char *tenant, store_tsig_key_fn fn, void *arg, char *err,
	                     size_t errlen);
	int (*tsig_key_delete)(struct store_txn *t, const char *tenant, const uint8_t *name, char *err, size_t errlen);
	int (*ownership_put)(struct store_txn *t, const struct store_ownership *o, char *err, size_t errlen);
	int (*ownership_list)(struct store_txn *t, const char *tenant, const uint8_t *name, store_ownership_fn fn,
	                      void *arg, char *err, size_t errlen);
	/* NULL: the backend has one process on its store (SQLite: the data directory's lock) */
	int (*watch)(struct store *st, store_watch_fn fn, void *arg, char *err, size_t errlen);
	/* store_copy.c: every row of a table (a read or write handle), one row inserted as it is (a
	 * write handle), the last id a counter handed out (0: none yet) read or raised to at least *last */
	int (*table_rows)(struct store_txn *t, const struct store_table *tab, store_row_fn fn, void *arg, char *err,
	                  size_t errlen);
	int (*table_insert)(struct store_txn *t, const struct store_table *tab, const struct store_cell *row, char *err,
	                    size_t errlen);
	int (*table_counter)(struct store_txn *t, const struct store_table *tab, bool raise, int64_t *last, char *err,
	                     size_t errlen);
};
struct store {
	const struct store_ops *ops;
};

/* ---- Opening and transactions ---- */

/* Opens (creating if needed) the SQLite database at path and brings its schema up to date:
 * WAL journal, synchronous=FULL (a commit is on disk when store_commit() returns), foreign keys,
 * a 5 s busy timeout. TERN_ECONFIG when the file's schema is newer than this program's. */
int store_open_sqlite(const char *path, struct store **out, char *err, size_t errlen);

/* Reads the schema version of the SQLite database at path without writing anything (read-only,
 * no migration): *have (0 when it has no schema yet) and *want (this program's). For `ternd
 * --check`, which must not upgrade a store the running ternd still uses. */
int store_sqlite_schema(const char *path, int *have, int *want, char *err, size_t errlen);

/* The data directory as one ternd's: an exclusive flock on dir/ternd.lock (made if missing, our
 * pid written in it), held on *fd until it is closed. TERN_EBUSY with err naming the pid when
 * another process holds it (a running ternd). */
int store_dir_lock(const char *dir, int *fd, char *err, size_t errlen);

/* Puts the store backup at file (made by `tern store backup`) in place of dir/tern.db, on a
 * stopped ternd (the caller holds store_dir_lock): the file is checked first (an SQLite database
 * that is a Tern store, of a schema no newer than this program's, passing integrity_check) and
 * refused otherwise, nothing written; then copied beside the store, synced, and renamed over it,
 * the store it replaces kept as dir/tern.db.before-restore (its write-ahead log checkpointed into
 * it first). info says what was restored. */
int store_sqlite_restore(const char *file, const char *dir, char *info, size_t infolen, char *err, size_t errlen);

/* Opens the PostgreSQL database conninfo names (a postgresql:// URL or libpq key=value words, a
 * multi-host list included) and brings its schema up to date, in one transaction under an advisory
 * lock. TERN_ECONFIG when conninfo does not parse or the database's schema is newer than this
 * program's; TERN_EIO when the server cannot be reached. store_pg.c. */
int store_open_postgres(const char *conninfo, struct store **out, char *err, size_t errlen);
/* store_sqlite_schema()'s counterpart for PostgreSQL: the version read, nothing written. */
int store_pg_schema(const char *conninfo, int *have, int *want, char *err, size_t errlen);

/* Which backend a store location names: PostgreSQL for a postgresql:// or postgres:// URL or libpq
 * key=value words, else an SQLite file path (store.c). */
bool store_location_is_postgres(const char *location);
/* Opens location with its backend (store_open_sqlite or store_open_postgres). */
int store_open(const char *location, struct store **out, char *err, size_t errlen);
/* Its schema version and this program's, nothing written (for ternd --check). */
int store_schema(const char *location, int *have, int *want, char *err, size_t errlen);

/* Copies the whole store at src into the store at dst (`tern store copy`; SQLite files or
 * PostgreSQL locations, either way): every table's rows as they are (zones, RRsets and serials,
 * the journal, past serials, proposals, DNSSEC policies, keys and key journals, services with
 * their certificates and aliases, the ACME account, TSIG keys, settings, usage) and the id
 * counters, read in one snapshot of src and written in one transaction on dst. Refused, dst left
 * as it was: src not a store or of another schema version than this program's, dst of another
 * version, or dst holding any row (TERN_EEXIST). An SQLite dst is made when missing (and removed
 * again when the copy fails). report gets one line per table copied ("zones 12"), err why not. */
int store_copy(const char *src, const char *dst, char *report, size_t reportlen, char *err, size_t errlen);

/* Hears the zones other processes on the same database change (PostgreSQL: LISTEN/NOTIFY; every
 * commit of a zone's row notifies): fn(apex, arg) on a thread of the store's own (an RCU reader,
 * online), after their commit, never for this store's own writes; fn(NULL, arg) after the
 * connection that listens was lost and made again. fn NULL stops it (before what fn uses goes).
 * 1 when it listens; 0 for a backend that has one process per store (SQLite: nothing to hear). */
static inline int store_watch(struct store *st, store_watch_fn fn, void *arg, char *err, size_t errlen)
{
	return st->ops->watch ? st->ops->watch(st, fn, arg, err, errlen) : 0;
}

/* Rolls back and frees any transaction still open, then closes. No other thread may be using it. */
static inline void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}
static inline int store_begin(struct store *st, struct store_txn **out, char *err, size_t errlen)
{
	return st->ops->begin(st, STORE_TXN_WRITE, out, err, errlen);
}
static inline int store_begin_read(struct store *st, struct store_txn **out, char *err, size_t errlen)
{
	return st->ops->begin(st, STORE_TXN_READ, out, err, errlen);
}
static inline struct store_txn *store_latest(struct store *st)
{
	return st->ops->latest(st);
}
/* Makes the transaction's writes durable and frees it. On failure nothing of it is applied and
 * it is freed all the same. Ends a read snapshot too. */
static inline int store_commit(struct store_txn *t, char *err, size_t errlen)
{
	return t->store->ops->commit(t, err, errlen);
}
/* A savepoint in write transaction t (enum store_mark): the group commit of the change module
 * undoes one request's writes and keeps the others'. 0 or TERN_E* with err; after a failed UNDO the
 * transaction is to be rolled back whole. */
static inline int store_mark(struct store_txn *t, enum store_mark op, char *err, size_t errlen)
{
	return t->store->ops->mark(t, op, err, errlen);
}
/* Discards the transaction's writes and frees it (a no-op for store_latest()). */
static inline void store_rollback(struct store_txn *t)
{
	if (t)
		t->store->ops->rollback(t);
}

/* ---- Zones. A zone is named by its apex (wire form, any case); names are unique across
 * tenants. Errors name the zone: "zone example.com. already exists", "no zone example.org.". */

/* Creates z->apex for z->tenant with z->serial and z->serial_policy, unlocked; fills z->id,
 * the lower-cased apex and the timestamps. TERN_EEXIST when any tenant has the name; TERN_EINVAL
 * when a zone of that name was deleted with a serial z->serial is not newer than (RFC 1982). */
static inline int store_zone_create(struct store_txn *t, struct store_zone *z, char *err, size_t errlen)
{
	return t->store->ops->zone_create(t, z, err, errlen);
}
static inline int store_zone_get(struct store_txn *t, const uint8_t *apex, struct store_zone *out, char *err,
                                 size_t errlen)
{
	return t->store->ops->zone_get(t, apex, out, err, errlen);
}
/* Up to limit zones (of tenant, or of all when NULL) in canonical (RFC 4034) order of apex,
 * starting after the apex after (NULL = from the first). */
static inline int store_zone_list(struct store_txn *t, const char *tenant, const uint8_t *after, unsigned limit,
                                  store_zone_fn fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	return t->store->ops->zone_list(t, tenant, after, limit, fn, arg, page, err, errlen);
}
/* How many zones tenant holds: a count kept with the zones (one row read, whatever the count). */
static inline int store_zone_count(struct store_txn *t, const char *tenant, uint64_t *n, char *err, size_t errlen)
{
	return t->store->ops->zone_count(t, tenant, n, err, errlen);
}
/* Deletes the zone with its RRsets, journal and proposals; its serial is remembered for the name. */
static inline int store_zone_delete(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen)
{
	return t->store->ops->zone_delete(t, apex, err, errlen);
}
/* The serial the zone named apex had when it was last deleted (a zone created again under the
 * name must start above it); TERN_ENOTFOUND when no zone of that name was ever deleted. */
static inline int store_zone_past_serial(struct store_txn *t, const uint8_t *apex, uint32_t *serial, char *err,
                                         size_t errlen)
{
	return t->store->ops->zone_past_serial(t, apex, serial, err, errlen);
}
/* Sets the serial and the updated time (callers raise it once per committed change). */
static inline int store_zone_set_serial(struct store_txn *t, const uint8_t *apex, uint32_t serial, char *err,
                                        size_t errlen)
{
	return t->store->ops->zone_set_serial(t, apex, serial, err, errlen);
}
/* Sets or clears the zone's signed-downstream flag (the caller checks what it means). */
static inline int store_zone_set_downstream(struct store_txn *t, const uint8_t *apex, bool on, char *err, size_t errlen)
{
	return t->store->ops->zone_set_downstream(t, apex, on, err, errlen);
}
/* Records the lock and its reason (required, at most STORE_REASON_MAX bytes). The store keeps the
 * flag; refusing changes to a locked zone is the caller's rule, checked inside its write
 * transaction so no change slips between the check and the commit. */
static inline int store_zone_lock(struct store_txn *t, const uint8_t *apex, const char *reason, char *err,
                                  size_t errlen)
{
	return t->store->ops->zone_set_lock(t, apex, true, reason, err, errlen);
}
static inline int store_zone_unlock(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen)
{
	return t->store->ops->zone_set_lock(t, apex, false, NULL, err, errlen);
}

/* ---- RRsets, per (zone, owner, type). Owners are stored lower-cased and must be inside the zone.
 * The store checks the RDATA layout, not the zone's rules (CNAME beside data, NS at the apex...). */

/* Replaces the whole RRset (creating it if absent) with rdata (count records, at least one), every
 * record with ttl. */
static inline int store_rrset_put(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                                  uint32_t ttl, const uint8_t *rdata, uint32_t rdata_size, char *err, size_t errlen)
{
	return t->store->ops->rrset_put(t, apex, owner, type, ttl, NULL, rdata, rdata_size, err, errlen);
}
/* The same with a TTL per record when ttls is not NULL (count of them: a name's RRSIGs, each at its
 * covered RRset's TTL); ttl is then their lowest. Read back in store_rrset.ttls. */
static inline int store_rrset_put_ttls(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                                       uint32_t ttl, const uint32_t *ttls, const uint8_t *rdata, uint32_t rdata_size,
                                       char *err, size_t errlen)
{
	return t->store->ops->rrset_put(t, apex, owner, type, ttl, ttls, rdata, rdata_size, err, errlen);
}
/* Fills out with a copy (out->rdata is malloc'd, out->ttls in the same block: store_rrset_clear()).
 * TERN_ENOTFOUND if absent. */
static inline int store_rrset_get(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                                  struct store_rrset *out, char *err, size_t errlen)
{
	return t->store->ops->rrset_get(t, apex, owner, type, out, err, errlen);
}
/* TERN_ENOTFOUND when there is no such RRset. */
static inline int store_rrset_delete(struct store_txn *t, const uint8_t *apex, const uint8_t *owner, uint16_t type,
                                     char *err, size_t errlen)
{
	return t->store->ops->rrset_delete(t, apex, owner, type, err, errlen);
}
/* Empties the zone (for a whole-zone import); the zone row, journal and proposals stay. */
static inline int store_rrset_delete_all(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen)
{
	return t->store->ops->rrset_delete_all(t, apex, err, errlen);
}
/* Every RRset of the zone, owners in canonical (RFC 4034) order, then by type. */
static inline int store_rrset_foreach(struct store_txn *t, const uint8_t *apex, store_rrset_fn fn, void *arg, char *err,
                                      size_t errlen)
{
	return t->store->ops->rrset_foreach(t, apex, fn, arg, err, errlen);
}
/* Up to limit zones after the apex after (NULL: from the first) in canonical order, each with its
 * RRsets, in one statement: zone_fn(zone) then rrset_fn(rrset) for each of its RRsets in canonical
 * order (none for a zone without any). What start-up reads: one walk over the store, not a query
 * per zone (store_rrset_foreach). page as store_zone_list's. */
static inline int store_zone_load(struct store_txn *t, const uint8_t *after, unsigned limit, store_zone_fn zone_fn,
                                  store_rrset_fn rrset_fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	return t->store->ops->zone_load(t, after, limit, zone_fn, rrset_fn, arg, page, err, errlen);
}
static inline void store_rrset_clear(struct store_rrset *rs)
{
	free((void *)rs->rdata);
	rs->rdata = NULL;
	rs->ttls = NULL;
	rs->rdata_size = 0;
}

/* ---- Journal: one entry per committed change, for IXFR (RFC 1995) and the zone's history. */

/* Appends e (its RR lists are checked to be well formed); *id gets the entry's id when id is set. */
static inline int store_journal_append(struct store_txn *t, const uint8_t *apex, const struct store_journal_entry *e,
                                       int64_t *id, char *err, size_t errlen)
{
	return t->store->ops->journal_append(t, apex, e, id, err, errlen);
}
/* The entries leading from serial to the zone's current serial, oldest first: from the latest
 * entry whose serial_from is serial. None when serial is the current serial. TERN_ENOTFOUND
 * (nothing is delivered) when the journal does not reach back to serial, has a gap, or does not
 * end at the zone's serial: the caller falls back to a full transfer. */
static inline int store_journal_read_from(struct store_txn *t, const uint8_t *apex, uint32_t serial,
                                          store_journal_fn fn, void *arg, char *err, size_t errlen)
{
	return t->store->ops->journal_read_from(t, apex, serial, fn, arg, err, errlen);
}
/* Up to limit entries, newest first, older than entry id before (0 = from the newest). */
static inline int store_journal_history(struct store_txn *t, const uint8_t *apex, int64_t before, unsigned limit,
                                        store_journal_fn fn, void *arg, struct store_page *page, char *err,
                                        size_t errlen)
{
	return t->store->ops->journal_history(t, apex, before, limit, fn, arg, page, err, errlen);
}
/* Keeps the newest keep entries and deletes the rest. */
static inline int store_journal_trim_keep(struct store_txn *t, const uint8_t *apex, unsigned keep, char *err,
                                          size_t errlen)
{
	return t->store->ops->journal_trim_keep(t, apex, keep, err, errlen);
}
/* Deletes the entries before the latest one starting at serial, so the journal reaches back to
 * serial and no further (all of them when serial is where the journal ends). TERN_ENOTFOUND when
 * no entry starts or ends at serial. */
static inline int store_journal_trim_serial(struct store_txn *t, const uint8_t *apex, uint32_t serial, char *err,
                                            size_t errlen)
{
	return t->store->ops->journal_trim_serial(t, apex, serial, err, errlen);
}

/* ---- Change proposals (review): pending -> approved -> applied, or pending -> rejected. */

/* A pending proposal by author with a JSON body (stored as given; the caller validates it).
 * created 0 = the transaction's start. */
static inline int store_proposal_create(struct store_txn *t, const uint8_t *apex, const char *author, const char *body,
                                        int64_t created, int64_t *id, char *err, size_t errlen)
{
	return t->store->ops->proposal_create(t, apex, author, body, created, id, err, errlen);
}
/* out->body is malloc'd: store_proposal_clear(). TERN_ENOTFOUND: "no proposal 42". */
static inline int store_proposal_get(struct store_txn *t, int64_t id, struct store_proposal *out, char *err,
                                     size_t errlen)
{
	return t->store->ops->proposal_get(t, id, out, err, errlen);
}
/* Up to limit proposals of the zone with status (STORE_PROPOSAL_ANY = all), oldest first, with
 * ids above after (0 = from the oldest). */
static inline int store_proposal_list(struct store_txn *t, const uint8_t *apex, enum store_proposal_status status,
                                      int64_t after, unsigned limit, store_proposal_fn fn, void *arg,
                                      struct store_page *page, char *err, size_t errlen)
{
	return t->store->ops->proposal_list(t, apex, status, after, limit, fn, arg, page, err, errlen);
}
/* Moves a proposal on, recording principal and the time: APPROVED or REJECTED from PENDING,
 * APPLIED from APPROVED. Approving one's own proposal is refused with TERN_EINVAL, as is any other
 * move ("proposal 7 is rejected, not pending"). */
static inline int store_proposal_set_status(struct store_txn *t, int64_t id, enum store_proposal_status status,
                                            const char *principal, char *err, size_t errlen)
{
	return t->store->ops->proposal_set_status(t, id, status, principal, err, errlen);
}
static inline void store_proposal_clear(struct store_proposal *p)
{
	free((void *)p->body);
	p->body = NULL;
}
/* "pending", "approved", "rejected", "applied" ("any" for STORE_PROPOSAL_ANY). */
static inline const char *store_proposal_status_name(enum store_proposal_status s)
{
	switch (s) {
	case STORE_PROPOSAL_ANY: return "any";
	case STORE_PROPOSAL_PENDING: return "pending";
	case STORE_PROPOSAL_APPROVED: return "approved";
	case STORE_PROPOSAL_REJECTED: return "rejected";
	case STORE_PROPOSAL_APPLIED: return "applied";
	}
	return "unknown";
}

/* ---- DNSSEC: a zone's policy and state, its keys, and the key journal. All go with the zone. */

/* TERN_ENOTFOUND: the zone is not signed (or does not exist: err says which). */
static inline int store_dnssec_get(struct store_txn *t, const uint8_t *apex, struct store_dnssec *out, char *err,
                                   size_t errlen)
{
	return t->store->ops->dnssec_get(t, apex, out, err, errlen);
}
/* Sets the zone's policy and state (creating the row); d->updated is the transaction's time. */
static inline int store_dnssec_put(struct store_txn *t, const uint8_t *apex, const struct store_dnssec *d, char *err,
                                   size_t errlen)
{
	return t->store->ops->dnssec_put(t, apex, d, err, errlen);
}
/* Removes the zone's policy row: the zone is no longer signed (its keys and key journal stay).
 * TERN_ENOTFOUND when it was not signed. */
static inline int store_dnssec_delete(struct store_txn *t, const uint8_t *apex, char *err, size_t errlen)
{
	return t->store->ops->dnssec_delete(t, apex, err, errlen);
}
/* Adds a key (k->pem required) and a key journal entry from nothing to k->state with reason;
 * k->id gets its id. */
static inline int store_key_add(struct store_txn *t, const uint8_t *apex, struct store_key *k, const char *reason,
                                char *err, size_t errlen)
{
	return t->store->ops->key_add(t, apex, k, reason, err, errlen);
}
/* Sets key k->id's state, times, use, since and ds_seen (the rest of the row stays) and, when the
 * state moves from from, adds a key journal entry with reason. TERN_ENOTFOUND when the zone has no such key. */
static inline int store_key_update(struct store_txn *t, const uint8_t *apex, const struct store_key *k,
                                   enum store_key_state from, const char *reason, char *err, size_t errlen)
{
	return t->store->ops->key_update(t, apex, k, from, reason, err, errlen);
}
/* Deletes every key of the zone (a restore from a backup replaces them), with a key journal entry
 * per key from its state to removed with reason; the journal itself stays. */
static inline int store_key_delete_all(struct store_txn *t, const uint8_t *apex, const char *reason, char *err,
                                       size_t errlen)
{
	return t->store->ops->key_delete_all(t, apex, reason, err, errlen);
}
/* Every key of the zone, oldest first; pem is read only when private_keys (the signer's, and a
 * key backup's: api_backup.c, which encrypts it before it leaves). */
static inline int store_key_foreach(struct store_txn *t, const uint8_t *apex, bool private_keys, store_key_fn fn,
                                    void *arg, char *err, size_t errlen)
{
	return t->store->ops->key_foreach(t, apex, private_keys, fn, arg, err, errlen);
}
/* Up to limit key journal entries, newest first, older than id before (0 = from the newest). */
static inline int store_key_journal(struct store_txn *t, const uint8_t *apex, int64_t before, unsigned limit,
                                    store_key_event_fn fn, void *arg, struct store_page *page, char *err, size_t errlen)
{
	return t->store->ops->key_journal(t, apex, before, limit, fn, arg, page, err, errlen);
}
static inline const char *store_key_role_name(enum store_key_role r)
{
	return r == STORE_KEY_KSK ? "ksk" : r == STORE_KEY_ZSK ? "zsk" : r == STORE_KEY_CSK ? "csk" : "unknown";
}
static inline const char *store_key_state_name(enum store_key_state s)
{
	switch (s) {
	case STORE_KEY_GENERATED: return "generated";
	case STORE_KEY_PUBLISHED: return "published";
	case STORE_KEY_READY: return "ready";
	case STORE_KEY_ACTIVE: return "active";
	case STORE_KEY_RETIRED: return "retired";
	case STORE_KEY_REMOVED: return "removed";
	case STORE_KEY_REVOKED: return "revoked";
	}
	return "";
}

/* ---- RR lists (the journal's removed and added): records one after another, each the owner
 * (uncompressed wire name), type (16 bits), TTL (32), RDATA length (16), all big-endian, then the
 * RDATA; class IN implied. */
struct store_rr {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* Bytes one record takes in a list. */
static inline size_t store_rr_size(const struct store_rr *rr)
{
	return name_len(rr->owner) + 8 + rr->rdlen;
}
/* Reads the record at *pos and moves *pos past it. Returns 1 for a record, 0 at the end of the
 * list, TERN_EMALF when the list is cut short or holds a bad owner name. */
static inline int store_rr_next(const uint8_t *list, size_t len, size_t *pos, struct store_rr *rr)
{
	if (*pos >= len)
		return 0;
	int n = name_check(list + *pos, len - *pos);
	if (n < 0 || len - *pos - (size_t)n < 8)
		return TERN_EMALF;
	const uint8_t *p = list + *pos + n;
	rr->owner = list + *pos;
	rr->type = wire_get16(p);
	rr->ttl = wire_get32(p + 2);
	rr->rdlen = wire_get16(p + 6);
	if (len - *pos - (size_t)n - 8 < rr->rdlen)
		return TERN_EMALF;
	rr->rdata = p + 8;
	*pos += (size_t)n + 8 + rr->rdlen;
	return 1;
}
/* Writes one record at *pos of buf (cap bytes) and moves *pos past it; TERN_ESPACE if it does not fit. */
static inline int store_rr_put(uint8_t *buf, size_t cap, size_t *pos, const struct store_rr *rr)
{
	size_t nlen = name_len(rr->owner);
	if (*pos > cap || cap - *pos < store_rr_size(rr))
		return TERN_ESPACE;
	uint8_t *p = buf + *pos;
	memcpy(p, rr->owner, nlen);
	wire_put16(p + nlen, rr->type);
	wire_put32(p + nlen + 2, rr->ttl);
	wire_put16(p + nlen + 6, rr->rdlen);
	if (rr->rdlen)
		memcpy(p + nlen + 8, rr->rdata, rr->rdlen);
	*pos += store_rr_size(rr);
	return 0;
}

/* ---- Services (api_services.c): one row per service, written in the transaction of the change
 * that serves its answers (change_request.also). */

/* create: a new row (TERN_EEXIST when the id or the canonical name is taken); else the row's
 * deployment and update time (TERN_ENOTFOUND: "no service ID"). id, tenant and deployment
 * (at most STORE_BODY_MAX bytes) are checked; the times are the store's. */
static inline int store_service_put(struct store_txn *t, const struct store_service *s, bool create, char *err,
                                    size_t errlen)
{
	return t->store->ops->service_put(t, s, create, err, errlen);
}
/* out->deployment is malloc'd: store_service_clear(). TERN_ENOTFOUND: "no service ID". */
static inline int store_service_get(struct store_txn *t, const char *id, struct store_service *out, char *err,
                                    size_t errlen)
{
	return t->store->ops->service_get(t, id, out, err, errlen);
}
/* Every service of tenant, oldest first (the deployment points into the row: copy it to keep it). */
static inline int store_service_list(struct store_txn *t, const char *tenant, store_service_fn fn, void *arg, char *err,
                                     size_t errlen)
{
	return t->store->ops->service_list(t, tenant, fn, arg, err, errlen);
}
static inline int store_service_count(struct store_txn *t, const char *tenant, uint64_t *n, char *err, size_t errlen)
{
	return t->store->ops->service_count(t, tenant, n, err, errlen);
}
/* TERN_ENOTFOUND: "no service ID". */
static inline int store_service_delete(struct store_txn *t, const char *id, char *err, size_t errlen)
{
	return t->store->ops->service_delete(t, id, err, errlen);
}
static inline void store_service_clear(struct store_service *s)
{
	free((void *)s->deployment);
	s->deployment = NULL;
}

/* ---- Settings: small values ternd keeps for itself by name (at most STORE_SETTING_MAX bytes) ---- */

#define STORE_SETTING_MAX (2u << 20)
/* Sets name (1 to 256 bytes of text) to value, replacing what it held. */
static inline int store_setting_put(struct store_txn *t, const char *name, const void *value, size_t len, char *err,
                                    size_t errlen)
{
	return t->store->ops->setting_put(t, name, value, len, err, errlen);
}
/* *value is malloc'd (len bytes and a NUL after them), *updated the time it was set; TERN_ENOTFOUND
 * when name holds nothing ("no setting NAME"). */
static inline int store_setting_get(struct store_txn *t, const char *name, void **value, size_t *len, int64_t *updated,
                                    char *err, size_t errlen)
{
	return t->store->ops->setting_get(t, name, value, len, updated, err, errlen);
}

/* Adds r->queries to the row of (r->day, r->apex, r->tenant), made (with 0) when absent. */
static inline int store_usage_add(struct store_txn *t, const struct store_usage_row *r, char *err, size_t errlen)
{
	return t->store->ops->usage_add(t, r, err, errlen);
}
/* The rows of tenant (NULL: every tenant) from from_day to to_day (both included), in order of
 * tenant, day and apex (as bytes). */
static inline int store_usage_list(struct store_txn *t, const char *tenant, int64_t from_day, int64_t to_day,
                                   store_usage_fn fn, void *arg, char *err, size_t errlen)
{
	return t->store->ops->usage_list(t, tenant, from_day, to_day, fn, arg, err, errlen);
}

/* ---- ACME and service certificates (the svc module) ---- */

/* The ACME account key, PEM (malloc'd). TERN_ENOTFOUND when none was stored yet. */
static inline int store_acme_account_get(struct store_txn *t, char **pem, char *err, size_t errlen)
{
	return t->store->ops->acme_account_get(t, pem, err, errlen);
}
/* Stores the account key once: TERN_EEXIST when one is stored. */
static inline int store_acme_account_put(struct store_txn *t, const char *pem, char *err, size_t errlen)
{
	return t->store->ops->acme_account_put(t, pem, err, errlen);
}
/* A service's certificate row; keys: the private keys too (the ingress, the svc thread). Release
 * with store_cert_clear(). TERN_ENOTFOUND when the service has none yet. */
static inline int store_cert_get(struct store_txn *t, const char *service, bool keys, struct store_cert *out, char *err,
                                 size_t errlen)
{
	return t->store->ops->cert_get(t, service, keys, out, err, errlen);
}
/* Writes the whole row (made or replaced), only while the service exists: TERN_ENOTFOUND when it
 * was deleted meanwhile (its certificate goes with it). */
static inline int store_cert_put(struct store_txn *t, const struct store_cert *c, char *err, size_t errlen)
{
	return t->store->ops->cert_put(t, c, err, errlen);
}
/* Services (at most limit) whose certificate has no row yet or whose next_at, ech_rotate_at,
 * ech_drop_at or publish_at is at or before now (0 is never due). */
static inline int store_cert_due(struct store_txn *t, int64_t now, unsigned limit, store_cert_due_fn fn, void *arg,
                                 char *err, size_t errlen)
{
	return t->store->ops->cert_due(t, now, limit, fn, arg, err, errlen);
}
/* The earliest of every row's next_at, ech_rotate_at, ech_drop_at and publish_at (INT64_MAX when
 * none). */
static inline int store_cert_next(struct store_txn *t, int64_t *at, char *err, size_t errlen)
{
	return t->store->ops->cert_next(t, at, err, errlen);
}
/* ---- Service aliases (api_services_alias.c adds and removes, the svc thread judges) ---- */

/* A new alias, pending, of a's service (which must exist: TERN_ENOTFOUND). TERN_EEXIST when the
 * name is an alias already (of this service or any other: the message does not say whose);
 * TERN_EBUSY when the service has limit aliases already. */
static inline int store_alias_add(struct store_txn *t, const struct store_alias *a, unsigned limit, char *err,
                                  size_t errlen)
{
	return t->store->ops->alias_add(t, a, limit, err, errlen);
}
/* The aliases of a service, oldest first. */
static inline int store_alias_list(struct store_txn *t, const char *service, store_alias_fn fn, void *arg, char *err,
                                   size_t errlen)
{
	return t->store->ops->alias_list(t, service, fn, arg, err, errlen);
}
/* Sets a's state, reason and checked time (TERN_ENOTFOUND when removed meanwhile). */
static inline int store_alias_set(struct store_txn *t, const struct store_alias *a, char *err, size_t errlen)
{
	return t->store->ops->alias_set(t, a, err, errlen);
}
/* TERN_ENOTFOUND: "no alias NAME". */
static inline int store_alias_delete(struct store_txn *t, const char *service, const uint8_t *name, char *err,
                                     size_t errlen)
{
	return t->store->ops->alias_delete(t, service, name, err, errlen);
}

/* ---- TSIG keys made over the API (api_tsig_keys.c; every key is published for the query path) ---- */

/* A new key (k->created is set by the store). TERN_EEXIST when a key of the name exists (any
 * tenant's: the message does not say whose); TERN_EBUSY when the tenant has limit keys already. */
static inline int store_tsig_key_add(struct store_txn *t, const struct store_tsig_key *k, unsigned limit, char *err,
                                     size_t errlen)
{
	return t->store->ops->tsig_key_add(t, k, limit, err, errlen);
}
/* The keys of tenant (NULL: every tenant's), by name; secrets included. */
static inline int store_tsig_key_list(struct store_txn *t, const char *tenant, store_tsig_key_fn fn, void *arg,
                                      char *err, size_t errlen)
{
	return t->store->ops->tsig_key_list(t, tenant, fn, arg, err, errlen);
}
/* TERN_ENOTFOUND ("no TSIG key NAME") for a name that is not one of tenant's keys. */
static inline int store_tsig_key_delete(struct store_txn *t, const char *tenant, const uint8_t *name, char *err,
                                        size_t errlen)
{
	return t->store->ops->tsig_key_delete(t, tenant, name, err, errlen);
}

/* Frees the texts; the private keys are wiped first. */
static inline void store_cert_clear(struct store_cert *c)
{
	free(c->chain);
	if (c->key)
		explicit_bzero(c->key, strlen(c->key));
	free(c->key);
	explicit_bzero(c->ech_key, sizeof(c->ech_key));
	explicit_bzero(c->ech_old_key, sizeof(c->ech_old_key));
	free(c->fail_problem);
	c->chain = c->key = c->fail_problem = NULL;
}

/* ---- Ownership claims (api_ownership.c) ---- */

/* Writes the claim (tenant, name): a new row, or the existing one's token, state, method, evidence
 * and times replaced. TERN_EINVAL naming the field for a bad state, token or evidence. */
static inline int store_ownership_put(struct store_txn *t, const struct store_ownership *o, char *err, size_t errlen)
{
	return t->store->ops->ownership_put(t, o, err, errlen);
}
/* The claims of tenant (NULL: every tenant's) on name (NULL: every name), by name then oldest
 * first. */
static inline int store_ownership_list(struct store_txn *t, const char *tenant, const uint8_t *name,
                                       store_ownership_fn fn, void *arg, char *err, size_t errlen)
{
	return t->store->ops->ownership_list(t, tenant, name, fn, arg, err, errlen);
}
