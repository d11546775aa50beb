/* logstamp: copies a server's log from stdin to FILE, each line prefixed with the CLOCK_MONOTONIC
 * ns at which it was read, so that bench/fleet can take a PoP's own word ("serial N served", as
 * ternd and Knot log it) at a finer grain than its poller and than the servers' own timestamps
 * (Knot's are whole seconds). The time is that of the read() that brought the line in: a server
 * writes each log line as it happens, so that is within a pipe hand-off of the event. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: logstamp FILE  (stdin's lines to FILE, each after \"NS \": CLOCK_MONOTONIC "
		      "ns at its read)\n",
		      stderr);
		return 2;
	}
	FILE *out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "logstamp: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	char buf[65536];
	size_t have = 0;
	int at_start = 1; /* the next byte out begins a line */
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		uint64_t t = now_ns();
		size_t end = have + (size_t)n, p = 0;
		for (size_t i = have; i < end; i++) {
			if (buf[i] != '\n')
				continue;
			if (at_start)
				fprintf(out, "%llu ", (unsigned long long)t);
			fwrite(buf + p, 1, i + 1 - p, out);
			at_start = 1;
			p = i + 1;
		}
		memmove(buf, buf + p, end - p);
		have = end - p;
		if (have == sizeof(buf)) { /* a line longer than the buffer: out in pieces, one stamp */
			if (at_start)
				fprintf(out, "%llu ", (unsigned long long)t);
			fwrite(buf, 1, have, out);
			at_start = 0;
			have = 0;
		}
		fflush(out);
	}
	if (have) {
		if (at_start)
			fprintf(out, "%llu ", (unsigned long long)now_ns());
		fwrite(buf, 1, have, out);
		fputc('\n', out);
	}
	return fclose(out) == 0 ? 0 : 1;
}
