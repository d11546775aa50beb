/* Services through the API: a tenant's canonical name <uuid>.<services.zone> whose A and AAAA
 * answers its deployment makes (a DYN resource, api_deployment.c), created, deployed again and
 * deleted through the one write path with the service's row in the same transaction. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

/* Who may do what: a service is a whole object of its tenant, like a zone, so a token narrowed to
 * some zones, names or types (it speaks for part of the tenant's DNS) may not touch services; a
 * read-only token may list and show them. Services are the token's tenant's: an admin token acts
 * for its own tenant here too. */
bool api_service_scope_ok(const struct api_caller *c, bool write, struct http_response *res)
{
	const struct auth_scope *s = &c->p.scope;
	if (s->has_zones || s->has_names || s->has_types) {
		http_error(res, 403, "scope",
		           "the token's scope is narrowed to some zones, names or types: services need a token for the "
		           "whole tenant");
		return false;
	}
	if (write && s->read_only) {
		http_error(res, 403, "scope", "the token is read-only");
		return false;
	}
	return true;
}

/* The configuration's services, or a 503 naming services.zone. */
static const struct config_services *services_conf(struct api *a, struct http_response *res)
{
	const struct config_services *sv = &api_config(a)->services;
	if (!sv->enabled) {
		http_error(res, 503, "services.zone",
		           "services are not configured: the configuration needs services.zone and services.regions");
		return NULL;
	}
	return sv;
}

/* The zone apex is written to: an API zone of the store, served. Else a 503 naming services.zone. */
static bool zone_ready(struct api *a, const uint8_t *apex, struct http_response *res)
{
	struct store_zone z;
	char err[256] = "", text[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, text, sizeof(text));
	int rc = store_zone_get(store_latest(a->store), apex, &z, err, sizeof(err));
	if (rc == TERN_ENOTFOUND || (rc == 0 && strcmp(z.tenant, STORE_TENANT_CONFIG) == 0)) {
		http_error(res, 503, "services.zone",
		           "services.zone %s is not a zone of the API: create it through the API", text);
		return false;
	}
	if (rc < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	if (!zones_get(a->srv->zones, apex)) {
		http_error(res, 503, "services.zone", "services.zone %s is not served (it failed to load)", text);
		return false;
	}
	return true;
}

/* A random version-4 UUID (RFC 9562 5.4) in lower-case text. */
static bool make_id(char out[STORE_SERVICE_ID_LEN + 1])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return false;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, STORE_SERVICE_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return true;
}

/* The request body {"deployment": {...}}: nothing else. NULL after a 400. */
static json_t *body_deployment(json_t *body, struct http_response *res)
{
	if (!json_is_object(body)) {
		http_error(res, 400, "body", "expected {\"deployment\": {...}}");
		return NULL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "deployment") != 0) {
			char f[64];
			snprintf(f, sizeof(f), "%.40s", key);
			http_error(res, 400, f, "unknown field \"%.40s\" (the body holds deployment)", key);
			return NULL;
		}
	}
	json_t *d = json_object_get(body, "deployment");
	if (!d)
		http_error(res, 400, "deployment", "missing: {\"deployment\": {\"regions\": {...}}}");
	return d;
}

/* The service's row in the write's transaction (change_request.also). */
struct row_write {
	const struct store_service *row;
	enum { ROW_CREATE, ROW_UPDATE, ROW_DELETE } op;
};

static int write_row(struct store_txn *t, void *arg, char *err, size_t errlen)
{
	const struct row_write *w = arg;
	if (w->op == ROW_DELETE)
		return store_service_delete(t, w->row->id, err, errlen);
	return store_service_put(t, w->row, w->op == ROW_CREATE, err, errlen);
}

/* One write through the change module: the changes ch to the zone at apex, the row with them. */
static bool commit(struct api *a, const uint8_t *apex, const struct change_rrset *ch, size_t n,
                   const struct api_caller *c, struct row_write *w, uint32_t *serial, struct http_response *res)
{
	char who[STORE_PRINCIPAL_MAX + 1];
	snprintf(who, sizeof(who), "%s (service %s)", c->p.tenant, w->row->id);
	struct change_request rq = {
	    .apex = apex, .rrsets = ch, .n = n, .principal = who, .also = write_row, .also_arg = w};
	struct change_result r;
	if (change_commit(a->change, &rq, &r) == 0) {
		*serial = r.serial;
		return true;
	}
	if (r.step == CHANGE_STORE && r.code == TERN_EEXIST)
		http_error(res, 409, "id", "%s", r.msg);
	else if (r.step == CHANGE_STORE && r.code == TERN_ENOTFOUND)
		http_error(res, 404, "id", "%s", r.msg);
	else if (r.step == CHANGE_ZONE || r.step == CHANGE_UNSERVED)
		http_error(res, r.code == TERN_EBUSY ? 409 : 503, "services.zone", "the services zone: %s", r.msg);
	else
		api_change_error(res, &r, apex, ch, n, "deployment");
	return false;
}

/* The service as the API shows it; deployment is the stored normal form (JSON text). */
static json_t *service_json(const struct store_service *s, uint32_t serial)
{
	char name[NAME_MAXLEN * 4 + 1];
	name_to_text(s->canonical, name, sizeof(name));
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = 0;
	json_t *o = json_pack("{s:s,s:s,s:s}", "id", s->id, "tenant", s->tenant, "canonical", name);
	json_t *d = json_loads(s->deployment, 0, NULL);
	json_object_set_new(o, "deployment", d ? d : json_null());
	if (s->created)
		json_object_set_new(o, "created", json_integer(s->created));
	if (s->updated)
		json_object_set_new(o, "updated", json_integer(s->updated));
	if (serial)
		json_object_set_new(o, "serial", json_integer(serial));
	return o;
}

/* The caller's service named by the URL: 404 for an id that is not one, or another tenant's. */
bool api_service_find(struct api *a, const struct api_caller *c, const char *id, struct store_service *s,
                      struct http_response *res)
{
	char err[256] = "";
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
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	return true;
}

/* Reads the body's deployment and makes its DYN RRset at owner and its normal form (*text,
 * malloc'd). False after the answer is written. */
static bool deployment_change(struct api *a, const struct config_services *sv, json_t *body, const uint8_t *owner,
                              struct change_rrset *ch, char **text, struct http_response *res)
{
	json_t *doc = body_deployment(body, res);
	if (!doc)
		return false;
	struct api_deployment *d = calloc(1, sizeof(*d));
	bool ok = false;
	if (!d) {
		http_error(res, 500, NULL, "out of memory");
	} else if (api_deployment_parse(doc, sv, d, res)) {
		json_t *norm = api_deployment_json(d, sv);
		*text = norm ? json_dumps(norm, JSON_COMPACT) : NULL;
		json_decref(norm);
		memcpy(ch->owner, owner, name_len(owner));
		if (!*text || api_deployment_dyn(d, sv, ch) < 0)
			http_error(res, 500, NULL, "out of memory");
		else
			ok = true;
	}
	(void)a;
	free(d);
	return ok;
}

void api_services_create(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body;
	if (!api_open(a, req, res, &c, NULL, true, &body))
		return;
	struct change_rrset ch = {0};
	struct store_service row = {0};
	char *text = NULL, err[256] = "";
	uint8_t apex[NAME_MAXLEN];
	uint64_t held = 0;
	uint32_t serial = 0;
	const struct config_services *sv;
	if (!api_service_scope_ok(&c, true, res) || !(sv = services_conf(a, res)))
		goto out;
	memcpy(apex, sv->zone, name_len(sv->zone));
	unsigned max = sv->max_per_tenant;
	if (!make_id(row.id)) {
		http_error(res, 500, NULL, "no random numbers for an id");
		goto out;
	}
	/* <id>.<zone>: the zone leaves room for the label (finish_services) */
	row.canonical[0] = STORE_SERVICE_ID_LEN;
	memcpy(row.canonical + 1, row.id, STORE_SERVICE_ID_LEN);
	memcpy(row.canonical + 1 + STORE_SERVICE_ID_LEN, apex, name_len(apex));
	if (!deployment_change(a, sv, body, row.canonical, &ch, &text, res))
		goto out;
	if (store_service_count(store_latest(a->store), c.p.tenant, &held, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		goto out;
	}
	if (held >= max) {
		http_error(res, 403, "services.max-per-tenant",
		           "services.max-per-tenant is %u and tenant %s holds %" PRIu64 " services", max, c.p.tenant,
		           held);
		goto out;
	}
	if (!zone_ready(a, apex, res))
		goto out;
	snprintf(row.tenant, sizeof(row.tenant), "%s", c.p.tenant);
	row.deployment = text;
	struct row_write w = {&row, ROW_CREATE};
	if (!commit(a, apex, &ch, 1, &c, &w, &serial, res))
		goto out;
	http_json(res, 201, service_json(&row, serial));
	log_info("API: service %s created for tenant %s, serial %u", row.id, c.p.tenant, serial);
	svc_kick(atomic_load(&a->svc)); /* its certificate */
out:
	free((void *)ch.rdata);
	free(text);
	json_decref(body);
	api_caller_free(&c);
}

struct list_ctx {
	json_t *arr;
};

static int list_one(const struct store_service *s, void *arg)
{
	struct list_ctx *l = arg;
	return json_array_append_new(l->arr, service_json(s, 0)) == 0 ? 0 : TERN_ENOMEM;
}

void api_services_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_service_scope_ok(&c, false, res)) {
		struct list_ctx l = {json_array()};
		char err[256] = "";
		if (store_service_list(store_latest(a->store), c.p.tenant, list_one, &l, err, sizeof(err)) < 0) {
			json_decref(l.arr);
			http_error(res, 500, NULL, "store: %s", err[0] ? err : "out of memory");
		} else {
			http_json(res, 200, json_pack("{s:o}", "services", l.arr));
		}
	}
	api_caller_free(&c);
}

void api_services_show(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_service_scope_ok(&c, false, res) && api_service_find(a, &c, req->params[0], &s, res)) {
		http_json(res, 200, service_json(&s, 0));
		store_service_clear(&s);
	}
	api_caller_free(&c);
}

bool api_service_owned(struct api *a, const struct api_caller *c, const uint8_t *name)
{
	const struct auth_scope *sc = &c->p.scope;
	if (sc->has_zones || sc->has_names || sc->has_types || name[0] != STORE_SERVICE_ID_LEN)
		return false;
	char id[STORE_SERVICE_ID_LEN + 1], err[256];
	memcpy(id, name + 1, STORE_SERVICE_ID_LEN);
	id[STORE_SERVICE_ID_LEN] = 0;
	struct store_service s;
	memset(&s, 0, sizeof(s));
	if (store_service_get(store_latest(a->store), id, &s, err, sizeof(err)) < 0)
		return false;
	bool owned = strcmp(s.tenant, c->p.tenant) == 0 && name_equal(s.canonical, name);
	store_service_clear(&s);
	return owned;
}

/* The zone a canonical name is made in: its parent (the services.zone of its creation). */
static const uint8_t *canonical_zone(const uint8_t *canonical)
{
	return canonical + 1 + canonical[0];
}

void api_services_deploy(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body;
	if (!api_open(a, req, res, &c, NULL, true, &body))
		return;
	struct change_rrset ch = {0};
	struct store_service s = {0};
	const char *old = NULL;
	char *text = NULL;
	uint32_t serial = 0;
	const struct config_services *sv;
	if (!api_service_scope_ok(&c, true, res) || !(sv = services_conf(a, res)) ||
	    !api_service_find(a, &c, req->params[0], &s, res))
		goto out;
	old = s.deployment;
	if (!deployment_change(a, sv, body, s.canonical, &ch, &text, res) ||
	    !zone_ready(a, canonical_zone(s.canonical), res))
		goto out;
	s.deployment = text;
	struct row_write w = {&s, ROW_UPDATE};
	if (!commit(a, canonical_zone(s.canonical), &ch, 1, &c, &w, &serial, res))
		goto out;
	s.created = s.updated = 0;
	http_json(res, 200, service_json(&s, serial));
out:
	if (s.deployment == text) /* text is freed below: the row's own copy goes back */
		s.deployment = old;
	store_service_clear(&s);
	free((void *)ch.rdata);
	free(text);
	json_decref(body);
	api_caller_free(&c);
}

/* Every RRset at the canonical name but the signer's (a signed zone re-signs the name): the DYN
 * resource, and whatever else the service has there. At most cap; the DYN RRset at least. */
static size_t deletions(struct api *a, const uint8_t *canonical, struct change_rrset *ch, size_t cap)
{
	size_t n = 0;
	const struct zone *z = zones_get(a->srv->zones, canonical_zone(canonical));
	const struct zone_node *node = z ? zone_find(z, canonical, name_len(canonical)) : NULL;
	bool dyn = false;
	for (uint16_t i = 0; node && i < node->nrrsets && n + 1 < cap; i++) {
		uint16_t type = node->rrsets[i].type;
		if (type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3)
			continue;
		dyn = dyn || type == RR_DYN;
		memcpy(ch[n].owner, canonical, name_len(canonical));
		ch[n++].type = type;
	}
	if (!dyn) {
		memcpy(ch[n].owner, canonical, name_len(canonical));
		ch[n++].type = RR_DYN;
	}
	return n;
}

/* Whether the zone a service was made in is no longer in the store (deleted by its owner): then
 * its names went with it. */
static bool zone_gone(struct api *a, const uint8_t *apex)
{
	struct store_zone z;
	char err[256];
	return store_zone_get(store_latest(a->store), apex, &z, err, sizeof(err)) == TERN_ENOTFOUND;
}

/* A service whose zone is gone: its row alone, in a transaction of its own (no zone to change). */
static void delete_row_alone(struct api *a, const struct store_service *s, struct http_response *res)
{
	struct store_txn *t = NULL;
	char err[256] = "";
	int rc = store_begin(a->store, &t, err, sizeof(err));
	if (rc == 0 && (rc = store_service_delete(t, s->id, err, sizeof(err))) < 0)
		store_rollback(t);
	else if (rc == 0)
		rc = store_commit(t, err, sizeof(err));
	if (rc == TERN_ENOTFOUND)
		http_error(res, 404, "id", "no service %s", s->id);
	else if (rc < 0)
		http_error(res, 503, NULL, "the store: %s", err);
	else
		http_json(res, 200, json_pack("{s:s,s:n}", "id", s->id, "serial"));
}

void api_services_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_service s;
	if (!api_open(a, req, res, &c, NULL, true, NULL))
		return;
	if (api_service_scope_ok(&c, true, res) && api_service_find(a, &c, req->params[0], &s, res)) {
		struct change_rrset ch[16];
		memset(ch, 0, sizeof(ch));
		size_t n = deletions(a, s.canonical, ch, 16);
		uint32_t serial = 0;
		struct row_write w = {&s, ROW_DELETE};
		api_aliases_unpublish(a, &c, s.id); /* the aliases' records in the tenant's zones */
		if (zone_gone(a, canonical_zone(s.canonical))) {
			delete_row_alone(a, &s, res);
		} else if (zone_ready(a, canonical_zone(s.canonical), res) &&
		           commit(a, canonical_zone(s.canonical), ch, n, &c, &w, &serial, res)) {
			http_json(res, 200, json_pack("{s:s,s:I}", "id", s.id, "serial", (json_int_t)serial));
			log_info("API: service %s deleted, serial %u", s.id, serial);
		}
		store_service_clear(&s);
	}
	api_caller_free(&c);
}
