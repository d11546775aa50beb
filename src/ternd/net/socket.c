/* Listening sockets for UDP and TCP, IPv4 and IPv6: socket options, bind, listen, and the text
 * of an address for logs and messages. */
#include "ternd/net/socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/error.h"
#include "ternd/base/config.h"

#define SOCKET_BUFSIZE (4 * 1024 * 1024) /* asked for; the kernel caps it at [rw]mem_max */
#define SOCKET_BACKLOG 1024

void socket_addr_text(const struct sockaddr *addr, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	if (cap == 0)
		return;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s@%u", ip, (unsigned)ntohs(a->sin_port));
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s@%u", ip, (unsigned)ntohs(a->sin6_port));
	} else {
		snprintf(out, cap, "(address family %d)", (int)addr->sa_family);
	}
}

/* "cannot <what> <addr>: <strerror(errno)>" into err. */
static void socket_error(const struct sockaddr *addr, const char *what, char *err, size_t errlen)
{
	int e = errno;
	char text[INET6_ADDRSTRLEN + 16], ebuf[128];
	socket_addr_text(addr, text, sizeof(text));
	snprintf(err, errlen, "cannot %s %s: %s", what, text, strerror_r(e, ebuf, sizeof(ebuf)));
}

static int socket_set(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* A socket of the address's family and type with the options both transports share. */
static int socket_open(const struct sockaddr *addr, int type, char *err, size_t errlen)
{
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		socket_error(addr, "use", err, errlen);
		return -1;
	}
	int fd = socket(addr->sa_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		socket_error(addr, "create a socket for", err, errlen);
		return -1;
	}
	if (socket_set(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) {
		socket_error(addr, "set SO_REUSEADDR on", err, errlen);
		goto fail;
	}
	/* v4 and v6 listeners on the same port must coexist, whatever net.ipv6.bindv6only says */
	if (addr->sa_family == AF_INET6 && socket_set(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0) {
		socket_error(addr, "set IPV6_V6ONLY on", err, errlen);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

bool socket_is_wildcard(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return ((const struct sockaddr_in *)addr)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (addr->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)addr)->sin6_addr);
	return false;
}

int socket_udp(const struct sockaddr *addr, socklen_t len, bool reuseport, char *err, size_t errlen)
{
	int fd = socket_open(addr, SOCK_DGRAM, err, errlen);
	if (fd < 0)
		return -1;
	if (socket_is_wildcard(addr)) {
		int rc = addr->sa_family == AF_INET ? socket_set(fd, IPPROTO_IP, IP_PKTINFO, 1)
		                                    : socket_set(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
		if (rc < 0) {
			socket_error(addr, "ask for packet destinations on", err, errlen);
			goto fail;
		}
	}
	if (reuseport && socket_set(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0) {
		socket_error(addr, "set SO_REUSEPORT on", err, errlen);
		goto fail;
	}
	/* best effort: a bigger queue absorbs bursts; without privileges the kernel caps it */
	(void)socket_set(fd, SOL_SOCKET, SO_RCVBUF, SOCKET_BUFSIZE);
	(void)socket_set(fd, SOL_SOCKET, SO_SNDBUF, SOCKET_BUFSIZE);
	if (bind(fd, addr, len) < 0) {
		socket_error(addr, "bind", err, errlen);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int socket_tcp(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen)
{
	int fd = socket_open(addr, SOCK_STREAM | SOCK_NONBLOCK, err, errlen);
	if (fd < 0)
		return -1;
	if (bind(fd, addr, len) < 0) {
		socket_error(addr, "bind", err, errlen);
		goto fail;
	}
	if (listen(fd, SOCKET_BACKLOG) < 0) {
		socket_error(addr, "listen on", err, errlen);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int dns_sockets_bind(const struct config *conf, struct dns_sockets *out, char *err, size_t errlen)
{
	unsigned workers = conf->udp_workers;
	if (workers == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		workers = n > 0 ? (unsigned)n : 1;
	}
	*out = (struct dns_sockets){.naddr = conf->nlisten, .udp_workers = workers};
	size_t nudp = conf->nlisten * workers;
	out->udp = malloc((nudp ? nudp : 1) * sizeof(int));
	out->tcp = malloc((conf->nlisten ? conf->nlisten : 1) * sizeof(int));
	out->tls = malloc((conf->tls.nlisten ? conf->tls.nlisten : 1) * sizeof(int));
	if (!out->udp || !out->tcp || !out->tls) {
		out->naddr = 0; /* nothing opened: the arrays hold no descriptor yet */
		dns_sockets_close(out);
		snprintf(err, errlen, "out of memory for the listening sockets");
		return TERN_ENOMEM;
	}
	for (size_t i = 0; i < nudp; i++)
		out->udp[i] = -1;
	for (size_t i = 0; i < conf->nlisten; i++)
		out->tcp[i] = -1;
	out->ntls = conf->tls.nlisten;
	for (size_t i = 0; i < out->ntls; i++)
		out->tls[i] = -1;
	for (size_t l = 0; l < out->ntls; l++)
		if ((out->tls[l] = socket_tcp((const struct sockaddr *)&conf->tls.listen[l].addr,
		                              conf->tls.listen[l].addrlen, err, errlen)) < 0)
			goto fail;
	/* TCP first, as before: whoever sees a UDP answer can connect over TCP */
	for (size_t l = 0; l < conf->nlisten; l++) {
		const struct sockaddr *addr = (const struct sockaddr *)&conf->listen[l].addr;
		if ((out->tcp[l] = socket_tcp(addr, conf->listen[l].addrlen, err, errlen)) < 0)
			goto fail;
		for (unsigned w = 0; w < workers; w++)
			if ((out->udp[l * workers + w] = socket_udp(addr, conf->listen[l].addrlen, true, err, errlen)) <
			    0)
				goto fail;
	}
	return 0;
fail:
	dns_sockets_close(out);
	return TERN_EIO;
}

void dns_sockets_close(struct dns_sockets *s)
{
	if (s->udp)
		for (size_t i = 0; i < s->naddr * s->udp_workers; i++)
			if (s->udp[i] >= 0)
				close(s->udp[i]);
	if (s->tcp)
		for (size_t i = 0; i < s->naddr; i++)
			if (s->tcp[i] >= 0)
				close(s->tcp[i]);
	if (s->tls)
		for (size_t i = 0; i < s->ntls; i++)
			if (s->tls[i] >= 0)
				close(s->tls[i]);
	free(s->udp);
	free(s->tcp);
	free(s->tls);
	*s = (struct dns_sockets){0};
}
