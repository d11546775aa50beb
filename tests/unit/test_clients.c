/* Unit tests for the TCP client table (src/ternd/base/clients.c): which addresses are one client
 * (an IPv4 address, an IPv6 /64, an IPv4-mapped address as its IPv4 address) and that a client
 * lives exactly as long as it has connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ternd/base/clients.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &a6->sin6_addr), 1);
		a6->sin6_family = AF_INET6;
	}
	return ss;
}

static struct client *get(struct clients *t, const char *text)
{
	struct sockaddr_storage ss = addr(text);
	return clients_get(t, (const struct sockaddr *)&ss);
}

static void test_which_addresses_are_one_client(void **state)
{
	(void)state;
	struct clients *t = clients_new(10);
	assert_non_null(t);
	struct client *a = get(t, "192.0.2.1");
	assert_non_null(a);
	a->conns++;
	assert_ptr_equal(get(t, "192.0.2.1"), a);
	assert_ptr_equal(get(t, "::ffff:192.0.2.1"), a); /* the same host through an IPv6 socket */
	assert_ptr_not_equal(get(t, "192.0.2.2"), a);
	struct client *b = get(t, "2001:db8:1:2::1");
	b->conns++;
	assert_ptr_equal(get(t, "2001:db8:1:2:ffff:ffff:ffff:ffff"), b); /* the same /64 */
	assert_ptr_not_equal(get(t, "2001:db8:1:3::1"), b); /* the next /64 */
	assert_ptr_not_equal(get(t, "::c000:201"), a); /* not IPv4-mapped: an IPv6 client */
	struct sockaddr_storage unix_addr = {.ss_family = AF_UNIX};
	assert_null(clients_get(t, (const struct sockaddr *)&unix_addr));
	clients_free(t);
}

static void test_a_client_lives_while_it_has_connections(void **state)
{
	(void)state;
	struct clients *t = clients_new(0);
	char text[32];
	/* more clients than buckets: chains hold them all */
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "10.0.%d.%d", i / 256, i % 256);
		struct client *c = get(t, text);
		assert_non_null(c);
		assert_int_equal(c->conns, 0);
		c->conns = 1;
	}
	assert_int_equal(clients_count(t), 1000);
	for (int i = 0; i < 1000; i += 2) {
		snprintf(text, sizeof(text), "10.0.%d.%d", i / 256, i % 256);
		struct client *c = get(t, text);
		assert_int_equal(c->conns, 1);
		clients_put(t, c); /* still has a connection: kept */
		c->conns = 0;
		clients_put(t, c);
	}
	assert_int_equal(clients_count(t), 500);
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "10.0.%d.%d", i / 256, i % 256);
		struct client *c = get(t, text);
		assert_int_equal(c->conns, i % 2 ? 1 : 0); /* the forgotten ones come back new */
	}
	clients_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_which_addresses_are_one_client),
	    cmocka_unit_test(test_a_client_lives_while_it_has_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
