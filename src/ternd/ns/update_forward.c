/* UPDATE forwarding (RFC 2136 6): the request passed on to a secondary zone's primaries octet for
 * octet (this server need not know its key, and its TSIG covers every octet) and the first answer
 * with the request's ID relayed as it came. One socket per exchange, non-blocking, polled until a
 * deadline shared by every primary. */
#include "ternd/ns/update_forward.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/wire.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events: 0, or -1 at the deadline or on an error. */
static int ready(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* Whether r (n octets) is the response to request q. */
static bool answers(const uint8_t *q, const uint8_t *r, size_t n)
{
	return n >= WIRE_HEADER_LEN && r[0] == q[0] && r[1] == q[1] && (wire_get16(r + 2) & WIRE_QR);
}

static size_t over_udp(int fd, const uint8_t *msg, size_t len, uint8_t *out, size_t cap, int64_t deadline)
{
	if (send(fd, msg, len, 0) != (ssize_t)len)
		return 0;
	for (;;) {
		if (ready(fd, POLLIN, deadline) < 0)
			return 0;
		ssize_t n = recv(fd, out, cap, MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return 0; /* ICMP unreachable, refused */
		if ((size_t)n <= cap && answers(msg, out, (size_t)n))
			return (size_t)n;
		/* a stray or oversized datagram: keep waiting for the answer */
	}
}

/* Writes or reads exactly n octets before the deadline. */
static bool transfer(int fd, uint8_t *buf, size_t n, bool write_it, int64_t deadline)
{
	size_t done = 0;
	while (done < n) {
		if (ready(fd, write_it ? POLLOUT : POLLIN, deadline) < 0)
			return false;
		ssize_t k = write_it ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
		if (k == 0)
			return false;
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (k > 0)
			done += (size_t)k;
	}
	return true;
}

static size_t over_tcp(int fd, const uint8_t *msg, size_t len, uint8_t *out, size_t cap, int64_t deadline)
{
	int so = 0;
	socklen_t sl = sizeof(so);
	if (ready(fd, POLLOUT, deadline) < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0 || so != 0)
		return 0;
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	if (!transfer(fd, prefix, 2, true, deadline) || !transfer(fd, (uint8_t *)msg, len, true, deadline))
		return 0;
	for (;;) { /* the first response with the request's ID (a primary sends nothing else) */
		if (!transfer(fd, prefix, 2, false, deadline))
			return 0;
		size_t n = (size_t)prefix[0] << 8 | prefix[1];
		if (n > cap || !transfer(fd, out, n, false, deadline))
			return 0;
		if (answers(msg, out, n))
			return n;
	}
}

size_t ns_update_forward(const uint8_t *msg, size_t len, bool tcp, const struct sockaddr_storage *primaries,
                         const socklen_t *lens, size_t n, uint8_t *out, size_t cap, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + NS_FORWARD_TIMEOUT_MS;
	snprintf(err, errlen, "no primary to forward the update to");
	for (size_t i = 0; i < n && now_ms() < deadline; i++) {
		int fd =
		    socket(primaries[i].ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "the update could not be forwarded: %s", strerror(errno));
			continue;
		}
		size_t got = 0;
		if (connect(fd, (const struct sockaddr *)&primaries[i], lens[i]) == 0 || errno == EINPROGRESS)
			got = tcp ? over_tcp(fd, msg, len, out, cap, deadline)
			          : over_udp(fd, msg, len, out, cap, deadline);
		close(fd);
		if (got)
			return got;
		snprintf(err, errlen, "the zone's primar%s did not answer the forwarded update (within %d ms)",
		         n == 1 ? "y" : "ies", NS_FORWARD_TIMEOUT_MS);
	}
	return 0;
}
