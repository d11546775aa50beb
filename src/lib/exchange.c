/* One DNS exchange with one server over UDP or TCP within a deadline (see exchange.h). */
#include "lib/exchange.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/wire.h"

int64_t exchange_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events: 1 ready, 0 the deadline passed, -1 a poll error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - exchange_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0)
			return r < 0 ? -1 : 1;
	}
}

/* Sends or receives exactly n octets of a stream before the deadline. */
static int io_all(int fd, uint8_t *buf, size_t n, bool out, int64_t deadline, char *err, size_t errlen)
{
	size_t done = 0;
	while (done < n) {
		int r = wait_fd(fd, out ? POLLOUT : POLLIN, deadline);
		if (r <= 0) {
			snprintf(err, errlen, "TCP: %s", r == 0 ? "no answer (timeout)" : strerror(errno));
			return TERN_EIO;
		}
		ssize_t k = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "TCP: %s", k == 0 ? "connection closed early" : strerror(errno));
			return TERN_EIO;
		}
		done += (size_t)k;
	}
	return 0;
}

static int over_udp(int fd, const uint8_t *q, size_t qlen, int64_t deadline, uint8_t *a, size_t cap, size_t *len,
                    char *err, size_t errlen)
{
	if (send(fd, q, qlen, MSG_NOSIGNAL) < 0) {
		snprintf(err, errlen, "UDP: %s", strerror(errno));
		return TERN_EIO;
	}
	for (;;) {
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			snprintf(err, errlen, "UDP: %s", r == 0 ? "no answer (timeout)" : strerror(errno));
			return TERN_EIO;
		}
		ssize_t n = recv(fd, a, cap, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			snprintf(err, errlen, "UDP: %s", strerror(errno)); /* ECONNREFUSED: nothing listens */
			return TERN_EIO;
		}
		if (n >= 2 && memcmp(a, q, 2) == 0) { /* others are strays: wait on */
			*len = (size_t)n;
			return 0;
		}
	}
}

static int over_tcp(int fd, const uint8_t *q, size_t qlen, int64_t deadline, uint8_t *a, size_t cap, size_t *len,
                    char *err, size_t errlen)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	int r = wait_fd(fd, POLLOUT, deadline);
	if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		snprintf(err, errlen, "TCP: %s", r == 0 ? "no connection (timeout)" : strerror(soerr ? soerr : errno));
		return TERN_EIO;
	}
	uint8_t lb[2];
	wire_put16(lb, (uint16_t)qlen);
	if (io_all(fd, lb, 2, true, deadline, err, errlen) < 0 ||
	    io_all(fd, (uint8_t *)q, qlen, true, deadline, err, errlen) < 0 ||
	    io_all(fd, lb, 2, false, deadline, err, errlen) < 0)
		return TERN_EIO;
	size_t n = wire_get16(lb);
	if (n > cap) {
		snprintf(err, errlen, "TCP: an answer of %zu octets (at most %zu taken)", n, cap);
		return TERN_EIO;
	}
	if (io_all(fd, a, n, false, deadline, err, errlen) < 0)
		return TERN_EIO;
	*len = n;
	return 0;
}

int dns_exchange(const struct sockaddr *to, socklen_t tolen, const uint8_t *q, size_t qlen, bool tcp,
                 int64_t deadline_ms, uint8_t *a, size_t cap, size_t *len, char *err, size_t errlen)
{
	const char *via = tcp ? "TCP" : "UDP";
	if (qlen < 2 || qlen > 65535) {
		snprintf(err, errlen, "%s: a query of %zu octets", via, qlen);
		return TERN_EIO;
	}
	int fd = socket(to->sa_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: no socket: %s", via, strerror(errno));
		return TERN_EIO;
	}
	int rc = TERN_EIO;
	if (connect(fd, to, tolen) < 0 && errno != EINPROGRESS)
		snprintf(err, errlen, "%s: %s", via, strerror(errno));
	else if (tcp)
		rc = over_tcp(fd, q, qlen, deadline_ms, a, cap, len, err, errlen);
	else
		rc = over_udp(fd, q, qlen, deadline_ms, a, cap, len, err, errlen);
	close(fd);
	return rc;
}
