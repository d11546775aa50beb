/* The Route 53-compatible API (REST/XML, 2013-04-01, issue 26): requests signed with AWS Signature
 * V4 by a tenant's access key (made over the JSON API: POST /api/v1/r53-keys), hosted zones and
 * their record sets through the same zone creation, deletion and write path as the JSON API,
 * changes PENDING until served (by this node and every PoP), tags; errors in Route 53's XML form. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "ternd/api/api.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/pops.h"
#include "ternd/api/r53_sigv4.h"
#include "ternd/api/r53_xml.h"
#include "ternd/base/log.h"

#define R53_XMLNS "https://route53.amazonaws.com/doc/2013-04-01/"
#define R53_ZONES_MAX_ITEMS 100
#define R53_RRSETS_MAX_ITEMS 300
#define R53_COMMIT_TRIES 5 /* a batch made again when another write got in between */

/* ---- answers ---- */

static void xml_begin(struct text *t, const char *root)
{
	text_printf(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"%s\">", root, R53_XMLNS);
}

static void xml_end(struct http_response *res, int status, struct text *t, const char *root)
{
	text_printf(t, "</%s>\n", root);
	if (t->nomem || !t->s)
		http_error(res, 500, NULL, "out of memory");
	else
		http_text(res, status, "text/xml", t->s, t->len);
	text_free(t);
}

/* <name>text</name>, text escaped. */
static void xml_el(struct text *t, const char *name, const char *text)
{
	text_printf(t, "<%s>", name);
	r53_xml_escape(t, text);
	text_printf(t, "</%s>", name);
}

static void request_id(char out[37])
{
	uint8_t b[16] = {0};
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b));
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	         b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void reset(struct http_response *res)
{
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
}

/* Route 53's error form: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>. */
static void r53_error(struct http_response *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void r53_error(struct http_response *res, int status, const char *code, const char *fmt, ...)
{
	char msg[1024], id[37];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	request_id(id);
	reset(res);
	struct text t = {0};
	xml_begin(&t, "ErrorResponse");
	text_printf(&t, "<Error><Type>%s</Type>", status >= 500 ? "Receiver" : "Sender");
	xml_el(&t, "Code", code);
	xml_el(&t, "Message", msg);
	text_printf(&t, "</Error>");
	xml_el(&t, "RequestId", id);
	xml_end(res, status, &t, "ErrorResponse");
}

/* InvalidChangeBatch has a form of its own: <InvalidChangeBatch><Messages><Message/>...</Messages>. */
static void r53_invalid_batch(struct http_response *res, char msgs[][512], size_t n)
{
	char id[37];
	request_id(id);
	reset(res);
	struct text t = {0};
	xml_begin(&t, "InvalidChangeBatch");
	text_printf(&t, "<Messages>");
	for (size_t i = 0; i < n; i++)
		xml_el(&t, "Message", msgs[i]);
	text_printf(&t, "</Messages>");
	xml_el(&t, "RequestId", id);
	xml_end(res, 400, &t, "InvalidChangeBatch");
}

/* The JSON API's error in res (from a function shared with it) in Route 53's form: code by status
 * unless given. */
static void from_json_error(struct http_response *res, const char *code)
{
	int status = res->status ? res->status : 500;
	json_t *doc = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
	json_t *e = json_object_get(doc, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *field = json_string_value(json_object_get(e, "field"));
	char text[1024];
	snprintf(text, sizeof(text), "%s%s%s", field ? field : "", field ? ": " : "", msg ? msg : "failed");
	if (!code)
		code = status == 404   ? "NoSuchHostedZone"
		       : status == 409 ? "ConflictingDomainExists"
		       : status == 429 ? "Throttling"
		       : status == 503 ? "ServiceUnavailable"
		       : status >= 500 ? "InternalFailure"
		                       : "InvalidInput";
	if (status == 403 || status == 409 || status == 429)
		status = 400; /* Route 53 says these with 400 */
	json_decref(doc);
	r53_error(res, status, code, "%s", text);
}

/* ---- the caller: a signed request ---- */

static const char *header_of(const void *ctx, const char *name)
{
	return http_header(ctx, name);
}

/* The credential an access key names: 0 with tenant and secret, TERN_ENOTFOUND, or another error. */
static int key_get(struct api *a, const char *akid, char tenant[AUTH_TENANT_MAX + 1], char secret[R53_SECRET_MAX + 1])
{
	char name[64 + R53_AKID_MAX], err[256];
	void *v = NULL;
	size_t len = 0;
	int64_t when;
	snprintf(name, sizeof(name), "r53 key %s", akid);
	int rc = store_setting_get(store_latest(a->store), name, &v, &len, &when, err, sizeof(err));
	if (rc < 0)
		return rc;
	json_t *doc = len ? json_loadb(v, len, 0, NULL) : NULL;
	free(v);
	const char *t = json_string_value(json_object_get(doc, "tenant")),
	           *s = json_string_value(json_object_get(doc, "secret"));
	rc = t && s && strlen(t) <= AUTH_TENANT_MAX && strlen(s) <= R53_SECRET_MAX ? 0 : TERN_ENOTFOUND;
	if (rc == 0) {
		strcpy(tenant, t);
		strcpy(secret, s);
	}
	json_decref(doc);
	return rc;
}

static bool r53_auth(struct api *a, const struct http_request *req, struct http_response *res, struct api_caller *c)
{
	memset(c, 0, sizeof(*c));
	const char *h = http_header(req, "Authorization");
	char err[512] = "", secret[R53_SECRET_MAX + 1];
	struct r53_sigv4 s;
	if (!h) {
		r53_error(res, 403, "MissingAuthenticationToken", "Missing Authentication Token");
		return false;
	}
	if (http_header_count(req, "Authorization") > 1 || http_header_count(req, "X-Amz-Date") > 1) {
		r53_error(res, 403, "IncompleteSignature", "more than one Authorization or X-Amz-Date header");
		return false;
	}
	if (r53_sigv4_parse(h, &s, err, sizeof(err)) < 0) {
		r53_error(res, 403, "IncompleteSignature", "%s", err);
		return false;
	}
	int rc = key_get(a, s.akid, c->p.tenant, secret);
	if (rc == TERN_ENOTFOUND) {
		r53_error(res, 403, "InvalidClientTokenId", "The security token included in the request is invalid.");
		return false;
	}
	if (rc < 0) {
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read");
		return false;
	}
	rc = r53_sigv4_check(&s, req->method, http_target(req), header_of, req, req->body, req->body_len, secret,
	                     time(NULL), err, sizeof(err));
	explicit_bzero(secret, sizeof(secret));
	if (rc < 0) {
		if (rc == TERN_ENOMEM)
			r53_error(res, 500, "InternalFailure", "out of memory");
		else
			r53_error(res, 403, "SignatureDoesNotMatch", "%s", err);
		return false;
	}
	unsigned rate, wait;
	if (!api_rate_take(a, c->p.tenant, &rate, &wait)) {
		snprintf(res->retry_after, sizeof(res->retry_after), "%u", wait);
		r53_error(res, 400, "Throttling", "Rate exceeded: %u requests a second for the tenant", rate);
		return false;
	}
	return true;
}

/* ---- zones: ids, what Route 53 keeps beside them (caller reference, comment, tags) ---- */

struct zone_list {
	struct store_zone *z;
	size_t n, cap;
	int rc;
};

static int zone_add(const struct store_zone *z, void *arg)
{
	struct zone_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct store_zone *m = realloc(l->z, cap * sizeof(*m));
		if (!m) {
			l->rc = TERN_ENOMEM;
			return TERN_ENOMEM;
		}
		l->z = m;
		l->cap = cap;
	}
	l->z[l->n++] = *z;
	return 0;
}

/* Every zone of the tenant, in canonical order: *out malloc'd. A Route 53 id is looked up among
 * them (a tenant's zones are read in pages of 1,000, one statement each). */
static int tenant_zones(struct api *a, const char *tenant, struct store_zone **out, size_t *n)
{
	struct zone_list l = {0};
	struct store_page page = {0};
	uint8_t after[NAME_MAXLEN];
	bool first = true;
	char err[256];
	*out = NULL;
	*n = 0;
	do {
		if (store_zone_list(store_latest(a->store), tenant, first ? NULL : after, 1000, zone_add, &l, &page,
		                    err, sizeof(err)) < 0 ||
		    l.rc < 0) {
			free(l.z);
			return l.rc < 0 ? l.rc : TERN_EIO;
		}
		first = false;
		memcpy(after, page.next_apex, NAME_MAXLEN);
	} while (page.more);
	*out = l.z;
	*n = l.n;
	return 0;
}

static void zone_id(const struct store_zone *z, char out[24])
{
	snprintf(out, 24, "Z%014" PRIX64, (uint64_t)z->id);
}

static void id_name(uint64_t id, char *out, size_t cap)
{
	snprintf(out, cap, "r53 id Z%014" PRIX64, id);
}

/* The zone of store id id if it is tenant's: 0 with *z, TERN_ENOTFOUND, or another error. A zone
 * made over this API is found through its setting (r53 id ZID: its name), one row; another (made
 * over the JSON API) among the tenant's zones. */
static int zone_of_id(struct api *a, const char *tenant, uint64_t id, struct store_zone *z)
{
	char name[64], err[256];
	void *v = NULL;
	size_t len = 0;
	int64_t when;
	uint8_t apex[NAME_MAXLEN];
	id_name(id, name, sizeof(name));
	int rc = store_setting_get(store_latest(a->store), name, &v, &len, &when, err, sizeof(err));
	if (rc < 0 && rc != TERN_ENOTFOUND)
		return rc;
	if (rc == 0 && len && len < NAME_MAXLEN * 4 && !memchr(v, 0, len) &&
	    name_from_text(apex, v, (const uint8_t *)"") >= 0 &&
	    store_zone_get(store_latest(a->store), apex, z, err, sizeof(err)) == 0 && (uint64_t)z->id == id &&
	    strcmp(z->tenant, tenant) == 0) {
		free(v);
		return 0;
	}
	free(v);
	struct store_zone *all = NULL;
	size_t n = 0;
	if ((rc = tenant_zones(a, tenant, &all, &n)) < 0)
		return rc;
	rc = TERN_ENOTFOUND;
	for (size_t i = 0; i < n && rc; i++)
		if ((uint64_t)all[i].id == id) {
			*z = all[i];
			rc = 0;
		}
	free(all);
	return rc;
}

/* The caller's zone of Route 53 id text (with or without "/hostedzone/"): true with *z, else the
 * answer (NoSuchHostedZone: another tenant's zone is not told apart from none) is written. */
static bool zone_by_id(struct api *a, const struct api_caller *c, const char *text, struct store_zone *z,
                       struct http_response *res)
{
	if (strncmp(text, "/hostedzone/", 12) == 0)
		text += 12;
	char *end = NULL;
	uint64_t id =
	    text[0] == 'Z' && strlen(text) <= 17 && strspn(text + 1, "0123456789ABCDEF") == strlen(text + 1) && text[1]
	        ? strtoull(text + 1, &end, 16)
	        : 0;
	int rc = id ? zone_of_id(a, c->p.tenant, id, z) : TERN_ENOTFOUND;
	if (rc == 0)
		return true;
	if (rc == TERN_ENOTFOUND)
		r53_error(res, 404, "NoSuchHostedZone", "No hosted zone found with ID: %.64s", text);
	else
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read");
	return false;
}

struct meta {
	char caller_ref[R53_REF_MAX + 1];
	char comment[R53_COMMENT_MAX + 1];
	bool has_comment;
	size_t ntags;
	struct r53_tag tags[R53_MAX_TAGS];
};

static void meta_name(const struct store_zone *z, char *out, size_t cap)
{
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(z->apex, text, sizeof(text));
	snprintf(out, cap, "r53 zone %s", text);
}

/* What Route 53 keeps beside zone z (none for a zone made over the JSON API, or an earlier zone of
 * the name: the zone's id is kept with it). */
static void meta_get(struct api *a, const struct store_zone *z, struct meta *m)
{
	char name[NAME_MAXLEN * 4 + 16], err[256];
	void *v = NULL;
	size_t len = 0;
	int64_t when;
	memset(m, 0, sizeof(*m));
	meta_name(z, name, sizeof(name));
	if (store_setting_get(store_latest(a->store), name, &v, &len, &when, err, sizeof(err)) < 0)
		return;
	json_t *doc = len ? json_loadb(v, len, 0, NULL) : NULL;
	free(v);
	if (json_integer_value(json_object_get(doc, "id")) == z->id &&
	    !strcmp(json_string_value(json_object_get(doc, "tenant")) ?: "", z->tenant)) {
		const char *ref = json_string_value(json_object_get(doc, "caller_reference"));
		const char *comment = json_string_value(json_object_get(doc, "comment"));
		snprintf(m->caller_ref, sizeof(m->caller_ref), "%s", ref ? ref : "");
		m->has_comment = comment != NULL;
		snprintf(m->comment, sizeof(m->comment), "%s", comment ? comment : "");
		json_t *tags = json_object_get(doc, "tags"), *tag;
		size_t i;
		json_array_foreach(tags, i, tag)
		{
			const char *k = json_string_value(json_array_get(tag, 0)),
			           *val = json_string_value(json_array_get(tag, 1));
			if (!k || !val || m->ntags == R53_MAX_TAGS)
				continue;
			snprintf(m->tags[m->ntags].key, sizeof(m->tags[0].key), "%s", k);
			snprintf(m->tags[m->ntags].value, sizeof(m->tags[0].value), "%s", val);
			m->ntags++;
		}
	}
	json_decref(doc);
}

/* Writes the settings named (each value, "" for none) in one transaction. */
static int settings_put(struct api *a, const char *const *names, const char *const *values, size_t n, char *err,
                        size_t errlen)
{
	struct store_txn *t = NULL;
	int rc = store_begin(a->store, &t, err, errlen);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_setting_put(t, names[i], values[i], strlen(values[i]), err, errlen);
	if (rc == 0)
		return store_commit(t, err, errlen);
	store_rollback(t);
	return rc;
}

static int meta_put(struct api *a, const struct store_zone *z, const struct meta *m, char *err, size_t errlen)
{
	char name[NAME_MAXLEN * 4 + 16];
	meta_name(z, name, sizeof(name));
	json_t *tags = json_array();
	for (size_t i = 0; i < m->ntags; i++)
		json_array_append_new(tags, json_pack("[s,s]", m->tags[i].key, m->tags[i].value));
	json_t *doc =
	    json_pack("{s:I,s:s,s:s,s:o,s:o}", "id", (json_int_t)z->id, "tenant", z->tenant, "caller_reference",
	              m->caller_ref, "comment", m->has_comment ? json_string(m->comment) : json_null(), "tags", tags);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	const char *names[] = {name}, *values[] = {text};
	int rc = settings_put(a, names, values, 1, err, errlen);
	free(text);
	return rc;
}

/* ---- changes: ids that say what to look at, and whether it is served ---- */

enum { CHANGE_KIND_WRITE = 'C', CHANGE_KIND_DELETE = 'D' };

static void change_id(char kind, const struct store_zone *z, uint32_t serial, time_t at, char out[40])
{
	snprintf(out, 40, "%c%012" PRIX64 "%08" PRIX32 "%010" PRIX64, kind, (uint64_t)z->id & UINT64_C(0xffffffffffff),
	         serial, (uint64_t)at & UINT64_C(0xffffffffff));
}

static bool served(struct api *a, const uint8_t *apex, uint32_t serial)
{
	const struct zone *z = zones_get(a->srv->zones, apex);
	if (!z || rr_serial_newer(serial, z->serial))
		return false;
	return !a->pops || pops_serving(a->pops, apex, serial);
}

static void change_info(struct text *t, const char *id, bool insync, time_t at, const char *comment)
{
	char when[32];
	struct tm tm;
	gmtime_r(&at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	text_printf(t, "<ChangeInfo><Id>/change/%s</Id><Status>%s</Status><SubmittedAt>%s</SubmittedAt>", id,
	            insync ? "INSYNC" : "PENDING", when);
	if (comment && *comment)
		xml_el(t, "Comment", comment);
	text_printf(t, "</ChangeInfo>");
}

/* ---- zones as XML ---- */

static int count_one(const struct store_rrset *rs, void *arg)
{
	(void)rs;
	(*(size_t *)arg)++;
	return 0;
}

static void hosted_zone(struct api *a, struct text *t, const struct store_zone *z)
{
	char id[24], name[NAME_MAXLEN * 4 + 1], err[256];
	struct meta m;
	size_t count = 0;
	zone_id(z, id);
	name_to_text(z->apex, name, sizeof(name));
	meta_get(a, z, &m);
	store_rrset_foreach(store_latest(a->store), z->apex, count_one, &count, err, sizeof(err));
	text_printf(t, "<HostedZone><Id>/hostedzone/%s</Id>", id);
	xml_el(t, "Name", name);
	if (m.caller_ref[0])
		xml_el(t, "CallerReference", m.caller_ref);
	else
		text_printf(t, "<CallerReference>tern-%s</CallerReference>", id);
	text_printf(t, "<Config>");
	if (m.has_comment)
		xml_el(t, "Comment", m.comment);
	text_printf(t,
	            "<PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>%zu</ResourceRecordSetCount>"
	            "</HostedZone>",
	            count);
}

static void delegation_set(struct api *a, struct text *t, const struct store_zone *z)
{
	struct store_rrset rs = {0};
	char err[256], name[NAME_MAXLEN * 4 + 1];
	text_printf(t, "<DelegationSet><NameServers>");
	if (store_rrset_get(store_latest(a->store), z->apex, z->apex, RR_NS, &rs, err, sizeof(err)) == 0) {
		const uint8_t *rec = rs.rdata;
		for (uint16_t i = 0; i < rs.count; i++, rec = rdata_next(rec)) {
			if (name_to_text(rdata_bytes(rec), name, sizeof(name)) >= 0)
				xml_el(t, "NameServer", name);
		}
		store_rrset_clear(&rs);
	}
	text_printf(t, "</NameServers></DelegationSet>");
}

/* ---- hosted zones ---- */

static bool body_doc(const struct http_request *req, struct http_response *res, struct r53_node **doc)
{
	char err[512];
	if (r53_xml_parse(req->body ? req->body : "", req->body_len, doc, err, sizeof(err)) < 0) {
		r53_error(res, 400, "InvalidInput", "%s", err);
		return false;
	}
	return true;
}

/* A Route 53 domain name ("example.com" or "example.com.", any case) as a lower-cased wire name. */
static bool r53_name(const char *text, uint8_t out[NAME_MAXLEN])
{
	size_t n = strlen(text);
	char buf[R53_NAME_MAX + 2];
	if (n == 0 || n > R53_NAME_MAX)
		return false;
	snprintf(buf, sizeof(buf), "%s%s", text, text[n - 1] == '.' && (n < 2 || text[n - 2] != '\\') ? "" : ".");
	if (name_from_text(out, buf, (const uint8_t *)"") < 0)
		return false;
	for (uint8_t *l = out; *l; l += *l + 1)
		for (unsigned i = 1; i <= *l; i++)
			if (l[i] >= 'A' && l[i] <= 'Z')
				l[i] = (uint8_t)(l[i] + 32);
	return true;
}

static void ref_name(const char *tenant, const char *ref, char *out, size_t cap)
{
	snprintf(out, cap, "r53 ref %s %s", tenant, ref);
}

void api_r53_create_zone(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct r53_node *doc = NULL;
	struct r53_create cr;
	char err[512], rname[AUTH_TENANT_MAX + R53_REF_MAX + 16];
	if (!r53_auth(a, req, res, &c))
		return;
	if (!body_doc(req, res, &doc))
		goto out;
	if (r53_read_create(doc, &cr, err, sizeof(err)) < 0) {
		r53_error(res, 400, "InvalidInput", "%s", err);
		goto out;
	}
	uint8_t apex[NAME_MAXLEN];
	if (!r53_name(cr.name, apex) || name_labels(apex) < 1) {
		r53_error(res, 400, "InvalidDomainName", "Name: %.200s is not a domain name", cr.name);
		goto out;
	}
	void *v = NULL;
	size_t len = 0;
	int64_t when;
	ref_name(c.p.tenant, cr.caller_ref, rname, sizeof(rname));
	int rc = store_setting_get(store_latest(a->store), rname, &v, &len, &when, err, sizeof(err));
	free(v);
	if (rc == 0 && len) {
		r53_error(res, 409, "HostedZoneAlreadyExists",
		          "A hosted zone has already been created with the specified caller reference %.128s",
		          cr.caller_ref);
		goto out;
	}
	char text[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, text, sizeof(text));
	if (zones_get(a->srv->zones, apex)) {
		r53_error(res, 409, "HostedZoneAlreadyExists", "A hosted zone named %s already exists", text);
		goto out;
	}
	struct store_zone sz;
	if (!api_zone_create_named(a, &c, apex, &sz, res)) {
		/* 409: the name is taken (HostedZoneAlreadyExists) or overlaps another tenant's zone */
		bool taken = res->status == 409 && res->body && strstr(res->body, "already exists");
		bool top = res->status == 403 && res->body && strstr(res->body, "top-level name");
		from_json_error(res, taken                ? "HostedZoneAlreadyExists"
		                     : top                ? "InvalidDomainName"
		                     : res->status == 403 ? "TooManyHostedZones"
		                                          : NULL);
		goto out;
	}
	struct meta m = {0};
	snprintf(m.caller_ref, sizeof(m.caller_ref), "%s", cr.caller_ref);
	m.has_comment = cr.has_comment;
	snprintf(m.comment, sizeof(m.comment), "%s", cr.comment);
	char id[24];
	zone_id(&sz, id);
	char iname[64];
	id_name((uint64_t)sz.id, iname, sizeof(iname));
	const char *names[] = {rname, iname}, *values[] = {id, text};
	if (meta_put(a, &sz, &m, err, sizeof(err)) < 0 || settings_put(a, names, values, 2, err, sizeof(err)) < 0)
		log_warning("API: Route 53 zone %s: its caller reference and comment not kept: %s", text, err);
	char cid[40];
	time_t now = time(NULL);
	change_id(CHANGE_KIND_WRITE, &sz, sz.serial, now, cid);
	struct text t = {0};
	xml_begin(&t, "CreateHostedZoneResponse");
	hosted_zone(a, &t, &sz);
	change_info(&t, cid, served(a, sz.apex, sz.serial), now, NULL);
	delegation_set(a, &t, &sz);
	xml_end(res, 201, &t, "CreateHostedZoneResponse");
out:
	r53_xml_free(doc);
	api_caller_free(&c);
}

void api_r53_get_zone(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!r53_auth(a, req, res, &c))
		return;
	if (zone_by_id(a, &c, req->params[0], &z, res)) {
		struct text t = {0};
		xml_begin(&t, "GetHostedZoneResponse");
		hosted_zone(a, &t, &z);
		delegation_set(a, &t, &z);
		xml_end(res, 200, &t, "GetHostedZoneResponse");
	}
	api_caller_free(&c);
}

/* maxitems: 1 to max, def when absent; false after the answer. */
static bool max_items(const struct http_request *req, unsigned max, unsigned *out, struct http_response *res)
{
	const char *v = http_query(req, "maxitems");
	*out = max;
	if (!v)
		return true;
	char *end = NULL;
	long n = v[0] >= '0' && v[0] <= '9' ? strtol(v, &end, 10) : 0;
	if (!end || *end || n < 1) {
		r53_error(res, 400, "InvalidInput", "maxitems: %.32s is not a positive integer", v);
		return false;
	}
	*out = n > (long)max ? max : (unsigned)n;
	return true;
}

/* ListHostedZones (marker: the id of the first zone to list) and ListHostedZonesByName (dnsname and
 * hostedzoneid: the first name and zone), in canonical order of names, as Route 53 lists them. */
static void list_zones(struct api *a, const struct http_request *req, struct http_response *res, bool by_name)
{
	struct api_caller c;
	const char *root = by_name ? "ListHostedZonesByNameResponse" : "ListHostedZonesResponse";
	if (!r53_auth(a, req, res, &c))
		return;
	unsigned max;
	struct store_zone *all = NULL;
	size_t n = 0, start = 0;
	const char *marker = http_query(req, by_name ? "hostedzoneid" : "marker");
	const char *dnsname = by_name ? http_query(req, "dnsname") : NULL;
	uint8_t from[NAME_MAXLEN];
	if (!max_items(req, R53_ZONES_MAX_ITEMS, &max, res))
		goto out;
	if (marker && by_name && !dnsname) {
		r53_error(res, 400, "InvalidInput", "hostedzoneid: given without dnsname");
		goto out;
	}
	if (dnsname && !r53_name(dnsname, from)) {
		r53_error(res, 400, "InvalidDomainName", "dnsname: %.200s is not a domain name", dnsname);
		goto out;
	}
	if (tenant_zones(a, c.p.tenant, &all, &n) < 0) {
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read");
		goto out;
	}
	if (dnsname)
		while (start < n && name_cmp(all[start].apex, from) < 0)
			start++;
	if (marker) {
		size_t i = start;
		char id[24];
		for (; i < n; i++) {
			zone_id(&all[i], id);
			if (!strcmp(id, strncmp(marker, "/hostedzone/", 12) ? marker : marker + 12))
				break;
		}
		if (i == n) {
			r53_error(res, 400, "InvalidInput", "%s: no hosted zone %.64s to start at",
			          by_name ? "hostedzoneid" : "marker", marker);
			goto out;
		}
		start = i;
	}
	struct text t = {0};
	xml_begin(&t, root);
	text_printf(&t, "<HostedZones>");
	size_t end = start + max < n ? start + max : n;
	for (size_t i = start; i < end; i++)
		hosted_zone(a, &t, &all[i]);
	text_printf(&t, "</HostedZones>");
	bool more = end < n;
	char id[24], name[NAME_MAXLEN * 4 + 1];
	if (by_name) {
		if (dnsname)
			xml_el(&t, "DNSName", dnsname);
		if (marker)
			xml_el(&t, "HostedZoneId", marker);
	} else {
		xml_el(&t, "Marker", marker ? marker : "");
	}
	text_printf(&t, "<IsTruncated>%s</IsTruncated>", more ? "true" : "false");
	if (more) {
		zone_id(&all[end], id);
		if (by_name) {
			name_to_text(all[end].apex, name, sizeof(name));
			xml_el(&t, "NextDNSName", name);
			xml_el(&t, "NextHostedZoneId", id);
		} else {
			xml_el(&t, "NextMarker", id);
		}
	}
	text_printf(&t, "<MaxItems>%u</MaxItems>", max);
	xml_end(res, 200, &t, root);
out:
	free(all);
	api_caller_free(&c);
}

void api_r53_list_zones(void *ctx, const struct http_request *req, struct http_response *res)
{
	list_zones(ctx, req, res, false);
}

void api_r53_list_zones_by_name(void *ctx, const struct http_request *req, struct http_response *res)
{
	list_zones(ctx, req, res, true);
}

void api_r53_zone_count(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	uint64_t n = 0;
	char err[256];
	if (!r53_auth(a, req, res, &c))
		return;
	if (store_zone_count(store_latest(a->store), c.p.tenant, &n, err, sizeof(err)) < 0) {
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read: %s", err);
	} else {
		struct text t = {0};
		xml_begin(&t, "GetHostedZoneCountResponse");
		text_printf(&t, "<HostedZoneCount>%" PRIu64 "</HostedZoneCount>", n);
		xml_end(res, 200, &t, "GetHostedZoneCountResponse");
	}
	api_caller_free(&c);
}

/* Whether the zone holds more than its apex SOA and NS (Route 53 deletes only such a zone). */
static int other_rrset(const struct store_rrset *rs, void *arg)
{
	const uint8_t *apex = arg;
	return name_equal(rs->owner, apex) && (rs->type == RR_SOA || rs->type == RR_NS) ? 0 : 1;
}

void api_r53_delete_zone(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	char err[256], text[NAME_MAXLEN * 4 + 1];
	if (!r53_auth(a, req, res, &c))
		return;
	if (!zone_by_id(a, &c, req->params[0], &z, res))
		goto out;
	name_to_text(z.apex, text, sizeof(text));
	int rc = store_rrset_foreach(store_latest(a->store), z.apex, other_rrset, z.apex, err, sizeof(err));
	if (rc < 0) {
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read: %s", err);
		goto out;
	}
	if (rc > 0) {
		r53_error(
		    res, 400, "HostedZoneNotEmpty",
		    "The specified hosted zone %s contains non-required resource record sets and so cannot be deleted.",
		    text);
		goto out;
	}
	if (z.locked) {
		r53_error(res, 400, "PriorRequestNotComplete", "zone %s is locked: %s", text, z.lock_reason);
		goto out;
	}
	if (!api_zone_writable(&z, res)) {
		from_json_error(res, "InvalidInput");
		goto out;
	}
	struct change_result r;
	if (change_delete(a->change, z.apex, &r) < 0) {
		if (r.step == CHANGE_STORE)
			r53_error(res, 503, "ServiceUnavailable", "the zone could not be deleted: %s", r.msg);
		else {
			api_change_error(res, &r, z.apex, NULL, 0, NULL);
			from_json_error(res, NULL);
		}
		goto out;
	}
	struct meta none = {0};
	char iname[64];
	id_name((uint64_t)z.id, iname, sizeof(iname));
	const char *names[] = {iname}, *values[] = {""};
	if (meta_put(a, &z, &none, err, sizeof(err)) < 0 || settings_put(a, names, values, 1, err, sizeof(err)) < 0)
		log_warning("API: Route 53 zone %s: its tags not removed: %s", text, err);
	char cid[40];
	time_t now = time(NULL);
	change_id(CHANGE_KIND_DELETE, &z, z.serial, now, cid);
	struct text t = {0};
	xml_begin(&t, "DeleteHostedZoneResponse");
	change_info(&t, cid, zones_get(a->srv->zones, z.apex) == NULL, now, NULL);
	xml_end(res, 200, &t, "DeleteHostedZoneResponse");
out:
	api_caller_free(&c);
}

/* ---- record sets ---- */

struct rrset_text_ctx {
	struct text *t;
	const uint8_t *start; /* NULL: from the first */
	uint16_t start_type; /* 0: any type of start */
	unsigned max, emitted;
	bool more;
	uint8_t next[NAME_MAXLEN];
	uint16_t next_type;
	char *buf;
};

static int rrset_xml(const struct store_rrset *rs, void *arg)
{
	struct rrset_text_ctx *x = arg;
	if (x->start) {
		int c = name_cmp(rs->owner, x->start);
		if (c < 0 || (c == 0 && rs->type < x->start_type))
			return 0;
	}
	if (x->emitted == x->max) {
		x->more = true;
		memcpy(x->next, rs->owner, name_len(rs->owner));
		x->next_type = rs->type;
		return 1;
	}
	char name[NAME_MAXLEN * 4 + 1], type[RRTEXT_TYPE_MAXLEN];
	name_to_text(rs->owner, name, sizeof(name));
	rrtext_type_to_text(rs->type, type, sizeof(type));
	text_printf(x->t, "<ResourceRecordSet>");
	xml_el(x->t, "Name", name);
	xml_el(x->t, "Type", type);
	text_printf(x->t, "<TTL>%" PRIu32 "</TTL><ResourceRecords>", rs->ttl);
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec)) {
		if (rrtext_rdata_to_text(rs->type, rdata_bytes(rec), rdata_len(rec), x->buf, 65536 * 2) < 0)
			continue;
		text_printf(x->t, "<ResourceRecord>");
		xml_el(x->t, "Value", x->buf);
		text_printf(x->t, "</ResourceRecord>");
	}
	text_printf(x->t, "</ResourceRecords></ResourceRecordSet>");
	x->emitted++;
	return 0;
}

void api_r53_list_rrsets(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	char err[256];
	if (!r53_auth(a, req, res, &c))
		return;
	if (!zone_by_id(a, &c, req->params[0], &z, res))
		goto out;
	unsigned max;
	if (!max_items(req, R53_RRSETS_MAX_ITEMS, &max, res))
		goto out;
	const char *sname = http_query(req, "name"), *stype = http_query(req, "type");
	if (http_query(req, "identifier")) {
		r53_error(res, 400, "InvalidInput", "identifier: routing policies (SetIdentifier) are not supported");
		goto out;
	}
	if (stype && !sname) {
		r53_error(res, 400, "InvalidInput", "type: given without name");
		goto out;
	}
	uint8_t start[NAME_MAXLEN];
	uint16_t type = 0;
	if (sname && !r53_name(sname, start)) {
		r53_error(res, 400, "InvalidInput", "name: %.200s is not a domain name", sname);
		goto out;
	}
	if (stype && (rrtext_type_from_text(stype, &type) < 0)) {
		r53_error(res, 400, "InvalidInput", "type: %.32s is not a record type", stype);
		goto out;
	}
	struct text t = {0};
	struct rrset_text_ctx x = {&t, sname ? start : NULL, type, max, 0, false, {0}, 0, malloc(65536 * 2)};
	if (!x.buf) {
		r53_error(res, 500, "InternalFailure", "out of memory");
		goto out;
	}
	xml_begin(&t, "ListResourceRecordSetsResponse");
	text_printf(&t, "<ResourceRecordSets>");
	int rc = store_rrset_foreach(store_latest(a->store), z.apex, rrset_xml, &x, err, sizeof(err));
	free(x.buf);
	if (rc < 0) {
		text_free(&t);
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read: %s", err);
		goto out;
	}
	text_printf(&t, "</ResourceRecordSets><IsTruncated>%s</IsTruncated>", x.more ? "true" : "false");
	if (x.more) {
		char name[NAME_MAXLEN * 4 + 1], tt[RRTEXT_TYPE_MAXLEN];
		name_to_text(x.next, name, sizeof(name));
		rrtext_type_to_text(x.next_type, tt, sizeof(tt));
		xml_el(&t, "NextRecordName", name);
		xml_el(&t, "NextRecordType", tt);
	}
	text_printf(&t, "<MaxItems>%u</MaxItems>", max);
	xml_end(res, 200, &t, "ListResourceRecordSetsResponse");
out:
	api_caller_free(&c);
}

/* One RRset as the batch leaves it. */
struct work {
	uint8_t owner[NAME_MAXLEN];
	uint16_t type;
	bool existed, exists;
	uint32_t ttl;
	uint16_t count;
	uint8_t *rdata; /* malloc'd */
	uint32_t size;
};

/* Whether two record lists hold the same records (in any order). */
static bool same_records(const uint8_t *a, uint16_t na, const uint8_t *b, uint16_t nb)
{
	if (na != nb)
		return false;
	const uint8_t *x = a;
	for (uint16_t i = 0; i < na; i++, x = rdata_next(x)) {
		bool found = false;
		const uint8_t *y = b;
		for (uint16_t k = 0; k < nb && !found; k++, y = rdata_next(y))
			found =
			    rdata_len(x) == rdata_len(y) && memcmp(rdata_bytes(x), rdata_bytes(y), rdata_len(x)) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* The values of a change as records (rdata layout, duplicates dropped): 0, or an InvalidInput
 * message in err. */
static int change_records(const struct r53_change *ch, const uint8_t *owner, uint16_t type, uint8_t **out,
                          uint32_t *size, uint16_t *count, char *err, size_t errlen)
{
	size_t cap = 0, used = 0;
	uint8_t *rd = NULL, *one = malloc(65535);
	uint16_t n = 0;
	*out = NULL;
	if (!one) {
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	for (size_t i = 0; i < ch->nvalues; i++) {
		size_t len = 0;
		char why[400] = "";
		if (rrtext_rdata_from_text((const uint8_t *)"", owner, type, ch->values[i], one, 65535, &len, why,
		                           sizeof(why)) < 0) {
			snprintf(err, errlen, "Value %.100s: %s", ch->values[i], why);
			goto fail;
		}
		bool dup = false;
		for (const uint8_t *p = rd; p && p < rd + used && !dup; p = rdata_next(p))
			dup = rdata_len(p) == len && memcmp(rdata_bytes(p), one, len) == 0;
		if (dup)
			continue;
		if (used + 2 + len > cap) {
			cap = (used + 2 + len) * 2;
			uint8_t *m = realloc(rd, cap);
			if (!m) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			rd = m;
		}
		wire_put16(rd + used, (uint16_t)len);
		memcpy(rd + used + 2, one, len);
		used += 2 + len;
		n++;
	}
	free(one);
	*out = rd;
	*size = (uint32_t)used;
	*count = n;
	return 0;
fail:
	free(one);
	free(rd);
	return TERN_EINVAL;
}

#define R53_BATCH_MESSAGES 16

/* The batch against the zone as the snapshot t holds it: the final state of each RRset it touches
 * in w (n of them), or the answer written (InvalidInput, InvalidChangeBatch) and false. */
static bool batch_apply(struct store_txn *t, const struct store_zone *z, const struct r53_batch *b, struct work *w,
                        size_t *nw, struct http_response *res)
{
	char msgs[R53_BATCH_MESSAGES][512], err[512], zname[NAME_MAXLEN * 4 + 1];
	size_t nmsgs = 0;
	name_to_text(z->apex, zname, sizeof(zname));
	*nw = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct r53_change *ch = &b->changes[i];
		uint8_t owner[NAME_MAXLEN];
		uint16_t type;
		if (!r53_name(ch->name, owner)) {
			r53_error(res, 400, "InvalidInput", "Changes[%zu]: Name %.200s is not a domain name", i,
			          ch->name);
			return false;
		}
		char oname[NAME_MAXLEN * 4 + 1];
		name_to_text(owner, oname, sizeof(oname));
		if (!name_in(owner, z->apex)) {
			r53_error(res, 400, "InvalidInput",
			          "Changes[%zu]: RRSet with DNS name %s is not permitted in zone %s", i, oname, zname);
			return false;
		}
		if (rrtext_type_from_text(ch->type, &type) < 0) {
			r53_error(res, 400, "InvalidInput", "Changes[%zu]: Type %.16s is not a record type", i,
			          ch->type);
			return false;
		}
		if (type == RR_SOA) {
			r53_error(res, 400, "InvalidInput",
			          "Changes[%zu]: the SOA is kept by the server (its serial changes with every write)",
			          i);
			return false;
		}
		if (ch->ttl < 0 || ch->nvalues == 0) {
			r53_error(res, 400, "InvalidInput", "Changes[%zu]: %s is required", i,
			          ch->ttl < 0 ? "TTL" : "ResourceRecords");
			return false;
		}
		uint8_t *rd;
		uint32_t size;
		uint16_t count;
		int rc = change_records(ch, owner, type, &rd, &size, &count, err, sizeof(err));
		if (rc < 0) {
			r53_error(res, rc == TERN_ENOMEM ? 500 : 400,
			          rc == TERN_ENOMEM ? "InternalFailure" : "InvalidInput", "Changes[%zu]: %s", i, err);
			return false;
		}
		struct work *e = NULL;
		for (size_t k = 0; k < *nw && !e; k++)
			if (w[k].type == type && name_equal(w[k].owner, owner))
				e = &w[k];
		if (!e) {
			e = &w[(*nw)++];
			memset(e, 0, sizeof(*e));
			memcpy(e->owner, owner, name_len(owner));
			e->type = type;
			struct store_rrset rs = {0};
			rc = store_rrset_get(t, z->apex, owner, type, &rs, err, sizeof(err));
			if (rc < 0 && rc != TERN_ENOTFOUND) {
				free(rd);
				r53_error(res, 503, "ServiceUnavailable", "the store cannot be read: %s", err);
				return false;
			}
			if (rc == 0) {
				e->existed = e->exists = true;
				e->ttl = rs.ttl;
				e->count = rs.count;
				e->size = rs.rdata_size;
				e->rdata = malloc(rs.rdata_size ? rs.rdata_size : 1);
				if (e->rdata)
					memcpy(e->rdata, rs.rdata, rs.rdata_size);
				store_rrset_clear(&rs);
				if (!e->rdata) {
					free(rd);
					r53_error(res, 500, "InternalFailure", "out of memory");
					return false;
				}
			}
		}
		const char *problem = NULL;
		if (ch->action == R53_CREATE && e->exists)
			problem = "but it already exists";
		else if (ch->action == R53_DELETE && !e->exists)
			problem = "but it was not found";
		else if (ch->action == R53_DELETE &&
		         (e->ttl != (uint32_t)ch->ttl || !same_records(e->rdata, e->count, rd, count)))
			problem = "but the values provided do not match the current values";
		if (problem) {
			if (nmsgs < R53_BATCH_MESSAGES)
				snprintf(msgs[nmsgs++], sizeof(msgs[0]),
				         "Tried to %s resource record set [name='%.300s', type='%s'] %s",
				         ch->action == R53_CREATE ? "create" : "delete", oname, ch->type, problem);
			free(rd);
			continue;
		}
		free(e->rdata);
		e->rdata = NULL;
		if (ch->action == R53_DELETE) {
			free(rd);
			e->exists = false;
		} else {
			e->exists = true;
			e->rdata = rd;
			e->size = size;
			e->count = count;
			e->ttl = (uint32_t)ch->ttl;
		}
	}
	if (nmsgs) {
		r53_invalid_batch(res, msgs, nmsgs);
		return false;
	}
	return true;
}

static void work_free(struct work *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i].rdata);
}

void api_r53_change_rrsets(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	struct r53_node *doc = NULL;
	struct r53_batch b = {0};
	struct work *w = NULL;
	struct change_rrset *ch = NULL;
	size_t nw = 0;
	char err[512], text[NAME_MAXLEN * 4 + 1];
	if (!r53_auth(a, req, res, &c))
		return;
	if (!zone_by_id(a, &c, req->params[0], &z, res) || !body_doc(req, res, &doc))
		goto out;
	if (r53_read_batch(doc, &b, err, sizeof(err)) < 0) {
		r53_error(res, 400, "InvalidInput", "%s", err);
		goto out;
	}
	name_to_text(z.apex, text, sizeof(text));
	if (!api_zone_writable(&z, res)) {
		from_json_error(res, "InvalidInput");
		goto out;
	}
	w = calloc(b.n, sizeof(*w));
	ch = calloc(b.n, sizeof(*ch));
	if (!w || !ch) {
		r53_error(res, 500, "InternalFailure", "out of memory");
		goto out;
	}
	struct change_result r = {0};
	for (int attempt = 0;; attempt++) {
		/* the RRsets as of one version (the snapshot's serial), and the write made only on it */
		struct store_txn *t = NULL;
		struct store_zone now;
		if (store_begin_read(a->store, &t, err, sizeof(err)) < 0 ||
		    store_zone_get(t, z.apex, &now, err, sizeof(err)) < 0) {
			store_rollback(t);
			r53_error(res, 503, "ServiceUnavailable", "the store cannot be read: %s", err);
			goto out;
		}
		work_free(w, nw);
		bool ok = batch_apply(t, &now, &b, w, &nw, res);
		store_rollback(t);
		if (!ok)
			goto out;
		size_t n = 0;
		for (size_t i = 0; i < nw; i++) {
			if (!w[i].existed && !w[i].exists)
				continue; /* made and deleted in the batch */
			ch[n] = (struct change_rrset){.type = w[i].type,
			                              .count = w[i].exists ? w[i].count : 0,
			                              .ttl = w[i].ttl,
			                              .rdata_size = w[i].exists ? w[i].size : 0,
			                              .rdata = w[i].exists ? w[i].rdata : NULL};
			memcpy(ch[n].owner, w[i].owner, name_len(w[i].owner));
			n++;
		}
		char who[AUTH_TENANT_MAX + 16];
		snprintf(who, sizeof(who), "route53:%s", c.p.tenant);
		struct change_request rq = {
		    .apex = z.apex, .rrsets = ch, .n = n, .principal = who, .if_serial = true, .serial = now.serial};
		if (n == 0) {
			r.serial = now.serial;
			break;
		}
		if (change_commit(a->change, &rq, &r) == 0)
			break;
		if (r.step == CHANGE_STALE && attempt + 1 < R53_COMMIT_TRIES)
			continue;
		if (r.step == CHANGE_REFUSED) {
			char msgs[1][512];
			const char *nl = strchr(r.msg, '\n');
			snprintf(msgs[0], sizeof(msgs[0]), "%.*s", nl ? (int)(nl - r.msg) : (int)strlen(r.msg), r.msg);
			r53_invalid_batch(res, msgs, 1);
		} else if (r.step == CHANGE_STORE || r.step == CHANGE_STALE) {
			r53_error(res, 503, "PriorRequestNotComplete", "the change could not be stored: %s", r.msg);
		} else {
			api_change_error(res, &r, z.apex, ch, n, NULL);
			from_json_error(res, r.step == CHANGE_ZONE && r.code == TERN_EBUSY ? "PriorRequestNotComplete"
			                                                                   : NULL);
		}
		goto out;
	}
	const struct r53_node *cb = r53_xml_child(doc, "ChangeBatch"), *cm = r53_xml_child(cb, "Comment");
	char cid[40];
	time_t now = time(NULL);
	change_id(CHANGE_KIND_WRITE, &z, r.serial, now, cid);
	struct text t = {0};
	xml_begin(&t, "ChangeResourceRecordSetsResponse");
	change_info(&t, cid, served(a, z.apex, r.serial), now, cm ? cm->text : NULL);
	xml_end(res, 200, &t, "ChangeResourceRecordSetsResponse");
out:
	work_free(w, nw);
	free(w);
	free(ch);
	r53_batch_free(&b);
	r53_xml_free(doc);
	api_caller_free(&c);
}

/* ---- changes ---- */

void api_r53_get_change(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!r53_auth(a, req, res, &c))
		return;
	const char *id = req->params[0];
	if (strncmp(id, "/change/", 8) == 0)
		id += 8;
	uint64_t zone = 0, at = 0;
	uint32_t serial = 0;
	bool ok = strlen(id) == 31 && (id[0] == CHANGE_KIND_WRITE || id[0] == CHANGE_KIND_DELETE) &&
	          strspn(id + 1, "0123456789ABCDEF") == 30 &&
	          sscanf(id + 1, "%12" SCNx64 "%8" SCNx32 "%10" SCNx64, &zone, &serial, &at) == 3;
	struct store_zone z;
	int rc = ok ? zone_of_id(a, c.p.tenant, zone, &z) : TERN_ENOTFOUND;
	if (rc < 0 && rc != TERN_ENOTFOUND) {
		r53_error(res, 503, "ServiceUnavailable", "the store cannot be read");
		goto out;
	}
	/* a write to a zone of the caller's; a deletion of one no longer there (nothing to tell) */
	if (!ok || (id[0] == CHANGE_KIND_WRITE && rc < 0)) {
		r53_error(res, 404, "NoSuchChange", "A change with the specified change ID does not exist: %.64s", id);
		goto out;
	}
	bool insync = id[0] == CHANGE_KIND_WRITE ? served(a, z.apex, serial) : rc == TERN_ENOTFOUND;
	struct text t = {0};
	xml_begin(&t, "GetChangeResponse");
	change_info(&t, id, insync, (time_t)at, NULL);
	xml_end(res, 200, &t, "GetChangeResponse");
out:
	api_caller_free(&c);
}

/* ---- tags ---- */

/* The zone a tags URL names (only hosted zones carry tags here). */
static bool tags_zone(struct api *a, const struct api_caller *c, const struct http_request *req, struct store_zone *z,
                      struct http_response *res)
{
	if (strcmp(req->params[0], "hostedzone") != 0) {
		r53_error(res, 400, "InvalidInput", "ResourceType: %.32s: only hostedzone resources have tags here",
		          req->params[0]);
		return false;
	}
	return zone_by_id(a, c, req->params[1], z, res);
}

void api_r53_list_tags(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!r53_auth(a, req, res, &c))
		return;
	if (tags_zone(a, &c, req, &z, res)) {
		struct meta m;
		char id[24];
		meta_get(a, &z, &m);
		zone_id(&z, id);
		struct text t = {0};
		xml_begin(&t, "ListTagsForResourceResponse");
		text_printf(
		    &t, "<ResourceTagSet><ResourceType>hostedzone</ResourceType><ResourceId>%s</ResourceId><Tags>", id);
		for (size_t i = 0; i < m.ntags; i++) {
			text_printf(&t, "<Tag>");
			xml_el(&t, "Key", m.tags[i].key);
			xml_el(&t, "Value", m.tags[i].value);
			text_printf(&t, "</Tag>");
		}
		text_printf(&t, "</Tags></ResourceTagSet>");
		xml_end(res, 200, &t, "ListTagsForResourceResponse");
	}
	api_caller_free(&c);
}

void api_r53_change_tags(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	struct r53_node *doc = NULL;
	struct r53_tag_change *tc = NULL;
	char err[512];
	if (!r53_auth(a, req, res, &c))
		return;
	if (!tags_zone(a, &c, req, &z, res) || !body_doc(req, res, &doc))
		goto out;
	tc = malloc(sizeof(*tc));
	struct meta *m = malloc(sizeof(*m));
	if (!tc || !m) {
		free(m);
		r53_error(res, 500, "InternalFailure", "out of memory");
		goto out;
	}
	if (r53_read_tags(doc, tc, err, sizeof(err)) < 0) {
		free(m);
		r53_error(res, 400, "InvalidInput", "%s", err);
		goto out;
	}
	meta_get(a, &z, m);
	for (size_t i = 0; i < tc->nremove; i++)
		for (size_t k = 0; k < m->ntags; k++)
			if (!strcmp(m->tags[k].key, tc->remove[i])) {
				m->tags[k] = m->tags[--m->ntags];
				break;
			}
	for (size_t i = 0; i < tc->nadd; i++) {
		size_t k = 0;
		while (k < m->ntags && strcmp(m->tags[k].key, tc->add[i].key))
			k++;
		if (k == m->ntags) {
			if (m->ntags == R53_MAX_TAGS) {
				free(m);
				r53_error(res, 400, "InvalidInput", "AddTags: a hosted zone has at most %d tags",
				          R53_MAX_TAGS);
				goto out;
			}
			m->ntags++;
		}
		m->tags[k] = tc->add[i];
	}
	int rc = meta_put(a, &z, m, err, sizeof(err));
	free(m);
	if (rc < 0) {
		r53_error(res, 503, "ServiceUnavailable", "the tags could not be stored: %s", err);
		goto out;
	}
	struct text t = {0};
	xml_begin(&t, "ChangeTagsForResourceResponse");
	xml_end(res, 200, &t, "ChangeTagsForResourceResponse");
out:
	free(tc);
	r53_xml_free(doc);
	api_caller_free(&c);
}

/* ---- access keys (JSON API, bearer tokens) ---- */

static void random_text(char *out, size_t n, const char *alphabet, size_t alen, bool *ok)
{
	uint8_t b[64];
	*ok = n < sizeof(b) && getrandom(b, n, 0) == (ssize_t)n;
	for (size_t i = 0; *ok && i < n; i++)
		out[i] = alphabet[b[i] % alen]; /* 256 % alen == 0 for the alphabets below: no bias */
	out[*ok ? n : 0] = 0;
	explicit_bzero(b, sizeof(b));
}

void api_r53_keys_create(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_service_scope_ok(&c, true, res)) {
		static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; /* 32 */
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; /* 64 */
		char akid[24] = "AKTN", secret[41], name[64 + R53_AKID_MAX], err[256];
		bool ok1, ok2;
		random_text(akid + 4, 16, upper, 32, &ok1);
		random_text(secret, 40, b64, 64, &ok2);
		json_t *doc = json_pack("{s:s,s:s,s:I}", "tenant", c.p.tenant, "secret", secret, "created",
		                        (json_int_t)time(NULL));
		char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
		json_decref(doc);
		snprintf(name, sizeof(name), "r53 key %s", akid);
		const char *names[] = {name}, *values[] = {text};
		if (!ok1 || !ok2)
			http_error(res, 500, NULL, "no random numbers for a key");
		else if (!text)
			http_error(res, 500, NULL, "out of memory");
		else if (settings_put(a, names, values, 1, err, sizeof(err)) < 0)
			http_error(res, 503, NULL, "the key could not be stored: %s", err);
		else
			http_json(res, 201,
			          json_pack("{s:s,s:s,s:s}", "access_key_id", akid, "secret_access_key", secret,
			                    "tenant", c.p.tenant));
		if (text)
			explicit_bzero(text, strlen(text));
		free(text);
		explicit_bzero(secret, sizeof(secret));
	}
	api_caller_free(&c);
}

void api_r53_keys_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (api_service_scope_ok(&c, true, res)) {
		const char *akid = req->params[0];
		char tenant[AUTH_TENANT_MAX + 1], secret[R53_SECRET_MAX + 1], name[64 + R53_AKID_MAX], err[256];
		int rc = strlen(akid) <= R53_AKID_MAX ? key_get(a, akid, tenant, secret) : TERN_ENOTFOUND;
		explicit_bzero(secret, sizeof(secret));
		if (rc == TERN_ENOTFOUND || (rc == 0 && strcmp(tenant, c.p.tenant) != 0)) {
			http_error(res, 404, "id", "no access key %.64s", akid);
		} else if (rc < 0) {
			http_error(res, 503, NULL, "the store cannot be read");
		} else {
			snprintf(name, sizeof(name), "r53 key %s", akid);
			const char *names[] = {name}, *values[] = {""};
			if (settings_put(a, names, values, 1, err, sizeof(err)) < 0)
				http_error(res, 503, NULL, "the key could not be deleted: %s", err);
			else
				res->status = 204;
		}
	}
	api_caller_free(&c);
}

const struct http_route api_r53_routes[] = {
    {"POST", "/2013-04-01/hostedzone", api_r53_create_zone, 0, false},
    {"GET", "/2013-04-01/hostedzone", api_r53_list_zones, 0, false},
    {"GET", "/2013-04-01/hostedzonesbyname", api_r53_list_zones_by_name, 0, false},
    {"GET", "/2013-04-01/hostedzonecount", api_r53_zone_count, 0, false},
    {"GET", "/2013-04-01/hostedzone/{}", api_r53_get_zone, 0, false},
    {"DELETE", "/2013-04-01/hostedzone/{}", api_r53_delete_zone, 0, false},
    {"POST", "/2013-04-01/hostedzone/{}/rrset", api_r53_change_rrsets, 0, true},
    {"POST", "/2013-04-01/hostedzone/{}/rrset/", api_r53_change_rrsets, 0, true},
    {"GET", "/2013-04-01/hostedzone/{}/rrset", api_r53_list_rrsets, 0, false},
    {"GET", "/2013-04-01/hostedzone/{}/rrset/", api_r53_list_rrsets, 0, false},
    {"GET", "/2013-04-01/change/{}", api_r53_get_change, 0, false},
    {"GET", "/2013-04-01/tags/{}/{}", api_r53_list_tags, 0, false},
    {"POST", "/2013-04-01/tags/{}/{}", api_r53_change_tags, 0, false},
};
const size_t api_r53_nroutes = sizeof(api_r53_routes) / sizeof(api_r53_routes[0]);
