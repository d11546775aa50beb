/* Ownership of domain names (issue 23): a tenant claims a name and gets a token of its own to put
 * in _tern-challenge.<name> TXT; verification walks from the root (lib/check_walk.c, the hints of
 * api.check-hints) for that TXT, and for the name's delegation in its parent: a parent whose NS set
 * for the name is the operator's nameservers (api.nameservers) proves it for the tenant whose zone
 * of that name Tern serves. The result is stored with its evidence (each server asked, what it
 * answered, when). The rules: claims that are not verified block no one; a name is verified for one
 * tenant at a time (another tenant's verification is refused while the first one's proof still
 * stands, and takes the name over, the first claim marked lost, once it is gone); a zone of a name
 * verified by another tenant is flagged in its API object, never deleted. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check_input.h"
#include "lib/check_walk.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/rcu.h"

#define CLAIMS_PER_TENANT 256
#define CHALLENGE_LABEL "_tern-challenge"

/* ---- the rows ---- */

struct claims {
	json_t *list; /* GET: the caller's claims as JSON */
	const char *tenant; /* find: the row of this tenant */
	struct store_ownership found;
	char evidence[STORE_OWNERSHIP_EVIDENCE_MAX + 1];
	bool have;
	struct store_ownership other; /* another tenant's verified claim (the first) */
	char other_evidence[STORE_OWNERSHIP_EVIDENCE_MAX + 1];
	bool have_other;
};

static json_t *claim_json(const struct store_ownership *o)
{
	char text[NAME_MAXLEN * 4 + 1], txt[NAME_MAXLEN * 4 + 32];
	name_to_text(o->name, text, sizeof(text));
	snprintf(txt, sizeof(txt), "%s.%s", CHALLENGE_LABEL, text);
	json_t *ev = json_loads(o->evidence, 0, NULL);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:I, s:I, s:I}", "name", text, "state", o->state,
	                      "method", o->method, "token", o->token, "txt", "name", txt, "type", "TXT", "value",
	                      o->token, "created", (json_int_t)o->created, "checked", (json_int_t)o->checked,
	                      "verified", (json_int_t)o->verified);
	if (j)
		json_object_set_new(j, "evidence", ev ? ev : json_object());
	else
		json_decref(ev);
	return j;
}

static int each_claim(const struct store_ownership *o, void *arg)
{
	struct claims *c = arg;
	if (c->list)
		json_array_append_new(c->list, claim_json(o));
	if (c->tenant && strcmp(o->tenant, c->tenant) == 0) {
		c->found = *o;
		check_copy(c->evidence, sizeof(c->evidence), o->evidence);
		c->found.evidence = c->evidence;
		c->have = true;
	} else if (c->tenant && !c->have_other && strcmp(o->state, "verified") == 0) {
		c->other = *o;
		check_copy(c->other_evidence, sizeof(c->other_evidence), o->evidence);
		c->other.evidence = c->other_evidence;
		c->have_other = true;
	}
	return 0;
}

static int count_claim(const struct store_ownership *o, void *arg)
{
	(void)o;
	++*(size_t *)arg;
	return 0;
}

/* The claims on name (every tenant's) into *c, c->tenant's in c->found. False with a 503. */
static bool read_claims(struct api *a, const uint8_t *name, struct claims *c, struct http_response *res)
{
	char err[256] = "";
	if (store_ownership_list(store_latest(a->store), NULL, name, each_claim, c, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	return true;
}

static bool write_claims(struct api *a, const struct store_ownership *o, size_t n, struct http_response *res)
{
	char err[256] = "";
	struct store_txn *t = NULL;
	int rc = store_begin(a->store, &t, err, sizeof(err));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_ownership_put(t, &o[i], err, sizeof(err));
	if (rc == 0)
		rc = store_commit(t, err, sizeof(err));
	else if (t)
		store_rollback(t);
	if (rc < 0) {
		http_error(res, rc == TERN_EINVAL ? 400 : 503, NULL, "store: %s", err);
		return false;
	}
	return true;
}

/* A claimed name from a URL segment or JSON: a domain name of two labels at least. */
static bool parse_claimed(const char *text, const char *field, uint8_t name[NAME_MAXLEN], struct http_response *res)
{
	if (!text || !api_parse_zone_name(text, name)) {
		http_error(res, 400, field, "must be a domain name");
		return false;
	}
	if (name_labels(name) < 2) {
		http_error(res, 400, field, "a top-level name cannot be claimed");
		return false;
	}
	return true;
}

/* ---- routes: claim, list, show ---- */

void api_ownership_claim(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	json_t *body = NULL;
	if (!api_open(a, req, res, &c, NULL, false, &body))
		return;
	uint8_t name[NAME_MAXLEN];
	const char *key;
	json_t *v;
	struct claims *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object");
		goto done;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "name") != 0) {
			http_error(res, 400, key, "unknown field");
			goto done;
		}
	}
	if (!parse_claimed(json_string_value(json_object_get(body, "name")), "name", name, res))
		goto done;
	if (c.p.scope.read_only || !auth_allows(&c.p, name, NULL, 0, true)) {
		http_error(res, 403, "scope", "the token's scope does not allow claiming this name");
		goto done;
	}
	cl->tenant = c.p.tenant;
	if (!read_claims(a, name, cl, res))
		goto done;
	if (cl->have) { /* claimed before: the same token */
		http_json(res, 200, claim_json(&cl->found));
		goto done;
	}
	size_t held = 0;
	char err[256] = "";
	if (store_ownership_list(store_latest(a->store), c.p.tenant, NULL, count_claim, &held, err, sizeof(err)) < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		goto done;
	}
	if (held >= CLAIMS_PER_TENANT) {
		http_error(res, 403, "name", "tenant %s has %d claims already", c.p.tenant, CLAIMS_PER_TENANT);
		goto done;
	}
	struct store_ownership o = {.evidence = "{}", .created = time(NULL)};
	uint8_t rnd[16];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		http_error(res, 500, NULL, "no random bytes for a token");
		goto done;
	}
	int off = snprintf(o.token, sizeof(o.token), "tern-");
	for (size_t i = 0; i < sizeof(rnd); i++)
		off += snprintf(o.token + off, sizeof(o.token) - (size_t)off, "%02x", rnd[i]);
	snprintf(o.tenant, sizeof(o.tenant), "%s", c.p.tenant);
	memcpy(o.name, name, name_len(name));
	snprintf(o.state, sizeof(o.state), "pending");
	if (write_claims(a, &o, 1, res))
		http_json(res, 201, claim_json(&o));
done:
	free(cl);
	json_decref(body);
	api_caller_free(&c);
}

void api_ownership_list(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	struct claims *cl = calloc(1, sizeof(*cl));
	char err[256] = "";
	if (!cl || !(cl->list = json_array()))
		http_error(res, 500, NULL, "out of memory");
	else if (store_ownership_list(store_latest(a->store), c.p.tenant, NULL, each_claim, cl, err, sizeof(err)) < 0)
		http_error(res, 503, NULL, "store: %s", err);
	else
		http_json(res, 200, json_pack("{s:O}", "claims", cl->list));
	if (cl)
		json_decref(cl->list);
	free(cl);
	api_caller_free(&c);
}

void api_ownership_show(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	uint8_t name[NAME_MAXLEN];
	char text[NAME_MAXLEN * 4 + 1];
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	struct claims *cl = calloc(1, sizeof(*cl));
	if (!cl)
		http_error(res, 500, NULL, "out of memory");
	else if (parse_claimed(req->params[0], "name", name, res) && (cl->tenant = c.p.tenant) &&
	         read_claims(a, name, cl, res)) {
		if (cl->have) {
			http_json(res, 200, claim_json(&cl->found));
		} else {
			name_to_text(name, text, sizeof(text));
			http_error(res, 404, "name", "tenant %s has no claim on %s", c.p.tenant, text);
		}
	}
	free(cl);
	api_caller_free(&c);
}

/* ---- verification ---- */

/* What the walks found, as evidence and as answers to "does this token stand?". */
struct proof {
	bool txt_asked, txt_ok; /* the TXT was answered (NOERROR or NXDOMAIN from an authoritative server) */
	char txt_values[CHECK_MAXRR][CHECK_RDATA_TEXT];
	int ntxt;
	bool delegated; /* the parent's NS set for the name is the operator's nameservers */
	bool zone_here; /* the parent delegates the name itself (not a zone above it) */
};

/* A TXT record's strings joined ("\"ab\" \"c\"" -> "abc"): a token split across strings still
 * matches. Escapes are kept as they are (a token has none). */
static void txt_join(const char *data, char *out, size_t cap)
{
	size_t n = 0;
	bool quoted = false;
	for (const char *p = data; *p && n + 1 < cap; p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && (*p == ' ' || *p == '\t'))
			continue;
		out[n++] = *p;
	}
	out[n] = 0;
}

static bool token_seen(const struct proof *p, const char *token)
{
	for (int i = 0; i < p->ntxt; i++) {
		char joined[CHECK_RDATA_TEXT];
		txt_join(p->txt_values[i], joined, sizeof(joined));
		if (strcmp(joined, token) == 0)
			return true;
	}
	return false;
}

static const char *rcode_text(int rcode)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
	return rcode >= 0 && rcode < 6 ? names[rcode] : "other";
}

/* The servers of hops that referred the walk to zone (the parent's servers that answered). */
static json_t *referrals_json(const struct check_report *r, const char *zone)
{
	json_t *arr = json_array();
	for (int i = 0; i < r->nhops; i++) {
		const struct check_hop *h = &r->hops[i];
		if (!check_name_eq(h->child, zone))
			continue;
		json_t *ns = json_array();
		for (int k = 0; k < h->nchild_ns; k++)
			json_array_append_new(ns, json_string(h->child_ns[k]));
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s, s:s, s:o, s:I, s:f}", "parent", h->zone, "server", h->ns,
		                                "address", h->addr, "ns", ns, "ttl", (json_int_t)h->ttl, "ms", h->ms));
	}
	return arr;
}

/* Walks for _tern-challenge.<name> TXT and for <name> NS from the hints; fills *p and returns the
 * evidence. Runs offline to RCU (seconds of DNS): everything it needs is in its arguments. */
static json_t *walk_proofs(struct check_ctx *cc, struct check_report *r, const char *name,
                           char (*opns)[CHECK_NAME_TEXT], int nopns, struct proof *p)
{
	struct check_walk *w = calloc(1, sizeof(*w));
	json_t *ev = json_object(), *txt = json_object(), *del = json_object();
	char qname[CHECK_NAME_TEXT + 32];
	if (!w || !ev || !txt || !del) {
		free(w);
		json_decref(ev);
		json_decref(txt);
		json_decref(del);
		return NULL;
	}
	snprintf(qname, sizeof(qname), "%s.%s", CHALLENGE_LABEL, name);
	json_object_set_new(txt, "query", json_pack("{s:s, s:s}", "name", qname, "type", "TXT"));
	p->txt_asked = true;
	if (check_walk(cc, qname, RR_TXT, 0, w) == 0) {
		json_t *vals = json_array();
		p->txt_ok = w->answer.rcode == 0 || w->answer.rcode == 3;
		for (int i = 0; i < w->answer.nrr; i++) {
			const struct check_rr *rr = &w->answer.rr[i];
			if (rr->section != CHECK_ANSWER || rr->type != RR_TXT || !check_name_eq(rr->owner, qname))
				continue;
			check_copy_rdata(p->txt_values[p->ntxt++], CHECK_RDATA_TEXT, rr->data);
			json_array_append_new(vals, json_string(rr->data));
		}
		json_object_set_new(txt, "zone", json_string(w->zone));
		json_object_set_new(txt, "server", json_string(w->answered_by));
		json_object_set_new(txt, "rcode", json_string(rcode_text(w->answer.rcode)));
		json_object_set_new(txt, "ms", json_real(w->answer.ms));
		json_object_set_new(txt, "answer", vals);
	} else {
		json_object_set_new(txt, "error", json_string("no authoritative answer (see failures)"));
	}
	memset(w, 0, sizeof(*w));
	int rc = check_walk(cc, name, RR_NS, 0, w);
	/* the parent's view: a referral to the name itself, its NS set (set before the child's
	 * servers are asked, so a lame child does not hide it) */
	p->zone_here = check_name_eq(w->zone, name) && w->nns > 0;
	json_t *ns = json_array(), *ops = json_array();
	for (int i = 0; i < w->nns; i++)
		json_array_append_new(ns, json_string(w->ns[i]));
	for (int i = 0; i < nopns; i++)
		json_array_append_new(ops, json_string(opns[i]));
	bool all = p->zone_here && nopns > 0;
	for (int i = 0; all && i < w->nns; i++) {
		bool one = false;
		for (int k = 0; k < nopns && !one; k++)
			one = check_name_eq(w->ns[i], opns[k]);
		all = one;
	}
	p->delegated = all;
	json_object_set_new(del, "parent", json_string(p->zone_here ? w->parent : ""));
	json_object_set_new(del, "ns", ns);
	json_object_set_new(del, "operator_ns", ops);
	json_object_set_new(del, "referrals", referrals_json(r, name));
	json_object_set_new(del, "matches", json_boolean(p->delegated));
	if (!p->zone_here)
		json_object_set_new(del, "error",
		                    json_string(rc == 0 ? "the parent does not delegate the name itself"
		                                        : "no delegation found (see failures)"));
	json_t *fails = json_array();
	for (int i = 0; i < r->nfailures; i++)
		json_array_append_new(fails, json_string(r->failures[i]));
	json_object_set_new(ev, "txt", txt);
	json_object_set_new(ev, "delegation", del);
	json_object_set_new(ev, "failures", fails);
	json_object_set_new(ev, "queries", json_integer(r->queries));
	free(w);
	return ev;
}

/* The configuration verification needs, copied while online. */
struct verify_cfg {
	char hints[4096];
	bool allow_private;
	char opns[CHECK_MAXNS][CHECK_NAME_TEXT];
	int nopns;
};

static void verify_cfg_copy(struct api *a, struct verify_cfg *v)
{
	const struct config *conf = api_config(a);
	if (conf->api.check_hints)
		snprintf(v->hints, sizeof(v->hints), "%s", conf->api.check_hints);
	v->allow_private = conf->api.check_allow_private;
	for (size_t i = 0; i < conf->api.nnameservers && v->nopns < CHECK_MAXNS; i++)
		name_to_text(conf->api.nameservers[i], v->opns[v->nopns++], CHECK_NAME_TEXT);
}

/* Whether tenant serves a zone of this very name here. */
static bool holds_zone(struct api *a, const char *tenant, const uint8_t *name)
{
	struct store_zone z;
	char err[128] = "";
	return store_zone_get(store_latest(a->store), name, &z, err, sizeof(err)) == 0 && strcmp(z.tenant, tenant) == 0;
}

/* Whether claim o's proof stands in what the walks found. */
static bool proof_stands(struct api *a, const struct store_ownership *o, const struct proof *p)
{
	return token_seen(p, o->token) || (p->delegated && holds_zone(a, o->tenant, o->name));
}

void api_ownership_verify(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	uint8_t name[NAME_MAXLEN];
	char text[CHECK_NAME_TEXT], err[300];
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	struct claims *cl = calloc(1, sizeof(*cl));
	struct check_ctx *cc = malloc(sizeof(*cc));
	struct verify_cfg *vc = calloc(1, sizeof(*vc));
	struct proof *p = calloc(1, sizeof(*p));
	struct check_report *r = NULL;
	json_t *ev = NULL;
	bool counted = false;
	if (!cl || !cc || !vc || !p) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!parse_claimed(req->params[0], "name", name, res))
		goto done;
	if (c.p.scope.read_only || !auth_allows(&c.p, name, NULL, 0, true)) {
		http_error(res, 403, "scope", "the token's scope does not allow verifying this name");
		goto done;
	}
	name_to_text(name, text, sizeof(text));
	cl->tenant = c.p.tenant;
	if (!read_claims(a, name, cl, res))
		goto done;
	if (!cl->have) {
		http_error(res, 404, "name", "tenant %s has no claim on %s: claim it first (POST /api/v1/ownership)",
		           c.p.tenant, text);
		goto done;
	}
	if (!api_check_rate_ok(a, c.p.tenant, res))
		goto done;
	verify_cfg_copy(a, vc);
	unsigned max = api_config(a)->api.check_max_running;
	if ((unsigned)(a->checks_running++) >= max) {
		a->checks_running--;
		snprintf(res->retry_after, sizeof(res->retry_after), "5");
		http_error(res, 503, NULL, "%u checks are running (api.check-max-running): try again shortly", max);
		goto done;
	}
	counted = true;
	if (!(r = check_report_new("domain", text))) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	check_ctx_init(cc, r);
	if (vc->hints[0] && check_ctx_load_hints(cc, vc->hints, err, sizeof(err)) < 0) {
		http_error(res, 500, NULL, "api.check-hints: %s", err);
		goto done;
	}
	cc->whois[0] = 0;
	cc->deadline_ms = 30000;
	if (!vc->allow_private)
		cc->allowed = api_check_public_only;
	int64_t now = (int64_t)time(NULL);
	rcu_thread_offline();
	ev = walk_proofs(cc, r, text, vc->opns, vc->nopns, p);
	rcu_thread_online();
	if (!ev) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	json_object_set_new(ev, "at", json_integer(now));
	/* the decision and its rows under one lock: two tenants verifying at once cannot both win */
	pthread_mutex_lock(&a->own_lock);
	struct claims *now_cl = calloc(1, sizeof(*now_cl));
	if (!now_cl) {
		pthread_mutex_unlock(&a->own_lock);
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	now_cl->tenant = c.p.tenant;
	if (!read_claims(a, name, now_cl, res) || !now_cl->have) {
		if (now_cl->have || res->status == 0)
			http_error(res, 409, "name", "the claim on %s changed meanwhile", text);
		pthread_mutex_unlock(&a->own_lock);
		free(now_cl);
		goto done;
	}
	struct store_ownership rows[2];
	size_t nrows = 1;
	struct store_ownership *o = &rows[0];
	*o = now_cl->found;
	bool by_txt = token_seen(p, o->token), by_del = p->delegated && holds_zone(a, c.p.tenant, name);
	const char *result;
	int status = 200;
	o->checked = now;
	snprintf(o->method, sizeof(o->method), "%s", by_txt ? "txt" : by_del ? "delegation" : "");
	if (!by_txt && !by_del) {
		snprintf(o->state, sizeof(o->state), "failed");
		result = p->zone_here && !p->delegated && !p->ntxt
		             ? "no proof: the token is not in the TXT record and the parent's NS set is not the "
		               "operator's nameservers"
		         : p->delegated
		             ? "no proof: the token is not in the TXT record, and the delegation to the "
		               "operator's nameservers proves the name only for the tenant whose zone Tern serves"
		         : p->ntxt ? "no proof: the TXT record does not hold this tenant's token"
		                   : "no proof: no TXT record with the token, and no delegation to the operator's "
		                     "nameservers";
	} else if (now_cl->have_other && proof_stands(a, &now_cl->other, p)) {
		snprintf(o->state, sizeof(o->state), "failed");
		result = "refused: the name is verified by another tenant, whose proof still stands";
		status = 409;
	} else {
		snprintf(o->state, sizeof(o->state), "verified");
		o->verified = now;
		result = by_txt ? "verified by the token in the TXT record" : "verified by the delegation";
		if (now_cl->have_other) { /* its proof is gone: the name changes hands, its row kept */
			rows[1] = now_cl->other;
			snprintf(rows[1].state, sizeof(rows[1].state), "lost");
			rows[1].checked = now;
			nrows = 2;
			result =
			    by_txt
			        ? "verified by the token in the TXT record (another tenant's verification, whose "
			          "proof is gone, is marked lost)"
			        : "verified by the delegation (another tenant's verification, whose proof is gone, is "
			          "marked lost)";
		}
	}
	json_object_set_new(ev, "result", json_string(result));
	char *evtext = json_dumps(ev, JSON_COMPACT);
	if (!evtext || strlen(evtext) > STORE_OWNERSHIP_EVIDENCE_MAX) {
		pthread_mutex_unlock(&a->own_lock);
		free(evtext);
		free(now_cl);
		http_error(res, 500, NULL, "the evidence does not fit");
		goto done;
	}
	o->evidence = evtext;
	bool ok = write_claims(a, rows, nrows, res);
	pthread_mutex_unlock(&a->own_lock);
	if (ok) {
		json_t *j = claim_json(o);
		json_object_set_new(j, "result", json_string(result));
		http_json(res, status, j);
	}
	free(evtext);
	free(now_cl);
done:
	if (counted)
		a->checks_running--;
	json_decref(ev);
	check_report_free(r);
	free(p);
	free(vc);
	free(cc);
	free(cl);
	api_caller_free(&c);
}

/* ---- the zone's flag ---- */

struct flag {
	const char *tenant;
	json_t *by;
};

static int each_flag(const struct store_ownership *o, void *arg)
{
	struct flag *f = arg;
	if (strcmp(o->state, "verified") == 0 && strcmp(o->tenant, f->tenant) != 0 && !f->by)
		f->by = json_pack("{s:b, s:s, s:s, s:I}", "flagged", 1, "reason",
		                  "another tenant has verified ownership of this name; this zone's tenant has not",
		                  "method", o->method, "verified", (json_int_t)o->verified);
	if (strcmp(o->state, "verified") == 0 && strcmp(o->tenant, f->tenant) == 0) {
		json_decref(f->by);
		f->by = json_pack("{s:b, s:s}", "flagged", 0, "verified_by", "this zone's tenant");
		return 1;
	}
	return 0;
}

void api_ownership_flag(struct api *a, const struct store_zone *z, json_t *j)
{
	struct flag f = {.tenant = z->tenant};
	char err[256] = "";
	if (!j || store_ownership_list(store_latest(a->store), NULL, z->apex, each_flag, &f, err, sizeof(err)) < 0)
		return;
	json_object_set_new(j, "ownership", f.by ? f.by : json_pack("{s:b}", "flagged", 0));
}
