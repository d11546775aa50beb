/* Internals of the configuration reader: the schema's types (a table of keys, config_schema.c),
 * the parse state, and the value readers (config_types.c) the one parser (config.c) calls. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "lib/name.h"
#include "ternd/base/config.h"

#define QUOTE_MAX 64 /* characters of a bad value shown in a message */
#define QUOTE_BUF (QUOTE_MAX + 16)
#define CFG_MAX_ITEMS 48 /* keys one mapping of the schema may hold (test_config checks every one) */
#define CFG_NONE ((size_t)-1) /* an item's offset when its value is checked, not stored (the finish reads it) */

/* The YAML as read (config_doc.c): a tree of scalars, lists and mappings, each with its line. */
enum cfg_kind { CFG_KIND_SCALAR, CFG_KIND_LIST, CFG_KIND_MAP };
struct cfg_node {
	enum cfg_kind kind;
	bool plain; /* a scalar written without quotes (YAML's plain style) */
	unsigned line;
	const char *text; /* a scalar's value, NUL-terminated ("" for a collection) */
	size_t first, n; /* a list's n items at kids[first...], a mapping's n pairs (key, value) there */
};
struct cfg_doc {
	struct cfg_node *nodes;
	size_t nnodes, capnodes;
	size_t *kids; /* indexes into nodes */
	size_t nkids, capkids;
	char *text;
	size_t ntext, captext;
	struct cfg_node *root; /* NULL: an empty document */
	unsigned second_line; /* where a second document starts (not read), or 0 */
};
/* Reads the first document of parser's input into d. On a libyaml failure *yaml_error is set (the
 * parser says what); else TERN_ECONFIG comes with *why at *why_line (an undefined alias, too
 * many anchors). */
int cfg_doc_load(struct cfg_doc *d, yaml_parser_t *parser, bool *yaml_error, const char **why, unsigned *why_line);
void cfg_doc_free(struct cfg_doc *d);
static inline struct cfg_node *cfg_doc_kid(const struct cfg_doc *d, const struct cfg_node *n, size_t k)
{
	return &d->nodes[d->kids[n->first + k]];
}

/* What a key holds. Each type has one reader (config_types.c) and one way to print, compare and
 * free its value (config.c). */
enum cfg_type {
	CFG_SECTION, /* a mapping: items hold its keys; stored in the same struct (offset 0) or a member */
	CFG_LIST, /* a list of mappings (items); an array of size-byte elements and a size_t count */
	CFG_UINT, /* decimal digits, min..max, stored times scale in an integer of size bytes */
	CFG_SECONDS, /* seconds with up to three decimals, min..max milliseconds, stored as unsigned ms */
	CFG_BOOL, /* true/yes/on or false/no/off */
	CFG_ENUM, /* one of names; its index, stored in an integer of size bytes */
	CFG_STRING, /* text of at most max bytes (0 = no limit), malloc'd; check may refuse it */
	CFG_PATH, /* a file name, relative to the configuration file's directory, malloc'd */
	CFG_NAME, /* a domain name, absolute or relative to the root: wire form, lower-cased */
	CFG_ADDR, /* "ADDRESS@PORT" or "ADDRESS" (port 53): a struct config_listen */
	CFG_ADDRS, /* a list of CFG_ADDR, none twice, at least min: array of struct config_listen + count */
	CFG_PREFIX, /* "ADDRESS/LEN" or "ADDRESS": a struct config_prefix */
	CFG_NAMES, /* a list of domain names: array of uint8_t[NAME_MAXLEN] + count */
	CFG_KEYREF, /* the name of a key of the keys section: 1 + its index (uint16_t) */
};

enum {
	CFG_REQUIRED = 1 << 0, /* "missing required key" when absent */
	CFG_RELOAD = 1 << 1, /* a SIGHUP applies a new value; else a change needs a restart */
	CFG_SCALAR_OK = 1 << 2, /* CFG_ADDRS: one address alone is a list of one */
	CFG_SHORTHAND = 1 << 3, /* CFG_LIST: a scalar element is the value of the element's first item */
	CFG_SECRET = 1 << 4, /* CFG_LIST: zeroed before it is freed */
	CFG_TLS_OK = 1 << 5, /* CFG_ADDRS: tls://ADDR[:PORT] too (cfg_read_primary) */
};

struct parse;
struct field;

/* One key of the schema. offset is where its value goes, from the start of the struct its
 * section is stored in (struct config for the top level). */
struct cfg_item {
	const char *name;
	enum cfg_type type;
	unsigned flags;
	size_t offset;
	size_t size; /* UINT, ENUM: bytes of the integer; LIST: bytes of an element */
	size_t count; /* LIST, ADDRS, NAMES: offset of the size_t count */
	unsigned long min, max; /* UINT (before scale), SECONDS (ms), STRING (max bytes), ADDRS/LIST (min count) */
	unsigned scale; /* UINT: stored as value * scale (seconds as milliseconds); 0 = 1 */
	const char *def; /* the default, as written in a file; NULL = none */
	const char *const *names; /* ENUM: the values, NULL-terminated */
	/* STRING: false after writing why s is refused ("<quoted s> is not ...") into why */
	bool (*check)(const char *s, char *why, size_t cap);
	const struct cfg_item *items; /* SECTION, LIST: the keys inside, ended by an item without a name */
	/* SECTION, LIST: checks across the keys (and derived fields), after they are read; f holds the
	 * nodes found for items, in their order. A list element is kept when it returns true. */
	bool (*finish)(struct parse *p, void *base, const struct field *f, unsigned line, const char *where);
	const char *unit; /* the reference's word for one of it, or what a list holds ("PoP") */
	const char *help; /* one line for the reference (README.md) */
};

/* The schema: the top-level keys of a configuration file (config_schema.c). */
extern const struct cfg_item cfg_schema[];
/* The update section (config_schema_update.c). */
extern const struct cfg_item cfg_update_items[];
/* The api section (config_schema_api.c). */
extern const struct cfg_item cfg_api_items[];
bool cfg_finish_api(struct parse *p, void *base, const struct field *f, unsigned line, const char *where);
/* The signals section (config_schema_signals.c). */
extern const struct cfg_item cfg_signals_items[];
/* The dnstap section (config_schema_dnstap.c). */
extern const struct cfg_item cfg_dnstap_items[];
bool cfg_finish_dnstap(struct parse *p, void *base, const struct field *f, unsigned line, const char *where);
/* The acme and services sections (config_schema_services.c). */
extern const struct cfg_item cfg_acme_items[];
extern const struct cfg_item cfg_services_items[];
bool cfg_finish_services(struct parse *p, void *base, const struct field *f, unsigned line, const char *where);
/* The domainconnect section (config_schema_dconn.c). */
extern const struct cfg_item cfg_domainconnect_items[];
bool cfg_finish_domainconnect(struct parse *p, void *base, const struct field *f, unsigned line, const char *where);
/* The api.console-login section (config_schema_console.c). */
extern const struct cfg_item cfg_console_login_items[];
bool cfg_finish_console_login(struct parse *p, void *base, const struct field *f, unsigned line, const char *where);

/* State of one load: the document being checked, the configuration being built, the messages. */
struct parse {
	const struct cfg_doc *doc;
	const char *source;
	const char *basedir;
	char *err;
	size_t errlen;
	size_t errused;
	unsigned nerr;
	bool nomem;
	struct config *c;
};

/* What was found in a mapping for one item. */
struct field {
	const char *key;
	struct cfg_node *value; /* NULL when absent */
	unsigned line; /* of the key */
	bool ok; /* read without a problem */
};

/* Messages and nodes: a problem at line; a node's line, kind and text; a value quoted safely. */
__attribute__((format(printf, 3, 4))) void cfg_perr(struct parse *p, unsigned line, const char *fmt, ...);
unsigned cfg_node_line(const struct cfg_node *n);
const char *cfg_kind_name(const struct cfg_node *n);
const char *cfg_scalar_text(const struct cfg_node *n);
bool cfg_is_null(const struct cfg_node *n);
const char *cfg_quote(const char *s, char *buf, size_t cap);
const char *cfg_want_scalar(struct parse *p, struct cfg_node *n, const char *where);
char *cfg_dup_or_flag(struct parse *p, const char *s);
char *cfg_path_join(struct parse *p, const char *base, const char *file);

/* Value readers (config_types.c): the text s of a scalar at line, for the key where; each names
 * the problem and returns false. */
bool cfg_read_uint(struct parse *p, const char *s, unsigned line, const char *where, unsigned long min,
                   unsigned long max, unsigned long *out);
bool cfg_read_seconds(struct parse *p, const char *s, unsigned line, const char *where, unsigned min_ms,
                      unsigned max_ms, unsigned *out);
bool cfg_read_bool(struct parse *p, const char *s, unsigned line, const char *where, bool *out);
bool cfg_read_enum(struct parse *p, const char *s, unsigned line, const char *where, const char *const *names,
                   unsigned *out);
bool cfg_read_name(struct parse *p, const char *s, unsigned line, const char *where, uint8_t out[NAME_MAXLEN]);
bool cfg_read_addr(struct parse *p, const char *s, unsigned line, const char *where, struct config_listen *out);
/* A zone's primary: an address as cfg_read_addr reads it, or tls://ADDR[:PORT] (port 853): out->tls. */
bool cfg_read_primary(struct parse *p, const char *s, unsigned line, const char *where, struct config_listen *out);
bool cfg_read_prefix(struct parse *p, const char *s, unsigned line, const char *where, struct config_prefix *out);
uint16_t cfg_read_keyref(struct parse *p, const char *s, unsigned line, const char *where);
/* STRING checks: a PoP's name, a PoP's /healthz URL (libcurl's URL parser), a TSIG algorithm. */
bool cfg_check_pop_name(const char *s, char *why, size_t cap);
bool cfg_check_url(const char *s, char *why, size_t cap);
bool cfg_check_https_url(const char *s, char *why, size_t cap);
/* api.store: a postgresql:// (or postgres://) URL or libpq key=value words; the value (a password
 * may be in it) is not repeated in why. libpq parses it for real when the store opens. */
bool cfg_check_store_location(const char *s, char *why, size_t cap);
bool cfg_check_tsig_alg(const char *s, char *why, size_t cap);
/* services.regions: a region's name (a DYN pool name), a continent code, a country code. */
bool cfg_check_region_name(const char *s, char *why, size_t cap);
bool cfg_check_continent(const char *s, char *why, size_t cap);
bool cfg_check_country(const char *s, char *why, size_t cap);

/* Adds zones[index] to the index of zones by apex (config_zone_find); false out of memory. */
bool cfg_zone_index_add(struct config *c, size_t index);

/* Zone names as text, and the default file name of a secondary's copy. */
void cfg_apex_text(const uint8_t *apex, char *buf, size_t cap);
bool cfg_copy_file_name(const uint8_t *apex, char *text, size_t cap);
