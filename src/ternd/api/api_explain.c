/* GET /api/v1/explain: why a client gets the answer it gets. The name is looked up as a query
 * would look it up (ns_find), a dynamic resource is resolved by the server's own selection
 * (answer_explain: client, health, pools, scope), and the chain is written out as JSON: the
 * client as used, what the geo database says of it, the geo entry, the pools with their members
 * and their monitors' last checks, the pool answering, the RRset and the ECS scope; a weighted
 * pool's shares rather than one random pick; in a signed zone, the sets signed ahead a DO query
 * gets (dyn_signed_choose) and their shares. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"
#include "ternd/dyn/answer.h"
#include "ternd/dyn/geo.h"
#include "ternd/dyn/monitor.h"
#include "ternd/ns/lookup.h"

/* The zone ns_find found, if the caller may explain names in it: a zone of the store that is the
 * caller's (any for an admin), or for an admin a zone of the configuration; or the name is the
 * canonical name of one of the caller's services (api_service_owned, with a whole-tenant token). 404 otherwise, the
 * same as for a name no zone serves, so other tenants' zones stay unseen. */
static bool may_explain(struct api *a, const struct api_caller *c, const struct api_explain_ask *q, const uint8_t *apex,
                        struct http_response *res)
{
	char text[NAME_MAXLEN * 4 + 1], err[256] = "";
	name_to_text(q->name, text, sizeof(text));
	struct store_zone z;
	int rc = apex ? store_zone_get(store_latest(a->store), apex, &z, err, sizeof(err)) : TERN_ENOTFOUND;
	if (rc < 0 && rc != TERN_ENOTFOUND) {
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	bool mine = rc == 0 ? c->p.admin || strcmp(z.tenant, c->p.tenant) == 0 : apex && c->p.admin;
	if (!mine && rc == 0 && api_service_owned(a, c, q->name))
		return true; /* the caller's service: its canonical name, in the operator's zone */
	if (!mine || !auth_allows(&c->p, apex, NULL, 0, false)) {
		http_error(res, 404, "name", "no zone served for you holds %s", text);
		return false;
	}
	if (!auth_allows(&c->p, apex, q->name, q->type, false)) {
		http_error(res, 403, "name", "the token's scope does not allow reads of %s %s", text,
		           q->type == RR_A ? "A" : "AAAA");
		return false;
	}
	return true;
}

static json_t *addr_json(uint8_t family, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN];
	inet_ntop(family == 1 ? AF_INET : AF_INET6, addr, text, sizeof(text));
	return json_string(text);
}

/* The client as the selection uses it: {"address", "prefix", "from": "ecs"|"source", "capped",
 * "ecs_source": the Client Subnet's source prefix, or null for a query without one}. */
static json_t *client_json(const struct api_explain_ask *q, const struct dyn_client *cl)
{
	bool from_ecs = q->has_ecs && q->ecs.source > 0;
	return json_pack("{s:o,s:i,s:s,s:b,s:o}", "address", addr_json(cl->family, cl->addr), "prefix", cl->prefix,
	                 "from", from_ecs ? "ecs" : "source", "capped", from_ecs && cl->prefix < q->ecs.source,
	                 "ecs_source", q->has_ecs ? json_integer(q->ecs.source) : json_null());
}

/* The member's monitor as the registry has it: state, last check, last result (the error when
 * it failed). A pair the registry does not know (yet) answers as up: "unknown". */
static void monitor_json(struct monitors *ms, const struct dyn_member_view *m, json_t *mj)
{
	struct monitor_pair st;
	bool known = ms && monitor_pair_state(ms, m->monitor, m->family, m->addr, &st) == 0;
	bool checked = known && st.last_check > 0;
	json_object_set_new(mj, "state", json_string(known ? monitor_state_name(st.state) : "unknown"));
	json_object_set_new(mj, "last_check", checked ? json_integer(st.last_check) : json_null());
	json_object_set_new(mj, "last_result", checked ? json_string(st.last_result) : json_null());
	json_object_set_new(mj, "last_error", checked && !st.last_ok ? json_string(st.last_result) : json_null());
}

/* One pool of the chain: its members of the type's family, each with weight, monitor and its
 * state, whether it counts, and its share in percent for a weighted pool (among the members that
 * count: live ones, or all of them when the pool answers as the fallback). */
static json_t *pool_json(struct monitors *ms, const struct dyn_resource *r, const struct dyn_trace_pool *tp,
                         uint16_t type, bool answering, bool fallback)
{
	int pool = -1, npools = dyn_pool_count(r);
	for (int i = 0; i < npools && pool < 0; i++)
		if (strcmp(dyn_pool_name(r, i), tp->name) == 0)
			pool = i;
	json_t *o = json_pack("{s:s,s:i,s:i,s:b}", "name", tp->name, "members_of_type", tp->members, "live", tp->live,
	                      "answering", answering);
	if (pool < 0)
		return o;
	bool weighted = dyn_pool_weighted(r, pool);
	struct dyn_member_view m[DYN_MAX_MEMBERS];
	bool counts[DYN_MAX_MEMBERS];
	int n = dyn_pool_members(r, pool, type, m, DYN_MAX_MEMBERS);
	void *ctx;
	dyn_health_fn health = answer_health(&ctx);
	uint64_t total = 0;
	json_t *members = json_array();
	for (int i = 0; i < n; i++) {
		bool up = !m[i].monitor || !health || health(ctx, m[i].monitor, m[i].family, m[i].addr);
		bool live = up && !(weighted && m[i].weight == 0);
		counts[i] = weighted && m[i].weight > 0 && (live || (answering && fallback));
		total += counts[i] ? m[i].weight : 0;
		json_t *mj = json_pack("{s:o,s:I,s:b}", m[i].name ? "target" : "address",
		                       m[i].name ? api_name_json(m[i].name) : addr_json(m[i].family, m[i].addr),
		                       "weight", (json_int_t)m[i].weight, "live", live);
		json_object_set_new(mj, "monitor", m[i].monitor_name ? json_string(m[i].monitor_name) : json_null());
		if (m[i].monitor)
			monitor_json(health ? ms : NULL, &m[i], mj);
		else
			json_object_set_new(mj, "state", json_null());
		json_array_append_new(members, mj);
	}
	if (weighted)
		for (int i = 0; i < n; i++) {
			double share = total ? 100.0 * (double)(counts[i] ? m[i].weight : 0) / (double)total
			               : answering && fallback && i == 0 ? 100.0 /* all weigh 0: the first */
			                                                 : 0.0;
			json_object_set_new(json_array_get(members, (size_t)i), "share", json_real(share));
		}
	json_object_set_new(o, "weighted", json_boolean(weighted));
	json_object_set_new(o, "members", members);
	return o;
}

/* addr with the bits past prefix zero (of a family of bits bits). */
static void addr_cut(const uint8_t *addr, unsigned prefix, unsigned bits, uint8_t out[16])
{
	memset(out, 0, 16);
	for (unsigned b = 0; b < prefix && b < bits; b++)
		out[b / 8] |= (uint8_t)(addr[b / 8] & (0x80 >> (b % 8)));
}

/* What the geo database says of the client: the version in force, the database network holding
 * the address (or the empty block around an address it does not hold) with its prefix, country
 * and continent. "asked": the selection asked it (the resource has country or continent entries
 * and no subnet entry answered); else it is asked here the same way, for the explanation only. */
static json_t *geo_json(const struct dyn_trace *tr, const struct dyn_client *cl)
{
	void *ctx;
	dyn_geo_fn fn = answer_geo(&ctx);
	struct geo_version v;
	memset(&v, 0, sizeof(v));
	if (fn == geo_lookup) /* ctx is the struct geo only then */
		geo_version(ctx, &v);
	unsigned bits = cl->family == 1 ? 32 : 128;
	struct dyn_geo g = tr->geo;
	if (!tr->geo_asked && fn && v.loaded && (cl->family == 1 || cl->family == 2)) {
		uint8_t addr[16];
		addr_cut(cl->addr, cl->prefix, bits, addr);
		memset(&g, 0, sizeof(g));
		fn(ctx, cl->family, addr, &g);
		g.prefix = g.prefix < bits ? g.prefix : (uint8_t)bits;
	}
	json_t *o = json_pack("{s:s,s:b,s:b}", "database",
	                      v.loaded       ? "loaded"
	                      : v.configured ? "not loaded"
	                                     : "none configured",
	                      "asked", tr->geo_asked, "found", v.loaded && g.found);
	json_object_set_new(o, "type", v.loaded ? json_string(v.type) : json_null());
	json_object_set_new(o, "build_epoch", v.loaded ? json_integer((json_int_t)v.build_epoch) : json_null());
	if (v.loaded) {
		uint8_t net[16];
		char text[INET6_ADDRSTRLEN + 4];
		addr_cut(cl->addr, g.prefix, bits, net);
		inet_ntop(cl->family == 1 ? AF_INET : AF_INET6, net, text, INET6_ADDRSTRLEN);
		snprintf(text + strlen(text), 5, "/%u", g.prefix);
		json_object_set_new(o, "network", json_string(text));
		json_object_set_new(o, "prefix", json_integer(g.prefix));
	} else {
		json_object_set_new(o, "network", json_null());
		json_object_set_new(o, "prefix", json_null());
	}
	json_object_set_new(o, "country", v.loaded && g.country[0] ? json_string(g.country) : json_null());
	json_object_set_new(o, "continent", v.loaded && g.continent[0] ? json_string(g.continent) : json_null());
	return o;
}

/* One answer a DO query can get in a signed zone: its records, the number of the set signed
 * ahead it is (dyn_signed_choose(), as put_signed_dyn asks; null when none is: the answer then
 * goes unsigned) and its share of the answers. */
static json_t *signed_answer_json(const struct dyn_resource *r, struct rrset *rs, double share)
{
	json_t *records = json_array();
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec))
		json_array_append_new(records, rs->type == RR_CNAME
		                                   ? api_name_json(rdata_bytes(rec))
		                                   : addr_json(rs->type == RR_A ? 1 : 2, rdata_bytes(rec)));
	int64_t set = dyn_signed_choose(r, rs, 0); /* one record, or a set of the block: rnd changes nothing */
	return json_pack("{s:o,s:o,s:f}", "records", records, "set", set >= 0 ? json_integer(set) : json_null(),
	                 "share", share);
}

/* A one-record RRset of type holding the len octets of data (an address, a CNAME target), in buf
 * (2 + len octets). */
static struct rrset one_record(uint16_t type, const uint8_t *data, uint16_t len, uint8_t *buf, uint32_t ttl)
{
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	memcpy(buf + 2, data, len);
	return (struct rrset){.type = type, .ttl = ttl, .count = 1, .rdata = buf, .rdata_size = 2u + len};
}

/* The answers of a signed zone to a DO query (answer_resolve_signed): a subset of an unweighted
 * pool is one of its records, each as likely; a weighted pick each candidate with its share (from
 * the rrset's shares); else the RRset itself. Queries without DO get the rrset as it is. */
static json_t *signed_json(const struct dyn_resource *r, const struct rrset *chosen, json_t *rrset)
{
	json_t *answers = json_array();
	const char *pick = "all";
	uint8_t buf[2 + NAME_MAXLEN];
	json_t *shares = json_object_get(rrset, "shares");
	if (json_is_array(shares)) {
		pick = "one record by weight";
		size_t i;
		json_t *sh;
		json_array_foreach(shares, i, sh)
		{
			uint8_t data[NAME_MAXLEN];
			int len = -1;
			const char *text =
			    json_string_value(json_object_get(sh, chosen->type == RR_CNAME ? "target" : "address"));
			if (text && chosen->type == RR_CNAME)
				len = name_from_text(data, text, NULL);
			else if (text && inet_pton(chosen->type == RR_A ? AF_INET : AF_INET6, text, data) == 1)
				len = chosen->type == RR_A ? 4 : 16;
			if (len < 0)
				continue;
			struct rrset one = one_record(chosen->type, data, (uint16_t)len, buf, chosen->ttl);
			json_array_append_new(
			    answers, signed_answer_json(r, &one, json_real_value(json_object_get(sh, "share"))));
		}
	} else if (dyn_signed_subset(r, chosen)) {
		pick = "one live member";
		const uint8_t *rec = chosen->rdata;
		for (uint16_t i = 0; i < chosen->count; i++, rec = rdata_next(rec)) {
			struct rrset one = one_record(chosen->type, rdata_bytes(rec), rdata_len(rec), buf, chosen->ttl);
			json_array_append_new(answers, signed_answer_json(r, &one, 100.0 / chosen->count));
		}
	} else {
		struct rrset whole = *chosen;
		json_array_append_new(answers, signed_answer_json(r, &whole, 100.0));
	}
	return json_pack("{s:I,s:s,s:o}", "sets", (json_int_t)dyn_signed_count(r, chosen->type), "pick", pick,
	                 "answers", answers);
}

/* The explanation of a DYN resource's answer for the client. */
static int explain_dynamic(struct api *a, const struct api_explain_ask *q, const struct ns_found *f, json_t *out)
{
	const struct answer_client client = {(const struct sockaddr *)&q->addr, q->addrlen,
	                                     q->has_ecs ? &q->ecs : NULL};
	struct answer_rrs *ans = malloc(sizeof(*ans));
	if (!ans)
		return TERN_ENOMEM;
	struct dyn_trace tr;
	int rc = answer_explain(&client, f->rrset, ans, &tr);
	if (rc < 0) {
		free(ans);
		return rc;
	}
	const struct dyn_resource *r = dyn_rrset_resource(f->rrset);
	struct dyn_client cl;
	answer_client_of(client.addr, client.addrlen, client.ecs, &cl);
	json_object_set_new(out, "client", client_json(q, &cl));
	json_object_set_new(out, "dynamic", json_true());
	json_object_set_new(out, "geo", geo_json(&tr, &cl));
	json_object_set_new(out, "match", json_string(tr.entry >= 0 ? tr.entry_text : "answer list"));
	/* the pool answering: the first with a live member, else (the fallback) the first with members */
	int chosen = tr.chosen;
	for (int i = 0; i < tr.npools && chosen < 0 && tr.fallback; i++)
		if (tr.pools[i].members)
			chosen = i;
	const char *answering = chosen >= 0 ? tr.pools[chosen].name : NULL;
	json_t *pools = json_array();
	uint16_t type = f->rrset->type; /* the type asked, or CNAME for a CNAME resource */
	const char *key = type == RR_CNAME ? "target" : "address";
	for (int i = 0; i < tr.npools; i++)
		json_array_append_new(pools,
		                      pool_json(a->srv->monitors, r, &tr.pools[i], type, i == chosen, tr.fallback));
	json_object_set_new(out, "pools", pools);
	json_object_set_new(out, "answered_by", answering ? json_string(answering) : json_null());
	json_object_set_new(out, "fallback", json_boolean(tr.fallback));
	json_object_set_new(out, "scope", json_integer(ans->ecs_scope));
	json_t *rrset;
	if (tr.weighted) { /* one member by weight: every candidate with its share, not one pick */
		json_t *p = NULL;
		size_t i;
		json_t *v;
		json_array_foreach(pools, i, v) if (json_is_true(json_object_get(v, "answering"))) p = v;
		json_t *records = json_array(), *shares = json_array(), *m;
		json_array_foreach(json_object_get(p, "members"), i, m)
		{
			if (json_real_value(json_object_get(m, "share")) <= 0)
				continue;
			json_array_append(records, json_object_get(m, key));
			json_array_append_new(shares, json_pack("{s:O,s:O}", key, json_object_get(m, key), "share",
			                                        json_object_get(m, "share")));
		}
		rrset = json_pack("{s:o,s:s,s:I,s:o,s:s,s:o}", "name", api_name_json(q->name), "type",
		                  type == RR_CNAME ? "CNAME"
		                  : type == RR_A   ? "A"
		                                   : "AAAA",
		                  "ttl", (json_int_t)ans->ttl, "records", records, "pick", "one record by weight",
		                  "shares", shares);
	} else {
		rrset = api_rrset_json(q->name, type, ans->ttl, ans->rrset->count, ans->rrset->rdata);
		json_object_set_new(rrset, "pick", json_string("all"));
	}
	json_object_set_new(out, "rrset", rrset);
	if (type == RR_CNAME && ans->rrset->count) /* the CNAME chosen for this client (not followed) */
		json_object_set_new(out, "target", api_name_json(rdata_bytes(ans->rrset->rdata)));
	json_object_set_new(out, "signed", zone_signed(f->zone) ? signed_json(r, &ans->dyn.rrset, rrset) : json_null());
	free(ans);
	return 0;
}

static const char *kind_text(enum ns_found_kind k)
{
	switch (k) {
	case NS_FOUND_RRSET: return "answer";
	case NS_FOUND_NODATA: return "nodata";
	case NS_FOUND_NXDOMAIN: return "nxdomain";
	case NS_FOUND_REFERRAL: return "referral";
	case NS_FOUND_CNAME: return "cname";
	case NS_FOUND_DNAME: return "dname";
	}
	return "?";
}

void api_explain(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct api_explain_ask q;
	struct ns_found f;
	if (!api_open(a, req, res, &c, NULL, false, NULL))
		return;
	if (!api_parse_explain(http_query(req, "name"), http_query(req, "type"), http_query(req, "client"),
	                       http_query(req, "ecs"), &q, res))
		goto done;
	int rc = ns_find(a->srv, q.name, q.type, &f);
	if (!may_explain(a, &c, &q, rc == 0 ? f.zone->apex : NULL, res))
		goto done;
	json_t *out =
	    json_pack("{s:o,s:s,s:o,s:s}", "name", api_name_json(q.name), "type", q.type == RR_A ? "A" : "AAAA", "zone",
	              api_name_json(f.zone->apex), "outcome", kind_text(f.kind));
	if ((f.kind == NS_FOUND_RRSET || f.kind == NS_FOUND_NODATA || f.kind == NS_FOUND_CNAME))
		json_object_set_new(out, "wildcard", f.wildcard ? api_name_json(f.node->owner) : json_null());
	if (f.kind == NS_FOUND_REFERRAL)
		json_object_set_new(out, "cut", api_name_json(f.node->owner));
	if ((f.kind == NS_FOUND_CNAME && !f.rrset->dyn) ||
	    f.kind == NS_FOUND_DNAME) /* not followed: the target is another question */
		json_object_set_new(out, "target", api_name_json(rdata_bytes(f.rrset->rdata)));
	if ((f.kind == NS_FOUND_RRSET || f.kind == NS_FOUND_CNAME) && f.rrset->dyn) { /* CNAME: a CNAME resource */
		if ((rc = explain_dynamic(a, &q, &f, out)) < 0) {
			json_decref(out);
			http_error(res, rc == TERN_ENOMEM ? 500 : 503, NULL, "the resource cannot answer: %s",
			           tern_strerror(rc));
			goto done;
		}
	} else {
		/* static data, or no answer: the same for every client */
		struct dyn_client cl;
		answer_client_of((const struct sockaddr *)&q.addr, q.addrlen, q.has_ecs ? &q.ecs : NULL, &cl);
		json_object_set_new(out, "client", client_json(&q, &cl));
		json_object_set_new(out, "dynamic", json_false());
		json_object_set_new(out, "scope", json_integer(0));
		const uint8_t *owner = f.kind == NS_FOUND_DNAME ? f.node->owner : q.name;
		json_object_set_new(
		    out, "rrset",
		    f.rrset ? api_rrset_json(owner, f.rrset->type, f.rrset->ttl, f.rrset->count, f.rrset->rdata)
		            : json_null());
	}
	http_json(res, 200, out);
done:
	api_caller_free(&c);
}
