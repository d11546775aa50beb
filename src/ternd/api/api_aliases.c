/* A service's aliases through the API (issue 20): a user's name added, listed and removed; the svc
 * thread looks each one up through services.resolver and judges it (the state and its reason are
 * what GET shows). The request never waits for DNS: the HTTP thread only writes the row. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

#define ALIAS_TEXT_MAX 253 /* a host name's presentation form without the final dot */

/* The caller's service named by the URL, with a token for the whole tenant (read-only for reads):
 * 404 for an id that is not one, or another tenant's. False after the answer is written. */
static bool alias_service(struct api *a, const struct api_caller *c, const char *id, bool write,
                          struct store_service *s, struct http_response *res)
{
	const struct auth_scope *sc = &c->p.scope;
	char err[256] = "";
	if (sc->has_zones || sc->has_names || sc->has_types) {
		http_error(res, 403, "scope",
		           "the token's scope is narrowed to some zones, names or types: services need a token for the "
		           "whole tenant");
		return false;
	}
	if (write && sc->read_only) {
		http_error(res, 403, "scope", "the token is read-only");
		return false;
	}
	memset(s, 0, sizeof(*s));
	int rc = store_service_get(store_latest(a->store), id, s, err, sizeof(err));
	if (rc == 0 && strcmp(s->tenant, c->p.tenant) != 0) {
		store_service_clear(s);
		rc = TERN_ENOTFOUND;
	}
	if (rc == TERN_ENOTFOUND || rc == TERN_EINVAL) {
		http_error(res, 404, "id", "no service %.40s", id);
		return false;
	}
	if (rc < 0) {
		http_error(res, 500, NULL, "store: %s", err);
		return false;
	}
	return true;
}

/* A host name a certificate can hold: letters, digits and '-' in labels of 1-63 (no '-' first or
 * last), two labels at least, 253 characters at most, one final dot allowed; lower-cased into
 * out (wire form). False with why. */
static bool alias_name(const char *text, uint8_t out[NAME_MAXLEN], char *why, size_t cap)
{
	size_t len = text ? strlen(text) : 0;
	if (len && text[len - 1] == '.')
		len--;
	if (!len || len > ALIAS_TEXT_MAX) {
		snprintf(why, cap, "a host name of 1 to %d characters", ALIAS_TEXT_MAX);
		return false;
	}
	char lower[ALIAS_TEXT_MAX + 2];
	size_t label = 0, labels = 1;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		bool ldh = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
		if (ch == '.') {
			if (!label || text[i - 1] == '-') {
				snprintf(why, cap, "an empty label, or a label ending in '-'");
				return false;
			}
			label = 0;
			labels++;
		} else if (!ldh) {
			snprintf(why, cap, "a host name has letters, digits, '-' and '.' only");
			return false;
		} else if ((ch == '-' && !label) || ++label > 63) {
			snprintf(why, cap, "a label starts with '-' or is longer than 63 characters");
			return false;
		}
		lower[i] = ch;
	}
	if (!label || text[len - 1] == '-' || labels < 2) {
		snprintf(why, cap, "a host name of two labels at least, the last not empty nor ending in '-'");
		return false;
	}
	lower[len] = '.';
	lower[len + 1] = 0;
	if (name_from_text(out, lower, NULL) < 0) {
		snprintf(why, cap, "not a domain name");
		return false;
	}
	return true;
}

static json_t *alias_json(const struct store_alias *al)
{
	char text[NAME_MAXLEN * 4 + 1];
	if (name_to_text(al->name, text, sizeof(text)) > 1)
		text[strlen(text) - 1] = 0;
	json_t *o = json_pack("{s:s,s:s,s:I}", "name", text, "state", al->state, "created", (json_int_t)al->created);
	if (o && al->reason[0])
		json_object_set_new(o, "reason", json_string(al->reason));
	if (o && al->checked)
		json_object_set_new(o, "checked", json_integer(al->checked));
	return o;
}

static int list_one(const struct store_alias *al, void *arg)
{
	json_t *o = alias_json(al);
	return o && json_array_append_new(arg, o) == 0 ? 0 : TERN_ENOMEM;
}

void api_aliases_add(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s = {0};
	json_t *body = NULL;
	if (!api_open(a, req, res, &c, NULL, true, &body))
		return;
	const struct config_services *sv = &api_config(a)->services;
	struct store_alias al;
	struct store_txn *t = NULL;
	char err[256] = "", why[160] = "";
	memset(&al, 0, sizeof(al));
	if (!alias_service(a, &c, req->params[0], true, &s, res))
		goto out;
	json_t *jname = json_object_get(body, "name");
	const char *text = json_string_value(jname);
	if (!json_is_object(body) || !text) {
		http_error(res, 400, "name", "the body is {\"name\": NAME}, NAME a string");
		goto out;
	}
	if (!alias_name(text, al.name, why, sizeof(why))) {
		http_error(res, 400, "name", "%.80s is not a valid name: %s", text, why);
		goto out;
	}
	if (name_equal(al.name, s.canonical)) {
		http_error(res, 422, "name", "%.80s is the service's canonical domain itself: an alias is another name",
		           text);
		goto out;
	}
	if (sv->enabled && name_in(al.name, sv->zone)) {
		http_error(res, 422, "name", "%.80s is under the platform's services zone: an alias is a name of yours",
		           text);
		goto out;
	}
	snprintf(al.service, sizeof(al.service), "%s", s.id);
	snprintf(al.state, sizeof(al.state), "pending");
	int rc = store_begin(a->store, &t, err, sizeof(err));
	if (rc == 0 && (rc = store_alias_add(t, &al, sv->max_aliases, err, sizeof(err))) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, sizeof(err));
	if (rc == TERN_EEXIST) {
		/* whose is not said: it may be another tenant's */
		http_error(res, 409, "name", "%.80s is already an alias of a service", text);
	} else if (rc == TERN_EBUSY) {
		http_error(res, 409, "name", "the service has %u aliases already (services.max-aliases)",
		           sv->max_aliases);
	} else if (rc == TERN_ENOTFOUND) {
		http_error(res, 404, "id", "no service %.40s", s.id);
	} else if (rc < 0) {
		http_error(res, 503, NULL, "the store: %s", err);
	} else {
		al.created = time(NULL);
		json_t *o = alias_json(&al);
		if (o)
			json_object_set_new(o, "service", json_string(s.id));
		http_json(res, 202, o);
		log_info("API: service %s: alias %s added, verification pending", s.id, text);
		svc_kick(atomic_load(&a->svc));
	}
out:
	store_service_clear(&s);
	json_decref(body);
	api_caller_free(&c);
}

void api_aliases_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s;
	char err[256] = "";
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (alias_service(a, &c, req->params[0], false, &s, res)) {
		json_t *list = json_array();
		int rc = list ? store_alias_list(store_latest(a->store), s.id, list_one, list, err, sizeof(err))
		              : TERN_ENOMEM;
		if (rc < 0) {
			json_decref(list);
			http_error(res, 500, NULL, "store: %s", rc == TERN_ENOMEM ? "out of memory" : err);
		} else {
			http_json(res, 200, json_pack("{s:s,s:o}", "service", s.id, "domains", list));
		}
		store_service_clear(&s);
	}
	api_caller_free(&c);
}

void api_aliases_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s;
	if (!api_open(a, req, res, &c, NULL, true, NULL))
		return;
	if (alias_service(a, &c, req->params[0], true, &s, res)) {
		uint8_t name[NAME_MAXLEN];
		char err[256] = "", why[160] = "";
		struct store_txn *t = NULL;
		int rc = TERN_ENOTFOUND;
		if (alias_name(req->params[1], name, why, sizeof(why)) &&
		    (rc = store_begin(a->store, &t, err, sizeof(err))) == 0) {
			if ((rc = store_alias_delete(t, s.id, name, err, sizeof(err))) < 0)
				store_rollback(t);
			else
				rc = store_commit(t, err, sizeof(err));
		}
		if (rc == TERN_ENOTFOUND) {
			http_error(res, 404, "name", "%.80s is not an alias of service %s", req->params[1], s.id);
		} else if (rc < 0) {
			http_error(res, 503, NULL, "the store: %s", err);
		} else {
			/* the certificate holds the name until it is next issued (the next alias or renewal) */
			http_json(res, 200, json_pack("{s:s,s:s}", "service", s.id, "name", req->params[1]));
			log_info("API: service %s: alias %.80s removed", s.id, req->params[1]);
		}
		store_service_clear(&s);
	}
	api_caller_free(&c);
}
