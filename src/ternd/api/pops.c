/* PoP health on the control node: one thread (an ev_ loop driving libcurl's multi socket
 * interface) polls every PoP's /healthz each interval, keeps each PoP's state and what it reported
 * (zones, monitor states: pops_parse.c reads them), and renders them. With pops.key, each good
 * poll is followed by a round of signed GET /pop/v1/usage pages (the PoP's query counters), each
 * page handed to the usage module (usage_pop_counts), which takes what was counted since. */
#include "ternd/api/pops.h"

#include <curl/curl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/tsig.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/pops_parse.h"
#include "ternd/base/ev_curl.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"

#define POPS_MAX_BODY (16u << 20) /* a /healthz larger than this is not one */
#define POPS_USAGE_MAX_BODY (4u << 20) /* a page of POPS_USAGE_PAGE zones takes at most about 1.1 MB */
#define POPS_USAGE_MAX_PAGES 1000 /* pages in one round (a million zones); a PoP that says more is stopped */

enum pops_state { POPS_UNKNOWN, POPS_UP, POPS_DOWN };

struct pops_pop {
	char *name, *healthz; /* copied from the configuration */
	/* what is reported: under pops.lock */
	enum pops_state state;
	unsigned misses; /* consecutive failed polls */
	int64_t last_ok, last_poll; /* Unix seconds; 0 = never */
	char last_error[256];
	struct pops_report report; /* from the last good poll */
	uint64_t queries; /* taken from the PoP's counters since this node's start */
	char usage_error[256]; /* why the last round of its counters did not end; "" = it did */
	int64_t usage_at; /* Unix seconds the last round ended; 0 = never */
	/* the poll in flight: the poller thread's alone */
	CURL *easy;
	bool busy;
	CURL *ueasy; /* its counters: a round of pages after a good poll */
	bool ubusy;
	struct curl_slist *uhdr;
	uint8_t after[NAME_MAXLEN]; /* the round's last zone so far */
	bool has_after;
	unsigned pages;
	char *body;
	size_t len, cap;
	bool too_large;
	char curl_err[CURL_ERROR_SIZE];
};

struct pops {
	unsigned interval_ms, timeout_ms, down_after; /* copied from the configuration */
	struct usage *usage; /* where the PoPs' counters go; NULL: not asked for them */
	struct tsig_key key; /* pops.key's: signs the requests for them */
	char keyname[256];
	struct pops_pop *pop;
	size_t n;
	struct ev_loop *loop; /* the poller's: libcurl's sockets and timeout, the interval */
	struct ev_curl curl;
	struct ev_thread thread;
	struct ev_timer tick;
	uint64_t next; /* when the next round of polls starts */
	pthread_mutex_t lock; /* the reported fields of every PoP */
};

static const char *state_name(enum pops_state s)
{
	switch (s) {
	case POPS_UP: return "up";
	case POPS_DOWN: return "down";
	case POPS_UNKNOWN: break;
	}
	return "unknown";
}

/* RFC 1982: whether serial a comes before b. */
static bool serial_before(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}

/* ---- one poll ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pops_pop *pop = arg;
	size_t n = size * nmemb;
	if (pop->len + n > (pop->ubusy ? POPS_USAGE_MAX_BODY : POPS_MAX_BODY)) {
		pop->too_large = true;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	if (pop->len + n + 1 > pop->cap) {
		size_t ncap = (pop->len + n + 1) * 2;
		char *nb = realloc(pop->body, ncap);
		if (!nb)
			return 0;
		pop->body = nb;
		pop->cap = ncap;
	}
	memcpy(pop->body + pop->len, data, n);
	pop->len += n;
	return n;
}

/* Why a transfer failed, in words that name the cause (connection refused, timeout ...). */
static void describe_failure(const struct pops *p, struct pops_pop *pop, CURL *easy, CURLcode cc, char *err,
                             size_t errlen)
{
	long os = 0;
	const char *detail = pop->curl_err[0] ? pop->curl_err : curl_easy_strerror(cc);
	curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os);
	if (pop->too_large)
		snprintf(err, errlen, "answer larger than %u bytes",
		         easy == pop->ueasy ? POPS_USAGE_MAX_BODY : POPS_MAX_BODY);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(err, errlen, "no answer within %u ms (%.200s)", p->timeout_ms, detail);
	else if (os)
		snprintf(err, errlen, "%.60s (%.180s)", strerror((int)os), detail);
	else
		snprintf(err, errlen, "%.250s", detail);
}

/* Applies a poll's outcome (err NULL: rep is the new report, taken over) and logs state changes. */
static void record(struct pops *p, struct pops_pop *pop, const char *err, struct pops_report *rep)
{
	if (!err && !rep)
		err = "no report"; /* not reached: a good poll has one */
	int64_t now = (int64_t)time(NULL);
	struct pops_report old = {0};
	size_t nzones = rep ? rep->nzones : 0;
	pthread_mutex_lock(&p->lock);
	enum pops_state was = pop->state;
	unsigned missed = pop->misses;
	pop->last_poll = now;
	if (!err && rep) {
		old = pop->report;
		pop->report = *rep;
		memset(rep, 0, sizeof(*rep));
		pop->misses = 0;
		pop->last_ok = now;
		pop->last_error[0] = 0;
		pop->state = POPS_UP;
	} else {
		if (pop->misses < UINT_MAX)
			pop->misses++;
		snprintf(pop->last_error, sizeof(pop->last_error), "%s", err);
		if (pop->misses >= p->down_after)
			pop->state = POPS_DOWN;
	}
	enum pops_state is = pop->state;
	unsigned misses = pop->misses;
	pthread_mutex_unlock(&p->lock);
	pops_report_free(&old);
	const char *name = pop->name;
	if (is == POPS_UP && was != POPS_UP)
		log_info("PoP %s: up, %zu zone(s) reported%s", name, nzones, was == POPS_DOWN ? " (was down)" : "");
	else if (!err && missed)
		log_info("PoP %s: answering again after %u missed poll(s)", name, missed);
	else if (is == POPS_DOWN && was != POPS_DOWN)
		log_warning("PoP %s: down after %u missed polls: %s", name, misses, err);
	else if (err && is != POPS_DOWN)
		log_info("PoP %s: poll missed (%u of %u before down): %s", name, misses, p->down_after, err);
	else if (err)
		log_debug("PoP %s: still down (%u missed polls): %s", name, misses, err);
}

static void usage_page_start(struct pops *p, struct pops_pop *pop);

static void poll_done(struct pops *p, struct pops_pop *pop, CURLcode cc)
{
	char err[256] = "";
	struct pops_report rep = {0};
	long code = 0;
	pop->busy = false;
	if (cc != CURLE_OK)
		describe_failure(p, pop, pop->easy, cc, err, sizeof(err));
	else if (curl_easy_getinfo(pop->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
		snprintf(err, sizeof(err), "HTTP status %ld from %s", code, pop->healthz);
	else
		pops_parse_healthz(pop->body ? pop->body : "", pop->len, &rep, err, sizeof(err));
	record(p, pop, err[0] ? err : NULL, &rep);
	pops_report_free(&rep); /* what record() did not take */
	if (!err[0] && p->usage) {
		pop->has_after = false;
		pop->pages = 0;
		usage_page_start(p, pop);
	}
}

/* ---- the PoP's counters ---- */

/* The round's outcome: err NULL when it ended (its last page taken). */
static void usage_record(struct pops *p, struct pops_pop *pop, const char *err, uint64_t taken)
{
	pthread_mutex_lock(&p->lock);
	bool news = err && strncmp(pop->usage_error, err, sizeof(pop->usage_error) - 1) != 0;
	pop->queries += taken;
	if (err) {
		snprintf(pop->usage_error, sizeof(pop->usage_error), "%s", err);
	} else {
		pop->usage_error[0] = 0;
		pop->usage_at = (int64_t)time(NULL);
	}
	pthread_mutex_unlock(&p->lock);
	if (news)
		log_warning("PoP %s: its query counters were not taken: %s", pop->name, err);
}

/* Asks the PoP for the page of its counters after pop->after (the first page without). */
static void usage_page_start(struct pops *p, struct pops_pop *pop)
{
	char after[NAME_MAXLEN * 4 + 1] = "", url[2600], auth[512], mac[65], limit[16];
	if (pop->has_after)
		name_to_text(pop->after, after, sizeof(after));
	snprintf(limit, sizeof(limit), "%d", POPS_USAGE_PAGE);
	size_t base = strlen(pop->healthz);
	if (base >= 8 && strcmp(pop->healthz + base - 8, "/healthz") == 0)
		base -= 8;
	char *escaped = after[0] ? curl_easy_escape(pop->ueasy, after, 0) : NULL;
	snprintf(url, sizeof(url), "%.*s/pop/v1/usage?limit=%s%s%s", (int)base, pop->healthz, limit,
	         escaped ? "&after=" : "", escaped ? escaped : "");
	curl_free(escaped);
	long long t = (long long)time(NULL);
	api_pop_mac(&p->key, "usage", t, after, limit, mac);
	snprintf(auth, sizeof(auth), "Authorization: Tern-PoP key=%s time=%lld mac=%s", p->keyname, t, mac);
	curl_slist_free_all(pop->uhdr);
	pop->uhdr = curl_slist_append(NULL, auth);
	pop->len = 0;
	pop->too_large = false;
	pop->curl_err[0] = 0;
	if (!pop->uhdr || curl_easy_setopt(pop->ueasy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(pop->ueasy, CURLOPT_HTTPHEADER, pop->uhdr) != CURLE_OK ||
	    curl_multi_add_handle(p->curl.multi, pop->ueasy) != CURLM_OK) {
		usage_record(p, pop, "cannot ask for them (libcurl)", 0);
		return;
	}
	pop->ubusy = true;
	pop->pages++;
}

static void usage_page_done(struct pops *p, struct pops_pop *pop, CURLcode cc)
{
	char err[256] = "";
	long code = 0;
	struct pops_usage_page pg = {0};
	uint64_t taken = 0;
	pop->ubusy = false;
	if (cc != CURLE_OK) {
		describe_failure(p, pop, pop->ueasy, cc, err, sizeof(err));
	} else if (curl_easy_getinfo(pop->ueasy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
		snprintf(err, sizeof(err), "HTTP status %ld from /pop/v1/usage%s", code,
		         code == 404   ? " (is api.pop-key set at the PoP?)"
		         : code == 401 ? " (do pops.key and the PoP's api.pop-key name the same key?)"
		                       : "");
	} else if (pops_parse_usage(pop->body ? pop->body : "", pop->len, pop->has_after ? pop->after : NULL, &pg, err,
	                            sizeof(err)) == 0 &&
	           usage_pop_counts(p->usage, pop->name, pg.epoch, !pop->has_after, !pg.more, pg.zones, pg.nzones,
	                            &taken, err, sizeof(err)) == 0) {
		bool more = pg.more;
		if (more) {
			memcpy(pop->after, pg.zones[pg.nzones - 1].apex, name_len(pg.zones[pg.nzones - 1].apex));
			pop->has_after = true;
		}
		pops_usage_page_free(&pg);
		if (!more) {
			usage_record(p, pop, NULL, taken); /* the round ended */
		} else if (pop->pages >= POPS_USAGE_MAX_PAGES) {
			usage_record(p, pop, "more than 1000 pages in a round", taken);
		} else {
			pthread_mutex_lock(&p->lock);
			pop->queries += taken;
			pthread_mutex_unlock(&p->lock);
			usage_page_start(p, pop);
		}
		return;
	}
	pops_usage_page_free(&pg);
	usage_record(p, pop, err[0] ? err : "failed", taken);
}

/* Starts a poll of pop; a poll still running has overrun the interval and counts as missed. */
static void poll_start(struct pops *p, struct pops_pop *pop)
{
	if (pop->ubusy) { /* the counters of the round before: the rest is taken with the next round */
		curl_multi_remove_handle(p->curl.multi, pop->ueasy);
		pop->ubusy = false;
		usage_record(p, pop, "the round of pages did not end within the interval", 0);
	}
	if (pop->busy) {
		curl_multi_remove_handle(p->curl.multi, pop->easy);
		pop->busy = false;
		char err[96];
		snprintf(err, sizeof(err), "no answer within %u ms", p->timeout_ms);
		record(p, pop, err, NULL);
	}
	pop->len = 0;
	pop->too_large = false;
	pop->curl_err[0] = 0;
	if (curl_multi_add_handle(p->curl.multi, pop->easy) != CURLM_OK) {
		record(p, pop, "cannot start a poll (libcurl)", NULL);
		return;
	}
	pop->busy = true;
}

static void collect(void *arg)
{
	struct pops *p = arg;
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(p->curl.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode cc = m->data.result; /* m is gone once the handle is removed */
		curl_multi_remove_handle(p->curl.multi, easy);
		for (size_t i = 0; i < p->n; i++) {
			if (p->pop[i].easy == easy)
				poll_done(p, &p->pop[i], cc);
			else if (p->pop[i].ueasy == easy)
				usage_page_done(p, &p->pop[i], cc);
		}
	}
}

/* Every PoP at once each interval. */
static void on_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct pops *p = t->arg;
	uint64_t now = ev_clock_ms();
	for (size_t i = 0; i < p->n; i++)
		poll_start(p, &p->pop[i]);
	p->next += p->interval_ms;
	if (p->next <= now) /* late (a stalled machine): keep the pace rather than catch up */
		p->next = now + p->interval_ms;
	ev_timer_at(loop, t, p->next);
}

/* ---- start and stop ---- */

static int easy_setup(const struct pops *p, struct pops_pop *pop, char *err, size_t errlen)
{
	CURL *e = pop->easy;
	long timeout = (long)p->timeout_ms;
	if (curl_easy_setopt(e, CURLOPT_URL, pop->healthz) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		snprintf(err, errlen, "pops: %s: libcurl cannot fetch %s", pop->name, pop->healthz);
		return TERN_ECONFIG;
	}
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* a thread of a multi-threaded process */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ternd-pops/0.1");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pop->curl_err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, pop);
	if ((e = pop->ueasy)) { /* its URL and signature set per page */
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(e, CURLOPT_USERAGENT, "ternd-pops/0.1");
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pop->curl_err);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, pop);
	}
	return 0;
}

int pops_start(const struct config_pops *conf, const struct tsig_key *key, struct usage *usage, struct pops **out,
               char *err, size_t errlen)
{
	struct pops *p = calloc(1, sizeof(*p));
	if (!p)
		return TERN_ENOMEM;
	if (conf->key && !key)
		log_warning("pops: pops.key %s names no key of keys: the PoPs' query counters are not taken",
		            conf->key);
	if (key && usage && conf->key) {
		p->key = *key;
		p->usage = usage;
		snprintf(p->keyname, sizeof(p->keyname), "%s", conf->key);
	}
	p->interval_ms = conf->interval_ms;
	p->timeout_ms = conf->timeout_ms;
	p->down_after = conf->down_after;
	pthread_mutex_init(&p->lock, NULL);
	int rc = TERN_EIO;
	rc = TERN_ENOMEM;
	if (!(p->loop = ev_new(0)) || (conf->n && !(p->pop = calloc(conf->n, sizeof(*p->pop))))) {
		snprintf(err, errlen, "pops: out of memory");
		goto fail;
	}
	if ((rc = ev_curl_init(&p->curl, p->loop, collect, p)) < 0) {
		snprintf(err, errlen, "pops: cannot initialise libcurl");
		goto fail;
	}
	ev_timer_init(&p->tick, on_tick, p);
	p->next = ev_clock_ms();
	ev_timer_at(p->loop, &p->tick, p->next); /* the first round at once */
	p->n = conf->n;
	for (size_t i = 0; i < p->n; i++) {
		struct pops_pop *pop = &p->pop[i];
		pop->name = strdup(conf->list[i].name);
		pop->healthz = strdup(conf->list[i].healthz);
		if (!pop->name || !pop->healthz || !(pop->easy = curl_easy_init()) ||
		    (p->usage && !(pop->ueasy = curl_easy_init()))) {
			snprintf(err, errlen, "pops: out of memory");
			goto fail;
		}
		if ((rc = easy_setup(p, pop, err, errlen)) < 0)
			goto fail;
	}
	if (ev_thread_start(&p->thread, p->loop, "ternd-pops") < 0) {
		snprintf(err, errlen, "pops: cannot start the poller thread");
		rc = TERN_EIO;
		goto fail;
	}
	log_info("pops: polling %zu PoP(s) every %g s (timeout %g s, down after %u misses)", p->n,
	         conf->interval_ms / 1000.0, conf->timeout_ms / 1000.0, conf->down_after);
	*out = p;
	return 0;
fail:
	pops_stop(p);
	return rc;
}

void pops_stop(struct pops *p)
{
	if (!p)
		return;
	ev_thread_stop(&p->thread);
	for (size_t i = 0; p->pop && i < p->n; i++) {
		struct pops_pop *pop = &p->pop[i];
		if (pop->busy)
			curl_multi_remove_handle(p->curl.multi, pop->easy);
		if (pop->ubusy)
			curl_multi_remove_handle(p->curl.multi, pop->ueasy);
		curl_easy_cleanup(pop->easy);
		if (pop->ueasy)
			curl_easy_cleanup(pop->ueasy);
		curl_slist_free_all(pop->uhdr);
		free(pop->name);
		free(pop->healthz);
		free(pop->body);
		pops_report_free(&pop->report);
	}
	free(p->pop);
	ev_curl_cleanup(&p->curl);
	ev_free(p->loop);
	pthread_mutex_destroy(&p->lock);
	OPENSSL_cleanse(&p->key, sizeof(p->key));
	free(p);
}

/* ---- reports ---- */

static json_t *time_json(int64_t t)
{
	return t ? json_integer((json_int_t)t) : json_null();
}

/* The control node's version of z (NULL if it does not serve it) and whether the PoP is behind. */
static bool zone_behind(const struct zones *zs, const struct pops_zone *z, const struct zone **ours)
{
	*ours = zs ? zones_get(zs, z->apex) : NULL;
	return *ours && (!z->serving || serial_before(z->serial, (*ours)->serial));
}

static size_t pop_behind(const struct pops_pop *pop, const struct zones *zs)
{
	size_t n = 0;
	const struct zone *ours;
	for (size_t i = 0; i < pop->report.nzones; i++)
		n += zone_behind(zs, &pop->report.zones[i], &ours);
	return n;
}

/* The PoP's monitors as of its last good poll: counts and members, as GET /api/v1/monitors names
 * them; null for a PoP that reports none (older than monitors), members null for one that gives
 * counts only. */
static json_t *monitors_json(const struct pops_report *r)
{
	if (!r->monitors)
		return json_null();
	json_t *members = r->members_listed ? json_array() : json_null();
	for (size_t i = 0; i < r->nmembers; i++) {
		const struct pops_member *m = &r->members[i];
		json_array_append_new(
		    members, json_pack("{s:s,s:s,s:s,s:o,s:o}", "monitor", m->monitor, "address", m->address, "state",
		                       pops_monitor_state_name(m->state), "last_check", time_json(m->last_check),
		                       "last_result", m->last_result[0] ? json_string(m->last_result) : json_null()));
	}
	return json_pack("{s:I,s:I,s:I,s:o}", "up", (json_int_t)r->counts[POPS_MON_UP], "down",
	                 (json_int_t)r->counts[POPS_MON_DOWN], "unknown", (json_int_t)r->counts[POPS_MON_UNKNOWN],
	                 "members", members);
}

static json_t *pop_json(const struct pops_pop *pop, const struct zones *zs, bool usage)
{
	json_t *zones = json_array();
	size_t behind = 0;
	for (size_t i = 0; i < pop->report.nzones; i++) {
		const struct pops_zone *z = &pop->report.zones[i];
		const struct zone *ours;
		char name[NAME_MAXLEN * 4 + 1];
		name_to_text(z->apex, name, sizeof(name));
		bool b = zone_behind(zs, z, &ours);
		behind += b;
		json_array_append_new(zones, json_pack("{s:s,s:I,s:s,s:b,s:o,s:o,s:b}", "zone", name, "serial",
		                                       (json_int_t)z->serial, "state", z->state, "serving", z->serving,
		                                       "last_transfer", time_json(z->last_transfer), "control_serial",
		                                       ours ? json_integer(ours->serial) : json_null(), "behind", b));
	}
	json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:o,s:I,s:o,s:o}", "name", pop->name, "healthz", pop->healthz,
	                      "state", state_name(pop->state), "misses", (json_int_t)pop->misses, "last_ok",
	                      time_json(pop->last_ok), "last_poll", time_json(pop->last_poll), "last_error",
	                      pop->last_error[0] ? json_string(pop->last_error) : json_null(), "zones_behind",
	                      (json_int_t)behind, "zones", zones, "monitors", monitors_json(&pop->report));
	if (j && usage) /* its counters: what was taken since this node's start, and how the last round went */
		json_object_set_new(j, "usage",
		                    json_pack("{s:I,s:o,s:o}", "queries", (json_int_t)pop->queries, "last_round",
		                              time_json(pop->usage_at), "error",
		                              pop->usage_error[0] ? json_string(pop->usage_error) : json_null()));
	return j;
}

json_t *pops_json(struct pops *p, const struct zones *zs)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(arr, pop_json(&p->pop[i], zs, p->usage != NULL));
	pthread_mutex_unlock(&p->lock);
	return arr;
}

json_t *pops_summary(struct pops *p)
{
	json_int_t count[3] = {0, 0, 0};
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		count[p->pop[i].state]++;
	pthread_mutex_unlock(&p->lock);
	return json_pack("{s:I,s:I,s:I}", "up", count[POPS_UP], "down", count[POPS_DOWN], "unknown",
	                 count[POPS_UNKNOWN]);
}

void pops_metrics(struct pops *p, const struct zones *zs, struct text *out)
{
	prom_family(out, "tern_pop_up", "gauge",
	            "Whether the PoP answered its /healthz lately (0: down or not yet polled).");
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		text_printf(out, "tern_pop_up{pop=\"%s\"} %d\n", p->pop[i].name, p->pop[i].state == POPS_UP);
	prom_family(out, "tern_pop_misses", "gauge", "Polls of the PoP's /healthz missed in a row.");
	for (size_t i = 0; i < p->n; i++)
		text_printf(out, "tern_pop_misses{pop=\"%s\"} %u\n", p->pop[i].name, p->pop[i].misses);
	prom_family(out, "tern_pop_zones_behind", "gauge",
	            "Zones the PoP last reported at an older serial than this node's.");
	for (size_t i = 0; i < p->n; i++)
		text_printf(out, "tern_pop_zones_behind{pop=\"%s\"} %zu\n", p->pop[i].name, pop_behind(&p->pop[i], zs));
	/* counts per PoP and state, not a sample per member: the PoP's own /metrics has those
	 * (tern_monitor_up), and PoPs x members would be too many series here */
	prom_family(out, "tern_pop_monitors", "gauge",
	            "Monitored members of dynamic answers the PoP last reported, by the state its own checks found.");
	for (size_t i = 0; i < p->n; i++) {
		const struct pops_report *r = &p->pop[i].report;
		for (int st = 0; r->monitors && st < 3; st++)
			text_printf(out, "tern_pop_monitors{pop=\"%s\",state=\"%s\"} %llu\n", p->pop[i].name,
			            pops_monitor_state_name((enum pops_monitor_state)st),
			            (unsigned long long)r->counts[st]);
	}
	if (p->usage) {
		prom_family(
		    out, "tern_pop_queries_total", "counter",
		    "Billable queries the PoP answered, as this node took them from its counters since its start.");
		for (size_t i = 0; i < p->n; i++)
			text_printf(out, "tern_pop_queries_total{pop=\"%s\"} %llu\n", p->pop[i].name,
			            (unsigned long long)p->pop[i].queries);
	}
	pthread_mutex_unlock(&p->lock);
}

bool pops_serving(struct pops *p, const uint8_t *apex, uint32_t serial)
{
	bool all = true;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n && all; i++) {
		const struct pops_report *r = &p->pop[i].report;
		bool found = false;
		for (size_t k = 0; k < r->nzones && !found; k++) {
			const struct pops_zone *z = &r->zones[k];
			found = name_equal(z->apex, apex) && z->serving && !serial_before(z->serial, serial);
		}
		all = found;
	}
	pthread_mutex_unlock(&p->lock);
	return all;
}
