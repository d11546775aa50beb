/* Records in presentation form: type mnemonics, one record's RDATA from and to text (libzscanner
 * parses, libknot prints), and whole zones exported as master files other servers load. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/zone.h"

/* Longest type text: "TYPE65535" and the longest mnemonics fit. */
#define RRTEXT_TYPE_MAXLEN 16

/* Type from a mnemonic ("mx", "HTTPS"; case-insensitive) or RFC 3597 "TYPE<n>". Meta types
 * (OPT, TSIG, TKEY, IXFR, AXFR, MAILA, MAILB, ANY, TYPE0) and unknown mnemonics give TERN_EINVAL. */
int rrtext_type_from_text(const char *text, uint16_t *type);
/* The mnemonic, or "TYPE<n>" for types without one; returns the text length or TERN_ESPACE. */
int rrtext_type_to_text(uint16_t type, char *out, size_t cap);

/* Parses one record's RDATA in presentation form ("10 mail", "\# 4 0a000001" for any type) into
 * wire form. Relative names resolve against origin (an absolute wire name; "@" is the origin);
 * owner (NULL = origin) is the record's owner. The text must be one line holding one
 * record: newlines and other control characters, and ';' '(' ')' outside quotes unless escaped,
 * are refused. A quoted string longer than 255 characters becomes several strings of at most 255
 * (libzscanner splits it). Writes *len bytes into rdata. Returns 0, TERN_EINVAL (bad text: err says why, e.g.
 * "bad RDATA for MX: ..."), TERN_ESPACE (more than cap bytes) or TERN_ENOMEM. */
int rrtext_rdata_from_text(const uint8_t *origin, const uint8_t *owner, uint16_t type, const char *text, uint8_t *rdata,
                           size_t cap, size_t *len, char *err, size_t errlen);

/* Presentation form of one record's RDATA: absolute names, one line, no comments, RRSIG times as
 * YYYYMMDDHHmmSS; types without a text form (and RDATA malformed for its type) in RFC 3597 form
 * "\# <len> <hex>". Returns the text length, or TERN_ESPACE when cap is too small, or TERN_ENOMEM. */
int rrtext_rdata_to_text(uint16_t type, const uint8_t *rdata, uint16_t len, char *out, size_t cap);

/* Receives exported text; returns 0 or a negative TERN_E* to stop the export. */
typedef int (*rrtext_write_fn)(void *ctx, const char *buf, size_t len);

/* Writes the zone as a master file: the SOA, then every other RRset in canonical order, one record
 * a line "owner<TAB>ttl<TAB>IN<TAB>TYPE<TAB>rdata", absolute names, no directives. Types every
 * mainstream server knows are written by mnemonic; others as "TYPE<n> \# ..." (RFC 3597).
 * DYN resources (lib/dyn.h) are written as their records (TYPE65301, RFC 3597: any server keeps
 * them, ternd reads them back). Returns 0 or a negative TERN_E* (a writer's own code passes
 * through) with err filled. */
int rrtext_export_zone(const struct zone *z, rrtext_write_fn write, void *ctx, char *err, size_t errlen);
/* flags for the _as forms: RRTEXT_EXPORT_PLAIN writes each DYN resource as a comment naming it
 * and its default answer as fixed A/AAAA records (for servers that do not interpret DYN). */
#define RRTEXT_EXPORT_PLAIN 1u
int rrtext_export_zone_as(const struct zone *z, unsigned flags, rrtext_write_fn write, void *ctx, char *err,
                          size_t errlen);
/* The same into a stdio stream; TERN_EIO when writing fails. */
int rrtext_export_zone_file(const struct zone *z, FILE *out, char *err, size_t errlen);
/* The same into memory: *text (malloc'd, NUL-terminated, the caller frees it) and *len are set
 * on success; on failure *text is NULL. */
int rrtext_export_zone_text(const struct zone *z, char **text, size_t *len, char *err, size_t errlen);
int rrtext_export_zone_text_as(const struct zone *z, unsigned flags, char **text, size_t *len, char *err,
                               size_t errlen);
