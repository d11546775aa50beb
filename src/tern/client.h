/* The API's HTTP client for tern: one libcurl handle kept open across requests (keep-alive),
 * timeouts, bearer authentication, and URL paths built from escaped segments. */
#pragma once

#include <stddef.h>

struct client;

enum {
	CLIENT_OK = 0,
	CLIENT_ECONNECT = -1, /* no connection: refused, unresolvable, cut off */
	CLIENT_ETIMEOUT = -4, /* connected (or trying to) but no answer within the timeout */
	CLIENT_EURL = -2, /* the API address is not a URL curl can use */
	CLIENT_ENOMEM = -3,
};

struct client_response {
	long status;
	char *body; /* NUL-terminated; len does not count the NUL */
	size_t len;
	char ctype[128];
};

/* base is the API's address ("http://127.0.0.1:8053", with or without "/api/v1"). */
int client_open(const char *base, const char *token, long timeout_ms, struct client **out);
void client_close(struct client *c);

/* The base URL requests go to (with "/api/v1"). */
const char *client_base(const struct client *c);

/* Sends method path[?query] with an optional body of content type ctype; any HTTP status is
 * CLIENT_OK with res->status set. err receives curl's reason on failure. */
int client_request(struct client *c, const char *method, const char *path, const char *ctype, const char *body,
                   size_t len, struct client_response *res, char *err, size_t errlen);
void client_response_clear(struct client_response *res);

/* "/seg1/seg2..." with every segment percent-encoded (RFC 3986 unreserved characters kept);
 * segs ends at its first NULL. Returns a malloc'd string or NULL. */
char *client_path(const char *const *segs);
#define CLIENT_PATH(...) client_path((const char *const[]){__VA_ARGS__, NULL})

/* s percent-encoded for a path segment or a query value into out; returns out or NULL if it
 * does not fit. */
char *client_escape(const char *s, char *out, size_t cap);
