/* The monitor checker against real loopback listeners opened here: a TCP listener closed and
 * reopened, and a tiny HTTP responder whose status, body and delay the tests change. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include <cmocka.h>

#include "lib/error.h"
#include "ternd/base/event.h"
#include "ternd/dyn/monitor.h"

#define INTERVAL 300
#define TIMEOUT 200
static const uint8_t LOOPBACK[4] = {127, 0, 0, 1};

static const uint8_t LOOPBACK6[16] = {[15] = 1};

/* A listener on 127.0.0.1 (family 1) or ::1 (2) at port (0: any); *bound gets the port. */
static int listen_at(uint8_t family, uint16_t port, uint16_t *bound)
{
	int fd = socket(family == 1 ? AF_INET : AF_INET6, SOCK_STREAM, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr *sa = family == 1 ? (struct sockaddr *)&a : (struct sockaddr *)&a6;
	socklen_t alen = family == 1 ? sizeof(a) : sizeof(a6);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memcpy(&a.sin_addr, LOOPBACK, 4);
	memcpy(&a6.sin6_addr, LOOPBACK6, 16);
	assert_int_equal(bind(fd, sa, alen), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, sa, &alen), 0);
	*bound = ntohs(family == 1 ? a.sin_port : a6.sin6_port);
	return fd;
}

static int listen_on(uint16_t port, uint16_t *bound)
{
	return listen_at(1, port, bound);
}

/* ---- the HTTP responder ---- */

struct responder {
	int fd;
	uint16_t port;
	pthread_t tid;
	atomic_bool stop;
	atomic_int status, delay_ms, requests;
	atomic_int split; /* > 0: the body is written in two parts, the first this long, 30 ms apart */
	const char *_Atomic body;
	char request[1024]; /* the last request's head */
	pthread_mutex_t lock;
};

static void *respond(void *arg)
{
	struct responder *r = arg;
	while (!atomic_load(&r->stop)) {
		struct pollfd p = {r->fd, POLLIN, 0};
		if (poll(&p, 1, 20) <= 0)
			continue;
		int c = accept(r->fd, NULL, NULL);
		if (c < 0)
			continue;
		char head[1024];
		size_t n = 0;
		ssize_t got;
		while (n < sizeof(head) - 1 && (got = read(c, head + n, sizeof(head) - 1 - n)) > 0) {
			n += (size_t)got;
			head[n] = 0;
			if (strstr(head, "\r\n\r\n"))
				break;
		}
		head[n] = 0;
		pthread_mutex_lock(&r->lock);
		memcpy(r->request, head, n + 1);
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add(&r->requests, 1);
		int delay = atomic_load(&r->delay_ms);
		if (delay)
			nanosleep(&(struct timespec){delay / 1000, (long)(delay % 1000) * 1000000}, NULL);
		char out[512];
		const char *body = atomic_load(&r->body);
		int len =
		    snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		             atomic_load(&r->status), strlen(body), body);
		size_t first = (size_t)len, split = (size_t)atomic_load(&r->split);
		if (split && split < strlen(body))
			first = (size_t)len - strlen(body) + split;
		/* MSG_NOSIGNAL: a client gone (a timeout) is no SIGPIPE */
		if (send(c, out, first, MSG_NOSIGNAL) == (ssize_t)first && first < (size_t)len) {
			nanosleep(&(struct timespec){0, 30 * 1000 * 1000}, NULL);
			send(c, out + first, (size_t)len - first, MSG_NOSIGNAL);
		}
		close(c);
	}
	return NULL;
}

static void responder_start_at(struct responder *r, uint8_t family)
{
	memset(r, 0, sizeof(*r));
	r->fd = listen_at(family, 0, &r->port);
	atomic_store(&r->status, 200);
	atomic_store(&r->body, "all good here");
	pthread_mutex_init(&r->lock, NULL);
	assert_int_equal(pthread_create(&r->tid, NULL, respond, r), 0);
}

static void responder_start(struct responder *r)
{
	responder_start_at(r, 1);
}

static void responder_stop(struct responder *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->tid, NULL);
	close(r->fd);
	pthread_mutex_destroy(&r->lock);
}

/* ---- helpers ---- */

/* A prefix of monitors.allow from its text. */
static struct config_prefix prefix(const char *text)
{
	struct config_prefix p = {0};
	char host[64];
	const char *slash = strchr(text, '/');
	snprintf(host, sizeof(host), "%.*s", slash ? (int)(slash - text) : (int)strlen(text), text);
	p.family = strchr(host, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(p.family, host, p.addr), 1);
	p.len = slash ? (unsigned)atoi(slash + 1) : p.family == AF_INET ? 32 : 128;
	return p;
}

/* A registry whose policy allows the loopback addresses the tests listen on. */
static struct monitors *start(void)
{
	struct monitors *ms = NULL;
	char err[256];
	assert_int_equal(monitor_start(&ms, err, sizeof(err)), 0);
	struct config_prefix allow[2] = {prefix("127.0.0.0/8"), prefix("::1")};
	struct config_monitors conf = {allow, 2};
	assert_int_equal(monitor_set_policy(ms, &conf), 0);
	return ms;
}

static struct dyn_monitor tcp_monitor(uint16_t port, uint8_t up, uint8_t down)
{
	struct dyn_monitor m = {.kind = DYN_MON_TCP, .up = up, .down = down, .port = port};
	m.interval_ms = INTERVAL;
	m.timeout_ms = TIMEOUT;
	return m;
}

static struct dyn_monitor http_monitor(uint16_t port, const char *body)
{
	struct dyn_monitor m = {.kind = DYN_MON_HTTP, .up = 2, .down = 2, .port = port, .status = 200};
	m.interval_ms = INTERVAL;
	m.timeout_ms = TIMEOUT;
	snprintf(m.host, sizeof(m.host), "www.example.test");
	snprintf(m.path, sizeof(m.path), "/health?x=1");
	snprintf(m.body, sizeof(m.body), "%s", body);
	return m;
}

static bool up(struct monitors *ms, const struct dyn_monitor *m)
{
	rcu_thread_online(); /* the query path's rule: an online reader */
	bool is = monitor_up(ms, m, 1, LOOPBACK);
	rcu_thread_offline();
	return is;
}

static uint64_t now_ms(void)
{
	return ev_clock_ms();
}

/* The pair's view (the only pair of m's spec in family, 1: 127.0.0.1, 2: ::1); fails when absent. */
static struct monitor_view view_at(struct monitors *ms, const struct dyn_monitor *m, uint8_t family)
{
	struct monitor_view *v, found = {0};
	size_t n;
	bool seen = false;
	char spec[MONITOR_SPEC_MAX];
	monitor_spec_text(m, spec, sizeof(spec));
	assert_int_equal(monitor_list(ms, &v, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].spec, spec) == 0 && v[i].family == family) {
			found = v[i];
			seen = true;
		}
	}
	free(v);
	assert_true(seen);
	return found;
}

static struct monitor_view view(struct monitors *ms, const struct dyn_monitor *m)
{
	return view_at(ms, m, 1);
}

/* Waits (at most limit ms) until the pair's state is want; returns the ms waited. */
static uint64_t wait_state(struct monitors *ms, const struct dyn_monitor *m, enum monitor_state want, uint64_t limit)
{
	uint64_t t0 = now_ms();
	while (view(ms, m).state != want) {
		if (now_ms() - t0 > limit)
			fail_msg("state %s not reached within %llu ms (last: %s)", monitor_state_name(want),
			         (unsigned long long)limit, view(ms, m).last_result);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
	return now_ms() - t0;
}

/* Waits until the pair's last result is text (checks at least every 5 ms, so well within an
 * interval of it). */
static void wait_result(struct monitors *ms, const struct dyn_monitor *m, const char *text)
{
	uint64_t t0 = now_ms();
	while (strcmp(view(ms, m).last_result, text) != 0) {
		assert_true(now_ms() - t0 < 2000);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
}

static void wait_checked(struct monitors *ms, const struct dyn_monitor *m)
{
	uint64_t t0 = now_ms();
	while (view(ms, m).last_check == 0) {
		assert_true(now_ms() - t0 < 2000);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
}

/* ---- tests ---- */

static void test_unknown_pair_is_up(void **state)
{
	(void)state;
	struct monitors *ms = start();
	struct dyn_monitor m = tcp_monitor(9, 1, 1);
	assert_true(up(NULL, &m));
	assert_true(up(ms, &m));
	uint8_t v6[16] = {0};
	rcu_thread_online();
	assert_true(monitor_up(ms, &m, 2, v6));
	assert_true(monitor_up(ms, &m, 7, LOOPBACK)); /* no such family */
	rcu_thread_offline();
	m.interval_ms = 0; /* cannot run: refused, still up */
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), TERN_EINVAL);
	monitor_stop(ms);
}

/* A dead member starts unknown (= up) and stays so until `down` failures; then a TCP listener
 * closed goes down within interval x down + 1 s, and back up after `up` connects. */
static void test_tcp_down_and_up(void **state)
{
	(void)state;
	struct monitors *ms = start();
	uint16_t port;
	int fd = listen_on(0, &port);
	struct dyn_monitor m = tcp_monitor(port, 2, 3);
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	assert_true(up(ms, &m)); /* unknown, or up already: the first check runs at once */
	wait_state(ms, &m, MONITOR_UP, 2000);
	assert_string_equal(view(ms, &m).last_result, "ok: connected");

	close(fd);
	uint64_t t0 = now_ms();
	wait_result(ms, &m, "connect refused");
	assert_int_equal(view(ms, &m).state, MONITOR_UP); /* one failure of three */
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL * 3 + 1000);
	uint64_t took = now_ms() - t0; /* interval x down + 1 s at most; three failures, not one */
	assert_true(took >= INTERVAL * 2 - 50 && took <= INTERVAL * 3 + 1000);
	assert_false(up(ms, &m));
	assert_string_equal(view(ms, &m).last_result, "connect refused");
	assert_true(view(ms, &m).last_check > 0);

	fd = listen_on(port, &port);
	wait_result(ms, &m, "ok: connected");
	assert_int_equal(view(ms, &m).state, MONITOR_DOWN); /* one success of two */
	assert_false(up(ms, &m));
	wait_state(ms, &m, MONITOR_UP, INTERVAL + 1000);
	assert_true(up(ms, &m));
	close(fd);
	monitor_stop(ms);
}

static void test_initial_state_holds_until_down_failures(void **state)
{
	(void)state;
	struct monitors *ms = start();
	uint16_t port;
	close(listen_on(0, &port)); /* nothing listens there */
	struct dyn_monitor m = tcp_monitor(port, 1, 3);
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	wait_checked(ms, &m);
	struct monitor_view v = view(ms, &m);
	assert_string_equal(v.last_result, "connect refused");
	assert_int_equal(v.state, MONITOR_UNKNOWN);
	assert_true(up(ms, &m));
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL * 3 + 1000);
	monitor_stop(ms);
}

/* One pair as explain reads it: the registry's state, last check and result, whether it failed;
 * a pair no zone wants is not found. */
static void test_pair_state(void **state)
{
	(void)state;
	struct monitors *ms = start();
	uint16_t port;
	close(listen_on(0, &port)); /* nothing listens there */
	struct dyn_monitor m = tcp_monitor(port, 1, 1);
	struct monitor_pair p;
	assert_int_equal(monitor_pair_state(ms, &m, 1, LOOPBACK, &p), TERN_ENOTFOUND);
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL + 1000);
	assert_int_equal(monitor_pair_state(ms, &m, 1, LOOPBACK, &p), 0);
	struct monitor_view v = view(ms, &m);
	assert_int_equal(p.state, MONITOR_DOWN);
	assert_false(p.last_ok);
	assert_string_equal(p.last_result, "connect refused");
	assert_true(p.last_check > 0 && p.last_check <= v.last_check);
	uint8_t other[4] = {127, 0, 0, 2};
	assert_int_equal(monitor_pair_state(ms, &m, 1, other, &p), TERN_ENOTFOUND);
	assert_int_equal(monitor_pair_state(NULL, &m, 1, LOOPBACK, &p), TERN_ENOTFOUND);
	int fd = listen_on(port, &port);
	wait_state(ms, &m, MONITOR_UP, INTERVAL + 1000);
	assert_int_equal(monitor_pair_state(ms, &m, 1, LOOPBACK, &p), 0);
	assert_true(p.last_ok && p.state == MONITOR_UP);
	assert_string_equal(p.last_result, "ok: connected");
	close(fd);
	monitor_stop(ms);
}

/* HTTP: the monitor's host goes as Host to the member's address; status and body decide. */
static void test_http_status_and_body(void **state)
{
	(void)state;
	static struct responder r; /* a failing test leaves it running: not on the stack */
	responder_start(&r);
	struct monitors *ms = start();
	struct dyn_monitor m = http_monitor(r.port, "good");
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	wait_state(ms, &m, MONITOR_UP, 2000);
	assert_string_equal(view(ms, &m).last_result, "ok: status 200");
	pthread_mutex_lock(&r.lock);
	assert_non_null(strstr(r.request, "GET /health?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(r.request, "\r\nHost: www.example.test:"));
	pthread_mutex_unlock(&r.lock);

	atomic_store(&r.status, 503);
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL * 2 + 1000);
	assert_false(up(ms, &m));
	assert_string_equal(view(ms, &m).last_result, "status 503");

	atomic_store(&r.status, 200);
	wait_state(ms, &m, MONITOR_UP, INTERVAL * 2 + 1000);
	assert_true(up(ms, &m));

	atomic_store(&r.body, "bad things happen");
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL * 2 + 1000);
	assert_string_equal(view(ms, &m).last_result, "status 200, body without the text");

	atomic_store(&r.body, "it is all good now"); /* "go" in one read, "od" in the next */
	atomic_store(&r.split, 12);
	wait_state(ms, &m, MONITOR_UP, INTERVAL * 2 + 1000);
	monitor_stop(ms);
	responder_stop(&r);
}

static void test_http_timeout_is_a_failure(void **state)
{
	(void)state;
	static struct responder r; /* a failing test leaves it running: not on the stack */
	responder_start(&r);
	atomic_store(&r.delay_ms, TIMEOUT + 50); /* done before the next interval */
	struct monitors *ms = start();
	struct dyn_monitor m = http_monitor(r.port, "");
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL * 2 + 1000);
	assert_string_equal(view(ms, &m).last_result, "timeout after 200 ms");
	monitor_stop(ms);
	responder_stop(&r);
}

/* Monitors that differ in one field are separate pairs with separate states; a pair wanted twice
 * is checked once per interval; unwanted by all, it is checked no more and forgotten. */
static void test_pairs_are_keyed_whole_and_shared(void **state)
{
	(void)state;
	static struct responder r; /* a failing test leaves it running: not on the stack */
	responder_start(&r);
	struct monitors *ms = start();
	struct dyn_monitor good = http_monitor(r.port, "good"), bad = http_monitor(r.port, "absent");
	assert_int_equal(monitor_want(ms, &good, 1, LOOPBACK), 0);
	assert_int_equal(monitor_want(ms, &good, 1, LOOPBACK), 0);
	assert_int_equal(monitor_want(ms, &bad, 1, LOOPBACK), 0);
	wait_state(ms, &bad, MONITOR_DOWN, INTERVAL * 2 + 1000);
	assert_int_equal(view(ms, &good).state, MONITOR_UP);
	assert_true(up(ms, &good));
	assert_false(up(ms, &bad));
	assert_int_equal(view(ms, &good).users, 2);

	monitor_unwant(ms, &bad, 1, LOOPBACK);
	nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	int before = atomic_load(&r.requests);
	nanosleep(&(struct timespec){1, 0}, NULL); /* about 1000 / INTERVAL checks of one pair */
	int checks = atomic_load(&r.requests) - before;
	assert_in_range(checks, 1000 / INTERVAL - 1, 1000 / INTERVAL + 1);
	assert_true(up(ms, &bad)); /* forgotten: unknown again */

	monitor_unwant(ms, &good, 1, LOOPBACK);
	monitor_unwant(ms, &good, 1, LOOPBACK);
	nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	struct monitor_view *v;
	size_t n;
	assert_int_equal(monitor_list(ms, &v, &n), 0);
	assert_int_equal(n, 0);
	before = atomic_load(&r.requests);
	nanosleep(&(struct timespec){0, 2 * INTERVAL * 1000 * 1000}, NULL);
	assert_int_equal(atomic_load(&r.requests), before);
	monitor_stop(ms);
	responder_stop(&r);
}

/* A batch keeps a pair that loses its last user and regains one: its state stays. */
static void test_batch_keeps_state(void **state)
{
	(void)state;
	struct monitors *ms = start();
	uint16_t port;
	close(listen_on(0, &port));
	struct dyn_monitor m = tcp_monitor(port, 1, 2);
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	wait_state(ms, &m, MONITOR_DOWN, INTERVAL * 2 + 1000);
	monitor_batch_begin(ms);
	monitor_unwant(ms, &m, 1, LOOPBACK);
	nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	monitor_batch_end(ms);
	nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	assert_int_equal(view(ms, &m).state, MONITOR_DOWN); /* a new pair would be unknown for an interval */
	assert_false(up(ms, &m));
	monitor_stop(ms);
}

/* IPv6 members: the TCP connect and the HTTP GET reach [::1] (the HTTP one through the monitor's
 * host name, connected to the member), and a closed listener turns the pair down there too. */
static void test_ipv6_members(void **state)
{
	(void)state;
	static struct responder r;
	responder_start_at(&r, 2);
	struct monitors *ms = start();
	struct dyn_monitor http = http_monitor(r.port, "good"), tcp = tcp_monitor(r.port, 1, 1);
	assert_int_equal(monitor_want(ms, &http, 2, LOOPBACK6), 0);
	assert_int_equal(monitor_want(ms, &tcp, 2, LOOPBACK6), 0);
	uint64_t t0 = now_ms();
	while (view_at(ms, &http, 2).state != MONITOR_UP || view_at(ms, &tcp, 2).state != MONITOR_UP) {
		assert_true(now_ms() - t0 < 2000);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
	assert_string_equal(view_at(ms, &http, 2).address, "::1");
	assert_string_equal(view_at(ms, &http, 2).last_result, "ok: status 200");
	responder_stop(&r);
	t0 = now_ms();
	while (view_at(ms, &tcp, 2).state != MONITOR_DOWN) {
		assert_true(now_ms() - t0 < INTERVAL + 1000);
		nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
	}
	assert_string_equal(view_at(ms, &tcp, 2).last_result, "connect refused");
	rcu_thread_online();
	assert_false(monitor_up(ms, &tcp, 2, LOOPBACK6));
	assert_true(monitor_up(ms, &tcp, 1, LOOPBACK)); /* the same monitor at another address: unknown */
	rcu_thread_offline();
	monitor_stop(ms);
}

static void test_spec_text(void **state)
{
	(void)state;
	char text[MONITOR_SPEC_MAX];
	struct dyn_monitor m = http_monitor(8080, "say \"hi\"\n\xc3\xa9");
	monitor_spec_text(&m, text, sizeof(text));
	assert_string_equal(text,
	                    "http://www.example.test:8080/health?x=1 status 200 body \"say \\\"hi\\\"\\x0a\\xc3\\xa9\" "
	                    "interval 0.3 s timeout 0.2 s up 2 down 2");
	m = tcp_monitor(443, 1, 3);
	monitor_spec_text(&m, text, 20);
	assert_string_equal(text, "tcp port 443 interv");
}

/* Whether addr (text) may be probed under allow (n prefixes); why must then start with block. */
static void expect(const struct config_prefix *allow, size_t n, const char *addr, const char *block)
{
	uint8_t a[16];
	char why[128];
	uint8_t family = strchr(addr, ':') ? 2 : 1;
	assert_int_equal(inet_pton(family == 1 ? AF_INET : AF_INET6, addr, a), 1);
	bool ok = monitor_address_allowed(allow, n, family, a, why, sizeof(why));
	if (!block) {
		if (!ok)
			fail_msg("%s refused: %s", addr, why);
		return;
	}
	if (ok)
		fail_msg("%s allowed, expected refused by %s", addr, block);
	if (strncmp(why, block, strlen(block)) != 0)
		fail_msg("%s refused by %s, expected %s", addr, why, block);
}

static void test_address_policy(void **state)
{
	(void)state;
	/* the default: public unicast only */
	static const char *const refused[][2] = {
	    {"0.0.0.0", "0.0.0.0/8"},
	    {"10.1.2.3", "10.0.0.0/8"},
	    {"100.64.0.1", "100.64.0.0/10"},
	    {"100.127.255.255", "100.64.0.0/10"},
	    {"127.0.0.1", "127.0.0.0/8"},
	    {"127.255.255.254", "127.0.0.0/8"},
	    {"169.254.169.254", "169.254.0.0/16"},
	    {"172.16.0.1", "172.16.0.0/12"},
	    {"172.31.255.255", "172.16.0.0/12"},
	    {"192.168.1.1", "192.168.0.0/16"},
	    {"192.0.2.1", "192.0.2.0/24"},
	    {"198.51.100.7", "198.51.100.0/24"},
	    {"203.0.113.9", "203.0.113.0/24"},
	    {"198.19.0.1", "198.18.0.0/15"},
	    {"224.0.0.1", "224.0.0.0/4"},
	    {"239.255.255.250", "224.0.0.0/4"},
	    {"255.255.255.255", "240.0.0.0/4"},
	    {"192.0.0.9", "192.0.0.0/24"},
	    {"::", "::/8"},
	    {"::1", "::/8"},
	    {"::ffff:127.0.0.1", "::ffff:0:0/96 embedding 127.0.0.0/8"},
	    {"::ffff:169.254.169.254", "::ffff:0:0/96 embedding 169.254.0.0/16"},
	    {"64:ff9b::a00:1", "64:ff9b::/96 embedding 10.0.0.0/8"},
	    {"fd00::1", "fc00::/7"},
	    {"fc00::1", "fc00::/7"},
	    {"fe80::1", "fe80::/9"},
	    {"fec0::1", "fe80::/9"},
	    {"ff02::1", "ff00::/8"},
	    {"2001:db8::1", "2001:db8::/32"},
	    {"2001::1", "2001::/23"},
	    {"2002:7f00:1::1", "2002::/16"},
	    {"3fff::1", "3fff::/20"},
	    {"100::1", "outside 2000::/3"},
	    {"4000::1", "outside 2000::/3"},
	    {"64:ff9b:1::1", "::/8"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		expect(NULL, 0, refused[i][0], refused[i][1]);
	static const char *const public[] = {
	    "1.1.1.1",          "9.255.255.255", "11.0.0.0",        "100.63.255.255", "100.128.0.0",
	    "126.255.255.255",  "128.0.0.0",     "169.253.255.255", "172.15.255.255", "172.32.0.0",
	    "192.167.255.255",  "192.169.0.0",   "192.0.3.1",       "198.17.255.255", "198.20.0.0",
	    "223.255.255.255",  "2a00:1450::1",  "2001:200::1",     "2400:cb00::1",   "::ffff:8.8.8.8",
	    "64:ff9b::808:808", "2600::1"};
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		expect(NULL, 0, public[i], NULL);
	/* monitors.allow adds networks, bit-exact at the prefix's edge; IPv4 prefixes cover mapped forms */
	struct config_prefix allow[] = {prefix("127.0.0.0/8"), prefix("10.1.0.0/17"), prefix("fd00:1::/32"),
	                                prefix("192.0.2.7")};
	size_t n = sizeof(allow) / sizeof(allow[0]);
	expect(allow, n, "127.9.9.9", NULL);
	expect(allow, n, "::ffff:127.0.0.1", NULL);
	expect(allow, n, "10.1.127.255", NULL);
	expect(allow, n, "10.1.128.0", "10.0.0.0/8");
	expect(allow, n, "fd00:1:ffff::1", NULL);
	expect(allow, n, "fd00:2::1", "fc00::/7");
	expect(allow, n, "192.0.2.7", NULL);
	expect(allow, n, "192.0.2.8", "192.0.2.0/24");
	expect(allow, n, "::1", "::/8");
	expect(allow, n, "169.254.169.254", "169.254.0.0/16");
	struct config_prefix all[] = {prefix("0.0.0.0/0"), prefix("::/0")};
	expect(all, 2, "169.254.169.254", NULL);
	expect(all, 2, "ff02::1", NULL);
}

/* A pair the policy does not allow is never connected to and is down at once, with the reason;
 * a reload's policy that allows it starts it as a new pair, one that no longer does stops it. */
static void test_denied_pair_never_probed(void **state)
{
	(void)state;
	struct monitors *ms = NULL;
	char err[256];
	assert_int_equal(monitor_start(&ms, err, sizeof(err)), 0); /* no policy set: public only */
	uint16_t port;
	int fd = listen_on(0, &port);
	struct dyn_monitor m = tcp_monitor(port, 1, 3);
	assert_int_equal(monitor_want(ms, &m, 1, LOOPBACK), 0);
	wait_state(ms, &m, MONITOR_DOWN, 1000); /* at once, not after 3 failures */
	assert_string_equal(view(ms, &m).last_result, MONITOR_NOT_ALLOWED ": 127.0.0.0/8 (loopback)");
	assert_false(up(ms, &m));
	nanosleep(&(struct timespec){0, (INTERVAL * 3) * 1000 * 1000}, NULL);
	struct pollfd p = {fd, POLLIN, 0};
	assert_int_equal(poll(&p, 1, 0), 0); /* nobody connected */
	assert_int_equal(view(ms, &m).state, MONITOR_DOWN);

	struct config_prefix allow[1] = {prefix("127.0.0.1")};
	struct config_monitors conf = {allow, 1};
	assert_int_equal(monitor_set_policy(ms, &conf), 0);
	wait_state(ms, &m, MONITOR_UP, 1000);
	assert_string_equal(view(ms, &m).last_result, "ok: connected");
	assert_true(up(ms, &m));

	conf.nallow = 0;
	assert_int_equal(monitor_set_policy(ms, &conf), 0);
	wait_state(ms, &m, MONITOR_DOWN, 1000);
	assert_false(up(ms, &m));
	close(fd);
	monitor_stop(ms);
}

int main(void)
{
	rcu_register_thread();
	rcu_thread_offline();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_pair_is_up),
	    cmocka_unit_test(test_tcp_down_and_up),
	    cmocka_unit_test(test_initial_state_holds_until_down_failures),
	    cmocka_unit_test(test_pair_state),
	    cmocka_unit_test(test_http_status_and_body),
	    cmocka_unit_test(test_http_timeout_is_a_failure),
	    cmocka_unit_test(test_pairs_are_keyed_whole_and_shared),
	    cmocka_unit_test(test_batch_keeps_state),
	    cmocka_unit_test(test_ipv6_members),
	    cmocka_unit_test(test_spec_text),
	    cmocka_unit_test(test_address_policy),
	    cmocka_unit_test(test_denied_pair_never_probed),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rcu_thread_online();
	rcu_unregister_thread();
	return rc;
}
