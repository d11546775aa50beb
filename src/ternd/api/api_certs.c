/* A service's certificate through the API: its state for the tenant (never a key), and the
 * ingress's material (chain, key, ECH private keys) for an ingress token naming the service. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ech.h"
#include "lib/error.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

/* The row's ECHConfigList (current first, the old one after it while listed), base64; NULL when
 * the service has no ECH config yet. */
static json_t *ech_list_json(const struct store_cert *c)
{
	if (!c->ech_config_len)
		return json_null();
	struct ech_blob configs[2] = {{c->ech_config, c->ech_config_len}, {c->ech_old_config, c->ech_old_config_len}};
	uint8_t list[2 * STORE_ECH_CONFIG_MAX + 2];
	char b64[4 * sizeof(list) / 3 + 8], err[256];
	size_t len = 0;
	if (ech_list_build(configs, c->ech_old_config_len ? 2 : 1, list, sizeof(list), &len, err, sizeof(err)) < 0 ||
	    ech_base64(list, len, b64, sizeof(b64)) < 0)
		return json_null();
	return json_string(b64);
}

static json_t *names_json(const char *names)
{
	json_t *a = json_array();
	const char *p = names;
	while (a && *p) {
		size_t n = strcspn(p, " ");
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ' ');
	}
	return a;
}

static json_t *cert_json(const struct store_cert *c)
{
	json_t *o = json_pack("{s:s,s:s,s:o}", "service", c->service, "state", c->state, "names", names_json(c->names));
	if (!o)
		return NULL;
	if (c->not_after) {
		json_object_set_new(o, "not_before", json_integer(c->not_before));
		json_object_set_new(o, "not_after", json_integer(c->not_after));
		json_object_set_new(o, "issued_at", json_integer(c->issued_at));
	}
	json_object_set_new(o, "order", c->order_url[0] ? json_string(c->order_url) : json_null());
	json_object_set_new(o, "attempts", json_integer(c->attempts));
	json_object_set_new(o, "next_attempt", json_integer(c->next_at));
	if (c->fail_at) {
		json_t *problem = c->fail_problem ? json_loads(c->fail_problem, 0, NULL) : NULL;
		json_t *f = json_pack("{s:s,s:s,s:I}", "step", c->fail_step, "message", c->fail_message, "at",
		                      (json_int_t)c->fail_at);
		if (f && c->fail_status)
			json_object_set_new(f, "status", json_integer(c->fail_status));
		if (f)
			json_object_set_new(f, "problem", problem ? problem : json_null());
		json_object_set_new(o, "last_failure", f ? f : json_null());
	} else {
		json_object_set_new(o, "last_failure", json_null());
	}
	json_t *ech = json_pack("{s:o,s:i}", "config_list", ech_list_json(c), "configs",
	                        (c->ech_config_len ? 1 : 0) + (c->ech_old_config_len ? 1 : 0));
	if (ech && c->ech_rotate_at)
		json_object_set_new(ech, "rotate_at", json_integer(c->ech_rotate_at));
	if (ech && c->ech_drop_at && c->ech_old_config_len)
		json_object_set_new(ech, "old_dropped_at", json_integer(c->ech_drop_at));
	json_object_set_new(o, "ech", ech ? ech : json_null());
	return o;
}

void api_services_certificate(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s;
	struct store_cert cert;
	char err[256] = "";
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_service_scope_ok(&c, false, res) && api_service_find(a, &c, req->params[0], &s, res)) {
		int rc = store_cert_get(store_latest(a->store), s.id, false, &cert, err, sizeof(err));
		if (rc == TERN_ENOTFOUND) {
			/* issuance off (no services.acme.directory), or made a moment ago: the certificate
			 * thread has not written its row yet */
			char name[NAME_MAXLEN * 4 + 1];
			if (name_to_text(s.canonical, name, sizeof(name)) > 1 && name[strlen(name) - 1] == '.')
				name[strlen(name) - 1] = 0;
			http_json(res, 200,
			          json_pack("{s:s,s:s,s:[s],s:n,s:n}", "service", s.id, "state",
			                    atomic_load(&a->svc) ? "pending" : "off", "names", name, "order",
			                    "last_failure"));
		} else if (rc < 0) {
			http_error(res, 503, NULL, "store: %s", err);
		} else {
			json_t *o = cert_json(&cert);
			if (o)
				http_json(res, 200, o);
			else
				http_error(res, 500, NULL, "out of memory");
			store_cert_clear(&cert);
		}
		store_service_clear(&s);
	}
	api_caller_free(&c);
}

/* The ECH key pairs the ingress terminates with: the current one first. */
static json_t *ech_keys_json(const struct store_cert *c)
{
	json_t *keys = json_array();
	const uint8_t *priv[2] = {c->ech_key, c->ech_old_key}, *conf[2] = {c->ech_config, c->ech_old_config};
	size_t len[2] = {c->ech_config_len, c->ech_old_config_len};
	for (size_t i = 0; keys && i < 2; i++) {
		char k[64], cf[4 * STORE_ECH_CONFIG_MAX / 3 + 8];
		if (!len[i] || ech_base64(priv[i], STORE_ECH_KEY_LEN, k, sizeof(k)) < 0 ||
		    ech_base64(conf[i], len[i], cf, sizeof(cf)) < 0)
			continue;
		json_array_append_new(keys, json_pack("{s:i,s:s,s:s}", "config_id", len[i] > 4 ? conf[i][4] : 0,
		                                      "private_key", k, "config", cf));
	}
	return keys;
}

void api_services_ingress(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s;
	struct store_cert cert;
	char err[256] = "";
	if (!api_authenticate_ingress(a, req, res, &c))
		return;
	const char *id = req->params[0];
	/* another tenant's service, or one the token does not name: 404 alike */
	if (!auth_ingress_allows(&c.p, id)) {
		http_error(res, 404, "id", "no service %.40s for this ingress token", id);
	} else if (api_service_find(a, &c, id, &s, res)) {
		struct svc *svc = atomic_load(&a->svc);
		int rc = store_cert_get(store_latest(a->store), s.id, true, &cert, err, sizeof(err));
		if (rc == 0 && !cert.chain)
			rc = TERN_ENOTFOUND;
		if (rc == TERN_ENOTFOUND) {
			http_error(res, 404, "certificate", "service %s has no certificate yet", s.id);
		} else if (rc < 0) {
			http_error(res, 503, NULL, "store: %s", err);
		} else {
			json_t *o = json_pack("{s:s,s:o,s:s,s:s,s:s,s:I,s:I,s:{s:o,s:o}}", "service", s.id, "names",
			                      names_json(cert.names), "state", cert.state, "chain", cert.chain, "key",
			                      cert.key ? cert.key : "", "not_before", (json_int_t)cert.not_before,
			                      "not_after", (json_int_t)cert.not_after, "ech", "config_list",
			                      ech_list_json(&cert), "keys", ech_keys_json(&cert));
			if (o && svc)
				json_object_set_new(o, "acme_thumbprint", json_string(svc_thumbprint(svc)));
			if (o) {
				http_json(res, 200, o);
				log_info("API: ingress material of service %s handed to a token of tenant %s (kid %s)",
				         s.id, c.p.tenant, c.p.kid);
			} else {
				http_error(res, 500, NULL, "out of memory");
			}
		}
		store_cert_clear(&cert); /* zeroed by store_cert_get() whatever it returns */
		store_service_clear(&s);
	}
	api_caller_free(&c);
}
