/* TSIG keys made over the API (issue 24): a tenant's keys for RFC 2136 updates, each with its update
 * ACL (the semantics of the configuration's update.acl, for the tenant's own zones), the secret made
 * here and shown once. Every key of every tenant is published whole (srv->api_keys) for the query
 * path to verify requests with and the update module to judge them by. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/tsig.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

#define KEYS_PER_TENANT 100

/* ---- publishing every key for the query path ---- */

static void api_keys_free(struct server_api_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->ring.count; i++) {
		free(k->keys[i].tenant);
		api_tsig_acl_free(k->keys[i].acl, k->keys[i].nacl);
	}
	if (k->ring.count)
		explicit_bzero((struct tsig_key *)k->ring.keys, k->ring.count * sizeof(k->ring.keys[0]));
	free((struct tsig_key *)k->ring.keys);
	free(k->keys);
	free(k);
}

struct building {
	struct server_api_keys *k;
	size_t cap;
	char *err;
	size_t errlen;
};

static int add_built(const struct store_tsig_key *sk, void *arg)
{
	struct building *b = arg;
	struct server_api_keys *k = b->k;
	if (k->ring.count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct tsig_key *ring = calloc(cap, sizeof(*ring));
		struct server_api_key *keys = calloc(cap, sizeof(*keys));
		if (!ring || !keys) {
			free(ring);
			free(keys);
			return TERN_ENOMEM;
		}
		if (k->ring.count) {
			memcpy(ring, k->ring.keys, k->ring.count * sizeof(*ring));
			memcpy(keys, k->keys, k->ring.count * sizeof(*keys));
			explicit_bzero((struct tsig_key *)k->ring.keys, k->ring.count * sizeof(*ring));
		}
		free((struct tsig_key *)k->ring.keys);
		free(k->keys);
		k->ring.keys = ring;
		k->keys = keys;
		b->cap = cap;
	}
	struct tsig_key *tk = (struct tsig_key *)&k->ring.keys[k->ring.count];
	struct server_api_key *ak = &k->keys[k->ring.count];
	char field[64], why[160];
	json_t *acl = json_loads(sk->acl, 0, NULL);
	int rc = api_tsig_acl_parse(acl, &ak->acl, &ak->nacl, field, sizeof(field), why, sizeof(why));
	json_decref(acl);
	if (rc < 0) { /* a row the API wrote: only out of memory or a damaged store gets here */
		char text[NAME_MAXLEN * 4 + 1];
		name_to_text(sk->name, text, sizeof(text));
		log_error("API: TSIG key %s not published: its ACL's %s: %s", text, field, why);
		return rc == TERN_ENOMEM ? rc : 0;
	}
	if (!(ak->tenant = strdup(sk->tenant))) {
		api_tsig_acl_free(ak->acl, ak->nacl);
		return TERN_ENOMEM;
	}
	memcpy(tk->name, sk->name, name_len(sk->name));
	tk->alg = tsig_alg_from_text(sk->algorithm);
	memcpy(tk->secret, sk->secret, sk->secret_len);
	tk->secret_len = sk->secret_len;
	k->ring.count++;
	return 0;
}

int api_tsig_keys_publish(struct api *a, bool online, char *err, size_t errlen)
{
	struct server_api_keys *k = calloc(1, sizeof(*k));
	if (!k)
		return TERN_ENOMEM;
	struct building b = {k, 0, err, errlen};
	int rc = store_tsig_key_list(store_latest(a->store), NULL, add_built, &b, err, errlen);
	if (rc < 0) {
		api_keys_free(k);
		return rc;
	}
	struct server_api_keys *old = rcu_xchg_pointer(&a->srv->api_keys, k);
	if (old) {
		if (online)
			rcu_thread_offline();
		synchronize_rcu(); /* no query thread verifies with the old ring any more */
		if (online)
			rcu_thread_online();
		api_keys_free(old);
	}
	return 0;
}

void api_tsig_keys_unpublish(struct api *a)
{
	struct server_api_keys *old = rcu_xchg_pointer(&a->srv->api_keys, NULL);
	if (old) {
		synchronize_rcu();
		api_keys_free(old);
	}
}

/* ---- routes ---- */

/* Keys are the whole tenant's business: a token narrowed to some zones, names or types may not make
 * or see them, a read-only one only see them. */
static bool keys_scope_ok(const struct api_caller *c, bool write, struct http_response *res)
{
	const struct auth_scope *s = &c->p.scope;
	if (s->has_zones || s->has_names || s->has_types) {
		http_error(res, 403, "scope",
		           "the token's scope is narrowed to some zones, names or types: TSIG keys "
		           "need a token for the whole tenant");
		return false;
	}
	if (write && s->read_only) {
		http_error(res, 403, "scope", "the token is read-only");
		return false;
	}
	return true;
}

static json_t *key_json(const struct store_tsig_key *k)
{
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(k->name, text, sizeof(text));
	json_t *acl = json_loads(k->acl, 0, NULL);
	return json_pack("{s:s,s:s,s:o,s:I}", "name", text, "algorithm", k->algorithm, "acl", acl ? acl : json_array(),
	                 "created", (json_int_t)k->created);
}

static int list_one(const struct store_tsig_key *k, void *arg)
{
	json_t *o = key_json(k);
	return o && json_array_append_new(arg, o) == 0 ? 0 : TERN_ENOMEM;
}

/* The caller's key the URL names, as JSON, or NULL with the answer written. */
struct found {
	const uint8_t *name;
	json_t *o;
};
static int find_one(const struct store_tsig_key *k, void *arg)
{
	struct found *f = arg;
	if (name_equal(k->name, f->name) && !f->o && !(f->o = key_json(k)))
		return TERN_ENOMEM;
	return 0;
}

static bool key_name(const char *text, uint8_t out[NAME_MAXLEN], struct http_response *res)
{
	char abs[NAME_MAXLEN * 4 + 2];
	size_t len = text ? strlen(text) : 0;
	if (!len || len > NAME_MAXLEN * 4 ||
	    (snprintf(abs, sizeof(abs), "%s%s", text, text[len - 1] == '.' ? "" : "."),
	     name_from_text(out, abs, NULL) < 0) ||
	    out[0] == 0) {
		http_error(res, 400, "name", "\"%.80s\" is not a key name (a domain name, not the root)",
		           text ? text : "");
		return false;
	}
	name_lower(out);
	return true;
}

/* The zones the rules name must be the caller's tenant's (a key updates its tenant's zones only). */
static bool zones_are_tenants(struct api *a, const struct api_caller *c, const struct config_update_rule *r, size_t n,
                              struct http_response *res)
{
	char err[256];
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < r[i].nzones; k++) {
			struct store_zone z;
			int rc = store_zone_get(store_latest(a->store), r[i].zones[k], &z, err, sizeof(err));
			if (rc == 0 && strcmp(z.tenant, c->p.tenant) == 0)
				continue;
			char text[NAME_MAXLEN * 4 + 1], field[64];
			name_to_text(r[i].zones[k], text, sizeof(text));
			snprintf(field, sizeof(field), "acl[%zu].zones[%zu]", i, k);
			if (rc < 0 && rc != TERN_ENOTFOUND)
				http_error(res, 500, NULL, "store: %s", err);
			else /* another tenant's zone is not told apart from none */
				http_error(res, 404, field, "no zone %s", text);
			return false;
		}
	return true;
}

void api_tsig_keys_create(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body = NULL;
	struct config_update_rule *rules = NULL;
	size_t nrules = 0;
	struct store_tsig_key k;
	memset(&k, 0, sizeof(k));
	if (!api_open(a, req, res, &c, NULL, true, &body))
		return;
	if (!keys_scope_ok(&c, true, res))
		goto out;
	const char *key;
	json_t *v;
	if (json_is_object(body)) {
		json_object_foreach(body, key, v)
		{
			if (strcmp(key, "name") && strcmp(key, "algorithm") && strcmp(key, "acl")) {
				http_error(res, 400, key,
				           "unknown field %.40s: a key is {\"name\", \"algorithm\", \"acl\"}", key);
				goto out;
			}
		}
	}
	if (!json_is_object(body) || !key_name(json_string_value(json_object_get(body, "name")), k.name, res)) {
		if (!json_is_object(body))
			http_error(res, 400, "body", "the body is {\"name\", \"algorithm\", \"acl\"}");
		goto out;
	}
	json_t *alg = json_object_get(body, "algorithm");
	const char *algorithm = alg ? json_string_value(alg) : "hmac-sha256";
	if (!algorithm || (strcmp(algorithm, "hmac-sha256") != 0 && strcmp(algorithm, "hmac-sha512") != 0)) {
		http_error(res, 400, "algorithm", "the algorithm is hmac-sha256 (the default) or hmac-sha512");
		goto out;
	}
	snprintf(k.algorithm, sizeof(k.algorithm), "%s", algorithm);
	char field[64] = "", why[160] = "", err[256] = "";
	int rc =
	    api_tsig_acl_parse(json_object_get(body, "acl"), &rules, &nrules, field, sizeof(field), why, sizeof(why));
	if (rc == TERN_ENOMEM) {
		http_error(res, 500, NULL, "out of memory");
		goto out;
	}
	if (rc < 0) {
		http_error(res, 400, field, "%s", why);
		goto out;
	}
	if (!zones_are_tenants(a, &c, rules, nrules, res))
		goto out;
	const struct config *conf = api_config(a);
	for (size_t i = 0; i < conf->nkeys; i++)
		if (name_equal(conf->keys[i].key.name, k.name)) {
			http_error(res, 409, "name", "a TSIG key of that name exists");
			goto out;
		}
	k.secret_len = strcmp(algorithm, "hmac-sha512") == 0 ? 64 : 32; /* the hash's output size */
	if (RAND_bytes(k.secret, (int)k.secret_len) != 1) {
		http_error(res, 500, NULL, "no random numbers for a secret");
		goto out;
	}
	json_t *acl_in = json_object_get(body, "acl");
	char *acl_text = json_dumps(acl_in, JSON_COMPACT);
	if (!acl_text) {
		http_error(res, 500, NULL, "out of memory");
		goto out;
	}
	k.acl = acl_text;
	snprintf(k.tenant, sizeof(k.tenant), "%s", c.p.tenant);
	struct store_txn *t = NULL;
	rc = store_begin(a->store, &t, err, sizeof(err));
	if (rc == 0 && (rc = store_tsig_key_add(t, &k, KEYS_PER_TENANT, err, sizeof(err))) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, sizeof(err));
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(k.name, text, sizeof(text));
	if (rc == TERN_EEXIST) {
		http_error(res, 409, "name", "a TSIG key of that name exists"); /* whose is not said */
	} else if (rc == TERN_EBUSY) {
		http_error(res, 409, "name", "the tenant has %d TSIG keys already", KEYS_PER_TENANT);
	} else if (rc < 0) {
		http_error(res, 503, NULL, "the store: %s", err);
	} else if (api_tsig_keys_publish(a, true, err, sizeof(err)) < 0) {
		log_error("API: TSIG key %s stored but not in use until the next change of keys: %s", text, err);
		http_error(res, 503, NULL, "the key was stored but is not in use yet: %s", err);
	} else {
		char secret[STORE_TSIG_SECRET_MAX * 2];
		EVP_EncodeBlock((unsigned char *)secret, k.secret, (int)k.secret_len);
		k.created = time(NULL);
		json_t *o = key_json(&k);
		if (o)
			json_object_set_new(o, "secret", json_string(secret)); /* shown this once */
		explicit_bzero(secret, sizeof(secret));
		http_json(res, 201, o);
		log_info("API: tenant %s made TSIG key %s (%s)", c.p.tenant, text, algorithm);
	}
	free(acl_text);
out:
	explicit_bzero(k.secret, sizeof(k.secret));
	api_tsig_acl_free(rules, nrules);
	json_decref(body);
	api_caller_free(&c);
}

void api_tsig_keys_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	char err[256] = "";
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (keys_scope_ok(&c, false, res)) {
		json_t *list = json_array();
		int rc = list
		             ? store_tsig_key_list(store_latest(a->store), c.p.tenant, list_one, list, err, sizeof(err))
		             : TERN_ENOMEM;
		if (rc < 0) {
			json_decref(list);
			http_error(res, 500, NULL, "store: %s", rc == TERN_ENOMEM ? "out of memory" : err);
		} else {
			http_json(res, 200, json_pack("{s:o}", "keys", list));
		}
	}
	api_caller_free(&c);
}

void api_tsig_keys_show(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	char err[256] = "";
	uint8_t name[NAME_MAXLEN];
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (keys_scope_ok(&c, false, res) && key_name(req->params[0], name, res)) {
		struct found f = {name, NULL};
		int rc = store_tsig_key_list(store_latest(a->store), c.p.tenant, find_one, &f, err, sizeof(err));
		if (rc < 0)
			http_error(res, 500, NULL, "store: %s", rc == TERN_ENOMEM ? "out of memory" : err);
		else if (!f.o)
			http_error(res, 404, "name", "no TSIG key %.80s", req->params[0]);
		else
			http_json(res, 200, f.o), f.o = NULL;
		json_decref(f.o);
	}
	api_caller_free(&c);
}

void api_tsig_keys_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	char err[256] = "";
	uint8_t name[NAME_MAXLEN];
	if (!api_open(a, req, res, &c, NULL, true, NULL))
		return;
	if (keys_scope_ok(&c, true, res) && key_name(req->params[0], name, res)) {
		struct store_txn *t = NULL;
		int rc = store_begin(a->store, &t, err, sizeof(err));
		if (rc == 0 && (rc = store_tsig_key_delete(t, c.p.tenant, name, err, sizeof(err))) < 0)
			store_rollback(t);
		else if (rc == 0)
			rc = store_commit(t, err, sizeof(err));
		if (rc == TERN_ENOTFOUND)
			http_error(res, 404, "name", "no TSIG key %.80s", req->params[0]);
		else if (rc < 0)
			http_error(res, 503, NULL, "the store: %s", err);
		else if (api_tsig_keys_publish(a, true, err, sizeof(err)) < 0)
			http_error(res, 503, NULL, "the key was deleted but may still be in use: %s", err);
		else {
			http_json(res, 200, json_pack("{s:s}", "name", req->params[0]));
			log_info("API: tenant %s deleted TSIG key %.80s", c.p.tenant, req->params[0]);
		}
	}
	api_caller_free(&c);
}
