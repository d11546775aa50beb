/* The DNSSEC routes of a zone: the signing policy (PUT enables signing, GET shows policy, state,
 * keys with their DNSKEY and DS) and the key journal. Private keys never leave the store here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dnssec.h"
#include "lib/dnssec_policy.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"

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
	if (o && p->name[0])
		json_object_set_new(o, "policy", json_string(p->name));
	return o;
}

/* A duration or TTL field: a JSON integer of seconds (the check bounds it). */
static bool seconds(json_t *v, const char *key, uint32_t *out, struct http_response *res)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
		http_error(res, 400, key, "must be a whole number of seconds (0 to %u)", DNSSEC_POLICY_SECONDS_MAX);
		return false;
	}
	*out = (uint32_t)json_integer_value(v);
	return true;
}

static bool boolean(json_t *v, const char *key, bool *out, struct http_response *res)
{
	if (!json_is_boolean(v)) {
		http_error(res, 400, key, "must be true or false");
		return false;
	}
	*out = json_is_true(v);
	return true;
}

/* The configuration's named policy, copied into p. */
static bool named_policy(struct api *a, json_t *v, struct dnssec_policy *p, struct http_response *res)
{
	const struct config *conf = api_config(a);
	if (!json_is_string(v)) {
		http_error(res, 400, "policy", "must be the name of a policy of the configuration's dnssec-policies");
		return false;
	}
	for (size_t i = 0; i < conf->ndnssec_policies; i++) {
		if (strcmp(conf->dnssec_policies[i].policy.name, json_string_value(v)) == 0) {
			*p = conf->dnssec_policies[i].policy;
			return true;
		}
	}
	http_error(res, 400, "policy", "no policy \"%.64s\" in the configuration's dnssec-policies",
	           json_string_value(v));
	return false;
}

/* The policy a PUT body gives: the defaults (or the named policy), then each field it sets. */
static bool policy_parse(struct api *a, json_t *body, struct dnssec_policy *p, struct http_response *res)
{
	dnssec_policy_default(p);
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object");
		return false;
	}
	json_t *named = json_object_get(body, "policy");
	if (named && !named_policy(a, named, p, res))
		return false;
	const char *key;
	json_t *v;
	char err[256];
	json_object_foreach(body, key, v)
	{
		bool ok = true;
		if (strcmp(key, "policy") == 0) {
			continue;
		} else if (strcmp(key, "algorithm") == 0) {
			char num[8];
			const char *text = json_is_string(v) ? json_string_value(v) : NULL;
			if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255) {
				snprintf(num, sizeof(num), "%d", (int)json_integer_value(v));
				text = num;
			}
			if (!text) {
				http_error(res, 400, key, "must be a name (ecdsap256sha256, ed25519) or a number");
				return false;
			}
			if (dnssec_policy_alg_parse(text, &p->algorithm, err, sizeof(err)) < 0) {
				http_error(res, 400, key, "%s", err);
				return false;
			}
		} else if (strcmp(key, "denial") == 0) {
			const char *d = json_is_string(v) ? json_string_value(v) : "";
			if (strcmp(d, "nsec") != 0 && strcmp(d, "nsec3") != 0) {
				http_error(res, 400, key, "must be \"nsec\" or \"nsec3\"");
				return false;
			}
			p->nsec.nsec3 = strcmp(d, "nsec3") == 0;
		} else if (strcmp(key, "nsec3-iterations") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535) {
				http_error(res, 400, key, "must be a number (0: RFC 9276)");
				return false;
			}
			p->nsec.iterations = (uint16_t)json_integer_value(v);
		} else if (strcmp(key, "nsec3-salt") == 0) {
			const char *salt = json_is_string(v) ? json_string_value(v) : NULL;
			if (!salt) {
				http_error(res, 400, key, "must be a string (\"\" or \"-\": none, RFC 9276)");
				return false;
			}
			p->nsec.salt_len = strcmp(salt, "") == 0 || strcmp(salt, "-") == 0 ? 0 : 1;
		} else if (strcmp(key, "nsec3-opt-out") == 0) {
			ok = boolean(v, key, &p->nsec.optout, res);
		} else if (strcmp(key, "keys") == 0) {
			const char *k = json_is_string(v) ? json_string_value(v) : "";
			if (strcmp(k, "csk") != 0 && strcmp(k, "ksk-zsk") != 0) {
				http_error(res, 400, key, "must be \"ksk-zsk\" or \"csk\"");
				return false;
			}
			p->csk = strcmp(k, "csk") == 0;
			if (p->csk && !json_object_get(body, "zsk-lifetime"))
				p->zsk_lifetime = 0; /* the default ZSK lifetime has no ZSK to apply to */
		} else if (strcmp(key, "ksk-lifetime") == 0) {
			ok = seconds(v, key, &p->ksk_lifetime, res);
		} else if (strcmp(key, "zsk-lifetime") == 0) {
			ok = seconds(v, key, &p->zsk_lifetime, res);
		} else if (strcmp(key, "csk-lifetime") == 0) {
			ok = seconds(v, key, &p->csk_lifetime, res);
		} else if (strcmp(key, "dnskey-ttl") == 0) {
			ok = seconds(v, key, &p->dnskey_ttl, res);
		} else if (strcmp(key, "max-zone-ttl") == 0) {
			ok = seconds(v, key, &p->max_zone_ttl, res);
		} else if (strcmp(key, "propagation-delay") == 0) {
			ok = seconds(v, key, &p->propagation_delay, res);
		} else if (strcmp(key, "rrsig-lifetime") == 0) {
			ok = seconds(v, key, &p->rrsig_lifetime, res);
		} else if (strcmp(key, "rrsig-refresh") == 0) {
			ok = seconds(v, key, &p->rrsig_refresh, res);
		} else if (strcmp(key, "rrsig-jitter") == 0) {
			ok = seconds(v, key, &p->rrsig_jitter, res);
		} else if (strcmp(key, "rrsig-inception-offset") == 0) {
			ok = seconds(v, key, &p->rrsig_inception, res);
		} else if (strcmp(key, "cds") == 0) {
			ok = boolean(v, key, &p->cds, res);
		} else if (strcmp(key, "parents") == 0) {
			size_t i;
			json_t *e;
			if (!json_is_array(v) || json_array_size(v) > DNSSEC_POLICY_PARENTS_MAX) {
				http_error(res, 400, key,
				           "must be a list of at most %d addresses (\"ADDRESS\" or \"ADDRESS@PORT\")",
				           DNSSEC_POLICY_PARENTS_MAX);
				return false;
			}
			p->nparents = 0;
			json_array_foreach(v, i, e)
			{
				char field[32];
				snprintf(field, sizeof(field), "parents[%zu]", i);
				const char *t = json_is_string(e) ? json_string_value(e) : "";
				if (dnssec_policy_parent_check(t, err, sizeof(err)) < 0) {
					http_error(res, 400, field, "%s", err);
					return false;
				}
				snprintf(p->parents[p->nparents++], sizeof(p->parents[0]), "%s", t);
			}
		} else {
			http_error(res, 400, key, "unknown field");
			return false;
		}
		if (!ok)
			return false;
	}
	const char *field = NULL;
	if (dnssec_policy_check(p, &field, err, sizeof(err)) < 0) {
		http_error(res, 400, field, "%s", err);
		return false;
	}
	return true;
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
	json_array_append_new(kj->arr, o);
	return 0;
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
		out = json_pack("{s:o,s:s,s:n,s:[]}", "zone", api_name_json(z->apex), "state", "unsigned", "policy",
		                "keys");
	} else if (rc == 0) {
		struct keys_json kj = {z->apex, json_array()};
		if ((rc = store_key_foreach(t, z->apex, false, key_json, &kj, err, sizeof(err))) == 0)
			out = json_pack("{s:o,s:s,s:o,s:o,s:I}", "zone", api_name_json(z->apex), "state",
			                d.state == STORE_DNSSEC_SIGNED ? "signed" : "signing", "policy",
			                policy_json(&d.policy), "keys", kj.arr, "updated", (json_int_t)d.updated);
		else
			json_decref(kj.arr);
	}
	store_commit(t, NULL, 0);
	if (!out)
		http_error(res, 500, NULL, "store: %s", err);
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
	if (api_whole_zone(&c, &z, true, res) && policy_parse(a, body, &p, res)) {
		struct change_result r;
		const char *field = NULL;
		if (change_dnssec_enable(a->change, z.apex, &p, c.p.tenant, &field, &r) == 0) {
			json_t *o = dnssec_json(a, &z, res);
			if (o)
				http_json(res, 202, o);
		} else if (field) {
			http_error(res, 409, field, "%s", r.msg);
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
			http_error(res, 500, NULL, "store: %s", err);
		} else {
			http_json(res, 200,
			          json_pack("{s:o,s:o}", "events", arr, "next",
			                    page.more ? json_integer((json_int_t)page.next_id) : json_null()));
		}
	}
	api_caller_free(&c);
}
