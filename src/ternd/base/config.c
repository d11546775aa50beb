/* The one configuration parser: reads the YAML with libyaml's document API and walks the table of
 * keys (config_schema.c) to check and store every value, collecting "file:line: key: problem" for
 * all mistakes found; the same table frees, compares and documents a configuration. */
#include "ternd/base/config.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/base/config_impl.h"
#include "ternd/base/text.h"

/* A configuration larger than this is surely a mistake: 2,000,000 zones (server.max-zones) listed
 * one a line take about 150 MB. */
#define CONFIG_MAX_FILE ((size_t)1 << 30)

/* Appends "source:line: message" to the error buffer, newline separated, truncating silently. */
__attribute__((format(printf, 3, 4))) void cfg_perr(struct parse *p, unsigned line, const char *fmt, ...)
{
	p->nerr++;
	if (p->errlen == 0 || p->errused + 1 >= p->errlen)
		return;
	char *dst = p->err + p->errused;
	size_t room = p->errlen - p->errused;
	int n = snprintf(dst, room, "%s%s:%u: ", p->errused ? "\n" : "", p->source, line);
	if (n > 0 && (size_t)n < room) {
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(dst + n, room - (size_t)n, fmt, ap);
		va_end(ap);
		n = m > 0 ? n + m : n;
	}
	p->errused += n > 0 ? (size_t)n : 0;
	if (p->errused >= p->errlen)
		p->errused = p->errlen - 1;
}

unsigned cfg_node_line(const struct cfg_node *n)
{
	return n->line;
}

const char *cfg_kind_name(const struct cfg_node *n)
{
	switch (n->kind) {
	case CFG_KIND_SCALAR: return "a scalar";
	case CFG_KIND_LIST: return "a list";
	case CFG_KIND_MAP: return "a mapping";
	default: return "nothing";
	}
}

const char *cfg_scalar_text(const struct cfg_node *n)
{
	return n->text;
}

/* An unquoted "", "~" or "null": YAML's null, e.g. a key with nothing after the colon. */
bool cfg_is_null(const struct cfg_node *n)
{
	if (n->kind != CFG_KIND_SCALAR || !n->plain)
		return false;
	const char *s = cfg_scalar_text(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Writes s in double quotes with control and non-ASCII bytes escaped, cut at QUOTE_MAX. */
const char *cfg_quote(const char *s, char *buf, size_t cap)
{
	size_t o = 0;
	buf[o++] = '"';
	for (size_t i = 0; s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i >= QUOTE_MAX || o + 8 >= cap) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = 0;
	return buf;
}

/* Matches the pairs of a mapping against fields; reports unknown, duplicate and non-scalar keys.
 * where names the mapping in messages ("server", "zones[0]"; NULL for the top level). */
static void walk_mapping(struct parse *p, struct cfg_node *map, const char *where, struct field *fields, size_t nfields)
{
	for (size_t i = 0; i < nfields; i++)
		fields[i].value = NULL;
	if (cfg_is_null(map))
		return;
	for (size_t pair = 0; pair < map->n; pair++) {
		struct cfg_node *k = cfg_doc_kid(p->doc, map, 2 * pair);
		struct cfg_node *v = cfg_doc_kid(p->doc, map, 2 * pair + 1);
		if (k->kind != CFG_KIND_SCALAR) {
			cfg_perr(p, cfg_node_line(k), "%s%skeys must be scalars, got %s", where ? where : "",
			         where ? ": " : "", cfg_kind_name(k));
			continue;
		}
		size_t i = 0;
		while (i < nfields && strcmp(fields[i].key, cfg_scalar_text(k)))
			i++;
		if (i == nfields) {
			char q[QUOTE_BUF];
			cfg_quote(cfg_scalar_text(k), q, sizeof(q));
			if (where)
				cfg_perr(p, cfg_node_line(k), "unknown key %s in %s", q, where);
			else
				cfg_perr(p, cfg_node_line(k), "unknown key %s at top level", q);
		} else if (fields[i].value) {
			cfg_perr(p, cfg_node_line(k), "%s%s%s: duplicate key (first at line %u)", where ? where : "",
			         where ? "." : "", fields[i].key, fields[i].line);
		} else {
			fields[i].value = v;
			fields[i].line = cfg_node_line(k);
		}
	}
}

/* Checks that a section is a mapping (a null counts as an empty one). */
static bool want_mapping(struct parse *p, struct cfg_node *n, const char *where)
{
	if (n->kind == CFG_KIND_MAP || cfg_is_null(n))
		return true;
	cfg_perr(p, cfg_node_line(n), "%s: expected a mapping, got %s", where, cfg_kind_name(n));
	return false;
}

/* Checks that a value is a list (a null counts as an empty one); returns its length or -1. */
static long cfg_want_list(struct parse *p, struct cfg_node *n, const char *where)
{
	if (n->kind == CFG_KIND_LIST)
		return (long)n->n;
	if (cfg_is_null(n))
		return 0;
	cfg_perr(p, cfg_node_line(n), "%s: expected a list, got %s", where, cfg_kind_name(n));
	return -1;
}

/* The text of a scalar value, or NULL after reporting a wrong kind or an empty value. */
const char *cfg_want_scalar(struct parse *p, struct cfg_node *n, const char *where)
{
	if (n->kind != CFG_KIND_SCALAR) {
		cfg_perr(p, cfg_node_line(n), "%s: expected a scalar, got %s", where, cfg_kind_name(n));
		return NULL;
	}
	if (cfg_is_null(n) || !*cfg_scalar_text(n)) {
		cfg_perr(p, cfg_node_line(n), "%s: empty value", where);
		return NULL;
	}
	return cfg_scalar_text(n);
}

char *cfg_dup_or_flag(struct parse *p, const char *s)
{
	char *d = strdup(s);
	if (!d)
		p->nomem = true;
	return d;
}

/* base/file, or file itself when it is absolute or there is no base. */
char *cfg_path_join(struct parse *p, const char *base, const char *file)
{
	if (file[0] == '/' || !base || !*base)
		return cfg_dup_or_flag(p, file);
	size_t bl = strlen(base), fl = strlen(file);
	bool slash = base[bl - 1] != '/';
	char *out = malloc(bl + slash + fl + 1);
	if (!out) {
		p->nomem = true;
		return NULL;
	}
	memcpy(out, base, bl);
	if (slash)
		out[bl] = '/';
	memcpy(out + bl + slash, file, fl + 1);
	return out;
}

/* ---- reading values ---- */

static void store_uint(void *dst, size_t size, unsigned long v)
{
	switch (size) {
	case 1: *(uint8_t *)dst = (uint8_t)v; break;
	case 2: *(uint16_t *)dst = (uint16_t)v; break;
	case 4: *(uint32_t *)dst = (uint32_t)v; break;
	default: *(uint64_t *)dst = v; break;
	}
}

static void *at(void *base, size_t offset)
{
	return (char *)base + offset;
}

static const void *at_const(const void *base, size_t offset)
{
	return (const char *)base + offset;
}

/* A scalar value s (at line, for the key path) into base; also how defaults are set. */
static void read_scalar(struct parse *p, const struct cfg_item *it, void *base, const char *s, unsigned line,
                        const char *path)
{
	void *dst = it->offset == CFG_NONE ? NULL : at(base, it->offset);
	if (!dst && it->type != CFG_STRING)
		return; /* only a checked string may be read to be dropped (offset CFG_NONE) */
	unsigned long v;
	unsigned u;
	char why[256];
	switch (it->type) {
	case CFG_UINT:
		if (cfg_read_uint(p, s, line, path, it->min, it->max, &v))
			store_uint(dst, it->size, v * (it->scale ? it->scale : 1));
		break;
	case CFG_SECONDS: cfg_read_seconds(p, s, line, path, (unsigned)it->min, (unsigned)it->max, dst); break;
	case CFG_BOOL: cfg_read_bool(p, s, line, path, dst); break;
	case CFG_ENUM:
		if (cfg_read_enum(p, s, line, path, it->names, &u))
			store_uint(dst, it->size, u);
		break;
	case CFG_STRING:
		if (it->max && strlen(s) > it->max) {
			cfg_perr(p, line, "%s: %zu bytes is longer than the limit of %lu", path, strlen(s), it->max);
		} else if (it->check && !it->check(s, why, sizeof(why))) {
			cfg_perr(p, line, "%s: %s", path, why);
		} else if (dst) {
			free(*(char **)dst);
			*(char **)dst = cfg_dup_or_flag(p, s);
		}
		break;
	case CFG_PATH:
		free(*(char **)dst);
		*(char **)dst = cfg_path_join(p, p->basedir, s);
		break;
	case CFG_NAME: cfg_read_name(p, s, line, path, dst); break;
	case CFG_ADDR: cfg_read_addr(p, s, line, path, dst); break;
	case CFG_PREFIX: cfg_read_prefix(p, s, line, path, dst); break;
	case CFG_KEYREF: *(uint16_t *)dst = cfg_read_keyref(p, s, line, path); break;
	default: break;
	}
}

/* ADDRS: a list of addresses, none twice (or one address alone, with CFG_SCALAR_OK). */
static void read_addrs(struct parse *p, const struct cfg_item *it, void *base, struct cfg_node *n, const char *path)
{
	bool list = n->kind == CFG_KIND_LIST;
	size_t count;
	if (it->flags & CFG_SCALAR_OK) {
		if (!list && (n->kind != CFG_KIND_SCALAR || cfg_is_null(n))) {
			cfg_perr(p, cfg_node_line(n), "%s: expected an address or a list of addresses, got %s", path,
			         cfg_is_null(n) ? "nothing" : cfg_kind_name(n));
			return;
		}
		count = list ? n->n : 1;
	} else {
		long len = cfg_want_list(p, n, path);
		if (len < 0)
			return;
		count = (size_t)len;
	}
	if (count < it->min) {
		cfg_perr(p, cfg_node_line(n), "%s: at least one %s is required", path, it->unit);
		return;
	}
	if (count == 0)
		return; /* none (allowed when min is 0): the list stays NULL */
	struct config_listen *arr = calloc(count, sizeof(*arr));
	size_t *used = at(base, it->count);
	if (!arr) {
		p->nomem = true;
		return;
	}
	*(struct config_listen **)at(base, it->offset) = arr;
	for (size_t k = 0; k < count; k++) {
		struct cfg_node *item = list ? cfg_doc_kid(p->doc, n, k) : n;
		const char *s = cfg_want_scalar(p, item, path);
		struct config_listen a;
		if (!s)
			continue;
		bool read = (it->flags & CFG_TLS_OK) ? cfg_read_primary(p, s, cfg_node_line(item), path, &a)
		                                     : cfg_read_addr(p, s, cfg_node_line(item), path, &a);
		if (!read)
			continue;
		bool twice = false;
		for (size_t i = 0; i < *used && !twice; i++) {
			if (arr[i].addrlen == a.addrlen && !memcmp(&arr[i].addr, &a.addr, a.addrlen)) {
				char q[QUOTE_BUF];
				cfg_perr(p, cfg_node_line(item), "%s: %s is listed twice (also as \"%s\")", path,
				         cfg_quote(a.text, q, sizeof(q)), arr[i].text);
				twice = true;
			}
		}
		if (!twice)
			arr[(*used)++] = a;
	}
}

/* NAMES: a list of domain names. */
static void read_names(struct parse *p, const struct cfg_item *it, void *base, struct cfg_node *n, const char *path)
{
	long len = cfg_want_list(p, n, path);
	if (len <= 0)
		return;
	uint8_t(*arr)[NAME_MAXLEN] = calloc((size_t)len, sizeof(*arr));
	size_t *used = at(base, it->count);
	if (!arr) {
		p->nomem = true;
		return;
	}
	*(uint8_t(**)[NAME_MAXLEN])at(base, it->offset) = arr;
	for (size_t k = 0; k < n->n; k++) {
		struct cfg_node *item = cfg_doc_kid(p->doc, n, k);
		const char *s = cfg_want_scalar(p, item, path);
		if (s && cfg_read_name(p, s, cfg_node_line(item), path, arr[*used]))
			(*used)++;
	}
}

static void apply_defaults(struct parse *p, const struct cfg_item *items, void *base);
static void free_items(const struct cfg_item *items, void *base);
static void read_value(struct parse *p, const struct cfg_item *it, void *base, struct cfg_node *n, unsigned line,
                       const char *path);

/* The keys of a mapping (a section, or one element of a list) into base: each found is read, each
 * required one missing is reported at line (the section's key, or the element), then owner's
 * finish checks across them. Returns what the finish returns, else whether nothing was wrong. */
static bool read_mapping(struct parse *p, const struct cfg_item *owner, void *base, struct cfg_node *map, unsigned line,
                         const char *where)
{
	struct field f[CFG_MAX_ITEMS];
	const struct cfg_item *items = owner->items;
	size_t n = 0;
	unsigned before = p->nerr;
	for (; items[n].name; n++)
		f[n] = (struct field){.key = items[n].name};
	if (map)
		walk_mapping(p, map, where, f, n);
	for (size_t i = 0; i < n; i++) {
		char path[128];
		if (!f[i].value && !(items[i].flags & CFG_REQUIRED))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", where ? where : "", where ? "." : "", items[i].name);
		if (!f[i].value) {
			cfg_perr(p, line, "%s: missing required key", path);
			continue;
		}
		unsigned errors = p->nerr;
		read_value(p, &items[i], base, f[i].value, f[i].line, path);
		f[i].ok = p->nerr == errors && !p->nomem;
	}
	if (owner->finish)
		return owner->finish(p, base, f, line, where);
	return p->nerr == before;
}

/* Whether the defaults of items (and of the sections inside) are plain values, none allocated:
 * then one element's defaults can be copied to the next. */
static bool defaults_plain(const struct cfg_item *items)
{
	for (const struct cfg_item *it = items; it->name; it++) {
		if (it->type == CFG_SECTION && !defaults_plain(it->items))
			return false;
		if (it->def && (it->type == CFG_STRING || it->type == CFG_PATH || it->type == CFG_LIST ||
		                it->type == CFG_ADDRS || it->type == CFG_NAMES))
			return false;
	}
	return true;
}

/* LIST: each element (a mapping, or with CFG_SHORTHAND a scalar for the first key) into a new
 * array; an element the finish refuses is freed and left out. */
static void read_list(struct parse *p, const struct cfg_item *it, void *base, struct cfg_node *n, const char *path)
{
	long len = cfg_want_list(p, n, path);
	if (len < 0)
		return;
	if ((unsigned long)len < it->min) {
		cfg_perr(p, cfg_node_line(n), "%s: at least one %s is required", path, it->unit);
		return;
	}
	if (it->max && (unsigned long)len > it->max) {
		cfg_perr(p, cfg_node_line(n), "%s: %ld %ss is more than the limit of %lu", path, len, it->unit,
		         it->max);
		return;
	}
	if (len == 0)
		return;
	char *arr = calloc((size_t)len, it->size);
	size_t *used = at(base, it->count);
	if (!arr) {
		p->nomem = true;
		return;
	}
	*(char **)at(base, it->offset) = arr;
	/* the element's defaults read once when none of them is allocated, then copied */
	char *defaults = defaults_plain(it->items) ? calloc(1, it->size) : NULL;
	if (defaults)
		apply_defaults(p, it->items, defaults);
	size_t index = 0;
	for (; index < n->n; index++) {
		struct cfg_node *item = cfg_doc_kid(p->doc, n, index);
		void *elem = arr + *used * it->size;
		char where[160];
		bool keep;
		unsigned before = p->nerr;
		snprintf(where, sizeof(where), "%s[%zu]", path, index);
		if (defaults)
			memcpy(elem, defaults, it->size);
		else
			apply_defaults(p, it->items, elem);
		if (item->kind == CFG_KIND_MAP) {
			keep = read_mapping(p, it, elem, item, cfg_node_line(item), where);
		} else if (it->flags & CFG_SHORTHAND) {
			read_value(p, &it->items[0], elem, item, cfg_node_line(item), path);
			keep = p->nerr == before;
			/* the element's finish runs as for a mapping holding only that key */
			struct field f = {
			    .key = it->items[0].name, .value = item, .line = cfg_node_line(item), .ok = keep};
			if (keep && it->finish)
				keep = it->finish(p, elem, &f, cfg_node_line(item), where);
		} else {
			cfg_perr(p, cfg_node_line(item), "%s: expected a mapping, got %s", where, cfg_kind_name(item));
			keep = false;
		}
		if (keep && !p->nomem) {
			(*used)++;
		} else {
			free_items(it->items, elem);
			memset(elem, 0, it->size);
		}
	}
	free(defaults);
}

static void read_value(struct parse *p, const struct cfg_item *it, void *base, struct cfg_node *n, unsigned line,
                       const char *path)
{
	const char *s;
	switch (it->type) {
	case CFG_SECTION:
		if (want_mapping(p, n, path))
			read_mapping(p, it, at(base, it->offset), n, line, path);
		break;
	case CFG_LIST: read_list(p, it, base, n, path); break;
	case CFG_ADDRS: read_addrs(p, it, base, n, path); break;
	case CFG_NAMES: read_names(p, it, base, n, path); break;
	default:
		if ((s = cfg_want_scalar(p, n, path)) != NULL)
			read_scalar(p, it, base, s, cfg_node_line(n), path);
		break;
	}
}

/* The defaults of a section's keys (and of the sections inside it), read as a file's values are. */
static void apply_defaults(struct parse *p, const struct cfg_item *items, void *base)
{
	for (const struct cfg_item *it = items; it->name; it++) {
		if (it->type == CFG_SECTION)
			apply_defaults(p, it->items, at(base, it->offset));
		else if (it->def)
			read_scalar(p, it, base, it->def, 0, it->name);
	}
}

/* The top level: the document's root, a mapping (or nothing at all). */
static void read_root(struct parse *p, struct cfg_node *root)
{
	if (root && root->kind != CFG_KIND_MAP && !cfg_is_null(root)) {
		cfg_perr(p, cfg_node_line(root), "top level: expected a mapping, got %s", cfg_kind_name(root));
		return;
	}
	read_mapping(p, &cfg_schema[0], p->c, root, root ? cfg_node_line(root) : 1, NULL);
}

/* ---- freeing, comparing and documenting, by the same table ---- */

static void free_items(const struct cfg_item *items, void *base)
{
	for (const struct cfg_item *it = items; it->name; it++) {
		if (it->offset == CFG_NONE)
			continue; /* read, checked and dropped: nothing kept */
		void **ptr = at(base, it->offset);
		switch (it->type) {
		case CFG_SECTION: free_items(it->items, at(base, it->offset)); break;
		case CFG_LIST: {
			size_t n = *(size_t *)at(base, it->count);
			for (size_t i = 0; *ptr && i < n; i++)
				free_items(it->items, (char *)*ptr + i * it->size);
			if (*ptr && (it->flags & CFG_SECRET))
				explicit_bzero(*ptr, n * it->size);
			free(*ptr);
			*ptr = NULL;
			break;
		}
		case CFG_STRING:
		case CFG_PATH:
		case CFG_ADDRS:
		case CFG_NAMES:
			if (ptr) {
				free(*ptr);
				*ptr = NULL;
			}
			break;
		default: break;
		}
	}
}

static bool same_addr(const struct config_listen *a, const struct config_listen *b)
{
	return a->addrlen == b->addrlen && !memcmp(&a->addr, &b->addr, a->addrlen) && a->tls == b->tls;
}

/* Whether one key holds the same value in a and b (lists: the same elements in the same order). */
static bool same_value(const struct cfg_item *it, const void *a, const void *b)
{
	const void *va = at_const(a, it->offset), *vb = at_const(b, it->offset);
	size_t na = it->count ? *(const size_t *)at_const(a, it->count) : 0;
	size_t nb = it->count ? *(const size_t *)at_const(b, it->count) : 0;
	switch (it->type) {
	case CFG_UINT:
	case CFG_ENUM: return !memcmp(va, vb, it->size);
	case CFG_SECONDS: return *(const unsigned *)va == *(const unsigned *)vb;
	case CFG_BOOL: return *(const bool *)va == *(const bool *)vb;
	case CFG_KEYREF: return *(const uint16_t *)va == *(const uint16_t *)vb;
	case CFG_STRING:
	case CFG_PATH: {
		const char *sa = *(char *const *)va, *sb = *(char *const *)vb;
		return sa == sb || (sa && sb && !strcmp(sa, sb));
	}
	case CFG_NAME: return name_equal(va, vb);
	case CFG_ADDR: return same_addr(va, vb);
	case CFG_PREFIX: return !memcmp(va, vb, sizeof(struct config_prefix));
	case CFG_ADDRS:
		for (size_t i = 0; na == nb && i < na; i++)
			if (!same_addr(&(*(struct config_listen *const *)va)[i],
			               &(*(struct config_listen *const *)vb)[i]))
				return false;
		return na == nb;
	case CFG_NAMES:
		return na == nb &&
		       (!na || !memcmp(*(const void *const *)va, *(const void *const *)vb, na * NAME_MAXLEN));
	case CFG_LIST:
		for (size_t i = 0; na == nb && i < na; i++) {
			const char *ea = (const char *)*(const void *const *)va + i * it->size;
			const char *eb = (const char *)*(const void *const *)vb + i * it->size;
			for (const struct cfg_item *sub = it->items; sub->name; sub++)
				if (sub->offset != CFG_NONE && !same_value(sub, ea, eb))
					return false;
		}
		return na == nb;
	case CFG_SECTION: break;
	}
	return true;
}

static void restart_keys(const struct cfg_item *items, const void *a, const void *b, const char *where,
                         void (*changed)(const char *key, void *arg), void *arg)
{
	for (const struct cfg_item *it = items; it->name; it++) {
		char path[128];
		snprintf(path, sizeof(path), "%s%s%s", where ? where : "", where ? "." : "", it->name);
		if (it->type == CFG_SECTION)
			restart_keys(it->items, at_const(a, it->offset), at_const(b, it->offset), path, changed, arg);
		else if (!(it->flags & CFG_RELOAD) && !same_value(it, a, b))
			changed(path, arg);
	}
}

void config_restart_keys(const struct config *old, const struct config *next,
                         void (*changed)(const char *key, void *arg), void *arg)
{
	restart_keys(cfg_schema[0].items, old, next, NULL, changed, arg);
}

static void reference_row(struct text *t, const struct cfg_item *it, const char *path)
{
	static const char *const types[] = {
	    [CFG_SECTION] = "section",    [CFG_LIST] = "list",          [CFG_UINT] = "integer",
	    [CFG_SECONDS] = "seconds",    [CFG_BOOL] = "true or false", [CFG_ENUM] = "word",
	    [CFG_STRING] = "text",        [CFG_PATH] = "file name",     [CFG_NAME] = "domain name",
	    [CFG_ADDR] = "address",       [CFG_ADDRS] = "addresses",    [CFG_PREFIX] = "address prefix",
	    [CFG_NAMES] = "domain names", [CFG_KEYREF] = "key name",
	};
	char range[128] = "", def[64];
	const char *type = it->type == CFG_UINT && it->unit ? it->unit : types[it->type];
	switch (it->type) {
	case CFG_UINT: snprintf(range, sizeof(range), "%lu..%lu", it->min, it->max); break;
	case CFG_SECONDS: snprintf(range, sizeof(range), "%g..%g", it->min / 1000.0, it->max / 1000.0); break;
	case CFG_ENUM:
		for (size_t i = 0; it->names[i]; i++)
			snprintf(range + strlen(range), sizeof(range) - strlen(range), "%s%s", i ? ", " : "",
			         it->names[i]);
		break;
	case CFG_STRING:
		if (it->max)
			snprintf(range, sizeof(range), "1..%lu bytes", it->max);
		break;
	case CFG_ADDRS:
	case CFG_LIST:
		if (it->min)
			snprintf(range, sizeof(range), "at least %lu", it->min);
		if (it->max)
			snprintf(range, sizeof(range), "at most %lu", it->max);
		break;
	default: break;
	}
	snprintf(def, sizeof(def), "%s", it->def ? it->def : it->flags & CFG_REQUIRED ? "required" : "none");
	text_printf(t, "| `%s` | %s | %s | %s | %s | %s |\n", path, type, range[0] ? range : "any", def,
	            it->flags & CFG_RELOAD ? "yes" : "restart", it->help ? it->help : "");
}

static void reference_items(struct text *t, const struct cfg_item *items, const char *where)
{
	for (const struct cfg_item *it = items; it->name; it++) {
		char path[128];
		snprintf(path, sizeof(path), "%s%s%s", where ? where : "", where ? "." : "", it->name);
		if (it->type == CFG_SECTION) {
			reference_items(t, it->items, path);
			continue;
		}
		reference_row(t, it, path);
		if (it->type == CFG_LIST) {
			strncat(path, "[]", sizeof(path) - strlen(path) - 1);
			reference_items(t, it->items, path);
		}
	}
}

char *config_reference(void)
{
	struct text t = {0};
	text_printf(&t, "| key | type | range | default | reload | meaning |\n|---|---|---|---|---|---|\n");
	reference_items(&t, cfg_schema[0].items, NULL);
	if (t.nomem)
		text_free(&t);
	return t.s;
}

/* ---- loading ---- */

/* 1-based line of a byte offset, for reader errors (bad encoding) that carry no mark. */
static unsigned offset_line(const char *text, size_t len, size_t offset)
{
	unsigned line = 1;
	for (size_t i = 0; i < offset && i < len; i++)
		line += text[i] == '\n';
	return line;
}

/* Turns a libyaml failure into a message; returns the error code for it. */
static int yaml_failure(struct parse *p, const yaml_parser_t *parser, const char *text, size_t len)
{
	if (parser->error == YAML_MEMORY_ERROR) {
		p->nomem = true;
		return TERN_ENOMEM;
	}
	const char *problem = parser->problem ? parser->problem : "unknown problem";
	if (parser->error == YAML_READER_ERROR) {
		cfg_perr(p, offset_line(text, len, parser->problem_offset), "YAML syntax error: %s (at byte %zu)",
		         problem, parser->problem_offset);
	} else if (parser->context) {
		cfg_perr(p, (unsigned)parser->problem_mark.line + 1, "YAML syntax error: %s (%s at line %u)", problem,
		         parser->context, (unsigned)parser->context_mark.line + 1);
	} else {
		cfg_perr(p, (unsigned)parser->problem_mark.line + 1, "YAML syntax error: %s", problem);
	}
	return TERN_ECONFIG;
}

int config_load_string(const char *text, size_t len, const char *source, const char *basedir, struct config **out,
                       char *err, size_t errlen)
{
	yaml_parser_t parser;
	struct cfg_doc doc;
	bool have_parser = false, have_doc = false;
	struct parse p = {
	    .doc = &doc,
	    .source = source ? source : "<config>",
	    .basedir = basedir,
	    .err = err,
	    .errlen = errlen,
	};
	int rc = TERN_ECONFIG;
	if (errlen)
		err[0] = 0;
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	apply_defaults(&p, cfg_schema[0].items, p.c);
	if (source && !(p.c->path = strdup(source))) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	have_parser = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	bool yaml_error;
	const char *why = NULL;
	unsigned why_line = 0;
	rc = cfg_doc_load(&doc, &parser, &yaml_error, &why, &why_line);
	if (rc < 0) {
		if (yaml_error)
			rc = yaml_failure(&p, &parser, text, len);
		else if (rc == TERN_ECONFIG)
			cfg_perr(&p, why_line, "YAML syntax error: %s", why);
		goto fail;
	}
	have_doc = true;
	if (doc.second_line) /* it would be silently ignored; say so instead */
		cfg_perr(&p, doc.second_line, "only one YAML document is allowed");
	read_root(&p, doc.root);
	if (p.nomem) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	if (p.nerr) {
		rc = TERN_ECONFIG;
		goto fail;
	}
	cfg_doc_free(&doc);
	yaml_parser_delete(&parser);
	*out = p.c;
	return TERN_OK;
fail:
	if (rc == TERN_ENOMEM && errlen)
		snprintf(err, errlen, "%s: out of memory", p.source);
	if (have_doc)
		cfg_doc_free(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	config_free(p.c);
	return rc;
}

/* Reads a whole file into a NUL-terminated buffer; errno is set on failure. */
static char *read_file(const char *path, size_t *len, bool *open_failed)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	struct stat st;
	*open_failed = !f;
	if (!f)
		return NULL;
	bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
	if (regular && (size_t)st.st_size >= CONFIG_MAX_FILE) { /* refused before it is read */
		errno = EFBIG;
		goto fail;
	}
	if (regular) { /* the buffer made once, at its size: 60 MB are not copied as they grow */
		cap = (size_t)st.st_size + 2;
		if (!(buf = malloc(cap)))
			goto fail;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > CONFIG_MAX_FILE) {
				errno = EFBIG;
				goto fail;
			}
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb = realloc(buf, ncap);
			if (!nb)
				goto fail;
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				if (!errno)
					errno = EIO;
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
fail:;
	int saved = errno;
	free(buf);
	fclose(f);
	errno = saved;
	return NULL;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	bool open_failed;
	int rc;
	errno = 0;
	text = read_file(path, &len, &open_failed);
	if (!text) {
		rc = errno == ENOMEM ? TERN_ENOMEM : TERN_EIO;
		if (errlen && errno == EFBIG)
			snprintf(err, errlen, "%s: cannot read: larger than %zu MiB, the limit of a configuration file",
			         path, CONFIG_MAX_FILE >> 20);
		else if (errlen)
			snprintf(err, errlen, "%s: cannot %s: %s", path, open_failed ? "open" : "read",
			         strerror(errno));
		goto fail;
	}
	dir = strdup(path);
	if (!dir) {
		rc = TERN_ENOMEM;
		if (errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	rc = config_load_string(text, len, path, dirname(dir), out, err, errlen);
fail:
	free(dir);
	free(text);
	return rc;
}

/* ---- the zones by apex ---- */

static size_t zone_slot(const struct config *c, const uint8_t *apex, uint32_t hash)
{
	size_t h = hash & c->zone_index_mask;
	while (c->zone_index[h].index &&
	       (c->zone_index[h].hash != hash || !name_equal(c->zones[c->zone_index[h].index - 1].apex, apex)))
		h = (h + 1) & c->zone_index_mask;
	return h;
}

const struct config_region *config_region_find(const struct config_services *s, const char *name)
{
	for (size_t i = 0; name && i < s->nregions; i++)
		if (strcmp(s->regions[i].name, name) == 0)
			return &s->regions[i];
	return NULL;
}

const struct config_zone *config_zone_find(const struct config *c, const uint8_t *apex)
{
	if (!c->zone_index)
		return NULL;
	uint32_t i = c->zone_index[zone_slot(c, apex, name_hash(apex))].index;
	return i ? &c->zones[i - 1] : NULL;
}

bool cfg_zone_index_add(struct config *c, size_t index)
{
	size_t used = index; /* zones[0..index) are in the index */
	if (index >= UINT32_MAX - 1)
		return false;
	if (!c->zone_index || (used + 1) * 2 > c->zone_index_mask + 1) {
		size_t size = c->zone_index ? (c->zone_index_mask + 1) * 2 : 64;
		struct config_zone_slot *old = c->zone_index;
		size_t old_size = old ? c->zone_index_mask + 1 : 0;
		if (!(c->zone_index = calloc(size, sizeof(*c->zone_index)))) {
			c->zone_index = old;
			return false;
		}
		c->zone_index_mask = size - 1;
		for (size_t k = 0; k < old_size; k++) {
			if (!old[k].index)
				continue;
			size_t h = old[k].hash & c->zone_index_mask; /* all different: the first free slot */
			while (c->zone_index[h].index)
				h = (h + 1) & c->zone_index_mask;
			c->zone_index[h] = old[k];
		}
		free(old);
	}
	uint32_t hash = name_hash(c->zones[index].apex);
	c->zone_index[zone_slot(c, c->zones[index].apex, hash)] = (struct config_zone_slot){(uint32_t)index + 1, hash};
	return true;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->zones && i < c->nzones; i++)
		free(c->zones[i].apex);
	free_items(cfg_schema[0].items, c);
	free(c->zone_index);
	free(c->catalog.state_file);
	free(c->path);
	free(c);
}
