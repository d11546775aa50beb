/* The API's HTTP/1.1 server: one thread running an ev_ loop (and HTTP_WORKERS for the parallel routes' handlers);
 * connections bounded in number (per address and in all, evicting the least advanced), in time (a deadline per request)
 * and in body size (per route, HTTP_BIG_BODIES above the server's bound at a time); routing to handlers. */
#include "ternd/http/http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/http/http_parse.h"
#include "ternd/base/clients.h"
#include "ternd/base/event.h"

#define IN_FIRST 2048 /* a connection's input buffer at first; it grows to HTTP_MAX_HEAD */
#define LINGER_MS 2000 /* after a last response, unread input is drained this long at most */
#define ACCEPT_PAUSE_MS 100 /* out of descriptors with nothing to evict: accept again after */
#define SWEEP_BATCH 64 /* connections expired at a time, between rounds of events */

enum phase {
	PH_HEAD, /* receiving a request head (or idle between requests) */
	PH_BODY, /* receiving its body */
	PH_HANDLER, /* a worker runs its handler: the loop neither reads nor times it out */
	PH_WRITE, /* sending the response */
	PH_LINGER, /* response sent, write side shut: draining input until EOF */
	PH_DEAD, /* closed; freed after the current batch of events */
};

struct conn {
	struct http *h;
	int fd;
	struct ev_io io;
	uint8_t key[CLIENT_KEY_LEN]; /* what the per-address limit counts: an IPv4 address or an IPv6 /64 */
	enum phase phase;
	bool idle; /* kept alive between requests, no byte of the next one yet */
	bool close_after; /* close once the response is sent */
	bool head_only; /* a HEAD request: the response goes without its body */
	uint64_t started; /* ms: when the current request (or idleness) began; least progress is oldest */
	uint64_t deadline; /* ms */
	char *in;
	size_t in_len, in_cap, scan;
	struct http_head head;
	bool have_head;
	struct http_body body;
	size_t body_max; /* the route's bound on this request's body */
	bool big; /* holds one of the HTTP_BIG_BODIES slots: its body may pass lim.max_body */
	char *out;
	size_t out_len, out_off;
	struct http_response res; /* PH_HANDLER: the worker's answer */
	struct conn *job_next; /* on the workers' queue, then on the done list */
	struct conn *prev, *next;
};

struct http {
	int lfd;
	struct ev_loop *loop; /* the thread's: the listener, the connections, the next deadline */
	struct ev_thread thread;
	struct ev_io listen_io;
	struct ev_timer deadline; /* at next_deadline */
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;
	struct http_hooks hooks;
	struct http_limits lim;
	_Atomic unsigned set_per_address, set_request_ms, set_idle_ms; /* http_set_limits: 0 = unchanged */
	struct ev_async limits; /* http_set_limits: the new values are waiting */
	size_t max_route_body; /* the largest body any route takes (lim.max_body at least) */
	unsigned big; /* connections holding a big-body slot (HTTP_BIG_BODIES at most) */
	struct conn *first, *last; /* open connections, in order of arrival */
	size_t nconns;
	struct conn *dead; /* closed during this batch of events */
	uint64_t now, next_deadline, accept_paused_until;
	uint64_t counts[6]; /* responses by status class */
	char date[40];
	time_t date_at;
	/* the workers of parallel routes: jobs queued by the loop, answers handed back */
	struct ev_thread workers[HTTP_WORKERS];
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_cond;
	struct conn *jobs, **jobs_tail, *done;
	bool jobs_stop;
	struct ev_async done_wake;
};

const char *http_header(const struct http_request *r, const char *name)
{
	return r->conn ? http_head_field(r->conn, name) : NULL;
}

unsigned http_header_count(const struct http_request *r, const char *name)
{
	return r->conn ? http_head_field_count(r->conn, name) : 0;
}

const char *http_query(const struct http_request *r, const char *name)
{
	return r->conn ? http_head_arg(r->conn, name) : NULL;
}

const char *http_target(const struct http_request *r)
{
	return r->conn ? ((const struct http_head *)r->conn)->target : "";
}

/* ---- routing ---- */

/* Matches path against pattern, capturing "{}" segments. */
static bool match(const char *pattern, const char *path, struct http_request *req, char *scratch, size_t cap)
{
	size_t used = 0;
	req->nparams = 0;
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			const char *end = strchr(path, '/');
			size_t n = end ? (size_t)(end - path) : strlen(path);
			if (n == 0 || req->nparams == HTTP_MAX_PARAMS || used + n + 1 > cap)
				return false;
			memcpy(scratch + used, path, n);
			scratch[used + n] = 0;
			req->params[req->nparams++] = scratch + used;
			used += n + 1;
			path += n;
			pattern += 2;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == 0 && *path == 0;
}

/* The bound on the body of a request to method and path: its route's, else the server's. */
static size_t route_body_limit(const struct http *h, const char *method, const char *path)
{
	char scratch[1024];
	struct http_request req = {0};
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i];
		if (rt->max_body > h->lim.max_body && strcmp(rt->method, method) == 0 &&
		    match(rt->pattern, path, &req, scratch, sizeof(scratch)))
			return rt->max_body;
	}
	return h->lim.max_body;
}

/* The route of method on path and whether it runs on a worker (0: none, 1: the loop, 2: a worker). */
static int route_kind(const struct http *h, const char *method, const char *path)
{
	char scratch[1024];
	struct http_request req = {0};
	if (!strcmp(method, "HEAD"))
		method = "GET";
	for (size_t i = 0; i < h->nroutes; i++)
		if (!strcmp(h->routes[i].method, method) &&
		    match(h->routes[i].pattern, path, &req, scratch, sizeof(scratch)))
			return h->routes[i].parallel ? 2 : 1;
	return 0;
}

static void dispatch(struct http *h, struct http_request *req, struct http_response *res)
{
	char scratch[1024];
	bool path_known = false;
	size_t allow_used = 0;
	const char *method = strcmp(req->method, "HEAD") ? req->method : "GET";
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i];
		if (!match(rt->pattern, req->path, req, scratch, sizeof(scratch)))
			continue;
		if (strcmp(rt->method, method) == 0) {
			if (h->hooks.enter)
				h->hooks.enter(h->ctx);
			rt->fn(h->ctx, req, res);
			if (h->hooks.leave)
				h->hooks.leave(h->ctx);
			return;
		}
		path_known = true;
		int n = snprintf(res->allow + allow_used, sizeof(res->allow) - allow_used, "%s%s",
		                 allow_used ? ", " : "", rt->method);
		if (n > 0 && (size_t)n < sizeof(res->allow) - allow_used)
			allow_used += (size_t)n;
	}
	if (path_known)
		http_error(res, 405, NULL, "method %s is not allowed on %s", req->method, req->path);
	else
		http_error(res, 404, NULL, "no such resource: %s", req->path);
}

/* ---- responses ---- */

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char *date_now(struct http *h)
{
	time_t t = time(NULL);
	if (t != h->date_at) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(h->date, sizeof(h->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		h->date_at = t;
	}
	return h->date;
}

/* The whole response in one buffer (malloc'd), res->body freed; NULL when out of memory. */
static char *render(struct http *h, struct http_response *res, bool close, bool keep_alive_10, bool head_only,
                    size_t *len)
{
	if (res->status < 100 || res->status > 999)
		res->status = 500;
	h->counts[res->status / 100 < 6 ? res->status / 100 : 0]++;
	char top[1536];
	int n = snprintf(top, sizeof(top), "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n", res->status,
	                 reason(res->status), date_now(h), res->body_len);
	const char *names[] = {"Content-Type", "Retry-After", "Allow", "Connection"};
	const char *values[] = {res->content_type, res->retry_after[0] ? res->retry_after : NULL,
	                        res->allow[0] ? res->allow : NULL,
	                        close           ? "close"
	                        : keep_alive_10 ? "keep-alive"
	                                        : NULL};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n > 0 && (size_t)n < sizeof(top); i++)
		if (values[i])
			n += snprintf(top + n, sizeof(top) - (size_t)n, "%s: %s\r\n", names[i], values[i]);
	if (n > 0 && (size_t)n < sizeof(top))
		n += snprintf(top + n, sizeof(top) - (size_t)n, "%s\r\n", res->headers ? res->headers : "");
	if (n <= 0 || (size_t)n >= sizeof(top)) { /* the fields are the server's own and short */
		free(res->body);
		res->body = NULL;
		return NULL;
	}
	size_t blen = head_only ? 0 : res->body_len;
	char *out = malloc((size_t)n + blen);
	if (out) {
		memcpy(out, top, (size_t)n);
		if (blen)
			memcpy(out + n, res->body, blen);
		*len = (size_t)n + blen;
	}
	free(res->body);
	res->body = NULL;
	return out;
}

/* ---- connections ---- */

static void set_deadline(struct conn *c, uint64_t at)
{
	c->deadline = at;
	if (at < c->h->next_deadline)
		c->h->next_deadline = at;
}

static void want(struct conn *c, uint32_t events)
{
	ev_io_modify(c->h->loop, &c->io, events);
}

/* A body above lim.max_body may be received only while holding one of HTTP_BIG_BODIES slots. */
static bool big_take(struct conn *c)
{
	if (c->big)
		return true;
	if (c->h->big >= HTTP_BIG_BODIES)
		return false;
	c->h->big++;
	c->big = true;
	return true;
}

/* The body is over (answered, refused, timed out) or the connection is closing: the slot is free. */
static void big_release(struct conn *c)
{
	if (c->big) {
		c->big = false;
		c->h->big--;
	}
}

static void conn_close(struct conn *c)
{
	struct http *h = c->h;
	if (c->phase == PH_DEAD)
		return;
	big_release(c);
	ev_io_close(h->loop, &c->io); /* no event reaches c any more */
	c->fd = -1;
	c->phase = PH_DEAD;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->last = c->prev;
	h->nconns--;
	c->prev = NULL;
	c->next = h->dead;
	h->dead = c;
}

static void conn_free(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	http_head_free(&c->head);
	http_body_free(&c->body);
	free(c->in);
	free(c->out);
	free(c->res.body);
	free(c);
}

/* Sends res and ends the request: the connection closes after it when close is set. */
static void respond(struct conn *c, struct http_response *res, bool close)
{
	struct http *h = c->h;
	bool keep_10 = !close && c->have_head && c->head.minor == 0;
	c->close_after = close;
	free(c->out);
	c->out = render(h, res, close, keep_10, c->head_only, &c->out_len);
	c->out_off = 0;
	http_head_free(&c->head);
	http_body_free(&c->body);
	big_release(c);
	c->have_head = false;
	c->head_only = false;
	if (!c->out) {
		conn_close(c);
		return;
	}
	c->phase = PH_WRITE;
	set_deadline(c, h->now + h->lim.request_ms); /* a client that does not read is dropped then */
}

/* A request refused before its handler: a JSON error, then the connection closes. */
static void fail(struct conn *c, int status, const char *msg)
{
	struct http_response res = {.status = 500};
	http_error(&res, status, NULL, "%s", msg);
	respond(c, &res, true);
}

/* A body above lim.max_body with every big-body slot taken: 503, try again in a second. */
static void fail_busy(struct conn *c)
{
	struct http_response res = {.status = 500};
	http_error(&res, 503, NULL, "%d bodies larger than %zu bytes are being received: try again", HTTP_BIG_BODIES,
	           c->h->lim.max_body);
	snprintf(res.retry_after, sizeof(res.retry_after), "1");
	respond(c, &res, true);
}

/* A best-effort 503 to a connection about to be closed for want of room (never blocks). */
static void send_refusal(struct http *h, int fd, const char *msg)
{
	struct http_response res = {.status = 503};
	http_error(&res, 503, NULL, "%s", msg);
	snprintf(res.retry_after, sizeof(res.retry_after), "1");
	size_t len = 0;
	char *out = render(h, &res, true, false, false, &len);
	if (out && send(fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* nothing to do: the connection is closed next in any case */
	}
	free(out);
}

static void request_of(struct conn *c, struct http_request *req)
{
	*req = (struct http_request){.method = c->head.method,
	                             .path = c->head.path,
	                             .body = c->body.data ? c->body.data : "",
	                             .body_len = c->body.len,
	                             .conn = &c->head};
}

/* The body is complete: the handler answers, here or (a parallel route) on a worker, which hands
 * the connection back through done_wake; meanwhile the loop leaves it alone (not read, no deadline,
 * not evictable). Returns whether the answer is ready. */
static bool run_handler(struct conn *c)
{
	struct http *h = c->h;
	struct http_request req;
	if (route_kind(h, c->head.method, c->head.path) == 2) {
		ev_io_stop(h->loop, &c->io);
		c->phase = PH_HANDLER;
		c->deadline = UINT64_MAX;
		c->res = (struct http_response){.status = 500};
		c->job_next = NULL;
		pthread_mutex_lock(&h->jobs_lock);
		*h->jobs_tail = c;
		h->jobs_tail = &c->job_next;
		pthread_cond_signal(&h->jobs_cond);
		pthread_mutex_unlock(&h->jobs_lock);
		return false;
	}
	request_of(c, &req);
	struct http_response res = {.status = 500};
	dispatch(h, &req, &res);
	respond(c, &res, !c->head.keep_alive);
	return true;
}

static void worker_main(void *arg)
{
	struct http *h = arg;
	pthread_mutex_lock(&h->jobs_lock);
	for (;;) {
		while (!h->jobs && !h->jobs_stop)
			pthread_cond_wait(&h->jobs_cond, &h->jobs_lock);
		if (h->jobs_stop)
			break;
		struct conn *c = h->jobs;
		h->jobs = c->job_next;
		if (!h->jobs)
			h->jobs_tail = &h->jobs;
		pthread_mutex_unlock(&h->jobs_lock);
		struct http_request req;
		request_of(c, &req);
		dispatch(h, &req, &c->res);
		pthread_mutex_lock(&h->jobs_lock);
		c->job_next = h->done;
		h->done = c;
		ev_async_send(&h->done_wake);
	}
	pthread_mutex_unlock(&h->jobs_lock);
}

static void drive(struct conn *c);
static void on_conn(struct ev_loop *loop, struct ev_io *io, uint32_t events);

/* Workers' answers: each connection is watched again and its response sent. */
static void on_done(struct ev_loop *loop, struct ev_async *as)
{
	struct http *h = as->arg;
	h->now = ev_now(loop);
	pthread_mutex_lock(&h->jobs_lock);
	struct conn *list = h->done;
	h->done = NULL;
	pthread_mutex_unlock(&h->jobs_lock);
	for (struct conn *c = list, *next; c; c = next) {
		next = c->job_next;
		c->job_next = NULL;
		c->phase = PH_BODY;
		if (ev_io_start(h->loop, &c->io, c->fd, EPOLLIN, on_conn, c) < 0) {
			free(c->res.body);
			c->res.body = NULL;
			conn_close(c);
			continue;
		}
		struct http_response res = c->res;
		c->res = (struct http_response){0};
		respond(c, &res, !c->head.keep_alive);
		drive(c);
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Each step returns true when the connection moved on and the next step may run now. */
static bool step_head(struct conn *c)
{
	struct http *h = c->h;
	if (c->in_len == 0)
		return false;
	if (c->idle) { /* the first byte of the next request: its deadline runs from now */
		c->idle = false;
		c->started = h->now;
		set_deadline(c, h->now + h->lim.request_ms);
	}
	int status = 400;
	char err[256];
	ssize_t n = http_parse_head(c->in, c->in_len, &c->scan, HTTP_MAX_HEAD, h->max_route_body, &c->head, &status,
	                            err, sizeof(err));
	if (n == 0)
		return false;
	if (n < 0) {
		fail(c, status, err);
		return true;
	}
	c->have_head = true;
	c->scan = 0;
	consume(c, (size_t)n);
	c->head_only = !strcmp(c->head.method, "HEAD");
	/* the route's bound, and a slot for a body announced above the server's: refused here, the
	 * client sends no byte of it (nor waits for a 100 Continue) */
	c->body_max = route_body_limit(h, c->head.method, c->head.path);
	if (http_head_check_body(&c->head, c->body_max, &status, err, sizeof(err)) < 0) {
		fail(c, status, err);
		return true;
	}
	if (c->head.content_length > h->lim.max_body && !big_take(c)) {
		fail_busy(c);
		return true;
	}
	if (http_body_init(&c->body, &c->head, c->body_max) < 0) {
		fail(c, 500, "out of memory");
		return true;
	}
	c->phase = PH_BODY;
	if (c->head.expect_continue && !c->body.done && c->in_len == 0) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (send(c->fd, cont, sizeof(cont) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)sizeof(cont) - 1) {
			conn_close(c); /* a fresh connection that cannot take 25 bytes */
			return false;
		}
	}
	return true;
}

static bool step_body(struct conn *c)
{
	struct http *h = c->h;
	int status = 400;
	char err[256];
	/* a chunked body without a slot takes at most one byte past lim.max_body, then needs one */
	bool capped = !c->big && c->body_max > h->lim.max_body;
	size_t len = c->in_len;
	if (capped && len > h->lim.max_body + 1 - c->body.len)
		len = h->lim.max_body + 1 - c->body.len;
	ssize_t n = http_body_feed(&c->body, c->in, len, &status, err, sizeof(err));
	if (n < 0) {
		fail(c, status, err);
		return true;
	}
	consume(c, (size_t)n);
	if (capped && c->body.len > h->lim.max_body && !big_take(c)) {
		fail_busy(c);
		return true;
	}
	if (!c->body.done)
		return capped && n > 0 && c->in_len > 0; /* input held back by the cap */
	return run_handler(c);
}

static bool step_write(struct conn *c)
{
	struct http *h = c->h;
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want(c, EPOLLOUT);
			return false;
		} else {
			conn_close(c);
			return false;
		}
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->close_after) {
		/* shut the write side and drain what the client still sends: closing with unread input
		 * would reset the connection and could destroy the response before it is read */
		shutdown(c->fd, SHUT_WR);
		c->phase = PH_LINGER;
		c->started = 0; /* the first to go when room is needed */
		c->in_len = 0;
		set_deadline(c, h->now + LINGER_MS);
		want(c, EPOLLIN);
		return false;
	}
	c->phase = PH_HEAD;
	c->idle = c->in_len == 0;
	c->started = h->now;
	set_deadline(c, h->now + (c->idle ? h->lim.idle_ms : h->lim.request_ms));
	want(c, EPOLLIN);
	return c->in_len > 0; /* a pipelined request is next */
}

static void drive(struct conn *c)
{
	for (;;) {
		bool more;
		switch (c->phase) {
		case PH_HEAD: more = step_head(c); break;
		case PH_BODY: more = step_body(c); break;
		case PH_WRITE: more = step_write(c); break;
		default: more = false; break;
		}
		if (!more)
			return;
	}
}

static void on_readable(struct conn *c)
{
	if (c->phase == PH_LINGER) {
		char sink[4096];
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(c);
		return;
	}
	if (c->phase != PH_HEAD && c->phase != PH_BODY)
		return;
	if (c->in_len == c->in_cap) {
		size_t ncap = c->in_cap ? c->in_cap * 2 : IN_FIRST;
		if (ncap > HTTP_MAX_HEAD)
			ncap = HTTP_MAX_HEAD;
		char *nb = ncap > c->in_cap ? realloc(c->in, ncap) : NULL;
		if (!nb) { /* cannot happen while parsing keeps the buffer below HTTP_MAX_HEAD */
			fail(c, 500, "out of memory");
			drive(c);
			return;
		}
		c->in = nb;
		c->in_cap = ncap;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
	if (n == 0) {
		conn_close(c); /* the client is gone, with or without a request half sent */
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	drive(c);
}

static void on_conn(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	struct conn *c = io->arg;
	c->h->now = ev_now(loop);
	if (c->phase == PH_WRITE && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		drive(c);
	else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(c);
}

/* Whether c may be closed to make room: it has not sent a whole request head yet (or is done). */
static bool evictable(const struct conn *c)
{
	return c->phase == PH_HEAD || c->phase == PH_LINGER;
}

/* Closes c to make room; a request begun is told why, an idle kept-alive connection is closed
 * quietly (a response there would be taken for the answer to the client's next request). */
static void evict(struct conn *c, const char *why)
{
	if (c->phase == PH_HEAD && !c->idle)
		send_refusal(c->h, c->fd, why);
	conn_close(c);
}

/* Takes a new connection in, making room by eviction when a limit is reached. */
static void admit(struct http *h, int fd, const struct sockaddr_storage *ss)
{
	uint8_t key[CLIENT_KEY_LEN];
	clients_key((const struct sockaddr *)ss, key); /* the TCP listener's rule; another family: one key */
	unsigned same = 0;
	struct conn *oldest_same = NULL, *oldest = NULL;
	for (struct conn *c = h->first; c; c = c->next) {
		bool mine = !memcmp(c->key, key, sizeof(key));
		same += mine;
		if (!evictable(c))
			continue;
		if (!oldest || c->started < oldest->started)
			oldest = c;
		if (mine && (!oldest_same || c->started < oldest_same->started))
			oldest_same = c;
	}
	if (same >= h->lim.max_per_address) {
		if (!oldest_same) {
			send_refusal(h, fd, "too many connections from this address, each busy with a request");
			close(fd);
			return;
		}
		if (oldest == oldest_same)
			oldest = NULL;
		evict(oldest_same, "connection closed: its address is at its connection limit and this request was "
		                   "the least advanced");
	}
	if (h->nconns >= h->lim.max_clients) {
		if (!oldest) {
			for (struct conn *c = h->first; c; c = c->next)
				if (evictable(c) && (!oldest || c->started < oldest->started))
					oldest = c;
		}
		if (!oldest) {
			send_refusal(h, fd, "too many connections, each busy with a request");
			close(fd);
			return;
		}
		evict(oldest, "connection closed: the server is at its connection limit and this request was the "
		              "least advanced");
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->h = h;
	c->fd = fd;
	memcpy(c->key, key, sizeof(key));
	c->phase = PH_HEAD;
	c->started = h->now;
	if (ev_io_start(h->loop, &c->io, fd, EPOLLIN, on_conn, c) < 0) {
		close(fd);
		free(c);
		return;
	}
	c->prev = h->last;
	if (h->last)
		h->last->next = c;
	else
		h->first = c;
	h->last = c;
	h->nconns++;
	set_deadline(c, h->now + h->lim.request_ms);
}

static void pause_accept(struct http *h, bool paused)
{
	ev_io_modify(h->loop, &h->listen_io, paused ? 0 : EPOLLIN);
	h->accept_paused_until = paused ? h->now + ACCEPT_PAUSE_MS : 0;
	if (paused && h->accept_paused_until < h->next_deadline)
		h->next_deadline = h->accept_paused_until;
}

static void on_accept(struct http *h)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss = {0};
		socklen_t sl = sizeof(ss);
		int fd = accept4(h->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			admit(h, fd, &ss);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* out of descriptors: the least advanced connection makes room, else wait a little
			 * (the listener would otherwise wake this loop at once, forever) */
			struct conn *oldest = NULL;
			for (struct conn *c = h->first; c; c = c->next)
				if (evictable(c) && (!oldest || c->started < oldest->started))
					oldest = c;
			if (oldest) {
				evict(oldest,
				      "connection closed: the server is out of descriptors and this request was "
				      "the least advanced");
				continue;
			}
			pause_accept(h, true);
		}
		return;
	}
}

/* Closes or answers 408 the connections past their deadline, SWEEP_BATCH at most so that the
 * connections arriving meanwhile wait no longer (a slow attack's deadlines all fall together);
 * finds the next deadline. */
static void sweep(struct http *h)
{
	unsigned expired = 0;
	h->next_deadline = UINT64_MAX;
	if (h->accept_paused_until) {
		if (h->accept_paused_until <= h->now)
			pause_accept(h, false);
		else
			h->next_deadline = h->accept_paused_until;
	}
	for (struct conn *c = h->first, *next; c; c = next) {
		next = c->next;
		if (c->deadline > h->now || expired == SWEEP_BATCH) {
			if (c->deadline < h->next_deadline)
				h->next_deadline = c->deadline;
			continue;
		}
		expired++;
		if ((c->phase == PH_HEAD && c->idle) || c->phase == PH_WRITE || c->phase == PH_LINGER) {
			conn_close(c);
			continue;
		}
		char msg[128];
		snprintf(msg, sizeof(msg), "request not complete within %u ms", h->lim.request_ms);
		c->in_len = 0;
		fail(c, 408, msg);
		drive(c);
	}
}

/* The limits http_set_limits asked for, from the next event on (in the loop's thread). */
static void take_limits(struct ev_loop *loop, struct ev_async *as)
{
	(void)loop;
	struct http *h = as->arg;
	unsigned v;
	if ((v = atomic_exchange(&h->set_per_address, 0)) != 0)
		h->lim.max_per_address = v < h->lim.max_clients ? v : h->lim.max_clients;
	if ((v = atomic_exchange(&h->set_request_ms, 0)) != 0)
		h->lim.request_ms = v;
	if ((v = atomic_exchange(&h->set_idle_ms, 0)) != 0)
		h->lim.idle_ms = v;
}

void http_set_limits(struct http *h, unsigned max_per_address, unsigned request_ms, unsigned idle_ms)
{
	if (!h)
		return;
	atomic_store(&h->set_per_address, max_per_address);
	atomic_store(&h->set_request_ms, request_ms);
	atomic_store(&h->set_idle_ms, idle_ms);
	ev_async_send(&h->limits);
}

static void on_listen(struct ev_loop *loop, struct ev_io *io, uint32_t events)
{
	(void)events;
	struct http *h = io->arg;
	h->now = ev_now(loop);
	on_accept(h);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t)
{
	struct http *h = t->arg;
	h->now = ev_now(loop);
	sweep(h);
}

/* After each round: frees what it closed, and sets the timer for the next deadline. */
static void after_round(struct ev_loop *loop, void *arg)
{
	struct http *h = arg;
	while (h->dead) {
		struct conn *c = h->dead;
		h->dead = c->next;
		conn_free(c);
	}
	if (h->next_deadline == UINT64_MAX)
		ev_timer_cancel(loop, &h->deadline);
	else if (!h->deadline.armed || h->deadline.at != h->next_deadline)
		ev_timer_at(loop, &h->deadline, h->next_deadline);
}

/* ---- start and stop ---- */

int http_listen(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen)
{
	char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?", ebuf[128];
	int one = 1;
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (addr->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, addr, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = errno;
		getnameinfo(addr, len, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(err, errlen, "cannot listen for HTTP on %s port %s: %s", host, serv,
		         strerror_r(e, ebuf, sizeof(ebuf)));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int http_start(const struct sockaddr *addr, socklen_t len, const struct http_route *routes, size_t nroutes, void *ctx,
               const struct http_hooks *hooks, const struct http_limits *limits, struct http **out, char *err,
               size_t errlen)
{
	int fd = http_listen(addr, len, err, errlen);
	if (fd < 0)
		return TERN_EIO;
	return http_start_fd(fd, routes, nroutes, ctx, hooks, limits, out, err, errlen);
}

int http_start_fd(int lfd, const struct http_route *routes, size_t nroutes, void *ctx, const struct http_hooks *hooks,
                  const struct http_limits *limits, struct http **out, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	if (!h) {
		close(lfd);
		snprintf(err, errlen, "out of memory for the HTTP server");
		return TERN_ENOMEM;
	}
	h->lfd = lfd;
	pthread_mutex_init(&h->jobs_lock, NULL);
	pthread_cond_init(&h->jobs_cond, NULL);
	h->jobs_tail = &h->jobs;
	h->routes = routes;
	h->nroutes = nroutes;
	h->ctx = ctx;
	if (hooks)
		h->hooks = *hooks;
	if (limits)
		h->lim = *limits;
	if (!h->lim.max_body)
		h->lim.max_body = 1024 * 1024;
	h->max_route_body = h->lim.max_body;
	for (size_t i = 0; i < nroutes; i++)
		if (routes[i].max_body > h->max_route_body)
			h->max_route_body = routes[i].max_body;
	if (!h->lim.max_clients)
		h->lim.max_clients = 1024;
	if (!h->lim.max_per_address)
		h->lim.max_per_address = 32;
	if (!h->lim.request_ms)
		h->lim.request_ms = 10000;
	if (!h->lim.idle_ms)
		h->lim.idle_ms = 30000;
	h->next_deadline = UINT64_MAX;
	if (!(h->loop = ev_new(0)) || ev_io_start(h->loop, &h->listen_io, h->lfd, EPOLLIN, on_listen, h) < 0) {
		snprintf(err, errlen, "cannot start the HTTP API: %s", strerror(errno));
		goto fail;
	}
	ev_timer_init(&h->deadline, on_deadline, h);
	ev_before_wait(h->loop, after_round, h);
	ev_async_start(h->loop, &h->limits, take_limits, h);
	ev_async_start(h->loop, &h->done_wake, on_done, h);
	bool parallel = false;
	for (size_t i = 0; i < nroutes; i++)
		parallel |= routes[i].parallel;
	for (size_t i = 0; parallel && i < HTTP_WORKERS; i++)
		if (ev_thread_start_fn(&h->workers[i], worker_main, h, "ternd-api") < 0) {
			snprintf(err, errlen, "cannot start the HTTP API's workers");
			goto fail;
		}
	if (ev_thread_start(&h->thread, h->loop, "ternd-http") < 0) {
		snprintf(err, errlen, "cannot start the HTTP API's thread");
		goto fail;
	}
	*out = h;
	return 0;
fail:
	http_stop(h);
	return TERN_EIO;
}

void http_counts(const struct http *h, uint64_t out[6])
{
	memcpy(out, h->counts, sizeof(h->counts));
}

unsigned http_port(const struct http *h)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl = sizeof(ss);
	if (getsockname(h->lfd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	ev_thread_stop(&h->thread);
	/* the workers finish the handler they run (their answers are dropped with the connections) */
	pthread_mutex_lock(&h->jobs_lock);
	h->jobs_stop = true;
	pthread_cond_broadcast(&h->jobs_cond);
	pthread_mutex_unlock(&h->jobs_lock);
	for (size_t i = 0; i < HTTP_WORKERS; i++)
		ev_thread_stop(&h->workers[i]);
	while (h->first) {
		struct conn *c = h->first;
		h->first = c->next;
		conn_free(c);
	}
	while (h->dead) { /* closed in the round the stop cut short */
		struct conn *c = h->dead;
		h->dead = c->next;
		conn_free(c);
	}
	ev_free(h->loop);
	if (h->lfd >= 0)
		close(h->lfd);
	pthread_cond_destroy(&h->jobs_cond);
	pthread_mutex_destroy(&h->jobs_lock);
	free(h);
}
