/* libFuzzer harness for bearer tokens, the API's first unauthenticated input: auth_verify() against
 * the fuzz key set of fuzz_token_keys.h, on the input as a token (mode 0) or on header and claims
 * the harness signs with ec1 (mode 1, so the claims and scope parsers behind the signature run). */
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_jose.h"
#include "fuzz_token_keys.h"
#include "lib/error.h"
#include "lib/name.h"
#include "ternd/api/auth.h"

#define ERRLEN 256
#define CHECKED_NAMES 8 /* scope entries whose decisions are checked, per list */

static struct auth_keys *keys;
static EVP_PKEY *rsa1, *ec1, *ec2; /* the harness's own copies, from PEM (ec2: public only) */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_token: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[ERRLEN];
	if (auth_keys_load_string(fuzz_jwks, strlen(fuzz_jwks), "fuzz_token_keys.h", &keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_token: the fuzz JWKS is refused: %s\n", err);
		abort();
	}
	rsa1 = fuzz_pem_key(fuzz_rsa1_pem, true);
	ec1 = fuzz_pem_key(fuzz_ec1_pem, true);
	ec2 = fuzz_pem_key(fuzz_ec2_public_pem, false);
	return 0;
}

/* ---- the harness's own JOSE, independent of auth_token.c (with fuzz_jose.h) ---- */

/* Whether tok's signature verifies, by OpenSSL alone, with the key its header names: rsa1 for
 * RS256, ec1 or ec2 for ES256 (the harness's PEM copies, not the JWKS auth_jwks.c read). */
static bool independently_signed(const char *tok, const char **kid_out)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	uint8_t *hdr = NULL, *sig = NULL;
	size_t hlen, slen;
	bool ok = false;
	static char kid[AUTH_KID_MAX + 1];
	if (!d2 || strchr(d2 + 1, '.') || !fuzz_b64url_decode(tok, (size_t)(d1 - tok), &hdr, &hlen))
		return false;
	json_t *h = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, NULL);
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *k = json_string_value(json_object_get(h, "kid"));
	EVP_PKEY *key = NULL;
	if (alg && k && strcmp(alg, "RS256") == 0 && strcmp(k, "rsa1") == 0)
		key = rsa1;
	else if (alg && k && strcmp(alg, "ES256") == 0 && strcmp(k, "ec1") == 0)
		key = ec1;
	else if (alg && k && strcmp(alg, "ES256") == 0 && strcmp(k, "ec2") == 0)
		key = ec2;
	if (key && fuzz_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &slen)) {
		uint8_t der[80], *dp = der;
		const uint8_t *s = sig;
		size_t sl = slen;
		if (key != rsa1) {
			ECDSA_SIG *es = ECDSA_SIG_new();
			BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
			if (slen != 64 || !es || !ECDSA_SIG_set0(es, r, ss)) {
				BN_free(r);
				BN_free(ss);
				ECDSA_SIG_free(es);
				goto out;
			}
			int n = i2d_ECDSA_SIG(es, &dp);
			ECDSA_SIG_free(es);
			if (n <= 0)
				goto out;
			s = der;
			sl = (size_t)n;
		}
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md && EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
		     EVP_DigestVerify(md, s, sl, (const uint8_t *)tok, (size_t)(d2 - tok)) == 1;
		EVP_MD_CTX_free(md);
		snprintf(kid, sizeof(kid), "%s", k);
		*kid_out = kid;
	}
out:
	json_decref(h);
	free(hdr);
	free(sig);
	return ok;
}

/* ---- invariants of an accepted token ---- */

static bool lower_case(const uint8_t *name)
{
	uint8_t copy[NAME_MAXLEN];
	size_t len = name_len(name);
	name_lower_copy(copy, name, len);
	return memcmp(copy, name, len) == 0;
}

static void check_names(const struct auth_scope_name *list, size_t n, bool zones)
{
	if (n && !list)
		fail("a scope list with entries but no array");
	for (size_t i = 0; i < n; i++) {
		if (!list[i].name || name_check(list[i].name, NAME_MAXLEN) < 0)
			fail("a scope name that is not a wire name");
		if (list[i].name[0] == 0)
			fail("the root in a scope");
		if (!lower_case(list[i].name))
			fail("a scope name not in lower case");
		if (zones && list[i].wild)
			fail("a wild zone");
	}
}

/* A principal of the one scope name e, nothing else bounded. */
static bool allows_one(const struct auth_scope_name *e, const uint8_t *name)
{
	struct auth_principal q = {0};
	q.scope.has_names = true;
	q.scope.nnames = 1;
	q.scope.names = (struct auth_scope_name *)e;
	return auth_allows(&q, e->name, name, 16, true);
}

/* Each name entry decides by labels: itself only when exact, only what lies below when wild; a
 * child written with an escaped dot (one label "x.<first label>") is neither. */
static void check_decisions(const struct auth_scope_name *e)
{
	uint8_t child[NAME_MAXLEN], merged[NAME_MAXLEN], upper[NAME_MAXLEN];
	size_t len = name_len(e->name);
	if (allows_one(e, e->name) != !e->wild)
		fail("a scope name does not decide its own name as exact/wild says");
	if (len + 2 > NAME_MAXLEN)
		return;
	child[0] = 1;
	child[1] = 'X';
	memcpy(child + 2, e->name, len);
	if (allows_one(e, child) != e->wild)
		fail("a scope name does not decide a child as exact/wild says");
	name_lower_copy(upper, child, len + 2);
	for (size_t i = 0; i < len + 2; i++)
		if (upper[i] >= 'a' && upper[i] <= 'z')
			upper[i] = (uint8_t)(upper[i] - 32);
	if (allows_one(e, upper) != e->wild)
		fail("case changes a scope decision");
	if (e->name[0] + 2 <= NAME_MAXLABEL) { /* [x.<label 1>][rest]: the label count of e, not e */
		merged[0] = (uint8_t)(e->name[0] + 2);
		merged[1] = 'x';
		merged[2] = '.';
		memcpy(merged + 3, e->name + 1, len - 1);
		if (allows_one(e, merged))
			fail("a name with an escaped dot passes a scope name it is not under");
	}
}

static void check_accepted(const char *tok, const struct auth_principal *p, bool signed_by_ec1)
{
	const char *kid = NULL;
	if (!independently_signed(tok, &kid))
		fail("accepted a token whose signature does not verify with the key its header names");
	if (strcmp(p->kid, kid) != 0)
		fail("the principal's kid is not the header's");
	if (signed_by_ec1 && strcmp(kid, "ec1") != 0)
		fail("a token signed by ec1 was accepted under another key id");
	if (auth_tenant_problem(p->tenant, strlen(p->tenant)))
		fail("accepted a tenant that auth_tenant_problem() refuses");
	if (p->expires + AUTH_LEEWAY <= FUZZ_NOW)
		fail("accepted an expired token");
	const struct auth_scope *s = &p->scope;
	check_names(s->zones, s->nzones, true);
	check_names(s->names, s->nnames, false);
	if (s->has_zones != (s->zones != NULL) || s->has_names != (s->names != NULL) ||
	    s->has_types != (s->types != NULL))
		fail("has_* disagrees with the lists");
	for (size_t i = 0; i < s->ntypes; i++)
		if (!s->types[i].code && !s->types[i].name[0])
			fail("an empty scope type");
	for (size_t i = 0; i < s->nnames && i < CHECKED_NAMES; i++)
		check_decisions(&s->names[i]);
	if (s->read_only && auth_allows(p, NULL, NULL, 0, true))
		fail("a read-only scope writes");
	if (s->has_ingress != (s->ingress != NULL) || s->ningress > AUTH_INGRESS_MAX)
		fail("has_ingress disagrees with the list");
	if (s->has_ingress && (s->has_zones || s->has_names || s->has_types || auth_allows(p, NULL, NULL, 0, false)))
		fail("an ingress token is allowed more than its route");
	for (size_t i = 0; i < s->ningress; i++)
		if (strlen(s->ingress[i]) != AUTH_SERVICE_ID_LEN || !auth_ingress_allows(p, s->ingress[i]))
			fail("an ingress entry is not a service id it allows");

	struct auth_principal c;
	if (auth_principal_copy(&c, p) != 0)
		return; /* out of memory */
	bool same = strcmp(c.tenant, p->tenant) == 0 && strcmp(c.kid, p->kid) == 0 && c.admin == p->admin &&
	            c.expires == p->expires && c.scope.nzones == s->nzones && c.scope.nnames == s->nnames &&
	            c.scope.ntypes == s->ntypes && c.scope.read_only == s->read_only &&
	            c.scope.ningress == s->ningress && c.scope.has_ingress == s->has_ingress;
	for (size_t i = 0; same && i < s->ningress; i++)
		same = strcmp(c.scope.ingress[i], s->ingress[i]) == 0;
	for (size_t i = 0; same && i < s->nnames; i++)
		same = c.scope.names[i].wild == s->names[i].wild && c.scope.names[i].name != s->names[i].name &&
		       name_len(c.scope.names[i].name) == name_len(s->names[i].name) &&
		       memcmp(c.scope.names[i].name, s->names[i].name, name_len(s->names[i].name)) == 0;
	for (size_t i = 0; same && i < s->nzones; i++)
		same = c.scope.zones[i].name != s->zones[i].name && name_equal(c.scope.zones[i].name, s->zones[i].name);
	if (!same)
		fail("auth_principal_copy() differs from its source");
	auth_principal_free(&c);
}

static void run(const char *tok, bool signed_by_ec1)
{
	struct auth_principal p;
	char err[ERRLEN];
	memset(err, 0x5a, sizeof(err));
	memset(&p, 0x5a, sizeof(p));
	int rc = auth_verify(keys, tok, FUZZ_NOW, &p, err, sizeof(err));
	if (rc == 0) {
		check_accepted(tok, &p, signed_by_ec1);
	} else {
		if (rc != TERN_EINVAL && rc != TERN_ENOMEM && !(rc == TERN_ENOTFOUND && strstr(err, "unknown key id")))
			fail("a refusal other than TERN_EINVAL, TERN_ENOMEM or TERN_ENOTFOUND (an unknown kid)");
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			fail("a refusal without a message");
		if (p.tenant[0] || p.kid[0] || p.admin || p.scope.zones || p.scope.names || p.scope.types)
			fail("a refused token left a principal behind");
	}
	auth_principal_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *rest = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] == 1) { /* header JSON, NUL, claims JSON; or claims JSON alone */
		static const char def[] = "{\"alg\":\"ES256\",\"kid\":\"ec1\"}";
		const char *nul = memchr(rest, 0, n);
		const char *h = nul ? rest : def, *c = nul ? nul + 1 : rest;
		size_t hl = nul ? (size_t)(nul - rest) : strlen(def), cl = nul ? n - hl - 1 : n;
		char *tok = fuzz_sign(ec1, true, h, hl, c, cl);
		run(tok, true);
		free(tok);
		return 0;
	}
	char *tok = malloc(n + 1);
	if (!tok)
		return 0;
	memcpy(tok, rest, n);
	tok[n] = 0;
	run(tok, false);
	free(tok);
	return 0;
}
