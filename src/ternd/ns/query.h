/* Answering one DNS message: parse, check, dispatch by opcode, write the response. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ternd/zones/server.h"

enum query_proto { PROTO_UDP, PROTO_TCP };

struct stats_block;

struct query_client {
	const struct sockaddr *addr;
	socklen_t addrlen;
	enum query_proto proto;
	struct stats_block *stats; /* the worker's counters; NULL counts nothing */
};

/* Answers msg into out (cap bytes, at least 512; 65535 for TCP). For UDP the response is also
 * limited by the client's EDNS size and the server's. Returns the response length, or 0 when
 * nothing must be sent (the message is a response, or too short to answer). The caller must be
 * an online RCU reader. No allocation. */
size_t query_process(const struct server *srv, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                     const struct query_client *client);
