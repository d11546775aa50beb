/* Bearer-token verification: a compact JWS signed RS256 or ES256 by a key of the JWKS, checked
 * before its claims are read; then exp/nbf/iat, the sub (tenant) and role claims, and the scope. */
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/error.h"
#include "ternd/api/auth.h"
#include "ternd/api/auth_impl.h"
#include "ternd/store/store.h"

#define TENANT_MAX_TEXT "128" /* AUTH_TENANT_MAX, for messages */
_Static_assert(AUTH_TENANT_MAX == 128, "TENANT_MAX_TEXT must spell AUTH_TENANT_MAX");
#define TIME_LIMIT 253402300799.0 /* 9999-12-31T23:59:59Z: a time claim beyond is nonsense */

/* Checks the signature over header.payload with the key's algorithm. */
static bool sig_ok(const struct auth_key *k, const char *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	bool ok = false;

	if (k->type == AUTH_KEY_RSA) {
		if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
			goto fail;
	} else {
		/* JOSE carries r || s, 32 bytes each; OpenSSL verifies DER. */
		if (siglen != 64)
			goto fail;
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		if (!r || !s || !(es = ECDSA_SIG_new()) || !ECDSA_SIG_set0(es, r, s))
			goto fail;
		r = s = NULL;
		int derlen = i2d_ECDSA_SIG(es, &der);
		if (derlen <= 0)
			goto fail;
		sig = der;
		siglen = (size_t)derlen;
	}
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, k->pkey, NULL) != 1)
		goto fail;
	if (k->type == AUTH_KEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto fail;
	ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)msg, msglen) == 1;
fail:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return ok;
}

/* Decodes one part of the token (a base64url JSON object). */
static int part_json(const char *s, size_t len, const char *what, json_t **out, char *err, size_t errlen)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	json_error_t jerr;
	int rc = auth_b64url_decode(s, len, &raw, &rawlen);
	if (rc == TERN_ENOMEM) {
		auth_seterr(err, errlen, "out of memory");
		return rc;
	}
	if (rc < 0) {
		auth_seterr(err, errlen, "malformed token: %s is not valid base64url", what);
		return TERN_EINVAL;
	}
	*out = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (!*out || !json_is_object(*out)) {
		auth_seterr(err, errlen, "malformed token: %s is not a JSON object%s%s", what, *out ? "" : ": ",
		            *out ? "" : jerr.text);
		json_decref(*out);
		*out = NULL;
		return TERN_EINVAL;
	}
	return 0;
}

static void format_time(double t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, 32, "%.0f", t);
}

/* A NumericDate claim: *present false when absent. */
static int claim_time(json_t *payload, const char *name, bool *present, double *val, char *err, size_t errlen)
{
	json_t *v = json_object_get(payload, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_number(v)) {
		auth_seterr(err, errlen, "%s claim is not a number", name);
		return TERN_EINVAL;
	}
	*val = json_number_value(v);
	if (!(*val >= -TIME_LIMIT && *val <= TIME_LIMIT)) {
		auth_seterr(err, errlen, "%s claim is out of range", name);
		return TERN_EINVAL;
	}
	return 0;
}

static int check_times(json_t *payload, time_t now, struct auth_principal *out, char *err, size_t errlen)
{
	bool present;
	double exp = 0, nbf = 0, iat = 0, t = (double)now;
	char when[32];
	int rc;
	if ((rc = claim_time(payload, "exp", &present, &exp, err, errlen)) < 0)
		return rc;
	if (!present) {
		auth_seterr(err, errlen, "token has no exp claim");
		return TERN_EINVAL;
	}
	if (exp <= t - AUTH_LEEWAY) {
		format_time(exp, when);
		auth_seterr(err, errlen, "token expired at %s", when);
		return TERN_EINVAL;
	}
	if ((rc = claim_time(payload, "nbf", &present, &nbf, err, errlen)) < 0)
		return rc;
	if (present && nbf > t + AUTH_LEEWAY) {
		format_time(nbf, when);
		auth_seterr(err, errlen, "token not valid before %s", when);
		return TERN_EINVAL;
	}
	if ((rc = claim_time(payload, "iat", &present, &iat, err, errlen)) < 0)
		return rc;
	if (present && iat > t + AUTH_LEEWAY) {
		format_time(iat, when);
		auth_seterr(err, errlen, "token issued in the future (iat %s)", when);
		return TERN_EINVAL;
	}
	out->expires = (time_t)exp;
	return 0;
}

const char *auth_tenant_problem(const char *s, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len > AUTH_TENANT_MAX)
		return "is longer than " TENANT_MAX_TEXT " bytes";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains a control character";
	if (len == strlen(STORE_TENANT_CONFIG) && memcmp(s, STORE_TENANT_CONFIG, len) == 0)
		return "is reserved for the zones of the configuration file";
	return NULL;
}

static int check_subject(json_t *payload, struct auth_principal *out, char *err, size_t errlen)
{
	json_t *sub = json_object_get(payload, "sub");
	if (!sub) {
		auth_seterr(err, errlen, "token has no sub claim");
		return TERN_EINVAL;
	}
	if (!json_is_string(sub)) {
		auth_seterr(err, errlen, "sub claim is not a string");
		return TERN_EINVAL;
	}
	const char *s = json_string_value(sub), *why;
	size_t len = json_string_length(sub);
	if ((why = auth_tenant_problem(s, len)) != NULL) {
		auth_seterr(err, errlen, "sub claim %s", why);
		return TERN_EINVAL;
	}
	memcpy(out->tenant, s, len + 1);

	json_t *role = json_object_get(payload, "role");
	if (role && !json_is_string(role)) {
		auth_seterr(err, errlen, "role claim is not a string");
		return TERN_EINVAL;
	}
	out->admin = role && strcmp(json_string_value(role), "admin") == 0;
	return 0;
}
/* Reads the header: alg first (so "none" and HS* are named as such), then crit, then the key. */
static int check_header(const struct auth_keys *keys, json_t *header, const struct auth_key **key, char *err,
                        size_t errlen)
{
	char q[AUTH_QUOTE_MAX + 4];
	json_t *alg = json_object_get(header, "alg");
	if (!alg || !json_is_string(alg)) {
		auth_seterr(err, errlen, "malformed token: header has no alg string");
		return TERN_EINVAL;
	}
	const char *algs = json_string_value(alg);
	if (strcasecmp(algs, "none") == 0) {
		auth_seterr(err, errlen, "algorithm none is not accepted");
		return TERN_EINVAL;
	}
	if (strcmp(algs, "RS256") != 0 && strcmp(algs, "ES256") != 0) {
		auth_seterr(err, errlen, "algorithm %s is not accepted (only RS256 and ES256)", auth_quote(algs, q));
		return TERN_EINVAL;
	}
	if (json_object_get(header, "crit")) {
		auth_seterr(err, errlen, "header crit is not supported");
		return TERN_EINVAL;
	}
	json_t *kid = json_object_get(header, "kid");
	if (!kid) {
		auth_seterr(err, errlen, "token header has no kid");
		return TERN_EINVAL;
	}
	if (!json_is_string(kid)) {
		auth_seterr(err, errlen, "token header kid is not a string");
		return TERN_EINVAL;
	}
	const char *kids = json_string_value(kid);
	*key = NULL;
	for (size_t i = 0; keys && i < keys->n && !*key; i++)
		if (strcmp(keys->keys[i].kid, kids) == 0)
			*key = &keys->keys[i];
	if (!*key) {
		auth_seterr(err, errlen, "unknown key id \"%s\"", auth_quote(kids, q));
		return TERN_ENOTFOUND;
	}
	enum auth_key_type want = algs[0] == 'R' ? AUTH_KEY_RSA : AUTH_KEY_EC;
	if ((*key)->type != want) {
		auth_seterr(err, errlen, "algorithm %s does not match key \"%s\" (an %s key)", algs,
		            auth_quote(kids, q), (*key)->type == AUTH_KEY_RSA ? "RSA" : "EC");
		return TERN_EINVAL;
	}
	return 0;
}

int auth_verify(const struct auth_keys *keys, const char *token, time_t now, struct auth_principal *out, char *err,
                size_t errlen)
{
	json_t *header = NULL, *payload = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0;
	const struct auth_key *key = NULL;
	int rc = TERN_EINVAL;

	memset(out, 0, sizeof(*out));
	if (!token || !token[0]) {
		auth_seterr(err, errlen, "no token");
		goto fail;
	}
	size_t len = strnlen(token, AUTH_TOKEN_MAX + 1);
	if (len > AUTH_TOKEN_MAX) {
		auth_seterr(err, errlen, "token too long (more than %d bytes)", AUTH_TOKEN_MAX);
		goto fail;
	}
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
		size_t parts = 1;
		for (size_t i = 0; i < len; i++)
			parts += token[i] == '.';
		auth_seterr(err, errlen, "malformed token: expected 3 dot-separated parts, found %zu", parts);
		goto fail;
	}
	if ((rc = part_json(token, (size_t)(dot1 - token), "header", &header, err, errlen)) < 0 ||
	    (rc = check_header(keys, header, &key, err, errlen)) < 0)
		goto fail;
	rc = auth_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &siglen);
	if (rc < 0) {
		auth_seterr(err, errlen,
		            rc == TERN_ENOMEM ? "out of memory" : "malformed token: signature is not valid base64url");
		goto fail;
	}
	rc = TERN_EINVAL;
	if (!sig_ok(key, token, (size_t)(dot2 - token), sig, siglen)) {
		auth_seterr(err, errlen, "bad signature (key \"%s\")", key->kid);
		goto fail;
	}
	/* Only now, authenticated, are the claims read. */
	if ((rc = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", &payload, err, errlen)) < 0 ||
	    (rc = check_times(payload, now, out, err, errlen)) < 0 ||
	    (rc = check_subject(payload, out, err, errlen)) < 0 ||
	    (rc = auth_scope_read(payload, out, err, errlen)) < 0)
		goto fail;
	memcpy(out->kid, key->kid, sizeof(out->kid));
	json_decref(header);
	json_decref(payload);
	free(sig);
	return 0;
fail:
	auth_principal_free(out);
	json_decref(header);
	json_decref(payload);
	free(sig);
	return rc;
}
