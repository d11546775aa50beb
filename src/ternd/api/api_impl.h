/* Internals shared by the API's files: the API's state, request helpers (authentication, rate
 * limit, zone access, names, RRsets in JSON) and the one write path, api_commit(). */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lib/zone.h"
#include "ternd/api/auth.h"
#include "ternd/http/http.h"
#include "ternd/store/store.h"
#include "ternd/base/config.h"
#include "ternd/ns/xfr.h"
#include "ternd/zones/server.h"

#define API_MAX_BODY (1024 * 1024)
#define API_MAX_IMPORT_BODY (64 * 1024 * 1024) /* a zone file: about 1.5 million short RRsets */
#define API_MAX_CHANGES 1000
#define API_MAX_RECORDS 1000
#define API_PAGE_DEFAULT 50
#define API_PAGE_MAX 1000
#define API_TTL_MAX 2147483647 /* RFC 2181 8 */

/* Rate-limit buckets kept at most: a bucket idle for burst/rate seconds is full again and can go. */
#define API_RATE_BUCKETS 1024
struct api_bucket {
	char tenant[AUTH_TENANT_MAX + 1];
	double tokens;
	struct timespec last;
};

/* A token verified before: the signature check is the costliest part of a request. Keyed by
 * the token's SHA-256, so comparisons leak nothing about cached tokens. */
#define API_TOKEN_CACHE 64
struct api_token {
	uint8_t digest[32];
	bool used;
	struct auth_principal p;
};

struct api {
	struct server *srv; /* its configuration in force is the API's: api_config() */
	struct store *store;
	struct auth_keys *keys;
	struct http *http;
	pthread_mutex_t write_lock; /* one write at a time: store transaction + publish */
	time_t started;
	struct api_bucket *buckets;
	size_t nbuckets;
	pthread_mutex_t auth_lock; /* keys and tokens: requests read them, SIGHUP replaces them */
	struct api_token tokens[API_TOKEN_CACHE];
	unsigned next_token; /* round-robin replacement */
	struct pops *pops; /* the PoPs polled (pops: in the configuration); NULL when none */
	struct xfr_journal journal; /* the store's journal, read by IXFR (srv->journal points here) */
};

/* The configuration in force (published whole by a reload): read it again after anything that may
 * wait for a grace period (a publish), never keep it. The caller is a request (an RCU reader). */
static inline const struct config *api_config(const struct api *a)
{
	return server_config(a->srv);
}

/* Lets IXFR read zone history from the store: sets a->journal and a->srv->journal. Call before
 * the TCP workers start; they must stop before the store closes. */
void api_journal_attach(struct api *a);

/* The fields of an SOA an API request may set: names (mname, rname), timers (serial, refresh,
 * retry, expire, minimum) and the TTL. */
struct api_soa_fields {
	uint8_t names[2][NAME_MAXLEN];
	uint32_t timers[5];
	uint32_t ttl;
};
/* Overwrites f's fields with those obj gives ("mname", "rname", "ttl", "refresh", "retry",
 * "expire", "minimum"); anything else, or a bad value, is a 400 naming prefix + the field. */
bool api_parse_soa_fields(json_t *obj, const char *prefix, struct api_soa_fields *f, struct http_response *res);
/* f as SOA RDATA into out (2 * NAME_MAXLEN + 20 bytes); returns its length. */
size_t api_soa_rdata(const struct api_soa_fields *f, uint8_t *out);

/* The caller of a request: tenant and rights. */
struct api_caller {
	struct auth_principal p;
};

/* Authenticates (bearer JWT, or X-Tenant-ID when allowed) and applies the tenant's rate limit;
 * on failure the response is written (401/429) and false returned. */
bool api_authenticate(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c);
void api_caller_free(struct api_caller *c);

/* Routes that show or change a zone as a whole (export, import, history, proposals) need a token
 * whose scope is not narrowed to some names or types; writes need more than read-only. Writes a
 * 403 and returns false otherwise. */
bool api_whole_zone(const struct api_caller *c, const struct store_zone *z, bool write, struct http_response *res);
/* Parses a zone name from a URL segment or JSON ("example.com" or "example.com."). */
bool api_parse_zone_name(const char *text, uint8_t apex[NAME_MAXLEN]);
/* Finds a zone the caller may see: 404 (never 403) for another tenant's zone. */
bool api_zone_get(struct api *a, const struct api_caller *c, const char *name, struct store_zone *z,
                  struct http_response *res);
/* Owner name in the zone: absolute with a final dot or ending in the zone's name, "@" for the
 * apex, else relative to the zone. Lower-cased. Writes a 400 naming field on failure. */
bool api_parse_owner(const uint8_t *apex, const char *text, const char *field, uint8_t out[NAME_MAXLEN],
                     struct http_response *res);
/* Text of a name without escapes problems: for JSON. */
json_t *api_name_json(const uint8_t *name);
/* {"name","type","ttl","records"} of one RRset. */
json_t *api_rrset_json(const uint8_t *owner, uint16_t type, uint32_t ttl, uint16_t count, const uint8_t *rdata);
json_t *api_zone_json(const struct store_zone *z);

/* One RRset change of a write, parsed from JSON or made by an import. It holds its owner and
 * nothing points into it, so changes may be copied and their arrays grown; zone_change entries
 * pointing at owner are made only by api_change_set(), when the array no longer moves. rdata is
 * malloc'd (api_changes_free). */
struct api_change {
	uint8_t owner[NAME_MAXLEN];
	uint16_t type;
	uint16_t count; /* 0: delete the RRset */
	uint32_t ttl;
	uint32_t rdata_size;
	const uint8_t *rdata; /* count records in the rrset layout */
	const uint32_t *ttls; /* one TTL per record (a name's RRSIGs, see zone_change), or NULL */
};
/* Parses {"name","type","ttl","records"} or {"name","type","delete":true}; name and type may be
 * given by the URL instead (then absent from the object). where prefixes field names. */
bool api_parse_change(const uint8_t *apex, json_t *obj, const char *url_name, const char *url_type, const char *where,
                      struct api_change *out, struct http_response *res);
void api_changes_free(struct api_change *ch, size_t n);
/* A batch changes each RRset once: when two of ch[0..n) name the same owner and type, writes a
 * 422 naming both ("rrsets[j]" as the field) and returns false. */
bool api_changes_distinct(const struct api_change *ch, size_t n, struct http_response *res);

/* What zone_apply() is given for a write (api_change.c): every change of ch but a SOA (whose
 * fields a SOA change gives), then the zone's SOA with the next serial, last. The entries point
 * into ch, cur and soa: ch and cur must stay put until api_change_set_free(). */
struct api_change_set {
	struct zone_change *all;
	size_t n; /* entries in all, the SOA included */
	uint8_t soa[2 + 2 * NAME_MAXLEN + 20];
};
int api_change_set(const struct zone *cur, const struct api_change *ch, size_t n, uint32_t serial,
                   struct api_change_set *out);
void api_change_set_free(struct api_change_set *s);
/* The changes that turn cur into the zone file's imp: a deletion for every RRset of cur that imp
 * lacks, then every RRset of imp; SOAs left out (the server keeps its own). *out is malloc'd
 * (api_changes_free); TERN_ENOMEM leaves nothing behind. */
int api_import_changes(const struct zone *cur, const struct zone *imp, struct api_change **out, size_t *n);

/* The write path: applies the changes (plus a new SOA serial) to the zone's snapshot, stores them
 * with a journal entry in one durable transaction, publishes the new snapshot, and only then
 * returns. On failure nothing is stored or served and res holds the error. */
bool api_commit(struct api *a, const struct store_zone *z, const struct api_change *ch, size_t n, const char *who,
                uint32_t *serial, struct http_response *res);
/* The same write for an import: the zone's content becomes imp's (api_import_changes() against
 * the snapshot served when the write starts, under the write lock). *changes gets their count. */
bool api_commit_import(struct api *a, const struct store_zone *z, const struct zone *imp, const char *who,
                       uint32_t *serial, size_t *changes, struct http_response *res);
/* The next SOA serial after cur under the zone's policy. */
uint32_t api_next_serial(uint32_t cur, enum store_serial_policy policy, time_t now);

/* Zone routes (api_zones.c) and RRset routes (api_rrsets.c). */
void api_zones_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_show(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_delete(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_export(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_import(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_changes(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_lock(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_unlock(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_get(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_delete(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_patch(void *ctx, const struct http_request *req, struct http_response *res);
void api_soa_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_approve(void *ctx, const struct http_request *req, struct http_response *res);
