/* ternd's configuration file: reads the YAML with libyaml's document API, checks every field
 * against the schema and collects "file:line: field: problem" messages for all mistakes found. */
#include "ternd/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/error.h"
#include "lib/name.h"
#include "ternd/log.h"

#define CONFIG_MAX_FILE (16u << 20) /* a configuration larger than this is surely a mistake */
#define QUOTE_MAX 64 /* characters of a bad value shown in a message */

/* State of one load: the document being checked, the configuration being built, the messages. */
struct parse {
	yaml_document_t *doc;
	const char *source;
	const char *basedir;
	char *err;
	size_t errlen;
	size_t errused;
	unsigned nerr;
	bool nomem;
	struct config *c;
};

/* Appends "source:line: message" to the error buffer, newline separated, truncating silently. */
__attribute__((format(printf, 3, 4))) static void perr(struct parse *p, unsigned line, const char *fmt, ...)
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

static unsigned node_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* An unquoted "", "~" or "null": YAML's null, e.g. a key with nothing after the colon. */
static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = scalar_text(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Writes s in double quotes with control and non-ASCII bytes escaped, cut at QUOTE_MAX. */
static const char *quote(const char *s, char *buf, size_t cap)
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

#define QUOTE_BUF (QUOTE_MAX + 16)

/* The keys one mapping may hold, and what was found for each. */
struct field {
	const char *key;
	yaml_node_t *value; /* NULL when absent */
	unsigned line; /* of the key */
};

/* Matches the pairs of a mapping against fields; reports unknown, duplicate and non-scalar keys.
 * where names the mapping in messages ("server", "zones[0]"; NULL for the top level). */
static void walk_mapping(struct parse *p, yaml_node_t *map, const char *where, struct field *fields, size_t nfields)
{
	for (size_t i = 0; i < nfields; i++)
		fields[i].value = NULL;
	if (is_null(map))
		return;
	for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE) {
			perr(p, node_line(k), "%s%skeys must be scalars, got %s", where ? where : "", where ? ": " : "",
			     kind_name(k));
			continue;
		}
		size_t i = 0;
		while (i < nfields && strcmp(fields[i].key, scalar_text(k)))
			i++;
		if (i == nfields) {
			char q[QUOTE_BUF];
			quote(scalar_text(k), q, sizeof(q));
			if (where)
				perr(p, node_line(k), "unknown key %s in %s", q, where);
			else
				perr(p, node_line(k), "unknown key %s at top level", q);
		} else if (fields[i].value) {
			perr(p, node_line(k), "%s%s%s: duplicate key (first at line %u)", where ? where : "",
			     where ? "." : "", fields[i].key, fields[i].line);
		} else {
			fields[i].value = v;
			fields[i].line = node_line(k);
		}
	}
}

/* Checks that a section is a mapping (a null counts as an empty one). */
static bool want_mapping(struct parse *p, yaml_node_t *n, const char *where)
{
	if (n->type == YAML_MAPPING_NODE || is_null(n))
		return true;
	perr(p, node_line(n), "%s: expected a mapping, got %s", where, kind_name(n));
	return false;
}

/* Checks that a value is a list (a null counts as an empty one); returns its length or -1. */
static long want_list(struct parse *p, yaml_node_t *n, const char *where)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return (long)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (is_null(n))
		return 0;
	perr(p, node_line(n), "%s: expected a list, got %s", where, kind_name(n));
	return -1;
}

/* The text of a scalar value, or NULL after reporting a wrong kind or an empty value. */
static const char *want_scalar(struct parse *p, yaml_node_t *n, const char *where)
{
	if (n->type != YAML_SCALAR_NODE) {
		perr(p, node_line(n), "%s: expected a scalar, got %s", where, kind_name(n));
		return NULL;
	}
	if (is_null(n) || !*scalar_text(n)) {
		perr(p, node_line(n), "%s: empty value", where);
		return NULL;
	}
	return scalar_text(n);
}

/* Decimal digits only (no sign, no space, no base prefix), fully consumed, within min..max. */
static bool want_uint(struct parse *p, yaml_node_t *n, const char *where, unsigned long min, unsigned long max,
                      unsigned long *out)
{
	const char *s = want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF];
	if (!isdigit((unsigned char)s[0])) {
		perr(p, node_line(n), "%s: %s is not a number", where, quote(s, q, sizeof(q)));
		return false;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end) {
		perr(p, node_line(n), "%s: %s is not a number", where, quote(s, q, sizeof(q)));
		return false;
	}
	if (errno == ERANGE || v < min || v > max) {
		perr(p, node_line(n), "%s: %s is out of range %lu..%lu", where, strlen(s) > QUOTE_MAX ? "value" : s,
		     min, max);
		return false;
	}
	*out = v;
	return true;
}

static char *dup_or_flag(struct parse *p, const char *s)
{
	char *d = strdup(s);
	if (!d)
		p->nomem = true;
	return d;
}

/* "ADDR@PORT" or "ADDR" (port 53), ADDR being IPv4 or IPv6 in inet_pton's forms. */
static bool parse_addr(struct parse *p, yaml_node_t *n, const char *where, struct config_listen *out)
{
	const char *s = want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF], host[sizeof(p->c->listen->text)];
	quote(s, q, sizeof(q));
	size_t len = strlen(s);
	if (len >= sizeof(host)) {
		perr(p, node_line(n), "%s: %s is not an IP address", where, q);
		return false;
	}
	memcpy(host, s, len + 1);
	unsigned long port = 53;
	char *at = strrchr(host, '@');
	if (at) {
		*at = 0;
		const char *ps = at + 1;
		char *end = at;
		errno = 0;
		if (isdigit((unsigned char)ps[0]))
			port = strtoul(ps, &end, 10);
		if (end == at || *end) {
			perr(p, node_line(n), "%s: port in %s is not a number", where, q);
			return false;
		}
		if (errno == ERANGE || port < 1 || port > 65535) {
			perr(p, node_line(n), "%s: port in %s is out of range 1..65535", where, q);
			return false;
		}
	}
	struct config_listen l;
	memset(&l, 0, sizeof(l));
	struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		l.addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		l.addrlen = sizeof(*sin6);
	} else {
		perr(p, node_line(n), "%s: %s is not an IP address", where, q);
		return false;
	}
	memcpy(l.text, s, len + 1);
	*out = l;
	return true;
}

/* One server.listen entry: an address not listed before. */
static void parse_listen(struct parse *p, yaml_node_t *n)
{
	const char *where = "server.listen";
	struct config_listen l;
	char q[QUOTE_BUF];
	if (!parse_addr(p, n, where, &l))
		return;
	quote(l.text, q, sizeof(q));
	for (size_t i = 0; i < p->c->nlisten; i++) {
		const struct config_listen *o = &p->c->listen[i];
		if (o->addrlen == l.addrlen && !memcmp(&o->addr, &l.addr, l.addrlen)) {
			perr(p, node_line(n), "%s: %s is listed twice (also as \"%s\")", where, q, o->text);
			return;
		}
	}
	p->c->listen[p->c->nlisten++] = l;
}

static void parse_server(struct parse *p, yaml_node_t *server, unsigned line)
{
	enum { LISTEN, IDENTITY, EDNS, WORKERS, IDLE, CLIENTS, NFIELDS };
	struct field f[NFIELDS] = {
	    [LISTEN] = {.key = "listen"},         [IDENTITY] = {.key = "identity"},
	    [EDNS] = {.key = "edns-buffer-size"}, [WORKERS] = {.key = "udp-workers"},
	    [IDLE] = {.key = "tcp-idle-timeout"}, [CLIENTS] = {.key = "tcp-max-clients"},
	};
	if (!want_mapping(p, server, "server"))
		return;
	walk_mapping(p, server, "server", f, NFIELDS);
	if (!f[LISTEN].value) {
		perr(p, line, "server.listen: missing required key");
	} else {
		long n = want_list(p, f[LISTEN].value, "server.listen");
		if (n == 0) {
			perr(p, node_line(f[LISTEN].value), "server.listen: at least one address is required");
		} else if (n > 0) {
			p->c->listen = calloc((size_t)n, sizeof(*p->c->listen));
			if (!p->c->listen) {
				p->nomem = true;
				return;
			}
			yaml_node_t *seq = f[LISTEN].value;
			for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
			     it++) {
				yaml_node_t *item = yaml_document_get_node(p->doc, *it);
				if (item)
					parse_listen(p, item);
			}
		}
	}
	if (f[IDENTITY].value) {
		const char *s = want_scalar(p, f[IDENTITY].value, "server.identity");
		if (s && strlen(s) > 255) {
			perr(p, node_line(f[IDENTITY].value),
			     "server.identity: %zu bytes is longer than the limit of 255", strlen(s));
		} else if (s) {
			p->c->nsid = dup_or_flag(p, s);
		}
	}
	unsigned long v;
	if (f[EDNS].value && want_uint(p, f[EDNS].value, "server.edns-buffer-size", 512, 4096, &v))
		p->c->edns_size = (uint16_t)v;
	if (f[WORKERS].value && want_uint(p, f[WORKERS].value, "server.udp-workers", 0, 256, &v))
		p->c->udp_workers = (unsigned)v;
	if (f[IDLE].value && want_uint(p, f[IDLE].value, "server.tcp-idle-timeout", 1, 3600, &v))
		p->c->tcp_idle_timeout_ms = (unsigned)v * 1000;
	if (f[CLIENTS].value && want_uint(p, f[CLIENTS].value, "server.tcp-max-clients", 1, 1000000, &v))
		p->c->tcp_max_clients = (unsigned)v;
}

static void parse_log(struct parse *p, yaml_node_t *log)
{
	static const char *const levels[] = {
	    [LOG_ERROR] = "error",
	    [LOG_WARNING] = "warning",
	    [LOG_INFO] = "info",
	    [LOG_DEBUG] = "debug",
	};
	struct field f[] = {{.key = "level"}};
	if (!want_mapping(p, log, "log"))
		return;
	walk_mapping(p, log, "log", f, 1);
	if (!f[0].value)
		return;
	const char *s = want_scalar(p, f[0].value, "log.level");
	if (!s)
		return;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!strcmp(s, levels[i])) {
			p->c->log_level = (int)i;
			return;
		}
	}
	char q[QUOTE_BUF];
	perr(p, node_line(f[0].value), "log.level: %s is not one of error, warning, info, debug",
	     quote(s, q, sizeof(q)));
}

/* base/file, or file itself when it is absolute or there is no base. */
static char *path_join(struct parse *p, const char *base, const char *file)
{
	if (file[0] == '/' || !base || !*base)
		return dup_or_flag(p, file);
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

/* A zone's apex for messages: lower case, escaped, without the final dot (the root stays "."). */
static void apex_text(const uint8_t *apex, char *buf, size_t cap)
{
	int n = name_to_text(apex, buf, cap);
	if (n < 0)
		snprintf(buf, cap, "?");
	else if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = 0;
}

/* The file name a secondary zone's copy gets by default: "<zone>.zone" ("root.zone" for the root);
 * false when the name holds characters a file name should not. */
static bool copy_file_name(const uint8_t *apex, char *text, size_t cap)
{
	char name[NAME_MAXLEN * 4 + 2];
	apex_text(apex, name, sizeof(name));
	const char *base = strcmp(name, ".") ? name : "root";
	if (strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(base) || base[0] == '.')
		return false;
	int n = snprintf(text, cap, "%s.zone", base);
	return n > 0 && (size_t)n < cap;
}

static uint16_t want_key(struct parse *p, yaml_node_t *n, const char *where);
static bool want_bool(struct parse *p, yaml_node_t *n, const char *where, bool *out);

/* zones[i].primary: one address or a list of them, none listed twice. */
static bool parse_primaries(struct parse *p, yaml_node_t *n, const char *where, struct config_zone *z)
{
	bool list = n->type == YAML_SEQUENCE_NODE;
	if (!list && (n->type != YAML_SCALAR_NODE || is_null(n))) {
		perr(p, node_line(n), "%s: expected an address or a list of addresses, got %s", where,
		     is_null(n) ? "nothing" : kind_name(n));
		return false;
	}
	size_t count = list ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;
	if (count == 0) {
		perr(p, node_line(n), "%s: at least one address is required", where);
		return false;
	}
	if (!(z->primaries = calloc(count, sizeof(*z->primaries)))) {
		p->nomem = true;
		return false;
	}
	bool ok = true;
	for (size_t k = 0; k < count; k++) {
		yaml_node_t *item = list ? yaml_document_get_node(p->doc, n->data.sequence.items.start[k]) : n;
		struct config_listen a;
		if (!item || !parse_addr(p, item, where, &a)) {
			ok = false;
			continue;
		}
		for (size_t i = 0; i < z->nprimaries; i++) {
			if (z->primaries[i].addrlen == a.addrlen &&
			    !memcmp(&z->primaries[i].addr, &a.addr, a.addrlen)) {
				char q[QUOTE_BUF];
				perr(p, node_line(item), "%s: %s is listed twice", where, quote(a.text, q, sizeof(q)));
				ok = false;
			}
		}
		z->primaries[z->nprimaries++] = a;
	}
	return ok;
}

static void parse_zone(struct parse *p, yaml_node_t *item, size_t index)
{
	enum { NAME, FILE_, PRIMARY, KEY, CATALOG, NFIELDS };
	struct field f[NFIELDS] = {[NAME] = {.key = "name"},
	                           [FILE_] = {.key = "file"},
	                           [PRIMARY] = {.key = "primary"},
	                           [KEY] = {.key = "key"},
	                           [CATALOG] = {.key = "catalog"}};
	char where[48], field[64];
	snprintf(where, sizeof(where), "zones[%zu]", index);
	if (item->type != YAML_MAPPING_NODE) {
		perr(p, node_line(item), "%s: expected a mapping, got %s", where, kind_name(item));
		return;
	}
	walk_mapping(p, item, where, f, NFIELDS);
	struct config_zone z;
	memset(&z, 0, sizeof(z));
	z.line = node_line(item);
	bool ok = true;
	const char *name = NULL, *file = NULL;
	snprintf(field, sizeof(field), "%s.name", where);
	if (!f[NAME].value) {
		perr(p, z.line, "%s: missing required key", field);
		ok = false;
	} else if ((name = want_scalar(p, f[NAME].value, field)) == NULL) {
		ok = false;
	} else if (name_from_text(z.apex, name, NULL) < 0) {
		char q[QUOTE_BUF];
		perr(p, node_line(f[NAME].value), "%s: %s is not a valid domain name", field,
		     quote(name, q, sizeof(q)));
		ok = false;
	} else {
		name_lower(z.apex);
		for (size_t i = 0; i < p->c->nzones; i++) {
			if (name_equal(p->c->zones[i].apex, z.apex)) {
				char t[NAME_MAXLEN * 4 + 2];
				apex_text(z.apex, t, sizeof(t));
				perr(p, z.line, "%s: duplicate zone %s (first at line %u)", where, t,
				     p->c->zones[i].line);
				ok = false;
				break;
			}
		}
	}
	snprintf(field, sizeof(field), "%s.primary", where);
	if (f[PRIMARY].value && !parse_primaries(p, f[PRIMARY].value, field, &z))
		ok = false;
	snprintf(field, sizeof(field), "%s.key", where);
	if (f[KEY].value && !f[PRIMARY].value) {
		perr(p, f[KEY].line,
		     "%s: only a secondary zone (one with a primary) takes a key; transfer.allow "
		     "and transfer.notify say which keys transfers out and NOTIFY use",
		     field);
		ok = false;
	} else if (f[KEY].value) {
		uint16_t k = want_key(p, f[KEY].value, field);
		if (k)
			z.key = &p->c->keys[k - 1].key; /* keys never move: parsed whole before zones */
		else
			ok = false;
	}
	snprintf(field, sizeof(field), "%s.catalog", where);
	if (f[CATALOG].value && !want_bool(p, f[CATALOG].value, field, &z.catalog)) {
		ok = false;
	} else if (z.catalog && !f[PRIMARY].value) {
		perr(p, f[CATALOG].line, "%s: only a secondary zone (one with a primary) can be a catalog to consume",
		     field);
		ok = false;
	}
	snprintf(field, sizeof(field), "%s.file", where);
	if (!f[FILE_].value) {
		char text[NAME_MAXLEN * 4 + 8];
		if (!f[PRIMARY].value) {
			perr(p, z.line, "%s: missing required key", field);
			ok = false;
		} else if (ok && !copy_file_name(z.apex, text, sizeof(text))) {
			perr(p, z.line, "%s: required: the zone name cannot make a file name", field);
			ok = false;
		} /* else the copy goes to its default place (set_copy_paths) */
	} else if ((file = want_scalar(p, f[FILE_].value, field)) == NULL) {
		ok = false;
	}
	if (!ok) {
		free(z.primaries);
		return;
	}
	z.name = dup_or_flag(p, name);
	z.file = file ? path_join(p, p->basedir, file) : NULL;
	if (!z.name || (file && !z.file)) {
		free(z.name);
		free(z.file);
		free(z.primaries);
		return;
	}
	p->c->zones[p->c->nzones++] = z;
}

/* Secondary zones without a file keep their copy in <data dir>/<zone>.zone, the data dir being the
 * API's when there is one, else the configuration file's directory. */
static void set_copy_paths(struct parse *p)
{
	const char *dir = p->c->api.data_dir ? p->c->api.data_dir : p->basedir;
	char text[NAME_MAXLEN * 4 + 8];
	for (size_t i = 0; i < p->c->nzones; i++)
		if (!p->c->zones[i].file && copy_file_name(p->c->zones[i].apex, text, sizeof(text)))
			p->c->zones[i].file = path_join(p, dir, text);
}

static void parse_zones(struct parse *p, yaml_node_t *zones)
{
	long n = want_list(p, zones, "zones");
	if (n <= 0)
		return;
	p->c->zones = calloc((size_t)n, sizeof(*p->c->zones));
	if (!p->c->zones) {
		p->nomem = true;
		return;
	}
	size_t index = 0;
	for (yaml_node_item_t *it = zones->data.sequence.items.start; it < zones->data.sequence.items.top;
	     it++, index++) {
		yaml_node_t *item = yaml_document_get_node(p->doc, *it);
		if (item)
			parse_zone(p, item, index);
	}
}

/* A domain name field: absolute, or relative to the root. */
static bool want_name(struct parse *p, yaml_node_t *n, const char *where, uint8_t out[NAME_MAXLEN])
{
	const char *s = want_scalar(p, n, where);
	if (!s)
		return false;
	if (name_from_text(out, s, (const uint8_t *)"") < 0) {
		char q[QUOTE_BUF];
		perr(p, node_line(n), "%s: %s is not a valid domain name", where, quote(s, q, sizeof(q)));
		return false;
	}
	name_lower(out);
	return true;
}

/* A reference to a key of the keys section (parsed before whatever refers to it): 1 + its index,
 * or 0 after reporting the name unknown. */
static uint16_t want_key(struct parse *p, yaml_node_t *n, const char *where)
{
	uint8_t name[NAME_MAXLEN];
	if (!want_name(p, n, where, name))
		return 0;
	for (size_t i = 0; i < p->c->nkeys; i++) {
		if (!name_equal(p->c->keys[i].key.name, name))
			continue;
		if (p->c->keys[i].key.alg != TSIG_ALG_NONE)
			return (uint16_t)(i + 1);
		p->nerr++; /* a key whose declaration was rejected: said once, there */
		return 0;
	}
	char q[QUOTE_BUF];
	perr(p, node_line(n), "%s: unknown key %s (not declared in keys)", where, quote(scalar_text(n), q, sizeof(q)));
	return 0;
}

/* keys[i]: {name, algorithm, secret}, the name not used by another key. A key rejected for its
 * algorithm or secret still goes in by name with TSIG_ALG_NONE, so references to it are not
 * reported as unknown too (the configuration is refused anyway). */
static void parse_key(struct parse *p, yaml_node_t *item, size_t index)
{
	enum { NAME, ALG, SECRET, NFIELDS };
	struct field f[NFIELDS] = {
	    [NAME] = {.key = "name"}, [ALG] = {.key = "algorithm"}, [SECRET] = {.key = "secret"}};
	char where[32], field[48], q[QUOTE_BUF];
	snprintf(where, sizeof(where), "keys[%zu]", index);
	if (item->type != YAML_MAPPING_NODE) {
		perr(p, node_line(item), "%s: expected a mapping, got %s", where, kind_name(item));
		return;
	}
	walk_mapping(p, item, where, f, NFIELDS);
	unsigned line = node_line(item);
	uint8_t wire[NAME_MAXLEN];
	const char *name = NULL, *alg = NULL, *secret = NULL;
	snprintf(field, sizeof(field), "%s.name", where);
	if (!f[NAME].value) {
		perr(p, line, "%s: missing required key", field);
	} else if (want_name(p, f[NAME].value, field, wire)) {
		name = scalar_text(f[NAME].value);
		for (size_t i = 0; i < p->c->nkeys && name; i++) {
			if (name_equal(p->c->keys[i].key.name, wire)) {
				perr(p, node_line(f[NAME].value), "%s: duplicate key %s (first at line %u)", field,
				     quote(name, q, sizeof(q)), p->c->keys[i].line);
				name = NULL;
			}
		}
	}
	snprintf(field, sizeof(field), "%s.algorithm", where);
	if (!f[ALG].value) {
		perr(p, line, "%s: missing required key", field);
	} else if ((alg = want_scalar(p, f[ALG].value, field)) != NULL && tsig_alg_from_text(alg) == TSIG_ALG_NONE) {
		perr(p, node_line(f[ALG].value),
		     "%s: unknown TSIG algorithm %s (hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1)",
		     field, quote(alg, q, sizeof(q)));
		alg = NULL;
	}
	snprintf(field, sizeof(field), "%s.secret", where);
	if (!f[SECRET].value)
		perr(p, line, "%s: missing required key", field);
	else
		secret = want_scalar(p, f[SECRET].value, field);
	if (!name)
		return;
	struct config_key *k = &p->c->keys[p->c->nkeys++];
	k->line = line;
	char msg[160];
	/* name and algorithm are known good: what tsig_key_init can still find wrong is the secret */
	if (alg && secret && tsig_key_init(&k->key, name, alg, secret, msg, sizeof(msg)) == 0)
		return;
	if (alg && secret)
		perr(p, node_line(f[SECRET].value), "%s: %s", field, msg);
	memset(&k->key, 0, sizeof(k->key));
	memcpy(k->key.name, wire, name_len(wire));
}

static void parse_keys(struct parse *p, yaml_node_t *keys)
{
	long n = want_list(p, keys, "keys");
	if (n <= 0)
		return;
	if (n >= UINT16_MAX) {
		perr(p, node_line(keys), "keys: %ld keys is more than the limit of %u", n, UINT16_MAX - 1);
		return;
	}
	p->c->keys = calloc((size_t)n, sizeof(*p->c->keys));
	if (!p->c->keys) {
		p->nomem = true;
		return;
	}
	size_t index = 0;
	for (yaml_node_item_t *it = keys->data.sequence.items.start; it < keys->data.sequence.items.top;
	     it++, index++) {
		yaml_node_t *item = yaml_document_get_node(p->doc, *it);
		if (item)
			parse_key(p, item, index);
	}
}

static bool want_bool(struct parse *p, yaml_node_t *n, const char *where, bool *out)
{
	const char *s = want_scalar(p, n, where);
	if (!s)
		return false;
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
		*out = true;
		return true;
	}
	if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
		*out = false;
		return true;
	}
	char q[QUOTE_BUF];
	perr(p, node_line(n), "%s: %s is not true or false", where, quote(s, q, sizeof(q)));
	return false;
}

static void parse_api(struct parse *p, yaml_node_t *api, unsigned line)
{
	enum {
		LISTEN,
		DATA,
		JWKS,
		LEGACY,
		RATE,
		BURST,
		SERIAL,
		NS,
		HOSTMASTER,
		TTL,
		REFRESH,
		RETRY,
		EXPIRE,
		MINIMUM,
		JOURNAL,
		NFIELDS
	};
	struct field f[NFIELDS] = {
	    [LISTEN] = {.key = "listen"},
	    [DATA] = {.key = "data-dir"},
	    [JWKS] = {.key = "jwks"},
	    [LEGACY] = {.key = "legacy-tenant-header"},
	    [RATE] = {.key = "rate-limit"},
	    [BURST] = {.key = "rate-burst"},
	    [SERIAL] = {.key = "serial-policy"},
	    [NS] = {.key = "nameservers"},
	    [HOSTMASTER] = {.key = "hostmaster"},
	    [TTL] = {.key = "default-ttl"},
	    [REFRESH] = {.key = "soa-refresh"},
	    [RETRY] = {.key = "soa-retry"},
	    [EXPIRE] = {.key = "soa-expire"},
	    [MINIMUM] = {.key = "soa-minimum"},
	    [JOURNAL] = {.key = "journal-keep"},
	};
	struct config_api *a = &p->c->api;
	if (!want_mapping(p, api, "api"))
		return;
	walk_mapping(p, api, "api", f, NFIELDS);
	a->enabled = true;
	if (!f[LISTEN].value)
		perr(p, line, "api.listen: missing required key");
	else
		parse_addr(p, f[LISTEN].value, "api.listen", &a->listen);
	const char *s;
	/* data-dir and jwks make the tenant API; with neither, the API serves /healthz and /metrics
	 * only, so a PoP reports its health without a key set or a store */
	bool tenants = f[DATA].value || f[JWKS].value;
	if (!f[DATA].value && tenants)
		perr(p, line, "api.data-dir: missing required key (the tenant API needs data-dir and jwks)");
	else if (f[DATA].value && (s = want_scalar(p, f[DATA].value, "api.data-dir")) != NULL)
		a->data_dir = path_join(p, p->basedir, s);
	if (!f[JWKS].value && tenants)
		perr(p, line, "api.jwks: missing required key (the tenant API needs data-dir and jwks)");
	else if (f[JWKS].value && (s = want_scalar(p, f[JWKS].value, "api.jwks")) != NULL)
		a->jwks = path_join(p, p->basedir, s);
	if (f[LEGACY].value)
		want_bool(p, f[LEGACY].value, "api.legacy-tenant-header", &a->legacy_tenant_header);
	unsigned long v;
	if (f[RATE].value && want_uint(p, f[RATE].value, "api.rate-limit", 0, 1000000, &v))
		a->rate = (unsigned)v;
	if (f[BURST].value && want_uint(p, f[BURST].value, "api.rate-burst", 1, 1000000, &v))
		a->burst = (unsigned)v;
	if (f[SERIAL].value && (s = want_scalar(p, f[SERIAL].value, "api.serial-policy")) != NULL) {
		if (!strcmp(s, "date") || !strcmp(s, "increment")) {
			a->serial_increment = !strcmp(s, "increment");
		} else {
			char q[QUOTE_BUF];
			perr(p, node_line(f[SERIAL].value), "api.serial-policy: %s is not date or increment",
			     quote(s, q, sizeof(q)));
		}
	}
	if (f[NS].value) {
		long n = want_list(p, f[NS].value, "api.nameservers");
		if (n > 0) {
			a->nameservers = calloc((size_t)n, sizeof(*a->nameservers));
			if (!a->nameservers) {
				p->nomem = true;
				return;
			}
			yaml_node_t *seq = f[NS].value;
			for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
			     it++) {
				yaml_node_t *item = yaml_document_get_node(p->doc, *it);
				if (item && want_name(p, item, "api.nameservers", a->nameservers[a->nnameservers]))
					a->nnameservers++;
			}
		}
	}
	if (f[HOSTMASTER].value && want_name(p, f[HOSTMASTER].value, "api.hostmaster", a->hostmaster))
		a->has_hostmaster = true;
	if (f[TTL].value && want_uint(p, f[TTL].value, "api.default-ttl", 0, 2147483647, &v))
		a->default_ttl = (uint32_t)v;
	if (f[REFRESH].value && want_uint(p, f[REFRESH].value, "api.soa-refresh", 1, 2147483647, &v))
		a->soa_refresh = (uint32_t)v;
	if (f[RETRY].value && want_uint(p, f[RETRY].value, "api.soa-retry", 1, 2147483647, &v))
		a->soa_retry = (uint32_t)v;
	if (f[EXPIRE].value && want_uint(p, f[EXPIRE].value, "api.soa-expire", 1, 2147483647, &v))
		a->soa_expire = (uint32_t)v;
	if (f[MINIMUM].value && want_uint(p, f[MINIMUM].value, "api.soa-minimum", 0, 2147483647, &v))
		a->soa_minimum = (uint32_t)v;
	if (f[JOURNAL].value && want_uint(p, f[JOURNAL].value, "api.journal-keep", 1, 1000000, &v))
		a->journal_keep = (unsigned)v;
}

/* "10.0.0.0/8", "::1/128" or an address alone (a host). */
static bool parse_prefix(struct parse *p, yaml_node_t *n, const char *where, struct config_prefix *out)
{
	const char *s = want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF], host[64];
	quote(s, q, sizeof(q));
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl >= sizeof(host)) {
		perr(p, node_line(n), "%s: %s is not an address prefix", where, q);
		return false;
	}
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(out, 0, sizeof(*out));
	unsigned max;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		perr(p, node_line(n), "%s: %s is not an address prefix", where, q);
		return false;
	}
	out->len = max;
	if (slash) {
		char *end;
		errno = 0;
		unsigned long l = isdigit((unsigned char)slash[1]) ? strtoul(slash + 1, &end, 10) : max + 1;
		if (!isdigit((unsigned char)slash[1]) || *end || errno || l > max) {
			perr(p, node_line(n), "%s: prefix length in %s is not 0..%u", where, q, max);
			return false;
		}
		out->len = (unsigned)l;
	}
	return true;
}

bool config_prefix_match(const struct config_prefix *list, size_t n, const struct sockaddr *addr)
{
	const uint8_t *a;
	int family = addr->sa_family;
	uint8_t mapped[4];
	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) { /* ::ffff:a.b.c.d matches IPv4 prefixes */
			memcpy(mapped, a + 12, 4);
			a = mapped;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i].family != family)
			continue;
		unsigned bits = list[i].len, full = bits / 8, rest = bits % 8;
		if (memcmp(list[i].addr, a, full) != 0)
			continue;
		if (rest && ((list[i].addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))))
			continue;
		return true;
	}
	return false;
}

/* transfer.allow[i]: "PREFIX", or {address: PREFIX, key: NAME} when a request must also be signed
 * with the key. */
static bool parse_allow(struct parse *p, yaml_node_t *n, size_t index, struct config_prefix *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return parse_prefix(p, n, "transfer.allow", out);
	enum { ADDRESS, KEY, NFIELDS };
	struct field f[NFIELDS] = {[ADDRESS] = {.key = "address"}, [KEY] = {.key = "key"}};
	char where[48], field[64];
	snprintf(where, sizeof(where), "transfer.allow[%zu]", index);
	walk_mapping(p, n, where, f, NFIELDS);
	snprintf(field, sizeof(field), "%s.address", where);
	if (!f[ADDRESS].value) {
		perr(p, node_line(n), "%s: missing required key", field);
		return false;
	}
	if (!parse_prefix(p, f[ADDRESS].value, field, out))
		return false;
	snprintf(field, sizeof(field), "%s.key", where);
	return !f[KEY].value || (out->key = want_key(p, f[KEY].value, field)) != 0;
}

/* transfer.notify[i]: "ADDR@PORT", or {address: "ADDR@PORT", key: NAME} to sign NOTIFY with. */
static bool parse_notify(struct parse *p, yaml_node_t *n, size_t index, struct config_listen *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return parse_addr(p, n, "transfer.notify", out);
	enum { ADDRESS, KEY, NFIELDS };
	struct field f[NFIELDS] = {[ADDRESS] = {.key = "address"}, [KEY] = {.key = "key"}};
	char where[48], field[64];
	snprintf(where, sizeof(where), "transfer.notify[%zu]", index);
	walk_mapping(p, n, where, f, NFIELDS);
	snprintf(field, sizeof(field), "%s.address", where);
	if (!f[ADDRESS].value) {
		perr(p, node_line(n), "%s: missing required key", field);
		return false;
	}
	if (!parse_addr(p, f[ADDRESS].value, field, out))
		return false;
	snprintf(field, sizeof(field), "%s.key", where);
	return !f[KEY].value || (out->key = want_key(p, f[KEY].value, field)) != 0;
}

static void parse_transfer(struct parse *p, yaml_node_t *tr)
{
	enum { ALLOW, NOTIFY, NFIELDS };
	struct field f[NFIELDS] = {[ALLOW] = {.key = "allow"}, [NOTIFY] = {.key = "notify"}};
	struct config_transfer *t = &p->c->transfer;
	if (!want_mapping(p, tr, "transfer"))
		return;
	walk_mapping(p, tr, "transfer", f, NFIELDS);
	long n;
	if (f[ALLOW].value && (n = want_list(p, f[ALLOW].value, "transfer.allow")) > 0) {
		if (!(t->allow = calloc((size_t)n, sizeof(*t->allow)))) {
			p->nomem = true;
			return;
		}
		yaml_node_t *seq = f[ALLOW].value;
		for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
			yaml_node_t *item = yaml_document_get_node(p->doc, *it);
			if (item &&
			    parse_allow(p, item, (size_t)(it - seq->data.sequence.items.start), &t->allow[t->nallow]))
				t->nallow++;
		}
	}
	if (f[NOTIFY].value && (n = want_list(p, f[NOTIFY].value, "transfer.notify")) > 0) {
		if (!(t->notify = calloc((size_t)n, sizeof(*t->notify)))) {
			p->nomem = true;
			return;
		}
		yaml_node_t *seq = f[NOTIFY].value;
		for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
			yaml_node_t *item = yaml_document_get_node(p->doc, *it);
			if (item && parse_notify(p, item, (size_t)(it - seq->data.sequence.items.start),
			                         &t->notify[t->nnotify]))
				t->nnotify++;
		}
	}
}

/* ---- pops: the PoPs a control node polls (src/ternd/api/pops.c) ---- */

/* Seconds with up to three decimals ("60", "0.2") as milliseconds within min_ms..max_ms. */
static bool want_seconds(struct parse *p, yaml_node_t *n, const char *where, unsigned min_ms, unsigned max_ms,
                         unsigned *out)
{
	const char *s = want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF];
	quote(s, q, sizeof(q));
	size_t whole = strspn(s, "0123456789");
	const char *frac = s[whole] == '.' ? s + whole + 1 : NULL;
	size_t decimals = frac ? strspn(frac, "0123456789") : 0;
	if (!whole || (frac ? !decimals || frac[decimals] : s[whole] != 0)) {
		perr(p, node_line(n), "%s: %s is not a number of seconds", where, q);
		return false;
	}
	if (decimals > 3) {
		perr(p, node_line(n), "%s: %s has more than three decimals (a millisecond is the finest step)", where,
		     q);
		return false;
	}
	unsigned long long ms = 0;
	for (size_t i = 0; i < whole && ms <= max_ms; i++)
		ms = ms * 10 + (unsigned)(s[i] - '0');
	ms *= 1000;
	for (size_t i = 0, scale = 100; i < decimals; i++, scale /= 10)
		ms += (unsigned)(frac[i] - '0') * scale;
	if (ms < min_ms || ms > max_ms) {
		perr(p, node_line(n), "%s: %s is out of range %g..%g seconds", where, q, min_ms / 1000.0,
		     max_ms / 1000.0);
		return false;
	}
	*out = (unsigned)ms;
	return true;
}

/* What is wrong with a PoP's /healthz URL, or NULL: http:// or https://, a host (name, IPv4 or
 * [IPv6]), an optional port, then a path; printable ASCII only. */
static const char *url_problem(const char *s)
{
	size_t skip = !strncasecmp(s, "http://", 7) ? 7 : !strncasecmp(s, "https://", 8) ? 8 : 0;
	if (!skip)
		return "is not an http:// or https:// URL";
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return "holds a space, a control or a non-ASCII character (percent-encode it)";
	const char *host = s + skip, *port = NULL;
	size_t alen = strcspn(host, "/?#");
	if (memchr(host, '@', alen))
		return "holds user credentials, which are not supported";
	if (host[0] == '[') {
		const char *close = memchr(host, ']', alen);
		char a6[INET6_ADDRSTRLEN];
		struct in6_addr in6;
		size_t hlen = close ? (size_t)(close - host - 1) : 0;
		if (!close || hlen >= sizeof(a6))
			return "has a bad [IPv6] host";
		memcpy(a6, host + 1, hlen);
		a6[hlen] = 0;
		if (inet_pton(AF_INET6, a6, &in6) != 1)
			return "has a bad [IPv6] host";
		if (close + 1 < host + alen && close[1] != ':')
			return "has something other than :port after the [IPv6] host";
		port = close + 1 < host + alen ? close + 2 : NULL;
	} else {
		const char *colon = memchr(host, ':', alen);
		size_t hlen = colon ? (size_t)(colon - host) : alen;
		if (!hlen)
			return "has no host";
		for (size_t i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-')
				return "has a host that is not a name or an IP address";
		port = colon ? colon + 1 : NULL;
	}
	if (port) {
		size_t plen = (size_t)(host + alen - port);
		if (!plen || plen > 5 || strspn(port, "0123456789") < plen)
			return "has a port that is not a number";
		unsigned long v = strtoul(port, NULL, 10);
		if (v < 1 || v > 65535)
			return "has a port out of range 1..65535";
	}
	return NULL;
}

static bool pop_name_ok(const char *s)
{
	size_t n = strlen(s);
	return n && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* pops.list[i]: {name, healthz}, names unique. */
static void parse_pop(struct parse *p, yaml_node_t *item, size_t index)
{
	enum { NAME, HEALTHZ, NFIELDS };
	struct field f[NFIELDS] = {[NAME] = {.key = "name"}, [HEALTHZ] = {.key = "healthz"}};
	char where[48], field[64], q[QUOTE_BUF];
	snprintf(where, sizeof(where), "pops.list[%zu]", index);
	if (item->type != YAML_MAPPING_NODE) {
		perr(p, node_line(item), "%s: expected a mapping, got %s", where, kind_name(item));
		return;
	}
	walk_mapping(p, item, where, f, NFIELDS);
	struct config_pop pop = {.line = node_line(item)};
	const char *name = NULL, *url = NULL, *why;
	snprintf(field, sizeof(field), "%s.name", where);
	if (!f[NAME].value) {
		perr(p, pop.line, "%s: missing required key", field);
	} else if ((name = want_scalar(p, f[NAME].value, field)) != NULL && !pop_name_ok(name)) {
		perr(p, node_line(f[NAME].value), "%s: %s is not a PoP name (1 to 63 letters, digits, '.', '_', '-')",
		     field, quote(name, q, sizeof(q)));
		name = NULL;
	}
	for (size_t i = 0; name && i < p->c->pops.n; i++) {
		if (!strcmp(p->c->pops.list[i].name, name)) {
			perr(p, node_line(f[NAME].value), "%s: duplicate PoP %s (first at line %u)", field,
			     quote(name, q, sizeof(q)), p->c->pops.list[i].line);
			name = NULL;
		}
	}
	snprintf(field, sizeof(field), "%s.healthz", where);
	if (!f[HEALTHZ].value) {
		perr(p, pop.line, "%s: missing required key", field);
	} else if ((url = want_scalar(p, f[HEALTHZ].value, field)) != NULL && (why = url_problem(url)) != NULL) {
		perr(p, node_line(f[HEALTHZ].value), "%s: %s %s", field, quote(url, q, sizeof(q)), why);
		url = NULL;
	}
	if (!name || !url)
		return;
	pop.name = dup_or_flag(p, name);
	pop.healthz = dup_or_flag(p, url);
	if (!pop.name || !pop.healthz) {
		free(pop.name);
		free(pop.healthz);
		return;
	}
	p->c->pops.list[p->c->pops.n++] = pop;
}

/* The pops section; after the api section, which it needs. */
static void parse_pops(struct parse *p, yaml_node_t *pops, unsigned line)
{
	enum { INTERVAL, DOWN, TIMEOUT, LIST, NFIELDS };
	struct field f[NFIELDS] = {
	    [INTERVAL] = {.key = "interval"},
	    [DOWN] = {.key = "down-after"},
	    [TIMEOUT] = {.key = "timeout"},
	    [LIST] = {.key = "list"},
	};
	struct config_pops *c = &p->c->pops;
	if (!want_mapping(p, pops, "pops"))
		return;
	walk_mapping(p, pops, "pops", f, NFIELDS);
	if (!p->c->api.enabled || (!p->c->api.jwks && !p->c->api.data_dir))
		perr(p, line,
		     "pops: needs the tenant API (an api section with data-dir and jwks): "
		     "/api/v1/pops and /metrics report the PoPs there");
	unsigned long v;
	if (f[INTERVAL].value)
		want_seconds(p, f[INTERVAL].value, "pops.interval", 10, 86400000, &c->interval_ms);
	if (f[DOWN].value && want_uint(p, f[DOWN].value, "pops.down-after", 1, 1000, &v))
		c->down_after = (unsigned)v;
	unsigned t;
	if (!f[TIMEOUT].value) {
		c->timeout_ms = c->timeout_ms < c->interval_ms ? c->timeout_ms : c->interval_ms;
	} else if (want_seconds(p, f[TIMEOUT].value, "pops.timeout", 10, 3600000, &t)) {
		if (t > c->interval_ms)
			perr(p, node_line(f[TIMEOUT].value), "pops.timeout: %g seconds is more than pops.interval (%g)",
			     t / 1000.0, c->interval_ms / 1000.0);
		else
			c->timeout_ms = t;
	}
	if (!f[LIST].value) {
		perr(p, line, "pops.list: missing required key");
		return;
	}
	long n = want_list(p, f[LIST].value, "pops.list");
	if (n == 0)
		perr(p, node_line(f[LIST].value), "pops.list: at least one PoP is required");
	if (n <= 0)
		return;
	if (!(c->list = calloc((size_t)n, sizeof(*c->list)))) {
		p->nomem = true;
		return;
	}
	size_t index = 0;
	yaml_node_t *seq = f[LIST].value;
	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, index++) {
		yaml_node_t *item = yaml_document_get_node(p->doc, *it);
		if (item)
			parse_pop(p, item, index);
	}
}

/* ---- end pops ---- */

/* ---- catalog ---- */

/* catalog: the catalog zone produced (RFC 9432). Its name is a zone of its own and short enough
 * for member entries <40-digit id>.zones.<name>. After zones and api: it checks the first and
 * keeps its serial in the second's data directory. */
static void parse_catalog(struct parse *p, yaml_node_t *cat, unsigned line)
{
	enum { ZONE, NFIELDS };
	struct field f[NFIELDS] = {[ZONE] = {.key = "zone"}};
	struct config_catalog *c = &p->c->catalog;
	char t[NAME_MAXLEN * 4 + 2], file[NAME_MAXLEN * 4 + 16];
	if (!want_mapping(p, cat, "catalog"))
		return;
	walk_mapping(p, cat, "catalog", f, NFIELDS);
	if (!f[ZONE].value) {
		perr(p, line, "catalog.zone: missing required key");
		return;
	}
	if (!want_name(p, f[ZONE].value, "catalog.zone", c->apex))
		return;
	apex_text(c->apex, t, sizeof(t));
	if (name_len(c->apex) + 2 + 40 + 6 > NAME_MAXLEN) {
		perr(p, node_line(f[ZONE].value),
		     "catalog.zone: %s is too long: member entries <40-digit id>.zones.%s would pass 255 octets", t, t);
		return;
	}
	for (size_t i = 0; i < p->c->nzones; i++) {
		if (name_equal(p->c->zones[i].apex, c->apex)) {
			perr(p, node_line(f[ZONE].value),
			     "catalog.zone: %s is also zones[%zu] (line %u): the catalog must be a zone of its own", t,
			     i, p->c->zones[i].line);
			return;
		}
	}
	if (copy_file_name(c->apex, file, sizeof(file) - 8)) /* "<zone>.zone" -> "<zone>.serial" */
		strcpy(file + strlen(file) - 4, "serial");
	else
		strcpy(file, "catalog.serial");
	c->state_file = path_join(p, p->c->api.data_dir ? p->c->api.data_dir : p->basedir, file);
	c->enabled = c->state_file != NULL;
}

/* ---- end catalog ---- */

static void parse_root(struct parse *p, yaml_node_t *root)
{
	enum { SERVER, LOG, ZONES, API, TRANSFER, KEYS, POPS, CATALOG, NFIELDS };
	struct field f[NFIELDS] = {
	    [SERVER] = {.key = "server"}, [LOG] = {.key = "log"},           [ZONES] = {.key = "zones"},
	    [API] = {.key = "api"},       [TRANSFER] = {.key = "transfer"}, [KEYS] = {.key = "keys"},
	    [POPS] = {.key = "pops"},     [CATALOG] = {.key = "catalog"},
	};
	if (root && root->type != YAML_MAPPING_NODE && !is_null(root)) {
		perr(p, node_line(root), "top level: expected a mapping, got %s", kind_name(root));
		return;
	}
	if (root)
		walk_mapping(p, root, NULL, f, NFIELDS);
	else
		f[SERVER].value = f[LOG].value = f[ZONES].value = f[API].value = f[TRANSFER].value = f[KEYS].value =
		    f[POPS].value = f[CATALOG].value = NULL;
	unsigned line = root ? node_line(root) : 1;
	if (!f[SERVER].value)
		perr(p, line, "server: missing required key");
	else
		parse_server(p, f[SERVER].value, f[SERVER].line);
	if (f[LOG].value)
		parse_log(p, f[LOG].value);
	if (f[KEYS].value) /* before zones and transfer, which refer to keys by name */
		parse_keys(p, f[KEYS].value);
	if (f[ZONES].value)
		parse_zones(p, f[ZONES].value);
	if (f[API].value)
		parse_api(p, f[API].value, f[API].line);
	if (f[TRANSFER].value)
		parse_transfer(p, f[TRANSFER].value);
	if (f[POPS].value) /* after api, which it needs */
		parse_pops(p, f[POPS].value, f[POPS].line);
	if (f[CATALOG].value) /* after zones and api, which it needs */
		parse_catalog(p, f[CATALOG].value, f[CATALOG].line);
	set_copy_paths(p);
}

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
		perr(p, offset_line(text, len, parser->problem_offset), "YAML syntax error: %s (at byte %zu)", problem,
		     parser->problem_offset);
	} else if (parser->context) {
		perr(p, (unsigned)parser->problem_mark.line + 1, "YAML syntax error: %s (%s at line %u)", problem,
		     parser->context, (unsigned)parser->context_mark.line + 1);
	} else {
		perr(p, (unsigned)parser->problem_mark.line + 1, "YAML syntax error: %s", problem);
	}
	return TERN_ECONFIG;
}

static void set_defaults(struct config *c)
{
	c->edns_size = 1232;
	c->udp_workers = 0;
	c->tcp_idle_timeout_ms = 10000;
	c->tcp_max_clients = 1024;
	c->log_level = LOG_INFO;
	c->api.rate = 50;
	c->api.burst = 100;
	c->api.default_ttl = 3600;
	c->api.soa_refresh = 7200;
	c->api.soa_retry = 900;
	c->api.soa_expire = 1209600;
	c->api.soa_minimum = 300;
	c->api.journal_keep = 1000;
	c->pops.interval_ms = 60000;
	c->pops.timeout_ms = 2000;
	c->pops.down_after = 3;
}

int config_load_string(const char *text, size_t len, const char *source, const char *basedir, struct config **out,
                       char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_parser = false, have_doc = false, have_extra = false;
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
	set_defaults(p.c);
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
	if (!yaml_parser_load(&parser, &doc)) {
		rc = yaml_failure(&p, &parser, text, len);
		goto fail;
	}
	have_doc = true;
	/* A second document would be silently ignored; say so instead. */
	if (!yaml_parser_load(&parser, &extra)) {
		rc = yaml_failure(&p, &parser, text, len);
		goto fail;
	}
	have_extra = true;
	yaml_node_t *second = yaml_document_get_root_node(&extra);
	if (second)
		perr(&p, node_line(second), "only one YAML document is allowed");
	parse_root(&p, yaml_document_get_root_node(&doc));
	if (p.nomem) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	if (p.nerr)
		goto fail;
	yaml_document_delete(&extra);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	*out = p.c;
	return TERN_OK;
fail:
	if (rc == TERN_ENOMEM && errlen)
		snprintf(err, errlen, "%s: out of memory", p.source);
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
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
	*open_failed = !f;
	if (!f)
		return NULL;
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
		if (errlen)
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

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nzones; i++) {
		free(c->zones[i].name);
		free(c->zones[i].file);
		free(c->zones[i].primaries);
	}
	free(c->zones);
	free(c->listen);
	free(c->nsid);
	free(c->path);
	free(c->api.data_dir);
	free(c->api.jwks);
	free(c->api.nameservers);
	free(c->transfer.allow);
	free(c->transfer.notify);
	free(c->catalog.state_file);
	for (size_t i = 0; i < c->pops.n; i++) {
		free(c->pops.list[i].name);
		free(c->pops.list[i].healthz);
	}
	free(c->pops.list);
	if (c->keys)
		explicit_bzero(c->keys, c->nkeys * sizeof(*c->keys)); /* secrets */
	free(c->keys);
	free(c);
}
