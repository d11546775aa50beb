/* tern check: RDAP (RFC 9083) over HTTP(S) with libcurl within a size and time cap, the reader of
 * its JSON domain object, and the registry lookup that runs RDAP and WHOIS for a check. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/check_find.h"
#include "lib/check_input.h"
#include "lib/check_registry.h"
#include "lib/error.h"

static void copy_printable(char *out, size_t cap, const char *in)
{
	size_t n = 0;
	for (; in && *in && n + 1 < cap; in++)
		out[n++] = ((unsigned char)*in >= 0x20 && (unsigned char)*in < 0x7f) ? *in : '?';
	out[n] = 0;
}

/* The "fn" of a jCard (RFC 7095): ["vcard", [["fn", {}, "text", "Name"], ...]]. */
static const char *vcard_fn(json_t *vcard)
{
	json_t *props = json_array_get(vcard, 1);
	size_t i;
	json_t *p;
	json_array_foreach(props, i, p)
	{
		const char *k = json_string_value(json_array_get(p, 0));
		if (k && strcasecmp(k, "fn") == 0 && json_is_string(json_array_get(p, 3)))
			return json_string_value(json_array_get(p, 3));
	}
	return NULL;
}

int check_rdap_parse(const char *body, size_t len, struct check_registration *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	int rc = TERN_EINVAL;
	if (!o) {
		snprintf(err, errlen, "RDAP answer is not JSON (line %d: %s)", je.line, je.text);
		return TERN_EINVAL;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "RDAP answer is not a JSON object");
		goto done;
	}
	if (json_object_get(o, "errorCode")) {
		char title[128];
		copy_printable(title, sizeof(title), json_string_value(json_object_get(o, "title")));
		snprintf(err, errlen, "RDAP error %lld%s%s",
		         (long long)json_integer_value(json_object_get(o, "errorCode")), title[0] ? ": " : "", title);
		goto done;
	}
	const char *cls = json_string_value(json_object_get(o, "objectClassName"));
	if (!cls || strcmp(cls, "domain") != 0) {
		snprintf(err, errlen, "RDAP answer is not a domain object (objectClassName %s)",
		         cls ? "is not \"domain\"" : "missing");
		goto done;
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o, "entities"), i, v)
	{
		bool registrar = false;
		size_t k;
		json_t *role;
		json_array_foreach(json_object_get(v, "roles"), k, role) registrar |=
		    json_is_string(role) && strcmp(json_string_value(role), "registrar") == 0;
		const char *fn = registrar ? vcard_fn(json_object_get(v, "vcardArray")) : NULL;
		if (fn && !out->registrar[0])
			copy_printable(out->registrar, sizeof(out->registrar), fn);
	}
	json_array_foreach(json_object_get(o, "events"), i, v)
	{
		const char *action = json_string_value(json_object_get(v, "eventAction"));
		const char *date = json_string_value(json_object_get(v, "eventDate"));
		if (action && date && strcmp(action, "expiration") == 0 && !out->expires[0])
			copy_printable(out->expires, sizeof(out->expires), date);
	}
	json_array_foreach(json_object_get(o, "nameservers"), i, v)
	{
		const char *ldh = json_string_value(json_object_get(v, "ldhName"));
		if (!ldh || !ldh[0] || out->nns == CHECK_MAXNS)
			continue;
		char nserr[160];
		if (check_input_name(ldh, out->ns[out->nns], NULL, 0, nserr, sizeof(nserr)) == 0)
			out->nns++; /* a name server that is no host name is left out */
	}
	out->have = true;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

struct body {
	char *buf;
	size_t len, cap;
	bool over;
};

static size_t body_write(char *data, size_t size, size_t n, void *ctx)
{
	struct body *b = ctx;
	size_t len = size * n;
	if (b->len + len > b->cap) {
		b->over = true;
		return 0; /* stops the transfer: CURLE_WRITE_ERROR */
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	return len;
}

static void rdap_lookup(struct check_ctx *c, struct check_report *r, const char *name)
{
	char url[800], err[256];
	snprintf(url, sizeof(url), "%s%sdomain/%s", c->rdap, c->rdap[strlen(c->rdap) - 1] == '/' ? "" : "/", name);
	struct body b = {.buf = malloc(c->whois_cap + 1), .cap = c->whois_cap};
	CURL *h = curl_easy_init();
	if (!b.buf || !h) {
		check_report_fail(r, "RDAP %s: out of memory", url);
		goto done;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/rdap+json, application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->whois_timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	char *ctype = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	if (b.over)
		check_report_fail(r, "RDAP %s sent more than %zu octets: stopped reading", url, c->whois_cap);
	else if (cc != CURLE_OK)
		check_report_fail(r, "RDAP %s: %s", url, curl_easy_strerror(cc));
	else if (!ctype || !strstr(ctype, "json"))
		check_report_fail(r, "RDAP %s answered HTTP %ld with %.60s, not JSON: ignored", url, status,
		                  ctype ? ctype : "no content type");
	else if (check_rdap_parse(b.buf, b.len, &r->rdap, err, sizeof(err)) < 0)
		check_report_fail(r, "RDAP %s (HTTP %ld): %s", url, status, err);
	else {
		snprintf(r->rdap.source, sizeof(r->rdap.source), "rdap");
		check_copy(r->rdap.server, sizeof(r->rdap.server), url);
	}
	curl_slist_free_all(hdr);
done:
	if (h)
		curl_easy_cleanup(h);
	free(b.buf);
}

static void whois_lookup(struct check_ctx *c, struct check_report *r, const char *name)
{
	char server[256], refer[256] = "", err[300];
	check_copy(server, sizeof(server), c->whois);
	for (int hop = 0; hop < 2; hop++) {
		char *text = NULL;
		size_t len = 0;
		int rc =
		    check_whois_fetch(server, name, c->whois_cap, c->whois_timeout_ms, &text, &len, err, sizeof(err));
		if (rc < 0)
			check_report_fail(r, "WHOIS %s", err);
		struct check_registration g = {0};
		refer[0] = 0;
		int found = text ? check_whois_parse(text, len, &g, refer, sizeof(refer)) : 0;
		free(text);
		if (found) {
			g.have = true;
			snprintf(g.source, sizeof(g.source), "whois");
			check_copy(g.server, sizeof(g.server), server);
			r->whois = g;
			return;
		}
		if (rc < 0 || !refer[0] || strcasecmp(refer, server) == 0)
			break;
		check_copy(server, sizeof(server), refer);
	}
	check_report_fail(r, "WHOIS %s has no registration data for %s", server, name);
}

/* Days until an ISO 8601 date ("2027-01-02T03:04:05Z", "2027-01-02"); false when unreadable. */
static bool days_left(const char *date, long *days)
{
	struct tm tm = {0};
	if (sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*days = (long)((t - time(NULL)) / 86400);
	return true;
}

void check_registry_lookup(struct check_ctx *c, struct check_report *r)
{
	char name[CHECK_NAME_TEXT];
	check_copy(name, sizeof(name), r->target);
	if (strlen(name) > 1 && name[strlen(name) - 1] == '.')
		name[strlen(name) - 1] = 0;
	if (c->rdap[0])
		rdap_lookup(c, r, name);
	if (c->whois[0])
		whois_lookup(c, r, name);
	const char *expires = r->rdap.have ? r->rdap.expires : r->whois.have ? r->whois.expires : "";
	long days;
	if (expires[0] && days_left(expires, &days) && days < 30)
		check_find(r, "expiry_soon", "%s expires %s (%s%ld days)", name, expires, days < 0 ? "expired " : "in ",
		           days < 0 ? -days : days);
}
