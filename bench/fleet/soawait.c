/* soawait: waits, for many (server, zone) pairs at once, until each server serves the zone's SOA at
 * a serial (or a later one, RFC 1982), and says when. One UDP socket, a bounded number of queries in
 * flight, each pair asked again RETRY_MS after an answer that is not there yet. For bench/fleet:
 * tens of thousands of pairs cost the machine little next to the servers measured. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: soawait [-w WINDOW] [-r RETRY_MS] [-q QPS]\n"
    "  Commands on stdin, one a line:\n"
    "    want ID ADDR PORT ZONE SERIAL  wait until ADDR@PORT serves ZONE's SOA at SERIAL or later\n"
    "    stats                          prints \"stats sent=N answers=N\" (totals so far)\n"
    "    quit                           (or end of input) ends once nothing is wanted\n"
    "  Prints \"served ID T\" (T: CLOCK_MONOTONIC ns of the answer) for each, and \"stats sent=N\n"
    "  answers=N\" at the end. WINDOW: queries in flight (default 512); an unanswered one is sent\n"
    "  again after 300 ms. QPS: queries sent a second at most (0: no bound), so that polling many\n"
    "  pairs cannot load the servers it measures; a pair is asked again RETRY_MS after its last\n"
    "  answer, or later when the bound makes every waiting pair wait its turn.\n";

#define NAMEMAX 255
#define TIMEOUT_NS 300000000ull

struct target {
	long id;
	struct sockaddr_in addr;
	uint8_t q[12 + NAMEMAX + 4];
	size_t qlen;
	uint32_t serial;
	uint64_t next; /* ns: when to ask again */
	bool done;
};

static struct target *targets;
static size_t ntargets, captargets;
static size_t *ring; /* targets waiting to be asked, in order of next */
static size_t ringcap, rhead, rlen;
static struct {
	size_t t;
	uint64_t sent;
	bool used;
} slot[65536];
static size_t inflight, window = 512, open_targets;
static uint64_t retry_ns = 10000000ull, sent, answers;
static uint64_t qps; /* 0: no bound */
static double tokens; /* queries that may be sent now, under the bound */
static uint64_t tokens_at; /* ns: when tokens was last filled */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ring_push(size_t t)
{
	if (rlen == ringcap) {
		size_t ncap = ringcap ? ringcap * 2 : 1024;
		size_t *n = malloc(ncap * sizeof(*n));
		if (!n) {
			perror("soawait");
			exit(2);
		}
		for (size_t i = 0; i < rlen; i++)
			n[i] = ring[(rhead + i) % ringcap];
		free(ring);
		ring = n;
		ringcap = ncap;
		rhead = 0;
	}
	ring[(rhead + rlen++) % ringcap] = t;
}

static int encode_name(const char *text, uint8_t *out)
{
	size_t o = 0;
	const char *p = text;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + l + 2 > NAMEMAX)
			return -1;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	out[o++] = 0;
	return (int)o;
}

static int add(const char *line)
{
	long id;
	char addr[64], zone[NAMEMAX + 1];
	unsigned port;
	unsigned long serial;
	if (sscanf(line, "want %ld %63s %u %255s %lu", &id, addr, &port, zone, &serial) != 5)
		return -1;
	if (ntargets == captargets) {
		captargets = captargets ? captargets * 2 : 1024;
		targets = realloc(targets, captargets * sizeof(*targets));
		if (!targets) {
			perror("soawait");
			exit(2);
		}
	}
	struct target *t = &targets[ntargets];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->addr.sin_family = AF_INET;
	t->addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &t->addr.sin_addr) != 1)
		return -1;
	memset(t->q, 0, 12);
	t->q[5] = 1; /* QDCOUNT */
	int nl = encode_name(zone, t->q + 12);
	if (nl < 0)
		return -1;
	uint8_t *e = t->q + 12 + nl;
	e[0] = 0, e[1] = 6, e[2] = 0, e[3] = 1; /* SOA IN */
	t->qlen = 12 + (size_t)nl + 4;
	t->serial = (uint32_t)serial;
	t->next = 0;
	ring_push(ntargets++);
	open_targets++;
	return 0;
}

/* Skips a name at *at in msg; -1 when malformed. */
static int skip_name(const uint8_t *m, size_t len, size_t *at)
{
	while (*at < len) {
		uint8_t l = m[*at];
		if ((l & 0xC0) == 0xC0) {
			*at += 2;
			return *at <= len ? 0 : -1;
		}
		*at += 1u + l;
		if (l == 0)
			return 0;
	}
	return -1;
}

/* The serial of the first answer record when it is a SOA; -1 otherwise. */
static int64_t answer_serial(const uint8_t *m, size_t len)
{
	if (len < 12 || (m[3] & 0x0F) != 0 || (m[6] << 8 | m[7]) == 0)
		return -1;
	size_t at = 12;
	if (skip_name(m, len, &at) < 0)
		return -1;
	at += 4;
	if (skip_name(m, len, &at) < 0 || at + 10 > len || (m[at] << 8 | m[at + 1]) != 6)
		return -1;
	at += 10;
	if (skip_name(m, len, &at) < 0 || skip_name(m, len, &at) < 0 || at + 4 > len)
		return -1;
	return (int64_t)((uint32_t)m[at] << 24 | (uint32_t)m[at + 1] << 16 | (uint32_t)m[at + 2] << 8 | m[at + 3]);
}

static uint16_t next_slot;

static void send_due(int fd, uint64_t now)
{
	if (qps) {
		tokens += (double)(now - tokens_at) * (double)qps / 1e9;
		if (tokens > (double)qps / 100) /* at most 10 ms of queries at once */
			tokens = (double)qps / 100;
		tokens_at = now;
	}
	while (rlen && inflight < window && (!qps || tokens >= 1)) {
		size_t ti = ring[rhead];
		struct target *t = &targets[ti];
		if (t->next > now)
			break;
		while (slot[next_slot].used)
			next_slot++;
		uint16_t id = next_slot++;
		t->q[0] = (uint8_t)(id >> 8);
		t->q[1] = (uint8_t)id;
		if (sendto(fd, t->q, t->qlen, 0, (struct sockaddr *)&t->addr, sizeof(t->addr)) < 0 &&
		    (errno == EAGAIN || errno == ENOBUFS))
			break;
		rhead = (rhead + 1) % ringcap;
		rlen--;
		slot[id].t = ti;
		slot[id].sent = now;
		slot[id].used = true;
		inflight++;
		sent++;
		if (qps)
			tokens -= 1;
	}
}

static void receive(int fd)
{
	uint8_t buf[4096];
	struct sockaddr_in from;
	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 12)
			return;
		uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
		if (!slot[id].used)
			continue;
		struct target *t = &targets[slot[id].t];
		if (from.sin_port != t->addr.sin_port || from.sin_addr.s_addr != t->addr.sin_addr.s_addr)
			continue;
		answers++;
		uint64_t now = now_ns();
		slot[id].used = false;
		inflight--;
		int64_t s = answer_serial(buf, (size_t)n);
		if (s >= 0 && (uint32_t)((uint32_t)s - t->serial) < 0x80000000u) {
			t->done = true;
			open_targets--;
			printf("served %ld %llu\n", t->id, (unsigned long long)now);
		} else {
			t->next = now + retry_ns;
			ring_push(slot[id].t);
		}
	}
}

static void expire(uint64_t now)
{
	for (size_t i = 0; i < 65536; i++) {
		if (slot[i].used && now - slot[i].sent > TIMEOUT_NS) {
			slot[i].used = false;
			inflight--;
			targets[slot[i].t].next = now;
			ring_push(slot[i].t);
		}
	}
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "w:r:q:")) != -1) {
		if (opt == 'q')
			qps = strtoull(optarg, NULL, 10);
		else if (opt == 'w')
			window = strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			retry_ns = strtoull(optarg, NULL, 10) * 1000000ull;
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (window < 1 || window > 32768) {
		fputs(usage, stderr);
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, 9);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int big = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	bool input = true;
	char line[1024];
	size_t linelen = 0;
	uint64_t last_expire = now_ns();
	tokens_at = last_expire;
	while (input || open_targets) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
		int n = poll(p, input ? 2 : 1, 1);
		if (n < 0 && errno != EINTR)
			return 2;
		if (p[0].revents & POLLIN)
			receive(fd);
		if (input && (p[1].revents & (POLLIN | POLLHUP))) {
			char buf[65536];
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0)
				input = false;
			for (ssize_t i = 0; i < r; i++) {
				if (buf[i] != '\n') {
					if (linelen < sizeof(line) - 1)
						line[linelen++] = buf[i];
					continue;
				}
				line[linelen] = 0;
				linelen = 0;
				if (!strcmp(line, "quit"))
					input = false;
				else if (!strcmp(line, "stats"))
					printf("stats sent=%llu answers=%llu\n", (unsigned long long)sent,
					       (unsigned long long)answers);
				else if (add(line) < 0)
					fprintf(stderr, "soawait: bad line: %s\n", line);
			}
		}
		uint64_t now = now_ns();
		if (now - last_expire > 50000000ull) {
			expire(now);
			last_expire = now;
		}
		send_due(fd, now);
	}
	printf("stats sent=%llu answers=%llu\n", (unsigned long long)sent, (unsigned long long)answers);
	return 0;
}
