/* The API's HTTP client for tern on libcurl: one easy handle for the whole invocation, so a run
 * that makes several requests (pagination, show) reuses its connection. */
#include "tern/client.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client {
	CURL *curl;
	char *base; /* "http://host:port/api/v1" */
	char *auth; /* "Authorization: Bearer ..." */
	long timeout_ms;
};

int client_open(const char *base, const char *token, long timeout_ms, struct client **out)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return CLIENT_ENOMEM;
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	const char *suffix = "/api/v1";
	bool has_suffix = bl >= strlen(suffix) && strncmp(base + bl - strlen(suffix), suffix, strlen(suffix)) == 0;
	size_t baselen = bl + strlen(suffix) + 1, authlen = strlen(token) + 32;
	c->base = malloc(baselen);
	c->auth = malloc(authlen);
	c->curl = curl_easy_init();
	if (!c->base || !c->auth || !c->curl) {
		client_close(c);
		return CLIENT_ENOMEM;
	}
	snprintf(c->base, baselen, "%.*s%s", (int)bl, base, has_suffix ? "" : suffix);
	snprintf(c->auth, authlen, "Authorization: Bearer %s", token);
	c->timeout_ms = timeout_ms;
	*out = c;
	return CLIENT_OK;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->base);
	free(c->auth);
	free(c);
}

const char *client_base(const struct client *c)
{
	return c->base;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct client_response *res = arg;
	size_t add = size * n;
	char *nb = realloc(res->body, res->len + add + 1);
	if (!nb)
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	memcpy(nb + res->len, data, add);
	res->len += add;
	nb[res->len] = 0;
	res->body = nb;
	return add;
}

int client_request(struct client *c, const char *method, const char *path, const char *ctype, const char *body,
                   size_t len, struct client_response *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	err[0] = 0;
	size_t urllen = strlen(c->base) + strlen(path) + 1;
	char *url = malloc(urllen), errbuf[CURL_ERROR_SIZE] = "", ct[160];
	struct curl_slist *headers = NULL, *h;
	int rc = CLIENT_ENOMEM;
	if (!url)
		goto out;
	snprintf(url, urllen, "%s%s", c->base, path);
	/* reset keeps the handle's live connections: the next request reuses the socket */
	curl_easy_reset(c->curl);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
	const char *list[] = {c->auth, "Accept: application/json", ct, "Expect:"};
	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		if (!(h = curl_slist_append(headers, list[i])))
			goto out;
		headers = h;
	}
	CURL *k = c->curl;
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(k, CURLOPT_USERAGENT, "tern/0.1");
	curl_easy_setopt(k, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 10000 ? c->timeout_ms : 10000L);
	curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, res);
	bool sends = body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
	if (sends) {
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, body ? body : "");
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode cc = curl_easy_perform(k);
	if (cc == CURLE_OK) {
		char *type = NULL;
		curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &res->status);
		if (curl_easy_getinfo(k, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
			snprintf(res->ctype, sizeof(res->ctype), "%s", type);
		if (!res->body && !(res->body = calloc(1, 1)))
			goto out;
		rc = CLIENT_OK;
	} else {
		snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
			rc = CLIENT_EURL;
		else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR)
			rc = CLIENT_ENOMEM;
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			rc = CLIENT_ETIMEOUT;
		else
			rc = CLIENT_ECONNECT;
	}
out:
	if (rc == CLIENT_ENOMEM && err[0] == 0)
		snprintf(err, errlen, "out of memory");
	if (rc != CLIENT_OK)
		client_response_clear(res);
	curl_slist_free_all(headers);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	free(url);
	return rc;
}

void client_response_clear(struct client_response *res)
{
	free(res->body);
	memset(res, 0, sizeof(*res));
}

char *client_escape(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		             *p == '-' || *p == '.' || *p == '_' || *p == '~';
		if (o + (plain ? 1 : 3) + 1 > cap)
			return NULL;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = 0;
	return out;
}

char *client_path(const char *const *segs)
{
	size_t need = 1;
	for (size_t i = 0; segs[i]; i++)
		need += 1 + 3 * strlen(segs[i]);
	char *path = malloc(need), *p = path;
	if (!path)
		return NULL;
	for (size_t i = 0; segs[i]; i++) {
		*p++ = '/';
		client_escape(segs[i], p, need - (size_t)(p - path));
		p += strlen(p);
	}
	*p = 0;
	return path;
}
