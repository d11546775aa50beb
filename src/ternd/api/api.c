/* The control plane's start, reload and stop (over the store and the write path main hands it),
 * and its route table. */
#include "ternd/api/api.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/dconn.h"
#include "lib/error.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/jwks_fetch.h"
#include "ternd/api/pops.h"
#include "ternd/base/log.h"

static const struct http_route routes[] = {
    {"GET", "/healthz", api_health, 0, false},
    {"GET", "/metrics", api_metrics, 0, false},
    {"GET", "/api/v1/openapi.json", api_openapi, 0, false},
    {"GET", "/api/v1/pops", api_list_pops, 0, false},
    {"GET", "/api/v1/explain", api_explain, 0, false},
    {"GET", "/api/v1/monitors", api_list_monitors, 0, false},
    {"GET", "/api/v1/signals", api_signals, 0, false},
    {"GET", "/api/v1/zones", api_zones_list, 0, false},
    {"POST", "/api/v1/zones", api_zones_create, 0, false},
    {"POST", "/api/v1/zones/batch", api_zones_batch, API_MAX_IMPORT_BODY, false},
    {"GET", "/api/v1/zones/{}", api_zones_show, 0, false},
    {"DELETE", "/api/v1/zones/{}", api_zones_delete, 0, false},
    {"GET", "/api/v1/zones/{}/export", api_zones_export, 0, false},
    {"POST", "/api/v1/zones/{}/import", api_zones_import, API_MAX_IMPORT_BODY, false},
    {"GET", "/api/v1/zones/{}/changes", api_zones_changes, 0, false},
    {"PUT", "/api/v1/zones/{}/lock", api_zones_lock, 0, false},
    {"DELETE", "/api/v1/zones/{}/lock", api_zones_unlock, 0, false},
    {"PUT", "/api/v1/zones/{}/signed-downstream", api_zones_downstream_put, 0, false},
    {"DELETE", "/api/v1/zones/{}/signed-downstream", api_zones_downstream_delete, 0, false},
    {"PUT", "/api/v1/zones/{}/soa", api_soa_put, 0, true},
    {"GET", "/api/v1/zones/{}/dnssec", api_dnssec_get, 0, false},
    {"PUT", "/api/v1/zones/{}/dnssec", api_dnssec_put, 0, false},
    {"DELETE", "/api/v1/zones/{}/dnssec", api_dnssec_delete, 0, false},
    {"GET", "/api/v1/zones/{}/dnssec/journal", api_dnssec_journal, 0, false},
    {"POST", "/api/v1/zones/{}/dnssec/ksk-submitted", api_dnssec_ksk_submitted, 0, false},
    {"POST", "/api/v1/zones/{}/dnssec/ds-removed", api_dnssec_ds_removed, 0, false},
    {"POST", "/api/v1/zones/{}/dnssec/backup", api_dnssec_backup, 0, false},
    {"POST", "/api/v1/zones/{}/dnssec/restore", api_dnssec_restore, 0, false},
    {"GET", "/api/v1/zones/{}/rrsets", api_rrsets_list, 0, false},
    {"PATCH", "/api/v1/zones/{}/rrsets", api_rrsets_patch, 0, true},
    {"GET", "/api/v1/zones/{}/rrsets/{}/{}", api_rrsets_get, 0, false},
    {"PUT", "/api/v1/zones/{}/rrsets/{}/{}", api_rrsets_put, 0, true},
    {"DELETE", "/api/v1/zones/{}/rrsets/{}/{}", api_rrsets_delete, 0, true},
    {"POST", "/api/v1/zones/{}/proposals", api_proposals_create, 0, false},
    {"GET", "/api/v1/zones/{}/proposals", api_proposals_list, 0, false},
    {"POST", "/api/v1/zones/{}/proposals/{}/approve", api_proposals_approve, 0, false},
    {"GET", "/api/v1/services", api_services_list, 0, false},
    {"POST", "/api/v1/services", api_services_create, 0, false},
    {"GET", "/api/v1/services/{}", api_services_show, 0, false},
    {"DELETE", "/api/v1/services/{}", api_services_delete, 0, false},
    {"PUT", "/api/v1/services/{}/deployment", api_services_deploy, 0, false},
    {"GET", "/api/v1/services/{}/certificate", api_services_certificate, 0, false},
    {"GET", "/api/v1/services/{}/ingress", api_services_ingress, 0, false},
    {"POST", "/api/v1/services/{}/domains", api_aliases_add, 0, false},
    {"GET", "/api/v1/services/{}/domains", api_aliases_list, 0, false},
    {"DELETE", "/api/v1/services/{}/domains/{}", api_aliases_delete, 0, false},
    {"GET", "/api/v1/tenants/{}/usage", api_usage, 0, false},
    {"POST", "/api/v1/tsig-keys", api_tsig_keys_create, 0, false},
    {"GET", "/api/v1/tsig-keys", api_tsig_keys_list, 0, false},
    {"GET", "/api/v1/tsig-keys/{}", api_tsig_keys_show, 0, false},
    {"DELETE", "/api/v1/tsig-keys/{}", api_tsig_keys_delete, 0, false},
    {"POST", "/api/v1/r53-keys", api_r53_keys_create, 0, false},
    {"DELETE", "/api/v1/r53-keys/{}", api_r53_keys_delete, 0, false},
    {"POST", "/api/v1/check", api_check, 0, true},
    {"GET", "/check", api_check_page, 0, false},
    {"GET", "/check/app.js", api_check_page_script, 0, false},
    {"GET", "/check/style.css", api_check_page_style, 0, false},
    {"POST", "/api/v1/ownership", api_ownership_claim, 0, false},
    {"GET", "/api/v1/ownership", api_ownership_list, 0, false},
    {"GET", "/api/v1/ownership/{}", api_ownership_show, 0, false},
    {"POST", "/api/v1/ownership/{}/verify", api_ownership_verify, 0, true},
    {"POST", "/api/v1/zones/{}/bootstrap", api_zones_bootstrap, 0, true},
    {"POST", "/api/v1/zones/{}/proposals/{}/reject", api_proposals_reject, 0, false},
    {"GET", "/console", api_console_page, 0, false},
    {"GET", "/console/", api_console_page, 0, false},
    {"GET", "/console/app.js", api_console_script, 0, false},
    {"GET", "/console/style.css", api_console_style, 0, false},
    {"GET", "/console/callback", api_console_page, 0, false},
    {"GET", "/console/config.json", api_console_config, 0, false},
    {"GET", "/api/v1/zones/{}/in-tree", api_intree_get, 0, false},
    {"PUT", "/api/v1/zones/{}/in-tree", api_intree_put, 0, false},
    {"DELETE", "/api/v1/zones/{}/in-tree", api_intree_delete, 0, false},
    {"GET", "/v2/{}/settings", api_dconn_settings, 0, false},
    {"GET", "/v2/domainTemplates/providers/{}/services/{}", api_dconn_template, 0, false},
    {"GET", "/v2/domainTemplates/providers/{}/services/{}/apply", api_dconn_apply_page, 0, true},
    {"POST", "/v2/domainTemplates/providers/{}/services/{}/apply", api_dconn_apply, 0, true},
    {"GET", "/dconn/app.js", api_dconn_script, 0, false},
    {"GET", "/dconn/style.css", api_dconn_style, 0, false},
};

/* An api section without data-dir and jwks (a PoP): health and metrics, nothing of tenants; and
 * with api.pop-key, the control node's signed lookups (tern check from this PoP) and reads of the
 * PoP's query counters (usage). */
static const struct http_route health_routes[] = {
    {"GET", "/healthz", api_health, 0, false},
    {"GET", "/metrics", api_metrics, 0, false},
    {"GET", "/pop/v1/lookup", api_pop_lookup, 0, true},
    {"GET", "/pop/v1/usage", api_pop_usage, 0, false},
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

static void forget_tokens(struct api *a);

/* A key set fetched (api.jwks-url) comes into force: tokens verified under the old one are
 * verified again. */
static void publish_keys(void *arg, struct auth_keys *keys)
{
	struct api *a = arg;
	pthread_mutex_lock(&a->auth_lock);
	struct auth_keys *old = a->keys;
	a->keys = keys;
	forget_tokens(a);
	pthread_mutex_unlock(&a->auth_lock);
	auth_keys_free(old);
}

int api_start(struct server *srv, const struct config *conf, struct store *store, struct change *change, int lfd,
              struct api **out, char *err, size_t errlen)
{
	struct api *a = calloc(1, sizeof(*a));
	if (!a) {
		close(lfd);
		return TERN_ENOMEM;
	}
	a->srv = srv;
	a->store = store;
	a->change = change;
	a->started = time(NULL);
	pthread_mutex_init(&a->auth_lock, NULL);
	pthread_mutex_init(&a->rate_lock, NULL);
	pthread_mutex_init(&a->own_lock, NULL);
	int rc;
	struct http_limits lim = http_limits(conf);
	if (!store) {
		rc = http_start_fd(lfd, health_routes, sizeof(health_routes) / sizeof(health_routes[0]), a, &hooks,
		                   &lim, &a->http, err, errlen);
		if (rc < 0)
			goto fail;
		log_info("API: /healthz and /metrics only on %s (port %u)", conf->api.listen.text, http_port(a->http));
		*out = a;
		return 0;
	}
	/* the TSIG keys made over the API, in use before any DNS transport starts */
	if ((rc = api_tsig_keys_publish(a, false, err, errlen)) < 0) {
		close(lfd);
		goto fail;
	}
	/* before the HTTP thread starts, so handlers see a->pops and a->jwks set once and for all */
	struct jwks_fetch_options jo = {conf->api.jwks_url, conf->api.jwks_ca_file, conf->api.jwks_max_age_ms,
	                                conf->api.jwks_timeout_ms};
	if ((conf->api.jwks_url ? (rc = jwks_fetch_start(&jo, store, publish_keys, a, &a->jwks, err, errlen))
	                        : (rc = auth_keys_load(conf->api.jwks, &a->keys, err, errlen))) < 0 ||
	    (conf->pops.n &&
	     (rc = pops_start(&conf->pops, conf->pops.key ? api_pop_find_key(conf, conf->pops.key) : NULL, srv->usage,
	                      &a->pops, err, errlen)) < 0)) {
		close(lfd);
		goto fail;
	}
	if (conf->domainconnect.enabled &&
	    (rc = dconn_templates_load(conf->domainconnect.templates, &a->dconn, err, errlen)) < 0) {
		close(lfd);
		goto fail;
	}
	if (conf->domainconnect.enabled && (rc = api_dconn_keys_new(&a->dckeys)) < 0) {
		snprintf(err, errlen, "API: out of memory");
		close(lfd);
		goto fail;
	}
	if ((rc = api_console_setup(a, conf)) < 0) {
		snprintf(err, errlen, "API: the console's settings (api.console-login) could not be made");
		close(lfd);
		goto fail;
	}
	if (a->dconn)
		log_info("API: Domain Connect: %zu template(s) from %s", a->dconn->n, conf->domainconnect.templates);
	/* the JSON API's routes, then the Route 53-compatible API's (api_r53.c) */
	const size_t njson = sizeof(routes) / sizeof(routes[0]);
	a->routes = calloc(njson + api_r53_nroutes, sizeof(*a->routes));
	if (!a->routes) {
		close(lfd);
		rc = TERN_ENOMEM;
		goto fail;
	}
	memcpy(a->routes, routes, sizeof(routes));
	memcpy(a->routes + njson, api_r53_routes, api_r53_nroutes * sizeof(*a->routes));
	rc = http_start_fd(lfd, a->routes, njson + api_r53_nroutes, a, &hooks, &lim, &a->http, err, errlen);
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

void api_set_svc(struct api *a, struct svc *svc)
{
	if (a)
		atomic_store(&a->svc, svc);
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	http_stop(a->http);
	if (a->store)
		api_tsig_keys_unpublish(a);
	jwks_fetch_stop(a->jwks);
	pops_stop(a->pops);
	auth_keys_free(a->keys);
	free(a->buckets);
	free(a->check_buckets);
	free(a->routes);
	dconn_templates_free(a->dconn);
	api_dconn_keys_free(a->dckeys);
	free(a->console_config);
	forget_tokens(a);
	pthread_mutex_destroy(&a->auth_lock);
	pthread_mutex_destroy(&a->rate_lock);
	pthread_mutex_destroy(&a->own_lock);
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
