/* Readers of an ACME CA's JSON (jansson): directory, problem documents, account, order and
 * authorization, each field checked; a refusal names the field. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "ternd/acme/acme_key.h"
#include "ternd/acme/acme_parse.h"

static const char *const status_names[] = {"pending", "ready",       "processing", "valid",
                                           "invalid", "deactivated", "expired",    "revoked"};

const char *acme_status_name(enum acme_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

bool acme_url_ok(const char *s)
{
	size_t n = strnlen(s, ACME_URL_MAX + 1);
	if (n > ACME_URL_MAX || strncmp(s, "https://", 8) != 0 || n == 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>')
			return false;
	}
	return true;
}

/* Printable text, cut to its buffer. */
static void copy_text(char *out, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

static int load(const char *text, size_t len, const char *what, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	if (len > ACME_BODY_MAX) {
		snprintf(err, errlen, "%s: %zu bytes, more than %u", what, len, ACME_BODY_MAX);
		return TERN_EINVAL;
	}
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		char why[sizeof(je.text)];
		copy_text(why, sizeof(why), je.text); /* jansson quotes the input: kept printable */
		snprintf(err, errlen, "%s: not JSON (%s at line %d)", what, why, je.line);
		return TERN_EINVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "%s: not a JSON object", what);
		return TERN_EINVAL;
	}
	*out = j;
	return 0;
}

/* A string member: required or not; copied (cut to cap - 1 when cut is set, else refused). */
static int get_string(json_t *o, const char *what, const char *key, bool required, const char **out, char *err,
                      size_t errlen)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s.%s: missing", what, key);
		return TERN_EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s.%s: not a string", what, key);
		return TERN_EINVAL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s.%s: holds a NUL character", what, key);
		return TERN_EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int get_url(json_t *o, const char *what, const char *key, bool required, char *out, char *err, size_t errlen)
{
	const char *s;
	int rc = get_string(o, what, key, required, &s, err, errlen);
	out[0] = '\0';
	if (rc < 0 || !s)
		return rc;
	if (!acme_url_ok(s)) {
		snprintf(err, errlen, "%s.%s: not an https URL of printable characters up to %u long", what, key,
		         ACME_URL_MAX);
		return TERN_EINVAL;
	}
	strcpy(out, s);
	return 0;
}

static int get_status(json_t *o, const char *what, const char *key, enum acme_status *out, char *err, size_t errlen)
{
	const char *s;
	int rc = get_string(o, what, key, true, &s, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum acme_status)i;
			return 0;
		}
	}
	snprintf(err, errlen, "%s.%s: not a status RFC 8555 knows", what, key);
	return TERN_EINVAL;
}

static int problem_of(json_t *j, const char *what, struct acme_problem *out, char *err, size_t errlen)
{
	char w[64];
	const char *type, *detail;
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		snprintf(err, errlen, "%s: not a JSON object", what);
		return TERN_EINVAL;
	}
	snprintf(w, sizeof(w), "%s", what);
	int rc = get_string(j, w, "type", false, &type, err, errlen);
	if (rc == 0)
		rc = get_string(j, w, "detail", false, &detail, err, errlen);
	if (rc < 0)
		return rc;
	json_t *st = json_object_get(j, "status");
	if (st && (!json_is_integer(st) || json_integer_value(st) < 100 || json_integer_value(st) > 599)) {
		snprintf(err, errlen, "%s.status: not an HTTP status", what);
		return TERN_EINVAL;
	}
	copy_text(out->type, sizeof(out->type), type ? type : "");
	copy_text(out->detail, sizeof(out->detail), detail ? detail : "");
	out->status = st ? (int)json_integer_value(st) : 0;
	return 0;
}

int acme_parse_problem(const char *text, size_t len, struct acme_problem *out, char *err, size_t errlen)
{
	json_t *j;
	memset(out, 0, sizeof(*out));
	int rc = load(text, len, "problem", &j, err, errlen);
	if (rc < 0)
		return rc;
	rc = problem_of(j, "problem", out, err, errlen);
	json_decref(j);
	return rc;
}

int acme_parse_directory(const char *text, size_t len, struct acme_directory *out, char *err, size_t errlen)
{
	json_t *j;
	int rc = load(text, len, "directory", &j, err, errlen);
	if (rc < 0)
		return rc;
	rc = get_url(j, "directory", "newNonce", true, out->new_nonce, err, errlen);
	if (rc == 0)
		rc = get_url(j, "directory", "newAccount", true, out->new_account, err, errlen);
	if (rc == 0)
		rc = get_url(j, "directory", "newOrder", true, out->new_order, err, errlen);
	json_decref(j);
	return rc;
}

int acme_parse_account(const char *text, size_t len, enum acme_status *status, char *err, size_t errlen)
{
	json_t *j;
	int rc = load(text, len, "account", &j, err, errlen);
	if (rc < 0)
		return rc;
	rc = get_status(j, "account", "status", status, err, errlen);
	json_decref(j);
	return rc;
}

void acme_order_free(struct acme_order *o)
{
	for (size_t i = 0; i < o->nauthz; i++)
		free(o->authorizations[i]);
	free(o->authorizations);
	o->authorizations = NULL;
	o->nauthz = 0;
}

int acme_parse_order(const char *text, size_t len, struct acme_order *out, char *err, size_t errlen)
{
	json_t *j;
	memset(out, 0, sizeof(*out));
	int rc = load(text, len, "order", &j, err, errlen);
	if (rc < 0)
		return rc;
	rc = get_status(j, "order", "status", &out->status, err, errlen);
	if (rc == 0)
		rc = get_url(j, "order", "finalize", true, out->finalize, err, errlen);
	if (rc == 0)
		rc = get_url(j, "order", "certificate", out->status == ACME_ST_VALID, out->certificate, err, errlen);
	if (rc < 0)
		goto done;
	json_t *e = json_object_get(j, "error");
	if (e) {
		rc = problem_of(e, "order.error", &out->error, err, errlen);
		if (rc < 0)
			goto done;
		out->has_error = true;
	}
	json_t *a = json_object_get(j, "authorizations");
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > ACME_MAX_NAMES) {
		snprintf(err, errlen, "order.authorizations: %s",
		         !a                  ? "missing"
		         : !json_is_array(a) ? "not an array"
		                             : "not 1 to 100 URLs");
		rc = TERN_EINVAL;
		goto done;
	}
	out->authorizations = calloc(json_array_size(a), sizeof(char *));
	if (!out->authorizations) {
		snprintf(err, errlen, "order: out of memory");
		rc = TERN_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *u = json_array_get(a, i);
		if (!json_is_string(u) || strlen(json_string_value(u)) != json_string_length(u) ||
		    !acme_url_ok(json_string_value(u))) {
			snprintf(err, errlen,
			         "order.authorizations[%zu]: not an https URL of printable characters up to %u long", i,
			         ACME_URL_MAX);
			rc = TERN_EINVAL;
			goto done;
		}
		out->authorizations[i] = strdup(json_string_value(u));
		if (!out->authorizations[i]) {
			snprintf(err, errlen, "order: out of memory");
			rc = TERN_ENOMEM;
			goto done;
		}
		out->nauthz = i + 1;
	}
done:
	if (rc < 0)
		acme_order_free(out);
	json_decref(j);
	return rc;
}

/* The http-01 entry of challenges (the first, should the CA list two). */
static int authz_challenge(json_t *list, struct acme_authz *out, char *err, size_t errlen)
{
	char what[48];
	if (!json_is_array(list)) {
		snprintf(err, errlen, "authorization.challenges: %s", list ? "not an array" : "missing");
		return TERN_EINVAL;
	}
	if (json_array_size(list) > 16) {
		snprintf(err, errlen, "authorization.challenges: more than 16");
		return TERN_EINVAL;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		const char *type, *token;
		snprintf(what, sizeof(what), "authorization.challenges[%zu]", i);
		if (!json_is_object(c)) {
			snprintf(err, errlen, "%s: not an object", what);
			return TERN_EINVAL;
		}
		int rc = get_string(c, what, "type", true, &type, err, errlen);
		if (rc < 0)
			return rc;
		if (strcmp(type, "http-01") != 0 || out->found)
			continue;
		rc = get_status(c, what, "status", &out->challenge_status, err, errlen);
		if (rc == 0)
			rc = get_url(c, what, "url", true, out->challenge_url, err, errlen);
		if (rc == 0)
			rc = get_string(c, what, "token", true, &token, err, errlen);
		if (rc < 0)
			return rc;
		size_t n = strlen(token);
		if (n < ACME_TOKEN_MIN || n > ACME_TOKEN_MAX || !acme_b64url_alphabet(token, n)) {
			snprintf(err, errlen, "%s.token: not 22 to 128 base64url characters", what);
			return TERN_EINVAL;
		}
		memcpy(out->token, token, n + 1);
		json_t *e = json_object_get(c, "error");
		if (e) {
			char ew[64];
			snprintf(ew, sizeof(ew), "%s.error", what);
			rc = problem_of(e, ew, &out->error, err, errlen);
			if (rc < 0)
				return rc;
			out->has_error = true;
		}
		out->found = true;
	}
	return 0;
}

int acme_parse_authz(const char *text, size_t len, struct acme_authz *out, char *err, size_t errlen)
{
	json_t *j;
	const char *type, *value;
	memset(out, 0, sizeof(*out));
	int rc = load(text, len, "authorization", &j, err, errlen);
	if (rc < 0)
		return rc;
	rc = get_status(j, "authorization", "status", &out->status, err, errlen);
	if (rc < 0)
		goto done;
	json_t *id = json_object_get(j, "identifier");
	if (!json_is_object(id)) {
		snprintf(err, errlen, "authorization.identifier: %s", id ? "not an object" : "missing");
		rc = TERN_EINVAL;
		goto done;
	}
	rc = get_string(id, "authorization.identifier", "type", true, &type, err, errlen);
	if (rc == 0)
		rc = get_string(id, "authorization.identifier", "value", true, &value, err, errlen);
	if (rc < 0)
		goto done;
	if (strcmp(type, "dns") != 0) {
		snprintf(err, errlen, "authorization.identifier.type: not \"dns\"");
		rc = TERN_EINVAL;
		goto done;
	}
	size_t vn = strlen(value);
	if (vn == 0 || vn >= sizeof(out->identifier)) {
		snprintf(err, errlen, "authorization.identifier.value: not 1 to 255 characters");
		rc = TERN_EINVAL;
		goto done;
	}
	for (size_t i = 0; i < vn; i++) {
		unsigned char c = (unsigned char)value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_' || c == '*')) {
			snprintf(err, errlen, "authorization.identifier.value: not a host name");
			rc = TERN_EINVAL;
			goto done;
		}
	}
	memcpy(out->identifier, value, vn + 1);
	json_t *w = json_object_get(j, "wildcard");
	if (w && !json_is_boolean(w)) {
		snprintf(err, errlen, "authorization.wildcard: not a boolean");
		rc = TERN_EINVAL;
		goto done;
	}
	out->wildcard = w && json_is_true(w);
	rc = authz_challenge(json_object_get(j, "challenges"), out, err, errlen);
done:
	json_decref(j);
	return rc;
}
