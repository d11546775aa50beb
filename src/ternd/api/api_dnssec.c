/* The DNSSEC routes of a zone: the signing policy (PUT enables signing or rolls to another
 * algorithm, DELETE turns it off, GET shows policy, state, keys with their DNSKEY and DS), the key
 * journal, the operator's word on the parent's DS, and key backups: private keys leave the store
 * only sealed under the operator's passphrase (api_backup.c), and come back only through it. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/keyseal.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

/* ---- the policy as JSON ---- */

static json_t *policy_json(const struct dnssec_policy *p)
{
	json_t *parents = json_array();
	for (unsigned i = 0; i < p->nparents; i++)
		json_array_append_new(parents, json_string(p->parents[i]));
	json_t *o =
	    json_pack("{s:s,s:s,s:b,s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:o}", "algorithm",
	              dnssec_policy_alg_text(p->algorithm), "denial", p->nsec.nsec3 ? "nsec3" : "nsec", "nsec3-opt-out",
	              p->nsec.optout, "nsec3-iterations", (int)p->nsec.iterations, "nsec3-salt", "", "keys",
	              p->csk ? "csk" : "ksk-zsk", "ksk-lifetime", (json_int_t)p->ksk_lifetime, "zsk-lifetime",
	              (json_int_t)p->zsk_lifetime, "csk-lifetime", (json_int_t)p->csk_lifetime, "dnskey-ttl",
	              (json_int_t)p->dnskey_ttl, "max-zone-ttl", (json_int_t)p->max_zone_ttl, "propagation-delay",
	              (json_int_t)p->propagation_delay, "rrsig-lifetime", (json_int_t)p->rrsig_lifetime,
	              "rrsig-refresh", (json_int_t)p->rrsig_refresh, "rrsig-jitter", (json_int_t)p->rrsig_jitter,
	              "rrsig-inception-offset", (json_int_t)p->rrsig_inception, "cds", p->cds, "parents", parents);
	if (o) {
		json_object_set_new(o, "ds-ttl", json_integer(p->ds_ttl));
		json_object_set_new(o, "ds-check-interval", json_integer(p->ds_check_interval));
		json_object_set_new(o, "rfc5011", json_boolean(p->rfc5011));
		json_object_set_new(o, "add-holddown", json_integer(p->add_holddown));
		json_object_set_new(o, "remove-holddown", json_integer(p->remove_holddown));
	}
	if (o && p->name[0])
		json_object_set_new(o, "policy", json_string(p->name));
	return o;
}

/* ---- the zone's keys and state ---- */

struct keys_json {
	const uint8_t *apex;
	json_t *arr;
};

static json_t *rdata_text(uint16_t type, const uint8_t *rd, size_t len)
{
	char text[1024];
	if (rrtext_rdata_to_text(type, rd, (uint16_t)len, text, sizeof(text)) < 0)
		return json_null();
	return json_string(text);
}

static int key_json(const struct store_key *k, void *arg)
{
	struct keys_json *kj = arg;
	if (k->state == STORE_KEY_REMOVED)
		return 0;
	json_t *ds = json_array();
	static const uint8_t digests[] = {DNSSEC_DIGEST_SHA256, DNSSEC_DIGEST_SHA384};
	for (size_t i = 0; (k->flags & DNSSEC_FLAG_SEP) && i < sizeof(digests); i++) {
		uint8_t rd[DNSSEC_DS_MAX];
		char err[128];
		int len = dnssec_ds(kj->apex, k->dnskey, k->dnskey_len, digests[i], rd, sizeof(rd), err, sizeof(err));
		if (len > 0)
			json_array_append_new(ds, rdata_text(RR_DS, rd, (size_t)len));
	}
	json_t *o = json_pack(
	    "{s:I,s:i,s:s,s:i,s:s,s:i,s:s,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I,s:I}}", "id", (json_int_t)k->id, "tag",
	    (int)k->tag, "algorithm", dnssec_policy_alg_text(k->algorithm), "algorithm-number", (int)k->algorithm,
	    "role", store_key_role_name(k->role), "flags", (int)k->flags, "state", store_key_state_name(k->state),
	    "dnskey", rdata_text(RR_DNSKEY, k->dnskey, k->dnskey_len), "ds", ds, "timestamps", "created",
	    (json_int_t)k->created, "published", (json_int_t)k->published, "ready", (json_int_t)k->ready, "active",
	    (json_int_t)k->active, "retired", (json_int_t)k->retired, "removed", (json_int_t)k->removed);
	if (o) {
		static const char *const uses[] = {"publish", "sign", "cds", "revoke"};
		json_t *use = json_array();
		for (unsigned b = 0; b < 4; b++)
			if (k->use & (1u << b))
				json_array_append_new(use, json_string(uses[b]));
		json_object_set_new(o, "use", use);
		json_object_set_new(o, "ds-seen", json_boolean(k->ds_seen));
		json_object_set_new(o, "since", json_integer(k->since));
		json_object_set_new(json_object_get(o, "timestamps"), "revoked", json_integer(k->revoked));
	}
	json_array_append_new(kj->arr, o);
	return 0;
}

/* Where turning signing off stands (RFC 8078 4): what it waits for, and when the zone goes unsigned. */
static json_t *unsigning_json(const struct store_dnssec *d)
{
	const struct dnssec_policy *p = &d->policy;
	char waiting[400];
	int64_t at = d->ds_gone ? d->ds_gone + (int64_t)p->ds_ttl + p->propagation_delay : 0;
	if (!d->ds_gone && p->nparents)
		snprintf(waiting, sizeof(waiting),
		         "waiting for the DS to go: the delete CDS and CDNSKEY are published; the parents are asked "
		         "every %u s (or POST .../dnssec/ds-removed once the registrar removed it)",
		         p->ds_check_interval);
	else if (!d->ds_gone)
		snprintf(waiting, sizeof(waiting),
		         "waiting for the DS to go: the delete CDS and CDNSKEY are published; the policy names no "
		         "parents, so POST .../dnssec/ds-removed once the registrar removed the DS");
	else
		snprintf(
		    waiting, sizeof(waiting),
		    "the DS is gone: waiting for it to leave caches (DS TTL %u s + propagation delay %u s), then the "
		    "zone is served unsigned",
		    p->ds_ttl, p->propagation_delay);
	json_t *o = json_object();
	json_object_set_new(o, "since", json_integer(d->unsigning));
	json_object_set_new(o, "ds_gone", d->ds_gone ? json_integer(d->ds_gone) : json_null());
	json_object_set_new(o, "unsigned_at", at ? json_integer(at) : json_null());
	json_object_set_new(o, "waiting", json_string(waiting));
	return o;
}

/* {"zone","state","policy","keys"} of z; NULL (500 written) when the store fails. */
static json_t *dnssec_json(struct api *a, const struct store_zone *z, struct http_response *res)
{
	struct store_dnssec d;
	char err[256] = "";
	struct store_txn *t = NULL;
	json_t *out = NULL;
	if (store_begin_read(a->store, &t, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		return NULL;
	}
	int rc = store_dnssec_get(t, z->apex, &d, err, sizeof(err));
	if (rc == TERN_ENOTFOUND) {
		out = json_pack("{s:o,s:s,s:n,s:[]}", "zone", api_name_json(z->apex), "state",
		                z->signed_downstream ? "signed-downstream" : "unsigned", "policy", "keys");
	} else if (rc == 0) {
		struct keys_json kj = {z->apex, json_array()};
		if (store_key_foreach(t, z->apex, false, key_json, &kj, err, sizeof(err)) == 0)
			out = json_pack("{s:o,s:s,s:o,s:o,s:I}", "zone", api_name_json(z->apex), "state",
			                d.unsigning                      ? "unsigning"
			                : d.state == STORE_DNSSEC_SIGNED ? "signed"
			                                                 : "signing",
			                "policy", policy_json(&d.policy), "keys", kj.arr, "updated",
			                (json_int_t)d.updated);
		else
			json_decref(kj.arr);
		if (out && d.unsigning)
			json_object_set_new(out, "unsigning", unsigning_json(&d));
	}
	store_commit(t, NULL, 0);
	if (!out) {
		http_error(res, 503, NULL, "store: %s", err);
		return NULL;
	}
	/* what the signer thread knows: when signatures come due, a failure and its retry */
	struct change_dnssec_status st;
	if (change_dnssec_status(a->change, z->apex, &st) == 0) {
		json_t *sig = json_object();
		json_object_set_new(sig, "next_refresh", st.next_refresh ? json_integer(st.next_refresh) : json_null());
		json_object_set_new(sig, "retry", st.retry ? json_integer(st.retry) : json_null());
		json_object_set_new(sig, "error",
		                    st.keys_unloadable
		                        ? json_string("the keys could not be loaded at start: writes are refused")
		                    : st.error[0] ? json_string(st.error)
		                                  : json_null());
		json_object_set_new(
		    sig, "next_key_event",
		    st.next_roll ? json_pack("{s:I,s:s}", "time", (json_int_t)st.next_roll, "what", st.next_roll_what)
		                 : json_null());
		json_object_set_new(out, "signer", sig);
	}
	return out;
}

void api_dnssec_get(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	if (api_whole_zone(&c, &z, false, res)) {
		json_t *o = dnssec_json(a, &z, res);
		if (o)
			http_json(res, 200, o);
	}
	api_caller_free(&c);
}

void api_dnssec_put(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body = NULL;
	struct dnssec_policy p;
	if (!api_open(a, req, res, &c, &z, true, &body))
		return;
	if (api_whole_zone(&c, &z, true, res) && api_parse_dnssec_policy(body, api_config(a), &p, res)) {
		struct change_result r;
		const char *field = NULL;
		if (change_dnssec_enable(a->change, z.apex, &p, c.p.tenant, &field, &r) == 0) {
			json_t *o = dnssec_json(a, &z, res);
			if (o)
				http_json(res, 202, o);
		} else if (r.code == TERN_EEXIST) { /* signing is being turned off */
			http_error(res, 409, field, "%s", r.msg);
		} else if (field) { /* the zone's content conflicts with the policy */
			http_error(res, 400, field, "%s", r.msg);
		} else if (r.step == CHANGE_STORE) {
			http_error(res, 503, NULL, "store: %s", r.msg);
		} else {
			api_change_error(res, &r, z.apex, NULL, 0, NULL);
		}
	}
	json_decref(body);
	api_caller_free(&c);
}

static int event_json(const struct store_key_event *e, void *arg)
{
	json_array_append_new(arg, json_pack("{s:I,s:I,s:i,s:s,s:s,s:s}", "id", (json_int_t)e->id, "time",
	                                     (json_int_t)e->time, "tag", (int)e->tag, "from",
	                                     e->from ? store_key_state_name(e->from) : "", "to",
	                                     store_key_state_name(e->to), "reason", e->reason));
	return 0;
}

void api_dnssec_journal(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	const char *cursor = http_query(req, "cursor");
	char *end = NULL;
	long long before = cursor ? strtoll(cursor, &end, 10) : 0;
	if (cursor && (*end || before < 1)) {
		http_error(res, 400, "cursor", "must be the \"next\" of an earlier page (a positive number)");
	} else if (api_whole_zone(&c, &z, false, res)) {
		json_t *arr = json_array();
		struct store_page page = {0};
		char err[256] = "";
		if (store_key_journal(store_latest(a->store), z.apex, before, API_PAGE_MAX, event_json, arr, &page, err,
		                      sizeof(err)) < 0) {
			json_decref(arr);
			http_error(res, 503, NULL, "store: %s", err);
		} else {
			http_json(res, 200,
			          json_pack("{s:o,s:o}", "events", arr, "next",
			                    page.more ? json_integer((json_int_t)page.next_id) : json_null()));
		}
	}
	api_caller_free(&c);
}

void api_dnssec_ksk_submitted(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, true, NULL))
		return;
	if (api_whole_zone(&c, &z, true, res)) {
		char msg[512] = "";
		int rc = change_dnssec_ds_submitted(a->change, z.apex, c.p.tenant, msg, sizeof(msg));
		if (rc == 0) {
			json_t *o = dnssec_json(a, &z, res);
			if (o)
				http_json(res, 200, o);
		} else if (rc == TERN_ENOTFOUND) {
			http_error(res, 409, NULL, "%s", msg);
		} else {
			http_error(res, 503, NULL, "store: %s", msg);
		}
	}
	api_caller_free(&c);
}

void api_dnssec_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	const char *fs = http_query(req, "force");
	bool force = fs && strcmp(fs, "true") == 0;
	if (fs && !force && strcmp(fs, "false") != 0) {
		http_error(res, 400, "force", "must be true or false");
		return;
	}
	if (!api_open(a, req, res, &c, &z, true, NULL))
		return;
	if (api_whole_zone(&c, &z, true, res)) {
		struct change_result r;
		bool now = false;
		if (change_dnssec_disable(a->change, z.apex, c.p.tenant, force, &now, &r) == 0) {
			json_t *o = dnssec_json(a, &z, res);
			if (o)
				http_json(res, now ? 200 : 202, o);
		} else if (r.step == CHANGE_REFUSED && (r.code == TERN_ENOTFOUND || r.code == TERN_EEXIST)) {
			http_error(res, 409, r.code == TERN_EEXIST ? "force" : NULL, "%s", r.msg);
		} else if (r.step == CHANGE_STORE) {
			http_error(res, 503, NULL, "store: %s", r.msg);
		} else {
			api_change_error(res, &r, z.apex, NULL, 0, NULL);
		}
	}
	api_caller_free(&c);
}

void api_dnssec_ds_removed(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	/* not a write of the zone's content: a zone file's zone (:config) being turned off takes it too */
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	if (z.locked)
		http_error(res, 409, "zone", "zone is locked: %s", z.lock_reason);
	else if (api_whole_zone(&c, &z, true, res)) {
		char msg[512] = "", who[160];
		snprintf(who, sizeof(who), "confirmed by %s", c.p.tenant);
		int rc = change_dnssec_ds_removed(a->change, z.apex, who, msg, sizeof(msg));
		if (rc == 0) {
			json_t *o = dnssec_json(a, &z, res);
			if (o)
				http_json(res, 200, o);
		} else if (rc == TERN_ENOTFOUND) {
			http_error(res, 409, NULL, "%s", msg);
		} else {
			http_error(res, 503, NULL, "store: %s", msg);
		}
	}
	api_caller_free(&c);
}

/* ---- key backups ---- */

/* The body's "passphrase" (its length in *len), or NULL. */
static const char *body_passphrase(json_t *body, size_t *len)
{
	json_t *v = json_object_get(body, "passphrase");
	*len = json_is_string(v) ? json_string_length(v) : 0;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Wipes the passphrase from the parsed body before it is freed. */
static void body_wipe(json_t *body)
{
	json_t *v = json_object_get(body, "passphrase");
	if (json_is_string(v))
		OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
}

/* The zone's keys read for a backup: copies, their PEMs wiped when freed. */
struct backup_keys {
	struct store_key keys[API_BACKUP_KEYS_MAX];
	size_t n;
	bool too_many;
};

static int backup_key(const struct store_key *k, void *arg)
{
	struct backup_keys *bk = arg;
	if (k->state == STORE_KEY_REMOVED)
		return 0; /* history: not in the zone any more */
	if (bk->n == API_BACKUP_KEYS_MAX) {
		bk->too_many = true;
		return 1;
	}
	struct store_key *c = &bk->keys[bk->n];
	*c = *k;
	c->pem = NULL;
	c->pem_len = 0;
	if (k->pem && k->pem_len) {
		char *pem = malloc(k->pem_len);
		if (!pem)
			return TERN_ENOMEM;
		memcpy(pem, k->pem, k->pem_len);
		c->pem = pem;
		c->pem_len = k->pem_len;
	}
	bk->n++;
	return 0;
}

static void backup_keys_free(struct backup_keys *bk)
{
	for (size_t i = 0; i < bk->n; i++)
		dnssec_pem_free((char *)bk->keys[i].pem, bk->keys[i].pem_len);
	bk->n = 0;
}

void api_dnssec_backup(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body = NULL;
	/* a backup reads (a locked zone too), but holds the private keys: a token that may write the
	 * whole zone, never a read-only one */
	if (!api_open(a, req, res, &c, &z, false, &body))
		return;
	struct backup_keys bk = {0};
	struct store_txn *t = NULL;
	size_t plen = 0;
	const char *pass = body_passphrase(body, &plen);
	char err[256] = "", zn[NAME_MAXLEN * 4 + 1];
	name_to_text(z.apex, zn, sizeof(zn));
	if (!api_whole_zone(&c, &z, true, res))
		goto out;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "passphrase") != 0) {
			http_error(res, 400, key, "unknown field (a backup takes \"passphrase\")");
			goto out;
		}
	}
	if (!pass) {
		http_error(res, 400, "passphrase", "is required: the private keys are sealed with it");
		goto out;
	}
	if (keyseal_pass_check(pass, plen, err, sizeof(err)) < 0) {
		http_error(res, 400, "passphrase", "%s", err);
		goto out;
	}
	struct store_dnssec d;
	int rc = store_begin_read(a->store, &t, err, sizeof(err));
	if (rc < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		goto out;
	}
	rc = store_dnssec_get(t, z.apex, &d, err, sizeof(err));
	if (rc == 0)
		rc = store_key_foreach(t, z.apex, true, backup_key, &bk, err, sizeof(err));
	store_commit(t, NULL, 0);
	if (rc == TERN_ENOTFOUND) {
		http_error(res, 409, "zone", "zone %s is not signed: it has no DNSSEC keys to back up", zn);
		goto out;
	}
	if (bk.too_many) {
		http_error(res, 409, "zone", "zone %s has more than %d keys: a backup holds at most %d", zn,
		           API_BACKUP_KEYS_MAX, API_BACKUP_KEYS_MAX);
		goto out;
	}
	if (rc < 0 || bk.n == 0) {
		http_error(res, 500, NULL, "store: %s", rc < 0 ? err : "the zone is signed but has no keys");
		goto out;
	}
	json_t *policy = policy_json(&d.policy);
	json_t *doc = policy ? api_backup_make(z.apex, policy, bk.keys, bk.n, pass, plen, KEYSEAL_LOG2N_DEFAULT,
	                                       (int64_t)time(NULL), err, sizeof(err))
	                     : NULL;
	json_decref(policy);
	if (!doc) {
		http_error(res, 500, NULL, "the backup could not be made: %s", policy ? err : "out of memory");
		goto out;
	}
	log_info("zone %s: DNSSEC keys backed up by %s (%zu keys, sealed with the caller's passphrase)", zn, c.p.tenant,
	         bk.n);
	http_json(res, 200, doc);
out:
	backup_keys_free(&bk);
	body_wipe(body);
	json_decref(body);
	api_caller_free(&c);
}

void api_dnssec_restore(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body = NULL;
	struct api_backup b = {0};
	if (!api_open(a, req, res, &c, &z, true, &body))
		return;
	size_t plen = 0;
	const char *pass = body_passphrase(body, &plen);
	json_t *replace = json_object_get(body, "replace");
	if (!api_whole_zone(&c, &z, true, res)) /* api_open refused a locked zone and the configuration's */
		goto out;
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "passphrase") != 0 && strcmp(key, "backup") != 0 && strcmp(key, "replace") != 0) {
			http_error(res, 400, key,
			           "unknown field (a restore takes \"backup\", \"passphrase\", \"replace\")");
			goto out;
		}
	}
	if (!pass) {
		http_error(res, 400, "passphrase", "is required: the backup's private keys are sealed with it");
		goto out;
	}
	if (replace && !json_is_boolean(replace)) {
		http_error(res, 400, "replace", "must be true or false");
		goto out;
	}
	if (!json_object_get(body, "backup")) {
		http_error(res, 400, "backup", "is required: the document POST .../dnssec/backup wrote");
		goto out;
	}
	if (!api_backup_read(json_object_get(body, "backup"), z.apex, pass, plen, api_config(a), &b, res))
		goto out;
	struct change_result r;
	const char *field = NULL;
	if (change_dnssec_restore(a->change, z.apex, &b.policy, b.keys, b.nkeys, json_is_true(replace), c.p.tenant,
	                          &field, &r) == 0) {
		json_t *o = dnssec_json(a, &z, res);
		if (o)
			http_json(res, 202, o);
	} else if (field) {
		http_error(res, r.code == TERN_EEXIST ? 409 : 400, field, "%s", r.msg);
	} else if (r.step == CHANGE_STORE) {
		http_error(res, 503, NULL, "store: %s", r.msg);
	} else {
		api_change_error(res, &r, z.apex, NULL, 0, NULL);
	}
out:
	api_backup_clear(&b);
	body_wipe(body);
	json_decref(body);
	api_caller_free(&c);
}
