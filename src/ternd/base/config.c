/* ternd's configuration file: reads the YAML with libyaml's document API, checks every field
 * against the schema and collects "file:line: field: problem" messages for all mistakes found. */
#include "ternd/base/config.h"

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
#include "ternd/base/config_impl.h"
#include "ternd/base/log.h"

#define CONFIG_MAX_FILE (16u << 20) /* a configuration larger than this is surely a mistake */

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

unsigned cfg_node_line(const yaml_node_t *n)
{
	return (unsigned)n->start_mark.line + 1;
}

const char *cfg_kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

const char *cfg_scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* An unquoted "", "~" or "null": YAML's null, e.g. a key with nothing after the colon. */
static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
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
void cfg_walk_mapping(struct parse *p, yaml_node_t *map, const char *where, struct field *fields, size_t nfields)
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
bool cfg_want_mapping(struct parse *p, yaml_node_t *n, const char *where)
{
	if (n->type == YAML_MAPPING_NODE || is_null(n))
		return true;
	cfg_perr(p, cfg_node_line(n), "%s: expected a mapping, got %s", where, cfg_kind_name(n));
	return false;
}

/* Checks that a value is a list (a null counts as an empty one); returns its length or -1. */
long cfg_want_list(struct parse *p, yaml_node_t *n, const char *where)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return (long)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (is_null(n))
		return 0;
	cfg_perr(p, cfg_node_line(n), "%s: expected a list, got %s", where, cfg_kind_name(n));
	return -1;
}

/* The text of a scalar value, or NULL after reporting a wrong kind or an empty value. */
const char *cfg_want_scalar(struct parse *p, yaml_node_t *n, const char *where)
{
	if (n->type != YAML_SCALAR_NODE) {
		cfg_perr(p, cfg_node_line(n), "%s: expected a scalar, got %s", where, cfg_kind_name(n));
		return NULL;
	}
	if (is_null(n) || !*cfg_scalar_text(n)) {
		cfg_perr(p, cfg_node_line(n), "%s: empty value", where);
		return NULL;
	}
	return cfg_scalar_text(n);
}

/* Decimal digits only (no sign, no space, no base prefix), fully consumed, within min..max. */
bool cfg_want_uint(struct parse *p, yaml_node_t *n, const char *where, unsigned long min, unsigned long max,
                   unsigned long *out)
{
	const char *s = cfg_want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF];
	if (!isdigit((unsigned char)s[0])) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is not a number", where, cfg_quote(s, q, sizeof(q)));
		return false;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is not a number", where, cfg_quote(s, q, sizeof(q)));
		return false;
	}
	if (errno == ERANGE || v < min || v > max) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is out of range %lu..%lu", where,
		         strlen(s) > QUOTE_MAX ? "value" : s, min, max);
		return false;
	}
	*out = v;
	return true;
}

char *cfg_dup_or_flag(struct parse *p, const char *s)
{
	char *d = strdup(s);
	if (!d)
		p->nomem = true;
	return d;
}

/* "ADDR@PORT" or "ADDR" (port 53), ADDR being IPv4 or IPv6 in inet_pton's forms. */
bool cfg_parse_addr(struct parse *p, yaml_node_t *n, const char *where, struct config_listen *out)
{
	const char *s = cfg_want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF], host[sizeof(p->c->listen->text)];
	cfg_quote(s, q, sizeof(q));
	size_t len = strlen(s);
	if (len >= sizeof(host)) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is not an IP address", where, q);
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
			cfg_perr(p, cfg_node_line(n), "%s: port in %s is not a number", where, q);
			return false;
		}
		if (errno == ERANGE || port < 1 || port > 65535) {
			cfg_perr(p, cfg_node_line(n), "%s: port in %s is out of range 1..65535", where, q);
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
		cfg_perr(p, cfg_node_line(n), "%s: %s is not an IP address", where, q);
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
	if (!cfg_parse_addr(p, n, where, &l))
		return;
	cfg_quote(l.text, q, sizeof(q));
	for (size_t i = 0; i < p->c->nlisten; i++) {
		const struct config_listen *o = &p->c->listen[i];
		if (o->addrlen == l.addrlen && !memcmp(&o->addr, &l.addr, l.addrlen)) {
			cfg_perr(p, cfg_node_line(n), "%s: %s is listed twice (also as \"%s\")", where, q, o->text);
			return;
		}
	}
	p->c->listen[p->c->nlisten++] = l;
}

static void parse_server(struct parse *p, yaml_node_t *server, unsigned line)
{
	enum { LISTEN, IDENTITY, EDNS, WORKERS, IDLE, CLIENTS, PER_ADDRESS, NFIELDS };
	struct field f[NFIELDS] = {
	    [LISTEN] = {.key = "listen"},
	    [IDENTITY] = {.key = "identity"},
	    [EDNS] = {.key = "edns-buffer-size"},
	    [WORKERS] = {.key = "udp-workers"},
	    [IDLE] = {.key = "tcp-idle-timeout"},
	    [CLIENTS] = {.key = "tcp-max-clients"},
	    [PER_ADDRESS] = {.key = "tcp-max-clients-per-address"},
	};
	if (!cfg_want_mapping(p, server, "server"))
		return;
	cfg_walk_mapping(p, server, "server", f, NFIELDS);
	if (!f[LISTEN].value) {
		cfg_perr(p, line, "server.listen: missing required key");
	} else {
		long n = cfg_want_list(p, f[LISTEN].value, "server.listen");
		if (n == 0) {
			cfg_perr(p, cfg_node_line(f[LISTEN].value), "server.listen: at least one address is required");
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
		const char *s = cfg_want_scalar(p, f[IDENTITY].value, "server.identity");
		if (s && strlen(s) > 255) {
			cfg_perr(p, cfg_node_line(f[IDENTITY].value),
			         "server.identity: %zu bytes is longer than the limit of 255", strlen(s));
		} else if (s) {
			p->c->nsid = cfg_dup_or_flag(p, s);
		}
	}
	unsigned long v;
	if (f[EDNS].value && cfg_want_uint(p, f[EDNS].value, "server.edns-buffer-size", 512, 4096, &v))
		p->c->edns_size = (uint16_t)v;
	if (f[WORKERS].value && cfg_want_uint(p, f[WORKERS].value, "server.udp-workers", 0, 256, &v))
		p->c->udp_workers = (unsigned)v;
	if (f[IDLE].value && cfg_want_uint(p, f[IDLE].value, "server.tcp-idle-timeout", 1, 3600, &v))
		p->c->tcp_idle_timeout_ms = (unsigned)v * 1000;
	if (f[CLIENTS].value && cfg_want_uint(p, f[CLIENTS].value, "server.tcp-max-clients", 1, 1000000, &v))
		p->c->tcp_max_clients = (unsigned)v;
	if (f[PER_ADDRESS].value &&
	    cfg_want_uint(p, f[PER_ADDRESS].value, "server.tcp-max-clients-per-address", 1, 1000000, &v))
		p->c->tcp_max_clients_per_address = (unsigned)v;
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
	if (!cfg_want_mapping(p, log, "log"))
		return;
	cfg_walk_mapping(p, log, "log", f, 1);
	if (!f[0].value)
		return;
	const char *s = cfg_want_scalar(p, f[0].value, "log.level");
	if (!s)
		return;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!strcmp(s, levels[i])) {
			p->c->log_level = (int)i;
			return;
		}
	}
	char q[QUOTE_BUF];
	cfg_perr(p, cfg_node_line(f[0].value), "log.level: %s is not one of error, warning, info, debug",
	         cfg_quote(s, q, sizeof(q)));
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

/* A zone's apex for messages: lower case, escaped, without the final dot (the root stays "."). */
void cfg_apex_text(const uint8_t *apex, char *buf, size_t cap)
{
	int n = name_to_text(apex, buf, cap);
	if (n < 0)
		snprintf(buf, cap, "?");
	else if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = 0;
}

/* The file name a secondary zone's copy gets by default: "<zone>.zone" ("root.zone" for the root);
 * false when the name holds characters a file name should not. */
bool cfg_copy_file_name(const uint8_t *apex, char *text, size_t cap)
{
	char name[NAME_MAXLEN * 4 + 2];
	cfg_apex_text(apex, name, sizeof(name));
	const char *base = strcmp(name, ".") ? name : "root";
	if (strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(base) || base[0] == '.')
		return false;
	int n = snprintf(text, cap, "%s.zone", base);
	return n > 0 && (size_t)n < cap;
}

/* zones[i].primary: one address or a list of them, none listed twice. */
static bool parse_primaries(struct parse *p, yaml_node_t *n, const char *where, struct config_zone *z)
{
	bool list = n->type == YAML_SEQUENCE_NODE;
	if (!list && (n->type != YAML_SCALAR_NODE || is_null(n))) {
		cfg_perr(p, cfg_node_line(n), "%s: expected an address or a list of addresses, got %s", where,
		         is_null(n) ? "nothing" : cfg_kind_name(n));
		return false;
	}
	size_t count = list ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;
	if (count == 0) {
		cfg_perr(p, cfg_node_line(n), "%s: at least one address is required", where);
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
		if (!item || !cfg_parse_addr(p, item, where, &a)) {
			ok = false;
			continue;
		}
		for (size_t i = 0; i < z->nprimaries; i++) {
			if (z->primaries[i].addrlen == a.addrlen &&
			    !memcmp(&z->primaries[i].addr, &a.addr, a.addrlen)) {
				char q[QUOTE_BUF];
				cfg_perr(p, cfg_node_line(item), "%s: %s is listed twice", where,
				         cfg_quote(a.text, q, sizeof(q)));
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
		cfg_perr(p, cfg_node_line(item), "%s: expected a mapping, got %s", where, cfg_kind_name(item));
		return;
	}
	cfg_walk_mapping(p, item, where, f, NFIELDS);
	struct config_zone z;
	memset(&z, 0, sizeof(z));
	z.line = cfg_node_line(item);
	bool ok = true;
	const char *name = NULL, *file = NULL;
	snprintf(field, sizeof(field), "%s.name", where);
	if (!f[NAME].value) {
		cfg_perr(p, z.line, "%s: missing required key", field);
		ok = false;
	} else if ((name = cfg_want_scalar(p, f[NAME].value, field)) == NULL) {
		ok = false;
	} else if (name_from_text(z.apex, name, NULL) < 0) {
		char q[QUOTE_BUF];
		cfg_perr(p, cfg_node_line(f[NAME].value), "%s: %s is not a valid domain name", field,
		         cfg_quote(name, q, sizeof(q)));
		ok = false;
	} else {
		name_lower(z.apex);
		for (size_t i = 0; i < p->c->nzones; i++) {
			if (name_equal(p->c->zones[i].apex, z.apex)) {
				char t[NAME_MAXLEN * 4 + 2];
				cfg_apex_text(z.apex, t, sizeof(t));
				cfg_perr(p, z.line, "%s: duplicate zone %s (first at line %u)", where, t,
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
		cfg_perr(p, f[KEY].line,
		         "%s: only a secondary zone (one with a primary) takes a key; transfer.allow "
		         "and transfer.notify say which keys transfers out and NOTIFY use",
		         field);
		ok = false;
	} else if (f[KEY].value) {
		uint16_t k = cfg_want_key(p, f[KEY].value, field);
		if (k)
			z.key = &p->c->keys[k - 1].key; /* keys never move: parsed whole before zones */
		else
			ok = false;
	}
	snprintf(field, sizeof(field), "%s.catalog", where);
	if (f[CATALOG].value && !cfg_want_bool(p, f[CATALOG].value, field, &z.catalog)) {
		ok = false;
	} else if (z.catalog && !f[PRIMARY].value) {
		cfg_perr(p, f[CATALOG].line,
		         "%s: only a secondary zone (one with a primary) can be a catalog to consume", field);
		ok = false;
	}
	snprintf(field, sizeof(field), "%s.file", where);
	if (!f[FILE_].value) {
		char text[NAME_MAXLEN * 4 + 8];
		if (!f[PRIMARY].value) {
			cfg_perr(p, z.line, "%s: missing required key", field);
			ok = false;
		} else if (ok && !cfg_copy_file_name(z.apex, text, sizeof(text))) {
			cfg_perr(p, z.line, "%s: required: the zone name cannot make a file name", field);
			ok = false;
		} /* else the copy goes to its default place (set_copy_paths) */
	} else if ((file = cfg_want_scalar(p, f[FILE_].value, field)) == NULL) {
		ok = false;
	}
	if (!ok) {
		free(z.primaries);
		return;
	}
	z.name = cfg_dup_or_flag(p, name);
	z.file = file ? cfg_path_join(p, p->basedir, file) : NULL;
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
		if (!p->c->zones[i].file && cfg_copy_file_name(p->c->zones[i].apex, text, sizeof(text)))
			p->c->zones[i].file = cfg_path_join(p, dir, text);
}

static void parse_zones(struct parse *p, yaml_node_t *zones)
{
	long n = cfg_want_list(p, zones, "zones");
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

bool cfg_want_bool(struct parse *p, yaml_node_t *n, const char *where, bool *out)
{
	const char *s = cfg_want_scalar(p, n, where);
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
	cfg_perr(p, cfg_node_line(n), "%s: %s is not true or false", where, cfg_quote(s, q, sizeof(q)));
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
		MAXCLIENTS,
		PERADDR,
		REQTIMEOUT,
		IDLETIMEOUT,
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
	    [MAXCLIENTS] = {.key = "max-clients"},
	    [PERADDR] = {.key = "max-clients-per-address"},
	    [REQTIMEOUT] = {.key = "request-timeout"},
	    [IDLETIMEOUT] = {.key = "idle-timeout"},
	};
	struct config_api *a = &p->c->api;
	if (!cfg_want_mapping(p, api, "api"))
		return;
	cfg_walk_mapping(p, api, "api", f, NFIELDS);
	a->enabled = true;
	if (!f[LISTEN].value)
		cfg_perr(p, line, "api.listen: missing required key");
	else
		cfg_parse_addr(p, f[LISTEN].value, "api.listen", &a->listen);
	const char *s;
	/* data-dir and jwks make the tenant API; with neither, the API serves /healthz and /metrics
	 * only, so a PoP reports its health without a key set or a store */
	bool tenants = f[DATA].value || f[JWKS].value;
	if (!f[DATA].value && tenants)
		cfg_perr(p, line, "api.data-dir: missing required key (the tenant API needs data-dir and jwks)");
	else if (f[DATA].value && (s = cfg_want_scalar(p, f[DATA].value, "api.data-dir")) != NULL)
		a->data_dir = cfg_path_join(p, p->basedir, s);
	if (!f[JWKS].value && tenants)
		cfg_perr(p, line, "api.jwks: missing required key (the tenant API needs data-dir and jwks)");
	else if (f[JWKS].value && (s = cfg_want_scalar(p, f[JWKS].value, "api.jwks")) != NULL)
		a->jwks = cfg_path_join(p, p->basedir, s);
	if (f[LEGACY].value)
		cfg_want_bool(p, f[LEGACY].value, "api.legacy-tenant-header", &a->legacy_tenant_header);
	unsigned long v;
	if (f[RATE].value && cfg_want_uint(p, f[RATE].value, "api.rate-limit", 0, 1000000, &v))
		a->rate = (unsigned)v;
	if (f[BURST].value && cfg_want_uint(p, f[BURST].value, "api.rate-burst", 1, 1000000, &v))
		a->burst = (unsigned)v;
	if (f[SERIAL].value && (s = cfg_want_scalar(p, f[SERIAL].value, "api.serial-policy")) != NULL) {
		if (!strcmp(s, "date") || !strcmp(s, "increment")) {
			a->serial_increment = !strcmp(s, "increment");
		} else {
			char q[QUOTE_BUF];
			cfg_perr(p, cfg_node_line(f[SERIAL].value), "api.serial-policy: %s is not date or increment",
			         cfg_quote(s, q, sizeof(q)));
		}
	}
	if (f[NS].value) {
		long n = cfg_want_list(p, f[NS].value, "api.nameservers");
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
				if (item && cfg_want_name(p, item, "api.nameservers", a->nameservers[a->nnameservers]))
					a->nnameservers++;
			}
		}
	}
	if (f[HOSTMASTER].value && cfg_want_name(p, f[HOSTMASTER].value, "api.hostmaster", a->hostmaster))
		a->has_hostmaster = true;
	if (f[TTL].value && cfg_want_uint(p, f[TTL].value, "api.default-ttl", 0, 2147483647, &v))
		a->default_ttl = (uint32_t)v;
	if (f[REFRESH].value && cfg_want_uint(p, f[REFRESH].value, "api.soa-refresh", 1, 2147483647, &v))
		a->soa_refresh = (uint32_t)v;
	if (f[RETRY].value && cfg_want_uint(p, f[RETRY].value, "api.soa-retry", 1, 2147483647, &v))
		a->soa_retry = (uint32_t)v;
	if (f[EXPIRE].value && cfg_want_uint(p, f[EXPIRE].value, "api.soa-expire", 1, 2147483647, &v))
		a->soa_expire = (uint32_t)v;
	if (f[MINIMUM].value && cfg_want_uint(p, f[MINIMUM].value, "api.soa-minimum", 0, 2147483647, &v))
		a->soa_minimum = (uint32_t)v;
	if (f[JOURNAL].value && cfg_want_uint(p, f[JOURNAL].value, "api.journal-keep", 1, 1000000, &v))
		a->journal_keep = (unsigned)v;
	if (f[MAXCLIENTS].value && cfg_want_uint(p, f[MAXCLIENTS].value, "api.max-clients", 1, 65536, &v))
		a->max_clients = (unsigned)v;
	if (f[PERADDR].value && cfg_want_uint(p, f[PERADDR].value, "api.max-clients-per-address", 1, 65536, &v))
		a->max_clients_per_address = (unsigned)v;
	if (f[REQTIMEOUT].value && cfg_want_uint(p, f[REQTIMEOUT].value, "api.request-timeout", 1, 3600, &v))
		a->request_timeout_ms = (unsigned)v * 1000;
	if (f[IDLETIMEOUT].value && cfg_want_uint(p, f[IDLETIMEOUT].value, "api.idle-timeout", 1, 3600, &v))
		a->idle_timeout_ms = (unsigned)v * 1000;
	if (a->max_clients_per_address > a->max_clients && f[PERADDR].value)
		cfg_perr(p, cfg_node_line(f[PERADDR].value),
		         "api.max-clients-per-address: %u is more than api.max-clients (%u)",
		         a->max_clients_per_address, a->max_clients);
	else if (a->max_clients_per_address > a->max_clients)
		a->max_clients_per_address = a->max_clients; /* the default, under a small max-clients */
}

static void parse_root(struct parse *p, yaml_node_t *root)
{
	enum { SERVER, LOG, ZONES, API, TRANSFER, KEYS, POPS, CATALOG, NFIELDS };
	struct field f[NFIELDS] = {
	    [SERVER] = {.key = "server"}, [LOG] = {.key = "log"},           [ZONES] = {.key = "zones"},
	    [API] = {.key = "api"},       [TRANSFER] = {.key = "transfer"}, [KEYS] = {.key = "keys"},
	    [POPS] = {.key = "pops"},     [CATALOG] = {.key = "catalog"},
	};
	if (root && root->type != YAML_MAPPING_NODE && !is_null(root)) {
		cfg_perr(p, cfg_node_line(root), "top level: expected a mapping, got %s", cfg_kind_name(root));
		return;
	}
	if (root)
		cfg_walk_mapping(p, root, NULL, f, NFIELDS);
	else
		f[SERVER].value = f[LOG].value = f[ZONES].value = f[API].value = f[TRANSFER].value = f[KEYS].value =
		    f[POPS].value = f[CATALOG].value = NULL;
	unsigned line = root ? cfg_node_line(root) : 1;
	if (!f[SERVER].value)
		cfg_perr(p, line, "server: missing required key");
	else
		parse_server(p, f[SERVER].value, f[SERVER].line);
	if (f[LOG].value)
		parse_log(p, f[LOG].value);
	if (f[KEYS].value) /* before zones and transfer, which refer to keys by name */
		cfg_parse_keys(p, f[KEYS].value);
	if (f[ZONES].value)
		parse_zones(p, f[ZONES].value);
	if (f[API].value)
		parse_api(p, f[API].value, f[API].line);
	if (f[TRANSFER].value)
		cfg_parse_transfer(p, f[TRANSFER].value);
	if (f[POPS].value) /* after api, which it needs */
		cfg_parse_pops(p, f[POPS].value, f[POPS].line);
	if (f[CATALOG].value) /* after zones and api, which it needs */
		cfg_parse_catalog(p, f[CATALOG].value, f[CATALOG].line);
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

static void set_defaults(struct config *c)
{
	c->edns_size = 1232;
	c->udp_workers = 0;
	c->tcp_idle_timeout_ms = 10000;
	c->tcp_max_clients = 1024;
	c->tcp_max_clients_per_address = 32;
	c->log_level = LOG_INFO;
	c->api.rate = 50;
	c->api.burst = 100;
	c->api.default_ttl = 3600;
	c->api.soa_refresh = 7200;
	c->api.soa_retry = 900;
	c->api.soa_expire = 1209600;
	c->api.soa_minimum = 300;
	c->api.journal_keep = 1000;
	c->api.max_clients = 1024;
	c->api.max_clients_per_address = 32;
	c->api.request_timeout_ms = 10000;
	c->api.idle_timeout_ms = 30000;
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
		cfg_perr(&p, cfg_node_line(second), "only one YAML document is allowed");
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
