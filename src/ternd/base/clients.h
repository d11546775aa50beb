/* Who holds the TCP connections: one entry per client (an IPv4 address, or an IPv6 /64), with its
 * count and its idle connections, in a hash table whose secret key keeps chains short. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CLIENT_KEY_LEN 9 /* family, then the 4 bytes of IPv4 or the first 8 of IPv6 */

struct tcp_conn; /* tcp.c's */

struct client {
	struct client *next; /* hash chain */
	uint8_t key[CLIENT_KEY_LEN];
	size_t conns; /* connections open (tcp.c counts) */
	struct tcp_conn *idle_head, *idle_tail; /* its idle connections, idle longest first (tcp.c's) */
};

struct clients;

/* A table sized for about expected clients; NULL when out of memory. */
struct clients *clients_new(size_t expected);
/* Frees the table and every client in it. */
void clients_free(struct clients *t);
/* The client addr belongs to, added with no connections if new; NULL when out of memory or when
 * addr is neither IPv4 nor IPv6. */
struct client *clients_get(struct clients *t, const struct sockaddr *addr);
/* Forgets c if it has no connection left. */
void clients_put(struct clients *t, struct client *c);
/* How many clients the table holds. */
size_t clients_count(const struct clients *t);
/* The key of addr: its family and its IPv4 address or IPv6 /64 (an IPv4-mapped IPv6 address is
 * its IPv4 address); the HTTP API's per-address limit counts by it too. Returns -1 (key zeroed)
 * for another family. */
int clients_key(const struct sockaddr *addr, uint8_t key[CLIENT_KEY_LEN]);
