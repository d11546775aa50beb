/* The API's HTTP/1.1 server: connections bounded in number and time, request bodies up to a bound,
 * routing by method and path pattern, JSON responses and errors. Handlers never see the server. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define HTTP_MAX_PARAMS 4

struct http_request {
	const char *method;
	const char *path;
	const char *body; /* NUL-terminated copy; body_len excludes the NUL */
	size_t body_len;
	const char *params[HTTP_MAX_PARAMS]; /* the path segments matched by "{}" in the route */
	int nparams;
	const void *conn; /* the parsed head, for http_header() and http_query() */
};

struct http_response {
	int status;
	char *body; /* malloc'd; NULL for an empty body */
	size_t body_len;
	const char *content_type;
	char retry_after[16]; /* set for 429, and for 503 by http_error */
	char allow[64]; /* set for 405 */
	/* more header lines, each "Name: value\r\n" (a static string, the handler's own, at most
	 * 1 KiB): e.g. the web page's Content-Security-Policy; NULL for none */
	const char *headers;
};

typedef void (*http_handler)(void *ctx, const struct http_request *req, struct http_response *res);

/* pattern: "/api/v1/zones/{}/rrsets/{}/{}" where each {} matches one non-empty segment. */
struct http_route {
	const char *method;
	const char *pattern;
	http_handler fn;
	size_t max_body; /* larger than the server's bound for this route (0: the server's) */
	/* run on one of HTTP_WORKERS threads, beside other such requests, instead of on the server's
	 * thread (where the others run one at a time): routes whose handler is safe to run alongside
	 * any other (the RRset writes: the change module groups concurrent writes into one commit) */
	bool parallel;
};
/* Threads running the parallel routes' handlers: while one waits for its write to reach the disk
 * the others' writes join the same group commit. */
#define HTTP_WORKERS 8

/* Bodies above the server's bound (up to a route's max_body) being received at once: one more
 * gets a 503 with Retry-After, so big uploads cannot take the memory of every connection. A body
 * announced bigger (Content-Length) takes its slot once its head is read, a chunked one when it
 * grows past the bound; the slot is free again once the body is answered or refused (408, 413,
 * 400) or its connection closes. */
#define HTTP_BIG_BODIES 2

struct http;

/* Around every handler call (from the server's thread): e.g. to become an RCU reader. */
struct http_hooks {
	void (*enter)(void *ctx);
	void (*leave)(void *ctx);
};

/* What one client may hold. A zero field takes the default named. */
struct http_limits {
	size_t max_body; /* request body bytes (413 beyond) but on routes with a larger max_body; default 1 MiB */
	unsigned max_clients; /* connections open at once; default 1024 */
	unsigned max_per_address; /* from one IPv4 address or IPv6 /64; default 32 */
	unsigned request_ms; /* from a request's first byte (or the connection) to its last; 408 after */
	unsigned idle_ms; /* a kept-alive connection between requests; closed after */
};

/* At a limit, a new connection evicts the open one that made the least progress (the oldest whose
 * request header is not complete yet, from the same address when that address is at its limit);
 * with none to evict it is refused with a 503. HEAD runs the GET route without sending its body. */
int http_start(const struct sockaddr *addr, socklen_t len, const struct http_route *routes, size_t nroutes, void *ctx,
               const struct http_hooks *hooks, const struct http_limits *limits, struct http **out, char *err,
               size_t errlen);
/* The listening socket alone (non-blocking, SO_REUSEADDR, v6-only for IPv6): bound early, before the
 * process reads any network input, then handed to http_start_fd. Returns the fd or -1 with a message. */
int http_listen(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);
/* http_start on a socket from http_listen, taken over (closed on failure too). */
int http_start_fd(int lfd, const struct http_route *routes, size_t nroutes, void *ctx, const struct http_hooks *hooks,
                  const struct http_limits *limits, struct http **out, char *err, size_t errlen);
void http_stop(struct http *h);
/* A reload's limits: connections from one address (at most max_clients), a request's time, a kept-alive
 * connection's wait; each applies from the server's next event on (0 leaves one as it is). Any thread. */
void http_set_limits(struct http *h, unsigned max_per_address, unsigned request_ms, unsigned idle_ms);
/* Responses sent so far by status class: out[2] counts 2xx ... out[5] counts 5xx. Call from a
 * handler (the server's thread). */
void http_counts(const struct http *h, uint64_t out[6]);
/* The port actually bound (useful when the configuration asked for port 0). */
unsigned http_port(const struct http *h);

const char *http_header(const struct http_request *r, const char *name);
/* How many times the request carries header name (matched without regard to case). */
unsigned http_header_count(const struct http_request *r, const char *name);
const char *http_query(const struct http_request *r, const char *name);
/* The request target as sent: the path and query, not decoded (a signed query is checked as sent). */
const char *http_target(const struct http_request *r);

/* A JSON body (the reference is stolen). */
void http_json(struct http_response *res, int status, json_t *body);
/* A JSON body already written as text (*text, malloc'd and NUL-terminated, is taken: NULL after). */
void http_json_text(struct http_response *res, int status, char **text, size_t len);
/* A plain body in a given content type (copied). */
void http_text(struct http_response *res, int status, const char *type, const char *text, size_t len);
/* {"error": {"status": N, "field": F, "message": M}}; field may be NULL. */
void http_error(struct http_response *res, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
