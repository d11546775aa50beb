/* Records in presentation form: type mnemonics, one record's RDATA from and to text (libzscanner
 * parses, libknot prints), and whole zones exported as master files other servers load. */
#include "lib/rrtext.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libknot/consts.h>
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/errcode.h>
#include <libknot/rrset-dump.h>
#include <libzscanner/scanner.h>

#include "lib/dyn.h"
#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"

#define NAME_TEXT_MAX (KNOT_DNAME_TXT_MAXLEN + 1)

/* A name as libknot prints it inside RDATA, for owners too: it escapes every character the
 * parsers of Knot, NSD and BIND treat specially (name_to_text() leaves '#' bare, which
 * libzscanner refuses). */
static int owner_text(const uint8_t *name, char *out, size_t cap)
{
	if (!knot_dname_to_str(out, name, cap))
		return TERN_ENAME;
	return 0;
}

int rrtext_type_from_text(const char *text, uint16_t *type)
{
	if (!text || !text[0])
		return TERN_EINVAL;
	uint16_t t;
	if (strncasecmp(text, "TYPE", 4) == 0) { /* no mnemonic starts so */
		unsigned long v = 0;
		size_t i = 4;
		for (; text[i] >= '0' && text[i] <= '9' && i < 10; i++)
			v = v * 10 + (unsigned long)(text[i] - '0');
		if (i == 4 || text[i] != 0 || v > UINT16_MAX)
			return TERN_EINVAL;
		t = (uint16_t)v;
	} else if (strcasecmp(text, "DYN") == 0) {
		t = RR_DYN;
	} else if (knot_rrtype_from_string(text, &t) != 0) {
		return TERN_EINVAL;
	}
	if (rr_type_is_meta(t)) /* 0, OPT and 128-255: TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY */
		return TERN_EINVAL;
	*type = t;
	return 0;
}

int rrtext_type_to_text(uint16_t type, char *out, size_t cap)
{
	if (type == RR_DYN)
		return snprintf(out, cap, "DYN") >= (int)cap ? TERN_ESPACE : 3;
	int n = knot_rrtype_to_string(type, out, cap);
	return n < 0 || (size_t)n >= cap ? TERN_ESPACE : n;
}

/* Record text must be one line of one record: no control characters (a newline would start a
 * second record or a directive), and outside quoted strings no ';' (a comment would silently drop
 * the rest) and no parentheses (grouping only matters across lines). Backslash escapes pass. */
static int check_one_line(const char *text, char *err, size_t errlen)
{
	bool quoted = false, any = false;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			snprintf(err, errlen, "record text must be one line: control character 0x%02x at offset %zu",
			         *p, (size_t)(p - (const unsigned char *)text));
			return TERN_EINVAL;
		}
		if (*p != ' ' && *p != '\t')
			any = true;
		if (*p == '\\') {
			if (p[1] == 0)
				break; /* a trailing backslash: the parser reports it */
			if ((p[1] < 0x20 && p[1] != '\t') || p[1] == 0x7f)
				continue; /* caught on the next round */
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (!quoted && (*p == ';' || *p == '(' || *p == ')')) {
			snprintf(err, errlen, "'%c' outside quotes in record text; quote or escape it (\\%c)", *p, *p);
			return TERN_EINVAL;
		}
	}
	if (!any) {
		snprintf(err, errlen, "empty record text");
		return TERN_EINVAL;
	}
	return 0;
}

struct parse_ctx {
	uint8_t *rdata;
	size_t cap, len;
	int records;
	bool failed;
	int error; /* the first zscanner error code */
	bool too_long;
};

static void parse_record(zs_scanner_t *s)
{
	struct parse_ctx *c = s->process.data;
	if (++c->records > 1)
		return;
	c->len = s->r_data_length;
	if (c->len > c->cap) {
		c->too_long = true;
		return;
	}
	memcpy(c->rdata, s->r_data, c->len);
}

static void parse_error(zs_scanner_t *s)
{
	struct parse_ctx *c = s->process.data;
	if (!c->failed)
		c->error = s->error.code;
	c->failed = true;
	s->state = ZS_STATE_STOP;
}

int rrtext_rdata_from_text(const uint8_t *origin, const uint8_t *owner, uint16_t type, const char *text, uint8_t *rdata,
                           size_t cap, size_t *len, char *err, size_t errlen)
{
	char tname[RRTEXT_TYPE_MAXLEN], otext[NAME_TEXT_MAX], ortext[NAME_TEXT_MAX];
	struct parse_ctx c = {.rdata = rdata, .cap = cap};
	char *line = NULL;
	zs_scanner_t *s = NULL;
	int rc;

	if (!err)
		errlen = 0;
	if (errlen)
		err[0] = 0;
	if (rrtext_type_to_text(type, tname, sizeof(tname)) < 0 || rr_type_is_meta(type)) {
		snprintf(err, errlen, "type %u cannot hold data", type);
		return TERN_EINVAL;
	}
	if (!text) {
		snprintf(err, errlen, "empty record text");
		return TERN_EINVAL;
	}
	rc = check_one_line(text, err, errlen);
	if (rc < 0)
		return rc;
	if (!origin || owner_text(origin, ortext, sizeof(ortext)) < 0 ||
	    owner_text(owner ? owner : origin, otext, sizeof(otext)) < 0) {
		snprintf(err, errlen, "bad origin or owner name");
		return TERN_EINVAL;
	}

	/* The owner, TTL, class and type come first, so the text can only ever be RDATA. The type
	 * is given as TYPE<n>: libzscanner then reads its usual text form, or "\#" generic data. */
	size_t linecap = strlen(text) + strlen(otext) + 64;
	line = malloc(linecap);
	s = malloc(sizeof(*s));
	if (!line || !s) {
		rc = TERN_ENOMEM;
		goto fail;
	}
	/* DYN has TXT's text and wire form (lib/dyn.h) */
	int n =
	    snprintf(line, linecap, "%s 3600 IN TYPE%u %s\n", otext, (unsigned)(type == RR_DYN ? RR_TXT : type), text);
	rc = TERN_EINVAL;
	if (zs_init(s, ortext, KNOT_CLASS_IN, 3600) != 0) {
		snprintf(err, errlen, "cannot start the zone parser for %s", ortext);
		goto fail;
	}
	if (zs_set_input_string(s, line, (size_t)n) != 0 || zs_set_processing(s, parse_record, parse_error, &c) != 0 ||
	    zs_parse_all(s) != 0) {
		if (!c.failed)
			c.error = s->error.code;
		c.failed = true;
	}
	zs_deinit(s);

	if (c.failed) {
		snprintf(err, errlen, "bad RDATA for %s: %s", tname, c.error ? zs_strerror(c.error) : "cannot parse");
		goto fail;
	}
	if (c.records != 1) {
		snprintf(err, errlen, "bad RDATA for %s: expected one record, found %d", tname, c.records);
		goto fail;
	}
	if (c.too_long) {
		snprintf(err, errlen, "RDATA for %s is %zu bytes, more than the %zu allowed", tname, c.len, cap);
		rc = TERN_ESPACE;
		goto fail;
	}
	/* Generic "\#" data is opaque to the parser: hold it to the rules the zone builder applies. */
	if (rr_rdata_check(type, rdata, c.len) < 0) {
		snprintf(err, errlen, "bad RDATA for %s: malformed for its type", tname);
		goto fail;
	}
	*len = c.len;
	rc = 0;
fail:
	free(line);
	free(s);
	return rc;
}

/* Room for the text of any RDATA up to 65535 bytes: the longest is an NSEC bitmap naming every
 * type (about ten characters a bit); TXT at four characters a byte comes next. */
#define TEXT_MAX ((size_t)1 << 21)

/* libknot prints some fields padded ("52 22 23 N  4 53 32 E") and some with a trailing space
 * (CAA): one space between fields, none at the end. Quoted strings are kept as they are; outside
 * them a space in data is always escaped. */
static size_t tidy_spaces(char *s, size_t n)
{
	size_t o = 0;
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!quoted && c == ' ' && (o == 0 || s[o - 1] == ' '))
			continue;
		s[o++] = c;
		if (c == '\\' && i + 1 < n)
			s[o++] = s[++i];
		else if (c == '"')
			quoted = !quoted;
	}
	while (o > 0 && s[o - 1] == ' ' && !quoted)
		o--;
	s[o] = 0;
	return o;
}

/* Text of one record through libknot's dump: knot's in-memory record is a host-order length, the
 * data and a pad byte to an even size. libknot fails the same way whether the text does not fit
 * or the RDATA is malformed for its type; this returns TERN_ESPACE for both. */
static int dump_rdata(uint16_t type, const uint8_t *rd, uint16_t len, bool generic, char *out, size_t cap)
{
	if (type == RR_DYN) /* TXT's text form (lib/dyn.h) */
		type = RR_TXT;
	knot_rdata_t *kr = malloc(knot_rdata_size(len));
	if (!kr)
		return TERN_ENOMEM;
	knot_rdata_init(kr, len, rd);
	knot_dname_t root[1] = {0};
	knot_rrset_t rr;
	knot_rrset_init(&rr, root, type, KNOT_CLASS_IN, 0);
	rr.rrs.count = 1;
	rr.rrs.size = (uint32_t)knot_rdata_size(len);
	rr.rrs.rdata = kr;
	/* Timestamps are 32-bit serial numbers read around "now"; 2^31 maps every value onto 1970-2106,
	 * the range the parsers of Knot, NSD and BIND read back (0 prints as 2106-02-07 06:28:16, which
	 * they all take modulo 2^32). */
	knot_dump_style_t style = {
	    .wrap = false,
	    .verbose = false,
	    .human_timestamp = true,
	    .generic = generic,
	    .now = (uint64_t)1 << 31,
	};
	int n = knot_rrset_txt_dump_data(&rr, 0, out, cap, &style);
	free(kr);
	if (n < 0 || (size_t)n >= cap)
		return TERN_ESPACE;
	return (int)tidy_spaces(out, (size_t)n);
}

/* The usual text form into out; TERN_EMALF when there is none for these bytes. */
static int dump_native(uint16_t type, const uint8_t *rd, uint16_t len, char *out, size_t cap)
{
	int n = dump_rdata(type, rd, len, false, out, cap);
	if (n != TERN_ESPACE || cap >= TEXT_MAX)
		return n == TERN_ESPACE ? TERN_EMALF : n;
	/* Too small, or malformed? Only a buffer that holds any text can tell. */
	char *big = malloc(TEXT_MAX);
	if (!big)
		return TERN_ENOMEM;
	n = dump_rdata(type, rd, len, false, big, TEXT_MAX);
	free(big);
	return n >= 0 ? TERN_ESPACE : n == TERN_ESPACE ? TERN_EMALF : n;
}

/* Whether text parses back to exactly these bytes: a printer that trusts malformed inner data
 * would otherwise hand out text that reads back as something else, or not at all. */
static bool reads_back(uint16_t type, const char *text, const uint8_t *rdata, uint16_t len)
{
	uint8_t *again = malloc((size_t)len + 1);
	size_t got = 0;
	char err[64];
	bool same = again &&
	            rrtext_rdata_from_text((const uint8_t *)"", NULL, type, text, again, (size_t)len + 1, &got, err,
	                                   sizeof(err)) == 0 &&
	            got == len && memcmp(again, rdata, len) == 0;
	free(again);
	return same;
}

int rrtext_rdata_to_text(uint16_t type, const uint8_t *rdata, uint16_t len, char *out, size_t cap)
{
	if (cap == 0)
		return TERN_ESPACE;
	/* libknot's printer trusts the lengths inside RDATA: only data whose whole structure has been
	 * checked goes to it, and only text that reads back unchanged is used; the rest is RFC 3597 */
	int n = TERN_EMALF;
	if (rr_rdata_checked(type) && rr_rdata_check(type, rdata, len) == 0) {
		n = dump_native(type, rdata, len, out, cap);
		if (n >= 0 && !reads_back(type, out, rdata, len))
			n = TERN_EMALF;
	}
	if (n == TERN_EMALF)
		n = dump_rdata(type, rdata, len, true, out, cap);
	return n;
}

/* Types written by mnemonic in exports: Knot 3.2, NSD 4.6 and BIND 9.18 all read them in the form
 * libknot prints. Anything else is written as TYPE<n> with RFC 3597 data, which every server reads. */
static const uint16_t portable_types[] = {
    KNOT_RRTYPE_A,          KNOT_RRTYPE_NS,    KNOT_RRTYPE_CNAME,  KNOT_RRTYPE_SOA,   KNOT_RRTYPE_PTR,
    KNOT_RRTYPE_HINFO,      KNOT_RRTYPE_MX,    KNOT_RRTYPE_TXT,    KNOT_RRTYPE_RP,    KNOT_RRTYPE_AFSDB,
    KNOT_RRTYPE_AAAA,       KNOT_RRTYPE_LOC,   KNOT_RRTYPE_SRV,    KNOT_RRTYPE_NAPTR, KNOT_RRTYPE_KX,
    KNOT_RRTYPE_CERT,       KNOT_RRTYPE_DNAME, KNOT_RRTYPE_DS,     KNOT_RRTYPE_SSHFP, KNOT_RRTYPE_IPSECKEY,
    KNOT_RRTYPE_RRSIG,      KNOT_RRTYPE_NSEC,  KNOT_RRTYPE_DNSKEY, KNOT_RRTYPE_DHCID, KNOT_RRTYPE_NSEC3,
    KNOT_RRTYPE_NSEC3PARAM, KNOT_RRTYPE_TLSA,  KNOT_RRTYPE_SMIMEA, KNOT_RRTYPE_CDS,   KNOT_RRTYPE_CDNSKEY,
    KNOT_RRTYPE_OPENPGPKEY, KNOT_RRTYPE_CSYNC, KNOT_RRTYPE_ZONEMD, KNOT_RRTYPE_SVCB,  KNOT_RRTYPE_HTTPS,
    KNOT_RRTYPE_SPF,        KNOT_RRTYPE_EUI48, KNOT_RRTYPE_EUI64,  KNOT_RRTYPE_URI,   KNOT_RRTYPE_CAA,
};

static bool type_is_portable(uint16_t type)
{
	for (size_t i = 0; i < sizeof(portable_types) / sizeof(portable_types[0]); i++)
		if (portable_types[i] == type)
			return true;
	return false;
}

struct export_ctx {
	rrtext_write_fn write;
	void *wctx;
	char *buf; /* one line */
	size_t cap;
	char *err;
	size_t errlen;
	bool plain; /* DYN resources as their default answers */
};

/* One record line; grows the line buffer when an RDATA's text does not fit. */
static int export_record(struct export_ctx *e, const char *owner, uint32_t ttl, uint16_t type, const uint8_t *rd,
                         uint16_t len)
{
	bool portable = type_is_portable(type);
	char tname[RRTEXT_TYPE_MAXLEN];
	if (portable)
		rrtext_type_to_text(type, tname, sizeof(tname));
	else
		snprintf(tname, sizeof(tname), "TYPE%u", type);
	for (;;) {
		int head = snprintf(e->buf, e->cap, "%s\t%u\tIN\t%s\t", owner, ttl, tname);
		int n = TERN_ESPACE;
		if (head >= 0 && (size_t)head + 2 < e->cap) {
			char *rtext = e->buf + head;
			size_t rcap = e->cap - (size_t)head - 1; /* room for the newline */
			n = portable ? dump_native(type, rd, len, rtext, rcap) : TERN_EMALF;
			if (n == TERN_EMALF)
				n = dump_rdata(type, rd, len, true, rtext, rcap);
		}
		if (n >= 0) {
			size_t total = (size_t)head + (size_t)n;
			e->buf[total++] = '\n';
			return e->write(e->wctx, e->buf, total);
		}
		if (n != TERN_ESPACE || e->cap > TEXT_MAX)
			return n;
		char *bigger = realloc(e->buf, e->cap * 2);
		if (!bigger)
			return TERN_ENOMEM;
		e->buf = bigger;
		e->cap *= 2;
	}
}

/* A plain export (for servers that do not read DYN): a comment naming the resource, then the
 * answer a client outside every entry gets when every member is up, as fixed records (a weighted
 * pool: every member; a CNAME resource: one CNAME, to its default pool's heaviest target). */
static int export_dyn_plain(struct export_ctx *e, const char *otext, const struct rrset *rs)
{
	const struct dyn_resource *r = dyn_rrset_resource(rs);
	if (!r) {
		snprintf(e->err, e->errlen, "%s DYN: the resource was not compiled", otext);
		return TERN_EINVAL;
	}
	int n = snprintf(e->buf, e->cap, "; %s is a dynamic resource (DYN, %u statements): its default answer\n", otext,
	                 (unsigned)rs->count);
	int rc = n < 0 || (size_t)n >= e->cap ? TERN_ESPACE : e->write(e->wctx, e->buf, (size_t)n);
	static const uint16_t types[] = {RR_A, RR_AAAA, RR_CNAME};
	for (int t = 0; rc == 0 && t < 3; t++) {
		int pool = dyn_default_pool(r, types[t]);
		if (pool < 0)
			continue;
		struct dyn_member_view v[DYN_MAX_MEMBERS];
		int m = dyn_pool_members(r, pool, types[t], v, DYN_MAX_MEMBERS);
		if (types[t] == RR_CNAME && m > 0) { /* one CNAME record: the heaviest target, the first of equals */
			int best = 0;
			for (int i = 1; i < m; i++)
				best = v[i].weight > v[best].weight ? i : best;
			rc = export_record(e, otext, rs->ttl, RR_CNAME, v[best].name, (uint16_t)name_len(v[best].name));
			continue;
		}
		for (int i = 0; rc == 0 && i < m; i++)
			rc = export_record(e, otext, rs->ttl, types[t], v[i].addr, types[t] == RR_A ? 4 : 16);
	}
	if (rc < 0)
		snprintf(e->err, e->errlen, "cannot write the default answer of %s: %s", otext, tern_strerror(rc));
	return rc;
}

static int export_rrset(struct export_ctx *e, const uint8_t *owner, const struct rrset *rs)
{
	char otext[NAME_TEXT_MAX], tname[RRTEXT_TYPE_MAXLEN];
	if (owner_text(owner, otext, sizeof(otext)) < 0) {
		snprintf(e->err, e->errlen, "cannot write an owner name");
		return TERN_ENAME;
	}
	if (rs->type == RR_DYN && e->plain)
		return export_dyn_plain(e, otext, rs);
	const uint8_t *rec = rs->rdata;
	for (uint16_t i = 0; i < rs->count; i++, rec = rdata_next(rec)) {
		int rc = export_record(e, otext, rs->ttl, rs->type, rdata_bytes(rec), rdata_len(rec));
		if (rc < 0) {
			rrtext_type_to_text(rs->type, tname, sizeof(tname));
			snprintf(e->err, e->errlen, "cannot write %s %s: %s", otext, tname, tern_strerror(rc));
			return rc;
		}
	}
	return 0;
}

int rrtext_export_zone(const struct zone *z, rrtext_write_fn write, void *ctx, char *err, size_t errlen)
{
	return rrtext_export_zone_as(z, 0, write, ctx, err, errlen);
}

int rrtext_export_zone_as(const struct zone *z, unsigned flags, rrtext_write_fn write, void *ctx, char *err,
                          size_t errlen)
{
	struct export_ctx e = {.write = write,
	                       .wctx = ctx,
	                       .cap = 65536,
	                       .err = err,
	                       .errlen = err ? errlen : 0,
	                       .plain = flags & RRTEXT_EXPORT_PLAIN};
	if (err && errlen)
		err[0] = 0;
	if (!z->soa || !z->apex_node) {
		snprintf(e.err, e.errlen, "the zone has no SOA");
		return TERN_EZONE;
	}
	const struct zone_node **nodes = NULL;
	size_t nnodes = 0;
	e.buf = malloc(e.cap);
	if (!e.buf || zone_nodes_sorted(z, &nodes, &nnodes) < 0) {
		free(e.buf);
		return TERN_ENOMEM;
	}
	int rc = export_rrset(&e, z->apex_node->owner, z->soa);
	for (size_t i = 0; rc == 0 && i < nnodes; i++) {
		const struct zone_node *n = nodes[i];
		for (uint16_t j = 0; rc == 0 && j < n->nrrsets; j++) {
			const struct rrset *rs = &n->rrsets[j];
			if (n != z->apex_node || rs->type != RR_SOA)
				rc = export_rrset(&e, n->owner, rs);
		}
	}
	free(nodes);
	free(e.buf);
	return rc;
}

static int write_file(void *ctx, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, ctx) == len ? 0 : TERN_EIO;
}

int rrtext_export_zone_file(const struct zone *z, FILE *out, char *err, size_t errlen)
{
	int rc = rrtext_export_zone(z, write_file, out, err, errlen);
	if (rc == 0 && fflush(out) != 0) {
		snprintf(err, err ? errlen : 0, "cannot write the zone file");
		rc = TERN_EIO;
	}
	return rc;
}

/* A growable text buffer, NUL-terminated after every write. */
struct text_buf {
	char *p;
	size_t len, cap;
};

static int write_text(void *ctx, const char *buf, size_t len)
{
	struct text_buf *b = ctx;
	if (b->len + len + 1 > b->cap) {
		size_t ncap = (b->len + len + 1) * 2;
		char *np = realloc(b->p, ncap);
		if (!np)
			return TERN_ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	b->p[b->len] = 0;
	return 0;
}

int rrtext_export_zone_text(const struct zone *z, char **text, size_t *len, char *err, size_t errlen)
{
	return rrtext_export_zone_text_as(z, 0, text, len, err, errlen);
}

int rrtext_export_zone_text_as(const struct zone *z, unsigned flags, char **text, size_t *len, char *err, size_t errlen)
{
	struct text_buf b = {0};
	int rc = rrtext_export_zone_as(z, flags, write_text, &b, err, errlen);
	if (rc < 0) { /* on success the SOA at least was written, so b.p is set */
		free(b.p);
		b.p = NULL;
		b.len = 0;
	}
	*text = b.p;
	*len = b.len;
	return rc;
}
