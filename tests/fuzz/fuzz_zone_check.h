/* The structural checks of a zone snapshot the fuzzers share (fuzz_zonefile: zones loaded from
 * text, fuzz_xfrin: zones built by transfers and diffs, fuzz_zone_apply: node owners); fail()
 * reports a broken invariant. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/name.h"
#include "lib/rr.h"
#include "lib/zone.h"

/* Each RRset of a node, and the bound of lib/zone.h: every RRset other than RRSIG, and the RRSIGs
 * at the name together (one answer carries them all), fit one message. */
static inline void fuzz_check_rrsets(const struct zone_node *n, size_t *records, void (*fail)(const char *))
{
	size_t sig_count = 0, sig_size = 0;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		const struct rrset *prev = i > 0 ? &n->rrsets[i - 1] : NULL;
		if (prev && (rs->type < prev->type || (rs->type == prev->type && rs->type != RR_RRSIG)))
			fail("RRsets not sorted by type, or a type twice");
		if (prev && rs->type == RR_RRSIG && prev->type == RR_RRSIG && rs->covered <= prev->covered)
			fail("RRSIG groups not sorted by covered type, or one twice");
		if (rs->type != RR_RRSIG && rs->covered != 0)
			fail("covered set on an RRset that is not RRSIG");
		if (rs->count == 0)
			fail("empty RRset");
		if (rr_type_is_meta(rs->type))
			fail("meta type stored in a zone");
		const uint8_t *rec = rs->rdata;
		size_t size = 0;
		for (uint16_t k = 0; k < rs->count; k++, rec = rdata_next(rec)) {
			size += 2u + rdata_len(rec);
			if (size > rs->rdata_size)
				fail("RDATA runs past rdata_size");
			if (rr_rdata_check(rs->type, rdata_bytes(rec), rdata_len(rec)) < 0)
				fail("stored RDATA fails rr_rdata_check");
			if (rs->type == RR_RRSIG && rrsig_covered(rdata_bytes(rec), rdata_len(rec)) != rs->covered)
				fail("an RRSIG in the group of another covered type");
		}
		if (size != rs->rdata_size)
			fail("rdata_size differs from the records");
		if (rs->type != RR_RRSIG && zone_rrset_msg_size(n->owner, rs->count, rs->rdata_size) > ZONE_MSG_MAX)
			fail("an RRset larger than a message can carry");
		sig_count += rs->type == RR_RRSIG ? rs->count : 0;
		sig_size += rs->type == RR_RRSIG ? rs->rdata_size : 0;
		*records += rs->count;
		if (rs->type != RR_RRSIG && zone_node_rrset(n, rs->type) != rs)
			fail("zone_node_rrset does not find an RRset");
		if (rs->type == RR_RRSIG && zone_node_rrsig(n, rs->covered) != rs)
			fail("zone_node_rrsig does not find an RRSIG group");
	}
	if (sig_count && zone_rrset_msg_size(n->owner, (uint32_t)sig_count, sig_size) > ZONE_MSG_MAX)
		fail("the RRSIGs of a name together larger than a message can carry");
}

/* A node's owner: its cached length, label count and hash, inside the zone, lower-cased. */
static inline void fuzz_check_owner(const struct zone *z, const struct zone_node *n, void (*fail)(const char *))
{
	if (n->owner_len != name_len(n->owner) || n->labels != name_labels(n->owner) || n->hash != name_hash(n->owner))
		fail("node owner length, label count or hash wrong");
	if (!name_in(n->owner, z->apex))
		fail("node outside the zone");
	for (size_t k = 0; k < n->owner_len; k += (size_t)n->owner[k] + 1)
		for (size_t c = 1; c <= n->owner[k]; c++)
			if (n->owner[k + c] >= 'A' && n->owner[k + c] <= 'Z')
				fail("node owner not lower-cased");
}

/* The hashed lookup agrees with the plain one, for the owner and for a name just below it. */
static inline void fuzz_check_encloser(const struct zone *z, const struct zone_node *n, void (*fail)(const char *))
{
	uint8_t name[NAME_MAXLEN];
	uint32_t hashes[NAME_MAXLABELS + 1];
	for (int below = 0; below < 2; below++) {
		size_t len = 0;
		if (below) {
			if ((size_t)n->owner_len + 2 > NAME_MAXLEN)
				return;
			name[len++] = 1;
			name[len++] = '~'; /* sorts after letters: rarely an existing owner */
		}
		memcpy(name + len, n->owner, n->owner_len);
		int labels = name_suffix_hashes(name, hashes);
		bool e1, e2;
		const struct zone_node *a = zone_find_encloser(z, name, &e1);
		const struct zone_node *b = zone_find_encloser_hashed(z, name, name_len(name), hashes, labels, &e2);
		if (a != b || e1 != e2)
			fail("zone_find_encloser_hashed differs from zone_find_encloser");
		if (!a || !name_in(name, a->owner) || (e1 && !name_equal(a->owner, name)))
			fail("encloser is not an ancestor of the name");
	}
}

/* Every structural invariant of a snapshot whose apex should be apex: apex and SOA, each node
 * (owner form, lookups, parents and empty non-terminals, flags, children), each RRset, counts. */
static inline void fuzz_check_zone(const struct zone *z, const uint8_t *apex, void (*fail)(const char *))
{
	if (!z)
		fail("success without a zone");
	if (!z->apex_node || !z->soa)
		fail("no apex node or no SOA");
	if (!(z->apex_node->flags & NODE_APEX))
		fail("apex node not flagged as the apex");
	if (zone_node_rrset(z->apex_node, RR_SOA) != z->soa || z->soa->count != 1)
		fail("SOA is not the apex's single SOA record");
	if (!zone_node_rrset(z->apex_node, RR_NS))
		fail("no NS at the apex");
	if (!name_equal(z->apex, apex) || z->apex_len != name_len(apex))
		fail("apex name differs from the one asked for");
	if (zone_find(z, z->apex, z->apex_len) != z->apex_node)
		fail("lookup of the apex does not give apex_node");
	(void)zone_negative_ttl(z);

	const struct zone_node **nodes = NULL;
	size_t nn = 0;
	if (zone_nodes_sorted(z, &nodes, &nn) != 0)
		fail("zone_nodes_sorted failed");
	if (nn != z->nnodes)
		fail("nnodes differs from the nodes in the trie");
	size_t records = 0;
	bool seen_apex = false;
	for (size_t i = 0; i < nn; i++) {
		const struct zone_node *n = nodes[i];
		fuzz_check_owner(z, n, fail);
		if (i > 0 && name_cmp(nodes[i - 1]->owner, n->owner) >= 0)
			fail("two nodes with the same name");
		if (zone_find(z, n->owner, n->owner_len) != n)
			fail("lookup does not find a node");
		bool exact;
		if (zone_find_encloser(z, n->owner, &exact) != n || !exact)
			fail("zone_find_encloser misses an existing node");
		fuzz_check_encloser(z, n, fail);
		bool is_apex = n == z->apex_node;
		if (is_apex) {
			seen_apex = true;
		} else {
			if (n->flags & NODE_APEX)
				fail("a second apex");
			const uint8_t *p = name_parent(n->owner);
			if (!zone_find(z, p, name_len(p)))
				fail("a node's parent is missing (no empty non-terminal)");
			if (name_is_wildcard(n->owner) && zone_wildcard_child(z, zone_find(z, p, name_len(p))) != n)
				fail("zone_wildcard_child does not find the wildcard");
		}
		/* children: canonical order puts a name's descendants right after it */
		uint32_t children = 0;
		for (size_t k = i + 1; k < nn && name_in(nodes[k]->owner, n->owner); k++)
			children += nodes[k]->labels == n->labels + 1;
		if (children != n->children)
			fail("children count wrong");
		if ((n->flags & NODE_ENT) != (n->nrrsets == 0 ? NODE_ENT : 0))
			fail("NODE_ENT does not match an empty node");
		if (n->nrrsets == 0 && children == 0)
			fail("empty non-terminal without children");
		if ((n->flags & NODE_DELEG) != ((!is_apex && zone_node_rrset(n, RR_NS)) ? NODE_DELEG : 0))
			fail("NODE_DELEG does not match NS below the apex");
		if ((n->flags & NODE_CNAME) != (zone_node_rrset(n, RR_CNAME) ? NODE_CNAME : 0))
			fail("NODE_CNAME does not match");
		if ((n->flags & NODE_DNAME) != (zone_node_rrset(n, RR_DNAME) ? NODE_DNAME : 0))
			fail("NODE_DNAME does not match");
		fuzz_check_rrsets(n, &records, fail);
	}
	free(nodes);
	if (!seen_apex)
		fail("apex node not among the nodes");
	if (records != z->nrecords)
		fail("record count differs from nrecords");
}
