/* tern check from the PoPs (seed 000: "non-cached requests made from our PoPs around the world"):
 * the control node asks each PoP of pops.list over its API (GET /pop/v1/lookup beside its
 * /healthz), signed with the key pops.key names (HMAC-SHA256 over the time and the question, as
 * the PoP's api.pop-key names the same key); the PoP runs check fqdn from where it stands, on an
 * HTTP worker, and answers its report; the control node keeps the end of its chain as a server
 * of role "pop". The key's secret never travels; a signature is good for 5 minutes. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check.h"
#include "lib/check_find.h"
#include "lib/check_input.h"
#include "lib/name.h"
#include "lib/rrtext.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/rcu.h"

#define POP_SKEW 300 /* seconds a signature's time may be from the PoP's clock */
#define POP_BODY_MAX (1024 * 1024)
#define POP_DEADLINE_MS 20000 /* a PoP's check; the control node waits a little longer */

/* The key of keys named name (text), or NULL. */
const struct tsig_key *api_pop_find_key(const struct config *conf, const char *name)
{
	uint8_t wire[NAME_MAXLEN];
	if (!name || name_from_text(wire, name, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < conf->nkeys; i++)
		if (name_equal(conf->keys[i].key.name, wire))
			return &conf->keys[i].key;
	return NULL;
}

void api_pop_mac(const struct tsig_key *k, const char *what, long long t, const char *a, const char *b, char hex[65])
{
	char msg[1400];
	int n = snprintf(msg, sizeof(msg), "tern-pop-%.16s\n%lld\n%.1100s\n%.32s", what, t, a, b);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	HMAC(EVP_sha256(), k->secret, (int)k->secret_len, (const unsigned char *)msg, (size_t)n, mac, &len);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", i < len ? mac[i] : 0);
}

/* ---- the PoP ---- */

bool api_pop_authentic(const struct config *conf, const struct http_request *req, const char *what, const char *a,
                       const char *b, struct http_response *res)
{
	const struct tsig_key *k = api_pop_find_key(conf, conf->api.pop_key);
	if (!k) {
		http_error(res, 503, NULL, "api.pop-key names no key of keys");
		return false;
	}
	const char *h = http_header(req, "Authorization");
	char key[256], mac[65], want[65];
	long long t;
	if (!h || sscanf(h, "Tern-PoP key=%255s time=%lld mac=%64s", key, &t, mac) != 3 || strlen(mac) != 64) {
		http_error(res, 401, NULL, "a %s needs Authorization: Tern-PoP key=NAME time=T mac=HMAC", what);
		return false;
	}
	const struct tsig_key *asked = api_pop_find_key(conf, key);
	long long now = (long long)time(NULL);
	api_pop_mac(k, what, t, a, b, want);
	if (asked != k || t < now - POP_SKEW || t > now + POP_SKEW || CRYPTO_memcmp(mac, want, 64) != 0) {
		http_error(res, 401, NULL, "the %s's signature is not good (key, time or mac)", what);
		return false;
	}
	return true;
}

void api_pop_lookup(void *ctx, const struct http_request *req, struct http_response *res)
{
	struct api *a = ctx;
	const struct config *conf = api_config(a);
	if (!conf->api.pop_key) {
		http_error(res, 404, NULL, "not a PoP that takes lookups (api.pop-key)");
		return;
	}
	const char *name = http_query(req, "name"), *type = http_query(req, "type");
	if (!name || !type) {
		http_error(res, 400, name ? "type" : "name", "name and type are required");
		return;
	}
	if (!api_pop_authentic(conf, req, "lookup", name, type, res))
		return;
	char target[CHECK_NAME_TEXT], err[300];
	uint16_t qtype = 0;
	if (check_input_name(name, target, NULL, 0, err, sizeof(err)) < 0) {
		http_error(res, 400, "name", "%s", err);
		return;
	}
	if (rrtext_type_from_text(type, &qtype) < 0 || qtype == 0) {
		http_error(res, 400, "type", "not a record type");
		return;
	}
	unsigned max = conf->api.check_max_running;
	bool allow_private = conf->api.check_allow_private;
	char hints[4096] = "";
	if (conf->api.check_hints)
		snprintf(hints, sizeof(hints), "%s", conf->api.check_hints);
	if ((unsigned)(a->checks_running++) >= max) {
		a->checks_running--;
		snprintf(res->retry_after, sizeof(res->retry_after), "5");
		http_error(res, 503, NULL, "%u checks are running (api.check-max-running)", max);
		return;
	}
	struct check_report *r = check_report_new("fqdn", target);
	struct check_ctx *c = malloc(sizeof(*c));
	if (!r || !c) {
		http_error(res, 500, NULL, "out of memory");
		goto done;
	}
	check_ctx_init(c, r);
	c->whois[0] = 0;
	c->deadline_ms = POP_DEADLINE_MS;
	if (hints[0] && check_ctx_load_hints(c, hints, err, sizeof(err)) < 0) {
		http_error(res, 500, NULL, "api.check-hints: %s", err);
		goto done;
	}
	if (!allow_private)
		c->allowed = api_check_public_only;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rcu_thread_offline(); /* seconds of DNS: no publisher waits for this thread meanwhile */
	check_fqdn(c, r, qtype);
	rcu_thread_online();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	json_t *j = check_report_json(r);
	if (j)
		http_json(res, 200, j);
	else
		http_error(res, 500, NULL, "out of memory");
done:
	a->checks_running--;
	free(c);
	check_report_free(r);
}

/* ---- the control node ---- */

struct pop_body {
	char *buf;
	size_t len;
	bool over;
};

static size_t pop_write(char *data, size_t size, size_t n, void *arg)
{
	struct pop_body *b = arg;
	size_t len = size * n;
	if (b->len + len > POP_BODY_MAX) {
		b->over = true;
		return 0;
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	return len;
}

/* A PoP to ask, copied from the configuration (which is not followed while PoPs are asked). */
struct pop_target {
	char name[CHECK_NAME_TEXT];
	char healthz[1024];
};

/* Asks one PoP; s filled (ok, or error). */
static void ask_pop(const struct pop_target *pop, const struct tsig_key *k, const char *keyname, const char *name,
                    const char *type, struct check_server *s)
{
	char url[1200], auth[512], mac[65];
	const char *healthz = pop->healthz;
	size_t base = strlen(healthz);
	if (base >= 8 && strcmp(healthz + base - 8, "/healthz") == 0)
		base -= 8;
	snprintf(url, sizeof(url), "%.*s/pop/v1/lookup?name=%s&type=%s", (int)base, healthz, name, type);
	long long t = (long long)time(NULL);
	api_pop_mac(k, "lookup", t, name, type, mac);
	snprintf(auth, sizeof(auth), "Authorization: Tern-PoP key=%s time=%lld mac=%s", keyname, t, mac);
	struct pop_body b = {.buf = malloc(POP_BODY_MAX + 1)};
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, auth);
	if (!b.buf || !h || !hdr) {
		snprintf(s->error, sizeof(s->error), "out of memory");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)POP_DEADLINE_MS + 5000);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ternd-check/0.1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, pop_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CURLcode cc = curl_easy_perform(h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	char err[160];
	if (b.over)
		snprintf(s->error, sizeof(s->error), "sent more than %d octets", POP_BODY_MAX);
	else if (cc != CURLE_OK)
		snprintf(s->error, sizeof(s->error), "%s", curl_easy_strerror(cc));
	else if (status != 200)
		snprintf(s->error, sizeof(s->error), "HTTP %ld", status);
	else if (api_check_pop_parse(b.buf, b.len, s, err, sizeof(err)) < 0)
		snprintf(s->error, sizeof(s->error), "%s", err);
done:
	curl_slist_free_all(hdr);
	if (h)
		curl_easy_cleanup(h);
	free(b.buf);
}

void api_check_pops(struct api *a, struct check_report *r, uint16_t qtype)
{
	const struct config *conf = api_config(a);
	if (!conf->pops.key || !conf->pops.n)
		return;
	const struct tsig_key *k = api_pop_find_key(conf, conf->pops.key);
	if (!k) {
		check_report_fail(r, "pops.key names no key of keys: the PoPs are not asked");
		return;
	}
	/* a copy of what is needed: the PoPs take seconds, asked offline (no RCU pointer followed) */
	struct tsig_key *key = malloc(sizeof(*key));
	size_t n = conf->pops.n;
	struct pop_target *pops = calloc(n, sizeof(*pops));
	char keyname[256];
	if (!key || !pops) {
		free(key);
		free(pops);
		check_report_fail(r, "out of memory: the PoPs are not asked");
		return;
	}
	*key = *k;
	check_copy(keyname, sizeof(keyname), conf->pops.key);
	for (size_t i = 0; i < n; i++) {
		check_copy(pops[i].name, sizeof(pops[i].name), conf->pops.list[i].name);
		check_copy(pops[i].healthz, sizeof(pops[i].healthz), conf->pops.list[i].healthz);
	}
	rcu_thread_offline();
	const struct check_step *end = r->nsteps ? &r->steps[r->nsteps - 1] : NULL;
	char type[RRTEXT_TYPE_MAXLEN];
	rrtext_type_to_text(qtype, type, sizeof(type));
	for (size_t i = 0; i < n; i++) {
		struct check_server s = {0};
		snprintf(s.role, sizeof(s.role), "pop");
		check_copy(s.ns, sizeof(s.ns), pops[i].name);
		check_copy(s.qname, sizeof(s.qname), r->target);
		check_copy(s.addr, sizeof(s.addr), pops[i].healthz);
		ask_pop(&pops[i], key, keyname, r->target, type, &s);
		struct check_server *kept = check_report_server(r, &s);
		if (!s.ok) {
			check_report_fail(r, "PoP %s could not look %s up: %s", s.ns, r->target, s.error);
			continue;
		}
		if (!kept || !end || end->target[0])
			continue;
		bool same = s.rcode == end->rcode && s.nanswer == end->nvalues && s.more == end->more;
		for (int v = 0; same && v < s.nanswer; v++) {
			bool found = false;
			for (int w = 0; w < end->nvalues; w++)
				found |= strcmp(s.answer[v], end->values[w]) == 0;
			same = found;
		}
		if (!same)
			check_find(r, "pop_disagrees", "PoP %s sees %s%s%s for %s; from here the answer is %s%s", s.ns,
			           s.rcode == 3 ? "NXDOMAIN" : "", s.nanswer ? s.answer[0] : "",
			           s.nanswer > 1 ? " ..." : (s.rcode == 0 && !s.nanswer ? "no data" : ""), r->target,
			           end->rcode == 3 ? "NXDOMAIN"
			           : end->nvalues  ? end->values[0]
			                           : "no data",
			           end->nvalues > 1 ? " ..." : "");
	}
	rcu_thread_online();
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
	free(pops);
}
