/* One name looked up as the query path looks it up (internet.c: the served zone, then the node,
 * a wildcard at the closest encloser, cuts, DNAMEs, CNAMEs), for callers that explain an answer
 * rather than send one (the API's explain route). Nothing is followed: a CNAME or DNAME is the
 * outcome. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "lib/zone.h"
#include "ternd/zones/server.h"

enum ns_found_kind {
	NS_FOUND_RRSET, /* the name (or the wildcard standing for it) holds the type: rrset */
	NS_FOUND_NODATA, /* the name exists without the type */
	NS_FOUND_NXDOMAIN, /* no such name, no wildcard */
	NS_FOUND_REFERRAL, /* a zone cut at or above the name: node is the cut */
	NS_FOUND_CNAME, /* the name holds a CNAME: rrset */
	NS_FOUND_DNAME, /* a DNAME above the name: node holds it, rrset */
};

struct ns_found {
	enum ns_found_kind kind;
	const struct zone *zone;
	const struct zone_node *node; /* the node answering (the wildcard when one stands for the name) */
	const struct rrset *rrset; /* RRSET, CNAME, DNAME: the RRset answering (a DYN resource standing
	                            * for A or AAAA points at dyn, rrset.dyn set) */
	bool wildcard;
	struct rrset dyn;
};

/* Looks lname (lower-cased wire name) up for qtype as a class IN query would. Returns 0, or
 * TERN_ENOTFOUND when no served zone holds it (a query gets REFUSED). The caller is an online RCU
 * reader; out points into the zone snapshot for as long as it stays one. */
int ns_find(const struct server *srv, const uint8_t *lname, uint16_t qtype, struct ns_found *out);
