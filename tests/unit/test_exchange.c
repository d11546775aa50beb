/* Unit tests for lib/exchange: over UDP a stray datagram (another id) is skipped and the answer
 * with the query's id taken; silence ends at the deadline; a refused port is named. Over TCP the
 * answer is read through its length prefix, one larger than the caller's buffer is refused, and
 * a connection closed early is named. A thread plays the server on loopback. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/exchange.h"
#include "lib/wire.h"

enum mode { UDP_STRAY_THEN_ANSWER, UDP_SILENT, TCP_ANSWER, TCP_HUGE, TCP_CLOSE };

struct server {
	int fd;
	enum mode mode;
	struct sockaddr_in addr;
};

static const uint8_t QUERY[] = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};

static void *serve(void *arg)
{
	struct server *s = arg;
	uint8_t buf[512];
	if (s->mode == UDP_STRAY_THEN_ANSWER || s->mode == UDP_SILENT) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 2 || s->mode == UDP_SILENT)
			return NULL;
		uint8_t stray[12] = {0x12, 0x34, 0x81, 0x80};
		sendto(s->fd, stray, sizeof(stray), 0, (struct sockaddr *)&from, fl);
		buf[2] |= 0x80;
		sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		return NULL;
	}
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	ssize_t n = recv(c, buf, 2 + sizeof(QUERY), MSG_WAITALL); /* the prefixed query */
	(void)n;
	if (s->mode == TCP_ANSWER) {
		uint8_t a[2 + sizeof(QUERY)];
		wire_put16(a, sizeof(QUERY));
		memcpy(a + 2, QUERY, sizeof(QUERY));
		a[4] |= 0x80;
		send(c, a, sizeof(a), MSG_NOSIGNAL);
	} else if (s->mode == TCP_HUGE) {
		uint8_t a[2];
		wire_put16(a, 4000);
		send(c, a, sizeof(a), MSG_NOSIGNAL);
	}
	close(c);
	return NULL;
}

static void start(struct server *s, int type, enum mode mode, pthread_t *t)
{
	s->mode = mode;
	s->fd = socket(AF_INET, type, 0);
	assert_true(s->fd >= 0);
	memset(&s->addr, 0, sizeof(s->addr));
	s->addr.sin_family = AF_INET;
	s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&s->addr, sizeof(s->addr)), 0);
	socklen_t al = sizeof(s->addr);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&s->addr, &al), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(pthread_create(t, NULL, serve, s), 0);
}

static int ask(struct server *s, bool tcp, int timeout_ms, uint8_t *a, size_t cap, size_t *len, char *err)
{
	return dns_exchange((struct sockaddr *)&s->addr, sizeof(s->addr), QUERY, sizeof(QUERY), tcp,
	                    exchange_now_ms() + timeout_ms, a, cap, len, err, 160);
}

static void udp_stray_skipped(void **state)
{
	(void)state;
	struct server s;
	pthread_t t;
	start(&s, SOCK_DGRAM, UDP_STRAY_THEN_ANSWER, &t);
	uint8_t a[512];
	size_t len = 0;
	char err[160] = "";
	assert_int_equal(ask(&s, false, 2000, a, sizeof(a), &len, err), 0);
	assert_int_equal(len, sizeof(QUERY));
	assert_int_equal(wire_get16(a), 0xbeef);
	assert_true(a[2] & 0x80);
	pthread_join(t, NULL);
	close(s.fd);
}

static void udp_silence_times_out(void **state)
{
	(void)state;
	struct server s;
	pthread_t t;
	start(&s, SOCK_DGRAM, UDP_SILENT, &t);
	uint8_t a[512];
	size_t len = 0;
	char err[160] = "";
	int64_t t0 = exchange_now_ms();
	assert_int_equal(ask(&s, false, 150, a, sizeof(a), &len, err), TERN_EIO);
	int64_t took = exchange_now_ms() - t0;
	assert_true(took >= 150 && took < 2000);
	assert_string_equal(err, "UDP: no answer (timeout)");
	pthread_join(t, NULL);
	close(s.fd);
}

static void udp_refused_named(void **state)
{
	(void)state;
	struct server s;
	pthread_t t;
	start(&s, SOCK_DGRAM, UDP_SILENT, &t);
	uint8_t stop = 0;
	sendto(s.fd, &stop, 1, 0, (struct sockaddr *)&s.addr, sizeof(s.addr)); /* ends serve() */
	pthread_join(t, NULL);
	close(s.fd); /* nothing listens on the port now */
	uint8_t a[512];
	size_t len = 0;
	char err[160] = "";
	assert_int_equal(ask(&s, false, 1000, a, sizeof(a), &len, err), TERN_EIO);
	assert_string_equal(err, "UDP: Connection refused");
}

static void tcp_answer_read(void **state)
{
	(void)state;
	struct server s;
	pthread_t t;
	start(&s, SOCK_STREAM, TCP_ANSWER, &t);
	uint8_t a[512];
	size_t len = 0;
	char err[160] = "";
	assert_int_equal(ask(&s, true, 2000, a, sizeof(a), &len, err), 0);
	assert_int_equal(len, sizeof(QUERY));
	assert_int_equal(wire_get16(a), 0xbeef);
	pthread_join(t, NULL);
	close(s.fd);
}

static void tcp_answer_over_cap_refused(void **state)
{
	(void)state;
	struct server s;
	pthread_t t;
	start(&s, SOCK_STREAM, TCP_HUGE, &t);
	uint8_t a[512];
	size_t len = 0;
	char err[160] = "";
	assert_int_equal(ask(&s, true, 2000, a, sizeof(a), &len, err), TERN_EIO);
	assert_string_equal(err, "TCP: an answer of 4000 octets (at most 512 taken)");
	pthread_join(t, NULL);
	close(s.fd);
}

static void tcp_closed_early_named(void **state)
{
	(void)state;
	struct server s;
	pthread_t t;
	start(&s, SOCK_STREAM, TCP_CLOSE, &t);
	uint8_t a[512];
	size_t len = 0;
	char err[160] = "";
	assert_int_equal(ask(&s, true, 2000, a, sizeof(a), &len, err), TERN_EIO);
	assert_true(strcmp(err, "TCP: connection closed early") == 0 || strstr(err, "reset") != NULL);
	pthread_join(t, NULL);
	close(s.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(udp_stray_skipped),           cmocka_unit_test(udp_silence_times_out),
	    cmocka_unit_test(udp_refused_named),           cmocka_unit_test(tcp_answer_read),
	    cmocka_unit_test(tcp_answer_over_cap_refused), cmocka_unit_test(tcp_closed_early_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
