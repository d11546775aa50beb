/* The JWKS: a JSON Web Key Set of RSA (2048 to 16384 bits) and EC P-256 public keys read into OpenSSL
 * keys, each under a unique kid; private key material, weak or off-curve keys are refused. */
#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "ternd/api/auth.h"
#include "ternd/api/auth_impl.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384

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
	auth_seterr(c->err, c->errlen, "%s: keys[%zu]: %s: %s", c->source, c->index, field, msg);
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
	int rc = auth_b64url_decode(json_string_value(v), json_string_length(v), out, len);
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
	char q[AUTH_QUOTE_MAX + 4];
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
		             json_is_string(crv) ? auth_quote(json_string_value(crv), q) : "(not a string)");
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
	char q[AUTH_QUOTE_MAX + 4];
	struct auth_key *k = &keys->keys[keys->n];
	if (!json_is_object(jk)) {
		auth_seterr(c->err, c->errlen, "%s: keys[%zu]: not a JSON object", c->source, c->index);
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
			return key_err(c, "kid", "duplicate key id \"%s\" (also keys[%zu])", auth_quote(kids, q), i);

	json_t *kty = json_object_get(jk, "kty");
	if (!kty)
		return key_err(c, "kty", "missing");
	const char *ktys = json_is_string(kty) ? json_string_value(kty) : "";
	if (strcmp(ktys, "RSA") == 0)
		k->type = AUTH_KEY_RSA;
	else if (strcmp(ktys, "EC") == 0)
		k->type = AUTH_KEY_EC;
	else
		return key_err(c, "kty", "unsupported key type \"%s\" (RSA or EC)",
		               json_is_string(kty) ? auth_quote(ktys, q) : "(not a string)");

	json_t *alg = json_object_get(jk, "alg");
	if (alg) {
		const char *want = k->type == AUTH_KEY_RSA ? "RS256" : "ES256";
		if (!json_is_string(alg) || strcmp(json_string_value(alg), want) != 0)
			return key_err(c, "alg", "\"%s\" for a %s key (only %s)",
			               json_is_string(alg) ? auth_quote(json_string_value(alg), q) : "(not a string)",
			               ktys, want);
	}
	json_t *use = json_object_get(jk, "use");
	if (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
		return key_err(c, "use", "must be \"sig\" for a token signing key");

	int rc = k->type == AUTH_KEY_RSA ? key_rsa(c, jk, &k->pkey) : key_ec(c, jk, &k->pkey);
	if (rc < 0)
		return rc;
	memcpy(k->kid, kids, json_string_length(kid) + 1);
	keys->n++;
	return 0;
}

/* The set in json; with skip, a key that cannot be used is reported to skip and left out (the rest
 * are used), else it refuses the set. */
static int keys_parse(const char *json, size_t len, const char *source, auth_skip_fn skip, void *arg,
                      struct auth_keys **out, char *err, size_t errlen)
{
	json_error_t jerr;
	struct auth_keys *keys = NULL;
	json_t *root = NULL;
	int rc = TERN_ECONFIG;

	if (len > AUTH_JWKS_MAX) {
		auth_seterr(err, errlen, "%s: larger than %u bytes", source, AUTH_JWKS_MAX);
		goto fail;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		auth_seterr(err, errlen, "%s:%d: not valid JSON: %s", source, jerr.line, jerr.text);
		goto fail;
	}
	json_t *list = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(list)) {
		auth_seterr(err, errlen, "%s: keys: a JWKS is an object with a \"keys\" array", source);
		goto fail;
	}
	if (json_array_size(list) == 0) {
		auth_seterr(err, errlen, "%s: keys: no keys", source);
		goto fail;
	}
	rc = TERN_ENOMEM;
	keys = calloc(1, sizeof(*keys));
	if (!keys || !(keys->keys = calloc(json_array_size(list), sizeof(*keys->keys)))) {
		auth_seterr(err, errlen, "%s: out of memory", source);
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		struct key_ctx c = {source, i, err, errlen};
		if ((rc = key_parse(&c, json_array_get(list, i), keys)) == TERN_ECONFIG && skip) {
			skip(arg, err);
			continue;
		}
		if (rc < 0)
			goto fail;
	}
	if (keys->n == 0) {
		rc = TERN_ECONFIG;
		auth_seterr(err, errlen, "%s: keys: no key that can verify a token", source);
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

int auth_keys_load_string(const char *json, size_t len, const char *source, struct auth_keys **out, char *err,
                          size_t errlen)
{
	return keys_parse(json, len, source, NULL, NULL, out, err, errlen);
}

int auth_keys_load_lenient(const char *json, size_t len, const char *source, auth_skip_fn skip, void *arg,
                           struct auth_keys **out, char *err, size_t errlen)
{
	return keys_parse(json, len, source, skip, arg, out, err, errlen);
}

int auth_keys_load(const char *path, struct auth_keys **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	int rc = TERN_EIO;
	if (!f) {
		auth_seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	rc = TERN_ENOMEM;
	buf = malloc(AUTH_JWKS_MAX + 1);
	if (!buf) {
		auth_seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	n = fread(buf, 1, AUTH_JWKS_MAX + 1, f);
	if (ferror(f)) {
		rc = TERN_EIO;
		auth_seterr(err, errlen, "%s: cannot read: %s", path, strerror(errno ? errno : EIO));
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

bool auth_keys_has(const struct auth_keys *keys, const char *kid)
{
	for (size_t i = 0; keys && i < keys->n; i++)
		if (strcmp(keys->keys[i].kid, kid) == 0)
			return true;
	return false;
}

long auth_jwks_max_age(const char *value)
{
	for (const char *p = value; (p = strcasestr(p, "max-age")) != NULL; p += 7) {
		const char *v = p + 7;
		while (*v == ' ')
			v++;
		if (*v != '=')
			continue;
		v++;
		while (*v == ' ')
			v++;
		if (*v < '0' || *v > '9')
			continue;
		char *end;
		long s = strtol(v, &end, 10); /* LONG_MAX when longer: as long as the configured max age */
		if (end != v && s >= 0)
			return s;
	}
	return -1;
}
