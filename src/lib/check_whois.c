/* tern check: WHOIS (RFC 3912) over TCP port 43 within a size and time cap, and the reader of its
 * free-text answer. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/check_input.h"
#include "lib/check_registry.h"
#include "lib/error.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* host, port from "host", "host:port", "[v6]:port". */
static int split_server(const char *server, char *host, size_t cap, char *port, size_t pcap)
{
	snprintf(port, pcap, "43");
	if (server[0] == '[') {
		const char *close = strchr(server, ']');
		if (!close || (size_t)(close - server) >= cap)
			return TERN_EINVAL;
		snprintf(host, cap, "%.*s", (int)(close - server - 1), server + 1);
		if (close[1] == ':')
			check_copy(port, pcap, close + 2);
		return 0;
	}
	const char *colon = strchr(server, ':');
	if (colon && colon == strrchr(server, ':')) {
		snprintf(host, cap, "%.*s", (int)(colon - server), server);
		check_copy(port, pcap, colon + 1);
	} else {
		check_copy(host, cap, server);
	}
	return host[0] ? 0 : TERN_EINVAL;
}

int check_whois_fetch(const char *server, const char *name, size_t cap, int timeout_ms, char **text, size_t *len,
                      char *err, size_t errlen)
{
	char host[256], port[16], query[300];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int fd = -1, rc = TERN_EIO;
	size_t n = 0;
	double deadline = now_ms() + timeout_ms;
	*text = NULL;
	*len = 0;
	if (split_server(server, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "WHOIS server \"%.100s\" is not host[:port]", server);
		return TERN_EINVAL;
	}
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai) {
		snprintf(err, errlen, "WHOIS server %s: %s", server, gai_strerror(gai));
		return TERN_EIO;
	}
	char *buf = malloc(cap + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		rc = TERN_ENOMEM;
		goto done;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)) {
		snprintf(err, errlen, "WHOIS server %s: %s", server, strerror(errno));
		goto done;
	}
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&p, 1, timeout_ms) <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		snprintf(err, errlen, "WHOIS server %s: %s", server, soerr ? strerror(soerr) : "connect timeout");
		goto done;
	}
	int qlen = snprintf(query, sizeof(query), "%s\r\n", name);
	if (send(fd, query, (size_t)qlen, MSG_NOSIGNAL) != qlen) {
		snprintf(err, errlen, "WHOIS server %s: %s", server, strerror(errno));
		goto done;
	}
	for (;;) {
		int left = (int)(deadline - now_ms());
		p.events = POLLIN;
		if (left <= 0 || poll(&p, 1, left) <= 0) {
			snprintf(err, errlen, "WHOIS server %s still sending after %d ms (%zu octets read): stopped",
			         server, timeout_ms, n);
			goto done;
		}
		if (n == cap) {
			snprintf(err, errlen, "WHOIS server %s sent more than %zu octets: stopped reading", server,
			         cap);
			goto done;
		}
		ssize_t k = recv(fd, buf + n, cap - n, 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0) {
			snprintf(err, errlen, "WHOIS server %s: %s", server, strerror(errno));
			goto done;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	rc = 0;
done:
	if (buf) {
		buf[n] = 0;
		*len = n;
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	*text = buf;
	return rc;
}

/* The value of "key: value" when line's key is one of keys (case-insensitive), else NULL. */
static const char *value_of(const char *line, size_t len, const char *const *keys, char *out, size_t cap)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return NULL;
	const char *k = line;
	while (k < colon && (*k == ' ' || *k == '\t'))
		k++;
	size_t klen = (size_t)(colon - k);
	bool match = false;
	for (int i = 0; keys[i] && !match; i++)
		match = strlen(keys[i]) == klen && strncasecmp(keys[i], k, klen) == 0;
	if (!match)
		return NULL;
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	size_t n = 0;
	for (; v < end && n + 1 < cap; v++) /* printable ASCII only: the text is shown on terminals */
		out[n++] = (*v >= 0x20 && *v < 0x7f) ? *v : '?';
	out[n] = 0;
	return n ? out : NULL;
}

int check_whois_parse(const char *text, size_t len, struct check_registration *out, char *refer, size_t refercap)
{
	static const char *const registrar_keys[] = {"Registrar", "Registrar Name", "registrar name",
	                                             "Sponsoring Registrar", NULL};
	static const char *const expiry_keys[] = {"Registry Expiry Date",
	                                          "Registrar Registration Expiration Date",
	                                          "Expiration Date",
	                                          "Expiry Date",
	                                          "paid-till",
	                                          "expires",
	                                          NULL};
	static const char *const ns_keys[] = {"Name Server", "nserver", "Nameserver", NULL};
	static const char *const refer_keys[] = {"refer", "whois", NULL};
	int found = 0;
	if (refer && refercap)
		refer[0] = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char v[256];
		if (!out->registrar[0] && value_of(p, l, registrar_keys, v, sizeof(v))) {
			check_copy(out->registrar, sizeof(out->registrar), v);
			found = 1;
		} else if (!out->expires[0] && value_of(p, l, expiry_keys, v, sizeof(v))) {
			check_copy(out->expires, sizeof(out->expires), v);
			found = 1;
		} else if (out->nns < CHECK_MAXNS && value_of(p, l, ns_keys, v, sizeof(v))) {
			char *sp = strpbrk(v, " \t"); /* "ns1.example.com 192.0.2.1" in some registries */
			char err[160];
			if (sp)
				*sp = 0;
			if (check_input_name(v, out->ns[out->nns], NULL, 0, err, sizeof(err)) == 0) {
				out->nns++;
				found = 1;
			}
		} else if (refer && refercap && !refer[0] && value_of(p, l, refer_keys, v, sizeof(v))) {
			check_copy(refer, refercap, v);
		}
		p += l + 1;
	}
	return found;
}
