/* The http-01 responder's one decision: a request line in, a status and body out. Pure. */
#include <stdio.h>
#include <string.h>

#include "ternd/acme/acme_responder.h"

static void fixed(struct acme_reply *r, int status, const char *text)
{
	r->status = status;
	r->body_len = strlen(text);
	memcpy(r->body, text, r->body_len + 1);
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

void acme_responder_answer(const char *thumbprint, const char *line, size_t len, struct acme_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (len > ACME_RESPONDER_LINE_MAX) {
		fixed(out, 414, "URI too long\n");
		return;
	}
	/* method SP request-target SP HTTP-version (RFC 9112 section 3) */
	const char *end = line + len, *sp1 = memchr(line, ' ', len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	if (!sp1 || sp1 == line || !sp2 || sp2 == sp1 + 1 || end - sp2 - 1 != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
		fixed(out, 400, "bad request\n");
		return;
	}
	for (const char *m = line; m < sp1; m++) {
		if (!is_tchar((unsigned char)*m)) {
			fixed(out, 400, "bad request\n");
			return;
		}
	}
	for (const char *c = sp1 + 1; c < sp2; c++) { /* a target has no controls (RFC 9112 section 3.2) */
		if ((unsigned char)*c < 0x21 || (unsigned char)*c == 0x7f) {
			fixed(out, 400, "bad request\n");
			return;
		}
	}
	size_t mlen = (size_t)(sp1 - line);
	bool get = mlen == 3 && memcmp(line, "GET", 3) == 0, head = mlen == 4 && memcmp(line, "HEAD", 4) == 0;
	if (!get && !head) {
		fixed(out, 405, "method not allowed\n");
		return;
	}
	out->head = head;
	const char *target = sp1 + 1;
	size_t tlen = (size_t)(sp2 - target);
	if (tlen > 7 && memcmp(target, "http://", 7) == 0) { /* absolute form: the path after the authority */
		const char *slash = memchr(target + 7, '/', tlen - 7);
		if (!slash) {
			fixed(out, 404, "not found\n");
			return;
		}
		tlen -= (size_t)(slash - target);
		target = slash;
	}
	size_t plen = sizeof(ACME_CHALLENGE_PREFIX) - 1;
	if (tlen <= plen || memcmp(target, ACME_CHALLENGE_PREFIX, plen) != 0) {
		fixed(out, 404, "not found\n");
		return;
	}
	const char *token = target + plen;
	size_t n = tlen - plen;
	if (n < ACME_TOKEN_MIN || n > ACME_TOKEN_MAX || !acme_b64url_alphabet(token, n) ||
	    !acme_thumbprint_ok(thumbprint)) {
		fixed(out, 404, "not found\n");
		return;
	}
	out->status = 200;
	memcpy(out->body, token, n);
	out->body[n] = '.';
	memcpy(out->body + n + 1, thumbprint, ACME_THUMBPRINT_LEN);
	out->body_len = n + 1 + ACME_THUMBPRINT_LEN;
	out->body[out->body_len] = '\0';
}

bool acme_responder_request(const char *thumbprint, const char *buf, size_t len, struct acme_reply *out)
{
	const char *lf = memchr(buf, '\n', len);
	if (!lf) {
		if (len <= ACME_RESPONDER_LINE_MAX + 1) /* the line may still end with CR LF */
			return false;
		acme_responder_answer(thumbprint, buf, len, out); /* 414 by its length */
		return true;
	}
	size_t line = (size_t)(lf - buf);
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	if (line > ACME_RESPONDER_LINE_MAX || memmem(buf, len, "\n\r\n", 3) || memmem(buf, len, "\n\n", 2)) {
		acme_responder_answer(thumbprint, buf, line, out);
		return true;
	}
	if (len < ACME_RESPONDER_HEAD_MAX)
		return false;
	memset(out, 0, sizeof(*out));
	fixed(out, 431, "request head too large\n");
	return true;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	default: return "Error";
	}
}

size_t acme_reply_format(const struct acme_reply *r, char *buf, size_t cap)
{
	int n = snprintf(buf, cap,
	                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s"
	                 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n%s",
	                 r->status, reason(r->status), r->body_len, r->status == 405 ? "Allow: GET, HEAD\r\n" : "",
	                 r->head ? "" : r->body);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}
