/* API authentication, the interface of auth_jwks.c (trusted signing keys), auth_token.c (RS256/ES256
 * bearer tokens, the principal they yield) and auth_scope.c (its deSEC-style scope and decision). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AUTH_TOKEN_MAX 8192 /* bytes; a longer bearer token is refused before it is decoded */
#define AUTH_JWKS_MAX (1u << 20) /* bytes of a JWKS file */
#define AUTH_KID_MAX 128 /* bytes of a key id */
#define AUTH_TENANT_MAX 128 /* bytes of the sub claim, the tenant id */
#define AUTH_LEEWAY 30 /* seconds of clock skew allowed on exp, nbf and iat */

/* The trusted public keys, immutable once loaded; may be shared by any number of threads. */
struct auth_keys;

/* One entry of a scope's types list: a mnemonic ("TXT") or, written TYPEn, a number. */
struct auth_scope_type {
	uint16_t code; /* nonzero when given as TYPEn */
	char name[16]; /* upper case mnemonic when code is 0 */
};

/* One entry of a scope's zones or names list, parsed once when the token is accepted: a domain
 * name in lower-case wire form; wild ("*.suffix" in the claim) stands for every name strictly
 * below it. Zones are never wild. */
struct auth_scope_name {
	bool wild;
	uint8_t *name; /* malloc'd, name_len() octets */
};

#define AUTH_SERVICE_ID_LEN 36 /* a service id: a UUID in lower-case text */
#define AUTH_INGRESS_MAX 64 /* services one ingress token may name */

/* The scope claim. A list that is absent (has_* false) does not limit; a present list permits
 * exactly its entries (an empty one permits nothing). An ingress list makes an ingress token: it
 * reads only GET /api/v1/services/{id}/ingress of the services listed (its tenant's), and nothing
 * else (auth_allows() refuses it everything; api_authenticate() refuses it on every other route). */
struct auth_scope {
	bool read_only;
	bool has_zones, has_names, has_types, has_ingress;
	size_t nzones, nnames, ntypes, ningress;
	struct auth_scope_name *zones;
	struct auth_scope_name *names;
	struct auth_scope_type *types;
	char (*ingress)[AUTH_SERVICE_ID_LEN + 1];
};

/* Who a verified token speaks for. auth_verify() allocates the scope lists: release them with
 * auth_principal_free(), which is also safe on a principal auth_verify() refused (it is zeroed). */
struct auth_principal {
	char tenant[AUTH_TENANT_MAX + 1]; /* the sub claim */
	char kid[AUTH_KID_MAX + 1]; /* the key that signed the token (for audit logs) */
	bool admin; /* "role": "admin": may act across tenants */
	time_t expires; /* the exp claim */
	struct auth_scope scope;
};

/* Loads a JWKS file ({"keys": [...]}) of RSA (>= 2048 bits) and EC P-256 public keys, each with a
 * unique kid. Returns 0 and *out, or TERN_EIO (cannot read), TERN_ECONFIG (bad content, with
 * "file: keys[i]: field: reason" in err) or TERN_ENOMEM; *out is untouched on failure. */
int auth_keys_load(const char *path, struct auth_keys **out, char *err, size_t errlen);
/* The same for a JWKS held in memory; source names it in messages. */
int auth_keys_load_string(const char *json, size_t len, const char *source, struct auth_keys **out, char *err,
                          size_t errlen);
/* A key set fetched from an identity provider: a key that cannot be used (a bad field, private
 * material, "use" other than "sig", a kid seen before) is passed to skip with its reason and left
 * out; the set is refused only when it is not a JWKS or no key is left. */
typedef void (*auth_skip_fn)(void *arg, const char *why);
int auth_keys_load_lenient(const char *json, size_t len, const char *source, auth_skip_fn skip, void *arg,
                           struct auth_keys **out, char *err, size_t errlen);
/* The max-age of a key set's Cache-Control header value (untrusted: the provider's), in seconds,
 * or -1 when it has none that parses. */
long auth_jwks_max_age(const char *cache_control);
/* Whether keys hold a key with this id. */
bool auth_keys_has(const struct auth_keys *keys, const char *kid);
void auth_keys_free(struct auth_keys *keys);
/* Number of keys loaded. */
size_t auth_keys_count(const struct auth_keys *keys);

/* Verifies a compact JWS (the bearer token, without "Bearer ") at time now: RS256 or ES256 only,
 * signed by the key its kid names, exp/nbf/iat within AUTH_LEEWAY, a string sub, a well formed
 * scope. Returns 0 and fills *out, or TERN_EINVAL with the reason in err (answer 401),
 * TERN_ENOTFOUND when the kid is not among keys (401 too; a fetched set may be fetched again) or
 * TERN_ENOMEM (answer 500); on failure *out is zeroed. */
int auth_verify(const struct auth_keys *keys, const char *token, time_t now, struct auth_principal *out, char *err,
                size_t errlen);
void auth_principal_free(struct auth_principal *p);
/* Why s (len bytes) cannot name a tenant, or NULL: empty, longer than AUTH_TENANT_MAX, or holding a
 * control character. The sub claim and the legacy X-Tenant-ID header obey the same rule. */
const char *auth_tenant_problem(const char *s, size_t len);
/* A deep copy (release with auth_principal_free); TERN_ENOMEM leaves dst empty. */
int auth_principal_copy(struct auth_principal *dst, const struct auth_principal *src);

/* Whether the token's scope permits an operation; tenant ownership is the caller's business.
 * zone and name are wire-form names (as the request's parsers made them), compared label by label
 * ignoring ASCII case: a text form never decides. zone NULL: not tied to one zone (list zones);
 * name NULL: the zone as a whole (show, create, delete, lock); type 0: every type at name. Such a
 * wider operation may be read when the scope covers it only in part (the caller then filters item
 * by item with further calls) but never written. A read_only scope never writes. */
bool auth_allows(const struct auth_principal *p, const uint8_t *zone, const uint8_t *name, uint16_t type, bool write);
/* Whether an ingress token (scope.ingress) names service (its id); false for any other token. */
bool auth_ingress_allows(const struct auth_principal *p, const char *service);
