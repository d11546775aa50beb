/* The API's HTTP server on libmicrohttpd: bounded request bodies, routing, JSON responses. */
#include "ternd/api/http.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

struct http {
	struct MHD_Daemon *daemon;
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;
	struct http_hooks hooks;
	size_t max_body;
	unsigned big; /* bodies above max_body being received (HTTP_BIG_BODIES at most) */
	uint64_t counts[6]; /* responses by status class */
};

/* One request being received. */
struct pending {
	char *body;
	size_t len, cap;
	size_t limit; /* the route's bound on the body */
	bool too_large;
	bool big; /* holds one of the HTTP_BIG_BODIES slots */
	bool busy; /* needed a slot when none was free */
};

const char *http_header(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

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

static enum MHD_Result send_response(struct MHD_Connection *conn, struct http_response *res)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(res->body_len, res->body ? res->body : (char *)"",
	                                    res->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(res->body);
		return MHD_NO;
	}
	res->body = NULL;
	if (res->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	if (res->retry_after[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, res->retry_after);
	if (res->allow[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, res->allow);
	enum MHD_Result rc = MHD_queue_response(conn, (unsigned)res->status, r);
	MHD_destroy_response(r);
	return rc;
}

static void dispatch(struct http *h, struct http_request *req, struct http_response *res)
{
	char scratch[1024];
	bool path_known = false;
	size_t allow_used = 0;
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i];
		if (!match(rt->pattern, req->path, req, scratch, sizeof(scratch)))
			continue;
		if (strcmp(rt->method, req->method) == 0) {
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

/* The bound on the body of a request to method and url: its route's, else the server's. */
static size_t route_body_limit(const struct http *h, const char *method, const char *url)
{
	char scratch[1024];
	struct http_request req = {0};
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *rt = &h->routes[i];
		if (rt->max_body > h->max_body && strcmp(rt->method, method) == 0 &&
		    match(rt->pattern, url, &req, scratch, sizeof(scratch)))
			return rt->max_body;
	}
	return h->max_body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)version;
	struct http *h = cls;
	struct pending *p = *state;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return MHD_NO;
		p->limit = route_body_limit(h, method, url);
		*state = p;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!p->too_large && !p->busy && p->len + *upload_size > h->max_body && !p->big) {
			if (p->len + *upload_size <= p->limit && h->big < HTTP_BIG_BODIES) {
				h->big++;
				p->big = true;
			} else if (p->len + *upload_size <= p->limit) {
				p->busy = true;
				free(p->body);
				p->body = NULL;
				p->len = p->cap = 0;
			}
		}
		if (!p->too_large && !p->busy) {
			if (p->len + *upload_size > p->limit) {
				p->too_large = true;
			} else {
				if (p->len + *upload_size + 1 > p->cap) {
					size_t ncap = (p->len + *upload_size + 1) * 2;
					ncap = ncap > p->limit + 1 ? p->limit + 1 : ncap;
					char *nb = realloc(p->body, ncap);
					if (!nb)
						return MHD_NO;
					p->body = nb;
					p->cap = ncap;
				}
				memcpy(p->body + p->len, upload, *upload_size);
				p->len += *upload_size;
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	struct http_response res = {.status = 500};
	if (p->too_large) {
		http_error(&res, 413, NULL, "request body larger than %zu bytes", p->limit);
	} else if (p->busy) {
		snprintf(res.retry_after, sizeof(res.retry_after), "1");
		http_error(&res, 503, NULL, "%d bodies larger than %zu bytes are being received: try again",
		           HTTP_BIG_BODIES, h->max_body);
	} else {
		struct http_request req = {
		    .method = method, .path = url, .body = p->body ? p->body : "", .body_len = p->len, .conn = conn};
		if (p->body)
			p->body[p->len] = 0;
		dispatch(h, &req, &res);
	}
	h->counts[res.status / 100 < 6 ? res.status / 100 : 0]++;
	return send_response(conn, &res);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode code)
{
	(void)conn;
	(void)code;
	struct http *h = cls;
	struct pending *p = *state;
	if (p) {
		if (p->big)
			h->big--;
		free(p->body);
		free(p);
		*state = NULL;
	}
}

int http_start(const struct sockaddr *addr, socklen_t len, const struct http_route *routes, size_t nroutes, void *ctx,
               const struct http_hooks *hooks, size_t max_body, struct http **out, char *err, size_t errlen)
{
	(void)len;
	struct http *h = calloc(1, sizeof(*h));
	if (!h)
		return TERN_ENOMEM;
	h->routes = routes;
	h->nroutes = nroutes;
	h->ctx = ctx;
	if (hooks)
		h->hooks = *hooks;
	h->max_body = max_body;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, addr,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_TIMEOUT,
	                             (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen, "cannot start the HTTP API (address in use?)");
		free(h);
		return TERN_EIO;
	}
	*out = h;
	return 0;
}

void http_counts(const struct http *h, uint64_t out[6])
{
	memcpy(out, h->counts, sizeof(h->counts));
}

unsigned http_port(const struct http *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
