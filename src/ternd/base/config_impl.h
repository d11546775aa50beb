/* Internals shared by the configuration parser's files (config.c: the document, server, log,
 * zones, api; config_peers.c: keys, transfer, pops, catalog): the parse state and its helpers.
 * Each helper reports problems through cfg_perr() as "file:line: field: problem". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "lib/name.h"
#include "ternd/base/config.h"

#define QUOTE_MAX 64 /* characters of a bad value shown in a message */
#define QUOTE_BUF (QUOTE_MAX + 16)

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

/* The keys one mapping may hold, and what was found for each. */
struct field {
	const char *key;
	yaml_node_t *value; /* NULL when absent */
	unsigned line; /* of the key */
};

/* Messages and nodes: a problem at line; a node's line, kind and text; a value quoted safely. */
__attribute__((format(printf, 3, 4))) void cfg_perr(struct parse *p, unsigned line, const char *fmt, ...);
unsigned cfg_node_line(const yaml_node_t *n);
const char *cfg_kind_name(const yaml_node_t *n);
const char *cfg_scalar_text(const yaml_node_t *n);
const char *cfg_quote(const char *s, char *buf, size_t cap);
/* Fields: each names the problem (where + what was found) and returns false, NULL or -1. */
void cfg_walk_mapping(struct parse *p, yaml_node_t *map, const char *where, struct field *fields, size_t nfields);
bool cfg_want_mapping(struct parse *p, yaml_node_t *n, const char *where);
long cfg_want_list(struct parse *p, yaml_node_t *n, const char *where);
const char *cfg_want_scalar(struct parse *p, yaml_node_t *n, const char *where);
bool cfg_want_uint(struct parse *p, yaml_node_t *n, const char *where, unsigned long min, unsigned long max,
                   unsigned long *out);
char *cfg_dup_or_flag(struct parse *p, const char *s);
bool cfg_parse_addr(struct parse *p, yaml_node_t *n, const char *where, struct config_listen *out);
char *cfg_path_join(struct parse *p, const char *base, const char *file);
/* Zone names as text, and the default file name of a secondary's copy. */
void cfg_apex_text(const uint8_t *apex, char *buf, size_t cap);
bool cfg_copy_file_name(const uint8_t *apex, char *text, size_t cap);
/* More fields: yes/no, a domain name, a key of the keys section (1 + its index). */
bool cfg_want_bool(struct parse *p, yaml_node_t *n, const char *where, bool *out);
bool cfg_want_name(struct parse *p, yaml_node_t *n, const char *where, uint8_t out[NAME_MAXLEN]);
uint16_t cfg_want_key(struct parse *p, yaml_node_t *n, const char *where);
/* The sections config_peers.c parses for the top level. */
void cfg_parse_keys(struct parse *p, yaml_node_t *keys);
void cfg_parse_transfer(struct parse *p, yaml_node_t *tr);
void cfg_parse_pops(struct parse *p, yaml_node_t *pops, unsigned line);
void cfg_parse_catalog(struct parse *p, yaml_node_t *cat, unsigned line);
