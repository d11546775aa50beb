/* Dynamic answers: DYN statements read and compiled into one position-independent block (the model
 * is described in dyn.h, the block's layout in dyn_impl.h). */
#include "lib/dyn.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/dyn_impl.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

/* ---- compiling ---- */

struct tok {
	const uint8_t *p;
	uint8_t len;
};

struct stmt {
	struct tok t[MAX_TOKENS];
	int n;
};

struct pmember {
	uint8_t family, addr[16];
	uint8_t name[NAME_MAXLEN]; /* FAMILY_NAME: the target in wire form */
	uint32_t weight;
	bool has_weight;
	struct tok monitor;
};

struct ppool {
	struct tok name;
	struct pmember *m;
	int n;
	bool weighted;
};

struct pmonitor {
	struct tok name;
	struct dyn_monitor m;
};

struct pentry {
	uint8_t family, prefix, addr[16];
	struct tok *pools;
	int n;
	char text[64];
};

struct pcode {
	uint8_t kind;
	char code[2];
	struct tok *pools;
	int n;
};

struct comp {
	struct pcode *codes;
	int ncodes;
	struct ppool *pools;
	int npools;
	struct pmonitor *mons;
	int nmons;
	struct pentry *entries;
	int nentries;
	struct tok *answer;
	int nanswer;
	char *err;
	size_t errlen;
	char where[120]; /* the statement at fault, for messages ("" until one is written) */
	const struct stmt *cur; /* the statement being read */
	const struct pentry *cur_entry; /* or the geo entry being written */
};

/* Token text for a message: printable ASCII as is, the rest as \DDD (RFC 1035 5.1). */
static void tok_text(const struct tok *t, char *out, size_t cap)
{
	size_t o = 0;
	for (uint8_t i = 0; i < t->len && o + 5 < cap; i++) {
		uint8_t c = t->p[i];
		if (c >= 0x21 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\%03u", c);
	}
	out[o] = 0;
}

static void where_text(struct comp *c);

static int fail(struct comp *c, const char *fmt, ...)
{
	if (!c->where[0])
		where_text(c);
	int n = snprintf(c->err, c->errlen, "%s: ", c->where);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return TERN_EINVAL;
}

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);
	return t->len == n && strncasecmp((const char *)t->p, word, n) == 0;
}

static bool tok_eq(const struct tok *a, const struct tok *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* A token as a C string, when it holds no NUL and fits. */
static bool tok_cstr(const struct tok *t, char *out, size_t cap)
{
	if (t->len >= cap || memchr(t->p, 0, t->len))
		return false;
	memcpy(out, t->p, t->len);
	out[t->len] = 0;
	return true;
}

static bool tok_uint(const struct tok *t, uint32_t max, uint32_t *out)
{
	if (t->len == 0 || t->len > 10)
		return false;
	uint64_t v = 0;
	for (uint8_t i = 0; i < t->len; i++) {
		if (t->p[i] < '0' || t->p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(t->p[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Pool and monitor names: letters, digits, '-' and '_'. */
static bool name_ok(const struct tok *t)
{
	if (t->len == 0 || t->len > DYN_NAME_MAX)
		return false;
	for (uint8_t i = 0; i < t->len; i++) {
		uint8_t ch = t->p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_'))
			return false;
	}
	return true;
}

static bool parse_addr(const struct tok *t, uint8_t *family, uint8_t addr[16])
{
	char s[64];
	if (!tok_cstr(t, s, sizeof(s)))
		return false;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = 1;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = 2;
		return true;
	}
	return false;
}

static int parse_subnet(struct comp *c, const struct tok *t, struct pentry *e)
{
	char s[64], shown[256];
	tok_text(t, shown, sizeof(shown));
	if (!tok_cstr(t, s, sizeof(s)))
		return fail(c, "subnet \"%s\": not an address/prefix", shown);
	char *slash = strchr(s, '/');
	struct tok at = {(const uint8_t *)s, (uint8_t)(slash ? (size_t)(slash - s) : strlen(s))};
	if (!parse_addr(&at, &e->family, e->addr))
		return fail(c, "subnet \"%s\": not an IPv4 or IPv6 address/prefix", shown);
	uint32_t prefix = (uint32_t)bits_of(e->family);
	if (slash) {
		struct tok pt = {(const uint8_t *)slash + 1, (uint8_t)strlen(slash + 1)};
		if (!tok_uint(&pt, (uint32_t)bits_of(e->family), &prefix))
			return fail(c, "subnet \"%s\": prefix length must be 0 to %d", shown, bits_of(e->family));
	}
	e->prefix = (uint8_t)prefix;
	for (int b = (int)prefix; b < bits_of(e->family); b++)
		if (e->addr[b / 8] & (0x80 >> (b % 8)))
			return fail(c, "subnet \"%s\": address bits set past the prefix length %u", shown, prefix);
	snprintf(e->text, sizeof(e->text), "%s", s);
	return 0;
}

/* A name pool's member: an absolute domain name (presentation form, ending in '.'). */
static bool parse_target(const struct tok *t, struct pmember *m)
{
	char s[1024];
	if (t->len == 0 || t->p[t->len - 1] != '.' || !tok_cstr(t, s, sizeof(s)))
		return false;
	if (name_from_text(m->name, s, NULL) < 0)
		return false;
	m->family = FAMILY_NAME;
	return true;
}

static struct ppool *find_pool(struct comp *c, const struct tok *name, int *index)
{
	for (int i = 0; i < c->npools; i++)
		if (tok_eq(&c->pools[i].name, name)) {
			if (index)
				*index = i;
			return &c->pools[i];
		}
	return NULL;
}

static int find_monitor(const struct comp *c, const struct tok *name)
{
	for (int i = 0; i < c->nmons; i++)
		if (tok_eq(&c->mons[i].name, name))
			return i;
	return -1;
}

static int stmt_pool(struct comp *c, const struct stmt *s)
{
	char shown[256];
	if (s->n < 3)
		return fail(c, "expected: pool NAME ADDRESS [weight N] [monitor NAME]...");
	tok_text(&s->t[1], shown, sizeof(shown));
	if (!name_ok(&s->t[1]))
		return fail(c, "pool name \"%s\": 1 to %d letters, digits, '-' or '_'", shown, DYN_NAME_MAX);
	if (find_pool(c, &s->t[1], NULL))
		return fail(c, "pool \"%s\" is defined twice", shown);
	if (c->npools == MAX_POOLS)
		return fail(c, "more than %d pools", MAX_POOLS);
	struct ppool *p = &c->pools[c->npools];
	*p = (struct ppool){.name = s->t[1]};
	p->m = calloc((size_t)s->n, sizeof(*p->m));
	if (!p->m)
		return TERN_ENOMEM;
	c->npools++;
	int per_family[4] = {0, 0, 0, 0};
	for (int i = 2; i < s->n;) {
		char at[256];
		tok_text(&s->t[i], at, sizeof(at));
		struct pmember *m = &p->m[p->n];
		if (!parse_addr(&s->t[i], &m->family, m->addr) && !parse_target(&s->t[i], m))
			return fail(c,
			            "pool \"%s\": member \"%s\": not an IPv4 or IPv6 address, nor an absolute "
			            "domain name (ending in '.')",
			            shown, at);
		if (p->n && (m->family == FAMILY_NAME) != (p->m[0].family == FAMILY_NAME))
			return fail(c, "pool \"%s\": member \"%s\": a pool holds addresses or names, not both", shown,
			            at);
		for (int k = 0; k < p->n; k++)
			if (p->m[k].family == m->family &&
			    (m->family == FAMILY_NAME ? name_equal(p->m[k].name, m->name)
			                              : memcmp(p->m[k].addr, m->addr, 16) == 0))
				return fail(c, "pool \"%s\": member \"%s\" is listed twice", shown, at);
		if (++per_family[m->family] > DYN_MAX_MEMBERS)
			return fail(c, "pool \"%s\": more than %d %s members", shown, DYN_MAX_MEMBERS,
			            m->family == 1   ? "IPv4"
			            : m->family == 2 ? "IPv6"
			                             : "name");
		m->weight = 1;
		p->n++;
		i++;
		while (i < s->n && (tok_is(&s->t[i], "weight") || tok_is(&s->t[i], "monitor"))) {
			char val[256] = "";
			if (i + 1 < s->n)
				tok_text(&s->t[i + 1], val, sizeof(val));
			if (tok_is(&s->t[i], "weight")) {
				if (i + 1 == s->n || !tok_uint(&s->t[i + 1], WEIGHT_MAX, &m->weight))
					return fail(c,
					            "pool \"%s\": member \"%s\": weight \"%s\": a whole number 0 to %u",
					            shown, at, val, WEIGHT_MAX);
				if (m->has_weight)
					return fail(c, "pool \"%s\": member \"%s\": weight given twice", shown, at);
				m->has_weight = true;
				p->weighted = true;
			} else {
				if (i + 1 == s->n)
					return fail(c, "pool \"%s\": member \"%s\": monitor needs a name", shown, at);
				if (m->monitor.p)
					return fail(c, "pool \"%s\": member \"%s\": monitor given twice", shown, at);
				if (m->family == FAMILY_NAME)
					return fail(c,
					            "pool \"%s\": member \"%s\": a name cannot be monitored (monitors "
					            "check addresses, and ternd does not resolve names)",
					            shown, at);
				m->monitor = s->t[i + 1];
			}
			i += 2;
		}
	}
	if (p->n && p->m[0].family == FAMILY_NAME)
		p->weighted = true; /* a name pool answers one CNAME record: one member, by weight */
	if (p->weighted) {
		uint64_t total = 0;
		for (int k = 0; k < p->n; k++)
			total += p->m[k].weight;
		if (total == 0)
			return fail(c, "pool \"%s\": every weight is 0 (no member could answer)", shown);
	}
	return 0;
}

static int stmt_list(struct comp *c, const struct stmt *s, int from, struct tok **out, int *n)
{
	if (from >= s->n)
		return fail(c, "needs at least one pool");
	*out = calloc((size_t)(s->n - from), sizeof(**out));
	if (!*out)
		return TERN_ENOMEM;
	*n = 0;
	for (int i = from; i < s->n; i++) {
		for (int k = 0; k < *n; k++)
			if (tok_eq(&(*out)[k], &s->t[i])) {
				char shown[256];
				tok_text(&s->t[i], shown, sizeof(shown));
				return fail(c, "pool \"%s\" is listed twice", shown);
			}
		(*out)[(*n)++] = s->t[i];
	}
	return 0;
}

/* ISO 3166-1 alpha-2 codes assigned (iso-codes 4.15), and XK (user-assigned; MaxMind's Kosovo). */
static const char countries[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCHCICKCLCMCNCOCRCU"
    "CVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIE"
    "ILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMT"
    "MUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSM"
    "SNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSXKYEYTZAZMZW";
static const char continents[] = "AFANASEUNAOCSA";

static bool code_listed(const char *list, const char code[2])
{
	for (const char *p = list; p[0] && p[1]; p += 2)
		if (p[0] == code[0] && p[1] == code[1])
			return true;
	return false;
}

bool dyn_code_known(bool continent, const char *code)
{
	return code && code[0] && code[1] && !code[2] && code_listed(continent ? continents : countries, code);
}

/* geo country CC POOL... | geo continent XX POOL... */
static int stmt_geo_code(struct comp *c, const struct stmt *s)
{
	bool country = tok_is(&s->t[1], "country");
	const char *what = country ? "country" : "continent";
	char shown[256];
	if (s->n < 4)
		return fail(c, "expected: geo %s %s POOL...", what, country ? "CC" : "XX");
	tok_text(&s->t[2], shown, sizeof(shown));
	struct pcode pc = {.kind = country ? CODE_COUNTRY : CODE_CONTINENT};
	const struct tok *t = &s->t[2];
	for (int i = 0; i < 2 && t->len == 2; i++)
		pc.code[i] = (char)(t->p[i] >= 'a' && t->p[i] <= 'z' ? t->p[i] - 32 : t->p[i]);
	if (t->len != 2 || !code_listed(country ? countries : continents, pc.code))
		return fail(c,
		            country ? "country \"%s\": not an ISO 3166-1 alpha-2 code (e.g. BR, NL, US)"
		                    : "continent \"%s\": expected one of AF AN AS EU NA OC SA",
		            shown);
	for (int i = 0; i < c->ncodes; i++)
		if (c->codes[i].kind == pc.kind && memcmp(c->codes[i].code, pc.code, 2) == 0)
			return fail(c, "%s %.2s is mapped twice", what, pc.code);
	struct pcode *grown = realloc(c->codes, (size_t)(c->ncodes + 1) * sizeof(*grown));
	if (!grown)
		return TERN_ENOMEM;
	c->codes = grown;
	c->codes[c->ncodes] = pc;
	int rc = stmt_list(c, s, 3, &c->codes[c->ncodes].pools, &c->codes[c->ncodes].n);
	c->ncodes++;
	return rc;
}

static int stmt_geo(struct comp *c, const struct stmt *s)
{
	if (s->n >= 2 && (tok_is(&s->t[1], "country") || tok_is(&s->t[1], "continent")))
		return stmt_geo_code(c, s);
	if (s->n < 3)
		return fail(c, "expected: geo SUBNET POOL... | geo country CC POOL... | geo continent XX POOL...");
	struct pentry e = {0};
	int rc = parse_subnet(c, &s->t[1], &e);
	if (rc < 0)
		return rc;
	for (int i = 0; i < c->nentries; i++)
		if (c->entries[i].family == e.family && c->entries[i].prefix == e.prefix &&
		    memcmp(c->entries[i].addr, e.addr, 16) == 0)
			return fail(c, "subnet %s is mapped twice", e.text);
	struct pentry *grown = realloc(c->entries, (size_t)(c->nentries + 1) * sizeof(*grown));
	if (!grown)
		return TERN_ENOMEM;
	c->entries = grown;
	c->entries[c->nentries] = e;
	rc = stmt_list(c, s, 2, &c->entries[c->nentries].pools, &c->entries[c->nentries].n);
	c->nentries++;
	return rc;
}

static int stmt_answer(struct comp *c, const struct stmt *s)
{
	if (c->answer)
		return fail(c, "a second answer statement (one resource has one answer list)");
	return stmt_list(c, s, 1, &c->answer, &c->nanswer);
}

/* scheme://host[:port]/path: the host is a DNS name, an IPv4 address or [IPv6]. */
static int parse_url(struct comp *c, const char *url, const char *shown, bool tls, struct dyn_monitor *m)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t sl = strlen(scheme);
	if (strncasecmp(url, scheme, sl) != 0)
		return fail(c, "URL \"%s\" does not start with %s", shown, scheme);
	const char *h = url + sl, *end = h;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return fail(c, "URL \"%s\": unclosed [ in the host", shown);
		end++;
	} else {
		while (*end && *end != ':' && *end != '/')
			end++;
	}
	size_t hl = (size_t)(end - h);
	if (hl == 0 || hl >= sizeof(m->host))
		return fail(c, "URL \"%s\": no host", shown);
	for (size_t i = 0; i < hl; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '-' || ch == '_' || ch == ':' || ch == '[' || ch == ']'))
			return fail(c,
			            "URL \"%s\": the host holds a character that is not a letter, digit, '.', '-', "
			            "'_', ':', '[' or ']'",
			            shown);
	}
	memcpy(m->host, h, hl);
	m->host[hl] = 0;
	m->port = tls ? 443 : 80;
	const char *p = end;
	if (*p == ':') {
		uint32_t port = 0;
		const char *d = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		struct tok pt = {(const uint8_t *)d, (uint8_t)(p - d)};
		if (p - d > 5 || !tok_uint(&pt, 65535, &port) || port == 0)
			return fail(c, "URL \"%s\": port must be 1 to 65535", shown);
		m->port = (uint16_t)port;
	}
	if (*p == 0)
		p = "/";
	if (*p != '/')
		return fail(c, "URL \"%s\": the path must start with '/'", shown);
	if (strlen(p) >= sizeof(m->path))
		return fail(c, "URL \"%s\": path longer than %zu octets", url, sizeof(m->path) - 1);
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return fail(c, "URL \"%s\": the path holds a space or control character", shown);
	snprintf(m->path, sizeof(m->path), "%s", p);
	return 0;
}

static int stmt_monitor(struct comp *c, const struct stmt *s)
{
	char shown[256], val[256] = "";
	if (s->n < 4)
		return fail(c, "expected: monitor NAME tcp PORT | monitor NAME http|https URL, then options");
	tok_text(&s->t[1], shown, sizeof(shown));
	if (!name_ok(&s->t[1]))
		return fail(c, "monitor name \"%s\": 1 to %d letters, digits, '-' or '_'", shown, DYN_NAME_MAX);
	if (find_monitor(c, &s->t[1]) >= 0)
		return fail(c, "monitor \"%s\" is defined twice", shown);
	struct pmonitor *pm = &c->mons[c->nmons];
	memset(pm, 0, sizeof(*pm)); /* the bytes are its identity for the health checker: no stray padding */
	pm->name = s->t[1];
	struct dyn_monitor *m = &pm->m;
	m->up = 1;
	m->down = 3;
	m->interval_ms = 10000;
	m->timeout_ms = 2000;
	tok_text(&s->t[3], val, sizeof(val));
	int i = 4;
	if (tok_is(&s->t[2], "tcp")) {
		uint32_t port;
		if (!tok_uint(&s->t[3], 65535, &port) || port == 0)
			return fail(c, "monitor \"%s\": port \"%s\": 1 to 65535", shown, val);
		m->kind = DYN_MON_TCP;
		m->port = (uint16_t)port;
	} else if (tok_is(&s->t[2], "http") || tok_is(&s->t[2], "https")) {
		bool tls = tok_is(&s->t[2], "https");
		char url[600];
		if (!tok_cstr(&s->t[3], url, sizeof(url)))
			return fail(c, "monitor \"%s\": URL \"%s\" does not parse", shown, val);
		m->kind = tls ? DYN_MON_HTTPS : DYN_MON_HTTP;
		m->status = 200;
		int rc = parse_url(c, url, val, tls, m);
		if (rc < 0)
			return rc;
	} else {
		tok_text(&s->t[2], val, sizeof(val));
		return fail(c, "monitor \"%s\": kind \"%s\": expected tcp, http or https", shown, val);
	}
	for (; i < s->n; i += 2) {
		char opt[256];
		tok_text(&s->t[i], opt, sizeof(opt));
		if (i + 1 == s->n)
			return fail(c, "monitor \"%s\": option \"%s\" needs a value", shown, opt);
		tok_text(&s->t[i + 1], val, sizeof(val));
		uint32_t v;
		bool http = m->kind != DYN_MON_TCP;
		if (tok_is(&s->t[i], "interval") || tok_is(&s->t[i], "timeout")) {
			if (!tok_uint(&s->t[i + 1], 3600, &v) || v == 0)
				return fail(c, "monitor \"%s\": %s \"%s\": 1 to 3600 seconds", shown, opt, val);
			*(tok_is(&s->t[i], "interval") ? &m->interval_ms : &m->timeout_ms) = v * 1000;
		} else if (tok_is(&s->t[i], "up") || tok_is(&s->t[i], "down")) {
			if (!tok_uint(&s->t[i + 1], 100, &v) || v == 0)
				return fail(c, "monitor \"%s\": %s \"%s\": 1 to 100 results in a row", shown, opt, val);
			*(tok_is(&s->t[i], "up") ? &m->up : &m->down) = (uint8_t)v;
		} else if (http && tok_is(&s->t[i], "status")) {
			if (!tok_uint(&s->t[i + 1], 599, &v) || v < 100)
				return fail(c, "monitor \"%s\": status \"%s\": 100 to 599", shown, val);
			m->status = (uint16_t)v;
		} else if (http && tok_is(&s->t[i], "body")) {
			if (!tok_cstr(&s->t[i + 1], m->body, sizeof(m->body)))
				return fail(c, "monitor \"%s\": body \"%s\": text without NUL", shown, val);
		} else {
			return fail(c, "monitor \"%s\": unknown option \"%s\"", shown, opt);
		}
	}
	if (m->timeout_ms > m->interval_ms)
		return fail(c, "monitor \"%s\": timeout %u s is longer than the interval %u s", shown,
		            m->timeout_ms / 1000, m->interval_ms / 1000);
	c->nmons++;
	return 0;
}

static int read_stmt(const uint8_t *rd, uint16_t len, struct stmt *s)
{
	s->n = 0;
	for (uint16_t o = 0; o < len;) {
		uint8_t l = rd[o];
		if (o + 1u + l > len || s->n == MAX_TOKENS)
			return TERN_EMALF;
		s->t[s->n++] = (struct tok){rd + o + 1, l};
		o = (uint16_t)(o + 1 + l);
	}
	return 0;
}

/* The statement being read, named in messages only when one is written. */
static void set_where(struct comp *c, const struct stmt *s)
{
	c->cur = s;
	c->where[0] = 0;
}

static void where_text(struct comp *c)
{
	const struct stmt *s = c->cur;
	size_t o = 0;
	if (!s) {
		snprintf(c->where, sizeof(c->where), "statement \"geo %s\"", c->cur_entry ? c->cur_entry->text : "");
		return;
	}
	for (int i = 0; i < s->n && o + 8 < sizeof(c->where); i++) {
		char t[256];
		tok_text(&s->t[i], t, sizeof(t));
		int n = snprintf(c->where + o, sizeof(c->where) - o, "%s%s", i ? " " : "statement \"", t);
		o = n < 0 ? o : o + (size_t)n;
	}
	if (o >= sizeof(c->where) - 8)
		o = sizeof(c->where) - 8, memcpy(c->where + o - 3, "...", 3);
	snprintf(c->where + o, sizeof(c->where) - o, "\"");
}

/* ---- writing the block ---- */

static int64_t put_list(struct out *o, struct comp *c, const struct tok *list, int n)
{
	uint16_t v[1 + MAX_POOLS];
	if (n > MAX_POOLS)
		return fail(c, "more than %d pools in a list", MAX_POOLS), -2;
	v[0] = (uint16_t)n;
	for (int i = 0; i < n; i++) {
		int idx;
		if (!find_pool(c, &list[i], &idx)) {
			char shown[256];
			tok_text(&list[i], shown, sizeof(shown));
			return fail(c, "pool \"%s\" is not defined", shown), -2;
		}
		v[1 + i] = (uint16_t)idx;
	}
	return dyn_out_put(o, v, (size_t)(1 + n) * 2, 2);
}

/* ---- address arithmetic on big-endian byte strings of a family's length ---- */

static int addr_cmp(const uint8_t *a, const uint8_t *b, int len)
{
	return memcmp(a, b, (size_t)len);
}

/* a + 1; false when a was the last address. */
static bool addr_inc(uint8_t *a, int len)
{
	for (int i = len - 1; i >= 0; i--)
		if (++a[i] != 0)
			return true;
	return false;
}

/* a - 1; false when a was the first address. */
static bool addr_dec(uint8_t *a, int len)
{
	for (int i = len - 1; i >= 0; i--)
		if (a[i]-- != 0)
			return true;
	return false;
}

/* The last address of prefix/len. */
static void prefix_last(const uint8_t *prefix, int plen, int len, uint8_t *out)
{
	memcpy(out, prefix, 16);
	for (int b = plen; b < len * 8; b++)
		out[b / 8] |= (uint8_t)(0x80 >> (b % 8));
}

struct open_entry {
	int index;
	uint8_t last[16];
};

static int entry_order(const void *pa, const void *pb, void *arg)
{
	const struct pentry *es = arg;
	const struct pentry *a = &es[*(const int *)pa], *b = &es[*(const int *)pb];
	int c = memcmp(a->addr, b->addr, 16);
	return c ? c : (a->prefix > b->prefix) - (a->prefix < b->prefix); /* the outer first */
}

struct region_list {
	struct cregion *v;
	size_t n, cap;
};

/* Adds the stretch [first, last] held by entry (-1: none), joined to the one before when the same
 * entry holds both. */
static int region_add(struct region_list *l, const uint8_t *first, const uint8_t *last, int entry, int len)
{
	if (l->n && l->v[l->n - 1].entry == entry) {
		struct cregion *prev = &l->v[l->n - 1];
		uint8_t above[16];
		memcpy(above, last, 16);
		prev->has_above = addr_inc(above, len);
		prev->above = u128_of(above);
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct cregion *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return TERN_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct cregion *r = &l->v[l->n++];
	uint8_t below[16], above[16];
	memset(r, 0, sizeof(*r));
	r->first = u128_of(first);
	memcpy(below, first, 16);
	r->has_below = addr_dec(below, len);
	r->below = u128_of(below);
	memcpy(above, last, 16);
	r->has_above = addr_inc(above, len);
	r->above = u128_of(above);
	r->entry = entry;
	return 0;
}

/* The scope geo_match() gives every address of stretch r (of a family of len octets) when the
 * stretch is one aligned prefix: all its addresses share their prefix with first, and the
 * addresses just outside differ from first within it. Stored plus one; 0 otherwise. */
static void region_fixed_scope(struct cregion *r, int len)
{
	int bits = len * 8, drop = 128 - bits;
	struct u128 last = {~0ull, ~0ull};
	if (r->has_above)
		last =
		    r->above.lo ? (struct u128){r->above.hi, r->above.lo - 1} : (struct u128){r->above.hi - 1, ~0ull};
	/* the stretch's first and last addresses as numbers of the family's width */
	struct u128 f = r->first, d = {r->first.hi ^ last.hi, r->first.lo ^ last.lo};
	if (drop >= 64) {
		d = (struct u128){0, d.hi >> (drop - 64)};
		f = (struct u128){0, f.hi >> (drop - 64)};
	}
	/* d must be all ones from some bit down (d & (d + 1) == 0), and first zero there */
	struct u128 d1 = {d.hi + (d.lo == ~0ull), d.lo + 1};
	if ((d.hi & d1.hi) || (d.lo & d1.lo) || (f.hi & d.hi) || (f.lo & d.lo))
		return;
	int sc = 0;
	if (r->has_below)
		sc = u128_common(r->first, r->below) + 1;
	if (r->has_above) {
		int above = u128_common(r->first, r->above) + 1;
		sc = above > sc ? above : sc;
	}
	r->fixed_scope = (uint8_t)((sc < bits ? sc : bits) + 1);
}

/* The IPv4 stretches' keys and their index (struct dyn_resource): as many buckets as stretches or
 * up to twice that (a power of two), as wide as spreads the stretches' first addresses over them. */
static int put_index4(struct out *o, const struct region_list *l, struct dyn_resource *h)
{
	uint32_t n = (uint32_t)l->n, nb = 1, shift = 0, *k = malloc(n * sizeof(*k));
	if (!k)
		return TERN_ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		k[i] = (uint32_t)(l->v[i].first.hi >> 32);
	uint32_t base = n > 1 ? k[1] : 0, span = n > 1 ? k[n - 1] - base : 0;
	while (nb < n)
		nb <<= 1;
	while (shift < 32 && ((uint64_t)span >> shift) >= nb)
		shift++;
	int64_t keys = dyn_out_put(o, k, n * sizeof(*k), 4), index = dyn_out_put(o, NULL, ((size_t)nb + 1) * 4, 4);
	if (keys < 0 || index < 0) {
		free(k);
		return TERN_ENOMEM;
	}
	uint32_t i = 0;
	for (uint32_t b = 0; b <= nb; b++) {
		uint64_t first = (uint64_t)base + ((uint64_t)b << shift);
		while (i + 1 < n && k[i + 1] <= first)
			i++;
		memcpy(o->b + index + (size_t)b * 4, &i, 4);
	}
	free(k);
	h->keys4 = (uint32_t)keys;
	h->index4 = (uint32_t)index;
	h->index4_n = nb;
	h->index4_base = base;
	h->index4_shift = (uint8_t)shift;
	return 0;
}

/* Cuts the family's address space by its entries (sorted, nested or apart as prefixes are) with a
 * stack of the entries open at the cursor, and writes the stretches into the block. */
static int put_regions(struct out *o, struct comp *c, uint8_t family, struct dyn_resource *h)
{
	int len = family == 1 ? 4 : 16, n = 0;
	int *idx = malloc((size_t)(c->nentries ? c->nentries : 1) * sizeof(*idx));
	struct open_entry *stack = malloc((size_t)(len * 8 + 1) * sizeof(*stack));
	struct region_list l = {0};
	int rc = TERN_ENOMEM;
	if (!idx || !stack)
		goto out;
	for (int i = 0; i < c->nentries; i++)
		if (c->entries[i].family == family)
			idx[n++] = i;
	rc = 0;
	if (n == 0)
		goto out;
	qsort_r(idx, (size_t)n, sizeof(*idx), entry_order, c->entries);
	uint8_t cur[16] = {0}, last[16];
	bool done = false; /* the cursor went past the last address */
	int depth = 0;
	for (int k = 0; k <= n && !done; k++) {
		const struct pentry *e = k < n ? &c->entries[idx[k]] : NULL;
		/* close the entries that end before e begins (all of them at the end) */
		while (depth && !done && (!e || addr_cmp(stack[depth - 1].last, e->addr, len) < 0)) {
			if ((rc = region_add(&l, cur, stack[depth - 1].last, stack[depth - 1].index, len)) < 0)
				goto out;
			memcpy(cur, stack[depth - 1].last, 16);
			done = !addr_inc(cur, len);
			depth--;
		}
		if (!e || done)
			break;
		if (addr_cmp(cur, e->addr, len) < 0) { /* a gap before e, held by the enclosing entry */
			memcpy(last, e->addr, 16);
			addr_dec(last, len);
			if ((rc = region_add(&l, cur, last, depth ? stack[depth - 1].index : -1, len)) < 0)
				goto out;
			memcpy(cur, e->addr, 16);
		}
		stack[depth].index = idx[k];
		prefix_last(e->addr, e->prefix, len, stack[depth].last);
		depth++;
	}
	if (!done) { /* the rest of the space, held by none */
		memset(last, 0xff, 16);
		memset(last + len, 0, (size_t)(16 - len));
		if ((rc = region_add(&l, cur, last, -1, len)) < 0)
			goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct cregion *g = &l.v[i];
		region_fixed_scope(g, len);
		g->fixed[0] = g->fixed[1] = -1;
		if (g->entry >= 0) { /* the entries are in the block already */
			const struct centry *e =
			    (const struct centry *)(const void *)(o->b + h->entries) + (size_t)g->entry;
			memcpy(g->fixed, e->fixed, sizeof(g->fixed));
		}
	}
	int64_t at = dyn_out_put(o, l.v, l.n * sizeof(*l.v), 8);
	if (at < 0) {
		rc = TERN_ENOMEM;
		goto out;
	}
	h->regions[family - 1] = (uint32_t)at;
	h->nregions[family - 1] = (uint32_t)l.n;
	if (family == 1 && (rc = put_index4(o, &l, h)) < 0)
		goto out;
out:
	free(idx);
	free(stack);
	free(l.v);
	return rc;
}

/* A resource answers CNAME (every pool holds names) or addresses (none does), never both. */
static int check_kinds(struct comp *c, struct dyn_resource *h)
{
	int names = -1, addrs = -1;
	for (int i = 0; i < c->npools; i++) {
		if (c->pools[i].n && c->pools[i].m[0].family == FAMILY_NAME)
			names = names < 0 ? i : names;
		else
			addrs = addrs < 0 ? i : addrs;
	}
	if (names >= 0 && addrs >= 0) {
		char a[256], b[256];
		tok_text(&c->pools[names].name, a, sizeof(a));
		tok_text(&c->pools[addrs].name, b, sizeof(b));
		snprintf(c->where, sizeof(c->where), "statement \"pool %.80s ...\"", a);
		return fail(c, "pool \"%s\" holds names, pool \"%s\" addresses: a resource answers CNAME or addresses",
		            a, b);
	}
	h->head.cname = names >= 0;
	return 0;
}

static int build(struct comp *c, struct out *o)
{
	struct dyn_resource h = {.npools = (uint16_t)c->npools, .nmonitors = (uint16_t)c->nmons};
	if (dyn_out_put(o, &h, sizeof(h), 8) < 0)
		return TERN_ENOMEM;
	/* monitors */
	int64_t at = dyn_out_put(o, NULL, (size_t)c->nmons * sizeof(struct cmonitor), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.monitors = (uint32_t)at;
	for (int i = 0; i < c->nmons; i++) {
		char nm[DYN_NAME_MAX + 1];
		tok_cstr(&c->mons[i].name, nm, sizeof(nm));
		int64_t name = dyn_out_put(o, nm, strlen(nm) + 1, 1);
		if (name < 0)
			return TERN_ENOMEM;
		struct cmonitor cm;
		memset(&cm, 0, sizeof(cm));
		memcpy(&cm.m, &c->mons[i].m, sizeof(cm.m));
		cm.name = (uint32_t)name;
		memcpy(o->b + h.monitors + (size_t)i * sizeof(cm), &cm, sizeof(cm));
	}
	/* pools, and their members by family */
	at = dyn_out_put(o, NULL, (size_t)c->npools * sizeof(struct cpool), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.pools = (uint32_t)at;
	size_t nmembers = 0;
	for (int i = 0; i < c->npools; i++)
		nmembers += (size_t)c->pools[i].n;
	at = dyn_out_put(o, NULL, nmembers * sizeof(struct cmember), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.members = (uint32_t)at;
	h.nmembers = (uint32_t)nmembers;
	int rc = check_kinds(c, &h);
	if (rc < 0)
		return rc;
	size_t mi = 0;
	for (int i = 0; i < c->npools; i++) {
		const struct ppool *pp = &c->pools[i];
		struct cpool cp = {.weighted = pp->weighted, .always_live = {1, 1}};
		char nm[DYN_NAME_MAX + 1];
		tok_cstr(&pp->name, nm, sizeof(nm));
		int64_t name = dyn_out_put(o, nm, strlen(nm) + 1, 1);
		if (name < 0)
			return TERN_ENOMEM;
		cp.name = (uint32_t)name;
		for (int f = 0; f < 2; f++) {
			uint8_t family = (uint8_t)(f + 1), alen = f ? 16 : 4;
			cp.first[f] = (uint32_t)mi;
			int64_t rd = dyn_out_put(o, NULL, 0, 2);
			if (rd < 0)
				return TERN_ENOMEM;
			cp.rdata[f] = (uint32_t)rd;
			for (int k = 0; k < pp->n; k++) {
				const struct pmember *pm = &pp->m[k];
				if (pm->family != family && !(f == 0 && pm->family == FAMILY_NAME))
					continue;
				uint8_t rec[2 + NAME_MAXLEN] = {0, alen};
				size_t rlen = alen;
				if (pm->family == FAMILY_NAME) { /* a CNAME record: the target */
					rlen = name_len(pm->name);
					rec[1] = (uint8_t)rlen;
					memcpy(rec + 2, pm->name, rlen);
				} else {
					memcpy(rec + 2, pm->addr, alen);
				}
				int64_t r = dyn_out_put(o, rec, 2u + rlen, 1);
				if (r < 0)
					return TERN_ENOMEM;
				struct cmember cm = {
				    .weight = pm->weight, .monitor = -1, .rec = (uint32_t)r, .family = pm->family};
				memcpy(cm.addr, pm->addr, 16);
				if (pm->monitor.p && (cm.monitor = find_monitor(c, &pm->monitor)) < 0) {
					char shown[256], at_text[256];
					tok_text(&pm->monitor, shown, sizeof(shown));
					tok_text(&pp->name, at_text, sizeof(at_text));
					snprintf(c->where, sizeof(c->where), "statement \"pool %.80s ...\"", at_text);
					return fail(c, "pool \"%s\": monitor \"%s\" is not defined", at_text, shown);
				}
				memcpy(o->b + h.members + mi * sizeof(cm), &cm, sizeof(cm));
				mi++;
				cp.count[f]++;
				if (cm.monitor >= 0 || (pp->weighted && cm.weight == 0))
					cp.always_live[f] = 0;
			}
			cp.rdata_size[f] = (uint32_t)(o->n - cp.rdata[f]);
		}
		memcpy(o->b + h.pools + (size_t)i * sizeof(cp), &cp, sizeof(cp));
	}
	/* lists and entries */
	snprintf(c->where, sizeof(c->where), "statement \"answer\"");
	if (!c->answer)
		return fail(c, "missing (answer POOL... names the default pool list)");
	at = put_list(o, c, c->answer, c->nanswer);
	if (at < 0)
		return at == -2 ? TERN_EINVAL : TERN_ENOMEM;
	h.answer_list = (uint32_t)at;
	h.nentries = (uint32_t)c->nentries;
	for (int i = 0; i < c->npools; i++)
		h.head.weighted |= c->pools[i].weighted;
	at = dyn_out_put(o, NULL, (size_t)c->nentries * sizeof(struct centry), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.entries = (uint32_t)at;
	for (int i = 0; i < c->nentries; i++) {
		const struct pentry *pe = &c->entries[i];
		c->cur = NULL;
		c->cur_entry = pe;
		c->where[0] = 0;
		int64_t l = put_list(o, c, pe->pools, pe->n);
		if (l < 0)
			return l == -2 ? TERN_EINVAL : TERN_ENOMEM;
		struct centry ce = {.family = pe->family, .prefix = pe->prefix, .list = (uint32_t)l, .fixed = {-1, -1}};
		const uint16_t *el = (const uint16_t *)(const void *)(o->b + l);
		for (uint16_t k = 0; k < el[0]; k++) {
			const struct cpool *cp = (const struct cpool *)(const void *)(o->b + h.pools) + el[1 + k];
			for (int f = 0; f < 2; f++) {
				if (cp->count[f] && !ce.serves[f] && cp->always_live[f] && !cp->weighted)
					ce.fixed[f] = el[1 + k];
				ce.serves[f] |= cp->count[f] > 0;
			}
		}
		memcpy(ce.addr, pe->addr, 16);
		memcpy(o->b + h.entries + (size_t)i * sizeof(ce), &ce, sizeof(ce));
		h.entry_families[pe->family - 1] = 1;
	}
	for (uint8_t f = 1; f <= 2; f++) {
		int rc = put_regions(o, c, f, &h);
		if (rc < 0)
			return rc;
	}
	h.ncodes = (uint32_t)c->ncodes;
	h.head.external = c->nmons > 0 || c->ncodes > 0;
	at = dyn_out_put(o, NULL, (size_t)c->ncodes * sizeof(struct ccode), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.codes = (uint32_t)at;
	uint32_t ci = 0;
	for (uint8_t kind = CODE_COUNTRY; kind <= CODE_CONTINENT; kind++) {
		for (int i = 0; i < c->ncodes; i++) {
			const struct pcode *pc = &c->codes[i];
			if (pc->kind != kind)
				continue;
			snprintf(c->where, sizeof(c->where), "statement \"geo %s %.2s\"",
			         kind == CODE_COUNTRY ? "country" : "continent", pc->code);
			int64_t l = put_list(o, c, pc->pools, pc->n);
			if (l < 0)
				return l == -2 ? TERN_EINVAL : TERN_ENOMEM;
			struct ccode cc = {.kind = kind, .code = {pc->code[0], pc->code[1]}, .list = (uint32_t)l};
			memcpy(o->b + h.codes + (size_t)ci++ * sizeof(cc), &cc, sizeof(cc));
		}
	}
	/* which families the answer list serves */
	const uint16_t *al = (const uint16_t *)(const void *)(o->b + h.answer_list);
	for (uint16_t i = 0; i < al[0]; i++) {
		const struct cpool *cp = (const struct cpool *)(const void *)(o->b + h.pools) + al[1 + i];
		h.head.serves[0] |= cp->count[0] > 0;
		h.head.serves[1] |= cp->count[1] > 0;
	}
	if (!h.head.serves[0] && !h.head.serves[1])
		return fail(c, "the answer list's pools have no members");
	int src = dyn_build_signed(o, &h);
	if (src < 0)
		return src;
	if (dyn_out_put(o, NULL, 0, 8) < 0)
		return TERN_ENOMEM;
	h.head.size = (uint32_t)o->n;
	memcpy(o->b, &h, sizeof(h));
	return 0;
}

static void comp_free(struct comp *c)
{
	for (int i = 0; i < c->npools; i++)
		free(c->pools[i].m);
	for (int i = 0; i < c->nentries; i++)
		free(c->entries[i].pools);
	for (int i = 0; i < c->ncodes; i++)
		free(c->codes[i].pools);
	free(c->codes);
	free(c->pools);
	free(c->mons);
	free(c->entries);
	free(c->answer);
}

int dyn_compile(const uint8_t *rdata, size_t rdata_size, uint16_t count, struct dyn_resource **out, size_t *size,
                char *err, size_t errlen)
{
	struct comp c = {.err = err, .errlen = errlen};
	struct stmt *s = malloc(sizeof(*s));
	struct out o = {0};
	int rc = TERN_ENOMEM;
	c.pools = calloc(count == 0 ? 1 : count < MAX_POOLS ? count : MAX_POOLS, sizeof(*c.pools));
	c.mons = calloc(count ? count : 1, sizeof(*c.mons));
	if (!s || !c.pools || !c.mons)
		goto done;
	/* monitors first, so pools may name them in any order; then everything else */
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *rec = rdata, *end = rdata + rdata_size;
		for (uint16_t r = 0; r < count; r++, rec = rdata_next(rec)) {
			if (rec + 2 > end || rdata_next(rec) > end ||
			    read_stmt(rdata_bytes(rec), rdata_len(rec), s) < 0) {
				snprintf(err, errlen, "DYN record %u: not a sequence of character-strings",
				         (unsigned)r + 1u);
				rc = TERN_EINVAL;
				goto done;
			}
			if (s->n == 0) {
				snprintf(err, errlen, "DYN record %u: an empty statement", (unsigned)r + 1u);
				rc = TERN_EINVAL;
				goto done;
			}
			set_where(&c, s);
			bool mon = tok_is(&s->t[0], "monitor");
			if (mon != (pass == 0))
				continue;
			if (mon)
				rc = stmt_monitor(&c, s);
			else if (tok_is(&s->t[0], "pool"))
				rc = stmt_pool(&c, s);
			else if (tok_is(&s->t[0], "answer"))
				rc = stmt_answer(&c, s);
			else if (tok_is(&s->t[0], "geo"))
				rc = stmt_geo(&c, s);
			else
				rc = fail(&c, "unknown statement; expected pool, answer, geo or monitor");
			if (rc < 0)
				goto done;
		}
	}
	rc = build(&c, &o);
	if (rc == 0) {
		*out = (struct dyn_resource *)(void *)o.b;
		*size = o.n;
		o.b = NULL;
	}
done:
	if (rc == TERN_ENOMEM)
		snprintf(err, errlen, "out of memory compiling a DYN resource");
	free(o.b);
	free(s);
	comp_free(&c);
	return rc;
}

int64_t dyn_out_put(struct out *o, const void *p, size_t len, size_t align)
{
	size_t at = (o->n + align - 1) & ~(align - 1);
	if (at + len > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (cap < at + len)
			cap *= 2;
		uint8_t *b = realloc(o->b, cap);
		if (!b)
			return -1;
		memset(b + o->cap, 0, cap - o->cap);
		o->b = b;
		o->cap = cap;
	}
	if (p)
		memcpy(o->b + at, p, len);
	o->n = at + len;
	return (int64_t)at;
}
