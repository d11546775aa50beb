/* Domain names in uncompressed wire form: comparison, case folding, hashing and text conversion. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAME_MAXLEN 255 /* octets, including the root label */
#define NAME_MAXLABEL 63 /* octets in one label */
#define NAME_MAXLABELS 128

/* Length of a well-formed wire name including the root label. */
size_t name_len(const uint8_t *name);
/* Number of labels, not counting the root. */
int name_labels(const uint8_t *name);
/* Checks that buf holds one complete wire name within len octets; returns its length or TERN_ENAME. */
int name_check(const uint8_t *buf, size_t len);
/* The name with its first label removed (the root for a single label, NULL for the root). */
const uint8_t *name_parent(const uint8_t *name);
/* Folds ASCII letters to lower case in place. */
void name_lower(uint8_t *name);
/* Copies len octets of a name folding ASCII letters to lower case. */
void name_lower_copy(uint8_t *dst, const uint8_t *src, size_t len);
/* Case-insensitive equality. */
bool name_equal(const uint8_t *a, const uint8_t *b);
/* True when sub equals parent or lies below it (case-insensitive). */
bool name_in(const uint8_t *sub, const uint8_t *parent);
/* RFC 4034 section 6.1 canonical order: <0, 0, >0. */
int name_cmp(const uint8_t *a, const uint8_t *b);
/* Hash of the lower-cased name; equal names hash equal regardless of case. */
uint32_t name_hash(const uint8_t *name);
/* The hashes of every suffix of a lower-cased name in one pass: out[i] = name_hash() of the name
 * without its first i labels (out[labels] is the root's). Returns the number of labels. */
int name_suffix_hashes(const uint8_t *lname, uint32_t out[NAME_MAXLABELS + 1]);
/* name_hash() of label.<name> from name_hash(name): one label's work. */
uint32_t name_hash_prepend(uint32_t hash, const uint8_t *label);
/* Reads an uncompressed name from the first avail octets of src in one pass: lower-cased to lout,
 * with the suffix hashes of the lower-cased name (as name_suffix_hashes()) and its number of
 * labels. Returns its length, or -1 when src does not
 * start with a whole uncompressed name of at most NAME_MAXLEN octets (a compression pointer, an
 * obsolete label type, too long, cut short): the caller then reads it the general way. */
int name_scan(const uint8_t *src, size_t avail, uint8_t lout[NAME_MAXLEN], uint32_t hashes[NAME_MAXLABELS + 1],
              int *labels);
/* True when the first label is '*'. */
bool name_is_wildcard(const uint8_t *name);
/* Parses presentation form ("www.example.com." or relative to origin when origin is non-NULL;
 * "@" is the origin). Handles \X and \DDD escapes. Returns the length or a negative TERN_E*. */
int name_from_text(uint8_t out[NAME_MAXLEN], const char *text, const uint8_t *origin);
/* Writes presentation form with a trailing dot; returns the text length or TERN_ESPACE. */
int name_to_text(const uint8_t *name, char *out, size_t cap);
