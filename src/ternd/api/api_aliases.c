/* A service's aliases through the API (issue 20): a user's name added, listed and removed; the svc
 * thread looks each one up through services.resolver and judges it (the state and its reason are
 * what GET shows). The request never waits for DNS: the HTTP thread only writes the row. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

#define ALIAS_TEXT_MAX 253 /* a host name's presentation form without the final dot */

/* The caller's service named by the URL, with a token for the whole tenant (read-only for reads):
 * 404 for an id that is not one, or another tenant's. False after the answer is written. */
static bool alias_service(struct api *a, const struct api_caller *c, const char *id, bool write,
                          struct store_service *s, struct http_response *res)
{
	return api_service_scope_ok(c, write, res) && api_service_find(a, c, id, s, res);
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

/* The store zone of the caller's tenant NAME lies in (its closest enclosing apex) when the served
 * version has an HTTPS RRset at NAME: the record the svc thread published for the alias. */
static bool hosted_record(struct api *a, const char *tenant, const uint8_t *name, uint8_t apex[NAME_MAXLEN])
{
	char err[256];
	for (const uint8_t *p = name; p[0]; p += 1 + p[0]) {
		struct store_zone z;
		if (store_zone_get(store_latest(a->store), p, &z, err, sizeof(err)) != 0)
			continue;
		const struct zone *zone = zones_get(a->srv->zones, p);
		const struct zone_node *node = zone ? zone_find(zone, name, name_len(name)) : NULL;
		bool https = false;
		for (uint16_t i = 0; node && i < node->nrrsets; i++)
			https = https || node->rrsets[i].type == RR_HTTPS;
		memcpy(apex, p, name_len(p));
		return strcmp(z.tenant, tenant) == 0 && https;
	}
	return false;
}

struct alias_gone {
	const char *service;
	const uint8_t *name;
};

static int delete_row(struct store_txn *t, void *arg, char *err, size_t errlen)
{
	const struct alias_gone *g = arg;
	return store_alias_delete(t, g->service, g->name, err, errlen);
}

/* Removes the alias row; where the alias's zone is the tenant's and holds the HTTPS record
 * published for it, that RRset goes in the same transaction (the one write path). */
static int alias_remove(struct api *a, const struct api_caller *c, const char *service, const uint8_t *name, char *err,
                        size_t errlen)
{
	uint8_t apex[NAME_MAXLEN];
	struct alias_gone g = {service, name};
	if (hosted_record(a, c->p.tenant, name, apex)) {
		char who[STORE_PRINCIPAL_MAX + 1];
		struct change_rrset ch = {0};
		memcpy(ch.owner, name, name_len(name));
		ch.type = RR_HTTPS;
		snprintf(who, sizeof(who), "%s (service %s)", c->p.tenant, service);
		struct change_request rq = {
		    .apex = apex, .rrsets = &ch, .n = 1, .principal = who, .also = delete_row, .also_arg = &g};
		struct change_result r;
		if (change_commit(a->change, &rq, &r) == 0)
			return 0;
		snprintf(err, errlen, "%s", r.msg);
		return r.step == CHANGE_STORE ? r.code : TERN_EBUSY;
	}
	struct store_txn *t = NULL;
	int rc = store_begin(a->store, &t, err, errlen);
	if (rc == 0 && (rc = delete_row(t, &g, err, errlen)) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, errlen);
	return rc;
}

/* The verified aliases' names (at most cap). */
struct verified_names {
	uint8_t (*names)[NAME_MAXLEN];
	size_t n, cap;
};

static int unpublish_one(const struct store_alias *al, void *arg)
{
	struct verified_names *l = arg;
	if (strcmp(al->state, "verified") == 0 && l->n < l->cap)
		memcpy(l->names[l->n++], al->name, name_len(al->name));
	return 0;
}

void api_aliases_unpublish(struct api *a, const struct api_caller *c, const char *service)
{
	enum { CAP = 100 };
	uint8_t(*names)[NAME_MAXLEN] = calloc(CAP, NAME_MAXLEN);
	struct verified_names l = {names, 0, CAP};
	char err[256] = "";
	if (!names || store_alias_list(store_latest(a->store), service, unpublish_one, &l, err, sizeof(err)) < 0)
		l.n = 0;
	for (size_t i = 0; i < l.n; i++) {
		uint8_t apex[NAME_MAXLEN];
		if (!hosted_record(a, c->p.tenant, names[i], apex))
			continue;
		char who[STORE_PRINCIPAL_MAX + 1];
		struct change_rrset ch = {0};
		memcpy(ch.owner, names[i], name_len(names[i]));
		ch.type = RR_HTTPS;
		snprintf(who, sizeof(who), "%s (service %s)", c->p.tenant, service);
		struct change_request rq = {.apex = apex, .rrsets = &ch, .n = 1, .principal = who};
		struct change_result r;
		if (change_commit(a->change, &rq, &r) < 0)
			log_warning("API: service %s: the HTTPS record of an alias stays: %s", service, r.msg);
	}
	free(names);
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
		int rc = TERN_ENOTFOUND;
		if (alias_name(req->params[1], name, why, sizeof(why)))
			rc = alias_remove(a, &c, s.id, name, err, sizeof(err));
		if (rc == TERN_ENOTFOUND) {
			http_error(res, 404, "name", "%.80s is not an alias of service %s", req->params[1], s.id);
		} else if (rc == TERN_EBUSY) {
			http_error(res, 409, "name", "the alias's zone: %s", err);
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
