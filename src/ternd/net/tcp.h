/* TCP transport (RFC 7766): one epoll thread, length-prefixed messages, several queries per
 * connection answered in order (pipelining), idle timeout, a cap on clients. */
#pragma once
#include <stddef.h>

#include "ternd/base/config.h"
#include "ternd/net/socket.h"
#include "ternd/zones/server.h"

struct tcp;

/* Starts the TCP thread on the listeners of socks (bound by dns_sockets_bind), taking them over;
 * conf gives the limits. */
int tcp_start(struct server *srv, const struct config *conf, struct dns_sockets *socks, struct tcp **out, char *err,
              size_t errlen);
/* A reload: conf's tcp-idle-timeout and tcp-max-clients-per-address, from the TCP thread's next
 * event on (listen addresses and tcp-max-clients need a restart). Any thread. */
void tcp_reload(struct tcp *t, const struct config *conf);
/* Stops and joins the thread, closes every connection and listener. */
void tcp_stop(struct tcp *t);
