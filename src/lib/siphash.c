/* SipHash-2-4: two compression rounds per 8-octet word, four finalization rounds, written from the
 * paper's description (https://131002.net/siphash/siphash.pdf, section 2). The state stays in four
 * locals (the rounds are forced inline) so it lives in registers. */
#include "lib/siphash.h"

#include <string.h>

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* One SipRound on the state. */
__attribute__((always_inline)) static inline void sipround(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3)
{
	*v0 += *v1;
	*v1 = rotl(*v1, 13) ^ *v0;
	*v0 = rotl(*v0, 32);
	*v2 += *v3;
	*v3 = rotl(*v3, 16) ^ *v2;
	*v0 += *v3;
	*v3 = rotl(*v3, 21) ^ *v0;
	*v2 += *v1;
	*v1 = rotl(*v1, 17) ^ *v2;
	*v2 = rotl(*v2, 32);
}

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_SIZE], const void *in, size_t len)
{
	const uint8_t *p = in;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull, v2 = k0 ^ 0x6c7967656e657261ull,
	         v3 = k1 ^ 0x7465646279746573ull;
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = load_le64(p + i);
		v3 ^= m;
		sipround(&v0, &v1, &v2, &v3);
		sipround(&v0, &v1, &v2, &v3);
		v0 ^= m;
	}
	/* the last word: the remaining octets, the length's low octet on top */
	uint64_t b = (uint64_t)(len & 0xff) << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[whole + i] << (8 * i);
	v3 ^= b;
	sipround(&v0, &v1, &v2, &v3);
	sipround(&v0, &v1, &v2, &v3);
	v0 ^= b;
	v2 ^= 0xff;
	sipround(&v0, &v1, &v2, &v3);
	sipround(&v0, &v1, &v2, &v3);
	sipround(&v0, &v1, &v2, &v3);
	sipround(&v0, &v1, &v2, &v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

void siphash24_bytes(const uint8_t key[SIPHASH_KEY_SIZE], const void *in, size_t len, uint8_t out[8])
{
	uint64_t h = siphash24(key, in, len);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}
