/* tern check: the checks themselves, each filling a report (lib/check_report.h) from the walk
 * (lib/check_walk.h), the rules (lib/check_find.h) and the registries (lib/check_registry.h). */
#pragma once
#include <stdint.h>

#include "lib/check_report.h"
#include "lib/check_walk.h"

/* `tern check domain D`: registration (RDAP, WHOIS), the delegation (parent NS and glue) against
 * the zone's NS, every server's SOA with its response time, the SOA fields and negative-cache
 * TTL, and the apex rules (CNAME at the apex, TTL over an hour). r->target must be an absolute
 * name (check_input_name). Returns 0 (the report may be partial: r->failures), or TERN_EIO when
 * not even the delegation could be found (noted in r->failures). */
int check_domain(struct check_ctx *c, struct check_report *r);

/* `tern check fqdn NAME`: each CNAME step with its TTL and the servers of its zone, the answer
 * (of qtype) and SOA serial from every authoritative server, and every vantage resolver's answer
 * against the authoritative one. */
int check_fqdn(struct check_ctx *c, struct check_report *r, uint16_t qtype);

/* `tern check cache NAME`: the chain from the authoritative servers (as check_fqdn, without its
 * resolver comparison), the negative-cache TTL of the zone holding its end, and for each vantage
 * resolver what it holds (asked without recursion first, so its cache is read, not changed; with
 * recursion when it refuses that or holds nothing) and how long it keeps it: r->caches, findings
 * cache_stale and resolver_cap. */
int check_cache(struct check_ctx *c, struct check_report *r, uint16_t qtype);

/* What Tern intends for a service (from the API: the service, its aliases, its certificate). */
#define CHECK_MAXINTENT 32
struct check_intent {
	char canonical[CHECK_NAME_TEXT]; /* absolute */
	char addrs[CHECK_MAXINTENT][CHECK_RDATA_TEXT]; /* the deployment's addresses, every region */
	int naddrs;
	char aliases[CHECK_MAXNS][CHECK_NAME_TEXT]; /* absolute */
	int naliases;
	bool have_cert; /* a certificate is issued: cert_names are its names */
	char cert_names[CHECK_MAXINTENT][CHECK_NAME_TEXT];
	int ncert;
	char ca[256]; /* the CA's issuer domain name for CAA ("letsencrypt.org"); "" not checked */
};

/* `tern check service ID`: the intent against walks from the root. The canonical name's A and
 * AAAA (record_differs when an answer is not the deployment's); each alias's chain as check fqdn
 * follows it (its findings: cname_at_apex, cname_beside_data, ttl_high, lame_ns, ...) and whether
 * it reaches the canonical name by CNAME or HTTPS AliasMode (alias_elsewhere); each alias's zone
 * as check domain sees it (ds_mismatch, rrsig_*, lame_ns, ...); the CAA set that applies to each
 * name (RFC 8659: the closest one up the tree) against in->ca (caa_forbids); the certificate's
 * names against the service's (cert_missing_name). r->named lists the names. 0, or TERN_ENOMEM. */
int check_service(struct check_ctx *c, struct check_report *r, const struct check_intent *in);

/* A SOA record's fields and negative-cache TTL (min of its TTL and MINIMUM). 0 or TERN_EMALF. */
int check_soa_parse(const struct check_rr *rr, struct check_soa *soa);

/* An RRSIG over the apex that expires sooner than this is flagged (rrsig_expiring): signers
 * re-sign days ahead, so one this close means re-signing has stopped. */
#define CHECK_RRSIG_WARN (3 * 86400)

/* The DNSSEC delegation of r->zone: its parent's DS (a walk) against its DNSKEYs (asked of good):
 * ds_mismatch, ds_missing; and the validity of the RRSIGs over its SOA and DNSKEY RRsets:
 * rrsig_invalid, rrsig_expiring; r->dnssec filled. a is scratch. */
void check_dnssec_delegation(struct check_ctx *c, struct check_report *r, const struct check_addr *good,
                             struct check_answer *a);

struct dnssec_rrset;
/* The RRset of type at name (text; owner its wire form) in a's answer section, in the layout
 * lib/dnssec.c verifies (length, bytes per record) in buf (cap octets): 0, TERN_ENOTFOUND when it
 * has none, TERN_EMALF when a record does not read or buf is too small (check_dnssec.c). */
int check_answer_set(const struct check_answer *a, const uint8_t *owner, const char *name, uint16_t type, uint8_t *buf,
                     size_t cap, struct dnssec_rrset *set);
