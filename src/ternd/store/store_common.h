/* What both store backends (store_sqlite*.c, store_pg*.c) check and compute alike: a caller's names
 * and strings taken (checked, names lower-cased), names printed in errors, and the sort key that
 * makes canonical order of names the databases' byte order. Inside the store module only. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"

#define STORE_SORT_KEY_MAX (2 * NAME_MAXLEN)
#define STORE_NAME_TEXT_MAX 1024 /* presentation form, escapes included */

/* RFC 4034 6.1 canonical order as plain byte order: the labels from the root down, each ended by
 * 00, with octet 00 written 01 01 and 01 written 01 02. An ancestor's key is a prefix of its
 * descendants' keys, so memcmp-then-length order (SQLite BLOB, PostgreSQL bytea) is canonical
 * order. The name must be lower-cased. Returns the key's length. */
int store_sort_key(const uint8_t *lname, uint8_t key[STORE_SORT_KEY_MAX]);
/* The key a page after the zone `after` starts from (none: the first page, *klen 0): key || 00 is
 * the smallest key above after's, so ">= it" is "> the cursor". 0, or TERN_ENAME with err. */
int store_cursor_key(const uint8_t *after, uint8_t key[STORE_SORT_KEY_MAX + 1], size_t *klen, char *err, size_t errlen);
/* Checks a caller's wire name and copies it lower-cased: its length, or TERN_ENAME ("bad WHAT name"). */
int store_take_name(const uint8_t *in, uint8_t out[NAME_MAXLEN], const char *what, char *err, size_t errlen);
/* The common start of a call on one zone: apex checked and lower-cased into lapex, and, when
 * lowner is given, owner into lowner, which must be inside the zone. 0 or a TERN_E* with err. */
int store_take_zone_names(const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                          uint8_t lowner[NAME_MAXLEN], char *err, size_t errlen);
/* Checks a caller's string: present, 1..max bytes. 0, or TERN_EINVAL naming what. */
int store_take_text(const char *s, size_t max, const char *what, char *err, size_t errlen);
/* The name in presentation form for a message, in buf. */
const char *store_name_text(const uint8_t *name, char buf[STORE_NAME_TEXT_MAX]);
