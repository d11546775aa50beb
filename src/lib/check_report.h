/* tern check: the report model every front end shares (the CLI's text and --json, later the HTTP
 * API and the web page): what was asked, what each server said, the findings, what failed. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/check_query.h"

#define CHECK_MAXNS 16
#define CHECK_MAXSERVERS 48
#define CHECK_MAXSTEPS 16
#define CHECK_MAXFINDINGS 64
#define CHECK_MAXFAILURES 64
#define CHECK_MAXVALUES 8

enum check_severity { CHECK_INFO = 0, CHECK_WARNING = 1, CHECK_ERROR = 2 };

/* One finding: a rule's code (check_find.h lists them), what was seen, what to do. */
struct check_finding {
	enum check_severity severity;
	const char *code; /* "lame_ns" */
	char what[512];
	const char *fix;
};

/* One server asked: an authoritative server of a zone, or a vantage resolver. */
struct check_server {
	char role[16]; /* "parent", "child", "both" (NS at parent and child), "resolver" */
	char zone[CHECK_NAME_TEXT]; /* the zone it serves */
	char qname[CHECK_NAME_TEXT]; /* the name it was asked for */
	char ns[CHECK_NAME_TEXT]; /* its name ("" for a resolver given by address) */
	char addr[CHECK_ADDR_TEXT];
	bool ok; /* answered authoritatively (a resolver: answered) */
	bool tcp; /* the answer came over TCP (the UDP one was truncated) */
	double ms;
	int rcode;
	bool have_serial;
	uint32_t serial;
	char answer[CHECK_MAXVALUES][CHECK_RDATA_TEXT]; /* the answer to the name checked, by value */
	int nanswer;
	int more; /* values of the answer past CHECK_MAXVALUES, counted only */
	uint32_t ttl;
	char error[160];
};

/* One step of a CNAME chain, or its end (target empty, answers in values). */
struct check_step {
	char name[CHECK_NAME_TEXT];
	char zone[CHECK_NAME_TEXT];
	char target[CHECK_NAME_TEXT]; /* the CNAME's target, "" at the end of the chain */
	uint32_t ttl;
	int rcode; /* of the end: NOERROR with values, NODATA (NOERROR, none), NXDOMAIN */
	char values[CHECK_MAXVALUES][CHECK_RDATA_TEXT];
	int nvalues;
	int more; /* values past CHECK_MAXVALUES, counted only */
	char servers[CHECK_MAXNS][CHECK_NAME_TEXT]; /* the servers that serve it */
	int nservers;
};

/* Registration data, from WHOIS or RDAP. */
struct check_registration {
	bool have;
	char source[16]; /* "rdap", "whois" */
	char server[256]; /* where it came from */
	char registrar[256];
	char expires[64]; /* as the registry wrote it */
	char ns[CHECK_MAXNS][CHECK_NAME_TEXT];
	int nns;
};

struct check_soa {
	bool have;
	char mname[CHECK_NAME_TEXT], rname[CHECK_NAME_TEXT];
	uint32_t serial, refresh, retry, expire, minimum, ttl;
	uint32_t negative_ttl; /* min(ttl, minimum), RFC 2308 section 5 */
};

/* The DNSSEC delegation: the parent's DS against the zone's DNSKEYs. */
struct check_dnssec {
	bool have; /* both asked */
	char ds[CHECK_MAXVALUES][CHECK_RDATA_TEXT];
	int nds;
	struct {
		int tag;
		uint16_t flags;
		uint8_t algorithm;
		bool matched; /* a DS of the parent names this key with its digest */
	} keys[CHECK_MAXVALUES];
	int nkeys;
	const char *status; /* "unsigned", "secure", "signed without DS", "DS matches no key" */
	int nsigs; /* RRSIGs over the SOA and DNSKEY RRsets read */
	char sig_expires[32]; /* the soonest of their expirations, "" when none */
};

/* tern check cache: one resolver's answer as it holds it, with the time it has left. */
struct check_cached {
	char addr[CHECK_ADDR_TEXT];
	/* "cache": answered without recursion (RD off) from its cache; "fresh": not in its cache, so
	 * looked up now (recursion on) and cached from now on; "recursion": it refuses queries without
	 * recursion, so the answer it gives anyone now (from its cache or looked up) */
	char how[12];
	bool ok; /* an answer (NOERROR or NXDOMAIN) arrived */
	char error[160];
	int rcode;
	char values[CHECK_MAXVALUES][CHECK_RDATA_TEXT]; /* of the type asked, at the end of its chain */
	int nvalues;
	int more;
	bool negative; /* NXDOMAIN or NODATA */
	uint32_t left; /* seconds it keeps this answer at most (the TTL in its answer) */
	bool agrees; /* the same answer as the authoritative servers */
	bool cap_lower; /* fresh negative answer kept shorter than the zone's negative TTL: its own cap */
	char says[512]; /* the sentence: "resolver X will keep NXDOMAIN for at most N s more" */
};
/* tern check service: one of a service's names and where the walk from the root took it. */
struct check_named {
	char name[CHECK_NAME_TEXT];
	char role[12]; /* "canonical", "alias" */
	bool points; /* reaches the canonical name (CNAME chain or HTTPS AliasMode); the canonical
	              * name itself: answers only addresses the deployment holds */
	char path[512]; /* "a.example. -> b.example. -> 192.0.2.1" */
};

/* One referral of the walk from the root to the name checked (the web page's path): the server
 * asked, of zone, and the zone it handed the walk to, with the delegation's NS names and TTL. */
#define CHECK_MAXHOPS 16
struct check_hop {
	char zone[CHECK_NAME_TEXT]; /* the zone of the server asked ("." for a root hint) */
	char ns[CHECK_NAME_TEXT]; /* its name ("(hint)" for a root hint) */
	char addr[CHECK_ADDR_TEXT];
	char child[CHECK_NAME_TEXT]; /* the zone it referred to */
	char child_ns[4][CHECK_NAME_TEXT]; /* the first NS names of the referral */
	int nchild_ns;
	uint32_t ttl; /* the NS RRset's TTL in the referral */
	double ms;
};

struct check_report {
	char kind[8]; /* "domain", "fqdn" */
	char target[CHECK_NAME_TEXT]; /* as asked, absolute */
	char zone[CHECK_NAME_TEXT], parent[CHECK_NAME_TEXT];
	struct check_registration rdap, whois;
	char parent_ns[CHECK_MAXNS][CHECK_NAME_TEXT];
	int nparent_ns;
	struct {
		char name[CHECK_NAME_TEXT];
		char addr[CHECK_ADDR_TEXT];
	} glue[CHECK_MAXNS * 2];
	int nglue;
	char child_ns[CHECK_MAXNS][CHECK_NAME_TEXT];
	int nchild_ns;
	struct check_soa soa;
	struct check_dnssec dnssec;
	struct check_server servers[CHECK_MAXSERVERS];
	int nservers;
	struct check_step steps[CHECK_MAXSTEPS];
	int nsteps;
	bool have_change_ttl;
	uint32_t change_ttl; /* fqdn: the longest TTL along the chain: how long a change takes to be seen */
	struct check_finding findings[CHECK_MAXFINDINGS];
	int nfindings;
	char failures[CHECK_MAXFAILURES][256]; /* what could not be asked or read: the report is partial */
	int nfailures;
	int queries; /* DNS queries sent */
	double ms; /* wall time of the whole check */
	struct check_cached caches[CHECK_MAXNS]; /* cache: each vantage resolver's cached answer */
	int ncaches;
	bool have_negative_ttl;
	uint32_t negative_ttl; /* cache: the negative-cache TTL of the zone holding the end of the chain */
	struct check_named named[CHECK_MAXNS + 1]; /* service: the canonical name, then each alias */
	int nnamed;
	struct check_hop hops[CHECK_MAXHOPS]; /* the referrals the walks to the names checked followed */
	int nhops;
};

/* A zeroed report (malloc'd: it is large); NULL when out of memory. */
struct check_report *check_report_new(const char *kind, const char *target);
void check_report_free(struct check_report *r);

/* Notes something that could not be done; the report says it is partial. */
void check_report_fail(struct check_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a server's result (a copy); returns it, or NULL when the table is full (noted as a failure). */
struct check_server *check_report_server(struct check_report *r, const struct check_server *s);

/* The plain explanation of the negative-cache TTL (seed 000). */
void check_negative_explanation(uint32_t seconds, char *out, size_t cap);

/* The TTL advice for a change of a name whose chain holds records for up to seconds (seed 000). */
void check_ttl_advice(uint32_t seconds, char *out, size_t cap);

/* The report as JSON (the one shape of --json and the API); NULL when out of memory. */
json_t *check_report_json(const struct check_report *r);
/* The report as text for a terminal. */
void check_report_text(const struct check_report *r, FILE *out);
/* The worst severity among the findings, -1 when there are none. */
int check_report_worst(const struct check_report *r);
