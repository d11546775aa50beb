/* Zone bootstrap (issue 23): a zone's records read from the servers that serve it now, for a new
 * zone at Tern. AXFR from each of its servers first; when every one refuses, a documented list of
 * names and types is asked (bootstrap.c: BOOT_NAMES), so names not on the list are not read.
 * Every answer is hostile input: records outside the zone, DNSSEC records (RRSIG, NSEC, NSEC3,
 * NSEC3PARAM, DNSKEY, CDS, CDNSKEY), the SOA and the apex NS (the new zone gets Tern's) are dropped
 * and counted; a transfer is bounded in octets, messages and records. No state; the caller's
 * check_ctx bounds the queries (budget, deadline, the addresses allowed). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/check_walk.h"

#define BOOT_MAXRR 5000 /* records kept; the rest are counted in dropped_limit */
#define BOOT_RDATA_TEXT 2048 /* a record's RDATA in presentation form: longer ones are dropped */
#define BOOT_MAXSELECTORS 16 /* DKIM selectors asked */
#define BOOT_AXFR_MAX_OCTETS (64u << 20)
#define BOOT_AXFR_MAX_MESSAGES 100000u
#define BOOT_MAXASKED 96

struct boot_rr {
	char owner[CHECK_NAME_TEXT]; /* absolute, lower-case */
	uint16_t type;
	uint32_t ttl;
	char data[BOOT_RDATA_TEXT];
};

struct boot_result {
	char zone[CHECK_NAME_TEXT];
	char method[8]; /* "axfr" or "queries" ("" when neither could read anything) */
	char source[CHECK_NAME_TEXT + CHECK_ADDR_TEXT + 4]; /* "ns.example. (192.0.2.1)" */
	struct boot_rr *rr; /* malloc'd, nrr of them */
	int nrr, caprr;
	bool dedupe; /* queries: one record may come in several answers (a CNAME asked for A and AAAA) */
	int dropped_dnssec, dropped_apex_ns, dropped_soa, dropped_outside, dropped_size, dropped_limit;
	char axfr_error[CHECK_MAXNS][256]; /* each server's refusal or failure of AXFR */
	int naxfr_error;
	char asked[BOOT_MAXASKED][CHECK_NAME_TEXT + 16]; /* queries: "www.example. A" */
	int nasked;
	char old_ns[CHECK_MAXNS][CHECK_NAME_TEXT]; /* the parent's NS set for the zone */
	int nold_ns;
	uint32_t parent_ns_ttl; /* the referral's NS TTL at the parent */
	uint32_t zone_ns_ttl; /* the zone's own apex NS TTL (0 when not read) */
	char error[256]; /* why nothing could be read */
};

/* Reads zone (absolute, presentation form) from its current servers, found by a walk from c's
 * hints: AXFR, else the list of names (selectors: DKIM selectors, plain labels, nselectors of
 * them). Fills *out (free with boot_result_free). 0, or TERN_EIO with out->error (no server of the
 * zone could be found or asked), TERN_ENOMEM. */
int boot_run(struct check_ctx *c, const char *zone, const char (*selectors)[64], int nselectors,
             struct boot_result *out);
void boot_result_free(struct boot_result *b);

/* Takes one record into b, or drops and counts it: owner outside b->zone, a DNSSEC type, the SOA,
 * the apex NS, data longer than BOOT_RDATA_TEXT - 1, more than BOOT_MAXRR records. 1 taken, 0
 * dropped, TERN_ENOMEM. */
int boot_take(struct boot_result *b, const char *owner, uint16_t type, uint32_t ttl, const char *data);

/* An AXFR answer read message by message (xfr_parse.c checks each) and its records taken into b. */
struct boot_axfr;
int boot_axfr_new(const char *zone, uint16_t id, const char *from, struct boot_axfr **out);
/* 0 more to come, 1 complete, or a negative TERN_E* with err. Bounded in octets and messages. */
int boot_axfr_feed(struct boot_axfr *x, const uint8_t *msg, size_t len, char *err, size_t errlen);
/* After feed returned 1: the zone's records through boot_take(). 0 or a negative TERN_E*. */
int boot_axfr_take(struct boot_axfr *x, struct boot_result *b, char *err, size_t errlen);
void boot_axfr_free(struct boot_axfr *x);

/* Whether type is a DNSSEC record type that is never copied. */
bool boot_dnssec_type(uint16_t type);
