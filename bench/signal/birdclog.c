/* birdclog: stands for birdc in bench-signal. Appends "CHANNEL ACTION T" to $BENCH_SIGNAL_LOG (T:
 * CLOCK_MONOTONIC nanoseconds, the moment birdc is called; CHANNEL from $BENCH_SIGNAL_CHANNEL;
 * ACTION the first of enable/disable among the arguments), then execs birdc with the same arguments.
 * One write with O_APPEND, so the channels calling it at once do not mix their lines. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	const char *path = getenv("BENCH_SIGNAL_LOG"), *channel = getenv("BENCH_SIGNAL_CHANNEL");
	const char *action = "?";
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "enable") || !strcmp(argv[i], "disable")) {
			action = argv[i];
			break;
		}
	if (path) {
		char line[256];
		int n = snprintf(line, sizeof(line), "%s %s %lld\n", channel ? channel : "?", action,
		                 (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, line, (size_t)n) != n)
			perror(path);
		if (fd >= 0)
			close(fd);
	}
	argv[0] = "birdc";
	execvp("birdc", argv);
	perror("birdc");
	return 127;
}
