/* In-tree hints, the domain owner's side (draft-kolkman-dns-in-tree-hints): PUT, GET and DELETE
 * /api/v1/zones/{zone}/in-tree mark a zone, publishing `_in-tree.<zone> TXT "<RFC 3339>"` through the
 * write path (so it is signed like any RRset); marking needs DNSSEC in RFC 5011 mode and an NS inside
 * the zone, and the expiry is warned about INTREE_WARN ahead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/hints.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

#define INTREE_WARN CHANGE_INTREE_WARN /* warn this long before the published expiry (change.h) */
#define INTREE_TTL CHANGE_INTREE_TTL

/* The published expiry: the one string of the one TXT record at _in-tree (0 read, TERN_ENOTFOUND
 * none, TERN_EINVAL not one RFC 3339 string: text holds what is there). */
static int read_mark(struct api *a, const uint8_t *apex, long long *at, char *text, size_t cap, char *err,
                     size_t errlen)
{
	uint8_t owner[NAME_MAXLEN];
	struct store_rrset rs;
	if (!change_intree_owner(apex, owner))
		return TERN_ENOTFOUND;
	int rc = store_rrset_get(store_latest(a->store), apex, owner, RR_TXT, &rs, err, errlen);
	if (rc < 0)
		return rc;
	char strs[2][256];
	size_t lens[2];
	rc = TERN_EINVAL;
	snprintf(text, cap, "(%u records)", rs.count);
	if (rs.count == 1 && rs.rdata_size >= 2) {
		size_t len = (size_t)(rs.rdata[0] << 8 | rs.rdata[1]);
		if (len + 2 <= rs.rdata_size && hints_txt_strings(rs.rdata + 2, len, strs, lens, 2) == 1) {
			snprintf(text, cap, "%s", strs[0]);
			rc = hints_time_parse(strs[0], lens[0], at, err, errlen) == 0 ? 0 : TERN_EINVAL;
		}
	}
	store_rrset_clear(&rs);
	return rc;
}

/* Whether the zone may be marked: signed, RFC 5011 rollovers, an NS inside it (else writes the error);
 * *ttl the TXT's: INTREE_TTL, or the policy's max-zone-ttl when lower. */
static bool markable(struct api *a, const struct store_zone *z, uint32_t *ttl, struct http_response *res)
{
	struct store_dnssec d;
	struct store_rrset ns;
	char err[256] = "", zone[NAME_MAXLEN * 4 + 1];
	name_to_text(z->apex, zone, sizeof(zone));
	int rc = store_dnssec_get(store_latest(a->store), z->apex, &d, err, sizeof(err));
	if (rc == TERN_ENOTFOUND || (rc == 0 && (d.state != STORE_DNSSEC_SIGNED || d.unsigning))) {
		http_error(res, 409, "zone",
		           "%s is not signed: in-tree hints need DNSSEC (PUT /api/v1/zones/%s/dnssec with rfc5011 on, "
		           "then wait for state signed)",
		           zone, zone);
		return false;
	}
	if (rc < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		return false;
	}
	if (!d.policy.rfc5011) {
		http_error(res, 409, "zone",
		           "%s rolls its KSK without RFC 5011: hinted resolvers keep their anchor by RFC 5011 only "
		           "(a policy with rfc5011 on)",
		           zone);
		return false;
	}
	*ttl = change_intree_ttl(&d.policy);
	rc = store_rrset_get(store_latest(a->store), z->apex, z->apex, RR_NS, &ns, err, sizeof(err));
	if (rc < 0) {
		http_error(res, rc == TERN_ENOTFOUND ? 409 : 503, rc == TERN_ENOTFOUND ? "zone" : NULL, "%s",
		           rc == TERN_ENOTFOUND ? "the zone has no NS RRset" : err);
		return false;
	}
	bool inside = false;
	char names[512] = "";
	for (uint32_t at = 0; at + 2 <= ns.rdata_size;) {
		size_t len = (size_t)(ns.rdata[at] << 8 | ns.rdata[at + 1]);
		const uint8_t *rd = ns.rdata + at + 2;
		char t[NAME_MAXLEN * 4 + 1];
		if (at + 2 + len > ns.rdata_size || name_check(rd, len) < 0)
			break;
		inside |= name_in(rd, z->apex) && !name_equal(rd, z->apex);
		if (name_to_text(rd, t, sizeof(t)) >= 0 && strlen(names) + strlen(t) + 2 < sizeof(names))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), " %s", t);
		at += 2 + (uint32_t)len;
	}
	store_rrset_clear(&ns);
	if (!inside) {
		http_error(res, 409, "zone",
		           "no name server of %s lies inside it (NS:%s): in-tree hints need an in-bailiwick server",
		           zone, names);
		return false;
	}
	return true;
}

static json_t *mark_json(const uint8_t *apex, const char *text, long long at, long long now)
{
	json_t *o = json_pack("{s:o,s:b,s:s,s:I}", "zone", api_name_json(apex), "marked", true, "expires", text,
	                      "days_left", (json_int_t)((at - now) / 86400));
	if (at - now < INTREE_WARN) {
		char w[160];
		snprintf(w, sizeof(w), "%s",
		         at <= now ? "the in-tree promise has expired: resolvers stop trusting it"
		                   : "the in-tree promise expires within 60 days: renew it");
		json_object_set_new(o, "warning", json_string(w));
	}
	return o;
}

void api_intree_put(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	json_t *body = NULL, *rq = NULL;
	struct change_rrset *ch = NULL;
	if (!api_open(a, req, res, &c, &z, true, &body))
		return;
	const char *key;
	json_t *v;
	long long at, now = (long long)time(NULL);
	uint32_t ttl = INTREE_TTL;
	char err[256], stamp[40], zone[NAME_MAXLEN * 4 + 1];
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "expires") != 0) {
			http_error(res, 400, key, "unknown field (the body is {\"expires\": \"RFC 3339 date-time\"})");
			goto done;
		}
	}
	json_t *e = json_object_get(body, "expires");
	if (!json_is_string(e)) {
		http_error(res, 400, "expires", "expected the promise's end as an RFC 3339 date-time string");
		goto done;
	}
	if (hints_time_parse(json_string_value(e), json_string_length(e), &at, err, sizeof(err)) < 0) {
		http_error(res, 400, "expires", "%s", err);
		goto done;
	}
	if (at <= now) {
		http_error(res, 400, "expires", "%s is in the past", json_string_value(e));
		goto done;
	}
	if (!api_whole_zone(&c, &z, true, res) || !markable(a, &z, &ttl, res))
		goto done;
	time_t t = (time_t)at;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	char quoted[48];
	snprintf(quoted, sizeof(quoted), "\"%s\"", stamp);
	rq = json_pack("{s:I,s:[s]}", "ttl", (json_int_t)ttl, "records", quoted);
	ch = calloc(1, sizeof(*ch));
	if (!rq || !ch) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	if (!api_parse_change(z.apex, rq, "_in-tree", "TXT", "", ch, res))
		goto done;
	struct change_request crq = {.apex = z.apex, .rrsets = ch, .n = 1, .principal = c.p.tenant};
	struct change_result r;
	if (change_commit(a->change, &crq, &r) < 0) {
		api_change_error(res, &r, z.apex, ch, 1, "expires");
		goto done;
	}
	name_to_text(z.apex, zone, sizeof(zone));
	if (at - now < INTREE_WARN)
		log_warning("in-tree: %s marked until %s, less than 60 days ahead", zone, stamp);
	else
		log_info("in-tree: %s marked until %s (serial %u)", zone, stamp, r.serial);
	json_t *o = mark_json(z.apex, stamp, at, now);
	json_object_set_new(o, "serial", json_integer(r.serial));
	http_json(res, 200, o);
done:
	json_decref(body);
	json_decref(rq);
	if (ch)
		change_rrsets_free(ch, 1);
	api_caller_free(&c);
}

void api_intree_get(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, false, NULL))
		return;
	long long at;
	char text[256], err[256] = "";
	int rc = read_mark(a, z.apex, &at, text, sizeof(text), err, sizeof(err));
	if (rc == TERN_ENOTFOUND)
		http_json(res, 200, json_pack("{s:o,s:b}", "zone", api_name_json(z.apex), "marked", false));
	else if (rc == TERN_EINVAL)
		http_error(res, 409, "zone", "the _in-tree TXT record is not one RFC 3339 date-time (%s): %s", text,
		           err);
	else if (rc < 0)
		http_error(res, 503, NULL, "store: %s", err);
	else
		http_json(res, 200, mark_json(z.apex, text, at, (long long)time(NULL)));
	api_caller_free(&c);
}

void api_intree_delete(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct api_caller c;
	struct store_zone z;
	if (!api_open(a, req, res, &c, &z, true, NULL))
		return;
	long long at;
	char text[256], err[256] = "";
	struct change_rrset ch = {0};
	int rc = api_whole_zone(&c, &z, true, res) ? read_mark(a, z.apex, &at, text, sizeof(text), err, sizeof(err))
	                                           : TERN_EBUSY;
	if (rc == TERN_ENOTFOUND) {
		http_error(res, 409, "zone", "the zone is not marked in-tree (no _in-tree TXT)");
	} else if (rc < 0 && rc != TERN_EINVAL && rc != TERN_EBUSY) {
		http_error(res, 503, NULL, "store: %s", err);
	} else if (rc != TERN_EBUSY && change_intree_owner(z.apex, ch.owner)) {
		ch.type = RR_TXT;
		struct change_request crq = {.apex = z.apex, .rrsets = &ch, .n = 1, .principal = c.p.tenant};
		struct change_result r;
		if (change_commit(a->change, &crq, &r) < 0)
			api_change_error(res, &r, z.apex, &ch, 1, NULL);
		else
			http_json(
			    res, 200,
			    json_pack("{s:o,s:I}", "zone", api_name_json(z.apex), "serial", (json_int_t)r.serial));
	}
	api_caller_free(&c);
}

bool api_intree_zone_ok(const struct zone *z, const char *field, struct http_response *res)
{
	long long at;
	char err[300], owner[NAME_MAXLEN * 4 + 1];
	uint8_t wire[NAME_MAXLEN];
	if (change_intree_served(z, &at, err, sizeof(err)) != TERN_EINVAL)
		return true;
	if (!change_intree_owner(z->apex, wire) || name_to_text(wire, owner, sizeof(owner)) < 0)
		snprintf(owner, sizeof(owner), "_in-tree");
	http_error(res, 400, field,
	           "%s TXT: %s (the in-tree promise of draft-kolkman-dns-in-tree-hints: one record, one "
	           "character-string, an RFC 3339 date-time such as \"2027-06-01T00:00:00Z\")",
	           owner, err);
	return false;
}
