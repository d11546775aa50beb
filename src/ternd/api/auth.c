/* API authentication: loads the JWKS into OpenSSL public keys, verifies RS256/ES256 compact JWS
 * bearer tokens against them, reads the tenant/role/scope claims and decides scoped operations. */
#include "ternd/api/auth.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base64.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384
#define TENANT_MAX_TEXT "128" /* AUTH_TENANT_MAX, for messages */
_Static_assert(AUTH_TENANT_MAX == 128, "TENANT_MAX_TEXT must spell AUTH_TENANT_MAX");
#define QUOTE_MAX 64 /* characters of an untrusted value shown in a message */
#define TIME_LIMIT 253402300799.0 /* 9999-12-31T23:59:59Z: a time claim beyond is nonsense */

enum key_type { KEY_RSA, KEY_EC };

struct auth_key {
	char kid[AUTH_KID_MAX + 1];
	enum key_type type;
	EVP_PKEY *pkey;
};

struct auth_keys {
	size_t n;
	struct auth_key *keys;
};

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A printable, truncated copy of an untrusted string for messages (kid, alg, names). */
static const char *quote(const char *s, char buf[QUOTE_MAX + 4])
{
	size_t i = 0;
	for (; i < QUOTE_MAX && s[i]; i++)
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
static int b64url_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
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

/* ---- JWKS ---- */

/* Where a key's messages come from: "source: keys[i]". */
struct key_ctx {
	const char *source;
	size_t index;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int key_err(const struct key_ctx *c, const char *field, const char *fmt,
                                                         ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seterr(c->err, c->errlen, "%s: keys[%zu]: %s: %s", c->source, c->index, field, msg);
	return TERN_ECONFIG;
}

/* The base64url member field of jk decoded, required to be present and non-empty. */
static int key_member(const struct key_ctx *c, json_t *jk, const char *field, uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(jk, field);
	if (!v)
		return key_err(c, field, "missing");
	if (!json_is_string(v))
		return key_err(c, field, "not a string");
	int rc = b64url_decode(json_string_value(v), json_string_length(v), out, len);
	if (rc == TERN_ENOMEM) {
		key_err(c, field, "out of memory");
		return TERN_ENOMEM;
	}
	if (rc < 0)
		return key_err(c, field, "bad base64url");
	if (*len == 0) {
		free(*out);
		*out = NULL;
		return key_err(c, field, "empty");
	}
	return 0;
}

/* Builds an RSA public key from the JWK's n and e. */
static int key_rsa(const struct key_ctx *c, json_t *jk, EVP_PKEY **pkey)
{
	static const char *const private_fields[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};
	uint8_t *nb = NULL, *eb = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(private_fields) / sizeof(private_fields[0]); i++)
		if (json_object_get(jk, private_fields[i])) {
			rc = key_err(c, private_fields[i], "private key material in a public JWKS is refused");
			goto fail;
		}
	if ((rc = key_member(c, jk, "n", &nb, &nlen)) < 0 || (rc = key_member(c, jk, "e", &eb, &elen)) < 0)
		goto fail;
	rc = TERN_ENOMEM;
	n = BN_bin2bn(nb, (int)nlen, NULL);
	e = BN_bin2bn(eb, (int)elen, NULL);
	if (!n || !e) {
		key_err(c, "n", "out of memory");
		goto fail;
	}
	int bits = BN_num_bits(n);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		rc = key_err(c, "n", "RSA key of %d bits (%d to %d accepted)", bits, RSA_MIN_BITS, RSA_MAX_BITS);
		goto fail;
	}
	if (BN_num_bits(e) > 64 || !BN_is_odd(e) || BN_is_one(e)) {
		rc = key_err(c, "e", "not a valid RSA public exponent");
		goto fail;
	}
	rc = TERN_ECONFIG;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		key_err(c, "n", "OpenSSL refused the RSA key");
		goto fail;
	}
	rc = 0;
fail:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	free(nb);
	free(eb);
	return rc;
}

/* Builds a P-256 public key from the JWK's x and y and checks that the point is on the curve. */
static int key_ec(const struct key_ctx *c, json_t *jk, EVP_PKEY **pkey)
{
	uint8_t *x = NULL, *y = NULL;
	size_t xlen = 0, ylen = 0;
	uint8_t point[65];
	char q[QUOTE_MAX + 4];
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	int rc;

	if (json_object_get(jk, "d")) {
		rc = key_err(c, "d", "private key material in a public JWKS is refused");
		goto fail;
	}
	json_t *crv = json_object_get(jk, "crv");
	if (!crv) {
		rc = key_err(c, "crv", "missing");
		goto fail;
	}
	if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0) {
		rc = key_err(c, "crv", "unsupported curve \"%s\" (only P-256)",
		             json_is_string(crv) ? quote(json_string_value(crv), q) : "(not a string)");
		goto fail;
	}
	if ((rc = key_member(c, jk, "x", &x, &xlen)) < 0 || (rc = key_member(c, jk, "y", &y, &ylen)) < 0)
		goto fail;
	if (xlen != 32 || ylen != 32) {
		rc = key_err(c, xlen != 32 ? "x" : "y", "%zu bytes, P-256 coordinates take 32",
		             xlen != 32 ? xlen : ylen);
		goto fail;
	}
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
	    OSSL_PARAM_construct_end(),
	};
	rc = TERN_ECONFIG;
	if (!(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    !(check = EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL)) || EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(*pkey);
		*pkey = NULL;
		key_err(c, "x", "x, y is not a point on P-256");
		goto fail;
	}
	rc = 0;
fail:
	ERR_clear_error();
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	free(x);
	free(y);
	return rc;
}

/* Reads keys[index] into keys->keys[keys->n], refusing a kid seen before. */
static int key_parse(const struct key_ctx *c, json_t *jk, struct auth_keys *keys)
{
	char q[QUOTE_MAX + 4];
	struct auth_key *k = &keys->keys[keys->n];
	if (!json_is_object(jk)) {
		seterr(c->err, c->errlen, "%s: keys[%zu]: not a JSON object", c->source, c->index);
		return TERN_ECONFIG;
	}
	json_t *kid = json_object_get(jk, "kid");
	if (!kid)
		return key_err(c, "kid", "missing");
	if (!json_is_string(kid))
		return key_err(c, "kid", "not a string");
	const char *kids = json_string_value(kid);
	if (!kids[0])
		return key_err(c, "kid", "empty");
	if (json_string_length(kid) > AUTH_KID_MAX)
		return key_err(c, "kid", "longer than %d bytes", AUTH_KID_MAX);
	for (size_t i = 0; i < keys->n; i++)
		if (strcmp(keys->keys[i].kid, kids) == 0)
			return key_err(c, "kid", "duplicate key id \"%s\" (also keys[%zu])", quote(kids, q), i);

	json_t *kty = json_object_get(jk, "kty");
	if (!kty)
		return key_err(c, "kty", "missing");
	const char *ktys = json_is_string(kty) ? json_string_value(kty) : "";
	if (strcmp(ktys, "RSA") == 0)
		k->type = KEY_RSA;
	else if (strcmp(ktys, "EC") == 0)
		k->type = KEY_EC;
	else
		return key_err(c, "kty", "unsupported key type \"%s\" (RSA or EC)",
		               json_is_string(kty) ? quote(ktys, q) : "(not a string)");

	json_t *alg = json_object_get(jk, "alg");
	if (alg) {
		const char *want = k->type == KEY_RSA ? "RS256" : "ES256";
		if (!json_is_string(alg) || strcmp(json_string_value(alg), want) != 0)
			return key_err(c, "alg", "\"%s\" for a %s key (only %s)",
			               json_is_string(alg) ? quote(json_string_value(alg), q) : "(not a string)", ktys,
			               want);
	}
	json_t *use = json_object_get(jk, "use");
	if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
		return key_err(c, "use", "must be \"sig\" for a token signing key");

	int rc = k->type == KEY_RSA ? key_rsa(c, jk, &k->pkey) : key_ec(c, jk, &k->pkey);
	if (rc < 0)
		return rc;
	memcpy(k->kid, kids, json_string_length(kid) + 1);
	keys->n++;
	return 0;
}

int auth_keys_load_string(const char *json, size_t len, const char *source, struct auth_keys **out, char *err,
                          size_t errlen)
{
	json_error_t jerr;
	struct auth_keys *keys = NULL;
	json_t *root = NULL;
	int rc = TERN_ECONFIG;

	if (len > AUTH_JWKS_MAX) {
		seterr(err, errlen, "%s: larger than %u bytes", source, AUTH_JWKS_MAX);
		goto fail;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		seterr(err, errlen, "%s:%d: not valid JSON: %s", source, jerr.line, jerr.text);
		goto fail;
	}
	json_t *list = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(list)) {
		seterr(err, errlen, "%s: keys: a JWKS is an object with a \"keys\" array", source);
		goto fail;
	}
	if (json_array_size(list) == 0) {
		seterr(err, errlen, "%s: keys: no keys", source);
		goto fail;
	}
	rc = TERN_ENOMEM;
	keys = calloc(1, sizeof(*keys));
	if (!keys || !(keys->keys = calloc(json_array_size(list), sizeof(*keys->keys)))) {
		seterr(err, errlen, "%s: out of memory", source);
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		struct key_ctx c = {source, i, err, errlen};
		if ((rc = key_parse(&c, json_array_get(list, i), keys)) < 0)
			goto fail;
	}
	json_decref(root);
	*out = keys;
	return 0;
fail:
	json_decref(root);
	auth_keys_free(keys);
	return rc;
}

int auth_keys_load(const char *path, struct auth_keys **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rc = TERN_EIO;
	if (!f) {
		seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	rc = TERN_ENOMEM;
	buf = malloc(AUTH_JWKS_MAX + 1);
	if (!buf) {
		seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	n = fread(buf, 1, AUTH_JWKS_MAX + 1, f);
	if (ferror(f)) {
		rc = TERN_EIO;
		seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
		goto fail;
	}
	rc = auth_keys_load_string(buf, n, path, out, err, errlen);
fail:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

void auth_keys_free(struct auth_keys *keys)
{
	if (!keys)
		return;
	for (size_t i = 0; i < keys->n; i++)
		EVP_PKEY_free(keys->keys[i].pkey);
	free(keys->keys);
	free(keys);
}

size_t auth_keys_count(const struct auth_keys *keys)
{
	return keys ? keys->n : 0;
}

/* ---- token verification ---- */

/* Checks the signature over header.payload with the key's algorithm. */
static bool sig_ok(const struct auth_key *k, const char *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	bool ok = false;

	if (k->type == KEY_RSA) {
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
	if (k->type == KEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
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
	int rc = b64url_decode(s, len, &raw, &rawlen);
	if (rc == TERN_ENOMEM) {
		seterr(err, errlen, "out of memory");
		return rc;
	}
	if (rc < 0) {
		seterr(err, errlen, "malformed token: %s is not valid base64url", what);
		return TERN_EINVAL;
	}
	*out = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (!*out || !json_is_object(*out)) {
		seterr(err, errlen, "malformed token: %s is not a JSON object%s%s", what, *out ? "" : ": ",
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
		seterr(err, errlen, "%s claim is not a number", name);
		return TERN_EINVAL;
	}
	*val = json_number_value(v);
	if (!(*val >= -TIME_LIMIT && *val <= TIME_LIMIT)) {
		seterr(err, errlen, "%s claim is out of range", name);
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
		seterr(err, errlen, "token has no exp claim");
		return TERN_EINVAL;
	}
	if (exp <= t - AUTH_LEEWAY) {
		format_time(exp, when);
		seterr(err, errlen, "token expired at %s", when);
		return TERN_EINVAL;
	}
	if ((rc = claim_time(payload, "nbf", &present, &nbf, err, errlen)) < 0)
		return rc;
	if (present && nbf > t + AUTH_LEEWAY) {
		format_time(nbf, when);
		seterr(err, errlen, "token not valid before %s", when);
		return TERN_EINVAL;
	}
	if ((rc = claim_time(payload, "iat", &present, &iat, err, errlen)) < 0)
		return rc;
	if (present && iat > t + AUTH_LEEWAY) {
		format_time(iat, when);
		seterr(err, errlen, "token issued in the future (iat %s)", when);
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
	return NULL;
}

static int check_subject(json_t *payload, struct auth_principal *out, char *err, size_t errlen)
{
	json_t *sub = json_object_get(payload, "sub");
	if (!sub) {
		seterr(err, errlen, "token has no sub claim");
		return TERN_EINVAL;
	}
	if (!json_is_string(sub)) {
		seterr(err, errlen, "sub claim is not a string");
		return TERN_EINVAL;
	}
	const char *s = json_string_value(sub), *why;
	size_t len = json_string_length(sub);
	if ((why = auth_tenant_problem(s, len)) != NULL) {
		seterr(err, errlen, "sub claim %s", why);
		return TERN_EINVAL;
	}
	memcpy(out->tenant, s, len + 1);

	json_t *role = json_object_get(payload, "role");
	if (role && !json_is_string(role)) {
		seterr(err, errlen, "role claim is not a string");
		return TERN_EINVAL;
	}
	out->admin = role && strcmp(json_string_value(role), "admin") == 0;
	return 0;
}

/* Why text is not a name a scope may hold, or NULL when it is one: the rules of name_from_text()
 * (escapes \X and \DDD, labels of 1 to 63 octets, at most 255 octets in all, trailing dot
 * optional), named for the token's 401, and what a scope refuses besides: the root, characters
 * that presentation form writes escaped (space, controls, non-ASCII) and '*' other than as a
 * leading wildcard label. text follows the "*." when wild; zone tells a zone from a name. */
static const char *scope_name_problem(const char *text, bool zone, bool wild)
{
	size_t octets = 1, label = 0; /* wire octets so far (the root's included), octets of this label */
	if (!*text)
		return wild ? "a wildcard needs a suffix (*.example.com)" : "empty";
	if (strcmp(text, ".") == 0)
		return wild ? "a wildcard over every name is not a scope" : "the root is not a scope";
	if (strcmp(text, "@") == 0)
		return "\"@\" has no origin in a scope";
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (label == 0)
				return "empty label";
			octets += label + 1;
			label = 0;
			continue;
		}
		if (c >= 0x80)
			return "non-ASCII character (write an IDN as its A-label, xn--...)";
		if (c <= 0x20 || c == 0x7f)
			return "space or control character (write it escaped, \\DDD)";
		if (c == '*')
			return zone ? "'*' in a zone name (a literal asterisk is written \\*)"
			            : "'*' is a wildcard only as the whole first label (a literal asterisk is written "
			              "\\*)";
		if (c == '\\') {
			if (p[1] >= '0' && p[1] <= '9') {
				if (!(p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9') ||
				    (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0') > 255)
					return "bad escape (\\DDD takes three digits, at most 255)";
				p += 3;
			} else if (p[1]) {
				p++;
			} else {
				return "bad escape (a backslash ends the name)";
			}
		}
		if (++label > NAME_MAXLABEL)
			return "label longer than 63 octets";
	}
	if (label)
		octets += label + 1;
	if (octets > NAME_MAXLEN)
		return "longer than 255 octets in wire form";
	return NULL;
}

/* One name of the scope (a zone when zone is true) in lower-case wire form, parsed by the library's
 * name parser; "*.suffix" makes a wild entry for the names list. On TERN_EINVAL *why says why. */
static int scope_name(const char *s, bool zone, struct auth_scope_name *out, const char **why)
{
	uint8_t wire[NAME_MAXLEN];
	bool wild = !zone && s[0] == '*' && (s[1] == '.' || !s[1]);
	const char *text = wild ? s + (s[1] ? 2 : 1) : s;
	if ((*why = scope_name_problem(text, zone, wild)) != NULL)
		return TERN_EINVAL;
	int len = name_from_text(wire, text, NULL); /* no origin: relative text is taken as absolute */
	if (len <= 1) {
		*why = "not a domain name";
		return TERN_EINVAL;
	}
	name_lower(wire);
	if (!(out->name = malloc((size_t)len)))
		return TERN_ENOMEM;
	memcpy(out->name, wire, (size_t)len);
	out->wild = wild;
	return 0;
}

/* A type of the scope: a mnemonic ("TXT") or TYPEn (RFC 3597). */
static int scope_type(const char *s, struct auth_scope_type *t)
{
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof(t->name))
		return TERN_EINVAL;
	if (len > 4 && strncasecmp(s, "TYPE", 4) == 0 && strspn(s + 4, "0123456789") == len - 4) {
		unsigned long v = len - 4 <= 5 ? strtoul(s + 4, NULL, 10) : 0;
		if (v == 0 || v > 65535)
			return TERN_EINVAL;
		t->code = (uint16_t)v;
		return 0;
	}
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return TERN_EINVAL;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return TERN_EINVAL;
		t->name[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
	}
	t->name[len] = 0;
	return 0;
}

/* Reads one list of the scope (zones, names or types) into its array. */
static int scope_list(json_t *scope, const char *field, struct auth_scope *sc, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4];
	json_t *list = json_object_get(scope, field);
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		seterr(err, errlen, "scope.%s is not an array", field);
		return TERN_EINVAL;
	}
	size_t n = json_array_size(list);
	bool types = field[0] == 't', names = field[0] == 'n';
	void *items = calloc(n ? n : 1, types ? sizeof(struct auth_scope_type) : sizeof(struct auth_scope_name));
	if (!items) {
		seterr(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	if (types) {
		sc->has_types = true;
		sc->types = items;
	} else if (names) {
		sc->has_names = true;
		sc->names = items;
	} else {
		sc->has_zones = true;
		sc->zones = items;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(list, i);
		if (!json_is_string(v)) {
			seterr(err, errlen, "scope.%s[%zu] is not a string", field, i);
			return TERN_EINVAL;
		}
		const char *s = json_string_value(v), *why = NULL;
		int rc = types ? scope_type(s, &sc->types[i])
		               : scope_name(s, !names, names ? &sc->names[i] : &sc->zones[i], &why);
		if (rc == TERN_ENOMEM) {
			seterr(err, errlen, "out of memory");
			return rc;
		}
		if (rc < 0) {
			seterr(err, errlen, "scope.%s[%zu]: \"%s\" is not %s%s%s", field, i, quote(s, q),
			       types   ? "an RR type"
			       : names ? "a domain name or *.suffix"
			               : "a domain name",
			       why ? ": " : "", why ? why : "");
			return TERN_EINVAL;
		}
		if (types)
			sc->ntypes++;
		else if (names)
			sc->nnames++;
		else
			sc->nzones++;
	}
	return 0;
}

static int check_scope(json_t *payload, struct auth_principal *out, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 4];
	json_t *scope = json_object_get(payload, "scope");
	if (!scope)
		return 0;
	if (!json_is_object(scope)) {
		seterr(err, errlen, "scope claim is not an object");
		return TERN_EINVAL;
	}
	const char *key;
	json_t *v;
	/* An ignored restriction would widen the token: refuse what is not understood. */
	json_object_foreach(scope, key, v)
	{
		if (strcmp(key, "read_only") && strcmp(key, "zones") && strcmp(key, "names") && strcmp(key, "types")) {
			seterr(err, errlen, "scope has unknown field \"%s\"", quote(key, q));
			return TERN_EINVAL;
		}
	}
	json_t *ro = json_object_get(scope, "read_only");
	if (ro && !json_is_boolean(ro)) {
		seterr(err, errlen, "scope.read_only is not a boolean");
		return TERN_EINVAL;
	}
	out->scope.read_only = json_is_true(ro);
	int rc;
	if ((rc = scope_list(scope, "zones", &out->scope, err, errlen)) < 0 ||
	    (rc = scope_list(scope, "names", &out->scope, err, errlen)) < 0 ||
	    (rc = scope_list(scope, "types", &out->scope, err, errlen)) < 0)
		return rc;
	return 0;
}

/* Reads the header: alg first (so "none" and HS* are named as such), then crit, then the key. */
static int check_header(const struct auth_keys *keys, json_t *header, const struct auth_key **key, char *err,
                        size_t errlen)
{
	char q[QUOTE_MAX + 4];
	json_t *alg = json_object_get(header, "alg");
	if (!alg || !json_is_string(alg)) {
		seterr(err, errlen, "malformed token: header has no alg string");
		return TERN_EINVAL;
	}
	const char *algs = json_string_value(alg);
	if (strcasecmp(algs, "none") == 0) {
		seterr(err, errlen, "algorithm none is not accepted");
		return TERN_EINVAL;
	}
	if (strcmp(algs, "RS256") != 0 && strcmp(algs, "ES256") != 0) {
		seterr(err, errlen, "algorithm %s is not accepted (only RS256 and ES256)", quote(algs, q));
		return TERN_EINVAL;
	}
	if (json_object_get(header, "crit")) {
		seterr(err, errlen, "header crit is not supported");
		return TERN_EINVAL;
	}
	json_t *kid = json_object_get(header, "kid");
	if (!kid) {
		seterr(err, errlen, "token header has no kid");
		return TERN_EINVAL;
	}
	if (!json_is_string(kid)) {
		seterr(err, errlen, "token header kid is not a string");
		return TERN_EINVAL;
	}
	const char *kids = json_string_value(kid);
	*key = NULL;
	for (size_t i = 0; keys && i < keys->n && !*key; i++)
		if (strcmp(keys->keys[i].kid, kids) == 0)
			*key = &keys->keys[i];
	if (!*key) {
		seterr(err, errlen, "unknown key id \"%s\"", quote(kids, q));
		return TERN_EINVAL;
	}
	enum key_type want = algs[0] == 'R' ? KEY_RSA : KEY_EC;
	if ((*key)->type != want) {
		seterr(err, errlen, "algorithm %s does not match key \"%s\" (an %s key)", algs, quote(kids, q),
		       (*key)->type == KEY_RSA ? "RSA" : "EC");
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
		seterr(err, errlen, "no token");
		goto fail;
	}
	size_t len = strnlen(token, AUTH_TOKEN_MAX + 1);
	if (len > AUTH_TOKEN_MAX) {
		seterr(err, errlen, "token too long (more than %d bytes)", AUTH_TOKEN_MAX);
		goto fail;
	}
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
		size_t parts = 1;
		for (size_t i = 0; i < len; i++)
			parts += token[i] == '.';
		seterr(err, errlen, "malformed token: expected 3 dot-separated parts, found %zu", parts);
		goto fail;
	}
	if ((rc = part_json(token, (size_t)(dot1 - token), "header", &header, err, errlen)) < 0 ||
	    (rc = check_header(keys, header, &key, err, errlen)) < 0)
		goto fail;
	rc = b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &siglen);
	if (rc < 0) {
		seterr(err, errlen,
		       rc == TERN_ENOMEM ? "out of memory" : "malformed token: signature is not valid base64url");
		goto fail;
	}
	rc = TERN_EINVAL;
	if (!sig_ok(key, token, (size_t)(dot2 - token), sig, siglen)) {
		seterr(err, errlen, "bad signature (key \"%s\")", key->kid);
		goto fail;
	}
	/* Only now, authenticated, are the claims read. */
	if ((rc = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", &payload, err, errlen)) < 0 ||
	    (rc = check_times(payload, now, out, err, errlen)) < 0 ||
	    (rc = check_subject(payload, out, err, errlen)) < 0 || (rc = check_scope(payload, out, err, errlen)) < 0)
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

static void scope_names_free(struct auth_scope_name *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i].name);
	free(list);
}

void auth_principal_free(struct auth_principal *p)
{
	if (!p)
		return;
	scope_names_free(p->scope.zones, p->scope.nzones);
	scope_names_free(p->scope.names, p->scope.nnames);
	free(p->scope.types);
	memset(p, 0, sizeof(*p));
}

/* A deep copy of a names list; on failure *ok is false and the entries not copied are NULL. */
static struct auth_scope_name *copy_names(const struct auth_scope_name *src, size_t n, bool *ok)
{
	if (!src)
		return NULL;
	struct auth_scope_name *dst = calloc(n ? n : 1, sizeof(*dst));
	if (!dst) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = name_len(src[i].name);
		dst[i].wild = src[i].wild;
		if ((dst[i].name = malloc(len)) != NULL)
			memcpy(dst[i].name, src[i].name, len);
		else
			*ok = false;
	}
	return dst;
}

int auth_principal_copy(struct auth_principal *dst, const struct auth_principal *src)
{
	bool ok = true;
	*dst = *src;
	dst->scope.zones = copy_names(src->scope.zones, src->scope.nzones, &ok);
	dst->scope.names = copy_names(src->scope.names, src->scope.nnames, &ok);
	dst->scope.types = NULL;
	if (src->scope.types) {
		size_t size = (src->scope.ntypes ? src->scope.ntypes : 1) * sizeof(*src->scope.types);
		if ((dst->scope.types = malloc(size)) != NULL)
			memcpy(dst->scope.types, src->scope.types, size);
		else
			ok = false;
	}
	if (!ok) {
		auth_principal_free(dst);
		return TERN_ENOMEM;
	}
	return 0;
}

/* ---- scope decisions ---- */

/* Whether an entry of the scope covers a wire-form name: the same labels (ASCII case ignored), or
 * for a wild entry one or more labels more in front of them. */
static bool name_matches(const struct auth_scope_name *e, const uint8_t *name)
{
	if (e->wild)
		return name_labels(name) > name_labels(e->name) && name_in(name, e->name);
	return name_equal(name, e->name);
}

static bool listed(const struct auth_scope_name *list, size_t n, const uint8_t *name)
{
	for (size_t i = 0; i < n; i++)
		if (name_matches(&list[i], name))
			return true;
	return false;
}

static bool type_listed(const struct auth_scope *s, uint16_t type)
{
	char buf[16];
	const char *mnemonic = rr_type_name(type, buf);
	for (size_t i = 0; i < s->ntypes; i++)
		if (s->types[i].code ? s->types[i].code == type : strcasecmp(s->types[i].name, mnemonic) == 0)
			return true;
	return false;
}

bool auth_allows(const struct auth_principal *p, const uint8_t *zone, const uint8_t *name, uint16_t type, bool write)
{
	const struct auth_scope *s = &p->scope;
	/* Wider than one zone, one name or one type: allowed to read only where the scope does not
	 * bound that dimension; the caller filters item by item. */
	bool partial = false;
	if (write && s->read_only)
		return false;
	if (zone) {
		if (s->has_zones && !listed(s->zones, s->nzones, zone))
			return false;
	} else {
		partial |= s->has_zones;
		if (name && s->has_zones)
			return false;
	}
	if (name) {
		if (s->has_names && !listed(s->names, s->nnames, name))
			return false;
	} else {
		partial |= s->has_names;
	}
	if (name && type) {
		if (s->has_types && !type_listed(s, type))
			return false;
	} else {
		partial |= s->has_types;
	}
	return !(write && partial);
}
