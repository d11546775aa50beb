/* Private to the auth files: the key table (auth_jwks.c fills it, auth_token.c reads it), the scope
 * claim's reader (in auth_scope.c, for auth_token.c) and the message and base64url helpers. */
#pragma once
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "ternd/api/auth.h"

#define AUTH_QUOTE_MAX 64 /* characters of an untrusted value shown in a message */

enum auth_key_type { AUTH_KEY_RSA, AUTH_KEY_EC };

struct auth_key {
	char kid[AUTH_KID_MAX + 1];
	enum auth_key_type type;
	EVP_PKEY *pkey;
};

struct auth_keys {
	size_t n;
	struct auth_key *keys;
};

__attribute__((format(printf, 3, 4))) static inline void auth_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A printable, truncated copy of an untrusted string for messages (kid, alg, names). */
static inline const char *auth_quote(const char *s, char buf[AUTH_QUOTE_MAX + 4])
{
	size_t i = 0;
	for (; i < AUTH_QUOTE_MAX && s[i]; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = 0;
	return buf;
}

/* Strict base64url without padding (RFC 7515 section 2): no '=', no stray characters, unused
 * trailing bits zero. Allocates *out (at least one byte, so an empty input is not NULL).
 * Returns 0, TERN_EINVAL or TERN_ENOMEM. */
static inline int auth_b64url_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
	size_t cap = len / 4 * 3 + 3;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return TERN_ENOMEM;
	struct b64_error e;
	int rc = b64_decode(s, len, B64_URL, buf, cap, outlen, &e);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* Reads the scope claim of a verified token's payload into out->scope (auth_scope.c): absent, it
 * does not limit. Returns 0, or TERN_EINVAL with the reason in err (an unknown field, a bad entry)
 * or TERN_ENOMEM; what was read so far is left for auth_principal_free(). */
int auth_scope_read(json_t *payload, struct auth_principal *out, char *err, size_t errlen);
