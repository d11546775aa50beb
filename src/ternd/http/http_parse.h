/* HTTP/1.1 request parsing with no sockets inside: the request head (request line and header
 * fields, bounded) and the body (Content-Length or chunked), fed as bytes arrive. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_MAX_HEAD (16 * 1024) /* request line and header fields; 431 beyond */
#define HTTP_MAX_FIELDS 64 /* header fields; 431 beyond */
#define HTTP_MAX_ARGS 32 /* query arguments; 400 beyond */

struct http_field {
	const char *name;
	const char *value;
};

/* A parsed request head: every string points into mem. */
struct http_head {
	char *mem;
	const char *method;
	const char *target; /* as sent */
	const char *path; /* percent-decoded, without the query */
	int minor; /* HTTP/1.<minor> */
	struct http_field fields[HTTP_MAX_FIELDS];
	size_t nfields;
	struct http_field args[HTTP_MAX_ARGS]; /* the query, split on '&' and '=', decoded ('+' is ' ') */
	size_t nargs;
	bool keep_alive; /* the connection may carry another request after this one */
	bool chunked; /* Transfer-Encoding: chunked */
	bool expect_continue; /* Expect: 100-continue */
	uint64_t content_length; /* 0 when absent */
};

/* Looks for a complete head at the start of buf[0..len) (empty lines before it are skipped).
 * Returns the bytes it spans (> 0) with h filled, 0 when more bytes are needed (*scan keeps where
 * the search for its end stopped; start it at 0 for each request), or a negative TERN_E* code
 * with *status set (400, 413, 417, 431, 501 or 505) and a message naming the problem. A body
 * announced larger than max_body is refused here (413). h needs http_head_free() after > 0. */
ssize_t http_parse_head(const char *buf, size_t len, size_t *scan, size_t max_head, size_t max_body,
                        struct http_head *h, int *status, char *err, size_t errlen);
/* Whether the body h announces (Content-Length) fits max_body: 0, or TERN_EINVAL with *status 413
 * and a message. http_parse_head() checks its own max_body so; a server whose routes take bodies
 * of different sizes checks again with the route's bound once the path is known. */
int http_head_check_body(const struct http_head *h, size_t max_body, int *status, char *err, size_t errlen);
void http_head_free(struct http_head *h);
/* The first header field of that name (case-insensitive), or NULL. */
const char *http_head_field(const struct http_head *h, const char *name);
/* How many header fields have that name (case-insensitive). */
unsigned http_head_field_count(const struct http_head *h, const char *name);
/* The first query argument of that name (case-insensitive, as libmicrohttpd looked them up), or NULL. */
const char *http_head_arg(const struct http_head *h, const char *name);

/* A request body being received. */
struct http_body {
	char *data; /* NUL-terminated once done; len excludes the NUL */
	size_t len, cap, max;
	bool chunked, done;
	uint64_t remaining; /* bytes still to come: of the body (Content-Length) or of the chunk */
	int state; /* chunked: where in the chunk syntax */
	unsigned digits; /* chunked: hex digits of the size line so far */
	size_t line; /* chunked: bytes of the current size or trailer line */
	size_t trailer; /* chunked: bytes of trailer fields */
};

/* Starts the body h announces, up to max_body bytes. Returns 0 or TERN_ENOMEM. */
int http_body_init(struct http_body *b, const struct http_head *h, size_t max_body);
/* Takes bytes of the body from in[0..len): returns how many it took (the rest belong to the next
 * request), with b->done set once the body is complete, or a negative TERN_E* code with *status
 * (400 or 413) and a message. */
ssize_t http_body_feed(struct http_body *b, const char *in, size_t len, int *status, char *err, size_t errlen);
void http_body_free(struct http_body *b);
