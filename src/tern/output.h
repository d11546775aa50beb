/* What tern prints: aligned tables, RRsets as zone-file lines, times, JSON for scripts, and the
 * one-line error format `tern: <message> (field <f>, HTTP <status>)`. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "tern/client.h"

#define OUTPUT_MAXCOLS 8

/* A table printed with its columns aligned (two spaces apart, the last column unpadded). */
struct table;

/* headers may be NULL (no heading line); right is a bit mask of right-aligned columns. */
struct table *table_new(int ncols, const char *const *headers, unsigned right);
/* Adds a row of ncols cells (NULL prints as "-"); returns 0 or -1 when out of memory. */
int table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* Adds one row per record of an RRset object {"name","type","ttl","records"}: NAME TTL TYPE DATA,
 * with mark as a first column when not NULL ("+", "-"). */
int output_rrset_rows(struct table *t, json_t *rrset, const char *mark);

/* Seconds since the epoch as "2026-11-23T18:58:48Z". */
const char *output_time(json_t *seconds, char *buf, size_t cap);

/* The API's JSON, indented, for scripts. */
void output_json(json_t *v);

/* Prints an API error answer to stderr. sent is the JSON body the request carried (or NULL): a
 * field the error names ("records[1]", "rrsets[0].name") is looked up in it and its value quoted,
 * so the message says which record was refused. */
void output_api_error(const struct client_response *res, json_t *sent);
