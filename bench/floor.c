/* floor: the kernel's own cost of a UDP DNS answer. Receives datagrams in recvmmsg batches, flips
 * the QR bit of each and sends them back with sendmmsg; nothing else. Usage: floor ADDR PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define MSG_MAX 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: floor ADDR PORT\n");
		return 2;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "floor: bad address %s\n", argv[1]);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("floor: socket/bind");
		return 1;
	}
	/* SIGTERM interrupts recvmmsg (no SA_RESTART) so the process exits through main's return. */
	struct sigaction act = {.sa_handler = on_signal};
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);

	static unsigned char buf[BATCH][MSG_MAX];
	static struct sockaddr_in peers[BATCH];
	static struct iovec iov[BATCH];
	static struct mmsghdr msgs[BATCH];
	while (!stop) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){buf[i], MSG_MAX};
			msgs[i].msg_hdr = (struct msghdr){.msg_name = &peers[i], .msg_namelen = sizeof(peers[i]),
			                                  .msg_iov = &iov[i], .msg_iovlen = 1};
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_len >= 12)
				buf[i][2] |= 0x80; /* QR */
			iov[i].iov_len = msgs[i].msg_len;
		}
		for (int sent = 0; sent < n;) {
			int r = sendmmsg(fd, msgs + sent, (unsigned)(n - sent), 0);
			sent += r > 0 ? r : 1; /* skip a datagram the kernel refused */
		}
	}
	close(fd);
	return 0;
}
