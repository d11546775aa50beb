/* POST /api/v1/check: `tern check domain|fqdn|cache|service` through the API. A parallel route: the check
 * (up to 300 queries within 60 s) runs on an HTTP worker thread, never on the event loop; the
 * tenant's own check rate (api.check-rate a minute) and the checks running at once
 * (api.check-max-running) bound what the API can be made to send. Outside test mode
 * (api.check-allow-private) no private or reserved address a user names or a zone points at is
 * asked (dyn/monitor.h's judgement of public unicast addresses), so checks cannot scan the
 * operator's networks. The report is the JSON `tern check --json` prints (lib/check_report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/check_input.h"
#include "lib/check_advice.h"
#include "lib/check_report.h"
#include "lib/check_svg.h"
#include "lib/error.h"
#include "lib/name.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/rcu.h"
#include "ternd/dyn/monitor.h"

#define CHECK_BUCKETS 1024

/* The checks b holds at now: refilled at check_rate a minute, at most check_rate. */
static double check_tokens(const struct api_bucket *b, double rate, const struct timespec *now)
{
	return api_bucket_tokens(b, now, rate / 60.0, rate);
}

/* One check of the tenant's allowance taken: true, or false with a 429 and Retry-After written. */
bool api_check_rate_ok(struct api *a, const char *tenant, struct http_response *res)
{
	double rate = api_config(a)->api.check_rate;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&a->rate_lock);
	struct api_bucket *b = NULL;
	for (size_t i = 0; i < a->ncheck_buckets && !b; i++)
		if (strcmp(a->check_buckets[i].tenant, tenant) == 0)
			b = &a->check_buckets[i];
	if (!b) {
		if (!a->check_buckets && !(a->check_buckets = calloc(CHECK_BUCKETS, sizeof(*a->check_buckets)))) {
			pthread_mutex_unlock(&a->rate_lock);
			http_error(res, 503, NULL, "out of memory");
			return false;
		}
		if (a->ncheck_buckets == CHECK_BUCKETS) { /* full: drop the full buckets (nothing in them) */
			size_t kept = 0;
			for (size_t i = 0; i < a->ncheck_buckets; i++)
				if (check_tokens(&a->check_buckets[i], rate, &now) < rate)
					a->check_buckets[kept++] = a->check_buckets[i];
			a->ncheck_buckets = kept;
		}
		if (a->ncheck_buckets == CHECK_BUCKETS) {
			pthread_mutex_unlock(&a->rate_lock);
			snprintf(res->retry_after, sizeof(res->retry_after), "60");
			http_error(res, 429, NULL, "too many tenants are checking: try again later");
			return false;
		}
		b = &a->check_buckets[a->ncheck_buckets++];
		snprintf(b->tenant, sizeof(b->tenant), "%s", tenant);
		b->tokens = rate;
		b->last = now;
	}
	double tokens;
	bool ok = api_bucket_take(b, &now, rate / 60.0, rate, &tokens);
	pthread_mutex_unlock(&a->rate_lock);
	if (!ok) {
		snprintf(res->retry_after, sizeof(res->retry_after), "%u", (unsigned)((1 - tokens) * 60.0 / rate) + 1);
		http_error(res, 429, NULL, "at most %.0f checks a minute per tenant (api.check-rate)", rate);
	}
	return ok;
}

bool api_check_public_only(void *arg, const struct sockaddr *sa, char *why, size_t whylen)
{
	(void)arg;
	if (sa->sa_family == AF_INET)
		return monitor_address_allowed(NULL, 0, 1, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr,
		                               why, whylen);
	if (sa->sa_family == AF_INET6)
		return monitor_address_allowed(NULL, 0, 2, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, why,
		                               whylen);
	snprintf(why, whylen, "not an IPv4 or IPv6 address");
	return false;
}

static int intent_alias(const struct store_alias *al, void *arg)
{
	struct check_intent *in = arg;
	char text[NAME_MAXLEN * 4 + 1], err[300];
	name_to_text(al->name, text, sizeof(text));
	if (in->naliases < CHECK_MAXNS &&
	    check_input_name(text, in->aliases[in->naliases], NULL, 0, err, sizeof(err)) == 0)
		in->naliases++;
	return 0;
}

/* What Tern intends for the caller's service id, as `tern check service` reads it through the API:
 * its canonical name, its deployment's addresses, its aliases, its certificate's names. False with
 * the response written (404 for a service that is not the caller's, 403 for a narrowed token). */
static bool service_intent(struct api *a, const struct api_caller *c, const char *id, struct check_intent *in,
                           struct http_response *res)
{
	struct store_service s;
	char err[256] = "", text[NAME_MAXLEN * 4 + 1];
	if (!api_service_scope_ok(c, false, res) || !api_service_find(a, c, id, &s, res))
		return false;
	name_to_text(s.canonical, text, sizeof(text));
	check_copy(in->canonical, sizeof(in->canonical), text);
	json_t *dep = json_loads(s.deployment, 0, NULL), *region;
	const char *key;
	json_object_foreach(json_object_get(dep, "regions"), key, region)
	{
		static const char *const families[] = {"ipv4", "ipv6"};
		for (int f = 0; f < 2; f++) {
			size_t i;
			json_t *v;
			json_array_foreach(json_object_get(region, families[f]), i, v)
			{
				if (json_is_string(v) && in->naddrs < CHECK_MAXINTENT)
					check_copy(in->addrs[in->naddrs++], CHECK_RDATA_TEXT, json_string_value(v));
			}
		}
	}
	json_decref(dep);
	store_service_clear(&s);
	struct store_cert cert;
	memset(&cert, 0, sizeof(cert));
	int rc = store_alias_list(store_latest(a->store), id, intent_alias, in, err, sizeof(err));
	if (rc == 0) {
		rc = store_cert_get(store_latest(a->store), id, false, &cert, err, sizeof(err));
		if (rc == 0 && cert.not_after) {
			in->have_cert = true;
			for (char *p = cert.names; *p && in->ncert < CHECK_MAXINTENT;) {
				size_t n = strcspn(p, " ");
				char one[CHECK_NAME_TEXT], errn[300];
				snprintf(one, sizeof(one), "%.*s", (int)(n < sizeof(one) - 1 ? n : sizeof(one) - 1), p);
				if (n &&
				    check_input_name(one, in->cert_names[in->ncert], NULL, 0, errn, sizeof(errn)) == 0)
					in->ncert++;
				p += n + (p[n] == ' ');
			}
		}
		if (rc == 0)
			store_cert_clear(&cert);
		rc = rc == TERN_ENOTFOUND ? 0 : rc;
	}
	if (rc < 0) {
		http_error(res, 503, NULL, "the store: %s", err);
		return false;
	}
	return true;
}

/* api.check-advice-url's prose on the finished report, as report["advice"] (lib/check_advice.c:
 * the findings and public DNS data only; never changes the findings; a failure is one note). The
 * configuration is read while online and copied; the exchange runs offline. */
static void advise(struct api *a, const struct check_report *r, json_t *j)
{
	const struct config *conf = api_config(a);
	if (!conf->api.check_advice_url || !conf->api.check_advice_model)
		return;
	struct check_advice_cfg cfg = {.timeout_ms = (int)conf->api.check_advice_timeout_ms};
	check_copy(cfg.url, sizeof(cfg.url), conf->api.check_advice_url);
	check_copy(cfg.model, sizeof(cfg.model), conf->api.check_advice_model);
	const char *key = getenv(CHECK_ADVICE_KEY_ENV);
	if (key && !strpbrk(key, "\r\n"))
		check_copy(cfg.key, sizeof(cfg.key), key);
	struct check_advice *adv = calloc(1, sizeof(*adv));
	if (!adv)
		return;
	rcu_thread_offline();
	check_advice_ask(&cfg, r, adv);
	rcu_thread_online();
	check_advice_json(adv, j);
	explicit_bzero(cfg.key, sizeof(cfg.key));
	free(adv);
}

void api_check(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body = NULL;
	const char *format = http_query(req, "format");
	bool svg = format && strcmp(format, "svg") == 0;
	if (format && !svg && strcmp(format, "json") != 0) {
		http_error(res, 400, "format", "format must be json or svg, not \"%.40s\"", format);
		return;
	}
	if (!api_open(a, req, res, &c, NULL, false, &body))
		return;
	struct api_check_ask *q = malloc(sizeof(*q));
	struct check_ctx *cc = malloc(sizeof(*cc));
	struct check_intent *in = calloc(1, sizeof(*in));
	struct check_report *r = NULL;
	bool counted = false;
	if (!q || !cc || !in) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!api_parse_check(body, q, res))
		goto done;
	bool service = strcmp(q->kind, "service") == 0;
	if (service) {
		if (!service_intent(a, &c, q->id, in, res))
			goto done;
		check_copy(in->ca, sizeof(in->ca), q->ca);
		check_copy(q->name, sizeof(q->name), in->canonical);
	}
	if (!api_check_rate_ok(a, c.p.tenant, res))
		goto done;
	const struct config *conf = api_config(a);
	unsigned max = conf->api.check_max_running;
	bool allow_private = conf->api.check_allow_private;
	char hints[4096] = "";
	if (conf->api.check_hints)
		snprintf(hints, sizeof(hints), "%s", conf->api.check_hints);
	if ((unsigned)(a->checks_running++) >= max) {
		a->checks_running--;
		snprintf(res->retry_after, sizeof(res->retry_after), "5");
		http_error(res, 503, NULL, "%u checks are running (api.check-max-running): try again shortly", max);
		goto done;
	}
	counted = true;
	if (!(r = check_report_new(q->kind, q->name))) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	check_ctx_init(cc, r);
	char err[300];
	if (hints[0] && check_ctx_load_hints(cc, hints, err, sizeof(err)) < 0) {
		http_error(res, 500, NULL, "api.check-hints: %s", err);
		goto done;
	}
	cc->whois[0] = 0; /* the registries are not asked through the API */
	memcpy(cc->resolvers, q->resolvers, sizeof(q->resolvers[0]) * (size_t)q->nresolvers);
	cc->nresolvers = q->nresolvers;
	if (!allow_private)
		cc->allowed = api_check_public_only;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* seconds of DNS: offline, so no publisher (a write, a reload) waits for this thread's grace
	 * period meanwhile; nothing RCU-published is followed until it is online again */
	rcu_thread_offline();
	if (strcmp(q->kind, "domain") == 0)
		check_domain(cc, r);
	else if (strcmp(q->kind, "fqdn") == 0)
		check_fqdn(cc, r, q->type);
	else if (service)
		check_service(cc, r, in);
	else
		check_cache(cc, r, q->type);
	rcu_thread_online();
	if (strcmp(q->kind, "fqdn") == 0)
		api_check_pops(a, r, q->type); /* the name as each PoP sees it (api_check_pop.c) */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (svg) { /* the web page's picture (lib/check_svg.c): every text in it escaped */
		size_t len = 0;
		char *doc = check_report_svg(r, time(NULL), &len);
		if (!doc) {
			http_error(res, 500, NULL, "out of memory");
			goto done;
		}
		http_text(res, 200, "image/svg+xml; charset=utf-8", doc, len);
		res->headers = api_check_page_headers;
		free(doc);
		goto done;
	}
	json_t *j = check_report_json(r);
	if (!j) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (q->idn)
		json_object_set_new(j, "unicode", json_string(q->unicode));
	if (service)
		json_object_set_new(j, "service", json_string(q->id));
	advise(a, r, j);
	http_json(res, 200, j);
done:
	if (counted)
		a->checks_running--;
	check_report_free(r);
	free(cc);
	free(in);
	free(q);
	json_decref(body);
	api_caller_free(&c);
}
