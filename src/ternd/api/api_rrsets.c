/* RRsets through the API: JSON changes parsed and checked and handed to the write path (the
 * change module), its result as HTTP, the RRset and SOA routes and the change-review flow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

/* The field a refused change is reported against: given (an import: "body"), else the change
 * index names as the caller knows it, in a batch "rrsets[i]", alone "records" (or "name" for a
 * deletion or a SOA); "name" when the server's own SOA change broke a rule. */
static void refused_field(char *field, size_t cap, const struct change_result *r, const struct change_rrset *ch,
                          size_t n, const char *given)
{
	snprintf(field, cap, "%s", given ? given : "name");
	if (given || r->index >= n)
		return;
	if (n > 1)
		snprintf(field, cap, "rrsets[%zu]", r->index);
	else if (ch[r->index].count && ch[r->index].type != RR_SOA)
		snprintf(field, cap, "records");
}

void api_change_error(struct http_response *res, const struct change_result *r, const uint8_t *apex,
                      const struct change_rrset *ch, size_t n, const char *field)
{
	char f[48], name[NAME_MAXLEN * 4 + 1];
	const char *nl = strchr(r->msg, '\n'); /* the first problem; the rest repeat its kind */
	int len = nl ? (int)(nl - r->msg) : (int)strlen(r->msg);
	switch (r->step) {
	case CHANGE_REFUSED:
		refused_field(f, sizeof(f), r, ch, n, field);
		name_to_text(apex, name, sizeof(name));
		if (r->index < n && ch[r->index].type == RR_SOA && ch[r->index].count == 0)
			http_error(res, 400, f, "%.*s (PUT /api/v1/zones/%s/soa changes its fields)", len, r->msg,
			           name);
		else
			http_error(res, 400, f, "%.*s", len, r->msg);
		break;
	case CHANGE_ZONE:
		if (r->code == TERN_ENOTFOUND)
			http_error(res, 404, "zone", "%s", r->msg);
		else
			http_error(res, 409, r->code == TERN_EBUSY ? "zone" : "name", "%s", r->msg);
		break;
	case CHANGE_PROPOSAL: http_error(res, r->code == TERN_ENOTFOUND ? 404 : 409, "id", "%s", r->msg); break;
	case CHANGE_UNSERVED: http_error(res, 500, NULL, "%s", r->msg); break;
	case CHANGE_APPLY: http_error(res, 500, NULL, "cannot apply the change: %s", r->msg); break;
	case CHANGE_JOURNAL: http_error(res, 500, NULL, "cannot write the journal entry: %s", r->msg); break;
	case CHANGE_STORE: http_error(res, 503, NULL, "the change could not be stored: %s", r->msg); break;
	case CHANGE_STALE: http_error(res, 409, "zone", "%s", r->msg); break;
	case CHANGE_PUBLISH:
	case CHANGE_DONE: http_error(res, 503, NULL, "%s", r->msg); break;
	}
}

/* A write of the caller's changes through the change module: true when done (*serial set), else
 * the response holds the error. */
static bool commit(struct api *a, const struct store_zone *z, const struct change_rrset *ch, size_t n, const char *who,
                   uint32_t *serial, struct http_response *res)
{
	struct change_request rq = {.apex = z->apex, .rrsets = ch, .n = n, .principal = who};
	struct change_result r;
	if (change_commit(a->change, &rq, &r) < 0) {
		api_change_error(res, &r, z->apex, ch, n, NULL);
		return false;
	}
	*serial = r.serial;
	return true;
}

/* ---- routes ---- */

/* The scope of a token decides per name and type. */
static bool allowed(const struct api_caller *c, const struct store_zone *z, const uint8_t *owner, uint16_t type,
                    bool write, struct http_response *res)
{
	if (auth_allows(&c->p, z->apex, owner, type, write))
		return true;
	char nt[NAME_MAXLEN * 4 + 1];
	name_to_text(owner, nt, sizeof(nt));
	char tb[RRTEXT_TYPE_MAXLEN];
	rrtext_type_to_text(type, tb, sizeof(tb));
	http_error(res, 403, "name", "the token's scope does not allow %s of %s %s", write ? "changes" : "reads", nt,
	           tb);
	return false;
}

struct list_ctx {
	json_t *arr;
	const struct api_caller *c;
	const struct store_zone *z;
};

static int list_one(const struct store_rrset *rs, void *arg)
{
	struct list_ctx *l = arg;
	if (auth_allows(&l->c->p, l->z->apex, rs->owner, rs->type, false))
		json_array_append_new(l->arr, api_rrset_json(rs->owner, rs->type, rs->ttl, rs->count, rs->rdata));
	return 0;
}

void api_rrsets_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	struct list_ctx l = {json_array(), &c, &z};
	char err[256] = "";
	if (store_rrset_foreach(store_latest(a->store), z.apex, list_one, &l, err, sizeof(err)) < 0) {
		json_decref(l.arr);
		http_error(res, 503, NULL, "store: %s", err);
	} else {
		http_json(res, 200, json_pack("{s:o,s:I}", "rrsets", l.arr, "serial", (json_int_t)z.serial));
	}
	api_caller_free(&c);
}

/* The owner and type named by the URL of a single-RRset route. */
static bool url_rrset(const struct store_zone *z, const struct http_request *req, uint8_t owner[NAME_MAXLEN],
                      uint16_t *type, struct http_response *res)
{
	if (!api_parse_owner(z->apex, req->params[1], "name", owner, res))
		return false;
	if (rrtext_type_from_text(req->params[2], type) < 0) {
		http_error(res, 400, "type", "\"%.40s\" is not a record type that can be stored", req->params[2]);
		return false;
	}
	return true;
}

void api_rrsets_get(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	uint8_t owner[NAME_MAXLEN];
	uint16_t type;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	if (url_rrset(&z, req, owner, &type, res) && allowed(&c, &z, owner, type, false, res)) {
		struct store_rrset rs;
		char err[256] = "";
		int rc = store_rrset_get(store_latest(a->store), z.apex, owner, type, &rs, err, sizeof(err));
		if (rc == 0) {
			http_json(res, 200, api_rrset_json(rs.owner, rs.type, rs.ttl, rs.count, rs.rdata));
			store_rrset_clear(&rs);
		} else if (rc == TERN_ENOTFOUND) {
			http_error(res, 404, "name", "no %s RRset at %s", req->params[2], req->params[1]);
		} else {
			http_error(res, 503, NULL, "store: %s", err);
		}
	}
	api_caller_free(&c);
}

static void respond_committed(struct http_response *res, const struct change_rrset *ch, uint32_t serial)
{
	json_t *o = ch->count ? api_rrset_json(ch->owner, ch->type, ch->ttl, ch->count, ch->rdata) : json_object();
	json_object_set_new(o, "serial", json_integer(serial));
	http_json(res, 200, o);
}

void api_rrsets_put(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body;
	if (!api_open(a, req, res, &c, &z, true, &body))
		return;
	struct change_rrset *ch = calloc(1, sizeof(*ch));
	uint32_t serial;
	if (!ch) {
		http_error(res, 500, NULL, "out of memory");
	} else if (api_parse_change(z.apex, body, req->params[1], req->params[2], "", ch, res) &&
	           allowed(&c, &z, ch->owner, ch->type, true, res)) {
		if (json_object_get(body, "delete"))
			http_error(res, 400, "delete", "use DELETE on this URL to remove the RRset");
		else if (api_monitors_allowed(a, ch, 1, false, res) && commit(a, &z, ch, 1, c.p.tenant, &serial, res))
			respond_committed(res, ch, serial);
	}
	json_decref(body);
	change_rrsets_free(ch, 1);
	api_caller_free(&c);
}

void api_rrsets_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, true, NULL))
		return;
	struct change_rrset ch = {0};
	uint32_t serial;
	char err[256] = "";
	struct store_rrset rs;
	if (url_rrset(&z, req, ch.owner, &ch.type, res) && allowed(&c, &z, ch.owner, ch.type, true, res)) {
		int rc = store_rrset_get(store_latest(a->store), z.apex, ch.owner, ch.type, &rs, err, sizeof(err));
		if (rc == TERN_ENOTFOUND) {
			http_error(res, 404, "name", "no %s RRset at %s", req->params[2], req->params[1]);
		} else if (rc < 0) {
			http_error(res, 503, NULL, "store: %s", err);
		} else {
			store_rrset_clear(&rs);
			if (commit(a, &z, &ch, 1, c.p.tenant, &serial, res))
				respond_committed(res, &ch, serial);
		}
	}
	api_caller_free(&c);
}

/* The body of a batch: {"rrsets": [...]} and nothing else. */
static bool batch_shape(json_t *body, struct http_response *res)
{
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object {\"rrsets\": [changes]}");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "rrsets")) {
			http_error(res, 400, key, "unknown field");
			return false;
		}
	}
	if (!json_object_get(body, "rrsets")) {
		http_error(res, 400, "rrsets", "required: the list of changes");
		return false;
	}
	return true;
}

/* A list of changes: [{"name","type","ttl","records"} | {"name","type","delete":true}, ...]. */
static struct change_rrset *parse_batch(const struct store_zone *z, const struct api_caller *c, json_t *arr, size_t *n,
                                        struct http_response *res)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > API_MAX_CHANGES) {
		http_error(res, 400, "rrsets", "must be a list of 1 to %d changes", API_MAX_CHANGES);
		return NULL;
	}
	size_t count = json_array_size(arr);
	struct change_rrset *ch = calloc(count, sizeof(*ch));
	if (!ch) {
		http_error(res, 500, NULL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		char where[48];
		snprintf(where, sizeof(where), "rrsets[%zu]", i);
		if (!api_parse_change(z->apex, json_array_get(arr, i), NULL, NULL, where, &ch[i], res) ||
		    !allowed(c, z, ch[i].owner, ch[i].type, true, res)) {
			change_rrsets_free(ch, count);
			return NULL;
		}
	}
	if (!api_changes_distinct(ch, count, res)) {
		change_rrsets_free(ch, count);
		return NULL;
	}
	*n = count;
	return ch;
}

void api_rrsets_patch(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body;
	if (!api_open(a, req, res, &c, &z, true, &body))
		return;
	size_t n = 0;
	struct change_rrset *ch = NULL;
	uint32_t serial;
	if (!batch_shape(body, res))
		;
	else if ((ch = parse_batch(&z, &c, json_object_get(body, "rrsets"), &n, res)) != NULL &&
	         api_monitors_allowed(a, ch, n, true, res) && commit(a, &z, ch, n, c.p.tenant, &serial, res))
		http_json(res, 200, json_pack("{s:I,s:I}", "serial", (json_int_t)serial, "changes", (json_int_t)n));
	json_decref(body);
	change_rrsets_free(ch, n);
	api_caller_free(&c);
}

bool api_parse_soa_fields(json_t *obj, const char *prefix, struct api_soa_fields *f, struct http_response *res)
{
	static const char *const timers[] = {NULL, "refresh", "retry", "expire", "minimum"};
	const char *key;
	json_t *v;
	char field[64];
	json_object_foreach(obj, key, v)
	{
		int which = -1;
		for (int i = 1; i < 5; i++)
			if (!strcmp(key, timers[i]))
				which = i;
		snprintf(field, sizeof(field), "%s%.40s", prefix, key);
		if (!strcmp(key, "mname") || !strcmp(key, "rname")) {
			int k = key[0] == 'r';
			if (!json_is_string(v) ||
			    name_from_text(f->names[k], json_string_value(v), (const uint8_t *)"") < 0) {
				http_error(res, 400, field, "must be a domain name");
				return false;
			}
		} else if (which > 0 || !strcmp(key, "ttl")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > API_TTL_MAX) {
				http_error(res, 400, field, "must be an integer from 0 to %d", API_TTL_MAX);
				return false;
			}
			if (which > 0)
				f->timers[which] = (uint32_t)json_integer_value(v);
			else
				f->ttl = (uint32_t)json_integer_value(v);
		} else {
			http_error(res, 400, field,
			           "unknown field (mname, rname, ttl, refresh, retry, expire, minimum)");
			return false;
		}
	}
	return true;
}

size_t api_soa_rdata(const struct api_soa_fields *f, uint8_t *out)
{
	size_t off = 0, n0 = name_len(f->names[0]), n1 = name_len(f->names[1]);
	memcpy(out, f->names[0], n0);
	memcpy(out + n0, f->names[1], n1);
	off = n0 + n1;
	for (int i = 0; i < 5; i++, off += 4)
		wire_put32(out + off, f->timers[i]);
	return off;
}

/* PUT /zones/{zone}/soa {"mname","rname","ttl","refresh","retry","expire","minimum"}: any
 * subset; the rest is kept. The serial stays the server's. */
void api_soa_put(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body;
	if (!api_open(a, req, res, &c, &z, true, &body))
		return;
	struct store_rrset cur = {0};
	char err[256] = "";
	uint32_t serial;
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object");
		goto out;
	}
	if (!allowed(&c, &z, z.apex, RR_SOA, true, res))
		goto out;
	if (store_rrset_get(store_latest(a->store), z.apex, z.apex, RR_SOA, &cur, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		goto out;
	}
	struct api_soa_fields f = {.ttl = cur.ttl};
	const uint8_t *rd = rdata_bytes(cur.rdata);
	size_t l0 = name_len(rd), l1 = name_len(rd + l0);
	memcpy(f.names[0], rd, l0);
	memcpy(f.names[1], rd + l0, l1);
	for (int i = 0; i < 5; i++)
		f.timers[i] = wire_get32(rd + rr_soa_serial_offset(rd) + 4 * i);
	if (!api_parse_soa_fields(body, "", &f, res))
		goto out;
	struct change_rrset ch = {0};
	ch.ttl = f.ttl;
	uint8_t rdata[2 + 2 * NAME_MAXLEN + 20];
	size_t off = 2 + api_soa_rdata(&f, rdata + 2);
	wire_put16(rdata, (uint16_t)(off - 2));
	memcpy(ch.owner, z.apex, name_len(z.apex));
	ch.type = RR_SOA;
	ch.count = 1;
	ch.rdata = rdata;
	ch.rdata_size = (uint32_t)off;
	if (commit(a, &z, &ch, 1, c.p.tenant, &serial, res)) {
		/* the SOA as stored: the fields asked for with the server's serial (not read back, which
		 * could fail after the change is done and leave the client without an answer) */
		wire_put32(rdata + 2 + rr_soa_serial_offset(rdata + 2), serial);
		respond_committed(res, &ch, serial);
	}
out:
	store_rrset_clear(&cur);
	json_decref(body);
	api_caller_free(&c);
}

/* ---- change review ---- */

void api_proposals_create(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body;
	if (!api_open(a, req, res, &c, &z, false, &body))
		return;
	size_t n = 0;
	struct change_rrset *ch = NULL;
	char err[256] = "";
	struct store_txn *t = NULL;
	int64_t id;
	if (!batch_shape(body, res)) {
		/* answered */
	} else if ((ch = parse_batch(&z, &c, json_object_get(body, "rrsets"), &n, res)) != NULL &&
	           api_monitors_allowed(a, ch, n, true, res)) {
		char *text = json_dumps(body, JSON_COMPACT);
		int rc = -1;
		if (text && store_begin(a->store, &t, err, sizeof(err)) == 0 &&
		    store_proposal_create(t, z.apex, c.p.tenant, text, time(NULL), &id, err, sizeof(err)) == 0) {
			rc = store_commit(t, err, sizeof(err));
			t = NULL; /* freed, committed or not */
		}
		if (rc == 0)
			http_json(res, 201,
			          json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "status", "pending", "author",
			                    c.p.tenant));
		else
			http_error(res, 503, NULL, "the proposal could not be stored: %s", err);
		free(text);
	}
	if (t)
		store_rollback(t);
	json_decref(body);
	change_rrsets_free(ch, n);
	api_caller_free(&c);
}

static int proposal_json(const struct store_proposal *p, void *arg)
{
	json_t *arr = arg, *body = json_loads(p->body, 0, NULL);
	json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:o,s:I}", "id", (json_int_t)p->id, "status",
	                                     store_proposal_status_name(p->status), "author", p->author, "reviewer",
	                                     p->reviewer, "change", body ? body : json_null(), "created",
	                                     (json_int_t)p->created));
	return 0;
}

void api_proposals_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	if (!api_whole_zone(&c, &z, false, res)) {
		api_caller_free(&c);
		return;
	}
	json_t *arr = json_array();
	char err[256] = "";
	struct store_page page;
	if (store_proposal_list(store_latest(a->store), z.apex, STORE_PROPOSAL_ANY, 0, API_PAGE_MAX, proposal_json, arr,
	                        &page, err, sizeof(err)) < 0) {
		json_decref(arr);
		http_error(res, 503, NULL, "store: %s", err);
	} else {
		http_json(res, 200, json_pack("{s:o}", "proposals", arr));
	}
	api_caller_free(&c);
}

/* The pending proposal req's {id} names in zone z, for c to review (verb: "approved", "rejected"):
 * true with *p filled (the caller clears it), or false with the refusal answered (404 no such
 * proposal in this zone, 409 not pending, 403 its author). */
static bool proposal_to_review(struct api *a, const struct http_request *req, struct http_response *res,
                               const struct store_zone *z, const struct api_caller *c, const char *verb,
                               struct store_proposal *p, long long *id)
{
	char *end, err[256] = "";
	*id = strtoll(req->params[1], &end, 10);
	if (*end || *id <= 0 || store_proposal_get(store_latest(a->store), *id, p, err, sizeof(err)) < 0 ||
	    !name_equal(p->zone, z->apex)) {
		http_error(res, 404, "id", "no proposal %.40s in this zone", req->params[1]);
		return false;
	}
	if (p->status != STORE_PROPOSAL_PENDING) {
		http_error(res, 409, "id", "proposal %lld is %s, not pending", *id,
		           store_proposal_status_name(p->status));
		return false;
	}
	if (strcmp(p->author, c->p.tenant) == 0) {
		http_error(res, 403, "id", "a change cannot be %s by its author (%s)", verb, p->author);
		return false;
	}
	return true;
}

void api_proposals_approve(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, true, NULL))
		return;
	long long id;
	struct store_proposal p = {0};
	struct change_rrset *ch = NULL;
	size_t n = 0;
	json_t *body = NULL;
	if (!proposal_to_review(a, req, res, &z, &c, "approved", &p, &id)) {
		/* answered */
	} else if (!(body = json_loads(p.body, 0, NULL)) ||
	           !(ch = parse_batch(&z, &c, json_object_get(body, "rrsets"), &n, res))) {
		if (!res->body)
			http_error(res, 500, NULL, "stored proposal %lld is unreadable", id);
	} else if (!api_monitors_allowed(a, ch, n, true, res)) {
		/* the policy may have changed since it was proposed: it stays pending */
	} else {
		/* the change and the proposal's status in one transaction: applied and approved, or
		 * neither (a refused change leaves it pending) */
		struct change_request rq = {.apex = z.apex,
		                            .rrsets = ch,
		                            .n = n,
		                            .principal = p.author,
		                            .proposal = id,
		                            .reviewer = c.p.tenant};
		struct change_result r;
		if (change_commit(a->change, &rq, &r) < 0)
			api_change_error(res, &r, z.apex, ch, n, NULL);
		else
			http_json(res, 200,
			          json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "status", "applied", "serial",
			                    (json_int_t)r.serial));
	}
	json_decref(body);
	store_proposal_clear(&p);
	change_rrsets_free(ch, n);
	api_caller_free(&c);
}

/* POST .../proposals/{id}/reject: a pending proposal refused by another principal (its author
 * cannot review it); nothing in the zone changes, so a locked zone's proposals can be rejected. */
void api_proposals_reject(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	char err[256] = "";
	long long id = 0;
	struct store_proposal p = {0};
	struct store_txn *t = NULL;
	int rc;
	if (!api_whole_zone(&c, &z, true, res) || !proposal_to_review(a, req, res, &z, &c, "rejected", &p, &id)) {
		/* answered */
	} else if ((rc = store_begin(a->store, &t, err, sizeof(err))) < 0 ||
	           (rc = store_proposal_set_status(t, id, STORE_PROPOSAL_REJECTED, c.p.tenant, err, sizeof(err))) < 0 ||
	           (rc = store_commit(t, err, sizeof(err)), t = NULL, rc) < 0) {
		/* another reviewer moved it first: the store says what it is now */
		if (rc == TERN_EINVAL)
			http_error(res, 409, "id", "%s", err);
		else
			http_error(res, 503, NULL, "the proposal could not be rejected: %s", err);
	} else {
		http_json(
		    res, 200,
		    json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "status", "rejected", "reviewer", c.p.tenant));
	}
	store_rollback(t); /* after a failed step before the commit (the commit frees it either way) */
	store_proposal_clear(&p);
	api_caller_free(&c);
}
