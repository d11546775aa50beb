/* Listening sockets for UDP and TCP, IPv4 and IPv6. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A bound UDP socket; reuseport lets several workers bind the same address. Returns fd or -1
 * with a message in err. */
int socket_udp(const struct sockaddr *addr, socklen_t len, bool reuseport, char *err, size_t errlen);
/* A bound, listening, non-blocking TCP socket. */
int socket_tcp(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);
/* "addr@port" or "[v6]:port" text of an address. */
void socket_addr_text(const struct sockaddr *addr, char *out, size_t cap);
