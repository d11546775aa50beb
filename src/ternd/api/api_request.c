/* Who is asking, for every tenant route: bearer-token authentication (with its cache), the
 * per-tenant rate limit, the zones a caller may see or write, and the routes' shared opening. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/jwks_fetch.h"

/* ---- who is asking ---- */

/* The tokens b holds at now (refilled at the rate, at most the burst). */
static double rate_tokens(const struct api *a, const struct api_bucket *b, const struct timespec *now)
{
	return api_bucket_tokens(b, now, api_config(a)->api.rate, api_config(a)->api.burst);
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

/* Takes one request of tenant's bucket: true when there was one, else false with the seconds to
 * wait in *wait. The API's requests and the tenant's dynamic updates share it (api_rate_take). */
static bool rate_take(struct api *a, const char *tenant, unsigned *wait)
{
	if (api_config(a)->api.rate == 0)
		return true;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct api_bucket *b = NULL;
	pthread_mutex_lock(&a->rate_lock);
	for (size_t i = 0; i < a->nbuckets && !b; i++)
		if (strcmp(a->buckets[i].tenant, tenant) == 0)
			b = &a->buckets[i];
	if (!b && !(b = rate_bucket_new(a, tenant, &now))) {
		pthread_mutex_unlock(&a->rate_lock);
		return true; /* no memory for a bucket: do not punish the client */
	}
	double tokens;
	bool ok = api_bucket_take(b, &now, api_config(a)->api.rate, api_config(a)->api.burst, &tokens);
	pthread_mutex_unlock(&a->rate_lock);
	if (!ok)
		*wait = (unsigned)((1 - tokens) / api_config(a)->api.rate) + 1;
	return ok;
}

bool api_rate_take(struct api *a, const char *tenant, unsigned *rate, unsigned *wait)
{
	*rate = api_config(a)->api.rate;
	*wait = 0;
	return rate_take(a, tenant, wait);
}

static bool rate_ok(struct api *a, const char *tenant, struct http_response *res)
{
	unsigned wait = 0;
	if (rate_take(a, tenant, &wait))
		return true;
	snprintf(res->retry_after, sizeof(res->retry_after), "%u", wait);
	http_error(res, 429, NULL, "rate limit of %u requests a second for tenant %s exceeded", api_config(a)->api.rate,
	           tenant);
	return false;
}

/* The caller's identity and rate limit, whatever the token's scope. */
static bool authenticate(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c)
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
	int rc;
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
	} else if ((rc = auth_verify(a->keys, tok, now, &c->p, err, sizeof(err))) < 0) {
		/* a kid the fetched set does not hold may be the provider's new key */
		if (rc == TERN_ENOTFOUND && a->jwks)
			http_error(res, 401, "Authorization", "%s%s", err,
			           jwks_fetch_unknown_kid(a->jwks)
			               ? " (the key set is being fetched again: retry in a few seconds)"
			               : " (the key set was fetched less than a minute ago)");
		else
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

bool api_authenticate(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c)
{
	if (!authenticate(a, req, res, c))
		return false;
	if (!c->p.scope.has_ingress)
		return true;
	http_error(res, 403, "scope", "an ingress token reads only GET /api/v1/services/{id}/ingress");
	auth_principal_free(&c->p);
	return false;
}

bool api_authenticate_ingress(struct api *a, const struct http_request *req, struct http_response *res,
                              struct api_caller *c)
{
	if (!authenticate(a, req, res, c))
		return false;
	if (c->p.scope.has_ingress)
		return true;
	http_error(res, 403, "scope", "this route needs an ingress token (scope.ingress naming the service)");
	auth_principal_free(&c->p);
	return false;
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
		http_error(res, 503, NULL, "store: %s", err);
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

bool api_zone_writable(const struct store_zone *z, struct http_response *res)
{
	if (strcmp(z->tenant, STORE_TENANT_CONFIG) != 0)
		return true;
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(z->apex, text, sizeof(text));
	http_error(res, 409, "zone",
	           "zone %s is served from a zone file of the configuration (dnssec-policy): edit the file and reload "
	           "ternd",
	           text);
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
	if (z && write && !api_zone_writable(z, res))
		goto fail;
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
