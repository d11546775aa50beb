/* tern check: one DNS query to one server (UDP, TCP when the answer is truncated, a deadline),
 * its answer decoded into records in presentation form. Used by every check; no state. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define CHECK_NAME_TEXT 256 /* a name in presentation form, with its trailing dot and NUL */
#define CHECK_RDATA_TEXT 512 /* a value as a report shows it (an address, a DS, a TXT's strings) */
/* A record's RDATA text as an answer holds it (struct check_rr), and a DNSKEY kept by tern hints:
 * long enough for every DNSKEY and RRSIG the checks verify (lib/dnssec.c takes RSA up to 4,096 bits,
 * RFC 3110 2 and RFC 5702), whole. The worst cases, in characters:
 *   DNSKEY: "65535 255 255 " (14) + base64 of a DNSSEC_PUBKEY_MAX (1,027 octets: exponent length,
 *           exponent and modulus of 512 octets each) key field (1,372) + NUL = 1,387;
 *           RSA-4096 with exponent 65537 (516 octets): 14 + 688 + 1 = 703;
 *   RRSIG:  type (10, "NSEC3PARAM") + algorithm, labels (3 each) + original TTL (10) + expiration and
 *           inception (14 each) + key tag (5) + 7 spaces + signer (255, CHECK_NAME_TEXT - 1) + space
 *           + base64 of a DNSSEC_SIG_MAX (512 octets, RSA-4096) signature (684) + NUL = 1,007.
 * 1,408 (11 x 128) leaves 21 characters over the larger (check_dnssec.c asserts the sums). Longer
 * RDATA (up to 65,535 octets from a hostile server) is marked cut, and its records reported as too
 * long to verify. */
#define CHECK_RR_TEXT 1408
#define CHECK_ADDR_TEXT 64
#define CHECK_MAXRR 128 /* records kept from one answer (the rest are counted, not kept) */

/* Copies a NUL-terminated string into dst of cap octets, cut to fit (cap > 0). */
static inline void check_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Copies a record's RDATA text (CHECK_RR_TEXT) into a value of cap octets (a report's
 * CHECK_RDATA_TEXT), or, when it does not fit, a note of its length: never a value silently cut. */
static inline void check_copy_rdata(char *dst, size_t cap, const char *data)
{
	size_t n = strlen(data);
	if (n < cap)
		memcpy(dst, data, n + 1);
	else
		snprintf(dst, cap, "(%zu characters, too long to show)", n);
}

/* A server's address: "198.18.10.1", "198.18.10.1:5300", "[2001:db8::1]:53". */
struct check_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[CHECK_ADDR_TEXT]; /* as printed: address, and :port when not 53 */
};

enum check_section { CHECK_ANSWER = 1, CHECK_AUTHORITY = 2, CHECK_ADDITIONAL = 3 };

struct check_rr {
	char owner[CHECK_NAME_TEXT];
	uint8_t section;
	bool cut; /* data is a note: the RDATA was too long to show (not the record); over CHECK_RR_TEXT */
	uint16_t type;
	uint32_t ttl;
	char data[CHECK_RR_TEXT]; /* RDATA in presentation form, names absolute */
};

/* What one server said, or why it said nothing (ok false, error filled). */
struct check_answer {
	bool ok; /* a well-formed answer to our question arrived */
	bool aa, tc, tcp; /* tcp: the answer came over TCP (after TC over UDP) */
	int rcode;
	double ms; /* from the first send to the answer (both transports) */
	int nrr; /* records kept in rr */
	int dropped; /* records past CHECK_MAXRR */
	struct check_rr rr[CHECK_MAXRR];
	char error[160]; /* "timeout after 2000 ms", "connection refused", "malformed answer" */
};

/* Parses an address with an optional port (default_port when none). 0 or TERN_EINVAL with err. */
int check_addr_parse(const char *text, uint16_t default_port, struct check_addr *out, char *err, size_t errlen);

/* Query flags: RD set (a resolver), DO set (RRSIGs wanted). */
#define CHECK_RD 1u
#define CHECK_DO 2u

/* Asks server for qname (presentation form) / qtype with flags (CHECK_RD, CHECK_DO; true is
 * CHECK_RD), with EDNS(0) (1232 octets); over TCP when the UDP answer has TC. timeout_ms bounds
 * the whole exchange. Fills *out (always: ok false with error on timeout, refusal, mismatched or
 * malformed answers). Returns 0 when an answer arrived, TERN_EIO otherwise. */
int check_query(const struct check_addr *server, const char *qname, uint16_t qtype, unsigned flags, int timeout_ms,
                struct check_answer *out);

/* Decodes a response message (the question must be qname/qtype and the id id) into *out: the
 * parser of untrusted answers, fuzzed by fuzz_check_answer. 0 or TERN_EMALF (error filled). */
int check_answer_parse(const uint8_t *msg, size_t len, uint16_t id, const char *qname, uint16_t qtype,
                       struct check_answer *out);

/* The first record of a section with this owner (case-insensitive) and type, or NULL. */
const struct check_rr *check_answer_find(const struct check_answer *a, int section, const char *owner, uint16_t type);

/* Presentation names compared as DNS names: case-insensitive, trailing dot optional. */
bool check_name_eq(const char *a, const char *b);
/* True when name equals zone or lies below it. */
bool check_name_in(const char *name, const char *zone);
