/* Zone transfers out over TCP: AXFR (RFC 5936), and IXFR (RFC 1995) answered with the whole
 * zone, which RFC 1995 section 4 allows. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ternd/ns/query.h"
#include "ternd/server.h"

/* Whether msg asks for a zone transfer: a class IN AXFR or IXFR query (header and question
 * only); xfr_answer() answers exactly these. */
bool xfr_is_transfer(const uint8_t *msg, size_t len);
/* When msg is an AXFR or IXFR question, answers it: *out gets the whole answer as TCP frames (a
 * 16-bit length before each message; malloc'd), and 1 is returned. Returns 0 for any other
 * message (answer it with query_process), or a negative TERN_E* when out of memory. The caller
 * is an online RCU reader. */
int xfr_answer(const struct server *srv, const uint8_t *msg, size_t len, const struct query_client *client,
               uint8_t **out, size_t *outlen);
