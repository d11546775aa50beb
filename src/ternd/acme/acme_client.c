/* The ACME client: one libcurl easy handle per issuance, JWS (ES256) requests with nonces (a
 * badNonce retried with the fresh one, bounded), the http-01 flow, and polling with backoff under
 * a deadline (acme_poll_next_ms). Every answer of the CA goes through acme_parse.c or the chain's own checks. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/acme/acme_client.h"
#include "ternd/acme/acme_key.h"

#define NONCE_MAX 255
#define BAD_NONCE_RETRIES 20 /* a CA rejecting half the good nonces fails 1 request in a million */
#define REQUEST_TIMEOUT_MS 30000
#define CHAIN_MAX (256 * 1024)
#define RETRY_AFTER_MAX 86400

static const char *const step_names[] = {"setup",    "directory",     "nonce",      "account",
                                         "order",    "authorization", "challenge",  "validation",
                                         "finalize", "issuance",      "certificate"};

const char *acme_step_name(enum acme_step s)
{
	return (unsigned)s < sizeof(step_names) / sizeof(step_names[0]) ? step_names[s] : "?";
}

int acme_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : TERN_EIO;
}

void acme_result_free(struct acme_result *r)
{
	free(r->chain);
	if (r->key) {
		memset(r->key, 0, strlen(r->key));
		free(r->key);
	}
	r->chain = r->key = NULL;
}

/* One response: status, body (NUL-terminated, at most max), the headers ACME uses. */
struct response {
	long status;
	char *body;
	size_t len, cap, max;
	bool overflow;
	char nonce[NONCE_MAX + 1];
	char location[ACME_URL_MAX + 1];
	bool location_bad;
	char content_type[128];
	long retry_after; /* seconds; -1 when absent */
};

struct session {
	const struct acme_options *o;
	CURL *curl;
	struct acme_directory dir;
	char nonce[NONCE_MAX + 1]; /* "" when none is held */
	char kid[ACME_URL_MAX + 1];
	char jwk[160];
	uint64_t deadline_ms;
	unsigned bad_nonces, polls;
	struct acme_error *err;
	struct response res;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 4, 5))) static int fail(struct session *s, enum acme_step step, int code, const char *fmt,
                                                      ...)
{
	va_list ap;
	s->err->step = step;
	s->err->code = code;
	va_start(ap, fmt);
	vsnprintf(s->err->message, sizeof(s->err->message), fmt, ap);
	va_end(ap);
	return code;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	if (r->len + len > r->max) {
		r->overflow = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + len + 1)
			cap *= 2;
		char *b = realloc(r->body, cap);
		if (!b)
			return 0;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* A header's value, trimmed, into out (cut: the caller checks the form). */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	const char *v = line + nl + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t n = (size_t)(end - v);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	char v[ACME_URL_MAX + 2];
	if (len > 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new response (after a 100): start over */
		r->nonce[0] = r->location[0] = r->content_type[0] = '\0';
		r->location_bad = false;
		r->retry_after = -1;
		return len;
	}
	if (header_value(data, len, "Replay-Nonce", v, sizeof(v))) {
		size_t vn = strlen(v);
		r->nonce[0] = '\0';
		if (vn > 0 && vn <= NONCE_MAX && acme_b64url_alphabet(v, vn)) /* RFC 8555 6.5.1: base64url */
			memcpy(r->nonce, v, vn + 1);
	} else if (header_value(data, len, "Location", v, sizeof(v))) {
		r->location_bad = !acme_url_ok(v); /* a cut URL is longer than ACME_URL_MAX: refused too */
		r->location[0] = '\0';
		if (!r->location_bad)
			memcpy(r->location, v, strlen(v) + 1);
	} else if (header_value(data, len, "Content-Type", r->content_type, sizeof(r->content_type))) {
		/* compared by content_type_is() */
	} else if (header_value(data, len, "Retry-After", v, sizeof(v))) {
		char *end;
		errno = 0;
		long secs = strtol(v, &end, 10);
		if (v[0] >= '0' && v[0] <= '9' && *end == '\0' && errno == 0) {
			r->retry_after = secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : secs;
		} else {
			time_t t = curl_getdate(v, NULL);
			time_t now = time(NULL);
			if (t > 0)
				r->retry_after = t <= now                    ? 0
				                 : t - now > RETRY_AFTER_MAX ? RETRY_AFTER_MAX
				                                             : (long)(t - now);
		}
	}
	return len;
}

static bool content_type_is(const struct response *r, const char *type)
{
	size_t n = strlen(type);
	return strncasecmp(r->content_type, type, n) == 0 &&
	       (r->content_type[n] == '\0' || r->content_type[n] == ';' || r->content_type[n] == ' ');
}

/* libcurl's progress callback (at least once a second): a cancel ends the request under way, so
 * a stop does not wait for a CA that stalls (REQUEST_TIMEOUT_MS). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	const struct session *s = arg;
	return s->o->cancel && atomic_load(s->o->cancel);
}

/* One HTTP exchange: GET (body NULL, head false), HEAD (head true) or POST of a JWS. */
static int exchange(struct session *s, enum acme_step step, const char *url, bool head, const char *body,
                    const char *accept, size_t max)
{
	struct response *r = &s->res;
	uint64_t now = now_ms();
	if (now >= s->deadline_ms)
		return fail(s, step, TERN_EIO, "the deadline passed before %s %s",
		            body   ? "POST"
		            : head ? "HEAD"
		                   : "GET",
		            url);
	uint64_t left = s->deadline_ms - now;
	r->len = 0;
	if (r->body)
		r->body[0] = '\0';
	r->max = max;
	r->overflow = false;
	r->status = 0;
	r->nonce[0] = r->location[0] = r->content_type[0] = '\0';
	r->location_bad = false;
	r->retry_after = -1;

	struct curl_slist *hdrs = NULL, *h;
	char accept_line[96];
	snprintf(accept_line, sizeof(accept_line), "Accept: %s", accept ? accept : "application/json");
	h = curl_slist_append(hdrs, accept_line);
	if (h)
		hdrs = h;
	if (body && (h = curl_slist_append(hdrs, "Content-Type: application/jose+json")))
		hdrs = h;
	if (body && (h = curl_slist_append(hdrs, "Expect:")))
		hdrs = h;

	CURL *c = s->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left < REQUEST_TIMEOUT_MS ? left : REQUEST_TIMEOUT_MS));
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tern-acme/1");
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
	if (s->o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->o->ca_file);
	if (head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (r->overflow)
		return fail(s, step, TERN_EINVAL, "%s: the answer is longer than %zu bytes", url, max);
	if (cc != CURLE_OK)
		return fail(s, step, TERN_EIO, "%s: %s", url, curl_easy_strerror(cc));
	if (!r->body) { /* an empty body reads as "" */
		r->body = malloc(1);
		if (!r->body)
			return fail(s, step, TERN_ENOMEM, "out of memory");
		r->body[0] = '\0';
		r->cap = 1;
	}
	s->err->http_status = (int)r->status;
	return 0;
}

/* The response is an error: its problem document into err, when it has one. */
static int http_failure(struct session *s, enum acme_step step, const char *what, const char *url)
{
	struct response *r = &s->res;
	char perr[160];
	if (content_type_is(r, "application/problem+json") &&
	    acme_parse_problem(r->body, r->len, &s->err->problem, perr, sizeof(perr)) == 0) {
		s->err->has_problem = true;
		return fail(s, step, TERN_EINVAL, "%s %s: HTTP %ld: %s", what, url, r->status, s->err->problem.type);
	}
	return fail(s, step, TERN_EINVAL, "%s %s: HTTP %ld without a problem document", what, url, r->status);
}

static int new_nonce(struct session *s, enum acme_step step)
{
	int rc = exchange(s, step, s->dir.new_nonce, true, NULL, NULL, 0);
	if (rc < 0)
		return rc;
	if (s->res.status != 200 && s->res.status != 204)
		return http_failure(s, ACME_STEP_NONCE, "HEAD", s->dir.new_nonce);
	if (!s->res.nonce[0])
		return fail(s, ACME_STEP_NONCE, TERN_EINVAL, "HEAD %s: no Replay-Nonce of base64url characters",
		            s->dir.new_nonce);
	memcpy(s->nonce, s->res.nonce, sizeof(s->nonce));
	return 0;
}

static char *b64url_dup(const char *in, size_t len)
{
	char *out = malloc(len / 3 * 4 + 5);
	if (out)
		acme_b64url((const uint8_t *)in, len, out);
	return out;
}

/* The JWS (flattened JSON serialization) of payload ("" for POST-as-GET) to url. */
static char *jws(struct session *s, enum acme_step step, const char *url, const char *payload, bool use_jwk)
{
	json_t *prot = json_pack("{s:s,s:s,s:s}", "alg", "ES256", "nonce", s->nonce, "url", url);
	char *ptext = NULL, *p64 = NULL, *pl64 = NULL, *input = NULL, *out = NULL;
	char sig[96];
	if (!prot)
		goto oom;
	if (use_jwk) {
		json_t *jwk = json_loads(s->jwk, 0, NULL);
		if (!jwk || json_object_set_new(prot, "jwk", jwk) < 0)
			goto oom;
	} else if (json_object_set_new(prot, "kid", json_string(s->kid)) < 0) {
		goto oom;
	}
	ptext = json_dumps(prot, JSON_COMPACT);
	p64 = ptext ? b64url_dup(ptext, strlen(ptext)) : NULL;
	pl64 = b64url_dup(payload, strlen(payload));
	if (!p64 || !pl64)
		goto oom;
	size_t ilen = strlen(p64) + 1 + strlen(pl64);
	input = malloc(ilen + 1);
	if (!input)
		goto oom;
	snprintf(input, ilen + 1, "%s.%s", p64, pl64);
	if (acme_sign_es256(s->o->account_key, input, ilen, sig, sizeof(sig), s->err->message,
	                    sizeof(s->err->message)) < 0) {
		s->err->step = step;
		s->err->code = TERN_EINVAL;
		goto done;
	}
	json_t *body = json_pack("{s:s,s:s,s:s}", "protected", p64, "payload", pl64, "signature", sig);
	out = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!out)
		goto oom;
	goto done;
oom:
	fail(s, step, TERN_ENOMEM, "out of memory making the request to %s", url);
done:
	json_decref(prot);
	free(ptext);
	free(p64);
	free(pl64);
	free(input);
	return out;
}

/* A signed POST (payload NULL: POST-as-GET); 0 when the CA answered with one of the two statuses
 * wanted (ok2 0: only ok). A badNonce is sent again with the nonce it came with, at most
 * BAD_NONCE_RETRIES times; any other error carries the CA's problem document. */
static int post(struct session *s, enum acme_step step, const char *url, const char *payload, bool use_jwk, long ok,
                long ok2, const char *accept, size_t max)
{
	for (int attempt = 0;; attempt++) {
		if (!s->nonce[0]) {
			int rc = new_nonce(s, step);
			if (rc < 0)
				return rc;
		}
		char *body = jws(s, step, url, payload ? payload : "", use_jwk);
		if (!body)
			return s->err->code;
		s->nonce[0] = '\0'; /* used */
		int rc = exchange(s, step, url, false, body, accept, max);
		free(body);
		if (rc < 0)
			return rc;
		memcpy(s->nonce, s->res.nonce, sizeof(s->nonce)); /* every response's nonce is the next one */
		if (s->res.status == ok || (ok2 && s->res.status == ok2))
			return 0;
		rc = http_failure(s, step, "POST", url);
		if (s->err->has_problem && strcmp(s->err->problem.type, "urn:ietf:params:acme:error:badNonce") == 0 &&
		    attempt < BAD_NONCE_RETRIES) {
			s->err->has_problem = false;
			s->bad_nonces++;
			continue;
		}
		return rc;
	}
}

unsigned acme_poll_next_ms(unsigned delay_ms, unsigned cap_s)
{
	uint64_t cap = (uint64_t)(cap_s ? cap_s : 60) * 1000, next = (uint64_t)delay_ms * 2;
	if (delay_ms < ACME_POLL_FIRST_MS)
		next = ACME_POLL_FIRST_MS;
	if (next > cap)
		next = cap;
	return (unsigned)next;
}

/* Waits *delay_ms (the CA's Retry-After when longer), in slices that watch o->cancel, and moves
 * *delay_ms on (acme_poll_next_ms); an error when the wait would end past the deadline. */
static int wait_for(struct session *s, enum acme_step step, unsigned *delay_ms, const char *what)
{
	uint64_t ms = *delay_ms;
	if (s->res.retry_after > 0 && (uint64_t)s->res.retry_after * 1000 > ms)
		ms = (uint64_t)s->res.retry_after * 1000;
	uint64_t until = now_ms() + ms;
	if (until > s->deadline_ms)
		return fail(s, step, TERN_EIO, "%s: still %s at the deadline (%u s)", what, "not done",
		            s->o->deadline_s ? s->o->deadline_s : 300);
	*delay_ms = acme_poll_next_ms(*delay_ms, s->o->poll_cap_s);
	s->polls++;
	for (;;) {
		if (s->o->cancel && atomic_load(s->o->cancel))
			return fail(s, step, TERN_EIO, "%s: cancelled", what);
		uint64_t now = now_ms();
		if (now >= until)
			return 0;
		uint64_t slice = until - now > 100 ? 100 : until - now;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000};
		nanosleep(&ts, NULL);
	}
}

static int get_directory(struct session *s)
{
	char perr[256];
	int rc = exchange(s, ACME_STEP_DIRECTORY, s->o->directory, false, NULL, NULL, ACME_BODY_MAX);
	if (rc < 0)
		return rc;
	if (s->res.status != 200)
		return http_failure(s, ACME_STEP_DIRECTORY, "GET", s->o->directory);
	if (acme_parse_directory(s->res.body, s->res.len, &s->dir, perr, sizeof(perr)) < 0)
		return fail(s, ACME_STEP_DIRECTORY, TERN_EINVAL, "%s: %s", s->o->directory, perr);
	return 0;
}

static int new_account(struct session *s)
{
	char perr[256];
	enum acme_status st;
	json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (p && s->o->contact)
		json_object_set_new(p, "contact", json_pack("[s]", s->o->contact));
	char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!payload)
		return fail(s, ACME_STEP_ACCOUNT, TERN_ENOMEM, "out of memory");
	int rc = post(s, ACME_STEP_ACCOUNT, s->dir.new_account, payload, true, 201, 200, NULL, ACME_BODY_MAX);
	free(payload);
	if (rc < 0)
		return rc;
	if (!s->res.location[0])
		return fail(s, ACME_STEP_ACCOUNT, TERN_EINVAL, "%s: no Location (the account URL) of an https URL",
		            s->dir.new_account);
	memcpy(s->kid, s->res.location, sizeof(s->kid));
	if (acme_parse_account(s->res.body, s->res.len, &st, perr, sizeof(perr)) < 0)
		return fail(s, ACME_STEP_ACCOUNT, TERN_EINVAL, "%s: %s", s->dir.new_account, perr);
	if (st != ACME_ST_VALID)
		return fail(s, ACME_STEP_ACCOUNT, TERN_EINVAL, "the account is %s, not valid", acme_status_name(st));
	return 0;
}

static int new_order(struct session *s, const char *const *names, size_t n, struct acme_order *order, char *order_url)
{
	char perr[256];
	json_t *ids = json_array();
	for (size_t i = 0; ids && i < n; i++)
		json_array_append_new(ids, json_pack("{s:s,s:s}", "type", "dns", "value", names[i]));
	json_t *p = ids ? json_pack("{s:o}", "identifiers", ids) : NULL;
	char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!payload)
		return fail(s, ACME_STEP_ORDER, TERN_ENOMEM, "out of memory");
	int rc = post(s, ACME_STEP_ORDER, s->dir.new_order, payload, false, 201, 0, NULL, ACME_BODY_MAX);
	free(payload);
	if (rc < 0)
		return rc;
	if (!s->res.location[0])
		return fail(s, ACME_STEP_ORDER, TERN_EINVAL, "%s: no Location (the order URL) of an https URL",
		            s->dir.new_order);
	memcpy(order_url, s->res.location, ACME_URL_MAX + 1);
	rc = acme_parse_order(s->res.body, s->res.len, order, perr, sizeof(perr));
	if (rc < 0)
		return fail(s, ACME_STEP_ORDER, rc, "%s: %s", s->dir.new_order, perr);
	if (order->nauthz > n)
		return fail(s, ACME_STEP_ORDER, TERN_EINVAL, "order.authorizations: %zu for %zu names", order->nauthz,
		            n);
	return 0;
}

static int fetch_authz(struct session *s, enum acme_step step, const char *url, struct acme_authz *a)
{
	char perr[256];
	int rc = post(s, step, url, NULL, false, 200, 0, NULL, ACME_BODY_MAX);
	if (rc < 0)
		return rc;
	rc = acme_parse_authz(s->res.body, s->res.len, a, perr, sizeof(perr));
	return rc < 0 ? fail(s, step, rc, "%s: %s", url, perr) : 0;
}

static int fetch_order(struct session *s, enum acme_step step, const char *url, struct acme_order *o)
{
	char perr[256];
	acme_order_free(o);
	int rc = post(s, step, url, NULL, false, 200, 0, NULL, ACME_BODY_MAX);
	if (rc < 0)
		return rc;
	rc = acme_parse_order(s->res.body, s->res.len, o, perr, sizeof(perr));
	return rc < 0 ? fail(s, step, rc, "%s: %s", url, perr) : 0;
}

/* Every pending authorization's http-01 challenge answered, then each polled until valid. */
static int authorize(struct session *s, const struct acme_order *order)
{
	struct acme_authz a;
	for (size_t i = 0; i < order->nauthz; i++) {
		int rc = fetch_authz(s, ACME_STEP_AUTHORIZATION, order->authorizations[i], &a);
		if (rc < 0)
			return rc;
		if (a.status == ACME_ST_VALID)
			continue;
		if (a.status != ACME_ST_PENDING)
			return fail(s, ACME_STEP_AUTHORIZATION, TERN_EINVAL, "authorization of %s is %s", a.identifier,
			            acme_status_name(a.status));
		if (!a.found)
			return fail(s, ACME_STEP_AUTHORIZATION, TERN_EINVAL,
			            "the CA offers no http-01 challenge for %s", a.identifier);
		if (a.challenge_status != ACME_ST_PENDING)
			continue; /* already being validated */
		rc = post(s, ACME_STEP_CHALLENGE, a.challenge_url, "{}", false, 200, 0, NULL, ACME_BODY_MAX);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < order->nauthz; i++) {
		unsigned delay = ACME_POLL_FIRST_MS;
		for (;;) {
			int rc = fetch_authz(s, ACME_STEP_VALIDATION, order->authorizations[i], &a);
			if (rc < 0)
				return rc;
			if (a.status == ACME_ST_VALID)
				break;
			if (a.status != ACME_ST_PENDING) {
				if (a.has_error) {
					s->err->has_problem = true;
					s->err->problem = a.error;
				}
				return fail(s, ACME_STEP_VALIDATION, TERN_EINVAL, "authorization of %s is %s%s%s",
				            a.identifier, acme_status_name(a.status), a.has_error ? ": " : "",
				            a.has_error ? a.error.detail : "");
			}
			rc = wait_for(s, ACME_STEP_VALIDATION, &delay, a.identifier);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Polls the order until it leaves the states of `waiting` (pending/processing). */
static int poll_order(struct session *s, enum acme_step step, const char *url, struct acme_order *o,
                      enum acme_status waiting, enum acme_status want)
{
	unsigned delay = ACME_POLL_FIRST_MS;
	for (;;) {
		if (o->status == want)
			return 0;
		if (o->status != waiting) {
			if (o->has_error) {
				s->err->has_problem = true;
				s->err->problem = o->error;
			}
			return fail(s, step, TERN_EINVAL, "order %s is %s, not %s%s%s", url,
			            acme_status_name(o->status), acme_status_name(want), o->has_error ? ": " : "",
			            o->has_error ? o->error.detail : "");
		}
		int rc = wait_for(s, step, &delay, "the order");
		if (rc == 0)
			rc = fetch_order(s, step, url, o);
		if (rc < 0)
			return rc;
	}
}

#define CHAIN_CERTS_MAX 10

static bool cert_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

/* The chain the CA sent, made again from the certificates it holds (at most CHAIN_CERTS_MAX; any
 * other text is dropped): the first for our key, naming every name, its validity into out. */
static int check_chain(struct session *s, EVP_PKEY *key, const char *const *names, size_t nnames,
                       struct acme_result *out)
{
	struct response *r = &s->res;
	if (!content_type_is(r, "application/pem-certificate-chain"))
		return fail(s, ACME_STEP_CERTIFICATE, TERN_EINVAL,
		            "certificate: Content-Type is not application/pem-certificate-chain");
	BIO *in = BIO_new_mem_buf(r->body, (int)r->len), *pem = BIO_new(BIO_s_mem());
	X509 *leaf = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL, *more = NULL;
	int rc = 0, n = leaf ? 1 : 0;
	if (!pem || (leaf && !PEM_write_bio_X509(pem, leaf))) {
		rc = fail(s, ACME_STEP_CERTIFICATE, TERN_ENOMEM, "out of memory");
		goto done;
	}
	while (in && (more = PEM_read_bio_X509(in, NULL, NULL, NULL))) {
		if (++n > CHAIN_CERTS_MAX || !PEM_write_bio_X509(pem, more)) {
			rc = fail(s, ACME_STEP_CERTIFICATE, TERN_EINVAL, "certificate: more than %d certificates",
			          CHAIN_CERTS_MAX);
			goto done;
		}
		X509_free(more);
		more = NULL;
	}
	ERR_clear_error();
	if (!leaf) {
		rc = fail(s, ACME_STEP_CERTIFICATE, TERN_EINVAL, "certificate: no PEM certificate in the answer");
		goto done;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		ERR_clear_error();
		rc = fail(s, ACME_STEP_CERTIFICATE, TERN_EINVAL,
		          "certificate: the first certificate is not for the key of the CSR");
		goto done;
	}
	for (size_t i = 0; i < nnames; i++) {
		if (X509_check_host(leaf, names[i], strlen(names[i]), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) !=
		    1) {
			rc = fail(s, ACME_STEP_CERTIFICATE, TERN_EINVAL,
			          "certificate: the first certificate does not name %s", names[i]);
			goto done;
		}
	}
	if (!cert_time(X509_get0_notBefore(leaf), &out->not_before) ||
	    !cert_time(X509_get0_notAfter(leaf), &out->not_after) || out->not_after <= out->not_before) {
		rc = fail(s, ACME_STEP_CERTIFICATE, TERN_EINVAL,
		          "certificate: the first certificate's validity is unreadable");
		goto done;
	}
	char *data;
	long len = BIO_get_mem_data(pem, &data);
	out->chain = len > 0 ? strndup(data, (size_t)len) : NULL;
	if (!out->chain)
		rc = fail(s, ACME_STEP_CERTIFICATE, TERN_ENOMEM, "out of memory");
done:
	X509_free(more);
	X509_free(leaf);
	BIO_free(in);
	BIO_free(pem);
	return rc;
}

static bool name_ok(const char *n)
{
	size_t len = strnlen(n, 254), i = 0;
	if (len == 0 || len > 253)
		return false;
	if (n[0] == '*' && n[1] == '.')
		i = 2;
	for (size_t label = 0; i <= len; i++) {
		char c = n[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		label++;
	}
	return true;
}

int acme_issue(const struct acme_options *o, const char *const *names, size_t nnames, struct acme_result *out,
               struct acme_error *err)
{
	struct session s = {.o = o, .err = err};
	struct acme_order order = {0};
	EVP_PKEY *cert_key = NULL;
	char *csr = NULL, *payload = NULL;
	int rc;
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	s.deadline_ms = now_ms() + (uint64_t)(o->deadline_s ? o->deadline_s : 300) * 1000;
	if (nnames == 0 || nnames > ACME_MAX_NAMES) {
		rc = fail(&s, ACME_STEP_SETUP, TERN_EINVAL, "names: 1 to %u, not %zu", ACME_MAX_NAMES, nnames);
		goto done;
	}
	for (size_t i = 0; i < nnames; i++) {
		if (!name_ok(names[i])) {
			rc = fail(&s, ACME_STEP_SETUP, TERN_EINVAL, "names[%zu]: not a lower-case host name", i);
			goto done;
		}
	}
	if (!o->directory || !acme_url_ok(o->directory)) {
		rc = fail(&s, ACME_STEP_SETUP, TERN_EINVAL, "directory: not an https URL");
		goto done;
	}
	if (!o->account_key || acme_jwk(o->account_key, s.jwk, sizeof(s.jwk), err->message, sizeof(err->message)) < 0) {
		rc = fail(&s, ACME_STEP_SETUP, TERN_EINVAL, "account key: not an EC P-256 key");
		goto done;
	}
	s.curl = curl_easy_init();
	if (!s.curl) {
		rc = fail(&s, ACME_STEP_SETUP, TERN_ENOMEM, "cannot make a curl handle");
		goto done;
	}
	if ((rc = get_directory(&s)) < 0 || (rc = new_account(&s)) < 0 ||
	    (rc = new_order(&s, names, nnames, &order, out->order_url)) < 0)
		goto done;
	memcpy(out->account_url, s.kid, sizeof(out->account_url));
	if (order.status == ACME_ST_PENDING && (rc = authorize(&s, &order)) < 0)
		goto done;
	if ((rc = fetch_order(&s, ACME_STEP_VALIDATION, out->order_url, &order)) < 0 ||
	    (rc = poll_order(&s, ACME_STEP_VALIDATION, out->order_url, &order, ACME_ST_PENDING, ACME_ST_READY)) < 0)
		goto done;
	char kerr[256] = "";
	cert_key = acme_key_new(kerr, sizeof(kerr));
	csr = cert_key ? acme_csr(cert_key, names, nnames, kerr, sizeof(kerr)) : NULL;
	if (!csr) {
		rc = fail(&s, ACME_STEP_FINALIZE, TERN_EINVAL, "%s", kerr);
		goto done;
	}
	json_t *p = json_pack("{s:s}", "csr", csr);
	payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!payload) {
		rc = fail(&s, ACME_STEP_FINALIZE, TERN_ENOMEM, "out of memory");
		goto done;
	}
	char finalize[ACME_URL_MAX + 1];
	memcpy(finalize, order.finalize, sizeof(finalize));
	char perr[256];
	if ((rc = post(&s, ACME_STEP_FINALIZE, finalize, payload, false, 200, 0, NULL, ACME_BODY_MAX)) < 0)
		goto done;
	acme_order_free(&order);
	if ((rc = acme_parse_order(s.res.body, s.res.len, &order, perr, sizeof(perr))) < 0) {
		rc = fail(&s, ACME_STEP_FINALIZE, rc, "%s: %s", finalize, perr);
		goto done;
	}
	if ((rc = poll_order(&s, ACME_STEP_ISSUANCE, out->order_url, &order, ACME_ST_PROCESSING, ACME_ST_VALID)) < 0)
		goto done;
	if ((rc = post(&s, ACME_STEP_CERTIFICATE, order.certificate, NULL, false, 200, 0,
	               "application/pem-certificate-chain", CHAIN_MAX)) < 0 ||
	    (rc = check_chain(&s, cert_key, names, nnames, out)) < 0)
		goto done;
	out->key = acme_key_pem(cert_key, kerr, sizeof(kerr));
	if (!out->chain || !out->key) {
		acme_result_free(out);
		rc = fail(&s, ACME_STEP_CERTIFICATE, TERN_ENOMEM, "out of memory");
		goto done;
	}
	err->http_status = 0;
	out->bad_nonces = s.bad_nonces;
	out->polls = s.polls;
	rc = 0;
done:
	acme_order_free(&order);
	free(payload);
	free(csr);
	EVP_PKEY_free(cert_key);
	free(s.res.body);
	if (s.curl)
		curl_easy_cleanup(s.curl);
	return rc;
}
