/* HTTP responses as the API writes them: JSON bodies, plain bodies, and JSON errors naming the
 * field. No server inside, so tests and fuzzers can use it alone. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternd/http/http.h"

void http_json(struct http_response *res, int status, json_t *body)
{
	res->status = status;
	res->content_type = "application/json";
	free(res->body);
	res->body = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	res->body_len = res->body ? strlen(res->body) : 0;
	json_decref(body);
}

void http_json_text(struct http_response *res, int status, char **text, size_t len)
{
	res->status = status;
	res->content_type = "application/json";
	free(res->body);
	res->body = *text;
	res->body_len = len;
	*text = NULL;
}

void http_text(struct http_response *res, int status, const char *type, const char *text, size_t len)
{
	res->status = status;
	res->content_type = type;
	free(res->body);
	res->body = malloc(len + 1);
	if (res->body) {
		memcpy(res->body, text, len);
		res->body[len] = 0;
	}
	res->body_len = res->body ? len : 0;
}

/* in as printable ASCII in out (cap > 0): messages quote what the client sent, which need not be
 * text, and JSON strings must be UTF-8, so anything but printable ASCII becomes '?' (found by
 * fuzzing: the error was lost); a line break, between the problems of a multi-line message (a zone
 * file's), becomes "; ". */
static void printable_copy(char *out, size_t cap, const char *in)
{
	size_t n = 0;
	for (; *in && n + 1 < cap; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '\n' && in[1] && n + 3 < cap) {
			out[n++] = ';';
			out[n++] = ' ';
		} else if (c != '\n') {
			out[n++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
		}
	}
	out[n] = 0;
}

void http_error(struct http_response *res, int status, const char *field, const char *fmt, ...)
{
	char raw[1024], msg[1100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	printable_copy(msg, sizeof(msg), raw);
	json_t *e = json_pack("{s:i,s:s}", "status", status, "message", msg);
	if (field) {
		char f[128];
		printable_copy(f, sizeof(f), field);
		json_object_set_new(e, "field", json_string(f));
	}
	/* a 503 is a moment's (the store unreachable, a service not ready): say when to try again */
	if (status == 503 && !res->retry_after[0])
		snprintf(res->retry_after, sizeof(res->retry_after), "1");
	http_json(res, status, json_pack("{s:o}", "error", e));
}
