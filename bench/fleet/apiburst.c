/* apiburst: the burst's API changes for bench/fleet, from C: the same requests bench_fleet.py's
 * Python clients send (PUT www A, one keep-alive connection per client, the changes taken in
 * order), without an interpreter's CPU beside the servers measured on the same cores. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: apiburst -p PORT -t TOKEN_FILE [-c CLIENTS]\n"
    "  Reads the changes from stdin, one a line: \"C ZONE VALUE\"; sends each as\n"
    "  PUT /api/v1/zones/ZONE/rrsets/www/A {\"ttl\": 300, \"records\": [\"VALUE\"]} to 127.0.0.1@PORT\n"
    "  from CLIENTS concurrent clients (default 8), each its own keep-alive connection, taking the\n"
    "  changes in order. Prints \"answered C SERIAL T0\" as each is answered (T0: CLOCK_MONOTONIC ns\n"
    "  just before its request was written), then \"done\". An answer other than 2xx: its status and\n"
    "  the start of its body to stderr, exit 1.\n";

struct change {
	long c;
	char zone[256];
	char value[64];
};

static struct change *changes;
static size_t nchanges;
static atomic_size_t next_change;
static atomic_int failed;
static int port;
static char token[4096];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int connect_api(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One answer read whole: status, body (NUL-terminated in buf), whether the server closes. 0, or -1
 * when the connection ended or the answer cannot be read (no Content-Length). */
static int read_answer(int fd, char *buf, size_t cap, int *status, char **body, int *closes)
{
	size_t have = 0;
	char *end = NULL;
	while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
		if (have == cap - 1)
			return -1;
		ssize_t r = read(fd, buf + have, cap - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	*end = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	long length = -1;
	*closes = 0;
	for (char *line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		if (!strncasecmp(line + 2, "content-length:", 15))
			length = strtol(line + 17, NULL, 10);
		else if (!strncasecmp(line + 2, "connection:", 11) && strcasestr(line + 13, "close"))
			*closes = 1;
	}
	size_t head = (size_t)(end - buf) + 4;
	if (length < 0 || head + (size_t)length >= cap)
		return -1;
	while (have < head + (size_t)length) {
		ssize_t r = read(fd, buf + have, head + (size_t)length - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	buf[head + (size_t)length] = 0;
	*body = buf + head;
	return 0;
}

static void *client(void *arg)
{
	(void)arg;
	static _Thread_local char buf[65536];
	char req[8192];
	int fd = -1;
	for (;;) {
		size_t i = atomic_fetch_add(&next_change, 1);
		if (i >= nchanges || atomic_load(&failed))
			break;
		const struct change *ch = &changes[i];
		char body[128];
		int blen = snprintf(body, sizeof body, "{\"ttl\": 300, \"records\": [\"%s\"]}", ch->value);
		int rlen = snprintf(req, sizeof req,
		                    "PUT /api/v1/zones/%s/rrsets/www/A HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		                    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		                    "Content-Length: %d\r\n\r\n%s",
		                    ch->zone, port, token, blen, body);
		int status = 0, closes = 0;
		char *answer = NULL;
		unsigned long long t0 = 0;
		/* A kept connection the server closed while idle is opened again once */
		for (int attempt = 0; attempt < 2; attempt++) {
			if (fd < 0 && (fd = connect_api()) < 0)
				break;
			t0 = now_ns();
			if (write_all(fd, req, (size_t)rlen) == 0 &&
			    read_answer(fd, buf, sizeof buf, &status, &answer, &closes) == 0)
				break;
			close(fd);
			fd = -1;
			answer = NULL;
		}
		if (!answer || status < 200 || status >= 300) {
			fprintf(stderr, "apiburst: change %ld (%s): %s %d %.300s\n", ch->c, ch->zone,
			        answer ? "answered" : "no answer", status, answer ? answer : "");
			atomic_store(&failed, 1);
			break;
		}
		const char *s = strstr(answer, "\"serial\"");
		const char *colon = s ? strchr(s, ':') : NULL;
		if (!colon) {
			fprintf(stderr, "apiburst: change %ld (%s): no serial in %.300s\n", ch->c, ch->zone, answer);
			atomic_store(&failed, 1);
			break;
		}
		unsigned long serial = strtoul(colon + 1, NULL, 10);
		pthread_mutex_lock(&out_lock);
		printf("answered %ld %lu %llu\n", ch->c, serial, t0);
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
		if (closes) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *token_file = NULL;
	int clients = 8, opt;
	while ((opt = getopt(argc, argv, "p:t:c:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 't')
			token_file = optarg;
		else if (opt == 'c')
			clients = atoi(optarg);
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (port <= 0 || port > 65535 || !token_file || clients < 1 || clients > 256) {
		fputs(usage, stderr);
		return 2;
	}
	FILE *tf = fopen(token_file, "r");
	if (!tf || !fgets(token, sizeof token, tf)) {
		fprintf(stderr, "apiburst: cannot read the token from %s\n", token_file);
		return 2;
	}
	fclose(tf);
	token[strcspn(token, "\r\n")] = 0;
	size_t cap = 0;
	char line[512];
	while (fgets(line, sizeof line, stdin)) {
		if (nchanges == cap) {
			cap = cap ? cap * 2 : 1024;
			changes = realloc(changes, cap * sizeof *changes);
			if (!changes)
				return 2;
		}
		struct change *ch = &changes[nchanges];
		if (sscanf(line, "%ld %255s %63s", &ch->c, ch->zone, ch->value) != 3) {
			fprintf(stderr, "apiburst: a change must be \"C ZONE VALUE\": %s", line);
			return 2;
		}
		nchanges++;
	}
	pthread_t t[256];
	for (int i = 0; i < clients; i++)
		if (pthread_create(&t[i], NULL, client, NULL)) {
			fprintf(stderr, "apiburst: cannot start a client thread\n");
			return 2;
		}
	for (int i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	if (atomic_load(&failed))
		return 1;
	puts("done");
	return 0;
}
