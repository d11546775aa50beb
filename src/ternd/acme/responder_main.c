/* tern-acme-responder: the stateless http-01 responder alone, for an ingress node that runs no
 * ternd. It needs only the ACME account's thumbprint (or the account key to compute it from). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternd/acme/acme_key.h"
#include "ternd/acme/acme_responder.h"

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: tern-acme-responder --listen ADDRESS:PORT [--listen ...] (--thumbprint T | --account-key FILE)\n"
	       "  --listen ADDRESS:PORT  where to answer http-01 challenges (IPv6 as [ADDRESS]:PORT); repeatable\n"
	       "  --thumbprint T         the ACME account key's RFC 7638 thumbprint (43 base64url characters)\n"
	       "  --account-key FILE     or the account key itself (PEM, EC P-256) to compute it from\n");
}

static int parse_addr(const char *s, struct acme_listen_addr *out)
{
	char host[64];
	const char *colon, *h = s;
	size_t hlen;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		return -1;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*v6);
	} else {
		return -1;
	}
	return 0;
}

static int thumbprint_of_file(const char *path, char out[ACME_THUMBPRINT_LEN + 1])
{
	char buf[16385], err[256];
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "tern-acme-responder: --account-key %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	EVP_PKEY *k = acme_key_from_pem(buf, n, err, sizeof(err));
	int rc = k ? acme_thumbprint(k, out, err, sizeof(err)) : -1;
	EVP_PKEY_free(k);
	memset(buf, 0, sizeof(buf));
	if (rc < 0)
		fprintf(stderr, "tern-acme-responder: --account-key %s: %s\n", path, err);
	return rc;
}

/* One line a reply: the peer, the status; nothing the client sent. */
static void log_reply(void *arg, const struct sockaddr_storage *peer, const struct acme_reply *r)
{
	(void)arg;
	char host[INET6_ADDRSTRLEN] = "?";
	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, host, sizeof(host));
	else if (peer->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, host, sizeof(host));
	printf("reply %d to %s%s\n", r->status, host, r->status == 200 ? " (key authorization)" : "");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct acme_listen_addr addrs[16];
	size_t n = 0;
	char thumb[ACME_THUMBPRINT_LEN + 1] = "", err[256];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!v) {
			usage(stderr);
			return 2;
		}
		i++;
		if (!strcmp(a, "--listen")) {
			if (n == sizeof(addrs) / sizeof(addrs[0]) || parse_addr(v, &addrs[n]) < 0) {
				fprintf(stderr, "tern-acme-responder: --listen %s: not ADDRESS:PORT (at most 16)\n", v);
				return 2;
			}
			n++;
		} else if (!strcmp(a, "--thumbprint")) {
			if (!acme_thumbprint_ok(v)) {
				fprintf(stderr, "tern-acme-responder: --thumbprint: not 43 base64url characters\n");
				return 2;
			}
			memcpy(thumb, v, sizeof(thumb));
		} else if (!strcmp(a, "--account-key")) {
			if (thumbprint_of_file(v, thumb) < 0)
				return 2;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (n == 0 || !thumb[0]) {
		usage(stderr);
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the thread starts: it inherits the mask */
	struct acme_listener *l;
	if (acme_listen_start(addrs, n, thumb, log_reply, NULL, &l, err, sizeof(err)) < 0) {
		fprintf(stderr, "tern-acme-responder: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char host[INET6_ADDRSTRLEN];
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i].addr;
		inet_ntop(sa->sa_family,
		          sa->sa_family == AF_INET ? (void *)&((struct sockaddr_in *)sa)->sin_addr
		                                   : (void *)&((struct sockaddr_in6 *)sa)->sin6_addr,
		          host, sizeof(host));
		printf("listening on %s%s%s:%u\n", sa->sa_family == AF_INET6 ? "[" : "", host,
		       sa->sa_family == AF_INET6 ? "]" : "", acme_listen_port(l, i));
	}
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	unsigned long c[3];
	acme_listen_counts(l, c);
	acme_listen_stop(l);
	printf("stopped on signal %d: %lu key authorizations, %lu not found, %lu other\n", sig, c[0], c[1], c[2]);
	return 0;
}
