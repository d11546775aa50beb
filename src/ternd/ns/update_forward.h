/* An UPDATE for a secondary zone (ternd as a PoP) forwarded to the zone's primaries as received,
 * its TSIG intact (RFC 2136 6), and the primary's answer relayed unchanged. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NS_FORWARD_TIMEOUT_MS 2000 /* for every primary together */
#define NS_FORWARD_MAX 2 /* receiving threads forwarding at once; more are answered SERVFAIL */
#define NS_FORWARD_PRIMARIES 8 /* primaries tried, in the order configured */

/* Sends msg (len octets, as received) to each of the n primaries in turn, over TCP when tcp (two
 * octets of length before the message) else UDP, until one answers with a response of the same ID
 * before the deadline (NS_FORWARD_TIMEOUT_MS from the call): its length, with the response in out
 * (cap octets). 0 when none answered in time, or the answer did not fit: err then says why (for
 * the Extended DNS Error's text). Blocks the caller (who must not be an online RCU reader). */
size_t ns_update_forward(const uint8_t *msg, size_t len, bool tcp, const struct sockaddr_storage *primaries,
                         const socklen_t *lens, size_t n, uint8_t *out, size_t cap, char *err, size_t errlen);
