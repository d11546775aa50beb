/* The identity provider's key set (api.jwks-url): HTTPS fetches with libcurl on thread ternd-jwks,
 * the set kept in the store (setting "jwks URL"), refetches when due or for an unknown kid. */
#include "ternd/api/jwks_fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/api/auth.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"
#include "ternd/store/store.h"

#define RETRY_FIRST_MS 30000 /* a failed fetch is tried again after this, doubling to the max age */
#define HEADER_AGE_MIN_S 60 /* a Cache-Control max-age below this is taken as this */

struct jwks_fetch {
	char *url, *ca_file, *setting;
	unsigned max_age_ms, timeout_ms;
	struct store *store;
	jwks_publish_fn publish;
	void *arg;
	struct ev_loop *loop;
	struct ev_thread thread;
	struct ev_async wake;
	struct ev_timer due;
	bool running;
	unsigned failures_in_row;
	pthread_mutex_t lock; /* st and want_refetch: the HTTP thread reads and asks, the thread writes */
	struct jwks_fetch_state st;
	bool want_refetch;
};

/* One fetch's body, cut at AUTH_JWKS_MAX. */
struct body {
	char *buf;
	size_t len;
	bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (b->len + add > AUTH_JWKS_MAX) {
		b->too_big = true;
		return 0; /* libcurl stops: CURLE_WRITE_ERROR */
	}
	char *grown = realloc(b->buf, b->len + add + 1);
	if (!grown)
		return 0;
	b->buf = grown;
	memcpy(b->buf + b->len, p, add);
	b->len += add;
	b->buf[b->len] = 0;
	return add;
}

static void skipped(void *arg, const char *why)
{
	struct jwks_fetch *f = arg;
	log_warning("API: JWKS %s: a key is left out: %s", f->url, why);
	pthread_mutex_lock(&f->lock);
	f->st.skipped_keys++;
	pthread_mutex_unlock(&f->lock);
}

/* Cache-Control's max-age of the last response, in seconds (-1: none). */
static long header_max_age(CURL *h)
{
	struct curl_header *hd = NULL;
	if (curl_easy_header(h, "Cache-Control", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd || !hd->value)
		return -1;
	return auth_jwks_max_age(hd->value);
}

/* One GET of the URL; 0 with *keys and the body it came from, or an error with the reason. */
static int fetch_once(struct jwks_fetch *f, struct auth_keys **keys, struct body *b, long *max_age, char *err,
                      size_t errlen)
{
	CURL *h = curl_easy_init();
	char cerr[CURL_ERROR_SIZE] = "";
	int rc = TERN_EIO;
	*max_age = -1;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, f->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)f->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ternd");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (f->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	if (b->too_big) {
		snprintf(err, errlen, "the answer is larger than %u bytes", AUTH_JWKS_MAX);
	} else if (cc == CURLE_UNSUPPORTED_PROTOCOL && status >= 300 && status < 400) {
		snprintf(err, errlen, "HTTP %ld: redirected to a URL that is not https", status);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "no complete answer within %u ms", f->timeout_ms);
	} else if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
	} else if (status != 200) {
		snprintf(err, errlen, "HTTP status %ld (200 expected)", status);
	} else if (ctype && strcasestr(ctype, "html")) {
		snprintf(err, errlen, "an HTML page (Content-Type %.80s), not a key set", ctype);
	} else {
		char why[512] = "";
		*max_age = header_max_age(h);
		rc = auth_keys_load_lenient(b->buf ? b->buf : "", b->len, f->url, skipped, f, keys, why, sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "%s", why);
	}
	curl_easy_cleanup(h);
	return rc;
}

/* When the set fetched now is due again (monotonic ms from now). */
static unsigned next_in_ms(const struct jwks_fetch *f, long max_age)
{
	if (max_age < 0)
		return f->max_age_ms;
	if (max_age < HEADER_AGE_MIN_S)
		max_age = HEADER_AGE_MIN_S;
	uint64_t ms = (uint64_t)max_age * 1000;
	return ms < f->max_age_ms ? (unsigned)ms : f->max_age_ms;
}

/* Keeps body in the store for the next start; a failure is logged, the set is in force anyway. */
static void keep(struct jwks_fetch *f, const struct body *b)
{
	struct store_txn *t = NULL;
	char err[256] = "";
	int rc = store_begin(f->store, &t, err, sizeof(err));
	if (rc == 0 && (rc = store_setting_put(t, f->setting, b->buf, b->len, err, sizeof(err))) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, sizeof(err)); /* frees t, committed or not */
	if (rc < 0)
		log_warning("API: JWKS %s: not kept in the store: %s", f->url, err);
}

/* Fetches now; returns when the next fetch is due (ms from now). */
static unsigned fetch(struct jwks_fetch *f)
{
	struct body b = {0};
	struct auth_keys *keys = NULL;
	char err[512] = "";
	long max_age;
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&f->lock);
	f->st.last_attempt = now;
	f->st.fetches++;
	pthread_mutex_unlock(&f->lock);
	int rc = fetch_once(f, &keys, &b, &max_age, err, sizeof(err));
	unsigned next;
	if (rc == 0) {
		size_t n = auth_keys_count(keys);
		f->publish(f->arg, keys);
		keep(f, &b);
		next = next_in_ms(f, max_age);
		if (f->failures_in_row)
			log_info("API: JWKS %s: fetched again (%zu keys)", f->url, n);
		f->failures_in_row = 0;
		pthread_mutex_lock(&f->lock);
		f->st.keys = n;
		f->st.from_store = false;
		f->st.last_success = now;
		f->st.last_error[0] = 0;
		pthread_mutex_unlock(&f->lock);
	} else {
		uint64_t back = (uint64_t)RETRY_FIRST_MS << (f->failures_in_row < 16 ? f->failures_in_row : 16);
		next = back < f->max_age_ms ? (unsigned)back : f->max_age_ms;
		f->failures_in_row++;
		log_error("API: JWKS %s: not fetched, the keys in use stay (next try in %u s): %s", f->url, next / 1000,
		          err);
		pthread_mutex_lock(&f->lock);
		f->st.failures++;
		snprintf(f->st.last_error, sizeof(f->st.last_error), "%s", err);
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_lock(&f->lock);
	f->st.next_fetch = now + (int64_t)(next / 1000);
	pthread_mutex_unlock(&f->lock);
	free(b.buf);
	return next;
}

static void on_due(struct ev_loop *loop, struct ev_timer *t)
{
	struct jwks_fetch *f = t->arg;
	ev_timer_in(loop, &f->due, fetch(f));
}

static void on_wake(struct ev_loop *loop, struct ev_async *a)
{
	struct jwks_fetch *f = a->arg;
	pthread_mutex_lock(&f->lock);
	bool want = f->want_refetch;
	f->want_refetch = false;
	pthread_mutex_unlock(&f->lock);
	if (want)
		ev_timer_in(loop, &f->due, fetch(f));
}

bool jwks_fetch_unknown_kid(struct jwks_fetch *f)
{
	if (!f)
		return false;
	int64_t now = (int64_t)time(NULL);
	pthread_mutex_lock(&f->lock);
	bool go =
	    !f->want_refetch && (f->st.last_attempt == 0 || now - f->st.last_attempt >= JWKS_REFETCH_MIN_MS / 1000);
	if (go) {
		f->want_refetch = true;
		f->st.refetches++;
	} else {
		f->st.refetches_refused++;
	}
	pthread_mutex_unlock(&f->lock);
	if (go)
		ev_async_send(&f->wake);
	return go;
}

void jwks_fetch_state(struct jwks_fetch *f, struct jwks_fetch_state *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->st;
	pthread_mutex_unlock(&f->lock);
}

/* The set the store kept for this URL, published; false when there is none that parses. */
static bool from_store(struct jwks_fetch *f)
{
	struct store_txn *t = NULL;
	char err[512] = "";
	void *v = NULL;
	size_t len = 0;
	int64_t when = 0;
	struct auth_keys *keys = NULL;
	int rc = store_begin_read(f->store, &t, err, sizeof(err));
	if (rc == 0)
		rc = store_setting_get(t, f->setting, &v, &len, &when, err, sizeof(err));
	if (t)
		store_rollback(t);
	if (rc == 0)
		rc = auth_keys_load_lenient(v, len, f->url, skipped, f, &keys, err, sizeof(err));
	free(v);
	if (rc < 0) {
		if (rc != TERN_ENOTFOUND)
			log_warning("API: JWKS %s: the set kept in the store is not used: %s", f->url, err);
		return false;
	}
	size_t n = auth_keys_count(keys);
	f->publish(f->arg, keys);
	log_info("API: JWKS %s: %zu keys kept in the store (fetched %lld) in force until a fetch succeeds", f->url, n,
	         (long long)when);
	pthread_mutex_lock(&f->lock);
	f->st.keys = n;
	f->st.from_store = true;
	pthread_mutex_unlock(&f->lock);
	return true;
}

int jwks_fetch_start(const struct jwks_fetch_options *o, struct store *store, jwks_publish_fn publish, void *arg,
                     struct jwks_fetch **out, char *err, size_t errlen)
{
	struct jwks_fetch *f = calloc(1, sizeof(*f));
	int rc = TERN_ENOMEM;
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->store = store;
	f->publish = publish;
	f->arg = arg;
	f->max_age_ms = o->max_age_ms;
	f->timeout_ms = o->timeout_ms;
	size_t sl = strlen(o->url) + 6;
	if (!(f->url = strdup(o->url)) || (o->ca_file && !(f->ca_file = strdup(o->ca_file))) ||
	    !(f->setting = malloc(sl)) || !(f->loop = ev_new(0))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(f->setting, sl, "jwks %s", o->url);
	ev_async_start(f->loop, &f->wake, on_wake, f);
	ev_timer_init(&f->due, on_due, f);
	/* with a set kept, tokens verify at once and the fetch runs on the thread; without, the first
	 * fetch is made here, so the API starts with keys when the provider answers */
	unsigned first = 0;
	if (!from_store(f))
		first = fetch(f);
	ev_timer_at(f->loop, &f->due, ev_clock_ms() + first);
	if ((rc = ev_thread_start(&f->thread, f->loop, "ternd-jwks")) < 0) {
		snprintf(err, errlen, "cannot start the JWKS thread");
		goto fail;
	}
	f->running = true;
	*out = f;
	return 0;
fail:
	jwks_fetch_stop(f);
	return rc;
}

void jwks_fetch_stop(struct jwks_fetch *f)
{
	if (!f)
		return;
	if (f->running)
		ev_thread_stop(&f->thread);
	if (f->loop)
		ev_free(f->loop);
	pthread_mutex_destroy(&f->lock);
	free(f->url);
	free(f->ca_file);
	free(f->setting);
	free(f);
}
