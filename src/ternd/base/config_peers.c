/* The configuration sections about ternd's peers: TSIG keys, zone transfers and NOTIFY
 * (transfer), the PoPs a control node polls (pops) and the catalog zone produced (catalog). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/tsig.h"
#include "ternd/base/config.h"
#include "ternd/base/config_impl.h"

/* A domain name field: absolute, or relative to the root. */
bool cfg_want_name(struct parse *p, yaml_node_t *n, const char *where, uint8_t out[NAME_MAXLEN])
{
	const char *s = cfg_want_scalar(p, n, where);
	if (!s)
		return false;
	if (name_from_text(out, s, (const uint8_t *)"") < 0) {
		char q[QUOTE_BUF];
		cfg_perr(p, cfg_node_line(n), "%s: %s is not a valid domain name", where, cfg_quote(s, q, sizeof(q)));
		return false;
	}
	name_lower(out);
	return true;
}

/* A reference to a key of the keys section (parsed before whatever refers to it): 1 + its index,
 * or 0 after reporting the name unknown. */
uint16_t cfg_want_key(struct parse *p, yaml_node_t *n, const char *where)
{
	uint8_t name[NAME_MAXLEN];
	if (!cfg_want_name(p, n, where, name))
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
	cfg_perr(p, cfg_node_line(n), "%s: unknown key %s (not declared in keys)", where,
	         cfg_quote(cfg_scalar_text(n), q, sizeof(q)));
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
		cfg_perr(p, cfg_node_line(item), "%s: expected a mapping, got %s", where, cfg_kind_name(item));
		return;
	}
	cfg_walk_mapping(p, item, where, f, NFIELDS);
	unsigned line = cfg_node_line(item);
	uint8_t wire[NAME_MAXLEN];
	const char *name = NULL, *alg = NULL, *secret = NULL;
	snprintf(field, sizeof(field), "%s.name", where);
	if (!f[NAME].value) {
		cfg_perr(p, line, "%s: missing required key", field);
	} else if (cfg_want_name(p, f[NAME].value, field, wire)) {
		name = cfg_scalar_text(f[NAME].value);
		for (size_t i = 0; i < p->c->nkeys && name; i++) {
			if (name_equal(p->c->keys[i].key.name, wire)) {
				cfg_perr(p, cfg_node_line(f[NAME].value), "%s: duplicate key %s (first at line %u)",
				         field, cfg_quote(name, q, sizeof(q)), p->c->keys[i].line);
				name = NULL;
			}
		}
	}
	snprintf(field, sizeof(field), "%s.algorithm", where);
	if (!f[ALG].value) {
		cfg_perr(p, line, "%s: missing required key", field);
	} else if ((alg = cfg_want_scalar(p, f[ALG].value, field)) != NULL &&
	           tsig_alg_from_text(alg) == TSIG_ALG_NONE) {
		cfg_perr(
		    p, cfg_node_line(f[ALG].value),
		    "%s: unknown TSIG algorithm %s (hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1)",
		    field, cfg_quote(alg, q, sizeof(q)));
		alg = NULL;
	}
	snprintf(field, sizeof(field), "%s.secret", where);
	if (!f[SECRET].value)
		cfg_perr(p, line, "%s: missing required key", field);
	else
		secret = cfg_want_scalar(p, f[SECRET].value, field);
	if (!name)
		return;
	struct config_key *k = &p->c->keys[p->c->nkeys++];
	k->line = line;
	char msg[160];
	/* name and algorithm are known good: what tsig_key_init can still find wrong is the secret */
	if (alg && secret && tsig_key_init(&k->key, name, alg, secret, msg, sizeof(msg)) == 0)
		return;
	if (alg && secret)
		cfg_perr(p, cfg_node_line(f[SECRET].value), "%s: %s", field, msg);
	memset(&k->key, 0, sizeof(k->key));
	memcpy(k->key.name, wire, name_len(wire));
}

void cfg_parse_keys(struct parse *p, yaml_node_t *keys)
{
	long n = cfg_want_list(p, keys, "keys");
	if (n <= 0)
		return;
	if (n >= UINT16_MAX) {
		cfg_perr(p, cfg_node_line(keys), "keys: %ld keys is more than the limit of %u", n, UINT16_MAX - 1);
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

/* "10.0.0.0/8", "::1/128" or an address alone (a host). */
static bool parse_prefix(struct parse *p, yaml_node_t *n, const char *where, struct config_prefix *out)
{
	const char *s = cfg_want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF], host[64];
	cfg_quote(s, q, sizeof(q));
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	if (hl >= sizeof(host)) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is not an address prefix", where, q);
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
		cfg_perr(p, cfg_node_line(n), "%s: %s is not an address prefix", where, q);
		return false;
	}
	out->len = max;
	if (slash) {
		char *end;
		errno = 0;
		unsigned long l = isdigit((unsigned char)slash[1]) ? strtoul(slash + 1, &end, 10) : max + 1;
		if (!isdigit((unsigned char)slash[1]) || *end || errno || l > max) {
			cfg_perr(p, cfg_node_line(n), "%s: prefix length in %s is not 0..%u", where, q, max);
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
	cfg_walk_mapping(p, n, where, f, NFIELDS);
	snprintf(field, sizeof(field), "%s.address", where);
	if (!f[ADDRESS].value) {
		cfg_perr(p, cfg_node_line(n), "%s: missing required key", field);
		return false;
	}
	if (!parse_prefix(p, f[ADDRESS].value, field, out))
		return false;
	snprintf(field, sizeof(field), "%s.key", where);
	return !f[KEY].value || (out->key = cfg_want_key(p, f[KEY].value, field)) != 0;
}

/* transfer.notify[i]: "ADDR@PORT", or {address: "ADDR@PORT", key: NAME} to sign NOTIFY with. */
static bool parse_notify(struct parse *p, yaml_node_t *n, size_t index, struct config_listen *out)
{
	if (n->type != YAML_MAPPING_NODE)
		return cfg_parse_addr(p, n, "transfer.notify", out);
	enum { ADDRESS, KEY, NFIELDS };
	struct field f[NFIELDS] = {[ADDRESS] = {.key = "address"}, [KEY] = {.key = "key"}};
	char where[48], field[64];
	snprintf(where, sizeof(where), "transfer.notify[%zu]", index);
	cfg_walk_mapping(p, n, where, f, NFIELDS);
	snprintf(field, sizeof(field), "%s.address", where);
	if (!f[ADDRESS].value) {
		cfg_perr(p, cfg_node_line(n), "%s: missing required key", field);
		return false;
	}
	if (!cfg_parse_addr(p, f[ADDRESS].value, field, out))
		return false;
	snprintf(field, sizeof(field), "%s.key", where);
	return !f[KEY].value || (out->key = cfg_want_key(p, f[KEY].value, field)) != 0;
}

void cfg_parse_transfer(struct parse *p, yaml_node_t *tr)
{
	enum { ALLOW, NOTIFY, NFIELDS };
	struct field f[NFIELDS] = {[ALLOW] = {.key = "allow"}, [NOTIFY] = {.key = "notify"}};
	struct config_transfer *t = &p->c->transfer;
	if (!cfg_want_mapping(p, tr, "transfer"))
		return;
	cfg_walk_mapping(p, tr, "transfer", f, NFIELDS);
	long n;
	if (f[ALLOW].value && (n = cfg_want_list(p, f[ALLOW].value, "transfer.allow")) > 0) {
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
	if (f[NOTIFY].value && (n = cfg_want_list(p, f[NOTIFY].value, "transfer.notify")) > 0) {
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
	const char *s = cfg_want_scalar(p, n, where);
	if (!s)
		return false;
	char q[QUOTE_BUF];
	cfg_quote(s, q, sizeof(q));
	size_t whole = strspn(s, "0123456789");
	const char *frac = s[whole] == '.' ? s + whole + 1 : NULL;
	size_t decimals = frac ? strspn(frac, "0123456789") : 0;
	if (!whole || (frac ? !decimals || frac[decimals] : s[whole] != 0)) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is not a number of seconds", where, q);
		return false;
	}
	if (decimals > 3) {
		cfg_perr(p, cfg_node_line(n), "%s: %s has more than three decimals (a millisecond is the finest step)",
		         where, q);
		return false;
	}
	unsigned long long ms = 0;
	for (size_t i = 0; i < whole && ms <= max_ms; i++)
		ms = ms * 10 + (unsigned)(s[i] - '0');
	ms *= 1000;
	for (size_t i = 0, scale = 100; i < decimals; i++, scale /= 10)
		ms += (unsigned)(frac[i] - '0') * scale;
	if (ms < min_ms || ms > max_ms) {
		cfg_perr(p, cfg_node_line(n), "%s: %s is out of range %g..%g seconds", where, q, min_ms / 1000.0,
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
		cfg_perr(p, cfg_node_line(item), "%s: expected a mapping, got %s", where, cfg_kind_name(item));
		return;
	}
	cfg_walk_mapping(p, item, where, f, NFIELDS);
	struct config_pop pop = {.line = cfg_node_line(item)};
	const char *name = NULL, *url = NULL, *why;
	snprintf(field, sizeof(field), "%s.name", where);
	if (!f[NAME].value) {
		cfg_perr(p, pop.line, "%s: missing required key", field);
	} else if ((name = cfg_want_scalar(p, f[NAME].value, field)) != NULL && !pop_name_ok(name)) {
		cfg_perr(p, cfg_node_line(f[NAME].value),
		         "%s: %s is not a PoP name (1 to 63 letters, digits, '.', '_', '-')", field,
		         cfg_quote(name, q, sizeof(q)));
		name = NULL;
	}
	for (size_t i = 0; name && i < p->c->pops.n; i++) {
		if (!strcmp(p->c->pops.list[i].name, name)) {
			cfg_perr(p, cfg_node_line(f[NAME].value), "%s: duplicate PoP %s (first at line %u)", field,
			         cfg_quote(name, q, sizeof(q)), p->c->pops.list[i].line);
			name = NULL;
		}
	}
	snprintf(field, sizeof(field), "%s.healthz", where);
	if (!f[HEALTHZ].value) {
		cfg_perr(p, pop.line, "%s: missing required key", field);
	} else if ((url = cfg_want_scalar(p, f[HEALTHZ].value, field)) != NULL && (why = url_problem(url)) != NULL) {
		cfg_perr(p, cfg_node_line(f[HEALTHZ].value), "%s: %s %s", field, cfg_quote(url, q, sizeof(q)), why);
		url = NULL;
	}
	if (!name || !url)
		return;
	pop.name = cfg_dup_or_flag(p, name);
	pop.healthz = cfg_dup_or_flag(p, url);
	if (!pop.name || !pop.healthz) {
		free(pop.name);
		free(pop.healthz);
		return;
	}
	p->c->pops.list[p->c->pops.n++] = pop;
}

/* The pops section; after the api section, which it needs. */
void cfg_parse_pops(struct parse *p, yaml_node_t *pops, unsigned line)
{
	enum { INTERVAL, DOWN, TIMEOUT, LIST, NFIELDS };
	struct field f[NFIELDS] = {
	    [INTERVAL] = {.key = "interval"},
	    [DOWN] = {.key = "down-after"},
	    [TIMEOUT] = {.key = "timeout"},
	    [LIST] = {.key = "list"},
	};
	struct config_pops *c = &p->c->pops;
	if (!cfg_want_mapping(p, pops, "pops"))
		return;
	cfg_walk_mapping(p, pops, "pops", f, NFIELDS);
	if (!p->c->api.enabled || (!p->c->api.jwks && !p->c->api.data_dir))
		cfg_perr(p, line,
		         "pops: needs the tenant API (an api section with data-dir and jwks): "
		         "/api/v1/pops and /metrics report the PoPs there");
	unsigned long v;
	if (f[INTERVAL].value)
		want_seconds(p, f[INTERVAL].value, "pops.interval", 10, 86400000, &c->interval_ms);
	if (f[DOWN].value && cfg_want_uint(p, f[DOWN].value, "pops.down-after", 1, 1000, &v))
		c->down_after = (unsigned)v;
	unsigned t;
	if (!f[TIMEOUT].value) {
		c->timeout_ms = c->timeout_ms < c->interval_ms ? c->timeout_ms : c->interval_ms;
	} else if (want_seconds(p, f[TIMEOUT].value, "pops.timeout", 10, 3600000, &t)) {
		if (t > c->interval_ms)
			cfg_perr(p, cfg_node_line(f[TIMEOUT].value),
			         "pops.timeout: %g seconds is more than pops.interval (%g)", t / 1000.0,
			         c->interval_ms / 1000.0);
		else
			c->timeout_ms = t;
	}
	if (!f[LIST].value) {
		cfg_perr(p, line, "pops.list: missing required key");
		return;
	}
	long n = cfg_want_list(p, f[LIST].value, "pops.list");
	if (n == 0)
		cfg_perr(p, cfg_node_line(f[LIST].value), "pops.list: at least one PoP is required");
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
void cfg_parse_catalog(struct parse *p, yaml_node_t *cat, unsigned line)
{
	enum { ZONE, NFIELDS };
	struct field f[NFIELDS] = {[ZONE] = {.key = "zone"}};
	struct config_catalog *c = &p->c->catalog;
	char t[NAME_MAXLEN * 4 + 2], file[NAME_MAXLEN * 4 + 16];
	if (!cfg_want_mapping(p, cat, "catalog"))
		return;
	cfg_walk_mapping(p, cat, "catalog", f, NFIELDS);
	if (!f[ZONE].value) {
		cfg_perr(p, line, "catalog.zone: missing required key");
		return;
	}
	if (!cfg_want_name(p, f[ZONE].value, "catalog.zone", c->apex))
		return;
	cfg_apex_text(c->apex, t, sizeof(t));
	if (name_len(c->apex) + 2 + 40 + 6 > NAME_MAXLEN) {
		cfg_perr(p, cfg_node_line(f[ZONE].value),
		         "catalog.zone: %s is too long: member entries <40-digit id>.zones.%s would pass 255 octets", t,
		         t);
		return;
	}
	for (size_t i = 0; i < p->c->nzones; i++) {
		if (name_equal(p->c->zones[i].apex, c->apex)) {
			cfg_perr(p, cfg_node_line(f[ZONE].value),
			         "catalog.zone: %s is also zones[%zu] (line %u): the catalog must be a zone of its own",
			         t, i, p->c->zones[i].line);
			return;
		}
	}
	if (cfg_copy_file_name(c->apex, file, sizeof(file) - 8)) /* "<zone>.zone" -> "<zone>.serial" */
		strcpy(file + strlen(file) - 4, "serial");
	else
		strcpy(file, "catalog.serial");
	c->state_file = cfg_path_join(p, p->c->api.data_dir ? p->c->api.data_dir : p->basedir, file);
	c->enabled = c->state_file != NULL;
}

/* ---- end catalog ---- */
