/* Zone files (RFC 1035 master format) read with Debian's libzscanner into a zone snapshot. */
#include "lib/zonefile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libzscanner/scanner.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

struct load_ctx {
	struct zone_builder *b;
	const char *source;
	const char *text; /* the zone text when it is not read from a file */
	size_t text_len;
	char *err;
	size_t errlen, used;
	int errors;
	int rc;
};

static void ctx_error(struct load_ctx *c, uint64_t line, const char *fmt, ...)
{
	c->errors++;
	if (!c->err || c->used + 1 >= c->errlen)
		return;
	int n = snprintf(c->err + c->used, c->errlen - c->used, "%s%s:%llu: ", c->used ? "\n" : "", c->source,
	                 (unsigned long long)line);
	if (n < 0 || (size_t)n >= c->errlen - c->used) {
		c->used = c->errlen - 1;
		return;
	}
	c->used += (size_t)n;
	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(c->err + c->used, c->errlen - c->used, fmt, ap);
	va_end(ap);
	c->used = (n < 0 || (size_t)n >= c->errlen - c->used) ? c->errlen - 1 : c->used + (size_t)n;
}

static void on_record(zs_scanner_t *s)
{
	struct load_ctx *c = s->process.data;
	if (c->rc < 0)
		return;
	if (s->r_class != RR_CLASS_IN) {
		ctx_error(c, s->line_counter, "record class %u is not IN", s->r_class);
		return;
	}
	const char *file = s->file.name && strcmp(s->file.name, c->source) != 0 ? s->file.name : NULL;
	int rc = zone_builder_set_file(c->b, file);
	if (rc == 0)
		rc = zone_builder_add(c->b, s->r_owner, s->r_type, s->r_ttl, s->r_data, (uint16_t)s->r_data_length,
		                      (uint32_t)s->line_counter);
	if (rc < 0) {
		c->rc = rc;
		s->state = ZS_STATE_STOP;
	}
}

/* Why a file cannot be read, for messages: libzscanner only says "file open error". Looks
 * (stat, access) without opening it. */
static const char *unreadable_why(const char *path, char *buf, size_t len)
{
	struct stat st;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return strerror_r(errno, buf, len);
	if (S_ISDIR(st.st_mode))
		return "is a directory";
	return "cannot be read";
}

/* Finds the line of the '(' still open at the end of a text: libzscanner reports only the end of
 * the file. Quotes, escapes and comments are skipped as the scanner does. Fed a block at a time. */
struct paren_scan {
	uint64_t line, open;
	bool quoted, comment, escaped, in_parens;
};

static void paren_scan(struct paren_scan *p, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (ch == '\n') {
			p->line++;
			p->comment = p->escaped = false;
		} else if (p->comment) {
			continue;
		} else if (p->escaped) {
			p->escaped = false;
		} else if (ch == '\\') {
			p->escaped = true;
		} else if (p->quoted) {
			p->quoted = ch != '"';
		} else if (ch == '"') {
			p->quoted = true;
		} else if (ch == ';') {
			p->comment = true;
		} else if (ch == '(' && !p->in_parens) {
			p->in_parens = true;
			p->open = p->line;
		} else if (ch == ')') {
			p->in_parens = false;
		}
	}
}

/* The line of the unclosed '(' of the file at path, or of text when path is NULL; 0 if unknown. */
static uint64_t unclosed_paren_line(const char *path, const char *text, size_t len)
{
	struct paren_scan p = {.line = 1};
	if (!path) {
		paren_scan(&p, text, len);
	} else {
		FILE *f = fopen(path, "r");
		if (!f)
			return 0;
		char buf[16384];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			paren_scan(&p, buf, n);
		fclose(f);
	}
	return p.in_parens ? p.open : 0;
}

static void on_error(zs_scanner_t *s)
{
	struct load_ctx *c = s->process.data;
	const char *saved = c->source; /* errors inside $INCLUDE name the included file */
	if (s->file.name && s->file.name[0])
		c->source = s->file.name;
	int code = s->error.code;
	char why[128];
	uint64_t open;
	if ((code == ZS_FILE_OPEN || code == ZS_FILE_INVALID || code == ZS_FILE_ACCESS ||
	     code == ZS_UNOPENED_INCLUDE) &&
	    s->include_filename[0]) {
		ctx_error(c, s->line_counter, "$INCLUDE %s: %s", s->include_filename,
		          unreadable_why(s->include_filename, why, sizeof(why)));
	} else if (code == ZS_UNPROCESSED_INCLUDE && s->include_filename[0]) {
		ctx_error(c, s->line_counter, "$INCLUDE %s: the included file has errors (above)", s->include_filename);
	} else if (code == ZS_UNCLOSED_MULTILINE &&
	           (open = unclosed_paren_line(s->file.name && s->file.name[0] ? s->file.name : NULL, c->text,
	                                       c->text_len)) > 0) {
		ctx_error(c, open,
		          "unclosed parenthesis: the '(' on this line is never closed (the input ends at line %llu)",
		          (unsigned long long)s->line_counter);
	} else {
		ctx_error(c, s->line_counter, "%s", zs_strerror(code));
	}
	c->source = saved;
	if (c->errors >= 20)
		s->state = ZS_STATE_STOP; /* enough to act on; stop before the buffer fills */
}

static int load(zs_scanner_t *s, const char *source, const char *text, size_t text_len, const uint8_t *apex,
                struct zone **out, char *err, size_t errlen)
{
	struct load_ctx c = {.source = source, .text = text, .text_len = text_len, .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = 0;
	c.b = zone_builder_new(apex);
	if (!c.b) {
		zs_deinit(s);
		return TERN_ENOMEM;
	}
	zs_set_processing(s, on_record, on_error, &c);
	zs_parse_all(s);
	zs_deinit(s);
	if (c.rc < 0 || c.errors) {
		zone_builder_free(c.b);
		return c.rc < 0 ? c.rc : TERN_EZONE;
	}
	return zone_build(c.b, source, out, err, errlen);
}

static int init_scanner(zs_scanner_t *s, const uint8_t *apex, char *err, size_t errlen, const char *source)
{
	char origin[1024];
	if (name_to_text(apex, origin, sizeof(origin)) < 0 || zs_init(s, origin, 1, 3600) != 0) {
		snprintf(err, errlen, "%s: cannot start the zone parser for %s", source, origin);
		return TERN_EINVAL;
	}
	return 0;
}

int zonefile_load(const char *path, const uint8_t *apex, struct zone **out, char *err, size_t errlen)
{
	zs_scanner_t *s = malloc(sizeof(*s));
	if (!s)
		return TERN_ENOMEM;
	int rc = init_scanner(s, apex, err, errlen, path);
	if (rc == 0 && zs_set_input_file(s, path) != 0) {
		char why[128];
		snprintf(err, errlen, "%s: cannot open zone file: %s", path, unreadable_why(path, why, sizeof(why)));
		zs_deinit(s);
		rc = TERN_EIO;
	}
	if (rc == 0)
		rc = load(s, path, NULL, 0, apex, out, err, errlen);
	free(s);
	return rc;
}

/* Zone text from memory (the API, tests) must not reach into the server's files. */
static int find_include(const char *text, size_t len, const char *source, char *err, size_t errlen)
{
	unsigned line = 1;
	for (size_t i = 0; i < len; i++) {
		if ((i == 0 || text[i - 1] == '\n') && len - i >= 8 && strncasecmp(text + i, "$INCLUDE", 8) == 0) {
			snprintf(err, errlen, "%s:%u: $INCLUDE is not allowed in zone text", source, line);
			return TERN_EZONE;
		}
		line += text[i] == '\n';
	}
	return 0;
}

int zonefile_load_string(const char *text, size_t len, const char *source, const uint8_t *apex, struct zone **out,
                         char *err, size_t errlen)
{
	if (find_include(text, len, source, err, errlen) < 0)
		return TERN_EZONE;
	zs_scanner_t *s = malloc(sizeof(*s));
	if (!s)
		return TERN_ENOMEM;
	int rc = init_scanner(s, apex, err, errlen, source);
	if (rc == 0 && zs_set_input_string(s, text, len) != 0) {
		snprintf(err, errlen, "%s: cannot read zone text", source);
		zs_deinit(s);
		rc = TERN_EINVAL;
	}
	if (rc == 0)
		rc = load(s, source, text, len, apex, out, err, errlen);
	free(s);
	return rc;
}
