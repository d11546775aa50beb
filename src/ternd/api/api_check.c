/* POST /api/v1/check: `tern check domain|fqdn|cache` through the API. A parallel route: the check
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
#include "lib/check_report.h"
#include "ternd/api/api_impl.h"
#include "ternd/dyn/monitor.h"

#define CHECK_BUCKETS 1024

/* The checks b holds at now: refilled at check_rate a minute, at most check_rate. */
static double check_tokens(const struct api_bucket *b, double rate, const struct timespec *now)
{
	double elapsed = (double)(now->tv_sec - b->last.tv_sec) + (double)(now->tv_nsec - b->last.tv_nsec) / 1e9;
	double tokens = b->tokens + elapsed * rate / 60.0;
	return tokens > rate ? rate : tokens;
}

/* One check of the tenant's allowance taken: true, or false with a 429 and Retry-After written. */
static bool check_rate_ok(struct api *a, const char *tenant, struct http_response *res)
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
	b->tokens = check_tokens(b, rate, &now);
	b->last = now;
	bool ok = b->tokens >= 1;
	double tokens = b->tokens;
	if (ok)
		b->tokens -= 1;
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

void api_check(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body = NULL;
	if (!api_open(a, req, res, &c, NULL, false, &body))
		return;
	struct api_check_ask *q = malloc(sizeof(*q));
	struct check_ctx *cc = malloc(sizeof(*cc));
	struct check_report *r = NULL;
	bool counted = false;
	if (!q || !cc) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!api_parse_check(body, q, res) || !check_rate_ok(a, c.p.tenant, res))
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
	if (strcmp(q->kind, "domain") == 0)
		check_domain(cc, r);
	else if (strcmp(q->kind, "fqdn") == 0) {
		check_fqdn(cc, r, q->type);
		api_check_pops(a, r, q->type); /* the name as each PoP sees it (api_check_pop.c) */
	} else
		check_cache(cc, r, q->type);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	json_t *j = check_report_json(r);
	if (!j) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (q->idn)
		json_object_set_new(j, "unicode", json_string(q->unicode));
	http_json(res, 200, j);
done:
	if (counted)
		a->checks_running--;
	check_report_free(r);
	free(cc);
	free(q);
	json_decref(body);
	api_caller_free(&c);
}
