/* One DNS exchange with one server, blocking within a deadline: the signer's parent DS checks,
 * the alias verifier and tern check all ask through it. No state. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* CLOCK_MONOTONIC in milliseconds: the clock of every deadline below. */
int64_t exchange_now_ms(void);

/* Sends the query q (qlen octets, no length prefix) to `to` over UDP, or over TCP with the
 * two-octet length prefix when tcp, and reads the answer into a (cap octets) before deadline_ms
 * (exchange_now_ms()'s clock). Over UDP the socket is connected and a datagram whose id is not
 * the query's is a stray: skipped, the wait goes on. 0 with *len, or TERN_EIO with err ("no
 * answer (timeout)", "connection refused", "connection closed early", a TCP answer larger than
 * cap): the text names the transport and the cause, not the server (the caller does). */
int dns_exchange(const struct sockaddr *to, socklen_t tolen, const uint8_t *q, size_t qlen, bool tcp,
                 int64_t deadline_ms, uint8_t *a, size_t cap, size_t *len, char *err, size_t errlen);
