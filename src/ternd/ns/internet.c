/* Answering class IN questions from the zones, after NSD's answer_query(): one lookup gives an
 * outcome (struct ns_lookup), then one small function per outcome writes it, each to be read
 * against its RFC (1034 4.3.2, 2308, 4592, 6672, 8482). CNAME and DNAME outcomes follow the chain,
 * restarting the lookup, possibly in another served zone; the proofs stage (answer_dnssec.c) and
 * the additional section (answer_write.c) come after the whole chain. */
#include <string.h>
#include <urcu-qsbr.h>

#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/dyn/answer.h"
#include "ternd/ns/lookup.h"
#include "ternd/ns/ns.h"

/* DS lives on the parent side of a cut (RFC 4035 3.1.4.1): for a DS question at a zone's apex,
 * answer from the parent zone when we serve it. */
static const struct zone *find_zone(const struct query *q, const uint8_t *lname, size_t len, const uint32_t *hashes,
                                    int labels)
{
	const struct zone *z = zones_find_hashed(q->srv->zones, lname, len, hashes, labels, 0);
	if (z && q->qtype == RR_DS && labels == z->apex_labels) {
		const struct zone *parent = zones_find_hashed(q->srv->zones, lname, len, hashes, labels, 1);
		if (parent)
			z = parent;
	}
	return z;
}

/* One lookup of sname (lower-cased, its length and suffix hashes given) in z: what answers it,
 * written nowhere. */
static void lookup(const struct query *q, const struct zone *z, const uint8_t *sname, size_t len,
                   const uint32_t *hashes, int labels, struct ns_lookup *lk)
{
	bool exact;
	const struct zone_node *node = zone_find_encloser_hashed(z, sname, len, hashes, labels, &exact);
	lk->zone = z;
	lk->name = sname;
	lk->encloser = node;
	lk->wildcard = false;
	lk->rrset = NULL;
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
		lk->outcome = NS_DELEGATION;
		lk->node = cut;
		return;
	}
	if (dname) {
		lk->outcome = NS_DNAME;
		lk->node = dname;
		lk->rrset = zone_node_rrset(dname, RR_DNAME);
		return;
	}
	if (!exact) {
		const struct zone_node *wild =
		    zone_wildcard_child(z, node); /* RFC 4592: only below the closest encloser */
		if (!wild) {
			lk->outcome = NS_NXDOMAIN;
			lk->node = node;
			return;
		}
		node = wild;
		lk->wildcard = true;
	}
	lk->node = node;
	if (q->qtype == RR_ANY) {
		lk->outcome = node->nrrsets ? NS_HIT : NS_NODATA;
		return;
	}
	/* a DYN resource answers A and AAAA (dyn/answer.h); its own records are never answered */
	if (q->qtype != RR_DYN && (lk->rrset = answer_node_rrset(node, q->qtype, &lk->dyn))) {
		lk->outcome = NS_HIT;
	} else if ((lk->rrset = q->qtype == RR_DYN ? zone_node_rrset(node, RR_CNAME)
	                                           : answer_node_rrset(node, RR_CNAME, &lk->dyn))) {
		lk->outcome = NS_CNAME; /* a CNAME resource's too (its DYN records are never answered) */
	} else {
		lk->outcome = NS_NODATA;
	}
}

/* RFC 2308 section 3: the SOA in authority, its TTL capped by MINIMUM. */
static void put_negative_soa(struct query *q, const struct zone *z)
{
	struct rrset soa = *z->soa;
	soa.ttl = zone_negative_ttl(z);
	ns_put_answer(q, SEC_AUTHORITY, z->apex, &soa, z, z->apex_node);
}

static void answer_nodata(struct query *q, const struct ns_lookup *lk)
{
	put_negative_soa(q, lk->zone);
}

static void answer_nxdomain(struct query *q, const struct ns_lookup *lk)
{
	q->rcode = RCODE_NXDOMAIN; /* RFC 6604: the rcode tells the last name of a chain */
	put_negative_soa(q, lk->zone);
}

/* RFC 1034 4.3.2 step 3b: NS of the cut in authority, glue in additional, AA clear unless an
 * authoritative CNAME/DNAME led here. The NS is the child's and goes unsigned (RFC 4035 3.1.4);
 * the DS of the cut is a proof (answer_dnssec.c). */
static void answer_delegation(struct query *q, const struct ns_lookup *lk)
{
	if (q->count[SEC_ANSWER] == 0)
		q->aa = false;
	int first = q->nextra;
	ns_put_rrset(q, SEC_AUTHORITY, lk->node->owner, zone_node_rrset(lk->node, RR_NS));
	for (int i = first; i < q->nextra; i++)
		q->extra[i].required = name_in(q->extra[i].name, lk->node->owner);
}

static bool is_dnssec_type(uint16_t type)
{
	return type == RR_RRSIG || type == RR_NSEC || type == RR_NSEC3;
}

/* RFC 8482: over UDP one RRset stands for all of them; TCP gets everything. RRSIG, NSEC and NSEC3
 * count only when DNSSEC records are wanted (answer_dnssec.c; Knot and NSD leave them out too);
 * then each RRSIG group goes beside the RRset it covers rather than on its own. Nothing to write
 * makes it NODATA. */
static void answer_any(struct query *q, struct ns_lookup *lk, const uint8_t *owner)
{
	const struct zone_node *node = lk->node;
	bool dnssec = ns_dnssec_wanted(q, lk->zone);
	uint32_t want = q->client->proto == PROTO_TCP ? node->nrrsets + 1u : 1u, written = 0; /* DYN: A and AAAA */
	for (uint16_t i = 0; i < node->nrrsets && written < want; i++) {
		uint16_t type = node->rrsets[i].type;
		if (dnssec ? type == RR_RRSIG : is_dnssec_type(type))
			continue;
		if (type == RR_DYN) { /* the resource's answers for this client, not its statements */
			static const uint16_t addr_types[] = {RR_A, RR_AAAA, RR_CNAME}; /* CNAME: a CNAME resource */
			for (int k = 0; k < 3 && written < want; k++) {
				struct rrset spare;
				const struct rrset *rs = answer_node_rrset(node, addr_types[k], &spare);
				if (rs) {
					ns_put_answer(q, SEC_ANSWER, owner, rs, lk->zone, node);
					written++;
				}
			}
			continue;
		}
		ns_put_answer(q, SEC_ANSWER, owner, &node->rrsets[i], lk->zone, node);
		written++;
	}
	if (written == 0) {
		lk->outcome = NS_NODATA;
		answer_nodata(q, lk);
	}
}

/* The name (or the wildcard standing for it) holds the type asked. */
static void answer_hit(struct query *q, struct ns_lookup *lk, const uint8_t *owner)
{
	const struct rrset *rs = lk->rrset;
	if (!rs) {
		answer_any(q, lk, owner);
		return;
	}
	const struct zone_node *node = lk->node;
	if (q->qtype != RR_RRSIG) {
		ns_put_answer(q, SEC_ANSWER, owner, rs, lk->zone, node);
		return;
	}
	/* RRSIG (signatures are not signed): every covered type's group, each with its own TTL */
	ns_put_rrset(q, SEC_ANSWER, owner, rs);
	while (++rs < node->rrsets + node->nrrsets && rs->type == RR_RRSIG)
		ns_put_rrset(q, SEC_ANSWER, owner, rs);
}

/* RFC 1034 4.3.2 step 3a: the CNAME, then its target (returned to be followed): for a CNAME
 * resource, the one chosen for this client. */
static const uint8_t *answer_cname(struct query *q, const struct ns_lookup *lk, const uint8_t *owner)
{
	q->dyn_target = NULL;
	if (!ns_put_answer(q, SEC_ANSWER, owner, lk->rrset, lk->zone, lk->node))
		return NULL;
	return lk->rrset->dyn ? q->dyn_target : rdata_bytes(lk->rrset->rdata);
}

/* RFC 6672 section 2: the DNAME (with its RRSIGs for DO), a CNAME synthesized from it (owner as
 * asked, TTL of the DNAME, never signed: RFC 6672 5.3),
 * then the new name (returned to be followed). YXDOMAIN when the new name would be too long. For
 * a CNAME question the synthesized CNAME is the answer and nothing is followed (RFC 6672 3.2 with
 * RFC 1034 4.3.2 step 3a, which restarts only when the question is not for a CNAME), as for a
 * CNAME found in the zone. */
static const uint8_t *answer_dname(struct query *q, const struct ns_lookup *lk, const uint8_t *owner,
                                   uint8_t synth[NAME_MAXLEN])
{
	const struct zone_node *dn = lk->node;
	const struct rrset *d = lk->rrset;
	bool written = false; /* a DNAME met again down the chain is not repeated */
	for (int i = 0; i < q->ndnames; i++)
		written |= q->dnames[i] == dn;
	if (!written) {
		if (!ns_put_answer(q, SEC_ANSWER, dn->owner, d, lk->zone, dn))
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

/* Writes what the lookup found; owner is the name looked up as it is to be written. Returns the
 * next name of a chain, or NULL when the answer is complete. */
static const uint8_t *answer_outcome(struct query *q, struct ns_lookup *lk, const uint8_t *owner,
                                     uint8_t synth[NAME_MAXLEN])
{
	switch (lk->outcome) {
	case NS_HIT: answer_hit(q, lk, owner); return NULL;
	case NS_NODATA: answer_nodata(q, lk); return NULL;
	case NS_NXDOMAIN: answer_nxdomain(q, lk); return NULL;
	case NS_DELEGATION: answer_delegation(q, lk); return NULL;
	case NS_CNAME: return answer_cname(q, lk, owner);
	case NS_DNAME: return answer_dname(q, lk, owner, synth);
	}
	return NULL;
}

void ns_answer_internet(struct query *q)
{
	/* the suffix hashes of the name being looked up, shared by both lookups: the question's
	 * from its reading (query.c), then those of each name of a chain */
	uint32_t chain_hashes[NAME_MAXLABELS + 1];
	const uint32_t *hashes = q->qhashes;
	int labels = q->qlabels;
	const struct zone *z = find_zone(q, q->lname, q->qname_len, hashes, labels);
	if (!z) {
		q->rcode = RCODE_REFUSED;
		q->ede = EDE_NOT_AUTHORITATIVE;
		return;
	}
	q->aa = true;
	q->asked = z;
	const uint8_t *owner = q->qname;
	uint8_t synth[2][NAME_MAXLEN];
	uint8_t chain[NS_MAX_CHAIN][NAME_MAXLEN]; /* names followed so far (lower-cased) */
	const uint8_t *names[NS_MAX_CHAIN]; /* names looked up so far (the question's, then chain's): loops stop */
	size_t lens[NS_MAX_CHAIN];
	struct ns_lookup steps[NS_MAX_CHAIN]; /* what each lookup found, for the proofs */
	int n = 0;
	size_t len = q->qname_len;
	names[0] = q->lname;
	lens[0] = len;
	for (;;) {
		q->zone = z;
		lookup(q, z, names[n], lens[n], hashes, labels, &steps[n]);
		const uint8_t *next = answer_outcome(q, &steps[n], owner, synth[n & 1]);
		n++;
		if (!next || q->full || n == NS_MAX_CHAIN)
			break;
		len = lens[n] = name_len(next);
		name_lower_copy(chain[n], next, len);
		names[n] = chain[n];
		bool loop = false;
		for (int i = 0; i < n && !loop; i++)
			loop = lens[i] == len && memcmp(names[i], chain[n], len) == 0;
		if (loop)
			break;
		labels = name_suffix_hashes(chain[n], chain_hashes);
		hashes = chain_hashes;
		z = find_zone(q, chain[n], len, hashes, labels);
		if (!z)
			break; /* the chain leaves our zones: the resolver takes it from here */
		owner = next;
	}
	if (q->opt.dnssec_ok) /* DNSSEC records go to DO queries only (RFC 4035 3.1) */
		ns_put_proofs(q, steps, n);
	ns_put_extras(q);
}

int ns_find(const struct server *srv, const uint8_t *lname, uint16_t qtype, struct ns_found *out)
{
	static const enum ns_found_kind kinds[] = {
	    [NS_HIT] = NS_FOUND_RRSET,           [NS_NODATA] = NS_FOUND_NODATA, [NS_NXDOMAIN] = NS_FOUND_NXDOMAIN,
	    [NS_DELEGATION] = NS_FOUND_REFERRAL, [NS_CNAME] = NS_FOUND_CNAME,   [NS_DNAME] = NS_FOUND_DNAME,
	};
	struct query q = {.srv = srv, .qtype = qtype, .qclass = 1};
	uint32_t hashes[NAME_MAXLABELS + 1];
	int labels = name_suffix_hashes(lname, hashes);
	size_t len = name_len(lname);
	const struct zone *z = find_zone(&q, lname, len, hashes, labels);
	if (!z)
		return TERN_ENOTFOUND;
	struct ns_lookup lk = {0};
	lookup(&q, z, lname, len, hashes, labels, &lk);
	*out = (struct ns_found){
	    .kind = kinds[lk.outcome], .zone = z, .node = lk.node, .wildcard = lk.wildcard, .dyn = lk.dyn};
	out->rrset = lk.rrset == &lk.dyn ? &out->dyn : lk.rrset;
	return 0;
}
