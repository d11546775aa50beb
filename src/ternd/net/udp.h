/* UDP transport: worker threads, one SO_REUSEPORT socket each per address, recvmmsg/sendmmsg. */
#pragma once
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/net/socket.h"
#include "ternd/zones/server.h"

struct udp;

/* Starts one worker per UDP socket of socks (bound by dns_sockets_bind), taking them over. */
int udp_start(struct server *srv, struct dns_sockets *socks, struct udp **out, char *err, size_t errlen);
/* Wakes, stops and joins the workers, closes the sockets. */
void udp_stop(struct udp *u);
