/* libFuzzer harness for transfers pipelined on one connection (src/ternd/xfrin/pull.c,
 * pull_pipeline()): the input is what a primary sends back on a kept connection to a batch of AXFR
 * and IXFR queries for example.com.; the reader takes the stream in frames and routes each message
 * to its transfer by message ID. The primary is a thread of this harness on the other end of a
 * socketpair, planted as the connection kept from before: it reads the batch's queries, writes the
 * input's messages with the IDs it asks for, then closes. A second connection (the retry of the
 * transfers not begun) goes to a path that does not exist, so it fails at once.
 *
 * Input: byte 0: bits 0-2 + 1 = the batch's transfers (1..8), bits 3-7 = which of the first five
 * are IXFR (we hold serial 1); then repeated [1 byte: the index (mod 8) of the query whose ID the
 * message gets, or >= 0xf0: the message keeps its own][2-byte big-endian length][message]; a length
 * running past the end takes what is left. */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/wire.h"
#include "lib/zone.h"
#include "ternd/base/event.h"
#include "ternd/xfrin/pull.h"

#define MAX_BATCH 8

static uint8_t apex[NAME_MAXLEN];
static struct pull_soa ours;
static struct config_listen nowhere; /* a new connection goes here: it fails at once */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_xfrin_pipeline: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	uint8_t mname[NAME_MAXLEN], rname[NAME_MAXLEN];
	int a = name_from_text(apex, "example.com.", NULL), m = name_from_text(mname, "ns1.example.com.", NULL),
	    r = name_from_text(rname, "h.example.com.", NULL);
	if (a < 0 || m < 0 || r < 0)
		fail("the names do not parse");
	/* our version's SOA: serial 1 */
	memcpy(ours.rdata, mname, (size_t)m);
	memcpy(ours.rdata + m, rname, (size_t)r);
	uint32_t fields[5] = {1, 7200, 900, 1209600, 300};
	for (int i = 0; i < 5; i++)
		wire_put32(ours.rdata + m + r + 4 * i, fields[i]);
	ours.len = (uint16_t)(m + r + 20);
	ours.ttl = 3600;
	struct sockaddr_un *un = (struct sockaddr_un *)&nowhere.addr;
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "/nonexistent/fuzz-xfrin-pipeline");
	nowhere.addrlen = sizeof(*un);
	snprintf(nowhere.text, sizeof(nowhere.text), "primary");
	return 0;
}

/* ---- the primary: reads n queries, then writes the input's messages ---- */

struct primary {
	int fd;
	size_t n;
	const uint8_t *in;
	size_t len;
};

static bool read_all(int fd, uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = recv(fd, buf, len, 0);
		if (k <= 0)
			return false;
		buf += k;
		len -= (size_t)k;
	}
	return true;
}

static void *primary_main(void *arg)
{
	struct primary *p = arg;
	uint16_t ids[MAX_BATCH];
	uint8_t buf[2 + 65535];
	for (size_t i = 0; i < p->n; i++) {
		if (!read_all(p->fd, buf, 2) || !read_all(p->fd, buf, wire_get16(buf)))
			goto out;
		ids[i] = wire_get16(buf);
	}
	for (size_t at = 0; at + 3 <= p->len;) {
		uint8_t which = p->in[at];
		size_t len = wire_get16(p->in + at + 1);
		at += 3;
		if (len > p->len - at)
			len = p->len - at;
		wire_put16(buf, (uint16_t)len);
		memcpy(buf + 2, p->in + at, len);
		if (which < 0xf0 && len >= 2)
			wire_put16(buf + 2, ids[(which % MAX_BATCH) % p->n]);
		at += len;
		if (send(p->fd, buf, len + 2, MSG_NOSIGNAL) < 0)
			break; /* the reader closed its end */
	}
out:
	close(p->fd);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = (size_t)(data[0] & 7) + 1;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair");
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		fail("fcntl");
	/* the connection kept from before, to "primary" */
	struct pull_conns conns;
	pull_conns_init(&conns);
	conns.n = 1;
	memcpy(&conns.slot[0].addr, &nowhere.addr, nowhere.addrlen);
	conns.slot[0].addrlen = nowhere.addrlen;
	conns.slot[0].fd = sv[0];
	conns.slot[0].used = ev_clock_ms();
	struct primary prim = {.fd = sv[1], .n = n, .in = data + 1, .len = size - 1};
	pthread_t t;
	if (pthread_create(&t, NULL, primary_main, &prim) != 0)
		fail("pthread_create");

	struct pull_peer peer = {.addr = &nowhere, .stop_fd = -1, .conns = &conns};
	struct pull_item items[MAX_BATCH];
	char errs[MAX_BATCH][256];
	for (size_t i = 0; i < n; i++) {
		bool ixfr = i < 5 && (data[0] >> (3 + i)) & 1;
		items[i] = (struct pull_item){
		    .apex = apex, .soa = ixfr ? &ours : NULL, .err = errs[i], .errlen = sizeof(errs[i])};
		memset(errs[i], 'x', sizeof(errs[i]));
	}
	pull_pipeline(&peer, items, n);
	pull_conns_close(&conns);
	pthread_join(t, NULL);

	for (size_t i = 0; i < n; i++) {
		struct pull_item *it = &items[i];
		if (it->rc < 0) {
			if (memchr(it->err, 0, it->errlen) == NULL || it->err[0] == 0)
				fail("a failed transfer without a NUL-terminated message");
			if (it->res.zone || it->res.diffs)
				fail("a failed transfer with a result");
			continue;
		}
		if (it->rc != 0)
			fail("rc neither 0 nor negative");
		if (it->stats.bytes > size)
			fail("more bytes counted than sent");
		switch (it->res.outcome) {
		case XFRP_ZONE:
			if (!it->res.zone || it->res.diffs)
				fail("a zone outcome without its zone");
			zone_free(it->res.zone);
			break;
		case XFRP_DIFFS:
			if (!it->soa || !it->res.diffs || it->res.zone)
				fail("diffs for an AXFR, or without them");
			xfrp_diffs_free(it->res.diffs);
			break;
		case XFRP_CURRENT:
			if (!it->soa || it->res.zone || it->res.diffs)
				fail("current for an AXFR, or with a result");
			break;
		default: fail("an unknown outcome");
		}
	}
	return 0;
}
