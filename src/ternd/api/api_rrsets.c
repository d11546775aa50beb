/* RRsets through the API: JSON changes parsed and checked, the write path (store, journal and
 * publish in that order), the RRset routes and the change-review flow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

/* Whether this write trims its zone's journal to keep entries. Finding the cut walks keep index
 * entries (about 50 us at 1,000), so a long journal is trimmed on one write in 16, picked by a
 * hash of the entry id (ids are global: a plain modulus could miss a zone written in step with
 * others for good); the journal then holds at most keep + a few dozen entries. */
static bool trim_due(int64_t entry, unsigned keep)
{
	uint64_t h = (uint64_t)entry * 0x9e3779b97f4a7c15u;
	return keep <= 64 || (h >> 60) == 0;
}

/* Appends every record of a change to an RR list (the journal's format), each with its TTL. */
static int list_add(uint8_t **buf, size_t *len, size_t *cap, const struct zone_change *c)
{
	const uint8_t *rec = c->rdata;
	for (uint16_t i = 0; i < c->count; i++, rec = rdata_next(rec)) {
		struct store_rr rr = {c->owner, c->type, c->ttls ? c->ttls[i] : c->ttl, rdata_len(rec),
		                      rdata_bytes(rec)};
		size_t need = store_rr_size(&rr);
		if (*len + need > *cap) {
			size_t ncap = (*len + need) * 2;
			uint8_t *n = realloc(*buf, ncap);
			if (!n)
				return TERN_ENOMEM;
			*buf = n;
			*cap = ncap;
		}
		if (store_rr_put(*buf, *cap, len, &rr) < 0)
			return TERN_ENOMEM;
	}
	return 0;
}

/* The journal entry's two RR lists, filled RRset by RRset from zone_diff(). */
struct journal_lists {
	uint8_t *removed, *added;
	size_t rlen, rcap, alen, acap;
};

/* One RRset that differs, whole on both sides: for RRSIG every signature at the name as it was and
 * as it becomes, each record with its own TTL (a secondary applying the entry ends with each
 * covered type's signatures at their TTL). */
static int journal_rrset(void *arg, const uint8_t *owner, uint16_t type, const struct zone_change *old,
                         const struct zone_change *now)
{
	struct journal_lists *j = arg;
	(void)owner;
	(void)type;
	if (old && list_add(&j->removed, &j->rlen, &j->rcap, old) < 0)
		return TERN_ENOMEM;
	if (now && list_add(&j->added, &j->alen, &j->acap, now) < 0)
		return TERN_ENOMEM;
	return 0;
}

/* zone_apply() names changes by their place in its list ("changes[3]: ..."); the caller knows
 * them as rrsets[i] (a batch), by the URL (one change) or as the body (an import: field given).
 * The server's own SOA change is reported against the name. */
static void rule_error(struct http_response *res, const char *err, const struct api_change_set *set,
                       const struct api_change *ch, size_t nuser, const char *field_given)
{
	size_t index = 0;
	const char *msg = err;
	if (sscanf(err, "changes[%zu]: ", &index) == 1 && (msg = strstr(err, "]: ")) != NULL)
		msg += 3;
	else
		msg = err;
	char field[48] = "name";
	if (field_given) {
		snprintf(field, sizeof(field), "%s", field_given);
	} else if (index + 1 < set->n) { /* find the caller's change with this owner and type */
		const struct zone_change *c = &set->all[index];
		for (size_t i = 0; i < nuser; i++) {
			if (ch[i].type == c->type && name_equal(ch[i].owner, c->owner)) {
				if (nuser > 1)
					snprintf(field, sizeof(field), "rrsets[%zu]", i);
				else
					snprintf(field, sizeof(field), "%s", ch[i].count ? "records" : "name");
				break;
			}
		}
	}
	const char *nl = strchr(msg, '\n'); /* the first problem; the rest repeat its kind */
	http_error(res, 400, field, "%.*s", nl ? (int)(nl - msg) : (int)strlen(msg), msg);
}

/* The write path, write lock held and cur the snapshot served: applies ch (plus a new SOA serial),
 * stores it with a journal entry in one durable transaction, publishes, and only then returns. */
static bool commit_locked(struct api *a, const struct store_zone *sz, const struct zone *cur,
                          const struct api_change *ch, size_t n, const char *errfield, const char *who,
                          uint32_t *serial, struct http_response *res)
{
	char err[4096] = "", name[NAME_MAXLEN * 4 + 1];
	name_to_text(sz->apex, name, sizeof(name));
	uint8_t *removed = NULL, *added = NULL;
	size_t rlen = 0, alen = 0;
	struct zone *next = NULL;
	struct store_txn *t = NULL;
	struct api_change_set set = {0};
	bool ok = false;
	/* the SOA with the next serial rides along with every change (a new SOA from the caller
	 * replaces the current one, serial excepted) */
	uint32_t next_serial = api_next_serial(cur->serial, sz->serial_policy, time(NULL));
	for (size_t i = 0; i < n; i++) {
		if (ch[i].type != RR_SOA)
			continue;
		/* one record at the apex, as the apex NS must stay: the server's SOA that
		 * api_change_set() adds would otherwise hide the caller's deletion (or second record) and
		 * answer 200 */
		if (ch[i].count != 1 || !name_equal(ch[i].owner, cur->apex)) {
			char field[48] = "name";
			if (errfield)
				snprintf(field, sizeof(field), "%s", errfield);
			else if (n > 1)
				snprintf(field, sizeof(field), "rrsets[%zu]", i);
			if (ch[i].count == 0)
				http_error(res, 400, field,
				           "the SOA record at the apex %s cannot be removed (PUT /api/v1/zones/%s/soa "
				           "changes its fields)",
				           name, name);
			else
				http_error(res, 400, field, "a zone has one SOA record, at its apex %s", name);
			goto out;
		}
	}
	if (api_change_set(cur, ch, n, next_serial, &set) < 0) {
		http_error(res, 500, NULL, "out of memory");
		goto out;
	}
	const struct zone_change *all = set.all;
	int rc = zone_apply(cur, all, set.n, &next, err, sizeof(err));
	if (rc < 0) {
		if (rc == TERN_EZONE)
			rule_error(res, err, &set, ch, n, errfield);
		else
			http_error(res, 500, NULL, "cannot apply the change: %s", err[0] ? err : tern_strerror(rc));
		goto out;
	}
	/* the journal: the RRsets that differ between the served version and the next, as they were
	 * and as they become (RFC 1995), so the previous version plus the entry is the next one (an
	 * import journals only the RRsets the file changes) */
	struct journal_lists jl = {0};
	rc = zone_diff(cur, next, all, set.n, journal_rrset, &jl);
	removed = jl.removed;
	added = jl.added;
	rlen = jl.rlen;
	alen = jl.alen;
	if (rc < 0) {
		http_error(res, 500, NULL, "cannot write the journal entry: %s", tern_strerror(rc));
		goto out;
	}
	if (store_begin(a->store, &t, err, sizeof(err)) < 0)
		goto store_failed;
	struct store_zone now; /* locked meanwhile? checked inside the transaction */
	if (store_zone_get(t, sz->apex, &now, err, sizeof(err)) < 0)
		goto store_failed;
	if (now.locked) {
		http_error(res, 409, "zone", "zone is locked: %s", now.lock_reason);
		goto out;
	}
	for (size_t i = 0; i < set.n; i++) {
		rc = all[i].count ? store_rrset_put_ttls(t, sz->apex, all[i].owner, all[i].type, all[i].ttl,
		                                         all[i].ttls, all[i].rdata, all[i].rdata_size, err, sizeof(err))
		                  : store_rrset_delete(t, sz->apex, all[i].owner, all[i].type, err, sizeof(err));
		if (rc < 0 && rc != TERN_ENOTFOUND)
			goto store_failed;
	}
	struct store_journal_entry e = {.serial_from = cur->serial,
	                                .serial_to = next_serial,
	                                .principal = who,
	                                .removed = removed,
	                                .removed_len = rlen,
	                                .added = added,
	                                .added_len = alen};
	int64_t entry = 0;
	if (store_zone_set_serial(t, sz->apex, next_serial, err, sizeof(err)) < 0 ||
	    store_journal_append(t, sz->apex, &e, &entry, err, sizeof(err)) < 0 ||
	    (trim_due(entry, api_config(a)->api.journal_keep) &&
	     store_journal_trim_keep(t, sz->apex, api_config(a)->api.journal_keep, err, sizeof(err)) < 0) ||
	    store_commit(t, err, sizeof(err)) < 0) {
		goto store_failed;
	}
	t = NULL;
	/* durable now: serve it, then answer */
	zones_publish(a->srv->zones, next);
	next = NULL;
	*serial = next_serial;
	ok = true;
	goto out;
store_failed:
	log_error("API: zone %s: store: %s", name, err);
	http_error(res, 503, NULL, "the change could not be stored: %s", err);
out:
	if (t)
		store_rollback(t);
	zone_discard(next);
	api_change_set_free(&set);
	free(removed);
	free(added);
	return ok;
}

/* The snapshot a write starts from (write lock held); NULL after a 500. */
static const struct zone *served(struct api *a, const struct store_zone *sz, struct http_response *res)
{
	const struct zone *cur = zones_get(a->srv->zones, sz->apex);
	if (!cur) {
		char name[NAME_MAXLEN * 4 + 1];
		name_to_text(sz->apex, name, sizeof(name));
		http_error(res, 500, NULL, "zone %s is not being served (it failed to load at start: see the log)",
		           name);
	}
	return cur;
}

bool api_commit(struct api *a, const struct store_zone *sz, const struct api_change *ch, size_t n, const char *who,
                uint32_t *serial, struct http_response *res)
{
	pthread_mutex_lock(&a->write_lock);
	const struct zone *cur = served(a, sz, res);
	bool ok = cur && commit_locked(a, sz, cur, ch, n, NULL, who, serial, res);
	pthread_mutex_unlock(&a->write_lock);
	return ok;
}

bool api_commit_import(struct api *a, const struct store_zone *sz, const struct zone *imp, const char *who,
                       uint32_t *serial, size_t *changes, struct http_response *res)
{
	struct api_change *ch = NULL;
	size_t n = 0;
	bool ok = false;
	pthread_mutex_lock(&a->write_lock);
	const struct zone *cur = served(a, sz, res);
	if (cur && api_import_changes(cur, imp, &ch, &n) < 0)
		http_error(res, 500, NULL, "import failed: out of memory");
	else if (cur)
		ok = commit_locked(a, sz, cur, ch, n, "body", who, serial, res);
	pthread_mutex_unlock(&a->write_lock);
	api_changes_free(ch, n);
	*changes = n;
	return ok;
}

/* ---- routes ---- */

/* Common start of a zone-scoped route: who, which zone, may they write it. */
static bool begin(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c,
                  struct store_zone *z, bool write)
{
	if (!api_authenticate(a, req, res, c))
		return false;
	if (!api_zone_get(a, c, req->params[0], z, res))
		goto fail;
	if (write && z->locked) {
		http_error(res, 409, "zone", "zone is locked: %s", z->lock_reason);
		goto fail;
	}
	return true;
fail:
	api_caller_free(c);
	return false;
}

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
	if (!begin(a, req, res, &c, &z, false))
		return;
	struct list_ctx l = {json_array(), &c, &z};
	char err[256] = "";
	if (store_rrset_foreach(store_latest(a->store), z.apex, list_one, &l, err, sizeof(err)) < 0) {
		json_decref(l.arr);
		http_error(res, 500, NULL, "store: %s", err);
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
	if (!begin(a, req, res, &c, &z, false))
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
			http_error(res, 500, NULL, "store: %s", err);
		}
	}
	api_caller_free(&c);
}

static void respond_committed(struct http_response *res, const struct api_change *ch, uint32_t serial)
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
	if (!begin(a, req, res, &c, &z, true))
		return;
	json_error_t je;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	struct api_change *ch = calloc(1, sizeof(*ch));
	uint32_t serial;
	if (!body) {
		http_error(res, 400, NULL, "body is not JSON: %s (line %d)", je.text, je.line);
	} else if (ch && api_parse_change(z.apex, body, req->params[1], req->params[2], "", ch, res) &&
	           allowed(&c, &z, ch->owner, ch->type, true, res)) {
		if (json_object_get(body, "delete"))
			http_error(res, 400, "delete", "use DELETE on this URL to remove the RRset");
		else if (api_commit(a, &z, ch, 1, c.p.tenant, &serial, res))
			respond_committed(res, ch, serial);
	}
	json_decref(body);
	api_changes_free(ch, 1);
	api_caller_free(&c);
}

void api_rrsets_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!begin(a, req, res, &c, &z, true))
		return;
	struct api_change ch = {0};
	uint32_t serial;
	char err[256] = "";
	struct store_rrset rs;
	if (url_rrset(&z, req, ch.owner, &ch.type, res) && allowed(&c, &z, ch.owner, ch.type, true, res)) {
		int rc = store_rrset_get(store_latest(a->store), z.apex, ch.owner, ch.type, &rs, err, sizeof(err));
		if (rc == TERN_ENOTFOUND) {
			http_error(res, 404, "name", "no %s RRset at %s", req->params[2], req->params[1]);
		} else if (rc < 0) {
			http_error(res, 500, NULL, "store: %s", err);
		} else {
			store_rrset_clear(&rs);
			if (api_commit(a, &z, &ch, 1, c.p.tenant, &serial, res))
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
static struct api_change *parse_batch(const struct store_zone *z, const struct api_caller *c, json_t *arr, size_t *n,
                                      struct http_response *res)
{
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > API_MAX_CHANGES) {
		http_error(res, 400, "rrsets", "must be a list of 1 to %d changes", API_MAX_CHANGES);
		return NULL;
	}
	size_t count = json_array_size(arr);
	struct api_change *ch = calloc(count, sizeof(*ch));
	if (!ch) {
		http_error(res, 500, NULL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		char where[48];
		snprintf(where, sizeof(where), "rrsets[%zu]", i);
		if (!api_parse_change(z->apex, json_array_get(arr, i), NULL, NULL, where, &ch[i], res) ||
		    !allowed(c, z, ch[i].owner, ch[i].type, true, res)) {
			api_changes_free(ch, count);
			return NULL;
		}
	}
	if (!api_changes_distinct(ch, count, res)) {
		api_changes_free(ch, count);
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
	if (!begin(a, req, res, &c, &z, true))
		return;
	json_error_t je;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	size_t n = 0;
	struct api_change *ch = NULL;
	uint32_t serial;
	if (!body)
		http_error(res, 400, NULL, "body is not JSON: %s (line %d)", je.text, je.line);
	else if (!batch_shape(body, res))
		;
	else if ((ch = parse_batch(&z, &c, json_object_get(body, "rrsets"), &n, res)) != NULL &&
	         api_commit(a, &z, ch, n, c.p.tenant, &serial, res))
		http_json(res, 200, json_pack("{s:I,s:I}", "serial", (json_int_t)serial, "changes", (json_int_t)n));
	json_decref(body);
	api_changes_free(ch, n);
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
	if (!begin(a, req, res, &c, &z, true))
		return;
	json_error_t je;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	struct store_rrset cur = {0};
	char err[256] = "";
	uint32_t serial;
	if (!body || !json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object%s%s", body ? "" : ": ", body ? "" : je.text);
		goto out;
	}
	if (!allowed(&c, &z, z.apex, RR_SOA, true, res))
		goto out;
	if (store_rrset_get(store_latest(a->store), z.apex, z.apex, RR_SOA, &cur, err, sizeof(err)) < 0) {
		http_error(res, 500, NULL, "store: %s", err);
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
	struct api_change ch = {0};
	ch.ttl = f.ttl;
	uint8_t rdata[2 + 2 * NAME_MAXLEN + 20];
	size_t off = 2 + api_soa_rdata(&f, rdata + 2);
	wire_put16(rdata, (uint16_t)(off - 2));
	memcpy(ch.owner, z.apex, name_len(z.apex));
	ch.type = RR_SOA;
	ch.count = 1;
	ch.rdata = rdata;
	ch.rdata_size = (uint32_t)off;
	if (api_commit(a, &z, &ch, 1, c.p.tenant, &serial, res)) {
		struct store_rrset now = {0};
		if (store_rrset_get(store_latest(a->store), z.apex, z.apex, RR_SOA, &now, err, sizeof(err)) == 0) {
			json_t *o = api_rrset_json(now.owner, now.type, now.ttl, now.count, now.rdata);
			json_object_set_new(o, "serial", json_integer(serial));
			http_json(res, 200, o);
			store_rrset_clear(&now);
		}
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
	if (!begin(a, req, res, &c, &z, false))
		return;
	json_error_t je;
	json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	size_t n = 0;
	struct api_change *ch = NULL;
	char err[256] = "";
	struct store_txn *t = NULL;
	int64_t id;
	if (!body) {
		http_error(res, 400, NULL, "body is not JSON: %s (line %d)", je.text, je.line);
	} else if (!batch_shape(body, res)) {
		/* answered */
	} else if ((ch = parse_batch(&z, &c, json_object_get(body, "rrsets"), &n, res)) != NULL) {
		char *text = json_dumps(body, JSON_COMPACT);
		if (text && store_begin(a->store, &t, err, sizeof(err)) == 0 &&
		    store_proposal_create(t, z.apex, c.p.tenant, text, time(NULL), &id, err, sizeof(err)) == 0 &&
		    store_commit(t, err, sizeof(err)) == 0) {
			t = NULL;
			http_json(res, 201,
			          json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "status", "pending", "author",
			                    c.p.tenant));
		} else {
			http_error(res, 503, NULL, "the proposal could not be stored: %s", err);
		}
		free(text);
	}
	if (t)
		store_rollback(t);
	json_decref(body);
	api_changes_free(ch, n);
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
	if (!begin(a, req, res, &c, &z, false))
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
		http_error(res, 500, NULL, "store: %s", err);
	} else {
		http_json(res, 200, json_pack("{s:o}", "proposals", arr));
	}
	api_caller_free(&c);
}

void api_proposals_approve(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!begin(a, req, res, &c, &z, true))
		return;
	char *end, err[256] = "";
	long long id = strtoll(req->params[1], &end, 10);
	struct store_proposal p = {0};
	struct api_change *ch = NULL;
	size_t n = 0;
	uint32_t serial;
	struct store_txn *t = NULL;
	json_t *body = NULL;
	if (*end || id <= 0 || store_proposal_get(store_latest(a->store), id, &p, err, sizeof(err)) < 0 ||
	    !name_equal(p.zone, z.apex)) {
		http_error(res, 404, "id", "no proposal %.40s in this zone", req->params[1]);
	} else if (p.status != STORE_PROPOSAL_PENDING) {
		http_error(res, 409, "id", "proposal %lld is %s, not pending", id,
		           store_proposal_status_name(p.status));
	} else if (strcmp(p.author, c.p.tenant) == 0) {
		http_error(res, 403, "id", "a change cannot be approved by its author (%s)", p.author);
	} else if (!(body = json_loads(p.body, 0, NULL)) ||
	           !(ch = parse_batch(&z, &c, json_object_get(body, "rrsets"), &n, res))) {
		if (!res->body)
			http_error(res, 500, NULL, "stored proposal %lld is unreadable", id);
	} else if (api_commit(a, &z, ch, n, p.author, &serial, res)) {
		/* applied and served: now the proposal says so (a refused change leaves it pending) */
		if (store_begin(a->store, &t, err, sizeof(err)) == 0 &&
		    store_proposal_set_status(t, id, STORE_PROPOSAL_APPROVED, c.p.tenant, err, sizeof(err)) == 0 &&
		    store_proposal_set_status(t, id, STORE_PROPOSAL_APPLIED, c.p.tenant, err, sizeof(err)) == 0 &&
		    store_commit(t, err, sizeof(err)) == 0)
			t = NULL;
		else
			log_error("API: proposal %lld applied but its status not recorded: %s", id, err);
		http_json(res, 200,
		          json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "status", "applied", "serial",
		                    (json_int_t)serial));
	}
	if (t)
		store_rollback(t);
	json_decref(body);
	store_proposal_clear(&p);
	api_changes_free(ch, n);
	api_caller_free(&c);
}
