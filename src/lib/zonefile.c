/* Zone files (RFC 1035 master format) read with Debian's libzscanner into a zone snapshot. */
#include "lib/zonefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libzscanner/scanner.h>

#include "lib/dyn.h"
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
	const struct dyn_lines *dyn; /* DYN records' lines, or NULL */
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

/* DYN records (lib/dyn.h) have TXT's text form under a type libzscanner does not know: before
 * the text goes to it, the type token "DYN" of each record becomes "TXT" (same length, so every
 * line and column stays where it was), and the lines those records span are remembered, so that
 * on_record() gives them their type back. */
struct dyn_lines {
	uint64_t (*v)[2]; /* first and last line of each DYN record */
	size_t n, cap;
};

static bool dyn_line(const struct dyn_lines *d, uint64_t line)
{
	for (size_t i = 0; i < d->n; i++)
		if (line >= d->v[i][0] && line <= d->v[i][1])
			return true;
	return false;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Whether a token is a TTL (digits, with BIND's unit letters) or a class, which may come between
 * the owner and the type in either order. */
static bool ttl_or_class(const char *t, size_t n)
{
	if (n && t[0] >= '0' && t[0] <= '9')
		return true;
	if ((n == 2 && (strncasecmp(t, "IN", 2) == 0 || strncasecmp(t, "CH", 2) == 0 || strncasecmp(t, "HS", 2) == 0 ||
	                strncasecmp(t, "CS", 2) == 0)) ||
	    (n > 5 && strncasecmp(t, "CLASS", 5) == 0))
		return true;
	return false;
}

/* A copy of text with every DYN type token turned to TXT, or NULL (and d->n == 0) when there is
 * none. Quotes, escapes, comments and parentheses are followed as the scanner does. */
static char *dyn_rewrite(const char *text, size_t len, struct dyn_lines *d, int *rc)
{
	char *copy = NULL;
	uint64_t line = 1;
	int depth = 0;
	*rc = 0;
	for (size_t i = 0; i < len;) {
		/* the start of a line outside parentheses starts a record (or a directive) */
		size_t eol = i;
		while (eol < len && text[eol] != '\n')
			eol++;
		if (depth == 0 && i < len && text[i] != '$' && text[i] != ';') {
			size_t p = i;
			int tokens = 0;
			if (!is_blank(text[p])) { /* the owner */
				while (p < eol && !is_blank(text[p]))
					p++;
			}
			for (;;) {
				while (p < eol && (is_blank(text[p]) || text[p] == '('))
					p++;
				size_t t = p;
				while (p < eol && !is_blank(text[p]) && text[p] != '(' && text[p] != ';' &&
				       text[p] != '"')
					p++;
				if (p == t || ++tokens > 3 || !ttl_or_class(text + t, p - t)) {
					if (p - t == 3 && strncasecmp(text + t, "DYN", 3) == 0) {
						if (!copy && !(copy = malloc(len ? len : 1))) {
							*rc = TERN_ENOMEM;
							return NULL;
						}
						if (d->n == 0)
							memcpy(copy, text, len);
						memcpy(copy + t, "TXT", 3);
						if (d->n == d->cap) {
							size_t cap = d->cap ? d->cap * 2 : 16;
							void *v = realloc(d->v, cap * sizeof(*d->v));
							if (!v) {
								*rc = TERN_ENOMEM;
								free(copy);
								return NULL;
							}
							d->v = v;
							d->cap = cap;
						}
						d->v[d->n][0] = line;
						d->v[d->n][1] = 0; /* set where its parentheses close */
						d->n++;
					}
					break;
				}
			}
		}
		/* follow quotes, comments and parentheses to the end of the line */
		bool quoted = false, escaped = false;
		for (size_t k = i; k < eol; k++) {
			char ch = text[k];
			if (escaped)
				escaped = false;
			else if (ch == '\\')
				escaped = true;
			else if (quoted)
				quoted = ch != '"';
			else if (ch == '"')
				quoted = true;
			else if (ch == ';')
				break;
			else if (ch == '(')
				depth++;
			else if (ch == ')' && depth > 0)
				depth--;
		}
		if (d->n && depth == 0 && d->v[d->n - 1][1] == 0)
			d->v[d->n - 1][1] = line; /* the record that began here (or above) ends on this line */
		line++;
		i = eol + 1;
	}
	if (d->n && d->v[d->n - 1][1] == 0)
		d->v[d->n - 1][1] = line;
	return copy;
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
	uint16_t type = s->r_type;
	if (type == RR_TXT && !file && c->dyn && dyn_line(c->dyn, s->line_counter))
		type = RR_DYN;
	int rc = zone_builder_set_file(c->b, file);
	if (rc == 0)
		rc = zone_builder_add(c->b, s->r_owner, type, s->r_ttl, s->r_data, (uint16_t)s->r_data_length,
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

static int load(zs_scanner_t *s, const char *source, const char *text, size_t text_len, const struct dyn_lines *dyn,
                const uint8_t *apex, struct zone **out, char *err, size_t errlen)
{
	struct load_ctx c = {
	    .source = source, .text = text, .text_len = text_len, .err = err, .errlen = errlen, .dyn = dyn};
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

/* Whether the file has a blank-delimited "DYN" anywhere (a cheap test before reading it whole). */
static bool file_mentions_dyn(FILE *f)
{
	char buf[65536 + 4] = "    ";
	size_t n;
	while ((n = fread(buf + 4, 1, sizeof(buf) - 4, f)) > 0) {
		for (size_t i = 1; i + 3 <= n + 4; i++)
			if ((buf[i] | 0x20) == 'd' && (buf[i + 1] | 0x20) == 'y' && (buf[i + 2] | 0x20) == 'n' &&
			    (is_blank(buf[i - 1]) || buf[i - 1] == '(') && (i + 3 == n + 4 || is_blank(buf[i + 3])))
				return true;
		memmove(buf, buf + n, 4); /* keep the tail for a token split across reads */
	}
	return false;
}

/* The file's text when it holds DYN records (rewritten, dyn_rewrite()), else NULL. */
static char *read_dyn_file(const char *path, size_t *len, struct dyn_lines *d, int *rc)
{
	*rc = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL; /* libzscanner says why */
	char *text = NULL, *copy = NULL;
	if (file_mentions_dyn(f) && fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)size)) &&
		    fread(text, 1, (size_t)size, f) == (size_t)size) {
			*len = (size_t)size;
			copy = dyn_rewrite(text, *len, d, rc);
		} else if (size > 0) {
			*rc = TERN_EIO;
		}
	}
	free(text);
	fclose(f);
	return copy;
}

#define ZONEFILE_READ_WHOLE (1 << 20) /* files up to this size are read whole, then scanned from memory */

/* Whether text has a blank-delimited "DYN" (file_mentions_dyn() on memory). */
static bool text_mentions_dyn(const char *t, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++)
		if ((t[i] | 0x20) == 'd' && (t[i + 1] | 0x20) == 'y' && (t[i + 2] | 0x20) == 'n' &&
		    (i == 0 || is_blank(t[i - 1]) || t[i - 1] == '(') && (i + 3 == n || is_blank(t[i + 3])))
			return true;
	return false;
}

static bool text_mentions_include(const char *t, size_t n)
{
	for (const char *p = t; (p = memchr(p, '$', n - (size_t)(p - t))) != NULL; p++)
		if ((size_t)(t + n - p) >= 8 && strncasecmp(p, "$INCLUDE", 8) == 0)
			return true;
	return false;
}

struct zonefile_reader {
	zs_scanner_t scanner;
	int dirfd; /* the directory of the last absolute path opened (O_PATH), or -1 */
	size_t dirlen;
	char dir[PATH_MAX]; /* its path, with the trailing '/' */
};

struct zonefile_reader *zonefile_reader_new(void)
{
	struct zonefile_reader *r = malloc(sizeof(*r));
	if (r) {
		r->dirfd = -1;
		r->dirlen = 0;
	}
	return r;
}

void zonefile_reader_free(struct zonefile_reader *r)
{
	if (r && r->dirfd >= 0)
		close(r->dirfd);
	free(r);
}

/* Where path is to be opened from: r's directory and path's last component when path is absolute
 * (the directory opened now if it is another one), else the working directory and path whole. */
static int reader_at(struct zonefile_reader *r, const char *path, const char **base)
{
	*base = path;
	const char *slash = r && path[0] == '/' ? strrchr(path, '/') : NULL;
	if (!slash || !slash[1])
		return AT_FDCWD;
	size_t len = (size_t)(slash - path) + 1;
	if (r->dirfd < 0 || r->dirlen != len || memcmp(r->dir, path, len) != 0) {
		if (r->dirfd >= 0)
			close(r->dirfd);
		r->dirfd = -1;
		r->dirlen = 0;
		if (len >= sizeof(r->dir))
			return AT_FDCWD;
		memcpy(r->dir, path, len);
		r->dir[len] = 0;
		r->dirfd = open(r->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (r->dirfd < 0)
			return AT_FDCWD;
		r->dirlen = len;
	}
	*base = slash + 1;
	return r->dirfd;
}

int zonefile_stat(struct zonefile_reader *r, const char *path, struct stat *st)
{
	const char *base;
	int at = reader_at(r, path, &base);
	return fstatat(at, base, st, 0);
}

/* The text libzscanner is to scan from memory, or NULL to let it read the file itself. A small
 * file is read whole with one open, one fstat and one read: libzscanner's own reading resolves
 * the path (realpath: a readlink per component) and maps the file, and the unmapping flushes the
 * TLB of every CPU the process runs on, which made up most of the start-up time of many small
 * zones. A file with $INCLUDE is left to libzscanner (it resolves an included name against the
 * file's directory), and so are large files (no copy beside the mapping) and files it cannot open
 * (it says why). DYN types are rewritten in either case (dyn_rewrite()). st gets the file's status
 * as opened (zeroed when it could not be). */
static char *read_zone_text(struct zonefile_reader *r, const char *path, size_t *len, struct dyn_lines *d, int *rc,
                            struct stat *st)
{
	*rc = 0;
	memset(st, 0, sizeof(*st));
	const char *base;
	int at = reader_at(r, path, &base);
	int fd = openat(at, base, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, st) < 0) {
		memset(st, 0, sizeof(*st));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st->st_mode) || st->st_size == 0 || st->st_size > ZONEFILE_READ_WHOLE) {
		close(fd);
		return read_dyn_file(path, len, d, rc);
	}
	size_t size = (size_t)st->st_size, got = 0;
	char *text = malloc(size);
	while (text && got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!text || got != size) {
		*rc = text ? TERN_EIO : TERN_ENOMEM;
		free(text);
		return NULL;
	}
	*len = size;
	if (text_mentions_dyn(text, size)) {
		char *copy = dyn_rewrite(text, size, d, rc);
		if (copy || *rc < 0) {
			free(text);
			return copy;
		}
	}
	if (text_mentions_include(text, size)) {
		free(text);
		return NULL;
	}
	return text;
}

int zonefile_load(const char *path, const uint8_t *apex, struct zone **out, char *err, size_t errlen)
{
	return zonefile_read(NULL, path, apex, out, NULL, err, errlen);
}

int zonefile_read(struct zonefile_reader *r, const char *path, const uint8_t *apex, struct zone **out, struct stat *st,
                  char *err, size_t errlen)
{
	struct dyn_lines dyn = {0};
	struct stat own;
	size_t len = 0;
	int rc;
	char *text = read_zone_text(r, path, &len, &dyn, &rc, st ? st : &own);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, rc == TERN_ENOMEM ? "out of memory" : "cannot read zone file");
		return rc;
	}
	zs_scanner_t *s = r ? &r->scanner : malloc(sizeof(*s));
	if (!s) {
		free(text);
		free(dyn.v);
		return TERN_ENOMEM;
	}
	rc = init_scanner(s, apex, err, errlen, path);
	if (rc == 0 && (text ? zs_set_input_string(s, text, len) : zs_set_input_file(s, path)) != 0) {
		char why[128];
		snprintf(err, errlen, "%s: cannot open zone file: %s", path, unreadable_why(path, why, sizeof(why)));
		zs_deinit(s);
		rc = TERN_EIO;
	}
	if (rc == 0)
		rc = load(s, path, text, len, dyn.n ? &dyn : NULL, apex, out, err, errlen);
	if (!r)
		free(s);
	free(text);
	free(dyn.v);
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
	struct dyn_lines dyn = {0};
	int rc;
	char *copy = dyn_rewrite(text, len, &dyn, &rc);
	zs_scanner_t *s = rc < 0 ? NULL : malloc(sizeof(*s));
	if (!s) {
		free(copy);
		free(dyn.v);
		return TERN_ENOMEM;
	}
	rc = init_scanner(s, apex, err, errlen, source);
	if (rc == 0 && zs_set_input_string(s, copy ? copy : text, len) != 0) {
		snprintf(err, errlen, "%s: cannot read zone text", source);
		zs_deinit(s);
		rc = TERN_EINVAL;
	}
	if (rc == 0)
		rc = load(s, source, copy ? copy : text, len, copy ? &dyn : NULL, apex, out, err, errlen);
	free(s);
	free(copy);
	free(dyn.v);
	return rc;
}
