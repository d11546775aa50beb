/* tern check: the optional advice of an OpenAI-compatible endpoint: the request (findings and public
 * DNS data only), the exchange with libcurl within a time and size cap, the reader of its answer. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/check_advice.h"
#include "lib/error.h"

static const char advice_system[] =
    "You explain DNS diagnostics to the operator of a domain. The findings come from rule-based checks "
    "and are final: do not contradict them, do not add findings, do not invent records. In a few short "
    "paragraphs of plain text, say what each finding means for users and in which order to fix them.";

/* The report's public parts: what any resolver on the Internet could see, and the findings. */
static json_t *public_part(const struct check_report *r)
{
	json_t *all = check_report_json(r), *o = json_object();
	if (!all || !o)
		goto fail;
	static const char *keep[] = {"check",        "target", "zone",  "parent",     "delegation", "soa",
	                             "negative_ttl", "dnssec", "chain", "ttl_advice", "findings"};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(all, keep[i]);
		if (v && json_object_set(o, keep[i], v) < 0)
			goto fail;
	}
	json_t *servers = json_array();
	if (!servers || json_object_set_new(o, "servers", servers) < 0)
		goto fail;
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(all, "servers"), i, s)
	{
		const char *role = json_string_value(json_object_get(s, "role"));
		if (!role || strcmp(role, "resolver") == 0)
			continue; /* a vantage resolver may sit in a private network */
		json_t *c = json_deep_copy(s);
		if (!c)
			goto fail;
		json_object_del(c, "ms");
		json_object_del(c, "error"); /* may name local addresses */
		json_array_append_new(servers, c);
	}
	json_decref(all);
	return o;
fail:
	json_decref(all);
	json_decref(o);
	return NULL;
}

json_t *check_advice_request(const struct check_report *r, const char *model)
{
	json_t *pub = public_part(r);
	char *data = pub ? json_dumps(pub, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(pub);
	if (!data)
		return NULL;
	size_t n = strlen(data) + 128;
	char *user = malloc(n);
	json_t *o = NULL;
	if (user) {
		snprintf(user, n, "Report of `tern check %s %s` (JSON):\n%s", r->kind, r->target, data);
		o = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model", model, "messages", "role", "system",
		              "content", advice_system, "role", "user", "content", user);
	}
	free(user);
	free(data);
	return o;
}

/* The length of the UTF-8 sequence at s (at most n octets) and its code point; 0 when malformed. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Characters a terminal would act on, or that reorder or hide text: left out. */
static bool unsafe(uint32_t c)
{
	return (c < 0x20 && c != '\n') || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* src made safe into out (cap > 0): tabs (and with oneline newlines) as spaces, CR and unsafe
 * characters dropped, malformed UTF-8 as '?', whitespace trimmed at both ends, cut at a character's
 * edge. */
static void safe_text(const char *src, size_t len, char *out, size_t cap, bool oneline)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0;
	while (i < len) {
		uint32_t c;
		size_t n = utf8_seq(s + i, len - i, &c);
		if (n == 0) {
			c = '?';
			n = 1;
		}
		if (c == '\t' || (oneline && c == '\n'))
			c = ' ';
		if (!unsafe(c) && !((c == ' ' || c == '\n') && o == 0)) { /* nothing leads but text */
			size_t w = c < 0x80 ? 1 : n;
			if (o + w >= cap)
				break;
			if (c < 0x80)
				out[o] = (char)c;
			else
				memcpy(out + o, s + i, n);
			o += w;
		}
		i += n;
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\n'))
		o--;
	out[o] = 0;
}

int check_advice_parse(const char *body, size_t len, char *text, size_t cap, char *err, size_t errcap)
{
	json_error_t je;
	text[0] = 0;
	json_t *o = json_loadb(body, len, 0, &je);
	if (!o) {
		char why[96]; /* jansson quotes the input: made safe too */
		safe_text(je.text, strlen(je.text), why, sizeof(why), true);
		snprintf(err, errcap, "the answer is not JSON (line %d: %s)", je.line, why);
		return TERN_EINVAL;
	}
	int rc = TERN_EINVAL;
	json_t *e = json_object_get(o, "error");
	json_t *content =
	    json_object_get(json_object_get(json_array_get(json_object_get(o, "choices"), 0), "message"), "content");
	if (!json_is_object(o)) {
		snprintf(err, errcap, "the answer is not a JSON object");
	} else if (e) {
		char msg[128] = "";
		json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
		if (json_is_string(m))
			safe_text(json_string_value(m), json_string_length(m), msg, sizeof(msg), true);
		snprintf(err, errcap, "the endpoint answered an error%s%s", msg[0] ? ": " : "", msg);
	} else if (!json_is_string(content)) {
		snprintf(err, errcap, "the answer has no choices[0].message.content string");
	} else {
		safe_text(json_string_value(content), json_string_length(content), text, cap, false);
		if (text[0])
			rc = 0;
		else
			snprintf(err, errcap, "the answer's content is empty");
	}
	json_decref(o);
	return rc;
}

struct advice_body {
	char *buf;
	size_t len, cap;
	bool over;
};

static size_t advice_write(char *data, size_t size, size_t n, void *ctx)
{
	struct advice_body *b = ctx;
	size_t len = size * n;
	if (len > b->cap - b->len) {
		b->over = true;
		return 0; /* stops the transfer: CURLE_WRITE_ERROR */
	}
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	return len;
}

void check_advice_ask(const struct check_advice_cfg *cfg, const struct check_report *r, struct check_advice *out)
{
	memset(out, 0, sizeof(*out));
	if (!cfg->url[0])
		return;
	out->asked = true;
	snprintf(out->model, sizeof(out->model), "%s", cfg->model);
	char url[600], auth[600], err[300];
	size_t ul = strlen(cfg->url);
	snprintf(url, sizeof(url), "%.*s/chat/completions", (int)(ul && cfg->url[ul - 1] == '/' ? ul - 1 : ul),
	         cfg->url);
	json_t *req = check_advice_request(r, cfg->model);
	char *data = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	struct advice_body b = {.buf = malloc(CHECK_ADVICE_CAP + 1), .cap = CHECK_ADVICE_CAP};
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!data || !b.buf || !h) {
		snprintf(out->note, sizeof(out->note), "out of memory");
		goto done;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (cfg->key[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->key);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* the key goes to the host named, nowhere else */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, advice_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (b.over)
		snprintf(out->note, sizeof(out->note), "%s sent more than %d octets: stopped reading", url,
		         CHECK_ADVICE_CAP);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out->note, sizeof(out->note), "%s: no answer within %d ms", url, cfg->timeout_ms);
	else if (cc != CURLE_OK)
		snprintf(out->note, sizeof(out->note), "%s: %s", url, curl_easy_strerror(cc));
	else if (check_advice_parse(b.buf, b.len, out->text, sizeof(out->text), err, sizeof(err)) < 0)
		snprintf(out->note, sizeof(out->note), "%s (HTTP %ld): %s", url, status, err);
	else if (status != 200) {
		snprintf(out->note, sizeof(out->note), "%s answered HTTP %ld", url, status);
		out->text[0] = 0;
	}
done:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out->ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	curl_slist_free_all(hdr);
	if (h)
		curl_easy_cleanup(h);
	free(b.buf);
	if (data) {
		memset(data, 0, strlen(data));
		free(data);
	}
	memset(auth, 0, sizeof(auth));
}

void check_advice_text(const struct check_advice *a, FILE *out)
{
	if (!a->asked)
		return;
	if (!a->text[0]) {
		fprintf(out, "Advice: none (%s)\n", a->note);
		return;
	}
	fprintf(out, "Advice (generated by %s, not a finding):\n", a->model);
	for (const char *p = a->text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(out, "  %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

void check_advice_json(const struct check_advice *a, json_t *report)
{
	if (!a->asked || !report)
		return;
	json_t *o = a->text[0] ? json_pack("{s:s, s:s, s:s}", "model", a->model, "label", "generated, not a finding",
	                                   "text", a->text)
	                       : json_pack("{s:s, s:s}", "model", a->model, "note", a->note);
	json_object_set_new(report, "advice", o);
}
