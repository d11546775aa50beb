/* Domain Connect's synchronous flow on the API port (the DNS provider's side): the settings a
 * service provider discovers, whether a template is supported, and its apply: the request judged
 * without the user (template, query, records, signature, redirect: an error page, or the consent
 * page), then, signed in (a bearer token in a header, as the API), the records to add and those
 * to remove shown and, on consent, written through the one write path. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "lib/dconn.h"
#include "lib/error.h"
#include "lib/exchange.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/wire.h"
#include "ternd/api/api_impl.h"
#include "ternd/api/prom.h"
#include "ternd/base/log.h"

extern const char api_dconn_page_js[];
extern const char api_dconn_page_css[];

#define DC_MSG_MAX 65535
#define DC_KEY_PARTS 16
#define DC_CACHE_KEYS 1024 /* signing keys kept for their TTL */
#define DC_CACHE_TTL_MAX 86400

/* A request judged without the user. */
struct dc_req {
	struct dconn_query q;
	const struct dconn_template *t;
	struct dconn_rr *rrs;
	size_t nrr;
	uint8_t apex[NAME_MAXLEN];
	int status; /* on refusal */
	char field[80];
	char why[768];
};

static void dc_clear(struct dc_req *d)
{
	dconn_query_clear(&d->q);
	free(d->rrs);
	d->rrs = NULL;
}

/* ---- the signing key, through the resolver ---- */

static size_t query_build(const uint8_t *name, uint16_t id, uint8_t *q)
{
	size_t nl = name_len(name), n = 12;
	memset(q, 0, 12);
	wire_put16(q, id);
	wire_put16(q + 2, 0x0100); /* RD */
	wire_put16(q + 4, 1);
	wire_put16(q + 10, 1);
	memcpy(q + n, name, nl);
	n += nl;
	wire_put16(q + n, RR_TXT);
	wire_put16(q + n + 2, 1);
	n += 4;
	q[n++] = 0; /* OPT, 1232 octets */
	wire_put16(q + n, RR_OPT);
	wire_put16(q + n + 2, 1232);
	memset(q + n + 4, 0, 6);
	return n + 10;
}

/* The TXT records of the answer (each one's strings joined) into txt[] (malloc'd), *n of them,
 * the least of their TTLs in *ttl. */
static int answer_txts(const uint8_t *m, size_t len, char **txt, size_t *n, uint32_t *ttl, char *why, size_t wcap)
{
	*ttl = UINT32_MAX;
	size_t pos = 12;
	uint8_t name[NAME_MAXLEN];
	if (wire_get16(m + 4) != 1 || wire_read_name(m, len, &pos, name) < 0 || pos + 4 > len) {
		snprintf(why, wcap, "the resolver's answer has no question");
		return TERN_EMALF;
	}
	pos += 4;
	unsigned rcode = m[3] & 0x0f, an = wire_get16(m + 6);
	if (rcode != 0 && rcode != 3) {
		snprintf(why, wcap, "the resolver answered rcode %u", rcode);
		return TERN_EIO;
	}
	*n = 0;
	for (unsigned i = 0; i < an; i++) {
		uint16_t type, rdlen;
		size_t rdpos;
		if (wire_skip_rr(m, len, &pos, &type, &rdpos, &rdlen) < 0) {
			snprintf(why, wcap, "the resolver's answer is malformed");
			return TERN_EMALF;
		}
		if (type != RR_TXT || *n == DC_KEY_PARTS)
			continue;
		uint32_t t = wire_get32(m + rdpos - 6); /* TTL, RDLENGTH, RDATA */
		*ttl = t < *ttl ? t : *ttl;
		char *s = malloc((size_t)rdlen + 1);
		if (!s)
			return TERN_ENOMEM;
		size_t w = 0;
		for (size_t at = rdpos; at < rdpos + rdlen;) {
			size_t l = m[at++];
			if (at + l > rdpos + rdlen) {
				free(s);
				snprintf(why, wcap, "a TXT record of the answer is malformed");
				return TERN_EMALF;
			}
			for (size_t k = 0; k < l; k++) /* a NUL would end the text: made a space */
				s[w++] = m[at + k] ? (char)m[at + k] : ' ';
			at += l;
		}
		s[w] = 0;
		txt[(*n)++] = s;
	}
	return 0;
}

/* ---- the lookup budget and the keys cached ---- */

struct dc_cached {
	char name[256]; /* lower-cased; "" free */
	int64_t expires_ms; /* exchange_now_ms()'s clock */
	char *txt[DC_KEY_PARTS];
	size_t n;
};

/* The unauthenticated routes make ternd ask the resolver (a key) or the store (settings): one
 * budget for all clients, a token bucket of domainconnect.lookups-per-second; keys found are
 * kept for their TTL so a key asked again costs nothing. */
struct api_dconn_keys {
	pthread_mutex_t lock;
	struct api_bucket budget; /* tenant "": every client's */
	bool started; /* budget filled (at the first request: the rate is the configuration's then) */
	struct dc_cached *v; /* DC_CACHE_KEYS */
	_Atomic uint64_t lookups, hits, limited;
};

int api_dconn_keys_new(struct api_dconn_keys **out)
{
	struct api_dconn_keys *k = calloc(1, sizeof(*k));
	if (!k || !(k->v = calloc(DC_CACHE_KEYS, sizeof(*k->v)))) {
		free(k);
		return TERN_ENOMEM;
	}
	pthread_mutex_init(&k->lock, NULL);
	*out = k;
	return 0;
}

static void cached_clear(struct dc_cached *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->txt[i]);
	memset(c, 0, sizeof(*c));
}

void api_dconn_keys_free(struct api_dconn_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < DC_CACHE_KEYS; i++)
		cached_clear(&k->v[i]);
	free(k->v);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

void api_dconn_metrics(const struct api_dconn_keys *k, struct text *m)
{
	prom_family(m, "tern_dconn_key_lookups_total", "counter",
	            "Domain Connect signing keys looked up through domainconnect.resolver.");
	text_printf(m, "tern_dconn_key_lookups_total %llu\n", (unsigned long long)atomic_load(&k->lookups));
	prom_family(m, "tern_dconn_key_cache_hits_total", "counter",
	            "Domain Connect signing keys taken from the cache (kept for their TTL), no lookup.");
	text_printf(m, "tern_dconn_key_cache_hits_total %llu\n", (unsigned long long)atomic_load(&k->hits));
	prom_family(m, "tern_dconn_limited_total", "counter",
	            "Domain Connect requests refused 429 over domainconnect.lookups-per-second.");
	text_printf(m, "tern_dconn_limited_total %llu\n", (unsigned long long)atomic_load(&k->limited));
}

/* One of the budget's tokens taken: true, or false (counted). */
static bool dc_budget_take(struct api_dconn_keys *k, uint32_t rate)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double held;
	pthread_mutex_lock(&k->lock);
	if (!k->started) {
		k->budget.tokens = rate;
		k->budget.last = now;
		k->started = true;
	}
	bool ok = api_bucket_take(&k->budget, &now, rate, rate, &held);
	pthread_mutex_unlock(&k->lock);
	if (!ok)
		atomic_fetch_add(&k->limited, 1);
	return ok;
}

/* The key's TXT strings cached for name (copies into txt, *n): true, or false. */
static bool dc_cache_get(struct api_dconn_keys *k, const char *name, char **txt, size_t *n)
{
	int64_t now = exchange_now_ms();
	bool found = false;
	*n = 0;
	pthread_mutex_lock(&k->lock);
	for (size_t i = 0; i < DC_CACHE_KEYS && !found; i++) {
		struct dc_cached *c = &k->v[i];
		if (!c->name[0] || strcmp(c->name, name))
			continue;
		if (c->expires_ms <= now) {
			cached_clear(c);
			break;
		}
		found = true;
		for (size_t j = 0; j < c->n && found; j++) {
			txt[j] = strdup(c->txt[j]);
			found = txt[j] != NULL;
			*n = j + 1;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (!found) {
		for (size_t j = 0; j < *n; j++)
			free(txt[j]);
		*n = 0;
		return false;
	}
	atomic_fetch_add(&k->hits, 1);
	return true;
}

/* The key's TXT strings kept for ttl seconds, in a free slot, an expired one, or the one that
 * expires first. Nothing when memory is short (the next request looks it up again). */
static void dc_cache_put(struct api_dconn_keys *k, const char *name, char *const *txt, size_t n, uint32_t ttl)
{
	if (ttl == 0 || n == 0 || strlen(name) >= sizeof(k->v[0].name))
		return;
	struct dc_cached fresh = {0};
	snprintf(fresh.name, sizeof(fresh.name), "%s", name);
	fresh.expires_ms = exchange_now_ms() + (int64_t)(ttl > DC_CACHE_TTL_MAX ? DC_CACHE_TTL_MAX : ttl) * 1000;
	for (size_t j = 0; j < n; j++) {
		if (!(fresh.txt[j] = strdup(txt[j]))) {
			cached_clear(&fresh);
			return;
		}
		fresh.n = j + 1;
	}
	int64_t now = exchange_now_ms();
	pthread_mutex_lock(&k->lock);
	struct dc_cached *slot = NULL;
	for (size_t i = 0; i < DC_CACHE_KEYS; i++) {
		struct dc_cached *c = &k->v[i];
		if (c->name[0] && !strcmp(c->name, name)) { /* asked twice at once: the later answer */
			slot = c;
			break;
		}
		if (!c->name[0] || c->expires_ms <= now)
			slot = slot && !slot->name[0] ? slot : c;
		else if (!slot || (slot->name[0] && c->expires_ms < slot->expires_ms && slot->expires_ms > now))
			slot = c;
	}
	cached_clear(slot);
	*slot = fresh;
	pthread_mutex_unlock(&k->lock);
}

/* The key's TXT records looked up through domainconnect.resolver (and cached for their TTL):
 * true with txt[], *n; false with d's status and why. */
static bool dc_key_lookup(const struct config_domainconnect *dc, struct api_dconn_keys *keys, const uint8_t *wname,
                          const char *kname, char **txt, size_t *np, struct dc_req *d)
{
	atomic_fetch_add(&keys->lookups, 1);
	uint8_t q[12 + NAME_MAXLEN + 4 + 11];
	uint16_t id = 0;
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)exchange_now_ms();
	size_t qlen = query_build(wname, id, q), len = 0;
	uint8_t *a = malloc(DC_MSG_MAX);
	size_t n = 0;
	uint32_t ttl = 0;
	char err[256] = "";
	int rc = a ? 0 : TERN_ENOMEM;
	for (int tcp = 0; rc == 0 && tcp < 2; tcp++) {
		int64_t deadline = exchange_now_ms() + (int64_t)dc->resolver_timeout * 1000;
		rc = dns_exchange((const struct sockaddr *)&dc->resolver.addr, dc->resolver.addrlen, q, qlen, tcp,
		                  deadline, a, DC_MSG_MAX, &len, err, sizeof(err));
		if (rc == 0 && (len < 12 || wire_get16(a) != id)) {
			snprintf(err, sizeof(err), "an answer that is not to the question");
			rc = TERN_EIO;
		}
		if (rc == 0 && !(a[2] & 0x02))
			break; /* not truncated */
	}
	if (rc == 0)
		rc = answer_txts(a, len, txt, &n, &ttl, err, sizeof(err));
	free(a);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++) /* those read before the answer turned out malformed */
			free(txt[i]);
		d->status = 502;
		snprintf(d->why, sizeof(d->why), "the key %.300s could not be looked up through %s: %s", kname,
		         dc->resolver.text, rc == TERN_ENOMEM ? "out of memory" : err);
		return false;
	}
	*np = n;
	if (ttl != UINT32_MAX)
		dc_cache_put(keys, kname, txt, n, ttl);
	return true;
}

/* The signature of d's query checked with the key at <key>.<syncPubKeyDomain> TXT. */
static bool dc_signature_ok(struct api *a, struct dc_req *d)
{
	const struct config_domainconnect *dc = &api_config(a)->domainconnect;
	d->status = 400;
	if (!d->q.sig || !d->q.key) {
		snprintf(d->field, sizeof(d->field), "%s", d->q.sig ? "key" : "sig");
		snprintf(d->why, sizeof(d->why), "missing: the template asks for signed requests");
		return false;
	}
	char kname[600];
	uint8_t wname[NAME_MAXLEN];
	snprintf(kname, sizeof(kname), "%s.%s", d->q.key, d->t->pubkey_domain);
	if (name_from_text(wname, kname, (const uint8_t *)"") < 0) {
		snprintf(d->field, sizeof(d->field), "key");
		snprintf(d->why, sizeof(d->why), "%.300s is not a domain name", kname);
		return false;
	}
	snprintf(d->field, sizeof(d->field), "sig");
	if (!dc->resolver.addrlen) {
		d->status = 503;
		snprintf(d->why, sizeof(d->why), "no resolver to look the key up through (domainconnect.resolver)");
		return false;
	}
	char *txt[DC_KEY_PARTS];
	size_t n = 0;
	for (char *c = kname; *c; c++)
		*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	struct api_dconn_keys *keys = a->dckeys;
	if (!dc_cache_get(keys, kname, txt, &n)) {
		if (!dc_budget_take(keys, dc->lookups_per_second)) {
			d->status = 429;
			snprintf(
			    d->why, sizeof(d->why),
			    "too many key lookups here just now (domainconnect.lookups-per-second): try again in a "
			    "second");
			return false;
		}
		if (!dc_key_lookup(dc, keys, wname, kname, txt, &n, d))
			return false;
	}
	char why[300] = "";
	int rc = dconn_verify((const char *const *)txt, n, d->q.signed_text, strlen(d->q.signed_text), d->q.sig, why,
	                      sizeof(why));
	for (size_t i = 0; i < n; i++)
		free(txt[i]);
	if (rc < 0) {
		snprintf(d->why, sizeof(d->why), "%s (key %.300s)", why, kname);
		return false;
	}
	return true;
}

/* Template, query, redirect, signature and records: false with d->status, field and why. */
static bool dc_judge(struct api *a, const struct http_request *req, struct dc_req *d)
{
	const struct config *conf = api_config(a);
	memset(d, 0, sizeof(*d));
	d->status = 404;
	if (!conf->domainconnect.enabled || !a->dconn) {
		snprintf(d->why, sizeof(d->why), "Domain Connect is not configured here");
		return false;
	}
	d->t = dconn_templates_find(a->dconn, req->params[0], req->params[1]);
	if (!d->t || d->t->sync_block) {
		snprintf(d->field, sizeof(d->field), "template");
		snprintf(d->why, sizeof(d->why), "no template %.100s/%.100s %s", req->params[0], req->params[1],
		         d->t ? "offers the synchronous flow" : "is supported here");
		return false;
	}
	d->status = 400;
	const char *target = http_target(req), *qm = target ? strchr(target, '?') : NULL;
	const char *raw = qm ? qm + 1 : "";
	size_t rawlen = strcspn(raw, "#");
	if (dconn_query_parse(raw, rawlen, &d->q, d->field, sizeof(d->field), d->why, sizeof(d->why)) < 0)
		return false;
	if (d->q.redirect_uri &&
	    !dconn_redirect_allowed(d->t->redirect_domains, d->q.redirect_uri, d->why, sizeof(d->why))) {
		snprintf(d->field, sizeof(d->field), "redirect_uri");
		return false;
	}
	if (!api_parse_zone_name(d->q.domain, d->apex)) {
		snprintf(d->field, sizeof(d->field), "domain");
		snprintf(d->why, sizeof(d->why), "\"%.100s\" is not a zone name", d->q.domain);
		return false;
	}
	if (dconn_expand(d->t, &d->q, &d->rrs, &d->nrr, d->field, sizeof(d->field), d->why, sizeof(d->why)) < 0)
		return false;
	if (d->t->pubkey_domain && !dc_signature_ok(a, d))
		return false;
	return true;
}

/* ---- HTML ---- */

static void html_text(struct text *t, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': text_printf(t, "&amp;"); break;
		case '<': text_printf(t, "&lt;"); break;
		case '>': text_printf(t, "&gt;"); break;
		case '"': text_printf(t, "&quot;"); break;
		case '\'': text_printf(t, "&#39;"); break;
		default: text_append(t, s, 1);
		}
	}
}

/* s percent-encoded but for RFC 3986's unreserved characters. */
static void url_escape(struct text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c))
			text_append(t, s, 1);
		else
			text_printf(t, "%%%02X", c);
	}
}

#define DC_PAGE_HEADERS                                                                                                \
	"Content-Security-Policy: default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; "       \
	"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'\r\n" API_PAGE_HEADERS_REST
static const char dc_page_headers[] = DC_PAGE_HEADERS;

static void html_head(struct text *t, const char *title)
{
	text_printf(t, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	html_text(t, title);
	text_printf(t, "</title><link rel=\"stylesheet\" href=\"/dconn/style.css\"></head><body>\n");
}

static void page_send(struct http_response *res, int status, struct text *t)
{
	if (t->nomem) {
		http_error(res, 500, NULL, "out of memory writing the page");
	} else {
		http_text(res, status, "text/html; charset=utf-8", t->s, t->len);
		res->headers = dc_page_headers;
		if (status == 429) /* a token comes back within 1 / lookups-per-second */
			snprintf(res->retry_after, sizeof(res->retry_after), "1");
	}
	free(t->s);
}

/* The error page: what was refused and that nothing changed. */
static void error_page(struct http_response *res, const struct dc_req *d)
{
	struct text t = {0};
	html_head(&t, "Domain Connect: request refused");
	text_printf(&t, "<main id=\"dc-error\"><h1>This request cannot be applied</h1><p id=\"error\">");
	if (d->field[0]) {
		text_printf(&t, "<code>");
		html_text(&t, d->field);
		text_printf(&t, "</code>: ");
	}
	html_text(&t, d->why);
	text_printf(&t, "</p><p>Nothing was changed in your zone.</p></main></body></html>\n");
	page_send(res, d->status, &t);
}

static const char *fqdn_of(const struct dconn_query *q, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", q->host, *q->host ? "." : "", q->domain);
	return buf;
}

/* One record as a table row, and as JSON. */
static void rr_row(struct text *t, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t len)
{
	char name[NAME_MAXLEN * 4 + 1], tn[16], data[4096];
	if (name_to_text(owner, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	if (rrtext_rdata_to_text(type, rd, len, data, sizeof(data)) < 0)
		snprintf(data, sizeof(data), "(%u octets)", len);
	text_printf(t, "<tr><td>");
	html_text(t, name);
	text_printf(t, "</td><td>%s</td><td>%u</td><td>", rr_type_name(type, tn), ttl);
	html_text(t, data);
	text_printf(t, "</td></tr>\n");
}

static json_t *rr_json(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t len)
{
	char tn[16], data[4096];
	if (rrtext_rdata_to_text(type, rd, len, data, sizeof(data)) < 0)
		snprintf(data, sizeof(data), "(%u octets)", len);
	return json_pack("{s:o,s:s,s:I,s:s}", "name", api_name_json(owner), "type", rr_type_name(type, tn), "ttl",
	                 (json_int_t)ttl, "data", data);
}

/* The consent page: the service, the records it asks for; its script signs in and shows the
 * exact change. */
static void consent_page(struct api *a, const struct http_request *req, struct http_response *res,
                         const struct dc_req *d)
{
	const struct config *conf = api_config(a);
	char fqdn[512];
	struct text t = {0};
	html_head(&t, "Connect a service to your domain");
	text_printf(&t, "<main id=\"dc\" data-apply=\"");
	html_text(&t, http_target(req));
	text_printf(&t, "\"");
	if (d->q.redirect_uri) { /* where a refusal goes (the template allows it) */
		text_printf(&t, " data-cancel=\"");
		html_text(&t, d->q.redirect_uri);
		text_printf(&t, "%serror=access_denied", strchr(d->q.redirect_uri, '?') ? "&amp;" : "?");
		if (d->q.state) {
			text_printf(&t, "&amp;state=");
			url_escape(&t, d->q.state);
		}
		text_printf(&t, "\"");
	}
	text_printf(&t, ">\n<h1>Connect <span id=\"service\">");
	html_text(&t, d->t->service_name);
	text_printf(&t, "</span> to <span id=\"fqdn\">");
	html_text(&t, fqdn_of(&d->q, fqdn, sizeof(fqdn)));
	text_printf(&t, "</span></h1>\n<p>");
	html_text(&t, d->t->provider_name);
	text_printf(&t, " asks ");
	html_text(&t, conf->domainconnect.provider_name);
	text_printf(&t, " to change DNS records of your domain.%s</p>\n",
	            d->t->pubkey_domain ? " The request is signed by the service provider." : "");
	if (d->t->warn_phishing)
		text_printf(&t, "<p class=\"warn\">Only continue if you started this from the service's own site: a "
		                "link sent to you may be an attempt to take over your domain.</p>\n");
	if (d->t->description) {
		text_printf(&t, "<p>");
		html_text(&t, d->t->description);
		text_printf(&t, "</p>\n");
	}
	text_printf(&t,
	            "<h2>Records the service asks for</h2>\n<table id=\"asked\"><thead><tr><th>name</th><th>type</th>"
	            "<th>TTL</th><th>data</th></tr></thead><tbody>\n");
	bool spfm = false;
	for (size_t i = 0; i < d->nrr; i++) {
		rr_row(&t, d->rrs[i].owner, d->rrs[i].type, d->rrs[i].ttl, d->rrs[i].rdata, d->rrs[i].rdlen);
		spfm |= d->rrs[i].spfm;
	}
	text_printf(&t, "</tbody></table>\n");
	if (spfm)
		text_printf(&t,
		            "<p id=\"spf-merge\">SPF rules (v=spf1 ... ~all) are merged into the SPF record the name "
		            "has, if it has one: its own rules and policy stay. The record as it will be is shown "
		            "once you sign in.</p>\n");
	text_printf(&t,
	            ""
	            "<form id=\"signin\"><label for=\"token\">Sign in with your API token</label> "
	            "<input id=\"token\" type=\"password\" autocomplete=\"off\" required> "
	            "<button type=\"submit\" id=\"signin-button\">Sign in</button></form>\n"
	            "<section id=\"review\" hidden><h2>Records that will be added</h2>\n"
	            "<table id=\"add\"><thead><tr><th>name</th><th>type</th><th>TTL</th><th>data</th></tr></thead>"
	            "<tbody></tbody></table>\n"
	            "<h2>Records that conflict and will be removed</h2>\n"
	            "<table id=\"remove\"><thead><tr><th>name</th><th>type</th><th>TTL</th><th>data</th></tr></thead>"
	            "<tbody></tbody></table>\n"
	            "<p><button type=\"button\" id=\"consent\">Connect</button> "
	            "<button type=\"button\" id=\"cancel\">Cancel</button></p></section>\n"
	            "<p id=\"status\" role=\"status\"></p>\n"
	            "<noscript><p>This page needs JavaScript to sign in.</p></noscript>\n"
	            "</main><script src=\"/dconn/app.js\"></script></body></html>\n");
	page_send(res, 200, &t);
}

/* ---- the change ---- */

/* One record of the plan: a record of the zone, or one of the template. */
struct dc_entry {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl; /* as it will be */
	uint32_t zone_ttl; /* existing: its RRset's TTL now */
	const uint8_t *rd;
	uint16_t rdlen;
	bool existing; /* in the zone now */
	bool removed; /* existing, in conflict with a record of the template */
	bool templ; /* the template asks for it (new, or existing and kept) */
};

struct dc_plan {
	struct dc_entry *e;
	size_t n, cap;
	uint32_t serial;
	uint8_t **owned; /* RDATA made here (SPF records merged), freed with the plan */
	size_t nowned;
};

static void dc_plan_free(struct dc_plan *p)
{
	free(p->e);
	for (size_t i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	memset(p, 0, sizeof(*p));
}

static bool plan_add(struct dc_plan *p, struct dc_entry e)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct dc_entry *g = realloc(p->e, cap * sizeof(*g));
		if (!g)
			return false;
		p->e = g;
		p->cap = cap;
	}
	p->e[p->n++] = e;
	return true;
}

/* Types a Domain Connect template never removes: the zone's own and DNSSEC's. */
static bool dc_kept_type(uint16_t type)
{
	return type == RR_SOA || type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3 || type == RR_DNSKEY ||
	       type == RR_CDS || type == RR_CDNSKEY || type == RR_DS || type == RR_NSEC3PARAM;
}

/* A TXT record's strings joined into buf (at most DCONN_TXT_MAX octets): their length. */
static size_t txt_join(const uint8_t *rd, uint16_t len, char *buf)
{
	size_t w = 0;
	for (size_t at = 0; at < len && w < DCONN_TXT_MAX;) {
		size_t l = rd[at++];
		for (size_t k = 0; k < l && at + k < len && w < DCONN_TXT_MAX; k++)
			buf[w++] = (char)rd[at + k];
		at += l;
	}
	buf[w] = 0;
	return w;
}

static bool txt_starts(const uint8_t *rd, uint16_t len, const char *prefix)
{
	char buf[DCONN_TXT_MAX + 1];
	txt_join(rd, len, buf);
	return !strncmp(buf, prefix, strlen(prefix));
}

/* Whether two CAA records have the same tag (a template's "issue" replaces the "issue" there). */
static bool caa_same_tag(const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
	return alen >= 2 && blen >= 2 && a[1] == b[1] && 2u + a[1] <= alen && 2u + b[1] <= blen &&
	       !strncasecmp((const char *)a + 2, (const char *)b + 2, a[1]);
}

/* Whether the template's record n removes a record of type et (rdata erd) at its owner. */
static bool dc_conflicts(const struct dconn_rr *n, uint16_t et, const uint8_t *erd, uint16_t elen)
{
	if (dc_kept_type(et))
		return false;
	switch (n->type) {
	case RR_CNAME:
	case RR_NS: return true;
	case RR_A:
	case RR_AAAA: return et == RR_A || et == RR_AAAA || et == RR_CNAME;
	case RR_MX: return et == RR_MX || et == RR_CNAME;
	case RR_SRV: return et == RR_SRV || et == RR_CNAME; /* the owner is _service._protocol.name */
	case RR_CAA: return et == RR_CNAME || (et == RR_CAA && caa_same_tag(n->rdata, n->rdlen, erd, elen));
	default: /* TXT (SPFM: CNAME only; its SPF record is merged by dc_spf_merge()) */
		return et == RR_CNAME ||
		       (et == RR_TXT && (n->txt_mode == DCONN_TXT_ALL ||
		                         (n->txt_mode == DCONN_TXT_PREFIX && txt_starts(erd, elen, n->txt_prefix))));
	}
}

static bool same_record(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b, uint16_t blen)
{
	if (alen != blen)
		return false;
	uint8_t ca[4096], cb[4096];
	if (alen > sizeof(ca))
		return !memcmp(a, b, alen);
	rr_rdata_canonical(type, a, alen, ca);
	rr_rdata_canonical(type, b, blen, cb);
	return !memcmp(ca, cb, alen);
}

/* An SPFM record of the template: its rules merged into the SPF record at its owner (the zone's,
 * or one an earlier SPFM record made), else its own "v=spf1 RULES ~all" added. 0, TERN_ENOMEM,
 * TERN_ESPACE (the merged record would be over DCONN_TXT_MAX octets). */
static int dc_spf_merge(struct dc_plan *p, const struct dconn_rr *n)
{
	char own[DCONN_TXT_MAX + 1], there[DCONN_TXT_MAX + 1], merged[DCONN_TXT_MAX + 1];
	size_t ol = txt_join(n->rdata, n->rdlen, own);
	own[ol - 5] = 0; /* "v=spf1 RULES ~all": the rules from own + 7 */
	struct dc_entry *e = NULL;
	size_t tl = 0;
	for (size_t k = 0; k < p->n && !e; k++) {
		struct dc_entry *f = &p->e[k];
		if (f->type != RR_TXT || f->removed || !name_equal(f->owner, n->owner))
			continue;
		tl = txt_join(f->rd, f->rdlen, there);
		if (tl >= 6 && !strncasecmp(there, "v=spf1", 6) && (tl == 6 || there[6] == ' '))
			e = f;
	}
	if (!e)
		return plan_add(p,
		                (struct dc_entry){n->owner, RR_TXT, n->ttl, 0, n->rdata, n->rdlen, false, false, true})
		           ? 0
		           : TERN_ENOMEM;
	int ml = dconn_spf_merge(there, tl, own + 7, merged, sizeof(merged));
	if (ml < 0)
		return TERN_ESPACE;
	uint32_t ttl = n->ttl_default ? (e->existing ? e->zone_ttl : e->ttl) : n->ttl;
	if ((size_t)ml == tl && !memcmp(merged, there, tl)) { /* every rule there already */
		e->templ = true;
		e->ttl = ttl;
		return 0;
	}
	uint8_t **grown = realloc(p->owned, (p->nowned + 1) * sizeof(*grown));
	uint8_t *rd = malloc(DCONN_TXT_MAX + DCONN_TXT_MAX / 255 + 1);
	if (!grown || !rd) {
		p->owned = grown ? grown : p->owned;
		free(rd);
		return TERN_ENOMEM;
	}
	p->owned = grown;
	p->owned[p->nowned++] = rd;
	size_t w = 0;
	for (size_t at = 0; at < (size_t)ml;) { /* strings of at most 255 octets ("v=spf1": never empty) */
		size_t piece = (size_t)ml - at > 255 ? 255 : (size_t)ml - at;
		rd[w++] = (uint8_t)piece;
		memcpy(rd + w, merged + at, piece);
		w += piece;
		at += piece;
	}
	if (!e->existing) { /* one an earlier SPFM record of the template made */
		e->rd = rd;
		e->rdlen = (uint16_t)w;
		e->ttl = ttl;
		return 0;
	}
	e->removed = true;
	e->templ = false;
	return plan_add(p, (struct dc_entry){n->owner, RR_TXT, ttl, 0, rd, (uint16_t)w, false, false, true})
	           ? 0
	           : TERN_ENOMEM;
}

/* The plan over the zone served (the caller is an RCU reader: entries point into it until it
 * leaves). 0, TERN_ENOTFOUND (not served), TERN_ENOMEM. */
static int dc_plan_make(struct api *a, const struct dc_req *d, struct dc_plan *p)
{
	const struct zone *z = zones_get(a->srv->zones, d->apex);
	if (!z)
		return TERN_ENOTFOUND;
	const struct zone_node *apexn = zone_find(z, d->apex, name_len(d->apex));
	const struct rrset *soa = apexn ? zone_node_rrset(apexn, RR_SOA) : NULL;
	if (!soa)
		return TERN_ENOTFOUND;
	p->serial = wire_get32(rdata_bytes(soa->rdata) + rr_soa_serial_offset(rdata_bytes(soa->rdata)));
	/* the zone's records at each owner the template writes */
	for (size_t i = 0; i < d->nrr; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = name_equal(d->rrs[j].owner, d->rrs[i].owner);
		const struct zone_node *node = seen ? NULL : zone_find(z, d->rrs[i].owner, name_len(d->rrs[i].owner));
		for (uint16_t s = 0; node && s < node->nrrsets; s++) {
			const struct rrset *rs = &node->rrsets[s];
			const uint8_t *rec = rs->rdata;
			for (uint16_t r = 0; r < rs->count; r++, rec = rdata_next(rec))
				if (!plan_add(p,
				              (struct dc_entry){node->owner, rs->type, rs->ttl, rs->ttl,
				                                rdata_bytes(rec), rdata_len(rec), true, false, false}))
					return TERN_ENOMEM;
		}
	}
	size_t nexisting = p->n;
	for (size_t i = 0; i < d->nrr; i++) {
		const struct dconn_rr *n = &d->rrs[i];
		for (size_t k = 0; k < nexisting; k++) /* records of the template do not remove one another */
			if (name_equal(p->e[k].owner, n->owner) &&
			    dc_conflicts(n, p->e[k].type, p->e[k].rd, p->e[k].rdlen))
				p->e[k].removed = true;
		if (n->spfm) {
			int rc = dc_spf_merge(p, n);
			if (rc < 0)
				return rc;
			continue;
		}
		bool found = false;
		for (size_t k = 0; k < p->n && !found; k++) {
			struct dc_entry *e = &p->e[k];
			if (e->type == n->type && name_equal(e->owner, n->owner) &&
			    same_record(n->type, e->rd, e->rdlen, n->rdata, n->rdlen)) {
				found = true;
				e->removed = false;
				e->templ = true;
				e->ttl = n->ttl;
			}
		}
		if (!found && !plan_add(p, (struct dc_entry){n->owner, n->type, n->ttl, 0, n->rdata, n->rdlen, false,
		                                             false, true}))
			return TERN_ENOMEM;
	}
	return 0;
}

/* The RRsets the plan changes (their records as they become) into *out, *n of them. */
static int dc_plan_rrsets(const struct dc_plan *p, struct change_rrset **out, size_t *n)
{
	struct change_rrset *ch = calloc(p->n ? p->n : 1, sizeof(*ch));
	*n = 0;
	if (!ch)
		return TERN_ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		const struct dc_entry *e = &p->e[i];
		bool done = false;
		for (size_t j = 0; j < i && !done; j++) /* the RRset was made at its first entry */
			done = p->e[j].type == e->type && name_equal(p->e[j].owner, e->owner);
		if (done)
			continue;
		bool changed = false;
		uint32_t ttl = 0, old_ttl = 0;
		size_t size = 0;
		uint16_t count = 0;
		bool has_templ = false;
		for (size_t j = i; j < p->n; j++) {
			const struct dc_entry *f = &p->e[j];
			if (f->type != e->type || !name_equal(f->owner, e->owner))
				continue;
			changed |= f->removed || !f->existing;
			if (f->existing)
				old_ttl = f->zone_ttl;
			if (!f->removed) {
				size += 2u + f->rdlen;
				count++;
				if (f->templ && !has_templ)
					ttl = f->ttl, has_templ = true;
			}
		}
		changed |= has_templ && count && ttl != old_ttl; /* records kept, at the template's TTL */
		if (!changed)
			continue;
		if (!has_templ)
			ttl = old_ttl;
		struct change_rrset *c = &ch[(*n)++];
		memcpy(c->owner, e->owner, name_len(e->owner));
		c->type = e->type;
		c->ttl = ttl;
		c->count = count;
		uint8_t *rd = count ? malloc(size) : NULL;
		if (count && !rd) {
			change_rrsets_free(ch, *n - 1);
			return TERN_ENOMEM;
		}
		size_t w = 0;
		for (size_t j = i; j < p->n && count; j++) {
			const struct dc_entry *f = &p->e[j];
			if (f->type != e->type || !name_equal(f->owner, e->owner) || f->removed)
				continue;
			rd[w++] = (uint8_t)(f->rdlen >> 8);
			rd[w++] = (uint8_t)f->rdlen;
			memcpy(rd + w, f->rd, f->rdlen);
			w += f->rdlen;
		}
		c->rdata = rd;
		c->rdata_size = (uint32_t)size;
	}
	*out = ch;
	return 0;
}

/* The redirect after a consent: redirect_uri with the state. */
static char *redirect_after(const struct dconn_query *q)
{
	if (!q->redirect_uri)
		return NULL;
	struct text t = {0};
	text_printf(&t, "%s", q->redirect_uri);
	if (q->state) {
		text_printf(&t, "%sstate=", strchr(q->redirect_uri, '?') ? "&" : "?");
		url_escape(&t, q->state);
	}
	if (t.nomem) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

/* ---- routes ---- */

static bool dc_enabled(struct api *a, struct http_response *res)
{
	if (!api_config(a)->domainconnect.enabled || !a->dconn) {
		http_error(res, 404, NULL, "Domain Connect is not configured here");
		return false;
	}
	return true;
}

void api_dconn_settings(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	if (!dc_enabled(a, res))
		return;
	const struct config_domainconnect *dc = &api_config(a)->domainconnect;
	uint8_t apex[NAME_MAXLEN];
	struct store_zone z;
	char err[256] = "";
	if (!api_parse_zone_name(req->params[0], apex)) {
		http_error(res, 400, "domain", "\"%.100s\" is not a domain name", req->params[0]);
		return;
	}
	if (!dc_budget_take(a->dckeys, dc->lookups_per_second)) { /* a store read for anyone who asks */
		snprintf(res->retry_after, sizeof(res->retry_after), "1");
		http_error(res, 429, NULL,
		           "too many Domain Connect lookups here just now "
		           "(domainconnect.lookups-per-second): try again in a second");
		return;
	}
	int rc = store_zone_get(store_latest(a->store), apex, &z, err, sizeof(err));
	if (rc == TERN_ENOTFOUND) {
		http_error(res, 404, "domain", "%.100s is not a zone hosted here", req->params[0]);
		return;
	}
	if (rc < 0) {
		http_error(res, 503, NULL, "store: %s", err);
		return;
	}
	http_json(res, 200,
	          json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:i}", "providerId", dc->provider_id, "providerName",
	                    dc->provider_name, "providerDisplayName", dc->provider_name, "urlSyncUX", dc->url, "urlAPI",
	                    dc->url, "width", 750, "height", 750));
}

void api_dconn_template(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	if (!dc_enabled(a, res))
		return;
	const struct dconn_template *t = dconn_templates_find(a->dconn, req->params[0], req->params[1]);
	if (!t) {
		http_error(res, 404, "template", "no template %.100s/%.100s is supported here", req->params[0],
		           req->params[1]);
		return;
	}
	http_json(res, 200,
	          json_pack("{s:s,s:s,s:I,s:b}", "providerId", t->provider_id, "serviceId", t->service_id, "version",
	                    (json_int_t)t->version, "syncBlock", t->sync_block));
}

void api_dconn_apply_page(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct dc_req d;
	if (!dc_judge(a, req, &d))
		error_page(res, &d);
	else
		consent_page(a, req, res, &d);
	dc_clear(&d);
}

/* A request from another origin is refused (a page elsewhere cannot consent for the user; the
 * bearer header already needs a script of this origin). */
static bool same_origin(const struct http_request *req)
{
	const char *origin = http_header(req, "Origin"), *host = http_header(req, "Host");
	if (!origin)
		return true;
	const char *h = !strncmp(origin, "https://", 8)  ? origin + 8
	                : !strncmp(origin, "http://", 7) ? origin + 7
	                                                 : NULL;
	return h && host && !strcasecmp(h, host);
}

void api_dconn_apply(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	struct dc_req d;
	if (!same_origin(req)) {
		http_error(res, 403, "Origin", "a consent comes from this site's own page");
		return;
	}
	if (!dc_judge(a, req, &d)) {
		http_error(res, d.status, d.field[0] ? d.field : NULL, "%s", d.why);
		if (d.status == 429)
			snprintf(res->retry_after, sizeof(res->retry_after), "1");
		dc_clear(&d);
		return;
	}
	struct api_caller c;
	json_t *body = NULL;
	struct store_zone z;
	struct dc_plan p = {0};
	struct change_rrset *ch = NULL;
	size_t nch = 0;
	char principal[160];
	if (!api_open(a, req, res, &c, NULL, true, &body)) {
		dc_clear(&d);
		return;
	}
	json_t *consent = json_object_get(body, "consent"), *serial = json_object_get(body, "serial");
	if (!json_is_object(body) || (consent && !json_is_boolean(consent)) || (serial && !json_is_integer(serial))) {
		http_error(res, 400, "body", "must be {\"consent\": true|false, \"serial\": N}");
		goto done;
	}
	if (!api_zone_get(a, &c, d.q.domain, &z, res) || !api_zone_writable(&z, res))
		goto done;
	int rc = dc_plan_make(a, &d, &p);
	if (rc == 0)
		rc = dc_plan_rrsets(&p, &ch, &nch);
	if (rc == TERN_ESPACE) {
		http_error(res, 409, "spfRules",
		           "the SPF record merged with the template's rules would be over %d octets", DCONN_TXT_MAX);
		goto done;
	}
	if (rc < 0) {
		http_error(res, rc == TERN_ENOMEM ? 500 : 503, NULL, "%s",
		           rc == TERN_ENOMEM ? "out of memory" : "the zone is not served (see the log)");
		goto done;
	}
	for (size_t i = 0; i < nch; i++)
		if (!auth_allows(&c.p, z.apex, ch[i].owner, ch[i].type, true)) {
			char name[NAME_MAXLEN * 4 + 1], tn[16];
			name_to_text(ch[i].owner, name, sizeof(name));
			http_error(res, 403, "scope", "the token may not write %s %s", name,
			           rr_type_name(ch[i].type, tn));
			goto done;
		}
	/* the answer is made now: the entries point into the version served, which a commit replaces */
	json_t *add = json_array(), *remove = json_array();
	for (size_t i = 0; i < p.n; i++) {
		const struct dc_entry *e = &p.e[i];
		if (e->removed || !e->existing)
			json_array_append_new(e->removed ? remove : add,
			                      rr_json(e->owner, e->type, e->ttl, e->rd, e->rdlen));
	}
	json_t *out =
	    json_pack("{s:o,s:o,s:I,s:s,s:s,s:i}", "add", add, "remove", remove, "serial", (json_int_t)p.serial,
	              "provider", d.t->provider_id, "service", d.t->service_id, "changes", (int)nch);
	if (!consent || !json_is_true(consent)) {
		http_json(res, 200, out);
		goto done;
	}
	if (serial && (uint32_t)json_integer_value(serial) != p.serial) {
		json_decref(out);
		http_error(res, 409, "serial", "the zone changed (serial %u, shown %u): review the records again",
		           p.serial, (unsigned)json_integer_value(serial));
		goto done;
	}
	snprintf(principal, sizeof(principal), "domainconnect:%s/%s", d.t->provider_id, d.t->service_id);
	char *redirect = redirect_after(&d.q);
	if (redirect)
		json_object_set_new(out, "redirect", json_string(redirect));
	free(redirect);
	if (nch) {
		struct change_request rq = {.apex = z.apex,
		                            .rrsets = ch,
		                            .n = nch,
		                            .principal = principal,
		                            .if_serial = true,
		                            .serial = p.serial};
		struct change_result r;
		free(p.e); /* points into the version served: not to be read past the commit */
		p.e = NULL;
		p.n = 0;
		if (change_commit(a->change, &rq, &r) < 0) {
			json_decref(out);
			if (r.step == CHANGE_STALE)
				http_error(res, 409, "serial", "the zone changed meanwhile: review the records again");
			else
				api_change_error(res, &r, z.apex, ch, nch, NULL);
			goto done;
		}
		json_object_set_new(out, "serial", json_integer(r.serial));
		log_info("API: Domain Connect %s applied to %s by tenant %s: %zu RRset(s), serial %u", principal,
		         d.q.domain, c.p.tenant, nch, r.serial);
	}
	json_object_set_new(out, "applied", json_true());
	http_json(res, 200, out);
done:
	dc_plan_free(&p);
	change_rrsets_free(ch, nch);
	json_decref(body);
	api_caller_free(&c);
	dc_clear(&d);
}

static void asset(struct http_response *res, const char *type, const char *body)
{
	http_text(res, 200, type, body, strlen(body));
	res->headers = dc_page_headers;
}

void api_dconn_script(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	asset(res, "text/javascript; charset=utf-8", api_dconn_page_js);
}

void api_dconn_style(void *ctx, const struct http_request *req, struct http_response *res)
{
	(void)ctx;
	(void)req;
	asset(res, "text/css; charset=utf-8", api_dconn_page_css);
}

/* The _domainconnect TXT of a zone being made (domainconnect.url without its scheme), unless
 * the request gives one. */
void api_dconn_discovery(const struct config *conf, struct zone_builder *b, const uint8_t *apex,
                         const struct change_rrset *given, size_t n)
{
	const struct config_domainconnect *dc = &conf->domainconnect;
	static const uint8_t label[15] = {14, '_', 'd', 'o', 'm', 'a', 'i', 'n', 'c', 'o', 'n', 'n', 'e', 'c', 't'};
	uint8_t owner[NAME_MAXLEN];
	size_t al = name_len(apex);
	if (!dc->enabled || !dc->url || al + sizeof(label) > NAME_MAXLEN)
		return;
	memcpy(owner, label, sizeof(label));
	memcpy(owner + sizeof(label), apex, al);
	for (size_t i = 0; i < n; i++)
		if (given[i].type == RR_TXT && name_equal(given[i].owner, owner))
			return;
	const char *host = strstr(dc->url, "://") + 3;
	size_t hl = strlen(host);
	uint8_t rd[256];
	if (hl > 255)
		return;
	rd[0] = (uint8_t)hl;
	memcpy(rd + 1, host, hl);
	zone_builder_add(b, owner, RR_TXT, conf->api.default_ttl, rd, (uint16_t)(hl + 1), 0);
}
