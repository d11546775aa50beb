/* HTTP/1.1 request parsing with no sockets inside: request line, header fields, query arguments
 * and bodies (Content-Length or chunked), each bounded, each error naming what was wrong. */
#include "ternd/http/http_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"

#define CHUNK_LINE_MAX 256 /* a chunk-size line with its extensions */
#define TRAILER_MAX 4096 /* trailer fields after the last chunk */

static ssize_t refuse(int *status, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static ssize_t refuse(int *status, int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	*status = code;
	return TERN_EINVAL;
}

/* RFC 9110 tchar: the characters of a token (method, field name). */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into out (NUL-terminated; never longer than s). plus: '+' is a space (a
 * query). Returns false for a bad escape or an encoded NUL. */
static bool decode(const char *s, size_t n, char *out, bool plus)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return false;
			int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = plus && s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = 0;
	return true;
}

/* Finds the end of the head: the byte after the empty line. 0: not there yet. */
static size_t head_end(const char *buf, size_t len, size_t start, size_t *scan)
{
	size_t i = *scan > start ? *scan : start;
	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 >= len)
			break;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r') {
			if (i + 2 >= len)
				break;
			if (buf[i + 2] == '\n')
				return i + 3;
		}
	}
	*scan = i;
	return 0;
}

static bool token_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* The meaning of the fields the server acts on: Host, Content-Length, Transfer-Encoding,
 * Connection, Expect. */
static ssize_t head_semantics(struct http_head *h, size_t max_body, int *status, char *err, size_t errlen)
{
	bool has_length = false, has_te = false;
	size_t hosts = 0;
	h->keep_alive = h->minor >= 1;
	for (size_t i = 0; i < h->nfields; i++) {
		const char *name = h->fields[i].name, *v = h->fields[i].value;
		if (!strcasecmp(name, "Host")) {
			hosts++;
		} else if (!strcasecmp(name, "Content-Length")) {
			uint64_t n = 0;
			size_t digits = strspn(v, "0123456789");
			if (digits == 0 || v[digits] || digits > 18)
				return refuse(status, 400, err, errlen, "bad Content-Length: %.40s", v);
			for (size_t k = 0; k < digits; k++)
				n = n * 10 + (uint64_t)(v[k] - '0');
			if (has_length && n != h->content_length)
				return refuse(status, 400, err, errlen, "two different Content-Length fields");
			has_length = true;
			h->content_length = n;
		} else if (!strcasecmp(name, "Transfer-Encoding")) {
			if (has_te || strcasecmp(v, "chunked") != 0)
				return refuse(status, 501, err, errlen,
				              "Transfer-Encoding %.40s is not supported (only chunked, once)", v);
			has_te = true;
			h->chunked = true;
		} else if (!strcasecmp(name, "Connection")) {
			for (const char *p = v; *p;) {
				p += strspn(p, " \t,");
				size_t n = strcspn(p, " \t,");
				if (token_is(p, n, "close"))
					h->keep_alive = false;
				else if (token_is(p, n, "keep-alive") && h->minor == 0)
					h->keep_alive = true;
				p += n;
			}
		} else if (!strcasecmp(name, "Expect")) {
			if (strcasecmp(v, "100-continue") != 0)
				return refuse(status, 417, err, errlen,
				              "Expect %.40s is not supported (only 100-continue)", v);
			h->expect_continue = true;
		}
	}
	/* Content-Length and chunked together is how requests are smuggled past proxies */
	if (has_length && has_te)
		return refuse(status, 400, err, errlen, "both Content-Length and Transfer-Encoding");
	if (has_te && h->minor == 0)
		return refuse(status, 400, err, errlen, "Transfer-Encoding in an HTTP/1.0 request");
	if (h->minor >= 1 && hosts == 0)
		return refuse(status, 400, err, errlen, "no Host header field");
	if (hosts > 1)
		return refuse(status, 400, err, errlen, "more than one Host header field");
	if (http_head_check_body(h, max_body, status, err, errlen) < 0)
		return TERN_EINVAL;
	if (!h->chunked && !has_length)
		h->expect_continue = false; /* nothing to continue with */
	return 0;
}

/* The request line "METHOD SP target SP HTTP/1.x" in line (NUL-terminated, no CR LF); the decoded
 * path and query go to *spare. */
static ssize_t request_line(struct http_head *h, char *line, char **spare, int *status, char *err, size_t errlen)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1 || sp1 == line)
		return refuse(status, 400, err, errlen, "bad request line: no method");
	*sp1 = 0;
	if (sp1 - line > 32)
		return refuse(status, 400, err, errlen, "bad request line: method longer than 32 characters");
	for (char *c = line; *c; c++)
		if (!is_tchar((unsigned char)*c))
			return refuse(status, 400, err, errlen, "bad request line: method %.40s", line);
	char *target = sp1 + 1, *sp2 = strchr(target, ' ');
	if (!sp2 || sp2 == target)
		return refuse(status, 400, err, errlen, "bad request line: no request target");
	*sp2 = 0;
	const char *version = sp2 + 1;
	if (strncmp(version, "HTTP/", 5) != 0 || strlen(version) != 8 || version[6] != '.' ||
	    hexval((unsigned char)version[5]) < 0 || hexval((unsigned char)version[5]) > 9 ||
	    hexval((unsigned char)version[7]) < 0 || hexval((unsigned char)version[7]) > 9)
		return refuse(status, 400, err, errlen, "bad request line: version %.20s", version);
	if (version[5] != '1')
		return refuse(status, 505, err, errlen, "HTTP version %.20s is not supported (only 1.0 and 1.1)",
		              version + 5);
	h->minor = version[7] > '1' ? 1 : version[7] - '0'; /* 1.2 and up are answered as 1.1 (RFC 9110 2.5) */
	for (char *c = target; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return refuse(status, 400, err, errlen, "bad request target: byte 0x%02x", (unsigned char)*c);
	if (target[0] != '/')
		return refuse(status, 400, err, errlen, "request target %.60s is not a path", target);
	h->method = line;
	h->target = target;
	char *q = strchr(target, '?');
	size_t plen = q ? (size_t)(q - target) : strlen(target);
	char *path = *spare;
	if (!decode(target, plen, path, false))
		return refuse(status, 400, err, errlen, "bad percent-encoding in the path %.60s", target);
	h->path = path;
	*spare += strlen(path) + 1;
	if (!q)
		return 0;
	for (const char *a = q + 1; *a;) {
		size_t n = strcspn(a, "&");
		if (n) {
			if (h->nargs == HTTP_MAX_ARGS)
				return refuse(status, 400, err, errlen, "more than %d query arguments", HTTP_MAX_ARGS);
			const char *eq = memchr(a, '=', n);
			size_t kn = eq ? (size_t)(eq - a) : n;
			char *key = *spare;
			if (!decode(a, kn, key, true))
				return refuse(status, 400, err, errlen, "bad percent-encoding in the query %.60s",
				              q + 1);
			*spare += strlen(key) + 1;
			char *val = *spare;
			if (!decode(eq ? eq + 1 : a + n, eq ? n - kn - 1 : 0, val, true))
				return refuse(status, 400, err, errlen, "bad percent-encoding in the query %.60s",
				              q + 1);
			*spare += strlen(val) + 1;
			h->args[h->nargs].name = key;
			h->args[h->nargs].value = val;
			h->nargs++;
		}
		a += n;
		if (*a == '&')
			a++;
	}
	return 0;
}

/* One header field line (NUL-terminated, no CR LF). */
static ssize_t field_line(struct http_head *h, char *line, int *status, char *err, size_t errlen)
{
	if (line[0] == ' ' || line[0] == '\t')
		return refuse(status, 400, err, errlen, "header field folded over lines (obsolete)");
	char *colon = strchr(line, ':');
	if (!colon || colon == line)
		return refuse(status, 400, err, errlen, "bad header field: %.40s", line);
	*colon = 0;
	for (char *c = line; *c; c++)
		if (!is_tchar((unsigned char)*c))
			return refuse(status, 400, err, errlen, "bad header field name: %.40s", line);
	char *v = colon + 1;
	v += strspn(v, " \t");
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || (unsigned char)v[i] == 0x7f)
			return refuse(status, 400, err, errlen, "header field %.40s: control byte 0x%02x in its value",
			              line, (unsigned char)v[i]);
	if (h->nfields == HTTP_MAX_FIELDS)
		return refuse(status, 431, err, errlen, "more than %d header fields", HTTP_MAX_FIELDS);
	h->fields[h->nfields].name = line;
	h->fields[h->nfields].value = v;
	h->nfields++;
	return 0;
}

ssize_t http_parse_head(const char *buf, size_t len, size_t *scan, size_t max_head, size_t max_body,
                        struct http_head *h, int *status, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	/* empty lines before a request are ignored (RFC 9112 2.2) */
	size_t start = 0;
	while (start < len && start < max_head && (buf[start] == '\n' || buf[start] == '\r'))
		start++;
	size_t end = head_end(buf, len, start, scan);
	if (end == 0 || end > max_head) {
		if (end > max_head || len >= max_head)
			return refuse(status, 431, err, errlen, "request header larger than %zu bytes", max_head);
		return 0;
	}
	size_t n = end - start;
	if (memchr(buf + start, 0, n))
		return refuse(status, 400, err, errlen, "NUL byte in the request header");
	/* the head, then room for the decoded path and query, never longer than the target */
	h->mem = malloc(2 * n + 2);
	if (!h->mem) {
		*status = 500;
		snprintf(err, errlen, "out of memory");
		return TERN_ENOMEM;
	}
	memcpy(h->mem, buf + start, n);
	h->mem[n] = 0;
	char *spare = h->mem + n + 1;
	char *line = h->mem;
	ssize_t rc = 0;
	for (bool first = true;; first = false) {
		char *nl = strchr(line, '\n');
		*nl = 0;
		if (nl > line && nl[-1] == '\r')
			nl[-1] = 0;
		if (strchr(line, '\r')) {
			rc = refuse(status, 400, err, errlen, "CR without LF in the request header");
			break;
		}
		if (!line[0]) /* the empty line that ends the head */
			break;
		rc = first ? request_line(h, line, &spare, status, err, errlen)
		           : field_line(h, line, status, err, errlen);
		if (rc < 0)
			break;
		line = nl + 1;
	}
	if (rc == 0 && !h->method)
		rc = refuse(status, 400, err, errlen, "no request line");
	if (rc == 0)
		rc = head_semantics(h, max_body, status, err, errlen);
	if (rc < 0) {
		http_head_free(h);
		return rc;
	}
	return (ssize_t)end;
}

int http_head_check_body(const struct http_head *h, size_t max_body, int *status, char *err, size_t errlen)
{
	if (h->content_length > max_body)
		return (int)refuse(status, 413, err, errlen, "request body larger than %zu bytes", max_body);
	return 0;
}

void http_head_free(struct http_head *h)
{
	free(h->mem);
	memset(h, 0, sizeof(*h));
}

const char *http_head_field(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nfields; i++)
		if (!strcasecmp(h->fields[i].name, name))
			return h->fields[i].value;
	return NULL;
}

unsigned http_head_field_count(const struct http_head *h, const char *name)
{
	unsigned n = 0;
	for (size_t i = 0; i < h->nfields; i++)
		n += !strcasecmp(h->fields[i].name, name);
	return n;
}

const char *http_head_arg(const struct http_head *h, const char *name)
{
	for (size_t i = 0; i < h->nargs; i++)
		if (!strcasecmp(h->args[i].name, name))
			return h->args[i].value;
	return NULL;
}

/* ---- bodies ---- */

enum chunk_state {
	CH_SIZE, /* hex digits of a chunk size */
	CH_EXT, /* chunk extensions, ignored up to the end of the line */
	CH_SIZE_LF, /* CR seen after the size line */
	CH_DATA,
	CH_DATA_END, /* CR LF after the chunk's data */
	CH_DATA_LF,
	CH_TRAILER, /* at the start of a trailer line (or the final empty line) */
	CH_TRAILER_LINE,
	CH_END_LF, /* CR seen on the final empty line */
};

int http_body_init(struct http_body *b, const struct http_head *h, size_t max_body)
{
	memset(b, 0, sizeof(*b));
	b->max = max_body;
	b->chunked = h->chunked;
	b->remaining = h->chunked ? 0 : h->content_length;
	b->state = CH_SIZE;
	/* room grows as bytes arrive: a header alone reserves little */
	size_t first = max_body < 65536 ? max_body : 65536;
	b->cap = (h->chunked || h->content_length > first ? first : (size_t)h->content_length) + 1;
	b->data = malloc(b->cap);
	if (!b->data)
		return TERN_ENOMEM;
	b->data[0] = 0;
	b->done = !h->chunked && h->content_length == 0;
	return 0;
}

static int body_append(struct http_body *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		char *nb = realloc(b->data, ncap);
		if (!nb)
			return TERN_ENOMEM;
		b->data = nb;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

/* The end of a chunk-size line: the chunk's data follows, or the trailer after the last one. */
static void size_line_done(struct http_body *b)
{
	b->line = 0;
	b->digits = 0;
	b->state = b->remaining ? CH_DATA : CH_TRAILER;
}

static ssize_t body_chunked(struct http_body *b, const char *in, size_t len, int *status, char *err, size_t errlen)
{
	size_t i = 0;
	while (i < len && !b->done) {
		unsigned char c = (unsigned char)in[i];
		if (b->state == CH_DATA) {
			size_t n = len - i < b->remaining ? len - i : (size_t)b->remaining;
			if (body_append(b, in + i, n) < 0)
				return refuse(status, 500, err, errlen, "out of memory");
			i += n;
			b->remaining -= n;
			if (!b->remaining)
				b->state = CH_DATA_END;
			continue;
		}
		i++;
		switch (b->state) {
		case CH_SIZE:
		case CH_EXT:
			if (++b->line > CHUNK_LINE_MAX)
				return refuse(status, 400, err, errlen, "chunk size line longer than %d bytes",
				              CHUNK_LINE_MAX);
			if (c == '\r' || c == '\n') {
				if (b->digits == 0)
					return refuse(status, 400, err, errlen, "chunk without a size");
				if (c == '\r')
					b->state = CH_SIZE_LF;
				else
					size_line_done(b);
			} else if (b->state == CH_EXT) {
				if (c == 0)
					return refuse(status, 400, err, errlen, "NUL byte in a chunk extension");
			} else if (hexval(c) >= 0) {
				b->remaining = b->remaining * 16 + (uint64_t)hexval(c);
				if (++b->digits > 15 || b->len + b->remaining > b->max)
					return refuse(status, 413, err, errlen, "request body larger than %zu bytes",
					              b->max);
			} else if ((c == ';' || c == ' ' || c == '\t') && b->digits) {
				b->state = CH_EXT;
			} else {
				return refuse(status, 400, err, errlen, "bad chunk size: byte 0x%02x", c);
			}
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return refuse(status, 400, err, errlen, "chunk size line: CR without LF");
			size_line_done(b);
			break;
		case CH_DATA_END:
		case CH_DATA_LF:
			if (c == '\r' && b->state == CH_DATA_END)
				b->state = CH_DATA_LF;
			else if (c == '\n')
				b->state = CH_SIZE;
			else
				return refuse(status, 400, err, errlen, "chunk data longer than its size");
			break;
		case CH_TRAILER:
		case CH_TRAILER_LINE:
		case CH_END_LF:
			if (++b->trailer > TRAILER_MAX)
				return refuse(status, 400, err, errlen, "chunked trailer longer than %d bytes",
				              TRAILER_MAX);
			if (b->state == CH_END_LF) {
				if (c != '\n')
					return refuse(status, 400, err, errlen,
					              "end of the chunked body: CR without LF");
				b->done = true;
			} else if (c == '\n') {
				b->done = b->state == CH_TRAILER;
				b->state = CH_TRAILER;
			} else if (c == '\r' && b->state == CH_TRAILER) {
				b->state = CH_END_LF;
			} else if (c == 0) {
				return refuse(status, 400, err, errlen, "NUL byte in the chunked trailer");
			} else {
				b->state = CH_TRAILER_LINE;
			}
			break;
		default: return refuse(status, 500, err, errlen, "chunked body: lost state");
		}
	}
	return (ssize_t)i;
}

ssize_t http_body_feed(struct http_body *b, const char *in, size_t len, int *status, char *err, size_t errlen)
{
	if (b->done)
		return 0;
	if (b->chunked)
		return body_chunked(b, in, len, status, err, errlen);
	size_t n = len < b->remaining ? len : (size_t)b->remaining;
	if (body_append(b, in, n) < 0)
		return refuse(status, 500, err, errlen, "out of memory");
	b->remaining -= n;
	b->done = b->remaining == 0;
	return (ssize_t)n;
}

void http_body_free(struct http_body *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
