/* The routes that report rather than change: /healthz (zones, serials, secondary zones, PoPs,
 * monitors), /metrics (Prometheus), the OpenAPI document, the PoP list and the monitor list. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternd/api/api_impl.h"
#include "ternd/base/text.h"
#include "ternd/signals/signals.h"
#include "ternd/api/jwks_fetch.h"
#include "ternd/api/pops.h"
#include "ternd/api/prom.h"
#include "ternd/usage/usage.h"
#include "ternd/dnstap/dnstap.h"
#include "ternd/base/stats.h"
#include "ternd/dyn/monitor.h"
#include "ternd/xfrin/xfrin.h"

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

static int by_spec(const void *x, const void *y)
{
	const struct monitor_view *a = x, *b = y;
	int c = strcmp(a->spec, b->spec);
	return c ? c : strcmp(a->address, b->address);
}

/* This node's monitors for /healthz, which the control node shows per PoP: counts, and each
 * monitor's spec once with its members' states: {"up", "down", "unknown", "list": [{"monitor",
 * "members": [{"address", "state", "last_check", "last_result"}]}]}. v is sorted here. */
static json_t *monitors_health(struct monitor_view *v, size_t n)
{
	size_t count[3] = {0};
	json_t *list = json_array(), *members = NULL;
	if (n)
		qsort(v, n, sizeof(*v), by_spec);
	for (size_t i = 0; i < n; i++) {
		count[v[i].state]++;
		if (i == 0 || strcmp(v[i].spec, v[i - 1].spec) != 0) {
			members = json_array();
			json_array_append_new(list, json_pack("{s:s,s:o}", "monitor", v[i].spec, "members", members));
		}
		json_array_append_new(
		    members,
		    json_pack("{s:s,s:s,s:o,s:o}", "address", v[i].address, "state", monitor_state_name(v[i].state),
		              "last_check", v[i].last_check ? json_integer((json_int_t)v[i].last_check) : json_null(),
		              "last_result", v[i].last_result[0] ? json_string(v[i].last_result) : json_null()));
	}
	return json_pack("{s:I,s:I,s:I,s:o}", "up", (json_int_t)count[MONITOR_UP], "down",
	                 (json_int_t)count[MONITOR_DOWN], "unknown", (json_int_t)count[MONITOR_UNKNOWN], "list", list);
}

/* api.jwks-url's fetches: the set in force, when it came, what failed last. */
static json_t *jwks_health(struct jwks_fetch *f)
{
	struct jwks_fetch_state st;
	jwks_fetch_state(f, &st);
	return json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "keys", (json_int_t)st.keys, "source",
	                 st.keys == 0    ? "none"
	                 : st.from_store ? "store"
	                                 : "fetched",
	                 "last_attempt", (json_int_t)st.last_attempt, "last_success", (json_int_t)st.last_success,
	                 "next_fetch", (json_int_t)st.next_fetch, "fetches", (json_int_t)st.fetches, "failures",
	                 (json_int_t)st.failures, "skipped_keys", (json_int_t)st.skipped_keys, "refetches",
	                 (json_int_t)st.refetches, "refetches_refused", (json_int_t)st.refetches_refused, "last_error",
	                 st.last_error[0] ? json_string(st.last_error) : json_null());
}

static void jwks_metrics(struct jwks_fetch *f, struct text *m)
{
	struct jwks_fetch_state st;
	jwks_fetch_state(f, &st);
	prom_family(m, "tern_jwks_fetches_total", "counter", "Fetches of api.jwks-url, by outcome.");
	text_printf(m, "tern_jwks_fetches_total{result=\"ok\"} %llu\n", (unsigned long long)(st.fetches - st.failures));
	text_printf(m, "tern_jwks_fetches_total{result=\"failed\"} %llu\n", (unsigned long long)st.failures);
	prom_family(m, "tern_jwks_refetches_total", "counter",
	            "Fetches asked for by tokens with an unknown kid, by whether one was made (at most one a minute).");
	text_printf(m, "tern_jwks_refetches_total{made=\"yes\"} %llu\n", (unsigned long long)st.refetches);
	text_printf(m, "tern_jwks_refetches_total{made=\"no\"} %llu\n", (unsigned long long)st.refetches_refused);
	prom_family(m, "tern_jwks_keys", "gauge", "Token signing keys in force.");
	text_printf(m, "tern_jwks_keys %zu\n", st.keys);
	prom_family(m, "tern_jwks_last_success_seconds", "gauge", "When a fetch last succeeded (Unix time; 0: never).");
	text_printf(m, "tern_jwks_last_success_seconds %lld\n", (long long)st.last_success);
}

/* Response rate limiting: the counters of /metrics, and the client prefixes limited most in the
 * last 10 to 20 seconds, summed over the workers (stats_rrl_top): {"limited", "slipped", "dropped",
 * "top_seconds", "top": [{"prefix": "192.0.2.0/24", "limited": n}]}. */
enum { RRL_TOP = 10 };
static json_t *rrl_health(const struct stats *stats)
{
	uint64_t limited, slipped, dropped;
	stats_sum_rrl(stats, &limited, &slipped, &dropped);
	struct stats_rrl_hit top[RRL_TOP];
	time_t now = time(NULL);
	int n = stats_rrl_top(stats, (uint32_t)now, top, RRL_TOP);
	json_t *list = json_array();
	for (int i = 0; i < n; i++) {
		uint8_t a[16];
		char text[INET6_ADDRSTRLEN], prefix[INET6_ADDRSTRLEN + 8];
		int family = top[i].family == 4 ? AF_INET : AF_INET6;
		if (top[i].family == 4) {
			uint32_t v = htonl((uint32_t)top[i].hi);
			memcpy(a, &v, 4);
		} else {
			for (int k = 0; k < 8; k++) {
				a[k] = (uint8_t)(top[i].hi >> (56 - 8 * k));
				a[8 + k] = (uint8_t)(top[i].lo >> (56 - 8 * k));
			}
		}
		if (!inet_ntop(family, a, text, sizeof(text)))
			continue;
		snprintf(prefix, sizeof(prefix), "%s/%u", text, top[i].len);
		json_array_append_new(list,
		                      json_pack("{s:s,s:I}", "prefix", prefix, "limited", (json_int_t)top[i].count));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:o}", "limited", (json_int_t)limited, "slipped", (json_int_t)slipped,
	                 "dropped", (json_int_t)dropped, "top_seconds",
	                 (json_int_t)(now % STATS_RRL_INTERVAL + STATS_RRL_INTERVAL), "top", list);
}

void api_health(void *ctx, const struct http_request *req, struct http_response *res)
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
	if (a->jwks)
		json_object_set_new(o, "jwks", jwks_health(a->jwks));
	if (api_config(a)->rrl.enabled)
		json_object_set_new(o, "rrl", rrl_health(&a->srv->stats));
	struct monitor_view *v = NULL;
	size_t nv = 0;
	if (a->srv->monitors && monitor_list(a->srv->monitors, &v, &nv) == 0) {
		json_object_set_new(o, "monitors", monitors_health(v, nv));
		free(v);
	}
	http_json(res, 200, o);
}

/* Appends a Prometheus label value: backslash, quote and newline escaped. */
static void prom_label_value(struct text *m, const char *value)
{
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"')
			text_printf(m, "\\%c", *c);
		else if (*c == '\n')
			text_printf(m, "\\n");
		else
			text_printf(m, "%c", *c);
	}
}

/* tern_monitor_up: one sample per monitored member (1: up or not known yet, 0: down). */
static void monitor_metrics(struct monitors *ms, struct text *m)
{
	struct monitor_view *v = NULL;
	size_t n = 0;
	if (monitor_list(ms, &v, &n) < 0) {
		m->nomem = true;
		return;
	}
	prom_family(m, "tern_monitor_up", "gauge",
	            "Monitored members of dynamic answers: 1 up (or not checked yet: unknown = up), 0 down.");
	for (size_t i = 0; i < n; i++) {
		text_printf(m, "tern_monitor_up{address=\"%s\",monitor=\"", v[i].address);
		prom_label_value(m, v[i].spec);
		text_printf(m, "\"} %d\n", v[i].state != MONITOR_DOWN);
	}
	free(v);
}

/* ---- usage: queries by zone and tenant, zones and records by tenant ---- */

struct usage_text {
	struct text *m;
	const char *const *rcodes;
};

static void usage_row_text(void *arg, const struct usage_row *r)
{
	static const char *const transports[] = {"udp", "tcp", "tls", "other"};
	struct usage_text *u = arg;
	char zone[NAME_MAXLEN * 4 + 1] = "", rcode[16];
	if (r->apex)
		name_to_text(r->apex, zone, sizeof(zone));
	if (r->rcode < 17)
		snprintf(rcode, sizeof(rcode), "%s", u->rcodes[r->rcode]);
	else
		snprintf(rcode, sizeof(rcode), "other");
	text_printf(u->m, "tern_queries_total{zone=\"");
	prom_label(u->m, zone);
	text_printf(u->m, "\",tenant=\"");
	prom_label(u->m, r->tenant);
	text_printf(u->m, "\",qtype=\"%s\",rcode=\"%s\",transport=\"%s\"} %llu\n", stats_type_name(r->qtype), rcode,
	            transports[r->transport & 3], (unsigned long long)r->queries);
}

static void usage_tenant_zones(void *arg, const struct usage_tenant_row *r)
{
	struct text *m = arg;
	text_printf(m, "tern_zones{tenant=\"");
	prom_label(m, r->tenant);
	text_printf(m, "\"} %llu\n", (unsigned long long)r->zones);
}

static void usage_tenant_records(void *arg, const struct usage_tenant_row *r)
{
	struct text *m = arg;
	text_printf(m, "tern_records{tenant=\"");
	prom_label(m, r->tenant);
	text_printf(m, "\"} %llu\n", (unsigned long long)r->records);
}

static void usage_metrics(struct usage *u, struct text *m, const char *const *rcodes)
{
	prom_family(m, "tern_queries_total", "counter",
	            "Queries (opcode QUERY) answered over UDP and TCP, by the zone the question fell in (\"\": none of "
	            "ours, answered REFUSED), its tenant, question type, rcode and transport; zone transfers are "
	            "counted by the transfer thread, NOTIFY and UPDATE not here.");
	struct usage_text ut = {m, rcodes};
	usage_foreach(u, usage_row_text, &ut);
	prom_family(m, "tern_queries_unattributed_total", "counter",
	            "Queries counted but not attributed to a zone (a worker's usage table had no room).");
	text_printf(m, "tern_queries_unattributed_total %llu\n", (unsigned long long)usage_lost(u));
	prom_family(m, "tern_zones", "gauge", "Zones served, by tenant (\"\": the configuration's zone files).");
	usage_tenants(u, usage_tenant_zones, m);
	prom_family(m, "tern_records", "gauge", "Records served, by tenant.");
	usage_tenants(u, usage_tenant_records, m);
}

static void dnstap_metrics(struct dnstap *d, struct text *m)
{
	struct dnstap_counts c;
	dnstap_counts(d, &c);
	prom_family(m, "tern_dnstap_sent_total", "counter", "dnstap messages written to dnstap.socket or dnstap.file.");
	text_printf(m, "tern_dnstap_sent_total %llu\n", (unsigned long long)c.sent);
	prom_family(m, "tern_dnstap_dropped_total", "counter",
	            "Answered queries not logged by dnstap: ring full (output absent or slow), too large for a slot, "
	            "or messages lost when the output failed.");
	text_printf(m, "tern_dnstap_dropped_total{reason=\"full\"} %llu\n", (unsigned long long)c.dropped_full);
	text_printf(m, "tern_dnstap_dropped_total{reason=\"large\"} %llu\n", (unsigned long long)c.dropped_large);
	text_printf(m, "tern_dnstap_dropped_total{reason=\"output\"} %llu\n", (unsigned long long)c.dropped_output);
	prom_family(m, "tern_dnstap_connects_total", "counter",
	            "dnstap outputs opened: the first and each reconnection.");
	text_printf(m, "tern_dnstap_connects_total %llu\n", (unsigned long long)c.connects);
	prom_family(m, "tern_dnstap_connected", "gauge", "Whether the dnstap output is open.");
	text_printf(m, "tern_dnstap_connected %d\n", c.connected ? 1 : 0);
}

void api_metrics(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)req;
	static const char *const rcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
	                                     "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
	                                     "RCODE12",  "RCODE13", "RCODE14",  "RCODE15",  "BADVERS"};
	struct api *a = ctx;
	uint64_t rc[STATS_RCODES], qt[STATS_TYPES], dropped, http[6], batches, batched;
	stats_sum(&a->srv->stats, rc, qt, &dropped);
	stats_sum_xfr(&a->srv->stats, &batches, &batched);
	http_counts(a->http, http);
	struct text m = {0};
	prom_family(&m, "tern_dns_responses_total", "counter", "DNS responses sent, by rcode.");
	for (int i = 0; i < STATS_RCODES; i++)
		if (rc[i] || i <= 5)
			text_printf(&m, "tern_dns_responses_total{rcode=\"%s\"} %llu\n", i < 17 ? rcodes[i] : "other",
			            (unsigned long long)rc[i]);
	prom_family(&m, "tern_dns_queries_total", "counter", "DNS queries answered, by question type.");
	for (int i = 0; i < STATS_TYPES; i++)
		text_printf(&m, "tern_dns_queries_total{qtype=\"%s\"} %llu\n", stats_type_name(i),
		            (unsigned long long)qt[i]);
	prom_family(&m, "tern_dns_dropped_total", "counter", "Messages not answered (responses, too short).");
	text_printf(&m, "tern_dns_dropped_total %llu\n", (unsigned long long)dropped);
	prom_family(&m, "tern_dns_transfer_batches_total", "counter",
	            "Batches of pipelined TCP messages the transfer thread built, each one hand-over and back.");
	text_printf(&m, "tern_dns_transfer_batches_total %llu\n", (unsigned long long)batches);
	prom_family(&m, "tern_dns_transfer_batched_total", "counter",
	            "Messages those batches answered: zone transfers and the queries among them.");
	text_printf(&m, "tern_dns_transfer_batched_total %llu\n", (unsigned long long)batched);
	uint64_t rrl_limited, rrl_slipped, rrl_dropped;
	stats_sum_rrl(&a->srv->stats, &rrl_limited, &rrl_slipped, &rrl_dropped);
	prom_family(&m, "tern_dns_rrl_limited_total", "counter",
	            "UDP responses over the rate limit (rrl), counted in log-only mode too.");
	text_printf(&m, "tern_dns_rrl_limited_total %llu\n", (unsigned long long)rrl_limited);
	prom_family(&m, "tern_dns_rrl_slipped_total", "counter", "Of those, sent truncated (TC=1, no records).");
	text_printf(&m, "tern_dns_rrl_slipped_total %llu\n", (unsigned long long)rrl_slipped);
	prom_family(&m, "tern_dns_rrl_dropped_total", "counter", "Of those, not sent.");
	text_printf(&m, "tern_dns_rrl_dropped_total %llu\n", (unsigned long long)rrl_dropped);
	struct signals *sig = a->srv->signals;
	if (sig) {
		prom_family(&m, "tern_signals_dropped_total", "counter",
		            "Signals not handed to a channel (exec hooks, MQTT) because too many waited.");
		text_printf(&m, "tern_signals_dropped_total %llu\n", (unsigned long long)signals_dropped(sig));
	}
	prom_family(&m, "tern_api_requests_total", "counter", "API requests answered, by status class.");
	for (int i = 1; i < 6; i++)
		text_printf(&m, "tern_api_requests_total{code=\"%dxx\"} %llu\n", i, (unsigned long long)http[i]);
	char help[80];
	snprintf(help, sizeof(help), "Tenants the API rate limit follows (at most %d).", API_RATE_BUCKETS);
	prom_family(&m, "tern_api_rate_buckets", "gauge", help);
	text_printf(&m, "tern_api_rate_buckets %zu\n", a->nbuckets);
	if (a->srv->usage)
		usage_metrics(a->srv->usage, &m, rcodes);
	if (a->srv->dnstap)
		dnstap_metrics(a->srv->dnstap, &m);
	if (a->change) {
		prom_family(&m, "tern_api_write_groups_total", "counter",
		            "Group commits of the write path: store transactions, each one flush to disk.");
		text_printf(&m, "tern_api_write_groups_total %llu\n",
		            (unsigned long long)atomic_load(&a->change->groups));
		prom_family(&m, "tern_api_write_grouped_total", "counter",
		            "Writes (RRsets, SOA, imports, approvals) those groups carried, refused ones included.");
		text_printf(&m, "tern_api_write_grouped_total %llu\n",
		            (unsigned long long)atomic_load(&a->change->grouped));
		struct change_dnssec_totals d;
		change_dnssec_totals(a->change, &d);
		prom_family(&m, "tern_dnssec_zones", "gauge", "API zones with DNSSEC signing, by state.");
		text_printf(&m, "tern_dnssec_zones{state=\"signed\"} %zu\n", d.signed_zones);
		text_printf(&m, "tern_dnssec_zones{state=\"signing\"} %zu\n", d.signing);
		text_printf(&m, "tern_dnssec_zones{state=\"failing\"} %zu\n", d.failing);
		prom_family(&m, "tern_dnssec_next_refresh_seconds", "gauge",
		            "When the earliest signatures come due for refresh (Unix time; 0: none).");
		text_printf(&m, "tern_dnssec_next_refresh_seconds %lld\n", (long long)d.next_refresh);
		prom_family(&m, "tern_dnssec_jobs_total", "counter", "Signer jobs since start, by kind and outcome.");
		text_printf(&m, "tern_dnssec_jobs_total{job=\"sign\"} %llu\n", (unsigned long long)d.signed_total);
		text_printf(&m, "tern_dnssec_jobs_total{job=\"refresh\"} %llu\n",
		            (unsigned long long)d.refreshed_total);
		text_printf(&m, "tern_dnssec_jobs_total{job=\"failed\"} %llu\n", (unsigned long long)d.failed_total);
	}
	if (a->jwks)
		jwks_metrics(a->jwks, &m);
	if (a->pops)
		pops_metrics(a->pops, a->srv->zones, &m);
	if (a->srv->monitors)
		monitor_metrics(a->srv->monitors, &m);
	if (a->dckeys)
		api_dconn_metrics(a->dckeys, &m);
	if (m.nomem)
		http_error(res, 500, NULL, "out of memory");
	else
		http_text(res, 200, "text/plain; version=0.0.4", m.s, m.len);
	text_free(&m);
}

void api_openapi(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	extern const char api_openapi_json[];
	http_text(res, 200, "application/json", api_openapi_json, strlen(api_openapi_json));
}

/* The PoPs this node polls: admins only, since every PoP serves every tenant's zones. */
void api_list_pops(void *ctx, const struct http_request *req, struct http_response *res)
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

static const char *const monitor_kinds[] = {"", "tcp", "http", "https"};

/* The monitored members of every zone's dynamic answers and their health: admins only, since the
 * list holds every tenant's members and URLs. */
void api_list_monitors(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct monitor_view *v = NULL;
	size_t n = 0;
	if (!api_authenticate(a, req, res, &c))
		return;
	if (!c.p.admin) {
		http_error(res, 403, NULL, "only an admin token (\"role\": \"admin\") may see the monitors");
	} else if (a->srv->monitors && monitor_list(a->srv->monitors, &v, &n) < 0) {
		http_error(res, 500, NULL, "out of memory");
	} else {
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct monitor_view *m = &v[i];
			json_array_append_new(
			    list,
			    json_pack("{s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "monitor", m->spec, "kind",
			              monitor_kinds[m->monitor.kind <= DYN_MON_HTTPS ? m->monitor.kind : 0], "address",
			              m->address, "state", monitor_state_name(m->state), "users", (json_int_t)m->users,
			              "last_check",
			              m->last_check ? json_integer((json_int_t)m->last_check) : json_null(),
			              "last_result", m->last_result[0] ? json_string(m->last_result) : json_null()));
		}
		http_json(res, 200, json_pack("{s:o}", "monitors", list));
		free(v);
	}
	api_caller_free(&c);
}

void api_signals(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_authenticate(a, req, res, &c))
		return;
	struct text t = {0};
	if (!c.p.admin) {
		http_error(res, 403, NULL, "only an admin token (\"role\": \"admin\") may see the signals");
	} else if (!a->srv->signals) {
		http_error(res, 503, NULL, "signals are not running");
	} else if (!signals_json(a->srv->signals, &t)) {
		http_error(res, 500, NULL, "out of memory");
	} else {
		http_json_text(res, 200, &t.s, t.len);
	}
	text_free(&t);
	api_caller_free(&c);
}
