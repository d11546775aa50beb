/* sd_notify(3)'s protocol by hand (sdnotify.h): no libsystemd for one datagram. */
#include "ternd/base/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdnotify(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = sdnotify_v(fmt, ap);
	va_end(ap);
	return rc;
}

int sdnotify_v(const char *fmt, va_list ap)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path)) {
		errno = EINVAL; /* systemd writes an absolute path or an abstract name */
		return -1;
	}
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = 0; /* abstract: the name's length counts, no terminating NUL */
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
	char msg[1024];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		errno = EMSGSIZE;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	ssize_t sent = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
	int saved = errno;
	close(fd);
	errno = saved;
	return sent == n ? 0 : -1;
}
