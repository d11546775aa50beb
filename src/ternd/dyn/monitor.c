/* The monitor registry and its checker: pairs in a writers' index (under a mutex) and in an
 * immutable open-addressing table published by RCU for the query workers; one ev_ loop thread
 * runs TCP connects itself and HTTP/HTTPS GETs through libcurl's multi socket interface. */
#include "ternd/dyn/monitor.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "ternd/base/ev_curl.h"
#include "ternd/base/event.h"
#include "ternd/base/log.h"

/* kind up down, port status, interval timeout, three length-prefixed texts, family, address */
#define KEY_MAX (3 + 4 + 8 + 3 * (1 + 255) + 1 + 16)
#define BODY_MAX (64u * 1024) /* the body text is looked for in this much of the body */
#define RETRY_MS 1000 /* a table that could not be built is tried again after this */

struct mon_slot {
	/* the key, set once */
	struct dyn_monitor mon; /* a copy, every text NUL-terminated */
	uint8_t family, addr[16];
	char address[INET6_ADDRSTRLEN];
	uint64_t hash;
	_Atomic uint8_t state; /* enum monitor_state: the query path's */
	/* under ms->lock */
	unsigned users, oks, fails;
	int64_t last_check;
	char last_result[128];
	struct mon_slot *chain; /* the writers' index */
	/* the checker thread's */
	struct monitors *ms;
	bool scheduled, busy; /* scheduled: its timers are set up */
	bool denied; /* its address is not allowed (monitors.allow): never probed, down */
	uint64_t next;
	struct ev_timer tick, deadline;
	struct ev_io io; /* TCP: the connect in flight */
	CURL *easy; /* HTTP, HTTPS */
	struct curl_slist *connect_to;
	size_t seen; /* body octets read */
	bool found; /* the body text was seen */
	char tail[sizeof(((struct dyn_monitor *)0)->body)]; /* the last octets read, for a text across reads */
	size_t tail_len;
	char curl_err[CURL_ERROR_SIZE];
	struct mon_slot *dead; /* dropped, freed after the grace period */
	size_t keylen;
	uint8_t key[];
};

/* What the query workers read: every pair wanted when it was built, with its hash (a probe reads
 * no slot but the one it finds); at most half full. */
struct mon_table {
	size_t mask;
	struct mon_entry {
		uint64_t hash;
		const struct mon_slot *slot;
	} e[];
};

struct monitors {
	struct mon_table *table; /* RCU pointer */
	uint64_t k0, k1; /* the SipHash key */
	pthread_mutex_t lock; /* the index, users, results, batches, dirty */
	struct mon_slot **index;
	size_t nindex, count; /* buckets (a power of two), pairs */
	unsigned batches;
	bool dirty; /* a pair came or lost its last user since the table was built */
	struct ev_loop *loop;
	struct ev_thread thread;
	struct ev_async changed;
	struct ev_timer retry;
	struct ev_curl curl;
	struct config_prefix *allow; /* monitors.allow, a copy (under lock) */
	size_t nallow;
};

/* ---- keys ---- */

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* n SipRounds over the state in registers (the query path hashes a key per monitored member). */
static inline void sip_rounds(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3, int n)
{
	uint64_t a = *v0, b = *v1, c = *v2, d = *v3;
	for (int i = 0; i < n; i++) {
		a += b;
		b = rotl(b, 13) ^ a;
		a = rotl(a, 32);
		c += d;
		d = rotl(d, 16) ^ c;
		a += d;
		d = rotl(d, 21) ^ a;
		c += b;
		b = rotl(b, 17) ^ c;
		c = rotl(c, 32);
	}
	*v0 = a;
	*v1 = b;
	*v2 = c;
	*v3 = d;
}

/* SipHash-1-3 of len octets (the rounds Rust's hash tables use: keyed, so no tenant can aim keys
 * at one bucket, and cheap enough to run per monitored member on the query path). The 8 octets
 * after p[len - 1] are readable and 0 (key_make() leaves them so). */
static uint64_t sip_hash(const struct monitors *ms, const uint8_t *p, size_t len)
{
	uint64_t v0 = ms->k0 ^ 0x736f6d6570736575ULL, v1 = ms->k1 ^ 0x646f72616e646f6dULL,
	         v2 = ms->k0 ^ 0x6c7967656e657261ULL, v3 = ms->k1 ^ 0x7465646279746573ULL, m;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		m = le64toh(m);
		v3 ^= m;
		sip_rounds(&v0, &v1, &v2, &v3, 1);
		v0 ^= m;
	}
	memcpy(&m, p + i, 8);
	m = le64toh(m) | (uint64_t)(len & 0xff) << 56;
	v3 ^= m;
	sip_rounds(&v0, &v1, &v2, &v3, 1);
	v0 ^= m;
	v2 ^= 0xff;
	sip_rounds(&v0, &v1, &v2, &v3, 3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static size_t put16(uint8_t *k, size_t n, uint16_t v)
{
	k[n] = (uint8_t)(v >> 8);
	k[n + 1] = (uint8_t)v;
	return n + 2;
}

static size_t put32(uint8_t *k, size_t n, uint32_t v)
{
	return put16(k, put16(k, n, (uint16_t)(v >> 16)), (uint16_t)v);
}

/* A text up to its NUL (at most 255 octets: the fields are 256), its length first; 0 when the text
 * fills its field without a NUL. */
static size_t put_text(uint8_t *k, size_t n, const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);
	if (len == cap || n == 0)
		return 0;
	k[n] = (uint8_t)len;
	memcpy(k + n + 1, s, len);
	return n + 1 + len;
}

/* The pair's key: every field of the monitor (texts up to their NUL), the family, the address;
 * 0 for a monitor with a text without NUL (no pair has it: it is not checkable()). */
static size_t key_make(uint8_t k[KEY_MAX + 8], const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	size_t n = 0;
	k[n++] = m->kind;
	k[n++] = m->up;
	k[n++] = m->down;
	n = put16(k, n, m->port);
	n = put16(k, n, m->status);
	n = put32(k, n, m->interval_ms);
	n = put32(k, n, m->timeout_ms);
	n = put_text(k, n, m->host, sizeof(m->host));
	n = put_text(k, n, m->path, sizeof(m->path));
	n = put_text(k, n, m->body, sizeof(m->body));
	if (n == 0)
		return 0;
	k[n++] = family;
	size_t alen = family == 1 ? 4 : 16;
	memcpy(k + n, addr, alen);
	memset(k + n + alen, 0, 8); /* sip_hash() reads the last word whole */
	return n + alen;
}

/* ---- the query path ---- */

bool monitor_up(void *ctx, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	struct monitors *ms = ctx;
	uint8_t key[KEY_MAX + 8];
	if (!ms || (family != 1 && family != 2))
		return true;
	const struct mon_table *t = rcu_dereference(ms->table);
	if (!t)
		return true;
	size_t len = key_make(key, m, family, addr);
	if (len == 0)
		return true;
	uint64_t h = sip_hash(ms, key, len);
	for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const struct mon_slot *s = t->e[i].slot;
		if (!s)
			return true; /* not known: unknown = up */
		if (t->e[i].hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
			return atomic_load_explicit(&s->state, memory_order_relaxed) != MONITOR_DOWN;
	}
}

/* ---- the writers' index (ms->lock held) ---- */

static struct mon_slot *index_find(const struct monitors *ms, const uint8_t *key, size_t len, uint64_t h)
{
	if (!ms->nindex)
		return NULL;
	for (struct mon_slot *s = ms->index[h & (ms->nindex - 1)]; s; s = s->chain)
		if (s->hash == h && s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

static int index_grow(struct monitors *ms)
{
	size_t n = ms->nindex ? ms->nindex * 2 : 64;
	struct mon_slot **b = calloc(n, sizeof(*b));
	if (!b)
		return TERN_ENOMEM;
	for (size_t i = 0; i < ms->nindex; i++) {
		for (struct mon_slot *s = ms->index[i], *next; s; s = next) {
			next = s->chain;
			s->chain = b[s->hash & (n - 1)];
			b[s->hash & (n - 1)] = s;
		}
	}
	free(ms->index);
	ms->index = b;
	ms->nindex = n;
	return 0;
}

static struct mon_slot *slot_new(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr,
                                 const uint8_t *key, size_t len, uint64_t h)
{
	struct mon_slot *s = calloc(1, sizeof(*s) + len);
	if (!s)
		return NULL;
	s->mon.kind = m->kind;
	s->mon.up = m->up;
	s->mon.down = m->down;
	s->mon.port = m->port;
	s->mon.status = m->status;
	s->mon.interval_ms = m->interval_ms;
	s->mon.timeout_ms = m->timeout_ms;
	memcpy(s->mon.host, m->host, strnlen(m->host, sizeof(m->host)));
	memcpy(s->mon.path, m->path, strnlen(m->path, sizeof(m->path)));
	memcpy(s->mon.body, m->body, strnlen(m->body, sizeof(m->body)));
	s->family = family;
	memcpy(s->addr, addr, family == 1 ? 4 : 16);
	inet_ntop(family == 1 ? AF_INET : AF_INET6, addr, s->address, sizeof(s->address));
	s->hash = h;
	s->ms = ms;
	s->io.fd = -1;
	s->keylen = len;
	memcpy(s->key, key, len);
	return s;
}

/* The monitor's texts fit their fields with their NUL, and its kind and numbers can be run. */
static bool checkable(const struct dyn_monitor *m, uint8_t family)
{
	return (family == 1 || family == 2) && m->kind >= DYN_MON_TCP && m->kind <= DYN_MON_HTTPS && m->port &&
	       (m->kind == DYN_MON_TCP || m->host[0]) && m->interval_ms && m->timeout_ms &&
	       strnlen(m->host, sizeof(m->host)) < sizeof(m->host) &&
	       strnlen(m->path, sizeof(m->path)) < sizeof(m->path) &&
	       strnlen(m->body, sizeof(m->body)) < sizeof(m->body);
}

int monitor_want(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	uint8_t key[KEY_MAX + 8];
	if (!checkable(m, family))
		return TERN_EINVAL;
	size_t len = key_make(key, m, family, addr);
	uint64_t h = sip_hash(ms, key, len);
	int rc = 0;
	pthread_mutex_lock(&ms->lock);
	struct mon_slot *s = index_find(ms, key, len, h);
	if (s) {
		if (s->users++ == 0)
			ms->dirty = true; /* it was to be dropped: keep it */
	} else if ((ms->count < ms->nindex || index_grow(ms) == 0) &&
	           (s = slot_new(ms, m, family, addr, key, len, h)) != NULL) {
		s->users = 1;
		s->chain = ms->index[h & (ms->nindex - 1)];
		ms->index[h & (ms->nindex - 1)] = s;
		ms->count++;
		ms->dirty = true;
	} else {
		rc = TERN_ENOMEM;
	}
	bool wake = ms->dirty && !ms->batches;
	pthread_mutex_unlock(&ms->lock);
	if (wake)
		ev_async_send(&ms->changed);
	return rc;
}

void monitor_unwant(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr)
{
	uint8_t key[KEY_MAX + 8];
	if (!checkable(m, family))
		return;
	size_t len = key_make(key, m, family, addr);
	uint64_t h = sip_hash(ms, key, len);
	pthread_mutex_lock(&ms->lock);
	struct mon_slot *s = index_find(ms, key, len, h);
	if (s && s->users && --s->users == 0) /* not found: its want failed for memory */
		ms->dirty = true;
	bool wake = ms->dirty && !ms->batches;
	pthread_mutex_unlock(&ms->lock);
	if (wake)
		ev_async_send(&ms->changed);
}

void monitor_batch_begin(struct monitors *ms)
{
	pthread_mutex_lock(&ms->lock);
	ms->batches++;
	pthread_mutex_unlock(&ms->lock);
}

void monitor_batch_end(struct monitors *ms)
{
	pthread_mutex_lock(&ms->lock);
	bool wake = --ms->batches == 0 && ms->dirty;
	pthread_mutex_unlock(&ms->lock);
	if (wake)
		ev_async_send(&ms->changed);
}

/* ---- results ---- */

/* Applies one check's result: consecutive results against the thresholds (unknown turns up at
 * the first success), the last result and its time for the API, a log line per state change. */
static void check_done(struct mon_slot *s, bool ok, const char *text)
{
	struct monitors *ms = s->ms;
	s->busy = false;
	ev_timer_cancel(ms->loop, &s->deadline);
	pthread_mutex_lock(&ms->lock);
	enum monitor_state was = atomic_load(&s->state), is = was;
	s->last_check = (int64_t)time(NULL);
	snprintf(s->last_result, sizeof(s->last_result), "%s", text);
	for (char *c = s->last_result; *c; c++) /* libcurl's words may quote the tenant's URL */
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	if (ok) {
		s->fails = 0;
		s->oks++;
		if (was == MONITOR_UNKNOWN || (was == MONITOR_DOWN && s->oks >= s->mon.up))
			is = MONITOR_UP;
	} else {
		s->oks = 0;
		s->fails++;
		if (was != MONITOR_DOWN && s->fails >= s->mon.down)
			is = MONITOR_DOWN;
	}
	unsigned n = ok ? s->oks : s->fails;
	atomic_store_explicit(&s->state, (uint8_t)is, memory_order_relaxed);
	pthread_mutex_unlock(&ms->lock);
	if (is == was)
		return;
	char spec[MONITOR_SPEC_MAX];
	monitor_spec_text(&s->mon, spec, sizeof(spec));
	if (is == MONITOR_DOWN)
		log_warning("monitor %s of %s: down after %u failure(s): %s", spec, s->address, n, text);
	else if (was == MONITOR_DOWN)
		log_info("monitor %s of %s: up after %u success(es): %s", spec, s->address, n, text);
	else /* unknown, which answered as up already */
		log_debug("monitor %s of %s: up: %s", spec, s->address, text);
}

/* ---- TCP ---- */

static socklen_t sockaddr_of(const struct mon_slot *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s->family == 1) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(s->mon.port);
		memcpy(&a->sin_addr, s->addr, 4);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(s->mon.port);
	memcpy(&a->sin6_addr, s->addr, 16);
	return sizeof(*a);
}

static void connect_failed(struct mon_slot *s, int e)
{
	char text[128];
	if (e == ECONNREFUSED)
		snprintf(text, sizeof(text), "connect refused");
	else
		snprintf(text, sizeof(text), "connect: %s", strerror(e));
	check_done(s, false, text);
}

static void on_tcp_ready(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)events;
	struct mon_slot *s = io->arg;
	int e = 0;
	socklen_t elen = sizeof(e);
	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		e = errno;
	ev_io_close(loop, io);
	if (e)
		connect_failed(s, e);
	else
		check_done(s, true, "ok: connected");
}

static void tcp_check(struct monitors *ms, struct mon_slot *s)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sockaddr_of(s, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		char text[128];
		snprintf(text, sizeof(text), "socket: %s", strerror(errno));
		check_done(s, false, text);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, sslen) == 0) {
		close(fd);
		check_done(s, true, "ok: connected");
		return;
	}
	if (errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		connect_failed(s, e);
		return;
	}
	if (ev_io_start(ms->loop, &s->io, fd, EPOLLOUT, on_tcp_ready, s) < 0) {
		close(fd);
		check_done(s, false, "cannot watch the connection");
		return;
	}
	s->busy = true;
	ev_timer_in(ms->loop, &s->deadline, s->mon.timeout_ms);
}

/* ---- HTTP and HTTPS ---- */

/* Looks for the body text in the first BODY_MAX octets as they stream by, keeping only the last
 * (text length - 1) octets between reads: no buffer per pair. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct mon_slot *s = arg;
	size_t n = size * nmemb, want = strlen(s->mon.body);
	size_t use = s->seen < BODY_MAX ? BODY_MAX - s->seen : 0, keep = want ? want - 1 : 0;
	use = n < use ? n : use;
	s->seen += n;
	if (!want || s->found || !use)
		return n; /* read, not looked at */
	char joint[2 * sizeof(s->tail)]; /* the previous read's last octets and this one's first */
	size_t head = use < keep ? use : keep;
	memcpy(joint, s->tail, s->tail_len);
	memcpy(joint + s->tail_len, data, head);
	bool across = memmem(joint, s->tail_len + head, s->mon.body, want) != NULL;
	s->found = across || memmem(data, use, s->mon.body, want) != NULL;
	if (use >= keep) {
		memcpy(s->tail, data + use - keep, keep);
		s->tail_len = keep;
	} else {
		size_t old = s->tail_len + use > keep ? keep - use : s->tail_len;
		memmove(s->tail, s->tail + s->tail_len - old, old);
		memcpy(s->tail + old, data, use);
		s->tail_len = old + use;
	}
	return n;
}

/* The GET of the monitor's URL, its host as Host and SNI, connected to the member's address. */
static int http_setup(struct mon_slot *s)
{
	char url[600], to[128], port[8] = "";
	bool https = s->mon.kind == DYN_MON_HTTPS, v6host = strchr(s->mon.host, ':') != NULL;
	if (s->mon.port != (https ? 443 : 80)) /* the Host header then names it, as the URL does */
		snprintf(port, sizeof(port), ":%u", s->mon.port);
	snprintf(url, sizeof(url), "%s://%s%s%s%s%s", https ? "https" : "http", v6host ? "[" : "", s->mon.host,
	         v6host ? "]" : "", port, s->mon.path[0] ? s->mon.path : "/");
	snprintf(to, sizeof(to), "::%s%s%s:%u", s->family == 2 ? "[" : "", s->address, s->family == 2 ? "]" : "",
	         s->mon.port); /* any host and port of the URL: this address and port */
	if (!(s->easy = curl_easy_init()) || !(s->connect_to = curl_slist_append(NULL, to)))
		return TERN_ENOMEM;
	CURL *e = s->easy;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECT_TO, s->connect_to) != CURLE_OK)
		return TERN_EINVAL;
	long timeout = (long)s->mon.timeout_ms;
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* the member itself, never a proxy */
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L); /* each check connects */
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "ternd-monitor/0.1");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->curl_err);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	return 0;
}

static void http_check(struct monitors *ms, struct mon_slot *s)
{
	if (!s->easy && http_setup(s) < 0) {
		curl_easy_cleanup(s->easy);
		curl_slist_free_all(s->connect_to);
		s->easy = NULL;
		s->connect_to = NULL;
		check_done(s, false, "libcurl refuses the URL, or out of memory");
		return;
	}
	s->seen = 0;
	s->found = false;
	s->tail_len = 0;
	s->curl_err[0] = 0;
	if (curl_multi_add_handle(ms->curl.multi, s->easy) != CURLM_OK) {
		check_done(s, false, "cannot start a request (libcurl)");
		return;
	}
	s->busy = true;
}

static void http_done(struct mon_slot *s, CURLcode cc)
{
	char text[128];
	long code = 0, os = 0;
	bool ok = false;
	curl_easy_getinfo(s->easy, CURLINFO_OS_ERRNO, &os);
	if (cc == CURLE_COULDNT_CONNECT && os) {
		connect_failed(s, (int)os);
		return;
	}
	if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(text, sizeof(text), "timeout after %u ms", s->mon.timeout_ms);
	else if (cc != CURLE_OK)
		snprintf(text, sizeof(text), "%.120s", s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc));
	else if (curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != s->mon.status)
		snprintf(text, sizeof(text), "status %ld", code);
	else if (s->mon.body[0] && !s->found)
		snprintf(text, sizeof(text), "status %ld, body without the text", code);
	else
		ok = true;
	if (ok)
		snprintf(text, sizeof(text), "ok: status %ld", code);
	check_done(s, ok, text);
}

static void collect(void *arg)
{
	struct monitors *ms = arg;
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(ms->curl.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode cc = m->data.result; /* m is gone once the handle is removed */
		void *s = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &s);
		curl_multi_remove_handle(ms->curl.multi, easy);
		if (s)
			http_done(s, cc);
	}
}

/* ---- scheduling ---- */

/* Ends the check in flight, if any, without a result. */
static void check_abort(struct monitors *ms, struct mon_slot *s)
{
	if (!s->busy)
		return;
	if (s->io.active)
		ev_io_close(ms->loop, &s->io);
	if (s->easy)
		curl_multi_remove_handle(ms->curl.multi, s->easy);
	ev_timer_cancel(ms->loop, &s->deadline);
	s->busy = false;
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	(void)loop;
	struct mon_slot *s = t->arg;
	char text[64];
	check_abort(s->ms, s);
	snprintf(text, sizeof(text), "timeout after %u ms", s->mon.timeout_ms);
	check_done(s, false, text);
}

/* Every interval: a check (one still running has overrun it and fails). */
static void on_tick(struct ev_loop *loop, struct ev_timer *t)
{
	struct mon_slot *s = t->arg;
	uint64_t now = ev_clock_ms();
	if (s->busy)
		on_deadline(loop, &s->deadline);
	if (s->mon.kind == DYN_MON_TCP)
		tcp_check(s->ms, s);
	else
		http_check(s->ms, s);
	s->next += s->mon.interval_ms;
	if (s->next <= now) /* late: keep the pace rather than catch up */
		s->next = now + s->mon.interval_ms;
	ev_timer_at(loop, t, s->next);
}

static void slot_free(struct monitors *ms, struct mon_slot *s)
{
	check_abort(ms, s);
	ev_timer_cancel(ms->loop, &s->tick);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->connect_to);
	free(s);
}

/* Builds the query workers' table from the index (lock held): NULL when out of memory. */
static struct mon_table *table_build(const struct monitors *ms)
{
	size_t n = 8;
	while (n < 2 * ms->count)
		n *= 2;
	struct mon_table *t = calloc(1, sizeof(*t) + n * sizeof(t->e[0]));
	if (!t)
		return NULL;
	t->mask = n - 1;
	for (size_t b = 0; b < ms->nindex; b++) {
		for (struct mon_slot *s = ms->index[b]; s; s = s->chain) {
			size_t i = s->hash & t->mask;
			while (t->e[i].slot)
				i = (i + 1) & t->mask;
			t->e[i].hash = s->hash;
			t->e[i].slot = s;
		}
	}
	return t;
}

/* Schedules a new pair (its first check at once), or stops a pair whose address the policy does
 * not allow (down, never probed), or starts again one it allows again (unknown). ms->lock held;
 * returns 1 when the pair is newly denied (its address and why then in first, if empty). */
static int apply_policy(struct monitors *ms, struct mon_slot *s, char *first, size_t len)
{
	char why[96];
	bool fresh = !s->scheduled,
	     ok = monitor_address_allowed(ms->allow, ms->nallow, s->family, s->addr, why, sizeof(why));
	if (fresh) {
		s->scheduled = true;
		ev_timer_init(&s->tick, on_tick, s);
		ev_timer_init(&s->deadline, on_deadline, s);
	}
	if (!ok && !s->denied) {
		check_abort(ms, s);
		ev_timer_cancel(ms->loop, &s->tick);
		s->denied = true;
		s->oks = s->fails = 0;
		s->last_check = (int64_t)time(NULL);
		snprintf(s->last_result, sizeof(s->last_result), MONITOR_NOT_ALLOWED ": %.80s", why);
		atomic_store_explicit(&s->state, (uint8_t)MONITOR_DOWN, memory_order_relaxed);
		if (!first[0])
			snprintf(first, len, "%s: %s", s->address, why);
		return 1;
	}
	if (ok && (fresh || s->denied)) {
		if (s->denied) {
			s->denied = false;
			s->last_check = 0;
			s->last_result[0] = 0;
			atomic_store_explicit(&s->state, (uint8_t)MONITOR_UNKNOWN, memory_order_relaxed);
		}
		s->next = ev_clock_ms();
		ev_timer_at(ms->loop, &s->tick, s->next);
	}
	return 0;
}

/* The set changed: pairs without users leave the index, new ones are scheduled (at once), the
 * table is rebuilt and published; what left is freed once no reader can hold it. */
static void on_changed(struct ev_loop *loop, struct ev_async *a)
{
	struct monitors *ms = a->arg;
	struct mon_slot *dead = NULL;
	pthread_mutex_lock(&ms->lock);
	if (ms->batches || !ms->dirty) {
		pthread_mutex_unlock(&ms->lock);
		return; /* the batch's end wakes us */
	}
	for (size_t b = 0; b < ms->nindex; b++) {
		for (struct mon_slot **l = &ms->index[b]; *l;) {
			struct mon_slot *s = *l;
			if (s->users) {
				l = &s->chain;
				continue;
			}
			*l = s->chain;
			s->dead = dead;
			dead = s;
			ms->count--;
		}
	}
	struct mon_table *t = table_build(ms);
	if (!t) { /* the previous table stays, with what it holds */
		for (struct mon_slot *s = dead, *next; s; s = next) {
			next = s->dead;
			s->chain = ms->index[s->hash & (ms->nindex - 1)];
			ms->index[s->hash & (ms->nindex - 1)] = s;
			ms->count++;
		}
		pthread_mutex_unlock(&ms->lock);
		log_error("monitors: out of memory publishing the monitored addresses; trying again in 1 s");
		ev_timer_in(loop, &ms->retry, RETRY_MS);
		return;
	}
	ms->dirty = false;
	size_t denied = 0;
	char first[INET6_ADDRSTRLEN + 128] = "";
	for (size_t b = 0; b < ms->nindex; b++)
		for (struct mon_slot *s = ms->index[b]; s; s = s->chain)
			denied += apply_policy(ms, s, first, sizeof(first));
	pthread_mutex_unlock(&ms->lock);
	if (denied)
		log_warning("monitors: %zu monitored address(es) newly outside monitors.allow: never probed, counted "
		            "down (%s)",
		            denied, first);
	struct mon_table *old = rcu_xchg_pointer(&ms->table, t);
	synchronize_rcu();
	free(old);
	for (struct mon_slot *s = dead, *next; s; s = next) {
		next = s->dead;
		slot_free(ms, s);
	}
}

static void on_retry(struct ev_loop *loop, struct ev_timer *t)
{
	struct monitors *ms = t->arg;
	on_changed(loop, &ms->changed);
}

/* ---- start, stop, views ---- */

int monitor_start(struct monitors **out, char *err, size_t errlen)
{
	struct monitors *ms = calloc(1, sizeof(*ms));
	if (!ms) {
		snprintf(err, errlen, "monitors: out of memory");
		return TERN_ENOMEM;
	}
	pthread_mutex_init(&ms->lock, NULL);
	int rc = TERN_EIO;
	uint64_t k[2];
	if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
		snprintf(err, errlen, "monitors: no random key for the registry: %s", strerror(errno));
		goto fail;
	}
	ms->k0 = k[0];
	ms->k1 = k[1];
	if (!(ms->loop = ev_new(EV_RCU_OFFLINE))) {
		snprintf(err, errlen, "monitors: out of memory");
		rc = TERN_ENOMEM;
		goto fail;
	}
	if (ev_curl_init(&ms->curl, ms->loop, collect, ms) < 0) {
		snprintf(err, errlen, "monitors: cannot initialise libcurl");
		goto fail;
	}
	ev_timer_init(&ms->retry, on_retry, ms);
	ev_async_start(ms->loop, &ms->changed, on_changed, ms);
	if (ev_thread_start(&ms->thread, ms->loop, "ternd-monitor") < 0) {
		snprintf(err, errlen, "monitors: cannot start the checker thread");
		goto fail;
	}
	*out = ms;
	return 0;
fail:
	monitor_stop(ms);
	return rc;
}

void monitor_stop(struct monitors *ms)
{
	if (!ms)
		return;
	ev_thread_stop(&ms->thread);
	for (size_t b = 0; b < ms->nindex; b++) {
		for (struct mon_slot *s = ms->index[b], *next; s; s = next) {
			next = s->chain;
			slot_free(ms, s);
		}
	}
	free(ms->index);
	free(ms->table);
	free(ms->allow);
	ev_curl_cleanup(&ms->curl);
	ev_free(ms->loop);
	pthread_mutex_destroy(&ms->lock);
	free(ms);
}

int monitor_set_policy(struct monitors *ms, const struct config_monitors *conf)
{
	struct config_prefix *allow = NULL;
	if (conf->nallow && !(allow = malloc(conf->nallow * sizeof(*allow))))
		return TERN_ENOMEM;
	if (conf->nallow)
		memcpy(allow, conf->allow, conf->nallow * sizeof(*allow));
	pthread_mutex_lock(&ms->lock);
	struct config_prefix *old = ms->allow;
	ms->allow = allow;
	ms->nallow = conf->nallow;
	ms->dirty = true; /* every pair is judged again */
	bool wake = !ms->batches;
	pthread_mutex_unlock(&ms->lock);
	free(old);
	if (wake)
		ev_async_send(&ms->changed);
	return 0;
}

int monitor_list(struct monitors *ms, struct monitor_view **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&ms->lock);
	struct monitor_view *v = ms->count ? calloc(ms->count, sizeof(*v)) : NULL;
	if (!v) {
		int rc = ms->count ? TERN_ENOMEM : 0;
		pthread_mutex_unlock(&ms->lock);
		return rc;
	}
	size_t i = 0;
	for (size_t b = 0; b < ms->nindex; b++) {
		for (const struct mon_slot *s = ms->index[b]; s; s = s->chain, i++) {
			v[i].monitor = s->mon;
			v[i].family = s->family;
			memcpy(v[i].addr, s->addr, sizeof(v[i].addr));
			memcpy(v[i].address, s->address, sizeof(v[i].address));
			v[i].state = atomic_load(&s->state);
			v[i].users = s->users;
			v[i].last_check = s->last_check;
			memcpy(v[i].last_result, s->last_result, sizeof(v[i].last_result));
		}
	}
	pthread_mutex_unlock(&ms->lock);
	for (size_t j = 0; j < i; j++)
		monitor_spec_text(&v[j].monitor, v[j].spec, sizeof(v[j].spec));
	*out = v;
	*n = i;
	return 0;
}

int monitor_pair_state(struct monitors *ms, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr,
                       struct monitor_pair *out)
{
	uint8_t key[KEY_MAX + 8];
	memset(out, 0, sizeof(*out));
	size_t len = ms && (family == 1 || family == 2) ? key_make(key, m, family, addr) : 0;
	if (len == 0)
		return TERN_ENOTFOUND;
	uint64_t h = sip_hash(ms, key, len);
	pthread_mutex_lock(&ms->lock);
	const struct mon_slot *s = index_find(ms, key, len, h);
	if (s) {
		out->state = atomic_load(&s->state);
		out->last_check = s->last_check;
		out->last_ok = s->last_check && s->fails == 0;
		memcpy(out->last_result, s->last_result, sizeof(out->last_result));
	}
	pthread_mutex_unlock(&ms->lock);
	return s ? 0 : TERN_ENOTFOUND;
}

/* Appends text to out (at *at) with quotes, backslashes, controls and octets past ASCII escaped
 * (so the text is ASCII, for JSON and Prometheus labels alike). */
static void append_escaped(char *out, size_t len, size_t *at, const char *text)
{
	for (const char *c = text; *c && *at + 5 < len; c++) {
		unsigned char u = (unsigned char)*c;
		if (u == '"' || u == '\\')
			*at += (size_t)snprintf(out + *at, len - *at, "\\%c", u);
		else if (u < 0x20 || u >= 0x7f)
			*at += (size_t)snprintf(out + *at, len - *at, "\\x%02x", u);
		else
			out[(*at)++] = (char)u;
	}
	out[*at] = 0;
}

void monitor_spec_text(const struct dyn_monitor *m, char *out, size_t len)
{
	size_t at = 0;
	char host[300];
	if (!len)
		return;
	out[0] = 0;
	if (m->kind == DYN_MON_TCP) {
		at = (size_t)snprintf(out, len, "tcp port %u", m->port);
	} else {
		bool https = m->kind == DYN_MON_HTTPS, v6 = strchr(m->host, ':') != NULL;
		snprintf(host, sizeof(host), "%s%.255s%s", v6 ? "[" : "", m->host, v6 ? "]" : "");
		at = (size_t)snprintf(out, len, "%s://", https ? "https" : "http");
		at = at < len ? at : len - 1;
		append_escaped(out, len, &at, host);
		if (m->port != (https ? 443 : 80))
			at += (size_t)snprintf(out + at, len - at, ":%u", m->port);
		at = at < len ? at : len - 1;
		append_escaped(out, len, &at, m->path);
		at += (size_t)snprintf(out + at, len - at, " status %u", m->status);
		at = at < len ? at : len - 1;
		if (m->body[0]) {
			at += (size_t)snprintf(out + at, len - at, " body \"");
			at = at < len ? at : len - 1;
			append_escaped(out, len, &at, m->body);
			at += (size_t)snprintf(out + at, len - at, "\"");
		}
	}
	at = at < len ? at : len - 1;
	snprintf(out + at, len - at, " interval %g s timeout %g s up %u down %u", m->interval_ms / 1000.0,
	         m->timeout_ms / 1000.0, m->up, m->down);
}

const char *monitor_state_name(enum monitor_state s)
{
	switch (s) {
	case MONITOR_UP: return "up";
	case MONITOR_DOWN: return "down";
	case MONITOR_UNKNOWN: break;
	}
	return "unknown";
}
