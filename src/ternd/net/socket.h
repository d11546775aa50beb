/* Listening sockets for UDP and TCP, IPv4 and IPv6. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* True for 0.0.0.0 and ::, where the reply's source address must be chosen per packet. */
bool socket_is_wildcard(const struct sockaddr *addr);
/* A bound UDP socket; reuseport lets several workers bind the same address. On a wildcard
 * address it also asks for each datagram's destination (IP_PKTINFO / IPV6_RECVPKTINFO) so
 * replies leave from the address that was asked. Returns fd or -1 with a message in err. */
int socket_udp(const struct sockaddr *addr, socklen_t len, bool reuseport, char *err, size_t errlen);
/* A bound, listening, non-blocking TCP socket. */
int socket_tcp(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen);
/* "127.0.0.1@5300" or "::1@5300": the text of an address as the configuration writes it. */
void socket_addr_text(const struct sockaddr *addr, char *out, size_t cap);

struct config;

/* The DNS sockets of every listen address: udp_workers UDP sockets (SO_REUSEPORT, one per worker)
 * and one TCP listener each. main binds them before ternd reads any network input, so that with
 * server.user the capability to bind a low port goes before the first packet is read; udp_start and
 * tcp_start then take them over (an fd taken is set to -1 here). */
struct dns_sockets {
	size_t naddr;
	unsigned udp_workers; /* per address; conf's udp_workers, or one per online CPU */
	int *udp; /* naddr * udp_workers, address by address */
	int *tcp; /* naddr */
	size_t ntls; /* server.tls.listen: one TCP listener each, taken over by tcp_start */
	int *tls;
};
int dns_sockets_bind(const struct config *conf, struct dns_sockets *out, char *err, size_t errlen);
/* Closes every fd not taken over and frees the arrays. */
void dns_sockets_close(struct dns_sockets *s);
