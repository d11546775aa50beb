/* Readers of what an ACME CA (RFC 8555) sends: the directory, problem documents, accounts, orders
 * and authorizations. Every response is untrusted: bounded in size, each field checked for its
 * type, form and length, and a refusal names the field. No sockets inside (fuzz_acme_json). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define ACME_BODY_MAX (64u * 1024u) /* a JSON response from the CA; bigger is refused */
#define ACME_URL_MAX 1024u /* a URL the CA hands out */
#define ACME_MAX_NAMES 100u /* names of one order (Let's Encrypt's limit) */

enum acme_status {
	ACME_ST_PENDING,
	ACME_ST_READY,
	ACME_ST_PROCESSING,
	ACME_ST_VALID,
	ACME_ST_INVALID,
	ACME_ST_DEACTIVATED,
	ACME_ST_EXPIRED,
	ACME_ST_REVOKED,
};
const char *acme_status_name(enum acme_status s);

/* A problem document (RFC 7807), as the CA sent it: type, detail, status; each "" / 0 when absent.
 * Text is kept printable (other octets become '?') and cut to its buffer. */
struct acme_problem {
	char type[256];
	char detail[1024];
	int status;
};

struct acme_directory {
	char new_nonce[ACME_URL_MAX + 1], new_account[ACME_URL_MAX + 1], new_order[ACME_URL_MAX + 1];
};

struct acme_order {
	enum acme_status status;
	char **authorizations; /* URLs, malloc'd */
	size_t nauthz;
	char finalize[ACME_URL_MAX + 1];
	char certificate[ACME_URL_MAX + 1]; /* "" until valid */
	bool has_error;
	struct acme_problem error;
};

/* One authorization, with its http-01 challenge (found = false when the CA offers none). */
struct acme_authz {
	enum acme_status status;
	char identifier[256]; /* the dns identifier's value */
	bool wildcard;
	bool found;
	enum acme_status challenge_status;
	char challenge_url[ACME_URL_MAX + 1];
	char token[129]; /* 22 to 128 base64url characters */
	bool has_error; /* the http-01 challenge's error */
	struct acme_problem error;
};

/* Each returns 0 or TERN_EINVAL / TERN_ENOMEM with a message naming the field ("order.finalize:
 * not an https URL"); the output is whole only on 0 (acme_order_free() is safe either way). */
int acme_parse_directory(const char *text, size_t len, struct acme_directory *out, char *err, size_t errlen);
int acme_parse_problem(const char *text, size_t len, struct acme_problem *out, char *err, size_t errlen);
int acme_parse_account(const char *text, size_t len, enum acme_status *status, char *err, size_t errlen);
int acme_parse_order(const char *text, size_t len, struct acme_order *out, char *err, size_t errlen);
void acme_order_free(struct acme_order *o);
int acme_parse_authz(const char *text, size_t len, struct acme_authz *out, char *err, size_t errlen);
/* Whether s (NUL-terminated) is a URL the client may follow: "https://", printable ASCII without
 * blanks, quotes or backslashes, at most ACME_URL_MAX characters. */
bool acme_url_ok(const char *s);
