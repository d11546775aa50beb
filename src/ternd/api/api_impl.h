/* Internals shared by the API's files: the API's state, request helpers (authentication, rate
 * limit, zone access, names, RRsets in JSON) and the HTTP answer of a write (the write itself is
 * the change module's). */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/check_report.h"
#include "lib/dyn.h"
#include "lib/edns.h"
#include "lib/zone.h"
#include "ternd/api/auth.h"
#include "ternd/http/http.h"
#include "ternd/store/store.h"
#include "ternd/svc/svc.h"
#include "ternd/base/config.h"
#include "ternd/base/text.h"
#include "ternd/change/change.h"
#include "ternd/ns/xfr.h"
#include "ternd/zones/server.h"

#define API_MAX_BODY (1024 * 1024)
#define API_MAX_IMPORT_BODY (64 * 1024 * 1024) /* a zone file: about 1.5 million short RRsets */
#define API_MAX_CHANGES 1000
#define API_MAX_BATCH_ZONES 1000 /* zones in one POST /zones/batch */
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

/* The tokens b holds at now (CLOCK_MONOTONIC): refilled at per_second since b->last, at most burst. */
static inline double api_bucket_tokens(const struct api_bucket *b, const struct timespec *now, double per_second,
                                       double burst)
{
	double elapsed = (double)(now->tv_sec - b->last.tv_sec) + (double)(now->tv_nsec - b->last.tv_nsec) / 1e9;
	double tokens = b->tokens + elapsed * per_second;
	return tokens > burst ? burst : tokens;
}

/* Refills b to now and takes one token: true, or false with what it held (under 1) in *held. */
static inline bool api_bucket_take(struct api_bucket *b, const struct timespec *now, double per_second, double burst,
                                   double *held)
{
	b->tokens = api_bucket_tokens(b, now, per_second, burst);
	b->last = *now;
	*held = b->tokens;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

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
	struct store *store; /* main's: the tenants' zones, read here, written only through change */
	struct change *change; /* main's: the write path (one write at a time, store transaction + publish) */
	struct auth_keys *keys; /* NULL until a fetched set arrives (api.jwks-url) */
	struct jwks_fetch *jwks; /* api.jwks-url's fetcher; NULL with a file (api.jwks) */
	struct http *http;
	time_t started;
	struct api_bucket *buckets;
	size_t nbuckets;
	pthread_mutex_t auth_lock; /* keys and tokens: requests read them, SIGHUP replaces them */
	struct api_token tokens[API_TOKEN_CACHE];
	unsigned next_token; /* round-robin replacement */
	struct pops *pops; /* the PoPs polled (pops: in the configuration); NULL when none */
	struct xfr_journal journal; /* the store's journal as IXFR reads it (api_journal()) */
	_Atomic(struct svc *) svc; /* service certificates (api_set_svc), NULL when issuance is off */
	pthread_mutex_t rate_lock; /* buckets: the parallel routes' workers authenticate at once */
	/* POST /api/v1/check (api_check.c): its own per-tenant buckets (api.check-rate, under
	 * rate_lock) and the checks running (at most api.check-max-running) */
	struct api_bucket *check_buckets;
	size_t ncheck_buckets;
	_Atomic int checks_running;
	pthread_mutex_t own_lock; /* ownership verifications decide and write one at a time */
	struct http_route *routes; /* routes[] and the Route 53 API's, as the HTTP server serves them */
	struct dconn_templates *dconn; /* Domain Connect's templates (domainconnect.templates), read at start */
	struct api_dconn_keys *dckeys; /* Domain Connect's lookup budget and signing keys cached (api_dconn.c) */
	/* the console's header lines (its CSP lets it reach api.console-login.token-endpoint too) and
	 * GET /console/config.json's body, both made at start from the configuration then in force */
	char console_headers[1024];
	char *console_config;
};

/* The configuration in force (published whole by a reload): read it again after anything that may
 * wait for a grace period (a publish), never keep it. The caller is a request (an RCU reader). */
static inline const struct config *api_config(const struct api *a)
{
	return server_config(a->srv);
}

/* Sets a->journal up over a->store (api_journal.c). */
void api_journal_init(struct api *a);

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
/* The same for the ingress route: only a token with scope.ingress (403 "scope" otherwise); every
 * other route refuses such a token (api_authenticate: 403 "scope"). */
bool api_authenticate_ingress(struct api *a, const struct http_request *req, struct http_response *res,
                              struct api_caller *c);
void api_caller_free(struct api_caller *c);
/* The opening routes share: authenticates the caller (401/429); when z is given, finds the zone
 * the URL's first segment names (400/404; 409 when write and the zone is locked); when body is
 * given, parses the request's body as JSON (400 "body is not JSON"). On failure the response is
 * written, nothing is left to free and false returned; else the route frees c (api_caller_free)
 * and *body (json_decref). */
bool api_open(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c,
              struct store_zone *z, bool write, json_t **body);

/* Routes that show or change a zone as a whole (export, import, history, proposals) need a token
 * whose scope is not narrowed to some names or types; writes need more than read-only. Writes a
 * 403 and returns false otherwise. */
/* Whether the API may write zone z: not a zone of the configuration (STORE_TENANT_CONFIG, whose
 * content is its zone file's); else 409 written. */
bool api_zone_writable(const struct store_zone *z, struct http_response *res);
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
/* A zone's row as a JSON object, written as text into t (a listing's page, without a tree of
 * some twenty allocations a zone: on a heap fragmented by a million creations, a third of a
 * page's time went to malloc) or as a jansson object read from that text (one definition). */
void api_zone_text(struct text *t, const struct store_zone *z);
json_t *api_zone_json(const struct store_zone *z);

/* Parses {"name","type","ttl","records"} or {"name","type","delete":true}; name and type may be
 * given by the URL instead (then absent from the object). where prefixes field names. */
bool api_parse_change(const uint8_t *apex, json_t *obj, const char *url_name, const char *url_type, const char *where,
                      struct change_rrset *out, struct http_response *res);
/* A batch changes each RRset once: when two of ch[0..n) name the same owner and type, writes a
 * 422 naming both ("rrsets[j]" as the field) and returns false. */
bool api_changes_distinct(const struct change_rrset *ch, size_t n, struct http_response *res);

/* The policy a PUT .../dnssec body gives: the defaults (or conf's named policy "policy" names),
 * then each field it sets, checked with dnssec_policy_check(). On failure writes a 400 naming the
 * field and returns false. conf may be NULL (no named policies). */
/* The list of a POST /zones/batch body {"zones": [1 to API_MAX_BATCH_ZONES items]} (borrowed from
 * body; the items are checked as create bodies by the route), its length in *n; NULL after a 400. */
json_t *api_parse_batch(json_t *body, size_t *n, struct http_response *res);
/* The error response res holds, about zones[i] of a batch, made the batch's: field "zones[i].F"
 * (or "zones[i]"), message "zones[i]: ...", status kept. */
void api_batch_error_at(struct http_response *res, size_t i);
bool api_parse_dnssec_policy(json_t *body, const struct config *conf, struct dnssec_policy *p,
                             struct http_response *res);

/* ---- DNSSEC key backups (api_backup.c) ----
 * The document: {"format": "tern-dnssec-backup", "version": 1, "zone", "created", "policy" (as GET
 * .../dnssec shows it), "keys" (each key's metadata and DNSKEY, never its private key),
 * "encryption" (scrypt's cost and salt, AES-256-GCM's nonce, base64), "private-keys" (base64 of
 * the sealed PEMs, each behind its 2-octet length, then the GCM tag)}. The seal's additional data is
 * the document without "private-keys", as compact JSON with sorted keys and ASCII escapes. */
#define API_BACKUP_FORMAT "tern-dnssec-backup"
#define API_BACKUP_VERSION 1
#define API_BACKUP_KEYS_MAX 16
struct api_backup {
	uint8_t apex[NAME_MAXLEN];
	struct dnssec_policy policy;
	size_t nkeys;
	struct store_key keys[API_BACKUP_KEYS_MAX]; /* pem points into plain */
	uint8_t *plain; /* the opened private keys; wiped by api_backup_clear() */
	size_t plain_len;
};
/* The backup of apex's keys (n, each with its pem) and policy (the JSON GET shows; referenced, not
 * taken) sealed under pass with scrypt cost 2^log2n at time now. NULL with err on failure
 * (a passphrase too short or long, no private key, out of memory); err never holds key material. */
json_t *api_backup_make(const uint8_t *apex, json_t *policy, const struct store_key *keys, size_t n, const char *pass,
                        size_t passlen, uint8_t log2n, int64_t now, char *err, size_t errlen);
/* Reads the backup doc (untrusted) of zone apex and opens its keys with pass: true with *out
 * filled (api_backup_clear() it), or false with the answer written: 400 naming "passphrase" (too
 * short, or wrong: the seal does not open, which a changed document also causes) or "backup"
 * (another format or version, an unknown or missing member, a bad value, a policy or key that
 * does not work), 409 for a backup of another zone. Nothing is changed either way. */
bool api_backup_read(json_t *doc, const uint8_t *apex, const char *pass, size_t passlen, const struct config *conf,
                     struct api_backup *out, struct http_response *res);
void api_backup_clear(struct api_backup *b);

/* The HTTP answer of a write the change module refused or failed (r->step): 400 for a broken rule
 * naming field when given (an import: "body"), else the change r->index names ("rrsets[i]" when n
 * > 1; "records" or "name" for one change), 404/409 for the zone or proposal, 500 when it cannot
 * be applied, 503 when the store or serving fails. */
void api_change_error(struct http_response *res, const struct change_result *r, const uint8_t *apex,
                      const struct change_rrset *ch, size_t n, const char *field);

/* Routes that report (api_health.c): /healthz, /metrics, the OpenAPI document, the PoP list. */
void api_health(void *ctx, const struct http_request *req, struct http_response *res);
void api_metrics(void *ctx, const struct http_request *req, struct http_response *res);
void api_openapi(void *ctx, const struct http_request *req, struct http_response *res);
void api_list_pops(void *ctx, const struct http_request *req, struct http_response *res);
void api_list_monitors(void *ctx, const struct http_request *req, struct http_response *res);
void api_signals(void *ctx, const struct http_request *req, struct http_response *res);

/* GET /api/v1/explain?name&type&client[&ecs] (api_explain.c): the answer a client gets and why. */
void api_explain(void *ctx, const struct http_request *req, struct http_response *res);
/* Its question: the name (lower-cased), A or AAAA, the client's address as a query's source, and
 * with ecs the Client Subnet a resolver at client sends (the address cut to ecs bits). */
struct api_explain_ask {
	uint8_t name[NAME_MAXLEN];
	uint16_t type;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool has_ecs;
	struct edns_ecs ecs;
};
/* Reads the query parameters (each NULL when absent; api_explain_ask.c): true, or false with a
 * 400 naming the parameter ("name", "type", "client", "ecs") written. */
bool api_parse_explain(const char *name, const char *type, const char *client, const char *ecs,
                       struct api_explain_ask *q, struct http_response *res);

/* POST /api/v1/check (api_check.c): tern check's engine (lib/check.h) on an HTTP worker thread,
 * the report as `tern check --json` prints it. */
void api_check(void *ctx, const struct http_request *req, struct http_response *res);
/* The check page, its script and style (api_check_web.c), with the headers they are served with
 * (a strict Content-Security-Policy, nosniff, no framing), which POST /api/v1/check?format=svg's
 * answer carries too. */
void api_check_page(void *ctx, const struct http_request *req, struct http_response *res);
void api_check_page_script(void *ctx, const struct http_request *req, struct http_response *res);
void api_check_page_style(void *ctx, const struct http_request *req, struct http_response *res);
/* What every page ternd serves (the check page, the console, Domain Connect's consent) says after
 * its Content-Security-Policy line: no sniffing, no framing, no referrer, its own origin only,
 * not cached. */
#define API_PAGE_HEADERS_REST                                                                                          \
	"X-Content-Type-Options: nosniff\r\n"                                                                          \
	"X-Frame-Options: DENY\r\n"                                                                                    \
	"Referrer-Policy: no-referrer\r\n"                                                                             \
	"Cross-Origin-Opener-Policy: same-origin\r\n"                                                                  \
	"Cross-Origin-Resource-Policy: same-origin\r\n"                                                                \
	"Cache-Control: no-store\r\n"
extern const char api_check_page_headers[];
/* The web console (api_console_web.c): its page at /console/ (and /console, and /console/callback
 * where the identity provider sends the browser back), script and style, served with the check
 * page's headers (a->console_headers: connect-src also names api.console-login.token-endpoint). */
void api_console_page(void *ctx, const struct http_request *req, struct http_response *res);
void api_console_script(void *ctx, const struct http_request *req, struct http_response *res);
void api_console_style(void *ctx, const struct http_request *req, struct http_response *res);
/* GET /console/config.json: the sign-in settings (api.console-login, public ones only). */
void api_console_config(void *ctx, const struct http_request *req, struct http_response *res);
/* Makes a->console_headers and a->console_config from conf; TERN_ENOMEM or 0. */
int api_console_setup(struct api *a, const struct config *conf);
/* Its request: {"kind": "domain" | "fqdn" | "cache", "name": NAME, "type": TYPE (fqdn, cache;
 * default A), "resolvers": [ADDR[:PORT], ...] (fqdn, cache; at most API_CHECK_MAXRESOLVERS)}, or
 * {"kind": "service", "id": ID, "ca": CA-DOMAIN (optional)}. */
#define API_CHECK_MAXRESOLVERS 8
struct api_check_ask {
	char kind[8];
	char id[65]; /* service: the service's id */
	char ca[256]; /* service: the CA's CAA issuer name, without the final dot ("" not checked) */
	char name[CHECK_NAME_TEXT]; /* absolute, A-labels */
	char unicode[1024]; /* the name as given (an IDN's U-label form) */
	bool idn;
	uint16_t type;
	struct check_addr resolvers[API_CHECK_MAXRESOLVERS];
	int nresolvers;
};
/* Reads the body (untrusted; api_check_ask.c, fuzz_api_check): true, or false with a 400 naming
 * the field ("kind", "name", "type", "resolvers", "id", "ca", or the unknown one) written. */
bool api_parse_check(json_t *body, struct api_check_ask *q, struct http_response *res);
/* A PoP's answer to GET /pop/v1/lookup (its check fqdn report, untrusted): the end of its chain
 * into s (rcode, ttl, answer values: at most CHECK_MAXVALUES kept, printable; more counted), ok
 * set. 0, or -1 with err saying why (s holds no values). */
int api_check_pop_parse(const char *body, size_t len, struct check_server *s, char *err, size_t errlen);
/* The signed requests of a control node to its PoPs (api_check_pop.c): HMAC-SHA256 under the
 * key's secret of "tern-pop-<what>\n<time>\n<a>\n<b>" in hex; the key of keys named name (text) or
 * NULL; and whether the request's "Authorization: Tern-PoP key=NAME time=T mac=HEX" is good under
 * api.pop-key (a refusal answered in res). A signature is good for 5 minutes either way. */
void api_pop_mac(const struct tsig_key *k, const char *what, long long t, const char *a, const char *b, char hex[65]);
const struct tsig_key *api_pop_find_key(const struct config *conf, const char *name);
bool api_pop_authentic(const struct config *conf, const struct http_request *req, const char *what, const char *a,
                       const char *b, struct http_response *res);
/* GET /pop/v1/usage?after&limit (api_pop_usage.c): on a PoP (api.pop-key), its billable queries
 * per zone since its start, with its epoch, a page of zones in name order, for the control node. */
void api_pop_usage(void *ctx, const struct http_request *req, struct http_response *res);
/* GET /pop/v1/lookup?name&type (api_check_pop.c): on a PoP (api.pop-key), a check fqdn from here
 * for the control node, whose request is signed with that key; the report's JSON. */
void api_pop_lookup(void *ctx, const struct http_request *req, struct http_response *res);
/* The control node's side: each PoP (pops.list, pops.key) asked for r->target/qtype, its answer a
 * server of role "pop" in r, pop_disagrees when it differs from the authoritative one. */
void api_check_pops(struct api *a, struct check_report *r, uint16_t qtype);
/* check_ctx.allowed outside test mode (api.check-allow-private off): public unicast addresses
 * only (dyn/monitor.h's judgement), why naming the block at fault. */
/* One of the tenant's api.check-rate checks a minute taken (checks, ownership verifications and
 * bootstraps share them): true, or false with a 429 and Retry-After written. */
bool api_check_rate_ok(struct api *a, const char *tenant, struct http_response *res);
bool api_check_public_only(void *arg, const struct sockaddr *sa, char *why, size_t whylen);

/* Zone routes (api_zones.c) and RRset routes (api_rrsets.c). */
/* api_ownership.c: claims, their verification and the flag on another tenant's zone */
void api_ownership_claim(void *ctx, const struct http_request *req, struct http_response *res);
void api_ownership_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_ownership_show(void *ctx, const struct http_request *req, struct http_response *res);
void api_ownership_verify(void *ctx, const struct http_request *req, struct http_response *res);
/* Adds "ownership" to zone z's JSON: flagged when another tenant has verified the name. */
void api_ownership_flag(struct api *a, const struct store_zone *z, json_t *j);
/* api_bootstrap.c: a zone read from its current servers (AXFR, else a list of names and types) */
void api_zones_bootstrap(void *ctx, const struct http_request *req, struct http_response *res);
/* Creates the zone a create body describes, checked as POST /api/v1/zones checks it: true with
 * *sz filled (the zone is served), or false with the error response written. */
bool api_zones_create_from(struct api *a, const struct api_caller *c, json_t *body, struct store_zone *sz,
                           struct http_response *res);

void api_zones_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_batch(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_show(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_delete(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_export(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_import(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_changes(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_lock(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_unlock(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_downstream_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_zones_downstream_delete(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_get(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_delete(void *ctx, const struct http_request *req, struct http_response *res);
void api_rrsets_patch(void *ctx, const struct http_request *req, struct http_response *res);
void api_soa_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_approve(void *ctx, const struct http_request *req, struct http_response *res);
void api_proposals_reject(void *ctx, const struct http_request *req, struct http_response *res);
/* DNSSEC routes (api_dnssec.c). */
void api_dnssec_get(void *ctx, const struct http_request *req, struct http_response *res);
void api_dnssec_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_dnssec_journal(void *ctx, const struct http_request *req, struct http_response *res);
/* POST .../dnssec/backup and .../dnssec/restore: a key backup made and restored (api_backup.c's
 * document). */
void api_dnssec_backup(void *ctx, const struct http_request *req, struct http_response *res);
void api_dnssec_restore(void *ctx, const struct http_request *req, struct http_response *res);
/* In-tree hints (api_intree.c): mark a zone (publishes its _in-tree TXT), read and remove the mark. */
void api_intree_put(void *ctx, const struct http_request *req, struct http_response *res);
void api_intree_get(void *ctx, const struct http_request *req, struct http_response *res);
void api_intree_delete(void *ctx, const struct http_request *req, struct http_response *res);
/* A whole zone a producer gives (POST /api/v1/zones with rrsets or zonefile, a zone file import):
 * its _in-tree TXT, when it has one, is one RFC 3339 date-time; else false with a 400 naming field. */
bool api_intree_zone_ok(const struct zone *z, const char *field, struct http_response *res);
/* POST .../dnssec/ksk-submitted: the DS of the KSK waiting for it is at the parent (409: none waits). */
void api_dnssec_ksk_submitted(void *ctx, const struct http_request *req, struct http_response *res);
/* DELETE .../dnssec[?force=true]: turns signing off (202: the delete CDS is published and the zone
 * stays signed until the DS is gone; 200: forced, unsigned now; 409: not signed, or forced with a
 * DS seen). */
void api_dnssec_delete(void *ctx, const struct http_request *req, struct http_response *res);
/* POST .../dnssec/ds-removed: the DS of a zone being turned off is gone from the parent (409: not
 * being turned off). */
void api_dnssec_ds_removed(void *ctx, const struct http_request *req, struct http_response *res);

/* monitors.allow on API writes (api_monitor_policy.c): false, with a 400 naming the member, its
 * pool and monitor and the policy, when a DYN RRset of ch (field "rrsets[i]" when batch, else
 * "records") or of zone z (field) binds a monitor to an address the policy does not allow. The
 * caller is a request (an RCU reader). */
bool api_monitors_allowed(struct api *a, const struct change_rrset *ch, size_t n, bool batch,
                          struct http_response *res);
bool api_zone_monitors_allowed(struct api *a, const struct zone *z, const char *field, struct http_response *res);

/* ---- Services (api_services.c: routes; api_deployment.c: the deployment) ----
 * A deployment as read: the regions deployed, in configuration order, each with its IPv4 and IPv6
 * members (weight 0: none given), and the TTL it gives (0: services.ttl). */
#define API_WEIGHT_MAX 65535
#define API_SERVICE_TTL_MAX 86400
struct api_member {
	uint8_t addr[16];
	uint32_t weight;
};
struct api_region_deploy {
	size_t region; /* index in services.regions */
	size_t n4, n6;
	struct api_member v4[DYN_MAX_MEMBERS], v6[DYN_MAX_MEMBERS];
};
struct api_deployment {
	size_t n;
	struct api_region_deploy regions[CONFIG_REGIONS_MAX];
	uint32_t ttl;
};
/* Reads doc (untrusted: the body's "deployment") against sv's regions into *out (about 1 MB: the
 * caller allocates it). Every region a configured one, at least one address in each region
 * deployed, each in its family's list, none twice, weights 1 to API_WEIGHT_MAX, at most
 * DYN_MAX_MEMBERS of a family in a region, no other field. On failure writes a 400 whose field
 * is the path ("deployment.regions.eu.ipv4[1]") and whose message shows the value, and returns
 * false. */
bool api_deployment_parse(json_t *doc, const struct config_services *sv, struct api_deployment *out,
                          struct http_response *res);
/* The deployment in its normal form (addresses as inet_ntop writes them, regions in configuration
 * order), as the store keeps it and the API shows it. */
json_t *api_deployment_json(const struct api_deployment *d, const struct config_services *sv);
/* Its DYN statements, one a line: a pool per region deployed (IPv4 then IPv6 members, with their
 * weights), the answer list (the regions deployed, in configuration order), then per region its
 * `geo country` and `geo continent` entries: that region first, then the other regions deployed. */
void api_deployment_statements(const struct api_deployment *d, const struct config_services *sv, struct text *t);
/* Those statements as the DYN RRset of out (type, count, TTL, malloc'd rdata; the caller sets the
 * owner and frees rdata). TERN_ENOMEM. */
int api_deployment_dyn(const struct api_deployment *d, const struct config_services *sv, struct change_rrset *out);

/* Whether name is the canonical name of a service of the caller's tenant, and the caller's token
 * may read services (a scope not narrowed to zones, names or types). */
bool api_service_owned(struct api *a, const struct api_caller *c, const uint8_t *name);
/* A service route's token: the whole tenant (403 scope for one narrowed to zones, names or types),
 * and not read-only for a write. False after the answer is written. */
bool api_service_scope_ok(const struct api_caller *c, bool write, struct http_response *res);
/* The caller's service named by the URL (*s filled: store_service_clear()): 404 for an id that is
 * not one, or another tenant's. False after the answer is written. */
bool api_service_find(struct api *a, const struct api_caller *c, const char *id, struct store_service *s,
                      struct http_response *res);

void api_services_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_services_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_services_show(void *ctx, const struct http_request *req, struct http_response *res);
void api_services_deploy(void *ctx, const struct http_request *req, struct http_response *res);
void api_services_delete(void *ctx, const struct http_request *req, struct http_response *res);
/* api_certs.c: GET /api/v1/services/{id}/certificate (the tenant's: state, names, validity,
 * order, the last failure; never a key) and GET /api/v1/services/{id}/ingress (an ingress token
 * naming the service: chain, key, ECH keys). */
void api_services_certificate(void *ctx, const struct http_request *req, struct http_response *res);
void api_services_ingress(void *ctx, const struct http_request *req, struct http_response *res);
/* api_aliases.c: POST /api/v1/services/{id}/domains {"name": NAME} (202, pending: the svc thread
 * verifies it), GET /api/v1/services/{id}/domains (each alias, its state and reason) and DELETE
 * /api/v1/services/{id}/domains/{name}. */
void api_aliases_add(void *ctx, const struct http_request *req, struct http_response *res);
void api_aliases_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_aliases_delete(void *ctx, const struct http_request *req, struct http_response *res);
/* GET /api/v1/tenants/{t}/usage (api_usage.c) */
void api_usage(void *ctx, const struct http_request *req, struct http_response *res);
/* api_tsig_keys.c: POST /api/v1/tsig-keys {"name", "algorithm", "acl"} (201 with the secret, shown
 * once), GET /api/v1/tsig-keys (the tenant's, no secrets), GET and DELETE /api/v1/tsig-keys/{name}. */
void api_tsig_keys_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_tsig_keys_list(void *ctx, const struct http_request *req, struct http_response *res);
void api_tsig_keys_show(void *ctx, const struct http_request *req, struct http_response *res);
void api_tsig_keys_delete(void *ctx, const struct http_request *req, struct http_response *res);
/* api_tsig_acl.c: a key's ACL, a JSON list of 1 to API_TSIG_RULES_MAX rules {zones, names, types,
 * actions} (each a list of at most API_TSIG_ITEMS_MAX strings; absent: any), into rules of
 * update.acl's form (key_ref 0): 0, or TERN_EINVAL with field ("acl", "acl[i]", "acl[i].names[k]")
 * and why set, or TERN_ENOMEM; nothing is left to free on failure. Zones are only parsed here:
 * whose they are is the route's question. */
#define API_TSIG_RULES_MAX 64
#define API_TSIG_ITEMS_MAX 64
int api_tsig_acl_parse(json_t *acl, struct config_update_rule **out, size_t *n, char *field, size_t fcap, char *why,
                       size_t wcap);
void api_tsig_acl_free(struct config_update_rule *r, size_t n);
/* Every stored key published whole as srv->api_keys (the previous set freed after a grace period;
 * online: the caller is an online RCU reader, as a request is). api_tsig_keys_unpublish: none (the
 * caller is offline). */
int api_tsig_keys_publish(struct api *a, bool online, char *err, size_t errlen);
void api_tsig_keys_unpublish(struct api *a);
/* Before a service's deletion: the HTTPS records published for its verified aliases in zones of
 * the caller's tenant are deleted (each zone's own write; a failure is logged). */
void api_aliases_unpublish(struct api *a, const struct api_caller *c, const char *service);
/* A zone named apex made for the caller as POST /api/v1/zones {"name"} makes it (the same checks,
 * limits and defaults, through the write path): true with *sz, else the JSON error in res. */
bool api_zone_create_named(struct api *a, const struct api_caller *c, const uint8_t *apex, struct store_zone *sz,
                           struct http_response *res);
/* The Route 53-compatible API (api_r53.c): its routes, served beside routes[] (api.c), and the JSON
 * routes of its access keys: POST /api/v1/r53-keys (201 with the secret, shown once) and DELETE
 * /api/v1/r53-keys/{id}. */
extern const struct http_route api_r53_routes[];
extern const size_t api_r53_nroutes;
void api_r53_keys_create(void *ctx, const struct http_request *req, struct http_response *res);
void api_r53_keys_delete(void *ctx, const struct http_request *req, struct http_response *res);

/* Domain Connect (api_dconn.c): GET /v2/{domain}/settings, GET
 * /v2/domainTemplates/providers/{p}/services/{s} (supported or 404), GET .../apply (the consent
 * page, or an error page: nothing applied) and POST .../apply (signed in: {"consent": false} shows
 * the records added and removed, {"consent": true, "serial": N} writes them), the page's script
 * and style. */
void api_dconn_settings(void *ctx, const struct http_request *req, struct http_response *res);
void api_dconn_template(void *ctx, const struct http_request *req, struct http_response *res);
void api_dconn_apply_page(void *ctx, const struct http_request *req, struct http_response *res);
void api_dconn_apply(void *ctx, const struct http_request *req, struct http_response *res);
void api_dconn_script(void *ctx, const struct http_request *req, struct http_response *res);
void api_dconn_style(void *ctx, const struct http_request *req, struct http_response *res);
/* Domain Connect's lookup budget (domainconnect.lookups-per-second) and cache of signing keys:
 * made at start (NULL, TERN_ENOMEM), freed at stop; its counters in /metrics. */
int api_dconn_keys_new(struct api_dconn_keys **out);
void api_dconn_keys_free(struct api_dconn_keys *k);
void api_dconn_metrics(const struct api_dconn_keys *k, struct text *m);
/* A zone being made gets the _domainconnect TXT (domainconnect.url without its scheme), unless the
 * request's RRsets (given[0..n)) hold one. */
void api_dconn_discovery(const struct config *conf, struct zone_builder *b, const uint8_t *apex,
                         const struct change_rrset *given, size_t n);
