/* The API's JSON and names: zone and owner names from URLs and bodies, RRsets and zones as JSON,
 * and one RRset change parsed and checked from a JSON object. Untrusted input all of it: no
 * server state is touched here (tests/fuzz/fuzz_api_json.c drives it alone). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dnssec_policy.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"

bool api_parse_zone_name(const char *text, uint8_t apex[NAME_MAXLEN])
{
	if (!text || !*text || name_from_text(apex, text, (const uint8_t *)"") < 0)
		return false;
	name_lower(apex);
	return true;
}

json_t *api_name_json(const uint8_t *name)
{
	char text[NAME_MAXLEN * 4 + 1];
	if (name_to_text(name, text, sizeof(text)) < 0)
		return json_null();
	return json_string(text);
}

/* An owner name of the zone at apex from text, lower-cased: absolute when it ends in the zone's
 * labels (compared in wire form, so "x\\.example.com" is the label "x.example" then "com", not a
 * name of example.com) or in a final dot, else relative to the zone. False when it is no name. */
static bool owner_from_text(const uint8_t *apex, const char *text, uint8_t out[NAME_MAXLEN])
{
	uint8_t whole[NAME_MAXLEN];
	if (name_from_text(whole, text, (const uint8_t *)"") > 0 && name_in(whole, apex))
		memcpy(out, whole, name_len(whole));
	else if (name_from_text(out, text, apex) < 0)
		return false;
	name_lower(out);
	return true;
}

bool api_parse_owner(const uint8_t *apex, const char *text, const char *field, uint8_t out[NAME_MAXLEN],
                     struct http_response *res)
{
	char atext[NAME_MAXLEN * 4 + 1];
	name_to_text(apex, atext, sizeof(atext));
	if (!text || !*text) {
		http_error(res, 400, field, "a name is required");
		return false;
	}
	if (!owner_from_text(apex, text, out)) {
		http_error(res, 400, field,
		           "\"%.300s\" is not a valid domain name (empty label, label over 63 octets or name over 255)",
		           text);
		return false;
	}
	if (!name_in(out, apex)) {
		http_error(res, 400, field, "%.300s is not in zone %s", text, atext);
		return false;
	}
	return true;
}

/* Whether a body's "name" is the URL's name: the same labels, however each is spelled. */
static bool same_owner(const uint8_t *apex, json_t *jn, const char *url_name)
{
	uint8_t a[NAME_MAXLEN], b[NAME_MAXLEN];
	if (!json_is_string(jn))
		return false;
	if (!owner_from_text(apex, url_name, b))
		return true; /* the URL's name is refused on its own, with its own message */
	return owner_from_text(apex, json_string_value(jn), a) && name_equal(a, b);
}

json_t *api_rrset_json(const uint8_t *owner, uint16_t type, uint32_t ttl, uint16_t count, const uint8_t *rdata)
{
	char tbuf[RRTEXT_TYPE_MAXLEN], *text = malloc(65536 * 2);
	json_t *records = json_array();
	const uint8_t *rec = rdata;
	for (uint16_t i = 0; text && i < count; i++, rec = rdata_next(rec))
		if (rrtext_rdata_to_text(type, rdata_bytes(rec), rdata_len(rec), text, 65536 * 2) >= 0)
			json_array_append_new(records, json_string(text));
	free(text);
	rrtext_type_to_text(type, tbuf, sizeof(tbuf));
	return json_pack("{s:o,s:s,s:I,s:o}", "name", api_name_json(owner), "type", tbuf, "ttl", (json_int_t)ttl,
	                 "records", records);
}

void api_zone_text(struct text *t, const struct store_zone *z)
{
	char name[NAME_MAXLEN * 4 + 1];
	text_printf(t, "{\"name\":");
	if (name_to_text(z->apex, name, sizeof(name)) < 0)
		text_printf(t, "null");
	else
		text_json_string(t, name);
	text_printf(t, ",\"tenant\":");
	text_json_string(t, z->tenant);
	text_printf(t, ",\"serial\":%" PRIu32 ",\"serial_policy\":\"%s\",\"locked\":%s,\"lock_reason\":", z->serial,
	            z->serial_policy == STORE_SERIAL_DATE ? "date" : "increment", z->locked ? "true" : "false");
	if (z->locked)
		text_json_string(t, z->lock_reason);
	else
		text_printf(t, "null");
	text_printf(t, ",\"created\":%" PRId64 ",\"updated\":%" PRId64 ",\"signed_downstream\":%s}", z->created,
	            z->updated, z->signed_downstream ? "true" : "false");
}

json_t *api_zone_json(const struct store_zone *z)
{
	struct text t = {0};
	api_zone_text(&t, z);
	json_t *out = t.nomem ? NULL : json_loadb(t.s, t.len, 0, NULL);
	text_free(&t);
	return out;
}

static bool field_name(char *buf, size_t cap, const char *where, const char *field)
{
	snprintf(buf, cap, "%s%s%s", where, *where ? "." : "", field);
	return true;
}

bool api_parse_change(const uint8_t *apex, json_t *obj, const char *url_name, const char *url_type, const char *where,
                      struct change_rrset *out, struct http_response *res)
{
	char f[96];
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		http_error(res, 400, *where ? where : NULL, "expected a JSON object");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (strcmp(key, "name") && strcmp(key, "type") && strcmp(key, "ttl") && strcmp(key, "records") &&
		    strcmp(key, "delete")) {
			field_name(f, sizeof(f), where, key);
			http_error(res, 400, f, "unknown field");
			return false;
		}
	}
	const char *name = url_name, *type = url_type;
	json_t *jn = json_object_get(obj, "name"), *jt = json_object_get(obj, "type");
	if (!url_name) {
		field_name(f, sizeof(f), where, "name");
		if (!json_is_string(jn)) {
			http_error(res, 400, f, "must be a string");
			return false;
		}
		name = json_string_value(jn);
	} else if (jn && !same_owner(apex, jn, url_name)) {
		http_error(res, 400, "name", "differs from the name in the URL");
		return false;
	}
	field_name(f, sizeof(f), where, "name");
	if (!api_parse_owner(apex, name, f, out->owner, res))
		return false;
	if (!url_type) {
		field_name(f, sizeof(f), where, "type");
		if (!json_is_string(jt)) {
			http_error(res, 400, f, "must be a string");
			return false;
		}
		type = json_string_value(jt);
	} else if (jt && (!json_is_string(jt) || strcasecmp(json_string_value(jt), url_type) != 0)) {
		http_error(res, 400, "type", "differs from the type in the URL");
		return false;
	}
	field_name(f, sizeof(f), where, "type");
	if (rrtext_type_from_text(type, &out->type) < 0) {
		http_error(res, 400, f, "\"%.40s\" is not a record type that can be stored", type);
		return false;
	}
	if (out->type == RR_SOA) {
		http_error(res, 400, f, "the SOA is kept by the server (its serial changes with every write)");
		return false;
	}
	json_t *del = json_object_get(obj, "delete");
	if (del) {
		field_name(f, sizeof(f), where, "delete");
		if (!json_is_true(del) || json_object_get(obj, "records") || json_object_get(obj, "ttl")) {
			http_error(res, 400, f, "must be true, without ttl and records");
			return false;
		}
		return true;
	}
	json_t *ttl = json_object_get(obj, "ttl"), *recs = json_object_get(obj, "records");
	field_name(f, sizeof(f), where, "ttl");
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 || json_integer_value(ttl) > API_TTL_MAX) {
		http_error(res, 400, f, "must be an integer from 0 to %d (RFC 2181 8)", API_TTL_MAX);
		return false;
	}
	out->ttl = (uint32_t)json_integer_value(ttl);
	field_name(f, sizeof(f), where, "records");
	if (!json_is_array(recs) || json_array_size(recs) == 0 || json_array_size(recs) > API_MAX_RECORDS) {
		http_error(res, 400, f,
		           "must be a list of 1 to %d records in presentation form (use \"delete\": true to remove)",
		           API_MAX_RECORDS);
		return false;
	}
	size_t cap = 0, used = 0;
	uint8_t *rd = NULL, one[65535];
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_t *r = json_array_get(recs, i);
		char rf[128], err[512] = "";
		snprintf(rf, sizeof(rf), "%s[%zu]", f, i);
		size_t len = 0;
		if (!json_is_string(r)) {
			http_error(res, 400, rf, "must be a string");
			goto fail;
		}
		int rc = rrtext_rdata_from_text(apex, out->owner, out->type, json_string_value(r), one, sizeof(one),
		                                &len, err, sizeof(err));
		if (rc < 0) {
			http_error(res, 400, rf, "%s", err);
			goto fail;
		}
		bool dup = false; /* identical records are one (RFC 2181 5) */
		for (const uint8_t *p = rd; p && p < rd + used && !dup; p = rdata_next(p))
			dup = rdata_len(p) == len && memcmp(rdata_bytes(p), one, len) == 0;
		if (dup)
			continue;
		if (used + 2 + len > cap) {
			cap = (used + 2 + len) * 2;
			uint8_t *n = realloc(rd, cap);
			if (!n) {
				http_error(res, 500, NULL, "out of memory");
				goto fail;
			}
			rd = n;
		}
		wire_put16(rd + used, (uint16_t)len);
		memcpy(rd + used + 2, one, len);
		used += 2 + len;
		out->count++;
	}
	out->rdata = rd;
	out->rdata_size = (uint32_t)used;
	return true;
fail:
	free(rd);
	return false;
}

static int change_key_cmp(const void *pa, const void *pb, void *arg)
{
	const struct change_rrset *ch = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	int c = name_cmp(ch[ia].owner, ch[ib].owner);
	if (!c)
		c = (ch[ia].type > ch[ib].type) - (ch[ia].type < ch[ib].type);
	return c ? c : (ia > ib) - (ia < ib);
}

bool api_changes_distinct(const struct change_rrset *ch, size_t n, struct http_response *res)
{
	if (n < 2)
		return true;
	size_t *idx = malloc(n * sizeof(*idx));
	if (!idx) {
		http_error(res, 500, NULL, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), change_key_cmp, (void *)ch);
	size_t first = n, again = n;
	for (size_t k = 1; k < n; k++) {
		size_t a = idx[k - 1], b = idx[k];
		/* one RRset's changes sort by their place: the pair named is the first repeat in the
		 * batch and the first change of its RRset */
		if (ch[a].type == ch[b].type && name_equal(ch[a].owner, ch[b].owner) && (again == n || b < again)) {
			first = a;
			again = b;
		}
	}
	free(idx);
	if (again == n)
		return true;
	char field[48], owner[NAME_MAXLEN * 4 + 1], type[RRTEXT_TYPE_MAXLEN];
	snprintf(field, sizeof(field), "rrsets[%zu]", again);
	name_to_text(ch[again].owner, owner, sizeof(owner));
	rrtext_type_to_text(ch[again].type, type, sizeof(type));
	http_error(res, 422, field,
	           "rrsets[%zu] and rrsets[%zu] both change the %s RRset at %s: a batch may change each RRset once "
	           "(give its final records in one change)",
	           first, again, type, owner);
	return false;
}

/* ---- a DNSSEC policy (PUT /zones/{zone}/dnssec) ---- */

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
static bool named_policy(const struct config *conf, json_t *v, struct dnssec_policy *p, struct http_response *res)
{
	if (!json_is_string(v)) {
		http_error(res, 400, "policy", "must be the name of a policy of the configuration's dnssec-policies");
		return false;
	}
	for (size_t i = 0; conf && i < conf->ndnssec_policies; i++) {
		if (strcmp(conf->dnssec_policies[i].policy.name, json_string_value(v)) == 0) {
			*p = conf->dnssec_policies[i].policy;
			return true;
		}
	}
	http_error(res, 400, "policy", "no policy \"%.64s\" in the configuration's dnssec-policies",
	           json_string_value(v));
	return false;
}

bool api_parse_dnssec_policy(json_t *body, const struct config *conf, struct dnssec_policy *p,
                             struct http_response *res)
{
	dnssec_policy_default(p);
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object");
		return false;
	}
	json_t *named = json_object_get(body, "policy");
	if (named && !named_policy(conf, named, p, res))
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
		} else if (strcmp(key, "ds-ttl") == 0) {
			ok = seconds(v, key, &p->ds_ttl, res);
		} else if (strcmp(key, "ds-check-interval") == 0) {
			ok = seconds(v, key, &p->ds_check_interval, res);
		} else if (strcmp(key, "rfc5011") == 0) {
			ok = boolean(v, key, &p->rfc5011, res);
		} else if (strcmp(key, "add-holddown") == 0) {
			ok = seconds(v, key, &p->add_holddown, res);
		} else if (strcmp(key, "remove-holddown") == 0) {
			ok = seconds(v, key, &p->remove_holddown, res);
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
	if (dnssec_policy_check(p, &field, err, sizeof(err)) < 0 ||
	    dnssec_policy_check_timings(p, conf && conf->dnssec_test_timings, &field, err, sizeof(err)) < 0) {
		http_error(res, 400, field, "%s", err);
		return false;
	}
	return true;
}

json_t *api_parse_batch(json_t *body, size_t *n, struct http_response *res)
{
	const char *key;
	json_t *v, *list = json_object_get(body, "zones");
	if (!json_is_object(body)) {
		http_error(res, 400, NULL, "body must be a JSON object {\"zones\": [zones]}");
		return NULL;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "zones")) {
			http_error(res, 400, key, "unknown field");
			return NULL;
		}
	}
	*n = json_array_size(list);
	if (!json_is_array(list) || *n == 0 || *n > API_MAX_BATCH_ZONES) {
		http_error(res, 400, "zones", "must be a list of 1 to %d zones", API_MAX_BATCH_ZONES);
		return NULL;
	}
	return list;
}

void api_batch_error_at(struct http_response *res, size_t i)
{
	json_error_t je;
	json_t *doc = res->body ? json_loadb(res->body, res->body_len, 0, &je) : NULL;
	json_t *e = json_object_get(doc, "error");
	const char *field = json_string_value(json_object_get(e, "field"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	char f[160];
	if (field)
		snprintf(f, sizeof(f), "zones[%zu].%s", i, field);
	else
		snprintf(f, sizeof(f), "zones[%zu]", i);
	http_error(res, res->status, f, "zones[%zu]: %s", i, msg ? msg : "refused");
	json_decref(doc);
}
