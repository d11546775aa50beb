/* tern hints: in-tree hints (draft-kolkman-dns-in-tree-hints): the rules a domain must pass before a
 * resolver pins it (txt, in-bailiwick, dnssec, consistency), and the Unbound configuration made from it. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/check_report.h"
#include "lib/check_walk.h"

/* The draft's revalidation window: an _in-tree timestamp expired less than this is a warning. */
#define HINTS_GRACE (30LL * 86400)
/* An expiry further ahead than this is a warning (a promise nobody will revisit). */
#define HINTS_FAR (2LL * 366 * 86400)

/* Parses an RFC 3339 date-time ("2027-01-31T12:00:00Z", "...T12:00:00.5+01:00"; 'T' and 'Z' in
 * either case), len octets (no NUL needed; a NUL inside is refused), into seconds since the epoch.
 * The whole text must be one date-time: a date alone, no time zone, a month 13 or a 30 February are
 * refused. 0, or TERN_EINVAL with err naming the field ("month 13 out of 1-12"). */
int hints_time_parse(const char *s, size_t len, long long *out, char *err, size_t errlen);

/* The character-strings of a TXT record's RDATA (wire form): how many (0 to max), each copied to
 * strs[i] (cap octets, NUL-terminated, cut) with its length in lens[i]; TERN_EMALF when the RDATA
 * does not split into strings exactly. */
int hints_txt_strings(const uint8_t *rdata, size_t len, char (*strs)[256], size_t *lens, int max);

enum hints_status { HINTS_PASS = 0, HINTS_WARN = 1, HINTS_FAIL = 2 };

#define HINTS_ANCHOR_MAX 8
/* The root's trust anchor: DS and DNSKEY RDATA (presentation form) for ".", as read from a file of
 * zone-file lines (". [TTL] [IN] DS|DNSKEY RDATA", ';' comments: /usr/share/dns/root.key, root.ds,
 * or an auto-trust-anchor-file). */
struct hints_anchor {
	char ds[HINTS_ANCHOR_MAX][CHECK_RDATA_TEXT];
	int nds;
	char dnskey[HINTS_ANCHOR_MAX][CHECK_RR_TEXT];
	int ndnskey;
};
#define HINTS_ROOT_ANCHOR "/usr/share/dns/root.key"

/* Reads a root trust anchor file. 0, or TERN_EINVAL/TERN_EIO with err naming the line and field
 * (an owner other than ".", a type other than DS or DNSKEY, RDATA that does not read, no record). */
int hints_anchor_load(const char *path, struct hints_anchor *a, char *err, size_t errlen);

/* How far the chain of trust from the root anchor reaches the parent's DS for the domain. */
enum hints_chain {
	HINTS_CHAIN_NONE = 0, /* not judged: no delegation (nothing to validate) */
	HINTS_CHAIN_SECURE, /* every zone's DNSKEY set from the anchor down, and the DS set, verify */
	HINTS_CHAIN_INSECURE, /* a zone above has no DS for the next: the DS cannot be trusted */
	HINTS_CHAIN_BOGUS, /* a signature or a key does not match: the DS must not be trusted */
	HINTS_CHAIN_UNVERIFIED, /* a key, signature or record of the chain too long to read (cut): not
	                         * judged either way, so the DS is not trusted */
};

#define HINTS_MAXREASONS 8
#define HINTS_NRULES 4

/* One rule's verdict with its reasons (what was seen, in a sentence each). */
struct hints_rule {
	const char *name; /* "txt", "in-bailiwick", "dnssec", "consistency" */
	enum hints_status status;
	char reasons[HINTS_MAXREASONS][320];
	int nreasons;
};

/* A DNSKEY of the domain. */
struct hints_key {
	int tag;
	uint16_t flags;
	uint8_t algorithm;
	uint32_t ttl;
	bool ds_match; /* a DS of the parent names it with its digest */
	bool pinned; /* the key a resolver would pin: a KSK matching the DS, or the --trust tag */
	char rdata[CHECK_RR_TEXT]; /* DNSKEY RDATA in presentation form */
};

struct hints_report {
	char domain[CHECK_NAME_TEXT]; /* absolute */
	char parent[CHECK_NAME_TEXT]; /* the zone above that delegates it, or that answered instead */
	bool delegated;
	int parent_rcode; /* of the parent's answer when not delegated (3: NXDOMAIN) */
	char parent_ns[CHECK_MAXNS][CHECK_NAME_TEXT];
	int nparent_ns;
	char parent_ds[CHECK_MAXVALUES][CHECK_RDATA_TEXT];
	int nds;
	struct {
		char name[CHECK_NAME_TEXT];
		char addr[CHECK_ADDR_TEXT];
	} glue[CHECK_MAXNS], inb[CHECK_MAXNS]; /* glue: the parent's; inb: the in-bailiwick servers */
	int nglue, ninb;
	char child_ns[CHECK_MAXNS][CHECK_NAME_TEXT];
	int nchild_ns;
	char asked[CHECK_ADDR_TEXT]; /* the server of the domain that answered ("" none) */
	struct hints_key keys[CHECK_MAXVALUES];
	int nkeys;
	bool have_expiry;
	long long expires_at;
	char expires[64]; /* the _in-tree TXT value as published */
	enum hints_chain chain; /* the parent's DS validated from the root anchor (hints_chain.c) */
	char chain_why[400]; /* the zone and the reason the chain broke or ended, or the zones it passed */
	uint32_t min_ttl; /* the smallest TTL of the parent's NS and DS and the zone's NS and DNSKEY read
	                   * (0: none read): how soon a change can show (tern hints watch's poll) */
	struct hints_rule rules[HINTS_NRULES];
	struct check_report *check; /* failures and the query count of the walk (check_report_fail) */
};

/* What to check: the domain and how to reach it. */
struct hints_opts {
	char domain[CHECK_NAME_TEXT]; /* absolute */
	struct check_addr servers[CHECK_MAXNS]; /* --server: the domain's servers when it has no delegation */
	int nservers;
	int trust_tag; /* --trust KEYTAG: the KSK to pin without a DS (-1: none) */
	const struct hints_anchor *anchor; /* the root's trust anchor the DS is validated from (NULL:
	                                    * none, so the DS is never trusted) */
	long long now; /* seconds since the epoch */
};

/* Runs the rules on o->domain: the walk from the hints (c) to its parent and its servers, then each
 * rule of the table in order. r is zeroed first; r->check must be set (c->report is it). 0 (the
 * verdicts are in r->rules), or TERN_ENOMEM. */
int hints_check(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r);

/* Validates the parent's DS RRset for o->domain (r->parent, r->delegated set) from o->anchor: the zones
 * from the root down to the parent (found by walks), each one's DNSKEY set (asked with DO) verified
 * under a key the DS above (or the anchor) names, each DS set under the DNSKEY set of the zone that
 * holds it. Sets r->chain and r->chain_why; when secure, r->parent_ds is the validated DS set. */
void hints_chain_validate(struct check_ctx *c, const struct hints_opts *o, struct hints_report *r);

/* Shared by hints.c and hints_chain.c: whether an RRSIG in a's answer over name/type verifies now
 * with one of keys (only those with use[k] when only_use); why says why not. */
struct dnssec_key;
bool hints_set_verifies(const struct check_answer *a, const char *name, uint16_t type, struct dnssec_key **keys,
                        const bool *use, int nkeys, bool only_use, long long now, uint8_t *buf, size_t cap, char *why,
                        size_t whycap);
/* The first record of the set name/type, or RRSIG at name, in a that arrived cut (too long to read,
 * check_rr.cut), or NULL: a set that does not verify with one is not verified, not bogus. */
const struct check_rr *hints_set_cut(const struct check_answer *a, const char *name, uint16_t type);
/* True when the DS text names this DNSKEY (tag, algorithm) with its digest. */
bool hints_ds_matches(const uint8_t *owner, const char *ds_text, const uint8_t *key, size_t keylen);

/* The worst status among the rules. */
enum hints_status hints_worst(const struct hints_report *r);

/* The dnssec rule's judgement of the pinned KSK's age, from ternd's key journal (when Tern serves the
 * zone): published_at (seconds since the epoch) against the RFC 5011 add hold-down; a warning while
 * it is younger (a resolver would not yet have accepted it by RFC 5011). Replaces the rule's "not
 * judged" reason. */
void hints_ksk_age(struct hints_report *r, int tag, long long published_at, long long add_holddown, long long now);
const char *hints_status_name(enum hints_status s);

json_t *hints_report_json(const struct hints_report *r);
void hints_report_text(const struct hints_report *r, FILE *out);

/* The Unbound configuration (server: auto-trust-anchor-file, stub-zone with the in-bailiwick servers'
 * addresses, stub-prime yes) into out, and the auto-trust-anchor-file's seed (the pinned KSKs as
 * DNSKEY lines) into anchor. TERN_ENOTFOUND (err says why) when no key is pinned or no in-bailiwick
 * server has an address: no configuration without both. */
int hints_unbound(const struct hints_report *r, const char *anchor_path, long long now, FILE *out, FILE *anchor,
                  char *err, size_t errlen);

/* ---- RFC 5011's client side for tern hints watch (hints_ta.c): the watch's own trust anchor ---- */

#define HINTS_TA_MAX 8
struct hints_ta_key {
	int tag; /* of the key as published without the REVOKE bit */
	char dnskey[CHECK_RR_TEXT]; /* its DNSKEY RDATA (presentation form, unrevoked) */
	long long first_seen; /* seconds since the epoch it was first seen in a validated DNSKEY set */
	bool valid; /* trusted; else pending (RFC 5011 AddPend) */
};

struct hints_ta {
	struct hints_ta_key keys[HINTS_TA_MAX];
	int nkeys;
	int signer; /* after hints_ta_update(): the tag of a trusted key whose RRSIG over the set verifies
	             * (-1: none) */
};

enum { HINTS_TA_VALIDATED = 1, HINTS_TA_TRUST_CHANGED = 2, HINTS_TA_PENDING_CHANGED = 4 };

/* Trusts the key of DNSKEY RDATA text (a first anchor: the pinned KSK). 0 or TERN_EINVAL/TERN_ESPACE. */
int hints_ta_seed(struct hints_ta *t, const char *domain, const char *dnskey, long long now);

/* One RFC 5011 step (section 2.4) from domain's DNSKEY answer a (asked with DO): the set must verify
 * under a trusted key (t->signer says which); a trusted key published with the REVOKE bit whose own
 * RRSIG over the set verifies is dropped; a new SEP key in a validated set is pending from then and
 * trusted once it has stayed add_holddown seconds; a pending key gone from the set is forgotten.
 * Returns HINTS_TA_* flags; log gets a sentence for each change, or why the set did not validate. */
int hints_ta_update(struct hints_ta *t, const char *domain, const struct check_answer *a, long long now,
                    long long add_holddown, char *log, size_t logcap);

/* The anchor as JSON ({"keys": [{"tag", "dnskey", "first_seen", "state": "valid"|"pending"}]}), and read
 * back strictly (each field checked; err names it). */
json_t *hints_ta_json(const struct hints_ta *t);
int hints_ta_from_json(const json_t *j, const char *domain, struct hints_ta *t, char *err, size_t errlen);
