/* Dynamic answers: DYN statements compiled into one position-independent block, and the selection
 * of a client's answer from it (the model is described in dyn.h). */
#include "lib/dyn.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

#define MAX_TOKENS 512
#define MAX_POOLS 1024
#define WEIGHT_MAX 1000000u
#define FAMILY_NAME 3 /* a name pool's member: a CNAME target, kept in the IPv4 slot of a CNAME resource */

/* The compiled block: this header, then arrays at the offsets it gives (from the block's start). */
struct dyn_resource {
	struct dyn_head head; /* size, serves, weighted (dyn.h) */
	uint16_t npools, nmonitors;
	uint32_t nentries, nmembers;
	uint32_t answer_list; /* offset of the answer list: uint16 n, then n pool indexes */
	uint32_t pools, members, monitors, entries; /* offsets of the arrays */
	uint8_t entry_families[2]; /* geo entries for IPv4 / IPv6 clients */
	uint32_t regions[2], nregions[2]; /* each family's address space cut by the entries (struct cregion) */
	/* IPv4 stretches, found in two steps: index4_n + 1 buckets (uint32_t at index4) of 2^index4_shift
	 * addresses each from index4_base (the second stretch's first address), each the number of the
	 * last stretch starting at or before the bucket's first address; then the stretches between a
	 * bucket's and the next's, by a binary search over their first addresses (uint32_t at keys4) */
	uint32_t keys4, index4, index4_n, index4_base;
	uint8_t index4_shift;
	uint32_t ncodes, codes; /* country and continent entries: count, offset of the array */
	/* the RRsets signed ahead (dyn.h, "Signed zones"), per family: nsigned[f] struct cset at
	 * signed_sets[f], in canonical order; and nchoices struct cchoice at choices, sorted */
	uint32_t signed_sets[2], nsigned[2];
	uint32_t choices, nchoices;
};

struct cpool {
	uint32_t name; /* offset of a NUL-terminated name */
	uint32_t first[2]; /* index of the first member of each family (members of a family are adjacent) */
	uint16_t count[2];
	uint32_t rdata[2]; /* offset of the family's records (length, address), in member order */
	uint32_t rdata_size[2];
	uint8_t weighted;
	uint8_t always_live[2]; /* no member of the family has a monitor or weighs 0: all are live */
};

struct cmember {
	uint32_t weight;
	int32_t monitor; /* index into monitors, or -1 */
	uint32_t rec; /* offset of its record in its pool's RDATA */
	uint8_t family; /* 1, 2 or FAMILY_NAME */
	uint8_t addr[16];
};

struct cmonitor {
	struct dyn_monitor m;
	uint32_t name;
};

struct centry {
	uint8_t family, prefix;
	uint8_t addr[16];
	uint8_t serves[2]; /* the list has members of IPv4 / IPv6 (else it stands aside for the answer list) */
	uint32_t list; /* offset: uint16 n, then n pool indexes */
};

/* A stretch of one family's address space where one entry (or none) holds every address: the
 * entries' prefixes cut the space into such stretches, sorted, so a client's entry is a binary
 * search away; below/above are the addresses just outside, which bound the ECS scope. */
struct u128 {
	uint64_t hi, lo; /* an address as a number: IPv4 in the top 32 bits of hi */
};

struct cregion {
	struct u128 first; /* the stretch's first address */
	struct u128 below, above; /* the addresses before first and after the last */
	int32_t entry; /* -1: none */
	uint8_t has_below, has_above;
};

static struct u128 u128_of(const uint8_t *a)
{
	struct u128 v;
	memcpy(&v.hi, a, 8);
	memcpy(&v.lo, a + 8, 8);
	v.hi = be64toh(v.hi);
	v.lo = be64toh(v.lo);
	return v;
}

enum { CODE_COUNTRY = 1, CODE_CONTINENT = 2 };

/* A country or continent entry: countries first, then continents (the order they are tried). */
struct ccode {
	uint8_t kind; /* CODE_COUNTRY or CODE_CONTINENT */
	char code[2]; /* upper case */
	uint32_t list;
};

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

static int bits_of(uint8_t family)
{
	return family == 1 ? 32 : 128;
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

struct out {
	uint8_t *b;
	size_t n, cap;
};

static int64_t out_put(struct out *o, const void *p, size_t len, size_t align)
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
	return out_put(o, v, (size_t)(1 + n) * 2, 2);
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
	int64_t keys = out_put(o, k, n * sizeof(*k), 4), index = out_put(o, NULL, ((size_t)nb + 1) * 4, 4);
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
	int64_t at = out_put(o, l.v, l.n * sizeof(*l.v), 8);
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

static int build_signed(struct out *o, struct dyn_resource *h);

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
	if (out_put(o, &h, sizeof(h), 8) < 0)
		return TERN_ENOMEM;
	/* monitors */
	int64_t at = out_put(o, NULL, (size_t)c->nmons * sizeof(struct cmonitor), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.monitors = (uint32_t)at;
	for (int i = 0; i < c->nmons; i++) {
		char nm[DYN_NAME_MAX + 1];
		tok_cstr(&c->mons[i].name, nm, sizeof(nm));
		int64_t name = out_put(o, nm, strlen(nm) + 1, 1);
		if (name < 0)
			return TERN_ENOMEM;
		struct cmonitor cm;
		memset(&cm, 0, sizeof(cm));
		memcpy(&cm.m, &c->mons[i].m, sizeof(cm.m));
		cm.name = (uint32_t)name;
		memcpy(o->b + h.monitors + (size_t)i * sizeof(cm), &cm, sizeof(cm));
	}
	/* pools, and their members by family */
	at = out_put(o, NULL, (size_t)c->npools * sizeof(struct cpool), 8);
	if (at < 0)
		return TERN_ENOMEM;
	h.pools = (uint32_t)at;
	size_t nmembers = 0;
	for (int i = 0; i < c->npools; i++)
		nmembers += (size_t)c->pools[i].n;
	at = out_put(o, NULL, nmembers * sizeof(struct cmember), 8);
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
		int64_t name = out_put(o, nm, strlen(nm) + 1, 1);
		if (name < 0)
			return TERN_ENOMEM;
		cp.name = (uint32_t)name;
		for (int f = 0; f < 2; f++) {
			uint8_t family = (uint8_t)(f + 1), alen = f ? 16 : 4;
			cp.first[f] = (uint32_t)mi;
			int64_t rd = out_put(o, NULL, 0, 2);
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
				int64_t r = out_put(o, rec, 2u + rlen, 1);
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
	at = out_put(o, NULL, (size_t)c->nentries * sizeof(struct centry), 8);
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
		struct centry ce = {.family = pe->family, .prefix = pe->prefix, .list = (uint32_t)l};
		const uint16_t *el = (const uint16_t *)(const void *)(o->b + l);
		for (uint16_t k = 0; k < el[0]; k++) {
			const struct cpool *cp = (const struct cpool *)(const void *)(o->b + h.pools) + el[1 + k];
			ce.serves[0] |= cp->count[0] > 0;
			ce.serves[1] |= cp->count[1] > 0;
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
	at = out_put(o, NULL, (size_t)c->ncodes * sizeof(struct ccode), 8);
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
	int src = build_signed(o, &h);
	if (src < 0)
		return src;
	if (out_put(o, NULL, 0, 8) < 0)
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

/* ---- reading the block ---- */

static const struct cpool *pool_at(const struct dyn_resource *r, int i)
{
	return (const struct cpool *)(const void *)((const uint8_t *)r + r->pools) + i;
}

static const struct cmember *member_at(const struct dyn_resource *r, uint32_t i)
{
	return (const struct cmember *)(const void *)((const uint8_t *)r + r->members) + i;
}

static const struct cmonitor *monitor_at(const struct dyn_resource *r, int32_t i)
{
	return (const struct cmonitor *)(const void *)((const uint8_t *)r + r->monitors) + i;
}

static const struct centry *entry_at(const struct dyn_resource *r, uint32_t i)
{
	return (const struct centry *)(const void *)((const uint8_t *)r + r->entries) + i;
}

static const struct ccode *code_at(const struct dyn_resource *r, uint32_t i)
{
	return (const struct ccode *)(const void *)((const uint8_t *)r + r->codes) + i;
}

static const uint16_t *list_at(const struct dyn_resource *r, uint32_t off)
{
	return (const uint16_t *)(const void *)((const uint8_t *)r + off);
}

size_t dyn_resource_size(const struct dyn_resource *r)
{
	return r->head.size;
}

size_t dyn_rrset_bytes(const struct rrset *rs)
{
	return rs->dyn ? dyn_trailer_offset(rs) + dyn_rrset_resource(rs)->head.size : rs->rdata_size;
}

/* Leading bits two addresses share. */
static int u128_common(struct u128 a, struct u128 b)
{
	uint64_t x = a.hi ^ b.hi;
	if (x)
		return __builtin_clzll(x);
	x = a.lo ^ b.lo;
	return x ? 64 + __builtin_clzll(x) : 128;
}

static bool u128_le(struct u128 a, struct u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* The client's address with the bits past what it told as zero (RFC 7871 6). */
static void client_addr(const struct dyn_client *cl, uint8_t addr[16])
{
	int bits = bits_of(cl->family), known = cl->prefix < bits ? cl->prefix : bits;
	memset(addr, 0, 16);
	for (int b = 0; b < known; b++)
		addr[b / 8] |= (uint8_t)(cl->addr[b / 8] & (0x80 >> (b % 8)));
}

/* The geo entry for the client (-1: none), and the scope that choice holds for (dyn.h): the
 * stretch holding the client's address, and the shortest prefix around the address that leaves
 * out the addresses just outside the stretch. */
static inline __attribute__((always_inline)) int64_t geo_match(const struct dyn_resource *r,
                                                               const struct dyn_client *cl, uint8_t *scope)
{
	*scope = 0;
	unsigned fam = cl ? cl->family - 1u : 2; /* 0 = IPv4, 1 = IPv6, else none */
	if (fam > 1 || !r->entry_families[fam])
		return -1;
	int f = (int)fam, bits = bits_of(cl->family);
	int known = cl->prefix < bits ? cl->prefix : bits;
	/* the address as a number, bits past what the client told zero (RFC 7871 6) */
	struct u128 a = u128_of(cl->addr);
	if (f == 0)
		a.hi &= 0xffffffff00000000ull, a.lo = 0;
	if (known == 0)
		a.hi = a.lo = 0;
	else if (known <= 64)
		a.hi &= ~0ull << (64 - known), a.lo = 0;
	else if (known < 128)
		a.lo &= ~0ull << (128 - known);
	const struct cregion *v = (const struct cregion *)(const void *)((const uint8_t *)r + r->regions[f]);
	uint32_t n = r->nregions[f]; /* the last stretch whose first address is <= a: it exists, the first
	                              * stretch starts at the family's first address */
	if (f == 0) { /* the bucket, then the stretches it spans (struct dyn_resource) */
		const uint32_t *keys = (const uint32_t *)(const void *)((const uint8_t *)r + r->keys4);
		const uint32_t *index = (const uint32_t *)(const void *)((const uint8_t *)r + r->index4);
		uint32_t a4 = (uint32_t)(a.hi >> 32), lo = 0;
		if (a4 < r->index4_base) { /* the first stretch */
			n = 1;
		} else {
			uint64_t b = (uint64_t)(a4 - r->index4_base) >> r->index4_shift;
			if (b < r->index4_n) { /* between the bucket's stretch and the next bucket's */
				lo = index[b];
				n = index[b + 1] - lo + 1;
			} else { /* past the last bucket: the last stretch */
				lo = n - 1;
				n = 1;
			}
		}
		const uint32_t *k = keys + lo;
		while (n > 1) {
			uint32_t half = n / 2;
			k = k[half] <= a4 ? k + half : k;
			n -= half;
		}
		v += k - keys;
	} else {
		while (n > 1) {
			uint32_t half = n / 2;
			v = u128_le(v[half].first, a) ? v + half : v;
			n -= half;
		}
	}
	const struct cregion *g = v;
	int sc = 0;
	if (g->has_below)
		sc = u128_common(a, g->below) + 1;
	if (g->has_above) {
		int above = u128_common(a, g->above) + 1;
		sc = above > sc ? above : sc;
	}
	*scope = (uint8_t)(sc < bits ? sc : bits);
	return g->entry;
}

struct pick {
	const struct dyn_resource *r;
	int f; /* 0 = IPv4, 1 = IPv6 */
	dyn_health_fn health;
	void *ctx;
};

static bool member_live(const struct pick *p, const struct cpool *cp, const struct cmember *m)
{
	if (cp->weighted && m->weight == 0)
		return false; /* drained */
	if (m->monitor < 0 || !p->health)
		return true;
	return p->health(p->ctx, &monitor_at(p->r, m->monitor)->m, m->family, m->addr);
}

/* Members of the family live in a pool (pool_live() tests always_live inline first). */
static uint16_t pool_count_live(const struct pick *p, const struct cpool *cp)
{
	uint16_t live = 0;
	for (uint16_t k = 0; k < cp->count[p->f]; k++)
		live += member_live(p, cp, member_at(p->r, cp->first[p->f] + k));
	return live;
}

static inline uint16_t pool_live(const struct pick *p, const struct cpool *cp)
{
	return cp->always_live[p->f] ? cp->count[p->f] : pool_count_live(p, cp);
}

static void one_record(const struct dyn_resource *r, const struct cmember *m, struct rrset *out)
{
	out->count = 1;
	out->rdata = (const uint8_t *)r + m->rec;
	out->rdata_size = 2u + rdata_len(out->rdata); /* an address, or a CNAME resource's target */
}

/* One member by weight among those live (all, for the fallback). */
static void pick_weighted(const struct pick *p, const struct cpool *cp, bool all, uint32_t rnd, struct rrset *out)
{
	uint64_t total = 0;
	const struct cmember *last = NULL;
	for (uint16_t k = 0; k < cp->count[p->f]; k++) {
		const struct cmember *m = member_at(p->r, cp->first[p->f] + k);
		if (m->weight && (all || member_live(p, cp, m)))
			total += m->weight;
	}
	if (total == 0) { /* the fallback over a family whose members all weigh 0: the first member */
		one_record(p->r, member_at(p->r, cp->first[p->f]), out);
		return;
	}
	uint64_t target = ((uint64_t)rnd * total) >> 32; /* < total: some member takes it */
	last = member_at(p->r, cp->first[p->f]);
	for (uint16_t k = 0; k < cp->count[p->f]; k++) {
		const struct cmember *m = member_at(p->r, cp->first[p->f] + k);
		if (!m->weight || !(all || member_live(p, cp, m)))
			continue;
		last = m;
		if (target < m->weight)
			break;
		target -= m->weight;
	}
	one_record(p->r, last, out);
}

bool dyn_uses_geo(const struct dyn_resource *r)
{
	return r->ncodes > 0;
}

/* Whether a pool list has members of family f (else it stands aside for the next rule). */
static bool list_serves(const struct dyn_resource *r, const uint16_t *list, int f)
{
	for (uint16_t i = 0; i < list[0]; i++)
		if (pool_at(r, list[1 + i])->count[f])
			return true;
	return false;
}

/* Rules (b) and (c) of dyn.h: the country entry, then the continent entry, the database gives
 * the client; -1 when none applies. The scope grows to the database network's prefix. */
static int64_t code_match(const struct dyn_resource *r, const struct dyn_client *cl, int f, dyn_geo_fn geo, void *ctx,
                          uint8_t *scope, struct dyn_trace *trace)
{
	if (!r->ncodes || !geo || !cl || (cl->family != 1 && cl->family != 2))
		return -1;
	uint8_t addr[16];
	struct dyn_geo g;
	memset(&g, 0, sizeof(g));
	client_addr(cl, addr);
	geo(ctx, cl->family, addr, &g);
	uint8_t max = (uint8_t)bits_of(cl->family);
	if (g.prefix > max)
		g.prefix = max;
	if (g.prefix > *scope)
		*scope = g.prefix;
	if (trace) {
		trace->geo_asked = true;
		trace->geo = g;
	}
	if (!g.found)
		return -1;
	for (uint32_t i = 0; i < r->ncodes; i++) {
		const struct ccode *c = code_at(r, i);
		const char *want = c->kind == CODE_COUNTRY ? g.country : g.continent;
		if (want[0] == c->code[0] && want[1] == c->code[1] && want[0] && list_serves(r, list_at(r, c->list), f))
			return i; /* countries come first in the array */
	}
	return -1;
}

int dyn_select(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
               dyn_health_fn health, void *health_ctx, uint32_t rnd, uint8_t *scratch, struct rrset *out,
               uint8_t *scope, struct dyn_trace *trace)
{
	return dyn_select_geo(r, type, ttl, client, health, health_ctx, NULL, NULL, rnd, scratch, out, scope, trace);
}

/* dyn_select_geo(), inlined twice: into dyn_choose() (the answer path, where every test of trace
 * folds away) and into dyn_select_geo() itself (explanations, tools). */
static inline __attribute__((always_inline)) int select_in(const struct dyn_resource *r, uint16_t type, uint32_t ttl,
                                                           const struct dyn_client *client, dyn_health_fn health,
                                                           void *health_ctx, dyn_geo_fn geo, void *geo_ctx,
                                                           uint32_t rnd, uint8_t *scratch, struct rrset *out,
                                                           uint8_t *scope, struct dyn_trace *trace)
{
	if (!dyn_serves(r, type))
		return TERN_ENOTFOUND;
	struct pick p = {r, type == RR_AAAA, health, health_ctx};
	if (trace)
		memset(trace, 0, sizeof(*trace));
	int64_t entry = geo_match(r, client, scope), code = -1;
	const uint16_t *list = NULL;
	if (entry >= 0 && entry_at(r, (uint32_t)entry)->serves[p.f]) /* else the next rule answers */
		list = list_at(r, entry_at(r, (uint32_t)entry)->list);
	else if ((code = code_match(r, client, p.f, geo, geo_ctx, scope, trace)) >= 0)
		list = list_at(r, code_at(r, (uint32_t)code)->list);
	else
		list = list_at(r, r->answer_list);
	if (trace) {
		trace->entry = code >= 0 ? (int)(r->nentries + (uint32_t)code) : (int)entry;
		trace->scope = *scope;
		trace->chosen = -1;
		if (code >= 0) {
			const struct ccode *c = code_at(r, (uint32_t)code);
			snprintf(trace->entry_text, sizeof(trace->entry_text), "%s %.2s",
			         c->kind == CODE_COUNTRY ? "country" : "continent", c->code);
		} else if (entry >= 0) {
			const struct centry *e = entry_at(r, (uint32_t)entry);
			char a[INET6_ADDRSTRLEN];
			inet_ntop(e->family == 1 ? AF_INET : AF_INET6, e->addr, a, sizeof(a));
			snprintf(trace->entry_text, sizeof(trace->entry_text), "%s/%u", a, e->prefix);
		}
	}
	*out = (struct rrset){.type = type, .ttl = ttl};
	const struct cpool *chosen = NULL, *first = NULL;
	uint16_t live = 0;
	for (uint16_t i = 0; i < list[0]; i++) {
		const struct cpool *cp = pool_at(r, list[1 + i]);
		uint16_t l = cp->count[p.f] ? pool_live(&p, cp) : 0;
		if (trace && i < DYN_TRACE_POOLS) {
			struct dyn_trace_pool *tp = &trace->pools[trace->npools++];
			snprintf(tp->name, sizeof(tp->name), "%s", (const char *)r + cp->name);
			tp->members = cp->count[p.f];
			tp->live = l;
		}
		if (!first && cp->count[p.f])
			first = cp;
		if (l && !chosen) {
			chosen = cp;
			live = l;
			if (trace)
				trace->chosen = i;
			if (!trace)
				break;
		}
	}
	bool fallback = !chosen;
	if (fallback) {
		if (!first) /* cannot happen: dyn_serves() saw members of the family in the answer list */
			return TERN_ENOTFOUND;
		chosen = first;
		live = chosen->count[p.f];
	}
	if (trace) {
		trace->fallback = fallback;
		trace->weighted = chosen->weighted;
	}
	if (chosen->weighted) {
		pick_weighted(&p, chosen, fallback, rnd, out);
		return 0;
	}
	if (fallback || live == chosen->count[p.f]) {
		out->count = chosen->count[p.f];
		out->rdata = (const uint8_t *)r + chosen->rdata[p.f];
		out->rdata_size = chosen->rdata_size[p.f];
		return 0;
	}
	size_t n = 0;
	for (uint16_t k = 0; k < chosen->count[p.f]; k++) {
		const struct cmember *m = member_at(r, chosen->first[p.f] + k);
		if (!member_live(&p, chosen, m))
			continue;
		size_t rl = m->family == 1 ? 6 : 18;
		memcpy(scratch + n, (const uint8_t *)r + m->rec, rl);
		n += rl;
		out->count++;
	}
	out->rdata = scratch;
	out->rdata_size = (uint32_t)n;
	return 0;
}

int dyn_select_geo(const struct dyn_resource *r, uint16_t type, uint32_t ttl, const struct dyn_client *client,
                   dyn_health_fn health, void *health_ctx, dyn_geo_fn geo, void *geo_ctx, uint32_t rnd,
                   uint8_t *scratch, struct rrset *out, uint8_t *scope, struct dyn_trace *trace)
{
	return select_in(r, type, ttl, client, health, health_ctx, geo, geo_ctx, rnd, scratch, out, scope, trace);
}

int dyn_choose(const struct rrset *rs, const struct dyn_client *client, const struct dyn_env *env, uint32_t rnd,
               struct dyn_choice *out)
{
	return select_in(dyn_rrset_resource(rs), rs->type, rs->ttl, client, env->health, env->health_ctx, env->geo,
	                 env->geo_ctx, rnd, out->scratch, &out->rrset, &out->scope, NULL);
}

int dyn_attach(struct rrset *rs, struct arena *a, uint8_t **heap, char *err, size_t errlen)
{
	struct dyn_resource *r;
	size_t size;
	int rc = dyn_compile(rs->rdata, rs->rdata_size, rs->count, &r, &size, err, errlen);
	if (rc < 0)
		return rc;
	size_t off = dyn_trailer_offset(rs);
	uint8_t *p = a ? arena_alloc(a, off + size) : malloc(off + size);
	if (!p) {
		free(r);
		snprintf(err, errlen, "out of memory compiling a DYN resource");
		return TERN_ENOMEM;
	}
	memcpy(p, rs->rdata, rs->rdata_size);
	memset(p + rs->rdata_size, 0, off - rs->rdata_size);
	memcpy(p + off, r, size);
	free(r);
	rs->rdata = p;
	rs->dyn = 1;
	if (heap)
		*heap = p;
	return 0;
}

int dyn_foreach_monitored(const struct dyn_resource *r,
                          int (*fn)(void *arg, const struct dyn_monitor *m, uint8_t family, const uint8_t *addr),
                          void *arg)
{
	for (uint32_t i = 0; i < r->nmembers; i++) {
		const struct cmember *m = member_at(r, i);
		if (m->monitor < 0)
			continue;
		int rc = fn(arg, &monitor_at(r, m->monitor)->m, m->family, m->addr);
		if (rc)
			return rc;
	}
	return 0;
}

int dyn_default_pool(const struct dyn_resource *r, uint16_t type)
{
	if (!dyn_serves(r, type))
		return -1;
	const uint16_t *list = list_at(r, r->answer_list);
	for (uint16_t i = 0; i < list[0]; i++)
		if (pool_at(r, list[1 + i])->count[type == RR_AAAA])
			return list[1 + i];
	return -1;
}

int dyn_pool_count(const struct dyn_resource *r)
{
	return r->npools;
}

const char *dyn_pool_name(const struct dyn_resource *r, int pool)
{
	return (const char *)r + pool_at(r, pool)->name;
}

bool dyn_pool_weighted(const struct dyn_resource *r, int pool)
{
	return pool_at(r, pool)->weighted;
}

int dyn_pool_members(const struct dyn_resource *r, int pool, uint16_t type, struct dyn_member_view *out, int cap)
{
	const struct cpool *cp = pool_at(r, pool);
	int f = type == RR_AAAA, n = 0;
	if ((type == RR_CNAME) != (r->head.cname != 0))
		return 0; /* a CNAME resource has no address members, an address resource no names */
	for (uint16_t k = 0; k < cp->count[f] && n < cap; k++, n++) {
		const struct cmember *m = member_at(r, cp->first[f] + k);
		out[n] = (struct dyn_member_view){.family = m->family, .weight = cp->weighted ? m->weight : 1};
		memcpy(out[n].addr, m->addr, 16);
		if (m->family == FAMILY_NAME)
			out[n].name = rdata_bytes((const uint8_t *)r + m->rec);
		if (m->monitor >= 0) {
			out[n].monitor = &monitor_at(r, m->monitor)->m;
			out[n].monitor_name = (const char *)r + monitor_at(r, m->monitor)->name;
		}
	}
	return n;
}

static int list_copy(const uint16_t *list, int *pools, int cap)
{
	for (int i = 0; i < list[0] && i < cap; i++)
		pools[i] = list[1 + i];
	return list[0];
}

int dyn_answer_list(const struct dyn_resource *r, int *pools, int cap)
{
	return list_copy(list_at(r, r->answer_list), pools, cap);
}

int dyn_entry_count(const struct dyn_resource *r)
{
	return (int)r->nentries;
}

void dyn_entry(const struct dyn_resource *r, int i, struct dyn_entry_view *out)
{
	const struct centry *e = entry_at(r, (uint32_t)i);
	*out = (struct dyn_entry_view){.family = e->family, .prefix = e->prefix};
	memcpy(out->addr, e->addr, 16);
}

int dyn_entry_list(const struct dyn_resource *r, int i, int *pools, int cap)
{
	return list_copy(list_at(r, entry_at(r, (uint32_t)i)->list), pools, cap);
}

int dyn_code_count(const struct dyn_resource *r)
{
	return (int)r->ncodes;
}

void dyn_code(const struct dyn_resource *r, int i, struct dyn_code_view *out)
{
	const struct ccode *c = code_at(r, (uint32_t)i);
	*out = (struct dyn_code_view){.continent = c->kind == CODE_CONTINENT, .code = {c->code[0], c->code[1], 0}};
}

int dyn_code_list(const struct dyn_resource *r, int i, int *pools, int cap)
{
	return list_copy(list_at(r, code_at(r, (uint32_t)i)->list), pools, cap);
}

bool dyn_pool_monitored(const struct dyn_resource *r, int pool)
{
	const struct cpool *cp = pool_at(r, pool);
	for (int f = 0; f < 2; f++)
		for (uint16_t k = 0; k < cp->count[f]; k++)
			if (member_at(r, cp->first[f] + k)->monitor >= 0)
				return true;
	return false;
}

/* ---- signed zones ---- */

/* One RRset signed ahead: its records in the block (member order) and how many. */
struct cset {
	uint32_t rdata, rdata_size;
	uint32_t count;
};

/* What dyn_select() can return that lies in the block (a pool's family, a member's record), and
 * the signed RRset it stands for. */
struct cchoice {
	uint32_t rdata, count;
	uint32_t id; /* index into its family's signed sets */
	uint32_t family; /* 0 = IPv4, 1 = IPv6 */
};

/* A candidate while building: where its records are, and its addresses sorted (its identity). */
struct cand {
	uint32_t rdata, rdata_size, count;
	uint8_t alen;
	uint8_t *key;
	size_t keylen; /* count * alen; a CNAME target's record (length and name) */
	uint32_t id;
};

static int key_cmp(const void *pa, const void *pb, size_t len)
{
	return memcmp(pa, pb, len);
}

static int addr4_cmp(const void *a, const void *b)
{
	return key_cmp(a, b, 4);
}

static int addr16_cmp(const void *a, const void *b)
{
	return key_cmp(a, b, 16);
}

/* Canonical order of RRsets: fewer records first, then the sorted addresses as octets. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = *(const struct cand *const *)pa, *b = *(const struct cand *const *)pb;
	if (a->count != b->count)
		return a->count < b->count ? -1 : 1;
	int c = memcmp(a->key, b->key, a->keylen < b->keylen ? a->keylen : b->keylen);
	return c ? c : (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

static int choice_cmp(const void *pa, const void *pb)
{
	const struct cchoice *a = pa, *b = pb;
	if (a->rdata != b->rdata)
		return a->rdata < b->rdata ? -1 : 1;
	return (a->count > b->count) - (a->count < b->count);
}

/* Adds the candidate of count records from rdata (offset in the block) with its sorted key; alen
 * 0: one CNAME record, its key the record itself. */
static int cand_add(struct out *o, struct cand *v, size_t *n, uint32_t rdata, uint32_t rdata_size, uint32_t count,
                    uint8_t alen)
{
	size_t keylen = alen ? (size_t)count * alen : rdata_size;
	uint8_t *key = malloc(keylen);
	if (!key)
		return TERN_ENOMEM;
	const uint8_t *rec = o->b + rdata;
	if (!alen)
		memcpy(key, rec, keylen);
	for (uint32_t i = 0; alen && i < count; i++, rec += 2 + alen)
		memcpy(key + (size_t)i * alen, rec + 2, alen);
	if (alen)
		qsort(key, count, alen, alen == 4 ? addr4_cmp : addr16_cmp);
	v[(*n)++] = (struct cand){rdata, rdata_size, count, alen, key, keylen, 0};
	return 0;
}

/* The RRsets a reachable pool (in the answer list, a subnet, country or continent entry) can answer: an unweighted
 * pool its whole family, and each member alone when one of them is monitored (some may go down:
 * a signed zone then answers one live member); a weighted pool each member alone. Deduplicated
 * by content and put in canonical order, so the index of each is the same wherever the records
 * are compiled, whatever their order. */
static int build_signed(struct out *o, struct dyn_resource *h)
{
	int rc = TERN_ENOMEM;
	uint8_t *reach = calloc(h->npools ? h->npools : 1, 1);
	struct cand *v = malloc(((size_t)h->npools + h->nmembers + 1) * sizeof(*v));
	struct cand **sorted = malloc(((size_t)h->npools + h->nmembers + 1) * sizeof(*sorted));
	struct cchoice *ch = malloc(((size_t)h->npools + h->nmembers + 1) * sizeof(*ch));
	size_t nv = 0, nch = 0;
	if (!reach || !v || !sorted || !ch)
		goto done;
	const uint16_t *al = (const uint16_t *)(const void *)(o->b + h->answer_list);
	for (uint16_t i = 0; i < al[0]; i++)
		reach[al[1 + i]] = 1;
	for (uint32_t e = 0; e < h->nentries; e++) {
		const struct centry *ce = (const struct centry *)(const void *)(o->b + h->entries) + e;
		const uint16_t *el = (const uint16_t *)(const void *)(o->b + ce->list);
		for (uint16_t i = 0; i < el[0]; i++)
			reach[el[1 + i]] = 1;
	}
	for (uint32_t e = 0; e < h->ncodes; e++) { /* country and continent entries name pools too */
		const struct ccode *cc = (const struct ccode *)(const void *)(o->b + h->codes) + e;
		const uint16_t *el = (const uint16_t *)(const void *)(o->b + cc->list);
		for (uint16_t i = 0; i < el[0]; i++)
			reach[el[1 + i]] = 1;
	}
	for (int f = 0; f < 2; f++) {
		size_t first = nv;
		uint8_t alen = f ? 16 : h->head.cname ? 0 : 4; /* 0: CNAME targets (name pools are weighted) */
		for (uint16_t p = 0; p < h->npools; p++) {
			const struct cpool cp = ((const struct cpool *)(const void *)(o->b + h->pools))[p];
			if (!reach[p] || !cp.count[f] || !h->head.serves[f])
				continue;
			bool monitored = false;
			for (uint16_t k = 0; k < cp.count[f]; k++)
				monitored |=
				    ((const struct cmember *)(const void *)(o->b + h->members))[cp.first[f] + k]
				        .monitor >= 0;
			if (!cp.weighted &&
			    (rc = cand_add(o, v, &nv, cp.rdata[f], cp.rdata_size[f], cp.count[f], alen)) < 0)
				goto done;
			if (!cp.weighted && !monitored)
				continue;
			for (uint16_t k = 0; k < cp.count[f]; k++) {
				const struct cmember *m =
				    (const struct cmember *)(const void *)(o->b + h->members) + cp.first[f] + k;
				if ((rc = cand_add(o, v, &nv, m->rec, 2u + rdata_len(o->b + m->rec), 1, alen)) < 0)
					goto done;
			}
		}
		for (size_t i = first; i < nv; i++)
			sorted[i - first] = &v[i];
		qsort(sorted, nv - first, sizeof(*sorted), cand_cmp);
		size_t nsets = 0;
		for (size_t i = 0; i < nv - first; i++) {
			if (i == 0 || cand_cmp(&sorted[i - 1], &sorted[i]) != 0)
				nsets++;
			sorted[i]->id = (uint32_t)(nsets - 1);
		}
		int64_t at = out_put(o, NULL, nsets * sizeof(struct cset), 8);
		if (at < 0) {
			rc = TERN_ENOMEM;
			goto done;
		}
		h->signed_sets[f] = (uint32_t)at;
		h->nsigned[f] = (uint32_t)nsets;
		for (size_t i = 0; i < nv - first; i++) {
			const struct cand *cd = sorted[i];
			struct cset cs = {cd->rdata, cd->rdata_size, cd->count};
			memcpy(o->b + at + (size_t)cd->id * sizeof(cs), &cs, sizeof(cs));
			ch[nch++] = (struct cchoice){cd->rdata, cd->count, cd->id, (uint32_t)f};
		}
	}
	qsort(ch, nch, sizeof(*ch), choice_cmp);
	int64_t at = out_put(o, ch, nch * sizeof(*ch), 8);
	if (at < 0) {
		rc = TERN_ENOMEM;
		goto done;
	}
	h->choices = (uint32_t)at;
	h->nchoices = (uint32_t)nch;
	rc = 0;
done:
	for (size_t i = 0; v && i < nv; i++)
		free(v[i].key);
	free(v);
	free(sorted);
	free(ch);
	free(reach);
	return rc;
}

uint32_t dyn_signed_count(const struct dyn_resource *r, uint16_t type)
{
	if (r->head.cname)
		return type == RR_CNAME ? r->nsigned[0] : 0;
	return type == RR_A ? r->nsigned[0] : type == RR_AAAA ? r->nsigned[1] : 0;
}

int dyn_signed_rrset(const struct dyn_resource *r, uint16_t type, uint32_t i, uint32_t ttl, struct rrset *out)
{
	if (i >= dyn_signed_count(r, type))
		return TERN_ENOTFOUND;
	const struct cset *cs =
	    (const struct cset *)(const void *)((const uint8_t *)r + r->signed_sets[type == RR_AAAA]) + i;
	*out = (struct rrset){.type = type,
	                      .ttl = ttl,
	                      .count = (uint16_t)cs->count,
	                      .rdata = (const uint8_t *)r + cs->rdata,
	                      .rdata_size = cs->rdata_size};
	return 0;
}

/* The signed single-member RRset holding addr (family f), by binary search: single-member sets
 * come first in canonical order, sorted by address. */
static int64_t signed_single(const struct dyn_resource *r, int f, const uint8_t *addr)
{
	const struct cset *cs = (const struct cset *)(const void *)((const uint8_t *)r + r->signed_sets[f]);
	size_t alen = f ? 16 : 4, lo = 0, hi = r->nsigned[f];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cs[mid].count != 1 ? 1 : memcmp((const uint8_t *)r + cs[mid].rdata + 2, addr, alen);
		if (c == 0)
			return (int64_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

bool dyn_signed_subset(const struct dyn_resource *r, const struct rrset *chosen)
{
	const uint8_t *base = (const uint8_t *)r;
	return chosen->count > 1 && (chosen->rdata < base || chosen->rdata >= base + r->head.size);
}

int64_t dyn_signed_choose(const struct dyn_resource *r, struct rrset *chosen, uint32_t rnd)
{
	int f = chosen->type == RR_AAAA;
	const uint8_t *base = (const uint8_t *)r;
	if (chosen->count == 0 || chosen->rdata < base || chosen->rdata >= base + r->head.size) {
		/* some members of an unweighted pool are live: one of them, picked by rnd (record
		 * floor(rnd * count / 2^32): each with the same chance, dyn_signed_subset()) */
		if (chosen->count == 0)
			return -1;
		uint32_t pick = (uint32_t)(((uint64_t)rnd * chosen->count) >> 32);
		const uint8_t *rec = chosen->rdata;
		for (uint32_t i = 0; i < pick; i++)
			rec = rdata_next(rec);
		int64_t id = signed_single(r, f, rdata_bytes(rec));
		if (id < 0)
			return -1;
		dyn_signed_rrset(r, chosen->type, (uint32_t)id, chosen->ttl, chosen);
		return id;
	}
	struct cchoice key = {(uint32_t)(chosen->rdata - base), chosen->count, 0, 0};
	const struct cchoice *c = bsearch(&key, base + r->choices, r->nchoices, sizeof(key), choice_cmp);
	return c && c->family == (uint32_t)f ? (int64_t)c->id : -1;
}
