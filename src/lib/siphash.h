/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, short-input PRF; DNS server
 * cookies (RFC 9018) are made with it. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

/* SipHash-2-4 of len octets at in under a 16-octet key. The reference implementation writes the
 * result little-endian: siphash24_bytes() does so. */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_SIZE], const void *in, size_t len);

/* The same, written as the reference's 8 output octets (little-endian). */
void siphash24_bytes(const uint8_t key[SIPHASH_KEY_SIZE], const void *in, size_t len, uint8_t out[8]);
