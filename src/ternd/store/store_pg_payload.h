/* The payload of the PostgreSQL store's NOTIFY tern_zone between processes on one database: "NODE
 * APEX", the sender's id (16 hex digits) and the changed zone's apex in wire form (hex). Written by
 * one ternd, read by every other: the reader takes it as untrusted (fuzz_pg_payload). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/name.h"

#define PG_PAYLOAD_MAX (16 + 1 + 2 * NAME_MAXLEN + 1)

/* node and the wire name lapex into out (PG_PAYLOAD_MAX octets). */
void pg_payload_write(uint64_t node, const uint8_t *lapex, char out[PG_PAYLOAD_MAX]);
/* payload (NUL-terminated) read: 1 with *node and apex (a well-formed wire name), or 0 when it does
 * not parse. */
int pg_payload_read(const char *payload, uint64_t *node, uint8_t apex[NAME_MAXLEN]);
