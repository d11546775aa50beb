/* Who holds the TCP connections: one entry per client (an IPv4 address, or an IPv6 /64), in a
 * chained hash table keyed with SipHash-2-4 under a random key, so no client can lengthen a chain. */
#include "ternd/base/clients.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define CLIENTS_BUCKETS_MIN 64
#define CLIENTS_BUCKETS_MAX ((size_t)1 << 16)

struct clients {
	struct client **buckets;
	size_t mask; /* buckets - 1, a power of two minus one */
	size_t count;
	uint64_t k0, k1; /* the SipHash key */
};

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

/* SipHash-2-4 of a key: one 8-byte word and a last word holding the ninth byte and the length. */
static uint64_t clients_hash(const struct clients *t, const uint8_t key[CLIENT_KEY_LEN])
{
	uint64_t v[4] = {t->k0 ^ 0x736f6d6570736575ULL, t->k1 ^ 0x646f72616e646f6dULL, t->k0 ^ 0x6c7967656e657261ULL,
	                 t->k1 ^ 0x7465646279746573ULL};
	uint64_t m[2] = {0, (uint64_t)CLIENT_KEY_LEN << 56 | key[8]};
	for (int i = 0; i < 8; i++)
		m[0] |= (uint64_t)key[i] << (8 * i);
	for (int i = 0; i < 2; i++) {
		v[3] ^= m[i];
		sip_round(v);
		sip_round(v);
		v[0] ^= m[i];
	}
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

int clients_key(const struct sockaddr *addr, uint8_t key[CLIENT_KEY_LEN])
{
	memset(key, 0, CLIENT_KEY_LEN);
	if (addr->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		return 0;
	}
	if (addr->sa_family != AF_INET6)
		return -1;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		key[0] = 4;
		memcpy(key + 1, a->s6_addr + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, a->s6_addr, 8); /* the /64: one host or one LAN (RFC 4291 2.5.1) */
	}
	return 0;
}

struct clients *clients_new(size_t expected)
{
	struct clients *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t n = CLIENTS_BUCKETS_MIN;
	while (n < expected && n < CLIENTS_BUCKETS_MAX)
		n *= 2;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	uint64_t k[2];
	if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
		/* no entropy yet (early boot): the clock is a weaker key, still unknown to clients */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)t;
		k[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)t->buckets;
	}
	t->k0 = k[0];
	t->k1 = k[1];
	return t;
}

void clients_free(struct clients *t)
{
	if (!t)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		for (struct client *c = t->buckets[i], *next; c; c = next) {
			next = c->next;
			free(c);
		}
	free(t->buckets);
	free(t);
}

struct client *clients_get(struct clients *t, const struct sockaddr *addr)
{
	uint8_t key[CLIENT_KEY_LEN];
	if (clients_key(addr, key) < 0)
		return NULL;
	struct client **b = &t->buckets[clients_hash(t, key) & t->mask];
	for (struct client *c = *b; c; c = c->next)
		if (!memcmp(c->key, key, CLIENT_KEY_LEN))
			return c;
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	memcpy(c->key, key, CLIENT_KEY_LEN);
	c->next = *b;
	*b = c;
	t->count++;
	return c;
}

void clients_put(struct clients *t, struct client *c)
{
	if (c->conns > 0)
		return;
	struct client **p = &t->buckets[clients_hash(t, c->key) & t->mask];
	while (*p != c)
		p = &(*p)->next;
	*p = c->next;
	free(c);
	t->count--;
}

size_t clients_count(const struct clients *t)
{
	return t->count;
}
