/* tern check: the walk from the root that uses no cache (as `dig +trace`): referrals followed
 * from the hints to the zone that answers, name servers without glue resolved the same way. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/check_query.h"
#include "lib/check_report.h"

#define CHECK_MAXADDRS 32 /* servers of one zone asked */
#define CHECK_NSCACHE 64

/* One check's settings and scratch: where to start, how long to wait, where to report. */
struct check_ctx {
	struct check_addr hints[CHECK_MAXNS]; /* the root's servers */
	int nhints;
	struct check_addr resolvers[CHECK_MAXNS]; /* vantage resolvers (RD queries) */
	int nresolvers;
	int timeout_ms; /* per query, both transports */
	int slow_ms; /* an authoritative server slower than this is slow_ns */
	int budget; /* queries left for this check: a bound on what a hostile zone can make us send */
	int deadline_ms; /* the whole check's DNS queries end this long after the first (0: none) */
	double started_ms; /* monotonic time of the first query (set by check_ask) */
	bool stopped; /* the budget or the deadline ended the check's queries (noted once) */
	char whois[256]; /* WHOIS server host[:port]; "" skips WHOIS */
	char rdap[512]; /* RDAP base URL (".../rdap"); "" skips RDAP */
	int whois_timeout_ms;
	size_t whois_cap; /* octets read from a WHOIS or RDAP server at most */
	struct check_report *report; /* failures and the query count go here */
	struct { /* addresses of name servers already resolved */
		char name[CHECK_NAME_TEXT];
		struct check_addr addr[4];
		int n;
	} nscache[CHECK_NSCACHE];
	int nnscache;
	/* When set (the HTTP API outside test mode), every server address check_ask would send to is
	 * first put to allowed, but for the hints and the first ntrusted resolvers (the operator's):
	 * false refuses it (why says why), noted in the report, and check_ask returns TERN_EBUSY (not
	 * the server's fault). So a check cannot be made to probe an internal network. */
	bool (*allowed)(void *arg, const struct sockaddr *sa, char *why, size_t whylen);
	void *allowed_arg;
	int ntrusted;
};

/* Defaults: the IANA root servers' IPv4 addresses as hints, 2000 ms per query, slow at 500 ms,
 * 300 queries within 60 s, WHOIS whois.iana.org (following its referral), 1 MiB and 10 s caps. */
void check_ctx_init(struct check_ctx *c, struct check_report *report);

/* Replaces the hints with the A/AAAA records of a root hints file (named.root's format: "NAME TTL
 * [IN] TYPE DATA" lines, ';' comments). 0 or TERN_EINVAL/TERN_EIO with err naming line and field. */
int check_ctx_load_hints(struct check_ctx *c, const char *path, char *err, size_t errlen);

/* One authoritative server of a zone: its name and one address. */
struct check_ns {
	char name[CHECK_NAME_TEXT];
	struct check_addr addr;
};

/* Where a walk ended. */
struct check_walk {
	char zone[CHECK_NAME_TEXT]; /* the zone whose servers answered */
	char parent[CHECK_NAME_TEXT]; /* the zone that delegated it ("" when the hints answered) */
	char ns[CHECK_MAXNS][CHECK_NAME_TEXT]; /* NS names of the delegation (the parent's view; none
	                                        * when the parent's servers answered from the zone itself) */
	int nns;
	struct {
		char name[CHECK_NAME_TEXT];
		struct check_addr addr;
	} glue[CHECK_MAXNS * 2];
	int nglue;
	struct check_ns servers[CHECK_MAXADDRS]; /* the zone's servers with addresses */
	int nservers;
	struct check_answer answer; /* the final answer */
	char answered_by[CHECK_ADDR_TEXT];
};

/* Walks from the hints to the servers of the zone holding qname and asks them qname/qtype (RD
 * off). depth counts name server resolutions nested in this walk (at most 4). Each server that
 * fails is noted in the report and the next one tried. 0 with *w filled, or TERN_EIO (no server
 * of some zone answered; noted) / TERN_ENOMEM. */
int check_walk(struct check_ctx *c, const char *qname, uint16_t qtype, int depth, struct check_walk *w);

/* The IPv4 addresses of a name server (from the cache, else by a walk); returns how many (0 when
 * it has none or cannot be resolved, noted in the report). */
int check_ns_addrs(struct check_ctx *c, const char *name, int depth, struct check_addr *out, int max);

/* One query counted against the budget and the report's query count, its timeout cut to what is
 * left of the deadline. 0, TERN_EIO (the server failed: a.error), or TERN_EBUSY once the budget or
 * the deadline is spent, or when c->allowed refuses the address (not the server's fault: no
 * finding may come of it; noted). */
int check_ask(struct check_ctx *c, const struct check_addr *server, const char *qname, uint16_t qtype, unsigned flags,
              struct check_answer *a);
