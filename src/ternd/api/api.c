/* The control plane's start and stop (over the store and the write path main hands it),
 * authentication and per-tenant rate limits, the shared request helpers and the route table. */
#include "ternd/api/api.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/pops.h"
#include "ternd/base/log.h"
#include "ternd/base/stats.h"
#include "ternd/xfrin/xfrin.h"

/* ---- who is asking ---- */

/* The tokens b holds at now (refilled at the rate, at most the burst). */
static double rate_tokens(const struct api *a, const struct api_bucket *b, const struct timespec *now)
{
	double elapsed = (double)(now->tv_sec - b->last.tv_sec) + (double)(now->tv_nsec - b->last.tv_nsec) / 1e9;
	double tokens = b->tokens + elapsed * api_config(a)->api.rate;
	return tokens > api_config(a)->api.burst ? api_config(a)->api.burst : tokens;
}

/* A bucket for a tenant not in the table. The table is bounded (API_RATE_BUCKETS): when full,
 * the buckets refilled to the burst are dropped (they hold nothing a new bucket would not), and if
 * none is, the least recently used one is taken over. Tenant names come from tokens, or from
 * anyone with legacy-tenant-header, so the table must not grow with them. */
static struct api_bucket *rate_bucket_new(struct api *a, const char *tenant, const struct timespec *now)
{
	if (a->nbuckets == API_RATE_BUCKETS) {
		size_t kept = 0;
		for (size_t i = 0; i < a->nbuckets; i++)
			if (rate_tokens(a, &a->buckets[i], now) < api_config(a)->api.burst)
				a->buckets[kept++] = a->buckets[i];
		a->nbuckets = kept;
	}
	struct api_bucket *b;
	if (a->nbuckets < API_RATE_BUCKETS) {
		if (!a->buckets && !(a->buckets = calloc(API_RATE_BUCKETS, sizeof(*a->buckets))))
			return NULL;
		b = &a->buckets[a->nbuckets++];
	} else {
		b = &a->buckets[0];
		for (size_t i = 1; i < a->nbuckets; i++)
			if (a->buckets[i].last.tv_sec < b->last.tv_sec ||
			    (a->buckets[i].last.tv_sec == b->last.tv_sec &&
			     a->buckets[i].last.tv_nsec < b->last.tv_nsec))
				b = &a->buckets[i];
	}
	snprintf(b->tenant, sizeof(b->tenant), "%s", tenant);
	b->tokens = api_config(a)->api.burst;
	b->last = *now;
	return b;
}

static bool rate_ok(struct api *a, const char *tenant, struct http_response *res)
{
	if (api_config(a)->api.rate == 0)
		return true;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct api_bucket *b = NULL;
	for (size_t i = 0; i < a->nbuckets && !b; i++)
		if (strcmp(a->buckets[i].tenant, tenant) == 0)
			b = &a->buckets[i];
	if (!b && !(b = rate_bucket_new(a, tenant, &now)))
		return true; /* no memory for a bucket: do not punish the client */
	b->tokens = rate_tokens(a, b, &now);
	b->last = now;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return true;
	}
	unsigned wait = (unsigned)((1 - b->tokens) / api_config(a)->api.rate) + 1;
	snprintf(res->retry_after, sizeof(res->retry_after), "%u", wait);
	http_error(res, 429, NULL, "rate limit of %u requests a second for tenant %s exceeded", api_config(a)->api.rate,
	           tenant);
	return false;
}

bool api_authenticate(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c)
{
	memset(c, 0, sizeof(*c));
	/* Two of a header would let a proxy that reads one and ternd, which reads another, disagree
	 * on who is asking. */
	static const char *const identity[] = {"Authorization", "X-Tenant-ID"};
	for (size_t i = 0; i < 2; i++)
		if (http_header_count(req, identity[i]) > 1) {
			http_error(res, 401, identity[i], "more than one %s header", identity[i]);
			return false;
		}
	const char *h = http_header(req, "Authorization");
	if (!h) {
		const char *legacy = http_header(req, "X-Tenant-ID"), *why;
		if (!legacy || !api_config(a)->api.legacy_tenant_header) {
			http_error(res, 401, "Authorization", "a bearer token is required%s",
			           legacy ? " (X-Tenant-ID is not accepted: legacy_tenant_header is off)" : "");
			return false;
		}
		if ((why = auth_tenant_problem(legacy, strlen(legacy))) != NULL) {
			http_error(res, 401, "X-Tenant-ID", "X-Tenant-ID %s", why);
			return false;
		}
		snprintf(c->p.tenant, sizeof(c->p.tenant), "%s", legacy);
		return rate_ok(a, c->p.tenant, res);
	}
	/* RFC 6750 2.1: the scheme in any case, one or more spaces, the token */
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		http_error(res, 401, "Authorization", "expected \"Bearer <token>\"");
		return false;
	}
	const char *tok = h + 7 + strspn(h + 7, " ");
	char err[256] = "";
	time_t now = time(NULL);
	uint8_t digest[32];
	struct api_token *hit = NULL;
	pthread_mutex_lock(&a->auth_lock);
	if (EVP_Digest(tok, strlen(tok), digest, NULL, EVP_sha256(), NULL) == 1) {
		for (size_t i = 0; i < API_TOKEN_CACHE && !hit; i++)
			if (a->tokens[i].used && CRYPTO_memcmp(a->tokens[i].digest, digest, sizeof(digest)) == 0)
				hit = &a->tokens[i];
	}
	/* exp is checked again on every use; nbf and the signature cannot change */
	bool ok = true;
	if (hit && hit->p.expires + AUTH_LEEWAY > now) {
		if (auth_principal_copy(&c->p, &hit->p) < 0) {
			http_error(res, 500, NULL, "out of memory");
			ok = false;
		}
	} else if (auth_verify(a->keys, tok, now, &c->p, err, sizeof(err)) < 0) {
		http_error(res, 401, "Authorization", "%s", err);
		ok = false;
	} else {
		struct api_token *slot = hit ? hit : &a->tokens[a->next_token++ % API_TOKEN_CACHE];
		if (slot->used)
			auth_principal_free(&slot->p);
		slot->used = auth_principal_copy(&slot->p, &c->p) == 0;
		memcpy(slot->digest, digest, sizeof(digest));
	}
	pthread_mutex_unlock(&a->auth_lock);
	if (!ok)
		return false;
	if (!rate_ok(a, c->p.tenant, res)) {
		auth_principal_free(&c->p);
		return false;
	}
	return true;
}

void api_caller_free(struct api_caller *c)
{
	auth_principal_free(&c->p);
}

bool api_zone_get(struct api *a, const struct api_caller *c, const char *name, struct store_zone *z,
                  struct http_response *res)
{
	uint8_t apex[NAME_MAXLEN];
	if (!api_parse_zone_name(name, apex)) {
		http_error(res, 400, "zone", "\"%.300s\" is not a valid zone name", name);
		return false;
	}
	char err[256] = "", text[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, text, sizeof(text));
	int rc = store_zone_get(store_latest(a->store), apex, z, err, sizeof(err));
	if (rc == TERN_ENOTFOUND || (rc == 0 && !c->p.admin && strcmp(z->tenant, c->p.tenant) != 0) ||
	    (rc == 0 && !auth_allows(&c->p, apex, NULL, 0, false))) {
		http_error(res, 404, "zone", "no zone %s", text);
		return false;
	}
	if (rc < 0) {
		http_error(res, 500, NULL, "store: %s", err);
		return false;
	}
	return true;
}

bool api_whole_zone(const struct api_caller *c, const struct store_zone *z, bool write, struct http_response *res)
{
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(z->apex, text, sizeof(text));
	if (!c->p.scope.has_names && !c->p.scope.has_types && auth_allows(&c->p, z->apex, NULL, 0, write))
		return true;
	http_error(res, 403, "zone", "the token's scope does not cover the whole of %s%s", text,
	           write ? " for writing" : "");
	return false;
}

bool api_open(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c,
              struct store_zone *z, bool write, json_t **body)
{
	if (body)
		*body = NULL;
	if (!api_authenticate(a, req, res, c))
		return false;
	if (z && !api_zone_get(a, c, req->params[0], z, res))
		goto fail;
	if (z && write && z->locked) {
		http_error(res, 409, "zone", "zone is locked: %s", z->lock_reason);
		goto fail;
	}
	if (body) {
		json_error_t je;
		*body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
		if (!*body) {
			http_error(res, 400, NULL, "body is not JSON: %s (line %d)", je.text, je.line);
			goto fail;
		}
	}
	return true;
fail:
	api_caller_free(c);
	return false;
}

/* ---- health and metrics ---- */

struct zone_totals {
	json_t *serials;
	size_t zones, records;
};

static int zone_total(void *arg, const struct zone *z)
{
	struct zone_totals *t = arg;
	char name[NAME_MAXLEN * 4 + 1];
	name_to_text(z->apex, name, sizeof(name));
	if (t->serials)
		json_object_set_new(t->serials, name, json_integer(z->serial));
	t->zones++;
	t->records += z->nrecords;
	return 0;
}

static void health(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	struct api *a = ctx;
	struct zone_totals t = {json_object(), 0, 0};
	zones_foreach(a->srv->zones, zone_total, &t);
	json_t *o = json_pack("{s:s,s:I,s:I,s:o}", "status", "ok", "uptime", (json_int_t)(time(NULL) - a->started),
	                      "zones", (json_int_t)t.zones, "serials", t.serials);
	struct xfrin_status *st = NULL;
	size_t n = 0;
	if (a->srv->xfrin && xfrin_status(a->srv->xfrin, &st, &n) == 0) {
		/* secondary zones: what is served, when it last came, and how it stands */
		json_t *sec = json_object();
		for (size_t i = 0; i < n; i++) {
			char name[NAME_MAXLEN * 4 + 1];
			name_to_text(st[i].apex, name, sizeof(name));
			json_object_set_new(
			    sec, name,
			    json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:s}", "state", xfrin_state_name(st[i].state),
			              "serving", st[i].serving, "serial", (json_int_t)st[i].serial, "last_transfer",
			              (json_int_t)st[i].last_transfer, "last_refresh", (json_int_t)st[i].last_refresh,
			              "expires", (json_int_t)st[i].expires, "last_error", st[i].last_error));
		}
		json_object_set_new(o, "secondaries", sec);
		free(st);
	}
	if (a->pops)
		json_object_set_new(o, "pops", pops_summary(a->pops));
	http_json(res, 200, o);
}

static void metrics(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	static const char *const rcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
	                                     "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
	                                     "RCODE12",  "RCODE13", "RCODE14",  "RCODE15",  "BADVERS"};
	struct api *a = ctx;
	uint64_t rc[STATS_RCODES], qt[STATS_TYPES], dropped, http[6];
	stats_sum(&a->srv->stats, rc, qt, &dropped);
	http_counts(a->http, http);
	struct zone_totals t = {NULL, 0, 0};
	zones_foreach(a->srv->zones, zone_total, &t);
	struct prom m = {0};
	prom_family(&m, "tern_dns_responses_total", "counter", "DNS responses sent, by rcode.");
	for (int i = 0; i < STATS_RCODES; i++)
		if (rc[i] || i <= 5)
			prom_printf(&m, "tern_dns_responses_total{rcode=\"%s\"} %llu\n", i < 17 ? rcodes[i] : "other",
			            (unsigned long long)rc[i]);
	prom_family(&m, "tern_dns_queries_total", "counter", "DNS queries answered, by question type.");
	for (int i = 0; i < STATS_TYPES; i++)
		prom_printf(&m, "tern_dns_queries_total{qtype=\"%s\"} %llu\n", stats_type_name(i),
		            (unsigned long long)qt[i]);
	prom_family(&m, "tern_dns_dropped_total", "counter", "Messages not answered (responses, too short).");
	prom_printf(&m, "tern_dns_dropped_total %llu\n", (unsigned long long)dropped);
	prom_family(&m, "tern_api_requests_total", "counter", "API requests answered, by status class.");
	for (int i = 1; i < 6; i++)
		prom_printf(&m, "tern_api_requests_total{code=\"%dxx\"} %llu\n", i, (unsigned long long)http[i]);
	char help[80];
	snprintf(help, sizeof(help), "Tenants the API rate limit follows (at most %d).", API_RATE_BUCKETS);
	prom_family(&m, "tern_api_rate_buckets", "gauge", help);
	prom_printf(&m, "tern_api_rate_buckets %zu\n", a->nbuckets);
	prom_family(&m, "tern_zones", "gauge", "Zones served.");
	prom_printf(&m, "tern_zones %zu\n", t.zones);
	prom_family(&m, "tern_records", "gauge", "Records served.");
	prom_printf(&m, "tern_records %zu\n", t.records);
	if (a->pops)
		pops_metrics(a->pops, a->srv->zones, &m);
	if (m.nomem)
		http_error(res, 500, NULL, "out of memory");
	else
		http_text(res, 200, "text/plain; version=0.0.4", m.text, m.len);
	prom_free(&m);
}

static void openapi(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	extern const char api_openapi_json[];
	http_text(res, 200, "application/json", api_openapi_json, strlen(api_openapi_json));
}

/* The PoPs this node polls: admins only, since every PoP serves every tenant's zones. */
static void list_pops(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_authenticate(a, req, res, &c))
		return;
	if (!c.p.admin)
		http_error(res, 403, NULL, "only an admin token (\"role\": \"admin\") may see the PoPs");
	else
		http_json(res, 200,
		          json_pack("{s:o}", "pops", a->pops ? pops_json(a->pops, a->srv->zones) : json_array()));
	api_caller_free(&c);
}

static const struct http_route routes[] = {
    {"GET", "/healthz", health, 0},
    {"GET", "/metrics", metrics, 0},
    {"GET", "/api/v1/openapi.json", openapi, 0},
    {"GET", "/api/v1/pops", list_pops, 0},
    {"GET", "/api/v1/zones", api_zones_list, 0},
    {"POST", "/api/v1/zones", api_zones_create, 0},
    {"GET", "/api/v1/zones/{}", api_zones_show, 0},
    {"DELETE", "/api/v1/zones/{}", api_zones_delete, 0},
    {"GET", "/api/v1/zones/{}/export", api_zones_export, 0},
    {"POST", "/api/v1/zones/{}/import", api_zones_import, API_MAX_IMPORT_BODY},
    {"GET", "/api/v1/zones/{}/changes", api_zones_changes, 0},
    {"PUT", "/api/v1/zones/{}/lock", api_zones_lock, 0},
    {"DELETE", "/api/v1/zones/{}/lock", api_zones_unlock, 0},
    {"PUT", "/api/v1/zones/{}/soa", api_soa_put, 0},
    {"GET", "/api/v1/zones/{}/rrsets", api_rrsets_list, 0},
    {"PATCH", "/api/v1/zones/{}/rrsets", api_rrsets_patch, 0},
    {"GET", "/api/v1/zones/{}/rrsets/{}/{}", api_rrsets_get, 0},
    {"PUT", "/api/v1/zones/{}/rrsets/{}/{}", api_rrsets_put, 0},
    {"DELETE", "/api/v1/zones/{}/rrsets/{}/{}", api_rrsets_delete, 0},
    {"POST", "/api/v1/zones/{}/proposals", api_proposals_create, 0},
    {"GET", "/api/v1/zones/{}/proposals", api_proposals_list, 0},
    {"POST", "/api/v1/zones/{}/proposals/{}/approve", api_proposals_approve, 0},
};

/* An api section without data-dir and jwks (a PoP): health and metrics, nothing of tenants. */
static const struct http_route health_routes[] = {
    {"GET", "/healthz", health, 0},
    {"GET", "/metrics", metrics, 0},
};

/* Handlers read zones (RCU): the HTTP thread is a reader for the length of each request only,
 * so it never holds up a publisher while it waits for connections. */
static void reader_enter(void *ctx)
{
	(void)ctx;
	rcu_register_thread();
}

static void reader_leave(void *ctx)
{
	(void)ctx;
	rcu_unregister_thread();
}

static const struct http_hooks hooks = {reader_enter, reader_leave};

/* ---- start and stop ---- */

/* The HTTP server's limits from the configuration. RLIMIT_NOFILE must hold max-clients connections
 * besides the DNS TCP clients and the rest of ternd (main.c has raised it as far as it goes): it is
 * raised further if it can be, else max-clients is lowered to fit, with a warning. */
static struct http_limits http_limits(const struct config *conf)
{
	struct http_limits lim = {.max_body = API_MAX_BODY,
	                          .max_clients = conf->api.max_clients,
	                          .max_per_address = conf->api.max_clients_per_address,
	                          .request_ms = conf->api.request_timeout_ms,
	                          .idle_ms = conf->api.idle_timeout_ms};
	const rlim_t others = 256 + conf->tcp_max_clients; /* listeners, zone files, the store, transfers */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return lim;
	rlim_t need = (rlim_t)lim.max_clients + others;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		struct rlimit raised = rl;
		raised.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
		if (rl.rlim_cur < need) {
			unsigned fit = rl.rlim_cur > others + 16 ? (unsigned)(rl.rlim_cur - others) : 16;
			log_warning("API: open files limited to %llu: max-clients %u lowered to %u",
			            (unsigned long long)rl.rlim_cur, lim.max_clients, fit);
			lim.max_clients = fit;
			if (lim.max_per_address > fit)
				lim.max_per_address = fit;
		}
	}
	return lim;
}

int api_start(struct server *srv, const struct config *conf, struct store *store, struct change *change,
              struct api **out, char *err, size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return TERN_ENOMEM;
	a->srv = srv;
	a->store = store;
	a->change = change;
	a->started = time(NULL);
	pthread_mutex_init(&a->auth_lock, NULL);
	int rc;
	struct http_limits lim = http_limits(conf);
	if (!store) {
		rc = http_start((const struct sockaddr *)&conf->api.listen.addr, conf->api.listen.addrlen,
		                health_routes, sizeof(health_routes) / sizeof(health_routes[0]), a, &hooks, &lim,
		                &a->http, err, errlen);
		if (rc < 0)
			goto fail;
		log_info("API: /healthz and /metrics only on %s (port %u)", conf->api.listen.text, http_port(a->http));
		*out = a;
		return 0;
	}
	if ((rc = auth_keys_load(conf->api.jwks, &a->keys, err, errlen)) < 0)
		goto fail;
	/* before the HTTP thread starts, so handlers see a->pops set once and for all */
	if (conf->pops.n && (rc = pops_start(&conf->pops, &a->pops, err, errlen)) < 0)
		goto fail;
	rc = http_start((const struct sockaddr *)&conf->api.listen.addr, conf->api.listen.addrlen, routes,
	                sizeof(routes) / sizeof(routes[0]), a, &hooks, &lim, &a->http, err, errlen);
	if (rc < 0)
		goto fail;
	log_info("API: listening on %s (port %u)", conf->api.listen.text, http_port(a->http));
	api_journal_init(a);
	*out = a;
	return 0;
fail:
	api_stop(a);
	return rc;
}

unsigned api_port(const struct api *a)
{
	return http_port(a->http);
}

/* Empties the verified-token cache. */
static void forget_tokens(struct api *a)
{
	for (size_t i = 0; i < API_TOKEN_CACHE; i++)
		if (a->tokens[i].used) {
			auth_principal_free(&a->tokens[i].p);
			a->tokens[i].used = false;
		}
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	http_stop(a->http);
	pops_stop(a->pops);
	auth_keys_free(a->keys);
	free(a->buckets);
	forget_tokens(a);
	pthread_mutex_destroy(&a->auth_lock);
	free(a);
}

void api_reload(struct api *a, const struct config *conf)
{
	if (!a || !conf->api.enabled)
		return;
	/* the rest of conf's api section (rate limits, SOA defaults, ...) is read from the configuration
	 * in force by each request */
	http_set_limits(a->http, conf->api.max_clients_per_address, conf->api.request_timeout_ms,
	                conf->api.idle_timeout_ms);
	if (!a->keys || !conf->api.jwks)
		return; /* an API that only reports health */
	struct auth_keys *keys = NULL, *old;
	char err[1024] = "";
	if (auth_keys_load(conf->api.jwks, &keys, err, sizeof(err)) < 0) {
		log_error("API: JWKS not reloaded, the keys in use stay: %s", err);
		return;
	}
	pthread_mutex_lock(&a->auth_lock);
	old = a->keys;
	a->keys = keys;
	forget_tokens(a);
	pthread_mutex_unlock(&a->auth_lock);
	auth_keys_free(old);
	log_info("API: JWKS reloaded from %s", conf->api.jwks);
}
