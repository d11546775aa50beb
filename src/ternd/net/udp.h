/* UDP transport: worker threads, one SO_REUSEPORT socket each per address, recvmmsg/sendmmsg. */
#pragma once
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/zones/server.h"

struct udp;

/* Binds every UDP listener once per worker and starts the workers. */
int udp_start(struct server *srv, const struct config *conf, unsigned workers, struct udp **out, char *err,
              size_t errlen);
/* Wakes, stops and joins the workers, closes the sockets. */
void udp_stop(struct udp *u);
