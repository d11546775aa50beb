/* Answering class IN questions from the zones, after NSD's answer_query(): one lookup, then one
 * small function per outcome, each to be read against its RFC (1034 4.3.2, 2308, 4592, 6672,
 * 8482). CNAME and DNAME chains restart the lookup, possibly in another served zone. */
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/rr.h"
#include "ternd/ns/ns.h"

#define MAX_CHAIN 16

/* DS lives on the parent side of a cut (RFC 4035 3.1.4.1): for a DS question at a zone's apex,
 * answer from the parent zone when we serve it. */
static const struct zone *find_zone(const struct query *q, const uint8_t *lname, const uint32_t *hashes, int labels)
{
	const struct zone *z = zones_find_hashed(q->srv->zones, lname, hashes, labels, 0);
	if (z && q->qtype == RR_DS && labels == z->apex_labels) {
		const struct zone *parent = zones_find_hashed(q->srv->zones, lname, hashes, labels, 1);
		if (parent)
			z = parent;
	}
	return z;
}

/* RFC 2308 section 3: the SOA in authority, its TTL capped by MINIMUM. */
static void put_negative_soa(struct query *q, const struct zone *z)
{
	struct rrset soa = *z->soa;
	soa.ttl = zone_negative_ttl(z);
	ns_put_rrset(q, SEC_AUTHORITY, z->apex, &soa);
}

static void answer_nodata(struct query *q, const struct zone *z)
{
	put_negative_soa(q, z);
}

static void answer_nxdomain(struct query *q, const struct zone *z)
{
	q->rcode = RCODE_NXDOMAIN; /* RFC 6604: the rcode tells the last name of a chain */
	put_negative_soa(q, z);
}

/* RFC 1034 4.3.2 step 3b: NS of the cut in authority, glue in additional, AA clear unless an
 * authoritative CNAME/DNAME led here. The DS of the cut comes along only for a DO query to a
 * signed zone (RFC 4035 3.1.4): an unsigned zone's DS proves nothing and costs room. */
static void answer_referral(struct query *q, const struct zone *z, const struct zone_node *cut)
{
	if (q->count[SEC_ANSWER] == 0)
		q->aa = false;
	int first = q->nextra;
	ns_put_rrset(q, SEC_AUTHORITY, cut->owner, zone_node_rrset(cut, RR_NS));
	for (int i = first; i < q->nextra; i++)
		q->extra[i].required = name_in(q->extra[i].name, cut->owner);
	const struct rrset *ds = zone_node_rrset(cut, RR_DS);
	if (ds && q->edns_do && zone_signed(z))
		ns_put_rrset(q, SEC_AUTHORITY, cut->owner, ds);
}

static bool is_dnssec_type(uint16_t type)
{
	return type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3;
}

/* RFC 8482: over UDP one RRset stands for all of them; TCP gets everything. RRSIG, NSEC and NSEC3
 * count only for a DO query to a signed zone (RFC 4035 3.1; Knot and NSD leave them out too). */
static void answer_any(struct query *q, const struct zone *z, const struct zone_node *node, const uint8_t *owner)
{
	bool dnssec = q->edns_do && zone_signed(z);
	uint16_t want = q->client->proto == PROTO_TCP ? node->nrrsets : 1, written = 0;
	for (uint16_t i = 0; i < node->nrrsets && written < want; i++) {
		if (!dnssec && is_dnssec_type(node->rrsets[i].type))
			continue;
		ns_put_rrset(q, SEC_ANSWER, owner, &node->rrsets[i]);
		written++;
	}
	if (written == 0)
		answer_nodata(q, z);
}

/* The name exists (or a wildcard stands for it). Returns a CNAME target to follow, or NULL. */
static const uint8_t *answer_node(struct query *q, const struct zone *z, const struct zone_node *node,
                                  const uint8_t *owner)
{
	if (q->qtype == RR_ANY) {
		answer_any(q, z, node, owner);
		return NULL;
	}
	const struct rrset *rs = zone_node_rrset(node, q->qtype);
	if (rs) {
		ns_put_rrset(q, SEC_ANSWER, owner, rs);
		/* RRSIG: the other covered types' groups follow, each with its own TTL (lib/zone.h) */
		while (q->qtype == RR_RRSIG && ++rs < node->rrsets + node->nrrsets && rs->type == RR_RRSIG)
			ns_put_rrset(q, SEC_ANSWER, owner, rs);
		return NULL;
	}
	const struct rrset *cname = zone_node_rrset(node, RR_CNAME);
	if (cname)
		return ns_put_rrset(q, SEC_ANSWER, owner, cname) ? rdata_bytes(cname->rdata) : NULL;
	answer_nodata(q, z);
	return NULL;
}

/* RFC 6672 section 2: the DNAME, a CNAME synthesized from it (owner as asked, TTL of the DNAME),
 * then the new name. YXDOMAIN when the new name would be too long. For a CNAME question the
 * synthesized CNAME is the answer and nothing is followed (RFC 6672 3.2 with RFC 1034 4.3.2 step 3a,
 * which restarts only when the question is not for a CNAME), as for a CNAME found in the zone. */
static const uint8_t *answer_dname(struct query *q, const struct zone_node *dn, const uint8_t *owner,
                                   uint8_t synth[NAME_MAXLEN])
{
	const struct rrset *d = zone_node_rrset(dn, RR_DNAME);
	bool written = false; /* a DNAME met again down the chain is not repeated */
	for (int i = 0; i < q->ndnames; i++)
		written |= q->dnames[i] == dn;
	if (!written) {
		if (!ns_put_rrset(q, SEC_ANSWER, dn->owner, d))
			return NULL;
		if (q->ndnames < (int)(sizeof(q->dnames) / sizeof(q->dnames[0])))
			q->dnames[q->ndnames++] = dn;
	}
	const uint8_t *target = rdata_bytes(d->rdata);
	size_t prefix = name_len(owner) - dn->owner_len, tlen = name_len(target);
	if (prefix + tlen > NAME_MAXLEN) {
		q->rcode = RCODE_YXDOMAIN;
		return NULL;
	}
	memcpy(synth, owner, prefix);
	memcpy(synth + prefix, target, tlen);
	uint8_t rd[2 + NAME_MAXLEN];
	wire_put16(rd, (uint16_t)(prefix + tlen));
	memcpy(rd + 2, synth, prefix + tlen);
	struct rrset cname = {
	    .type = RR_CNAME, .count = 1, .ttl = d->ttl, .rdata = rd, .rdata_size = (uint32_t)(2 + prefix + tlen)};
	if (!ns_put_rrset(q, SEC_ANSWER, owner, &cname) || q->qtype == RR_CNAME)
		return NULL;
	return synth;
}

/* One lookup of sname (lower-cased) in z; owner is the same name as it is to be written.
 * Returns the next name of a chain, or NULL when the answer is complete. */
static const uint8_t *answer_name(struct query *q, const struct zone *z, const uint8_t *sname, const uint32_t *hashes,
                                  int labels, const uint8_t *owner, uint8_t synth[NAME_MAXLEN])
{
	bool exact;
	const struct zone_node *node = zone_find_encloser_hashed(z, sname, hashes, labels, &exact);
	/* The cut or DNAME closest to the apex decides: walk up from the node to the apex (every
	 * ancestor exists, empty non-terminals included) and keep the last one seen. A DS question
	 * at a cut is answered by the parent side; a DNAME redirects only names below it. */
	const struct zone_node *cut = NULL, *dname = NULL;
	int depth = labels - node->labels; /* hashes[] index of the node's name */
	for (const struct zone_node *n = node;;) {
		bool self = exact && n == node;
		if ((n->flags & NODE_DELEG) && !(self && q->qtype == RR_DS)) {
			cut = n;
			dname = NULL;
		} else if ((n->flags & NODE_DNAME) && !self) {
			dname = n;
			cut = NULL;
		}
		if (n->flags & NODE_APEX)
			break;
		const uint8_t *up = n->owner + n->owner[0] + 1;
		size_t uplen = (size_t)n->owner_len - n->owner[0] - 1;
		n = n->labels == z->apex_labels + 1 ? z->apex_node : zone_find_hashed(z, up, uplen, hashes[++depth]);
	}
	if (cut) {
		answer_referral(q, z, cut);
		return NULL;
	}
	if (dname)
		return answer_dname(q, dname, owner, synth);
	if (!exact) {
		node = zone_wildcard_child(z, node); /* RFC 4592: only below the closest encloser */
		if (!node) {
			answer_nxdomain(q, z);
			return NULL;
		}
	}
	return answer_node(q, z, node, owner);
}

void ns_answer_internet(struct query *q)
{
	uint32_t hashes[NAME_MAXLABELS + 1]; /* of the name being looked up, shared by both lookups */
	int labels = name_suffix_hashes(q->lname, hashes);
	const struct zone *z = find_zone(q, q->lname, hashes, labels);
	if (!z) {
		q->rcode = RCODE_REFUSED;
		q->ede = EDE_NOT_AUTHORITATIVE;
		return;
	}
	q->aa = true;
	const uint8_t *owner = q->qname;
	uint8_t synth[2][NAME_MAXLEN];
	uint8_t chain[MAX_CHAIN][NAME_MAXLEN]; /* names looked up so far (lower-cased): loops stop */
	size_t len = q->qname_len;
	memcpy(chain[0], q->lname, len);
	for (int depth = 0;; depth++) {
		q->zone = z;
		const uint8_t *next = answer_name(q, z, chain[depth], hashes, labels, owner, synth[depth & 1]);
		if (!next || q->full || depth + 1 == MAX_CHAIN)
			break;
		len = name_len(next);
		name_lower_copy(chain[depth + 1], next, len);
		bool loop = false;
		for (int i = 0; i <= depth && !loop; i++)
			loop = name_len(chain[i]) == len && memcmp(chain[i], chain[depth + 1], len) == 0;
		if (loop)
			break;
		labels = name_suffix_hashes(chain[depth + 1], hashes);
		z = find_zone(q, chain[depth + 1], hashes, labels);
		if (!z)
			break; /* the chain leaves our zones: the resolver takes it from here */
		owner = next;
	}
	ns_put_extras(q);
}
